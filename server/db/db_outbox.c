/* Storage of the outbox (see db_outbox.h). */
#define _POSIX_C_SOURCE 200809L
#include "db_outbox.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_account.h"
#include "db_rows.h"

#define ID(buf, v) snprintf(buf, sizeof buf, "%lld", (long long)(v))

/* ---------------------------------------------------------------- enqueue */

static const db_field target_fields[] = {
    {DBF_STR, offsetof(db_notify_target, target)},
    {DBF_STR, offsetof(db_notify_target, type)},
    {DBF_I64, offsetof(db_notify_target, ref)},
    {DBF_STR, offsetof(db_notify_target, channel)},
    {DBF_STR, offsetof(db_notify_target, language)},
    {DBF_STR, offsetof(db_notify_target, email)},
    {DBF_BOOL, offsetof(db_notify_target, usable)},
};
#define N_TARGET (int)(sizeof target_fields / sizeof target_fields[0])

static db_stmt st_target_destination = {"outbox_target_destination",
    "SELECT 'd:' || id, 'destination', id, kind, language, NULL, enabled "
    "FROM notify_destinations WHERE account_id = $1 AND id = $2", 0};
static db_stmt st_target_recipient = {"outbox_target_recipient",
    "SELECT 'r:' || id, 'recipient', id, channel, language, NULL, enabled "
    "FROM system_notification_recipients WHERE account_id = $1 AND id = $2", 0};
static db_stmt st_target_system = {"outbox_target_system",
    "SELECT 'r:' || id, 'recipient', id, channel, language, NULL, enabled "
    "FROM system_notification_recipients WHERE account_id = $1 AND enabled ORDER BY id", 0};
static db_stmt st_target_user = {"outbox_target_user",
    "SELECT 'u:' || u.id, 'user', u.id, 'email', COALESCE(u.language, a.language), u.email, "
    " NOT u.disabled AND u.email IS NOT NULL "
    "FROM users u JOIN accounts a ON a.id = u.account_id "
    "WHERE u.account_id = $1 AND u.id = $2", 0};
static db_stmt st_account_language = {"outbox_account_language",
    "SELECT language FROM accounts WHERE id = $1", 0};
#define OUTBOX_COLS                                                                                \
    "INSERT INTO notify_outbox (account_id, message_id, dedupe_key, target, target_type, "         \
    " destination_id, recipient_id, user_id, email, channel, kind, language, severity, title, "    \
    " body, fields, link_url, link_label, sensitive, attach_file_id, attach_name, attach_type, "   \
    " expires_at, priority, host_key) "

static db_stmt st_insert = {"outbox_insert",
    OUTBOX_COLS
    "VALUES ($1, COALESCE($2::bigint, nextval('notify_message_seq')), $3, $4, $5, "
    " CASE WHEN $5 = 'destination' THEN $6::bigint END, "
    " CASE WHEN $5 = 'recipient' THEN $6::bigint END, "
    " CASE WHEN $5 = 'user' THEN $6::bigint END, "
    " $7, $8, $9, $10, $11, $12, $13, $14::jsonb, $15, $16, $17, NULLIF($18::bigint, 0), $19, "
    " $20, to_timestamp(NULLIF($21::bigint, 0)), $22::smallint, "
    " CASE $5 WHEN 'destination' THEN (SELECT notify_host(d.kind, d.address) "
    "   FROM notify_destinations d WHERE d.account_id = $1 AND d.id = $6::bigint) "
    "  WHEN 'recipient' THEN (SELECT notify_host(s.channel, s.address) "
    "   FROM system_notification_recipients s WHERE s.account_id = $1 AND s.id = $6::bigint) "
    " END) "
    "ON CONFLICT (account_id, dedupe_key, target) DO NOTHING RETURNING id, message_id", 0};
static db_stmt st_insert_dest = {"outbox_insert_dest",
    OUTBOX_COLS
    "SELECT d.account_id, COALESCE($2::bigint, nextval('notify_message_seq')), $3, "
    " 'd:' || d.id, 'destination', d.id, NULL, NULL, NULL, d.kind, $4, "
    " COALESCE($5, d.language), $6, $7, $8, $9::jsonb, $10, $11, $12, "
    " CASE WHEN d.kind = 'email' THEN NULLIF($14::bigint, 0) END, "
    " CASE WHEN d.kind = 'email' AND $14::bigint <> 0 THEN $15 END, "
    " CASE WHEN d.kind = 'email' AND $14::bigint <> 0 THEN $16 END, "
    " to_timestamp(NULLIF($17::bigint, 0)), $18::smallint, notify_host(d.kind, d.address) "
    "FROM notify_destinations d WHERE d.account_id = $1 AND d.id = $13 AND d.enabled "
    "ON CONFLICT (account_id, dedupe_key, target) DO NOTHING RETURNING id, message_id", 0};
static db_stmt st_insert_rcpt = {"outbox_insert_rcpt",
    OUTBOX_COLS
    "SELECT s.account_id, COALESCE($2::bigint, nextval('notify_message_seq')), $3, "
    " 'r:' || s.id, 'recipient', NULL, s.id, NULL, NULL, s.channel, $4, "
    " COALESCE($5, s.language), $6, $7, $8, $9::jsonb, $10, $11, $12, "
    " CASE WHEN s.channel = 'email' THEN NULLIF($14::bigint, 0) END, "
    " CASE WHEN s.channel = 'email' AND $14::bigint <> 0 THEN $15 END, "
    " CASE WHEN s.channel = 'email' AND $14::bigint <> 0 THEN $16 END, "
    " to_timestamp(NULLIF($17::bigint, 0)), $18::smallint, notify_host(s.channel, s.address) "
    "FROM system_notification_recipients s WHERE s.account_id = $1 AND s.id = $13 AND s.enabled "
    "ON CONFLICT (account_id, dedupe_key, target) DO NOTHING RETURNING id, message_id", 0};
static db_stmt st_existing = {"outbox_existing",
    "SELECT message_id FROM notify_outbox "
    "WHERE account_id = $1 AND dedupe_key = $2 AND target = $3", 0};

static db_status targets(db_conn *c, db_stmt *st, int n_params, long long account_id,
                         long long id, db_notify_target **out, int *n)
{
    char a[24], i[24];
    const char *p[] = {a, i};
    ID(a, account_id);
    ID(i, id);
    return db_exec_rows(c, st, n_params, p, target_fields, N_TARGET, sizeof(db_notify_target),
                        (void **)out, n);
}

db_status db_outbox_target_destination(db_conn *c, long long account_id, long long id,
                                       db_notify_target **out, int *n)
{
    return targets(c, &st_target_destination, 2, account_id, id, out, n);
}

db_status db_outbox_target_recipient(db_conn *c, long long account_id, long long id,
                                     db_notify_target **out, int *n)
{
    return targets(c, &st_target_recipient, 2, account_id, id, out, n);
}

db_status db_outbox_target_system(db_conn *c, long long account_id, db_notify_target **out,
                                  int *n)
{
    return targets(c, &st_target_system, 1, account_id, 0, out, n);
}

db_status db_outbox_target_user(db_conn *c, long long account_id, long long id,
                                db_notify_target **out, int *n)
{
    return targets(c, &st_target_user, 2, account_id, id, out, n);
}

void db_notify_target_free(db_notify_target *rows, int n)
{
    db_rows_free(rows, n, target_fields, N_TARGET, sizeof(db_notify_target));
}

db_status db_outbox_account_language(db_conn *c, long long account_id, char out[8])
{
    char a[24], *lang = NULL;
    const char *p[] = {a};
    db_status st;
    ID(a, account_id);
    st = db_q_text(c, &st_account_language, 1, p, &lang);
    snprintf(out, 8, "%s", lang != NULL && strlen(lang) < 8 ? lang : "en");
    free(lang);
    return st;
}

/* Run an insert whose RETURNING is (id, message_id). */
static db_status insert_returning(db_conn *c, db_stmt *st, int n, const char *const *p,
                                  long long *id, long long *message_id, bool *inserted)
{
    PGresult *res = NULL;
    db_status rc = db_exec(c, st, n, p, &res);
    *id = 0;
    *inserted = false;
    if (rc == DB_OK && PQntuples(res) == 1) {
        *id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        *message_id = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
        *inserted = true;
    }
    PQclear(res);
    return rc;
}

db_status db_outbox_insert(db_conn *c, const db_outbox_row *row, long long *id,
                           long long *message_id, bool *inserted)
{
    char a[24], m[24], ref[24], att[24], exp[24];
    const char *p[22];
    ID(a, row->account_id);
    ID(m, row->message_id);
    ID(ref, row->to->ref);
    p[0] = a;
    p[1] = row->message_id > 0 ? m : NULL;
    p[2] = row->key;
    p[3] = row->to->target;
    p[4] = row->to->type;
    p[5] = ref;
    p[6] = row->email;
    p[7] = row->to->channel;
    p[8] = row->kind;
    p[9] = row->language;
    p[10] = row->severity;
    p[11] = row->title;
    p[12] = row->body;
    p[13] = row->fields_json;
    p[14] = row->link_url;
    p[15] = row->link_label;
    p[16] = row->sensitive ? "true" : "false";
    ID(att, row->attach_file_id);
    p[17] = att;
    p[18] = row->attach_file_id ? row->attach_name : NULL;
    p[19] = row->attach_file_id ? row->attach_type : NULL;
    ID(exp, row->expires_at);
    p[20] = exp;
    p[21] = row->interactive ? "0" : "1";
    return insert_returning(c, &st_insert, 22, p, id, message_id, inserted);
}

db_status db_outbox_insert_to(db_conn *c, const db_outbox_row *row, bool recipient,
                              long long ref, long long *id, long long *message_id,
                              bool *inserted)
{
    char a[24], m[24], r[24], att[24], exp[24];
    const char *p[18];
    ID(a, row->account_id);
    ID(m, row->message_id);
    ID(r, ref);
    p[0] = a;
    p[1] = row->message_id > 0 ? m : NULL;
    p[2] = row->key;
    p[3] = row->kind;
    p[4] = row->language;
    p[5] = row->severity;
    p[6] = row->title;
    p[7] = row->body;
    p[8] = row->fields_json;
    p[9] = row->link_url;
    p[10] = row->link_label;
    p[11] = row->sensitive ? "true" : "false";
    p[12] = r;
    ID(att, row->attach_file_id);
    p[13] = att;
    p[14] = row->attach_file_id ? row->attach_name : NULL;
    p[15] = row->attach_file_id ? row->attach_type : NULL;
    ID(exp, row->expires_at);
    p[16] = exp;
    p[17] = row->interactive ? "0" : "1";
    return insert_returning(c, recipient ? &st_insert_rcpt : &st_insert_dest, 18, p, id, message_id,
                            inserted);
}

db_status db_outbox_existing(db_conn *c, long long account_id, const char *key,
                             const char *target, long long *message_id, bool *found)
{
    char a[24];
    const char *p[] = {a, key, target};
    ID(a, account_id);
    return db_q_int(c, &st_existing, 3, p, message_id, found);
}

/* ------------------------------------------------------------ delivery log */

static const db_field delivery_fields[] = {
    {DBF_I64, offsetof(db_delivery, id)},
    {DBF_I64, offsetof(db_delivery, message_id)},
    {DBF_STR, offsetof(db_delivery, kind)},
    {DBF_STR, offsetof(db_delivery, key)},
    {DBF_STR, offsetof(db_delivery, target_type)},
    {DBF_I64, offsetof(db_delivery, destination_id)},
    {DBF_I64, offsetof(db_delivery, recipient_id)},
    {DBF_I64, offsetof(db_delivery, user_id)},
    {DBF_STR, offsetof(db_delivery, channel)},
    {DBF_STR, offsetof(db_delivery, address)},
    {DBF_STR, offsetof(db_delivery, language)},
    {DBF_STR, offsetof(db_delivery, severity)},
    {DBF_STR, offsetof(db_delivery, title)},
    {DBF_STR, offsetof(db_delivery, body)},
    {DBF_STR, offsetof(db_delivery, fields)},
    {DBF_STR, offsetof(db_delivery, link_url)},
    {DBF_STR, offsetof(db_delivery, link_label)},
    {DBF_BOOL, offsetof(db_delivery, sensitive)},
    {DBF_STR, offsetof(db_delivery, state)},
    {DBF_I64, offsetof(db_delivery, attempts)},
    {DBF_I64, offsetof(db_delivery, failures)},
    {DBF_STR, offsetof(db_delivery, next_at)},
    {DBF_STR, offsetof(db_delivery, created_at)},
    {DBF_STR, offsetof(db_delivery, sent_at)},
    {DBF_STR, offsetof(db_delivery, last_error)},
};
#define N_DELIVERY (int)(sizeof delivery_fields / sizeof delivery_fields[0])

#define DELIVERY_COLS                                                                        \
    "SELECT o.id, o.message_id, o.kind, o.dedupe_key, o.target_type, o.destination_id, "      \
    " o.recipient_id, o.user_id, o.channel, "                                                \
    " CASE o.target_type WHEN 'destination' THEN (SELECT d.address FROM notify_destinations d " \
    "   WHERE d.account_id = o.account_id AND d.id = o.destination_id) "                     \
    "  WHEN 'recipient' THEN (SELECT s.address FROM system_notification_recipients s "       \
    "   WHERE s.account_id = o.account_id AND s.id = o.recipient_id) ELSE o.email END, "      \
    " o.language, o.severity, o.title, CASE WHEN o.sensitive THEN NULL ELSE o.body END, "    \
    " o.fields::text, CASE WHEN o.sensitive THEN NULL ELSE o.link_url END, o.link_label, "    \
    " o.sensitive, o.state, o.attempts, o.failures, " DB_ISO("o.next_at") ", "               \
    DB_ISO("o.created_at") ", " DB_ISO("o.sent_at") ", o.last_error FROM notify_outbox o "

static db_stmt st_delivery_list = {"outbox_delivery_list",
    DELIVERY_COLS "WHERE o.account_id = $1 "
    " AND ($2::bigint IS NULL OR o.destination_id = $2) "
    " AND ($3::bigint IS NULL OR o.recipient_id = $3) "
    " AND ($4::bigint IS NULL OR o.message_id = $4) "
    " AND ($5::text IS NULL OR o.state = $5) "
    " AND ($6::text IS NULL OR o.kind = $6) "
    " AND ($7::bigint IS NULL OR o.id < $7) "
    "ORDER BY o.id DESC LIMIT $8", 0};
static db_stmt st_delivery_get = {"outbox_delivery_get",
    DELIVERY_COLS "WHERE o.account_id = $1 AND o.id = $2", 0};

static const char *opt_id(char buf[24], long long v)
{
    if (v <= 0) {
        return NULL;
    }
    snprintf(buf, 24, "%lld", v);
    return buf;
}

db_status db_delivery_list(db_conn *c, long long account_id, const db_delivery_filter *f,
                           db_delivery **out, int *n)
{
    char a[24], d[24], r[24], m[24], b[24], l[24];
    const char *p[8];
    ID(a, account_id);
    ID(l, f->limit);
    p[0] = a;
    p[1] = opt_id(d, f->destination_id);
    p[2] = opt_id(r, f->recipient_id);
    p[3] = opt_id(m, f->message_id);
    p[4] = f->state;
    p[5] = f->kind;
    p[6] = opt_id(b, f->before_id);
    p[7] = l;
    return db_exec_rows(c, &st_delivery_list, 8, p, delivery_fields, N_DELIVERY,
                        sizeof(db_delivery), (void **)out, n);
}

db_status db_delivery_get(db_conn *c, long long account_id, long long id, db_delivery *out,
                          bool *found)
{
    char a[24], i[24];
    const char *p[] = {a, i};
    ID(a, account_id);
    ID(i, id);
    return db_exec_one(c, &st_delivery_get, 2, p, delivery_fields, N_DELIVERY,
                       sizeof(db_delivery), out, found);
}

void db_delivery_free(db_delivery *rows, int n)
{
    db_rows_free(rows, n, delivery_fields, N_DELIVERY, sizeof(db_delivery));
}

void db_delivery_clear(db_delivery *row)
{
    db_row_clear(row, delivery_fields, N_DELIVERY);
}

static db_stmt st_requeue = {"outbox_requeue",
    "WITH old AS (SELECT id, state, sensitive FROM notify_outbox "
    "  WHERE account_id = $1 AND id = $2 FOR UPDATE), "
    " upd AS (UPDATE notify_outbox o SET state = 'retry', failures = 0, "
    "  next_at = clock_timestamp(), last_error = NULL, lease_owner = NULL "
    "  FROM old WHERE o.id = old.id AND old.state IN ('dead', 'cancelled') "
    "  AND NOT old.sensitive RETURNING o.id) "
    "SELECT old.state, old.sensitive, EXISTS (SELECT 1 FROM upd) FROM old", 0};

db_status db_delivery_requeue(db_conn *c, long long account_id, long long id, char **state_out,
                              bool *sensitive, bool *done)
{
    char a[24], i[24];
    const char *p[] = {a, i};
    PGresult *res = NULL;
    db_status st;
    ID(a, account_id);
    ID(i, id);
    *state_out = NULL;
    *sensitive = *done = false;
    st = db_exec(c, &st_requeue, 2, p, &res);
    if (st == DB_OK && PQntuples(res) == 1) {
        *state_out = strdup(PQgetvalue(res, 0, 0));
        *sensitive = PQgetvalue(res, 0, 1)[0] == 't';
        *done = PQgetvalue(res, 0, 2)[0] == 't';
        if (*state_out == NULL) {
            st = DB_ERROR;
        }
    }
    PQclear(res);
    return st;
}

static const db_field attempt_fields[] = {
    {DBF_I64, offsetof(db_attempt, n)},
    {DBF_STR, offsetof(db_attempt, owner)},
    {DBF_STR, offsetof(db_attempt, started_at)},
    {DBF_STR, offsetof(db_attempt, ended_at)},
    {DBF_STR, offsetof(db_attempt, duration_ms)},
    {DBF_STR, offsetof(db_attempt, outcome)},
    {DBF_I64, offsetof(db_attempt, status)},
    {DBF_STR, offsetof(db_attempt, response)},
    {DBF_STR, offsetof(db_attempt, error)},
};
#define N_ATTEMPT (int)(sizeof attempt_fields / sizeof attempt_fields[0])

static db_stmt st_attempt_list = {"outbox_attempt_list",
    "SELECT n, owner, " DB_ISO("started_at") ", " DB_ISO("ended_at") ", "
    " round(duration_ms::numeric, 1)::text, outcome, status, response, error "
    "FROM notify_attempts WHERE account_id = $1 AND outbox_id = $2 ORDER BY n, id", 0};

db_status db_attempt_list(db_conn *c, long long account_id, long long outbox_id,
                          db_attempt **out, int *n)
{
    char a[24], i[24];
    const char *p[] = {a, i};
    ID(a, account_id);
    ID(i, outbox_id);
    return db_exec_rows(c, &st_attempt_list, 2, p, attempt_fields, N_ATTEMPT,
                        sizeof(db_attempt), (void **)out, n);
}

void db_attempt_free(db_attempt *rows, int n)
{
    db_rows_free(rows, n, attempt_fields, N_ATTEMPT, sizeof(db_attempt));
}

/* ---------------------------------------------------------------- senders */

static const db_field job_fields[] = {
    {DBF_I64, offsetof(db_outbox_job, id)},
    {DBF_I64, offsetof(db_outbox_job, account_id)},
    {DBF_I64, offsetof(db_outbox_job, attempt_id)},
    {DBF_I64, offsetof(db_outbox_job, attempt)},
    {DBF_I64, offsetof(db_outbox_job, failures)},
    {DBF_STR, offsetof(db_outbox_job, channel)},
    {DBF_STR, offsetof(db_outbox_job, address)},
    {DBF_I64, offsetof(db_outbox_job, message_id)},
    {DBF_STR, offsetof(db_outbox_job, kind)},
    {DBF_STR, offsetof(db_outbox_job, key)},
    {DBF_STR, offsetof(db_outbox_job, language)},
    {DBF_STR, offsetof(db_outbox_job, severity)},
    {DBF_STR, offsetof(db_outbox_job, title)},
    {DBF_STR, offsetof(db_outbox_job, body)},
    {DBF_STR, offsetof(db_outbox_job, fields)},
    {DBF_STR, offsetof(db_outbox_job, link_url)},
    {DBF_STR, offsetof(db_outbox_job, link_label)},
    {DBF_STR, offsetof(db_outbox_job, created_at)},
};
#define N_JOB (int)(sizeof job_fields / sizeof job_fields[0])

static db_stmt st_claim = {"outbox_claim",
    "SELECT r_id, r_account_id, r_attempt_id, r_attempt, r_failures, r_channel, r_address, "
    " r_message_id, r_kind, r_key, r_language, r_severity, r_title, r_body, r_fields, "
    " r_link_url, r_link_label, " DB_ISO("r_created_at")
    " FROM notify_claim($1, $2, $3, $4::integer[], $5, $6::jsonb)", 0};

static db_stmt st_finish = {"outbox_finish",
    "WITH a AS (UPDATE notify_attempts SET outcome = $4, ended_at = clock_timestamp(), "
    "   duration_ms = $5::double precision, status = $6::integer, response = $7, error = $8 "
    "  WHERE account_id = $1 AND id = $3 AND outcome IS NULL RETURNING id) "
    "UPDATE notify_outbox o SET state = $9::text, "
    " next_at = CASE WHEN $9::text = 'retry' "
    "   THEN LEAST(clock_timestamp() + $10::bigint * interval '1 millisecond', o.expires_at) "
    "   ELSE o.next_at END, "
    " failures = o.failures + $11::integer, "
    " sent_at = CASE WHEN $9::text = 'sent' THEN clock_timestamp() END, "
    " last_error = $8, lease_owner = NULL, "
    " body = CASE WHEN o.sensitive AND $9::text <> 'retry' THEN '' ELSE o.body END, "
    " link_url = CASE WHEN o.sensitive AND $9::text <> 'retry' THEN NULL ELSE o.link_url END "
    "WHERE o.account_id = $1 AND o.id = $2 AND o.state = 'sending' AND o.lease_owner = $12 "
    "RETURNING o.id", 0};

static db_stmt st_give_back = {"outbox_give_back",
    "WITH a AS (DELETE FROM notify_attempts "
    "  WHERE account_id = $1 AND id = $3 AND outcome IS NULL RETURNING id) "
    "UPDATE notify_outbox SET state = CASE WHEN attempts > 1 THEN 'retry' ELSE 'queued' END, "
    " attempts = attempts - 1, next_at = clock_timestamp(), lease_owner = NULL "
    "WHERE account_id = $1 AND id = $2 AND state = 'sending' AND lease_owner = $4", 0};

static db_stmt st_rate_push = {"outbox_rate_push",
    "INSERT INTO notify_rate AS t (account_id, rate_key, next_at) "
    "VALUES ($1, md5($2 || ' ' || $3), clock_timestamp() + $4::bigint * interval '1 millisecond') "
    "ON CONFLICT (account_id, rate_key) DO UPDATE SET next_at = "
    " GREATEST(t.next_at, EXCLUDED.next_at)", 0};

/* Rows past their expiry that no sender claimed (every process without
 * sender threads, or all of them stopped): cancelled, their secret erased
 * (the claim does the same for the rows it meets). */
static db_stmt st_expire = {"outbox_expire",
    "WITH x AS (UPDATE notify_outbox o SET state = 'cancelled', lease_owner = NULL, "
    "  last_error = 'expired before it could be sent', "
    "  body = CASE WHEN o.sensitive THEN '' ELSE o.body END, "
    "  link_url = CASE WHEN o.sensitive THEN NULL ELSE o.link_url END "
    " WHERE o.state IN ('queued', 'retry') AND o.expires_at <= now() RETURNING 1) "
    "SELECT count(*) FROM x", 0};

static db_stmt st_purge = {"outbox_purge",
    "WITH gone AS (DELETE FROM notify_outbox WHERE id IN ("
    "  SELECT id FROM notify_outbox WHERE state IN ('sent', 'dead', 'cancelled') "
    "   AND created_at < to_timestamp($1::double precision) ORDER BY created_at LIMIT $2) "
    "  RETURNING 1), "
    " slots AS (DELETE FROM notify_rate WHERE next_at < to_timestamp($1::double precision) - interval '1 day'), "
    " hosts AS (DELETE FROM notify_host_health WHERE failed_at < now() - interval '1 day') "
    "SELECT (SELECT count(*) FROM gone)", 0};

db_status db_outbox_claim(db_conn *c, const char *owner, int limit, int lease_ms,
                          const int rate_ms[4], int max_failures, const db_outbox_limits *limits,
                          db_outbox_job **out, int *n)
{
    char l[24], ls[24], rate[100], mf[24], lim[256];
    const char *p[] = {owner, l, ls, rate, mf, lim};
    ID(l, limit);
    ID(ls, lease_ms);
    ID(mf, max_failures);
    snprintf(rate, sizeof rate, "{%d,%d,%d,%d}", rate_ms[0], rate_ms[1], rate_ms[2],
             rate_ms[3]);
    /* The keys notify_claim_busy() and notify_claim_held() read (059, 065,
     * 075, 079). */
    snprintf(lim, sizeof lim,
             "{\"receiver\": %d, \"mail\": %d, \"host\": %d, \"healthy_host\": %d, "
             "\"account\": %d, \"account_host\": %d, \"account_trouble\": %d, "
             "\"slow_ms\": %d}",
             limits->receiver, limits->mail, limits->host, limits->healthy_host, limits->account,
             limits->account_host, limits->account_trouble, limits->slow_ms);
    return db_exec_rows(c, &st_claim, 6, p, job_fields, N_JOB, sizeof(db_outbox_job), (void **)out,
                        n);
}

void db_outbox_job_free(db_outbox_job *rows, int n)
{
    db_rows_free(rows, n, job_fields, N_JOB, sizeof(db_outbox_job));
}

db_status db_outbox_finish(db_conn *c, const db_outbox_job *job, const char *owner,
                           const db_outbox_result *r, bool *still_ours)
{
    char a[24], i[24], at[24], dur[32], status[24], delay[24], failed[24];
    const char *p[12];
    ID(a, job->account_id);
    ID(i, job->id);
    ID(at, job->attempt_id);
    snprintf(dur, sizeof dur, "%.3f", r->duration_ms);
    ID(status, r->status);
    ID(delay, r->delay_ms);
    ID(failed, r->failed);
    p[0] = a;
    p[1] = i;
    p[2] = at;
    p[3] = r->outcome;
    p[4] = dur;
    p[5] = r->status > 0 ? status : NULL;
    p[6] = r->response;
    p[7] = r->error;
    p[8] = r->state;
    p[9] = delay;
    p[10] = failed;
    p[11] = owner;
    return db_exec_found(c, &st_finish, 12, p, still_ours);
}

db_status db_outbox_give_back(db_conn *c, const db_outbox_job *job, const char *owner)
{
    char a[24], i[24], at[24];
    const char *p[] = {a, i, at, owner};
    ID(a, job->account_id);
    ID(i, job->id);
    ID(at, job->attempt_id);
    return db_exec(c, &st_give_back, 4, p, NULL);
}

db_status db_outbox_rate_push(db_conn *c, long long account_id, const char *channel,
                              const char *address, long long delay_ms)
{
    char a[24], d[24];
    const char *p[] = {a, channel, address, d};
    ID(a, account_id);
    ID(d, delay_ms);
    return db_exec(c, &st_rate_push, 4, p, NULL);
}

db_status db_outbox_purge(db_conn *c, long long before_epoch, int max, long long *done)
{
    char b[24], m[24];
    const char *p[] = {b, m};
    ID(b, before_epoch);
    ID(m, max);
    return db_q_int(c, &st_purge, 2, p, done, NULL);
}

db_status db_outbox_expire(db_conn *c, long long *done)
{
    return db_q_int(c, &st_expire, 0, NULL, done, NULL);
}

/* ------------------------------------------------------------ attachments */

static db_stmt st_attachment = {"outbox_attachment",
    "SELECT o.attach_file_id, o.attach_name, o.attach_type, COALESCE(d.blob_id, 0) "
    "FROM notify_outbox o LEFT JOIN drive_items d "
    "  ON d.account_id = o.account_id AND d.id = o.attach_file_id "
    "WHERE o.account_id = $1 AND o.id = $2 AND o.attach_file_id IS NOT NULL", 0};

db_status db_outbox_attachment(db_conn *c, long long account_id, long long id,
                               long long *file_id, long long *blob_id, char *name, char *type)
{
    char a[24], i[24];
    const char *p[] = {a, i};
    PGresult *res = NULL;
    db_status st;
    ID(a, account_id);
    ID(i, id);
    *file_id = 0;
    *blob_id = 0;
    name[0] = type[0] = '\0';
    if ((st = db_exec(c, &st_attachment, 2, p, &res)) != DB_OK) {
        return st;
    }
    if (PQntuples(res) == 1) {
        *file_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        *blob_id = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
        snprintf(name, 256, "%s", PQgetvalue(res, 0, 1));
        snprintf(type, 104, "%s", PQgetvalue(res, 0, 2));
    }
    PQclear(res);
    return DB_OK;
}
