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
#include <cjson/cJSON.h>
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

#define CONTROL_TOPIC "$CONTROL/metron/v1"
#define SERIAL_MAX 64
#define CONTROL_MAX (1 << 20)

static mosquitto_plugin_id_t *plugin_id;
static char crl_path[4096];
static char server_identity[65] = "metron-server";

/* The revoked serials (lower-case hex), sorted. */
static char (*revoked)[SERIAL_MAX + 1];
static size_t n_revoked, cap_revoked;

static int cmp_serial(const void *a, const void *b)
{
    return strcmp(a, b);
}

static bool is_revoked(const char *serial)
{
    return n_revoked > 0 &&
           bsearch(serial, revoked, n_revoked, sizeof *revoked, cmp_serial) != NULL;
}

static void add_revoked(const char *serial)
{
    size_t lo = 0, hi = n_revoked, len = strlen(serial);
    if (len == 0 || len > SERIAL_MAX) {
        return;
    }
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(revoked[mid], serial);
        if (c == 0) {
            return;
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (n_revoked == cap_revoked) {
        size_t cap = cap_revoked ? cap_revoked * 2 : 64;
        void *g = realloc(revoked, cap * sizeof *revoked);
        if (g == NULL) {
            return;
        }
        revoked = g;
        cap_revoked = cap;
    }
    memmove(&revoked[lo + 1], &revoked[lo], (n_revoked - lo) * sizeof *revoked);
    memcpy(revoked[lo], serial, len + 1);
    n_revoked++;
}

/* "serial" as lower-case hex without leading zeros' surprises (BN_bn2hex). */
static void serial_hex(const ASN1_INTEGER *ai, char out[SERIAL_MAX + 1])
{
    BIGNUM *bn = ASN1_INTEGER_to_BN(ai, NULL);
    char *hex = bn != NULL ? BN_bn2hex(bn) : NULL;
    size_t n = 0;
    for (const char *p = hex; p != NULL && *p != '\0' && n < SERIAL_MAX; p++) {
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
        char hex[SERIAL_MAX + 1];
        serial_hex(X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(list, i)), hex);
        add_revoked(hex);
    }
    X509_CRL_free(crl);
    mosquitto_log_printf(MOSQ_LOG_NOTICE, "metron: %zu revoked certificates", n_revoked);
}

/* The app id of identity "app-<digits>", or 0. */
static long long app_of(const char *identity)
{
    long long id = 0;
    int digits = 0;
    if (identity == NULL || strncmp(identity, "app-", 4) != 0) {
        return 0;
    }
    for (const char *p = identity + 4; *p != '\0'; p++) {
        if (*p < '0' || *p > '9' || ++digits > 18) {
            return 0;
        }
        id = id * 10 + (*p - '0');
    }
    return digits > 0 ? id : 0;
}

static int on_auth(int event, void *event_data, void *userdata)
{
    struct mosquitto_evt_basic_auth *ed = event_data;
    X509 *cert = mosquitto_client_certificate(ed->client);
    char cn[128] = "", serial[SERIAL_MAX + 1] = "";
    int len;
    (void)event;
    (void)userdata;
    if (cert == NULL) {
        return MOSQ_ERR_AUTH;
    }
    len = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn);
    serial_hex(X509_get0_serialNumber(cert), serial);
    X509_free(cert);
    if (len <= 0 || (size_t)len >= sizeof cn || strlen(cn) != (size_t)len) {
        return MOSQ_ERR_AUTH;
    }
    if (is_revoked(serial)) {
        mosquitto_log_printf(MOSQ_LOG_NOTICE, "metron: refused %s: certificate %s is revoked",
                             cn, serial);
        return MOSQ_ERR_AUTH;
    }
    if (strcmp(cn, server_identity) != 0 && app_of(cn) == 0) {
        mosquitto_log_printf(MOSQ_LOG_NOTICE, "metron: refused the identity '%s'", cn);
        return MOSQ_ERR_AUTH;
    }
    return mosquitto_set_username(ed->client, cn) == MOSQ_ERR_SUCCESS ? MOSQ_ERR_SUCCESS
                                                                      : MOSQ_ERR_AUTH;
}

static bool starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Whether "topic" is metron/v1/app/<digits>/<dir>/<one level>. */
static bool app_topic(const char *topic, const char *dir)
{
    const char *p;
    char want[16];
    if (!starts(topic, "metron/v1/app/")) {
        return false;
    }
    p = topic + 14;
    if (*p < '0' || *p > '9') {
        return false;
    }
    while (*p >= '0' && *p <= '9') {
        p++;
    }
    snprintf(want, sizeof want, "/%s/", dir);
    if (!starts(p, want)) {
        return false;
    }
    p += strlen(want);
    return *p != '\0' && strpbrk(p, "/+#") == NULL;
}

static int server_acl(const struct mosquitto_evt_acl_check *ed)
{
    const char *t = ed->topic;
    switch (ed->access) {
    case MOSQ_ACL_SUBSCRIBE:
        return strcmp(t, "metron/v1/app/+/up/#") == 0 ||
                       strcmp(t, "$share/metron/metron/v1/app/+/up/#") == 0
                   ? MOSQ_ERR_SUCCESS
                   : MOSQ_ERR_ACL_DENIED;
    case MOSQ_ACL_READ:
        return app_topic(t, "up") ? MOSQ_ERR_SUCCESS : MOSQ_ERR_ACL_DENIED;
    case MOSQ_ACL_WRITE:
        return app_topic(t, "down") || strcmp(t, CONTROL_TOPIC) == 0 ? MOSQ_ERR_SUCCESS
                                                                     : MOSQ_ERR_ACL_DENIED;
    case MOSQ_ACL_UNSUBSCRIBE:
        return MOSQ_ERR_SUCCESS;
    default:
        return MOSQ_ERR_ACL_DENIED;
    }
}

static int app_acl(long long id, const struct mosquitto_evt_acl_check *ed)
{
    char up[64], down[64];
    const char *t = ed->topic;
    snprintf(up, sizeof up, "metron/v1/app/%lld/up/", id);
    snprintf(down, sizeof down, "metron/v1/app/%lld/down/", id);
    switch (ed->access) {
    case MOSQ_ACL_WRITE:
        if (starts(t, up) && (strcmp(t + strlen(up), "batch") == 0 ||
                              strcmp(t + strlen(up), "live") == 0 ||
                              strcmp(t + strlen(up), "status") == 0)) {
            return MOSQ_ERR_SUCCESS;
        }
        return MOSQ_ERR_ACL_DENIED;
    case MOSQ_ACL_SUBSCRIBE:
        /* Its own down topics, no wildcard above them. */
        if (starts(t, down) &&
            (strcmp(t + strlen(down), "#") == 0 || strpbrk(t + strlen(down), "+#/") == NULL)) {
            return MOSQ_ERR_SUCCESS;
        }
        return MOSQ_ERR_ACL_DENIED;
    case MOSQ_ACL_READ:
        return starts(t, down) ? MOSQ_ERR_SUCCESS : MOSQ_ERR_ACL_DENIED;
    case MOSQ_ACL_UNSUBSCRIBE:
        return MOSQ_ERR_SUCCESS;
    default:
        return MOSQ_ERR_ACL_DENIED;
    }
}

static int on_acl(int event, void *event_data, void *userdata)
{
    struct mosquitto_evt_acl_check *ed = event_data;
    const char *user = mosquitto_client_username(ed->client);
    long long id;
    (void)event;
    (void)userdata;
    if (user == NULL || ed->topic == NULL) {
        return MOSQ_ERR_ACL_DENIED;
    }
    if (strcmp(user, server_identity) == 0) {
        return server_acl(ed);
    }
    if ((id = app_of(user)) > 0) {
        return app_acl(id, ed);
    }
    return MOSQ_ERR_ACL_DENIED;
}

static int on_control(int event, void *event_data, void *userdata)
{
    struct mosquitto_evt_control *ed = event_data;
    const char *user = mosquitto_client_username(ed->client);
    cJSON *root;
    const cJSON *list, *item;
    (void)event;
    (void)userdata;
    if (user == NULL || strcmp(user, server_identity) != 0) {
        return MOSQ_ERR_ACL_DENIED;
    }
    if (ed->payloadlen == 0 || ed->payloadlen > CONTROL_MAX) {
        return MOSQ_ERR_INVAL;
    }
    root = cJSON_ParseWithLength(ed->payload, ed->payloadlen);
    list = cJSON_GetObjectItemCaseSensitive(root, "revoke");
    if (!cJSON_IsArray(list)) {
        list = NULL;
    }
    cJSON_ArrayForEach(item, list) {
        const cJSON *serial = cJSON_GetObjectItemCaseSensitive(item, "serial");
        const cJSON *identity = cJSON_GetObjectItemCaseSensitive(item, "identity");
        if (!cJSON_IsString(serial) || strlen(serial->valuestring) > SERIAL_MAX ||
            strspn(serial->valuestring, "0123456789abcdef") != strlen(serial->valuestring)) {
            continue;
        }
        if (!is_revoked(serial->valuestring)) {
            add_revoked(serial->valuestring);
            mosquitto_log_printf(MOSQ_LOG_NOTICE, "metron: certificate %s revoked",
                                 serial->valuestring);
        }
        /* Disconnect it now; a client of that identity holding another,
         * valid certificate comes back at once. */
        if (cJSON_IsString(identity) && app_of(identity->valuestring) > 0) {
            mosquitto_kick_client_by_username(identity->valuestring, true);
        }
    }
    cJSON_Delete(root);
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
        mosquitto_callback_register(identifier, MOSQ_EVT_CONTROL, on_control, CONTROL_TOPIC,
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
    mosquitto_callback_unregister(plugin_id, MOSQ_EVT_CONTROL, on_control, CONTROL_TOPIC);
    mosquitto_callback_unregister(plugin_id, MOSQ_EVT_RELOAD, on_reload, NULL);
    free(revoked);
    revoked = NULL;
    n_revoked = cap_revoked = 0;
    return MOSQ_ERR_SUCCESS;
}
