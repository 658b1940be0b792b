/* The layout of the public structs, for bindings that mirror them in another language (the
 * Python package's ctypes structures): a binding compares these sizes with its own at load
 * time, so that a struct that changed in the library is refused instead of read wrongly. */
#ifndef LINMASS_ABI_H
#define LINMASS_ABI_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* sizeof the public struct `name` ("lm_shape", "lm_ntk_opts", ...: the typedef names of the
 * headers), or 0 when the library has no such struct. */
size_t lm_abi_struct_size(const char *name);

#ifdef __cplusplus
}
#endif
#endif
