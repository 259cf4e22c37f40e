/* Storage of notification destinations (see db_destinations.h). */
#define _POSIX_C_SOURCE 200809L
#include "db_destinations.h"

#include <stddef.h>
#include <stdio.h>

#include "db_account.h"
#include "db_rows.h"

static const db_field dest_fields[] = {
    {DBF_I64, offsetof(db_destination, id)},
    {DBF_STR, offsetof(db_destination, kind)},
    {DBF_STR, offsetof(db_destination, name)},
    {DBF_STR, offsetof(db_destination, address)},
    {DBF_STR, offsetof(db_destination, language)},
    {DBF_BOOL, offsetof(db_destination, enabled)},
    {DBF_STR, offsetof(db_destination, created_at)},
    {DBF_STR, offsetof(db_destination, updated_at)},
    {DBF_STR, offsetof(db_destination, last_state)},
    {DBF_STR, offsetof(db_destination, last_at)},
    {DBF_STR, offsetof(db_destination, last_error)},
};
#define N_DEST (int)(sizeof dest_fields / sizeof dest_fields[0])

#define DEST_COLS                                                                            \
    "SELECT d.id, d.kind, d.name, d.address, d.language, d.enabled, " DB_ISO("d.created_at")  \
    ", " DB_ISO("d.updated_at") ", l.state, " DB_ISO("COALESCE(l.sent_at, l.created_at)")     \
    ", l.last_error FROM notify_destinations d "                                             \
    "LEFT JOIN LATERAL (SELECT o.state, o.sent_at, o.created_at, o.last_error "              \
    "  FROM notify_outbox o WHERE o.account_id = d.account_id AND o.destination_id = d.id "   \
    "  ORDER BY o.id DESC LIMIT 1) l ON true "

static db_stmt st_dest_list = {"dest_list", DEST_COLS "WHERE d.account_id = $1 ORDER BY d.id", 0};
static db_stmt st_dest_get = {"dest_get",
    DEST_COLS "WHERE d.account_id = $1 AND d.id = $2", 0};
static db_stmt st_dest_count = {"dest_count",
    "SELECT count(*) FROM notify_destinations WHERE account_id = $1", 0};
static db_stmt st_dest_insert = {"dest_insert",
    "INSERT INTO notify_destinations (account_id, kind, name, address, language, enabled) "
    "VALUES ($1, $2, $3, $4, $5, $6) RETURNING id", 0};
static db_stmt st_dest_update = {"dest_update",
    "UPDATE notify_destinations SET kind = $3, name = $4, address = $5, language = $6, "
    " enabled = $7 WHERE account_id = $1 AND id = $2", 0};
static db_stmt st_dest_delete = {"dest_delete",
    "DELETE FROM notify_destinations WHERE account_id = $1 AND id = $2", 0};

db_status db_destination_list(db_conn *c, long long account_id, db_destination **out, int *n)
{
    char a[24];
    const char *p[] = {a};
    DB_ID(a, account_id);
    return db_exec_rows(c, &st_dest_list, 1, p, dest_fields, N_DEST, sizeof(db_destination),
                        (void **)out, n);
}

db_status db_destination_get(db_conn *c, long long account_id, long long id,
                             db_destination *out, bool *found)
{
    char a[24], i[24];
    const char *p[] = {a, i};
    DB_ID(a, account_id);
    DB_ID(i, id);
    return db_exec_one(c, &st_dest_get, 2, p, dest_fields, N_DEST, sizeof(db_destination), out,
                       found);
}

void db_destination_free(db_destination *rows, int n)
{
    db_rows_free(rows, n, dest_fields, N_DEST, sizeof(db_destination));
}

void db_destination_clear(db_destination *row)
{
    db_row_clear(row, dest_fields, N_DEST);
}

db_status db_destination_count(db_conn *c, long long account_id, long long *out)
{
    char a[24];
    const char *p[] = {a};
    DB_ID(a, account_id);
    return db_q_int(c, &st_dest_count, 1, p, out, NULL);
}

db_status db_destination_insert(db_conn *c, long long account_id, const char *kind,
                                const char *name, const char *address, const char *language,
                                bool enabled, long long *id)
{
    char a[24];
    const char *p[] = {a, kind, name, address, language, enabled ? "true" : "false"};
    DB_ID(a, account_id);
    return db_q_int(c, &st_dest_insert, 6, p, id, NULL);
}

db_status db_destination_update(db_conn *c, long long account_id, long long id,
                                const char *kind, const char *name, const char *address,
                                const char *language, bool enabled, bool *found)
{
    char a[24], i[24];
    const char *p[] = {a, i, kind, name, address, language, enabled ? "true" : "false"};
    DB_ID(a, account_id);
    DB_ID(i, id);
    return db_exec_found(c, &st_dest_update, 7, p, found);
}

db_status db_destination_delete(db_conn *c, long long account_id, long long id, bool *found)
{
    char a[24], i[24];
    const char *p[] = {a, i};
    DB_ID(a, account_id);
    DB_ID(i, id);
    return db_exec_found(c, &st_dest_delete, 2, p, found);
}
