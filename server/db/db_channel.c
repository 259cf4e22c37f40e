/* A LISTEN thread on one channel (db_channel.h). */
#define _POSIX_C_SOURCE 200809L
#include "db_channel.h"

#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

struct db_channel {
    pthread_t thread;
    char *conninfo;
    char listen_sql[96];
    char channel[64];
    int tick_ms;
    db_channel_fn fn;
    void *arg;
    int wake[2]; /* a byte written to [1] stops the thread */
    atomic_bool listening;
};

/* Wait up to "ms" for "fd" (fd < 0: just wait) or the stop byte. Returns 1
 * when fd is readable, 0 on time-out, -1 to stop. */
static int wait_for(const db_channel *l, int fd, int ms)
{
    struct pollfd p[2] = {{l->wake[0], POLLIN, 0}, {fd, POLLIN, 0}};
    int n = poll(p, fd >= 0 ? 2 : 1, ms);
    if (n < 0) {
        return errno == EINTR ? 0 : -1;
    }
    if (p[0].revents != 0) {
        return -1;
    }
    return fd >= 0 && p[1].revents != 0 ? 1 : 0;
}

static PGconn *connect_listen(const db_channel *l, char *why, size_t why_cap)
{
    PGconn *c = PQconnectdb(l->conninfo);
    PGresult *r;
    if (PQstatus(c) != CONNECTION_OK) {
        snprintf(why, why_cap, "%.*s", (int)strcspn(PQerrorMessage(c), "\n"),
                 PQerrorMessage(c));
        PQfinish(c);
        return NULL;
    }
    r = PQexec(c, l->listen_sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        snprintf(why, why_cap, "%.*s", (int)strcspn(PQerrorMessage(c), "\n"),
                 PQerrorMessage(c));
        PQclear(r);
        PQfinish(c);
        return NULL;
    }
    PQclear(r);
    return c;
}

static void *channel_main(void *arg)
{
    db_channel *l = arg;
    PGconn *c = NULL;
    bool said_down = false;
    char why[256] = "";
    for (;;) {
        int w;
        if (c == NULL) {
            c = connect_listen(l, why, sizeof why);
            if (c == NULL) {
                if (!said_down) {
                    log_warn("listener %s: cannot listen (%s); polling until it can", l->channel,
                             why);
                    said_down = true;
                }
                l->fn(l->arg, false);
                if (wait_for(l, -1, 1000) < 0) {
                    break;
                }
                continue;
            }
            atomic_store(&l->listening, true);
            if (said_down) {
                log_info("listener %s: listening again", l->channel);
            }
            said_down = false;
            /* Whatever was announced while nobody listened: look now. */
            l->fn(l->arg, true);
        }
        w = wait_for(l, PQsocket(c), l->tick_ms);
        if (w < 0) {
            break;
        }
        if (w == 0) {
            l->fn(l->arg, false);
            continue;
        }
        if (PQconsumeInput(c) == 0 || PQstatus(c) != CONNECTION_OK) {
            snprintf(why, sizeof why, "%.*s", (int)strcspn(PQerrorMessage(c), "\n"),
                     PQerrorMessage(c));
            atomic_store(&l->listening, false);
            PQfinish(c);
            c = NULL;
            log_warn("listener %s: connection lost (%s); reconnecting", l->channel, why);
            said_down = true;
            continue;
        }
        bool any = false;
        for (PGnotify *n = PQnotifies(c); n != NULL; n = PQnotifies(c)) {
            any = true;
            PQfreemem(n);
        }
        if (any) {
            l->fn(l->arg, true);
        }
    }
    atomic_store(&l->listening, false);
    PQfinish(c);
    return NULL;
}

db_channel *db_channel_start(const char *conninfo, const char *channel, int tick_ms,
                             db_channel_fn fn, void *arg)
{
    db_channel *l = calloc(1, sizeof *l);
    if (l == NULL) {
        return NULL;
    }
    l->wake[0] = l->wake[1] = -1;
    l->conninfo = strdup(conninfo);
    if (l->conninfo == NULL || pipe(l->wake) != 0) {
        free(l->conninfo);
        free(l);
        return NULL;
    }
    fcntl(l->wake[1], F_SETFL, O_NONBLOCK);
    snprintf(l->channel, sizeof l->channel, "%s", channel);
    snprintf(l->listen_sql, sizeof l->listen_sql, "LISTEN %s", l->channel);
    l->tick_ms = tick_ms > 0 ? tick_ms : 1000;
    l->fn = fn;
    l->arg = arg;
    atomic_init(&l->listening, false);
    if (pthread_create(&l->thread, NULL, channel_main, l) != 0) {
        close(l->wake[0]);
        close(l->wake[1]);
        free(l->conninfo);
        free(l);
        return NULL;
    }
    return l;
}

bool db_channel_listening(const db_channel *l)
{
    return l != NULL && atomic_load(&l->listening);
}

void db_channel_stop(db_channel *l)
{
    if (l == NULL) {
        return;
    }
    (void)!write(l->wake[1], "x", 1);
    pthread_join(l->thread, NULL);
    close(l->wake[0]);
    close(l->wake[1]);
    free(l->conninfo);
    free(l);
}
