/* The running server (srv.h). */
#include "srv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void srv_public_url(const srv *s, char *out, size_t cap)
{
    const char *env = getenv("METRON_PUBLIC_URL");
    if (env != NULL && env[0] != '\0') {
        snprintf(out, cap, "%s", env);
        return;
    }
    if (s == NULL) {
        snprintf(out, cap, "http://localhost");
        return;
    }
    snprintf(out, cap, "%s://%s:%d", s->tls ? "https" : "http",
             strcmp(s->host, "0.0.0.0") == 0 ? "localhost" : s->host, s->port);
}
