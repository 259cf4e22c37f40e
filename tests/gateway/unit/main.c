/* Runner of metron-gateway's C unit tests (tests/t.h conventions): TAP lines
 * and a closing "N passed, N failed". Usage: gateway_unit_tests [substring]. */
#include <stdarg.h>
#include <stdlib.h>

#include "t.h"

void suite_gw_sim(void);
void suite_gw_state(void);
void suite_gw_batch(void);
void suite_gw_reply(void);
void suite_gw_spool(void);

static int n_passed, n_failed, cur_failed;
static const char *filter;

void t__fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    cur_failed = 1;
    printf("#   %s:%d: ", file, line);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}

void t__run(const char *name, void (*fn)(void))
{
    if (filter && !strstr(name, filter)) {
        return;
    }
    cur_failed = 0;
    fn();
    if (cur_failed) {
        n_failed++;
        printf("not ok %d - %s\n", n_passed + n_failed, name);
    } else {
        n_passed++;
        printf("ok %d - %s\n", n_passed + n_failed, name);
    }
}

/* No fixtures here; t.h declares these for the core suite. */
unsigned char *t_fixture(const char *name, size_t *len)
{
    (void)name;
    *len = 0;
    return NULL;
}

const char *t_fixture_path(const char *name)
{
    return name;
}

int main(int argc, char **argv)
{
    filter = argc > 1 ? argv[1] : NULL;
    suite_gw_sim();
    suite_gw_state();
    suite_gw_batch();
    suite_gw_reply();
    suite_gw_spool();
    printf("1..%d\n%d passed, %d failed\n", n_passed + n_failed, n_passed, n_failed);
    return n_failed ? 1 : 0;
}
