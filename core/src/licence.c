/* Licence rules (FEATURES L1..L6); the contracts are in mt/licence.h and the
 * reasoning behind each decision in docs/licence.md. */
#include "mt/licence.h"

static int day_ok(int64_t day)
{
    return day >= MT_DAY_MIN && day <= MT_DAY_MAX;
}

static mt_status range_fail(mt_error *err, const char *what, int64_t day)
{
    return mt_fail(err, MT_ERANGE, 0, "%s (day %lld) is outside 0001-01-01..9999-12-31", what,
                   (long long)day);
}

mt_status mt_licence_cap_days(mt_day today, int64_t *out, mt_error *err)
{
    mt_day limit;
    mt_status st = mt_cal_add_months(today, MT_LICENCE_CAP_MONTHS, &limit, err);
    if (st != MT_OK) {
        return st;
    }
    *out = (int64_t)limit - today;
    return MT_OK;
}

mt_status mt_licence_convert(mt_plan from, mt_plan to, int64_t remaining_days, mt_day today,
                             mt_licence_conversion *out, mt_error *err)
{
    int64_t days, cap;
    mt_status st;
    int pro_to_std = from == MT_PLAN_PRO && to == MT_PLAN_STANDARD;
    int std_to_pro = from == MT_PLAN_STANDARD && to == MT_PLAN_PRO;
    if (!pro_to_std && !std_to_pro) {
        const char *f = mt_plan_name(from), *t = mt_plan_name(to);
        return mt_fail(err, MT_EINVAL, 0,
                       "only a running standard or pro licence converts to the other plan "
                       "(not %s -> %s)",
                       f ? f : "?", t ? t : "?");
    }
    if (remaining_days < 0) {
        return mt_fail(err, MT_EINVAL, 0, "remaining days %lld is negative",
                       (long long)remaining_days);
    }
    if (remaining_days > MT_LICENCE_MAX_DAYS) {
        return mt_fail(err, MT_ERANGE, 0, "remaining days %lld is more than %lld",
                       (long long)remaining_days, (long long)MT_LICENCE_MAX_DAYS);
    }
    st = mt_licence_cap_days(today, &cap, err);
    if (st != MT_OK) {
        return st;
    }
    if (pro_to_std) {
        days = remaining_days * MT_LICENCE_PRO_FACTOR;
    } else {
        /* Round half away from zero; days >= 0 here, so floor(x / 5 + 1/2). */
        days = (2 * remaining_days + MT_LICENCE_PRO_FACTOR) / (2 * MT_LICENCE_PRO_FACTOR);
    }
    out->cap_days = cap;
    out->dropped = days > cap ? days - cap : 0;
    out->days = days > cap ? cap : days;
    out->expiry = (mt_day)(today + out->days);
    return MT_OK;
}

mt_status mt_licence_check_plan_change(mt_day last_change, mt_day today, mt_day *next_allowed,
                                       mt_error *err)
{
    mt_day next;
    char buf[MT_CAL_DATE_LEN];
    mt_status st;
    if (!day_ok(today)) {
        return range_fail(err, "today", today);
    }
    st = mt_cal_add_months(last_change, 1, &next, err);
    if (st != MT_OK) {
        return st;
    }
    if (today < last_change) {
        return mt_fail(err, MT_EINVAL, 0, "the last plan change is %lld days after today",
                       (long long)last_change - today);
    }
    if (next_allowed) {
        *next_allowed = next;
    }
    if (today < next) {
        if (mt_cal_format_date(next, buf, sizeof buf, NULL) != MT_OK) {
            buf[0] = '\0'; /* cannot happen: add_months checked the range */
        }
        return mt_fail(err, MT_ELIMIT, 0,
                       "the plan can change at most once a month; next change allowed on %s",
                       buf);
    }
    return MT_OK;
}

/* t + days x 24 h, when the result stays in the calendar. */
static mt_status add_whole_days(mt_time t, int64_t days, const char *what, mt_time *out,
                                mt_error *err)
{
    mt_day d;
    mt_status st = mt_cal_day_of(t, &d, err);
    if (st != MT_OK) {
        return st;
    }
    if (!day_ok((int64_t)d + days)) {
        return range_fail(err, what, (int64_t)d + days);
    }
    *out = t + days * MT_US_PER_DAY;
    return MT_OK;
}

mt_status mt_licence_trial_expiry(mt_time created, mt_time *out, mt_error *err)
{
    return add_whole_days(created, MT_LICENCE_TRIAL_DAYS, "trial expiry", out, err);
}

mt_status mt_licence_overquota_deadline(mt_time notified, mt_time *out, mt_error *err)
{
    return add_whole_days(notified, MT_LICENCE_OVERQUOTA_DAYS, "over-quota deadline", out, err);
}

mt_status mt_licence_lapse(mt_day expiry, mt_time *out, mt_error *err)
{
    if (!day_ok(expiry) || !day_ok((int64_t)expiry + 1)) {
        return range_fail(err, "the day after expiry", (int64_t)expiry + 1);
    }
    *out = mt_cal_day_start((mt_day)(expiry + 1));
    return MT_OK;
}

mt_status mt_licence_effective_plan(mt_plan plan, mt_day expiry, mt_time now, mt_plan *out,
                                    mt_error *err)
{
    mt_time lapse = 0;
    mt_status st;
    if (!mt_plan_name(plan)) {
        return mt_fail(err, MT_EINVAL, 0, "unknown plan %d (expected 0..3)", (int)plan);
    }
    if (plan == MT_PLAN_TRIAL || plan == MT_PLAN_FREE) {
        *out = plan;
        return MT_OK;
    }
    st = mt_licence_lapse(expiry, &lapse, err);
    if (st != MT_OK) {
        return st;
    }
    *out = now >= lapse ? MT_PLAN_FREE : plan;
    return MT_OK;
}

/* Same month and day a year later; 29 February goes to 1 March. */
static mt_status year_after(mt_day day, mt_day *out, mt_error *err)
{
    int y, m, d;
    if (!day_ok(day)) {
        return range_fail(err, "date", day);
    }
    mt_cal_to_civil(day, &y, &m, &d);
    if (m == 2 && d == 29) {
        m = 3;
        d = 1;
    }
    return mt_cal_from_civil(y + MT_LICENCE_RETENTION_YEARS, m, d, out, err);
}

mt_status mt_licence_retention_end(mt_day acquired, mt_day *out, mt_error *err)
{
    return year_after(acquired, out, err);
}

mt_status mt_licence_retention_cutoff(mt_day today, mt_day *out, mt_error *err)
{
    /* The smallest d with year_after(d) > today. year_after() is
     * non-decreasing, so start one year back (clamped) and step: at most a
     * day or two either way around 29 February. */
    mt_day cut, end;
    mt_status st;
    if (!day_ok(today) || !day_ok((int64_t)today + 1)) {
        return range_fail(err, "today", today);
    }
    st = mt_cal_add_months(today, -12 * MT_LICENCE_RETENTION_YEARS, &cut, err);
    if (st != MT_OK) {
        return st;
    }
    for (;;) {
        if ((st = year_after(cut, &end, err)) != MT_OK) {
            return st;
        }
        if (end > today) {
            break;
        }
        cut++;
    }
    while (cut > MT_DAY_MIN) {
        if ((st = year_after((mt_day)(cut - 1), &end, err)) != MT_OK) {
            return st;
        }
        if (end <= today) {
            break;
        }
        cut--;
    }
    *out = cut;
    return MT_OK;
}

const char *mt_notice_kind_name(mt_notice_kind kind)
{
    switch (kind) {
    case MT_NOTICE_MONTHLY:
        return "monthly";
    case MT_NOTICE_WEEKLY:
        return "weekly";
    case MT_NOTICE_WEEK_BEFORE:
        return "week_before";
    case MT_NOTICE_EXPIRY_DAY:
        return "expiry_day";
    case MT_NOTICE_EXPIRED:
        return "expired";
    }
    return NULL;
}

/* Add (day, kind) to the sorted set "list" of *n entries: one entry per day,
 * the larger kind winning. The caller guarantees room for one more. */
static void put_notice(mt_licence_notice *list, size_t *n, mt_day day, mt_notice_kind kind)
{
    size_t i = 0, j;
    while (i < *n && list[i].day < day) {
        i++;
    }
    if (i < *n && list[i].day == day) {
        if (kind > list[i].kind) {
            list[i].kind = kind;
        }
        return;
    }
    for (j = *n; j > i; j--) {
        list[j] = list[j - 1];
    }
    list[i].day = day;
    list[i].at = mt_cal_day_start(day);
    list[i].kind = kind;
    (*n)++;
}

/* The first Monday of the month containing "day". */
static mt_day first_monday(mt_day day)
{
    int y, m, d;
    mt_day first;
    mt_cal_to_civil(day, &y, &m, &d);
    first = (mt_day)(day - (d - 1));
    return (mt_day)(first + (MT_MONDAY + 7 - mt_cal_weekday(first)) % 7);
}

mt_status mt_licence_notices(mt_day expiry, mt_licence_notice *out, size_t cap, size_t *out_len,
                             mt_error *err)
{
    /* One spare slot: put_notice() inserts before it deduplicates. */
    mt_licence_notice list[MT_LICENCE_NOTICE_MAX + 1];
    size_t n = 0, i;
    mt_day a, b, month, day;
    int y, m, d;
    mt_status st;
    if (!day_ok(expiry) || !day_ok((int64_t)expiry + 1)) {
        return range_fail(err, "the day after expiry", (int64_t)expiry + 1);
    }
    if ((st = mt_cal_add_months(expiry, -3, &a, err)) != MT_OK ||
        (st = mt_cal_add_months(expiry, -1, &b, err)) != MT_OK) {
        return st;
    }
    /* Monthly: walk the first days of the months from A's to B's; each
     * month's first Monday that lies in [A, B). */
    mt_cal_to_civil(a, &y, &m, &d);
    for (month = (mt_day)(a - (d - 1)); month <= b;) {
        mt_day fm = first_monday(month);
        if (fm >= a && fm < b) {
            put_notice(list, &n, fm, MT_NOTICE_MONTHLY);
        }
        if ((st = mt_cal_add_months(month, 1, &month, err)) != MT_OK) {
            return st;
        }
    }
    /* Weekly: every Monday in [B, expiry - 7]. */
    day = (mt_day)(b + (MT_MONDAY + 7 - mt_cal_weekday(b)) % 7);
    for (; day <= expiry - 7; day = (mt_day)(day + 7)) {
        put_notice(list, &n, day, MT_NOTICE_WEEKLY);
    }
    put_notice(list, &n, (mt_day)(expiry - 7), MT_NOTICE_WEEK_BEFORE);
    put_notice(list, &n, expiry, MT_NOTICE_EXPIRY_DAY);
    put_notice(list, &n, (mt_day)(expiry + 1), MT_NOTICE_EXPIRED);
    *out_len = n;
    if (n > cap || (n > 0 && !out)) {
        return mt_fail(err, MT_ENOSPACE, 0, "%zu notices need room for %zu, have %zu", n, n, cap);
    }
    for (i = 0; i < n; i++) {
        out[i] = list[i];
    }
    return MT_OK;
}
