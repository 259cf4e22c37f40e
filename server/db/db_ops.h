/* The operator's statements (docs/operations.md): queue depths for
 * GET /metrics. */
#ifndef MTS_DB_OPS_H
#define MTS_DB_OPS_H

#include <stdbool.h>

#include "db.h"

/* Work waiting in the database, for GET /metrics. */
typedef struct {
    long long outbox;       /* notify_outbox rows queued, retrying or being sent */
    long long outbox_due;   /* of those, due now or earlier */
    long long exports;      /* exports running */
    long long report_runs;  /* report runs queued, retrying or running */
    long long hot_rows;     /* series_hot rows not yet compacted */
    long long hot_samples;  /* samples in them */
    double compactor_lag_s; /* age of the oldest hot row in seconds (0: none) */
    bool archiving;         /* WAL archiving is on (archive_mode) */
    long long archived;     /* pg_stat_archiver: WAL files archived */
    long long archive_failed; /* pg_stat_archiver: failed attempts */
    double last_archived_at;  /* Unix seconds, 0 = never */
    double last_failed_at;    /* Unix seconds, 0 = never */
} db_ops_queues;

/* Read the depths above at "now_s" (Unix seconds: the server's clock, so
 * that a test clock moves the ages too). */
MT_MUSTCHECK
db_status db_ops_queue_depths(db_conn *c, long long now_s, db_ops_queues *out);

#endif
