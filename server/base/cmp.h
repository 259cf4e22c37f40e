/* qsort()/bsearch() comparators of the server's id and time arrays: one
 * copy each; and a stable sort where equal elements must keep their order
 * (qsort() does not promise it). */
#ifndef MTS_CMP_H
#define MTS_CMP_H

#include <stddef.h>

/* Order two long longs / two int64_t at "a" and "b": -1, 0 or 1. */
int cmp_ll(const void *a, const void *b);
int cmp_i64(const void *a, const void *b);

/* Sort "n" elements of "size" bytes at "base" by "cmp", keeping elements
 * that compare equal in their order (a merge sort through a buffer of
 * n * size bytes). Returns 0, or -1 when that buffer cannot be had (nothing
 * moved). */
int sort_stable(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *));

#endif
