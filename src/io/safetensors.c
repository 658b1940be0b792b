/* Safetensors: a defensive reader (every byte of the header is checked before any tensor is
 * handed out) and a builder-style writer that writes atomically. Format: see linmass/io.h. */
#include "linmass/io.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "linmass reads and writes safetensors data in host order, which must be little-endian"
#endif

#define MAX_HEADER_LEN ((uint64_t)100000000) /* as the reference implementation */
#define MAX_JSON_INT 9007199254740992.0     /* 2^53: larger integers are not exact in JSON */

/* ---- dtypes ---- */

static const struct {
    const char *name;
    size_t size;
} dtypes[LM_DT_COUNT] = {
    [LM_DT_F64] = {"F64", 8}, [LM_DT_F32] = {"F32", 4}, [LM_DT_F16] = {"F16", 2},
    [LM_DT_BF16] = {"BF16", 2}, [LM_DT_I64] = {"I64", 8}, [LM_DT_I32] = {"I32", 4},
    [LM_DT_I16] = {"I16", 2}, [LM_DT_I8] = {"I8", 1}, [LM_DT_U64] = {"U64", 8},
    [LM_DT_U32] = {"U32", 4}, [LM_DT_U16] = {"U16", 2}, [LM_DT_U8] = {"U8", 1},
    [LM_DT_BOOL] = {"BOOL", 1},
};

static int dtype_valid(lm_dtype dt) { return (int)dt >= 0 && dt < LM_DT_COUNT; }

size_t lm_dtype_size(lm_dtype dt) { return dtype_valid(dt) ? dtypes[dt].size : 0; }

const char *lm_dtype_name(lm_dtype dt) { return dtype_valid(dt) ? dtypes[dt].name : "?"; }

int lm_dtype_parse(const char *name, lm_dtype *out)
{
    for (int i = 0; i < LM_DT_COUNT; i++) {
        if (strcmp(name, dtypes[i].name) == 0) {
            *out = (lm_dtype)i;
            return 1;
        }
    }
    return 0;
}

/* numel and bytes of a shape, with overflow checks. Returns 0 on overflow. */
static int shape_bytes(int ndim, const int64_t *shape, size_t elsize, size_t *numel,
                       size_t *nbytes)
{
    size_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0 || (uint64_t)shape[i] > SIZE_MAX) return 0;
        size_t d = (size_t)shape[i];
        if (d != 0 && n > SIZE_MAX / d) return 0;
        n *= d;
    }
    if (n > SIZE_MAX / elsize) return 0;
    *numel = n;
    *nbytes = n * elsize;
    return 1;
}

const char *lm_format_shape(char *buf, size_t len, int ndim, const int64_t *shape)
{
    size_t k = (size_t)snprintf(buf, len, "[");
    for (int i = 0; i < ndim && k < len; i++)
        k += (size_t)snprintf(buf + k, len - k, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (k < len) snprintf(buf + k, len - k, "]");
    return buf;
}

/* ---- reading ---- */

struct lm_st_file {
    char *path;
    cJSON *root;               /* owns the names and metadata strings */
    unsigned char *data;       /* the data region, malloc'ed (so aligned for any type) */
    size_t data_len;
    lm_st_tensor *tensors;     /* in data order */
    int n;
    const lm_st_tensor **by_name; /* sorted by name, for lookup */
    lm_kv *meta;               /* sorted by key */
    int n_meta;
};

void lm_st_close(lm_st_file *f)
{
    if (!f) return;
    free(f->path);
    cJSON_Delete(f->root);
    free(f->data);
    free(f->tensors);
    free(f->by_name);
    free(f->meta);
    free(f);
}

static lm_status st_new(const char *label, lm_st_file **out)
{
    *out = calloc(1, sizeof **out);
    if (*out) (*out)->path = strdup(label);
    if (!*out || !(*out)->path) {
        lm_st_close(*out);
        *out = NULL;
        return lm_fail(LM_ENOMEM, "%s: out of memory", label);
    }
    return LM_OK;
}

/* A JSON number that is an exact non-negative integer. */
static int json_uint(const cJSON *item, uint64_t *out)
{
    if (!cJSON_IsNumber(item)) return 0;
    double d = item->valuedouble;
    if (!(d >= 0 && d <= MAX_JSON_INT) || d != (double)(uint64_t)d) return 0;
    *out = (uint64_t)d;
    return 1;
}

static lm_status parse_shape(const lm_st_file *f, const char *name, const cJSON *shape,
                             lm_st_tensor *t)
{
    if (!cJSON_IsArray(shape))
        return lm_fail(LM_EINVAL, "%s: tensor '%s': \"shape\" is missing or not an array",
                       f->path, name);
    int ndim = cJSON_GetArraySize(shape);
    if (ndim > LM_ST_MAX_DIMS)
        return lm_fail(LM_EINVAL, "%s: tensor '%s': shape has %d dimensions, more than %d",
                       f->path, name, ndim, LM_ST_MAX_DIMS);
    t->ndim = 0;
    const cJSON *d;
    cJSON_ArrayForEach(d, shape)
    {
        uint64_t v;
        if (!json_uint(d, &v))
            return lm_fail(LM_EINVAL, "%s: tensor '%s': shape entry %d is not a non-negative "
                           "integer", f->path, name, t->ndim);
        t->shape[t->ndim++] = (int64_t)v;
    }
    if (!shape_bytes(t->ndim, t->shape, lm_dtype_size(t->dtype), &t->numel, &t->nbytes))
        return lm_fail(LM_EINVAL, "%s: tensor '%s': shape is too large", f->path, name);
    return LM_OK;
}

static lm_status parse_offsets(const lm_st_file *f, const char *name, const cJSON *off,
                               lm_st_tensor *t)
{
    uint64_t b, e;
    if (!cJSON_IsArray(off) || cJSON_GetArraySize(off) != 2 ||
        !json_uint(cJSON_GetArrayItem(off, 0), &b) || !json_uint(cJSON_GetArrayItem(off, 1), &e))
        return lm_fail(LM_EINVAL, "%s: tensor '%s': \"data_offsets\" is missing or not two "
                       "non-negative integers", f->path, name);
    if (b > e || e > f->data_len)
        return lm_fail(LM_EINVAL, "%s: tensor '%s': data_offsets [%llu, %llu] lie outside the "
                       "data region of %zu bytes (truncated file?)", f->path, name,
                       (unsigned long long)b, (unsigned long long)e, f->data_len);
    if (e - b != t->nbytes) {
        char s[128];
        return lm_fail(LM_EINVAL, "%s: tensor '%s': dtype %s and shape %s need %zu bytes but "
                       "data_offsets [%llu, %llu] hold %llu", f->path, name,
                       lm_dtype_name(t->dtype),
                       lm_format_shape(s, sizeof s, t->ndim, t->shape),
                       t->nbytes, (unsigned long long)b, (unsigned long long)e,
                       (unsigned long long)(e - b));
    }
    t->offset = (size_t)b;
    return LM_OK;
}

static lm_status parse_entry(const lm_st_file *f, const cJSON *item, lm_st_tensor *t)
{
    const char *name = item->string;
    if (!name[0]) return lm_fail(LM_EINVAL, "%s: a tensor has an empty name", f->path);
    if (!cJSON_IsObject(item))
        return lm_fail(LM_EINVAL, "%s: tensor '%s': entry is not an object", f->path, name);
    t->name = name;
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(item, "dtype");
    if (!cJSON_IsString(dt))
        return lm_fail(LM_EINVAL, "%s: tensor '%s': \"dtype\" is missing or not a string",
                       f->path, name);
    if (!lm_dtype_parse(dt->valuestring, &t->dtype))
        return lm_fail(LM_EINVAL, "%s: tensor '%s': unknown dtype '%s'", f->path, name,
                       dt->valuestring);
    lm_status s = parse_shape(f, name, cJSON_GetObjectItemCaseSensitive(item, "shape"), t);
    if (s != LM_OK) return s;
    return parse_offsets(f, name, cJSON_GetObjectItemCaseSensitive(item, "data_offsets"), t);
}

static int cmp_kv(const void *a, const void *b)
{
    return strcmp(((const lm_kv *)a)->key, ((const lm_kv *)b)->key);
}

static lm_status parse_meta(lm_st_file *f, const cJSON *meta)
{
    if (f->meta) return lm_fail(LM_EINVAL, "%s: \"__metadata__\" appears twice", f->path);
    if (!cJSON_IsObject(meta))
        return lm_fail(LM_EINVAL, "%s: \"__metadata__\" is not an object", f->path);
    int n = cJSON_GetArraySize(meta);
    f->meta = calloc((size_t)n + 1, sizeof *f->meta);
    if (!f->meta) return lm_fail(LM_ENOMEM, "%s: out of memory", f->path);
    const cJSON *kv;
    cJSON_ArrayForEach(kv, meta)
    {
        if (!cJSON_IsString(kv))
            return lm_fail(LM_EINVAL, "%s: metadata '%s' is not a string", f->path, kv->string);
        f->meta[f->n_meta++] = (lm_kv){kv->string, kv->valuestring};
    }
    qsort(f->meta, (size_t)f->n_meta, sizeof *f->meta, cmp_kv);
    for (int i = 1; i < f->n_meta; i++)
        if (strcmp(f->meta[i - 1].key, f->meta[i].key) == 0)
            return lm_fail(LM_EINVAL, "%s: metadata '%s' appears twice", f->path, f->meta[i].key);
    return LM_OK;
}

static int cmp_offset(const void *a, const void *b)
{
    const lm_st_tensor *x = a, *y = b;
    if (x->offset != y->offset) return x->offset < y->offset ? -1 : 1;
    return (x->nbytes > y->nbytes) - (x->nbytes < y->nbytes);
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp((*(const lm_st_tensor *const *)a)->name, (*(const lm_st_tensor *const *)b)->name);
}

/* The tensors must tile the data region: sorted by offset, each starts where the last ended. */
static lm_status check_layout(lm_st_file *f)
{
    qsort(f->tensors, (size_t)f->n, sizeof *f->tensors, cmp_offset);
    size_t end = 0;
    for (int i = 0; i < f->n; i++) {
        const lm_st_tensor *t = &f->tensors[i];
        if (t->offset < end)
            return lm_fail(LM_EINVAL, "%s: tensors '%s' and '%s' overlap (bytes [%zu, %zu) and "
                           "[%zu, %zu))", f->path, f->tensors[i - 1].name, t->name,
                           f->tensors[i - 1].offset, end, t->offset, t->offset + t->nbytes);
        if (t->offset > end)
            return lm_fail(LM_EINVAL, "%s: tensor '%s' starts at byte %zu but the data before it "
                           "ends at %zu (a gap)", f->path, t->name, t->offset, end);
        end = t->offset + t->nbytes;
    }
    if (end != f->data_len)
        return lm_fail(LM_EINVAL, "%s: the tensors cover %zu bytes but the data region has %zu",
                       f->path, end, f->data_len);
    f->by_name = malloc(((size_t)f->n + 1) * sizeof *f->by_name);
    if (!f->by_name) return lm_fail(LM_ENOMEM, "%s: out of memory", f->path);
    for (int i = 0; i < f->n; i++) f->by_name[i] = &f->tensors[i];
    qsort(f->by_name, (size_t)f->n, sizeof *f->by_name, cmp_name);
    for (int i = 1; i < f->n; i++)
        if (strcmp(f->by_name[i - 1]->name, f->by_name[i]->name) == 0)
            return lm_fail(LM_EINVAL, "%s: tensor '%s' appears twice", f->path,
                           f->by_name[i]->name);
    return LM_OK;
}

static int all_space(const char *p, const char *end)
{
    for (; p < end; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') return 0;
    return 1;
}

/* Parse and check the JSON header against a data region of data_len bytes. */
static lm_status parse_header(lm_st_file *f, const char *hdr, size_t hlen, size_t data_len)
{
    f->data_len = data_len;
    const char *end = NULL;
    f->root = cJSON_ParseWithLengthOpts(hdr, hlen, &end, 0);
    if (!f->root) {
        size_t at = (end && end >= hdr && end <= hdr + hlen) ? (size_t)(end - hdr) : 0;
        return lm_fail(LM_EINVAL, "%s: the header is not valid JSON (error near byte %zu of %zu)",
                       f->path, at, hlen);
    }
    if (!all_space(end, hdr + hlen))
        return lm_fail(LM_EINVAL, "%s: the header has bytes after its JSON object", f->path);
    if (!cJSON_IsObject(f->root))
        return lm_fail(LM_EINVAL, "%s: the header is not a JSON object", f->path);
    int n = cJSON_GetArraySize(f->root);
    f->tensors = calloc((size_t)n + 1, sizeof *f->tensors);
    if (!f->tensors) return lm_fail(LM_ENOMEM, "%s: out of memory", f->path);
    const cJSON *item;
    cJSON_ArrayForEach(item, f->root)
    {
        lm_status s = strcmp(item->string, "__metadata__") == 0
                          ? parse_meta(f, item)
                          : parse_entry(f, item, &f->tensors[f->n++]);
        if (s != LM_OK) return s;
    }
    return check_layout(f);
}

static void set_pointers(lm_st_file *f)
{
    for (int i = 0; i < f->n; i++) f->tensors[i].data = f->data + f->tensors[i].offset;
}

static uint64_t read_le64(const unsigned char *b)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | b[i];
    return v;
}

/* The header length N from the first 8 bytes, checked against the `avail` bytes after them. */
static lm_status check_header_len(const char *label, uint64_t n, uint64_t avail)
{
    if (n > avail)
        return lm_fail(LM_EINVAL, "%s: header length %llu exceeds the %llu bytes after it "
                       "(truncated or not a safetensors file)", label, (unsigned long long)n,
                       (unsigned long long)avail);
    if (n > MAX_HEADER_LEN)
        return lm_fail(LM_EINVAL, "%s: header length %llu is more than the %llu allowed", label,
                       (unsigned long long)n, (unsigned long long)MAX_HEADER_LEN);
    if (n < 2) return lm_fail(LM_EINVAL, "%s: header length %llu is too small", label,
                              (unsigned long long)n);
    return LM_OK;
}

lm_status lm_st_parse(const void *bytes, size_t len, const char *label, lm_st_file **out)
{
    *out = NULL;
    const unsigned char *b = bytes;
    if (len < 8)
        return lm_fail(LM_EINVAL, "%s: %zu bytes, too short for the 8-byte header length", label,
                       len);
    uint64_t n = read_le64(b);
    lm_status s = check_header_len(label, n, len - 8);
    if (s != LM_OK) return s;
    lm_st_file *f;
    if ((s = st_new(label, &f)) != LM_OK) return s;
    size_t data_len = len - 8 - (size_t)n;
    s = parse_header(f, (const char *)b + 8, (size_t)n, data_len);
    if (s == LM_OK && !(f->data = malloc(data_len ? data_len : 1)))
        s = lm_fail(LM_ENOMEM, "%s: cannot allocate %zu bytes", label, data_len);
    if (s != LM_OK) {
        lm_st_close(f);
        return s;
    }
    memcpy(f->data, b + 8 + n, data_len);
    set_pointers(f);
    *out = f;
    return LM_OK;
}

static lm_status read_exact(FILE *fp, const char *path, void *buf, size_t n)
{
    if (fread(buf, 1, n, fp) == n) return LM_OK;
    if (ferror(fp)) return lm_fail(LM_EIO, "%s: read failed: %s", path, strerror(errno));
    return lm_fail(LM_EIO, "%s: file shrank while reading", path);
}

/* Open `path` and find its size; refuses folders and files too short to hold a header. */
static lm_status open_sized(const char *path, FILE **fp, uint64_t *size)
{
    *fp = fopen(path, "rb");
    if (!*fp) {
        int err = errno;
        lm_status s = (err == ENOENT || err == ENOTDIR || err == EISDIR) ? LM_EINVAL : LM_EIO;
        return lm_fail(s, "%s: cannot open: %s", path, strerror(err));
    }
    struct stat st;
    lm_status s = LM_OK;
    if (fstat(fileno(*fp), &st) != 0)
        s = lm_fail(LM_EIO, "%s: cannot stat: %s", path, strerror(errno));
    else if (S_ISDIR(st.st_mode))
        s = lm_fail(LM_EINVAL, "%s: is a directory, not a safetensors file", path);
    else if (st.st_size < 8)
        s = lm_fail(LM_EINVAL, "%s: %lld bytes, too short for the 8-byte header length", path,
                    (long long)st.st_size);
    else if ((uint64_t)st.st_size > SIZE_MAX)
        s = lm_fail(LM_EINVAL, "%s: file is too large for this machine", path);
    if (s != LM_OK) {
        fclose(*fp);
        *fp = NULL;
        return s;
    }
    *size = (uint64_t)st.st_size;
    return LM_OK;
}

static lm_status read_file_into(lm_st_file *f, FILE *fp, uint64_t size)
{
    unsigned char b8[8];
    lm_status s = read_exact(fp, f->path, b8, 8);
    if (s != LM_OK) return s;
    uint64_t n = read_le64(b8);
    if ((s = check_header_len(f->path, n, size - 8)) != LM_OK) return s;
    char *hdr = malloc((size_t)n);
    if (!hdr) return lm_fail(LM_ENOMEM, "%s: cannot allocate %llu bytes", f->path,
                             (unsigned long long)n);
    s = read_exact(fp, f->path, hdr, (size_t)n);
    size_t data_len = (size_t)(size - 8 - n);
    if (s == LM_OK) s = parse_header(f, hdr, (size_t)n, data_len);
    free(hdr);
    if (s != LM_OK) return s;
    if (!(f->data = malloc(data_len ? data_len : 1)))
        return lm_fail(LM_ENOMEM, "%s: cannot allocate %zu bytes", f->path, data_len);
    if ((s = read_exact(fp, f->path, f->data, data_len)) != LM_OK) return s;
    set_pointers(f);
    return LM_OK;
}

lm_status lm_st_open(const char *path, lm_st_file **out)
{
    *out = NULL;
    FILE *fp = NULL;
    uint64_t size = 0;
    lm_status s = open_sized(path, &fp, &size);
    if (s != LM_OK) return s;
    lm_st_file *f;
    if ((s = st_new(path, &f)) == LM_OK) s = read_file_into(f, fp, size);
    fclose(fp);
    if (s != LM_OK) {
        lm_st_close(f);
        return s;
    }
    *out = f;
    return LM_OK;
}

const char *lm_st_path(const lm_st_file *f) { return f->path; }

int lm_st_count(const lm_st_file *f) { return f->n; }

const lm_st_tensor *lm_st_at(const lm_st_file *f, int i)
{
    return (i >= 0 && i < f->n) ? &f->tensors[i] : NULL;
}

const lm_st_tensor *lm_st_find(const lm_st_file *f, const char *name)
{
    lm_st_tensor key = {.name = name};
    const lm_st_tensor *k = &key;
    const lm_st_tensor **hit = bsearch(&k, f->by_name, (size_t)f->n, sizeof *f->by_name,
                                       cmp_name);
    return hit ? *hit : NULL;
}

int lm_st_meta_count(const lm_st_file *f) { return f->n_meta; }

void lm_st_meta_at(const lm_st_file *f, int i, const char **key, const char **value)
{
    int ok = i >= 0 && i < f->n_meta;
    *key = ok ? f->meta[i].key : NULL;
    *value = ok ? f->meta[i].value : NULL;
}

const char *lm_st_meta(const lm_st_file *f, const char *key)
{
    lm_kv k = {key, NULL};
    const lm_kv *hit = f->n_meta ? bsearch(&k, f->meta, (size_t)f->n_meta, sizeof k, cmp_kv)
                                 : NULL;
    return hit ? hit->value : NULL;
}

/* ---- writing ---- */

typedef struct {
    char *name;
    lm_dtype dtype;
    int ndim;
    int64_t shape[LM_ST_MAX_DIMS];
    size_t nbytes;
    const void *data;
} wtensor;

struct lm_st_writer {
    wtensor *t;
    int n, cap;
    lm_kv *meta; /* owned copies */
    int n_meta, cap_meta;
    lm_status status; /* the first failure; sticky */
    char message[1024];
};

lm_status lm_st_writer_create(lm_st_writer **out)
{
    *out = calloc(1, sizeof **out);
    return *out ? LM_OK : lm_fail(LM_ENOMEM, "safetensors writer: out of memory");
}

void lm_st_writer_free(lm_st_writer *w)
{
    if (!w) return;
    for (int i = 0; i < w->n; i++) free(w->t[i].name);
    for (int i = 0; i < w->n_meta; i++) {
        free((char *)w->meta[i].key);
        free((char *)w->meta[i].value);
    }
    free(w->t);
    free(w->meta);
    free(w);
}

/* Record the first failure (the message is already set) and return it. */
static lm_status writer_fail(lm_st_writer *w, lm_status s)
{
    if (w->status == LM_OK) {
        w->status = s;
        snprintf(w->message, sizeof w->message, "%s", lm_error_message());
    }
    return s;
}

static lm_status check_new_tensor(const lm_st_writer *w, const char *name, lm_dtype dtype,
                                  int ndim, const int64_t *shape)
{
    if (!name || !name[0] || strcmp(name, "__metadata__") == 0)
        return lm_fail(LM_EINVAL, "safetensors writer: invalid tensor name '%s'",
                       name ? name : "(null)");
    for (int i = 0; i < w->n; i++)
        if (strcmp(w->t[i].name, name) == 0)
            return lm_fail(LM_EINVAL, "safetensors writer: tensor '%s' added twice", name);
    if (!dtype_valid(dtype))
        return lm_fail(LM_EINVAL, "safetensors writer: tensor '%s': invalid dtype %d", name,
                       (int)dtype);
    if (ndim < 0 || ndim > LM_ST_MAX_DIMS || (ndim > 0 && !shape))
        return lm_fail(LM_EINVAL, "safetensors writer: tensor '%s': invalid ndim %d", name, ndim);
    for (int i = 0; i < ndim; i++)
        if (shape[i] < 0 || (double)shape[i] > MAX_JSON_INT)
            return lm_fail(LM_EINVAL, "safetensors writer: tensor '%s': dimension %d is %lld",
                           name, i, (long long)shape[i]);
    return LM_OK;
}

lm_status lm_st_writer_add(lm_st_writer *w, const char *name, lm_dtype dtype, int ndim,
                           const int64_t *shape, const void *data)
{
    lm_status s = check_new_tensor(w, name, dtype, ndim, shape);
    if (s != LM_OK) return writer_fail(w, s);
    wtensor t = {.dtype = dtype, .ndim = ndim, .data = data};
    size_t numel;
    if (ndim > 0) memcpy(t.shape, shape, (size_t)ndim * sizeof *shape);
    if (!shape_bytes(ndim, t.shape, lm_dtype_size(dtype), &numel, &t.nbytes))
        return writer_fail(w, lm_fail(LM_EINVAL, "safetensors writer: tensor '%s' is too large",
                                      name));
    if (t.nbytes > 0 && !data)
        return writer_fail(w, lm_fail(LM_EINVAL, "safetensors writer: tensor '%s' has no data",
                                      name));
    if (w->n == w->cap) {
        int cap = w->cap ? 2 * w->cap : 16;
        wtensor *grown = realloc(w->t, (size_t)cap * sizeof *grown);
        if (!grown) return writer_fail(w, lm_fail(LM_ENOMEM, "safetensors writer: out of memory"));
        w->t = grown;
        w->cap = cap;
    }
    if (!(t.name = strdup(name)))
        return writer_fail(w, lm_fail(LM_ENOMEM, "safetensors writer: out of memory"));
    w->t[w->n++] = t;
    return LM_OK;
}

lm_status lm_st_writer_add_meta(lm_st_writer *w, const char *key, const char *value)
{
    if (!key || !key[0] || !value)
        return writer_fail(w, lm_fail(LM_EINVAL, "safetensors writer: invalid metadata '%s'",
                                      key ? key : "(null)"));
    for (int i = 0; i < w->n_meta; i++)
        if (strcmp(w->meta[i].key, key) == 0)
            return writer_fail(w, lm_fail(LM_EINVAL, "safetensors writer: metadata '%s' added "
                                          "twice", key));
    if (w->n_meta == w->cap_meta) {
        int cap = w->cap_meta ? 2 * w->cap_meta : 16;
        lm_kv *grown = realloc(w->meta, (size_t)cap * sizeof *grown);
        if (!grown) return writer_fail(w, lm_fail(LM_ENOMEM, "safetensors writer: out of memory"));
        w->meta = grown;
        w->cap_meta = cap;
    }
    lm_kv kv = {strdup(key), strdup(value)};
    if (!kv.key || !kv.value) {
        free((char *)kv.key);
        free((char *)kv.value);
        return writer_fail(w, lm_fail(LM_ENOMEM, "safetensors writer: out of memory"));
    }
    w->meta[w->n_meta++] = kv;
    return LM_OK;
}

/* Data order: by decreasing element size, then as added, so each tensor is aligned. */
static int *data_order(const lm_st_writer *w)
{
    int *order = malloc(((size_t)w->n + 1) * sizeof *order);
    if (!order) return NULL;
    int k = 0;
    for (size_t size = 8; size >= 1; size /= 2)
        for (int i = 0; i < w->n; i++)
            if (lm_dtype_size(w->t[i].dtype) == size) order[k++] = i;
    return order;
}

static cJSON *tensor_json(const wtensor *t, size_t begin)
{
    cJSON *e = cJSON_CreateObject();
    cJSON *shape = cJSON_CreateArray();
    cJSON *off = cJSON_CreateArray();
    int ok = e && shape && off && cJSON_AddStringToObject(e, "dtype", lm_dtype_name(t->dtype));
    for (int d = 0; ok && d < t->ndim; d++)
        ok = cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)t->shape[d]));
    ok = ok && cJSON_AddItemToArray(off, cJSON_CreateNumber((double)begin)) &&
         cJSON_AddItemToArray(off, cJSON_CreateNumber((double)(begin + t->nbytes)));
    if (ok && cJSON_AddItemToObject(e, "shape", shape)) {
        shape = NULL;
        if (cJSON_AddItemToObject(e, "data_offsets", off)) return e;
    }
    cJSON_Delete(shape);
    cJSON_Delete(off);
    cJSON_Delete(e);
    return NULL;
}

/* The header JSON, unformatted, or NULL when out of memory. Caller frees. */
static char *header_json(const lm_st_writer *w, const int *order)
{
    cJSON *root = cJSON_CreateObject();
    int ok = root != NULL;
    if (ok && w->n_meta > 0) {
        cJSON *meta = cJSON_AddObjectToObject(root, "__metadata__");
        ok = meta != NULL;
        for (int i = 0; ok && i < w->n_meta; i++)
            ok = cJSON_AddStringToObject(meta, w->meta[i].key, w->meta[i].value) != NULL;
    }
    size_t begin = 0;
    for (int k = 0; ok && k < w->n; k++) {
        const wtensor *t = &w->t[order[k]];
        cJSON *e = tensor_json(t, begin);
        ok = e && cJSON_AddItemToObject(root, t->name, e);
        if (e && !ok) cJSON_Delete(e);
        begin += t->nbytes;
    }
    char *text = ok ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    return text;
}

static lm_status write_all(const lm_st_writer *w, const int *order, const char *json,
                           const char *path)
{
    size_t jlen = strlen(json), n = (jlen + 7) / 8 * 8;
    unsigned char b8[8];
    for (int i = 0; i < 8; i++) b8[i] = (unsigned char)((uint64_t)n >> (8 * i));
    char pad[8];
    memset(pad, ' ', sizeof pad);
    lm_atomic_file *a;
    lm_status s = lm_atomic_open(path, &a);
    if (s != LM_OK) return s;
    lm_atomic_write(a, b8, 8);
    lm_atomic_write(a, json, jlen);
    lm_atomic_write(a, pad, n - jlen);
    for (int k = 0; k < w->n; k++) lm_atomic_write(a, w->t[order[k]].data, w->t[order[k]].nbytes);
    return lm_atomic_commit(a);
}

lm_status lm_st_writer_write(lm_st_writer *w, const char *path)
{
    if (w->status != LM_OK) return lm_fail(w->status, "%s", w->message);
    int *order = data_order(w);
    char *json = order ? header_json(w, order) : NULL;
    lm_status s = json ? write_all(w, order, json, path)
                       : lm_fail(LM_ENOMEM, "%s: out of memory building the header", path);
    free(json);
    free(order);
    return s;
}
