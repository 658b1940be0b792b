/* Golden fixtures from PyTorch (tools/gen_golden.py, whose header documents the file format):
 * for the fcn, cnn and resnet20 presets with fixed weights and inputs, linmass's outputs, mean
 * cross-entropy loss, every parameter gradient and (resnet20, train mode) the batch-norm
 * running statistics after one forward must match torch's.
 *
 * The references are torch's float64 results for the float32 weights and inputs, stored as
 * float32. Tolerances, per tensor:
 *   float32 run: norm-wise relative error ||got - ref|| / ||ref|| <= 1e-4, and element-wise
 *                |got - ref| <= 1e-4 |ref| + 1e-5 max|ref|;
 *   float64 run: the same with 1e-6 / 1e-6 / 1e-7 (above the float32 rounding of the reference).
 * "worst elem" in the output is max |got - ref| / (|ref| + 0.1 max|ref|), to be at most 1e-4
 * (float32) or 1e-6 (float64).
 * Gradients of more than 32768 elements are stored as a strided subsample plus the whole
 * tensor's L2 and L1 norms; the subsample gets the checks above and the norms the norm-wise
 * tolerance. A missing or malformed fixture fails the test. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "fixture.h"
#include "linmass/exec.h"

#define FIXTURE_DIR "tests/fixtures/"

typedef fx_record record;

typedef struct {
    char spec[256];
    lm_shape in;
    int n;
    int nrec;
    record *rec;
} fixture;

#define REGEN "/usr/bin/python3 tools/gen_golden.py"

static void free_fixture(fixture *f)
{
    fx_free_records(f->rec, f->nrec);
    f->rec = NULL;
    f->nrec = 0;
}

/* Load a fixture; on any problem report it and return 0. */
static int load_fixture(const char *path, fixture *f)
{
    memset(f, 0, sizeof *f);
    fx_reader r;
    if (!fx_open(&r, path, "LMGOLD01", REGEN)) return 0;
    int32_t hdr[4];
    fx_take_text(&r, f->spec, sizeof f->spec);
    fx_take(&r, hdr, sizeof hdr);
    f->in = (lm_shape){hdr[0], hdr[1], hdr[2]};
    f->n = hdr[3];
    fx_read_records(&r, &f->rec, &f->nrec);
    int ok = fx_close(&r, path, REGEN);
    if (!ok) free_fixture(f);
    return ok;
}

static const record *find(const fixture *f, const char *name) { return fx_find(f->rec, f->nrec, name); }

typedef struct {
    double norm_tol, elem_rel, elem_floor;
} tol;

static double worst_norm_err, worst_elem_err; /* over one model and precision, for the summary */

/* Compare got (the whole tensor, numel values) against a record. */
static void compare(const char *what, const char *label, const double *got, const record *rc, tol t)
{
    double num = 0, den = 0, maxref = 0, worst_elem = 0;
    size_t worst_at = 0;
    for (size_t j = 0; j < rc->count; j++) maxref = fmax(maxref, fabs(rc->v[j]));
    int elem_ok = 1;
    for (size_t j = 0; j < rc->count; j++) {
        size_t i = j * rc->stride;
        double d = fabs(got[i] - rc->v[j]);
        num += d * d;
        den += rc->v[j] * rc->v[j];
        double allowed = t.elem_rel * fabs(rc->v[j]) + t.elem_floor * maxref;
        if (d > allowed) elem_ok = 0;
        double e = d / (fabs(rc->v[j]) + t.elem_floor / t.elem_rel * maxref + 1e-300);
        if (e > worst_elem) worst_elem = e, worst_at = i;
    }
    double nerr = den > 0 ? sqrt(num / den) : sqrt(num);
    double n2err = 0, n1err = 0;
    if (rc->enc == 2) {
        double g2 = 0, g1 = 0;
        for (size_t i = 0; i < rc->numel; i++) g2 += got[i] * got[i], g1 += fabs(got[i]);
        n2err = fabs(sqrt(g2) - rc->norm2) / rc->norm2;
        n1err = fabs(g1 - rc->norm1) / rc->norm1;
    }
    double shown = fmax(nerr, fmax(n2err, n1err));
    if (shown > worst_norm_err) worst_norm_err = shown;
    if (worst_elem > worst_elem_err) worst_elem_err = worst_elem;
    printf("  %-4s %-34s n=%-7zu norm err %.2e  worst elem %.2e at %zu (got %.8g ref %.8g)%s\n", label, what,
           rc->numel, nerr, worst_elem, worst_at, got[worst_at], rc->v[worst_at / rc->stride],
           rc->enc == 2 ? "  [subsampled]" : "");
    if (rc->enc == 2) printf("       whole-tensor L2 err %.2e, L1 err %.2e\n", n2err, n1err);
    CHECK_MSG(nerr <= t.norm_tol, "%s %s: norm-wise relative error %.3e > %g", label, what, nerr, t.norm_tol);
    CHECK_MSG(elem_ok, "%s %s: element %zu got %.9g, expected %.9g (allowed %g |ref| + %g max|ref|)", label, what,
              worst_at, got[worst_at], rc->v[worst_at / rc->stride], t.elem_rel, t.elem_floor);
    CHECK_MSG(n2err <= t.norm_tol && n1err <= t.norm_tol, "%s %s: whole-tensor norms off: L2 %.3e L1 %.3e", label,
              what, n2err, n1err);
}

/* The results of one forward + loss + backward, in double whatever the precision. */
typedef struct {
    double *out, loss, *grad, *buf;
} result;

#define RUN_PRECISION(T, S)                                                                          \
    static int run_##S(lm_model *m, const float *w32, const float *b32, const double *x, const double *y, \
                       int n, lm_mode mode, result *r)                                               \
    {                                                                                                \
        size_t np = lm_model_num_params(m), nb = lm_model_num_buffers(m);                            \
        size_t nin = lm_shape_numel(lm_model_input_shape(m)) * n;                                    \
        int k = (int)lm_shape_numel(lm_model_output_shape(m));                                       \
        T *w = malloc(np * sizeof *w), *b = malloc((nb + 1) * sizeof *b), *g = malloc(np * sizeof *g); \
        T *xs = malloc(nin * sizeof *xs), *ys = malloc(n * sizeof *ys), *gz = malloc((size_t)n * k * sizeof *gz); \
        for (size_t i = 0; i < np; i++) w[i] = (T)w32[i];                                            \
        for (size_t i = 0; i < nb; i++) b[i] = (T)b32[i];                                            \
        for (size_t i = 0; i < nin; i++) xs[i] = (T)x[i];                                            \
        for (int i = 0; i < n; i++) ys[i] = (T)y[i];                                                 \
        lm_exec_##S *e = NULL;                                                                       \
        int ok = lm_exec_create_##S(m, n, 0, &e) == LM_OK;                                           \
        CHECK_MSG(ok, "lm_exec_create_" #S ": %s", lm_error_message());                             \
        if (ok) {                                                                                    \
            lm_exec_bind_##S(e, w, b);                                                               \
            lm_exec_set_rng_##S(e, 1, 0);                                                            \
            const T *z = lm_forward_##S(e, xs, n, mode, NULL);                                       \
            for (int i = 0; i < n * k; i++) r->out[i] = z[i];                                        \
            r->loss = lm_loss_##S(LM_LOSS_XENT, z, ys, n, k, gz, NULL, NULL);                        \
            lm_backward_##S(e, gz, g, NULL, NULL, NULL);                                             \
            for (size_t i = 0; i < np; i++) r->grad[i] = g[i];                                       \
            for (size_t i = 0; i < nb; i++) r->buf[i] = b[i];                                        \
        }                                                                                            \
        lm_exec_free_##S(e);                                                                         \
        free(w), free(b), free(g), free(xs), free(ys), free(gz);                                     \
        return ok;                                                                                   \
    }
RUN_PRECISION(float, f32)
RUN_PRECISION(double, f64)

/* Copy the fixture's weights into the model by name; every tensor must be there with the same
 * shape. */
static int load_weights(const fixture *f, lm_model *m)
{
    float *w = lm_model_params(m), *b = lm_model_buffers(m);
    int loaded = 0, ok = 1;
    for (int i = 0; i < f->nrec; i++) {
        const record *rc = &f->rec[i];
        if (strncmp(rc->name, "w:", 2)) continue;
        const lm_tensor_info *t = lm_model_find_tensor(m, rc->name + 2);
        CHECK_MSG(t != NULL, "%s: torch tensor '%s' has no linmass counterpart", f->spec, rc->name + 2);
        if (!t) { ok = 0; continue; }
        int same = t->ndim == rc->ndim && t->numel == rc->numel;
        for (int d = 0; same && d < t->ndim; d++) same = t->dims[d] == rc->dims[d];
        CHECK_MSG(same, "%s: tensor '%s' has a different shape in linmass (ndim %d, numel %zu) and torch "
                        "(ndim %d, numel %zu)", f->spec, t->name, t->ndim, t->numel, rc->ndim, rc->numel);
        if (!same) { ok = 0; continue; }
        float *dst = (t->trainable ? w : b) + t->offset;
        for (size_t k = 0; k < t->numel; k++) dst[k] = (float)rc->v[k];
        loaded++;
    }
    CHECK_MSG(loaded == lm_model_num_tensors(m), "%s: %d of linmass's %d tensors are in the fixture", f->spec,
              loaded, lm_model_num_tensors(m));
    return ok && loaded == lm_model_num_tensors(m);
}

/* Every record of `prefix` (e.g. "train.grad:") against the matching tensor of `whole`, and
 * every tensor of the kind (trainable or not) must have one. */
static void compare_tensors(const fixture *f, lm_model *m, const char *prefix, int trainable, const double *whole,
                            const char *label, tol t)
{
    int seen = 0, expected = 0, present = 0;
    size_t plen = strlen(prefix);
    for (int i = 0; i < f->nrec; i++) present += !strncmp(f->rec[i].name, prefix, plen);
    if (!present) return; /* e.g. resnet20 stores no eval-mode gradients */
    for (int i = 0; i < lm_model_num_tensors(m); i++) expected += lm_model_tensor(m, i)->trainable == trainable;
    for (int i = 0; i < f->nrec; i++) {
        const record *rc = &f->rec[i];
        if (strncmp(rc->name, prefix, plen)) continue;
        const lm_tensor_info *ti = lm_model_find_tensor(m, rc->name + plen);
        CHECK_MSG(ti && ti->numel == rc->numel && ti->trainable == trainable, "%s: record %s has no matching tensor",
                  f->spec, rc->name);
        if (!ti || ti->numel != rc->numel || ti->trainable != trainable) continue;
        compare(rc->name, label, whole + ti->offset, rc, t);
        seen++;
    }
    CHECK_MSG(seen == expected, "%s: %d of %d tensors checked for %s", f->spec, seen, expected, prefix);
}

static void check_mode(const fixture *f, lm_model *m, const double *x, const double *y, const char *mode_name,
                       lm_mode mode, int f64)
{
    char key[64];
    snprintf(key, sizeof key, "%s.out", mode_name);
    const record *out = find(f, key);
    if (!out) return;
    snprintf(key, sizeof key, "%s.loss", mode_name);
    const record *loss = find(f, key);
    size_t np = lm_model_num_params(m), nb = lm_model_num_buffers(m);
    int k = (int)lm_shape_numel(lm_model_output_shape(m));
    result r = {calloc((size_t)f->n * k, sizeof(double)), 0, calloc(np, sizeof(double)),
                calloc(nb + 1, sizeof(double))};
    tol t = f64 ? (tol){1e-6, 1e-6, 1e-7} : (tol){1e-4, 1e-4, 1e-5};
    const char *label = f64 ? "f64" : "f32";
    int ok = f64 ? run_f64(m, lm_model_params(m), lm_model_buffers(m), x, y, f->n, mode, &r)
                 : run_f32(m, lm_model_params(m), lm_model_buffers(m), x, y, f->n, mode, &r);
    CHECK_MSG(out->numel == (size_t)f->n * k, "%s: %s has %zu values, the model gives %d", f->spec, out->name,
              out->numel, f->n * k);
    if (ok && out->numel == (size_t)f->n * k) {
        printf(" %s %s mode: loss %.9f (torch %.9f, rel err %.2e)\n", f->spec, mode_name, r.loss,
               loss ? loss->v[0] : NAN, loss ? fabs(r.loss - loss->v[0]) / fabs(loss->v[0]) : NAN);
        compare(out->name, label, r.out, out, t);
        CHECK_MSG(loss != NULL, "%s: no %s.loss record", f->spec, mode_name);
        if (loss) CHECK_CLOSE(r.loss, loss->v[0], t.norm_tol);
        snprintf(key, sizeof key, "%s.grad:", mode_name);
        compare_tensors(f, m, key, 1, r.grad, label, t);
        if (mode == LM_MODE_TRAIN && nb) {
            snprintf(key, sizeof key, "%s.buf:", mode_name);
            compare_tensors(f, m, key, 0, r.buf, label, t);
        }
    }
    free(r.out), free(r.grad), free(r.buf);
}

static void check_fixture(const char *file)
{
    char path[256];
    snprintf(path, sizeof path, FIXTURE_DIR "%s", file);
    fixture f;
    if (!load_fixture(path, &f)) return;
    printf("%s: preset %s, input %dx%dx%d, batch %d, %d records\n", path, f.spec, f.in.c, f.in.h, f.in.w, f.n,
           f.nrec);
    lm_model *m = NULL;
    CHECK_MSG(lm_model_create(f.spec, f.in, LM_PARAM_STANDARD, 7, &m) == LM_OK, "%s: %s", f.spec,
              lm_error_message());
    const record *x = find(&f, "x"), *y = find(&f, "y");
    CHECK_MSG(x && y, "%s: no inputs or labels", path);
    int has_grads = 0;
    for (int i = 0; i < f.nrec; i++) has_grads |= strstr(f.rec[i].name, ".grad:") != NULL;
    CHECK_MSG(has_grads, "%s: no gradients in the fixture", path);
    if (m && x && y && load_weights(&f, m)) {
        CHECK(x->numel == (size_t)f.n * lm_shape_numel(f.in) && y->numel == (size_t)f.n);
        for (int f64 = 0; f64 < 2; f64++) {
            worst_norm_err = worst_elem_err = 0;
            check_mode(&f, m, x->v, y->v, "eval", LM_MODE_EVAL, f64);
            check_mode(&f, m, x->v, y->v, "train", LM_MODE_TRAIN, f64);
            printf("== %s %s: over all tensors, worst norm-wise relative error %.2e, worst element %.2e\n",
                   f.spec, f64 ? "f64" : "f32", worst_norm_err, worst_elem_err);
        }
    }
    lm_model_free(m);
    free_fixture(&f);
}

int main(void)
{
    check_fixture("golden_fcn.bin");
    check_fixture("golden_cnn.bin");
    check_fixture("golden_resnet20.bin");
    return check_summary();
}
