/* The server's own notices: no-data alarms, repeats, S6, S7, S9 (see
 * svc_alarm_notice.h, docs/alarms.md). */
#define _POSIX_C_SOURCE 200809L
#include "svc_alarm_notice.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alarm_msg.h"
#include "db_account.h"
#include "db_alarm.h"
#include "db_notice.h"
#include "db_storage.h"
#include "json_out.h"
#include "log.h"
#include "mt/licence.h"
#include "mt/plan.h"
#include "series_store.h"
#include "svc_alarm_eval.h"
#include "svc_notify.h"
#include "svc_tx.h"

/* Rows one run takes at most of each kind (the next run goes on). */
#define RUN_LIMIT 200
/* Accounts read per page by the S7 and S9 sweeps. */
#define ACCOUNTS_PER_PAGE 256

/* --------------------------------------------------------- one notice */

/* How a notice's words are made in one language. */
typedef void (*notice_words_fn)(const void *arg, const char *lang, alarm_words *w);

typedef struct {
    notice_words_fn fn;
    const void *arg;
    alarm_words w;
} notice_render;

static svc_status render_notice(void *arg, const char *language, notify_text *out, svc_error *e)
{
    notice_render *nr = arg;
    (void)e;
    nr->fn(nr->arg, language, &nr->w);
    *out = nr->w.text;
    return SVC_OK;
}

/* Inbox rows (the users who can see group "group_id"; 0 = administrators)
 * and outbox rows (the account's G4 recipients, destinations "dest", and
 * the address "email" when not NULL) of one notice, on "c" inside the
 * caller's transaction. "language" NULL: each target's own. */
static svc_status notice_send(db_conn *c, long long account_id, long long group_id,
                              const char *kind, const char *key, const char *severity,
                              const char *language, notice_words_fn fn, const void *arg,
                              const long long *dest, int n_dest, const char *email,
                              const char *email_lang, const char *data, svc_error *e)
{
    notice_render *nr = calloc(1, sizeof *nr);
    char *tbuf[ALARM_LANGS] = {NULL}, *bbuf[ALARM_LANGS] = {NULL};
    const char *titles[ALARM_LANGS], *bodies[ALARM_LANGS];
    notify_to to[24];
    int n_to = 0;
    long long rows = 0;
    svc_status rc = SVC_OK;
    db_status st;
    if (nr == NULL) {
        return svc_fail_nomem(e);
    }
    for (int i = 0; i < ALARM_LANGS; i++) {
        fn(arg, alarm_langs[i], &nr->w);
        tbuf[i] = strdup(nr->w.title);
        bbuf[i] = strdup(nr->w.body);
        if (tbuf[i] == NULL || bbuf[i] == NULL) {
            rc = svc_fail_nomem(e);
            goto out;
        }
        titles[i] = tbuf[i];
        bodies[i] = bbuf[i];
    }
    if ((st = db_alarm_inbox(c, account_id, group_id, kind, alarm_langs, titles, bodies,
                             ALARM_LANGS, data, &rows)) != DB_OK) {
        rc = svc_fail_db(e, st, NULL);
        goto out;
    }
    memset(to, 0, sizeof to);
    to[n_to++].kind = NOTIFY_TO_SYSTEM;
    for (int i = 0; i < n_dest && n_to < 22; i++) {
        to[n_to].kind = NOTIFY_TO_DESTINATION;
        to[n_to++].id = dest[i];
    }
    if (email != NULL && email[0] != '\0') {
        to[n_to].kind = NOTIFY_TO_EMAIL;
        to[n_to].email = email;
        to[n_to++].language = email_lang;
    }
    {
        notify_msg m;
        notify_result res;
        memset(&m, 0, sizeof m);
        nr->fn = fn;
        nr->arg = arg;
        m.account_id = account_id;
        m.kind = kind;
        m.key = key;
        m.severity = severity;
        m.language = language != NULL && language[0] != '\0' ? language : NULL;
        m.render = render_notice;
        m.render_arg = nr;
        m.to = to;
        m.n_to = n_to;
        rc = svc_notify_enqueue(c, &m, &res, e);
        if (rc == SVC_INVALID) {
            log_error("notice %s: the outbox refused the message: %s", key, e->message);
            rc = SVC_OK;
        }
    }
out:
    for (int i = 0; i < ALARM_LANGS; i++) {
        free(tbuf[i]);
        free(bbuf[i]);
    }
    free(nr);
    return rc;
}

/* ---------------------------------------------------------------- no data */

/* Raise no-data rule "r" (silent since r->since) in its own transaction. */
static int raise_no_data(srv *s, const db_nodata_rule *r, int64_t now_us, long long *done)
{
    db_conn *c = NULL;
    db_alarm_live *rows = NULL;
    int n = 0;
    long long seq = 0, id = 0;
    svc_error err, *e = &err;
    svc_status rc;
    series_col hot;
    int64_t since = r->since;

    svc_error_clear(e);
    memset(&hot, 0, sizeof hot);
    if ((rc = svc_tx_begin(s->pool, &c, e)) != SVC_OK) {
        goto out;
    }
    /* Samples still in the hot table are newer than channel_latest. */
    {
        int64_t ch = r->ch;
        SVC_TRY_DB(series_read_hot(c, r->account_id, &ch, 1, since + 1, INT64_MAX / 2, &hot),
                   NULL);
    }
    if (hot.n > 0 && hot.t[hot.n - 1] > since) {
        since = hot.t[hot.n - 1];
    }
    if (since > now_us - (int64_t)r->minutes * 60000000LL) {
        goto out; /* not silent after all */
    }
    {
        bool d = false;
        SVC_TRY_DB(db_alarm_load_group(c, r->account_id, r->group_id, false, true, &seq, &rows,
                                       &n),
                   NULL);
        /* The group's row too (the evaluator's lock order: group row, then
         * state rows; the load above locked only the states). */
        SVC_TRY_DB(db_alarm_group_lock(c, r->account_id, r->group_id, &seq), NULL);
        for (int i = 0; i < n; i++) {
            if (rows[i].id == r->rule_id && rows[i].no_data && !rows[i].raised) {
                db_alarm_event_in in;
                db_alarm_state_row sr;
                memset(&in, 0, sizeof in);
                in.rule_id = r->rule_id;
                in.kind = "raise";
                in.cause = "silence";
                in.t = since + (int64_t)r->minutes * 60000000LL;
                in.v[0] = mt_sv_value(MT_SV_MISSING);
                in.v[1] = mt_sv_value(MT_SV_MISSING);
                SVC_TRY_DB(db_alarm_event_insert(c, r->account_id, &in, &id), NULL);
                memset(&sr, 0, sizeof sr);
                sr.rule_id = r->rule_id;
                sr.raised = true;
                sr.open_event_id = id;
                sr.last_t = rows[i].last_t;
                sr.last_data_t = since;
                SVC_TRY_DB(db_alarm_save_states(c, r->account_id, &sr, 1), NULL);
                SVC_TRY_DB(db_alarm_group_next(c, r->account_id, r->group_id, &seq), NULL);
                if ((rc = svc_alarm_notify_event(s, c, r->account_id, id, false, 0, e)) !=
                    SVC_OK) {
                    goto out;
                }
                d = true;
            }
        }
        if (d) {
            (*done)++;
        }
    }
out:
    series_col_free(&hot);
    free(rows);
    rc = svc_tx_end(s->pool, c, rc, e, NULL);
    if (rc != SVC_OK) {
        log_error("alarm: no-data rule %lld: %s", r->rule_id, e->message);
        return -1;
    }
    return 0;
}

int svc_alarm_job_no_data(srv *s, int64_t now, long long *done)
{
    db_nodata_rule *cand = calloc(RUN_LIMIT, sizeof *cand);
    db_conn *c = NULL;
    int n = 0, rc = 0;
    int64_t now_us = now * 1000000LL;
    db_status st;
    *done = 0;
    if (cand == NULL) {
        return -1;
    }
    if ((st = db_acquire(s->pool, DB_WAIT_MS, &c)) == DB_OK) {
        st = db_nodata_candidates(c, now_us, cand, RUN_LIMIT, &n);
    }
    db_release(s->pool, c);
    if (st != DB_OK) {
        log_error("alarm: no-data candidates: %s", db_strerror(st));
        free(cand);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        rc |= raise_no_data(s, &cand[i], now_us, done);
    }
    free(cand);
    return rc;
}

/* ----------------------------------------------------------------- repeats */

int svc_alarm_job_repeats(srv *s, int64_t now, long long *done)
{
    long long ids[RUN_LIMIT], accounts[RUN_LIMIT];
    db_conn *c = NULL;
    int n = 0;
    svc_error err, *e = &err;
    svc_status rc;
    *done = 0;
    svc_error_clear(e);
    if ((rc = svc_tx_begin(s->pool, &c, e)) != SVC_OK) {
        goto out;
    }
    SVC_TRY_DB(db_repeats_due(c, now * 1000000LL, ids, accounts, RUN_LIMIT, &n), NULL);
    for (int i = 0; i < n; i++) {
        int rep = 0;
        SVC_TRY_DB(db_repeat_done(c, accounts[i], ids[i], now * 1000000LL, &rep), NULL);
        if ((rc = svc_alarm_notify_event(s, c, accounts[i], ids[i], true, rep, e)) != SVC_OK) {
            goto out;
        }
        (*done)++;
    }
out:
    rc = svc_tx_end(s->pool, c, rc, e, NULL);
    if (rc != SVC_OK) {
        *done = 0;
        log_error("alarm: repeats: %s", e->message);
        return -1;
    }
    return 0;
}

/* --------------------------------------------------------------------- S6 */

static void app_words(const void *arg, const char *lang, alarm_words *w)
{
    const db_app_change *ch = arg;
    alarm_msg_app(ch->connected, strcmp(ch->cause, "app") == 0 || strcmp(ch->cause, "mqtt") == 0,
                  ch->app_name, ch->group_name, ch->local_time, ch->utc_offset, ch->minutes, lang,
                  w);
}

/* The inbox row's data of change "ch" (malloc'd; NULL: no memory): what
 * the portal needs to write the sentence itself in the reader's language
 * and time zone, as it does for alarm notifications: the app, the cause
 * ("data", "app", "mqtt", "timeout"), the time as an instant ("at", UTC)
 * and the group's minutes without data. */
static char *app_data(const db_app_change *ch)
{
    cJSON *o = cJSON_CreateObject();
    char *out = NULL;
    if (o == NULL) {
        return NULL;
    }
    json_add_int(o, "app_id", ch->app_id);
    json_add_int(o, "group_id", ch->group_id);
    if (cJSON_AddBoolToObject(o, "connected", ch->connected) != NULL) {
        json_add_str(o, "app_name", ch->app_name);
        json_add_str(o, "cause", ch->cause);
        json_add_str(o, "at", ch->at);
        json_add_int(o, "minutes", ch->minutes);
        out = cJSON_PrintUnformatted(o);
    }
    cJSON_Delete(o);
    return out;
}

int svc_alarm_job_apps(srv *s, int64_t now, long long *done)
{
    db_conn *c = NULL;
    db_app_change *rows = NULL;
    long long timed_out = 0;
    int n = 0;
    svc_error err, *e = &err;
    svc_status rc;
    *done = 0;
    svc_error_clear(e);
    if ((rc = svc_tx_begin(s->pool, &c, e)) != SVC_OK) {
        goto out;
    }
    SVC_TRY_DB(db_apps_time_out(c, now * 1000000LL, &timed_out), NULL);
    rc = svc_tx_end(s->pool, c, rc, e, NULL);
    c = NULL;
    if (rc != SVC_OK || (rc = svc_tx_begin(s->pool, &c, e)) != SVC_OK) {
        goto out;
    }
    SVC_TRY_DB(db_app_changes(c, RUN_LIMIT, &rows, &n), NULL);
    for (int i = 0; i < n; i++) {
        const db_app_change *ch = &rows[i];
        long long ev = 0;
        char key[96], *data;
        SVC_TRY_DB(db_app_change_done(c, ch, &ev), NULL);
        if (!ch->notice) {
            continue;
        }
        snprintf(key, sizeof key, "notice:app:%lld:%lld", ch->app_id, ev);
        if ((data = app_data(ch)) == NULL) {
            rc = svc_fail_nomem(e);
            goto out;
        }
        rc = notice_send(c, ch->account_id, ch->group_id,
                         ch->connected ? "notice.app_connected" : "notice.app_disconnected", key,
                         ch->connected ? "ok" : "warning", ch->language, app_words, ch, ch->dest,
                         ch->n_dest, NULL, NULL, data, e);
        free(data);
        if (rc != SVC_OK) {
            goto out;
        }
        (*done)++;
    }
out:
    free(rows);
    rc = svc_tx_end(s->pool, c, rc, e, NULL);
    if (rc != SVC_OK) {
        *done = 0;
        log_error("alarm: app connections: %s", e->message);
        return -1;
    }
    *done += timed_out;
    return 0;
}

/* ------------------------------------------------------------------ S7, S9 */

typedef struct {
    const db_notice_account *a;
    int percent;
    long long limit;
} storage_arg;

static void storage_words(const void *arg, const char *lang, alarm_words *w)
{
    const storage_arg *x = arg;
    alarm_msg_storage(x->a->name, x->percent, x->a->used, x->limit, lang, w);
}

typedef struct {
    const db_notice_account *a;
    const char *plan_title;
    char expiry[MT_CAL_DATE_LEN];
    int days_left;
    bool expired;
} licence_arg;

static void licence_words(const void *arg, const char *lang, alarm_words *w)
{
    const licence_arg *x = arg;
    alarm_msg_licence(x->a->name, x->plan_title, x->expiry, x->days_left, x->expired, lang, w);
}

/* The plan in force for "a" at "now_us" (L3: a lapsed licence is Free). */
static mt_plan effective(const db_notice_account *a, int64_t now_us)
{
    mt_plan stored = MT_PLAN_FREE, eff;
    mt_error err;
    if (mt_plan_from_name(a->plan, &stored, &err) != MT_OK) {
        return MT_PLAN_FREE;
    }
    if (!a->has_expiry ||
        mt_licence_effective_plan(stored, a->expiry, now_us, &eff, &err) != MT_OK) {
        return stored;
    }
    return eff;
}

/* The storage quota of the plan in force for "a" at "now_us" into *limit;
 * false when it has none. */
static bool storage_limit(const db_notice_account *a, int64_t now_us, long long *limit)
{
    mt_plan_entry pe;
    mt_error err;
    if (mt_plan_get(effective(a, now_us), MT_Q_STORAGE, &pe, &err) != MT_OK || pe.limit <= 0) {
        return false;
    }
    *limit = pe.limit;
    return true;
}

/* What S7 has to do for "a" at "now_us" (from its row alone): the notice
 * once below 10 % left, re-armed at 12 %. */
typedef enum { S7_NONE, S7_NOTIFY, S7_REARM } s7_step;

static s7_step storage_step(const db_notice_account *a, int64_t now_us, long long *limit,
                            long long *left_pct)
{
    if (!storage_limit(a, now_us, limit)) {
        return S7_NONE;
    }
    *left_pct = a->used >= *limit ? 0 : (*limit - a->used) * 100 / *limit;
    if (*left_pct < ALARM_STORAGE_LOW_PERCENT && !a->storage_low) {
        return S7_NOTIFY;
    }
    if (*left_pct >= ALARM_STORAGE_REARM_PERCENT && a->storage_low) {
        return S7_REARM;
    }
    return S7_NONE;
}

/* S7 for account "a": the notice once below 10 %, re-armed above 12 %. */
static svc_status storage_one(srv *s, db_conn *c, const db_notice_account *a, int64_t now_us,
                              long long *done, svc_error *e)
{
    long long limit = 0, left_pct = 0;
    db_status st;
    s7_step step = storage_step(a, now_us, &limit, &left_pct);
    (void)s;
    if (step == S7_NOTIFY) {
        bool fresh = false;
        long long stamp = 0;
        char key[96];
        storage_arg x = {a, (int)left_pct, limit};
        if ((st = db_notice_claim(c, a->id, "storage_low", &fresh, &stamp)) != DB_OK) {
            return svc_fail_db(e, st, NULL);
        }
        if (!fresh) {
            return SVC_OK;
        }
        snprintf(key, sizeof key, "notice:storage_low:%lld:%lld", a->id, stamp);
        (*done)++;
        return notice_send(c, a->id, 0, "notice.storage_low", key, "warning", NULL,
                           storage_words, &x, NULL, 0, NULL, NULL, "{}", e);
    }
    if (step == S7_REARM && (st = db_notice_release(c, a->id, "storage_low")) != DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    return SVC_OK;
}

/* ------------------------------------------------------------------ S8, L3 */

/* Days an account may stay over its storage quota before everything it
 * stores is deleted (S8, L3). */
#define OVER_QUOTA_DAYS 31

typedef struct {
    const db_notice_account *a;
    long long used, limit;
    db_quota_removed removed;
    char deadline[16];
} over_arg;

static void over_words(const void *arg, const char *lang, alarm_words *w)
{
    const over_arg *x = arg;
    alarm_msg_over_quota(x->a->name, x->used, x->limit, x->deadline, lang, w);
}

static void over_deleted_words(const void *arg, const char *lang, alarm_words *w)
{
    const over_arg *x = arg;
    alarm_msg_over_quota_deleted(x->a->name, x->limit, &x->removed, lang, w);
}

/* S8 / L3 for account "a" at "now_us": over the quota of its plan in force,
 * the period starts and the contract holder (and the administrators'
 * inbox) is told the deadline, 31 days later; back under the quota, the
 * period ends; still over at the deadline (counted again under the
 * account's lock, so that files deleted a moment before count), everything
 * the quota counts but the logo is deleted (acquired data, drive files with
 * report files, dashboard pictures: "all stored data", L3), recorded and the
 * deletion told with what went. Ingestion goes on meanwhile. */
typedef enum { S8_NONE, S8_END, S8_START, S8_DEADLINE } s8_step;

/* What S8 has to do for "a" at "now_us" (from its row alone): end the
 * period (within the quota again), start it (over), or its deadline. */
static s8_step over_quota_step(const db_notice_account *a, int64_t now_us, long long *limit)
{
    if (!storage_limit(a, now_us, limit)) {
        return S8_NONE;
    }
    if (a->used <= *limit) {
        return a->over_since >= 0 ? S8_END : S8_NONE;
    }
    if (a->over_since < 0) {
        return S8_START;
    }
    return now_us / 1000000 >= a->over_since + OVER_QUOTA_DAYS * 86400LL ? S8_DEADLINE : S8_NONE;
}

static svc_status over_quota_one(db_conn *c, const db_notice_account *a, int64_t now_us,
                                 long long *done, svc_error *e)
{
    long long limit = 0;
    int64_t now = now_us / 1000000;
    over_arg x;
    char key[96];
    db_status st;
    s8_step step = over_quota_step(a, now_us, &limit);
    if (step == S8_NONE) {
        return SVC_OK;
    }
    if (step == S8_END) {
        if ((st = db_notice_over_quota(c, a->id, -1)) != DB_OK) {
            return svc_fail_db(e, st, NULL);
        }
        log_info("storage: account %lld is within its quota again (S8)", a->id);
        return SVC_OK;
    }
    memset(&x, 0, sizeof x);
    x.a = a;
    x.used = a->used;
    x.limit = limit;
    if (step == S8_START) {
        time_t deadline = (time_t)(now + OVER_QUOTA_DAYS * 86400LL);
        struct tm tm;
        gmtime_r(&deadline, &tm);
        strftime(x.deadline, sizeof x.deadline, "%Y-%m-%d", &tm);
        if ((st = db_notice_over_quota(c, a->id, (long long)now)) != DB_OK) {
            return svc_fail_db(e, st, NULL);
        }
        snprintf(key, sizeof key, "notice:over_quota:%lld:%lld", a->id, (long long)now);
        log_info("storage: account %lld over its quota (%lld of %lld bytes): everything it "
                 "stores deleted on %s unless below it by then (S8)",
                 a->id, (long long)a->used, limit, x.deadline);
        (*done)++;
        return notice_send(c, a->id, 0, "notice.over_quota", key, "warning", NULL, over_words, &x,
                           NULL, 0, a->subscriber_email, a->language, "{}", e);
    }
    {
        bool found = false;
        long long used = 0;
        if ((st = db_account_lock(c, a->id, &found)) != DB_OK ||
            (found && (st = db_storage_used(c, a->id, &used)) != DB_OK)) {
            return svc_fail_db(e, st, NULL);
        }
        if (!found) {
            return SVC_OK;
        }
        if (used <= limit) {
            /* Freed in the meantime: the period ends, nothing is deleted. */
            if ((st = db_notice_over_quota(c, a->id, -1)) != DB_OK) {
                return svc_fail_db(e, st, NULL);
            }
            log_info("storage: account %lld is within its quota again at its deadline (S8)",
                     a->id);
            return SVC_OK;
        }
        x.used = used;
    }
    if ((st = db_notice_delete_stored(c, a->id, (long long)a->over_since, (long long)now, x.used,
                                      limit, &x.removed)) != DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    snprintf(key, sizeof key, "notice:over_quota_deleted:%lld:%lld", a->id,
             (long long)a->over_since);
    log_info("storage: account %lld over its quota since %lld: everything it stored deleted "
             "(%lld bytes: acquired data %lld, %lld drive files %lld, %lld pictures %lld; S8, L3)",
             a->id, (long long)a->over_since, x.removed.bytes, x.removed.data_bytes,
             x.removed.drive_files, x.removed.drive_bytes, x.removed.pictures,
             x.removed.picture_bytes);
    (*done)++;
    return notice_send(c, a->id, 0, "notice.over_quota_deleted", key, "warning", NULL,
                       over_deleted_words, &x, NULL, 0, a->subscriber_email, a->language, "{}",
                       e);
}

/* Core's calendar of S9 notices for "a" into "cal" (*n of them) and its
 * stored plan; false when it has none (no expiry, not Standard or Pro). */
static bool licence_calendar(const db_notice_account *a, mt_plan *plan,
                             mt_licence_notice cal[MT_LICENCE_NOTICE_MAX], size_t *n)
{
    mt_error err;
    *n = 0;
    return a->has_expiry && mt_plan_from_name(a->plan, plan, &err) == MT_OK &&
           (*plan == MT_PLAN_STANDARD || *plan == MT_PLAN_PRO) &&
           mt_licence_notices(a->expiry, cal, MT_LICENCE_NOTICE_MAX, n, &err) == MT_OK;
}

/* Whether notice "x" of the calendar is to be sent at "now_us": from its
 * instant until the end of that day (a server down at 08:00 CST sends it
 * when it is back the same day; a notice a whole day late is not sent, the
 * next one of the calendar is). */
static bool licence_notice_now(const mt_licence_notice *x, int64_t now_us)
{
    return now_us >= x->at && now_us < x->at + 86400000000LL;
}

/* S9 for account "a": the notice of core's calendar whose day is today
 * (from its 08:00 CST send instant), once. */
static svc_status licence_one(db_conn *c, const db_notice_account *a, int64_t now_us,
                              long long *done, svc_error *e)
{
    mt_licence_notice cal[MT_LICENCE_NOTICE_MAX];
    size_t n = 0;
    mt_error err;
    mt_plan plan;
    if (!licence_calendar(a, &plan, cal, &n)) {
        return SVC_OK;
    }
    for (size_t i = 0; i < n; i++) {
        licence_arg x;
        char key[96], day[MT_CAL_DATE_LEN];
        bool fresh = false;
        db_status st;
        if (!licence_notice_now(&cal[i], now_us)) {
            continue;
        }
        memset(&x, 0, sizeof x);
        x.a = a;
        x.plan_title = mt_plan_title(plan);
        x.expired = cal[i].kind == MT_NOTICE_EXPIRED;
        x.days_left = (int)(a->expiry - cal[i].day);
        if (mt_cal_format_date(a->expiry, x.expiry, sizeof x.expiry, &err) != MT_OK ||
            mt_cal_format_date(cal[i].day, day, sizeof day, &err) != MT_OK) {
            return SVC_OK;
        }
        snprintf(key, sizeof key, "licence:%s:%s", x.expiry, day);
        if ((st = db_notice_claim(c, a->id, key, &fresh, NULL)) != DB_OK) {
            return svc_fail_db(e, st, NULL);
        }
        if (!fresh) {
            continue;
        }
        {
            char okey[128], data[96];
            snprintf(okey, sizeof okey, "notice:%s", key);
            snprintf(data, sizeof data, "{\"notice\": \"%s\", \"expiry\": \"%s\"}",
                     mt_notice_kind_name(cal[i].kind), x.expiry);
            (*done)++;
            return notice_send(c, a->id, 0, "notice.licence", okey,
                               x.expired ? "alert" : "warning", NULL, licence_words, &x, NULL,
                               0, a->subscriber_email, a->language, data, e);
        }
    }
    return SVC_OK;
}

/* Whether account "a" has anything to do at "now_us" (decided from its row
 * alone, as the work itself decides): most accounts of a round have
 * nothing, and take no transaction. */
static bool account_due(const db_notice_account *a, int64_t now_us, bool licence)
{
    if (licence) {
        mt_licence_notice cal[MT_LICENCE_NOTICE_MAX];
        size_t n = 0;
        mt_plan plan;
        if (!licence_calendar(a, &plan, cal, &n)) {
            return false;
        }
        for (size_t i = 0; i < n; i++) {
            if (licence_notice_now(&cal[i], now_us)) {
                return true;
            }
        }
        return false;
    }
    long long limit = 0, left_pct = 0;
    return storage_step(a, now_us, &limit, &left_pct) != S7_NONE ||
           over_quota_step(a, now_us, &limit) != S8_NONE;
}

/* Accounts whose work shares one transaction: one commit (one WAL flush)
 * for them all, each in a savepoint of its own, so that a failing account
 * is undone alone and the others' work is kept. At most 32: each account
 * that writes takes a subtransaction id, and PostgreSQL caches only 64 per
 * transaction before other sessions' snapshots must look them up. */
#define ACCOUNTS_PER_TX 32

/* The work of the due accounts among rows[*i ..] ("n" rows), at most
 * ACCOUNTS_PER_TX of them, in one transaction; *i is moved past them.
 * Returns 0, or -1 when the transaction itself failed (nothing of it is
 * kept; logged). */
static int run_batch(srv *s, const db_notice_account *rows, int n, int *i, int64_t now_us,
                     long long *done, bool licence)
{
    long long done_before = *done;
    db_conn *c = NULL;
    svc_error e;
    svc_status rc;
    int taken = 0;
    svc_error_clear(&e);
    rc = svc_tx_begin(s->pool, &c, &e);
    for (; rc == SVC_OK && *i < n && taken < ACCOUNTS_PER_TX; (*i)++) {
        const db_notice_account *a = &rows[*i];
        long long done_account = *done;
        svc_error ae;
        svc_status arc;
        db_status st;
        if (!account_due(a, now_us, licence)) {
            continue;
        }
        taken++;
        svc_error_clear(&ae);
        if ((st = db_savepoint(c)) != DB_OK) {
            rc = svc_fail_db(&e, st, NULL);
            break;
        }
        arc = licence ? licence_one(c, a, now_us, done, &ae)
                      : storage_one(s, c, a, now_us, done, &ae);
        if (arc == SVC_OK && !licence) {
            arc = over_quota_one(c, a, now_us, done, &ae);
        }
        if (arc == SVC_OK) {
            st = db_savepoint_release(c);
        } else {
            log_error("notices: account %lld: %s", a->id, ae.message);
            *done = done_account;
            st = db_savepoint_rollback(c);
        }
        if (st != DB_OK) {
            rc = svc_fail_db(&e, st, NULL);
            break;
        }
    }
    rc = svc_tx_end(s->pool, c, rc, &e, NULL);
    if (rc != SVC_OK) {
        log_error("notices: accounts from %lld on: %s", rows[*i < n ? *i : n - 1].id, e.message);
        *done = done_before;
        return -1;
    }
    return 0;
}

/* Run "one" (storage or licence) over every account, a page at a time;
 * the accounts with something to do ACCOUNTS_PER_TX to a transaction. A
 * failed transaction ends the round (the next round does that work). */
static int each_account(srv *s, int64_t now, long long *done, bool licence)
{
    long long after = 0;
    int64_t now_us = now * 1000000LL;
    *done = 0;
    for (;;) {
        db_notice_account *rows = NULL;
        db_conn *c = NULL;
        int n = 0, i = 0;
        db_status st = db_acquire(s->pool, DB_WAIT_MS, &c);
        if (st == DB_OK) {
            st = db_notice_accounts(c, after, ACCOUNTS_PER_PAGE, &rows, &n);
        }
        db_release(s->pool, c);
        if (st != DB_OK) {
            log_error("notices: accounts: %s", db_strerror(st));
            return -1;
        }
        while (i < n) {
            while (i < n && !account_due(&rows[i], now_us, licence)) {
                i++;
            }
            if (i < n && run_batch(s, rows, n, &i, now_us, done, licence) != 0) {
                free(rows);
                return -1;
            }
        }
        if (n > 0) {
            after = rows[n - 1].id;
        }
        free(rows);
        if (n < ACCOUNTS_PER_PAGE) {
            return 0;
        }
    }
}

int svc_alarm_job_storage(srv *s, int64_t now, long long *done)
{
    return each_account(s, now, done, false);
}

int svc_alarm_job_licence(srv *s, int64_t now, long long *done)
{
    return each_account(s, now, done, true);
}
