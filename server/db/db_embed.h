/* The embedded default database: a private PostgreSQL cluster in DATA/pg,
 * created on first start (initdb: UTF8, trust authentication, superuser
 * "postgres"), started on a free loopback port with its unix sockets in the
 * cluster folder, and stopped (pg_ctl stop -m fast) by db_embed_stop().
 * Started as root, the PostgreSQL programs run as the "postgres" system user
 * (METRON_PG_USER overrides): the folder is chown'ed to it, and every program
 * is started by fork + setgid/setuid + exec (never through a shell). The
 * postmaster runs in its own session, so a Ctrl-C meant for the server does
 * not reach it: the server stops it in order, after the last request. */
#ifndef MTS_DB_EMBED_H
#define MTS_DB_EMBED_H

#include <stddef.h>

typedef struct db_embed db_embed;

/* Create (if needed) and start the cluster in "data_dir"/pg using the
 * PostgreSQL programs in "pg_bin", and create the database "metron". On
 * success returns 0, *out is set (stop and free it with db_embed_stop()) and
 * "conninfo" holds the libpq connection string. On failure returns -1 with a
 * one-line message in "err"; nothing is left running. "data_dir" must be an
 * absolute path. */
int db_embed_start(const char *data_dir, const char *pg_bin, db_embed **out, char *conninfo,
                   size_t conninfo_cap, char *err, size_t err_cap);

/* Stop the cluster (fast shutdown: open sessions are ended) and free "e"
 * (may be NULL). */
void db_embed_stop(db_embed *e);

#endif
