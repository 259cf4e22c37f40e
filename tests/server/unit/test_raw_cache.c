/* server/base/raw_cache.c: the raw data route's replies, each kept with the
 * versions of the rows it was made from; used once read twice alike, only
 * with the same versions and for less than RAW_CACHE_TTL_MS. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "raw_cache.h"
#include "t.h"

#define NOW 1800000000000LL

static const int64_t CH[] = {11, 12, 13};
/* The database of the shared checks: compared only, and fixed, so that
 * the slots of the checks' keys are the same in every run (an address
 * moved with each run's layout: the checks of viewers 42 and 43 shared a
 * slot in one run in 256, and the one of 43 then read alone). */
#define DB ((const void *)(uintptr_t)0x5eed)

static raw_cache_key window(long long account, size_t n_ch, int64_t t0, size_t limit)
{
    raw_cache_key k = {account, CH, n_ch, t0, t0 + 86400000000LL, limit};
    return k;
}

/* Whether "key" at versions "ver" is answered with exactly "want". */
static bool holds(const raw_cache_key *key, const char *ver, int64_t now, const char *want)
{
    char *text = NULL;
    size_t len = 0;
    bool same = raw_cache_get(key, ver, strlen(ver), now, &text, &len) && text != NULL &&
                len == strlen(want) && memcmp(text, want, len + 1) == 0;
    free(text);
    return same;
}

static bool misses(const raw_cache_key *key, const char *ver, int64_t now)
{
    char *text = (char *)"untouched";
    size_t len = 99;
    bool hit = raw_cache_get(key, ver, strlen(ver), now, &text, &len);
    if (hit) {
        free(text);
        return false;
    }
    return text == NULL && len == 0;
}

static void put(const raw_cache_key *key, const char *ver, int64_t now, const char *body)
{
    raw_cache_put(key, ver, strlen(ver), now, body, strlen(body));
}

static void raw_cache_is_stable_once_read_twice_with_the_same_versions(void)
{
    raw_cache_key k = window(1, 2, 0, 2000);
    raw_cache_clear();
    T_TRUE(!raw_cache_stable(&k, NOW));
    T_TRUE(misses(&k, "v1", NOW));
    put(&k, "v1", NOW, "{\"a\":1}");
    T_TRUE(!raw_cache_stable(&k, NOW));
    T_TRUE(holds(&k, "v1", NOW, "{\"a\":1}"));
    put(&k, "v1", NOW + 5, "{\"a\":1}");
    T_TRUE(raw_cache_stable(&k, NOW + 5));
    T_TRUE(holds(&k, "v1", NOW + 5, "{\"a\":1}"));
    raw_cache_clear();
    T_TRUE(!raw_cache_stable(&k, NOW));
    T_TRUE(raw_cache_bytes() == 0);
}

static void raw_cache_never_answers_other_versions_and_turns_unstable(void)
{
    raw_cache_key k = window(1, 2, 0, 2000);
    raw_cache_clear();
    put(&k, "v1", NOW, "old");
    put(&k, "v1", NOW, "old");
    T_TRUE(raw_cache_stable(&k, NOW));
    T_TRUE(misses(&k, "v2", NOW));
    T_TRUE(misses(&k, "v", NOW)); /* a prefix */
    T_TRUE(misses(&k, "v1x", NOW));
    T_TRUE(!raw_cache_stable(&k, NOW));
    /* A reply of other versions replaces it, unstable until read alike again. */
    put(&k, "v2", NOW, "new");
    T_TRUE(!raw_cache_stable(&k, NOW));
    T_TRUE(misses(&k, "v1", NOW));
    T_TRUE(holds(&k, "v2", NOW, "new"));
    put(&k, "v2", NOW, "new");
    T_TRUE(raw_cache_stable(&k, NOW));
}

static void raw_cache_keys_by_account_channels_in_order_window_and_limit(void)
{
    raw_cache_key k = window(1, 2, 0, 2000);
    raw_cache_key acct = window(2, 2, 0, 2000), more = window(1, 3, 0, 2000),
                  later = window(1, 2, 60, 2000), lim = window(1, 2, 0, 37);
    static const int64_t swapped[] = {12, 11};
    raw_cache_key order = k;
    order.ch = swapped;
    raw_cache_clear();
    put(&k, "v", NOW, "mine");
    put(&k, "v", NOW, "mine");
    T_TRUE(misses(&acct, "v", NOW));
    T_TRUE(misses(&more, "v", NOW));
    T_TRUE(misses(&later, "v", NOW));
    T_TRUE(misses(&lim, "v", NOW));
    T_TRUE(misses(&order, "v", NOW));
    T_TRUE(!raw_cache_stable(&order, NOW));
    T_TRUE(holds(&k, "v", NOW, "mine"));
}

static void raw_cache_entry_lives_less_than_the_ttl(void)
{
    raw_cache_key k = window(3, 1, 0, 10);
    raw_cache_clear();
    put(&k, "v", NOW, "x");
    put(&k, "v", NOW + 1000, "x"); /* stable; its age counts from the first read */
    T_TRUE(raw_cache_stable(&k, NOW + RAW_CACHE_TTL_MS - 1));
    T_TRUE(holds(&k, "v", NOW + RAW_CACHE_TTL_MS - 1, "x"));
    T_TRUE(!raw_cache_stable(&k, NOW + RAW_CACHE_TTL_MS));
    T_TRUE(misses(&k, "v", NOW + RAW_CACHE_TTL_MS));
    T_TRUE(misses(&k, "v", NOW - 1)); /* a clock set back: unknown age */
    /* Past the TTL a read starts a new entry. */
    put(&k, "v", NOW + RAW_CACHE_TTL_MS, "y");
    T_TRUE(!raw_cache_stable(&k, NOW + RAW_CACHE_TTL_MS));
    T_TRUE(holds(&k, "v", NOW + RAW_CACHE_TTL_MS, "y"));
}

static void raw_cache_bounds_what_it_keeps(void)
{
    raw_cache_key k = window(4, 1, 0, 10);
    char *big = malloc(RAW_CACHE_MAX_BODY + 2);
    char *ver = malloc(RAW_CACHE_MAX_VERSIONS + 2);
    T_TRUE(big != NULL && ver != NULL);
    memset(big, 'x', RAW_CACHE_MAX_BODY + 1);
    big[RAW_CACHE_MAX_BODY + 1] = '\0';
    memset(ver, 'v', RAW_CACHE_MAX_VERSIONS + 1);
    ver[RAW_CACHE_MAX_VERSIONS + 1] = '\0';
    raw_cache_clear();
    put(&k, "v", NOW, big);
    T_TRUE(misses(&k, "v", NOW));
    put(&k, ver, NOW, "small");
    T_TRUE(misses(&k, ver, NOW));
    T_TRUE(raw_cache_bytes() == 0);
    /* Many windows of the largest reply: never more than the total. */
    big[RAW_CACHE_MAX_BODY] = '\0';
    for (int i = 0; i < 200; i++) {
        raw_cache_key w = window(5, 1, (int64_t)i * 60000000, 10);
        put(&w, "v", NOW, big);
        T_TRUE(raw_cache_bytes() <= RAW_CACHE_MAX_BYTES);
    }
    T_TRUE(raw_cache_bytes() > 0);
    raw_cache_clear();
    T_TRUE(raw_cache_bytes() == 0);
    free(big);
    free(ver);
}

/* A request of a shared check in a thread of its own: what it was told.
 * The tests keep their askers static: a thread that a failed test leaves
 * behind writes into its own asker, never into a later test's frame. A
 * thread meant to ask first starts LATE_MS late, as a loaded scheduler may
 * run it: past the 50 ms these tests once paused for, so that a test that
 * assumed a time again would fail here every run (before wait_open() a
 * late thread led the next check and the test hung in pthread_join()). */
#define LATE_MS 80

typedef struct {
    raw_cache_key key;
    long long viewer;
    long late_ms; /* the thread waits this long before it asks */
    pthread_t th;
    atomic_int done;
    raw_check_role role;
    raw_check *chk;
    raw_reply *kept;
    int failure;
} asker;

static void pause_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void *ask(void *arg)
{
    asker *q = arg;
    pause_ms(q->late_ms);
    q->role =
        raw_cache_check(&q->key, q->viewer, DB, NOW, &q->chk, &q->kept, &q->failure);
    atomic_store(&q->done, 1);
    return NULL;
}

/* Ask as "viewer" in a thread that starts "late_ms" late. */
static void ask_in_thread(asker *q, const raw_cache_key *key, long long viewer, long late_ms)
{
    memset(q, 0, sizeof *q);
    q->key = *key;
    q->viewer = viewer;
    q->late_ms = late_ms;
    T_TRUE(pthread_create(&q->th, NULL, ask, q) == 0);
}

/* Wait until "n" requests are on the check of "key" for "viewer" not begun
 * yet (the threads started have joined it), up to 10 s; whether they are
 * (the test ends otherwise, rather than join a thread that may wait for
 * ever). */
static bool wait_open(const raw_cache_key *key, long long viewer, int n)
{
    for (int waited = 0; waited < 10000; waited++) {
        if (raw_check_open_count(key, viewer, DB) == n) {
            return true;
        }
        pause_ms(1);
    }
    return raw_check_open_count(key, viewer, DB) == n;
}

/* Whether "kept" is a reply of text "want", with room before it for the
 * headers (RAW_REPLY_ROOM, none written yet). */
static bool kept_is(raw_reply *kept, const char *want)
{
    size_t len = 0;
    reply_head *head = NULL;
    const char *text = kept != NULL ? raw_reply_text(kept, &len, &head) : NULL;
    return text != NULL && len == strlen(want) && memcmp(text, want, len + 1) == 0 &&
           head->room == RAW_REPLY_ROOM;
}

/* Ends check "chk" of "key" with versions "ver"; whether it answered "want"
 * (NULL: no answer). */
static bool ends_with(raw_check *chk, const raw_cache_key *key, bool ok, const char *ver,
                      const char *want)
{
    raw_reply *kept = NULL;
    bool hit = raw_check_end(chk, key, ok, ver, ver ? strlen(ver) : 0, NOW, &kept);
    bool same = want == NULL ? !hit && kept == NULL : hit && kept_is(kept, want);
    if (kept != NULL) {
        raw_reply_drop(kept);
    }
    return same;
}

/* "key" made stable with "reply" at versions "v1" (stored twice), then a
 * check asked by "viewer", which leads it (*chk). */
static void stable_then_lead(const raw_cache_key *key, long long viewer, const char *reply,
                             raw_check **chk)
{
    raw_reply *kept = NULL;
    int failure = 0;
    put(key, "v1", NOW, reply);
    put(key, "v1", NOW, reply);
    T_TRUE(raw_cache_check(key, viewer, DB, NOW, chk, &kept, &failure) == RAW_CHECK_LEAD);
}

static void raw_cache_check_led_alone_answers_only_the_same_versions(void)
{
    raw_cache_key k = window(6, 2, 0, 2000);
    raw_check *chk = NULL;
    raw_reply *kept = NULL;
    int failure = 0;
    raw_cache_clear();
    /* Not stable yet: read. */
    T_TRUE(raw_cache_check(&k, 0, DB, NOW, &chk, &kept, &failure) == RAW_CHECK_READ);
    T_TRUE(chk == NULL && kept == NULL);
    stable_then_lead(&k, 0, "day", &chk);
    raw_check_start(chk);
    T_TRUE(ends_with(chk, &k, true, "v1", "day"));
    /* Other versions: no answer, and the entry is no longer used. */
    T_TRUE(raw_cache_check(&k, 0, DB, NOW, &chk, &kept, &failure) == RAW_CHECK_LEAD);
    raw_check_start(chk);
    T_TRUE(ends_with(chk, &k, true, "v2", NULL));
    T_TRUE(raw_cache_check(&k, 0, DB, NOW, &chk, &kept, &failure) == RAW_CHECK_READ);
    /* A statement that failed or refused answers nothing, even alike. */
    stable_then_lead(&k, 0, "day", &chk);
    raw_check_start(chk);
    T_TRUE(ends_with(chk, &k, false, "v1", NULL));
    raw_cache_clear();
}

/* The stamp (issue 16, rawstamp): kept only by a check whose versions
 * matched, for its viewer; answers only the same stamp and viewer; any
 * other end of a check forgets it. */
static int stamp_hits_as(const raw_cache_key *key, long long viewer, bool any_viewer,
                         const char *stamp, const char *want)
{
    raw_check *chk = NULL;
    raw_reply *kept = NULL;
    int failure = 0;
    bool same;
    if (raw_cache_check(key, viewer, DB, NOW, &chk, &kept, &failure) != RAW_CHECK_LEAD) {
        return -1;
    }
    raw_check_start(chk);
    if (!raw_check_stamped(chk, key, viewer, any_viewer, stamp, strlen(stamp), NOW, &kept)) {
        /* The versions statement follows (raw_check_end(): no stamp kept). */
        return kept == NULL && ends_with(chk, key, true, "v1", want) ? 0 : -1;
    }
    same = kept_is(kept, want);
    raw_reply_drop(kept);
    return same ? 1 : -1;
}

static int stamp_hits(const raw_cache_key *key, long long viewer, const char *stamp,
                      const char *want)
{
    return stamp_hits_as(key, viewer, false, stamp, want);
}

static void raw_check_stamped_answers_only_a_kept_stamp_of_the_viewer(void)
{
    raw_cache_key k = window(9, 2, 0, 2000);
    raw_check *chk = NULL;
    raw_reply *kept = NULL;
    int failure = 0;
    raw_cache_clear();
    stable_then_lead(&k, 0, "day", &chk);
    raw_check_start(chk);
    /* No stamp kept yet: no answer by a stamp. */
    T_TRUE(!raw_check_stamped(chk, &k, 0, false, "s1", 2, NOW, &kept));
    T_TRUE(kept == NULL);
    T_TRUE(raw_check_end_stamped(chk, &k, true, "v1", 2, 0, "s1", 2, NOW, &kept));
    T_TRUE(kept_is(kept, "day"));
    raw_reply_drop(kept);
    /* The same stamp and viewer: answered without versions. */
    T_EQ_INT(stamp_hits(&k, 0, "s1", "day"), 1);
    T_EQ_INT(stamp_hits(&k, 0, "s1", "day"), 1);
    /* Another viewer whose right the caller proved by the stamp (precheck:
     * a member's right remembered at the stamp's rights version): answered;
     * the stamp stays the first viewer's. */
    T_EQ_INT(stamp_hits_as(&k, 42, true, "s1", "day"), 1);
    T_EQ_INT(stamp_hits_as(&k, 42, true, "s2", "day"), 0);
    T_TRUE(raw_cache_check(&k, 0, DB, NOW, &chk, &kept, &failure) == RAW_CHECK_LEAD);
    raw_check_start(chk);
    T_TRUE(raw_check_end_stamped(chk, &k, true, "v1", 2, 0, "s1", 2, NOW, &kept));
    raw_reply_drop(kept);
    /* Another viewer, or another stamp: the versions statement. */
    T_EQ_INT(stamp_hits(&k, 42, "s1", "day"), 0);
    T_EQ_INT(stamp_hits(&k, 0, "s2", "day"), 0);
    /* That check kept no stamp (raw_check_end()): s1 is forgotten too. */
    T_EQ_INT(stamp_hits(&k, 0, "s1", "day"), 0);
    /* A check whose versions differ forgets the stamp and the entry. */
    T_TRUE(raw_cache_check(&k, 0, DB, NOW, &chk, &kept, &failure) == RAW_CHECK_LEAD);
    raw_check_start(chk);
    T_TRUE(raw_check_end_stamped(chk, &k, true, "v1", 2, 0, "s3", 2, NOW, &kept));
    raw_reply_drop(kept);
    T_EQ_INT(stamp_hits(&k, 0, "s3", "day"), 1);
    T_TRUE(raw_cache_check(&k, 0, DB, NOW, &chk, &kept, &failure) == RAW_CHECK_LEAD);
    raw_check_start(chk);
    T_TRUE(!raw_check_end_stamped(chk, &k, true, "v2", 2, 0, "s3", 2, NOW, &kept));
    T_TRUE(raw_cache_check(&k, 0, DB, NOW, &chk, &kept, &failure) == RAW_CHECK_READ);
    /* Made stable again with the same versions: no stamp until a check keeps one. */
    put(&k, "v1", NOW, "day");
    put(&k, "v1", NOW, "day");
    T_EQ_INT(stamp_hits(&k, 0, "s3", "day"), 0);
    /* A refused check (the viewer may not see a channel) forgets it. */
    T_TRUE(raw_cache_check(&k, 0, DB, NOW, &chk, &kept, &failure) == RAW_CHECK_LEAD);
    raw_check_start(chk);
    T_TRUE(raw_check_end_stamped(chk, &k, true, "v1", 2, 0, "s4", 2, NOW, &kept));
    raw_reply_drop(kept);
    T_TRUE(raw_cache_check(&k, 0, DB, NOW, &chk, &kept, &failure) == RAW_CHECK_LEAD);
    raw_check_start(chk);
    T_TRUE(!raw_check_end_stamped(chk, &k, false, "v1", 2, 0, "s4", 2, NOW, &kept));
    T_EQ_INT(stamp_hits(&k, 0, "s4", "day"), 0);
    raw_cache_clear();
}

static void raw_cache_check_answers_who_came_before_it_started(void)
{
    raw_cache_key k = window(7, 2, 0, 2000);
    raw_check *chk = NULL;
    raw_reply *kept = NULL;
    int failure = 0;
    static asker same, other;
    raw_cache_clear();
    stable_then_lead(&k, 42, "shared", &chk);
    /* Same viewer: waits for this check. Another viewer: a check of its
     * own, at once (it never waits for this one). */
    ask_in_thread(&same, &k, 42, LATE_MS);
    ask_in_thread(&other, &k, 43, 0);
    T_TRUE(pthread_join(other.th, NULL) == 0);
    T_TRUE(other.role == RAW_CHECK_LEAD && other.chk != NULL && other.kept == NULL);
    raw_check_start(other.chk);
    T_TRUE(ends_with(other.chk, &k, true, "v1", "shared"));
    T_TRUE(wait_open(&k, 42, 2));
    T_TRUE(atomic_load(&same.done) == 0);
    raw_check_start(chk);
    T_TRUE(ends_with(chk, &k, true, "v1", "shared"));
    T_TRUE(pthread_join(same.th, NULL) == 0);
    T_TRUE(same.role == RAW_CHECK_HIT && kept_is(same.kept, "shared"));
    raw_reply_drop(same.kept);

    /* A check that failed: who waited for it reads for itself. */
    T_TRUE(raw_cache_check(&k, 42, DB, NOW, &chk, &kept, &failure) == RAW_CHECK_LEAD);
    ask_in_thread(&same, &k, 42, LATE_MS);
    T_TRUE(wait_open(&k, 42, 2));
    T_TRUE(atomic_load(&same.done) == 0);
    T_TRUE(ends_with(chk, &k, false, NULL, NULL)); /* never started: no connection */
    T_TRUE(pthread_join(same.th, NULL) == 0);
    T_TRUE(same.role == RAW_CHECK_READ && same.kept == NULL);

    /* PostgreSQL busy for the check: who waited for it shares that answer
     * (it would wait as long again), and the slot takes the next check. */
    T_TRUE(raw_cache_check(&k, 42, DB, NOW, &chk, &kept, &failure) == RAW_CHECK_LEAD);
    ask_in_thread(&same, &k, 42, LATE_MS);
    T_TRUE(wait_open(&k, 42, 2));
    T_TRUE(atomic_load(&same.done) == 0);
    raw_check_fail(chk, -2);
    T_TRUE(pthread_join(same.th, NULL) == 0);
    T_TRUE(same.role == RAW_CHECK_FAILED && same.failure == -2 && same.kept == NULL);
    T_TRUE(raw_cache_check(&k, 42, DB, NOW, &chk, &kept, &failure) == RAW_CHECK_LEAD);
    T_TRUE(failure == 0);
    raw_check_start(chk);
    T_TRUE(ends_with(chk, &k, true, "v1", "shared"));
    raw_cache_clear();
}

static void raw_cache_check_started_takes_no_one_and_the_next_waits_for_it(void)
{
    raw_cache_key k = window(8, 1, 0, 2000);
    raw_check *chk = NULL;
    static asker late, later;
    raw_cache_clear();
    stable_then_lead(&k, 0, "x", &chk);
    raw_check_start(chk);
    /* Came after the statement began: leads the next check, once this one
     * has ended; a request after it joins that next check. */
    ask_in_thread(&late, &k, 0, LATE_MS);
    T_TRUE(wait_open(&k, 0, 1)); /* leads the next check, waiting for this one */
    T_TRUE(atomic_load(&late.done) == 0);
    ask_in_thread(&later, &k, 0, 0);
    T_TRUE(wait_open(&k, 0, 2));
    T_TRUE(atomic_load(&later.done) == 0);
    T_TRUE(ends_with(chk, &k, true, "v1", "x"));
    T_TRUE(pthread_join(late.th, NULL) == 0);
    T_TRUE(late.role == RAW_CHECK_LEAD && late.chk != NULL);
    T_TRUE(wait_open(&k, 0, 2)); /* "later" still on it */
    T_TRUE(atomic_load(&later.done) == 0);
    raw_check_start(late.chk);
    T_TRUE(ends_with(late.chk, &k, true, "v1", "x"));
    T_TRUE(pthread_join(later.th, NULL) == 0);
    T_TRUE(later.role == RAW_CHECK_HIT && kept_is(later.kept, "x"));
    raw_reply_drop(later.kept);
    raw_cache_clear();
}

void suite_raw_cache(void)
{
    T_RUN(raw_cache_check_led_alone_answers_only_the_same_versions);
    T_RUN(raw_check_stamped_answers_only_a_kept_stamp_of_the_viewer);
    T_RUN(raw_cache_check_answers_who_came_before_it_started);
    T_RUN(raw_cache_check_started_takes_no_one_and_the_next_waits_for_it);
    T_RUN(raw_cache_is_stable_once_read_twice_with_the_same_versions);
    T_RUN(raw_cache_never_answers_other_versions_and_turns_unstable);
    T_RUN(raw_cache_keys_by_account_channels_in_order_window_and_limit);
    T_RUN(raw_cache_entry_lives_less_than_the_ttl);
    T_RUN(raw_cache_bounds_what_it_keeps);
}
