/* Alarm settings (R1-R7, P7; docs/alarms.md): who may read and change the
 * rules of a measurement group, what a rule may say, the plan's limit of
 * rules per group, and what a change does to the rule's state.
 *
 * Reading needs access to the group (administrators: every group; members:
 * a 'view' or 'edit' grant, directly or through a team); changing needs
 * 'edit'. A group or rule the user may not see is SVC_NOT_FOUND, one they
 * may only view SVC_FORBIDDEN. Every change is one transaction with its
 * audit entry ("alarm.create", "alarm.update", "alarm.copy",
 * "alarm.delete") and moves the group's sequence on, so that every server
 * process evaluates the next batch with the rules as they now are.
 *
 * State after a change: a change of what the rule watches (kind, rule
 * text, no-data minutes, channels) or disabling it starts the evaluator
 * afresh; an alarm raised at that moment is closed by a clear event
 * (cause rule_changed / rule_disabled / rule_deleted) that is recorded but
 * never notified. Other settings (name, severity, language, notification
 * options, destinations) keep the state. */
#ifndef MTS_SVC_ALARM_H
#define MTS_SVC_ALARM_H

#include <stdbool.h>

#include "db_alarm.h"
#include "svc.h"

#define ALARM_NAME_MAX_CHARS 100
#define ALARM_NO_DATA_MAX_MIN 10080 /* a week */
#define ALARM_REPEAT_MAX_MIN 10080

/* A definition as the API gives it: NULL strings and the "has_" flags
 * false are "not given" (keep, on an edit). Tri-state flags: -1 not given,
 * 0 false, 1 true. */
typedef struct {
    const char *name;
    const char *kind;       /* "condition" | "no_data" */
    const char *rule;       /* core's rule text (any spelling; stored canonical) */
    bool has_no_data_minutes;
    int no_data_minutes;
    bool has_channels;
    long long channels[2];
    int n_channels;         /* 1 or 2 */
    int enabled;
    const char *severity;   /* "alert" | "warning" */
    const char *language;   /* one of the seven */
    int notify_clear;
    bool has_repeat;
    int repeat_minutes;
    int special_notice;
    int check_files;
    bool has_destinations;
    long long destinations[ALARM_DEST_MAX];
    int n_destinations;
} svc_alarm_def;

/* Failures: svc.h's svc_error. A rule text core does not accept is
 * SVC_INVALID with code "rule_error", field "rule", has_pos and the byte
 * offset "pos" (the HTTP layer answers 400 rule_error with "position"). */

/* The rules of group "group_id" as {"items": [...], "total": n, "quota":
 * {"id": "P7", "limit": n, "used": n}} JSON text (*json, caller frees). */
MT_MUSTCHECK
svc_status svc_alarm_list(const svc_actor *a, long long group_id, char **json, svc_error *e);

/* Rule "id" as a JSON object (*json, caller frees). */
MT_MUSTCHECK
svc_status svc_alarm_get(const svc_actor *a, long long id, char **json, svc_error *e);

/* Create a rule in group "group_id" from "d" (name, and rule + channels or
 * kind no_data + no_data_minutes + channels, are required); *id = the new
 * rule. P7 is checked with the account row locked. */
MT_MUSTCHECK
svc_status svc_alarm_create(const svc_actor *a, long long group_id, const svc_alarm_def *d,
                            long long *id, svc_error *e);

/* Change rule "id": the given members, checked together with the kept
 * ones. */
MT_MUSTCHECK
svc_status svc_alarm_update(const svc_actor *a, long long id, const svc_alarm_def *d,
                            svc_error *e);

/* Copy rule "id" into its group as a new rule named "name" (NULL: the
 * source's name + " (copy)"); P7 is checked. */
MT_MUSTCHECK
svc_status svc_alarm_copy(const svc_actor *a, long long id, const char *name, long long *new_id,
                          svc_error *e);

/* Delete rule "id" (its history stays, with the rule as it was). */
MT_MUSTCHECK
svc_status svc_alarm_delete(const svc_actor *a, long long id, svc_error *e);

/* ---------------------------------------------------------------- events
 * (svc_alarm_events.c). Administrators see every event of the account;
 * members the events of the groups they may view (an event whose group was
 * deleted: administrators only). */

#define ALARM_ACK_COMMENT_MAX_CHARS 1000
#define ALARM_ACTIVE_MAX (5 * 100) /* raised alarms per answer */

/* Events matching "f" (f->limit 1..200) as {"items", "next_before"}. */
MT_MUSTCHECK
svc_status svc_alarm_events(const svc_actor *a, const db_alarm_filter *f, char **json,
                            svc_error *e);

/* Event "id" as JSON. */
MT_MUSTCHECK
svc_status svc_alarm_event(const svc_actor *a, long long id, char **json, svc_error *e);

/* Acknowledge raise or special event "id" with "comment" (NULL: none): who
 * and when are recorded, with an audit entry "alarm.ack". SVC_CONFLICT
 * "already_acknowledged" a second time; SVC_INVALID for another kind. A
 * temporary view-only sign-in (A8) may not acknowledge (SVC_FORBIDDEN). */
MT_MUSTCHECK
svc_status svc_alarm_event_ack(const svc_actor *a, long long id, const char *comment,
                               char **json, svc_error *e);

/* The currently raised alarms the actor may see (of group "group_id", 0 =
 * every group), newest first, at most "limit" (1..ALARM_ACTIVE_MAX), as
 * {"items": [...]} JSON. */
MT_MUSTCHECK
svc_status svc_alarm_active(const svc_actor *a, long long group_id, int limit, char **json,
                            svc_error *e);

/* The alarm summary of group "group_id" for a dashboard panel. */
MT_MUSTCHECK
svc_status svc_alarm_summary(const svc_actor *a, long long group_id, char **json,
                             svc_error *e);

/* ------------------------------------------------------ group settings */

/* The notice settings of group "group_id" (view access) as JSON. */
MT_MUSTCHECK
svc_status svc_alarm_settings_get(const svc_actor *a, long long group_id, char **json,
                                  svc_error *e);

/* Replace them (edit access): disconnect_minutes 1..1440, the language one
 * of the seven or "" (each recipient's own), destinations of the account.
 * Audited "alarm.settings". */
MT_MUSTCHECK
svc_status svc_alarm_settings_put(const svc_actor *a, long long group_id,
                                  const db_alarm_settings *s, svc_error *e);

/* ------------------------------------------------ temporary login (A8) */

/* A view-only session opened by the login link of an alarm mail. */
typedef struct {
    char cookie[64];       /* the session cookie's value (secret) */
    char csrf[64];         /* its CSRF token */
    long long account_id;
    long long user_id;
    long long session_id;
    long long event_id;    /* the alarm event the mail was about (0 = none) */
    int64_t expires_s;     /* the session ends then (the link's end), Unix seconds */
} alarm_temp_session;

/* Open a view-only session with the secret "token" of a login link: valid
 * until 30 minutes after the mail, for an enabled user of an active
 * account. SVC_UNAUTHENTICATED "link_expired" otherwise (also for an
 * unknown secret: the same answer). The session cannot be extended. */
MT_MUSTCHECK
svc_status svc_alarm_temp_login(srv *s, const char *token, const char *ip,
                                const char *user_agent, alarm_temp_session *out, svc_error *e);

/* Whether "lang" is one of the seven portal languages. */
bool svc_alarm_language_valid(const char *lang);

#endif
