/* The PostgreSQL connection pool.
 *
 * "size" libpq connections shared by the HTTP worker threads. A thread takes
 * one with db_acquire() (waiting a bounded time when all are busy), runs
 * prepared statements on it and gives it back with db_release(). Statements
 * are declared once, statically, in the db_*.c file that uses them:
 *
 *     static db_stmt st_user_get = {"user_get",
 *         "SELECT id, name FROM users WHERE account_id = $1 AND id = $2"};
 *
 * and prepared lazily, once per connection, on first use. Only parameters
 * carry values: no SQL is ever built from strings.
 *
 * When PostgreSQL goes away the failing call returns DB_UNAVAILABLE (the
 * handler answers 503 db_unavailable); the broken connection is dropped and
 * the next db_acquire() reconnects, so the service recovers by itself when
 * the database is back. db_acquire() also notices connections that the
 * server closed while they sat idle (a restart), before handing them out. */
#ifndef MTS_DB_H
#define MTS_DB_H

#include "mt/status.h"

#include <libpq-fe.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    DB_OK = 0,
    DB_UNAVAILABLE = -1, /* cannot reach PostgreSQL (503) */
    DB_BUSY = -2,        /* no free connection within the wait limit (503) */
    DB_ERROR = -3,       /* the statement failed (500; details logged) */
    DB_CONFLICT = -4,    /* unique_violation (409) */
    DB_CONSTRAINT = -5   /* check/foreign-key/not-null violation (400/409) */
} db_status;

/* A statement: a unique "name", its "sql" with $1..$n placeholders. "slot" is
 * assigned on first use (leave it zero). */
typedef struct {
    const char *name;
    const char *sql;
    atomic_int slot;
} db_stmt;

typedef struct db_pool db_pool;
typedef struct db_conn db_conn;

/* Create a pool of "size" connections to "conninfo" (a libpq connection
 * string or URI; copied). Connections are opened lazily. Returns NULL when
 * out of memory. Free with db_pool_free(). */
db_pool *db_pool_new(const char *conninfo, int size);

/* Open every connection now (at start-up, before the pool is shared), so
 * that the first requests under load do not pay for connection set-up.
 * Returns how many are open; the others are retried on use. */
int db_pool_warm(db_pool *pool);

/* Close every connection and free "pool" (may be NULL). No connection may be
 * in use. */
void db_pool_free(db_pool *pool);

/* The pool's occupancy now (GET /metrics): its size, the connections free
 * and the threads waiting for one. Thread-safe. */
void db_pool_stats(db_pool *pool, int *size, int *idle, int *waiting);

/* How long a request waits for a free pooled connection before it gives
 * up with DB_BUSY (503 db_busy): the wait of every db_acquire() that has
 * no reason of its own to wait longer or shorter. */
#define DB_WAIT_MS 5000

/* Take a connection: DB_OK and *out set, or DB_BUSY after "wait_ms" without
 * a free one, or DB_UNAVAILABLE when PostgreSQL cannot be reached (then *out
 * is NULL and nothing needs releasing). Thread-safe. */
MT_MUSTCHECK
db_status db_acquire(db_pool *pool, int wait_ms, db_conn **out);

/* Give "conn" back (NULL is ignored). A connection left inside a transaction
 * is rolled back first. */
void db_release(db_pool *pool, db_conn *conn);

/* Run "stmt" with "n_params" text parameters ("params[i]" NULL = SQL NULL).
 * On DB_OK, when "out" is not NULL, *out is the result (PGRES_TUPLES_OK or
 * PGRES_COMMAND_OK) and the caller frees it with PQclear(); on failure *out
 * is NULL and the error was logged with the statement's name. */
MT_MUSTCHECK
db_status db_exec(db_conn *conn, db_stmt *stmt, int n_params, const char *const *params,
                  PGresult **out);

/* db_exec() with binary parameters and results: "lengths"/"formats" as
 * PQexecPrepared() takes them (formats[i] = 1: params[i] is "lengths[i]"
 * raw bytes, e.g. a bytea; NULL = all text) and "result_format" 1 for
 * binary result columns. */
MT_MUSTCHECK
db_status db_exec_bin(db_conn *conn, db_stmt *stmt, int n_params, const char *const *params,
                      const int *lengths, const int *formats, int result_format,
                      PGresult **out);

/* Whether PostgreSQL answers: take a connection within "wait_ms" and run
 * SELECT 1 on it. DB_OK, DB_BUSY (no free connection in time) or the
 * failure. */
MT_MUSTCHECK
db_status db_ping(db_pool *pool, int wait_ms);

/* Transactions on one connection: BEGIN / COMMIT / ROLLBACK. db_commit()
 * returns DB_CONFLICT or DB_CONSTRAINT for deferred violations. */
MT_MUSTCHECK
db_status db_begin(db_conn *conn);
MT_MUSTCHECK
db_status db_commit(db_conn *conn);
db_status db_rollback(db_conn *conn);

/* One savepoint inside a transaction (the name "s"; a new one hides the
 * last until it is released): set it, release it (keep what was done since)
 * or roll back to it (undo that; the transaction goes on), then release. */
MT_MUSTCHECK
db_status db_savepoint(db_conn *conn);
MT_MUSTCHECK
db_status db_savepoint_release(db_conn *conn);
MT_MUSTCHECK
db_status db_savepoint_rollback(db_conn *conn);

/* The start of the postmaster "conn" is connected to (µs since the Unix
 * epoch), as a statement on this connection read it and gave it to
 * db_conn_set_start(): false (and *us 0) when none did since the connection
 * was opened. A connection is one backend of one postmaster for its life
 * (the server needs a session of its own: session advisory locks, LISTEN;
 * a pooler in transaction mode is not supported), so its start cannot
 * change while it stays open; a restart ends every backend and the next
 * db_acquire() opens a new connection, which knows none (issue 16: read
 * in every stamp pre-check it was 10-20 k of PostgreSQL's instructions). */
bool db_conn_start(const db_conn *conn, int64_t *us);
void db_conn_set_start(db_conn *conn, int64_t us);

/* The raw libpq handle, for db_migrate.c and db_embed.c only (they run
 * fixed multi-statement scripts before the service starts). */
PGconn *db_conn_pg(db_conn *conn);

/* "{1,2,3}": the text form of a bigint[] parameter holding "n" ids (caller
 * frees; NULL when out of memory). */
char *db_id_array(const int64_t *ids, size_t n);

/* A short English name for "st" ("database unavailable", ...). */
const char *db_strerror(db_status st);

#endif
