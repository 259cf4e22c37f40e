/* Metron core: computed channels (X1-X4).
 *
 * A computed channel is an expression string over measured channels, such as
 * "(CH1+CH2)/2" or "SQR(SQ(CH1)+SQ(CH2))/CH3". The grammar (case-insensitive,
 * blanks and tabs, CR and LF are whitespace):
 *
 *     expr    := term { ('+' | '-') term }          left-associative
 *     term    := unary { ('*' | '/') unary }        left-associative
 *     unary   := '-' unary | primary                binds tighter than * and /
 *     primary := number | CHn | SQ '(' expr ')' | SQR '(' expr ')' | '(' expr ')'
 *     number  := digits ['.' [digits]] [exp] | '.' digits [exp],  exp := (e|E) [+|-] digits
 *
 * CHn (n = 1..999, no leading zero) is the n-th input of the expression's
 * caller: "CH3" does not name channel id 3 of a device, it names whichever
 * channel the caller binds to slot 3 (the server keeps that binding with the
 * computed channel). An expression uses between 1 and MT_EXPR_MAX_INPUTS
 * distinct CHn. SQ(x) is x*x, SQR(x) the square root of x.
 *
 * Compile once with mt_expr_compile(), then evaluate over blocks of samples
 * with mt_expr_eval(). Results are ordinary numbers or core special values
 * (mt/types.h), never a raw NaN or infinity:
 *  - if any input of a sample is special, the output is special, by the
 *    precedence BREAK > ERROR > OVER > MISSING, even where the arithmetic would
 *    not need that input (CH1*0 with CH1 over range is over range: numbers are
 *    never invented). For OVER the direction is the sign of the result with
 *    the over-range inputs taken as +inf/-inf when that is an infinity, else
 *    the kind of the lowest-numbered over-range input;
 *  - with all inputs numbers: x/0 and SQR of a negative give MT_SV_ERROR; a
 *    result that overflows gives MT_SV_OVER_POS / MT_SV_OVER_NEG; an undefined
 *    result of overflowed intermediates (inf-inf, inf*0) gives MT_SV_ERROR.
 * See docs/expr.md for the full rules and worked examples.
 *
 * Constant subexpressions are folded at compile time; a constant that is not
 * a finite number (1e999, 1/0, SQR(-1)) and division by a constant zero are
 * compile errors. A compiled expression is immutable: any number of threads
 * may call mt_expr_eval() on it at once. */
#ifndef MT_EXPR_H
#define MT_EXPR_H

#include <stddef.h>

#include "mt/status.h"

#define MT_EXPR_MAX_LEN 4096   /* bytes of source text */
#define MT_EXPR_MAX_INPUTS 10  /* distinct CHn per expression */
#define MT_EXPR_MAX_CHANNEL 999 /* largest n of CHn */
#define MT_EXPR_MAX_DEPTH 64   /* nesting of (), SQ(), SQR() and unary minus */

typedef struct mt_expr mt_expr;

/* Compile the NUL-terminated string "src" into an expression. On success
 * *out is set and the caller owns it (free with mt_expr_free()). On failure
 * *out is NULL and "err" (may be NULL) holds the code, the 0-based byte offset
 * "pos" in "src" where the problem is, and "line"/"col" (1-based).
 * Errors: MT_EINVAL ("src" or "out" NULL); MT_ESYNTAX (empty, unexpected
 * character or token, unknown name such as FOO or CHX or CH0, missing operand,
 * unbalanced parenthesis — pos is the unclosed '(' or the stray ')' —, no
 * channel at all); MT_ERANGE (a number or constant subexpression that is not
 * finite, division by a constant zero); MT_ELIMIT (longer than
 * MT_EXPR_MAX_LEN, nested deeper than MT_EXPR_MAX_DEPTH, more than
 * MT_EXPR_MAX_INPUTS distinct channels, too many intermediate values);
 * MT_ENOMEM. Numbers are read with strtod(): the process must run in a locale
 * whose decimal point is '.' (the "C" locale, the default). */
mt_status mt_expr_compile(const char *src, mt_expr **out, mt_error *err) MT_MUSTCHECK;

/* As mt_expr_compile() for the "len" bytes at "src", which need not be
 * NUL-terminated (a NUL byte among them is an unexpected character). */
mt_status mt_expr_compile_n(const char *src, size_t len, mt_expr **out,
                            mt_error *err) MT_MUSTCHECK;

/* Free "e" (NULL is allowed). "e" is dead afterwards. */
void mt_expr_free(mt_expr *e);

/* The number of distinct inputs (CHn) of "e", 1..MT_EXPR_MAX_INPUTS. */
size_t mt_expr_input_count(const mt_expr *e);

/* The n of CHn of input "i" of "e"; inputs are sorted by n, so "CH7+CH2" has
 * input 0 = 2 and input 1 = 7. Returns 0 when "i" is out of range. */
unsigned mt_expr_input_channel(const mt_expr *e, size_t i);

/* Evaluate "e" over "n" samples: "inputs" holds mt_expr_input_count(e)
 * arrays of "n" doubles, in input order (sorted by channel number); sample j
 * of the output, written to out[j] (caller-owned, "n" doubles), is the value
 * of the expression for inputs[0][j], inputs[1][j], ... "out" must not
 * overlap any input. n == 0 is allowed and writes nothing. No allocation;
 * uses about 40 KiB of stack. Safe to call from several threads at once on
 * the same "e". Errors: MT_EINVAL (NULL "e", or NULL "inputs", input or "out"
 * with n > 0, or "out" overlapping an input: err->pos is the input index). */
mt_status mt_expr_eval(const mt_expr *e, const double *const *inputs, size_t n, double *out,
                       mt_error *err) MT_MUSTCHECK;

#endif
