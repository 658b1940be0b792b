/* The library's version, from the CMake project version (include/linmass/version.h.in). */
#include "linmass/version.h"

const char *lm_version(void) { return LINMASS_VERSION_STRING; }
