/* RFC 3339 instants (see isotime.h), on core's calendar. */
#include "isotime.h"

#include <stdio.h>

#include "mt/caltime.h"

/* "n" digits at s[*at] into *v; 0, or -1 when not all digits or past "len". */
static int digits(const char *s, size_t len, size_t *at, int n, int *v)
{
    int x = 0;
    if (*at + (size_t)n > len) {
        return -1;
    }
    for (int i = 0; i < n; i++) {
        char c = s[*at + (size_t)i];
        if (c < '0' || c > '9') {
            return -1;
        }
        x = x * 10 + (c - '0');
    }
    *at += (size_t)n;
    *v = x;
    return 0;
}

/* Whether s[*at] is "c" (then step over it). */
static int expect(const char *s, size_t len, size_t *at, char c)
{
    if (*at >= len || s[*at] != c) {
        return -1;
    }
    (*at)++;
    return 0;
}

int iso_time_parse(const char *s, size_t len, int64_t *out)
{
    size_t at = 0;
    int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0, oh = 0, om = 0, sign = 0;
    int64_t t;
    mt_day day;
    if (s == NULL || digits(s, len, &at, 4, &y) || expect(s, len, &at, '-') ||
        digits(s, len, &at, 2, &mo) || expect(s, len, &at, '-') || digits(s, len, &at, 2, &d)) {
        return -1;
    }
    if (at >= len || (s[at] != 'T' && s[at] != 't' && s[at] != ' ')) {
        return -1;
    }
    at++;
    if (digits(s, len, &at, 2, &h) || expect(s, len, &at, ':') || digits(s, len, &at, 2, &mi) ||
        expect(s, len, &at, ':') || digits(s, len, &at, 2, &sec)) {
        return -1;
    }
    if (at < len && s[at] == '.') {
        size_t n = 0;
        at++;
        while (at < len && s[at] >= '0' && s[at] <= '9') {
            at++;
            n++;
        }
        if (n < 1 || n > 9) {
            return -1;
        }
    }
    if (at < len && (s[at] == 'Z' || s[at] == 'z')) {
        at++;
    } else if (at < len && (s[at] == '+' || s[at] == '-')) {
        sign = s[at] == '+' ? 1 : -1;
        at++;
        if (digits(s, len, &at, 2, &oh) || expect(s, len, &at, ':') ||
            digits(s, len, &at, 2, &om) || oh > 23 || om > 59) {
            return -1;
        }
    } else {
        return -1;
    }
    if (at != len || y < 1970 || h > 23 || mi > 59 || sec > 59 ||
        mt_cal_from_civil(y, mo, d, &day, NULL) != MT_OK) {
        return -1;
    }
    t = (int64_t)day * 86400 + h * 3600 + mi * 60 + sec - sign * (oh * 3600 + om * 60);
    if (t < 0) {
        return -1; /* before 1970 in UTC */
    }
    *out = t;
    return 0;
}

int iso_time_format(int64_t t, char *buf, size_t cap)
{
    int y, mo, d;
    int64_t day = t >= 0 ? t / 86400 : -1, rem = t - day * 86400;
    if (t < 0 || cap < ISO_TIME_LEN) {
        return -1;
    }
    mt_cal_to_civil((mt_day)day, &y, &mo, &d);
    if (y > 9999) {
        return -1;
    }
    snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02dZ", y, mo, d, (int)(rem / 3600),
             (int)(rem / 60 % 60), (int)(rem % 60));
    return 0;
}
