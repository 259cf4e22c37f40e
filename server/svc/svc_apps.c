/* Apps, devices and channels: tenancy, quotas (P3, P10, P11, P12 from core),
 * the supported-instrument list (I4) and app credentials. */
#define _POSIX_C_SOURCE 200809L
#include "svc_apps.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "cmp.h"
#include "db_apps.h"
#include "instruments.h"

/* ---------------------------------------------- supported instruments (I4) */

/* The model list of the administration API, made once from the one table
 * (base/instruments.c): one entry per model, the LR8450's two rows merged
 * (its direct connection as min_firmware_direct). */
static svc_model models[64];
static size_t n_models;
static pthread_once_t models_once = PTHREAD_ONCE_INIT;

static void make_models(void)
{
    size_t n = 0;
    const instr_row *t = instr_table(&n);
    for (size_t i = 0; i < n; i++) {
        svc_model *m = NULL;
        for (size_t k = 0; k < n_models; k++) {
            if (strcmp(models[k].model, t[i].model) == 0) {
                m = &models[k];
            }
        }
        if (m == NULL) {
            if (n_models == sizeof models / sizeof models[0]) {
                break;
            }
            m = &models[n_models++];
            m->model = t[i].model;
        }
        m->apps |= t[i].apps;
        if (t[i].apps & INSTR_APP_DIRECT) {
            m->min_firmware_direct = t[i].min[INSTR_MONITORING];
        } else {
            m->min_firmware = t[i].min[INSTR_MONITORING];
            m->console = t[i].min[INSTR_CONSOLE] != NULL;
        }
    }
}

const svc_model *svc_models(size_t *n)
{
    pthread_once(&models_once, make_models);
    *n = n_models;
    return models;
}

const svc_model *svc_model_find(const char *name)
{
    pthread_once(&models_once, make_models);
    for (size_t i = 0; name != NULL && i < n_models; i++) {
        if (strcmp(models[i].model, name) == 0) {
            return &models[i];
        }
    }
    return NULL;
}

unsigned svc_app_kind_bit(const char *kind)
{
    return instr_app_bit(kind);
}

bool svc_firmware_valid(const char *fw)
{
    return instr_firmware_valid(fw);
}

int svc_firmware_cmp(const char *a, const char *b)
{
    return instr_firmware_cmp(a, b);
}

/* ----------------------------------------------------------- credentials */

/* A new credential into "text" and the hex of its SHA-256 into "hash_hex"
 * (65 bytes), its first 12 characters into "prefix" (13 bytes). */
static int new_credential(char text[SVC_CREDENTIAL_CAP], char hash_hex[65], char prefix[13])
{
    static const char b64url[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    unsigned char raw[33], md[32];
    size_t n = 0;
    if (RAND_bytes(raw, 32) != 1) {
        return -1;
    }
    raw[32] = 0;
    n += (size_t)snprintf(text, SVC_CREDENTIAL_CAP, "mta_");
    /* 32 bytes -> 43 base64url characters, no padding. */
    for (size_t i = 0; i < 32; i += 3) {
        unsigned v = (unsigned)raw[i] << 16 | (unsigned)raw[i + 1] << 8 |
                     (i + 2 < 32 ? raw[i + 2] : 0);
        text[n++] = b64url[(v >> 18) & 63];
        text[n++] = b64url[(v >> 12) & 63];
        text[n++] = b64url[(v >> 6) & 63];
        if (i + 2 < 32) {
            text[n++] = b64url[v & 63];
        }
    }
    text[n] = '\0';
    auth_sha256(text, n, md);
    for (int i = 0; i < 32; i++) {
        snprintf(hash_hex + 2 * i, 3, "%02x", md[i]);
    }
    snprintf(prefix, 13, "%.12s", text);
    return 0;
}

/* ------------------------------------------------------------------ apps */

svc_status svc_app_create(db_pool *pool, const svc_actor *a, const char *kind, const char *name,
                       long long group_id, long long *id, char credential[SVC_CREDENTIAL_CAP],
                       svc_error *e)
{
    db_conn *c = NULL;
    char hash_hex[65], prefix[13];
    long long n_apps = 0;
    bool found;
    svc_status rc;
    unsigned bit = svc_app_kind_bit(kind);
    audit_who who = svc_who(a);

    credential[0] = '\0';
    if (bit == 0) {
        return svc_fail(e, SVC_INVALID, "invalid_value", "kind",
                       "kind must be one of: one, cross, lr8450-direct");
    }
    /* P11 "-": the LR8450 direct connection does not exist on that plan. */
    if (bit == SVC_APP_DIRECT && (rc = svc_quota_check(e, a->plan, MT_Q_CHANNELS_LR8450, 1))) {
        return rc;
    }
    if ((rc = svc_tx_begin(pool, &c, e)) != SVC_OK) {
        goto out;
    }
    SVC_TRY_DB(db_apps_lock_account(c, a->account_id), NULL);
    if (group_id > 0) {
        SVC_TRY_DB(db_group_exists(c, a->account_id, group_id, &found), NULL);
        if (!found) {
            rc = svc_fail(e, SVC_NOT_FOUND, "not_found", "group_id", "no such measurement group");
            goto out;
        }
    }
    SVC_TRY_DB(db_app_count(c, a->account_id, &n_apps), NULL);
    if ((rc = svc_quota_check(e, a->plan, MT_Q_APPS, n_apps + 1)) != SVC_OK) {
        goto out;
    }
    if (new_credential(credential, hash_hex, prefix) != 0) {
        rc = svc_fail(e, SVC_DB, NULL, NULL, "no randomness for the credential");
        goto out;
    }
    SVC_TRY_DB(db_app_insert(c, a->account_id, group_id, kind, name, hash_hex, prefix, id), NULL);
    SVC_TRY_DB(audit_write_kv(c, &who, "app.create", "app", *id, "name", name), NULL);
out:
    rc = svc_tx_end(pool, c, rc, e, NULL);
    if (rc != SVC_OK) {
        memset(credential, 0, SVC_CREDENTIAL_CAP);
    }
    return rc;
}

svc_status svc_app_update(db_pool *pool, const svc_actor *a, long long app_id, const char *name,
                       int enabled, bool set_group, long long group_id, svc_error *e)
{
    audit_who who = svc_who(a);
    db_conn *c = NULL;
    bool found;
    svc_status rc;
    if ((rc = svc_tx_begin(pool, &c, e)) != SVC_OK) {
        goto out;
    }
    if (set_group && group_id > 0) {
        SVC_TRY_DB(db_group_exists(c, a->account_id, group_id, &found), NULL);
        if (!found) {
            rc = svc_fail(e, SVC_NOT_FOUND, "not_found", "group_id", "no such measurement group");
            goto out;
        }
    }
    SVC_TRY_DB(db_app_update(c, a->account_id, app_id, name, enabled, set_group, group_id, &found),
           NULL);
    if (!found) {
        rc = svc_fail(e, SVC_NOT_FOUND, "not_found", NULL, "no such app");
        goto out;
    }
    SVC_TRY_DB(audit_write_kv(c, &who,
                          enabled == 1   ? "app.enable"
                          : enabled == 0 ? "app.disable"
                                         : "app.update",
                          "app", app_id, "name", name),
           NULL);
out:
    return svc_tx_end(pool, c, rc, e, NULL);
}

svc_status svc_app_delete(db_pool *pool, const svc_actor *a, long long app_id, svc_error *e)
{
    return svc_delete_one(pool, a, db_app_delete, app_id, "app", "app", e);
}

svc_status svc_app_regenerate(db_pool *pool, const svc_actor *a, long long app_id,
                           char credential[SVC_CREDENTIAL_CAP], svc_error *e)
{
    audit_who who = svc_who(a);
    db_conn *c = NULL;
    char hash_hex[65], prefix[13];
    bool found;
    svc_status rc;
    credential[0] = '\0';
    if ((rc = svc_tx_begin(pool, &c, e)) != SVC_OK) {
        goto out;
    }
    if (new_credential(credential, hash_hex, prefix) != 0) {
        rc = svc_fail(e, SVC_DB, NULL, NULL, "no randomness for the credential");
        goto out;
    }
    SVC_TRY_DB(db_app_set_credential(c, a->account_id, app_id, hash_hex, prefix, &found), NULL);
    if (!found) {
        rc = svc_fail(e, SVC_NOT_FOUND, "not_found", NULL, "no such app");
        goto out;
    }
    SVC_TRY_DB(audit_write(c, &who, "app.credentials", "app", app_id, NULL), NULL);
out:
    rc = svc_tx_end(pool, c, rc, e, NULL);
    if (rc != SVC_OK) {
        memset(credential, 0, SVC_CREDENTIAL_CAP);
    }
    return rc;
}

svc_status svc_app_authenticate(db_pool *pool, const char *credential, long long *account_id,
                             long long *app_id, svc_error *e)
{
    unsigned char md[32];
    char hash_hex[65];
    db_conn *c = NULL;
    bool found = false, enabled = false;
    db_status st;
    if (credential == NULL || strncmp(credential, "mta_", 4) != 0 ||
        strlen(credential) != 47) {
        return svc_fail(e, SVC_UNAUTHENTICATED, NULL, NULL, "unknown app credential");
    }
    auth_sha256(credential, strlen(credential), md);
    for (int i = 0; i < 32; i++) {
        snprintf(hash_hex + 2 * i, 3, "%02x", md[i]);
    }
    if ((st = db_acquire(pool, DB_WAIT_MS, &c)) != DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    st = db_app_by_credential(c, hash_hex, account_id, app_id, &enabled, &found);
    db_release(pool, c);
    if (st != DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    if (!found) {
        return svc_fail(e, SVC_UNAUTHENTICATED, NULL, NULL, "unknown app credential");
    }
    if (!enabled) {
        return svc_fail(e, SVC_FORBIDDEN, "app_disabled", NULL, "this app is disabled");
    }
    return SVC_OK;
}

/* --------------------------------------------------------------- devices */

/* Check "model" (may be NULL = not given) against app kind "bit". */
static svc_status check_model(svc_error *e, const char *model, unsigned bit)
{
    const svc_model *m = svc_model_find(model);
    if (m == NULL) {
        return svc_fail(e, SVC_INVALID, "unsupported_model", "model",
                       "'%.40s' is not a supported instrument model (see "
                       "GET /api/v1/instrument-models)",
                       model);
    }
    if ((m->apps & bit) == 0) {
        return svc_fail(e, SVC_INVALID, "unsupported_model", "model",
                       "%s cannot be connected through this kind of app", m->model);
    }
    return SVC_OK;
}

/* Serial numbers: 1..64 printable ASCII characters without spaces. */
static bool serial_valid(const char *s)
{
    size_t n = 0;
    for (; *s != '\0'; s++, n++) {
        if (*s <= ' ' || *s > '~') {
            return false;
        }
    }
    return n >= 1 && n <= 64;
}

static svc_status check_device_fields(svc_error *e, const char *serial, const char *firmware)
{
    if (serial != NULL && !serial_valid(serial)) {
        return svc_fail(e, SVC_INVALID, "invalid_value", "serial",
                       "serial must be 1 to 64 printable characters without spaces");
    }
    if (firmware != NULL && !svc_firmware_valid(firmware)) {
        return svc_fail(e, SVC_INVALID, "invalid_value", "firmware",
                       "firmware must be a version such as 1.50 or V2.20");
    }
    return SVC_OK;
}

svc_status svc_device_create_in(db_conn *c, long long account_id, mt_plan plan, long long app_id,
                             const char *model, const char *serial, const char *firmware,
                             const char *name, long long *id, svc_error *e)
{
    char kind[16];
    long long n_devices = 0;
    bool found;
    svc_status rc = SVC_OK;
    unsigned bit;

    if ((rc = check_device_fields(e, serial, firmware)) != SVC_OK) {
        return rc;
    }
    SVC_TRY_DB(db_apps_lock_account(c, account_id), NULL);
    SVC_TRY_DB(db_app_kind(c, account_id, app_id, kind, sizeof kind, &found), NULL);
    if (!found) {
        return svc_fail(e, SVC_NOT_FOUND, "not_found", NULL, "no such app");
    }
    bit = svc_app_kind_bit(kind);
    if ((rc = check_model(e, model, bit)) != SVC_OK) {
        return rc;
    }
    SVC_TRY_DB(db_device_count(c, account_id, app_id, &n_devices), NULL);
    if (bit == SVC_APP_DIRECT) {
        /* The app is the logger itself: one instrument, not a P12 count. */
        if (n_devices >= 1) {
            return svc_fail(e, SVC_CONFLICT, "app_full", NULL,
                           "an LR8450 direct app is exactly one instrument");
        }
    } else if ((rc = svc_quota_check(e, plan, MT_Q_INSTRUMENTS_PER_APP, n_devices + 1)) !=
               SVC_OK) {
        return rc;
    }
    SVC_TRY_DB(db_device_insert(c, account_id, app_id, model, serial, firmware ? firmware : "",
                            name ? name : "", id),
           "this app already has a device with this model and serial number");
out:
    return rc;
}

svc_status svc_device_create(db_pool *pool, const svc_actor *a, long long app_id, const char *model,
                          const char *serial, const char *firmware, const char *name,
                          long long *id, svc_error *e)
{
    audit_who who = svc_who(a);
    db_conn *c = NULL;
    svc_status rc;
    if ((rc = svc_tx_begin(pool, &c, e)) != SVC_OK) {
        goto out;
    }
    rc = svc_device_create_in(c, a->account_id, a->plan, app_id, model, serial, firmware, name,
                              id, e);
    if (rc == SVC_OK) {
        SVC_TRY_DB(audit_write_kv(c, &who, "device.create", "device", *id, "model", model), NULL);
    }
out:
    return svc_tx_end(pool, c, rc, e,
                  "this app already has a device with this model and serial number");
}

svc_status svc_device_update(db_pool *pool, const svc_actor *a, long long device_id,
                          const char *model, const char *serial, const char *firmware,
                          const char *name, svc_error *e)
{
    audit_who who = svc_who(a);
    db_conn *c = NULL;
    db_device d;
    bool found = false;
    svc_status rc;
    static const char dup[] = "this app already has a device with this model and serial number";

    memset(&d, 0, sizeof d);
    if ((rc = check_device_fields(e, serial, firmware)) != SVC_OK) {
        return rc;
    }
    if ((rc = svc_tx_begin(pool, &c, e)) != SVC_OK) {
        goto out;
    }
    SVC_TRY_DB(db_device_get(c, a->account_id, 0, device_id, &d, &found), NULL);
    if (!found) {
        rc = svc_fail(e, SVC_NOT_FOUND, "not_found", NULL, "no such device");
        goto out;
    }
    if (model != NULL && (rc = check_model(e, model, svc_app_kind_bit(d.app_kind))) != SVC_OK) {
        goto out;
    }
    SVC_TRY_DB(db_device_update(c, a->account_id, device_id, model ? model : d.model,
                            serial ? serial : d.serial, firmware ? firmware : d.firmware,
                            name ? name : d.name, &found),
           dup);
    SVC_TRY_DB(audit_write_kv(c, &who, "device.update", "device", device_id, "model", model), NULL);
out:
    db_device_clear(&d);
    return svc_tx_end(pool, c, rc, e, dup);
}

svc_status svc_device_delete(db_pool *pool, const svc_actor *a, long long device_id, svc_error *e)
{
    return svc_delete_one(pool, a, db_device_delete, device_id, "device", "device", e);
}

/* -------------------------------------------------------------- channels */

bool svc_channel_key_valid(const char *key)
{
    size_t n = 0;
    for (; *key != '\0'; key++, n++) {
        if (!isalnum((unsigned char)*key) && *key != '_' && *key != '.' && *key != '-') {
            return false;
        }
    }
    return n >= 1 && n <= 32;
}

svc_status svc_channel_create(db_pool *pool, const svc_actor *a, long long device_id,
                           const char *key, const char *name, const char *unit, int decimals,
                           long long *id, svc_error *e)
{
    audit_who who = svc_who(a);
    db_conn *c = NULL;
    db_device d;
    bool found = false;
    svc_status rc;
    static const char dup[] = "this device already has a channel with this key";

    memset(&d, 0, sizeof d);
    if (!svc_channel_key_valid(key)) {
        return svc_fail(e, SVC_INVALID, "invalid_value", "key",
                       "key must be 1 to 32 letters, digits, '_', '.' or '-'");
    }
    if ((rc = svc_tx_begin(pool, &c, e)) != SVC_OK) {
        goto out;
    }
    SVC_TRY_DB(db_device_get(c, a->account_id, 0, device_id, &d, &found), NULL);
    if (!found) {
        rc = svc_fail(e, SVC_NOT_FOUND, "not_found", NULL, "no such device");
        goto out;
    }
    SVC_TRY_DB(db_channel_insert(c, a->account_id, device_id, key, name, unit ? unit : "", decimals,
                                 id),
               dup);
    SVC_TRY_DB(audit_write_kv(c, &who, "channel.create", "channel", *id, "key", key), NULL);
out:
    db_device_clear(&d);
    return svc_tx_end(pool, c, rc, e, dup);
}

svc_status svc_channel_update(db_pool *pool, const svc_actor *a, long long channel_id,
                           const char *name, const char *unit, bool set_decimals, int decimals,
                           svc_error *e)
{
    audit_who who = svc_who(a);
    db_conn *c = NULL;
    bool found;
    svc_status rc;
    if ((rc = svc_tx_begin(pool, &c, e)) != SVC_OK) {
        goto out;
    }
    SVC_TRY_DB(db_channel_update(c, a->account_id, channel_id, name, unit, set_decimals, decimals,
                                 &found),
               NULL);
    if (!found) {
        rc = svc_fail(e, SVC_NOT_FOUND, "not_found", NULL, "no such channel");
        goto out;
    }
    SVC_TRY_DB(audit_write_kv(c, &who, "channel.update", "channel", channel_id, "name", name), NULL);
out:
    return svc_tx_end(pool, c, rc, e, NULL);
}

svc_status svc_channel_delete(db_pool *pool, const svc_actor *a, long long channel_id, svc_error *e)
{
    return svc_delete_one(pool, a, db_channel_delete, channel_id, "channel", "channel", e);
}

svc_status svc_selection_set(db_pool *pool, const svc_actor *a, long long device_id,
                          const long long *ids, int n, svc_error *e)
{
    audit_who who = svc_who(a);
    db_conn *c = NULL;
    db_device d;
    bool found = false;
    char count[24];
    int64_t *sorted = NULL;
    long long on_device = 0, added = 0;
    svc_status rc = SVC_OK;

    memset(&d, 0, sizeof d);
    if (n < 0 || n > SVC_SELECTION_MAX) {
        return svc_fail(e, SVC_INVALID, "too_long", "channel_ids",
                       "at most %d channel ids", SVC_SELECTION_MAX);
    }
    sorted = malloc(sizeof *sorted * (size_t)(n > 0 ? n : 1));
    if (sorted == NULL) {
        rc = svc_fail(e, SVC_DB, NULL, NULL, "out of memory");
        goto out;
    }
    for (int i = 0; i < n; i++) {
        sorted[i] = (int64_t)ids[i];
    }
    qsort(sorted, (size_t)n, sizeof *sorted, cmp_i64);
    for (int i = 1; i < n; i++) {
        if (sorted[i] == sorted[i - 1]) {
            rc = svc_fail(e, SVC_INVALID, "invalid_value", "channel_ids",
                          "channel %lld is listed twice", (long long)sorted[i]);
            goto out;
        }
    }

    if ((rc = svc_tx_begin(pool, &c, e)) != SVC_OK) {
        goto out;
    }
    SVC_TRY_DB(db_apps_lock_account(c, a->account_id), NULL);
    SVC_TRY_DB(db_device_get(c, a->account_id, 0, device_id, &d, &found), NULL);
    if (!found) {
        rc = svc_fail(e, SVC_NOT_FOUND, "not_found", NULL, "no such device");
        goto out;
    }
    SVC_TRY_DB(db_selection_inspect(c, a->account_id, device_id, sorted, (size_t)n, &on_device,
                                     &added),
               NULL);
    if (on_device != n) {
        rc = svc_fail(e, SVC_NOT_FOUND, "not_found", "channel_ids",
                     "%lld of the channel ids are not channels of this device",
                     (long long)n - on_device);
        goto out;
    }
    if (added > 0) {
        mt_quota q = svc_app_kind_bit(d.app_kind) == SVC_APP_DIRECT ? MT_Q_CHANNELS_LR8450
                                                                    : MT_Q_CHANNELS_ONE;
        if ((rc = svc_quota_check(e, a->plan, q, n)) != SVC_OK) {
            goto out;
        }
    }
    SVC_TRY_DB(db_selection_apply(c, a->account_id, device_id, sorted, (size_t)n), NULL);
    snprintf(count, sizeof count, "%d", n);
    SVC_TRY_DB(audit_write_kv(c, &who, "channel.select", "device", device_id, "selected", count),
           NULL);
out:
    db_device_clear(&d);
    free(sorted);
    return svc_tx_end(pool, c, rc, e, NULL);
}
