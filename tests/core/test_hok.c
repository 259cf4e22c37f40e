/* HOK (v1) and what HOK2 shares with it: the header, metadata, channel table,
 * the writer's argument checks and the sink. HOK2's codecs: test_hok2.c. */
#include <float.h>
#include <stdint.h>
#include <stdlib.h>

#include "../t.h"
#include "alloc_int.h"
#include "mt/decimate.h"
#include "mt/hok.h"

#define XXH_INLINE_ALL
#include "xxhash.h"

static const mt_hok_meta k_meta = {"Kühlhaus 3 — 温度ログ", "Metron test", "LR8450-0042", "LR8450",
                                   "Asia/Tokyo", INT64_C(1700000000000000)};

static const mt_hok_channel k_ch[3] = {
    {101, "温度 A1", "°C", MT_HOK_MEASURED, "LR8450"},
    {102, "Spannung", "V", MT_HOK_MEASURED, "LR8450"},
    {-7, "(CH1+CH2)/2", "", MT_HOK_COMPUTED, ""},
};

static void wr64(uint8_t *p, uint64_t v)
{
    int i;
    for (i = 0; i < 8; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

/* Rows of 1-minute data with every kind of special value in channel 1. */
static void fill_rows(size_t n, mt_time *t, double *v0, double *v1, double *v2)
{
    size_t i;
    for (i = 0; i < n; i++) {
        t[i] = k_meta.created + (mt_time)i * MT_US_PER_MIN;
        v0[i] = 20.0 + (double)(i % 17) * 0.1;
        v1[i] = (i % 7 == 3) ? mt_sv_value((mt_sv)(1 + i % 5)) : -1.5e-3 * (double)i;
        v2[i] = (double)i;
    }
}

/* A small valid HOK file of "n" rows (caller frees with mt_hok_mem_free). */
static uint8_t *make_v1(size_t n, size_t *len)
{
    mt_time t[64];
    double v0[64], v1[64], v2[64];
    const double *cols[3] = {v0, v1, v2};
    mt_hok_opts o = {MT_HOK_V1, 0};
    uint8_t *data = NULL;
    mt_error e;
    fill_rows(64, t, v0, v1, v2);
    if (mt_hok_write_mem(&o, &k_meta, k_ch, 3, t, cols, n, &data, len, &e) != MT_OK) {
        return NULL;
    }
    return data;
}

/* Re-seal a HOK v1 file after a test edited it: fix the whole-file checksum. */
static void reseal_v1(uint8_t *b, size_t len)
{
    wr64(b + len - 8, XXH64(b, len - 8, 0));
}

static size_t head_len_of(const uint8_t *b)
{
    return (size_t)b[12] | ((size_t)b[13] << 8) | ((size_t)b[14] << 16) | ((size_t)b[15] << 24);
}

static void reseal_head(uint8_t *b)
{
    size_t hl = head_len_of(b);
    wr64(b + hl - 8, XXH64(b, hl - 8, 0));
}

/* ---- unhappy paths -------------------------------------------------------- */

static void hok_rejects_foreign_files_as_eformat(void)
{
    static const uint8_t zip[] = {'P', 'K', 3, 4, 20, 0, 0, 0, 8, 0};
    static const uint8_t text[] = "Time,CH1\n0,1.5\n";
    mt_hok *h = (mt_hok *)1;
    mt_error e;
    T_ERR(mt_hok_open(zip, sizeof zip, &h, &e), MT_EFORMAT);
    T_TRUE(h == NULL);
    T_ERR(mt_hok_open(text, sizeof text - 1, &h, &e), MT_EFORMAT);
    T_ERR(mt_hok_open(text, 0, &h, &e), MT_EFORMAT);
    T_ERR(mt_hok_open(NULL, 3, &h, &e), MT_EINVAL);
}

static void hok_rejects_later_version_with_eversion(void)
{
    size_t len;
    uint8_t *b = make_v1(3, &len);
    mt_hok *h = NULL;
    mt_error e;
    T_TRUE(b != NULL);
    b[8] = 3;
    T_ERR(mt_hok_open(b, len, &h, &e), MT_EVERSION);
    T_EQ_INT(e.pos, 8);
    b[8] = 0;
    T_ERR(mt_hok_open(b, len, &h, &e), MT_ECORRUPT);
    mt_hok_mem_free(b);
}

static void hok_reports_offset_of_truncation_at_every_byte(void)
{
    size_t len, cut;
    uint8_t *b = make_v1(5, &len);
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

static void hok_catches_every_single_bit_flip(void)
{
    size_t len, i;
    int bit;
    uint8_t *b = make_v1(4, &len);
    T_TRUE(b != NULL);
    for (i = 0; i < len; i++) {
        for (bit = 0; bit < 8; bit++) {
            mt_hok *h = NULL;
            mt_error e;
            mt_status st;
            b[i] ^= (uint8_t)(1u << bit);
            st = mt_hok_open(b, len, &h, &e);
            b[i] ^= (uint8_t)(1u << bit);
            if (st == MT_OK) {
                mt_hok_close(h);
                mt_hok_mem_free(b);
                T_FAIL("flip of bit %d at %zu went unnoticed", bit, i);
            }
        }
    }
    mt_hok_mem_free(b);
}

static void hok_hostile_row_count_does_not_allocate(void)
{
    size_t len;
    uint8_t *b = make_v1(2, &len);
    mt_hok *h = NULL;
    mt_error e;
    T_TRUE(b != NULL);
    wr64(b + len - 24, UINT64_C(1) << 60);
    reseal_v1(b, len);
    mt__fault_fail_nth(4); /* the reader needs only 3 allocations for this file */
    T_ERR(mt_hok_open(b, len, &h, &e), MT_ECORRUPT);
    T_EQ_INT(e.pos, len - 24);
    T_TRUE(!mt__fault_fired());
    mt__fault_fail_nth(0);
    mt_hok_mem_free(b);
}

static void hok_hostile_channel_count_is_rejected(void)
{
    size_t len, hl;
    uint8_t *b = make_v1(2, &len);
    mt_hok *h = NULL;
    mt_error e;
    size_t at;
    T_TRUE(b != NULL);
    hl = head_len_of(b);
    /* The channel count sits 8 bytes after the creation time, which follows
     * the five metadata strings. */
    at = 16;
    {
        int k;
        for (k = 0; k < 5; k++) {
            at += 2 + (size_t)(b[at] | (b[at + 1] << 8));
        }
    }
    at += 8;
    T_EQ_INT(b[at], 3);
    b[at + 3] = 0x40; /* 2^30 + 3 channels */
    reseal_head(b);
    T_ERR(mt_hok_open(b, len, &h, &e), MT_ECORRUPT);
    T_EQ_INT(e.pos, at);
    T_TRUE(hl > at);
    mt_hok_mem_free(b);
}

static void hok_reports_offset_of_bad_value_kind(void)
{
    size_t len, hl, off;
    uint8_t *b = make_v1(3, &len);
    mt_hok *h = NULL;
    mt_error e;
    double v[3];
    T_TRUE(b != NULL);
    hl = head_len_of(b);
    off = hl + (8 + 27) * 2 + 8 + 1; /* row 2, kind byte of channel 1 */
    b[off] = 9;
    reseal_v1(b, len);
    T_OK_E(mt_hok_open(b, len, &h, &e), &e);
    T_ERR(mt_hok_read_values(h, 1, 0, 3, v, &e), MT_ECORRUPT);
    T_EQ_INT(e.pos, off);
    T_ERR(mt_hok_verify(h, &e), MT_ECORRUPT);
    T_OK_E(mt_hok_read_values(h, 0, 0, 3, v, &e), &e);
    mt_hok_close(h);
    /* An ordinary kind with a NaN value is corrupt too. */
    b[off] = 0;
    wr64(b + hl + 35 * 2 + 8 + 3 + 8, UINT64_C(0x7FF8000000000001));
    reseal_v1(b, len);
    T_OK_E(mt_hok_open(b, len, &h, &e), &e);
    T_ERR(mt_hok_read_values(h, 1, 0, 3, v, &e), MT_ECORRUPT);
    T_EQ_INT(e.pos, hl + 35 * 2 + 8 + 3 + 8);
    mt_hok_close(h);
    mt_hok_mem_free(b);
}

static void hok_rejects_times_out_of_order(void)
{
    size_t len, hl;
    uint8_t *b = make_v1(3, &len);
    mt_hok *h = NULL;
    mt_error e;
    T_TRUE(b != NULL);
    hl = head_len_of(b);
    wr64(b + hl + 35 * 2, 0);
    reseal_v1(b, len);
    T_ERR(mt_hok_open(b, len, &h, &e), MT_ECORRUPT);
    T_EQ_INT(e.pos, hl + 35 * 2);
    mt_hok_mem_free(b);
}

static void hok_writer_rejects_bad_arguments(void)
{
    mt_hok_opts o = {MT_HOK_V1, 0}, bad = {3, 0};
    mt_hok_meta m = k_meta;
    mt_hok_channel c[1] = {{1, "a", "b", MT_HOK_MEASURED, NULL}};
    mt_hok_buf buf = {0};
    mt_hok_writer *w = (mt_hok_writer *)1;
    mt_error e;
    char big[MT_HOK_MAX_TITLE + 2];
    mt_time t[3] = {5, 4, 6};
    double v[3] = {1, 2, 3};
    const double *cols[1] = {v};
    T_ERR(mt_hok_writer_new(&bad, &m, c, 1, mt_hok_buf_sink, &buf, &w, &e), MT_EINVAL);
    T_TRUE(w == NULL);
    bad.version = MT_HOK_V2;
    bad.block_rows = MT_HOK_MAX_BLOCK_ROWS + 1;
    T_ERR(mt_hok_writer_new(&bad, &m, c, 1, mt_hok_buf_sink, &buf, &w, &e), MT_EINVAL);
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    m.title = big;
    T_ERR(mt_hok_writer_new(&o, &m, c, 1, mt_hok_buf_sink, &buf, &w, &e), MT_ELIMIT);
    m.title = "bad \xC0\xAF utf-8";
    T_ERR(mt_hok_writer_new(&o, &m, c, 1, mt_hok_buf_sink, &buf, &w, &e), MT_ESYNTAX);
    m.title = "ok";
    c[0].unit = "\xED\xA0\x80"; /* a UTF-16 surrogate */
    T_ERR(mt_hok_writer_new(&o, &m, c, 1, mt_hok_buf_sink, &buf, &w, &e), MT_ESYNTAX);
    T_EQ_INT(e.pos, 0);
    c[0].unit = "V";
    c[0].kind = (mt_hok_kind)7;
    T_ERR(mt_hok_writer_new(&o, &m, c, 1, mt_hok_buf_sink, &buf, &w, &e), MT_EINVAL);
    c[0].kind = MT_HOK_COMPUTED;
    T_OK_E(mt_hok_writer_new(&o, &m, c, 1, mt_hok_buf_sink, &buf, &w, &e), &e);
    T_ERR(mt_hok_writer_append(w, t, cols, 3, &e), MT_EORDER);
    T_EQ_INT(e.pos, 1);
    /* Rejected input wrote nothing: the writer goes on. */
    T_OK_E(mt_hok_writer_append(w, t + 1, cols, 2, &e), &e);
    T_ERR(mt_hok_writer_append(w, t, cols, 1, &e), MT_EORDER);
    T_EQ_INT(e.pos, 0);
    T_OK_E(mt_hok_writer_finish(w, &e), &e);
    T_ERR(mt_hok_writer_append(w, t + 2, cols, 1, &e), MT_EINVAL);
    mt_hok_writer_free(w);
    mt_hok_buf_free(&buf);
}

typedef struct {
    size_t budget;
    size_t got;
} failing_sink;

static mt_status fail_after(void *ctx, const uint8_t *bytes, size_t len, mt_error *err)
{
    failing_sink *s = ctx;
    (void)bytes;
    if (s->got + len > s->budget) {
        return mt_fail(err, MT_ENOSPACE, s->got, "disk full");
    }
    s->got += len;
    return MT_OK;
}

static void hok_writer_passes_on_sink_errors(void)
{
    mt_hok_opts o = {MT_HOK_V1, 0};
    mt_hok_writer *w = NULL;
    failing_sink fs = {10, 0};
    mt_time t[64];
    double v0[64], v1[64], v2[64];
    const double *cols[3] = {v0, v1, v2};
    mt_error e;
    T_ERR(mt_hok_writer_new(&o, &k_meta, k_ch, 3, fail_after, &fs, &w, &e), MT_ENOSPACE);
    T_EQ_STR(e.msg, "disk full");
    fs.budget = 300;
    T_OK_E(mt_hok_writer_new(&o, &k_meta, k_ch, 3, fail_after, &fs, &w, &e), &e);
    fill_rows(64, t, v0, v1, v2);
    T_OK_E(mt_hok_writer_append(w, t, cols, 64, &e), &e);
    T_ERR(mt_hok_writer_finish(w, &e), MT_ENOSPACE);
    T_ERR(mt_hok_writer_finish(w, &e), MT_ENOSPACE);
    mt_hok_writer_free(w);
}

/* ---- round trips ------------------------------------------------------------ */

static void hok_round_trips_metadata_and_utf8_channels(void)
{
    size_t len, i;
    uint8_t *b = make_v1(0, &len);
    mt_hok *h = NULL;
    mt_error e;
    const mt_hok_meta *m;
    const mt_hok_channel *c;
    T_TRUE(b != NULL);
    T_OK_E(mt_hok_open(b, len, &h, &e), &e);
    T_EQ_INT(mt_hok_version(h), MT_HOK_V1);
    m = mt_hok_get_meta(h);
    T_EQ_STR(m->title, k_meta.title);
    T_EQ_STR(m->app, k_meta.app);
    T_EQ_STR(m->device, k_meta.device);
    T_EQ_STR(m->model, k_meta.model);
    T_EQ_STR(m->timezone, k_meta.timezone);
    T_EQ_INT(m->created, k_meta.created);
    T_EQ_INT(mt_hok_channel_count(h), 3);
    T_EQ_U64(mt_hok_row_count(h), 0);
    T_EQ_INT(mt_hok_block_count(h), 0);
    c = mt_hok_channels(h);
    for (i = 0; i < 3; i++) {
        T_EQ_INT(c[i].id, k_ch[i].id);
        T_EQ_STR(c[i].name, k_ch[i].name);
        T_EQ_STR(c[i].unit, k_ch[i].unit);
        T_EQ_STR(c[i].model, k_ch[i].model);
        T_EQ_INT(c[i].kind, k_ch[i].kind);
    }
    mt_hok_close(h);
    mt_hok_mem_free(b);
}

static void hok_round_trips_every_special_value(void)
{
    static const double kinds_in[] = {0.0, -0.0, 1.0, -2.5, DBL_MAX, -DBL_MAX, DBL_MIN,
                                      4.9e-324, 1e300, 0.1, 0, 0, 0, 0, 0, 0, 0, 0};
    double in[18], out[18];
    mt_time t[18];
    const double *cols[1] = {in};
    mt_hok_channel c = {1, "x", "", MT_HOK_MEASURED, ""};
    mt_hok_opts o = {MT_HOK_V1, 0};
    uint8_t *b = NULL;
    size_t len, i;
    mt_hok *h = NULL;
    mt_error e;
    memcpy(in, kinds_in, sizeof in);
    in[10] = mt_sv_value(MT_SV_MISSING);
    in[11] = mt_sv_value(MT_SV_OVER_POS);
    in[12] = mt_sv_value(MT_SV_OVER_NEG);
    in[13] = mt_sv_value(MT_SV_BREAK);
    in[14] = mt_sv_value(MT_SV_ERROR);
    in[15] = HUGE_VAL;
    in[16] = -HUGE_VAL;
    in[17] = nan("");
    for (i = 0; i < 18; i++) {
        t[i] = (mt_time)i * 1000 - 5000; /* before 1970 too */
    }
    T_OK_E(mt_hok_write_mem(&o, &k_meta, &c, 1, t, cols, 18, &b, &len, &e), &e);
    T_OK_E(mt_hok_open(b, len, &h, &e), &e);
    T_OK_E(mt_hok_verify(h, &e), &e);
    T_OK_E(mt_hok_read_values(h, 0, 0, 18, out, &e), &e);
    for (i = 0; i < 15; i++) {
        T_SAME_DOUBLE(out[i], in[i]);
    }
    T_SAME_DOUBLE(out[15], mt_sv_value(MT_SV_OVER_POS));
    T_SAME_DOUBLE(out[16], mt_sv_value(MT_SV_OVER_NEG));
    T_SAME_DOUBLE(out[17], mt_sv_value(MT_SV_ERROR));
    T_OK_E(mt_hok_read_values(h, 0, 11, 2, out, &e), &e);
    T_SAME_DOUBLE(out[0], mt_sv_value(MT_SV_OVER_POS));
    {
        mt_time tt[18];
        T_OK_E(mt_hok_read_times(h, 0, 18, tt, &e), &e);
        for (i = 0; i < 18; i++) {
            T_EQ_INT(tt[i], t[i]);
        }
    }
    T_ERR(mt_hok_read_values(h, 0, 17, 2, out, &e), MT_ERANGE);
    T_ERR(mt_hok_read_values(h, 1, 0, 1, out, &e), MT_EINVAL);
    mt_hok_close(h);
    mt_hok_mem_free(b);
}

static void hok_read_rows_equals_per_channel_reads(void)
{
    size_t len, r, c;
    uint8_t *b = make_v1(40, &len);
    mt_hok *h = NULL;
    mt_error e;
    mt_time t1[40], t2[40];
    double a[3][40], x[3][40];
    double *cols[3] = {x[0], x[1], x[2]};
    T_TRUE(b != NULL);
    T_OK_E(mt_hok_open(b, len, &h, &e), &e);
    T_OK_E(mt_hok_read_times(h, 3, 30, t1, &e), &e);
    for (c = 0; c < 3; c++) {
        T_OK_E(mt_hok_read_values(h, c, 3, 30, a[c], &e), &e);
    }
    T_OK_E(mt_hok_read_rows(h, 3, 30, t2, cols, &e), &e);
    for (r = 0; r < 30; r++) {
        T_EQ_INT(t2[r], t1[r]);
        for (c = 0; c < 3; c++) {
            T_SAME_DOUBLE(x[c][r], a[c][r]);
        }
    }
    T_ERR(mt_hok_read_rows(h, 30, 11, t2, cols, &e), MT_ERANGE);
    cols[1] = NULL;
    T_ERR(mt_hok_read_rows(h, 0, 1, t2, cols, &e), MT_EINVAL);
    mt_hok_close(h);
    /* A bad kind byte is reported at its offset, as by mt_hok_read_values(). */
    {
        size_t off = head_len_of(b) + (8 + 27) * 2 + 8 + 1;
        cols[1] = x[1];
        b[off] = 9;
        reseal_v1(b, len);
        T_OK_E(mt_hok_open(b, len, &h, &e), &e);
        T_ERR(mt_hok_read_rows(h, 0, 3, t2, cols, &e), MT_ECORRUPT);
        T_EQ_INT(e.pos, off);
        mt_hok_close(h);
    }
    mt_hok_mem_free(b);
}

static void hok_streams_the_same_bytes_in_any_chunking(void)
{
    mt_time t[64];
    double v0[64], v1[64], v2[64];
    mt_hok_opts o = {MT_HOK_V1, 0};
    mt_hok_buf buf = {0};
    mt_hok_writer *w = NULL;
    size_t len, i = 0, step = 1;
    uint8_t *ref = make_v1(64, &len);
    mt_error e;
    T_TRUE(ref != NULL);
    fill_rows(64, t, v0, v1, v2);
    T_OK_E(mt_hok_writer_new(&o, &k_meta, k_ch, 3, mt_hok_buf_sink, &buf, &w, &e), &e);
    while (i < 64) {
        size_t n = step < 64 - i ? step : 64 - i;
        const double *cols[3] = {v0 + i, v1 + i, v2 + i};
        T_OK_E(mt_hok_writer_append(w, t + i, cols, n, &e), &e);
        i += n;
        step = step * 2 + 1;
    }
    T_OK_E(mt_hok_writer_finish(w, &e), &e);
    T_EQ_INT(buf.len, len);
    T_TRUE(memcmp(buf.data, ref, len) == 0);
    mt_hok_writer_free(w);
    mt_hok_buf_free(&buf);
    mt_hok_mem_free(ref);
}

static void hok_one_row_and_no_channels(void)
{
    mt_hok_opts o = {MT_HOK_V1, 0};
    mt_time t[2] = {-1, 7}, tt[2];
    uint8_t *b = NULL;
    size_t len;
    uint64_t row;
    mt_hok *h = NULL;
    mt_error e;
    T_OK_E(mt_hok_write_mem(&o, &k_meta, NULL, 0, t, NULL, 2, &b, &len, &e), &e);
    T_OK_E(mt_hok_open(b, len, &h, &e), &e);
    T_EQ_U64(mt_hok_row_count(h), 2);
    T_OK_E(mt_hok_read_times(h, 1, 1, tt, &e), &e);
    T_EQ_INT(tt[0], 7);
    T_OK_E(mt_hok_seek_time(h, 0, &row, &e), &e);
    T_EQ_U64(row, 1);
    T_OK_E(mt_hok_seek_time(h, 8, &row, &e), &e);
    T_EQ_U64(row, 2);
    mt_hok_close(h);
    mt_hok_mem_free(b);
}

static void hok_decimates_like_minmax(void)
{
    size_t len, i;
    uint8_t *b = make_v1(64, &len);
    mt_time t[64];
    double v0[64], v1[64], v2[64];
    mt_bucket got[7], want[7];
    mt_hok *h = NULL;
    mt_error e;
    T_TRUE(b != NULL);
    fill_rows(64, t, v0, v1, v2);
    T_OK_E(mt_hok_open(b, len, &h, &e), &e);
    T_OK_E(mt_hok_decimate(h, 1, t[3] + 1, t[50], 7, got, NULL, &e), &e);
    T_OK_E(mt_decimate_minmax(t, v1, 64, t[3] + 1, t[50], 7, want, &e), &e);
    for (i = 0; i < 7; i++) {
        T_EQ_U64(got[i].n, want[i].n);
        T_EQ_U64(got[i].n_special, want[i].n_special);
        T_SAME_DOUBLE(got[i].min, want[i].min);
        T_SAME_DOUBLE(got[i].max, want[i].max);
        T_EQ_INT(got[i].t_max, want[i].t_max);
    }
    T_ERR(mt_hok_decimate(h, 1, 5, 5, 7, got, NULL, &e), MT_EINVAL);
    mt_hok_close(h);
    mt_hok_mem_free(b);
}

/* The file tests/fixtures/hok/tiny.hok is the worked example of
 * docs/formats/hok.md: the writer must keep producing it byte for byte. */
static void hok_writes_the_golden_example(void)
{
    mt_hok_meta m = {"tiny", "metron", "dev1", "LR8450", "+09:00", INT64_C(1700000000000000)};
    mt_hok_channel c[2] = {{1, "T", "°C", MT_HOK_MEASURED, ""}, {2, "U", "V", MT_HOK_COMPUTED, ""}};
    mt_time t[2] = {INT64_C(1700000000000000), INT64_C(1700000060000000)};
    double a[2] = {21.5, 21.6}, u[2] = {1.25, 0};
    const double *cols[2] = {a, u};
    mt_hok_opts o = {MT_HOK_V1, 0};
    uint8_t *b = NULL, *want;
    size_t len, want_len;
    mt_error e;
    u[1] = mt_sv_value(MT_SV_BREAK);
    T_OK_E(mt_hok_write_mem(&o, &m, c, 2, t, cols, 2, &b, &len, &e), &e);
    want = t_fixture("hok/tiny.hok", &want_len);
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

static void hok_open_oom_loop(void)
{
    size_t len;
    long n;
    uint8_t *b = make_v1(8, &len);
    T_TRUE(b != NULL);
    for (n = 1; n < 20; n++) {
        mt_hok *h = NULL;
        mt_error e;
        mt_status st;
        mt__fault_fail_nth(n);
        st = mt_hok_open(b, len, &h, &e);
        if (!mt__fault_fired()) {
            mt__fault_fail_nth(0);
            T_OK_E(st, &e);
            mt_hok_close(h);
            break;
        }
        mt__fault_fail_nth(0);
        T_ERR(st, MT_ENOMEM);
        T_TRUE(h == NULL);
    }
    T_TRUE(n > 1);
    mt_hok_mem_free(b);
}

static void hok_writer_oom_loop(void)
{
    mt_time t[64];
    double v0[64], v1[64], v2[64];
    const double *cols[3] = {v0, v1, v2};
    long n;
    fill_rows(64, t, v0, v1, v2);
    for (n = 1; n < 40; n++) {
        mt_hok_opts o = {MT_HOK_V1, 0};
        uint8_t *b = NULL;
        size_t len;
        mt_error e;
        mt_status st;
        mt__fault_fail_nth(n);
        st = mt_hok_write_mem(&o, &k_meta, k_ch, 3, t, cols, 64, &b, &len, &e);
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
    T_TRUE(n > 1 && n < 40);
}

void suite_hok(void)
{
    T_RUN(hok_rejects_foreign_files_as_eformat);
    T_RUN(hok_rejects_later_version_with_eversion);
    T_RUN(hok_reports_offset_of_truncation_at_every_byte);
    T_RUN(hok_catches_every_single_bit_flip);
    T_RUN(hok_hostile_row_count_does_not_allocate);
    T_RUN(hok_hostile_channel_count_is_rejected);
    T_RUN(hok_reports_offset_of_bad_value_kind);
    T_RUN(hok_rejects_times_out_of_order);
    T_RUN(hok_writer_rejects_bad_arguments);
    T_RUN(hok_writer_passes_on_sink_errors);
    T_RUN(hok_round_trips_metadata_and_utf8_channels);
    T_RUN(hok_round_trips_every_special_value);
    T_RUN(hok_read_rows_equals_per_channel_reads);
    T_RUN(hok_streams_the_same_bytes_in_any_chunking);
    T_RUN(hok_one_row_and_no_channels);
    T_RUN(hok_decimates_like_minmax);
    T_RUN(hok_writes_the_golden_example);
    T_RUN(hok_open_oom_loop);
    T_RUN(hok_writer_oom_loop);
}
