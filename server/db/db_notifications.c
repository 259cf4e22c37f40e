/* Storage of the notifications inbox (N1; see db_notifications.h). */
#define _POSIX_C_SOURCE 200809L
#include "db_notifications.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_account.h"
#include "db_apps.h"


static const db_field notification_fields[] = {
    {DBF_I64, offsetof(db_notification, id)},
    {DBF_STR, offsetof(db_notification, kind)},
    {DBF_STR, offsetof(db_notification, title)},
    {DBF_STR, offsetof(db_notification, body)},
    {DBF_STR, offsetof(db_notification, data)},
    {DBF_STR, offsetof(db_notification, created_at)},
    {DBF_STR, offsetof(db_notification, read_at)},
};
#define N_NOTIFICATION (int)(sizeof notification_fields / sizeof notification_fields[0])

static db_stmt st_notification_list = {"admb_notification_list",
    "SELECT id, kind, title, body, data::text, " DB_ISO("created_at") ", " DB_ISO("read_at")
    " FROM notifications WHERE account_id = $1 AND user_id = $2 "
    "AND (NOT $3::boolean OR read_at IS NULL) "
    "ORDER BY created_at DESC, id DESC LIMIT $4 OFFSET $5", 0};
static db_stmt st_notification_counts = {"admb_notification_counts",
    "SELECT count(*) FILTER (WHERE NOT $3::boolean OR read_at IS NULL), "
    " count(*) FILTER (WHERE read_at IS NULL) "
    "FROM notifications WHERE account_id = $1 AND user_id = $2", 0};
static db_stmt st_notification_unread = {"admb_notification_unread",
    "SELECT count(*) FROM notifications WHERE account_id = $1 AND user_id = $2 "
    "AND read_at IS NULL", 0};
static db_stmt st_notification_mark = {"admb_notification_mark",
    "UPDATE notifications SET read_at = COALESCE(read_at, now()) "
    "WHERE account_id = $1 AND user_id = $2 AND id = $3", 0};
static db_stmt st_notification_mark_all = {"admb_notification_mark_all",
    "UPDATE notifications SET read_at = now() "
    "WHERE account_id = $1 AND user_id = $2 AND read_at IS NULL", 0};

db_status db_notification_list(db_conn *c, long long account_id, long long user_id,
                               bool unread_only, int limit, int offset, db_notification **out,
                               int *n, long long *total, long long *unread)
{
    char a[24], u[24], l[24], o[24];
    const char *p[] = {a, u, unread_only ? "true" : "false", l, o};
    PGresult *res = NULL;
    db_status st;
    DB_ID(a, account_id);
    DB_ID(u, user_id);
    DB_ID(l, limit);
    DB_ID(o, offset);
    *total = *unread = 0;
    st = db_exec_rows(c, &st_notification_list, 5, p, notification_fields, N_NOTIFICATION,
                   sizeof(db_notification), (void **)out, n);
    if (st != DB_OK) {
        return st;
    }
    st = db_exec(c, &st_notification_counts, 3, p, &res);
    if (st == DB_OK && PQntuples(res) == 1) {
        *total = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        *unread = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    }
    PQclear(res);
    if (st != DB_OK) {
        db_notification_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return st;
}

void db_notification_free(db_notification *rows, int n)
{
    db_rows_free(rows, n, notification_fields, N_NOTIFICATION, sizeof(db_notification));
}

db_status db_notification_unread(db_conn *c, long long account_id, long long user_id,
                                 long long *unread)
{
    char a[24], u[24];
    const char *p[] = {a, u};
    DB_ID(a, account_id);
    DB_ID(u, user_id);
    return db_q_int(c, &st_notification_unread, 2, p, unread, NULL);
}

db_status db_notification_mark(db_conn *c, long long account_id, long long user_id,
                               long long id, bool *found)
{
    char a[24], u[24], i[24];
    const char *p[] = {a, u, i};
    DB_ID(a, account_id);
    DB_ID(u, user_id);
    DB_ID(i, id);
    return db_exec_found(c, &st_notification_mark, 3, p, found);
}

db_status db_notification_mark_all(db_conn *c, long long account_id, long long user_id,
                                   long long *marked)
{
    char a[24], u[24];
    const char *p[] = {a, u};
    PGresult *res = NULL;
    db_status st;
    DB_ID(a, account_id);
    DB_ID(u, user_id);
    st = db_exec(c, &st_notification_mark_all, 2, p, &res);
    *marked = st == DB_OK ? strtoll(PQcmdTuples(res), NULL, 10) : 0;
    PQclear(res);
    return st;
}
