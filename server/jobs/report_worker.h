/* The report worker: one thread per server process that makes due report
 * runs (svc_report_work(), docs/reports.md). It wakes when a run is asked
 * for by hand or the "reports" job created runs (report_worker_wake()),
 * and every METRON_REPORT_POLL_MS (5000) for runs that another process
 * queued or whose retry came due. METRON_REPORT_WORKERS=0 starts no thread
 * in this process (its runs are made by other processes, or in tests by
 * POST /api/v1/test/report-work). Several processes on one database never
 * make the same run: each claims runs with SKIP LOCKED and a lease. */
#ifndef MTS_REPORT_WORKER_H
#define MTS_REPORT_WORKER_H

#include <stdint.h>

#include "srv.h"

/* Start the thread (none with METRON_REPORT_WORKERS=0). 0, or -1. */
int report_worker_start(srv *s);

/* Wake the thread now (a run was queued). Safe without a thread. */
void report_worker_wake(void);

/* Stop the thread (a run in progress is finished first) and join it. */
void report_worker_stop(void);

/* The "reports" job (jobs.c): create the due automatic runs at "now" and
 * wake the thread. */
int report_worker_job(srv *s, int64_t now, long long *done);

#endif
