/* Fuzz target for alarm rules. The first byte picks the mode:
 *  even: the rest is rule text. When it parses, it must print, and the
 *        printed text must parse to the same rule and print identically;
 *        then a few rows derived from the input are fed (one call, and row
 *        by row with save/restore in between) and must give the same events.
 *  odd:  the rest is restored as a state blob into an evaluator for a fixed
 *        rule; whatever it holds, restore either fails cleanly or the
 *        evaluator keeps working. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mt/alarm.h"

#define CHECK(c)         \
    do {                 \
        if (!(c)) {      \
            abort();     \
        }                \
    } while (0)

enum { N_ROWS = 24 };

static void make_rows(const uint8_t *data, size_t size, mt_time *t, double *v1, double *v2)
{
    size_t i;
    mt_time cur = (mt_time)1704067200 * 1000000;
    for (i = 0; i < N_ROWS; i++) {
        uint8_t b = size ? data[i % size] : (uint8_t)i;
        cur += (mt_time)(b % 16) * 7 * 60 * 1000000; /* up to 105 min steps */
        t[i] = cur;
        v1[i] = (b & 0x80) ? mt_sv_value((mt_sv)(1 + b % 5)) : (double)(b % 41) - 5;
        v2[i] = (b & 0x40) && (b & 1) ? mt_sv_value(MT_SV_MISSING) : (double)(b % 13) - 3;
    }
}

static size_t feed_all(mt_alarm *a, const mt_time *t, const double *v1, const double *v2,
                       size_t n, size_t step, const mt_alarm_rule *r, mt_alarm_event *out)
{
    size_t i = 0, n_out = 0;
    while (i < n) {
        mt_alarm_event ev[MT_ALARM_EVENTS_MIN];
        size_t n_ev = 0, used = 0, k;
        size_t take = step < n - i ? step : n - i;
        mt_status st = mt_alarm_feed(a, t + i, v1 + i, v2 + i, take, ev, MT_ALARM_EVENTS_MIN,
                                     &n_ev, &used, NULL);
        CHECK(st == MT_OK || st == MT_ENOSPACE);
        CHECK(used > 0 || n_ev > 0);
        for (k = 0; k < n_ev; k++) {
            ev[k].row += i;
            out[n_out++] = ev[k];
        }
        i += used;
        if (step == 1 && r) {
            uint8_t blob[MT_ALARM_STATE_SIZE];
            mt_alarm *b = NULL;
            CHECK(mt_alarm_save(a, blob, sizeof blob, NULL, NULL) == MT_OK);
            CHECK(mt_alarm_new(r, &b, NULL) == MT_OK);
            CHECK(mt_alarm_restore(b, blob, sizeof blob, NULL) == MT_OK);
            CHECK(mt_alarm_restore(a, blob, sizeof blob, NULL) == MT_OK);
            mt_alarm_free(b);
        }
    }
    return n_out;
}

/* Field by field: the struct has padding. */
static int same_events(const mt_alarm_event *a, const mt_alarm_event *b, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        if (a[i].kind != b[i].kind || a[i].channel != b[i].channel ||
            a[i].special != b[i].special || a[i].row != b[i].row || a[i].t != b[i].t ||
            memcmp(a[i].v, b[i].v, sizeof a[i].v) != 0) {
            return 0;
        }
    }
    return 1;
}

static void fuzz_text(const uint8_t *data, size_t size)
{
    mt_alarm_rule r, r2;
    mt_error err;
    char buf[MT_ALARM_PRINT_MAX], buf2[MT_ALARM_PRINT_MAX];
    size_t len, len2, n1, n2;
    mt_alarm *a = NULL;
    mt_time t[N_ROWS];
    double v1[N_ROWS], v2[N_ROWS];
    mt_alarm_event e1[N_ROWS * MT_ALARM_EVENTS_MIN], e2[N_ROWS * MT_ALARM_EVENTS_MIN];
    if (mt_alarm_parse((const char *)data, size, &r, &err) != MT_OK) {
        CHECK(err.pos <= size || err.code == MT_ELIMIT);
        return;
    }
    CHECK(mt_alarm_print(&r, buf, sizeof buf, &len, &err) == MT_OK);
    CHECK(mt_alarm_parse(buf, len, &r2, &err) == MT_OK);
    CHECK(memcmp(&r, &r2, sizeof r) == 0);
    CHECK(mt_alarm_print(&r2, buf2, sizeof buf2, &len2, &err) == MT_OK);
    CHECK(len == len2 && strcmp(buf, buf2) == 0);

    make_rows(data, size, t, v1, v2);
    CHECK(mt_alarm_new(&r, &a, &err) == MT_OK);
    n1 = feed_all(a, t, v1, v2, N_ROWS, N_ROWS, NULL, e1);
    mt_alarm_reset(a);
    n2 = feed_all(a, t, v1, v2, N_ROWS, 1, &r, e2);
    CHECK(n1 == n2 && same_events(e1, e2, n1));
    mt_alarm_free(a);
}

static void fuzz_state(const uint8_t *data, size_t size)
{
    static const char rule[] = "CH1 > 10 AND CH2 <= 5 FOR 5m CLEAR 1m DURING 08:00-18:00";
    mt_alarm_rule r;
    mt_alarm *a = NULL;
    mt_error err;
    mt_time t[N_ROWS];
    double v1[N_ROWS], v2[N_ROWS];
    mt_alarm_event ev[N_ROWS * MT_ALARM_EVENTS_MIN];
    CHECK(mt_alarm_parse(rule, sizeof rule - 1, &r, &err) == MT_OK);
    CHECK(mt_alarm_new(&r, &a, &err) == MT_OK);
    if (mt_alarm_restore(a, data, size, &err) == MT_OK) {
        size_t n_ev = 0, used = 0;
        mt_status st;
        make_rows(data, size, t, v1, v2);
        st = mt_alarm_feed(a, t, v1, v2, N_ROWS, ev, N_ROWS * MT_ALARM_EVENTS_MIN, &n_ev, &used,
                           &err);
        CHECK(st == MT_OK || st == MT_EORDER);
    } else {
        CHECK(err.pos <= size);
    }
    mt_alarm_free(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return 0;
    }
    if (data[0] % 2 == 0) {
        fuzz_text(data + 1, size - 1);
    } else {
        fuzz_state(data + 1, size - 1);
    }
    return 0;
}
