/* One source for float and double (internal). A file that includes this is compiled twice by
 * CMake (LM_GENERIC_SRC): with LM_F32, real is float and R(name) is name_f32; with LM_F64, real
 * is double and R(name) is name_f64. <tgmath.h> makes exp, sqrt, ... follow the type.
 * Code that must exist once (type-independent tables, helpers) sits inside #ifdef LM_F32. */
#ifndef LM_CORE_REAL_H
#define LM_CORE_REAL_H

#include <tgmath.h>

#if defined(LM_F64)
typedef double real;
#define R(name) name##_f64
#elif defined(LM_F32)
typedef float real;
#define R(name) name##_f32
#else
#error "compile generic sources with LM_F32 or LM_F64"
#endif

#endif
