/* The operator's statements (see db_ops.h). */
#include "db_ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static db_stmt st_queues = {"ops_queues",
    "SELECT (SELECT count(*) FROM notify_outbox WHERE state IN ('queued', 'retry', 'sending')), "
    "  (SELECT count(*) FROM notify_outbox WHERE state IN ('queued', 'retry', 'sending') "
    "     AND next_at <= to_timestamp($1::bigint)), "
    "  (SELECT count(*) FROM exports WHERE status = 'running'), "
    "  (SELECT count(*) FROM report_runs WHERE state IN ('queued', 'retry', 'running')), "
    "  (SELECT count(*) FROM series_hot), "
    "  (SELECT COALESCE(sum(n), 0) FROM series_hot), "
    "  COALESCE((SELECT greatest(0, $1::bigint - extract(epoch FROM created_at)) "
    "            FROM series_hot ORDER BY id LIMIT 1), 0), "
    "  current_setting('archive_mode') <> 'off', "
    "  a.archived_count, a.failed_count, "
    "  COALESCE(extract(epoch FROM a.last_archived_time), 0), "
    "  COALESCE(extract(epoch FROM a.last_failed_time), 0) "
    "FROM pg_stat_archiver a", 0};

db_status db_ops_queue_depths(db_conn *c, long long now_s, db_ops_queues *out)
{
    char now[24];
    const char *p[] = {now};
    PGresult *res = NULL;
    db_status st;
    snprintf(now, sizeof now, "%lld", now_s);
    memset(out, 0, sizeof *out);
    st = db_exec(c, &st_queues, 1, p, &res);
    if (st == DB_OK && PQntuples(res) == 1) {
        long long *ints[] = {&out->outbox, &out->outbox_due, &out->exports, &out->report_runs,
                             &out->hot_rows, &out->hot_samples};
        for (int i = 0; i < 6; i++) {
            *ints[i] = strtoll(PQgetvalue(res, 0, i), NULL, 10);
        }
        out->compactor_lag_s = strtod(PQgetvalue(res, 0, 6), NULL);
        out->archiving = PQgetvalue(res, 0, 7)[0] == 't';
        out->archived = strtoll(PQgetvalue(res, 0, 8), NULL, 10);
        out->archive_failed = strtoll(PQgetvalue(res, 0, 9), NULL, 10);
        out->last_archived_at = strtod(PQgetvalue(res, 0, 10), NULL);
        out->last_failed_at = strtod(PQgetvalue(res, 0, 11), NULL);
    }
    PQclear(res);
    return st;
}
