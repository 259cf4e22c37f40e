/* The one request of a dashboard refresh (svc_dash_data(), see
 * svc_dashboard.h and docs/dashboards.md, "The refresh").
 *
 * The browser computes the panels with the WebAssembly core (decimation to
 * each panel's pixel width, min/max/mean, computed channels from their
 * expression), so the answer carries samples, not pictures of them:
 *
 *  - per channel and window (the last hour, day or week before "now"),
 *    the samples as they are stored when there are at most DASH_SERIES_CAP
 *    of them (one series covers the shorter windows of the same channel),
 *    their values as little-endian float64 in base64 (special values keep
 *    their NaN boxes) and their times as runs {first, step, count} when the
 *    samples are regular, else as float64 µs in base64;
 *  - over DASH_SERIES_CAP, the window cut into DASH_REDUCED_BUCKETS buckets
 *    of core's decimation, each giving its first, min, max and last value
 *    at their own times (at most 4 points a bucket: every extreme stays),
 *    with core's statistics of the whole window (mt_stats) for min, max
 *    and mean;
 *  - a computed channel whose inputs all come as samples is "previewed":
 *    its inputs are in the answer and the browser evaluates its expression
 *    with core, so its newest values need not wait for the compactor;
 *  - with "since", a series holds only the samples from that time on.
 *
 * So the answer is bounded: at most DASH_MAX_CHANNELS channels named by
 * panels, DASH_MAX_SERIES_CHANNELS with samples (computed channels' inputs
 * included), each with at most DASH_SERIES_CAP samples or 3 reduced windows
 * of at most 5 x DASH_REDUCED_BUCKETS points: about 20 MB at the very most
 * (docs/dashboards.md, "Bounds"). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "auth.h"
#include "dash_panels.h"
#include "db_alarm.h"
#include "db_computed.h"
#include "db_dashboard.h"
#include "mt/decimate.h"
#include "mt/stats.h"
#include "sbuf.h"
#include "series_store.h"
#include "svc_dashboard.h"
#include "svc_data.h"

/* Channels with samples in one answer: the panels' channels and the inputs
 * of their computed channels. */
#define DASH_MAX_SERIES_CHANNELS 64

/* ------------------------------------------------------------- text */

/* A JSON string of "s" (UTF-8 from the database). */
static void put_string(sbuf *b, const char *s)
{
    sb_put(b, "\"");
    for (const unsigned char *p = (const unsigned char *)(s != NULL ? s : ""); *p; p++) {
        if (*p == '"' || *p == '\\') {
            char esc[3] = {'\\', (char)*p, 0};
            sb_add(b, esc, 2);
        } else if (*p < 0x20) {
            sb_printf(b, "\\u%04x", *p);
        } else {
            sb_add(b, (const char *)p, 1);
        }
    }
    sb_put(b, "\"");
}

/* A value: a number that reads back exactly, or its special value's name. */
static void put_value(sbuf *b, double v)
{
    mt_sv kind = mt_sv_kind(v);
    if (kind != MT_SV_NONE) {
        sb_printf(b, "\"%s\"", mt_sv_name(kind));
        return;
    }
    for (int prec = 15; prec <= 17; prec++) {
        char text[40];
        snprintf(text, sizeof text, "%.*g", prec, v);
        if (prec == 17 || strtod(text, NULL) == v) {
            sb_put(b, text);
            return;
        }
    }
}

/* "n" doubles as little-endian float64 bytes in base64 (RFC 4648). */
static void put_base64_f64(sbuf *b, const double *x, size_t n, bool as_int, const int64_t *xi)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t bytes = 8 * n, out_len = (bytes + 2) / 3 * 4, at = 0;
    unsigned char chunk[3];
    int in_chunk = 0;
    char *o;
    sb_reserve(b, out_len + 2);
    if (b->failed) {
        return;
    }
    o = b->p + b->len;
    o[at++] = '"';
    for (size_t i = 0; i < n; i++) {
        double d = as_int ? (double)xi[i] : x[i];
        uint64_t bits;
        memcpy(&bits, &d, sizeof bits);
        for (int k = 0; k < 8; k++) {
            chunk[in_chunk++] = (unsigned char)(bits >> (8 * k));
            if (in_chunk == 3) {
                o[at++] = alphabet[chunk[0] >> 2];
                o[at++] = alphabet[(chunk[0] & 3) << 4 | chunk[1] >> 4];
                o[at++] = alphabet[(chunk[1] & 15) << 2 | chunk[2] >> 6];
                o[at++] = alphabet[chunk[2] & 63];
                in_chunk = 0;
            }
        }
    }
    if (in_chunk > 0) {
        unsigned char c1 = in_chunk > 1 ? chunk[1] : 0;
        o[at++] = alphabet[chunk[0] >> 2];
        o[at++] = alphabet[(chunk[0] & 3) << 4 | c1 >> 4];
        o[at++] = in_chunk > 1 ? alphabet[(c1 & 15) << 2] : '=';
        o[at++] = '=';
    }
    o[at++] = '"';
    b->len += at;
    b->p[b->len] = '\0';
}

/* ------------------------------------------------------------- samples */

/* Write the times of a raw series: as runs [first, step, count, ...] when
 * that is at most half as long as the times themselves, else base64. */
/* Runs of equal steps: [first, step, count] each, the way put_times()
 * writes them. */
static size_t count_runs(const int64_t *t, size_t n)
{
    size_t runs = 0, i = 0;
    while (i < n) {
        int64_t step = i + 1 < n ? t[i + 1] - t[i] : 0;
        size_t k = i + 1;
        while (k < n && t[k] - t[k - 1] == step) {
            k++;
        }
        runs++;
        i = k;
    }
    return runs;
}

/* Write the times of a raw series: as runs [first, step, count, ...] when
 * that takes at most half as many numbers as the times, else base64. */
static void put_times(sbuf *b, const int64_t *t, size_t n)
{
    if (n > 0 && count_runs(t, n) * 3 <= n / 2) {
        size_t i = 0;
        bool first = true;
        sb_put(b, "\"t_runs\":[");
        while (i < n) {
            int64_t step = i + 1 < n ? t[i + 1] - t[i] : 0;
            size_t k = i + 1;
            while (k < n && t[k] - t[k - 1] == step) {
                k++;
            }
            sb_printf(b, "%s%lld,%lld,%zu", first ? "" : ",", (long long)t[i], (long long)step,
                      k - i);
            first = false;
            i = k;
        }
        sb_put(b, "]");
    } else {
        sb_put(b, "\"t\":");
        put_base64_f64(b, NULL, n, true, t);
    }
}

static void put_stats(sbuf *b, const mt_stats *st)
{
    static const mt_sv kinds[] = {MT_SV_MISSING, MT_SV_OVER_POS, MT_SV_OVER_NEG, MT_SV_BREAK,
                                  MT_SV_ERROR};
    sb_printf(b, "{\"n\":%llu,\"min\":", (unsigned long long)st->n);
    if (st->n > 0) {
        put_value(b, st->min);
        sb_printf(b, ",\"t_min\":%lld,\"max\":", (long long)st->t_min);
        put_value(b, st->max);
        sb_printf(b, ",\"t_max\":%lld,\"mean\":", (long long)st->t_max);
        put_value(b, mt_stats_mean(st));
    } else {
        sb_put(b, "null,\"t_min\":null,\"max\":null,\"t_max\":null,\"mean\":null");
    }
    sb_printf(b, ",\"special\":{\"count\":%llu", (unsigned long long)mt_stats_special_total(st));
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        sb_printf(b, ",\"%s\":%llu", mt_sv_name(kinds[k]),
                  (unsigned long long)st->n_special[kinds[k]]);
    }
    sb_put(b, "}}");
}

/* Points of reduced buckets: per bucket its first, min, max and last value
 * at their times (in time order, each time once), and for a bucket with
 * special values its last special value at the bucket's middle. */
typedef struct {
    int64_t *t;
    double *v;
    size_t n, cap;
    int64_t t0, t1;
    size_t nb;
} points;

static int add_point(points *p, int64_t t, double v)
{
    if (p->n > 0 && p->t[p->n - 1] == t) {
        return 0;
    }
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 1024;
        int64_t *nt = realloc(p->t, cap * sizeof *nt);
        double *nv;
        if (nt == NULL) {
            return -1;
        }
        p->t = nt;
        if ((nv = realloc(p->v, cap * sizeof *nv)) == NULL) {
            return -1;
        }
        p->v = nv;
        p->cap = cap;
    }
    p->t[p->n] = t;
    p->v[p->n] = v;
    p->n++;
    return 0;
}

static int bucket_points(points *p, size_t i, const mt_bucket *bk)
{
    /* A window is at most a week (6.1e11 µs): the product fits 64 bits. */
    int64_t mid = p->t0 + (p->t1 - p->t0) * (2 * (int64_t)i + 1) / (2 * (int64_t)p->nb);
    struct {
        int64_t t;
        double v;
    } pt[5];
    int n = 0;
    if (bk->n > 0) {
        pt[n].t = bk->t_first, pt[n++].v = bk->first;
        pt[n].t = bk->t_min, pt[n++].v = bk->min;
        pt[n].t = bk->t_max, pt[n++].v = bk->max;
        pt[n].t = bk->t_last, pt[n++].v = bk->last;
    }
    if (bk->n_special > 0) {
        pt[n].t = mid, pt[n++].v = mt_sv_value(bk->special != MT_SV_NONE ? bk->special
                                                                         : MT_SV_ERROR);
    }
    /* Five points at most: insertion sort by time. */
    for (int a = 1; a < n; a++) {
        for (int k = a; k > 0 && pt[k].t < pt[k - 1].t; k--) {
            int64_t tt = pt[k].t;
            double vv = pt[k].v;
            pt[k].t = pt[k - 1].t, pt[k].v = pt[k - 1].v;
            pt[k - 1].t = tt, pt[k - 1].v = vv;
        }
    }
    for (int k = 0; k < n; k++) {
        if (add_point(p, pt[k].t, pt[k].v) != 0) {
            return -1;
        }
    }
    return 0;
}

/* svc_data_decimate()'s callback: all the buckets of one channel ("i" is
 * the channel's index, always 0 here). */
static int points_cb(void *arg, size_t i, const mt_bucket *bk)
{
    points *p = arg;
    (void)i;
    for (size_t k = 0; k < p->nb; k++) {
        if (bucket_points(p, k, &bk[k]) != 0) {
            return -1;
        }
    }
    return 0;
}

static void points_free(points *p)
{
    free(p->t);
    free(p->v);
    memset(p, 0, sizeof *p);
}

/* ------------------------------------------------------------- the plan */

/* What the answer holds for one channel. */
typedef struct {
    const db_dash_channel *info; /* NULL: not (any more) a channel of the group */
    int64_t id;
    bool panel;                  /* named by a panel (else only an input) */
    unsigned windows;            /* bits of dash_window: series wanted */
    bool preview;                /* computed, evaluated by the browser from its inputs */
    int64_t inputs[10];
    int n_inputs;
} dash_chan;

static int64_t now_us(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return auth_now() * 1000000LL + tv.tv_usec;
}

/* Parse PostgreSQL's "{1,2,3}" into ids (at most "cap"). */
static int parse_ids(const char *text, int64_t *out, int cap)
{
    int n = 0;
    const char *p = text != NULL ? text : "";
    while (*p != '\0' && n < cap) {
        char *end;
        long long v;
        while (*p == '{' || *p == ',' || *p == ' ') {
            p++;
        }
        if (*p == '\0' || *p == '}') {
            break;
        }
        v = strtoll(p, &end, 10);
        if (end == p) {
            break;
        }
        out[n++] = v;
        p = end;
    }
    return n;
}

static int highest_window(unsigned mask)
{
    for (int w = DASH_WINDOW_COUNT_ - 1; w >= 0; w--) {
        if (mask & (1u << w)) {
            return w;
        }
    }
    return -1;
}

/* ------------------------------------------------------------- series */

typedef struct {
    db_conn *c;
    srv *s;
    long long account_id;
    int64_t now;
    int64_t since;
    sbuf *b;
} ctx;

/* A reduced window of channel "ch": buckets and statistics. */
static svc_status put_reduced(ctx *x, int64_t ch, dash_window w, const series_col *col,
                              svc_error *e)
{
    int64_t t1 = x->now + 1, t0 = t1 - dash_window_us(w);
    points p = {0};
    mt_stats st;
    data_grid g;
    svc_status rc = SVC_OK;
    p.t0 = t0;
    p.t1 = t1;
    p.nb = DASH_REDUCED_BUCKETS;
    if (col != NULL) {
        /* The samples are here already (read, then found over the cap). */
        mt_bucket *bk = malloc(DASH_REDUCED_BUCKETS * sizeof *bk);
        mt_error err;
        if (bk == NULL) {
            return svc_fail_nomem(e);
        }
        size_t lo = 0, hi = col->n;
        /* mt_stats_add() takes every sample given: only those of the window. */
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (col->t[mid] < t0) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        hi = col->n;
        while (hi > lo && col->t[hi - 1] >= t1) {
            hi--;
        }
        mt_stats_init(&st);
        if (mt_decimate_minmax(col->t, col->v, col->n, t0, t1, DASH_REDUCED_BUCKETS, bk, &err) !=
                MT_OK ||
            mt_stats_add(&st, col->t + lo, col->v + lo, hi - lo, &err) != MT_OK) {
            free(bk);
            return svc_fail(e, SVC_INTERNAL, NULL, NULL, "decimation failed: %s", err.msg);
        }
        for (size_t i = 0; i < DASH_REDUCED_BUCKETS && rc == SVC_OK; i++) {
            if (bucket_points(&p, i, &bk[i]) != 0) {
                rc = svc_fail_nomem(e);
            }
        }
        free(bk);
    } else {
        if ((rc = svc_data_decimate(x->s, x->c, x->account_id, &ch, 1, t0, t1,
                                    DASH_REDUCED_BUCKETS, &g, points_cb, &p, e)) == SVC_OK) {
            rc = svc_data_stats(x->c, x->account_id, &ch, 1, t0, t1, &st, e);
        }
    }
    if (rc == SVC_OK) {
        sb_printf(x->b,
                  "{\"window\":\"%s\",\"from\":%lld,\"to\":%lld,\"partial\":false,"
                  "\"reduced\":true,\"buckets\":%d,\"n\":%zu,",
                  dash_window_name(w), (long long)t0, (long long)t1, DASH_REDUCED_BUCKETS, p.n);
        sb_put(x->b, "\"t\":");
        put_base64_f64(x->b, NULL, p.n, true, p.t);
        sb_put(x->b, ",\"v\":");
        put_base64_f64(x->b, p.v, p.n, false, NULL);
        sb_put(x->b, ",\"stats\":");
        put_stats(x->b, &st);
        sb_put(x->b, "}");
    }
    points_free(&p);
    return rc;
}

/* One series of samples as they are: window "w", [from, t1) with "from"
 * the window's start or "since" ("partial"). */
static void put_raw(ctx *x, dash_window w, int64_t from, int64_t t1, bool partial,
                    const int64_t *t, const double *v, size_t n)
{
    sb_printf(x->b,
              "{\"window\":\"%s\",\"from\":%lld,\"to\":%lld,\"partial\":%s,"
              "\"reduced\":false,\"n\":%zu,",
              dash_window_name(w), (long long)from, (long long)t1, partial ? "true" : "false", n);
    put_times(x->b, t, n);
    sb_put(x->b, ",\"v\":");
    put_base64_f64(x->b, v, n, false, NULL);
    sb_put(x->b, "}");
}

/* The first index of "col" at or after "t0". */
static size_t lower_bound(const series_col *col, int64_t t0)
{
    size_t lo = 0, hi = col->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (col->t[mid] < t0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

/* The series of one channel ("windows": the bits of the windows wanted;
 * "stored": the samples the day blocks of its longest window may hold).
 * The longest window that fits DASH_SERIES_CAP comes as it is and serves
 * the shorter ones too; every longer window comes reduced. */
static svc_status put_series(ctx *x, int64_t ch, unsigned windows, long long stored,
                             svc_error *e)
{
    int top = highest_window(windows);
    int64_t t1 = x->now + 1, t0 = t1 - dash_window_us((dash_window)top);
    int64_t from = x->since > t0 ? x->since : t0;
    series_col col = {0}; /* the top window whole, once read */
    db_status st;
    svc_status rc = SVC_OK;
    bool first = true;
    sb_put(x->b, "[");
    if (stored <= DASH_SERIES_CAP && from < t1) {
        if ((st = series_read(x->c, x->account_id, &ch, 1, from, t1, &col)) != DB_OK) {
            return svc_fail_db(e, st, NULL);
        }
        if (col.n <= DASH_SERIES_CAP) {
            put_raw(x, (dash_window)top, from, t1, from > t0, col.t, col.v, col.n);
            sb_put(x->b, "]");
            series_col_free(&col);
            return SVC_OK;
        }
        if (from > t0) {
            series_col_free(&col); /* a part only: the windows are read whole below */
        }
    }
    for (int w = top; w >= 0 && rc == SVC_OK; w--) {
        int64_t w0 = t1 - dash_window_us((dash_window)w);
        series_col part = {0};
        const series_col *have = col.n > 0 ? &col : NULL;
        if (!(windows & (1u << w))) {
            continue;
        }
        if (!first) {
            sb_put(x->b, ",");
        }
        first = false;
        if (w < top) {
            /* A shorter window: as it is when it fits. */
            if (have == NULL) {
                if ((st = series_read(x->c, x->account_id, &ch, 1, w0, t1, &part)) != DB_OK) {
                    rc = svc_fail_db(e, st, NULL);
                    break;
                }
                have = &part;
            }
            {
                size_t lo = lower_bound(have, w0);
                if (have->n - lo <= DASH_SERIES_CAP) {
                    put_raw(x, (dash_window)w, w0, t1, false, have->t + lo, have->v + lo,
                            have->n - lo);
                    series_col_free(&part);
                    break; /* it serves the shorter windows as well */
                }
            }
        }
        rc = put_reduced(x, ch, (dash_window)w, have, e);
        series_col_free(&part);
    }
    series_col_free(&col);
    sb_put(x->b, "]");
    return rc;
}

/* ------------------------------------------------------------- answer */

static void put_latest(sbuf *b, const db_dash_channel *ci, const series_col *hot)
{
    int64_t lt = 0;
    double lv = 0;
    bool has = false;
    if (ci->has_latest) {
        lt = ci->latest_t;
        lv = ci->latest_special ? mt_sv_value((mt_sv)ci->latest_special)
                                : strtod(ci->latest_v != NULL ? ci->latest_v : "", NULL);
        has = true;
    }
    if (hot != NULL && hot->n > 0 && (!has || hot->t[hot->n - 1] >= lt)) {
        lt = hot->t[hot->n - 1];
        lv = hot->v[hot->n - 1];
        has = true;
    }
    if (!has) {
        sb_put(b, "null");
        return;
    }
    sb_printf(b, "{\"t\":%lld,\"v\":", (long long)lt);
    put_value(b, lv);
    sb_put(b, "}");
}

svc_status svc_dash_data(const svc_actor *a, long long id, int64_t since,
                         long long client_version, char **json, size_t *len, svc_error *e)
{
    db_pool *pool = a->srv->pool;
    db_conn *c = NULL;
    db_dash_row row;
    dash_panels ps = {0};
    cx_access acc = CX_ACCESS_NONE;
    int64_t ids[DASH_MAX_CHANNELS], *inputs = NULL, *all = NULL, pics[DASH_MAX_PANELS];
    unsigned masks[DASH_MAX_CHANNELS];
    size_t n_ids, n_inputs = 0, n_all = 0, n_pics;
    db_dash_channel *info = NULL;
    int n_info = 0;
    dash_chan *chans = NULL;
    size_t n_chans = 0;
    long long *stored = NULL;
    series_col *hot = NULL;
    char *alarm = NULL;
    bool found = false, has_alarm = false;
    int64_t now = now_us();
    sbuf b = {0};
    ctx x;
    db_status st;
    svc_status rc = SVC_OK;
    memset(&row, 0, sizeof row);
    *json = NULL;
    *len = 0;

    if ((st = db_acquire(pool, DB_WAIT_MS, &c)) != DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    if ((st = db_dash_get(c, a->account_id, id, false, &row, &found)) != DB_OK) {
        rc = svc_fail_db(e, st, NULL);
        goto out;
    }
    if (found && (st = db_cx_group_access(c, a->account_id, a->user_id, a->admin, row.group_id,
                                          &acc)) != DB_OK) {
        rc = svc_fail_db(e, st, NULL);
        goto out;
    }
    if (acc == CX_ACCESS_NONE) {
        rc = svc_fail(e, SVC_NOT_FOUND, NULL, NULL, "no such dashboard");
        goto out;
    }
    {
        cJSON *arr = cJSON_Parse(row.panels != NULL ? row.panels : "[]");
        rc = arr != NULL ? dash_panels_read(arr, &ps, e) : svc_fail_nomem(e);
        cJSON_Delete(arr);
        if (rc != SVC_OK) {
            goto out;
        }
    }
    n_ids = dash_panels_channel_ids(&ps, ids, DASH_MAX_CHANNELS);
    if (n_ids > DASH_MAX_CHANNELS) {
        n_ids = DASH_MAX_CHANNELS; /* stored panels were checked: never happens */
    }
    dash_panels_windows(&ps, ids, n_ids, masks);
    n_pics = dash_panels_picture_ids(&ps, pics, DASH_MAX_PANELS);
    for (size_t i = 0; i < ps.n; i++) {
        has_alarm = has_alarm || ps.p[i].kind == DASH_ALARM;
    }

    /* The channels and the inputs of the computed ones. */
    if (n_ids > 0 &&
        (st = db_dash_inputs(c, a->account_id, ids, n_ids, &inputs, &n_inputs)) != DB_OK) {
        rc = svc_fail_db(e, st, NULL);
        goto out;
    }
    all = malloc((n_ids + n_inputs + 1) * sizeof *all);
    chans = calloc(n_ids + n_inputs + 1, sizeof *chans);
    if (all == NULL || chans == NULL) {
        rc = svc_fail_nomem(e);
        goto out;
    }
    for (size_t i = 0; i < n_ids; i++) {
        all[n_all++] = ids[i];
    }
    for (size_t i = 0; i < n_inputs; i++) {
        bool dup = false;
        for (size_t k = 0; k < n_all && !dup; k++) {
            dup = all[k] == inputs[i];
        }
        if (!dup) {
            all[n_all++] = inputs[i];
        }
    }
    if (n_all > 0 &&
        (st = db_dash_channels(c, a->account_id, row.group_id, all, n_all, &info, &n_info)) !=
            DB_OK) {
        rc = svc_fail_db(e, st, NULL);
        goto out;
    }
    for (size_t i = 0; i < n_all; i++) {
        dash_chan *ch = &chans[n_chans++];
        ch->id = all[i];
        ch->panel = i < n_ids;
        ch->windows = i < n_ids ? masks[i] : 0;
        for (int k = 0; k < n_info; k++) {
            if (info[k].id == all[i]) {
                ch->info = &info[k];
            }
        }
    }
    /* Which computed channels are previewed, and what their inputs need. */
    {
        size_t with_series = 0;
        for (size_t i = 0; i < n_ids; i++) {
            with_series += chans[i].info != NULL && !chans[i].info->computed && chans[i].windows;
        }
        for (size_t i = 0; i < n_ids; i++) {
            dash_chan *ch = &chans[i];
            unsigned need;
            bool ok = true;
            size_t extra = 0;
            if (ch->info == NULL || !ch->info->computed) {
                continue;
            }
            need = ch->windows ? ch->windows : 1u << DASH_HOUR; /* a value: the last hour */
            ch->n_inputs = parse_ids(ch->info->inputs, ch->inputs, 10);
            for (int k = 0; k < ch->n_inputs && ok; k++) {
                bool here = false;
                for (size_t j = 0; j < n_chans; j++) {
                    if (chans[j].id == ch->inputs[k]) {
                        here = chans[j].info != NULL && !chans[j].info->computed;
                        extra += chans[j].windows == 0;
                    }
                }
                ok = here;
            }
            ok = ok && ch->n_inputs > 0 && with_series + extra <= DASH_MAX_SERIES_CHANNELS;
            if (!ok) {
                continue; /* its stored values, if any, are shown instead */
            }
            ch->preview = true;
            for (int k = 0; k < ch->n_inputs; k++) {
                for (size_t j = 0; j < n_chans; j++) {
                    if (chans[j].id == ch->inputs[k]) {
                        with_series += chans[j].windows == 0;
                        chans[j].windows |= need;
                    }
                }
            }
        }
        for (size_t i = 0; i < n_ids; i++) {
            if (chans[i].preview) {
                chans[i].windows = 0; /* its inputs come instead */
            }
        }
    }

    /* How many samples each channel's longest window may hold: the day
     * blocks of the days it touches (hot samples are few). */
    stored = calloc(n_chans + 1, sizeof *stored);
    hot = calloc(n_chans + 1, sizeof *hot);
    if (stored == NULL || hot == NULL) {
        rc = svc_fail_nomem(e);
        goto out;
    }
    for (int w = 0; w < DASH_WINDOW_COUNT_; w++) {
        int64_t sel[DASH_MAX_SERIES_CHANNELS + DASH_MAX_CHANNELS];
        long long cnt[DASH_MAX_SERIES_CHANNELS + DASH_MAX_CHANNELS];
        size_t n_sel = 0;
        int64_t t0 = now + 1 - dash_window_us((dash_window)w);
        if (since > t0) {
            t0 = since;
        }
        for (size_t i = 0; i < n_chans; i++) {
            if (chans[i].info != NULL && highest_window(chans[i].windows) == w &&
                n_sel < sizeof sel / sizeof sel[0]) {
                sel[n_sel++] = chans[i].id;
            }
        }
        if (n_sel == 0) {
            continue;
        }
        if ((st = db_dash_stored_counts(c, a->account_id, sel, n_sel, series_day_of(t0),
                                        series_day_of(now), cnt)) != DB_OK) {
            rc = svc_fail_db(e, st, NULL);
            goto out;
        }
        for (size_t k = 0; k < n_sel; k++) {
            for (size_t i = 0; i < n_chans; i++) {
                if (chans[i].id == sel[k]) {
                    stored[i] = cnt[k];
                }
            }
        }
    }
    /* The latest values: stored, or newer ones still in the hot table. */
    if (n_ids > 0 &&
        (st = series_read_hot(c, a->account_id, ids, n_ids, INT64_MIN / 2, INT64_MAX / 2, hot)) !=
            DB_OK) {
        rc = svc_fail_db(e, st, NULL);
        goto out;
    }

    x.c = c;
    x.s = a->srv;
    x.account_id = a->account_id;
    x.now = now;
    x.since = since;
    x.b = &b;
    sb_printf(&b, "{\"dashboard_id\":%lld,\"version\":%lld,\"now\":%lld,\"since\":", row.id,
              row.version, (long long)now);
    if (since > 0) {
        sb_printf(&b, "%lld", (long long)since);
    } else {
        sb_put(&b, "null");
    }
    sb_put(&b, ",\"windows\":{");
    for (int w = 0; w < DASH_WINDOW_COUNT_; w++) {
        sb_printf(&b, "%s\"%s\":{\"from\":%lld,\"to\":%lld}", w ? "," : "",
                  dash_window_name((dash_window)w),
                  (long long)(now + 1 - dash_window_us((dash_window)w)), (long long)(now + 1));
    }
    sb_printf(&b, "},\"limits\":{\"series_cap\":%d,\"reduced_buckets\":%d}", DASH_SERIES_CAP,
              DASH_REDUCED_BUCKETS);
    if (client_version != row.version) {
        cJSON *d = cJSON_CreateObject(), *p = cJSON_Parse(row.panels ? row.panels : "[]");
        char *text;
        cJSON_AddNumberToObject(d, "id", (double)row.id);
        cJSON_AddNumberToObject(d, "group_id", (double)row.group_id);
        cJSON_AddStringToObject(d, "name", row.name != NULL ? row.name : "");
        cJSON_AddItemToObject(d, "panels", p != NULL ? p : cJSON_CreateArray());
        cJSON_AddNumberToObject(d, "version", (double)row.version);
        cJSON_AddBoolToObject(d, "can_edit", acc == CX_ACCESS_EDIT);
        cJSON_AddStringToObject(d, "created_at", row.created_at != NULL ? row.created_at : "");
        cJSON_AddStringToObject(d, "updated_at", row.updated_at != NULL ? row.updated_at : "");
        text = d != NULL ? cJSON_PrintUnformatted(d) : NULL;
        cJSON_Delete(d);
        if (text == NULL) {
            rc = svc_fail_nomem(e);
            goto out;
        }
        sb_put(&b, ",\"dashboard\":");
        sb_put(&b, text);
        cJSON_free(text);
    }
    sb_put(&b, ",\"channels\":[");
    {
        bool first = true;
        for (size_t i = 0; i < n_chans && rc == SVC_OK; i++) {
            const dash_chan *ch = &chans[i];
            const db_dash_channel *ci = ch->info;
            if (ci == NULL || (!ch->panel && ch->windows == 0)) {
                continue; /* gone, or the input of a computed channel not previewed */
            }
            sb_printf(&b, "%s{\"id\":%lld,\"key\":", first ? "" : ",", (long long)ci->id);
            first = false;
            put_string(&b, ci->key);
            sb_put(&b, ",\"name\":");
            put_string(&b, ci->name);
            sb_put(&b, ",\"unit\":");
            put_string(&b, ci->unit);
            if (ci->decimals >= 0) {
                sb_printf(&b, ",\"decimals\":%lld", ci->decimals);
            } else {
                sb_put(&b, ",\"decimals\":null");
            }
            sb_printf(&b, ",\"panel\":%s,\"computed\":%s", ch->panel ? "true" : "false",
                      ci->computed ? "true" : "false");
            if (ci->computed) {
                sb_put(&b, ",\"expression\":");
                put_string(&b, ci->expression);
                sb_put(&b, ",\"inputs\":[");
                {
                    int64_t in[10];
                    int n_in = parse_ids(ci->inputs, in, 10);
                    for (int k = 0; k < n_in; k++) {
                        sb_printf(&b, "%s%lld", k ? "," : "", (long long)in[k]);
                    }
                }
                sb_printf(&b, "],\"preview\":%s", ch->preview ? "true" : "false");
            } else {
                sb_put(&b, ",\"expression\":null,\"inputs\":null,\"preview\":false");
            }
            sb_put(&b, ",\"latest\":");
            put_latest(&b, ci, i < n_ids ? &hot[i] : NULL);
            sb_put(&b, ",\"series\":");
            if (ch->windows != 0) {
                rc = put_series(&x, ch->id, ch->windows, stored[i], e);
            } else {
                sb_put(&b, "[]");
            }
            sb_put(&b, "}");
        }
    }
    if (rc != SVC_OK) {
        goto out;
    }
    sb_put(&b, "],\"missing_channels\":[");
    {
        bool first = true;
        for (size_t i = 0; i < n_ids; i++) {
            if (chans[i].info == NULL) {
                sb_printf(&b, "%s%lld", first ? "" : ",", (long long)chans[i].id);
                first = false;
            }
        }
    }
    sb_put(&b, "],\"pictures\":[");
    for (size_t i = 0; i < n_pics && i < DASH_MAX_PANELS; i++) {
        db_dash_picture pic;
        bool have = false;
        memset(&pic, 0, sizeof pic);
        if ((st = db_dash_picture_get(c, a->account_id, pics[i], &pic, &have)) != DB_OK) {
            db_dash_picture_clear(&pic);
            rc = svc_fail_db(e, st, NULL);
            goto out;
        }
        if (have) {
            sb_printf(&b, "%s{\"id\":%lld,\"sha256\":\"%s\",\"content_type\":\"%s\","
                          "\"width\":%lld,\"height\":%lld}",
                      b.p[b.len - 1] == '[' ? "" : ",", pic.id, pic.sha256, pic.content_type,
                      pic.width, pic.height);
        }
        db_dash_picture_clear(&pic);
    }
    sb_put(&b, "],\"alarm_summary\":");
    if (has_alarm) {
        if ((st = db_alarm_summary_json(c, a->account_id, row.group_id, &alarm)) != DB_OK) {
            rc = svc_fail_db(e, st, NULL);
            goto out;
        }
        sb_put(&b, alarm != NULL ? alarm : "null");
    } else {
        sb_put(&b, "null");
    }
    sb_put(&b, "}");
    if (b.failed) {
        rc = svc_fail_nomem(e);
        goto out;
    }
    *json = b.p;
    *len = b.len;
    b.p = NULL;
out:
    db_release(pool, c);
    free(b.p);
    free(alarm);
    for (size_t i = 0; hot != NULL && i < n_chans; i++) {
        series_col_free(&hot[i]);
    }
    free(hot);
    free(stored);
    free(chans);
    free(all);
    free(inputs);
    db_dash_channels_free(info, n_info);
    dash_panels_free(&ps);
    db_dash_row_clear(&row);
    return rc;
}
