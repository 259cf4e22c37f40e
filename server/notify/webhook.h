/* One HTTPS (or HTTP) POST of a JSON body to a webhook with libcurl, for
 * the outbox's senders. */
#ifndef MTS_WEBHOOK_H
#define MTS_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>

/* What came back. */
typedef struct {
    long status;             /* HTTP status; 0 = no answer */
    char body[501];          /* the first 500 bytes of the answer's body, NUL-terminated */
    size_t body_len;
    char retry_after[64];    /* the Retry-After header's value, "" when none */
    bool timed_out;
    bool refused_address;    /* the URL's host resolved to an address we may not call */
    char error[240];         /* libcurl's reason when status is 0 */
    double ms;               /* wall time of the request */
} webhook_answer;

/* A sender's HTTP client (a libcurl handle and its DNS cache): one per
 * thread (libcurl handles are not shared between threads). */
typedef struct webhook_client webhook_client;

/* "ca_file": CA certificates to check receivers' TLS certificates against
 * (borrowed; NULL = the system's). */
webhook_client *webhook_client_new(bool allow_local, const char *ca_file);
void webhook_client_free(webhook_client *w);

/* POST "json" to "url" with Content-Type application/json and the headers
 * X-Metron-Delivery: "delivery", X-Metron-Attempt: "attempt" and
 * User-Agent: Metron, within "timeout_ms" (connect within the same bound).
 * Only http and https, no redirects followed; unless the client allows
 * local addresses, a host that resolves to a loopback, link-local,
 * unspecified or multicast address is not connected to. Fills "a";
 * returns 0 when an HTTP answer came (any status), -1 otherwise. */
int webhook_post(webhook_client *w, const char *url, const char *json, const char *delivery,
                 long long attempt, long timeout_ms, webhook_answer *a);

#endif
