/* The convolutions' algorithm switch (internal; type-independent, for tests). */
#ifndef LM_NN_CONV_CHOICE_H
#define LM_NN_CONV_CHOICE_H

/* With 1, the executors created from now on run every convolution as im2col + BLAS in the plain
 * layout (the reference the direct kernels are tested against); with 0 (the default), the direct
 * kernels wherever they apply. Not for use while executors created under the other setting run. */
void lm_conv_force_im2col(int on);
int lm_conv_im2col_forced(void);

#endif
