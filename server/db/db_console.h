/* Storage of console sessions (C2, migration 073, docs/console.md): at most
 * one operator per instrument across server processes, as a row with an
 * expiry the holder's stream renews. Every statement filters by account_id.
 * "holder" is the 32-hex-digit id of one console session. */
#ifndef MTS_DB_CONSOLE_H
#define MTS_DB_CONSOLE_H

#include <stdbool.h>

#include "db.h"

#define DB_CONSOLE_HOLDER_LEN 32

/* Who holds a device's console now, as a person reads it. */
typedef struct {
    bool held;               /* a live row exists */
    long long user_id;
    char name[404];          /* the user's name (at most 100 characters) */
    char login[68];
    char since[32];          /* ISO 8601 UTC */
    bool mine;               /* the asking session is the holder */
    bool lost;               /* the asking session held it and was taken over */
    char lost_at[32];        /* then: when */
} db_console_holder;

/* Take the console of "device_id" for "user_id" as session "holder" for
 * "ttl_s" seconds: granted when nobody holds it, when the same user holds
 * it (another tab of theirs: it is told it lost it), or with "take_over"
 * (an administrator). *granted says whether it was; *took_from the user
 * who held it live before (0 = nobody). */
db_status db_console_claim(db_conn *c, long long account_id, long long device_id,
                           long long user_id, const char *holder, int ttl_s, bool take_over,
                           bool *granted, long long *took_from);

/* Renew the hold of session "holder" for "ttl_s" more seconds: *held false
 * when it is not (or no longer) the holder. */
db_status db_console_renew(db_conn *c, long long account_id, long long device_id,
                           const char *holder, int ttl_s, bool *held);

/* Give the console up (nothing when "holder" does not hold it). */
db_status db_console_release(db_conn *c, long long account_id, long long device_id,
                             const char *holder);

/* Who holds the console of "device_id" now, seen from session "holder"
 * (may be NULL: a viewer). */
db_status db_console_holder_get(db_conn *c, long long account_id, long long device_id,
                                const char *holder, db_console_holder *out);

/* Console sessions a reconnect may continue (migration 076): one row per
 * device, the last operator's. "token_hash" is the SHA-256 (32 bytes) of
 * the resume token the server gave with the session.
 *
 * db_console_resume_set(): the session of "user_id" just opened (and was
 * audited): remember "token_hash" for "ttl_s" seconds, replacing the row of
 * whoever opened before. */
db_status db_console_resume_set(db_conn *c, long long account_id, long long device_id,
                                long long user_id, const unsigned char *token_hash, int ttl_s);

/* Continue the session of "token_hash": *resumed true when the device's
 * row is that of "user_id" with that hash and not expired; it then lasts
 * "ttl_s" seconds from now. */
db_status db_console_resume_use(db_conn *c, long long account_id, long long device_id,
                                long long user_id, const unsigned char *token_hash, int ttl_s,
                                bool *resumed);

/* The stream of "user_id" on "device_id" ended (the server stopping, the
 * network): their row, if live, lasts at least "ttl_s" seconds from now. */
db_status db_console_resume_keep(db_conn *c, long long account_id, long long device_id,
                                 long long user_id, int ttl_s);

/* "user_id" closed the console on purpose: their row goes (the next open
 * is a new session). */
db_status db_console_resume_drop(db_conn *c, long long account_id, long long device_id,
                                 long long user_id);

/* The jobs' sweep (server/jobs/jobs.c): delete up to "limit" rows of
 * console_resumes expired by the database's clock (the one their expiry is
 * set and checked by); *n how many. A row a reconnect renews meanwhile
 * stays (the expiry is checked again on the row it deletes). */
db_status db_console_resumes_sweep(db_conn *c, int limit, long long *n);

#endif
