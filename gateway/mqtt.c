/* The gateway's MQTTS session (see mqtt.h). */
#define _POSIX_C_SOURCE 200809L
#include "mqtt.h"

#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Replies kept until the sender asks for them (one batch is in flight at a
 * time; a few late ones of earlier tries may come too). */
#define REPLIES_MAX 16
/* Console operations kept until the app takes them (a person clicks; a
 * flood of them beyond this is dropped, oldest first). */
#define CONSOLE_OPS_MAX 16

struct gw_mqtt {
    struct mosquitto *mosq;
    int64_t app_id;
    char host[256];
    int port;
    char topic[96]; /* "metron/v1/app/<id>/" */
    gw_mqtt_state state;
    char reason[200];
    gw_mqtt_reply replies[REPLIES_MAX];
    size_t n_replies;
    gw_console_op ops[CONSOLE_OPS_MAX];
    size_t n_ops;
    uint64_t ops_refused;
};

static void on_connect(struct mosquitto *mosq, void *arg, int rc, int flags,
                       const mosquitto_property *props)
{
    gw_mqtt *m = arg;
    char sub[128];
    (void)flags;
    (void)props;
    if (rc != 0) {
        snprintf(m->reason, sizeof m->reason, "%s", mosquitto_reason_string(rc));
        /* Not authorised / bad user name: the certificate is refused
         * (revoked, or of another CA). */
        m->state = rc == MQTT_RC_NOT_AUTHORIZED || rc == MQTT_RC_BAD_USERNAME_OR_PASSWORD ||
                           rc == MQTT_RC_BANNED
                       ? GW_MQTT_REFUSED
                       : GW_MQTT_DOWN;
        return;
    }
    snprintf(sub, sizeof sub, "%sdown/reply", m->topic);
    mosquitto_subscribe_v5(mosq, NULL, sub, 1, 0, NULL);
    /* C1: the console's operations (docs/console.md). */
    snprintf(sub, sizeof sub, "%sdown/console", m->topic);
    mosquitto_subscribe_v5(mosq, NULL, sub, 1, 0, NULL);
    m->state = GW_MQTT_UP;
    m->reason[0] = '\0';
}

static void on_disconnect(struct mosquitto *mosq, void *arg, int rc,
                          const mosquitto_property *props)
{
    gw_mqtt *m = arg;
    (void)mosq;
    (void)props;
    if (m->state == GW_MQTT_UP) {
        snprintf(m->reason, sizeof m->reason, "%s",
                 rc == MQTT_RC_ADMINISTRATIVE_ACTION ? "disconnected by the broker"
                                                     : mosquitto_strerror(rc));
    }
    if (m->state != GW_MQTT_REFUSED) {
        m->state = GW_MQTT_DOWN;
    }
}

static void on_message(struct mosquitto *mosq, void *arg, const struct mosquitto_message *msg,
                       const mosquitto_property *props)
{
    gw_mqtt *m = arg;
    gw_mqtt_reply r;
    char err[120];
    (void)mosq;
    (void)props;
    if (msg->topic != NULL && strncmp(msg->topic, m->topic, strlen(m->topic)) == 0 &&
        strcmp(msg->topic + strlen(m->topic), "down/console") == 0) {
        gw_console_op op;
        if (msg->payloadlen <= 0 || gw_console_parse(msg->payload, (size_t)msg->payloadlen, &op,
                                                     err, sizeof err) != 0) {
            m->ops_refused++;
            return;
        }
        if (m->n_ops == CONSOLE_OPS_MAX) {
            memmove(&m->ops[0], &m->ops[1], (CONSOLE_OPS_MAX - 1) * sizeof m->ops[0]);
            m->n_ops--;
        }
        m->ops[m->n_ops++] = op;
        return;
    }
    if (msg->payloadlen <= 0 ||
        gw_mqtt_reply_parse(msg->payload, (size_t)msg->payloadlen, &r, err, sizeof err) != 0) {
        return;
    }
    if (m->n_replies == REPLIES_MAX) {
        memmove(&m->replies[0], &m->replies[1], (REPLIES_MAX - 1) * sizeof m->replies[0]);
        m->n_replies--;
    }
    m->replies[m->n_replies++] = r;
}

gw_mqtt *gw_mqtt_new(int64_t app_id, const char *client_id, const char *host, int port,
                     const char *cafile, const char *certfile, const char *keyfile, char *err,
                     size_t cap)
{
    gw_mqtt *m = calloc(1, sizeof *m);
    char will[128], user[40];
    static const char will_body[] = "{\"state\":\"disconnect\"}";
    static int lib_ready;
    if (m == NULL) {
        snprintf(err, cap, "out of memory");
        return NULL;
    }
    if (!lib_ready) {
        mosquitto_lib_init();
        lib_ready = 1;
    }
    m->app_id = app_id;
    m->port = port;
    snprintf(m->host, sizeof m->host, "%s", host);
    snprintf(m->topic, sizeof m->topic, "metron/v1/app/%lld/", (long long)app_id);
    m->mosq = mosquitto_new(client_id, true, m);
    if (m->mosq == NULL) {
        snprintf(err, cap, "out of memory");
        free(m);
        return NULL;
    }
    mosquitto_int_option(m->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
    mosquitto_int_option(m->mosq, MOSQ_OPT_TCP_NODELAY, 1); /* no Nagle delay per batch */
    if (mosquitto_tls_set(m->mosq, cafile, NULL, certfile, keyfile, NULL) != MOSQ_ERR_SUCCESS) {
        snprintf(err, cap, "the MQTT certificate files do not load");
        gw_mqtt_free(m);
        return NULL;
    }
    /* The user name is the certificate's: the broker's plugin takes it from there. */
    snprintf(user, sizeof user, "app-%lld", (long long)app_id);
    mosquitto_username_pw_set(m->mosq, user, NULL);
    snprintf(will, sizeof will, "%sup/status", m->topic);
    mosquitto_will_set_v5(m->mosq, will, (int)strlen(will_body), will_body, 1, false, NULL);
    mosquitto_connect_v5_callback_set(m->mosq, on_connect);
    mosquitto_disconnect_v5_callback_set(m->mosq, on_disconnect);
    mosquitto_message_v5_callback_set(m->mosq, on_message);
    return m;
}

void gw_mqtt_free(gw_mqtt *m)
{
    if (m == NULL) {
        return;
    }
    if (m->state == GW_MQTT_UP) {
        mosquitto_disconnect(m->mosq);
        gw_mqtt_pump(m, 0);
    }
    mosquitto_destroy(m->mosq);
    free(m);
}

int gw_mqtt_connect(gw_mqtt *m, int keepalive_s, char *err, size_t cap)
{
    int rc;
    m->state = GW_MQTT_DOWN;
    rc = mosquitto_connect_bind_v5(m->mosq, m->host, m->port, keepalive_s, NULL, NULL);
    if (rc != MOSQ_ERR_SUCCESS) {
        snprintf(m->reason, sizeof m->reason, "%s",
                 rc == MOSQ_ERR_ERRNO ? "cannot connect" : mosquitto_strerror(rc));
        snprintf(err, cap, "%s", m->reason);
        return -1;
    }
    return 0;
}

void gw_mqtt_pump(gw_mqtt *m, int timeout_ms)
{
    int rc = mosquitto_loop(m->mosq, timeout_ms, 1);
    if (rc != MOSQ_ERR_SUCCESS && rc != MOSQ_ERR_NO_CONN && m->state == GW_MQTT_UP) {
        snprintf(m->reason, sizeof m->reason, "%s", mosquitto_strerror(rc));
        m->state = GW_MQTT_DOWN;
    }
}

gw_mqtt_state gw_mqtt_status(const gw_mqtt *m)
{
    return m->state;
}

const char *gw_mqtt_reason(const gw_mqtt *m)
{
    return m->reason[0] != '\0' ? m->reason : "not connected";
}

int gw_mqtt_send_batch(gw_mqtt *m, const char *batch_id, const char *body, size_t len)
{
    mosquitto_property *props = NULL;
    char topic[128];
    int rc;
    if (m->state != GW_MQTT_UP || len > 16000000) {
        return -1;
    }
    snprintf(topic, sizeof topic, "%sup/batch", m->topic);
    mosquitto_property_add_binary(&props, MQTT_PROP_CORRELATION_DATA, batch_id,
                                  (uint16_t)strlen(batch_id));
    mosquitto_property_add_string(&props, MQTT_PROP_CONTENT_TYPE, "application/json");
    rc = mosquitto_publish_v5(m->mosq, NULL, topic, (int)len, body, 1, false, props);
    mosquitto_property_free_all(&props);
    return rc == MOSQ_ERR_SUCCESS ? 0 : -1;
}

bool gw_mqtt_reply_for(gw_mqtt *m, const char *batch_id, gw_mqtt_reply *out)
{
    for (size_t i = 0; i < m->n_replies; i++) {
        if (strcmp(m->replies[i].batch_id, batch_id) == 0) {
            *out = m->replies[i];
            memmove(&m->replies[i], &m->replies[i + 1],
                    (m->n_replies - i - 1) * sizeof m->replies[0]);
            m->n_replies--;
            return true;
        }
    }
    return false;
}

int gw_mqtt_send(gw_mqtt *m, const char *kind, const char *body, size_t len, int qos)
{
    char topic[128];
    if (m->state != GW_MQTT_UP) {
        return -1;
    }
    snprintf(topic, sizeof topic, "%sup/%s", m->topic, kind);
    return mosquitto_publish_v5(m->mosq, NULL, topic, (int)len, body, qos, false, NULL) ==
                   MOSQ_ERR_SUCCESS
               ? 0
               : -1;
}

bool gw_mqtt_console_take(gw_mqtt *m, gw_console_op *out)
{
    if (m->n_ops == 0) {
        return false;
    }
    *out = m->ops[0];
    memmove(&m->ops[0], &m->ops[1], (m->n_ops - 1) * sizeof m->ops[0]);
    m->n_ops--;
    return true;
}
