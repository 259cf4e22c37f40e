/* server/log.c: the UTC time stamps of the diagnostics and the access log. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "t.h"

static void log_utc_format_writes_iso_8601_with_milliseconds(void)
{
    char out[40];
    log_utc_format(0, 0, out, sizeof out);
    T_EQ_STR(out, "1970-01-01T00:00:00.000Z");
    log_utc_format(951782400 + 86399, 999999999, out, sizeof out); /* a leap day's end */
    T_EQ_STR(out, "2000-02-29T23:59:59.999Z");
    log_utc_format(1795651200 + 3723, 45000000, out, sizeof out);
    T_EQ_STR(out, "2026-11-26T01:02:03.045Z");
    log_utc_format(-1, 0, out, sizeof out);
    T_EQ_STR(out, "1969-12-31T23:59:59.000Z");
}

static void log_utc_format_agrees_with_gmtime(void)
{
    char out[80], want[80];
    int bad = 0;
    /* Every 7 hours and 13 seconds over 1900..2200, leap years and all. */
    for (long long t = -2208988800LL; t < 7258118400LL && bad < 3; t += 7 * 3600 + 13) {
        time_t tt = (time_t)t;
        struct tm tm;
        gmtime_r(&tt, &tm);
        snprintf(want, sizeof want, "%04d-%02d-%02dT%02d:%02d:%02d.123Z", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        log_utc_format(t, 123456789, out, sizeof out);
        if (strcmp(out, want) != 0) {
            T_FAIL("%lld: %s, gmtime %s", t, out, want);
            bad++;
        }
    }
    T_EQ_INT(bad, 0);
}

static void log_utc_now_is_24_characters(void)
{
    char out[40];
    log_utc_now(out, sizeof out);
    T_EQ_INT(strlen(out), 24);
    T_TRUE(out[4] == '-' && out[10] == 'T' && out[19] == '.' && out[23] == 'Z');
}

/* The second's text is remembered per thread: every result still lies
 * between log_utc_format() of the clock read just before and just after
 * (ISO text sorts as time does). */
static void log_utc_now_lies_between_the_clock_read_before_and_after(void)
{
    for (int i = 0; i < 20000; i++) {
        struct timespec a, b;
        char before[40], now[40], after[40];
        clock_gettime(CLOCK_REALTIME, &a);
        log_utc_now(now, sizeof now);
        clock_gettime(CLOCK_REALTIME, &b);
        log_utc_format((int64_t)a.tv_sec, a.tv_nsec, before, sizeof before);
        log_utc_format((int64_t)b.tv_sec, b.tv_nsec, after, sizeof after);
        T_EQ_INT(strlen(now), 24);
        T_TRUE(strcmp(before, now) <= 0 && strcmp(now, after) <= 0);
    }
}

void suite_log(void)
{
    T_RUN(log_utc_format_writes_iso_8601_with_milliseconds);
    T_RUN(log_utc_format_agrees_with_gmtime);
    T_RUN(log_utc_now_is_24_characters);
    T_RUN(log_utc_now_lies_between_the_clock_read_before_and_after);
}
