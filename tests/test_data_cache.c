/* The cache of decoded gzip IDX files: a load through the cache equals a fresh decode byte for
 * byte; a source whose mtime, size or bytes changed is decoded again (and its entry rewritten);
 * a corrupt entry is ignored; an unwritable or disabled cache still loads; raw files are not
 * cached. Every cache folder here is a fresh temporary one. */
// ctest-labels: data unit
#include "check.h"
#include "data/fixtures.h"
#include "linmass/data.h"

#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

enum { H = 6, W = 5, MAXN = 8 };
static char src[600], cache[600], source[700];

/* An IDX file: magic, big-endian dims, payload. */
static size_t idx_bytes(unsigned char *out, int type, int ndim, const uint32_t *dims, const void *payload,
                        size_t len)
{
    out[0] = 0, out[1] = 0, out[2] = (unsigned char)type, out[3] = (unsigned char)ndim;
    for (int d = 0; d < ndim; d++)
        for (int b = 0; b < 4; b++) out[4 + 4 * d + b] = (unsigned char)(dims[d] >> (24 - 8 * b));
    memcpy(out + 4 + 4 * ndim, payload, len);
    return 4 + 4 * (size_t)ndim + len;
}

/* n gzip-compressed (n, H, W) ubyte images with pixel values from `salt`, and labels. */
static void write_set(int n, int salt)
{
    static unsigned char pix[MAXN * H * W], lab[MAXN], file[64 + sizeof pix];
    for (int k = 0; k < n * H * W; k++) pix[k] = (unsigned char)(k * 7 + salt);
    for (int i = 0; i < n; i++) lab[i] = (unsigned char)((i + salt) % 10);
    uint32_t idims[3] = {(uint32_t)n, H, W}, ldims[1] = {(uint32_t)n};
    fixture_write(src, "train-images-idx3-ubyte.gz", file, idx_bytes(file, 0x08, 3, idims, pix, (size_t)n * H * W), 1);
    fixture_write(src, "train-labels-idx1-ubyte.gz", file, idx_bytes(file, 0x08, 1, ldims, lab, (size_t)n), 1);
}

static lm_dataset *load(const char *cache_dir)
{
    setenv("LINMASS_CACHE_DIR", cache_dir, 1);
    lm_dataset *ds = NULL;
    lm_status s = lm_data_load(source, LM_SPLIT_TRAIN, 0, &ds);
    CHECK_MSG(s == LM_OK, "load %s (cache %s): %s", source, cache_dir, lm_error_message());
    return s ? NULL : ds;
}

/* Both loads succeeded and hold the same bytes. */
static void check_same(const lm_dataset *a, const lm_dataset *b, const char *what)
{
    CHECK_MSG(a && b, "%s: a load failed", what);
    if (!a || !b) return;
    size_t numel = a->n * lm_shape_numel(a->shape);
    CHECK_MSG(a->n == b->n && a->shape.c == b->shape.c && a->shape.h == b->shape.h && a->shape.w == b->shape.w &&
                  a->classes == b->classes,
              "%s: %zu vs %zu samples or shapes differ", what, a->n, b->n);
    if (a->n != b->n) return;
    CHECK_MSG(!memcmp(a->x, b->x, numel * sizeof *a->x), "%s: the inputs differ", what);
    CHECK_MSG(!memcmp(a->y, b->y, a->n * sizeof *a->y), "%s: the labels differ", what);
}

/* A fresh decode (cache off) compared with a load through `cache_dir`. */
static void check_against_decode(const char *cache_dir, const char *what)
{
    lm_dataset *fresh = load("off"), *cached = load(cache_dir);
    check_same(fresh, cached, what);
    lm_dataset_free(fresh);
    lm_dataset_free(cached);
}

/* The entries in `dir` (names ending .lmcache): their count, and the inode of the first
 * (sorted) one of them, which a rewrite (temporary file renamed over it) changes. */
static int entries(const char *dir, char names[][300], int max)
{
    int k = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strstr(e->d_name, ".lmcache") && k < max) snprintf(names[k++], 300, "%s/%s", dir, e->d_name);
    if (d) closedir(d);
    for (int i = 0; i < k; i++) /* sort: the order is the same from call to call */
        for (int j = i + 1; j < k; j++)
            if (strcmp(names[i], names[j]) > 0) {
                char t[300];
                memcpy(t, names[i], 300), memcpy(names[i], names[j], 300), memcpy(names[j], t, 300);
            }
    return k;
}

static ino_t inode(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_ino : 0;
}

static off_t size_of(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_size : -1;
}

static void set_mtime(const char *path, time_t sec, long nsec)
{
    struct timespec ts[2] = {{sec, nsec}, {sec, nsec}};
    CHECK(utimensat(AT_FDCWD, path, ts, 0) == 0);
}

static void test_hit_and_miss(void)
{
    char names[4][300];
    write_set(3, 1);
    check_against_decode(cache, "first load (miss, stored)");
    CHECK_MSG(entries(cache, names, 4) == 2, "expected 2 entries (images, labels), got %d", entries(cache, names, 4));
    ino_t img = inode(names[0]), lab = inode(names[1]);
    check_against_decode(cache, "second load (hit)");
    CHECK_MSG(inode(names[0]) == img && inode(names[1]) == lab, "a hit rewrote its entry");

    /* touched: same bytes, new mtime -> decoded again and the entry rewritten */
    const char *images = fixture_path(src, "train-images-idx3-ubyte.gz");
    struct stat st;
    stat(images, &st);
    set_mtime(images, st.st_mtim.tv_sec + 5, 0);
    int n = entries(cache, names, 4);
    ino_t before[4];
    for (int i = 0; i < n; i++) before[i] = inode(names[i]);
    check_against_decode(cache, "after touching the images");
    int rewritten = 0;
    for (int i = 0; i < n; i++) rewritten += inode(names[i]) != before[i];
    CHECK_MSG(rewritten == 1, "touching one source rewrote %d entries, expected 1", rewritten);

    /* other bytes, same size, mtime set back: only the CRC tells; the load must see them */
    stat(images, &st);
    write_set(3, 2);
    CHECK_MSG(size_of(images) == st.st_size, "the rewritten file changed size: pick other bytes");
    set_mtime(images, st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    set_mtime(fixture_path(src, "train-labels-idx1-ubyte.gz"), st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    lm_dataset *ds = load(cache);
    CHECK(ds && ds->x[0] == (float)2 / 255.0f && ds->y[0] == 2); /* salt 2: first pixel 2, label 2 */
    lm_dataset_free(ds);
    check_against_decode(cache, "after rewriting the bytes");

    /* another size */
    write_set(5, 3);
    ds = load(cache);
    CHECK(ds && ds->n == 5);
    lm_dataset_free(ds);
    check_against_decode(cache, "after growing the files");
}

/* Each way of breaking an entry: the load still equals a fresh decode, and the entry is
 * repaired (written whole again, so the next load is a hit that leaves it alone). */
static void test_corrupt_entries(void)
{
    char names[4][300];
    static const char *const what[] = {"payload byte flipped", "entry cut short", "bad magic", "garbage entry"};
    write_set(4, 4);
    check_against_decode(cache, "store before corrupting");
    CHECK(entries(cache, names, 4) == 2);
    off_t whole = size_of(names[0]);
    for (int how = 0; how < 4; how++) {
        int fd = open(names[0], O_RDWR);
        unsigned char b = 0;
        int ok = fd >= 0;
        if (how == 0) /* the last payload byte */
            ok = ok && pread(fd, &b, 1, whole - 1) == 1 && (b ^= 0x40, pwrite(fd, &b, 1, whole - 1) == 1);
        else if (how == 1)
            ok = ok && ftruncate(fd, whole / 2) == 0;
        else if (how == 2) /* the magic's first byte */
            ok = ok && pread(fd, &b, 1, 0) == 1 && (b ^= 1, pwrite(fd, &b, 1, 0) == 1);
        else
            for (int i = 0; ok && i < 500; i++) b = (unsigned char)(b * 31 + 7), ok = pwrite(fd, &b, 1, i) == 1;
        if (fd >= 0) close(fd);
        CHECK_MSG(ok, "could not corrupt %s (%s)", names[0], what[how]);
        check_against_decode(cache, what[how]);
        CHECK_MSG(size_of(names[0]) == whole, "%s: entry not rewritten whole", what[how]);
        ino_t repaired = inode(names[0]);
        check_against_decode(cache, "after the repair");
        CHECK_MSG(inode(names[0]) == repaired, "%s: the repaired entry was not used", what[how]);
    }
}

static void test_unwritable_and_off(void)
{
    char blocker[700], bad[800], home[700], names[4][300];
    write_set(3, 5);
    /* a cache folder under a regular file cannot be made, even by root */
    snprintf(blocker, sizeof blocker, "%s/file", cache);
    fixture_write_text(cache, "file", "not a folder\n");
    snprintf(bad, sizeof bad, "%s/cache", blocker);
    check_against_decode(bad, "unwritable cache folder");

    /* off: nothing is written, not even to the default folders */
    snprintf(home, sizeof home, "%s/home", cache);
    mkdir(home, 0777);
    setenv("HOME", home, 1);
    setenv("XDG_CACHE_HOME", home, 1);
    lm_dataset *ds = load("off");
    CHECK(ds != NULL);
    lm_dataset_free(ds);
    char xdg[800];
    snprintf(xdg, sizeof xdg, "%s/linmass", home);
    CHECK_MSG(entries(xdg, names, 4) == 0, "LINMASS_CACHE_DIR=off still wrote %s", xdg);

    /* unset: $XDG_CACHE_HOME/linmass */
    unsetenv("LINMASS_CACHE_DIR");
    ds = NULL;
    CHECK(lm_data_load(source, LM_SPLIT_TRAIN, 0, &ds) == LM_OK);
    lm_dataset_free(ds);
    CHECK_MSG(entries(xdg, names, 4) == 2, "no entries in $XDG_CACHE_HOME/linmass");
}

/* Raw (uncompressed) files load as fast as the cache would: they are not cached. */
static void test_raw_not_cached(void)
{
    char rawsrc[700], cdir[700], names[4][300], dir[600];
    unsigned char file[64 + 4 * H * W], pix[2 * H * W] = {9}, lab[2] = {1, 0};
    uint32_t idims[3] = {2, H, W}, ldims[1] = {2};
    if (!check_make_tmpdir(dir, sizeof dir, "lm_cache_raw")) return;
    fixture_write(dir, "train-images-idx3-ubyte", file, idx_bytes(file, 0x08, 3, idims, pix, sizeof pix), 0);
    fixture_write(dir, "train-labels-idx1-ubyte", file, idx_bytes(file, 0x08, 1, ldims, lab, 2), 0);
    snprintf(rawsrc, sizeof rawsrc, "idx:%s", dir);
    snprintf(cdir, sizeof cdir, "%s/c", dir);
    setenv("LINMASS_CACHE_DIR", cdir, 1);
    lm_dataset *ds = NULL;
    CHECK(lm_data_load(rawsrc, LM_SPLIT_TRAIN, 0, &ds) == LM_OK && ds->n == 2);
    lm_dataset_free(ds);
    CHECK_MSG(entries(cdir, names, 4) == 0, "raw files were cached");
    check_remove_tmpdir(dir);
}

int main(void)
{
    if (!check_make_tmpdir(src, sizeof src, "lm_cache_src") || !check_make_tmpdir(cache, sizeof cache, "lm_cache"))
        return check_summary();
    snprintf(source, sizeof source, "idx:%s", src);
    test_hit_and_miss();
    test_corrupt_entries();
    test_unwritable_and_off();
    test_raw_not_cached();
    check_remove_tmpdir(src);
    check_remove_tmpdir(cache);
    return check_summary();
}
