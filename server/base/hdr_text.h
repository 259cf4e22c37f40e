/* Text for and from HTTP headers, without CivetWeb: the Content-Disposition
 * of a download, and the clean-up of a header value that is stored or
 * logged. Pure functions on caller buffers; thread-safe; fuzzed by
 * tests/fuzz/server/fuzz_hdr_text.c. */
#ifndef MTS_HDR_TEXT_H
#define MTS_HDR_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* The Content-Disposition value that offers "name" (any bytes up to its
 * NUL) as a download: `attachment; filename="<fallback>";
 * filename*=UTF-8''<percent-encoded name>` (RFC 6266, RFC 8187). The
 * fallback keeps printable ASCII but `"`, `\` and `%`, and puts one `_` for
 * each other character (a UTF-8 sequence counts once; a byte that is not
 * UTF-8 and every control character are one `_` each); the encoded form
 * keeps RFC 8187 attr-chars and percent-encodes every other byte.
 *
 * Writes at most "cap" bytes including a NUL into "out" (NULL with "cap" 0
 * only measures) and returns the length of the whole value without its
 * NUL, like snprintf(): the value was cut when the result is >= "cap". The
 * length is at most 42 + 4 * strlen(name) bytes. */
size_t hdr_disposition(const char *name, char *out, size_t cap);

/* Copy the header value "in" ("len" bytes; NULL = none) into "out" as text
 * fit to store and show: strict UTF-8 sequences are kept, every byte that
 * does not start one and every control character (C0, DEL, C1) becomes
 * U+FFFD, and the copy ends at a character boundary so that it fits
 * "cap" bytes with its NUL ("cap" >= 4). Returns the bytes written without
 * the NUL. */
size_t hdr_clean_text(const char *in, size_t len, char *out, size_t cap);

/* Whether the Origin header value "origin" names this server: its
 * scheme-less authority ("host[:port]") equals, case-insensitively, the
 * request's Host header "host" or the authority of "public_url" (the
 * portal's configured origin, e.g. "https://metron.example.com"; NULL =
 * none). "null", an origin with a path, or anything not http(s) is not. */
bool hdr_same_origin(const char *origin, const char *host, const char *public_url);

/* Whether a static file may be served for the decoded request path
 * "path": no empty segment ("//", which browsers read as another host in a
 * redirect), no backslash, no segment starting with ".", and a last
 * segment that has no extension (a folder) or one of the portal's kinds
 * (html, css, js, mjs, json, wasm, svg, png, jpg, webp, ico, woff2). */
bool hdr_static_path_ok(const char *path);

#endif
