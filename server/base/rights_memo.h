/* Which channels a member may see, remembered with the version of the
 * account's rights they were read at (migration 087, issue 16): a member's
 * raw day check or read passes that version, and its statement runs
 * mt_channels_seen() only when the account's version in PostgreSQL, read in
 * the statement's own snapshot, is another (series_read.c). Every committed
 * change to what mt_channels_seen() reads moves that version in its own
 * transaction (087's triggers), so a right removed through any server
 * process, or in SQL, refuses the next request here: this table only says
 * what to ask PostgreSQL, never what to answer. An entry is the account, the
 * viewer, one channel, the version and the postmaster's start (a cluster
 * restored to an earlier point hands out versions again; the check returns
 * the start with the visible ids). A table of RIGHTS_MEMO_SLOTS slots, one
 * entry each (a newer entry takes the slot). METRON_RIGHTS_MEMO=0 turns it
 * off (every member's check runs mt_channels_seen(), as before 087).
 * Thread-safe. */
#ifndef MTS_RIGHTS_MEMO_H
#define MTS_RIGHTS_MEMO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RIGHTS_MEMO_SLOTS 8192

/* Whether every one of channels "ch" ("n_ch" > 0) is remembered visible to
 * "viewer" in the account, all at one version and start: then *version and
 * *start are those. */
bool rights_memo_known(long long account_id, long long viewer, const int64_t *ch, size_t n_ch,
                       int64_t *version, int64_t *start);

/* Remember that channel "ch" was visible to "viewer" at "version" of the
 * account's rights, PostgreSQL's postmaster having started at "start". */
void rights_memo_put(long long account_id, long long viewer, int64_t ch, int64_t version,
                     int64_t start);

/* Whether the table is in use (METRON_RIGHTS_MEMO is not "0"). */
bool rights_memo_on(void);

#endif
