/* Alarm evaluation (S3; docs/alarms.md): every accepted batch runs through
 * the enabled rules of its app's measurement group with core's evaluator,
 * in time order per channel; computed channels' rules run when the
 * compactor computes them; the events, the rules' saved states, the outbox
 * rows and the inbox rows commit in the transaction that stores the batch.
 *
 * Each server process keeps, per group, the rules and their states in
 * memory and uses them only while the group's sequence (alarm_groups.seq)
 * is the one it loaded: the statement that stores an everyday batch checks
 * the sequence (FOR SHARE), so a batch whose evaluation changes nothing
 * that must be saved costs no more round trips than without alarms. A
 * batch whose evaluation raises, clears, starts or ends a pending filter,
 * or changes a special-value run, is stored in a transaction that locks the
 * group's row (FOR UPDATE), reloads the group if another process moved the
 * sequence on, evaluates, writes, and moves the sequence on.
 *
 * Late rows (older than the newest row a rule has evaluated, or than the
 * rule's creation) are evaluated as history by a fresh evaluator: their
 * events are recorded with late = true and never notified, and the rule's
 * state does not move. */
#ifndef MTS_SVC_ALARM_EVAL_H
#define MTS_SVC_ALARM_EVAL_H

#include <stdbool.h>
#include <stdint.h>

#include "db.h"
#include "ingest_batch.h"
#include "srv.h"
#include "svc.h"

/* Rows of one rule's evaluation at most recorded as events per batch
 * (beyond, the state still moves; the rest are counted in the log). */
#define ALARM_EVENTS_PER_BATCH 2000

/* A8: how long the login link of an alarm mail signs in, view only. */
#define ALARM_TEMP_LOGIN_S (30 * 60)

/* What storing a batch did. */
typedef struct {
    bool fresh;              /* stored now (false: a retry of a stored batch) */
    long long prev_samples;  /* a retry: the samples stored the first time */
    int events;              /* events recorded */
} alarm_store_result;

/* Store batch "b" of app "app_id" (account "account_id", measurement group
 * "group_id", 0 = none) on connection *c (outside a transaction), with the
 * evaluation of the group's rules: claim the batch id, insert the hot
 * row(s), note the app as seen, record the events with their notifications
 * and the rules' states — all or nothing. SVC_OK with "out", or the failure
 * in "e" (nothing stored). A small batch may wait for another batch's
 * statement (group commit, ingest_group.h) and gives *c back to the pool
 * meanwhile: on return *c is NULL or a connection of the pool, which the
 * caller releases. */
MT_MUSTCHECK
svc_status svc_alarm_store_batch(srv *s, db_conn **c, long long account_id, long long app_id,
                                 long long group_id, const ingest_batch *b, const char *ip,
                                 alarm_store_result *out, svc_error *e);

/* The compactor's hook (computed_days.c): computed channel "ch" now has the
 * values "t"/"v" ("n", time-sorted) for a day it recomputed; feed the
 * rows newer than each of its rules' state to those rules, inside the
 * compaction transaction on "c". */
db_status svc_alarm_on_computed(db_conn *c, long long account_id, int64_t ch, const int64_t *t,
                                const double *v, size_t n);

/* Register "s" for the hooks that have no server at hand (the compactor's
 * notifications need the public URL). Call once at start-up. */
void svc_alarm_eval_init(srv *s);

/* Forget every group kept in memory (tests; a rule change needs no call:
 * the sequence says it). */
void svc_alarm_eval_forget(void);

/* Record the notifications of event "event_id" (a live raise, clear or
 * special-value change; "repeat" for a repeat of a raised alarm) on "c"
 * inside the caller's transaction: inbox rows for the users who can see the
 * group, outbox rows for the rule's destinations in the rule's language.
 * SVC_OK, or SVC_DB (roll back). */
MT_MUSTCHECK
svc_status svc_alarm_notify_event(srv *s, db_conn *c, long long account_id, long long event_id,
                                  bool repeat, int repeat_n, svc_error *e);

/* R6 / S4: the most channel mappings of one file check. */
#define ALARM_FILE_MAP_MAX 1000

/* Check uploaded file "file_id" (HOK, HOK2, HIOKI CSV) against the enabled
 * rules of group "group_id" that check files: file channel "index[k]" is
 * read as channel "channel[k]" (channels of the group), a HIOKI CSV's clock
 * at "utc_offset_minutes"; with no mapping ("n_map" 0), a HOK/HOK2 file's
 * channels are read as the Metron channels they name, those of the group. Each rule's rows are evaluated from a fresh
 * state; every raise and clear is recorded as history (cause file, late,
 * the file named) and each rule that raised sends one notice (inbox, its
 * destinations, its language). Needs edit access to the group. *json (free
 * with cJSON_free()): {file_id, file_name, group_id, samples, rules_checked,
 * events, raised: [{rule_id, rule_name, count, first_event_id, first_t}]}. */
MT_MUSTCHECK
svc_status svc_alarm_check_file(const svc_actor *a, long long file_id, long long group_id,
                                const size_t *index, const int64_t *channel, size_t n_map,
                                int utc_offset_minutes, char **json, svc_error *e);

#endif
