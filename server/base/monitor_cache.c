/* Kept values of a group's monitor (monitor_cache.h). */
#include "monitor_cache.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "stripes.h"

_Static_assert((MONCACHE_SLOTS & (MONCACHE_SLOTS - 1)) == 0,
               "MONCACHE_SLOTS must be a power of two");

struct moncache_body {
    atomic_size_t refs;
    size_t len;
    unsigned char data[];
};

typedef struct {
    bool used;
    bool stable;
    uint64_t hash;
    unsigned char *key; /* key_len bytes, then stamp_len bytes: one block */
    size_t key_len, stamp_len;
    int64_t at_ms; /* when it was first read */
    moncache_body *body; /* one reference owned */
} mc_slot;

static mc_slot slots[MONCACHE_SLOTS];
static atomic_size_t g_bytes;
static pthread_mutex_t locks[MONCACHE_STRIPES];
static stripes g_stripes = STRIPES_OF(locks);
static env_switch g_switch = ENV_SWITCH("METRON_MONITOR_CACHE");

moncache_body *moncache_body_new(size_t len, void **data)
{
    moncache_body *b = len <= MONCACHE_MAX_BODY ? malloc(sizeof *b + len + 1) : NULL;
    *data = NULL;
    if (b != NULL) {
        atomic_init(&b->refs, 1);
        b->len = len;
        *data = b->data;
    }
    return b;
}

const void *moncache_body_data(const moncache_body *b, size_t *len)
{
    *len = b->len;
    return b->data;
}

moncache_body *moncache_body_ref(moncache_body *b)
{
    atomic_fetch_add(&b->refs, 1);
    return b;
}

void moncache_body_drop(moncache_body *b)
{
    if (b != NULL && atomic_fetch_sub(&b->refs, 1) == 1) {
        free(b);
    }
}

void moncache_body_release(void *b)
{
    moncache_body_drop(b);
}

static uint64_t hash_of(const void *key, size_t len)
{
    const unsigned char *p = key;
    uint64_t h = 14695981039346656037u;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 1099511628211u;
    }
    return h ^ (h >> 31);
}

static pthread_mutex_t *lock_of(unsigned slot)
{
    return stripe_lock(&g_stripes, slot);
}

static bool same_key(const mc_slot *e, uint64_t h, const void *key, size_t len)
{
    return e->used && e->hash == h && e->key_len == len && memcmp(e->key, key, len) == 0;
}

static bool same_stamp(const mc_slot *e, const void *stamp, size_t len)
{
    return e->stamp_len == len && memcmp(e->key + e->key_len, stamp, len) == 0;
}

static bool fresh(const mc_slot *e, int64_t now_ms)
{
    return now_ms - e->at_ms >= 0 && now_ms - e->at_ms < MONCACHE_TTL_MS;
}

static size_t slot_bytes(const mc_slot *e)
{
    return e->key_len + e->stamp_len + e->body->len + sizeof *e->body;
}

/* Empty slot "e" (its lock held). */
static void drop(mc_slot *e)
{
    if (e->used) {
        atomic_fetch_sub(&g_bytes, slot_bytes(e));
    }
    free(e->key);
    moncache_body_drop(e->body);
    memset(e, 0, sizeof *e);
}

bool moncache_stable(const void *key, size_t key_len, int64_t now_ms)
{
    uint64_t h;
    unsigned i;
    bool yes;
    if (env_switch_off(&g_switch) || key_len > MONCACHE_MAX_KEY) {
        return false;
    }
    h = hash_of(key, key_len);
    i = (unsigned)(h & (MONCACHE_SLOTS - 1));
    pthread_mutex_lock(lock_of(i));
    yes = same_key(&slots[i], h, key, key_len) && slots[i].stable && fresh(&slots[i], now_ms);
    pthread_mutex_unlock(lock_of(i));
    return yes;
}

moncache_body *moncache_get(const void *key, size_t key_len, const void *stamp,
                            size_t stamp_len, int64_t now_ms)
{
    uint64_t h;
    unsigned i;
    mc_slot *e;
    moncache_body *b = NULL;
    if (env_switch_off(&g_switch) || key_len > MONCACHE_MAX_KEY) {
        return NULL;
    }
    h = hash_of(key, key_len);
    i = (unsigned)(h & (MONCACHE_SLOTS - 1));
    e = &slots[i];
    pthread_mutex_lock(lock_of(i));
    if (same_key(e, h, key, key_len) && fresh(e, now_ms)) {
        if (same_stamp(e, stamp, stamp_len)) {
            b = moncache_body_ref(e->body);
        } else {
            e->stable = false; /* moved: the next request reads */
        }
    }
    pthread_mutex_unlock(lock_of(i));
    return b;
}

void moncache_put(const void *key, size_t key_len, const void *stamp, size_t stamp_len,
                  int64_t now_ms, moncache_body *b)
{
    uint64_t h;
    unsigned i;
    mc_slot *e, n;
    size_t need, old, cur;
    if (env_switch_off(&g_switch) || b == NULL || key_len > MONCACHE_MAX_KEY ||
        stamp_len > MONCACHE_MAX_KEY || stamp_len == 0) {
        return;
    }
    h = hash_of(key, key_len);
    i = (unsigned)(h & (MONCACHE_SLOTS - 1));
    e = &slots[i];
    pthread_mutex_lock(lock_of(i));
    if (same_key(e, h, key, key_len) && fresh(e, now_ms) && same_stamp(e, stamp, stamp_len)) {
        /* Read twice with the same stamp: worth checking it first. */
        e->stable = true;
        pthread_mutex_unlock(lock_of(i));
        return;
    }
    pthread_mutex_unlock(lock_of(i));

    /* A new entry, made outside the lock. */
    memset(&n, 0, sizeof n);
    if ((n.key = malloc(key_len + stamp_len)) == NULL) {
        return;
    }
    memcpy(n.key, key, key_len);
    memcpy(n.key + key_len, stamp, stamp_len);
    n.used = true;
    n.hash = h;
    n.key_len = key_len;
    n.stamp_len = stamp_len;
    n.at_ms = now_ms;
    n.body = b;
    need = slot_bytes(&n);

    pthread_mutex_lock(lock_of(i));
    /* The slot's old entry out and the new one in as one step of the
     * total, so that no two puts together pass MONCACHE_MAX_BYTES. */
    old = e->used ? slot_bytes(e) : 0;
    cur = atomic_load(&g_bytes);
    do {
        if (cur - old + need > MONCACHE_MAX_BYTES) {
            pthread_mutex_unlock(lock_of(i));
            free(n.key);
            return;
        }
    } while (!atomic_compare_exchange_weak(&g_bytes, &cur, cur - old + need));
    e->used = false; /* counted out above */
    drop(e);
    n.body = moncache_body_ref(b);
    *e = n;
    pthread_mutex_unlock(lock_of(i));
}

bool moncache_on(void)
{
    return !env_switch_off(&g_switch);
}

size_t moncache_bytes(void)
{
    return atomic_load(&g_bytes);
}

void moncache_clear(void)
{
    for (unsigned i = 0; i < MONCACHE_SLOTS; i++) {
        pthread_mutex_lock(lock_of(i));
        drop(&slots[i]);
        pthread_mutex_unlock(lock_of(i));
    }
}
