/* A listener connection as a server process would keep one (changefeed,
 * issue 16, docs/benchmarks.md): LISTEN mt_changes, then for SECONDS either
 * wait for notifications (mode "idle") or run "sync" round trips back to
 * back (mode "sync": an empty query; PostgreSQL 15 sends the notifications
 * of every transaction committed before the query's end ahead of its
 * ReadyForQuery, see the docs section). Prints notifications and syncs.
 *   cf_listen CONNINFO SECONDS idle|sync */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: cf_listen CONNINFO SECONDS idle|sync\n");
        return 2;
    }
    PGconn *c = PQconnectdb(argv[1]);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "%s", PQerrorMessage(c));
        return 1;
    }
    PQclear(PQexec(c, "LISTEN mt_changes"));
    double end = now_s() + atof(argv[2]);
    int sync = strcmp(argv[3], "sync") == 0;
    long notes = 0, syncs = 0;
    PGnotify *n;
    while (now_s() < end) {
        if (sync) {
            PGresult *r = PQexec(c, ";");
            PQclear(r);
            syncs++;
        } else {
            fd_set fds;
            struct timeval tv = {0, 100000};
            FD_ZERO(&fds);
            FD_SET(PQsocket(c), &fds);
            select(PQsocket(c) + 1, &fds, NULL, NULL, &tv);
            PQconsumeInput(c);
        }
        while ((n = PQnotifies(c)) != NULL) {
            notes++;
            PQfreemem(n);
        }
    }
    printf("notifications %ld syncs %ld backend_pid %d\n", notes, syncs, PQbackendPID(c));
    PQfinish(c);
    return 0;
}
