/* Connections per client address (docs/server.md "HTTP", issue 16).
 *
 * CivetWeb 1.15 gives each connection one worker thread from the moment a
 * worker takes it until it closes, also while the client sends nothing
 * (up to request_timeout_ms before the first request, a byte at a time
 * after): one client that opened --threads connections and sent nothing on
 * them held every worker, and a legitimate client waited in the queue
 * behind them (4 threads, 30 idle connections: no answer within 60 s). So
 * while the counted connections take more than half of the threads, one
 * client address may hold at most --conns-per-address connections at once
 * (default a quarter of the threads); a connection past that is answered
 * 503 and closed by the listener as it accepts it, before any worker takes
 * it. While workers are plentiful an address is not limited: an office
 * behind one NAT address, each browser with its few connections and a
 * stream or two, is served; one client alone holds at most half of the
 * workers before it is refused, and the others keep the rest. Trusted
 * proxies (--trusted-proxies) are exempt: they carry everyone's requests;
 * so are loopback addresses (the machine itself: a proxy on it, a
 * benchmark) unless --conns-per-address is given.
 *
 * An address is an IPv4 address or a whole IPv6 address (an IPv4-mapped
 * IPv6 peer of a dual-stack listener counts as its IPv4 address). Not a
 * /64: the hosts of one IPv6 network (an office's LAN, each device with its
 * own addresses) are separate clients, as they would not be behind an IPv4
 * NAT address. A client holding a whole /64 can open connections from many
 * addresses; a proxy in front limits those (docs/server.md).
 *
 * CivetWeb has no hook between accept() and a worker (its init_connection
 * callback cannot refuse, and has no address yet), so this executable
 * defines accept() and close() in place of glibc's, as http_libc.c does
 * for localtime(): every shared library's calls reach them (CivetWeb's
 * listener accepts with accept() and closes with close()). accept()
 * counts the connection on its address, keyed by its descriptor; close()
 * of a counted descriptor takes it off before the descriptor is freed, so
 * a number reused by a later accept() starts clean. Descriptors are only
 * counted while http_conns_init() has run (the server's own sockets,
 * libpq's and libcurl's, are connect()ed, never accept()ed).
 *
 * accept() also links every accepted descriptor by its peer's port, so
 * that the body deadline (http_deadline.c) finds a connection's socket
 * (http_conns_fd_of()). */
#define _GNU_SOURCE /* RTLD_NEXT, accept4 */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "http_internal.h"
#include "log.h"
#include "netaddr.h"

#define FD_TRACKED 65536 /* descriptors from here on are served uncounted */

/* glibc declares accept() with __SOCKADDR_ARG (a transparent union of the
 * sockaddr pointers under _GNU_SOURCE): the definition below must match. */
typedef int accept_fn(int, __SOCKADDR_ARG, socklen_t *restrict);
typedef int close_fn(int);

static accept_fn *g_accept;
static close_fn *g_close;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static _Atomic int
    *_Atomic g_slot_of_fd; /* the slot + 1 of a counted descriptor: 0 = not counted */
/* What connections are counted by: an IPv4 address (the first 4 bytes)
 * or a whole IPv6 address. */
typedef struct {
    unsigned char a[16];
    bool v6;
} conn_key;

static struct {
    conn_key key;
    int n; /* its connections now; 0 = a free slot */
} * g_slots;
static int g_n_slots; /* allocated */
static int g_used;    /* slots [0, g_used) were ever taken: the scans stop there */
static int g_cap;
static int g_busy;  /* counted connections above which the cap applies: half the threads */
static int g_total; /* counted connections now */
static bool g_loopback_too; /* --conns-per-address given: loopback counts as well */
static const srv *g_srv;
static atomic_llong g_refused;

/* Every accepted descriptor, loopback and IPv6 too, by its peer's port
 * (http_conns_fd_of(): the body deadline, http_deadline.c, needs the
 * socket of a CivetWeb connection, which CivetWeb 1.15 does not give).
 * g_port_of_fd[fd] is its peer port + 1 (0 = not linked); the descriptors
 * of one port are a list from g_fd_of_port[port] (fd + 1) through
 * g_next_fd[fd] (fd + 1). Linked by accept() and unlinked by close()
 * before the descriptor is freed, both under g_mu. */
static _Atomic int *_Atomic g_port_of_fd;
static int *g_fd_of_port; /* 65536 */
static int *g_next_fd;    /* FD_TRACKED */
/* Each linked descriptor's peer and local port, as accept() saw them:
 * http_conns_fd_of() compares them without a system call. */
typedef struct {
    unsigned char addr[16]; /* IPv4 in the first 4 bytes */
    unsigned short family;
    unsigned short local_port;
} peer_info;
static peer_info *g_peer; /* FD_TRACKED */
static atomic_llong g_last_log;

/* A child of fork() (the embedded PostgreSQL's programs, db_embed.c) may
 * close a descriptor before it execs: g_mu starts unlocked there even when
 * another thread of the parent held it at the fork. */
static void child_after_fork(void)
{
    pthread_mutex_init(&g_mu, NULL);
}

static void resolve(void)
{
    void *a = dlsym(RTLD_NEXT, "accept"), *c = dlsym(RTLD_NEXT, "close");
    memcpy(&g_accept, &a, sizeof a);
    memcpy(&g_close, &c, sizeof c);
    (void)pthread_atfork(NULL, NULL, child_after_fork);
}

int http_conns_init(const srv *s)
{
    int cap = s->cfg.conns_per_address > 0 ? s->cfg.conns_per_address : s->cfg.threads / 4;
    pthread_once(&g_once, resolve);
    pthread_mutex_lock(&g_mu);
    if (g_slots == NULL) {
        /* Accepted connections wait for a worker in CivetWeb's queue: at most
         * the threads and the queue hold one at once, far below this. */
        g_n_slots = 4096;
        g_slots = calloc((size_t)g_n_slots, sizeof *g_slots);
    }
    g_cap = cap < 2 ? 2 : cap;
    g_busy = s->cfg.threads / 2;
    g_loopback_too = s->cfg.conns_per_address > 0;
    g_srv = s;
    pthread_mutex_unlock(&g_mu);
    if (g_slots == NULL) {
        return -1;
    }
    if (atomic_load(&g_port_of_fd) == NULL) {
        _Atomic int *ports = calloc(FD_TRACKED, sizeof *ports);
        g_fd_of_port = calloc(65536, sizeof *g_fd_of_port);
        g_next_fd = calloc(FD_TRACKED, sizeof *g_next_fd);
        g_peer = calloc(FD_TRACKED, sizeof *g_peer);
        if (ports == NULL || g_fd_of_port == NULL || g_next_fd == NULL || g_peer == NULL) {
            free(ports);
            return -1;
        }
        atomic_store(&g_port_of_fd, ports);
    }
    if (atomic_load(&g_slot_of_fd) == NULL) { /* published last: accept() counts from now on */
        _Atomic int *fds = calloc(FD_TRACKED, sizeof *fds);
        if (fds == NULL) {
            return -1;
        }
        atomic_store(&g_slot_of_fd, fds);
    }
    return 0;
}

int http_conns_cap(void)
{
    return g_cap;
}

long long http_conns_refused(void)
{
    return atomic_load(&g_refused);
}

static bool key_eq(const conn_key *x, const conn_key *y)
{
    return x->v6 == y->v6 && memcmp(x->a, y->a, x->v6 ? 16 : 4) == 0;
}

/* Count "fd" on "addr": its address's connections now, or 0 when there is
 * no room to count it (then it is served like any other). Under g_mu. */
static int count_locked(_Atomic int *fds, int fd, const conn_key *addr)
{
    int slot = -1;
    for (int i = 0; i < g_used; i++) {
        if (g_slots[i].n > 0 && key_eq(&g_slots[i].key, addr)) {
            slot = i;
            break;
        }
        if (slot < 0 && g_slots[i].n == 0) {
            slot = i; /* the first free one, unless the address has its own */
        }
    }
    if (slot < 0 || (g_slots[slot].n > 0 && !key_eq(&g_slots[slot].key, addr))) {
        if (g_used >= g_n_slots) {
            return 0;
        }
        slot = g_used++;
    }
    if (g_slots[slot].n == 0) {
        g_slots[slot].key = *addr;
    }
    atomic_store(&fds[fd], slot + 1);
    g_total++;
    return ++g_slots[slot].n;
}

/* Take "fd" off its address's count, if it is counted. Under g_mu. */
static void uncount_locked(_Atomic int *fds, int fd)
{
    int slot = atomic_exchange(&fds[fd], 0) - 1;
    if (slot >= 0 && g_slots[slot].n > 0) {
        g_slots[slot].n--;
        g_total--;
    }
}

/* Link "fd" (peer port "port", peer "p") into its port's list. Under g_mu. */
static void link_locked(_Atomic int *ports, int fd, int port, const peer_info *p)
{
    g_peer[fd] = *p;
    g_next_fd[fd] = g_fd_of_port[port];
    g_fd_of_port[port] = fd + 1;
    atomic_store(&ports[fd], port + 1);
}

/* Take "fd" off its port's list, if it is on one. Under g_mu. */
static void unlink_locked(_Atomic int *ports, int fd)
{
    int port = atomic_exchange(&ports[fd], 0) - 1;
    if (port < 0) {
        return;
    }
    for (int *at = &g_fd_of_port[port]; *at != 0; at = &g_next_fd[*at - 1]) {
        if (*at == fd + 1) {
            *at = g_next_fd[fd];
            g_next_fd[fd] = 0;
            return;
        }
    }
}

/* The peer's address and port of a socket, and the local port of the
 * listening socket "lsock" it came from; false if unknown. */
static bool peer_of(int fd, int lsock, peer_info *p, int *port)
{
    struct sockaddr_storage sa, la;
    socklen_t len = sizeof sa, llen = sizeof la;
    memset(p, 0, sizeof *p);
    if (getpeername(fd, (struct sockaddr *)&sa, &len) != 0 ||
        getsockname(lsock, (struct sockaddr *)&la, &llen) != 0 || la.ss_family != sa.ss_family) {
        return false;
    }
    p->family = sa.ss_family;
    if (sa.ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)&sa;
        *port = ntohs(a->sin_port);
        memcpy(p->addr, &a->sin_addr, 4);
        p->local_port = ntohs(((const struct sockaddr_in *)&la)->sin_port);
        return true;
    }
    if (sa.ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&sa;
        *port = ntohs(a->sin6_port);
        memcpy(p->addr, &a->sin6_addr, 16);
        p->local_port = ntohs(((const struct sockaddr_in6 *)&la)->sin6_port);
        return true;
    }
    return false;
}

int http_conns_fd_of(const char *remote_addr, int remote_port, int server_port)
{
    _Atomic int *ports = atomic_load(&g_port_of_fd);
    peer_info want;
    int found = -1, n = 0;
    if (ports == NULL || remote_port <= 0 || remote_port > 65535) {
        return -1;
    }
    memset(&want, 0, sizeof want);
    if (inet_pton(AF_INET, remote_addr, want.addr) == 1) {
        want.family = AF_INET;
    } else if (inet_pton(AF_INET6, remote_addr, want.addr) == 1) {
        want.family = AF_INET6;
    } else {
        return -1;
    }
    want.local_port = (unsigned short)server_port;
    /* Under g_mu every descriptor on the list is open (close() unlinks it
     * under g_mu before freeing it), and its g_peer entry is the one its
     * accept() wrote. */
    pthread_mutex_lock(&g_mu);
    for (int at = g_fd_of_port[remote_port]; at != 0; at = g_next_fd[at - 1]) {
        const peer_info *p = &g_peer[at - 1];
        if (p->family == want.family && p->local_port == want.local_port &&
            memcmp(p->addr, want.addr, sizeof want.addr) == 0) {
            found = at - 1;
            n++;
        }
    }
    pthread_mutex_unlock(&g_mu);
    return n == 1 ? found : -1;
}

/* The counting key of a peer accept() saw; an IPv4-mapped IPv6 address
 * (::ffff:a.b.c.d, a dual-stack listener's IPv4 client) is its IPv4 one. */
static void key_of(const peer_info *p, conn_key *k)
{
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    memset(k, 0, sizeof *k);
    if (p->family == AF_INET6 && memcmp(p->addr, mapped, sizeof mapped) != 0) {
        memcpy(k->a, p->addr, 16);
        k->v6 = true;
    } else if (p->family == AF_INET6) {
        memcpy(k->a, p->addr + 12, 4);
    } else {
        memcpy(k->a, p->addr, 4);
    }
}

static bool key_loopback(const conn_key *k)
{
    static const unsigned char one[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    return k->v6 ? memcmp(k->a, one, 16) == 0 : k->a[0] == 127;
}

/* The text of "k" (at least INET6_ADDRSTRLEN bytes at "out"). */
static const char *key_text(const conn_key *k, char *out, socklen_t cap)
{
    return inet_ntop(k->v6 ? AF_INET6 : AF_INET, k->a, out, cap);
}

static void refuse(int fd, const conn_key *peer)
{
    static const char body[] =
        "{\"code\":\"too_many_connections\",\"message\":\"this address has as many "
        "connections open as the server allows one client: use those, or close some first\"}";
    char reply[512], ip[INET6_ADDRSTRLEN] = "?";
    long long now_s = (long long)time(NULL), last = atomic_load(&g_last_log);
    int n;
    atomic_fetch_add(&g_refused, 1);
    if (now_s - last >= 60 && atomic_compare_exchange_strong(&g_last_log, &last, now_s)) {
        if (key_text(peer, ip, sizeof ip) == NULL) {
            snprintf(ip, sizeof ip, "?");
        }
        log_warn("http: %s holds %d connections, the most one address may "
                 "(--conns-per-address): further ones are refused",
                 ip, g_cap);
    }
    /* Under TLS nothing was negotiated yet: the refusal is the close. */
    if (g_srv != NULL && !g_srv->tls) {
        n = snprintf(reply, sizeof reply,
                     "HTTP/1.1 503 Service Unavailable\r\n"
                     "Content-Type: application/json; charset=utf-8\r\n"
                     "Content-Length: %zu\r\nRetry-After: 5\r\nConnection: close\r\n\r\n%s",
                     sizeof body - 1, body);
        if (n > 0 && (size_t)n < sizeof reply) {
            (void)send(fd, reply, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
        }
    }
    shutdown(fd, SHUT_RDWR);
}

int accept(int sock, __SOCKADDR_ARG addr, socklen_t *restrict len)
{
    char ip[INET6_ADDRSTRLEN];
    peer_info pinfo;
    conn_key key;
    _Atomic int *fds;
    _Atomic int *ports;
    int fd, n, pport;
    pthread_once(&g_once, resolve);
    fd = g_accept(sock, addr, len);
    fds = atomic_load(&g_slot_of_fd);
    ports = atomic_load(&g_port_of_fd);
    if (fd < 0 || fd >= FD_TRACKED || fds == NULL || ports == NULL ||
        !peer_of(fd, sock, &pinfo, &pport)) {
        return fd;
    }
    pthread_mutex_lock(&g_mu);
    link_locked(ports, fd, pport, &pinfo);
    pthread_mutex_unlock(&g_mu);
    key_of(&pinfo, &key);
    if (!g_loopback_too && key_loopback(&key)) {
        return fd;
    }
    if (g_srv->cfg.trusted_proxies.n > 0 && key_text(&key, ip, sizeof ip) != NULL &&
        net_list_has(&g_srv->cfg.trusted_proxies, ip)) {
        return fd;
    }
    pthread_mutex_lock(&g_mu);
    n = count_locked(fds, fd, &key);
    if (n > g_cap && g_total > g_busy) {
        uncount_locked(fds, fd);
        unlink_locked(ports, fd);
        pthread_mutex_unlock(&g_mu);
        refuse(fd, &key);
        g_close(fd);
        errno = ECONNABORTED; /* CivetWeb's listener goes on to the next one */
        return -1;
    }
    pthread_mutex_unlock(&g_mu);
    return fd;
}

int close(int fd)
{
    _Atomic int *fds = atomic_load_explicit(&g_slot_of_fd, memory_order_acquire);
    _Atomic int *ports = atomic_load_explicit(&g_port_of_fd, memory_order_acquire);
    if (fds != NULL && ports != NULL && fd >= 0 && fd < FD_TRACKED &&
        (atomic_load_explicit(&fds[fd], memory_order_relaxed) != 0 ||
         atomic_load_explicit(&ports[fd], memory_order_relaxed) != 0)) {
        pthread_mutex_lock(&g_mu);
        uncount_locked(fds, fd);
        unlink_locked(ports, fd);
        pthread_mutex_unlock(&g_mu);
    }
    pthread_once(&g_once, resolve);
    return g_close(fd);
}
