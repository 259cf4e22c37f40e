/* Storage of each user's notifications inbox (N1). Every statement
 * filters by account_id (and user_id); rows are mapped with db_rows_map() (db_apps.h),
 * strings are heap copies, times ISO 8601 UTC. */
#ifndef MTS_DB_NOTIFICATIONS_H
#define MTS_DB_NOTIFICATIONS_H

#include <stdbool.h>
#include <stddef.h>

#include "db.h"

typedef struct {
    long long id;
    char *kind;
    char *title;
    char *body;
    char *data; /* JSON text */
    char *created_at;
    char *read_at; /* NULL = unread */
} db_notification;

/* The user's notifications, newest first (created_at, then id), only the
 * unread ones when "unread_only"; at most "limit" from "offset"; *total =
 * how many match the filter, *unread = how many are unread. */
db_status db_notification_list(db_conn *c, long long account_id, long long user_id,
                               bool unread_only, int limit, int offset, db_notification **out,
                               int *n, long long *total, long long *unread);

void db_notification_free(db_notification *rows, int n);

db_status db_notification_unread(db_conn *c, long long account_id, long long user_id,
                                 long long *unread);

/* Mark one read (kept when already read); *found false when it is not one
 * of the user's. */
db_status db_notification_mark(db_conn *c, long long account_id, long long user_id,
                               long long id, bool *found);

/* Mark every unread one read; *marked = how many. */
db_status db_notification_mark_all(db_conn *c, long long account_id, long long user_id,
                                   long long *marked);

#endif
