/* Who a request comes from and which other origins may read the API
 * (docs/deploy.md):
 *
 *  - net_list: the reverse proxies the server trusts (--trusted-proxies),
 *    IPv4/IPv6 addresses and CIDR networks;
 *  - net_client_addr(): the client's address from the connection's peer and
 *    the X-Forwarded-For values, believed only as far as the hops that
 *    reached the server are trusted proxies (read from the right, like
 *    nginx's real_ip_recursive): a client that is not a trusted proxy can
 *    put anything in the header, and nothing of it is read;
 *  - origin_list: the portal origins allowed to call the API from another
 *    origin (--cors-origins), exact "scheme://host[:port]" strings.
 *
 * No allocation, no recursion; every input is bounded. */
#ifndef MTS_NETADDR_H
#define MTS_NETADDR_H

#include <stdbool.h>
#include <stddef.h>

#define NET_MAX_NETS 64      /* networks in one list */
#define NET_MAX_HOPS 32      /* X-Forwarded-For entries read at most */
#define NET_ADDR_CHARS 48    /* the text of any address with its NUL (CivetWeb's remote_addr[48]) */
#define NET_MAX_ORIGINS 16   /* allowed portal origins */
#define NET_ORIGIN_CHARS 256 /* one origin's text, with its NUL */

typedef struct {
    unsigned char addr[16]; /* IPv4 in the first 4 bytes */
    unsigned char bits;     /* prefix length: 0..32 (IPv4), 0..128 (IPv6) */
    bool v6;
} net_cidr;

typedef struct {
    net_cidr net[NET_MAX_NETS];
    int n;
} net_list;

typedef struct {
    char origin[NET_MAX_ORIGINS][NET_ORIGIN_CHARS]; /* lower case, no default port, no '/' */
    int n;
} origin_list;

/* Parse "10.0.0.1, 192.0.2.0/24 ::1" (addresses or networks, separated by
 * commas and/or blanks; an empty text is an empty list) into "out". An
 * IPv4-mapped IPv6 address counts as its IPv4 address. Returns 0, or -1
 * with "err" naming the first bad entry. */
int net_list_parse(const char *text, net_list *out, char *err, size_t err_cap);

/* Whether the address text "ip" (IPv4 or IPv6) is inside one of the
 * networks of "l". Text that is not an address is in none. */
bool net_list_has(const net_list *l, const char *ip);

/* The client's address of a request whose connection comes from "peer",
 * written to out[cap] as text (cap >= NET_ADDR_CHARS). "xff" holds the
 * values of the request's X-Forwarded-For headers in the order received
 * (n_xff of them, entries separated by commas). While the hop looked at is
 * a trusted proxy, the entry to its left is the hop before it; the first
 * hop that is not a trusted proxy is the client. An entry that is not an
 * address (IPv4, IPv6, "[v6]", either with ":port") ends the walk at the
 * proxy that sent it, and so does the end of the header (every hop was a
 * proxy: the leftmost is the client), or NET_MAX_HOPS entries. Returns true
 * when the address came from the header (it differs from "peer"). */
bool net_client_addr(const net_list *proxies, const char *peer, const char *const *xff, int n_xff,
                     char *out, size_t cap);

/* Parse "https://portal.example.com, http://127.0.0.1:8081" (separated by
 * commas and/or blanks) into "out": each an http or https origin, host of
 * letters, digits, '.', '-' (or an IPv6 address in brackets), an optional
 * port 1..65535 (the scheme's default port is dropped, as browsers send
 * it), at most one trailing '/', no user, path, query or wildcard. Scheme
 * and host are kept in lower case. Returns 0, or -1 with "err" naming the
 * first bad entry. */
int origin_list_parse(const char *text, origin_list *out, char *err, size_t err_cap);

/* The entry of "l" equal (ignoring case) to the Origin header value
 * "origin", or NULL ("null", NULL, or any other origin). */
const char *origin_list_find(const origin_list *l, const char *origin);

#endif
