/* WebAssembly exports for HOK/HOK2 (wasm/hok.mjs is the JS side). Thin
 * wrappers: JS milliseconds <-> core microseconds, pointers for everything
 * that is not a plain number (no int64 parameters). */
#include <emscripten.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mt/hok.h"

static mt_time ms_to_us(double ms)
{
    double us = floor(ms * 1000.0 + 0.5);
    if (!(us > -9.2e18)) {
        return INT64_MIN;
    }
    if (!(us < 9.2e18)) {
        return INT64_MAX;
    }
    return (mt_time)us;
}

static double us_to_ms(mt_time t)
{
    return (double)t / 1000.0;
}

/* Open "buf" ("len" bytes; it must stay allocated until mtw_hok_close).
 * On success *out receives the handle. */
EMSCRIPTEN_KEEPALIVE int mtw_hok_open(const uint8_t *buf, size_t len, mt_hok **out,
                                      mt_error *err)
{
    return mt_hok_open(buf, len, out, err);
}

EMSCRIPTEN_KEEPALIVE void mtw_hok_close(mt_hok *h)
{
    mt_hok_close(h);
}

EMSCRIPTEN_KEEPALIVE int mtw_hok_version(const mt_hok *h)
{
    return mt_hok_version(h);
}

EMSCRIPTEN_KEEPALIVE double mtw_hok_rows(const mt_hok *h)
{
    return (double)mt_hok_row_count(h);
}

EMSCRIPTEN_KEEPALIVE int mtw_hok_channel_count(const mt_hok *h)
{
    return (int)mt_hok_channel_count(h);
}

EMSCRIPTEN_KEEPALIVE int mtw_hok_block_count(const mt_hok *h)
{
    return (int)mt_hok_block_count(h);
}

/* Metadata string "which": 0 title, 1 app, 2 device, 3 model, 4 timezone. */
EMSCRIPTEN_KEEPALIVE const char *mtw_hok_meta_str(const mt_hok *h, int which)
{
    const mt_hok_meta *m = mt_hok_get_meta(h);
    const char *s[5] = {m->title, m->app, m->device, m->model, m->timezone};
    return which >= 0 && which < 5 ? s[which] : "";
}

EMSCRIPTEN_KEEPALIVE double mtw_hok_meta_created_ms(const mt_hok *h)
{
    return us_to_ms(mt_hok_get_meta(h)->created);
}

/* Channel string "which": 0 name, 1 unit, 2 model. */
EMSCRIPTEN_KEEPALIVE const char *mtw_hok_ch_str(const mt_hok *h, int ch, int which)
{
    const mt_hok_channel *c = &mt_hok_channels(h)[ch];
    return which == 0 ? c->name : which == 1 ? c->unit : c->model;
}

/* The channel id as a double (exact up to 2^53). */
EMSCRIPTEN_KEEPALIVE double mtw_hok_ch_id(const mt_hok *h, int ch)
{
    return (double)mt_hok_channels(h)[ch].id;
}

EMSCRIPTEN_KEEPALIVE int mtw_hok_ch_kind(const mt_hok *h, int ch)
{
    return (int)mt_hok_channels(h)[ch].kind;
}

/* Times of rows [row0, row0 + n) in ms into "out" (n doubles). The int64
 * times are read into the same 8-byte slots and converted in place. */
EMSCRIPTEN_KEEPALIVE int mtw_hok_times_ms(mt_hok *h, double row0, size_t n, double *out,
                                          mt_error *err)
{
    size_t i;
    mt_status st = mt_hok_read_times(h, (uint64_t)row0, n, (mt_time *)(void *)out, err);
    if (st != MT_OK) {
        return st;
    }
    for (i = 0; i < n; i++) {
        int64_t t;
        double ms;
        memcpy(&t, &out[i], sizeof t);
        ms = us_to_ms(t);
        memcpy(&out[i], &ms, sizeof ms);
    }
    return MT_OK;
}

EMSCRIPTEN_KEEPALIVE int mtw_hok_values(mt_hok *h, int ch, double row0, size_t n, double *out,
                                        mt_error *err)
{
    return mt_hok_read_values(h, (size_t)ch, (uint64_t)row0, n, out, err);
}

/* The first row at or after "t_ms", as a double in *row. */
EMSCRIPTEN_KEEPALIVE int mtw_hok_seek_ms(mt_hok *h, double t_ms, double *row, mt_error *err)
{
    uint64_t r = 0;
    mt_status st = mt_hok_seek_time(h, ms_to_us(t_ms), &r, err);
    *row = (double)r;
    return st;
}

/* Min/max buckets into "out": 10 arrays of "nb" doubles one after another
 * (min, max, first, last, tFirst, tLast, tMin, tMax in ms, n, nSpecial),
 * "special" (nb bytes) the kinds, *n_decoded the blocks decoded. */
EMSCRIPTEN_KEEPALIVE int mtw_hok_decimate(mt_hok *h, int ch, double t0_ms, double t1_ms,
                                          size_t nb, double *out, uint8_t *special,
                                          double *n_decoded, mt_error *err)
{
    mt_bucket *b = malloc((nb ? nb : 1) * sizeof *b);
    size_t i, dec = 0;
    mt_status st;
    if (!b) {
        return mt_fail(err, MT_ENOMEM, 0, "out of memory for %zu buckets", nb);
    }
    st = mt_hok_decimate(h, (size_t)ch, ms_to_us(t0_ms), ms_to_us(t1_ms), nb, b, &dec, err);
    if (st == MT_OK) {
        for (i = 0; i < nb; i++) {
            out[i] = b[i].min;
            out[nb + i] = b[i].max;
            out[2 * nb + i] = b[i].first;
            out[3 * nb + i] = b[i].last;
            out[4 * nb + i] = us_to_ms(b[i].t_first);
            out[5 * nb + i] = us_to_ms(b[i].t_last);
            out[6 * nb + i] = us_to_ms(b[i].t_min);
            out[7 * nb + i] = us_to_ms(b[i].t_max);
            out[8 * nb + i] = (double)b[i].n;
            out[9 * nb + i] = (double)b[i].n_special;
            special[i] = (uint8_t)b[i].special;
        }
        *n_decoded = (double)dec;
    }
    free(b);
    return st;
}

/* Write a whole file. "strs" holds 5 metadata strings then name, unit, model
 * of each channel; "ids" and "kinds" one entry per channel; "times_ms" n
 * doubles; "cols" n_ch pointers to n doubles. Rows go through the streaming
 * writer in chunks, so no µs copy of all times is made. On success *out
 * and *out_len hold the file (free with mtw_hok_mem_free). */
EMSCRIPTEN_KEEPALIVE int mtw_hok_write(int version, int block_rows, const char *const *strs,
                                       double created_ms, int n_ch, const double *ids,
                                       const uint8_t *kinds, const double *times_ms,
                                       const double *const *cols, size_t n, uint8_t **out,
                                       size_t *out_len, mt_error *err)
{
    mt_hok_opts o;
    mt_hok_meta m;
    mt_hok_channel *ch = NULL;
    const double **part = NULL;
    mt_hok_buf buf = {0};
    mt_hok_writer *w = NULL;
    mt_time t[1024];
    size_t i, c;
    mt_status st = MT_OK;
    *out = NULL;
    *out_len = 0;
    o.version = version;
    o.block_rows = (uint32_t)block_rows;
    m.title = strs[0];
    m.app = strs[1];
    m.device = strs[2];
    m.model = strs[3];
    m.timezone = strs[4];
    m.created = ms_to_us(created_ms);
    if (n_ch < 0) {
        return mt_fail(err, MT_EINVAL, 0, "negative channel count");
    }
    ch = calloc((size_t)n_ch + 1, sizeof *ch);
    part = calloc((size_t)n_ch + 1, sizeof *part);
    if (!ch || !part) {
        st = mt_fail(err, MT_ENOMEM, 0, "out of memory for %d channels", n_ch);
        goto out;
    }
    for (c = 0; c < (size_t)n_ch; c++) {
        ch[c].id = (int64_t)ids[c];
        ch[c].kind = (mt_hok_kind)kinds[c];
        ch[c].name = strs[5 + 3 * c];
        ch[c].unit = strs[6 + 3 * c];
        ch[c].model = strs[7 + 3 * c];
    }
    st = mt_hok_writer_new(&o, &m, ch, (size_t)n_ch, mt_hok_buf_sink, &buf, &w, err);
    for (i = 0; i < n && st == MT_OK; i += 1024) {
        size_t k, take = n - i < 1024 ? n - i : 1024;
        for (k = 0; k < take; k++) {
            t[k] = ms_to_us(times_ms[i + k]);
        }
        for (c = 0; c < (size_t)n_ch; c++) {
            part[c] = cols[c] + i;
        }
        st = mt_hok_writer_append(w, t, part, take, err);
        if (st == MT_EORDER && err) {
            err->pos += i;
        }
    }
    if (st == MT_OK) {
        st = mt_hok_writer_finish(w, err);
    }
    if (st == MT_OK) {
        *out = buf.data;
        *out_len = buf.len;
        buf.data = NULL;
    }
out:
    mt_hok_writer_free(w);
    mt_hok_buf_free(&buf);
    free(ch);
    free(part);
    return st;
}

EMSCRIPTEN_KEEPALIVE void mtw_hok_mem_free(uint8_t *data)
{
    mt_hok_mem_free(data);
}
