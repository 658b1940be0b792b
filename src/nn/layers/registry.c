/* The table that dispatches on layer kind. Add a layer: write its module (both halves), then
 * list it here and in lm_layer_kind. */
#include "nn/generic.h"

#ifdef LM_F32
extern const lm_layer_def lm_dense_def, lm_conv_def, lm_maxpool_def, lm_avgpool_def, lm_gap_def,
    lm_flatten_def, lm_act_def, lm_dropout_def, lm_bn_def, lm_res_def, lm_kernelfeat_def;

const lm_layer_def *const lm_layer_defs[L_KIND_COUNT] = {
    [L_DENSE] = &lm_dense_def,     [L_CONV] = &lm_conv_def,       [L_MAXPOOL] = &lm_maxpool_def,
    [L_AVGPOOL] = &lm_avgpool_def, [L_GAP] = &lm_gap_def,         [L_FLATTEN] = &lm_flatten_def,
    [L_ACT] = &lm_act_def,         [L_DROPOUT] = &lm_dropout_def, [L_BN] = &lm_bn_def,
    [L_RES] = &lm_res_def,
    [L_KERNELFEAT] = &lm_kernelfeat_def,
};
#endif

extern const R(lm_layer_ops) R(lm_dense_ops), R(lm_conv_ops), R(lm_maxpool_ops), R(lm_avgpool_ops),
    R(lm_gap_ops), R(lm_flatten_ops), R(lm_act_ops), R(lm_dropout_ops), R(lm_bn_ops), R(lm_res_ops), R(lm_kernelfeat_ops);

const R(lm_layer_ops) *const R(lm_layer_ops_table)[L_KIND_COUNT] = {
    [L_DENSE] = &R(lm_dense_ops),     [L_CONV] = &R(lm_conv_ops),       [L_MAXPOOL] = &R(lm_maxpool_ops),
    [L_AVGPOOL] = &R(lm_avgpool_ops), [L_GAP] = &R(lm_gap_ops),         [L_FLATTEN] = &R(lm_flatten_ops),
    [L_ACT] = &R(lm_act_ops),         [L_DROPOUT] = &R(lm_dropout_ops), [L_BN] = &R(lm_bn_ops),
    [L_RES] = &R(lm_res_ops),         [L_KERNELFEAT] = &R(lm_kernelfeat_ops),
};
