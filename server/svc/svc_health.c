/* The health of the service (see svc_health.h). */
#include "svc_health.h"

#include "auth.h"
#include "db.h"

void svc_health_check(srv *s, svc_health *out)
{
    db_status st = db_ping(s->pool, SVC_HEALTH_WAIT_MS);
    out->ok = st == DB_OK;
    out->db = st == DB_OK ? "ok" : st == DB_BUSY ? "busy" : "down";
    out->changes_heard = auth_listening();
}
