// ctest-labels: unit
/* lm_nearest (error.h), the name a mistyped word meant, on exact small cases: one edit of each
 * kind (insert, delete, change, swap of neighbours), the distance limit of short and long words,
 * the unique prefix, ties and nothing near; and the library messages that use it: an unknown
 * layer of a model spec and an unknown training setting. */
#include <string.h>

#include "check.h"
#include "linmass/error.h"
#include "linmass/model.h"
#include "linmass/train.h"

static const char *const names[] = {"epochs", "eval-every", "lr", "lanczos-steps", "log-every", "mass", "masks"};
enum { N = sizeof names / sizeof *names };

/* nearest(word) is want (NULL: none) */
static void near(const char *word, const char *want)
{
    const char *got = lm_nearest(word, strlen(word), names, N);
    CHECK_MSG(want ? got && !strcmp(got, want) : !got, "'%s': got '%s', wanted '%s'", word, got ? got : "(none)",
              want ? want : "(none)");
}

static void distances(void)
{
    near("epoch", "epochs");       /* a letter missing */
    near("epochss", "epochs");     /* one too many */
    near("epocks", "epochs");      /* one changed */
    near("epcohs", "epochs");      /* two neighbours swapped */
    near("eopchs", "epochs");
    near("lt", "lr");              /* short words: one edit */
    near("xy", NULL);              /* two edits of a short word: too far */
    near("elvaevery", NULL);       /* three edits */
    near("eval-evry", "eval-every"); /* long words: up to two */
    near("evl-evry", "eval-every");
    near("lanc", "lanczos-steps"); /* the one name it starts */
    near("ep", NULL);              /* a prefix of under three letters does not count */
    near("ma", NULL);
    near("mas", "mass");           /* one insert: mass, before masks (two) */
    near("zzzzzzzz", NULL);
    CHECK(lm_nearest("epoch", 5, names, 0) == NULL);
    CHECK(!strcmp(lm_nearest("lrX", 2, names, N), "lr")); /* only word[0..len) counts */
}

static void messages(void)
{
    lm_model *m = NULL;
    lm_shape in = {1, 1, 4};
    CHECK(lm_model_create("dens:8,tanh,dense:1", in, LM_PARAM_STANDARD, 1, &m) == LM_EINVAL);
    CHECK_MSG(strstr(lm_error_message(), "unknown layer (did you mean dense? the layers: dense"), "%s", lm_error_message());
    CHECK(lm_model_create("zzzz:8", in, LM_PARAM_STANDARD, 1, &m) == LM_EINVAL);
    CHECK_MSG(strstr(lm_error_message(), "unknown layer (the layers: dense"), "%s", lm_error_message());
    lm_train_config c;
    lm_train_config_init(&c);
    CHECK(lm_train_config_set(&c, "epoch", "3") == LM_EINVAL);
    CHECK_MSG(!strcmp(lm_error_message(), "training setting 'epoch' is unknown (did you mean epochs?)"), "%s", lm_error_message());
    CHECK(lm_train_config_set(&c, "nothing_like_it", "3") == LM_EINVAL);
    CHECK_MSG(!strcmp(lm_error_message(), "training setting 'nothing_like_it' is unknown"), "%s", lm_error_message());
}

int main(void)
{
    distances();
    messages();
    return check_summary();
}
