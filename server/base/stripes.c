/* Lock stripes made on first use, and environment switches (stripes.h). */
#define _POSIX_C_SOURCE 200809L
#include "stripes.h"

#include <stdlib.h>
#include <string.h>

static pthread_mutex_t g_init_mu = PTHREAD_MUTEX_INITIALIZER;

pthread_mutex_t *stripe_lock(stripes *s, unsigned slot)
{
    if (!atomic_load_explicit(&s->ready, memory_order_acquire)) {
        pthread_mutex_lock(&g_init_mu);
        if (!atomic_load_explicit(&s->ready, memory_order_relaxed)) {
            for (unsigned i = 0; i < s->n; i++) {
                pthread_mutex_init(&s->locks[i], NULL);
            }
            atomic_store_explicit(&s->ready, true, memory_order_release);
        }
        pthread_mutex_unlock(&g_init_mu);
    }
    return &s->locks[slot % s->n];
}

bool env_switch_off(env_switch *s)
{
    int st = atomic_load_explicit(&s->state, memory_order_relaxed);
    if (st == 0) {
        /* Two first callers may both read the environment: same answer. */
        const char *v = getenv(s->name);
        st = v != NULL && strcmp(v, "0") == 0 ? 2 : 1;
        atomic_store_explicit(&s->state, st, memory_order_relaxed);
    }
    return st == 2;
}
