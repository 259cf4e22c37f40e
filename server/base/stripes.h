/* What the server's in-memory tables (app_cache.c, reply_cache.c,
 * raw_cache.c, shared_read.c) share: lock stripes made on first use, and
 * the environment switch that turns a table off (NAME=0) for benchmarks.
 * Thread-safe. */
#ifndef MTS_STRIPES_H
#define MTS_STRIPES_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* An array of mutexes, each guarding the slots whose number it is modulo
 * the array's length; initialised by the first stripe_lock(). */
typedef struct {
    pthread_mutex_t *locks;
    unsigned n;
    atomic_bool ready;
} stripes;

/* A static "stripes" over a static array of mutexes. */
#define STRIPES_OF(array)                                                                          \
    {                                                                                              \
        (array), (unsigned)(sizeof(array) / sizeof((array)[0])), false                             \
    }

/* The mutex of "slot". */
pthread_mutex_t *stripe_lock(stripes *s, unsigned slot);

/* A switch read from the environment on first use: off when the variable
 * "name" is "0", on otherwise. */
typedef struct {
    const char *name;
    atomic_int state; /* 0 not read yet, 1 on, 2 off */
} env_switch;

#define ENV_SWITCH(name)                                                                           \
    {                                                                                              \
        (name), 0                                                                                  \
    }

bool env_switch_off(env_switch *s);

/* "h" with "v" mixed in (a 64-bit finaliser's steps): the slot hash of
 * keys made of several integers (raw_cache.c, rights_memo.c). */
static inline uint64_t stripes_mix(uint64_t h, uint64_t v)
{
    h ^= v * 0x9e3779b97f4a7c15u;
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9u;
    h ^= h >> 32;
    return h;
}

#endif
