/* Group commit of small ingest batches (see ingest_group.h).
 *
 * One queue per process. A caller puts its batch at the end; when no
 * statement of the queue runs, it leads: it takes its own batch and then
 * those queued first (at most INGEST_GROUP_MAX batches and
 * INGEST_GROUP_BYTES of records, the rest wait for the next leader), stores
 * them on its connection (one taken from the pool again when it gave its
 * own back while it waited), writes each taken batch's answer and wakes its
 * waiter, and wakes the first batch queued meanwhile, which may then lead
 * the next group. The waiting batches live on their callers' stacks, so the
 * queue holds at most one batch per thread that stores (HTTP workers, the
 * MQTT bridge).
 *
 * Wake-ups (issue 16): a waiter sleeps on its thread's wait word (a futex,
 * waitword.h), not on a condition variable of g_mu, and reads its answer
 * without g_mu: the waiters of a group, woken together, used to queue on
 * g_mu again, behind each other and behind the leader that still held it
 * while it signalled them (__lll_lock_wait was 5 % of ingest's server
 * samples, and every such queue a context switch more).
 *
 * Who may touch what, and when (the items are on the waiters' stacks):
 * - an item's queue links, "state" before the answer, "slot" and "copy_of"
 *   are read and written under g_mu only;
 * - the leader writes the whole answer of every batch of its group (st, the
 *   item's seq_ok, fresh, prev_samples; for a copy also read from its first
 *   copy's item) before it publishes any of them, and then publishes each
 *   with one release store of "state" (DONE or ALONE), under g_mu. Its own
 *   item's answer goes last (it is answered by returning);
 * - a waiter that loads DONE or ALONE (acquire) owns its item again and may
 *   return at once, without g_mu; so the leader reads nothing of an item
 *   after its store, and takes each waiter's slot beforehand;
 * - the wake-up is on the slot, never on the item: after the store the
 *   waiter may have returned and its stack be reused, and a futex wake on
 *   an address of that stack could wake an unrelated waiter there (and the
 *   contract of waitword_set() is that the word outlives the call). A slot
 *   is the wait word of one thread, allocated once and never freed (a
 *   thread's slot goes back to g_free_slots when the thread ends, for the
 *   next new thread), so a late wake-up reaches at worst the next wait of
 *   a slot's thread, which looks at its state again and sleeps on: every
 *   wait here is a loop on the state, not on the word;
 * - a slot's word is set to 0 by its own thread under g_mu before it looks
 *   at its state and sleeps; any answer or call to lead decided after that
 *   look (under g_mu) is followed by a waitword_set() of the slot, so no
 *   wake-up is lost, and one decided before it is seen in the state. */
#define _POSIX_C_SOURCE 200809L
#include "ingest_group.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db_series.h"
#include "metrics.h"
#include "waitword.h"

enum { QUEUED, TAKEN, DONE, ALONE };

typedef struct wait_slot {
    atomic_int word; /* waitword.h: set when the owner should look at its state */
    struct wait_slot *next_free;
} wait_slot;

typedef struct item {
    db_small_batch b;
    atomic_int state; /* under g_mu; DONE and ALONE also read without it */
    int copy_of;      /* TAKEN: -1, or the index in the group of the same batch id */
    db_status st;     /* DONE: the answer */
    wait_slot *slot;  /* the waiter's thread's */
    struct item *next;
} item;

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static item *g_head, *g_tail;
/* A group is being stored now. One at a time: two at once made smaller
 * groups and cost PostgreSQL more per batch (ingest alone, alternated at
 * load 24-30: 34-35 us with one, 42-48 us with two; docs/benchmarks.md). */
static bool g_leading;
/* Gathering (under g_mu; issue 16, grpfixed): in a steady flow of batches a
 * group is what queued while the last one was stored, and what a group
 * costs PostgreSQL is mostly the same whatever its size (the statement's
 * start, its constraints, the commit's flush). So when the last group had
 * at least GATHER_MIN batches, the next one starts no sooner than
 * g_gather_ns after the last one started: its leader waits on g_gather_cv
 * until then, until the queue holds a full group, or until no batch has
 * come for a quarter of that time (gather()). A batch that finds no
 * flow (the last group smaller, or started longer ago) is not held: a lone
 * gateway's batches go at once, as before. */
#define GATHER_MIN 4
static long long g_gather_ns;
static long long g_last_start_ns, g_last_enqueue_ns;
static size_t g_last_n, g_queued, g_queued_bytes;
static bool g_gathering;
static pthread_cond_t g_gather_cv;
/* The slots of ended threads (under g_mu). */
static wait_slot *g_free_slots;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static pthread_key_t g_slot_key;
static bool g_key_ok;

static int get_state(item *it)
{
    return atomic_load_explicit(&it->state, memory_order_acquire);
}

static void set_state(item *it, int s)
{
    atomic_store_explicit(&it->state, s, memory_order_release);
}

/* A thread ends: its slot waits for the next new thread. Not freed: a
 * leader may still wake it (see the top of the file). */
static void slot_put(void *p)
{
    wait_slot *s = p;
    pthread_mutex_lock(&g_mu);
    s->next_free = g_free_slots;
    g_free_slots = s;
    pthread_mutex_unlock(&g_mu);
}

static void slot_key_init(void)
{
    pthread_condattr_t a;
    const char *v = getenv("METRON_INGEST_GATHER_US");
    long long us = INGEST_GATHER_US;
    g_key_ok = pthread_key_create(&g_slot_key, slot_put) == 0;
    if (pthread_condattr_init(&a) == 0) {
        pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
        pthread_cond_init(&g_gather_cv, &a);
        pthread_condattr_destroy(&a);
    } else {
        pthread_cond_init(&g_gather_cv, NULL);
        us = 0; /* a condition variable on the wall clock: no gathering */
    }
    if (v != NULL && *v != '\0') {
        char *end;
        long long x = strtoll(v, &end, 10);
        if (*end == '\0' && x >= 0 && x <= 1000000) {
            us = x;
        }
    }
    g_gather_ns = us * 1000;
}

static long long mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static bool queue_full(void)
{
    return g_queued >= INGEST_GROUP_MAX || g_queued_bytes >= INGEST_GROUP_BYTES;
}

/* The leader, before it takes its group (under g_mu, g_leading set; g_mu
 * is released while it waits). It stops early when no batch has come for
 * a quarter of the time (GATHER_QUIET): the flow has paused (every client
 * that sends in turn is already queued), and waiting longer would leave
 * PostgreSQL idle for no larger group. */
#define GATHER_QUIET 4
static void gather(void)
{
    long long until = g_last_start_ns + g_gather_ns, quiet = g_gather_ns / GATHER_QUIET;
    long long now = mono_ns(), since = now;
    if (g_gather_ns <= 0 || g_last_n < GATHER_MIN || queue_full() || now >= until) {
        return;
    }
    g_gathering = true;
    for (;;) {
        long long wake = (g_last_enqueue_ns > since ? g_last_enqueue_ns : since) + quiet;
        struct timespec ts;
        if (wake > until) {
            wake = until;
        }
        if (queue_full() || now >= wake) {
            break;
        }
        ts.tv_sec = (time_t)(wake / 1000000000LL);
        ts.tv_nsec = (long)(wake % 1000000000LL);
        pthread_cond_timedwait(&g_gather_cv, &g_mu, &ts);
        now = mono_ns();
    }
    g_gathering = false;
}

/* The calling thread's slot, taken or made on its first batch (under g_mu);
 * NULL when out of memory. */
static wait_slot *slot_of_thread(void)
{
    wait_slot *s;
    if (!g_key_ok) {
        return NULL;
    }
    if ((s = pthread_getspecific(g_slot_key)) != NULL) {
        return s;
    }
    if ((s = g_free_slots) != NULL) {
        g_free_slots = s->next_free;
    } else if ((s = calloc(1, sizeof *s)) == NULL) {
        return NULL;
    }
    if (pthread_setspecific(g_slot_key, s) != 0) {
        s->next_free = g_free_slots;
        g_free_slots = s;
        return NULL;
    }
    return s;
}

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
    g_queued--;
    g_queued_bytes -= it->b.n * 24;
}

/* Take "me" and the first queued batches into "grp" (under g_mu); the
 * count of batches taken. Copies of a batch id already taken are taken
 * too (answered from the first copy) but cost no room. */
static size_t take(item *me, item **grp)
{
    size_t n = 0, bytes = 0;
    item *it, *next;
    unqueue(me);
    atomic_store_explicit(&me->state, TAKEN, memory_order_relaxed);
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
        atomic_store_explicit(&it->state, TAKEN, memory_order_relaxed);
        it->copy_of = copy;
        grp[n++] = it;
        if (copy < 0) {
            bytes += it->b.n * 24;
        }
    }
    return n;
}

/* Store the taken batches "grp" (grp[0] the leader's own) and answer each
 * (g_mu not held while the statement runs). The statement runs on *c, the
 * leader's connection, taken from "pool" first when the leader gave its own
 * back while it waited; when none comes in time, every batch of the group
 * is answered with that failure (DB_BUSY: 503 db_busy), as each would be
 * alone. */
static void lead(db_pool *pool, db_conn **c, item **grp, size_t n)
{
    db_small_batch *u[INGEST_GROUP_MAX];
    int answer[INGEST_GROUP_MAX];
    wait_slot *wake[INGEST_GROUP_MAX + 1];
    size_t n_u = 0, n_wake = 0;
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
    /* Every answer first, none published: a copy's answer reads its first
     * copy's item, which is not to be touched once that one is answered. */
    for (size_t k = 0; k < n; k++) {
        item *it = grp[k];
        it->st = st;
        if (no_conn) {
            answer[k] = DONE;
        } else if (it->copy_of < 0) {
            /* A failed group: each batch once more on its own, so that one
             * bad batch fails only itself. A lone statement's failure is
             * its batch's answer. */
            answer[k] = st != DB_OK && n_u > 1 ? ALONE : DONE;
        } else if (st == DB_OK && grp[it->copy_of]->b.seq_ok) {
            /* Stored (or found stored) by its first copy: a duplicate. */
            const db_small_batch *first = &grp[it->copy_of]->b;
            it->b.seq_ok = true;
            it->b.fresh = false;
            it->b.prev_samples = first->fresh ? (long long)first->n : first->prev_samples;
            answer[k] = DONE;
        } else {
            answer[k] = ALONE; /* its own request decides, as without groups */
        }
    }
    pthread_mutex_lock(&g_mu);
    g_leading = false;
    /* A next leader first (the statement's wait is the longest), then the
     * answers of this group: each waiter's slot is taken before its item
     * is published, and its item not touched after. The leader's own item
     * (grp[0]) is published last. */
    if (g_head != NULL) {
        wake[n_wake++] = g_head->slot;
    }
    for (size_t k = n; k-- > 0;) {
        if (k > 0) {
            wake[n_wake++] = grp[k]->slot;
        }
        set_state(grp[k], answer[k]);
    }
    pthread_mutex_unlock(&g_mu);
    for (size_t k = 0; k < n_wake; k++) {
        waitword_set(&wake[k]->word);
    }
}

db_status ingest_group_store_small(db_pool *pool, db_conn **c, long long account_id, long long app_id,
                                   const char *batch_id, const ingest_rec *rec, size_t n,
                                   int64_t t_min, int64_t t_max, const char *ip,
                                   long long alarm_group, long long alarm_seq, bool *seq_ok,
                                   bool *fresh, long long *prev_samples)
{
    item me;
    item *grp[INGEST_GROUP_MAX];
    int state;
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
    atomic_init(&me.state, QUEUED);
    me.copy_of = -1;

    pthread_once(&g_once, slot_key_init);
    pthread_mutex_lock(&g_mu);
    if ((me.slot = slot_of_thread()) == NULL) {
        /* No memory for this thread's wait word: stored alone at once, as
         * before groups (right, only not grouped). */
        pthread_mutex_unlock(&g_mu);
        state = ALONE;
        goto alone;
    }
    if (g_tail != NULL) {
        g_tail->next = &me;
    } else {
        g_head = &me;
    }
    g_tail = &me;
    g_queued++;
    g_queued_bytes += n * 24;
    if (g_gathering) {
        g_last_enqueue_ns = mono_ns();
    }
    if (g_gathering && queue_full()) {
        pthread_cond_signal(&g_gather_cv);
    }
    if (g_leading) {
        metrics_add(METRIC_INGEST_GROUP_WAITS, 1);
    }
    for (;;) {
        /* Under g_mu here. */
        state = atomic_load_explicit(&me.state, memory_order_relaxed);
        if (state == QUEUED && !g_leading) {
            size_t k;
            g_leading = true;
            gather();
            k = take(&me, grp);
            g_last_start_ns = mono_ns();
            g_last_n = k;
            pthread_mutex_unlock(&g_mu);
            lead(pool, c, grp, k); /* answers "me" too */
            state = get_state(&me);
            break;
        }
        if (state == DONE || state == ALONE) {
            pthread_mutex_unlock(&g_mu);
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
        /* Sleep until a leader answers, or calls on this batch to lead
         * (see the top of the file for why no wake-up is lost). */
        atomic_store_explicit(&me.slot->word, 0, memory_order_relaxed);
        pthread_mutex_unlock(&g_mu);
        waitword_wait(&me.slot->word);
        state = get_state(&me);
        if (state == DONE || state == ALONE) {
            break; /* the answer, read without g_mu */
        }
        pthread_mutex_lock(&g_mu);
    }
alone:
    if (state == ALONE) {
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
