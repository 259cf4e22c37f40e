/* The console of a simulated instrument (C1, C2; docs/console.md): the text
 * screen the instrument would show and the operations a person carries out
 * on it from the browser, relayed by the server over the app's MQTTS
 * connection (metron/v1/app/{id}/down/console in, up/console out).
 *
 * An operation comes from the server, which is outside input: the parser
 * bounds every member (tests/fuzz/gateway/fuzz_gw_console.c). A screen is
 * built by gw_console_screen() and sent as one JSON message of at most
 * GW_CONSOLE_MSG_MAX bytes. Pure functions: no state, no allocation except
 * the message text the caller frees. */
#ifndef GW_CONSOLE_H
#define GW_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim.h"

/* The largest operation read, the largest screen message sent. */
#define GW_CONSOLE_OP_MAX 1024
#define GW_CONSOLE_MSG_MAX 8192
/* Channel values on one page of the screen. */
#define GW_CONSOLE_PAGE_ROWS 8
#define GW_CONSOLE_ID_MAX 40
#define GW_CONSOLE_ANSWER_MAX 200

typedef enum {
    GW_CON_WATCH = 1, /* send the screen now and whenever it changes, for a minute */
    GW_CON_START,     /* start measuring */
    GW_CON_STOP,      /* stop measuring */
    GW_CON_RESTART,   /* stop, then start a new measurement (C2) */
    GW_CON_INTERVAL,  /* set the recording interval to "interval_s" */
    GW_CON_PAGE_UP,   /* the previous page of channel values */
    GW_CON_PAGE_DOWN  /* the next page */
} gw_console_kind;

typedef struct {
    gw_console_kind kind;
    char id[GW_CONSOLE_ID_MAX + 1];     /* the server's id of the operation ("" for watch) */
    char model[GW_MODEL_MAX + 1];
    char serial[GW_SERIAL_MAX + 1];
    int interval_s;                     /* GW_CON_INTERVAL: one of gw_console_intervals() */
} gw_console_op;

/* Parse an operation {"op": "watch" | "start" | "stop" | "restart" |
 * "interval" | "page_up" | "page_down", "model", "serial", "id"?,
 * "interval_s"?} of "len" bytes (at most GW_CONSOLE_OP_MAX) into "out". 0,
 * or -1 with a sentence in "err" (nothing else is trusted: unknown members,
 * an interval off the list, an id of other characters than A-Z a-z 0-9 -
 * are refused). */
int gw_console_parse(const char *text, size_t len, gw_console_op *out, char *err,
                     size_t err_cap);

/* The recording intervals an instrument offers (seconds, ascending) and
 * their count; gw_console_interval_ok() says whether "s" is one. */
const int *gw_console_intervals(size_t *n);
bool gw_console_interval_ok(int s);

/* What an instrument's console shows besides its identity. */
typedef struct {
    bool measuring;
    int64_t started_s;   /* when the current (or last) measurement started, s since 1970 */
    int64_t run;         /* measurements started since the gateway started (1 = the first) */
    int interval_s;
    size_t page;         /* 0-based page of channel values */
    const char *busy;    /* a sentence while the instrument cannot be operated, or NULL */
} gw_console_view;

/* The number of pages of channel values of "ins" (at least 1). */
size_t gw_console_pages(const gw_instrument *ins);

/* The screen of "ins" at "now_s" as lines of text (at most 16 lines of at
 * most 60 characters; channel names cut to fit) into "out" ("cap" bytes,
 * NUL-terminated, cut at a line when too small); "values" holds the values of
 * its channels at the last sampling instant (core's special values allowed).
 * Returns the length written. */
size_t gw_console_screen(const gw_instrument *ins, const gw_console_view *v,
                         const double *values, int64_t now_s, char *out, size_t cap);

/* The message sent on up/console: {"model", "serial", "screen", "measuring",
 * "interval_s", "intervals", "page", "pages", "answer"?: {"id", "ok",
 * "message"}} (caller frees; NULL when out of memory or longer than
 * GW_CONSOLE_MSG_MAX). "answer_id" NULL: no answer in this message. */
char *gw_console_message(const gw_instrument *ins, const gw_console_view *v, const char *screen,
                         const char *answer_id, bool answer_ok, const char *answer_msg,
                         size_t *len);

#endif
