#define _POSIX_C_SOURCE 200809L
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int log_write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -1;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* The civil date of "days" since 1970-01-01 (H. Hinnant's civil_from_days):
 * arithmetic only. gmtime_r() takes glibc's time-zone lock, which every
 * request's access-log line would otherwise contend for. */
static void civil_from_days(long long days, long long *y, int *m, int *d)
{
    long long z = days + 719468;
    long long era = (z >= 0 ? z : z - 146096) / 146097;
    long long doe = z - era * 146097;                               /* [0, 146096] */
    long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
    long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);        /* [0, 365] */
    long long mp = (5 * doy + 2) / 153;                             /* [0, 11] */
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

/* "v" (0..10^width - 1) as "width" digits at "out". */
static void put_digits(char *out, int width, long long v)
{
    for (int i = width - 1; i >= 0; i--) {
        out[i] = (char)('0' + v % 10);
        v /= 10;
    }
}

void log_utc_format(int64_t secs, long nsec, char *out, size_t cap)
{
    long long days = (secs >= 0 ? secs : secs - 86399) / 86400, y;
    int m, d, sod = (int)(secs - days * 86400);
    int ms = (int)(nsec / 1000000L) % 1000;
    civil_from_days(days, &y, &m, &d);
    if (y >= 0 && y <= 9999 && ms >= 0 && cap >= 25) {
        /* What the snprintf() below writes, digit by digit: every log
         * line and access-log line has one (issue 16: its snprintf() was
         * a thirtieth of a small request's instructions). */
        put_digits(out, 4, y);
        out[4] = '-';
        put_digits(out + 5, 2, m);
        out[7] = '-';
        put_digits(out + 8, 2, d);
        out[10] = 'T';
        put_digits(out + 11, 2, sod / 3600);
        out[13] = ':';
        put_digits(out + 14, 2, sod / 60 % 60);
        out[16] = ':';
        put_digits(out + 17, 2, sod % 60);
        out[19] = '.';
        put_digits(out + 20, 3, ms);
        out[23] = 'Z';
        out[24] = '\0';
        return;
    }
    snprintf(out, cap, "%04lld-%02d-%02dT%02d:%02d:%02d.%03dZ", y, m, d, sod / 3600,
             sod / 60 % 60, sod % 60, ms);
}

/* The date and time to the second are written once a second in each
 * thread (issue 16: every access line has one), the milliseconds every
 * time; the same text as log_utc_format(). */
void log_utc_now(char *out, size_t cap)
{
    static _Thread_local struct {
        time_t sec;
        char text[20]; /* "YYYY-MM-DDTHH:MM:SS", set when sec is */
    } tl = {-1, ""};
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (cap >= 25 && ts.tv_sec == tl.sec) {
        memcpy(out, tl.text, 19);
        out[19] = '.';
        put_digits(out + 20, 3, (int)(ts.tv_nsec / 1000000L) % 1000);
        out[23] = 'Z';
        out[24] = '\0';
        return;
    }
    log_utc_format((int64_t)ts.tv_sec, ts.tv_nsec, out, cap);
    if (cap >= 25 && strlen(out) == 24) { /* a year of four digits */
        memcpy(tl.text, out, 19);
        tl.sec = ts.tv_sec;
    }
}

static void log_v(const char *level, const char *fmt, va_list ap)
{
    char line[2048], when[40];
    int n, m;
    log_utc_now(when, sizeof when);
    n = snprintf(line, sizeof line, "%s %s ", when, level);
    if (n < 0) {
        return;
    }
    m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    if (m < 0) {
        return;
    }
    n += m;
    if ((size_t)n > sizeof line - 2) {
        n = (int)sizeof line - 2; /* truncated */
    }
    line[n++] = '\n';
    (void)log_write_all(2, line, (size_t)n);
}

#define LOG_FN(fn, level)                \
    void fn(const char *fmt, ...)        \
    {                                    \
        va_list ap;                      \
        va_start(ap, fmt);               \
        log_v(level, fmt, ap);           \
        va_end(ap);                      \
    }
LOG_FN(log_info, "info")
LOG_FN(log_warn, "warn")
LOG_FN(log_error, "error")
