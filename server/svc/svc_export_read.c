/* Exports: a run's state and progress (cancelled, stopped, failed; the
 * progress written a few times a second) and its reads: one chunk of the
 * range at a time, from the read replica or the primary, merged into rows
 * (svc_export_internal.h). */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "db_export.h"
#include "db_replica.h"
#include "log.h"
#include "series_store.h"
#include "svc_export_internal.h"

/* Progress is written at most this often. */
#define PROGRESS_EVERY_MS 200

void export_run_fail(run_ctx *x, const char *fmt, ...)
{
    va_list ap;
    if (x->state != RUN_OK) {
        return;
    }
    x->state = RUN_FAILED;
    va_start(ap, fmt);
    vsnprintf(x->error, sizeof x->error, fmt, ap);
    va_end(ap);
}

bool export_run_alive(run_ctx *x, bool force)
{
    int64_t now_ms;
    if (x->state != RUN_OK) {
        return false;
    }
    if (atomic_load(&x->j->cancel)) {
        x->state = RUN_CANCELLED;
        return false;
    }
    if (export_stopping()) {
        x->state = RUN_STOPPED;
        return false;
    }
    now_ms = mono_ms();
    if (force || now_ms - x->last_ms >= PROGRESS_EVERY_MS) {
        db_conn *c = NULL;
        bool alive = true;
        double p = x->units_total > 0 ? (double)x->units_done / (double)x->units_total : 0;
        if (p > 0.999) {
            p = 0.999; /* 1 only when the file is complete */
        }
        if (db_acquire(x->s->pool, EXPORT_DB_WAIT_MS, &c) == DB_OK) {
            if (db_export_progress(c, x->j->account_id, x->j->id, p, x->bytes, x->samples,
                                   auth_now(), &alive) != DB_OK) {
                alive = true; /* a missed progress write is not fatal */
            }
            db_release(x->s->pool, c);
        }
        x->last_ms = now_ms;
        if (!alive) {
            x->state = RUN_CANCELLED; /* deleted meanwhile */
            return false;
        }
    }
    return true;
}

bool export_run_step(run_ctx *x)
{
    x->units_done++;
    return export_run_alive(x, false);
}

void export_rowset_free(rowset *r)
{
    free(r->t);
    free(r->v);
    free(r->off);
    memset(r, 0, sizeof *r);
}

/* Merge "cols" (n, each strictly increasing in time) into "r". 0 or -1. */
static int merge(const series_col *cols, size_t n, rowset *r)
{
    size_t idx[EXPORT_MAX_CHANNELS] = {0}, rows = 0;
    double missing = mt_sv_value(MT_SV_MISSING);
    export_rowset_free(r);
    for (;;) {
        int64_t tmin = INT64_MAX;
        bool any = false;
        for (size_t c = 0; c < n; c++) {
            if (idx[c] < cols[c].n && (!any || cols[c].t[idx[c]] < tmin)) {
                tmin = cols[c].t[idx[c]];
                any = true;
            }
        }
        if (!any) {
            break;
        }
        for (size_t c = 0; c < n; c++) {
            if (idx[c] < cols[c].n && cols[c].t[idx[c]] == tmin) {
                idx[c]++;
            }
        }
        rows++;
    }
    r->n_cols = n;
    r->t = malloc((rows + 1) * sizeof *r->t);
    r->v = malloc((rows * n + 1) * sizeof *r->v);
    r->off = malloc((rows + 1) * sizeof *r->off);
    if (r->t == NULL || r->v == NULL || r->off == NULL) {
        export_rowset_free(r);
        return -1;
    }
    memset(idx, 0, sizeof idx);
    for (size_t k = 0; k < rows; k++) {
        int64_t tmin = INT64_MAX;
        for (size_t c = 0; c < n; c++) {
            if (idx[c] < cols[c].n && cols[c].t[idx[c]] < tmin) {
                tmin = cols[c].t[idx[c]];
            }
        }
        r->t[k] = tmin;
        for (size_t c = 0; c < n; c++) {
            if (idx[c] < cols[c].n && cols[c].t[idx[c]] == tmin) {
                r->v[c * rows + k] = cols[c].v[idx[c]++];
            } else {
                r->v[c * rows + k] = missing;
            }
        }
    }
    r->n_rows = rows;
    return 0;
}

/* How long an export's first read waits for the standby to show what was
 * acknowledged before the export was asked for (a few monitor checks). */
#define EXPORT_REPLICA_WAIT_MS 2000

int export_read_chunk(run_ctx *x, const int64_t *ids, size_t n, int64_t k, bool offsets, rowset *r)
{
    int64_t day = x->day0 + k / x->parts, len = MT_US_PER_DAY / x->parts;
    int64_t a = day * MT_US_PER_DAY + (k % x->parts) * len, b = a + len;
    series_col cols[EXPORT_MAX_CHANNELS];
    db_conn *c = NULL;
    db_status st;
    int rc = -1;
    if (a < x->r0) {
        a = x->r0;
    }
    if (b > x->r1) {
        b = x->r1;
    }
    /* On the read replica once it shows everything acknowledged before the
     * export was asked for (docs/scale.md; the first chunk waits a moment
     * for the monitor to see it there), else on the primary; a failure
     * there is read again on the primary. */
    db_pool *standby = db_replica_pool_since(x->s->replica, x->j->asked_ms,
                                             k == 0 ? EXPORT_REPLICA_WAIT_MS : 0);
    for (;;) {
        db_pool *pool = standby != NULL ? standby : x->s->pool;
        long long samples = 0;
        bool oom = false;
        memset(cols, 0, sizeof cols);
        if ((st = db_acquire(pool, EXPORT_DB_WAIT_MS, &c)) == DB_OK &&
            (st = series_read(c, x->j->account_id, ids, n, a, b, cols)) == DB_OK) {
            for (size_t i = 0; i < n; i++) {
                samples += (long long)cols[i].n;
            }
            oom = merge(cols, n, r) != 0;
            if (!oom && offsets) {
                st = export_tz_offsets(c, &x->tz, day, r->t, r->n_rows, r->off);
            }
        }
        db_release(pool, c);
        c = NULL;
        for (size_t i = 0; i < n; i++) {
            series_col_free(&cols[i]);
        }
        if (oom) {
            export_run_fail(x, "out of memory");
            return -1;
        }
        if (st == DB_OK) {
            x->samples += samples;
            rc = 0;
            break;
        }
        if (standby != NULL) {
            log_warn("replica: an export's read failed on the standby (%s): read on the primary",
                     db_strerror(st));
            db_replica_failed(x->s->replica);
            standby = NULL;
            continue;
        }
        export_run_fail(x, "reading the data: %s", db_strerror(st));
        break;
    }
    db_replica_count(x->s->replica, rc == 0 && standby != NULL);
    return rc;
}
