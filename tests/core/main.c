/* The core test runner: the same file for the native and the emcc build.
 * Usage: core_tests [substring] — run only tests whose suite or name
 * contains "substring". Prints TAP and a closing "N passed, N failed". */
#include <stdarg.h>
#include <stdlib.h>

#include "../t.h"

#ifndef MT_FIXTURE_DIR
#error "MT_FIXTURE_DIR must name tests/fixtures"
#endif

#define SUITES(X) \
    X(status)     \
    X(expr)       \
    X(alarm)      \
    X(hok)        \
    X(hok2)       \
    X(csv)        \
    X(licence)    \
    X(decimate)

#define DECL(name) void suite_##name(void);
SUITES(DECL)
#undef DECL

static int n_passed, n_failed, cur_failed;
static const char *cur_suite, *filter;

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
    if (filter && !strstr(name, filter) && !strstr(cur_suite, filter)) {
        return;
    }
    cur_failed = 0;
    fn();
    if (cur_failed) {
        n_failed++;
        printf("not ok %d - %s/%s\n", n_passed + n_failed, cur_suite, name);
    } else {
        n_passed++;
        printf("ok %d - %s/%s\n", n_passed + n_failed, cur_suite, name);
    }
    fflush(stdout);
}

const char *t_fixture_path(const char *name)
{
    static char path[1024];
    snprintf(path, sizeof path, "%s/%s", MT_FIXTURE_DIR, name);
    return path;
}

unsigned char *t_fixture(const char *name, size_t *len)
{
    const char *path = t_fixture_path(name);
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    long size;
    *len = 0;
    if (!f) {
        t__fail(__FILE__, __LINE__, "cannot open fixture %s", path);
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        t__fail(__FILE__, __LINE__, "cannot size fixture %s", path);
        return NULL;
    }
    buf = malloc((size_t)size + 1);
    if (buf && fread(buf, 1, (size_t)size, f) == (size_t)size) {
        buf[size] = '\0'; /* convenient for text fixtures; not counted in len */
        *len = (size_t)size;
    } else {
        free(buf);
        buf = NULL;
        t__fail(__FILE__, __LINE__, "cannot read fixture %s", path);
    }
    fclose(f);
    return buf;
}

int main(int argc, char **argv)
{
    filter = argc > 1 ? argv[1] : NULL;
#ifdef __EMSCRIPTEN__
    printf("# target: wasm\n");
#else
    printf("# target: native\n");
#endif
#define RUN(name)           \
    cur_suite = #name;      \
    suite_##name();
    SUITES(RUN)
#undef RUN
    printf("1..%d\n", n_passed + n_failed);
    printf("%d passed, %d failed\n", n_passed, n_failed);
    return n_failed ? 1 : 0;
}
