/* An error sentence into a caller's buffer (see errtext.h). */
#include "errtext.h"

#include <stdarg.h>
#include <stdio.h>

int errtext_fail(char *err, size_t cap, const char *fmt, ...)
{
    va_list ap;
    if (err != NULL && cap > 0) {
        va_start(ap, fmt);
        vsnprintf(err, cap, fmt, ap);
        va_end(ap);
    }
    return -1;
}
