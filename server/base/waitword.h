/* A word that threads wait on until it is set (issue 16): the followers of
 * a shared read (raw_cache.c, shared_read.c) wait on their read's "done"
 * word, not on a lock, so that woken together they do not queue on that
 * lock again (a fifth of the raw day's server time went to such a queue).
 * A futex on Linux, a process-wide condition variable elsewhere.
 * Thread-safe. */
#ifndef MTS_WAITWORD_H
#define MTS_WAITWORD_H

#include <stdatomic.h>

/* A word starts at 0 and is 1 once set; waitword_wait() may store another
 * value meanwhile (a waiter asleep on it), so test a word for "set" with
 * == 1, never != 0. */

/* Return once *w is 1 (read with acquire order). */
void waitword_wait(atomic_int *w);

/* Set *w to 1 (release order) and wake every thread in waitword_wait(w)
 * (a system call only when one is asleep on it).
 * "w" may be freed by a woken thread as soon as this returns, never by
 * the caller's followers before: the caller keeps a reference to the
 * memory until this returns. */
void waitword_set(atomic_int *w);

#endif
