/* Storage used per account (see db_storage.h). */
#include "db_storage.h"

#include "db_account.h"

static db_stmt st_used = {"storage_used",
    "SELECT " DB_STORAGE_USED_SQL("a") " FROM accounts a WHERE a.id = $1", 0};

db_status db_storage_used(db_conn *c, long long account_id, long long *bytes)
{
    char id[24];
    const char *p[] = {db_ll(account_id, id)};
    *bytes = 0;
    return db_q_int(c, &st_used, 1, p, bytes, NULL);
}

static db_stmt st_add_drive = {"storage_add_drive",
    "INSERT INTO account_storage (account_id, drive_bytes) VALUES ($1, greatest($2::bigint, 0)) "
    "ON CONFLICT (account_id) DO UPDATE "
    "SET drive_bytes = greatest(account_storage.drive_bytes + $2::bigint, 0)", 0};

static db_stmt st_add_data = {"storage_add_data",
    "INSERT INTO account_storage (account_id, data_bytes) VALUES ($1, greatest($2::bigint, 0)) "
    "ON CONFLICT (account_id) DO UPDATE "
    "SET data_bytes = greatest(account_storage.data_bytes + $2::bigint, 0)", 0};

static db_status add(db_conn *c, db_stmt *st, long long account_id, long long delta)
{
    char id[24], d[24];
    const char *p[] = {db_ll(account_id, id), db_ll(delta, d)};
    return db_q_exec(c, st, 2, p, NULL);
}

db_status db_storage_add_drive(db_conn *c, long long account_id, long long delta)
{
    return add(c, &st_add_drive, account_id, delta);
}

db_status db_storage_add_data(db_conn *c, long long account_id, long long delta)
{
    return add(c, &st_add_data, account_id, delta);
}
