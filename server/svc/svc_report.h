/* Reports (T1, T2, P17; docs/reports.md): report settings per measurement
 * group, reports made by hand for any past period, automatic reports once
 * per period, and the work of making one: the figures (core's mt_stats
 * through svc_data_stats(), the same code as the data API's summary), the
 * charts (svc_data_decimate(), the graph API's buckets), the PDF, XLSX and
 * CSV files (server/report/), kept in the drive (P2) and announced by mail
 * through the outbox, with the PDF attached up to a size.
 *
 * Access: reading needs access to the group (administrators: every group;
 * members: a view or edit grant, directly or through a team); changing
 * settings and making a report by hand need edit access. A group, report
 * or run the user may not see is SVC_NOT_FOUND, one they may only view
 * SVC_FORBIDDEN. Every change is one transaction with its audit entry
 * ("report.create", "report.update", "report.delete", "report.run").
 *
 * Runs: a run is a row of report_runs, made by the scheduler (automatic,
 * at most one per report and period) or by hand. Any server process takes
 * a due run (SKIP LOCKED) with a lease, renders it, and in one transaction
 * records its drive files, marks it done and puts its mails into the
 * outbox, if it still holds the lease: a run ends done exactly once,
 * whatever the number of processes and restarts. A failed attempt is
 * retried after a back-off (1, 5, 30 min, 2 h) and ends "failed" after
 * REPORT_ATTEMPTS attempts, with its error; it can be queued again by
 * hand. */
#ifndef MTS_SVC_REPORT_H
#define MTS_SVC_REPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "db_report.h"
#include "svc.h"

#define REPORT_NAME_MAX_CHARS 100
#define REPORT_ATTEMPTS 5
#define REPORT_CUSTOM_MAX_DAYS 92 /* a period chosen by hand: at most this long */
#define REPORT_EVENTS_MAX 1000    /* alarm events listed in a report */

/* A report setting as the API gives it: NULL strings, has_ false and -1
 * are "not given" (keep, on an edit). */
typedef struct {
    const char *name;
    const char *period;   /* day, week, month */
    bool has_channels;
    long long channels[REPORT_CH_MAX];
    int n_channels;
    int summary;          /* -1, 0, 1 */
    const char *charts;   /* none, per_channel, overlaid */
    int alarms;
    const char *language;
    bool has_formats;
    int formats;          /* REPORT_FMT_* bits, at least one */
    bool has_users;
    long long users[REPORT_RCPT_MAX];
    int n_users;
    bool has_system;
    long long system[REPORT_RCPT_MAX];
    int n_system;
    int auto_enabled;
} svc_report_def;

/* The group's reports as {"items": [...], "total": n, "quota": {"id": "P17",
 * "limit": n, "used": n}} (*json, caller frees). */
MT_MUSTCHECK svc_status svc_report_list(const svc_actor *a, long long group_id, char **json,
                                        svc_error *e);

/* Report "id" as a JSON object (*json, caller frees). */
MT_MUSTCHECK svc_status svc_report_get(const svc_actor *a, long long id, char **json,
                                       svc_error *e);

/* Create a report in group "group_id" ("name", "period" and "channels"
 * are required). P17 is checked with the account row locked. */
MT_MUSTCHECK svc_status svc_report_create(const svc_actor *a, long long group_id,
                                          const svc_report_def *d, long long *id,
                                          svc_error *e);

/* Change report "id": the given members, checked with the kept ones. */
MT_MUSTCHECK svc_status svc_report_update(const svc_actor *a, long long id,
                                          const svc_report_def *d, svc_error *e);

/* Delete report "id" and its runs (the files it made stay in the drive). */
MT_MUSTCHECK svc_status svc_report_delete(const svc_actor *a, long long id, svc_error *e);

/* A report by hand: the report's period containing local date "date"
 * ('YYYY-MM-DD' in the group's time zone), or, with "from" and "to" (local
 * dates, "to" exclusive, at most REPORT_CUSTOM_MAX_DAYS apart), that
 * stretch. The period must have ended (SVC_CONFLICT period_not_over). The
 * run is queued: *run_id. */
MT_MUSTCHECK svc_status svc_report_run_create(const svc_actor *a, long long report_id,
                                              const char *date, const char *from,
                                              const char *to, long long *run_id, svc_error *e);

/* The report's runs, newest first: {"items": [...], "next_before": id|null}. */
MT_MUSTCHECK svc_status svc_report_runs(const svc_actor *a, long long report_id,
                                        long long before, int limit, char **json,
                                        svc_error *e);

/* Run "id" as a JSON object. */
MT_MUSTCHECK svc_status svc_report_run_get(const svc_actor *a, long long id, char **json,
                                           svc_error *e);

/* Queue failed run "id" again (SVC_CONFLICT not_failed otherwise). */
MT_MUSTCHECK svc_status svc_report_run_retry(const svc_actor *a, long long id, svc_error *e);

/* ------------------------------------------------------------ the work */

/* Settings of the background work (environment, docs/reports.md). */
typedef struct {
    int settle_s;         /* METRON_REPORT_SETTLE_S: wait after a period ends (300) */
    int wait_s;           /* METRON_REPORT_WAIT_S: longest wait for late data (21600) */
    int lease_s;          /* METRON_REPORT_LEASE_S: one attempt's lease (600) */
    long long attach_max; /* METRON_REPORT_ATTACH_MAX: largest PDF attached (5000000) */
    int retry_s;          /* METRON_REPORT_RETRY_S: the first back-off (60) */
    int test_stall_ms;    /* tests only (METRON_TEST_ROUTES=1): METRON_REPORT_TEST_STALL_MS,
                           * a pause before the files are stored (a kill -9 lands there) */
} svc_report_config;

/* The settings from the environment (defaults above). */
void svc_report_config_load(svc_report_config *cfg);

/* The scheduler (the "reports" job of jobs.c) at "now_s" (auth_now()):
 * for each report with automatic creation on whose next period is over
 * and settled, create its run (once: the unique index) and move on to the
 * following period, catching up missed periods in order. *created = runs
 * made. Returns 0, or -1 on a database failure (logged). */
int svc_report_schedule(srv *s, const svc_report_config *cfg, int64_t now_s, long long *created);

/* Remove what runs left in DATA/reports (temporary XLSX files of a
 * process that stopped mid-run): call at start, before any run (the data
 * folder belongs to one server process). */
void svc_report_tmp_sweep(const char *data_dir);

/* Take one due run and make it (render, store, announce), or mark its
 * attempt failed. *did false when no run was due. Returns 0, or -1 when
 * the database failed (logged). */
int svc_report_work(srv *s, const svc_report_config *cfg, bool *did);

#endif
