/* HOK files: the header shared by HOK and HOK2, the HOK (v1) row format, and
 * the public entry points that dispatch on the version. The byte layout is
 * docs/formats/hok.md; HOK2's codecs live in hok2.c. */
#include "mt/hok.h"

#include <stdlib.h>
#include <string.h>

#include "alloc_int.h"
#include "hok_int.h"

#define HOK_V1_END "MTHOKEND"
#define HOK_STAGE_FLUSH (64 * 1024)

/* ---- strings -------------------------------------------------------------- */

/* Offset of the first byte that breaks UTF-8 in "s" (n bytes), or n when it
 * is valid. NUL, overlong forms, surrogates and code points above U+10FFFF
 * are invalid. */
static size_t utf8_bad_at(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        size_t need;
        uint32_t cp;
        size_t k;
        if (c >= 0x01 && c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            cp = c & 0x07;
        } else {
            return i;
        }
        if (n - i <= need) {
            return i;
        }
        for (k = 1; k <= need; k++) {
            if ((s[i + k] & 0xC0) != 0x80) {
                return i;
            }
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((need == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
            (need == 3 && (cp < 0x10000 || cp > 0x10FFFF))) {
            return i;
        }
        i += need + 1;
    }
    return n;
}

/* Check one writer-side string; "which" names it in the error. */
static mt_status check_str(const char *s, size_t cap, size_t pos, const char *which,
                           size_t *len, mt_error *err)
{
    size_t n = s ? strlen(s) : 0;
    *len = n;
    if (n > cap) {
        return mt_fail(err, MT_ELIMIT, pos, "%s is %zu bytes, more than %zu", which, n, cap);
    }
    if (utf8_bad_at((const uint8_t *)(s ? s : ""), n) != n) {
        return mt_fail(err, MT_ESYNTAX, pos, "%s is not valid UTF-8", which);
    }
    return MT_OK;
}

/* ---- writer --------------------------------------------------------------- */

mt_status mt__hok_writer_fail(mt_hok_writer *w, mt_status st, const mt_error *e, mt_error *err)
{
    if (w->failed == MT_OK) {
        w->failed = st;
        if (e) {
            w->failed_err = *e;
        } else {
            mt_fail(&w->failed_err, st, 0, "%s", mt_strerror(st));
        }
    }
    if (err) {
        *err = w->failed_err;
    }
    return w->failed;
}

mt_status mt__hok_stage_reserve(mt_hok_writer *w, size_t extra, mt_error *err)
{
    size_t need, cap;
    uint8_t *grown;
    if (extra > SIZE_MAX - w->stage_len) {
        return mt_fail(err, MT_ENOMEM, 0, "output block too large");
    }
    need = w->stage_len + extra;
    if (need <= w->stage_cap) {
        return MT_OK;
    }
    cap = w->stage_cap ? w->stage_cap : 4096;
    while (cap < need) {
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    }
    grown = mt__realloc(w->stage, cap);
    if (!grown) {
        return mt_fail(err, MT_ENOMEM, 0, "out of memory for a %zu-byte output block", cap);
    }
    w->stage = grown;
    w->stage_cap = cap;
    return MT_OK;
}

mt_status mt__hok_stage_flush(mt_hok_writer *w, mt_error *err)
{
    mt_status st;
    if (w->stage_len == 0) {
        return MT_OK;
    }
    if (w->version == MT_HOK_V1) {
        XXH64_update(&w->hash, w->stage, w->stage_len);
    }
    st = w->sink(w->sink_ctx, w->stage, w->stage_len, err);
    if (st != MT_OK) {
        return st;
    }
    w->file_off += w->stage_len;
    w->stage_len = 0;
    return MT_OK;
}

static void put_str(uint8_t **p, const char *s, size_t n)
{
    wr_u16le(*p, (uint16_t)n);
    if (n) {
        memcpy(*p + 2, s, n);
    }
    *p += 2 + n;
}

/* Check meta and channels and stage the header (with its checksum). */
static mt_status stage_header(mt_hok_writer *w, const mt_hok_meta *meta,
                              const mt_hok_channel *ch, size_t n_ch, mt_error *err)
{
    const char *mnames[5] = {"title", "app", "device", "model", "timezone"};
    const char *mvals[5];
    size_t mlen[5], head_len = 16 + 8 + 4 + 8;
    size_t i, k;
    uint8_t *p, *start;
    mt_status st;
    mvals[0] = meta->title;
    mvals[1] = meta->app;
    mvals[2] = meta->device;
    mvals[3] = meta->model;
    mvals[4] = meta->timezone;
    for (k = 0; k < 5; k++) {
        st = check_str(mvals[k], k == 0 ? MT_HOK_MAX_TITLE : MT_HOK_MAX_STR, 0, mnames[k],
                       &mlen[k], err);
        if (st != MT_OK) {
            return st;
        }
        head_len += 2 + mlen[k];
    }
    if (w->version == MT_HOK_V2) {
        head_len += 4;
    }
    for (i = 0; i < n_ch; i++) {
        size_t a, b, c;
        if (ch[i].kind != MT_HOK_MEASURED && ch[i].kind != MT_HOK_COMPUTED) {
            return mt_fail(err, MT_EINVAL, i, "channel %zu: unknown kind %d", i, (int)ch[i].kind);
        }
        if ((st = check_str(ch[i].name, MT_HOK_MAX_STR, i, "channel name", &a, err)) != MT_OK ||
            (st = check_str(ch[i].unit, MT_HOK_MAX_STR, i, "channel unit", &b, err)) != MT_OK ||
            (st = check_str(ch[i].model, MT_HOK_MAX_STR, i, "channel model", &c, err)) != MT_OK) {
            return st;
        }
        head_len += 8 + 1 + 6 + a + b + c;
    }
    if ((st = mt__hok_stage_reserve(w, head_len, err)) != MT_OK) {
        return st;
    }
    start = p = w->stage + w->stage_len;
    memcpy(p, HOK_MAGIC, HOK_MAGIC_LEN);
    wr_u16le(p + 8, (uint16_t)w->version);
    wr_u16le(p + 10, 0);
    wr_u32le(p + 12, (uint32_t)head_len);
    p += 16;
    for (k = 0; k < 5; k++) {
        put_str(&p, mvals[k], mlen[k]);
    }
    wr_u64le(p, (uint64_t)meta->created);
    wr_u32le(p + 8, (uint32_t)n_ch);
    p += 12;
    if (w->version == MT_HOK_V2) {
        wr_u32le(p, w->block_rows);
        p += 4;
    }
    for (i = 0; i < n_ch; i++) {
        wr_u64le(p, (uint64_t)ch[i].id);
        p[8] = (uint8_t)ch[i].kind;
        p += 9;
        put_str(&p, ch[i].name, ch[i].name ? strlen(ch[i].name) : 0);
        put_str(&p, ch[i].unit, ch[i].unit ? strlen(ch[i].unit) : 0);
        put_str(&p, ch[i].model, ch[i].model ? strlen(ch[i].model) : 0);
    }
    wr_u64le(p, XXH64(start, head_len - 8, 0));
    w->stage_len += head_len;
    return MT_OK;
}

mt_status mt_hok_writer_new(const mt_hok_opts *opts, const mt_hok_meta *meta,
                            const mt_hok_channel *ch, size_t n_ch, mt_hok_sink sink,
                            void *sink_ctx, mt_hok_writer **out, mt_error *err)
{
    mt_hok_writer *w = NULL;
    mt_status st = MT_OK;
    if (out) {
        *out = NULL;
    }
    if (!opts || !meta || (!ch && n_ch) || !sink || !out) {
        return mt_fail(err, MT_EINVAL, 0, "NULL argument");
    }
    if (opts->version != MT_HOK_V1 && opts->version != MT_HOK_V2) {
        return mt_fail(err, MT_EINVAL, 0, "unknown HOK version %d", opts->version);
    }
    if (opts->block_rows > MT_HOK_MAX_BLOCK_ROWS) {
        return mt_fail(err, MT_EINVAL, 0, "block_rows %u is more than %u",
                       (unsigned)opts->block_rows, (unsigned)MT_HOK_MAX_BLOCK_ROWS);
    }
    if (n_ch > MT_HOK_MAX_CHANNELS) {
        return mt_fail(err, MT_ELIMIT, n_ch, "%zu channels, more than %d", n_ch,
                       MT_HOK_MAX_CHANNELS);
    }
    w = mt__calloc(1, sizeof *w);
    if (!w) {
        return mt_fail(err, MT_ENOMEM, 0, "out of memory for a writer");
    }
    w->version = opts->version;
    w->sink = sink;
    w->sink_ctx = sink_ctx;
    w->n_ch = n_ch;
    w->last_t = INT64_MIN;
    w->block_rows = opts->block_rows ? opts->block_rows : MT_HOK_DEFAULT_BLOCK_ROWS;
    XXH64_reset(&w->hash, 0);
    if (w->version == MT_HOK_V2 && (st = mt__hok2_writer_init(w, err)) != MT_OK) {
        goto out;
    }
    if ((st = stage_header(w, meta, ch, n_ch, err)) != MT_OK) {
        goto out;
    }
    st = mt__hok_stage_flush(w, err);
out:
    if (st != MT_OK) {
        mt_hok_writer_free(w);
        return st;
    }
    *out = w;
    return MT_OK;
}

/* Stage HOK v1 row records: time, one kind byte per channel, one value per
 * channel (0.0 where the kind is special). */
static mt_status v1_append(mt_hok_writer *w, const mt_time *t, const double *const *cols,
                           size_t n, mt_error *err)
{
    size_t row_size = 8 + 9 * w->n_ch;
    size_t i, c;
    mt_status st;
    for (i = 0; i < n; i++) {
        uint8_t *p;
        if ((st = mt__hok_stage_reserve(w, row_size, err)) != MT_OK) {
            return st;
        }
        p = w->stage + w->stage_len;
        wr_u64le(p, (uint64_t)t[i]);
        for (c = 0; c < w->n_ch; c++) {
            double v = cols[c][i];
            mt_sv kind = mt_sv_kind(v);
            p[8 + c] = (uint8_t)kind;
            wr_f64le(p + 8 + w->n_ch + 8 * c, kind == MT_SV_NONE ? v : 0.0);
        }
        w->stage_len += row_size;
        if (w->stage_len >= HOK_STAGE_FLUSH && (st = mt__hok_stage_flush(w, err)) != MT_OK) {
            return st;
        }
    }
    return MT_OK;
}

mt_status mt_hok_writer_append(mt_hok_writer *w, const mt_time *t, const double *const *cols,
                               size_t n, mt_error *err)
{
    mt_error e;
    mt_status st;
    size_t i;
    if (!w) {
        return mt_fail(err, MT_EINVAL, 0, "NULL writer");
    }
    if (w->failed != MT_OK) {
        return mt__hok_writer_fail(w, w->failed, NULL, err);
    }
    if (w->finished) {
        return mt_fail(err, MT_EINVAL, 0, "the file is already finished");
    }
    if (n == 0) {
        return MT_OK;
    }
    if (!t || (!cols && w->n_ch)) {
        return mt_fail(err, MT_EINVAL, 0, "NULL times or columns");
    }
    for (i = 0; i < w->n_ch; i++) {
        if (!cols[i]) {
            return mt_fail(err, MT_EINVAL, i, "column %zu is NULL", i);
        }
    }
    for (i = 0; i < n; i++) {
        if (t[i] < (i ? t[i - 1] : w->last_t)) {
            return mt_fail(err, MT_EORDER, i, "row %zu: time goes backwards", i);
        }
    }
    mt_error_clear(&e);
    st = w->version == MT_HOK_V1 ? v1_append(w, t, cols, n, &e)
                                 : mt__hok2_append(w, t, cols, n, &e);
    if (st != MT_OK) {
        return mt__hok_writer_fail(w, st, &e, err);
    }
    w->n_rows += n;
    w->last_t = t[n - 1];
    return MT_OK;
}

mt_status mt_hok_writer_finish(mt_hok_writer *w, mt_error *err)
{
    mt_error e;
    mt_status st;
    if (!w) {
        return mt_fail(err, MT_EINVAL, 0, "NULL writer");
    }
    if (w->failed != MT_OK) {
        return mt__hok_writer_fail(w, w->failed, NULL, err);
    }
    if (w->finished) {
        return mt_fail(err, MT_EINVAL, 0, "the file is already finished");
    }
    mt_error_clear(&e);
    if (w->version == MT_HOK_V1) {
        /* The trailer: row count, end magic, then XXH64 of everything before
         * the checksum itself. */
        st = mt__hok_stage_reserve(w, HOK_V1_TRAILER, &e);
        if (st == MT_OK) {
            uint8_t *p = w->stage + w->stage_len;
            wr_u64le(p, w->n_rows);
            memcpy(p + 8, HOK_V1_END, 8);
            XXH64_update(&w->hash, w->stage, w->stage_len + 16);
            wr_u64le(p + 16, XXH64_digest(&w->hash));
            st = w->sink(w->sink_ctx, w->stage, w->stage_len + HOK_V1_TRAILER, &e);
            if (st == MT_OK) {
                w->file_off += w->stage_len + HOK_V1_TRAILER;
                w->stage_len = 0;
            }
        }
    } else {
        st = mt__hok2_finish(w, &e);
    }
    if (st != MT_OK) {
        return mt__hok_writer_fail(w, st, &e, err);
    }
    w->finished = 1;
    return MT_OK;
}

void mt_hok_writer_free(mt_hok_writer *w)
{
    if (!w) {
        return;
    }
    mt__hok2_writer_free(w);
    mt__free(w->stage);
    mt__free(w);
}

mt_status mt_hok_buf_sink(void *ctx, const uint8_t *bytes, size_t len, mt_error *err)
{
    mt_hok_buf *b = ctx;
    if (len > SIZE_MAX - b->len) {
        return mt_fail(err, MT_ENOMEM, b->len, "output too large");
    }
    if (b->len + len > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        uint8_t *grown;
        while (cap < b->len + len) {
            cap = cap > SIZE_MAX / 2 ? b->len + len : cap * 2;
        }
        grown = mt__realloc(b->data, cap);
        if (!grown) {
            return mt_fail(err, MT_ENOMEM, b->len, "out of memory for %zu bytes of output", cap);
        }
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, bytes, len);
    b->len += len;
    return MT_OK;
}

void mt_hok_buf_free(mt_hok_buf *b)
{
    if (b) {
        mt__free(b->data);
        b->data = NULL;
        b->len = b->cap = 0;
    }
}

mt_status mt_hok_write_mem(const mt_hok_opts *opts, const mt_hok_meta *meta,
                           const mt_hok_channel *ch, size_t n_ch, const mt_time *t,
                           const double *const *cols, size_t n, uint8_t **out_data,
                           size_t *out_len, mt_error *err)
{
    mt_hok_buf buf = {0};
    mt_hok_writer *w = NULL;
    mt_status st;
    if (out_data) {
        *out_data = NULL;
    }
    if (!out_data || !out_len) {
        return mt_fail(err, MT_EINVAL, 0, "NULL output");
    }
    *out_len = 0;
    st = mt_hok_writer_new(opts, meta, ch, n_ch, mt_hok_buf_sink, &buf, &w, err);
    if (st != MT_OK) {
        goto out;
    }
    if ((st = mt_hok_writer_append(w, t, cols, n, err)) != MT_OK) {
        goto out;
    }
    if ((st = mt_hok_writer_finish(w, err)) != MT_OK) {
        goto out;
    }
    *out_data = buf.data;
    *out_len = buf.len;
    buf.data = NULL;
out:
    mt_hok_writer_free(w);
    mt_hok_buf_free(&buf);
    return st;
}

void mt_hok_mem_free(uint8_t *data)
{
    mt__free(data);
}

/* ---- reader: header ------------------------------------------------------- */

/* Read a length-prefixed string into the arena at *dst, NUL-terminate it. */
static mt_status get_str(mt__cur *c, size_t cap, const char *which, char **dst,
                         const char **out, mt_error *err)
{
    size_t n, bad;
    if (!cur_can(c, 2)) {
        return mt_fail(err, MT_ECORRUPT, cur_pos(c), "header ends in the length of %s", which);
    }
    n = rd_u16le(c->p + c->off);
    if (n > cap) {
        return mt_fail(err, MT_ECORRUPT, cur_pos(c), "%s is %zu bytes, more than %zu", which, n,
                       cap);
    }
    c->off += 2;
    if (!cur_can(c, n)) {
        return mt_fail(err, MT_ECORRUPT, cur_pos(c), "header ends inside %s", which);
    }
    bad = utf8_bad_at(c->p + c->off, n);
    if (bad != n) {
        return mt_fail(err, MT_ECORRUPT, cur_pos(c) + bad, "%s is not valid UTF-8", which);
    }
    memcpy(*dst, c->p + c->off, n);
    (*dst)[n] = '\0';
    *out = *dst;
    *dst += n + 1;
    c->off += n;
    return MT_OK;
}

/* Parse magic, version and the header of "h->buf"; set data_off. */
static mt_status parse_header(mt_hok *h, mt_error *err)
{
    const uint8_t *b = h->buf;
    size_t head_len, i, n_ch;
    unsigned version;
    mt__cur c;
    char *arena;
    mt_status st;
    size_t cmp = h->len < HOK_MAGIC_LEN ? h->len : HOK_MAGIC_LEN;
    if (memcmp(b, HOK_MAGIC, cmp) != 0) {
        return mt_fail(err, MT_EFORMAT, 0, "not a HOK file (no MTHOK magic)");
    }
    if (h->len < 16) {
        return mt_fail(err, MT_ETRUNC, h->len, "file ends at %zu inside the 16-byte preamble",
                       h->len);
    }
    version = rd_u16le(b + 8);
    if (version == 0 || version > MT_HOK_V2) {
        return mt_fail(err, version ? MT_EVERSION : MT_ECORRUPT, 8,
                       "HOK version %u is not supported (1 and 2 are)", version);
    }
    h->version = (int)version;
    if (rd_u16le(b + 10) != 0) {
        return mt_fail(err, MT_ECORRUPT, 10, "reserved flags are not 0");
    }
    head_len = rd_u32le(b + 12);
    if (head_len < 16 + 8 + 4 + 8 + 10) {
        return mt_fail(err, MT_ECORRUPT, 12, "header length %zu is too small", head_len);
    }
    if (head_len > h->len) {
        return mt_fail(err, MT_ETRUNC, h->len, "file ends at %zu inside the %zu-byte header",
                       h->len, head_len);
    }
    if (!hash_ok(b, head_len - 8, rd_u64le(b + head_len - 8))) {
        return mt_fail(err, MT_ECHECKSUM, head_len - 8, "header checksum mismatch");
    }
    /* Every string has a 2-byte length prefix, so head_len bytes hold all of
     * them with their NULs. */
    arena = h->strings = mt__malloc(head_len);
    if (!arena) {
        return mt_fail(err, MT_ENOMEM, 0, "out of memory for %zu bytes of strings", head_len);
    }
    c.p = b;
    c.len = head_len - 8;
    c.off = 16;
    c.base = 0;
    if ((st = get_str(&c, MT_HOK_MAX_TITLE, "title", &arena, &h->meta.title, err)) != MT_OK ||
        (st = get_str(&c, MT_HOK_MAX_STR, "app", &arena, &h->meta.app, err)) != MT_OK ||
        (st = get_str(&c, MT_HOK_MAX_STR, "device", &arena, &h->meta.device, err)) != MT_OK ||
        (st = get_str(&c, MT_HOK_MAX_STR, "model", &arena, &h->meta.model, err)) != MT_OK ||
        (st = get_str(&c, MT_HOK_MAX_STR, "timezone", &arena, &h->meta.timezone, err)) !=
            MT_OK) {
        return st;
    }
    if (!cur_can(&c, 12 + (h->version == MT_HOK_V2 ? 4 : 0))) {
        return mt_fail(err, MT_ECORRUPT, cur_pos(&c), "header ends before the channel count");
    }
    h->meta.created = (mt_time)rd_u64le(c.p + c.off);
    n_ch = rd_u32le(c.p + c.off + 8);
    c.off += 12;
    if (h->version == MT_HOK_V2) {
        h->block_rows = rd_u32le(c.p + c.off);
        if (h->block_rows == 0 || h->block_rows > MT_HOK_MAX_BLOCK_ROWS) {
            return mt_fail(err, MT_ECORRUPT, cur_pos(&c), "block_rows %u is out of range",
                           (unsigned)h->block_rows);
        }
        c.off += 4;
    }
    /* A channel entry takes at least 15 bytes: check before allocating. */
    if (n_ch > MT_HOK_MAX_CHANNELS || n_ch > (c.len - c.off) / 15) {
        return mt_fail(err, MT_ECORRUPT, cur_pos(&c) - 4 - (h->version == MT_HOK_V2 ? 4 : 0),
                       "channel count %zu does not fit the header", n_ch);
    }
    h->n_ch = n_ch;
    if (n_ch) {
        h->ch = mt__calloc(n_ch, sizeof *h->ch);
        if (!h->ch) {
            return mt_fail(err, MT_ENOMEM, 0, "out of memory for %zu channels", n_ch);
        }
    }
    for (i = 0; i < n_ch; i++) {
        mt_hok_channel *chn = &h->ch[i];
        if (!cur_can(&c, 9)) {
            return mt_fail(err, MT_ECORRUPT, cur_pos(&c), "header ends inside channel %zu", i);
        }
        chn->id = (int64_t)rd_u64le(c.p + c.off);
        if (c.p[c.off + 8] > MT_HOK_COMPUTED) {
            return mt_fail(err, MT_ECORRUPT, cur_pos(&c) + 8, "channel %zu: unknown kind %u", i,
                           (unsigned)c.p[c.off + 8]);
        }
        chn->kind = (mt_hok_kind)c.p[c.off + 8];
        c.off += 9;
        if ((st = get_str(&c, MT_HOK_MAX_STR, "channel name", &arena, &chn->name, err)) !=
                MT_OK ||
            (st = get_str(&c, MT_HOK_MAX_STR, "channel unit", &arena, &chn->unit, err)) !=
                MT_OK ||
            (st = get_str(&c, MT_HOK_MAX_STR, "channel model", &arena, &chn->model, err)) !=
                MT_OK) {
            return st;
        }
    }
    if (c.off != c.len) {
        return mt_fail(err, MT_ECORRUPT, cur_pos(&c), "%zu unexplained bytes in the header",
                       c.len - c.off);
    }
    h->data_off = head_len;
    return MT_OK;
}

/* HOK v1: trailer, whole-file checksum, row count against the size, time
 * order. */
static mt_status v1_open(mt_hok *h, mt_error *err)
{
    const uint8_t *b = h->buf;
    size_t data_len, tr, i;
    uint64_t n_rows;
    h->row_size = 8 + 9 * h->n_ch;
    if (h->len - h->data_off < HOK_V1_TRAILER) {
        return mt_fail(err, MT_ETRUNC, h->len, "file ends at %zu before the 24-byte trailer",
                       h->len);
    }
    tr = h->len - HOK_V1_TRAILER;
    if (memcmp(b + tr + 8, HOK_V1_END, 8) != 0) {
        /* Most likely the file was cut: the end magic is not at the end. */
        return mt_fail(err, MT_ETRUNC, h->len, "no end magic at %zu: file truncated at %zu?",
                       tr + 8, h->len);
    }
    if (!hash_ok(b, h->len - 8, rd_u64le(b + h->len - 8))) {
        return mt_fail(err, MT_ECHECKSUM, h->len - 8, "file checksum mismatch");
    }
    n_rows = rd_u64le(b + tr);
    data_len = tr - h->data_off;
    if (n_rows != data_len / h->row_size || data_len % h->row_size != 0) {
        return mt_fail(err, MT_ECORRUPT, tr,
                       "row count %llu does not match %zu bytes of %zu-byte rows",
                       (unsigned long long)n_rows, data_len, h->row_size);
    }
    h->n_rows = n_rows;
    for (i = 1; i < n_rows; i++) {
        size_t off = h->data_off + i * h->row_size;
        if ((int64_t)rd_u64le(b + off) < (int64_t)rd_u64le(b + off - h->row_size)) {
            return mt_fail(err, MT_ECORRUPT, off, "row %zu: time goes backwards", i);
        }
    }
    return MT_OK;
}

mt_status mt_hok_open(const uint8_t *buf, size_t len, mt_hok **out, mt_error *err)
{
    mt_hok *h;
    mt_status st;
    if (out) {
        *out = NULL;
    }
    if ((!buf && len) || !out) {
        return mt_fail(err, MT_EINVAL, 0, "NULL argument");
    }
    if (len == 0) {
        return mt_fail(err, MT_EFORMAT, 0, "empty file");
    }
    h = mt__calloc(1, sizeof *h);
    if (!h) {
        return mt_fail(err, MT_ENOMEM, 0, "out of memory for a reader");
    }
    h->buf = buf;
    h->len = len;
    h->sect_b = SIZE_MAX;
    if ((st = parse_header(h, err)) != MT_OK) {
        goto out;
    }
    st = h->version == MT_HOK_V1 ? v1_open(h, err) : mt__hok2_open(h, err);
out:
    if (st != MT_OK) {
        mt_hok_close(h);
        return st;
    }
    *out = h;
    return MT_OK;
}

void mt_hok_close(mt_hok *h)
{
    if (!h) {
        return;
    }
    mt__hok2_close(h);
    mt__free(h->ch);
    mt__free(h->strings);
    mt__free(h);
}

int mt_hok_version(const mt_hok *h)
{
    return h->version;
}

const mt_hok_meta *mt_hok_get_meta(const mt_hok *h)
{
    return &h->meta;
}

size_t mt_hok_channel_count(const mt_hok *h)
{
    return h->n_ch;
}

const mt_hok_channel *mt_hok_channels(const mt_hok *h)
{
    return h->ch;
}

uint64_t mt_hok_row_count(const mt_hok *h)
{
    return h->n_rows;
}

static mt_status check_rows(const mt_hok *h, uint64_t row0, size_t n, const void *out,
                            mt_error *err)
{
    if (!out && n) {
        return mt_fail(err, MT_EINVAL, 0, "NULL output");
    }
    if (row0 > h->n_rows || n > h->n_rows - row0) {
        return mt_fail(err, MT_ERANGE, 0, "rows %llu+%zu beyond the %llu rows",
                       (unsigned long long)row0, n, (unsigned long long)h->n_rows);
    }
    return MT_OK;
}

mt_status mt_hok_read_times(mt_hok *h, uint64_t row0, size_t n, mt_time *t, mt_error *err)
{
    mt_status st;
    size_t i;
    if (!h) {
        return mt_fail(err, MT_EINVAL, 0, "NULL reader");
    }
    if ((st = check_rows(h, row0, n, t, err)) != MT_OK) {
        return st;
    }
    if (h->version == MT_HOK_V2) {
        return mt__hok2_read(h, 1, 0, row0, n, t, NULL, err);
    }
    {
        const uint8_t *p = h->buf + h->data_off + (size_t)row0 * h->row_size;
        for (i = 0; i < n; i++, p += h->row_size) {
            t[i] = (mt_time)rd_u64le(p);
        }
    }
    return MT_OK;
}

/* One HOK v1 value: kind byte "kind" and the value's bits at "vp". */
static mt_status v1_value(const mt_hok *h, const uint8_t *kp, const uint8_t *vp, uint64_t row,
                          size_t ch, double *out, mt_error *err)
{
    uint64_t bits = rd_u64le(vp);
    uint8_t kind = *kp;
    if (kind == 0 && (bits & UINT64_C(0x7FF0000000000000)) != UINT64_C(0x7FF0000000000000)) {
        *out = bits_f64(bits);
    } else if (kind >= 1 && kind < MT_SV_COUNT && bits == 0) {
        *out = mt_sv_value((mt_sv)kind);
    } else {
        return mt_fail(err, MT_ECORRUPT, (size_t)(kind ? kp - h->buf : vp - h->buf),
                       "row %llu channel %zu: kind %u with value bits %016llx",
                       (unsigned long long)row, ch, (unsigned)kind, (unsigned long long)bits);
    }
    return MT_OK;
}

mt_status mt_hok_read_values(mt_hok *h, size_t ch, uint64_t row0, size_t n, double *v,
                             mt_error *err)
{
    mt_status st;
    size_t i;
    if (!h) {
        return mt_fail(err, MT_EINVAL, 0, "NULL reader");
    }
    if (ch >= h->n_ch) {
        return mt_fail(err, MT_EINVAL, ch, "no channel %zu (%zu channels)", ch, h->n_ch);
    }
    if ((st = check_rows(h, row0, n, v, err)) != MT_OK) {
        return st;
    }
    if (h->version == MT_HOK_V2) {
        return mt__hok2_read(h, 0, ch, row0, n, NULL, v, err);
    }
    {
        const uint8_t *base = h->buf + h->data_off + (size_t)row0 * h->row_size;
        const uint8_t *kp = base + 8 + ch;
        const uint8_t *vp = base + 8 + h->n_ch + 8 * ch;
        /* Ordinary: kind 0 and a finite double. Special: kind 1..5, value 0.0. */
        for (i = 0; i < n; i++, kp += h->row_size, vp += h->row_size) {
            if ((st = v1_value(h, kp, vp, row0 + i, ch, &v[i], err)) != MT_OK) {
                return st;
            }
        }
    }
    return MT_OK;
}

mt_status mt_hok_read_rows(mt_hok *h, uint64_t row0, size_t n, mt_time *t, double *const *cols,
                           mt_error *err)
{
    mt_status st;
    size_t i, c;
    if (!h || (!cols && n && h->n_ch)) {
        return mt_fail(err, MT_EINVAL, 0, "NULL argument");
    }
    for (c = 0; c < h->n_ch && n; c++) {
        if (!cols[c]) {
            return mt_fail(err, MT_EINVAL, c, "NULL output for channel %zu", c);
        }
    }
    if ((st = check_rows(h, row0, n, t, err)) != MT_OK) {
        return st;
    }
    if (h->version == MT_HOK_V2) {
        /* HOK2 is stored by column: read it that way. */
        if ((st = mt_hok_read_times(h, row0, n, t, err)) != MT_OK) {
            return st;
        }
        for (c = 0; c < h->n_ch; c++) {
            if ((st = mt_hok_read_values(h, c, row0, n, cols[c], err)) != MT_OK) {
                return st;
            }
        }
        return MT_OK;
    }
    {
        /* HOK v1 is stored by row: one forward pass touches every byte once. */
        const uint8_t *p = h->buf + h->data_off + (size_t)row0 * h->row_size;
        for (i = 0; i < n; i++, p += h->row_size) {
            const uint8_t *kp = p + 8, *vp = p + 8 + h->n_ch;
            t[i] = (mt_time)rd_u64le(p);
            for (c = 0; c < h->n_ch; c++, kp++, vp += 8) {
                uint64_t bits = rd_u64le(vp);
                if (*kp == 0 &&
                    (bits & UINT64_C(0x7FF0000000000000)) != UINT64_C(0x7FF0000000000000)) {
                    cols[c][i] = bits_f64(bits);
                } else if ((st = v1_value(h, kp, vp, row0 + i, c, &cols[c][i], err)) != MT_OK) {
                    return st;
                }
            }
        }
    }
    return MT_OK;
}

mt_status mt_hok_seek_time(mt_hok *h, mt_time t, uint64_t *row, mt_error *err)
{
    uint64_t lo = 0, hi;
    if (!h || !row) {
        return mt_fail(err, MT_EINVAL, 0, "NULL argument");
    }
    if (h->version == MT_HOK_V2) {
        return mt__hok2_seek_time(h, t, row, err);
    }
    hi = h->n_rows;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        mt_time tm = (mt_time)rd_u64le(h->buf + h->data_off + (size_t)mid * h->row_size);
        if (tm < t) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    *row = lo;
    return MT_OK;
}

mt_status mt_hok_decimate(mt_hok *h, size_t ch, mt_time t0, mt_time t1, size_t n_buckets,
                          mt_bucket *out, size_t *n_decoded, mt_error *err)
{
    mt_time *t = NULL;
    double *v = NULL;
    uint64_t r0 = 0, r1 = 0;
    size_t n;
    mt_status st;
    if (n_decoded) {
        *n_decoded = 0;
    }
    if (!h || !out) {
        return mt_fail(err, MT_EINVAL, 0, "NULL argument");
    }
    if (ch >= h->n_ch) {
        return mt_fail(err, MT_EINVAL, ch, "no channel %zu (%zu channels)", ch, h->n_ch);
    }
    if (h->version == MT_HOK_V2) {
        return mt__hok2_decimate(h, ch, t0, t1, n_buckets, out, n_decoded, err);
    }
    /* HOK v1 has no index: read the rows of [t0, t1) and decimate them. */
    if (t1 > t0) {
        if ((st = mt_hok_seek_time(h, t0, &r0, err)) != MT_OK ||
            (st = mt_hok_seek_time(h, t1, &r1, err)) != MT_OK) {
            return st;
        }
    }
    n = (size_t)(r1 - r0);
    if (n) {
        t = mt__malloc(n * sizeof *t);
        v = mt__malloc(n * sizeof *v);
        if (!t || !v) {
            st = mt_fail(err, MT_ENOMEM, 0, "out of memory for %zu rows", n);
            goto out;
        }
        if ((st = mt_hok_read_times(h, r0, n, t, err)) != MT_OK ||
            (st = mt_hok_read_values(h, ch, r0, n, v, err)) != MT_OK) {
            goto out;
        }
    }
    st = mt_decimate_minmax(t, v, n, t0, t1, n_buckets, out, err);
out:
    mt__free(t);
    mt__free(v);
    return st;
}

mt_status mt_hok_verify(mt_hok *h, mt_error *err)
{
    double v[256];
    size_t ch;
    uint64_t row;
    mt_status st;
    if (!h) {
        return mt_fail(err, MT_EINVAL, 0, "NULL reader");
    }
    if (h->version == MT_HOK_V2) {
        return mt__hok2_verify(h, err);
    }
    for (ch = 0; ch < h->n_ch; ch++) {
        for (row = 0; row < h->n_rows; row += 256) {
            size_t n = h->n_rows - row < 256 ? (size_t)(h->n_rows - row) : 256;
            if ((st = mt_hok_read_values(h, ch, row, n, v, err)) != MT_OK) {
                return st;
            }
        }
    }
    return MT_OK;
}

size_t mt_hok_block_count(const mt_hok *h)
{
    return h->version == MT_HOK_V2 ? h->n_blocks : 0;
}

const mt_block_summary *mt_hok_block_summary(const mt_hok *h, size_t ch, size_t b)
{
    if (h->version != MT_HOK_V2 || ch >= h->n_ch || b >= h->n_blocks) {
        return NULL;
    }
    return &h->sum[ch * h->n_blocks + b];
}

uint64_t mt_hok_block_row0(const mt_hok *h, size_t b)
{
    if (h->version != MT_HOK_V2 || b >= h->n_blocks) {
        return h->n_rows;
    }
    return h->blocks[b].row0;
}
