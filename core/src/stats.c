/* Period statistics of one channel (mt/stats.h). */
#include "mt/stats.h"

#include <string.h>

void mt_stats_init(mt_stats *s)
{
    double miss = mt_sv_value(MT_SV_MISSING);
    memset(s, 0, sizeof *s);
    s->min = s->max = miss;
    s->t_last = INT64_MIN;
}

mt_status mt_stats_add(mt_stats *s, const mt_time *t, const double *v, size_t n, mt_error *err)
{
    mt_stats acc;
    mt_time prev;
    size_t i;
    if (s == NULL || (n > 0 && (t == NULL || v == NULL))) {
        return mt_fail(err, MT_EINVAL, 0, "NULL accumulator or arrays");
    }
    /* The order check first, so that a refused call changes nothing. */
    prev = s->t_last;
    for (i = 0; i < n; i++) {
        if (t[i] < prev) {
            return mt_fail(err, MT_EORDER, i, "time %lld at index %zu is before %lld",
                           (long long)t[i], i, (long long)prev);
        }
        prev = t[i];
    }
    acc = *s;
    for (i = 0; i < n; i++) {
        double x = v[i];
        double sum;
        if (!mt_sv_is_number(x)) {
            acc.n_special[mt_sv_kind(x)]++;
            continue;
        }
        if (acc.n == 0) {
            acc.min = acc.max = x;
            acc.t_min = acc.t_max = t[i];
        } else if (x < acc.min) {
            acc.min = x;
            acc.t_min = t[i];
        } else if (x > acc.max) {
            acc.max = x;
            acc.t_max = t[i];
        }
        /* Neumaier: the rounding error of each addition is kept apart. */
        sum = acc.sum + x;
        if ((acc.sum < 0 ? -acc.sum : acc.sum) >= (x < 0 ? -x : x)) {
            acc.comp += (acc.sum - sum) + x;
        } else {
            acc.comp += (x - sum) + acc.sum;
        }
        acc.sum = sum;
        acc.n++;
    }
    acc.n_rows += n;
    if (n > 0) {
        acc.t_last = t[n - 1];
    }
    *s = acc;
    return MT_OK;
}

double mt_stats_mean(const mt_stats *s)
{
    if (s->n == 0) {
        return mt_sv_value(MT_SV_MISSING);
    }
    return (s->sum + s->comp) / (double)s->n;
}

uint64_t mt_stats_special_total(const mt_stats *s)
{
    uint64_t total = 0;
    for (int k = 1; k < MT_SV_COUNT; k++) {
        total += s->n_special[k];
    }
    return total;
}
