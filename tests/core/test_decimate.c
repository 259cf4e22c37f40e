/* Tests of core/src/decimate.c: unhappy paths first, vectors worked out by
 * hand, then random data against a brute-force one-sample-at-a-time model. */
#include <stdint.h>
#include <stdlib.h>

#include "../t.h"
#include "alloc_int.h"
#include "mt/decimate.h"
#include "mt/types.h"

__extension__ typedef unsigned __int128 t_u128;

/* ---- brute force -------------------------------------------------------- */

/* The definition, one sample at a time: bucket floor((t-t0)*nb/(t1-t0)). */
static void brute_minmax(const mt_time *t, const double *v, size_t n, mt_time t0, mt_time t1,
                         size_t nb, mt_bucket *out)
{
    size_t i;
    uint64_t span = (uint64_t)t1 - (uint64_t)t0;
    for (i = 0; i < nb; i++) {
        memset(&out[i], 0, sizeof out[i]);
        out[i].min = out[i].max = out[i].first = out[i].last = mt_sv_value(MT_SV_MISSING);
    }
    for (i = 0; i < n; i++) {
        mt_bucket *b;
        if (t[i] < t0 || t[i] >= t1) {
            continue;
        }
        b = &out[(size_t)(((t_u128)((uint64_t)t[i] - (uint64_t)t0) * nb) / span)];
        if (!mt_sv_is_number(v[i])) {
            b->n_special++;
            b->special = mt_sv_kind(v[i]);
            continue;
        }
        if (b->n == 0) {
            b->min = b->max = b->first = v[i];
            b->t_min = b->t_max = b->t_first = t[i];
        }
        if (v[i] < b->min) {
            b->min = v[i];
            b->t_min = t[i];
        }
        if (v[i] > b->max) {
            b->max = v[i];
            b->t_max = t[i];
        }
        b->last = v[i];
        b->t_last = t[i];
        b->n++;
    }
}

/* 0 when equal, else the index of the first differing bucket plus one. */
static size_t buckets_differ(const mt_bucket *a, const mt_bucket *b, size_t nb)
{
    size_t i;
    for (i = 0; i < nb; i++) {
        if (memcmp(&a[i].min, &b[i].min, sizeof(double)) ||
            memcmp(&a[i].max, &b[i].max, sizeof(double)) ||
            memcmp(&a[i].first, &b[i].first, sizeof(double)) ||
            memcmp(&a[i].last, &b[i].last, sizeof(double)) || a[i].t_first != b[i].t_first ||
            a[i].t_last != b[i].t_last || a[i].t_min != b[i].t_min ||
            a[i].t_max != b[i].t_max || a[i].n != b[i].n || a[i].n_special != b[i].n_special ||
            a[i].special != b[i].special) {
            return i + 1;
        }
    }
    return 0;
}

static uint64_t rng_state = 0x9E3779B97F4A7C15u;

static uint64_t rnd(void)
{
    /* xorshift64*: deterministic, the same native and in wasm */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * UINT64_C(2685821657736338717);
}

static size_t rnd_below(size_t n)
{
    return n ? (size_t)(rnd() % n) : 0;
}

/* Random sorted times (with repeats) starting at "base", and values with a
 * few specials, signed zeros and repeated extremes. */
static void random_series(mt_time *t, double *v, size_t n, mt_time base, int special_pct)
{
    size_t i;
    mt_time cur = base;
    for (i = 0; i < n; i++) {
        size_t r = rnd_below(100);
        cur += (mt_time)rnd_below(4) * (rnd_below(10) == 0 ? 1000 : 1);
        t[i] = cur;
        if ((int)r < special_pct) {
            v[i] = mt_sv_value((mt_sv)(1 + rnd_below(5)));
            if (rnd_below(3) == 0) {
                v[i] = rnd_below(2) ? HUGE_VAL : -HUGE_VAL;
            }
        } else if (r < 20) {
            v[i] = rnd_below(2) ? 0.0 : -0.0;
        } else {
            v[i] = (double)((int)rnd_below(21) - 10) * 0.5;
        }
    }
}

/* ---- mt_decimate_minmax -------------------------------------------------- */

static void minmax_rejects_bad_arguments(void)
{
    mt_time t[2] = {1, 2};
    double v[2] = {1, 2};
    mt_bucket out[4];
    mt_error err;
    T_ERR(mt_decimate_minmax(NULL, v, 2, 0, 10, 4, out, &err), MT_EINVAL);
    T_ERR(mt_decimate_minmax(t, NULL, 2, 0, 10, 4, out, &err), MT_EINVAL);
    T_ERR(mt_decimate_minmax(t, v, 2, 0, 10, 0, out, &err), MT_EINVAL);
    T_ERR(mt_decimate_minmax(t, v, 2, 10, 10, 4, out, &err), MT_EINVAL);
    T_ERR(mt_decimate_minmax(t, v, 2, 11, 10, 4, out, &err), MT_EINVAL);
    T_ERR(mt_decimate_minmax(t, v, 2, 0, 10, 4, NULL, &err), MT_EINVAL);
    T_EQ_INT(err.code, MT_EINVAL);
    T_ERR(mt_decimate_minmax(t, v, 2, 0, 10, 0, out, NULL), MT_EINVAL);
    /* no samples is fine: all gaps */
    T_OK_E(mt_decimate_minmax(NULL, NULL, 0, 0, 10, 4, out, &err), &err);
    T_EQ_U64(out[3].n, 0);
    T_EQ_INT(mt_sv_kind(out[3].min), MT_SV_MISSING);
}

static void minmax_reports_index_of_out_of_order_timestamp(void)
{
    mt_time t[6] = {1, 2, 3, 2, 5, 6};
    mt_time early[5] = {-5, -7, 1, 2, 3}; /* disorder before the range */
    mt_time late[5] = {1, 2, 30, 29, 31}; /* disorder after the range */
    double v[6] = {0, 0, 0, 0, 0, 0};
    mt_bucket out[3];
    mt_error err;
    T_ERR(mt_decimate_minmax(t, v, 6, 0, 10, 3, out, &err), MT_EORDER);
    T_EQ_INT(err.pos, 3);
    T_ERR(mt_decimate_minmax(t, v, 6, 0, 10, 1, out, &err), MT_EORDER);
    T_EQ_INT(err.pos, 3);
    T_ERR(mt_decimate_minmax(early, v, 5, 0, 10, 3, out, &err), MT_EORDER);
    T_EQ_INT(err.pos, 1);
    T_ERR(mt_decimate_minmax(late, v, 5, 0, 10, 3, out, &err), MT_EORDER);
    T_EQ_INT(err.pos, 3);
}

static void minmax_finds_disorder_deep_in_a_long_bucket(void)
{
    enum { N = 5000 };
    static mt_time t[N];
    static double v[N];
    mt_bucket out[2];
    mt_error err;
    size_t i;
    for (i = 0; i < N; i++) {
        t[i] = (mt_time)i;
        v[i] = (double)i;
    }
    t[4321] = 4319; /* before t[4320] */
    T_ERR(mt_decimate_minmax(t, v, N, 0, N, 2, out, &err), MT_EORDER);
    T_EQ_INT(err.pos, 4321);
}

/* [0, 10) in 3 buckets: boundaries 0, ceil(10/3) = 4, ceil(20/3) = 7, 10. */
static void minmax_buckets_by_hand(void)
{
    mt_time t[9] = {-1, 0, 3, 3, 4, 6, 7, 9, 10};
    double v[9] = {100, 5, -2, 7, 1, 1, 2, 3, 100};
    mt_bucket out[3];
    mt_error err;
    v[6] = mt_sv_value(MT_SV_BREAK);
    v[7] = mt_sv_value(MT_SV_OVER_POS);
    T_OK_E(mt_decimate_minmax(t, v, 9, 0, 10, 3, out, &err), &err);
    /* bucket 0: t 0,3,3 -> 5,-2,7 */
    T_EQ_U64(out[0].n, 3);
    T_SAME_DOUBLE(out[0].min, -2.0);
    T_SAME_DOUBLE(out[0].max, 7.0);
    T_SAME_DOUBLE(out[0].first, 5.0);
    T_SAME_DOUBLE(out[0].last, 7.0);
    T_EQ_INT(out[0].t_first, 0);
    T_EQ_INT(out[0].t_last, 3);
    T_EQ_INT(out[0].t_min, 3);
    T_EQ_INT(out[0].t_max, 3);
    T_EQ_U64(out[0].n_special, 0);
    T_EQ_INT(out[0].special, MT_SV_NONE);
    /* bucket 1: t 4,6 -> 1,1: the first of equal extremes */
    T_EQ_U64(out[1].n, 2);
    T_EQ_INT(out[1].t_min, 4);
    T_EQ_INT(out[1].t_max, 4);
    T_EQ_INT(out[1].t_last, 6);
    /* bucket 2: t 7,9 are special (break, +over): a gap with 2 specials */
    T_EQ_U64(out[2].n, 0);
    T_EQ_U64(out[2].n_special, 2);
    T_EQ_INT(out[2].special, MT_SV_OVER_POS);
    T_EQ_INT(mt_sv_kind(out[2].min), MT_SV_MISSING);
    T_EQ_INT(mt_sv_kind(out[2].last), MT_SV_MISSING);
}

/* Every bucket boundary is exact, even where w = 1/3 would drift in doubles. */
static void minmax_boundaries_are_exact(void)
{
    enum { N = 3000 };
    static mt_time t[N];
    static double v[N];
    mt_bucket out[1000];
    mt_error err;
    size_t i;
    for (i = 0; i < N; i++) {
        t[i] = (mt_time)i;
        v[i] = (double)i;
    }
    /* [0, 1000) in 3 buckets: 0..333, 334..666, 667..999 */
    T_OK_E(mt_decimate_minmax(t, v, N, 0, 1000, 3, out, &err), &err);
    T_EQ_INT(out[0].t_last, 333);
    T_EQ_INT(out[1].t_first, 334);
    T_EQ_INT(out[1].t_last, 666);
    T_EQ_INT(out[2].t_first, 667);
    T_EQ_INT(out[2].t_last, 999);
    /* [0, 3000) in 1000 buckets: exactly 3 samples each */
    T_OK_E(mt_decimate_minmax(t, v, N, 0, N, 1000, out, &err), &err);
    for (i = 0; i < 1000; i++) {
        T_EQ_U64(out[i].n, 3);
        T_EQ_INT(out[i].t_first, 3 * i);
    }
}

/* The whole int64 range: (t - t0) * n_buckets needs 128 bits. */
static void minmax_huge_range_does_not_overflow(void)
{
    mt_time t[4] = {INT64_MIN, -1, 0, INT64_MAX - 1};
    double v[4] = {1, 2, 3, 4};
    static mt_bucket out[100000];
    mt_error err;
    T_OK_E(mt_decimate_minmax(t, v, 4, INT64_MIN, INT64_MAX, 100000, out, &err), &err);
    /* offsets 0, 2^63-1, 2^63, 2^64-2 over span 2^64-1 in 1e5 buckets */
    T_EQ_U64(out[0].n, 1);
    T_EQ_U64(out[49999].n, 1); /* (2^63-1)*1e5/(2^64-1) = 49999.99... */
    T_EQ_U64(out[50000].n, 1); /* 2^63*1e5/(2^64-1) = 50000.000... */
    T_EQ_U64(out[99999].n, 1);
    T_SAME_DOUBLE(out[99999].max, 4.0);
    /* a range of 10^15 µs (31 years) in 10^5 buckets */
    {
        mt_time t2[3] = {0, 9999999999, 10000000000};
        double v2[3] = {1, 2, 3};
        T_OK_E(mt_decimate_minmax(t2, v2, 3, 0, INT64_C(1000000000000000), 100000, out, &err),
               &err);
        T_EQ_U64(out[0].n, 2);
        T_EQ_U64(out[1].n, 1);
    }
}

static void minmax_signed_zero_and_first_extremes(void)
{
    mt_time t[5] = {0, 1, 2, 3, 4};
    double v[5] = {0.0, -0.0, 0.0, -0.0, 0.0};
    double w[17];
    mt_time tw[17];
    mt_bucket out[1];
    mt_error err;
    size_t i;
    T_OK_E(mt_decimate_minmax(t, v, 5, 0, 5, 1, out, &err), &err);
    T_SAME_DOUBLE(out[0].min, 0.0);
    T_SAME_DOUBLE(out[0].max, 0.0);
    T_EQ_INT(out[0].t_min, 0);
    T_EQ_INT(out[0].t_max, 0);
    /* long enough for the vector path: repeated extremes, first one wins */
    for (i = 0; i < 17; i++) {
        tw[i] = (mt_time)i;
        w[i] = (i % 5 == 2) ? 9.0 : (i % 7 == 3) ? -9.0 : 1.0;
    }
    w[0] = -0.0;
    T_OK_E(mt_decimate_minmax(tw, w, 17, 0, 17, 1, out, &err), &err);
    T_SAME_DOUBLE(out[0].min, -9.0);
    T_EQ_INT(out[0].t_min, 3);
    T_SAME_DOUBLE(out[0].max, 9.0);
    T_EQ_INT(out[0].t_max, 2);
    T_SAME_DOUBLE(out[0].first, -0.0);
}

static void minmax_matches_brute_force_on_random_data(void)
{
    enum { N = 3000, NB = 4000 };
    static mt_time t[N];
    static double v[N];
    static mt_bucket got[NB], want[NB];
    mt_error err;
    int round;
    for (round = 0; round < 300; round++) {
        size_t n = rnd_below(N + 1), nb;
        mt_time t0, t1;
        random_series(t, v, n, (mt_time)rnd_below(100) - 50, (int)rnd_below(3) * 5);
        switch (round % 5) {
        case 0:
            nb = 1;
            break;
        case 1:
            nb = 2;
            break;
        case 2:
            nb = n + 5 < NB ? n + 5 : NB; /* more buckets than samples */
            break;
        default:
            nb = 1 + rnd_below(NB);
        }
        t0 = n ? t[rnd_below(n)] - (mt_time)rnd_below(20) : 0;
        t1 = t0 + 1 + (mt_time)rnd_below(n ? (size_t)(t[n - 1] - t0) + 40 : 100);
        if (round % 7 == 0) {
            t0 = -100;
            t1 = n ? t[n - 1] + 1 : 1; /* everything in range */
        }
        T_OK_E(mt_decimate_minmax(t, v, n, t0, t1, nb, got, &err), &err);
        brute_minmax(t, v, n, t0, t1, nb, want);
        T_EQ_U64(buckets_differ(got, want, nb), 0);
    }
}

/* ---- mt_block_summarize ----------------------------------------------------- */

static void summarize_by_hand(void)
{
    mt_time t[5] = {10, 11, 12, 13, 14};
    double v[5] = {0, 3, -1, 3, 0};
    mt_block_summary s;
    v[0] = mt_sv_value(MT_SV_MISSING);
    v[4] = mt_sv_value(MT_SV_ERROR);
    mt_block_summarize(t, v, 5, &s);
    T_EQ_INT(s.t_first, 10);
    T_EQ_INT(s.t_last, 14);
    T_EQ_U64(s.n_rows, 5);
    T_EQ_U64(s.n, 3);
    T_EQ_U64(s.n_special, 2);
    T_EQ_INT(s.special, MT_SV_ERROR);
    T_SAME_DOUBLE(s.min, -1.0);
    T_EQ_INT(s.t_min, 12);
    T_SAME_DOUBLE(s.max, 3.0);
    T_EQ_INT(s.t_max, 11);
    T_SAME_DOUBLE(s.first, 3.0);
    T_EQ_INT(s.t_vfirst, 11);
    T_SAME_DOUBLE(s.last, 3.0);
    T_EQ_INT(s.t_vlast, 13);
    mt_block_summarize(NULL, NULL, 0, &s);
    T_EQ_U64(s.n_rows, 0);
    T_EQ_U64(s.n, 0);
}

/* ---- mt_decimate_blocks --------------------------------------------------- */

typedef struct {
    const mt_time *t;
    const double *v;
    const size_t *start; /* block b is rows [start[b], start[b+1]) */
    size_t n_calls;
    int fail_at;    /* decode of this block fails (-1: never) */
    int short_at;   /* decode of this block returns one row too few */
} blocks_ctx;

static mt_status decode_block(void *ctx, size_t block, mt_time *t, double *v, size_t cap,
                              size_t *n, mt_error *err)
{
    blocks_ctx *c = ctx;
    size_t len = c->start[block + 1] - c->start[block];
    c->n_calls++;
    if ((int)block == c->fail_at) {
        return mt_fail(err, MT_ECHECKSUM, 1234, "block %zu: bad checksum", block);
    }
    if (len > cap) {
        return mt_fail(err, MT_ENOSPACE, block, "cap too small");
    }
    memcpy(t, c->t + c->start[block], len * sizeof *t);
    memcpy(v, c->v + c->start[block], len * sizeof *v);
    *n = (int)block == c->short_at ? len - 1 : len;
    return MT_OK;
}

/* Cut t/v into blocks of random sizes (1..max_rows) and summarise each. */
static size_t make_blocks(const mt_time *t, const double *v, size_t n, size_t max_rows,
                          size_t *start, mt_block_summary *sums)
{
    size_t nb = 0, off = 0;
    while (off < n) {
        size_t len = 1 + rnd_below(max_rows);
        if (len > n - off) {
            len = n - off;
        }
        start[nb] = off;
        mt_block_summarize(t + off, v + off, len, &sums[nb]);
        nb++;
        off += len;
    }
    start[nb] = n;
    return nb;
}

static void blocks_reject_bad_arguments_and_bad_index(void)
{
    mt_time t[6] = {1, 2, 3, 4, 5, 6};
    double v[6] = {1, 2, 3, 4, 5, 6};
    size_t start[4] = {0, 2, 4, 6};
    mt_block_summary s[3];
    mt_bucket out[2];
    blocks_ctx c = {t, v, start, 0, -1, -1};
    mt_error err;
    size_t nd = 99;
    mt_block_summarize(t, v, 2, &s[0]);
    mt_block_summarize(t + 2, v + 2, 2, &s[1]);
    mt_block_summarize(t + 4, v + 4, 2, &s[2]);
    T_ERR(mt_decimate_blocks(NULL, 3, decode_block, &c, 0, 10, 2, out, &nd, &err), MT_EINVAL);
    T_EQ_U64(nd, 0);
    T_ERR(mt_decimate_blocks(s, 3, NULL, &c, 0, 10, 2, out, &nd, &err), MT_EINVAL);
    T_ERR(mt_decimate_blocks(s, 3, decode_block, &c, 0, 10, 0, out, &nd, &err), MT_EINVAL);
    T_ERR(mt_decimate_blocks(s, 3, decode_block, &c, 5, 5, 2, out, &nd, &err), MT_EINVAL);
    T_ERR(mt_decimate_blocks(s, 3, decode_block, &c, 0, 10, 2, NULL, &nd, &err), MT_EINVAL);
    /* blocks out of order: block 2 starts before block 1 ends */
    s[2].t_first = 3;
    T_ERR(mt_decimate_blocks(s, 3, decode_block, &c, 0, 10, 2, out, &nd, &err), MT_EORDER);
    T_EQ_INT(err.pos, 2);
    s[2].t_first = 5;
    /* a summary that does not add up */
    s[1].n_special = 1;
    T_ERR(mt_decimate_blocks(s, 3, decode_block, &c, 0, 10, 2, out, &nd, &err), MT_ECORRUPT);
    T_EQ_INT(err.pos, 1);
    s[1].n_special = 0;
    T_EQ_U64(c.n_calls, 0);
}

static void blocks_pass_on_decoder_errors(void)
{
    mt_time t[6] = {1, 2, 3, 4, 5, 6};
    double v[6] = {1, 2, 3, 4, 5, 6};
    size_t start[4] = {0, 2, 4, 6};
    mt_block_summary s[3];
    mt_bucket out[6];
    blocks_ctx c = {t, v, start, 0, 1, -1};
    mt_error err;
    size_t nd = 99;
    mt_block_summarize(t, v, 2, &s[0]);
    mt_block_summarize(t + 2, v + 2, 2, &s[1]);
    mt_block_summarize(t + 4, v + 4, 2, &s[2]);
    /* six buckets of one µs each: every block straddles a boundary */
    T_ERR(mt_decimate_blocks(s, 3, decode_block, &c, 1, 7, 6, out, &nd, &err), MT_ECHECKSUM);
    T_EQ_INT(err.pos, 1234);
    T_EQ_U64(nd, 1);
    c.fail_at = -1;
    c.short_at = 2;
    T_ERR(mt_decimate_blocks(s, 3, decode_block, &c, 1, 7, 6, out, &nd, &err), MT_ECORRUPT);
    T_EQ_INT(err.pos, 2);
    c.short_at = -1;
    /* decoded times outside the summary's bounds */
    s[1].t_first = 4;
    s[1].t_last = 5;
    T_ERR(mt_decimate_blocks(s, 3, decode_block, &c, 1, 7, 6, out, &nd, &err), MT_ECORRUPT);
    T_EQ_INT(err.pos, 1);
    /* decoded samples within the bounds but out of order */
    {
        mt_time bad_t[6] = {1, 2, 4, 3, 5, 6};
        blocks_ctx c2 = {bad_t, v, start, 0, -1, -1};
        s[1].t_first = 3;
        s[1].t_last = 4;
        T_ERR(mt_decimate_blocks(s, 3, decode_block, &c2, 1, 7, 6, out, &nd, &err), MT_EORDER);
        T_EQ_INT(err.pos, 1);
    }
}

/* One bucket per block-sized stretch: only the blocks across a boundary or the
 * range ends are decoded. */
static void blocks_decode_only_straddling_blocks(void)
{
    enum { N = 1000 };
    static mt_time t[N];
    static double v[N];
    size_t start[11], i;
    mt_block_summary s[10];
    mt_bucket got[5], want[5];
    blocks_ctx c = {t, v, start, 0, -1, -1};
    mt_error err;
    size_t nd = 0;
    for (i = 0; i < N; i++) {
        t[i] = (mt_time)i;
        v[i] = (double)((i * 7919) % 1000);
    }
    for (i = 0; i <= 10; i++) {
        start[i] = 100 * i;
    }
    for (i = 0; i < 10; i++) {
        mt_block_summarize(t + start[i], v + start[i], 100, &s[i]);
    }
    /* [50, 950) in 3 buckets of 300: boundaries 350, 650 lie in blocks 3 and
     * 6; the ends 50 and 950 in blocks 0 and 9: 4 blocks decoded of 10 */
    T_OK_E(mt_decimate_blocks(s, 10, decode_block, &c, 50, 950, 3, got, &nd, &err), &err);
    T_EQ_U64(nd, 4);
    T_EQ_U64(c.n_calls, 4);
    T_OK_E(mt_decimate_minmax(t, v, N, 50, 950, 3, want, &err), &err);
    T_EQ_U64(buckets_differ(got, want, 3), 0);
    /* block-aligned range and buckets: nothing decoded */
    T_OK_E(mt_decimate_blocks(s, 10, decode_block, &c, 0, 1000, 5, got, &nd, &err), &err);
    T_EQ_U64(nd, 0);
    T_OK(mt_decimate_blocks(s, 10, decode_block, &c, 0, 1000, 5, got, NULL, &err));
}

static void blocks_match_minmax_on_random_data(void)
{
    enum { N = 3000, NB = 4000 };
    static mt_time t[N];
    static double v[N];
    static size_t start[N + 1];
    static mt_block_summary sums[N];
    static mt_bucket got[NB], want[NB];
    mt_error err;
    int round;
    for (round = 0; round < 300; round++) {
        size_t n = rnd_below(N + 1), nb, n_blocks, nd;
        mt_time t0, t1;
        blocks_ctx c = {t, v, start, 0, -1, -1};
        random_series(t, v, n, (mt_time)rnd_below(100) - 50, (int)rnd_below(3) * 5);
        n_blocks = make_blocks(t, v, n, 1 + rnd_below(round % 2 ? 8 : 700), start, sums);
        switch (round % 5) {
        case 0:
            nb = 1;
            break;
        case 1:
            nb = 2;
            break;
        case 2:
            nb = n + 5 < NB ? n + 5 : NB;
            break;
        default:
            nb = 1 + rnd_below(round % 3 ? 40 : NB);
        }
        t0 = n ? t[rnd_below(n)] - (mt_time)rnd_below(20) : 0;
        t1 = t0 + 1 + (mt_time)rnd_below(n ? (size_t)(t[n - 1] - t0) + 40 : 100);
        if (round % 4 == 0) {
            t0 = -100;
            t1 = n ? t[n - 1] + 1 : 1;
        }
        T_OK_E(mt_decimate_blocks(sums, n_blocks, decode_block, &c, t0, t1, nb, got, &nd, &err),
               &err);
        T_OK_E(mt_decimate_minmax(t, v, n, t0, t1, nb, want, &err), &err);
        T_EQ_U64(buckets_differ(got, want, nb), 0);
        T_EQ_U64(nd, c.n_calls);
        T_TRUE(nd <= n_blocks);
    }
}

static void blocks_out_of_memory_leaks_nothing(void)
{
    enum { N = 200 };
    static mt_time t[N];
    static double v[N];
    static size_t start[N + 1];
    static mt_block_summary sums[N];
    mt_bucket got[7], want[7];
    mt_error err;
    size_t n_blocks, i;
    long k;
    for (i = 0; i < N; i++) {
        t[i] = (mt_time)i;
        v[i] = (double)(i % 13);
    }
    n_blocks = make_blocks(t, v, N, 30, start, sums);
    T_OK_E(mt_decimate_minmax(t, v, N, 3, 190, 7, want, &err), &err);
    for (k = 1; k < 100; k++) {
        blocks_ctx c = {t, v, start, 0, -1, -1};
        mt_status st;
        mt__fault_fail_nth(k);
        st = mt_decimate_blocks(sums, n_blocks, decode_block, &c, 3, 190, 7, got, NULL, &err);
        if (!mt__fault_fired()) {
            mt__fault_fail_nth(0);
            T_OK_E(st, &err);
            T_EQ_U64(buckets_differ(got, want, 7), 0);
            break;
        }
        mt__fault_fail_nth(0);
        T_ERR(st, MT_ENOMEM);
    }
    T_TRUE(k > 1 && k < 100); /* at least one allocation was failed */
}

/* ---- mt_decimate_lttb ------------------------------------------------------- */

/* The same rank-bucket LTTB, straightforwardly, over a gathered index list. */
static size_t brute_lttb(const mt_time *t, const double *v, size_t n, size_t n_out, size_t *idx)
{
    static size_t ord[4096];
    size_t m = 0, i, j, len = 0, a;
    for (i = 0; i < n; i++) {
        if (mt_sv_is_number(v[i])) {
            ord[m++] = i;
        }
    }
    if (m <= n_out) {
        memcpy(idx, ord, m * sizeof *idx);
        return m;
    }
    idx[len++] = ord[0];
    a = 0;
    for (j = 0; j < n_out - 2; j++) {
        size_t lo = 1 + j * (m - 2) / (n_out - 2), hi = 1 + (j + 1) * (m - 2) / (n_out - 2);
        size_t nlo = hi, nhi = 1 + (j + 2) * (m - 2) / (n_out - 2);
        double at = 0, av = 0, best = -1, ta, va;
        size_t pick = lo;
        if (j + 1 == n_out - 2) {
            nlo = m - 1;
            nhi = m;
        }
        for (i = nlo; i < nhi; i++) {
            at += (double)(t[ord[i]] - t[ord[0]]);
            av += v[ord[i]];
        }
        at /= (double)(nhi - nlo);
        av /= (double)(nhi - nlo);
        ta = (double)(t[ord[a]] - t[ord[0]]);
        va = v[ord[a]];
        for (i = lo; i < hi; i++) {
            double tb = (double)(t[ord[i]] - t[ord[0]]), vb = v[ord[i]];
            double area = fabs((ta - at) * (vb - va) - (ta - tb) * (av - va));
            if (area > best) {
                best = area;
                pick = i;
            }
        }
        idx[len++] = ord[pick];
        a = pick;
    }
    idx[len++] = ord[m - 1];
    return len;
}

static void lttb_rejects_bad_arguments(void)
{
    mt_time t[4] = {1, 2, 1, 4};
    double v[4] = {1, 2, 3, 4};
    size_t idx[4], len = 99;
    mt_error err;
    T_ERR(mt_decimate_lttb(t, v, 4, 2, idx, &len, &err), MT_EINVAL);
    T_EQ_U64(len, 0);
    T_ERR(mt_decimate_lttb(NULL, v, 4, 3, idx, &len, &err), MT_EINVAL);
    T_ERR(mt_decimate_lttb(t, v, 4, 3, NULL, &len, &err), MT_EINVAL);
    T_ERR(mt_decimate_lttb(t, v, 4, 3, idx, NULL, &err), MT_EINVAL);
    T_ERR(mt_decimate_lttb(t, v, 4, 3, idx, &len, &err), MT_EORDER);
    T_EQ_INT(err.pos, 2);
    T_OK_E(mt_decimate_lttb(NULL, NULL, 0, 3, idx, &len, &err), &err);
    T_EQ_U64(len, 0);
}

static void lttb_by_hand(void)
{
    /* 7 ordinary points (indexes 0,2,3,4,5,6,7), 5 out: ranks 1..5 cut into
     * 3 buckets [1,2) [2,4) [4,6), i.e. indexes {2}, {3,4}, {5,6}. */
    mt_time t[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    double v[8] = {0, 0, 10, 0, 0, -5, 0, 0};
    size_t idx[8], len;
    mt_error err;
    v[1] = mt_sv_value(MT_SV_MISSING);
    T_OK_E(mt_decimate_lttb(t, v, 8, 5, idx, &len, &err), &err);
    T_EQ_U64(len, 5);
    T_EQ_U64(idx[0], 0);
    T_EQ_U64(idx[1], 2); /* the only member of bucket 0 */
    /* bucket 1 from a = (2, 10), next average (5.5, -2.5): areas 22.5 and 10 */
    T_EQ_U64(idx[2], 3);
    /* bucket 2 from a = (3, 0), next = last point (7, 0): areas 20 and 0 */
    T_EQ_U64(idx[3], 5);
    T_EQ_U64(idx[4], 7);
    /* few enough ordinary values: all of them */
    T_OK_E(mt_decimate_lttb(t, v, 8, 7, idx, &len, &err), &err);
    T_EQ_U64(len, 7);
    T_EQ_U64(idx[1], 2);
    T_EQ_U64(idx[6], 7);
}

static void lttb_matches_brute_force_on_random_data(void)
{
    enum { N = 3000 };
    static mt_time t[N];
    static double v[N];
    static size_t got[N], want[N];
    mt_error err;
    int round;
    for (round = 0; round < 200; round++) {
        size_t n = rnd_below(N + 1), n_out = 3 + rnd_below(round % 2 ? 50 : N), len, wlen, i;
        random_series(t, v, n, (mt_time)rnd_below(1000), (int)rnd_below(4) * 10);
        T_OK_E(mt_decimate_lttb(t, v, n, n_out, got, &len, &err), &err);
        wlen = brute_lttb(t, v, n, n_out, want);
        T_EQ_U64(len, wlen);
        for (i = 0; i < len; i++) {
            T_EQ_U64(got[i], want[i]);
            T_TRUE(mt_sv_is_number(v[got[i]]));
            T_TRUE(i == 0 || got[i] > got[i - 1]);
        }
    }
}

void suite_decimate(void)
{
    T_RUN(minmax_rejects_bad_arguments);
    T_RUN(minmax_reports_index_of_out_of_order_timestamp);
    T_RUN(minmax_finds_disorder_deep_in_a_long_bucket);
    T_RUN(minmax_buckets_by_hand);
    T_RUN(minmax_boundaries_are_exact);
    T_RUN(minmax_huge_range_does_not_overflow);
    T_RUN(minmax_signed_zero_and_first_extremes);
    T_RUN(minmax_matches_brute_force_on_random_data);
    T_RUN(summarize_by_hand);
    T_RUN(blocks_reject_bad_arguments_and_bad_index);
    T_RUN(blocks_pass_on_decoder_errors);
    T_RUN(blocks_decode_only_straddling_blocks);
    T_RUN(blocks_match_minmax_on_random_data);
    T_RUN(blocks_out_of_memory_leaks_nothing);
    T_RUN(lttb_rejects_bad_arguments);
    T_RUN(lttb_by_hand);
    T_RUN(lttb_matches_brute_force_on_random_data);
}
