/* Remembered app credentials (issue 16): what ingestion needs to know of the
 * app that sends a batch (its account, id, group, channel table version,
 * whether it is enabled, whether its account is active and until when its
 * trial runs), kept in memory so that a batch costs no database round trip
 * to find its sender.
 *
 * An entry is keyed by the SHA-256 of the app's credential (HTTPS), or by
 * the app's id (the MQTT bridge: an app the broker authenticated by its
 * client certificate). It counts only while
 *   - no epoch it was read under moved (auth.h): the state epoch (this
 *     server's changes of identities, and public writes), the account's
 *     epoch (PostgreSQL announces every committed change of the account row,
 *     and of the app's enabled flag, credential, group, channel table
 *     version, or its deletion: migrations 012, 031 and 035), and the
 *     account's state epoch (this server's own writes by a signed-in user of
 *     the account, and the apps' reports of their instruments); and
 *   - it is younger than auth_cache_ttl_ms() (60 s while the server hears the
 *     announcements, 2 s while it does not).
 * The account is only known after the database read, so a read is kept only
 * when no epoch moved at all while it ran (auth_change_count()): a read that
 * raced with a change is never used afterwards.
 *
 * The trial's end is kept as a time and compared with the time of each use
 * (app_cache_row_ok()), never as a verdict.
 *
 * Only apps that exist are kept: a credential that is not found is not
 * remembered (and forgets a remembered entry of its key). The table has a
 * fixed size, APP_CACHE_SETS sets of APP_CACHE_WAYS entries (a newer entry
 * takes the place of the oldest of its set), so its memory is bounded
 * whatever clients send. Every function is thread-safe. */
#ifndef MTS_APP_CACHE_H
#define MTS_APP_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#define APP_CACHE_SETS 2048 /* a power of two */
#define APP_CACHE_WAYS 4
#define APP_CACHE_STRIPES 64

/* What ingestion knows of an app (db_ingest_app()). */
typedef struct {
    long long account_id;
    long long app_id;
    long long group_id;         /* 0 = none */
    long long channels_version; /* apps.channels_version */
    bool enabled;
    bool account_active;        /* accounts.status = 'active' */
    int64_t trial_expires_us;   /* the trial's end (µs since the epoch); INT64_MAX: none */
} app_cache_row;

/* An entry's key: the credential's SHA-256, or an app id. */
typedef struct {
    bool by_id;
    long long app_id;        /* by_id */
    unsigned char hash[32];  /* !by_id */
} app_cache_key;

/* What is read before a database read of a row (app_cache_begin()), and
 * given to app_cache_put() with its result. */
typedef struct {
    unsigned long long changes; /* auth_change_count() */
    unsigned long long state;   /* auth_state_epoch() */
} app_cache_mark;

/* Whether the account of "row" may ingest at "now_us": active, and its
 * trial (if any) not over. */
bool app_cache_row_ok(const app_cache_row *row, int64_t now_us);

/* Look up "key" at "now_ms" (auth_now_ms()): true with *out filled when it
 * is remembered and still counts. */
bool app_cache_get(const app_cache_key *key, int64_t now_ms, app_cache_row *out);

/* Call right before the database read of a key's row. */
void app_cache_begin(app_cache_mark *m);

/* Remember "row", read from the database for "key" after app_cache_begin()
 * filled "m", at "now_ms" (auth_now_ms() before the read). Kept only if no
 * epoch moved since "m" was taken. */
void app_cache_put(const app_cache_key *key, const app_cache_mark *m, int64_t now_ms,
                   const app_cache_row *row);

/* Forget "key" (its app no longer exists, or its credential changed). */
void app_cache_forget(const app_cache_key *key);

/* Forget every entry. */
void app_cache_clear(void);

#endif
