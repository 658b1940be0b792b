/* LM_API marks the functions that liblinmass exports. The library is compiled with
 * -fvisibility=hidden, so every other function stays inside it (tests/test_exports.sh checks
 * that the shared library exports exactly the functions declared in include/linmass/). */
#ifndef LINMASS_API_H
#define LINMASS_API_H

#if defined(__GNUC__) || defined(__clang__)
#define LM_API __attribute__((visibility("default")))
#else
#define LM_API
#endif

#endif
