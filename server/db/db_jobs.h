/* Storage of the advisory lock of a background job round (jobs.c). */
#ifndef MTS_DB_JOBS_H
#define MTS_DB_JOBS_H

#include <stdbool.h>
#include <stddef.h>

#include "db.h"

/* Background jobs (jobs.c): take the transaction-level advisory lock of
 * the job "name" if no other session holds it (*got). */
db_status db_job_try_lock(db_conn *c, const char *name, bool *got);

#endif
