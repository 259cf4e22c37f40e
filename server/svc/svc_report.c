/* Reports: settings, runs, the scheduler and the making of a report (see
 * svc_report.h, docs/reports.md). */
#define _POSIX_C_SOURCE 200809L
#include "svc_report.h"

#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "alarm_msg.h"
#include "auth.h"
#include "db_account.h"
#include "db_computed.h"
#include "db_drive.h"
#include "db_series.h"
#include "log.h"
#include "mt/caltime.h"
#include "report_csv.h"
#include "report_pdf.h"
#include "report_text.h"
#include "report_xlsx.h"
#include "series_store.h"
#include "svc_account.h"
#include "svc_alarm.h"
#include "svc_data.h"
#include "svc_drive.h"
#include "svc_notify.h"
#include "svc_tx.h"

#define US_PER_S 1000000LL
#define DAY_US (86400LL * US_PER_S)
/* Chart buckets: a pixel column or two of the chart; periods longer than
 * 8 days are drawn from whole hours (the stored hourly summaries). */
#define CHART_BUCKETS 1000
#define CHART_HOURS_AFTER_DAYS 8
/* Samples per read of the per-sample table (a dense day is cut in parts). */
#define ROWS_CHUNK_SAMPLES 4000000

/* ---------------------------------------------------------------- access */

static db_status access_of(db_conn *c, const svc_actor *a, long long group_id, cx_access *acc)
{
    return db_cx_group_access(c, a->account_id, a->user_id, a->admin, group_id, acc);
}

static svc_status require(cx_access acc, bool edit, const char *what, svc_error *e)
{
    if (acc == CX_ACCESS_NONE) {
        return svc_fail(e, SVC_NOT_FOUND, NULL, NULL, "no such %s", what);
    }
    if (edit && acc != CX_ACCESS_EDIT) {
        return svc_fail(e, SVC_FORBIDDEN, NULL, NULL,
                        "reports need edit access to the measurement group");
    }
    return SVC_OK;
}

/* Report "id" and the actor's access to its group: SVC_OK with "r" when
 * "edit" (or view) is allowed. "lock": the row FOR UPDATE. */
static svc_status get_report(db_conn *c, const svc_actor *a, long long id, bool edit, bool lock,
                             db_report *r, svc_error *e)
{
    cx_access acc = CX_ACCESS_NONE;
    bool found = false;
    db_status st = db_report_get(c, a->account_id, id, lock, r, &found);
    if (st == DB_OK && found) {
        st = access_of(c, a, r->group_id, &acc);
    }
    if (st != DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    return require(acc, edit, "report", e);
}

/* --------------------------------------------------------------- periods */

/* Local dates are mt_day numbers (core's calendar); the database turns a
 * local midnight of a zone into an instant. */

static void day_text(mt_day d, char out[16])
{
    mt_error err;
    if (mt_cal_format_date(d, out, 16, &err) != MT_OK) {
        snprintf(out, 16, "0001-01-01");
    }
}

/* The ISO week label of the week starting on Monday "monday": 2024-W18. */
static void iso_week_label(mt_day monday, char *out, size_t cap)
{
    mt_day thursday = monday + 3, jan1;
    int y, m, d;
    mt_error err;
    mt_cal_to_civil(thursday, &y, &m, &d);
    if (mt_cal_from_civil(y, 1, 1, &jan1, &err) != MT_OK) {
        jan1 = thursday;
    }
    snprintf(out, cap, "%04d-W%02d", y % 10000, (int)((thursday - jan1) / 7 + 1) % 100);
}

/* The period of kind "period" (day, week, month) containing local date
 * "day": its first and one-past-last local dates and its label. */
static void period_days(const char *period, mt_day day, mt_day *first, mt_day *end,
                        char *label, size_t cap)
{
    int y, m, d;
    mt_error err;
    mt_cal_to_civil(day, &y, &m, &d);
    if (strcmp(period, "week") == 0) {
        *first = day - (mt_cal_weekday(day) - 1);
        *end = *first + 7;
        iso_week_label(*first, label, cap);
    } else if (strcmp(period, "month") == 0) {
        if (mt_cal_from_civil(y, m, 1, first, &err) != MT_OK ||
            mt_cal_add_months(*first, 1, end, &err) != MT_OK) {
            *first = day;
            *end = day + 1;
        }
        snprintf(label, cap, "%04d-%02d", y % 10000, m % 100);
    } else {
        char text[16];
        *first = day;
        *end = day + 1;
        day_text(day, text);
        snprintf(label, cap, "%s", text);
    }
}

/* The instants of local midnight starting "first" and "end" in "tz". */
static db_status period_instants(db_conn *c, const char *tz, mt_day first, mt_day end,
                                 int64_t *t0, int64_t *t1)
{
    char a[16], b[16];
    const char *dates[2] = {a, b};
    int64_t out[2];
    db_status st;
    day_text(first, a);
    day_text(end, b);
    if ((st = db_report_midnights(c, tz, dates, 2, out)) == DB_OK) {
        *t0 = out[0];
        *t1 = out[1];
    }
    return st;
}

/* The local date of instant "t_us" in "tz". */
static db_status local_day(db_conn *c, const char *tz, int64_t t_us, mt_day *day)
{
    char text[16];
    mt_error err;
    int64_t s = t_us >= 0 ? t_us / US_PER_S : -((-t_us + US_PER_S - 1) / US_PER_S);
    db_status st = db_report_local_date(c, tz, s, text);
    if (st == DB_OK && mt_cal_parse_date(text, day, &err) != MT_OK) {
        st = DB_ERROR;
    }
    return st;
}

/* The report's period that contains instant "t_us" (the scheduler: the
 * period running at "now", or the one after a period's end). */
static db_status period_at(db_conn *c, const char *tz, const char *period, int64_t t_us,
                           int64_t *t0, int64_t *t1)
{
    mt_day day, first, end;
    char label[64];
    db_status st = local_day(c, tz, t_us, &day);
    if (st != DB_OK) {
        return st;
    }
    period_days(period, day, &first, &end, label, sizeof label);
    return period_instants(c, tz, first, end, t0, t1);
}

/* Now in µs on the test-shiftable clock of auth_now(). */
static int64_t now_us(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return auth_now() * US_PER_S + tv.tv_usec;
}

/* ------------------------------------------------------------- settings */

static const char *const languages[] = {"zh-CN", "ja", "en", "es", "fr", "de", "it", NULL};

static bool one_of(const char *s, const char *const *values)
{
    for (int i = 0; s != NULL && values[i] != NULL; i++) {
        if (strcmp(s, values[i]) == 0) {
            return true;
        }
    }
    return false;
}

static bool copy_fits(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap) {
        dst[0] = '\0';
        return false;
    }
    memcpy(dst, src, n + 1);
    return true;
}

/* Apply the given members of "d" to "r" and check what can be checked
 * without the database. */
static svc_status apply_def(db_report *r, const svc_report_def *d, svc_error *e)
{
    static const char *const periods[] = {"day", "week", "month", NULL};
    static const char *const charts[] = {"none", "per_channel", "overlaid", NULL};
    if (d->name != NULL) {
        const char *why = NULL;
        if (!svc_drive_name_valid(d->name, strlen(d->name), &why)) {
            return svc_fail(e, SVC_INVALID, NULL, "name",
                            "'name' names the report's folder and files in the drive: %s", why);
        }
        if (!copy_fits(r->name, sizeof r->name, d->name)) {
            return svc_fail(e, SVC_INVALID, "too_long", "name", "'name' is too long");
        }
    }
    if (d->period != NULL) {
        if (!one_of(d->period, periods)) {
            return svc_fail(e, SVC_INVALID, NULL, "period", "'period' must be day, week or month");
        }
        snprintf(r->period, sizeof r->period, "%s", d->period);
    }
    if (d->has_channels) {
        if (d->n_channels < 1 || d->n_channels > REPORT_CH_MAX) {
            return svc_fail(e, SVC_INVALID, NULL, "channels",
                            "'channels' holds 1 to %d channel ids", REPORT_CH_MAX);
        }
        for (int i = 0; i < d->n_channels; i++) {
            for (int j = 0; j < i; j++) {
                if (d->channels[i] == d->channels[j]) {
                    return svc_fail(e, SVC_INVALID, "duplicate", "channels",
                                    "channels[%d]: channel %lld is already channels[%d]", i,
                                    d->channels[i], j);
                }
            }
        }
        memcpy(r->channels, d->channels, (size_t)d->n_channels * sizeof r->channels[0]);
        r->n_channels = d->n_channels;
    }
    if (d->summary >= 0) {
        r->summary = d->summary != 0;
    }
    if (d->charts != NULL) {
        if (!one_of(d->charts, charts)) {
            return svc_fail(e, SVC_INVALID, NULL, "charts",
                            "'charts' must be none, per_channel or overlaid");
        }
        snprintf(r->charts, sizeof r->charts, "%s", d->charts);
    }
    if (d->alarms >= 0) {
        r->alarms = d->alarms != 0;
    }
    if (d->language != NULL) {
        if (!one_of(d->language, languages)) {
            return svc_fail(e, SVC_INVALID, NULL, "language",
                            "'language' must be one of zh-CN, ja, en, es, fr, de, it");
        }
        snprintf(r->language, sizeof r->language, "%s", d->language);
    }
    if (d->has_formats) {
        if ((d->formats & (REPORT_FMT_PDF | REPORT_FMT_XLSX | REPORT_FMT_CSV)) == 0) {
            return svc_fail(e, SVC_INVALID, NULL, "formats",
                            "'formats' names at least one of pdf, xlsx, csv");
        }
        r->formats = d->formats;
    }
    if (d->has_users) {
        memcpy(r->users, d->users, (size_t)d->n_users * sizeof r->users[0]);
        r->n_users = d->n_users;
    }
    if (d->has_system) {
        memcpy(r->system, d->system, (size_t)d->n_system * sizeof r->system[0]);
        r->n_system = d->n_system;
    }
    if (r->n_users + r->n_system > REPORT_RCPT_MAX) {
        return svc_fail(e, SVC_INVALID, NULL, "recipients",
                        "a report has at most %d recipients (users and system recipients "
                        "together)",
                        REPORT_RCPT_MAX);
    }
    if (d->auto_enabled >= 0) {
        r->auto_enabled = d->auto_enabled != 0;
    }
    if (!r->summary && strcmp(r->charts, "none") == 0 && !r->alarms) {
        return svc_fail(e, SVC_INVALID, NULL, "summary",
                        "a report shows at least one of the summary, charts and alarm events");
    }
    return SVC_OK;
}

/* The checks that need the database: channels of the group, users and
 * system recipients of the account. */
static svc_status check_refs(db_conn *c, const svc_actor *a, const db_report *r, svc_error *e)
{
    long long bad = 0;
    db_status st = db_report_channels_check(c, a->account_id, r->group_id, r->channels,
                                            r->n_channels, &bad);
    if (st != DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    if (bad != 0) {
        return svc_fail(e, SVC_INVALID, NULL, "channels",
                        "channel %lld is not a channel of this measurement group", bad);
    }
    if ((st = db_report_users_check(c, a->account_id, r->users, r->n_users, &bad)) != DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    if (bad != 0) {
        return svc_fail(e, SVC_INVALID, NULL, "recipients", "no such user (%lld)", bad);
    }
    if ((st = db_report_system_check(c, a->account_id, r->system, r->n_system, &bad)) != DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    if (bad != 0) {
        return svc_fail(e, SVC_INVALID, NULL, "recipients",
                        "no such system notification recipient (%lld)", bad);
    }
    return SVC_OK;
}

/* With automatic creation on: the period running now (made once it is
 * over); off: none. */
static svc_status set_schedule(db_conn *c, const svc_actor *a, db_report *r, svc_error *e)
{
    db_report_ctx ctx;
    bool found = false;
    db_status st;
    r->has_next = false;
    r->next_start = r->next_end = 0;
    if (!r->auto_enabled) {
        return SVC_OK;
    }
    if ((st = db_report_context(c, a->account_id, r->group_id, &ctx, &found)) != DB_OK ||
        (found && (st = period_at(c, ctx.time_zone, r->period, now_us(), &r->next_start,
                                  &r->next_end)) != DB_OK)) {
        return svc_fail_db(e, st, NULL);
    }
    if (!found) {
        return svc_fail(e, SVC_NOT_FOUND, NULL, NULL, "no such measurement group");
    }
    r->has_next = true;
    return SVC_OK;
}

static db_status audit_report(db_conn *c, const svc_actor *a, const char *action, long long id,
                              const db_report *r)
{
    audit_who who = svc_who(a);
    return audit_write_kv(c, &who, action, "report", id, "name", r->name);
}

static char *with_quota(const char *items, const svc_actor *a, long long used)
{
    mt_plan_entry pe;
    mt_error err;
    size_t cap = strlen(items) + 160;
    char *out = malloc(cap);
    memset(&pe, 0, sizeof pe);
    if (mt_plan_get(a->plan, MT_Q_REPORT_TEMPLATES, &pe, &err) != MT_OK) {
        pe.limit = 0;
    }
    if (out != NULL) {
        snprintf(out, cap,
                 "{\"items\":%s,\"total\":%lld,\"quota\":{\"id\":\"P17\",\"limit\":%lld,"
                 "\"used\":%lld}}",
                 items, used, (long long)pe.limit, used);
    }
    return out;
}

static svc_report_config g_rule;
static pthread_once_t g_rule_once = PTHREAD_ONCE_INIT;

static void rule_load(void)
{
    svc_report_config_load(&g_rule);
}

/* The scheduling rule of this process (its environment), read once: the
 * API's next_period says when its report is due. */
static const svc_report_config *rule_config(void)
{
    pthread_once(&g_rule_once, rule_load);
    return &g_rule;
}

svc_status svc_report_list(const svc_actor *a, long long group_id, char **json, svc_error *e)
{
    db_pool *pool = a->srv->pool;
    db_conn *c = NULL;
    cx_access acc = CX_ACCESS_NONE;
    char *items = NULL;
    long long used = 0;
    const svc_report_config *cfg = rule_config(); /* for next_period */
    svc_status rc;
    *json = NULL;
    if ((rc = svc_tx_begin(pool, &c, e)) != SVC_OK) {
        goto out;
    }
    SVC_TRY_DB(access_of(c, a, group_id, &acc), NULL);
    if ((rc = require(acc, false, "measurement group", e)) != SVC_OK) {
        goto out;
    }
    SVC_TRY_DB(db_report_list_json(c, a->account_id, group_id, cfg->settle_s, cfg->wait_s, &items),
               NULL);
    SVC_TRY_DB(db_report_count(c, a->account_id, group_id, &used), NULL);
    if ((*json = with_quota(items ? items : "[]", a, used)) == NULL) {
        rc = svc_fail_nomem(e);
    }
out:
    free(items);
    rc = svc_tx_end(pool, c, rc, e, NULL);
    if (rc != SVC_OK) {
        free(*json);
        *json = NULL;
    }
    return rc;
}

svc_status svc_report_get(const svc_actor *a, long long id, char **json, svc_error *e)
{
    db_pool *pool = a->srv->pool;
    db_conn *c = NULL;
    db_report r;
    const svc_report_config *cfg = rule_config(); /* for next_period */
    svc_status rc;
    *json = NULL;
    if ((rc = svc_tx_begin(pool, &c, e)) != SVC_OK ||
        (rc = get_report(c, a, id, false, false, &r, e)) != SVC_OK) {
        goto out;
    }
    SVC_TRY_DB(db_report_json(c, a->account_id, id, cfg->settle_s, cfg->wait_s, json), NULL);
    if (*json == NULL) {
        rc = svc_fail(e, SVC_NOT_FOUND, NULL, NULL, "no such report");
    }
out:
    rc = svc_tx_end(pool, c, rc, e, NULL);
    if (rc != SVC_OK) {
        free(*json);
        *json = NULL;
    }
    return rc;
}

#define NAME_TAKEN "this measurement group has a report of that name"

svc_status svc_report_create(const svc_actor *a, long long group_id, const svc_report_def *d,
                             long long *id, svc_error *e)
{
    db_pool *pool = a->srv->pool;
    db_conn *c = NULL;
    cx_access acc = CX_ACCESS_NONE;
    db_report r;
    long long used = 0;
    bool found = false;
    svc_status rc;
    *id = 0;
    memset(&r, 0, sizeof r);
    r.group_id = group_id;
    r.summary = true;
    r.alarms = true;
    snprintf(r.charts, sizeof r.charts, "per_channel");
    snprintf(r.language, sizeof r.language, "en");
    r.formats = REPORT_FMT_PDF;
    if (d->name == NULL || d->period == NULL || !d->has_channels) {
        return svc_fail(e, SVC_INVALID, "missing",
                        d->name == NULL ? "name" : d->period == NULL ? "period" : "channels",
                        "'name', 'period' and 'channels' are required");
    }
    if ((rc = apply_def(&r, d, e)) != SVC_OK) {
        return rc;
    }
    if ((rc = svc_tx_begin(pool, &c, e)) != SVC_OK) {
        goto out;
    }
    /* The account first: two creations cannot both take the last slot. */
    SVC_TRY_DB(db_account_lock(c, a->account_id, &found), NULL);
    SVC_TRY_DB(access_of(c, a, group_id, &acc), NULL);
    if ((rc = require(acc, true, "measurement group", e)) != SVC_OK) {
        goto out;
    }
    SVC_TRY_DB(db_report_count(c, a->account_id, group_id, &used), NULL);
    if ((rc = svc_quota_check(e, a->plan, MT_Q_REPORT_TEMPLATES, used + 1)) != SVC_OK ||
        (rc = check_refs(c, a, &r, e)) != SVC_OK || (rc = set_schedule(c, a, &r, e)) != SVC_OK) {
        goto out;
    }
    SVC_TRY_DB(db_report_insert(c, a->account_id, &r, id), NAME_TAKEN);
    SVC_TRY_DB(audit_report(c, a, "report.create", *id, &r), NULL);
out:
    rc = svc_tx_end(pool, c, rc, e, NAME_TAKEN);
    if (rc == SVC_CONFLICT && e->code == NULL) {
        e->code = "name_taken";
        e->field = "name";
    }
    if (rc != SVC_OK) {
        *id = 0;
    }
    return rc;
}

svc_status svc_report_update(const svc_actor *a, long long id, const svc_report_def *d,
                             svc_error *e)
{
    db_pool *pool = a->srv->pool;
    db_conn *c = NULL;
    db_report old, r;
    svc_status rc;
    if ((rc = svc_tx_begin(pool, &c, e)) != SVC_OK ||
        (rc = get_report(c, a, id, true, true, &old, e)) != SVC_OK) {
        goto out;
    }
    r = old;
    if ((rc = apply_def(&r, d, e)) != SVC_OK || (rc = check_refs(c, a, &r, e)) != SVC_OK) {
        goto out;
    }
    /* Turning automatic creation on, or changing the period, starts the
     * schedule at the period running now; otherwise it goes on. */
    if (r.auto_enabled && (!old.auto_enabled || strcmp(old.period, r.period) != 0)) {
        if ((rc = set_schedule(c, a, &r, e)) != SVC_OK) {
            goto out;
        }
    } else if (!r.auto_enabled) {
        r.has_next = false;
    }
    SVC_TRY_DB(db_report_update(c, a->account_id, &r), NAME_TAKEN);
    SVC_TRY_DB(audit_report(c, a, "report.update", id, &r), NULL);
out:
    rc = svc_tx_end(pool, c, rc, e, NAME_TAKEN);
    if (rc == SVC_CONFLICT && e->code == NULL) {
        e->code = "name_taken";
        e->field = "name";
    }
    return rc;
}

svc_status svc_report_delete(const svc_actor *a, long long id, svc_error *e)
{
    db_pool *pool = a->srv->pool;
    db_conn *c = NULL;
    db_report r;
    bool found = false;
    svc_status rc;
    if ((rc = svc_tx_begin(pool, &c, e)) != SVC_OK ||
        (rc = get_report(c, a, id, true, true, &r, e)) != SVC_OK) {
        goto out;
    }
    SVC_TRY_DB(db_report_delete(c, a->account_id, id, &found), NULL);
    SVC_TRY_DB(audit_report(c, a, "report.delete", id, &r), NULL);
out:
    return svc_tx_end(pool, c, rc, e, NULL);
}

/* ------------------------------------------------------------ runs by hand */

static svc_status parse_day(const char *text, const char *field, mt_day *day, svc_error *e)
{
    mt_error err;
    if (mt_cal_parse_date(text, day, &err) != MT_OK) {
        return svc_fail(e, SVC_INVALID, NULL, field, "'%s': %s", field, err.msg);
    }
    return SVC_OK;
}

svc_status svc_report_run_create(const svc_actor *a, long long report_id, const char *date,
                                 const char *from, const char *to, long long *run_id,
                                 svc_error *e)
{
    db_pool *pool = a->srv->pool;
    db_conn *c = NULL;
    db_report r;
    db_report_ctx ctx;
    db_report_run_new nr;
    mt_day first = 0, end = 0;
    char label[64];
    int64_t t0 = 0, t1 = 0;
    bool found = false, inserted = false;
    svc_status rc;
    *run_id = 0;
    if ((date == NULL) == (from == NULL && to == NULL) || (from == NULL) != (to == NULL)) {
        return svc_fail(e, SVC_INVALID, "missing", date == NULL ? "date" : "from",
                        "give either 'date' (the report's period that holds it) or 'from' "
                        "and 'to'");
    }
    if (date != NULL) {
        if ((rc = parse_day(date, "date", &first, e)) != SVC_OK) {
            return rc;
        }
    } else if ((rc = parse_day(from, "from", &first, e)) != SVC_OK ||
               (rc = parse_day(to, "to", &end, e)) != SVC_OK) {
        return rc;
    } else if (end <= first || end - first > REPORT_CUSTOM_MAX_DAYS) {
        return svc_fail(e, SVC_INVALID, NULL, "to",
                        "'to' must be 1 to %d days after 'from' ('to' is not included)",
                        REPORT_CUSTOM_MAX_DAYS);
    }
    if ((rc = svc_tx_begin(pool, &c, e)) != SVC_OK ||
        (rc = get_report(c, a, report_id, true, false, &r, e)) != SVC_OK) {
        goto out;
    }
    SVC_TRY_DB(db_report_context(c, a->account_id, r.group_id, &ctx, &found), NULL);
    if (!found) {
        rc = svc_fail(e, SVC_NOT_FOUND, NULL, NULL, "no such report");
        goto out;
    }
    if (date != NULL) {
        period_days(r.period, first, &first, &end, label, sizeof label);
    } else {
        char a_text[16], b_text[16];
        day_text(first, a_text);
        day_text(end - 1, b_text);
        snprintf(label, sizeof label, "%s – %s", a_text, b_text);
    }
    SVC_TRY_DB(period_instants(c, ctx.time_zone, first, end, &t0, &t1), NULL);
    if (t1 > now_us()) {
        rc = svc_fail(e, SVC_CONFLICT, "period_not_over", date != NULL ? "date" : "to",
                      "the period %s has not ended yet in %s: a report is made for a past "
                      "period",
                      label, ctx.time_zone);
        goto out;
    }
    memset(&nr, 0, sizeof nr);
    nr.account_id = a->account_id;
    nr.report_id = report_id;
    nr.kind = "manual";
    nr.period_start = t0;
    nr.period_end = t1;
    nr.label = label;
    nr.time_zone = ctx.time_zone;
    nr.requested_by = a->user_id;
    nr.due_s = auth_now();
    SVC_TRY_DB(db_report_run_insert(c, &nr, run_id, &inserted), NULL);
    {
        audit_who who = svc_who(a);
        SVC_TRY_DB(audit_write_kv(c, &who, "report.run", "report", report_id, "period", label),
                   NULL);
    }
out:
    rc = svc_tx_end(pool, c, rc, e, NULL);
    if (rc != SVC_OK) {
        *run_id = 0;
    }
    return rc;
}

/* Run "id" and, through its report, the actor's access. */
static svc_status get_run(db_conn *c, const svc_actor *a, long long id, bool edit, svc_error *e)
{
    long long report_id = 0;
    bool found = false;
    db_report r;
    db_status st = db_report_run_owner(c, a->account_id, id, &report_id, &found);
    if (st != DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    if (!found) {
        return svc_fail(e, SVC_NOT_FOUND, NULL, NULL, "no such report run");
    }
    return get_report(c, a, report_id, edit, false, &r, e);
}

svc_status svc_report_runs(const svc_actor *a, long long report_id, long long before, int limit,
                           char **json, svc_error *e)
{
    db_pool *pool = a->srv->pool;
    db_conn *c = NULL;
    db_report r;
    char *items = NULL;
    svc_status rc;
    *json = NULL;
    if ((rc = svc_tx_begin(pool, &c, e)) != SVC_OK ||
        (rc = get_report(c, a, report_id, false, false, &r, e)) != SVC_OK) {
        goto out;
    }
    /* One more than asked: whether there is a next page. */
    SVC_TRY_DB(db_report_runs_json(c, a->account_id, report_id, before, limit + 1, &items),
               NULL);
    {
        cJSON *arr = cJSON_Parse(items != NULL ? items : "[]");
        cJSON *o = cJSON_CreateObject();
        long long next = 0;
        if (arr == NULL || o == NULL) {
            cJSON_Delete(arr);
            cJSON_Delete(o);
            rc = svc_fail_nomem(e);
            goto out;
        }
        if (cJSON_GetArraySize(arr) > limit) {
            cJSON *last;
            cJSON_DeleteItemFromArray(arr, limit);
            last = cJSON_GetArrayItem(arr, limit - 1);
            next = (long long)cJSON_GetNumberValue(cJSON_GetObjectItem(last, "id"));
        }
        cJSON_AddItemToObject(o, "items", arr);
        if (next > 0) {
            cJSON_AddNumberToObject(o, "next_before", (double)next);
        } else {
            cJSON_AddNullToObject(o, "next_before");
        }
        *json = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        if (*json == NULL) {
            rc = svc_fail_nomem(e);
        }
    }
out:
    free(items);
    rc = svc_tx_end(pool, c, rc, e, NULL);
    if (rc != SVC_OK) {
        free(*json);
        *json = NULL;
    }
    return rc;
}

svc_status svc_report_run_get(const svc_actor *a, long long id, char **json, svc_error *e)
{
    db_pool *pool = a->srv->pool;
    db_conn *c = NULL;
    svc_status rc;
    *json = NULL;
    if ((rc = svc_tx_begin(pool, &c, e)) != SVC_OK || (rc = get_run(c, a, id, false, e)) != SVC_OK) {
        goto out;
    }
    SVC_TRY_DB(db_report_run_json(c, a->account_id, id, json), NULL);
    if (*json == NULL) {
        rc = svc_fail(e, SVC_NOT_FOUND, NULL, NULL, "no such report run");
    }
out:
    rc = svc_tx_end(pool, c, rc, e, NULL);
    if (rc != SVC_OK) {
        free(*json);
        *json = NULL;
    }
    return rc;
}

svc_status svc_report_run_retry(const svc_actor *a, long long id, svc_error *e)
{
    db_pool *pool = a->srv->pool;
    db_conn *c = NULL;
    bool changed = false;
    svc_status rc;
    if ((rc = svc_tx_begin(pool, &c, e)) != SVC_OK || (rc = get_run(c, a, id, true, e)) != SVC_OK) {
        goto out;
    }
    SVC_TRY_DB(db_report_run_requeue(c, a->account_id, id, auth_now(), &changed), NULL);
    if (!changed) {
        rc = svc_fail(e, SVC_CONFLICT, "not_failed", NULL,
                      "only a failed run can be tried again (this one is queued, running, "
                      "retrying or done)");
    }
out:
    return svc_tx_end(pool, c, rc, e, NULL);
}

/* ------------------------------------------------------------ scheduler */

static int env_int(const char *name, int def, int lo, int hi)
{
    const char *v = getenv(name);
    char *end = NULL;
    long x;
    if (v == NULL || v[0] == '\0') {
        return def;
    }
    x = strtol(v, &end, 10);
    if (end == v || *end != '\0' || x < lo || x > hi) {
        log_warn("reports: %s=%s is not %d..%d: %d is used", name, v, lo, hi, def);
        return def;
    }
    return (int)x;
}

void svc_report_config_load(svc_report_config *cfg)
{
    cfg->settle_s = env_int("METRON_REPORT_SETTLE_S", 300, 0, 86400);
    cfg->wait_s = env_int("METRON_REPORT_WAIT_S", 21600, 0, 7 * 86400);
    cfg->lease_s = env_int("METRON_REPORT_LEASE_S", 600, 5, 86400);
    cfg->attach_max = env_int("METRON_REPORT_ATTACH_MAX", 5000000, 0, (int)MAIL_ATTACH_MAX);
    cfg->retry_s = env_int("METRON_REPORT_RETRY_S", 60, 1, 86400);
    if (cfg->wait_s < cfg->settle_s) {
        cfg->wait_s = cfg->settle_s;
    }
    {
        const char *t = getenv("METRON_TEST_ROUTES");
        cfg->test_stall_ms = t != NULL && strcmp(t, "1") == 0
                                 ? env_int("METRON_REPORT_TEST_STALL_MS", 0, 0, 600000)
                                 : 0;
    }
}

/* Reports looked at per round of the scheduler (the next round goes on). */
#define SCHEDULE_BATCH 256
/* Periods caught up per report and round (the next round goes on). */
#define CATCH_UP_MAX 31

/* One report's due periods, in its own transaction. *made = runs made. */
static int schedule_one(srv *s, const svc_report_config *cfg, const db_report_ref *ref,
                        int64_t now, long long *made)
{
    db_conn *c = NULL;
    db_report r;
    db_report_ctx ctx;
    bool found = false, ctx_found = false;
    mt_plan_entry pe;
    mt_error err;
    db_account_row acct;
    db_status st = db_acquire(s->pool, DB_WAIT_MS, &c);
    int rc = 0;
    if (st != DB_OK || (st = db_begin(c)) != DB_OK ||
        (st = db_report_get(c, ref->account_id, ref->id, true, &r, &found)) != DB_OK) {
        goto out;
    }
    if (!found || !r.auto_enabled || !r.has_next) {
        goto out; /* changed meanwhile */
    }
    /* Automatic reports pause while the plan in force has none (P17). */
    if ((st = db_account_get(c, ref->account_id, &acct, &found)) != DB_OK || !found) {
        goto out;
    }
    free(acct.json); /* the counts and the plan are what is read here */
    acct.json = NULL;
    memset(&pe, 0, sizeof pe);
    if (mt_plan_get(svc_effective_plan(&acct), MT_Q_REPORT_TEMPLATES, &pe, &err) != MT_OK ||
        pe.limit < 1) {
        goto out;
    }
    if ((st = db_report_context(c, ref->account_id, r.group_id, &ctx, &ctx_found)) != DB_OK ||
        !ctx_found) {
        goto out;
    }
    for (int k = 0; k < CATCH_UP_MAX; k++) {
        int64_t end = r.next_end;
        bool arrived = false, inserted = false;
        long long run_id = 0;
        db_report_run_new nr;
        char label[64];
        mt_day day, first, last;
        if (now < end + (int64_t)cfg->settle_s * US_PER_S) {
            break; /* not over, or not settled */
        }
        if (now < end + (int64_t)cfg->wait_s * US_PER_S) {
            if ((st = db_report_arrived(c, ref->account_id, r.id, end, &arrived)) != DB_OK) {
                goto out;
            }
            if (!arrived) {
                break; /* waiting for late data (at most wait_s) */
            }
        }
        if ((st = local_day(c, ctx.time_zone, r.next_start, &day)) != DB_OK) {
            goto out;
        }
        period_days(r.period, day, &first, &last, label, sizeof label);
        memset(&nr, 0, sizeof nr);
        nr.account_id = ref->account_id;
        nr.report_id = r.id;
        nr.kind = "auto";
        nr.period_start = r.next_start;
        nr.period_end = r.next_end;
        nr.label = label;
        nr.time_zone = ctx.time_zone;
        nr.due_s = now / US_PER_S;
        if ((st = db_report_run_insert(c, &nr, &run_id, &inserted)) != DB_OK) {
            goto out;
        }
        if (inserted) {
            (*made)++;
        }
        /* The following period: the one holding the local date at "end". */
        if ((st = period_at(c, ctx.time_zone, r.period, end, &r.next_start, &r.next_end)) !=
            DB_OK) {
            goto out;
        }
        if (r.next_end <= end) {
            st = DB_ERROR; /* never loop on a period that does not move on */
            goto out;
        }
    }
    st = db_report_set_next(c, ref->account_id, r.id, true, r.next_start, r.next_end);
out:
    if (st == DB_OK && c != NULL) {
        st = db_commit(c);
    }
    if (st != DB_OK) {
        log_error("reports: scheduling report %lld: %s", ref->id, db_strerror(st));
        rc = -1;
    }
    db_release(s->pool, c);
    return rc;
}

int svc_report_schedule(srv *s, const svc_report_config *cfg, int64_t now_s, long long *created)
{
    db_conn *c = NULL;
    db_report_ref *due = NULL;
    int n = 0, rc = 0;
    int64_t now = now_s * US_PER_S;
    db_status st = db_acquire(s->pool, DB_WAIT_MS, &c);
    *created = 0;
    if (st == DB_OK) {
        st = db_report_due(c, now - (int64_t)cfg->settle_s * US_PER_S, SCHEDULE_BATCH, &due, &n);
    }
    db_release(s->pool, c);
    if (st != DB_OK) {
        log_error("reports: scheduler: %s", db_strerror(st));
        return -1;
    }
    for (int i = 0; i < n; i++) {
        if (schedule_one(s, cfg, &due[i], now, created) != 0) {
            rc = -1;
        }
    }
    free(due);
    return rc;
}

/* ------------------------------------------------------------ the work */

/* A run being made: everything it holds, freed by run_free(). */
typedef struct {
    srv *s;
    const svc_report_config *cfg;
    db_report_run run;
    db_report r;
    db_report_ctx ctx;
    mt_plan plan;
    db_report_chan *chans;
    int n_chans;
    db_report_event *evrows;
    int n_evrows;
    long long ev_total;
    report_event *ev;
    report_channel *ch;
    int64_t ids[REPORT_CH_MAX];
    mt_stats stats[REPORT_CH_MAX];
    mt_bucket *bk;         /* n_chans x nb */
    data_grid grid;
    int64_t *tz_from;
    int32_t *tz_off;
    size_t tz_n;
    report_tz tz;
    report_doc doc;
    char (*sources)[160];
    /* outputs */
    svc_drive_upload up[4]; /* pdf, xlsx, csv summary, csv samples */
    bool has_up[4];
    char names[4][300];
    char xlsx_tmp[4200];
    long long samples;
    char error[300];
    const char *error_kind; /* what kind of failure "error" is (REPORT_ERR_*) */
    char owner[160];
    double ms_figures, ms_pdf, ms_rows, ms_store; /* the phases, for the log */
} run_ctx;

enum { UP_PDF = 0, UP_XLSX, UP_CSV_SUM, UP_CSV_SAMPLES };
static const char *const up_format[4] = {"pdf", "xlsx", "csv", "csv"};
static const char *const up_part[4] = {"", "", "summary", "samples"};
static const char *const up_type[4] = {
    "application/pdf", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "text/csv", "text/csv"};

static double mono_ms(void);

static void run_free(run_ctx *x)
{
    for (int k = 0; k < 4; k++) {
        if (x->has_up[k]) {
            svc_drive_upload_abort(&x->up[k]);
        }
    }
    if (x->xlsx_tmp[0] != '\0') {
        unlink(x->xlsx_tmp);
    }
    db_report_chan_free(x->chans, x->n_chans);
    db_report_events_free(x->evrows, x->n_evrows);
    free(x->ev);
    free(x->ch);
    free(x->bk);
    free(x->tz_from);
    free(x->tz_off);
    free(x->sources);
}

/* The kinds of failure a run records beside its (English) error, so that
 * the portal can say it in the reader's language (ReportRun.error_kind):
 * the storage quota (P2) was full, the database failed, the server making
 * it stopped (db_report.c), anything else on the server. */
#define REPORT_ERR_STORAGE "storage"
#define REPORT_ERR_DATABASE "database"
#define REPORT_ERR_SERVER "server"

static const char *kind_of(svc_status st)
{
    if (st == SVC_PLAN_LIMIT) {
        return REPORT_ERR_STORAGE;
    }
    if (st == SVC_DB || st == SVC_UNAVAILABLE) {
        return REPORT_ERR_DATABASE;
    }
    return REPORT_ERR_SERVER;
}

static int fail_as(run_ctx *x, const char *kind, const char *fmt, ...) MT_PRINTF(3, 4);

static int fail_as(run_ctx *x, const char *kind, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(x->error, sizeof x->error, fmt, ap);
    va_end(ap);
    x->error_kind = kind;
    return -1;
}

/* A failure of the server itself (memory, files). */
#define fail_run(x, ...) fail_as((x), REPORT_ERR_SERVER, __VA_ARGS__)
/* A database failure. */
#define fail_db(x, ...) fail_as((x), REPORT_ERR_DATABASE, __VA_ARGS__)

/* Record where the run is (ReportRun.progress: "name", "done" of "total",
 * 0 of 0 when not counted), for the portal. Advisory: a failure here
 * changes nothing, the next real statement on "c" reports it. */
static void step(run_ctx *x, db_conn *c, const char *name, int done, int total)
{
    (void)db_report_run_step(c, x->run.account_id, x->run.id, x->owner, name, done, total);
}

/* The zone's offsets over the period: read at every UTC hour from a day
 * before to a day after, and where two hours differ, the second of the
 * change found by halving (zones change at whole seconds, at most a few
 * times a year). */
static int build_tz(run_ctx *x, db_conn *c)
{
    int64_t h0 = x->run.period_start / (3600 * US_PER_S) - 24;
    int64_t h1 = x->run.period_end / (3600 * US_PER_S) + 25;
    size_t n = (size_t)(h1 - h0 + 1), k = 0;
    int64_t *secs = malloc(n * sizeof *secs);
    int32_t *off = malloc(n * sizeof *off);
    db_status st;
    if (secs == NULL || off == NULL || (x->tz_from = malloc(n * sizeof *x->tz_from)) == NULL ||
        (x->tz_off = malloc(n * sizeof *x->tz_off)) == NULL) {
        free(secs);
        free(off);
        return fail_run(x, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        secs[i] = (h0 + (int64_t)i) * 3600;
    }
    if ((st = db_report_offsets(c, x->run.time_zone, secs, n, off)) != DB_OK) {
        free(secs);
        free(off);
        return fail_db(x, "the time zone %s could not be read: %s", x->run.time_zone,
                        db_strerror(st));
    }
    x->tz_from[k] = secs[0] * US_PER_S;
    x->tz_off[k++] = off[0];
    for (size_t i = 1; i < n; i++) {
        int64_t lo = secs[i - 1], hi = secs[i];
        if (off[i] == off[i - 1]) {
            continue;
        }
        /* off(lo) is the old offset, off(hi) the new: find the first
         * second with the new one. */
        while (hi - lo > 1) {
            int64_t mid = lo + (hi - lo) / 2;
            int32_t o = 0;
            if ((st = db_report_offsets(c, x->run.time_zone, &mid, 1, &o)) != DB_OK) {
                free(secs);
                free(off);
                return fail_db(x, "the time zone could not be read: %s", db_strerror(st));
            }
            if (o == off[i - 1]) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        x->tz_from[k] = hi * US_PER_S;
        x->tz_off[k++] = off[i];
    }
    free(secs);
    free(off);
    x->tz_n = k;
    x->tz.name = x->run.time_zone;
    x->tz.from_us = x->tz_from;
    x->tz.off_s = x->tz_off;
    x->tz.n = k;
    return 0;
}

/* Where svc_data_decimate() hands one channel's buckets: copied to "dst". */
typedef struct {
    mt_bucket *dst;
    const data_grid *grid;
} bucket_sink;

static int keep_buckets(void *arg, size_t i, const mt_bucket *bk)
{
    bucket_sink *k = arg;
    (void)i;
    memcpy(k->dst, bk, k->grid->nb * sizeof *bk);
    return 0;
}

/* Gather what the report shows: names, figures, chart buckets, events. */
static int gather(run_ctx *x, db_conn *c)
{
    db_status st;
    svc_error e;
    size_t nb;
    int64_t t0 = x->run.period_start, t1 = x->run.period_end;
    svc_error_clear(&e);
    if ((st = db_report_chan_info(c, x->run.account_id, x->r.id, &x->chans, &x->n_chans)) !=
        DB_OK) {
        return fail_db(x, "the channels could not be read: %s", db_strerror(st));
    }
    if (x->n_chans > REPORT_CH_MAX) {
        x->n_chans = REPORT_CH_MAX;
    }
    x->ch = calloc((size_t)(x->n_chans > 0 ? x->n_chans : 1), sizeof *x->ch);
    x->sources = calloc((size_t)(x->n_chans > 0 ? x->n_chans : 1), sizeof *x->sources);
    if (x->ch == NULL || x->sources == NULL) {
        return fail_run(x, "out of memory");
    }
    for (int i = 0; i < x->n_chans; i++) {
        const db_report_chan *m = &x->chans[i];
        x->ids[i] = m->id;
        x->ch[i].id = m->id;
        x->ch[i].name = m->name != NULL ? m->name : "";
        x->ch[i].unit = m->unit != NULL ? m->unit : "";
        x->ch[i].computed = m->computed;
        if (m->computed) {
            snprintf(x->sources[i], sizeof x->sources[i], "%s",
                     m->expression != NULL ? m->expression : "");
        } else {
            snprintf(x->sources[i], sizeof x->sources[i], "%s %s %s",
                     m->model != NULL ? m->model : "", m->serial != NULL ? m->serial : "",
                     m->key != NULL ? m->key : "");
        }
        x->ch[i].source = x->sources[i];
    }
    /* The figures: the data API's summary code, one UTC day at a time. */
    step(x, c, "figures", 0, 0);
    if (x->n_chans > 0 &&
        svc_data_stats(c, x->run.account_id, x->ids, (size_t)x->n_chans, t0, t1, x->stats, &e) !=
            SVC_OK) {
        return fail_as(x, kind_of(e.status), "the figures could not be computed: %s",
                       e.message);
    }
    for (int i = 0; i < x->n_chans; i++) {
        x->ch[i].stats = x->stats[i];
    }
    /* The charts: the graph API's buckets, one channel at a time. The grid
     * (whole hours past 8 days) has at most the buckets asked for. */
    if (strcmp(x->r.charts, "none") != 0 && x->n_chans > 0) {
        nb = t1 - t0 > CHART_HOURS_AFTER_DAYS * DAY_US
                 ? (size_t)((t1 - t0 + 3600 * US_PER_S - 1) / (3600 * US_PER_S))
                 : CHART_BUCKETS;
        if ((x->bk = malloc((size_t)x->n_chans * nb * sizeof *x->bk)) == NULL) {
            return fail_run(x, "out of memory");
        }
        for (int i = 0; i < x->n_chans; i++) {
            bucket_sink k = {x->bk + (size_t)i * nb, &x->grid};
            step(x, c, "charts", i, x->n_chans);
            if (svc_data_decimate(x->s, c, x->run.account_id, &x->ids[i], 1, t0, t1, nb, &x->grid,
                                  keep_buckets, &k, &e) != SVC_OK) {
                return fail_as(x, kind_of(e.status), "the charts could not be computed: %s",
                               e.message);
            }
            if (x->grid.nb > nb) {
                return fail_run(x, "the chart grid is larger than asked");
            }
            x->ch[i].bk = x->bk + (size_t)i * nb;
        }
    }
    /* The period's alarm events (alarm_events; empty until alarms run). */
    if (x->r.alarms) {
        if ((st = db_report_events(c, x->run.account_id, x->r.group_id, t0, t1, REPORT_EVENTS_MAX,
                                   &x->evrows, &x->n_evrows, &x->ev_total)) != DB_OK) {
            return fail_db(x, "the alarm events could not be read: %s", db_strerror(st));
        }
        x->ev = calloc((size_t)(x->n_evrows > 0 ? x->n_evrows : 1), sizeof *x->ev);
        if (x->ev == NULL) {
            return fail_run(x, "out of memory");
        }
        for (int i = 0; i < x->n_evrows; i++) {
            const db_report_event *row = &x->evrows[i];
            report_event *ev = &x->ev[i];
            ev->t = row->t;
            ev->kind = row->kind != NULL ? row->kind : "raise";
            ev->rule = row->rule_name != NULL ? row->rule_name : "";
            ev->channel = row->channel != NULL ? row->channel : "";
            ev->unit = row->unit != NULL ? row->unit : "";
            ev->severity = row->severity != NULL ? row->severity : "alert";
            ev->special = (int)row->special;
            if (row->v1 != NULL) {
                ev->value = strtod(row->v1, NULL);
                ev->has_value = true;
            } else if (row->s1 > 0) {
                ev->value = mt_sv_value((mt_sv)row->s1);
                ev->has_value = true;
            }
        }
    }
    return 0;
}

static void build_doc(run_ctx *x)
{
    report_doc *d = &x->doc;
    memset(d, 0, sizeof *d);
    d->language = x->r.language;
    d->title = x->r.name;
    d->group = x->ctx.group_name;
    d->account = x->ctx.account_name;
    d->period = strcmp(x->run.kind, "manual") == 0 && strchr(x->run.label, ' ') != NULL
                    ? REPORT_CUSTOM
                : strcmp(x->r.period, "week") == 0  ? REPORT_WEEK
                : strcmp(x->r.period, "month") == 0 ? REPORT_MONTH
                                                    : REPORT_DAY;
    d->label = x->run.label;
    d->t0 = x->run.period_start;
    d->t1 = x->run.period_end;
    d->created = now_us();
    d->tz = &x->tz;
    d->summary = x->r.summary;
    d->charts = strcmp(x->r.charts, "overlaid") == 0     ? REPORT_CHARTS_OVERLAID
                : strcmp(x->r.charts, "per_channel") == 0 ? REPORT_CHARTS_PER_CHANNEL
                                                          : REPORT_CHARTS_NONE;
    d->alarms = x->r.alarms;
    d->ch = x->ch;
    d->n_ch = (size_t)x->n_chans;
    d->chart_t0 = x->grid.t0;
    d->chart_t1 = x->grid.t1;
    d->chart_nb = x->bk != NULL ? x->grid.nb : 0;
    d->ev = x->ev;
    d->n_ev = (size_t)x->n_evrows;
    d->ev_more = x->ev_total > x->n_evrows ? (size_t)(x->ev_total - x->n_evrows) : 0;
}

/* The renderers' sink: an upload in progress. */
static int to_upload(void *arg, const void *data, size_t len)
{
    svc_error e;
    return svc_drive_upload_write(arg, data, len, &e) == SVC_OK ? 0 : -1;
}

static int begin_upload(run_ctx *x, int k)
{
    svc_error e;
    if (svc_drive_upload_begin(x->s->pool, x->s->cfg.data_dir, x->run.account_id, &x->up[k],
                               &e) != SVC_OK) {
        return fail_as(x, kind_of(e.status), "a drive file could not be created: %s", e.message);
    }
    x->has_up[k] = true;
    return 0;
}

static int finish_upload(run_ctx *x, int k)
{
    svc_error e;
    if (svc_drive_upload_finish(&x->up[k], x->names[k], &e) != SVC_OK) {
        return fail_as(x, kind_of(e.status), "a drive file could not be written: %s", e.message);
    }
    return 0;
}

/* Copy file "path" into upload k (the XLSX: libxlsxwriter writes files). */
static int copy_into(run_ctx *x, const char *path, int k)
{
    char *buf = malloc(65536);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t got;
    int rc = 0;
    if (buf == NULL || fd < 0) {
        free(buf);
        if (fd >= 0) {
            close(fd);
        }
        return fail_run(x, "the XLSX file could not be read back");
    }
    while ((got = read(fd, buf, 65536)) > 0) {
        if (to_upload(&x->up[k], buf, (size_t)got) != 0) {
            rc = fail_run(x, "the XLSX file could not be copied into the drive");
            break;
        }
    }
    if (got < 0) {
        rc = fail_run(x, "the XLSX file could not be read back");
    }
    close(fd);
    free(buf);
    return rc;
}

/* The per-sample table, a UTC day at a time (a dense day in parts), into
 * the XLSX writer and the samples CSV. */
static int write_rows(run_ctx *x, db_conn *c, report_xlsx *xw, bool csv)
{
    size_t n_ch = (size_t)x->n_chans;
    series_col *cols = calloc(n_ch ? n_ch : 1, sizeof *cols);
    size_t *pos = calloc(n_ch ? n_ch : 1, sizeof *pos);
    double **v = calloc(n_ch ? n_ch : 1, sizeof *v);
    const double **vc = calloc(n_ch ? n_ch : 1, sizeof *vc);
    int64_t *t = NULL;
    int rc = 0;
    char err[256];
    int64_t t0 = x->run.period_start, t1 = x->run.period_end;
    /* The UTC days the loop reads, for the progress (at most 93 + 1). */
    int n_days = t1 > t0 ? (int)(series_day_of(t1 - 1) - series_day_of(t0) + 1) : 0;
    int day = 0;
    if (cols == NULL || pos == NULL || v == NULL || vc == NULL) {
        rc = fail_run(x, "out of memory");
        goto out;
    }
    for (int64_t d0 = series_day_of(t0) * SERIES_DAY_US; d0 < t1 && rc == 0 && n_ch > 0;
         d0 += SERIES_DAY_US, day++) {
        int64_t a0 = d0 > t0 ? d0 : t0, a1 = d0 + SERIES_DAY_US < t1 ? d0 + SERIES_DAY_US : t1;
        long long n_day = 0;
        int parts = 1;
        step(x, c, "samples", day, n_days);
        db_status st = db_series_day_count(c, x->run.account_id, x->ids, n_ch,
                                           series_day_of(a0), &n_day);
        if (st != DB_OK) {
            rc = fail_db(x, "the samples could not be read: %s", db_strerror(st));
            break;
        }
        while (parts < 24 && n_day / parts > ROWS_CHUNK_SAMPLES) {
            parts = parts < 4 ? parts + 1 : parts * 2;
        }
        for (int p = 0; p < parts && rc == 0; p++) {
            int64_t p0 = a0 + (a1 - a0) * p / parts, p1 = a0 + (a1 - a0) * (p + 1) / parts;
            size_t total = 0, rows = 0;
            report_rows rr;
            if (p0 >= p1) {
                continue;
            }
            if ((st = series_read(c, x->run.account_id, x->ids, n_ch, p0, p1, cols)) != DB_OK) {
                rc = fail_db(x, "the samples could not be read: %s", db_strerror(st));
                break;
            }
            for (size_t i = 0; i < n_ch; i++) {
                total += cols[i].n;
                pos[i] = 0;
            }
            free(t);
            t = malloc((total ? total : 1) * sizeof *t);
            for (size_t i = 0; i < n_ch; i++) {
                free(v[i]);
                v[i] = malloc((total ? total : 1) * sizeof *v[i]);
                if (v[i] == NULL) {
                    t = NULL;
                }
            }
            if (t == NULL) {
                rc = fail_run(x, "out of memory");
                break;
            }
            /* The union of the channels' times, each channel's value or a
             * gap ("missing") at each. */
            for (;;) {
                int64_t next = INT64_MAX;
                for (size_t i = 0; i < n_ch; i++) {
                    if (pos[i] < cols[i].n && cols[i].t[pos[i]] < next) {
                        next = cols[i].t[pos[i]];
                    }
                }
                if (next == INT64_MAX) {
                    break;
                }
                t[rows] = next;
                for (size_t i = 0; i < n_ch; i++) {
                    if (pos[i] < cols[i].n && cols[i].t[pos[i]] == next) {
                        v[i][rows] = cols[i].v[pos[i]++];
                        /* a repeated time: the later sample wins */
                        while (pos[i] < cols[i].n && cols[i].t[pos[i]] == next) {
                            v[i][rows] = cols[i].v[pos[i]++];
                        }
                    } else {
                        v[i][rows] = mt_sv_value(MT_SV_MISSING);
                    }
                }
                rows++;
            }
            for (size_t i = 0; i < n_ch; i++) {
                vc[i] = v[i];
                series_col_free(&cols[i]);
            }
            x->samples += (long long)total;
            rr.t = t;
            rr.v = vc;
            rr.n = rows;
            if (xw != NULL && report_xlsx_rows(xw, &rr, err, sizeof err) != 0) {
                rc = fail_run(x, "%s", err);
            } else if (csv &&
                       report_csv_samples_rows(&x->doc, &rr, to_upload, &x->up[UP_CSV_SAMPLES]) !=
                           0) {
                rc = fail_run(x, "the samples CSV could not be written");
            }
        }
    }
out:
    for (size_t i = 0; cols != NULL && i < n_ch; i++) {
        series_col_free(&cols[i]);
    }
    for (size_t i = 0; v != NULL && i < n_ch; i++) {
        free(v[i]);
    }
    free(cols);
    free(pos);
    free(v);
    free(vc);
    free(t);
    return rc;
}

/* A drive name "<report> <period><tail>" in at most 255 bytes: the front
 * part is cut at a whole UTF-8 character when the name is long, the tail
 * (" (run id)" and the extension) is kept. */
static void drive_name(char out[300], const char *name, const char *label, const char *tail)
{
    char front[900];
    size_t room, len;
    snprintf(front, sizeof front, "%s %s", name, label);
    room = 255 - strlen(tail);
    len = strlen(front);
    if (len > room) {
        len = room;
        while (len > 0 && ((unsigned char)front[len] & 0xc0) == 0x80) {
            len--; /* not inside a character */
        }
        while (len > 0 && front[len - 1] == ' ') {
            len--; /* a drive name does not end (before its tail) in a space */
        }
        front[len] = '\0';
    }
    snprintf(out, 300, "%.255s%s", front, tail); /* front is at most 255 - strlen(tail) bytes here */
}

static const char *const up_tail[4] = {".pdf", ".xlsx", " summary.csv", " samples.csv"};

/* The files' names in the drive; "with_id": " (<run id>)" before the tail
 * (a period made again). */
static void file_name(run_ctx *x, int k, bool with_id)
{
    char tail[64];
    if (with_id) {
        snprintf(tail, sizeof tail, " (%lld)%s", x->run.id, up_tail[k]);
    } else {
        snprintf(tail, sizeof tail, "%s", up_tail[k]);
    }
    drive_name(x->names[k], x->r.name, x->run.label, tail);
}

static void file_names(run_ctx *x)
{
    for (int k = 0; k < 4; k++) {
        file_name(x, k, false);
    }
}

/* Render every format asked for into uploads (temporary drive files). */
static int render(run_ctx *x, db_conn *c)
{
    char err[256];
    report_xlsx *xw = NULL;
    bool want_xlsx = (x->r.formats & REPORT_FMT_XLSX) != 0;
    bool want_csv = (x->r.formats & REPORT_FMT_CSV) != 0;
    file_names(x);
    double t0 = mono_ms();
    if (x->r.formats & REPORT_FMT_PDF) {
        step(x, c, "pdf", 0, 0);
        if (begin_upload(x, UP_PDF) != 0) {
            return -1;
        }
        if (report_pdf_write(&x->doc, to_upload, &x->up[UP_PDF], err, sizeof err) != 0) {
            return fail_run(x, "%s", err);
        }
        if (finish_upload(x, UP_PDF) != 0) {
            return -1;
        }
    }
    x->ms_pdf = mono_ms() - t0;
    t0 = mono_ms();
    if (want_csv) {
        if (begin_upload(x, UP_CSV_SUM) != 0 ||
            report_csv_summary(&x->doc, to_upload, &x->up[UP_CSV_SUM]) != 0 ||
            finish_upload(x, UP_CSV_SUM) != 0 || begin_upload(x, UP_CSV_SAMPLES) != 0 ||
            report_csv_samples_head(&x->doc, to_upload, &x->up[UP_CSV_SAMPLES]) != 0) {
            return x->error[0] ? -1 : fail_run(x, "the CSV files could not be written");
        }
    }
    if (want_xlsx) {
        char dir[4096];
        int fd;
        snprintf(dir, sizeof dir, "%s/reports", x->s->cfg.data_dir);
        if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
            return fail_run(x, "the folder for temporary report files could not be made");
        }
        snprintf(x->xlsx_tmp, sizeof x->xlsx_tmp, "%s/run-%lld-XXXXXX", dir, x->run.id);
        if ((fd = mkstemp(x->xlsx_tmp)) < 0) {
            x->xlsx_tmp[0] = '\0';
            return fail_run(x, "a temporary report file could not be made");
        }
        close(fd);
        if (report_xlsx_open(x->xlsx_tmp, dir, &x->doc, &xw, err, sizeof err) != 0) {
            return fail_run(x, "%s", err);
        }
    }
    if ((want_xlsx || want_csv) && write_rows(x, c, xw, want_csv) != 0) {
        (void)report_xlsx_close(xw, err, sizeof err);
        return -1;
    }
    if (want_xlsx) {
        if (report_xlsx_close(xw, err, sizeof err) != 0) {
            return fail_run(x, "%s", err);
        }
        if (begin_upload(x, UP_XLSX) != 0 || copy_into(x, x->xlsx_tmp, UP_XLSX) != 0 ||
            finish_upload(x, UP_XLSX) != 0) {
            return -1;
        }
        unlink(x->xlsx_tmp);
        x->xlsx_tmp[0] = '\0';
    }
    if (want_csv && finish_upload(x, UP_CSV_SAMPLES) != 0) {
        return -1;
    }
    x->ms_rows = mono_ms() - t0;
    return 0;
}

/* "s" cut to at most "max" UTF-8 characters (whole characters). */
static void utf8_cut(char *s, size_t max)
{
    size_t bytes = 0, chars = 0;
    while (s[bytes] != '\0' && chars < max) {
        unsigned char b = (unsigned char)s[bytes];
        bytes += b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
        chars++;
    }
    s[bytes] = '\0';
}

/* Put the announcement into the outbox (on the final transaction). */
/* A run's period as its mail says it: both ends as every server text writes
 * a time (alarm_msg_time(): the portal's formatDateTime in "lang") and the
 * zone as its UTC offset, once when both ends have the same one, at each
 * end when summer time begins or ends inside the period; never the zone's
 * IANA id. */
static void mail_period(const report_tz *tz, int64_t from_us, int64_t to_us, const char *lang,
                        char *out, size_t cap)
{
    char raw[24], from[96], until[96], off_from[24], off_to[24];
    int32_t o1 = report_tz_offset(tz, from_us), o2 = report_tz_offset(tz, to_us);
    report_tz_format(tz, from_us, false, raw);
    alarm_msg_time(raw, lang, from, sizeof from);
    report_tz_format(tz, to_us, false, raw);
    alarm_msg_time(raw, lang, until, sizeof until);
    alarm_msg_utc_offset(o1, off_from, sizeof off_from);
    alarm_msg_utc_offset(o2, off_to, sizeof off_to);
    if (o1 == o2) {
        snprintf(out, cap, "%s – %s (%s)", from, until, off_from);
    } else {
        snprintf(out, cap, "%s (%s) – %s (%s)", from, off_from, until, off_to);
    }
}

static svc_status announce(run_ctx *x, db_conn *c, const long long file_ids[4], long long folder,
                           svc_error *e)
{
    notify_to to[REPORT_RCPT_MAX];
    notify_field fields[3];
    notify_text text;
    notify_msg m;
    long long *users = NULL;
    int n_users = 0, n_to = 0, first = -1;
    char title[700], body[2400], key[64], base[300], link[600], period[512], files[600];
    char size_text[32];
    const char *lang = x->r.language;
    long long pdf_size = x->has_up[UP_PDF] ? x->up[UP_PDF].size : 0;
    bool attach;
    db_status st = db_report_users_allowed(c, x->run.account_id, x->r.group_id, x->r.users,
                                           x->r.n_users, &users, &n_users);
    svc_status rc;
    if (st != DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    for (int i = 0; i < n_users && n_to < REPORT_RCPT_MAX; i++) {
        to[n_to++] = (notify_to){NOTIFY_TO_USER, users[i], NULL, NULL};
    }
    for (int i = 0; i < x->r.n_system && n_to < REPORT_RCPT_MAX; i++) {
        to[n_to++] = (notify_to){NOTIFY_TO_RECIPIENT, x->r.system[i], NULL, NULL};
    }
    free(users);
    if (n_to == 0) {
        return SVC_OK; /* nobody to tell */
    }
    for (int k = 0; k < 4 && first < 0; k++) {
        first = file_ids[k] > 0 ? k : -1;
    }
    attach = file_ids[UP_PDF] > 0 && pdf_size <= x->cfg->attach_max;
    snprintf(title, sizeof title, report_text(lang, RT_MAIL_SUBJECT), x->r.name, x->run.label);
    utf8_cut(title, NOTIFY_TITLE_MAX);
    snprintf(size_text, sizeof size_text, "%.1f MB", (double)x->cfg->attach_max / 1e6);
    {
        char tail[400];
        if (file_ids[UP_PDF] <= 0) {
            tail[0] = '\0';
        } else if (attach) {
            snprintf(tail, sizeof tail, "\n\n%s", report_text(lang, RT_MAIL_ATTACHED));
        } else {
            snprintf(tail, sizeof tail, "\n\n");
            snprintf(tail + 2, sizeof tail - 2, report_text(lang, RT_MAIL_NOT_ATTACHED),
                     size_text);
        }
        snprintf(body, sizeof body, report_text(lang, RT_MAIL_BODY), x->r.name,
                 x->ctx.group_name, x->run.label);
        snprintf(body + strlen(body), sizeof body - strlen(body), "%s", tail);
    }
    mail_period(&x->tz, x->run.period_start, x->run.period_end, lang, period, sizeof period);
    files[0] = '\0';
    for (int k = 0; k < 4; k++) {
        if (file_ids[k] > 0) {
            size_t len = strlen(files);
            snprintf(files + len, sizeof files - len, "%s%s", len ? ", " : "", x->names[k]);
        }
    }
    utf8_cut(files, NOTIFY_FIELD_VALUE_MAX);
    utf8_cut(period, NOTIFY_FIELD_VALUE_MAX);
    fields[0] = (notify_field){report_text(lang, RT_PERIOD), period};
    fields[1] = (notify_field){report_text(lang, RT_GROUP), x->ctx.group_name};
    fields[2] = (notify_field){report_text(lang, RT_FILES), files};
    srv_public_url(x->s, base, sizeof base);
    snprintf(link, sizeof link, "%s/#/drive?folder=%lld&file=%lld", base, folder,
             first >= 0 ? file_ids[first] : 0);
    memset(&text, 0, sizeof text);
    text.title = title;
    text.body = body;
    text.fields = fields;
    text.n_fields = 3;
    text.link_url = first >= 0 ? link : NULL;
    text.link_label = report_text(lang, RT_MAIL_OPEN);
    snprintf(key, sizeof key, "report_run:%lld", x->run.id);
    memset(&m, 0, sizeof m);
    m.account_id = x->run.account_id;
    m.kind = "report.ready";
    m.key = key;
    m.severity = "info";
    m.language = lang;
    m.text = &text;
    m.to = to;
    m.n_to = n_to;
    if (attach) {
        m.attach_file_id = file_ids[UP_PDF];
        m.attach_name = x->names[UP_PDF];
        m.attach_type = "application/pdf";
    }
    rc = svc_notify_enqueue(c, &m, NULL, e);
    return rc;
}

/* The end of a run: in one transaction, if this process still holds the
 * run, the files go into the drive (P2 checked), the run is done and its
 * mails are queued. Returns 0, -1 with x->error, or 1 when the run was
 * taken over (nothing recorded). */
static int store(run_ctx *x, int render_ms)
{
    db_pool *pool = x->s->pool;
    db_conn *c = NULL;
    bool found = false, ours = false;
    long long folder = x->r.folder_id, file_ids[4] = {0, 0, 0, 0};
    svc_error e;
    svc_status rc = SVC_OK;
    db_status st;
    int result = 0;
    svc_error_clear(&e);
    if ((rc = svc_tx_begin(pool, &c, &e)) != SVC_OK) {
        return fail_as(x, kind_of(e.status), "%s", e.message);
    }
    if ((st = db_account_lock(c, x->run.account_id, &found)) != DB_OK ||
        (st = db_report_run_lock(c, x->run.account_id, x->run.id, x->owner, x->run.attempts,
                                 &ours)) != DB_OK) {
        rc = svc_fail_db(&e, st, NULL);
        goto out;
    }
    if (!ours) {
        result = 1;
        rc = SVC_CONFLICT;
        goto out;
    }
    /* The report's folder: kept while it exists, else Reports/<name>. */
    if (folder == 0) {
        long long root = 0;
        if ((rc = svc_drive_folder_ensure_tx(c, x->run.account_id, 0, "Reports", &root, &e)) !=
                SVC_OK ||
            (rc = svc_drive_folder_ensure_tx(c, x->run.account_id, root, x->r.name, &folder,
                                             &e)) != SVC_OK) {
            goto out;
        }
        if ((st = db_report_set_folder(c, x->run.account_id, x->r.id, folder)) != DB_OK) {
            rc = svc_fail_db(&e, st, NULL);
            goto out;
        }
    }
    for (int k = 0; k < 4; k++) {
        bool taken = false;
        if (!x->has_up[k]) {
            continue;
        }
        if ((st = db_drive_name_taken(c, x->run.account_id, folder, x->names[k], 0, &taken)) !=
            DB_OK) {
            rc = svc_fail_db(&e, st, NULL);
            goto out;
        }
        if (taken) {
            /* The period made again (by hand): the run's id keeps the
             * names apart. */
            file_name(x, k, true);
        }
        if ((rc = svc_drive_upload_commit_tx(c, x->run.account_id, x->plan, x->run.requested_by,
                                             folder, x->names[k],
                                             up_type[k], &x->up[k], &file_ids[k], &e)) !=
            SVC_OK) {
            goto out;
        }
        if ((st = db_report_file_add(c, x->run.account_id, x->run.id, up_format[k], up_part[k],
                                     file_ids[k], x->names[k], x->up[k].size)) != DB_OK) {
            rc = svc_fail_db(&e, st, NULL);
            goto out;
        }
    }
    if ((st = db_report_run_done(c, x->run.account_id, x->run.id, x->samples, render_ms,
                                 auth_now())) != DB_OK) {
        rc = svc_fail_db(&e, st, NULL);
        goto out;
    }
    rc = announce(x, c, file_ids, folder, &e);
out:
    rc = svc_tx_end(pool, c, rc, &e, NULL);
    if (rc == SVC_OK) {
        for (int k = 0; k < 4; k++) {
            svc_drive_upload_keep(&x->up[k]); /* committed: the drive owns them now */
        }
        return 0;
    }
    if (result == 1) {
        return 1;
    }
    return fail_as(x, kind_of(e.status), "%s", e.message);
}

void svc_report_tmp_sweep(const char *data_dir)
{
    char dir[4096];
    DIR *d;
    struct dirent *ent;
    int n = 0;
    snprintf(dir, sizeof dir, "%s/reports", data_dir);
    if ((d = opendir(dir)) == NULL) {
        return;
    }
    while ((ent = readdir(d)) != NULL) {
        char path[4400];
        if (ent->d_name[0] == '.') {
            continue;
        }
        snprintf(path, sizeof path, "%s/%s", dir, ent->d_name);
        if (unlink(path) == 0) {
            n++;
        }
    }
    closedir(d);
    if (n > 0) {
        log_info("reports: removed %d temporary file%s of runs that did not finish", n,
                 n == 1 ? "" : "s");
    }
}

/* The back-off before attempt "attempts" + 1: 1, 5, 30, 120 times the
 * base (a minute by default). */
static int64_t backoff_s(const svc_report_config *cfg, int attempts)
{
    static const int factor[] = {1, 5, 30, 120};
    int i = attempts - 1 < 0 ? 0 : attempts - 1 > 3 ? 3 : attempts - 1;
    return (int64_t)cfg->retry_s * factor[i];
}

static double mono_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

int svc_report_work(srv *s, const svc_report_config *cfg, bool *did)
{
    run_ctx *x = calloc(1, sizeof *x);
    db_conn *c = NULL;
    bool found = false;
    db_status st;
    db_account_row acct;
    int rc = 0;
    double t_start = mono_ms();
    *did = false;
    if (x == NULL) {
        log_error("reports: out of memory");
        return -1;
    }
    x->s = s;
    x->cfg = cfg;
    {
        char host[64] = "host";
        gethostname(host, sizeof host - 1);
        host[sizeof host - 1] = '\0';
        snprintf(x->owner, sizeof x->owner, "%.60s:%ld", host, (long)getpid());
    }
    if ((st = db_acquire(s->pool, DB_WAIT_MS, &c)) != DB_OK ||
        (st = db_report_run_expire(c, auth_now(), REPORT_ATTEMPTS, NULL)) != DB_OK ||
        (st = db_report_run_claim(c, x->owner, auth_now(), cfg->lease_s, &x->run, &found)) !=
            DB_OK) {
        log_error("reports: claiming a run: %s", db_strerror(st));
        db_release(s->pool, c);
        free(x);
        return -1;
    }
    if (!found) {
        db_release(s->pool, c);
        free(x);
        return 0;
    }
    *did = true;
    log_info("reports: run %lld (report %lld, %s, attempt %d) started", x->run.id,
             x->run.report_id, x->run.label, x->run.attempts);
    st = db_report_get(c, x->run.account_id, x->run.report_id, false, &x->r, &found);
    if (st == DB_OK && !found) {
        goto done; /* deleted meanwhile: its runs went with it */
    }
    if (st == DB_OK) {
        st = db_report_context(c, x->run.account_id, x->r.group_id, &x->ctx, &found);
    }
    if (st == DB_OK && found) {
        st = db_account_get(c, x->run.account_id, &acct, &found);
        if (st == DB_OK && found) {
            x->plan = svc_effective_plan(&acct);
            free(acct.json);
        }
    }
    if (st == DB_OK && !found) {
        goto done; /* the group or account went: the run went with it */
    }
    if (st != DB_OK) {
        fail_db(x, "the report could not be read: %s", db_strerror(st));
    } else if (build_tz(x, c) == 0 && gather(x, c) == 0) {
        x->ms_figures = mono_ms() - t_start;
        build_doc(x);
        if (render(x, c) == 0) {
            double t_store;
            /* The connection goes back before the final transaction takes
             * one of its own. */
            step(x, c, "storing", 0, 0);
            db_release(s->pool, c);
            c = NULL;
            if (cfg->test_stall_ms > 0) {
                struct timespec ts = {cfg->test_stall_ms / 1000,
                                      (long)(cfg->test_stall_ms % 1000) * 1000000L};
                nanosleep(&ts, NULL);
            }
            t_store = mono_ms();
            rc = store(x, (int)(mono_ms() - t_start));
            x->ms_store = mono_ms() - t_store;
            if (rc == 1) {
                log_warn("reports: run %lld was taken over by another process (its lease ran "
                         "out): this attempt is dropped",
                         x->run.id);
                rc = 0;
                goto done;
            }
        } else {
            rc = -1;
        }
    } else {
        rc = -1;
    }
    if (rc == 0 && x->error[0] == '\0') {
        log_info("reports: run %lld done in %.0f ms (%lld samples; figures and charts %.0f ms, "
                 "PDF %.0f ms, XLSX/CSV %.0f ms, storing %.0f ms)",
                 x->run.id, mono_ms() - t_start, x->samples, x->ms_figures, x->ms_pdf, x->ms_rows,
                 x->ms_store);
        goto done;
    }
    /* The attempt failed: retry after a back-off, or fail for good. */
    {
        bool retry = x->run.attempts < REPORT_ATTEMPTS;
        int64_t now = auth_now();
        if (c == NULL && (st = db_acquire(s->pool, DB_WAIT_MS, &c)) != DB_OK) {
            log_error("reports: run %lld failed (%s) and could not be marked: its lease will "
                      "run out and it will be tried again",
                      x->run.id, x->error);
            goto done;
        }
        (void)db_report_run_fail(c, x->run.account_id, x->run.id, x->owner, retry,
                                 now + (retry ? backoff_s(cfg, x->run.attempts) : 0), now,
                                 x->error, x->error_kind ? x->error_kind : REPORT_ERR_SERVER);
        log_warn("reports: run %lld attempt %d failed: %s%s", x->run.id, x->run.attempts,
                 x->error, retry ? " (it will be tried again)" : " (no attempt left)");
        rc = 0;
    }
done:
    db_release(s->pool, c);
    run_free(x);
    free(x);
    return rc;
}
