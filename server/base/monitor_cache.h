/* Kept values of a group's monitor (issue 16, stamp; docs/benchmarks.md
 * "The monitor's read skipped when nothing changed"): what the values read
 * of one group's monitor gave (the apps' state and the channels' newest
 * values, with the reply written from them: an opaque result, svc_data.c's),
 * kept with the change stamp of its account read in the same snapshot, so
 * that the next request of the same values costs PostgreSQL a statement
 * that reads the stamp and no row of the monitor's.
 *
 * The stamp (series_store.h, series_monitor_stamp()) is the xmins of the
 * account's series_hot_count rows (moved by every insert and delete of its
 * hot rows), of its account_changes row (moved by every other write of
 * what a monitor shows: migration 086's triggers) and the start of the
 * postmaster (xids repeat after a restore to an earlier point). Equal
 * stamps read in snapshots S1 and S2 mean that no transaction that changed
 * what the monitor shows committed between them; the stamp is read after
 * the request came, so the kept values are what a read would give. It
 * holds across server processes on one database. The viewer's right to see
 * the group is not here: the caller checks it as before, on every request.
 *
 * An entry is used only
 *   - when it is "stable": read twice with the same stamp (an account that
 *     changes between most reads goes straight to its read, without a
 *     stamp statement first that would not pay); a stamp that moved makes
 *     it unstable again;
 *   - while younger than MONCACHE_TTL_MS (an xmin repeats only after 2^32
 *     transactions).
 * A fixed table of MONCACHE_SLOTS slots under MONCACHE_STRIPES locks; a key
 * has one slot, a newer entry of another key evicts it. Results over
 * MONCACHE_MAX_BODY bytes, keys or stamps over MONCACHE_MAX_KEY bytes, or
 * an entry that would take the whole table past MONCACHE_MAX_BYTES are not
 * kept. METRON_MONITOR_CACHE=0 turns it off. Thread-safe. */
#ifndef MTS_MONITOR_CACHE_H
#define MTS_MONITOR_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MONCACHE_SLOTS 512 /* a power of two */
#define MONCACHE_STRIPES 32
#define MONCACHE_MAX_BODY (256u << 10)  /* a group of ~1,000 channels */
#define MONCACHE_MAX_KEY 16384          /* ids of the key; the stamp: 19 rows */
#define MONCACHE_MAX_BYTES (16u << 20)  /* every entry, together */
#define MONCACHE_TTL_MS (10 * 60 * 1000)

/* A kept result, reference counted. */
typedef struct moncache_body moncache_body;

/* A new result of "len" bytes for the caller to fill at *data (one
 * reference, the caller's); NULL past MONCACHE_MAX_BODY or without memory. */
moncache_body *moncache_body_new(size_t len, void **data);

/* The bytes of "b" (*len of them), valid while a reference is held. */
const void *moncache_body_data(const moncache_body *b, size_t *len);

/* Another reference of "b" (returned). */
moncache_body *moncache_body_ref(moncache_body *b);

/* Let go of a reference of "b". NULL does nothing. */
void moncache_body_drop(moncache_body *b);

/* As moncache_body_drop(), for sread_result_wrap()'s release. */
void moncache_body_release(void *b);

/* Whether a stable entry of key "key" ("key_len" bytes) younger than the
 * TTL at "now_ms" is kept: the caller then reads the stamp first and asks
 * moncache_get(). */
bool moncache_stable(const void *key, size_t key_len, int64_t now_ms);

/* The kept result of "key" made with stamp "stamp" ("stamp_len" bytes): a
 * reference (caller drops), or NULL (an entry of the key with another
 * stamp is then no longer stable). */
moncache_body *moncache_get(const void *key, size_t key_len, const void *stamp,
                            size_t stamp_len, int64_t now_ms);

/* Keep result "b" (a reference of its own is taken) as the one of "key"
 * made with stamp "stamp", read at "now_ms". When the slot holds the key
 * with the same stamp, the entry becomes stable (its age and result are
 * kept); otherwise it is replaced by an unstable one. Nothing is kept past
 * the limits above or without memory. */
void moncache_put(const void *key, size_t key_len, const void *stamp, size_t stamp_len,
                  int64_t now_ms, moncache_body *b);

/* Whether values are kept at all (METRON_MONITOR_CACHE is not 0): when not,
 * the caller reads no stamp. */
bool moncache_on(void);

/* Bytes kept (tests). */
size_t moncache_bytes(void);

/* Forget every entry. */
void moncache_clear(void);

#endif
