/* Metron's MQTT certificate authority (server/base/mqtt_ca.c): certificates
 * it issues verify against it with the right purpose; requests that do not
 * verify or do not read are refused; the CRL lists what it is given. */
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>

#include "mqtt_ca.h"
#include "t.h"

#define NOW 1796400000LL

static X509 *pem_cert(const char *pem)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
    BIO_free(b);
    return x;
}

/* Whether "cert" verifies against "ca" for "purpose" at NOW + 1 day. */
static int verifies(const char *ca_pem, const char *cert_pem, int purpose)
{
    X509 *ca = pem_cert(ca_pem), *x = pem_cert(cert_pem);
    X509_STORE *st = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    int ok;
    X509_STORE_add_cert(st, ca);
    X509_STORE_CTX_init(ctx, st, x, NULL);
    X509_STORE_CTX_set_purpose(ctx, purpose);
    X509_STORE_CTX_set_time(ctx, 0, (time_t)(NOW + 86400));
    ok = X509_verify_cert(ctx) == 1;
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(st);
    X509_free(ca);
    X509_free(x);
    return ok;
}

static void mqtt_ca_issues_client_certificates_from_requests(void)
{
    char *ca = NULL, *ca_key = NULL, *csr = NULL, *key = NULL, *cert = NULL, err[200];
    mqtt_cert_info info, again;
    T_EQ_INT(mqtt_ca_create(NOW, 3650, &ca, &ca_key, err, sizeof err), 0);
    T_EQ_INT(mqtt_ca_make_csr("anything", &csr, &key, err, sizeof err), 0);
    T_EQ_INT(mqtt_ca_issue(ca, ca_key, csr, strlen(csr), "app-17", NULL, NOW, 90, &cert, NULL,
                           &info, err, sizeof err),
             0);
    T_EQ_INT(strlen(info.serial), MQTT_CA_SERIAL_HEX);
    T_EQ_INT(info.not_after - NOW, 90 * 86400);
    T_TRUE(verifies(ca, cert, X509_PURPOSE_SSL_CLIENT));
    T_TRUE(!verifies(ca, cert, X509_PURPOSE_SSL_SERVER));
    T_EQ_INT(mqtt_ca_cert_info(cert, &again, err, sizeof err), 0);
    T_EQ_STR(again.serial, info.serial);
    {
        X509 *x = pem_cert(cert);
        char cn[64] = "";
        X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof cn);
        T_EQ_STR(cn, "app-17"); /* the CA's name, not the request's */
        X509_free(x);
    }
    free(cert);
    free(csr);
    free(key);
    free(ca);
    free(ca_key);
}

static void mqtt_ca_issues_a_server_certificate_with_its_names(void)
{
    char *ca = NULL, *ca_key = NULL, *key = NULL, *cert = NULL, err[200];
    mqtt_cert_info info;
    T_EQ_INT(mqtt_ca_create(NOW, 3650, &ca, &ca_key, err, sizeof err), 0);
    T_EQ_INT(mqtt_ca_issue(ca, ca_key, NULL, 0, "broker", "localhost,127.0.0.1", NOW, 365,
                           &cert, &key, &info, err, sizeof err),
             0);
    T_TRUE(key != NULL && strstr(key, "PRIVATE KEY") != NULL);
    T_TRUE(verifies(ca, cert, X509_PURPOSE_SSL_SERVER));
    {
        X509 *x = pem_cert(cert);
        T_EQ_INT(X509_check_host(x, "localhost", 0, 0, NULL), 1);
        T_EQ_INT(X509_check_ip_asc(x, "127.0.0.1", 0), 1);
        X509_free(x);
    }
    free(cert);
    free(key);
    cert = key = NULL;
    T_EQ_INT(mqtt_ca_issue(ca, ca_key, NULL, 0, "broker", "bad name!", NOW, 365, &cert, &key,
                           &info, err, sizeof err),
             -1);
    free(ca);
    free(ca_key);
}

static void mqtt_ca_refuses_requests_that_do_not_verify(void)
{
    char *ca = NULL, *ca_key = NULL, *csr = NULL, *key = NULL, *cert = NULL, err[200];
    mqtt_cert_info info;
    char *big;
    T_EQ_INT(mqtt_ca_create(NOW, 3650, &ca, &ca_key, err, sizeof err), 0);
    T_EQ_INT(mqtt_ca_make_csr("x", &csr, &key, err, sizeof err), 0);
    /* garbage, no request, a request with one byte changed, too long */
    T_EQ_INT(mqtt_ca_issue(ca, ca_key, "hello", 5, "app-1", NULL, NOW, 90, &cert, NULL, &info,
                           err, sizeof err),
             -1);
    T_TRUE(strstr(err, "csr") != NULL);
    {
        char *p = strstr(csr, "\n") + 40;
        *p = *p == 'A' ? 'B' : 'A';
        T_EQ_INT(mqtt_ca_issue(ca, ca_key, csr, strlen(csr), "app-1", NULL, NOW, 90, &cert, NULL,
                               &info, err, sizeof err),
                 -1);
        T_TRUE(cert == NULL);
    }
    big = calloc(MQTT_CA_CSR_MAX + 2, 1);
    memset(big, 'A', MQTT_CA_CSR_MAX + 1);
    T_EQ_INT(mqtt_ca_issue(ca, ca_key, big, MQTT_CA_CSR_MAX + 1, "app-1", NULL, NOW, 90, &cert,
                           NULL, &info, err, sizeof err),
             -1);
    free(big);
    free(csr);
    free(key);
    free(ca);
    free(ca_key);
}

static void mqtt_ca_signs_a_crl_of_the_serials(void)
{
    char *ca = NULL, *ca_key = NULL, *crl = NULL, err[200];
    const char *serials[] = {"1a2b3c4d5e6f708192a3b4c5d6e7f801", "10000000000000000000000000000002"};
    X509_CRL *c;
    BIO *b;
    T_EQ_INT(mqtt_ca_create(NOW, 3650, &ca, &ca_key, err, sizeof err), 0);
    T_EQ_INT(mqtt_ca_crl(ca, ca_key, serials, 2, NOW, 3650, &crl, err, sizeof err), 0);
    b = BIO_new_mem_buf(crl, -1);
    c = PEM_read_bio_X509_CRL(b, NULL, NULL, NULL);
    T_TRUE(c != NULL);
    T_EQ_INT(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(c)), 2);
    X509_CRL_free(c);
    BIO_free(b);
    free(crl);
    T_EQ_INT(mqtt_ca_crl(ca, ca_key, NULL, 0, NOW, 3650, &crl, err, sizeof err), 0);
    free(crl);
    {
        const char *bad[] = {"xyz"};
        T_EQ_INT(mqtt_ca_crl(ca, ca_key, bad, 1, NOW, 10, &crl, err, sizeof err), -1);
    }
    free(ca);
    free(ca_key);
}

void suite_mqtt_ca(void)
{
    T_RUN(mqtt_ca_issues_client_certificates_from_requests);
    T_RUN(mqtt_ca_issues_a_server_certificate_with_its_names);
    T_RUN(mqtt_ca_refuses_requests_that_do_not_verify);
    T_RUN(mqtt_ca_signs_a_crl_of_the_serials);
}
