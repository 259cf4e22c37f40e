/* The operator's services (see svc_ops.h). */
#include "svc_ops.h"

#include <string.h>

#include "auth.h"

bool svc_ops_queues(srv *s, int wait_ms, db_ops_queues *out)
{
    db_conn *c = NULL;
    db_status st = db_acquire(s->pool, wait_ms, &c);
    memset(out, 0, sizeof *out);
    if (st == DB_OK) {
        st = db_ops_queue_depths(c, (long long)auth_now(), out);
    }
    db_release(s->pool, c);
    return st == DB_OK;
}
