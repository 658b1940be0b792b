/* Every layer definition, in the order of the help (lm_model_spec_help). To add a layer, write
 * its file (docs/extending.md) and list its definition here. */
#include "nn/layer.h"

const lm_layer_def *const lm_layer_defs[] = {
    &lm_dense_def, &lm_conv_def, &lm_maxpool_def, &lm_avgpool_def, &lm_gap_def, &lm_flatten_def,
    &lm_act_def,   &lm_dropout_def, &lm_bn_def, &lm_res_def, &lm_kernelfeat_def,
    NULL,
};
