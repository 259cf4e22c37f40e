/* Remembered reply bodies (reply_cache.h). */
#define _POSIX_C_SOURCE 200809L
#include "reply_cache.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "stripes.h"

_Static_assert((REPLY_CACHE_SLOTS & (REPLY_CACHE_SLOTS - 1)) == 0,
               "REPLY_CACHE_SLOTS must be a power of two");

typedef struct {
    bool used;
    reply_key key;
    unsigned long long epoch;
    int64_t at_ms;
    char *body; /* NUL-terminated, owned by the slot */
    size_t len;
    bool refreshing; /* a caller was told it is due (auth_cache_refresh_ms()) */
} rc_slot;

static rc_slot slots[REPLY_CACHE_SLOTS];
static atomic_size_t g_bytes; /* the bodies of every slot, together */
static pthread_mutex_t locks[REPLY_CACHE_STRIPES];
static stripes g_stripes = STRIPES_OF(locks);

/* The slot of a key: the variants of one (kind, account, user, sub) share
 * it. */
static unsigned slot_of(const reply_key *k)
{
    uint64_t h = (uint64_t)k->account_id * 0x9e3779b97f4a7c15u;
    h ^= (uint64_t)k->user_id * 0xc2b2ae3d27d4eb4fu;
    h ^= (uint64_t)k->sub * 0x94d049bb133111ebu;
    h ^= (uint64_t)k->kind * 0x165667b19e3779f9u;
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9u;
    h ^= h >> 32;
    return (unsigned)(h & (REPLY_CACHE_SLOTS - 1));
}

static pthread_mutex_t *lock_of(unsigned slot)
{
    return stripe_lock(&g_stripes, slot);
}

static bool same_key(const reply_key *a, const reply_key *b)
{
    return a->kind == b->kind && a->account_id == b->account_id &&
           a->user_id == b->user_id && a->variant == b->variant && a->sub == b->sub;
}

/* METRON_REPLY_CACHE=0 turns the remembered replies off (every GET /me
 * reads the database): scripts/bench-server measures whether they still pay
 * (docs/benchmarks.md). Read once. */
static env_switch g_switch = ENV_SWITCH("METRON_REPLY_CACHE");

bool reply_cache_get(const reply_key *key, unsigned long long epoch, int64_t now_ms, char **text,
                     size_t *len, bool *due)
{
    unsigned i = slot_of(key);
    rc_slot *e = &slots[i];
    pthread_mutex_t *lock = lock_of(i);
    char *copy = NULL;
    size_t n = 0;
    bool refresh = false;
    int64_t ttl_ms = auth_cache_ttl_ms(), refresh_ms = auth_cache_refresh_ms();

    if (env_switch_off(&g_switch)) {
        if (due != NULL) {
            *due = false;
        }
        return false;
    }

    pthread_mutex_lock(lock);
    /* now_ms < at_ms: the clock went back; the entry's age is unknown. */
    if (e->used && same_key(&e->key, key) && e->epoch == epoch && now_ms >= e->at_ms &&
        now_ms - e->at_ms < ttl_ms) {
        if ((copy = malloc(e->len + 1)) != NULL) {
            memcpy(copy, e->body, e->len + 1);
            n = e->len;
            if (now_ms - e->at_ms >= refresh_ms && !e->refreshing && due != NULL) {
                /* This caller has it read again and put; everyone keeps
                 * using this entry meanwhile. */
                e->refreshing = true;
                refresh = true;
            }
        }
    }
    pthread_mutex_unlock(lock);
    *text = copy;
    *len = n;
    if (due != NULL) {
        *due = refresh;
    }
    return copy != NULL;
}

void reply_cache_put(const reply_key *key, unsigned long long epoch, int64_t now_ms,
                     const char *text, size_t len)
{
    unsigned i = slot_of(key);
    rc_slot *e = &slots[i];
    pthread_mutex_t *lock = lock_of(i);
    char *copy, *unused;

    if (len > (key->kind == REPLY_ME ? REPLY_CACHE_MAX_BODY : REPLY_CACHE_MAX_LIST)) {
        return;
    }
    /* Copied outside the lock; whichever buffer is left over is freed
     * outside it too. */
    copy = malloc(len + 1);
    if (copy == NULL) {
        return;
    }
    memcpy(copy, text, len);
    copy[len] = '\0';
    pthread_mutex_lock(lock);
    if (e->used && same_key(&e->key, key) && e->epoch > epoch) {
        unused = copy; /* a read under a later epoch is already here */
    } else if (atomic_load(&g_bytes) - e->len + len > REPLY_CACHE_MAX_BYTES) {
        unused = copy; /* the budget of every body together is spent */
    } else {
        unused = e->body;
        atomic_fetch_sub(&g_bytes, e->len);
        atomic_fetch_add(&g_bytes, len);
        e->used = true;
        e->key = *key;
        e->epoch = epoch;
        e->at_ms = now_ms;
        e->body = copy;
        e->len = len;
        e->refreshing = false;
    }
    pthread_mutex_unlock(lock);
    free(unused);
}

void reply_cache_clear(void)
{
    for (unsigned i = 0; i < REPLY_CACHE_SLOTS; i++) {
        pthread_mutex_t *lock = lock_of(i);
        char *body;
        pthread_mutex_lock(lock);
        body = slots[i].body;
        atomic_fetch_sub(&g_bytes, slots[i].len);
        memset(&slots[i], 0, sizeof slots[i]);
        pthread_mutex_unlock(lock);
        free(body);
    }
}
