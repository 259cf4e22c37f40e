/* Remembered reply bodies (issue #3): the JSON text of a reply that depends
 * only on rows of one user and their account, kept for a moment so that a
 * frequent GET (GET /api/v1/me) costs no database round trip.
 *
 * An entry is keyed by (kind, account, user, variant) and counts only while
 *   - the epoch given to reply_cache_get() equals the one stored with it:
 *     auth_state_epoch() + auth_account_epoch(account), read by the caller
 *     BEFORE its database read and stored with the body, so a read that
 *     raced with a commit is never used after the commit moved the epoch
 *     (auth.h: this server's own writes move the state epoch, and every
 *     commit anywhere that changes the account's users or account row moves
 *     the account's epoch when PostgreSQL announces it); and
 *   - it is younger than auth_cache_ttl_ms(): 60 s while the server hears
 *     those announcements, 2 s while it does not (then a change by another
 *     server process on the same database, or by hand in SQL, shows within
 *     that time).
 *
 * Once an entry is auth_cache_refresh_ms() old, the first caller to find it
 * is told it is due (a hit all the same): it has the body read again and
 * put, off the request (refresher.h), while every caller keeps using the
 * entry until auth_cache_ttl_ms(). So as long as requests keep coming and the
 * refresh succeeds, no request waits on the database.
 *
 * A fixed table of REPLY_CACHE_SLOTS slots under REPLY_CACHE_STRIPES locks;
 * a key has one slot, so a newer entry of another key evicts an older one.
 * The variants of one (kind, account, user, sub) share the slot. Bodies longer
 * than REPLY_CACHE_MAX_BODY bytes (REPLY_CACHE_MAX_LIST for a list) are not
 * kept, nor a body that would take all the bodies kept past
 * REPLY_CACHE_MAX_BYTES (bodies still referenced by requests after their
 * entry was replaced are not counted: at most one each). Every function is
 * thread-safe. */
#ifndef MTS_REPLY_CACHE_H
#define MTS_REPLY_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "reply_head.h"

#define REPLY_CACHE_SLOTS 1024 /* a power of two */
#define REPLY_CACHE_STRIPES 64
#define REPLY_CACHE_MAX_BODY 16384          /* GET /me */
#define REPLY_CACHE_MAX_LIST (256 * 1024)    /* a list: REPLY_DEVICES */
#define REPLY_CACHE_MAX_BYTES (64u << 20)    /* every body kept, together */

/* What a remembered body is the reply of. */
typedef enum {
    REPLY_ME = 1, /* GET /api/v1/me; variant: the effective plan of the request */
    /* GET /api/v1/devices (every app's devices); variant: the effective plan
     * (the selection limits). What it shows is announced by migrations 012
     * and 031. */
    REPLY_DEVICES = 2,
    /* GET /api/v1/notifications/unread-count; variant 0. Announced by
     * migration 033. */
    REPLY_UNREAD = 3,
    /* The structure of a group's monitor (svc_data.c: apps, devices,
     * channels with their names, units, decimals, selection, expressions,
     * with what changes on every request left out); sub: the group id;
     * variant: the role. Announced by migrations 012, 031 and 036. */
    REPLY_MONITOR = 4
} reply_kind;

typedef struct {
    reply_kind kind;
    long long account_id;
    long long user_id;
    int variant; /* what else the body depends on (see reply_kind) */
    long long sub; /* what the reply is of (REPLY_MONITOR: the group), else 0;
                    * unlike a variant, each has a slot of its own */
} reply_key;

/* Look up "key" at state epoch "epoch" and time "now_ms" (auth_now_ms()).
 * On a hit, *text is a NUL-terminated copy of the body (caller owns it:
 * free()) of *len bytes, and true is returned; *due is true for the first
 * caller once the entry is auth_cache_refresh_ms() old (that caller has it
 * read again and put; if it cannot, the entry ends at its TTL). Otherwise
 * (no entry, another variant, the epoch moved, too old, out of memory)
 * *text is NULL, *len 0, *due false, and false is returned: the caller
 * reads the body and puts it. "due" may be NULL (never told). */
bool reply_cache_get(const reply_key *key, unsigned long long epoch, int64_t now_ms, char **text,
                     size_t *len, bool *due);

/* A remembered body shared with its slot (reply_cache_get_shared()). */
typedef struct reply_body reply_body;

/* As reply_cache_get(), without a copy (issue 16: the remembered device
 * list, 70 KB, was copied for every request, under the slot's lock): on a
 * hit *body is a reference to the remembered body and *text its text (*len
 * bytes and a NUL), borrowed until reply_body_release(*body), even after
 * the entry is replaced or forgotten. Otherwise *body and *text are NULL. */
bool reply_cache_get_shared(const reply_key *key, unsigned long long epoch, int64_t now_ms,
                            reply_body **body, const char **text, size_t *len, bool *due);

/* Give back a reference of reply_cache_get_shared(); the text is dead
 * after. NULL is allowed. */
void reply_body_release(reply_body *b);

/* Bytes of room before a REPLY_DEVICES body's text for its headers. */
#define REPLY_BODY_ROOM 512

/* The room before the text of "b" for its reply's headers (reply_head.h,
 * http_reply_json_kept(): a list of 70 KB leaves in one write with its
 * headers, without a copy), borrowed as long as "b" is; NULL when "b" has
 * none (kinds other than REPLY_DEVICES) or is NULL. */
reply_head *reply_body_head(reply_body *b);

/* A reply's text that is either the caller's own or a remembered body:
 * "text" ("len" bytes) is "owned" (malloc'd) or inside "shared". */
typedef struct {
    const char *text;
    size_t len;
    char *owned;
    reply_body *shared;
} reply_body_text;

/* Free "t"'s own text or release its body; "t" is empty after. */
void reply_body_text_free(reply_body_text *t);

/* Remember "len" bytes at "text" (borrowed; copied) as the body of "key",
 * read from the database under state epoch "epoch" (read before the data)
 * at time "now_ms" (auth_now_ms() before the read). Replaces the slot's entry, except an entry of the same key
 * and variant read under a later epoch (the newer read wins). Does nothing
 * for a body over its kind's limit, past REPLY_CACHE_MAX_BYTES in all, or
 * when out of memory. */
void reply_cache_put(const reply_key *key, unsigned long long epoch, int64_t now_ms,
                     const char *text, size_t len);

/* Forget every entry and free its memory. */
void reply_cache_clear(void);

#endif
