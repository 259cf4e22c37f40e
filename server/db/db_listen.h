/* The listener (issue #3): one thread on its own PostgreSQL connection that
 * LISTENs on the channel metron_auth, where the triggers of migration 012
 * announce every committed change that can alter a signed-in identity or a
 * remembered reply, with the account id as payload. For each it calls
 * auth_account_changed(account); a payload that is not an account id
 * forgets everything (auth_forget_identities()).
 *
 * While it is connected and listening, auth_listening() is true and the
 * remembered identities and replies live AUTH_CACHE_HEARD_TTL_MS; while it
 * is not (PostgreSQL down or restarting), they live AUTH_CACHE_TTL_MS (2 s)
 * as before. Each time the listening starts or stops it forgets everything:
 * changes committed while nobody listened are not announced again. It
 * reconnects by itself every DB_LISTEN_RETRY_MS.
 *
 * A payload that begins with DB_LISTEN_BARRIER_PREFIX is a barrier (tests
 * only: POST /api/v1/test/listen-barrier), nothing else: it ends no
 * remembered entry. PostgreSQL delivers the notifications of one LISTEN in
 * commit order, so once the listener has heard a barrier, it has handled
 * every announcement committed before it. */
#ifndef MTS_DB_LISTEN_H
#define MTS_DB_LISTEN_H

#include <stdbool.h>

#include "db.h"

#define DB_LISTEN_CHANNEL "metron_auth"
#define DB_LISTEN_RETRY_MS 1000
#define DB_LISTEN_BARRIER_PREFIX "barrier:"

/* Connect with libpq connection string "conninfo" (copied), LISTEN, and
 * start the thread. Returns 0, or -1 (already running, out of memory, no
 * thread). When that first connection fails, it returns 0 all the same and
 * the thread keeps trying. */
int db_listen_start(const char *conninfo);

/* Stop the thread and close its connection (auth_listening() false). */
void db_listen_stop(void);

/* What the listener thread does with the payload "payload" of one
 * notification: an account id ends that account's remembered entries
 * (auth_account_changed()), a barrier wakes the db_listen_barrier() waiting
 * for it (a barrier of nobody's, e.g. another server process's, is
 * ignored), anything else forgets every identity. Called by the listener
 * thread; public for the unit tests. Thread-safe. */
void db_listen_heard(const char *payload);

/* A barrier being waited for: db_listen_barrier_begin() fills it,
 * db_listen_barrier_end() takes it back. The caller owns it (on its stack);
 * the fields are the listener's. */
typedef struct db_listen_barrier {
    char payload[64]; /* DB_LISTEN_BARRIER_PREFIX "<pid>.<n>": unique */
    bool heard;
    struct db_listen_barrier *next;
} db_listen_barrier;

/* Make a new barrier payload in "b" (unique among the server processes of
 * one machine: the process id and a counter) and register "b", so that
 * db_listen_heard() of that payload marks it heard. Every begin is paired
 * with one db_listen_barrier_end(). Thread-safe. */
void db_listen_barrier_begin(db_listen_barrier *b);

/* Wait up to "timeout_ms" (0: do not wait) until "b" is heard, then
 * unregister it. Returns true when it was heard. Thread-safe; no busy
 * wait. */
bool db_listen_barrier_end(db_listen_barrier *b, int timeout_ms);

/* Send "b"'s payload on DB_LISTEN_CHANNEL on "conn" (a pooled connection
 * outside any transaction, so the NOTIFY is committed at once). DB_OK or
 * the failure. */
MT_MUSTCHECK
db_status db_listen_barrier_send(db_conn *conn, const db_listen_barrier *b);

#endif
