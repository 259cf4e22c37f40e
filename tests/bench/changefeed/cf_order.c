/* Whether a listener's sync round trip sees every notification of a commit
 * that was answered before it began (changefeed, issue 16, docs/benchmarks.md):
 * a writer connection commits pg_notify(i), then the listener sends an empty
 * query (or, with "nosync", only reads what has arrived) and looks for i.
 *   cf_order CONNINFO N [nosync] */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(int argc, char **argv)
{
    PGconn *w = PQconnectdb(argv[1]), *l = PQconnectdb(argv[1]);
    int n = atoi(argv[2]), miss = 0, extra = 0, nosync = argc > 3 && strcmp(argv[3], "nosync") == 0;
    PQclear(PQexec(l, "LISTEN mt_changes"));
    for (int i = 0; i < n; i++) {
        char q[96];
        snprintf(q, sizeof q, "SELECT pg_notify('mt_changes', '%d')", i);
        PGresult *r = PQexec(w, q);
        if (PQresultStatus(r) != PGRES_TUPLES_OK) { fprintf(stderr, "%s", PQerrorMessage(w)); return 1; }
        PQclear(r);
        if (nosync) {
            PQconsumeInput(l);
        } else {
            PQclear(PQexec(l, ";")); /* the sync, begun after the writer's commit was answered */
        }
        int seen = 0;
        PGnotify *nt;
        while ((nt = PQnotifies(l)) != NULL) {
            if (atoi(nt->extra) == i) seen = 1; else extra++;
            PQfreemem(nt);
        }
        if (!seen) miss++;
    }
    printf("%d commits, notification not there after the %s: %d, others: %d\n", n,
           nosync ? "writer's answer" : "sync", miss, extra);
    return 0;
}
