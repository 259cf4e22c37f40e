/* Storage of MQTTS with mutual TLS (see db_mqtt.h). */
#define _POSIX_C_SOURCE 200809L
#include "db_mqtt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_account.h"

#define ISO(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

static db_stmt st_ca_get = {"mqtt_ca_get", "SELECT cert_pem, key_pem FROM mqtt_ca WHERE id = 1",
                            0};

db_status db_mqtt_ca_get(db_conn *c, char **cert_pem, char **key_pem, bool *found)
{
    PGresult *res = NULL;
    db_status st = db_exec(c, &st_ca_get, 0, NULL, &res);
    *cert_pem = *key_pem = NULL;
    *found = false;
    if (st == DB_OK && PQntuples(res) == 1) {
        *cert_pem = strdup(PQgetvalue(res, 0, 0));
        *key_pem = strdup(PQgetvalue(res, 0, 1));
        if (*cert_pem == NULL || *key_pem == NULL) {
            free(*cert_pem);
            free(*key_pem);
            *cert_pem = *key_pem = NULL;
            st = DB_ERROR;
        } else {
            *found = true;
        }
    }
    PQclear(res);
    return st;
}

static db_stmt st_ca_put = {"mqtt_ca_put",
    "INSERT INTO mqtt_ca (id, cert_pem, key_pem) VALUES (1, $1, $2) ON CONFLICT (id) DO NOTHING",
    0};

db_status db_mqtt_ca_put(db_conn *c, const char *cert_pem, const char *key_pem)
{
    const char *p[] = {cert_pem, key_pem};
    return db_exec(c, &st_ca_put, 2, p, NULL);
}

static db_stmt st_active = {"mqtt_cert_active",
    "SELECT count(*) FROM app_certificates WHERE account_id = $1 AND app_id = $2 "
    "AND revoked_at IS NULL AND not_after > to_timestamp($3::bigint)", 0};

db_status db_mqtt_cert_active(db_conn *c, long long account_id, long long app_id, int64_t now,
                              long long *n)
{
    char a[24], b[24], t[24];
    const char *p[] = {db_ll(account_id, a), db_ll(app_id, b), db_ll(now, t)};
    bool found = false;
    *n = 0;
    return db_q_int(c, &st_active, 3, p, n, &found);
}

static db_stmt st_add = {"mqtt_cert_add",
    "INSERT INTO app_certificates (account_id, app_id, serial, not_before, not_after) "
    "VALUES ($1, $2, $3, to_timestamp($4::bigint), to_timestamp($5::bigint)) RETURNING id", 0};

db_status db_mqtt_cert_add(db_conn *c, long long account_id, long long app_id,
                           const char *serial, int64_t not_before, int64_t not_after,
                           long long *id)
{
    char a[24], b[24], f[24], t[24];
    const char *p[] = {db_ll(account_id, a), db_ll(app_id, b), serial, db_ll(not_before, f),
                       db_ll(not_after, t)};
    bool found = false;
    return db_q_int(c, &st_add, 5, p, id, &found);
}

static db_stmt st_list = {"mqtt_cert_list",
    "SELECT json_build_object('items', COALESCE(json_agg(json_build_object("
    "  'id', x.id, 'serial', x.serial, 'not_before', " ISO("x.not_before") ", "
    "  'not_after', " ISO("x.not_after") ", 'revoked_at', " ISO("x.revoked_at") ", "
    "  'created_at', " ISO("x.created_at") ", "
    "  'state', CASE WHEN x.revoked_at IS NOT NULL THEN 'revoked' "
    "    WHEN x.not_after <= now() THEN 'expired' ELSE 'active' END) ORDER BY x.id DESC), "
    "  '[]'))::text FROM app_certificates x WHERE x.account_id = $1 AND x.app_id = $2", 0};

db_status db_mqtt_cert_list(db_conn *c, long long account_id, long long app_id, char **json)
{
    char a[24], b[24];
    const char *p[] = {db_ll(account_id, a), db_ll(app_id, b)};
    return db_q_text(c, &st_list, 2, p, json);
}

static db_stmt st_revoke = {"mqtt_cert_revoke",
    "WITH old AS (SELECT id, revoked_at IS NOT NULL AS was FROM app_certificates "
    "  WHERE account_id = $1 AND app_id = $2 AND id = $3 FOR UPDATE), "
    "upd AS (UPDATE app_certificates x SET revoked_at = now(), "
    "    revoked_by = NULLIF($4, '0')::bigint "
    "  FROM old WHERE x.account_id = $1 AND x.id = old.id AND NOT old.was RETURNING x.id) "
    "SELECT (SELECT count(*) FROM old), (SELECT bool_or(was) FROM old)", 0};

db_status db_mqtt_cert_revoke(db_conn *c, long long account_id, long long app_id,
                              long long cert_id, long long user_id, bool *found, bool *already)
{
    char a[24], b[24], i[24], u[24];
    const char *p[] = {db_ll(account_id, a), db_ll(app_id, b), db_ll(cert_id, i),
                       db_ll(user_id, u)};
    PGresult *res = NULL;
    db_status st = db_exec(c, &st_revoke, 4, p, &res);
    *found = *already = false;
    if (st == DB_OK && PQntuples(res) == 1) {
        *found = PQgetvalue(res, 0, 0)[0] != '0';
        *already = PQgetvalue(res, 0, 1)[0] == 't';
    }
    PQclear(res);
    return st;
}

static db_stmt st_revoked = {"mqtt_revoked_since",
    "SELECT id, serial, identity FROM mqtt_revoked "
    "WHERE id > $1 AND not_after > to_timestamp($2::bigint) ORDER BY id LIMIT $3", 0};

db_status db_mqtt_revoked_since(db_conn *c, long long after_id, int64_t now,
                                db_mqtt_revoked *out, size_t cap, size_t *n)
{
    char a[24], t[24], l[24];
    const char *p[] = {db_ll(after_id, a), db_ll(now, t), db_ll((long long)cap, l)};
    PGresult *res = NULL;
    db_status st = db_exec(c, &st_revoked, 3, p, &res);
    *n = 0;
    if (st == DB_OK) {
        for (int r = 0; r < PQntuples(res) && *n < cap; r++) {
            db_mqtt_revoked *x = &out[*n];
            x->id = strtoll(PQgetvalue(res, r, 0), NULL, 10);
            snprintf(x->serial, sizeof x->serial, "%s", PQgetvalue(res, r, 1));
            snprintf(x->identity, sizeof x->identity, "%s", PQgetvalue(res, r, 2));
            (*n)++;
        }
    }
    PQclear(res);
    return st;
}

static db_stmt st_sweep = {"mqtt_sweep",
    "WITH r AS (DELETE FROM mqtt_revoked WHERE id IN (SELECT id FROM mqtt_revoked "
    "    WHERE not_after < to_timestamp($1::bigint) LIMIT $2) RETURNING 1), "
    "c AS (DELETE FROM app_certificates WHERE id IN (SELECT id FROM app_certificates "
    "    WHERE not_after < to_timestamp($1::bigint) - interval '30 days' LIMIT $2) RETURNING 1) "
    "SELECT (SELECT count(*) FROM r) + (SELECT count(*) FROM c)", 0};

db_status db_mqtt_sweep(db_conn *c, int64_t now, int limit, long long *n)
{
    char t[24], l[24];
    const char *p[] = {db_ll(now, t), db_ll(limit, l)};
    bool found = false;
    *n = 0;
    return db_q_int(c, &st_sweep, 2, p, n, &found);
}
