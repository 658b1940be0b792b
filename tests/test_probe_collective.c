// ctest-labels: unit
/* The probes' injected collective (linmass/collective.h), without MPI: two threads of one
 * process play ranks 0 and 1 of a fake collective (an ordered sum, a row gather and a status
 * agreement; the two threads meet at each call and only one computes at a time), and every
 * probe that splits its work is compared with one process (coll NULL):
 *   - the tangent kernel: the Gram identity (300 inputs of a dense net, two row blocks of 256),
 *     per-sample gradients of a CNN with 3 outputs summed (every row held: the rows are gathered)
 *     and in blocks of 4 rows (the blocked scheme's block rows split), and the same with
 *     layerwise rows (in blocks of fewer rows): bit-identical on both
 *     ranks, and each rank did its share of the backward passes (not all of them);
 *   - the model Hessian: per-input norms bit-identical, ||H(fbar)|| to 1e-12 relative;
 *   - the loss Hessian: top eigenvalues, trace and loss to 1e-12 relative;
 *   - Hessian-vector products and lm_hvp_value: to 1e-12, the same bits on both ranks;
 *   - gradient descent with the kernels split (linearity): every record bit-identical;
 *   - the kernel spectrum summary and the default step: bit-identical;
 *   - the block kernel (nK x nK), by the Gram identity and by per-sample gradients: bit-identical;
 *   - the matrix-free kernel operator K v = J (J^T v), the trace without K, and a spectral density
 *     of the split loss Hessian: the same bits on both ranks, within 1e-12 of one process (the
 *     density's extreme nodes to 1e-10);
 *   - a collective whose sum fails on one rank: both ranks return its failure (the agreement).
 * The collective must be called in the same order with the same sizes by both ranks: a
 * mismatch fails the test. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "linmass/probe.h"
#include "linmass/rng.h"

/* ---- the fake collective: two threads meet at every call ---- */

enum { OP_SUM, OP_GATHER, OP_AGREE };

typedef struct {
    pthread_mutex_t m, run;
    pthread_cond_t cv;
    int arrived, calls, mismatch;
    unsigned long gen;
    int fail_sum_rank; /* -1, or the rank whose sums fail (LM_EIO) */
    struct {
        int op;
        double *buf;
        size_t n, row;
        const size_t *lo;
        lm_status st;
        char text[512];
    } slot[2];
    lm_status agreed;
    int agreed_rank;
} pair;

typedef struct {
    pair *P;
    int rank;
    lm_collective coll;
} end;

/* Both ranks have arrived: do the operation on both slots. */
static void combine(pair *P)
{
    if (P->slot[0].op != P->slot[1].op || P->slot[0].n != P->slot[1].n || P->slot[0].row != P->slot[1].row) {
        P->mismatch = 1;
        return;
    }
    if (P->slot[0].op == OP_SUM) {
        for (size_t i = 0; i < P->slot[0].n; i++)
            P->slot[0].buf[i] = P->slot[1].buf[i] = 0.0 + P->slot[0].buf[i] + P->slot[1].buf[i];
    } else if (P->slot[0].op == OP_GATHER) {
        for (int r = 0; r < 2; r++) {
            size_t a = P->slot[r].lo[r] * P->slot[r].row, b = P->slot[r].lo[r + 1] * P->slot[r].row;
            memcpy(P->slot[1 - r].buf + a, P->slot[r].buf + a, (b - a) * sizeof(double));
        }
    } else {
        P->agreed_rank = P->slot[0].st ? 0 : P->slot[1].st ? 1 : -1;
        P->agreed = P->agreed_rank < 0 ? LM_OK : P->slot[P->agreed_rank].st;
    }
}

/* Meet the other rank with this rank's slot filled; returns when both are done. A rank that
 * waits a minute for the other (which then called the collective fewer times) fails the test. */
static void meet(end *e)
{
    pair *P = e->P;
    pthread_mutex_unlock(&P->run);
    pthread_mutex_lock(&P->m);
    unsigned long g = P->gen;
    if (++P->arrived == 2) {
        combine(P);
        P->arrived = 0;
        P->gen++;
        P->calls++;
        pthread_cond_broadcast(&P->cv);
    } else {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 60;
        while (P->gen == g)
            if (pthread_cond_timedwait(&P->cv, &P->m, &until) == ETIMEDOUT) {
                fprintf(stderr, "rank %d waited a minute in the collective: the ranks called it differently\n", e->rank);
                exit(1);
            }
    }
    pthread_mutex_unlock(&P->m);
    pthread_mutex_lock(&P->run);
}

static lm_status fake_sum(void *ctx, double *buf, size_t n)
{
    end *e = ctx;
    e->P->slot[e->rank].op = OP_SUM, e->P->slot[e->rank].buf = buf, e->P->slot[e->rank].n = n, e->P->slot[e->rank].row = 0;
    meet(e);
    return e->P->fail_sum_rank == e->rank ? lm_fail(LM_EIO, "emulated network failure") : LM_OK;
}

static lm_status fake_gather(void *ctx, double *buf, size_t row, const size_t *lo)
{
    end *e = ctx;
    e->P->slot[e->rank].op = OP_GATHER, e->P->slot[e->rank].buf = buf, e->P->slot[e->rank].n = lo[2] * row;
    e->P->slot[e->rank].row = row, e->P->slot[e->rank].lo = lo;
    meet(e);
    return LM_OK;
}

static lm_status fake_agree(void *ctx, lm_status st)
{
    end *e = ctx;
    pair *P = e->P;
    P->slot[e->rank].op = OP_AGREE, P->slot[e->rank].n = 0, P->slot[e->rank].row = 0, P->slot[e->rank].st = st;
    snprintf(P->slot[e->rank].text, sizeof P->slot[e->rank].text, "%s", st ? lm_error_message() : "");
    meet(e);
    if (P->agreed == LM_OK || P->agreed_rank == e->rank) return P->agreed;
    return lm_fail(P->agreed, "rank %d: %s", P->agreed_rank, P->slot[P->agreed_rank].text);
}

/* ---- running a probe on both ranks ---- */

typedef void (*probe_fn)(const lm_collective *coll, void *out);

typedef struct {
    end e;
    probe_fn fn;
    void *out;
} job;

static void *run_rank(void *arg)
{
    job *j = arg;
    pthread_mutex_lock(&j->e.P->run);
    j->fn(&j->e.coll, j->out);
    pthread_mutex_unlock(&j->e.P->run);
    return NULL;
}

/* fn on two fake ranks, rank r writing to out[r]; returns the collective calls made. */
static int on_two_ranks(probe_fn fn, void *out0, void *out1, int fail_sum_rank)
{
    pair P;
    memset(&P, 0, sizeof P);
    pthread_mutex_init(&P.m, NULL);
    pthread_mutex_init(&P.run, NULL);
    pthread_cond_init(&P.cv, NULL);
    P.fail_sum_rank = fail_sum_rank;
    job j[2];
    pthread_t t[2];
    for (int r = 0; r < 2; r++) {
        j[r].e.P = &P;
        j[r].e.rank = r;
        j[r].e.coll = (lm_collective){r, 2, &j[r].e, fake_sum, fake_gather, fake_agree};
        j[r].fn = fn;
        j[r].out = r ? out1 : out0;
        pthread_create(&t[r], NULL, run_rank, &j[r]);
    }
    for (int r = 0; r < 2; r++) pthread_join(t[r], NULL);
    CHECK_MSG(!P.mismatch, "the two ranks called the collective differently");
    pthread_mutex_destroy(&P.m);
    pthread_mutex_destroy(&P.run);
    pthread_cond_destroy(&P.cv);
    return P.calls;
}

/* ---- the problems ---- */

static lm_model *dense_net, *cnn;
static double *xd, *xc, *labels;
enum { ND = 300, DD = 6, NC = 13, NCLS = 3 };
static const lm_shape cnn_in = {2, 5, 5};

/* ---- the tangent kernel ---- */

typedef struct {
    lm_status st;
    double *K;
    lm_ntk_info info;
    int n;
} ntk_out;

static lm_model *ntk_model;
static const double *ntk_x;
static int ntk_n;
static lm_ntk_method ntk_method;
static size_t ntk_cap;
static int ntk_block;

static void ntk_probe(const lm_collective *coll, void *out)
{
    ntk_out *o = out;
    lm_ntk_opts ko = {0};
    ko.net.output = LM_OUTPUT_SUM;
    ko.method = ntk_method;
    ko.mem_cap = ntk_cap;
    ko.coll = coll;
    ko.block = ntk_block;
    o->n = (int)lm_ntk_dim(ntk_model, ntk_n, &ko);
    o->K = malloc((size_t)o->n * o->n * sizeof *o->K);
    o->st = lm_probe_ntk(ntk_model, ntk_x, ntk_n, &ko, o->K, &o->info);
}

static void check_kernel(const char *what, lm_model *m, const double *x, int n, lm_ntk_method method, size_t cap)
{
    ntk_model = m, ntk_x = x, ntk_n = n, ntk_method = method, ntk_cap = cap;
    ntk_out one = {0}, r0 = {0}, r1 = {0};
    ntk_probe(NULL, &one);
    int calls = on_two_ranks(ntk_probe, &r0, &r1, -1);
    CHECK_MSG(one.st == LM_OK && r0.st == LM_OK && r1.st == LM_OK, "%s: %s", what, lm_error_message());
    size_t bytes = (size_t)one.n * one.n * sizeof *one.K;
    CHECK_MSG(!memcmp(one.K, r0.K, bytes) && !memcmp(one.K, r1.K, bytes), "%s: the split kernel differs from one process's", what);
    CHECK(calls >= 2);
    if (method != LM_NTK_GRAM) { /* each rank computed part of the rows, together all of them */
        CHECK_MSG(r0.info.passes > 0 && r1.info.passes > 0 && r0.info.passes < one.info.passes, "%s: passes %ld and %ld of %ld", what,
                  r0.info.passes, r1.info.passes, one.info.passes);
        if (r0.info.block == n) CHECK(r0.info.passes + r1.info.passes == one.info.passes);
    }
    printf("%-40s %dx%d, %d collective calls: bit-identical (backward passes: one process %ld, ranks %ld + %ld)\n", what, one.n,
           one.n, calls, one.info.passes, r0.info.passes, r1.info.passes);
    free(one.K), free(r0.K), free(r1.K);
}

/* ---- the Hessians ---- */

typedef struct {
    lm_status st;
    lm_hessian_result h;
    double per[NC];
    lm_loss_hessian_result l;
    double hv_value, *hv, *grad;
} hess_out;

static const double *hvp_v;

static void hessian_probe(const lm_collective *coll, void *out)
{
    hess_out *o = out;
    lm_hessian_opts ho = {0};
    ho.net.output = LM_OUTPUT_SUM;
    ho.net.max_batch = 4;
    ho.eig.seed = 3;
    ho.coll = coll;
    o->h.per_input = o->per;
    o->st = lm_probe_model_hessian(cnn, xc, NC, &ho, &o->h);
    lm_loss_hessian_opts lo = {0};
    lo.net.max_batch = 4;
    lo.loss = LM_LOSS_XENT;
    lo.targets = labels;
    lo.eig.top_k = 2;
    lo.eig.seed = 4;
    lo.hutchinson = 10;
    lo.coll = coll;
    if (!o->st) o->st = lm_probe_loss_hessian(cnn, xc, NC, &lo, &o->l);
    lm_hvp_opts vo = {0};
    vo.net.max_batch = 4;
    vo.target = LM_HVP_MODEL;
    vo.net.output = 1;
    vo.coll = coll;
    lm_hvp *h = NULL;
    if (!o->st) o->st = lm_hvp_create(cnn, xc, NC, &vo, &h);
    if (!o->st) {
        size_t p = lm_hvp_dim(h);
        o->hv = malloc(p * sizeof *o->hv), o->grad = malloc(p * sizeof *o->grad);
        lm_hvp_apply(h, hvp_v, o->hv);
        o->hv_value = lm_hvp_value(h, o->grad);
        o->st = lm_hvp_status(h);
    }
    lm_hvp_free(h);
}

static double max_rel(const double *a, const double *b, size_t n)
{
    double d = 0, s = 0;
    for (size_t i = 0; i < n; i++) d = fmax(d, fabs(a[i] - b[i])), s = fmax(s, fabs(a[i]));
    return s > 0 ? d / s : d;
}

static void check_hessians(void)
{
    size_t p = lm_model_num_params(cnn);
    double *v = malloc(p * sizeof *v);
    lm_rand_normal_fill_f64(v, p, 1.0, 9, 1);
    hvp_v = v;
    hess_out one = {0}, r[2];
    memset(r, 0, sizeof r);
    hessian_probe(NULL, &one);
    on_two_ranks(hessian_probe, &r[0], &r[1], -1);
    CHECK_MSG(one.st == LM_OK && r[0].st == LM_OK && r[1].st == LM_OK, "Hessians: %s", lm_error_message());
    for (int k = 0; k < 2 && !r[k].st; k++) {
        CHECK_MSG(!memcmp(one.per, r[k].per, sizeof one.per), "rank %d: per-input norms differ from one process's", k);
        CHECK(one.h.max_norm == r[k].h.max_norm && one.h.mean_norm == r[k].h.mean_norm && one.h.argmax == r[k].h.argmax);
        CHECK_CLOSE(r[k].h.avg_norm, one.h.avg_norm, 1e-12);
        CHECK(r[k].h.avg_norm == r[0].h.avg_norm); /* both ranks hold the same bits */
        for (int t = 0; t < 2; t++) CHECK_CLOSE(r[k].l.eig.top[t], one.l.eig.top[t], 1e-12);
        CHECK_CLOSE(r[k].l.trace, one.l.trace, 1e-12);
        CHECK_CLOSE(r[k].l.loss, one.l.loss, 1e-12);
        CHECK(max_rel(one.hv, r[k].hv, p) <= 1e-12 && max_rel(one.grad, r[k].grad, p) <= 1e-12);
        CHECK_CLOSE(r[k].hv_value, one.hv_value, 1e-12);
        CHECK(!memcmp(r[k].hv, r[0].hv, p * sizeof *v) && !memcmp(r[k].grad, r[0].grad, p * sizeof *v));
    }
    printf("model Hessian: ||H(fbar)|| %.10g one process, %.10g split; per-input norms bit-identical; loss Hessian top "
           "%.8g (%.2g relative), trace %.8g (%.2g); H v %.2g\n", one.h.avg_norm, r[0].h.avg_norm, r[0].l.eig.top[0],
           fabs(r[0].l.eig.top[0] - one.l.eig.top[0]) / fabs(one.l.eig.top[0]), r[0].l.trace,
           fabs(r[0].l.trace - one.l.trace) / fabs(one.l.trace), max_rel(one.hv, r[0].hv, p));
    for (int k = 0; k < 2; k++) free(r[k].hv), free(r[k].grad);
    free(one.hv), free(one.grad), free(v);
}

/* ---- the kernel operator, the trace without K, a spectral density ---- */

typedef struct {
    lm_status st;
    double *kv, trace;
    lm_density d;
} spectra_out;

static void spectra_probe(const lm_collective *coll, void *out)
{
    spectra_out *o = out;
    lm_ntk_opts ko = {0};
    ko.block = 1;
    ko.net.max_batch = 4;
    ko.coll = coll;
    lm_ntk_op *op = NULL;
    o->st = lm_ntk_op_create(cnn, xc, NC, &ko, &op);
    if (!o->st) {
        size_t N = lm_ntk_op_dim(op);
        double *v = malloc(N * sizeof *v);
        lm_rand_normal_fill_f64(v, N, 1.0, 4, 4);
        o->kv = malloc(N * sizeof *o->kv);
        lm_ntk_op_apply(op, v, o->kv);
        o->st = lm_ntk_op_status(op);
        free(v);
    }
    lm_ntk_op_free(op);
    if (!o->st) o->st = lm_probe_ntk_trace(cnn, xc, NC, &ko, &o->trace);
    lm_hvp_opts ho = {0};
    ho.net.max_batch = 4;
    ho.target = LM_HVP_LOSS;
    ho.loss = LM_LOSS_XENT;
    ho.targets = labels;
    ho.coll = coll;
    lm_slq_opts so = {3, 20, LM_VECTORS_RADEMACHER, 5, 0};
    if (!o->st) o->st = lm_probe_hessian_density(cnn, xc, NC, &ho, &so, &o->d);
}

static void check_spectra(void)
{
    spectra_out one = {0}, r[2];
    memset(r, 0, sizeof r);
    spectra_probe(NULL, &one);
    on_two_ranks(spectra_probe, &r[0], &r[1], -1);
    CHECK_MSG(one.st == LM_OK && r[0].st == LM_OK && r[1].st == LM_OK, "spectra: %s", lm_error_message());
    size_t N = (size_t)NC * NCLS;
    for (int k = 0; k < 2 && !r[k].st; k++) {
        CHECK(max_rel(one.kv, r[k].kv, N) <= 1e-12 && !memcmp(r[k].kv, r[0].kv, N * sizeof *one.kv));
        CHECK_CLOSE(r[k].trace, one.trace, 1e-12);
        CHECK(r[k].trace == r[0].trace);
        CHECK(r[k].d.n == one.d.n && !memcmp(r[k].d.nodes, r[0].d.nodes, one.d.n * sizeof *one.d.nodes));
        CHECK(fabs(r[k].d.lambda_max - one.d.lambda_max) <= 1e-10 * fabs(one.d.lambda_max));
        CHECK(fabs(r[k].d.lambda_min - one.d.lambda_min) <= 1e-10 * fabs(one.d.lambda_max));
    }
    printf("block kernel operator K v %.2g, trace %.2g relative to one process; density nodes [%.10g, %.10g] (one process "
           "[%.10g, %.10g])\n", max_rel(one.kv, r[0].kv, N), fabs(r[0].trace - one.trace) / one.trace, r[0].d.lambda_min,
           r[0].d.lambda_max, one.d.lambda_min, one.d.lambda_max);
    for (int k = 0; k < 2; k++) free(r[k].kv), lm_density_free(&r[k].d);
    free(one.kv), lm_density_free(&one.d);
}

/* ---- gradient descent with the kernels split, the spectrum summary, the default step ---- */

typedef struct {
    lm_status st;
    lm_linearity_result r;
    lm_spectrum sp;
} gd_out;

static double gd_y[ND];

static void gd_probe(const lm_collective *coll, void *out)
{
    gd_out *o = out;
    lm_linearity_opts lo = {0};
    lo.y = gd_y;
    lo.steps = 6;
    lo.record_every = 2;
    lo.x_test = xd + 40 * DD;
    lo.n_test = 5;
    lo.ntk.coll = coll; /* lr 0: 1/lambda_max(K_0) */
    o->st = lm_probe_linearity(dense_net, xd, 40, &lo, &o->r);
    if (!o->st) o->st = lm_probe_ntk_spectrum(dense_net, xd, ND, &lo.ntk, NULL, NULL, &o->sp, NULL);
}

static void check_descent(void)
{
    for (int i = 0; i < ND; i++) gd_y[i] = sin(0.3 * i);
    gd_out one = {0}, r[2];
    memset(r, 0, sizeof r);
    gd_probe(NULL, &one);
    on_two_ranks(gd_probe, &r[0], &r[1], -1);
    CHECK_MSG(one.st == LM_OK && r[0].st == LM_OK && r[1].st == LM_OK, "descent: %s", lm_error_message());
    for (int k = 0; k < 2 && !r[k].st; k++) {
        CHECK(r[k].r.n_records == one.r.n_records && r[k].r.lr == one.r.lr && r[k].r.lr_auto);
        CHECK_MSG(!memcmp(r[k].r.records, one.r.records, one.r.n_records * sizeof *one.r.records),
                  "rank %d: the records differ from one process's", k);
        CHECK(!memcmp(&r[k].r.plstar, &one.r.plstar, sizeof one.r.plstar));
        CHECK(!memcmp(&r[k].sp, &one.sp, sizeof one.sp));
    }
    printf("gradient descent, kernels split: %d records bit-identical (lr %.6g = 1/lambda_max(K_0)); spectrum of a %dx%d "
           "kernel bit-identical\n", one.r.n_records, one.r.lr, ND, ND);
    lm_linearity_free(&one.r), lm_linearity_free(&r[0].r), lm_linearity_free(&r[1].r);
}

/* ---- a failing collective ---- */

typedef struct {
    lm_status st;
    char text[512];
} status_out;

static void failing_hvp(const lm_collective *coll, void *out)
{
    status_out *o = out;
    lm_hessian_opts ho = {0};
    ho.coll = coll;
    ho.skip_per_input = 1;
    ho.eig.max_steps = 3;
    lm_hessian_result hr = {0};
    o->st = lm_probe_model_hessian(cnn, xc, NC, &ho, &hr);
    snprintf(o->text, sizeof o->text, "%s", lm_error_message());
}

static void check_failure_agreed(void)
{
    status_out r0 = {0}, r1 = {0};
    on_two_ranks(failing_hvp, &r0, &r1, 1);
    CHECK_MSG(r0.st == LM_EIO && r1.st == LM_EIO, "a sum failing on rank 1: statuses %d and %d (both should fail)", r0.st, r1.st);
    CHECK_MSG(strstr(r0.text, "rank 1: ") && strstr(r0.text, "emulated network failure"), "rank 0's message: %s", r0.text);
    printf("a sum failing on rank 1: both ranks fail; rank 0 says: %s\n", r0.text);
}

int main(void)
{
    CHECK(lm_model_create("dense:32,tanh,dense:16,tanh,dense:1", (lm_shape){DD, 1, 1}, LM_PARAM_NTK, 2, &dense_net) == LM_OK);
    CHECK(lm_model_create("conv:3x3,tanh,avgpool:2,dense:6,tanh,dense:3", cnn_in, LM_PARAM_NTK, 5, &cnn) == LM_OK);
    size_t nin = lm_shape_numel(cnn_in), pc = lm_model_num_params(cnn);
    xd = malloc((size_t)ND * DD * sizeof *xd);
    xc = malloc((size_t)NC * nin * sizeof *xc);
    labels = malloc(NC * sizeof *labels);
    lm_rand_normal_fill_f64(xd, (uint64_t)ND * DD, 1.0, 7, 1);
    lm_rand_normal_fill_f64(xc, (uint64_t)NC * nin, 1.0, 8, 1);
    for (int i = 0; i < NC; i++) labels[i] = i % NCLS;
    check_kernel("Gram identity (dense net)", dense_net, xd, ND, LM_NTK_GRAM, 0);
    check_kernel("per-sample, every row held (CNN)", cnn, xc, NC, LM_NTK_PER_SAMPLE, 0);
    size_t blocks = (size_t)NC * NC * sizeof(double) + 2 * 4 * pc * sizeof(double);
    check_kernel("per-sample, blocks of 4 rows (CNN)", cnn, xc, NC, LM_NTK_PER_SAMPLE, blocks);
    check_kernel("layerwise, every row held (CNN)", cnn, xc, NC, LM_NTK_LAYERWISE, 0);
    /* a layerwise row: the convolution's 3 x 2 x 3 x 3 + 3 parameters, each dense layer's input and output */
    size_t row = (57 + 12 + 6 + 6 + 3) * sizeof(double);
    check_kernel("layerwise, blocks of 4 rows (CNN)", cnn, xc, NC, LM_NTK_LAYERWISE, (size_t)NC * NC * sizeof(double) + 2 * 4 * row);
    ntk_block = 1;
    check_kernel("block kernel, Gram identity (dense net)", dense_net, xd, ND, LM_NTK_GRAM, 0);
    check_kernel("block kernel, per-sample rows (CNN)", cnn, xc, NC, LM_NTK_PER_SAMPLE, 0);
    check_kernel("block kernel, layerwise rows (CNN)", cnn, xc, NC, LM_NTK_LAYERWISE, 0);
    ntk_block = 0;
    check_hessians();
    check_spectra();
    check_descent();
    check_failure_agreed();
    lm_model_free(dense_net), lm_model_free(cnn);
    free(xd), free(xc), free(labels);
    return check_summary();
}
