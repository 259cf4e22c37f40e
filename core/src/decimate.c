/* Chart decimation (V1, V2): min/max/first/last buckets, LTTB, and the same
 * buckets from per-block summaries.
 *
 * One kernel does all the work: a run of samples that falls into one bucket
 * is summarised (mt_block_summarize) and the summary is merged into the
 * bucket. mt_decimate_minmax() finds each run with a galloping search for the
 * next bucket boundary, so the time array is touched only by that search and
 * by the order check; mt_decimate_blocks() merges the stored summary of a
 * block that lies inside one bucket and feeds decoded samples of the others
 * to the same kernel. Because "summarise then merge" is associative with the
 * tie rules below, both give bit-identical results:
 *   - min/max keep the FIRST occurrence (strict < and >, earlier data wins);
 *   - first/last are the first/last ordinary value, in sample order;
 *   - "special" is the kind of the last special value.
 *
 * Bucket arithmetic is exact: with span = t1 - t0 (as uint64), sample time t
 * (t0 <= t < t1) lies in bucket floor((t - t0) * n_buckets / span) and
 * bucket i starts at t0 + ceil(i * span / n_buckets); both products are
 * 128-bit, evaluated once per bucket, never per sample. */
#include "mt/decimate.h"

#include <float.h>
#include <stdint.h>
#include <string.h>

#include "alloc_int.h"
#include "decimate_int.h"

__extension__ typedef unsigned __int128 u128;

/* ---- exact bucket arithmetic -------------------------------------------- */

typedef struct {
    mt_time t0, t1;
    uint64_t span; /* t1 - t0, exact as an unsigned number */
    uint64_t n_buckets;
} range;

/* Offset of "t" (t0 <= t) from t0, exact even when t - t0 exceeds INT64_MAX. */
static uint64_t off_of(const range *r, mt_time t)
{
    return (uint64_t)t - (uint64_t)r->t0;
}

/* The bucket of time "t", which must lie in [t0, t1). */
static uint64_t bucket_of(const range *r, mt_time t)
{
    return (uint64_t)(((u128)off_of(r, t) * r->n_buckets) / r->span);
}

/* The first instant of bucket "i" (0 <= i <= n_buckets; i == n_buckets gives
 * t1): t0 + ceil(i * span / n_buckets). The sum stays within [t0, t1], so the
 * detour through uint64 only avoids signed overflow in the intermediate. */
static mt_time bucket_start(const range *r, uint64_t i)
{
    uint64_t off = (uint64_t)(((u128)i * r->span + (r->n_buckets - 1)) / r->n_buckets);
    return (mt_time)((uint64_t)r->t0 + off);
}

/* The range of n_buckets buckets over [t0, t1]. */
static range range_of(mt_time t0, mt_time t1, size_t n_buckets)
{
    range r;
    r.t0 = t0;
    r.t1 = t1;
    r.span = (uint64_t)t1 - (uint64_t)t0;
    r.n_buckets = n_buckets;
    return r;
}

mt_time mt__bucket_start(mt_time t0, mt_time t1, size_t n_buckets, uint64_t i)
{
    range r = range_of(t0, t1, n_buckets);
    return bucket_start(&r, i);
}

uint64_t mt__bucket_of(mt_time t0, mt_time t1, size_t n_buckets, mt_time t)
{
    range r = range_of(t0, t1, n_buckets);
    return bucket_of(&r, t);
}

/* ---- searching and checking time arrays --------------------------------- */

/* The first index in [from, n) whose time is >= "bound" (n if none), found by
 * galloping from "from" then bisecting: O(log run) probes for a run of
 * samples, so a bucket of thousands of samples costs a few dozen reads of
 * "t". Only meaningful on sorted data; callers check the order of every
 * index they use. */
static size_t gallop_ge(const mt_time *t, size_t from, size_t n, mt_time bound)
{
    size_t lo = from, hi, step = 1;
    if (lo >= n || t[lo] >= bound) {
        return lo;
    }
    /* invariant: t[lo] < bound */
    for (;;) {
        hi = (n - lo > step) ? lo + step : n;
        if (hi == n || t[hi] >= bound) {
            break;
        }
        lo = hi;
        step *= 2;
    }
    /* t[lo] < bound, and hi == n or t[hi] >= bound */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (t[mid] < bound) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    return hi;
}

/* The first index i in [max(from, 1), to) with t[i] < t[i - 1], or "to" when
 * that part of "t" is non-decreasing. The bulk loop ORs the unsigned
 * differences t[i] - t[i-1]: their top bit is set for every decrease (and,
 * harmlessly, for a jump of 2^63 µs or more), and it has neither a branch nor
 * a 64-bit compare, so compilers vectorise it even for plain SSE2. A chunk
 * whose top bit is set is rescanned exactly. */
static size_t first_disorder(const mt_time *t, size_t from, size_t to)
{
    size_t i = from ? from : 1;
    while (i < to) {
        uint64_t acc = 0;
        size_t j, end = to - i < 1024 ? to : i + 1024;
        for (j = i; j < end; j++) {
            acc |= (uint64_t)t[j] - (uint64_t)t[j - 1];
        }
        if (acc >> 63) {
            for (j = i; j < end; j++) {
                if (t[j] < t[j - 1]) {
                    return j;
                }
            }
        }
        i = end;
    }
    return to;
}

/* ---- summaries ------------------------------------------------------------ */

/* The empty summary: no rows, no values. */
static void summary_empty(mt_block_summary *s)
{
    double miss = mt_sv_value(MT_SV_MISSING);
    memset(s, 0, sizeof *s);
    s->min = s->max = s->first = s->last = miss;
    s->special = MT_SV_NONE;
}

/* The careful loop: any mix of ordinary and special values. */
static void summarize_mixed(const mt_time *t, const double *v, size_t n, mt_block_summary *s)
{
    size_t i;
    for (i = 0; i < n; i++) {
        double x = v[i];
        if (!mt_sv_is_number(x)) {
            s->n_special++;
            s->special = mt_sv_kind(x);
            continue;
        }
        if (s->n == 0) {
            s->min = s->max = s->first = x;
            s->t_min = s->t_max = s->t_vfirst = t[i];
        } else {
            if (x < s->min) {
                s->min = x;
                s->t_min = t[i];
            }
            if (x > s->max) {
                s->max = x;
                s->t_max = t[i];
            }
        }
        s->last = x;
        s->t_vlast = t[i];
        s->n++;
    }
}

/* SIMD through the GNU vector extension, which gcc, clang and emcc all
 * accept (SSE2 natively, simd128 in WebAssembly) without target #ifdefs. */
typedef double v2d __attribute__((vector_size(16)));
typedef int64_t v2i __attribute__((vector_size(16)));

/* Lane-wise "m ? a : b" for a comparison mask "m": clang and emcc turn
 * "a < b ? a : b" written this way into minpd / f64x2.pmin. */
#define BLEND(m, a, b) ((v2d)(((v2i)(a) & (m)) | ((v2i)(b) & ~(m))))

/* Samples per chunk of the extreme search: the first occurrence of the min
 * (max) is looked for only inside the first chunk whose min reached it. */
#define CHUNK 256

typedef struct {
    double mn, mx;
    size_t i_min, i_max;
} extremes;

/* Whether all of v[0..n) (n >= 1) are ordinary numbers; if so, "*e" gets
 * their min and max and the index of the first occurrence of each, exactly
 * as the one-sample-at-a-time loop of summarize_mixed() finds them.
 *
 * The hot loop keeps 4 lanes of min, max and sum with no branch. The sum is
 * the special-value test: it stays finite over finite values (short of an
 * overflow past 1e308, which only sends the run to the careful loop) and
 * becomes infinite or NaN for good once an infinity or a NaN is added.
 * Per chunk, the lane minima are folded and compared with the running best
 * with a strict "<", so "best_chunk" is the first chunk that holds the
 * minimum, and only that chunk is rescanned for its index. */
static int all_finite_extremes(const double *v, size_t n, extremes *e)
{
    double best_mn = DBL_MAX, best_mx = -DBL_MAX, sum = 0.0;
    size_t c, n_chunks = (n + CHUNK - 1) / CHUNK, mn_chunk = 0, mx_chunk = 0, i;

    for (c = 0; c < n_chunks; c++) {
        const double *p = v + c * CHUNK;
        size_t len = (c + 1 < n_chunks) ? CHUNK : n - c * CHUNK, k = 0;
        v2d lo0 = {DBL_MAX, DBL_MAX}, lo1 = lo0, hi0 = -lo0, hi1 = hi0;
        v2d z0 = {0.0, 0.0}, z1 = z0;
        double lane[8], cmn, cmx;
        for (; k + 4 <= len; k += 4) {
            v2d a, b;
            memcpy(&a, p + k, sizeof a);
            memcpy(&b, p + k + 2, sizeof b);
            z0 += a;
            z1 += b;
            lo0 = BLEND(a < lo0, a, lo0);
            lo1 = BLEND(b < lo1, b, lo1);
            hi0 = BLEND(a > hi0, a, hi0);
            hi1 = BLEND(b > hi1, b, hi1);
        }
        z0 += z1;
        memcpy(lane, &lo0, sizeof lo0);
        memcpy(lane + 2, &lo1, sizeof lo1);
        memcpy(lane + 4, &hi0, sizeof hi0);
        memcpy(lane + 6, &hi1, sizeof hi1);
        cmn = lane[0];
        cmx = lane[4];
        for (i = 1; i < 4; i++) {
            cmn = lane[i] < cmn ? lane[i] : cmn;
            cmx = lane[4 + i] > cmx ? lane[4 + i] : cmx;
        }
        memcpy(lane, &z0, sizeof z0);
        sum += lane[0] + lane[1];
        for (; k < len; k++) {
            double x = p[k];
            sum += x;
            cmn = x < cmn ? x : cmn;
            cmx = x > cmx ? x : cmx;
        }
        if (cmn < best_mn) {
            best_mn = cmn;
            mn_chunk = c;
        }
        if (cmx > best_mx) {
            best_mx = cmx;
            mx_chunk = c;
        }
    }
    if (!(sum - sum == 0.0)) {
        return 0;
    }
    /* All finite. "mn_chunk" is the first chunk whose minimum is the overall
     * one (chunk 0 too when every value is DBL_MAX, as no "<" fired). The
     * bound on "i" is only a guard: the value is always found. */
    for (i = mn_chunk * CHUNK; i < n && !(v[i] == best_mn); i++) {
    }
    e->i_min = i;
    for (i = mx_chunk * CHUNK; i < n && !(v[i] == best_mx); i++) {
    }
    e->i_max = i;
    if (e->i_min == n || e->i_max == n) {
        return 0;
    }
    e->mn = v[e->i_min];
    e->mx = v[e->i_max];
    return 1;
}

void mt_block_summarize(const mt_time *t, const double *v, size_t n, mt_block_summary *s)
{
    extremes e;
    summary_empty(s);
    if (n == 0) {
        return;
    }
    s->t_first = t[0];
    s->t_last = t[n - 1];
    s->n_rows = n;
    if (!all_finite_extremes(v, n, &e)) {
        summarize_mixed(t, v, n, s);
        return;
    }
    s->min = e.mn;
    s->t_min = t[e.i_min];
    s->max = e.mx;
    s->t_max = t[e.i_max];
    s->first = v[0];
    s->t_vfirst = t[0];
    s->last = v[n - 1];
    s->t_vlast = t[n - 1];
    s->n = n;
}

/* ---- buckets ---------------------------------------------------------------- */

static void bucket_empty(mt_bucket *b)
{
    double miss = mt_sv_value(MT_SV_MISSING);
    memset(b, 0, sizeof *b);
    b->min = b->max = b->first = b->last = miss;
    b->special = MT_SV_NONE;
}

/* Merge summary "s" of samples that follow every sample already in "b". */
static void bucket_merge(mt_bucket *b, const mt_block_summary *s)
{
    mt__bucket_merge(b, s);
}

void mt__bucket_merge(mt_bucket *b, const mt_block_summary *s)
{
    if (s->n > 0) {
        if (b->n == 0) {
            b->min = s->min;
            b->t_min = s->t_min;
            b->max = s->max;
            b->t_max = s->t_max;
            b->first = s->first;
            b->t_first = s->t_vfirst;
        } else {
            if (s->min < b->min) {
                b->min = s->min;
                b->t_min = s->t_min;
            }
            if (s->max > b->max) {
                b->max = s->max;
                b->t_max = s->t_max;
            }
        }
        b->last = s->last;
        b->t_last = s->t_vlast;
        b->n += s->n;
    }
    if (s->n_special > 0) {
        b->n_special += s->n_special;
        b->special = s->special;
    }
}

/* The end of the run that starts at "start" (t[start] < bound): the first
 * index whose time is >= "bound", or n. Unlike a binary search, it streams
 * "t" forward in chunks, checking their order on the way, so the time array
 * is read once, sequentially, by one loop that both validates and searches
 * (random probes into 80 MB of times cost more than reading them). Only the
 * chunk that holds the boundary is bisected. On disorder, "*bad" receives the
 * index (every index before it has been checked by then); else "*bad" = n. */
static size_t run_end(const mt_time *t, size_t start, size_t n, mt_time bound, size_t *bad)
{
    size_t j = start;
    *bad = n;
    while (j < n) {
        size_t e = n - j < CHUNK ? n : j + CHUNK, lo, hi, k = first_disorder(t, j, e);
        if (k != e) {
            *bad = k;
            return j;
        }
        if (t[e - 1] < bound) {
            j = e;
            continue;
        }
        /* sorted chunk, t[j - 1] < bound (or j == start) and t[e - 1] >= bound */
        lo = j;
        hi = e - 1;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (t[mid] < bound) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }
    return n;
}

/* Add samples t[0..n), v[0..n) to the buckets "out" of "r", after whatever
 * they already hold. Checks the order of the whole array; an error's
 * position is "pos_base" plus the index. */
static mt_status accumulate(const range *r, const mt_time *t, const double *v, size_t n,
                            mt_bucket *out, size_t pos_base, mt_error *err)
{
    size_t start, bad;
    if (n == 0) {
        return MT_OK;
    }
    start = gallop_ge(t, 0, n, r->t0);
    bad = first_disorder(t, 0, start);
    while (bad == start && start < n && t[start] < r->t1) {
        uint64_t bi = bucket_of(r, t[start]);
        size_t end = run_end(t, start, n, bucket_start(r, bi + 1), &bad);
        mt_block_summary s;
        if (bad != n) {
            break;
        }
        mt_block_summarize(t + start, v + start, end - start, &s);
        bucket_merge(&out[bi], &s);
        start = end;
        bad = start;
    }
    if (bad == start) {
        bad = first_disorder(t, start, n);
    }
    if (bad != n) {
        return mt_fail(err, MT_EORDER, pos_base + bad,
                       "timestamp at index %zu is before its predecessor", pos_base + bad);
    }
    return MT_OK;
}

static mt_status check_range(mt_time t0, mt_time t1, size_t n_buckets, const mt_bucket *out,
                             range *r, mt_error *err)
{
    if (n_buckets == 0) {
        return mt_fail(err, MT_EINVAL, 0, "n_buckets must be at least 1");
    }
    if (t1 <= t0) {
        return mt_fail(err, MT_EINVAL, 0, "empty time range: t1 <= t0");
    }
    if (!out) {
        return mt_fail(err, MT_EINVAL, 0, "NULL output buckets");
    }
    r->t0 = t0;
    r->t1 = t1;
    r->span = (uint64_t)t1 - (uint64_t)t0;
    r->n_buckets = n_buckets;
    return MT_OK;
}

mt_status mt_decimate_minmax(const mt_time *t, const double *v, size_t n, mt_time t0,
                             mt_time t1, size_t n_buckets, mt_bucket *out, mt_error *err)
{
    range r;
    size_t i;
    mt_status st;
    if (n > 0 && (!t || !v)) {
        return mt_fail(err, MT_EINVAL, 0, "NULL samples with n = %zu", n);
    }
    st = check_range(t0, t1, n_buckets, out, &r, err);
    if (st != MT_OK) {
        return st;
    }
    for (i = 0; i < n_buckets; i++) {
        bucket_empty(&out[i]);
    }
    return accumulate(&r, t, v, n, out, 0, err);
}

/* ---- from block summaries ---------------------------------------------------- */

mt_status mt_decimate_blocks(const mt_block_summary *blocks, size_t n_blocks,
                             mt_block_decode_fn decode, void *ctx, mt_time t0, mt_time t1,
                             size_t n_buckets, mt_bucket *out, size_t *n_decoded,
                             mt_error *err)
{
    range r;
    mt_status st;
    size_t b, i, cap = 0, decoded = 0;
    mt_time *bt = NULL;
    double *bv = NULL;
    int have_prev = 0;
    mt_time prev_last = 0;

    if (n_decoded) {
        *n_decoded = 0;
    }
    if (n_blocks > 0 && (!blocks || !decode)) {
        return mt_fail(err, MT_EINVAL, 0, "NULL blocks or decoder with n_blocks = %zu",
                       n_blocks);
    }
    st = check_range(t0, t1, n_buckets, out, &r, err);
    if (st != MT_OK) {
        return st;
    }
    /* Validate the index before touching "out" or decoding anything. */
    for (b = 0; b < n_blocks; b++) {
        const mt_block_summary *s = &blocks[b];
        if (s->n_rows == 0) {
            continue;
        }
        if (s->t_last < s->t_first || s->n + s->n_special != s->n_rows ||
            s->n > s->n_rows) {
            return mt_fail(err, MT_ECORRUPT, b, "block %zu: inconsistent summary", b);
        }
        if (have_prev && s->t_first < prev_last) {
            return mt_fail(err, MT_EORDER, b, "block %zu starts before the previous one ends",
                           b);
        }
        have_prev = 1;
        prev_last = s->t_last;
    }
    for (i = 0; i < n_buckets; i++) {
        bucket_empty(&out[i]);
    }
    for (b = 0; b < n_blocks; b++) {
        const mt_block_summary *s = &blocks[b];
        size_t got = 0;
        if (s->n_rows == 0 || s->t_last < t0 || s->t_first >= t1) {
            continue;
        }
        if (s->t_first >= t0 && s->t_last < t1 &&
            bucket_of(&r, s->t_first) == bucket_of(&r, s->t_last)) {
            bucket_merge(&out[bucket_of(&r, s->t_first)], s);
            continue;
        }
        if (s->n_rows > cap) {
            size_t new_cap;
            if (s->n_rows > SIZE_MAX / sizeof(mt_time)) {
                st = mt_fail(err, MT_ENOMEM, b, "block %zu: too many rows", b);
                goto out;
            }
            new_cap = (size_t)s->n_rows;
            mt__free(bt);
            mt__free(bv);
            bv = NULL;
            bt = mt__malloc(new_cap * sizeof *bt);
            if (bt) {
                bv = mt__malloc(new_cap * sizeof *bv);
            }
            if (!bt || !bv) {
                cap = 0;
                st = mt_fail(err, MT_ENOMEM, b, "block %zu: no memory to decode", b);
                goto out;
            }
            cap = new_cap;
        }
        st = decode(ctx, b, bt, bv, cap, &got, err);
        if (st != MT_OK) {
            goto out;
        }
        decoded++;
        if (got > cap || got != s->n_rows ||
            (got > 0 && (bt[0] < s->t_first || bt[got - 1] > s->t_last))) {
            st = mt_fail(err, MT_ECORRUPT, b, "block %zu: decoded samples differ from summary",
                         b);
            goto out;
        }
        /* accumulate() checks the order of the decoded samples as it goes;
         * its error is re-pointed at the block. */
        st = accumulate(&r, bt, bv, got, out, 0, err);
        if (st == MT_EORDER) {
            st = mt_fail(err, MT_EORDER, b, "block %zu: decoded timestamps out of order", b);
        }
        if (st != MT_OK) {
            goto out;
        }
    }
    st = MT_OK;
out:
    if (n_decoded) {
        *n_decoded = decoded;
    }
    mt__free(bt);
    mt__free(bv);
    return st;
}

/* ---- LTTB ------------------------------------------------------------------------ */

/* Advance "*i" to the next ordinary value at or after "*i" (n if none). */
static void skip_special(const double *v, size_t n, size_t *i)
{
    while (*i < n && !mt_sv_is_number(v[*i])) {
        (*i)++;
    }
}

mt_status mt_decimate_lttb(const mt_time *t, const double *v, size_t n, size_t n_out,
                           size_t *idx, size_t *out_len, mt_error *err)
{
    size_t i, m = 0, bad, first_i, last_i, a, cur, nxt, j, n_inner, n_mid;
    mt_time tbase;

    if (out_len) {
        *out_len = 0;
    }
    if (n > 0 && (!t || !v)) {
        return mt_fail(err, MT_EINVAL, 0, "NULL samples with n = %zu", n);
    }
    if (n_out < 3) {
        return mt_fail(err, MT_EINVAL, 0, "n_out must be at least 3, not %zu", n_out);
    }
    if (!idx || !out_len) {
        return mt_fail(err, MT_EINVAL, 0, "NULL output");
    }
    bad = first_disorder(t, 0, n);
    if (bad != n) {
        return mt_fail(err, MT_EORDER, bad, "timestamp at index %zu is before its predecessor",
                       bad);
    }
    for (i = 0; i < n; i++) {
        m += mt_sv_is_number(v[i]);
    }
    if (m <= n_out) {
        for (i = 0; i < n; i++) {
            if (mt_sv_is_number(v[i])) {
                idx[(*out_len)++] = i;
            }
        }
        return MT_OK;
    }
    /* m > n_out >= 3. Ranks (0-based positions among the ordinary values):
     * rank 0 and rank m-1 are kept; the n_inner = m - 2 ranks between are cut
     * into n_mid = n_out - 2 buckets, bucket k holding ranks
     * [1 + floor(k * n_inner / n_mid), 1 + floor((k+1) * n_inner / n_mid)),
     * exact integer boundaries, each bucket non-empty since n_inner > n_mid.
     * Two cursors walk the array once each: "cur" through the bucket being
     * chosen from, "nxt" through the following one (for its average). */
    n_inner = m - 2;
    n_mid = n_out - 2;
    first_i = 0;
    skip_special(v, n, &first_i);
    last_i = n - 1;
    while (!mt_sv_is_number(v[last_i])) {
        last_i--;
    }
    tbase = t[first_i];
    idx[(*out_len)++] = first_i;
    a = first_i;
    cur = first_i + 1;
    skip_special(v, n, &cur);
    nxt = cur;
    {
        /* Position "nxt" at the start of bucket 1 (rank 1 + bucket 0's size). */
        uint64_t r0 = (uint64_t)((u128)1 * n_inner / n_mid);
        for (j = 0; j < r0; j++) {
            nxt++;
            skip_special(v, n, &nxt);
        }
    }
    for (j = 0; j < n_mid; j++) {
        uint64_t cur_len = (uint64_t)((u128)(j + 1) * n_inner / n_mid) -
                           (uint64_t)((u128)j * n_inner / n_mid);
        double avg_t = 0, avg_v = 0, ta, va, best = -1.0;
        size_t k, pick = cur, nxt_end = nxt;
        if (j + 1 < n_mid) {
            uint64_t nxt_len = (uint64_t)((u128)(j + 2) * n_inner / n_mid) -
                               (uint64_t)((u128)(j + 1) * n_inner / n_mid);
            double sum_t = 0, sum_v = 0;
            for (k = 0; k < nxt_len; k++) {
                sum_t += (double)((uint64_t)t[nxt_end] - (uint64_t)tbase);
                sum_v += v[nxt_end];
                nxt_end++;
                skip_special(v, n, &nxt_end);
            }
            avg_t = sum_t / (double)nxt_len;
            avg_v = sum_v / (double)nxt_len;
        } else {
            avg_t = (double)((uint64_t)t[last_i] - (uint64_t)tbase);
            avg_v = v[last_i];
        }
        ta = (double)((uint64_t)t[a] - (uint64_t)tbase);
        va = v[a];
        for (k = 0; k < cur_len; k++) {
            double tb = (double)((uint64_t)t[cur] - (uint64_t)tbase), vb = v[cur];
            double area = (ta - avg_t) * (vb - va) - (ta - tb) * (avg_v - va);
            area = area < 0 ? -area : area;
            if (area > best) {
                best = area;
                pick = cur;
            }
            cur++;
            skip_special(v, n, &cur);
        }
        idx[(*out_len)++] = pick;
        a = pick;
        nxt = nxt_end;
    }
    idx[(*out_len)++] = last_i;
    return MT_OK;
}
