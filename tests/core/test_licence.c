/* Tests of mt/caltime.h (core/src/licence_cal.c) and mt/licence.h
 * (core/src/licence.c). Every vector was worked by hand from a printed
 * calendar; 1970-01-01 was a Thursday, 2026-01-01 a Thursday, 2028 is a
 * leap year. */
#include "../t.h"
#include "mt/caltime.h"
#include "mt/licence.h"

/* Parse a date known to be valid; a typo in a test shows as a day far from
 * anything real (and fails the comparison that uses it). */
static mt_day day(const char *s)
{
    mt_day d = MT_DAY_MIN;
    if (mt_cal_parse_date(s, &d, NULL) != MT_OK) {
        printf("#   bad test date %s\n", s);
        return MT_DAY_MIN;
    }
    return d;
}

/* 'YYYY-MM-DD' of "d" in a rotating static buffer (tests only). */
static const char *ymd(mt_day d)
{
    static char bufs[4][MT_CAL_DATE_LEN];
    static int next;
    char *b = bufs[next++ % 4];
    if (mt_cal_format_date(d, b, MT_CAL_DATE_LEN, NULL) != MT_OK) {
        return "(out of range)";
    }
    return b;
}

/* ---- calendar: unhappy paths first ------------------------------------ */

static void cal_parse_rejects_malformed_and_impossible_dates(void)
{
    mt_day d = 12345;
    mt_error err;
    T_ERR(mt_cal_parse_date(NULL, &d, &err), MT_EINVAL);
    T_ERR(mt_cal_parse_date("", &d, &err), MT_EINVAL);
    T_EQ_INT(err.pos, 0);
    T_ERR(mt_cal_parse_date("2025-02-30", &d, &err), MT_EINVAL);
    T_EQ_INT(err.pos, 8);
    T_EQ_STR(err.msg, "date \"2025-02-30\": day 30 is not in 2025-02 (28 days)");
    T_ERR(mt_cal_parse_date("2025-02-29", &d, &err), MT_EINVAL); /* 2025 is not leap */
    T_ERR(mt_cal_parse_date("2100-02-29", &d, &err), MT_EINVAL); /* century, not leap */
    T_ERR(mt_cal_parse_date("2025-04-31", &d, &err), MT_EINVAL);
    T_ERR(mt_cal_parse_date("2025-13-01", &d, &err), MT_EINVAL);
    T_EQ_INT(err.pos, 5);
    T_ERR(mt_cal_parse_date("2025-00-10", &d, &err), MT_EINVAL);
    T_ERR(mt_cal_parse_date("2025-01-00", &d, &err), MT_EINVAL);
    T_ERR(mt_cal_parse_date("0000-01-01", &d, &err), MT_EINVAL);
    T_ERR(mt_cal_parse_date("2025-1-01", &d, &err), MT_EINVAL);
    T_EQ_INT(err.pos, 6);
    T_ERR(mt_cal_parse_date("2025/01/01", &d, &err), MT_EINVAL);
    T_EQ_INT(err.pos, 4);
    T_ERR(mt_cal_parse_date("2025-01-01T00:00Z", &d, &err), MT_EINVAL);
    T_EQ_INT(err.pos, 10);
    T_ERR(mt_cal_parse_date(" 2025-01-01", &d, &err), MT_EINVAL);
    T_ERR(mt_cal_parse_date("+2025-01-01", &d, &err), MT_EINVAL);
    T_ERR(mt_cal_parse_date("20250101", &d, &err), MT_EINVAL);
    T_ERR(mt_cal_parse_date("2025-01", &d, &err), MT_EINVAL);
    T_EQ_INT(d, 12345); /* untouched by every failure */
}

static void cal_from_civil_rejects_bad_fields(void)
{
    mt_day d = 7;
    mt_error err;
    T_ERR(mt_cal_from_civil(2025, 2, 29, &d, &err), MT_EINVAL);
    T_EQ_STR(err.msg, "day 29 is not in 2025-02 (28 days)");
    T_ERR(mt_cal_from_civil(2025, 0, 1, &d, &err), MT_EINVAL);
    T_ERR(mt_cal_from_civil(2025, 13, 1, &d, &err), MT_EINVAL);
    T_ERR(mt_cal_from_civil(0, 1, 1, &d, &err), MT_ERANGE);
    T_ERR(mt_cal_from_civil(10000, 1, 1, &d, &err), MT_ERANGE);
    T_EQ_INT(d, 7);
}

static void cal_format_checks_room_and_range(void)
{
    char buf[MT_CAL_INSTANT_LEN];
    mt_error err;
    T_ERR(mt_cal_format_date(0, buf, MT_CAL_DATE_LEN - 1, &err), MT_ENOSPACE);
    T_ERR(mt_cal_format_date(0, NULL, 0, &err), MT_ENOSPACE);
    T_ERR(mt_cal_format_date(MT_DAY_MAX + 1, buf, sizeof buf, &err), MT_ERANGE);
    T_ERR(mt_cal_format_date(MT_DAY_MIN - 1, buf, sizeof buf, &err), MT_ERANGE);
    T_ERR(mt_cal_format_instant(0, buf, MT_CAL_INSTANT_LEN - 1, &err), MT_ENOSPACE);
    T_ERR(mt_cal_format_instant(INT64_MAX, buf, sizeof buf, &err), MT_ERANGE);
    T_ERR(mt_cal_format_instant(INT64_MIN, buf, sizeof buf, &err), MT_ERANGE);
}

static void cal_add_months_rejects_leaving_the_calendar(void)
{
    mt_day d = 5;
    mt_error err;
    T_ERR(mt_cal_add_months(day("9999-12-01"), 1, &d, &err), MT_ERANGE);
    T_ERR(mt_cal_add_months(day("0001-01-31"), -1, &d, &err), MT_ERANGE);
    T_ERR(mt_cal_add_months(MT_DAY_MAX + 1, 0, &d, &err), MT_ERANGE);
    T_EQ_INT(d, 5);
}

/* ---- calendar: known values --------------------------------------------- */

static void cal_known_day_numbers(void)
{
    T_EQ_INT(day("1970-01-01"), 0);
    T_EQ_INT(day("1969-12-31"), -1);
    T_EQ_INT(day("2000-01-01"), 10957);
    T_EQ_INT(day("2024-01-01"), 19723); /* 1704067200 s / 86400 */
    T_EQ_INT(day("2024-02-29"), 19723 + 31 + 28);
    T_EQ_INT(day("0001-01-01"), MT_DAY_MIN);
    T_EQ_INT(day("9999-12-31"), MT_DAY_MAX);
    T_EQ_STR(ymd(19782), "2024-02-29");
    T_EQ_STR(ymd(-1), "1969-12-31");
    T_EQ_STR(ymd(MT_DAY_MIN), "0001-01-01");
}

static void cal_round_trips_every_day_of_the_range(void)
{
    int64_t d;
    int y, m, dom, prev_y = 0, prev_m = 12, prev_dom = 31;
    for (d = MT_DAY_MIN; d <= MT_DAY_MAX; d++) {
        mt_day back = 0;
        mt_cal_to_civil((mt_day)d, &y, &m, &dom);
        /* Each day is the successor of the previous one. */
        if (dom == 1) {
            T_EQ_INT(prev_dom, mt_cal_days_in_month(prev_y, prev_m));
            T_EQ_INT(m, prev_m == 12 ? 1 : prev_m + 1);
        } else {
            T_EQ_INT(dom, prev_dom + 1);
        }
        T_OK(mt_cal_from_civil(y, m, dom, &back, NULL));
        T_EQ_INT(back, d);
        prev_y = y;
        prev_m = m;
        prev_dom = dom;
    }
    T_EQ_INT(y, 9999);
}

static void cal_weekdays(void)
{
    T_EQ_INT(mt_cal_weekday(0), 4);                 /* 1970-01-01 Thursday */
    T_EQ_INT(mt_cal_weekday(-1), 3);                /* 1969-12-31 Wednesday */
    T_EQ_INT(mt_cal_weekday(day("2026-01-01")), 4); /* Thursday */
    T_EQ_INT(mt_cal_weekday(day("2026-03-02")), MT_MONDAY);
    T_EQ_INT(mt_cal_weekday(day("2026-06-01")), MT_MONDAY);
    T_EQ_INT(mt_cal_weekday(day("2028-02-29")), 2); /* Tuesday */
    T_EQ_INT(mt_cal_weekday(day("2025-03-02")), MT_SUNDAY);
    T_EQ_INT(mt_cal_weekday(MT_DAY_MIN), MT_MONDAY); /* 0001-01-01 proleptic */
}

static void cal_leap_years(void)
{
    T_TRUE(mt_cal_is_leap(2024));
    T_TRUE(mt_cal_is_leap(2000));
    T_TRUE(!mt_cal_is_leap(2100));
    T_TRUE(!mt_cal_is_leap(2025));
    T_EQ_INT(mt_cal_days_in_month(2024, 2), 29);
    T_EQ_INT(mt_cal_days_in_month(2025, 2), 28);
    T_EQ_INT(mt_cal_days_in_month(2025, 4), 30);
    T_EQ_INT(mt_cal_days_in_month(2025, 13), 0);
}

static void cal_add_months_clamps_to_month_end(void)
{
    mt_day d = 0;
    T_OK(mt_cal_add_months(day("2025-01-31"), 1, &d, NULL));
    T_EQ_STR(ymd(d), "2025-02-28");
    T_OK(mt_cal_add_months(day("2024-01-31"), 1, &d, NULL));
    T_EQ_STR(ymd(d), "2024-02-29");
    T_OK(mt_cal_add_months(day("2024-02-29"), 12, &d, NULL));
    T_EQ_STR(ymd(d), "2025-02-28");
    T_OK(mt_cal_add_months(day("2025-03-31"), -1, &d, NULL));
    T_EQ_STR(ymd(d), "2025-02-28");
    T_OK(mt_cal_add_months(day("2025-05-31"), -3, &d, NULL));
    T_EQ_STR(ymd(d), "2025-02-28");
    T_OK(mt_cal_add_months(day("2025-11-15"), 3, &d, NULL));
    T_EQ_STR(ymd(d), "2026-02-15");
    T_OK(mt_cal_add_months(day("2025-08-31"), 13, &d, NULL));
    T_EQ_STR(ymd(d), "2026-09-30");
    T_OK(mt_cal_add_months(day("1969-12-31"), 2, &d, NULL));
    T_EQ_STR(ymd(d), "1970-02-28");
    T_OK(mt_cal_add_months(day("2025-06-10"), 0, &d, NULL));
    T_EQ_STR(ymd(d), "2025-06-10");
}

static void cal_instants_split_by_floor(void)
{
    char buf[MT_CAL_INSTANT_LEN];
    mt_day d = 0;
    T_EQ_INT(mt_cal_day_start(day("2026-06-01")), INT64_C(1780272000) * MT_US_PER_S);
    T_OK(mt_cal_day_of(-1, &d, NULL));
    T_EQ_INT(d, -1);
    T_OK(mt_cal_day_of(MT_US_PER_DAY - 1, &d, NULL));
    T_EQ_INT(d, 0);
    T_OK(mt_cal_format_instant(-1, buf, sizeof buf, NULL));
    T_EQ_STR(buf, "1969-12-31T23:59:59Z");
    T_OK(mt_cal_format_instant(mt_cal_day_start(day("2028-02-29")) + 13 * 3600 * MT_US_PER_S +
                                   5 * MT_US_PER_MIN + 9 * MT_US_PER_S,
                               buf, sizeof buf, NULL));
    T_EQ_STR(buf, "2028-02-29T13:05:09Z");
    T_ERR(mt_cal_day_of(INT64_MAX, &d, NULL), MT_ERANGE);
}

/* ---- L2: conversion between Standard and Pro ------------------------------ */

static void convert_rejects_other_plans_and_bad_counts(void)
{
    mt_licence_conversion c = {1, 2, 3, 4};
    mt_error err;
    mt_day today = day("2025-01-15");
    T_ERR(mt_licence_convert(MT_PLAN_FREE, MT_PLAN_PRO, 10, today, &c, &err), MT_EINVAL);
    T_EQ_STR(err.msg, "only a running standard or pro licence converts to the other plan "
                      "(not free -> pro)");
    T_ERR(mt_licence_convert(MT_PLAN_PRO, MT_PLAN_PRO, 10, today, &c, &err), MT_EINVAL);
    T_ERR(mt_licence_convert(MT_PLAN_STANDARD, MT_PLAN_TRIAL, 10, today, &c, &err), MT_EINVAL);
    T_ERR(mt_licence_convert((mt_plan)7, MT_PLAN_PRO, 10, today, &c, &err), MT_EINVAL);
    T_ERR(mt_licence_convert(MT_PLAN_PRO, MT_PLAN_STANDARD, -1, today, &c, &err), MT_EINVAL);
    T_EQ_STR(err.msg, "remaining days -1 is negative");
    T_ERR(mt_licence_convert(MT_PLAN_PRO, MT_PLAN_STANDARD, MT_LICENCE_MAX_DAYS + 1, today, &c,
                             &err),
          MT_ERANGE);
    T_ERR(mt_licence_convert(MT_PLAN_PRO, MT_PLAN_STANDARD, 1, day("9999-01-01"), &c, &err),
          MT_ERANGE);
    T_EQ_INT(c.days, 1); /* untouched */
}

static void convert_standard_365_is_pro_73_and_back(void)
{
    mt_licence_conversion c;
    mt_error err;
    mt_day today = day("2025-01-15");
    T_OK_E(mt_licence_convert(MT_PLAN_STANDARD, MT_PLAN_PRO, 365, today, &c, &err), &err);
    T_EQ_INT(c.days, 73);
    T_EQ_INT(c.dropped, 0);
    T_EQ_STR(ymd(c.expiry), "2025-03-29"); /* 16 days left in January, 28 in Feb, 29 */
    T_OK_E(mt_licence_convert(MT_PLAN_PRO, MT_PLAN_STANDARD, 73, today, &c, &err), &err);
    T_EQ_INT(c.days, 365);
    T_EQ_INT(c.dropped, 0);
    T_EQ_STR(ymd(c.expiry), "2026-01-15");
}

static void convert_rounds_to_nearest(void)
{
    static const struct {
        mt_plan from;
        int64_t in, out;
    } v[] = {
        {MT_PLAN_PRO, 7, 35},      {MT_PLAN_PRO, 0, 0},       {MT_PLAN_PRO, 1, 5},
        {MT_PLAN_STANDARD, 8, 2},  /* 1.6 */ {MT_PLAN_STANDARD, 7, 1}, /* 1.4 */
        {MT_PLAN_STANDARD, 3, 1},  /* 0.6 */ {MT_PLAN_STANDARD, 2, 0}, /* 0.4 */
        {MT_PLAN_STANDARD, 0, 0},  {MT_PLAN_STANDARD, 5, 1},  {MT_PLAN_STANDARD, 12, 2},
        {MT_PLAN_STANDARD, 13, 3}, /* 2.6 */ {MT_PLAN_STANDARD, 1977, 395}, /* 395.4 */
    };
    size_t i;
    for (i = 0; i < sizeof v / sizeof v[0]; i++) {
        mt_licence_conversion c;
        mt_plan to = v[i].from == MT_PLAN_PRO ? MT_PLAN_STANDARD : MT_PLAN_PRO;
        T_OK(mt_licence_convert(v[i].from, to, v[i].in, day("2025-01-15"), &c, NULL));
        if (c.days != v[i].out) {
            T_FAIL("%s %lld days -> %lld, want %lld", mt_plan_name(v[i].from),
                   (long long)v[i].in, (long long)c.days, (long long)v[i].out);
        }
    }
}

static void convert_caps_at_13_calendar_months(void)
{
    mt_licence_conversion c;
    int64_t cap = 0;
    /* 2025-01-15 + 13 months = 2026-02-15: 365 + 31 = 396 days. */
    T_OK(mt_licence_cap_days(day("2025-01-15"), &cap, NULL));
    T_EQ_INT(cap, 396);
    /* Pro 80 -> Standard 400: 4 days over the cap are dropped. */
    T_OK(mt_licence_convert(MT_PLAN_PRO, MT_PLAN_STANDARD, 80, day("2025-01-15"), &c, NULL));
    T_EQ_INT(c.days, 396);
    T_EQ_INT(c.dropped, 4);
    T_EQ_INT(c.cap_days, 396);
    T_EQ_STR(ymd(c.expiry), "2026-02-15");
    /* A full 12-month Pro licence: 365 x 5 = 1825, capped. */
    T_OK(mt_licence_convert(MT_PLAN_PRO, MT_PLAN_STANDARD, 365, day("2025-01-15"), &c, NULL));
    T_EQ_INT(c.days, 396);
    T_EQ_INT(c.dropped, 1825 - 396);
    /* One day under the cap: nothing dropped. */
    T_OK(mt_licence_convert(MT_PLAN_PRO, MT_PLAN_STANDARD, 79, day("2025-01-15"), &c, NULL));
    T_EQ_INT(c.days, 395);
    T_EQ_INT(c.dropped, 0);
    /* The cap follows the calendar: 2027-12-31 + 13 months = 2029-01-31,
     * across the leap day 2028-02-29: 366 + 31 = 397 days. */
    T_OK(mt_licence_cap_days(day("2027-12-31"), &cap, NULL));
    T_EQ_INT(cap, 397);
    /* 2025-01-31 + 13 months = 2026-02-28 (clamped): 365 + 28 = 393. */
    T_OK(mt_licence_cap_days(day("2025-01-31"), &cap, NULL));
    T_EQ_INT(cap, 393);
    /* Standard -> Pro can hit the cap too: 2000 / 5 = 400 > 396. */
    T_OK(mt_licence_convert(MT_PLAN_STANDARD, MT_PLAN_PRO, 2000, day("2025-01-15"), &c, NULL));
    T_EQ_INT(c.days, 396);
    T_EQ_INT(c.dropped, 4);
}

/* ---- L2: at most one plan change a month ---------------------------------- */

static void plan_change_rejects_future_last_change(void)
{
    mt_error err;
    mt_day next = 0;
    T_ERR(mt_licence_check_plan_change(day("2025-05-02"), day("2025-05-01"), &next, &err),
          MT_EINVAL);
    T_EQ_STR(err.msg, "the last plan change is 1 days after today");
    T_ERR(mt_licence_check_plan_change(day("9999-12-15"), day("9999-12-20"), &next, &err),
          MT_ERANGE);
    T_ERR(mt_licence_check_plan_change(day("2025-05-02"), MT_DAY_MAX + 5, &next, &err),
          MT_ERANGE);
}

static void plan_change_allowed_one_calendar_month_later(void)
{
    mt_error err;
    mt_day next = 0;
    T_ERR(mt_licence_check_plan_change(day("2025-03-15"), day("2025-03-15"), &next, &err),
          MT_ELIMIT);
    T_EQ_STR(err.msg, "the plan can change at most once a month; next change allowed on "
                      "2025-04-15");
    T_EQ_STR(ymd(next), "2025-04-15");
    T_ERR(mt_licence_check_plan_change(day("2025-03-15"), day("2025-04-14"), &next, &err),
          MT_ELIMIT);
    T_OK_E(mt_licence_check_plan_change(day("2025-03-15"), day("2025-04-15"), &next, &err),
           &err);
    T_OK_E(mt_licence_check_plan_change(day("2025-03-15"), day("2026-01-01"), NULL, &err), &err);
    /* Across a year end. */
    T_ERR(mt_licence_check_plan_change(day("2025-12-20"), day("2026-01-19"), &next, &err),
          MT_ELIMIT);
    T_OK(mt_licence_check_plan_change(day("2025-12-20"), day("2026-01-20"), &next, &err));
}

static void plan_change_clamps_month_ends_and_leap_years(void)
{
    mt_error err;
    mt_day next = 0;
    /* Jan 31 -> Feb 28 in a common year, Feb 29 in a leap year. */
    T_ERR(mt_licence_check_plan_change(day("2025-01-31"), day("2025-02-27"), &next, &err),
          MT_ELIMIT);
    T_OK(mt_licence_check_plan_change(day("2025-01-31"), day("2025-02-28"), &next, &err));
    T_EQ_STR(ymd(next), "2025-02-28");
    T_ERR(mt_licence_check_plan_change(day("2028-01-31"), day("2028-02-28"), &next, &err),
          MT_ELIMIT);
    T_EQ_STR(ymd(next), "2028-02-29");
    T_OK(mt_licence_check_plan_change(day("2028-01-31"), day("2028-02-29"), &next, &err));
    /* From the leap day: Mar 29. From Mar 31: Apr 30. */
    T_OK(mt_licence_check_plan_change(day("2028-02-29"), day("2028-03-29"), &next, &err));
    T_ERR(mt_licence_check_plan_change(day("2028-02-29"), day("2028-03-28"), &next, &err),
          MT_ELIMIT);
    T_ERR(mt_licence_check_plan_change(day("2025-03-31"), day("2025-04-29"), &next, &err),
          MT_ELIMIT);
    T_EQ_STR(ymd(next), "2025-04-30");
}

/* ---- L3, L4: trial expiry, over-quota deadline, lapse to Free -------------- */

static void trial_expires_93_days_after_creation(void)
{
    mt_time out = 0;
    mt_error err;
    char buf[MT_CAL_INSTANT_LEN];
    /* 2025-01-10T09:30:00Z + 93 days: 21 days to Jan 31, 28 in Feb, 31 in
     * March = 80 on 2025-03-31, 13 more = 2025-04-13, same time of day. */
    mt_time created = mt_cal_day_start(day("2025-01-10")) + 9 * 3600 * MT_US_PER_S +
                      30 * MT_US_PER_MIN;
    T_OK_E(mt_licence_trial_expiry(created, &out, &err), &err);
    T_OK(mt_cal_format_instant(out, buf, sizeof buf, NULL));
    T_EQ_STR(buf, "2025-04-13T09:30:00Z");
    T_EQ_INT(out - created, 93 * MT_US_PER_DAY);
    /* Over a leap day: 2027-12-31 + 93 = 2028-04-02 (31 Jan + 29 Feb + 31 Mar
     * = 91 on 2028-03-31). */
    T_OK(mt_licence_trial_expiry(mt_cal_day_start(day("2027-12-31")), &out, NULL));
    T_OK(mt_cal_format_instant(out, buf, sizeof buf, NULL));
    T_EQ_STR(buf, "2028-04-02T00:00:00Z");
    T_ERR(mt_licence_trial_expiry(mt_cal_day_start(MT_DAY_MAX - 10), &out, &err), MT_ERANGE);
    T_ERR(mt_licence_trial_expiry(INT64_MAX, &out, &err), MT_ERANGE);
}

static void overquota_deadline_is_31_days(void)
{
    mt_time out = 0;
    char buf[MT_CAL_INSTANT_LEN];
    T_OK(mt_licence_overquota_deadline(mt_cal_day_start(day("2028-02-10")) + MT_US_PER_S, &out,
                                       NULL));
    T_OK(mt_cal_format_instant(out, buf, sizeof buf, NULL));
    T_EQ_STR(buf, "2028-03-12T00:00:01Z"); /* 19 days to Feb 29, 12 in March */
    T_ERR(mt_licence_overquota_deadline(INT64_MIN, &out, NULL), MT_ERANGE);
}

static void licence_falls_to_free_the_day_after_expiry(void)
{
    mt_plan p = MT_PLAN_TRIAL;
    mt_time lapse = 0;
    mt_error err;
    mt_day expiry = day("2026-06-01");
    T_OK(mt_licence_lapse(expiry, &lapse, NULL));
    T_EQ_INT(lapse, mt_cal_day_start(day("2026-06-02")));
    T_OK(mt_licence_effective_plan(MT_PLAN_PRO, expiry, lapse - 1, &p, NULL));
    T_EQ_INT(p, MT_PLAN_PRO); /* the whole expiry day is still licensed */
    T_OK(mt_licence_effective_plan(MT_PLAN_PRO, expiry, lapse, &p, NULL));
    T_EQ_INT(p, MT_PLAN_FREE);
    T_OK(mt_licence_effective_plan(MT_PLAN_STANDARD, expiry, lapse + MT_US_PER_DAY, &p, NULL));
    T_EQ_INT(p, MT_PLAN_FREE);
    T_OK(mt_licence_effective_plan(MT_PLAN_FREE, 0, lapse, &p, NULL));
    T_EQ_INT(p, MT_PLAN_FREE);
    T_OK(mt_licence_effective_plan(MT_PLAN_TRIAL, 0, lapse, &p, NULL));
    T_EQ_INT(p, MT_PLAN_TRIAL);
    T_ERR(mt_licence_effective_plan((mt_plan)4, expiry, lapse, &p, &err), MT_EINVAL);
    T_ERR(mt_licence_effective_plan(MT_PLAN_PRO, MT_DAY_MAX, lapse, &p, &err), MT_ERANGE);
    T_ERR(mt_licence_lapse(MT_DAY_MAX, &lapse, &err), MT_ERANGE);
}

/* ---- L5: Free retention ------------------------------------------------- */

static void retention_is_one_year_and_feb29_keeps_to_march_1(void)
{
    mt_day d = 0;
    T_OK(mt_licence_retention_end(day("2025-06-10"), &d, NULL));
    T_EQ_STR(ymd(d), "2026-06-10");
    T_OK(mt_licence_retention_end(day("2028-02-29"), &d, NULL));
    T_EQ_STR(ymd(d), "2029-03-01");
    T_OK(mt_licence_retention_end(day("2028-02-28"), &d, NULL));
    T_EQ_STR(ymd(d), "2029-02-28");
    T_OK(mt_licence_retention_end(day("2027-03-01"), &d, NULL));
    T_EQ_STR(ymd(d), "2028-03-01"); /* 366 days: a leap day inside */
    T_ERR(mt_licence_retention_end(day("9999-01-01"), &d, NULL), MT_ERANGE);
}

static void retention_cutoff_is_the_exact_inverse(void)
{
    mt_day cut = 0, d, t;
    /* Hand-worked: on 2029-03-01 data from 2028-02-29 (end 2029-03-01) goes,
     * data from 2028-03-01 (end 2029-03-01) too, 2028-03-02 stays. */
    T_OK(mt_licence_retention_cutoff(day("2029-03-01"), &cut, NULL));
    T_EQ_STR(ymd(cut), "2028-03-02");
    T_OK(mt_licence_retention_cutoff(day("2029-02-28"), &cut, NULL));
    T_EQ_STR(ymd(cut), "2028-02-29");
    T_OK(mt_licence_retention_cutoff(day("2028-02-29"), &cut, NULL));
    T_EQ_STR(ymd(cut), "2027-03-01");
    /* Exhaustively over 2026..2030: end(d) <= t exactly when d < cutoff(t). */
    for (t = day("2026-01-01"); t <= day("2030-12-31"); t++) {
        T_OK(mt_licence_retention_cutoff(t, &cut, NULL));
        for (d = (mt_day)(t - 400); d <= (mt_day)(t - 330); d++) {
            mt_day end = 0;
            T_OK(mt_licence_retention_end(d, &end, NULL));
            if ((end <= t) != (d < cut)) {
                T_FAIL("today %s, acquired %s: end %s, cutoff %s", ymd(t), ymd(d), ymd(end),
                       ymd(cut));
            }
        }
    }
}

/* ---- L6: notice calendar ------------------------------------------------ */

/* The calendar of "expiry" as "date kind, date kind, ..." for compact vectors. */
static const char *calendar_text(const char *expiry)
{
    static char text[512];
    mt_licence_notice notices[MT_LICENCE_NOTICE_MAX];
    size_t n = 0, i, off = 0;
    mt_error err;
    text[0] = '\0';
    if (mt_licence_notices(day(expiry), notices, MT_LICENCE_NOTICE_MAX, &n, &err) != MT_OK) {
        snprintf(text, sizeof text, "error: %s", err.msg);
        return text;
    }
    for (i = 0; i < n; i++) {
        if (notices[i].at != mt_cal_day_start(notices[i].day)) {
            return "at is not 00:00 UTC of day";
        }
        off += (size_t)snprintf(text + off, sizeof text - off, "%s%s %s", i ? ", " : "",
                                ymd(notices[i].day), mt_notice_kind_name(notices[i].kind));
    }
    return text;
}

static void notices_reject_small_buffers_and_range(void)
{
    mt_licence_notice few[3];
    size_t n = 0;
    mt_error err;
    T_ERR(mt_licence_notices(day("2026-06-01"), few, 3, &n, &err), MT_ENOSPACE);
    T_EQ_INT(n, 8);
    T_ERR(mt_licence_notices(day("2026-06-01"), NULL, 0, &n, &err), MT_ENOSPACE);
    T_EQ_INT(n, 8);
    T_ERR(mt_licence_notices(MT_DAY_MAX, few, 3, &n, &err), MT_ERANGE);
    T_ERR(mt_licence_notices(day("0001-02-01"), few, 3, &n, &err), MT_ERANGE);
}

static void notices_expiry_on_a_monday_the_1st(void)
{
    /* 2026-06-01 is a Monday. A = 2026-03-01 (Sun), B = 2026-05-01 (Fri).
     * First Mondays in [A, B): Mar 2, Apr 6 (May 4 is past B: weekly).
     * Mondays in [May 1, May 25]: May 4, 11, 18, 25; May 25 = expiry - 7
     * is deduplicated as week_before. */
    T_EQ_STR(calendar_text("2026-06-01"),
             "2026-03-02 monthly, 2026-04-06 monthly, 2026-05-04 weekly, 2026-05-11 weekly, "
             "2026-05-18 weekly, 2026-05-25 week_before, 2026-06-01 expiry_day, "
             "2026-06-02 expired");
}

static void notices_first_monday_exactly_3_months_before_is_included(void)
{
    /* Expiry Tue 2026-06-02: A = Mon 2026-03-02, itself the first Monday of
     * March: included. */
    T_EQ_STR(calendar_text("2026-06-02"),
             "2026-03-02 monthly, 2026-04-06 monthly, 2026-05-04 weekly, 2026-05-11 weekly, "
             "2026-05-18 weekly, 2026-05-25 weekly, 2026-05-26 week_before, "
             "2026-06-02 expiry_day, 2026-06-03 expired");
    /* Expiry Wed 2026-06-03: A = 2026-03-03, one day after March's first
     * Monday: more than 3 months early, so the first notice is April's. */
    T_EQ_STR(calendar_text("2026-06-03"),
             "2026-04-06 monthly, 2026-05-04 weekly, 2026-05-11 weekly, 2026-05-18 weekly, "
             "2026-05-25 weekly, 2026-05-27 week_before, 2026-06-03 expiry_day, "
             "2026-06-04 expired");
}

static void notices_expiry_on_the_1st_starts_weekly_on_b(void)
{
    /* Expiry Wed 2026-07-01: A = 2026-04-01, B = Mon 2026-06-01, which is
     * June's first Monday and the first weekly notice (monthly is [A, B)). */
    T_EQ_STR(calendar_text("2026-07-01"),
             "2026-04-06 monthly, 2026-05-04 monthly, 2026-06-01 weekly, 2026-06-08 weekly, "
             "2026-06-15 weekly, 2026-06-22 weekly, 2026-06-24 week_before, "
             "2026-07-01 expiry_day, 2026-07-02 expired");
}

static void notices_across_the_leap_day(void)
{
    /* Expiry Wed 2028-03-01: A = 2027-12-01, B = 2028-02-01 (Tue). Expiry - 7
     * counts the leap day: Feb 23. Feb 28 is a Monday but after Feb 23. */
    T_EQ_STR(calendar_text("2028-03-01"),
             "2027-12-06 monthly, 2028-01-03 monthly, 2028-02-07 weekly, 2028-02-14 weekly, "
             "2028-02-21 weekly, 2028-02-23 week_before, 2028-03-01 expiry_day, "
             "2028-03-02 expired");
}

static void notices_month_end_expiry_clamps_a_and_b(void)
{
    /* Expiry Tue 2026-03-31: A = 2025-12-31, B = 2026-02-28 (clamped). */
    T_EQ_STR(calendar_text("2026-03-31"),
             "2026-01-05 monthly, 2026-02-02 monthly, 2026-03-02 weekly, 2026-03-09 weekly, "
             "2026-03-16 weekly, 2026-03-23 weekly, 2026-03-24 week_before, "
             "2026-03-31 expiry_day, 2026-04-01 expired");
    /* Expiry Sun 2025-03-02: A = Mon 2024-12-02 (included), B = Sun
     * 2025-02-02; the expired notice falls on a Monday. */
    T_EQ_STR(calendar_text("2025-03-02"),
             "2024-12-02 monthly, 2025-01-06 monthly, 2025-02-03 weekly, 2025-02-10 weekly, "
             "2025-02-17 weekly, 2025-02-23 week_before, 2025-03-02 expiry_day, "
             "2025-03-03 expired");
}

static void notices_are_sorted_unique_and_bounded_for_every_day(void)
{
    mt_licence_notice notices[MT_LICENCE_NOTICE_MAX];
    size_t n, i, most = 0;
    mt_day e;
    for (e = day("2024-01-01"); e <= day("2031-12-31"); e++) {
        T_OK(mt_licence_notices(e, notices, MT_LICENCE_NOTICE_MAX, &n, NULL));
        T_TRUE(n >= 5);
        for (i = 1; i < n; i++) {
            T_TRUE(notices[i - 1].day < notices[i].day);
        }
        for (i = 0; i < n; i++) {
            if (notices[i].kind == MT_NOTICE_MONTHLY || notices[i].kind == MT_NOTICE_WEEKLY) {
                T_EQ_INT(mt_cal_weekday(notices[i].day), MT_MONDAY);
            }
        }
        T_EQ_INT(notices[n - 1].day, e + 1);
        T_EQ_INT(notices[n - 1].kind, MT_NOTICE_EXPIRED);
        most = n > most ? n : most;
    }
    T_EQ_INT(most, MT_LICENCE_NOTICE_MAX);
    T_EQ_STR(mt_notice_kind_name(MT_NOTICE_WEEK_BEFORE), "week_before");
    T_TRUE(mt_notice_kind_name((mt_notice_kind)0) == NULL);
}

void suite_licence(void)
{
    T_RUN(cal_parse_rejects_malformed_and_impossible_dates);
    T_RUN(cal_from_civil_rejects_bad_fields);
    T_RUN(cal_format_checks_room_and_range);
    T_RUN(cal_add_months_rejects_leaving_the_calendar);
    T_RUN(cal_known_day_numbers);
    T_RUN(cal_round_trips_every_day_of_the_range);
    T_RUN(cal_weekdays);
    T_RUN(cal_leap_years);
    T_RUN(cal_add_months_clamps_to_month_end);
    T_RUN(cal_instants_split_by_floor);
    T_RUN(convert_rejects_other_plans_and_bad_counts);
    T_RUN(convert_standard_365_is_pro_73_and_back);
    T_RUN(convert_rounds_to_nearest);
    T_RUN(convert_caps_at_13_calendar_months);
    T_RUN(plan_change_rejects_future_last_change);
    T_RUN(plan_change_allowed_one_calendar_month_later);
    T_RUN(plan_change_clamps_month_ends_and_leap_years);
    T_RUN(trial_expires_93_days_after_creation);
    T_RUN(overquota_deadline_is_31_days);
    T_RUN(licence_falls_to_free_the_day_after_expiry);
    T_RUN(retention_is_one_year_and_feb29_keeps_to_march_1);
    T_RUN(retention_cutoff_is_the_exact_inverse);
    T_RUN(notices_reject_small_buffers_and_range);
    T_RUN(notices_expiry_on_a_monday_the_1st);
    T_RUN(notices_first_monday_exactly_3_months_before_is_included);
    T_RUN(notices_expiry_on_the_1st_starts_weekly_on_b);
    T_RUN(notices_across_the_leap_day);
    T_RUN(notices_month_end_expiry_clamps_a_and_b);
    T_RUN(notices_are_sorted_unique_and_bounded_for_every_day);
}
