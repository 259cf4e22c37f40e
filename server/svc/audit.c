/* The audit log (audit.h). */
#define _POSIX_C_SOURCE 200809L
#include "audit.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "db_auth.h"
#include "log.h"

static atomic_int g_fail_next;

void audit_fail_next(int n)
{
    atomic_store(&g_fail_next, n > 0 ? n : 0);
}

/* Whether the test hook asks this write to fail (and count it). */
static bool fail_injected(void)
{
    int n = atomic_load(&g_fail_next);
    while (n > 0) {
        if (atomic_compare_exchange_weak(&g_fail_next, &n, n - 1)) {
            return true;
        }
    }
    return false;
}

db_status audit_write(db_conn *c, const audit_who *who, const char *action,
                      const char *target_type, long long target_id, const char *detail_json)
{
    db_status st;
    if (who->account_id <= 0) {
        return DB_OK;
    }
    if (fail_injected()) {
        log_error("audit: %s for account %lld: failing as the test asked", action,
                  who->account_id);
        return DB_ERROR;
    }
    st = db_audit_insert(c, who->account_id, auth_now(),
                         who->app_id > 0     ? "app"
                         : who->via_token    ? "api_token"
                         : who->user_id > 0 ? "user"
                                             : "system",
                         who->app_id > 0 ? 0 : who->user_id, who->app_id, action, target_type,
                         target_id, who->ip, detail_json);
    if (st != DB_OK) {
        log_error("audit: %s for account %lld not recorded: %s", action, who->account_id,
                  db_strerror(st));
    }
    return st;
}

db_status audit_write_kv(db_conn *c, const audit_who *who, const char *action,
                         const char *target_type, long long target_id, const char *key,
                         const char *val)
{
    cJSON *d = NULL;
    char *text = NULL;
    db_status st;
    if (key != NULL && val != NULL) {
        if ((d = cJSON_CreateObject()) == NULL || cJSON_AddStringToObject(d, key, val) == NULL ||
            (text = cJSON_PrintUnformatted(d)) == NULL) {
            cJSON_Delete(d);
            log_error("audit: out of memory for %s", action);
            return DB_ERROR;
        }
        cJSON_Delete(d);
    }
    st = audit_write(c, who, action, target_type, target_id, text);
    cJSON_free(text);
    return st;
}

int audit_event(db_pool *pool, const audit_who *who, const char *action,
                const char *target_type, long long target_id, const cJSON *detail)
{
    char *text = NULL;
    db_conn *c = NULL;
    db_status st;
    if (who->account_id <= 0) {
        return 0;
    }
    if (detail != NULL && (text = cJSON_PrintUnformatted(detail)) == NULL) {
        log_error("audit: out of memory for %s", action);
        return -1;
    }
    st = db_acquire(pool, DB_WAIT_MS, &c);
    if (st == DB_OK) {
        st = audit_write(c, who, action, target_type, target_id, text);
    }
    db_release(pool, c);
    cJSON_free(text);
    return st == DB_OK ? 0 : -1;
}

/* A number member, or null for 0 (no such id). */
static void add_id_or_null(cJSON *o, const char *name, long long v)
{
    if (v == 0) {
        cJSON_AddNullToObject(o, name);
    } else {
        cJSON_AddNumberToObject(o, name, (double)v);
    }
}

/* A string member, or null for NULL. */
static void add_str_or_null(cJSON *o, const char *name, const char *v)
{
    if (v == NULL) {
        cJSON_AddNullToObject(o, name);
    } else {
        cJSON_AddStringToObject(o, name, v);
    }
}

svc_status audit_list(const svc_actor *a, const db_audit_filter *f, int limit, cJSON **out,
                      svc_error *e)
{
    db_audit_entry *rows = NULL;
    db_conn *c = NULL;
    db_status st;
    cJSON *o, *arr;
    int n = 0;
    *out = NULL;
    if ((st = db_acquire(a->srv->pool, DB_WAIT_MS, &c)) != DB_OK ||
        (st = db_audit_list(c, a->account_id, f, limit, &rows, &n)) != DB_OK ||
        (st = db_audit_target_names(c, a->account_id, rows, n)) != DB_OK) {
        db_audit_entries_free(rows, n);
        db_release(a->srv->pool, c);
        return svc_fail_db(e, st, NULL);
    }
    db_release(a->srv->pool, c);
    o = cJSON_CreateObject();
    arr = cJSON_AddArrayToObject(o, "entries");
    for (int i = 0; arr != NULL && i < n; i++) {
        const db_audit_entry *r = &rows[i];
        cJSON *en = cJSON_CreateObject();
        cJSON *detail = r->detail != NULL ? cJSON_Parse(r->detail) : NULL;
        const char *kind = r->actor_kind != NULL ? r->actor_kind : "";
        const cJSON *app_id = cJSON_GetObjectItemCaseSensitive(detail, "app_id");
        /* An app's entry (kind 'app', 076); or one that a server of before
         * 076 wrote beside this one as the system's with {"app_id", "app"}
         * in its detail: shown as the app's as well. */
        bool legacy_app = strcmp(kind, "system") == 0 && cJSON_IsNumber(app_id);
        cJSON_AddNumberToObject(en, "id", (double)r->id);
        cJSON_AddStringToObject(en, "at", r->at != NULL ? r->at : "");
        cJSON_AddStringToObject(en, "actor_kind", legacy_app ? "app" : kind);
        if (legacy_app) {
            cJSON_AddNumberToObject(en, "app_id", app_id->valuedouble);
            add_str_or_null(en, "app_name", cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
                                                detail, "app")));
        } else if (strcmp(kind, "app") == 0) {
            add_id_or_null(en, "app_id", r->app_id);
            add_str_or_null(en, "app_name", r->actor_login);
        }
        add_id_or_null(en, "user_id", r->user_id);
        cJSON_AddStringToObject(en, "actor_login", r->actor_login != NULL ? r->actor_login : "");
        cJSON_AddStringToObject(en, "action", r->action != NULL ? r->action : "");
        add_str_or_null(en, "target_type", r->target_type);
        add_id_or_null(en, "target_id", r->target_id);
        add_str_or_null(en, "target_name", r->target_name);
        cJSON_AddBoolToObject(en, "target_gone", r->target_gone);
        add_str_or_null(en, "ip", r->ip);
        cJSON_AddItemToObject(en, "detail", detail ? detail : cJSON_CreateObject());
        cJSON_AddItemToArray(arr, en);
    }
    if (n == limit && n > 0) {
        cJSON_AddNumberToObject(o, "next_before", (double)rows[n - 1].id);
    } else {
        cJSON_AddNullToObject(o, "next_before");
    }
    db_audit_entries_free(rows, n);
    if (o == NULL || arr == NULL) {
        cJSON_Delete(o);
        return svc_fail_nomem(e);
    }
    *out = o;
    return SVC_OK;
}
