#define _POSIX_C_SOURCE 200809L
#include "linelog.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

static struct {
    pthread_mutex_t mu;
    pthread_cond_t data;  /* the writer waits for lines (or the stop) */
    pthread_cond_t space; /* appenders wait for room */
    char *cur, *spare;    /* cur: being appended to; spare: being written */
    size_t len;           /* bytes in cur */
    bool writing;         /* the writer is writing spare, unlocked */
    bool running, stop;
    bool conds; /* data and space initialised */
    int fd;
    pthread_t th;
} g = {.mu = PTHREAD_MUTEX_INITIALIZER, .fd = -1};

static void deadline_in(struct timespec *ts, long ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_nsec += ms * 1000000L;
    while (ts->tv_nsec >= 1000000000L) {
        ts->tv_nsec -= 1000000000L;
        ts->tv_sec++;
    }
}

static void *writer(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&g.mu);
    for (;;) {
        struct timespec until;
        char *full;
        size_t n;
        while (g.len == 0 && !g.stop) {
            pthread_cond_wait(&g.data, &g.mu);
        }
        if (g.len == 0) {
            break; /* stopping, everything written */
        }
        /* A batch: what comes within LINELOG_FLUSH_MS of its first line,
         * unless the buffer is half full first. */
        deadline_in(&until, LINELOG_FLUSH_MS);
        while (g.len < LINELOG_BUF / 2 && !g.stop) {
            if (pthread_cond_timedwait(&g.data, &g.mu, &until) == ETIMEDOUT) {
                break;
            }
        }
        full = g.cur;
        n = g.len;
        g.cur = g.spare;
        g.spare = full;
        g.len = 0;
        g.writing = true;
        pthread_cond_broadcast(&g.space);
        pthread_mutex_unlock(&g.mu);
        (void)log_write_all(g.fd, full, n);
        pthread_mutex_lock(&g.mu);
        g.writing = false;
        pthread_cond_broadcast(&g.space);
    }
    pthread_mutex_unlock(&g.mu);
    return NULL;
}

int linelog_start(int fd)
{
    pthread_condattr_t ca;
    int rc = -1;
    pthread_mutex_lock(&g.mu);
    if (g.running || fd < 0) {
        goto out;
    }
    g.cur = malloc(LINELOG_BUF);
    g.spare = malloc(LINELOG_BUF);
    if (g.cur == NULL || g.spare == NULL) {
        goto fail;
    }
    if (!g.conds) {
        /* Once for the process: an appender may still be leaving a wait
         * on "space" after linelog_stop(). */
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&g.data, &ca);
        pthread_condattr_destroy(&ca);
        pthread_cond_init(&g.space, NULL);
        g.conds = true;
    }
    g.len = 0;
    g.writing = false;
    g.stop = false;
    g.fd = fd;
    if (pthread_create(&g.th, NULL, writer, NULL) != 0) {
        goto fail;
    }
    g.running = true;
    rc = 0;
    goto out;
fail:
    free(g.cur);
    free(g.spare);
    g.cur = g.spare = NULL;
    g.fd = -1;
out:
    pthread_mutex_unlock(&g.mu);
    return rc;
}

void linelog_put(int fd, const char *buf, size_t len)
{
    bool first;
    if (len == 0) {
        return;
    }
    pthread_mutex_lock(&g.mu);
    if (!g.running || g.stop || fd != g.fd) {
        pthread_mutex_unlock(&g.mu);
        (void)log_write_all(fd, buf, len);
        return;
    }
    if (len > LINELOG_BUF / 2) {
        /* After everything buffered, in order: wait for the writer to be
         * idle and empty, then write while holding the lock. */
        while ((g.len > 0 || g.writing) && g.running) {
            pthread_cond_signal(&g.data);
            pthread_cond_wait(&g.space, &g.mu);
        }
        (void)log_write_all(fd, buf, len);
        pthread_mutex_unlock(&g.mu);
        return;
    }
    while (g.len + len > LINELOG_BUF && g.running) {
        pthread_cond_signal(&g.data);
        pthread_cond_wait(&g.space, &g.mu);
    }
    if (!g.running) {
        pthread_mutex_unlock(&g.mu);
        (void)log_write_all(fd, buf, len);
        return;
    }
    first = g.len == 0;
    memcpy(g.cur + g.len, buf, len);
    g.len += len;
    /* One wake-up per batch: its first line, and when it reaches half. */
    if (first || (g.len >= LINELOG_BUF / 2 && g.len - len < LINELOG_BUF / 2)) {
        pthread_cond_signal(&g.data);
    }
    pthread_mutex_unlock(&g.mu);
}

void linelog_stop(void)
{
    pthread_mutex_lock(&g.mu);
    if (!g.running || g.stop) {
        pthread_mutex_unlock(&g.mu);
        return;
    }
    g.stop = true;
    pthread_cond_signal(&g.data);
    pthread_mutex_unlock(&g.mu);
    pthread_join(g.th, NULL);
    pthread_mutex_lock(&g.mu);
    /* A line appended after the writer's last batch (an appender that
     * waited for room while it stopped) is written here. */
    if (g.len > 0) {
        (void)log_write_all(g.fd, g.cur, g.len);
        g.len = 0;
    }
    g.running = false;
    g.stop = false;
    pthread_cond_broadcast(&g.space);
    /* Appenders that waited for room see running == false and write their
     * line themselves; nobody touches the buffers any more. */
    free(g.cur);
    free(g.spare);
    g.cur = g.spare = NULL;
    g.fd = -1;
    pthread_mutex_unlock(&g.mu);
}
