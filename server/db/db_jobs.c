/* Storage of the background jobs' locks (see db_jobs.h). */
#define _POSIX_C_SOURCE 200809L
#include "db_jobs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_account.h"
#include "db_apps.h"

static db_stmt st_job_lock = {"job_try_lock",
    "SELECT pg_try_advisory_xact_lock(hashtext('metron.job.' || $1))", 0};

db_status db_job_try_lock(db_conn *c, const char *name, bool *got)
{
    const char *p[] = {name};
    PGresult *res = NULL;
    db_status st = db_exec(c, &st_job_lock, 1, p, &res);
    *got = st == DB_OK && PQntuples(res) == 1 && PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    return st;
}
