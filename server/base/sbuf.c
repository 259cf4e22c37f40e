/* The string builder (see sbuf.h). */
#include "sbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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

size_t dec_text(long long v, char *out)
{
    char tmp[24];
    size_t k = sizeof tmp, len = 0;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do {
        tmp[--k] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (v < 0) {
        out[len++] = '-';
    }
    memcpy(out + len, tmp + k, sizeof tmp - k);
    return len + sizeof tmp - k;
}

void sb_i64(sbuf *b, long long v)
{
    char tmp[24];
    sb_add(b, tmp, dec_text(v, tmp));
}

void sb_json_str(sbuf *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    size_t n, extra = 0;
    const unsigned char *p;
    char *o;
    if (s == NULL) {
        sb_add(b, "null", 4);
        return;
    }
    for (p = (const unsigned char *)s; *p != '\0'; p++) {
        if (*p < 0x20 || *p == '"' || *p == '\\') {
            extra += 5; /* at most \u00XX for one byte */
        }
    }
    n = (size_t)((const char *)p - s);
    sb_reserve(b, n + extra + 2);
    if (b->failed) {
        return;
    }
    o = b->p + b->len;
    *o++ = '"';
    if (extra == 0) {
        memcpy(o, s, n);
        o += n;
    } else {
        for (p = (const unsigned char *)s; *p != '\0'; p++) {
            unsigned char c = *p;
            if (c >= 0x20 && c != '"' && c != '\\') {
                *o++ = (char)c;
                continue;
            }
            *o++ = '\\';
            switch (c) {
            case '"': *o++ = '"'; break;
            case '\\': *o++ = '\\'; break;
            case '\b': *o++ = 'b'; break;
            case '\f': *o++ = 'f'; break;
            case '\n': *o++ = 'n'; break;
            case '\r': *o++ = 'r'; break;
            case '\t': *o++ = 't'; break;
            default:
                *o++ = 'u';
                *o++ = '0';
                *o++ = '0';
                *o++ = hex[c >> 4];
                *o++ = hex[c & 15];
            }
        }
    }
    *o++ = '"';
    *o = '\0';
    b->len = (size_t)(o - b->p);
}
