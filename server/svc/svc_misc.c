/* Recipients (G4), inquiries (G5) and the logo (G7, P22): validation,
 * plan checks and writes audited in their transaction. */
#define _POSIX_C_SOURCE 200809L
#include "svc_misc.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth.h"
#include "db_misc.h"

/* ----------------------------------------------------------- validation */

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

/* A DNS name of at least "min_labels" labels, the last not all digits. */
static bool domain_valid(const char *s, size_t n, int min_labels)
{
    int labels = 0;
    size_t start = 0;
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
            start = i + 1;
        }
    }
    return labels >= min_labels && !last_numeric;
}

static bool ipv4_valid(const char *s, size_t n)
{
    int parts = 0;
    size_t i = 0;
    while (i < n) {
        int v = 0, digits = 0;
        while (i < n && isdigit((unsigned char)s[i]) && digits < 3) {
            v = v * 10 + (s[i++] - '0');
            digits++;
        }
        if (digits == 0 || v > 255 || ++parts > 4) {
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

static sv_code check_address(svc_err *e, const char *kind, const char *address)
{
    if (strcmp(kind, "email") == 0) {
        if (!svc_email_valid(address)) {
            return sv_fail(e, SV_INVALID, "invalid", "address",
                           "address must be an e-mail address (name@example.com)");
        }
    } else if (!svc_webhook_valid(address)) {
        return sv_fail(e, SV_INVALID, "invalid", "address",
                       "address must be an http:// or https:// webhook URL");
    }
    return SV_OK;
}

/* ------------------------------------------------------------ recipients */

static const char dup_recipient[] = "this recipient already exists";

/* Check the fields that are given. */
static sv_code check_recipient(svc_err *e, const svc_recipient_in *in)
{
    if (in->kind != NULL && !recipient_kind_valid(in->kind)) {
        return sv_fail(e, SV_INVALID, "invalid", "kind",
                       "kind must be one of: email, wechat, slack, teams");
    }
    if (in->language != NULL && !language_valid(in->language)) {
        return sv_fail(e, SV_INVALID, "invalid", "language",
                       "language must be one of: zh-CN, ja, en, es, fr, de, it");
    }
    return SV_OK;
}

sv_code svc_recipient_create(db_pool *pool, const sv_actor *a, const svc_recipient_in *in,
                             long long *id, svc_err *e)
{
    audit_who who = sv_who(a);
    db_conn *c = NULL;
    sv_code rc;
    if ((rc = check_recipient(e, in)) != SV_OK ||
        (rc = check_address(e, in->kind, in->address)) != SV_OK) {
        return rc;
    }
    if ((rc = sv_tx_begin(pool, &c, e)) != SV_OK) {
        goto out;
    }
    SV_TRY_DB(db_recipient_insert(c, a->account_id, in->kind, in->name ? in->name : "", in->address,
                               in->language ? in->language : "en", in->enabled != 0, id),
           dup_recipient);
    SV_TRY_DB(audit_write_kv(c, &who, "recipient.create", "recipient", *id, "kind", in->kind),
           NULL);
out:
    return sv_tx_end(pool, c, rc, e, dup_recipient);
}

sv_code svc_recipient_update(db_pool *pool, const sv_actor *a, long long id,
                             const svc_recipient_in *in, svc_err *e)
{
    audit_who who = sv_who(a);
    db_conn *c = NULL;
    db_recipient old;
    bool found = false;
    sv_code rc;
    const char *kind, *address;

    memset(&old, 0, sizeof old);
    if ((rc = check_recipient(e, in)) != SV_OK) {
        return rc;
    }
    if ((rc = sv_tx_begin(pool, &c, e)) != SV_OK) {
        goto out;
    }
    SV_TRY_DB(db_recipient_get(c, a->account_id, id, &old, &found), NULL);
    if (!found) {
        rc = sv_fail(e, SV_NOT_FOUND, "not_found", NULL, "no such recipient");
        goto out;
    }
    kind = in->kind ? in->kind : old.kind;
    address = in->address ? in->address : old.address;
    if ((rc = check_address(e, kind, address)) != SV_OK) {
        goto out;
    }
    SV_TRY_DB(db_recipient_update(c, a->account_id, id, kind, in->name ? in->name : old.name,
                               address, in->language ? in->language : old.language,
                               in->enabled < 0 ? old.enabled : in->enabled != 0, &found),
           dup_recipient);
    SV_TRY_DB(audit_write_kv(c, &who, "recipient.update", "recipient", id, "kind", in->kind), NULL);
out:
    db_recipient_clear(&old);
    return sv_tx_end(pool, c, rc, e, dup_recipient);
}

sv_code svc_recipient_delete(db_pool *pool, const sv_actor *a, long long id, svc_err *e)
{
    return sv_delete_one(pool, a, db_recipient_delete, id, "recipient", "recipient", e);
}

/* ------------------------------------------------------------- inquiries */

sv_code svc_inquiry_create(db_pool *pool, const sv_actor *a, const char *kind,
                           const char *subject, const char *body, bool allow_remote_access,
                           long long *id, svc_err *e)
{
    audit_who who = sv_who(a);
    db_conn *c = NULL;
    sv_code rc;
    if (strcmp(kind, "inquiry") != 0 && strcmp(kind, "fault_report") != 0 &&
        strcmp(kind, "investigation_request") != 0 && strcmp(kind, "account_deletion") != 0) {
        return sv_fail(e, SV_INVALID, "invalid", "kind",
                       "kind must be one of: inquiry, fault_report, investigation_request, "
                       "account_deletion");
    }
    if (strcmp(kind, "account_deletion") == 0 && a->role != ROLE_ADMIN) {
        return sv_fail(e, SV_FORBIDDEN, "forbidden", "kind",
                       "only an administrator may request the account's deletion");
    }
    if ((rc = sv_tx_begin(pool, &c, e)) != SV_OK) {
        goto out;
    }
    SV_TRY_DB(db_inquiry_insert(c, a->account_id, a->user_id, kind, subject, body,
                             allow_remote_access, id),
           NULL);
    SV_TRY_DB(audit_write_kv(c, &who, "inquiry.create", "inquiry", *id, "kind", kind), NULL);
out:
    return sv_tx_end(pool, c, rc, e, NULL);
}

/* ------------------------------------------------------------------ logo */

const char *const svc_logo_types[] = {"image/png", "image/jpeg", "image/gif", "image/webp",
                                      NULL};

const char *svc_logo_sniff(const unsigned char *d, size_t len)
{
    static const unsigned char png[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    /* PNG: the signature and an IHDR chunk first; JPEG: SOI and a marker;
     * GIF: the 87a/89a signature and a screen descriptor; WebP: a RIFF
     * container of form WEBP whose first chunk is VP8, VP8L or VP8X. */
    if (len >= 24 && memcmp(d, png, 8) == 0 && memcmp(d + 12, "IHDR", 4) == 0) {
        return "image/png";
    }
    if (len >= 4 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF) {
        return "image/jpeg";
    }
    if (len >= 13 && (memcmp(d, "GIF87a", 6) == 0 || memcmp(d, "GIF89a", 6) == 0)) {
        return "image/gif";
    }
    if (len >= 20 && memcmp(d, "RIFF", 4) == 0 && memcmp(d + 8, "WEBPVP8", 7) == 0 &&
        (d[15] == ' ' || d[15] == 'L' || d[15] == 'X')) {
        return "image/webp";
    }
    return NULL;
}

static int b64val(unsigned char ch)
{
    if (ch >= 'A' && ch <= 'Z') {
        return ch - 'A';
    }
    if (ch >= 'a' && ch <= 'z') {
        return ch - 'a' + 26;
    }
    if (ch >= '0' && ch <= '9') {
        return ch - '0' + 52;
    }
    if (ch == '+') {
        return 62;
    }
    if (ch == '/') {
        return 63;
    }
    return -1;
}

int svc_base64_decode(const char *text, size_t max, unsigned char **out, size_t *len,
                      bool *too_large)
{
    size_t n = strlen(text), pad = 0, full, cap, o = 0;
    unsigned char *buf;
    *out = NULL;
    *len = 0;
    *too_large = false;
    while (n > 0 && text[n - 1] == '=' && pad < 2) {
        n--;
        pad++;
    }
    if (n % 4 == 1 || (pad > 0 && (n + pad) % 4 != 0)) {
        return -1;
    }
    full = n / 4 * 3 + (n % 4 == 0 ? 0 : n % 4 - 1);
    if (full > max) {
        *too_large = true;
        return -1;
    }
    cap = full > 0 ? full : 1;
    if ((buf = malloc(cap)) == NULL) {
        return -1;
    }
    for (size_t i = 0; i < n; i += 4) {
        int v[4] = {0, 0, 0, 0};
        size_t k, have = n - i < 4 ? n - i : 4;
        for (k = 0; k < have; k++) {
            if ((v[k] = b64val((unsigned char)text[i + k])) < 0) {
                free(buf);
                return -1;
            }
        }
        unsigned triple = (unsigned)v[0] << 18 | (unsigned)v[1] << 12 | (unsigned)v[2] << 6 |
                          (unsigned)v[3];
        buf[o++] = (unsigned char)(triple >> 16);
        if (have > 2) {
            buf[o++] = (unsigned char)(triple >> 8);
        }
        if (have > 3) {
            buf[o++] = (unsigned char)triple;
        }
    }
    *out = buf;
    *len = o;
    return 0;
}

sv_code svc_logo_set(db_pool *pool, const sv_actor *a, const unsigned char *data, size_t len,
                     const char *declared_type, svc_err *e)
{
    static const char hex[] = "0123456789abcdef";
    audit_who who = sv_who(a);
    db_conn *c = NULL;
    char *data_hex = NULL, size[24];
    const char *type;
    sv_code rc;

    if ((rc = sv_feature_check(e, a->plan, MT_Q_OWN_LOGO, MT_ACCESS_FULL)) != SV_OK) {
        return rc;
    }
    if (len > SVC_LOGO_MAX) {
        return sv_fail(e, SV_INVALID, "too_large", "data", "the logo is larger than %d bytes",
                       SVC_LOGO_MAX);
    }
    type = svc_logo_sniff(data, len);
    if (type == NULL) {
        return sv_fail(e, SV_INVALID, "unsupported_image", "data",
                       "the logo must be a PNG, JPEG, GIF or WebP image");
    }
    if (declared_type != NULL && strcmp(declared_type, type) != 0) {
        return sv_fail(e, SV_INVALID, "unsupported_image", "content_type",
                       "the image is %s, not %.40s", type, declared_type);
    }
    if ((data_hex = malloc(len * 2 + 1)) == NULL) {
        e->db = DB_ERROR;
        return sv_fail(e, SV_DB, NULL, NULL, "out of memory");
    }
    for (size_t i = 0; i < len; i++) {
        data_hex[2 * i] = hex[data[i] >> 4];
        data_hex[2 * i + 1] = hex[data[i] & 15];
    }
    data_hex[len * 2] = '\0';
    if ((rc = sv_tx_begin(pool, &c, e)) != SV_OK) {
        goto out;
    }
    SV_TRY_DB(db_logo_set(c, a->account_id, data_hex, type), NULL);
    snprintf(size, sizeof size, "%zu", len);
    SV_TRY_DB(audit_write_kv(c, &who, "logo.set", "account", a->account_id, "bytes", size), NULL);
out:
    free(data_hex);
    return sv_tx_end(pool, c, rc, e, NULL);
}

sv_code svc_logo_delete(db_pool *pool, const sv_actor *a, svc_err *e)
{
    audit_who who = sv_who(a);
    db_conn *c = NULL;
    bool found;
    sv_code rc;
    if ((rc = sv_tx_begin(pool, &c, e)) != SV_OK) {
        goto out;
    }
    SV_TRY_DB(db_logo_delete(c, a->account_id, &found), NULL);
    if (!found) {
        rc = sv_fail(e, SV_NOT_FOUND, "not_found", NULL, "the account has no logo");
        goto out;
    }
    SV_TRY_DB(audit_write(c, &who, "logo.delete", "account", a->account_id, NULL), NULL);
out:
    return sv_tx_end(pool, c, rc, e, NULL);
}
