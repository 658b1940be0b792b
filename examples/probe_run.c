/* A program outside linmass: train on data held in memory, save a run folder, open it again
 * and probe the trained model.
 *   1. two classes made here, points on two noisy rings (radius 1 and 2), also written to
 *      DIR/rings.csv so that the run folder names its data (the last quarter is the test split);
 *   2. MaSS steps with lm_trainer_step on the training rows, in memory;
 *   3. lm_run_save writes DIR (config.json, checkpoints/last.safetensors); lm_run_open reads it
 *      back: the model with its weights, its loss and its test split;
 *   4. lm_probe_ntk: the tangent kernel of the opened model on test inputs, and its spectrum.
 * Exit status 0 when the opened model scores what the trained one did (the same loss to the
 * bit), above 90% accuracy on the test split, and its kernel is positive semi-definite.
 *   cc probe_run.c $(pkg-config --cflags --libs linmass) -lm -o probe_run && ./probe_run [DIR] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "linmass/io.h"
#include "linmass/probe.h"
#include "linmass/rng.h"
#include "linmass/run.h"
#include "linmass/train.h"

enum { N = 400, N_TRAIN = 300, BATCH = 20, EPOCHS = 30, N_PROBE = 32 };

/* Sample i: class i % 2, on the ring of radius 1 + class, with noise 0.15. */
static void make_rings(float *x, float *y)
{
    for (int i = 0; i < N; i++) {
        double a = 6.283185307179586 * lm_rand_uniform(1, 1, i), r = 1 + i % 2 + 0.15 * lm_rand_normal(1, 2, i);
        x[2 * i] = (float)(r * cos(a)), x[2 * i + 1] = (float)(r * sin(a));
        y[i] = (float)(i % 2);
    }
}

static int write_csv(const char *path, const float *x, const float *y)
{
    FILE *f = fopen(path, "w");
    if (!f) return 0;
    for (int i = 0; i < N; i++) fprintf(f, "%.9g,%.9g,%d\n", x[2 * i], x[2 * i + 1], (int)y[i]);
    return fclose(f) == 0;
}

static int fail(const char *what)
{
    fprintf(stderr, "probe_run: %s: %s\n", what, lm_error_message());
    return 2;
}

/* MaSS over the training rows in order, EPOCHS times; the trainer's test loss and accuracy. */
static int train(lm_trainer *t, const float *x, const float *y, double *loss, double *acc)
{
    lm_step_info info = {0};
    for (int e = 0; e < EPOCHS; e++) {
        lm_trainer_begin_epoch(t, e);
        for (int at = 0; at < N_TRAIN; at += BATCH)
            if (lm_trainer_step(t, x + 2 * at, y + at, BATCH, &info)) return fail("step");
        if (e % 10 == 9) printf("epoch %2d  loss %.4f  batch accuracy %.2f\n", e + 1, info.loss, info.acc);
    }
    return lm_trainer_evaluate(t, x + 2 * N_TRAIN, y + N_TRAIN, N - N_TRAIN, loss, acc) ? fail("evaluate") : 0;
}

/* The tangent kernel of the run's model on its first test inputs (output 1: class 1's logit). */
static int probe(const lm_run *run, lm_spectrum *s)
{
    double x[2 * N_PROBE], K[N_PROBE * N_PROBE];
    for (int i = 0; i < 2 * N_PROBE; i++) x[i] = run->test->x[i];
    lm_ntk_opts o = {0};
    o.net.output = 1;
    if (lm_probe_ntk(run->model, x, N_PROBE, &o, K, NULL) || lm_kernel_spectrum(K, N_PROBE, s, NULL))
        return fail("tangent kernel");
    return 0;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "runs/probe_run";
    static float x[2 * N], y[N];
    char csv[1100], data[1200];
    make_rings(x, y);
    snprintf(csv, sizeof csv, "%s/rings.csv", dir);
    snprintf(data, sizeof data, "csv:%s:classes=2:test=0.25", csv);
    lm_run_spec spec;
    lm_run_spec_init(&spec);
    spec.data = data, spec.model = "dense:32,tanh,dense:32,tanh,dense:2", spec.seed = 3;
    lm_optim_config oc;
    lm_optim_config_init(&oc, LM_OPTIM_MASS); /* the authors' form: lr (eta), alpha, kappa_tilde */
    oc.lr = 0.1;
    lm_trainer_opts opts;
    lm_trainer_opts_init(&opts, 2); /* cross-entropy on 2 classes */
    lm_model *m = NULL;
    lm_trainer *t = NULL;
    lm_run *run = NULL;
    double loss = 0, acc = 0, loss_run = 0, acc_run = 0;
    lm_spectrum s = {0};
    int rc = lm_mkdir_p(dir) || !write_csv(csv, x, y) ? fail(dir) : 0;
    if (!rc && (lm_model_create(spec.model, (lm_shape){2, 1, 1}, spec.param, spec.seed, &m) ||
                lm_trainer_create(m, &oc, &opts, BATCH, &t)))
        rc = fail("set-up");
    if (!rc) rc = train(t, x, y, &loss, &acc);
    if (!rc && (lm_run_save(dir, &spec, t, NULL, NULL) || lm_run_open(dir, &run))) rc = fail("run folder");
    if (!rc && lm_evaluate(run->model, run->test, BATCH, run->loss, &loss_run, &acc_run)) rc = fail("evaluate the run");
    if (!rc) rc = probe(run, &s);
    if (!rc) {
        printf("test split (%zu samples): trained model loss %.6g accuracy %.4f; opened from %s: loss %.6g accuracy %.4f\n",
               run->test->n, loss, acc, dir, loss_run, acc_run);
        printf("tangent kernel on %d test inputs: lambda_min %.4g, lambda_max %.4g, trace %.4g\n", N_PROBE, s.lambda_min,
               s.lambda_max, s.trace);
        rc = loss_run == loss && acc_run == acc && acc > 0.9 && s.lambda_min > -1e-9 * s.lambda_max ? 0 : 1;
    }
    lm_run_close(run);
    lm_trainer_free(t);
    lm_model_free(m);
    return rc;
}
