/* Validated replies of the raw data route (issue 16): the JSON text of
 * GET /api/v1/data/raw for one window, kept with the versions of what it
 * was made from, so that asking the same window again costs PostgreSQL a
 * statement that returns those versions and no sample, and this process
 * neither decoding nor writing numbers.
 *
 * A window's reply is a function of its request (account, channels in
 * their order, from, to, limit) and of the rows it is read from: the hot
 * rows of the account that overlap it (ids that never change: a hot row is
 * written once, then deleted by the compactor) and the day blocks of its
 * channels and days (channel, day and the row's xmin: every write of a
 * block is a new row version by another transaction), with the start of
 * PostgreSQL's postmaster (a cluster restored to an earlier point hands
 * out used xids again, after a restart). The caller reads
 * those versions in the same statement as the samples (a reply is kept
 * with the versions of its own snapshot) and, on a later request, in a
 * statement of their own, made on every request in PostgreSQL: so it holds
 * across several server processes on one database, and the viewer's right
 * to see the channels is checked in that statement each time, never kept.
 * Requests of one window and viewer that come while such a statement is
 * out share the next one (raw_cache_check(), a read of shared_read.h): it
 * begins after each of them came, so each is still checked after it
 * arrived.
 *
 * An entry is used only
 *   - when it is "stable": the window read twice gave the same versions
 *     (a window that changes on every read, such as today's, goes straight
 *     to its samples, without a versions statement first that would not
 *     pay); a versions mismatch makes it unstable again;
 *   - while it is younger than RAW_CACHE_TTL_MS (an xmin repeats only after
 *     2^32 transactions; the entry is gone long before).
 * A fixed table of RAW_CACHE_SLOTS slots under RAW_CACHE_STRIPES locks; a
 * key has one slot, a newer entry of another key evicts it. Replies over
 * RAW_CACHE_MAX_BODY bytes, versions over RAW_CACHE_MAX_VERSIONS bytes, or
 * a reply that would take all the replies kept past RAW_CACHE_MAX_BYTES are
 * not kept (each reply has RAW_REPLY_ROOM bytes of room besides, for its
 * senders' headers: at most 256 KiB more in all). METRON_RAW_CACHE=0 turns
 * it off (read once). Thread-safe. */
#ifndef MTS_RAW_CACHE_H
#define MTS_RAW_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "reply_head.h"

#define RAW_CACHE_SLOTS 512 /* a power of two */
#define RAW_CACHE_STRIPES 32
#define RAW_CACHE_MAX_BODY (1u << 20)    /* 1 MiB: a day of 32 channels at 1/min is ~0.5 */
#define RAW_CACHE_MAX_VERSIONS 16384     /* 512 day blocks or hot rows */
#define RAW_CACHE_MAX_BYTES (32u << 20)  /* every reply kept, together */
#define RAW_CACHE_TTL_MS (10 * 60 * 1000)
#define RAW_STAMP_MAX 576 /* an account's change stamp (series_store.h: 24 rows of 24 bytes) */
#define RAW_REPLY_ROOM 512 /* before a kept reply, for its headers (reply_head.h) */

/* A kept reply, reference counted: raw_cache_check() and raw_check_end()
 * give one. */
typedef struct raw_reply raw_reply;

/* The text of "r" (*len bytes and a NUL) and the room before it that its
 * senders share (*head), valid until raw_reply_drop(r). */
const char *raw_reply_text(raw_reply *r, size_t *len, reply_head **head);

/* Let go of a reference of "r". */
void raw_reply_drop(raw_reply *r);

/* What a reply answers. "ch" (n_ch ids, in the order asked) is borrowed. */
typedef struct {
    long long account_id;
    const int64_t *ch;
    size_t n_ch;
    int64_t t0, t1;
    size_t limit;
} raw_cache_key;

/* Whether a stable entry of "key" younger than the TTL at "now_ms" is
 * kept: then the caller reads the versions first and asks
 * raw_cache_get(). */
bool raw_cache_stable(const raw_cache_key *key, int64_t now_ms);

/* The reply of "key" made from versions "ver" ("ver_len" bytes): on a hit,
 * *text is a NUL-terminated copy (caller frees) of *len bytes and true is
 * returned. Otherwise false (*text NULL, *len 0); an entry of the key with
 * other versions is no longer stable. */
bool raw_cache_get(const raw_cache_key *key, const void *ver, size_t ver_len, int64_t now_ms,
                   char **text, size_t *len);

/* Remember "len" bytes at "text" (copied) as the reply of "key" made from
 * versions "ver" ("ver_len" bytes), read at "now_ms". When the slot holds
 * the key with the same versions the entry becomes stable (its age is kept);
 * otherwise it is replaced by an unstable one. Nothing is kept past the
 * limits above or without memory. */
void raw_cache_put(const raw_cache_key *key, const void *ver, size_t ver_len, int64_t now_ms,
                   const char *text, size_t len);

/* Requests of one stable window share its versions statement (issue 16):
 * a request that finds a check of the same window, viewer and database
 * ("db", compared only) that has not started yet waits for it, and is
 * answered by it; the statement begins after the request came, as its own
 * would, so the rows and the viewer's right are checked in PostgreSQL
 * after every request arrived, never taken from before. One check of a
 * window and viewer runs at a time: those that come while it runs form
 * the next. */
typedef struct raw_check raw_check;

typedef enum {
    RAW_CHECK_READ,  /* read the window (its own statement): no entry, or no copy to send */
    RAW_CHECK_LEAD,  /* run the check: raw_check_start(), the statement, raw_check_end() */
    RAW_CHECK_HIT,   /* a check begun after this call matched: *text is the reply */
    RAW_CHECK_FAILED /* the check this call waited for failed as raw_check_fail() says */
} raw_check_role;

/* For a stable entry of "key" younger than the TTL at "now_ms": join the
 * open check of "viewer" on "db" and wait for its end (RAW_CHECK_HIT with
 * *kept a reference to the kept reply, which the caller drops, issue 16:
 * no copy of it is made for a request; RAW_CHECK_FAILED with *failure the
 * code its leader gave raw_check_fail(); or RAW_CHECK_READ when it did not
 * match or failed otherwise), or open one and return RAW_CHECK_LEAD with
 * *chk (once no other check of the window and viewer runs). The leader
 * calls raw_check_start() once it holds a connection (no request joins
 * after that), runs the versions statement, and ends the check with
 * raw_check_end() or raw_check_fail() on every path, which frees *chk.
 * RAW_CHECK_READ otherwise (*chk NULL, *kept NULL). */
raw_check_role raw_cache_check(const raw_cache_key *key, long long viewer, const void *db,
                               int64_t now_ms, raw_check **chk, raw_reply **kept, int *failure);

/* Close check "chk" to followers: its statement is about to begin. */
void raw_check_start(raw_check *chk);

/* End check "chk" of "key": "ok" when its statement gave versions "ver"
 * ("ver_len" bytes) with every channel visible, false when it failed, was
 * refused or never ran. Answers every follower; returns true with *kept (a
 * reference to the kept reply, as raw_cache_check() gives it) when the
 * entry's versions matched, as raw_cache_get() does (a mismatch makes the
 * entry unstable). "chk" is freed or left to its followers: not to be used
 * after. */
bool raw_check_end(raw_check *chk, const raw_cache_key *key, bool ok, const void *ver,
                   size_t ver_len, int64_t now_ms, raw_reply **kept);

/* The raw day's check skipped when nothing changed (issue 16, rawstamp):
 * "stamp" ("stamp_len" bytes) is the account's change stamp
 * (series_store.h, series_monitor_stamp()) read by the leader of "chk"
 * after it started. When the entry of "key" holds the same stamp, kept
 * for the same "viewer" (or for any viewer when "any_viewer": the caller
 * has proven this viewer's right to the window's channels by the stamp
 * itself, svc_data.c's raw_right_by_stamp()), the check ends with its kept
 * reply (true, *kept as raw_check_end() gives it; "chk" freed): nothing
 * that the reply or the viewer's right depends on has changed since a
 * check that matched. Else false and "chk" is still the caller's (the
 * versions statement follows). Sound because every write of the account's
 * hot rows, day blocks and rights moves the stamp in its transaction
 * (migrations 069, 081, 086, 087, 089), and the stamp kept was read before
 * that check's versions. */
bool raw_check_stamped(raw_check *chk, const raw_cache_key *key, long long viewer,
                       bool any_viewer, const void *stamp, size_t stamp_len, int64_t now_ms,
                       raw_reply **kept);

/* Whether the stable entry of "key", younger than the TTL at "now_ms",
 * holds a stamp (raw_check_end_stamped()): then a request may read the
 * account's stamp first, itself (raw_cache_stamped()), rather than wait for
 * a check of the window (issue 16, mixcpu: in the route mix a raw day's
 * request waited for its window's check, whose leader waited for the
 * account's stamp, two sleeps in a row). */
bool raw_cache_stamp_kept(const raw_cache_key *key, int64_t now_ms);

/* As raw_check_stamped(), for a request with no check of its own:
 * "stamp" was read after this request came (alone, or in a statement
 * shared with the requests of the account that came before it began).
 * True with *kept a reference to the entry's reply (raw_reply_drop()) when
 * the entry of "key" holds the same stamp for "viewer" (or any viewer when
 * "any_viewer"); else false, *kept NULL, and the caller goes on with
 * raw_cache_check(). Sound for the reasons raw_check_stamped() is. */
bool raw_cache_stamped(const raw_cache_key *key, long long viewer, bool any_viewer,
                       const void *stamp, size_t stamp_len, int64_t now_ms, raw_reply **kept);

/* raw_check_end() that also keeps, when the versions matched, "stamp"
 * ("stamp_len" bytes, 0: none), read for "viewer" before the versions
 * statement began, with the entry (raw_check_stamped()); any other outcome
 * forgets the entry's stamp. */
bool raw_check_end_stamped(raw_check *chk, const raw_cache_key *key, bool ok, const void *ver,
                           size_t ver_len, long long viewer, const void *stamp,
                           size_t stamp_len, int64_t now_ms, raw_reply **kept);

/* End check "chk" with failure "code" (not 0) that its followers share
 * (RAW_CHECK_FAILED): PostgreSQL busy or unreachable, which each of them
 * would otherwise wait for as long again before failing alike (issue 16:
 * 5 s for the leader's connection, then 5 s more for each follower's).
 * The leader answers with that failure itself. "chk" is freed or left to
 * its followers: not to be used after. */
void raw_check_fail(raw_check *chk, int code);

/* How many requests are on the check of "key" for "viewer" on "db" that
 * has not begun yet (sread_open_count(); tests). */
int raw_check_open_count(const raw_cache_key *key, long long viewer, const void *db);

/* Bytes of replies and versions kept (tests). */
size_t raw_cache_bytes(void);

/* Forget every entry and free its memory. */
void raw_cache_clear(void);

#endif
