#define _POSIX_C_SOURCE 200809L
#include "db_demo.h"

#include <stdio.h>
#include <string.h>

static db_stmt st_find_account = {"demo_find_account",
    "SELECT a.id FROM accounts a WHERE a.login_id = $1 "
    "UNION ALL "
    "SELECT u.account_id FROM users u WHERE $1 IS NULL AND u.email_login "
    "AND lower(u.email) = lower($2)", 0};

/* The licence and trial terms here are demo values only; the rules of
 * sections L and P come from core's licence module. */
static db_stmt st_insert_account = {"demo_insert_account",
    "INSERT INTO accounts (login_id, alt_login_id, name, plan, licence_term_months, "
    " licence_expires_at, trial_expires_at) "
    "VALUES ($1, $2, $3, $4, "
    " CASE WHEN $4 IN ('standard', 'pro') THEN 12 END, "
    " CASE WHEN $4 IN ('standard', 'pro') THEN now() + interval '12 months' END, "
    " CASE WHEN $4 = 'trial' THEN now() + interval '93 days' END) "
    "RETURNING id", 0};

static db_stmt st_insert_user = {"demo_insert_user",
    "INSERT INTO users (account_id, login_id, name, email, email_login, role, file_access, "
    " password_hash) "
    "VALUES ($1, $2, 'Administrator', $3, $4, 'admin', 'edit', $5) RETURNING id", 0};

static db_stmt st_insert_group = {"demo_insert_group",
    "INSERT INTO measurement_groups (account_id, name, description) "
    "VALUES ($1, 'Demo site', 'Created by --demo') RETURNING id", 0};

static db_stmt st_set_current_group = {"demo_set_current_group",
    "UPDATE users SET current_group_id = $3 WHERE account_id = $1 AND id = $2", 0};

static db_stmt st_insert_app = {"demo_insert_app",
    "INSERT INTO apps (account_id, group_id, kind, name) "
    "VALUES ($1, $2, 'one', 'Demo gateway') RETURNING id", 0};

static db_stmt st_insert_device = {"demo_insert_device",
    "INSERT INTO devices (account_id, app_id, model, serial, firmware, name) "
    "VALUES ($1, $2, 'LR8450', $3, '2.10', 'Demo logger') RETURNING id", 0};

static db_stmt st_insert_channels = {"demo_insert_channels",
    "INSERT INTO channels (account_id, device_id, ch_key, name, unit, selected, position) "
    "VALUES ($1, $2, 'CH1_1', 'Temperature', '°C', true, 0), "
    "       ($1, $2, 'CH1_2', 'Humidity', '%RH', true, 1), "
    "       ($1, $2, 'CH2_1', 'Voltage', 'V', false, 2), "
    "       ($1, $2, 'CH2_2', 'Current', 'A', false, 3)", 0};

/* Run "stmt" and copy the first column of its first row into "out". */
static db_status exec_id(db_conn *c, db_stmt *stmt, int n, const char *const *params,
                         char *out, size_t cap)
{
    PGresult *res = NULL;
    db_status st = db_exec(c, stmt, n, params, &res);
    if (st == DB_OK) {
        if (PQntuples(res) < 1) {
            st = DB_ERROR;
        } else {
            snprintf(out, cap, "%s", PQgetvalue(res, 0, 0));
        }
    }
    PQclear(res);
    return st;
}

db_status db_demo_seed(db_pool *pool, const demo_account *a, bool *created)
{
    db_conn *c = NULL;
    char account_id[24] = "", user_id[24], group_id[24], app_id[24], device_id[24];
    char serial[40];
    PGresult *res = NULL;
    db_status st;

    *created = false;
    st = db_acquire(pool, DB_WAIT_MS, &c);
    if (st != DB_OK) {
        return st;
    }
    if ((st = db_begin(c)) != DB_OK) {
        goto out;
    }
    {
        const char *p[] = {a->account_login, a->user_email};
        if ((st = db_exec(c, &st_find_account, 2, p, &res)) != DB_OK) {
            goto out;
        }
        if (PQntuples(res) > 0) {
            st = db_rollback(c);
            goto out;
        }
    }
    {
        const char *p[] = {a->account_login, a->alt_login, a->name, a->plan};
        if ((st = exec_id(c, &st_insert_account, 4, p, account_id, sizeof account_id)) != DB_OK) {
            goto out;
        }
    }
    {
        const char *p[] = {account_id, a->user_login, a->user_email,
                           a->account_login ? "false" : "true", a->password_hash};
        if ((st = exec_id(c, &st_insert_user, 5, p, user_id, sizeof user_id)) != DB_OK) {
            goto out;
        }
    }
    {
        const char *p[] = {account_id};
        if ((st = exec_id(c, &st_insert_group, 1, p, group_id, sizeof group_id)) != DB_OK) {
            goto out;
        }
    }
    {
        const char *p[] = {account_id, user_id, group_id};
        if ((st = db_exec(c, &st_set_current_group, 3, p, NULL)) != DB_OK) {
            goto out;
        }
    }
    {
        const char *p[] = {account_id, group_id};
        if ((st = exec_id(c, &st_insert_app, 2, p, app_id, sizeof app_id)) != DB_OK) {
            goto out;
        }
    }
    snprintf(serial, sizeof serial, "DEMO%06d", (int)(strlen(a->name) * 1000 + 450));
    {
        const char *p[] = {account_id, app_id, serial};
        if ((st = exec_id(c, &st_insert_device, 3, p, device_id, sizeof device_id)) != DB_OK) {
            goto out;
        }
    }
    {
        const char *p[] = {account_id, device_id};
        if ((st = db_exec(c, &st_insert_channels, 2, p, NULL)) != DB_OK) {
            goto out;
        }
    }
    st = db_commit(c);
    *created = st == DB_OK;
out:
    PQclear(res);
    db_release(pool, c); /* rolls back an unfinished transaction */
    return st;
}
