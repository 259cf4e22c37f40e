/* Series blocks, merging, period summaries and their packed form
 * (core/src/series.c, docs/formats/series.md). */
#include <float.h>
#include <stdint.h>
#include <stdlib.h>

#include "../t.h"
#include "alloc_int.h"
#include "mt/decimate.h"
#include "mt/series.h"

#define XXH_INLINE_ALL
#include "xxhash.h"

#define HOUR (INT64_C(3600) * MT_US_PER_S)
#define T2024 INT64_C(1704067200000000) /* 2024-01-01T00:00Z */

static uint64_t rng_state = 0x2545F4914F6CDD1Du;

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

/* A finite double with random mantissa bits (nothing to compress). */
static double random_bits_double(void)
{
    uint64_t b = (rnd() & UINT64_C(0x800FFFFFFFFFFFFF)) | ((UINT64_C(990) + rnd() % 60) << 52);
    double v;
    memcpy(&v, &b, sizeof v);
    return v;
}

static void wr32(uint8_t *p, uint32_t v)
{
    int i;
    for (i = 0; i < 4; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static void wr64(uint8_t *p, uint64_t v)
{
    int i;
    for (i = 0; i < 8; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

static uint64_t rd64(const uint8_t *p)
{
    uint64_t v = 0;
    int i;
    for (i = 7; i >= 0; i--) {
        v = (v << 8) | p[i];
    }
    return v;
}

/* Recompute the checksum of a block after editing it. */
static void reseal(uint8_t *b, size_t len)
{
    wr64(b + len - 8, XXH64(b, len - 8, 0));
}

static int same_bits(double a, double b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

/* Whether "got" is what a block gives back for "want": the same bits for an
 * ordinary number, the same kind (as mt_sv_value) for a special value. */
static int same_sample(double want, double got)
{
    mt_sv k = mt_sv_kind(want);
    return k == MT_SV_NONE ? same_bits(want, got) : same_bits(got, mt_sv_value(k));
}

/* Every field, doubles bit for bit. */
static int same_summary(const mt_block_summary *a, const mt_block_summary *b)
{
    return a->t_first == b->t_first && a->t_last == b->t_last && same_bits(a->min, b->min) &&
           same_bits(a->max, b->max) && same_bits(a->first, b->first) &&
           same_bits(a->last, b->last) && a->t_min == b->t_min && a->t_max == b->t_max &&
           a->t_vfirst == b->t_vfirst && a->t_vlast == b->t_vlast && a->n == b->n &&
           a->n_special == b->n_special && a->special == b->special && a->n_rows == b->n_rows;
}

/* 0 when equal, else the index of the first differing bucket plus one. */
static size_t buckets_differ(const mt_bucket *a, const mt_bucket *b, size_t nb)
{
    size_t i;
    for (i = 0; i < nb; i++) {
        if (!same_bits(a[i].min, b[i].min) || !same_bits(a[i].max, b[i].max) ||
            !same_bits(a[i].first, b[i].first) || !same_bits(a[i].last, b[i].last) ||
            a[i].t_first != b[i].t_first || a[i].t_last != b[i].t_last ||
            a[i].t_min != b[i].t_min || a[i].t_max != b[i].t_max || a[i].n != b[i].n ||
            a[i].n_special != b[i].n_special || a[i].special != b[i].special) {
            return i + 1;
        }
    }
    return 0;
}

/* Encode, check info, decode and compare; returns the block length or 0
 * after failing the test. */
static size_t round_trip(const mt_time *t, const double *v, size_t n)
{
    uint8_t *b = NULL;
    size_t len = 0, got = 0, i, info_n = 0;
    mt_time *t2 = malloc((n + 1) * sizeof *t2), tf = 0, tl = 0;
    double *v2 = malloc((n + 1) * sizeof *v2);
    mt_error e;
    mt_status st;
    if (!t2 || !v2) {
        free(t2);
        free(v2);
        t__fail(__FILE__, __LINE__, "no memory");
        return 0;
    }
    st = mt_series_encode(t, v, n, &b, &len, &e);
    if (st == MT_OK) {
        st = mt_series_info(b, len, &info_n, &tf, &tl, &e);
    }
    if (st == MT_OK) {
        st = mt_series_decode(b, len, t2, v2, n, &got, &e);
    }
    if (st != MT_OK) {
        t__fail(__FILE__, __LINE__, "%zu samples: %s at %zu: %s", n, mt_errname(st), e.pos,
                e.msg);
        len = 0;
        goto out;
    }
    if (info_n != n || got != n || tf != t[0] || tl != t[n - 1]) {
        t__fail(__FILE__, __LINE__, "%zu samples: info %zu, decoded %zu", n, info_n, got);
        len = 0;
        goto out;
    }
    for (i = 0; i < n; i++) {
        if (t2[i] != t[i] || !same_sample(v[i], v2[i])) {
            t__fail(__FILE__, __LINE__, "sample %zu of %zu: %lld %.17g != %lld %.17g", i, n,
                    (long long)t2[i], v2[i], (long long)t[i], v[i]);
            len = 0;
            goto out;
        }
    }
out:
    mt_series_free(b);
    free(t2);
    free(v2);
    return len;
}

/* A small block with a bit of everything: irregular times, a DEC channel
 * with two special runs. */
static uint8_t *make_small(size_t *len, size_t *n_out)
{
    static const mt_time t[12] = {-3000000, -2000000, -1000000, 0,       1000000, 2000007,
                                  3000000,  4000000,  5000000,  9000000, 9000001, 9500000};
    double v[12];
    uint8_t *b = NULL;
    mt_error e;
    size_t i;
    for (i = 0; i < 12; i++) {
        v[i] = 20.0 + (double)(i % 4) * 0.25;
    }
    v[3] = mt_sv_value(MT_SV_BREAK);
    v[7] = v[8] = mt_sv_value(MT_SV_OVER_POS);
    *n_out = 12;
    if (mt_series_encode(t, v, 12, &b, len, &e) != MT_OK) {
        return NULL;
    }
    return b;
}

/* ---- encode: unhappy paths ------------------------------------------------------ */

static void series_encode_rejects_bad_input(void)
{
    mt_time t[4] = {10, 20, 20, 30};
    double v[4] = {1, 2, 3, 4};
    uint8_t *b = (uint8_t *)1;
    size_t len = 99;
    mt_error e;
    T_ERR(mt_series_encode(NULL, v, 1, &b, &len, &e), MT_EINVAL);
    T_TRUE(b == NULL);
    T_EQ_INT(len, 0);
    T_ERR(mt_series_encode(t, NULL, 1, &b, &len, &e), MT_EINVAL);
    T_ERR(mt_series_encode(t, v, 1, NULL, &len, &e), MT_EINVAL);
    T_ERR(mt_series_encode(t, v, 1, &b, NULL, &e), MT_EINVAL);
    T_ERR(mt_series_encode(t, v, 0, &b, &len, &e), MT_EINVAL);
    T_ERR(mt_series_encode(t, v, MT_SERIES_MAX_N + 1, &b, &len, &e), MT_ELIMIT);
    /* equal times are refused: a block's times strictly increase */
    T_ERR(mt_series_encode(t, v, 4, &b, &len, &e), MT_EORDER);
    T_EQ_INT(e.pos, 2);
    T_TRUE(b == NULL);
    t[2] = 5;
    T_ERR(mt_series_encode(t, v, 4, &b, &len, &e), MT_EORDER);
    T_EQ_INT(e.pos, 2);
    T_ERR(mt_series_encode(t, v, 4, &b, &len, NULL), MT_EORDER);
}

/* ---- decode: unhappy paths ------------------------------------------------------ */

static void series_reports_offset_of_every_truncation(void)
{
    size_t len, n, cut;
    uint8_t *b = make_small(&len, &n);
    mt_time t[12];
    double v[12];
    T_TRUE(b != NULL);
    for (cut = 0; cut < len; cut++) {
        mt_error e, e2;
        size_t got = 99, info_n = 99;
        mt_status st = mt_series_decode(b, cut, t, v, 12, &got, &e);
        mt_status st2 = mt_series_info(b, cut, &info_n, NULL, NULL, &e2);
        if (st != MT_ETRUNC || e.pos != cut || got != 0 || st2 != MT_ETRUNC || e2.pos != cut ||
            info_n != 0) {
            mt_series_free(b);
            T_FAIL("cut at %zu: %s at %zu (%s), info %s", cut, mt_errname(st), e.pos, e.msg,
                   mt_errname(st2));
        }
    }
    mt_series_free(b);
}

static void series_catches_every_single_bit_flip(void)
{
    size_t len, n, i;
    int bit;
    uint8_t *b = make_small(&len, &n);
    mt_time t[12];
    double v[12];
    T_TRUE(b != NULL);
    for (i = 0; i < len; i++) {
        for (bit = 0; bit < 8; bit++) {
            mt_error e;
            size_t got;
            mt_status st;
            b[i] ^= (uint8_t)(1u << bit);
            st = mt_series_decode(b, len, t, v, 12, &got, &e);
            b[i] ^= (uint8_t)(1u << bit);
            /* In the header a flip may be caught by a header check first;
             * behind it only the checksum can see it. */
            if (st == MT_OK || (i >= MT_SERIES_HEADER && st != MT_ECHECKSUM)) {
                mt_series_free(b);
                T_FAIL("flip of bit %d at %zu: %s", bit, i, mt_errname(st));
            }
            if (st == MT_ECHECKSUM && e.pos != len - 8) {
                mt_series_free(b);
                T_FAIL("flip at %zu: checksum error at %zu", i, e.pos);
            }
        }
    }
    mt_series_free(b);
}

static void series_refuses_huge_count_before_allocating(void)
{
    size_t len, n, got = 5;
    uint8_t *b = make_small(&len, &n);
    mt_time t[12];
    double v[12];
    mt_error e;
    T_TRUE(b != NULL);
    mt__fault_fail_nth(1);
    wr32(b + 1, 0xFFFFFFFFu);
    reseal(b, len);
    T_ERR(mt_series_decode(b, len, t, v, 12, &got, &e), MT_ECORRUPT);
    T_EQ_INT(e.pos, 1);
    T_EQ_INT(got, 0);
    wr32(b + 1, (uint32_t)MT_SERIES_MAX_N + 1);
    reseal(b, len);
    T_ERR(mt_series_info(b, len, &got, NULL, NULL, &e), MT_ECORRUPT);
    T_EQ_INT(e.pos, 1);
    wr32(b + 1, 0);
    reseal(b, len);
    T_ERR(mt_series_decode(b, len, t, v, 12, &got, &e), MT_ECORRUPT);
    T_EQ_INT(e.pos, 1);
    /* more samples than the time span can hold: 3 samples in 1 µs */
    wr32(b + 1, 3);
    wr64(b + 13, rd64(b + 5) + 1);
    reseal(b, len);
    T_ERR(mt_series_decode(b, len, t, v, 12, &got, &e), MT_ECORRUPT);
    T_EQ_INT(e.pos, 13);
    T_TRUE(!mt__fault_fired());
    mt__fault_fail_nth(0);
    mt_series_free(b);
}

static void series_decode_reports_small_buffers_with_the_count(void)
{
    size_t len, n, got = 0;
    uint8_t *b = make_small(&len, &n);
    mt_time t[12];
    double v[12];
    mt_error e;
    T_TRUE(b != NULL);
    T_ERR(mt_series_decode(b, len, t, v, 11, &got, &e), MT_ETRUNC);
    T_EQ_INT(got, 12);
    T_ERR(mt_series_decode(b, len, NULL, NULL, 0, &got, &e), MT_ETRUNC);
    T_EQ_INT(got, 12);
    T_ERR(mt_series_decode(b, len, NULL, v, 12, &got, &e), MT_EINVAL);
    T_ERR(mt_series_decode(b, len, t, v, 12, NULL, &e), MT_EINVAL);
    T_ERR(mt_series_decode(NULL, 10, t, v, 12, &got, &e), MT_EINVAL);
    T_OK_E(mt_series_decode(b, len, t, v, 12, &got, &e), &e);
    T_EQ_INT(got, 12);
    mt_series_free(b);
}

static void series_rejects_wrong_kind_version_and_stray_bytes(void)
{
    size_t len, n, got;
    uint8_t *b = make_small(&len, &n), *longer;
    mt_time t[12];
    double v[12];
    mt_error e;
    T_TRUE(b != NULL);
    T_EQ_INT(b[0], 0xA1);
    b[0] = 0x4D; /* "M" of a HOK file */
    T_ERR(mt_series_decode(b, len, t, v, 12, &got, &e), MT_EFORMAT);
    T_EQ_INT(e.pos, 0);
    b[0] = 0xA2;
    T_ERR(mt_series_info(b, len, &got, NULL, NULL, &e), MT_EVERSION);
    T_ERR(mt_series_info(b, 0, &got, NULL, NULL, &e), MT_ETRUNC);
    b[0] = 0xA1;
    longer = malloc(len + 1);
    T_TRUE(longer != NULL);
    memcpy(longer, b, len);
    longer[len] = 0;
    T_ERR(mt_series_decode(longer, len + 1, t, v, 12, &got, &e), MT_ECORRUPT);
    T_EQ_INT(e.pos, len);
    free(longer);
    mt_series_free(b);
}

/* Sections that are wrong behind a valid checksum: what a buggy writer or a
 * fuzzer produces. Each names the offset of the section at fault. */
static void series_reports_offset_of_corrupt_section_with_valid_checksum(void)
{
    size_t len, n, got, tl, vs;
    uint8_t *b = make_small(&len, &n);
    mt_time t[12];
    double v[12];
    mt_error e;
    T_TRUE(b != NULL);
    tl = rd32(b + 21);
    vs = MT_SERIES_HEADER + tl;
    /* unknown value encoding */
    b[vs] = 9;
    reseal(b, len);
    T_ERR(mt_series_decode(b, len, t, v, 12, &got, &e), MT_ECORRUPT);
    T_EQ_INT(e.pos, vs);
    T_OK_E(mt_series_info(b, len, &got, NULL, NULL, &e), &e); /* info reads no section */
    b[vs] = 2;
    reseal(b, len);
    T_OK_E(mt_series_decode(b, len, t, v, 12, &got, &e), &e);
    /* the last time disagrees with the header */
    wr64(b + 13, rd64(b + 13) + 1);
    reseal(b, len);
    T_ERR(mt_series_decode(b, len, t, v, 12, &got, &e), MT_ECORRUPT);
    T_EQ_INT(e.pos, MT_SERIES_HEADER);
    wr64(b + 13, rd64(b + 13) - 1);
    /* the time section does not start at t_first */
    wr64(b + MT_SERIES_HEADER, rd64(b + MT_SERIES_HEADER) + 1);
    reseal(b, len);
    T_ERR(mt_series_info(b, len, &got, NULL, NULL, &e), MT_ECORRUPT);
    T_EQ_INT(e.pos, MT_SERIES_HEADER);
    mt_series_free(b);
}

/* Time sections the HOK2 codec accepts but a block must not: equal times,
 * and a constant delta of 2^63 that wraps a series backwards. */
static void series_rejects_times_that_do_not_strictly_increase(void)
{
    uint8_t b[MT_SERIES_HEADER + 25 + 10 + 8];
    size_t len = sizeof b, got;
    mt_time t[3];
    double v[3];
    mt_error e;
    uint8_t *p = b + MT_SERIES_HEADER;
    memset(b, 0, sizeof b);
    b[0] = 0xA1;
    wr32(b + 1, 3);
    wr64(b + 5, 0);
    wr64(b + 13, 5);
    wr32(b + 21, 25);
    wr32(b + 25, 10);
    /* t = 0, 0, 5: d1 = 0, dod_min = 5, w = 0 */
    wr64(p, 0);
    wr64(p + 8, 0);
    wr64(p + 16, 5);
    p[24] = 0;
    p += 25;
    p[0] = 1; /* CONST */
    p[1] = 0; /* no runs */
    {
        double one = 1.0;
        uint64_t bits;
        memcpy(&bits, &one, 8);
        wr64(p + 2, bits);
    }
    reseal(b, len);
    T_OK_E(mt_series_info(b, len, &got, NULL, NULL, &e), &e);
    T_ERR(mt_series_decode(b, len, t, v, 3, &got, &e), MT_ECORRUPT);
    T_EQ_INT(e.pos, MT_SERIES_HEADER);
    /* t = -2^62, 2^62, -2^62 (wrapped): d1 = 2^63, dod_min = 0, w = 0 */
    p = b + MT_SERIES_HEADER;
    wr64(b + 5, (uint64_t)-(INT64_C(1) << 62));
    wr64(b + 13, (uint64_t)-(INT64_C(1) << 62) + 7);
    wr64(p, (uint64_t)-(INT64_C(1) << 62));
    wr64(p + 8, UINT64_C(1) << 63);
    wr64(p + 16, 0);
    reseal(b, len);
    T_ERR(mt_series_decode(b, len, t, v, 3, &got, &e), MT_ECORRUPT);
    T_EQ_INT(e.pos, MT_SERIES_HEADER);
}

static void series_encode_oom_loop(void)
{
    mt_time t[100];
    double v[100];
    long k;
    size_t i;
    for (i = 0; i < 100; i++) {
        t[i] = (mt_time)i * 1000;
        v[i] = (double)i * 0.5;
    }
    for (k = 1; k < 10; k++) {
        uint8_t *b = (uint8_t *)1;
        size_t len = 7;
        mt_error e;
        mt_status st;
        mt__fault_fail_nth(k);
        st = mt_series_encode(t, v, 100, &b, &len, &e);
        if (!mt__fault_fired()) {
            mt__fault_fail_nth(0);
            T_OK_E(st, &e);
            mt_series_free(b);
            break;
        }
        mt__fault_fail_nth(0);
        T_ERR(st, MT_ENOMEM);
        T_TRUE(b == NULL);
        T_EQ_INT(len, 0);
    }
    T_TRUE(k > 1 && k < 10);
}

/* ---- round trips ------------------------------------------------------------------ */

/* The worked example of docs/formats/series.md, byte for byte. */
static void series_writes_the_documented_example(void)
{
    static const uint8_t want[] = {
        0xA1, 0x03, 0x00, 0x00, 0x00,                         /* version 1, n = 3 */
        0x00, 0x20, 0x21, 0x10, 0xD7, 0x0D, 0x06, 0x00,       /* t_first */
        0x00, 0xAC, 0xA7, 0x57, 0xD7, 0x0D, 0x06, 0x00,       /* t_last */
        0x19, 0x00, 0x00, 0x00, 0x0A, 0x00, 0x00, 0x00,       /* time_len 25, value_len 10 */
        0x00, 0x20, 0x21, 0x10, 0xD7, 0x0D, 0x06, 0x00,       /* t0 */
        0x00, 0x46, 0xC3, 0x23, 0x00, 0x00, 0x00, 0x00,       /* d1 = 600 s */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* dod_min 0, w 0 */
        0x02, 0x01, 0x01, 0x00, 0x04,                         /* DEC, 1 run: gap 1, len 1, break */
        0x02, 0xE6, 0x20, 0x0A, 0x00,                         /* k 2, q0 2099, dmin 5, w 0 */
    };
    const mt_time t[3] = {T2024, T2024 + 600 * MT_US_PER_S, T2024 + 1200 * MT_US_PER_S};
    double v[3] = {20.99, 0, 21.04};
    uint8_t *b = NULL;
    size_t len = 0, i;
    mt_error e;
    v[1] = mt_sv_value(MT_SV_BREAK);
    T_OK_E(mt_series_encode(t, v, 3, &b, &len, &e), &e);
    T_EQ_INT(len, sizeof want + 8);
    for (i = 0; i < sizeof want; i++) {
        if (b[i] != want[i]) {
            printf("# got:");
            for (i = 0; i < len; i++) {
                printf(" %02x", b[i]);
            }
            printf("\n");
            mt_series_free(b);
            T_FAIL("byte %zu differs", i);
        }
    }
    printf("# example checksum: %016llx\n", (unsigned long long)rd64(b + len - 8));
    T_EQ_U64(rd64(b + len - 8), XXH64(want, sizeof want, 0));
    mt_series_free(b);
}

static void series_round_trips_every_special_kind(void)
{
    mt_time t[16];
    double v[16];
    size_t i, k;
    uint64_t odd_nan_bits = UINT64_C(0x7FF4000000000123);
    for (i = 0; i < 16; i++) {
        t[i] = INT64_C(-5000000) + (mt_time)(i * i) * 1000;
        v[i] = 1.5 * (double)i;
    }
    for (k = 1; k < MT_SV_COUNT; k++) {
        v[k] = mt_sv_value((mt_sv)k);
    }
    v[7] = HUGE_VAL;  /* +over */
    v[8] = -HUGE_VAL; /* -over */
    memcpy(&v[9], &odd_nan_bits, 8); /* error */
    v[10] = v[11] = v[12] = mt_sv_value(MT_SV_MISSING);
    T_TRUE(round_trip(t, v, 16) > 0);
    /* all special: EMPTY values */
    for (i = 0; i < 16; i++) {
        v[i] = mt_sv_value((mt_sv)(1 + i % 5));
    }
    T_TRUE(round_trip(t, v, 16) > 0);
    /* only specials of one kind: one run */
    for (i = 0; i < 16; i++) {
        v[i] = mt_sv_value(MT_SV_MISSING);
    }
    T_TRUE(round_trip(t, v, 16) > 0);
}

static void series_round_trips_one_sample(void)
{
    mt_time t = -1;
    double v = -0.0;
    size_t len = round_trip(&t, &v, 1);
    T_TRUE(len > 0);
    T_EQ_INT(len, MT_SERIES_HEADER + 8 + 10 + 8);
    v = mt_sv_value(MT_SV_OVER_NEG);
    T_TRUE(round_trip(&t, &v, 1) > 0);
    t = INT64_MAX;
    v = DBL_MAX;
    T_TRUE(round_trip(&t, &v, 1) > 0);
    t = INT64_MIN;
    v = -DBL_MIN;
    T_TRUE(round_trip(&t, &v, 1) > 0);
}

static void series_round_trips_irregular_and_extreme_times(void)
{
    mt_time t[300];
    double v[300];
    size_t i;
    mt_time cur = -INT64_C(86400000000) * 400; /* 1968 */
    for (i = 0; i < 300; i++) {
        cur += 1 + (mt_time)rnd_below(i % 7 == 0 ? 100000000 : 1000);
        t[i] = cur;
        v[i] = (double)(int)rnd_below(1000) / 8.0;
    }
    T_TRUE(round_trip(t, v, 300) > 0);
    /* the whole time line in two samples, and in three */
    t[0] = INT64_MIN;
    t[1] = INT64_MAX;
    T_TRUE(round_trip(t, v, 2) > 0);
    t[1] = 0;
    t[2] = INT64_MAX;
    T_TRUE(round_trip(t, v, 3) > 0);
    /* microsecond steps straddling the epoch */
    for (i = 0; i < 300; i++) {
        t[i] = (mt_time)i - 150;
    }
    T_TRUE(round_trip(t, v, 300) > 0);
}

static void series_round_trips_constant_and_noisy_signals(void)
{
    enum { N = 1440 };
    mt_time *t = malloc(N * sizeof *t);
    double *v = malloc(N * sizeof *v);
    size_t i, len;
    T_TRUE(t && v);
    for (i = 0; i < N; i++) {
        t[i] = T2024 + (mt_time)i * MT_US_PER_MIN;
        v[i] = 230.0;
    }
    /* CONST: header, 25-byte times, 10-byte values, checksum */
    len = round_trip(t, v, N);
    T_EQ_INT(len, MT_SERIES_HEADER + 25 + 10 + 8);
    for (i = 0; i < N; i++) {
        v[i] = random_bits_double();
    }
    len = round_trip(t, v, N);
    T_TRUE(len > 8 * N && len < 8 * N + 100); /* RAW */
    for (i = 0; i < N; i++) {
        v[i] = sin((double)i * 0.01) / 3.0;
    }
    T_TRUE(round_trip(t, v, N) > 0); /* XOR */
    for (i = 0; i < N; i++) {
        v[i] = i % 2 ? -0.0 : 0.0;
    }
    T_TRUE(round_trip(t, v, N) > 0);
    for (i = 0; i < N; i++) {
        v[i] = i % 3 ? DBL_MAX : -DBL_MAX;
    }
    T_TRUE(round_trip(t, v, N) > 0);
    free(t);
    free(v);
}

/* The realistic case the server stores: a logger's temperature at 0.01 °C
 * with noise, one day at one minute; and the worst case, noise in every bit. */
static void series_bytes_per_sample_of_a_logger_day(void)
{
    enum { N = 1440 };
    mt_time t[N];
    double v[N];
    size_t i, len_temp, len_noise;
    double temp = 21.5;
    for (i = 0; i < N; i++) {
        t[i] = T2024 + (mt_time)i * MT_US_PER_MIN;
        temp += ((double)(int)rnd_below(7) - 3.0) * 0.01 +
                0.002 * sin(2 * 3.14159265358979 * (double)i / (double)N);
        v[i] = round(temp * 100.0) / 100.0;
    }
    len_temp = round_trip(t, v, N);
    for (i = 0; i < N; i++) {
        v[i] = random_bits_double();
    }
    len_noise = round_trip(t, v, N);
    printf("# one day at one minute: temperature at 0.01 with noise %zu bytes (%.2f B/sample);"
           " random doubles %zu bytes (%.2f B/sample)\n",
           len_temp, (double)len_temp / N, len_noise, (double)len_noise / N);
    T_TRUE(len_temp > 0 && len_temp < N);
    T_TRUE(len_noise > 8 * N);
}

static void series_round_trips_a_million_samples(void)
{
    size_t n = MT_SERIES_MAX_N, i;
    mt_time *t = malloc(n * sizeof *t);
    double *v = malloc(n * sizeof *v);
    size_t len;
    T_TRUE(t && v);
    for (i = 0; i < n; i++) {
        t[i] = T2024 + (mt_time)i * 82000 + (i % 1000 == 7 ? 13 : 0);
        v[i] = i % 50000 == 3 ? mt_sv_value(MT_SV_MISSING)
                              : (double)((int)(i % 977) - (int)rnd_below(5)) / 1000.0;
    }
    len = round_trip(t, v, n);
    printf("# 2^20 samples: %zu bytes (%.3f B/sample)\n", len, (double)len / (double)n);
    T_TRUE(len > 0 && len < 4 * n);
    free(t);
    free(v);
}

/* ---- merge ---------------------------------------------------------------------- */

static void series_merge_by_hand(void)
{
    const mt_time ta[5] = {1, 3, 5, 7, 9};
    const double va[5] = {10, 30, 50, 70, 90};
    const mt_time tb[4] = {0, 5, 6, 9};
    const double vb[4] = {-0.0, 55, 66, 99};
    const mt_time want_t[7] = {0, 1, 3, 5, 6, 7, 9};
    const double want_v[7] = {-0.0, 10, 30, 55, 66, 70, 99};
    mt_time to[9];
    double vo[9];
    size_t n = 0, i;
    mt_error e;
    T_OK_E(mt_series_merge(ta, va, 5, tb, vb, 4, to, vo, &n, &e), &e);
    T_EQ_INT(n, 7);
    for (i = 0; i < 7; i++) {
        T_EQ_INT(to[i], want_t[i]);
        T_SAME_DOUBLE(vo[i], want_v[i]);
    }
    /* b replaces a on equal times, whichever way round */
    T_OK_E(mt_series_merge(tb, vb, 4, ta, va, 5, to, vo, &n, &e), &e);
    T_EQ_INT(n, 7);
    T_SAME_DOUBLE(vo[3], 50.0);
    T_SAME_DOUBLE(vo[6], 90.0);
    /* the same run twice: b wins everywhere */
    T_OK_E(mt_series_merge(ta, vb, 4, ta, va, 4, to, vo, &n, &e), &e);
    T_EQ_INT(n, 4);
    T_SAME_DOUBLE(vo[0], 10.0);
}

static void series_merge_handles_empty_and_disjoint_runs(void)
{
    const mt_time ta[3] = {-5, 0, 5};
    const double va[3] = {1, 2, 3};
    const mt_time tb[2] = {10, 20};
    const double vb[2] = {4, 5};
    mt_time to[5];
    double vo[5];
    size_t n = 9;
    mt_error e;
    T_OK_E(mt_series_merge(NULL, NULL, 0, NULL, NULL, 0, NULL, NULL, &n, &e), &e);
    T_EQ_INT(n, 0);
    T_OK_E(mt_series_merge(ta, va, 3, NULL, NULL, 0, to, vo, &n, &e), &e);
    T_EQ_INT(n, 3);
    T_EQ_INT(to[2], 5);
    T_OK_E(mt_series_merge(NULL, NULL, 0, tb, vb, 2, to, vo, &n, &e), &e);
    T_EQ_INT(n, 2);
    T_EQ_INT(to[1], 20);
    T_OK_E(mt_series_merge(tb, vb, 2, ta, va, 3, to, vo, &n, &e), &e);
    T_EQ_INT(n, 5);
    T_EQ_INT(to[0], -5);
    T_EQ_INT(to[3], 10);
    T_SAME_DOUBLE(vo[4], 5.0);
}

static void series_merge_rejects_unordered_runs(void)
{
    const mt_time good[3] = {1, 2, 3};
    const mt_time dup[3] = {1, 2, 2};
    const mt_time back[4] = {1, 2, 3, 0};
    const double v[4] = {0, 0, 0, 0};
    mt_time to[8];
    double vo[8];
    size_t n = 9;
    mt_error e;
    T_ERR(mt_series_merge(dup, v, 3, good, v, 3, to, vo, &n, &e), MT_EORDER);
    T_EQ_INT(e.pos, 2);
    T_TRUE(strstr(e.msg, "run a") != NULL);
    T_EQ_INT(n, 0);
    T_ERR(mt_series_merge(good, v, 3, back, v, 4, to, vo, &n, &e), MT_EORDER);
    T_EQ_INT(e.pos, 3);
    T_TRUE(strstr(e.msg, "run b") != NULL);
    T_ERR(mt_series_merge(good, v, 3, good, v, 3, NULL, vo, &n, &e), MT_EINVAL);
    T_ERR(mt_series_merge(good, NULL, 3, good, v, 3, to, vo, &n, &e), MT_EINVAL);
    T_ERR(mt_series_merge(good, v, 3, good, v, 3, to, vo, NULL, &e), MT_EINVAL);
}

static void series_merge_matches_brute_force(void)
{
    enum { N = 400 };
    mt_time ta[N], tb[N], to[2 * N];
    double va[N], vb[N], vo[2 * N];
    int round_no;
    for (round_no = 0; round_no < 20; round_no++) {
        size_t na = rnd_below(N), nb = rnd_below(N), n = 0, i, j, k;
        mt_error e;
        mt_time cur = -500;
        for (i = 0; i < na; i++) {
            cur += 1 + (mt_time)rnd_below(4);
            ta[i] = cur;
            va[i] = (double)i;
        }
        cur = -500;
        for (i = 0; i < nb; i++) {
            cur += 1 + (mt_time)rnd_below(4);
            tb[i] = cur;
            vb[i] = -(double)i - 1;
        }
        T_OK_E(mt_series_merge(ta, va, na, tb, vb, nb, to, vo, &n, &e), &e);
        /* every time of a and b is there once, with b's value if b has it */
        for (k = 1; k < n; k++) {
            T_TRUE(to[k] > to[k - 1]);
        }
        for (i = 0, k = 0; i < na; i++) {
            while (k < n && to[k] < ta[i]) {
                k++;
            }
            T_TRUE(k < n && to[k] == ta[i]);
        }
        for (j = 0, k = 0; j < nb; j++) {
            while (k < n && to[k] < tb[j]) {
                k++;
            }
            T_TRUE(k < n && to[k] == tb[j]);
            T_SAME_DOUBLE(vo[k], vb[j]);
        }
        {
            size_t both = 0;
            for (i = 0, j = 0; i < na && j < nb;) {
                if (ta[i] == tb[j]) {
                    both++;
                    i++;
                    j++;
                } else if (ta[i] < tb[j]) {
                    i++;
                } else {
                    j++;
                }
            }
            T_EQ_INT(n, na + nb - both);
        }
    }
}

/* ---- period summaries ------------------------------------------------------------ */

/* The summary of v[i..j) computed one sample at a time with the documented
 * rules (first occurrence of min and max; "special" is the last kind),
 * independently of mt_block_summarize(). */
static void brute_summary(const mt_time *t, const double *v, size_t i, size_t j,
                          mt_block_summary *s)
{
    size_t k;
    memset(s, 0, sizeof *s);
    s->min = s->max = s->first = s->last = mt_sv_value(MT_SV_MISSING);
    s->t_first = t[i];
    s->t_last = t[j - 1];
    s->n_rows = j - i;
    for (k = i; k < j; k++) {
        if (!mt_sv_is_number(v[k])) {
            s->n_special++;
            s->special = mt_sv_kind(v[k]);
            continue;
        }
        if (s->n == 0) {
            s->min = s->max = s->first = v[k];
            s->t_min = s->t_max = s->t_vfirst = t[k];
        }
        if (v[k] < s->min) {
            s->min = v[k];
            s->t_min = t[k];
        }
        if (v[k] > s->max) {
            s->max = v[k];
            s->t_max = t[k];
        }
        s->last = v[k];
        s->t_vlast = t[k];
        s->n++;
    }
}

__extension__ typedef __int128 i128;

/* The period of "t": found by stepping in 128 bits, not by flooring. */
static int64_t brute_period(mt_time t, mt_time period)
{
    i128 k = t / period;
    while (k * period > t) {
        k--;
    }
    while ((k + 1) * period <= t) {
        k++;
    }
    return (int64_t)k;
}

static void series_summarize_by_hand(void)
{
    const mt_time t[8] = {-15, -10, -1, 0, 9, 10, 25, 29};
    double v[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    mt_block_summary s[5];
    size_t n = 0;
    mt_error e;
    v[2] = mt_sv_value(MT_SV_BREAK);
    v[7] = -1;
    T_OK_E(mt_series_summarize(t, v, 8, 10, s, 5, &n, &e), &e);
    T_EQ_INT(n, 5);
    /* [-20, -10): -15 */
    T_EQ_INT(s[0].t_first, -15);
    T_EQ_INT(s[0].t_last, -15);
    T_EQ_INT(s[0].n, 1);
    /* [-10, 0): -10 (a boundary starts a period), -1 (break) */
    T_EQ_INT(s[1].t_first, -10);
    T_EQ_INT(s[1].t_last, -1);
    T_EQ_INT(s[1].n, 1);
    T_EQ_INT(s[1].n_special, 1);
    T_EQ_INT(s[1].special, MT_SV_BREAK);
    T_EQ_INT(s[1].t_vlast, -10);
    /* [0, 10): 0, 9 */
    T_EQ_INT(s[2].t_first, 0);
    T_EQ_INT(s[2].t_last, 9);
    T_SAME_DOUBLE(s[2].max, 5.0);
    /* [10, 20): 10; [20, 30): 25, 29 */
    T_EQ_INT(s[3].n_rows, 1);
    T_EQ_INT(s[4].t_first, 25);
    T_SAME_DOUBLE(s[4].min, -1.0);
    T_EQ_INT(s[4].t_min, 29);
    T_SAME_DOUBLE(s[4].first, 7.0);
}

static void series_summarize_rejects_bad_arguments(void)
{
    const mt_time t[3] = {0, 1, 1};
    const double v[3] = {0, 0, 0};
    mt_block_summary s[3];
    size_t n = 7;
    mt_error e;
    T_ERR(mt_series_summarize(t, v, 2, 0, s, 3, &n, &e), MT_EINVAL);
    T_ERR(mt_series_summarize(t, v, 2, -HOUR, s, 3, &n, &e), MT_EINVAL);
    T_ERR(mt_series_summarize(NULL, v, 2, 10, s, 3, &n, &e), MT_EINVAL);
    T_ERR(mt_series_summarize(t, v, 2, 10, NULL, 3, &n, &e), MT_EINVAL);
    T_ERR(mt_series_summarize(t, v, 2, 10, s, 3, NULL, &e), MT_EINVAL);
    T_ERR(mt_series_summarize(t, v, 3, 10, s, 3, &n, &e), MT_EORDER);
    T_EQ_INT(e.pos, 2);
    T_OK_E(mt_series_summarize(NULL, NULL, 0, 10, NULL, 0, &n, &e), &e);
    T_EQ_INT(n, 0);
}

static void series_summarize_reports_small_buffers_with_the_count(void)
{
    mt_time t[50];
    double v[50];
    mt_block_summary s[10], all[10];
    size_t i, n = 0;
    mt_error e;
    for (i = 0; i < 50; i++) {
        t[i] = (mt_time)i * 7 - 100;
        v[i] = (double)i;
    }
    T_OK_E(mt_series_summarize(t, v, 50, 50, all, 10, &n, &e), &e);
    T_EQ_INT(n, 7); /* [-100, -50) ... [200, 250) */
    T_ERR(mt_series_summarize(t, v, 50, 50, s, 3, &n, &e), MT_ETRUNC);
    T_EQ_INT(n, 7);
    for (i = 0; i < 3; i++) {
        T_TRUE(same_summary(&s[i], &all[i]));
    }
    T_ERR(mt_series_summarize(t, v, 50, 50, NULL, 0, &n, &e), MT_ETRUNC);
    T_EQ_INT(n, 7);
}

static void series_summarize_matches_brute_force(void)
{
    enum { N = 3000 };
    static const mt_time periods[] = {1, 3, 10, 1000, 7919, HOUR, INT64_C(86400000000)};
    mt_time *t = malloc(N * sizeof *t);
    double *v = malloc(N * sizeof *v);
    mt_block_summary *s = malloc(N * sizeof *s), want;
    size_t r, p;
    T_TRUE(t && v && s);
    for (r = 0; r < 6; r++) {
        mt_time cur = r % 2 ? -INT64_C(3) * HOUR - 1234 : -(mt_time)rnd_below(20000);
        size_t i;
        if (r == 5) {
            cur = INT64_MIN + 17;
        }
        for (i = 0; i < N; i++) {
            cur += 1 + (mt_time)rnd_below(r < 2 ? 10 : 20 * MT_US_PER_S);
            t[i] = cur;
            v[i] = rnd_below(20) == 0 ? mt_sv_value((mt_sv)(1 + rnd_below(5)))
                                       : (double)((int)rnd_below(41) - 20) * 0.25;
        }
        for (p = 0; p < sizeof periods / sizeof periods[0]; p++) {
            size_t n = 0, k = 0, j;
            mt_error e;
            if (mt_series_summarize(t, v, N, periods[p], s, N, &n, &e) != MT_OK) {
                free(t);
                free(v);
                free(s);
                T_FAIL("round %zu period %lld: %s", r, (long long)periods[p], e.msg);
            }
            for (i = 0; i < N; i = j, k++) {
                int64_t per = brute_period(t[i], periods[p]);
                for (j = i + 1; j < N && brute_period(t[j], periods[p]) == per; j++) {
                }
                brute_summary(t, v, i, j, &want);
                if (k >= n || !same_summary(&s[k], &want)) {
                    free(t);
                    free(v);
                    free(s);
                    T_FAIL("round %zu period %lld: summary %zu differs", r,
                           (long long)periods[p], k);
                }
            }
            T_EQ_INT(n, k);
        }
    }
    free(t);
    free(v);
    free(s);
}

static void series_summarize_reaches_both_ends_of_time(void)
{
    const mt_time t[5] = {INT64_MIN, INT64_MIN + 1, -1, INT64_MAX - 1, INT64_MAX};
    const double v[5] = {1, 2, 3, 4, 5};
    mt_block_summary s[5];
    size_t n = 0;
    mt_error e;
    T_OK_E(mt_series_summarize(t, v, 5, HOUR, s, 5, &n, &e), &e);
    T_EQ_INT(n, 3);
    T_EQ_INT(s[0].n, 2);
    T_EQ_INT(s[2].t_first, INT64_MAX - 1);
    T_EQ_INT(s[2].t_last, INT64_MAX);
    T_OK_E(mt_series_summarize(t, v, 5, INT64_MAX, s, 5, &n, &e), &e);
    T_EQ_INT(n, 4); /* k = -2, -1, 0, 1 */
    T_OK_E(mt_series_summarize(t, v, 5, 1, s, 5, &n, &e), &e);
    T_EQ_INT(n, 5);
}

/* ---- packed summaries --------------------------------------------------------- */

/* Hourly summaries of a day with every kind of period: ordinary, mixed,
 * all special, one sample. */
static size_t make_summaries(mt_block_summary *s, size_t cap)
{
    mt_time t[200];
    double v[200];
    size_t i, n = 0;
    mt_error e;
    for (i = 0; i < 200; i++) {
        t[i] = T2024 + (mt_time)(i * i) * 5 * MT_US_PER_S; /* 56 hours hold samples */
        v[i] = (double)(i % 17) - 8.5;
    }
    for (i = 120; i < 140; i++) {
        v[i] = mt_sv_value(MT_SV_MISSING); /* whole hours of missing data */
    }
    v[30] = mt_sv_value(MT_SV_OVER_POS);
    v[31] = -0.0;
    if (mt_series_summarize(t, v, 200, HOUR, s, cap, &n, &e) != MT_OK) {
        return 0;
    }
    return n;
}

static void summary_pack_round_trips_exactly(void)
{
    mt_block_summary s[64], back[64];
    uint8_t buf[64 * MT_SUMMARY_PACKED];
    size_t n = make_summaries(s, 64), got = 0, i, n_empty = 0, n_mixed = 0, n_one = 0;
    mt_error e;
    T_TRUE(n > 10);
    T_EQ_INT(mt_summary_pack(s, n, buf), n * MT_SUMMARY_PACKED);
    T_OK_E(mt_summary_unpack(buf, n * MT_SUMMARY_PACKED, back, 64, &got, &e), &e);
    T_EQ_INT(got, n);
    for (i = 0; i < n; i++) {
        if (!same_summary(&s[i], &back[i])) {
            T_FAIL("summary %zu differs after packing", i);
        }
        n_empty += s[i].n == 0;
        n_mixed += s[i].n > 0 && s[i].n_special > 0;
        n_one += s[i].n_rows == 1;
    }
    T_TRUE(n_empty > 0 && n_mixed > 0 && n_one > 0);
    T_EQ_INT(mt_summary_pack(NULL, 0, NULL), 0);
    T_OK_E(mt_summary_unpack(NULL, 0, NULL, 0, &got, &e), &e);
    T_EQ_INT(got, 0);
}

static void summary_pack_refuses_what_it_cannot_hold(void)
{
    mt_block_summary s[64];
    uint8_t buf[8 * MT_SUMMARY_PACKED];
    size_t n = make_summaries(s, 64) ? 8 : 0;
    T_TRUE(n == 8);
    memset(buf, 0x5A, sizeof buf);
    s[3].n = UINT64_C(1) << 32;
    T_EQ_INT(mt_summary_pack(s, n, buf), 0);
    T_EQ_INT(buf[0], 0x5A); /* nothing written */
    s[3].n = 0;
    s[3].n_special = 0;
    T_EQ_INT(mt_summary_pack(s, n, buf), 0);
}

/* One packed record edited, then unpacked: each rule of the format. */
typedef struct {
    const char *what;
    size_t off;     /* in the record */
    int width;      /* 8: u64/f64, 4: u32, 1: u8 */
    uint64_t value; /* raw bits to write */
    mt_status want;
} hostile_edit;

static uint64_t dbits(double v)
{
    uint64_t b;
    memcpy(&b, &v, sizeof b);
    return b;
}

static void summary_unpack_rejects_hostile_records(void)
{
    mt_block_summary s[4], back[4];
    uint8_t good[4 * MT_SUMMARY_PACKED], buf[4 * MT_SUMMARY_PACKED];
    size_t len = sizeof good, got, i, r = 1, base = r * MT_SUMMARY_PACKED;
    mt_error e;
    /* Record 1 holds 10 (5.0), 12 (2.0) and 15 (break). */
    const mt_time t[7] = {0, 10, 12, 15, 20, 30, 40};
    const double v[7] = {1, 5, 2, 0, 9, 3, 4};
    double vv[7];
    size_t n = 0;
    memcpy(vv, v, sizeof vv);
    vv[3] = mt_sv_value(MT_SV_BREAK);
    /* periods: [0,10): 0; [10,20): 10,12,15; [20,30): 20; [30,40): 30; and
     * 40 a fifth: too many for "s", so summarise six samples. */
    T_ERR(mt_series_summarize(t, vv, 7, 10, s, 4, &n, &e), MT_ETRUNC);
    T_EQ_INT(n, 5);
    T_OK_E(mt_series_summarize(t, vv, 6, 10, s, 4, &n, &e), &e);
    T_EQ_INT(n, 4);
    T_EQ_INT(s[1].n, 2);
    T_EQ_INT(s[1].n_special, 1);
    T_EQ_INT(mt_summary_pack(s, 4, good), len);
    {
        const hostile_edit edits[] = {
            {"no samples", 80, 8, 0, MT_ECORRUPT},
            {"kind out of range", 88, 1, 6, MT_ECORRUPT},
            {"kind without specials", 84, 4, 0, MT_ECORRUPT},
            {"t_last before t_first", 8, 8, 9, MT_ECORRUPT},
            {"3 samples 1 µs apart", 8, 8, 11, MT_ECORRUPT},
            {"min is NaN", 16, 8, dbits(mt_sv_value(MT_SV_MISSING)), MT_ECORRUPT},
            {"max is inf", 24, 8, dbits(HUGE_VAL), MT_ECORRUPT},
            {"min above first", 16, 8, dbits(5.5), MT_ECORRUPT},
            {"max below last", 24, 8, dbits(1.0), MT_ECORRUPT},
            {"last below min", 40, 8, dbits(1.0), MT_ECORRUPT},
            {"t_min before t_vfirst", 48, 8, 9, MT_ECORRUPT},
            {"t_max after t_vlast", 56, 8, 13, MT_ECORRUPT},
            {"t_vfirst before t_first", 64, 8, 9, MT_ECORRUPT},
            {"t_vlast after t_last", 72, 8, 16, MT_ECORRUPT},
            {"t_vlast not after t_vfirst", 72, 8, 10, MT_ECORRUPT},
            {"overlaps its predecessor", 0, 8, 0, MT_EORDER},
            {"ends after its successor starts", 8, 8, 20, MT_EORDER},
        };
        for (i = 0; i < sizeof edits / sizeof edits[0]; i++) {
            const hostile_edit *d = &edits[i];
            memcpy(buf, good, len);
            if (d->width == 8) {
                wr64(buf + base + d->off, d->value);
            } else if (d->width == 4) {
                wr32(buf + base + d->off, (uint32_t)d->value);
            } else {
                buf[base + d->off] = (uint8_t)d->value;
            }
            got = 99;
            if (mt_summary_unpack(buf, len, back, 4, &got, &e) != d->want || got != 0 ||
                e.pos < base || e.pos >= base + 2 * MT_SUMMARY_PACKED) {
                T_FAIL("%s: %s at %zu (%s)", d->what, mt_errname(e.code), e.pos, e.msg);
            }
        }
    }
    /* a record without ordinary values carries zeros */
    T_EQ_INT(s[2].n, 1);
    memcpy(buf, good, len);
    wr32(buf + base + 80, 0);
    wr32(buf + base + 84, 3);
    T_ERR(mt_summary_unpack(buf, len, back, 4, &got, &e), MT_ECORRUPT);
    T_TRUE(e.pos >= base + 16 && e.pos < base + 80);
    /* a summary of one sample has one time */
    memcpy(buf, good, len);
    wr64(buf + 8, 1);
    T_ERR(mt_summary_unpack(buf, len, back, 4, &got, &e), MT_ECORRUPT);
    T_EQ_INT(e.pos, 8);
    /* truncation anywhere, and a small buffer */
    for (i = 1; i < len; i++) {
        if (i % MT_SUMMARY_PACKED == 0) {
            continue;
        }
        got = 99;
        if (mt_summary_unpack(good, i, back, 4, &got, &e) != MT_ETRUNC || e.pos != i ||
            got != 0) {
            T_FAIL("cut at %zu: %s at %zu", i, mt_errname(e.code), e.pos);
        }
    }
    T_ERR(mt_summary_unpack(good, len, back, 3, &got, &e), MT_ETRUNC);
    T_EQ_INT(got, 4);
    T_ERR(mt_summary_unpack(good, len, NULL, 4, &got, &e), MT_EINVAL);
    T_OK_E(mt_summary_unpack(good, len, back, 4, &got, &e), &e);
}

/* Random bytes and random edits of valid records: never a crash, and
 * whatever is accepted satisfies the format's rules. */
static void summary_unpack_survives_random_bytes(void)
{
    mt_block_summary s[64], back[64];
    uint8_t good[64 * MT_SUMMARY_PACKED], buf[64 * MT_SUMMARY_PACKED];
    size_t n = make_summaries(s, 64), len = n * MT_SUMMARY_PACKED, round_no, accepted = 0;
    T_TRUE(mt_summary_pack(s, n, good) == len);
    for (round_no = 0; round_no < 3000; round_no++) {
        size_t got, i, k;
        mt_error e;
        memcpy(buf, good, len);
        for (k = 0; k < 1 + rnd_below(3); k++) {
            buf[rnd_below(len)] ^= (uint8_t)(1u << rnd_below(8));
        }
        {
            /* The fold accepts exactly what the unpacker accepts (one
             * bucket over all time: nothing crosses it), and refuses the
             * rest with the same code at the same byte. */
            mt_bucket one[1];
            mt_summary_fold f;
            mt_error fe;
            mt_status us = mt_summary_unpack(buf, len, back, 64, &got, &e), fs;
            T_OK_E(mt_summary_fold_init(&f, INT64_MIN, INT64_MAX, 1, one, &fe), &fe);
            fs = mt_summary_fold_add(&f, buf, len, &fe);
            if (us == MT_OK && got > 0 && back[got - 1].t_last == INT64_MAX) {
                continue;
            }
            if (fs != us || (us != MT_OK && fe.pos != e.pos)) {
                T_FAIL("round %zu: unpack %d at %zu, fold %d at %zu", round_no, (int)us, e.pos,
                       (int)fs, fe.pos);
            }
            if (us != MT_OK) {
                continue;
            }
        }
        accepted++;
        for (i = 0; i < got; i++) {
            const mt_block_summary *b = &back[i];
            T_TRUE(b->n + b->n_special == b->n_rows && b->t_first <= b->t_last);
            T_TRUE(i == 0 || b->t_first > back[i - 1].t_last);
            if (b->n > 0) {
                T_TRUE(b->min <= b->first && b->first <= b->max && b->min <= b->last &&
                       b->last <= b->max);
                T_TRUE(b->t_first <= b->t_vfirst && b->t_vlast <= b->t_last);
            }
        }
    }
    printf("# %zu of 3000 mutated summary sets were still valid\n", accepted);
}

/* ---- the server's chart path ------------------------------------------------- */

typedef struct {
    const mt_time *t;
    const double *v;
    const mt_block_summary *s;
    size_t n_calls;
    const size_t *start; /* index of each summary's first sample */
} hours_ctx;

/* Decode "block" (one hour) the way the server would: here, from the raw
 * arrays, so that a test can see how many hours were decoded. */
static mt_status decode_hour(void *ctx, size_t block, mt_time *t, double *v, size_t cap,
                             size_t *n, mt_error *err)
{
    hours_ctx *h = ctx;
    size_t rows = (size_t)h->s[block].n_rows;
    (void)err;
    h->n_calls++;
    if (cap < rows) {
        return MT_ETRUNC;
    }
    memcpy(t, h->t + h->start[block], rows * sizeof *t);
    memcpy(v, h->v + h->start[block], rows * sizeof *v);
    *n = rows;
    return MT_OK;
}

/* mt_decimate_blocks() over hourly summaries that went through pack and
 * unpack equals mt_decimate_minmax() over the raw samples: without decoding
 * anything when the buckets are whole hours, and with decoding otherwise.
 * Three days of one-minute data with gaps and special values, once in 2024
 * and once across the epoch (negative times). */
static void series_hourly_summaries_decimate_like_the_raw_samples(void)
{
    enum { N = 3 * 1440, MAXS = 100 };
    static const struct {
        int64_t start_h, hours; /* range in whole hours from the first hour */
        size_t n_buckets;
        int aligned;
    } q[] = {{0, 72, 72, 1}, {0, 72, 24, 1}, {0, 72, 1, 1},  {-10, 110, 55, 1},
             {5, 48, 16, 1}, {0, 72, 2000, 0}, {0, 72, 7, 0}, {3, 1, 60, 0}};
    mt_time *t = malloc(N * sizeof *t);
    double *v = malloc(N * sizeof *v);
    mt_block_summary s[MAXS], back[MAXS];
    uint8_t packed[MAXS * MT_SUMMARY_PACKED];
    size_t start[MAXS];
    mt_bucket *a = malloc(2000 * sizeof *a), *b = malloc(2000 * sizeof *b);
    int base_no;
    T_TRUE(t && v && a && b);
    for (base_no = 0; base_no < 2; base_no++) {
        mt_time base = base_no == 0 ? T2024 : -INT64_C(36) * HOUR;
        mt_time first_hour = base; /* both bases are whole hours */
        size_t i, n = 0, ns = 0, got = 0, qi, k;
        mt_error e;
        for (i = 0; i < N; i++) {
            if (i % 600 == 599) {
                continue; /* a gap of one minute */
            }
            if (i >= 1500 && i < 1700) {
                continue; /* a gap of more than three hours */
            }
            t[n] = base + (mt_time)i * MT_US_PER_MIN + (mt_time)rnd_below(1000);
            v[n] = rnd_below(30) == 0 ? mt_sv_value((mt_sv)(1 + rnd_below(5)))
                                      : 20.0 + (double)((int)rnd_below(200) - 100) / 100.0;
            n++;
        }
        for (i = 2400; i < 2520; i++) {
            v[i] = mt_sv_value(MT_SV_BREAK); /* two hours of a broken sensor */
        }
        if (mt_series_summarize(t, v, n, HOUR, s, MAXS, &ns, &e) != MT_OK) {
            T_FAIL("summarize: %s", e.msg);
        }
        T_EQ_INT(mt_summary_pack(s, ns, packed), ns * MT_SUMMARY_PACKED);
        T_OK_E(mt_summary_unpack(packed, ns * MT_SUMMARY_PACKED, back, MAXS, &got, &e), &e);
        T_EQ_INT(got, ns);
        for (k = 0, i = 0; k < ns; k++) {
            start[k] = i;
            i += (size_t)back[k].n_rows;
        }
        T_EQ_INT(i, n);
        for (qi = 0; qi < sizeof q / sizeof q[0]; qi++) {
            hours_ctx ctx = {t, v, back, 0, start};
            size_t n_decoded = 99, diff;
            mt_time t0 = first_hour + q[qi].start_h * HOUR;
            mt_time t1 = t0 + q[qi].hours * HOUR;
            T_OK_E(mt_decimate_minmax(t, v, n, t0, t1, q[qi].n_buckets, a, &e), &e);
            T_OK_E(mt_decimate_blocks(back, ns, decode_hour, &ctx, t0, t1, q[qi].n_buckets, b,
                                      &n_decoded, &e),
                   &e);
            diff = buckets_differ(a, b, q[qi].n_buckets);
            if (diff) {
                T_FAIL("base %d query %zu: bucket %zu differs", base_no, qi, diff - 1);
            }
            T_EQ_INT(n_decoded, ctx.n_calls);
            if (q[qi].aligned) {
                T_EQ_INT(n_decoded, 0);
            } else {
                T_TRUE(n_decoded > 0);
            }
        }
    }
    free(t);
    free(v);
    free(a);
    free(b);
}

static mt_status no_decode(void *ctx, size_t block, mt_time *t, double *v, size_t cap,
                           size_t *n, mt_error *err)
{
    (void)ctx;
    (void)t;
    (void)v;
    (void)cap;
    (void)n;
    return mt_fail(err, MT_EINVAL, block, "block %zu should not be decoded", block);
}

/* mt_summary_fold_add() over runs of packed hours gives, bit for bit, the
 * buckets of mt_summary_unpack() then mt_decimate_blocks() over the hours
 * whose first time lies in the range (what the server did before it
 * folded), however the hours are cut into runs. */
static void summary_fold_matches_unpack_then_decimate(void)
{
    enum { N = 3 * 1440, MAXS = 100 };
    static const struct {
        int64_t start_h, hours;
        size_t n_buckets;
    } q[] = {{0, 72, 72}, {0, 72, 24}, {0, 72, 1}, {-10, 110, 22}, {5, 48, 16}, {7, 5, 1},
             {20, 40, 8}};
    mt_time *t = malloc(N * sizeof *t);
    double *v = malloc(N * sizeof *v);
    mt_block_summary s[MAXS], back[MAXS];
    uint8_t packed[MAXS * MT_SUMMARY_PACKED];
    mt_bucket *a = malloc(200 * sizeof *a), *b = malloc(200 * sizeof *b);
    size_t i, n = 0, ns = 0, got = 0, qi;
    mt_error e;
    T_TRUE(t && v && a && b);
    for (i = 0; i < N; i++) {
        if (i >= 1500 && i < 1700) {
            continue; /* a gap of more than three hours */
        }
        t[n] = T2024 + (mt_time)i * MT_US_PER_MIN + (mt_time)rnd_below(1000);
        v[n] = rnd_below(30) == 0 ? mt_sv_value((mt_sv)(1 + rnd_below(5)))
                                  : 20.0 + (double)((int)rnd_below(200) - 100) / 100.0;
        n++;
    }
    for (i = 2400; i < 2520; i++) {
        v[i] = mt_sv_value(MT_SV_BREAK);
    }
    v[100] = -0.0;
    T_OK_E(mt_series_summarize(t, v, n, HOUR, s, MAXS, &ns, &e), &e);
    T_EQ_INT(mt_summary_pack(s, ns, packed), ns * MT_SUMMARY_PACKED);
    T_OK_E(mt_summary_unpack(packed, ns * MT_SUMMARY_PACKED, back, MAXS, &got, &e), &e);
    for (qi = 0; qi < sizeof q / sizeof q[0]; qi++) {
        mt_time t0 = T2024 + q[qi].start_h * HOUR, t1 = t0 + q[qi].hours * HOUR;
        size_t lo = 0, hi = ns, cut;
        while (lo < hi && back[lo].t_first < t0) {
            lo++;
        }
        while (hi > lo && back[hi - 1].t_first >= t1) {
            hi--;
        }
        T_OK_E(mt_decimate_blocks(back + lo, hi - lo, no_decode, NULL, t0, t1, q[qi].n_buckets, a,
                                  NULL, &e),
               &e);
        /* Whole, in two runs cut anywhere, and one record a run. */
        for (cut = 0; cut <= ns + 1; cut++) {
            mt_summary_fold f;
            size_t diff, k;
            T_OK_E(mt_summary_fold_init(&f, t0, t1, q[qi].n_buckets, b, &e), &e);
            if (cut <= ns) {
                T_OK_E(mt_summary_fold_add(&f, packed, cut * MT_SUMMARY_PACKED, &e), &e);
                T_OK_E(mt_summary_fold_add(&f, packed + cut * MT_SUMMARY_PACKED,
                                           (ns - cut) * MT_SUMMARY_PACKED, &e),
                       &e);
            } else {
                for (k = 0; k < ns; k++) {
                    T_OK_E(mt_summary_fold_add(&f, packed + k * MT_SUMMARY_PACKED,
                                               MT_SUMMARY_PACKED, &e),
                           &e);
                }
            }
            diff = buckets_differ(a, b, q[qi].n_buckets);
            if (diff) {
                T_FAIL("query %zu cut %zu: bucket %zu differs", qi, cut, diff - 1);
            }
        }
    }
    free(t);
    free(v);
    free(a);
    free(b);
}

static void summary_fold_refuses_what_only_samples_could_answer(void)
{
    mt_block_summary s[64];
    uint8_t buf[64 * MT_SUMMARY_PACKED];
    mt_bucket out[8];
    mt_summary_fold f;
    size_t n = make_summaries(s, 64), len = n * MT_SUMMARY_PACKED;
    mt_time t0 = T2024 - T2024 % HOUR;
    mt_error e;
    T_TRUE(n > 10);
    T_EQ_INT(mt_summary_pack(s, n, buf), len);
    T_ERR(mt_summary_fold_init(NULL, t0, t0 + HOUR, 1, out, &e), MT_EINVAL);
    T_ERR(mt_summary_fold_init(&f, t0, t0 + HOUR, 1, NULL, &e), MT_EINVAL);
    T_ERR(mt_summary_fold_init(&f, t0, t0 + HOUR, 0, out, &e), MT_EINVAL);
    T_ERR(mt_summary_fold_init(&f, t0, t0, 1, out, &e), MT_EINVAL);
    /* Buckets of 90 minutes split hours: only samples could. */
    T_OK_E(mt_summary_fold_init(&f, t0, t0 + 12 * HOUR, 8, out, &e), &e);
    T_ERR(mt_summary_fold_add(&f, buf, len, &e), MT_EINVAL);
    /* Cut records, runs out of order, NULL bytes. */
    T_OK_E(mt_summary_fold_init(&f, t0, t0 + 8 * HOUR, 8, out, &e), &e);
    T_ERR(mt_summary_fold_add(&f, buf, len - 1, &e), MT_ETRUNC);
    T_ERR(mt_summary_fold_add(&f, NULL, len, &e), MT_EINVAL);
    T_OK_E(mt_summary_fold_add(&f, buf + MT_SUMMARY_PACKED, MT_SUMMARY_PACKED, &e), &e);
    T_ERR(mt_summary_fold_add(&f, buf, MT_SUMMARY_PACKED, &e), MT_EORDER);
    /* A corrupt record is refused as mt_summary_unpack() refuses it. */
    buf[MT_SUMMARY_PACKED + 88] = 99;
    T_OK_E(mt_summary_fold_init(&f, t0, t0 + 8 * HOUR, 8, out, &e), &e);
    T_ERR(mt_summary_fold_add(&f, buf, len, &e), MT_ECORRUPT);
    T_EQ_INT(e.pos, MT_SUMMARY_PACKED + 88);
    T_OK_E(mt_summary_fold_add(&f, NULL, 0, &e), &e);
}

/* The whole server path on one day: encode the day block and its hourly
 * summaries, then answer a fine query by decoding the block and a coarse
 * one from the summaries alone; both agree with the raw samples. */
static void series_day_block_and_hours_answer_chart_queries(void)
{
    enum { N = 1440 };
    mt_time t[N], t2[N];
    double v[N], v2[N];
    mt_block_summary s[24], back[24];
    uint8_t packed[24 * MT_SUMMARY_PACKED], *blk = NULL;
    mt_bucket a[288], b[288];
    size_t i, len = 0, ns = 0, got = 0, n_decoded = 1;
    mt_error e;
    for (i = 0; i < N; i++) {
        t[i] = T2024 + (mt_time)i * MT_US_PER_MIN;
        v[i] = (double)(1500 + (int)rnd_below(500)) / 100.0; /* as parsed from "19.37" */
    }
    T_OK_E(mt_series_encode(t, v, N, &blk, &len, &e), &e);
    T_OK_E(mt_series_summarize(t, v, N, HOUR, s, 24, &ns, &e), &e);
    T_EQ_INT(ns, 24);
    T_EQ_INT(mt_summary_pack(s, ns, packed), sizeof packed);
    /* fine: 5-minute buckets from the decoded block */
    T_OK_E(mt_series_decode(blk, len, t2, v2, N, &got, &e), &e);
    T_OK_E(mt_decimate_minmax(t2, v2, got, T2024, T2024 + 24 * HOUR, 288, a, &e), &e);
    T_OK_E(mt_decimate_minmax(t, v, N, T2024, T2024 + 24 * HOUR, 288, b, &e), &e);
    T_EQ_INT(buckets_differ(a, b, 288), 0);
    /* coarse: 3-hour buckets from the summaries, nothing decoded */
    T_OK_E(mt_summary_unpack(packed, sizeof packed, back, 24, &ns, &e), &e);
    T_OK_E(mt_decimate_blocks(back, ns, no_decode, NULL, T2024, T2024 + 24 * HOUR, 8, a,
                              &n_decoded, &e),
           &e);
    T_EQ_INT(n_decoded, 0);
    T_OK_E(mt_decimate_minmax(t, v, N, T2024, T2024 + 24 * HOUR, 8, b, &e), &e);
    T_EQ_INT(buckets_differ(a, b, 8), 0);
    printf("# one day at one minute: block %zu bytes + 24 hourly summaries %zu bytes\n", len,
           sizeof packed);
    mt_series_free(blk);
}

void suite_series(void)
{
    T_RUN(series_encode_rejects_bad_input);
    T_RUN(series_reports_offset_of_every_truncation);
    T_RUN(series_catches_every_single_bit_flip);
    T_RUN(series_refuses_huge_count_before_allocating);
    T_RUN(series_decode_reports_small_buffers_with_the_count);
    T_RUN(series_rejects_wrong_kind_version_and_stray_bytes);
    T_RUN(series_reports_offset_of_corrupt_section_with_valid_checksum);
    T_RUN(series_rejects_times_that_do_not_strictly_increase);
    T_RUN(series_encode_oom_loop);
    T_RUN(series_writes_the_documented_example);
    T_RUN(series_round_trips_every_special_kind);
    T_RUN(series_round_trips_one_sample);
    T_RUN(series_round_trips_irregular_and_extreme_times);
    T_RUN(series_round_trips_constant_and_noisy_signals);
    T_RUN(series_bytes_per_sample_of_a_logger_day);
    T_RUN(series_round_trips_a_million_samples);
    T_RUN(series_merge_by_hand);
    T_RUN(series_merge_handles_empty_and_disjoint_runs);
    T_RUN(series_merge_rejects_unordered_runs);
    T_RUN(series_merge_matches_brute_force);
    T_RUN(series_summarize_by_hand);
    T_RUN(series_summarize_rejects_bad_arguments);
    T_RUN(series_summarize_reports_small_buffers_with_the_count);
    T_RUN(series_summarize_matches_brute_force);
    T_RUN(series_summarize_reaches_both_ends_of_time);
    T_RUN(summary_pack_round_trips_exactly);
    T_RUN(summary_pack_refuses_what_it_cannot_hold);
    T_RUN(summary_unpack_rejects_hostile_records);
    T_RUN(summary_unpack_survives_random_bytes);
    T_RUN(series_hourly_summaries_decimate_like_the_raw_samples);
    T_RUN(series_day_block_and_hours_answer_chart_queries);
    T_RUN(summary_fold_matches_unpack_then_decimate);
    T_RUN(summary_fold_refuses_what_only_samples_could_answer);
}
