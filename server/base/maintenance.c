/* The maintenance schedule in memory (see maintenance.h). */
#include "maintenance.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static maint_window g_w[MAINT_MAX];
static atomic_int g_n;

void maint_set(const maint_window *w, int n)
{
    if (n < 0) {
        n = 0;
    }
    if (n > MAINT_MAX) {
        n = MAINT_MAX;
    }
    pthread_mutex_lock(&g_lock);
    if (n > 0) {
        memcpy(g_w, w, (size_t)n * sizeof *w);
    }
    atomic_store(&g_n, n);
    pthread_mutex_unlock(&g_lock);
}

bool maint_current(int64_t now, maint_window *out)
{
    bool found = false;
    if (atomic_load_explicit(&g_n, memory_order_relaxed) == 0) {
        return false;
    }
    pthread_mutex_lock(&g_lock);
    for (int i = 0; i < atomic_load(&g_n); i++) {
        const maint_window *w = &g_w[i];
        if (w->announce_at <= now && now < w->ends_at &&
            (!found || w->starts_at < out->starts_at)) {
            *out = *w;
            found = true;
        }
    }
    pthread_mutex_unlock(&g_lock);
    return found;
}

bool maint_active(int64_t now, int64_t *ends_at)
{
    bool active = false;
    if (atomic_load_explicit(&g_n, memory_order_relaxed) == 0) {
        return false;
    }
    pthread_mutex_lock(&g_lock);
    for (int i = 0; i < atomic_load(&g_n); i++) {
        const maint_window *w = &g_w[i];
        if (w->starts_at <= now && now < w->ends_at && (!active || w->ends_at > *ends_at)) {
            *ends_at = w->ends_at;
            active = true;
        }
    }
    pthread_mutex_unlock(&g_lock);
    return active;
}
