#include "alloc_int.h"

#include <stdlib.h>

#ifdef MT_FAULT_INJECTION
/* Test builds only: a countdown to the allocation that must fail. */
static long fault_countdown;
static int fault_fired;

void mt__fault_fail_nth(long nth)
{
    fault_countdown = nth;
    fault_fired = 0;
}

int mt__fault_fired(void)
{
    return fault_fired;
}

static int should_fail(void)
{
    if (fault_countdown > 0 && --fault_countdown == 0) {
        fault_fired = 1;
        return 1;
    }
    return 0;
}
#else
static int should_fail(void)
{
    return 0;
}
#endif

void *mt__malloc(size_t n)
{
    return should_fail() ? NULL : malloc(n ? n : 1);
}

void *mt__calloc(size_t count, size_t size)
{
    return should_fail() ? NULL : calloc(count ? count : 1, size ? size : 1);
}

void *mt__realloc(void *p, size_t n)
{
    return should_fail() ? NULL : realloc(p, n ? n : 1);
}

void mt__free(void *p)
{
    free(p);
}
