/* Storage of the server's own notices (issue #13 item 5; docs/alarms.md):
 * no-data alarms (a channel silent for N minutes), repeats of raised
 * alarms, app connection changes (S6), storage running out (S7), licence
 * notices (S9/L6), and the once-only keys of server_notices. Prepared
 * statements only; each filters by account id where it acts on one. */
#ifndef MTS_DB_NOTICE_H
#define MTS_DB_NOTICE_H

#include <stdbool.h>
#include <stdint.h>

#include "db.h"
#include "mt/caltime.h"

/* ------------------------------------------------------------- no data */

/* An enabled no-data rule that is not raised, with what PostgreSQL knows
 * of its channel's last sample. */
typedef struct {
    long long account_id;
    long long group_id;
    long long rule_id;
    long long ch;
    int minutes;
    int64_t since;     /* the newest of: its state's last sample, its state's
                        * start (creation, last change), channel_latest */
} db_nodata_rule;

/* Up to "cap" such rules whose "since" is older than "before_us" minus
 * their minutes (candidates: the hot table may hold newer samples). */
db_status db_nodata_candidates(db_conn *c, int64_t now_us, db_nodata_rule *out, int cap, int *n);

/* ----------------------------------------------------------- repeats */

/* Up to "cap" raised alarms whose next repeat is due at "now_us", locked
 * for the transaction (FOR UPDATE SKIP LOCKED): event ids and accounts. */
db_status db_repeats_due(db_conn *c, int64_t now_us, long long *ids, long long *accounts, int cap,
                         int *n);

/* Count a repeat of raise event "id" and schedule the next one from
 * "now_us" (none when its rule is gone, disabled or stopped repeating):
 * *repeats = the repeats sent now. */
db_status db_repeat_done(db_conn *c, long long account_id, long long id, int64_t now_us,
                         int *repeats);

/* ----------------------------------------------------------- S6 */

/* Apps connected but not heard from for their group's disconnect_minutes
 * (10 without a group or setting) at "now_us": disconnected now (cause
 * timeout, written to their app_seen rows, migration 064). *n = how many. */
db_status db_apps_time_out(db_conn *c, int64_t now_us, long long *n);

/* A change of apps.connected not yet recorded. Strings in buffers. */
typedef struct {
    long long account_id;
    long long app_id;
    long long group_id;       /* 0 = none */
    char app_name[100 * 4 + 4];
    char group_name[100 * 4 + 4];
    bool connected;
    char cause[16];           /* data | app | timeout | mqtt */
    char local_time[40];      /* connected_at / last_seen_at in the account's zone */
    char at[32];              /* the same instant in UTC, "2026-12-07T03:22:53Z" */
    int utc_offset;           /* seconds east of UTC of the account's zone then (DST included) */
    int minutes;              /* disconnect_minutes */
    bool notice;              /* the group's disconnect_notice */
    char language[8];         /* notice_language, "" = each recipient's own */
    long long dest[20];
    int n_dest;
} db_app_change;

/* Up to "cap" apps whose connected differs from connection_seen, their
 * app_seen rows (migration 064) locked (FOR UPDATE SKIP LOCKED). *out:
 * malloc'd (caller frees). */
db_status db_app_changes(db_conn *c, int cap, db_app_change **out, int *n);

/* Record change "ch" (app_connection_events) and mark it seen; *event_id
 * = the new history row. */
db_status db_app_change_done(db_conn *c, const db_app_change *ch, long long *event_id);

/* ----------------------------------------------------------- S7, S9 */

/* An account for the storage and licence notices. */
typedef struct {
    long long id;
    char plan[16];
    bool has_expiry;
    mt_day expiry;
    int64_t used;             /* P2 bytes: logo, acquired data, drive, hot samples */
    bool storage_low;         /* a 'storage_low' notice is standing */
    char name[804];
    char language[8];
    char subscriber_email[256]; /* the contract holder (L6), "" = none */
    int64_t over_since;       /* S8: over the storage quota since (Unix s), -1 = not */
} db_notice_account;

/* Accounts after id "after" (ascending), up to "cap": every account for
 * S7 (licenced or not). *out malloc'd. */
db_status db_notice_accounts(db_conn *c, long long after, int cap, db_notice_account **out,
                             int *n);

/* Claim the once-only key "key" of the account: *fresh false when it was
 * already claimed; *stamp (may be NULL) the claim's time in µs, unique per
 * claim (the outbox key of a notice that may come again, S7). */
db_status db_notice_claim(db_conn *c, long long account_id, const char *key, bool *fresh,
                          long long *stamp);

/* Remove key "key" (a standing notice that no longer holds). */
db_status db_notice_release(db_conn *c, long long account_id, const char *key);

/* S8: set when account "id" was found over its storage quota ("since_s"
 * Unix seconds; -1 = it is not, the period ends). */
db_status db_notice_over_quota(db_conn *c, long long id, long long since_s);

/* What the deletion at the end of an over-quota period removed (bytes as
 * the quota P2 counts them). */
typedef struct {
    long long bytes;        /* all of it */
    long long data_bytes;   /* acquired data: day blocks, 24 per hot sample */
    long long drive_files;  /* drive files, report files included */
    long long report_files; /* of which files a report made */
    long long drive_bytes;
    long long pictures;     /* dashboard pictures */
    long long picture_bytes;
    long long app_files;    /* files shared with the apps (K1-K3, 072) */
    long long app_file_bytes;
} db_quota_removed;

/* S8 / L3: delete everything account "id" stores that the quota counts but
 * its logo (mt_account_delete_stored of 030_quota_delete_stored.sql:
 * acquired data, every drive file, every dashboard picture, every file
 * shared with the apps (072)), end its
 * over-quota period and record the deletion (the period's start "since_s",
 * "now_s", the bytes "used" of "limit") in storage_quota_deletions; *out
 * what went. Inside the caller's transaction (which holds the account's
 * lock). DB_OK, or the database's failure. */
db_status db_notice_delete_stored(db_conn *c, long long id, long long since_s, long long now_s,
                                  long long used, long long limit, db_quota_removed *out);

#endif
