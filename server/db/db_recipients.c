/* Storage of system notification recipients (G4; see db_recipients.h). */
#define _POSIX_C_SOURCE 200809L
#include "db_recipients.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_account.h"
#include "db_apps.h"


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
    "SELECT id, channel, name, address, language, enabled, " DB_ISO("created_at") ", "          \
    DB_ISO("updated_at") " FROM system_notification_recipients "

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
    DB_ID(a, account_id);
    return db_exec_rows(c, &st_recipient_list, 1, p, recipient_fields, N_RECIPIENT,
                     sizeof(db_recipient), (void **)out, n);
}

db_status db_recipient_get(db_conn *c, long long account_id, long long id, db_recipient *out,
                           bool *found)
{
    char a[24], i[24];
    const char *p[] = {a, i};
    DB_ID(a, account_id);
    DB_ID(i, id);
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
    DB_ID(a, account_id);
    return db_q_int(c, &st_recipient_insert, 6, p, id, NULL);
}

db_status db_recipient_update(db_conn *c, long long account_id, long long id, const char *kind,
                              const char *name, const char *address, const char *language,
                              bool enabled, bool *found)
{
    char a[24], i[24];
    const char *p[] = {a, i, kind, name, address, language, enabled ? "true" : "false"};
    DB_ID(a, account_id);
    DB_ID(i, id);
    return db_exec_found(c, &st_recipient_update, 7, p, found);
}

db_status db_recipient_delete(db_conn *c, long long account_id, long long id, bool *found)
{
    char a[24], i[24];
    const char *p[] = {a, i};
    DB_ID(a, account_id);
    DB_ID(i, id);
    return db_exec_found(c, &st_recipient_delete, 2, p, found);
}
