/* Metron core: HOK and HOK2, Metron's open files of acquired data (D3-D5, V3).
 *
 * Both formats carry file metadata, a channel table and rows (one timestamp
 * and one double per channel; special values kept as their mt_sv kind).
 * docs/formats/hok.md and docs/formats/hok2.md give the byte layouts.
 *
 * - HOK (version 1): uncompressed fixed-size row records, one XXH64 over the
 *   whole file.
 * - HOK2 (version 2): blocks of up to "block_rows" rows, each compressed and
 *   guarded by its own XXH64, then an index of per-block per-channel
 *   summaries (mt_block_summary) so a viewer can seek by time and decimate
 *   without decoding every block.
 *
 * Writing is one forward pass with no seeking: a writer hands bytes to a
 * caller callback (mt_hok_sink) as they are ready, so an export of any size
 * needs only one block of memory (plus the HOK2 index, ~80 bytes per channel
 * per block). mt_hok_write_mem() is the convenience that writes into memory.
 *
 * Reading works on a caller-owned memory buffer that is borrowed for the
 * reader's lifetime (the server maps the file, the browser holds it in wasm
 * memory). Readers validate strictly; every error names the byte offset of
 * the problem in err->pos, and no allocation exceeds what the input's size
 * can justify.
 *
 * Thread safety: distinct handles are independent. One reader must not be
 * used from two threads at once (it caches which HOK2 blocks passed their
 * checksum). */
#ifndef MT_HOK_H
#define MT_HOK_H

#include <stddef.h>
#include <stdint.h>

#include "mt/decimate.h"
#include "mt/status.h"
#include "mt/types.h"

/* Format versions, as stored in the file header. */
#define MT_HOK_V1 1
#define MT_HOK_V2 2

/* Limits enforced by writers and readers. String lengths are in bytes of
 * UTF-8 (no NUL bytes allowed). */
#define MT_HOK_MAX_TITLE 1024
#define MT_HOK_MAX_STR 256
#define MT_HOK_MAX_CHANNELS 4096
#define MT_HOK_MAX_BLOCK_ROWS 65536
#define MT_HOK_DEFAULT_BLOCK_ROWS 4096

/* File metadata. Strings are UTF-8 and NUL-terminated; NULL means "". In a
 * reader's copy they are never NULL. "timezone" is an offset ("+08:00") or an
 * IANA name ("Asia/Tokyo"), as the source recorded it; "created" is the
 * creation instant. */
typedef struct {
    const char *title;    /* <= MT_HOK_MAX_TITLE bytes */
    const char *app;      /* source application, <= MT_HOK_MAX_STR bytes */
    const char *device;   /* source device (serial or name), <= MT_HOK_MAX_STR */
    const char *model;    /* source device model, <= MT_HOK_MAX_STR */
    const char *timezone; /* <= MT_HOK_MAX_STR */
    mt_time created;
} mt_hok_meta;

typedef enum { MT_HOK_MEASURED = 0, MT_HOK_COMPUTED = 1 } mt_hok_kind;

/* One channel. Strings as in mt_hok_meta (<= MT_HOK_MAX_STR bytes each). */
typedef struct {
    int64_t id;
    const char *name;
    const char *unit;
    mt_hok_kind kind;
    const char *model; /* device model of the channel's instrument */
} mt_hok_channel;

/* ---- writing -------------------------------------------------------------- */

/* Receives the next "len" bytes of the file. Return MT_OK, or an error (and
 * fill "err") to abort the write: the writer then fails with that status. */
typedef mt_status (*mt_hok_sink)(void *ctx, const uint8_t *bytes, size_t len, mt_error *err);

/* Writer options. "version" is MT_HOK_V1 or MT_HOK_V2; "block_rows" (HOK2
 * only; 0 = MT_HOK_DEFAULT_BLOCK_ROWS) is the number of rows per block, at
 * most MT_HOK_MAX_BLOCK_ROWS. */
typedef struct {
    int version;
    uint32_t block_rows;
} mt_hok_opts;

typedef struct mt_hok_writer mt_hok_writer;

/* Start a file with "meta" and the "n_ch" channels of "ch" (both copied; the
 * caller keeps ownership). The header is passed to "sink" before this
 * returns. On success *out is set and the caller frees it with
 * mt_hok_writer_free(). On failure *out is NULL. Errors: MT_EINVAL (NULL
 * arguments, bad version or block_rows, unknown channel kind), MT_ELIMIT (a
 * string or the channel count over its limit; err->pos is the channel index),
 * MT_ESYNTAX (a string that is not valid UTF-8), MT_ENOMEM, or the sink's
 * error. */
mt_status mt_hok_writer_new(const mt_hok_opts *opts, const mt_hok_meta *meta,
                            const mt_hok_channel *ch, size_t n_ch, mt_hok_sink sink,
                            void *sink_ctx, mt_hok_writer **out, mt_error *err) MT_MUSTCHECK;

/* Append "n" rows: times "t" (non-decreasing, and not before the last row
 * already appended) and "cols", an array of n_ch pointers each to "n"
 * values (special values as mt_sv_value(); any other NaN is stored as
 * MT_SV_ERROR, +inf/-inf as MT_SV_OVER_POS/MT_SV_OVER_NEG). Bytes reach the
 * sink as blocks fill. Errors: MT_EINVAL, MT_EORDER (err->pos is the row
 * index in this call), MT_ENOMEM, the sink's error. MT_EINVAL and MT_EORDER
 * reject the call before anything is written and leave the writer as it
 * was; after any other error the writer only fails (each later call returns
 * that first error). */
mt_status mt_hok_writer_append(mt_hok_writer *w, const mt_time *t, const double *const *cols,
                               size_t n, mt_error *err) MT_MUSTCHECK;

/* Flush the last block, the index and the trailer to the sink. The file is
 * complete only when this returns MT_OK. Errors as mt_hok_writer_append(). */
mt_status mt_hok_writer_finish(mt_hok_writer *w, mt_error *err) MT_MUSTCHECK;

/* Free "w" (NULL is fine). Freeing before mt_hok_writer_finish() leaves an
 * incomplete file, which readers reject. */
void mt_hok_writer_free(mt_hok_writer *w);

/* A growing memory buffer and its sink (ctx = the mt_hok_buf). Start with
 * {0}; the caller owns "data" and frees it with mt_hok_buf_free(). */
typedef struct {
    uint8_t *data;
    size_t len, cap;
} mt_hok_buf;

mt_status mt_hok_buf_sink(void *ctx, const uint8_t *bytes, size_t len, mt_error *err);
void mt_hok_buf_free(mt_hok_buf *b);

/* One-shot convenience: write a whole file of "n" rows into memory. On
 * success *out_data (caller owns; free with mt_hok_mem_free()) and *out_len
 * are set; on failure *out_data is NULL. Errors as the writer's. */
mt_status mt_hok_write_mem(const mt_hok_opts *opts, const mt_hok_meta *meta,
                           const mt_hok_channel *ch, size_t n_ch, const mt_time *t,
                           const double *const *cols, size_t n, uint8_t **out_data,
                           size_t *out_len, mt_error *err) MT_MUSTCHECK;
void mt_hok_mem_free(uint8_t *data);

/* ---- reading -------------------------------------------------------------- */

typedef struct mt_hok mt_hok;

/* Open "buf" ("len" bytes; borrowed until mt_hok_close(), must not change)
 * as a HOK or HOK2 file. Checks the header, channel table, trailer and (HOK)
 * the whole-file checksum or (HOK2) the header and index checksums and the
 * index's consistency; HOK2 block checksums are checked when a block is first
 * decoded (or all at once by mt_hok_verify()). On success *out is set (free
 * with mt_hok_close()); on failure it is NULL. Errors: MT_EINVAL (NULL
 * arguments), MT_EFORMAT (not a Metron HOK file: wrong magic), MT_EVERSION
 * (a later version), MT_ETRUNC (the file ends early), MT_ECHECKSUM,
 * MT_ECORRUPT (inconsistent sizes, counts, strings or index), MT_ENOMEM. */
mt_status mt_hok_open(const uint8_t *buf, size_t len, mt_hok **out, mt_error *err) MT_MUSTCHECK;

/* Free "h" (NULL is fine). Pointers obtained from it become dead. */
void mt_hok_close(mt_hok *h);

/* MT_HOK_V1 or MT_HOK_V2. */
int mt_hok_version(const mt_hok *h);

/* The metadata; borrowed until mt_hok_close(). */
const mt_hok_meta *mt_hok_get_meta(const mt_hok *h);

/* The channel count and table; borrowed until mt_hok_close(). */
size_t mt_hok_channel_count(const mt_hok *h);
const mt_hok_channel *mt_hok_channels(const mt_hok *h);

/* The number of rows. */
uint64_t mt_hok_row_count(const mt_hok *h);

/* Copy the times of rows [row0, row0 + n) into "t" (caller-owned, n
 * entries). Errors: MT_ERANGE (rows beyond the end), MT_EINVAL, MT_ECORRUPT /
 * MT_ECHECKSUM (a HOK2 block that does not decode; err->pos its offset). */
mt_status mt_hok_read_times(mt_hok *h, uint64_t row0, size_t n, mt_time *t,
                            mt_error *err) MT_MUSTCHECK;

/* Copy the values of channel "ch" for rows [row0, row0 + n) into "v"
 * (caller-owned, n entries; special values as mt_sv_value()). Errors as
 * mt_hok_read_times(), and MT_ECORRUPT for a HOK value that breaks the
 * format's rules (err->pos is its offset). */
mt_status mt_hok_read_values(mt_hok *h, size_t ch, uint64_t row0, size_t n, double *v,
                             mt_error *err) MT_MUSTCHECK;

/* Read rows [row0, row0+"n") of every channel in one pass: times into "t"
 * and channel c's values into "cols[c]" (caller buffers of "n" entries, one
 * per channel). For HOK v1, which is stored by row, this is the fast way to
 * read a whole file; for HOK2 it equals mt_hok_read_times() plus
 * mt_hok_read_values() per channel. Errors as those functions'. */
mt_status mt_hok_read_rows(mt_hok *h, uint64_t row0, size_t n, mt_time *t, double *const *cols,
                           mt_error *err) MT_MUSTCHECK;

/* The index of the first row whose time is >= "t" (mt_hok_row_count() when
 * none). HOK2 finds the block through the index and decodes only it. */
mt_status mt_hok_seek_time(mt_hok *h, mt_time t, uint64_t *row, mt_error *err) MT_MUSTCHECK;

/* Min/max decimation of channel "ch" over [t0, t1) into "n_buckets" buckets
 * ("out", caller-owned), exactly as mt_decimate_minmax() over the channel's
 * samples. HOK2 answers from its index through mt_decimate_blocks(), decoding
 * only blocks that straddle a bucket boundary ("*n_decoded", may be NULL,
 * receives how many). HOK reads the rows (allocating scratch for them).
 * Errors: MT_EINVAL, MT_ENOMEM, and the decode errors above. */
mt_status mt_hok_decimate(mt_hok *h, size_t ch, mt_time t0, mt_time t1, size_t n_buckets,
                          mt_bucket *out, size_t *n_decoded, mt_error *err) MT_MUSTCHECK;

/* Check every checksum and decode every block (HOK2), or every value (HOK).
 * Errors as mt_hok_read_values(). */
mt_status mt_hok_verify(mt_hok *h, mt_error *err) MT_MUSTCHECK;

/* ---- HOK2 blocks ---------------------------------------------------------- */

/* The number of blocks (a HOK file is reported as 0 blocks). */
size_t mt_hok_block_count(const mt_hok *h);

/* The index summary of block "b" of channel "ch" (NULL when out of range);
 * borrowed until mt_hok_close(). */
const mt_block_summary *mt_hok_block_summary(const mt_hok *h, size_t ch, size_t b);

/* The index of the first row of block "b" (row count when b is the count). */
uint64_t mt_hok_block_row0(const mt_hok *h, size_t b);

/* Decode block "b" of channel "ch" into "t" and "v" (either may be NULL),
 * each "cap" entries (at least the block's n_rows), setting "*n". Verifies
 * the block checksum the first time. Errors: MT_EINVAL, MT_ENOSPACE (cap too
 * small; *n is the need), MT_ECHECKSUM, MT_ECORRUPT (err->pos is the offset
 * in the file). */
mt_status mt_hok_decode_block(mt_hok *h, size_t ch, size_t b, mt_time *t, double *v,
                              size_t cap, size_t *n, mt_error *err) MT_MUSTCHECK;

#endif
