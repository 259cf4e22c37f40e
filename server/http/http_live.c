/* High-speed monitoring (M3; docs/ingest.md "High-speed monitoring").
 *
 * A user starts it for a measurement group (10 minutes); the gateway apps of
 * the group see "live_until" in GET /api/v1/ingest/channels and send 5-second
 * samples to POST /api/v1/ingest/live; the monitor reads them with GET
 * /api/v1/groups/{id}/live. Live samples are kept for display only (10
 * minutes, an UNLOGGED table); stored data stays at the regular one-minute
 * batches of /api/v1/ingest/batches. */
#include "http.h"
#include "http_svc.h"

#include <civetweb.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

#include "auth.h"
#include "db_account.h"
#include "db_series.h"
#include "ingest_parse.h"
#include "svc_data.h"

#define LIVE_MINUTES 10
#define LIVE_KEEP_US (LIVE_MINUTES * 60LL * 1000000LL)

static int64_t now_us(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return auth_now() * 1000000LL + tv.tv_usec;
}

static int reply_db(http_req *req, db_status st)
{
    return http_reply_db(req, st);
}

/* ---------------------------------------------------------- statements */

static db_stmt st_live_start = {"live_start",
    "INSERT INTO live_sessions (account_id, group_id, until, started_by) "
    "VALUES ($1, $2, to_timestamp($3::bigint / 1e6), $4) "
    "ON CONFLICT (account_id, group_id) DO UPDATE SET until = EXCLUDED.until, "
    "  started_by = EXCLUDED.started_by "
    "RETURNING (extract(epoch FROM until) * 1e6)::bigint", 0};
static db_stmt st_live_stop = {"live_stop",
    "DELETE FROM live_sessions WHERE account_id = $1 AND group_id = $2", 0};
static db_stmt st_live_until = {"live_until",
    "SELECT (extract(epoch FROM until) * 1e6)::bigint FROM live_sessions "
    "WHERE account_id = $1 AND group_id = $2 AND until > to_timestamp($3::bigint / 1e6)", 0};
static db_stmt st_live_app = {"live_app_until",
    "SELECT (extract(epoch FROM s.until) * 1e6)::bigint FROM apps p "
    "JOIN live_sessions s ON s.account_id = p.account_id AND s.group_id = p.group_id "
    "WHERE p.account_id = $1 AND p.id = $2 AND s.until > to_timestamp($3::bigint / 1e6)", 0};
static db_stmt st_live_put = {"live_put",
    "INSERT INTO live_samples (account_id, channel_id, t, v, special) "
    "SELECT $1, k.c, k.t, k.v, k.s "
    "FROM unnest($2::bigint[], $3::bigint[], $4::float8[], $5::smallint[]) AS k(c, t, v, s) "
    "ON CONFLICT (channel_id, t) DO UPDATE SET v = EXCLUDED.v, special = EXCLUDED.special", 0};
static db_stmt st_live_trim = {"live_trim",
    "DELETE FROM live_samples WHERE account_id = $1 AND t < $2", 0};
static db_stmt st_live_get = {"live_get",
    "SELECT l.channel_id, l.t, l.v, l.special FROM live_samples l "
    "JOIN channels c ON c.account_id = l.account_id AND c.id = l.channel_id "
    "JOIN devices d ON d.account_id = c.account_id AND d.id = c.device_id "
    "JOIN apps p ON p.account_id = d.account_id AND p.id = d.app_id "
    "WHERE l.account_id = $1 AND p.group_id = $2 AND l.t >= $3 "
    "ORDER BY l.channel_id, l.t", 0};

/* ------------------------------------------------------- user routes */

static int group_param(http_req *req, long long *id)
{
    char *end = NULL;
    *id = strtoll(req->params[0], &end, 10);
    if (end == req->params[0] || *end != '\0' || *id <= 0) {
        http_reply_error(req, 404, "not_found", "no such measurement group", NULL);
        return -1;
    }
    return 0;
}

/* The group must exist in the account and be visible to the user. */
static int group_check(http_req *req, db_conn *c, long long id)
{
    bool visible = false;
    long long viewer = req->role == ROLE_ADMIN ? 0 : req->user_id;
    db_status st = db_group_visible(c, req->account_id, viewer, id, &visible);
    if (st != DB_OK) {
        reply_db(req, st);
        return -1;
    }
    if (!visible) {
        http_reply_error(req, 404, "not_found", "no such measurement group", NULL);
        return -1;
    }
    return 0;
}

/* POST /api/v1/groups/{id}/live: start (or extend) high-speed mode. */
static int h_start(http_req *req)
{
    long long id, until = 0;
    db_conn *c = NULL;
    db_status st;
    char a[24], g[24], u[24], by[24];
    cJSON *o;
    if (group_param(req, &id) != 0) {
        return req->status;
    }
    if ((st = db_acquire(req->srv->pool, DB_WAIT_MS, &c)) != DB_OK) {
        return reply_db(req, st);
    }
    if (group_check(req, c, id) != 0) {
        db_release(req->srv->pool, c);
        return req->status;
    }
    {
        const char *p[] = {db_ll(req->account_id, a), db_ll(id, g),
                           db_ll(now_us() + LIVE_KEEP_US, u), db_ll(req->user_id, by)};
        st = db_q_int(c, &st_live_start, 4, p, &until, NULL);
    }
    db_release(req->srv->pool, c);
    if (st != DB_OK) {
        return reply_db(req, st);
    }
    o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "group_id", (double)id);
    cJSON_AddNumberToObject(o, "until", (double)until);
    cJSON_AddNumberToObject(o, "interval_s", 5);
    return http_reply_json(req, 200, o);
}

/* DELETE /api/v1/groups/{id}/live: stop it. */
static int h_stop(http_req *req)
{
    long long id;
    db_conn *c = NULL;
    db_status st;
    char a[24], g[24];
    if (group_param(req, &id) != 0) {
        return req->status;
    }
    if ((st = db_acquire(req->srv->pool, DB_WAIT_MS, &c)) != DB_OK) {
        return reply_db(req, st);
    }
    if (group_check(req, c, id) != 0) {
        db_release(req->srv->pool, c);
        return req->status;
    }
    {
        const char *p[] = {db_ll(req->account_id, a), db_ll(id, g)};
        st = db_q_exec(c, &st_live_stop, 2, p, NULL);
    }
    db_release(req->srv->pool, c);
    if (st != DB_OK) {
        return reply_db(req, st);
    }
    return http_reply_json(req, 200, cJSON_CreateObject());
}

static void add_value(cJSON *arr, const char *text, int special)
{
    if (special != 0) {
        cJSON_AddItemToArray(arr, cJSON_CreateString(mt_sv_name((mt_sv)special)));
    } else {
        cJSON_AddItemToArray(arr, cJSON_CreateNumber(strtod(text, NULL)));
    }
}

/* GET /api/v1/groups/{id}/live?since=µs: the live samples of the group. */
static int h_get(http_req *req)
{
    long long id, since = 0, until = 0;
    char buf[32];
    db_conn *c = NULL;
    PGresult *res = NULL;
    db_status st;
    bool active = false;
    char a[24], g[24], s[24], n[24];
    cJSON *o, *chans, *cur = NULL, *ts = NULL, *vs = NULL;
    long long last = -1;
    if (group_param(req, &id) != 0) {
        return req->status;
    }
    if (http_query(req, "since", buf, sizeof buf) > 0) {
        char *end = NULL;
        since = strtoll(buf, &end, 10);
        if (*end != '\0') {
            return http_reply_error(req, 400, "invalid_value", "since: expected µs since 1970", "since");
        }
    }
    if (since < now_us() - LIVE_KEEP_US) {
        since = now_us() - LIVE_KEEP_US;
    }
    if ((st = db_acquire(req->srv->pool, DB_WAIT_MS, &c)) != DB_OK) {
        return reply_db(req, st);
    }
    if (group_check(req, c, id) != 0) {
        db_release(req->srv->pool, c);
        return req->status;
    }
    {
        const char *p[] = {db_ll(req->account_id, a), db_ll(id, g), db_ll(now_us(), n)};
        st = db_q_int(c, &st_live_until, 3, p, &until, &active);
    }
    if (st == DB_OK) {
        const char *p[] = {a, g, db_ll(since, s)};
        st = db_exec(c, &st_live_get, 3, p, &res);
    }
    db_release(req->srv->pool, c);
    if (st != DB_OK) {
        return reply_db(req, st);
    }
    o = cJSON_CreateObject();
    if (active) {
        cJSON_AddNumberToObject(o, "until", (double)until);
    } else {
        cJSON_AddNullToObject(o, "until");
    }
    chans = cJSON_AddArrayToObject(o, "channels");
    for (int r = 0; r < PQntuples(res); r++) {
        long long ch = strtoll(PQgetvalue(res, r, 0), NULL, 10);
        if (ch != last) {
            cur = cJSON_CreateObject();
            cJSON_AddNumberToObject(cur, "id", (double)ch);
            ts = cJSON_AddArrayToObject(cur, "t");
            vs = cJSON_AddArrayToObject(cur, "v");
            cJSON_AddItemToArray(chans, cur);
            last = ch;
        }
        cJSON_AddItemToArray(ts, cJSON_CreateNumber(strtod(PQgetvalue(res, r, 1), NULL)));
        add_value(vs, PQgetvalue(res, r, 2), atoi(PQgetvalue(res, r, 3)));
    }
    PQclear(res);
    return http_reply_json(req, 200, o);
}

/* --------------------------------------------------------- app route */

/* "{a,b,c}" text arrays of the records' columns for unnest(). */
static char *column_text(const ingest_batch *b, int col)
{
    size_t cap = 2 + b->n * 26, len = 0;
    char *s = malloc(cap);
    if (s == NULL) {
        return NULL;
    }
    s[len++] = '{';
    for (size_t i = 0; i < b->n; i++) {
        const ingest_rec *r = &b->rec[i];
        mt_sv kind = mt_sv_kind(r->v);
        const char *sep = i ? "," : "";
        if (col == 0) {
            len += (size_t)snprintf(s + len, cap - len, "%s%lld", sep, (long long)r->ch);
        } else if (col == 1) {
            len += (size_t)snprintf(s + len, cap - len, "%s%lld", sep, (long long)r->t);
        } else if (col == 2) {
            if (kind == MT_SV_NONE) {
                len += (size_t)snprintf(s + len, cap - len, "%s%.17g", sep, r->v);
            } else {
                len += (size_t)snprintf(s + len, cap - len, "%sNULL", sep);
            }
        } else {
            len += (size_t)snprintf(s + len, cap - len, "%s%d", sep, (int)kind);
        }
    }
    s[len++] = '}';
    s[len] = '\0';
    return s;
}

/* POST /api/v1/ingest/live: 5-second samples while high-speed mode is on. */
static int h_ingest_live(http_req *req)
{
    const char *authz = http_header(req, "Authorization");
    const char *cred = NULL;
    db_conn *c = NULL;
    ingest_channel *ch = NULL;
    ingest_known known = {0};
    ingest_batch b;
    svc_error e;
    db_status st;
    bool found = false, enabled = false, ok = false, active = false;
    long long account = 0, app = 0, version = 0, until = 0;
    int64_t now = now_us();
    char a[24], p2[24], n[24];
    char *cols[4] = {NULL};
    cJSON *o;
    int rc;

    memset(&b, 0, sizeof b);
    if (authz != NULL && strncasecmp(authz, "Bearer ", 7) == 0) {
        cred = authz + 7;
    }
    if (cred == NULL || strncmp(cred, "mta_", 4) != 0 || strlen(cred) != 47) {
        return http_reply_error(req, 401, "unauthenticated",
                                "send the app credential as Authorization: Bearer mta_...", NULL);
    }
    {
        unsigned char md[32];
        unsigned int md_len = 0;
        char hex[65];
        if (EVP_Digest(cred, strlen(cred), md, &md_len, EVP_sha256(), NULL) != 1) {
            return http_reply_error(req, 500, "internal_error", "digest failed", NULL);
        }
        for (int i = 0; i < 32; i++) {
            snprintf(hex + 2 * i, 3, "%02x", md[i]);
        }
        if ((st = db_acquire(req->srv->pool, DB_WAIT_MS, &c)) != DB_OK) {
            return reply_db(req, st);
        }
        st = db_ingest_app(c, hex, now, &account, &app, &enabled, &ok, &version, &found);
    }
    if (st != DB_OK) {
        rc = reply_db(req, st);
        goto out;
    }
    if (!found) {
        rc = http_reply_error(req, 401, "unauthenticated", "unknown app credential", NULL);
        goto out;
    }
    if (!enabled || !ok) {
        rc = http_reply_error(req, 403, enabled ? "account_inactive" : "app_disabled",
                              "this app may not send data now", NULL);
        goto out;
    }
    req->account_id = account;
    {
        const char *p[] = {db_ll(account, a), db_ll(app, p2), db_ll(now, n)};
        st = db_q_int(c, &st_live_app, 3, p, &until, &active);
    }
    if (st != DB_OK) {
        rc = reply_db(req, st);
        goto out;
    }
    if (!active) {
        rc = http_reply_error(req, 409, "live_not_active",
                              "high-speed monitoring is not on for this app's group", NULL);
        goto out;
    }
    if ((st = db_ingest_channels(c, account, app, &ch, &known.n)) != DB_OK) {
        rc = reply_db(req, st);
        goto out;
    }
    known.ch = ch;
    if (ingest_parse_json((const char *)req->raw, req->raw_len, &known, now, &b, &e) != 0) {
        rc = http_reply_svc(req, &e);
        goto out;
    }
    for (int k = 0; k < 4; k++) {
        if ((cols[k] = column_text(&b, k)) == NULL) {
            rc = http_reply_error(req, 503, "out_of_memory", "out of memory: retry", NULL);
            goto out;
        }
    }
    {
        const char *p[] = {a, cols[0], cols[1], cols[2], cols[3]};
        st = db_q_exec(c, &st_live_put, 5, p, NULL);
    }
    if (st == DB_OK) {
        char cut[24];
        const char *p[] = {a, db_ll(now - LIVE_KEEP_US, cut)};
        st = db_q_exec(c, &st_live_trim, 2, p, NULL);
    }
    if (st != DB_OK) {
        rc = reply_db(req, st);
        goto out;
    }
    o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "samples", (double)b.n);
    cJSON_AddNumberToObject(o, "until", (double)until);
    rc = http_reply_json(req, 200, o);
out:
    db_release(req->srv->pool, c);
    for (int k = 0; k < 4; k++) {
        free(cols[k]);
    }
    free(ch);
    ingest_batch_free(&b);
    return rc;
}

const http_route http_routes_live[] = {
    {"POST", "/api/v1/groups/*/live", h_start, AUTH_USER, BODY_NONE, false},
    {"DELETE", "/api/v1/groups/*/live", h_stop, AUTH_USER, BODY_NONE, false},
    {"GET", "/api/v1/groups/*/live", h_get, AUTH_USER, BODY_NONE, false},
    {"POST", "/api/v1/ingest/live", h_ingest_live, AUTH_PUBLIC, BODY_RAW, false},
    {NULL}};
