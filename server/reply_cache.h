/* Remembered reply bodies (issue #3): the JSON text of a reply that depends
 * only on rows of one user and their account, kept for a moment so that a
 * frequent GET (GET /api/v1/me) costs no database round trip.
 *
 * An entry is keyed by (kind, account, user, variant) and counts only while
 *   - the state epoch given to reply_cache_get() equals the one stored with
 *     it: the caller reads auth_state_epoch() BEFORE its database read and
 *     stores that value, so a read that raced with a commit is never used
 *     after the commit moved the epoch (auth.h, auth_state_changed()); and
 *   - it is younger than AUTH_CACHE_TTL_MS (2 s): a change the epoch does
 *     not see (another server process on the same database, an UPDATE by
 *     hand in SQL) shows within that time.
 *
 * Once an entry is AUTH_CACHE_REFRESH_MS old, one caller gets a miss (it
 * reads the body again and puts it) while the others keep using the entry
 * until AUTH_CACHE_TTL_MS: not every request in flight at the expiry goes
 * to the database at once.
 *
 * A fixed table of REPLY_CACHE_SLOTS slots under REPLY_CACHE_STRIPES locks;
 * a key has one slot, so a newer entry of another key evicts an older one.
 * The variants of one (kind, account, user) share the slot. Bodies longer
 * than REPLY_CACHE_MAX_BODY bytes are not kept. Every function is
 * thread-safe. */
#ifndef MTS_REPLY_CACHE_H
#define MTS_REPLY_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define REPLY_CACHE_SLOTS 1024 /* a power of two */
#define REPLY_CACHE_STRIPES 64
#define REPLY_CACHE_MAX_BODY 16384

/* What a remembered body is the reply of. */
typedef enum {
    REPLY_ME = 1 /* GET /api/v1/me; variant: the effective plan of the request */
} reply_kind;

typedef struct {
    reply_kind kind;
    long long account_id;
    long long user_id;
    int variant; /* what else the body depends on (see reply_kind) */
} reply_key;

/* Look up "key" at state epoch "epoch" and time "now_ms" (auth_now_ms()).
 * On a hit, *text is a NUL-terminated copy of the body (caller owns it:
 * free()) of *len bytes, and true is returned. Otherwise (no entry, another
 * variant, the epoch moved, too old, the first caller once it is due for a
 * refresh, out of memory) *text is NULL, *len 0, and false is returned: the
 * caller reads the body and puts it. */
bool reply_cache_get(const reply_key *key, unsigned long long epoch, int64_t now_ms, char **text,
                     size_t *len);

/* Remember "len" bytes at "text" (borrowed; copied) as the body of "key",
 * read from the database under state epoch "epoch" (read before the data)
 * at time "now_ms" (auth_now_ms() before the read). Replaces the slot's entry, except an entry of the same key
 * and variant read under a later epoch (the newer read wins). Does nothing
 * for a body over REPLY_CACHE_MAX_BODY or when out of memory. */
void reply_cache_put(const reply_key *key, unsigned long long epoch, int64_t now_ms,
                     const char *text, size_t len);

/* Forget every entry and free its memory. */
void reply_cache_clear(void);

#endif
