/* Storage of MQTTS with mutual TLS (021_mqtt.sql, docs/mqtt.md): the CA,
 * the apps' certificates, the revoked serials. */
#ifndef MTS_DB_MQTT_H
#define MTS_DB_MQTT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"

/* The CA's certificate and key (caller frees both); *found false when none
 * was made yet. */
db_status db_mqtt_ca_get(db_conn *c, char **cert_pem, char **key_pem, bool *found);

/* Store a new CA unless one exists (two servers making one at once: the
 * first wins; read it back with db_mqtt_ca_get()). */
db_status db_mqtt_ca_put(db_conn *c, const char *cert_pem, const char *key_pem);

/* Certificates of app "app_id" neither revoked nor expired at "now". */
db_status db_mqtt_cert_active(db_conn *c, long long account_id, long long app_id, int64_t now,
                              long long *n);

/* Record a certificate issued to the app: its id. */
db_status db_mqtt_cert_add(db_conn *c, long long account_id, long long app_id,
                           const char *serial, int64_t not_before, int64_t not_after,
                           long long *id);

/* The app's certificates as JSON text {"items": [{id, serial, not_before,
 * not_after, revoked_at, state: active | expired | revoked}]}, newest first. */
db_status db_mqtt_cert_list(db_conn *c, long long account_id, long long app_id, char **json);

/* Revoke certificate "cert_id" of app "app_id" by user "user_id": *found
 * false when the app has no such certificate, *already true when it was
 * revoked before (nothing changes then). */
db_status db_mqtt_cert_revoke(db_conn *c, long long account_id, long long app_id,
                              long long cert_id, long long user_id, bool *found, bool *already);

/* One revoked serial. */
typedef struct {
    long long id;
    char serial[33];
    char identity[65];
} db_mqtt_revoked;

/* Revoked serials not expired at "now" with id > "after_id", oldest first,
 * at most "cap" into "out" (*n). */
db_status db_mqtt_revoked_since(db_conn *c, long long after_id, int64_t now,
                                db_mqtt_revoked *out, size_t cap, size_t *n);

/* Jobs: forget revoked serials whose certificates expired before "now" (the
 * broker refuses them anyway) and delete certificate rows expired 30 days. */
db_status db_mqtt_sweep(db_conn *c, int64_t now, int limit, long long *n);

#endif
