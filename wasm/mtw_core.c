/* WebAssembly exports shared by every module: status names and messages,
 * special values. No logic here: thin wrappers over core (SQLite ext/wasm). */
#include <emscripten.h>

#include "mt/status.h"
#include "mt/types.h"

EMSCRIPTEN_KEEPALIVE const char *mtw_errname(int code)
{
    return mt_errname((mt_status)code);
}

EMSCRIPTEN_KEEPALIVE const char *mtw_strerror(int code)
{
    return mt_strerror((mt_status)code);
}

/* The size of mt_error and the offsets of its fields, so that JS reads the
 * struct without guessing the layout. */
EMSCRIPTEN_KEEPALIVE int mtw_error_size(void)
{
    return (int)sizeof(mt_error);
}

EMSCRIPTEN_KEEPALIVE int mtw_error_field(int which)
{
    switch (which) {
    case 0:
        return (int)offsetof(mt_error, code);
    case 1:
        return (int)offsetof(mt_error, pos);
    case 2:
        return (int)offsetof(mt_error, line);
    case 3:
        return (int)offsetof(mt_error, col);
    default:
        return (int)offsetof(mt_error, msg);
    }
}

EMSCRIPTEN_KEEPALIVE int mtw_sv_kind(double v)
{
    return (int)mt_sv_kind(v);
}

EMSCRIPTEN_KEEPALIVE double mtw_sv_value(int kind)
{
    return mt_sv_value((mt_sv)kind);
}
