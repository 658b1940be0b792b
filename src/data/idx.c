/* IDX files (MNIST, Fashion-MNIST), raw or gzip-compressed.
 *
 * The format (http://yann.lecun.com/exdb/mnist/): a 4-byte magic 0x00 0x00 TYPE NDIM, then NDIM
 * big-endian uint32 dimensions, then the values in row-major order. zlib's gzread reads raw and
 * compressed files alike, so one reader serves both; every header is checked against the number
 * of bytes that actually follow it. */
#include "data_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

enum { IDX_UBYTE = 0x08, IDX_FLOAT = 0x0D };

typedef struct {
    char path[4200];
    int type, ndim;
    uint32_t dims[4];
    unsigned char *data; /* the values after the header, exactly as many as the header says */
    size_t bytes;
} idx_file;

static const char *type_name(int type)
{
    switch (type) {
    case 0x08: return "ubyte";
    case 0x09: return "byte";
    case 0x0B: return "int16";
    case 0x0C: return "int32";
    case 0x0D: return "float32";
    case 0x0E: return "float64";
    }
    return NULL;
}

static size_t type_size(int type)
{
    switch (type) {
    case 0x08: case 0x09: return 1;
    case 0x0B: return 2;
    case 0x0C: case 0x0D: return 4;
    case 0x0E: return 8;
    }
    return 0;
}

/* Open the first spelling of "DIR/PREFIX-KIND-ubyte" that exists: -/. before idxN, raw or .gz. */
static lm_status open_idx(const char *dir, const char *prefix, const char *kind, const char *idxn,
                          char *path, size_t len, gzFile *out)
{
    static const char *const forms[] = {"%s/%s-%s-%s-ubyte", "%s/%s-%s-%s-ubyte.gz",
                                        "%s/%s-%s.%s-ubyte", "%s/%s-%s.%s-ubyte.gz"};
    for (size_t k = 0; k < sizeof forms / sizeof *forms; k++) {
        snprintf(path, len, forms[k], dir, prefix, kind, idxn);
        int fd = open(path, O_RDONLY);
        if (fd < 0) {
            if (errno == ENOENT) continue;
            return lm_fail(LM_EIO, "%s: %s", path, strerror(errno));
        }
        *out = gzdopen(fd, "rb");
        if (!*out) {
            close(fd);
            return lm_fail(LM_ENOMEM, "%s: cannot set up the gzip reader", path);
        }
        gzbuffer(*out, 1 << 18); /* large reads: inflate dominates the load time */
        return LM_OK;
    }
    snprintf(path, len, forms[0], dir, prefix, kind, idxn);
    return lm_fail(LM_EIO, "%s[.gz] (or %s-%s.%s-ubyte[.gz]): %s", path, prefix, kind, idxn,
                   strerror(ENOENT));
}

/* Read up to `want` bytes; returns how many came, or -1 after setting the error. */
/* zlib names a gzdopen'ed stream "<fd:3>"; the path is already in our message. */
static const char *zmsg(const char *m)
{
    const char *colon = strncmp(m, "<fd:", 4) == 0 ? strstr(m, ": ") : NULL;
    return colon ? colon + 2 : m;
}

static long long read_all(gzFile f, const char *path, unsigned char *buf, size_t want,
                          lm_status *err)
{
    size_t got = 0;
    while (got < want) {
        size_t chunk = want - got > (1u << 30) ? (1u << 30) : want - got;
        int r = gzread(f, buf + got, (unsigned)chunk);
        if (r < 0 || (r == 0 && !gzeof(f))) {
            int zerr;
            const char *msg = gzerror(f, &zerr);
            if (zerr == Z_ERRNO)
                *err = lm_fail(LM_EIO, "%s: %s", path, strerror(errno));
            else
                *err = lm_fail(LM_EINVAL, "%s: corrupt or truncated gzip data (%s)", path,
                               zmsg(msg));
            return -1;
        }
        if (r == 0) break;
        got += (size_t)r;
    }
    /* a gzip stream cut short reads as a short file plus an error: report the corruption */
    int zerr;
    const char *msg = gzerror(f, &zerr);
    if (zerr != Z_OK && zerr != Z_BUF_ERROR) {
        *err = lm_fail(LM_EINVAL, "%s: corrupt gzip data (%s)", path, zmsg(msg));
        return -1;
    }
    if (zerr == Z_BUF_ERROR) {
        *err = lm_fail(LM_EINVAL, "%s: truncated gzip data (%s)", path, zmsg(msg));
        return -1;
    }
    return (long long)got;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void dims_text(const idx_file *f, char *buf, size_t len)
{
    size_t k = 0;
    buf[0] = '\0';
    for (int d = 0; d < f->ndim && k < len; d++)
        k += (size_t)snprintf(buf + k, len - k, d ? "x%u" : "%u", f->dims[d]);
}

/* The rank must be in [lo, hi]; `magic` is the file's first four bytes. */
static lm_status check_rank(const idx_file *f, uint32_t magic, int lo, int hi)
{
    if (f->ndim >= lo && f->ndim <= hi) return LM_OK;
    if (lo == hi)
        return lm_fail(LM_EINVAL, "%s: magic 0x%08x says %d dimensions, expected %d", f->path, magic,
                       f->ndim, lo);
    return lm_fail(LM_EINVAL, "%s: magic 0x%08x says %d dimensions, expected %d to %d", f->path,
                   magic, f->ndim, lo, hi);
}

/* Decode an open IDX stream: a known type, ndim in [ndim_lo, ndim_hi], and exactly as many
 * bytes after the header as the dimensions say. */
static lm_status idx_decode(gzFile g, const char *kind, int ndim_lo, int ndim_hi, idx_file *f)
{
    lm_status s;
    unsigned char head[4 + 4 * 4];
    long long got = read_all(g, f->path, head, 4, &s);
    if (got < 0) return s;
    if (got < 4)
        return lm_fail(LM_EINVAL, "%s: truncated: %lld bytes, shorter than the 4-byte IDX magic",
                       f->path, got);
    f->type = head[2];
    f->ndim = head[3];
    if (head[0] || head[1] || !type_name(f->type) || f->ndim < 1)
        return lm_fail(LM_EINVAL, "%s: wrong magic number 0x%02x%02x%02x%02x (not an IDX file)",
                       f->path, head[0], head[1], head[2], head[3]);
    if ((s = check_rank(f, be32(head), ndim_lo, ndim_hi))) return s;
    got = read_all(g, f->path, head + 4, 4 * (size_t)f->ndim, &s);
    if (got < 0) return s;
    if (got < 4 * f->ndim)
        return lm_fail(LM_EINVAL, "%s: truncated header: %lld of %d dimension bytes", f->path, got,
                       4 * f->ndim);
    f->bytes = type_size(f->type);
    for (int d = 0; d < f->ndim; d++) {
        f->dims[d] = be32(head + 4 + 4 * d);
        if (f->dims[d] == 0) return lm_fail(LM_EINVAL, "%s: header dimension %d is 0", f->path, d + 1);
        if (f->bytes > ((size_t)1 << 40) / f->dims[d])
            return lm_fail(LM_EINVAL, "%s: header dimensions are absurdly large (over 1 TiB of data)",
                           f->path);
        f->bytes *= f->dims[d];
    }

    /* Grow the buffer as data arrive, so a lying header cannot make us allocate a terabyte. */
    size_t cap = f->bytes + 1 < ((size_t)1 << 26) ? f->bytes + 1 : ((size_t)1 << 26), have = 0;
    for (;;) {
        unsigned char *nb = realloc(f->data, cap);
        if (!nb) return lm_fail(LM_ENOMEM, "%s: cannot allocate %zu bytes", f->path, cap);
        f->data = nb;
        got = read_all(g, f->path, f->data + have, cap - have, &s);
        if (got < 0) return s;
        have += (size_t)got;
        if (have < cap || cap == f->bytes + 1) break;
        cap = cap * 2 < f->bytes + 1 ? cap * 2 : f->bytes + 1;
    }
    if (have == f->bytes) return LM_OK;
    /* count what is really there, for a message that states both numbers */
    unsigned char scratch[65536];
    while ((got = read_all(g, f->path, scratch, sizeof scratch, &s)) > 0) have += (size_t)got;
    if (got < 0) return s;
    char dims[64];
    dims_text(f, dims, sizeof dims);
    size_t header = 4 + 4 * (size_t)f->ndim;
    return lm_fail(LM_EINVAL,
                   "%s: header says %u %s (%s %s, %zu bytes with the header) but the file holds "
                   "%zu bytes",
                   f->path, f->dims[0], kind, dims, type_name(f->type), header + f->bytes,
                   header + have);
}

/* A decoded file from the cache (cache.c): meta holds type, rank and dimensions. 0 when the
 * entry does not describe a well-formed file (then it is decoded afresh). */
static int idx_from_cache(lm_cache_entry *e, idx_file *f)
{
    f->type = (int)e->meta[0];
    f->ndim = (int)e->meta[1];
    if (!type_name(f->type) || f->ndim < 1 || f->ndim > 4) return 0;
    f->bytes = type_size(f->type);
    for (int d = 0; d < f->ndim; d++) {
        f->dims[d] = (uint32_t)e->meta[2 + d];
        if (e->meta[2 + d] == 0 || e->meta[2 + d] > UINT32_MAX) return 0;
        f->bytes *= f->dims[d];
    }
    if (f->bytes != e->len) return 0;
    f->data = e->data;
    e->data = NULL;
    return 1;
}

static void idx_to_cache(lm_cache_entry *e, const idx_file *f)
{
    e->meta[0] = (uint64_t)f->type;
    e->meta[1] = (uint64_t)f->ndim;
    for (int d = 0; d < 4; d++) e->meta[2 + d] = d < f->ndim ? f->dims[d] : 0;
    e->data = f->data;
    e->len = f->bytes;
    lm_cache_store(e);
    e->data = NULL;
}

/* Read and check one IDX file; a gzip file's decoded bytes come from the cache when it holds
 * them, and go into it when not. */
static lm_status idx_read(const char *dir, const char *prefix, const char *kind, const char *idxn,
                          int ndim_lo, int ndim_hi, idx_file *f)
{
    gzFile g;
    memset(f, 0, sizeof *f);
    lm_status s = open_idx(dir, prefix, kind, idxn, f->path, sizeof f->path, &g);
    if (s) return s;
    lm_cache_entry e = {.usable = 0};
    int cached = !gzdirect(g) && lm_cache_load(f->path, &e) && idx_from_cache(&e, f);
    free(e.data);
    e.data = NULL;
    if (cached) s = check_rank(f, (uint32_t)f->type << 8 | (uint32_t)f->ndim, ndim_lo, ndim_hi);
    else s = idx_decode(g, kind, ndim_lo, ndim_hi, f);
    gzclose(g);
    if (!s && !cached && e.usable) idx_to_cache(&e, f);
    if (s) {
        free(f->data);
        f->data = NULL;
    }
    return s;
}

/* Pixels to float: ubyte scaled to [0,1], float32 big-endian taken as they are (and checked). */
static lm_status convert_images(const idx_file *f, float *x, size_t count)
{
    if (f->type == IDX_UBYTE) {
        float table[256]; /* b / 255 correctly rounded, as torchvision's ToTensor gives */
        for (int b = 0; b < 256; b++) table[b] = (float)b / 255.0f;
        for (size_t i = 0; i < count; i++) x[i] = table[f->data[i]];
        return LM_OK;
    }
    for (size_t i = 0; i < count; i++) {
        uint32_t u = be32(f->data + 4 * i);
        memcpy(&x[i], &u, 4);
        if (!isfinite(x[i]))
            return lm_fail(LM_EINVAL, "%s: value %zu (image %zu) is %g", f->path, i,
                           i / (count / f->dims[0]), x[i]);
    }
    return LM_OK;
}

lm_status lm_load_idx(const char *dir, const char *label, int strict_mnist, int classes,
                      lm_split split, lm_dataset **out)
{
    const char *prefix = split == LM_SPLIT_TEST ? "t10k" : "train";
    idx_file im, lb;
    *out = NULL;
    lm_status s = idx_read(dir, prefix, "images", "idx3", strict_mnist ? 3 : 2,
                           strict_mnist ? 3 : 4, &im);
    if (s) return s;
    s = idx_read(dir, prefix, "labels", "idx1", 1, 1, &lb);
    if (s) {
        free(im.data);
        return s;
    }

    lm_shape shape = {1, 1, 1};
    if (im.ndim == 2) shape.c = (int)im.dims[1];
    if (im.ndim == 3) shape = (lm_shape){1, (int)im.dims[1], (int)im.dims[2]};
    if (im.ndim == 4) shape = (lm_shape){(int)im.dims[1], (int)im.dims[2], (int)im.dims[3]};
    size_t n = im.dims[0];

    if (strict_mnist && (im.type != IDX_UBYTE || shape.h != 28 || shape.w != 28))
        s = lm_fail(LM_EINVAL, "%s: images are %s %dx%d, MNIST images are ubyte 28x28", im.path,
                    type_name(im.type), shape.h, shape.w);
    else if (im.type != IDX_UBYTE && im.type != IDX_FLOAT)
        s = lm_fail(LM_EINVAL, "%s: images of type %s are not supported (ubyte or float32)",
                    im.path, type_name(im.type));
    else if (lb.type != IDX_UBYTE)
        s = lm_fail(LM_EINVAL, "%s: labels of type %s, expected ubyte", lb.path,
                    type_name(lb.type));
    else if (lb.dims[0] != n)
        s = lm_fail(LM_EINVAL, "%s: %u labels but %s holds %zu images", lb.path, lb.dims[0],
                    im.path, n);
    for (size_t i = 0; !s && i < n; i++)
        if (lb.data[i] >= classes)
            s = lm_fail(LM_EINVAL, "%s: label %zu is %u, outside 0..%d", lb.path, i, lb.data[i],
                        classes - 1);
    if (!s) s = lm_dataset_alloc(n, shape, classes, 1, label, out);
    if (!s) s = convert_images(&im, (*out)->x, n * lm_shape_numel(shape));
    if (!s)
        for (size_t i = 0; i < n; i++) (*out)->y[i] = (float)lb.data[i];
    if (s) {
        lm_dataset_free(*out);
        *out = NULL;
    }
    free(im.data);
    free(lb.data);
    return s;
}
