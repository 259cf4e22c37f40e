/* WebAssembly exports of decimate (V1, V2): thin wrappers that convert the JS
 * conventions (times in milliseconds as doubles, flat double outputs) to
 * core's and back. No decimation logic here. */
#include <emscripten.h>
#include <math.h>
#include <stdlib.h>


#include "mt/decimate.h"

/* Output rows of mtw_decimate_minmax(), each "n_buckets" doubles long. */
enum { ROW_MIN, ROW_MAX, ROW_FIRST, ROW_LAST, ROW_N, ROW_TMIN, ROW_TMAX, ROW_TFIRST,
       ROW_TLAST, ROW_NSPECIAL, ROW_SPECIAL, ROW_COUNT };

/* Milliseconds (JS) to microseconds, rounded to the nearest µs (halves away
 * from zero, as llround(), without a libm call per sample: the truncation
 * and the remainder "x - i" are exact, as |x| < 2^63 and doubles above 2^53
 * are integers); "what" and "pos" name the offending input for the error. */
static mt_status ms_to_us(double ms, mt_time *us, size_t pos, const char *what, mt_error *err)
{
    double x = ms * 1000.0, frac;
    mt_time i;
    if (!(x > -9.2e18 && x < 9.2e18)) {
        return mt_fail(err, MT_EINVAL, pos, "%s is not a time in range", what);
    }
    i = (mt_time)x;
    frac = x - (double)i;
    *us = i + (frac >= 0.5) - (frac <= -0.5);
    return MT_OK;
}

static mt_status times_in(const double *t_ms, size_t n, mt_time **out, mt_error *err)
{
    size_t i;
    mt_status st;
    *out = malloc(n ? n * sizeof **out : 1);
    if (!*out) {
        return mt_fail(err, MT_ENOMEM, 0, "no memory for %zu times", n);
    }
    for (i = 0; i < n; i++) {
        st = ms_to_us(t_ms[i], &(*out)[i], i, "timestamp", err);
        if (st != MT_OK) {
            free(*out);
            *out = NULL;
            return st;
        }
    }
    return MT_OK;
}

/* A bucket time for JS: milliseconds, NaN for a gap. */
static double ms_out(mt_time us, int gap)
{
    return gap ? NAN : (double)us / 1000.0;
}

/* mt_decimate_minmax() over times in ms; "out" holds ROW_COUNT rows of
 * "n_buckets" doubles (see the enum). Gaps: NaN values and times. */
EMSCRIPTEN_KEEPALIVE int mtw_decimate_minmax(const double *t_ms, const double *v, size_t n,
                                             double t0_ms, double t1_ms, size_t n_buckets,
                                             double *out, mt_error *err)
{
    mt_time *t = NULL, t0, t1;
    mt_bucket *b = NULL;
    mt_status st;
    size_t i;
    if ((st = ms_to_us(t0_ms, &t0, 0, "t0", err)) != MT_OK ||
        (st = ms_to_us(t1_ms, &t1, 0, "t1", err)) != MT_OK) {
        return st;
    }
    if (n_buckets == 0 || n_buckets > SIZE_MAX / sizeof *b) {
        return mt_fail(err, MT_EINVAL, 0, "bad bucket count %zu", n_buckets);
    }
    st = times_in(t_ms, n, &t, err);
    if (st != MT_OK) {
        goto out;
    }
    b = malloc(n_buckets * sizeof *b);
    if (!b) {
        st = mt_fail(err, MT_ENOMEM, 0, "no memory for %zu buckets", n_buckets);
        goto out;
    }
    st = mt_decimate_minmax(t, v, n, t0, t1, n_buckets, b, err);
    if (st != MT_OK) {
        goto out;
    }
    for (i = 0; i < n_buckets; i++) {
        int gap = b[i].n == 0;
        out[ROW_MIN * n_buckets + i] = b[i].min;
        out[ROW_MAX * n_buckets + i] = b[i].max;
        out[ROW_FIRST * n_buckets + i] = b[i].first;
        out[ROW_LAST * n_buckets + i] = b[i].last;
        out[ROW_N * n_buckets + i] = (double)b[i].n;
        out[ROW_TMIN * n_buckets + i] = ms_out(b[i].t_min, gap);
        out[ROW_TMAX * n_buckets + i] = ms_out(b[i].t_max, gap);
        out[ROW_TFIRST * n_buckets + i] = ms_out(b[i].t_first, gap);
        out[ROW_TLAST * n_buckets + i] = ms_out(b[i].t_last, gap);
        out[ROW_NSPECIAL * n_buckets + i] = (double)b[i].n_special;
        out[ROW_SPECIAL * n_buckets + i] = (double)b[i].special;
    }
out:
    free(t);
    free(b);
    return st;
}

/* mt_decimate_lttb() over times in ms; indexes go to "idx" (n_out entries,
 * size_t is 32 bits in wasm32) and their count to "*out_len". */
EMSCRIPTEN_KEEPALIVE int mtw_decimate_lttb(const double *t_ms, const double *v, size_t n,
                                           size_t n_out, size_t *idx, size_t *out_len,
                                           mt_error *err)
{
    mt_time *t = NULL;
    mt_status st = times_in(t_ms, n, &t, err);
    if (st == MT_OK) {
        st = mt_decimate_lttb(t, v, n, n_out, idx, out_len, err);
    }
    free(t);
    return st;
}
