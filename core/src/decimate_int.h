/* Metron core (private): what decimate.c shares with series.c's folding of
 * packed summaries (mt_summary_fold_add()). */
#ifndef MT_DECIMATE_INT_H
#define MT_DECIMATE_INT_H

#include <stdint.h>

#include "mt/decimate.h"

/* Merge summary "s" into bucket "b", whose samples all precede those of "s":
 * the merge mt_decimate_blocks() makes of a block that lies in one bucket. */
void mt__bucket_merge(mt_bucket *b, const mt_block_summary *s);

/* The first instant of bucket "i" (0 <= i <= n_buckets; n_buckets gives
 * "t1") of "n_buckets" buckets over [t0, t1) (t1 > t0, n_buckets > 0), in
 * mt_decimate_minmax()'s exact arithmetic: a time t of [t0, t1) lies in
 * bucket i exactly when mt__bucket_start(i) <= t < mt__bucket_start(i + 1). */
mt_time mt__bucket_start(mt_time t0, mt_time t1, size_t n_buckets, uint64_t i);

/* The bucket of time "t" (t0 <= t < t1) in the same arithmetic. */
uint64_t mt__bucket_of(mt_time t0, mt_time t1, size_t n_buckets, mt_time t);

#endif
