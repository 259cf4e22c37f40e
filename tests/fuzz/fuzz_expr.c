/* Fuzz target for computed channels: any bytes as an expression. A compile
 * must either fail with a position inside the input or give an expression
 * whose outputs, over inputs full of special values, are numbers or core
 * special values -- never a raw NaN or infinity, never a crash -- and the
 * same bits whether a sample is evaluated in a block (the vectorised kernels)
 * or alone (the one-sample path). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mt/expr.h"
#include "mt/types.h"

#define N 37 /* not a multiple of anything the evaluator likes: 32 in vectors, 5 alone */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const double pool[] = {0.0, -0.0, 1.0, -1.0, 2.5, 1e-300, 1e300, -1e300, 3.0,
                                  1.7e308, 4.9e-324, 7.0, 0.5, -2.0};
    double in[MT_EXPR_MAX_INPUTS][N], out[N], one;
    const double *ptrs[MT_EXPR_MAX_INPUTS], *ptrs1[MT_EXPR_MAX_INPUTS];
    mt_expr *e = NULL;
    mt_error err;
    size_t i, j, n_in;
    mt_status st = mt_expr_compile_n((const char *)data, size, &e, &err);
    if (st != MT_OK) {
        if (e != NULL || err.code != st || err.pos > size || err.line < 1 || err.col < 1 ||
            err.msg[0] == '\0') {
            abort();
        }
        return 0;
    }
    n_in = mt_expr_input_count(e);
    if (n_in < 1 || n_in > MT_EXPR_MAX_INPUTS) {
        abort();
    }
    for (i = 0; i < n_in; i++) {
        unsigned ch = mt_expr_input_channel(e, i);
        if (ch < 1 || ch > MT_EXPR_MAX_CHANNEL ||
            (i > 0 && ch <= mt_expr_input_channel(e, i - 1))) {
            abort();
        }
        for (j = 0; j < N; j++) {
            size_t pick = (i * 7 + j * 3 + j / 5) % (sizeof pool / sizeof pool[0] + 5);
            in[i][j] = pick < sizeof pool / sizeof pool[0]
                           ? pool[pick]
                           : mt_sv_value((mt_sv)(1 + pick - sizeof pool / sizeof pool[0]));
        }
        ptrs[i] = in[i];
    }
    if (mt_expr_eval(e, ptrs, N, out, &err) != MT_OK) {
        abort();
    }
    for (j = 0; j < N; j++) {
        mt_sv k = mt_sv_kind(out[j]);
        if (k != MT_SV_NONE) {
            double canon = mt_sv_value(k);
            if (memcmp(&canon, &out[j], sizeof canon) != 0) {
                abort(); /* a raw NaN or infinity escaped */
            }
        }
        for (i = 0; i < n_in; i++) {
            ptrs1[i] = ptrs[i] + j;
        }
        if (mt_expr_eval(e, ptrs1, 1, &one, &err) != MT_OK || memcmp(&one, &out[j], sizeof one)) {
            abort(); /* the block and the sample alone disagree */
        }
    }
    mt_expr_free(e);
    return 0;
}
