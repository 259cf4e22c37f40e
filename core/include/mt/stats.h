/* Metron core: the statistics of one channel over a period (T1, T2, V1).
 *
 * What a report's summary table shows and what the data API's summary
 * answers, computed by one piece of code so that both always agree: the
 * count of ordinary values, their minimum and maximum with the time of
 * each, their mean, and the count of each kind of special value.
 *
 * The accumulator is streaming: a period is fed in any number of calls
 * (one UTC day at a time, say), in time order, and the result does not
 * depend on how the samples were cut into calls. Rules:
 *
 *   - Special values (missing, +over, -over, break, error, any NaN or
 *     infinity) are counted by kind, never compared or averaged.
 *   - Minimum and maximum keep their FIRST occurrence (strict < and >), the
 *     tie rule of mt_decimate_minmax(): the figures equal a one-bucket
 *     decimation of the same samples bit for bit.
 *   - The mean is the compensated (Neumaier) sum of the ordinary values in
 *     sample order divided by their count: exact to the last bit or two
 *     for any realistic data, and the same on every platform (core is built
 *     with -ffp-contract=off).
 *
 * Pure: no allocation, no globals; one accumulator per thread. */
#ifndef MT_STATS_H
#define MT_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "mt/status.h"
#include "mt/types.h"

/* The accumulator. Read its members after mt_stats_add() calls; do not
 * write them. When n == 0, min and max are mt_sv_value(MT_SV_MISSING) and
 * t_min, t_max are 0. n_special[k] counts special values of kind k
 * (1..MT_SV_COUNT-1); n_special[0] is always 0. */
typedef struct {
    uint64_t n;
    double min, max;
    mt_time t_min, t_max;
    double sum, comp; /* Neumaier sum of the ordinary values and its correction */
    uint64_t n_special[MT_SV_COUNT];
    mt_time t_last;   /* the last time added (order check across calls) */
    uint64_t n_rows;  /* samples added, ordinary and special */
} mt_stats;

/* Start an empty accumulator. */
void mt_stats_init(mt_stats *s);

/* Add samples ("t", "v", "n" of them) that follow the ones added before:
 * "t" must be non-decreasing, also across calls (equal times allowed).
 * Errors: MT_EINVAL ("s" NULL, or NULL arrays with n > 0), MT_EORDER
 * (err->pos = the index in this call of the first time smaller than its
 * predecessor); on error "s" is unchanged. */
mt_status mt_stats_add(mt_stats *s, const mt_time *t, const double *v, size_t n,
                       mt_error *err) MT_MUSTCHECK;

/* The mean of the ordinary values: (sum + comp) / n, or
 * mt_sv_value(MT_SV_MISSING) when n == 0. */
double mt_stats_mean(const mt_stats *s);

/* The count of special values of every kind together. */
uint64_t mt_stats_special_total(const mt_stats *s);

#endif
