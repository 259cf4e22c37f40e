/* The running server (srv.h). */
#include "srv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "waitword.h"

void srv_public_url(const srv *s, char *out, size_t cap)
{
    const char *env = getenv("METRON_PUBLIC_URL");
    if (env != NULL && env[0] != '\0') {
        snprintf(out, cap, "%s", env);
        return;
    }
    const char *host;
    int port;
    if (s == NULL) {
        snprintf(out, cap, "http://localhost");
        return;
    }
    /* The word is the server's, not this caller's: waitword_wait() may mark
     * it as slept on (waitword.c), nothing else. */
    waitword_wait((atomic_int *)&s->port_published);
    port = atomic_load(&s->port);
    host = strcmp(s->host, "0.0.0.0") == 0 ? "localhost" : s->host;
    if (port > 0) {
        snprintf(out, cap, "%s://%s:%d", s->tls ? "https" : "http", host, port);
    } else {
        snprintf(out, cap, "%s://%s", s->tls ? "https" : "http", host);
    }
}

void srv_publish_port(srv *s)
{
    if (atomic_load(&s->port_published) != 1) { /* 0, or waited on: not set */
        waitword_set(&s->port_published);
    }
}
