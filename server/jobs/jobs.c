/* Background jobs (jobs.h): the table, the thread and the helper for SQL
 * jobs. */
#define _POSIX_C_SOURCE 200809L
#include "jobs.h"

#include "db_outbox.h"

#include "series_store.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "batch_ids.h"
#include "db_account.h"
#include "db_alarm.h"
#include "db_auth.h"
#include "db_console.h"
#include "db_gateway.h"
#include "db_mqtt.h"
#include "db_jobs.h"
#include "log.h"
#include "report_worker.h"
#include "svc_alarm_notice.h"
#include "svc_auth.h"
#include "svc_drive.h"
#include "svc_export.h"
#include "svc_ops.h"

/* Rows one round of a sweep deletes at most (the next round goes on). */
#define SWEEP_LIMIT 10000

int jobs_sql_arg(srv *s, const char *name, job_sql_arg_fn fn, void *arg, int64_t now,
                 long long *done, bool *ran)
{
    db_conn *c = NULL;
    bool got = false;
    db_status st = db_acquire(s->pool, DB_WAIT_MS, &c);
    *done = 0;
    if (ran != NULL) {
        *ran = false;
    }
    if (st == DB_OK && (st = db_begin(c)) == DB_OK &&
        (st = db_job_try_lock(c, name, &got)) == DB_OK && got &&
        (st = fn(c, now, arg, done)) == DB_OK) {
        st = db_commit(c);
    } else if (st == DB_OK && !got) {
        st = db_rollback(c); /* another server process runs it now */
    }
    db_release(s->pool, c);
    if (st != DB_OK) {
        *done = 0;
        log_error("jobs: %s: %s", name, db_strerror(st));
        return -1;
    }
    if (ran != NULL) {
        *ran = got;
    }
    return 0;
}

/* jobs_sql(): "arg" is the plain job's function. */
static db_status run_plain(db_conn *c, int64_t now, void *arg, long long *done)
{
    const job_sql_fn *fn = arg;
    return (*fn)(c, now, done);
}

int jobs_sql(srv *s, const char *name, job_sql_fn fn, int64_t now, long long *done)
{
    return jobs_sql_arg(s, name, run_plain, &fn, now, done, NULL);
}

/* ------------------------------------------------------------- the jobs */

static db_status sweep_sessions(db_conn *c, int64_t now, long long *n)
{
    return db_auth_sweep_sessions(c, now, SWEEP_LIMIT, n);
}

static db_status sweep_email_codes(db_conn *c, int64_t now, long long *n)
{
    return db_auth_sweep_email_codes(c, now, SWEEP_LIMIT, n);
}

static db_status sweep_resets(db_conn *c, int64_t now, long long *n)
{
    return db_auth_sweep_resets(c, now, SWEEP_LIMIT, n);
}

static db_status sweep_tokens(db_conn *c, int64_t now, long long *n)
{
    return db_auth_sweep_tokens(c, now, SWEEP_LIMIT, n);
}

static db_status sweep_throttle(db_conn *c, int64_t now, long long *n)
{
    return db_auth_sweep_throttle(c, now, AUTH_THROTTLE_WINDOW_S, SWEEP_LIMIT, n);
}

/* Console resume tokens past their 10 minutes (docs/console.md
 * "Reconnecting"): their expiry is the database's clock, so "now" is not
 * used (a row the console's statements still take as live is never
 * deleted, whatever the server's or the test clock says). */
static db_status sweep_console_resumes(db_conn *c, int64_t now, long long *n)
{
    (void)now;
    return db_console_resumes_sweep(c, SWEEP_LIMIT, n);
}

static int job_console_resumes(srv *s, int64_t now, long long *done)
{
    return jobs_sql(s, "console_resumes", sweep_console_resumes, now, done);
}

static int job_temp_logins(srv *s, int64_t now, long long *done)
{
    return jobs_sql(s, "temp_logins", db_temp_logins_sweep, now, done);
}

static int job_sessions(srv *s, int64_t now, long long *done)
{
    return jobs_sql(s, "sessions", sweep_sessions, now, done);
}

static int job_email_codes(srv *s, int64_t now, long long *done)
{
    return jobs_sql(s, "email_codes", sweep_email_codes, now, done);
}

static int job_password_resets(srv *s, int64_t now, long long *done)
{
    return jobs_sql(s, "password_resets", sweep_resets, now, done);
}

static int job_api_tokens(srv *s, int64_t now, long long *done)
{
    return jobs_sql(s, "api_tokens", sweep_tokens, now, done);
}

static int job_login_throttle(srv *s, int64_t now, long long *done)
{
    return jobs_sql(s, "login_throttle", sweep_throttle, now, done);
}

/* The drive's L5 retention and the file store's sweep (svc_drive.h). */
static int job_drive(srv *s, int64_t now, long long *done)
{
    svc_drive_cleanup_stats st = {0};
    svc_error e = {0};
    if (svc_drive_cleanup(s->pool, now * 1000000LL, DRIVE_SWEEP_GRACE_S, &st, &e) != SVC_OK) {
        log_error("jobs: drive clean-up: %s", e.message);
        return -1;
    }
    *done = st.files_deleted + st.orphans_removed;
    return 0;
}

static db_status sweep_app_requests(db_conn *c, int64_t now, long long *n)
{
    return db_gw_requests_sweep(c, now, SWEEP_LIMIT, n);
}

static int job_app_requests(srv *s, int64_t now, long long *done)
{
    return jobs_sql(s, "app_requests", sweep_app_requests, now, done);
}

static db_status sweep_mqtt(db_conn *c, int64_t now, long long *n)
{
    return db_mqtt_sweep(c, now, SWEEP_LIMIT, n);
}

static int job_mqtt(srv *s, int64_t now, long long *done)
{
    return jobs_sql(s, "mqtt_certificates", sweep_mqtt, now, done);
}

static int job_data_retention(srv *s, int64_t now, long long *done)
{
    return jobs_sql(s, "data_retention", series_retention, now, done);
}

/* The outbox's rows past their expiry that no sender met (cancelled, a
 * sign-in code's text erased), and its finished rows (sent, dead,
 * cancelled) after 30 days, with their delivery log (docs/notify.md). */
static db_status purge_outbox(db_conn *c, int64_t now, long long *done)
{
    long long expired = 0;
    db_status st = db_outbox_expire(c, &expired);
    if (st == DB_OK) {
        st = db_outbox_purge(c, (long long)now - 30LL * 86400, 10000, done);
        *done += expired;
    }
    return st;
}

static int job_notify_outbox(srv *s, int64_t now, long long *done)
{
    return jobs_sql(s, "notify_outbox", purge_outbox, now, done);
}

typedef struct {
    const char *name;
    job_fn run;
    const char *what;
} job_def;

/* The jobs, in the order they run. One line each. */
static const job_def jobs[] = {
    {"sessions", job_sessions, "sessions idle past their expiry, two-step challenges"},
    {"email_codes", job_email_codes, "e-mailed sign-in codes past their expiry"},
    {"password_resets", job_password_resets, "reset links past their expiry (A4)"},
    {"api_tokens", job_api_tokens, "API tokens expired or revoked"},
    {"login_throttle", job_login_throttle, "throttle rows without failures for an hour"},
    {"trial_accounts", svc_ops_job_trials, "trials past their expiry, with all their data (L4)"},
    {"account_deletions", svc_ops_job_contracts, "accounts whose contract ended (O4)"},
    {"maintenance", svc_ops_job_maintenance, "the maintenance schedule reloaded (O1)"},
    {"data_retention", job_data_retention, "Free accounts' acquired data older than a year (L5)"},
    {"drive", job_drive, "Free accounts' drive files older than a year (L5), unrecorded blobs"},
    {"exports", svc_export_cleanup, "export files 24 h after the end, stale and orphaned exports"},
    {"ingest_batch_ids", batch_ids_job,
     "ingestion batch ids older than --batch-id-days (30), a bounded range of pages a round"},
    {"app_requests", job_app_requests, "requests to apps (self-check, firmware) 30 days old"},
    {"notify_outbox", job_notify_outbox,
     "outbox rows past their expiry; rows sent, dead or cancelled 30 days ago"},
    {"temp_logins", job_temp_logins, "alarm mail login links (A8) past their 30 minutes"},
    {"console_resumes", job_console_resumes,
     "console resume tokens past their 10 minutes (by the database's clock)"},
    {"alarm_no_data", svc_alarm_job_no_data, "no-data alarms: channels silent for N minutes"},
    {"alarm_repeats", svc_alarm_job_repeats, "repeat notifications of raised alarms"},
    {"app_connections", svc_alarm_job_apps, "apps silent too long disconnected; S6 notices"},
    {"storage_notices", svc_alarm_job_storage,
     "S7: less than 10 % of the storage left; S8: over quota, told, data deleted 31 days later"},
    {"licence_notices", svc_alarm_job_licence, "S9/L6: licence notices at 08:00 CST"},
    {"mqtt_certificates", job_mqtt, "app certificates expired 30 days, expired revocations"},
    {"reports", report_worker_job, "automatic reports of periods that ended (runs queued)"},
};

#define N_JOBS (int)(sizeof jobs / sizeof jobs[0])
_Static_assert(sizeof jobs / sizeof jobs[0] <= JOBS_MAX, "raise JOBS_MAX");

/* ---------------------------------------------------------------- running */

static pthread_mutex_t run_lock = PTHREAD_MUTEX_INITIALIZER;

/* What each job did so far in this process (GET /metrics), under run_lock
 * for writes; read without it (plain words, a torn read is harmless). */
static struct {
    long long ok, failed;
    int64_t last_ok; /* Unix seconds of the last successful round, 0 = none */
    double last_ms;
} stats[N_JOBS];

int jobs_stats(int i, jobs_stat *out)
{
    if (i < 0 || i >= N_JOBS) {
        return -1;
    }
    out->name = jobs[i].name;
    out->ok = stats[i].ok;
    out->failed = stats[i].failed;
    out->last_ok = stats[i].last_ok;
    out->last_ms = stats[i].last_ms;
    return 0;
}

static double ms_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

int jobs_run(srv *s, const char *only, jobs_result *out, int cap)
{
    int n_run = 0;
    int64_t now;
    if (only != NULL) {
        bool known = false;
        for (int i = 0; i < N_JOBS && !known; i++) {
            known = strcmp(jobs[i].name, only) == 0;
        }
        if (!known) {
            return -1;
        }
    }
    pthread_mutex_lock(&run_lock);
    now = auth_now();
    for (int i = 0; i < N_JOBS; i++) {
        struct timespec t0;
        long long done = 0;
        int rc;
        if (only != NULL && strcmp(jobs[i].name, only) != 0) {
            continue;
        }
        clock_gettime(CLOCK_MONOTONIC, &t0);
        rc = jobs[i].run(s, now, &done);
        if (rc == 0) {
            stats[i].ok++;
            stats[i].last_ok = (int64_t)time(NULL);
        } else {
            stats[i].failed++;
        }
        stats[i].last_ms = ms_since(&t0);
        if (out != NULL && n_run < cap) {
            out[n_run].name = jobs[i].name;
            out[n_run].done = done;
            out[n_run].ok = rc == 0;
            out[n_run].ms = ms_since(&t0);
        }
        if (rc == 0 && done > 0) {
            log_info("jobs: %s: %lld done (%s)", jobs[i].name, done, jobs[i].what);
        }
        n_run++;
    }
    pthread_mutex_unlock(&run_lock);
    return n_run;
}

/* ----------------------------------------------------------------- thread */

static pthread_t g_thread;
static bool g_running;
static bool g_stop;
static int g_interval_s;
static pthread_mutex_t g_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cond;

static void *jobs_main(void *arg)
{
    srv *s = arg;
    struct timespec due;
    pthread_mutex_lock(&g_mutex);
    for (;;) {
        int rc = 0;
        clock_gettime(CLOCK_MONOTONIC, &due);
        due.tv_sec += g_interval_s;
        while (!g_stop && rc != ETIMEDOUT) {
            rc = pthread_cond_timedwait(&g_cond, &g_mutex, &due);
        }
        if (g_stop) {
            break;
        }
        pthread_mutex_unlock(&g_mutex);
        jobs_run(s, NULL, NULL, 0);
        pthread_mutex_lock(&g_mutex);
    }
    pthread_mutex_unlock(&g_mutex);
    return NULL;
}

int jobs_start(srv *s, int interval_s)
{
    pthread_condattr_t attr;
    /* The maintenance schedule is in memory from the start on (O1). */
    (void)svc_ops_maintenance_reload(s);
    if (interval_s <= 0) {
        log_info("jobs: off (--jobs-interval 0)");
        return 0;
    }
    if (g_running) {
        return -1;
    }
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&g_cond, &attr);
    pthread_condattr_destroy(&attr);
    g_interval_s = interval_s;
    g_stop = false;
    if (pthread_create(&g_thread, NULL, jobs_main, s) != 0) {
        pthread_cond_destroy(&g_cond);
        return -1;
    }
    g_running = true;
    return 0;
}

void jobs_stop(void)
{
    if (!g_running) {
        return;
    }
    pthread_mutex_lock(&g_mutex);
    g_stop = true;
    pthread_cond_signal(&g_cond);
    pthread_mutex_unlock(&g_mutex);
    pthread_join(g_thread, NULL);
    pthread_cond_destroy(&g_cond);
    g_running = false;
}
