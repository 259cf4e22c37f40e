/* Storage of recipients, inquiries, the logo and the inbox (db_misc.h). */
#define _POSIX_C_SOURCE 200809L
#include "db_misc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_account.h"
#include "db_apps.h"

#define ISO(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
#define ID(buf, v) snprintf(buf, sizeof buf, "%lld", (long long)(v))

/* ------------------------------------------------------------ recipients */

static const db_field recipient_fields[] = {
    {DBF_I64, offsetof(db_recipient, id)},
    {DBF_STR, offsetof(db_recipient, kind)},
    {DBF_STR, offsetof(db_recipient, name)},
    {DBF_STR, offsetof(db_recipient, address)},
    {DBF_STR, offsetof(db_recipient, language)},
    {DBF_BOOL, offsetof(db_recipient, enabled)},
    {DBF_STR, offsetof(db_recipient, created_at)},
    {DBF_STR, offsetof(db_recipient, updated_at)},
};
#define N_RECIPIENT (int)(sizeof recipient_fields / sizeof recipient_fields[0])

#define RECIPIENT_COLS                                                                       \
    "SELECT id, channel, name, address, language, enabled, " ISO("created_at") ", "          \
    ISO("updated_at") " FROM system_notification_recipients "

static db_stmt st_recipient_list = {"admb_recipient_list",
    RECIPIENT_COLS "WHERE account_id = $1 ORDER BY id", 0};
static db_stmt st_recipient_get = {"admb_recipient_get",
    RECIPIENT_COLS "WHERE account_id = $1 AND id = $2", 0};
static db_stmt st_recipient_insert = {"admb_recipient_insert",
    "INSERT INTO system_notification_recipients (account_id, channel, name, address, language, "
    " enabled) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id", 0};
static db_stmt st_recipient_update = {"admb_recipient_update",
    "UPDATE system_notification_recipients SET channel = $3, name = $4, address = $5, "
    " language = $6, enabled = $7 WHERE account_id = $1 AND id = $2", 0};
static db_stmt st_recipient_delete = {"admb_recipient_delete",
    "DELETE FROM system_notification_recipients WHERE account_id = $1 AND id = $2", 0};

db_status db_recipient_list(db_conn *c, long long account_id, db_recipient **out, int *n)
{
    char a[24];
    const char *p[] = {a};
    ID(a, account_id);
    return db_exec_rows(c, &st_recipient_list, 1, p, recipient_fields, N_RECIPIENT,
                     sizeof(db_recipient), (void **)out, n);
}

db_status db_recipient_get(db_conn *c, long long account_id, long long id, db_recipient *out,
                           bool *found)
{
    char a[24], i[24];
    const char *p[] = {a, i};
    ID(a, account_id);
    ID(i, id);
    return db_exec_one(c, &st_recipient_get, 2, p, recipient_fields, N_RECIPIENT,
                    sizeof(db_recipient), out, found);
}

void db_recipient_free(db_recipient *rows, int n)
{
    db_rows_free(rows, n, recipient_fields, N_RECIPIENT, sizeof(db_recipient));
}

void db_recipient_clear(db_recipient *row)
{
    db_row_clear(row, recipient_fields, N_RECIPIENT);
}

db_status db_recipient_insert(db_conn *c, long long account_id, const char *kind,
                              const char *name, const char *address, const char *language,
                              bool enabled, long long *id)
{
    char a[24];
    const char *p[] = {a, kind, name, address, language, enabled ? "true" : "false"};
    ID(a, account_id);
    return db_q_int(c, &st_recipient_insert, 6, p, id, NULL);
}

db_status db_recipient_update(db_conn *c, long long account_id, long long id, const char *kind,
                              const char *name, const char *address, const char *language,
                              bool enabled, bool *found)
{
    char a[24], i[24];
    const char *p[] = {a, i, kind, name, address, language, enabled ? "true" : "false"};
    ID(a, account_id);
    ID(i, id);
    return db_exec_found(c, &st_recipient_update, 7, p, found);
}

db_status db_recipient_delete(db_conn *c, long long account_id, long long id, bool *found)
{
    char a[24], i[24];
    const char *p[] = {a, i};
    ID(a, account_id);
    ID(i, id);
    return db_exec_found(c, &st_recipient_delete, 2, p, found);
}

/* ------------------------------------------------------------- inquiries */

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
    ISO("created_at") " FROM inquiries "

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
    ID(a, account_id);
    ID(u, user_id);
    return db_q_int(c, &st_inquiry_insert, 6, p, id, NULL);
}

db_status db_inquiry_list(db_conn *c, long long account_id, long long user_id, int limit,
                          int offset, db_inquiry **out, int *n, long long *total)
{
    char a[24], u[24], l[24], o[24];
    const char *p[] = {a, user_id > 0 ? u : NULL, l, o};
    db_status st;
    ID(a, account_id);
    ID(u, user_id);
    ID(l, limit);
    ID(o, offset);
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
    ID(a, account_id);
    ID(u, user_id);
    ID(i, id);
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

/* ------------------------------------------------------------------ logo */

static db_stmt st_logo_get = {"admb_logo_get",
    "SELECT logo_content_type, encode(logo, 'hex') FROM accounts "
    "WHERE id = $1 AND logo IS NOT NULL", 0};
static db_stmt st_logo_set = {"admb_logo_set",
    "UPDATE accounts SET logo = decode($2, 'hex'), logo_content_type = $3 WHERE id = $1", 0};
static db_stmt st_logo_delete = {"admb_logo_delete",
    "UPDATE accounts SET logo = NULL, logo_content_type = NULL "
    "WHERE id = $1 AND logo IS NOT NULL", 0};

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9') {
        return ch - '0';
    }
    if (ch >= 'a' && ch <= 'f') {
        return ch - 'a' + 10;
    }
    if (ch >= 'A' && ch <= 'F') {
        return ch - 'A' + 10;
    }
    return -1;
}

db_status db_logo_get(db_conn *c, long long account_id, unsigned char **data, size_t *len,
                      char *content_type, size_t ct_cap, bool *found)
{
    char a[24];
    const char *p[] = {a};
    PGresult *res = NULL;
    db_status st;
    ID(a, account_id);
    *data = NULL;
    *len = 0;
    *found = false;
    st = db_exec(c, &st_logo_get, 1, p, &res);
    if (st == DB_OK && PQntuples(res) == 1) {
        const char *hex = PQgetvalue(res, 0, 1);
        size_t hex_len = (size_t)PQgetlength(res, 0, 1), n = hex_len / 2;
        unsigned char *buf = malloc(n > 0 ? n : 1);
        if (buf == NULL) {
            st = DB_ERROR;
        } else {
            for (size_t i = 0; i < n; i++) {
                buf[i] = (unsigned char)(hexval(hex[2 * i]) << 4 | hexval(hex[2 * i + 1]));
            }
            snprintf(content_type, ct_cap, "%s", PQgetvalue(res, 0, 0));
            *data = buf;
            *len = n;
            *found = true;
        }
    }
    PQclear(res);
    return st;
}

db_status db_logo_set(db_conn *c, long long account_id, const char *data_hex,
                      const char *content_type)
{
    char a[24];
    const char *p[] = {a, data_hex, content_type};
    ID(a, account_id);
    return db_exec(c, &st_logo_set, 3, p, NULL);
}

db_status db_logo_delete(db_conn *c, long long account_id, bool *found)
{
    char a[24];
    const char *p[] = {a};
    ID(a, account_id);
    return db_exec_found(c, &st_logo_delete, 1, p, found);
}

/* --------------------------------------------------------- notifications */

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
    "SELECT id, kind, title, body, data::text, " ISO("created_at") ", " ISO("read_at")
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
    ID(a, account_id);
    ID(u, user_id);
    ID(l, limit);
    ID(o, offset);
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
    ID(a, account_id);
    ID(u, user_id);
    return db_q_int(c, &st_notification_unread, 2, p, unread, NULL);
}

db_status db_notification_mark(db_conn *c, long long account_id, long long user_id,
                               long long id, bool *found)
{
    char a[24], u[24], i[24];
    const char *p[] = {a, u, i};
    ID(a, account_id);
    ID(u, user_id);
    ID(i, id);
    return db_exec_found(c, &st_notification_mark, 3, p, found);
}

db_status db_notification_mark_all(db_conn *c, long long account_id, long long user_id,
                                   long long *marked)
{
    char a[24], u[24];
    const char *p[] = {a, u};
    PGresult *res = NULL;
    db_status st;
    ID(a, account_id);
    ID(u, user_id);
    st = db_exec(c, &st_notification_mark_all, 2, p, &res);
    *marked = st == DB_OK ? strtoll(PQcmdTuples(res), NULL, 10) : 0;
    PQclear(res);
    return st;
}

/* ------------------------------------------------------------------- jobs */

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
