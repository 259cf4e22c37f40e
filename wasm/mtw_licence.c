/* WebAssembly exports for the plan table (mt/plan.h), the licence rules
 * (mt/licence.h) and the calendar (mt/caltime.h). No logic here: argument
 * conversion only. Dates cross as 'YYYY-MM-DD' strings in and mt_day ints
 * out (formatted by mtw_date_format); instants as doubles of milliseconds;
 * counts as doubles that must hold integers (no int64 in exported
 * signatures: emcc 3.1.6 legalises them). */
#include <emscripten.h>

#include "mt/caltime.h"
#include "mt/licence.h"
#include "mt/plan.h"

/* 2^53: the largest range in which every integer is a double. */
#define MTW_INT_LIMIT 9007199254740992.0

/* A JS number that must be an integer count, into *out. */
static mt_status int_in(double v, const char *what, int64_t *out, mt_error *err)
{
    if (!(v >= -MTW_INT_LIMIT && v <= MTW_INT_LIMIT) || v != (double)(int64_t)v) {
        return mt_fail(err, MT_EINVAL, 0, "%s must be an integer (got %g)", what, v);
    }
    *out = (int64_t)v;
    return MT_OK;
}

/* A JS time in milliseconds into microseconds (sub-microsecond dropped). */
static mt_status ms_in(double ms, const char *what, mt_time *out, mt_error *err)
{
    /* Also rejects NaN and infinities. 9.2e15 ms x 1000 stays below 2^63 us;
     * core checks the calendar range after. */
    if (!(ms <= 9.2e15 && ms >= -9.2e15)) {
        return mt_fail(err, MT_EINVAL, 0, "%s must be a finite time in ms (got %g)", what, ms);
    }
    *out = (mt_time)(ms * 1000.0);
    return MT_OK;
}

static double ms_out(mt_time t)
{
    return (double)(t / MT_US_PER_MS) + (double)(t % MT_US_PER_MS) / 1000.0;
}

/* ---- names and the table ---------------------------------------------- */

EMSCRIPTEN_KEEPALIVE int mtw_plan_count(void)
{
    return MT_PLAN_COUNT;
}

EMSCRIPTEN_KEEPALIVE int mtw_quota_last(void)
{
    return MT_QUOTA_LAST;
}

EMSCRIPTEN_KEEPALIVE const char *mtw_plan_name(int plan)
{
    return mt_plan_name((mt_plan)plan);
}

EMSCRIPTEN_KEEPALIVE const char *mtw_plan_title(int plan)
{
    return mt_plan_title((mt_plan)plan);
}

EMSCRIPTEN_KEEPALIVE const char *mtw_quota_id(int q)
{
    return mt_quota_id((mt_quota)q);
}

EMSCRIPTEN_KEEPALIVE const char *mtw_quota_key(int q)
{
    return mt_quota_key((mt_quota)q);
}

EMSCRIPTEN_KEEPALIVE const char *mtw_quota_title(int q)
{
    return mt_quota_title((mt_quota)q);
}

EMSCRIPTEN_KEEPALIVE int mtw_quota_kind(int q)
{
    return (int)mt_quota_kind_of((mt_quota)q);
}

EMSCRIPTEN_KEEPALIVE const char *mtw_access_name(int level)
{
    return mt_access_name((mt_access)level);
}

EMSCRIPTEN_KEEPALIVE const char *mtw_notice_kind_name(int kind)
{
    return mt_notice_kind_name((mt_notice_kind)kind);
}

EMSCRIPTEN_KEEPALIVE int mtw_plan_from_name(const char *name, int *out, mt_error *err)
{
    mt_plan p;
    mt_status st = mt_plan_from_name(name, &p, err);
    if (st == MT_OK) {
        *out = (int)p;
    }
    return st;
}

EMSCRIPTEN_KEEPALIVE int mtw_quota_from_name(const char *name, int *out, mt_error *err)
{
    mt_quota q;
    mt_status st = mt_quota_from_name(name, &q, err);
    if (st == MT_OK) {
        *out = (int)q;
    }
    return st;
}

/* The cell for plan/quota: *limit (a double; exact up to 2^53) and
 * *available (0 for "-"). */
EMSCRIPTEN_KEEPALIVE int mtw_plan_get(int plan, int q, double *limit, int *available,
                                      mt_error *err)
{
    mt_plan_entry e;
    mt_status st = mt_plan_get((mt_plan)plan, (mt_quota)q, &e, err);
    if (st == MT_OK) {
        *limit = (double)e.limit;
        *available = e.available;
    }
    return st;
}

EMSCRIPTEN_KEEPALIVE int mtw_plan_check(int plan, int q, double count, mt_error *err)
{
    int64_t n;
    mt_status st = int_in(count, "count", &n, err);
    return st != MT_OK ? st : mt_plan_check((mt_plan)plan, (mt_quota)q, n, err);
}

EMSCRIPTEN_KEEPALIVE int mtw_plan_require(int plan, int q, int need, mt_error *err)
{
    return mt_plan_require((mt_plan)plan, (mt_quota)q, (mt_access)need, err);
}

EMSCRIPTEN_KEEPALIVE int mtw_plan_check_term(int plan, int months, mt_error *err)
{
    return mt_plan_check_term((mt_plan)plan, months, err);
}

EMSCRIPTEN_KEEPALIVE int mtw_plan_cheapest(int q, double need, int *out, mt_error *err)
{
    int64_t n;
    mt_plan p;
    mt_status st = int_in(need, "need", &n, err);
    if (st == MT_OK && (st = mt_plan_cheapest((mt_quota)q, n, &p, err)) == MT_OK) {
        *out = (int)p;
    }
    return st;
}

/* ---- calendar ----------------------------------------------------------- */

EMSCRIPTEN_KEEPALIVE int mtw_date_parse(const char *s, int *out, mt_error *err)
{
    mt_day d;
    mt_status st = mt_cal_parse_date(s, &d, err);
    if (st == MT_OK) {
        *out = (int)d;
    }
    return st;
}

EMSCRIPTEN_KEEPALIVE int mtw_date_format(int day, char *buf, int cap, mt_error *err)
{
    return mt_cal_format_date((mt_day)day, buf, cap < 0 ? 0 : (size_t)cap, err);
}

/* ---- licence rules ------------------------------------------------------ */

/* out[0..3] = days, dropped, cap_days, expiry (an mt_day). */
EMSCRIPTEN_KEEPALIVE int mtw_licence_convert(int from, int to, double days, const char *today,
                                             double *out, mt_error *err)
{
    int64_t n;
    mt_day t;
    mt_licence_conversion c;
    mt_status st = int_in(days, "remaining days", &n, err);
    if (st != MT_OK || (st = mt_cal_parse_date(today, &t, err)) != MT_OK ||
        (st = mt_licence_convert((mt_plan)from, (mt_plan)to, n, t, &c, err)) != MT_OK) {
        return st;
    }
    out[0] = (double)c.days;
    out[1] = (double)c.dropped;
    out[2] = (double)c.cap_days;
    out[3] = (double)c.expiry;
    return MT_OK;
}

EMSCRIPTEN_KEEPALIVE int mtw_licence_cap_days(const char *today, double *out, mt_error *err)
{
    mt_day t;
    int64_t cap;
    mt_status st = mt_cal_parse_date(today, &t, err);
    if (st != MT_OK || (st = mt_licence_cap_days(t, &cap, err)) != MT_OK) {
        return st;
    }
    *out = (double)cap;
    return MT_OK;
}

/* Returns MT_OK or MT_ELIMIT with *next_day set in both cases. */
EMSCRIPTEN_KEEPALIVE int mtw_licence_check_plan_change(const char *last, const char *today,
                                                       int *next_day, mt_error *err)
{
    mt_day l, t, next = 0;
    mt_status st = mt_cal_parse_date(last, &l, err);
    if (st != MT_OK || (st = mt_cal_parse_date(today, &t, err)) != MT_OK) {
        return st;
    }
    st = mt_licence_check_plan_change(l, t, &next, err);
    *next_day = (int)next;
    return st;
}

static int instant_rule(double ms, const char *what,
                        mt_status (*rule)(mt_time, mt_time *, mt_error *), double *out,
                        mt_error *err)
{
    mt_time t, r;
    mt_status st = ms_in(ms, what, &t, err);
    if (st != MT_OK || (st = rule(t, &r, err)) != MT_OK) {
        return st;
    }
    *out = ms_out(r);
    return MT_OK;
}

EMSCRIPTEN_KEEPALIVE int mtw_licence_trial_expiry(double created_ms, double *out, mt_error *err)
{
    return instant_rule(created_ms, "created", mt_licence_trial_expiry, out, err);
}

EMSCRIPTEN_KEEPALIVE int mtw_licence_overquota_deadline(double notified_ms, double *out,
                                                        mt_error *err)
{
    return instant_rule(notified_ms, "notified", mt_licence_overquota_deadline, out, err);
}

EMSCRIPTEN_KEEPALIVE int mtw_licence_lapse(const char *expiry, double *out, mt_error *err)
{
    mt_day e;
    mt_time t;
    mt_status st = mt_cal_parse_date(expiry, &e, err);
    if (st != MT_OK || (st = mt_licence_lapse(e, &t, err)) != MT_OK) {
        return st;
    }
    *out = ms_out(t);
    return MT_OK;
}

/* "expiry" may be NULL for Trial and Free (it is ignored for them). */
EMSCRIPTEN_KEEPALIVE int mtw_licence_effective_plan(int plan, const char *expiry, double now_ms,
                                                    int *out, mt_error *err)
{
    mt_day e = 0;
    mt_time now;
    mt_plan p;
    mt_status st = ms_in(now_ms, "now", &now, err);
    if (st == MT_OK && expiry) {
        st = mt_cal_parse_date(expiry, &e, err);
    } else if (st == MT_OK && (plan == MT_PLAN_STANDARD || plan == MT_PLAN_PRO)) {
        st = mt_fail(err, MT_EINVAL, 0, "a %s licence needs its expiry date",
                     mt_plan_name((mt_plan)plan));
    }
    if (st != MT_OK || (st = mt_licence_effective_plan((mt_plan)plan, e, now, &p, err)) != MT_OK) {
        return st;
    }
    *out = (int)p;
    return MT_OK;
}

EMSCRIPTEN_KEEPALIVE int mtw_licence_retention(int cutoff, const char *date, int *out,
                                               mt_error *err)
{
    mt_day d, r;
    mt_status st = mt_cal_parse_date(date, &d, err);
    if (st != MT_OK) {
        return st;
    }
    st = cutoff ? mt_licence_retention_cutoff(d, &r, err) : mt_licence_retention_end(d, &r, err);
    if (st == MT_OK) {
        *out = (int)r;
    }
    return st;
}

EMSCRIPTEN_KEEPALIVE int mtw_licence_notice_max(void)
{
    return MT_LICENCE_NOTICE_MAX;
}

/* Up to "cap" notices: at_ms[i] (ms), day[i], kind[i]; the count in *n. */
EMSCRIPTEN_KEEPALIVE int mtw_licence_notices(const char *expiry, double *at_ms, int *day,
                                             int *kind, int cap, int *n, mt_error *err)
{
    mt_licence_notice list[MT_LICENCE_NOTICE_MAX];
    size_t len = 0, i;
    mt_day e;
    mt_status st = mt_cal_parse_date(expiry, &e, err);
    if (st != MT_OK ||
        (st = mt_licence_notices(e, list, MT_LICENCE_NOTICE_MAX, &len, err)) != MT_OK) {
        return st;
    }
    *n = (int)len;
    if (len > (size_t)(cap < 0 ? 0 : cap)) {
        return mt_fail(err, MT_ENOSPACE, 0, "%zu notices, room for %d", len, cap);
    }
    for (i = 0; i < len; i++) {
        at_ms[i] = ms_out(list[i].at);
        day[i] = (int)list[i].day;
        kind[i] = (int)list[i].kind;
    }
    return MT_OK;
}
