/* Storage of inquiries (G5; see db_inquiries.h). */
#define _POSIX_C_SOURCE 200809L
#include "db_inquiries.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_account.h"
#include "db_apps.h"


static const db_field inquiry_fields[] = {
    {DBF_I64, offsetof(db_inquiry, id)},
    {DBF_I64, offsetof(db_inquiry, user_id)},
    {DBF_STR, offsetof(db_inquiry, kind)},
    {DBF_STR, offsetof(db_inquiry, subject)},
    {DBF_STR, offsetof(db_inquiry, body)},
    {DBF_BOOL, offsetof(db_inquiry, allow_remote_access)},
    {DBF_STR, offsetof(db_inquiry, status)},
    {DBF_STR, offsetof(db_inquiry, created_at)},
};
#define N_INQUIRY (int)(sizeof inquiry_fields / sizeof inquiry_fields[0])

#define INQUIRY_COLS                                                                         \
    "SELECT id, user_id, kind, subject, body, allow_remote_access, status, "                 \
    DB_ISO("created_at") " FROM inquiries "

static db_stmt st_inquiry_insert = {"admb_inquiry_insert",
    "INSERT INTO inquiries (account_id, user_id, kind, subject, body, allow_remote_access) "
    "VALUES ($1, $2, $3, $4, $5, $6) RETURNING id", 0};
static db_stmt st_inquiry_list = {"admb_inquiry_list",
    INQUIRY_COLS "WHERE account_id = $1 AND ($2::bigint IS NULL OR user_id = $2) "
    "ORDER BY created_at DESC, id DESC LIMIT $3 OFFSET $4", 0};
static db_stmt st_inquiry_count = {"admb_inquiry_count",
    "SELECT count(*) FROM inquiries WHERE account_id = $1 AND ($2::bigint IS NULL "
    " OR user_id = $2)", 0};
static db_stmt st_inquiry_get = {"admb_inquiry_get",
    INQUIRY_COLS "WHERE account_id = $1 AND ($2::bigint IS NULL OR user_id = $2) AND id = $3",
    0};

db_status db_inquiry_insert(db_conn *c, long long account_id, long long user_id,
                            const char *kind, const char *subject, const char *body,
                            bool allow_remote_access, long long *id)
{
    char a[24], u[24];
    const char *p[] = {a, user_id > 0 ? u : NULL, kind, subject, body,
                       allow_remote_access ? "true" : "false"};
    DB_ID(a, account_id);
    DB_ID(u, user_id);
    return db_q_int(c, &st_inquiry_insert, 6, p, id, NULL);
}

db_status db_inquiry_list(db_conn *c, long long account_id, long long user_id, int limit,
                          int offset, db_inquiry **out, int *n, long long *total)
{
    char a[24], u[24], l[24], o[24];
    const char *p[] = {a, user_id > 0 ? u : NULL, l, o};
    db_status st;
    DB_ID(a, account_id);
    DB_ID(u, user_id);
    DB_ID(l, limit);
    DB_ID(o, offset);
    st = db_exec_rows(c, &st_inquiry_list, 4, p, inquiry_fields, N_INQUIRY, sizeof(db_inquiry),
                   (void **)out, n);
    if (st == DB_OK) {
        st = db_q_int(c, &st_inquiry_count, 2, p, total, NULL);
    }
    return st;
}

db_status db_inquiry_get(db_conn *c, long long account_id, long long user_id, long long id,
                         db_inquiry *out, bool *found)
{
    char a[24], u[24], i[24];
    const char *p[] = {a, user_id > 0 ? u : NULL, i};
    DB_ID(a, account_id);
    DB_ID(u, user_id);
    DB_ID(i, id);
    return db_exec_one(c, &st_inquiry_get, 3, p, inquiry_fields, N_INQUIRY, sizeof(db_inquiry),
                    out, found);
}

void db_inquiry_free(db_inquiry *rows, int n)
{
    db_rows_free(rows, n, inquiry_fields, N_INQUIRY, sizeof(db_inquiry));
}

void db_inquiry_clear(db_inquiry *row)
{
    db_row_clear(row, inquiry_fields, N_INQUIRY);
}
