/* The type and pixel size of a picture from its header (see picture_info.h).
 * Formats: PNG (signature, IHDR first), JPEG (segments up to the first
 * start-of-frame), GIF 87a/89a (logical screen), WebP (RIFF, VP8/VP8L/VP8X). */
#include "picture_info.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* A bounded cursor over the picture (STYLE.md "INPUT"). */
typedef struct {
    const unsigned char *p;
    size_t len, off;
} cur;

static int can_read(const cur *c, size_t n)
{
    return c->off <= c->len && c->len - c->off >= n;
}

static uint32_t be16(const unsigned char *p)
{
    return (uint32_t)p[0] << 8 | p[1];
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint32_t le16(const unsigned char *p)
{
    return (uint32_t)p[1] << 8 | p[0];
}

static uint32_t le24(const unsigned char *p)
{
    return (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static int fail(char *msg, size_t cap, const char *what)
{
    snprintf(msg, cap, "%s", what);
    return -1;
}

/* The sides "w" x "h" into "out" when both are 1..PICTURE_MAX_SIDE. */
static int sides(picture_info *out, const char *type, uint32_t w, uint32_t h, char *msg,
                 size_t cap)
{
    if (w < 1 || h < 1) {
        return fail(msg, cap, "the picture's header gives it no width or no height");
    }
    if (w > PICTURE_MAX_SIDE || h > PICTURE_MAX_SIDE) {
        snprintf(msg, cap, "the picture is %lu x %lu pixels: at most %d pixels a side are taken",
                 (unsigned long)w, (unsigned long)h, PICTURE_MAX_SIDE);
        return -1;
    }
    out->content_type = type;
    out->width = (int)w;
    out->height = (int)h;
    return 0;
}

static int read_png(cur *c, picture_info *out, char *msg, size_t cap)
{
    /* signature (8), IHDR length (4) = 13, "IHDR", width, height, 5 more bytes, CRC (4) */
    if (!can_read(c, 8 + 8 + 13 + 4)) {
        return fail(msg, cap, "the PNG picture is cut short before its size");
    }
    if (be32(c->p + 8) != 13 || memcmp(c->p + 12, "IHDR", 4) != 0) {
        return fail(msg, cap, "the PNG picture does not begin with its header chunk (IHDR)");
    }
    return sides(out, "image/png", be32(c->p + 16), be32(c->p + 20), msg, cap);
}

/* JPEG: walk the segments after SOI until a start-of-frame marker. */
static int read_jpeg(cur *c, picture_info *out, char *msg, size_t cap)
{
    c->off = 2;
    for (int segments = 0; segments < 10000; segments++) {
        unsigned char marker;
        uint32_t seg_len;
        /* Fill bytes (0xFF) may come before a marker. */
        while (can_read(c, 1) && c->p[c->off] == 0xFF && can_read(c, 2) &&
               c->p[c->off + 1] == 0xFF) {
            c->off++;
        }
        if (!can_read(c, 2)) {
            return fail(msg, cap, "the JPEG picture ends before its frame header");
        }
        if (c->p[c->off] != 0xFF) {
            return fail(msg, cap, "the JPEG picture's segments are damaged");
        }
        marker = c->p[c->off + 1];
        c->off += 2;
        if (marker == 0xD8 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) {
            continue; /* markers without a length */
        }
        if (marker == 0xD9 || marker == 0xDA) {
            return fail(msg, cap, "the JPEG picture has no frame header before its data");
        }
        if (!can_read(c, 2)) {
            return fail(msg, cap, "the JPEG picture ends inside a segment");
        }
        seg_len = be16(c->p + c->off);
        if (seg_len < 2 || !can_read(c, seg_len)) {
            return fail(msg, cap, "the JPEG picture ends inside a segment");
        }
        /* SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC). */
        if (marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 &&
            marker != 0xCC) {
            if (seg_len < 8) {
                return fail(msg, cap, "the JPEG picture's frame header is too short");
            }
            /* length(2) precision(1) height(2) width(2) */
            return sides(out, "image/jpeg", be16(c->p + c->off + 5), be16(c->p + c->off + 3),
                         msg, cap);
        }
        c->off += seg_len;
    }
    return fail(msg, cap, "the JPEG picture has too many segments before its frame header");
}

static int read_gif(cur *c, picture_info *out, char *msg, size_t cap)
{
    if (!can_read(c, 10)) {
        return fail(msg, cap, "the GIF picture is cut short before its size");
    }
    return sides(out, "image/gif", le16(c->p + 6), le16(c->p + 8), msg, cap);
}

/* WebP: RIFF <size> WEBP, then the first chunk says the size. */
static int read_webp(cur *c, picture_info *out, char *msg, size_t cap)
{
    const unsigned char *ch;
    uint32_t chunk_len;
    c->off = 12;
    if (!can_read(c, 8)) {
        return fail(msg, cap, "the WebP picture is cut short before its first chunk");
    }
    ch = c->p + 12;
    chunk_len = le32(ch + 4);
    if (le32(c->p + 4) < 12) {
        return fail(msg, cap, "the WebP picture's RIFF size is too small");
    }
    c->off = 20;
    if (memcmp(ch, "VP8X", 4) == 0) {
        /* flags(4) canvas width - 1 (24) canvas height - 1 (24) */
        if (chunk_len < 10 || !can_read(c, 10)) {
            return fail(msg, cap, "the WebP picture's VP8X chunk is cut short");
        }
        return sides(out, "image/webp", le24(c->p + 24) + 1, le24(c->p + 27) + 1, msg, cap);
    }
    if (memcmp(ch, "VP8L", 4) == 0) {
        /* signature 0x2F, then 14 bits width - 1, 14 bits height - 1 */
        uint32_t bits;
        if (chunk_len < 5 || !can_read(c, 5) || c->p[20] != 0x2F) {
            return fail(msg, cap, "the WebP picture's VP8L chunk is damaged");
        }
        bits = le32(c->p + 21);
        return sides(out, "image/webp", (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1, msg,
                     cap);
    }
    if (memcmp(ch, "VP8 ", 4) == 0) {
        /* frame tag (3), start code 9D 01 2A, width (14 bits), height (14 bits) */
        if (chunk_len < 10 || !can_read(c, 10) || c->p[23] != 0x9D || c->p[24] != 0x01 ||
            c->p[25] != 0x2A) {
            return fail(msg, cap, "the WebP picture's VP8 chunk is damaged");
        }
        return sides(out, "image/webp", le16(c->p + 26) & 0x3FFF, le16(c->p + 28) & 0x3FFF, msg,
                     cap);
    }
    return fail(msg, cap, "the WebP picture begins with an unknown chunk");
}

int picture_info_read(const unsigned char *data, size_t len, picture_info *out, char *msg,
                      size_t cap)
{
    static const unsigned char png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    cur c = {data, len, 0};
    memset(out, 0, sizeof *out);
    if (data == NULL || len == 0) {
        return fail(msg, cap, "the picture is empty");
    }
    if (can_read(&c, 8) && memcmp(data, png_sig, 8) == 0) {
        return read_png(&c, out, msg, cap);
    }
    if (can_read(&c, 3) && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF) {
        return read_jpeg(&c, out, msg, cap);
    }
    if (can_read(&c, 6) && (memcmp(data, "GIF87a", 6) == 0 || memcmp(data, "GIF89a", 6) == 0)) {
        return read_gif(&c, out, msg, cap);
    }
    if (can_read(&c, 12) && memcmp(data, "RIFF", 4) == 0 && memcmp(data + 8, "WEBP", 4) == 0) {
        return read_webp(&c, out, msg, cap);
    }
    return fail(msg, cap, "the file is not a PNG, JPEG, GIF or WebP picture");
}
