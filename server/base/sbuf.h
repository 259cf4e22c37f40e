/* A growing text buffer: the one string builder of the server (JSON answers
 * of svc_data.c, CSV and metadata of svc_export_csv.c).
 *
 *     sbuf b = {0};
 *     sb_put(&b, "[");
 *     sb_printf(&b, "%lld", v);
 *     if (b.failed) { free(b.p); ... out of memory ... }
 *
 * On a failed allocation "failed" turns true and every later call does
 * nothing; the text so far stays in "p" (NUL-terminated) and the caller
 * frees it. The small functions are inline: they run per number on the
 * data paths. */
#ifndef MTS_SBUF_H
#define MTS_SBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "mt/status.h"

typedef struct {
    char *p;
    size_t len, cap;
    bool failed;
} sbuf;

/* Make room for "more" bytes and a NUL (the first allocation is 4 KiB,
 * then the capacity doubles). */
static inline void sb_reserve(sbuf *b, size_t more)
{
    size_t cap;
    char *grown;
    if (b->failed || b->len + more + 1 <= b->cap) {
        return;
    }
    cap = b->cap ? b->cap : 4096;
    while (cap < b->len + more + 1) {
        cap *= 2;
    }
    grown = realloc(b->p, cap);
    if (grown == NULL) {
        b->failed = true;
        return;
    }
    b->p = grown;
    b->cap = cap;
}

/* Append "n" bytes of "s". */
static inline void sb_add(sbuf *b, const char *s, size_t n)
{
    sb_reserve(b, n);
    if (!b->failed) {
        memcpy(b->p + b->len, s, n);
        b->len += n;
        b->p[b->len] = '\0';
    }
}

/* Append the string "s". */
static inline void sb_put(sbuf *b, const char *s)
{
    sb_add(b, s, strlen(s));
}

/* Append printf-formatted text. */
void sb_printf(sbuf *b, const char *fmt, ...) MT_PRINTF(2, 3);

/* Append "v" in decimal (no printf: lists print thousands of ids). */
void sb_i64(sbuf *b, long long v);

/* "v" in decimal, as "%lld" writes it, into "out" (no NUL; at most 20
 * bytes); returns its length. The one digit writer of the server (issue
 * 16: snprintf() per id, parameter, log field and header was thousands of
 * instructions of every request). */
size_t dec_text(long long v, char *out);

/* Append "s" as a JSON string, quoted and escaped as cJSON prints it
 * ("\"", "\\", \b \f \n \r \t, other control characters as
 * \u00XX, every other byte as is), or null when "s" is NULL. */
void sb_json_str(sbuf *b, const char *s);

#endif
