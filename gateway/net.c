/* The gateway's HTTPS client (see net.h). */
#include "net.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reply.h"

struct gw_http {
    CURL *curl;
    char base[600];
    char auth[128]; /* "Authorization: Bearer mta_..." */
    char cacert[600];
    long timeout_ms;
};

typedef struct {
    char *buf;
    size_t len, cap;
    int too_large;
} sink;

static size_t on_data(char *data, size_t size, size_t nmemb, void *arg)
{
    sink *s = arg;
    size_t n = size * nmemb;
    if (s->len + n > GW_REPLY_MAX) {
        s->too_large = 1;
        return 0; /* stop: the answer is larger than anything the gateway reads */
    }
    if (s->len + n + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        char *b;
        while (cap < s->len + n + 1) {
            cap *= 2;
        }
        b = realloc(s->buf, cap);
        if (b == NULL) {
            return 0;
        }
        s->buf = b;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, data, n);
    s->len += n;
    s->buf[s->len] = '\0';
    return n;
}

gw_http *gw_http_new(const char *base, const char *cacert, long timeout_ms)
{
    gw_http *h = calloc(1, sizeof *h);
    size_t n;
    if (h == NULL) {
        return NULL;
    }
    h->curl = curl_easy_init();
    if (h->curl == NULL) {
        free(h);
        return NULL;
    }
    snprintf(h->base, sizeof h->base, "%s", base);
    n = strlen(h->base);
    while (n > 0 && h->base[n - 1] == '/') {
        h->base[--n] = '\0';
    }
    if (cacert != NULL) {
        snprintf(h->cacert, sizeof h->cacert, "%s", cacert);
    }
    h->timeout_ms = timeout_ms;
    return h;
}

void gw_http_free(gw_http *h)
{
    if (h != NULL) {
        curl_easy_cleanup(h->curl);
        memset(h->auth, 0, sizeof h->auth);
        free(h);
    }
}

void gw_http_set_credential(gw_http *h, const char *credential)
{
    snprintf(h->auth, sizeof h->auth, "Authorization: Bearer %.90s", credential);
}

void gw_resp_clear(gw_resp *r)
{
    free(r->body);
    memset(r, 0, sizeof *r);
}

int gw_http_do(gw_http *h, const char *method, const char *path, const char *content_type,
               const char *body, size_t len, gw_resp *r)
{
    char url[1200], ct[128];
    struct curl_slist *hdr = NULL;
    sink s = {NULL, 0, 0, 0};
    CURLcode cc;
    CURL *c = h->curl;

    memset(r, 0, sizeof *r);
    snprintf(url, sizeof url, "%s%s", h->base, path);
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, h->timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, h->timeout_ms < 5000 ? h->timeout_ms : 5000L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(c, CURLOPT_USERAGENT, "metron-gateway/1");
    if (h->cacert[0] != '\0') {
        curl_easy_setopt(c, CURLOPT_CAINFO, h->cacert);
    }
    if (h->auth[0] != '\0') {
        hdr = curl_slist_append(hdr, h->auth);
    }
    /* No "Expect: 100-continue" round trip before large batches. */
    hdr = curl_slist_append(hdr, "Expect:");
    if (body != NULL) {
        snprintf(ct, sizeof ct, "Content-Type: %s", content_type);
        hdr = curl_slist_append(hdr, ct);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    cc = curl_easy_perform(c);
    curl_slist_free_all(hdr);
    if (cc != CURLE_OK) {
        snprintf(r->err, sizeof r->err, "%s%s", curl_easy_strerror(cc),
                 s.too_large ? " (the reply is too large)" : "");
        free(s.buf);
        return -1;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    {
        /* libcurl reads both forms (delta-seconds, HTTP-date) and bounds
         * the number; a date in the past or garbage gives 0. */
        curl_off_t ra = 0;
        if (curl_easy_getinfo(c, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra > 0) {
            r->retry_after_s = (long long)ra;
        }
    }
    if (s.buf == NULL) {
        s.buf = calloc(1, 1);
        if (s.buf == NULL) {
            snprintf(r->err, sizeof r->err, "out of memory");
            return -1;
        }
    }
    r->body = s.buf;
    r->len = s.len;
    return 0;
}
