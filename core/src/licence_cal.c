/* Civil-calendar arithmetic for the licence rules (see mt/caltime.h).
 * Named licence_cal.c so that a build with MT_ONLY="licence" includes it. */
#include "mt/caltime.h"
#include "civil_int.h"

#include <stdio.h>

int mt_cal_is_leap(int year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

int mt_cal_days_in_month(int year, int month)
{
    static const unsigned char len[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (month < 1 || month > 12) {
        return 0;
    }
    if (month == 2 && mt_cal_is_leap(year)) {
        return 29;
    }
    return len[month - 1];
}

mt_status mt_cal_from_civil(int year, int month, int dom, mt_day *out, mt_error *err)
{
    int n_days;
    if (year < 1 || year > 9999) {
        return mt_fail(err, MT_ERANGE, 0, "year %d is outside 1..9999", year);
    }
    if (month < 1 || month > 12) {
        return mt_fail(err, MT_EINVAL, 0, "month %d is not 1..12", month);
    }
    n_days = mt_cal_days_in_month(year, month);
    if (dom < 1 || dom > n_days) {
        return mt_fail(err, MT_EINVAL, 0, "day %d is not in %04d-%02d (%d days)", dom, year,
                       month, n_days);
    }
    *out = (mt_day)mt__days_from_civil(year, month, dom);
    return MT_OK;
}

void mt_cal_to_civil(mt_day day, int *year, int *month, int *dom)
{
    int64_t z = (int64_t)day + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    *year = (int)(yoe + era * 400 + (m <= 2));
    *month = (int)m;
    *dom = (int)d;
}

int mt_cal_weekday(mt_day day)
{
    /* Day 0 (1970-01-01) was a Thursday (ISO 4); floor modulo for negatives. */
    int64_t r = ((int64_t)day + 3) % 7;
    if (r < 0) {
        r += 7;
    }
    return (int)r + 1;
}

static int in_range(int64_t day)
{
    return day >= MT_DAY_MIN && day <= MT_DAY_MAX;
}

mt_status mt_cal_add_months(mt_day day, int months, mt_day *out, mt_error *err)
{
    int y, m, d, n_days;
    int64_t idx;
    if (!in_range(day)) {
        return mt_fail(err, MT_ERANGE, 0, "day %ld is outside 0001-01-01..9999-12-31",
                       (long)day);
    }
    mt_cal_to_civil(day, &y, &m, &d);
    /* Month index counted from year 0; 9999 * 12 fits easily in int64. */
    idx = (int64_t)y * 12 + (m - 1) + months;
    if (idx < 12 || idx > (int64_t)9999 * 12 + 11) {
        return mt_fail(err, MT_ERANGE, 0, "%04d-%02d-%02d %+d months is outside years 1..9999", y,
                       m, d, months);
    }
    y = (int)(idx / 12);
    m = (int)(idx % 12) + 1;
    n_days = mt_cal_days_in_month(y, m);
    if (d > n_days) {
        d = n_days;
    }
    *out = (mt_day)mt__days_from_civil(y, m, d);
    return MT_OK;
}

/* Read "n" ASCII digits of "s" from "off" into *val; on a non-digit return
 * its offset, else -1. Stops at a NUL, so it never reads past the string. */
static long read_digits(const char *s, size_t off, int n, int *val)
{
    int i;
    *val = 0;
    for (i = 0; i < n; i++) {
        char c = s[off + (size_t)i];
        if (c < '0' || c > '9') {
            return (long)(off + (size_t)i);
        }
        *val = *val * 10 + (c - '0');
    }
    return -1;
}

mt_status mt_cal_parse_date(const char *s, mt_day *out, mt_error *err)
{
    int y, m, d, n_days;
    long bad;
    if (!s) {
        return mt_fail(err, MT_EINVAL, 0, "date is NULL; expected YYYY-MM-DD");
    }
    if ((bad = read_digits(s, 0, 4, &y)) >= 0) {
        return mt_fail(err, MT_EINVAL, (size_t)bad, "date \"%.40s\": expected a 4-digit year "
                       "(YYYY-MM-DD)", s);
    }
    if (s[4] != '-') {
        return mt_fail(err, MT_EINVAL, 4, "date \"%.40s\": expected '-' after the year", s);
    }
    if ((bad = read_digits(s, 5, 2, &m)) >= 0) {
        return mt_fail(err, MT_EINVAL, (size_t)bad, "date \"%.40s\": expected a 2-digit month",
                       s);
    }
    if (s[7] != '-') {
        return mt_fail(err, MT_EINVAL, 7, "date \"%.40s\": expected '-' after the month", s);
    }
    if ((bad = read_digits(s, 8, 2, &d)) >= 0) {
        return mt_fail(err, MT_EINVAL, (size_t)bad, "date \"%.40s\": expected a 2-digit day", s);
    }
    if (s[10] != '\0') {
        return mt_fail(err, MT_EINVAL, 10, "date \"%.40s\": unexpected text after YYYY-MM-DD",
                       s);
    }
    if (y < 1) {
        return mt_fail(err, MT_EINVAL, 0, "date \"%s\": year 0000 does not exist", s);
    }
    if (m < 1 || m > 12) {
        return mt_fail(err, MT_EINVAL, 5, "date \"%s\": month %d is not 01..12", s, m);
    }
    n_days = mt_cal_days_in_month(y, m);
    if (d < 1 || d > n_days) {
        return mt_fail(err, MT_EINVAL, 8, "date \"%s\": day %d is not in %04d-%02d (%d days)", s,
                       d, y, m, n_days);
    }
    *out = (mt_day)mt__days_from_civil(y, m, d);
    return MT_OK;
}

mt_status mt_cal_format_date(mt_day day, char *buf, size_t cap, mt_error *err)
{
    int y, m, d;
    if (!buf || cap < MT_CAL_DATE_LEN) {
        return mt_fail(err, MT_ENOSPACE, 0, "date buffer needs %d bytes", MT_CAL_DATE_LEN);
    }
    if (!in_range(day)) {
        return mt_fail(err, MT_ERANGE, 0, "day %ld is outside 0001-01-01..9999-12-31",
                       (long)day);
    }
    mt_cal_to_civil(day, &y, &m, &d);
    snprintf(buf, cap, "%04d-%02d-%02d", y, m, d);
    return MT_OK;
}

mt_time mt_cal_day_start(mt_day day)
{
    return (mt_time)day * MT_US_PER_DAY;
}

/* Floor division of an instant into (day, microseconds into the day). */
static void split_instant(mt_time t, int64_t *day, int64_t *us_of_day)
{
    int64_t q = t / MT_US_PER_DAY, r = t % MT_US_PER_DAY;
    if (r < 0) {
        r += MT_US_PER_DAY;
        q -= 1;
    }
    *day = q;
    *us_of_day = r;
}

mt_status mt_cal_day_of(mt_time t, mt_day *out, mt_error *err)
{
    int64_t day, us;
    split_instant(t, &day, &us);
    if (!in_range(day)) {
        return mt_fail(err, MT_ERANGE, 0, "instant %lld us is outside 0001-01-01..9999-12-31",
                       (long long)t);
    }
    *out = (mt_day)day;
    return MT_OK;
}

mt_status mt_cal_format_instant(mt_time t, char *buf, size_t cap, mt_error *err)
{
    int64_t day, us;
    int y, m, d;
    long s;
    if (!buf || cap < MT_CAL_INSTANT_LEN) {
        return mt_fail(err, MT_ENOSPACE, 0, "instant buffer needs %d bytes", MT_CAL_INSTANT_LEN);
    }
    split_instant(t, &day, &us);
    if (!in_range(day)) {
        return mt_fail(err, MT_ERANGE, 0, "instant %lld us is outside 0001-01-01..9999-12-31",
                       (long long)t);
    }
    mt_cal_to_civil((mt_day)day, &y, &m, &d);
    s = (long)(us / MT_US_PER_S);
    snprintf(buf, cap, "%04d-%02d-%02dT%02ld:%02ld:%02ldZ", y, m, d, s / 3600, s / 60 % 60,
             s % 60);
    return MT_OK;
}
