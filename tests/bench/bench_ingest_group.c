/* The group statement of small ingest batches alone (issue 16, ingpg2):
 * "clients" threads, each with its own connection, call
 * db_ingest_store_group() with groups of "group" batches of 32 samples
 * (one snapshot of channels 1..32, as the route mix's gateway sends) for
 * "seconds", the batches' apps taken in turn from "apps" (comma-separated
 * ids of the account's apps, or a range "FIRST-LAST": with more apps than
 * batches in 5 s, every batch also marks its app seen, as gateways that
 * each send a batch a minute do). Prints the batches stored; the caller reads
 * PostgreSQL's CPU from /proc around it (docs/benchmarks.md "ingpg2").
 *
 *   bench_ingest_group URL ACCOUNT APPS GROUP CLIENTS SECONDS RUN
 *   (APPS: "1,2,3" or "15-120014")
 *
 * RUN (a number) must differ between runs on one database: batch ids and
 * times are made of it. Built with the server (build/server/
 * bench_ingest_group); to measure another version of db_series.c, link a
 * copy of it before the library (docs/benchmarks.md, "ingpg2"). */
#include "db.h"
#include "db_series.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { NCH = 32, MAXG = 64, MAXAPPS = 64 };

static const char *url;
static long long account, apps[MAXAPPS], app_lo, app_hi;
static int n_apps, group, seconds, run;
static atomic_llong stored, failed;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *client(void *arg)
{
    int tid = (int)(intptr_t)arg;
    db_pool *pool = db_pool_new(url, 1);
    db_conn *c = NULL;
    static char ip[] = "127.0.0.1";
    ingest_rec rec[MAXG][NCH];
    char bid[MAXG][48];
    db_small_batch b[MAXG], *bp[MAXG];
    long long k = 0;
    int64_t t0 = ((int64_t)time(NULL) - 3 * 3600) * 1000000;
    double end = now_s() + seconds;
    if (pool == NULL || db_acquire(pool, 5000, &c) != DB_OK) {
        fprintf(stderr, "no connection\n");
        exit(1);
    }
    while (now_s() < end) {
        for (int i = 0; i < group; i++, k++) {
            /* Times one millisecond apart per client and batch, as api_mix.lua. */
            int64_t t = t0 + (k * 16 + tid) * 1000 + run;
            for (int j = 0; j < NCH; j++) {
                rec[i][j].ch = j + 1;
                rec[i][j].t = t;
                rec[i][j].v = 20 + (double)((k + j) % 100) / 10;
            }
            snprintf(bid[i], sizeof bid[i], "grp%d-%d-%lld", run, tid, k);
            long long app = app_hi > 0 ? app_lo + k % (app_hi - app_lo + 1) : apps[k % n_apps];
            b[i] = (db_small_batch){.account_id = account, .app_id = app, .batch_id = bid[i],
                                    .rec = rec[i], .n = NCH, .t_min = t, .t_max = t, .ip = ip};
            bp[i] = &b[i];
        }
        if (db_ingest_store_group(c, bp, (size_t)group) == DB_OK) {
            for (int i = 0; i < group; i++) {
                if (b[i].fresh) {
                    atomic_fetch_add(&stored, 1);
                }
            }
        } else {
            atomic_fetch_add(&failed, 1);
        }
    }
    db_release(pool, c);
    db_pool_free(pool);
    return NULL;
}

int main(int argc, char **argv)
{
    pthread_t th[64];
    int clients;
    char *s, *e;
    if (argc != 8) {
        fprintf(stderr, "usage: %s URL ACCOUNT APPS GROUP CLIENTS SECONDS RUN\n", argv[0]);
        return 2;
    }
    url = argv[1];
    account = strtoll(argv[2], NULL, 10);
    if (sscanf(argv[3], "%lld-%lld", &app_lo, &app_hi) == 2 && app_lo > 0 && app_hi >= app_lo) {
        n_apps = 1;
    } else {
        app_hi = 0;
    }
    for (s = argv[3]; app_hi == 0 && *s != '\0' && n_apps < MAXAPPS; s = *e == ',' ? e + 1 : e) {
        apps[n_apps++] = strtoll(s, &e, 10);
        if (e == s) {
            return 2;
        }
    }
    group = atoi(argv[4]);
    clients = atoi(argv[5]);
    seconds = atoi(argv[6]);
    run = atoi(argv[7]);
    if (n_apps == 0 || group < 1 || group > MAXG || clients < 1 || clients > 64 || seconds < 1) {
        return 2;
    }
    for (int i = 0; i < clients; i++) {
        pthread_create(&th[i], NULL, client, (void *)(intptr_t)i);
    }
    for (int i = 0; i < clients; i++) {
        pthread_join(th[i], NULL);
    }
    printf("%lld %lld\n", (long long)stored, (long long)failed);
    return failed > 0;
}
