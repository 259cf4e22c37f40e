/* A word that threads wait on until it is set (waitword.h). */
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
void waitword_wait(atomic_int *w)
{
    while (atomic_load_explicit(w, memory_order_acquire) == 0) {
        syscall(SYS_futex, w, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
    }
}

void waitword_set(atomic_int *w)
{
    atomic_store_explicit(w, 1, memory_order_release);
    syscall(SYS_futex, w, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}
#else
static pthread_mutex_t done_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t done_cv = PTHREAD_COND_INITIALIZER;

void waitword_wait(atomic_int *w)
{
    pthread_mutex_lock(&done_mu);
    while (atomic_load(w) == 0) {
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
