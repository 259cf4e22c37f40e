/* server/base/cmp.c: sort_stable() orders like qsort() and keeps equal
 * elements in their order, for every length up to a few hundred and for
 * runs of equal keys (the drive import's "the later row wins" rests on it). */
#include <stdint.h>
#include <stdlib.h>

#include "cmp.h"
#include "t.h"

typedef struct {
    int key;
    int pos;
} item;

static int cmp_key(const void *a, const void *b)
{
    const item *x = a, *y = b;
    return (x->key > y->key) - (x->key < y->key);
}

static void sort_stable_keeps_equal_elements_in_order(void)
{
    uint32_t seed = 12345;
    for (int n = 0; n <= 300; n++) {
        for (int keys = 1; keys <= 64; keys *= 4) {
            item v[300];
            for (int i = 0; i < n; i++) {
                seed = seed * 1103515245u + 12345u;
                v[i].key = (int)((seed >> 16) % (uint32_t)keys);
                v[i].pos = i;
            }
            T_EQ_INT(sort_stable(v, (size_t)n, sizeof *v, cmp_key), 0);
            for (int i = 1; i < n; i++) {
                T_TRUE(v[i - 1].key < v[i].key ||
                       (v[i - 1].key == v[i].key && v[i - 1].pos < v[i].pos));
            }
        }
    }
}

static void sort_stable_refuses_a_size_that_overflows(void)
{
    item v[2] = {{1, 0}, {0, 1}};
    T_EQ_INT(sort_stable(v, SIZE_MAX / 2, sizeof *v, cmp_key), -1);
    T_EQ_INT(v[0].key, 1); /* nothing moved */
}

void suite_cmp(void)
{
    T_RUN(sort_stable_keeps_equal_elements_in_order);
    T_RUN(sort_stable_refuses_a_size_that_overflows);
}
