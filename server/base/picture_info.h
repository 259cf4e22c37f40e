/* What an uploaded picture is (dashboard picture panels, B1/B3;
 * docs/dashboards.md): its type from its first bytes and its size in
 * pixels from its header, read through a bounded cursor. Nothing else of
 * the picture is decoded: the browser draws it, and the server only needs
 * to know that it is one of the four types a browser shows (so that it can
 * be served with that type) and how large it is (for the layout). */
#ifndef MTS_PICTURE_INFO_H
#define MTS_PICTURE_INFO_H

#include <stddef.h>

#define PICTURE_MAX_SIDE 16384 /* pixels, either side */

typedef struct {
    const char *content_type; /* "image/png", "image/jpeg", "image/gif" or "image/webp" (static) */
    int width, height;        /* 1..PICTURE_MAX_SIDE */
} picture_info;

/* Read the type and the size of the picture in the "len" bytes at "data".
 * Returns 0 with "out" filled, or -1 with an English sentence in "msg"
 * ("cap" bytes) for anything else: an unknown type, a header cut short or
 * inconsistent, a side of 0 or over PICTURE_MAX_SIDE. Never reads outside
 * [data, data + len); no allocation; thread-safe. */
int picture_info_read(const unsigned char *data, size_t len, picture_info *out, char *msg,
                      size_t cap);

#endif
