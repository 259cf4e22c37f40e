/* Computed channels: a recursive-descent compiler to a small register
 * bytecode, and a chunked evaluator.
 *
 * Evaluation runs in chunks of up to CHUNK samples. Each op is one tight loop
 * over the chunk with restrict pointers and no branches, which gcc and clang
 * (x86 SSE2, wasm simd128) vectorise. Special values are handled apart: after
 * the ops, vectorised passes ask whether the output of the chunk, or a
 * divisor, holds a value that is not finite; only then a scalar pass
 * recomputes the affected samples with the special-value rules of mt/expr.h.
 * Inputs need no pass of their own: IEEE arithmetic keeps any non-finite
 * value (a special input, x/0, SQR(-1), an overflow) non-finite through
 * + - * NEG SQ SQRT and through a dividend, up to the output; only a divisor
 * can hide one (x/inf == 0), so every divisor is checked right after its
 * division. A non-finite divisor that is a register (computed) sends the whole
 * chunk the scalar way; otherwise only the samples with a non-finite input or
 * output are recomputed. */
#include "mt/expr.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc_int.h"
#include "mt/types.h"

#define MAX_REGS 64
#define SLOT_OUT (MT_EXPR_MAX_INPUTS + MAX_REGS) /* the caller's output */
#define N_SLOTS (SLOT_OUT + 1)
#define SCRATCH 4096 /* doubles of register space on the stack (32 KiB) */
#define CHUNK_MAX 512
#define NUM_MAX 64 /* longest number literal */

/* Slots 0..MT_EXPR_MAX_INPUTS-1 are inputs, then registers, then SLOT_OUT. */
typedef enum {
    OP_COPY, /* d = a */
    OP_NEG,  /* d = -a */
    OP_SQ,   /* d = a*a */
    OP_SQRT, /* d = sqrt(a) */
    OP_ADD,  /* d = a + b */
    OP_SUB,  /* d = a - b */
    OP_MUL,  /* d = a * b */
    OP_DIV,  /* d = a / b */
    OP_ADDK, /* d = a + k (a - k is compiled as a + (-k): the same double) */
    OP_KSUB, /* d = k - a */
    OP_MULK, /* d = a * k */
    OP_DIVK, /* d = a / k (k != 0) */
    OP_KDIV  /* d = k / a */
} opcode;

typedef struct {
    uint8_t code;
    uint8_t dst, a, b;
    uint8_t check_a; /* a divisor to check after this op: 1 = a, 2 = b */
    double k;
} op;

struct mt_expr {
    size_t n_inputs;
    unsigned channels[MT_EXPR_MAX_INPUTS];
    size_t n_regs;
    size_t chunk;       /* samples per chunk: fits n_regs registers in SCRATCH */
    int has_reg_divisor; /* some op divides by a register */
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
    uint64_t reg_busy;
    size_t n_regs;
    int has_reg_divisor;
    mt_error *err;
} parser;

/* A parsed operand: a folded constant or a slot. */
typedef struct {
    int is_const;
    double k;
    unsigned slot;
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

static mt_status emit(parser *p, opcode code, unsigned dst, unsigned a, unsigned b, double k)
{
    op *o;
    if (p->n_ops == p->cap_ops) {
        size_t cap = p->cap_ops ? p->cap_ops * 2 : 16;
        op *ops = mt__realloc(p->ops, cap * sizeof *ops);
        if (!ops) {
            return fail(p, MT_ENOMEM, p->tok_pos, "out of memory", NULL);
        }
        p->ops = ops;
        p->cap_ops = cap;
    }
    o = &p->ops[p->n_ops++];
    o->code = (uint8_t)code;
    o->dst = (uint8_t)dst;
    o->a = (uint8_t)a;
    o->b = (uint8_t)b;
    o->check_a = 0;
    o->k = k;
    return MT_OK;
}

static int is_reg(unsigned slot)
{
    return slot >= MT_EXPR_MAX_INPUTS && slot < SLOT_OUT;
}

/* A free register for a result. Taken before the operands are released, so
 * that a destination never aliases a source (the op loops use restrict). */
static mt_status take_reg(parser *p, size_t pos, unsigned *slot)
{
    unsigned r;
    for (r = 0; r < MAX_REGS; r++) {
        if (!(p->reg_busy & ((uint64_t)1 << r))) {
            p->reg_busy |= (uint64_t)1 << r;
            if (r + 1 > p->n_regs) {
                p->n_regs = r + 1;
            }
            *slot = MT_EXPR_MAX_INPUTS + r;
            return MT_OK;
        }
    }
    return fail(p, MT_ELIMIT, pos, "expression too complex (too many intermediate values)",
                NULL);
}

static void release(parser *p, val v)
{
    if (!v.is_const && is_reg(v.slot)) {
        p->reg_busy &= ~((uint64_t)1 << (v.slot - MT_EXPR_MAX_INPUTS));
    }
}

static mt_status const_result(parser *p, double k, size_t pos, val *out)
{
    if (!mt_sv_is_number(k)) {
        return fail(p, MT_ERANGE, pos, "constant expression is not a finite number", NULL);
    }
    out->is_const = 1;
    out->k = k;
    out->slot = 0;
    return MT_OK;
}

/* Fold or emit unary "code" on "a"; "pos" is the operator's position. */
static mt_status unary(parser *p, opcode code, val a, size_t pos, val *out)
{
    mt_status st;
    unsigned dst = 0;
    if (a.is_const) {
        switch (code) {
        case OP_NEG:
            return const_result(p, -a.k, pos, out);
        case OP_SQ:
            return const_result(p, a.k * a.k, pos, out);
        default:
            if (a.k < 0) {
                return fail(p, MT_ERANGE, pos, "SQR of a negative constant", NULL);
            }
            return const_result(p, sqrt(a.k), pos, out);
        }
    }
    if ((st = take_reg(p, pos, &dst)) != MT_OK) {
        return st;
    }
    release(p, a);
    out->is_const = 0;
    out->slot = dst;
    return emit(p, code, dst, a.slot, 0, 0.0);
}

/* Fold or emit the binary operator "c" on "a" and "b". */
static mt_status binary(parser *p, char c, val a, val b, size_t pos, val *out)
{
    mt_status st;
    unsigned dst = 0;
    opcode code;
    int check = 0;
    if (a.is_const && b.is_const) {
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
    if (!a.is_const && !b.is_const) {
        code = c == '+' ? OP_ADD : c == '-' ? OP_SUB : c == '*' ? OP_MUL : OP_DIV;
        check = code == OP_DIV;
    } else if (b.is_const) {
        switch (c) {
        case '+':
            code = OP_ADDK;
            break;
        case '-':
            code = OP_ADDK;
            b.k = -b.k;
            break;
        case '*':
            code = OP_MULK;
            break;
        default:
            if (b.k == 0) {
                return fail(p, MT_ERANGE, pos, "division by zero", NULL);
            }
            code = OP_DIVK;
            break;
        }
        b.slot = 0;
    } else {
        /* constant on the left: the op reads the slot as "a" */
        code = c == '+' ? OP_ADDK : c == '-' ? OP_KSUB : c == '*' ? OP_MULK : OP_KDIV;
        check = code == OP_KDIV;
        a.slot = b.slot;
        b.is_const = 1;
        b.k = a.k;
        a.is_const = 0;
        b.slot = 0;
    }
    if ((st = take_reg(p, pos, &dst)) != MT_OK) {
        return st;
    }
    release(p, a);
    release(p, b);
    out->is_const = 0;
    out->slot = dst;
    if ((st = emit(p, code, dst, a.slot, b.slot, b.k)) != MT_OK) {
        return st;
    }
    if (check) {
        /* the divisor: "b" for OP_DIV, the slot read as "a" for OP_KDIV */
        unsigned divisor = code == OP_KDIV ? a.slot : b.slot;
        p->ops[p->n_ops - 1].check_a = code == OP_KDIV ? 1 : 2;
        p->has_reg_divisor |= is_reg(divisor);
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
            (st = unary(p, OP_NEG, a, pos, out)) != MT_OK) {
            return st;
        }
        break;
    case TK_NUM:
        out->is_const = 1;
        out->k = p->num;
        out->slot = 0;
        if ((st = next(p)) != MT_OK) {
            return st;
        }
        break;
    case TK_CH:
        out->is_const = 0;
        if ((st = add_channel(p, p->ch, pos, &out->slot)) != MT_OK || (st = next(p)) != MT_OK) {
            return st;
        }
        break;
    case TK_SQ:
    case TK_SQR: {
        opcode code = p->tok == TK_SQ ? OP_SQ : OP_SQRT;
        if ((st = next(p)) != MT_OK) {
            return st;
        }
        if (p->tok != TK_LP) {
            return fail(p, MT_ESYNTAX, p->tok_pos,
                        code == OP_SQ ? "expected '(' after SQ" : "expected '(' after SQR", NULL);
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

mt_status mt_expr_compile_n(const char *src, size_t len, mt_expr **out, mt_error *err)
{
    parser p;
    mt_status st;
    mt_expr *e = NULL;
    unsigned sorted[MT_EXPR_MAX_INPUTS], remap[MT_EXPR_MAX_INPUTS];
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
    /* The result is a register (written by the last op) or an input. */
    if (is_reg(result.slot)) {
        p.ops[p.n_ops - 1].dst = SLOT_OUT;
    } else if ((st = emit(&p, OP_COPY, SLOT_OUT, result.slot, 0, 0.0)) != MT_OK) {
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
    e->chunk = CHUNK_MAX;
    if (p.n_regs > 0 && SCRATCH / p.n_regs < CHUNK_MAX) {
        e->chunk = (SCRATCH / p.n_regs) & ~(size_t)7;
    }
    e->has_reg_divisor = p.has_reg_divisor;
    e->n_ops = p.n_ops;
    for (i = 0; i < p.n_ops; i++) {
        op o = p.ops[i];
        if (o.a < MT_EXPR_MAX_INPUTS) {
            o.a = (uint8_t)remap[o.a];
        }
        if (o.b < MT_EXPR_MAX_INPUTS) {
            o.b = (uint8_t)remap[o.b];
        }
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

/* The op loops: no branches, restrict, so that they vectorise. "a" and "b"
 * may be the same array (CH1*CH1): both are only read. */
static void run_op(const op *o, double *restrict d, const double *restrict a,
                   const double *restrict b, size_t n)
{
    size_t i;
    const double k = o->k;
    switch ((opcode)o->code) {
    case OP_COPY:
        memcpy(d, a, n * sizeof *d);
        break;
    case OP_NEG:
        for (i = 0; i < n; i++) {
            d[i] = -a[i];
        }
        break;
    case OP_SQ:
        for (i = 0; i < n; i++) {
            d[i] = a[i] * a[i];
        }
        break;
    case OP_SQRT:
        for (i = 0; i < n; i++) {
            d[i] = sqrt(a[i]);
        }
        break;
    case OP_ADD:
        for (i = 0; i < n; i++) {
            d[i] = a[i] + b[i];
        }
        break;
    case OP_SUB:
        for (i = 0; i < n; i++) {
            d[i] = a[i] - b[i];
        }
        break;
    case OP_MUL:
        for (i = 0; i < n; i++) {
            d[i] = a[i] * b[i];
        }
        break;
    case OP_DIV:
        for (i = 0; i < n; i++) {
            d[i] = a[i] / b[i];
        }
        break;
    case OP_ADDK:
        for (i = 0; i < n; i++) {
            d[i] = a[i] + k;
        }
        break;
    case OP_KSUB:
        for (i = 0; i < n; i++) {
            d[i] = k - a[i];
        }
        break;
    case OP_MULK:
        for (i = 0; i < n; i++) {
            d[i] = a[i] * k;
        }
        break;
    case OP_DIVK:
        for (i = 0; i < n; i++) {
            d[i] = a[i] / k;
        }
        break;
    case OP_KDIV:
        for (i = 0; i < n; i++) {
            d[i] = k / a[i];
        }
        break;
    }
}

/* Nonzero when some x[i] is an infinity or a NaN: x*0 is 0 for a finite x
 * and NaN otherwise, and a NaN stays in a sum. Eight independent lanes let
 * gcc and clang vectorise the sum without reassociating it, which they may
 * not do for one accumulator; measured faster than an integer test of the
 * exponent bits on x86-64 and much faster under V8's wasm simd128. (Needs
 * IEEE semantics: never build core with -ffast-math.) */
static int any_nonfinite(const double *restrict x, size_t n)
{
    double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0}, sum = 0;
    size_t i = 0, j;
    for (; i + 8 <= n; i += 8) {
        for (j = 0; j < 8; j++) {
            acc[j] += x[i + j] * 0.0;
        }
    }
    for (; i < n; i++) {
        acc[0] += x[i] * 0.0;
    }
    for (j = 0; j < 8; j++) {
        sum += acc[j];
    }
    return sum != sum;
}

/* Sample "j" the slow way, with the special-value rules of mt/expr.h. */
static double eval_one(const mt_expr *e, const double *const *inputs, size_t j)
{
    double slot[SLOT_OUT + 1];
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
    slot[SLOT_OUT] = 0.0; /* always written by the last op */
    for (i = 0; i < e->n_ops; i++) {
        const op *o = &e->ops[i];
        double a = slot[o->a], b = slot[o->b], k = o->k, d;
        switch ((opcode)o->code) {
        case OP_COPY:
            d = a;
            break;
        case OP_NEG:
            d = -a;
            break;
        case OP_SQ:
            d = a * a;
            break;
        case OP_SQRT:
            err |= a < 0;
            d = sqrt(a);
            break;
        case OP_ADD:
            d = a + b;
            break;
        case OP_SUB:
            d = a - b;
            break;
        case OP_MUL:
            d = a * b;
            break;
        case OP_DIV:
            err |= b == 0;
            d = a / b;
            break;
        case OP_ADDK:
            d = a + k;
            break;
        case OP_KSUB:
            d = k - a;
            break;
        case OP_MULK:
            d = a * k;
            break;
        case OP_DIVK:
            d = a / k;
            break;
        default: /* OP_KDIV */
            err |= a == 0;
            d = k / a;
            break;
        }
        slot[o->dst] = d;
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
    memset(rp, 0, sizeof rp);
    memset(wp, 0, sizeof wp);
    for (r = 0; r < e->n_regs; r++) {
        wp[MT_EXPR_MAX_INPUTS + r] = scratch + r * e->chunk;
        rp[MT_EXPR_MAX_INPUTS + r] = scratch + r * e->chunk;
    }
    for (base = 0; base < n; base += e->chunk) {
        size_t len = n - base < e->chunk ? n - base : e->chunk;
        int bad = 0;
        for (i = 0; i < e->n_inputs; i++) {
            rp[i] = inputs[i] + base;
        }
        wp[SLOT_OUT] = out + base;
        for (i = 0; i < e->n_ops; i++) {
            const op *o = &e->ops[i];
            run_op(o, wp[o->dst], rp[o->a], rp[o->b], len);
            if (o->check_a) {
                bad |= any_nonfinite(o->check_a == 1 ? rp[o->a] : rp[o->b], len);
            }
        }
        bad |= any_nonfinite(out + base, len);
        if (!bad) {
            continue;
        }
        for (i = base; i < base + len; i++) {
            int redo = e->has_reg_divisor || !mt_sv_is_number(out[i]);
            for (r = 0; r < e->n_inputs && !redo; r++) {
                redo = !mt_sv_is_number(inputs[r][i]);
            }
            if (redo) {
                out[i] = eval_one(e, inputs, i);
            }
        }
    }
    return MT_OK;
}
