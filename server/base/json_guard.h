/* A bounded check of client JSON before a recursive parser sees it.
 *
 * cJSON parses arrays and objects by recursion, one set of frames per level,
 * up to its compiled-in limit of 1,000 levels: far more than a CivetWeb
 * worker's fixed 100 KiB stack holds (about 800 nested '[' overflowed it).
 * Every JSON text that comes from outside -- request bodies, ingestion
 * batches -- goes through json_guard() first, which walks the text once,
 * without recursion or allocation, and refuses it when it nests deeper than
 * JSON_MAX_DEPTH or carries an escaped NUL (\u0000) inside a string, which
 * cJSON would accept and silently cut the string at. */
#ifndef MTS_JSON_GUARD_H
#define MTS_JSON_GUARD_H

#include <stddef.h>

/* The deepest nesting of arrays and objects any request body may have (the
 * documented limit, docs/server.md "HTTP"). Metron's own bodies nest at most
 * 5 levels; a cJSON level costs about 130 bytes of stack, so 32 levels stay
 * under 5 KiB. */
#define JSON_MAX_DEPTH 32

typedef enum {
    JSON_GUARD_OK = 0,
    JSON_GUARD_DEEP = -1, /* nests deeper than the limit */
    JSON_GUARD_NUL = -2   /* a string holds \u0000 */
} json_guard_status;

/* Check "text" ("len" bytes, need not be NUL-terminated) against
 * "max_depth" levels of nesting and escaped NULs in strings. On a refusal
 * "*at" (when not NULL) is the byte offset of the opening bracket one level
 * too deep, or of the backslash of the escape. Whatever else is wrong with
 * the text is left to the parser (an unterminated string simply ends the
 * walk). Thread-safe; O(len); no allocation. */
json_guard_status json_guard(const char *text, size_t len, int max_depth, size_t *at);

/* The sentence a client gets for a refusal of json_guard() (never NULL). */
const char *json_guard_message(json_guard_status st);

#endif
