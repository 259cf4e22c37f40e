/* Strict UTF-8 (see utf8.h). */
#include "utf8.h"

size_t utf8_decode(const unsigned char *s, size_t len, uint32_t *cp)
{
    unsigned char c = s[0];
    size_t need;
    uint32_t v;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
        need = 1, v = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 2, v = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3, v = c & 0x07;
    } else {
        return 0;
    }
    if (len <= need) {
        return 0;
    }
    for (size_t k = 1; k <= need; k++) {
        if ((s[k] & 0xC0) != 0x80) {
            return 0;
        }
        v = (v << 6) | (s[k] & 0x3F);
    }
    if ((need == 2 && (v < 0x800 || (v >= 0xD800 && v <= 0xDFFF))) ||
        (need == 3 && (v < 0x10000 || v > 0x10FFFF))) {
        return 0;
    }
    *cp = v;
    return need + 1;
}

bool utf8_valid(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        uint32_t cp;
        size_t n;
        if (s[i] < 0x80) { /* the common case, without a call */
            i++;
            continue;
        }
        if ((n = utf8_decode(s + i, len - i, &cp)) == 0) {
            return false;
        }
        i += n;
    }
    return true;
}

size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++) {
        n += ((unsigned char)*s & 0xC0) != 0x80;
    }
    return n;
}
