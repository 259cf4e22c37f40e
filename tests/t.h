/* Metron's test harness: one suite, compiled natively and with emcc.
 *
 * A test is a static void function; a suite function runs its tests with
 * T_RUN(). Failed asserts print both sides with file:line and end the test
 * (the remaining tests still run). The runner prints TAP lines and closes
 * with "N passed, N failed". Names state behaviour:
 *     static void expr_rejects_unbalanced_paren(void) { ... }
 *     void suite_expr(void) { T_RUN(expr_rejects_unbalanced_paren); } */
#ifndef T_H
#define T_H

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "mt/status.h"

void t__run(const char *name, void (*fn)(void));
void t__fail(const char *file, int line, const char *fmt, ...) MT_PRINTF(3, 4);
/* Read a whole file of tests/fixtures/ (relative "name"); caller frees with
 * free(). Returns NULL (and fails the test) when it cannot be read. */
unsigned char *t_fixture(const char *name, size_t *len);
/* The absolute path of fixture "name" in a static buffer. */
const char *t_fixture_path(const char *name);

#define T_RUN(fn) t__run(#fn, fn)

#define T_FAIL(...)                              \
    do {                                         \
        t__fail(__FILE__, __LINE__, __VA_ARGS__); \
        return;                                  \
    } while (0)

#define T_TRUE(c)                            \
    do {                                     \
        if (!(c)) {                          \
            T_FAIL("expected true: %s", #c); \
        }                                    \
    } while (0)

#define T_EQ_INT(a, b)                                                          \
    do {                                                                        \
        long long t_a_ = (long long)(a), t_b_ = (long long)(b);                 \
        if (t_a_ != t_b_) {                                                     \
            T_FAIL("%s == %s: %lld != %lld", #a, #b, t_a_, t_b_);               \
        }                                                                       \
    } while (0)

#define T_EQ_U64(a, b)                                                          \
    do {                                                                        \
        uint64_t t_a_ = (uint64_t)(a), t_b_ = (uint64_t)(b);                    \
        if (t_a_ != t_b_) {                                                     \
            T_FAIL("%s == %s: %" PRIu64 " != %" PRIu64, #a, #b, t_a_, t_b_);    \
        }                                                                       \
    } while (0)

#define T_NEAR(a, b, eps)                                                       \
    do {                                                                        \
        double t_a_ = (double)(a), t_b_ = (double)(b);                          \
        if (!(fabs(t_a_ - t_b_) <= (eps))) {                                    \
            T_FAIL("%s ~= %s: %.17g != %.17g (eps %g)", #a, #b, t_a_, t_b_,     \
                   (double)(eps));                                              \
        }                                                                       \
    } while (0)

/* Bitwise equality of doubles (special values included). */
#define T_SAME_DOUBLE(a, b)                                                     \
    do {                                                                        \
        double t_a_ = (a), t_b_ = (b);                                          \
        if (memcmp(&t_a_, &t_b_, sizeof t_a_) != 0) {                           \
            T_FAIL("%s same as %s: %.17g != %.17g", #a, #b, t_a_, t_b_);        \
        }                                                                       \
    } while (0)

#define T_EQ_STR(a, b)                                                          \
    do {                                                                        \
        const char *t_a_ = (a), *t_b_ = (b);                                    \
        if (!t_a_ || !t_b_ || strcmp(t_a_, t_b_) != 0) {                        \
            T_FAIL("%s == %s: \"%s\" != \"%s\"", #a, #b, t_a_ ? t_a_ : "(null)", \
                   t_b_ ? t_b_ : "(null)");                                     \
        }                                                                       \
    } while (0)

/* A call that must succeed; on failure prints the status and err's message. */
#define T_OK_E(call, errp)                                                      \
    do {                                                                        \
        mt_status t_s_ = (call);                                                \
        if (t_s_ != MT_OK) {                                                    \
            T_FAIL("%s: %s (%s at %zu: %s)", #call, mt_errname(t_s_),           \
                   mt_errname((errp)->code), (errp)->pos, (errp)->msg);         \
        }                                                                       \
    } while (0)

#define T_OK(call)                                                              \
    do {                                                                        \
        mt_status t_s_ = (call);                                                \
        if (t_s_ != MT_OK) {                                                    \
            T_FAIL("%s: %s", #call, mt_errname(t_s_));                          \
        }                                                                       \
    } while (0)

/* A call that must fail with "code". */
#define T_ERR(call, code)                                                       \
    do {                                                                        \
        mt_status t_s_ = (call);                                                \
        if (t_s_ != (code)) {                                                   \
            T_FAIL("%s: got %s, want %s", #call, mt_errname(t_s_),              \
                   mt_errname(code));                                           \
        }                                                                       \
    } while (0)

#endif
