/* Losses and accuracy, compiled for float and double. */
#include "nn/generic.h"

static double mse(const real *z, const real *t, int n, int k, real *gz, const real *zdot,
                  real *gzdot)
{
    double sum = 0;
    for (size_t i = 0; i < (size_t)n * k; i++) {
        double d = (double)z[i] - (double)t[i];
        sum += d * d;
        if (gz) gz[i] = (real)(d / n);
        if (gzdot) gzdot[i] = zdot[i] / (real)n;
    }
    return 0.5 * sum / n;
}

/* Softmax cross-entropy; the softmax is computed in double for stability in float32. */
static double xent(const real *z, const real *t, int n, int k, real *gz, const real *zdot,
                   real *gzdot)
{
    double total = 0;
    for (int i = 0; i < n; i++) {
        const real *zi = z + (size_t)i * k;
        int y = (int)t[i];
        double mx = zi[0], s = 0;
        for (int j = 1; j < k; j++)
            if (zi[j] > mx) mx = zi[j];
        for (int j = 0; j < k; j++) s += exp((double)zi[j] - mx);
        double lse = mx + log(s);
        total += lse - (double)zi[y];
        double pz = 0; /* <p, zdot> */
        if (gzdot)
            for (int j = 0; j < k; j++) pz += exp((double)zi[j] - lse) * (double)zdot[(size_t)i * k + j];
        for (int j = 0; j < k; j++) {
            double p = exp((double)zi[j] - lse);
            if (gz) gz[(size_t)i * k + j] = (real)((p - (j == y)) / n);
            if (gzdot) gzdot[(size_t)i * k + j] = (real)(p * ((double)zdot[(size_t)i * k + j] - pz) / n);
        }
    }
    return total / n;
}

double R(lm_loss)(lm_loss_kind kind, const real *z, const real *t, int n, int k, real *gz,
                  const real *zdot, real *gzdot)
{
    if (!zdot) gzdot = NULL;
    return kind == LM_LOSS_XENT ? xent(z, t, n, k, gz, zdot, gzdot) : mse(z, t, n, k, gz, zdot, gzdot);
}

double R(lm_accuracy)(const real *z, const real *t, int n, int k)
{
    int right = 0;
    for (int i = 0; i < n; i++) {
        const real *zi = z + (size_t)i * k;
        int best = 0;
        for (int j = 1; j < k; j++)
            if (zi[j] > zi[best]) best = j;
        right += best == (int)t[i];
    }
    return n ? (double)right / n : 0.0;
}
