/* Parsers of the server's replies (see reply.h). */
#include "reply.h"
#include "errtext.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A positive integer id (a JSON number with no fraction, 1..2^53). */
static bool get_id(const cJSON *o, const char *name, int64_t *out)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, name);
    double d;
    if (!cJSON_IsNumber(m)) {
        return false;
    }
    d = m->valuedouble;
    if (!(d >= 1 && d <= 9007199254740992.0) || d != floor(d)) {
        return false;
    }
    *out = (int64_t)d;
    return true;
}

/* A string member copied into "out" when it fits ("" when absent or null). */
static bool get_str(const cJSON *o, const char *name, char *out, size_t cap, bool need)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, name);
    out[0] = '\0';
    if (m == NULL || cJSON_IsNull(m)) {
        return !need;
    }
    if (!cJSON_IsString(m) || strlen(m->valuestring) >= cap) {
        return false;
    }
    memcpy(out, m->valuestring, strlen(m->valuestring) + 1);
    return true;
}

static int cmp_key(const void *a, const void *b)
{
    return strcmp(((const gw_tchannel *)a)->key, ((const gw_tchannel *)b)->key);
}

void gw_table_clear(gw_table *t)
{
    if (t == NULL) {
        return;
    }
    for (size_t i = 0; i < t->n_dev; i++) {
        free(t->dev[i].ch);
    }
    free(t->dev);
    memset(t, 0, sizeof *t);
}

static int parse_device(const cJSON *d, size_t i, gw_table *t, char *err, size_t cap)
{
    gw_tdevice *dev = &t->dev[i];
    const cJSON *chs = cJSON_GetObjectItemCaseSensitive(d, "channels"), *c;
    int n;
    size_t j = 0;
    if (!cJSON_IsObject(d) || !get_id(d, "id", &dev->id) ||
        !get_str(d, "model", dev->model, sizeof dev->model, true) ||
        !get_str(d, "serial", dev->serial, sizeof dev->serial, false) ||
        !get_str(d, "firmware", dev->firmware, sizeof dev->firmware, false)) {
        return errtext_fail(err, cap, "devices[%zu]: expected {id, model, serial, channels}", i);
    }
    n = cJSON_GetArraySize(chs);
    if (!cJSON_IsArray(chs) || (size_t)n > GW_TABLE_CHANNELS_MAX - t->n_ch) {
        return errtext_fail(err, cap,
                            "devices[%zu].channels: expected an array (at most %d channels "
                            "in all)",
                            i, GW_TABLE_CHANNELS_MAX);
    }
    dev->ch = calloc(n > 0 ? (size_t)n : 1, sizeof *dev->ch);
    if (dev->ch == NULL) {
        return errtext_fail(err, cap, "out of memory");
    }
    cJSON_ArrayForEach(c, chs) {
        gw_tchannel *ch = &dev->ch[j];
        const cJSON *sel = cJSON_GetObjectItemCaseSensitive(c, "selected");
        if (!cJSON_IsObject(c) || !get_id(c, "id", &ch->id) ||
            !get_str(c, "key", ch->key, sizeof ch->key, true) ||
            !get_str(c, "name", ch->name, sizeof ch->name, false) ||
            !get_str(c, "unit", ch->unit, sizeof ch->unit, false) || !cJSON_IsBool(sel)) {
            return errtext_fail(err, cap,
                                "devices[%zu].channels[%zu]: expected {id, key, name, unit, "
                                "selected}",
                                i, j);
        }
        ch->selected = cJSON_IsTrue(sel);
        j++;
    }
    dev->n_ch = j;
    t->n_ch += j;
    qsort(dev->ch, dev->n_ch, sizeof *dev->ch, cmp_key);
    return 0;
}

int gw_table_parse(const char *text, size_t len, gw_table *t, char *err, size_t cap)
{
    cJSON *root;
    const cJSON *devs, *d, *lu;
    int n, rc = -1;
    size_t i = 0;
    if (len > GW_REPLY_MAX) {
        return errtext_fail(err, cap, "the reply is larger than %u bytes", GW_REPLY_MAX);
    }
    root = cJSON_ParseWithLength(text, len);
    if (root == NULL || !cJSON_IsObject(root)) {
        errtext_fail(err, cap, "the channel table is not a JSON object");
        goto out;
    }
    if (!get_id(root, "app_id", &t->app_id)) {
        errtext_fail(err, cap, "app_id: expected a positive integer");
        goto out;
    }
    if (!get_str(root, "kind", t->kind, sizeof t->kind, false)) {
        errtext_fail(err, cap, "kind: expected an app kind");
        goto out;
    }
    lu = cJSON_GetObjectItemCaseSensitive(root, "live_until");
    if (lu != NULL && !cJSON_IsNull(lu)) {
        if (!cJSON_IsNumber(lu) || !(lu->valuedouble >= 0 && lu->valuedouble < 9.2e18)) {
            errtext_fail(err, cap, "live_until: expected a time in µs or null");
            goto out;
        }
        t->live_until = (int64_t)lu->valuedouble;
    }
    devs = cJSON_GetObjectItemCaseSensitive(root, "devices");
    n = cJSON_GetArraySize(devs);
    if (!cJSON_IsArray(devs) || n > GW_INSTRUMENTS_MAX) {
        errtext_fail(err, cap, "devices: expected an array of at most %d devices",
                     GW_INSTRUMENTS_MAX);
        goto out;
    }
    t->dev = calloc(n > 0 ? (size_t)n : 1, sizeof *t->dev);
    if (t->dev == NULL) {
        errtext_fail(err, cap, "out of memory");
        goto out;
    }
    cJSON_ArrayForEach(d, devs) {
        t->n_dev = i + 1; /* so that gw_table_clear() frees a half-parsed one */
        if (parse_device(d, i, t, err, cap) != 0) {
            goto out;
        }
        i++;
    }
    rc = 0;
out:
    cJSON_Delete(root);
    return rc;
}

const gw_tdevice *gw_table_device(const gw_table *t, const char *model, const char *serial)
{
    for (size_t i = 0; i < t->n_dev; i++) {
        if (strcmp(t->dev[i].model, model) == 0 && strcmp(t->dev[i].serial, serial) == 0) {
            return &t->dev[i];
        }
    }
    return NULL;
}

const gw_tchannel *gw_table_channel(const gw_tdevice *d, const char *key)
{
    size_t lo = 0, hi = d->n_ch;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(d->ch[mid].key, key);
        if (c == 0) {
            return &d->ch[mid];
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return NULL;
}

/* Copy "s" into "out" replacing control characters (server text goes into
 * the gateway's log lines). */
static void copy_clean(char *out, size_t cap, const char *s)
{
    size_t n = 0;
    for (; s != NULL && *s != '\0' && n + 1 < cap; s++) {
        out[n++] = (unsigned char)*s < 0x20 || *s == 0x7F ? ' ' : *s;
    }
    out[n] = '\0';
}

void gw_error_parse(const char *text, size_t len, char *code, size_t code_cap, char *msg,
                    size_t msg_cap)
{
    cJSON *root = len <= GW_REPLY_MAX ? cJSON_ParseWithLength(text, len) : NULL;
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(root, "code");
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "message");
    code[0] = msg[0] = '\0';
    if (cJSON_IsString(c)) {
        copy_clean(code, code_cap, c->valuestring);
    }
    if (cJSON_IsString(m)) {
        copy_clean(msg, msg_cap, m->valuestring);
    }
    cJSON_Delete(root);
}

int gw_requests_parse(const char *text, size_t len, gw_request *out, size_t cap, size_t *n,
                      int64_t *live_until, char *err, size_t err_cap)
{
    cJSON *root;
    const cJSON *arr, *r, *lu;
    int rc = -1;
    size_t i = 0;
    *n = 0;
    *live_until = 0;
    if (len > GW_REPLY_MAX) {
        return errtext_fail(err, err_cap, "the reply is larger than %u bytes", GW_REPLY_MAX);
    }
    root = cJSON_ParseWithLength(text, len);
    arr = cJSON_GetObjectItemCaseSensitive(root, "requests");
    if (!cJSON_IsArray(arr)) {
        errtext_fail(err, err_cap, "expected {\"requests\": [...]}");
        goto out;
    }
    lu = cJSON_GetObjectItemCaseSensitive(root, "live_until");
    if (lu != NULL && !cJSON_IsNull(lu)) {
        if (!cJSON_IsNumber(lu) || !(lu->valuedouble >= 0 && lu->valuedouble < 9.2e18)) {
            errtext_fail(err, err_cap, "live_until: expected a time in µs or null");
            goto out;
        }
        *live_until = (int64_t)lu->valuedouble;
    }
    cJSON_ArrayForEach(r, arr) {
        gw_request q;
        char kind[24];
        memset(&q, 0, sizeof q);
        if (i >= cap || i >= GW_REQUESTS_MAX) {
            break; /* the rest come with the next poll */
        }
        if (!cJSON_IsObject(r) || !get_id(r, "id", &q.id) ||
            !get_str(r, "kind", kind, sizeof kind, true)) {
            errtext_fail(err, err_cap, "requests[%zu]: expected {id, kind}", i);
            goto out;
        }
        if (strcmp(kind, "self_check") == 0) {
            q.kind = GW_REQ_SELF_CHECK;
        } else if (strcmp(kind, "firmware_upgrade") == 0) {
            q.kind = GW_REQ_FIRMWARE;
            if (!get_id(r, "device_id", &q.device_id) ||
                !get_str(r, "firmware", q.firmware, sizeof q.firmware, true) ||
                q.firmware[0] == '\0') {
                errtext_fail(err, err_cap,
                             "requests[%zu]: a firmware upgrade names device_id and "
                             "firmware",
                             i);
                goto out;
            }
        } else {
            continue; /* a kind of a newer server */
        }
        out[i++] = q;
    }
    *n = i;
    rc = 0;
out:
    cJSON_Delete(root);
    return rc;
}

int gw_cert_parse(const char *text, size_t len, gw_cert_reply *out, char *err, size_t err_cap)
{
    cJSON *root;
    const cJSON *mq;
    const char *h, *colon;
    char *end = NULL;
    long port;
    int rc = -1;
    memset(out, 0, sizeof *out);
    if (len > GW_REPLY_MAX) {
        return errtext_fail(err, err_cap, "the reply is larger than %u bytes", GW_REPLY_MAX);
    }
    root = cJSON_ParseWithLength(text, len);
    mq = cJSON_GetObjectItemCaseSensitive(root, "mqtt");
    if (!cJSON_IsObject(root) || !get_id(root, "app_id", &out->app_id) ||
        !get_str(root, "serial", out->serial, sizeof out->serial, true) ||
        !get_str(root, "certificate", out->cert_pem, sizeof out->cert_pem, true) ||
        !get_str(root, "ca", out->ca_pem, sizeof out->ca_pem, true) || !cJSON_IsObject(mq) ||
        !get_str(mq, "url", out->url, sizeof out->url, true)) {
        errtext_fail(err, err_cap, "expected {app_id, serial, certificate, ca, mqtt: {url}}");
        goto out;
    }
    if (strstr(out->cert_pem, "-----BEGIN CERTIFICATE-----") == NULL ||
        strstr(out->ca_pem, "-----BEGIN CERTIFICATE-----") == NULL) {
        errtext_fail(err, err_cap, "certificate and ca must be PEM certificates");
        goto out;
    }
    if (strncmp(out->url, "mqtts://", 8) != 0 || (colon = strrchr(out->url + 8, ':')) == NULL) {
        errtext_fail(err, err_cap, "mqtt.url: expected mqtts://host:port");
        goto out;
    }
    h = out->url + 8;
    if (colon == h || (size_t)(colon - h) >= sizeof out->host ||
        strspn(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") !=
            (size_t)(colon - h)) {
        errtext_fail(err, err_cap, "mqtt.url: the host is not a host name or address");
        goto out;
    }
    port = strtol(colon + 1, &end, 10);
    if (end == colon + 1 || *end != '\0' || port < 1 || port > 65535) {
        errtext_fail(err, err_cap, "mqtt.url: the port is not 1 to 65535");
        goto out;
    }
    memcpy(out->host, h, (size_t)(colon - h));
    out->host[colon - h] = '\0';
    out->port = (int)port;
    rc = 0;
out:
    cJSON_Delete(root);
    return rc;
}

int gw_mqtt_reply_parse(const char *text, size_t len, gw_mqtt_reply *out, char *err,
                        size_t err_cap)
{
    cJSON *root;
    const cJSON *ok, *dup, *retry;
    int rc = -1;
    memset(out, 0, sizeof *out);
    if (len > 65536) {
        return errtext_fail(err, err_cap, "a reply is at most 64 KiB");
    }
    root = cJSON_ParseWithLength(text, len);
    ok = cJSON_GetObjectItemCaseSensitive(root, "ok");
    dup = cJSON_GetObjectItemCaseSensitive(root, "duplicate");
    retry = cJSON_GetObjectItemCaseSensitive(root, "retry");
    if (!cJSON_IsObject(root) || !cJSON_IsBool(ok) ||
        !get_str(root, "batch_id", out->batch_id, sizeof out->batch_id, false)) {
        errtext_fail(err, err_cap, "expected {batch_id, ok, ...}");
        goto out;
    }
    out->ok = cJSON_IsTrue(ok);
    out->duplicate = cJSON_IsTrue(dup);
    out->retry = cJSON_IsTrue(retry);
    {
        /* Whole seconds, bounded by the caller (GW_RETRY_AFTER_MAX_S);
         * anything else is no advice. */
        const cJSON *ra = cJSON_GetObjectItemCaseSensitive(root, "retry_after");
        if (out->retry && cJSON_IsNumber(ra) && ra->valuedouble >= 1 &&
            ra->valuedouble <= 1e9) {
            out->retry_after_s = (int64_t)ra->valuedouble;
        }
    }
    {
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(root, "code");
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "message");
        if (cJSON_IsString(c)) {
            copy_clean(out->code, sizeof out->code, c->valuestring);
        }
        if (cJSON_IsString(m)) {
            copy_clean(out->message, sizeof out->message, m->valuestring);
        }
    }
    rc = 0;
out:
    cJSON_Delete(root);
    return rc;
}
