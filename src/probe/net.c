/* The float64 view of a model shared by the probes. */
#include <stdlib.h>
#include <string.h>

#include "probe/probe_internal.h"

lm_status lm_pnet_init(lm_pnet *p, const lm_model *m, const lm_probe_net *o)
{
    static const lm_probe_net defaults = {0};
    if (!o) o = &defaults;
    memset(p, 0, sizeof *p);
    p->m = m;
    p->np = m->np;
    p->nb = m->nb;
    p->nin = lm_shape_numel(m->in);
    p->K = (int)lm_shape_numel(m->out);
    p->mode = o->mode;
    p->output = o->output;
    p->max_batch = o->max_batch > 0 ? o->max_batch : 256;
    if (o->output != LM_OUTPUT_SUM && (o->output < 0 || o->output >= p->K))
        return lm_fail(LM_EINVAL, "probe: output %d does not exist (the model has %d outputs)", o->output, p->K);
    if (o->mode != LM_MODE_EVAL && o->mode != LM_MODE_TRAIN && o->mode != LM_MODE_FROZEN)
        return lm_fail(LM_EINVAL, "probe: unknown mode %d", (int)o->mode);
    p->w = malloc((p->np ? p->np : 1) * sizeof *p->w);
    p->buf = malloc((p->nb ? p->nb : 1) * sizeof *p->buf);
    if (!p->w || !p->buf) {
        lm_pnet_free(p);
        return lm_fail(LM_ENOMEM, "probe: out of memory for %zu float64 parameters", m->np);
    }
    for (size_t i = 0; i < p->np; i++) p->w[i] = o->params ? o->params[i] : (double)m->w[i];
    for (size_t i = 0; i < p->nb; i++) p->buf[i] = o->buffers ? o->buffers[i] : (double)m->buf[i];
    return LM_OK;
}

void lm_pnet_free(lm_pnet *p)
{
    free(p->w);
    free(p->buf);
    p->w = p->buf = NULL;
}

void lm_pnet_outputs(const lm_pnet *p, int *k0, int *k1)
{
    *k0 = p->output == LM_OUTPUT_SUM ? 0 : p->output;
    *k1 = p->output == LM_OUTPUT_SUM ? p->K : p->output + 1;
}
