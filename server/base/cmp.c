/* Comparators (see cmp.h). */
#include "cmp.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int sort_stable(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
    if (n < 2) {
        return 0;
    }
    if (size == 0 || n > SIZE_MAX / size) {
        return -1;
    }
    unsigned char *a = base;
    unsigned char *b = malloc(n * size);
    if (b == NULL) {
        return -1;
    }
    /* Bottom-up: runs of "w" elements merged pairwise from "src" into
     * "dst"; on a tie the left run's element goes first. */
    unsigned char *src = a, *dst = b;
    for (size_t w = 1; w < n; w = w > n / 2 ? n : w * 2) {
        for (size_t lo = 0; lo < n; lo += 2 * w) {
            size_t mid = w < n - lo ? lo + w : n;
            size_t hi = w < n - mid ? mid + w : n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi) {
                if (cmp(src + j * size, src + i * size) < 0) {
                    memcpy(dst + k++ * size, src + j++ * size, size);
                } else {
                    memcpy(dst + k++ * size, src + i++ * size, size);
                }
            }
            memcpy(dst + k * size, src + i * size, (mid - i) * size);
            k += mid - i;
            memcpy(dst + k * size, src + j * size, (hi - j) * size);
        }
        unsigned char *t = src;
        src = dst;
        dst = t;
    }
    if (src != a) {
        memcpy(a, src, n * size);
    }
    free(b);
    return 0;
}
