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
 * reconnects by itself every DB_LISTEN_RETRY_MS. */
#ifndef MTS_DB_LISTEN_H
#define MTS_DB_LISTEN_H

#define DB_LISTEN_CHANNEL "metron_auth"
#define DB_LISTEN_RETRY_MS 1000

/* Connect with libpq connection string "conninfo" (copied), LISTEN, and
 * start the thread. Returns 0, or -1 (already running, out of memory, no
 * thread). When that first connection fails, it returns 0 all the same and
 * the thread keeps trying. */
int db_listen_start(const char *conninfo);

/* Stop the thread and close its connection (auth_listening() false). */
void db_listen_stop(void);

#endif
