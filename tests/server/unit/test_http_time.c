/* server/http/http_libc.c: the process's localtime() and gmtime(), one
 * result buffer per thread (Debian's CivetWeb calls them from every worker;
 * glibc's share one buffer between both and every thread), and strftime()
 * and getnameinfo() answering as glibc's do. */
#define _GNU_SOURCE /* RTLD_NEXT */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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

static void http_localtime_gives_a_copy_of_the_time_asked_for(void)
{
    time_t a = 946684800, b = a + 3600;
    struct tm want, *got = localtime(&a);
    T_TRUE(got != NULL && localtime_r(&a, &want) != NULL);
    T_EQ_INT(got->tm_hour, want.tm_hour);
    got->tm_hour = 99; /* the caller's copy: the next call is not changed */
    got = localtime(&a);
    T_EQ_INT(got->tm_hour, want.tm_hour);
    T_TRUE(localtime_r(&b, &want) != NULL);
    got = localtime(&b);
    T_EQ_INT(got->tm_hour, want.tm_hour);
    T_EQ_INT(got->tm_yday, want.tm_yday);
}

typedef size_t strftime_fn(char *, size_t, const char *, const struct tm *);
typedef int getnameinfo_fn(const struct sockaddr *, socklen_t, char *, socklen_t, char *, socklen_t,
                           int);

/* The same text as glibc's strftime() for formats and times in turns, the
 * same result repeated, and a result that does not fit refused each time. */
static void http_strftime_gives_glibc_s_text(void)
{
    static const char *const formats[] = {"%d/%b/%Y:%H:%M:%S %z", "%a, %d %b %Y %H:%M:%S GMT",
                                          "%Y-%m-%d", "%Y-%m-%dT%H:%M:%SZ"};
    void *f = dlsym(RTLD_NEXT, "strftime");
    strftime_fn *glibc;
    char mine[128], theirs[128];
    memcpy(&glibc, &f, sizeof f);
    T_TRUE(f != NULL);
    for (int i = 0; i < 400; i++) {
        time_t t = 946684800 + (time_t)(i / 3) * 86399;
        struct tm tm;
        const char *format = formats[i % 4];
        T_TRUE(gmtime_r(&t, &tm) != NULL);
        size_t n = strftime(mine, sizeof mine, format, &tm);
        size_t m = glibc(theirs, sizeof theirs, format, &tm);
        T_EQ_INT(n, m);
        T_EQ_STR(mine, theirs);
        T_EQ_INT(strftime(mine, sizeof mine, format, &tm), m); /* again: remembered */
        T_EQ_STR(mine, theirs);
        T_EQ_INT(strftime(mine, m, format, &tm), 0); /* no room for the NUL */
        T_EQ_INT(strftime(mine, m + 1, format, &tm), m);
        T_EQ_STR(mine, theirs);
        tm.tm_sec = (tm.tm_sec + 1) % 60; /* one field apart: written again */
        T_EQ_INT(strftime(mine, sizeof mine, format, &tm),
                 glibc(theirs, sizeof theirs, format, &tm));
        T_EQ_STR(mine, theirs);
    }
}

/* Every IPv4 address class as inet_ntop() writes it; other calls as
 * glibc's getnameinfo() answers them. */
static void http_getnameinfo_gives_glibc_s_answers(void)
{
    static const unsigned char quads[][4] = {{0, 0, 0, 0},         {127, 0, 0, 1},
                                             {255, 255, 255, 255}, {10, 9, 99, 100},
                                             {192, 168, 1, 254},   {1, 20, 200, 7}};
    void *g = dlsym(RTLD_NEXT, "getnameinfo");
    getnameinfo_fn *glibc;
    struct sockaddr_in sin;
    struct sockaddr_in6 sin6;
    char mine[64], theirs[64], serv[16], serv2[16];
    memcpy(&glibc, &g, sizeof g);
    T_TRUE(g != NULL);
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_port = htons(8080);
    for (size_t i = 0; i < sizeof quads / sizeof quads[0] + 1000; i++) {
        unsigned char q[4];
        if (i < sizeof quads / sizeof quads[0]) {
            memcpy(q, quads[i], 4);
        } else {
            for (int k = 0; k < 4; k++) {
                q[k] = (unsigned char)((i * 2654435761u) >> (8 * k));
            }
        }
        memcpy(&sin.sin_addr, q, 4);
        T_EQ_INT(getnameinfo((struct sockaddr *)&sin, sizeof sin, mine, sizeof mine, NULL, 0,
                             NI_NUMERICHOST),
                 0);
        T_TRUE(inet_ntop(AF_INET, &sin.sin_addr, theirs, sizeof theirs) != NULL);
        T_EQ_STR(mine, theirs);
    }
    /* No room: glibc's answer. */
    memcpy(&sin.sin_addr, quads[2], 4);
    T_EQ_INT(getnameinfo((struct sockaddr *)&sin, sizeof sin, mine, 15, NULL, 0, NI_NUMERICHOST),
             glibc((struct sockaddr *)&sin, sizeof sin, theirs, 15, NULL, 0, NI_NUMERICHOST));
    T_EQ_INT(getnameinfo((struct sockaddr *)&sin, sizeof sin, mine, 16, NULL, 0, NI_NUMERICHOST),
             0);
    T_EQ_STR(mine, "255.255.255.255");
    /* A short address, a service, another flag, IPv6: glibc's. */
    T_EQ_INT(getnameinfo((struct sockaddr *)&sin, sizeof sin - 1, mine, sizeof mine, NULL, 0,
                         NI_NUMERICHOST),
             glibc((struct sockaddr *)&sin, sizeof sin - 1, theirs, sizeof theirs, NULL, 0,
                   NI_NUMERICHOST));
    T_EQ_INT(getnameinfo((struct sockaddr *)&sin, sizeof sin, mine, sizeof mine, serv, sizeof serv,
                         NI_NUMERICHOST | NI_NUMERICSERV),
             0);
    T_EQ_INT(glibc((struct sockaddr *)&sin, sizeof sin, theirs, sizeof theirs, serv2, sizeof serv2,
                   NI_NUMERICHOST | NI_NUMERICSERV),
             0);
    T_EQ_STR(mine, theirs);
    T_EQ_STR(serv, "8080");
    T_EQ_STR(serv2, "8080");
    T_EQ_INT(getnameinfo((struct sockaddr *)&sin, sizeof sin, mine, sizeof mine, NULL, 0,
                         NI_NUMERICHOST | NI_NAMEREQD),
             glibc((struct sockaddr *)&sin, sizeof sin, theirs, sizeof theirs, NULL, 0,
                   NI_NUMERICHOST | NI_NAMEREQD));
    memset(&sin6, 0, sizeof sin6);
    sin6.sin6_family = AF_INET6;
    sin6.sin6_addr.s6_addr[15] = 1;
    T_EQ_INT(getnameinfo((struct sockaddr *)&sin6, sizeof sin6, mine, sizeof mine, NULL, 0,
                         NI_NUMERICHOST),
             0);
    T_EQ_STR(mine, "::1");
}

void suite_http_time(void)
{
    T_RUN(http_time_buffers_are_per_thread_and_per_function);
    T_RUN(http_localtime_gives_a_copy_of_the_time_asked_for);
    T_RUN(http_strftime_gives_glibc_s_text);
    T_RUN(http_getnameinfo_gives_glibc_s_answers);
}
