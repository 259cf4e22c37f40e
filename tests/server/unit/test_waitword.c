/* server/base/waitword.c: a word threads wait on until it is set; the
 * setter makes a wake-up call only when a waiter sleeps. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>

#include "t.h"
#include "waitword.h"

#define N_WAITERS 8

typedef struct {
    atomic_int *word;
    atomic_int *woken;
} waiter_arg;

static void *waiter(void *p)
{
    waiter_arg *a = p;
    waitword_wait(a->word);
    atomic_fetch_add(a->woken, 1);
    return NULL;
}

static void sleep_ms(long ms)
{
    struct timespec t = {0, ms * 1000000L};
    nanosleep(&t, NULL);
}

/* Set before anyone waits: the wait returns at once, the word is 1. */
static void waitword_set_first_then_wait_returns(void)
{
    atomic_int w;
    atomic_init(&w, 0);
    waitword_set(&w);
    T_EQ_INT(atomic_load(&w), 1);
    waitword_wait(&w);
    waitword_set(&w); /* again: stays set */
    T_EQ_INT(atomic_load(&w), 1);
}

/* Waiters asleep on the word are all woken by one set. */
static void waitword_set_wakes_every_sleeping_waiter(void)
{
    atomic_int w, woken;
    pthread_t th[N_WAITERS];
    waiter_arg a;
    atomic_init(&w, 0);
    atomic_init(&woken, 0);
    a.word = &w;
    a.woken = &woken;
    for (int i = 0; i < N_WAITERS; i++) {
        T_EQ_INT(pthread_create(&th[i], NULL, waiter, &a), 0);
    }
    sleep_ms(50); /* the waiters go to sleep */
    T_EQ_INT(atomic_load(&woken), 0);
    T_TRUE(atomic_load(&w) != 1);
    waitword_set(&w);
    for (int i = 0; i < N_WAITERS; i++) {
        pthread_join(th[i], NULL);
    }
    T_EQ_INT(atomic_load(&woken), N_WAITERS);
    T_EQ_INT(atomic_load(&w), 1);
}

/* A set racing with a wait that is just going to sleep is never lost
 * (many rounds of one waiter and one setter started together). */
static void waitword_no_wakeup_lost_in_a_race(void)
{
    for (int round = 0; round < 2000; round++) {
        atomic_int w, woken;
        pthread_t th;
        waiter_arg a;
        atomic_init(&w, 0);
        atomic_init(&woken, 0);
        a.word = &w;
        a.woken = &woken;
        T_EQ_INT(pthread_create(&th, NULL, waiter, &a), 0);
        if (round % 2 == 0) {
            sched_yield();
        }
        waitword_set(&w);
        pthread_join(th, NULL);
        T_EQ_INT(atomic_load(&woken), 1);
    }
}

/* An owner may put 0 back into its word and wait again (ingest_group.c):
 * the next set wakes it. */
static void waitword_reset_by_its_owner_waits_again(void)
{
    atomic_int w, woken;
    pthread_t th;
    waiter_arg a;
    atomic_init(&w, 0);
    atomic_init(&woken, 0);
    waitword_set(&w);
    atomic_store(&w, 0);
    a.word = &w;
    a.woken = &woken;
    T_EQ_INT(pthread_create(&th, NULL, waiter, &a), 0);
    sleep_ms(30);
    T_EQ_INT(atomic_load(&woken), 0);
    waitword_set(&w);
    pthread_join(th, NULL);
    T_EQ_INT(atomic_load(&woken), 1);
}

void suite_waitword(void)
{
    T_RUN(waitword_set_first_then_wait_returns);
    T_RUN(waitword_set_wakes_every_sleeping_waiter);
    T_RUN(waitword_no_wakeup_lost_in_a_race);
    T_RUN(waitword_reset_by_its_owner_waits_again);
}
