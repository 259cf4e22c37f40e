/* WebAssembly exports of the statistics of a channel over a period
 * (mt/stats.h; dashboards' min/max/mean per panel, B2): a thin wrapper that
 * converts times from milliseconds and flattens the result. No statistics
 * logic here. */
#include <emscripten.h>
#include <math.h>
#include <stdlib.h>

#include "mt/stats.h"

/* Fields of the output, in this order (doubles). */
enum { OUT_N, OUT_MIN, OUT_TMIN, OUT_MAX, OUT_TMAX, OUT_MEAN, OUT_NROWS, OUT_SPECIAL,
       OUT_COUNT = OUT_SPECIAL + MT_SV_COUNT };

EMSCRIPTEN_KEEPALIVE int mtw_stats_fields(void)
{
    return OUT_COUNT;
}

/* mt_stats over "n" samples (times in ms, rounded to the nearest µs as
 * every binding does; non-decreasing): "out" receives OUT_COUNT doubles
 * (n, min, t_min ms, max, t_max ms, mean, rows, then the count of each
 * special kind 0..MT_SV_COUNT-1). Without ordinary values min, max and mean
 * are NaN and the times NaN. */
EMSCRIPTEN_KEEPALIVE int mtw_stats(const double *t_ms, const double *v, size_t n, double *out,
                                   mt_error *err)
{
    mt_stats s;
    mt_time *t = malloc(n ? n * sizeof *t : 1);
    mt_status st;
    if (t == NULL) {
        return mt_fail(err, MT_ENOMEM, 0, "no memory for %zu times", n);
    }
    for (size_t i = 0; i < n; i++) {
        double x = t_ms[i] * 1000.0;
        if (!(x > -9.2e18 && x < 9.2e18)) {
            free(t);
            return mt_fail(err, MT_EINVAL, i, "timestamp is not a time in range");
        }
        t[i] = (mt_time)llround(x);
    }
    mt_stats_init(&s);
    st = mt_stats_add(&s, t, v, n, err);
    free(t);
    if (st != MT_OK) {
        return st;
    }
    out[OUT_N] = (double)s.n;
    out[OUT_MIN] = s.n ? s.min : NAN;
    out[OUT_TMIN] = s.n ? (double)s.t_min / 1000.0 : NAN;
    out[OUT_MAX] = s.n ? s.max : NAN;
    out[OUT_TMAX] = s.n ? (double)s.t_max / 1000.0 : NAN;
    out[OUT_MEAN] = s.n ? mt_stats_mean(&s) : NAN;
    out[OUT_NROWS] = (double)s.n_rows;
    for (int k = 0; k < MT_SV_COUNT; k++) {
        out[OUT_SPECIAL + k] = (double)s.n_special[k];
    }
    return MT_OK;
}
