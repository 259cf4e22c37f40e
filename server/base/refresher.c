/* The refresher thread (refresher.h). */
#define _POSIX_C_SOURCE 200809L
#include "refresher.h"

#include <pthread.h>
#include <string.h>

typedef struct {
    refresh_fn fn;
    void *ctx;
    size_t len;
    unsigned char arg[REFRESH_ARG_MAX];
} job;

static pthread_mutex_t g_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cond = PTHREAD_COND_INITIALIZER;
static pthread_t g_thread;
static bool g_running, g_stop;
static job g_queue[REFRESH_QUEUE]; /* a ring: g_head is the next to run */
static size_t g_head, g_count;
static unsigned long long g_run, g_refused;

static void *refresher_main(void *unused)
{
    job j;
    (void)unused;
    pthread_mutex_lock(&g_mutex);
    for (;;) {
        while (!g_stop && g_count == 0) {
            pthread_cond_wait(&g_cond, &g_mutex);
        }
        if (g_stop) {
            break;
        }
        j = g_queue[g_head]; /* copied out: the slot is free for the next submit */
        g_head = (g_head + 1) % REFRESH_QUEUE;
        g_count--;
        pthread_mutex_unlock(&g_mutex);
        j.fn(j.ctx, j.arg);
        pthread_mutex_lock(&g_mutex);
        g_run++;
    }
    g_count = 0;
    pthread_mutex_unlock(&g_mutex);
    return NULL;
}

int refresher_start(void)
{
    int rc = -1;
    pthread_mutex_lock(&g_mutex);
    if (!g_running) {
        g_stop = false;
        g_head = g_count = 0;
        if (pthread_create(&g_thread, NULL, refresher_main, NULL) == 0) {
            g_running = true;
            rc = 0;
        }
    }
    pthread_mutex_unlock(&g_mutex);
    return rc;
}

void refresher_stop(void)
{
    pthread_mutex_lock(&g_mutex);
    if (!g_running) {
        pthread_mutex_unlock(&g_mutex);
        return;
    }
    g_stop = true;
    pthread_cond_signal(&g_cond);
    pthread_mutex_unlock(&g_mutex);
    pthread_join(g_thread, NULL);
    pthread_mutex_lock(&g_mutex);
    g_running = false;
    pthread_mutex_unlock(&g_mutex);
}

bool refresher_submit(refresh_fn fn, void *ctx, const void *arg, size_t len)
{
    bool queued = false;
    if (fn == NULL || len > REFRESH_ARG_MAX || (len > 0 && arg == NULL)) {
        return false;
    }
    pthread_mutex_lock(&g_mutex);
    if (g_running && !g_stop && g_count < REFRESH_QUEUE) {
        job *j = &g_queue[(g_head + g_count) % REFRESH_QUEUE];
        j->fn = fn;
        j->ctx = ctx;
        j->len = len;
        if (len > 0) {
            memcpy(j->arg, arg, len);
        }
        g_count++;
        queued = true;
        pthread_cond_signal(&g_cond);
    } else {
        g_refused++;
    }
    pthread_mutex_unlock(&g_mutex);
    return queued;
}

void refresher_counts(unsigned long long *run, unsigned long long *refused)
{
    pthread_mutex_lock(&g_mutex);
    if (run != NULL) {
        *run = g_run;
    }
    if (refused != NULL) {
        *refused = g_refused;
    }
    pthread_mutex_unlock(&g_mutex);
}
