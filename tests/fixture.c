#include "fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

int fx_open(fx_reader *r, const char *path, const char *magic, const char *regen)
{
    memset(r, 0, sizeof *r);
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        CHECK_MSG(0, "fixture %s is missing: regenerate it with %s (run the test from the repository root)", path, regen);
        return 0;
    }
    fseek(fp, 0, SEEK_END);
    long size = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    r->blob = malloc(size > 0 ? (size_t)size : 1);
    size_t got = fread(r->blob, 1, (size_t)size, fp);
    fclose(fp);
    r->p = r->blob;
    r->end = r->blob + got;
    r->bad = got != (size_t)size;
    char m[8];
    fx_take(r, m, 8);
    if (memcmp(m, magic, 8)) r->bad = 1;
    return 1;
}

void fx_take(fx_reader *r, void *dst, size_t len)
{
    if (r->bad || (size_t)(r->end - r->p) < len) {
        r->bad = 1;
        memset(dst, 0, len);
        return;
    }
    memcpy(dst, r->p, len); /* the fixtures and the test machines are little-endian */
    r->p += len;
}

void fx_take_text(fx_reader *r, char *dst, size_t cap)
{
    uint32_t len = 0;
    fx_take(r, &len, 4);
    if (len >= cap) r->bad = 1;
    if (!r->bad) fx_take(r, dst, len);
    if (!r->bad) dst[len] = '\0';
}

static int read_record(fx_reader *r, fx_record *rc)
{
    uint16_t nl = 0;
    uint8_t enc = 0, nd = 0;
    fx_take(r, &nl, 2);
    if (nl >= sizeof rc->name) return 0;
    fx_take(r, rc->name, nl);
    fx_take(r, &enc, 1);
    fx_take(r, &nd, 1);
    if (r->bad || nd > 8 || enc > 3) return 0;
    rc->enc = enc;
    rc->ndim = nd;
    rc->numel = 1;
    fx_take(r, rc->dims, nd * sizeof(int64_t));
    for (int d = 0; d < nd; d++) {
        if (rc->dims[d] < 0 || rc->dims[d] > (1 << 28)) return 0;
        rc->numel *= (size_t)rc->dims[d];
    }
    if (r->bad || rc->numel > ((size_t)1 << 28)) return 0;
    rc->stride = 1;
    float scale = 1;
    if (enc == 1) fx_take(r, &scale, 4);
    if (enc == 2) {
        uint32_t s = 0;
        fx_take(r, &s, 4);
        if (s < 1) return 0;
        rc->stride = s;
    }
    rc->count = (rc->numel + rc->stride - 1) / rc->stride;
    rc->v = malloc((rc->count ? rc->count : 1) * sizeof *rc->v);
    for (size_t k = 0; k < rc->count && !r->bad; k++) {
        if (enc == 1) {
            int8_t q;
            fx_take(r, &q, 1);
            rc->v[k] = (double)(float)(q * scale);
        } else if (enc == 3) {
            fx_take(r, &rc->v[k], 8);
        } else {
            float x;
            fx_take(r, &x, 4);
            rc->v[k] = x;
        }
    }
    if (enc == 2) {
        fx_take(r, &rc->norm2, 8);
        fx_take(r, &rc->norm1, 8);
    }
    return !r->bad;
}

void fx_read_records(fx_reader *r, fx_record **rec, int *nrec)
{
    uint32_t count = 0;
    fx_take(r, &count, 4);
    if (count > 100000) r->bad = 1;
    *rec = calloc(r->bad ? 1 : count, sizeof **rec);
    *nrec = 0;
    for (uint32_t i = 0; i < count && !r->bad; i++)
        if (!read_record(r, &(*rec)[(*nrec)++])) r->bad = 1;
}

int fx_close(fx_reader *r, const char *path, const char *regen)
{
    if (r->p != r->end) r->bad = 1;
    free(r->blob);
    r->blob = NULL;
    CHECK_MSG(!r->bad, "fixture %s is malformed (regenerate it with %s)", path, regen);
    return !r->bad;
}

void fx_free_records(fx_record *rec, int nrec)
{
    for (int i = 0; i < nrec; i++) free(rec[i].v);
    free(rec);
}

const fx_record *fx_find(const fx_record *rec, int nrec, const char *name)
{
    for (int i = 0; i < nrec; i++)
        if (!strcmp(rec[i].name, name)) return &rec[i];
    return NULL;
}
