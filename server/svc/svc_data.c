/* Queries of acquired data (see svc_data.h). */
#include "svc_data.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "db_replica.h"
#include "db_series.h"
#include "log.h"
#include "mt/caltime.h"
#include "mt/decimate.h"
#include "metrics.h"
#include "monitor_cache.h"
#include "mt/series.h"
#include "raw_cache.h"
#include "reply_cache.h"
#include "reply_share.h"
#include "rights_memo.h"
#include "sbuf.h"
#include "series_store.h"
#include "shared_read.h"
#include "stripes.h"

/* --------------------------------------------------------- JSON text */

/* The two decimal digits of each of 0..99. */
static const char digit_pairs[] = "00010203040506070809101112131415161718192021222324"
                                  "25262728293031323334353637383940414243444546474849"
                                  "50515253545556575859606162636465666768697071727374"
                                  "75767778798081828384858687888990919293949596979899";

/* Write the decimal digits of "u" so that they end just before "end", two
 * at a time from the table; returns where they start (one digit or more). */
static char *digits_before(char *end, uint64_t u)
{
    while (u >= 100) {
        end -= 2;
        memcpy(end, digit_pairs + 2 * (u % 100), 2);
        u /= 100;
    }
    if (u >= 10) {
        end -= 2;
        memcpy(end, digit_pairs + 2 * u, 2);
    } else {
        *--end = (char)('0' + u);
    }
    return end;
}

/* Decimal text of a double that reads back exactly. Logger values have few
 * decimals, so first try 0..6 decimals with integer arithmetic (a few tens
 * of ns, against ~1 µs for printf + strtod); otherwise the shortest of
 * %.15g..%.17g that round-trips. "text" holds 32 bytes. */
static size_t format_double(double v, char *text)
{
    static const double pow10[] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6};
    double a = v < 0 ? -v : v;
    if (a < 1e12) {
        for (size_t k = 0; k <= 6; k++) {
            double scaled = a * pow10[k];
            double r = (double)(long long)(scaled + 0.5);
            if (r / pow10[k] == a) {
                /* The digits of r (at least k + 1: "0.05"), the last k of
                 * them after the point without their trailing zeros (none
                 * left: no point). */
                long long q = (long long)r;
                char digits[24], *end = digits + sizeof digits;
                char *d = digits_before(end, (uint64_t)q);
                size_t n_int, n_frac = k, len = 0;
                while ((size_t)(end - d) < k + 1) {
                    *--d = '0';
                }
                n_int = (size_t)(end - d) - k;
                while (n_frac > 0 && d[n_int + n_frac - 1] == '0') {
                    n_frac--;
                }
                if (v < 0 && q != 0) {
                    text[len++] = '-';
                }
                memcpy(text + len, d, n_int);
                len += n_int;
                if (n_frac > 0) {
                    text[len++] = '.';
                    memcpy(text + len, d + n_int, n_frac);
                    len += n_frac;
                }
                text[len] = '\0';
                return len;
            }
        }
    }
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(text, 32, "%.*g", prec, v);
        if (prec == 17 || strtod(text, NULL) == v) {
            break;
        }
    }
    return strlen(text);
}

/* The longest text put_value() writes ("-2.2250738585072014e-308" is 24). */
#define VALUE_TEXT_MAX 32

/* format_double()'s first way, written straight at "o" (room for
 * VALUE_TEXT_MAX bytes) with copies of fixed sizes (a year chart writes
 * 224,000 numbers: each variable-length memcpy() was a call): the same
 * bytes, or NULL when format_double()'s printf fallback is needed ("o" may
 * then hold scratch). Bytes past the returned end may be written too. */
static char *put_decimal(char *o, double v)
{
    static const double pow10[] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6};
    double a = v < 0 ? -v : v;
    if (!(a < 1e12)) {
        return NULL;
    }
    for (size_t k = 0; k <= 6; k++) {
        double scaled = a * pow10[k];
        double r = (double)(long long)(scaled + 0.5);
        if (r / pow10[k] == a) {
            long long q = (long long)r;
            /* The digits end at digits + 24; the 24 bytes after them are
             * room for the fixed-size copies below. */
            char digits[48] = {0}, *end = digits + 24;
            char *d = digits_before(end, (uint64_t)q);
            size_t n_int, n_frac = k;
            while ((size_t)(end - d) < k + 1) {
                *--d = '0';
            }
            n_int = (size_t)(end - d) - k;
            while (n_frac > 0 && d[n_int + n_frac - 1] == '0') {
                n_frac--;
            }
            if (v < 0 && q != 0) {
                *o++ = '-';
            }
            /* n_int <= 19 and n_frac <= 6: 1 + 24 and 1 + 19 + 1 + 8 bytes
             * at most, within VALUE_TEXT_MAX. */
            memcpy(o, d, 24);
            o += n_int;
            if (n_frac > 0) {
                *o++ = '.';
                memcpy(o, d + n_int, 8);
                o += n_frac;
            }
            return o;
        }
    }
    return NULL;
}

/* Write sample value "v" at "o" (room for VALUE_TEXT_MAX bytes): a number
 * (text that reads back exactly), or the name of its special value as a
 * string. Returns the end of what it wrote (no NUL). */
static char *put_value(char *o, double v)
{
    mt_sv kind = mt_sv_kind(v);
    char text[32];
    size_t n;
    if (kind != MT_SV_NONE) {
        const char *name = mt_sv_name(kind);
        n = strlen(name);
        *o++ = '"';
        memcpy(o, name, n);
        o += n;
        *o++ = '"';
        return o;
    }
    {
        char *end = put_decimal(o, v);
        if (end != NULL) {
            return end;
        }
    }
    n = format_double(v, text);
    memcpy(o, text, n);
    return o + n;
}

/* A sample value as put_value() writes it. */
static void sb_value(sbuf *b, double v)
{
    sb_reserve(b, VALUE_TEXT_MAX);
    if (!b->failed) {
        b->len = (size_t)(put_value(b->p + b->len, v) - b->p);
        b->p[b->len] = '\0';
    }
}

/* The times "t" ("n" of them), comma-separated, each as sb_i64() writes
 * it. Times in µs share their leading digits: the digits above the last 8
 * (100 s) are made once per change, the last 8 from the table of pairs (a
 * raw page writes thousands). */
static void sb_times(sbuf *b, const int64_t *t, size_t n)
{
    char head[24], *o;
    size_t head_len = 0;
    uint64_t head_of = UINT64_MAX;
    sb_reserve(b, n * 21); /* "-9223372036854775808," */
    if (b->failed) {
        return;
    }
    o = b->p + b->len;
    for (size_t i = 0; i < n; i++) {
        uint64_t u = t[i] < 0 ? 0 - (uint64_t)t[i] : (uint64_t)t[i];
        if (i) {
            *o++ = ',';
        }
        if (t[i] < 0) {
            *o++ = '-';
        }
        if (u < 100000000) {
            char tmp[24], *d = digits_before(tmp + sizeof tmp, u);
            size_t k = (size_t)(tmp + sizeof tmp - d);
            memcpy(o, d, k);
            o += k;
            continue;
        }
        if (u / 100000000 != head_of) {
            char *d;
            head_of = u / 100000000;
            d = digits_before(head + sizeof head, head_of);
            head_len = (size_t)(head + sizeof head - d);
            memmove(head, d, head_len);
        }
        memcpy(o, head, head_len);
        o += head_len;
        {
            uint32_t lo = (uint32_t)(u % 100000000), hi4 = lo / 10000, lo4 = lo % 10000;
            memcpy(o, digit_pairs + 2 * (hi4 / 100), 2);
            memcpy(o + 2, digit_pairs + 2 * (hi4 % 100), 2);
            memcpy(o + 4, digit_pairs + 2 * (lo4 / 100), 2);
            memcpy(o + 6, digit_pairs + 2 * (lo4 % 100), 2);
            o += 8;
        }
    }
    b->len = (size_t)(o - b->p);
    b->p[b->len] = '\0';
}

/* A query's answer or its refusal, inside this file: err.status SVC_OK
 * with "json" (the answer, "len" bytes), or the refusal in "err". The
 * public functions hand them out as out-parameters (reply_out()). */
typedef struct {
    svc_error err;
    char *json;  /* the block to free */
    size_t room; /* the answer is at json + room (svc_data_raw()) */
    size_t len;
    raw_reply *kept; /* svc_data_raw(): the answer is this kept reply instead */
} data_reply;

/* Hand "r" out: *json and *len (the caller frees), or the refusal in "e";
 * returns its status. */
static svc_status reply_out(data_reply *r, char **json, size_t *len, svc_error *e)
{
    *json = r->json;
    *len = r->len;
    *e = r->err;
    if (r->err.status != SVC_OK) {
        free(r->json);
        *json = NULL;
        *len = 0;
    }
    return r->err.status;
}

static void fail(data_reply *r, svc_status st, const char *code, const char *field,
                 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void fail(data_reply *r, svc_status st, const char *code, const char *field,
                 const char *fmt, ...)
{
    va_list ap;
    svc_fail(&r->err, st, code, field, NULL);
    va_start(ap, fmt);
    vsnprintf(r->err.message, sizeof r->err.message, fmt, ap);
    va_end(ap);
}

static void fail_db(data_reply *r, db_status st)
{
    svc_fail_db(&r->err, st, NULL);
}

static void ok(data_reply *r, sbuf *b)
{
    if (b->failed) {
        free(b->p);
        fail(r, SVC_NOMEM, NULL, NULL, "the server is out of memory: retry");
        return;
    }
    svc_error_clear(&r->err);
    r->json = b->p;
    r->len = b->len;
}

/* Check that the actor may see every channel of "ch"; 0, or -1 after
 * filling "r" (404 naming the first channel that is not visible). "c" is a
 * connection to the primary when "primary": a member's rights remembered
 * (rights_memo.h, series_channels_visible()) are checked by the rights'
 * version; on a standby (its own postmaster's start, the primary's answer
 * already had) as before, so that the two starts do not take turns in the
 * memory. */
static int check_visible(db_conn *c, const svc_actor *a, const int64_t *ch, size_t n_ch,
                         bool primary, data_reply *r)
{
    int64_t *vis = NULL;
    size_t n_vis = 0;
    db_status st =
        primary ? series_channels_visible(c, a->account_id, svc_viewer(a), ch, n_ch, &vis, &n_vis)
                : db_channels_visible(c, a->account_id, svc_viewer(a), ch, n_ch, &vis, &n_vis);
    if (st != DB_OK) {
        fail_db(r, st);
        return -1;
    }
    for (size_t i = 0; i < n_ch; i++) {
        bool found = false;
        for (size_t k = 0; k < n_vis && !found; k++) {
            found = vis[k] == ch[i];
        }
        if (!found) {
            free(vis);
            fail(r, SVC_NOT_FOUND, "not_found", "channels", "channel %lld: no such channel",
                 (long long)ch[i]);
            return -1;
        }
    }
    free(vis);
    return 0;
}

/* ------------------------------------------------------------- graph */

static mt_status no_decode(void *ctx, size_t block, mt_time *t, double *v, size_t cap,
                           size_t *n, mt_error *err)
{
    (void)ctx;
    (void)t;
    (void)v;
    (void)cap;
    (void)n;
    return mt_fail(err, MT_EINVAL, block, "hour-aligned buckets never straddle an hour");
}

/* The hourly summaries of one channel over [t0, t1) (whole hours): stored
 * hours, with the days that still have hot samples summarised afresh from
 * the merged samples. *out (caller frees), *n_out. */
static db_status channel_hours(db_conn *c, long long account_id, int64_t ch, int64_t t0,
                               int64_t t1, const mt_block_summary *stored, size_t n_stored,
                               const series_col *hot, mt_block_summary **out, size_t *n_out)
{
    size_t cap = n_stored + 32, n = 0;
    mt_block_summary *sum = malloc(cap * sizeof *sum);
    size_t h = 0, s = 0;
    *out = NULL;
    *n_out = 0;
    if (sum == NULL) {
        return DB_ERROR;
    }
    /* Walk the stored hours day by day; a day with hot samples is rebuilt. */
    while (s < n_stored || h < hot->n) {
        int64_t day_s = s < n_stored ? series_day_of(stored[s].t_first) : INT64_MAX;
        int64_t day_h = h < hot->n ? series_day_of(hot->t[h]) : INT64_MAX;
        if (day_s < day_h) {
            if (stored[s].t_first >= t0 && stored[s].t_first < t1) {
                sum[n++] = stored[s];
            }
            s++;
            continue;
        }
        /* Day "day_h" has hot samples: read it whole (blocks + hot), summarise. */
        {
            int64_t d0 = day_h * SERIES_DAY_US, d1 = d0 + SERIES_DAY_US;
            series_col col = {0};
            mt_block_summary day_sum[24];
            size_t got = 0;
            mt_error err;
            db_status st = series_read(c, account_id, &ch, 1, d0 > t0 ? d0 : t0,
                                       d1 < t1 ? d1 : t1, &col);
            if (st != DB_OK) {
                free(sum);
                return st;
            }
            if (col.n > 0 &&
                mt_series_summarize(col.t, col.v, col.n, SERIES_HOUR_US, day_sum, 24, &got,
                                    &err) != MT_OK) {
                series_col_free(&col);
                free(sum);
                return DB_ERROR;
            }
            series_col_free(&col);
            if (n + got > cap) {
                mt_block_summary *grown;
                cap = (n + got) * 2;
                grown = realloc(sum, cap * sizeof *sum);
                if (grown == NULL) {
                    free(sum);
                    return DB_ERROR;
                }
                sum = grown;
            }
            memcpy(sum + n, day_sum, got * sizeof *sum);
            n += got;
            while (s < n_stored && series_day_of(stored[s].t_first) == day_h) {
                s++;
            }
            while (h < hot->n && series_day_of(hot->t[h]) == day_h) {
                h++;
            }
        }
    }
    *out = sum;
    *n_out = n;
    return DB_OK;
}

/* The buckets' arrays, written at a pointer into room reserved once per
 * array (a year of 32 channels is 280,000 numbers and nulls; each append
 * through sb_add() reserved and measured its own). */
static void put_buckets(sbuf *b, const mt_bucket *bk, size_t nb)
{
    static const char *const names[] = {",\"min\":[", ",\"max\":[", ",\"first\":[", ",\"last\":["};
    char *o;
    /* Counts: at most 20 digits and a comma each, written by a fixed copy
     * of 24 bytes. */
    sb_put(b, "\"n\":[");
    sb_reserve(b, nb * 21 + 32);
    if (b->failed) {
        return;
    }
    o = b->p + b->len;
    for (size_t i = 0; i < nb; i++) {
        char digits[48] = {0}, *end = digits + 24, *d = digits_before(end, bk[i].n);
        if (i) {
            *o++ = ',';
        }
        memcpy(o, d, 24);
        o += end - d;
    }
    *o++ = ']';
    b->len = (size_t)(o - b->p);
    b->p[b->len] = '\0';
    /* Values: at most 24 bytes and a comma each (put_value() may write up
     * to VALUE_TEXT_MAX past where it starts). */
    for (int k = 0; k < 4; k++) {
        sb_put(b, names[k]);
        sb_reserve(b, nb * (VALUE_TEXT_MAX + 1) + 8);
        if (b->failed) {
            return;
        }
        o = b->p + b->len;
        for (size_t i = 0; i < nb; i++) {
            double v = k == 0 ? bk[i].min : k == 1 ? bk[i].max : k == 2 ? bk[i].first : bk[i].last;
            if (i) {
                *o++ = ',';
            }
            if (bk[i].n == 0) {
                memcpy(o, "null", 4);
                o += 4;
            } else {
                o = put_value(o, v);
            }
        }
        *o++ = ']';
        b->len = (size_t)(o - b->p);
        b->p[b->len] = '\0';
    }
    sb_put(b, ",\"special\":[");
    for (size_t i = 0; i < nb; i++) {
        if (i) {
            sb_add(b, ",", 1);
        }
        if (bk[i].n_special == 0) {
            sb_add(b, "null", 4);
        } else {
            sb_printf(b, "{\"count\":%llu,\"last\":\"%s\"}", (unsigned long long)bk[i].n_special,
                      mt_sv_name(bk[i].special));
        }
    }
    sb_put(b, "]");
}

/* Reading hourly summaries over months is PostgreSQL fetching and
 * decompressing rows, then this process unpacking them: with a second
 * connection free, the channels are split in two and read side by side,
 * so both cores work on one chart. The half read by the helper thread: */
typedef struct {
    db_conn *c;
    long long account_id;
    const int64_t *ch;
    size_t n_ch;
    int64_t t0, t1;
    mt_summary_fold *fold;
    mt_block_summary **out;
    size_t *n_out;
    db_status st;
} hours_half;

static void *read_half(void *arg)
{
    hours_half *h = arg;
    h->st = series_read_hours(h->c, h->account_id, h->ch, h->n_ch, h->t0, h->t1, h->fold, h->out,
                              h->n_out);
    return NULL;
}

/* series_read_hours() of "ch" on "c", with half of the channels on a second
 * connection when the range is long (over 31 days) and one is free at once:
 * each half is read, unpacked or folded on its own thread. */
static db_status read_hours_split(db_pool *pool, db_conn *c, long long account_id,
                                  const int64_t *ch, size_t n_ch, int64_t t0, int64_t t1,
                                  mt_summary_fold *fold, mt_block_summary **out, size_t *n_out)
{
    hours_half h = {0};
    pthread_t th;
    size_t k = n_ch / 2;
    db_status st;
    if (n_ch < 2 || t1 - t0 <= 31 * SERIES_DAY_US || db_acquire(pool, 0, &h.c) != DB_OK) {
        return series_read_hours(c, account_id, ch, n_ch, t0, t1, fold, out, n_out);
    }
    h.account_id = account_id;
    h.ch = ch + k;
    h.n_ch = n_ch - k;
    h.t0 = t0;
    h.t1 = t1;
    h.fold = fold != NULL ? fold + k : NULL;
    h.out = out + k;
    h.n_out = n_out + k;
    if (pthread_create(&th, NULL, read_half, &h) != 0) {
        db_release(pool, h.c);
        return series_read_hours(c, account_id, ch, n_ch, t0, t1, fold, out, n_out);
    }
    st = series_read_hours(c, account_id, ch, k, t0, t1, fold, out, n_out);
    pthread_join(th, NULL);
    db_release(pool, h.c);
    if (st == DB_OK && h.st != DB_OK) {
        st = h.st;
    }
    if (st != DB_OK) {
        series_hours_free(out, n_out, n_ch);
    }
    return st;
}

/* svc_data_decimate() on "c", a connection of "pool" (the primary's or the
 * standby's: a second connection for long ranges comes from the same). */
static svc_status decimate_on(db_pool *pool, db_conn *c, long long account_id, const int64_t *ch,
                              size_t n_ch, int64_t t0, int64_t t1, size_t buckets, data_grid *g,
                              data_bucket_fn fn, void *arg, svc_error *e)
{
    mt_bucket *bk = NULL;
    series_col *cols = NULL, *hot = NULL;
    mt_block_summary **hours = NULL;
    size_t *n_hours = NULL;
    mt_summary_fold *fold = NULL;
    mt_bucket *folded = NULL;
    int64_t span = t1 - t0;
    int64_t w = (span + (int64_t)buckets - 1) / (int64_t)buckets;
    bool from_hours = w >= SERIES_HOUR_US;
    int64_t T0 = t0, T1 = t1;
    size_t nb = buckets;
    svc_status rc = SVC_OK;
    db_status st;

    if (from_hours) {
        /* Buckets of whole hours aligned to UTC hours: each bucket is a
         * union of stored hourly summaries, so nothing is decoded. */
        int64_t W = (w + SERIES_HOUR_US - 1) / SERIES_HOUR_US * SERIES_HOUR_US;
        T0 = series_day_of(t0) * SERIES_DAY_US +
             (t0 - series_day_of(t0) * SERIES_DAY_US) / SERIES_HOUR_US * SERIES_HOUR_US;
        nb = (size_t)((t1 - T0 + W - 1) / W);
        T1 = T0 + (int64_t)nb * W;
    }
    g->t0 = T0;
    g->t1 = T1;
    g->nb = nb;
    g->from_hours = from_hours;
    g->stable = from_hours; /* every channel's buckets in "folded" */
    bk = malloc(nb * sizeof *bk);
    cols = calloc(n_ch, sizeof *cols);
    hot = calloc(n_ch, sizeof *hot);
    hours = calloc(n_ch, sizeof *hours);
    n_hours = calloc(n_ch, sizeof *n_hours);
    if (bk == NULL || cols == NULL || hot == NULL || hours == NULL || n_hours == NULL) {
        rc = svc_fail_nomem(e);
        goto out;
    }
    if (from_hours) {
        /* Hot rows first: if the compactor folds them in between, they are
         * in the summaries too, and their days are re-read whole anyway. */
        st = series_read_hot(c, account_id, ch, n_ch, T0, T1, hot);
        if (st == DB_OK) {
            /* A channel with nothing hot has its stored hours folded into
             * its buckets as they are read (on the reading thread), the
             * buckets mt_decimate_blocks() makes of them: no array of its
             * 8,760 summaries of a year between the two. */
            fold = calloc(n_ch, sizeof *fold);
            folded = malloc(n_ch * nb * sizeof *folded);
            if (fold == NULL || folded == NULL) {
                rc = svc_fail_nomem(e);
                goto out;
            }
            for (size_t i = 0; i < n_ch; i++) {
                mt_error err;
                if (hot[i].n == 0 &&
                    mt_summary_fold_init(&fold[i], T0, T1, nb, folded + i * nb, &err) != MT_OK) {
                    log_error("data: buckets of channel %lld: %s", (long long)ch[i], err.msg);
                    rc = svc_fail(e, SVC_INTERNAL, NULL, NULL, "decimation failed");
                    goto out;
                }
            }
            st = read_hours_split(pool, c, account_id, ch, n_ch, T0, T1, fold, hours, n_hours);
        }
    } else {
        st = series_read(c, account_id, ch, n_ch, t0, t1, cols);
    }
    if (st != DB_OK) {
        rc = svc_fail_db(e, st, NULL);
        goto out;
    }
    for (size_t i = 0; i < n_ch; i++) {
        mt_error err;
        mt_status ms;
        if (from_hours && hot[i].n == 0) {
            /* Nothing hot: the stored hours, folded as they were read. */
            if (fn(arg, i, folded + i * nb) != 0) {
                rc = svc_fail_nomem(e);
                goto out;
            }
            continue;
        } else if (from_hours) {
            mt_block_summary *sum = NULL;
            size_t n_sum = 0;
            if ((st = channel_hours(c, account_id, ch[i], T0, T1, hours[i], n_hours[i], &hot[i],
                                    &sum, &n_sum)) != DB_OK) {
                rc = svc_fail_db(e, st, NULL);
                goto out;
            }
            ms = mt_decimate_blocks(sum, n_sum, no_decode, NULL, T0, T1, nb, folded + i * nb,
                                    NULL, &err);
            free(sum);
        } else {
            ms = mt_decimate_minmax(cols[i].t, cols[i].v, cols[i].n, t0, t1, nb, bk, &err);
            series_col_free(&cols[i]); /* done with this channel's samples */
        }
        free(hours[i]); /* done with this channel's summaries */
        hours[i] = NULL;
        if (ms != MT_OK) {
            log_error("data: decimation of channel %lld failed: %s", (long long)ch[i], err.msg);
            rc = svc_fail(e, SVC_INTERNAL, NULL, NULL, "decimation failed");
            goto out;
        }
        if (fn(arg, i, from_hours ? folded + i * nb : bk) != 0) {
            rc = svc_fail_nomem(e);
            goto out;
        }
    }
out:
    free(bk);
    for (size_t i = 0; i < n_ch; i++) {
        if (cols != NULL) {
            series_col_free(&cols[i]);
        }
        if (hot != NULL) {
            series_col_free(&hot[i]);
        }
        if (hours != NULL) {
            free(hours[i]);
        }
    }
    free(cols);
    free(hot);
    free(hours);
    free(n_hours);
    free(fold);
    free(folded);
    return rc;
}

svc_status svc_data_decimate(srv *s, db_conn *c, long long account_id, const int64_t *ch,
                             size_t n_ch, int64_t t0, int64_t t1, size_t buckets, data_grid *g,
                             data_bucket_fn fn, void *arg, svc_error *e)
{
    return decimate_on(s->pool, c, account_id, ch, n_ch, t0, t1, buckets, g, fn, arg, e);
}

/* ------------------------------------------------ the read replica */

/* A viewer's read: its arguments and where it runs. */
typedef struct {
    const svc_actor *a;
    const int64_t *ch;
    size_t n_ch;
    int64_t t0, t1;
    size_t n;     /* graph: buckets; raw: the page's rows */
    bool standby; /* run on the read replica (read_somewhere()) */
} data_read;

typedef void (*data_read_fn)(db_pool *pool, const data_read *q, data_reply *r);

/* Run "fn" on the read replica while a read there is within its staleness
 * bound (METRON_REPLICA_MAX_LAG_MS, docs/scale.md), else on the primary.
 * Who may see what is decided on the primary first, never on the standby
 * (a revoked right is never honoured late); the standby's answer stands
 * only when it is a full answer: anything else (the standby gone or
 * restarting, a conflict with recovery, a channel too new for it) is read
 * again on the primary, so the client never sees the standby fail. */
static void read_somewhere(srv *s, data_read_fn fn, const data_read *q, data_reply *r)
{
    db_pool *standby = db_replica_pool(s->replica, NULL);
    if (standby != NULL) {
        db_conn *c = NULL;
        db_status st;
        memset(r, 0, sizeof *r);
        if ((st = db_acquire(s->pool, DB_WAIT_MS, &c)) != DB_OK) {
            fail_db(r, st);
            return;
        }
        st = check_visible(c, q->a, q->ch, q->n_ch, true, r) == 0 ? DB_OK : DB_ERROR;
        db_release(s->pool, c);
        if (st != DB_OK) {
            return; /* the refusal, from the primary */
        }
        data_read on = *q;
        on.standby = true;
        fn(standby, &on, r);
        if (r->err.status == SVC_OK) {
            db_replica_count(s->replica, true);
            return;
        }
        log_warn("replica: a read on the standby did not answer (%s): read on the primary",
                 r->err.message);
        if (r->err.status == SVC_DB) {
            db_replica_failed(s->replica);
        }
        free(r->json);
        memset(r, 0, sizeof *r);
    }
    db_replica_count(s->replica, false);
    fn(s->pool, q, r);
}

/* The graph answer, written channel by channel as the buckets come, or,
 * when the grid keeps every channel's buckets until the last callback
 * (data_grid.stable), at the last channel on two threads. */
typedef struct {
    sbuf b;
    const int64_t *ch;
    size_t n_ch;
    const data_grid *g;
    const mt_bucket **kept; /* n_ch: each channel's buckets (stable grids) */
} graph_json;

/* One channel's object of the answer. */
static void put_channel(sbuf *b, int64_t id, const mt_bucket *bk, size_t nb, bool first)
{
    sb_printf(b, "%s{\"id\":%lld,", first ? "" : ",", (long long)id);
    put_buckets(b, bk, nb);
    sb_put(b, "}");
}

/* Channels [from, to) of a stable grid, into their own buffer. */
typedef struct {
    sbuf b;
    const graph_json *j;
    size_t from, to;
} graph_part;

static void *put_part(void *arg)
{
    graph_part *p = arg;
    for (size_t i = p->from; i < p->to; i++) {
        put_channel(&p->b, p->j->ch[i], p->j->kept[i], p->j->g->nb, i == 0);
    }
    return NULL;
}

/* A year of 32 channels is 224,000 numbers of text: the second half of the
 * channels is written on a second thread (both cores), then appended. */
static void put_kept(graph_json *j)
{
    graph_part tail = {{0}, j, j->n_ch / 2, j->n_ch};
    graph_part head = {{0}, j, 0, j->n_ch / 2};
    pthread_t th;
    if (j->n_ch < 2 || j->n_ch * j->g->nb < 4096 ||
        pthread_create(&th, NULL, put_part, &tail) != 0) {
        for (size_t i = 0; i < j->n_ch; i++) {
            put_channel(&j->b, j->ch[i], j->kept[i], j->g->nb, i == 0);
        }
        return;
    }
    head.b = j->b;
    put_part(&head);
    pthread_join(th, NULL);
    j->b = head.b;
    if (tail.b.failed) {
        j->b.failed = true;
    } else if (tail.b.len > 0) {
        sb_add(&j->b, tail.b.p, tail.b.len);
    }
    free(tail.b.p);
}

static int graph_channel(void *arg, size_t i, const mt_bucket *bk)
{
    graph_json *j = arg;
    if (i == 0) {
        sb_printf(&j->b, "{\"from\":%lld,\"to\":%lld,\"buckets\":%zu,\"bucket_us\":%.17g,"
                         "\"source\":\"%s\",\"channels\":[",
                  (long long)j->g->t0, (long long)j->g->t1, j->g->nb,
                  (double)(j->g->t1 - j->g->t0) / (double)j->g->nb,
                  j->g->from_hours ? "hours" : "samples");
    }
    if (j->g->stable && j->kept != NULL) {
        j->kept[i] = bk;
        if (i + 1 == j->n_ch) {
            put_kept(j);
        }
    } else {
        put_channel(&j->b, j->ch[i], bk, j->g->nb, i == 0);
    }
    return j->b.failed ? -1 : 0;
}

static void graph_on(db_pool *pool, const data_read *q, data_reply *r)
{
    db_conn *c = NULL;
    data_grid g = {0};
    graph_json j = {{0}, q->ch, q->n_ch, &g, NULL};
    db_status st;

    memset(r, 0, sizeof *r);
    if ((st = db_acquire(pool, DB_WAIT_MS, &c)) != DB_OK) {
        fail_db(r, st);
        return;
    }
    /* Without it, each channel is written as it comes. */
    j.kept = calloc(q->n_ch ? q->n_ch : 1, sizeof *j.kept);
    if (check_visible(c, q->a, q->ch, q->n_ch, !q->standby, r) != 0) {
        goto out;
    }
    if (decimate_on(pool, c, q->a->account_id, q->ch, q->n_ch, q->t0, q->t1, q->n, &g,
                    graph_channel, &j, &r->err) != SVC_OK) {
        goto out;
    }
    sb_put(&j.b, "]}");
    ok(r, &j.b);
    j.b.p = NULL;
out:
    db_release(pool, c);
    free(j.b.p);
    free(j.kept);
}

static void graph_r(srv *s, const svc_actor *a, const int64_t *ch, size_t n_ch, int64_t t0,
                    int64_t t1, size_t buckets, data_reply *r)
{
    const data_read q = {a, ch, n_ch, t0, t1, buckets, false};
    db_conn *c = NULL;
    db_status st;

    read_somewhere(s, graph_on, &q, r);
    if (r->err.status != SVC_OK || a->user_id == 0) {
        return;
    }
    /* What the user looked at (a write: always on the primary), once the
     * channels are known to be visible. */
    if ((st = db_acquire(s->pool, DB_WAIT_MS, &c)) == DB_OK) {
        st = db_channels_viewed(c, a->account_id, a->user_id, ch, n_ch);
        db_release(s->pool, c);
    }
    if (st != DB_OK) {
        free(r->json);
        memset(r, 0, sizeof *r);
        fail_db(r, st);
    }
}

svc_status svc_data_graph(srv *s, const svc_actor *a, const int64_t *ch, size_t n_ch, int64_t t0,
                          int64_t t1, size_t buckets, char **json, size_t *len, svc_error *e)
{
    data_reply r;
    memset(&r, 0, sizeof r);
    graph_r(s, a, ch, n_ch, t0, t1, buckets, &r);
    return reply_out(&r, json, len, e);
}

/* ----------------------------------------------------------- summary */

/* Samples read per series_read() call of the statistics: one UTC day of
 * every channel, cut into parts when a day holds more than this many
 * stored samples (as the export does), so that memory stays bounded
 * whatever the sample rate. */
#define STATS_CHUNK_SAMPLES 4000000

svc_status svc_data_stats(db_conn *c, long long account_id, const int64_t *ch, size_t n_ch,
                          int64_t t0, int64_t t1, mt_stats *out, svc_error *e)
{
    series_col *cols = calloc(n_ch ? n_ch : 1, sizeof *cols);
    svc_status rc = SVC_OK;
    if (cols == NULL) {
        return svc_fail_nomem(e);
    }
    for (size_t i = 0; i < n_ch; i++) {
        mt_stats_init(&out[i]);
    }
    for (int64_t d0 = series_day_of(t0) * SERIES_DAY_US; d0 < t1 && rc == SVC_OK;
         d0 += SERIES_DAY_US) {
        int64_t a0 = d0 > t0 ? d0 : t0;
        int64_t a1 = d0 + SERIES_DAY_US < t1 ? d0 + SERIES_DAY_US : t1;
        long long n_day = 0;
        int parts = 1;
        db_status st = db_series_day_count(c, account_id, ch, n_ch, series_day_of(a0), &n_day);
        if (st != DB_OK) {
            rc = svc_fail_db(e, st, NULL);
            break;
        }
        while (parts < 24 && n_day / parts > STATS_CHUNK_SAMPLES) {
            parts = parts < 4 ? parts + 1 : parts * 2;
        }
        for (int p = 0; p < parts && rc == SVC_OK; p++) {
            int64_t p0 = a0 + (a1 - a0) * p / parts, p1 = a0 + (a1 - a0) * (p + 1) / parts;
            if (p0 >= p1) {
                continue;
            }
            if ((st = series_read(c, account_id, ch, n_ch, p0, p1, cols)) != DB_OK) {
                rc = svc_fail_db(e, st, NULL);
                break;
            }
            for (size_t i = 0; i < n_ch && rc == SVC_OK; i++) {
                mt_error err;
                if (mt_stats_add(&out[i], cols[i].t, cols[i].v, cols[i].n, &err) != MT_OK) {
                    log_error("data: statistics of channel %lld: %s", (long long)ch[i], err.msg);
                    rc = svc_fail(e, SVC_INTERNAL, NULL, NULL, "statistics failed");
                }
                series_col_free(&cols[i]);
            }
        }
    }
    for (size_t i = 0; i < n_ch; i++) {
        series_col_free(&cols[i]);
    }
    free(cols);
    return rc;
}

/* One channel's statistics as JSON members (after "id"). */
static void put_stats(sbuf *b, const mt_stats *st)
{
    static const mt_sv kinds[] = {MT_SV_MISSING, MT_SV_OVER_POS, MT_SV_OVER_NEG, MT_SV_BREAK,
                                  MT_SV_ERROR};
    sb_printf(b, ",\"n\":%llu,\"min\":", (unsigned long long)st->n);
    if (st->n > 0) {
        sb_value(b, st->min);
        sb_printf(b, ",\"t_min\":%lld,\"max\":", (long long)st->t_min);
        sb_value(b, st->max);
        sb_printf(b, ",\"t_max\":%lld,\"mean\":", (long long)st->t_max);
        sb_value(b, mt_stats_mean(st));
    } else {
        sb_put(b, "null,\"t_min\":null,\"max\":null,\"t_max\":null,\"mean\":null");
    }
    sb_printf(b, ",\"special\":{\"count\":%llu",
              (unsigned long long)mt_stats_special_total(st));
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        sb_printf(b, ",\"%s\":%llu", mt_sv_name(kinds[k]),
                  (unsigned long long)st->n_special[kinds[k]]);
    }
    sb_put(b, "}");
}

static void summary_on(db_pool *pool, const data_read *q, data_reply *r)
{
    const svc_actor *a = q->a;
    const int64_t *ch = q->ch;
    size_t n_ch = q->n_ch;
    int64_t t0 = q->t0, t1 = q->t1;
    db_conn *c = NULL;
    sbuf b = {0};
    mt_stats *st = NULL;
    db_status dst;

    memset(r, 0, sizeof *r);
    if ((dst = db_acquire(pool, DB_WAIT_MS, &c)) != DB_OK) {
        fail_db(r, dst);
        return;
    }
    if (check_visible(c, a, ch, n_ch, !q->standby, r) != 0) {
        goto out;
    }
    if ((st = calloc(n_ch, sizeof *st)) == NULL) {
        fail(r, SVC_NOMEM, NULL, NULL, "the server is out of memory: retry");
        goto out;
    }
    if (svc_data_stats(c, a->account_id, ch, n_ch, t0, t1, st, &r->err) != SVC_OK) {
        goto out;
    }
    sb_printf(&b, "{\"from\":%lld,\"to\":%lld,\"channels\":[", (long long)t0, (long long)t1);
    for (size_t i = 0; i < n_ch; i++) {
        sb_printf(&b, "%s{\"id\":%lld", i ? "," : "", (long long)ch[i]);
        put_stats(&b, &st[i]);
        sb_put(&b, "}");
    }
    sb_put(&b, "]}");
    ok(r, &b);
    b.p = NULL;
out:
    db_release(pool, c);
    free(b.p);
    free(st);
}

static void summary_r(srv *s, const svc_actor *a, const int64_t *ch, size_t n_ch, int64_t t0,
                      int64_t t1, data_reply *r)
{
    const data_read q = {a, ch, n_ch, t0, t1, 0, false};
    read_somewhere(s, summary_on, &q, r);
}

svc_status svc_data_summary(srv *s, const svc_actor *a, const int64_t *ch, size_t n_ch, int64_t t0,
                            int64_t t1, char **json, size_t *len, svc_error *e)
{
    data_reply r;
    memset(&r, 0, sizeof r);
    summary_r(s, a, ch, n_ch, t0, t1, &r);
    return reply_out(&r, json, len, e);
}

/* -------------------------------------------------------------- raw */

/* The answer of a read that failed, or that names a channel the viewer
 * may not see; false when the read may go on. */
static bool read_failed(data_reply *r, db_status st, int64_t hidden)
{
    if (st != DB_OK) {
        fail_db(r, st);
        return true;
    }
    if (hidden != 0) {
        fail(r, SVC_NOT_FOUND, "not_found", "channels", "channel %lld: no such channel",
             (long long)hidden);
        return true;
    }
    return false;
}

static db_status monitor_stamp(db_pool *pool, db_conn **c, long long account_id,
                               series_stamp *stamp);

/* METRON_RAW_STAMP=0: every check of a kept raw day runs its versions
 * statement (no stamp pre-check; issue 16, rawstamp). */
static env_switch g_raw_stamp = ENV_SWITCH("METRON_RAW_STAMP");

/* Whether the viewer's right to "ids" (rights_memo.h's keys) is remembered
 * at the rights version and postmaster start of the stamp "seen" (its
 * SERIES_STAMP_RIGHTS and SERIES_STAMP_START rows): no change of rights
 * committed between that memory and the stamp (087's triggers). False when
 * either row is missing. */
static bool stamp_rights_known(const svc_actor *a, const int64_t *ids, size_t n,
                               const series_stamp *seen)
{
    int64_t ver = 0, start = 0, x_ver = 0, x_start = 0;
    bool has_ver = false, has_start = false;
    for (size_t i = 0; i < seen->n; i++) {
        if (seen->row[i].tag == SERIES_STAMP_RIGHTS) {
            x_ver = seen->row[i].x;
            has_ver = true;
        } else if (seen->row[i].tag == SERIES_STAMP_START) {
            x_start = seen->row[i].x;
            has_start = true;
        }
    }
    return has_ver && has_start &&
           rights_memo_known(a->account_id, svc_viewer(a), ids, n, &ver, &start) &&
           ver == x_ver && start == x_start;
}

/* Whether the stamp "seen", read after this request came, proves viewer
 * "a"'s right to channels ch[0..n_ch) by itself (issue 16, precheck), so
 * that a day kept with the same stamp for another viewer answers this one
 * too (raw_check_stamped()):
 * - an administrator: a stamp is kept only by a check that found every
 *   channel of the window visible to its viewer (raw_check_end_stamped()),
 *   hence in the account; the same stamp now means no channel was deleted
 *   or moved since (087's and 089's triggers move it), and an
 *   administrator sees every channel of the account;
 * - a member whose right to every one of them is remembered
 *   (rights_memo.h) at the rights' version and postmaster's start the
 *   stamp shows: no change of rights was committed since that right was
 *   read (087's triggers move the version with every one), so it holds.
 * False whenever a part is missing. */
static bool raw_right_by_stamp(const svc_actor *a, const int64_t *ch, size_t n_ch,
                               const series_stamp *seen)
{
    if (n_ch == 0 || !seen->ok) {
        return false;
    }
    if (svc_viewer(a) == 0) {
        return true;
    }
    if (svc_viewer(a) < 0 || !rights_memo_on()) {
        return false;
    }
    return stamp_rights_known(a, ch, n_ch, seen);
}

static void raw_on(db_pool *pool, const data_read *q, data_reply *r)
{
    const svc_actor *a = q->a;
    const int64_t *ch = q->ch;
    size_t n_ch = q->n_ch, limit = q->n;
    int64_t t0 = q->t0, t1 = q->t1;
    db_conn *c = NULL;
    sbuf b = {0};
    series_col *cols = NULL;
    size_t *pos = NULL, rows = 0;
    int64_t *times = NULL, hidden = 0;
    const raw_cache_key key = {a->account_id, ch, n_ch, t0, t1, limit};
    const int64_t now = auth_now_ms();
    series_versions ver = {NULL, 0};
    raw_check *chk = NULL;
    int failure = 0;
    db_status st;
    bool more = false;
    series_stamp stamp;
    size_t stamp_len = 0;

    memset(r, 0, sizeof *r);
    /* A window kept with the account's change stamp (rawstamp): this
     * request reads the stamp itself, in the statement shared with the
     * account's requests that came before it began (the monitor's too),
     * rather than wait for a check of the window whose leader then waits
     * for that statement (issue 16, mixcpu: two sleeps in a row in the
     * route mix). The same stamp as the one kept (for this viewer, or a
     * member's right remembered at the stamp's rights version): the kept
     * reply, as a check's leader would answer. Else the check below, which
     * reads the stamp again for its followers (they may have come after
     * this one was read). */
    if (!env_switch_off(&g_raw_stamp) && raw_cache_stamp_kept(&key, now)) {
        st = monitor_stamp(pool, &c, a->account_id, &stamp);
        if (st == DB_BUSY || st == DB_UNAVAILABLE) {
            /* The check would wait as long: its answer (as the monitor's). */
            db_release(pool, c);
            fail_db(r, st);
            return;
        }
        if (st == DB_OK && stamp.ok) {
            const void *sb = series_stamp_bytes(&stamp, &stamp_len);
            if (raw_cache_stamped(&key, svc_viewer(a), raw_right_by_stamp(a, ch, n_ch, &stamp),
                                  sb, stamp_len, now, &r->kept)) {
                metrics_add(METRIC_RAW_STAMP_KEPT, 1);
                db_release(pool, c);
                svc_error_clear(&r->err);
                return;
            }
        }
        db_release(pool, c);
        c = NULL;
        stamp_len = 0;
    }
    /* A window read twice alike (raw_cache.h): who may see it and the
     * versions of its rows, checked in PostgreSQL after every request came
     * (one statement for the requests of one viewer that wait for it
     * together), then the reply made from those versions, if this process
     * has it. */
    switch (raw_cache_check(&key, svc_viewer(a), pool, now, &chk, &r->kept, &failure)) {
    case RAW_CHECK_HIT:
        svc_error_clear(&r->err);
        return;
    case RAW_CHECK_FAILED:
        /* PostgreSQL busy or unreachable for the check this request
         * waited for, begun after it came: its answer too. */
        fail_db(r, (db_status)failure);
        return;
    case RAW_CHECK_READ:
        break;
    case RAW_CHECK_LEAD:
        if (!env_switch_off(&g_raw_stamp)) {
            /* The account's change stamp first (issue 16, rawstamp): the
             * monitor's pre-check, shared with the requests of the account
             * that came before it began (monitor or raw). The check is
             * started first, so every request it answers came before the
             * stamp's statement began. The same stamp as the one kept with
             * the entry for this viewer (or for another, when this
             * member's right is remembered at the stamp's rights version:
             * raw_right_by_stamp()): nothing the day or the viewer's right
             * depends on changed, no versions statement. */
            raw_check_start(chk);
            if (monitor_stamp(pool, &c, a->account_id, &stamp) == DB_OK && stamp.ok) {
                const void *sb = series_stamp_bytes(&stamp, &stamp_len);
                if (raw_check_stamped(chk, &key, svc_viewer(a),
                                      raw_right_by_stamp(a, ch, n_ch, &stamp), sb, stamp_len, now,
                                      &r->kept)) {
                    metrics_add(METRIC_RAW_STAMP_KEPT, 1);
                    db_release(pool, c);
                    svc_error_clear(&r->err);
                    return;
                }
            } else {
                stamp_len = 0;
            }
        }
        if (c == NULL && (st = db_acquire(pool, DB_WAIT_MS, &c)) != DB_OK) {
            raw_check_fail(chk, st);
            fail_db(r, st);
            return;
        }
        raw_check_start(chk);
        metrics_add(METRIC_RAW_STAMP_CHECKED, 1);
        st = series_versions_visible(c, a->account_id, svc_viewer(a), ch, n_ch, t0, t1, &hidden,
                                     &ver);
        if (st == DB_UNAVAILABLE) {
            raw_check_fail(chk, st);
            db_release(pool, c);
            free(ver.p);
            fail_db(r, st);
            return;
        }
        if (raw_check_end_stamped(chk, &key, st == DB_OK && hidden == 0, ver.p, ver.len,
                                  svc_viewer(a), stamp_len ? stamp.row : NULL, stamp_len, now,
                                  &r->kept)) {
            db_release(pool, c);
            free(ver.p);
            svc_error_clear(&r->err);
            return;
        }
        free(ver.p);
        ver.p = NULL;
        if (read_failed(r, st, hidden)) {
            goto out;
        }
        break;
    }
    if (c == NULL && (st = db_acquire(pool, DB_WAIT_MS, &c)) != DB_OK) {
        fail_db(r, st);
        return;
    }
    cols = calloc(n_ch, sizeof *cols);
    pos = calloc(n_ch, sizeof *pos);
    times = malloc(limit * sizeof *times);
    if (cols == NULL || pos == NULL || times == NULL) {
        fail(r, SVC_NOMEM, NULL, NULL, "the server is out of memory: retry");
        goto out;
    }
    /* Who may see what and the samples in one statement (issue 16: three
     * round trips were a third of the route's CPU); the connection goes
     * back before the answer is written. */
    st = series_read_visible(c, a->account_id, svc_viewer(a), ch, n_ch, t0, t1, cols, &hidden,
                             &ver);
    db_release(pool, c);
    c = NULL;
    if (read_failed(r, st, hidden)) {
        goto out;
    }
    /* The first "limit" distinct times of all channels. */
    for (;;) {
        int64_t next = INT64_MAX;
        for (size_t i = 0; i < n_ch; i++) {
            if (pos[i] < cols[i].n && cols[i].t[pos[i]] < next) {
                next = cols[i].t[pos[i]];
            }
        }
        if (next == INT64_MAX) {
            break;
        }
        if (rows == limit) {
            more = true;
            break;
        }
        times[rows++] = next;
        for (size_t i = 0; i < n_ch; i++) {
            if (pos[i] < cols[i].n && cols[i].t[pos[i]] == next) {
                pos[i]++;
            }
        }
    }
    sb_printf(&b, "{\"from\":%lld,\"to\":%lld,\"t\":[", (long long)t0, (long long)t1);
    /* Not printf, nor a call per number (a raw day is 1,440 of each). */
    sb_times(&b, times, rows);
    sb_put(&b, "],\"channels\":[");
    for (size_t i = 0; i < n_ch; i++) {
        size_t p = 0;
        char *o;
        sb_printf(&b, "%s{\"id\":%lld,\"v\":[", i ? "," : "", (long long)ch[i]);
        sb_reserve(&b, rows * (VALUE_TEXT_MAX + 1));
        if (b.failed) {
            break;
        }
        o = b.p + b.len;
        for (size_t k = 0; k < rows; k++) {
            if (k) {
                *o++ = ',';
            }
            if (p < cols[i].n && cols[i].t[p] == times[k]) {
                o = put_value(o, cols[i].v[p++]);
            } else {
                memcpy(o, "null", 4);
                o += 4;
            }
        }
        b.len = (size_t)(o - b.p);
        b.p[b.len] = '\0';
        sb_put(&b, "]}");
    }
    if (more) {
        sb_printf(&b, "],\"next\":%lld}", (long long)(times[rows - 1] + 1));
    } else {
        sb_put(&b, "],\"next\":null}");
    }
    ok(r, &b);
    b.p = NULL;
    if (r->err.status == SVC_OK) {
        raw_cache_put(&key, ver.p, ver.len, now, r->json, r->len);
    }
out:
    db_release(pool, c);
    free(ver.p);
    free(b.p);
    for (size_t i = 0; cols != NULL && i < n_ch; i++) {
        series_col_free(&cols[i]);
    }
    free(cols);
    free(pos);
    free(times);
}

static void raw_r(srv *s, const svc_actor *a, const int64_t *ch, size_t n_ch, int64_t t0,
                  int64_t t1, size_t limit, data_reply *r)
{
    const data_read q = {a, ch, n_ch, t0, t1, limit, false};
    read_somewhere(s, raw_on, &q, r);
}

svc_status svc_data_raw(srv *s, const svc_actor *a, const int64_t *ch, size_t n_ch, int64_t t0,
                        int64_t t1, size_t limit, char **json, size_t *room, size_t *len,
                        raw_reply **kept, svc_error *e)
{
    data_reply r;
    memset(&r, 0, sizeof r);
    raw_r(s, a, ch, n_ch, t0, t1, limit, &r);
    *room = r.err.status == SVC_OK ? r.room : 0;
    *kept = r.err.status == SVC_OK ? r.kept : NULL;
    if (*kept == NULL && r.kept != NULL) {
        raw_reply_drop(r.kept);
    }
    return reply_out(&r, json, len, e);
}

/* ----------------------------------------------------------- monitor */

/* Append "v" in decimal as sb_i64() writes it, two digits at a time
 * (digits_before(): a monitor writes a 16-digit time per channel, and
 * sb_i64()'s digit at a time was a tenth of its instructions, issue 16). */
static void sb_i64_pairs(sbuf *b, int64_t v)
{
    char tmp[24], *end = tmp + sizeof tmp, *d;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    d = digits_before(end, u);
    if (v < 0) {
        *--d = '-';
    }
    sb_add(b, d, (size_t)(end - d));
}

/* {"t":µs,"v":value or the special value's name}. */
static void latest_write(sbuf *b, int64_t t, double v)
{
    mt_sv kind = mt_sv_kind(v);
    char text[32];
    sb_add(b, "{\"t\":", 5);
    sb_i64_pairs(b, t);
    sb_add(b, ",\"v\":", 5);
    if (kind != MT_SV_NONE) {
        sb_json_str(b, mt_sv_name(kind));
    } else if (v != v || v - v != 0) {
        sb_put(b, "null"); /* not a number, nor a special value: as cJSON printed it */
    } else {
        sb_add(b, text, format_double(v, text));
    }
    sb_add(b, "}", 1);
}

/* A group's monitor is written from two parts (issue 16: the route read
 * the whole group, with its names and units as text, on every refresh):
 *   - its structure (apps, devices, channels: names, units, decimals,
 *     selection, computed expressions, and that the user may see the
 *     group), remembered per user and group (reply_cache.h, REPLY_MONITOR)
 *     as GET /devices is: it ends with every API write of the account in
 *     this process and every change PostgreSQL announces for the account
 *     (migrations 012, 031 and 036);
 *   - what changes with every batch (the apps' connection state and last
 *     contact, each channel's newest value), read on every request in one
 *     round trip (series_read_monitor()).
 * The structure is one blob: a mon_head, the app ids, the channel ids, the
 * offsets in the text of its marks (uint32_t each, in order), then the
 * reply's JSON text with a MON_APP byte where the next app's connection
 * state goes and a MON_VALUE byte where the next channel's newest value
 * goes (the text never holds these bytes otherwise: JSON strings escape
 * every control character). */
#define MON_APP '\x01'
#define MON_VALUE '\x02'

typedef struct {
    int64_t group_id;
    uint32_t n_apps, n_ch;
    uint32_t n_computed; /* the last n_computed channels are computed ones */
    uint32_t n_marks;    /* MON_APP and MON_VALUE bytes in the text */
} mon_head;

/* A blob taken apart: ids copied out, the text borrowed from the blob. */
typedef struct {
    series_monitor_app *apps; /* one block with "ch" and "val" */
    size_t n_apps;
    int64_t *ch;
    series_monitor_value *val; /* n_ch: what the values read gives */
    size_t n_ch;
    size_t n_measured; /* ch[0..n_measured): measured; the rest computed */
    const char *marks;  /* n_marks uint32_t offsets of the marks in "text" */
    size_t n_marks;
    const char *text; /* NUL-terminated */
    size_t text_len;
} mon_shape;

/* Where the monitor's writer is: which app and device are open (their
 * JSON objects not yet closed). */
typedef struct {
    long long app; /* -1: none */
    long long dev; /* -1: none */
    bool any_app;
    bool any_chan; /* in the open device's (or the computed) channel list */
    int64_t *apps; /* the ids of the apps written so far */
    size_t n_apps;
} monitor_pos;

/* Close the open device and app (as far as "to_app" asks). */
static void monitor_close(sbuf *b, monitor_pos *p, bool to_app)
{
    if (p->dev >= 0) {
        sb_put(b, "]}"); /* channels, device */
        p->dev = -1;
    }
    if (to_app && p->app >= 0) {
        sb_put(b, "]}"); /* devices, app */
        p->app = -1;
    }
}

/* Opens the app and the device of monitor row "m" when they differ from the
 * previous row's (rows come ordered by app, device, channel). A row
 * without a device (device_id 0) opens only its app. */
static void monitor_app_device(sbuf *b, const db_monitor_row *m, monitor_pos *p)
{
    if (m->app_id != p->app) {
        monitor_close(b, p, true);
        if (p->any_app) {
            sb_add(b, ",", 1);
        }
        p->any_app = true;
        sb_put(b, "{\"id\":");
        sb_i64(b, m->app_id);
        sb_put(b, ",\"name\":");
        sb_json_str(b, m->app_name != NULL ? m->app_name : "");
        sb_put(b, ",\"kind\":");
        sb_json_str(b, m->app_kind != NULL ? m->app_kind : "");
        sb_put(b, m->app_enabled ? ",\"enabled\":true" : ",\"enabled\":false");
        sb_add(b, "\x01", 1); /* MON_APP: ,"connected":..,"last_seen_at":.. */
        sb_put(b, ",\"devices\":[");
        p->apps[p->n_apps++] = m->app_id;
        p->app = m->app_id;
        p->dev = -1;
    }
    if (m->device_id > 0 && m->device_id != p->dev) {
        bool first = p->dev < 0;
        monitor_close(b, p, false);
        if (!first) {
            sb_add(b, ",", 1);
        }
        sb_put(b, "{\"id\":");
        sb_i64(b, m->device_id);
        sb_put(b, ",\"model\":");
        sb_json_str(b, m->device_model != NULL ? m->device_model : "");
        sb_put(b, ",\"serial\":");
        sb_json_str(b, m->device_serial != NULL ? m->device_serial : "");
        sb_put(b, ",\"name\":");
        sb_json_str(b, m->device_name != NULL ? m->device_name : "");
        sb_put(b, ",\"channels\":[");
        p->dev = m->device_id;
        p->any_chan = false;
    }
}

/* The structure blob of group "group_id" from its monitor rows (apps first
 * by app, device, channel; computed channels last), into *blob (malloc'd)
 * of *len bytes. Returns 0, or -1 when out of memory. */
static int monitor_shape_blob(long long group_id, const db_monitor_row *rows, size_t n_rows,
                              char **blob, size_t *len)
{
    sbuf b = {0};
    monitor_pos pos = {-1, -1, false, false, NULL, 0};
    int64_t *ch = malloc((n_rows + 1) * sizeof *ch);
    size_t n_ch = 0, n_computed = 0;
    bool in_computed = false;
    mon_head h;
    char *out = NULL;
    int rc = -1;

    pos.apps = malloc((n_rows + 1) * sizeof *pos.apps);
    if (ch == NULL || pos.apps == NULL) {
        goto done;
    }
    sb_put(&b, "{\"group_id\":");
    sb_i64(&b, group_id);
    sb_put(&b, ",\"apps\":[");
    for (size_t i = 0; i < n_rows; i++) {
        const db_monitor_row *m = &rows[i];
        if (m->channel_id <= 0) {
            /* An app without devices or a device without channels yet. */
            monitor_app_device(&b, m, &pos);
            continue;
        }
        if (m->computed) {
            if (!in_computed) {
                monitor_close(&b, &pos, true);
                sb_put(&b, "],\"computed\":[");
                in_computed = true;
                pos.any_chan = false;
            }
        } else {
            monitor_app_device(&b, m, &pos);
        }
        if (pos.any_chan) {
            sb_add(&b, ",", 1);
        }
        pos.any_chan = true;
        sb_put(&b, "{\"id\":");
        sb_i64(&b, m->channel_id);
        sb_put(&b, ",\"key\":");
        sb_json_str(&b, m->ch_key != NULL ? m->ch_key : "");
        sb_put(&b, ",\"name\":");
        sb_json_str(&b, m->ch_name != NULL ? m->ch_name : "");
        sb_put(&b, ",\"unit\":");
        sb_json_str(&b, m->unit != NULL ? m->unit : "");
        sb_put(&b, ",\"decimals\":");
        if (m->decimals >= 0) {
            sb_i64(&b, m->decimals);
        } else {
            sb_put(&b, "null");
        }
        sb_put(&b, m->selected ? ",\"selected\":true" : ",\"selected\":false");
        sb_put(&b, ",\"latest\":\x02"); /* MON_VALUE */
        ch[n_ch++] = m->channel_id;
        n_computed = m->computed ? n_computed + 1 : 0; /* only a list's tail counts */
        if (m->computed) {
            sb_put(&b, ",\"expression\":");
            sb_json_str(&b, m->expression != NULL ? m->expression : "");
        }
        sb_add(&b, "}", 1);
    }
    if (!in_computed) {
        monitor_close(&b, &pos, true);
        sb_put(&b, "],\"computed\":[");
    }
    sb_put(&b, "]}");
    if (b.failed) {
        goto done;
    }
    memset(&h, 0, sizeof h);
    h.group_id = group_id;
    h.n_apps = (uint32_t)pos.n_apps;
    h.n_ch = (uint32_t)n_ch;
    h.n_computed = (uint32_t)n_computed;
    for (size_t i = 0; i < b.len; i++) {
        h.n_marks += b.p[i] == MON_APP || b.p[i] == MON_VALUE;
    }
    *len = sizeof h + (pos.n_apps + n_ch) * sizeof(int64_t) + h.n_marks * sizeof(uint32_t) +
           b.len;
    if ((out = malloc(*len + 1)) == NULL) {
        goto done;
    }
    memcpy(out, &h, sizeof h);
    memcpy(out + sizeof h, pos.apps, pos.n_apps * sizeof(int64_t));
    memcpy(out + sizeof h + pos.n_apps * sizeof(int64_t), ch, n_ch * sizeof(int64_t));
    {
        /* Where the marks are: the reply is then written without
         * searching the text for them (issue 16). */
        char *mark = out + sizeof h + (pos.n_apps + n_ch) * sizeof(int64_t);
        for (uint32_t i = 0; i < (uint32_t)b.len; i++) {
            if (b.p[i] == MON_APP || b.p[i] == MON_VALUE) {
                memcpy(mark, &i, sizeof i);
                mark += sizeof i;
            }
        }
        memcpy(mark, b.p, b.len);
    }
    out[*len] = '\0';
    *blob = out;
    rc = 0;
done:
    free(b.p);
    free(pos.apps);
    free(ch);
    return rc;
}

_Static_assert(sizeof(series_monitor_app) % _Alignof(series_monitor_value) == 0 &&
                   _Alignof(series_monitor_value) <= _Alignof(int64_t) &&
                   _Alignof(int64_t) <= _Alignof(series_monitor_app),
               "mon_shape's block: each array aligned after the one before");

static void monitor_shape_free(mon_shape *s)
{
    free(s->apps);
    memset(s, 0, sizeof *s);
}

/* Take blob "blob" ("len" bytes, NUL-terminated) of group "group_id"
 * apart into "s" (its arrays in one malloc'd block, with room for the
 * values: monitor_shape_free()). Returns 0, or -1 (out of memory, or not
 * a blob of that group). */
static int monitor_shape_parse(const char *blob, size_t len, long long group_id, mon_shape *s)
{
    mon_head h;
    size_t ids, marks;
    memset(s, 0, sizeof *s);
    if (len < sizeof h) {
        return -1;
    }
    memcpy(&h, blob, sizeof h);
    ids = ((size_t)h.n_apps + h.n_ch) * sizeof(int64_t);
    marks = (size_t)h.n_marks * sizeof(uint32_t);
    if (h.group_id != group_id || len - sizeof h < ids + marks || h.n_computed > h.n_ch) {
        return -1;
    }
    /* One block (issue 16: three allocations a request): the apps (set
     * to zero), then the channels' ids and their values (sizes that keep
     * each array aligned: both structs hold 64-bit members). */
    s->apps = calloc(1, ((size_t)h.n_apps + 1) * sizeof *s->apps +
                            ((size_t)h.n_ch + 1) * (sizeof *s->ch + sizeof *s->val));
    if (s->apps == NULL) {
        memset(s, 0, sizeof *s);
        return -1;
    }
    s->ch = (int64_t *)(void *)(s->apps + h.n_apps + 1);
    s->val = (series_monitor_value *)(void *)(s->ch + h.n_ch + 1);
    s->n_apps = h.n_apps;
    s->n_ch = h.n_ch;
    s->n_measured = h.n_ch - h.n_computed;
    for (size_t i = 0; i < s->n_apps; i++) {
        memcpy(&s->apps[i].id, blob + sizeof h + i * sizeof(int64_t), sizeof(int64_t));
    }
    memcpy(s->ch, blob + sizeof h + s->n_apps * sizeof(int64_t), s->n_ch * sizeof(int64_t));
    s->marks = blob + sizeof h + ids;
    s->n_marks = h.n_marks;
    s->text = blob + sizeof h + ids + marks;
    s->text_len = len - sizeof h - ids - marks;
    /* Each mark inside the text, in order. */
    for (size_t k = 0, at = 0; k < s->n_marks; k++) {
        uint32_t o;
        memcpy(&o, s->marks + k * sizeof o, sizeof o);
        if (o < at || o >= s->text_len) {
            monitor_shape_free(s);
            return -1;
        }
        at = (size_t)o + 1;
    }
    return 0;
}

/* ,"connected":..,"last_seen_at":"YYYY-MM-DDTHH:MM:SSZ" or null (seconds
 * cut, as PostgreSQL's to_char() wrote it). */
static void monitor_app_state(sbuf *b, const series_monitor_app *m)
{
    sb_put(b, m->found && m->connected ? ",\"connected\":true" : ",\"connected\":false");
    sb_put(b, ",\"last_seen_at\":");
    if (m->found && m->seen) {
        int64_t s = m->seen_us / 1000000 - (m->seen_us % 1000000 < 0 ? 1 : 0);
        int64_t day = s / 86400 - (s % 86400 < 0 ? 1 : 0), sec = s - day * 86400;
        int year, month, dom;
        mt_cal_to_civil((mt_day)day, &year, &month, &dom);
        if (year >= 0 && year <= 9999) {
            /* Two digits at a time (snprintf() was 3 k instructions). */
            char text[24];
            int hh = (int)(sec / 3600), mm = (int)(sec / 60 % 60), ss = (int)(sec % 60);
            text[0] = '"';
            memcpy(text + 1, digit_pairs + 2 * (year / 100), 2);
            memcpy(text + 3, digit_pairs + 2 * (year % 100), 2);
            text[5] = '-';
            memcpy(text + 6, digit_pairs + 2 * month, 2);
            text[8] = '-';
            memcpy(text + 9, digit_pairs + 2 * dom, 2);
            text[11] = 'T';
            memcpy(text + 12, digit_pairs + 2 * hh, 2);
            text[14] = ':';
            memcpy(text + 15, digit_pairs + 2 * mm, 2);
            text[17] = ':';
            memcpy(text + 18, digit_pairs + 2 * ss, 2);
            text[20] = 'Z';
            text[21] = '"';
            sb_add(b, text, 22);
        } else {
            char text[48];
            sb_add(b, text,
                   (size_t)snprintf(text, sizeof text, "\"%04d-%02d-%02dT%02d:%02d:%02dZ\"",
                                    year, month, dom, (int)(sec / 3600), (int)(sec / 60 % 60),
                                    (int)(sec % 60)));
        }
    } else {
        sb_put(b, "null");
    }
}

/* A channel's newest value: the newer of its channel_latest row and its
 * newest hot sample (equal times: the hot one, the later arrival). */
static void monitor_value(sbuf *b, const series_monitor_value *m)
{
    int64_t lt = 0;
    double lv = 0;
    bool has = false;
    if (m->latest) {
        lt = m->latest_t;
        lv = m->latest_special ? mt_sv_value((mt_sv)m->latest_special) : m->latest_v;
        has = true;
    }
    if (m->hot && (!has || m->hot_t >= lt)) {
        lt = m->hot_t;
        lv = m->hot_v;
        has = true;
    }
    if (has) {
        latest_write(b, lt, lv);
    } else {
        sb_put(b, "null");
    }
}

/* The reply: the shape's text with the apps' state and the channels'
 * values written in. */
static void monitor_write(sbuf *b, const mon_shape *s, const series_monitor_value *v)
{
    size_t ia = 0, ic = 0, at = 0;
    for (size_t k = 0; k < s->n_marks; k++) {
        uint32_t o;
        memcpy(&o, s->marks + k * sizeof o, sizeof o);
        sb_add(b, s->text + at, o - at);
        if (s->text[o] == MON_APP) {
            if (ia < s->n_apps) {
                monitor_app_state(b, &s->apps[ia++]);
            }
        } else if (ic < s->n_ch) {
            monitor_value(b, &v[ic++]);
        }
        at = (size_t)o + 1;
    }
    sb_add(b, s->text + at, s->text_len - at);
}

/* The epoch of a remembered structure (as devices_epoch() in
 * svc_apps_read.c): a sum of epochs that only grow. */
static unsigned long long monitor_epoch(long long account_id)
{
    return auth_state_epoch() + auth_account_epoch(account_id) +
           auth_account_state_epoch(account_id);
}

/* Whether the actor may see group "group_id" (*visible), read now; a
 * member's answer is remembered with the version of the account's rights
 * it was read at (rights_memo.h, keyed by minus the group's id), for
 * monitor_right_holds(). */
static db_status monitor_right(db_conn *c, const svc_actor *a, long long group_id, bool *visible)
{
    long long viewer = svc_viewer(a);
    int64_t version = 0, start = 0;
    db_status st;
    if (viewer <= 0) {
        return db_group_visible(c, a->account_id, viewer, group_id, visible);
    }
    st = db_group_visible_v(c, a->account_id, viewer, group_id, visible, &version, &start);
    if (st == DB_OK && *visible) {
        rights_memo_put(a->account_id, viewer, -(int64_t)group_id, version, start);
    }
    return st;
}

/* Whether a member's right to see group "group_id", remembered with the
 * structure of its monitor, still holds by the account's stamp "seen" read
 * after this request came (SERIES_STAMP_RIGHTS and SERIES_STAMP_START, the
 * same as when the right was read): no change of rights committed since
 * (087's triggers), so the right is the one read then. False when the stamp
 * was not read in this request, or moved: the right is read again. */
static bool monitor_right_holds(const svc_actor *a, long long group_id, const series_stamp *seen)
{
    int64_t neg = -(int64_t)group_id;
    return seen->ok && stamp_rights_known(a, &neg, 1, seen);
}

/* Read the structure of the group (after checking that the actor may see
 * it) into *blob (*len bytes), and remember it for a signed-in user. */
static void monitor_shape_read(db_conn *c, const svc_actor *a, long long group_id,
                               const reply_key *key, char **blob, size_t *len, data_reply *r)
{
    unsigned long long epoch = monitor_epoch(a->account_id); /* before the read */
    int64_t now_ms = auth_now_ms();
    db_monitor_row *rows = NULL;
    int n_rows = 0;
    bool visible = false;
    db_status st;
    if ((st = monitor_right(c, a, group_id, &visible)) != DB_OK) {
        fail_db(r, st);
        return;
    }
    if (!visible) {
        fail(r, SVC_NOT_FOUND, "not_found", NULL, "no such measurement group");
        return;
    }
    if ((st = db_group_monitor(c, a->account_id, group_id, &rows, &n_rows)) != DB_OK) {
        fail_db(r, st);
        return;
    }
    if (monitor_shape_blob(group_id, rows, (size_t)n_rows, blob, len) != 0) {
        fail(r, SVC_NOMEM, NULL, NULL, "the server is out of memory: retry");
    } else if (key != NULL) {
        reply_cache_put(key, epoch, now_ms, *blob, *len);
    }
    db_monitor_rows_free(rows, n_rows);
}

/* The key of the values read of "shape" in account "account_id" on pool
 * "pool" (shared_read.h): what series_read_monitor() is given, so that
 * requests of one group's monitor share it whoever asks (each request
 * checked the asker's right to see the group before it joins). In "buf"
 * ("cap" bytes) when it fits, else malloc'd (the caller frees a key that
 * is not "buf"); NULL without memory. */
static unsigned char *monitor_values_key(const void *pool, long long account_id,
                                         const mon_shape *shape, unsigned char *buf, size_t cap,
                                         size_t *len)
{
    int64_t head[5] = {0x6d6f6e76 /* "monv" */, (int64_t)(intptr_t)pool, account_id,
                       (int64_t)shape->n_apps, (int64_t)shape->n_measured};
    size_t n = sizeof head + (shape->n_apps + shape->n_ch) * sizeof(int64_t);
    unsigned char *key = n <= cap ? buf : malloc(n), *p = key;
    if (key == NULL) {
        return NULL;
    }
    memcpy(p, head, sizeof head);
    p += sizeof head;
    for (size_t i = 0; i < shape->n_apps; i++, p += sizeof(int64_t)) {
        memcpy(p, &shape->apps[i].id, sizeof(int64_t));
    }
    memcpy(p, shape->ch, shape->n_ch * sizeof(int64_t));
    *len = n;
    return key;
}

/* The reply: the shape's text with the apps' state and the channels'
 * values written in, into "b". */
static void monitor_reply(sbuf *b, const mon_shape *s, const series_monitor_value *v)
{
    sb_reserve(b, s->text_len + 64 * (s->n_apps + s->n_ch) + 1);
    monitor_write(b, s, v);
}

/* A values read's result as its followers take it (shared_read.h) and as
 * it is kept (monitor_cache.h): the leader's reply text and a NUL, the apps
 * and the values as series_read_monitor() left them, the leader's structure
 * blob, then this footer; or the footer alone after a failure its followers
 * share. A follower (or a later request) whose blob is the leader's, byte
 * for byte, answers with the leader's text: a reply is a function of the
 * blob and the values, and writing it again was about half of each
 * follower's instructions (issue 16). Any other writes its own from the
 * values. reply_len and blob_len are 0 when the leader shares the values
 * only. */
typedef struct {
    int32_t status;
    uint32_t reply_len;
    uint32_t blob_len;
} mon_shared;

/* A reply into "b" from the result "p" ("n" bytes) of a read of the values
 * of "shape" (blob "blob" of "blob_len" bytes): the read's status. */
static db_status monitor_take(const char *p, size_t n, mon_shape *shape,
                              series_monitor_value *val, const char *blob, size_t blob_len,
                              sbuf *b)
{
    size_t apps_len = shape->n_apps * sizeof *shape->apps, vals_len = shape->n_ch * sizeof *val;
    const char *at;
    mon_shared f;
    if (n < sizeof f) {
        return DB_ERROR; /* cannot be */
    }
    memcpy(&f, p + n - sizeof f, sizeof f);
    if (f.status != DB_OK) {
        return n == sizeof f ? (db_status)f.status : DB_ERROR;
    }
    if (n != (size_t)f.reply_len + 1 + apps_len + vals_len + f.blob_len + sizeof f) {
        return DB_ERROR; /* cannot be: the same key reads the same sizes */
    }
    at = p + f.reply_len + 1;
    if (f.blob_len > 0 && f.blob_len == blob_len &&
        memcmp(at + apps_len + vals_len, blob, blob_len) == 0) {
        sb_add(b, p, f.reply_len);
        return DB_OK;
    }
    memcpy(shape->apps, at, apps_len);
    memcpy(val, at + apps_len, vals_len);
    monitor_reply(b, shape, val);
    return DB_OK;
}

/* The result of a read of the values of "shape" with status "st" (its
 * reply "b" from "room" bytes on, when whole; the values; its blob), as
 * monitor_take() reads it: a new body (one reference, the caller's), or
 * NULL without memory or after a failure its followers should not share
 * (a busy or unreachable PostgreSQL is shared: each of them would wait as
 * long again; after another failure each reads alone). */
static moncache_body *monitor_result(db_status st, const mon_shape *shape,
                                     const series_monitor_value *val, const char *blob,
                                     size_t blob_len, const sbuf *b, size_t room)
{
    size_t apps_len = shape->n_apps * sizeof *shape->apps, vals_len = shape->n_ch * sizeof *val;
    size_t n = sizeof(mon_shared);
    mon_shared f = {(int32_t)st, 0, 0};
    moncache_body *x;
    char *p;
    if (st == DB_OK) {
        if (!b->failed && b->len >= room &&
            b->len - room + 1 + apps_len + vals_len + blob_len + n <= MONCACHE_MAX_BODY) {
            f.reply_len = (uint32_t)(b->len - room);
            f.blob_len = (uint32_t)blob_len;
        }
        n += (size_t)f.reply_len + 1 + apps_len + vals_len + f.blob_len;
    } else if (st != DB_BUSY && st != DB_UNAVAILABLE) {
        return NULL;
    }
    if ((x = moncache_body_new(n, (void **)&p)) != NULL) {
        if (st == DB_OK) {
            if (f.reply_len > 0) {
                memcpy(p, b->p + room, f.reply_len);
            }
            p[f.reply_len] = '\0';
            memcpy(p + f.reply_len + 1, shape->apps, apps_len);
            memcpy(p + f.reply_len + 1 + apps_len, val, vals_len);
            memcpy(p + f.reply_len + 1 + apps_len + vals_len, blob, f.blob_len);
        }
        memcpy(p + n - sizeof f, &f, sizeof f);
    }
    return x;
}

/* Pre-checks of one account's stamp shared by the requests that come while
 * one has not begun, with the window of sread_join_gathered() (shared_read.h;
 * METRON_MONITOR_STAMP_SHARE=0: each request reads its own). */
static env_switch g_stamp_share = ENV_SWITCH("METRON_MONITOR_STAMP_SHARE");

/* The change stamp of account "account_id" (series_monitor_stamp()), read
 * after this request came: in a statement shared with the requests of the
 * account that came before it began, or alone. *c is the caller's
 * connection or NULL (one is then taken when this request reads, and kept
 * for the read that follows a stamp that moved). */
static db_status monitor_stamp(db_pool *pool, db_conn **c, long long account_id,
                               series_stamp *stamp)
{
    int64_t key[3] = {0x6d737461 /* "msta" */, (int64_t)(intptr_t)pool, account_id};
    sread *rd = NULL;
    void *res = NULL;
    size_t res_len = 0;
    sread_role role = SREAD_ALONE;
    db_status st;
    if (*c == NULL && !env_switch_off(&g_stamp_share)) {
        role = sread_join_gathered(key, sizeof key, &rd, &res, &res_len);
    }
    if (role == SREAD_SHARED) {
        st = res_len == sizeof *stamp ? DB_OK : DB_ERROR;
        if (st == DB_OK) {
            memcpy(stamp, res, sizeof *stamp);
        }
        free(res);
        return st;
    }
    st = *c != NULL ? DB_OK : db_acquire(pool, DB_WAIT_MS, c);
    if (st == DB_OK) {
        if (rd != NULL) {
            sread_start(rd);
        }
        st = series_monitor_stamp(*c, account_id, stamp);
    }
    if (rd != NULL) {
        sread_end(rd, st == DB_OK ? stamp : NULL, st == DB_OK ? sizeof *stamp : 0);
    }
    return st;
}

/* Read what changes with every batch of the monitor of "shape" (of blob
 * "blob", "blob_len" bytes) and write the reply into "b" (after its first
 * "room" bytes, already there): from the values kept with the account's
 * change stamp when the stamp read now is theirs (monitor_cache.h, issue
 * 16: no monitor row read); else in one read shared with the requests of
 * the same values that came before it began (shared_read.h), or alone, the
 * stamp read with it and the values kept. *c is the caller's connection or
 * NULL (one is then taken when this request reads); it is released before
 * the reply is written. Returns the read's status (the reply is written
 * when DB_OK, unless b->failed). */
static db_status monitor_values(srv *s, db_conn **c, long long account_id, mon_shape *shape,
                                series_monitor_value *val, const char *blob, size_t blob_len,
                                sbuf *b, size_t room, series_stamp *seen)
{
    size_t key_len = 0;
    unsigned char buf[1024]; /* a group of up to 120 apps and channels */
    unsigned char *key = monitor_values_key(s->pool, account_id, shape, buf, sizeof buf, &key_len);
    sread *rd = NULL;
    sread_result *x = NULL;
    sread_role role = SREAD_ALONE;
    series_stamp stamp;
    moncache_body *kept = NULL;
    int64_t now_ms = auth_now_ms();
    db_status st;
    stamp.ok = false;
    seen->ok = false;
    /* Kept values read twice alike: the stamp first. */
    if (key != NULL && moncache_stable(key, key_len, now_ms)) {
        size_t stamp_len = 0;
        const void *sb;
        st = monitor_stamp(s->pool, c, account_id, &stamp);
        if (st == DB_BUSY || st == DB_UNAVAILABLE) {
            goto out; /* the read would wait as long */
        }
        if (st == DB_OK && stamp.ok) {
            *seen = stamp;
            sb = series_stamp_bytes(&stamp, &stamp_len);
            kept = moncache_get(key, key_len, sb, stamp_len, now_ms);
        }
        if (kept != NULL) {
            size_t n = 0;
            const char *p = moncache_body_data(kept, &n);
            db_release(s->pool, *c);
            *c = NULL;
            st = monitor_take(p, n, shape, val, blob, blob_len, b);
            moncache_body_drop(kept);
            metrics_add(METRIC_MONITOR_KEPT, 1);
            goto out;
        }
        metrics_add(METRIC_MONITOR_MOVED, 1);
    }
    /* A request that holds a connection already (it read the group's
     * structure, or a stamp that moved) reads alone: it never waits on
     * another holding it. */
    if (key != NULL && *c == NULL) {
        role = sread_join_ref(key, key_len, &rd, &x);
    }
    if (role == SREAD_SHARED) {
        size_t n = 0;
        const char *p = sread_result_data(x, &n);
        st = monitor_take(p, n, shape, val, blob, blob_len, b);
        sread_result_drop(x);
        goto out;
    }
    st = *c != NULL ? DB_OK : db_acquire(s->pool, DB_WAIT_MS, c);
    if (st == DB_OK) {
        if (rd != NULL) {
            sread_start(rd);
        }
        st = series_read_monitor(*c, account_id, shape->apps, shape->n_apps, shape->ch,
                                 shape->n_ch, shape->n_measured, val,
                                 key != NULL && moncache_on() ? &stamp : NULL);
    }
    db_release(s->pool, *c);
    *c = NULL;
    metrics_add(METRIC_MONITOR_READ, 1);
    if (st == DB_OK && stamp.ok) {
        *seen = stamp;
    }
    /* Written straight as text (issue 16: a cJSON tree of a 32-channel
     * group was a quarter of the route's CPU in malloc and free). */
    if (st == DB_OK) {
        monitor_reply(b, shape, val);
    }
    if (rd != NULL || (st == DB_OK && stamp.ok)) {
        moncache_body *r = monitor_result(st, shape, val, blob, blob_len, b, room);
        if (r != NULL && st == DB_OK && stamp.ok) {
            size_t stamp_len = 0;
            const void *sb = series_stamp_bytes(&stamp, &stamp_len);
            moncache_put(key, key_len, sb, stamp_len, now_ms, r);
        }
        if (rd != NULL) {
            size_t n = 0;
            const void *p = r != NULL ? moncache_body_data(r, &n) : NULL;
            x = r != NULL ? sread_result_wrap(p, n, moncache_body_release, moncache_body_ref(r))
                          : NULL;
            if (r != NULL && x == NULL) {
                moncache_body_drop(r); /* the reference taken for the wrap */
            }
            sread_end_result(rd, x);
        }
        moncache_body_drop(r);
    }
out:
    if (key != buf) {
        free(key);
    }
    return st;
}

/* METRON_MONITOR_SHARE=0: every request that misses the remembered
 * structure reads it alone. */
static env_switch g_monitor_share = ENV_SWITCH("METRON_MONITOR_SHARE");

/* What the structure's read needs (reply_share.h): the connection it takes
 * stays in *c for the values' read. */
typedef struct {
    srv *s;
    const svc_actor *a;
    long long group_id;
    const reply_key *key;
    db_conn **c;
    data_reply *r;
} monitor_shape_ctx;

static bool monitor_shape_read_fn(void *ctx, sread *rd, char **blob, size_t *len)
{
    monitor_shape_ctx *m = ctx;
    db_status st;
    if (*m->c == NULL && (st = db_acquire(m->s->pool, DB_WAIT_MS, m->c)) != DB_OK) {
        fail_db(m->r, st);
        return false;
    }
    reply_share_start(rd);
    monitor_shape_read(*m->c, m->a, m->group_id, m->key, blob, len, m->r);
    return *blob != NULL;
}

static void monitor_r(srv *s, const svc_actor *a, long long group_id, data_reply *r)
{
    db_conn *c = NULL;
    reply_key key = {REPLY_MONITOR, a->account_id, a->user_id,
                     (a->role & 31) * 2 + (a->admin ? 1 : 0), group_id};
    /* Actors that are not a signed-in user are read every time. */
    const reply_key *remember = a->user_id > 0 ? &key : NULL;
    /* The remembered structure itself (held), or one read now (own). */
    reply_body *held = NULL;
    char *own = NULL;
    const char *blob = NULL;
    size_t blob_len = 0;
    mon_shape shape = {0};
    sbuf b = {0};
    series_stamp seen;
    bool due = false;
    db_status st;

    memset(r, 0, sizeof *r);
    seen.n = 0;
    seen.ok = false;
    if (remember != NULL &&
        reply_cache_get_shared(remember, monitor_epoch(a->account_id), auth_now_ms(), &held, &blob,
                               &blob_len, &due) &&
        due) {
        /* Read it again now (this caller was told; the others keep using
         * the remembered one meanwhile). */
        reply_body_release(held);
        held = NULL;
        blob = NULL;
    }
    if (blob == NULL && remember != NULL && !due) {
        /* Not remembered (a first request, or the first after any change
         * of the account: the pages of a group's monitor all ask again
         * within seconds): one read for the requests that miss it at the
         * same moment (reply_share.h; issue 16, herd2). A copy of the
         * leader's structure is one read after this request came, its
         * right checked then for this same viewer (the key holds the user
         * and the role): as one read here. The leader of the next read may
         * find the structure remembered: held, as on a hit. */
        monitor_shape_ctx m = {s, a, group_id, remember, &c, r};
        reply_body_text t;
        bool found_due = false;
        if (!reply_share_miss(remember, s, monitor_epoch, !env_switch_off(&g_monitor_share),
                              monitor_shape_read_fn, &m, &t, &found_due)) {
            goto out;
        }
        if (t.shared != NULL && found_due) {
            reply_body_text_free(&t); /* read again now, as on a hit told so */
        } else if (t.shared != NULL) {
            held = t.shared;
            blob = t.text;
            blob_len = t.len;
        } else {
            own = t.owned;
            blob = own;
            blob_len = t.len;
        }
    }
    if (blob == NULL) {
        if (c == NULL && (st = db_acquire(s->pool, DB_WAIT_MS, &c)) != DB_OK) {
            fail_db(r, st);
            goto out;
        }
        monitor_shape_read(c, a, group_id, remember, &own, &blob_len, r);
        if (own == NULL) {
            goto out;
        }
        blob = own;
    }
    if (monitor_shape_parse(blob, blob_len, group_id, &shape) != 0) {
        fail(r, SVC_NOMEM, NULL, NULL, "the server is out of memory: retry");
        goto out;
    }
    /* Room for the reply's headers before it (http_reply_json_room(): one
     * write, no copy of the reply). */
    sb_reserve(&b, DATA_REPLY_ROOM + shape.text_len + 64 * (shape.n_apps + shape.n_ch) + 1);
    if (!b.failed) {
        b.len = DATA_REPLY_ROOM;
    }
    if ((st = monitor_values(s, &c, a->account_id, &shape, shape.val, blob, blob_len, &b,
                             DATA_REPLY_ROOM, &seen)) != DB_OK) {
        fail_db(r, st);
        goto out;
    }
    /* A member's right to see the group, remembered with the structure:
     * as strict as the raw day's (087): a right removed through any
     * process or in SQL refuses the next request, not only once the
     * notification has ended the structure here. Held while the stamp read
     * in this request shows the rights' version it was read at; else read
     * again now. */
    if (own == NULL && svc_viewer(a) > 0 && !monitor_right_holds(a, group_id, &seen)) {
        bool visible = false;
        if ((c == NULL && (st = db_acquire(s->pool, DB_WAIT_MS, &c)) != DB_OK) ||
            (st = monitor_right(c, a, group_id, &visible)) != DB_OK) {
            fail_db(r, st);
            goto out;
        }
        if (!visible) {
            fail(r, SVC_NOT_FOUND, "not_found", NULL, "no such measurement group");
            goto out;
        }
    }
    if (b.failed) {
        fail(r, SVC_NOMEM, NULL, NULL, "the server is out of memory: retry");
        goto out;
    }
    svc_error_clear(&r->err);
    r->json = b.p;
    r->room = DATA_REPLY_ROOM;
    r->len = b.len - DATA_REPLY_ROOM;
    b.p = NULL;
out:
    db_release(s->pool, c);
    monitor_shape_free(&shape);
    reply_body_release(held);
    free(own);
    free(b.p);
}

svc_status svc_data_monitor(srv *s, const svc_actor *a, long long group_id, char **json,
                            size_t *room, size_t *len, svc_error *e)
{
    data_reply r;
    memset(&r, 0, sizeof r);
    monitor_r(s, a, group_id, &r);
    *room = r.err.status == SVC_OK ? r.room : 0;
    return reply_out(&r, json, len, e);
}

static void history_r(srv *s, const svc_actor *a, data_reply *r)
{
    db_conn *c = NULL;
    char *json = NULL;
    db_status st;
    memset(r, 0, sizeof *r);
    if ((st = db_acquire(s->pool, DB_WAIT_MS, &c)) != DB_OK) {
        fail_db(r, st);
        return;
    }
    st = db_channel_history(c, a->account_id, a->user_id, &json);
    db_release(s->pool, c);
    if (st != DB_OK || json == NULL) {
        free(json);
        fail_db(r, st != DB_OK ? st : DB_ERROR);
        return;
    }
    svc_error_clear(&r->err);
    r->json = json;
    r->len = strlen(json);
}

svc_status svc_data_history(srv *s, const svc_actor *a, char **json, size_t *len, svc_error *e)
{
    data_reply r;
    memset(&r, 0, sizeof r);
    history_r(s, a, &r);
    return reply_out(&r, json, len, e);
}
