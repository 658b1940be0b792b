/* onednn_conv: linmass's convolution kernels against oneDNN's, shape by shape, as a ceiling to
 * chase (measurement only: built with -DLINMASS_BENCH_ONEDNN=ON, never part of the library).
 *
 *   onednn_conv [--threads T] [--repeats R] [--seconds S] [--cpu-time] [cnn] [resnet20]
 *
 * For every convolution of the model of `linmass bench cnn` / `resnet20` (same spec, input shape
 * and batch of 64), float32: the forward pass, the input gradient (backward-data), the weight
 * gradient (backward-weights), and the backward call a training step makes (both gradients in
 * one call; no input gradient for the model's first layer), timed
 *   linmass  through the conv layer's own forward and backward (nn/generic.h, as the executor
 *            calls them), in the activation layouts the executor chooses for the model;
 *   oneDNN   as direct convolutions on the memory formats oneDNN prefers (format `any`; the
 *            model's input stays NCHW), reorders excluded.
 * Each measurement runs a pass for about S seconds (default 0.2) and takes the time per call; the
 * R repeats (default 5) alternate between the two libraries, and the table gives medians, per
 * shape and summed over the model's convolutions. Both run on T threads (default 1; linmass's
 * pool, oneDNN's OpenMP: with T > 1 set OMP_WAIT_POLICY=passive, or OpenMP's spinning workers
 * take the cores from linmass's). --cpu-time (T = 1) times with the process's CPU clock, which
 * leaves out the time other processes hold the core on a shared machine. Before timing, each
 * pass's results are compared between the two libraries on the same data (the largest
 * difference relative to the largest value).
 *
 * This file reads the engine's internals (nn/generic.h), as the tests do: it is compiled with
 * LM_F32 and linked against the static library. */
#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <oneapi/dnnl/dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "linmass/exec.h"
#include "linmass/model.h"
#include "linmass/rng.h"
#include "linmass/runtime.h"
#include "nn/generic.h"

enum { FWD, BWD_DATA, BWD_WEIGHTS, N_DN, BWD_STEP = N_DN, N_LM }; /* passes; linmass has one more */
enum { MAX_CONVS = 64, MAX_REPEATS = 31 };
static const char *const pass_name[N_LM] = {"forward", "backward-data", "backward-weights", "backward (step)"};

#define DN(call)                                                                                        \
    do {                                                                                                \
        dnnl_status_t s_ = (call);                                                                      \
        if (s_ != dnnl_success) {                                                                       \
            fprintf(stderr, "onednn_conv: %s failed (status %d) at line %d\n", #call, (int)s_, __LINE__); \
            exit(1);                                                                                    \
        }                                                                                               \
    } while (0)

/* The clock of the timings: wall time, or with --cpu-time (one thread only) the process's CPU
 * time, which on a loaded machine leaves out the time other processes held the core */
static clockid_t clock_id = CLOCK_MONOTONIC;

static double now(void)
{
    struct timespec ts;
    clock_gettime(clock_id, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void *xmalloc(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    if (!p) {
        fprintf(stderr, "onednn_conv: out of memory\n");
        exit(1);
    }
    return p;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* ---- oneDNN: one convolution's three primitives and their memory ---- */

static dnnl_engine_t engine;
static dnnl_stream_t stream;

enum { A_SRC, A_WEI, A_BIAS, A_DST, A_DIFF_SRC, A_DIFF_WEI, A_DIFF_BIAS, A_DIFF_DST, N_ARG };
static const int arg_id[N_ARG] = {DNNL_ARG_SRC,       DNNL_ARG_WEIGHTS,      DNNL_ARG_BIAS,      DNNL_ARG_DST,
                                  DNNL_ARG_DIFF_SRC,  DNNL_ARG_DIFF_WEIGHTS, DNNL_ARG_DIFF_BIAS, DNNL_ARG_DIFF_DST};
/* the arguments of each primitive, and which of them it writes */
static const int pass_args[N_DN][4] = {{A_SRC, A_WEI, A_BIAS, A_DST},
                                       {A_DIFF_DST, A_WEI, A_DIFF_SRC, -1},
                                       {A_SRC, A_DIFF_DST, A_DIFF_WEI, A_DIFF_BIAS}};

typedef struct {
    dnnl_primitive_t prim[N_DN];
    char impl[N_DN][48];
    dnnl_memory_t mem[N_DN][N_ARG]; /* each primitive's arguments in its formats; NULL: not used */
} dn_conv;

typedef struct {
    const lm_layer *L;
    int in_blk, out_blk; /* linmass's layouts of x (and gx) and of y (and gy) */
    int first;           /* the model's first layer: the step wants no input gradient */
    int count;           /* layers of this shape and placement in the model */
    double flops;        /* of one pass over the batch */
    double t_lm[N_LM][MAX_REPEATS], t_dn[N_DN][MAX_REPEATS];
    double diff[N_DN];   /* largest difference between the libraries' results, relative */
    dn_conv dn;
} conv_case;

typedef struct {
    dnnl_dims_t src, wei, bias, dst, stride, pad_l, pad_r;
} dn_dims;

static dn_dims dims_of(const lm_layer *L, int n)
{
    int k = L->conv.k, s = L->conv.stride, p = L->conv.pad;
    dn_dims d = {{n, L->in.c, L->in.h, L->in.w}, {L->out.c, L->in.c, k, k}, {L->out.c},
                 {n, L->out.c, L->out.h, L->out.w}, {s, s}, {p, p}, {0, 0}};
    /* oneDNN's output size is (H + pad_l + pad_r - k) / s + 1: the right padding that gives linmass's */
    for (int a = 0; a < 2; a++) {
        int H = a ? L->in.w : L->in.h, Ho = a ? L->out.w : L->out.h, r = (Ho - 1) * s + k - H - p;
        d.pad_r[a] = r < 0 && (H + p - k) / s + 1 == Ho ? 0 : r;
    }
    return d;
}

static dnnl_memory_desc_t md(int ndims, const dnnl_dims_t dims, dnnl_format_tag_t tag)
{
    dnnl_memory_desc_t m;
    DN(dnnl_memory_desc_init_by_tag(&m, ndims, dims, dnnl_f32, tag));
    return m;
}

static dnnl_primitive_desc_t make_pd(const dnnl_convolution_desc_t *desc, const_dnnl_primitive_desc_t hint)
{
    dnnl_primitive_desc_t pd;
    DN(dnnl_primitive_desc_create(&pd, desc, NULL, engine, hint));
    return pd;
}

/* The primitive of a pass, and the memory of its arguments in the formats it chose */
static void finish_pd(dn_conv *c, int pass, dnnl_primitive_desc_t pd, int bias)
{
    static const dnnl_query_t query[N_ARG] = {dnnl_query_src_md,      dnnl_query_weights_md,      dnnl_query_weights_md,
                                              dnnl_query_dst_md,      dnnl_query_diff_src_md,     dnnl_query_diff_weights_md,
                                              dnnl_query_diff_weights_md, dnnl_query_diff_dst_md};
    for (int i = 0; i < 4; i++) {
        int a = pass_args[pass][i];
        if (a < 0 || ((a == A_BIAS || a == A_DIFF_BIAS) && !bias)) continue;
        const dnnl_memory_desc_t *m = dnnl_primitive_desc_query_md(pd, query[a], a == A_BIAS || a == A_DIFF_BIAS);
        DN(dnnl_memory_create(&c->mem[pass][a], m, engine, DNNL_MEMORY_ALLOCATE));
    }
    const char *impl;
    DN(dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl));
    snprintf(c->impl[pass], sizeof c->impl[pass], "%s", impl);
    DN(dnnl_primitive_create(&c->prim[pass], pd));
}

static void dn_free(dn_conv *c)
{
    for (int pass = 0; pass < N_DN; pass++) {
        dnnl_primitive_destroy(c->prim[pass]);
        for (int a = 0; a < N_ARG; a++) dnnl_memory_destroy(c->mem[pass][a]);
    }
}

static void dn_setup(conv_case *k, int n)
{
    const lm_layer *L = k->L;
    dn_conv *c = &k->dn;
    dn_dims d = dims_of(L, n);
    int bias = L->conv.bias;
    dnnl_memory_desc_t src = md(4, d.src, k->first ? dnnl_nchw : dnnl_format_tag_any),
                       wei = md(4, d.wei, dnnl_format_tag_any), b = md(1, d.bias, dnnl_x),
                       dst = md(4, d.dst, dnnl_format_tag_any);
    dnnl_convolution_desc_t fd, bd, wd;
    DN(dnnl_convolution_forward_desc_init(&fd, dnnl_forward_training, dnnl_convolution_direct, &src, &wei,
                                          bias ? &b : NULL, &dst, d.stride, d.pad_l, d.pad_r));
    DN(dnnl_convolution_backward_data_desc_init(&bd, dnnl_convolution_direct, &src, &wei, &dst, d.stride, d.pad_l,
                                                d.pad_r));
    DN(dnnl_convolution_backward_weights_desc_init(&wd, dnnl_convolution_direct, &src, &wei, bias ? &b : NULL, &dst,
                                                   d.stride, d.pad_l, d.pad_r));
    dnnl_primitive_desc_t pd[N_DN];
    pd[FWD] = make_pd(&fd, NULL), pd[BWD_DATA] = make_pd(&bd, pd[FWD]), pd[BWD_WEIGHTS] = make_pd(&wd, pd[FWD]);
    for (int pass = 0; pass < N_DN; pass++) finish_pd(c, pass, pd[pass], bias);
    for (int pass = 0; pass < N_DN; pass++) dnnl_primitive_desc_destroy(pd[pass]);
}

static void dn_run(const dn_conv *c, int pass)
{
    dnnl_exec_arg_t args[4];
    int na = 0;
    for (int i = 0; i < 4; i++) {
        int a = pass_args[pass][i];
        if (a >= 0 && c->mem[pass][a]) args[na].arg = arg_id[a], args[na++].memory = c->mem[pass][a];
    }
    DN(dnnl_primitive_execute(c->prim[pass], stream, na, args));
    DN(dnnl_stream_wait(stream));
}

/* plain (nchw, oihw or x) data to or from memory mem, through a reorder */
static void dn_copy(dnnl_memory_t mem, int ndims, const dnnl_dims_t dims, float *plain, int to_mem)
{
    static const dnnl_format_tag_t tags[5] = {dnnl_format_tag_undef, dnnl_a, dnnl_ab, dnnl_abc, dnnl_abcd};
    dnnl_memory_desc_t pmd = md(ndims, dims, tags[ndims]);
    const dnnl_memory_desc_t *mmd;
    dnnl_memory_t pm;
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t r;
    DN(dnnl_memory_get_memory_desc(mem, &mmd));
    DN(dnnl_memory_create(&pm, &pmd, engine, plain));
    if (to_mem) DN(dnnl_reorder_primitive_desc_create(&pd, &pmd, engine, mmd, engine, NULL));
    else DN(dnnl_reorder_primitive_desc_create(&pd, mmd, engine, &pmd, engine, NULL));
    DN(dnnl_primitive_create(&r, pd));
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, to_mem ? pm : mem}, {DNNL_ARG_TO, to_mem ? mem : pm}};
    DN(dnnl_primitive_execute(r, stream, 2, args));
    DN(dnnl_stream_wait(stream));
    dnnl_primitive_destroy(r), dnnl_primitive_desc_destroy(pd), dnnl_memory_destroy(pm);
}

/* ---- linmass: the conv layer's forward and backward, as the executor calls them ---- */

typedef struct {
    lm_exec_f32 *e;
    int n;
    size_t nx, ny, np;      /* values of x (and gx) and y (and gy) in linmass's layouts; parameters */
    float *x, *y, *gy, *gx, *gw;
} lm_bufs;

static void lm_run(const conv_case *k, const lm_bufs *b, int pass)
{
    const lm_layer *L = k->L;
    lm_exec_f32 *e = b->e;
    lm_call_f32 c = {e, L, b->n, LM_MODE_TRAIN, e->w + L->poff, e->buf ? e->buf + L->boff : NULL, NULL,
                     e->scr[L->id], k->in_blk, k->out_blk, 0};
    lm_ports_f32 p = {0};
    p.x = b->x, p.y = b->y, p.gy = b->gy;
    if (pass == FWD) {
        lm_ops_of_f32(L)->forward(&c, &p);
        return;
    }
    p.gx = pass == BWD_DATA || (pass == BWD_STEP && !k->first) ? b->gx : NULL;
    p.gw = pass == BWD_WEIGHTS || pass == BWD_STEP ? b->gw : NULL;
    lm_ops_of_f32(L)->backward(&c, &p);
}

/* ---- the same data in both libraries, and the comparison ---- */

static double rel_diff(const float *a, const float *b, size_t n)
{
    double most = 0, big = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        if (d > most) most = d;
        if (fabs((double)a[i]) > big) big = fabs((double)a[i]);
    }
    return most / (big > 0 ? big : 1);
}

typedef struct {
    float *x, *gy, *out_lm, *out_dn; /* plain */
    size_t nx, ny;
} plain_data;

static void fill_data(conv_case *k, lm_bufs *b, plain_data *d, dn_dims *dd)
{
    const lm_layer *L = k->L;
    lm_rand_normal_fill_f32(d->x, d->nx, 1, 1, LM_STREAM_DATA);
    lm_rand_normal_fill_f32(d->gy, d->ny, 1, 2, LM_STREAM_DATA);
    lm_relayout_f32(L->in, b->n, d->x, 0, b->x, k->in_blk);
    lm_relayout_f32(L->out, b->n, d->gy, 0, b->gy, k->out_blk);
    float *w = b->e->w + L->poff, *bias = w + (size_t)L->out.c * L->in.c * L->conv.k * L->conv.k;
    for (int pass = 0; pass < N_DN; pass++) {
        dnnl_memory_t *mem = k->dn.mem[pass];
        if (mem[A_SRC]) dn_copy(mem[A_SRC], 4, dd->src, d->x, 1);
        if (mem[A_DIFF_DST]) dn_copy(mem[A_DIFF_DST], 4, dd->dst, d->gy, 1);
        if (mem[A_WEI]) dn_copy(mem[A_WEI], 4, dd->wei, w, 1);
        if (mem[A_BIAS]) dn_copy(mem[A_BIAS], 1, dd->bias, bias, 1);
    }
}

/* the pass's output from both libraries, plain, and their difference */
static void check_pass(conv_case *k, lm_bufs *b, plain_data *d, dn_dims *dd, int pass)
{
    const lm_layer *L = k->L;
    lm_run(k, b, pass);
    dn_run(&k->dn, pass);
    size_t nw = (size_t)L->out.c * L->in.c * L->conv.k * L->conv.k, n = pass == FWD ? d->ny : pass == BWD_DATA ? d->nx : nw;
    if (pass == FWD) lm_relayout_f32(L->out, b->n, b->y, k->out_blk, d->out_lm, 0);
    else if (pass == BWD_DATA) lm_relayout_f32(L->in, b->n, b->gx, k->in_blk, d->out_lm, 0);
    else memcpy(d->out_lm, b->gw, nw * sizeof *b->gw);
    dnnl_memory_t *mem = k->dn.mem[pass];
    if (pass == FWD) dn_copy(mem[A_DST], 4, dd->dst, d->out_dn, 0);
    else if (pass == BWD_DATA) dn_copy(mem[A_DIFF_SRC], 4, dd->src, d->out_dn, 0);
    else dn_copy(mem[A_DIFF_WEI], 4, dd->wei, d->out_dn, 0);
    k->diff[pass] = rel_diff(d->out_dn, d->out_lm, n);
    if (pass == BWD_WEIGHTS && L->conv.bias) { /* and the bias gradient */
        dn_copy(mem[A_DIFF_BIAS], 1, dd->bias, d->out_dn, 0);
        double db = rel_diff(d->out_dn, b->gw + nw, (size_t)L->out.c);
        if (db > k->diff[pass]) k->diff[pass] = db;
    }
}

static void check_case(conv_case *k, lm_bufs *b)
{
    dn_dims dd = dims_of(k->L, b->n);
    plain_data d = {.nx = (size_t)b->n * lm_shape_numel(k->L->in), .ny = (size_t)b->n * lm_shape_numel(k->L->out)};
    size_t most = d.nx > d.ny ? d.nx : d.ny;
    if (b->np > most) most = b->np;
    d.x = xmalloc(d.nx * sizeof(float)), d.gy = xmalloc(d.ny * sizeof(float));
    d.out_lm = xmalloc(most * sizeof(float)), d.out_dn = xmalloc(most * sizeof(float));
    fill_data(k, b, &d, &dd);
    for (int pass = 0; pass < N_DN; pass++)
        if (pass != BWD_DATA || !k->first) check_pass(k, b, &d, &dd, pass);
    free(d.x), free(d.gy), free(d.out_lm), free(d.out_dn);
}

/* ---- timing ---- */

typedef struct {
    conv_case *k;
    lm_bufs *b;
    int pass, dnn;
} timed;

static void run_timed(const timed *t)
{
    if (t->dnn) dn_run(&t->k->dn, t->pass);
    else lm_run(t->k, t->b, t->pass);
}

/* seconds per call, over calls for about `seconds` after one warm-up call */
static double time_pass(const timed *t, double seconds)
{
    run_timed(t);
    long calls = 0;
    double t0 = now(), t1 = t0;
    while (calls < 2 || t1 - t0 < seconds) {
        run_timed(t);
        calls++;
        t1 = now();
    }
    return (t1 - t0) / calls;
}

static void time_case(conv_case *k, lm_bufs *b, int rep, double seconds)
{
    for (int pass = 0; pass < N_LM; pass++) {
        if (pass == BWD_DATA && k->first) continue;
        timed t = {k, b, pass, 0};
        k->t_lm[pass][rep] = time_pass(&t, seconds);
        if (pass == N_DN) continue;
        t.dnn = 1;
        k->t_dn[pass][rep] = time_pass(&t, seconds);
    }
}

/* ---- the model's convolutions ---- */

typedef struct {
    conv_case c[MAX_CONVS];
    int n;
} case_list;

static int same_case(const conv_case *a, const conv_case *b)
{
    const lm_layer *x = a->L, *y = b->L;
    return !memcmp(&x->in, &y->in, sizeof x->in) && !memcmp(&x->out, &y->out, sizeof x->out) &&
           x->conv.k == y->conv.k && x->conv.stride == y->conv.stride && x->conv.pad == y->conv.pad &&
           x->conv.bias == y->conv.bias && a->in_blk == b->in_blk && a->out_blk == b->out_blk && a->first == b->first;
}

static void collect(const lm_exec_f32 *e, const lm_seq *s, int top, case_list *cl)
{
    for (int i = 0; i < s->n; i++) {
        const lm_layer *L = &s->layers[i];
        for (int br = 0; br < 2; br++) collect(e, &L->branch[br], 0, cl);
        if (L->kind != L_CONV) continue;
        conv_case k = {.L = L, .in_blk = e->blk[L->id] & 1, .out_blk = e->blk[L->id] >> 1 & 1, .first = top && !i, .count = 1};
        int j = 0;
        while (j < cl->n && !same_case(&cl->c[j], &k)) j++;
        if (j < cl->n) cl->c[j].count++;
        else if (cl->n < MAX_CONVS) cl->c[cl->n++] = k;
    }
}

static double conv_flops(const lm_layer *L, int n)
{
    return 2.0 * n * L->out.c * L->in.c * L->conv.k * L->conv.k * L->out.h * L->out.w;
}

static lm_bufs make_bufs(lm_exec_f32 *e, const case_list *cl, int n)
{
    lm_bufs b = {e, n, 0, 0, 0, NULL, NULL, NULL, NULL, NULL};
    for (int i = 0; i < cl->n; i++) {
        const conv_case *k = &cl->c[i];
        size_t nx = n * lm_numel_in(k->L->in, k->in_blk), ny = n * lm_numel_in(k->L->out, k->out_blk);
        if (nx > b.nx) b.nx = nx;
        if (ny > b.ny) b.ny = ny;
        if (k->L->np > b.np) b.np = k->L->np;
    }
    b.x = xmalloc(b.nx * sizeof(float)), b.gx = xmalloc(b.nx * sizeof(float));
    b.y = xmalloc(b.ny * sizeof(float)), b.gy = xmalloc(b.ny * sizeof(float));
    b.gw = xmalloc(b.np * sizeof(float));
    return b;
}

/* ---- the table ---- */

static void shape_name(const conv_case *k, char *buf, size_t len)
{
    const lm_layer *L = k->L;
    snprintf(buf, len, "%dx%dx%d -> %dx%dx%d, %dx%d/%d%s%s", L->in.c, L->in.h, L->in.w, L->out.c, L->out.h, L->out.w,
             L->conv.k, L->conv.k, L->conv.stride, L->conv.bias ? ", bias" : "", k->first ? ", model input" : "");
}

/* the oneDNN time a linmass pass compares with: the step's backward is bwd-data + bwd-weights */
static double dn_time(const double *dn, const conv_case *k, int pass)
{
    if (pass < N_DN) return dn[pass];
    return (k->first ? 0 : dn[BWD_DATA]) + dn[BWD_WEIGHTS];
}

static double pass_flops(const conv_case *k, int pass)
{
    return pass == BWD_STEP ? (k->first ? 1 : 2) * k->flops : k->flops;
}

static void print_row(const conv_case *k, int pass, double lm, double dn, int head)
{
    char name[96];
    shape_name(k, name, sizeof name);
    if (head) printf("| %s | %d |", name, k->count);
    else printf("| | |");
    double f = pass_flops(k, pass);
    printf(" %s | %.3f | %.3f | **%.2f** | %.1f | %.1f |", pass_name[pass], 1e3 * lm, 1e3 * dn, lm / dn, f / lm / 1e9,
           f / dn / 1e9);
    if (pass == BWD_STEP) printf(" bwd-data + bwd-weights | |\n");
    else printf(" %s | %.1e |\n", k->dn.impl[pass], k->diff[pass]);
}

static void report(case_list *cl, int repeats)
{
    printf("| shape (C x H x W -> O x Ho x Wo, k x k / stride) | layers | pass | linmass ms | oneDNN ms | linmass / oneDNN "
           "| linmass GFLOP/s | oneDNN GFLOP/s | oneDNN implementation | largest difference |\n");
    printf("|---|---|---|---|---|---|---|---|---|---|\n");
    double tot_lm[N_LM] = {0}, tot_dn[N_LM] = {0}, flops[N_LM] = {0};
    for (int i = 0; i < cl->n; i++) {
        conv_case *k = &cl->c[i];
        double lm[N_LM], dn[N_DN];
        for (int pass = 0; pass < N_DN; pass++) dn[pass] = median(k->t_dn[pass], repeats);
        for (int pass = 0, head = 1; pass < N_LM; pass++) {
            if (pass == BWD_DATA && k->first) continue;
            lm[pass] = median(k->t_lm[pass], repeats);
            print_row(k, pass, lm[pass], dn_time(dn, k, pass), head);
            head = 0;
            tot_lm[pass] += k->count * lm[pass], tot_dn[pass] += k->count * dn_time(dn, k, pass);
            flops[pass] += k->count * pass_flops(k, pass);
        }
    }
    for (int pass = 0; pass < N_LM; pass++)
        printf("| all convolutions | | %s | %.3f | %.3f | **%.2f** | %.1f | %.1f | | |\n", pass_name[pass], 1e3 * tot_lm[pass],
               1e3 * tot_dn[pass], tot_lm[pass] / tot_dn[pass], flops[pass] / tot_lm[pass] / 1e9,
               flops[pass] / tot_dn[pass] / 1e9);
    double step_lm = tot_lm[FWD] + tot_lm[BWD_STEP], step_dn = tot_dn[FWD] + tot_dn[BWD_STEP];
    printf("| **a training step's convolutions** | | forward + backward (step) | %.3f | %.3f | **%.2f** | %.1f | %.1f | | |\n",
           1e3 * step_lm, 1e3 * step_dn, step_lm / step_dn, (flops[FWD] + flops[BWD_STEP]) / step_lm / 1e9,
           (flops[FWD] + flops[BWD_STEP]) / step_dn / 1e9);
}

/* ---- main ---- */

static const struct {
    const char *name;
    lm_shape in;
} workloads[] = {{"cnn", {1, 28, 28}}, {"resnet20", {3, 32, 32}}}; /* as `linmass bench` */
enum { BATCH = 64 };

static void run_workload(int w, int repeats, double seconds, int threads)
{
    lm_model *m = NULL;
    lm_exec_f32 *e = NULL;
    if (lm_model_create(workloads[w].name, workloads[w].in, LM_PARAM_STANDARD, 0, &m) ||
        lm_exec_create_f32(m, BATCH, 0, &e)) {
        fprintf(stderr, "onednn_conv: %s: %s\n", workloads[w].name, lm_error_message());
        exit(1);
    }
    lm_exec_bind_f32(e, lm_model_params(m), lm_model_buffers(m));
    static case_list cl;
    cl.n = 0;
    collect(e, &m->top, 1, &cl);
    lm_bufs b = make_bufs(e, &cl, BATCH);
    for (int i = 0; i < cl.n; i++) {
        cl.c[i].flops = conv_flops(cl.c[i].L, BATCH);
        dn_setup(&cl.c[i], BATCH);
        check_case(&cl.c[i], &b);
    }
    for (int rep = 0; rep < repeats; rep++)
        for (int i = 0; i < cl.n; i++) time_case(&cl.c[i], &b, rep, seconds);
    printf("\n%s (batch %d, %d thread%s, median of %d repeats of %g s per pass, %s time)\n\n", workloads[w].name, BATCH,
           threads, threads == 1 ? "" : "s", repeats, seconds, clock_id == CLOCK_MONOTONIC ? "wall" : "CPU");
    report(&cl, repeats);
    for (int i = 0; i < cl.n; i++) dn_free(&cl.c[i].dn);
    free(b.x), free(b.y), free(b.gy), free(b.gx), free(b.gw);
    lm_exec_free_f32(e);
    lm_model_free(m);
}

static int usage(void)
{
    fprintf(stderr, "usage: onednn_conv [--threads T] [--repeats R (1-%d)] [--seconds S] [--cpu-time (T = 1)] [cnn] [resnet20]\n",
            MAX_REPEATS);
    return 2;
}

int main(int argc, char **argv)
{
    int threads = 1, repeats = 5, want[2] = {0, 0}, any = 0;
    double seconds = 0.2;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--repeats") && i + 1 < argc) repeats = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc) seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "--cpu-time")) clock_id = CLOCK_PROCESS_CPUTIME_ID;
        else if (!strcmp(argv[i], "cnn") || !strcmp(argv[i], "resnet20")) want[argv[i][0] == 'r'] = any = 1;
        else return usage();
    }
    int cpu = clock_id == CLOCK_PROCESS_CPUTIME_ID;
    if (threads < 1 || (cpu && threads > 1) || repeats < 1 || repeats > MAX_REPEATS || !(seconds > 0)) return usage();
    lm_set_threads(threads);
    omp_set_num_threads(threads);
    DN(dnnl_engine_create(&engine, dnnl_cpu, 0));
    DN(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags));
    const dnnl_version_t *v = dnnl_version();
    printf("linmass convolutions: %s; BLAS: OpenBLAS %s; oneDNN %d.%d.%d (its instruction set: the implementation names)\n",
           lm_kernel_isa(), openblas_get_corename(), v->major, v->minor, v->patch);
    for (int w = 0; w < 2; w++)
        if (want[w] || !any) run_workload(w, repeats, seconds, threads);
    dnnl_stream_destroy(stream);
    dnnl_engine_destroy(engine);
    return 0;
}
