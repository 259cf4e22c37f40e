/* HOK2: blocks, codecs, index, seeking and index-driven decimation. */
#include <float.h>
#include <stdint.h>
#include <stdlib.h>

#include "../t.h"
#include "alloc_int.h"
#include "mt/decimate.h"
#include "mt/hok.h"

#define XXH_INLINE_ALL
#include "xxhash.h"

#define NCH 8

static const mt_hok_meta k_meta = {"HOK2 テスト", "Metron test", "dev", "LR8450", "+08:00",
                                   INT64_C(1700000000000000)};

static const mt_hok_channel k_ch[NCH] = {
    {1, "const", "V", MT_HOK_MEASURED, ""},    {2, "temp", "°C", MT_HOK_MEASURED, ""},
    {3, "counter", "", MT_HOK_MEASURED, ""},   {4, "gorilla", "", MT_HOK_COMPUTED, ""},
    {5, "raw", "", MT_HOK_COMPUTED, ""},       {6, "all missing", "", MT_HOK_MEASURED, ""},
    {7, "specials", "", MT_HOK_MEASURED, ""},  {8, "negzero", "", MT_HOK_MEASURED, ""},
};

/* Expected encoding of each channel in a full block (docs/formats/hok2.md). */
static const int k_enc[NCH] = {1, 2, 2, 3, 4, 0, 2, 3};

static uint64_t rng_state = 88172645463325252u;

static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* A finite double with random mantissa bits, which XOR cannot compress. */
static double bits_of_random_double(void)
{
    uint64_t b = (rnd() & UINT64_C(0x800FFFFFFFFFFFFF)) | ((UINT64_C(990) + rnd() % 60) << 52);
    double v;
    memcpy(&v, &b, sizeof v);
    return v;
}

static void wr64(uint8_t *p, uint64_t v)
{
    int i;
    for (i = 0; i < 8; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
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

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

typedef struct {
    size_t n;
    mt_time *t;
    double *v[NCH];
} rows;

static void rows_free(rows *r)
{
    int c;
    free(r->t);
    for (c = 0; c < NCH; c++) {
        free(r->v[c]);
    }
}

/* One channel per encoding path; times regular with a jitter now and then. */
static int rows_make(rows *r, size_t n, int jitter)
{
    size_t i;
    int c;
    r->n = n;
    r->t = malloc((n + 1) * sizeof *r->t);
    for (c = 0; c < NCH; c++) {
        r->v[c] = malloc((n + 1) * sizeof(double));
        if (!r->v[c]) {
            return 0;
        }
    }
    if (!r->t) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        double noise = (double)(rnd() % 5) - 2.0;
        r->t[i] = INT64_C(1700000000000000) + (mt_time)i * MT_US_PER_MIN +
                  (jitter && i % 97 == 5 ? (mt_time)(rnd() % 1000) : 0);
        r->v[0][i] = 230.0;
        r->v[1][i] = (double)(215 + (int)(i / 50) % 30 + (int)noise) / 10.0;
        r->v[2][i] = (double)(i * 3 + 1000000);
        r->v[3][i] = sin((double)i * 0.01) * 1.1e-3 + 1.0 / 3.0;
        r->v[4][i] = bits_of_random_double();
        r->v[5][i] = mt_sv_value(MT_SV_MISSING);
        r->v[6][i] = (i % 11 < 3) ? mt_sv_value((mt_sv)(1 + (i / 11) % 5)) : (double)(i % 13) * 0.25;
        r->v[7][i] = i % 2 ? -0.0 : 1.5;
    }
    return 1;
}

static uint8_t *write_rows(const rows *r, uint32_t block_rows, size_t *len)
{
    mt_hok_opts o = {MT_HOK_V2, block_rows};
    const double *cols[NCH];
    uint8_t *b = NULL;
    mt_error e;
    int c;
    for (c = 0; c < NCH; c++) {
        cols[c] = r->v[c];
    }
    if (mt_hok_write_mem(&o, &k_meta, k_ch, NCH, r->t, cols, r->n, &b, len, &e) != MT_OK) {
        printf("# write failed: %s\n", e.msg);
        return NULL;
    }
    return b;
}

/* A small valid file: 3 channels, 20 rows in blocks of 8. */
static uint8_t *make_small(size_t *len)
{
    mt_time t[20];
    double a[20], bb[20], c[20];
    const double *cols[3] = {a, bb, c};
    mt_hok_opts o = {MT_HOK_V2, 8};
    uint8_t *b = NULL;
    mt_error e;
    size_t i;
    for (i = 0; i < 20; i++) {
        t[i] = (mt_time)i * 1000000 + (i == 7 ? 3 : 0);
        a[i] = 20.0 + (double)(i % 3) * 0.1;
        bb[i] = i % 5 == 2 ? mt_sv_value(MT_SV_OVER_POS) : sqrt((double)i);
        c[i] = 1.0;
    }
    if (mt_hok_write_mem(&o, &k_meta, k_ch, 3, t, cols, 20, &b, len, &e) != MT_OK) {
        return NULL;
    }
    return b;
}

/* Offset of the section of channel "ch" (-1: times) in the block at "off". */
static size_t section_at(const uint8_t *b, size_t off, size_t n_ch, int ch)
{
    size_t at = off + 8 + 4 * (1 + n_ch);
    int i;
    for (i = -1; i < ch; i++) {
        at += rd32(b + off + 8 + 4 * (size_t)(i + 1));
    }
    return at;
}

static void reseal_block(uint8_t *b, size_t off)
{
    size_t len = rd32(b + off) + 8;
    wr64(b + off + len, XXH64(b + off, len, 0));
}

static size_t head_len_of(const uint8_t *b)
{
    return rd32(b + 12);
}

/* ---- unhappy paths -------------------------------------------------------- */

static void hok2_reports_offset_of_truncation_at_every_byte(void)
{
    size_t len, cut;
    uint8_t *b = make_small(&len);
    T_TRUE(b != NULL);
    for (cut = 1; cut < len; cut++) {
        mt_hok *h = NULL;
        mt_error e;
        mt_status st = mt_hok_open(b, cut, &h, &e);
        if (st != MT_ETRUNC || e.pos != cut || h != NULL) {
            mt_hok_mem_free(b);
            T_FAIL("cut at %zu: %s at %zu (%s)", cut, mt_errname(st), e.pos, e.msg);
        }
    }
    mt_hok_mem_free(b);
}

static void hok2_catches_every_single_bit_flip(void)
{
    size_t len, i;
    int bit;
    uint8_t *b = make_small(&len);
    T_TRUE(b != NULL);
    for (i = 0; i < len; i++) {
        for (bit = 0; bit < 8; bit++) {
            mt_hok *h = NULL;
            mt_error e;
            mt_status st;
            b[i] ^= (uint8_t)(1u << bit);
            st = mt_hok_open(b, len, &h, &e);
            if (st == MT_OK) {
                st = mt_hok_verify(h, &e);
                if (st != MT_ECHECKSUM) {
                    mt_hok_close(h);
                    b[i] ^= (uint8_t)(1u << bit);
                    mt_hok_mem_free(b);
                    T_FAIL("flip of bit %d at %zu: %s", bit, i, mt_errname(st));
                }
                mt_hok_close(h);
            }
            b[i] ^= (uint8_t)(1u << bit);
        }
    }
    mt_hok_mem_free(b);
}

static void hok2_hostile_block_count_does_not_allocate(void)
{
    size_t len;
    uint8_t *b = make_small(&len);
    mt_hok *h = NULL;
    mt_error e;
    T_TRUE(b != NULL);
    wr64(b + len - 32, UINT64_C(1) << 60);
    T_ERR(mt_hok_open(b, len, &h, &e), MT_ECORRUPT);
    T_EQ_INT(e.pos, len - 32);
    /* With a matching index checksum it is still refused before any
     * allocation for blocks. */
    {
        uint64_t index_off = rd64(b + len - 40);
        wr64(b + len - 16, XXH64(b + index_off, len - 16 - (size_t)index_off, 0));
        mt__fault_fail_nth(4);
        T_ERR(mt_hok_open(b, len, &h, &e), MT_ECORRUPT);
        T_TRUE(!mt__fault_fired());
        mt__fault_fail_nth(0);
    }
    mt_hok_mem_free(b);
}

static void hok2_rejects_bad_block_rows_in_header(void)
{
    size_t len, at;
    uint8_t *b = make_small(&len);
    mt_hok *h = NULL;
    mt_error e;
    int k;
    T_TRUE(b != NULL);
    at = 16;
    for (k = 0; k < 5; k++) {
        at += 2 + (size_t)(b[at] | (b[at + 1] << 8));
    }
    at += 12;
    T_EQ_INT(rd32(b + at), 8);
    wr64(b + at, 0); /* block_rows = 0 and the first channel id's low half */
    wr64(b + head_len_of(b) - 8, XXH64(b, head_len_of(b) - 8, 0));
    T_ERR(mt_hok_open(b, len, &h, &e), MT_ECORRUPT);
    T_EQ_INT(e.pos, at);
    mt_hok_mem_free(b);
}

static void hok2_reports_offset_of_corrupt_section_with_valid_checksum(void)
{
    size_t len, off, sec;
    uint8_t *b = make_small(&len);
    mt_hok *h = NULL;
    mt_error e;
    double v[8];
    size_t n;
    T_TRUE(b != NULL);
    off = head_len_of(b);
    sec = section_at(b, off, 3, 1);
    b[sec] = 9; /* unknown encoding */
    reseal_block(b, off);
    T_OK_E(mt_hok_open(b, len, &h, &e), &e);
    T_ERR(mt_hok_decode_block(h, 1, 0, NULL, v, 8, &n, &e), MT_ECORRUPT);
    T_EQ_INT(e.pos, sec);
    T_OK_E(mt_hok_decode_block(h, 0, 0, NULL, v, 8, &n, &e), &e);
    T_ERR(mt_hok_decode_block(h, 0, 0, NULL, v, 7, &n, &e), MT_ENOSPACE);
    T_EQ_INT(n, 8);
    T_ERR(mt_hok_verify(h, &e), MT_ECORRUPT);
    mt_hok_close(h);
    mt_hok_mem_free(b);
}

static void hok2_detects_index_that_disagrees_with_blocks(void)
{
    size_t len, off;
    uint8_t *b = make_small(&len);
    mt_hok *h = NULL;
    mt_error e;
    uint64_t index_off;
    T_TRUE(b != NULL);
    index_off = rd64(b + len - 40);
    off = (size_t)index_off + 32; /* block 0, channel 0: min */
    { /* a lower min: wrong, but plausible */
        double mn;
        uint64_t bits = rd64(b + off);
        memcpy(&mn, &bits, 8);
        mn -= 1.0;
        memcpy(&bits, &mn, 8);
        wr64(b + off, bits);
    }
    wr64(b + len - 16, XXH64(b + index_off, len - 16 - (size_t)index_off, 0));
    T_OK_E(mt_hok_open(b, len, &h, &e), &e);
    T_ERR(mt_hok_verify(h, &e), MT_ECORRUPT);
    T_EQ_INT(e.pos, head_len_of(b));
    mt_hok_close(h);
    mt_hok_mem_free(b);
}

/* ---- round trips ------------------------------------------------------------ */

static void check_round_trip(const rows *r, uint32_t block_rows, int check_enc)
{
    size_t len, c, i;
    uint8_t *b = write_rows(r, block_rows, &len);
    mt_hok *h = NULL;
    mt_error e;
    mt_time *t = malloc((r->n + 1) * sizeof *t);
    double *v = malloc((r->n + 1) * sizeof *v);
    size_t n_blocks = (r->n + block_rows - 1) / block_rows;
    if (!b || !t || !v) {
        free(t);
        free(v);
        mt_hok_mem_free(b);
        T_FAIL("setup");
    }
    if (mt_hok_open(b, len, &h, &e) != MT_OK || mt_hok_verify(h, &e) != MT_OK) {
        free(t);
        free(v);
        mt_hok_mem_free(b);
        T_FAIL("%zu rows: %s at %zu: %s", r->n, mt_errname(e.code), e.pos, e.msg);
    }
    T_EQ_INT(mt_hok_version(h), MT_HOK_V2);
    T_EQ_U64(mt_hok_row_count(h), r->n);
    T_EQ_INT(mt_hok_block_count(h), n_blocks);
    T_OK_E(mt_hok_read_times(h, 0, r->n, t, &e), &e);
    for (i = 0; i < r->n; i++) {
        if (t[i] != r->t[i]) {
            T_FAIL("time %zu: %lld != %lld", i, (long long)t[i], (long long)r->t[i]);
        }
    }
    for (c = 0; c < NCH; c++) {
        T_OK_E(mt_hok_read_values(h, c, 0, r->n, v, &e), &e);
        for (i = 0; i < r->n; i++) {
            if (memcmp(&v[i], &r->v[c][i], 8) != 0) {
                T_FAIL("ch %zu row %zu: %.17g != %.17g", c, i, v[i], r->v[c][i]);
            }
        }
        if (check_enc && n_blocks) {
            size_t off = (size_t)head_len_of(b);
            T_EQ_INT(b[section_at(b, off, NCH, (int)c)], k_enc[c]);
        }
    }
    /* Rows across block boundaries, from odd offsets. */
    if (r->n > 3) {
        size_t r0 = r->n / 3, cnt = r->n - r0 - 1;
        T_OK_E(mt_hok_read_values(h, 1, r0, cnt, v, &e), &e);
        T_SAME_DOUBLE(v[0], r->v[1][r0]);
        T_SAME_DOUBLE(v[cnt - 1], r->v[1][r0 + cnt - 1]);
        T_OK_E(mt_hok_read_times(h, r0, cnt, t, &e), &e);
        T_EQ_INT(t[cnt - 1], r->t[r0 + cnt - 1]);
    }
    mt_hok_close(h);
    mt_hok_mem_free(b);
    free(t);
    free(v);
}

static void hok2_round_trips_every_encoding_path(void)
{
    rows r;
    T_TRUE(rows_make(&r, 300, 1));
    check_round_trip(&r, 4096, 1);
    check_round_trip(&r, 64, 0);
    rows_free(&r);
}

static void hok2_round_trips_block_boundaries(void)
{
    static const size_t sizes[] = {0, 1, 2, 3, 4095, 4096, 4097};
    size_t k;
    for (k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        rows r;
        T_TRUE(rows_make(&r, sizes[k], k % 2));
        check_round_trip(&r, 4096, 0);
        rows_free(&r);
    }
}

static void hok2_round_trips_extreme_times(void)
{
    rows r;
    size_t i;
    T_TRUE(rows_make(&r, 40, 0));
    r.t[0] = INT64_MIN;
    r.t[1] = INT64_MIN;
    r.t[2] = -5;
    for (i = 3; i < 20; i++) {
        r.t[i] = (mt_time)(i * i * i);
    }
    for (; i < 39; i++) {
        r.t[i] = INT64_MAX - 100 + (mt_time)i;
    }
    r.t[39] = INT64_MAX;
    check_round_trip(&r, 16, 0);
    rows_free(&r);
}

static void hok2_regular_series_costs_almost_nothing(void)
{
    rows r;
    size_t len;
    uint8_t *b;
    int c;
    T_TRUE(rows_make(&r, 4096 * 4, 0));
    for (c = 1; c < NCH; c++) {
        if (c != 2) {
            memcpy(r.v[c], r.v[0], r.n * sizeof(double));
        }
    }
    b = write_rows(&r, 4096, &len);
    T_TRUE(b != NULL);
    /* 16384 rows of regular times, a counter and constants: 4 blocks of
     * ~150 bytes plus ~600 bytes of index per block. */
    T_TRUE(len < 4000);
    mt_hok_mem_free(b);
    rows_free(&r);
}

static void hok2_seeks_by_time(void)
{
    rows r;
    size_t len, k;
    uint8_t *b;
    mt_hok *h = NULL;
    mt_error e;
    T_TRUE(rows_make(&r, 1000, 1));
    b = write_rows(&r, 64, &len);
    T_TRUE(b != NULL);
    T_OK_E(mt_hok_open(b, len, &h, &e), &e);
    for (k = 0; k < 200; k++) {
        mt_time q = r.t[0] - 5 * MT_US_PER_MIN + (mt_time)(rnd() % (1010 * 60)) * 1000000;
        uint64_t row, want = 0;
        while (want < r.n && r.t[want] < q) {
            want++;
        }
        T_OK_E(mt_hok_seek_time(h, q, &row, &e), &e);
        T_EQ_U64(row, want);
    }
    mt_hok_close(h);
    mt_hok_mem_free(b);
    rows_free(&r);
}

static int same_bucket(const mt_bucket *a, const mt_bucket *b)
{
    return a->n == b->n && a->n_special == b->n_special && a->special == b->special &&
           memcmp(&a->min, &b->min, 8) == 0 && memcmp(&a->max, &b->max, 8) == 0 &&
           memcmp(&a->first, &b->first, 8) == 0 && memcmp(&a->last, &b->last, 8) == 0 &&
           a->t_min == b->t_min && a->t_max == b->t_max && a->t_first == b->t_first &&
           a->t_last == b->t_last;
}

static void hok2_index_decimation_matches_brute_force(void)
{
    rows r;
    size_t len, k, i;
    uint8_t *b;
    mt_hok *h = NULL;
    mt_error e;
    mt_bucket got[300], want[300];
    T_TRUE(rows_make(&r, 5000, 1));
    b = write_rows(&r, 128, &len);
    T_TRUE(b != NULL);
    T_OK_E(mt_hok_open(b, len, &h, &e), &e);
    for (k = 0; k < 60; k++) {
        size_t ch = 1 + rnd() % (NCH - 1), nb = 1 + rnd() % 300, n_dec = 0;
        mt_time span = r.t[r.n - 1] - r.t[0] + 20 * MT_US_PER_MIN;
        mt_time t0 = r.t[0] - 10 * MT_US_PER_MIN + (mt_time)(rnd() % (uint64_t)span);
        mt_time t1 = t0 + 1 + (mt_time)(rnd() % (uint64_t)span);
        if (k == 0) {
            t0 = r.t[0];
            t1 = r.t[r.n - 1] + 1;
            nb = 10;
        }
        T_OK_E(mt_hok_decimate(h, ch, t0, t1, nb, got, &n_dec, &e), &e);
        T_OK_E(mt_decimate_minmax(r.t, r.v[ch], r.n, t0, t1, nb, want, &e), &e);
        for (i = 0; i < nb; i++) {
            if (!same_bucket(&got[i], &want[i])) {
                T_FAIL("ch %zu [%lld,%lld) %zu buckets: bucket %zu differs", ch, (long long)t0,
                       (long long)t1, nb, i);
            }
        }
        if (k == 0) {
            /* 40 blocks, 10 buckets: at most ~2 blocks per boundary decoded. */
            T_TRUE(n_dec <= 20);
        }
    }
    mt_hok_close(h);
    mt_hok_mem_free(b);
    rows_free(&r);
}

static void hok2_writes_the_golden_example(void)
{
    mt_hok_meta m = {"tiny", "metron", "dev1", "LR8450", "+09:00", INT64_C(1700000000000000)};
    mt_hok_channel c[2] = {{1, "T", "°C", MT_HOK_MEASURED, ""}, {2, "U", "V", MT_HOK_COMPUTED, ""}};
    mt_time t[2] = {INT64_C(1700000000000000), INT64_C(1700000060000000)};
    double a[2] = {21.5, 21.6}, u[2] = {1.25, 0};
    const double *cols[2] = {a, u};
    mt_hok_opts o = {MT_HOK_V2, 0};
    uint8_t *b = NULL, *want;
    size_t len, want_len;
    mt_error e;
    u[1] = mt_sv_value(MT_SV_BREAK);
    T_OK_E(mt_hok_write_mem(&o, &m, c, 2, t, cols, 2, &b, &len, &e), &e);
    want = t_fixture("hok/tiny.hok2", &want_len);
    if (want) {
        int same = want_len == len && memcmp(want, b, len) == 0;
        free(want);
        mt_hok_mem_free(b);
        T_TRUE(same);
    } else {
        mt_hok_mem_free(b);
    }
}

/* ---- allocation failures ---------------------------------------------------- */

static void hok2_open_and_decimate_oom_loop(void)
{
    size_t len;
    long n;
    uint8_t *b = make_small(&len);
    T_TRUE(b != NULL);
    for (n = 1; n < 30; n++) {
        mt_hok *h = NULL;
        mt_error e;
        mt_bucket out[3];
        mt_time tt[20];
        mt_status st;
        mt__fault_fail_nth(n);
        st = mt_hok_open(b, len, &h, &e);
        if (st == MT_OK) {
            st = mt_hok_decimate(h, 1, 0, 19000000, 3, out, NULL, &e);
        }
        if (st == MT_OK) {
            st = mt_hok_read_times(h, 3, 10, tt, &e);
        }
        mt_hok_close(h);
        if (!mt__fault_fired()) {
            mt__fault_fail_nth(0);
            T_OK_E(st, &e);
            break;
        }
        mt__fault_fail_nth(0);
        T_ERR(st, MT_ENOMEM);
    }
    T_TRUE(n > 1 && n < 30);
    mt_hok_mem_free(b);
}

static void hok2_writer_oom_loop(void)
{
    rows r;
    long n;
    T_TRUE(rows_make(&r, 100, 0));
    for (n = 1; n < 60; n++) {
        uint8_t *b;
        size_t len;
        mt_hok_opts o = {MT_HOK_V2, 16};
        const double *cols[NCH];
        mt_error e;
        mt_status st;
        int c;
        for (c = 0; c < NCH; c++) {
            cols[c] = r.v[c];
        }
        b = NULL;
        mt__fault_fail_nth(n);
        st = mt_hok_write_mem(&o, &k_meta, k_ch, NCH, r.t, cols, r.n, &b, &len, &e);
        if (!mt__fault_fired()) {
            mt__fault_fail_nth(0);
            T_OK_E(st, &e);
            mt_hok_mem_free(b);
            break;
        }
        mt__fault_fail_nth(0);
        T_ERR(st, MT_ENOMEM);
        T_TRUE(b == NULL);
    }
    T_TRUE(n > 1 && n < 60);
    rows_free(&r);
}

void suite_hok2(void)
{
    T_RUN(hok2_reports_offset_of_truncation_at_every_byte);
    T_RUN(hok2_catches_every_single_bit_flip);
    T_RUN(hok2_hostile_block_count_does_not_allocate);
    T_RUN(hok2_rejects_bad_block_rows_in_header);
    T_RUN(hok2_reports_offset_of_corrupt_section_with_valid_checksum);
    T_RUN(hok2_detects_index_that_disagrees_with_blocks);
    T_RUN(hok2_round_trips_every_encoding_path);
    T_RUN(hok2_round_trips_block_boundaries);
    T_RUN(hok2_round_trips_extreme_times);
    T_RUN(hok2_regular_series_costs_almost_nothing);
    T_RUN(hok2_seeks_by_time);
    T_RUN(hok2_index_decimation_matches_brute_force);
    T_RUN(hok2_writes_the_golden_example);
    T_RUN(hok2_open_and_decimate_oom_loop);
    T_RUN(hok2_writer_oom_loop);
}
