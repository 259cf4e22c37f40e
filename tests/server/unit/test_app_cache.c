/* server/base/app_cache.c: remembered app credentials, valid while no epoch
 * they were read under moved (auth.h) and for less than the TTL; a read
 * that raced with a change is not kept; the table's size is fixed. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <string.h>

#include "app_cache.h"
#include "auth.h"
#include "t.h"

#define NOW 1800000000000LL /* ms */

static app_cache_key by_hash(unsigned char first, unsigned char last)
{
    app_cache_key k;
    memset(&k, 0, sizeof k);
    k.hash[0] = first;
    k.hash[31] = last;
    return k;
}

static app_cache_key by_id(long long id)
{
    app_cache_key k;
    memset(&k, 0, sizeof k);
    k.by_id = true;
    k.app_id = id;
    return k;
}

static app_cache_row row_of(long long account, long long app)
{
    app_cache_row r = {.account_id = account, .app_id = app, .group_id = 7,
                       .channels_version = 3, .enabled = true, .account_active = true,
                       .trial_expires_us = INT64_MAX};
    return r;
}

/* Read "key" as from the database (begin, put) at "now". */
static void read_in(const app_cache_key *key, const app_cache_row *row, int64_t now)
{
    app_cache_mark m;
    app_cache_begin(&m);
    app_cache_put(key, &m, now, row);
}

static bool hits(const app_cache_key *key, int64_t now, long long app)
{
    app_cache_row out;
    memset(&out, 0, sizeof out);
    return app_cache_get(key, now, &out) && out.app_id == app;
}

static void app_cache_hits_after_a_read_and_misses_otherwise(void)
{
    app_cache_key k = by_hash(1, 2), other = by_hash(1, 3), id = by_id(5);
    app_cache_row r = row_of(11, 5), out;
    app_cache_clear();
    T_TRUE(!hits(&k, NOW, 5));
    read_in(&k, &r, NOW);
    T_TRUE(app_cache_get(&k, NOW, &out));
    T_EQ_INT(out.account_id, 11);
    T_EQ_INT(out.group_id, 7);
    T_EQ_INT(out.channels_version, 3);
    T_TRUE(!hits(&other, NOW, 5)); /* another credential, same set */
    T_TRUE(!hits(&id, NOW, 5));    /* the app's id is another key */
    read_in(&id, &r, NOW);
    T_TRUE(hits(&id, NOW, 5));
    app_cache_forget(&k);
    T_TRUE(!hits(&k, NOW, 5));
    T_TRUE(hits(&id, NOW, 5));
    app_cache_clear();
    T_TRUE(!hits(&id, NOW, 5));
}

static void app_cache_entry_ends_when_an_epoch_of_its_account_moves(void)
{
    app_cache_key k = by_hash(9, 9);
    app_cache_row r = row_of(21, 6);
    long long other = 22;
    app_cache_clear();
    /* An account of another bucket (auth.h: a change may end the entries of
     * its whole bucket). */
    for (; other < 100000; other++) {
        read_in(&k, &r, NOW);
        auth_account_changed(other);
        if (hits(&k, NOW, 6)) {
            break;
        }
    }
    T_TRUE(other < 100000);
    auth_account_state_changed(other);
    T_TRUE(hits(&k, NOW, 6));
    /* Its own account: announced, or written by this server. */
    auth_account_changed(21);
    T_TRUE(!hits(&k, NOW, 6));
    read_in(&k, &r, NOW);
    T_TRUE(hits(&k, NOW, 6));
    auth_account_state_changed(21);
    T_TRUE(!hits(&k, NOW, 6));
    read_in(&k, &r, NOW);
    /* Every account: the state epoch. */
    auth_state_changed();
    T_TRUE(!hits(&k, NOW, 6));
    read_in(&k, &r, NOW);
    auth_forget_identities();
    T_TRUE(!hits(&k, NOW, 6));
    app_cache_clear();
}

static void app_cache_keeps_no_read_that_raced_with_a_change(void)
{
    app_cache_key k = by_hash(4, 4);
    app_cache_row r = row_of(31, 8);
    app_cache_mark m;
    app_cache_clear();
    app_cache_begin(&m);
    auth_account_changed(999); /* any change announced while the read ran */
    app_cache_put(&k, &m, NOW, &r);
    T_TRUE(!hits(&k, NOW, 8));
    read_in(&k, &r, NOW);
    T_TRUE(hits(&k, NOW, 8));
    app_cache_clear();
}

static void app_cache_entry_lives_less_than_the_ttl(void)
{
    app_cache_key k = by_hash(5, 5);
    app_cache_row r = row_of(41, 9);
    int64_t ttl = auth_cache_ttl_ms();
    app_cache_clear();
    read_in(&k, &r, NOW);
    T_TRUE(hits(&k, NOW + ttl - 1, 9));
    T_TRUE(!hits(&k, NOW + ttl, 9));
    read_in(&k, &r, NOW);
    T_TRUE(!hits(&k, NOW - 1, 9)); /* the clock went back */
    app_cache_clear();
}

static void app_cache_judges_the_trial_by_the_time_of_use(void)
{
    app_cache_row r = row_of(51, 10);
    T_TRUE(app_cache_row_ok(&r, INT64_MAX - 1));
    r.trial_expires_us = 1000;
    T_TRUE(app_cache_row_ok(&r, 999));
    T_TRUE(!app_cache_row_ok(&r, 1000));
    r.trial_expires_us = INT64_MAX;
    r.account_active = false;
    T_TRUE(!app_cache_row_ok(&r, 0));
}

static void app_cache_has_a_fixed_size(void)
{
    app_cache_row r = row_of(61, 12);
    app_cache_clear();
    /* One more key than a set holds, all of the same set: the oldest goes. */
    for (int i = 0; i <= APP_CACHE_WAYS; i++) {
        app_cache_key k = by_hash(77, (unsigned char)i);
        r.app_id = 100 + i;
        read_in(&k, &r, NOW + i);
    }
    {
        app_cache_key oldest = by_hash(77, 0);
        T_TRUE(!hits(&oldest, NOW + 10, 100));
    }
    for (int i = 1; i <= APP_CACHE_WAYS; i++) {
        app_cache_key k = by_hash(77, (unsigned char)i);
        T_TRUE(hits(&k, NOW + 10, 100 + i));
    }
    /* A key read again takes its own place, not another's. */
    {
        app_cache_key k = by_hash(77, 1);
        r.app_id = 101;
        read_in(&k, &r, NOW + 20);
        for (int i = 1; i <= APP_CACHE_WAYS; i++) {
            app_cache_key k2 = by_hash(77, (unsigned char)i);
            T_TRUE(hits(&k2, NOW + 20, 100 + i));
        }
    }
    app_cache_clear();
}

void suite_app_cache(void)
{
    T_RUN(app_cache_hits_after_a_read_and_misses_otherwise);
    T_RUN(app_cache_entry_ends_when_an_epoch_of_its_account_moves);
    T_RUN(app_cache_keeps_no_read_that_raced_with_a_change);
    T_RUN(app_cache_entry_lives_less_than_the_ttl);
    T_RUN(app_cache_judges_the_trial_by_the_time_of_use);
    T_RUN(app_cache_has_a_fixed_size);
}
