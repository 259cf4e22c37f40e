/* metron_mosquitto.so: Metron's plugin for the Mosquitto broker (docs/mqtt.md).
 *
 * The broker's listener requires a client certificate signed by Metron's CA
 * (mosquitto.conf: cafile, require_certificate). This plugin then decides,
 * from that certificate alone:
 *
 *   - who connects: its common name is the identity ("app-<id>" for an app,
 *     "metron-server" for Metron's servers); any other name, a certificate
 *     whose serial is revoked, or no certificate is refused;
 *   - what it may do (ACL): an app publishes only to metron/v1/app/<id>/up/
 *     {batch,live,status} and reads only metron/v1/app/<id>/down/...; the
 *     servers read every app's up topics (their shared subscription) and
 *     write its down topics and $CONTROL/metron/v1;
 *   - revocations: the revoked serials come from the CRL Metron writes
 *     (plugin_opt_crl, read at start and at every SIGHUP) and from the
 *     servers' messages on $CONTROL/metron/v1 {"revoke": [{"serial",
 *     "identity"}]}, which also disconnect that identity at once.
 *
 * Options: plugin_opt_crl FILE, plugin_opt_server_identity NAME (default
 * metron-server). Runs in the broker's single thread. */
#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker_rules.h"

_Static_assert(MB_ACL_READ == MOSQ_ACL_READ && MB_ACL_WRITE == MOSQ_ACL_WRITE &&
                   MB_ACL_SUBSCRIBE == MOSQ_ACL_SUBSCRIBE &&
                   MB_ACL_UNSUBSCRIBE == MOSQ_ACL_UNSUBSCRIBE,
               "broker_rules.h's access bits are Mosquitto's");

static mosquitto_plugin_id_t *plugin_id;
static char crl_path[4096];
static char server_identity[65] = "metron-server";

/* The revoked serials (lower-case hex). */
static mb_revoked revoked;

/* "serial" as lower-case hex (BN_bn2hex), cut at MB_SERIAL_MAX digits. */
static void serial_hex(const ASN1_INTEGER *ai, char out[MB_SERIAL_MAX + 1])
{
    BIGNUM *bn = ASN1_INTEGER_to_BN(ai, NULL);
    char *hex = bn != NULL ? BN_bn2hex(bn) : NULL;
    size_t n = 0;
    for (const char *p = hex; p != NULL && *p != '\0' && n < MB_SERIAL_MAX; p++) {
        out[n++] = (char)(*p >= 'A' && *p <= 'F' ? *p - 'A' + 'a' : *p);
    }
    out[n] = '\0';
    OPENSSL_free(hex);
    BN_free(bn);
}

static void load_crl(void)
{
    FILE *f;
    X509_CRL *crl;
    STACK_OF(X509_REVOKED) *list;
    if (crl_path[0] == '\0') {
        return;
    }
    f = fopen(crl_path, "r");
    if (f == NULL) {
        mosquitto_log_printf(MOSQ_LOG_WARNING, "metron: no CRL at %s yet", crl_path);
        return;
    }
    crl = PEM_read_X509_CRL(f, NULL, NULL, NULL);
    fclose(f);
    if (crl == NULL) {
        mosquitto_log_printf(MOSQ_LOG_ERR, "metron: %s is not a CRL", crl_path);
        return;
    }
    list = X509_CRL_get_REVOKED(crl);
    for (int i = 0; i < sk_X509_REVOKED_num(list); i++) {
        char hex[MB_SERIAL_MAX + 1];
        serial_hex(X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(list, i)), hex);
        if (mb_revoked_add(&revoked, hex) < 0) {
            mosquitto_log_printf(MOSQ_LOG_ERR, "metron: cannot keep revoked serial '%s'", hex);
        }
    }
    X509_CRL_free(crl);
    mosquitto_log_printf(MOSQ_LOG_NOTICE, "metron: %zu revoked certificates", revoked.n);
}

static int on_auth(int event, void *event_data, void *userdata)
{
    struct mosquitto_evt_basic_auth *ed = event_data;
    X509 *cert = mosquitto_client_certificate(ed->client);
    char cn[128] = "", serial[MB_SERIAL_MAX + 1] = "";
    int len;
    (void)event;
    (void)userdata;
    if (cert == NULL) {
        return MOSQ_ERR_AUTH;
    }
    len = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn);
    serial_hex(X509_get0_serialNumber(cert), serial);
    X509_free(cert);
    if (len <= 0 || (size_t)len >= sizeof cn) {
        return MOSQ_ERR_AUTH;
    }
    switch (mb_identity_check(cn, (size_t)len, serial, &revoked, server_identity)) {
    case MB_AUTH_OK:
        break;
    case MB_AUTH_REVOKED:
        mosquitto_log_printf(MOSQ_LOG_NOTICE, "metron: refused %s: certificate %s is revoked",
                             cn, serial);
        return MOSQ_ERR_AUTH;
    case MB_AUTH_STRANGER:
        mosquitto_log_printf(MOSQ_LOG_NOTICE, "metron: refused the identity '%s'", cn);
        return MOSQ_ERR_AUTH;
    default:
        return MOSQ_ERR_AUTH;
    }
    return mosquitto_set_username(ed->client, cn) == MOSQ_ERR_SUCCESS ? MOSQ_ERR_SUCCESS
                                                                      : MOSQ_ERR_AUTH;
}

static int on_acl(int event, void *event_data, void *userdata)
{
    struct mosquitto_evt_acl_check *ed = event_data;
    (void)event;
    (void)userdata;
    return mb_acl_allows(mosquitto_client_username(ed->client), server_identity, ed->access,
                         ed->topic)
               ? MOSQ_ERR_SUCCESS
               : MOSQ_ERR_ACL_DENIED;
}

/* One revocation of a control message: kept, and that app disconnected now;
 * a client of that identity holding another, valid certificate comes back
 * at once. */
static void revoke_one(const char *serial, const char *identity, void *ctx)
{
    (void)ctx;
    switch (mb_revoked_add(&revoked, serial)) {
    case 1:
        mosquitto_log_printf(MOSQ_LOG_NOTICE, "metron: certificate %s revoked", serial);
        break;
    case -1:
        mosquitto_log_printf(MOSQ_LOG_ERR, "metron: out of memory revoking %s", serial);
        break;
    default:
        break;
    }
    if (identity != NULL) {
        mosquitto_kick_client_by_username(identity, true);
    }
}

static int on_control(int event, void *event_data, void *userdata)
{
    struct mosquitto_evt_control *ed = event_data;
    const char *user = mosquitto_client_username(ed->client);
    (void)event;
    (void)userdata;
    if (user == NULL || strcmp(user, server_identity) != 0) {
        return MOSQ_ERR_ACL_DENIED;
    }
    if (ed->payloadlen == 0 || ed->payloadlen > MB_CONTROL_MAX) {
        return MOSQ_ERR_INVAL;
    }
    if (mb_control_parse(ed->payload, ed->payloadlen, revoke_one, NULL) != 0) {
        mosquitto_log_printf(MOSQ_LOG_WARNING,
                             "metron: ignored a control message without a \"revoke\" list");
    }
    return MOSQ_ERR_SUCCESS;
}

static int on_reload(int event, void *event_data, void *userdata)
{
    (void)event;
    (void)event_data;
    (void)userdata;
    load_crl();
    return MOSQ_ERR_SUCCESS;
}

int mosquitto_plugin_version(int supported_version_count, const int *supported_versions)
{
    for (int i = 0; i < supported_version_count; i++) {
        if (supported_versions[i] == 5) {
            return 5;
        }
    }
    return -1;
}

int mosquitto_plugin_init(mosquitto_plugin_id_t *identifier, void **user_data,
                          struct mosquitto_opt *opts, int opt_count)
{
    (void)user_data;
    plugin_id = identifier;
    for (int i = 0; i < opt_count; i++) {
        if (strcmp(opts[i].key, "crl") == 0) {
            snprintf(crl_path, sizeof crl_path, "%s", opts[i].value);
        } else if (strcmp(opts[i].key, "server_identity") == 0) {
            snprintf(server_identity, sizeof server_identity, "%s", opts[i].value);
        }
    }
    load_crl();
    if (mosquitto_callback_register(identifier, MOSQ_EVT_BASIC_AUTH, on_auth, NULL, NULL) ||
        mosquitto_callback_register(identifier, MOSQ_EVT_ACL_CHECK, on_acl, NULL, NULL) ||
        mosquitto_callback_register(identifier, MOSQ_EVT_CONTROL, on_control, MB_CONTROL_TOPIC,
                                    NULL) ||
        mosquitto_callback_register(identifier, MOSQ_EVT_RELOAD, on_reload, NULL, NULL)) {
        return MOSQ_ERR_UNKNOWN;
    }
    mosquitto_log_printf(MOSQ_LOG_NOTICE, "metron: plugin ready (server identity %s)",
                         server_identity);
    return MOSQ_ERR_SUCCESS;
}

int mosquitto_plugin_cleanup(void *user_data, struct mosquitto_opt *opts, int opt_count)
{
    (void)user_data;
    (void)opts;
    (void)opt_count;
    mosquitto_callback_unregister(plugin_id, MOSQ_EVT_BASIC_AUTH, on_auth, NULL);
    mosquitto_callback_unregister(plugin_id, MOSQ_EVT_ACL_CHECK, on_acl, NULL);
    mosquitto_callback_unregister(plugin_id, MOSQ_EVT_CONTROL, on_control, MB_CONTROL_TOPIC);
    mosquitto_callback_unregister(plugin_id, MOSQ_EVT_RELOAD, on_reload, NULL);
    mb_revoked_free(&revoked);
    return MOSQ_ERR_SUCCESS;
}
