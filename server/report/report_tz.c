/* Local time of a report's time zone (report_doc.h). */
#include <stdio.h>
#include <string.h>

#include "mt/caltime.h"
#include "report_doc.h"

int32_t report_tz_offset(const report_tz *tz, int64_t t_us)
{
    size_t lo = 0, hi;
    if (tz == NULL || tz->n == 0) {
        return 0;
    }
    /* The last segment starting at or before t (the first one otherwise). */
    hi = tz->n;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (tz->from_us[mid] <= t_us) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    return tz->off_s[lo];
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

void report_tz_civil(const report_tz *tz, int64_t t_us, report_civil *out)
{
    int64_t s = floor_div(t_us, MT_US_PER_S) + report_tz_offset(tz, t_us);
    int64_t day = floor_div(s, 86400), sod = s - day * 86400;
    mt_cal_to_civil((mt_day)day, &out->year, &out->month, &out->day);
    out->hour = (int)(sod / 3600);
    out->minute = (int)(sod / 60 % 60);
    out->second = (int)(sod % 60);
    out->weekday = mt_cal_weekday((mt_day)day);
}

void report_tz_format(const report_tz *tz, int64_t t_us, bool minutes, char out[24])
{
    report_civil c;
    char buf[96]; /* room for any int, so that the compiler sees no truncation */
    report_tz_civil(tz, t_us, &c);
    if (minutes) {
        snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d", c.year, c.month, c.day, c.hour,
                 c.minute);
    } else {
        snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d", c.year, c.month, c.day,
                 c.hour, c.minute, c.second);
    }
    snprintf(out, 24, "%.23s", buf);
}

static void put_offset(int32_t off_s, char *out, size_t cap)
{
    int32_t a = off_s < 0 ? -off_s : off_s;
    a = (a + 30) / 60; /* whole minutes (zones' offsets are, since 1972) */
    snprintf(out, cap, "UTC%s%02d:%02d", off_s < 0 && a > 0 ? "\u2212" : "+", (int)(a / 60),
             (int)(a % 60));
}

void report_tz_label(const report_tz *tz, int64_t t0_us, int64_t t1_us, char out[48])
{
    int32_t a = report_tz_offset(tz, t0_us), b = report_tz_offset(tz, t1_us);
    char x[20], y[20];
    put_offset(a, x, sizeof x);
    if (a == b) {
        snprintf(out, 48, "%s", x);
        return;
    }
    put_offset(b, y, sizeof y);
    snprintf(out, 48, "%s / %s", x, y);
}
