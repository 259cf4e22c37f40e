/* server/base/netaddr.c: the trusted proxies, the client's address behind
 * them (X-Forwarded-For read from the right) and the allowed CORS origins. */
#include <string.h>

#include "netaddr.h"
#include "t.h"

static void netaddr_lists_take_addresses_and_networks(void)
{
    net_list l;
    char err[200];
    T_EQ_INT(net_list_parse("127.0.0.1, 10.0.0.0/8 192.0.2.128/25,::1 2001:db8::/32", &l, err,
                            sizeof err),
             0);
    T_EQ_INT(l.n, 5);
    T_TRUE(net_list_has(&l, "127.0.0.1"));
    T_TRUE(!net_list_has(&l, "127.0.0.2"));
    T_TRUE(net_list_has(&l, "10.200.3.4"));
    T_TRUE(net_list_has(&l, "192.0.2.200"));
    T_TRUE(!net_list_has(&l, "192.0.2.127"));
    T_TRUE(net_list_has(&l, "::1"));
    T_TRUE(net_list_has(&l, "2001:db8:ffff::9"));
    T_TRUE(!net_list_has(&l, "2001:db9::1"));
    T_TRUE(net_list_has(&l, "::ffff:127.0.0.1")); /* mapped IPv4 is IPv4 */
    T_TRUE(!net_list_has(&l, "localhost"));
    T_TRUE(!net_list_has(&l, NULL));
    T_EQ_INT(net_list_parse("", &l, err, sizeof err), 0);
    T_EQ_INT(l.n, 0);
    T_TRUE(!net_list_has(&l, "127.0.0.1"));
    T_EQ_INT(net_list_parse("0.0.0.0/0", &l, err, sizeof err), 0);
    T_TRUE(net_list_has(&l, "203.0.113.9"));
    T_TRUE(!net_list_has(&l, "::1"));
}

static void netaddr_lists_refuse_what_is_not_an_address(void)
{
    static const char *const bad[] = {"localhost", "10.0.0.0/33", "10.0.0.0/", "10.0.0.0/x",
                                      "::1/129",   "1.2.3",       "10.0.0.1:80", "[::1]",
                                      "10.0.0.0/8/8"};
    net_list l;
    char err[200];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        T_EQ_INT(net_list_parse(bad[i], &l, err, sizeof err), -1);
        T_TRUE(err[0] == '\'');
    }
}

/* The client of a request from "peer" with the X-Forwarded-For values xff. */
static const char *client(const char *proxies, const char *peer, const char *x1, const char *x2)
{
    static char out[NET_ADDR_CHARS];
    net_list l;
    char err[200];
    const char *xff[2] = {x1, x2};
    if (net_list_parse(proxies, &l, err, sizeof err) != 0) {
        return "(bad list)";
    }
    net_client_addr(&l, peer, xff, x2 != NULL ? 2 : (x1 != NULL ? 1 : 0), out, sizeof out);
    return out;
}

static void netaddr_client_is_read_only_from_trusted_proxies(void)
{
    /* No proxy configured, or a peer that is not one: the header is ignored. */
    T_TRUE(strcmp(client("", "127.0.0.9", "203.0.113.7", NULL), "127.0.0.9") == 0);
    T_TRUE(strcmp(client("127.0.0.1", "127.0.0.9", "203.0.113.7", NULL), "127.0.0.9") == 0);
    /* From the proxy: the hop before it. */
    T_TRUE(strcmp(client("127.0.0.1", "127.0.0.1", "203.0.113.7", NULL), "203.0.113.7") == 0);
    /* A forged entry the client put first stays on the left, unread. */
    T_TRUE(strcmp(client("127.0.0.1", "127.0.0.1", "198.51.100.1, 203.0.113.7", NULL),
                  "203.0.113.7") == 0);
    /* A chain of trusted proxies is walked; the first other hop is the client. */
    T_TRUE(strcmp(client("127.0.0.1 10.0.0.0/8", "127.0.0.1", "198.51.100.1, 203.0.113.7, 10.1.2.3",
                         NULL),
                  "203.0.113.7") == 0);
    /* Several headers count as one list, in order. */
    T_TRUE(strcmp(client("127.0.0.1 10.0.0.0/8", "127.0.0.1", "198.51.100.1", "10.9.9.9"),
                  "198.51.100.1") == 0);
    /* Every hop a proxy: the leftmost. No header: the proxy itself. */
    T_TRUE(strcmp(client("10.0.0.0/8 127.0.0.1", "127.0.0.1", "10.0.0.5", NULL), "10.0.0.5") == 0);
    T_TRUE(strcmp(client("127.0.0.1", "127.0.0.1", NULL, NULL), "127.0.0.1") == 0);
    T_TRUE(strcmp(client("127.0.0.1", "127.0.0.1", "", NULL), "127.0.0.1") == 0);
    /* Ports and brackets; IPv6 written canonically; mapped IPv4 as IPv4. */
    T_TRUE(strcmp(client("127.0.0.1", "127.0.0.1", "203.0.113.7:5555", NULL), "203.0.113.7") == 0);
    T_TRUE(strcmp(client("127.0.0.1", "127.0.0.1", "[2001:DB8::1]:443", NULL), "2001:db8::1") == 0);
    T_TRUE(strcmp(client("127.0.0.1", "127.0.0.1", "2001:db8:0::2", NULL), "2001:db8::2") == 0);
    T_TRUE(strcmp(client("127.0.0.1", "127.0.0.1", "::ffff:203.0.113.8", NULL), "203.0.113.8") == 0);
    /* Garbage ends the walk at the proxy that sent it. */
    T_TRUE(strcmp(client("127.0.0.1", "127.0.0.1", "203.0.113.7, unknown", NULL), "127.0.0.1") == 0);
    T_TRUE(strcmp(client("127.0.0.1 10.0.0.0/8", "127.0.0.1", "evil, 10.0.0.4", NULL), "10.0.0.4") ==
           0);
    T_TRUE(strcmp(client("127.0.0.1", "127.0.0.1", "203.0.113.7:", NULL), "127.0.0.1") == 0);
    T_TRUE(strcmp(client("127.0.0.1", "127.0.0.1", "[::1", NULL), "127.0.0.1") == 0);
}

static void netaddr_client_walk_is_bounded(void)
{
    char many[40 * 12 + 32] = "203.0.113.1";
    for (int i = 0; i < 40; i++) {
        strcat(many, ", 10.0.0.1");
    }
    /* 40 trusted hops: the walk stops after NET_MAX_HOPS, at a proxy. */
    T_TRUE(strcmp(client("127.0.0.1 10.0.0.0/8", "127.0.0.1", many, NULL), "10.0.0.1") == 0);
}

static void netaddr_origins_are_exact_and_normalised(void)
{
    origin_list l;
    char err[200];
    T_EQ_INT(origin_list_parse("https://Portal.Example.com/, http://127.0.0.1:8081 "
                               "https://a.example:443 http://[::1]:9000 http://b.example:80",
                               &l, err, sizeof err),
             0);
    T_EQ_INT(l.n, 5);
    T_TRUE(strcmp(l.origin[0], "https://portal.example.com") == 0);
    T_TRUE(strcmp(l.origin[2], "https://a.example") == 0);
    T_TRUE(strcmp(l.origin[3], "http://[::1]:9000") == 0);
    T_TRUE(strcmp(l.origin[4], "http://b.example") == 0);
    T_TRUE(origin_list_find(&l, "https://portal.example.com") == l.origin[0]);
    T_TRUE(origin_list_find(&l, "HTTPS://PORTAL.EXAMPLE.COM") == l.origin[0]);
    T_TRUE(origin_list_find(&l, "http://127.0.0.1:8081") == l.origin[1]);
    T_TRUE(origin_list_find(&l, "http://127.0.0.1:8082") == NULL);
    T_TRUE(origin_list_find(&l, "http://portal.example.com") == NULL);
    T_TRUE(origin_list_find(&l, "https://portal.example.com.evil.example") == NULL);
    T_TRUE(origin_list_find(&l, "https://evil.portal.example.com") == NULL);
    T_TRUE(origin_list_find(&l, "null") == NULL);
    T_TRUE(origin_list_find(&l, NULL) == NULL);
    T_EQ_INT(origin_list_parse(NULL, &l, err, sizeof err), 0);
    T_EQ_INT(l.n, 0);
    T_TRUE(origin_list_find(&l, "https://portal.example.com") == NULL);
}

static void netaddr_origins_refuse_what_is_not_one(void)
{
    static const char *const bad[] = {"*", "portal.example.com", "ftp://a.example",
                                      "https://a.example/path", "https://*.example.com",
                                      "https://user@a.example", "https://a.example:0",
                                      "https://a.example:70000", "https://a.example?x=1",
                                      "https://", "null", "https://a_b.example",
                                      "https://.example"};
    origin_list l;
    char err[200];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        T_EQ_INT(origin_list_parse(bad[i], &l, err, sizeof err), -1);
        T_TRUE(strstr(err, "not an origin") != NULL);
    }
}

void suite_netaddr(void)
{
    T_RUN(netaddr_lists_take_addresses_and_networks);
    T_RUN(netaddr_lists_refuse_what_is_not_an_address);
    T_RUN(netaddr_client_is_read_only_from_trusted_proxies);
    T_RUN(netaddr_client_walk_is_bounded);
    T_RUN(netaddr_origins_are_exact_and_normalised);
    T_RUN(netaddr_origins_refuse_what_is_not_one);
}
