/* HOK2: blocks of compressed rows, each with its own XXH64, and an index of
 * per-block per-channel summaries in front of a fixed trailer. The byte
 * layout is docs/formats/hok2.md.
 *
 * Timestamps: delta-of-delta with frame-of-reference bit packing (a regular
 * series costs 25 bytes per block). Values per block and channel, the
 * smallest that is exact: EMPTY (all special), CONST, DEC (decimal-scaled
 * integers: delta, frame of reference, bit packing), XOR (Gorilla) or RAW.
 * Special values are runs in an exception list, so that the codecs see only
 * ordinary numbers. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alloc_int.h"
#include "hok_int.h"

#define HOK_V2_END "MTHK2END"
#define HOK_V2_MAX_K 15

enum { ENC_EMPTY = 0, ENC_CONST = 1, ENC_DEC = 2, ENC_XOR = 3, ENC_RAW = 4 };

static const double pow10_tab[HOK_V2_MAX_K + 1] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                                   1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};

static inline uint64_t zigzag(int64_t x)
{
    return ((uint64_t)x << 1) ^ (0 - ((uint64_t)x >> 63));
}

static inline int64_t unzigzag(uint64_t u)
{
    return (int64_t)((u >> 1) ^ (0 - (u & 1)));
}

static unsigned bit_width(uint64_t x)
{
    unsigned n = 0;
    while (x) {
        n++;
        x >>= 1;
    }
    return n;
}

static unsigned clz64(uint64_t x)
{
    unsigned n = 0;
    if (!x) {
        return 64;
    }
    while (!(x & (UINT64_C(1) << 63))) {
        n++;
        x <<= 1;
    }
    return n;
}

static unsigned ctz64(uint64_t x)
{
    unsigned n = 0;
    if (!x) {
        return 64;
    }
    while (!(x & 1)) {
        n++;
        x >>= 1;
    }
    return n;
}

/* ---- bit packing (LSB first) ----------------------------------------------- */

typedef struct {
    uint8_t *p;
    size_t len; /* bytes written */
    uint64_t acc;
    unsigned n_acc;
} bitw;

static inline void bw_put(bitw *b, uint64_t v, unsigned w)
{
    unsigned used;
    if (w == 0) {
        return;
    }
    if (w < 64) {
        v &= (UINT64_C(1) << w) - 1;
    }
    b->acc |= v << b->n_acc;
    if (b->n_acc + w < 64) {
        b->n_acc += w;
        return;
    }
    wr_u64le(b->p + b->len, b->acc);
    b->len += 8;
    used = 64 - b->n_acc;
    b->acc = used < 64 ? v >> used : 0;
    b->n_acc = b->n_acc + w - 64;
}

static inline void bw_flush(bitw *b)
{
    while (b->n_acc > 0) {
        b->p[b->len++] = (uint8_t)b->acc;
        b->acc >>= 8;
        b->n_acc = b->n_acc > 8 ? b->n_acc - 8 : 0;
    }
}

/* Up to 8 bytes from "byte" on, zero past the end. */
static inline uint64_t load_tail(const uint8_t *p, size_t nbytes, size_t byte)
{
    uint64_t r = 0;
    size_t k;
    if (byte + 8 <= nbytes) {
        return rd_u64le(p + byte);
    }
    for (k = 0; byte + k < nbytes && k < 8; k++) {
        r |= (uint64_t)p[byte + k] << (8 * k);
    }
    return r;
}

/* "w" (0..64) bits at bit "pos" of "p" ("nbytes" long). */
static inline uint64_t get_bits(const uint8_t *p, size_t nbytes, uint64_t pos, unsigned w)
{
    size_t byte = (size_t)(pos >> 3);
    unsigned sh = (unsigned)(pos & 7);
    uint64_t r;
    if (w == 0) {
        return 0;
    }
    r = load_tail(p, nbytes, byte) >> sh;
    if (sh + w > 64) {
        r |= (uint64_t)(byte + 8 < nbytes ? p[byte + 8] : 0) << (64 - sh);
    }
    return w == 64 ? r : r & ((UINT64_C(1) << w) - 1);
}

static size_t put_varint(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

static int get_varint(mt__cur *c, uint64_t *out)
{
    uint64_t r = 0;
    unsigned shift = 0;
    for (;;) {
        uint8_t b;
        if (!cur_can(c, 1)) {
            return 0;
        }
        b = c->p[c->off++];
        if (shift == 63 && b > 1) {
            return 0;
        }
        r |= (uint64_t)(b & 0x7F) << shift;
        if (!(b & 0x80)) {
            break;
        }
        shift += 7;
    }
    *out = r;
    return 1;
}

/* ---- writer --------------------------------------------------------------- */

mt_status mt__hok2_writer_init(mt_hok_writer *w, mt_error *err)
{
    size_t br = w->block_rows;
    w->bt = mt__malloc(br * sizeof *w->bt);
    w->ord = mt__malloc(br * sizeof *w->ord);
    w->q = mt__malloc(br * sizeof *w->q);
    if (w->n_ch) {
        w->bv = mt__malloc(w->n_ch * br * sizeof *w->bv);
    }
    if (!w->bt || !w->ord || !w->q || (w->n_ch && !w->bv)) {
        return mt_fail(err, MT_ENOMEM, 0, "out of memory for a %zu-row block", br);
    }
    return MT_OK;
}

void mt__hok2_writer_free(mt_hok_writer *w)
{
    mt__free(w->bt);
    mt__free(w->bv);
    mt__free(w->ord);
    mt__free(w->q);
    mt__free(w->index);
}

/* Time section: t0, first delta, then delta-of-deltas packed against their
 * minimum. Returns the bytes written at "p" (at most 25 + 8·n). */
size_t mt__hok2_enc_times(const mt_time *t, size_t n, uint8_t *p)
{
    uint64_t d_prev, dmin = 0, umax = 0;
    size_t i, len = 8;
    unsigned w;
    bitw bw;
    wr_u64le(p, (uint64_t)t[0]);
    if (n < 2) {
        return len;
    }
    d_prev = (uint64_t)t[1] - (uint64_t)t[0];
    wr_u64le(p + 8, d_prev);
    len = 16;
    if (n < 3) {
        return len;
    }
    for (i = 2; i < n; i++) {
        uint64_t d = (uint64_t)t[i] - (uint64_t)t[i - 1];
        int64_t dod = (int64_t)(d - d_prev);
        if (i == 2 || dod < (int64_t)dmin) {
            dmin = (uint64_t)dod;
        }
        d_prev = d;
    }
    d_prev = (uint64_t)t[1] - (uint64_t)t[0];
    for (i = 2; i < n; i++) {
        uint64_t d = (uint64_t)t[i] - (uint64_t)t[i - 1];
        uint64_t u = d - d_prev - dmin;
        umax = u > umax ? u : umax;
        d_prev = d;
    }
    w = bit_width(umax);
    wr_u64le(p + 16, dmin);
    p[24] = (uint8_t)w;
    bw.p = p + 25;
    bw.len = 0;
    bw.acc = 0;
    bw.n_acc = 0;
    if (w) {
        d_prev = (uint64_t)t[1] - (uint64_t)t[0];
        for (i = 2; i < n; i++) {
            uint64_t d = (uint64_t)t[i] - (uint64_t)t[i - 1];
            bw_put(&bw, d - d_prev - dmin, w);
            d_prev = d;
        }
        bw_flush(&bw);
    }
    return 25 + bw.len;
}

/* Whether all "n" values are exact as q / 10^k; fills "q" when they are. */
static int dec_fits(const double *v, size_t n, unsigned k, int64_t *q)
{
    double scale = pow10_tab[k];
    size_t i;
    for (i = 0; i < n; i++) {
        double s = v[i] * scale;
        int64_t qi;
        if (!(fabs(s) < 9007199254740992.0)) {
            return 0;
        }
        qi = (int64_t)(s < 0 ? s - 0.5 : s + 0.5);
        if (f64_bits((double)qi / scale) != f64_bits(v[i])) {
            return 0;
        }
        q[i] = qi;
    }
    return 1;
}

/* Gorilla XOR coding of "n" >= 1 doubles; returns bytes written. */
static size_t enc_xor(const double *v, size_t n, uint8_t *p)
{
    bitw bw = {0};
    uint64_t prev = f64_bits(v[0]);
    unsigned plz = 0, ptz = 0;
    int have_win = 0;
    size_t i;
    bw.p = p;
    bw_put(&bw, prev, 64);
    for (i = 1; i < n; i++) {
        uint64_t cur = f64_bits(v[i]);
        uint64_t x = cur ^ prev;
        prev = cur;
        if (x == 0) {
            bw_put(&bw, 0, 1);
            continue;
        }
        {
            unsigned lz = clz64(x), tz = ctz64(x);
            if (lz > 31) {
                lz = 31;
            }
            if (have_win && lz >= plz && tz >= ptz) {
                bw_put(&bw, 1, 2); /* bits 1, 0 */
                bw_put(&bw, x >> ptz, 64 - plz - ptz);
            } else {
                unsigned mlen = 64 - lz - tz;
                bw_put(&bw, 3, 2); /* bits 1, 1 */
                bw_put(&bw, lz, 5);
                bw_put(&bw, mlen - 1, 6);
                bw_put(&bw, x >> tz, mlen);
                plz = lz;
                ptz = tz;
                have_win = 1;
            }
        }
    }
    bw_flush(&bw);
    return bw.len;
}

/* One channel's section: encoding byte, exception runs, values, for the "n"
 * values "v"; "ord" and "q" are scratch of "n" entries. Returns bytes written
 * at "p" (at most 32·n + 64). */
size_t mt__hok2_enc_channel(const double *v, size_t n, double *ord, int64_t *q, uint8_t *p)
{
    size_t i, len = 1, n_runs = 0, n_ord = 0, pos = 0;
    uint8_t enc;
    /* Exception runs: maximal stretches of one special kind. */
    for (i = 0; i < n; i++) {
        mt_sv k = mt_sv_kind(v[i]);
        if (k == MT_SV_NONE) {
            ord[n_ord++] = v[i];
        } else if (i == 0 || mt_sv_kind(v[i - 1]) != k) {
            n_runs++;
        }
    }
    len += put_varint(p + len, n_runs);
    for (i = 0; i < n && n_runs;) {
        mt_sv k = mt_sv_kind(v[i]);
        size_t j = i + 1;
        if (k == MT_SV_NONE) {
            i++;
            continue;
        }
        while (j < n && mt_sv_kind(v[j]) == k) {
            j++;
        }
        len += put_varint(p + len, i - pos);
        len += put_varint(p + len, j - i - 1);
        p[len++] = (uint8_t)k;
        pos = j;
        i = j;
    }
    if (n_ord == 0) {
        enc = ENC_EMPTY;
    } else {
        int same = 1;
        unsigned k = 0;
        for (i = 1; i < n_ord && same; i++) {
            same = f64_bits(ord[i]) == f64_bits(ord[0]);
        }
        if (same) {
            enc = ENC_CONST;
            wr_f64le(p + len, ord[0]);
            len += 8;
        } else {
            while (k <= HOK_V2_MAX_K && !dec_fits(ord, n_ord, k, q)) {
                k++;
            }
            if (k <= HOK_V2_MAX_K) {
                int64_t dmin = q[1] - q[0];
                uint64_t umax = 0;
                unsigned wbits;
                bitw bw = {0};
                for (i = 2; i < n_ord; i++) {
                    dmin = q[i] - q[i - 1] < dmin ? q[i] - q[i - 1] : dmin;
                }
                for (i = 1; i < n_ord; i++) {
                    uint64_t u = (uint64_t)(q[i] - q[i - 1]) - (uint64_t)dmin;
                    umax = u > umax ? u : umax;
                }
                wbits = bit_width(umax);
                enc = ENC_DEC;
                p[len++] = (uint8_t)k;
                len += put_varint(p + len, zigzag(q[0]));
                len += put_varint(p + len, zigzag(dmin));
                p[len++] = (uint8_t)wbits;
                bw.p = p + len;
                if (wbits) {
                    for (i = 1; i < n_ord; i++) {
                        bw_put(&bw, (uint64_t)(q[i] - q[i - 1]) - (uint64_t)dmin, wbits);
                    }
                    bw_flush(&bw);
                }
                len += bw.len;
            } else {
                size_t xl = enc_xor(ord, n_ord, p + len);
                if (xl < 8 * n_ord) {
                    enc = ENC_XOR;
                    len += xl;
                } else {
                    enc = ENC_RAW;
                    for (i = 0; i < n_ord; i++) {
                        wr_f64le(p + len + 8 * i, ord[i]);
                    }
                    len += 8 * n_ord;
                }
            }
        }
    }
    p[0] = enc;
    return len;
}

/* Append the index entry of the block just written. */
static mt_status index_add(mt_hok_writer *w, uint64_t off, uint32_t len, mt_error *err)
{
    size_t entry = HOK_V2_IDX_BLOCK + HOK_V2_IDX_CH * w->n_ch, c;
    uint8_t *p;
    if (w->index_len + entry > w->index_cap) {
        size_t cap = w->index_cap ? w->index_cap * 2 : entry * 16;
        uint8_t *grown;
        while (cap < w->index_len + entry) {
            cap *= 2;
        }
        grown = mt__realloc(w->index, cap);
        if (!grown) {
            return mt_fail(err, MT_ENOMEM, 0, "out of memory for the index");
        }
        w->index = grown;
        w->index_cap = cap;
    }
    p = w->index + w->index_len;
    wr_u64le(p, off);
    wr_u32le(p + 8, len);
    wr_u32le(p + 12, (uint32_t)w->blk_n);
    wr_u64le(p + 16, (uint64_t)w->bt[0]);
    wr_u64le(p + 24, (uint64_t)w->bt[w->blk_n - 1]);
    p += HOK_V2_IDX_BLOCK;
    for (c = 0; c < w->n_ch; c++, p += HOK_V2_IDX_CH) {
        mt_block_summary s;
        mt_block_summarize(w->bt, w->bv + c * w->block_rows, w->blk_n, &s);
        memset(p, 0, HOK_V2_IDX_CH);
        if (s.n > 0) {
            wr_f64le(p, s.min);
            wr_f64le(p + 8, s.max);
            wr_f64le(p + 16, s.first);
            wr_f64le(p + 24, s.last);
            wr_u64le(p + 32, (uint64_t)s.t_min);
            wr_u64le(p + 40, (uint64_t)s.t_max);
            wr_u64le(p + 48, (uint64_t)s.t_vfirst);
            wr_u64le(p + 56, (uint64_t)s.t_vlast);
        }
        wr_u32le(p + 64, (uint32_t)s.n);
        wr_u32le(p + 68, (uint32_t)s.n_special);
        p[72] = (uint8_t)(s.n_special ? s.special : MT_SV_NONE);
    }
    w->index_len += entry;
    w->n_blocks++;
    return MT_OK;
}

/* Encode the buffered rows as one block, index it and give it to the sink. */
static mt_status flush_block(mt_hok_writer *w, mt_error *err)
{
    size_t n = w->blk_n, n_ch = w->n_ch, c, hdr = 8 + 4 * (1 + n_ch), off;
    uint64_t block_off = w->file_off + w->stage_len;
    uint8_t *b;
    mt_status st;
    if (n == 0) {
        return MT_OK;
    }
    if ((st = mt__hok_stage_reserve(w, hdr + 25 + 8 * n + 8, err)) != MT_OK) {
        return st;
    }
    off = w->stage_len;
    b = w->stage + off;
    wr_u32le(b + 4, (uint32_t)n);
    {
        size_t tl = mt__hok2_enc_times(w->bt, n, b + hdr);
        wr_u32le(b + 8, (uint32_t)tl);
        w->stage_len += hdr + tl;
    }
    for (c = 0; c < n_ch; c++) {
        size_t cl;
        if ((st = mt__hok_stage_reserve(w, 32 * n + 64 + 8, err)) != MT_OK) {
            return st;
        }
        cl = mt__hok2_enc_channel(w->bv + c * w->block_rows, n, w->ord, w->q,
                                  w->stage + w->stage_len);
        wr_u32le(w->stage + off + 12 + 4 * c, (uint32_t)cl);
        w->stage_len += cl;
    }
    b = w->stage + off;
    wr_u32le(b, (uint32_t)(w->stage_len - off - 8));
    wr_u64le(w->stage + w->stage_len, XXH64(b, w->stage_len - off, 0));
    w->stage_len += 8;
    if ((st = index_add(w, block_off, (uint32_t)(w->stage_len - off), err)) != MT_OK) {
        return st;
    }
    w->blk_n = 0;
    return mt__hok_stage_flush(w, err);
}

mt_status mt__hok2_append(mt_hok_writer *w, const mt_time *t, const double *const *cols,
                          size_t n, mt_error *err)
{
    size_t i = 0, c;
    mt_status st;
    while (i < n) {
        size_t take = w->block_rows - w->blk_n, k;
        take = take < n - i ? take : n - i;
        memcpy(w->bt + w->blk_n, t + i, take * sizeof *t);
        for (c = 0; c < w->n_ch; c++) {
            double *dst = w->bv + c * w->block_rows + w->blk_n;
            const double *src = cols[c] + i;
            for (k = 0; k < take; k++) {
                mt_sv kind = mt_sv_kind(src[k]);
                dst[k] = kind == MT_SV_NONE ? src[k] : mt_sv_value(kind);
            }
        }
        w->blk_n += take;
        i += take;
        if (w->blk_n == w->block_rows && (st = flush_block(w, err)) != MT_OK) {
            return st;
        }
    }
    return MT_OK;
}

mt_status mt__hok2_finish(mt_hok_writer *w, mt_error *err)
{
    mt_status st;
    uint8_t *tr;
    if ((st = flush_block(w, err)) != MT_OK) {
        return st;
    }
    /* The trailer follows the index in the same buffer, so that one XXH64
     * covers the index and the trailer's first 24 bytes. */
    if (w->index_cap - w->index_len < HOK_V2_TRAILER) {
        uint8_t *grown = mt__realloc(w->index, w->index_len + HOK_V2_TRAILER);
        if (!grown) {
            return mt_fail(err, MT_ENOMEM, 0, "out of memory for the trailer");
        }
        w->index = grown;
        w->index_cap = w->index_len + HOK_V2_TRAILER;
    }
    tr = w->index + w->index_len;
    wr_u64le(tr, w->file_off);
    wr_u64le(tr + 8, w->n_blocks);
    wr_u64le(tr + 16, w->n_rows);
    wr_u64le(tr + 24, XXH64(w->index, w->index_len + 24, 0));
    memcpy(tr + 32, HOK_V2_END, 8);
    if ((st = w->sink(w->sink_ctx, w->index, w->index_len + HOK_V2_TRAILER, err)) != MT_OK) {
        return st;
    }
    w->file_off += w->index_len + HOK_V2_TRAILER;
    return MT_OK;
}

/* ---- reader --------------------------------------------------------------- */

static int is_num(double v)
{
    return mt_sv_is_number(v);
}

/* Parse and check the index entry of block "b" at "p" (file offset "pos"). */
static mt_status parse_entry(mt_hok *h, size_t b, const uint8_t *p, size_t pos,
                             uint64_t *expect_off, uint64_t index_off, mt_error *err)
{
    mt__hok_blk *blk = &h->blocks[b];
    mt_time t_first = (mt_time)rd_u64le(p + 16), t_last = (mt_time)rd_u64le(p + 24);
    size_t c, min_len = 16 + 4 * (1 + h->n_ch) + 8;
    blk->off = rd_u64le(p);
    blk->len = rd_u32le(p + 8);
    blk->n_rows = rd_u32le(p + 12);
    blk->t_first = t_first;
    blk->t_last = t_last;
    if (blk->off != *expect_off) {
        return mt_fail(err, MT_ECORRUPT, pos, "block %zu starts at %llu, not %llu", b,
                       (unsigned long long)blk->off, (unsigned long long)*expect_off);
    }
    if (blk->len < min_len || blk->len > index_off - blk->off) {
        return mt_fail(err, MT_ECORRUPT, pos + 8, "block %zu: length %u out of range", b,
                       (unsigned)blk->len);
    }
    if (blk->n_rows == 0 || blk->n_rows > h->block_rows) {
        return mt_fail(err, MT_ECORRUPT, pos + 12, "block %zu: %u rows (1..%u allowed)", b,
                       (unsigned)blk->n_rows, (unsigned)h->block_rows);
    }
    if (t_first > t_last || (b > 0 && t_first < h->blocks[b - 1].t_last)) {
        return mt_fail(err, MT_ECORRUPT, pos + 16, "block %zu: time range out of order", b);
    }
    *expect_off += blk->len;
    p += HOK_V2_IDX_BLOCK;
    pos += HOK_V2_IDX_BLOCK;
    for (c = 0; c < h->n_ch; c++, p += HOK_V2_IDX_CH, pos += HOK_V2_IDX_CH) {
        mt_block_summary *s = &h->sum[c * h->n_blocks + b];
        uint32_t n = rd_u32le(p + 64), n_special = rd_u32le(p + 68);
        uint8_t special = p[72];
        s->t_first = t_first;
        s->t_last = t_last;
        s->n_rows = blk->n_rows;
        s->n = n;
        s->n_special = n_special;
        s->special = (mt_sv)special;
        if ((uint64_t)n + n_special != blk->n_rows || special >= MT_SV_COUNT ||
            (n_special == 0) != (special == MT_SV_NONE)) {
            return mt_fail(err, MT_ECORRUPT, pos + 64,
                           "block %zu channel %zu: counts %u+%u do not match %u rows", b, c,
                           (unsigned)n, (unsigned)n_special, (unsigned)blk->n_rows);
        }
        if (n == 0) {
            s->min = s->max = s->first = s->last = mt_sv_value(MT_SV_MISSING);
            s->t_min = s->t_max = s->t_vfirst = s->t_vlast = t_first;
            continue;
        }
        s->min = rd_f64le(p);
        s->max = rd_f64le(p + 8);
        s->first = rd_f64le(p + 16);
        s->last = rd_f64le(p + 24);
        s->t_min = (mt_time)rd_u64le(p + 32);
        s->t_max = (mt_time)rd_u64le(p + 40);
        s->t_vfirst = (mt_time)rd_u64le(p + 48);
        s->t_vlast = (mt_time)rd_u64le(p + 56);
        if (!is_num(s->min) || !is_num(s->max) || !is_num(s->first) || !is_num(s->last) ||
            s->min > s->max || s->first < s->min || s->first > s->max || s->last < s->min ||
            s->last > s->max) {
            return mt_fail(err, MT_ECORRUPT, pos, "block %zu channel %zu: bad min/max", b, c);
        }
        if (s->t_min < t_first || s->t_min > t_last || s->t_max < t_first ||
            s->t_max > t_last || s->t_vfirst < t_first || s->t_vfirst > s->t_vlast ||
            s->t_vlast > t_last) {
            return mt_fail(err, MT_ECORRUPT, pos + 32, "block %zu channel %zu: bad times", b, c);
        }
    }
    return MT_OK;
}

mt_status mt__hok2_open(mt_hok *h, mt_error *err)
{
    const uint8_t *b = h->buf;
    size_t tr, index_len, entry = HOK_V2_IDX_BLOCK + HOK_V2_IDX_CH * h->n_ch, i;
    uint64_t index_off, n_blocks, n_rows, expect_off, row0 = 0;
    mt_status st;
    if (h->len - h->data_off < HOK_V2_TRAILER) {
        return mt_fail(err, MT_ETRUNC, h->len, "file ends at %zu before the 40-byte trailer",
                       h->len);
    }
    tr = h->len - HOK_V2_TRAILER;
    if (memcmp(b + tr + 32, HOK_V2_END, 8) != 0) {
        return mt_fail(err, MT_ETRUNC, h->len, "no end magic at %zu: file truncated at %zu?",
                       tr + 32, h->len);
    }
    index_off = rd_u64le(b + tr);
    n_blocks = rd_u64le(b + tr + 8);
    n_rows = rd_u64le(b + tr + 16);
    if (index_off < h->data_off || index_off > tr) {
        return mt_fail(err, MT_ECORRUPT, tr, "index offset %llu out of range",
                       (unsigned long long)index_off);
    }
    index_len = tr - (size_t)index_off;
    if (n_blocks > index_len / entry || n_blocks * entry != index_len) {
        return mt_fail(err, MT_ECORRUPT, tr + 8,
                       "%llu blocks do not match a %zu-byte index of %zu-byte entries",
                       (unsigned long long)n_blocks, index_len, entry);
    }
    if (!hash_ok(b + index_off, index_len + 24, rd_u64le(b + tr + 24))) {
        return mt_fail(err, MT_ECHECKSUM, tr + 24, "index checksum mismatch");
    }
    h->n_blocks = (size_t)n_blocks;
    if (n_blocks) {
        h->blocks = mt__calloc(h->n_blocks, sizeof *h->blocks);
        h->verified = mt__calloc(h->n_blocks, 1);
        if (!h->blocks || !h->verified) {
            return mt_fail(err, MT_ENOMEM, 0, "out of memory for %zu blocks", h->n_blocks);
        }
        if (h->n_ch) {
            h->sum = mt__calloc(h->n_blocks * h->n_ch, sizeof *h->sum);
            if (!h->sum) {
                return mt_fail(err, MT_ENOMEM, 0, "out of memory for the index");
            }
        }
    }
    expect_off = h->data_off;
    for (i = 0; i < h->n_blocks; i++) {
        size_t pos = (size_t)index_off + i * entry;
        if ((st = parse_entry(h, i, b + pos, pos, &expect_off, index_off, err)) != MT_OK) {
            return st;
        }
        h->blocks[i].row0 = row0;
        row0 += h->blocks[i].n_rows;
    }
    if (expect_off != index_off) {
        return mt_fail(err, MT_ECORRUPT, (size_t)expect_off,
                       "blocks end at %llu but the index starts at %llu",
                       (unsigned long long)expect_off, (unsigned long long)index_off);
    }
    if (row0 != n_rows) {
        return mt_fail(err, MT_ECORRUPT, tr + 16, "row count %llu, but blocks hold %llu",
                       (unsigned long long)n_rows, (unsigned long long)row0);
    }
    h->n_rows = n_rows;
    return MT_OK;
}

void mt__hok2_close(mt_hok *h)
{
    mt__free(h->blocks);
    mt__free(h->sum);
    mt__free(h->verified);
    mt__free(h->scratch_t);
    mt__free(h->scratch_v);
}

mt_status mt__hok2_dec_times(const uint8_t *p, size_t len, size_t pos, size_t n, mt_time *t,
                             mt_error *err)
{
    uint64_t d, dmin, cur;
    unsigned w;
    size_t i, need;
    if (len < (n >= 3 ? 25u : n >= 2 ? 16u : 8u)) {
        return mt_fail(err, MT_ECORRUPT, pos, "time section of %zu bytes is too short", len);
    }
    cur = rd_u64le(p);
    t[0] = (mt_time)cur;
    if (n < 2) {
        return len == 8 ? MT_OK : mt_fail(err, MT_ECORRUPT, pos, "time section too long");
    }
    d = rd_u64le(p + 8);
    cur += d;
    t[1] = (mt_time)cur;
    if (t[1] < t[0]) {
        return mt_fail(err, MT_ECORRUPT, pos + 8, "times go backwards");
    }
    if (n < 3) {
        return len == 16 ? MT_OK : mt_fail(err, MT_ECORRUPT, pos, "time section too long");
    }
    dmin = rd_u64le(p + 16);
    w = p[24];
    if (w > 64) {
        return mt_fail(err, MT_ECORRUPT, pos + 24, "bit width %u", w);
    }
    need = (size_t)(((uint64_t)(n - 2) * w + 7) / 8);
    if (len - 25 != need) {
        return mt_fail(err, MT_ECORRUPT, pos, "time section is %zu bytes, not %zu", len,
                       25 + need);
    }
    p += 25;
    if (w == 0) {
        d += dmin;
        for (i = 2; i < n; i++) {
            cur += d;
            t[i] = (mt_time)cur;
            d += dmin;
        }
        /* The sums wrap modulo 2^64: even a constant delta of 2^63 or more
         * can run a series backwards, so check order once in every case. */
        for (i = 2; i < n; i++) {
            if (t[i] < t[i - 1]) {
                return mt_fail(err, MT_ECORRUPT, pos, "times go backwards at row %zu", i);
            }
        }
        return MT_OK;
    }
    for (i = 2; i < n; i++) {
        d += dmin + get_bits(p, need, (uint64_t)(i - 2) * w, w);
        cur += d;
        t[i] = (mt_time)cur;
        if (t[i] < t[i - 1]) {
            return mt_fail(err, MT_ECORRUPT, pos, "times go backwards at row %zu", i);
        }
    }
    return MT_OK;
}

static mt_status bad_value(mt_error *err, size_t pos)
{
    return mt_fail(err, MT_ECORRUPT, pos, "an ordinary value is not a finite number");
}

/* Decode "n" ordinary values of encoding "enc" from the cursor into "out". */
static mt_status dec_values(mt__cur *c, unsigned enc, size_t n, double *out, mt_error *err)
{
    size_t i, start = cur_pos(c);
    switch (enc) {
    case ENC_EMPTY:
        if (n != 0) {
            return mt_fail(err, MT_ECORRUPT, start, "EMPTY with %zu ordinary values", n);
        }
        return MT_OK;
    case ENC_CONST: {
        double v;
        if (n == 0 || !cur_can(c, 8)) {
            return mt_fail(err, MT_ECORRUPT, start, "bad CONST section");
        }
        v = rd_f64le(c->p + c->off);
        if (!is_num(v)) {
            return bad_value(err, start);
        }
        for (i = 0; i < n; i++) {
            out[i] = v;
        }
        c->off += 8;
        return MT_OK;
    }
    case ENC_RAW:
        if (n == 0 || (c->len - c->off) / 8 < n) {
            return mt_fail(err, MT_ECORRUPT, start, "bad RAW section");
        }
        for (i = 0; i < n; i++) {
            out[i] = rd_f64le(c->p + c->off + 8 * i);
            if (!is_num(out[i])) {
                return bad_value(err, start + 8 * i);
            }
        }
        c->off += 8 * n;
        return MT_OK;
    case ENC_DEC: {
        uint64_t zq0, zdmin, q, dmin;
        unsigned k, w;
        size_t need;
        double scale;
        const uint8_t *bits;
        if (n == 0 || !cur_can(c, 1)) {
            return mt_fail(err, MT_ECORRUPT, start, "bad DEC section");
        }
        k = c->p[c->off++];
        if (k > HOK_V2_MAX_K || !get_varint(c, &zq0) || !get_varint(c, &zdmin) ||
            !cur_can(c, 1)) {
            return mt_fail(err, MT_ECORRUPT, start, "bad DEC header");
        }
        w = c->p[c->off++];
        need = (size_t)(((uint64_t)(n - 1) * (w > 64 ? 0 : w) + 7) / 8);
        if (w > 64 || !cur_can(c, need)) {
            return mt_fail(err, MT_ECORRUPT, cur_pos(c), "bad DEC packing");
        }
        scale = pow10_tab[k];
        q = (uint64_t)unzigzag(zq0);
        dmin = (uint64_t)unzigzag(zdmin);
        bits = c->p + c->off;
        out[0] = (double)(int64_t)q / scale;
        if (w == 0) {
            for (i = 1; i < n; i++) {
                q += dmin;
                out[i] = (double)(int64_t)q / scale;
            }
        } else {
            uint64_t bp = 0;
            for (i = 1; i < n; i++, bp += w) {
                q += dmin + get_bits(bits, need, bp, w);
                out[i] = (double)(int64_t)q / scale;
            }
        }
        c->off += need;
        return MT_OK;
    }
    case ENC_XOR: {
        const uint8_t *bits = c->p + c->off;
        size_t nb = c->len - c->off;
        uint64_t avail = (uint64_t)nb * 8, bp = 64, prev;
        unsigned lz = 0, mlen = 0;
        int have_win = 0;
        if (n == 0 || avail < 64) {
            return mt_fail(err, MT_ECORRUPT, start, "bad XOR section");
        }
        prev = get_bits(bits, nb, 0, 64);
        out[0] = bits_f64(prev);
        for (i = 1; i < n; i++) {
            if (bp + 1 > avail) {
                goto cut;
            }
            if (get_bits(bits, nb, bp++, 1)) {
                if (bp + 1 > avail) {
                    goto cut;
                }
                if (get_bits(bits, nb, bp++, 1)) {
                    if (bp + 11 > avail) {
                        goto cut;
                    }
                    lz = (unsigned)get_bits(bits, nb, bp, 5);
                    mlen = (unsigned)get_bits(bits, nb, bp + 5, 6) + 1;
                    bp += 11;
                    if (lz + mlen > 64) {
                        return mt_fail(err, MT_ECORRUPT, start + (size_t)(bp / 8),
                                       "XOR window %u+%u over 64 bits", lz, mlen);
                    }
                    have_win = 1;
                } else if (!have_win) {
                    return mt_fail(err, MT_ECORRUPT, start + (size_t)(bp / 8),
                                   "XOR reuses a window before setting one");
                }
                if (bp + mlen > avail) {
                    goto cut;
                }
                prev ^= get_bits(bits, nb, bp, mlen) << (64 - lz - mlen);
                bp += mlen;
            }
            out[i] = bits_f64(prev);
        }
        for (i = 0; i < n; i++) {
            if (!is_num(out[i])) {
                return bad_value(err, start);
            }
        }
        c->off += (size_t)((bp + 7) / 8);
        return MT_OK;
    cut:
        return mt_fail(err, MT_ECORRUPT, start + nb, "XOR stream ends early");
    }
    default:
        return mt_fail(err, MT_ECORRUPT, start - 1, "unknown value encoding %u", enc);
    }
}

/* Decode a channel section into "v" (n rows): exception runs, then the
 * ordinary values into the tail of "v", then merge forward in place. */
mt_status mt__hok2_dec_channel(const uint8_t *p, size_t len, size_t pos, size_t n,
                               uint64_t want_ord, double *v, mt_error *err)
{
    mt__cur c;
    uint64_t n_runs, r, at = 0, n_special = 0;
    size_t runs_off, n_ord;
    unsigned enc;
    mt_status st;
    c.p = p;
    c.len = len;
    c.off = 0;
    c.base = pos;
    if (!cur_can(&c, 1)) {
        return mt_fail(err, MT_ECORRUPT, pos, "empty channel section");
    }
    enc = p[c.off++];
    if (enc > ENC_RAW) {
        return mt_fail(err, MT_ECORRUPT, pos, "unknown value encoding %u", enc);
    }
    if (!get_varint(&c, &n_runs) || n_runs > n) {
        return mt_fail(err, MT_ECORRUPT, pos + 1, "bad exception run count");
    }
    runs_off = c.off;
    for (r = 0; r < n_runs; r++) {
        uint64_t gap, len1;
        size_t rp = cur_pos(&c);
        if (!get_varint(&c, &gap) || !get_varint(&c, &len1) || !cur_can(&c, 1)) {
            return mt_fail(err, MT_ECORRUPT, rp, "bad exception run %llu",
                           (unsigned long long)r);
        }
        if (c.p[c.off] < 1 || c.p[c.off] >= MT_SV_COUNT || gap > n - at ||
            len1 >= n - at - gap) {
            return mt_fail(err, MT_ECORRUPT, rp, "exception run %llu out of range",
                           (unsigned long long)r);
        }
        c.off++;
        at += gap + len1 + 1;
        n_special += len1 + 1;
    }
    n_ord = (size_t)(n - n_special);
    if (want_ord != MT__HOK2_ANY_ORD && n_ord != want_ord) {
        return mt_fail(err, MT_ECORRUPT, pos, "%zu ordinary values but the index says %llu",
                       n_ord, (unsigned long long)want_ord);
    }
    if ((st = dec_values(&c, enc, n_ord, v + (n - n_ord), err)) != MT_OK) {
        return st;
    }
    if (c.off != c.len) {
        return mt_fail(err, MT_ECORRUPT, cur_pos(&c), "%zu stray bytes in a channel section",
                       c.len - c.off);
    }
    if (n_runs) {
        size_t src = n - n_ord, dst = 0;
        c.off = runs_off;
        for (r = 0; r < n_runs; r++) {
            uint64_t gap = 0, len1 = 0;
            size_t start, end;
            double sv;
            (void)get_varint(&c, &gap);
            (void)get_varint(&c, &len1);
            sv = mt_sv_value((mt_sv)c.p[c.off++]);
            start = dst + (size_t)gap;
            end = start + (size_t)len1 + 1;
            while (dst < start) {
                v[dst++] = v[src++];
            }
            while (dst < end) {
                v[dst++] = sv;
            }
        }
        while (dst < n) {
            v[dst++] = v[src++];
        }
    }
    return MT_OK;
}

mt_status mt_hok_decode_block(mt_hok *h, size_t ch, size_t b, mt_time *t, double *v,
                              size_t cap, size_t *n, mt_error *err)
{
    const mt__hok_blk *blk;
    const uint8_t *p;
    size_t hdr, i, off, sect_len, rows;
    uint64_t total;
    mt_status st;
    if (!h || !n || h->version != MT_HOK_V2 || b >= h->n_blocks || (v && ch >= h->n_ch)) {
        return mt_fail(err, MT_EINVAL, 0, "no block %zu of channel %zu", b, ch);
    }
    blk = &h->blocks[b];
    rows = blk->n_rows;
    *n = rows;
    if (cap < rows) {
        return mt_fail(err, MT_ENOSPACE, 0, "block %zu has %zu rows, room for %zu", b, rows,
                       cap);
    }
    p = h->buf + blk->off;
    if (!h->verified[b]) {
        if (!hash_ok(p, blk->len - 8, rd_u64le(p + blk->len - 8))) {
            return mt_fail(err, MT_ECHECKSUM, (size_t)blk->off, "block %zu checksum mismatch",
                           b);
        }
        hdr = 8 + 4 * (1 + h->n_ch);
        total = hdr;
        for (i = 0; i <= h->n_ch; i++) {
            total += rd_u32le(p + 8 + 4 * i);
        }
        if (rd_u32le(p) != blk->len - 16 || rd_u32le(p + 4) != rows || total != blk->len - 8) {
            return mt_fail(err, MT_ECORRUPT, (size_t)blk->off,
                           "block %zu: header does not match its index entry", b);
        }
        h->verified[b] = 1;
    }
    hdr = 8 + 4 * (1 + h->n_ch);
    off = hdr;
    if (t) {
        st = mt__hok2_dec_times(p + off, rd_u32le(p + 8), (size_t)blk->off + off, rows, t,
                                err);
        if (st != MT_OK) {
            return st;
        }
        if (t[0] != blk->t_first || t[rows - 1] != blk->t_last) {
            return mt_fail(err, MT_ECORRUPT, (size_t)blk->off + off,
                           "block %zu: times do not match the index", b);
        }
    }
    if (v) {
        if (h->sect_b == b && h->sect_ch <= ch) {
            off = h->sect_off;
            i = h->sect_ch;
        } else {
            off += rd_u32le(p + 8);
            i = 0;
        }
        for (; i < ch; i++) {
            off += rd_u32le(p + 12 + 4 * i);
        }
        h->sect_b = b;
        h->sect_ch = ch;
        h->sect_off = off;
        sect_len = rd_u32le(p + 12 + 4 * ch);
        st = mt__hok2_dec_channel(p + off, sect_len, (size_t)blk->off + off, rows,
                                  h->sum[ch * h->n_blocks + b].n, v, err);
        if (st != MT_OK) {
            return st;
        }
    }
    return MT_OK;
}

static mt_status ensure_scratch(mt_hok *h, mt_error *err)
{
    if (!h->scratch_t) {
        h->scratch_t = mt__malloc(h->block_rows * sizeof *h->scratch_t);
        if (!h->scratch_t) {
            return mt_fail(err, MT_ENOMEM, 0, "out of memory for a block");
        }
    }
    if (!h->scratch_v) {
        h->scratch_v = mt__malloc(h->block_rows * sizeof *h->scratch_v);
        if (!h->scratch_v) {
            return mt_fail(err, MT_ENOMEM, 0, "out of memory for a block");
        }
    }
    return MT_OK;
}

/* The block holding row "row" (< n_rows). */
static size_t block_of_row(const mt_hok *h, uint64_t row)
{
    size_t lo = 0, hi = h->n_blocks;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (h->blocks[mid].row0 <= row) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    return lo;
}

mt_status mt__hok2_read(mt_hok *h, int want_times, size_t ch, uint64_t row0, size_t n,
                        mt_time *t, double *v, mt_error *err)
{
    size_t b, done = 0, got;
    mt_status st;
    if (n == 0) {
        return MT_OK;
    }
    b = block_of_row(h, row0);
    while (done < n) {
        const mt__hok_blk *blk = &h->blocks[b];
        size_t skip = (size_t)(row0 + done - blk->row0);
        size_t take = blk->n_rows - skip < n - done ? blk->n_rows - skip : n - done;
        if (skip == 0 && take == blk->n_rows) {
            st = mt_hok_decode_block(h, ch, b, want_times ? t + done : NULL,
                                     want_times ? NULL : v + done, blk->n_rows, &got, err);
            if (st != MT_OK) {
                return st;
            }
        } else {
            if ((st = ensure_scratch(h, err)) != MT_OK) {
                return st;
            }
            st = mt_hok_decode_block(h, ch, b, want_times ? h->scratch_t : NULL,
                                     want_times ? NULL : h->scratch_v, h->block_rows, &got,
                                     err);
            if (st != MT_OK) {
                return st;
            }
            if (want_times) {
                memcpy(t + done, h->scratch_t + skip, take * sizeof *t);
            } else {
                memcpy(v + done, h->scratch_v + skip, take * sizeof *v);
            }
        }
        done += take;
        b++;
    }
    return MT_OK;
}

mt_status mt__hok2_seek_time(mt_hok *h, mt_time t, uint64_t *row, mt_error *err)
{
    size_t lo = 0, hi = h->n_blocks, got = 0, i;
    mt_status st;
    /* First block whose last time is >= t. */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        mt_time t_last = h->blocks[mid].t_last;
        if (t_last < t) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (lo == h->n_blocks) {
        *row = h->n_rows;
        return MT_OK;
    }
    if ((st = ensure_scratch(h, err)) != MT_OK) {
        return st;
    }
    st = mt_hok_decode_block(h, 0, lo, h->scratch_t, NULL, h->block_rows, &got, err);
    if (st != MT_OK) {
        return st;
    }
    for (i = 0; i < got && h->scratch_t[i] < t; i++) {
    }
    *row = h->blocks[lo].row0 + i;
    return MT_OK;
}

typedef struct {
    mt_hok *h;
    size_t ch;
} decode_ctx;

static mt_status decode_cb(void *ctx, size_t block, mt_time *t, double *v, size_t cap,
                           size_t *n, mt_error *err)
{
    decode_ctx *d = ctx;
    mt_status st = mt_hok_decode_block(d->h, d->ch, block, t, v, cap, n, err);
    return st;
}

mt_status mt__hok2_decimate(mt_hok *h, size_t ch, mt_time t0, mt_time t1, size_t n_buckets,
                            mt_bucket *out, size_t *n_decoded, mt_error *err)
{
    decode_ctx d;
    d.h = h;
    d.ch = ch;
    return mt_decimate_blocks(h->sum + ch * h->n_blocks, h->n_blocks, decode_cb, &d, t0, t1,
                              n_buckets, out, n_decoded, err);
}

static int same_summary(const mt_block_summary *a, const mt_block_summary *b)
{
    if (a->n != b->n || a->n_special != b->n_special || a->t_first != b->t_first ||
        a->t_last != b->t_last || a->n_rows != b->n_rows) {
        return 0;
    }
    if (a->n_special && a->special != b->special) {
        return 0;
    }
    if (a->n == 0) {
        return 1;
    }
    return f64_bits(a->min) == f64_bits(b->min) && f64_bits(a->max) == f64_bits(b->max) &&
           f64_bits(a->first) == f64_bits(b->first) && f64_bits(a->last) == f64_bits(b->last) &&
           a->t_min == b->t_min && a->t_max == b->t_max && a->t_vfirst == b->t_vfirst &&
           a->t_vlast == b->t_vlast;
}

mt_status mt__hok2_verify(mt_hok *h, mt_error *err)
{
    size_t b, c, got;
    mt_status st;
    if ((st = ensure_scratch(h, err)) != MT_OK) {
        return st;
    }
    for (b = 0; b < h->n_blocks; b++) {
        st = mt_hok_decode_block(h, 0, b, h->scratch_t, NULL, h->block_rows, &got, err);
        if (st != MT_OK) {
            return st;
        }
        for (c = 0; c < h->n_ch; c++) {
            mt_block_summary s;
            st = mt_hok_decode_block(h, c, b, NULL, h->scratch_v, h->block_rows, &got, err);
            if (st != MT_OK) {
                return st;
            }
            mt_block_summarize(h->scratch_t, h->scratch_v, got, &s);
            if (!same_summary(&s, &h->sum[c * h->n_blocks + b])) {
                return mt_fail(err, MT_ECORRUPT, (size_t)h->blocks[b].off,
                               "block %zu channel %zu does not match its index summary", b, c);
            }
        }
    }
    return MT_OK;
}
