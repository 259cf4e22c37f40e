/* Storage of the recipients of system notifications (G4). Every statement
 * filters by account_id; rows are mapped with db_rows_map() (db_apps.h),
 * strings are heap copies, times ISO 8601 UTC. */
#ifndef MTS_DB_RECIPIENTS_H
#define MTS_DB_RECIPIENTS_H

#include <stdbool.h>
#include <stddef.h>

#include "db.h"

typedef struct {
    long long id;
    char *kind; /* email, wechat, slack, teams (column "channel") */
    char *name;
    char *address;
    char *language;
    bool enabled;
    char *created_at;
    char *updated_at;
} db_recipient;

db_status db_recipient_list(db_conn *c, long long account_id, db_recipient **out, int *n);
db_status db_recipient_get(db_conn *c, long long account_id, long long id, db_recipient *out,
                           bool *found);
void db_recipient_free(db_recipient *rows, int n);
void db_recipient_clear(db_recipient *row);

db_status db_recipient_insert(db_conn *c, long long account_id, const char *kind,
                              const char *name, const char *address, const char *language,
                              bool enabled, long long *id);

/* Set every field (the caller merged the old values in). */
db_status db_recipient_update(db_conn *c, long long account_id, long long id, const char *kind,
                              const char *name, const char *address, const char *language,
                              bool enabled, bool *found);

db_status db_recipient_delete(db_conn *c, long long account_id, long long id, bool *found);

#endif
