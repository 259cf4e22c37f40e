/* WebAssembly exports of the alarm module (core/include/mt/alarm.h). No
 * logic here beyond marshalling: a rule travels as MTW_RULE_N doubles (see
 * the table below and wasm/alarm.mjs), times as milliseconds (doubles), and
 * events as MTW_EVENT_N doubles each. No int64 crosses the boundary. */
#include <emscripten.h>
#include <math.h>
#include <string.h>

#include "mt/alarm.h"

/* A rule as doubles: [0] n_conds, [1] join, [2..5] cond 1 channel, op, a, b,
 * [6..9] cond 2 channel, op, a, b, [10] raise filter ms, [11] clear filter ms,
 * [12] hyst, [13] has_window, [14] window_start, [15] window_end,
 * [16] offhours, [17] utc_offset_min. */
#define MTW_RULE_N 18
/* An event as doubles: kind, channel, special, time ms, v1, v2, row. */
#define MTW_EVENT_N 7
/* Rows converted per core call (µs times on the stack). */
#define MTW_CHUNK 1024

static int as_int(double x, int *out)
{
    if (!(x >= -1e9 && x <= 1e9) || x != floor(x)) {
        return 0;
    }
    *out = (int)x;
    return 1;
}

static int ms_to_us(double ms, mt_time *out)
{
    double us = round(ms * 1000.0);
    if (!(fabs(us) <= 8.64e18)) { /* NaN, inf, or beyond +-273,000 years */
        return 0;
    }
    *out = (mt_time)us;
    return 1;
}

static mt_status unpack_rule(const double *d, mt_alarm_rule *r, mt_error *err)
{
    int ints[8], k, ok = 1;
    static const int int_at[8] = {0, 1, 2, 3, 6, 7, 13, 14};
    memset(r, 0, sizeof *r);
    if (!d) {
        return mt_fail(err, MT_EINVAL, 0, "rule is NULL");
    }
    for (k = 0; k < 8; k++) {
        ok &= as_int(d[int_at[k]], &ints[k]);
    }
    ok &= as_int(d[15], &r->window_end) & as_int(d[16], &r->offhours) &
          as_int(d[17], &r->utc_offset_min);
    ok &= ms_to_us(d[10], &r->raise_filter) & ms_to_us(d[11], &r->clear_filter);
    if (!ok) {
        return mt_fail(err, MT_EINVAL, 0, "rule field is not an integer in range");
    }
    r->n_conds = ints[0];
    r->join = (mt_alarm_join)ints[1];
    r->cond[0].channel = ints[2];
    r->cond[0].op = (mt_alarm_op)ints[3];
    r->cond[0].a = d[4];
    r->cond[0].b = d[5];
    r->cond[1].channel = ints[4];
    r->cond[1].op = (mt_alarm_op)ints[5];
    r->cond[1].a = d[8];
    r->cond[1].b = d[9];
    r->hyst = d[12];
    r->has_window = ints[6];
    r->window_start = ints[7];
    if (mt_alarm_rule_check(r, err) != MT_OK) {
        if (err) {
            err->code = MT_EINVAL; /* an invalid rule is a bad argument here */
        }
        return MT_EINVAL;
    }
    return MT_OK;
}

static void pack_rule(const mt_alarm_rule *r, double *d)
{
    d[0] = r->n_conds;
    d[1] = r->join;
    d[2] = r->cond[0].channel;
    d[3] = r->cond[0].op;
    d[4] = r->cond[0].a;
    d[5] = r->cond[0].b;
    d[6] = r->cond[1].channel;
    d[7] = r->cond[1].op;
    d[8] = r->cond[1].a;
    d[9] = r->cond[1].b;
    d[10] = (double)(r->raise_filter / MT_US_PER_MS);
    d[11] = (double)(r->clear_filter / MT_US_PER_MS);
    d[12] = r->hyst;
    d[13] = r->has_window;
    d[14] = r->window_start;
    d[15] = r->window_end;
    d[16] = r->offhours;
    d[17] = r->utc_offset_min;
}

EMSCRIPTEN_KEEPALIVE int mtw_alarm_rule_n(void)
{
    return MTW_RULE_N;
}

EMSCRIPTEN_KEEPALIVE int mtw_alarm_event_n(void)
{
    return MTW_EVENT_N;
}

EMSCRIPTEN_KEEPALIVE int mtw_alarm_state_size(void)
{
    return MT_ALARM_STATE_SIZE;
}

/* Parse "len" bytes of "text" into the MTW_RULE_N doubles at "out". */
EMSCRIPTEN_KEEPALIVE int mtw_alarm_parse(const char *text, int len, double *out, mt_error *err)
{
    mt_alarm_rule r;
    mt_status st;
    if (len < 0 || !out) {
        return mt_fail(err, MT_EINVAL, 0, "bad argument");
    }
    st = mt_alarm_parse(text, (size_t)len, &r, err);
    if (st == MT_OK) {
        pack_rule(&r, out);
    }
    return st;
}

/* Print the packed rule "rule" into "buf" ("cap" bytes); returns the length
 * or a negative status. */
EMSCRIPTEN_KEEPALIVE int mtw_alarm_print(const double *rule, char *buf, int cap, mt_error *err)
{
    mt_alarm_rule r;
    size_t len = 0;
    mt_status st;
    if (cap < 0) {
        return mt_fail(err, MT_EINVAL, 0, "bad argument");
    }
    if ((st = unpack_rule(rule, &r, err)) != MT_OK) {
        return st;
    }
    st = mt_alarm_print(&r, buf, (size_t)cap, &len, err);
    return st == MT_OK ? (int)len : st;
}

/* Create an evaluator for the packed rule; "*out" receives the handle. */
EMSCRIPTEN_KEEPALIVE int mtw_alarm_new(const double *rule, mt_alarm **out, mt_error *err)
{
    mt_alarm_rule r;
    mt_status st;
    if (!out) {
        return mt_fail(err, MT_EINVAL, 0, "bad argument");
    }
    *out = NULL;
    if ((st = unpack_rule(rule, &r, err)) != MT_OK) {
        return st;
    }
    return mt_alarm_new(&r, out, err);
}

EMSCRIPTEN_KEEPALIVE void mtw_alarm_free(mt_alarm *a)
{
    mt_alarm_free(a);
}

EMSCRIPTEN_KEEPALIVE void mtw_alarm_reset(mt_alarm *a)
{
    mt_alarm_reset(a);
}

EMSCRIPTEN_KEEPALIVE int mtw_alarm_is_raised(const mt_alarm *a)
{
    return mt_alarm_is_raised(a);
}

/* Feed "n" rows (times in ms). Events go to "ev_out" (room for "ev_cap"
 * events of MTW_EVENT_N doubles, ev_cap >= MT_ALARM_EVENTS_MIN); counts[0]
 * receives the rows consumed and counts[1] the events written. Returns
 * MT_OK, MT_ENOSPACE (call again from row counts[0]) or an error. A bad time
 * (MT_EINVAL) is found before any row is fed; on MT_EORDER the rows of the
 * earlier chunks stay fed, so the JS caller restores a saved state. err->pos
 * is a row index relative to "t_ms". */
EMSCRIPTEN_KEEPALIVE int mtw_alarm_feed(mt_alarm *a, const double *t_ms, const double *v1,
                                        const double *v2, int n, double *ev_out, int ev_cap,
                                        int *counts, mt_error *err)
{
    mt_time ts[MTW_CHUNK];
    mt_alarm_event evs[64];
    int done = 0, n_out = 0, i;
    mt_status st = MT_OK;
    if (!a || n < 0 || !ev_out || ev_cap < MT_ALARM_EVENTS_MIN || !counts || (n > 0 && !t_ms)) {
        return mt_fail(err, MT_EINVAL, 0, "bad argument");
    }
    counts[0] = counts[1] = 0;
    for (i = 0; i < n; i++) {
        if (!ms_to_us(t_ms[i], &ts[0])) {
            return mt_fail(err, MT_EINVAL, (size_t)i, "row %d: time is not a finite ms value", i);
        }
    }
    while (done < n) {
        size_t n_ev = 0, used = 0, k, cap;
        int chunk = n - done < MTW_CHUNK ? n - done : MTW_CHUNK;
        if (ev_cap - n_out < MT_ALARM_EVENTS_MIN) {
            st = mt_fail(err, MT_ENOSPACE, (size_t)done, "event buffer full");
            break;
        }
        cap = (size_t)(ev_cap - n_out) < 64 ? (size_t)(ev_cap - n_out) : 64;
        for (i = 0; i < chunk; i++) {
            (void)ms_to_us(t_ms[done + i], &ts[i]);
        }
        st = mt_alarm_feed(a, ts, v1 ? v1 + done : NULL, v2 ? v2 + done : NULL, (size_t)chunk,
                           evs, cap, &n_ev, &used, err);
        for (k = 0; k < n_ev; k++) {
            double *e = ev_out + (size_t)(n_out + (int)k) * MTW_EVENT_N;
            e[0] = evs[k].kind;
            e[1] = evs[k].channel;
            e[2] = evs[k].special;
            e[3] = (double)evs[k].t / 1000.0;
            e[4] = evs[k].v[0];
            e[5] = evs[k].v[1];
            e[6] = (double)((size_t)done + evs[k].row);
        }
        n_out += (int)n_ev;
        if (st != MT_OK && st != MT_ENOSPACE) {
            if (err) {
                err->pos += (size_t)done;
            }
            break;
        }
        done += (int)used;
        st = MT_OK;
    }
    counts[0] = done;
    counts[1] = n_out;
    return st;
}

/* Save the state into "buf" ("cap" bytes); returns its size or a status. */
EMSCRIPTEN_KEEPALIVE int mtw_alarm_save(const mt_alarm *a, uint8_t *buf, int cap, mt_error *err)
{
    size_t len = 0;
    mt_status st;
    if (cap < 0) {
        return mt_fail(err, MT_EINVAL, 0, "bad argument");
    }
    st = mt_alarm_save(a, buf, (size_t)cap, &len, err);
    return st == MT_OK ? (int)len : st;
}

EMSCRIPTEN_KEEPALIVE int mtw_alarm_restore(mt_alarm *a, const uint8_t *buf, int len,
                                           mt_error *err)
{
    if (len < 0) {
        return mt_fail(err, MT_EINVAL, 0, "bad argument");
    }
    return mt_alarm_restore(a, buf, (size_t)len, err);
}
