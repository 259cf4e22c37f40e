/* The operator's services (see svc_ops.h). */
#define _XOPEN_SOURCE 700 /* nftw */
#include "svc_ops.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "isotime.h"
#include "log.h"
#include "maintenance.h"
#include "mt/licence.h"
#include "svc_tx.h"

/* Accounts a job deletes at most per round (each takes all its rows). */
#define DELETIONS_PER_ROUND 20

bool svc_ops_queues(srv *s, int wait_ms, db_ops_queues *out)
{
    db_conn *c = NULL;
    db_status st = db_acquire(s->pool, wait_ms, &c);
    memset(out, 0, sizeof *out);
    if (st == DB_OK) {
        st = db_ops_queue_depths(c, (long long)auth_now(), out);
    }
    db_release(s->pool, c);
    return st == DB_OK;
}

mt_plan svc_ops_plan_in_force(const char *plan, long long expiry_day, int64_t now_us)
{
    mt_plan stored = MT_PLAN_FREE, eff;
    mt_error err;
    if (plan == NULL || mt_plan_from_name(plan, &stored, &err) != MT_OK) {
        return MT_PLAN_FREE;
    }
    if (expiry_day < 0 ||
        mt_licence_effective_plan(stored, (mt_day)expiry_day, now_us, &eff, &err) != MT_OK) {
        return stored;
    }
    return eff;
}

static void add_str(cJSON *o, const char *name, const char *v)
{
    if (v != NULL) {
        cJSON_AddStringToObject(o, name, v);
    } else {
        cJSON_AddNullToObject(o, name);
    }
}

static cJSON *account_json(const db_ops_account_row *a, int64_t now_us)
{
    cJSON *o = cJSON_CreateObject(), *st;
    mt_plan eff = svc_ops_plan_in_force(a->plan, a->expiry_day, now_us);
    mt_plan_entry pe;
    mt_error err;
    if (o == NULL) {
        return NULL;
    }
    cJSON_AddNumberToObject(o, "id", (double)a->id);
    add_str(o, "login_id", a->login_id);
    add_str(o, "name", a->name);
    add_str(o, "plan", a->plan);
    cJSON_AddStringToObject(o, "plan_in_force", mt_plan_name(eff));
    add_str(o, "status", a->status);
    add_str(o, "frozen_reason", a->frozen_reason);
    add_str(o, "frozen_at", a->frozen_at);
    add_str(o, "created_at", a->created_at);
    add_str(o, "trial_expires_at", a->trial_expires_at);
    add_str(o, "licence_expiry", a->licence_expiry);
    add_str(o, "contract_ends_at", a->contract_ends_at);
    add_str(o, "contract_holder_email",
            a->subscriber_email != NULL && a->subscriber_email[0] ? a->subscriber_email : NULL);
    cJSON_AddNumberToObject(o, "users", (double)a->users);
    st = cJSON_AddObjectToObject(o, "storage");
    if (st != NULL) {
        cJSON_AddNumberToObject(st, "used", (double)a->storage_used);
        cJSON_AddNumberToObject(st, "limit", mt_plan_get(eff, MT_Q_STORAGE, &pe, &err) == MT_OK
                                                 ? (double)pe.limit
                                                 : 0);
    }
    return o;
}

svc_status svc_ops_accounts(srv *s, long long after, int limit, const char *status,
                            const char *plan, const char *q, cJSON **out, svc_error *e)
{
    db_conn *c = NULL;
    db_ops_account_row *rows = NULL;
    int n = 0;
    int64_t now_us = auth_now() * 1000000LL;
    db_status st;
    cJSON *items;
    *out = NULL;
    if ((st = db_acquire(s->pool, DB_WAIT_MS, &c)) == DB_OK) {
        st = db_ops_accounts(c, after, limit, status, plan, q, &rows, &n);
    }
    db_release(s->pool, c);
    if (st != DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    *out = cJSON_CreateObject();
    items = *out != NULL ? cJSON_AddArrayToObject(*out, "items") : NULL;
    for (int i = 0; items != NULL && i < n; i++) {
        cJSON *a = account_json(&rows[i], now_us);
        if (a == NULL) {
            items = NULL;
            break;
        }
        cJSON_AddItemToArray(items, a);
    }
    if (items == NULL) {
        db_ops_accounts_free(rows, n);
        cJSON_Delete(*out);
        *out = NULL;
        return svc_fail_nomem(e);
    }
    if (n == limit) {
        cJSON_AddNumberToObject(*out, "next_after", (double)rows[n - 1].id);
    } else {
        cJSON_AddNullToObject(*out, "next_after");
    }
    db_ops_accounts_free(rows, n);
    return SVC_OK;
}

/* The account "id" read on "c" into *out. */
static svc_status account_on(db_conn *c, long long id, cJSON **out, svc_error *e)
{
    db_ops_account_row a;
    bool found = false;
    db_status st = db_ops_account(c, id, &a, &found);
    *out = NULL;
    if (st != DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    if (!found) {
        return svc_fail(e, SVC_NOT_FOUND, NULL, NULL, "no account %lld", id);
    }
    *out = account_json(&a, auth_now() * 1000000LL);
    db_ops_account_clear(&a);
    return *out != NULL ? SVC_OK : svc_fail_nomem(e);
}

svc_status svc_ops_account(srv *s, long long id, cJSON **out, svc_error *e)
{
    db_conn *c = NULL;
    db_status st = db_acquire(s->pool, DB_WAIT_MS, &c);
    svc_status rc;
    *out = NULL;
    if (st != DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    rc = account_on(c, id, out, e);
    db_release(s->pool, c);
    return rc;
}

svc_status svc_ops_freeze(srv *s, long long id, const char *reason, cJSON **out, svc_error *e)
{
    db_conn *c = NULL;
    bool found = false;
    svc_status rc;
    *out = NULL;
    if ((rc = svc_tx_begin(s->pool, &c, e)) != SVC_OK) {
        return rc;
    }
    SVC_TRY_DB(db_ops_freeze(c, id, reason, (long long)auth_now(), &found), NULL);
    if (!found) {
        rc = svc_fail(e, SVC_NOT_FOUND, NULL, NULL, "no account %lld", id);
        goto out;
    }
    rc = account_on(c, id, out, e);
out:
    rc = svc_tx_end(s->pool, c, rc, e, NULL);
    if (rc != SVC_OK) {
        cJSON_Delete(*out);
        *out = NULL;
        return rc;
    }
    /* The trigger tells every process; this one forgets at once too. */
    auth_forget_identities();
    log_info("ops: account %lld %s%s", id, reason ? "frozen (L8): " : "made active again",
             reason ? reason : "");
    return SVC_OK;
}

svc_status svc_ops_contract_end(srv *s, long long id, long long at_s, cJSON **out, svc_error *e)
{
    db_conn *c = NULL;
    bool found = false;
    svc_status rc;
    *out = NULL;
    if (at_s != 0 && at_s <= (long long)auth_now()) {
        return svc_fail(e, SVC_INVALID, NULL, "at",
                        "the contract's end must be in the future (to delete now, use delete)");
    }
    if ((rc = svc_tx_begin(s->pool, &c, e)) != SVC_OK) {
        return rc;
    }
    SVC_TRY_DB(db_ops_contract_end(c, id, at_s, &found), NULL);
    if (!found) {
        rc = svc_fail(e, SVC_NOT_FOUND, NULL, NULL, "no account %lld", id);
        goto out;
    }
    rc = account_on(c, id, out, e);
out:
    rc = svc_tx_end(s->pool, c, rc, e, NULL);
    if (rc != SVC_OK) {
        cJSON_Delete(*out);
        *out = NULL;
    }
    return rc;
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    if (remove(path) != 0) {
        log_warn("ops: cannot remove %s", path);
    }
    return 0;
}

/* Files an account kept on this server's disk (drive files and exports in
 * DATA/drive/<id>, DATA/exports/<id>): removed with the account, not left
 * for the drive's sweep (O4: irreversible now, not at the next round). */
static void remove_account_files(const srv *s, long long id)
{
    static const char *const dirs[] = {"drive", "exports"};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        char path[4096];
        if (snprintf(path, sizeof path, "%s/%s/%lld", s->cfg.data_dir, dirs[i], id) >=
                (int)sizeof path ||
            access(path, F_OK) != 0) {
            continue;
        }
        (void)nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    }
}

/* Delete "id" in a transaction of its own with "reason"; *record as in
 * db_ops_delete_account() (NULL for none). */
static svc_status delete_one(srv *s, long long id, const char *confirm, const char *reason,
                             char **record, svc_error *e)
{
    db_conn *c = NULL;
    bool found = false;
    svc_status rc;
    *record = NULL;
    if ((rc = svc_tx_begin(s->pool, &c, e)) != SVC_OK) {
        return rc;
    }
    if (confirm != NULL) {
        db_ops_account_row a;
        char id_text[24];
        SVC_TRY_DB(db_ops_account(c, id, &a, &found), NULL);
        if (!found) {
            rc = svc_fail(e, SVC_NOT_FOUND, NULL, NULL, "no account %lld", id);
            goto out;
        }
        snprintf(id_text, sizeof id_text, "%lld", id);
        if (strcmp(confirm, a.login_id != NULL ? a.login_id : id_text) != 0) {
            rc = svc_fail(e, SVC_INVALID, "confirm_mismatch", "confirm",
                          "'confirm' must be the account's login ID (a Trial's: its number)");
        }
        db_ops_account_clear(&a);
        if (rc != SVC_OK) {
            goto out;
        }
    }
    SVC_TRY_DB(db_ops_delete_account(c, id, reason, (long long)auth_now(), record, &found), NULL);
    if (!found) {
        rc = svc_fail(e, SVC_NOT_FOUND, NULL, NULL, "no account %lld", id);
    }
out:
    rc = svc_tx_end(s->pool, c, rc, e, NULL);
    if (rc != SVC_OK) {
        free(*record);
        *record = NULL;
        return rc;
    }
    remove_account_files(s, id);
    auth_forget_identities(); /* its sessions and tokens went with it */
    log_info("ops: account %lld deleted (%s): %s", id, reason, *record);
    return SVC_OK;
}

svc_status svc_ops_delete(srv *s, long long id, const char *confirm, const char *reason,
                          char **record, svc_error *e)
{
    return delete_one(s, id, confirm, reason, record, e);
}

svc_status svc_ops_deletions(srv *s, long long before, int limit, char **json, svc_error *e)
{
    db_conn *c = NULL;
    db_status st = db_acquire(s->pool, DB_WAIT_MS, &c);
    *json = NULL;
    if (st == DB_OK) {
        st = db_ops_deletions(c, before, limit, json);
    }
    db_release(s->pool, c);
    return st == DB_OK ? SVC_OK : svc_fail_db(e, st, NULL);
}

typedef db_status (*due_fn)(db_conn *c, long long now_s, int limit, long long *ids, int *n);

/* Delete every account "due" names at "now", each in its own transaction. */
static int delete_due(srv *s, int64_t now, due_fn due, const char *reason, long long *done)
{
    long long ids[DELETIONS_PER_ROUND];
    int n = 0;
    db_conn *c = NULL;
    db_status st = db_acquire(s->pool, DB_WAIT_MS, &c);
    *done = 0;
    if (st == DB_OK) {
        st = due(c, (long long)now, DELETIONS_PER_ROUND, ids, &n);
    }
    db_release(s->pool, c);
    if (st != DB_OK) {
        log_error("jobs: %s deletions: %s", reason, db_strerror(st));
        return -1;
    }
    for (int i = 0; i < n; i++) {
        svc_error e;
        char *record = NULL;
        svc_error_clear(&e);
        if (delete_one(s, ids[i], NULL, reason, &record, &e) == SVC_OK) {
            (*done)++;
        } else if (e.status != SVC_NOT_FOUND) { /* another process took it meanwhile */
            log_error("jobs: account %lld (%s): %s", ids[i], reason, e.message);
        }
        free(record);
    }
    return 0;
}

int svc_ops_job_contracts(srv *s, int64_t now, long long *done)
{
    return delete_due(s, now, db_ops_contracts_ended, "contract_end", done);
}

int svc_ops_job_trials(srv *s, int64_t now, long long *done)
{
    return delete_due(s, now, db_ops_trials_ended, "trial_expired", done);
}

/* ------------------------------------------------- maintenance windows (O1) */

/* Announced this long before the start unless the operator says otherwise. */
#define MAINT_ANNOUNCE_S (72 * 3600)
#define MAINT_LONGEST_S (12 * 3600)
#define MAINT_AHEAD_S (366 * 86400)

static void add_time(cJSON *o, const char *name, int64_t t)
{
    char buf[ISO_TIME_LEN + 8];
    if (iso_time_format(t, buf, sizeof buf) == 0) {
        cJSON_AddStringToObject(o, name, buf);
    } else {
        cJSON_AddNullToObject(o, name);
    }
}

static cJSON *window_json(long long id, int64_t announce_at, int64_t starts_at, int64_t ends_at,
                          int64_t now)
{
    cJSON *o = cJSON_CreateObject();
    if (o == NULL) {
        return NULL;
    }
    cJSON_AddNumberToObject(o, "id", (double)id);
    add_time(o, "announce_at", announce_at);
    add_time(o, "starts_at", starts_at);
    add_time(o, "ends_at", ends_at);
    cJSON_AddBoolToObject(o, "in_progress", starts_at <= now && now < ends_at);
    return o;
}

/* The open windows at "now" on "c" into "w" (*n). */
static db_status open_windows(db_conn *c, int64_t now, db_ops_window *w, int *n)
{
    return db_ops_maintenance_open(c, (long long)now, w, MAINT_MAX, n);
}

int svc_ops_maintenance_reload(srv *s)
{
    db_ops_window rows[MAINT_MAX];
    maint_window w[MAINT_MAX];
    int n = 0;
    db_conn *c = NULL;
    db_status st = db_acquire(s->pool, DB_WAIT_MS, &c);
    if (st == DB_OK) {
        st = open_windows(c, auth_now(), rows, &n);
    }
    db_release(s->pool, c);
    if (st != DB_OK) {
        log_warn("maintenance: cannot read the schedule (%s): keeping the one in memory",
                 db_strerror(st));
        return -1;
    }
    for (int i = 0; i < n; i++) {
        w[i] = (maint_window){rows[i].id, rows[i].announce_at, rows[i].starts_at,
                              rows[i].ends_at};
    }
    maint_set(w, n);
    return 0;
}

int svc_ops_job_maintenance(srv *s, int64_t now, long long *done)
{
    (void)now;
    *done = 0;
    return svc_ops_maintenance_reload(s);
}

svc_status svc_ops_maintenance_list(srv *s, cJSON **out, svc_error *e)
{
    db_ops_window rows[MAINT_MAX];
    int n = 0;
    int64_t now = auth_now();
    db_conn *c = NULL;
    db_status st = db_acquire(s->pool, DB_WAIT_MS, &c);
    cJSON *items;
    *out = NULL;
    if (st == DB_OK) {
        st = open_windows(c, now, rows, &n);
    }
    db_release(s->pool, c);
    if (st != DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    *out = cJSON_CreateObject();
    items = *out != NULL ? cJSON_AddArrayToObject(*out, "items") : NULL;
    for (int i = 0; items != NULL && i < n; i++) {
        cJSON *o = window_json(rows[i].id, rows[i].announce_at, rows[i].starts_at,
                               rows[i].ends_at, now);
        if (o == NULL) {
            items = NULL;
            break;
        }
        cJSON_AddItemToArray(items, o);
    }
    if (items == NULL) {
        cJSON_Delete(*out);
        *out = NULL;
        return svc_fail_nomem(e);
    }
    return SVC_OK;
}

svc_status svc_ops_maintenance_add(srv *s, int64_t announce_at, int64_t starts_at,
                                   int64_t ends_at, cJSON **out, svc_error *e)
{
    int64_t now = auth_now();
    db_ops_window w;
    db_conn *c = NULL;
    db_status st;
    *out = NULL;
    if (ends_at <= starts_at) {
        return svc_fail(e, SVC_INVALID, NULL, "ends_at", "the window must end after it starts");
    }
    if (ends_at - starts_at > MAINT_LONGEST_S) {
        return svc_fail(e, SVC_INVALID, NULL, "ends_at", "a window lasts at most 12 hours");
    }
    if (ends_at <= now) {
        return svc_fail(e, SVC_INVALID, NULL, "ends_at", "the window is already over");
    }
    if (starts_at > now + MAINT_AHEAD_S) {
        return svc_fail(e, SVC_INVALID, NULL, "starts_at",
                        "a window is scheduled at most a year ahead");
    }
    if (announce_at < 0) {
        announce_at = starts_at - MAINT_ANNOUNCE_S > now ? starts_at - MAINT_ANNOUNCE_S : now;
        if (announce_at > starts_at) {
            announce_at = starts_at;
        }
    } else if (announce_at > starts_at) {
        return svc_fail(e, SVC_INVALID, NULL, "announce_at",
                        "the announcement must come at or before the start");
    }
    w = (db_ops_window){0, announce_at, starts_at, ends_at, now};
    if ((st = db_acquire(s->pool, DB_WAIT_MS, &c)) == DB_OK) {
        st = db_ops_maintenance_add(c, &w, &w.id);
    }
    db_release(s->pool, c);
    if (st != DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    (void)svc_ops_maintenance_reload(s);
    log_info("maintenance: window %lld scheduled from %lld to %lld (announced from %lld)", w.id,
             (long long)starts_at, (long long)ends_at, (long long)announce_at);
    *out = window_json(w.id, announce_at, starts_at, ends_at, now);
    return *out != NULL ? SVC_OK : svc_fail_nomem(e);
}

svc_status svc_ops_maintenance_cancel(srv *s, long long id, svc_error *e)
{
    bool found = false;
    db_conn *c = NULL;
    db_status st = db_acquire(s->pool, DB_WAIT_MS, &c);
    if (st == DB_OK) {
        st = db_ops_maintenance_cancel(c, id, (long long)auth_now(), &found);
    }
    db_release(s->pool, c);
    if (st != DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    if (!found) {
        return svc_fail(e, SVC_NOT_FOUND, NULL, NULL, "no open maintenance window %lld", id);
    }
    (void)svc_ops_maintenance_reload(s);
    log_info("maintenance: window %lld cancelled", id);
    return SVC_OK;
}

cJSON *svc_ops_maintenance_now(int64_t now)
{
    maint_window w;
    cJSON *o = cJSON_CreateObject();
    if (o == NULL) {
        return NULL;
    }
    if (maint_current(now, &w)) {
        cJSON *x = window_json(w.id, w.announce_at, w.starts_at, w.ends_at, now);
        if (x == NULL) {
            cJSON_Delete(o);
            return NULL;
        }
        cJSON_AddItemToObject(o, "window", x);
    } else {
        cJSON_AddNullToObject(o, "window");
    }
    return o;
}

void svc_ops_pool(srv *s, int *size, int *idle, int *waiting)
{
    db_pool_stats(s->pool, size, idle, waiting);
}
