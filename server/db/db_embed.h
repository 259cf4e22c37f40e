/* The embedded default database: a private PostgreSQL cluster in DATA/pg,
 * created on first start (initdb: UTF8, superuser "postgres", no trust
 * authentication anywhere), started with no TCP at all (listen_addresses =
 * '') and its unix socket in the 0700 cluster folder, or in a private 0700
 * folder /tmp/metron-pgsock-XXXXXX when that path is too long for a unix socket
 * address, and stopped (pg_ctl stop -m fast) by db_embed_stop().
 *
 * Authentication (docs/server.md "The embedded PostgreSQL"): pg_hba.conf is
 * rewritten at every start to SCRAM only ("local all all scram-sha-256", no
 * host lines, no replication lines); the postgres role's password is 256
 * random bits kept in DATA/pg/metron.pgpass (mode 0600, a pgpass file). When
 * that file is missing or unusable (a new cluster, a cluster created by an
 * older version with trust authentication, a file others could read), the
 * cluster is first started with only "local postgres postgres peer" for the
 * server's own OS user, a new password is set, and pg_hba.conf is switched to
 * SCRAM before anything else connects.
 *
 * Started as root, the PostgreSQL programs run as the "postgres" system user
 * (METRON_PG_USER overrides): the folder is chown'ed to it, and every program
 * is started by fork + setgid/setuid + exec (never through a shell). The
 * postmaster runs in its own session, so a Ctrl-C meant for the server does
 * not reach it: the server stops it in order, after the last request. */
#ifndef MTS_DB_EMBED_H
#define MTS_DB_EMBED_H

#include <stdbool.h>
#include <stddef.h>

typedef struct db_embed db_embed;

/* server/db/pg_tuning.conf, compiled in (pg_tuning_gen.c): settings that
 * metron.conf gives the embedded cluster after its own. */
extern const char db_pg_tuning[];

/* Backups (O3, docs/operations.md "Backups and restore"): with
 * METRON_BACKUP set to a repository folder (an absolute path; unset or
 * empty = none), DATA/pgbackrest.conf is written at every start (stanza
 * "metron": this cluster and that repository, full backups kept 7 days),
 * the cluster archives its WAL with pgBackRest (archive_mode on,
 * archive_timeout 60 s) and the stanza is created or checked once the
 * cluster runs. The backups themselves are taken by scripts/backup (a daily
 * timer); scripts/restore restores.
 *
 * Create (if needed) and start the cluster in "data_dir"/pg using the
 * PostgreSQL programs in "pg_bin", and create the database "metron". On
 * success returns 0, *out is set (stop and free it with db_embed_stop()) and
 * "conninfo" holds the libpq connection string (it carries the password:
 * never log it). On failure returns -1 with a one-line message in "err";
 * nothing is left running. "data_dir" must be an absolute path. */
int db_embed_start(const char *data_dir, const char *pg_bin, db_embed **out, char *conninfo,
                   size_t conninfo_cap, char *err, size_t err_cap);

/* Stop the cluster (fast shutdown: open sessions are ended), remove its
 * private socket folder if it has one, and free "e" (may be NULL). */
void db_embed_stop(db_embed *e);

/* At most this many replication lines (db_embed_allow_replication()). */
#define DB_EMBED_MAX_REPLICATION 8

/* The seam for a later streaming standby; nothing calls it yet, so no
 * replication is allowed. Adds "host replication ROLE CIDR scram-sha-256" to
 * pg_hba.conf for "role" (a plain lower-case identifier: [a-z_][a-z0-9_]*,
 * at most 63 bytes; not a pg_hba.conf keyword such as "all", not pg_*, and
 * not "postgres", whose password stays on the unix socket) connecting from
 * "cidr" ("10.0.0.7/32", "fd00::/64"),
 * rewrites pg_hba.conf and reloads the cluster. It neither creates the role
 * (WITH REPLICATION and a password) nor opens TCP (listen_addresses stays
 * ''): the caller does both. pg_hba.conf is rewritten at every start, so the
 * line lasts until db_embed_stop(): call it after every db_embed_start().
 * Returns 0, or -1 with a message in "err" (a bad role or CIDR, more than
 * DB_EMBED_MAX_REPLICATION lines, a failed write or reload). Not
 * thread-safe. */
int db_embed_allow_replication(db_embed *e, const char *role, const char *cidr, char *err,
                               size_t err_cap);

/* Internal, declared for the unit tests (tests/server/unit/test_db_embed.c). */

/* Whether a cluster whose pg_controldata "Database cluster state" is
 * "state" must not be started but restored again: in archive recovery
 * ("shut down in recovery", or "in archive recovery" after a crash) with
 * neither recovery.signal nor standby.signal, so that PostgreSQL would run
 * crash recovery over all the WAL in pg_wal, past a restore's instant. A
 * standby (standby.signal) and an interrupted restore that put
 * recovery.signal back are started. */
bool db_embed__state_needs_restore(const char *state, bool recovery_signal, bool standby_signal);

/* One replication line of pg_hba.conf. */
typedef struct {
    char role[64];
    char cidr[64];
} db_embed_repl;

/* Check "role" and "cidr" as db_embed_allow_replication() describes and copy
 * them into "out". Returns 0, or -1 with a message in "err". */
int db_embed__repl_parse(const char *role, const char *cidr, db_embed_repl *out, char *err,
                         size_t err_cap);

/* Write the text of pg_hba.conf into "out": with "bootstrap" set, only the
 * peer line the server uses to set a new password (map "metron" of
 * pg_ident.conf); otherwise SCRAM on the unix socket plus one line per entry
 * of "repl" ("n_repl" entries, already checked). Returns 0, or -1 when "cap"
 * is too small. */
int db_embed__hba_text(char *out, size_t cap, int bootstrap, const db_embed_repl *repl,
                       size_t n_repl);

#endif
