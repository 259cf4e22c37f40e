/* server/http/http_conns.c: the connection cap of one client address
 * (--conns-per-address) counts IPv6 peers by their whole address, an
 * IPv4-mapped IPv6 peer (a dual-stack listener's IPv4 client) as its IPv4
 * address, and counts its refusals for /metrics (docs/server.md
 * "Connections per client address").
 *
 * Debian 12's CivetWeb 1.15 is built without IPv6 (mg_check_feature(8) is
 * 0: it cannot listen on an IPv6 address), so no HTTP test can reach the
 * server over IPv6. These tests call the executable's accept() -- the
 * one http_conns.c defines in place of glibc's, as CivetWeb's listener
 * does -- on listening sockets of their own, on the loopback addresses.
 * They run last: http_conns_init() counts every accept() and close() of the
 * process from then on, and the last test sets the cap back to one that
 * never refuses a loopback connection. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http.h"
#include "http_internal.h"
#include "srv.h"
#include "t.h"

/* http_conns.c keeps a pointer to its server: one for the whole run. */
static srv g_srv;

/* A listening socket on the loopback address "text" of "family" (an
 * IPv4-mapped IPv6 address listens for IPv4 clients), its port in *port;
 * -1 when the machine has no such address. */
static int listen_on(int family, const char *text, int *port)
{
    struct sockaddr_storage sa;
    socklen_t len;
    int one = 1, off = 0;
    int fd = socket(family, SOCK_STREAM, 0);
    memset(&sa, 0, sizeof sa);
    if (fd < 0) {
        return -1;
    }
    if (family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&sa;
        a->sin6_family = AF_INET6;
        (void)inet_pton(AF_INET6, text, &a->sin6_addr);
        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, strchr(text, '.') ? &off : &one,
                         sizeof one);
        len = sizeof *a;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&sa;
        a->sin_family = AF_INET;
        (void)inet_pton(AF_INET, text, &a->sin_addr);
        len = sizeof *a;
    }
    if (bind(fd, (struct sockaddr *)&sa, len) != 0 || listen(fd, 16) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
        close(fd);
        return -1;
    }
    *port = ntohs(family == AF_INET6 ? ((struct sockaddr_in6 *)&sa)->sin6_port
                                     : ((struct sockaddr_in *)&sa)->sin_port);
    return fd;
}

/* A client connected to "text":"port" (the handshake is done by the
 * kernel: the connection waits in the listener's queue for accept()). */
static int connect_to(int family, const char *text, int port)
{
    struct sockaddr_storage sa;
    socklen_t len;
    int fd = socket(family, SOCK_STREAM, 0);
    memset(&sa, 0, sizeof sa);
    if (family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&sa;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((unsigned short)port);
        (void)inet_pton(AF_INET6, text, &a->sin6_addr);
        len = sizeof *a;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&sa;
        a->sin_family = AF_INET;
        a->sin_port = htons((unsigned short)port);
        (void)inet_pton(AF_INET, text, &a->sin_addr);
        len = sizeof *a;
    }
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, len) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* 4 threads, 2 connections an address, loopback counted (the option is
 * given): the cap applies once more than 2 connections are counted. */
static void use_cap_of_two(void)
{
    memset(&g_srv, 0, sizeof g_srv);
    g_srv.cfg.threads = 4;
    g_srv.cfg.conns_per_address = 2;
    T_EQ_INT(http_conns_init(&g_srv), 0);
}

/* Whether a client refused by the listener got the 503 sentence. */
static bool told_too_many(int client)
{
    char buf[512];
    ssize_t n = recv(client, buf, sizeof buf - 1, 0);
    if (n <= 0) {
        return false;
    }
    buf[n] = '\0';
    return strncmp(buf, "HTTP/1.1 503 ", 13) == 0 && strstr(buf, "too_many_connections") != NULL;
}

/* Close the test's clients and the sockets served to them (-1: none). */
static void close_all(const int *client, const int *served, int n, int lsock, int lsock4)
{
    for (int i = 0; i < n; i++) {
        if (served[i] >= 0) {
            close(served[i]);
        }
        if (client[i] >= 0) {
            close(client[i]);
        }
    }
    close(lsock);
    close(lsock4);
}

static void conns_cap_counts_an_ipv6_address(void)
{
    int port, lsock = listen_on(AF_INET6, "::1", &port), lsock4, port4;
    int client[5], served[5];
    long long refused0 = http_conns_refused();
    if (lsock < 0) {
        printf("# skipped: this machine has no IPv6 loopback address (::1)\n");
        return;
    }
    use_cap_of_two();
    for (int i = 0; i < 3; i++) {
        client[i] = connect_to(AF_INET6, "::1", port);
        T_TRUE(client[i] >= 0);
        served[i] = accept(lsock, NULL, NULL);
    }
    /* Two from ::1 are served, the third is refused: before, an IPv6
     * peer was never counted and every one was served. */
    T_TRUE(served[0] >= 0);
    T_TRUE(served[1] >= 0);
    T_EQ_INT(served[2], -1);
    T_EQ_INT(errno, ECONNABORTED);
    T_TRUE(told_too_many(client[2]));
    T_EQ_INT(http_conns_refused() - refused0, 1);
    /* Another address (127.0.0.1) is not ::1: served beside them. */
    lsock4 = listen_on(AF_INET, "127.0.0.1", &port4);
    T_TRUE(lsock4 >= 0);
    client[3] = connect_to(AF_INET, "127.0.0.1", port4);
    served[3] = accept(lsock4, NULL, NULL);
    T_TRUE(served[3] >= 0);
    /* One of ::1's closes (close() takes it off): ::1 may connect again. */
    close(served[0]);
    served[0] = -1;
    client[4] = connect_to(AF_INET6, "::1", port);
    served[4] = accept(lsock, NULL, NULL);
    T_TRUE(served[4] >= 0);
    close_all(client, served, 5, lsock, lsock4);
}

static void conns_cap_counts_a_mapped_ipv4_peer_as_its_ipv4_address(void)
{
    int port, lsock = listen_on(AF_INET6, "::ffff:127.0.0.1", &port), lsock4, port4;
    int client[3], served[3];
    long long refused0 = http_conns_refused();
    if (lsock < 0) {
        printf("# skipped: this machine cannot listen on ::ffff:127.0.0.1 (no IPv6)\n");
        return;
    }
    use_cap_of_two();
    lsock4 = listen_on(AF_INET, "127.0.0.1", &port4);
    T_TRUE(lsock4 >= 0);
    /* Two IPv4 clients through the dual-stack listener (peers
     * ::ffff:127.0.0.1), then one through the IPv4 listener: one address. */
    for (int i = 0; i < 2; i++) {
        client[i] = connect_to(AF_INET, "127.0.0.1", port);
        served[i] = accept(lsock, NULL, NULL);
        T_TRUE(served[i] >= 0);
    }
    client[2] = connect_to(AF_INET, "127.0.0.1", port4);
    served[2] = accept(lsock4, NULL, NULL);
    T_EQ_INT(served[2], -1);
    T_TRUE(told_too_many(client[2]));
    T_EQ_INT(http_conns_refused() - refused0, 1);
    close_all(client, served, 3, lsock, lsock4);
}

/* Last: the process's other sockets are never refused from here on. */
static void conns_cap_back_to_a_wide_one(void)
{
    memset(&g_srv, 0, sizeof g_srv);
    g_srv.cfg.threads = 1024; /* a cap of 256, loopback exempt */
    T_EQ_INT(http_conns_init(&g_srv), 0);
    T_EQ_INT(http_conns_cap(), 256);
}

void suite_http_conns(void)
{
    T_RUN(conns_cap_counts_an_ipv6_address);
    T_RUN(conns_cap_counts_a_mapped_ipv4_peer_as_its_ipv4_address);
    T_RUN(conns_cap_back_to_a_wide_one);
}
