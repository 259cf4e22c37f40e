/* Webhook POSTs (webhook.h). */
#define _POSIX_C_SOURCE 200809L
#include "webhook.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

struct webhook_client {
    CURL *curl;
    bool allow_local;
    const char *ca_file;
    bool refused; /* set by open_socket() for the current request */
};

webhook_client *webhook_client_new(bool allow_local, const char *ca_file)
{
    webhook_client *w = calloc(1, sizeof *w);
    if (w == NULL) {
        return NULL;
    }
    w->curl = curl_easy_init();
    if (w->curl == NULL) {
        free(w);
        return NULL;
    }
    w->allow_local = allow_local;
    w->ca_file = ca_file;
    return w;
}

void webhook_client_free(webhook_client *w)
{
    if (w != NULL) {
        curl_easy_cleanup(w->curl);
        free(w);
    }
}

/* Loopback, link-local (cloud metadata at 169.254.169.254), unspecified,
 * multicast and broadcast addresses, also as IPv4-mapped IPv6. */
static bool address_forbidden(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        unsigned a = ntohl(((const struct sockaddr_in *)(const void *)sa)->sin_addr.s_addr);
        return (a >> 24) == 127 || (a >> 24) == 0 || (a >> 16) == 0xa9fe ||
               (a >> 28) == 0xe || a == 0xffffffffu;
    }
    if (sa->sa_family == AF_INET6) {
        const unsigned char *b = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr;
        static const unsigned char zero[16] = {0};
        static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(b, zero, 15) == 0 && (b[15] == 0 || b[15] == 1)) {
            return true; /* :: and ::1 */
        }
        if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) {
            return true; /* fe80::/10 */
        }
        if (b[0] == 0xff) {
            return true; /* multicast */
        }
        if (memcmp(b, mapped, 12) == 0) {
            struct sockaddr_in v4;
            memset(&v4, 0, sizeof v4);
            v4.sin_family = AF_INET;
            memcpy(&v4.sin_addr, b + 12, 4);
            return address_forbidden((const struct sockaddr *)(const void *)&v4);
        }
        return false;
    }
    return true;
}

/* libcurl asks for each socket with the address it resolved: refusing
 * here covers every name, redirect-free, and DNS answers that change. */
static curl_socket_t open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *addr)
{
    webhook_client *w = arg;
    (void)purpose;
    if (!w->allow_local && address_forbidden(&addr->addr)) {
        w->refused = true;
        return CURL_SOCKET_BAD;
    }
    return socket(addr->family, addr->socktype, addr->protocol);
}

static size_t body_cb(char *ptr, size_t size, size_t n, void *arg)
{
    webhook_answer *a = arg;
    size_t len = size * n, room = sizeof a->body - 1 - a->body_len;
    size_t k = len < room ? len : room;
    memcpy(a->body + a->body_len, ptr, k);
    a->body_len += k;
    a->body[a->body_len] = '\0';
    return len; /* the rest is read and dropped */
}

static size_t header_cb(char *ptr, size_t size, size_t n, void *arg)
{
    webhook_answer *a = arg;
    size_t len = size * n;
    if (len > 12 && strncasecmp(ptr, "Retry-After:", 12) == 0) {
        size_t start = 12, end = len;
        while (start < end && (ptr[start] == ' ' || ptr[start] == '\t')) {
            start++;
        }
        while (end > start && (ptr[end - 1] == '\r' || ptr[end - 1] == '\n' ||
                               ptr[end - 1] == ' ')) {
            end--;
        }
        if (end - start < sizeof a->retry_after) {
            memcpy(a->retry_after, ptr + start, end - start);
            a->retry_after[end - start] = '\0';
        }
    }
    return len;
}

int webhook_post(webhook_client *w, const char *url, const char *json, const char *delivery,
                 long long attempt, long timeout_ms, webhook_answer *a)
{
    CURL *h = w->curl;
    struct curl_slist *hdr = NULL;
    char line[128], curl_err[CURL_ERROR_SIZE];
    CURLcode cc;
    struct timespec t0, t1;
    int rc = -1;

    memset(a, 0, sizeof *a);
    curl_err[0] = '\0';
    w->refused = false;
    hdr = curl_slist_append(hdr, "Content-Type: application/json; charset=utf-8");
    hdr = hdr ? curl_slist_append(hdr, "Accept: application/json, text/plain, */*") : NULL;
    hdr = hdr ? curl_slist_append(hdr, "Expect:") : NULL; /* no 100-continue round trip */
    snprintf(line, sizeof line, "X-Metron-Delivery: %s", delivery);
    hdr = hdr ? curl_slist_append(hdr, line) : NULL;
    snprintf(line, sizeof line, "X-Metron-Attempt: %lld", attempt);
    hdr = hdr ? curl_slist_append(hdr, line) : NULL;
    if (hdr == NULL) {
        snprintf(a->error, sizeof a->error, "out of memory");
        return -1;
    }
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    /* One POST per attempt, never more: on a reused connection that dies
     * before the answer, libcurl would send the request again by itself,
     * and the receiver may have acted on the first one. A new connection
     * for each attempt removes that hidden repeat (X-Metron-Attempt then
     * counts every POST a receiver sees). */
    curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, json);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(json));
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "Metron");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, body_cb);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, a);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, a);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, open_socket);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, w);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curl_err);
    /* https: the peer's certificate and name are always checked. */
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    if (w->ca_file != NULL) {
        curl_easy_setopt(h, CURLOPT_CAINFO, w->ca_file);
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    cc = curl_easy_perform(h);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    a->ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    if (cc == CURLE_OK) {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &a->status);
        rc = 0;
    } else {
        a->timed_out = cc == CURLE_OPERATION_TIMEDOUT;
        a->refused_address = w->refused;
        if (w->refused) {
            snprintf(a->error, sizeof a->error,
                     "the webhook's host is a loopback or link-local address, which Metron does "
                     "not call");
        } else {
            snprintf(a->error, sizeof a->error, "%.60s%s%.160s", curl_easy_strerror(cc),
                     curl_err[0] ? ": " : "", curl_err);
        }
    }
    /* The header list must not outlive this call. */
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(hdr);
    return rc;
}
