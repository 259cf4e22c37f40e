/* Fuzz target for the header text of the HTTP layer (server/base/hdr_text.c)
 * and the drive's name rule: the Content-Disposition of any download name,
 * the cleaning of a stored header value, the Origin comparison and the
 * portal folder's path rule. The first byte picks what the rest is fed to.
 * Never a crash, and every output keeps its promise:
 *   - hdr_disposition(): the measured length is the written length, the
 *     value has no CR, LF or NUL, its quoted fallback no '"' or '\', and
 *     the percent-decoded filename* is the name, byte for byte;
 *   - hdr_clean_text(): strict UTF-8 without control characters, within
 *     the buffer, and the whole input when the input was such text;
 *   - a valid drive name (svc_drive_name_valid) gives a disposition too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hdr_text.h"
#include "http.h"
#include "svc_drive.h"

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Build the disposition of "name" and check it (abort on a broken promise). */
static void check_disposition(const char *name)
{
    size_t want = hdr_disposition(name, NULL, 0), got, name_len = strlen(name), n = 0;
    char *out = malloc(want + 1), small[16];
    const char *fallback, *enc;
    if (out == NULL) {
        return;
    }
    got = hdr_disposition(name, out, want + 1);
    if (got != want || strlen(out) != want || want > 42 + 4 * name_len ||
        strpbrk(out, "\r\n") != NULL || strncmp(out, "attachment; filename=\"", 22) != 0) {
        abort();
    }
    /* A short buffer is cut, NUL-terminated, and told the full length. */
    if (hdr_disposition(name, small, sizeof small) != want || strlen(small) >= sizeof small) {
        abort();
    }
    fallback = out + 22;
    enc = strstr(fallback, "\"; filename*=UTF-8''");
    if (enc == NULL || memchr(fallback, '\\', (size_t)(enc - fallback)) != NULL ||
        memchr(fallback, '"', (size_t)(enc - fallback)) != NULL) {
        abort();
    }
    for (enc += 20; *enc != '\0'; enc++) {
        int c = (unsigned char)*enc;
        if (c == '%') {
            int hi = hexval(enc[1]), lo = hexval(enc[2]);
            if (hi < 0 || lo < 0) {
                abort();
            }
            c = hi * 16 + lo;
            enc += 2;
        }
        if (n >= name_len || (unsigned char)name[n] != c) {
            abort();
        }
        n++;
    }
    if (n != name_len) {
        abort();
    }
    free(out);
}

static void check_clean(const char *in, size_t len)
{
    char out[96];
    size_t n = hdr_clean_text(in, len, out, sizeof out), i = 0;
    bool plain = http_utf8_valid((const unsigned char *)in, len);
    if (n >= sizeof out || strlen(out) != n || !http_utf8_valid((const unsigned char *)out, n)) {
        abort();
    }
    for (i = 0; i < len && plain; i++) {
        unsigned char c = (unsigned char)in[i];
        plain = c >= 0x20 && c != 0x7f && !(c == 0xc2 && i + 1 < len &&
                                            (unsigned char)in[i + 1] < 0xa0);
    }
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)out[i];
        if (c < 0x20 || c == 0x7f || (c == 0xc2 && i + 1 < n && (unsigned char)out[i + 1] < 0xa0)) {
            abort();
        }
    }
    /* Clean text that fits is kept whole. */
    if (plain && len < sizeof out - 1 && (n != len || memcmp(out, in, len) != 0)) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text;
    const char *why = NULL;
    if (size == 0 || size > 4096) {
        return 0;
    }
    text = malloc(size);
    if (text == NULL) {
        return 0;
    }
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0'; /* up to the first NUL, as a C string */
    switch (data[0] % 4) {
    case 0:
        check_disposition(text);
        break;
    case 1:
        check_clean((const char *)data + 1, size - 1);
        break;
    case 2: {
        /* "origin\nhost\npublic url" */
        char *host = strchr(text, '\n'), *pub = NULL;
        if (host != NULL) {
            *host++ = '\0';
            if ((pub = strchr(host, '\n')) != NULL) {
                *pub++ = '\0';
            }
        }
        if (hdr_same_origin(text, host, pub) && strstr(text, "://") == NULL) {
            abort();
        }
        (void)hdr_static_path_ok(text);
        break;
    }
    default:
        if (svc_drive_name_valid(text, strlen(text), &why)) {
            check_disposition(text);
        } else if (why == NULL) {
            abort();
        }
        break;
    }
    free(text);
    return 0;
}
