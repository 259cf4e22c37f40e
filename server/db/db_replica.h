/* The read replica (docs/scale.md): a pool of connections to a streaming
 * standby of the primary, and a monitor thread that bounds how stale the
 * standby is, so that reads go to it only while that bound holds.
 *
 * The bound. Every "check_ms" the monitor notes the time t_i (before it
 * asks) and the primary's WAL insert position F_i
 * (pg_current_wal_insert_lsn()), then asks the standby how far it has
 * replayed (R, pg_last_wal_replay_lsn()). Every commit the primary
 * acknowledged before t_i has its commit record below F_i — also one
 * acknowledged before its flush (synchronous_commit off), which is why the
 * insert position and not the flushed one; once R >= F_i the standby
 * shows all of them. So with t_good the latest t_i whose F_i <= R, a read
 * on the standby at time t misses nothing acknowledged before t_good: it is
 * at most t - t_good stale. The replay only moves forward, so the bound
 * only grows between checks, and it is decided at the moment of each read
 * (db_replica_pool()): reads go to the standby while t - t_good <=
 * "max_lag_ms", else to the primary — also while the standby does not
 * answer, is not in recovery (promoted) or the primary cannot be asked. */
#ifndef MTS_DB_REPLICA_H
#define MTS_DB_REPLICA_H

#include <stdbool.h>
#include <stdint.h>

#include "db.h"

typedef struct db_replica db_replica;

/* Start the monitor thread and a pool of "pool_size" connections (opened
 * lazily) to "replica_conninfo", comparing with "primary_conninfo". Returns
 * NULL when out of memory or the thread cannot start. */
db_replica *db_replica_start(const char *primary_conninfo, const char *replica_conninfo,
                             int pool_size, int max_lag_ms, int check_ms);

/* Stop the thread and close the pool (no connection may be in use). NULL
 * is ignored. */
void db_replica_stop(db_replica *r);

/* The standby's pool when a read there now is within the staleness bound,
 * else NULL (read on the primary). *bound_ms (may be NULL) gets the bound
 * (-1 when there is none). NULL "r" gives NULL. */
db_pool *db_replica_pool(db_replica *r, int64_t *bound_ms);

/* The clock of the bound: monotonic milliseconds. */
int64_t db_replica_now_ms(void);

/* The standby's pool when it shows every commit the primary acknowledged
 * before "since_ms" (a db_replica_now_ms() of this process: t_good >=
 * since_ms), else NULL, waiting up to "wait_ms" for it to get there while
 * it answers (the monitor's next checks). For work that must see what was
 * acknowledged before it was asked for (an export), however long ago that
 * was. NULL "r" gives NULL at once. */
db_pool *db_replica_pool_since(db_replica *r, int64_t since_ms, int wait_ms);

/* Counted by the callers that fell back (db_replica_fallback()) and used
 * the standby: for /metrics, the health route and the tests. */
void db_replica_count(db_replica *r, bool on_replica);

/* A read on the standby failed for a database reason (the caller reads on
 * the primary): no read goes there until the monitor's next check finds it
 * answering again. NULL is ignored. */
void db_replica_failed(db_replica *r);

typedef struct {
    bool up;               /* the standby answers and is in recovery */
    int64_t bound_ms;      /* the staleness bound now (-1: none yet) */
    bool fresh;            /* reads go to it now */
    long long reads;       /* reads served by the standby */
    long long fallbacks;   /* reads that went to the primary instead */
    int max_lag_ms;
} db_replica_state;

void db_replica_get_state(db_replica *r, db_replica_state *out);

/* Seconds a connection to the standby may take to open: a standby that
 * stopped answering (its machine gone) costs a read this long before it
 * goes to the primary, not the system's TCP time-out. */
#define DB_REPLICA_CONNECT_TIMEOUT_S 2

/* Internal, declared for the unit tests (tests/server/unit/test_db_replica.c):
 * "ci" (a key=value string or a postgres:// URI) with connect_timeout set to
 * DB_REPLICA_CONNECT_TIMEOUT_S unless it sets one, into "out". Returns 0, or
 * -1 when it does not fit. */
int db_replica__conninfo(const char *ci, char *out, size_t cap);

#endif
