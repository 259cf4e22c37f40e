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
static db_stmt st_message_id = {"outbox_message_id",
    "SELECT COALESCE((SELECT message_id FROM notify_outbox "
    "                  WHERE account_id = $1 AND dedupe_key = $2 LIMIT 1), "
    "                 nextval('notify_message_seq'))", 0};
static db_stmt st_insert = {"outbox_insert",
    "INSERT INTO notify_outbox (account_id, message_id, dedupe_key, target, target_type, "
    " destination_id, recipient_id, user_id, email, channel, kind, language, severity, title, "
    " body, fields, link_url, link_label, sensitive) "
    "VALUES ($1, $2, $3, $4, $5, "
    " CASE WHEN $5 = 'destination' THEN $6::bigint END, "
    " CASE WHEN $5 = 'recipient' THEN $6::bigint END, "
    " CASE WHEN $5 = 'user' THEN $6::bigint END, "
    " $7, $8, $9, $10, $11, $12, $13, $14::jsonb, $15, $16, $17) "
    "ON CONFLICT (account_id, dedupe_key, target) DO NOTHING RETURNING id", 0};

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

db_status db_outbox_message_id(db_conn *c, long long account_id, const char *key,
                               long long *out)
{
    char a[24];
    const char *p[] = {a, key};
    ID(a, account_id);
    return db_q_int(c, &st_message_id, 2, p, out, NULL);
}

db_status db_outbox_insert(db_conn *c, const db_outbox_row *row, bool *inserted)
{
    char a[24], m[24], ref[24];
    const char *p[17];
    long long id = 0;
    db_status st;
    ID(a, row->account_id);
    ID(m, row->message_id);
    ID(ref, row->to->ref);
    p[0] = a;
    p[1] = m;
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
    st = db_q_int(c, &st_insert, 17, p, &id, inserted);
    return st;
}
