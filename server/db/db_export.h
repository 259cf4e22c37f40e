/* Storage of export jobs (007_export.sql, docs/export.md): the exports
 * table, the channel metadata an export file carries, time-zone offsets
 * from PostgreSQL's time-zone database, and the server's secrets.
 *
 * Prepared statements only; every statement on tenant data filters by
 * account id, except the clean-up sweeps (db_export_fail_stale,
 * db_export_finished_before), which walk every account as the other jobs
 * do. Times are Unix seconds given by the caller (auth_now()). */
#ifndef MTS_DB_EXPORT_H
#define MTS_DB_EXPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"

#define DB_EXPORT_MAX_CH 32

/* One export row. */
typedef struct {
    long long id;
    long long account_id;
    long long user_id;
    char format[8];       /* "csv", "hok", "hok2" */
    int64_t ch[DB_EXPORT_MAX_CH];
    size_t n_ch;
    int64_t t0, t1;       /* µs, UTC */
    char time_zone[72];
    char status[12];      /* "running", "done", "failed" */
    double progress;      /* 0..1 */
    long long bytes, samples;
    char error[512];      /* "" when none */
    char created_at[24];  /* YYYY-MM-DDTHH:MM:SSZ */
    char finished_at[24]; /* "" while running */
    int64_t finished_s;   /* Unix seconds; 0 while running */
    long long blob_id;    /* done: the file's bytes (db_files.h); 0 = none (yet) */
} db_export_row;

/* Insert a running export of "user" created at "now" (Unix s); *id gets its
 * id. Call inside the caller's transaction after db_account_lock(). */
db_status db_export_insert(db_conn *c, long long account_id, long long user, const char *format,
                           const int64_t *ch, size_t n_ch, int64_t t0, int64_t t1,
                           const char *time_zone, int64_t now, long long *id);

/* How many exports of the account are running (queued or working). */
db_status db_export_running(db_conn *c, long long account_id, long long *n);

/* Export "id" of the account; "user" > 0 also requires it to be that
 * user's. *found false when there is none. */
db_status db_export_get(db_conn *c, long long account_id, long long user, long long id,
                        db_export_row *out, bool *found);

/* The "limit" most recent exports of "user", newest first: *out (caller
 * frees) and *n. */
db_status db_export_list(db_conn *c, long long account_id, long long user, int limit,
                         db_export_row **out, size_t *n);

/* A running export's progress and heartbeat. *alive false when the row is
 * gone or no longer running (deleted meanwhile: the worker stops). */
db_status db_export_progress(db_conn *c, long long account_id, long long id, double progress,
                             long long bytes, long long samples, int64_t now, bool *alive);

/* End a running export: "done" (progress 1) with its file in blob
 * "blob_id" (made ready in the same transaction, db_files.h), or "failed"
 * with "error". *alive false when the row was gone or no longer running. */
db_status db_export_finish(db_conn *c, long long account_id, long long id, bool done,
                           long long bytes, long long samples, const char *error, int64_t now,
                           long long blob_id, bool *alive);

/* Delete export "id" of "user" (any status). *found false when none;
 * "format" (8 bytes) receives its format and *was_running its state. */
db_status db_export_delete(db_conn *c, long long account_id, long long user, long long id,
                           bool *found, char format[8], bool *was_running);

/* Delete export "id" of the account if it is no longer running (clean-up).
 * *deleted tells whether a row went. */
db_status db_export_remove(db_conn *c, long long account_id, long long id, bool *deleted);

/* Keep the running exports (account_ids[i], ids[i]) of this process alive:
 * updated_at = now. */
db_status db_export_touch(db_conn *c, const long long *account_ids, const long long *ids,
                          size_t n, int64_t now);

/* Fail every running export whose heartbeat is older than "stale_before"
 * (a server that stopped without finishing it). *n = how many. */
db_status db_export_fail_stale(db_conn *c, int64_t stale_before, int64_t now, long long *n);

/* Up to "limit" exports that ended before "before": accounts, ids and
 * formats into caller-freed arrays (*n entries; formats 8 bytes each). */
db_status db_export_finished_before(db_conn *c, int64_t before, int limit,
                                    long long **account_ids, long long **ids, char (**formats)[8],
                                    size_t *n);

/* The ids of the account's done exports whose file is still on a server's
 * disk (not moved into the store yet), sorted: *out (caller frees), *n.
 * *account_exists false when the account is gone. */
db_status db_export_file_ids(db_conn *c, long long account_id, long long **out, size_t *n,
                             bool *account_exists);

/* One channel of an export, with its device and app (measured channels) or
 * its group (computed channels). Strings are NUL-terminated copies. */
typedef struct {
    int64_t id;
    char name[404], unit[68], key[132];
    bool computed;
    long long device_id;        /* 0 for a computed channel */
    char model[132], serial[260], device_name[404], app_name[404];
    char group_name[404];       /* computed: its group */
    char expression[4004];      /* computed: its expression */
} db_export_channel;

/* The channels "ids" of the account that still exist, in the order of
 * "ids" (missing ones left out): *out (caller frees), *n. */
db_status db_export_channels(db_conn *c, long long account_id, const int64_t *ids, size_t n_ids,
                             db_export_channel **out, size_t *n);

/* The first and last sample time of channels "ids" over [t0, t1), from day
 * blocks and hot rows (hot rows hold several channels: their bounds may be
 * wider), and *max_day, the most samples the channels' day blocks hold
 * together on one UTC day of the range. *any false when there is nothing. */
db_status db_export_extent(db_conn *c, long long account_id, const int64_t *ids, size_t n_ids,
                           int64_t t0, int64_t t1, int64_t *first, int64_t *last,
                           int64_t *max_day, bool *any);

/* The account's time zone into "out" (72 bytes). *found false when the
 * account is gone. */
db_status db_export_account_tz(db_conn *c, long long account_id, char out[72], bool *found);

/* The language user "user_id" set for themselves, else the account's
 * ("en" when neither is found), into "out". */
db_status db_export_language(db_conn *c, long long account_id, long long user_id, char out[8]);

/* UTC offsets in seconds of IANA zone "tz" (PostgreSQL's time-zone
 * database) at the Unix seconds "secs[0..n)" into "out". */
db_status db_export_tz_offsets(db_conn *c, const char *tz, const int64_t *secs, size_t n,
                               int32_t *out);

/* The server secret "name" (32 bytes into "out"): read it, or store
 * "fresh" (32 random bytes from the caller) when there is none yet, so that
 * every server process on the database uses the first one stored. */
db_status db_export_secret(db_conn *c, const char *name, const unsigned char fresh[32],
                           unsigned char out[32]);

#endif
