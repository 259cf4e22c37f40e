/* The MQTT bridge (docs/mqtt.md): this server's connection to the broker.
 *
 * It connects with mutual TLS as "metron-server" (a client certificate of
 * Metron's CA made at start), subscribes to every app's upward topics
 * through the MQTT v5 shared subscription "$share/metron/...", so that
 * several server processes share the messages and each is handled once,
 * and hands each message to the same services as the HTTPS routes:
 *
 *   metron/v1/app/{id}/up/batch   a batch (JSON, or HOK with content type
 *                                  application/vnd.metron.hok) -> svc_ingest
 *   metron/v1/app/{id}/up/live    5-second samples (M3) -> svc_live
 *   metron/v1/app/{id}/up/status  {"state": "connect" | "disconnect" | "heartbeat"}
 *   metron/v1/app/{id}/up/console  the console's screens (C1) -> mqtt_console.h,
 *                                  through a subscription of each process's own
 *
 * The broker (its plugin, broker/) lets an app publish only under its own
 * id, which is its certificate's name "app-{id}": the id in the topic is
 * the authenticated app. Each batch is answered on metron/v1/app/{id}/down/reply
 * with the request's correlation data: {"batch_id", "ok": true, "duplicate",
 * "samples", "stored", "channels"} or {"batch_id", "ok": false, "code",
 * "message", "field"?, "retry"}. A second thread tells the broker about
 * revoked certificates (the CRL file and a $CONTROL message that
 * disconnects the app at once). */
#ifndef MTS_MQTT_BRIDGE_H
#define MTS_MQTT_BRIDGE_H

#include <stdbool.h>
#include <stddef.h>

#include "srv.h"

/* Start the bridge of "s" (nothing when s->cfg.mqtt_url is NULL): write the
 * broker's files, connect in the background (retrying while the broker is
 * away). 0, or -1 with "err". */
int mqtt_bridge_start(srv *s, char *err, size_t err_cap);

/* Disconnect and stop the threads (no-op when not started). */
void mqtt_bridge_stop(void);

/* Whether the bridge is connected to the broker now, and how many
 * messages this process has handled since it started. */
bool mqtt_bridge_connected(void);
long long mqtt_bridge_messages(void);

/* Parse "metron/v1/app/{id}/up/{kind}": *app_id and "kind" ("cap" bytes).
 * 0, or -1 for any other topic (bounded: ids of at most 18 digits). */
int mqtt_topic_parse(const char *topic, long long *app_id, char *kind, size_t cap);

#endif
