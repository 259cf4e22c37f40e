/* Storage of inquiries (G5). Every statement
 * filters by account_id; rows are mapped with db_rows_map() (db_apps.h),
 * strings are heap copies, times ISO 8601 UTC. */
#ifndef MTS_DB_INQUIRIES_H
#define MTS_DB_INQUIRIES_H

#include <stdbool.h>
#include <stddef.h>

#include "db.h"

typedef struct {
    long long id;
    long long user_id; /* 0 = the user was deleted */
    char *kind;
    char *subject;
    char *body;
    bool allow_remote_access;
    char *status;
    char *created_at;
} db_inquiry;

db_status db_inquiry_insert(db_conn *c, long long account_id, long long user_id,
                            const char *kind, const char *subject, const char *body,
                            bool allow_remote_access, long long *id);

/* Inquiries of the account, newest first; "user_id" 0 = all, else only that
 * user's; at most "limit" from "offset", and *total of them all. */
db_status db_inquiry_list(db_conn *c, long long account_id, long long user_id, int limit,
                          int offset, db_inquiry **out, int *n, long long *total);

db_status db_inquiry_get(db_conn *c, long long account_id, long long user_id, long long id,
                         db_inquiry *out, bool *found);

void db_inquiry_free(db_inquiry *rows, int n);
void db_inquiry_clear(db_inquiry *row);

#endif
