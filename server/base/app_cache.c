/* Remembered app credentials (app_cache.h). */
#define _POSIX_C_SOURCE 200809L
#include "app_cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "stripes.h"

_Static_assert((APP_CACHE_SETS & (APP_CACHE_SETS - 1)) == 0,
               "APP_CACHE_SETS must be a power of two");

typedef struct {
    bool used;
    app_cache_key key;
    app_cache_row row;
    unsigned long long state;         /* auth_state_epoch() */
    unsigned long long account;       /* auth_account_epoch(row.account_id) */
    unsigned long long account_state; /* auth_account_state_epoch(row.account_id) */
    int64_t at_ms;
} ac_entry;

static ac_entry g_sets[APP_CACHE_SETS][APP_CACHE_WAYS];
static pthread_mutex_t g_locks[APP_CACHE_STRIPES];
static stripes g_stripes = STRIPES_OF(g_locks);

static unsigned set_of(const app_cache_key *k)
{
    uint64_t h;
    if (k->by_id) {
        h = (uint64_t)k->app_id * 0x9e3779b97f4a7c15u;
        h ^= h >> 31;
    } else {
        /* A SHA-256 is uniform already. */
        h = (uint64_t)k->hash[0] | (uint64_t)k->hash[1] << 8 | (uint64_t)k->hash[2] << 16 |
            (uint64_t)k->hash[3] << 24;
    }
    return (unsigned)(h & (APP_CACHE_SETS - 1));
}

static pthread_mutex_t *lock_of(unsigned set)
{
    return stripe_lock(&g_stripes, set);
}

/* The two keyed hashes are equal, in a time that does not depend on
 * where they differ, as auth_equal() compares: by words, not by bytes
 * (issue 16: CRYPTO_memcmp() of 32 bytes was ~240 instructions of every
 * batch). */
static bool same_hash(const unsigned char *a, const unsigned char *b)
{
    uint64_t x[4], y[4];
    _Static_assert(sizeof ((app_cache_key *)0)->hash == sizeof x, "a key's hash is 32 bytes");
    memcpy(x, a, sizeof x);
    memcpy(y, b, sizeof y);
    return ((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) | (x[3] ^ y[3])) == 0;
}

static bool same_key(const app_cache_key *a, const app_cache_key *b)
{
    if (a->by_id != b->by_id) {
        return false;
    }
    return a->by_id ? a->app_id == b->app_id : same_hash(a->hash, b->hash);
}

/* METRON_APP_CACHE=0 turns the cache off (every batch reads its app from the
 * database): scripts/bench-server measures what it saves. Read once. */
static env_switch g_switch = ENV_SWITCH("METRON_APP_CACHE");

static bool cache_off(void)
{
    return env_switch_off(&g_switch);
}

bool app_cache_row_ok(const app_cache_row *row, int64_t now_us)
{
    return row->account_active && row->trial_expires_us > now_us;
}

/* Whether entry "e" (used) still counts at "now_ms". */
static bool counts(const ac_entry *e, int64_t now_ms)
{
    /* now_ms < at_ms: the clock went back; the entry's age is unknown. */
    return e->state == auth_state_epoch() && e->account == auth_account_epoch(e->row.account_id) &&
           e->account_state == auth_account_state_epoch(e->row.account_id) &&
           now_ms >= e->at_ms && now_ms - e->at_ms < auth_cache_ttl_ms();
}

bool app_cache_get(const app_cache_key *key, int64_t now_ms, app_cache_row *out)
{
    unsigned s = set_of(key);
    pthread_mutex_t *lock = lock_of(s);
    bool hit = false;
    if (cache_off()) {
        return false;
    }
    pthread_mutex_lock(lock);
    for (int w = 0; w < APP_CACHE_WAYS; w++) {
        ac_entry *e = &g_sets[s][w];
        if (e->used && same_key(&e->key, key)) {
            if (counts(e, now_ms)) {
                *out = e->row;
                hit = true;
            } else {
                e->used = false; /* stale for good: its epochs never come back */
            }
            break;
        }
    }
    pthread_mutex_unlock(lock);
    return hit;
}

void app_cache_begin(app_cache_mark *m)
{
    /* The count first (auth.h: every move counts before it moves its epoch). */
    m->changes = auth_change_count();
    m->state = auth_state_epoch();
}

void app_cache_put(const app_cache_key *key, const app_cache_mark *m, int64_t now_ms,
                   const app_cache_row *row)
{
    unsigned s = set_of(key);
    pthread_mutex_t *lock = lock_of(s);
    unsigned long long account = auth_account_epoch(row->account_id);
    unsigned long long account_state = auth_account_state_epoch(row->account_id);
    ac_entry *slot = NULL;
    /* The account's epochs are read after the read; they are those it ran
     * under only if nothing moved meanwhile. */
    if (auth_change_count() != m->changes || cache_off()) {
        return;
    }
    pthread_mutex_lock(lock);
    for (int w = 0; w < APP_CACHE_WAYS && slot == NULL; w++) {
        if (g_sets[s][w].used && same_key(&g_sets[s][w].key, key)) {
            slot = &g_sets[s][w];
        }
    }
    for (int w = 0; w < APP_CACHE_WAYS && slot == NULL; w++) {
        if (!g_sets[s][w].used) {
            slot = &g_sets[s][w];
        }
    }
    if (slot == NULL) {
        slot = &g_sets[s][0]; /* the oldest of a full set */
        for (int w = 1; w < APP_CACHE_WAYS; w++) {
            if (g_sets[s][w].at_ms < slot->at_ms) {
                slot = &g_sets[s][w];
            }
        }
    }
    slot->used = true;
    slot->key = *key;
    slot->row = *row;
    slot->state = m->state;
    slot->account = account;
    slot->account_state = account_state;
    slot->at_ms = now_ms;
    pthread_mutex_unlock(lock);
}

void app_cache_forget(const app_cache_key *key)
{
    unsigned s = set_of(key);
    pthread_mutex_t *lock = lock_of(s);
    pthread_mutex_lock(lock);
    for (int w = 0; w < APP_CACHE_WAYS; w++) {
        if (g_sets[s][w].used && same_key(&g_sets[s][w].key, key)) {
            g_sets[s][w].used = false;
        }
    }
    pthread_mutex_unlock(lock);
}

void app_cache_clear(void)
{
    for (unsigned s = 0; s < APP_CACHE_SETS; s++) {
        pthread_mutex_t *lock = lock_of(s);
        pthread_mutex_lock(lock);
        memset(g_sets[s], 0, sizeof g_sets[s]);
        pthread_mutex_unlock(lock);
    }
}
