/* Text for and from HTTP headers (hdr_text.h). */
#include "hdr_text.h"

#include "utf8.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

/* Whether RFC 8187 leaves byte "c" unencoded (attr-char). */
static bool attr_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$&+-.^_`|~", c) != NULL);
}

/* Append "c" to out[*n] when it fits before the NUL; always count it. */
static void put(char *out, size_t cap, size_t *n, char c)
{
    if (*n + 1 < cap) {
        out[*n] = c;
    }
    (*n)++;
}

static void put_str(char *out, size_t cap, size_t *n, const char *s)
{
    for (; *s != '\0'; s++) {
        put(out, cap, n, *s);
    }
}

size_t hdr_disposition(const char *name, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *p = (const unsigned char *)name;
    size_t len = strlen(name), n = 0, i = 0;

    put_str(out, cap, &n, "attachment; filename=\"");
    while (i < len) {
        uint32_t cp = 0;
        size_t k = utf8_decode(p + i, len - i, &cp);
        if (k == 1 && cp >= 0x20 && cp < 0x7F && cp != '"' && cp != '\\' && cp != '%') {
            put(out, cap, &n, (char)cp);
        } else {
            put(out, cap, &n, '_'); /* one per character, or per stray byte */
        }
        i += k > 0 ? k : 1;
    }
    put_str(out, cap, &n, "\"; filename*=UTF-8''");
    for (i = 0; i < len; i++) {
        if (attr_char(p[i])) {
            put(out, cap, &n, (char)p[i]);
        } else {
            put(out, cap, &n, '%');
            put(out, cap, &n, hex[p[i] >> 4]);
            put(out, cap, &n, hex[p[i] & 15]);
        }
    }
    if (cap > 0) {
        out[n < cap ? n : cap - 1] = '\0';
    }
    return n;
}

size_t hdr_clean_text(const char *in, size_t len, char *out, size_t cap)
{
    static const char replacement[] = "\xEF\xBF\xBD"; /* U+FFFD */
    const unsigned char *p = (const unsigned char *)in;
    size_t n = 0, i = 0;

    if (cap == 0) {
        return 0;
    }
    while (in != NULL && i < len) {
        uint32_t cp = 0;
        size_t k = utf8_decode(p + i, len - i, &cp);
        const char *src = (const char *)p + i;
        size_t src_len = k;
        if (k == 0 || cp < 0x20 || (cp >= 0x7F && cp <= 0x9F)) {
            src = replacement;
            src_len = sizeof replacement - 1;
        }
        if (n + src_len + 1 > cap) {
            break; /* the next character does not fit whole */
        }
        memcpy(out + n, src, src_len);
        n += src_len;
        i += k > 0 ? k : 1;
    }
    out[n] = '\0';
    return n;
}

/* The authority of "url" ("scheme://authority[/...]") into out; false
 * when "url" is not http(s). "path_ok": a path after it is allowed. */
static bool url_authority(const char *url, bool path_ok, char *out, size_t cap)
{
    const char *a, *end;
    size_t len;
    if (strncasecmp(url, "http://", 7) == 0) {
        a = url + 7;
    } else if (strncasecmp(url, "https://", 8) == 0) {
        a = url + 8;
    } else {
        return false;
    }
    end = a + strcspn(a, "/?#");
    if (*end != '\0' && !path_ok) {
        return false;
    }
    len = (size_t)(end - a);
    if (len == 0 || len >= cap) {
        return false;
    }
    memcpy(out, a, len);
    out[len] = '\0';
    return true;
}

bool hdr_same_origin(const char *origin, const char *host, const char *public_url)
{
    char want[256], have[256];
    if (origin == NULL || !url_authority(origin, false, have, sizeof have)) {
        return false;
    }
    if (host != NULL && strcasecmp(have, host) == 0) {
        return true;
    }
    return public_url != NULL && url_authority(public_url, true, want, sizeof want) &&
           strcasecmp(have, want) == 0;
}

bool hdr_static_path_ok(const char *path)
{
    static const char *const kinds[] = {"html", "css", "js", "mjs", "json", "wasm", "svg",
                                        "png", "jpg", "webp", "ico", "woff2", NULL};
    const char *last, *dot;
    if (path == NULL || path[0] != '/' || strstr(path, "//") != NULL ||
        strchr(path, '\\') != NULL || strstr(path, "/.") != NULL) {
        return false;
    }
    last = strrchr(path, '/') + 1;
    dot = strrchr(last, '.');
    if (dot == NULL) {
        return true; /* a folder (or the root): CivetWeb finds its index or refuses */
    }
    for (const char *const *k = kinds; *k != NULL; k++) {
        if (strcasecmp(dot + 1, *k) == 0) {
            return true;
        }
    }
    return false;
}
