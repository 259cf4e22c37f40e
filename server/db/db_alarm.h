/* Storage of alarms (issue #13; docs/alarms.md, migration 016_alarms.sql):
 * alarm settings per measurement group, the evaluator's saved state, the
 * history of events, the per-group sequence that keeps each server
 * process's in-memory copy honest, the notices' once-only keys, and the
 * N1 inbox rows alarms write.
 *
 * libpq only: prepared statements with parameters; every statement filters
 * on the account id it is given. Answers for the API are JSON text built by
 * PostgreSQL; the rest are plain structs. */
#ifndef MTS_DB_ALARM_H
#define MTS_DB_ALARM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"

#define ALARM_DEST_MAX 20          /* destinations per rule (R8) */
#define ALARM_NAME_CAP (100 * 4 + 4) /* 100 characters of UTF-8 and the NUL */
#define ALARM_TEXT_CAP 260         /* a canonical rule text (core prints < 256) */

/* One alarm setting as stored. */
typedef struct {
    long long id;
    long long group_id;
    char name[ALARM_NAME_CAP];
    bool no_data;                  /* kind 'no_data' (else 'condition') */
    char rule_text[ALARM_TEXT_CAP]; /* condition: canonical core text; no_data: "" */
    int no_data_minutes;           /* no_data: 1..10080; else 0 */
    long long ch[2];               /* CH1, CH2 (0 = none) */
    bool enabled;
    char severity[8];              /* "alert" | "warning" */
    char language[8];              /* one of the seven */
    bool notify_clear;
    int repeat_minutes;            /* 0 = never */
    bool special_notice;
    bool check_files;
    long long dest[ALARM_DEST_MAX];
    int n_dest;
} db_alarm_rule;

/* Alarm "id" of the account into *out (*found false when there is none);
 * "lock" takes the row lock of its state row (alarm_state) for the rest of
 * the transaction. */
db_status db_alarm_get(db_conn *c, long long account_id, long long id, bool lock,
                       db_alarm_rule *out, bool *found);

/* Insert rule "r" (r->id ignored) with a fresh state whose last_t is
 * "now_us" (rows older than the rule are history), into *id. */
db_status db_alarm_insert(db_conn *c, long long account_id, const db_alarm_rule *r,
                          int64_t now_us, long long *id);

/* Write every definition column of rule r->id. */
db_status db_alarm_write(db_conn *c, long long account_id, const db_alarm_rule *r);

/* Delete rule "id" (its state goes with it; its events keep their copy of
 * the rule); *found false when there is none. */
db_status db_alarm_delete(db_conn *c, long long account_id, long long id, bool *found);

/* How many rules group "group_id" holds (P7). */
db_status db_alarm_count(db_conn *c, long long account_id, long long group_id, long long *n);

/* Move the group's sequence on (creating its alarm_groups row at 1). Every
 * change of a group's rules or saved states does it, in its transaction. */
db_status db_alarm_group_bump(db_conn *c, long long account_id, long long group_id);

/* Lock the group's alarm_groups row (FOR UPDATE) and read its sequence:
 * *seq 0 when the group has no row (no rule was ever made). */
db_status db_alarm_group_lock(db_conn *c, long long account_id, long long group_id,
                              long long *seq);

/* Move the sequence of the group (whose row the caller locked) on by one
 * and read it (*seq 0 when the group has no row). */
db_status db_alarm_group_next(db_conn *c, long long account_id, long long group_id,
                              long long *seq);

/* What the account knows of candidate channel "id". */
typedef struct {
    bool found;         /* a channel of this account */
    bool computed;      /* a computed channel (X1) */
    long long group_id; /* its group: the computed channel's, or its app's (0 = none) */
    long long app_id;   /* its app (measured channels), else 0 */
    char model[33];     /* its instrument's model, firmware and app kind ("" for a */
    char firmware[33];  /* computed channel): the supported-instrument table (I4) */
    char kind[16];      /* decides whether alarms are possible on it */
} db_alarm_channel;

db_status db_alarm_channels(db_conn *c, long long account_id, const long long *ids, int n,
                            db_alarm_channel *out);

/* Which of destinations "ids" exist in the account (notify_destinations,
 * R8): *missing = the first id that does not (0 = all exist). */
db_status db_alarm_destinations_check(db_conn *c, long long account_id, const long long *ids,
                                      int n, long long *missing);

/* The API's JSON object of rule "id" (caller frees; NULL when none), and
 * the JSON array of the rules of group "group_id" by id. */
db_status db_alarm_rule_json(db_conn *c, long long account_id, long long id, char **json);
db_status db_alarm_list_json(db_conn *c, long long account_id, long long group_id, char **json);

/* Reset the saved state of rule "rule_id" to a fresh evaluator whose
 * last_t is "now_us"; when the rule was raised, its occurrence is closed by
 * a clear event with "cause" ("rule_changed", "rule_disabled",
 * "rule_deleted"), never notified; *closed = that event's id (0 = none). */
db_status db_alarm_state_reset(db_conn *c, long long account_id, long long rule_id,
                               const char *cause, int64_t now_us, long long *closed);

/* The notice settings of a group (R7, S6). */
typedef struct {
    bool disconnect_notice;
    int disconnect_minutes;
    char notice_language[8];  /* "" = each recipient's own */
    long long dest[ALARM_DEST_MAX];
    int n_dest;
} db_alarm_settings;

/* The group's settings as JSON (the defaults when it has no row). */
db_status db_alarm_settings_json(db_conn *c, long long account_id, long long group_id,
                                 char **json);

/* Write the group's settings (its alarm_groups row is created when
 * missing; the sequence does not move: no rule changes). */
db_status db_alarm_settings_put(db_conn *c, long long account_id, long long group_id,
                                const db_alarm_settings *s);

/* ------------------------------------------------------------ evaluation */

/* A rule with its saved state, as the evaluator loads it. */
typedef struct {
    long long id;
    bool no_data;
    char rule_text[ALARM_TEXT_CAP];
    int no_data_minutes;
    long long ch[2];
    bool computed;        /* CH1 is a computed channel */
    bool special_notice;
    bool check_files;     /* R6: uploaded files are checked too */
    bool has_state;       /* state[] holds a saved state (else fresh) */
    unsigned char state[40];
    bool raised;
    long long open_event_id;
    int64_t last_t;       /* 0 = none */
    int64_t last_data_t;  /* 0 = none */
} db_alarm_live;

/* The enabled rules of group "group_id" over measured channels (computed:
 * false), or over computed channels (computed: true), with their states,
 * and the group's sequence (*seq 0 when it has no row), all from one
 * snapshot. *out: malloc'd (caller frees), NULL when none. "lock" takes the
 * state rows' locks (FOR UPDATE). */
db_status db_alarm_load_group(db_conn *c, long long account_id, long long group_id,
                              bool computed, bool lock, long long *seq, db_alarm_live **out,
                              int *n);

/* The enabled condition rules whose CH1 is the computed channel "ch", with
 * their states, locked (FOR UPDATE) for the transaction. */
db_status db_alarm_load_computed(db_conn *c, long long account_id, int64_t ch,
                                 db_alarm_live **out, int *n);

/* One saved state to write. */
typedef struct {
    long long rule_id;
    bool has_state;
    unsigned char state[40];
    bool raised;
    long long open_event_id;
    int64_t last_t;
    int64_t last_data_t;
} db_alarm_state_row;

/* Write "n" saved states in one statement. */
db_status db_alarm_save_states(db_conn *c, long long account_id, const db_alarm_state_row *rows,
                               int n);

/* An event to record. */
typedef struct {
    long long rule_id;
    const char *kind;  /* "raise", "clear", "special", "special_end" */
    const char *cause; /* "data", "silence", "file", ... */
    bool late;
    int64_t t;
    double v[2];       /* core's values (special values as NaN boxes) */
    bool has_v2;       /* the rule has a CH2 */
    int slot;          /* special events: 1 or 2; else 0 */
    int special;       /* special events: the kind (mt_sv); else 0 */
    long long raise_id; /* clear: the raise it ends (0 = none) */
    long long file_id;  /* R6: the drive item (0 = none) */
    const char *file_name; /* R6: or NULL */
} db_alarm_event_in;

/* Record event "ev" (the rule's name, text, severity and channel names as
 * they are now are copied into it; a clear closes its raise). *id = the
 * new event. */
db_status db_alarm_event_insert(db_conn *c, long long account_id, const db_alarm_event_in *ev,
                                long long *id);

/* What a message about event "id" says, in the event's words. Strings are
 * in fixed buffers. */
typedef struct {
    long long id;
    long long group_id;
    long long rule_id;
    char kind[16];
    char cause[16];
    bool late;
    char group_name[ALARM_NAME_CAP];
    char rule_name[ALARM_NAME_CAP];
    char rule_text[304];
    char severity[8];
    char language[8];     /* the rule's (R7) */
    bool notify_clear;
    bool special_notice;
    int repeat_minutes;
    long long dest[ALARM_DEST_MAX];
    int n_dest;
    char ch_name[2][ALARM_NAME_CAP];
    char ch_unit[2][68];
    int n_ch;
    double v[2];          /* NaN-boxed specials as core's */
    int slot, special;
    char local_time[40];  /* "2026-12-04 20:01:05" in the account's time zone */
    int utc_offset;       /* seconds east of UTC of the account's zone at t (DST included) */
    int64_t t;
    int repeats;
    char file_name[256];
    long long raise_id;
} db_alarm_event_msg;

db_status db_alarm_event_msg_get(db_conn *c, long long account_id, long long id,
                                 db_alarm_event_msg *out, bool *found);

/* ---------------------------------------------------------------- events */

/* A filter of the event list; 0 / NULL members do not filter. */
typedef struct {
    long long group_id;
    long long rule_id;
    long long channel_id;
    const char *kind;     /* "raise", "clear", "special", "special_end" */
    const char *state;    /* "raised" (open raises), "cleared" (closed raises) */
    int acked;            /* -1 any, 0 not acknowledged, 1 acknowledged */
    int late;             /* -1 any, 0 live, 1 history (late or file) */
    bool has_from, has_to;
    int64_t from, to;     /* sample time, µs: from <= t < to */
    long long before;     /* id < before (0: from the newest) */
    int limit;
} db_alarm_filter;

/* The events "viewer" may see (0: an administrator, every event of the
 * account; else the events of the groups granted to that user) matching
 * "f", newest first, as the API's {"items": [...], "next_before": id|null}
 * JSON text (*json, caller frees). */
db_status db_alarm_events_json(db_conn *c, long long account_id, long long viewer,
                               const db_alarm_filter *f, char **json);

/* One event as JSON (NULL when the viewer may not see it or there is none). */
db_status db_alarm_event_json(db_conn *c, long long account_id, long long viewer,
                              long long id, char **json);

/* The group of event "id" (*found false when none; *group_id 0 when its
 * group was deleted). */
db_status db_alarm_event_group(db_conn *c, long long account_id, long long id,
                               long long *group_id, bool *found);

/* Acknowledge raise or special event "id" by user "user_id" with
 * "comment" (may be NULL). *done false when it is not a raise or special
 * event or is already acknowledged (*already true then). */
db_status db_alarm_event_ack(db_conn *c, long long account_id, long long id, long long user_id,
                             const char *comment, bool *done, bool *already);

/* The currently raised alarms "viewer" may see (of group "group_id", 0 =
 * every group), newest first, at most "limit": a JSON array. */
db_status db_alarm_active_json(db_conn *c, long long account_id, long long viewer,
                               long long group_id, int limit, char **json);

/* The panel summary of group "group_id" (docs/alarms.md) as JSON. */
db_status db_alarm_summary_json(db_conn *c, long long account_id, long long group_id,
                                char **json);

/* ------------------------------------------------ temporary login (A8) */

/* For each of destinations "dest" ("n"): the user of the account whose
 * e-mail address it is (an enabled e-mail destination), else 0. */
db_status db_alarm_dest_users(db_conn *c, long long account_id, const long long *dest, int n,
                              long long *users);

/* Store a temporary login of user "user_id" for event "event_id": the
 * SHA-256 "hash" of its secret, valid until "expires_us". */
db_status db_temp_login_insert(db_conn *c, long long account_id, long long user_id,
                               const unsigned char hash[32], long long event_id,
                               int64_t expires_us);

/* The temporary login of secret hash "hash" still valid at "now_us", of an
 * enabled user of an active account: *found, its account, user, event and
 * expiry (Unix seconds). Marks it used. */
db_status db_temp_login_redeem(db_conn *c, const unsigned char hash[32], int64_t now_us,
                               long long *account_id, long long *user_id, long long *event_id,
                               int64_t *expires_s, bool *found);

/* A view-only session (sessions.view_only) of the user until "expires_s"
 * (Unix seconds) for cookie hash "hash" and CSRF hash "csrf_hash". */
db_status db_temp_session_insert(db_conn *c, long long account_id, long long user_id,
                                 const unsigned char hash[32], const unsigned char csrf_hash[32],
                                 int64_t now_s, int64_t expires_s, const char *ip,
                                 const char *user_agent, long long *session_id);

/* Delete up to "limit" temporary logins that ended before "now" (Unix
 * seconds); *n = how many (a jobs_sql() job). */
db_status db_temp_logins_sweep(db_conn *c, int64_t now, long long *n);

/* ----------------------------------------------------------------- inbox */

/* N1: one inbox row for every user who can see group "group_id"
 * (administrators, and members granted view or edit directly or through a
 * team; group 0: administrators only), with the title and body in the
 * user's language (else the account's): langs[i] / titles[i] / bodies[i]
 * for the "n" languages given. "data" is a JSON object text. *rows = rows
 * written. */
db_status db_alarm_inbox(db_conn *c, long long account_id, long long group_id, const char *kind,
                         const char *const *langs, const char *const *titles,
                         const char *const *bodies, int n, const char *data, long long *rows);

#endif
