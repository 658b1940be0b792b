/* Per-layer and per-tensor blocks of a Hessian (docs/theory.md §7.6): the block P^T H P of the
 * parameters [offset, offset + count), applied as H on the vector that is v on the block and 0
 * elsewhere, read back on the block; its top eigenvalues (with multiplicities), trace and
 * spectral density. */
#include <stdlib.h>
#include <string.h>

#include "probe/probe_internal.h"

/* The length of name up to its last '.' (the whole name when it has none). */
static size_t prefix_len(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot ? (size_t)(dot - name) : strlen(name);
}

int lm_param_blocks(const lm_model *m, lm_block_kind kind, lm_param_block *out, int max)
{
    int count = 0;
    lm_param_block cur = {{0}, 0, 0};
    for (int i = 0; i < lm_model_num_tensors(m); i++) {
        const lm_tensor_info *t = lm_model_tensor(m, i);
        if (!t->trainable) continue;
        size_t len = kind == LM_BLOCK_LAYER ? prefix_len(t->name) : strlen(t->name);
        int same = count > 0 && kind == LM_BLOCK_LAYER && strlen(cur.name) == len &&
                   !strncmp(cur.name, t->name, len) && cur.offset + cur.count == t->offset;
        if (same) {
            cur.count += t->numel;
        } else {
            if (count > 0 && count <= max && out) out[count - 1] = cur;
            memset(&cur, 0, sizeof cur);
            memcpy(cur.name, t->name, len < sizeof cur.name ? len : sizeof cur.name - 1);
            cur.offset = t->offset, cur.count = t->numel;
            count++;
        }
    }
    if (count > 0 && count <= max && out) out[count - 1] = cur;
    return count;
}

lm_status lm_block_op_init(lm_block_op *b, size_t dim, lm_matvec_fn op, void *ctx, const lm_param_block *block)
{
    memset(b, 0, sizeof *b);
    if (block->count == 0 || block->offset + block->count > dim)
        return lm_fail(LM_EINVAL, "Hessian block '%s': parameters [%zu, %zu) outside [0, %zu)", block->name, block->offset,
                       block->offset + block->count, dim);
    b->op = op, b->ctx = ctx, b->dim = dim, b->block = *block;
    b->in = calloc(dim, sizeof *b->in);
    b->out = malloc(dim * sizeof *b->out);
    if (b->in && b->out) return LM_OK;
    lm_block_op_free(b);
    return lm_fail(LM_ENOMEM, "Hessian block '%s': out of memory for vectors of %zu", block->name, dim);
}

void lm_block_op_apply(void *ctx, const double *v, double *out)
{
    lm_block_op *b = ctx;
    size_t o = b->block.offset, c = b->block.count;
    memcpy(b->in + o, v, c * sizeof *v); /* the rest of in stays 0 */
    b->op(b->ctx, b->in, b->out);
    memcpy(out, b->out + o, c * sizeof *out);
}

void lm_block_op_free(lm_block_op *b)
{
    free(b->in), free(b->out);
    b->in = b->out = NULL;
}

void lm_block_spectra_free(lm_block_spectrum *b, int count)
{
    for (int i = 0; b && i < count; i++) lm_density_free(&b[i].density);
}

/* One block's spectrum. */
static lm_status block_spectrum(lm_hvp *h, const lm_block_opts *o, lm_block_spectrum *r)
{
    lm_block_op b;
    lm_status st = lm_block_op_init(&b, lm_hvp_dim(h), lm_hvp_apply, h, &r->block);
    lm_eig_opts eo = o->eig;
    if (eo.top_k < 1) eo.top_k = 1;
    if (!st) st = lm_sym_extreme_eig(r->block.count, lm_block_op_apply, &b, &eo, &r->eig);
    if (!st) st = lm_sym_diagonal(r->block.count, lm_block_op_apply, &b, &o->trace, &r->trace);
    if (!st && o->density) st = lm_slq(r->block.count, lm_block_op_apply, &b, o->density, &r->density);
    if (!st) st = lm_hvp_status(h);
    if (st) lm_density_free(&r->density);
    lm_block_op_free(&b);
    return st ? lm_fail_context(st, "Hessian block '%s'", r->block.name) : LM_OK;
}

lm_status lm_probe_hessian_blocks(const lm_model *m, const double *x, int n, const lm_hvp_opts *h,
                                  lm_block_kind kind, const lm_block_opts *o, lm_block_spectrum *out, int *count)
{
    static const lm_block_opts defaults = {0};
    if (!o) o = &defaults;
    *count = 0;
    if (kind != LM_BLOCK_LAYER && kind != LM_BLOCK_TENSOR)
        return lm_fail(LM_EINVAL, "Hessian blocks: unknown kind of block %d", (int)kind);
    int nb = lm_param_blocks(m, kind, NULL, 0);
    lm_param_block *blocks = malloc((nb ? nb : 1) * sizeof *blocks);
    if (!blocks) return lm_fail(LM_ENOMEM, "Hessian blocks: out of memory");
    lm_param_blocks(m, kind, blocks, nb);
    lm_hvp *hv;
    lm_status st = lm_hvp_create(m, x, n, h, &hv);
    for (int i = 0; !st && i < nb; i++) {
        memset(&out[i], 0, sizeof out[i]);
        out[i].block = blocks[i];
        st = block_spectrum(hv, o, &out[i]);
        st = lm_coll_agree(h ? lm_coll_active(h->coll) : NULL, st);
        if (!st) *count = i + 1;
    }
    if (st) lm_block_spectra_free(out, *count), *count = 0;
    lm_hvp_free(hv);
    free(blocks);
    return st ? lm_fail_context(st, "Hessian blocks") : LM_OK;
}
