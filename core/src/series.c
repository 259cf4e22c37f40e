/* Series blocks (one channel's samples, compressed with HOK2's section
 * codecs) and period summaries (packed mt_block_summary records). The byte
 * layouts are docs/formats/series.md.
 *
 * A block is read only after its whole length and checksum are checked,
 * and the header is checked before that with bounds that need no
 * allocation: a hostile sample count is refused at once, and decoding writes
 * only into the caller's buffers. */
#include "mt/series.h"

#include <stdlib.h>
#include <string.h>

#include "alloc_int.h"
#include "decimate_int.h"
#include "hok_int.h"

/* High nibble: a series block; low nibble: the version. */
#define SERIES_MAGIC 0xA0u
#define SERIES_VERSION 1u

/* Header offsets. */
#define H_N 1
#define H_T_FIRST 5
#define H_T_LAST 13
#define H_TIME_LEN 21
#define H_VALUE_LEN 25

/* The largest sections the encoders can produce for "n" samples
 * (hok_int.h): they bound what a header may claim. */
static uint64_t max_time_len(uint64_t n)
{
    return 25 + 8 * n;
}

static uint64_t max_value_len(uint64_t n)
{
    return 32 * n + 64;
}

/* The exact size of the time section for "n" samples with bit width "w"
 * (docs/formats/hok2.md). */
static uint64_t time_len_for(uint64_t n, unsigned w)
{
    if (n < 2) {
        return 8;
    }
    if (n < 3) {
        return 16;
    }
    return 25 + ((n - 2) * w + 7) / 8;
}

/* ---- encoding ---------------------------------------------------------------- */

mt_status mt_series_encode(const mt_time *t, const double *v, size_t n, uint8_t **out,
                           size_t *out_len, mt_error *err)
{
    uint8_t *scratch = NULL, *enc, *block;
    double *ord;
    int64_t *q;
    size_t i, tl, vl, total;
    uint64_t bound;
    if (out) {
        *out = NULL;
    }
    if (out_len) {
        *out_len = 0;
    }
    if (!t || !v || !out || !out_len) {
        return mt_fail(err, MT_EINVAL, 0, "NULL argument");
    }
    if (n == 0) {
        return mt_fail(err, MT_EINVAL, 0, "a block holds at least one sample");
    }
    if (n > MT_SERIES_MAX_N) {
        return mt_fail(err, MT_ELIMIT, 0, "%zu samples; a block holds at most %zu", n,
                       (size_t)MT_SERIES_MAX_N);
    }
    for (i = 1; i < n; i++) {
        if (t[i] <= t[i - 1]) {
            return mt_fail(err, MT_EORDER, i, "time at index %zu is not after its predecessor",
                           i);
        }
    }
    /* One scratch area: the codec's two value arrays, then the sections at
     * their largest. n <= 2^20 keeps every size far inside size_t. */
    bound = max_time_len(n) + max_value_len(n);
    scratch = mt__malloc(16 * n + (size_t)bound);
    if (!scratch) {
        return mt_fail(err, MT_ENOMEM, 0, "no memory to encode %zu samples", n);
    }
    ord = (double *)(void *)scratch;
    q = (int64_t *)(void *)(scratch + 8 * n);
    enc = scratch + 16 * n;
    tl = mt__hok2_enc_times(t, n, enc);
    vl = mt__hok2_enc_channel(v, n, ord, q, enc + tl);
    total = MT_SERIES_HEADER + tl + vl + MT_SERIES_TRAILER;
    block = mt__malloc(total);
    if (!block) {
        mt__free(scratch);
        return mt_fail(err, MT_ENOMEM, 0, "no memory for a %zu-byte block", total);
    }
    block[0] = (uint8_t)(SERIES_MAGIC | SERIES_VERSION);
    wr_u32le(block + H_N, (uint32_t)n);
    wr_u64le(block + H_T_FIRST, (uint64_t)t[0]);
    wr_u64le(block + H_T_LAST, (uint64_t)t[n - 1]);
    wr_u32le(block + H_TIME_LEN, (uint32_t)tl);
    wr_u32le(block + H_VALUE_LEN, (uint32_t)vl);
    memcpy(block + MT_SERIES_HEADER, enc, tl + vl);
    mt__free(scratch);
    wr_u64le(block + total - MT_SERIES_TRAILER, XXH64(block, total - MT_SERIES_TRAILER, 0));
    *out = block;
    *out_len = total;
    return MT_OK;
}

void mt_series_free(uint8_t *block)
{
    mt__free(block);
}

/* ---- the header ------------------------------------------------------------------ */

typedef struct {
    size_t n;
    mt_time t_first, t_last;
    size_t time_len, value_len;
} header;

/* Check everything about a block short of decoding its sections: version,
 * counts, section lengths against "len" and each other, the checksum, and
 * the parts of the time section the header repeats. */
static mt_status parse_header(const uint8_t *buf, size_t len, header *h, mt_error *err)
{
    uint64_t n, tl, vl, total, span;
    mt_time t_first, t_last;
    if (!buf && len > 0) {
        return mt_fail(err, MT_EINVAL, 0, "NULL block");
    }
    if (len >= 1 && (buf[0] & 0xF0u) != SERIES_MAGIC) {
        return mt_fail(err, MT_EFORMAT, 0, "not a series block (first byte 0x%02x)", buf[0]);
    }
    if (len >= 1 && (buf[0] & 0x0Fu) != SERIES_VERSION) {
        return mt_fail(err, MT_EVERSION, 0, "series block version %u (this reader knows %u)",
                       buf[0] & 0x0Fu, SERIES_VERSION);
    }
    if (len < MT_SERIES_HEADER) {
        return mt_fail(err, MT_ETRUNC, len, "block cut at %zu, inside its %d-byte header", len,
                       MT_SERIES_HEADER);
    }
    n = rd_u32le(buf + H_N);
    if (n == 0 || n > MT_SERIES_MAX_N) {
        return mt_fail(err, MT_ECORRUPT, H_N, "sample count %llu out of range 1..%zu",
                       (unsigned long long)n, (size_t)MT_SERIES_MAX_N);
    }
    t_first = (mt_time)rd_u64le(buf + H_T_FIRST);
    t_last = (mt_time)rd_u64le(buf + H_T_LAST);
    span = (uint64_t)t_last - (uint64_t)t_first;
    /* n strictly increasing integers span at least n - 1 µs. */
    if (n == 1 ? t_first != t_last : (t_last <= t_first || span < n - 1)) {
        return mt_fail(err, MT_ECORRUPT, H_T_LAST,
                       "times %lld..%lld cannot hold %llu increasing samples",
                       (long long)t_first, (long long)t_last, (unsigned long long)n);
    }
    tl = rd_u32le(buf + H_TIME_LEN);
    vl = rd_u32le(buf + H_VALUE_LEN);
    if (tl < time_len_for(n, 0) || tl > max_time_len(n) || (n < 3 && tl != time_len_for(n, 0))) {
        return mt_fail(err, MT_ECORRUPT, H_TIME_LEN, "time section of %llu bytes for %llu samples",
                       (unsigned long long)tl, (unsigned long long)n);
    }
    if (vl < 2 || vl > max_value_len(n)) {
        return mt_fail(err, MT_ECORRUPT, H_VALUE_LEN,
                       "value section of %llu bytes for %llu samples", (unsigned long long)vl,
                       (unsigned long long)n);
    }
    total = MT_SERIES_HEADER + tl + vl + MT_SERIES_TRAILER;
    if (len < total) {
        return mt_fail(err, MT_ETRUNC, len, "block of %llu bytes cut at %zu",
                       (unsigned long long)total, len);
    }
    if (len > total) {
        return mt_fail(err, MT_ECORRUPT, (size_t)total, "%zu stray bytes after the block",
                       len - (size_t)total);
    }
    if (!hash_ok(buf, len - MT_SERIES_TRAILER, rd_u64le(buf + len - MT_SERIES_TRAILER))) {
        return mt_fail(err, MT_ECHECKSUM, len - MT_SERIES_TRAILER, "block checksum mismatch");
    }
    if ((mt_time)rd_u64le(buf + MT_SERIES_HEADER) != t_first) {
        return mt_fail(err, MT_ECORRUPT, MT_SERIES_HEADER,
                       "the time section does not start at t_first");
    }
    if (n >= 3) {
        unsigned w = buf[MT_SERIES_HEADER + 24];
        if (w > 64 || tl != time_len_for(n, w)) {
            return mt_fail(err, MT_ECORRUPT, MT_SERIES_HEADER + 24,
                           "time section of %llu bytes does not fit bit width %u",
                           (unsigned long long)tl, w);
        }
    }
    h->n = (size_t)n;
    h->t_first = t_first;
    h->t_last = t_last;
    h->time_len = (size_t)tl;
    h->value_len = (size_t)vl;
    return MT_OK;
}

mt_status mt_series_info(const uint8_t *buf, size_t len, size_t *n, mt_time *t_first,
                         mt_time *t_last, mt_error *err)
{
    header h;
    mt_status st = parse_header(buf, len, &h, err);
    if (st != MT_OK) {
        memset(&h, 0, sizeof h);
    }
    if (n) {
        *n = h.n;
    }
    if (t_first) {
        *t_first = h.t_first;
    }
    if (t_last) {
        *t_last = h.t_last;
    }
    return st;
}

/* ---- decoding -------------------------------------------------------------------- */

mt_status mt_series_decode(const uint8_t *buf, size_t len, mt_time *t, double *v, size_t cap,
                           size_t *n, mt_error *err)
{
    header h;
    size_t i;
    mt_status st;
    if (!n) {
        return mt_fail(err, MT_EINVAL, 0, "NULL count");
    }
    *n = 0;
    if ((st = parse_header(buf, len, &h, err)) != MT_OK) {
        return st;
    }
    if (cap < h.n) {
        *n = h.n;
        return mt_fail(err, MT_ETRUNC, 0, "the block holds %zu samples, room for %zu", h.n, cap);
    }
    if (!t || !v) {
        return mt_fail(err, MT_EINVAL, 0, "NULL output buffers");
    }
    st = mt__hok2_dec_times(buf + MT_SERIES_HEADER, h.time_len, MT_SERIES_HEADER, h.n, t, err);
    if (st != MT_OK) {
        return st;
    }
    /* The codec allows equal times (HOK2 rows may share one); a block does
     * not. */
    for (i = 1; i < h.n; i++) {
        if (t[i] <= t[i - 1]) {
            return mt_fail(err, MT_ECORRUPT, MT_SERIES_HEADER,
                           "time of sample %zu is not after its predecessor", i);
        }
    }
    if (t[h.n - 1] != h.t_last) {
        return mt_fail(err, MT_ECORRUPT, MT_SERIES_HEADER, "the times do not end at t_last");
    }
    st = mt__hok2_dec_channel(buf + MT_SERIES_HEADER + h.time_len, h.value_len,
                              MT_SERIES_HEADER + h.time_len, h.n, MT__HOK2_ANY_ORD, v, err);
    if (st != MT_OK) {
        return st;
    }
    *n = h.n;
    return MT_OK;
}

/* ---- merging ------------------------------------------------------------------------ */

/* The first index of "t" (n entries) that is not after its predecessor, or n. */
static size_t first_not_increasing(const mt_time *t, size_t n)
{
    size_t i;
    for (i = 1; i < n; i++) {
        if (t[i] <= t[i - 1]) {
            return i;
        }
    }
    return n;
}

mt_status mt_series_merge(const mt_time *ta, const double *va, size_t na, const mt_time *tb,
                          const double *vb, size_t nb, mt_time *to, double *vo, size_t *n_out,
                          mt_error *err)
{
    size_t i = 0, j = 0, k = 0, bad;
    if (n_out) {
        *n_out = 0;
    }
    if (!n_out || (na > 0 && (!ta || !va)) || (nb > 0 && (!tb || !vb)) ||
        (na + nb > 0 && (!to || !vo))) {
        return mt_fail(err, MT_EINVAL, 0, "NULL argument");
    }
    if ((bad = first_not_increasing(ta, na)) != na) {
        return mt_fail(err, MT_EORDER, bad, "run a: time at index %zu is not after its predecessor",
                       bad);
    }
    if ((bad = first_not_increasing(tb, nb)) != nb) {
        return mt_fail(err, MT_EORDER, bad, "run b: time at index %zu is not after its predecessor",
                       bad);
    }
    while (i < na && j < nb) {
        if (ta[i] < tb[j]) {
            to[k] = ta[i];
            vo[k++] = va[i++];
        } else {
            /* equal times: b replaces a */
            i += ta[i] == tb[j];
            to[k] = tb[j];
            vo[k++] = vb[j++];
        }
    }
    if (i < na) {
        memcpy(to + k, ta + i, (na - i) * sizeof *to);
        memcpy(vo + k, va + i, (na - i) * sizeof *vo);
        k += na - i;
    }
    if (j < nb) {
        memcpy(to + k, tb + j, (nb - j) * sizeof *to);
        memcpy(vo + k, vb + j, (nb - j) * sizeof *vo);
        k += nb - j;
    }
    *n_out = k;
    return MT_OK;
}

/* ---- period summaries ----------------------------------------------------------- */

/* floor(t / p) for p > 0, without overflow. */
static int64_t floor_div(int64_t t, int64_t p)
{
    int64_t k = t / p;
    return (t % p < 0) ? k - 1 : k;
}

mt_status mt_series_summarize(const mt_time *t, const double *v, size_t n, mt_time period,
                              mt_block_summary *out, size_t cap, size_t *n_out, mt_error *err)
{
    size_t i = 0, count = 0, bad;
    int64_t k_last;
    if (n_out) {
        *n_out = 0;
    }
    if (!n_out || (n > 0 && (!t || !v)) || (cap > 0 && !out)) {
        return mt_fail(err, MT_EINVAL, 0, "NULL argument");
    }
    if (period <= 0) {
        return mt_fail(err, MT_EINVAL, 0, "period %lld µs is not positive", (long long)period);
    }
    if ((uint64_t)n > UINT32_MAX) {
        return mt_fail(err, MT_ELIMIT, 0, "%zu samples; summaries count at most 2^32 - 1", n);
    }
    if ((bad = first_not_increasing(t, n)) != n) {
        return mt_fail(err, MT_EORDER, bad, "time at index %zu is not after its predecessor",
                       bad);
    }
    /* The period of INT64_MAX is the last one: its end is not representable,
     * and every later sample belongs to it. */
    k_last = floor_div(INT64_MAX, period);
    while (i < n) {
        int64_t k = floor_div(t[i], period);
        size_t j = i + 1;
        if (k == k_last) {
            j = n;
        } else {
            /* (k + 1)·period lies in (t[i], INT64_MAX]: no overflow. */
            mt_time end = (k + 1) * period;
            while (j < n && t[j] < end) {
                j++;
            }
        }
        if (count < cap) {
            mt_block_summarize(t + i, v + i, j - i, &out[count]);
        }
        count++;
        i = j;
    }
    *n_out = count;
    if (count > cap) {
        return mt_fail(err, MT_ETRUNC, 0, "%zu periods hold samples, room for %zu", count, cap);
    }
    return MT_OK;
}

/* ---- packed summaries ------------------------------------------------------------- */

/* Record offsets (docs/formats/series.md). */
#define P_T_FIRST 0
#define P_T_LAST 8
#define P_MIN 16
#define P_MAX 24
#define P_FIRST 32
#define P_LAST 40
#define P_T_MIN 48
#define P_T_MAX 56
#define P_T_VFIRST 64
#define P_T_VLAST 72
#define P_N 80
#define P_N_SPECIAL 84
#define P_SPECIAL 88

size_t mt_summary_pack(const mt_block_summary *s, size_t n, uint8_t *out)
{
    size_t i;
    for (i = 0; i < n; i++) {
        if (s[i].n > UINT32_MAX || s[i].n_special > UINT32_MAX ||
            s[i].n + s[i].n_special == 0 || (unsigned)s[i].special >= MT_SV_COUNT) {
            return 0;
        }
    }
    for (i = 0; i < n; i++) {
        const mt_block_summary *r = &s[i];
        uint8_t *p = out + i * MT_SUMMARY_PACKED;
        memset(p, 0, MT_SUMMARY_PACKED);
        wr_u64le(p + P_T_FIRST, (uint64_t)r->t_first);
        wr_u64le(p + P_T_LAST, (uint64_t)r->t_last);
        if (r->n > 0) {
            wr_f64le(p + P_MIN, r->min);
            wr_f64le(p + P_MAX, r->max);
            wr_f64le(p + P_FIRST, r->first);
            wr_f64le(p + P_LAST, r->last);
            wr_u64le(p + P_T_MIN, (uint64_t)r->t_min);
            wr_u64le(p + P_T_MAX, (uint64_t)r->t_max);
            wr_u64le(p + P_T_VFIRST, (uint64_t)r->t_vfirst);
            wr_u64le(p + P_T_VLAST, (uint64_t)r->t_vlast);
        }
        wr_u32le(p + P_N, (uint32_t)r->n);
        wr_u32le(p + P_N_SPECIAL, (uint32_t)r->n_special);
        p[P_SPECIAL] = (uint8_t)(r->n_special ? r->special : MT_SV_NONE);
    }
    return n * MT_SUMMARY_PACKED;
}

/* Check one record at "p" (offset "pos") and fill "s". */
static mt_status unpack_one(const uint8_t *p, size_t pos, mt_block_summary *s, mt_error *err)
{
    uint32_t n = rd_u32le(p + P_N), n_special = rd_u32le(p + P_N_SPECIAL);
    uint8_t special = p[P_SPECIAL];
    uint64_t n_rows = (uint64_t)n + n_special;
    mt_time t_first = (mt_time)rd_u64le(p + P_T_FIRST), t_last = (mt_time)rd_u64le(p + P_T_LAST);
    size_t k;
    if (n_rows == 0) {
        return mt_fail(err, MT_ECORRUPT, pos + P_N, "a summary of no samples");
    }
    if (special >= MT_SV_COUNT || (n_special == 0) != (special == MT_SV_NONE)) {
        return mt_fail(err, MT_ECORRUPT, pos + P_SPECIAL,
                       "special kind %u with %u special values", special, (unsigned)n_special);
    }
    /* n_rows strictly increasing times span at least n_rows - 1 µs. */
    if (n_rows == 1 ? t_first != t_last
                    : (t_last <= t_first ||
                       (uint64_t)t_last - (uint64_t)t_first < n_rows - 1)) {
        return mt_fail(err, MT_ECORRUPT, pos + P_T_LAST,
                       "times %lld..%lld cannot hold %llu samples", (long long)t_first,
                       (long long)t_last, (unsigned long long)n_rows);
    }
    memset(s, 0, sizeof *s);
    s->t_first = t_first;
    s->t_last = t_last;
    s->n = n;
    s->n_special = n_special;
    s->special = (mt_sv)special;
    s->n_rows = n_rows;
    if (n == 0) {
        for (k = P_MIN; k < P_N; k++) {
            if (p[k] != 0) {
                return mt_fail(err, MT_ECORRUPT, pos + k,
                               "a summary without ordinary values has data at %zu", pos + k);
            }
        }
        s->min = s->max = s->first = s->last = mt_sv_value(MT_SV_MISSING);
        return MT_OK;
    }
    s->min = rd_f64le(p + P_MIN);
    s->max = rd_f64le(p + P_MAX);
    s->first = rd_f64le(p + P_FIRST);
    s->last = rd_f64le(p + P_LAST);
    s->t_min = (mt_time)rd_u64le(p + P_T_MIN);
    s->t_max = (mt_time)rd_u64le(p + P_T_MAX);
    s->t_vfirst = (mt_time)rd_u64le(p + P_T_VFIRST);
    s->t_vlast = (mt_time)rd_u64le(p + P_T_VLAST);
    if (!mt_sv_is_number(s->min) || !mt_sv_is_number(s->max) || !mt_sv_is_number(s->first) ||
        !mt_sv_is_number(s->last) || s->min > s->max || s->first < s->min ||
        s->first > s->max || s->last < s->min || s->last > s->max ||
        (n == 1 && (s->min != s->max || s->first != s->last))) {
        return mt_fail(err, MT_ECORRUPT, pos + P_MIN, "bad min/max/first/last");
    }
    /* The ordinary values lie between the first and last of them, inside
     * the summary; with no special value they are all the samples. */
    if (s->t_vfirst < t_first || s->t_vlast > t_last || s->t_min < s->t_vfirst ||
        s->t_min > s->t_vlast || s->t_max < s->t_vfirst || s->t_max > s->t_vlast ||
        (n == 1 ? s->t_vfirst != s->t_vlast
                : (s->t_vlast <= s->t_vfirst ||
                   (uint64_t)s->t_vlast - (uint64_t)s->t_vfirst < (uint64_t)n - 1)) ||
        (n_special == 0 && (s->t_vfirst != t_first || s->t_vlast != t_last))) {
        return mt_fail(err, MT_ECORRUPT, pos + P_T_MIN, "value times outside their summary");
    }
    return MT_OK;
}

mt_status mt_summary_unpack(const uint8_t *buf, size_t len, mt_block_summary *out, size_t cap,
                            size_t *n_out, mt_error *err)
{
    size_t count, i;
    mt_block_summary s, prev;
    mt_status st;
    if (n_out) {
        *n_out = 0;
    }
    if (!n_out || (len > 0 && !buf)) {
        return mt_fail(err, MT_EINVAL, 0, "NULL argument");
    }
    if (len % MT_SUMMARY_PACKED != 0) {
        return mt_fail(err, MT_ETRUNC, len, "%zu bytes: the last record is cut at %zu", len,
                       len);
    }
    if (cap > 0 && !out) {
        return mt_fail(err, MT_EINVAL, 0, "NULL output");
    }
    count = len / MT_SUMMARY_PACKED;
    for (i = 0; i < count; i++) {
        size_t pos = i * MT_SUMMARY_PACKED;
        if ((st = unpack_one(buf + pos, pos, &s, err)) != MT_OK) {
            return st;
        }
        if (i > 0 && s.t_first <= prev.t_last) {
            return mt_fail(err, MT_EORDER, pos + P_T_FIRST,
                           "summary %zu starts before the previous one ends", i);
        }
        if (i < cap) {
            out[i] = s;
        }
        prev = s;
    }
    *n_out = count;
    if (count > cap) {
        return mt_fail(err, MT_ETRUNC, 0, "%zu summaries, room for %zu", count, cap);
    }
    return MT_OK;
}

/* ---- folding packed summaries into buckets ------------------------------------------ */

mt_status mt_summary_fold_init(mt_summary_fold *f, mt_time t0, mt_time t1, size_t n_buckets,
                               mt_bucket *out, mt_error *err)
{
    if (!f || !out) {
        return mt_fail(err, MT_EINVAL, 0, "NULL argument");
    }
    if (n_buckets == 0 || t1 <= t0) {
        return mt_fail(err, MT_EINVAL, 0, "no buckets or an empty range");
    }
    memset(f, 0, sizeof *f);
    f->t0 = t0;
    f->t1 = t1;
    f->n_buckets = n_buckets;
    f->out = out;
    /* The empty buckets of mt_decimate_blocks(). */
    return mt_decimate_blocks(NULL, 0, NULL, NULL, t0, t1, n_buckets, out, NULL, err);
}

/* unpack_one() for the common record, one with ordinary values, that
 * passes every check: its checks in one expression and its fields set one
 * by one (no memset(), no error text). 0 when the record is anything else:
 * the caller then asks unpack_one(), which gives the same summary or the
 * error. A year chart folds 280,000 records. */
static int unpack_plain(const uint8_t *p, mt_block_summary *s)
{
    uint32_t n = rd_u32le(p + P_N), n_special = rd_u32le(p + P_N_SPECIAL);
    uint8_t special = p[P_SPECIAL];
    uint64_t n_rows = (uint64_t)n + n_special;
    mt_time t_first = (mt_time)rd_u64le(p + P_T_FIRST), t_last = (mt_time)rd_u64le(p + P_T_LAST);
    mt_time t_min, t_max, t_vfirst, t_vlast;
    double mn, mx, fi, la;
    if (n == 0 || special >= MT_SV_COUNT || (n_special == 0) != (special == MT_SV_NONE) ||
        (n_rows == 1 ? t_first != t_last
                     : (t_last <= t_first ||
                        (uint64_t)t_last - (uint64_t)t_first < n_rows - 1))) {
        return 0;
    }
    mn = rd_f64le(p + P_MIN);
    mx = rd_f64le(p + P_MAX);
    fi = rd_f64le(p + P_FIRST);
    la = rd_f64le(p + P_LAST);
    t_min = (mt_time)rd_u64le(p + P_T_MIN);
    t_max = (mt_time)rd_u64le(p + P_T_MAX);
    t_vfirst = (mt_time)rd_u64le(p + P_T_VFIRST);
    t_vlast = (mt_time)rd_u64le(p + P_T_VLAST);
    if (!mt_sv_is_number(mn) || !mt_sv_is_number(mx) || !mt_sv_is_number(fi) ||
        !mt_sv_is_number(la) || mn > mx || fi < mn || fi > mx || la < mn || la > mx ||
        (n == 1 && (mn != mx || fi != la))) {
        return 0;
    }
    if (t_vfirst < t_first || t_vlast > t_last || t_min < t_vfirst || t_min > t_vlast ||
        t_max < t_vfirst || t_max > t_vlast ||
        (n == 1 ? t_vfirst != t_vlast
                : (t_vlast <= t_vfirst ||
                   (uint64_t)t_vlast - (uint64_t)t_vfirst < (uint64_t)n - 1)) ||
        (n_special == 0 && (t_vfirst != t_first || t_vlast != t_last))) {
        return 0;
    }
    s->t_first = t_first;
    s->t_last = t_last;
    s->min = mn;
    s->max = mx;
    s->first = fi;
    s->last = la;
    s->t_min = t_min;
    s->t_max = t_max;
    s->t_vfirst = t_vfirst;
    s->t_vlast = t_vlast;
    s->n = n;
    s->n_special = n_special;
    s->special = (mt_sv)special;
    s->n_rows = n_rows;
    return 1;
}

mt_status mt_summary_fold_add(mt_summary_fold *f, const uint8_t *buf, size_t len, mt_error *err)
{
    size_t count, i;
    mt_block_summary s;
    mt_status st;
    if (!f || !f->out || (len > 0 && !buf)) {
        return mt_fail(err, MT_EINVAL, 0, "NULL argument");
    }
    if (len % MT_SUMMARY_PACKED != 0) {
        return mt_fail(err, MT_ETRUNC, len, "%zu bytes: the last record is cut at %zu", len,
                       len);
    }
    count = len / MT_SUMMARY_PACKED;
    for (i = 0; i < count; i++) {
        size_t pos = i * MT_SUMMARY_PACKED;
        if (!unpack_plain(buf + pos, &s) && (st = unpack_one(buf + pos, pos, &s, err)) != MT_OK) {
            return st;
        }
        /* Within a run as mt_summary_unpack() orders records; from one run
         * to the next as mt_decimate_blocks() orders blocks. */
        if (f->have_prev && (i > 0 ? s.t_first <= f->prev_last : s.t_first < f->prev_last)) {
            return mt_fail(err, MT_EORDER, pos + P_T_FIRST,
                           "summary %zu starts before the previous one ends", i);
        }
        f->have_prev = 1;
        f->prev_last = s.t_last;
        if (s.t_first < f->t0 || s.t_first >= f->t1) {
            continue;
        }
        /* The bucket's instants are worked out (128-bit) once per bucket,
         * not twice per record: hours arrive in order. */
        if (!(f->cur_end > f->cur_start && s.t_first >= f->cur_start &&
              s.t_first < f->cur_end)) {
            f->cur = mt__bucket_of(f->t0, f->t1, f->n_buckets, s.t_first);
            f->cur_start = mt__bucket_start(f->t0, f->t1, f->n_buckets, f->cur);
            f->cur_end = mt__bucket_start(f->t0, f->t1, f->n_buckets, f->cur + 1);
        }
        if (s.t_last >= f->cur_end) {
            return mt_fail(err, MT_EINVAL, pos + P_T_LAST,
                           "summary %zu crosses a bucket boundary: only its samples split it", i);
        }
        mt__bucket_merge(&f->out[f->cur], &s);
    }
    return MT_OK;
}
