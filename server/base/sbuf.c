/* The string builder (see sbuf.h). */
#include "sbuf.h"

#include <stdarg.h>
#include <stdio.h>

void sb_printf(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    int n;
    /* Print in place when it fits (the common case: a number); otherwise
     * grow to the length the first try reported and print again. */
    sb_reserve(b, 64);
    if (b->failed) {
        return;
    }
    va_start(ap, fmt);
    n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = true;
        return;
    }
    if ((size_t)n >= b->cap - b->len) {
        sb_reserve(b, (size_t)n);
        if (b->failed) {
            return;
        }
        va_start(ap, fmt);
        vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
    }
    b->len += (size_t)n;
}
