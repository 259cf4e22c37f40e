/* server/reply_cache.c: remembered reply bodies, valid while the state epoch
 * stands still and for less than AUTH_CACHE_TTL_MS (times in milliseconds). */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "reply_cache.h"
#include "t.h"

#define NOW 1800000000000LL

static reply_key me(long long account, long long user, int plan)
{
    reply_key k = {REPLY_ME, account, user, plan, 0};
    return k;
}

/* Whether "key" is remembered at "epoch"/"now" with exactly "want". */
static bool holds(const reply_key *key, unsigned long long epoch, int64_t now, const char *want)
{
    char *text = NULL;
    size_t len = 0;
    bool same = reply_cache_get(key, epoch, now, &text, &len, NULL) && text != NULL &&
                len == strlen(want) && memcmp(text, want, len + 1) == 0;
    free(text);
    return same;
}

/* Whether "key" is not remembered at "epoch"/"now" (and the out-parameters
 * say so: NULL and 0). */
static bool misses(const reply_key *key, unsigned long long epoch, int64_t now)
{
    char *text = (char *)"untouched";
    size_t len = 99;
    bool hit = reply_cache_get(key, epoch, now, &text, &len, NULL);
    if (hit) {
        free(text);
        return false;
    }
    return text == NULL && len == 0;
}

static void reply_cache_misses_when_empty_and_hits_after_put(void)
{
    reply_key k = me(1, 2, 3);
    reply_cache_clear();
    T_TRUE(misses(&k, 5, NOW));
    reply_cache_put(&k, 5, NOW, "{\"id\":2}", 8);
    T_TRUE(holds(&k, 5, NOW, "{\"id\":2}"));
    /* A put copies: the caller's buffer may change afterwards. */
    char body[] = "{\"a\":1}";
    reply_cache_put(&k, 5, NOW, body, strlen(body));
    body[2] = 'b';
    T_TRUE(holds(&k, 5, NOW, "{\"a\":1}"));
    reply_cache_clear();
    T_TRUE(misses(&k, 5, NOW));
}

static void reply_cache_refuses_an_entry_once_the_epoch_moved(void)
{
    reply_key k = me(1, 2, 3);
    reply_cache_clear();
    reply_cache_put(&k, 7, NOW, "old", 3);
    T_TRUE(misses(&k, 8, NOW));
    /* and an epoch that never was current (a put racing with a bump) */
    T_TRUE(misses(&k, 6, NOW));
    T_TRUE(holds(&k, 7, NOW, "old"));
}

static void reply_cache_entry_lives_less_than_the_ttl(void)
{
    reply_key k = me(4, 5, 1);
    reply_cache_clear();
    reply_cache_put(&k, 1, NOW, "x", 1);
    T_TRUE(holds(&k, 1, NOW + AUTH_CACHE_REFRESH_MS - 1, "x"));
    T_TRUE(holds(&k, 1, NOW + AUTH_CACHE_REFRESH_MS, "x"));
    T_TRUE(holds(&k, 1, NOW + AUTH_CACHE_TTL_MS - 1, "x"));
    T_TRUE(misses(&k, 1, NOW + AUTH_CACHE_TTL_MS));
    T_TRUE(misses(&k, 1, NOW + 3600 * 1000));
    /* A clock set back (the test clock) gives an entry of unknown age. */
    T_TRUE(misses(&k, 1, NOW - 1));
}

/* get() with a "due" flag: whether the hit is "want" and due is "want_due". */
static bool holds_due(const reply_key *key, int64_t now, const char *want, bool want_due)
{
    char *text = NULL;
    size_t len = 0;
    bool due = !want_due;
    bool same = reply_cache_get(key, 1, now, &text, &len, &due) && strcmp(text, want) == 0 &&
                due == want_due;
    free(text);
    return same;
}

static void reply_cache_tells_one_caller_an_ageing_entry_is_due(void)
{
    reply_key k = me(6, 7, 1);
    int64_t due_at = NOW + AUTH_CACHE_REFRESH_MS;
    reply_cache_clear();
    reply_cache_put(&k, 1, NOW, "v1", 2);
    T_TRUE(holds_due(&k, due_at - 1, "v1", false));
    /* Due for a refresh: the first caller is told (and still gets the
     * body); the others keep the entry until the TTL, untold. */
    T_TRUE(holds_due(&k, due_at, "v1", true));
    T_TRUE(holds_due(&k, due_at, "v1", false));
    T_TRUE(holds_due(&k, due_at + 1, "v1", false));
    /* A caller that does not ask is never told, and leaves it to the next. */
    reply_cache_put(&k, 1, NOW, "v1", 2);
    T_TRUE(holds(&k, 1, due_at, "v1"));
    T_TRUE(holds_due(&k, due_at, "v1", true));
    /* The refresh puts: fresh again, due again a refresh period later. */
    reply_cache_put(&k, 1, due_at, "v2", 2);
    T_TRUE(holds_due(&k, due_at, "v2", false));
    T_TRUE(holds_due(&k, due_at + AUTH_CACHE_REFRESH_MS, "v2", true));
    /* A refresh that never puts: the entry still ends at the TTL. */
    T_TRUE(holds_due(&k, due_at + AUTH_CACHE_TTL_MS - 1, "v2", false));
    T_TRUE(misses(&k, 1, due_at + AUTH_CACHE_TTL_MS));
    /* A moved epoch is a miss for everyone, not a refresh. */
    reply_cache_put(&k, 2, NOW, "v3", 2);
    T_TRUE(misses(&k, 3, due_at));
    T_TRUE(misses(&k, 3, due_at));
}

static void reply_cache_keys_by_kind_account_user_and_variant(void)
{
    reply_key k = me(10, 20, 2);
    reply_key other_user = me(10, 21, 2), other_account = me(11, 20, 2), other_plan = me(10, 20, 3);
    reply_key other_kind = k;
    other_kind.kind = (reply_kind)2;
    reply_cache_clear();
    reply_cache_put(&k, 1, NOW, "mine", 4);
    T_TRUE(misses(&other_user, 1, NOW));
    T_TRUE(misses(&other_account, 1, NOW));
    T_TRUE(misses(&other_plan, 1, NOW));
    T_TRUE(misses(&other_kind, 1, NOW));
    T_TRUE(holds(&k, 1, NOW, "mine"));
    /* The variants share a slot: the latest one is kept. */
    reply_cache_put(&other_plan, 1, NOW, "plan 3", 6);
    T_TRUE(holds(&other_plan, 1, NOW, "plan 3"));
    T_TRUE(misses(&k, 1, NOW));
}

static void reply_cache_keeps_the_read_of_the_later_epoch(void)
{
    reply_key k = me(3, 3, 0);
    reply_cache_clear();
    /* A slow read (begun under epoch 4) finishes after a fresh one (under
     * epoch 5): the fresh entry stays. */
    reply_cache_put(&k, 5, NOW, "fresh", 5);
    reply_cache_put(&k, 4, NOW, "stale", 5);
    T_TRUE(holds(&k, 5, NOW, "fresh"));
    T_TRUE(misses(&k, 4, NOW));
    /* The same epoch: the later put replaces. */
    reply_cache_put(&k, 5, NOW + 1, "later", 5);
    T_TRUE(holds(&k, 5, NOW + 1, "later"));
}

static void reply_cache_keeps_no_body_over_the_limit(void)
{
    reply_key k = me(8, 9, 1);
    char *big = malloc(REPLY_CACHE_MAX_BODY + 2);
    T_TRUE(big != NULL);
    if (big == NULL) {
        return;
    }
    memset(big, 'a', REPLY_CACHE_MAX_BODY + 1);
    big[REPLY_CACHE_MAX_BODY + 1] = '\0';
    reply_cache_clear();
    reply_cache_put(&k, 1, NOW, big, REPLY_CACHE_MAX_BODY + 1);
    T_TRUE(misses(&k, 1, NOW));
    big[REPLY_CACHE_MAX_BODY] = '\0';
    reply_cache_put(&k, 1, NOW, big, REPLY_CACHE_MAX_BODY);
    T_TRUE(holds(&k, 1, NOW, big));
    /* An empty body is a body. */
    reply_cache_put(&k, 1, NOW, "", 0);
    T_TRUE(holds(&k, 1, NOW, ""));
    free(big);
    reply_cache_clear();
}

/* Threads putting and getting overlapping keys: every hit is the body of
 * its own key (run under ASan/UBSan by scripts/test). */
enum { N_THREADS = 4, N_ROUNDS = 20000, N_USERS = 3000 };

static void *hammer(void *arg)
{
    unsigned seed = (unsigned)(size_t)arg * 2654435761u + 1;
    long bad = 0;
    for (int i = 0; i < N_ROUNDS; i++) {
        char want[48], *text = NULL;
        size_t len = 0;
        long long user;
        reply_key k;
        seed = seed * 1103515245u + 12345u;
        user = (long long)(seed >> 8) % N_USERS + 1;
        k = me(user % 7 + 1, user, (int)(user % 3));
        snprintf(want, sizeof want, "{\"user\":%lld,\"pad\":\"%0*d\"}", user, (int)(user % 40), 0);
        if (seed & 1u) {
            reply_cache_put(&k, 1, NOW, want, strlen(want));
        } else if (seed & 2u) {
            reply_body *body = NULL;
            const char *shared = NULL;
            if (reply_cache_get_shared(&k, 1, NOW, &body, &shared, &len, NULL)) {
                bad += len != strlen(want) || strcmp(shared, want) != 0;
                reply_body_release(body);
            }
        } else if (reply_cache_get(&k, 1, NOW, &text, &len, NULL)) {
            bad += len != strlen(want) || strcmp(text, want) != 0;
            free(text);
        }
    }
    return (void *)bad;
}

static void reply_cache_is_consistent_under_concurrent_use(void)
{
    pthread_t th[N_THREADS];
    long bad = 0;
    reply_cache_clear();
    for (size_t i = 0; i < N_THREADS; i++) {
        T_EQ_INT(pthread_create(&th[i], NULL, hammer, (void *)(i + 1)), 0);
    }
    for (size_t i = 0; i < N_THREADS; i++) {
        void *r = NULL;
        pthread_join(th[i], &r);
        bad += (long)r;
    }
    T_EQ_INT(bad, 0);
    reply_cache_clear();
}

/* The monitors of two groups of one user are two entries (sub), each with
 * its own slot: one does not end the other. Bodies may hold NUL bytes. */
static void reply_cache_keys_by_sub_with_a_slot_each(void)
{
    reply_key g1 = {REPLY_MONITOR, 1, 2, 3, 10};
    reply_key g2 = {REPLY_MONITOR, 1, 2, 3, 11};
    static const char blob[] = {'a', '\0', 'b'};
    char *text = NULL;
    size_t len = 0;
    reply_cache_clear();
    reply_cache_put(&g1, 5, NOW, blob, sizeof blob);
    T_TRUE(misses(&g2, 5, NOW));
    reply_cache_put(&g2, 5, NOW, "two", 3);
    T_TRUE(holds(&g2, 5, NOW, "two"));
    T_TRUE(reply_cache_get(&g1, 5, NOW, &text, &len, NULL));
    T_TRUE(len == sizeof blob && text != NULL && memcmp(text, blob, sizeof blob) == 0 &&
           text[len] == '\0');
    free(text);
    reply_cache_clear();
}

/* A shared body stays readable after its entry is replaced or forgotten,
 * until it is released; a miss gives NULLs. */
static void reply_cache_shared_body_outlives_its_entry(void)
{
    reply_key k = me(1, 2, 0);
    reply_body *a = NULL, *b = NULL, *none = (reply_body *)&k;
    const char *ta = NULL, *tb = NULL, *tn = "untouched";
    size_t la = 0, lb = 0, ln = 9;
    reply_body_text out = {"x", 1, NULL, NULL};
    reply_cache_clear();
    T_TRUE(!reply_cache_get_shared(&k, 1, NOW, &none, &tn, &ln, NULL));
    T_TRUE(none == NULL && tn == NULL && ln == 0);
    reply_cache_put(&k, 1, NOW, "first", 5);
    T_TRUE(reply_cache_get_shared(&k, 1, NOW, &a, &ta, &la, NULL));
    T_TRUE(reply_cache_get_shared(&k, 1, NOW, &b, &tb, &lb, NULL));
    T_TRUE(a == b && ta == tb && la == 5);
    reply_cache_put(&k, 2, NOW, "second", 6); /* replaces the entry */
    T_EQ_STR(ta, "first");
    T_TRUE(holds(&k, 2, NOW, "second"));
    reply_body_release(a);
    reply_cache_clear(); /* forgets it all */
    T_EQ_STR(tb, "first");
    reply_body_release(b);
    reply_body_release(NULL);
    reply_cache_put(&k, 3, NOW, "third", 5);
    T_TRUE(reply_cache_get_shared(&k, 3, NOW, &out.shared, &out.text, &out.len, NULL));
    T_EQ_STR(out.text, "third");
    reply_body_text_free(&out);
    T_TRUE(out.text == NULL && out.shared == NULL && out.owned == NULL);
    reply_cache_clear();
}

/* A device list has room for its headers right before its text (sent in
 * one write, http_reply_json_kept()); other kinds have none. */
static void reply_cache_list_body_has_room_for_its_headers(void)
{
    reply_key list = {REPLY_DEVICES, 1, 2, 0, 0};
    reply_key k = me(1, 2, 0);
    reply_body *a = NULL, *b = NULL;
    const char *ta = NULL, *tb = NULL;
    size_t la = 0, lb = 0;
    reply_head *h;
    reply_cache_clear();
    T_TRUE(reply_body_head(NULL) == NULL);
    reply_cache_put(&list, 1, NOW, "[{\"id\":1}]", 10);
    reply_cache_put(&k, 1, NOW, "{}", 2);
    T_TRUE(reply_cache_get_shared(&list, 1, NOW, &a, &ta, &la, NULL));
    T_TRUE(reply_cache_get_shared(&k, 1, NOW, &b, &tb, &lb, NULL));
    h = reply_body_head(a);
    T_TRUE(h != NULL);
    T_EQ_INT((long long)h->room, REPLY_BODY_ROOM);
    T_EQ_INT(atomic_load(&h->state), REPLY_HEAD_FREE);
    T_TRUE(reply_body_head(b) == NULL);
    /* The room is writable and ends where the text begins. */
    memset((char *)ta - REPLY_BODY_ROOM, 'h', REPLY_BODY_ROOM);
    T_EQ_STR(ta, "[{\"id\":1}]");
    T_TRUE(la == 10 && lb == 2);
    T_EQ_STR(tb, "{}");
    reply_body_release(a);
    reply_body_release(b);
    reply_cache_clear();
}

void suite_reply_cache(void)
{
    T_RUN(reply_cache_misses_when_empty_and_hits_after_put);
    T_RUN(reply_cache_refuses_an_entry_once_the_epoch_moved);
    T_RUN(reply_cache_entry_lives_less_than_the_ttl);
    T_RUN(reply_cache_tells_one_caller_an_ageing_entry_is_due);
    T_RUN(reply_cache_keys_by_kind_account_user_and_variant);
    T_RUN(reply_cache_keys_by_sub_with_a_slot_each);
    T_RUN(reply_cache_keeps_the_read_of_the_later_epoch);
    T_RUN(reply_cache_keeps_no_body_over_the_limit);
    T_RUN(reply_cache_is_consistent_under_concurrent_use);
    T_RUN(reply_cache_shared_body_outlives_its_entry);
    T_RUN(reply_cache_list_body_has_room_for_its_headers);
}
