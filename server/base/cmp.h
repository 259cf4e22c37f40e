/* qsort()/bsearch() comparators of the server's id and time arrays: one
 * copy each. */
#ifndef MTS_CMP_H
#define MTS_CMP_H

/* Order two long longs / two int64_t at "a" and "b": -1, 0 or 1. */
int cmp_ll(const void *a, const void *b);
int cmp_i64(const void *a, const void *b);

#endif
