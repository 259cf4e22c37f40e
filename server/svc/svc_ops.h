/* The operator's services (docs/operations.md): what GET /metrics reads from
 * the database. */
#ifndef MTS_SVC_OPS_H
#define MTS_SVC_OPS_H

#include <stdbool.h>

#include "db_ops.h"
#include "svc.h"

/* Read the queue depths, the compactor's lag and WAL archiving into "out"
 * at the server's clock. Returns false when the database did not answer
 * within "wait_ms" ("out" zeroed). */
bool svc_ops_queues(srv *s, int wait_ms, db_ops_queues *out);

#endif
