/* The deadline of a request body (docs/server.md "HTTP", issue 16).
 *
 * CivetWeb's mg_read() waits until the announced body arrives, and every
 * byte restarts its wait (request_timeout_ms, 30 s): a client trickling a
 * body a byte every few seconds held a worker thread as long as it liked,
 * and clients on a few addresses held every worker. So every body the
 * server reads has a deadline for the whole body: BODY_FLOOR_MS plus its
 * size at BODY_RATE bytes a second (the declared length; a chunked body
 * without one is granted the bytes it sent so far, so it must keep that
 * rate on average after the floor). One watchdog thread shuts down the
 * read side (shutdown(SHUT_RD)) of the socket of a request whose body
 * passed its deadline: the worker's mg_read() returns at once, the request
 * ends without storing anything, its reply (408 body_too_slow, a sentence)
 * goes out and the connection closes. The reply is bounded too: a client
 * that does not read it (its window full) would hold the worker in
 * mg_write() for CivetWeb's 30 s; REPLY_GRACE_MS after the first cut the
 * watchdog shuts the socket down both ways (SHUT_RDWR) if the request is
 * still registered, and the write fails at once.
 *
 * Why the watchdog never shuts down a descriptor that is someone else's:
 * a worker registers (socket, deadline) under g_mu before its first read,
 * and unregisters under g_mu before the request returns to CivetWeb
 * (api_handler's end: http_deadline_end()). CivetWeb closes a connection's
 * socket only in the worker that serves it, after the handler returned.
 * The watchdog shuts a socket down only under g_mu, and only a registered
 * one: so while it holds g_mu, a registered descriptor is still the open
 * socket of the connection whose worker registered it, never a number
 * closed and reused by a later accept() or open().
 *
 * The socket: CivetWeb 1.15 has no getter for a connection's descriptor
 * (mg_get_request_info() and mg_get_connection_info() give the peer's
 * address and port, not the descriptor). The executable's accept()
 * (http_conns.c) links every accepted descriptor by its peer's port;
 * http_conns_fd_of() finds the one open socket whose peer address, peer
 * port and local port are the request's. A connection is unique by its
 * four addresses, and the local address is the only one not compared: a
 * server reached on two local addresses at the same port by one client
 * from the same port at once is ambiguous, and that body gets no deadline
 * (counted: http_deadline_counts()).
 *
 * The same watchdog sheds idle connections while workers are scarce,
 * cuts CivetWeb's closes that read on and on, and cuts the replies that
 * pass their write deadline (http_conns_shed(); the proof
 * that it touches only the connection's own descriptor is in
 * http_conns.c's header): each tick, outside g_mu.
 *
 * Once the body is read whole (http_deadline_done()) its deadline no
 * longer applies: a handler that works long after it (a large upload's
 * commit) is never cut. */
#define _GNU_SOURCE /* pthread_condattr_setclock */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <civetweb.h>

#include "http.h"
#include "http_internal.h"
#include "log.h"

/* The floor: what any body may take, as CivetWeb's own wait for a byte. */
#define BODY_FLOOR_MS 30000LL
/* The rate a body is granted beyond the floor: 64 KiB/s (0.5 Mbit/s). The
 * largest bodies are files (the shared store, app shares): a 50 MB file
 * gets 30 s + 763 s, twice what an uplink of 1 Mbit/s needs (400 s). */
#define BODY_RATE (64LL * 1024)
/* Registered bodies at once: one per worker; --threads is far below. */
#define WATCHED_MAX 4096
/* What the 408 reply may take after the read side was shut (a reply of a
 * few hundred bytes leaves at once unless the client stopped reading). */
#define REPLY_GRACE_MS 2000LL

typedef enum {
    W_WATCHING = 0, /* its body is being read */
    W_BODY_READ,    /* its body was read whole: the deadline no longer applies */
    W_READ_SHUT,    /* past its deadline: read side shut, the reply may go out */
    W_SHUT          /* the reply took too long: shut both ways */
} watch_stage;

typedef struct {
    int fd; /* -1 = a free entry */
    /* A watch_stage: written under g_mu, read without it by the worker that
     * registered the entry (http_deadline_passed(), after every read). */
    atomic_int stage;
    long long start_ms;    /* CLOCK_MONOTONIC */
    long long deadline_ms; /* of the body; in W_READ_SHUT, of the reply */
} watched;

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cv;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static bool g_ok;
static watched g_w[WATCHED_MAX];
static int g_hi; /* entries [0, g_hi) may be taken */
static long long g_floor_ms = BODY_FLOOR_MS;
static long long g_cut, g_unwatched, g_logged_s;
/* When the watchdog wakes next (CLOCK_MONOTONIC ms): a registration with
 * an earlier deadline wakes it. It never sleeps longer than a tick, so a
 * body registered while it sleeps (every floor is at least a tick) needs no
 * wake-up: a request costs no context switch of the watchdog. */
static long long g_wake_ms;
#define TICK_MAX_MS 1000LL

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *watchdog_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&g_mu);
    for (;;) {
        long long now = now_ms(), next = -1;
        for (int i = 0; i < g_hi; i++) {
            watched *w = &g_w[i];
            int stage = atomic_load(&w->stage);
            if (w->fd < 0 || stage == W_SHUT || stage == W_BODY_READ) {
                continue;
            }
            if (w->deadline_ms <= now && stage == W_READ_SHUT) {
                /* Its 408 did not leave in time: the write fails now. */
                atomic_store(&w->stage, W_SHUT);
                (void)shutdown(w->fd, SHUT_RDWR);
            } else if (w->deadline_ms <= now) {
                /* Under g_mu: w->fd is the registering worker's open socket.
                 * Linux still queues what the client sends after SHUT_RD,
                 * and a read returns it: the readers stop on the stage
                 * (http_deadline_passed() after every read), not on the
                 * end of what they read. The stage is set first: the read
                 * the shutdown ends must find it. A worker that has just
                 * read the whole body (W_BODY_READ) keeps its socket. */
                if (!atomic_compare_exchange_strong(&w->stage, &stage, W_READ_SHUT)) {
                    continue;
                }
                (void)shutdown(w->fd, SHUT_RD);
                w->deadline_ms = now + (g_floor_ms < REPLY_GRACE_MS ? g_floor_ms : REPLY_GRACE_MS);
                g_cut++;
                if (now / 1000 - g_logged_s >= 60) {
                    g_logged_s = now / 1000;
                    log_warn("http: a request body was not all sent before its deadline: "
                             "it was answered 408 and its connection closed (%lld so far, "
                             "%lld bodies unwatched)",
                             g_cut, g_unwatched);
                }
                if (next < 0 || w->deadline_ms < next) {
                    next = w->deadline_ms;
                }
            } else if (next < 0 || w->deadline_ms < next) {
                next = w->deadline_ms;
            }
        }
        /* Idle and closing connections (http_conns.c), outside g_mu. */
        pthread_mutex_unlock(&g_mu);
        http_conns_shed();
        pthread_mutex_lock(&g_mu);
        {
            long long tick = g_floor_ms / 2 < TICK_MAX_MS ? g_floor_ms / 2 : TICK_MAX_MS;
            if (http_conns_write_floor_ms() / 2 < tick) {
                tick = http_conns_write_floor_ms() / 2;
            }
            struct timespec ts;
            if (next < 0 || next > now + tick) {
                next = now + tick;
            }
            g_wake_ms = next;
            ts.tv_sec = next / 1000;
            ts.tv_nsec = (next % 1000) * 1000000;
            (void)pthread_cond_timedwait(&g_cv, &g_mu, &ts);
        }
    }
    return NULL;
}

static void start(void)
{
    pthread_condattr_t ca;
    pthread_t t;
    for (int i = 0; i < WATCHED_MAX; i++) {
        g_w[i].fd = -1;
    }
    if (pthread_condattr_init(&ca) != 0) {
        return;
    }
    (void)pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    if (pthread_cond_init(&g_cv, &ca) == 0 &&
        pthread_create(&t, NULL, watchdog_main, NULL) == 0) {
        pthread_detach(t);
        g_ok = true;
    }
    pthread_condattr_destroy(&ca);
}

int http_deadline_init(void)
{
    const char *env = http_test_build ? getenv("METRON_TEST_BODY_FLOOR_MS") : NULL;
    pthread_once(&g_once, start);
    if (env != NULL) {
        char *end;
        long long v = strtoll(env, &end, 10);
        if (*end == '\0' && v >= 100 && v <= BODY_FLOOR_MS) {
            pthread_mutex_lock(&g_mu);
            g_floor_ms = v; /* tests only: a deadline that passes within a test */
            pthread_mutex_unlock(&g_mu);
        }
    }
    return g_ok ? 0 : -1;
}

/* Set entry "w"'s deadline for "size" bytes. Under g_mu. */
static void set_deadline_locked(watched *w, long long size)
{
    long long d = w->start_ms + g_floor_ms + size / BODY_RATE * 1000 +
                  size % BODY_RATE * 1000 / BODY_RATE;
    if (d > w->deadline_ms) {
        w->deadline_ms = d;
    }
}

void http_deadline_begin(http_req *req)
{
    long long declared = req->ri->content_length;
    int fd, slot = -1;
    if (req->deadline_slot != 0 || !g_ok) {
        return;
    }
    req->deadline_slot = -1; /* once, watched or not */
    fd = http_conns_fd_of(req->ri->remote_addr, req->ri->remote_port, req->ri->server_port);
    pthread_mutex_lock(&g_mu);
    if (fd >= 0) {
        for (int i = 0; i < WATCHED_MAX && slot < 0; i++) {
            if (g_w[i].fd < 0) {
                slot = i;
            }
        }
    }
    if (slot < 0) {
        g_unwatched++;
        pthread_mutex_unlock(&g_mu);
        return;
    }
    g_w[slot].fd = fd;
    atomic_store_explicit(&g_w[slot].stage, W_WATCHING, memory_order_relaxed);
    g_w[slot].start_ms = now_ms();
    g_w[slot].deadline_ms = 0;
    set_deadline_locked(&g_w[slot], declared > 0 ? declared : 0);
    if (slot >= g_hi) {
        g_hi = slot + 1;
    }
    req->deadline_slot = slot + 1;
    if (g_w[slot].deadline_ms < g_wake_ms) {
        pthread_cond_signal(&g_cv);
    }
    pthread_mutex_unlock(&g_mu);
}

void http_deadline_progress(http_req *req, long long received)
{
    if (req->deadline_slot > 0 && req->ri->content_length < 0) {
        pthread_mutex_lock(&g_mu);
        if (atomic_load_explicit(&g_w[req->deadline_slot - 1].stage, memory_order_relaxed) ==
            W_WATCHING) {
            set_deadline_locked(&g_w[req->deadline_slot - 1], received);
        }
        pthread_mutex_unlock(&g_mu);
    }
}

bool http_deadline_passed(const http_req *req)
{
    /* No lock: the entry is this request's until http_deadline_end(). */
    return req->deadline_slot > 0 &&
           atomic_load(&g_w[req->deadline_slot - 1].stage) >= W_READ_SHUT;
}

void http_deadline_done(http_req *req)
{
    if (req->deadline_slot > 0) {
        /* From W_WATCHING only: a body the watchdog already cut stays cut. */
        int watching = W_WATCHING;
        (void)atomic_compare_exchange_strong(&g_w[req->deadline_slot - 1].stage, &watching,
                                             W_BODY_READ);
    }
}

void http_deadline_end(http_req *req)
{
    if (req->deadline_slot > 0) {
        pthread_mutex_lock(&g_mu);
        g_w[req->deadline_slot - 1].fd = -1;
        atomic_store_explicit(&g_w[req->deadline_slot - 1].stage, W_WATCHING,
                              memory_order_relaxed);
        pthread_mutex_unlock(&g_mu);
    }
    req->deadline_slot = 0;
}

void http_deadline_counts(long long *cut, long long *unwatched)
{
    pthread_mutex_lock(&g_mu);
    *cut = g_cut;
    *unwatched = g_unwatched;
    pthread_mutex_unlock(&g_mu);
}
