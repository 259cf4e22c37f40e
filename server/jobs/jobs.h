/* Background jobs: periodic clean-ups (expired sessions, links, codes,
 * throttle rows, L4's expired trials, ...), run in order by one thread every
 * --jobs-interval seconds, and on demand by the test-only route
 * POST /api/v1/test/jobs.
 *
 * The jobs are a table in jobs.c, one line each:
 *
 *     {"sessions", job_sessions, "expired sessions and two-step challenges"},
 *
 * To add one, write a job_fn (in the file of its area, declared in that
 * area's header) and add its line. A job does one bounded round: it may
 * leave work for the next round (it runs again one interval later). "now"
 * is auth_now() (the test clock included): a job never asks SQL for now().
 * Jobs that are one SQL function on one connection use jobs_sql(), which
 * also keeps two server processes on one database from running the same
 * job at the same time. */
#ifndef MTS_JOBS_H
#define MTS_JOBS_H

#include <stdbool.h>
#include <stdint.h>

#include "db.h"
#include "srv.h"

/* One round of a job at "now" (Unix seconds): *done = what it did (rows
 * deleted, files removed). Returns 0, or -1 on failure (logged by the job;
 * the next round tries again). */
typedef int (*job_fn)(srv *s, int64_t now, long long *done);

/* The work of a jobs_sql() job, on "c" inside a transaction: *done as
 * above. */
typedef db_status (*job_sql_fn)(db_conn *c, int64_t now, long long *done);

/* Run "fn" in a transaction on a pooled connection, if no other server
 * process is running the job "name" right now (a transaction-level advisory
 * lock; otherwise *done = 0 and it returns 0 at once). Commits on DB_OK.
 * Returns 0, or -1 after logging the failure. */
int jobs_sql(srv *s, const char *name, job_sql_fn fn, int64_t now, long long *done);

/* A jobs_sql() job with an argument: "arg" (borrowed) is passed to "fn". */
typedef db_status (*job_sql_arg_fn)(db_conn *c, int64_t now, void *arg, long long *done);

/* jobs_sql() for a job_sql_arg_fn: the same transaction and advisory lock;
 * *ran tells whether "fn" ran and committed (false when another server
 * process holds the job's lock, or on failure). "ran" may be NULL. */
int jobs_sql_arg(srv *s, const char *name, job_sql_arg_fn fn, void *arg, int64_t now,
                 long long *done, bool *ran);

/* What one job did in jobs_run(). */
typedef struct {
    const char *name; /* static */
    long long done;
    bool ok;
    double ms;
} jobs_result;

/* The most jobs the table may hold. */
#define JOBS_MAX 32

/* Run every job once, in table order (or only the job named "only", when
 * not NULL), at auth_now(). Runs of the thread and of the test route never
 * overlap. Fills up to "cap" entries of "out" (may be NULL) and returns how
 * many jobs ran, or -1 when "only" names no job. */
int jobs_run(srv *s, const char *only, jobs_result *out, int cap);

/* What job number "i" (table order, 0..) did in this process: */
typedef struct {
    const char *name;   /* static */
    long long ok;       /* rounds that succeeded */
    long long failed;   /* rounds that failed (logged) */
    int64_t last_ok;    /* Unix seconds (real time) of the last success, 0 = none */
    double last_ms;     /* duration of the last round */
} jobs_stat;

/* Fill "out" for job "i". Returns 0, or -1 past the last job. Thread-safe
 * (a read may see a round half-recorded). */
int jobs_stats(int i, jobs_stat *out);

/* Start the thread: a round every "interval_s" seconds (the first one
 * interval after the start); 0 starts nothing. Call once the pool is up.
 * Returns 0, or -1 when the thread cannot start. */
int jobs_start(srv *s, int interval_s);

/* Stop the thread (waiting for a round in progress to end) and join it.
 * Call before the pool is freed. Safe when jobs_start() started nothing. */
void jobs_stop(void);

#endif
