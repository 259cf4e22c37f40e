/* Reads shared by the requests that want the same one (shared_read.h). */
#define _POSIX_C_SOURCE 200809L /* pthread_condattr_setclock(), clock_gettime() */
#include "shared_read.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "metrics.h"
#include "stripes.h"
#include "waitword.h"

_Static_assert((SREAD_SLOTS & (SREAD_SLOTS - 1)) == 0, "SREAD_SLOTS must be a power of two");

/* One result, shared by the read and each follower reading it (in place,
 * sread_join_ref(), or copying it out, sread_join()), so that no copy is
 * made under a lock. */
struct sread_result {
    atomic_size_t refs;
    size_t len;
    const unsigned char *at; /* the bytes: data[], or the caller's (sread_result_wrap()) */
    void (*release)(void *); /* for the caller's bytes, once the last reference goes */
    void *arg;
    unsigned char data[];
};

struct sread {
    unsigned slot;
    void *key; /* key_len bytes, owned */
    size_t key_len;
    atomic_int refs;      /* the leader and every follower */
    bool started;         /* closed to followers (slot's lock) */
    atomic_int done;      /* set once ended: "result" is then set for good */
    sread_result *result; /* when done: the result, or NULL */
    pthread_cond_t go;    /* the leader: no other read of the key runs */
};

/* What runs on a slot: the read that takes followers (not begun) and the
 * one that is out. */
typedef struct {
    sread *open;
    sread *busy;
    long long last_end_ns; /* CLOCK_MONOTONIC when a read of the slot last ended; 0 never */
} sread_slot;

static sread_slot slots[SREAD_SLOTS];
static pthread_mutex_t locks[SREAD_STRIPES];
static stripes g_stripes = STRIPES_OF(locks);
static env_switch g_switch = ENV_SWITCH("METRON_SHARED_READ");

/* The gathering window (shared_read.h): -1 until read from the environment. */
static atomic_long g_gather_us = -1;
static atomic_long g_recent_us = SREAD_GATHER_RECENT_US;
static pthread_once_t g_cond_once = PTHREAD_ONCE_INIT;
static pthread_condattr_t g_cond_attr; /* CLOCK_MONOTONIC, for the window's timed wait */

static void cond_attr_init(void)
{
    pthread_condattr_init(&g_cond_attr);
    pthread_condattr_setclock(&g_cond_attr, CLOCK_MONOTONIC);
}

static long long mono_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

void sread_set_gather_us(long us)
{
    atomic_store(&g_gather_us, us < 0 ? 0 : us > SREAD_GATHER_MAX_US ? SREAD_GATHER_MAX_US : us);
}

void sread_set_gather_recent_us(long us)
{
    atomic_store(&g_recent_us, us > 0 ? us : SREAD_GATHER_RECENT_US);
}

long sread_gather_us(void)
{
    long us = atomic_load_explicit(&g_gather_us, memory_order_relaxed);
    if (us < 0) {
        /* Two first callers may both read the environment: same answer. */
        const char *v = getenv("METRON_SREAD_GATHER_US");
        char *end = NULL;
        long n = v != NULL ? strtol(v, &end, 10) : SREAD_GATHER_US;
        if (v != NULL && (end == v || *end != '\0')) {
            n = SREAD_GATHER_US;
        }
        sread_set_gather_us(n);
        us = atomic_load(&g_gather_us);
    }
    return us;
}

/* A hash of the key's bytes, eight at a time (issue 16: FNV-1a a byte at a
 * time was 1.5 k instructions of a monitor's 304-byte key per request). */
static unsigned slot_of(const void *key, size_t len)
{
    const unsigned char *p = key;
    uint64_t h = 0xcbf29ce484222325u ^ len, w;
    for (; len >= 8; p += 8, len -= 8) {
        memcpy(&w, p, 8);
        h = (h ^ w) * 0x9e3779b97f4a7c15u;
        h ^= h >> 29;
    }
    if (len > 0) {
        w = 0;
        memcpy(&w, p, len);
        h = (h ^ w) * 0x9e3779b97f4a7c15u;
    }
    h ^= h >> 32;
    h *= 0xbf58476d1ce4e5b9u;
    h ^= h >> 29;
    return (unsigned)(h & (SREAD_SLOTS - 1));
}

static pthread_mutex_t *lock_of(unsigned slot)
{
    return stripe_lock(&g_stripes, slot);
}

static bool same_key(const sread *r, const void *key, size_t len)
{
    return r->key_len == len && memcmp(r->key, key, len) == 0;
}

static void result_unref(sread_result *x)
{
    if (x != NULL && atomic_fetch_sub(&x->refs, 1) == 1) {
        if (x->release != NULL) {
            x->release(x->arg);
        }
        free(x);
    }
}

void sread_result_drop(sread_result *x)
{
    result_unref(x);
}

const void *sread_result_data(const sread_result *x, size_t *len)
{
    *len = x->len;
    return x->at;
}

sread_result *sread_result_new(size_t len, void **data)
{
    sread_result *x;
    *data = NULL;
    if (len > SREAD_MAX_RESULT || (x = malloc(sizeof *x + (len > 0 ? len : 1))) == NULL) {
        return NULL;
    }
    atomic_init(&x->refs, 1);
    x->len = len;
    x->at = x->data;
    x->release = NULL;
    x->arg = NULL;
    *data = x->data;
    return x;
}

void *sread_result_owner(const sread_result *x)
{
    return x->arg;
}

sread_result *sread_result_wrap(const void *data, size_t len, void (*release)(void *), void *arg)
{
    sread_result *x;
    if (len > SREAD_MAX_RESULT || (x = malloc(sizeof *x)) == NULL) {
        return NULL;
    }
    atomic_init(&x->refs, 1);
    x->len = len;
    x->at = data;
    x->release = release;
    x->arg = arg;
    return x;
}

/* Let go of "r"; the last one frees it. */
static void sread_unref(sread *r)
{
    if (atomic_fetch_sub(&r->refs, 1) == 1) {
        result_unref(r->result);
        pthread_cond_destroy(&r->go);
        free(r->key);
        free(r);
    }
}

/* sread_join_ref(), with the window when "gather" (shared_read.h). */
static sread_role join(const void *key, size_t key_len, bool gather, sread **out,
                       sread_result **res)
{
    unsigned i;
    sread_slot *sl;
    sread *r;
    sread_result *x;
    bool waited;
    *out = NULL;
    *res = NULL;
    if (env_switch_off(&g_switch) || key_len == 0 || key_len > SREAD_MAX_KEY) {
        metrics_add(METRIC_SREAD_ALONE, 1);
        return SREAD_ALONE;
    }
    i = slot_of(key, key_len);
    sl = &slots[i];
    pthread_mutex_lock(lock_of(i));
    if (sl->open != NULL) {
        r = sl->open;
        if (!same_key(r, key, key_len)) {
            pthread_mutex_unlock(lock_of(i));
            metrics_add(METRIC_SREAD_ALONE, 1);
            return SREAD_ALONE; /* another key's: a read of its own */
        }
        /* Not begun yet: it begins after this request came, as this
         * request's own read would. */
        atomic_fetch_add(&r->refs, 1);
        pthread_mutex_unlock(lock_of(i));
        waitword_wait(&r->done);
        x = r->result;
        if (x != NULL) {
            atomic_fetch_add(&x->refs, 1);
        }
        sread_unref(r);
        if (x == NULL) {
            metrics_add(METRIC_SREAD_ALONE, 1);
            return SREAD_ALONE;
        }
        metrics_add(METRIC_SREAD_SHARED, 1);
        *res = x;
        return SREAD_SHARED;
    }
    if (sl->busy != NULL && !same_key(sl->busy, key, key_len)) {
        pthread_mutex_unlock(lock_of(i));
        metrics_add(METRIC_SREAD_ALONE, 1);
        return SREAD_ALONE; /* never wait for another key's read */
    }
    r = calloc(1, sizeof *r);
    if (r != NULL && (r->key = malloc(key_len)) == NULL) {
        free(r);
        r = NULL;
    }
    if (r == NULL) {
        pthread_mutex_unlock(lock_of(i));
        metrics_add(METRIC_SREAD_ALONE, 1);
        return SREAD_ALONE;
    }
    memcpy(r->key, key, key_len);
    r->key_len = key_len;
    r->slot = i;
    atomic_init(&r->refs, 1);
    atomic_init(&r->done, 0);
    pthread_once(&g_cond_once, cond_attr_init);
    pthread_cond_init(&r->go, &g_cond_attr);
    sl->open = r;
    /* One read of a key out at a time: the requests that come while it
     * runs join this one. */
    waited = sl->busy != NULL;
    if (gather && !waited && sl->last_end_ns != 0) {
        /* No read runs, but one ended a moment ago: the key is asked for
         * steadily, and the requests of the next moment join this read
         * rather than each lead one (shared_read.h, the window). */
        long long gather = sread_gather_us() * 1000LL, now = gather > 0 ? mono_ns() : 0;
        if (gather > 0 && now - sl->last_end_ns < atomic_load_explicit(&g_recent_us, memory_order_relaxed) * 1000LL) {
            struct timespec until;
            long long end = now + gather;
            until.tv_sec = (time_t)(end / 1000000000LL);
            until.tv_nsec = (long)(end % 1000000000LL);
            while (sl->busy == NULL &&
                   pthread_cond_timedwait(&r->go, lock_of(i), &until) == 0) {
                /* woken early (spuriously): the window goes on */
            }
            metrics_add(METRIC_SREAD_GATHERED, 1);
        }
    }
    while (sl->busy != NULL) {
        pthread_cond_wait(&r->go, lock_of(i));
    }
    pthread_mutex_unlock(lock_of(i));
    metrics_add(waited ? METRIC_SREAD_LEAD_WAITED : METRIC_SREAD_LEAD, 1);
    *out = r;
    return SREAD_LEAD;
}

sread_role sread_join_ref(const void *key, size_t key_len, sread **out, sread_result **res)
{
    return join(key, key_len, false, out, res);
}

/* sread_join() and sread_join_gathered(). */
static sread_role join_copy(const void *key, size_t key_len, bool gather, sread **r, void **res,
                            size_t *res_len)
{
    sread_result *x = NULL;
    sread_role role = join(key, key_len, gather, r, &x);
    *res = NULL;
    *res_len = 0;
    if (role != SREAD_SHARED) {
        return role;
    }
    *res = malloc(x->len > 0 ? x->len : 1);
    if (*res == NULL) {
        result_unref(x);
        return SREAD_ALONE;
    }
    memcpy(*res, x->at, x->len);
    *res_len = x->len;
    result_unref(x);
    return SREAD_SHARED;
}

sread_role sread_join(const void *key, size_t key_len, sread **r, void **res, size_t *res_len)
{
    return join_copy(key, key_len, false, r, res, res_len);
}

sread_role sread_join_gathered(const void *key, size_t key_len, sread **r, void **res,
                               size_t *res_len)
{
    return join_copy(key, key_len, true, r, res, res_len);
}

void sread_start(sread *r)
{
    pthread_mutex_lock(lock_of(r->slot));
    if (!r->started) {
        r->started = true;
        if (slots[r->slot].open == r) {
            slots[r->slot].open = NULL;
        }
        slots[r->slot].busy = r;
    }
    pthread_mutex_unlock(lock_of(r->slot));
}

void sread_end(sread *r, const void *res, size_t res_len)
{
    sread_result *x = NULL;
    void *data;
    if (res != NULL && (x = sread_result_new(res_len, &data)) != NULL) {
        memcpy(data, res, res_len);
    }
    sread_end_result(r, x);
}

void sread_end_result(sread *r, sread_result *x)
{
    unsigned i = r->slot;
    sread_slot *sl = &slots[i];
    pthread_mutex_lock(lock_of(i));
    r->result = x;
    if (sl->open == r) {
        sl->open = NULL; /* ended before it began */
    }
    if (sl->busy == r) {
        sl->busy = NULL;
        sl->last_end_ns = mono_ns();
        if (sl->open != NULL) {
            pthread_cond_signal(&sl->open->go);
        }
    }
    pthread_mutex_unlock(lock_of(i));
    /* The leader's reference keeps "r" until its followers are woken. */
    waitword_set(&r->done);
    sread_unref(r);
}

int sread_open_count(const void *key, size_t key_len)
{
    unsigned i;
    int n = 0;
    if (key_len == 0 || key_len > SREAD_MAX_KEY) {
        return 0;
    }
    i = slot_of(key, key_len);
    pthread_mutex_lock(lock_of(i));
    if (slots[i].open != NULL && same_key(slots[i].open, key, key_len)) {
        n = atomic_load(&slots[i].open->refs);
    }
    pthread_mutex_unlock(lock_of(i));
    return n;
}
