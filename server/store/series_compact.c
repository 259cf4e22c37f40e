/* The time-series store's compaction: the hot table folded into day
 * blocks, one round at a time, and the compactor thread (series_store.h,
 * docs/storage.md). Split from series_store.c. */
#define _POSIX_C_SOURCE 200809L
#include "series_store.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmp.h"
#include "db_account.h"
#include "db_series.h"
#include "db_storage.h"
#include "log.h"
#include "series_internal.h"
#include "worker.h"

/* A process-wide lock number for the compactor ("MTCO"). */
#define COMPACTOR_LOCK "1297367887"

/* ----------------------------------------------------------- compaction */

typedef struct {
    long long account_id;
    int64_t seq; /* order of arrival: a later sample wins at equal times */
    ingest_rec r;
} hot_rec;

static int cmp_hot(const void *a, const void *b)
{
    const hot_rec *x = a, *y = b;
    if (x->account_id != y->account_id) {
        return x->account_id < y->account_id ? -1 : 1;
    }
    if (x->r.ch != y->r.ch) {
        return x->r.ch < y->r.ch ? -1 : 1;
    }
    if (x->r.t != y->r.t) {
        return x->r.t < y->r.t ? -1 : 1;
    }
    return (x->seq > y->seq) - (x->seq < y->seq);
}

static db_stmt st_lock = {"ser_compactor_lock", "SELECT pg_try_advisory_lock(" COMPACTOR_LOCK ")",
                          0};
static db_stmt st_unlock = {"ser_compactor_unlock",
                            "SELECT pg_advisory_unlock(" COMPACTOR_LOCK ")", 0};
static db_stmt st_hot_take = {"ser_hot_take",
    "SELECT id, account_id, payload FROM series_hot ORDER BY id LIMIT $1 "
    "FOR UPDATE SKIP LOCKED", 0};
static db_stmt st_hot_del = {"ser_hot_delete",
    "DELETE FROM series_hot WHERE id = ANY($1::bigint[])", 0};
static db_stmt st_live = {"ser_channels_live",
    "SELECT id FROM channels WHERE id = ANY($1::bigint[]) ORDER BY id", 0};

static pthread_mutex_t compact_mu = PTHREAD_MUTEX_INITIALIZER;

/* How many hot rows a round takes. Every round rewrites each day block it
 * touches whole, so a round's cost follows the blocks, not the rows: with
 * rounds of 256 rows, batches of 32 channels arriving thousands a second
 * (issue 16's route mix) rewrote the same 32 growing blocks 30 times a
 * second, and folding 200 k such batches took over 5 minutes. A round now
 * takes about ROUND_SAMPLES samples, in rows sized by the samples per row of
 * the last round: 1,024 rows of 1,000 channels, 32,768 of 32. While a
 * backlog lasts, every round still rewrites each block of every channel it
 * touches (all of them, when many gateways send), so four times fewer,
 * larger rounds than the 262,144 samples of before (docs/benchmarks.md
 * "Autovacuum and the mix's churn": 4x fewer block writes, about half the
 * fold's PostgreSQL CPU) for ~100 bytes a sample while the round lasts
 * (the records twice, the channels, the fold's groups): ~105 MB at most.
 * Guarded by compact_mu. */
#define ROUND_SAMPLES 1048576
#define ROUND_ROWS_MIN 16
#define ROUND_ROWS_MAX 32768
static int round_rows = 256;

static void round_rows_learn(size_t rows, size_t samples)
{
    size_t per_row = rows > 0 && samples > rows ? samples / rows : 1;
    size_t next = ROUND_SAMPLES / per_row;
    round_rows = (int)(next < ROUND_ROWS_MIN ? ROUND_ROWS_MIN
                       : next > ROUND_ROWS_MAX ? ROUND_ROWS_MAX : next);
}

static int round_locked(db_conn *c, int max_rows, series_compact_stats *stats)
{
    PGresult *res = NULL, *live = NULL;
    hot_rec *all = NULL;
    ingest_rec *recs = NULL;
    int64_t *ids = NULL, *chs = NULL, *alive = NULL;
    char *ids_text = NULL, *chs_text = NULL, lim[24];
    size_t n_rows, n_all = 0, n_alive = 0, n_chs = 0;
    db_status st;
    int rc = -1;

    if ((st = db_begin(c)) != DB_OK) {
        return -1;
    }
    {
        const char *p[] = {db_ll(max_rows, lim)};
        int formats[1] = {0};
        if (db_exec_bin(c, &st_hot_take, 1, p, NULL, formats, 1, &res) != DB_OK) {
            goto out;
        }
    }
    n_rows = (size_t)PQntuples(res);
    if (n_rows == 0) {
        rc = 0;
        goto out;
    }
    ids = malloc(n_rows * sizeof *ids);
    for (size_t i = 0; i < n_rows; i++) {
        n_all += (size_t)PQgetlength(res, (int)i, 2) / 24;
    }
    round_rows_learn(n_rows, n_all);
    all = malloc((n_all ? n_all : 1) * sizeof *all);
    recs = malloc((n_all ? n_all : 1) * sizeof *recs);
    chs = malloc((n_all ? n_all : 1) * sizeof *chs);
    if (ids == NULL || all == NULL || recs == NULL || chs == NULL) {
        goto out;
    }
    n_all = 0;
    for (size_t i = 0; i < n_rows; i++) {
        const unsigned char *pl = (const unsigned char *)PQgetvalue(res, (int)i, 2);
        size_t n = (size_t)PQgetlength(res, (int)i, 2) / 24;
        long long account = series_be64(PQgetvalue(res, (int)i, 1));
        ids[i] = series_be64(PQgetvalue(res, (int)i, 0));
        for (size_t k = 0; k < n; k++) {
            hot_rec *h = &all[n_all];
            h->account_id = account;
            h->seq = (int64_t)n_all;
            db_rec_get(pl + 24 * k, &h->r);
            chs[n_all] = h->r.ch;
            n_all++;
        }
    }
    /* Copied out: the result's payloads are not held through the fold. */
    PQclear(res);
    res = NULL;
    /* Channels deleted since their samples arrived: drop those samples. */
    qsort(chs, n_all, sizeof *chs, cmp_i64);
    for (size_t i = 0; i < n_all; i++) {
        if (n_chs == 0 || chs[n_chs - 1] != chs[i]) {
            chs[n_chs++] = chs[i];
        }
    }
    if ((chs_text = db_id_array(chs, n_chs)) == NULL) {
        goto out;
    }
    {
        const char *p[] = {chs_text};
        if (db_exec(c, &st_live, 1, p, &live) != DB_OK) {
            goto out;
        }
    }
    n_alive = (size_t)PQntuples(live);
    alive = malloc((n_alive ? n_alive : 1) * sizeof *alive);
    if (alive == NULL) {
        goto out;
    }
    for (size_t i = 0; i < n_alive; i++) {
        alive[i] = strtoll(PQgetvalue(live, (int)i, 0), NULL, 10);
    }
    qsort(all, n_all, sizeof *all, cmp_hot);
    /* Per account: dedupe equal (channel, time) keeping the latest arrival,
     * fold, and move the bytes from "hot" to "blocks". */
    for (size_t i = 0; i < n_all;) {
        long long account = all[i].account_id;
        size_t j = i, n = 0;
        long long delta = 0;
        while (j < n_all && all[j].account_id == account) {
            const hot_rec *h = &all[j];
            if (!bsearch(&h->r.ch, alive, n_alive, sizeof *alive, cmp_i64)) {
                stats->dropped++;
            } else if (n > 0 && recs[n - 1].ch == h->r.ch && recs[n - 1].t == h->r.t) {
                recs[n - 1] = h->r; /* a later arrival at the same time wins */
            } else {
                recs[n++] = h->r;
            }
            j++;
        }
        if (series_fold(c, account, recs, n, &delta, &stats->blocks, &stats->dropped) != DB_OK ||
            db_storage_add_data(c, account, delta) != DB_OK ||
            computed_on_fold(c, account, recs, n) != DB_OK) {
            goto out;
        }
        stats->samples += n;
        i = j;
    }
    if ((ids_text = db_id_array(ids, n_rows)) == NULL) {
        goto out;
    }
    {
        const char *p[] = {ids_text};
        if (db_q_exec(c, &st_hot_del, 1, p, NULL) != DB_OK) {
            goto out;
        }
    }
    if (db_commit(c) != DB_OK) {
        goto out;
    }
    stats->hot_rows += n_rows;
    rc = n_rows < (size_t)max_rows ? 2 : 1;
out:
    if (rc < 1) {
        db_rollback(c);
    }
    PQclear(res);
    PQclear(live);
    free(all);
    free(recs);
    free(ids);
    free(chs);
    free(alive);
    free(ids_text);
    free(chs_text);
    return rc;
}

int series_compact_round(db_pool *pool, int max_rows, series_compact_stats *st)
{
    db_conn *c = NULL;
    series_compact_stats local = {0};
    bool got = false;
    long long v = 0;
    int rc;
    if (db_acquire(pool, DB_WAIT_MS, &c) != DB_OK) {
        return -1;
    }
    pthread_mutex_lock(&compact_mu);
    {
        PGresult *res = NULL;
        if (db_exec(c, &st_lock, 0, NULL, &res) == DB_OK && PQntuples(res) == 1) {
            got = PQgetvalue(res, 0, 0)[0] == 't';
        }
        PQclear(res);
    }
    if (!got) {
        pthread_mutex_unlock(&compact_mu);
        db_release(pool, c);
        return 0;
    }
    rc = round_locked(c, max_rows > 0 ? max_rows : round_rows, st != NULL ? st : &local);
    (void)db_q_int(c, &st_unlock, 0, NULL, &v, NULL);
    pthread_mutex_unlock(&compact_mu);
    db_release(pool, c);
    return rc;
}

int series_compact_all(db_pool *pool, series_compact_stats *st)
{
    int rc;
    while ((rc = series_compact_round(pool, 0, st)) > 0) {
    }
    if (rc == 0) {
        while ((rc = series_month_round(pool, 256, st != NULL ? &st->months : NULL)) == 1) {
        }
    }
    return rc < 0 ? -1 : 0;
}

/* ------------------------------------------------------ the compactor thread */

static worker compactor;

static int compact_round(void *ctx, const volatile bool *stop)
{
    int rc;
    (void)stop;
    rc = series_compact_round((db_pool *)ctx, 0, NULL);
    /* A full round: more hot rows wait, the next round at once. A round that
     * took fewer rows than its limit took all there were: the rows arriving
     * meanwhile wait for the next interval, folded together then. Going on
     * at once, under steady ingest the compactor never slept: each round
     * took the second or so of batches that arrived during the one before
     * and rewrote every block they touched: the route mix's 3,200 blocks
     * 39-66 times for a 60 s run, 9 times now, and about 40 us of
     * PostgreSQL's CPU a mix request instead of 60-82 (docs/benchmarks.md
     * "Autovacuum and the mix's churn"). Month rows only once the hot table
     * is caught up (empty, or a partial round): compaction comes first. */
    if (rc == 2) {
        (void)series_month_round((db_pool *)ctx, 64, NULL);
        return 0;
    }
    return rc != 0 ? rc : series_month_round((db_pool *)ctx, 64, NULL);
}

int series_compactor_start(db_pool *pool, int interval_ms)
{
    return worker_start(&compactor, interval_ms, compact_round, pool);
}

void series_compactor_stop(void)
{
    worker_stop(&compactor);
}
