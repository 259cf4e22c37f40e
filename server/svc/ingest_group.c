/* Group commit of small ingest batches (see ingest_group.h).
 *
 * One queue per process. A caller puts its batch at the end; when no
 * statement of the queue runs, it leads: it takes its own batch and then
 * those queued first (at most INGEST_GROUP_MAX batches and
 * INGEST_GROUP_BYTES of records, the rest wait for the next leader), stores
 * them on its connection (one taken from the pool again when it gave its
 * own back while it waited), writes each taken batch's answer and wakes every
 * waiter. A waiter whose batch was not taken may then lead the next group.
 * The waiting batches live on their callers' stacks, so the queue holds at
 * most one batch per thread that stores (HTTP workers, the MQTT bridge). */
#define _POSIX_C_SOURCE 200809L
#include "ingest_group.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "db_series.h"
#include "metrics.h"

enum { QUEUED, TAKEN, DONE, ALONE };

typedef struct item {
    db_small_batch b;
    int state;
    int copy_of;  /* TAKEN: -1, or the index in the group of the same batch id */
    db_status st; /* DONE: the answer */
    pthread_cond_t cv; /* signalled when answered, or when it may lead */
    struct item *next;
} item;

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static item *g_head, *g_tail;
/* A group is being stored now. One at a time: two at once made smaller
 * groups and cost PostgreSQL more per batch (ingest alone, alternated at
 * load 24-30: 34-35 us with one, 42-48 us with two; docs/benchmarks.md). */
static bool g_leading;

static bool same_batch(const db_small_batch *a, const db_small_batch *b)
{
    return a->account_id == b->account_id && a->app_id == b->app_id &&
           strcmp(a->batch_id, b->batch_id) == 0;
}

/* Remove "it" from the queue (under g_mu). */
static void unqueue(item *it)
{
    item **pp = &g_head, *prev = NULL;
    while (*pp != NULL && *pp != it) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    if (*pp == NULL) {
        return;
    }
    *pp = it->next;
    if (g_tail == it) {
        g_tail = prev;
    }
    it->next = NULL;
}

/* Take "me" and the first queued batches into "grp" (under g_mu); the
 * count of batches taken. Copies of a batch id already taken are taken
 * too (answered from the first copy) but cost no room. */
static size_t take(item *me, item **grp)
{
    size_t n = 0, bytes = 0;
    item *it, *next;
    unqueue(me);
    me->state = TAKEN;
    me->copy_of = -1;
    grp[n++] = me;
    bytes = me->b.n * 24;
    for (it = g_head; it != NULL && n < INGEST_GROUP_MAX; it = next) {
        int copy = -1;
        next = it->next;
        for (size_t k = 0; k < n && copy < 0; k++) {
            if (grp[k]->copy_of < 0 && same_batch(&grp[k]->b, &it->b)) {
                copy = (int)k;
            }
        }
        if (copy < 0 && bytes + it->b.n * 24 > INGEST_GROUP_BYTES) {
            continue; /* too large for this group: the next one */
        }
        unqueue(it);
        it->state = TAKEN;
        it->copy_of = copy;
        grp[n++] = it;
        if (copy < 0) {
            bytes += it->b.n * 24;
        }
    }
    return n;
}

/* Store the taken batches "grp" and answer each (g_mu not held while the
 * statement runs; after the answers are out the waiters' items are theirs
 * again and not touched). The statement runs on *c, the leader's
 * connection, taken from "pool" first when the leader gave its own back
 * while it waited; when none comes in time, every batch of the group is
 * answered with that failure (DB_BUSY: 503 db_busy), as each would be
 * alone. */
static void lead(db_pool *pool, db_conn **c, item **grp, size_t n)
{
    db_small_batch *u[INGEST_GROUP_MAX];
    size_t n_u = 0;
    db_status st = DB_OK;
    bool no_conn = false;
    for (size_t k = 0; k < n; k++) {
        if (grp[k]->copy_of < 0) {
            u[n_u++] = &grp[k]->b;
        }
    }
    if (*c == NULL && (st = db_acquire(pool, DB_WAIT_MS, c)) != DB_OK) {
        no_conn = true;
    } else if (n_u == 1) {
        /* Alone: the statement of one batch, exactly as without groups. */
        db_small_batch *x = u[0];
        st = db_ingest_store_small(*c, x->account_id, x->app_id, x->batch_id, x->rec, x->n,
                                   x->t_min, x->t_max, x->ip, x->alarm_group, x->alarm_seq,
                                   &x->seq_ok, &x->fresh, &x->prev_samples);
    } else {
        st = db_ingest_store_group(*c, u, n_u);
        metrics_add(METRIC_INGEST_GROUPS, 1);
        if (st == DB_OK) {
            metrics_add(METRIC_INGEST_GROUPED, (long long)n_u);
        } else {
            metrics_add(METRIC_INGEST_GROUP_RETRIES, (long long)n);
        }
    }
    pthread_mutex_lock(&g_mu);
    for (size_t k = 0; k < n; k++) {
        item *it = grp[k];
        it->st = st;
        if (no_conn) {
            it->state = DONE;
        } else if (it->copy_of < 0) {
            /* A failed group: each batch once more on its own, so that one
             * bad batch fails only itself. A lone statement's failure is
             * its batch's answer. */
            it->state = st != DB_OK && n_u > 1 ? ALONE : DONE;
        } else if (st == DB_OK && grp[it->copy_of]->b.seq_ok) {
            /* Stored (or found stored) by its first copy: a duplicate. */
            const db_small_batch *first = &grp[it->copy_of]->b;
            it->b.seq_ok = true;
            it->b.fresh = false;
            it->b.prev_samples = first->fresh ? (long long)first->n : first->prev_samples;
            it->state = DONE;
        } else {
            it->state = ALONE; /* its own request decides, as without groups */
        }
    }
    g_leading = false;
    /* The answers of this group (not to the leader: it is awake), and a
     * next leader: the first batch queued meanwhile. After this the
     * waiters' items are theirs again and not touched. */
    for (size_t k = 1; k < n; k++) {
        pthread_cond_signal(&grp[k]->cv);
    }
    if (g_head != NULL) {
        pthread_cond_signal(&g_head->cv);
    }
    pthread_mutex_unlock(&g_mu);
}

db_status ingest_group_store_small(db_pool *pool, db_conn **c, long long account_id, long long app_id,
                                   const char *batch_id, const ingest_rec *rec, size_t n,
                                   int64_t t_min, int64_t t_max, const char *ip,
                                   long long alarm_group, long long alarm_seq, bool *seq_ok,
                                   bool *fresh, long long *prev_samples)
{
    item me;
    item *grp[INGEST_GROUP_MAX];
    memset(&me, 0, sizeof me);
    me.b.account_id = account_id;
    me.b.app_id = app_id;
    me.b.batch_id = batch_id;
    me.b.rec = rec;
    me.b.n = n;
    me.b.t_min = t_min;
    me.b.t_max = t_max;
    me.b.ip = ip;
    me.b.alarm_group = alarm_group;
    me.b.alarm_seq = alarm_seq;
    me.state = QUEUED;
    me.copy_of = -1;
    pthread_cond_init(&me.cv, NULL);

    pthread_mutex_lock(&g_mu);
    if (g_tail != NULL) {
        g_tail->next = &me;
    } else {
        g_head = &me;
    }
    g_tail = &me;
    if (g_leading) {
        metrics_add(METRIC_INGEST_GROUP_WAITS, 1);
    }
    for (;;) {
        if (me.state == QUEUED && !g_leading) {
            size_t k;
            g_leading = true;
            k = take(&me, grp);
            pthread_mutex_unlock(&g_mu);
            lead(pool, c, grp, k); /* answers "me" too */
            pthread_mutex_lock(&g_mu);
        }
        if (me.state == DONE || me.state == ALONE) {
            break;
        }
        if (*c != NULL) {
            /* Waiting: the connection goes back to the pool meanwhile, so
             * that a stalled statement does not take one connection per
             * waiting batch from every other request. The state is looked
             * at again before waiting (an answer may have come). */
            pthread_mutex_unlock(&g_mu);
            db_release(pool, *c);
            *c = NULL;
            pthread_mutex_lock(&g_mu);
            continue;
        }
        pthread_cond_wait(&me.cv, &g_mu);
    }
    pthread_mutex_unlock(&g_mu);
    pthread_cond_destroy(&me.cv);
    if (me.state == ALONE) {
        db_status st;
        *seq_ok = false;
        *fresh = false;
        *prev_samples = 0;
        if (*c == NULL && (st = db_acquire(pool, DB_WAIT_MS, c)) != DB_OK) {
            return st;
        }
        return db_ingest_store_small(*c, account_id, app_id, batch_id, rec, n, t_min, t_max, ip,
                                     alarm_group, alarm_seq, seq_ok, fresh, prev_samples);
    }
    *seq_ok = me.b.seq_ok;
    *fresh = me.b.fresh;
    *prev_samples = me.b.prev_samples;
    return me.st;
}
