/* Storage of alarms (see db_alarm.h). Prepared statements only; every
 * statement filters by account id. */
#define _POSIX_C_SOURCE 200809L
#include "db_alarm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_account.h"
#include "db_rows.h"
#include "mt/types.h"

/* "{1,2,3}" for a bigint[] parameter holding up to ALARM_DEST_MAX ids. */
#define ID_ARRAY_CAP (2 + ALARM_DEST_MAX * 21 + 1)

static const char *id_array(const long long *v, int n, char buf[ID_ARRAY_CAP])
{
    size_t len = 0;
    buf[len++] = '{';
    for (int i = 0; i < n && i < ALARM_DEST_MAX; i++) {
        len += (size_t)snprintf(buf + len, ID_ARRAY_CAP - len, i ? ",%lld" : "%lld", v[i]);
    }
    buf[len++] = '}';
    buf[len] = '\0';
    return buf;
}

/* Parse PostgreSQL's text form of a bigint[] into at most "cap" ids.
 * Returns 0, or -1 when it is not one. */
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

/* Copy column "col" of row "row" into "buf" ("cap" bytes, cut). */
static void copy_col(const PGresult *res, int row, int col, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s", PQgetisnull(res, row, col) ? "" : PQgetvalue(res, row, col));
}

static long long col_ll(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? 0 : strtoll(PQgetvalue(res, row, col), NULL, 10);
}

static bool col_bool(const PGresult *res, int row, int col)
{
    return !PQgetisnull(res, row, col) && PQgetvalue(res, row, col)[0] == 't';
}

/* ----------------------------------------------------------------- rules */

#define RULE_COLS                                                                            \
    "SELECT r.id, r.group_id, r.name, r.kind, COALESCE(r.rule_text, ''), "                  \
    " COALESCE(r.no_data_minutes, 0), r.ch1_id, COALESCE(r.ch2_id, 0), r.enabled, "        \
    " r.severity, r.language, r.notify_clear, r.repeat_minutes, r.special_notice, "        \
    " r.check_files, r.destinations FROM alarm_rules r "

static db_stmt st_get = {"alarm_get",
    RULE_COLS "WHERE r.account_id = $1 AND r.id = $2", 0};
static db_stmt st_get_lock = {"alarm_get_lock",
    RULE_COLS "JOIN alarm_state s ON s.account_id = r.account_id AND s.rule_id = r.id "
    "WHERE r.account_id = $1 AND r.id = $2 FOR UPDATE OF s", 0};

static db_status rule_of(const PGresult *res, int row, db_alarm_rule *r)
{
    memset(r, 0, sizeof *r);
    r->id = col_ll(res, row, 0);
    r->group_id = col_ll(res, row, 1);
    copy_col(res, row, 2, r->name, sizeof r->name);
    r->no_data = strcmp(PQgetvalue(res, row, 3), "no_data") == 0;
    copy_col(res, row, 4, r->rule_text, sizeof r->rule_text);
    r->no_data_minutes = (int)col_ll(res, row, 5);
    r->ch[0] = col_ll(res, row, 6);
    r->ch[1] = col_ll(res, row, 7);
    r->enabled = col_bool(res, row, 8);
    copy_col(res, row, 9, r->severity, sizeof r->severity);
    copy_col(res, row, 10, r->language, sizeof r->language);
    r->notify_clear = col_bool(res, row, 11);
    r->repeat_minutes = (int)col_ll(res, row, 12);
    r->special_notice = col_bool(res, row, 13);
    r->check_files = col_bool(res, row, 14);
    return parse_ids(PQgetvalue(res, row, 15), r->dest, ALARM_DEST_MAX, &r->n_dest) == 0
               ? DB_OK
               : DB_ERROR;
}

db_status db_alarm_get(db_conn *c, long long account_id, long long id, bool lock,
                       db_alarm_rule *out, bool *found)
{
    char a[24], i[24];
    const char *p[] = {db_ll(account_id, a), db_ll(id, i)};
    PGresult *res = NULL;
    db_status st = db_exec(c, lock ? &st_get_lock : &st_get, 2, p, &res);
    memset(out, 0, sizeof *out);
    *found = false;
    if (st == DB_OK && PQntuples(res) == 1) {
        st = rule_of(res, 0, out);
        *found = st == DB_OK;
    }
    PQclear(res);
    return st;
}

/* The parameters $2.. of a rule's definition, shared by insert and write:
 * $2 group, $3 name, $4 kind, $5 rule_text, $6 no_data_minutes, $7 ch1,
 * $8 ch2, $9 enabled, $10 severity, $11 language, $12 notify_clear,
 * $13 repeat_minutes, $14 special_notice, $15 check_files, $16 destinations. */
typedef struct {
    char a[24], g[24], m[24], c1[24], c2[24], rep[24], dest[ID_ARRAY_CAP];
    const char *p[17];
} rule_params;

static void rule_params_fill(rule_params *rp, long long account_id, const db_alarm_rule *r)
{
    rp->p[0] = db_ll(account_id, rp->a);
    rp->p[1] = db_ll(r->group_id, rp->g);
    rp->p[2] = r->name;
    rp->p[3] = r->no_data ? "no_data" : "condition";
    rp->p[4] = r->no_data ? NULL : r->rule_text;
    rp->p[5] = r->no_data ? db_ll(r->no_data_minutes, rp->m) : NULL;
    rp->p[6] = db_ll(r->ch[0], rp->c1);
    rp->p[7] = r->ch[1] != 0 ? db_ll(r->ch[1], rp->c2) : NULL;
    rp->p[8] = r->enabled ? "true" : "false";
    rp->p[9] = r->severity;
    rp->p[10] = r->language;
    rp->p[11] = r->notify_clear ? "true" : "false";
    rp->p[12] = db_ll(r->repeat_minutes, rp->rep);
    rp->p[13] = r->special_notice ? "true" : "false";
    rp->p[14] = r->check_files ? "true" : "false";
    rp->p[15] = id_array(r->dest, r->n_dest, rp->dest);
    rp->p[16] = NULL;
}

static db_stmt st_insert = {"alarm_insert",
    "WITH r AS (INSERT INTO alarm_rules (account_id, group_id, name, kind, rule_text, "
    "  no_data_minutes, ch1_id, ch2_id, enabled, severity, language, notify_clear, "
    "  repeat_minutes, special_notice, check_files, destinations) "
    "  VALUES ($1, $2, $3, $4, $5, $6::integer, $7, $8, $9, $10, $11, $12, $13::integer, $14, "
    "          $15, $16::bigint[]) RETURNING id), "
    "s AS (INSERT INTO alarm_state (account_id, rule_id, last_t) "
    "  SELECT $1, r.id, $17::bigint FROM r) "
    "SELECT id FROM r", 0};

db_status db_alarm_insert(db_conn *c, long long account_id, const db_alarm_rule *r,
                          int64_t now_us, long long *id)
{
    rule_params rp;
    char now[24];
    const char *p[17];
    rule_params_fill(&rp, account_id, r);
    memcpy(p, rp.p, 16 * sizeof *p);
    p[16] = db_ll(now_us, now);
    return db_q_int(c, &st_insert, 17, p, id, NULL);
}

static db_stmt st_write = {"alarm_write",
    "UPDATE alarm_rules SET group_id = $2, name = $3, kind = $4, rule_text = $5, "
    " no_data_minutes = $6::integer, ch1_id = $7, ch2_id = $8, enabled = $9, severity = $10, "
    " language = $11, notify_clear = $12, repeat_minutes = $13::integer, "
    " special_notice = $14, check_files = $15, destinations = $16::bigint[] "
    "WHERE account_id = $1 AND id = $17", 0};

db_status db_alarm_write(db_conn *c, long long account_id, const db_alarm_rule *r)
{
    rule_params rp;
    char id[24];
    const char *p[17];
    rule_params_fill(&rp, account_id, r);
    memcpy(p, rp.p, 16 * sizeof *p);
    p[16] = db_ll(r->id, id);
    return db_q_exec(c, &st_write, 17, p, NULL);
}

static db_stmt st_delete = {"alarm_delete",
    "DELETE FROM alarm_rules WHERE account_id = $1 AND id = $2", 0};

db_status db_alarm_delete(db_conn *c, long long account_id, long long id, bool *found)
{
    char a[24], i[24];
    const char *p[] = {db_ll(account_id, a), db_ll(id, i)};
    long long n = 0;
    db_status st = db_q_exec(c, &st_delete, 2, p, &n);
    *found = n > 0;
    return st;
}

static db_stmt st_count = {"alarm_count",
    "SELECT count(*) FROM alarm_rules WHERE account_id = $1 AND group_id = $2", 0};

db_status db_alarm_count(db_conn *c, long long account_id, long long group_id, long long *n)
{
    char a[24], g[24];
    const char *p[] = {db_ll(account_id, a), db_ll(group_id, g)};
    return db_q_int(c, &st_count, 2, p, n, NULL);
}

static db_stmt st_bump = {"alarm_group_bump",
    "INSERT INTO alarm_groups AS g (account_id, group_id) VALUES ($1, $2) "
    "ON CONFLICT (account_id, group_id) DO UPDATE SET seq = g.seq + 1, updated_at = now()", 0};

db_status db_alarm_group_bump(db_conn *c, long long account_id, long long group_id)
{
    char a[24], g[24];
    const char *p[] = {db_ll(account_id, a), db_ll(group_id, g)};
    return db_q_exec(c, &st_bump, 2, p, NULL);
}

static db_stmt st_group_lock = {"alarm_group_lock",
    "SELECT seq FROM alarm_groups WHERE account_id = $1 AND group_id = $2 FOR UPDATE", 0};

db_status db_alarm_group_lock(db_conn *c, long long account_id, long long group_id,
                              long long *seq)
{
    char a[24], g[24];
    const char *p[] = {db_ll(account_id, a), db_ll(group_id, g)};
    return db_q_int(c, &st_group_lock, 2, p, seq, NULL);
}

static db_stmt st_group_next = {"alarm_group_next",
    "UPDATE alarm_groups SET seq = seq + 1 WHERE account_id = $1 AND group_id = $2 "
    "RETURNING seq", 0};

db_status db_alarm_group_next(db_conn *c, long long account_id, long long group_id,
                              long long *seq)
{
    char a[24], g[24];
    const char *p[] = {db_ll(account_id, a), db_ll(group_id, g)};
    return db_q_int(c, &st_group_next, 2, p, seq, NULL);
}

static db_stmt st_channels = {"alarm_channels",
    "SELECT c.id, c.expression IS NOT NULL, COALESCE(c.group_id, p.group_id, 0), "
    " COALESCE(p.id, 0), COALESCE(d.model, ''), COALESCE(d.firmware, ''), COALESCE(p.kind, '') "
    "FROM channels c LEFT JOIN devices d ON d.account_id = c.account_id AND d.id = c.device_id "
    "LEFT JOIN apps p ON p.account_id = d.account_id AND p.id = d.app_id "
    "WHERE c.account_id = $1 AND c.id = ANY($2::bigint[])", 0};

db_status db_alarm_channels(db_conn *c, long long account_id, const long long *ids, int n,
                            db_alarm_channel *out)
{
    char a[24], arr[ID_ARRAY_CAP];
    const char *p[] = {db_ll(account_id, a), id_array(ids, n, arr)};
    PGresult *res = NULL;
    db_status st;
    memset(out, 0, (size_t)n * sizeof *out);
    if ((st = db_exec(c, &st_channels, 2, p, &res)) != DB_OK) {
        return st;
    }
    for (int r = 0; r < PQntuples(res); r++) {
        long long id = col_ll(res, r, 0);
        for (int i = 0; i < n; i++) {
            if (ids[i] == id) {
                out[i].found = true;
                out[i].computed = col_bool(res, r, 1);
                out[i].group_id = col_ll(res, r, 2);
                out[i].app_id = col_ll(res, r, 3);
                snprintf(out[i].model, sizeof out[i].model, "%s", PQgetvalue(res, r, 4));
                snprintf(out[i].firmware, sizeof out[i].firmware, "%s", PQgetvalue(res, r, 5));
                snprintf(out[i].kind, sizeof out[i].kind, "%s", PQgetvalue(res, r, 6));
            }
        }
    }
    PQclear(res);
    return DB_OK;
}

static db_stmt st_dest_check = {"alarm_dest_check",
    "SELECT u.id FROM unnest($2::bigint[]) WITH ORDINALITY AS u(id, ord) "
    "WHERE NOT EXISTS (SELECT 1 FROM notify_destinations d WHERE d.account_id = $1 "
    "  AND d.id = u.id) ORDER BY u.ord LIMIT 1", 0};

db_status db_alarm_destinations_check(db_conn *c, long long account_id, const long long *ids,
                                      int n, long long *missing)
{
    char a[24], arr[ID_ARRAY_CAP];
    const char *p[] = {db_ll(account_id, a), id_array(ids, n, arr)};
    *missing = 0;
    if (n == 0) {
        return DB_OK;
    }
    return db_q_int(c, &st_dest_check, 2, p, missing, NULL);
}

/* The API's object of rule r with its state s. */
#define RULE_JSON                                                                              \
    "json_build_object('id', r.id, 'group_id', r.group_id, 'name', r.name, 'kind', r.kind, "   \
    " 'rule', r.rule_text, 'no_data_minutes', r.no_data_minutes, "                             \
    " 'channels', CASE WHEN r.ch2_id IS NULL THEN json_build_array(r.ch1_id) "                 \
    "   ELSE json_build_array(r.ch1_id, r.ch2_id) END, "                                       \
    " 'channel_info', (SELECT json_agg(json_build_object('id', m.id, 'key', m.ch_key, "        \
    "   'name', m.name, 'unit', m.unit, 'computed', m.expression IS NOT NULL, "                \
    "   'device_id', m.device_id) ORDER BY u.ord) "                                            \
    "   FROM unnest(ARRAY[r.ch1_id, r.ch2_id]) WITH ORDINALITY AS u(id, ord) "                 \
    "   JOIN channels m ON m.account_id = r.account_id AND m.id = u.id), "                     \
    " 'enabled', r.enabled, 'severity', r.severity, 'language', r.language, "                  \
    " 'notify_clear', r.notify_clear, 'repeat_minutes', r.repeat_minutes, "                    \
    " 'special_notice', r.special_notice, 'check_files', r.check_files, "                      \
    " 'destinations', to_json(r.destinations), "                                               \
    " 'state', json_build_object('raised', COALESCE(s.raised, false), "                        \
    "   'event_id', s.open_event_id, "                                                         \
    "   'since', (SELECT mt_utc(to_timestamp(e.t / 1e6)) FROM alarm_events e "                 \
    "     WHERE e.account_id = r.account_id AND e.id = s.open_event_id)), "                    \
    " 'created_at', mt_utc(r.created_at), 'updated_at', mt_utc(r.updated_at))"

#define RULE_FROM                                                                            \
    "FROM alarm_rules r LEFT JOIN alarm_state s "                                            \
    " ON s.account_id = r.account_id AND s.rule_id = r.id "

static db_stmt st_rule_json = {"alarm_rule_json",
    "SELECT " RULE_JSON "::text " RULE_FROM "WHERE r.account_id = $1 AND r.id = $2", 0};
static db_stmt st_list_json = {"alarm_list_json",
    "SELECT COALESCE(json_agg(" RULE_JSON " ORDER BY r.id), '[]')::text " RULE_FROM
    "WHERE r.account_id = $1 AND r.group_id = $2", 0};

db_status db_alarm_rule_json(db_conn *c, long long account_id, long long id, char **json)
{
    char a[24], i[24];
    const char *p[] = {db_ll(account_id, a), db_ll(id, i)};
    return db_q_text(c, &st_rule_json, 2, p, json);
}

db_status db_alarm_list_json(db_conn *c, long long account_id, long long group_id, char **json)
{
    char a[24], g[24];
    const char *p[] = {db_ll(account_id, a), db_ll(group_id, g)};
    return db_q_text(c, &st_list_json, 2, p, json);
}

/* The clear that closes an open occurrence when its rule is changed,
 * disabled or deleted: values of the raise, time of the change. */
static db_stmt st_reset_close = {"alarm_reset_close",
    "WITH o AS (SELECT e.* FROM alarm_state s JOIN alarm_events e "
    "   ON e.account_id = s.account_id AND e.id = s.open_event_id "
    "   WHERE s.account_id = $1 AND s.rule_id = $2 AND s.raised), "
    "ins AS (INSERT INTO alarm_events (account_id, group_id, rule_id, kind, cause, t, v1, v2, "
    "   s1, s2, ch1_id, ch2_id, ch1_name, ch2_name, ch1_unit, ch2_unit, rule_name, rule_text, "
    "   severity, raise_id) "
    "  SELECT o.account_id, o.group_id, o.rule_id, 'clear', $3, greatest($4::bigint, o.t), "
    "   o.v1, o.v2, o.s1, o.s2, o.ch1_id, o.ch2_id, o.ch1_name, o.ch2_name, o.ch1_unit, "
    "   o.ch2_unit, o.rule_name, o.rule_text, o.severity, o.id FROM o RETURNING id, raise_id), "
    "cl AS (UPDATE alarm_events e SET cleared_at = now(), clear_id = ins.id, "
    "   next_repeat_at = NULL FROM ins WHERE e.account_id = $1 AND e.id = ins.raise_id) "
    "SELECT id FROM ins", 0};
static db_stmt st_reset = {"alarm_reset",
    "UPDATE alarm_state SET state = NULL, raised = false, open_event_id = NULL, "
    " last_t = $3::bigint, last_data_t = NULL, updated_at = now() "
    "WHERE account_id = $1 AND rule_id = $2", 0};

db_status db_alarm_state_reset(db_conn *c, long long account_id, long long rule_id,
                               const char *cause, int64_t now_us, long long *closed)
{
    char a[24], r[24], t[24];
    const char *p[] = {db_ll(account_id, a), db_ll(rule_id, r), cause, db_ll(now_us, t)};
    const char *q[] = {p[0], p[1], p[3]};
    db_status st = db_q_int(c, &st_reset_close, 4, p, closed, NULL);
    if (st == DB_OK) {
        st = db_q_exec(c, &st_reset, 3, q, NULL);
    }
    return st;
}

/* ------------------------------------------------------------ evaluation */

#define LIVE_COLS                                                                            \
    "r.id, r.kind = 'no_data', COALESCE(r.rule_text, ''), COALESCE(r.no_data_minutes, 0), "  \
    " r.ch1_id, COALESCE(r.ch2_id, 0), m.expression IS NOT NULL, r.special_notice, s.state, " \
    " s.raised, COALESCE(s.open_event_id, 0), COALESCE(s.last_t, 0), "                       \
    " COALESCE(s.last_data_t, 0), r.check_files "

#define LIVE_FROM                                                                            \
    "FROM alarm_rules r JOIN alarm_state s ON s.account_id = r.account_id AND s.rule_id = r.id " \
    "JOIN channels m ON m.account_id = r.account_id AND m.id = r.ch1_id "

/* The sequence and the rules in one snapshot: a group without a row gives
 * one row of NULL rule columns and seq 0. */
#define LOAD_GROUP_SQL(lock)                                                                 \
    "SELECT COALESCE((SELECT seq FROM alarm_groups WHERE account_id = $1 AND group_id = $2), " \
    " 0), " LIVE_COLS LIVE_FROM                                                               \
    "WHERE r.account_id = $1 AND r.group_id = $2 AND r.enabled "                             \
    " AND (m.expression IS NOT NULL) = $3::boolean ORDER BY r.id " lock

static db_stmt st_load_group = {"alarm_load_group", LOAD_GROUP_SQL(""), 0};
static db_stmt st_load_group_lock = {"alarm_load_group_lock", LOAD_GROUP_SQL("FOR UPDATE OF s"),
                                     0};
static db_stmt st_seq = {"alarm_group_seq",
    "SELECT seq FROM alarm_groups WHERE account_id = $1 AND group_id = $2", 0};

/* Fill "out" from the live columns starting at column "col". */
static db_status live_of(const PGresult *res, int row, int col, db_alarm_live *l)
{
    size_t len = 0;
    memset(l, 0, sizeof *l);
    l->id = col_ll(res, row, col);
    l->no_data = col_bool(res, row, col + 1);
    copy_col(res, row, col + 2, l->rule_text, sizeof l->rule_text);
    l->no_data_minutes = (int)col_ll(res, row, col + 3);
    l->ch[0] = col_ll(res, row, col + 4);
    l->ch[1] = col_ll(res, row, col + 5);
    l->computed = col_bool(res, row, col + 6);
    l->special_notice = col_bool(res, row, col + 7);
    if (!PQgetisnull(res, row, col + 8)) {
        unsigned char *raw =
            PQunescapeBytea((const unsigned char *)PQgetvalue(res, row, col + 8), &len);
        if (raw == NULL) {
            return DB_ERROR;
        }
        if (len == sizeof l->state) {
            memcpy(l->state, raw, len);
            l->has_state = true;
        }
        PQfreemem(raw);
    }
    l->raised = col_bool(res, row, col + 9);
    l->open_event_id = col_ll(res, row, col + 10);
    l->last_t = col_ll(res, row, col + 11);
    l->last_data_t = col_ll(res, row, col + 12);
    l->check_files = col_bool(res, row, col + 13);
    return DB_OK;
}

static db_status live_rows(const PGresult *res, int col, db_alarm_live **out, int *n)
{
    int rows = PQntuples(res);
    *out = NULL;
    *n = 0;
    if (rows == 0) {
        return DB_OK;
    }
    if ((*out = calloc((size_t)rows, sizeof **out)) == NULL) {
        return DB_ERROR;
    }
    for (int i = 0; i < rows; i++) {
        if (live_of(res, i, col, &(*out)[i]) != DB_OK) {
            free(*out);
            *out = NULL;
            return DB_ERROR;
        }
    }
    *n = rows;
    return DB_OK;
}

db_status db_alarm_load_group(db_conn *c, long long account_id, long long group_id,
                              bool computed, bool lock, long long *seq, db_alarm_live **out,
                              int *n)
{
    char a[24], g[24];
    const char *p[] = {db_ll(account_id, a), db_ll(group_id, g), computed ? "true" : "false"};
    PGresult *res = NULL;
    db_status st = db_exec(c, lock ? &st_load_group_lock : &st_load_group, 3, p, &res);
    *out = NULL;
    *n = 0;
    *seq = 0;
    if (st != DB_OK) {
        return st;
    }
    if (PQntuples(res) > 0) {
        *seq = col_ll(res, 0, 0);
        st = live_rows(res, 1, out, n);
        PQclear(res);
        return st;
    }
    PQclear(res);
    /* No enabled rule: the sequence alone. */
    return db_q_int(c, &st_seq, 2, p, seq, NULL);
}

static db_stmt st_load_computed = {"alarm_load_computed",
    "SELECT " LIVE_COLS LIVE_FROM
    "WHERE r.account_id = $1 AND r.ch1_id = $2 AND r.enabled AND r.kind = 'condition' "
    "ORDER BY r.id FOR UPDATE OF s", 0};

db_status db_alarm_load_computed(db_conn *c, long long account_id, int64_t ch,
                                 db_alarm_live **out, int *n)
{
    char a[24], h[24];
    const char *p[] = {db_ll(account_id, a), db_ll((long long)ch, h)};
    PGresult *res = NULL;
    db_status st = db_exec(c, &st_load_computed, 2, p, &res);
    *out = NULL;
    *n = 0;
    if (st == DB_OK) {
        st = live_rows(res, 0, out, n);
    }
    PQclear(res);
    return st;
}

static db_stmt st_save = {"alarm_save_states",
    "UPDATE alarm_state s SET state = u.state, raised = u.raised, "
    " open_event_id = NULLIF(u.open_id, 0), last_t = NULLIF(u.last_t, 0), "
    " last_data_t = NULLIF(u.last_data_t, 0), updated_at = now() "
    "FROM unnest($2::bigint[], $3::bytea[], $4::boolean[], $5::bigint[], $6::bigint[], "
    "            $7::bigint[]) AS u(rule_id, state, raised, open_id, last_t, last_data_t) "
    "WHERE s.account_id = $1 AND s.rule_id = u.rule_id", 0};

/* Append "text" to the growing buffer (*buf, *len, *cap). Returns 0 or -1. */
static int buf_add(char **buf, size_t *len, size_t *cap, const char *text)
{
    size_t n = strlen(text);
    if (*len + n + 1 > *cap) {
        size_t want = (*cap ? *cap * 2 : 256) + n;
        char *p = realloc(*buf, want);
        if (p == NULL) {
            return -1;
        }
        *buf = p;
        *cap = want;
    }
    memcpy(*buf + *len, text, n + 1);
    *len += n;
    return 0;
}

db_status db_alarm_save_states(db_conn *c, long long account_id, const db_alarm_state_row *rows,
                               int n)
{
    char *arr[6] = {NULL};
    size_t len[6] = {0}, cap[6] = {0};
    char a[24];
    const char *p[7];
    db_status st = DB_ERROR;
    int bad = 0;
    if (n <= 0) {
        return DB_OK;
    }
    for (int k = 0; k < 6; k++) {
        bad |= buf_add(&arr[k], &len[k], &cap[k], "{");
    }
    for (int i = 0; i < n && !bad; i++) {
        const db_alarm_state_row *r = &rows[i];
        char item[128];
        const char *sep = i ? "," : "";
        snprintf(item, sizeof item, "%s%lld", sep, r->rule_id);
        bad |= buf_add(&arr[0], &len[0], &cap[0], item);
        if (r->has_state) {
            /* An element of a text bytea[]: "\\x<hex>" quoted. */
            char hex[2 * 40 + 16];
            size_t o = (size_t)snprintf(hex, sizeof hex, "%s\"\\\\x", sep);
            for (int b = 0; b < 40; b++) {
                o += (size_t)snprintf(hex + o, sizeof hex - o, "%02x", r->state[b]);
            }
            snprintf(hex + o, sizeof hex - o, "\"");
            bad |= buf_add(&arr[1], &len[1], &cap[1], hex);
        } else {
            snprintf(item, sizeof item, "%sNULL", sep);
            bad |= buf_add(&arr[1], &len[1], &cap[1], item);
        }
        snprintf(item, sizeof item, "%s%s", sep, r->raised ? "t" : "f");
        bad |= buf_add(&arr[2], &len[2], &cap[2], item);
        snprintf(item, sizeof item, "%s%lld", sep, r->open_event_id);
        bad |= buf_add(&arr[3], &len[3], &cap[3], item);
        snprintf(item, sizeof item, "%s%lld", sep, (long long)r->last_t);
        bad |= buf_add(&arr[4], &len[4], &cap[4], item);
        snprintf(item, sizeof item, "%s%lld", sep, (long long)r->last_data_t);
        bad |= buf_add(&arr[5], &len[5], &cap[5], item);
    }
    for (int k = 0; k < 6; k++) {
        bad |= buf_add(&arr[k], &len[k], &cap[k], "}");
    }
    if (!bad) {
        p[0] = db_ll(account_id, a);
        for (int k = 0; k < 6; k++) {
            p[k + 1] = arr[k];
        }
        st = db_q_exec(c, &st_save, 7, p, NULL);
    }
    for (int k = 0; k < 6; k++) {
        free(arr[k]);
    }
    return st;
}

/* The event with the rule's words and the channels' names as they are now;
 * a clear also closes its raise (and stops its repeats). A raise of a rule
 * that repeats (and is neither late nor from a file) schedules its first
 * repeat. */
static db_stmt st_event = {"alarm_event_insert",
    "WITH ins AS (INSERT INTO alarm_events (account_id, group_id, rule_id, kind, cause, late, "
    "   t, v1, v2, s1, s2, slot, special, ch1_id, ch2_id, ch1_name, ch2_name, ch1_unit, "
    "   ch2_unit, rule_name, rule_text, severity, raise_id, file_id, file_name, "
    "   next_repeat_at) "
    "  SELECT $1, r.group_id, r.id, $3, $4, $5::boolean, $6::bigint, $7::float8, $8::float8, "
    "   $9::smallint, $10::smallint, $11::smallint, $12::smallint, r.ch1_id, r.ch2_id, "
    "   COALESCE(c1.name, ''), c2.name, COALESCE(c1.unit, ''), c2.unit, r.name, "
    "   COALESCE(r.rule_text, 'NO DATA ' || r.no_data_minutes || 'm'), r.severity, "
    "   NULLIF($13::bigint, 0), NULLIF($14::bigint, 0), $15, "
    "   CASE WHEN $3 = 'raise' AND NOT $5::boolean AND $4 <> 'file' AND r.repeat_minutes > 0 "
    "        THEN now() + r.repeat_minutes * interval '1 minute' END "
    "  FROM alarm_rules r "
    "  LEFT JOIN channels c1 ON c1.account_id = r.account_id AND c1.id = r.ch1_id "
    "  LEFT JOIN channels c2 ON c2.account_id = r.account_id AND c2.id = r.ch2_id "
    "  WHERE r.account_id = $1 AND r.id = $2 RETURNING id, raise_id, kind), "
    "cl AS (UPDATE alarm_events e SET cleared_at = now(), clear_id = ins.id, "
    "   next_repeat_at = NULL FROM ins "
    "   WHERE ins.kind = 'clear' AND e.account_id = $1 AND e.id = ins.raise_id) "
    "SELECT id FROM ins", 0};

/* The value of a slot as text (NULL for a special value) and its kind. */
static const char *value_param(double v, char buf[40], char kind_buf[8])
{
    mt_sv kind = mt_sv_kind(v);
    snprintf(kind_buf, 8, "%d", (int)kind);
    if (kind != MT_SV_NONE) {
        return NULL;
    }
    snprintf(buf, 40, "%.17g", v);
    return buf;
}

db_status db_alarm_event_insert(db_conn *c, long long account_id, const db_alarm_event_in *ev,
                                long long *id)
{
    char a[24], r[24], t[24], v1[40], v2[40], s1[8], s2[8], slot[24], sp[24], raise[24],
        file[24];
    const char *p[15];
    p[0] = db_ll(account_id, a);
    p[1] = db_ll(ev->rule_id, r);
    p[2] = ev->kind;
    p[3] = ev->cause;
    p[4] = ev->late ? "true" : "false";
    p[5] = db_ll((long long)ev->t, t);
    p[6] = value_param(ev->v[0], v1, s1);
    if (ev->has_v2) {
        p[7] = value_param(ev->v[1], v2, s2);
    } else {
        p[7] = NULL;
        snprintf(s2, sizeof s2, "0");
    }
    p[8] = s1;
    p[9] = s2;
    p[10] = ev->slot ? db_ll(ev->slot, slot) : NULL;
    p[11] = ev->special ? db_ll(ev->special, sp) : NULL;
    p[12] = db_ll(ev->raise_id, raise);
    p[13] = db_ll(ev->file_id, file);
    p[14] = ev->file_name;
    return db_q_int(c, &st_event, 15, p, id, NULL);
}

static db_stmt st_event_msg = {"alarm_event_msg",
    "SELECT e.id, COALESCE(e.group_id, 0), COALESCE(e.rule_id, 0), e.kind, e.cause, e.late, "
    " COALESCE(g.name, ''), e.rule_name, e.rule_text, e.severity, "
    " COALESCE(r.language, a.language), COALESCE(r.notify_clear, false), "
    " COALESCE(r.special_notice, false), COALESCE(r.repeat_minutes, 0), "
    " COALESCE(r.destinations, '{}'), e.ch1_name, COALESCE(e.ch2_name, ''), e.ch1_unit, "
    " COALESCE(e.ch2_unit, ''), (e.ch2_id IS NOT NULL OR e.ch2_name IS NOT NULL), "
    " e.v1, e.v2, e.s1, e.s2, COALESCE(e.slot, 0), COALESCE(e.special, 0), "
    " to_char(to_timestamp(e.t / 1e6) AT TIME ZONE a.time_zone, 'YYYY-MM-DD HH24:MI:SS'), "
    " EXTRACT(EPOCH FROM (to_timestamp(e.t / 1e6) AT TIME ZONE a.time_zone) "
    "   - (to_timestamp(e.t / 1e6) AT TIME ZONE 'UTC'))::int, "
    " e.t, e.repeats, COALESCE(e.file_name, ''), COALESCE(e.raise_id, 0) "
    "FROM alarm_events e JOIN accounts a ON a.id = e.account_id "
    "LEFT JOIN alarm_rules r ON r.account_id = e.account_id AND r.id = e.rule_id "
    "LEFT JOIN measurement_groups g ON g.account_id = e.account_id AND g.id = e.group_id "
    "WHERE e.account_id = $1 AND e.id = $2", 0};

db_status db_alarm_event_msg_get(db_conn *c, long long account_id, long long id,
                                 db_alarm_event_msg *out, bool *found)
{
    char a[24], i[24];
    const char *p[] = {db_ll(account_id, a), db_ll(id, i)};
    PGresult *res = NULL;
    db_status st = db_exec(c, &st_event_msg, 2, p, &res);
    memset(out, 0, sizeof *out);
    *found = false;
    if (st == DB_OK && PQntuples(res) == 1) {
        out->id = col_ll(res, 0, 0);
        out->group_id = col_ll(res, 0, 1);
        out->rule_id = col_ll(res, 0, 2);
        copy_col(res, 0, 3, out->kind, sizeof out->kind);
        copy_col(res, 0, 4, out->cause, sizeof out->cause);
        out->late = col_bool(res, 0, 5);
        copy_col(res, 0, 6, out->group_name, sizeof out->group_name);
        copy_col(res, 0, 7, out->rule_name, sizeof out->rule_name);
        copy_col(res, 0, 8, out->rule_text, sizeof out->rule_text);
        copy_col(res, 0, 9, out->severity, sizeof out->severity);
        copy_col(res, 0, 10, out->language, sizeof out->language);
        out->notify_clear = col_bool(res, 0, 11);
        out->special_notice = col_bool(res, 0, 12);
        out->repeat_minutes = (int)col_ll(res, 0, 13);
        if (parse_ids(PQgetvalue(res, 0, 14), out->dest, ALARM_DEST_MAX, &out->n_dest) != 0) {
            st = DB_ERROR;
        }
        copy_col(res, 0, 15, out->ch_name[0], sizeof out->ch_name[0]);
        copy_col(res, 0, 16, out->ch_name[1], sizeof out->ch_name[1]);
        copy_col(res, 0, 17, out->ch_unit[0], sizeof out->ch_unit[0]);
        copy_col(res, 0, 18, out->ch_unit[1], sizeof out->ch_unit[1]);
        out->n_ch = col_bool(res, 0, 19) ? 2 : 1;
        for (int k = 0; k < 2; k++) {
            int s = (int)col_ll(res, 0, 22 + k);
            out->v[k] = s != 0 ? mt_sv_value((mt_sv)s)
                        : PQgetisnull(res, 0, 20 + k) ? mt_sv_value(MT_SV_MISSING)
                                                      : strtod(PQgetvalue(res, 0, 20 + k), NULL);
        }
        out->slot = (int)col_ll(res, 0, 24);
        out->special = (int)col_ll(res, 0, 25);
        copy_col(res, 0, 26, out->local_time, sizeof out->local_time);
        out->utc_offset = (int)col_ll(res, 0, 27);
        out->t = col_ll(res, 0, 28);
        out->repeats = (int)col_ll(res, 0, 29);
        copy_col(res, 0, 30, out->file_name, sizeof out->file_name);
        out->raise_id = col_ll(res, 0, 31);
        *found = st == DB_OK;
    }
    PQclear(res);
    return st;
}

/* ----------------------------------------------------------------- inbox */

static db_stmt st_inbox = {"alarm_inbox",
    "INSERT INTO notifications (account_id, user_id, kind, title, body, data) "
    "SELECT $1, u.id, $3, t.title, t.body, $7::jsonb "
    "FROM users u JOIN accounts a ON a.id = u.account_id "
    "JOIN unnest($4::text[], $5::text[], $6::text[]) AS t(lang, title, body) "
    "  ON t.lang = COALESCE(u.language, a.language) "
    "WHERE u.account_id = $1 AND NOT u.disabled AND (u.role = 'admin' OR ($2::bigint <> 0 AND "
    "  u.id IN (SELECT ua.user_id FROM group_user_access ua WHERE ua.account_id = $1 "
    "           AND ua.group_id = $2 "
    "           UNION SELECT tm.user_id FROM group_team_access ta JOIN team_members tm "
    "           ON tm.account_id = ta.account_id AND tm.team_id = ta.team_id "
    "           WHERE ta.account_id = $1 AND ta.group_id = $2)))", 0};

/* Append "s" as one element of a PostgreSQL text[] literal (quoted,
 * backslash and quote escaped). */
static int array_add(char **buf, size_t *len, size_t *cap, const char *s, bool first)
{
    char esc[8];
    if (buf_add(buf, len, cap, first ? "\"" : ",\"") != 0) {
        return -1;
    }
    for (const char *q = s; *q; q++) {
        if (*q == '"' || *q == '\\') {
            esc[0] = '\\';
            esc[1] = *q;
            esc[2] = '\0';
        } else {
            esc[0] = *q;
            esc[1] = '\0';
        }
        if (buf_add(buf, len, cap, esc) != 0) {
            return -1;
        }
    }
    return buf_add(buf, len, cap, "\"");
}

db_status db_alarm_inbox(db_conn *c, long long account_id, long long group_id, const char *kind,
                         const char *const *langs, const char *const *titles,
                         const char *const *bodies, int n, const char *data, long long *rows)
{
    const char *const *cols[3] = {langs, titles, bodies};
    char *arr[3] = {NULL};
    size_t len[3] = {0}, cap[3] = {0};
    char a[24], g[24];
    const char *p[7];
    db_status st = DB_ERROR;
    int bad = 0;
    *rows = 0;
    for (int k = 0; k < 3; k++) {
        bad |= buf_add(&arr[k], &len[k], &cap[k], "{");
        for (int i = 0; i < n && !bad; i++) {
            bad |= array_add(&arr[k], &len[k], &cap[k], cols[k][i], i == 0);
        }
        bad |= buf_add(&arr[k], &len[k], &cap[k], "}");
    }
    if (!bad) {
        p[0] = db_ll(account_id, a);
        p[1] = db_ll(group_id, g);
        p[2] = kind;
        p[3] = arr[0];
        p[4] = arr[1];
        p[5] = arr[2];
        p[6] = data != NULL ? data : "{}";
        st = db_q_exec(c, &st_inbox, 7, p, rows);
    }
    for (int k = 0; k < 3; k++) {
        free(arr[k]);
    }
    return st;
}

/* ---------------------------------------------------------------- events */

/* The groups user $3 may see (directly or through a team), in account $1. */
#define ALARM_GROUPS_OF_USER                                                                  \
    "SELECT gua.group_id FROM group_user_access gua WHERE gua.account_id = $1 "             \
    "  AND gua.user_id = $3 "                                                               \
    "UNION SELECT gta.group_id FROM group_team_access gta JOIN team_members tm "            \
    "  ON tm.account_id = gta.account_id AND tm.team_id = gta.team_id "                     \
    "  WHERE gta.account_id = $1 AND tm.user_id = $3"

/* Who may see event e: $3 NULL (an administrator) or a user with a grant on
 * its group. */
#define ALARM_VISIBLE "($3::bigint IS NULL OR e.group_id IN (" ALARM_GROUPS_OF_USER "))"

/* A value of event e's slot ("v", "s"): its number, or the special
 * value's name. */
#define ALARM_VALUE(v, s)                                                                     \
    "CASE WHEN e." s " <> 0 THEN to_json((ARRAY['missing', '+over', '-over', 'break', "      \
    "'error'])[e." s "]) ELSE to_json(e." v ") END"

/* The API's object of event e, with its rule's group. A raise's
 * "cleared_time" is its clear's sample time, the one the clear's own
 * "time" says; "cleared_at" is when that clear was recorded (its data's
 * arrival, later for a backlog), so that the portal shows one clear time. */
#define EVENT_JSON                                                                             \
    "json_build_object('id', e.id, 'group_id', e.group_id, 'rule_id', e.rule_id, "            \
    " 'kind', e.kind, 'cause', e.cause, 'late', e.late, 't', e.t, "                           \
    " 'time', mt_utc(to_timestamp(e.t / 1e6)), "                                              \
    " 'values', CASE WHEN e.ch2_name IS NULL THEN json_build_array(" ALARM_VALUE("v1", "s1")  \
    "   ) ELSE json_build_array(" ALARM_VALUE("v1", "s1") ", " ALARM_VALUE("v2", "s2") ") END, " \
    " 'channels', CASE WHEN e.ch2_name IS NULL THEN json_build_array(json_build_object("      \
    "   'id', e.ch1_id, 'name', e.ch1_name, 'unit', e.ch1_unit)) ELSE json_build_array("      \
    "   json_build_object('id', e.ch1_id, 'name', e.ch1_name, 'unit', e.ch1_unit), "          \
    "   json_build_object('id', e.ch2_id, 'name', e.ch2_name, 'unit', e.ch2_unit)) END, "     \
    " 'slot', e.slot, 'special', (ARRAY['missing', '+over', '-over', 'break', "               \
    "   'error'])[e.special], "                                                               \
    " 'rule_name', e.rule_name, 'rule', e.rule_text, 'severity', e.severity, "               \
    " 'state', CASE WHEN e.kind <> 'raise' THEN NULL WHEN e.late THEN 'history' "             \
    "   WHEN e.clear_id IS NULL THEN 'raised' ELSE 'cleared' END, "                           \
    " 'cleared_at', mt_utc(e.cleared_at), 'clear_id', e.clear_id, 'raise_id', e.raise_id, "  \
    " 'cleared_time', (SELECT mt_utc(to_timestamp(c.t / 1e6)) FROM alarm_events c "          \
    "   WHERE c.account_id = e.account_id AND c.id = e.clear_id), "                          \
    " 'acked', e.acked_at IS NOT NULL, 'acked_at', mt_utc(e.acked_at), "                     \
    " 'acked_by', CASE WHEN e.acked_at IS NULL THEN NULL ELSE json_build_object("            \
    "   'id', e.acked_by, 'name', e.acked_by_name) END, 'ack_comment', e.ack_comment, "      \
    " 'file', CASE WHEN e.file_name IS NULL THEN NULL ELSE json_build_object("               \
    "   'id', e.file_id, 'name', e.file_name) END, "                                         \
    " 'repeats', e.repeats, 'created_at', mt_utc(e.created_at))"

/* The open occurrences: raised, live. */
#define ALARM_OPEN "e.kind = 'raise' AND e.clear_id IS NULL AND NOT e.late"

static db_stmt st_events = {"alarm_events_json",
    "WITH page AS (SELECT e.* FROM alarm_events e "
    " WHERE e.account_id = $1 AND " ALARM_VISIBLE
    "  AND ($2::bigint IS NULL OR e.group_id = $2) "
    "  AND ($4::bigint IS NULL OR e.rule_id = $4) "
    "  AND ($5::bigint IS NULL OR e.ch1_id = $5 OR e.ch2_id = $5) "
    "  AND ($6::text IS NULL OR e.kind = $6) "
    "  AND ($7::text IS NULL OR (e.kind = 'raise' AND NOT e.late AND "
    "       (e.clear_id IS NULL) = ($7 = 'raised'))) "
    "  AND ($8::boolean IS NULL OR (e.acked_at IS NOT NULL) = $8) "
    "  AND ($9::boolean IS NULL OR e.late = $9) "
    "  AND ($10::bigint IS NULL OR e.t >= $10) AND ($11::bigint IS NULL OR e.t < $11) "
    "  AND ($12::bigint IS NULL OR e.id < $12) "
    " ORDER BY e.id DESC LIMIT $13::integer + 1) "
    "SELECT json_build_object('items', COALESCE((SELECT json_agg(" EVENT_JSON " ORDER BY e.id DESC) "
    "  FROM (SELECT * FROM page ORDER BY id DESC LIMIT $13::integer) e), '[]'), "
    " 'next_before', CASE WHEN (SELECT count(*) FROM page) > $13::integer "
    "   THEN (SELECT min(id) FROM (SELECT id FROM page ORDER BY id DESC LIMIT $13::integer) x) "
    "   END)::text", 0};

/* Text of an optional id parameter. */
static const char *opt_ll(long long v, char buf[24])
{
    return v != 0 ? db_ll(v, buf) : NULL;
}

db_status db_alarm_events_json(db_conn *c, long long account_id, long long viewer,
                               const db_alarm_filter *f, char **json)
{
    char a[24], g[24], u[24], r[24], ch[24], from[24], to[24], before[24], lim[24];
    const char *p[13];
    p[0] = db_ll(account_id, a);
    p[1] = opt_ll(f->group_id, g);
    p[2] = opt_ll(viewer, u);
    p[3] = opt_ll(f->rule_id, r);
    p[4] = opt_ll(f->channel_id, ch);
    p[5] = f->kind;
    p[6] = f->state;
    p[7] = f->acked < 0 ? NULL : f->acked ? "true" : "false";
    p[8] = f->late < 0 ? NULL : f->late ? "true" : "false";
    p[9] = f->has_from ? db_ll((long long)f->from, from) : NULL;
    p[10] = f->has_to ? db_ll((long long)f->to, to) : NULL;
    p[11] = opt_ll(f->before, before);
    p[12] = db_ll(f->limit, lim);
    return db_q_text(c, &st_events, 13, p, json);
}

static db_stmt st_event_json = {"alarm_event_json",
    "SELECT " EVENT_JSON "::text FROM alarm_events e "
    "WHERE e.account_id = $1 AND e.id = $2 AND " ALARM_VISIBLE, 0};

db_status db_alarm_event_json(db_conn *c, long long account_id, long long viewer,
                              long long id, char **json)
{
    char a[24], i[24], u[24];
    const char *p[] = {db_ll(account_id, a), db_ll(id, i), opt_ll(viewer, u)};
    return db_q_text(c, &st_event_json, 3, p, json);
}

static db_stmt st_event_group = {"alarm_event_group",
    "SELECT COALESCE(group_id, 0) FROM alarm_events WHERE account_id = $1 AND id = $2", 0};

db_status db_alarm_event_group(db_conn *c, long long account_id, long long id,
                               long long *group_id, bool *found)
{
    char a[24], i[24];
    const char *p[] = {db_ll(account_id, a), db_ll(id, i)};
    return db_q_int(c, &st_event_group, 2, p, group_id, found);
}

static db_stmt st_ack = {"alarm_event_ack",
    "UPDATE alarm_events e SET acked_at = now(), acked_by = $3, "
    " acked_by_name = (SELECT u.name FROM users u WHERE u.account_id = $1 AND u.id = $3), "
    " ack_comment = $4 "
    "WHERE e.account_id = $1 AND e.id = $2 AND e.kind IN ('raise', 'special') "
    " AND e.acked_at IS NULL RETURNING e.id", 0};
static db_stmt st_acked = {"alarm_event_acked",
    "SELECT count(*) FROM alarm_events WHERE account_id = $1 AND id = $2 "
    " AND acked_at IS NOT NULL", 0};

db_status db_alarm_event_ack(db_conn *c, long long account_id, long long id, long long user_id,
                             const char *comment, bool *done, bool *already)
{
    char a[24], i[24], u[24];
    const char *p[] = {db_ll(account_id, a), db_ll(id, i), db_ll(user_id, u), comment};
    long long n = 0;
    db_status st = db_exec_found(c, &st_ack, 4, p, done);
    *already = false;
    if (st == DB_OK && !*done) {
        st = db_q_int(c, &st_acked, 2, p, &n, NULL);
        *already = n > 0;
    }
    return st;
}

static db_stmt st_active = {"alarm_active_json",
    "SELECT COALESCE(json_agg(" EVENT_JSON " ORDER BY e.id DESC), '[]')::text FROM ("
    " SELECT e.* FROM alarm_events e WHERE e.account_id = $1 AND " ALARM_OPEN
    "  AND ($2::bigint IS NULL OR e.group_id = $2) AND " ALARM_VISIBLE
    " ORDER BY e.id DESC LIMIT $4::integer) e", 0};

db_status db_alarm_active_json(db_conn *c, long long account_id, long long viewer,
                               long long group_id, int limit, char **json)
{
    char a[24], g[24], u[24], l[24];
    const char *p[] = {db_ll(account_id, a), opt_ll(group_id, g), opt_ll(viewer, u),
                       db_ll(limit, l)};
    return db_q_text(c, &st_active, 4, p, json);
}

static db_stmt st_summary = {"alarm_summary_json",
    "SELECT json_build_object('group_id', $2::bigint, "
    " 'rules', (SELECT json_build_object('total', count(*), "
    "   'enabled', count(*) FILTER (WHERE r.enabled)) FROM alarm_rules r "
    "   WHERE r.account_id = $1 AND r.group_id = $2), "
    " 'raised', (SELECT count(*) FROM alarm_events e WHERE e.account_id = $1 "
    "   AND e.group_id = $2 AND " ALARM_OPEN "), "
    " 'unacked', (SELECT count(*) FROM alarm_events e WHERE e.account_id = $1 "
    "   AND e.group_id = $2 AND " ALARM_OPEN " AND e.acked_at IS NULL), "
    " 'by_severity', (SELECT json_build_object("
    "   'alert', count(*) FILTER (WHERE e.severity = 'alert'), "
    "   'warning', count(*) FILTER (WHERE e.severity = 'warning')) FROM alarm_events e "
    "   WHERE e.account_id = $1 AND e.group_id = $2 AND " ALARM_OPEN "), "
    " 'active', (SELECT COALESCE(json_agg(" EVENT_JSON " ORDER BY e.id DESC), '[]') FROM ("
    "   SELECT e.* FROM alarm_events e WHERE e.account_id = $1 AND e.group_id = $2 "
    "   AND " ALARM_OPEN " ORDER BY e.id DESC LIMIT 20) e), "
    " 'last_24h', (SELECT json_build_object("
    "   'raised', count(*) FILTER (WHERE e.kind = 'raise'), "
    "   'cleared', count(*) FILTER (WHERE e.kind = 'clear')) FROM alarm_events e "
    "   WHERE e.account_id = $1 AND e.group_id = $2 AND NOT e.late "
    "   AND e.created_at > now() - interval '24 hours'), "
    " 'updated_at', mt_utc(now()))::text", 0};

db_status db_alarm_summary_json(db_conn *c, long long account_id, long long group_id,
                                char **json)
{
    char a[24], g[24];
    const char *p[] = {db_ll(account_id, a), db_ll(group_id, g)};
    return db_q_text(c, &st_summary, 2, p, json);
}

/* -------------------------------------------------------------- settings */

static db_stmt st_settings_json = {"alarm_settings_json",
    "SELECT json_build_object('group_id', g.id, "
    " 'disconnect_notice', COALESCE(s.disconnect_notice, true), "
    " 'disconnect_minutes', COALESCE(s.disconnect_minutes, 10), "
    " 'notice_language', s.notice_language, "
    " 'notice_destinations', to_json(COALESCE(s.notice_destinations, '{}'::bigint[])), "
    " 'updated_at', mt_utc(s.updated_at))::text "
    "FROM measurement_groups g LEFT JOIN alarm_groups s "
    " ON s.account_id = g.account_id AND s.group_id = g.id "
    "WHERE g.account_id = $1 AND g.id = $2", 0};

db_status db_alarm_settings_json(db_conn *c, long long account_id, long long group_id,
                                 char **json)
{
    char a[24], g[24];
    const char *p[] = {db_ll(account_id, a), db_ll(group_id, g)};
    return db_q_text(c, &st_settings_json, 2, p, json);
}

static db_stmt st_settings_put = {"alarm_settings_put",
    "INSERT INTO alarm_groups AS g (account_id, group_id, disconnect_notice, "
    " disconnect_minutes, notice_language, notice_destinations) "
    "VALUES ($1, $2, $3, $4::integer, NULLIF($5, ''), $6::bigint[]) "
    "ON CONFLICT (account_id, group_id) DO UPDATE SET "
    " disconnect_notice = EXCLUDED.disconnect_notice, "
    " disconnect_minutes = EXCLUDED.disconnect_minutes, "
    " notice_language = EXCLUDED.notice_language, "
    " notice_destinations = EXCLUDED.notice_destinations, updated_at = now()", 0};

db_status db_alarm_settings_put(db_conn *c, long long account_id, long long group_id,
                                const db_alarm_settings *s)
{
    char a[24], g[24], m[24], dest[ID_ARRAY_CAP];
    const char *p[] = {db_ll(account_id, a), db_ll(group_id, g),
                       s->disconnect_notice ? "true" : "false",
                       db_ll(s->disconnect_minutes, m), s->notice_language,
                       id_array(s->dest, s->n_dest, dest)};
    return db_q_exec(c, &st_settings_put, 6, p, NULL);
}

/* ------------------------------------------------ temporary login (A8) */

/* A bytea parameter in hex ("\\x..."), for 32 bytes. */
static const char *hex32(const unsigned char b[32], char out[72])
{
    size_t o = (size_t)snprintf(out, 72, "\\x");
    for (int i = 0; i < 32; i++) {
        o += (size_t)snprintf(out + o, 72 - o, "%02x", b[i]);
    }
    return out;
}

static db_stmt st_dest_users = {"alarm_dest_users",
    "SELECT d.id, (SELECT u.id FROM users u WHERE u.account_id = d.account_id "
    "  AND lower(u.email) = lower(d.address) AND NOT u.disabled ORDER BY u.id LIMIT 1) "
    "FROM notify_destinations d WHERE d.account_id = $1 AND d.id = ANY($2::bigint[]) "
    " AND d.kind = 'email' AND d.enabled", 0};

db_status db_alarm_dest_users(db_conn *c, long long account_id, const long long *dest, int n,
                              long long *users)
{
    char a[24], arr[ID_ARRAY_CAP];
    const char *p[] = {db_ll(account_id, a), id_array(dest, n, arr)};
    PGresult *res = NULL;
    db_status st;
    memset(users, 0, (size_t)n * sizeof *users);
    if (n == 0) {
        return DB_OK;
    }
    if ((st = db_exec(c, &st_dest_users, 2, p, &res)) != DB_OK) {
        return st;
    }
    for (int r = 0; r < PQntuples(res); r++) {
        long long id = col_ll(res, r, 0);
        for (int i = 0; i < n; i++) {
            if (dest[i] == id) {
                users[i] = col_ll(res, r, 1);
            }
        }
    }
    PQclear(res);
    return DB_OK;
}

static db_stmt st_temp_insert = {"alarm_temp_login_insert",
    "INSERT INTO temp_logins (account_id, user_id, token_hash, event_id, expires_at) "
    "VALUES ($1, $2, $3::bytea, NULLIF($4::bigint, 0), to_timestamp($5::bigint / 1e6))", 0};

db_status db_temp_login_insert(db_conn *c, long long account_id, long long user_id,
                               const unsigned char hash[32], long long event_id,
                               int64_t expires_us)
{
    char a[24], u[24], h[72], e[24], x[24];
    const char *p[] = {db_ll(account_id, a), db_ll(user_id, u), hex32(hash, h),
                       db_ll(event_id, e), db_ll((long long)expires_us, x)};
    return db_q_exec(c, &st_temp_insert, 5, p, NULL);
}

static db_stmt st_temp_redeem = {"alarm_temp_login_redeem",
    "UPDATE temp_logins t SET used_at = COALESCE(t.used_at, now()) "
    "FROM users u, accounts a "
    "WHERE t.token_hash = $1::bytea AND t.expires_at > to_timestamp($2::bigint / 1e6) "
    " AND u.account_id = t.account_id AND u.id = t.user_id AND NOT u.disabled "
    " AND a.id = t.account_id AND a.status = 'active' "
    "RETURNING t.account_id, t.user_id, COALESCE(t.event_id, 0), "
    " extract(epoch FROM t.expires_at)::bigint", 0};

db_status db_temp_login_redeem(db_conn *c, const unsigned char hash[32], int64_t now_us,
                               long long *account_id, long long *user_id, long long *event_id,
                               int64_t *expires_s, bool *found)
{
    char h[72], n[24];
    const char *p[] = {hex32(hash, h), db_ll((long long)now_us, n)};
    PGresult *res = NULL;
    db_status st = db_exec(c, &st_temp_redeem, 2, p, &res);
    *found = false;
    if (st == DB_OK && PQntuples(res) == 1) {
        *account_id = col_ll(res, 0, 0);
        *user_id = col_ll(res, 0, 1);
        *event_id = col_ll(res, 0, 2);
        *expires_s = col_ll(res, 0, 3);
        *found = true;
    }
    PQclear(res);
    return st;
}

static db_stmt st_temp_session = {"alarm_temp_session_insert",
    "INSERT INTO sessions (account_id, user_id, token_hash, csrf_hash, stage, purpose, "
    " view_only, created_at, last_seen_at, idle_expires_at, ip, user_agent) "
    "VALUES ($1, $2, $3::bytea, $4::bytea, 'active', 'portal', true, to_timestamp($5::bigint), "
    " to_timestamp($5::bigint), to_timestamp($6::bigint), $7::inet, $8) RETURNING id", 0};

db_status db_temp_session_insert(db_conn *c, long long account_id, long long user_id,
                                 const unsigned char hash[32], const unsigned char csrf_hash[32],
                                 int64_t now_s, int64_t expires_s, const char *ip,
                                 const char *user_agent, long long *session_id)
{
    char a[24], u[24], h[72], ch[72], n[24], x[24];
    const char *p[] = {db_ll(account_id, a), db_ll(user_id, u), hex32(hash, h),
                       hex32(csrf_hash, ch), db_ll((long long)now_s, n),
                       db_ll((long long)expires_s, x), ip, user_agent};
    return db_q_int(c, &st_temp_session, 8, p, session_id, NULL);
}

static db_stmt st_temp_sweep = {"alarm_temp_logins_sweep",
    "WITH gone AS (DELETE FROM temp_logins WHERE id IN (SELECT id FROM temp_logins "
    " WHERE expires_at <= to_timestamp($1::bigint) LIMIT 10000) RETURNING 1) "
    "SELECT count(*) FROM gone", 0};

db_status db_temp_logins_sweep(db_conn *c, int64_t now, long long *n)
{
    char t[24];
    const char *p[] = {db_ll((long long)now, t)};
    return db_q_int(c, &st_temp_sweep, 1, p, n, NULL);
}
