/* server/base/monitor_cache.c: a group's monitor values, each kept with its
 * account's change stamp; used once read twice with the same stamp, only
 * with the same stamp and for less than MONCACHE_TTL_MS, within its bounds. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "monitor_cache.h"
#include "t.h"

#define NOW 1800000000000LL

/* A result of "text" (and its NUL): one reference, the caller's. */
static moncache_body *body_of(const char *text)
{
    void *p = NULL;
    moncache_body *b = moncache_body_new(strlen(text) + 1, &p);
    if (b != NULL) {
        memcpy(p, text, strlen(text) + 1);
    }
    return b;
}

static void put(const char *key, const char *stamp, int64_t now, const char *text)
{
    moncache_body *b = body_of(text);
    moncache_put(key, strlen(key), stamp, strlen(stamp), now, b);
    moncache_body_drop(b);
}

/* Whether "key" with "stamp" is answered with exactly "want". */
static bool holds(const char *key, const char *stamp, int64_t now, const char *want)
{
    size_t n = 0;
    moncache_body *b = moncache_get(key, strlen(key), stamp, strlen(stamp), now);
    bool same = b != NULL && strcmp(moncache_body_data(b, &n), want) == 0 && n == strlen(want) + 1;
    moncache_body_drop(b);
    return same;
}

static bool misses(const char *key, const char *stamp, int64_t now)
{
    moncache_body *b = moncache_get(key, strlen(key), stamp, strlen(stamp), now);
    moncache_body_drop(b);
    return b == NULL;
}

static bool stable(const char *key, int64_t now)
{
    return moncache_stable(key, strlen(key), now);
}

static void moncache_is_stable_once_read_twice_with_the_same_stamp(void)
{
    moncache_clear();
    T_TRUE(!stable("g1", NOW));
    T_TRUE(misses("g1", "s1", NOW));
    put("g1", "s1", NOW, "first");
    T_TRUE(!stable("g1", NOW));
    T_TRUE(holds("g1", "s1", NOW, "first"));
    /* A second read with the same stamp: stable, the first result kept. */
    put("g1", "s1", NOW + 5, "second");
    T_TRUE(stable("g1", NOW + 5));
    T_TRUE(holds("g1", "s1", NOW + 5, "first"));
    /* Another stamp: never answered, and no longer stable. */
    T_TRUE(misses("g1", "s2", NOW + 6));
    T_TRUE(!stable("g1", NOW + 6));
    /* Read with it: a new unstable entry, then stable again. */
    put("g1", "s2", NOW + 7, "third");
    T_TRUE(!stable("g1", NOW + 7));
    T_TRUE(misses("g1", "s1", NOW + 7));
    T_TRUE(holds("g1", "s2", NOW + 7, "third"));
    put("g1", "s2", NOW + 8, "third");
    T_TRUE(stable("g1", NOW + 8));
    moncache_clear();
    T_TRUE(!stable("g1", NOW + 8));
    T_TRUE(moncache_bytes() == 0);
}

static void moncache_keys_whole_and_lives_less_than_the_ttl(void)
{
    moncache_clear();
    put("group-7", "s", NOW, "seven");
    put("group-7", "s", NOW, "seven");
    T_TRUE(misses("group-", "s", NOW));
    T_TRUE(misses("group-77", "s", NOW));
    T_TRUE(holds("group-7", "s", NOW + MONCACHE_TTL_MS - 1, "seven"));
    T_TRUE(stable("group-7", NOW + MONCACHE_TTL_MS - 1));
    T_TRUE(!stable("group-7", NOW + MONCACHE_TTL_MS));
    T_TRUE(misses("group-7", "s", NOW + MONCACHE_TTL_MS));
    /* A stamp of other bytes, or of a prefix of them, is another stamp. */
    T_TRUE(misses("group-7", "", NOW));
    T_TRUE(misses("group-7", "s ", NOW));
    T_TRUE(!stable("group-7", NOW));
    /* A clock gone back: not fresh either. */
    T_TRUE(misses("group-7", "s", NOW - 1));
    /* Expired: a read with the same stamp makes a new entry of that age. */
    put("group-7", "s", NOW + MONCACHE_TTL_MS, "again");
    T_TRUE(!stable("group-7", NOW + MONCACHE_TTL_MS));
    T_TRUE(holds("group-7", "s", NOW + MONCACHE_TTL_MS, "again"));
    moncache_clear();
}

static void moncache_bounds_what_it_keeps(void)
{
    void *p = NULL;
    char key[64];
    size_t kept = 0;
    moncache_clear();
    /* A result past MONCACHE_MAX_BODY is not even made. */
    T_TRUE(moncache_body_new(MONCACHE_MAX_BODY + 1, &p) == NULL && p == NULL);
    /* A key past MONCACHE_MAX_KEY is not kept. */
    {
        char *big = malloc(MONCACHE_MAX_KEY + 2);
        T_TRUE(big != NULL);
        memset(big, 'k', MONCACHE_MAX_KEY + 1);
        big[MONCACHE_MAX_KEY + 1] = '\0';
        put(big, "s", NOW, "x");
        T_TRUE(moncache_bytes() == 0);
        T_TRUE(!stable(big, NOW));
        free(big);
    }
    /* Results of MONCACHE_MAX_BODY bytes: at most MONCACHE_MAX_BYTES in all. */
    for (int i = 0; i < 4 * (int)(MONCACHE_MAX_BYTES / MONCACHE_MAX_BODY); i++) {
        moncache_body *b = moncache_body_new(MONCACHE_MAX_BODY, &p);
        T_TRUE(b != NULL);
        memset(p, 'v', MONCACHE_MAX_BODY);
        snprintf(key, sizeof key, "big-%d", i);
        moncache_put(key, strlen(key), "s", 1, NOW, b);
        moncache_body_drop(b);
        T_TRUE(moncache_bytes() <= MONCACHE_MAX_BYTES);
    }
    T_TRUE(moncache_bytes() > MONCACHE_MAX_BYTES / 2);
    for (int i = 0; i < 4 * (int)(MONCACHE_MAX_BYTES / MONCACHE_MAX_BODY); i++) {
        snprintf(key, sizeof key, "big-%d", i);
        moncache_body *b = moncache_get(key, strlen(key), "s", 1, NOW);
        kept += b != NULL;
        moncache_body_drop(b);
    }
    T_TRUE(kept > 0 && kept <= MONCACHE_MAX_BYTES / MONCACHE_MAX_BODY);
    moncache_clear();
    T_TRUE(moncache_bytes() == 0);
}

static void moncache_result_outlives_its_entry(void)
{
    size_t n = 0;
    moncache_body *b;
    moncache_clear();
    put("g2", "s", NOW, "held");
    b = moncache_get("g2", 2, "s", 1, NOW);
    T_TRUE(b != NULL);
    /* The entry replaced, then everything forgotten: the reference holds. */
    put("g2", "t", NOW, "newer");
    moncache_clear();
    T_TRUE(b != NULL && strcmp(moncache_body_data(b, &n), "held") == 0);
    moncache_body_drop(b);
}

void suite_monitor_cache(void)
{
    T_RUN(moncache_is_stable_once_read_twice_with_the_same_stamp);
    T_RUN(moncache_keys_whole_and_lives_less_than_the_ttl);
    T_RUN(moncache_bounds_what_it_keeps);
    T_RUN(moncache_result_outlives_its_entry);
}
