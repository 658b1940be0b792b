/* Synthetic data sets: "synth:KIND[:key=value,...]", see data.h for the kinds and defaults.
 *
 * Every draw comes from the Philox generator at (seed, LM_STREAM_DATA + offset, index), so a data
 * set is a pure function of its parameters and seed. The train and test splits share w* (or the
 * teacher) and draw their samples from different streams: the test split is a fresh sample of
 * the same distribution. Arithmetic is in double; only the stored x and y are float. */
#include "data_internal.h"

#include "linmass/rng.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Stream offsets from LM_STREAM_DATA; the split adds 1 to the per-split ones. */
enum {
    S_WSTAR = 0,    /* w*, index k */
    S_ROTATE = 1,   /* rotation matrix, index i*d + j */
    S_X = 2,        /* +split: inputs, index sample*d + k */
    S_NOISE = 4,    /* +split: label noise, index sample */
    S_CHOICE = 6,   /* +split: decoupled data, which coordinate is active */
    S_TEACHER_V = 8,
    S_TEACHER_A = 9
};

typedef enum { SYNTH_LINREG, SYNTH_DECOUPLED, SYNTH_TEACHER } synth_kind;

typedef struct {
    synth_kind kind;
    const char *name;
    long n, ntest, d, width, rotate;
    double cond, noise;
    uint64_t seed;
} synth_params;

/* ---- parameters ---- */

static lm_status set_param(synth_params *p, const char *key, const char *val, const char *known)
{
    char what[128];
    snprintf(what, sizeof what, "synth:%s: %s", p->name, key);
    /* a key counts only if this kind lists it: "width" means nothing to linreg */
    char pattern[40];
    snprintf(pattern, sizeof pattern, " %.30s ", key);
    if (strlen(key) > 30 || !strstr(known, pattern))
        return lm_fail(LM_EINVAL, "synth:%s: unknown parameter '%s' (known: %.*s)", p->name, key,
                       (int)strlen(known) - 2, known + 1);
    if (!strcmp(key, "n")) return lm_parse_long(val, 1, 2000000000L, what, &p->n);
    if (!strcmp(key, "ntest")) return lm_parse_long(val, 1, 2000000000L, what, &p->ntest);
    if (!strcmp(key, "d")) return lm_parse_long(val, 1, 1000000L, what, &p->d);
    if (!strcmp(key, "width")) return lm_parse_long(val, 1, 1000000L, what, &p->width);
    if (!strcmp(key, "rotate")) return lm_parse_long(val, 0, 1, what, &p->rotate);
    if (!strcmp(key, "seed")) {
        char *end;
        errno = 0;
        p->seed = strtoull(val, &end, 10);
        if (end == val || *end || errno || *val == '-')
            return lm_fail(LM_EINVAL, "%s: '%s' is not an unsigned integer", what, val);
        return LM_OK;
    }
    double *dst = !strcmp(key, "cond") ? &p->cond : &p->noise;
    lm_status s = lm_parse_double(val, what, dst);
    if (!s && dst == &p->cond && *dst < 1)
        s = lm_fail(LM_EINVAL, "%s: %s is below 1 (cond is lambda_max / lambda_min)", what, val);
    if (!s && dst == &p->noise && *dst < 0)
        s = lm_fail(LM_EINVAL, "%s: %s is negative", what, val);
    return s;
}

static lm_status parse_params(const char *arg, uint64_t seed, synth_params *p)
{
    static const struct {
        const char *name, *known;
        synth_kind kind;
    } kinds[] = {
        {"linreg", " n d cond noise rotate ntest seed ", SYNTH_LINREG},
        {"decoupled", " n cond ntest seed ", SYNTH_DECOUPLED},
        {"teacher", " n d width ntest seed ", SYNTH_TEACHER},
    };
    const char *colon = strchr(arg, ':');
    size_t klen = colon ? (size_t)(colon - arg) : strlen(arg);
    int k = -1;
    for (int i = 0; i < 3; i++)
        if (strlen(kinds[i].name) == klen && !strncmp(arg, kinds[i].name, klen)) k = i;
    if (k < 0)
        return lm_fail(LM_EINVAL, "synth:%s: unknown kind '%.*s' (linreg, decoupled, teacher)",
                       arg, (int)klen, arg);
    *p = (synth_params){.kind = kinds[k].kind, .name = kinds[k].name, .n = 1000, .ntest = -1,
                        .d = kinds[k].kind == SYNTH_TEACHER ? 20 : 50, .width = 100,
                        .cond = 100, .seed = seed};
    if (p->kind == SYNTH_DECOUPLED) p->d = 2;
    if (colon && colon[1]) {
        char buf[512];
        if (strlen(colon + 1) >= sizeof buf)
            return lm_fail(LM_EINVAL, "synth:%s: parameter list too long", p->name);
        strcpy(buf, colon + 1);
        char *save;
        for (char *kv = strtok_r(buf, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
            char *eq = strchr(kv, '=');
            if (!eq)
                return lm_fail(LM_EINVAL, "synth:%s: '%s' is not key=value", p->name, kv);
            *eq = '\0';
            lm_status s = set_param(p, kv, eq + 1, kinds[k].known);
            if (s) return s;
        }
    }
    if (p->ntest < 0) p->ntest = p->n;
    return LM_OK;
}

/* ---- shared pieces ---- */

static uint64_t stream(int offset) { return (uint64_t)LM_STREAM_DATA + (uint64_t)offset; }

/* A random unit vector: the interpolating weights. */
static void unit_vector(double *w, long d, uint64_t seed)
{
    double norm = 0;
    for (long k = 0; k < d; k++) {
        w[k] = lm_rand_normal(seed, stream(S_WSTAR), (uint64_t)k);
        norm += w[k] * w[k];
    }
    norm = sqrt(norm);
    for (long k = 0; k < d; k++) w[k] /= norm;
}

/* y_i = <w, x_i> over the stored (float) inputs, so w interpolates what the optimiser sees. */
static void linear_targets(lm_dataset *ds, const double *w, double noise, uint64_t seed,
                           lm_split split)
{
    size_t d = lm_shape_numel(ds->shape);
    for (size_t i = 0; i < ds->n; i++) {
        double y = 0;
        for (size_t k = 0; k < d; k++) y += w[k] * ds->x[i * d + k];
        if (noise > 0) y += noise * lm_rand_normal(seed, stream(S_NOISE + split), i);
        ds->y[i] = (float)y;
    }
}

/* A Haar-random orthogonal matrix (row-major d x d): Gram-Schmidt on Gaussian columns. */
static lm_status random_rotation(long d, uint64_t seed, double **out)
{
    double *q = malloc((size_t)d * d * sizeof *q);
    if (!q) return lm_fail(LM_ENOMEM, "synth:linreg: cannot allocate a %ldx%ld rotation", d, d);
    for (long i = 0; i < d * d; i++) q[i] = lm_rand_normal(seed, stream(S_ROTATE), (uint64_t)i);
    for (long j = 0; j < d; j++) { /* column j, orthogonalised twice for accuracy */
        for (int pass = 0; pass < 2; pass++)
            for (long k = 0; k < j; k++) {
                double dot = 0;
                for (long i = 0; i < d; i++) dot += q[i * d + k] * q[i * d + j];
                for (long i = 0; i < d; i++) q[i * d + j] -= dot * q[i * d + k];
            }
        double norm = 0;
        for (long i = 0; i < d; i++) norm += q[i * d + j] * q[i * d + j];
        norm = sqrt(norm);
        for (long i = 0; i < d; i++) q[i * d + j] /= norm;
    }
    *out = q;
    return LM_OK;
}

/* ---- generators ---- */

static lm_status gen_linreg(const synth_params *p, lm_split split, lm_dataset *ds)
{
    long d = p->d;
    double *scale = malloc((size_t)d * sizeof *scale), *u = malloc((size_t)d * sizeof *u);
    double *q = NULL;
    lm_status s = (scale && u) ? LM_OK : lm_fail(LM_ENOMEM, "synth:linreg: out of memory");
    if (!s && p->rotate) s = random_rotation(d, p->seed, &q);
    if (s) goto done;
    /* eigenvalues geometric from 1 to 1/cond: lambda_k = cond^(-k/(d-1)) */
    for (long k = 0; k < d; k++) scale[k] = sqrt(d > 1 ? pow(p->cond, -(double)k / (d - 1)) : 1.0);
    for (size_t i = 0; i < ds->n; i++) {
        float *x = ds->x + i * d;
        for (long k = 0; k < d; k++)
            u[k] = scale[k] * lm_rand_normal(p->seed, stream(S_X + split), i * d + k);
        for (long r = 0; r < d; r++) {
            double v = u[r];
            if (q) {
                v = 0;
                for (long k = 0; k < d; k++) v += q[r * d + k] * u[k];
            }
            x[r] = (float)v;
        }
    }
    unit_vector(ds->w_star, d, p->seed);
    linear_targets(ds, ds->w_star, p->noise, p->seed, split);
done:
    free(scale);
    free(u);
    free(q);
    return s;
}

static lm_status gen_decoupled(const synth_params *p, lm_split split, lm_dataset *ds)
{
    double sigma[2] = {1.0, sqrt(1.0 / p->cond)};
    for (size_t i = 0; i < ds->n; i++) {
        int c = lm_rand_uniform(p->seed, stream(S_CHOICE + split), i) < 0.5 ? 0 : 1;
        double z = lm_rand_normal(p->seed, stream(S_X + split), i);
        ds->x[2 * i + c] = (float)(sqrt(2.0) * sigma[c] * z);
        ds->x[2 * i + 1 - c] = 0.0f;
    }
    unit_vector(ds->w_star, 2, p->seed);
    linear_targets(ds, ds->w_star, 0, p->seed, split);
    return LM_OK;
}

static lm_status gen_teacher(const synth_params *p, lm_split split, lm_dataset *ds)
{
    long d = p->d, m = p->width;
    double *v = malloc((size_t)m * d * sizeof *v), *a = malloc((size_t)m * sizeof *a);
    if (!v || !a) {
        free(v);
        free(a);
        return lm_fail(LM_ENOMEM, "synth:teacher: cannot allocate a %ldx%ld teacher", m, d);
    }
    for (long j = 0; j < m * d; j++) v[j] = lm_rand_normal(p->seed, stream(S_TEACHER_V), j);
    for (long j = 0; j < m; j++) a[j] = lm_rand_normal(p->seed, stream(S_TEACHER_A), j);
    /* the 1/sqrt(fan-in) factors keep pre-activations and outputs O(1) at any d and width */
    double in_scale = 1.0 / sqrt((double)d), out_scale = 1.0 / sqrt((double)m);
    for (size_t i = 0; i < ds->n; i++) {
        float *x = ds->x + i * d;
        for (long k = 0; k < d; k++)
            x[k] = (float)lm_rand_normal(p->seed, stream(S_X + split), i * d + k);
        double y = 0;
        for (long j = 0; j < m; j++) {
            double pre = 0;
            for (long k = 0; k < d; k++) pre += v[j * d + k] * x[k];
            y += a[j] * tanh(pre * in_scale);
        }
        ds->y[i] = (float)(y * out_scale);
    }
    free(v);
    free(a);
    return LM_OK;
}

lm_status lm_load_synth(const char *arg, lm_split split, uint64_t seed, lm_dataset **out)
{
    synth_params p;
    *out = NULL;
    lm_status s = parse_params(arg, seed, &p);
    if (s) return s;
    size_t n = (size_t)(split == LM_SPLIT_TEST ? p.ntest : p.n);
    s = lm_dataset_alloc(n, (lm_shape){(int)p.d, 1, 1}, 0, 1, p.name, out);
    if (s) return s;
    if (p.kind != SYNTH_TEACHER) {
        (*out)->w_star = calloc((size_t)p.d, sizeof(double));
        if (!(*out)->w_star) s = lm_fail(LM_ENOMEM, "synth:%s: out of memory", p.name);
    }
    if (!s) {
        if (p.kind == SYNTH_LINREG) s = gen_linreg(&p, split, *out);
        if (p.kind == SYNTH_DECOUPLED) s = gen_decoupled(&p, split, *out);
        if (p.kind == SYNTH_TEACHER) s = gen_teacher(&p, split, *out);
    }
    if (s) {
        lm_dataset_free(*out);
        *out = NULL;
    }
    return s;
}
