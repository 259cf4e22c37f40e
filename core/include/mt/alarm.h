/* Metron core: alarm rules and their streaming evaluator (R2-R5, R7).
 *
 * A rule is one or two channel conditions joined by AND/OR, a raise filter
 * and a clear filter (how long the condition must hold, or stay false, before
 * the alarm state changes), an optional hysteresis, and an optional
 * time-of-day window in a fixed UTC offset (or its complement, OFFHOURS).
 * Rules have a compact text form that both the server and the browser pass
 * around; docs/alarm.md gives the grammar and the exact semantics:
 *
 *     CH1 > 30 AND CH2 <= 5 FOR 60s CLEAR 120s DURING 08:00-18:00 TZ +08:00
 *     CH1 OUTSIDE [10, 20] HYST 0.5
 *
 * mt_alarm_rule is plain data (transparent): mt_alarm_parse() fills one,
 * mt_alarm_print() turns one back into canonical text, mt_alarm_rule_check()
 * validates one built by hand. mt_alarm is the opaque evaluator: it takes
 * samples as rows (t, v1, v2) in non-decreasing time order across any number
 * of mt_alarm_feed() calls, writes raise/clear/special-value events into a
 * caller buffer, and its state can be saved to a small versioned byte blob
 * and restored (the server keeps it between batches).
 *
 * Thread safety: the functions keep no global state; one mt_alarm must not be
 * used by two threads at the same time. */
#ifndef MT_ALARM_H
#define MT_ALARM_H

#include <stddef.h>
#include <stdint.h>

#include "mt/status.h"
#include "mt/types.h"

/* Limits, checked by the parser and by mt_alarm_rule_check(). */
#define MT_ALARM_TEXT_MAX 1024 /* longest rule text accepted, in bytes */
#define MT_ALARM_PRINT_MAX 256 /* a buffer this size always holds a printed rule */
#define MT_ALARM_VALUE_MAX 1e300 /* |threshold| and HYST are at most this */
#define MT_ALARM_FILTER_MAX (INT64_C(7) * MT_US_PER_DAY) /* FOR/CLEAR at most 7 days */
#define MT_ALARM_OFFSET_MAX (14 * 60) /* |TZ| at most 14:00, in minutes */

/* The comparison of one channel condition. The numbering is part of the JS
 * binding: never renumber. */
typedef enum {
    MT_ALARM_GT = 1,       /* v > a */
    MT_ALARM_GE = 2,       /* v >= a */
    MT_ALARM_LE = 3,       /* v <= a */
    MT_ALARM_LT = 4,       /* v < a */
    MT_ALARM_OUT_INCL = 5, /* OUTSIDE [a, b]: v <= a or v >= b (thresholds included) */
    MT_ALARM_OUT_EXCL = 6  /* OUTSIDE (a, b): v < a or v > b (thresholds excluded) */
} mt_alarm_op;

/* How two conditions combine. A one-condition rule has MT_ALARM_SINGLE. */
typedef enum { MT_ALARM_SINGLE = 0, MT_ALARM_AND = 1, MT_ALARM_OR = 2 } mt_alarm_join;

/* One channel condition. "channel" is the slot, 1 (CH1) or 2 (CH2); the
 * server binds slots to channel ids. "b" is used by the OUTSIDE operators
 * only (a < b) and is 0 otherwise. */
typedef struct {
    int channel;
    mt_alarm_op op;
    double a;
    double b;
} mt_alarm_cond;

/* A rule. Filters are microseconds, whole seconds, 0..MT_ALARM_FILTER_MAX.
 * "hyst" >= 0 moves each threshold toward the safe side while the alarm is
 * raised. The window is active from minute "window_start" (inclusive) to
 * "window_end" (exclusive) of the day in UTC offset "utc_offset_min";
 * start > end crosses midnight, start == end is all day. "offhours" makes
 * the rule active outside the window instead (needs start != end). Without
 * a window, has_window, window_start, window_end and offhours are 0. */
typedef struct {
    int n_conds; /* 1 or 2 */
    mt_alarm_join join;
    mt_alarm_cond cond[2];
    mt_time raise_filter;
    mt_time clear_filter;
    double hyst;
    int has_window;
    int window_start; /* minute of the day, 0..1439 */
    int window_end;   /* minute of the day, 0..1439 */
    int offhours;
    int utc_offset_min; /* -840..840 */
} mt_alarm_rule;

/* Parse the rule text "text" ("len" bytes, need not be NUL-terminated) into
 * "*out". Keywords are case-insensitive; see docs/alarm.md for the grammar.
 * On failure "*out" is zeroed and "err" holds the byte offset in "text" where
 * the problem was found. Errors: MT_EINVAL (NULL pointer), MT_ELIMIT (text
 * longer than MT_ALARM_TEXT_MAX), MT_ESYNTAX (not the grammar), MT_ERANGE (a
 * number, time, duration or offset out of its range, or an inconsistent rule
 * such as an empty range or a HYST that would never let the alarm clear).
 * Does not allocate. */
mt_status mt_alarm_parse(const char *text, size_t len, mt_alarm_rule *out,
                         mt_error *err) MT_MUSTCHECK;

/* Check that "rule" is valid (what mt_alarm_parse() guarantees for its
 * output). Errors: MT_EINVAL (NULL), MT_ERANGE (with a message naming the
 * field; err->pos is 0). */
mt_status mt_alarm_rule_check(const mt_alarm_rule *rule, mt_error *err) MT_MUSTCHECK;

/* Print "rule" in canonical text form into the caller's "buf" of "cap" bytes,
 * NUL-terminated. "*out_len" (may be NULL) receives the text length without
 * the NUL. Parsing the output gives back the same rule. Errors: MT_EINVAL
 * (NULL pointer, or an invalid rule as by mt_alarm_rule_check()),
 * MT_ENOSPACE (cap <= length; *out_len holds the length needed, without
 * the NUL). MT_ALARM_PRINT_MAX bytes are always enough. */
mt_status mt_alarm_print(const mt_alarm_rule *rule, char *buf, size_t cap, size_t *out_len,
                         mt_error *err) MT_MUSTCHECK;

/* ---- evaluator ---------------------------------------------------------- */

typedef struct mt_alarm mt_alarm;

typedef enum {
    MT_ALARM_EV_RAISE = 1,      /* the alarm was raised at "t" */
    MT_ALARM_EV_CLEAR = 2,      /* the alarm cleared at "t" */
    MT_ALARM_EV_SPECIAL = 3,    /* "channel" entered special kind "special" at "t" */
    MT_ALARM_EV_SPECIAL_END = 4 /* "channel" returned to numbers at "t"; "special" is
                                 * the kind that ended */
} mt_alarm_event_kind;

/* One event. "row" is the index of the row in the arrays of the
 * mt_alarm_feed() call that produced it. "v" holds the row's values of CH1
 * and CH2 (mt_sv_value(MT_SV_MISSING) for a slot the rule does not use).
 * "channel" is 1 or 2 for special-value events and 0 otherwise; "special" is
 * MT_SV_NONE for raise and clear. */
typedef struct {
    mt_alarm_event_kind kind;
    int channel;
    mt_sv special;
    size_t row;
    mt_time t;
    double v[2];
} mt_alarm_event;

/* One row never produces more than this many events, so an event buffer of
 * at least this size always lets mt_alarm_feed() make progress. */
#define MT_ALARM_EVENTS_MIN 3

/* The size in bytes of a saved state (format version 1). */
#define MT_ALARM_STATE_SIZE 40

/* Create an evaluator for "rule" (copied; the caller keeps its own). On
 * success "*out" is set and the caller owns it (free with mt_alarm_free()).
 * On failure "*out" is NULL and nothing leaks. Errors: MT_EINVAL (NULL
 * pointer, invalid rule), MT_ENOMEM. */
mt_status mt_alarm_new(const mt_alarm_rule *rule, mt_alarm **out, mt_error *err) MT_MUSTCHECK;

/* Free "a" (NULL is allowed). */
void mt_alarm_free(mt_alarm *a);

/* Forget all rows fed: the alarm is not raised, nothing is pending, no
 * channel is in a special run and any time may come next. */
void mt_alarm_reset(mt_alarm *a);

/* Whether the alarm is currently raised (0 or 1). */
int mt_alarm_is_raised(const mt_alarm *a);

/* Feed "n_rows" rows: times "t" (non-decreasing, and not earlier than the
 * last row of earlier calls), CH1 values "v1" and CH2 values "v2". An array
 * for a slot the rule does not use may be NULL and is not read.
 *
 * Events are written to the caller's "events" ("events_cap" >=
 * MT_ALARM_EVENTS_MIN entries) in order; "*n_events" receives their number
 * and "*n_consumed" the number of rows processed. Returns:
 *   MT_OK       every row was processed (*n_consumed == n_rows);
 *   MT_ENOSPACE the buffer filled up: rows [0, *n_consumed) were processed
 *               (and their events are in "events"), the rest were not; call
 *               again with the arrays advanced by *n_consumed. At least one
 *               event is returned, so a loop always makes progress;
 *   MT_EORDER   row err->pos is earlier than the row before it: nothing was
 *               changed by this call (*n_events == *n_consumed == 0);
 *   MT_EINVAL   NULL pointer, a used slot's array NULL with n_rows > 0, or
 *               events_cap < MT_ALARM_EVENTS_MIN; nothing changed. */
mt_status mt_alarm_feed(mt_alarm *a, const mt_time *t, const double *v1, const double *v2,
                        size_t n_rows, mt_alarm_event *events, size_t events_cap,
                        size_t *n_events, size_t *n_consumed, mt_error *err) MT_MUSTCHECK;

/* Save the state of "a" into the caller's "buf" of "cap" bytes (a versioned
 * little-endian blob of MT_ALARM_STATE_SIZE bytes, bound to the rule: see
 * docs/alarm.md). "*out_len" (may be NULL) receives the size. Errors:
 * MT_EINVAL (NULL), MT_ENOSPACE (cap too small; *out_len holds the size). */
mt_status mt_alarm_save(const mt_alarm *a, uint8_t *buf, size_t cap, size_t *out_len,
                        mt_error *err) MT_MUSTCHECK;

/* Restore the state of "a" from "buf" ("len" bytes) written by
 * mt_alarm_save() for the same rule. The blob is checked strictly; on any
 * error "a" is unchanged and err->pos is the offending byte offset. Errors:
 * MT_EINVAL (NULL pointer, or the state belongs to a different rule),
 * MT_ETRUNC (too short), MT_EFORMAT (not an alarm state), MT_EVERSION
 * (another format version), MT_ECHECKSUM, MT_ECORRUPT (wrong length or
 * impossible field values). */
mt_status mt_alarm_restore(mt_alarm *a, const uint8_t *buf, size_t len,
                           mt_error *err) MT_MUSTCHECK;

#endif
