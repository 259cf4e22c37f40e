/* A word that threads wait on until it is set (waitword.h).
 *
 * On Linux the word has three values: 0 (not set, nobody asleep on it),
 * WW_SLEEPING (not set, a waiter is or is about to be asleep in the kernel)
 * and 1 (set). A waiter moves 0 to WW_SLEEPING before it sleeps, and
 * sleeps only while the word holds WW_SLEEPING (the kernel compares); the
 * setter exchanges the word for 1 and makes the futex wake-up call only
 * when it took WW_SLEEPING from it (issue 16, srvcpu: a shared read that
 * no follower joined, a batch whose waiter had not gone to sleep yet, made
 * a system call that woke nobody). No wake-up is lost: a waiter that went
 * to sleep did so on WW_SLEEPING, which the setter's exchange sees. An
 * owner may put 0 back in its own word before it looks at what it waits
 * for again (ingest_group.c): a late setter then finds 0 or WW_SLEEPING,
 * as for any wait. */
#define _GNU_SOURCE /* syscall() */
#include "waitword.h"

#include <limits.h>
#include <pthread.h>
#ifdef __linux__
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#ifdef __linux__
#define WW_SLEEPING 2

void waitword_wait(atomic_int *w)
{
    for (;;) {
        int v = atomic_load_explicit(w, memory_order_acquire);
        if (v == 1) {
            return;
        }
        if (v == 0 && !atomic_compare_exchange_weak_explicit(w, &v, WW_SLEEPING,
                                                             memory_order_acquire,
                                                             memory_order_acquire)) {
            continue; /* set, or another waiter marked it: look again */
        }
        syscall(SYS_futex, w, FUTEX_WAIT_PRIVATE, WW_SLEEPING, NULL, NULL, 0);
    }
}

void waitword_set(atomic_int *w)
{
    if (atomic_exchange_explicit(w, 1, memory_order_acq_rel) == WW_SLEEPING) {
        syscall(SYS_futex, w, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
    }
}
#else
static pthread_mutex_t done_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t done_cv = PTHREAD_COND_INITIALIZER;

void waitword_wait(atomic_int *w)
{
    pthread_mutex_lock(&done_mu);
    while (atomic_load(w) != 1) {
        pthread_cond_wait(&done_cv, &done_mu);
    }
    pthread_mutex_unlock(&done_mu);
}

void waitword_set(atomic_int *w)
{
    pthread_mutex_lock(&done_mu);
    atomic_store(w, 1);
    pthread_cond_broadcast(&done_cv);
    pthread_mutex_unlock(&done_mu);
}
#endif
