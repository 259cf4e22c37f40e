/* The read of a remembered reply's body that was not found (reply_cache.h),
 * shared by the requests that miss it at the same moment (shared_read.h;
 * issue 16, devstall and herd2): after any change of an account every
 * request that found no body read it itself through the pool, and with 50
 * arriving at once the last waited its turn for 0.2-1.2 s.
 *
 * The first request leads a read; those that come before it begins (the
 * leader calls sread_start() once it holds its connection) take a copy of
 * its body: read after each of them came. Those that come while it runs
 * form the next read, whose leader first looks for the body the previous
 * read put, under the epoch of now (a change since moved it: read again).
 * A read that fails leaves its followers to read alone. The shared read's
 * key is the body's reply_key whole (kind, account, user, variant, sub)
 * and the caller's scope (its server): a request only ever gets the body
 * that its own key would have remembered, so a viewer never gets another
 * viewer's. Used by GET /me, GET /devices, the unread count and a group's
 * monitor structure. Thread-safe. */
#ifndef MTS_REPLY_SHARE_H
#define MTS_REPLY_SHARE_H

#include <stdbool.h>
#include <stddef.h>

#include "reply_cache.h"
#include "shared_read.h"

/* Read the body (for reply_share_miss()), for the read "rd" this request
 * leads, or alone ("rd" NULL): call reply_share_start(rd) once the read's
 * connection is held and before its statements begin; put the body
 * (reply_cache_put(), under the epoch read before the read); return true
 * with *text (malloc'd, *len bytes and a NUL after them), or false (the
 * error kept in "ctx"). */
typedef bool (*reply_read_fn)(void *ctx, sread *rd, char **text, size_t *len);

/* The epoch of an account's remembered bodies of one kind, now. */
typedef unsigned long long (*reply_epoch_fn)(long long account_id);

/* sread_start(rd) when "rd" is not NULL. */
void reply_share_start(sread *rd);

/* The body of "key" after the caller found none remembered: shared with
 * the requests that miss it at the same moment when "share" (the caller's
 * switch, e.g. METRON_ME_SHARE), else read alone. "scope" (the server)
 * keeps the reads of different servers of one process apart; "epoch"
 * gives the epoch the body must be remembered under now. True with *out
 * holding the text (out->owned: a copy, or a body read here; out->shared:
 * the remembered one a previous read put, *due as reply_cache_get_shared()
 * tells), or false as "read" returned. *due may be NULL. */
bool reply_share_miss(const reply_key *key, const void *scope, reply_epoch_fn epoch, bool share,
                      reply_read_fn read, void *ctx, reply_body_text *out, bool *due);

/* The text of "t" as the caller's own (copied out of a remembered body,
 * which is released), *len bytes and a NUL; NULL without memory ("t" is
 * freed either way). */
char *reply_body_text_take(reply_body_text *t, size_t *len);

#endif
