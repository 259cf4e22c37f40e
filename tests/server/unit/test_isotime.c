/* server/base/isotime.c: the instants of the operator's API. */
#include <string.h>

#include "isotime.h"
#include "t.h"

static void isotime_refuses_anything_but_rfc3339_from_1970(void)
{
    static const char *const bad[] = {
        "", "2026-12-01", "2026-12-01T22:30:00", "2026-12-01T22:30Z", "2026-12-01T24:00:00Z",
        "2026-12-01T22:60:00Z", "2026-12-01T22:30:60Z", "2026-13-01T22:30:00Z",
        "2025-02-29T00:00:00Z", "2026-12-01T22:30:00.Z", "2026-12-01T22:30:00.1234567890Z",
        "2026-12-01T22:30:00+0800", "2026-12-01T22:30:00+24:00", "2026-12-01T22:30:00Zx",
        "1969-12-31T23:59:59Z", "1970-01-01T00:30:00+01:00", "+2026-12-01T22:30:00Z",
        "2026-1-01T22:30:00Z", "2026-12-01X22:30:00Z", "２０２６-12-01T22:30:00Z"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t t = 42;
        if (iso_time_parse(bad[i], strlen(bad[i]), &t) != -1 || t != 42) {
            T_FAIL("'%s' was taken (%lld)", bad[i], (long long)t);
        }
    }
    /* Only "len" bytes count: a prefix that is a whole instant is taken. */
    {
        int64_t t = 0;
        T_EQ_INT(iso_time_parse("2026-12-01T22:30:00Z!!", 20, &t), 0);
        T_EQ_INT(t, 1796164200);
    }
}

static void isotime_takes_offsets_fractions_and_writes_utc(void)
{
    static const struct {
        const char *in;
        long long t;
        const char *out;
    } cases[] = {
        {"1970-01-01T00:00:00Z", 0, "1970-01-01T00:00:00Z"},
        {"2026-12-01T22:30:00Z", 1796164200, "2026-12-01T22:30:00Z"},
        /* 06:30 CST is 22:30 UTC the day before (the default maintenance window) */
        {"2026-12-02T06:30:00+08:00", 1796164200, "2026-12-01T22:30:00Z"},
        {"2026-12-01t22:30:00.999999999z", 1796164200, "2026-12-01T22:30:00Z"},
        {"2028-02-29 12:00:00-05:30", 1835458200, "2028-02-29T17:30:00Z"},
        {"9999-12-31T23:59:59Z", 253402300799LL, "9999-12-31T23:59:59Z"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t t = -1;
        char buf[ISO_TIME_LEN];
        if (iso_time_parse(cases[i].in, strlen(cases[i].in), &t) != 0 || t != cases[i].t) {
            T_FAIL("'%s': %lld, want %lld", cases[i].in, (long long)t, cases[i].t);
            continue;
        }
        T_EQ_INT(iso_time_format(t, buf, sizeof buf), 0);
        T_EQ_STR(buf, cases[i].out);
    }
}

void suite_isotime(void)
{
    T_RUN(isotime_refuses_anything_but_rfc3339_from_1970);
    T_RUN(isotime_takes_offsets_fractions_and_writes_utc);
}
