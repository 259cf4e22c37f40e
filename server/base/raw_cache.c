/* Validated replies of the raw data route (raw_cache.h). */
#include "raw_cache.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "shared_read.h"
#include "stripes.h"

_Static_assert((RAW_CACHE_SLOTS & (RAW_CACHE_SLOTS - 1)) == 0,
               "RAW_CACHE_SLOTS must be a power of two");

/* A reply's text, shared by its slot and the requests sending it, so that
 * no copy is made under the slot's lock (issue 16: 50 requests of one
 * window queued on that lock while each copied 30 KB), nor for each
 * request (the headers go into the room before it: reply_head.h). */
struct raw_reply {
    atomic_size_t refs;
    size_t len;
    reply_head head;
    char *text; /* len bytes and a NUL, RAW_REPLY_ROOM bytes into mem */
    char mem[];
};
typedef struct raw_reply raw_body;

typedef struct {
    bool used;
    bool stable;
    long long account_id;
    int64_t *ch; /* n_ch ids, owned */
    size_t n_ch;
    int64_t t0, t1;
    size_t limit;
    int64_t at_ms;  /* when it was first read */
    uint8_t *ver;   /* owned */
    size_t ver_len;
    raw_body *body; /* one reference owned */
    size_t len;
    /* The account's change stamp read before a check whose versions
     * matched, for "stamp_viewer" (stamp_len 0: none; issue 16, rawstamp). */
    long long stamp_viewer;
    size_t stamp_len;
    uint8_t stamp[RAW_STAMP_MAX];
} raw_slot;

/* A shared check of a window's versions (raw_cache_check()): a read of
 * shared_read.h, keyed by the window, the viewer and the database. Its
 * result is the kept reply's text and its NUL, not copied (the versions
 * matched: sread_result_wrap() of the slot's raw_body, issue 16: the day
 * was copied into the result to be copied out again), or the failure's
 * code and 'F' (raw_check_fail()), told apart by the last byte (the
 * text's NUL or 'F'). A follower copies the text out once, behind room for its
 * headers, so that its reply leaves in one write. */
struct raw_check {
    sread *rd;
    unsigned slot;
};

static raw_slot slots[RAW_CACHE_SLOTS];
static atomic_size_t g_bytes;
static pthread_mutex_t locks[RAW_CACHE_STRIPES];
static stripes g_stripes = STRIPES_OF(locks);
static env_switch g_switch = ENV_SWITCH("METRON_RAW_CACHE");

static unsigned slot_of(const raw_cache_key *k)
{
    uint64_t h = stripes_mix(0, (uint64_t)k->account_id);
    h = stripes_mix(h, (uint64_t)k->t0);
    h = stripes_mix(h, (uint64_t)k->t1);
    h = stripes_mix(h, (uint64_t)k->limit);
    for (size_t i = 0; i < k->n_ch; i++) {
        h = stripes_mix(h, (uint64_t)k->ch[i]);
    }
    return (unsigned)(h & (RAW_CACHE_SLOTS - 1));
}

static pthread_mutex_t *lock_of(unsigned slot)
{
    return stripe_lock(&g_stripes, slot);
}

static bool same_key(const raw_slot *e, const raw_cache_key *k)
{
    return e->used && e->account_id == k->account_id && e->t0 == k->t0 && e->t1 == k->t1 &&
           e->limit == k->limit && e->n_ch == k->n_ch &&
           memcmp(e->ch, k->ch, k->n_ch * sizeof *k->ch) == 0;
}

static bool fresh(const raw_slot *e, int64_t now_ms)
{
    return now_ms - e->at_ms >= 0 && now_ms - e->at_ms < RAW_CACHE_TTL_MS;
}

static void body_unref(raw_body *b)
{
    if (b != NULL && atomic_fetch_sub(&b->refs, 1) == 1) {
        free(b);
    }
}

/* body_unref() as sread_result_wrap() calls it. */
static void body_release(void *b)
{
    body_unref(b);
}

/* A NUL-terminated copy of "b" at "room" bytes into a new block *text
 * (caller frees), of *len bytes; false without memory. Drops the caller's
 * reference to "b". */
static bool body_copy_out(raw_body *b, size_t room, char **text, size_t *len)
{
    char *copy = room + b->len + 1 > room ? malloc(room + b->len + 1) : NULL;
    if (copy != NULL) {
        memcpy(copy + room, b->text, b->len + 1);
        *text = copy;
        *len = b->len;
    }
    body_unref(b);
    return copy != NULL;
}

static size_t slot_bytes(const raw_slot *e)
{
    return e->len + e->ver_len + e->n_ch * sizeof *e->ch;
}

/* Empty slot "e" (its lock held). */
static void drop(raw_slot *e)
{
    if (e->used) {
        atomic_fetch_sub(&g_bytes, slot_bytes(e));
    }
    free(e->ch);
    free(e->ver);
    body_unref(e->body);
    memset(e, 0, sizeof *e);
}

bool raw_cache_stable(const raw_cache_key *key, int64_t now_ms)
{
    unsigned i;
    bool yes;
    if (env_switch_off(&g_switch)) {
        return false;
    }
    i = slot_of(key);
    pthread_mutex_lock(lock_of(i));
    yes = same_key(&slots[i], key) && slots[i].stable && fresh(&slots[i], now_ms);
    pthread_mutex_unlock(lock_of(i));
    return yes;
}

bool raw_cache_get(const raw_cache_key *key, const void *ver, size_t ver_len, int64_t now_ms,
                   char **text, size_t *len)
{
    unsigned i;
    raw_slot *e;
    raw_body *b = NULL;
    *text = NULL;
    *len = 0;
    if (env_switch_off(&g_switch)) {
        return false;
    }
    i = slot_of(key);
    e = &slots[i];
    pthread_mutex_lock(lock_of(i));
    if (same_key(e, key) && fresh(e, now_ms)) {
        if (e->ver_len == ver_len && memcmp(e->ver, ver, ver_len) == 0) {
            b = e->body;
            atomic_fetch_add(&b->refs, 1);
        } else {
            e->stable = false; /* changed: the next read goes to the samples */
            e->stamp_len = 0;
        }
    }
    pthread_mutex_unlock(lock_of(i));
    return b != NULL && body_copy_out(b, 0, text, len);
}

void raw_cache_put(const raw_cache_key *key, const void *ver, size_t ver_len, int64_t now_ms,
                   const char *text, size_t len)
{
    unsigned i;
    raw_slot *e, fresh_e;
    size_t need;
    if (env_switch_off(&g_switch) || len > RAW_CACHE_MAX_BODY || ver_len > RAW_CACHE_MAX_VERSIONS ||
        key->n_ch == 0) {
        return;
    }
    i = slot_of(key);
    e = &slots[i];
    pthread_mutex_lock(lock_of(i));
    if (same_key(e, key) && fresh(e, now_ms) && e->ver_len == ver_len &&
        memcmp(e->ver, ver, ver_len) == 0) {
        /* Read twice with the same versions: worth checking them first. */
        e->stable = true;
        pthread_mutex_unlock(lock_of(i));
        return;
    }
    pthread_mutex_unlock(lock_of(i));

    /* A new entry, made outside the lock. */
    memset(&fresh_e, 0, sizeof fresh_e);
    need = len + ver_len + key->n_ch * sizeof *key->ch;
    fresh_e.ch = malloc(key->n_ch * sizeof *key->ch);
    fresh_e.ver = malloc(ver_len ? ver_len : 1);
    fresh_e.body = malloc(sizeof *fresh_e.body + RAW_REPLY_ROOM + len + 1);
    if (fresh_e.ch == NULL || fresh_e.ver == NULL || fresh_e.body == NULL) {
        goto out;
    }
    fresh_e.body->text = fresh_e.body->mem + RAW_REPLY_ROOM;
    reply_head_init(&fresh_e.body->head, RAW_REPLY_ROOM);
    memcpy(fresh_e.ch, key->ch, key->n_ch * sizeof *key->ch);
    memcpy(fresh_e.ver, ver, ver_len);
    atomic_init(&fresh_e.body->refs, 1);
    fresh_e.body->len = len;
    memcpy(fresh_e.body->text, text, len);
    fresh_e.body->text[len] = '\0';
    fresh_e.used = true;
    fresh_e.account_id = key->account_id;
    fresh_e.n_ch = key->n_ch;
    fresh_e.t0 = key->t0;
    fresh_e.t1 = key->t1;
    fresh_e.limit = key->limit;
    fresh_e.at_ms = now_ms;
    fresh_e.ver_len = ver_len;
    fresh_e.len = len;

    pthread_mutex_lock(lock_of(i));
    {
        /* The slot's old entry out and the new one in as one step of the
         * total, so that no two puts together pass RAW_CACHE_MAX_BYTES. */
        size_t old = e->used ? slot_bytes(e) : 0;
        size_t cur = atomic_load(&g_bytes);
        do {
            if (cur - old + need > RAW_CACHE_MAX_BYTES) {
                pthread_mutex_unlock(lock_of(i));
                goto out;
            }
        } while (!atomic_compare_exchange_weak(&g_bytes, &cur, cur - old + need));
        e->used = false; /* counted out above */
        drop(e);
        *e = fresh_e;
    }
    pthread_mutex_unlock(lock_of(i));
    return;
out:
    free(fresh_e.ch);
    free(fresh_e.ver);
    free(fresh_e.body);
}

/* The shared read's key of "key" for "viewer" on "db" (caller frees);
 * NULL without memory. */
static unsigned char *check_key(const raw_cache_key *key, long long viewer, const void *db,
                                size_t *len)
{
    int64_t head[7] = {0x72617763 /* "rawc" */, key->account_id, viewer, (int64_t)(intptr_t)db,
                       key->t0, key->t1, (int64_t)key->limit};
    size_t n = sizeof head + key->n_ch * sizeof *key->ch;
    unsigned char *k = malloc(n);
    if (k != NULL) {
        memcpy(k, head, sizeof head);
        memcpy(k + sizeof head, key->ch, key->n_ch * sizeof *key->ch);
        *len = n;
    }
    return k;
}

int raw_check_open_count(const raw_cache_key *key, long long viewer, const void *db)
{
    size_t k_len = 0;
    unsigned char *k = check_key(key, viewer, db, &k_len);
    int n = k != NULL ? sread_open_count(k, k_len) : 0;
    free(k);
    return n;
}

raw_check_role raw_cache_check(const raw_cache_key *key, long long viewer, const void *db,
                               int64_t now_ms, raw_check **chk, raw_reply **kept, int *failure)
{
    unsigned i;
    bool stable;
    unsigned char *k;
    const unsigned char *res;
    size_t k_len = 0, res_len = 0;
    sread *rd = NULL;
    sread_result *x = NULL;
    sread_role role;
    raw_check_role out = RAW_CHECK_READ;
    *chk = NULL;
    *kept = NULL;
    *failure = 0;
    if (env_switch_off(&g_switch) || key->n_ch == 0) {
        return RAW_CHECK_READ;
    }
    i = slot_of(key);
    pthread_mutex_lock(lock_of(i));
    stable = same_key(&slots[i], key) && slots[i].stable && fresh(&slots[i], now_ms);
    pthread_mutex_unlock(lock_of(i));
    if (!stable || (k = check_key(key, viewer, db, &k_len)) == NULL) {
        return RAW_CHECK_READ;
    }
    /* A check not begun yet of the same window and viewer: its statement
     * begins after this request came, as this request's own would. */
    role = sread_join_ref(k, k_len, &rd, &x);
    free(k);
    if (role == SREAD_LEAD) {
        if ((*chk = malloc(sizeof **chk)) == NULL) {
            sread_end(rd, NULL, 0);
            return RAW_CHECK_READ;
        }
        (*chk)->rd = rd;
        (*chk)->slot = i;
        return RAW_CHECK_LEAD;
    }
    if (role != SREAD_SHARED) {
        return RAW_CHECK_READ;
    }
    res = sread_result_data(x, &res_len);
    if (res_len == sizeof *failure + 1 && res[res_len - 1] == 'F') {
        memcpy(failure, res, sizeof *failure);
        out = RAW_CHECK_FAILED;
    } else if (res_len >= 1 && res[res_len - 1] == '\0') {
        /* The kept reply itself (the result wraps it): a reference of
         * this request's own, taken while the result holds one. */
        *kept = sread_result_owner(x);
        atomic_fetch_add(&(*kept)->refs, 1);
        out = RAW_CHECK_HIT;
    }
    sread_result_drop(x);
    return out;
}

void raw_check_start(raw_check *k)
{
    sread_start(k->rd);
}

/* End check "k" with "hit" (a reference of the caller's, or NULL): the
 * kept reply to the followers. */
static bool check_done(raw_check *k, raw_body *hit, raw_reply **kept)
{
    sread_result *x = NULL;
    /* The kept reply itself to the followers, a reference of its own
     * (they copy it out, in place). */
    if (hit != NULL) {
        atomic_fetch_add(&hit->refs, 1);
        if ((x = sread_result_wrap(hit->text, hit->len + 1, body_release, hit)) == NULL) {
            body_unref(hit);
        }
    }
    sread_end_result(k->rd, x);
    free(k);
    *kept = hit; /* the caller's reference */
    return hit != NULL;
}

bool raw_cache_stamp_kept(const raw_cache_key *key, int64_t now_ms)
{
    unsigned i;
    bool yes;
    if (env_switch_off(&g_switch) || key->n_ch == 0) {
        return false;
    }
    i = slot_of(key);
    pthread_mutex_lock(lock_of(i));
    yes = same_key(&slots[i], key) && slots[i].stable && fresh(&slots[i], now_ms) &&
          slots[i].stamp_len > 0;
    pthread_mutex_unlock(lock_of(i));
    return yes;
}

/* The entry of "key" kept with "stamp" for "viewer" (or any viewer): a
 * reference to its body, or NULL. */
static raw_body *stamped_body(unsigned i, const raw_cache_key *key, long long viewer,
                              bool any_viewer, const void *stamp, size_t stamp_len,
                              int64_t now_ms)
{
    raw_slot *e = &slots[i];
    raw_body *hit = NULL;
    if (stamp_len == 0 || stamp_len > RAW_STAMP_MAX) {
        return NULL;
    }
    pthread_mutex_lock(lock_of(i));
    if (same_key(e, key) && fresh(e, now_ms) && e->stamp_len == stamp_len &&
        (e->stamp_viewer == viewer || any_viewer) && memcmp(e->stamp, stamp, stamp_len) == 0) {
        hit = e->body;
        atomic_fetch_add(&hit->refs, 1);
    }
    pthread_mutex_unlock(lock_of(i));
    return hit;
}

bool raw_cache_stamped(const raw_cache_key *key, long long viewer, bool any_viewer,
                       const void *stamp, size_t stamp_len, int64_t now_ms, raw_reply **kept)
{
    *kept = NULL;
    if (env_switch_off(&g_switch) || key->n_ch == 0) {
        return false;
    }
    *kept = stamped_body(slot_of(key), key, viewer, any_viewer, stamp, stamp_len, now_ms);
    return *kept != NULL;
}

bool raw_check_stamped(raw_check *k, const raw_cache_key *key, long long viewer,
                       bool any_viewer, const void *stamp, size_t stamp_len, int64_t now_ms,
                       raw_reply **kept)
{
    raw_body *hit = stamped_body(k->slot, key, viewer, any_viewer, stamp, stamp_len, now_ms);
    *kept = NULL;
    if (hit == NULL) {
        return false;
    }
    return check_done(k, hit, kept);
}

bool raw_check_end_stamped(raw_check *k, const raw_cache_key *key, bool ok, const void *ver,
                           size_t ver_len, long long viewer, const void *stamp,
                           size_t stamp_len, int64_t now_ms, raw_reply **kept)
{
    unsigned i = k->slot;
    raw_slot *e = &slots[i];
    raw_body *hit = NULL;
    *kept = NULL;
    pthread_mutex_lock(lock_of(i));
    if (ok && same_key(e, key) && fresh(e, now_ms)) {
        if (e->ver_len == ver_len && memcmp(e->ver, ver, ver_len) == 0) {
            hit = e->body;
            atomic_fetch_add(&hit->refs, 1);
            /* The stamp was read before the versions (an earlier snapshot):
             * whatever moved in between moved it, so it still tells a
             * later change apart. */
            if (stamp_len > 0 && stamp_len <= RAW_STAMP_MAX) {
                memcpy(e->stamp, stamp, stamp_len);
                e->stamp_len = stamp_len;
                e->stamp_viewer = viewer;
            } else {
                e->stamp_len = 0;
            }
        } else {
            e->stable = false;
            e->stamp_len = 0;
        }
    } else if (same_key(e, key)) {
        e->stamp_len = 0;
    }
    pthread_mutex_unlock(lock_of(i));
    return check_done(k, hit, kept);
}

bool raw_check_end(raw_check *k, const raw_cache_key *key, bool ok, const void *ver,
                   size_t ver_len, int64_t now_ms, raw_reply **kept)
{
    return raw_check_end_stamped(k, key, ok, ver, ver_len, 0, NULL, 0, now_ms, kept);
}

const char *raw_reply_text(raw_reply *r, size_t *len, reply_head **head)
{
    *len = r->len;
    *head = &r->head;
    return r->text;
}

void raw_reply_drop(raw_reply *r)
{
    body_unref(r);
}

void raw_check_fail(raw_check *k, int code)
{
    unsigned char res[sizeof code + 1];
    memcpy(res, &code, sizeof code);
    res[sizeof code] = 'F';
    sread_end(k->rd, res, sizeof res);
    free(k);
}

size_t raw_cache_bytes(void)
{
    return atomic_load(&g_bytes);
}

void raw_cache_clear(void)
{
    for (unsigned i = 0; i < RAW_CACHE_SLOTS; i++) {
        pthread_mutex_lock(lock_of(i));
        drop(&slots[i]);
        pthread_mutex_unlock(lock_of(i));
    }
}
