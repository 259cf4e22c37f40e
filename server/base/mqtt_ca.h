/* Metron's own certificate authority for MQTTS with mutual TLS
 * (docs/mqtt.md): libcrypto only, no database, no files. The service layer
 * keeps its key and certificate in PostgreSQL (svc_mqtt.c) and calls these
 * to issue the broker's server certificate, the servers' client
 * certificate and each app's client certificate, and to sign the list of
 * revoked certificates (a CRL).
 *
 * Keys are EC P-256, signatures ECDSA with SHA-256, serial numbers 128
 * random bits (printed as 32 lower-case hex digits). Texts are PEM. Every
 * function returns 0, or -1 with a sentence in "err"; PEM outputs are the
 * caller's (free()). A certificate signing request is outside input (an
 * app sends it): mqtt_ca_issue() bounds it, checks its signature and takes
 * nothing from it but the public key (tests/fuzz/server/fuzz_mqtt_csr.c). */
#ifndef MTS_MQTT_CA_H
#define MTS_MQTT_CA_H

#include <stddef.h>
#include <stdint.h>

#define MQTT_CA_SERIAL_HEX 32
#define MQTT_CA_CSR_MAX 8192 /* bytes of PEM: a P-256 or RSA-4096 request fits */

typedef struct {
    char serial[MQTT_CA_SERIAL_HEX + 1];
    int64_t not_before; /* Unix s */
    int64_t not_after;
} mqtt_cert_info;

/* A new CA: key and self-signed certificate "Metron MQTT CA" valid "days"
 * from "now" (Unix s). */
int mqtt_ca_create(int64_t now, int days, char **cert_pem, char **key_pem, char *err,
                   size_t err_cap);

/* Issue a certificate signed by the CA ("ca_cert_pem", "ca_key_pem") for
 * common name "cn", valid "days" from "now", for the public key of
 * "csr_pem" (a PKCS#10 request, at most MQTT_CA_CSR_MAX bytes, whose
 * signature must verify) — or, with "csr_pem" NULL, for a new key pair
 * whose private key goes to *key_pem. "server_names" (NULL or a
 * comma-separated list of DNS names and IP addresses) makes it a TLS server
 * certificate (extended key usage serverAuth, those subject alternative
 * names); otherwise a client certificate (clientAuth). *info receives the
 * serial and validity. */
int mqtt_ca_issue(const char *ca_cert_pem, const char *ca_key_pem, const char *csr_pem,
                  size_t csr_len, const char *cn, const char *server_names, int64_t now,
                  int days, char **cert_pem, char **key_pem, mqtt_cert_info *info, char *err,
                  size_t err_cap);

/* A CRL signed by the CA listing the "n" serials (hex) "serials", issued at
 * "now" with its next update "days" later. */
int mqtt_ca_crl(const char *ca_cert_pem, const char *ca_key_pem, const char *const *serials,
                size_t n, int64_t now, int days, char **crl_pem, char *err, size_t err_cap);

/* A new key pair and a certificate signing request for "cn" (for apps and
 * tests: metron-gateway makes its own). */
int mqtt_ca_make_csr(const char *cn, char **csr_pem, char **key_pem, char *err, size_t err_cap);

/* The serial (hex) and validity of certificate "cert_pem". */
int mqtt_ca_cert_info(const char *cert_pem, mqtt_cert_info *info, char *err, size_t err_cap);

#endif
