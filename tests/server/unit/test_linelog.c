/* server/base/linelog.c (the access log's writer thread) and the JSON
 * helpers of server/base/sbuf.c that the lists write with. */
#define _POSIX_C_SOURCE 200809L
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "linelog.h"
#include "sbuf.h"
#include "t.h"

#define THREADS 8
#define LINES 5000

static int g_fd;

static void *put_lines(void *arg)
{
    int t = (int)(long)arg;
    char line[64];
    for (int i = 0; i < LINES; i++) {
        int n = snprintf(line, sizeof line, "%d %d\n", t, i);
        linelog_put(g_fd, line, (size_t)n);
    }
    return NULL;
}

/* Read the whole file "path" (NUL-terminated); NULL on failure. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *p = NULL;
    long n;
    if (f != NULL && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (p = malloc((size_t)n + 1)) != NULL) {
        *len = fread(p, 1, (size_t)n, f);
        p[*len] = '\0';
    }
    if (f != NULL) {
        fclose(f);
    }
    return p;
}

static void linelog_keeps_every_line_whole_and_in_order(void)
{
    char path[] = "/tmp/metron-linelog-XXXXXX";
    pthread_t th[THREADS];
    int next[THREADS] = {0}, bad = 0, lines = 0;
    size_t len = 0;
    char *text, *p, *big;
    g_fd = mkstemp(path);
    T_TRUE(g_fd >= 0);
    T_EQ_INT(linelog_start(g_fd), 0);
    T_EQ_INT(linelog_start(g_fd), -1); /* already running */
    for (long t = 0; t < THREADS; t++) {
        pthread_create(&th[t], NULL, put_lines, (void *)t);
    }
    for (int t = 0; t < THREADS; t++) {
        pthread_join(th[t], NULL);
    }
    /* A line longer than half the buffer goes after what is buffered. */
    big = malloc(LINELOG_BUF);
    memset(big, 'x', LINELOG_BUF - 1);
    big[0] = '9';
    big[1] = ' ';
    big[LINELOG_BUF - 1] = '\n';
    linelog_put(g_fd, big, LINELOG_BUF);
    free(big);
    linelog_stop();
    linelog_stop(); /* again: nothing */
    /* After the stop, a line is written directly. */
    linelog_put(g_fd, "8 0\n", 4);
    text = slurp(path, &len);
    T_TRUE(text != NULL);
    for (p = text; p != NULL && *p != '\0' && bad < 3;) {
        char *end = strchr(p, '\n');
        int t = -1, i = -1;
        if (end == NULL) {
            T_FAIL("a line without its end: %.40s", p);
            bad++;
            break;
        }
        *end = '\0';
        lines++;
        if (p[0] == '9') {
            T_EQ_INT((long)(end - p), LINELOG_BUF - 1);
            T_EQ_INT(next[0] + next[1], 2 * LINES); /* after every buffered line */
        } else if (p[0] == '8') {
            T_EQ_INT(lines, THREADS * LINES + 2);
        } else if (sscanf(p, "%d %d", &t, &i) != 2 || t < 0 || t >= THREADS || i != next[t]) {
            T_FAIL("line %d: '%s' (expected thread %d's line %d)", lines, p, t,
                   t >= 0 && t < THREADS ? next[t] : -1);
            bad++;
        } else {
            next[t]++;
        }
        p = end + 1;
    }
    T_EQ_INT(bad, 0);
    T_EQ_INT(lines, THREADS * LINES + 2);
    free(text);
    close(g_fd);
    unlink(path);
}

static void sb_i64_prints_every_range(void)
{
    static const long long v[] = {0, 7, -7, 10, 1234567890123LL, LLONG_MAX, LLONG_MIN};
    char want[32];
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        sbuf b = {0};
        sb_i64(&b, v[i]);
        snprintf(want, sizeof want, "%lld", v[i]);
        T_TRUE(!b.failed);
        T_EQ_STR(b.p, want);
        free(b.p);
    }
}

static void sb_json_str_escapes_as_cjson_prints(void)
{
    static const char *const s[] = {"", "plain", "quote \" back \\ slash", "\b\f\n\r\t",
                                    "\x01\x1f\x7f", "UTF-8 \xc3\xa9\xe6\x97\xa5"};
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++) {
        sbuf b = {0};
        cJSON *o = cJSON_CreateString(s[i]);
        char *want = cJSON_PrintUnformatted(o);
        sb_json_str(&b, s[i]);
        T_TRUE(!b.failed);
        T_EQ_STR(b.p, want);
        free(want);
        cJSON_Delete(o);
        free(b.p);
    }
    {
        sbuf b = {0};
        sb_json_str(&b, NULL);
        T_EQ_STR(b.p, "null");
        free(b.p);
    }
}

void suite_linelog(void)
{
    T_RUN(linelog_keeps_every_line_whole_and_in_order);
    T_RUN(sb_i64_prints_every_range);
    T_RUN(sb_json_str_escapes_as_cjson_prints);
}
