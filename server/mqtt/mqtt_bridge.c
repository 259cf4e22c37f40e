/* The MQTT bridge (see mqtt_bridge.h). */
#define _POSIX_C_SOURCE 200809L
#include "mqtt_bridge.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ingest_parse.h"
#include "auth.h"
#include "isotime.h"
#include "json_guard.h"
#include "log.h"
#include "maintenance.h"
#include "mqtt_console.h"
#include "svc_ingest.h"
#include "svc_live.h"
#include "svc_mqtt.h"

#define SHARED_SUB "$share/metron/metron/v1/app/+/up/#"
/* The console's screens (C1, docs/console.md): every process subscribes
 * itself, with this subscription identifier, so that the process holding a
 * person's console stream gets them; the copy the shared subscription
 * brings one process is told apart by the missing identifier and dropped. */
#define CONSOLE_SUB "metron/v1/app/+/up/console"
#define CONSOLE_SUB_ID 7
#define CONTROL_TOPIC "$CONTROL/metron/v1"
#define REVOKE_PAGE 200

static struct {
    srv *s;
    struct mosquitto *mosq;
    SSL_CTX *ctx;
    pthread_t sync_thread, net_thread;
    bool sync_started, net_started;
    atomic_bool stop;
    atomic_bool connected;
    atomic_llong revoked_after; /* the last revocation told to the broker */
    atomic_llong messages;
    pthread_mutex_t mu;
    pthread_cond_t cv;
} B = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

bool mqtt_bridge_connected(void)
{
    return atomic_load(&B.connected);
}

long long mqtt_bridge_messages(void)
{
    return atomic_load(&B.messages);
}

int mqtt_topic_parse(const char *topic, long long *app_id, char *kind, size_t cap)
{
    static const char prefix[] = "metron/v1/app/";
    const char *p = topic;
    long long id = 0;
    int digits = 0;
    size_t n;
    if (strncmp(p, prefix, sizeof prefix - 1) != 0) {
        return -1;
    }
    p += sizeof prefix - 1;
    while (*p >= '0' && *p <= '9' && digits < 18) {
        id = id * 10 + (*p++ - '0');
        digits++;
    }
    if (digits == 0 || id <= 0 || strncmp(p, "/up/", 4) != 0) {
        return -1;
    }
    p += 4;
    n = strlen(p);
    if (n == 0 || n >= cap || strchr(p, '/') != NULL) {
        return -1;
    }
    memcpy(kind, p, n + 1);
    *app_id = id;
    return 0;
}

/* ------------------------------------------------------------------ TLS */

/* An SSL_CTX with this server's certificate and key (in memory, never on
 * disk) that trusts only Metron's CA and checks the broker's name. */
static SSL_CTX *make_ctx(const char *ca_pem, const char *cert_pem, const char *key_pem,
                         const char *host)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    BIO *b1 = BIO_new_mem_buf(ca_pem, -1), *b2 = BIO_new_mem_buf(cert_pem, -1),
        *b3 = BIO_new_mem_buf(key_pem, -1);
    X509 *ca = b1 ? PEM_read_bio_X509(b1, NULL, NULL, NULL) : NULL;
    X509 *cert = b2 ? PEM_read_bio_X509(b2, NULL, NULL, NULL) : NULL;
    EVP_PKEY *key = b3 ? PEM_read_bio_PrivateKey(b3, NULL, NULL, NULL) : NULL;
    bool ok = ctx != NULL && ca != NULL && cert != NULL && key != NULL &&
              SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) == 1 &&
              X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), ca) == 1 &&
              SSL_CTX_use_certificate(ctx, cert) == 1 && SSL_CTX_use_PrivateKey(ctx, key) == 1 &&
              SSL_CTX_check_private_key(ctx) == 1 &&
              /* An address is checked as one (its certificate's IP names). */
              (X509_VERIFY_PARAM_set1_ip_asc(SSL_CTX_get0_param(ctx), host) == 1 ||
               X509_VERIFY_PARAM_set1_host(SSL_CTX_get0_param(ctx), host, 0) == 1);
    if (ok) {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    } else {
        SSL_CTX_free(ctx);
        ctx = NULL;
    }
    X509_free(ca);
    X509_free(cert);
    EVP_PKEY_free(key);
    BIO_free(b1);
    BIO_free(b2);
    BIO_free(b3);
    return ctx;
}

/* -------------------------------------------------------------- messages */

/* Publish "obj" (taken) as the reply to a message with correlation data
 * "corr" ("corr_len" bytes, may be NULL) on the app's reply topic. */
static void reply(struct mosquitto *m, long long app_id, cJSON *obj, const void *corr,
                  uint16_t corr_len)
{
    char topic[80], *text = obj != NULL ? cJSON_PrintUnformatted(obj) : NULL;
    mosquitto_property *props = NULL;
    cJSON_Delete(obj);
    if (text == NULL) {
        return;
    }
    snprintf(topic, sizeof topic, "metron/v1/app/%lld/down/reply", app_id);
    if (corr != NULL && corr_len > 0) {
        mosquitto_property_add_binary(&props, MQTT_PROP_CORRELATION_DATA, corr, corr_len);
    }
    mosquitto_property_add_string(&props, MQTT_PROP_CONTENT_TYPE, "application/json");
    mosquitto_publish_v5(m, NULL, topic, (int)strlen(text), text, 1, false, props);
    mosquitto_property_free_all(&props);
    free(text);
}

/* Whether a refusal is worth the same batch again later (the database or
 * the server was away), as the HTTPS route's 503. */
static bool transient(svc_status st)
{
    return st == SVC_DB || st == SVC_NOMEM || st == SVC_UNAVAILABLE || st == SVC_INTERNAL;
}

static cJSON *refusal(const char *batch_id, const svc_error *e)
{
    cJSON *o = cJSON_CreateObject();
    if (o != NULL) {
        cJSON_AddStringToObject(o, "batch_id", batch_id);
        cJSON_AddBoolToObject(o, "ok", false);
        cJSON_AddStringToObject(o, "code", e->code != NULL ? e->code : svc_status_code(e->status));
        cJSON_AddStringToObject(o, "message", e->message);
        if (e->field != NULL && e->field[0] != '\0') {
            cJSON_AddStringToObject(o, "field", e->field);
        }
        cJSON_AddBoolToObject(o, "retry", transient(e->status));
    }
    return o;
}

/* O1: during a maintenance window a batch is refused as the HTTPS route
 * refuses it (503 maintenance, Retry-After): {"ok": false, "retry": true,
 * "code": "maintenance", "retry_after": seconds left}, without touching
 * the database (which the operator may have stopped); the gateway keeps
 * it and sends nothing until then (docs/mqtt.md). */
static bool in_maintenance(long long *retry_after, char *msg, size_t cap)
{
    int64_t now = auth_now(), ends_at = 0;
    char end_text[ISO_TIME_LEN + 8];
    if (!maint_active(now, &ends_at)) {
        return false;
    }
    if (iso_time_format(ends_at, end_text, sizeof end_text) != 0) {
        snprintf(end_text, sizeof end_text, "its end");
    }
    *retry_after = ends_at - now > 0 ? (long long)(ends_at - now) : 1;
    snprintf(msg, cap,
             "the service is in a scheduled maintenance window until %s: try again then",
             end_text);
    return true;
}

static void on_batch(struct mosquitto *m, long long app_id, const struct mosquitto_message *msg,
                     const mosquitto_property *props)
{
    void *corr = NULL;
    uint16_t corr_len = 0;
    char *ctype = NULL, batch_id[INGEST_BATCH_ID_MAX + 1] = "";
    ingest_sender who = {.credential = NULL, .app_id = app_id};
    ingest_body_kind kind = INGEST_BODY_JSON;
    ingest_result r;
    svc_error e;

    svc_error_clear(&e);
    mosquitto_property_read_binary(props, MQTT_PROP_CORRELATION_DATA, &corr, &corr_len, false);
    mosquitto_property_read_string(props, MQTT_PROP_CONTENT_TYPE, &ctype, false);
    if (corr != NULL && corr_len > 0 && corr_len <= INGEST_BATCH_ID_MAX) {
        memcpy(batch_id, corr, corr_len);
        batch_id[corr_len] = '\0';
        if (!ingest_batch_id_valid(batch_id)) {
            batch_id[0] = '\0';
        }
    }
    {
        long long retry_after;
        char why[160];
        if (in_maintenance(&retry_after, why, sizeof why)) {
            cJSON *o = cJSON_CreateObject();
            if (o != NULL) {
                cJSON_AddStringToObject(o, "batch_id", batch_id);
                cJSON_AddBoolToObject(o, "ok", false);
                cJSON_AddStringToObject(o, "code", "maintenance");
                cJSON_AddStringToObject(o, "message", why);
                cJSON_AddBoolToObject(o, "retry", true);
                cJSON_AddNumberToObject(o, "retry_after", (double)retry_after);
            }
            reply(m, app_id, o, corr, corr_len);
            goto out;
        }
    }
    if (ctype != NULL && strcmp(ctype, "application/vnd.metron.hok") == 0) {
        kind = INGEST_BODY_HOK;
    } else if (ctype != NULL && strcmp(ctype, "application/json") != 0) {
        svc_fail(&e, SVC_INVALID, "unsupported_media_type", NULL,
                 "send the batch as application/json or application/vnd.metron.hok");
        goto refuse;
    }
    if (msg->payloadlen <= 0) {
        svc_fail(&e, SVC_INVALID, "empty_batch", NULL, "the message is empty");
        goto refuse;
    }
    if ((size_t)msg->payloadlen > B.s->cfg.max_raw_body) {
        svc_fail(&e, SVC_TOO_LARGE, "body_too_large", NULL, "a batch holds at most %zu bytes",
                 B.s->cfg.max_raw_body);
        goto refuse;
    }
    /* The payload is our copy, NUL-terminated at its end as the parsers
     * want it (on_message()). The service reads a JSON batch as the HTTPS
     * route's does: a one-pass reader bounded by the text, and the tree
     * parser only after json_guard() (malformed_json, with the byte); a
     * guard here too read every batch twice. */
    if (svc_ingest_batch_as(B.s, &who, kind, (const unsigned char *)msg->payload,
                            (size_t)msg->payloadlen, batch_id[0] ? batch_id : NULL, NULL, &r,
                            &e) != SVC_OK) {
        goto refuse;
    }
    {
        cJSON *o = cJSON_CreateObject();
        if (o != NULL) {
            cJSON_AddStringToObject(o, "batch_id", batch_id);
            cJSON_AddBoolToObject(o, "ok", true);
            cJSON_AddBoolToObject(o, "duplicate", r.duplicate);
            cJSON_AddNumberToObject(o, "samples", (double)r.n_samples);
            cJSON_AddNumberToObject(o, "stored", (double)r.stored);
            cJSON_AddNumberToObject(o, "channels", (double)r.n_channels);
        }
        reply(m, app_id, o, corr, corr_len);
    }
    goto out;
refuse:
    reply(m, app_id, refusal(batch_id, &e), corr, corr_len);
out:
    free(corr);
    free(ctype);
}

static void on_status(long long app_id, const struct mosquitto_message *msg)
{
    static const char *const states[] = {"connect", "disconnect", "heartbeat"};
    ingest_sender who = {.credential = NULL, .app_id = app_id};
    ingest_result r;
    svc_error e;
    cJSON *o = NULL;
    const cJSON *st;
    if (msg->payloadlen <= 0 || msg->payloadlen > 256) {
        return;
    }
    o = cJSON_ParseWithLength(msg->payload, (size_t)msg->payloadlen);
    st = cJSON_GetObjectItemCaseSensitive(o, "state");
    for (size_t i = 0; cJSON_IsString(st) && i < 3; i++) {
        if (strcmp(st->valuestring, states[i]) == 0) {
            if (svc_ingest_status_as(B.s, &who, states[i], NULL, &r, &e) != SVC_OK) {
                log_warn("mqtt: status of app %lld: %s", app_id, e.message);
            }
            break;
        }
    }
    cJSON_Delete(o);
}

static void on_live(long long app_id, const struct mosquitto_message *msg)
{
    ingest_sender who = {.credential = NULL, .app_id = app_id};
    long long account_id, until;
    size_t samples, at = 0;
    svc_error e;
    char *body;
    if (msg->payloadlen <= 0 || (size_t)msg->payloadlen > B.s->cfg.max_body) {
        return;
    }
    body = malloc((size_t)msg->payloadlen + 1);
    if (body == NULL) {
        return;
    }
    memcpy(body, msg->payload, (size_t)msg->payloadlen);
    body[msg->payloadlen] = '\0';
    if (json_guard(body, (size_t)msg->payloadlen, JSON_MAX_DEPTH, &at) == JSON_GUARD_OK) {
        /* Display only: a refusal of the sender's batch (high-speed mode just
         * ended, a bad value) is not answered; a failure of the server is logged. */
        svc_status st = svc_live_ingest_as(B.s, &who, body, (size_t)msg->payloadlen,
                                           &account_id, &samples, &until, &e);
        if (st == SVC_NOMEM || st == SVC_UNAVAILABLE || st == SVC_DB || st == SVC_INTERNAL) {
            log_warn("mqtt: live samples of app %lld: %s", app_id, e.message);
        }
    }
    free(body);
}

/* Messages are handled by WORKERS threads, so that one server process
 * stores several batches at once (the network thread only queues them):
 * batches are independent (idempotent ids), so their order does not
 * matter. A full queue makes the network thread wait, and the broker's
 * in-flight limit then holds further messages back. */
#define WORKERS 4
#define QUEUE_MAX 256

typedef struct job {
    struct mosquitto_message msg; /* topic and payload: our copies */
    mosquitto_property *props;
    long long app_id;
    char kind[16];
    struct job *next;
} job;

static struct {
    pthread_mutex_t mu;
    pthread_cond_t ready, space;
    job *head, *tail;
    int n;
    pthread_t thread[WORKERS];
    int started;
} Q = {.mu = PTHREAD_MUTEX_INITIALIZER,
       .ready = PTHREAD_COND_INITIALIZER,
       .space = PTHREAD_COND_INITIALIZER};

static void job_free(job *j)
{
    if (j != NULL) {
        free(j->msg.topic);
        free(j->msg.payload);
        mosquitto_property_free_all(&j->props);
        free(j);
    }
}

static void handle(job *j)
{
    int64_t ends_at;
    if (strcmp(j->kind, "batch") == 0) {
        on_batch(B.mosq, j->app_id, &j->msg, j->props);
    } else if (maint_active(auth_now(), &ends_at)) {
        /* A status or live sample during a maintenance window: not
         * answered, the database not touched (the HTTPS routes answer 503
         * maintenance; a gateway stops sending them once a batch is
         * refused with "maintenance"). */
    } else if (strcmp(j->kind, "status") == 0) {
        on_status(j->app_id, &j->msg);
    } else if (strcmp(j->kind, "live") == 0) {
        on_live(j->app_id, &j->msg);
    }
}

static void *worker_main(void *arg)
{
    (void)arg;
    for (;;) {
        job *j;
        pthread_mutex_lock(&Q.mu);
        while (Q.head == NULL && !atomic_load(&B.stop)) {
            pthread_cond_wait(&Q.ready, &Q.mu);
        }
        j = Q.head;
        if (j == NULL) {
            pthread_mutex_unlock(&Q.mu);
            return NULL; /* stopping, nothing left */
        }
        Q.head = j->next;
        if (Q.head == NULL) {
            Q.tail = NULL;
        }
        Q.n--;
        pthread_cond_signal(&Q.space);
        pthread_mutex_unlock(&Q.mu);
        handle(j);
        job_free(j);
    }
}

static void on_message(struct mosquitto *m, void *arg, const struct mosquitto_message *msg,
                       const mosquitto_property *props)
{
    job *j;
    (void)m;
    (void)arg;
    j = calloc(1, sizeof *j);
    if (j == NULL) {
        return; /* no reply: the app sends the batch again */
    }
    if (mqtt_topic_parse(msg->topic, &j->app_id, j->kind, sizeof j->kind) != 0) {
        free(j);
        return; /* the broker's rules let nothing else through */
    }
    if (strcmp(j->kind, "console") == 0) {
        /* Screens are display only, small and bounded: handled here, not
         * queued behind batches; only the copy of our own subscription. */
        const mosquitto_property *p = props;
        uint32_t sub_id = 0;
        bool ours = false;
        for (bool skip = false;
             (p = mosquitto_property_read_varint(p, MQTT_PROP_SUBSCRIPTION_IDENTIFIER, &sub_id,
                                                 skip)) != NULL;
             skip = true) {
            ours |= sub_id == CONSOLE_SUB_ID;
        }
        if (ours && msg->payloadlen > 0) {
            mqtt_console_take(j->app_id, msg->payload, (size_t)msg->payloadlen);
        }
        free(j);
        return;
    }
    atomic_fetch_add(&B.messages, 1);
    j->msg.mid = msg->mid;
    j->msg.qos = msg->qos;
    j->msg.payloadlen = msg->payloadlen;
    j->msg.topic = strdup(msg->topic);
    /* One byte more: the text NUL-terminated for the parsers (on_batch()). */
    j->msg.payload = malloc(msg->payloadlen > 0 ? (size_t)msg->payloadlen + 1 : 1);
    if (j->msg.topic == NULL || j->msg.payload == NULL ||
        (props != NULL && mosquitto_property_copy_all(&j->props, props) != MOSQ_ERR_SUCCESS)) {
        job_free(j);
        return;
    }
    if (msg->payloadlen > 0) {
        memcpy(j->msg.payload, msg->payload, (size_t)msg->payloadlen);
    }
    ((char *)j->msg.payload)[msg->payloadlen > 0 ? msg->payloadlen : 0] = '\0';
    pthread_mutex_lock(&Q.mu);
    while (Q.n >= QUEUE_MAX && !atomic_load(&B.stop)) {
        pthread_cond_wait(&Q.space, &Q.mu);
    }
    if (Q.tail != NULL) {
        Q.tail->next = j;
    } else {
        Q.head = j;
    }
    Q.tail = j;
    Q.n++;
    pthread_cond_signal(&Q.ready);
    pthread_mutex_unlock(&Q.mu);
}

static void on_connect(struct mosquitto *m, void *arg, int rc, int flags,
                       const mosquitto_property *props)
{
    (void)arg;
    (void)flags;
    (void)props;
    if (rc != 0) {
        log_warn("mqtt: the broker refuses this server: %s", mosquitto_reason_string(rc));
        return;
    }
    if (mosquitto_subscribe_v5(m, NULL, SHARED_SUB, 1, 0, NULL) != MOSQ_ERR_SUCCESS) {
        log_warn("mqtt: cannot subscribe to %s", SHARED_SUB);
        return;
    }
    {
        mosquitto_property *sp = NULL;
        mosquitto_property_add_varint(&sp, MQTT_PROP_SUBSCRIPTION_IDENTIFIER, CONSOLE_SUB_ID);
        if (mosquitto_subscribe_v5(m, NULL, CONSOLE_SUB, 0, 0, sp) != MOSQ_ERR_SUCCESS) {
            log_warn("mqtt: cannot subscribe to %s: no console in this process", CONSOLE_SUB);
        }
        mosquitto_property_free_all(&sp);
    }
    atomic_store(&B.connected, true);
    /* A broker that restarted has forgotten the revocations told before:
     * tell them all again (the CRL file holds them too). */
    atomic_store(&B.revoked_after, 0);
    pthread_mutex_lock(&B.mu);
    pthread_cond_signal(&B.cv);
    pthread_mutex_unlock(&B.mu);
    log_info("mqtt: connected to the broker at %s:%d", B.s->cfg.mqtt_host, B.s->cfg.mqtt_port);
}

static void on_disconnect(struct mosquitto *m, void *arg, int rc, const mosquitto_property *p)
{
    (void)m;
    (void)arg;
    (void)p;
    if (atomic_exchange(&B.connected, false) && !atomic_load(&B.stop)) {
        log_warn("mqtt: the broker closed the connection (%s): reconnecting",
                 mosquitto_reason_string(rc));
    }
}

static void on_log(struct mosquitto *m, void *arg, int level, const char *text)
{
    (void)m;
    (void)arg;
    if (level & (MOSQ_LOG_ERR | MOSQ_LOG_WARNING)) {
        log_warn("mqtt: %s", text);
    }
}

int mqtt_console_send(long long app_id, const char *text, size_t len)
{
    char topic[80];
    if (B.mosq == NULL || !atomic_load(&B.connected)) {
        return -1;
    }
    snprintf(topic, sizeof topic, "metron/v1/app/%lld/down/console", app_id);
    return mosquitto_publish_v5(B.mosq, NULL, topic, (int)len, text, 1, false, NULL) ==
                   MOSQ_ERR_SUCCESS
               ? 0
               : -1;
}

/* ----------------------------------------------------------- revocations */

static void tell_revocations(void)
{
    db_mqtt_revoked *rows = calloc(REVOKE_PAGE, sizeof *rows);
    size_t n = 0;
    svc_error e;
    if (rows == NULL) {
        return;
    }
    do {
        long long after = atomic_load(&B.revoked_after);
        cJSON *o, *arr;
        char *text;
        if (svc_mqtt_revocations(B.s, after, rows, REVOKE_PAGE, &n, &e) != SVC_OK) {
            log_warn("mqtt: revocations: %s", e.message);
            break;
        }
        if (n == 0 || !atomic_load(&B.connected)) {
            break;
        }
        o = cJSON_CreateObject();
        arr = o != NULL ? cJSON_AddArrayToObject(o, "revoke") : NULL;
        for (size_t i = 0; arr != NULL && i < n; i++) {
            cJSON *x = cJSON_CreateObject();
            if (x != NULL) {
                cJSON_AddStringToObject(x, "serial", rows[i].serial);
                cJSON_AddStringToObject(x, "identity", rows[i].identity);
                cJSON_AddItemToArray(arr, x);
            }
        }
        text = o != NULL ? cJSON_PrintUnformatted(o) : NULL;
        cJSON_Delete(o);
        if (text == NULL ||
            mosquitto_publish_v5(B.mosq, NULL, CONTROL_TOPIC, (int)strlen(text), text, 1, false,
                                 NULL) != MOSQ_ERR_SUCCESS) {
            free(text);
            break;
        }
        free(text);
        atomic_store(&B.revoked_after, rows[n - 1].id);
    } while (n == REVOKE_PAGE);
    free(rows);
}

static void *sync_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&B.mu);
    while (!atomic_load(&B.stop)) {
        struct timespec ts;
        pthread_mutex_unlock(&B.mu);
        tell_revocations();
        pthread_mutex_lock(&B.mu);
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1; /* revocations reach the broker within a second */
        if (!atomic_load(&B.stop)) {
            pthread_cond_timedwait(&B.cv, &B.mu, &ts);
        }
    }
    pthread_mutex_unlock(&B.mu);
    return NULL;
}

/* Sleep "ms" in steps of 100 ms, ending early when the bridge stops. */
static void nap(int ms)
{
    for (int i = 0; i < ms / 100 && !atomic_load(&B.stop); i++) {
        struct timespec ts = {0, 100000000L};
        nanosleep(&ts, NULL);
    }
}

/* The network: connect (again) while the broker is away, then run the
 * client until the connection drops. Our own loop rather than libmosquitto's
 * loop_forever(), which gives up for good after a failed TLS handshake. */
static void *net_main(void *arg)
{
    bool have = false, first = true, said = false;
    (void)arg;
    while (!atomic_load(&B.stop)) {
        int rc;
        if (!have) {
            rc = first ? mosquitto_connect_bind_v5(B.mosq, B.s->cfg.mqtt_host, B.s->cfg.mqtt_port,
                                                   30, NULL, NULL)
                       : mosquitto_reconnect(B.mosq);
            if (rc != MOSQ_ERR_SUCCESS) {
                if (!said) {
                    log_warn("mqtt: the broker at %s:%d does not answer (%s): retrying",
                             B.s->cfg.mqtt_host, B.s->cfg.mqtt_port,
                             rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
                    said = true;
                }
                nap(1000);
                continue;
            }
            first = false;
            have = true;
            said = false;
        }
        rc = mosquitto_loop(B.mosq, 250, 1);
        if (rc != MOSQ_ERR_SUCCESS) {
            have = false;
            if (atomic_exchange(&B.connected, false) && !atomic_load(&B.stop)) {
                log_warn("mqtt: lost the broker (%s): reconnecting",
                         rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
            }
            nap(300);
        }
    }
    return NULL;
}

/* ----------------------------------------------------------- start, stop */

int mqtt_bridge_start(srv *s, char *err, size_t cap)
{
    const char *ca, *ca_key;
    char *cert = NULL, *key = NULL, id[96], host[64];
    svc_error e;
    int rc = -1;

    if (s->cfg.mqtt_url == NULL) {
        return 0;
    }
    B.s = s;
    atomic_store(&B.stop, false);
    atomic_store(&B.connected, false);
    atomic_store(&B.revoked_after, 0);
    if (svc_mqtt_setup(s, &cert, &key, &e) != SVC_OK ||
        svc_mqtt_ca(s, &ca, &ca_key, &e) != SVC_OK) {
        snprintf(err, cap, "mqtt: %s", e.message);
        goto out;
    }
    B.ctx = make_ctx(ca, cert, key, s->cfg.mqtt_host);
    if (B.ctx == NULL) {
        snprintf(err, cap, "mqtt: the TLS context could not be made");
        goto out;
    }
    mosquitto_lib_init();
    if (gethostname(host, sizeof host) != 0) {
        snprintf(host, sizeof host, "host");
    }
    host[sizeof host - 1] = '\0';
    snprintf(id, sizeof id, "metron-server-%.40s-%ld", host, (long)getpid());
    B.mosq = mosquitto_new(id, true, NULL);
    if (B.mosq == NULL) {
        snprintf(err, cap, "mqtt: out of memory");
        goto out;
    }
    mosquitto_int_option(B.mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
    mosquitto_void_option(B.mosq, MOSQ_OPT_SSL_CTX, B.ctx);
    mosquitto_int_option(B.mosq, MOSQ_OPT_SSL_CTX_WITH_DEFAULTS, 0);
    /* Replies are small: without this Nagle's algorithm holds each one
     * back until the broker acknowledges the last (tens of ms). */
    mosquitto_int_option(B.mosq, MOSQ_OPT_TCP_NODELAY, 1);
    mosquitto_reconnect_delay_set(B.mosq, 1, 5, false);
    mosquitto_connect_v5_callback_set(B.mosq, on_connect);
    mosquitto_disconnect_v5_callback_set(B.mosq, on_disconnect);
    mosquitto_message_v5_callback_set(B.mosq, on_message);
    mosquitto_log_callback_set(B.mosq, on_log);
    mosquitto_threaded_set(B.mosq, true); /* our threads, not loop_start() */
    for (Q.started = 0; Q.started < WORKERS; Q.started++) {
        if (pthread_create(&Q.thread[Q.started], NULL, worker_main, NULL) != 0) {
            snprintf(err, cap, "mqtt: cannot start the worker threads");
            goto out;
        }
    }
    if (pthread_create(&B.net_thread, NULL, net_main, NULL) != 0) {
        snprintf(err, cap, "mqtt: cannot start the client thread");
        goto out;
    }
    B.net_started = true;
    if (pthread_create(&B.sync_thread, NULL, sync_main, NULL) != 0) {
        snprintf(err, cap, "mqtt: cannot start the revocation thread");
        goto out;
    }
    B.sync_started = true;
    log_info("mqtt: bridge to %s (broker files in %s)", s->cfg.mqtt_url,
             svc_mqtt_dir(s, id, sizeof id));
    rc = 0;
out:
    if (key != NULL) {
        memset(key, 0, strlen(key));
    }
    free(key);
    free(cert);
    return rc;
}

void mqtt_bridge_stop(void)
{
    if (B.s == NULL) {
        return;
    }
    atomic_store(&B.stop, true);
    pthread_mutex_lock(&B.mu);
    pthread_cond_signal(&B.cv);
    pthread_mutex_unlock(&B.mu);
    if (B.sync_started) {
        pthread_join(B.sync_thread, NULL);
        B.sync_started = false;
    }
    if (B.mosq != NULL) {
        mosquitto_disconnect(B.mosq);
    }
    if (B.net_started) {
        pthread_join(B.net_thread, NULL);
        B.net_started = false;
    }
    /* The workers finish what is queued (no reply is lost for a batch that
     * was stored: the app would send it again anyway), then end. */
    pthread_mutex_lock(&Q.mu);
    pthread_cond_broadcast(&Q.ready);
    pthread_cond_broadcast(&Q.space);
    pthread_mutex_unlock(&Q.mu);
    for (int i = 0; i < Q.started; i++) {
        pthread_join(Q.thread[i], NULL);
    }
    Q.started = 0;
    if (B.mosq != NULL) {
        mosquitto_destroy(B.mosq);
        B.mosq = NULL;
        mosquitto_lib_cleanup();
    }
    SSL_CTX_free(B.ctx);
    B.ctx = NULL;
    B.s = NULL;
}
