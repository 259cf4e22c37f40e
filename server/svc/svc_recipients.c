/* Recipients (G4): validation and audited writes (see svc_recipients.h). */
#define _POSIX_C_SOURCE 200809L
#include "svc_recipients.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth.h"
#include "db_recipients.h"
#include "json_out.h"
#include "svc_destinations.h"

static bool label_valid(const char *s, size_t n)
{
    if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-') {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (!isalnum((unsigned char)s[i]) && s[i] != '-') {
            return false;
        }
    }
    return true;
}

/* A DNS name of at least "min_labels" labels, the last not beginning
 * with a digit: no top-level domain does, and a host such as "0x7f000001"
 * or "127.0.0.0X1" is a number to libcurl (127.0.0.1), not a name. */
static bool domain_valid(const char *s, size_t n, int min_labels)
{
    int labels = 0;
    size_t start = 0, last = 0;
    bool last_numeric = true;
    if (n == 0 || n > 253) {
        return false;
    }
    for (size_t i = 0; i <= n; i++) {
        if (i == n || s[i] == '.') {
            if (!label_valid(s + start, i - start)) {
                return false;
            }
            last_numeric = true;
            for (size_t k = start; k < i; k++) {
                last_numeric = last_numeric && isdigit((unsigned char)s[k]);
            }
            labels++;
            last = start;
            start = i + 1;
        }
    }
    return labels >= min_labels && !last_numeric && !isdigit((unsigned char)s[last]);
}

static bool ipv4_valid(const char *s, size_t n)
{
    int parts = 0;
    size_t i = 0;
    while (i < n) {
        int v = 0, digits = 0;
        bool lead_zero = s[i] == '0';
        while (i < n && isdigit((unsigned char)s[i]) && digits < 3) {
            v = v * 10 + (s[i++] - '0');
            digits++;
        }
        /* "010" is 8 to libcurl (octal), not 10: a leading zero is refused */
        if (digits == 0 || v > 255 || (lead_zero && digits > 1) || ++parts > 4) {
            return false;
        }
        if (i < n && s[i++] != '.') {
            return false;
        }
        if (i == n && s[n - 1] == '.') {
            return false;
        }
    }
    return parts == 4;
}

bool svc_email_valid(const char *s)
{
    const char *at = strrchr(s, '@');
    size_t local;
    if (at == NULL || strlen(s) > 254) {
        return false;
    }
    local = (size_t)(at - s);
    if (local == 0 || local > 64 || s[0] == '.' || s[local - 1] == '.') {
        return false;
    }
    for (size_t i = 0; i < local; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch <= ' ' || ch >= 0x7f || strchr("\"(),:;<>@[\\]", ch) != NULL ||
            (ch == '.' && s[i + 1] == '.')) {
            return false;
        }
    }
    return domain_valid(at + 1, strlen(at + 1), 2);
}

bool svc_webhook_valid(const char *s)
{
    const char *host, *end;
    size_t host_len;
    if (strlen(s) > 2000) {
        return false;
    }
    for (const char *p = s; *p != '\0'; p++) {
        if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f) {
            return false;
        }
    }
    if (strncasecmp(s, "https://", 8) == 0) {
        host = s + 8;
    } else if (strncasecmp(s, "http://", 7) == 0) {
        host = s + 7;
    } else {
        return false;
    }
    end = host + strcspn(host, "/?#");
    if (memchr(host, '@', (size_t)(end - host)) != NULL) {
        return false; /* no user info: it would only hide the real host */
    }
    host_len = strcspn(host, ":/?#");
    if (host + host_len < end) { /* a port */
        const char *port = host + host_len + 1;
        long v = 0;
        if (port == end || end - port > 5) {
            return false;
        }
        for (const char *p = port; p < end; p++) {
            if (!isdigit((unsigned char)*p)) {
                return false;
            }
            v = v * 10 + (*p - '0');
        }
        if (v < 1 || v > 65535) {
            return false;
        }
    }
    return ipv4_valid(host, host_len) || domain_valid(host, host_len, 1);
}

static const char *const languages[] = {"zh-CN", "ja", "en", "es", "fr", "de", "it"};

static bool language_valid(const char *s)
{
    for (size_t i = 0; i < sizeof languages / sizeof languages[0]; i++) {
        if (strcmp(s, languages[i]) == 0) {
            return true;
        }
    }
    return false;
}

static bool recipient_kind_valid(const char *k)
{
    return strcmp(k, "email") == 0 || strcmp(k, "wechat") == 0 || strcmp(k, "slack") == 0 ||
           strcmp(k, "teams") == 0;
}

static svc_status check_address(svc_error *e, const char *kind, const char *address)
{
    if (strcmp(kind, "email") == 0) {
        if (!svc_email_valid(address)) {
            return svc_fail(e, SVC_INVALID, "invalid_value", "address",
                           "address must be an e-mail address (name@example.com)");
        }
    } else if (!svc_webhook_valid(address)) {
        return svc_fail(e, SVC_INVALID, "invalid_value", "address",
                       "address must be an http:// or https:// webhook URL");
    }
    return SVC_OK;
}

static const char dup_recipient[] = "this recipient already exists";

/* Check the fields that are given. */
static svc_status check_recipient(svc_error *e, const svc_recipient_in *in)
{
    if (in->kind != NULL && !recipient_kind_valid(in->kind)) {
        return svc_fail(e, SVC_INVALID, "invalid_value", "kind",
                       "kind must be one of: email, wechat, slack, teams");
    }
    if (in->language != NULL && !language_valid(in->language)) {
        return svc_fail(e, SVC_INVALID, "invalid_value", "language",
                       "language must be one of: zh-CN, ja, en, es, fr, de, it");
    }
    return SVC_OK;
}

svc_status svc_recipient_create(db_pool *pool, const svc_actor *a, const svc_recipient_in *in,
                             long long *id, svc_error *e)
{
    audit_who who = svc_who(a);
    db_conn *c = NULL;
    svc_status rc;
    if ((rc = check_recipient(e, in)) != SVC_OK ||
        (rc = check_address(e, in->kind, in->address)) != SVC_OK) {
        return rc;
    }
    if ((rc = svc_tx_begin(pool, &c, e)) != SVC_OK) {
        goto out;
    }
    SVC_TRY_DB(db_recipient_insert(c, a->account_id, in->kind, in->name ? in->name : "", in->address,
                               in->language ? in->language : "en", in->enabled != 0, id),
           dup_recipient);
    SVC_TRY_DB(audit_write_kv(c, &who, "recipient.create", "recipient", *id, "kind", in->kind),
           NULL);
out:
    return svc_tx_end(pool, c, rc, e, dup_recipient);
}

svc_status svc_recipient_update(db_pool *pool, const svc_actor *a, long long id,
                             const svc_recipient_in *in, svc_error *e)
{
    audit_who who = svc_who(a);
    db_conn *c = NULL;
    db_recipient old;
    bool found = false;
    svc_status rc;
    const char *kind, *address;
    char masked[400];

    memset(&old, 0, sizeof old);
    if ((rc = check_recipient(e, in)) != SVC_OK) {
        return rc;
    }
    if ((rc = svc_tx_begin(pool, &c, e)) != SVC_OK) {
        goto out;
    }
    SVC_TRY_DB(db_recipient_get(c, a->account_id, id, &old, &found), NULL);
    if (!found) {
        rc = svc_fail(e, SVC_NOT_FOUND, "not_found", NULL, "no such recipient");
        goto out;
    }
    kind = in->kind ? in->kind : old.kind;
    address = in->address ? in->address : old.address;
    /* The masked form a client read back (GET shows webhook URLs masked)
     * means "unchanged". */
    if (in->address != NULL && strcmp(in->address, svc_notify_mask(old.kind, old.address, masked,
                                                                   sizeof masked)) == 0) {
        address = old.address;
    }
    if ((rc = check_address(e, kind, address)) != SVC_OK) {
        goto out;
    }
    SVC_TRY_DB(db_recipient_update(c, a->account_id, id, kind, in->name ? in->name : old.name,
                               address, in->language ? in->language : old.language,
                               in->enabled < 0 ? old.enabled : in->enabled != 0, &found),
           dup_recipient);
    SVC_TRY_DB(audit_write_kv(c, &who, "recipient.update", "recipient", id, "kind", in->kind), NULL);
out:
    db_recipient_clear(&old);
    return svc_tx_end(pool, c, rc, e, dup_recipient);
}

svc_status svc_recipient_delete(db_pool *pool, const svc_actor *a, long long id, svc_error *e)
{
    return svc_delete_one(pool, a, db_recipient_delete, id, "recipient", "recipient", e);
}

/* ------------------------------------------------------------------ reads */

static cJSON *recipient_json(const void *ctx, const void *row)
{
    const db_recipient *r = row;
    cJSON *o = cJSON_CreateObject();
    char masked[400];
    (void)ctx;
    if (o == NULL) {
        return NULL;
    }
    json_add_int(o, "id", r->id);
    json_add_str(o, "kind", r->kind);
    json_add_str(o, "name", r->name);
    /* A webhook URL carries its secret: never returned whole. */
    cJSON_AddStringToObject(o, "address",
                            svc_notify_mask(r->kind, r->address, masked, sizeof masked));
    json_add_str(o, "language", r->language);
    cJSON_AddBoolToObject(o, "enabled", r->enabled);
    json_add_str(o, "created_at", r->created_at);
    json_add_str(o, "updated_at", r->updated_at);
    return o;
}

svc_status svc_recipients_list(const svc_actor *a, cJSON **out, svc_error *e)
{
    db_conn *c = NULL;
    db_recipient *rows = NULL;
    int n = 0;
    db_status st = db_acquire(a->srv->pool, DB_WAIT_MS, &c);
    *out = NULL;
    if (st == DB_OK) {
        st = db_recipient_list(c, a->account_id, &rows, &n);
    }
    db_release(a->srv->pool, c);
    if (st != DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    *out = json_items(rows, n, sizeof *rows, recipient_json, a);
    db_recipient_free(rows, n);
    return *out != NULL ? SVC_OK : svc_fail_nomem(e);
}

svc_status svc_recipient_get(const svc_actor *a, long long id, cJSON **out, svc_error *e)
{
    db_conn *c = NULL;
    db_recipient r;
    bool found = false;
    db_status st = db_acquire(a->srv->pool, DB_WAIT_MS, &c);
    *out = NULL;
    if (st == DB_OK) {
        st = db_recipient_get(c, a->account_id, id, &r, &found);
    }
    db_release(a->srv->pool, c);
    if (st != DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    if (!found) {
        return svc_fail(e, SVC_NOT_FOUND, NULL, NULL, "no such recipient");
    }
    *out = recipient_json(a, &r);
    db_recipient_clear(&r);
    return *out != NULL ? SVC_OK : svc_fail_nomem(e);
}
