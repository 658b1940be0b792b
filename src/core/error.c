#include "linmass/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char message[1024];

const char *lm_error_message(void) { return message; }

void lm_error_clear(void) { message[0] = '\0'; }

lm_status lm_fail(lm_status s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    return s;
}

lm_status lm_fail_context(lm_status s, const char *fmt, ...)
{
    char prefix[512], old[sizeof message];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, message, sizeof old);
    size_t k = strlen(prefix);
    memcpy(message, prefix, k);
    snprintf(message + k, sizeof message - k, ": %.*s", (int)(sizeof message - k - 3), old);
    return s;
}

const char *lm_status_name(lm_status s)
{
    switch (s) {
    case LM_OK: return "ok";
    case LM_EINVAL: return "invalid input";
    case LM_EIO: return "I/O error";
    case LM_ENOMEM: return "out of memory";
    case LM_EDIVERGED: return "diverged";
    case LM_EINTERRUPTED: return "interrupted";
    }
    return "unknown status";
}
