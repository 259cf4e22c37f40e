/* Alarm rules: the streaming evaluator and its saved state.
 *
 * The evaluator is a small state machine (raised or not, a change pending
 * since some time or not, the special kind of each channel). Almost every row
 * of real data changes nothing, so mt_alarm_feed() runs a tight scan that
 * checks, per row, only what could change the state: order, finiteness, the
 * condition against what the state expects, and one time limit (the pending
 * filter's deadline or the next window boundary, whichever is first). A row
 * that fails any check goes through the general per-row code. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "alarm_int.h"
#include "alloc_int.h"
#include "mt/alarm.h"

#define XXH_INLINE_ALL
#include "xxhash.h"

#define STATE_VERSION 1
#define FLAG_RAISED 1u
#define FLAG_PENDING 2u
#define FLAG_HAVE_LAST 4u

/* Everything a row changes; copied whole to roll back a call on MT_EORDER. */
struct state {
    int raised;
    int pending;       /* a raise (when !raised) or a clear (when raised) is pending */
    int have_last;     /* at least one row was fed */
    mt_time since;     /* first row of the pending run */
    mt_time last_t;    /* time of the last row fed */
    mt_sv sv[3];       /* special kind of CH1/CH2 at the last row ([0] unused) */
    /* Window cache: the window is "win_active" for all t in [win_from, win_until). */
    mt_time win_from;
    mt_time win_until;
    int win_active;
};

struct mt_alarm {
    mt_alarm_rule rule;
    uint64_t fingerprint; /* XXH64 of the canonical text: binds saved states to the rule */
    int used[3];          /* used[ch]: the rule reads slot ch */
    int ch_of[2];         /* the slot each of the two scanned conditions reads */
    int is_and;           /* combine the two scanned conditions with AND (else OR) */
    double lo[2][2];      /* lo[raised][cond] */
    double hi[2][2];
    int windowed;         /* a window that is not all day */
    struct state st;
};

static mt_time sat_add(mt_time a, mt_time b)
{
    if (b > 0 && a > INT64_MAX - b) {
        return INT64_MAX;
    }
    if (b < 0 && a < INT64_MIN - b) {
        return INT64_MIN;
    }
    return a + b;
}

static mt_time floor_mod(mt_time a, mt_time m)
{
    mt_time r = a % m;
    return r < 0 ? r + m : r;
}

static void state_init(mt_alarm *a)
{
    memset(&a->st, 0, sizeof a->st);
    if (a->windowed) {
        a->st.win_from = INT64_MAX; /* empty cache: the first row computes it */
        a->st.win_until = INT64_MIN;
    } else {
        a->st.win_from = INT64_MIN;
        a->st.win_until = INT64_MAX;
        a->st.win_active = 1;
    }
}

mt_status mt_alarm_new(const mt_alarm_rule *rule, mt_alarm **out, mt_error *err)
{
    mt_alarm *a = NULL;
    char text[MT_ALARM_PRINT_MAX];
    size_t text_len = 0;
    mt_status st;
    int k;
    if (!out) {
        return mt_fail(err, MT_EINVAL, 0, "out is NULL");
    }
    *out = NULL;
    if ((st = mt_alarm_print(rule, text, sizeof text, &text_len, err)) != MT_OK) {
        return st; /* MT_EINVAL for a NULL or invalid rule */
    }
    a = mt__calloc(1, sizeof *a);
    if (!a) {
        return mt_fail(err, MT_ENOMEM, 0, "out of memory");
    }
    a->rule = *rule;
    a->fingerprint = XXH64(text, text_len, 0);
    for (k = 0; k < 2; k++) {
        /* A one-condition rule scans its condition twice, joined by AND. */
        const mt_alarm_cond *c = &rule->cond[rule->n_conds == 2 ? k : 0];
        a->used[c->channel] = 1;
        a->ch_of[k] = c->channel;
        mt__alarm_thresholds(c, 0.0, &a->lo[0][k], &a->hi[0][k]);
        mt__alarm_thresholds(c, rule->hyst, &a->lo[1][k], &a->hi[1][k]);
    }
    a->is_and = rule->join != MT_ALARM_OR;
    a->windowed = rule->has_window && rule->window_start != rule->window_end;
    state_init(a);
    *out = a;
    mt_error_clear(err);
    return MT_OK;
}

void mt_alarm_free(mt_alarm *a)
{
    mt__free(a);
}

void mt_alarm_reset(mt_alarm *a)
{
    if (a) {
        state_init(a);
    }
}

int mt_alarm_is_raised(const mt_alarm *a)
{
    return a ? a->st.raised : 0;
}

/* Fill the window cache for time "t": whether the rule is active, and the
 * span around "t" (between two window boundaries) where that holds. */
static void window_at(mt_alarm *a, mt_time t)
{
    const mt_alarm_rule *r = &a->rule;
    mt_time local = floor_mod(floor_mod(t, MT_US_PER_DAY) +
                                  (mt_time)r->utc_offset_min * MT_US_PER_MIN,
                              MT_US_PER_DAY);
    int m = (int)(local / MT_US_PER_MIN), s = r->window_start, e = r->window_end;
    int cand[6], from = -2 * 1440, until = 3 * 1440, i, in;
    mt_time midnight;
    in = s < e ? (m >= s && m < e) : (m >= s || m < e);
    a->st.win_active = in ^ r->offhours;
    if (t < INT64_MIN + local) {
        /* Within a day of the earliest representable time: no span, so that
         * every row recomputes (correct, merely slow, and never happens). */
        a->st.win_from = t;
        a->st.win_until = t + 1;
        return;
    }
    midnight = t - local;
    cand[0] = s - 1440;
    cand[1] = e - 1440;
    cand[2] = s;
    cand[3] = e;
    cand[4] = s + 1440;
    cand[5] = e + 1440;
    for (i = 0; i < 6; i++) {
        if (cand[i] <= m && cand[i] > from) {
            from = cand[i];
        }
        if (cand[i] > m && cand[i] < until) {
            until = cand[i];
        }
    }
    a->st.win_from = sat_add(midnight, (mt_time)from * MT_US_PER_MIN);
    a->st.win_until = sat_add(midnight, (mt_time)until * MT_US_PER_MIN);
}

static int cond_at(const mt_alarm *a, int set, double x1, double x2)
{
    int c1 = (x1 >= a->hi[set][0]) | (x1 <= a->lo[set][0]);
    int c2 = (x2 >= a->hi[set][1]) | (x2 <= a->lo[set][1]);
    return a->is_and ? (c1 & c2) : (c1 | c2);
}

/* The tight loop: the index of the first row from "i" that might change the
 * state (or "n"). A row passes when its time is in order and before "limit",
 * both values are finite and the condition equals "expected" (or "care" is
 * 0). "is_and" is a constant at each call so the compiler specialises it. */
static inline size_t scan(const mt_time *t, const double *x1, const double *x2, size_t i,
                          size_t n, mt_time prev, mt_time limit, const double lo[2],
                          const double hi[2], int expected, int care, int is_and)
{
    const double lo1 = lo[0], hi1 = hi[0], lo2 = lo[1], hi2 = hi[1];
    for (; i < n; i++) {
        mt_time ti = t[i];
        double a = x1[i], b = x2[i];
        int c1 = (a >= hi1) | (a <= lo1);
        int c2 = (b >= hi2) | (b <= lo2);
        int c = is_and ? (c1 & c2) : (c1 | c2);
        int ok = (ti >= prev) & (ti < limit) & (fabs(a) <= DBL_MAX) & (fabs(b) <= DBL_MAX) &
                 (((c ^ expected) & care) == 0);
        if (!ok) {
            break;
        }
        prev = ti;
    }
    return i;
}

static void emit(mt_alarm_event *ev, size_t *n_ev, mt_alarm_event_kind kind, int channel,
                 mt_sv special, size_t row, mt_time t, const double v[2])
{
    mt_alarm_event *e = &ev[(*n_ev)++];
    e->kind = kind;
    e->channel = channel;
    e->special = special;
    e->row = row;
    e->t = t;
    e->v[0] = v[0];
    e->v[1] = v[1];
}

/* The general path for one row: at most MT_ALARM_EVENTS_MIN events. */
static mt_status step(mt_alarm *a, mt_time t, const double v[3], size_t row,
                      mt_alarm_event *ev, size_t *n_ev)
{
    struct state *s = &a->st;
    double vv[2];
    int ch, any_special = 0, c;
    mt_time filter;
    if (s->have_last && t < s->last_t) {
        return MT_EORDER;
    }
    vv[0] = a->used[1] ? v[1] : mt_sv_value(MT_SV_MISSING);
    vv[1] = a->used[2] ? v[2] : mt_sv_value(MT_SV_MISSING);
    for (ch = 1; ch <= 2; ch++) {
        mt_sv k;
        if (!a->used[ch]) {
            continue;
        }
        k = mt_sv_kind(v[ch]);
        if (k != s->sv[ch]) {
            if (k != MT_SV_NONE) {
                emit(ev, n_ev, MT_ALARM_EV_SPECIAL, ch, k, row, t, vv);
            } else {
                emit(ev, n_ev, MT_ALARM_EV_SPECIAL_END, ch, s->sv[ch], row, t, vv);
            }
            s->sv[ch] = k;
        }
        any_special |= k != MT_SV_NONE;
    }
    s->last_t = t;
    s->have_last = 1;
    if (any_special) {
        s->pending = 0; /* a special row counts neither toward raising nor clearing */
        return MT_OK;
    }
    if (t < s->win_from || t >= s->win_until) {
        window_at(a, t);
    }
    c = cond_at(a, s->raised, v[a->ch_of[0]], v[a->ch_of[1]]);
    if (!s->raised) {
        if (!c || !s->win_active) {
            s->pending = 0;
            return MT_OK;
        }
        filter = a->rule.raise_filter;
    } else {
        if (c) {
            s->pending = 0;
            return MT_OK;
        }
        filter = a->rule.clear_filter;
    }
    if (!s->pending) {
        s->pending = 1;
        s->since = t;
    }
    if (t >= sat_add(s->since, filter)) {
        s->raised = !s->raised;
        s->pending = 0;
        s->since = 0;
        emit(ev, n_ev, s->raised ? MT_ALARM_EV_RAISE : MT_ALARM_EV_CLEAR, 0, MT_SV_NONE, row, t,
             vv);
    }
    return MT_OK;
}

mt_status mt_alarm_feed(mt_alarm *a, const mt_time *t, const double *v1, const double *v2,
                        size_t n_rows, mt_alarm_event *events, size_t events_cap,
                        size_t *n_events, size_t *n_consumed, mt_error *err)
{
    const double *arr[3];
    struct state snap;
    size_t i = 0, n_ev = 0;
    mt_status st = MT_OK;
    if (n_events) {
        *n_events = 0;
    }
    if (n_consumed) {
        *n_consumed = 0;
    }
    if (!a || !events || !n_events || !n_consumed) {
        return mt_fail(err, MT_EINVAL, 0, "NULL argument");
    }
    if (events_cap < MT_ALARM_EVENTS_MIN) {
        return mt_fail(err, MT_EINVAL, 0, "events_cap must be at least %d", MT_ALARM_EVENTS_MIN);
    }
    if (n_rows > 0 && (!t || (a->used[1] && !v1) || (a->used[2] && !v2))) {
        return mt_fail(err, MT_EINVAL, 0, "NULL array for a used channel");
    }
    arr[0] = NULL;
    arr[1] = v1;
    arr[2] = v2;
    snap = a->st;
    while (i < n_rows) {
        struct state *s = &a->st;
        double v[3];
        if (s->sv[1] == MT_SV_NONE && s->sv[2] == MT_SV_NONE) {
            const double *x1 = arr[a->ch_of[0]], *x2 = arr[a->ch_of[1]];
            mt_time limit = s->win_until, prev = s->have_last ? s->last_t : INT64_MIN;
            int care = s->raised || s->win_active, expected = s->raised ? !s->pending : s->pending;
            size_t j;
            if (s->pending) {
                mt_time deadline = sat_add(s->since, s->raised ? a->rule.clear_filter
                                                               : a->rule.raise_filter);
                limit = deadline < limit ? deadline : limit;
            }
            if (a->is_and) {
                j = scan(t, x1, x2, i, n_rows, prev, limit, a->lo[s->raised], a->hi[s->raised],
                         expected, care, 1);
            } else {
                j = scan(t, x1, x2, i, n_rows, prev, limit, a->lo[s->raised], a->hi[s->raised],
                         expected, care, 0);
            }
            if (j > i) {
                s->last_t = t[j - 1];
                s->have_last = 1;
                i = j;
                if (i == n_rows) {
                    break;
                }
            }
        }
        if (events_cap - n_ev < MT_ALARM_EVENTS_MIN) {
            st = mt_fail(err, MT_ENOSPACE, i, "event buffer full after %zu rows", i);
            goto out;
        }
        v[0] = 0;
        v[1] = v1 ? v1[i] : 0;
        v[2] = v2 ? v2[i] : 0;
        if (step(a, t[i], v, i, events, &n_ev) != MT_OK) {
            a->st = snap;
            n_ev = 0;
            st = mt_fail(err, MT_EORDER, i, "row %zu is earlier than the row before it", i);
            i = 0;
            goto out;
        }
        i++;
    }
    mt_error_clear(err);
out:
    *n_events = n_ev;
    *n_consumed = i;
    return st;
}

/* ---- saved state ------------------------------------------------------------ */

static void wr_u16(uint8_t *p, uint16_t x)
{
    p[0] = (uint8_t)x;
    p[1] = (uint8_t)(x >> 8);
}

static void wr_u32(uint8_t *p, uint32_t x)
{
    wr_u16(p, (uint16_t)x);
    wr_u16(p + 2, (uint16_t)(x >> 16));
}

static void wr_u64(uint8_t *p, uint64_t x)
{
    wr_u32(p, (uint32_t)x);
    wr_u32(p + 4, (uint32_t)(x >> 32));
}

static uint16_t rd_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t rd_u32(const uint8_t *p)
{
    return (uint32_t)rd_u16(p) | ((uint32_t)rd_u16(p + 2) << 16);
}

static uint64_t rd_u64(const uint8_t *p)
{
    return (uint64_t)rd_u32(p) | ((uint64_t)rd_u32(p + 4) << 32);
}

/* Two's complement without implementation-defined conversions. */
static mt_time to_time(uint64_t u)
{
    return u <= (uint64_t)INT64_MAX ? (mt_time)u : -(mt_time)(~u) - 1;
}

/* Layout (docs/alarm.md): 0 "MTAL", 4 u16 version, 6 u16 size, 8 u64 rule
 * fingerprint, 16 i64 since, 24 i64 last_t, 32 u8 flags, 33 u8 CH1 kind,
 * 34 u8 CH2 kind, 35 u8 0, 36 u32 XXH32 of bytes 0..35. */
mt_status mt_alarm_save(const mt_alarm *a, uint8_t *buf, size_t cap, size_t *out_len,
                        mt_error *err)
{
    const struct state *s;
    if (out_len) {
        *out_len = MT_ALARM_STATE_SIZE;
    }
    if (!a || !buf) {
        return mt_fail(err, MT_EINVAL, 0, "NULL argument");
    }
    if (cap < MT_ALARM_STATE_SIZE) {
        return mt_fail(err, MT_ENOSPACE, 0, "state needs %d bytes", MT_ALARM_STATE_SIZE);
    }
    s = &a->st;
    memcpy(buf, "MTAL", 4);
    wr_u16(buf + 4, STATE_VERSION);
    wr_u16(buf + 6, MT_ALARM_STATE_SIZE);
    wr_u64(buf + 8, a->fingerprint);
    wr_u64(buf + 16, s->pending ? (uint64_t)s->since : 0);
    wr_u64(buf + 24, (uint64_t)s->last_t);
    buf[32] = (uint8_t)((s->raised ? FLAG_RAISED : 0) | (s->pending ? FLAG_PENDING : 0) |
                        (s->have_last ? FLAG_HAVE_LAST : 0));
    buf[33] = (uint8_t)s->sv[1];
    buf[34] = (uint8_t)s->sv[2];
    buf[35] = 0;
    wr_u32(buf + 36, XXH32(buf, 36, 0));
    mt_error_clear(err);
    return MT_OK;
}

mt_status mt_alarm_restore(mt_alarm *a, const uint8_t *buf, size_t len, mt_error *err)
{
    struct state s;
    unsigned flags;
    mt_time since, last_t;
    int ch;
    if (!a || (!buf && len > 0)) {
        return mt_fail(err, MT_EINVAL, 0, "NULL argument");
    }
    if (len < 8) {
        return mt_fail(err, MT_ETRUNC, len, "state cut at %zu bytes (header is 8)", len);
    }
    if (memcmp(buf, "MTAL", 4) != 0) {
        return mt_fail(err, MT_EFORMAT, 0, "not an alarm state (magic)");
    }
    if (rd_u16(buf + 4) != STATE_VERSION) {
        return mt_fail(err, MT_EVERSION, 4, "alarm state version %u, this build reads %d",
                       (unsigned)rd_u16(buf + 4), STATE_VERSION);
    }
    if (rd_u16(buf + 6) != MT_ALARM_STATE_SIZE) {
        return mt_fail(err, MT_ECORRUPT, 6, "state size field %u, expected %d",
                       (unsigned)rd_u16(buf + 6), MT_ALARM_STATE_SIZE);
    }
    if (len < MT_ALARM_STATE_SIZE) {
        return mt_fail(err, MT_ETRUNC, len, "state cut at %zu of %d bytes", len,
                       MT_ALARM_STATE_SIZE);
    }
    if (len > MT_ALARM_STATE_SIZE) {
        return mt_fail(err, MT_ECORRUPT, MT_ALARM_STATE_SIZE, "%zu bytes after the state",
                       len - MT_ALARM_STATE_SIZE);
    }
    if (rd_u32(buf + 36) != XXH32(buf, 36, 0)) {
        return mt_fail(err, MT_ECHECKSUM, 36, "alarm state checksum mismatch");
    }
    if (rd_u64(buf + 8) != a->fingerprint) {
        return mt_fail(err, MT_EINVAL, 8, "state belongs to a different rule");
    }
    since = to_time(rd_u64(buf + 16));
    last_t = to_time(rd_u64(buf + 24));
    flags = buf[32];
    if (flags & ~(FLAG_RAISED | FLAG_PENDING | FLAG_HAVE_LAST)) {
        return mt_fail(err, MT_ECORRUPT, 32, "unknown flags 0x%02x", flags);
    }
    if (buf[35] != 0) {
        return mt_fail(err, MT_ECORRUPT, 35, "reserved byte is not 0");
    }
    if (!(flags & FLAG_HAVE_LAST) && (flags != 0 || last_t != 0 || buf[33] || buf[34])) {
        return mt_fail(err, MT_ECORRUPT, 32, "state of an evaluator that saw no rows is not "
                                             "empty");
    }
    if ((flags & FLAG_PENDING) ? (since > last_t) : (since != 0)) {
        return mt_fail(err, MT_ECORRUPT, 16, "pending time inconsistent");
    }
    for (ch = 1; ch <= 2; ch++) {
        unsigned k = buf[32 + ch];
        if (k >= MT_SV_COUNT || (k != 0 && !a->used[ch])) {
            return mt_fail(err, MT_ECORRUPT, (size_t)(32 + ch), "bad special kind %u for CH%d",
                           k, ch);
        }
        if (k != 0 && (flags & FLAG_PENDING)) {
            return mt_fail(err, MT_ECORRUPT, 32, "pending during a special run");
        }
    }
    state_init(a);
    s = a->st;
    s.raised = (flags & FLAG_RAISED) != 0;
    s.pending = (flags & FLAG_PENDING) != 0;
    s.have_last = (flags & FLAG_HAVE_LAST) != 0;
    s.since = since;
    s.last_t = last_t;
    s.sv[1] = (mt_sv)buf[33];
    s.sv[2] = (mt_sv)buf[34];
    a->st = s;
    mt_error_clear(err);
    return MT_OK;
}
