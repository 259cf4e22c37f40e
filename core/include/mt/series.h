/* Metron core: series blocks and period summaries, the server's storage of
 * acquired data (docs/storage.md).
 *
 * The server keeps each channel's samples as one row per channel per UTC day
 * holding a series block: one channel's times and values compressed with
 * HOK2's codecs (delta-of-delta times; decimal-scaled integer, XOR or raw
 * values; special values as runs) behind a small header and an XXH64. Next
 * to it sit the packed summaries of each hour of that day, from which
 * mt_decimate_blocks() draws a year-long chart without decoding a sample.
 * The byte layouts are docs/formats/series.md.
 *
 * Times are strictly increasing mt_time (µs since the Unix epoch); values are
 * doubles that may be special values (mt/types.h). Special values come back
 * from a block as mt_sv_value(kind): their kind is kept, not their bits.
 *
 * All functions are pure: they allocate only where stated, keep no global
 * state and may be called from any number of threads on distinct outputs. */
#ifndef MT_SERIES_H
#define MT_SERIES_H

#include <stddef.h>
#include <stdint.h>

#include "mt/decimate.h"
#include "mt/status.h"
#include "mt/types.h"

/* The most samples one block holds (one day of 12 samples a second). */
#define MT_SERIES_MAX_N ((size_t)1 << 20)

/* Bytes of a block's fixed header and of its closing checksum. */
#define MT_SERIES_HEADER 29
#define MT_SERIES_TRAILER 8

/* Encode "n" samples of one channel ("t" strictly increasing, 1 <= n <=
 * MT_SERIES_MAX_N; "v" may hold special values) into one self-checking
 * block: a header (version byte, n, t_first, t_last, section lengths), the
 * time section and the value section as HOK2 encodes them, and an XXH64 of
 * everything before it. Values round-trip bit for bit, -0.0 included;
 * special values by kind.
 *
 * On success "*out" holds the block and "*out_len" its length; the caller
 * owns it and frees it with mt_series_free(). On failure "*out" is NULL,
 * "*out_len" is 0 and nothing leaks.
 *
 * Errors: MT_EINVAL (NULL pointers, n == 0), MT_ELIMIT (n > MT_SERIES_MAX_N),
 * MT_EORDER (a time not after its predecessor; err->pos is its index),
 * MT_ENOMEM. Scratch of about 40 bytes per sample is allocated and freed. */
mt_status mt_series_encode(const mt_time *t, const double *v, size_t n, uint8_t **out,
                           size_t *out_len, mt_error *err) MT_MUSTCHECK;

/* Free a block from mt_series_encode(). Accepts NULL. */
void mt_series_free(uint8_t *block);

/* Read the header of the block "buf" ("len" bytes, borrowed): "*n" samples
 * from "*t_first" to "*t_last" (any of the three may be NULL). Strict: it
 * checks the version, the counts, the section lengths against "len" and the
 * checksum, so a block it accepts is whole; the sections themselves are
 * checked only by mt_series_decode(). Errors (err->pos is the byte offset):
 * MT_ETRUNC (the block is cut: "len" is shorter than the header says;
 * err->pos == len), MT_EFORMAT (not a series block), MT_EVERSION (a later
 * version), MT_ECORRUPT (impossible header, trailing bytes), MT_ECHECKSUM.
 * On error the outputs are 0. */
mt_status mt_series_info(const uint8_t *buf, size_t len, size_t *n, mt_time *t_first,
                         mt_time *t_last, mt_error *err) MT_MUSTCHECK;

/* Decode the block "buf" ("len" bytes, borrowed) into the caller's buffers
 * "t" and "v" of "cap" entries each; "*n" receives the sample count.
 * Strict: every truncated, corrupt or hostile input returns an error with
 * err->pos, never a crash or an allocation (it allocates nothing).
 *
 * Errors: those of mt_series_info(), then MT_ETRUNC with "*n" set to the
 * sample count when "cap" is too small (the block itself is valid: "*n" > 0
 * tells this case from a cut block, where "*n" is 0), MT_EINVAL (NULL
 * pointers), MT_ECORRUPT (a malformed section; times that are not strictly
 * increasing or do not match the header). On error the contents of "t" and
 * "v" are unspecified. */
mt_status mt_series_decode(const uint8_t *buf, size_t len, mt_time *t, double *v, size_t cap,
                           size_t *n, mt_error *err) MT_MUSTCHECK;

/* Merge two runs of samples, ("ta", "va", "na") and ("tb", "vb", "nb"), each
 * with strictly increasing times, into "to"/"vo" (caller-owned, room for
 * na + nb entries, not overlapping the inputs): their union by time, in
 * order. Where both runs hold a time, the value of run "b" replaces that of
 * "a" (a retransmitted or corrected sample). "*n_out" receives the merged
 * count. Errors: MT_EINVAL (NULL pointers with a non-zero count),
 * MT_EORDER (a run not strictly increasing; err->pos is the index in that
 * run, and the message names the run). */
mt_status mt_series_merge(const mt_time *ta, const double *va, size_t na, const mt_time *tb,
                          const double *vb, size_t nb, mt_time *to, double *vo, size_t *n_out,
                          mt_error *err) MT_MUSTCHECK;

/* Summarise samples ("t" strictly increasing, "v", "n" of them) per aligned
 * period: period k is [k·period, (k+1)·period) µs from the Unix epoch
 * (period > 0; times before 1970 fall into negative k, rounded towards minus
 * infinity). Writes one mt_block_summary, built with mt_block_summarize() so
 * that mt_decimate_blocks() agrees with mt_decimate_minmax(), per period
 * that holds samples, in time order, into "out" (caller-owned, "cap"
 * entries). A summary's t_first and t_last are the times of its first and
 * last sample, not the period's edges. "*n_out" receives the count.
 *
 * Errors: MT_ETRUNC ("cap" too small; "*n_out" is the count needed and the
 * first "cap" summaries are written), MT_EINVAL (period <= 0, NULL
 * pointers), MT_EORDER (err->pos is the index), MT_ELIMIT (n >= 2^32: a
 * packed summary counts in 32 bits). */
mt_status mt_series_summarize(const mt_time *t, const double *v, size_t n, mt_time period,
                              mt_block_summary *out, size_t cap, size_t *n_out,
                              mt_error *err) MT_MUSTCHECK;

/* Bytes of one packed summary (docs/formats/series.md). */
#define MT_SUMMARY_PACKED 89

/* Pack the "n" summaries "s" into "out" (caller-owned, n·MT_SUMMARY_PACKED
 * bytes): fixed-size little-endian records holding every field that
 * mt_decimate_blocks() reads, exactly. Returns the bytes written. Summaries
 * are those mt_series_summarize() makes: from mt_block_summarize() of at
 * least one and fewer than 2^32 samples with strictly increasing times (only
 * the counts are checked here: if one is 0 or does not fit in 32 bits,
 * nothing is written and 0 is returned; mt_summary_unpack() checks the
 * rest). "out" may be NULL when n is 0. */
size_t mt_summary_pack(const mt_block_summary *s, size_t n, uint8_t *out);

/* Unpack the summaries in "buf" ("len" bytes, borrowed) into "out"
 * (caller-owned, "cap" entries); "*n_out" receives their count. The result
 * equals what mt_block_summarize() gave the packer, field for field (n_rows
 * = n + n_special). Strict: a record must have finite values with
 * min <= first, last <= max, its times inside [t_first, t_last] and in the
 * order the samples impose, consistent counts and kind, zeros where a
 * summary without ordinary values has nothing; records must be in time
 * order without overlapping. Errors (err->pos is the byte offset):
 * MT_ETRUNC (a cut record, "*n_out" = 0; or "cap" too small for a valid
 * input, "*n_out" = the count needed), MT_ECORRUPT, MT_EORDER (records out
 * of order or overlapping), MT_EINVAL (NULL pointers). */
mt_status mt_summary_unpack(const uint8_t *buf, size_t len, mt_block_summary *out, size_t cap,
                            size_t *n_out, mt_error *err) MT_MUSTCHECK;

/* Folding runs of packed summaries straight into chart buckets: the buckets
 * mt_decimate_blocks() makes of the summaries mt_summary_unpack() gives,
 * bit for bit, without the array of summaries between the two (a year of
 * hours of 32 channels is 280,000 of them). Plain data: the caller owns it
 * and "out"; the members after "out" are the fold's own. */
typedef struct {
    mt_time t0, t1;   /* the buckets' range */
    size_t n_buckets; /* buckets in "out" */
    mt_bucket *out;   /* caller-owned, n_buckets entries */
    int have_prev;
    mt_time prev_last;             /* t_last of the latest record read */
    uint64_t cur;                  /* the bucket of the latest record merged */
    mt_time cur_start, cur_end;    /* its instants: [cur_start, cur_end) */
} mt_summary_fold;

/* Start a fold into "out" ("n_buckets" entries, caller-owned, set empty
 * here) of buckets over [t0, t1), the range and buckets mt_decimate_blocks()
 * would take. Errors: MT_EINVAL (n_buckets == 0, t1 <= t0, NULL pointers). */
mt_status mt_summary_fold_init(mt_summary_fold *f, mt_time t0, mt_time t1, size_t n_buckets,
                               mt_bucket *out, mt_error *err) MT_MUSTCHECK;

/* Fold the packed summaries in "buf" ("len" bytes, borrowed), a run that
 * follows every run folded before, into the buckets of "f". Each record is
 * checked as mt_summary_unpack() checks it; records must be in time order
 * without overlapping, within the run as there and across runs as
 * mt_decimate_blocks() asks (a record may not start before the previous one
 * ends). A record whose first time lies outside [t0, t1) is left out (so are
 * the summaries outside the range that a caller of mt_decimate_blocks()
 * trims); the others must each lie wholly inside one bucket, as summaries
 * of whole hours do in buckets of whole hours. Errors (err->pos is the byte
 * offset in "buf"): MT_ETRUNC (a cut record), MT_ECORRUPT, MT_EORDER,
 * MT_EINVAL (NULL pointers; a record across a bucket boundary or the range's
 * end, which only its samples could split). After an error the buckets are
 * unspecified. */
mt_status mt_summary_fold_add(mt_summary_fold *f, const uint8_t *buf, size_t len,
                              mt_error *err) MT_MUSTCHECK;

#endif
