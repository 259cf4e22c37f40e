/* The listener thread (db_listen.h). */
#define _POSIX_C_SOURCE 200809L
#include "db_listen.h"

#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "log.h"

static pthread_t g_thread;
static bool g_running;
static char *g_conninfo;
static int g_wake[2] = {-1, -1}; /* a byte written to [1] stops the thread */

/* The barriers being waited for (db_listen_barrier_begin()), under g_mu;
 * g_heard is broadcast when one is heard. */
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_heard;
static pthread_once_t g_heard_once = PTHREAD_ONCE_INIT;
static db_listen_barrier *g_waiting;
static unsigned long long g_barriers; /* made so far, under g_mu */

/* Outside any transaction, so committed at once. */
static db_stmt st_barrier = {"listen_barrier", "SELECT pg_notify($1, $2)", 0};

/* Wait up to "ms" for "fd" to be readable (fd < 0: just wait) or for the
 * stop byte. Returns 1 when fd is readable, 0 on time-out, -1 to stop. */
static int wait_for(int fd, int ms)
{
    struct pollfd p[2] = {{g_wake[0], POLLIN, 0}, {fd, POLLIN, 0}};
    int n = poll(p, fd >= 0 ? 2 : 1, ms);
    if (n < 0) {
        return errno == EINTR ? 0 : -1;
    }
    if (p[0].revents != 0) {
        return -1;
    }
    return fd >= 0 && p[1].revents != 0 ? 1 : 0;
}

/* The first line of libpq's message "m" into "why". */
static void first_line(const char *m, char *why, size_t why_cap)
{
    snprintf(why, why_cap, "%.*s", (int)strcspn(m, "\n"), m);
}

/* Connect and LISTEN. Returns the connection, or NULL (logged once per
 * outage by the caller). */
static PGconn *connect_listen(char *why, size_t why_cap)
{
    PGconn *c = PQconnectdb(g_conninfo);
    PGresult *r;
    if (PQstatus(c) != CONNECTION_OK) {
        first_line(PQerrorMessage(c), why, why_cap);
        PQfinish(c);
        return NULL;
    }
    r = PQexec(c, "LISTEN " DB_LISTEN_CHANNEL);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        first_line(PQerrorMessage(c), why, why_cap);
        PQclear(r);
        PQfinish(c);
        return NULL;
    }
    PQclear(r);
    return c;
}

/* Mark the barrier waiting for "payload" heard, if there is one. */
static void barrier_heard(const char *payload)
{
    pthread_mutex_lock(&g_mu);
    for (db_listen_barrier *b = g_waiting; b != NULL; b = b->next) {
        if (strcmp(b->payload, payload) == 0) {
            b->heard = true;
            pthread_cond_broadcast(&g_heard);
            break;
        }
    }
    pthread_mutex_unlock(&g_mu);
}

void db_listen_heard(const char *payload)
{
    char *end = NULL;
    long long id;
    if (strncmp(payload, DB_LISTEN_BARRIER_PREFIX, strlen(DB_LISTEN_BARRIER_PREFIX)) == 0) {
        barrier_heard(payload);
        return;
    }
    /* Otherwise the account id (migration 012). */
    errno = 0;
    id = strtoll(payload, &end, 10);
    if (errno != 0 || end == payload || *end != '\0' || id <= 0) {
        auth_forget_identities();
        return;
    }
    auth_account_changed(id);
}

/* "arg": the connection db_listen_start() made, or NULL. */
static void *listen_main(void *arg)
{
    PGconn *c = arg;
    bool said_down = false;
    char why[256] = "";
    for (;;) {
        if (c == NULL) {
            c = connect_listen(why, sizeof why);
            if (c == NULL) {
                if (!said_down) {
                    log_warn("auth listener: cannot listen (%s); remembered identities live %d s "
                             "until it can",
                             why, AUTH_CACHE_TTL_S);
                    said_down = true;
                }
                if (wait_for(-1, DB_LISTEN_RETRY_MS) < 0) {
                    break;
                }
                continue;
            }
            /* Listening from now on: what was remembered before may miss a
             * change nobody announced to us. */
            auth_set_listening(true);
            auth_forget_identities();
            if (said_down) {
                log_info("auth listener: listening again");
            }
            said_down = false;
        }
        int w = wait_for(PQsocket(c), 1000);
        if (w < 0) {
            break;
        }
        if (w == 0) {
            continue;
        }
        if (PQconsumeInput(c) == 0 || PQstatus(c) != CONNECTION_OK) {
            first_line(PQerrorMessage(c), why, sizeof why);
            auth_set_listening(false);
            auth_forget_identities();
            PQfinish(c);
            c = NULL;
            log_warn("auth listener: connection lost (%s); reconnecting", why);
            said_down = true;
            continue;
        }
        for (PGnotify *n = PQnotifies(c); n != NULL; n = PQnotifies(c)) {
            db_listen_heard(n->extra);
            PQfreemem(n);
        }
    }
    auth_set_listening(false);
    auth_forget_identities();
    PQfinish(c);
    return NULL;
}

int db_listen_start(const char *conninfo)
{
    PGconn *first;
    char why[256] = "";
    if (g_running || conninfo == NULL) {
        return -1;
    }
    g_conninfo = strdup(conninfo);
    if (g_conninfo == NULL) {
        return -1;
    }
    if (pipe(g_wake) != 0) {
        free(g_conninfo);
        g_conninfo = NULL;
        return -1;
    }
    fcntl(g_wake[1], F_SETFL, O_NONBLOCK);
    /* The first connection here, so that the server hears changes from its
     * first request on; if it fails, the thread tries again (and says so). */
    first = connect_listen(why, sizeof why);
    if (first != NULL) {
        auth_set_listening(true);
        auth_forget_identities();
    }
    if (pthread_create(&g_thread, NULL, listen_main, first) != 0) {
        auth_set_listening(false);
        PQfinish(first);
        close(g_wake[0]);
        close(g_wake[1]);
        g_wake[0] = g_wake[1] = -1;
        free(g_conninfo);
        g_conninfo = NULL;
        return -1;
    }
    g_running = true;
    return 0;
}

void db_listen_stop(void)
{
    if (!g_running) {
        return;
    }
    (void)!write(g_wake[1], "x", 1);
    pthread_join(g_thread, NULL);
    close(g_wake[0]);
    close(g_wake[1]);
    g_wake[0] = g_wake[1] = -1;
    free(g_conninfo);
    g_conninfo = NULL;
    g_running = false;
}

/* The condition variable waits on the monotonic clock. */
static void heard_init(void)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&g_heard, &ca);
    pthread_condattr_destroy(&ca);
}

void db_listen_barrier_begin(db_listen_barrier *b)
{
    pthread_once(&g_heard_once, heard_init);
    pthread_mutex_lock(&g_mu);
    snprintf(b->payload, sizeof b->payload, DB_LISTEN_BARRIER_PREFIX "%ld.%llu", (long)getpid(),
             ++g_barriers);
    b->heard = false;
    b->next = g_waiting;
    g_waiting = b;
    pthread_mutex_unlock(&g_mu);
}

bool db_listen_barrier_end(db_listen_barrier *b, int timeout_ms)
{
    struct timespec until;
    bool heard;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&g_mu);
    while (!b->heard && timeout_ms > 0 && pthread_cond_timedwait(&g_heard, &g_mu, &until) == 0) {
    }
    heard = b->heard;
    for (db_listen_barrier **p = &g_waiting; *p != NULL; p = &(*p)->next) {
        if (*p == b) {
            *p = b->next;
            break;
        }
    }
    pthread_mutex_unlock(&g_mu);
    return heard;
}

db_status db_listen_barrier_send(db_conn *conn, const db_listen_barrier *b)
{
    const char *params[2] = {DB_LISTEN_CHANNEL, b->payload};
    return db_exec(conn, &st_barrier, 2, params, NULL);
}
