/* A background thread that runs a round of work every "interval_ms" (and
 * again at once while the round says more is waiting), until stopped. The
 * compactor (series_store.c) and the computed-channel back-fill
 * (computed.c) are such workers. */
#ifndef MTS_WORKER_H
#define MTS_WORKER_H

#include <pthread.h>
#include <stdbool.h>

/* One round: 1 when more work is waiting (run again at once), 0 when done
 * for now, -1 on failure (logged by the round; retried one interval later).
 * "stop" turns true when the worker is being stopped. */
typedef int (*worker_round_fn)(void *ctx, const volatile bool *stop);

typedef struct {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    volatile bool stop;
    bool running;
    int interval_ms;
    worker_round_fn round;
    void *ctx;
} worker;

/* Start "w" (zeroed or previously stopped). Returns 0, or -1 when the
 * thread cannot start. */
int worker_start(worker *w, int interval_ms, worker_round_fn round, void *ctx);

/* Stop "w": wake it, wait for a round in progress to end, join the thread.
 * Safe when it was never started. */
void worker_stop(worker *w);

#endif
