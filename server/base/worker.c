/* Periodic background workers (see worker.h). */
#define _POSIX_C_SOURCE 200809L
#include "worker.h"

#include <time.h>

static void *worker_main(void *arg)
{
    worker *w = arg;
    pthread_mutex_lock(&w->mu);
    while (!w->stop) {
        struct timespec until;
        int rc;
        pthread_mutex_unlock(&w->mu);
        do {
            rc = w->round(w->ctx, &w->stop);
        } while (rc == 1 && !w->stop);
        pthread_mutex_lock(&w->mu);
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += w->interval_ms / 1000;
        until.tv_nsec += (long)(w->interval_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        if (!w->stop) {
            pthread_cond_timedwait(&w->cv, &w->mu, &until);
        }
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

int worker_start(worker *w, int interval_ms, worker_round_fn round, void *ctx)
{
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    w->interval_ms = interval_ms > 0 ? interval_ms : 1000;
    w->round = round;
    w->ctx = ctx;
    w->stop = false;
    if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
        return -1;
    }
    w->running = true;
    return 0;
}

void worker_stop(worker *w)
{
    if (!w->running) {
        return;
    }
    pthread_mutex_lock(&w->mu);
    w->stop = true;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    w->running = false;
}
