/* server/refresher.c: jobs run once each, in order, on one thread, with a
 * copy of their argument; submissions never block and are refused when the
 * queue is full or the thread is not running. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "refresher.h"
#include "t.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int seen[REFRESH_QUEUE + 8], n_seen;
static bool gate_open, gate_entered;
static pthread_t job_thread;

/* A job recording its argument (an int) and its thread. */
static void record(void *ctx, const void *arg)
{
    int v;
    memcpy(&v, arg, sizeof v);
    pthread_mutex_lock(&mu);
    if (ctx != NULL && n_seen < (int)(sizeof seen / sizeof seen[0])) {
        seen[n_seen++] = v;
    }
    job_thread = pthread_self();
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

/* A job that waits until the gate opens. */
static void wait_gate(void *ctx, const void *arg)
{
    (void)ctx;
    (void)arg;
    pthread_mutex_lock(&mu);
    gate_entered = true;
    pthread_cond_broadcast(&cv);
    while (!gate_open) {
        pthread_cond_wait(&cv, &mu);
    }
    pthread_mutex_unlock(&mu);
}

/* Wait (at most 5 s) until "n" jobs were recorded; returns the count. */
static int wait_seen(int n)
{
    struct timespec until;
    int got;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 5;
    pthread_mutex_lock(&mu);
    while (n_seen < n && pthread_cond_timedwait(&cv, &mu, &until) == 0) {
    }
    got = n_seen;
    pthread_mutex_unlock(&mu);
    return got;
}

/* Wait (at most 5 s) until the gate job runs; returns whether it does. */
static bool wait_gate_entered(void)
{
    struct timespec until;
    bool in;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 5;
    pthread_mutex_lock(&mu);
    while (!gate_entered && pthread_cond_timedwait(&cv, &mu, &until) == 0) {
    }
    in = gate_entered;
    pthread_mutex_unlock(&mu);
    return in;
}

/* Wait (at most 5 s) until the refresher counts "n" jobs run; returns the
 * count. A job counts once it has returned, a little after it recorded
 * itself. */
static unsigned long long wait_run(unsigned long long n)
{
    unsigned long long run = 0;
    for (int i = 0; i < 5000; i++) {
        refresher_counts(&run, NULL);
        if (run >= n) {
            break;
        }
        struct timespec ms = {0, 1000000L};
        nanosleep(&ms, NULL);
    }
    return run;
}

/* A fresh start for each test: no refresher left running by a test that
 * failed half-way, nothing recorded, the gate shut. The gate is opened
 * first: a test that failed before it opened the gate left the thread in
 * wait_gate(), and refresher_stop() would wait for it for ever. */
static void reset(void)
{
    pthread_mutex_lock(&mu);
    gate_open = true;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    refresher_stop();
    pthread_mutex_lock(&mu);
    n_seen = 0;
    gate_open = false;
    gate_entered = false;
    pthread_mutex_unlock(&mu);
}

static int ctx_mark; /* a non-NULL context */

static void refresher_refuses_jobs_when_not_running(void)
{
    unsigned long long run0, refused0, run1, refused1;
    int v = 1;
    reset();
    refresher_counts(&run0, &refused0);
    T_TRUE(!refresher_submit(record, &ctx_mark, &v, sizeof v));
    refresher_counts(&run1, &refused1);
    T_EQ_INT(refused1 - refused0, 1);
    T_EQ_INT(run1 - run0, 0);
    refresher_stop(); /* stopping what does not run is nothing */
}

static void refresher_runs_each_job_once_in_order_with_a_copy(void)
{
    unsigned long long run0, run1;
    reset();
    T_EQ_INT(refresher_start(), 0);
    T_EQ_INT(refresher_start(), -1); /* already running */
    refresher_counts(&run0, NULL);
    for (int i = 0; i < 50; i++) {
        int v = i * 3;
        T_TRUE(refresher_submit(record, &ctx_mark, &v, sizeof v));
        v = -1; /* the job has its own copy */
    }
    T_EQ_INT(wait_seen(50), 50);
    for (int i = 0; i < 50; i++) {
        T_EQ_INT(seen[i], i * 3);
    }
    T_TRUE(!pthread_equal(job_thread, pthread_self()));
    run1 = wait_run(run0 + 50);
    T_EQ_INT(run1 - run0, 50);
    refresher_stop();
}

static void refresher_refuses_bad_submissions(void)
{
    unsigned char big[REFRESH_ARG_MAX + 1] = {0};
    reset();
    T_EQ_INT(refresher_start(), 0);
    T_TRUE(!refresher_submit(record, &ctx_mark, big, sizeof big));
    T_TRUE(!refresher_submit(NULL, &ctx_mark, big, 4));
    T_TRUE(!refresher_submit(record, &ctx_mark, NULL, 4));
    T_TRUE(refresher_submit(record, &ctx_mark, big, REFRESH_ARG_MAX));
    T_EQ_INT(wait_seen(1), 1);
    refresher_stop();
}

static void refresher_refuses_when_full_and_never_blocks(void)
{
    int v = 7, queued = 0;
    reset();
    T_EQ_INT(refresher_start(), 0);
    T_TRUE(refresher_submit(wait_gate, NULL, NULL, 0));
    /* Once the gate job runs (and blocks the thread), the queue is empty. */
    T_TRUE(wait_gate_entered());
    for (int i = 0; i < REFRESH_QUEUE + 1; i++) {
        queued += refresher_submit(record, &ctx_mark, &v, sizeof v);
    }
    T_EQ_INT(queued, REFRESH_QUEUE);
    T_TRUE(!refresher_submit(record, &ctx_mark, &v, sizeof v));
    pthread_mutex_lock(&mu);
    gate_open = true;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    T_EQ_INT(wait_seen(queued), queued);
    /* Room again. */
    T_TRUE(refresher_submit(record, &ctx_mark, &v, sizeof v));
    T_EQ_INT(wait_seen(queued + 1), queued + 1);
    refresher_stop();
    T_TRUE(!refresher_submit(record, &ctx_mark, &v, sizeof v));
}

static void refresher_stop_drops_queued_jobs_and_restarts(void)
{
    int v = 9;
    reset();
    T_EQ_INT(refresher_start(), 0);
    T_TRUE(refresher_submit(wait_gate, NULL, NULL, 0));
    for (int i = 0; i < 10; i++) {
        T_TRUE(refresher_submit(record, &ctx_mark, &v, sizeof v));
    }
    /* Stop waits for the running job only; whatever is queued when the
     * thread sees the stop is dropped. */
    pthread_mutex_lock(&mu);
    gate_open = true;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    refresher_stop();
    T_TRUE(!refresher_submit(record, &ctx_mark, &v, sizeof v));
    reset();
    T_EQ_INT(refresher_start(), 0);
    T_TRUE(refresher_submit(record, &ctx_mark, &v, sizeof v));
    T_EQ_INT(wait_seen(1), 1);
    refresher_stop();
}

void suite_refresher(void)
{
    T_RUN(refresher_refuses_jobs_when_not_running);
    T_RUN(refresher_runs_each_job_once_in_order_with_a_copy);
    T_RUN(refresher_refuses_bad_submissions);
    T_RUN(refresher_refuses_when_full_and_never_blocks);
    T_RUN(refresher_stop_drops_queued_jobs_and_restarts);
}
