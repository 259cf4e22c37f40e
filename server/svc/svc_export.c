/* Exports of acquired data (see svc_export.h and docs/export.md): the API
 * (create, status, list, delete, download), the signed download URLs and
 * the status JSON. The rest of the service: svc_export_internal.h. */
#define _POSIX_C_SOURCE 200809L
#include "svc_export.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "db_account.h"
#include "db_export.h"
#include "db_replica.h"
#include "db_series.h"
#include "log.h"
#include "series_store.h"
#include "svc_export_internal.h"

static const char *const fmt_names[] = {"csv", "hok", "hok2"};
static const char *const fmt_ext[] = {"zip", "hok", "hok2"};

/* ------------------------------------------------------------ helpers */

static int fmt_of(const char *name)
{
    for (int i = 0; i < 3; i++) {
        if (name != NULL && strcmp(name, fmt_names[i]) == 0) {
            return i;
        }
    }
    return -1;
}

/* ------------------------------------------------------ signed URLs */

static pthread_mutex_t secret_mu = PTHREAD_MUTEX_INITIALIZER;
static bool have_secret;
static unsigned char url_secret[32];

/* Load (or create at the first start) the URL-signing key. 0 or -1. */
static int load_secret(srv *s)
{
    int rc = 0;
    pthread_mutex_lock(&secret_mu);
    if (!have_secret) {
        unsigned char fresh[32];
        db_conn *c = NULL;
        db_status st = DB_ERROR;
        if (auth_random(fresh, sizeof fresh) == 0 &&
            (st = db_acquire(s->pool, EXPORT_DB_WAIT_MS, &c)) == DB_OK) {
            st = db_export_secret(c, "export_url", fresh, url_secret);
            db_release(s->pool, c);
        }
        OPENSSL_cleanse(fresh, sizeof fresh);
        have_secret = st == DB_OK;
        rc = have_secret ? 0 : -1;
        if (!have_secret) {
            log_error("export: cannot load the URL signing key: %s", db_strerror(st));
        }
    }
    pthread_mutex_unlock(&secret_mu);
    return rc;
}

/* hex(HMAC-SHA256(key, "export:<id>:<account>:<expires>")) into "hex". */
static int sign(srv *s, long long id, long long account, long long expires, char hex[65])
{
    char msg[96];
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    int n = snprintf(msg, sizeof msg, "export:%lld:%lld:%lld", id, account, expires);
    if (load_secret(s) != 0 ||
        HMAC(EVP_sha256(), url_secret, (int)sizeof url_secret, (const unsigned char *)msg,
             (size_t)n, mac, &mac_len) == NULL ||
        mac_len != 32) {
        return -1;
    }
    for (unsigned i = 0; i < 32; i++) {
        snprintf(hex + 2 * i, 3, "%02x", mac[i]);
    }
    return 0;
}

/* ------------------------------------------------------- status JSON */

static cJSON *row_json(srv *s, const db_export_row *r, int64_t now)
{
    cJSON *o = cJSON_CreateObject(), *chs = cJSON_CreateArray();
    char when[32];
    if (o == NULL || chs == NULL) {
        cJSON_Delete(o);
        cJSON_Delete(chs);
        return NULL;
    }
    cJSON_AddNumberToObject(o, "id", (double)r->id);
    cJSON_AddStringToObject(o, "status", r->status);
    cJSON_AddNumberToObject(o, "progress", r->progress);
    cJSON_AddNumberToObject(o, "bytes", (double)r->bytes);
    cJSON_AddNumberToObject(o, "samples", (double)r->samples);
    cJSON_AddStringToObject(o, "format", r->format);
    for (size_t i = 0; i < r->n_ch; i++) {
        cJSON_AddItemToArray(chs, cJSON_CreateNumber((double)r->ch[i]));
    }
    cJSON_AddItemToObject(o, "channels", chs);
    cJSON_AddNumberToObject(o, "from", (double)r->t0);
    cJSON_AddNumberToObject(o, "to", (double)r->t1);
    cJSON_AddStringToObject(o, "time_zone", r->time_zone);
    cJSON_AddStringToObject(o, "created_at", r->created_at);
    if (r->finished_at[0] != '\0') {
        cJSON_AddStringToObject(o, "finished_at", r->finished_at);
        iso_utc(r->finished_s + EXPORT_KEEP_S, when, sizeof when);
        cJSON_AddStringToObject(o, "file_expires_at", when);
    } else {
        cJSON_AddNullToObject(o, "finished_at");
    }
    if (strcmp(r->status, "failed") == 0) {
        cJSON_AddStringToObject(o, "error", r->error);
    }
    if (strcmp(r->status, "done") == 0) {
        char sig[65], url[256];
        long long expires = (long long)now + EXPORT_URL_TTL_S;
        if (sign(s, r->id, r->account_id, expires, sig) != 0) {
            cJSON_Delete(o);
            return NULL;
        }
        snprintf(url, sizeof url, "/api/v1/exports/%lld/download?account=%lld&expires=%lld&sig=%s",
                 r->id, r->account_id, expires, sig);
        cJSON_AddStringToObject(o, "download_url", url);
        iso_utc(expires, when, sizeof when);
        cJSON_AddStringToObject(o, "expires_at", when);
    }
    return o;
}

/* ----------------------------------------------------------- the API */

svc_status svc_export_create(srv *s, const svc_actor *a, const export_request *rq, cJSON **out,
                             svc_error *e)
{
    db_conn *c = NULL;
    db_status st;
    int64_t *vis = NULL;
    size_t n_vis = 0;
    tz_spec tz = {0};
    char tz_text[72];
    bool known = false, found = false, reserved = false, in_tx = false;
    long long running = 0, id = 0;
    int fmt = fmt_of(rq->format), rc = -1;
    int64_t now = auth_now();
    export_job *j = NULL;
    db_export_row row;

    *out = NULL;
    if (fmt < 0) {
        return svc_fail(e, SVC_INVALID, "invalid_value", "format",
                        "format: expected \"csv\", \"hok\" or \"hok2\"");
    }
    if (rq->n_ch == 0 || rq->n_ch > EXPORT_MAX_CHANNELS || rq->t1 <= rq->t0) {
        return svc_fail(e, SVC_INVALID, "invalid_value", "channels",
                        "1 to %d channels and from < to", EXPORT_MAX_CHANNELS);
    }
    if (rq->time_zone != NULL) {
        export_tz_from_text(rq->time_zone, &tz);
        if (!tz.fixed && !export_tz_name_chars(rq->time_zone)) {
            return svc_fail(
                e, SVC_INVALID, "invalid_value", "time_zone",
                "time_zone: expected an IANA name ('Asia/Tokyo') or an offset ('+09:00')");
        }
    }
    if ((st = db_acquire(s->pool, EXPORT_DB_WAIT_MS, &c)) != DB_OK) {
        return fail_db(e, st);
    }
    /* The channels: every one visible to the actor, else 404 naming it. */
    if ((st = series_channels_visible(c, a->account_id, svc_viewer(a), rq->ch, rq->n_ch, &vis,
                                      &n_vis)) != DB_OK) {
        fail_db(e, st);
        goto out;
    }
    for (size_t i = 0; i < rq->n_ch; i++) {
        bool seen = false;
        for (size_t k = 0; k < n_vis && !seen; k++) {
            seen = vis[k] == rq->ch[i];
        }
        if (!seen) {
            svc_fail(e, SVC_NOT_FOUND, "not_found", "channels", "channel %lld: no such channel",
                     (long long)rq->ch[i]);
            goto out;
        }
    }
    /* The time zone: the request's (an offset, or a name PostgreSQL knows),
     * else the account's. */
    if (rq->time_zone != NULL && !tz.fixed) {
        if ((st = db_time_zone_known(c, rq->time_zone, &known)) != DB_OK) {
            fail_db(e, st);
            goto out;
        }
        if (!known) {
            svc_fail(e, SVC_INVALID, "invalid_value", "time_zone",
                     "time_zone: '%s' is not a known time zone (e.g. 'UTC', 'Asia/Tokyo', "
                     "'+09:00')",
                     rq->time_zone);
            goto out;
        }
    }
    if (rq->time_zone != NULL) {
        snprintf(tz_text, sizeof tz_text, "%s", rq->time_zone);
    } else if ((st = db_export_account_tz(c, a->account_id, tz_text, &found)) != DB_OK) {
        fail_db(e, st);
        goto out;
    }
    if ((j = calloc(1, sizeof *j)) == NULL) {
        svc_fail(e, SVC_NOMEM, NULL, NULL, "the server is out of memory: retry");
        goto out;
    }
    if (export_reserve_slot(e) != SVC_OK) {
        goto out;
    }
    reserved = true;
    /* At most EXPORT_MAX_RUNNING_PER_ACCOUNT at once, counted under the
     * account-row lock so parallel requests cannot pass it together. */
    if ((st = db_begin(c)) != DB_OK) {
        fail_db(e, st);
        goto out;
    }
    in_tx = true;
    if ((st = db_account_lock(c, a->account_id, &found)) != DB_OK ||
        (st = db_export_running(c, a->account_id, &running)) != DB_OK) {
        fail_db(e, st);
        goto out;
    }
    if (running >= EXPORT_MAX_RUNNING_PER_ACCOUNT) {
        svc_fail(e, SVC_THROTTLED, "too_many_exports", NULL,
                 "at most %d exports run at once in an account: wait until one is done",
                 EXPORT_MAX_RUNNING_PER_ACCOUNT);
        e->retry_after = EXPORT_RETRY_AFTER_S;
        goto out;
    }
    if ((st = db_export_insert(c, a->account_id, a->user_id, fmt_names[fmt], rq->ch, rq->n_ch,
                               rq->t0, rq->t1, tz_text, now, &id)) != DB_OK ||
        (st = db_commit(c)) != DB_OK) {
        fail_db(e, st);
        goto out;
    }
    in_tx = false;
    if ((st = db_export_get(c, a->account_id, 0, id, &row, &found)) != DB_OK || !found) {
        /* Recorded and about to run: answer with what we know. */
        memset(&row, 0, sizeof row);
        row.id = id;
        row.account_id = a->account_id;
        snprintf(row.status, sizeof row.status, "running");
        snprintf(row.format, sizeof row.format, "%s", fmt_names[fmt]);
        memcpy(row.ch, rq->ch, rq->n_ch * sizeof *rq->ch);
        row.n_ch = rq->n_ch;
        row.t0 = rq->t0;
        row.t1 = rq->t1;
        snprintf(row.time_zone, sizeof row.time_zone, "%s", tz_text);
        iso_utc(now, row.created_at, sizeof row.created_at);
    }
    j->account_id = a->account_id;
    j->id = id;
    j->user_id = a->user_id;
    j->fmt = fmt;
    memcpy(j->ch, rq->ch, rq->n_ch * sizeof *rq->ch);
    j->n_ch = rq->n_ch;
    j->t0 = rq->t0;
    j->t1 = rq->t1;
    snprintf(j->tz, sizeof j->tz, "%s", tz_text);
    j->asked_ms = db_replica_now_ms();
    export_enqueue(j);
    j = NULL;
    reserved = false;
    *out = row_json(s, &row, now);
    if (*out == NULL) {
        svc_fail(e, SVC_NOMEM, NULL, NULL, "the server is out of memory: retry");
        goto out;
    }
    rc = 0;
out:
    if (in_tx) {
        db_rollback(c);
    }
    db_release(s->pool, c);
    if (reserved) {
        export_release_slot();
    }
    free(j);
    free(vis);
    return rc == 0 ? SVC_OK : e->status;
}

svc_status svc_export_get(srv *s, const svc_actor *a, long long id, cJSON **out, svc_error *e)
{
    db_conn *c = NULL;
    db_export_row row;
    bool found = false;
    db_status st = db_acquire(s->pool, EXPORT_DB_WAIT_MS, &c);
    *out = NULL;
    if (st != DB_OK) {
        return fail_db(e, st);
    }
    st = db_export_get(c, a->account_id, a->user_id, id, &row, &found);
    db_release(s->pool, c);
    if (st != DB_OK) {
        return fail_db(e, st);
    }
    if (!found) {
        return svc_fail(e, SVC_NOT_FOUND, "not_found", NULL, "no such export");
    }
    if ((*out = row_json(s, &row, auth_now())) == NULL) {
        return svc_fail(e, SVC_UNAVAILABLE, "unavailable", NULL,
                        "cannot build the answer now: retry");
    }
    return SVC_OK;
}

svc_status svc_export_list(srv *s, const svc_actor *a, cJSON **out, svc_error *e)
{
    db_conn *c = NULL;
    db_export_row *rows = NULL;
    size_t n = 0;
    cJSON *arr;
    int64_t now = auth_now();
    db_status st = db_acquire(s->pool, EXPORT_DB_WAIT_MS, &c);
    *out = NULL;
    if (st != DB_OK) {
        return fail_db(e, st);
    }
    st = db_export_list(c, a->account_id, a->user_id, EXPORT_LIST_LIMIT, &rows, &n);
    db_release(s->pool, c);
    if (st != DB_OK) {
        return fail_db(e, st);
    }
    *out = cJSON_CreateObject();
    arr = cJSON_AddArrayToObject(*out, "exports");
    for (size_t i = 0; i < n && arr != NULL; i++) {
        cJSON *o = row_json(s, &rows[i], now);
        if (o == NULL) {
            arr = NULL;
            break;
        }
        cJSON_AddItemToArray(arr, o);
    }
    free(rows);
    if (arr == NULL) {
        cJSON_Delete(*out);
        *out = NULL;
        return svc_fail(e, SVC_UNAVAILABLE, "unavailable", NULL,
                        "cannot build the answer now: retry");
    }
    return SVC_OK;
}

/* DATA/exports/<account> and the file's final path. */
void export_dir(const srv *s, long long account_id, char *out, size_t cap)
{
    snprintf(out, cap, "%s/exports/%lld", s->cfg.data_dir, account_id);
}

void export_path(const srv *s, long long account_id, long long id, int fmt, char *out,
                 size_t cap)
{
    snprintf(out, cap, "%s/exports/%lld/%lld.%s", s->cfg.data_dir, account_id, id, fmt_ext[fmt]);
}

svc_status svc_export_delete(srv *s, const svc_actor *a, long long id, svc_error *e)
{
    db_conn *c = NULL;
    bool found = false, was_running = false;
    char format[8];
    db_status st = db_acquire(s->pool, EXPORT_DB_WAIT_MS, &c);
    if (st != DB_OK) {
        return fail_db(e, st);
    }
    st = db_export_delete(c, a->account_id, a->user_id, id, &found, format, &was_running);
    db_release(s->pool, c);
    if (st != DB_OK) {
        return fail_db(e, st);
    }
    if (!found) {
        return svc_fail(e, SVC_NOT_FOUND, "not_found", NULL, "no such export");
    }
    if (was_running) {
        /* The worker stops at its next step and removes its partial file. */
        export_cancel(a->account_id, id);
    }
    /* A done export's bytes went with its row (a trigger on exports). */
    return SVC_OK;
}

svc_status svc_export_download(srv *s, long long id, long long account_id, long long expires,
                               const char *sig, export_file *out, svc_error *e)
{
    char want[65];
    db_conn *c = NULL;
    db_export_row row;
    bool found = false, have = false;
    int fmt;
    db_status st;
    if (sig == NULL || strlen(sig) != 64 || sign(s, id, account_id, expires, want) != 0 ||
        CRYPTO_memcmp(want, sig, 64) != 0) {
        return svc_fail(e, SVC_FORBIDDEN, "invalid_signature", "sig",
                        "this download link is not valid");
    }
    if (expires < auth_now()) {
        return svc_fail(e, SVC_FORBIDDEN, "link_expired", "expires",
                        "this download link has expired: ask for the export's status again for a "
                        "new one");
    }
    if ((st = db_acquire(s->pool, EXPORT_DB_WAIT_MS, &c)) != DB_OK) {
        return fail_db(e, st);
    }
    st = db_export_get(c, account_id, 0, id, &row, &found);
    if (st == DB_OK && found && row.blob_id != 0) {
        st = db_file_get(c, account_id, row.blob_id, &out->blob, &have);
    }
    db_release(s->pool, c);
    if (st != DB_OK) {
        return fail_db(e, st);
    }
    fmt = found ? fmt_of(row.format) : -1;
    if (!found || fmt < 0 || strcmp(row.status, "done") != 0) {
        return svc_fail(e, SVC_NOT_FOUND, "not_found", NULL, "this export is no longer available");
    }
    if (!have) {
        /* Still on the disk of the server that made it (moved into the
         * database at its next start). */
        return svc_fail(e, SVC_NOT_FOUND, "not_found", NULL,
                        "this export's file is no longer available");
    }
    snprintf(out->filename, sizeof out->filename, "metron-export-%lld.%s", id, fmt_ext[fmt]);
    out->content_type = fmt == FMT_CSV ? "application/zip" : "application/octet-stream";
    return SVC_OK;
}
