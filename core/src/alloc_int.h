/* Metron core (private): the one allocation path.
 *
 * Core allocates only through these, so that a test build (compiled with
 * MT_FAULT_INJECTION) can make the Nth allocation fail and check that every
 * constructor returns MT_ENOMEM and leaks nothing (SQLite's faultsim).
 * Production builds keep no global state: the functions are the C library's. */
#ifndef MT_ALLOC_INT_H
#define MT_ALLOC_INT_H

#include <stddef.h>

void *mt__malloc(size_t n);
void *mt__calloc(size_t count, size_t size);
/* As realloc(): on failure returns NULL and "p" stays valid and owned by the
 * caller; on success "p" is dead and only the returned pointer is valid. */
void *mt__realloc(void *p, size_t n);
void mt__free(void *p);

#ifdef MT_FAULT_INJECTION
/* Make the "nth" allocation from now on fail (1 = the next one); 0 turns
 * injection off. Only in test builds. */
void mt__fault_fail_nth(long nth);
/* Whether the injected failure has happened since the last mt__fault_fail_nth(). */
int mt__fault_fired(void);
#endif

#endif
