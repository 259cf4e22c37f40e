#include "mt/status.h"
#include "mt/types.h"

#include <stdarg.h>
#include <stdio.h>

const char *mt_errname(mt_status code)
{
    switch (code) {
#define MT__X(name, val, msg) \
    case MT_##name:           \
        return "MT_" #name;
        MT_STATUS_MAP(MT__X)
#undef MT__X
    }
    return "MT_UNKNOWN";
}

const char *mt_strerror(mt_status code)
{
    switch (code) {
#define MT__X(name, val, msg) \
    case MT_##name:           \
        return msg;
        MT_STATUS_MAP(MT__X)
#undef MT__X
    }
    return "unknown error";
}

static void vfill(mt_error *err, mt_status code, size_t pos, size_t line, size_t col,
                  const char *fmt, va_list ap)
{
    err->code = code;
    err->pos = pos;
    err->line = line;
    err->col = col;
    if (vsnprintf(err->msg, sizeof err->msg, fmt, ap) < 0) {
        err->msg[0] = '\0';
    }
}

mt_status mt_fail(mt_error *err, mt_status code, size_t pos, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vfill(err, code, pos, 0, 0, fmt, ap);
        va_end(ap);
    }
    return code;
}

mt_status mt_fail_at(mt_error *err, mt_status code, size_t pos, size_t line, size_t col,
                     const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vfill(err, code, pos, line, col, fmt, ap);
        va_end(ap);
    }
    return code;
}

void mt_error_clear(mt_error *err)
{
    if (err) {
        err->code = MT_OK;
        err->pos = 0;
        err->line = 0;
        err->col = 0;
        err->msg[0] = '\0';
    }
}

const char *mt_sv_name(mt_sv k)
{
    switch (k) {
    case MT_SV_NONE:
        return "";
    case MT_SV_MISSING:
        return "missing";
    case MT_SV_OVER_POS:
        return "+over";
    case MT_SV_OVER_NEG:
        return "-over";
    case MT_SV_BREAK:
        return "break";
    case MT_SV_ERROR:
        return "error";
    }
    return "error";
}
