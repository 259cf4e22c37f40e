/* server/http/http.c: the process's localtime() and gmtime(), one result
 * buffer per thread (Debian's CivetWeb calls them from every worker; glibc's
 * share one buffer between both and every thread). */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "t.h"

typedef struct {
    struct tm *got;
    int year, mday;
} tm_seen;

static void *tm_other_thread(void *arg)
{
    tm_seen *seen = arg;
    time_t epoch = 0;
    seen->got = gmtime(&epoch);
    seen->year = seen->got != NULL ? seen->got->tm_year : -1;
    seen->mday = seen->got != NULL ? seen->got->tm_mday : -1;
    return NULL;
}

static void http_time_buffers_are_per_thread_and_per_function(void)
{
    time_t y2k = 946684800; /* 2000-01-01T00:00:00Z */
    time_t later = y2k + 40 * 86400;
    struct tm *mine = gmtime(&y2k);
    struct tm *local;
    tm_seen seen = {NULL, 0, 0};
    pthread_t t;

    T_TRUE(mine != NULL);
    T_EQ_INT(pthread_create(&t, NULL, tm_other_thread, &seen), 0);
    T_EQ_INT(pthread_join(t, NULL), 0);
    /* The other thread got its own buffer: 1970, and ours still says 2000. */
    T_TRUE(seen.got != NULL && seen.got != mine);
    T_EQ_INT(seen.year, 70);
    T_EQ_INT(seen.mday, 1);
    T_EQ_INT(mine->tm_year, 100);
    T_EQ_INT(mine->tm_yday, 0);
    /* localtime() does not overwrite gmtime()'s result either. */
    local = localtime(&later);
    T_TRUE(local != NULL && local != mine);
    T_EQ_INT(mine->tm_yday, 0);
    /* Each call still gives the time asked for. */
    T_EQ_INT(gmtime(&later)->tm_yday, 40);
}

void suite_http_time(void)
{
    T_RUN(http_time_buffers_are_per_thread_and_per_function);
}
