/* The operator's statements (docs/operations.md): queue depths for
 * GET /metrics; accounts as the operator sees them, freezing (L8), deletion
 * on request and at contract end (O4). */
#ifndef MTS_DB_OPS_H
#define MTS_DB_OPS_H

#include <stdbool.h>

#include "db.h"

/* Work waiting in the database, for GET /metrics. */
typedef struct {
    long long outbox;       /* notify_outbox rows queued, retrying or being sent */
    long long outbox_due;   /* of those, due now or earlier */
    long long exports;      /* exports running */
    long long report_runs;  /* report runs queued, retrying or running */
    long long hot_rows;     /* series_hot rows not yet compacted */
    long long hot_samples;  /* samples in them */
    double compactor_lag_s; /* age of the oldest hot row in seconds (0: none) */
    bool archiving;         /* WAL archiving is on (archive_mode) */
    long long archived;     /* pg_stat_archiver: WAL files archived */
    long long archive_failed; /* pg_stat_archiver: failed attempts */
    double last_archived_at;  /* Unix seconds, 0 = never */
    double last_failed_at;    /* Unix seconds, 0 = never */
} db_ops_queues;

/* WAL archiving for backups (O3; GET /api/v1/health): whether it is on,
 * and the last success and failure (Unix seconds, 0 = never). */
MT_MUSTCHECK
db_status db_ops_archiver(db_conn *c, bool *archiving, double *last_archived_at,
                          double *last_failed_at);

/* Read the depths above at "now_s" (Unix seconds: the server's clock, so
 * that a test clock moves the ages too). */
MT_MUSTCHECK
db_status db_ops_queue_depths(db_conn *c, long long now_s, db_ops_queues *out);

/* One account as the operator sees it (GET /api/v1/ops/accounts). Times
 * are ISO 8601 UTC text or NULL; strings are heap copies (free the rows with
 * db_ops_accounts_free()). */
typedef struct {
    long long id;
    char *login_id;       /* NULL for a Trial */
    char *name;
    char *plan;           /* as stored: trial, free, standard, pro */
    char *status;         /* active, frozen */
    char *frozen_reason;
    char *frozen_at;
    char *created_at;
    char *trial_expires_at;
    char *licence_expiry; /* YYYY-MM-DD */
    long long expiry_day; /* the same as days since 1970-01-01, -1 = none */
    char *contract_ends_at;
    char *subscriber_email;
    long long users;
    long long storage_used; /* bytes: logo + acquired data (hot rows too) + drive */
} db_ops_account_row;

/* Accounts with id > "after" in id order, at most "limit": all, or only
 * those whose status is "status" (NULL = any), whose stored plan is "plan"
 * (NULL = any), and whose login ID, name or contract holder's e-mail
 * contains "q" (NULL = any; ASCII case folded). */
MT_MUSTCHECK
db_status db_ops_accounts(db_conn *c, long long after, int limit, const char *status,
                          const char *plan, const char *q, db_ops_account_row **out, int *n);

/* One account ("found" false when there is none). */
MT_MUSTCHECK
db_status db_ops_account(db_conn *c, long long id, db_ops_account_row *out, bool *found);

void db_ops_accounts_free(db_ops_account_row *rows, int n);
void db_ops_account_clear(db_ops_account_row *row);

/* L8: freeze account "id" with "reason" at "now_s" (Unix seconds), or
 * (reason NULL) make it active again. *found false when there is no such
 * account. The change reaches every server process's remembered sessions
 * through the accounts trigger of 012_auth_notify.sql. */
MT_MUSTCHECK
db_status db_ops_freeze(db_conn *c, long long id, const char *reason, long long now_s,
                        bool *found);

/* O4: set (at_s > 0, Unix seconds) or clear (0) the instant the contract of
 * account "id" ends, when the account_deletions job deletes it. */
MT_MUSTCHECK
db_status db_ops_contract_end(db_conn *c, long long id, long long at_s, bool *found);

/* O4: delete account "id" and everything it owns, irreversibly, and record
 * it in account_deletions with "reason" (request, contract_end, terms,
 * operator, trial_expired) at "now_s". *record: the record as JSON text
 * ({id, account_id, plan, reason, deleted_at, storage_bytes, removed};
 * caller frees), NULL with *found false when there is no such account. Run
 * it inside a transaction. */
MT_MUSTCHECK
db_status db_ops_delete_account(db_conn *c, long long id, const char *reason, long long now_s,
                                char **record, bool *found);

/* The deletion records with id < "before" (0 = from the newest), newest
 * first, at most "limit", as a JSON array text (caller frees). */
MT_MUSTCHECK
db_status db_ops_deletions(db_conn *c, long long before, int limit, char **json);

/* The ids of accounts whose contract ended at or before "now_s", at most
 * "limit", into "ids" (*n of them). */
MT_MUSTCHECK
db_status db_ops_contracts_ended(db_conn *c, long long now_s, int limit, long long *ids,
                                 int *n);

/* L4: the ids of trial accounts whose trial ended at or before "now_s". */
MT_MUSTCHECK
db_status db_ops_trials_ended(db_conn *c, long long now_s, int limit, long long *ids, int *n);

/* ------------------------------------------------- maintenance windows (O1) */

typedef struct {
    long long id;
    long long announce_at, starts_at, ends_at, created_at; /* Unix seconds */
} db_ops_window;

/* The windows not cancelled that end after "now_s", earliest start first, at
 * most "cap", into "out" (*n of them). */
MT_MUSTCHECK
db_status db_ops_maintenance_open(db_conn *c, long long now_s, db_ops_window *out, int cap,
                                  int *n);

/* Schedule a window (the table's checks hold: start < end, at most 12 h,
 * announce <= start); *id = its id. */
MT_MUSTCHECK
db_status db_ops_maintenance_add(db_conn *c, const db_ops_window *w, long long *id);

/* Cancel window "id" at "now_s" if it is open (not cancelled, not ended):
 * *found false otherwise. */
MT_MUSTCHECK
db_status db_ops_maintenance_cancel(db_conn *c, long long id, long long now_s, bool *found);

#endif
