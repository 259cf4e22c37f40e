/* The report worker thread (report_worker.h). */
#define _POSIX_C_SOURCE 200809L
#include "report_worker.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "log.h"
#include "svc_report.h"

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    bool running, stop, woken;
    int poll_ms;
    srv *s;
    svc_report_config cfg;
} g = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void *worker_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&g.mu);
    while (!g.stop) {
        struct timespec due;
        int rc = 0;
        clock_gettime(CLOCK_MONOTONIC, &due);
        due.tv_sec += g.poll_ms / 1000;
        due.tv_nsec += (long)(g.poll_ms % 1000) * 1000000L;
        if (due.tv_nsec >= 1000000000L) {
            due.tv_sec++;
            due.tv_nsec -= 1000000000L;
        }
        while (!g.stop && !g.woken && rc != ETIMEDOUT) {
            rc = pthread_cond_timedwait(&g.cv, &g.mu, &due);
        }
        g.woken = false;
        while (!g.stop) {
            bool did = false;
            pthread_mutex_unlock(&g.mu);
            if (svc_report_work(g.s, &g.cfg, &did) != 0) {
                did = false; /* the database failed: wait for the next poll */
            }
            pthread_mutex_lock(&g.mu);
            if (!did) {
                break;
            }
        }
    }
    pthread_mutex_unlock(&g.mu);
    return NULL;
}

int report_worker_start(srv *s)
{
    const char *n = getenv("METRON_REPORT_WORKERS");
    const char *poll = getenv("METRON_REPORT_POLL_MS");
    pthread_condattr_t attr;
    g.s = s;
    svc_report_config_load(&g.cfg);
    svc_report_tmp_sweep(s->cfg.data_dir);
    g.poll_ms = poll != NULL && atoi(poll) >= 50 ? atoi(poll) : 5000;
    if (n != NULL && n[0] == '0' && n[1] == '\0') {
        log_info("reports: no worker thread in this process (METRON_REPORT_WORKERS=0)");
        return 0;
    }
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&g.cv, &attr);
    pthread_condattr_destroy(&attr);
    g.stop = false;
    if (pthread_create(&g.thread, NULL, worker_main, NULL) != 0) {
        pthread_cond_destroy(&g.cv);
        return -1;
    }
    g.running = true;
    return 0;
}

void report_worker_wake(void)
{
    pthread_mutex_lock(&g.mu);
    g.woken = true;
    if (g.running) {
        pthread_cond_signal(&g.cv);
    }
    pthread_mutex_unlock(&g.mu);
}

void report_worker_stop(void)
{
    if (!g.running) {
        return;
    }
    pthread_mutex_lock(&g.mu);
    g.stop = true;
    pthread_cond_signal(&g.cv);
    pthread_mutex_unlock(&g.mu);
    pthread_join(g.thread, NULL);
    pthread_cond_destroy(&g.cv);
    g.running = false;
}

int report_worker_job(srv *s, int64_t now, long long *done)
{
    svc_report_config cfg;
    svc_report_config_load(&cfg);
    if (svc_report_schedule(s, &cfg, now, done) != 0) {
        return -1;
    }
    if (*done > 0) {
        report_worker_wake();
    }
    return 0;
}
