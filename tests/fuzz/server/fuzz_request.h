/* What the fuzz targets of the server's HTTP input share: a request as the
 * handlers see it, without a connection (their replies are built and
 * dropped), and the fuzzer's bytes as a text. Header only: each target is
 * built from its own source file. */
#ifndef MTS_FUZZ_REQUEST_H
#define MTS_FUZZ_REQUEST_H

#include <cjson/cJSON.h>
#include <civetweb.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

/* A fresh request "method" /api/v1/fuzz from 127.0.0.1 with query string
 * "qs" (may be NULL) and JSON body "body" (may be NULL). */
static inline void fuzz_request(http_req *req, srv *s, struct mg_request_info *ri,
                                const char *method, const char *qs, cJSON *body)
{
    memset(req, 0, sizeof *req);
    memset(ri, 0, sizeof *ri);
    ri->request_method = method;
    ri->request_uri = "/api/v1/fuzz";
    ri->local_uri = "/api/v1/fuzz";
    ri->http_version = "1.1";
    strcpy(ri->remote_addr, "127.0.0.1");
    ri->query_string = qs;
    req->ri = ri;
    req->srv = s;
    req->body = body;
}

/* "data" as a NUL-terminated text (caller frees), or NULL when it is larger
 * than a request body may be (1 MiB) or memory runs out. */
static inline char *fuzz_text(const uint8_t *data, size_t size)
{
    char *text;
    if (size > (1u << 20) || (text = malloc(size + 1)) == NULL) {
        return NULL;
    }
    memcpy(text, data, size);
    text[size] = '\0';
    return text;
}

#endif
