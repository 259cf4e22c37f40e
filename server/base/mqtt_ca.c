/* Metron's certificate authority for MQTTS (see mqtt_ca.h). */
#define _POSIX_C_SOURCE 200809L
#include "mqtt_ca.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int fail(char *err, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
    ERR_clear_error();
    return -1;
}

static EVP_PKEY *new_key(void)
{
    return EVP_EC_gen("P-256");
}

/* The PEM text of what "write" writes to a memory BIO (caller frees). */
static char *bio_text(BIO *b)
{
    char *data = NULL, *out;
    long n = BIO_get_mem_data(b, &data);
    if (n < 0 || (out = malloc((size_t)n + 1)) == NULL) {
        return NULL;
    }
    memcpy(out, data, (size_t)n);
    out[n] = '\0';
    return out;
}

static char *cert_pem_of(X509 *x)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *out = NULL;
    if (b != NULL && PEM_write_bio_X509(b, x) == 1) {
        out = bio_text(b);
    }
    BIO_free(b);
    return out;
}

static char *key_pem_of(EVP_PKEY *k)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *out = NULL;
    if (b != NULL && PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL) == 1) {
        out = bio_text(b);
    }
    BIO_free(b);
    return out;
}

static X509 *read_cert(const char *pem)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    X509 *x = b != NULL ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    return x;
}

static EVP_PKEY *read_key(const char *pem)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *k = b != NULL ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    return k;
}

/* 128 random bits as the serial (positive: the top bit cleared). */
static int set_serial(X509 *x, char hex[MQTT_CA_SERIAL_HEX + 1])
{
    unsigned char raw[16];
    BIGNUM *bn = NULL;
    ASN1_INTEGER *ai = NULL;
    int ok = 0;
    if (RAND_bytes(raw, sizeof raw) != 1) {
        return -1;
    }
    raw[0] &= 0x7F;
    raw[0] |= 0x10; /* always 32 hex digits */
    for (int i = 0; i < 16; i++) {
        snprintf(hex + 2 * i, 3, "%02x", raw[i]);
    }
    bn = BN_bin2bn(raw, sizeof raw, NULL);
    if (bn != NULL && (ai = BN_to_ASN1_INTEGER(bn, NULL)) != NULL &&
        X509_set_serialNumber(x, ai) == 1) {
        ok = 1;
    }
    ASN1_INTEGER_free(ai);
    BN_free(bn);
    return ok ? 0 : -1;
}

static int add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *ext;
    int ok;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (ext == NULL) {
        return -1;
    }
    ok = X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    return ok == 1 ? 0 : -1;
}

static int set_name(X509_NAME *name, const char *cn)
{
    return X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (const unsigned char *)"Metron",
                                      -1, -1, 0) == 1 &&
                   X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                              (const unsigned char *)cn, -1, -1, 0) == 1
               ? 0
               : -1;
}

static int set_validity(X509 *x, int64_t now, int days)
{
    /* A minute back: clocks of apps and brokers are not exact. */
    return ASN1_TIME_set(X509_getm_notBefore(x), (time_t)(now - 60)) != NULL &&
                   ASN1_TIME_set(X509_getm_notAfter(x), (time_t)(now + (int64_t)days * 86400)) !=
                       NULL
               ? 0
               : -1;
}

static int64_t time_of(const ASN1_TIME *t)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (ASN1_TIME_to_tm(t, &tm) != 1) {
        return 0;
    }
    /* timegm() is not C11: days from the civil date (Howard Hinnant). */
    {
        int64_t y = tm.tm_year + 1900, m = tm.tm_mon + 1, d = tm.tm_mday;
        int64_t era, yoe, doy, doe;
        y -= m <= 2;
        era = (y >= 0 ? y : y - 399) / 400;
        yoe = y - era * 400;
        doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
        doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        return (era * 146097 + doe - 719468) * 86400 + tm.tm_hour * 3600 + tm.tm_min * 60 +
               tm.tm_sec;
    }
}

static void info_of(X509 *x, mqtt_cert_info *info)
{
    const ASN1_INTEGER *ai = X509_get0_serialNumber(x);
    BIGNUM *bn = ASN1_INTEGER_to_BN(ai, NULL);
    char *hex = bn != NULL ? BN_bn2hex(bn) : NULL;
    size_t n = 0;
    memset(info, 0, sizeof *info);
    for (const char *p = hex; p != NULL && *p != '\0' && n < MQTT_CA_SERIAL_HEX; p++) {
        info->serial[n++] = (char)(*p >= 'A' && *p <= 'F' ? *p - 'A' + 'a' : *p);
    }
    info->serial[n] = '\0';
    OPENSSL_free(hex);
    BN_free(bn);
    info->not_before = time_of(X509_get0_notBefore(x));
    info->not_after = time_of(X509_get0_notAfter(x));
}

int mqtt_ca_create(int64_t now, int days, char **cert_pem, char **key_pem, char *err,
                   size_t cap)
{
    EVP_PKEY *k = new_key();
    X509 *x = X509_new();
    char serial[MQTT_CA_SERIAL_HEX + 1];
    int rc = -1;
    *cert_pem = *key_pem = NULL;
    if (k == NULL || x == NULL || X509_set_version(x, 2) != 1 || set_serial(x, serial) != 0 ||
        set_validity(x, now, days) != 0 || set_name(X509_get_subject_name(x), "Metron MQTT CA") ||
        X509_set_issuer_name(x, X509_get_subject_name(x)) != 1 || X509_set_pubkey(x, k) != 1 ||
        add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") != 0 ||
        add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign") != 0 ||
        add_ext(x, x, NID_subject_key_identifier, "hash") != 0 ||
        X509_sign(x, k, EVP_sha256()) <= 0) {
        fail(err, cap, "the CA could not be made");
        goto out;
    }
    *cert_pem = cert_pem_of(x);
    *key_pem = key_pem_of(k);
    if (*cert_pem == NULL || *key_pem == NULL) {
        free(*cert_pem);
        free(*key_pem);
        *cert_pem = *key_pem = NULL;
        fail(err, cap, "out of memory");
        goto out;
    }
    rc = 0;
out:
    X509_free(x);
    EVP_PKEY_free(k);
    return rc;
}

/* Subject alternative names "DNS:a,IP:127.0.0.1" of "names" (a, 127.0.0.1). */
static int san_of(const char *names, char *out, size_t cap)
{
    size_t n = 0;
    const char *p = names;
    out[0] = '\0';
    while (*p != '\0') {
        size_t len = strcspn(p, ",");
        bool ip = len > 0 && strspn(p, "0123456789.:abcdefABCDEF") >= len &&
                  (memchr(p, '.', len) != NULL || memchr(p, ':', len) != NULL);
        int w;
        if (len == 0 || len > 253) {
            return -1;
        }
        for (size_t i = 0; i < len; i++) {
            char c = p[i];
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '-' || c == ':')) {
                return -1;
            }
        }
        w = snprintf(out + n, cap - n, "%s%s:%.*s", n ? "," : "", ip ? "IP" : "DNS", (int)len, p);
        if (w < 0 || (size_t)w >= cap - n) {
            return -1;
        }
        n += (size_t)w;
        p += len;
        if (*p == ',') {
            p++;
        }
    }
    return n > 0 ? 0 : -1;
}

int mqtt_ca_issue(const char *ca_cert_pem, const char *ca_key_pem, const char *csr_pem,
                  size_t csr_len, const char *cn, const char *server_names, int64_t now,
                  int days, char **cert_pem, char **key_pem, mqtt_cert_info *info, char *err,
                  size_t cap)
{
    X509 *ca = read_cert(ca_cert_pem), *x = NULL;
    EVP_PKEY *ca_key = read_key(ca_key_pem), *pub = NULL, *own = NULL;
    X509_REQ *req = NULL;
    char serial[MQTT_CA_SERIAL_HEX + 1], san[1200];
    int rc = -1;
    *cert_pem = NULL;
    if (key_pem != NULL) {
        *key_pem = NULL;
    }
    memset(info, 0, sizeof *info);
    if (ca == NULL || ca_key == NULL) {
        fail(err, cap, "the CA's certificate or key does not read");
        goto out;
    }
    if (csr_pem != NULL) {
        BIO *b;
        if (csr_len == 0 || csr_len > MQTT_CA_CSR_MAX || memchr(csr_pem, '\0', csr_len) != NULL) {
            fail(err, cap, "csr: expected a PEM certificate signing request of at most %d bytes",
                 MQTT_CA_CSR_MAX);
            goto out;
        }
        b = BIO_new_mem_buf(csr_pem, (int)csr_len);
        req = b != NULL ? PEM_read_bio_X509_REQ(b, NULL, NULL, NULL) : NULL;
        BIO_free(b);
        if (req == NULL) {
            fail(err, cap, "csr: not a PEM certificate signing request (BEGIN CERTIFICATE REQUEST)");
            goto out;
        }
        pub = X509_REQ_get_pubkey(req);
        if (pub == NULL || X509_REQ_verify(req, pub) != 1) {
            fail(err, cap, "csr: its signature does not verify with its own public key");
            goto out;
        }
        if (EVP_PKEY_get_bits(pub) < (EVP_PKEY_get_base_id(pub) == EVP_PKEY_RSA ? 2048 : 256)) {
            fail(err, cap, "csr: the key is too short (P-256 or RSA 2048 and longer)");
            goto out;
        }
    } else {
        own = new_key();
        pub = own;
        if (pub != NULL) {
            EVP_PKEY_up_ref(pub);
        }
    }
    if (pub == NULL) {
        fail(err, cap, "no key for the certificate");
        goto out;
    }
    if (server_names != NULL && san_of(server_names, san, sizeof san) != 0) {
        fail(err, cap, "server names: expected host names and IP addresses separated by commas");
        goto out;
    }
    x = X509_new();
    if (x == NULL || X509_set_version(x, 2) != 1 || set_serial(x, serial) != 0 ||
        set_validity(x, now, days) != 0 || set_name(X509_get_subject_name(x), cn) != 0 ||
        X509_set_issuer_name(x, X509_get_subject_name(ca)) != 1 || X509_set_pubkey(x, pub) != 1 ||
        add_ext(x, ca, NID_basic_constraints, "critical,CA:FALSE") != 0 ||
        add_ext(x, ca, NID_key_usage, "critical,digitalSignature,keyAgreement") != 0 ||
        add_ext(x, ca, NID_ext_key_usage, server_names != NULL ? "serverAuth" : "clientAuth") ||
        add_ext(x, ca, NID_authority_key_identifier, "keyid") != 0 ||
        (server_names != NULL && add_ext(x, ca, NID_subject_alt_name, san) != 0) ||
        X509_sign(x, ca_key, EVP_sha256()) <= 0) {
        fail(err, cap, "the certificate could not be made");
        goto out;
    }
    *cert_pem = cert_pem_of(x);
    if (*cert_pem == NULL || (own != NULL && key_pem != NULL && (*key_pem = key_pem_of(own)) == NULL)) {
        free(*cert_pem);
        *cert_pem = NULL;
        fail(err, cap, "out of memory");
        goto out;
    }
    info_of(x, info);
    rc = 0;
out:
    X509_free(x);
    X509_free(ca);
    X509_REQ_free(req);
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(pub);
    EVP_PKEY_free(own);
    ERR_clear_error();
    return rc;
}

int mqtt_ca_crl(const char *ca_cert_pem, const char *ca_key_pem, const char *const *serials,
                size_t n, int64_t now, int days, char **crl_pem, char *err, size_t cap)
{
    X509 *ca = read_cert(ca_cert_pem);
    EVP_PKEY *ca_key = read_key(ca_key_pem);
    X509_CRL *crl = X509_CRL_new();
    ASN1_TIME *t = ASN1_TIME_set(NULL, (time_t)now), *next = NULL;
    BIO *b = NULL;
    int rc = -1;
    *crl_pem = NULL;
    if (ca == NULL || ca_key == NULL || crl == NULL || t == NULL) {
        fail(err, cap, "the CA's certificate or key does not read");
        goto out;
    }
    next = ASN1_TIME_set(NULL, (time_t)(now + (int64_t)days * 86400));
    if (next == NULL || X509_CRL_set_version(crl, 1) != 1 ||
        X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca)) != 1 ||
        X509_CRL_set1_lastUpdate(crl, t) != 1 || X509_CRL_set1_nextUpdate(crl, next) != 1) {
        fail(err, cap, "the CRL could not be made");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        X509_REVOKED *r = X509_REVOKED_new();
        BIGNUM *bn = NULL;
        ASN1_INTEGER *ai = NULL;
        int ok = r != NULL && BN_hex2bn(&bn, serials[i]) > 0 &&
                 (ai = BN_to_ASN1_INTEGER(bn, NULL)) != NULL &&
                 X509_REVOKED_set_serialNumber(r, ai) == 1 &&
                 X509_REVOKED_set_revocationDate(r, t) == 1 && X509_CRL_add0_revoked(crl, r) == 1;
        ASN1_INTEGER_free(ai);
        BN_free(bn);
        if (!ok) {
            X509_REVOKED_free(r);
            fail(err, cap, "serial %.40s does not read", serials[i]);
            goto out;
        }
    }
    if (X509_CRL_sort(crl) != 1 || X509_CRL_sign(crl, ca_key, EVP_sha256()) <= 0 ||
        (b = BIO_new(BIO_s_mem())) == NULL || PEM_write_bio_X509_CRL(b, crl) != 1 ||
        (*crl_pem = bio_text(b)) == NULL) {
        fail(err, cap, "the CRL could not be signed");
        goto out;
    }
    rc = 0;
out:
    BIO_free(b);
    ASN1_TIME_free(t);
    ASN1_TIME_free(next);
    X509_CRL_free(crl);
    X509_free(ca);
    EVP_PKEY_free(ca_key);
    ERR_clear_error();
    return rc;
}

int mqtt_ca_make_csr(const char *cn, char **csr_pem, char **key_pem, char *err, size_t cap)
{
    EVP_PKEY *k = new_key();
    X509_REQ *req = X509_REQ_new();
    BIO *b = NULL;
    int rc = -1;
    *csr_pem = *key_pem = NULL;
    if (k == NULL || req == NULL || set_name(X509_REQ_get_subject_name(req), cn) != 0 ||
        X509_REQ_set_pubkey(req, k) != 1 || X509_REQ_sign(req, k, EVP_sha256()) <= 0 ||
        (b = BIO_new(BIO_s_mem())) == NULL || PEM_write_bio_X509_REQ(b, req) != 1 ||
        (*csr_pem = bio_text(b)) == NULL || (*key_pem = key_pem_of(k)) == NULL) {
        free(*csr_pem);
        *csr_pem = NULL;
        fail(err, cap, "the certificate signing request could not be made");
        goto out;
    }
    rc = 0;
out:
    BIO_free(b);
    X509_REQ_free(req);
    EVP_PKEY_free(k);
    return rc;
}

int mqtt_ca_cert_info(const char *cert_pem, mqtt_cert_info *info, char *err, size_t cap)
{
    X509 *x = read_cert(cert_pem);
    if (x == NULL) {
        return fail(err, cap, "not a PEM certificate");
    }
    info_of(x, info);
    X509_free(x);
    return 0;
}
