/* server/db/db_listen.c without a database: what the listener does with
 * each payload (an account id, a barrier, anything else), and the barrier's
 * wait: woken by its own payload heard on another thread, by no other, and
 * bounded. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "db_listen.h"
#include "t.h"

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static void listen_payload_of_an_account_ends_that_account_only(void)
{
    unsigned long long ids = auth_identity_epoch(), acc = auth_account_epoch(4242);
    db_listen_heard("4242");
    T_EQ_U64(auth_account_epoch(4242), acc + 1);
    T_EQ_U64(auth_identity_epoch(), ids);
}

static void listen_payload_not_an_id_forgets_every_identity(void)
{
    const char *bad[] = {"", "x", "12x", "0", "-3", "99999999999999999999", "barrier", "Barrier:1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        unsigned long long ids = auth_identity_epoch();
        db_listen_heard(bad[i]);
        T_EQ_U64(auth_identity_epoch(), ids + 1);
    }
}

static void listen_barrier_payload_is_a_barrier_only(void)
{
    unsigned long long ids = auth_identity_epoch(), count = auth_change_count();
    /* Another process's barrier, and one nobody waits for any more. */
    db_listen_heard(DB_LISTEN_BARRIER_PREFIX "1.1");
    db_listen_heard(DB_LISTEN_BARRIER_PREFIX);
    T_EQ_U64(auth_identity_epoch(), ids);
    T_EQ_U64(auth_change_count(), count);
}

static void listen_barriers_are_unique(void)
{
    db_listen_barrier a, b;
    db_listen_barrier_begin(&a);
    db_listen_barrier_begin(&b);
    T_TRUE(strncmp(a.payload, DB_LISTEN_BARRIER_PREFIX, strlen(DB_LISTEN_BARRIER_PREFIX)) == 0);
    T_TRUE(strcmp(a.payload, b.payload) != 0);
    T_TRUE(!db_listen_barrier_end(&b, 0));
    T_TRUE(!db_listen_barrier_end(&a, 0));
}

/* Hear "arg"'s payload on a thread of its own, after a moment. */
static void *hear_later(void *arg)
{
    const db_listen_barrier *b = arg;
    struct timespec d = {0, 50 * 1000000L};
    nanosleep(&d, NULL);
    db_listen_heard(b->payload);
    return NULL;
}

static void listen_barrier_wakes_when_its_payload_is_heard(void)
{
    db_listen_barrier mine, other;
    pthread_t th;
    double t0;
    db_listen_barrier_begin(&other);
    db_listen_barrier_begin(&mine);
    T_EQ_INT(pthread_create(&th, NULL, hear_later, &mine), 0);
    t0 = now_ms();
    T_TRUE(db_listen_barrier_end(&mine, 10000));
    pthread_join(th, NULL);
    T_TRUE(now_ms() - t0 < 5000);
    /* Heard once, then gone: the other barrier was not woken by it. */
    T_TRUE(!other.heard);
    T_TRUE(!db_listen_barrier_end(&other, 0));
}

static void listen_barrier_heard_before_the_wait_counts(void)
{
    db_listen_barrier b;
    db_listen_barrier_begin(&b);
    db_listen_heard(b.payload);
    T_TRUE(db_listen_barrier_end(&b, 0));
}

static void listen_barrier_not_heard_times_out(void)
{
    db_listen_barrier b;
    double t0 = now_ms(), took;
    db_listen_barrier_begin(&b);
    db_listen_heard(DB_LISTEN_BARRIER_PREFIX "0.0");
    T_TRUE(!db_listen_barrier_end(&b, 100));
    took = now_ms() - t0;
    T_TRUE(took >= 99);
    T_TRUE(took < 5000);
    /* Unregistered: hearing it now changes nothing. */
    db_listen_heard(b.payload);
    T_TRUE(!b.heard);
}

void suite_db_listen(void)
{
    T_RUN(listen_payload_of_an_account_ends_that_account_only);
    T_RUN(listen_payload_not_an_id_forgets_every_identity);
    T_RUN(listen_barrier_payload_is_a_barrier_only);
    T_RUN(listen_barriers_are_unique);
    T_RUN(listen_barrier_wakes_when_its_payload_is_heard);
    T_RUN(listen_barrier_heard_before_the_wait_counts);
    T_RUN(listen_barrier_not_heard_times_out);
}
