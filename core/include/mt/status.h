/* Metron core: status codes and the error record.
 *
 * Every fallible core function returns an mt_status and, when the caller
 * passes a non-NULL "err", fills it with the code, the position in the
 * input where the problem was found (byte offset, or line/column for text
 * formats) and a message in English. There is no global error state. */
#ifndef MT_STATUS_H
#define MT_STATUS_H

#include <stddef.h>

#if defined(__GNUC__) || defined(__clang__)
#define MT_MUSTCHECK __attribute__((warn_unused_result))
#define MT_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define MT_MUSTCHECK
#define MT_PRINTF(f, a)
#endif

/* One table generates the enum, mt_errname() and mt_strerror() (libuv). */
#define MT_STATUS_MAP(X)                                                     \
    X(OK, 0, "success")                                                      \
    X(ENOMEM, -1, "out of memory")                                           \
    X(EINVAL, -2, "invalid argument")                                        \
    X(ESYNTAX, -3, "syntax error")                                           \
    X(ETRUNC, -4, "input is truncated")                                      \
    X(ECORRUPT, -5, "input is corrupt")                                      \
    X(ECHECKSUM, -6, "checksum mismatch")                                    \
    X(EVERSION, -7, "unsupported format version")                            \
    X(ERANGE, -8, "value out of range")                                      \
    X(ELIMIT, -9, "limit exceeded")                                          \
    X(ENOSPACE, -10, "output buffer too small")                              \
    X(EORDER, -11, "timestamps out of order")                                \
    X(ENOTFOUND, -12, "not found")                                           \
    X(EFORMAT, -13, "not a file of this format")

typedef enum {
#define MT__X(name, val, msg) MT_##name = (val),
    MT_STATUS_MAP(MT__X)
#undef MT__X
} mt_status;

/* Where an error happened. "pos" is a byte offset into the input; text
 * formats also fill "line" and "col" (1-based, 0 when not applicable). */
typedef struct {
    mt_status code;
    size_t pos;
    size_t line;
    size_t col;
    char msg[160];
} mt_error;

/* The symbolic name of "code" ("MT_ESYNTAX"), or "MT_UNKNOWN". Static string. */
const char *mt_errname(mt_status code);

/* A short English description of "code". Static string. */
const char *mt_strerror(mt_status code);

/* Fill "err" (may be NULL) with "code", "pos" and a printf-style message, and
 * return "code", so that a failing path can end with
 *     return mt_fail(err, MT_ETRUNC, off, "header cut at %zu", off);
 * line and col are set to 0; use mt_fail_at() for text inputs. */
mt_status mt_fail(mt_error *err, mt_status code, size_t pos, const char *fmt, ...)
    MT_PRINTF(4, 5);

/* As mt_fail(), with a 1-based "line" and "col" for text inputs. */
mt_status mt_fail_at(mt_error *err, mt_status code, size_t pos, size_t line, size_t col,
                     const char *fmt, ...) MT_PRINTF(6, 7);

/* Reset "err" (may be NULL) to MT_OK with an empty message. */
void mt_error_clear(mt_error *err);

#endif
