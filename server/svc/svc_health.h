/* The health of the service (GET /api/v1/health; docs/server.md): whether
 * PostgreSQL answers and whether changes are heard. Public: it tells
 * nothing about data. */
#ifndef MTS_SVC_HEALTH_H
#define MTS_SVC_HEALTH_H

#include <stdbool.h>

#include "metrics.h"
#include "srv.h"

/* How long the check waits for a pooled connection: an overloaded server
 * says "busy" within this time. */
#define SVC_HEALTH_WAIT_MS 2000

typedef struct {
    bool ok;             /* the database answered */
    const char *db;      /* "ok", "busy" (no free connection in time) or "down" */
    bool changes_heard;  /* the auth listener hears committed changes (db_listen.h) */
    /* Backups (O3): "off" (no WAL archiving), "ok", "failing" (the last
     * archiving attempt failed), or "unknown" (the database did not answer) */
    const char *backup;
    double last_archived_at; /* Unix seconds, 0 = never */
    metrics_replica_state replica; /* the read replica (metrics.h) */
} svc_health;

/* Check the database (SELECT 1 on a pooled connection) and read the
 * listener's state into "out". */
void svc_health_check(srv *s, svc_health *out);

#endif
