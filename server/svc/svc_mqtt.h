/* MQTTS with mutual TLS: the rules around Metron's certificate authority
 * (docs/mqtt.md).
 *
 * The CA is made by the first server that needs it and kept in PostgreSQL
 * (every server process signs with the same one). An app obtains a client
 * certificate with its credential and a certificate signing request:
 * common name "app-<app id>", 90 days, at most SVC_MQTT_ACTIVE_MAX active
 * at once (a renewal is the same request before the old one expires). An
 * administrator revokes one; a new credential, the app's deletion or its
 * account's revokes them all (triggers, 021_mqtt.sql). Revocations reach
 * the broker through the MQTT bridge (mqtt/): a CRL in the broker's folder
 * and a control message that disconnects the app at once. */
#ifndef MTS_SVC_MQTT_H
#define MTS_SVC_MQTT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db_mqtt.h"
#include "svc.h"

#define SVC_MQTT_CERT_DAYS 90
#define SVC_MQTT_ACTIVE_MAX 5
/* The identity (certificate common name) of the servers at the broker. */
#define SVC_MQTT_SERVER_IDENTITY "metron-server"

/* The CA's certificate and key, made and stored at the first call of any
 * server (borrowed: they live as long as the process). */
MT_MUSTCHECK
svc_status svc_mqtt_ca(srv *s, const char **cert_pem, const char **key_pem, svc_error *e);

typedef struct {
    char *cert_pem;     /* caller frees */
    const char *ca_pem; /* borrowed (svc_mqtt_ca()) */
    char serial[33];
    int64_t not_after;  /* Unix s */
    long long app_id;
    long long cert_id;
} svc_mqtt_issued;

/* Issue a client certificate to the app holding "credential" for the key
 * of "csr" ("len" bytes of PEM). SVC_INVALID "invalid_csr" (field csr) for
 * a request that does not read or verify, SVC_CONFLICT
 * "too_many_certificates" when the app has SVC_MQTT_ACTIVE_MAX active,
 * SVC_UNAVAILABLE "mqtt_off" when this server has no broker. */
MT_MUSTCHECK
svc_status svc_mqtt_issue(srv *s, const char *credential, const char *csr, size_t len,
                          svc_mqtt_issued *out, svc_error *e);

/* The app's certificates ({"items": [...]}) for a user who sees the app. */
MT_MUSTCHECK
svc_status svc_mqtt_certs(const svc_actor *a, long long app_id, char **json, svc_error *e);

/* Revoke certificate "cert_id" of app "app_id" (administrators; audited as
 * app.certificate_revoke). SVC_NOT_FOUND, SVC_CONFLICT "already_revoked". */
MT_MUSTCHECK
svc_status svc_mqtt_revoke(const svc_actor *a, long long app_id, long long cert_id,
                           svc_error *e);

/* The bridge's start: write the broker's files into the MQTT folder
 * (ca.pem; broker.crt and broker.key for the broker's names, kept while
 * they come from this CA and last 30 more days; crl.pem; mosquitto.conf)
 * and make this process a client certificate of its own (*cert_pem,
 * *key_pem: caller frees). */
MT_MUSTCHECK
svc_status svc_mqtt_setup(srv *s, char **cert_pem, char **key_pem, svc_error *e);

/* Revoked serials with id > "after_id" (oldest first, at most "cap"). When
 * any, the CRL in the MQTT folder is written again first. */
MT_MUSTCHECK
svc_status svc_mqtt_revocations(srv *s, long long after_id, db_mqtt_revoked *out, size_t cap,
                                size_t *n, svc_error *e);

/* The MQTT folder (--mqtt-dir, default DATA/mqtt) into "buf". */
const char *svc_mqtt_dir(const srv *s, char *buf, size_t cap);

#endif
