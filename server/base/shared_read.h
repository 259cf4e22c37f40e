/* Reads shared by the requests that want the same one (issue 16): the
 * values of a group's monitor that every page of it asks for again every
 * few seconds, and that many requests of one group ask for at once; the
 * versions check of a remembered raw day (raw_cache.h).
 *
 * A request that finds a read of the same key that has not begun yet
 * waits for it and takes a copy of its result; that read begins after
 * each of them came, as its own would, so every request's answer is read
 * after the request arrived (nothing is kept from before it: this is not
 * a cache). One read of a key runs at a time: the requests that come
 * while it runs form the next one, whose leader begins once it ends. The
 * leader may end a read with no result (it failed in a way its followers
 * should not share): each follower then reads alone.
 *
 * A fixed table of SREAD_SLOTS slots under SREAD_STRIPES locks; a key has
 * one slot, and a request whose slot holds another key's read reads alone
 * (no request waits for another key). Keys over SREAD_MAX_KEY bytes and
 * results over SREAD_MAX_RESULT bytes are not shared. METRON_SHARED_READ=0
 * turns sharing off (every request reads alone). Thread-safe. */
#ifndef MTS_SHARED_READ_H
#define MTS_SHARED_READ_H

#include <stdbool.h>
#include <stddef.h>

/* The window (sread_join_gathered()): a leader that finds no read of its
 * key running, but one that ended less than SREAD_GATHER_RECENT_US ago (the
 * key is asked for steadily: the account stamp that every monitor and raw
 * day request checks), waits SREAD_GATHER_US (METRON_SREAD_GATHER_US, 0 to
 * 5000; 0 = no window) before its read begins, and the requests of that
 * moment join it instead of each leading a read of their own. Each read
 * still begins after every request it answers came. A key asked for now and
 * then (one viewer's page every few seconds) never waits. */
#define SREAD_GATHER_US 1000
#define SREAD_GATHER_MAX_US 5000
#define SREAD_GATHER_RECENT_US 2000

#define SREAD_SLOTS 256 /* a power of two */
#define SREAD_STRIPES 32
#define SREAD_MAX_KEY 65536
#define SREAD_MAX_RESULT ((1u << 20) + 64) /* a raw day of RAW_CACHE_MAX_BODY, tagged */

typedef struct sread sread;

typedef enum {
    SREAD_ALONE,  /* read alone: nothing shared (*r NULL) */
    SREAD_LEAD,   /* read for everyone: sread_start(), the read, sread_end() */
    SREAD_SHARED  /* a read begun after this call ended: *res is its result */
} sread_role;

/* Join the read of "key" ("key_len" bytes, compared whole) that has not
 * begun yet and wait for its end: SREAD_SHARED with *res a copy of its
 * result (*res_len bytes, caller frees), or SREAD_ALONE when it ended with
 * none. With no such read, open one and return SREAD_LEAD with *r, once no
 * other read of the key runs. SREAD_ALONE otherwise. */
sread_role sread_join(const void *key, size_t key_len, sread **r, void **res, size_t *res_len);

/* As sread_join(), with the window (above) for a leader: for a key asked
 * for steadily whose read is a cheap statement, where fewer statements
 * matter more than the window's wait (issue 16: the account stamp). */
sread_role sread_join_gathered(const void *key, size_t key_len, sread **r, void **res,
                               size_t *res_len);

/* A read's result, shared by its followers (reference counted). */
typedef struct sread_result sread_result;

/* As sread_join(), but SREAD_SHARED gives *res, a reference to the read's
 * result itself: read it in place (sread_result_data()), then
 * sread_result_drop() it (issue 16: a follower that copied a raw day out
 * to look at it copied 33 KB it then copied again). */
sread_role sread_join_ref(const void *key, size_t key_len, sread **r, sread_result **res);

/* The bytes of result "x" (*len of them), valid until it is dropped. */
const void *sread_result_data(const sread_result *x, size_t *len);

/* Let go of a reference of sread_join_ref(). NULL does nothing. */
void sread_result_drop(sread_result *x);

/* A new result of "len" bytes for the caller to fill at *data and give to
 * sread_end_result() (or sread_result_drop()): made once, never copied.
 * NULL (and *data NULL) past SREAD_MAX_RESULT or without memory. */
sread_result *sread_result_new(size_t len, void **data);

/* A result of the caller's "len" bytes at "data", not copied: they stay
 * until the last reference goes, which then calls release(arg) (issue 16:
 * a remembered raw day, 33 KB, was copied into each check's result to be
 * copied out again). NULL past SREAD_MAX_RESULT or without memory (the
 * caller keeps its bytes). */
sread_result *sread_result_wrap(const void *data, size_t len, void (*release)(void *), void *arg);

/* The "arg" a result of sread_result_wrap() was made with (NULL for one of
 * sread_result_new()): the owner of its bytes, for a caller that takes a
 * reference of its own while it holds the result. */
void *sread_result_owner(const sread_result *x);

/* Close read "r" to followers: it is about to begin. The leader calls it
 * once it holds what the read needs (a connection), so that requests may
 * join while it waits for that. Calling it twice does nothing more. */
void sread_start(sread *r);

/* End read "r", led by the caller, on every path: "res" ("res_len" bytes,
 * copied; NULL when followers are to read alone) answers every follower.
 * "r" is freed or left to its followers: not to be used after. */
void sread_end(sread *r, const void *res, size_t res_len);

/* As sread_end(), with result "x" of sread_result_new() taken over as it
 * is (NULL: followers read alone). */
void sread_end_result(sread *r, sread_result *x);

/* How many requests are on the read of "key" that has not begun yet: its
 * leader and the followers waiting for it; 0 with none. For tests, which
 * wait for their threads to have joined rather than for a fixed time (a
 * thread late under load joined the next read instead). */
int sread_open_count(const void *key, size_t key_len);

/* The window in microseconds: METRON_SREAD_GATHER_US on first use, or what
 * sread_set_gather_us() set (clamped to 0..SREAD_GATHER_MAX_US). */
long sread_gather_us(void);
void sread_set_gather_us(long us);

/* For tests: what "a moment ago" is, in microseconds (SREAD_GATHER_RECENT_US
 * when "us" <= 0), so that a loaded scheduler does not decide a test. */
void sread_set_gather_recent_us(long us);

#endif
