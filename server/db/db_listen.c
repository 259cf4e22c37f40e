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
#include <unistd.h>

#include "auth.h"
#include "log.h"

static pthread_t g_thread;
static bool g_running;
static char *g_conninfo;
static int g_wake[2] = {-1, -1}; /* a byte written to [1] stops the thread */

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

/* One notification: its payload is the account id (migration 012). */
static void heard(const PGnotify *n)
{
    char *end = NULL;
    long long id;
    errno = 0;
    id = strtoll(n->extra, &end, 10);
    if (errno != 0 || end == n->extra || *end != '\0' || id <= 0) {
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
            heard(n);
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
