/* The logo (G7, P22): sniffing, base64, plan checks (see svc_logo.h). */
#define _POSIX_C_SOURCE 200809L
#include "svc_logo.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth.h"
#include "db_logo.h"

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

svc_status svc_logo_set(db_pool *pool, const svc_actor *a, const unsigned char *data, size_t len,
                     const char *declared_type, svc_error *e)
{
    static const char hex[] = "0123456789abcdef";
    audit_who who = svc_who(a);
    db_conn *c = NULL;
    char *data_hex = NULL, size[24];
    const char *type;
    svc_status rc;

    if ((rc = svc_feature_check(e, a->plan, MT_Q_OWN_LOGO, MT_ACCESS_FULL)) != SVC_OK) {
        return rc;
    }
    if (len > SVC_LOGO_MAX) {
        return svc_fail(e, SVC_INVALID, "too_large", "data", "the logo is larger than %d bytes",
                       SVC_LOGO_MAX);
    }
    type = svc_logo_sniff(data, len);
    if (type == NULL) {
        return svc_fail(e, SVC_INVALID, "unsupported_image", "data",
                       "the logo must be a PNG, JPEG, GIF or WebP image");
    }
    if (declared_type != NULL && strcmp(declared_type, type) != 0) {
        return svc_fail(e, SVC_INVALID, "unsupported_image", "content_type",
                       "the image is %s, not %.40s", type, declared_type);
    }
    if ((data_hex = malloc(len * 2 + 1)) == NULL) {
        return svc_fail(e, SVC_DB, NULL, NULL, "out of memory");
    }
    for (size_t i = 0; i < len; i++) {
        data_hex[2 * i] = hex[data[i] >> 4];
        data_hex[2 * i + 1] = hex[data[i] & 15];
    }
    data_hex[len * 2] = '\0';
    if ((rc = svc_tx_begin(pool, &c, e)) != SVC_OK) {
        goto out;
    }
    SVC_TRY_DB(db_logo_set(c, a->account_id, data_hex, type), NULL);
    snprintf(size, sizeof size, "%zu", len);
    SVC_TRY_DB(audit_write_kv(c, &who, "logo.set", "account", a->account_id, "bytes", size), NULL);
out:
    free(data_hex);
    return svc_tx_end(pool, c, rc, e, NULL);
}

svc_status svc_logo_delete(db_pool *pool, const svc_actor *a, svc_error *e)
{
    audit_who who = svc_who(a);
    db_conn *c = NULL;
    bool found;
    svc_status rc;
    if ((rc = svc_tx_begin(pool, &c, e)) != SVC_OK) {
        goto out;
    }
    SVC_TRY_DB(db_logo_delete(c, a->account_id, &found), NULL);
    if (!found) {
        rc = svc_fail(e, SVC_NOT_FOUND, "not_found", NULL, "the account has no logo");
        goto out;
    }
    SVC_TRY_DB(audit_write(c, &who, "logo.delete", "account", a->account_id, NULL), NULL);
out:
    return svc_tx_end(pool, c, rc, e, NULL);
}

svc_status svc_logo_get(const svc_actor *a, unsigned char **data, size_t *len, char *type,
                        size_t type_cap, svc_error *e)
{
    db_conn *c = NULL;
    bool found = false;
    db_status st = db_acquire(a->srv->pool, DB_WAIT_MS, &c);
    *data = NULL;
    *len = 0;
    if (st == DB_OK) {
        st = db_logo_get(c, a->account_id, data, len, type, type_cap, &found);
    }
    db_release(a->srv->pool, c);
    if (st != DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    if (!found) {
        return svc_fail(e, SVC_NOT_FOUND, NULL, NULL, "the account has no logo");
    }
    return SVC_OK;
}
