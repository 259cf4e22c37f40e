/* Storage of reports (db_report.h). Prepared statements only. */
#define _POSIX_C_SOURCE 200809L
#include "db_report.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_account.h"
#include "db_rows.h"

/* "{1,2,3}" of "n" ids into "buf" (room for REPORT_CH_MAX ids). */
#define IDS_CAP (2 + REPORT_CH_MAX * 21 + 1)

static const char *ids_text(const long long *v, int n, char buf[IDS_CAP])
{
    size_t len = 0;
    buf[len++] = '{';
    for (int i = 0; i < n && i < REPORT_CH_MAX; i++) {
        len += (size_t)snprintf(buf + len, IDS_CAP - len, i ? ",%lld" : "%lld", v[i]);
    }
    buf[len++] = '}';
    buf[len] = '\0';
    return buf;
}

/* PostgreSQL's text of a bigint[] into at most "cap" ids. 0 or -1. */
static int parse_ids(const char *s, long long *out, int cap, int *n)
{
    *n = 0;
    if (*s++ != '{') {
        return -1;
    }
    if (*s == '}') {
        return 0;
    }
    for (;;) {
        char *end = NULL;
        long long v;
        errno = 0;
        v = strtoll(s, &end, 10);
        if (end == s || errno != 0 || *n == cap) {
            return -1;
        }
        out[(*n)++] = v;
        if (*end == '}') {
            return 0;
        }
        if (*end != ',') {
            return -1;
        }
        s = end + 1;
    }
}

static void copy_col(const PGresult *res, int row, int col, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s", PQgetisnull(res, row, col) ? "" : PQgetvalue(res, row, col));
}

static const char *formats_text(int formats, char buf[32])
{
    size_t len = 0;
    static const char *const names[] = {"pdf", "xlsx", "csv"};
    buf[len++] = '{';
    for (int k = 0; k < 3; k++) {
        if (formats & (1 << k)) {
            len += (size_t)snprintf(buf + len, 32 - len, "%s%s", len > 1 ? "," : "", names[k]);
        }
    }
    buf[len++] = '}';
    buf[len] = '\0';
    return buf;
}

/* ------------------------------------------------------------ settings */

static db_stmt st_get = {"report_get",
    "SELECT r.id, r.group_id, r.name, r.period, r.summary, r.charts, r.alarms, r.language, "
    "       array_to_string(r.formats, ','), r.recipient_users::text, r.recipient_system::text, "
    "       r.auto_enabled, r.next_start, r.next_end, r.folder_id, "
    "       COALESCE((SELECT array_agg(rc.channel_id ORDER BY rc.position) FROM report_channels rc "
    "                 WHERE rc.account_id = r.account_id AND rc.report_id = r.id), '{}')::text "
    "FROM report_settings r WHERE r.account_id = $1 AND r.id = $2", 0};
static db_stmt st_get_lock = {"report_get_lock",
    "SELECT r.id, r.group_id, r.name, r.period, r.summary, r.charts, r.alarms, r.language, "
    "       array_to_string(r.formats, ','), r.recipient_users::text, r.recipient_system::text, "
    "       r.auto_enabled, r.next_start, r.next_end, r.folder_id, "
    "       COALESCE((SELECT array_agg(rc.channel_id ORDER BY rc.position) FROM report_channels rc "
    "                 WHERE rc.account_id = r.account_id AND rc.report_id = r.id), '{}')::text "
    "FROM report_settings r WHERE r.account_id = $1 AND r.id = $2 FOR UPDATE", 0};

db_status db_report_get(db_conn *c, long long account_id, long long id, bool lock, db_report *r,
                        bool *found)
{
    char a[24], i[24], fmt[32];
    const char *p[] = {db_ll(account_id, a), db_ll(id, i)};
    PGresult *res = NULL;
    db_status st = db_exec(c, lock ? &st_get_lock : &st_get, 2, p, &res);
    memset(r, 0, sizeof *r);
    *found = false;
    if (st != DB_OK) {
        return st;
    }
    if (PQntuples(res) == 1) {
        r->id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        r->group_id = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
        copy_col(res, 0, 2, r->name, sizeof r->name);
        copy_col(res, 0, 3, r->period, sizeof r->period);
        r->summary = PQgetvalue(res, 0, 4)[0] == 't';
        copy_col(res, 0, 5, r->charts, sizeof r->charts);
        r->alarms = PQgetvalue(res, 0, 6)[0] == 't';
        copy_col(res, 0, 7, r->language, sizeof r->language);
        copy_col(res, 0, 8, fmt, sizeof fmt);
        r->formats = (strstr(fmt, "pdf") ? REPORT_FMT_PDF : 0) |
                     (strstr(fmt, "xlsx") ? REPORT_FMT_XLSX : 0) |
                     (strstr(fmt, "csv") ? REPORT_FMT_CSV : 0);
        r->auto_enabled = PQgetvalue(res, 0, 11)[0] == 't';
        r->has_next = !PQgetisnull(res, 0, 12) && !PQgetisnull(res, 0, 13);
        r->next_start = r->has_next ? strtoll(PQgetvalue(res, 0, 12), NULL, 10) : 0;
        r->next_end = r->has_next ? strtoll(PQgetvalue(res, 0, 13), NULL, 10) : 0;
        r->folder_id = PQgetisnull(res, 0, 14) ? 0 : strtoll(PQgetvalue(res, 0, 14), NULL, 10);
        if (parse_ids(PQgetvalue(res, 0, 9), r->users, REPORT_RCPT_MAX, &r->n_users) != 0 ||
            parse_ids(PQgetvalue(res, 0, 10), r->system, REPORT_RCPT_MAX, &r->n_system) != 0 ||
            parse_ids(PQgetvalue(res, 0, 15), r->channels, REPORT_CH_MAX, &r->n_channels) != 0) {
            st = DB_ERROR;
        } else {
            *found = true;
        }
    }
    PQclear(res);
    return st;
}

static db_stmt st_insert = {"report_insert",
    "INSERT INTO report_settings (account_id, group_id, name, period, summary, charts, alarms, "
    " language, formats, recipient_users, recipient_system, auto_enabled, next_start, next_end) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::text[], $10::bigint[], $11::bigint[], $12, "
    " $13, $14) RETURNING id", 0};
static db_stmt st_update = {"report_update",
    "UPDATE report_settings SET name = $3, period = $4, summary = $5, charts = $6, alarms = $7, "
    " language = $8, formats = $9::text[], recipient_users = $10::bigint[], "
    " recipient_system = $11::bigint[], auto_enabled = $12, next_start = $13, next_end = $14 "
    "WHERE account_id = $1 AND id = $2", 0};
static db_stmt st_channels_clear = {"report_channels_clear",
    "DELETE FROM report_channels WHERE account_id = $1 AND report_id = $2", 0};
static db_stmt st_channels_set = {"report_channels_set",
    "INSERT INTO report_channels (account_id, report_id, position, channel_id) "
    "SELECT $1, $2, (u.ord - 1)::smallint, u.id "
    "FROM unnest($3::bigint[]) WITH ORDINALITY AS u(id, ord)", 0};

/* The 14 parameters of st_insert / st_update ($2 = group or id). */
typedef struct {
    char a[24], second[24], sum[8], alarms[8], fmt[32], users[IDS_CAP], sys[IDS_CAP],
        aut[8], ns[24], ne[24];
    const char *p[14];
} row_params;

static void params_of(row_params *rp, long long account_id, long long second, const db_report *r)
{
    rp->p[0] = db_ll(account_id, rp->a);
    rp->p[1] = db_ll(second, rp->second);
    rp->p[2] = r->name;
    rp->p[3] = r->period;
    rp->p[4] = r->summary ? "true" : "false";
    rp->p[5] = r->charts;
    rp->p[6] = r->alarms ? "true" : "false";
    rp->p[7] = r->language;
    rp->p[8] = formats_text(r->formats, rp->fmt);
    rp->p[9] = ids_text(r->users, r->n_users, rp->users);
    rp->p[10] = ids_text(r->system, r->n_system, rp->sys);
    rp->p[11] = r->auto_enabled ? "true" : "false";
    rp->p[12] = r->has_next ? db_ll(r->next_start, rp->ns) : NULL;
    rp->p[13] = r->has_next ? db_ll(r->next_end, rp->ne) : NULL;
}

static db_status set_channels(db_conn *c, long long account_id, long long id, const db_report *r)
{
    char a[24], i[24], ids[IDS_CAP];
    const char *p[] = {db_ll(account_id, a), db_ll(id, i), ids_text(r->channels, r->n_channels, ids)};
    db_status st = db_q_exec(c, &st_channels_clear, 2, p, NULL);
    if (st == DB_OK && r->n_channels > 0) {
        st = db_q_exec(c, &st_channels_set, 3, p, NULL);
    }
    return st;
}

db_status db_report_insert(db_conn *c, long long account_id, const db_report *r, long long *id)
{
    row_params rp;
    db_status st;
    params_of(&rp, account_id, r->group_id, r);
    *id = 0;
    st = db_q_int(c, &st_insert, 14, rp.p, id, NULL);
    if (st == DB_OK) {
        st = set_channels(c, account_id, *id, r);
    }
    return st;
}

db_status db_report_update(db_conn *c, long long account_id, const db_report *r)
{
    row_params rp;
    db_status st;
    params_of(&rp, account_id, r->id, r);
    st = db_q_exec(c, &st_update, 14, rp.p, NULL);
    if (st == DB_OK) {
        st = set_channels(c, account_id, r->id, r);
    }
    return st;
}

static db_stmt st_set_next = {"report_set_next",
    "UPDATE report_settings SET next_start = $3, next_end = $4 "
    "WHERE account_id = $1 AND id = $2", 0};

db_status db_report_set_next(db_conn *c, long long account_id, long long id, bool has_next,
                             long long next_start, long long next_end)
{
    char a[24], i[24], s[24], e[24];
    const char *p[] = {db_ll(account_id, a), db_ll(id, i), has_next ? db_ll(next_start, s) : NULL,
                       has_next ? db_ll(next_end, e) : NULL};
    return db_q_exec(c, &st_set_next, 4, p, NULL);
}

static db_stmt st_set_folder = {"report_set_folder",
    "UPDATE report_settings SET folder_id = $3 WHERE account_id = $1 AND id = $2", 0};

db_status db_report_set_folder(db_conn *c, long long account_id, long long id, long long folder)
{
    char a[24], i[24], f[24];
    const char *p[] = {db_ll(account_id, a), db_ll(id, i), db_ll(folder, f)};
    return db_q_exec(c, &st_set_folder, 3, p, NULL);
}

static db_stmt st_delete = {"report_delete",
    "DELETE FROM report_settings WHERE account_id = $1 AND id = $2", 0};

db_status db_report_delete(db_conn *c, long long account_id, long long id, bool *found)
{
    char a[24], i[24];
    const char *p[] = {db_ll(account_id, a), db_ll(id, i)};
    long long n = 0;
    db_status st = db_q_exec(c, &st_delete, 2, p, &n);
    *found = n > 0;
    return st;
}

static db_stmt st_count = {"report_count",
    "SELECT count(*) FROM report_settings WHERE account_id = $1 AND group_id = $2", 0};

db_status db_report_count(db_conn *c, long long account_id, long long group_id, long long *n)
{
    char a[24], g[24];
    const char *p[] = {db_ll(account_id, a), db_ll(group_id, g)};
    return db_q_int(c, &st_count, 2, p, n, NULL);
}

/* The API's object of report r. */
#define REPORT_JSON                                                                            \
    "json_build_object('id', r.id, 'group_id', r.group_id, 'name', r.name, "                   \
    " 'period', r.period, "                                                                    \
    " 'time_zone', (SELECT COALESCE(g.time_zone, a.time_zone) FROM measurement_groups g "      \
    "   JOIN accounts a ON a.id = g.account_id WHERE g.account_id = r.account_id "             \
    "   AND g.id = r.group_id), "                                                              \
    " 'channels', COALESCE((SELECT json_agg(rc.channel_id ORDER BY rc.position) "              \
    "   FROM report_channels rc WHERE rc.account_id = r.account_id AND rc.report_id = r.id), " \
    "   '[]'), "                                                                               \
    " 'channel_info', COALESCE((SELECT json_agg(json_build_object('id', m.id, "                \
    "   'key', m.ch_key, 'name', m.name, 'unit', m.unit, "                                     \
    "   'computed', m.expression IS NOT NULL) ORDER BY rc.position) "                          \
    "   FROM report_channels rc JOIN channels m ON m.account_id = rc.account_id "              \
    "   AND m.id = rc.channel_id WHERE rc.account_id = r.account_id "                          \
    "   AND rc.report_id = r.id), '[]'), "                                                     \
    " 'summary', r.summary, 'charts', r.charts, 'alarms', r.alarms, "                          \
    " 'language', r.language, 'formats', to_json(r.formats), "                                 \
    " 'recipients', json_build_object('users', to_json(r.recipient_users), "                   \
    "   'system', to_json(r.recipient_system)), "                                              \
    " 'auto_enabled', r.auto_enabled, "                                                        \
    " 'next_period', CASE WHEN r.auto_enabled AND r.next_start IS NOT NULL THEN "              \
    "   json_build_object('from', mt_utc(to_timestamp(r.next_start / 1e6)), "                 \
    "   'to', mt_utc(to_timestamp(r.next_end / 1e6)), 'from_us', r.next_start, "               \
    "   'to_us', r.next_end, "                                                                 \
    "   'due_from', mt_utc(to_timestamp(r.next_end / 1e6 + $3::float8)), "                     \
    "   'due_by', mt_utc(to_timestamp(r.next_end / 1e6 + $4::float8))) END, "                  \
    " 'folder_id', r.folder_id, "                                                              \
    " 'last_run', (SELECT json_build_object('id', x.id, 'state', x.state, 'label', x.label, "  \
    "   'kind', x.kind, 'from_us', x.period_start, 'to_us', x.period_end, "                    \
    "   'time_zone', x.time_zone, 'attempts', x.attempts, 'error_kind', x.error_kind, "        \
    "   'finished_at', mt_utc(x.finished_at)) FROM report_runs x "                             \
    "   WHERE x.account_id = r.account_id AND x.report_id = r.id ORDER BY x.id DESC LIMIT 1), " \
    " 'created_at', mt_utc(r.created_at), 'updated_at', mt_utc(r.updated_at))"

static db_stmt st_json = {"report_json",
    "SELECT " REPORT_JSON "::text FROM report_settings r WHERE r.account_id = $1 AND r.id = $2",
    0};
static db_stmt st_list_json = {"report_list_json",
    "SELECT COALESCE(json_agg(" REPORT_JSON " ORDER BY r.id), '[]')::text "
    "FROM report_settings r WHERE r.account_id = $1 AND r.group_id = $2", 0};

db_status db_report_json(db_conn *c, long long account_id, long long id, int settle_s,
                         int wait_s, char **json)
{
    char a[24], i[24], st[24], w[24];
    const char *p[] = {db_ll(account_id, a), db_ll(id, i), db_ll(settle_s, st), db_ll(wait_s, w)};
    return db_q_text(c, &st_json, 4, p, json);
}

db_status db_report_list_json(db_conn *c, long long account_id, long long group_id,
                              int settle_s, int wait_s, char **json)
{
    char a[24], g[24], st[24], w[24];
    const char *p[] = {db_ll(account_id, a), db_ll(group_id, g), db_ll(settle_s, st),
                       db_ll(wait_s, w)};
    return db_q_text(c, &st_list_json, 4, p, json);
}

/* ----------------------------------------------------------- checking */

static db_stmt st_channels_check = {"report_channels_check",
    "SELECT u.id FROM unnest($3::bigint[]) WITH ORDINALITY AS u(id, ord) "
    "WHERE NOT EXISTS (SELECT 1 FROM channels m "
    "  LEFT JOIN devices d ON d.account_id = m.account_id AND d.id = m.device_id "
    "  LEFT JOIN apps p ON p.account_id = d.account_id AND p.id = d.app_id "
    "  WHERE m.account_id = $1 AND m.id = u.id AND COALESCE(m.group_id, p.group_id) = $2) "
    "ORDER BY u.ord LIMIT 1", 0};
static db_stmt st_users_check = {"report_users_check",
    "SELECT u.id FROM unnest($2::bigint[]) WITH ORDINALITY AS u(id, ord) "
    "WHERE NOT EXISTS (SELECT 1 FROM users x WHERE x.account_id = $1 AND x.id = u.id) "
    "ORDER BY u.ord LIMIT 1", 0};
static db_stmt st_system_check = {"report_system_check",
    "SELECT u.id FROM unnest($2::bigint[]) WITH ORDINALITY AS u(id, ord) "
    "WHERE NOT EXISTS (SELECT 1 FROM system_notification_recipients x "
    "  WHERE x.account_id = $1 AND x.id = u.id) ORDER BY u.ord LIMIT 1", 0};

db_status db_report_channels_check(db_conn *c, long long account_id, long long group_id,
                                   const long long *ids, int n, long long *bad)
{
    char a[24], g[24], arr[IDS_CAP];
    const char *p[] = {db_ll(account_id, a), db_ll(group_id, g), ids_text(ids, n, arr)};
    *bad = 0;
    return db_q_int(c, &st_channels_check, 3, p, bad, NULL);
}

db_status db_report_users_check(db_conn *c, long long account_id, const long long *ids, int n,
                                long long *bad)
{
    char a[24], arr[IDS_CAP];
    const char *p[] = {db_ll(account_id, a), ids_text(ids, n, arr)};
    *bad = 0;
    return db_q_int(c, &st_users_check, 2, p, bad, NULL);
}

db_status db_report_system_check(db_conn *c, long long account_id, const long long *ids, int n,
                                 long long *bad)
{
    char a[24], arr[IDS_CAP];
    const char *p[] = {db_ll(account_id, a), ids_text(ids, n, arr)};
    *bad = 0;
    return db_q_int(c, &st_system_check, 2, p, bad, NULL);
}

static db_stmt st_users_allowed = {"report_users_allowed",
    "SELECT x.id FROM users x WHERE x.account_id = $1 AND x.id = ANY($3::bigint[]) "
    "  AND NOT x.disabled AND (x.role = 'admin' "
    "   OR EXISTS (SELECT 1 FROM group_user_access gua WHERE gua.account_id = $1 "
    "              AND gua.group_id = $2 AND gua.user_id = x.id) "
    "   OR EXISTS (SELECT 1 FROM group_team_access gta JOIN team_members tm "
    "              ON tm.account_id = gta.account_id AND tm.team_id = gta.team_id "
    "              WHERE gta.account_id = $1 AND gta.group_id = $2 AND tm.user_id = x.id)) "
    "ORDER BY x.id", 0};

db_status db_report_users_allowed(db_conn *c, long long account_id, long long group_id,
                                  const long long *ids, int n, long long **out, int *n_out)
{
    char a[24], g[24], arr[IDS_CAP];
    const char *p[] = {db_ll(account_id, a), db_ll(group_id, g), ids_text(ids, n, arr)};
    PGresult *res = NULL;
    db_status st;
    *out = NULL;
    *n_out = 0;
    if (n == 0) {
        return DB_OK;
    }
    if ((st = db_exec(c, &st_users_allowed, 3, p, &res)) != DB_OK) {
        return st;
    }
    if (PQntuples(res) > 0) {
        *out = malloc((size_t)PQntuples(res) * sizeof **out);
        if (*out == NULL) {
            PQclear(res);
            return DB_ERROR;
        }
        for (int i = 0; i < PQntuples(res); i++) {
            (*out)[i] = strtoll(PQgetvalue(res, i, 0), NULL, 10);
        }
        *n_out = PQntuples(res);
    }
    PQclear(res);
    return DB_OK;
}

static db_stmt st_context = {"report_context",
    "SELECT g.name, a.name, COALESCE(g.time_zone, a.time_zone) FROM measurement_groups g "
    "JOIN accounts a ON a.id = g.account_id WHERE g.account_id = $1 AND g.id = $2", 0};

db_status db_report_context(db_conn *c, long long account_id, long long group_id,
                            db_report_ctx *out, bool *found)
{
    char a[24], g[24];
    const char *p[] = {db_ll(account_id, a), db_ll(group_id, g)};
    PGresult *res = NULL;
    db_status st = db_exec(c, &st_context, 2, p, &res);
    memset(out, 0, sizeof *out);
    *found = false;
    if (st != DB_OK) {
        return st;
    }
    if (PQntuples(res) == 1) {
        copy_col(res, 0, 0, out->group_name, sizeof out->group_name);
        copy_col(res, 0, 1, out->account_name, sizeof out->account_name);
        copy_col(res, 0, 2, out->time_zone, sizeof out->time_zone);
        *found = true;
    }
    PQclear(res);
    return DB_OK;
}

/* ---------------------------------------------------------------- time */

static db_stmt st_local_date = {"report_local_date",
    "SELECT to_char(timezone($1::text, to_timestamp($2::float8)), 'YYYY-MM-DD')", 0};

db_status db_report_local_date(db_conn *c, const char *tz, int64_t unix_s, char out[16])
{
    char s[24];
    const char *p[] = {tz, db_ll(unix_s, s)};
    char *text = NULL;
    db_status st = db_q_text(c, &st_local_date, 2, p, &text);
    out[0] = '\0';
    if (st == DB_OK && text != NULL) {
        snprintf(out, 16, "%s", text);
    } else if (st == DB_OK) {
        st = DB_ERROR;
    }
    free(text);
    return st;
}

static db_stmt st_midnights = {"report_midnights",
    "SELECT (extract(epoch FROM timezone($1::text, u.d::timestamp)) * 1000000)::bigint "
    "FROM unnest($2::text[]) WITH ORDINALITY AS u(d, ord) ORDER BY u.ord", 0};

db_status db_report_midnights(db_conn *c, const char *tz, const char *const *dates, int n,
                              int64_t *out)
{
    char arr[16 * 8 + 4];
    size_t len = 0;
    PGresult *res = NULL;
    db_status st;
    if (n < 1 || n > 8) {
        return DB_ERROR;
    }
    arr[len++] = '{';
    for (int i = 0; i < n; i++) {
        len += (size_t)snprintf(arr + len, sizeof arr - len, "%s%.10s", i ? "," : "", dates[i]);
    }
    arr[len++] = '}';
    arr[len] = '\0';
    {
        const char *p[] = {tz, arr};
        st = db_exec(c, &st_midnights, 2, p, &res);
    }
    if (st != DB_OK) {
        return st;
    }
    if (PQntuples(res) != n) {
        PQclear(res);
        return DB_ERROR;
    }
    for (int i = 0; i < n; i++) {
        out[i] = strtoll(PQgetvalue(res, i, 0), NULL, 10);
    }
    PQclear(res);
    return DB_OK;
}

static db_stmt st_offsets = {"report_offsets",
    "SELECT (extract(epoch FROM timezone($1::text, to_timestamp(x::float8))) - x)::integer "
    "FROM unnest($2::bigint[]) WITH ORDINALITY AS u(x, i) ORDER BY i", 0};

db_status db_report_offsets(db_conn *c, const char *tz, const int64_t *secs, size_t n,
                            int32_t *out)
{
    char *arr = db_id_array(secs, n);
    PGresult *res = NULL;
    db_status st;
    if (arr == NULL) {
        return DB_ERROR;
    }
    {
        const char *p[] = {tz, arr};
        st = db_exec(c, &st_offsets, 2, p, &res);
    }
    free(arr);
    if (st != DB_OK) {
        return st;
    }
    if ((size_t)PQntuples(res) != n) {
        PQclear(res);
        return DB_ERROR;
    }
    for (size_t i = 0; i < n; i++) {
        out[i] = (int32_t)strtol(PQgetvalue(res, (int)i, 0), NULL, 10);
    }
    PQclear(res);
    return DB_OK;
}

/* ------------------------------------------------------------ schedule */

static db_stmt st_due = {"report_due",
    "SELECT account_id, id FROM report_settings WHERE auto_enabled AND next_end IS NOT NULL "
    "AND next_end < $1 ORDER BY next_end, id LIMIT $2", 0};

db_status db_report_due(db_conn *c, int64_t before_us, int limit, db_report_ref **out, int *n)
{
    static const db_field fields[] = {{DBF_I64, offsetof(db_report_ref, account_id)},
                                      {DBF_I64, offsetof(db_report_ref, id)}};
    char b[24], l[24];
    const char *p[] = {db_ll(before_us, b), db_ll(limit, l)};
    return db_exec_rows(c, &st_due, 2, p, fields, 2, sizeof(db_report_ref), (void **)out, n);
}

static db_stmt st_arrived = {"report_arrived",
    "SELECT count(*) FROM report_channels rc LEFT JOIN channel_latest l "
    "  ON l.account_id = rc.account_id AND l.channel_id = rc.channel_id "
    "WHERE rc.account_id = $1 AND rc.report_id = $2 AND (l.t IS NULL OR l.t < $3)", 0};

db_status db_report_arrived(db_conn *c, long long account_id, long long id, int64_t t_us,
                            bool *all)
{
    char a[24], i[24], t[24];
    const char *p[] = {db_ll(account_id, a), db_ll(id, i), db_ll(t_us, t)};
    long long missing = 0;
    db_status st = db_q_int(c, &st_arrived, 3, p, &missing, NULL);
    *all = st == DB_OK && missing == 0;
    return st;
}

/* ---------------------------------------------------------------- runs */

static db_stmt st_run_insert = {"report_run_insert",
    "INSERT INTO report_runs (account_id, report_id, kind, period_start, period_end, label, "
    " time_zone, requested_by, next_at) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, to_timestamp($9::float8)) "
    "ON CONFLICT (report_id, period_start) WHERE kind = 'auto' DO NOTHING RETURNING id", 0};

db_status db_report_run_insert(db_conn *c, const db_report_run_new *r, long long *id,
                               bool *inserted)
{
    char a[24], rid[24], s[24], e[24], by[24], due[24];
    const char *p[] = {db_ll(r->account_id, a), db_ll(r->report_id, rid), r->kind,
                       db_ll(r->period_start, s), db_ll(r->period_end, e), r->label,
                       r->time_zone, r->requested_by > 0 ? db_ll(r->requested_by, by) : NULL,
                       db_ll(r->due_s, due)};
    *id = 0;
    return db_q_int(c, &st_run_insert, 9, p, id, inserted);
}

static db_stmt st_run_expire = {"report_run_expire",
    "UPDATE report_runs SET state = 'failed', lease_owner = NULL, "
    " finished_at = to_timestamp($1::float8), "
    " error = 'the server making it stopped during each of its ' || attempts || ' attempts', "
    " error_kind = 'interrupted' "
    "WHERE state = 'running' AND next_at <= to_timestamp($1::float8) AND attempts >= $2", 0};

db_status db_report_run_expire(db_conn *c, int64_t now_s, int max_attempts, long long *n)
{
    char now[24], m[24];
    const char *p[] = {db_ll(now_s, now), db_ll(max_attempts, m)};
    return db_q_exec(c, &st_run_expire, 2, p, n);
}

static db_stmt st_run_claim = {"report_run_claim",
    "UPDATE report_runs x SET state = 'running', attempts = x.attempts + 1, lease_owner = $1, "
    " next_at = to_timestamp($2::float8) + $3 * interval '1 second', "
    " started_at = to_timestamp($2::float8), "
    " error = CASE WHEN x.state = 'running' THEN 'the server working on it stopped or ran out "
    "of time; tried again' ELSE x.error END, "
    " error_kind = CASE WHEN x.state = 'running' THEN 'interrupted' ELSE x.error_kind END, "
    " step = NULL, step_done = 0, step_total = 0 "
    "WHERE x.id = (SELECT y.id FROM report_runs y "
    "  WHERE y.state IN ('queued', 'retry', 'running') AND y.next_at <= to_timestamp($2::float8) "
    "  ORDER BY y.next_at, y.id LIMIT 1 FOR UPDATE SKIP LOCKED) "
    "RETURNING x.account_id, x.id, x.report_id, x.kind, x.period_start, x.period_end, x.label, "
    " x.time_zone, x.attempts, COALESCE(x.requested_by, 0)", 0};

db_status db_report_run_claim(db_conn *c, const char *owner, int64_t now_s, int lease_s,
                              db_report_run *out, bool *found)
{
    char now[24], lease[24];
    const char *p[] = {owner, db_ll(now_s, now), db_ll(lease_s, lease)};
    PGresult *res = NULL;
    db_status st = db_exec(c, &st_run_claim, 3, p, &res);
    memset(out, 0, sizeof *out);
    *found = false;
    if (st != DB_OK) {
        return st;
    }
    if (PQntuples(res) == 1) {
        out->account_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        out->id = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
        out->report_id = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
        copy_col(res, 0, 3, out->kind, sizeof out->kind);
        out->period_start = strtoll(PQgetvalue(res, 0, 4), NULL, 10);
        out->period_end = strtoll(PQgetvalue(res, 0, 5), NULL, 10);
        copy_col(res, 0, 6, out->label, sizeof out->label);
        copy_col(res, 0, 7, out->time_zone, sizeof out->time_zone);
        out->attempts = (int)strtol(PQgetvalue(res, 0, 8), NULL, 10);
        out->requested_by = strtoll(PQgetvalue(res, 0, 9), NULL, 10);
        *found = true;
    }
    PQclear(res);
    return DB_OK;
}

static db_stmt st_run_lock = {"report_run_lock",
    "SELECT count(*) FROM (SELECT 1 FROM report_runs WHERE account_id = $1 AND id = $2 "
    " AND state = 'running' AND lease_owner = $3 AND attempts = $4 FOR UPDATE) AS x", 0};

db_status db_report_run_lock(db_conn *c, long long account_id, long long id, const char *owner,
                             int attempts, bool *ours)
{
    char a[24], i[24], n[24];
    const char *p[] = {db_ll(account_id, a), db_ll(id, i), owner, db_ll(attempts, n)};
    long long got = 0;
    db_status st = db_q_int(c, &st_run_lock, 4, p, &got, NULL);
    *ours = st == DB_OK && got == 1;
    return st;
}

static db_stmt st_run_touch = {"report_run_touch",
    "UPDATE report_runs SET next_at = to_timestamp($4::float8) "
    "WHERE account_id = $1 AND id = $2 AND state = 'running' AND lease_owner = $3", 0};

db_status db_report_run_touch(db_conn *c, long long account_id, long long id, const char *owner,
                              int64_t lease_end_s)
{
    char a[24], i[24], e[24];
    const char *p[] = {db_ll(account_id, a), db_ll(id, i), owner, db_ll(lease_end_s, e)};
    return db_q_exec(c, &st_run_touch, 4, p, NULL);
}

static db_stmt st_run_step = {"report_run_step",
    "UPDATE report_runs SET step = $4, step_done = $5, step_total = $6 "
    "WHERE account_id = $1 AND id = $2 AND state = 'running' AND lease_owner = $3", 0};

db_status db_report_run_step(db_conn *c, long long account_id, long long id, const char *owner,
                             const char *step, int done, int total)
{
    char a[24], i[24], d[24], n[24];
    const char *p[] = {db_ll(account_id, a), db_ll(id, i), owner, step, db_ll(done, d),
                       db_ll(total, n)};
    return db_q_exec(c, &st_run_step, 6, p, NULL);
}

static db_stmt st_run_done = {"report_run_done",
    "UPDATE report_runs SET state = 'done', lease_owner = NULL, samples = $3, render_ms = $4, "
    " finished_at = to_timestamp($5::float8), error = NULL, error_kind = NULL, "
    " next_at = to_timestamp($5::float8) "
    "WHERE account_id = $1 AND id = $2", 0};

db_status db_report_run_done(db_conn *c, long long account_id, long long id, long long samples,
                             int render_ms, int64_t now_s)
{
    char a[24], i[24], s[24], ms[24], now[24];
    const char *p[] = {db_ll(account_id, a), db_ll(id, i), db_ll(samples, s),
                       db_ll(render_ms, ms), db_ll(now_s, now)};
    return db_q_exec(c, &st_run_done, 5, p, NULL);
}

static db_stmt st_run_fail = {"report_run_fail",
    "UPDATE report_runs SET state = CASE WHEN $4 THEN 'retry' ELSE 'failed' END, "
    " lease_owner = NULL, next_at = to_timestamp($5::float8), error = left($7, 500), "
    " error_kind = $8, "
    " finished_at = CASE WHEN $4 THEN NULL ELSE to_timestamp($6::float8) END "
    "WHERE account_id = $1 AND id = $2 AND state = 'running' AND lease_owner = $3", 0};

db_status db_report_run_fail(db_conn *c, long long account_id, long long id, const char *owner,
                             bool retry, int64_t next_s, int64_t now_s, const char *error,
                             const char *kind)
{
    char a[24], i[24], nx[24], now[24];
    const char *p[] = {db_ll(account_id, a), db_ll(id, i), owner, retry ? "true" : "false",
                       db_ll(next_s, nx), db_ll(now_s, now), error, kind};
    return db_q_exec(c, &st_run_fail, 8, p, NULL);
}

static db_stmt st_file_add = {"report_file_add",
    "INSERT INTO report_files (account_id, run_id, format, part, file_id, name, size) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7)", 0};

db_status db_report_file_add(db_conn *c, long long account_id, long long run_id,
                             const char *format, const char *part, long long file_id,
                             const char *name, long long size)
{
    char a[24], r[24], f[24], s[24];
    const char *p[] = {db_ll(account_id, a), db_ll(run_id, r), format, part,
                       db_ll(file_id, f), name, db_ll(size, s)};
    return db_q_exec(c, &st_file_add, 7, p, NULL);
}

static db_stmt st_run_owner = {"report_run_owner",
    "SELECT report_id FROM report_runs WHERE account_id = $1 AND id = $2", 0};

db_status db_report_run_owner(db_conn *c, long long account_id, long long id,
                              long long *report_id, bool *found)
{
    char a[24], i[24];
    const char *p[] = {db_ll(account_id, a), db_ll(id, i)};
    *report_id = 0;
    return db_q_int(c, &st_run_owner, 2, p, report_id, found);
}

static db_stmt st_run_requeue = {"report_run_requeue",
    "UPDATE report_runs SET state = 'queued', attempts = 0, next_at = to_timestamp($3::float8), "
    " finished_at = NULL WHERE account_id = $1 AND id = $2 AND state = 'failed'", 0};

db_status db_report_run_requeue(db_conn *c, long long account_id, long long id, int64_t now_s,
                                bool *changed)
{
    char a[24], i[24], now[24];
    const char *p[] = {db_ll(account_id, a), db_ll(id, i), db_ll(now_s, now)};
    long long n = 0;
    db_status st = db_q_exec(c, &st_run_requeue, 3, p, &n);
    *changed = n > 0;
    return st;
}

/* The API's object of run x. */
#define RUN_JSON                                                                               \
    "json_build_object('id', x.id, 'report_id', x.report_id, 'kind', x.kind, "                 \
    " 'label', x.label, 'from', mt_utc(to_timestamp(x.period_start / 1e6)), "                  \
    " 'to', mt_utc(to_timestamp(x.period_end / 1e6)), 'from_us', x.period_start, "             \
    " 'to_us', x.period_end, 'time_zone', x.time_zone, 'state', x.state, "                     \
    " 'attempts', x.attempts, "                                                                \
    " 'next_at', CASE WHEN x.state IN ('queued', 'retry', 'running') "                         \
    "   THEN mt_utc(x.next_at) END, "                                                          \
    " 'error', x.error, 'error_kind', x.error_kind, "                                          \
    " 'progress', CASE WHEN x.state = 'running' AND x.step IS NOT NULL "                       \
    "   THEN json_build_object('step', x.step, 'done', x.step_done, "                          \
    "   'total', x.step_total) END, "                                                          \
    " 'requested_by', x.requested_by, 'samples', x.samples, "                                  \
    " 'render_ms', x.render_ms, 'created_at', mt_utc(x.created_at), "                          \
    " 'started_at', mt_utc(x.started_at), 'finished_at', mt_utc(x.finished_at), "              \
    " 'files', COALESCE((SELECT json_agg(json_build_object('format', f.format, "               \
    "   'part', NULLIF(f.part, ''), 'file_id', f.file_id, 'name', f.name, 'size', f.size) "    \
    "   ORDER BY f.format, f.part) FROM report_files f WHERE f.account_id = x.account_id "      \
    "   AND f.run_id = x.id), '[]'))"

static db_stmt st_run_json = {"report_run_json",
    "SELECT " RUN_JSON "::text FROM report_runs x WHERE x.account_id = $1 AND x.id = $2", 0};
static db_stmt st_runs_json = {"report_runs_json",
    "SELECT COALESCE(json_agg(j ORDER BY id DESC), '[]')::text FROM ("
    " SELECT x.id, " RUN_JSON " AS j FROM report_runs x WHERE x.account_id = $1 "
    " AND x.report_id = $2 AND ($3::bigint = 0 OR x.id < $3) ORDER BY x.id DESC LIMIT $4) AS y",
    0};

db_status db_report_run_json(db_conn *c, long long account_id, long long id, char **json)
{
    char a[24], i[24];
    const char *p[] = {db_ll(account_id, a), db_ll(id, i)};
    return db_q_text(c, &st_run_json, 2, p, json);
}

db_status db_report_runs_json(db_conn *c, long long account_id, long long report_id,
                              long long before, int limit, char **json)
{
    char a[24], r[24], b[24], l[24];
    const char *p[] = {db_ll(account_id, a), db_ll(report_id, r), db_ll(before, b),
                       db_ll(limit, l)};
    return db_q_text(c, &st_runs_json, 4, p, json);
}

/* ---------------------------------------------------- rendering inputs */

static const db_field chan_fields[] = {
    {DBF_I64, offsetof(db_report_chan, id)},       {DBF_STR, offsetof(db_report_chan, key)},
    {DBF_STR, offsetof(db_report_chan, name)},     {DBF_STR, offsetof(db_report_chan, unit)},
    {DBF_STR, offsetof(db_report_chan, expression)}, {DBF_STR, offsetof(db_report_chan, model)},
    {DBF_STR, offsetof(db_report_chan, serial)},   {DBF_BOOL, offsetof(db_report_chan, computed)}};
#define N_CHAN_FIELDS (int)(sizeof chan_fields / sizeof chan_fields[0])

static db_stmt st_chan_info = {"report_chan_info",
    "SELECT m.id, m.ch_key, m.name, m.unit, m.expression, d.model, d.serial, "
    "       m.expression IS NOT NULL "
    "FROM report_channels rc JOIN channels m ON m.account_id = rc.account_id "
    " AND m.id = rc.channel_id "
    "LEFT JOIN devices d ON d.account_id = m.account_id AND d.id = m.device_id "
    "WHERE rc.account_id = $1 AND rc.report_id = $2 ORDER BY rc.position", 0};

db_status db_report_chan_info(db_conn *c, long long account_id, long long id,
                              db_report_chan **out, int *n)
{
    char a[24], i[24];
    const char *p[] = {db_ll(account_id, a), db_ll(id, i)};
    return db_exec_rows(c, &st_chan_info, 2, p, chan_fields, N_CHAN_FIELDS,
                        sizeof(db_report_chan), (void **)out, n);
}

void db_report_chan_free(db_report_chan *rows, int n)
{
    db_rows_free(rows, n, chan_fields, N_CHAN_FIELDS, sizeof(db_report_chan));
}

static const db_field event_fields[] = {
    {DBF_I64, offsetof(db_report_event, t)},         {DBF_STR, offsetof(db_report_event, kind)},
    {DBF_STR, offsetof(db_report_event, rule_name)}, {DBF_STR, offsetof(db_report_event, channel)},
    {DBF_STR, offsetof(db_report_event, unit)},      {DBF_STR, offsetof(db_report_event, severity)},
    {DBF_STR, offsetof(db_report_event, v1)},        {DBF_I64, offsetof(db_report_event, s1)},
    {DBF_I64, offsetof(db_report_event, special)}};
#define N_EVENT_FIELDS (int)(sizeof event_fields / sizeof event_fields[0])

/* The channel of a special event is the slot's (1 or 2). */
static db_stmt st_events = {"report_events",
    "SELECT e.t, e.kind, e.rule_name, "
    "       CASE WHEN e.slot = 2 THEN COALESCE(e.ch2_name, '') ELSE e.ch1_name END, "
    "       CASE WHEN e.slot = 2 THEN COALESCE(e.ch2_unit, '') ELSE e.ch1_unit END, "
    "       e.severity, "
    "       CASE WHEN e.slot = 2 THEN e.v2::text ELSE e.v1::text END, "
    "       CASE WHEN e.slot = 2 THEN e.s2 ELSE e.s1 END, COALESCE(e.special, 0) "
    "FROM alarm_events e WHERE e.account_id = $1 AND e.group_id = $2 AND e.t >= $3 "
    " AND e.t < $4 ORDER BY e.t, e.id LIMIT $5", 0};
static db_stmt st_events_count = {"report_events_count",
    "SELECT count(*) FROM alarm_events e WHERE e.account_id = $1 AND e.group_id = $2 "
    " AND e.t >= $3 AND e.t < $4", 0};

db_status db_report_events(db_conn *c, long long account_id, long long group_id, int64_t t0,
                           int64_t t1, int limit, db_report_event **out, int *n,
                           long long *total)
{
    char a[24], g[24], s[24], e[24], l[24];
    const char *p[] = {db_ll(account_id, a), db_ll(group_id, g), db_ll(t0, s), db_ll(t1, e),
                       db_ll(limit, l)};
    db_status st = db_q_int(c, &st_events_count, 4, p, total, NULL);
    *out = NULL;
    *n = 0;
    if (st != DB_OK || *total == 0) {
        return st;
    }
    return db_exec_rows(c, &st_events, 5, p, event_fields, N_EVENT_FIELDS,
                        sizeof(db_report_event), (void **)out, n);
}

void db_report_events_free(db_report_event *rows, int n)
{
    db_rows_free(rows, n, event_fields, N_EVENT_FIELDS, sizeof(db_report_event));
}
