/* libFuzzer target: the safetensors reader (lm_st_parse) on arbitrary bytes. Whatever it
 * accepts must be internally consistent: every tensor lies inside the data region, can be
 * found by name, and its bytes can be read. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "linmass/io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lm_st_file *f = NULL;
    if (lm_st_parse(data, size, "fuzz.safetensors", &f) != LM_OK) {
        fuzz_note("refused");
        if (f) abort(); /* a failure hands out nothing */
        return 0;
    }
    for (int i = 0; i < lm_st_count(f); i++) {
        const lm_st_tensor *t = lm_st_at(f, i);
        if (t->numel * lm_dtype_size(t->dtype) != t->nbytes) abort();
        if (lm_st_find(f, t->name) != t) abort();
        const unsigned char *p = t->data;
        for (size_t k = 0; k < t->nbytes; k++) fuzz_sink += p[k]; /* ASan checks every byte */
        char buf[160];
        lm_format_shape(buf, sizeof buf, t->ndim, t->shape);
    }
    for (int i = 0; i < lm_st_meta_count(f); i++) {
        const char *k, *v;
        lm_st_meta_at(f, i, &k, &v);
        if (lm_st_meta(f, k) == NULL || strlen(v) > size) abort();
    }
    lm_st_find(f, "");
    lm_st_meta(f, "format");
    lm_st_close(f);
    return 0;
}
