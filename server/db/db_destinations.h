/* Storage of notification destinations (R8, migration 013). Every statement
 * filters by account_id; rows are mapped with db_rows_map() (db_rows.h),
 * strings are heap copies, times ISO 8601 UTC. The address is returned
 * whole: masking it is the service's business (svc_destinations.h). */
#ifndef MTS_DB_DESTINATIONS_H
#define MTS_DB_DESTINATIONS_H

#include <stdbool.h>

#include "db.h"

typedef struct {
    long long id;
    char *kind; /* email, slack, teams, wechat */
    char *name;
    char *address;
    char *language;
    bool enabled;
    char *created_at;
    char *updated_at;
    /* the latest outbox row to this destination: NULL when none */
    char *last_state;
    char *last_at;
    char *last_error;
} db_destination;

db_status db_destination_list(db_conn *c, long long account_id, db_destination **out, int *n);
db_status db_destination_get(db_conn *c, long long account_id, long long id,
                             db_destination *out, bool *found);
void db_destination_free(db_destination *rows, int n);
void db_destination_clear(db_destination *row);

/* The number of destinations of the account. */
db_status db_destination_count(db_conn *c, long long account_id, long long *out);

db_status db_destination_insert(db_conn *c, long long account_id, const char *kind,
                                const char *name, const char *address, const char *language,
                                bool enabled, long long *id);

/* Set every field (the caller merged the old values in). */
db_status db_destination_update(db_conn *c, long long account_id, long long id,
                                const char *kind, const char *name, const char *address,
                                const char *language, bool enabled, bool *found);

db_status db_destination_delete(db_conn *c, long long account_id, long long id, bool *found);

#endif
