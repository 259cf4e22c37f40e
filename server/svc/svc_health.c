/* The health of the service (see svc_health.h). */
#include "svc_health.h"

#include "auth.h"
#include "db.h"
#include "db_ops.h"

void svc_health_check(srv *s, svc_health *out)
{
    db_status st = db_ping(s->pool, SVC_HEALTH_WAIT_MS);
    out->ok = st == DB_OK;
    out->db = st == DB_OK ? "ok" : st == DB_BUSY ? "busy" : "down";
    out->changes_heard = auth_listening();
    out->backup = "unknown";
    out->last_archived_at = 0;
    if (st == DB_OK) {
        db_conn *c = NULL;
        bool archiving = false;
        double ok_at = 0, failed_at = 0;
        if (db_acquire(s->pool, SVC_HEALTH_WAIT_MS, &c) == DB_OK &&
            db_ops_archiver(c, &archiving, &ok_at, &failed_at) == DB_OK) {
            out->backup = !archiving ? "off" : failed_at > ok_at ? "failing" : "ok";
            out->last_archived_at = ok_at;
        }
        db_release(s->pool, c);
    }
    metrics_replica(&out->replica);
}
