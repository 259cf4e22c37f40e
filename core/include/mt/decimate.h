/* Metron core: decimation of time series for charts (V1, V2).
 *
 * A chart "w" pixels wide cannot show more than about 2·w values, yet must
 * show every spike of 100 million samples. mt_decimate_minmax() cuts the
 * time range [t0, t1) into "n_buckets" equal buckets and returns for each
 * the min, max, first and last ordinary value (special values are counted
 * apart, never as numbers). A bucket with no ordinary value is a gap.
 * mt_decimate_lttb() picks "n_out" representative samples instead
 * (Largest-Triangle-Three-Buckets) for line charts that want real points.
 * mt_decimate_blocks() computes the min/max buckets from per-block summaries
 * (a HOK2 index, or the server's stored block summaries) and decodes only the
 * blocks that straddle a bucket boundary.
 *
 * All functions are pure: no allocation except where stated, no globals,
 * safe to call from any number of threads on distinct outputs. */
#ifndef MT_DECIMATE_H
#define MT_DECIMATE_H

#include <stddef.h>
#include <stdint.h>

#include "mt/status.h"
#include "mt/types.h"

/* One bucket of min/max decimation. When n == 0 the bucket is a gap and
 * min, max, first, last are mt_sv_value(MT_SV_MISSING) and the four times are
 * 0 (a gap may still count special values). "t_first"/"t_last"
 * are the times of the first/last ordinary value, "t_min"/"t_max" of the
 * (first) minimum and maximum, so a chart can place them exactly. "n_special"
 * counts special values that fell in the bucket and "special" is the kind of
 * the last of them (MT_SV_NONE when n_special == 0). */
typedef struct {
    double min, max, first, last;
    mt_time t_first, t_last, t_min, t_max;
    uint64_t n;
    uint64_t n_special;
    mt_sv special;
} mt_bucket;

/* Decimate samples ("t", "v", "n" of them, "t" non-decreasing) into
 * "n_buckets" buckets covering [t0, t1) (t1 > t0). Bucket i covers
 * [t0 + i·w, t0 + (i+1)·w) with w = (t1 - t0) / n_buckets as a real number;
 * samples outside [t0, t1) are ignored. "out" is caller-owned and holds
 * "n_buckets" entries. Errors: MT_EINVAL (NULL pointers with n > 0,
 * n_buckets == 0, t1 <= t0), MT_EORDER (a timestamp smaller than its
 * predecessor anywhere in "t", in range or not; err->pos is its index).
 * Equal timestamps are allowed. On error the contents of "out" are
 * unspecified. */
mt_status mt_decimate_minmax(const mt_time *t, const double *v, size_t n, mt_time t0,
                             mt_time t1, size_t n_buckets, mt_bucket *out,
                             mt_error *err) MT_MUSTCHECK;

/* Largest-Triangle-Three-Buckets over the ordinary values of ("t", "v", "n")
 * (special values are skipped). Writes at most "n_out" indexes into "v" to
 * "idx" (caller-owned, "n_out" entries), always keeping the first and last
 * ordinary value, and stores their count in "*out_len". If there are no more
 * than "n_out" ordinary values, all of them are returned. "n_out" must be
 * >= 3. Errors: MT_EINVAL, MT_EORDER as above. */
mt_status mt_decimate_lttb(const mt_time *t, const double *v, size_t n, size_t n_out,
                           size_t *idx, size_t *out_len, mt_error *err) MT_MUSTCHECK;

/* Summary of one block of one channel (a HOK2 index entry). "t_first" and
 * "t_last" bound all its samples (special ones too); min/max/first/last and
 * their times are over its "n" ordinary values (unused when n == 0);
 * "n_special" counts its special values and "special" is the kind of the last
 * of them. */
typedef struct {
    mt_time t_first, t_last;
    double min, max, first, last;
    mt_time t_min, t_max, t_vfirst, t_vlast;
    uint64_t n;
    uint64_t n_special;
    mt_sv special;
    uint64_t n_rows; /* samples in the block, ordinary and special */
} mt_block_summary;

/* Decode block "block" into caller buffers "t" and "v" of "cap" entries,
 * setting "*n" to the number of samples (cap is always >= the block's
 * n_rows). Returns MT_OK or an error that mt_decimate_blocks() passes on. */
typedef mt_status (*mt_block_decode_fn)(void *ctx, size_t block, mt_time *t, double *v,
                                        size_t cap, size_t *n, mt_error *err);

/* Same result as mt_decimate_minmax() over the concatenation of all blocks,
 * but a block that lies wholly inside one bucket is taken from its summary;
 * only blocks that cross a bucket boundary (or the range ends) are decoded,
 * through "decode" (with "ctx"). Blocks must be in time order and must not
 * overlap. Scratch space for one block is allocated and freed here. Errors:
 * MT_EINVAL, MT_EORDER (blocks out of order, err->pos the block), MT_ENOMEM,
 * or whatever "decode" returns. "*n_decoded" (may be NULL) receives the count
 * of blocks decoded, so callers and tests can see the index doing its work. */
mt_status mt_decimate_blocks(const mt_block_summary *blocks, size_t n_blocks,
                             mt_block_decode_fn decode, void *ctx, mt_time t0, mt_time t1,
                             size_t n_buckets, mt_bucket *out, size_t *n_decoded,
                             mt_error *err) MT_MUSTCHECK;

/* Fill "s" with the summary of samples ("t", "v", "n") — the function the
 * HOK2 writer and the server use to build their indexes, so that summaries
 * and mt_decimate_blocks() always agree. */
void mt_block_summarize(const mt_time *t, const double *v, size_t n, mt_block_summary *s);

#endif
