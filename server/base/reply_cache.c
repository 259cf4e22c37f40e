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

/* A remembered body, shared: by its slot while it is there, and by every
 * caller of reply_cache_get_shared() until it releases it. */
struct reply_body {
    atomic_int refs;
    size_t len;
    reply_head head; /* the room before "text" (room 0: none) */
    char *text;      /* "len" bytes and a NUL, in data[] after the room */
    char data[];
};

typedef struct {
    bool used;
    reply_key key;
    unsigned long long epoch;
    int64_t at_ms;
    reply_body *body; /* the slot's reference */
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

void reply_body_release(reply_body *b)
{
    if (b != NULL && atomic_fetch_sub(&b->refs, 1) == 1) {
        free(b);
    }
}

reply_head *reply_body_head(reply_body *b)
{
    return b != NULL && b->head.room > 0 ? &b->head : NULL;
}

void reply_body_text_free(reply_body_text *t)
{
    free(t->owned);
    reply_body_release(t->shared);
    memset(t, 0, sizeof *t);
}

bool reply_cache_get_shared(const reply_key *key, unsigned long long epoch, int64_t now_ms,
                            reply_body **body, const char **text, size_t *len, bool *due)
{
    unsigned i = slot_of(key);
    rc_slot *e = &slots[i];
    pthread_mutex_t *lock = lock_of(i);
    reply_body *found = NULL;
    bool refresh = false;
    int64_t ttl_ms = auth_cache_ttl_ms(), refresh_ms = auth_cache_refresh_ms();

    if (!env_switch_off(&g_switch)) {
        pthread_mutex_lock(lock);
        /* now_ms < at_ms: the clock went back; the entry's age is unknown. */
        if (e->used && same_key(&e->key, key) && e->epoch == epoch && now_ms >= e->at_ms &&
            now_ms - e->at_ms < ttl_ms) {
            found = e->body;
            atomic_fetch_add(&found->refs, 1);
            if (now_ms - e->at_ms >= refresh_ms && !e->refreshing && due != NULL) {
                /* This caller has it read again and put; everyone keeps
                 * using this entry meanwhile. */
                e->refreshing = true;
                refresh = true;
            }
        }
        pthread_mutex_unlock(lock);
    }
    *body = found;
    *text = found != NULL ? found->text : NULL;
    *len = found != NULL ? found->len : 0;
    if (due != NULL) {
        *due = refresh;
    }
    return found != NULL;
}

bool reply_cache_get(const reply_key *key, unsigned long long epoch, int64_t now_ms, char **text,
                     size_t *len, bool *due)
{
    reply_body *body;
    const char *shared;
    size_t n;
    char *copy = NULL;
    bool refresh = false;
    /* Copied outside the lock, from the reference. */
    if (reply_cache_get_shared(key, epoch, now_ms, &body, &shared, &n,
                               due != NULL ? &refresh : NULL)) {
        if ((copy = malloc(n + 1)) != NULL) {
            memcpy(copy, shared, n + 1);
        } else if (refresh) {
            /* Not served: the next caller is told instead. */
            unsigned i = slot_of(key);
            pthread_mutex_lock(lock_of(i));
            if (slots[i].body == body) {
                slots[i].refreshing = false;
            }
            pthread_mutex_unlock(lock_of(i));
            refresh = false;
        }
        reply_body_release(body);
    }
    *text = copy;
    *len = copy != NULL ? n : 0;
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
    reply_body *copy, *unused;
    size_t room;

    if (len > (key->kind == REPLY_ME ? REPLY_CACHE_MAX_BODY : REPLY_CACHE_MAX_LIST)) {
        return;
    }
    /* Copied outside the lock; whichever body is left over is released
     * outside it too. A list is sent as it is (reply_body_head()): room
     * before it for its headers. */
    room = key->kind == REPLY_DEVICES ? REPLY_BODY_ROOM : 0;
    copy = malloc(sizeof *copy + room + len + 1);
    if (copy == NULL) {
        return;
    }
    atomic_init(&copy->refs, 1);
    copy->len = len;
    reply_head_init(&copy->head, room);
    copy->text = copy->data + room;
    memcpy(copy->text, text, len);
    copy->text[len] = '\0';
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
    reply_body_release(unused);
}

void reply_cache_clear(void)
{
    for (unsigned i = 0; i < REPLY_CACHE_SLOTS; i++) {
        pthread_mutex_t *lock = lock_of(i);
        reply_body *body;
        pthread_mutex_lock(lock);
        body = slots[i].body;
        atomic_fetch_sub(&g_bytes, slots[i].len);
        memset(&slots[i], 0, sizeof slots[i]);
        pthread_mutex_unlock(lock);
        reply_body_release(body);
    }
}
