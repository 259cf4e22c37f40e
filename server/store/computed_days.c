/* Computed channels (X1-X4, S2): derived data recomputed as samples arrive
 * (computed_on_fold(), called by the compactor) and back-filled in the
 * background over existing data (see computed_days.h, docs/computed.md). */
#define _POSIX_C_SOURCE 200809L
#include "computed_days.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmp.h"
#include "db_computed.h"
#include "log.h"
#include "mt/series.h"
#include "series_store.h"
#include "worker.h"

/* A back-fill round stops taking new days after this long. */
#define ROUND_BUDGET_NS 250000000LL
/* Days per back-fill round of the thread. */
#define THREAD_ROUND_DAYS 16

/* Sort "v" and drop repeats; returns the new length. */
static size_t sort_unique(int64_t *v, size_t n)
{
    size_t w = 0;
    qsort(v, n, sizeof *v, cmp_i64);
    for (size_t i = 0; i < n; i++) {
        if (w == 0 || v[w - 1] != v[i]) {
            v[w++] = v[i];
        }
    }
    return w;
}

/* ------------------------------------------------------- one channel-day */

static computed_values_hook g_hook;

void computed_set_hook(computed_values_hook fn)
{
    g_hook = fn;
}

db_status computed_day(db_conn *c, long long account_id, long long ch, const mt_expr *e,
                       const int64_t *inputs, size_t n_inputs, int64_t day, bool live)
{
    series_col cols[MT_EXPR_MAX_INPUTS];
    size_t pos[MT_EXPR_MAX_INPUTS] = {0};
    double *vals[MT_EXPR_MAX_INPUTS] = {NULL};
    const double *args[MT_EXPR_MAX_INPUTS];
    int64_t *t = NULL;
    double *out = NULL;
    size_t n_max = 0, n = 0, k = mt_expr_input_count(e);
    long long delta = 0;
    mt_error err;
    db_status st;

    if (n_inputs == 0 || n_inputs > MT_EXPR_MAX_INPUTS) {
        return DB_ERROR;
    }
    st = series_read(c, account_id, inputs, n_inputs, day * SERIES_DAY_US,
                     (day + 1) * SERIES_DAY_US, cols);
    if (st != DB_OK) {
        return st;
    }
    st = DB_ERROR;
    n_max = cols[0].n;
    for (size_t i = 1; i < n_inputs; i++) {
        n_max = cols[i].n < n_max ? cols[i].n : n_max;
    }
    if (n_max > MT_SERIES_MAX_N) {
        n_max = MT_SERIES_MAX_N;
    }
    if (n_max > 0) {
        t = malloc(n_max * sizeof *t);
        out = malloc(n_max * sizeof *out);
        if (t == NULL || out == NULL) {
            goto out;
        }
        for (size_t i = 0; i < n_inputs; i++) {
            if ((vals[i] = malloc(n_max * sizeof *vals[i])) == NULL) {
                goto out;
            }
        }
    }
    /* Align on exact times: a sample where every input has one. Columns
     * are sorted with one sample per time (series_read()). */
    for (size_t j = 0; j < cols[0].n && n < n_max; j++) {
        int64_t when = cols[0].t[j];
        bool all = true;
        for (size_t i = 1; i < n_inputs && all; i++) {
            while (pos[i] < cols[i].n && cols[i].t[pos[i]] < when) {
                pos[i]++;
            }
            all = pos[i] < cols[i].n && cols[i].t[pos[i]] == when;
        }
        if (!all) {
            continue;
        }
        t[n] = when;
        vals[0][n] = cols[0].v[j];
        for (size_t i = 1; i < n_inputs; i++) {
            vals[i][n] = cols[i].v[pos[i]];
        }
        n++;
    }
    /* Core takes its inputs sorted by CHn; CHn is inputs[n - 1]. */
    for (size_t i = 0; i < k; i++) {
        unsigned slot = mt_expr_input_channel(e, i);
        if (slot < 1 || slot > n_inputs) {
            log_error("computed: channel %lld: CH%u has no input (%zu inputs)", ch, slot,
                      n_inputs);
            goto out;
        }
        args[i] = vals[slot - 1];
    }
    if (n > 0 && mt_expr_eval(e, args, n, out, &err) != MT_OK) {
        log_error("computed: channel %lld day %lld: %s", ch, (long long)day, err.msg);
        goto out;
    }
    if ((st = series_write_day(c, account_id, ch, day, t, out, n, &delta)) != DB_OK) {
        goto out;
    }
    if (n > 0) {
        ingest_rec last = {ch, t[n - 1], out[n - 1]};
        st = series_update_latest(c, account_id, &last, 1);
    }
    if (st == DB_OK && live && n > 0 && g_hook != NULL) {
        st = g_hook(c, account_id, ch, t, out, n);
    }
out:
    for (size_t i = 0; i < n_inputs; i++) {
        series_col_free(&cols[i]);
        free(vals[i]);
    }
    free(t);
    free(out);
    return st;
}

/* ------------------------------------------------------ the compactor hook */

db_status computed_on_fold(db_conn *c, long long account_id, const ingest_rec *rec, size_t n)
{
    int64_t *chs = NULL, *days = NULL;
    size_t n_chs = 0, n_defs = 0;
    db_cx_row *defs = NULL;
    db_status st = DB_OK;

    if (n == 0) {
        return DB_OK;
    }
    chs = malloc(n * sizeof *chs);
    days = malloc(n * sizeof *days);
    if (chs == NULL || days == NULL) {
        st = DB_ERROR;
        goto out;
    }
    /* "rec" is sorted by channel: its distinct channels in one pass. */
    for (size_t i = 0; i < n; i++) {
        if (n_chs == 0 || chs[n_chs - 1] != rec[i].ch) {
            chs[n_chs++] = rec[i].ch;
        }
    }
    if ((st = db_cx_affected(c, account_id, chs, n_chs, &defs, &n_defs)) != DB_OK ||
        n_defs == 0) {
        goto out;
    }
    /* The compactor already holds the storage row (it counted the bytes it
     * folded); take it anyway, then read the definitions again under it. */
    for (size_t i = 0; i < n_defs; i++) {
        db_cx_row_free(&defs[i]);
    }
    free(defs);
    defs = NULL;
    n_defs = 0;
    if ((st = db_cx_lock_storage(c, account_id)) != DB_OK ||
        (st = db_cx_affected(c, account_id, chs, n_chs, &defs, &n_defs)) != DB_OK) {
        goto out;
    }
    for (size_t d = 0; d < n_defs && st == DB_OK; d++) {
        const db_cx_row *def = &defs[d];
        mt_expr *e = NULL;
        mt_error err;
        size_t n_days = 0;
        if (mt_expr_compile(def->expression, &e, &err) != MT_OK) {
            /* Stored expressions were compiled when saved: this is a core
             * change. Skip the channel rather than stop the compactor. */
            log_error("computed: channel %lld: expression does not compile: %s", def->id,
                      err.msg);
            continue;
        }
        /* The days touched of this channel's inputs. */
        for (size_t i = 0; i < n; i++) {
            bool input = false;
            for (size_t k = 0; k < def->n_inputs && !input; k++) {
                input = def->inputs[k] == rec[i].ch;
            }
            if (input) {
                int64_t day = series_day_of(rec[i].t);
                if (n_days == 0 || days[n_days - 1] != day) {
                    days[n_days++] = day;
                }
            }
        }
        n_days = sort_unique(days, n_days);
        for (size_t i = 0; i < n_days && st == DB_OK; i++) {
            st = computed_day(c, account_id, def->id, e, def->inputs, def->n_inputs, days[i],
                              true);
        }
        mt_expr_free(e);
    }
out:
    for (size_t i = 0; i < n_defs; i++) {
        db_cx_row_free(&defs[i]);
    }
    free(defs);
    free(chs);
    free(days);
    return st;
}

/* ------------------------------------------------------------ back-fill */

static long long elapsed_ns(const struct timespec *since)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long long)(now.tv_sec - since->tv_sec) * 1000000000LL +
           (now.tv_nsec - since->tv_nsec);
}

/* The work of one round on "c" inside a transaction: 1 (did something),
 * 0 (nothing to do) or -1. */
static int round_tx(db_conn *c, size_t max_days, computed_backfill_stats *stats,
                    long long *account_id_out, long long *id_out)
{
    long long account_id = 0, id = 0;
    int64_t next_day = 0, *days = NULL;
    size_t n_days = 0, done = 0;
    bool found = false;
    db_cx_row def;
    mt_expr *e = NULL;
    mt_error err;
    struct timespec t0;
    int rc = -1;

    memset(&def, 0, sizeof def);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (db_cx_backfill_next(c, &account_id, &id, &found) != DB_OK) {
        return -1;
    }
    if (!found) {
        return 0;
    }
    *account_id_out = account_id;
    *id_out = id;
    /* Lock order (computed_days.h): storage row, then the job. The job may have
     * moved on, been reset or finished while this waited. */
    if (db_cx_lock_storage(c, account_id) != DB_OK ||
        db_cx_backfill_lock(c, account_id, id, &next_day, &found) != DB_OK) {
        return -1;
    }
    if (!found) {
        return 1;
    }
    if (db_cx_get(c, account_id, id, false, &def, &found) != DB_OK) {
        return -1;
    }
    if (!found || mt_expr_compile(def.expression, &e, &err) != MT_OK) {
        if (found) {
            log_error("computed: channel %lld: expression does not compile: %s", id, err.msg);
        }
        rc = db_cx_backfill_finish(c, account_id, id) == DB_OK ? 1 : -1;
        goto out;
    }
    if (max_days < 1) {
        max_days = 1;
    }
    if ((days = malloc(max_days * sizeof *days)) == NULL ||
        db_cx_input_days(c, account_id, def.inputs, def.n_inputs, next_day, max_days, days,
                         &n_days) != DB_OK) {
        goto out;
    }
    for (; done < n_days; done++) {
        /* The time budget bounds the thread's rounds; a round asked for a
         * few days (the test route) does them all, whatever the load. */
        if (max_days >= THREAD_ROUND_DAYS && done > 0 && elapsed_ns(&t0) > ROUND_BUDGET_NS) {
            break;
        }
        if (computed_day(c, account_id, id, e, def.inputs, def.n_inputs, days[done], false) !=
            DB_OK) {
            goto out;
        }
    }
    if (done == n_days && n_days < max_days) {
        if (db_cx_backfill_finish(c, account_id, id) != DB_OK) {
            goto out;
        }
        stats->finished++;
    } else if (db_cx_backfill_advance(c, account_id, id, days[done - 1] + 1, (long long)done) !=
               DB_OK) {
        goto out;
    }
    stats->days += done;
    rc = 1;
out:
    mt_expr_free(e);
    db_cx_row_free(&def);
    free(days);
    return rc;
}

int computed_backfill_round(db_pool *pool, size_t max_days, computed_backfill_stats *st)
{
    computed_backfill_stats local = {0};
    db_conn *c = NULL;
    long long account_id = 0, id = 0;
    int rc;
    if (db_acquire(pool, DB_WAIT_MS, &c) != DB_OK) {
        return -1;
    }
    if (db_begin(c) != DB_OK) {
        db_release(pool, c);
        return -1;
    }
    rc = round_tx(c, max_days, &local, &account_id, &id);
    if (rc == 1 && db_commit(c) != DB_OK) {
        rc = -1;
    }
    if (rc != 1) {
        db_rollback(c);
    }
    if (rc == -1 && id != 0) {
        /* Put the failing job at the back of the queue, so that it does not
         * hold up the others; it is tried again in its turn. */
        (void)db_cx_backfill_touch(c, account_id, id);
    }
    db_release(pool, c);
    if (rc == 1) {
        local.rounds++;
        if (st != NULL) {
            st->rounds += local.rounds;
            st->days += local.days;
            st->finished += local.finished;
        }
    }
    return rc;
}

/* ------------------------------------------------------ the thread */

static worker backfill_worker;

static int backfill_round(void *ctx, const volatile bool *stop)
{
    (void)stop;
    return computed_backfill_round((db_pool *)ctx, THREAD_ROUND_DAYS, NULL);
}

int computed_backfill_start(db_pool *pool, int interval_ms)
{
    return worker_start(&backfill_worker, interval_ms, backfill_round, pool);
}

void computed_backfill_stop(void)
{
    worker_stop(&backfill_worker);
}
