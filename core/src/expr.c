/* Computed channels: a recursive-descent compiler to a short program of
 * fused array kernels, and a chunked evaluator.
 *
 * Every op of the program has one shape,
 *
 *     d[i] = POST( (x[i]*m[i]*kx)  OP  (y[i]*n[i]*ky) ) * kz
 *
 * with OP one of + - * /, POST none, SQ or SQR, x, m, y, n arrays (inputs,
 * registers, or a chunk of ones) and kx, ky, kz constants. The compiler
 * folds SQ, unary minus, products and constants into the factors, SQ/SQR
 * into POST and a final scaling into kz, so SQR(SQ(CH1)+SQ(CH2))/CH3 is two
 * ops instead of five and (CH1+CH2)/2 one. Each fold keeps the IEEE
 * operations and their order exactly (a factor of 1, a product with 1 and a
 * sum with -0 are exact, a negation is a sign flip, and x/c == x*(1/c) when
 * c is a power of two whose reciprocal is a normal number), so results are
 * bit for bit those of the expression evaluated op by op.
 *
 * Evaluation runs in chunks of up to CHUNK_MAX samples (a multiple of 8).
 * Each op is one call of a branch-free loop over the chunk, which gcc and
 * clang vectorise (SSE2, wasm simd128); fewer, fuller loops let the cheap
 * multiplications and additions run while the divider works on SQR and /.
 * Special values are handled apart: the last op and every division also sum
 * r*0 (and divisor*0) in 8 lanes, which is NaN only when some value is not
 * finite; only then are the affected samples recomputed one by one with the
 * special-value rules of mt/expr.h (eval_one). Inputs need no pass of their
 * own: IEEE arithmetic keeps any non-finite value (a special input, x/0,
 * SQR(-1), an overflow) non-finite through + - * SQ SQR and through a
 * dividend, up to the output; only a divisor can hide one (x/inf == 0), so
 * every divisor is checked in its division. When every divisor was finite,
 * the samples recomputed are those whose result is not finite. Otherwise a
 * non-finite divisor computed from a register sends the whole chunk the
 * slow way, and one computed from inputs alone the samples with a
 * non-finite input or result. The last len % 8 samples of a call go the
 * slow way too (they are at most 7).
 *
 * Needs IEEE semantics and no contraction into fused multiply-adds: never
 * build core with -ffast-math; CMakeLists.txt sets -ffp-contract=off. */
#include "mt/expr.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc_int.h"
#include "mt/types.h"

/* "Intermediate values" of the documented limit: what an op-by-op program
 * would hold at once. The fused program may keep up to 4 registers per such
 * value alive (a pending (x*m) OP (y*n) of four registers), plus the one
 * being written. */
#define MAX_REGS 64
#define MAX_PHYS (4 * MAX_REGS + 4)
#define SLOT_ONE MT_EXPR_MAX_INPUTS          /* a chunk of 1.0 */
#define SLOT_REG0 (SLOT_ONE + 1)             /* registers */
#define SLOT_OUT (SLOT_REG0 + MAX_PHYS)      /* the caller's output */
#define N_SLOTS (SLOT_OUT + 1)
#define SCRATCH 4096 /* doubles of register space on the stack (32 KiB) */
#define CHUNK_MAX 128
#define NUM_MAX 64 /* longest number literal */

typedef enum { OP_ADD, OP_SUB, OP_MUL, OP_DIV } opcode;
typedef enum { POST_NONE, POST_SQ, POST_SQRT } postop;
typedef enum { U_NEG, U_SQ, U_SQRT } unop;

/* One operand of an op: x[i] * m[i] * k. A bare array is (x, ONE, 1), a
 * constant (ONE, ONE, k). */
typedef struct {
    uint16_t x, m;
    double k;
} factor;

typedef int (*kernel_fn)(double *restrict d, const double *restrict x, const double *restrict m,
                         double kx, const double *restrict y, const double *restrict n, double ky,
                         double kz, size_t len);

/* What a kernel's checks found (bits of its return value). */
#define BAD_OUT 1     /* a result that is not finite */
#define BAD_DIVISOR 2 /* a divisor that is not finite */

typedef struct {
    kernel_fn run;
    uint8_t code, post;
    uint16_t dst;
    factor a, b;
    double kz;
} op;

struct mt_expr {
    size_t n_inputs;
    unsigned channels[MT_EXPR_MAX_INPUTS];
    size_t n_regs;
    size_t chunk;        /* samples per chunk: fits n_regs registers and the ones */
    int has_reg_divisor; /* some op divides by a value computed from a register */
    size_t n_ops;
    op ops[];
};

/* ---- parser ------------------------------------------------------------ */

typedef enum { TK_END, TK_NUM, TK_CH, TK_SQ, TK_SQR, TK_LP, TK_RP, TK_OP } token_kind;

typedef struct {
    /* bounded cursor over the source */
    const char *src;
    size_t len, off;
    /* current token */
    token_kind tok;
    size_t tok_pos, tok_len;
    char tok_op;
    double num;
    unsigned ch;
    /* state */
    int depth;
    op *ops;
    size_t n_ops, cap_ops;
    unsigned chans[MT_EXPR_MAX_INPUTS]; /* in order of appearance */
    size_t n_chans;
    size_t n_values;                    /* intermediate values alive (the limit) */
    uint64_t reg_busy[(MAX_PHYS + 63) / 64];
    size_t n_regs;
    int has_reg_divisor;
    mt_error *err;
} parser;

/* A parsed operand, not yet written anywhere unless it had to be: a folded
 * constant, a factor, or an op waiting to learn whether SQ/SQR follows. */
typedef enum { V_CONST, V_FACTOR, V_PENDING } val_kind;

typedef struct {
    val_kind kind;
    int counted; /* one of the intermediate values of the limit */
    double k;    /* V_CONST */
    factor a, b; /* V_FACTOR: a; V_PENDING: post(a code b) * kz */
    opcode code;
    postop post;
    double kz;
} val;

static mt_status fail(parser *p, mt_status code, size_t pos, const char *msg, const char *what)
{
    size_t line = 1, col = 1, i;
    for (i = 0; i < pos && i < p->len; i++) {
        if (p->src[i] == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    return mt_fail_at(p->err, code, pos, line, col, "%s%s", msg, what ? what : "");
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}
static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}
static int is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
static char upper(char c)
{
    return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
}

/* A quoted excerpt of the current token for messages: " 'FOO'". */
static const char *tok_text(const parser *p, char *buf, size_t cap)
{
    size_t n = p->tok_len < cap - 4 ? p->tok_len : cap - 4, i;
    buf[0] = '\'';
    for (i = 0; i < n; i++) {
        char c = p->src[p->tok_pos + i];
        buf[1 + i] = (c >= 0x20 && c < 0x7f) ? c : '?';
    }
    buf[1 + n] = '\'';
    buf[2 + n] = '\0';
    return buf;
}

static mt_status scan_number(parser *p)
{
    char buf[NUM_MAX + 1];
    char *end = NULL;
    size_t start = p->off, n_int = 0, n_frac = 0;
    while (p->off < p->len && is_digit(p->src[p->off])) {
        p->off++;
        n_int++;
    }
    if (p->off < p->len && p->src[p->off] == '.') {
        p->off++;
        while (p->off < p->len && is_digit(p->src[p->off])) {
            p->off++;
            n_frac++;
        }
    }
    if (n_int + n_frac == 0) {
        return fail(p, MT_ESYNTAX, start, "a number needs digits", NULL);
    }
    if (p->off < p->len && (p->src[p->off] == 'e' || p->src[p->off] == 'E')) {
        size_t n_exp = 0;
        p->off++;
        if (p->off < p->len && (p->src[p->off] == '+' || p->src[p->off] == '-')) {
            p->off++;
        }
        while (p->off < p->len && is_digit(p->src[p->off])) {
            p->off++;
            n_exp++;
        }
        if (n_exp == 0) {
            return fail(p, MT_ESYNTAX, p->off, "exponent needs digits", NULL);
        }
    }
    if (p->off < p->len && (is_alpha(p->src[p->off]) || p->src[p->off] == '.')) {
        return fail(p, MT_ESYNTAX, p->off, "unexpected character after number", NULL);
    }
    p->tok_len = p->off - start;
    if (p->tok_len > NUM_MAX) {
        return fail(p, MT_ELIMIT, start, "number literal too long", NULL);
    }
    memcpy(buf, p->src + start, p->tok_len);
    buf[p->tok_len] = '\0';
    p->num = strtod(buf, &end);
    if (end != buf + p->tok_len) {
        return fail(p, MT_ESYNTAX, start, "cannot read number (locale?)", NULL);
    }
    if (!mt_sv_is_number(p->num)) {
        return fail(p, MT_ERANGE, start, "number too large", NULL);
    }
    p->tok = TK_NUM;
    return MT_OK;
}

static mt_status scan_name(parser *p)
{
    char shown[40];
    const char *s;
    size_t start = p->off, n;
    while (p->off < p->len && (is_alpha(p->src[p->off]) || is_digit(p->src[p->off]))) {
        p->off++;
    }
    p->tok_len = n = p->off - start;
    s = p->src + start;
    if (n == 2 && upper(s[0]) == 'S' && upper(s[1]) == 'Q') {
        p->tok = TK_SQ;
        return MT_OK;
    }
    if (n == 3 && upper(s[0]) == 'S' && upper(s[1]) == 'Q' && upper(s[2]) == 'R') {
        p->tok = TK_SQR;
        return MT_OK;
    }
    if (n >= 3 && upper(s[0]) == 'C' && upper(s[1]) == 'H' && is_digit(s[2])) {
        size_t i;
        unsigned ch = 0;
        for (i = 2; i < n && is_digit(s[i]); i++) {
            if (ch <= MT_EXPR_MAX_CHANNEL) {
                ch = ch * 10 + (unsigned)(s[i] - '0');
            }
        }
        if (i == n) {
            if (s[2] == '0' || ch > MT_EXPR_MAX_CHANNEL) {
                return fail(p, MT_ESYNTAX, start, "channel must be CH1..CH999: ",
                            tok_text(p, shown, sizeof shown));
            }
            p->tok = TK_CH;
            p->ch = ch;
            return MT_OK;
        }
    }
    return fail(p, MT_ESYNTAX, start, "unknown name ", tok_text(p, shown, sizeof shown));
}

/* Read the next token into p->tok. */
static mt_status next(parser *p)
{
    char c;
    while (p->off < p->len && is_space(p->src[p->off])) {
        p->off++;
    }
    p->tok_pos = p->off;
    p->tok_len = 1;
    if (p->off >= p->len) {
        p->tok = TK_END;
        p->tok_len = 0;
        return MT_OK;
    }
    c = p->src[p->off];
    if (is_digit(c) || c == '.') {
        return scan_number(p);
    }
    if (is_alpha(c)) {
        return scan_name(p);
    }
    p->off++;
    switch (c) {
    case '(':
        p->tok = TK_LP;
        return MT_OK;
    case ')':
        p->tok = TK_RP;
        return MT_OK;
    case '+':
    case '-':
    case '*':
    case '/':
        p->tok = TK_OP;
        p->tok_op = c;
        return MT_OK;
    default:
        break;
    }
    if (c >= 0x20 && c < 0x7f) {
        char shown[4] = {'\'', c, '\'', '\0'};
        return fail(p, MT_ESYNTAX, p->tok_pos, "unexpected character ", shown);
    }
    return fail(p, MT_ESYNTAX, p->tok_pos, "unexpected byte (only ASCII is allowed)", NULL);
}

static int is_reg(unsigned slot)
{
    return slot >= SLOT_REG0 && slot < SLOT_OUT;
}

static int factor_has_reg(factor f)
{
    return is_reg(f.x) || is_reg(f.m);
}

static factor factor_of(unsigned x, unsigned m, double k)
{
    factor f;
    f.x = (uint16_t)x;
    f.m = (uint16_t)m;
    f.k = k;
    return f;
}

/* The value of "f" as a bare array or its negation: x * 1 * (+-1). */
static int is_signed_array(factor f)
{
    return f.m == SLOT_ONE && f.x != SLOT_ONE && (f.k == 1.0 || f.k == -1.0);
}

/* Count one more intermediate value for the limit, as an op-by-op program
 * would take a register for the result before releasing its operands. */
static mt_status count_value(parser *p, size_t pos)
{
    if (p->n_values == MAX_REGS) {
        return fail(p, MT_ELIMIT, pos, "expression too complex (too many intermediate values)",
                    NULL);
    }
    p->n_values++;
    return MT_OK;
}

static void uncount(parser *p, const val *v)
{
    if (v->counted) {
        p->n_values--;
    }
}

/* A free register for an op's result. Taken before the operands are
 * released, so that a destination never aliases a source (the kernels use
 * restrict). */
static mt_status take_reg(parser *p, size_t pos, unsigned *slot)
{
    unsigned r;
    for (r = 0; r < MAX_PHYS; r++) {
        if (!(p->reg_busy[r / 64] & ((uint64_t)1 << (r % 64)))) {
            p->reg_busy[r / 64] |= (uint64_t)1 << (r % 64);
            if (r + 1 > p->n_regs) {
                p->n_regs = r + 1;
            }
            *slot = SLOT_REG0 + r;
            return MT_OK;
        }
    }
    /* not reached: at most 4 per counted value plus one are ever alive */
    return fail(p, MT_ELIMIT, pos, "expression too complex (too many intermediate values)",
                NULL);
}

static void release_slot(parser *p, unsigned slot)
{
    if (is_reg(slot)) {
        unsigned r = slot - SLOT_REG0;
        p->reg_busy[r / 64] &= ~((uint64_t)1 << (r % 64));
    }
}

static void release_factor(parser *p, factor f)
{
    release_slot(p, f.x);
    release_slot(p, f.m);
}

static mt_status emit(parser *p, opcode code, postop post, unsigned dst, factor a, factor b,
                      double kz, size_t pos)
{
    op *o;
    if (p->n_ops == p->cap_ops) {
        size_t cap = p->cap_ops ? p->cap_ops * 2 : 16;
        op *ops = mt__realloc(p->ops, cap * sizeof *ops);
        if (!ops) {
            return fail(p, MT_ENOMEM, pos, "out of memory", NULL);
        }
        p->ops = ops;
        p->cap_ops = cap;
    }
    o = &p->ops[p->n_ops++];
    o->run = NULL; /* chosen when the program is complete */
    o->code = (uint8_t)code;
    o->post = (uint8_t)post;
    o->dst = (uint16_t)dst;
    o->a = a;
    o->b = b;
    o->kz = kz;
    if (code == OP_DIV && factor_has_reg(b)) {
        p->has_reg_divisor = 1;
    }
    return MT_OK;
}

/* Write "v" (a factor or a pending op) to slot "dst", or to a new register
 * when dst is 0; *slot is where it went. */
static mt_status materialize(parser *p, const val *v, unsigned dst, size_t pos, unsigned *slot)
{
    mt_status st;
    /* x + (-0) == x for every x, -0 included */
    const factor minus_zero = factor_of(SLOT_ONE, SLOT_ONE, -0.0);
    if (dst == 0 && (st = take_reg(p, pos, &dst)) != MT_OK) {
        return st;
    }
    release_factor(p, v->a);
    if (v->kind == V_PENDING) {
        release_factor(p, v->b);
        st = emit(p, v->code, v->post, dst, v->a, v->b, v->kz, pos);
    } else {
        st = emit(p, OP_ADD, POST_NONE, dst, v->a, minus_zero, 1.0, pos);
    }
    *slot = dst;
    return st;
}

/* "v" as a factor of a further op: a pending op is written to a register. */
static mt_status as_factor(parser *p, const val *v, size_t pos, factor *f)
{
    mt_status st;
    unsigned r;
    switch (v->kind) {
    case V_CONST:
        *f = factor_of(SLOT_ONE, SLOT_ONE, v->k);
        return MT_OK;
    case V_FACTOR:
        *f = v->a;
        return MT_OK;
    default:
        if ((st = materialize(p, v, 0, pos, &r)) != MT_OK) {
            return st;
        }
        *f = factor_of(r, SLOT_ONE, 1.0);
        return MT_OK;
    }
}

static void set_factor(val *out, factor f)
{
    out->kind = V_FACTOR;
    out->counted = 1;
    out->a = f;
}

static void set_pending(val *out, opcode code, factor a, factor b, postop post)
{
    out->kind = V_PENDING;
    out->counted = 1;
    out->a = a;
    out->b = b;
    out->code = code;
    out->post = post;
    out->kz = 1.0;
}

static mt_status const_result(parser *p, double k, size_t pos, val *out)
{
    if (!mt_sv_is_number(k)) {
        return fail(p, MT_ERANGE, pos, "constant expression is not a finite number", NULL);
    }
    out->kind = V_CONST;
    out->counted = 0;
    out->k = k;
    return MT_OK;
}

/* Fold unary "code" on "a" into a constant, a factor or a pending op's
 * POST; "pos" is the operator's position. */
static mt_status unary(parser *p, unop code, val a, size_t pos, val *out)
{
    mt_status st;
    factor f;
    if (a.kind == V_CONST) {
        switch (code) {
        case U_NEG:
            return const_result(p, -a.k, pos, out);
        case U_SQ:
            return const_result(p, a.k * a.k, pos, out);
        default:
            if (a.k < 0) {
                return fail(p, MT_ERANGE, pos, "SQR of a negative constant", NULL);
            }
            return const_result(p, sqrt(a.k), pos, out);
        }
    }
    if ((st = count_value(p, pos)) != MT_OK) {
        return st;
    }
    uncount(p, &a);
    if (a.kind == V_PENDING && code == U_NEG) {
        /* -(v*kz) == v*(-kz) */
        *out = a;
        out->counted = 1;
        out->kz = -a.kz;
        return MT_OK;
    }
    if (a.kind == V_PENDING && a.post == POST_NONE && a.kz == 1.0) {
        /* SQ(x op y), SQR(x op y) */
        *out = a;
        out->counted = 1;
        out->post = code == U_SQ ? POST_SQ : POST_SQRT;
        return MT_OK;
    }
    if ((st = as_factor(p, &a, pos, &f)) != MT_OK) {
        return st;
    }
    switch (code) {
    case U_NEG: /* -(x*m*k) == x*m*(-k) */
        f.k = -f.k;
        set_factor(out, f);
        break;
    case U_SQ:
        if (is_signed_array(f)) { /* (+-x)*(+-x) == x*x*1 */
            set_factor(out, factor_of(f.x, f.x, 1.0));
        } else {
            set_pending(out, OP_MUL, f, f, POST_NONE);
        }
        break;
    default: /* SQR(f + (-0)) */
        set_pending(out, OP_ADD, f, factor_of(SLOT_ONE, SLOT_ONE, -0.0), POST_SQRT);
        break;
    }
    return MT_OK;
}

/* Whether x/k == x*(1/k) for every x: k is a power of two whose reciprocal
 * is a normal number, so both are the same real number rounded once. */
static int has_exact_reciprocal(double k)
{
    int e;
    double mant = frexp(k, &e);
    return (mant == 0.5 || mant == -0.5) && isnormal(1.0 / k);
}

/* Fold the binary operator "c" on "a" and "b" into a constant, a factor or
 * a pending op. */
static mt_status binary(parser *p, char c, val a, val b, size_t pos, val *out)
{
    mt_status st;
    factor fa, fb;
    if (a.kind == V_CONST && b.kind == V_CONST) {
        switch (c) {
        case '+':
            return const_result(p, a.k + b.k, pos, out);
        case '-':
            return const_result(p, a.k - b.k, pos, out);
        case '*':
            return const_result(p, a.k * b.k, pos, out);
        default:
            if (b.k == 0) {
                return fail(p, MT_ERANGE, pos, "division by zero", NULL);
            }
            return const_result(p, a.k / b.k, pos, out);
        }
    }
    if (c == '/' && b.kind == V_CONST && b.k == 0) {
        return fail(p, MT_ERANGE, pos, "division by zero", NULL);
    }
    if ((st = count_value(p, pos)) != MT_OK) {
        return st;
    }
    uncount(p, &a);
    uncount(p, &b);
    if (c == '/' && b.kind == V_CONST && has_exact_reciprocal(b.k)) {
        c = '*'; /* as a C compiler does: x/2 is x*0.5, and no division */
        b.k = 1.0 / b.k;
    }
    if (c == '*' && b.kind == V_CONST && a.kind == V_PENDING && (a.kz == 1.0 || a.kz == -1.0)) {
        *out = a; /* (v*(+-1))*k == v*(+-k) */
        out->counted = 1;
        out->kz = a.kz * b.k;
        return MT_OK;
    }
    if (c == '*' && a.kind == V_CONST && b.kind == V_PENDING && (b.kz == 1.0 || b.kz == -1.0)) {
        *out = b;
        out->counted = 1;
        out->kz = b.kz * a.k;
        return MT_OK;
    }
    if ((st = as_factor(p, &a, pos, &fa)) != MT_OK || (st = as_factor(p, &b, pos, &fb)) != MT_OK) {
        return st;
    }
    switch (c) {
    case '+':
        set_pending(out, OP_ADD, fa, fb, POST_NONE);
        break;
    case '-':
        set_pending(out, OP_SUB, fa, fb, POST_NONE);
        break;
    case '/':
        set_pending(out, OP_DIV, fa, fb, POST_NONE);
        break;
    default:
        /* Products that stay one factor: (+-x*m)*k == x*m*(+-k) and
         * (+-x)*(+-y) == x*y*(+-1); anything else keeps its order. */
        if (a.kind == V_CONST && (fb.k == 1.0 || fb.k == -1.0)) {
            set_factor(out, factor_of(fb.x, fb.m, fb.k * a.k));
        } else if (b.kind == V_CONST && (fa.k == 1.0 || fa.k == -1.0)) {
            set_factor(out, factor_of(fa.x, fa.m, fa.k * b.k));
        } else if (is_signed_array(fa) && is_signed_array(fb)) {
            set_factor(out, factor_of(fa.x, fb.x, fa.k * fb.k));
        } else {
            set_pending(out, OP_MUL, fa, fb, POST_NONE);
        }
        break;
    }
    return MT_OK;
}

static mt_status parse_expr(parser *p, val *out);

static mt_status expect_operand_error(parser *p)
{
    char shown[40];
    if (p->tok == TK_END) {
        return fail(p, MT_ESYNTAX, p->tok_pos, "missing operand at end of expression", NULL);
    }
    return fail(p, MT_ESYNTAX, p->tok_pos, "missing operand before ",
                tok_text(p, shown, sizeof shown));
}

static mt_status enter(parser *p)
{
    if (++p->depth > MT_EXPR_MAX_DEPTH) {
        return fail(p, MT_ELIMIT, p->tok_pos, "expression nested too deeply", NULL);
    }
    return MT_OK;
}

/* '(' expr ')' with the current token at '('. */
static mt_status parse_group(parser *p, val *out)
{
    mt_status st;
    size_t lp = p->tok_pos;
    if ((st = next(p)) != MT_OK || (st = parse_expr(p, out)) != MT_OK) {
        return st;
    }
    if (p->tok != TK_RP) {
        char shown[40];
        if (p->tok == TK_END) {
            return fail(p, MT_ESYNTAX, lp, "unclosed '('", NULL);
        }
        return fail(p, MT_ESYNTAX, p->tok_pos, "expected an operator or ')' before ",
                    tok_text(p, shown, sizeof shown));
    }
    return next(p);
}

static mt_status add_channel(parser *p, unsigned ch, size_t pos, unsigned *slot)
{
    size_t i;
    for (i = 0; i < p->n_chans; i++) {
        if (p->chans[i] == ch) {
            *slot = (unsigned)i;
            return MT_OK;
        }
    }
    if (p->n_chans == MT_EXPR_MAX_INPUTS) {
        return fail(p, MT_ELIMIT, pos, "more than 10 distinct channels", NULL);
    }
    p->chans[p->n_chans] = ch;
    *slot = (unsigned)p->n_chans++;
    return MT_OK;
}

static mt_status parse_unary(parser *p, val *out)
{
    mt_status st;
    size_t pos = p->tok_pos;
    val a;
    if ((st = enter(p)) != MT_OK) {
        return st;
    }
    switch (p->tok) {
    case TK_OP:
        if (p->tok_op != '-') {
            return expect_operand_error(p);
        }
        if ((st = next(p)) != MT_OK || (st = parse_unary(p, &a)) != MT_OK ||
            (st = unary(p, U_NEG, a, pos, out)) != MT_OK) {
            return st;
        }
        break;
    case TK_NUM:
        out->kind = V_CONST;
        out->counted = 0;
        out->k = p->num;
        if ((st = next(p)) != MT_OK) {
            return st;
        }
        break;
    case TK_CH: {
        unsigned slot = 0;
        if ((st = add_channel(p, p->ch, pos, &slot)) != MT_OK || (st = next(p)) != MT_OK) {
            return st;
        }
        out->kind = V_FACTOR;
        out->counted = 0;
        out->a = factor_of(slot, SLOT_ONE, 1.0);
        break;
    }
    case TK_SQ:
    case TK_SQR: {
        unop code = p->tok == TK_SQ ? U_SQ : U_SQRT;
        if ((st = next(p)) != MT_OK) {
            return st;
        }
        if (p->tok != TK_LP) {
            return fail(p, MT_ESYNTAX, p->tok_pos,
                        code == U_SQ ? "expected '(' after SQ" : "expected '(' after SQR", NULL);
        }
        if ((st = parse_group(p, &a)) != MT_OK || (st = unary(p, code, a, pos, out)) != MT_OK) {
            return st;
        }
        break;
    }
    case TK_LP:
        if ((st = parse_group(p, out)) != MT_OK) {
            return st;
        }
        break;
    default:
        return expect_operand_error(p);
    }
    p->depth--;
    return MT_OK;
}

static mt_status parse_term(parser *p, val *out)
{
    mt_status st;
    if ((st = parse_unary(p, out)) != MT_OK) {
        return st;
    }
    while (p->tok == TK_OP && (p->tok_op == '*' || p->tok_op == '/')) {
        char c = p->tok_op;
        size_t pos = p->tok_pos;
        val b;
        if ((st = next(p)) != MT_OK || (st = parse_unary(p, &b)) != MT_OK ||
            (st = binary(p, c, *out, b, pos, out)) != MT_OK) {
            return st;
        }
    }
    return MT_OK;
}

static mt_status parse_expr(parser *p, val *out)
{
    mt_status st;
    if ((st = parse_term(p, out)) != MT_OK) {
        return st;
    }
    while (p->tok == TK_OP && (p->tok_op == '+' || p->tok_op == '-')) {
        char c = p->tok_op;
        size_t pos = p->tok_pos;
        val b;
        if ((st = next(p)) != MT_OK || (st = parse_term(p, &b)) != MT_OK ||
            (st = binary(p, c, *out, b, pos, out)) != MT_OK) {
            return st;
        }
    }
    return MT_OK;
}

static int cmp_unsigned(const void *a, const void *b)
{
    unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
    return (x > y) - (x < y);
}

static kernel_fn kernel_for(opcode code, postop post, int check_out);

mt_status mt_expr_compile_n(const char *src, size_t len, mt_expr **out, mt_error *err)
{
    parser p;
    mt_status st;
    mt_expr *e = NULL;
    unsigned sorted[MT_EXPR_MAX_INPUTS], remap[MT_EXPR_MAX_INPUTS], slot;
    size_t i, j;
    val result;

    if (out) {
        *out = NULL;
    }
    if (!out || (!src && len > 0)) {
        return mt_fail(err, MT_EINVAL, 0, "NULL argument");
    }
    memset(&p, 0, sizeof p);
    p.src = src;
    p.len = len;
    p.err = err;
    if (len > MT_EXPR_MAX_LEN) {
        p.len = MT_EXPR_MAX_LEN;
        st = fail(&p, MT_ELIMIT, MT_EXPR_MAX_LEN, "expression longer than 4096 bytes", NULL);
        goto out;
    }
    if ((st = next(&p)) != MT_OK) {
        goto out;
    }
    if (p.tok == TK_END) {
        st = fail(&p, MT_ESYNTAX, p.tok_pos, "empty expression", NULL);
        goto out;
    }
    if ((st = parse_expr(&p, &result)) != MT_OK) {
        goto out;
    }
    if (p.tok != TK_END) {
        char shown[40];
        if (p.tok == TK_RP) {
            st = fail(&p, MT_ESYNTAX, p.tok_pos, "unmatched ')'", NULL);
        } else {
            st = fail(&p, MT_ESYNTAX, p.tok_pos, "expected an operator before ",
                      tok_text(&p, shown, sizeof shown));
        }
        goto out;
    }
    if (p.n_chans == 0) {
        st = fail(&p, MT_ESYNTAX, 0, "expression uses no channel (CH1..CH999)", NULL);
        goto out;
    }
    /* With a channel the result is never a constant (CH1*0 is not folded):
     * the last op writes the caller's output. */
    if ((st = materialize(&p, &result, SLOT_OUT, p.len, &slot)) != MT_OK) {
        goto out;
    }

    e = mt__malloc(sizeof *e + p.n_ops * sizeof(op));
    if (!e) {
        st = fail(&p, MT_ENOMEM, 0, "out of memory", NULL);
        goto out;
    }
    /* Inputs in order of channel number; rewrite input slots to match. */
    memcpy(sorted, p.chans, p.n_chans * sizeof *sorted);
    qsort(sorted, p.n_chans, sizeof *sorted, cmp_unsigned);
    for (i = 0; i < p.n_chans; i++) {
        for (j = 0; j < p.n_chans; j++) {
            if (sorted[j] == p.chans[i]) {
                remap[i] = (unsigned)j;
            }
        }
    }
    e->n_inputs = p.n_chans;
    memcpy(e->channels, sorted, p.n_chans * sizeof *sorted);
    e->n_regs = p.n_regs;
    /* the registers and the chunk of ones share the scratch */
    e->chunk = (SCRATCH / (p.n_regs + 1)) & ~(size_t)7;
    if (e->chunk > CHUNK_MAX) {
        e->chunk = CHUNK_MAX;
    }
    e->has_reg_divisor = p.has_reg_divisor;
    e->n_ops = p.n_ops;
    for (i = 0; i < p.n_ops; i++) {
        op o = p.ops[i];
        uint16_t *s[4];
        s[0] = &o.a.x;
        s[1] = &o.a.m;
        s[2] = &o.b.x;
        s[3] = &o.b.m;
        for (j = 0; j < 4; j++) {
            if (*s[j] < MT_EXPR_MAX_INPUTS) {
                *s[j] = (uint16_t)remap[*s[j]];
            }
        }
        /* only the last op writes the output: it also checks it */
        o.run = kernel_for((opcode)o.code, (postop)o.post, i + 1 == p.n_ops);
        e->ops[i] = o;
    }
    *out = e;
    st = MT_OK;
out:
    mt__free(p.ops);
    return st;
}

mt_status mt_expr_compile(const char *src, mt_expr **out, mt_error *err)
{
    size_t len = 0;
    if (!src) {
        if (out) {
            *out = NULL;
        }
        return mt_fail(err, MT_EINVAL, 0, "NULL argument");
    }
    /* bounded: never scan past the cap on a huge or unterminated string */
    while (len <= MT_EXPR_MAX_LEN && src[len] != '\0') {
        len++;
    }
    return mt_expr_compile_n(src, len, out, err);
}

void mt_expr_free(mt_expr *e)
{
    mt__free(e);
}

size_t mt_expr_input_count(const mt_expr *e)
{
    return e ? e->n_inputs : 0;
}

unsigned mt_expr_input_channel(const mt_expr *e, size_t i)
{
    return (e && i < e->n_inputs) ? e->channels[i] : 0;
}

/* ---- evaluation ---------------------------------------------------------- */

/* The kernels: one per OP x POST, unchecked and checked. "len" is a multiple
 * of 8. x and m (or y and n) may be the same array: they are only read.
 *
 * A check sums r*0 (and, in a division, divisor*0) in 8 lanes: x*0 is +-0
 * for a finite x and NaN otherwise, and a NaN stays in a sum. Eight
 * independent lanes let gcc and clang vectorise the sums without
 * reassociating them, which they may not do for one accumulator; this
 * measured faster than comparisons or an integer test of the exponent bits
 * under gcc (SSE2) and as fast under V8's wasm simd128. A division always
 * checks its divisor; only the last op checks its result. */
#define POST_NONE_OF(r) (r)
#define POST_SQ_OF(r) ((r) * (r))
#define POST_SQRT_OF(r) sqrt(r)

#define KERNEL_PARAMS                                                                          \
    double *restrict d, const double *restrict x, const double *restrict m, double kx,        \
        const double *restrict y, const double *restrict n, double ky, double kz, size_t len

/* d = POST(a OP b), no check */
#define KERNEL_PLAIN(name, OP, POST)                                                           \
    static int name(KERNEL_PARAMS)                                                             \
    {                                                                                          \
        size_t i;                                                                              \
        for (i = 0; i < len; i++) {                                                            \
            d[i] = POST((x[i] * m[i] * kx) OP (y[i] * n[i] * ky)) * kz;                        \
        }                                                                                      \
        return 0;                                                                              \
    }

/* Nonzero when some y[i]*n[i]*k is not finite (the check of a divisor, done
 * again apart only when the combined check of a last division fired). */
static int any_nonfinite_factor(const double *restrict y, const double *restrict n, double k,
                                size_t len)
{
    double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0}, sum = 0;
    size_t i, j;
    for (i = 0; i < len; i += 8) {
        for (j = 0; j < 8; j++) {
            acc[j] += y[i + j] * n[i + j] * k * 0.0;
        }
    }
    for (j = 0; j < 8; j++) {
        sum += acc[j];
    }
    return sum != sum;
}

/* d = POST(a OP b) * kz, summing CHECK (r, the result, or b, the divisor,
 * or both) times 0 in 8 lanes. One accumulator: two would keep gcc from
 * vectorising the loop well. Returns BAD_OUT or BAD_DIVISOR as the sum says;
 * when both were summed, the divisor is checked again apart to tell. */
#define KERNEL_CHECKED(name, OP, POST, CHECK, FOUND)                                           \
    static int name(KERNEL_PARAMS)                                                             \
    {                                                                                          \
        double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0}, sum = 0;                                     \
        size_t i, j;                                                                           \
        for (i = 0; i < len; i += 8) {                                                         \
            for (j = 0; j < 8; j++) {                                                          \
                const double b = y[i + j] * n[i + j] * ky;                                     \
                const double r = POST((x[i + j] * m[i + j] * kx) OP b) * kz;                   \
                d[i + j] = r;                                                                  \
                acc[j] += (CHECK) * 0.0;                                                       \
            }                                                                                  \
        }                                                                                      \
        for (j = 0; j < 8; j++) {                                                              \
            sum += acc[j];                                                                     \
        }                                                                                      \
        return sum == sum ? 0 : (FOUND);                                                       \
    }

#define FOUND_BOTH (any_nonfinite_factor(y, n, ky, len) ? BAD_DIVISOR : BAD_OUT)

#define KERNELS_OF(post_name, POST)                                                            \
    KERNEL_PLAIN(k_add_##post_name, +, POST)                                                   \
    KERNEL_PLAIN(k_sub_##post_name, -, POST)                                                   \
    KERNEL_PLAIN(k_mul_##post_name, *, POST)                                                   \
    KERNEL_CHECKED(k_div_##post_name, /, POST, b, BAD_DIVISOR)                                 \
    KERNEL_CHECKED(kc_add_##post_name, +, POST, r, BAD_OUT)                                    \
    KERNEL_CHECKED(kc_sub_##post_name, -, POST, r, BAD_OUT)                                    \
    KERNEL_CHECKED(kc_mul_##post_name, *, POST, r, BAD_OUT)                                    \
    KERNEL_CHECKED(kc_div_##post_name, /, POST, r + b, FOUND_BOTH)

KERNELS_OF(none, POST_NONE_OF)
KERNELS_OF(sq, POST_SQ_OF)
KERNELS_OF(sqrt, POST_SQRT_OF)

static kernel_fn kernel_for(opcode code, postop post, int check_out)
{
    /* [check_out][post][code] */
    static const kernel_fn table[2][3][4] = {
        {{k_add_none, k_sub_none, k_mul_none, k_div_none},
         {k_add_sq, k_sub_sq, k_mul_sq, k_div_sq},
         {k_add_sqrt, k_sub_sqrt, k_mul_sqrt, k_div_sqrt}},
        {{kc_add_none, kc_sub_none, kc_mul_none, kc_div_none},
         {kc_add_sq, kc_sub_sq, kc_mul_sq, kc_div_sq},
         {kc_add_sqrt, kc_sub_sqrt, kc_mul_sqrt, kc_div_sqrt}}};
    return table[check_out != 0][post][code];
}

/* Sample "j" the slow way, with the special-value rules of mt/expr.h: the
 * same operations in the same order as the kernels, one sample at a time. */
static double eval_one(const mt_expr *e, const double *const *inputs, size_t j)
{
    double slot[N_SLOTS];
    int rank_worst = 0, err = 0;
    mt_sv worst = MT_SV_NONE, first_over = MT_SV_NONE;
    size_t i;
    double r;
    /* rank in the precedence BREAK > ERROR > OVER > MISSING */
    static const int rank[MT_SV_COUNT] = {0, 1, 2, 2, 4, 3};

    for (i = 0; i < e->n_inputs; i++) {
        double v = inputs[i][j];
        mt_sv kind = mt_sv_kind(v);
        slot[i] = v;
        if (kind == MT_SV_NONE) {
            continue;
        }
        if (kind == MT_SV_OVER_POS) {
            slot[i] = HUGE_VAL;
        } else if (kind == MT_SV_OVER_NEG) {
            slot[i] = -HUGE_VAL;
        } else {
            slot[i] = mt_sv_value(MT_SV_MISSING); /* any NaN: it only poisons */
        }
        if ((kind == MT_SV_OVER_POS || kind == MT_SV_OVER_NEG) && first_over == MT_SV_NONE) {
            first_over = kind;
        }
        if (rank[kind] > rank_worst) {
            rank_worst = rank[kind];
            worst = kind;
        }
    }
    slot[SLOT_ONE] = 1.0;
    slot[SLOT_OUT] = 0.0; /* always written by the last op */
    for (i = 0; i < e->n_ops; i++) {
        const op *o = &e->ops[i];
        double a = slot[o->a.x] * slot[o->a.m] * o->a.k;
        double b = slot[o->b.x] * slot[o->b.m] * o->b.k;
        double d;
        switch ((opcode)o->code) {
        case OP_ADD:
            d = a + b;
            break;
        case OP_SUB:
            d = a - b;
            break;
        case OP_MUL:
            d = a * b;
            break;
        default: /* OP_DIV */
            err |= b == 0;
            d = a / b;
            break;
        }
        switch ((postop)o->post) {
        case POST_NONE:
            break;
        case POST_SQ:
            d = d * d;
            break;
        default: /* POST_SQRT */
            err |= d < 0;
            d = sqrt(d);
            break;
        }
        slot[o->dst] = d * o->kz;
    }
    r = slot[SLOT_OUT];
    switch (worst) {
    case MT_SV_NONE:
        break;
    case MT_SV_OVER_POS:
    case MT_SV_OVER_NEG:
        if (r == HUGE_VAL) {
            return mt_sv_value(MT_SV_OVER_POS);
        }
        if (r == -HUGE_VAL) {
            return mt_sv_value(MT_SV_OVER_NEG);
        }
        return mt_sv_value(first_over);
    default:
        return mt_sv_value(worst);
    }
    if (err) {
        return mt_sv_value(MT_SV_ERROR);
    }
    if (mt_sv_is_number(r)) {
        return r;
    }
    if (r == HUGE_VAL) {
        return mt_sv_value(MT_SV_OVER_POS);
    }
    if (r == -HUGE_VAL) {
        return mt_sv_value(MT_SV_OVER_NEG);
    }
    return mt_sv_value(MT_SV_ERROR);
}

static int overlaps(const double *x, const double *y, size_t n)
{
    uintptr_t a = (uintptr_t)x, b = (uintptr_t)y, bytes = (uintptr_t)n * sizeof(double);
    return a < b + bytes && b < a + bytes;
}

mt_status mt_expr_eval(const mt_expr *e, const double *const *inputs, size_t n, double *out,
                       mt_error *err)
{
    double scratch[SCRATCH];
    const double *rp[N_SLOTS];
    double *wp[N_SLOTS];
    size_t base, i, r;

    if (!e) {
        return mt_fail(err, MT_EINVAL, 0, "NULL expression");
    }
    if (n == 0) {
        return MT_OK;
    }
    if (!inputs || !out) {
        return mt_fail(err, MT_EINVAL, 0, "NULL inputs or output");
    }
    for (i = 0; i < e->n_inputs; i++) {
        if (!inputs[i]) {
            return mt_fail(err, MT_EINVAL, i, "input %zu is NULL", i);
        }
        if (overlaps(inputs[i], out, n)) {
            return mt_fail(err, MT_EINVAL, i, "output overlaps input %zu", i);
        }
    }
    /* scratch: the chunk of ones, then the registers */
    for (i = 0; i < e->chunk && i < n; i++) {
        scratch[i] = 1.0;
    }
    rp[SLOT_ONE] = scratch;
    for (r = 0; r < e->n_regs; r++) {
        wp[SLOT_REG0 + r] = scratch + (r + 1) * e->chunk;
        rp[SLOT_REG0 + r] = wp[SLOT_REG0 + r];
    }
    for (base = 0; base < n; base += e->chunk) {
        size_t len = n - base < e->chunk ? n - base : e->chunk;
        size_t vlen = len & ~(size_t)7;
        int bad = 0;
        if (vlen > 0) {
            for (i = 0; i < e->n_inputs; i++) {
                rp[i] = inputs[i] + base;
            }
            wp[SLOT_OUT] = out + base;
            for (i = 0; i < e->n_ops; i++) {
                const op *o = &e->ops[i];
                bad |= o->run(wp[o->dst], rp[o->a.x], rp[o->a.m], o->a.k, rp[o->b.x], rp[o->b.m],
                              o->b.k, o->kz, vlen);
            }
        }
        if (bad == BAD_OUT) {
            /* all divisors finite: nothing was hidden, the samples to redo
             * are those with a result that is not finite */
            for (i = base; i < base + vlen; i++) {
                if (!mt_sv_is_number(out[i])) {
                    out[i] = eval_one(e, inputs, i);
                }
            }
        } else if (bad) {
            for (i = base; i < base + vlen; i++) {
                int redo = e->has_reg_divisor || !mt_sv_is_number(out[i]);
                for (r = 0; r < e->n_inputs && !redo; r++) {
                    redo = !mt_sv_is_number(inputs[r][i]);
                }
                if (redo) {
                    out[i] = eval_one(e, inputs, i);
                }
            }
        }
        /* the last samples of the call, fewer than 8, one by one */
        for (i = base + vlen; i < base + len; i++) {
            out[i] = eval_one(e, inputs, i);
        }
    }
    return MT_OK;
}
