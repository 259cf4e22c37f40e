/* The service contract (see svc.h). */
#include "svc.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    const char *code;
    const char *msg;
} status_table[] = {
#define SVC_ROW_(name, code, msg) {#name, code, msg},
    SVC_STATUS_TABLE(SVC_ROW_)
#undef SVC_ROW_
};

static int known(svc_status st)
{
    return (int)st >= 0 && (int)st < (int)SVC_STATUS_COUNT_;
}

const char *svc_status_code(svc_status st)
{
    return known(st) ? status_table[st].code : "internal_error";
}

const char *svc_strerror(svc_status st)
{
    return known(st) ? status_table[st].msg : "internal error";
}

const char *svc_status_name(svc_status st)
{
    return known(st) ? status_table[st].name : "?";
}

void svc_error_clear(svc_error *e)
{
    memset(e, 0, sizeof *e);
    e->status = SVC_OK;
    e->used = -1;
}

svc_status svc_fail(svc_error *e, svc_status st, const char *code, const char *field,
                    const char *fmt, ...)
{
    svc_error_clear(e);
    e->status = st;
    e->code = code;
    e->field = field;
    if (fmt != NULL) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->message, sizeof e->message, fmt, ap);
        va_end(ap);
    } else {
        snprintf(e->message, sizeof e->message, "%s", svc_strerror(st));
    }
    return st;
}

svc_status svc_fail_db(svc_error *e, db_status st, const char *conflict_msg)
{
    if (st == DB_CONFLICT && conflict_msg != NULL) {
        return svc_fail(e, SVC_CONFLICT, NULL, NULL, "%s", conflict_msg);
    }
    svc_fail(e, SVC_DB, NULL, NULL, "%s", db_strerror(st));
    e->db = st != DB_OK ? st : DB_ERROR;
    return SVC_DB;
}

svc_status svc_db_public(const svc_error *e, const char **code, const char **message)
{
    switch (e->db) {
    case DB_UNAVAILABLE:
        *code = "db_unavailable";
        *message = "the database is unavailable; try again shortly";
        return SVC_UNAVAILABLE;
    case DB_BUSY:
        *code = "db_busy";
        *message = "the server is busy; try again shortly";
        return SVC_UNAVAILABLE;
    case DB_CONFLICT:
        *code = "conflict";
        *message = "this conflicts with existing data";
        return SVC_CONFLICT;
    case DB_CONSTRAINT:
        *code = "constraint";
        *message = "this change does not fit the related data";
        return SVC_CONFLICT;
    default:
        *code = "internal_error";
        *message = "internal error";
        return SVC_INTERNAL;
    }
}

svc_status svc_fail_nomem(svc_error *e)
{
    return svc_fail(e, SVC_NOMEM, NULL, NULL, NULL);
}

svc_status svc_fail_hash_busy(svc_error *e)
{
    svc_fail(e, SVC_UNAVAILABLE, "server_busy", NULL,
             "the server is busy checking other passwords; try again in a few seconds");
    e->retry_after = 2;
    return SVC_UNAVAILABLE;
}

svc_status svc_fail_quota(svc_error *e, mt_plan plan, mt_quota q, const char *msg)
{
    svc_fail(e, SVC_PLAN_LIMIT, NULL, NULL, "%s", msg);
    e->has_quota = true;
    e->quota = q;
    e->plan = plan;
    return SVC_PLAN_LIMIT;
}
