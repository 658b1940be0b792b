/* The name nearest to a mistyped word (error.h, lm_nearest), for messages that say what was
 * meant: "unknown option '--epoch' (did you mean --epochs?)". */
#include <string.h>

#include "linmass/error.h"

/* Edit distance of a[0..la) and b: inserting, deleting or changing a letter and swapping two
 * neighbours each count 1 (names are short: longer words count as far). */
static size_t edit_distance(const char *a, size_t la, const char *b)
{
    size_t lb = strlen(b), d[33][33];
    if (la > 32 || lb > 32) return (size_t)-1;
    for (size_t i = 0; i <= la; i++) d[i][0] = i;
    for (size_t j = 0; j <= lb; j++) d[0][j] = j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            size_t best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < best) best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best) best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    return d[la][lb];
}

const char *lm_nearest(const char *word, size_t len, const char *const *names, int n)
{
    const char *best = NULL, *prefixed = NULL;
    size_t best_d = len >= 6 ? 3 : 2;
    int prefixes = 0;
    for (int i = 0; word && i < n; i++) {
        size_t d = edit_distance(word, len, names[i]);
        if (d < best_d) best_d = d, best = names[i];
        if (len >= 3 && !strncmp(names[i], word, len)) prefixes++, prefixed = names[i];
    }
    return best ? best : prefixes == 1 ? prefixed : NULL;
}
