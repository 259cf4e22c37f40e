/* Fuzz target for who a request comes from and which origins may read the
 * API (server/base/netaddr.c): the X-Forwarded-For values a client or a
 * proxy sends, the --trusted-proxies and --cors-origins texts an operator
 * writes, and the Origin header. Input: a first byte that picks the part,
 * then the text (for X-Forwarded-For, header values separated by '\n').
 * Never a crash, and every answer keeps its promise:
 *   - the client is the peer unless the peer is a trusted proxy, and is
 *     always an address whose text parses back to itself;
 *   - a parsed list finds its own networks' addresses;
 *   - every parsed origin is lower case, re-parses to itself and is found;
 *     a text with a '/' inside, a '*' or a '@' is never one. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "netaddr.h"

static void check_client(const char *text)
{
    static const char *const peers[] = {"127.0.0.1", "10.1.2.3", "192.0.2.1", "::1"};
    net_list proxies;
    char err[200], out[NET_ADDR_CHARS], copy[4096];
    const char *xff[8];
    int n = 0;
    size_t len = strlen(text);
    if (len >= sizeof copy || net_list_parse("127.0.0.1 10.0.0.0/8 ::1", &proxies, err,
                                             sizeof err) != 0) {
        return;
    }
    memcpy(copy, text, len + 1);
    for (char *p = copy; n < 8 && p != NULL;) {
        char *nl = strchr(p, '\n');
        if (nl != NULL) {
            *nl = '\0';
        }
        xff[n++] = p;
        p = nl != NULL ? nl + 1 : NULL;
    }
    for (size_t i = 0; i < sizeof peers / sizeof peers[0]; i++) {
        bool moved = net_client_addr(&proxies, peers[i], xff, n, out, sizeof out);
        bool trusted = net_list_has(&proxies, peers[i]);
        net_list one;
        if (!trusted && (moved || strcmp(out, peers[i]) != 0)) {
            abort(); /* a header from a client that is not a proxy was read */
        }
        if (!moved && strcmp(out, peers[i]) != 0) {
            abort();
        }
        /* the answer is an address: it parses, and a list of it holds it */
        if (net_list_parse(out, &one, err, sizeof err) != 0 || one.n != 1 ||
            !net_list_has(&one, out)) {
            abort();
        }
    }
}

static void check_list(const char *text)
{
    net_list l;
    char err[200];
    if (net_list_parse(text, &l, err, sizeof err) != 0) {
        if (err[0] == '\0') {
            abort();
        }
        return;
    }
    if (l.n < 0 || l.n > NET_MAX_NETS) {
        abort();
    }
    for (int i = 0; i < l.n; i++) {
        if (l.net[i].bits > (l.net[i].v6 ? 128 : 32)) {
            abort();
        }
    }
}

static void check_origins(const char *text)
{
    origin_list l, again;
    char err[200];
    if (origin_list_parse(text, &l, err, sizeof err) != 0) {
        if (strstr(err, "origin") == NULL) {
            abort();
        }
        return;
    }
    for (int i = 0; i < l.n; i++) {
        const char *o = l.origin[i], *host = strstr(o, "://");
        if (host == NULL || strchr(host + 3, '/') != NULL || strpbrk(o, "*@?#") != NULL) {
            abort();
        }
        for (const char *c = o; *c != '\0'; c++) {
            if (*c >= 'A' && *c <= 'Z') {
                abort();
            }
        }
        if (origin_list_find(&l, o) == NULL || origin_list_parse(o, &again, err, sizeof err) != 0 ||
            again.n != 1 || strcmp(again.origin[0], o) != 0) {
            abort();
        }
    }
    /* the text itself as an Origin header: found only if it is listed */
    {
        const char *f = origin_list_find(&l, text);
        if (f != NULL && strcasecmp(f, text) != 0) {
            abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text;
    if (size == 0 || size > 8192) {
        return 0;
    }
    text = malloc(size);
    if (text == NULL) {
        return 0;
    }
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    switch (data[0] % 3) {
    case 0: check_client(text); break;
    case 1: check_list(text); break;
    default: check_origins(text); break;
    }
    free(text);
    return 0;
}
