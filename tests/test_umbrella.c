/* The umbrella header alone declares the whole public interface (one declaration from each
 * public header is used below: a header missing from it fails the build), and the version
 * macros agree with each other and with the library's lm_version(). */
// ctest-labels: unit
#include "linmass/linmass.h"

#include <stdio.h>
#include <string.h>

#define STR2(x) #x
#define STR(x) STR2(x)

int main(void)
{
    typedef void (*fn)(void);
    const fn uses[] = {
        (fn)lm_data_load,  (fn)lm_dist_rank,      (fn)lm_error_message, (fn)lm_exec_set_grad_hook_f32,
        (fn)lm_read_file,  (fn)lm_model_create,   (fn)lm_optim_kind_name, (fn)lm_sym_eig,
        (fn)lm_philox,     (fn)lm_set_threads,    (fn)lm_linreg_constants, (fn)lm_train_run,
        (fn)lm_version,    (fn)lm_abi_struct_size,
    };
    int failed = 0;
    for (size_t i = 0; i < sizeof uses / sizeof *uses; i++) failed += uses[i] == NULL;
    const char *built = STR(LINMASS_VERSION_MAJOR) "." STR(LINMASS_VERSION_MINOR) "." STR(LINMASS_VERSION_PATCH);
    if (strcmp(built, LINMASS_VERSION_STRING)) {
        printf("MAJOR.MINOR.PATCH is %s but LINMASS_VERSION_STRING is %s\n", built, LINMASS_VERSION_STRING);
        failed++;
    }
    if (strcmp(lm_version(), LINMASS_VERSION_STRING)) {
        printf("lm_version() is %s but the header says %s\n", lm_version(), LINMASS_VERSION_STRING);
        failed++;
    }
    printf("umbrella header: version %s, %d failed\n", lm_version(), failed);
    return failed != 0;
}
