#define _POSIX_C_SOURCE 200809L
#include "db_demo.h"

#include <stdio.h>
#include <stdlib.h>
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

/* The Pro demo's 32 channels: a building's zones and its electrical supply,
 * as one LR8450 with wireless units would see them. Names and units are
 * those metron-gateway (docs/gateway.md) plays with the same kind of
 * signal, so that the live values scripts/run's gateway sends continue the
 * history (svc_demo.c) at about the same levels. */
const demo_channel demo_channels[] = {
    {"CH1_1", "Zone 1 temperature", "°C", 1},   {"CH1_2", "Zone 2 temperature", "°C", 1},
    {"CH1_3", "Zone 3 temperature", "°C", 1},   {"CH1_4", "Zone 4 temperature", "°C", 1},
    {"CH1_5", "Zone 5 temperature", "°C", 1},   {"CH1_6", "Zone 6 temperature", "°C", 1},
    {"CH1_7", "Zone 7 temperature", "°C", 1},   {"CH1_8", "Zone 8 temperature", "°C", 1},
    {"CH2_1", "Zone 1 humidity", "%RH", 1},     {"CH2_2", "Zone 2 humidity", "%RH", 1},
    {"CH2_3", "Zone 3 humidity", "%RH", 1},     {"CH2_4", "Zone 4 humidity", "%RH", 1},
    {"CH2_5", "Zone 5 humidity", "%RH", 1},     {"CH2_6", "Zone 6 humidity", "%RH", 1},
    {"CH2_7", "Zone 7 humidity", "%RH", 1},     {"CH2_8", "Zone 8 humidity", "%RH", 1},
    {"CH3_1", "AC voltage L1", "V", 2},         {"CH3_2", "AC voltage L2", "V", 2},
    {"CH3_3", "AC voltage L3", "V", 2},         {"CH3_4", "Current L1", "A", 2},
    {"CH3_5", "Current L2", "A", 2},            {"CH3_6", "Current L3", "A", 2},
    {"CH3_7", "Active power", "W", 0},          {"CH3_8", "Power factor", "", 3},
    {"CH4_1", "Frequency", "Hz", 3},            {"CH4_2", "Server room temperature", "°C", 1},
    {"CH4_3", "Battery room temperature", "°C", 1}, {"CH4_4", "Laboratory temperature", "°C", 1},
    {"CH4_5", "Warehouse temperature", "°C", 1}, {"CH4_6", "Transmitter 1 (4-20 mA)", "V", 4},
    {"CH4_7", "Transmitter 2 (4-20 mA)", "V", 4}, {"CH4_8", "Transmitter 3 (4-20 mA)", "V", 4},
};
const int demo_channels_n = (int)(sizeof demo_channels / sizeof demo_channels[0]);

static db_stmt st_insert_channel = {"demo_insert_channel",
    "INSERT INTO channels (account_id, device_id, ch_key, name, unit, selected, position, decimals) "
    "VALUES ($1, $2, $3, $4, $5, true, $6, $7::smallint) RETURNING id", 0};

static db_stmt st_app_seen = {"demo_app_seen",
    "UPDATE app_seen SET last_seen_at = to_timestamp($3::double precision / 1e6), "
    " connected = true, connected_at = to_timestamp($3::double precision / 1e6) "
    "WHERE account_id = $1 AND app_id = $2", 0};

static db_stmt st_selected_channels = {"demo_selected_channels",
    "SELECT id FROM channels WHERE account_id = $1 AND device_id = $2 AND selected "
    "ORDER BY position, id", 0};

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

db_status db_demo_app_seen(db_conn *c, long long account_id, long long app_id, int64_t last_us)
{
    char a[24], p2[24], t[24];
    const char *p[] = {a, p2, t};
    snprintf(a, sizeof a, "%lld", account_id);
    snprintf(p2, sizeof p2, "%lld", app_id);
    snprintf(t, sizeof t, "%lld", (long long)last_us);
    return db_exec(c, &st_app_seen, 3, p, NULL);
}

db_status db_demo_seed(db_pool *pool, const demo_account *a, bool *created, demo_ids *ids)
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
    if (a->n_channels <= 0) {
        const char *p[] = {account_id, device_id};
        if ((st = db_exec(c, &st_insert_channels, 2, p, NULL)) != DB_OK) {
            goto out;
        }
    } else {
        int n = a->n_channels < demo_channels_n ? a->n_channels : demo_channels_n;
        for (int i = 0; i < n; i++) {
            char pos[12], dec[12], id[24];
            const char *p[] = {account_id, device_id, demo_channels[i].key, demo_channels[i].name,
                               demo_channels[i].unit, pos,
                               demo_channels[i].decimals >= 0 ? dec : NULL};
            snprintf(pos, sizeof pos, "%d", i);
            snprintf(dec, sizeof dec, "%d", demo_channels[i].decimals);
            if ((st = exec_id(c, &st_insert_channel, 7, p, id, sizeof id)) != DB_OK) {
                goto out;
            }
        }
    }
    if (ids != NULL) {
        const char *p[] = {account_id, device_id};
        PQclear(res);
        res = NULL;
        if ((st = db_exec(c, &st_selected_channels, 2, p, &res)) != DB_OK) {
            goto out;
        }
        ids->account_id = strtoll(account_id, NULL, 10);
        ids->app_id = strtoll(app_id, NULL, 10);
        ids->n_channel = 0;
        for (int i = 0; i < PQntuples(res) && i < DEMO_MAX_CHANNELS; i++) {
            ids->channel[ids->n_channel++] = strtoll(PQgetvalue(res, i, 0), NULL, 10);
        }
    }
    st = db_commit(c);
    *created = st == DB_OK;
out:
    PQclear(res);
    db_release(pool, c); /* rolls back an unfinished transaction */
    return st;
}
