/* Metron core (private): what hok.c (common header, HOK v1) and hok2.c
 * (HOK2) share: the reader and writer structs, the bounded cursor and the
 * little-endian helpers. */
#ifndef MT_HOK_INT_H
#define MT_HOK_INT_H

#include <stddef.h>
#include <stdint.h>

#define XXH_INLINE_ALL
#include "xxhash.h"

#include "mt/hok.h"

/* "MTHOK\r\n\x1a": the CR LF and ^Z catch text-mode mangling (as PNG's). */
#define HOK_MAGIC_LEN 8
#define HOK_MAGIC "MTHOK\r\n\x1a"
#define HOK_V1_TRAILER 24
#define HOK_V2_TRAILER 40
#define HOK_V2_IDX_BLOCK 32 /* per-block part of an index entry */
#define HOK_V2_IDX_CH 73    /* per-channel part of an index entry */

/* One HOK2 block as the index places it. */
typedef struct {
    uint64_t off;  /* offset of the block in the file */
    uint32_t len;  /* whole block: header, sections, checksum */
    uint32_t n_rows;
    uint64_t row0; /* index of its first row in the file */
    mt_time t_first, t_last;
} mt__hok_blk;

struct mt_hok {
    const uint8_t *buf; /* borrowed */
    size_t len;
    int version;
    mt_hok_meta meta;
    mt_hok_channel *ch;
    size_t n_ch;
    char *strings; /* all strings of meta and ch, NUL-terminated */
    uint64_t n_rows;
    size_t data_off; /* end of the header */
    /* HOK v1 */
    size_t row_size;
    /* HOK2 */
    uint32_t block_rows;
    size_t n_blocks;
    mt__hok_blk *blocks;
    mt_block_summary *sum; /* [ch * n_blocks + b] */
    uint8_t *verified;     /* per block: checksum already checked */
    mt_time *scratch_t;    /* block_rows each, allocated on first use */
    double *scratch_v;
    /* Where the last channel section decoded starts (block sect_b, channel
     * sect_ch, sect_off bytes into the block; sect_b == SIZE_MAX: none), so
     * that reading the channels of a block in order finds each in O(1),
     * not by adding up the lengths before it (O(channels) each). */
    size_t sect_b, sect_ch, sect_off;
};

struct mt_hok_writer {
    int version;
    mt_hok_sink sink;
    void *sink_ctx;
    size_t n_ch;
    mt_status failed; /* sticky first error */
    mt_error failed_err;
    int finished;
    uint64_t n_rows;
    mt_time last_t;
    uint64_t file_off; /* bytes given to the sink so far */
    XXH64_state_t hash; /* HOK v1: whole file */
    uint8_t *stage;     /* bytes being assembled */
    size_t stage_len, stage_cap;
    /* HOK2 */
    uint32_t block_rows;
    size_t blk_n;   /* rows buffered in the current block */
    mt_time *bt;    /* block_rows */
    double *bv;     /* n_ch * block_rows, channel-major */
    double *ord;    /* block_rows: the ordinary values of one channel */
    int64_t *q;     /* block_rows: their decimal-scaled integers */
    uint8_t *index; /* index entries so far */
    size_t index_len, index_cap;
    uint64_t n_blocks;
};

/* Little-endian readers and writers, independent of the host byte order. */
static inline uint16_t rd_u16le(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t rd_u32le(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

static inline uint64_t rd_u64le(const uint8_t *p)
{
    return (uint64_t)rd_u32le(p) | ((uint64_t)rd_u32le(p + 4) << 32);
}

static inline double rd_f64le(const uint8_t *p)
{
    uint64_t bits = rd_u64le(p);
    double v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

static inline void wr_u16le(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline void wr_u32le(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static inline void wr_u64le(uint8_t *p, uint64_t v)
{
    wr_u32le(p, (uint32_t)v);
    wr_u32le(p + 4, (uint32_t)(v >> 32));
}

static inline void wr_f64le(uint8_t *p, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    wr_u64le(p, bits);
}

static inline uint64_t f64_bits(double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    return bits;
}

static inline double bits_f64(uint64_t bits)
{
    double v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

/* Whether the XXH64 of "n" bytes at "p" is "stored". A fuzzing build
 * (FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION, the libFuzzer/OSS-Fuzz
 * convention) accepts any checksum so that mutations reach the decoders. */
static inline int hash_ok(const uint8_t *p, size_t n, uint64_t stored)
{
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
    (void)p;
    (void)n;
    (void)stored;
    return 1;
#else
    return XXH64(p, n, 0) == stored;
#endif
}

/* Bounded cursor (cJSON): every read is preceded by cur_can(). "base" is the
 * file offset of p[0], so errors name offsets in the file. */
typedef struct {
    const uint8_t *p;
    size_t len, off, base;
} mt__cur;

static inline int cur_can(const mt__cur *c, size_t n)
{
    return c->len - c->off >= n;
}

static inline size_t cur_pos(const mt__cur *c)
{
    return c->base + c->off;
}

/* Make sure the stage has room for "extra" more bytes. */
mt_status mt__hok_stage_reserve(mt_hok_writer *w, size_t extra, mt_error *err);
/* Give the staged bytes to the sink (and the v1 hash), then empty the stage. */
mt_status mt__hok_stage_flush(mt_hok_writer *w, mt_error *err);
/* Record the first error of a writer and return it. */
mt_status mt__hok_writer_fail(mt_hok_writer *w, mt_status st, const mt_error *e, mt_error *err);

/* HOK2 parts, in hok2.c. */
mt_status mt__hok2_writer_init(mt_hok_writer *w, mt_error *err);
mt_status mt__hok2_append(mt_hok_writer *w, const mt_time *t, const double *const *cols,
                          size_t n, mt_error *err);
mt_status mt__hok2_finish(mt_hok_writer *w, mt_error *err);
void mt__hok2_writer_free(mt_hok_writer *w);
mt_status mt__hok2_open(mt_hok *h, mt_error *err);
void mt__hok2_close(mt_hok *h);
mt_status mt__hok2_read(mt_hok *h, int want_times, size_t ch, uint64_t row0, size_t n,
                        mt_time *t, double *v, mt_error *err);
mt_status mt__hok2_seek_time(mt_hok *h, mt_time t, uint64_t *row, mt_error *err);
mt_status mt__hok2_decimate(mt_hok *h, size_t ch, mt_time t0, mt_time t1, size_t n_buckets,
                            mt_bucket *out, size_t *n_decoded, mt_error *err);
mt_status mt__hok2_verify(mt_hok *h, mt_error *err);

/* The HOK2 section codecs (docs/formats/hok2.md), shared with series.c.
 * Encoders write at "p", which must have room for the bound given, and
 * return the bytes written. Decoders read exactly "len" bytes at "p" ("pos"
 * is the offset of p[0] reported in errors) and fail with MT_ECORRUPT on
 * anything malformed, including stray bytes after the section. */
/* Time section of "n" >= 1 times: at most 25 + 8·n bytes. */
size_t mt__hok2_enc_times(const mt_time *t, size_t n, uint8_t *p);
/* Decode "n" >= 1 times into "t"; they come out non-decreasing. */
mt_status mt__hok2_dec_times(const uint8_t *p, size_t len, size_t pos, size_t n, mt_time *t,
                             mt_error *err);
/* Channel section of "n" >= 1 values "v" (special values by kind only);
 * "ord" and "q" are scratch of "n" entries. At most 32·n + 64 bytes. */
size_t mt__hok2_enc_channel(const double *v, size_t n, double *ord, int64_t *q, uint8_t *p);
/* Decode a channel section of "n" rows into "v" (special values come out as
 * mt_sv_value(kind)). "want_ord" is the expected count of ordinary values,
 * or MT__HOK2_ANY_ORD when the caller has none to check against. */
#define MT__HOK2_ANY_ORD UINT64_MAX
mt_status mt__hok2_dec_channel(const uint8_t *p, size_t len, size_t pos, size_t n,
                               uint64_t want_ord, double *v, mt_error *err);

#endif
