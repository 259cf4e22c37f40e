/* The console's screens as an app sends them (C1; docs/console.md): one
 * message on metron/v1/app/{id}/up/console per screen, JSON
 *   {"model", "serial", "screen", "measuring", "interval_s", "intervals",
 *    "page", "pages", "answer"?: {"id", "ok", "message"}}
 * An app is outside input: console_msg_parse() bounds every member and
 * refuses anything else (tests/fuzz/server/fuzz_console_msg.c), and
 * console_msg_json() rebuilds the message from the checked fields only,
 * so that nothing an app sent reaches a browser unchecked. Pure functions,
 * thread-safe. */
#ifndef MTS_CONSOLE_MSG_H
#define MTS_CONSOLE_MSG_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#define CONSOLE_MSG_MAX 8192      /* the largest message read */
#define CONSOLE_SCREEN_MAX 4096   /* bytes of the screen text */
#define CONSOLE_SCREEN_LINES 24
#define CONSOLE_INTERVALS_MAX 32
#define CONSOLE_OP_ID_MAX 40
#define CONSOLE_ANSWER_MAX 300    /* bytes of an answer's sentence */

typedef struct {
    char model[33];
    char serial[65];
    char screen[CONSOLE_SCREEN_MAX + 1];
    bool measuring;
    int interval_s;
    int intervals[CONSOLE_INTERVALS_MAX];
    size_t n_intervals;
    int page, pages;
    bool has_answer;
    char answer_id[CONSOLE_OP_ID_MAX + 1];
    bool answer_ok;
    char answer_msg[CONSOLE_ANSWER_MAX + 1];
} console_msg;

/* Parse "len" bytes of "text" into "out". 0, or -1 with a sentence in
 * "err" ("cap" bytes): more than CONSOLE_MSG_MAX bytes, not JSON, nested
 * deeper than 4, an unknown member, a text that is not strict UTF-8 or
 * holds control characters (the screen may hold line feeds, at most
 * CONSOLE_SCREEN_LINES lines), a number out of its range (interval 1..86400
 * s, pages 1..1000, page 1..pages), an interval not in its list. */
int console_msg_parse(const char *text, size_t len, console_msg *out, char *err, size_t cap);

/* {"screen", "measuring", "interval_s", "intervals", "page", "pages"} of
 * "m" (caller owns; NULL when out of memory). */
cJSON *console_msg_screen_json(const console_msg *m);

/* {"id", "ok", "message"} of the answer of "m" (caller owns), NULL when it
 * has none or out of memory. */
cJSON *console_msg_answer_json(const console_msg *m);

/* Whether "s" is a console operation id as the server makes them (1 to
 * CONSOLE_OP_ID_MAX letters, digits and dashes). */
bool console_op_id_valid(const char *s);

#endif
