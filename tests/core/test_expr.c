#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "../t.h"
#include "alloc_int.h"
#include "mt/expr.h"
#include "mt/types.h"

/* Compile "src", which must fail with "code" at byte "pos". */
#define T_COMPILE_ERR(src, code_, pos_)                                              \
    do {                                                                             \
        mt_expr *e_ = (mt_expr *)&e_;                                                \
        mt_error err_;                                                               \
        T_ERR(mt_expr_compile((src), &e_, &err_), (code_));                          \
        T_TRUE(e_ == NULL);                                                          \
        T_EQ_INT(err_.code, (code_));                                                \
        T_EQ_INT(err_.pos, (pos_));                                                  \
        T_EQ_INT(err_.line, 1);                                                      \
        T_EQ_INT(err_.col, (pos_) + 1);                                              \
        T_TRUE(err_.msg[0] != '\0');                                                 \
    } while (0)

/* Evaluate "src" on one sample with inputs "x" (in channel order). */
static mt_status eval1(const char *src, const double *x, size_t n_x, double *out)
{
    mt_expr *e = NULL;
    mt_error err;
    const double *in[MT_EXPR_MAX_INPUTS];
    size_t i;
    mt_status st = mt_expr_compile(src, &e, &err);
    if (st != MT_OK) {
        return st;
    }
    if (mt_expr_input_count(e) != n_x) {
        mt_expr_free(e);
        return MT_EINVAL;
    }
    for (i = 0; i < n_x; i++) {
        in[i] = &x[i];
    }
    st = mt_expr_eval(e, in, 1, out, &err);
    mt_expr_free(e);
    return st;
}

#define T_EVAL(src, expect, ...)                                                     \
    do {                                                                             \
        const double x_[] = {__VA_ARGS__};                                           \
        double r_ = 0;                                                               \
        T_OK(eval1((src), x_, sizeof x_ / sizeof x_[0], &r_));                       \
        T_SAME_DOUBLE(r_, (double)(expect));                                         \
    } while (0)

#define T_EVAL_SV(src, kind, ...)                                                    \
    do {                                                                             \
        const double x_[] = {__VA_ARGS__};                                           \
        double r_ = 0;                                                               \
        T_OK(eval1((src), x_, sizeof x_ / sizeof x_[0], &r_));                       \
        T_EQ_INT(mt_sv_kind(r_), (kind));                                            \
        T_SAME_DOUBLE(r_, mt_sv_value(kind));                                        \
    } while (0)

static double sv(mt_sv k)
{
    return mt_sv_value(k);
}

/* ---- errors first ---- */

static void expr_rejects_empty_input(void)
{
    T_COMPILE_ERR("", MT_ESYNTAX, 0);
    T_COMPILE_ERR("   ", MT_ESYNTAX, 3);
}

static void expr_rejects_null_arguments(void)
{
    mt_expr *e = NULL;
    mt_error err;
    T_ERR(mt_expr_compile(NULL, &e, &err), MT_EINVAL);
    T_ERR(mt_expr_compile("CH1", NULL, &err), MT_EINVAL);
    T_ERR(mt_expr_compile_n(NULL, 3, &e, &err), MT_EINVAL);
    T_ERR(mt_expr_compile("CH1", &e, NULL), MT_OK);
    mt_expr_free(e);
    mt_expr_free(NULL);
    T_EQ_INT(mt_expr_input_count(NULL), 0);
    T_EQ_INT(mt_expr_input_channel(NULL, 0), 0);
}

static void expr_rejects_unknown_names_at_their_position(void)
{
    T_COMPILE_ERR("FOO(CH1)", MT_ESYNTAX, 0);
    T_COMPILE_ERR("1 + CHX", MT_ESYNTAX, 4);
    T_COMPILE_ERR("CH0+CH1", MT_ESYNTAX, 0);
    T_COMPILE_ERR("CH1+CH01", MT_ESYNTAX, 4);
    T_COMPILE_ERR("CH1000", MT_ESYNTAX, 0);
    T_COMPILE_ERR("CH99999999999999999999", MT_ESYNTAX, 0);
    T_COMPILE_ERR("CH", MT_ESYNTAX, 0);
    T_COMPILE_ERR("CH1A", MT_ESYNTAX, 0);
    T_COMPILE_ERR("SQRT(CH1)", MT_ESYNTAX, 0);
    T_COMPILE_ERR("2*SQ CH1", MT_ESYNTAX, 5);
    T_COMPILE_ERR("SQR", MT_ESYNTAX, 3);
}

static void expr_rejects_unbalanced_paren(void)
{
    T_COMPILE_ERR("(CH1+2", MT_ESYNTAX, 0);
    T_COMPILE_ERR("((CH1)+2", MT_ESYNTAX, 0);
    T_COMPILE_ERR("SQ(CH1", MT_ESYNTAX, 2);
    T_COMPILE_ERR("CH1)", MT_ESYNTAX, 3);
    T_COMPILE_ERR("(CH1))", MT_ESYNTAX, 5);
    T_COMPILE_ERR(")", MT_ESYNTAX, 0);
    T_COMPILE_ERR("(CH1 CH2)", MT_ESYNTAX, 5);
}

static void expr_rejects_missing_operand(void)
{
    T_COMPILE_ERR("1+", MT_ESYNTAX, 2);
    T_COMPILE_ERR("CH1+ ", MT_ESYNTAX, 5);
    T_COMPILE_ERR("*2", MT_ESYNTAX, 0);
    T_COMPILE_ERR("()", MT_ESYNTAX, 1);
    T_COMPILE_ERR("CH1*/2", MT_ESYNTAX, 4);
    T_COMPILE_ERR("+CH1", MT_ESYNTAX, 0);
    T_COMPILE_ERR("SQ()", MT_ESYNTAX, 3);
    T_COMPILE_ERR("CH1-", MT_ESYNTAX, 4);
}

static void expr_rejects_unexpected_tokens(void)
{
    T_COMPILE_ERR("CH1 CH2", MT_ESYNTAX, 4);
    T_COMPILE_ERR("CH1 2", MT_ESYNTAX, 4);
    T_COMPILE_ERR("CH1(2)", MT_ESYNTAX, 3);
    T_COMPILE_ERR("CH1 # 2", MT_ESYNTAX, 4);
    T_COMPILE_ERR("CH1^2", MT_ESYNTAX, 3);
    T_COMPILE_ERR("2CH1", MT_ESYNTAX, 1);
    T_COMPILE_ERR("1.2.3+CH1", MT_ESYNTAX, 3);
    T_COMPILE_ERR("1e+CH1", MT_ESYNTAX, 3);
    T_COMPILE_ERR(".+CH1", MT_ESYNTAX, 0);
    T_COMPILE_ERR("CH1+\xc3\xa9", MT_ESYNTAX, 4);
    T_COMPILE_ERR("CH1,2", MT_ESYNTAX, 3);
}

static void expr_rejects_embedded_nul(void)
{
    mt_expr *e = NULL;
    mt_error err;
    T_ERR(mt_expr_compile_n("CH1\0+1", 6, &e, &err), MT_ESYNTAX);
    T_EQ_INT(err.pos, 3);
    T_TRUE(e == NULL);
}

static void expr_requires_one_to_ten_channels(void)
{
    mt_expr *e = NULL;
    mt_error err;
    T_COMPILE_ERR("1+2", MT_ESYNTAX, 0);
    T_COMPILE_ERR("SQ(3)", MT_ESYNTAX, 0);
    /* the 11th distinct channel is the error; repeats do not count */
    T_COMPILE_ERR("CH1+CH2+CH3+CH4+CH5+CH6+CH7+CH8+CH9+CH10+CH1+CH11", MT_ELIMIT, 45);
    T_OK_E(mt_expr_compile("CH1+CH2+CH3+CH4+CH5+CH6+CH7+CH8+CH9+CH10+CH1+CH10", &e, &err), &err);
    T_EQ_INT(mt_expr_input_count(e), 10);
    mt_expr_free(e);
}

static void expr_rejects_non_finite_constants(void)
{
    T_COMPILE_ERR("CH1+1e999", MT_ERANGE, 4);
    T_COMPILE_ERR("CH1/0", MT_ERANGE, 3);
    T_COMPILE_ERR("CH1/(2-2)", MT_ERANGE, 3);
    T_COMPILE_ERR("CH1+1/0", MT_ERANGE, 5);
    T_COMPILE_ERR("CH1+SQR(-1)", MT_ERANGE, 4);
    T_COMPILE_ERR("CH1+1e200*1e200", MT_ERANGE, 9);
    T_COMPILE_ERR("CH1+SQ(1e200)", MT_ERANGE, 4);
}

static void expr_rejects_over_long_input(void)
{
    size_t n = MT_EXPR_MAX_LEN + 100, i;
    char *src = malloc(n + 1);
    mt_expr *e = NULL;
    mt_error err;
    T_TRUE(src != NULL);
    /* "CH1+CH1+...": valid, only too long */
    for (i = 0; i < n; i++) {
        src[i] = "CH1+"[i % 4];
    }
    src[n] = '\0';
    T_ERR(mt_expr_compile(src, &e, &err), MT_ELIMIT);
    T_EQ_INT(err.pos, MT_EXPR_MAX_LEN);
    T_TRUE(e == NULL);
    /* exactly the cap is fine: 4096 bytes = 1023 x "CH1+" + "CH1 " */
    src[MT_EXPR_MAX_LEN - 1] = ' ';
    src[MT_EXPR_MAX_LEN] = '\0';
    T_OK_E(mt_expr_compile(src, &e, &err), &err);
    mt_expr_free(e);
    free(src);
}

static void expr_caps_nesting_depth_without_recursing_deeply(void)
{
    size_t n = 100000, i;
    char *src = malloc(n + 1);
    mt_expr *e = NULL;
    mt_error err;
    T_TRUE(src != NULL);
    memset(src, '(', n);
    src[n] = '\0';
    T_ERR(mt_expr_compile_n(src, n, &e, &err), MT_ELIMIT); /* over-long first */
    T_ERR(mt_expr_compile_n(src, MT_EXPR_MAX_LEN, &e, &err), MT_ELIMIT);
    T_EQ_INT(err.pos, MT_EXPR_MAX_DEPTH);
    memset(src, '-', MT_EXPR_MAX_LEN);
    T_ERR(mt_expr_compile_n(src, MT_EXPR_MAX_LEN, &e, &err), MT_ELIMIT);
    T_EQ_INT(err.pos, MT_EXPR_MAX_DEPTH);
    for (i = 0; i < MT_EXPR_MAX_LEN / 4; i++) {
        memcpy(src + 4 * i, "SQ((", 4);
    }
    T_ERR(mt_expr_compile_n(src, MT_EXPR_MAX_LEN, &e, &err), MT_ELIMIT);
    T_TRUE(e == NULL);
    /* MT_EXPR_MAX_DEPTH - 1 parentheses around CH1 still compile */
    memset(src, '(', MT_EXPR_MAX_DEPTH - 1);
    memcpy(src + MT_EXPR_MAX_DEPTH - 1, "CH1", 3);
    memset(src + MT_EXPR_MAX_DEPTH + 2, ')', MT_EXPR_MAX_DEPTH - 1);
    T_OK_E(mt_expr_compile_n(src, 2 * MT_EXPR_MAX_DEPTH + 1, &e, &err), &err);
    mt_expr_free(e);
    free(src);
}

static void expr_rejects_too_many_intermediate_values(void)
{
    /* each level keeps two computed values pending: SQ(CH1)+SQ(CH1)*(... */
    char src[MT_EXPR_MAX_LEN];
    size_t off = 0, i;
    mt_expr *e = NULL;
    mt_error err;
    for (i = 0; i < 40; i++) {
        memcpy(src + off, "SQ(CH1)+SQ(CH1)*(", 17);
        off += 17;
    }
    memcpy(src + off, "CH1", 3);
    off += 3;
    memset(src + off, ')', 40);
    off += 40;
    T_ERR(mt_expr_compile_n(src, off, &e, &err), MT_ELIMIT);
    T_TRUE(e == NULL);
    T_TRUE(err.pos > 0 && err.pos < off);
}

static void expr_reports_line_and_column_across_newlines(void)
{
    mt_expr *e = NULL;
    mt_error err;
    T_ERR(mt_expr_compile("CH1 +\n  FOO", &e, &err), MT_ESYNTAX);
    T_EQ_INT(err.pos, 8);
    T_EQ_INT(err.line, 2);
    T_EQ_INT(err.col, 3);
}

static void expr_compile_survives_every_allocation_failure(void)
{
    long nth;
    int completed = 0;
    for (nth = 1; nth < 50 && !completed; nth++) {
        mt_expr *e = (mt_expr *)&nth;
        mt_error err;
        mt_status st;
        mt__fault_fail_nth(nth);
        st = mt_expr_compile("SQR(SQ(CH1)+SQ(CH2))/CH3 + (CH4-CH5)*(CH6-CH7)/(CH8+1)-CH9*CH10"
                             " + -CH1*2 + 3/CH2 - SQ(CH3+CH4*(CH5-CH6)) + CH1*CH2*CH3*CH4*CH5",
                             &e, &err);
        if (mt__fault_fired()) {
            T_EQ_INT(st, MT_ENOMEM);
            T_EQ_INT(err.code, MT_ENOMEM);
            T_TRUE(e == NULL);
        } else {
            T_OK_E(st, &err);
            T_EQ_INT(mt_expr_input_count(e), 10);
            mt_expr_free(e);
            completed = 1;
        }
    }
    mt__fault_fail_nth(0);
    T_TRUE(completed);
    T_TRUE(nth > 3); /* the op array grew at least twice, plus the handle */
}

static void expr_eval_rejects_bad_arguments(void)
{
    mt_expr *e = NULL;
    mt_error err;
    double a[4] = {1, 2, 3, 4}, b[4] = {1, 1, 1, 1}, out[4];
    const double *in[2] = {a, b};
    const double *in_null[2] = {a, NULL};
    T_OK_E(mt_expr_compile("CH1+CH2", &e, &err), &err);
    T_ERR(mt_expr_eval(NULL, in, 4, out, &err), MT_EINVAL);
    T_ERR(mt_expr_eval(e, NULL, 4, out, &err), MT_EINVAL);
    T_ERR(mt_expr_eval(e, in, 4, NULL, &err), MT_EINVAL);
    T_ERR(mt_expr_eval(e, in_null, 4, out, &err), MT_EINVAL);
    T_EQ_INT(err.pos, 1);
    T_ERR(mt_expr_eval(e, in, 4, b, &err), MT_EINVAL); /* out is input 1 */
    T_EQ_INT(err.pos, 1);
    T_ERR(mt_expr_eval(e, in, 4, a + 3, &err), MT_EINVAL); /* partial overlap */
    T_EQ_INT(err.pos, 0);
    T_OK_E(mt_expr_eval(e, in, 0, NULL, &err), &err); /* n == 0: nothing to do */
    T_OK_E(mt_expr_eval(e, NULL, 0, out, &err), &err);
    mt_expr_free(e);
}

/* ---- an independent reference --------------------------------------------
 * The rules of docs/expr.md applied op by op while walking the text itself
 * (trusted test strings: no limits, no error reporting), one sample at a
 * time. The compiled program fuses ops and runs in chunks of vectors; it
 * must give the same bits for every sample. */
typedef struct {
    const char *s;
    size_t i;
    const double *ch; /* value of CHn at ch[n], special inputs already replaced */
    int err;          /* some x/0 or SQR of a negative */
} ref_walk;

static double ref_sum(ref_walk *w);

static void ref_blank(ref_walk *w)
{
    while (w->s[w->i] == ' ') {
        w->i++;
    }
}

static double ref_unary(ref_walk *w)
{
    double v;
    ref_blank(w);
    if (w->s[w->i] == '-') {
        w->i++;
        return -ref_unary(w);
    }
    if (w->s[w->i] == '(') {
        w->i++;
        v = ref_sum(w);
        ref_blank(w);
        w->i++; /* ')' */
        return v;
    }
    if (strncmp(w->s + w->i, "SQR(", 4) == 0 || strncmp(w->s + w->i, "SQ(", 3) == 0) {
        int root = w->s[w->i + 2] == 'R';
        w->i += root ? 4 : 3;
        v = ref_sum(w);
        ref_blank(w);
        w->i++; /* ')' */
        if (!root) {
            return v * v;
        }
        w->err |= v < 0;
        return sqrt(v);
    }
    if (w->s[w->i] == 'C') {
        unsigned n = 0;
        w->i += 2;
        while (w->s[w->i] >= '0' && w->s[w->i] <= '9') {
            n = n * 10 + (unsigned)(w->s[w->i++] - '0');
        }
        return w->ch[n];
    }
    {
        char *end;
        v = strtod(w->s + w->i, &end);
        w->i = (size_t)(end - w->s);
        return v;
    }
}

static double ref_product(ref_walk *w)
{
    double v = ref_unary(w);
    for (;;) {
        char c;
        ref_blank(w);
        c = w->s[w->i];
        if (c != '*' && c != '/') {
            return v;
        }
        w->i++;
        if (c == '*') {
            v = v * ref_unary(w);
        } else {
            double d = ref_unary(w);
            w->err |= d == 0;
            v = v / d;
        }
    }
}

static double ref_sum(ref_walk *w)
{
    double v = ref_product(w);
    for (;;) {
        char c;
        ref_blank(w);
        c = w->s[w->i];
        if (c != '+' && c != '-') {
            return v;
        }
        w->i++;
        v = c == '+' ? v + ref_product(w) : v - ref_product(w);
    }
}

/* The value of "src" for CHn = x[n] (n = 1..MT_EXPR_MAX_CHANNEL). */
static double ref_eval(const char *src, const double *x)
{
    static double ch[MT_EXPR_MAX_CHANNEL + 1];
    static const int rank[MT_SV_COUNT] = {0, 1, 2, 2, 4, 3}; /* BREAK > ERROR > OVER > MISSING */
    unsigned n;
    int used[MT_EXPR_MAX_CHANNEL + 1] = {0}, worst_rank = 0;
    mt_sv worst = MT_SV_NONE, first_over = MT_SV_NONE;
    ref_walk w = {src, 0, ch, 0};
    size_t i;
    double r;
    for (i = 0; src[i]; i++) {
        if (src[i] == 'C') {
            n = (unsigned)strtoul(src + i + 2, NULL, 10);
            used[n] = 1;
        }
    }
    for (n = 1; n <= MT_EXPR_MAX_CHANNEL; n++) {
        mt_sv k = used[n] ? mt_sv_kind(x[n]) : MT_SV_NONE;
        ch[n] = x[n];
        if (k == MT_SV_NONE) {
            continue;
        }
        ch[n] = k == MT_SV_OVER_POS ? HUGE_VAL : k == MT_SV_OVER_NEG ? -HUGE_VAL : nan("");
        if ((k == MT_SV_OVER_POS || k == MT_SV_OVER_NEG) && first_over == MT_SV_NONE) {
            first_over = k;
        }
        if (rank[k] > worst_rank) {
            worst_rank = rank[k];
            worst = k;
        }
    }
    r = ref_sum(&w);
    if (worst == MT_SV_OVER_POS || worst == MT_SV_OVER_NEG) {
        return sv(r == HUGE_VAL ? MT_SV_OVER_POS : r == -HUGE_VAL ? MT_SV_OVER_NEG : first_over);
    }
    if (worst != MT_SV_NONE) {
        return sv(worst);
    }
    if (w.err) {
        return sv(MT_SV_ERROR);
    }
    if (mt_sv_is_number(r)) {
        return r;
    }
    return sv(r == HUGE_VAL ? MT_SV_OVER_POS : r == -HUGE_VAL ? MT_SV_OVER_NEG : MT_SV_ERROR);
}

#define REF_MAX_N 1100
#define REF_CH 10

/* Evaluate "src" over n samples of in[CHn - 1] and compare every sample
 * with the reference; returns 0 when "src" does not compile with MT_ERANGE
 * (a constant that is not finite), 1 otherwise. Fails the test on any
 * difference. */
static int ref_compare(const char *src, double in[REF_CH][REF_MAX_N], size_t n)
{
    static double out[REF_MAX_N];
    double x[MT_EXPR_MAX_CHANNEL + 1];
    const double *ptrs[MT_EXPR_MAX_INPUTS];
    mt_expr *e = NULL;
    mt_error err;
    size_t i, j;
    mt_status st = mt_expr_compile(src, &e, &err);
    if (st == MT_ERANGE || (st == MT_ESYNTAX && !strchr(src, 'C'))) {
        return 0; /* a constant that is not finite; no channel at all */
    }
    if (st != MT_OK) {
        t__fail(__FILE__, __LINE__, "%s: %s at %zu: %s", src, mt_errname(st), err.pos, err.msg);
        return -1;
    }
    for (i = 0; i < mt_expr_input_count(e); i++) {
        ptrs[i] = in[mt_expr_input_channel(e, i) - 1];
    }
    for (i = 0; i < REF_MAX_N; i++) {
        out[i] = -12345.0;
    }
    if (mt_expr_eval(e, ptrs, n, out, &err) != MT_OK) {
        t__fail(__FILE__, __LINE__, "%s: eval failed: %s", src, err.msg);
        mt_expr_free(e);
        return -1;
    }
    mt_expr_free(e);
    if (out[n] != -12345.0) {
        t__fail(__FILE__, __LINE__, "%s: wrote past n = %zu", src, n);
        return -1;
    }
    memset(x, 0, sizeof x);
    for (j = 0; j < n; j++) {
        double want;
        for (i = 0; i < REF_CH; i++) {
            x[i + 1] = in[i][j];
        }
        want = ref_eval(src, x);
        if (memcmp(&want, &out[j], sizeof want) != 0) {
            t__fail(__FILE__, __LINE__,
                    "%s, sample %zu of %zu: got %.17g (kind %d), want %.17g (kind %d)", src, j, n,
                    out[j], (int)mt_sv_kind(out[j]), want, (int)mt_sv_kind(want));
            return -1;
        }
    }
    return 1;
}

static uint64_t ref_rng = 0x9E3779B97F4A7C15ULL;

static unsigned ref_rand(unsigned below)
{
    ref_rng ^= ref_rng << 13;
    ref_rng ^= ref_rng >> 7;
    ref_rng ^= ref_rng << 17;
    return (unsigned)((ref_rng >> 33) % below);
}

/* Inputs: mostly ordinary numbers (signed zeros, tiny, huge, subnormal),
 * and special values or raw infinities/NaNs with probability "pct" %. */
static void ref_fill(double in[REF_CH][REF_MAX_N], unsigned pct)
{
    static const double numbers[] = {0.0, -0.0, 1.0, -1.0, 2.5, 0.7, 2.9, -7.25, 3.0, 1e-300,
                                      1e300, -1e300, 1.7e308, 4.9e-324, 1e-160, 123456.789};
    size_t i, j;
    for (i = 0; i < REF_CH; i++) {
        for (j = 0; j < REF_MAX_N; j++) {
            if (ref_rand(100) < pct) {
                unsigned k = ref_rand(8);
                in[i][j] = k < 5 ? sv((mt_sv)(k + 1)) : k == 5 ? HUGE_VAL : k == 6 ? -HUGE_VAL
                                                                                     : nan("7");
            } else if (ref_rand(4) == 0) {
                in[i][j] = numbers[ref_rand(sizeof numbers / sizeof numbers[0])];
            } else {
                in[i][j] = (double)ref_rand(2001) / 8.0 - 125.0; /* -125 .. 125, exact */
            }
        }
    }
}

/* A random expression over CH1..CH<n_ch> of nesting "depth" at most. */
static void ref_gen(char *buf, size_t cap, size_t *len, int depth, unsigned n_ch)
{
    static const char *consts[] = {"0", "1", "2", "0.5", "3", "7", "1e-300", "1e300", "0.1",
                                   "1e-320"};
    static const char ops[] = "+-*/";
    char piece[16];
    unsigned pick = depth <= 0 ? ref_rand(10) : ref_rand(100);
    if (*len + 40 > cap) {
        pick = 0;
        depth = 0;
    }
    if (depth <= 0 || pick < 25) {
        if (ref_rand(4) == 0) {
            snprintf(piece, sizeof piece, "%s", consts[ref_rand(sizeof consts / sizeof consts[0])]);
        } else {
            snprintf(piece, sizeof piece, "CH%u", 1 + ref_rand(n_ch));
        }
        *len += (size_t)snprintf(buf + *len, cap - *len, "%s", piece);
        return;
    }
    if (pick < 70) {
        int paren = ref_rand(2);
        if (paren) {
            buf[(*len)++] = '(';
        }
        ref_gen(buf, cap, len, depth - 1, n_ch);
        buf[(*len)++] = ops[ref_rand(4)];
        if (ref_rand(6) == 0) {
            buf[(*len)++] = ' ';
        }
        ref_gen(buf, cap, len, depth - 1, n_ch);
        if (paren) {
            buf[(*len)++] = ')';
        }
    } else if (pick < 78) {
        buf[(*len)++] = '-';
        ref_gen(buf, cap, len, depth - 1, n_ch);
    } else {
        const char *fn = pick < 90 ? "SQ(" : "SQR(";
        *len += (size_t)snprintf(buf + *len, cap - *len, "%s", fn);
        ref_gen(buf, cap, len, depth - 1, n_ch);
        buf[(*len)++] = ')';
    }
    buf[*len] = '\0';
}

static double ref_in[REF_CH][REF_MAX_N];

/* Every op shape (+ - * / with no POST, SQ or SQR, as the last op or not, as
 * a divisor or not), with every kind of special value at chunk borders and
 * in the last samples of a call, against the reference. */
static void expr_special_values_through_every_kernel(void)
{
    static const char *shapes[] = {
        "CH1 # CH2",          "SQ(CH1 # CH2)",         "SQR(CH1 # CH2)",
        "(CH1 # CH2)*CH3",    "SQ(CH1 # CH2)+CH3",     "SQR(CH1 # CH2)-CH3",
        "CH3/(CH1 # CH2)",    "CH3/SQ(CH1 # CH2)",     "CH3/SQR(CH1 # CH2)",
        "2 # CH1",            "CH1 # 2",               "-CH1 # -CH2",
        "SQ(CH1) # SQ(CH2)",  "CH1*CH3 # CH2*CH3",     "CH1*0.5 # 3*CH2",
        "-(CH1 # CH2)",       "SQ(CH1*2 # CH2)",       "1/(1/(CH1 # CH2))",
        "CH3/(CH1 # CH2)+1",  "2*(CH3/SQR(CH1 # CH2))", "CH3/(CH1 # CH2)/(CH2+1.5)"};
    static const char ops[] = "+-*/";
    static const size_t at[] = {0, 5, 7, 8, 127, 128, 129, 200, 254, 255, 256, 260, 262};
    char src[64];
    size_t s, o, k, i, j, n = 263;
    for (s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        for (o = 0; o < 4; o++) {
            const char *hole = strchr(shapes[s], '#');
            size_t pre = (size_t)(hole - shapes[s]);
            memcpy(src, shapes[s], pre);
            src[pre] = ops[o];
            strcpy(src + pre + 1, hole + 1);
            for (k = 0; k < 8; k++) { /* MISSING..ERROR, +inf, -inf, a foreign NaN */
                double v = k < 5 ? sv((mt_sv)(k + 1)) : k == 5 ? HUGE_VAL : k == 6 ? -HUGE_VAL
                                                                                    : nan("3");
                for (i = 0; i < 3; i++) {
                    for (j = 0; j < n; j++) {
                        ref_in[i][j] = (double)((j * 7 + i * 3) % 23) - 11.0;
                    }
                }
                /* one input special at each border, another input zero nearby */
                for (j = 0; j < sizeof at / sizeof at[0]; j++) {
                    ref_in[j % 3][at[j]] = v;
                    ref_in[(j + 1) % 3][at[j] > 0 ? at[j] - 1 : 1] = 0.0;
                }
                if (ref_compare(src, ref_in, n) < 0) {
                    return;
                }
                if (ref_compare(src, ref_in, 1 + k) < 0) { /* only the slow path */
                    return;
                }
                /* one special value alone in its chunk, no zero anywhere:
                 * nothing else sends the chunk the slow way */
                for (i = 0; i < 3; i++) {
                    for (j = 0; j < n; j++) {
                        ref_in[i][j] = (double)((j * 7 + i * 3) % 23) + 1.5;
                    }
                }
                ref_in[k % 3][130 + k] = v;
                if (ref_compare(src, ref_in, n) < 0) {
                    return;
                }
            }
        }
    }
}

/* Random expressions of every shape over random inputs, for lengths around
 * the vector width, the chunk and the tail; bit for bit against the
 * reference. */
static void expr_random_expressions_match_the_reference(void)
{
    static const size_t lengths[] = {1, 3, 8, 9, 15, 16, 64, 127, 128, 129, 136, 255, 257, 1000,
                                     1003};
    static const unsigned pct[] = {0, 1, 10, 50};
    char src[600];
    size_t t, compiled = 0;
    ref_rng = 0x9E3779B97F4A7C15ULL;
    for (t = 0; t < 240; t++) {
        size_t len = 0;
        int r;
        if (t % 20 == 0) {
            ref_fill(ref_in, pct[(t / 20) % 4]);
        }
        src[0] = '\0';
        ref_gen(src, sizeof src, &len, 1 + (int)(t % 7), 1 + (unsigned)(t % REF_CH));
        r = ref_compare(src, ref_in, lengths[t % (sizeof lengths / sizeof lengths[0])]);
        if (r < 0) {
            return;
        }
        compiled += (size_t)r;
    }
    T_TRUE(compiled > 150); /* most compile: few constants overflow */
}

/* Many live registers make a short chunk; the result must not change. */
static void expr_long_expressions_match_the_reference(void)
{
    char src[MT_EXPR_MAX_LEN + 1];
    size_t off = 0, i, levels;
    mt_expr *e = NULL;
    mt_error err;
    ref_rng = 12345;
    ref_fill(ref_in, 2);
    /* each level keeps SQ(..)-CHk and a product pending: deep nesting, many
     * registers at once */
    for (levels = 0; levels < 30; levels++) {
        off += (size_t)snprintf(src + off, sizeof src - off, "SQ(CH%zu-CH%zu)+CH%zu*CH%zu/(",
                                1 + levels % 10, 1 + (levels + 3) % 10, 1 + (levels + 5) % 10,
                                1 + (levels + 7) % 10);
    }
    off += (size_t)snprintf(src + off, sizeof src - off, "CH1+2");
    for (i = 0; i < levels; i++) {
        src[off++] = ')';
    }
    src[off] = '\0';
    T_OK_E(mt_expr_compile(src, &e, &err), &err);
    mt_expr_free(e);
    T_EQ_INT(ref_compare(src, ref_in, 1003), 1);
    /* a long flat sum: one register reused */
    off = 0;
    for (i = 0; i < 300; i++) {
        off += (size_t)snprintf(src + off, sizeof src - off, "%sCH%zu*%zu", i ? "-" : "",
                                1 + i % 10, i % 7);
    }
    T_EQ_INT(ref_compare(src, ref_in, 1003), 1);
}

/* Folding SQ, unary minus and constants into factors keeps the IEEE
 * operations and their order: signed zeros and roundings as op by op. */
static void expr_folds_keep_signed_zeros_and_rounding_order(void)
{
    volatile double x = 0.7, y = 2.9;
    T_EVAL("-CH1", -0.0, 0.0);
    T_EVAL("-CH1", 0.0, -0.0);
    T_EVAL("CH1-0", -0.0, -0.0);
    T_EVAL("CH1+0", 0.0, -0.0);
    T_EVAL("0-CH1", 0.0, 0.0);
    T_EVAL("SQR(CH1)", -0.0, -0.0);
    T_EVAL("CH1", -0.0, -0.0);
    T_EVAL("2*-CH1", -0.0, 0.0);
    T_EVAL("-CH1*-CH2", -0.0, 0.0, -0.0); /* (-0)*(+0) */
    T_EVAL("CH1*0", -0.0, -3.0);
    T_EVAL("-SQ(CH1)", -0.0, 0.0);
    /* (x*3)*7 is not x*21: the factor keeps one constant only */
    T_TRUE((x * 3) * 7 != x * 21);
    T_EVAL("CH1*3*7", (x * 3) * 7, x);
    T_EVAL("3*CH1*7", (x * 3) * 7, x);
    T_EVAL("-CH1*3*7", (-x * 3) * 7, x);
    T_EVAL("7*(CH1*3)", (x * 3) * 7, x);
    T_EVAL("7*(3*CH1)", (x * 3) * 7, x);
    T_EVAL("CH1*0.1*0.1", (x * 0.1) * 0.1, x);
    T_TRUE((y * y) * 3 != y * (y * 3));
    T_EVAL("SQ(CH1)*3", (y * y) * 3, y);
    T_EVAL("3*SQ(CH1)", (y * y) * 3, y);
    T_EVAL("CH1*(CH1*3)", y * (y * 3), y);
    T_EVAL("CH1*CH1*3", (y * y) * 3, y);
    T_EVAL("SQ(CH1*3)", (y * 3) * (y * 3), y);
    T_EVAL("SQ(-CH1)", y * y, y);
    T_EVAL("SQR(SQ(CH1)+SQ(CH2))", sqrt(x * x + y * y), x, y);
    T_EVAL("SQ(CH1-CH2)", (x - y) * (x - y), x, y);
    /* a scaling after an op, and x/c as x*(1/c) only where that is exact */
    T_EVAL("(CH1+CH2)/2", -0.0, -0.0, -0.0);
    T_EVAL("-(CH1+CH2)", -0.0, 0.0, 0.0);
    T_EVAL("-(CH1-CH2)*3", -((x - y) * 3), x, y);
    T_TRUE(((x - 0.0) * 3) * 7 != (x - 0.0) * 21);
    T_EVAL("(CH1-CH2)*3*7", ((x - 0.0) * 3) * 7, x, 0.0);
    T_EVAL("7*((CH1-CH2)*3)", ((x - 0.0) * 3) * 7, x, 0.0);
    T_EVAL("SQ(-(CH1+CH2))", (x + y) * (x + y), x, y);
    T_EVAL("SQR((CH1+CH2)*2)", sqrt((x + y) * 2), x, y);
    T_EVAL("SQ(CH1+CH2)*0.5", ((x + y) * (x + y)) * 0.5, x, y);
    T_EVAL("(CH1+CH2)/0.25", (x + y) / 0.25, x, y);
    T_TRUE(y / 3 != y * (1.0 / 3));
    T_EVAL("CH1/3", y / 3, y);
    T_EVAL("(CH1+CH2)/3", (x + y) / 3, x, y);
    T_EVAL("CH1/1e-300", x / 1e-300, x);
    T_EVAL_SV("CH1/4.9e-324", MT_SV_OVER_POS, 1.0);
    T_EVAL("CH1/4.9e-324", 1e-320 / 4.9e-324, 1e-320);
}

/* ---- values ---- */

static void expr_channels_are_sorted_and_case_insensitive(void)
{
    mt_expr *e = NULL;
    mt_error err;
    T_OK_E(mt_expr_compile("ch7 - Ch2 * cH7 + CH999", &e, &err), &err);
    T_EQ_INT(mt_expr_input_count(e), 3);
    T_EQ_INT(mt_expr_input_channel(e, 0), 2);
    T_EQ_INT(mt_expr_input_channel(e, 1), 7);
    T_EQ_INT(mt_expr_input_channel(e, 2), 999);
    T_EQ_INT(mt_expr_input_channel(e, 3), 0);
    mt_expr_free(e);
    /* inputs in channel order: CH2 = 3, CH7 = 10, CH999 = 0.5 */
    T_EVAL("ch7 - Ch2 * cH7 + CH999", 10 - 3 * 10 + 0.5, 3, 10, 0.5);
    T_EVAL("sq(ch1) + sqr(CH2)", 9 + 4, 3, 16);
}

static void expr_evaluates_each_operator(void)
{
    T_EVAL("CH1", 2.5, 2.5);
    T_EVAL("CH1+CH2", 5.5, 2.5, 3);
    T_EVAL("CH1-CH2", -0.5, 2.5, 3);
    T_EVAL("CH1*CH2", 7.5, 2.5, 3);
    T_EVAL("CH1/CH2", 0.75, 3, 4);
    T_EVAL("-CH1", -2.5, 2.5);
    T_EVAL("SQ(CH1)", 6.25, 2.5);
    T_EVAL("SQ(CH1)", 6.25, -2.5);
    T_EVAL("SQR(CH1)", 1.5, 2.25);
    T_EVAL("SQR(CH1)", 0.0, 0.0);
    T_EVAL("CH1*CH1", 16, -4);
    /* constant operands on either side */
    T_EVAL("CH1+2", 3, 1);
    T_EVAL("2+CH1", 3, 1);
    T_EVAL("CH1-2", -1, 1);
    T_EVAL("2-CH1", 1, 1);
    T_EVAL("CH1*3", 12, 4);
    T_EVAL("3*CH1", 12, 4);
    T_EVAL("CH1/4", 0.25, 1);
    T_EVAL("4/CH1", 0.5, 8);
}

static void expr_reads_numbers(void)
{
    T_EVAL("CH1*1.5e-3", 1.5e-3, 1);
    T_EVAL("CH1*.5", 0.5, 1);
    T_EVAL("CH1*5.", 5, 1);
    T_EVAL("CH1*2E2", 200, 1);
    T_EVAL("CH1*2e+2", 200, 1);
    T_EVAL("CH1*0.1", 0.1, 1);
    T_EVAL("CH1+1e-400", 1, 1); /* underflows to 0: a finite number */
}

static void expr_follows_precedence_and_associativity(void)
{
    T_EVAL("CH1-CH2-CH3", 1.0 - 2 - 3, 1, 2, 3);
    T_EVAL("CH1/CH2/CH3", 0.125, 1, 2, 4);
    T_EVAL("CH1-(CH2-CH3)", 2, 1, 2, 3);
    T_EVAL("CH1+CH2*CH3", 1 + 2 * 3, 1, 2, 3);
    T_EVAL("(CH1+CH2)*CH3", 9, 1, 2, 3);
    T_EVAL("CH1*CH2+CH3", 5, 1, 2, 3);
    T_EVAL("CH1-CH2/CH3", 1 - 2.0 / 4, 1, 2, 4);
    T_EVAL("2*-CH1", -6, 3);
    T_EVAL("-CH1*2", -6, 3);
    T_EVAL("--CH1", 3, 3);
    T_EVAL("1--CH1", 4, 3);
    T_EVAL("-SQ(CH1)", -9, 3);
    T_EVAL("SQ(-CH1)", 9, 3);
    T_EVAL("1-2-3+CH1", -4 + 10, 10);
    T_EVAL("CH1 - 8/4/2", 9, 10); /* constants fold left to right: 8/4/2 = 1 */
    T_EVAL("  SQR ( SQ(CH1) + SQ(CH2) ) / CH3 ", 2.5, 3, 4, 2);
    T_EVAL("\tCH1\r\n*\n2", 4, 2);
}

static void expr_evaluates_ten_inputs(void)
{
    T_EVAL("CH1+2*CH2+3*CH3+4*CH4+5*CH5+6*CH6+7*CH7+8*CH8+9*CH9+10*CH10",
           1 + 2 * 2 + 3 * 3 + 4 * 4 + 5 * 5 + 6 * 6 + 7 * 7 + 8 * 8 + 9 * 9 + 10 * 10,
           1, 2, 3, 4, 5, 6, 7, 8, 9, 10);
    /* channel numbers need not be contiguous; inputs follow their order */
    T_EVAL("CH900-CH10*CH20+CH5", 7 - 2 * 3 + 100, 100, 2, 3, 7);
}

static void expr_special_inputs_make_special_outputs(void)
{
    T_EVAL_SV("CH1+CH2", MT_SV_MISSING, sv(MT_SV_MISSING), 1);
    T_EVAL_SV("CH1*0", MT_SV_OVER_POS, sv(MT_SV_OVER_POS));
    T_EVAL_SV("CH1*0", MT_SV_OVER_NEG, sv(MT_SV_OVER_NEG));
    T_EVAL_SV("CH1*0", MT_SV_MISSING, sv(MT_SV_MISSING));
    T_EVAL_SV("0*CH1+CH2", MT_SV_BREAK, 1, sv(MT_SV_BREAK));
    T_EVAL_SV("CH1", MT_SV_ERROR, sv(MT_SV_ERROR));
    /* precedence BREAK > ERROR > OVER > MISSING, whatever the order */
    T_EVAL_SV("CH1+CH2+CH3", MT_SV_BREAK, sv(MT_SV_MISSING), sv(MT_SV_BREAK), sv(MT_SV_ERROR));
    T_EVAL_SV("CH1+CH2+CH3", MT_SV_ERROR, sv(MT_SV_ERROR), sv(MT_SV_OVER_POS),
              sv(MT_SV_MISSING));
    T_EVAL_SV("CH1+CH2", MT_SV_OVER_NEG, sv(MT_SV_MISSING), sv(MT_SV_OVER_NEG));
    T_EVAL_SV("CH1+CH2", MT_SV_OVER_POS, sv(MT_SV_OVER_POS), sv(MT_SV_MISSING));
    /* direction of OVER: the sign of the result with +-inf for the input */
    T_EVAL_SV("-CH1", MT_SV_OVER_NEG, sv(MT_SV_OVER_POS));
    T_EVAL_SV("2-CH1", MT_SV_OVER_POS, sv(MT_SV_OVER_NEG));
    T_EVAL_SV("SQ(CH1)", MT_SV_OVER_POS, sv(MT_SV_OVER_NEG));
    T_EVAL_SV("CH1/CH2", MT_SV_OVER_NEG, sv(MT_SV_OVER_POS), -2);
    /* undetermined direction: the kind of the lowest-numbered over input */
    T_EVAL_SV("CH1-CH2", MT_SV_OVER_NEG, sv(MT_SV_OVER_NEG), sv(MT_SV_OVER_NEG));
    T_EVAL_SV("1/CH1", MT_SV_OVER_POS, sv(MT_SV_OVER_POS));
    T_EVAL_SV("SQR(CH1)", MT_SV_OVER_NEG, sv(MT_SV_OVER_NEG));
    /* raw infinities and NaNs from outside are classified by mt_sv_kind() */
    T_EVAL_SV("CH1+1", MT_SV_OVER_POS, HUGE_VAL);
    T_EVAL_SV("CH1+1", MT_SV_ERROR, nan(""));
    /* an input divisor that is special: x/inf would be 0 in IEEE */
    T_EVAL_SV("CH1/CH2", MT_SV_OVER_POS, 1, sv(MT_SV_OVER_POS));
    T_EVAL_SV("CH1/CH2", MT_SV_MISSING, 1, sv(MT_SV_MISSING));
}

static void expr_arithmetic_errors_are_special(void)
{
    T_EVAL_SV("CH1/CH2", MT_SV_ERROR, 1, 0);
    T_EVAL_SV("CH1/CH2", MT_SV_ERROR, 0, 0);
    T_EVAL_SV("CH1/CH2", MT_SV_ERROR, 1, -0.0);
    T_EVAL_SV("3/CH1", MT_SV_ERROR, 0);
    T_EVAL_SV("SQR(CH1)", MT_SV_ERROR, -1e-300);
    T_EVAL_SV("SQR(CH1-CH2)", MT_SV_ERROR, 1, 2);
    /* x/0 hidden behind a further division is still an error */
    T_EVAL_SV("1/(1/(CH1-CH2))", MT_SV_ERROR, 2, 2);
    T_EVAL_SV("CH1/(CH2-CH2)*0", MT_SV_ERROR, 2, 2);
    /* overflow */
    T_EVAL_SV("CH1*CH2", MT_SV_OVER_POS, 1e200, 1e200);
    T_EVAL_SV("CH1*CH2", MT_SV_OVER_NEG, -1e200, 1e200);
    T_EVAL_SV("SQ(CH1)", MT_SV_OVER_POS, -1e300);
    T_EVAL_SV("CH1/1e-300", MT_SV_OVER_NEG, -1e10);
    T_EVAL_SV("CH1+CH1", MT_SV_OVER_POS, 1.7e308);
    /* overflowed intermediates without a defined result */
    T_EVAL_SV("SQ(CH1)-SQ(CH1)", MT_SV_ERROR, 1e200);
    /* an overflowed intermediate in a divisor gives its IEEE limit */
    T_EVAL("1/SQ(CH1)", 0.0, 1e200);
    T_EVAL("SQR(SQ(CH1)) - CH1", 0.0, 3.0);
}

/* The chunked fast path and the per-sample path agree across chunk borders,
 * for n not a multiple of the chunk, with special values anywhere. */
static void expr_eval_blocks_match_per_sample_values(void)
{
    enum { N = 2000 };
    static double a[N], b[N], c[N], out[N], one[1];
    const double *in[3] = {a, b, c};
    const char *srcs[] = {"SQR(SQ(CH1)+SQ(CH2))/CH3", "(CH1-CH2)/(CH3-1)+1/(1/CH1)",
                          "CH1", "-CH2*2+CH3/CH1"};
    size_t s, i, n_sizes[] = {1, 7, 511, 512, 513, 1023, 1999, N};
    for (i = 0; i < N; i++) {
        a[i] = (double)(i % 17) - 3;
        b[i] = (double)(i % 5) * 0.5;
        c[i] = (double)(i % 11) - 1;
        if (i % 97 == 5) {
            a[i] = sv(MT_SV_MISSING);
        }
        if (i % 131 == 7) {
            b[i] = sv(MT_SV_OVER_NEG);
        }
        if (i % 389 == 1) {
            c[i] = sv(MT_SV_BREAK);
        }
    }
    for (s = 0; s < sizeof srcs / sizeof srcs[0]; s++) {
        mt_expr *e = NULL;
        mt_error err;
        size_t k;
        T_OK_E(mt_expr_compile(srcs[s], &e, &err), &err);
        T_EQ_INT(mt_expr_input_count(e), s == 2 ? 1 : 3);
        for (k = 0; k < sizeof n_sizes / sizeof n_sizes[0]; k++) {
            size_t n = n_sizes[k];
            for (i = 0; i < N; i++) {
                out[i] = -12345.0;
            }
            T_OK_E(mt_expr_eval(e, in, n, out, &err), &err);
            T_SAME_DOUBLE(out[n == N ? N - 1 : n], n == N ? out[N - 1] : -12345.0);
            for (i = 0; i < n; i += 1 + (n > 600) * 3) {
                const double *in1[3] = {a + i, b + i, c + i};
                T_OK_E(mt_expr_eval(e, in1, 1, one, &err), &err);
                T_SAME_DOUBLE(out[i], one[0]);
                T_TRUE(mt_sv_is_number(out[i]) ||
                       memcmp(&out[i], &(double){sv(mt_sv_kind(out[i]))}, 8) == 0);
            }
        }
        mt_expr_free(e);
    }
}

static void expr_golden_values_over_a_block(void)
{
    /* SQR(SQ(CH1)+SQ(CH2))/CH3 worked by hand, with every special rule */
    const double a[] = {3, 5, 0, 8, sv(MT_SV_MISSING), 1, 3, 1e200, 3};
    const double b[] = {4, 12, 0, 6, 1, sv(MT_SV_BREAK), 4, 1e200, sv(MT_SV_OVER_POS)};
    const double c[] = {2, 13, 5, -5, 1, 1, 0, 1, 1};
    const double *in[3] = {a, b, c};
    double out[9];
    mt_expr *e = NULL;
    mt_error err;
    T_OK_E(mt_expr_compile("SQR(SQ(CH1)+SQ(CH2))/CH3", &e, &err), &err);
    T_OK_E(mt_expr_eval(e, in, 9, out, &err), &err);
    T_SAME_DOUBLE(out[0], 2.5);
    T_SAME_DOUBLE(out[1], 1.0);
    T_SAME_DOUBLE(out[2], 0.0);
    T_SAME_DOUBLE(out[3], -2.0);
    T_SAME_DOUBLE(out[4], sv(MT_SV_MISSING));
    T_SAME_DOUBLE(out[5], sv(MT_SV_BREAK));
    T_SAME_DOUBLE(out[6], sv(MT_SV_ERROR));
    T_SAME_DOUBLE(out[7], sv(MT_SV_OVER_POS));
    T_SAME_DOUBLE(out[8], sv(MT_SV_OVER_POS));
    mt_expr_free(e);
}

void suite_expr(void)
{
    T_RUN(expr_rejects_empty_input);
    T_RUN(expr_rejects_null_arguments);
    T_RUN(expr_rejects_unknown_names_at_their_position);
    T_RUN(expr_rejects_unbalanced_paren);
    T_RUN(expr_rejects_missing_operand);
    T_RUN(expr_rejects_unexpected_tokens);
    T_RUN(expr_rejects_embedded_nul);
    T_RUN(expr_requires_one_to_ten_channels);
    T_RUN(expr_rejects_non_finite_constants);
    T_RUN(expr_rejects_over_long_input);
    T_RUN(expr_caps_nesting_depth_without_recursing_deeply);
    T_RUN(expr_rejects_too_many_intermediate_values);
    T_RUN(expr_reports_line_and_column_across_newlines);
    T_RUN(expr_compile_survives_every_allocation_failure);
    T_RUN(expr_eval_rejects_bad_arguments);
    T_RUN(expr_channels_are_sorted_and_case_insensitive);
    T_RUN(expr_evaluates_each_operator);
    T_RUN(expr_reads_numbers);
    T_RUN(expr_follows_precedence_and_associativity);
    T_RUN(expr_evaluates_ten_inputs);
    T_RUN(expr_special_inputs_make_special_outputs);
    T_RUN(expr_arithmetic_errors_are_special);
    T_RUN(expr_eval_blocks_match_per_sample_values);
    T_RUN(expr_golden_values_over_a_block);
    T_RUN(expr_folds_keep_signed_zeros_and_rounding_order);
    T_RUN(expr_special_values_through_every_kernel);
    T_RUN(expr_random_expressions_match_the_reference);
    T_RUN(expr_long_expressions_match_the_reference);
}
