/* Storage of reports (T1, T2, P17; 018_reports.sql, docs/reports.md):
 * report settings and their channels, runs and the files they made, the
 * scheduler's statements, and what a run reads to render (the group's time
 * zone, channel names, the period's alarm events).
 *
 * libpq only: prepared statements with parameters; the API's objects are
 * built by PostgreSQL (json_build_object) as JSON text. Every statement
 * filters on the account id it is given, except the scheduler's scans
 * (system jobs), which name each row's account. */
#ifndef MTS_DB_REPORT_H
#define MTS_DB_REPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "db.h"

#define REPORT_CH_MAX 32   /* channels of a report (V2) */
#define REPORT_RCPT_MAX 32 /* users, and system recipients, of a report */

/* Output formats (bits). */
#define REPORT_FMT_PDF 1
#define REPORT_FMT_XLSX 2
#define REPORT_FMT_CSV 4

/* One report setting as stored. */
typedef struct {
    long long id;
    long long group_id;
    char name[404];       /* 1..100 characters */
    char period[8];       /* day, week, month */
    bool summary;
    char charts[16];      /* none, per_channel, overlaid */
    bool alarms;
    char language[8];
    int formats;          /* REPORT_FMT_* bits */
    long long users[REPORT_RCPT_MAX];
    int n_users;
    long long system[REPORT_RCPT_MAX];
    int n_system;
    bool auto_enabled;
    bool has_next;        /* next_start/next_end are set */
    int64_t next_start, next_end;
    long long folder_id;  /* 0 = none yet */
    long long channels[REPORT_CH_MAX];
    int n_channels;
} db_report;

/* Report "id" (with its channels in order) into "r"; *found false when
 * the account has none. "lock": FOR UPDATE (the scheduler and edits). */
db_status db_report_get(db_conn *c, long long account_id, long long id, bool lock, db_report *r,
                        bool *found);

/* Insert "r" (its channels too); *id = the new report. DB_CONFLICT when
 * the group has a report of that name. */
db_status db_report_insert(db_conn *c, long long account_id, const db_report *r, long long *id);

/* Store every member of "r" (report r->id), its channels replaced. */
db_status db_report_update(db_conn *c, long long account_id, const db_report *r);

/* The scheduler's position: the next period to create (has_next false:
 * none). */
db_status db_report_set_next(db_conn *c, long long account_id, long long id, bool has_next,
                             long long next_start, long long next_end);

/* The drive folder of the report's files. */
db_status db_report_set_folder(db_conn *c, long long account_id, long long id, long long folder);

db_status db_report_delete(db_conn *c, long long account_id, long long id, bool *found);

/* Reports of group "group_id" (P17). */
db_status db_report_count(db_conn *c, long long account_id, long long group_id, long long *n);

/* The API's object of report "id" (NULL *json when none), and the array of
 * the group's reports; next_period's due_from and due_by are its end plus
 * "settle_s" and "wait_s" (the scheduling rule). Caller frees. */
db_status db_report_json(db_conn *c, long long account_id, long long id, int settle_s,
                         int wait_s, char **json);
db_status db_report_list_json(db_conn *c, long long account_id, long long group_id,
                              int settle_s, int wait_s, char **json);

/* ----------------------------------------------------------- checking */

/* Of "ids", the first that is not a channel of group "group_id" of the
 * account (measured by its app's group, computed by its own), into *bad
 * (0 = all are). */
db_status db_report_channels_check(db_conn *c, long long account_id, long long group_id,
                                   const long long *ids, int n, long long *bad);

/* The first of "ids" that is not a user of the account (0 = none). */
db_status db_report_users_check(db_conn *c, long long account_id, const long long *ids, int n,
                                long long *bad);

/* The first of "ids" that is not a system notification recipient (G4) of
 * the account (0 = none). */
db_status db_report_system_check(db_conn *c, long long account_id, const long long *ids, int n,
                                 long long *bad);

/* Of users "ids", those who may see group "group_id" now (administrators,
 * or a grant direct or through a team) and are not disabled: *out
 * (caller frees; NULL when none) and *n_out. */
db_status db_report_users_allowed(db_conn *c, long long account_id, long long group_id,
                                  const long long *ids, int n, long long **out, int *n_out);

/* The group's name and time zone (its own, else the account's), and the
 * account's name. *found false when there is no such group. */
typedef struct {
    char group_name[404];
    char account_name[804];
    char time_zone[72];
} db_report_ctx;

db_status db_report_context(db_conn *c, long long account_id, long long group_id,
                            db_report_ctx *out, bool *found);

/* ------------------------------------------------------------- time */

/* The local calendar date of instant "unix_s" in zone "tz" ('YYYY-MM-DD'
 * into "out", 11 bytes). */
db_status db_report_local_date(db_conn *c, const char *tz, int64_t unix_s, char out[16]);

/* The instants (µs UTC) of local midnight at the start of each date
 * "dates[i]" ('YYYY-MM-DD') in zone "tz". */
db_status db_report_midnights(db_conn *c, const char *tz, const char *const *dates, int n,
                              int64_t *out);

/* The UTC offset (seconds east) of zone "tz" at each instant secs[i]. */
db_status db_report_offsets(db_conn *c, const char *tz, const int64_t *secs, size_t n,
                            int32_t *out);

/* ------------------------------------------------------------ schedule */

typedef struct {
    long long account_id;
    long long id;
} db_report_ref;

/* Reports with automatic creation on whose next period ended before
 * "before_us" (up to "limit", oldest first). *out caller frees. */
db_status db_report_due(db_conn *c, int64_t before_us, int limit, db_report_ref **out, int *n);

/* Whether every channel of report "id" has a sample at or after "t_us"
 * (channel_latest: what the compactor folded). *all true for a report
 * without channels. */
db_status db_report_arrived(db_conn *c, long long account_id, long long id, int64_t t_us,
                            bool *all);

/* ---------------------------------------------------------------- runs */

typedef struct {
    long long account_id;
    long long report_id;
    const char *kind;       /* auto, manual */
    long long period_start;
    long long period_end;
    const char *label;
    const char *time_zone;
    long long requested_by; /* 0 = none (automatic) */
    int64_t due_s;          /* next_at, Unix seconds */
} db_report_run_new;

/* Insert a queued run. An automatic run of a period that has one already
 * is not inserted (*inserted false). */
db_status db_report_run_insert(db_conn *c, const db_report_run_new *r, long long *id,
                               bool *inserted);

/* A run as the worker sees it. */
typedef struct {
    long long account_id;
    long long id;
    long long report_id;
    char kind[8];
    long long period_start, period_end;
    char label[72];
    char time_zone[72];
    int attempts;           /* including the one just claimed */
    long long requested_by;
} db_report_run;

/* Runs still "running" whose lease ran out after "max_attempts" attempts
 * (their server died each time) fail for good; *n = how many. */
db_status db_report_run_expire(db_conn *c, int64_t now_s, int max_attempts, long long *n);

/* Claim the oldest due run (queued or retry and due, or running with its
 * lease run out) for "owner" with a lease to now + "lease_s": it becomes
 * running, attempts + 1. *found false when none is due. SKIP LOCKED: two
 * processes never claim the same run. */
db_status db_report_run_claim(db_conn *c, const char *owner, int64_t now_s, int lease_s,
                              db_report_run *out, bool *found);

/* Inside a transaction: lock run "id" and tell whether it is still the
 * claim of "owner" at "attempts" (running). */
db_status db_report_run_lock(db_conn *c, long long account_id, long long id, const char *owner,
                             int attempts, bool *ours);

/* Lengthen the lease of the claim (a long rendering). */
db_status db_report_run_touch(db_conn *c, long long account_id, long long id, const char *owner,
                              int64_t lease_end_s);

/* Where the run is (docs/reports.md): "step" (figures, charts, pdf,
 * samples, storing) with "done" of "total" (0 of 0: not counted). Only
 * while "owner" holds the claim; advisory (the caller may ignore a
 * failure). */
db_status db_report_run_step(db_conn *c, long long account_id, long long id, const char *owner,
                             const char *step, int done, int total);

/* The run is done: its figures. */
db_status db_report_run_done(db_conn *c, long long account_id, long long id, long long samples,
                             int render_ms, int64_t now_s);

/* The attempt failed: "retry" (due at "next_s") or failed for good, with
 * "error" (cut to 500 characters) of kind "kind" (storage, database,
 * server; the claim of a stopped run records interrupted). Only while
 * "owner" holds the claim. */
db_status db_report_run_fail(db_conn *c, long long account_id, long long id, const char *owner,
                             bool retry, int64_t next_s, int64_t now_s, const char *error,
                             const char *kind);

/* A file the run made. */
db_status db_report_file_add(db_conn *c, long long account_id, long long run_id,
                             const char *format, const char *part, long long file_id,
                             const char *name, long long size);

/* The report of run "id" (*found false when none). */
db_status db_report_run_owner(db_conn *c, long long account_id, long long id,
                              long long *report_id, bool *found);

/* A failed run queued again by hand: *changed false when it is not
 * failed. */
db_status db_report_run_requeue(db_conn *c, long long account_id, long long id, int64_t now_s,
                                bool *changed);

/* The API's object of run "id", and a page of the report's runs (newest
 * first, ids below "before" when not 0). Caller frees. */
db_status db_report_run_json(db_conn *c, long long account_id, long long id, char **json);
db_status db_report_runs_json(db_conn *c, long long account_id, long long report_id,
                              long long before, int limit, char **json);

/* ---------------------------------------------------- rendering inputs */

typedef struct {
    long long id;
    char *key;
    char *name;
    char *unit;
    char *expression; /* computed channels */
    char *model;      /* measured: the device's model, serial, app name */
    char *serial;
    bool computed;
} db_report_chan;

/* The report's channels in order, with what a report shows of them. */
db_status db_report_chan_info(db_conn *c, long long account_id, long long id,
                              db_report_chan **out, int *n);
void db_report_chan_free(db_report_chan *rows, int n);

typedef struct {
    long long t;
    char *kind;
    char *rule_name;
    char *channel;
    char *unit;
    char *severity;
    char *v1;       /* NULL when s1 names a special value */
    long long s1;
    long long special;
} db_report_event;

/* The alarm events of group "group_id" in [t0, t1) (µs), oldest first, at
 * most "limit"; *total = all of them. */
db_status db_report_events(db_conn *c, long long account_id, long long group_id, int64_t t0,
                           int64_t t1, int limit, db_report_event **out, int *n,
                           long long *total);
void db_report_events_free(db_report_event *rows, int n);

#endif
