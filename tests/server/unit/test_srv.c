/* server/base/srv.c: the public URL of links in mails and reports never
 * says port 0 (docs/server-code.md, "srv.host, srv.tls and srv.port"). */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "srv.h"
#include "t.h"

typedef struct {
    srv *s;
    atomic_int started;
    atomic_int done;
    char url[300];
} url_builder;

/* A thread that builds a link, as the jobs, the outbox or the report
 * worker do while main() has not started CivetWeb yet. */
static void *build_link(void *arg)
{
    url_builder *b = arg;
    atomic_store(&b->started, 1);
    srv_public_url(b->s, b->url, sizeof b->url);
    atomic_store(&b->done, 1);
    return NULL;
}

static void srv_url_waits_until_the_port_is_published(void)
{
    static srv s;
    url_builder b;
    pthread_t th;
    memset(&b, 0, sizeof b);
    b.s = &s;
    snprintf(s.host, sizeof s.host, "0.0.0.0");
    unsetenv("METRON_PUBLIC_URL");
    T_EQ_INT(pthread_create(&th, NULL, build_link, &b), 0);
    while (atomic_load(&b.started) == 0) {
        sched_yield();
    }
    for (int i = 0; i < 1000; i++) {
        sched_yield();
    }
    /* Before the port is known the link is not built (it said port 0). */
    T_EQ_INT(atomic_load(&b.done), 0);
    atomic_store(&s.port, 8123); /* what http_start() does */
    srv_publish_port(&s);
    pthread_join(th, NULL);
    T_EQ_STR(b.url, "http://localhost:8123");
}

static void srv_url_after_a_failed_start_has_no_port(void)
{
    static srv s;
    char url[300];
    snprintf(s.host, sizeof s.host, "127.0.0.1");
    s.tls = true;
    unsetenv("METRON_PUBLIC_URL");
    srv_publish_port(&s); /* main()'s out: label: CivetWeb never listened */
    srv_public_url(&s, url, sizeof url);
    T_EQ_STR(url, "https://127.0.0.1");
    srv_publish_port(&s); /* idempotent */
    srv_public_url(&s, url, sizeof url);
    T_EQ_STR(url, "https://127.0.0.1");
}

static void srv_url_from_the_environment_does_not_wait(void)
{
    static srv s; /* never published */
    char url[300];
    setenv("METRON_PUBLIC_URL", "https://metron.example", 1);
    srv_public_url(&s, url, sizeof url);
    unsetenv("METRON_PUBLIC_URL");
    T_EQ_STR(url, "https://metron.example");
    srv_public_url(NULL, url, sizeof url);
    T_EQ_STR(url, "http://localhost");
}

void suite_srv(void)
{
    T_RUN(srv_url_waits_until_the_port_is_published);
    T_RUN(srv_url_after_a_failed_start_has_no_port);
    T_RUN(srv_url_from_the_environment_does_not_wait);
}
