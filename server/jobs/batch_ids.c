/* The job "ingest_batch_ids" (see batch_ids.h). */
#define _POSIX_C_SOURCE 200809L
#include "batch_ids.h"

#include <stdbool.h>

#include "db_batch_ids.h"
#include "jobs.h"
#include "metrics.h"

typedef struct {
    int64_t cutoff;
    bool more;
} step_arg;

static db_status step(db_conn *c, int64_t now, void *arg, long long *done)
{
    step_arg *a = arg;
    db_batch_ids_step out;
    db_status st = db_batch_ids_prune_step(c, now, a->cutoff, BATCH_IDS_PASS_EVERY_S, &out);
    *done = st == DB_OK ? out.deleted : 0;
    a->more = st == DB_OK && out.more;
    return st;
}

int batch_ids_job(srv *s, int64_t now, long long *done)
{
    step_arg a = {now - (int64_t)s->cfg.batch_id_days * 86400, false};
    *done = 0;
    if (s->cfg.batch_id_days <= 0) {
        return 0;
    }
    for (int i = 0; i < BATCH_IDS_STEPS_PER_ROUND; i++) {
        long long n = 0;
        bool ran = false;
        a.more = false;
        if (jobs_sql_arg(s, "ingest_batch_ids", step, &a, now, &n, &ran) != 0) {
            return -1;
        }
        /* Counted once committed: a failed step deleted nothing. */
        *done += n;
        metrics_add(METRIC_INGEST_BATCH_IDS_PRUNED, n);
        if (!ran || !a.more) {
            break; /* another process takes the pass on, or it waits */
        }
    }
    return 0;
}
