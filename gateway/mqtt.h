/* The gateway's MQTTS session (docs/mqtt.md): MQTT v5 over TLS with the
 * app's client certificate, to the broker the server named. Batches go to
 * metron/v1/app/{id}/up/batch (QoS 1, correlation data = the batch id) and
 * the server answers each on metron/v1/app/{id}/down/reply; status and
 * live samples go to up/status and up/live; the console's operations
 * come on down/console and its screens go to up/console (C1). The will message is
 * {"state": "disconnect"} on up/status. No thread: the gateway's loop
 * drives the network with gw_mqtt_pump(). */
#ifndef GW_MQTT_H
#define GW_MQTT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "console.h"
#include "reply.h"

typedef struct gw_mqtt gw_mqtt;

typedef enum {
    GW_MQTT_DOWN = 0,    /* not connected (or connecting) */
    GW_MQTT_UP = 1,      /* connected */
    GW_MQTT_REFUSED = 2  /* the broker refused the certificate: get a new one */
} gw_mqtt_state;

/* A session of app "app_id" to "host":"port" with the PEM files "cafile",
 * "certfile", "keyfile"; "client_id" names this connection. NULL when out
 * of memory or the TLS files do not load ("err"). */
gw_mqtt *gw_mqtt_new(int64_t app_id, const char *client_id, const char *host, int port,
                     const char *cafile, const char *certfile, const char *keyfile, char *err,
                     size_t err_cap);

/* Disconnect cleanly (no will) and free (NULL-safe). */
void gw_mqtt_free(gw_mqtt *m);

/* Start (or restart) connecting with keep-alive "keepalive_s" seconds. 0,
 * or -1 with "err". */
int gw_mqtt_connect(gw_mqtt *m, int keepalive_s, char *err, size_t err_cap);

/* Run the network for at most "timeout_ms" (0: only what is ready). A
 * signal ends it early. */
void gw_mqtt_pump(gw_mqtt *m, int timeout_ms);

gw_mqtt_state gw_mqtt_status(const gw_mqtt *m);

/* The reason the broker gave for the last refusal or disconnection. */
const char *gw_mqtt_reason(const gw_mqtt *m);

/* Publish batch "batch_id" (JSON "body") with QoS 1. 0 or -1. */
int gw_mqtt_send_batch(gw_mqtt *m, const char *batch_id, const char *body, size_t len);

/* The reply to "batch_id" when it came (then forgotten), else false. */
bool gw_mqtt_reply_for(gw_mqtt *m, const char *batch_id, gw_mqtt_reply *out);

/* Publish to up/status or up/live ("kind") with "qos". 0 or -1. */
int gw_mqtt_send(gw_mqtt *m, const char *kind, const char *body, size_t len, int qos);

/* The oldest console operation received and not yet taken into "out"
 * (then forgotten), else false. Operations that do not parse are dropped. */
bool gw_mqtt_console_take(gw_mqtt *m, gw_console_op *out);

#endif
