/* Trusted proxies, the client's address behind them, allowed CORS origins
 * (netaddr.h). */
#define _POSIX_C_SOURCE 200809L
#include "netaddr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* One address of text s[0..len) into a (16 bytes; IPv4 in the first 4):
 * plain IPv4 or IPv6, and with "ports" also "[v6]", "[v6]:port" and
 * "v4:port". An IPv4-mapped IPv6 address becomes IPv4. false when it is
 * none of these. */
static bool addr_of(const char *s, size_t len, bool ports, unsigned char *a, bool *v6)
{
    char buf[NET_ADDR_CHARS + 8];
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (len == 0 || len >= sizeof buf) {
        return false;
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (ports && buf[0] == '[') {
        char *close = strchr(buf, ']');
        if (close == NULL || (close[1] != '\0' && close[1] != ':')) {
            return false;
        }
        if (close[1] == ':') {
            const char *p = close + 2;
            if (*p == '\0' || strspn(p, "0123456789") != strlen(p) || strlen(p) > 5) {
                return false;
            }
        }
        *close = '\0';
        memmove(buf, buf + 1, strlen(buf + 1) + 1);
    } else if (ports) {
        char *colon = strchr(buf, ':');
        if (colon != NULL && strchr(colon + 1, ':') == NULL) { /* one colon: v4:port */
            const char *p = colon + 1;
            if (*p == '\0' || strspn(p, "0123456789") != strlen(p) || strlen(p) > 5) {
                return false;
            }
            *colon = '\0';
        }
    }
    memset(a, 0, 16);
    if (inet_pton(AF_INET, buf, a) == 1) {
        *v6 = false;
        return true;
    }
    if (inet_pton(AF_INET6, buf, a) == 1) {
        *v6 = true;
        if (memcmp(a, mapped, sizeof mapped) == 0) {
            memmove(a, a + 12, 4);
            memset(a + 4, 0, 12);
            *v6 = false;
        }
        return true;
    }
    return false;
}

static bool in_net(const net_cidr *n, const unsigned char *a, bool v6)
{
    int bits = n->bits, i = 0;
    if (n->v6 != v6) {
        return false;
    }
    for (; bits >= 8; bits -= 8, i++) {
        if (a[i] != n->addr[i]) {
            return false;
        }
    }
    if (bits > 0) {
        unsigned char mask = (unsigned char)(0xff << (8 - bits));
        return (a[i] & mask) == (n->addr[i] & mask);
    }
    return true;
}

static bool list_has(const net_list *l, const unsigned char *a, bool v6)
{
    for (int i = 0; i < l->n; i++) {
        if (in_net(&l->net[i], a, v6)) {
            return true;
        }
    }
    return false;
}

/* The next entry of a list separated by commas and blanks: *s advanced
 * past it; its start and length, or false at the end. */
static bool next_entry(const char **s, const char **start, size_t *len)
{
    const char *p = *s;
    while (*p == ',' || *p == ' ' || *p == '\t' || *p == '\n') {
        p++;
    }
    if (*p == '\0') {
        *s = p;
        return false;
    }
    *start = p;
    while (*p != '\0' && *p != ',' && *p != ' ' && *p != '\t' && *p != '\n') {
        p++;
    }
    *len = (size_t)(p - *start);
    *s = p;
    return true;
}

int net_list_parse(const char *text, net_list *out, char *err, size_t err_cap)
{
    const char *p = text != NULL ? text : "", *e;
    size_t len;
    memset(out, 0, sizeof *out);
    while (next_entry(&p, &e, &len)) {
        const char *slash = memchr(e, '/', len);
        size_t alen = slash != NULL ? (size_t)(slash - e) : len;
        net_cidr *n;
        long bits = -1;
        if (out->n == NET_MAX_NETS) {
            snprintf(err, err_cap, "more than %d addresses or networks", NET_MAX_NETS);
            return -1;
        }
        n = &out->net[out->n];
        if (!addr_of(e, alen, false, n->addr, &n->v6)) {
            snprintf(err, err_cap, "'%.*s' is not an IPv4 or IPv6 address or network",
                     (int)(len > 60 ? 60 : len), e);
            return -1;
        }
        if (slash != NULL) {
            const char *b = slash + 1;
            size_t blen = len - alen - 1;
            bits = 0;
            if (blen == 0 || blen > 3 || strspn(b, "0123456789") < blen) {
                bits = -2;
            }
            for (size_t i = 0; bits >= 0 && i < blen; i++) {
                bits = bits * 10 + (b[i] - '0');
            }
            /* A mapped IPv6 network ::ffff:a.b.c.d/n counts as IPv4 /n-96. */
            if (bits >= 0 && !n->v6 && memchr(e, ':', alen) != NULL) {
                bits = bits >= 96 ? bits - 96 : -2;
            }
            if (bits < 0 || bits > (n->v6 ? 128 : 32)) {
                snprintf(err, err_cap, "'%.*s': the prefix length is not 0..%d",
                         (int)(len > 60 ? 60 : len), e, n->v6 ? 128 : 32);
                return -1;
            }
        }
        n->bits = (unsigned char)(bits >= 0 ? bits : (n->v6 ? 128 : 32));
        out->n++;
    }
    return 0;
}

bool net_list_has(const net_list *l, const char *ip)
{
    unsigned char a[16];
    bool v6;
    return ip != NULL && addr_of(ip, strlen(ip), false, a, &v6) && list_has(l, a, v6);
}

/* The last entry of v[0..*end) (blanks trimmed): its start and length, *end
 * moved before its comma; false when none is left. */
static bool last_entry(const char *v, size_t *end, const char **start, size_t *len)
{
    size_t e = *end, b;
    while (e > 0 && (v[e - 1] == ' ' || v[e - 1] == '\t' || v[e - 1] == ',')) {
        e--;
    }
    if (e == 0) {
        *end = 0;
        return false;
    }
    b = e;
    while (b > 0 && v[b - 1] != ',') {
        b--;
    }
    *end = b;
    while (b < e && (v[b] == ' ' || v[b] == '\t')) {
        b++;
    }
    *start = v + b;
    *len = e - b;
    return true;
}

static void addr_text(const unsigned char *a, bool v6, char *out, size_t cap)
{
    if (inet_ntop(v6 ? AF_INET6 : AF_INET, a, out, (socklen_t)cap) == NULL && cap > 0) {
        out[0] = '\0';
    }
}

bool net_client_addr(const net_list *proxies, const char *peer, const char *const *xff, int n_xff,
                     char *out, size_t cap)
{
    unsigned char a[16];
    bool v6, moved = false;
    int hops = 0;

    snprintf(out, cap, "%s", peer != NULL ? peer : "");
    if (peer == NULL || proxies->n == 0 || !addr_of(peer, strlen(peer), false, a, &v6) ||
        !list_has(proxies, a, v6)) {
        return false; /* not from a trusted proxy: the header is the client's text */
    }
    for (int h = n_xff - 1; h >= 0; h--) {
        const char *v = xff[h], *e;
        size_t end = v != NULL ? strlen(v) : 0, len;
        while (last_entry(v, &end, &e, &len)) {
            unsigned char b[16];
            bool b6;
            if (++hops > NET_MAX_HOPS || !addr_of(e, len, true, b, &b6)) {
                return moved; /* garbled: the proxy that added it is the last one known */
            }
            memcpy(a, b, sizeof a);
            v6 = b6;
            addr_text(a, v6, out, cap);
            moved = true;
            if (!list_has(proxies, a, v6)) {
                return true;
            }
        }
    }
    return moved;
}

/* Whether s[0..len) is a host name of letters, digits, '.' and '-', or an
 * IPv6 address in brackets. */
static bool host_ok(const char *s, size_t len)
{
    if (len == 0) {
        return false;
    }
    if (s[0] == '[') {
        unsigned char a[16];
        bool v6;
        return len > 2 && s[len - 1] == ']' && addr_of(s + 1, len - 2, false, a, &v6) && v6;
    }
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-')) {
            return false;
        }
    }
    return s[0] != '.' && s[0] != '-' && s[len - 1] != '.';
}

int origin_list_parse(const char *text, origin_list *out, char *err, size_t err_cap)
{
    const char *p = text != NULL ? text : "", *e;
    size_t len;
    memset(out, 0, sizeof *out);
    while (next_entry(&p, &e, &len)) {
        size_t scheme_len, hlen;
        const char *host, *port = NULL;
        char *o;
        long port_no = 0;
        bool https;
        int w;
        if (out->n == NET_MAX_ORIGINS) {
            snprintf(err, err_cap, "more than %d origins", NET_MAX_ORIGINS);
            return -1;
        }
        if (len > 7 && strncasecmp(e, "http://", 7) == 0) {
            scheme_len = 7;
            https = false;
        } else if (len > 8 && strncasecmp(e, "https://", 8) == 0) {
            scheme_len = 8;
            https = true;
        } else {
            goto bad;
        }
        if (e[len - 1] == '/') {
            len--;
        }
        host = e + scheme_len;
        hlen = len - scheme_len;
        if (hlen == 0 || memchr(host, '/', hlen) != NULL) {
            goto bad;
        }
        {
            /* the port: after the last ':' that is not inside brackets */
            const char *close = memchr(host, ']', hlen);
            const char *from = close != NULL ? close : host;
            const char *colon = memchr(from, ':', hlen - (size_t)(from - host));
            if (colon != NULL) {
                port = colon + 1;
                hlen = (size_t)(colon - host);
            }
        }
        if (!host_ok(host, hlen)) {
            goto bad;
        }
        if (port != NULL) {
            size_t plen = len - (size_t)(port - e);
            if (plen == 0 || plen > 5) {
                goto bad;
            }
            for (size_t i = 0; i < plen; i++) {
                if (port[i] < '0' || port[i] > '9') {
                    goto bad;
                }
                port_no = port_no * 10 + (port[i] - '0');
            }
            if (port_no < 1 || port_no > 65535) {
                goto bad;
            }
            if (port_no == (https ? 443 : 80)) {
                port_no = 0;
            }
        }
        o = out->origin[out->n];
        if (port_no > 0) {
            w = snprintf(o, NET_ORIGIN_CHARS, "%s://%.*s:%ld", https ? "https" : "http", (int)hlen,
                         host, port_no);
        } else {
            w = snprintf(o, NET_ORIGIN_CHARS, "%s://%.*s", https ? "https" : "http", (int)hlen,
                         host);
        }
        if (w < 0 || w >= NET_ORIGIN_CHARS) {
            goto bad;
        }
        for (char *c = o; *c != '\0'; c++) {
            if (*c >= 'A' && *c <= 'Z') {
                *c = (char)(*c - 'A' + 'a');
            }
        }
        out->n++;
        continue;
    bad:
        snprintf(err, err_cap,
                 "'%.*s' is not an origin: expected http(s)://host[:port], without a path",
                 (int)(len > 60 ? 60 : len), e);
        return -1;
    }
    return 0;
}

const char *origin_list_find(const origin_list *l, const char *origin)
{
    if (origin == NULL) {
        return NULL;
    }
    for (int i = 0; i < l->n; i++) {
        if (strcasecmp(l->origin[i], origin) == 0) {
            return l->origin[i];
        }
    }
    return NULL;
}
