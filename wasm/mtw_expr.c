/* WebAssembly exports for computed channels (mt/expr.h). No logic here:
 * thin wrappers with wasm-friendly types (no int64), used by wasm/expr.mjs. */
#include <emscripten.h>

#include "mt/expr.h"

/* Compile the "len" bytes at "src"; on success store the handle at *out. */
EMSCRIPTEN_KEEPALIVE int mtw_expr_compile(const char *src, size_t len, mt_expr **out,
                                          mt_error *err)
{
    return (int)mt_expr_compile_n(src, len, out, err);
}

EMSCRIPTEN_KEEPALIVE void mtw_expr_free(mt_expr *e)
{
    mt_expr_free(e);
}

EMSCRIPTEN_KEEPALIVE int mtw_expr_input_count(const mt_expr *e)
{
    return (int)mt_expr_input_count(e);
}

EMSCRIPTEN_KEEPALIVE int mtw_expr_input_channel(const mt_expr *e, size_t i)
{
    return (int)mt_expr_input_channel(e, i);
}

/* "inputs" points to mtw_expr_input_count(e) pointers to "n" doubles each. */
EMSCRIPTEN_KEEPALIVE int mtw_expr_eval(const mt_expr *e, const double *const *inputs, size_t n,
                                       double *out, mt_error *err)
{
    return (int)mt_expr_eval(e, inputs, n, out, err);
}
