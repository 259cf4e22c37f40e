#define _POSIX_C_SOURCE 200809L
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
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

void log_utc_now(char *out, size_t cap)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    char base[32];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, cap, "%.24s.%03dZ", base, (int)(ts.tv_nsec / 1000000L) % 1000);
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
