/* The running server: what every handler can reach through http_req.srv. */
#ifndef MTS_SRV_H
#define MTS_SRV_H

#include <stdatomic.h>
#include <stdbool.h>

#include "config.h"

struct mg_context;
/* The pool (db.h); only its pointer is kept here, so that srv.h needs no
 * libpq. */
typedef struct db_pool db_pool;
/* The read replica (db_replica.h), likewise. */
typedef struct db_replica db_replica;

typedef struct srv {
    srv_config cfg;
    db_pool *pool;
    db_replica *replica; /* METRON_REPLICA_URL's standby; NULL = none (docs/scale.md) */
    struct mg_context *mg;
    int access_fd;     /* the access log (A9), -1 = none */
    bool tls;          /* serving HTTPS; set before any thread starts */
    _Atomic int port;  /* the port actually listened on, 0 until then: set by
                        * http_start() while other threads already run */
    char host[64];     /* the address listened on ("0.0.0.0" for all); set
                        * before any thread starts */
    /* 1 once srv_publish_port() ran: srv_public_url() waits for it. */
    atomic_int port_published;
} srv;

/* The portal's origin for links in mails and reports: METRON_PUBLIC_URL,
 * else the address listened on ("localhost" for all addresses). Without
 * METRON_PUBLIC_URL it waits until srv_publish_port() has run, so that no
 * link is built with the port before CivetWeb listens (0: jobs, the outbox,
 * the report worker and the MQTT bridge start before it; docs/server-code.md);
 * when the server never listened (a failed start) the link has no port.
 * "s" may be NULL (a tool without a server): "http://localhost".
 * Thread-safe. */
void srv_public_url(const srv *s, char *out, size_t cap);

/* Let srv_public_url() go on: called by main() once http_start() has set
 * s->port, and before any thread is stopped after a failed start (a thread
 * waiting in srv_public_url() would never be joined). Idempotent. */
void srv_publish_port(srv *s);

#endif
