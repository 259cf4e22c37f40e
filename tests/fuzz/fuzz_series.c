/* Fuzz target for series blocks and packed summaries (core/src/series.c).
 * The first byte picks what the rest is: even, a series block for
 * mt_series_info() and mt_series_decode(); odd, packed summaries for
 * mt_summary_unpack(). No crash, no unbounded allocation, and whatever is
 * accepted must hold up:
 *   - a decoded block has strictly increasing times that match its header,
 *     encodes again to a block that decodes to the same samples, and its
 *     hourly summaries pack and unpack exactly;
 *   - accepted summaries pack back to the very same bytes (the packed form
 *     is canonical) and mt_decimate_blocks() takes them. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mt/series.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Decoding is bounded by the format (2^20 samples); keep each run quick. */
#define MAX_DECODE ((size_t)1 << 16)
#define HOUR (INT64_C(3600000000))

static int same_bits(double a, double b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

static void check_summaries_round_trip(const mt_time *t, const double *v, size_t n)
{
    size_t cap = n, ns = 0, got = 0, i;
    mt_block_summary *s = malloc(cap * sizeof *s), *back = malloc(cap * sizeof *back);
    uint8_t *packed = malloc(cap * MT_SUMMARY_PACKED);
    mt_error err;
    if (!s || !back || !packed) {
        goto out;
    }
    if (mt_series_summarize(t, v, n, HOUR, s, cap, &ns, &err) != MT_OK) {
        abort();
    }
    if (mt_summary_pack(s, ns, packed) != ns * MT_SUMMARY_PACKED) {
        abort();
    }
    if (mt_summary_unpack(packed, ns * MT_SUMMARY_PACKED, back, cap, &got, &err) != MT_OK ||
        got != ns) {
        abort();
    }
    for (i = 0; i < ns; i++) {
        if (back[i].n != s[i].n || back[i].n_rows != s[i].n_rows ||
            back[i].t_first != s[i].t_first || back[i].t_last != s[i].t_last ||
            (s[i].n > 0 && (!same_bits(back[i].min, s[i].min) ||
                            !same_bits(back[i].max, s[i].max) || back[i].t_min != s[i].t_min ||
                            back[i].t_vlast != s[i].t_vlast))) {
            abort();
        }
    }
out:
    free(s);
    free(back);
    free(packed);
}

static void fuzz_block(const uint8_t *data, size_t size)
{
    size_t n = 0, got = 0, again_n = 0, i, cap, len2 = 0;
    mt_time t_first, t_last, *t = NULL, *t2 = NULL;
    double *v = NULL, *v2 = NULL;
    uint8_t *again = NULL;
    mt_error err;
    mt_status st_info = mt_series_info(data, size, &n, &t_first, &t_last, &err);
    cap = n < MAX_DECODE ? n : MAX_DECODE;
    t = malloc((cap + 1) * sizeof *t);
    v = malloc((cap + 1) * sizeof *v);
    if (!t || !v) {
        goto out;
    }
    if (mt_series_decode(data, size, t, v, cap, &got, &err) != MT_OK) {
        if (st_info == MT_OK && err.code == MT_ETRUNC && got != n) {
            abort(); /* a valid header must report its count */
        }
        goto out;
    }
    if (st_info != MT_OK || got != n || t[0] != t_first || t[n - 1] != t_last) {
        abort();
    }
    for (i = 1; i < n; i++) {
        if (t[i] <= t[i - 1]) {
            abort();
        }
    }
    if (mt_series_encode(t, v, n, &again, &len2, &err) != MT_OK) {
        abort();
    }
    t2 = malloc(n * sizeof *t2);
    v2 = malloc(n * sizeof *v2);
    if (t2 && v2) {
        if (mt_series_decode(again, len2, t2, v2, n, &again_n, &err) != MT_OK || again_n != n) {
            abort();
        }
        for (i = 0; i < n; i++) {
            if (t2[i] != t[i] || !same_bits(v2[i], v[i])) {
                abort();
            }
        }
    }
    check_summaries_round_trip(t, v, n);
out:
    mt_series_free(again);
    free(t);
    free(v);
    free(t2);
    free(v2);
}

static mt_status no_decode(void *ctx, size_t block, mt_time *t, double *v, size_t cap,
                           size_t *n, mt_error *err)
{
    (void)ctx;
    (void)t;
    (void)v;
    (void)cap;
    (void)n;
    return mt_fail(err, MT_ENOTFOUND, block, "no samples here");
}

static void fuzz_summaries(const uint8_t *data, size_t size)
{
    size_t cap = size / MT_SUMMARY_PACKED, got = 0;
    mt_block_summary *s = malloc((cap + 1) * sizeof *s);
    uint8_t *again = malloc(size + 1);
    mt_bucket buckets[1];
    mt_error err;
    if (!s || !again) {
        goto out;
    }
    if (mt_summary_unpack(data, size, s, cap, &got, &err) != MT_OK) {
        goto out;
    }
    if (mt_summary_pack(s, got, again) != size || memcmp(again, data, size) != 0) {
        abort();
    }
    if (got > 0 && s[got - 1].t_last < INT64_MAX) {
        /* One bucket over everything: every summary lies inside it, so
         * nothing is decoded (mt_decimate_blocks() would allocate a
         * summary's n_rows, up to 2^33, to decode one) and the counts add
         * up. */
        uint64_t n_ord = 0, n_special = 0;
        size_t i;
        if (mt_decimate_blocks(s, got, no_decode, NULL, s[0].t_first, s[got - 1].t_last + 1, 1,
                               buckets, NULL, &err) != MT_OK) {
            abort();
        }
        for (i = 0; i < got; i++) {
            n_ord += s[i].n;
            n_special += s[i].n_special;
        }
        if (buckets[0].n != n_ord || buckets[0].n_special != n_special) {
            abort();
        }
        /* Folded straight from the bytes: the same bucket, bit for bit. */
        {
            mt_bucket folded[1];
            mt_summary_fold f;
            if (mt_summary_fold_init(&f, s[0].t_first, s[got - 1].t_last + 1, 1, folded,
                                     &err) != MT_OK ||
                mt_summary_fold_add(&f, data, size, &err) != MT_OK ||
                memcmp(&folded[0].min, &buckets[0].min, sizeof(double)) != 0 ||
                memcmp(&folded[0].max, &buckets[0].max, sizeof(double)) != 0 ||
                memcmp(&folded[0].first, &buckets[0].first, sizeof(double)) != 0 ||
                memcmp(&folded[0].last, &buckets[0].last, sizeof(double)) != 0 ||
                folded[0].n != buckets[0].n || folded[0].n_special != buckets[0].n_special ||
                folded[0].special != buckets[0].special || folded[0].t_min != buckets[0].t_min ||
                folded[0].t_max != buckets[0].t_max || folded[0].t_first != buckets[0].t_first ||
                folded[0].t_last != buckets[0].t_last) {
                abort();
            }
        }
    }
out:
    free(s);
    free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    if (data[0] % 2 == 0) {
        fuzz_block(data + 1, size - 1);
    } else {
        fuzz_summaries(data + 1, size - 1);
    }
    return 0;
}
