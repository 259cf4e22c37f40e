/* Exports: the queue (a slot per export, EXPORT_MAX_PENDING in the server),
 * the worker threads, and one run from its start to its file stored in the
 * database and its row done (svc_export_internal.h). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth.h"
#include "db_export.h"
#include "db_files.h"
#include "log.h"
#include "svc_export_internal.h"

/* Samples of the day blocks read at once at most (a dense day is read in
 * parts: memory stays near 16 bytes x this, plus the rows built from it).
 * Tests lower it with METRON_EXPORT_CHUNK_SAMPLES (with test routes only). */
#define EXPORT_CHUNK_SAMPLES 4000000

/* -------------------------------------------------------------- queue */

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    export_job *head, *tail;
    export_job *running[EXPORT_WORKERS];
    int n_pending; /* queued + running + reserved by a request in progress */
    bool started;
    atomic_bool stopping;
    pthread_t th[EXPORT_WORKERS];
    int n_th;
    srv *s;
    int64_t chunk_samples; /* EXPORT_CHUNK_SAMPLES */
} W = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

svc_status export_reserve_slot(svc_error *e)
{
    svc_status rc = SVC_OK;
    pthread_mutex_lock(&W.mu);
    if (!W.started || atomic_load(&W.stopping)) {
        rc = svc_fail(e, SVC_UNAVAILABLE, "unavailable", NULL,
                      "exports are not available now: retry later");
    } else if (W.n_pending >= EXPORT_MAX_PENDING) {
        rc = svc_fail(e, SVC_THROTTLED, "too_many_exports", NULL,
                      "the server is busy with %d exports: retry in a minute", EXPORT_MAX_PENDING);
        e->retry_after = EXPORT_RETRY_AFTER_S;
    } else {
        W.n_pending++;
    }
    pthread_mutex_unlock(&W.mu);
    return rc;
}

void export_release_slot(void)
{
    pthread_mutex_lock(&W.mu);
    W.n_pending--;
    pthread_mutex_unlock(&W.mu);
}

void export_enqueue(export_job *j)
{
    pthread_mutex_lock(&W.mu);
    j->next = NULL;
    if (W.tail != NULL) {
        W.tail->next = j;
    } else {
        W.head = j;
    }
    W.tail = j;
    pthread_cond_signal(&W.cv);
    pthread_mutex_unlock(&W.mu);
}

void export_cancel(long long account_id, long long id)
{
    pthread_mutex_lock(&W.mu);
    for (export_job *j = W.head; j != NULL; j = j->next) {
        if (j->account_id == account_id && j->id == id) {
            atomic_store(&j->cancel, true);
        }
    }
    for (int i = 0; i < EXPORT_WORKERS; i++) {
        export_job *j = W.running[i];
        if (j != NULL && j->account_id == account_id && j->id == id) {
            atomic_store(&j->cancel, true);
        }
    }
    pthread_mutex_unlock(&W.mu);
}

bool export_job_live(long long account_id, long long id)
{
    bool live = false;
    pthread_mutex_lock(&W.mu);
    for (export_job *j = W.head; j != NULL && !live; j = j->next) {
        live = j->account_id == account_id && j->id == id;
    }
    for (int i = 0; i < EXPORT_WORKERS && !live; i++) {
        live = W.running[i] != NULL && W.running[i]->account_id == account_id &&
               W.running[i]->id == id;
    }
    pthread_mutex_unlock(&W.mu);
    return live;
}

size_t export_live_jobs(long long *acc, long long *id)
{
    size_t n_live = 0;
    pthread_mutex_lock(&W.mu);
    for (export_job *j = W.head; j != NULL && n_live < EXPORT_MAX_PENDING; j = j->next) {
        acc[n_live] = j->account_id;
        id[n_live++] = j->id;
    }
    for (int i = 0; i < EXPORT_WORKERS; i++) {
        if (W.running[i] != NULL) {
            acc[n_live] = W.running[i]->account_id;
            id[n_live++] = W.running[i]->id;
        }
    }
    pthread_mutex_unlock(&W.mu);
    return n_live;
}

bool export_stopping(void)
{
    return atomic_load(&W.stopping);
}

/* ------------------------------------------------------------ worker */

/* Copy the finished file "path" into a new blob of the export's account
 * (*w; db_files.h). 0, or -1 with the run failed. */
static int store_file(run_ctx *x, const char *path, db_file_writer *w)
{
    enum { PIECE = 256 * 1024 };
    char *buf = malloc(PIECE);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    int rc = -1;
    db_status st;
    if (buf == NULL || fd < 0) {
        export_run_fail(x, "cannot read the file: %s", strerror(errno));
        goto out;
    }
    if ((st = db_file_begin(x->s->pool, x->j->account_id, w)) != DB_OK) {
        export_run_fail(x, "the file could not be stored: %s", db_strerror(st));
        goto out;
    }
    for (;;) {
        ssize_t got = read(fd, buf, PIECE);
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got < 0) {
            export_run_fail(x, "cannot read the file: %s", strerror(errno));
            goto out;
        }
        if (got == 0) {
            break;
        }
        if ((st = db_file_write(w, buf, (size_t)got)) != DB_OK) {
            export_run_fail(x, "the file could not be stored: %s", db_strerror(st));
            goto out;
        }
    }
    if ((st = db_file_flush(w)) != DB_OK) {
        export_run_fail(x, "the file could not be stored: %s", db_strerror(st));
        goto out;
    }
    rc = 0;
out:
    if (fd >= 0) {
        close(fd);
    }
    free(buf);
    return rc;
}

static void run_job(srv *s, export_job *j)
{
    run_ctx x;
    char dir[4200], final_path[4200], tmp[4300];
    db_conn *c = NULL;
    db_status st = DB_OK;
    bool any = false, alive = false;
    int64_t first = 0, last = 0, max_day = 0;
    int rc = -1;
    db_file_writer w;

    memset(&x, 0, sizeof x);
    memset(&w, 0, sizeof w);
    x.s = s;
    x.j = j;
    x.last_ms = mono_ms();
    export_tz_from_text(j->tz, &x.tz);
    export_dir(s, j->account_id, dir, sizeof dir);
    export_path(s, j->account_id, j->id, j->fmt, final_path, sizeof final_path);
    snprintf(tmp, sizeof tmp, "%s.part", final_path);

    if (!export_run_alive(&x, false)) {
        goto done;
    }
    /* The channels as they are now, and where the data lies in the range. */
    if ((st = db_acquire(s->pool, EXPORT_DB_WAIT_MS, &c)) != DB_OK) {
        export_run_fail(&x, "the database is unavailable: %s", db_strerror(st));
        goto done;
    }
    st = db_export_channels(c, j->account_id, j->ch, j->n_ch, &x.chs, &x.n_chs);
    if (st == DB_OK) {
        st = db_export_extent(c, j->account_id, j->ch, j->n_ch, j->t0, j->t1, &first, &last,
                              &max_day, &any);
    }
    x.r0 = any && first > j->t0 ? first : j->t0;
    x.r1 = any && last + 1 < j->t1 ? last + 1 : j->t1;
    if (!any || x.r1 <= x.r0) {
        x.r1 = x.r0; /* nothing to read */
        x.n_days = 0;
    } else {
        x.day0 = floor_div(x.r0, MT_US_PER_DAY);
        x.n_days = floor_div(x.r1 - 1, MT_US_PER_DAY) - x.day0 + 1;
    }
    /* README.txt and a HOK file's title: in the language of the person who
     * asked; README.txt's zone by its UTC offsets over the rows (the whole
     * range when there are none). */
    if (st == DB_OK) {
        st = db_export_language(c, j->account_id, j->user_id, x.lang);
        if (st == DB_OK && j->fmt == FMT_CSV) {
            st = export_tz_facts(c, &x.tz, x.r1 > x.r0 ? x.r0 : j->t0,
                                 x.r1 > x.r0 ? x.r1 : j->t1, j->t0, j->t1, auth_now(), &x.zone);
        }
    }
    db_release(s->pool, c);
    if (st != DB_OK) {
        export_run_fail(&x, "the database is unavailable: %s", db_strerror(st));
        goto done;
    }
    if (x.n_chs != j->n_ch) {
        export_run_fail(&x, "a channel of the export was deleted");
        goto done;
    }
    /* Memory: a chunk holds at most about EXPORT_CHUNK_SAMPLES samples of
     * the day blocks (a day holds up to 2^20 per channel). */
    {
        static const int64_t splits[] = {1, 2, 3, 4, 6, 8, 12, 24}; /* divisors of 24 h */
        for (size_t i = 0; i < sizeof splits / sizeof splits[0]; i++) {
            x.parts = splits[i];
            if ((max_day + x.parts - 1) / x.parts <= W.chunk_samples) {
                break;
            }
        }
    }
    x.n_chunks = x.n_days * x.parts;
    x.units_total = (size_t)x.n_chunks;
    if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
        char parent[4200];
        snprintf(parent, sizeof parent, "%s/exports", s->cfg.data_dir);
        if ((mkdir(parent, 0750) != 0 && errno != EEXIST) ||
            (mkdir(dir, 0750) != 0 && errno != EEXIST)) {
            export_run_fail(&x, "cannot create the export folder: %s", strerror(errno));
            goto done;
        }
    }
    rc = j->fmt == FMT_CSV ? export_write_zip(&x, tmp) : export_write_hok(&x, tmp);
    if (rc == 0 && store_file(&x, tmp, &w) != 0) {
        rc = -1;
    }
done:
    (void)unlink(tmp); /* the bytes are in the store now, or not wanted */
    free(x.chs);
    if (x.state == RUN_CANCELLED) {
        db_file_writer_end(&w, true);
        return; /* deleted: the row is gone */
    }
    if (rc == 0) {
        x.bytes = w.size;
    }
    if (x.state == RUN_STOPPED) {
        snprintf(x.error, sizeof x.error, "the server stopped before the export finished");
    }
    /* The row becomes done and the blob ready in one transaction. */
    if ((st = db_acquire(s->pool, EXPORT_DB_WAIT_MS, &c)) == DB_OK) {
        if ((st = db_begin(c)) == DB_OK && (rc != 0 || (st = db_file_ready_tx(c, &w)) == DB_OK) &&
            (st = db_export_finish(c, j->account_id, j->id, rc == 0, x.bytes, x.samples,
                                   x.error, auth_now(), w.blob_id, &alive)) == DB_OK &&
            alive) {
            st = db_commit(c);
        }
        db_release(s->pool, c); /* rolls back when not committed */
    }
    if (st != DB_OK) {
        log_error("export %lld: cannot record its end: %s", j->id, db_strerror(st));
    }
    /* Kept only when recorded: a failure, or an export deleted while it
     * was being finished, discards it. */
    db_file_writer_end(&w, !(rc == 0 && st == DB_OK && alive));
    if (rc != 0) {
        log_warn("export %lld of account %lld failed: %s", j->id, j->account_id, x.error);
    }
}

static void *worker(void *arg)
{
    int slot = (int)(intptr_t)arg;
    pthread_mutex_lock(&W.mu);
    for (;;) {
        export_job *j;
        while (W.head == NULL && !atomic_load(&W.stopping)) {
            pthread_cond_wait(&W.cv, &W.mu);
        }
        if (atomic_load(&W.stopping)) {
            break;
        }
        j = W.head;
        W.head = j->next;
        if (W.head == NULL) {
            W.tail = NULL;
        }
        W.running[slot] = j;
        pthread_mutex_unlock(&W.mu);
        run_job(W.s, j);
        pthread_mutex_lock(&W.mu);
        W.running[slot] = NULL;
        W.n_pending--;
        free(j);
    }
    pthread_mutex_unlock(&W.mu);
    return NULL;
}

int svc_export_workers_start(srv *s)
{
    const char *chunk = getenv("METRON_EXPORT_CHUNK_SAMPLES");
    pthread_mutex_lock(&W.mu);
    W.s = s;
    W.chunk_samples = EXPORT_CHUNK_SAMPLES;
    if (s->cfg.test_routes && chunk != NULL && atoll(chunk) > 0) {
        W.chunk_samples = atoll(chunk);
    }
    atomic_store(&W.stopping, false);
    for (int i = 0; i < EXPORT_WORKERS; i++) {
        if (pthread_create(&W.th[i], NULL, worker, (void *)(intptr_t)i) != 0) {
            pthread_mutex_unlock(&W.mu);
            svc_export_workers_stop();
            return -1;
        }
        W.n_th++;
    }
    W.started = true;
    pthread_mutex_unlock(&W.mu);
    return 0;
}

void svc_export_workers_stop(void)
{
    export_job *left;
    pthread_mutex_lock(&W.mu);
    atomic_store(&W.stopping, true);
    pthread_cond_broadcast(&W.cv);
    pthread_mutex_unlock(&W.mu);
    for (int i = 0; i < W.n_th; i++) {
        pthread_join(W.th[i], NULL);
    }
    pthread_mutex_lock(&W.mu);
    W.n_th = 0;
    W.started = false;
    left = W.head;
    W.head = W.tail = NULL;
    pthread_mutex_unlock(&W.mu);
    /* Exports still queued end as failed (their users may start them again). */
    while (left != NULL) {
        export_job *next = left->next;
        db_conn *c = NULL;
        bool alive;
        if (W.s != NULL && db_acquire(W.s->pool, 2000, &c) == DB_OK) {
            (void)db_export_finish(c, left->account_id, left->id, false, 0, 0,
                                   "the server stopped before the export started", auth_now(),
                                   0, &alive);
            db_release(W.s->pool, c);
        }
        free(left);
        pthread_mutex_lock(&W.mu);
        W.n_pending--;
        pthread_mutex_unlock(&W.mu);
        left = next;
    }
}
