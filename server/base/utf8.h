/* Strict UTF-8, as JSON bodies and names must be: no overlong forms, no
 * surrogates, nothing above U+10FFFF. One decoder for the whole server. */
#ifndef MTS_UTF8_H
#define MTS_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Decode the character at "s" ("len" bytes available, len >= 1) into *cp.
 * Returns its length in bytes (1..4), or 0 when "s" does not start with a
 * valid character (truncated, overlong, surrogate, above U+10FFFF). */
size_t utf8_decode(const unsigned char *s, size_t len, uint32_t *cp);

/* Whether "len" bytes at "s" are strict UTF-8. */
bool utf8_valid(const unsigned char *s, size_t len);

/* The count of characters of a NUL-terminated string that is valid UTF-8. */
size_t utf8_chars(const char *s);

#endif
