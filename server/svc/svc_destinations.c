/* Destinations (R8) and test sends (see svc_destinations.h). */
#define _POSIX_C_SOURCE 200809L
#include "svc_destinations.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "alarm_msg.h"
#include "audit.h"
#include "auth.h"
#include "db_apps.h"
#include "db_recipients.h"
#include "json_out.h"
#include "svc_recipients.h"
#include "svc_tx.h"

char *svc_notify_mask(const char *kind, const char *address, char *out, size_t cap)
{
    const char *host, *rest;
    size_t n, tail;
    if (cap == 0) {
        return out;
    }
    if (address == NULL) {
        out[0] = '\0';
        return out;
    }
    if (kind != NULL && strcmp(kind, "email") == 0) {
        snprintf(out, cap, "%s", address);
        return out;
    }
    host = strstr(address, "://");
    host = host != NULL ? host + 3 : address;
    rest = host + strcspn(host, "/?#");
    n = strlen(rest);
    tail = n > 8 ? 4 : 0; /* a short path shows nothing of itself */
    snprintf(out, cap, "%.*s/\xe2\x80\xa6%s", (int)(rest - address), address, rest + n - tail);
    return out;
}

static void mask_row(db_destination *d)
{
    char buf[400];
    svc_notify_mask(d->kind, d->address, buf, sizeof buf);
    if (strlen(buf) <= strlen(d->address)) {
        memcpy(d->address, buf, strlen(buf) + 1);
    }
}

static svc_status admin_only(const svc_actor *a, svc_error *e)
{
    if (!a->admin) {
        return svc_fail(e, SVC_FORBIDDEN, "forbidden", NULL,
                        "only an administrator may change destinations or send tests");
    }
    return SVC_OK;
}

static cJSON *destination_json(const db_destination *d)
{
    cJSON *o = cJSON_CreateObject();
    if (o == NULL) {
        return NULL;
    }
    json_add_int(o, "id", d->id);
    json_add_str(o, "kind", d->kind);
    json_add_str(o, "name", d->name);
    json_add_str(o, "address", d->address);
    json_add_str(o, "language", d->language);
    cJSON_AddBoolToObject(o, "enabled", d->enabled);
    if (d->last_state != NULL) {
        cJSON *l = cJSON_AddObjectToObject(o, "last_delivery");
        if (l != NULL) {
            json_add_str(l, "state", d->last_state);
            json_add_str(l, "at", d->last_at);
            json_add_str(l, "error", d->last_error);
        }
    } else {
        cJSON_AddNullToObject(o, "last_delivery");
    }
    json_add_str(o, "created_at", d->created_at);
    json_add_str(o, "updated_at", d->updated_at);
    return o;
}

svc_status svc_destination_list(const svc_actor *a, cJSON **out, svc_error *e)
{
    db_conn *c = NULL;
    db_destination *rows = NULL;
    int n = 0;
    cJSON *o, *items;
    db_status st = db_acquire(a->srv->pool, DB_WAIT_MS, &c);
    *out = NULL;
    if (st == DB_OK) {
        st = db_destination_list(c, a->account_id, &rows, &n);
        db_release(a->srv->pool, c);
    }
    if (st != DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    o = cJSON_CreateObject();
    items = o != NULL ? cJSON_AddArrayToObject(o, "items") : NULL;
    for (int i = 0; items != NULL && i < n; i++) {
        cJSON *x;
        mask_row(&rows[i]);
        x = destination_json(&rows[i]);
        if (x == NULL || !cJSON_AddItemToArray(items, x)) {
            cJSON_Delete(x);
            items = NULL;
        }
    }
    db_destination_free(rows, n);
    if (items == NULL) {
        cJSON_Delete(o);
        return svc_fail_nomem(e);
    }
    *out = o;
    return SVC_OK;
}

/* Destination "id" of the account into "d" (free with
 * db_destination_clear()), address masked; SVC_NOT_FOUND. */
static svc_status destination_row(const svc_actor *a, long long id, db_destination *d, svc_error *e)
{
    db_conn *c = NULL;
    bool found = false;
    db_status st = db_acquire(a->srv->pool, DB_WAIT_MS, &c);
    memset(d, 0, sizeof *d);
    if (st == DB_OK) {
        st = db_destination_get(c, a->account_id, id, d, &found);
        db_release(a->srv->pool, c);
    }
    if (st != DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    if (!found) {
        return svc_fail(e, SVC_NOT_FOUND, "not_found", NULL, "no such destination");
    }
    mask_row(d);
    return SVC_OK;
}

svc_status svc_destination_get(const svc_actor *a, long long id, cJSON **out, svc_error *e)
{
    db_destination d;
    svc_status rc = destination_row(a, id, &d, e);
    *out = NULL;
    if (rc != SVC_OK) {
        return rc;
    }
    *out = destination_json(&d);
    db_destination_clear(&d);
    return *out != NULL ? SVC_OK : svc_fail_nomem(e);
}

static bool kind_valid(const char *k)
{
    return strcmp(k, "email") == 0 || strcmp(k, "slack") == 0 || strcmp(k, "teams") == 0 ||
           strcmp(k, "wechat") == 0;
}

static svc_status check_in(const svc_destination_in *in, svc_error *e)
{
    if (in->kind != NULL && !kind_valid(in->kind)) {
        return svc_fail(e, SVC_INVALID, "invalid_value", "kind",
                        "kind must be one of: email, slack, teams, wechat");
    }
    if (in->language != NULL && !svc_notify_language_valid(in->language)) {
        return svc_fail(e, SVC_INVALID, "invalid_value", "language",
                        "language must be one of: zh-CN, ja, en, es, fr, de, it");
    }
    return SVC_OK;
}

static svc_status check_address(const char *kind, const char *address, svc_error *e)
{
    if (strcmp(kind, "email") == 0) {
        if (!svc_email_valid(address)) {
            return svc_fail(e, SVC_INVALID, "invalid_value", "address",
                            "address must be an e-mail address (name@example.com)");
        }
    } else if (!svc_webhook_valid(address)) {
        return svc_fail(e, SVC_INVALID, "invalid_value", "address",
                        "address must be the http:// or https:// URL of the incoming webhook "
                        "(an IPv4 address as four decimal numbers without leading zeros)");
    }
    return SVC_OK;
}

static const char dup_destination[] = "this destination already exists";

svc_status svc_destination_create(const svc_actor *a, const svc_destination_in *in,
                                  long long *id, svc_error *e)
{
    audit_who who = svc_who(a);
    db_pool *pool = a->srv->pool;
    db_conn *c = NULL;
    long long count = 0;
    svc_status rc;
    if ((rc = admin_only(a, e)) != SVC_OK || (rc = check_in(in, e)) != SVC_OK ||
        (rc = check_address(in->kind, in->address, e)) != SVC_OK) {
        return rc;
    }
    if ((rc = svc_tx_begin(pool, &c, e)) != SVC_OK) {
        goto out;
    }
    /* Count under the account's lock: two creations cannot both take the
     * last place. */
    SVC_TRY_DB(db_apps_lock_account(c, a->account_id), NULL);
    SVC_TRY_DB(db_destination_count(c, a->account_id, &count), NULL);
    if (count >= DESTINATIONS_MAX) {
        rc = svc_fail(e, SVC_CONFLICT, "too_many", NULL,
                      "an account has at most %d destinations", DESTINATIONS_MAX);
        goto out;
    }
    SVC_TRY_DB(db_destination_insert(c, a->account_id, in->kind, in->name ? in->name : "",
                                     in->address, in->language ? in->language : "en",
                                     in->enabled != 0, id),
               dup_destination);
    SVC_TRY_DB(audit_write_kv(c, &who, "destination.create", "destination", *id, "kind",
                              in->kind),
               NULL);
out:
    return svc_tx_end(pool, c, rc, e, dup_destination);
}

svc_status svc_destination_update(const svc_actor *a, long long id,
                                  const svc_destination_in *in, svc_error *e)
{
    audit_who who = svc_who(a);
    db_pool *pool = a->srv->pool;
    db_conn *c = NULL;
    db_destination old;
    bool found = false;
    svc_status rc;
    const char *kind, *address;
    char masked[400];

    memset(&old, 0, sizeof old);
    if ((rc = admin_only(a, e)) != SVC_OK || (rc = check_in(in, e)) != SVC_OK) {
        return rc;
    }
    if ((rc = svc_tx_begin(pool, &c, e)) != SVC_OK) {
        goto out;
    }
    SVC_TRY_DB(db_destination_get(c, a->account_id, id, &old, &found), NULL);
    if (!found) {
        rc = svc_fail(e, SVC_NOT_FOUND, "not_found", NULL, "no such destination");
        goto out;
    }
    kind = in->kind ? in->kind : old.kind;
    address = in->address ? in->address : old.address;
    /* The masked form a client read back means "unchanged". */
    if (in->address != NULL &&
        strcmp(in->address, svc_notify_mask(old.kind, old.address, masked, sizeof masked)) == 0) {
        address = old.address;
    }
    if ((rc = check_address(kind, address, e)) != SVC_OK) {
        goto out;
    }
    SVC_TRY_DB(db_destination_update(c, a->account_id, id, kind, in->name ? in->name : old.name,
                                     address, in->language ? in->language : old.language,
                                     in->enabled < 0 ? old.enabled : in->enabled != 0, &found),
               dup_destination);
    SVC_TRY_DB(audit_write_kv(c, &who, "destination.update", "destination", id, "kind", kind),
               NULL);
out:
    db_destination_clear(&old);
    return svc_tx_end(pool, c, rc, e, dup_destination);
}

svc_status svc_destination_delete(const svc_actor *a, long long id, svc_error *e)
{
    svc_status rc = admin_only(a, e);
    if (rc != SVC_OK) {
        return rc;
    }
    return svc_delete_one(a->srv->pool, a, db_destination_delete, id, "destination",
                          "destination", e);
}

/* ------------------------------------------------------------- test send */

/* The test message in the seven languages: title, body ("%s" = the
 * destination's name), the label of the "destination" field. */
static const struct {
    const char *lang, *title, *body, *field;
} test_words[] = {
    {"zh-CN", "Metron 测试消息",
     "这是 Metron 发给“%s”的测试消息。能看到这条消息，说明发往此目标的通知工作正常。",
     "通知目标"},
    {"ja", "Metron テストメッセージ",
     "これは「%s」宛ての Metron のテストメッセージです。"
     "このメッセージが読めれば、この通知先への通知は正常に届いています。",
     "通知先"},
    {"en", "Metron test message",
     "This is a test message from Metron for \xe2\x80\x9c%s\xe2\x80\x9d. If you can read it, "
     "notifications to this destination work.",
     "Destination"},
    {"es", "Mensaje de prueba de Metron",
     "Este es un mensaje de prueba de Metron para \xc2\xab%s\xc2\xbb. Si puede leerlo, las "
     "notificaciones a este destino funcionan.",
     "Destino"},
    {"fr", "Message de test Metron",
     "Ceci est un message de test de Metron pour \xc2\xab\xc2\xa0%s\xc2\xa0\xc2\xbb. Si vous "
     "pouvez le lire, les notifications vers cette destination fonctionnent.",
     "Destination"},
    {"de", "Metron-Testnachricht",
     "Dies ist eine Testnachricht von Metron f\xc3\xbcr \xe2\x80\x9e%s\xe2\x80\x9c. Wenn Sie "
     "sie lesen k\xc3\xb6nnen, funktionieren Benachrichtigungen an dieses Ziel.",
     "Ziel"},
    {"it", "Messaggio di prova di Metron",
     "Questo \xc3\xa8 un messaggio di prova di Metron per \xc2\xab%s\xc2\xbb. Se riesci a "
     "leggerlo, le notifiche verso questa destinazione funzionano.",
     "Destinazione"},
};

typedef struct {
    const char *name; /* the destination's name, or its kind */
    char body[600];
    char when[40];     /* UTC, "YYYY-MM-DD HH:MM:SS" */
    char when_lang[64]; /* as the language writes it (alarm_msg_time()) */
    notify_field fields[2];
} test_text;

static svc_status render_test(void *arg, const char *language, notify_text *out, svc_error *e)
{
    test_text *t = arg;
    size_t i = 0;
    (void)e;
    while (i + 1 < sizeof test_words / sizeof test_words[0] &&
           strcmp(test_words[i].lang, language) != 0) {
        i++;
    }
    if (strcmp(test_words[i].lang, language) != 0) {
        i = 2; /* en */
    }
    snprintf(t->body, sizeof t->body, test_words[i].body, t->name);
    t->fields[0].name = test_words[i].field;
    t->fields[0].value = t->name;
    alarm_msg_time(t->when, test_words[i].lang, t->when_lang, sizeof t->when_lang);
    t->fields[1].name = "UTC";
    t->fields[1].value = t->when_lang;
    out->title = test_words[i].title;
    out->body = t->body;
    out->fields = t->fields;
    out->n_fields = 2;
    return SVC_OK;
}

static const char *kind_title(const char *kind)
{
    if (strcmp(kind, "slack") == 0) {
        return "Slack";
    }
    if (strcmp(kind, "teams") == 0) {
        return "Microsoft Teams";
    }
    if (strcmp(kind, "wechat") == 0) {
        return "WeChat Work";
    }
    return "E-mail";
}

/* Queue the test message to one target ("to") named "name" of kind "kind". */
static svc_status send_test(const svc_actor *a, const notify_to *to, const char *name,
                            const char *kind, notify_result *out, svc_error *e)
{
    db_pool *pool = a->srv->pool;
    db_conn *c = NULL;
    svc_status rc;
    test_text t;
    char key[96], name_buf[101];
    unsigned char rnd[8];
    struct timespec now;
    struct tm tm;
    notify_msg m;

    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    memset(&t, 0, sizeof t);
    strftime(t.when, sizeof t.when, "%Y-%m-%d %H:%M:%S", &tm);
    snprintf(name_buf, sizeof name_buf, "%s", name[0] ? name : kind_title(kind));
    t.name = name_buf;
    if (auth_random(rnd, sizeof rnd) != 0) {
        return svc_fail(e, SVC_INTERNAL, NULL, NULL, "no random bytes");
    }
    snprintf(key, sizeof key, "test:%s%lld:%lld:%02x%02x%02x%02x%02x%02x%02x%02x",
             to->kind == NOTIFY_TO_DESTINATION ? "d" : "r", to->id, (long long)now.tv_sec,
             rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
    memset(&m, 0, sizeof m);
    m.account_id = a->account_id;
    m.kind = "test";
    m.interactive = true; /* the administrator follows the delivery */
    m.key = key;
    m.severity = "info";
    m.render = render_test;
    m.render_arg = &t;
    m.to = to;
    m.n_to = 1;
    if ((rc = svc_tx_begin(pool, &c, e)) != SVC_OK) {
        goto out;
    }
    if ((rc = svc_notify_enqueue(c, &m, out, e)) != SVC_OK) {
        goto out;
    }
    if (out->queued == 0) {
        rc = svc_fail(e, SVC_CONFLICT, "disabled", NULL,
                      "it is disabled: enable it to send a test");
    }
out:
    return svc_tx_end(pool, c, rc, e, NULL);
}

svc_status svc_destination_test(const svc_actor *a, long long id, notify_result *out,
                                svc_error *e)
{
    db_destination d;
    svc_status rc;
    notify_to to = {NOTIFY_TO_DESTINATION, id, NULL, NULL};
    memset(out, 0, sizeof *out);
    if ((rc = admin_only(a, e)) != SVC_OK || (rc = destination_row(a, id, &d, e)) != SVC_OK) {
        return rc;
    }
    rc = send_test(a, &to, d.name, d.kind, out, e);
    db_destination_clear(&d);
    return rc;
}

svc_status svc_recipient_test(const svc_actor *a, long long id, notify_result *out,
                              svc_error *e)
{
    db_pool *pool = a->srv->pool;
    db_conn *c = NULL;
    db_recipient r;
    bool found = false;
    svc_status rc;
    db_status st;
    notify_to to = {NOTIFY_TO_RECIPIENT, id, NULL, NULL};
    memset(out, 0, sizeof *out);
    memset(&r, 0, sizeof r);
    if ((rc = admin_only(a, e)) != SVC_OK) {
        return rc;
    }
    if ((st = db_acquire(pool, DB_WAIT_MS, &c)) == DB_OK) {
        st = db_recipient_get(c, a->account_id, id, &r, &found);
        db_release(pool, c);
    }
    if (st != DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    if (!found) {
        return svc_fail(e, SVC_NOT_FOUND, "not_found", NULL, "no such recipient");
    }
    rc = send_test(a, &to, r.name, r.kind, out, e);
    db_recipient_clear(&r);
    return rc;
}

/* ------------------------------------------------------------ delivery log */

static void mask_delivery(db_delivery *d)
{
    char buf[400];
    if (d->address == NULL) {
        return;
    }
    svc_notify_mask(d->channel, d->address, buf, sizeof buf);
    if (strlen(buf) <= strlen(d->address)) {
        memcpy(d->address, buf, strlen(buf) + 1);
    }
}

static svc_status admin_reads(const svc_actor *a, svc_error *e)
{
    if (!a->admin) {
        return svc_fail(e, SVC_FORBIDDEN, "forbidden", NULL,
                        "only an administrator may read the delivery log");
    }
    return SVC_OK;
}

/* A number member, or null for 0 (none). */
static void add_id_or_null(cJSON *o, const char *name, long long v)
{
    if (v > 0) {
        json_add_int(o, name, v);
    } else {
        cJSON_AddNullToObject(o, name);
    }
}

static cJSON *delivery_json(const db_delivery *d)
{
    cJSON *o = cJSON_CreateObject(), *t;
    if (o == NULL) {
        return NULL;
    }
    json_add_int(o, "id", d->id);
    json_add_int(o, "message_id", d->message_id);
    json_add_str(o, "kind", d->kind);
    json_add_str(o, "key", d->key);
    t = cJSON_AddObjectToObject(o, "target");
    if (t != NULL) {
        json_add_str(t, "type", d->target_type);
        add_id_or_null(t, "destination_id", d->destination_id);
        add_id_or_null(t, "recipient_id", d->recipient_id);
        add_id_or_null(t, "user_id", d->user_id);
        json_add_str(t, "address", d->address);
    }
    json_add_str(o, "channel", d->channel);
    json_add_str(o, "language", d->language);
    json_add_str(o, "severity", d->severity);
    json_add_str(o, "title", d->title);
    json_add_str(o, "state", d->state);
    json_add_int(o, "attempts", d->attempts);
    json_add_int(o, "failures", d->failures);
    json_add_str(o, "next_at", d->next_at);
    json_add_str(o, "created_at", d->created_at);
    json_add_str(o, "sent_at", d->sent_at);
    json_add_str(o, "last_error", d->last_error);
    cJSON_AddBoolToObject(o, "sensitive", d->sensitive);
    return o;
}

static cJSON *attempt_json(const db_attempt *at)
{
    cJSON *o = cJSON_CreateObject();
    if (o == NULL) {
        return NULL;
    }
    json_add_int(o, "n", at->n);
    json_add_str(o, "started_at", at->started_at);
    json_add_str(o, "ended_at", at->ended_at);
    if (at->duration_ms != NULL) {
        cJSON_AddNumberToObject(o, "duration_ms", strtod(at->duration_ms, NULL));
    } else {
        cJSON_AddNullToObject(o, "duration_ms");
    }
    json_add_str(o, "outcome", at->outcome);
    add_id_or_null(o, "status", at->status);
    json_add_str(o, "response", at->response);
    json_add_str(o, "error", at->error);
    json_add_str(o, "sender", at->owner);
    return o;
}

svc_status svc_delivery_list(const svc_actor *a, const db_delivery_filter *f, cJSON **out,
                             svc_error *e)
{
    db_conn *c = NULL;
    db_delivery *rows = NULL;
    int n = 0;
    db_status st;
    svc_status rc;
    cJSON *o, *items;
    *out = NULL;
    if ((rc = admin_reads(a, e)) != SVC_OK) {
        return rc;
    }
    if (f->limit < 1 || f->limit > 200) {
        return svc_fail(e, SVC_INVALID, "invalid_value", "limit", "limit must be 1 to 200");
    }
    if (f->state != NULL && strcmp(f->state, "queued") != 0 && strcmp(f->state, "sending") != 0 &&
        strcmp(f->state, "sent") != 0 && strcmp(f->state, "retry") != 0 &&
        strcmp(f->state, "dead") != 0 && strcmp(f->state, "cancelled") != 0) {
        return svc_fail(e, SVC_INVALID, "invalid_value", "state",
                        "state must be one of: queued, sending, sent, retry, dead, cancelled");
    }
    if ((st = db_acquire(a->srv->pool, DB_WAIT_MS, &c)) == DB_OK) {
        st = db_delivery_list(c, a->account_id, f, &rows, &n);
        db_release(a->srv->pool, c);
    }
    if (st != DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    o = cJSON_CreateObject();
    items = o != NULL ? cJSON_AddArrayToObject(o, "items") : NULL;
    for (int i = 0; items != NULL && i < n; i++) {
        cJSON *x;
        mask_delivery(&rows[i]);
        x = delivery_json(&rows[i]);
        if (x == NULL || !cJSON_AddItemToArray(items, x)) {
            cJSON_Delete(x);
            items = NULL;
        }
    }
    if (items == NULL) {
        cJSON_Delete(o);
        db_delivery_free(rows, n);
        return svc_fail_nomem(e);
    }
    /* A full page: the next one starts before its last row. */
    if (n == f->limit) {
        json_add_int(o, "next_before", rows[n - 1].id);
    } else {
        cJSON_AddNullToObject(o, "next_before");
    }
    db_delivery_free(rows, n);
    *out = o;
    return SVC_OK;
}

svc_status svc_delivery_get(const svc_actor *a, long long id, cJSON **out, svc_error *e)
{
    db_conn *c = NULL;
    db_delivery d;
    db_attempt *att = NULL;
    int n = 0;
    db_status st;
    svc_status rc;
    bool found = false;
    cJSON *o, *arr;
    *out = NULL;
    memset(&d, 0, sizeof d);
    if ((rc = admin_reads(a, e)) != SVC_OK) {
        return rc;
    }
    if ((st = db_acquire(a->srv->pool, DB_WAIT_MS, &c)) == DB_OK) {
        st = db_delivery_get(c, a->account_id, id, &d, &found);
        if (st == DB_OK && found) {
            st = db_attempt_list(c, a->account_id, id, &att, &n);
        }
        db_release(a->srv->pool, c);
    }
    if (st != DB_OK) {
        db_delivery_clear(&d);
        db_attempt_free(att, n);
        return svc_fail_db(e, st, NULL);
    }
    if (!found) {
        return svc_fail(e, SVC_NOT_FOUND, "not_found", NULL, "no such delivery");
    }
    mask_delivery(&d);
    o = delivery_json(&d);
    if (o != NULL) {
        cJSON *fields = d.fields ? cJSON_Parse(d.fields) : NULL;
        json_add_str(o, "body", d.body);
        if (fields != NULL) {
            cJSON_AddItemToObject(o, "fields", fields);
        } else {
            cJSON_AddArrayToObject(o, "fields");
        }
        json_add_str(o, "link_url", d.link_url);
        json_add_str(o, "link_label", d.link_label);
        arr = cJSON_AddArrayToObject(o, "log");
        for (int i = 0; arr != NULL && i < n; i++) {
            cJSON *x = attempt_json(&att[i]);
            if (x == NULL || !cJSON_AddItemToArray(arr, x)) {
                cJSON_Delete(x);
                arr = NULL;
            }
        }
        if (arr == NULL) {
            cJSON_Delete(o);
            o = NULL;
        }
    }
    db_delivery_clear(&d);
    db_attempt_free(att, n);
    *out = o;
    return o != NULL ? SVC_OK : svc_fail_nomem(e);
}

svc_status svc_delivery_retry(const svc_actor *a, long long id, svc_error *e)
{
    audit_who who = svc_who(a);
    db_pool *pool = a->srv->pool;
    db_conn *c = NULL;
    char *was = NULL;
    bool sensitive = false, done = false;
    svc_status rc;
    if ((rc = admin_reads(a, e)) != SVC_OK) {
        return rc;
    }
    if ((rc = svc_tx_begin(pool, &c, e)) != SVC_OK) {
        goto out;
    }
    SVC_TRY_DB(db_delivery_requeue(c, a->account_id, id, &was, &sensitive, &done), NULL);
    if (was == NULL) {
        rc = svc_fail(e, SVC_NOT_FOUND, "not_found", NULL, "no such delivery");
        goto out;
    }
    if (!done) {
        rc = sensitive ? svc_fail(e, SVC_CONFLICT, "erased", NULL,
                                  "its text was erased when it ended: it cannot be sent again")
                       : svc_fail(e, SVC_CONFLICT, "not_failed", NULL,
                                  "only a dead or cancelled delivery can be sent again (it is %s)",
                                  was);
        goto out;
    }
    SVC_TRY_DB(audit_write_kv(c, &who, "delivery.retry", "delivery", id, "was", was), NULL);
out:
    free(was);
    return svc_tx_end(pool, c, rc, e, NULL);
}

/* ------------------------------------------------------- tests, benchmarks */

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

svc_status svc_notify_load(db_pool *pool, long long account_id, const long long *to_ids,
                           int n_to, int count, int per_tx, const char *key_prefix,
                           const char *kind, const char *severity, const char *language,
                           const char *title, const char *body, notify_result *out,
                           double *enqueue_ms, double *commit_ms, svc_error *e)
{
    static const notify_field fields[] = {{"Channel", "CH1"}, {"Value", "31.2 \xc2\xb0" "C"}};
    notify_text text = {title, body, fields, 2, NULL, NULL};
    db_conn *c = NULL;
    svc_status rc = SVC_OK;
    char key[260];
    memset(out, 0, sizeof *out);
    *enqueue_ms = *commit_ms = 0;
    for (int i = 0; i < count && rc == SVC_OK; i += per_tx) {
        db_status st = db_acquire(pool, DB_WAIT_MS, &c);
        double t0;
        if (st == DB_OK && (st = db_begin(c)) != DB_OK) {
            db_release(pool, c);
        }
        if (st != DB_OK) {
            return svc_fail_db(e, st, NULL);
        }
        for (int k = i; k < count && k < i + per_tx && rc == SVC_OK; k++) {
            notify_to to = {n_to > 0 ? NOTIFY_TO_DESTINATION : NOTIFY_TO_SYSTEM,
                            n_to > 0 ? to_ids[k % n_to] : 0, NULL, NULL};
            notify_msg m;
            notify_result r;
            memset(&m, 0, sizeof m);
            snprintf(key, sizeof key, "%s:%d", key_prefix, k);
            m.account_id = account_id;
            m.kind = kind;
            m.key = key;
            m.severity = severity;
            m.language = language;
            m.text = &text;
            m.to = &to;
            m.n_to = 1;
            t0 = now_ms();
            rc = svc_notify_enqueue(c, &m, &r, e);
            *enqueue_ms += now_ms() - t0;
            out->message_id = out->message_id ? out->message_id : r.message_id;
            out->first_id = out->first_id ? out->first_id : r.first_id;
            out->queued += r.queued;
            out->duplicates += r.duplicates;
            out->skipped += r.skipped;
        }
        t0 = now_ms();
        if (rc == SVC_OK) {
            db_status cs = db_commit(c);
            if (cs != DB_OK) {
                rc = svc_fail_db(e, cs, NULL);
            }
        } else {
            (void)db_rollback(c);
        }
        *commit_ms += now_ms() - t0;
        db_release(pool, c);
    }
    return rc;
}
