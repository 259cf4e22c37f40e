/* The gateway's HTTPS client (libcurl): one kept-alive connection per app
 * to the server's ingestion routes, the app credential as a bearer token,
 * bounded time and bounded replies. Not thread-safe: one per app. */
#ifndef GW_NET_H
#define GW_NET_H

#include <stddef.h>

typedef struct gw_http gw_http;

typedef struct {
    long status; /* HTTP status; 0 when no answer came */
    char *body;  /* the reply, NUL-terminated (caller frees: gw_resp_clear()) */
    size_t len;
    char err[256]; /* why no answer came (connection refused, timeout...) */
    long long retry_after_s; /* the reply's Retry-After (seconds or a date, from
                              * now), 0 when it has none */
} gw_resp;

/* A client of server "base" ("http(s)://host:port", no trailing slash
 * needed). "cacert" (may be NULL) is a PEM file of certificate authorities
 * to trust instead of the system's; "timeout_ms" bounds each request.
 * NULL when out of memory. */
gw_http *gw_http_new(const char *base, const char *cacert, long timeout_ms);

void gw_http_free(gw_http *h);

/* The credential sent as "Authorization: Bearer ..." from now on. */
void gw_http_set_credential(gw_http *h, const char *credential);

/* One request: "method" "path" with "body" ("len" bytes, may be NULL) of
 * "content_type". 0 when the server answered (any status; r->body holds
 * at most GW_REPLY_MAX bytes), -1 when it did not (r->err says why). */
int gw_http_do(gw_http *h, const char *method, const char *path, const char *content_type,
               const char *body, size_t len, gw_resp *r);

void gw_resp_clear(gw_resp *r);

#endif
