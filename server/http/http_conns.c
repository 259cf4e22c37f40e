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
 * (http_conns_fd_of()).
 *
 * Idle connections are shed (docs/server.md "Idle connections are shed").
 * The cap bounds one address, but clients on --threads / cap addresses
 * could still hold every worker with connections that send nothing (30 s
 * before a first request, renewed by each byte; 5 s between keep-alive
 * requests). So every accepted connection is held here (g_held, by
 * accept()) with its phase: idle (no request in progress), busy
 * (begin_request to end_request: its handler runs, its body is read under
 * its deadline, a server-sent-event stream is open), closing (its API
 * reply left a body unread and closes it, or CivetWeb began to close it:
 * connection_close). CivetWeb 1.15 never calls init_connection for a
 * server's connection, so a worker finds its entry on its connection's
 * first request (find_fd(), under g_mu) and keeps it in a thread-local
 * with the entry's generation; later requests of the connection check the
 * generation and the peer (no lock). Each tick of the watchdog
 * (http_deadline.c) calls http_conns_shed(): while more than half of the
 * threads hold a connection, the connections idle for IDLE_GRACE_MS (since
 * the accept or since their last request ended: a request head not yet
 * complete by then is idle too) are shed, oldest first, until half of the
 * threads are free: a new client finds a worker within a tick or two. A
 * busy connection is never shed, nor one whose unread bytes hold a whole
 * request head (it waits in CivetWeb's queue for a worker: accepted
 * connections are held from the accept, queued or not). Under TLS the
 * bytes are encrypted: any unread byte counts, and starts the idle time
 * again (tls_waits_refresh(): a queued connection's ClientHello; its worker
 * does the handshake, so the client cannot have sent a request while it
 * queued, and must not be shed for the time it queued while the handshake
 * runs). CivetWeb reads what SSL_pending() holds before it polls the
 * socket, so no plain text waits in OpenSSL while a worker waits for the
 * next request (docs/server.md "Under TLS"). And always, a
 * connection closing for more than IDLE_GRACE_MS is cut: after an API reply
 * that closes (a 413 to a body announced too large), CivetWeb 1.15 still
 * reads what the client sends, each byte renewing its 30 s wait, so a
 * client that kept sending held its worker for good.
 *
 * Shedding a connection shuts its socket down both ways (the worker's
 * poll() wakes) and puts an unconnected socket in place of the descriptor
 * (dup3()): Linux still delivers bytes sent after shutdown(SHUT_RD), but a
 * read of the unconnected socket fails at once (ENOTCONN), the worker ends
 * the connection, and CivetWeb's close() closes the placeholder.
 *
 * Replies not read have a deadline (docs/server.md "A reply that is not
 * read has a deadline"). CivetWeb 1.15 waits up to 30 s for a write to
 * move, each byte the client takes restarting it, and a busy connection is
 * never shed: a client that stopped reading, or read a few bytes at a
 * time, held a worker writing its reply for good. Each tick the watchdog
 * looks at every held connection's socket: while it holds bytes the peer
 * has not acknowledged (SIOCOUTQ), the reply may take WRITE_FLOOR_MS plus
 * what the peer acknowledged since (TCP_INFO) at WRITE_RATE; past that,
 * the connection is cut as a shed one (below), whatever writes it
 * (CivetWeb's sendfile() of a portal file, mg_write() of the API's and of
 * the streams, OpenSSL's). The kernel counts, so no write path changes
 * and a request pays nothing.
 *
 * Why the watchdog never shuts or replaces a descriptor that is not the
 * connection's: a descriptor is held (written in g_held) under g_mu by
 * accept(), right after the accept that returned it; close() of a held
 * descriptor drops it from g_held under g_mu before the descriptor is
 * freed (so does accept() when it refuses it). The
 * watchdog sheds only under g_mu and only held descriptors: while it holds
 * g_mu a held descriptor is the connection's own, never a number closed
 * and reused by a later accept(), open() or socket(). dup3() keeps the
 * number taken (it replaces the file in place), so after a shed the number
 * stays the connection's until CivetWeb's close(), which drops it first.
 * A worker changes only its own connection's phase (an atomic, no lock):
 * a request that begins just as its connection is shed finds the phase
 * shed (the compare-and-swap decides which came first) and is not run. */
#define _GNU_SOURCE /* RTLD_NEXT, accept4 */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/sockios.h> /* SIOCOUTQ */
#include <linux/tcp.h>     /* TCP_INFO with tcpi_bytes_acked (glibc's lacks it) */

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

/* Connections a worker holds: one per worker thread, far below this. */
#define HELD_MAX 4096
/* How long a connection may be idle (no request in progress) while workers
 * are scarce, and how long CivetWeb may take to close one. */
#define IDLE_GRACE_MS 2000LL
/* A held connection's phase, in the low 2 bits of its state; the rest is
 * the CLOCK_MONOTONIC ms at which it became idle or closing. */
enum { H_IDLE = 0, H_BUSY = 1, H_CLOSING = 2, H_SHED = 3 };
typedef struct {
    int fd; /* -1 = a free entry; written under g_mu */
    atomic_uint gen; /* moved on each hold and drop: a worker's cached entry is its own */
    _Atomic long long state;
    /* The write deadline (write_cut_locked()), under g_mu: since when the
     * watchdog has seen the socket hold bytes its peer has not acknowledged
     * (CLOCK_MONOTONIC ms; 0 = it held none at the last tick), and what the
     * peer had acknowledged then. */
    long long write_since;
    unsigned long long acked_since;
} held_conn;
static held_conn g_held[HELD_MAX];
static int g_held_hi; /* entries [0, g_held_hi) may be taken */
static int *g_held_of_fd; /* FD_TRACKED: the entry + 1 of a held descriptor */
static int g_dead = -1; /* an unconnected socket: what a shed descriptor becomes */
static long long g_shed_idle, g_shed_closing, g_write_cut; /* under g_mu */
/* The write deadline: what any reply may take to leave once the client
 * stops taking it, and the rate each byte it takes buys time at (16 KiB/s,
 * 128 kbit/s: a 1 MB portal file leaves in 62 s at that rate). */
#define WRITE_FLOOR_MS 10000LL
#define WRITE_RATE (16LL * 1024)
static atomic_llong g_write_floor_ms = WRITE_FLOOR_MS;
static long long g_write_logged_s;
/* The entry of the connection this worker thread serves (-1: none), its
 * generation and its peer, as its last request found it. */
static _Thread_local struct {
    int slot;
    unsigned gen;
    int port, server_port;
} tl_held = {-1, 0, 0, 0};

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
    if (g_dead < 0) {
        g_dead = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    }
    if (g_held_of_fd == NULL) {
        for (int i = 0; i < HELD_MAX; i++) {
            g_held[i].fd = -1;
        }
        g_held_of_fd = calloc(FD_TRACKED, sizeof *g_held_of_fd);
    }
    g_loopback_too = s->cfg.conns_per_address > 0;
    g_srv = s;
    {
        /* Tests only: a write deadline that passes within a test. */
        const char *env = http_test_build ? getenv("METRON_TEST_WRITE_FLOOR_MS") : NULL;
        char *end = NULL;
        long long v = env != NULL ? strtoll(env, &end, 10) : 0;
        if (env != NULL && *end == '\0' && v >= 100 && v <= WRITE_FLOOR_MS) {
            atomic_store(&g_write_floor_ms, v);
        }
    }
    pthread_mutex_unlock(&g_mu);
    if (g_slots == NULL || g_held_of_fd == NULL) {
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

long long http_conns_write_floor_ms(void)
{
    return atomic_load_explicit(&g_write_floor_ms, memory_order_relaxed);
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

/* The open accepted socket of a peer (http_conns_fd_of()); with "hold",
 * also held as this worker's connection in the same lock. */
static int find_fd(const char *remote_addr, int remote_port, int server_port, bool hold)
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
    if (hold && n == 1 && g_held_of_fd[found] > 0) {
        tl_held.slot = g_held_of_fd[found] - 1;
        tl_held.gen = atomic_load(&g_held[tl_held.slot].gen);
    }
    pthread_mutex_unlock(&g_mu);
    return n == 1 ? found : -1;
}

int http_conns_fd_of(const char *remote_addr, int remote_port, int server_port)
{
    return find_fd(remote_addr, remote_port, server_port, false);
}

/* CLOCK_MONOTONIC in ms. */
static long long held_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Hold accepted descriptor "fd", idle from now. Under g_mu. */
static void hold_locked(int fd)
{
    int slot = g_held_of_fd[fd] - 1;
    for (int i = 0; i < HELD_MAX && slot < 0; i++) {
        if (g_held[i].fd < 0) {
            slot = i;
        }
    }
    if (slot < 0) {
        return;
    }
    g_held[slot].fd = fd;
    g_held[slot].write_since = 0;
    atomic_fetch_add(&g_held[slot].gen, 1);
    atomic_store(&g_held[slot].state, held_now_ms() << 2 | H_IDLE);
    g_held_of_fd[fd] = slot + 1;
    if (slot >= g_held_hi) {
        g_held_hi = slot + 1;
    }
}

/* Drop "fd" from g_held, if it is held. Under g_mu, before it is freed. */
static void unhold_locked(int fd)
{
    int slot = g_held_of_fd[fd] - 1;
    if (slot >= 0) {
        g_held_of_fd[fd] = 0;
        g_held[slot].fd = -1;
        atomic_fetch_add(&g_held[slot].gen, 1);
        atomic_store(&g_held[slot].state, H_IDLE);
    }
}

/* The entry of the connection this worker serves (peer "remote_addr",
 * "remote_port", local port "server_port"), or -1: its last request's
 * entry while that is still held (its generation unchanged: close() moves
 * it, and a worker serves one connection until it closes, so an unchanged
 * entry is the connection it serves now), else found under g_mu. */
static int held_of(const char *remote_addr, int remote_port, int server_port)
{
    int slot = tl_held.slot;
    if (slot >= 0 && tl_held.port == remote_port && tl_held.server_port == server_port &&
        atomic_load_explicit(&g_held[slot].gen, memory_order_acquire) == tl_held.gen) {
        return slot;
    }
    tl_held.slot = -1;
    (void)find_fd(remote_addr, remote_port, server_port, true);
    tl_held.port = remote_port;
    tl_held.server_port = server_port;
    return tl_held.slot;
}

bool http_conns_request_begins(const char *remote_addr, int remote_port, int server_port)
{
    int slot = held_of(remote_addr, remote_port, server_port);
    long long cur;
    if (slot < 0) {
        return true;
    }
    cur = atomic_load_explicit(&g_held[slot].state, memory_order_relaxed);
    do {
        if ((cur & 3) == H_SHED) {
            return false;
        }
    } while (!atomic_compare_exchange_weak(&g_held[slot].state, &cur, (long long)H_BUSY));
    return true;
}

void http_conns_request_ended(long long now_ms)
{
    long long busy = H_BUSY;
    int slot = tl_held.slot;
    if (slot >= 0 && atomic_load_explicit(&g_held[slot].gen, memory_order_relaxed) ==
                         tl_held.gen) {
        (void)atomic_compare_exchange_strong(&g_held[slot].state, &busy, now_ms << 2 | H_IDLE);
    }
}

void http_conns_reply_closes(void)
{
    long long busy = H_BUSY;
    int slot = tl_held.slot;
    if (slot >= 0 && atomic_load(&g_held[slot].gen) == tl_held.gen) {
        (void)atomic_compare_exchange_strong(&g_held[slot].state, &busy,
                                             held_now_ms() << 2 | H_CLOSING);
    }
}

void http_conns_closing(void)
{
    long long cur;
    int slot = tl_held.slot;
    if (slot < 0 || atomic_load(&g_held[slot].gen) != tl_held.gen) {
        return;
    }
    cur = atomic_load_explicit(&g_held[slot].state, memory_order_relaxed);
    while ((cur & 3) != H_SHED &&
           !atomic_compare_exchange_weak(&g_held[slot].state, &cur,
                                         held_now_ms() << 2 | H_CLOSING)) {
    }
    tl_held.slot = -1; /* the entry is dropped by close() */
}

/* Shut held descriptor "fd" down and put the unconnected socket in its
 * place (the file header: why it is the connection's). Under g_mu. */
static void shed_locked(int fd)
{
    (void)shutdown(fd, SHUT_RDWR);
    if (g_dead >= 0) {
        (void)dup3(g_dead, fd, O_CLOEXEC);
    }
}

/* Whether a request waits in the unread bytes of "fd". In plain HTTP: a
 * whole request head (up to HEAD_PEEK bytes; a longer head is not told
 * apart). Under TLS the bytes are encrypted: any unread byte (a
 * ClientHello waiting in CivetWeb's queue, a request its worker has not
 * read yet). Under g_mu. */
#define HEAD_PEEK 16384
static char g_peek[HEAD_PEEK];
static bool g_skip[HELD_MAX];
static bool request_waits(int fd)
{
    bool tls = g_srv != NULL && g_srv->tls;
    ssize_t n = recv(fd, g_peek, tls ? 1 : sizeof g_peek, MSG_PEEK | MSG_DONTWAIT);
    return tls ? n > 0 : n >= 4 && memmem(g_peek, (size_t)n, "\r\n\r\n", 4) != NULL;
}

/* TLS, while workers are scarce: an idle connection past its grace whose
 * socket holds unread bytes starts its idle time again. A queued one holds
 * its ClientHello; once a worker takes it, the handshake and the request
 * take a round trip or two with the socket empty, and its idle time must
 * not be the one since the accept (it may have queued for seconds). A
 * client that trickles bytes is not helped: its worker reads each at once,
 * so a tick seldom finds one unread. Under g_mu. */
static void tls_waits_refresh(long long now)
{
    for (int i = 0; i < g_held_hi; i++) {
        long long st = atomic_load(&g_held[i].state);
        if (g_held[i].fd >= 0 && (st & 3) == H_IDLE && (st >> 2) + IDLE_GRACE_MS <= now &&
            request_waits(g_held[i].fd)) {
            /* Fails if its request began meanwhile: then it is busy. */
            (void)atomic_compare_exchange_strong(&g_held[i].state, &st, now << 2 | H_IDLE);
        }
    }
}

/* Whether held connection "h" passed its write deadline (docs/server.md
 * "A reply that is not read"): its socket has held bytes its peer did not
 * acknowledge at every tick since write_since, and the peer acknowledged
 * less than WRITE_RATE bytes a second beyond the floor since then. A reply
 * that leaves empties the queue between ticks, or moves on at the rate:
 * never cut; a quiet stream holds nothing unsent: never cut. One that the
 * client stopped taking (its window closed) moves on no more, however
 * CivetWeb or our handlers wait in their writes (each byte taken restarts
 * CivetWeb's 30 s): cut at the floor plus what it took since, at the rate.
 * The kernel counts the bytes (SIOCOUTQ, TCP_INFO): the request path pays
 * nothing. Under g_mu. */
static bool write_cut_locked(held_conn *h, long long now)
{
    struct tcp_info ti;
    socklen_t len = sizeof ti;
    int unacked = 0;
    unsigned long long took;
    if (ioctl(h->fd, SIOCOUTQ, &unacked) != 0 || unacked <= 0 ||
        getsockopt(h->fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0 ||
        len < offsetof(struct tcp_info, tcpi_bytes_acked) + sizeof ti.tcpi_bytes_acked) {
        h->write_since = 0;
        return false;
    }
    if (h->write_since == 0) {
        h->write_since = now;
        h->acked_since = ti.tcpi_bytes_acked;
        return false;
    }
    took = ti.tcpi_bytes_acked - h->acked_since;
    if (took > (unsigned long long)WRITE_RATE * 86400) {
        return false; /* a day's worth at the rate: it is moving */
    }
    return now >= h->write_since + atomic_load_explicit(&g_write_floor_ms, memory_order_relaxed) +
                      (long long)took * 1000 / WRITE_RATE;
}

void http_conns_shed(void)
{
    long long now = held_now_ms();
    int taken = 0;
    pthread_mutex_lock(&g_mu);
    for (int i = 0; i < g_held_hi; i++) {
        long long st = atomic_load(&g_held[i].state);
        if (g_held[i].fd < 0 || (st & 3) == H_SHED) {
            continue;
        }
        /* Whatever its phase: a worker writing a reply (busy), or one whose
         * reply the kernel still holds (idle, closing). */
        if (write_cut_locked(&g_held[i], now) &&
            atomic_compare_exchange_strong(&g_held[i].state, &st, (long long)H_SHED)) {
            shed_locked(g_held[i].fd);
            g_write_cut++;
            if (now / 1000 - g_write_logged_s >= 60) {
                g_write_logged_s = now / 1000;
                log_warn("http: a client stopped reading its reply: its connection was cut "
                         "at the write deadline (%lld so far)",
                         g_write_cut);
            }
            continue;
        }
        if ((st & 3) == H_CLOSING && (st >> 2) + IDLE_GRACE_MS <= now &&
            atomic_compare_exchange_strong(&g_held[i].state, &st, (long long)H_SHED)) {
            shed_locked(g_held[i].fd);
            g_shed_closing++;
            continue;
        }
        taken++;
    }
    /* While more than half of the threads hold a connection: the oldest
     * idle one past its grace, until half are free or none is left. One
     * whose unread bytes hold a whole request head (under TLS: any unread
     * byte) waits in CivetWeb's queue for a worker, or for its worker to
     * read it, with a request: it is left alone. */
    memset(g_skip, 0, sizeof g_skip);
    if (taken > g_busy && g_srv != NULL && g_srv->tls) {
        tls_waits_refresh(now);
    }
    while (taken > g_busy) {
        int oldest = -1;
        long long oldest_st = 0;
        for (int i = 0; i < g_held_hi; i++) {
            long long st = atomic_load(&g_held[i].state);
            if (g_held[i].fd >= 0 && !g_skip[i] && (st & 3) == H_IDLE &&
                (st >> 2) + IDLE_GRACE_MS <= now && (oldest < 0 || st < oldest_st)) {
                oldest = i;
                oldest_st = st;
            }
        }
        if (oldest < 0) {
            break;
        }
        g_skip[oldest] = true;
        if (request_waits(g_held[oldest].fd)) {
            continue;
        }
        /* Fails if its request began meanwhile: then look again. */
        if (atomic_compare_exchange_strong(&g_held[oldest].state, &oldest_st, (long long)H_SHED)) {
            shed_locked(g_held[oldest].fd);
            g_shed_idle++;
            taken--;
        }
    }
    pthread_mutex_unlock(&g_mu);
}

void http_conns_shed_counts(long long *idle, long long *closing, long long *write_cut)
{
    pthread_mutex_lock(&g_mu);
    *idle = g_shed_idle;
    *closing = g_shed_closing;
    *write_cut = g_write_cut;
    pthread_mutex_unlock(&g_mu);
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
    hold_locked(fd);
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
        unhold_locked(fd);
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
        unhold_locked(fd);
        pthread_mutex_unlock(&g_mu);
    }
    pthread_once(&g_once, resolve);
    return g_close(fd);
}
