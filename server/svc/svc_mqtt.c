/* MQTTS with mutual TLS: the CA's rules (see svc_mqtt.h). */
#define _POSIX_C_SOURCE 200809L
#include "svc_mqtt.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth.h"
#include "db_apps.h"
#include "db_mqtt.h"
#include "log.h"
#include "mqtt_ca.h"
#include "svc_ingest.h"
#include "svc_tx.h"

#define CA_DAYS 3650
#define BROKER_DAYS 825
#define SERVER_DAYS 30
#define CRL_DAYS 3650
#define CRL_PAGE 1000

/* The CA, read or made once per process. */
static pthread_mutex_t ca_mu = PTHREAD_MUTEX_INITIALIZER;
static char *ca_cert, *ca_key;

svc_status svc_mqtt_ca(srv *s, const char **cert_pem, const char **key_pem, svc_error *e)
{
    db_conn *c = NULL;
    bool found = false;
    db_status st;
    svc_status rc = SVC_OK;
    pthread_mutex_lock(&ca_mu);
    if (ca_cert != NULL) {
        goto done;
    }
    if ((st = db_acquire(s->pool, DB_WAIT_MS, &c)) != DB_OK) {
        rc = svc_fail_db(e, st, NULL);
        goto done;
    }
    st = db_mqtt_ca_get(c, &ca_cert, &ca_key, &found);
    if (st == DB_OK && !found) {
        char *cert = NULL, *key = NULL, err[200];
        if (mqtt_ca_create(auth_now(), CA_DAYS, &cert, &key, err, sizeof err) != 0) {
            rc = svc_fail(e, SVC_INTERNAL, NULL, NULL, "the MQTT CA: %s", err);
        } else if ((st = db_mqtt_ca_put(c, cert, key)) == DB_OK) {
            /* Another server may have made one first: take the stored one. */
            st = db_mqtt_ca_get(c, &ca_cert, &ca_key, &found);
            if (st == DB_OK && found) {
                log_info("mqtt: made Metron's certificate authority");
            }
        }
        free(cert);
        if (key != NULL) {
            memset(key, 0, strlen(key));
        }
        free(key);
    }
    db_release(s->pool, c);
    if (rc == SVC_OK && st != DB_OK) {
        rc = svc_fail_db(e, st, NULL);
    } else if (rc == SVC_OK && !found) {
        rc = svc_fail(e, SVC_INTERNAL, NULL, NULL, "the MQTT CA could not be stored");
    }
done:
    if (rc == SVC_OK) {
        *cert_pem = ca_cert;
        *key_pem = ca_key;
    }
    pthread_mutex_unlock(&ca_mu);
    return rc;
}

svc_status svc_mqtt_issue(srv *s, const char *credential, const char *csr, size_t len,
                          svc_mqtt_issued *out, svc_error *e)
{
    const char *cap_cert = NULL, *cap_key = NULL;
    db_conn *c = NULL;
    ingest_result r;
    mqtt_cert_info info;
    long long active = 0;
    char cn[40], err[240];
    svc_status rc;

    memset(out, 0, sizeof *out);
    memset(&r, 0, sizeof r);
    svc_error_clear(e);
    if (s->cfg.mqtt_url == NULL) {
        return svc_fail(e, SVC_UNAVAILABLE, "mqtt_off", NULL,
                        "this server takes no MQTT: send batches over HTTPS");
    }
    if ((rc = svc_mqtt_ca(s, &cap_cert, &cap_key, e)) != SVC_OK) {
        return rc;
    }
    if ((rc = svc_tx_begin(s->pool, &c, e)) != SVC_OK) {
        goto out;
    }
    if (svc_ingest_app(c, credential, svc_ingest_now_us(), &r, NULL, e) != SVC_OK) {
        rc = e->status != SVC_OK ? e->status : SVC_INTERNAL;
        goto out;
    }
    SVC_TRY_DB(db_apps_lock_account(c, r.account_id), NULL);
    SVC_TRY_DB(db_mqtt_cert_active(c, r.account_id, r.app_id, auth_now(), &active), NULL);
    if (active >= SVC_MQTT_ACTIVE_MAX) {
        rc = svc_fail(e, SVC_CONFLICT, "too_many_certificates", NULL,
                      "the app has %d active certificates: an administrator revokes one first",
                      SVC_MQTT_ACTIVE_MAX);
        goto out;
    }
    snprintf(cn, sizeof cn, "app-%lld", r.app_id);
    if (mqtt_ca_issue(cap_cert, cap_key, csr, len, cn, NULL, auth_now(), SVC_MQTT_CERT_DAYS,
                      &out->cert_pem, NULL, &info, err, sizeof err) != 0) {
        rc = svc_fail(e, SVC_INVALID, "invalid_csr", "csr", "%s", err);
        goto out;
    }
    SVC_TRY_DB(db_mqtt_cert_add(c, r.account_id, r.app_id, info.serial, info.not_before,
                                info.not_after, &out->cert_id),
               NULL);
    memcpy(out->serial, info.serial, sizeof out->serial);
    out->not_after = info.not_after;
    out->app_id = r.app_id;
    out->ca_pem = cap_cert;
out:
    rc = svc_tx_end(s->pool, c, rc, e, NULL);
    if (rc != SVC_OK) {
        free(out->cert_pem);
        out->cert_pem = NULL;
    }
    return rc;
}

/* The app "app_id" as the actor may see it. */
static svc_status visible(db_conn *c, const svc_actor *a, long long app_id, svc_error *e)
{
    db_app row;
    bool found = false;
    db_status st;
    memset(&row, 0, sizeof row);
    st = db_app_get(c, a->account_id, a->admin ? 0 : a->user_id, app_id, &row, &found);
    db_app_clear(&row);
    if (st != DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    return found ? SVC_OK : svc_fail(e, SVC_NOT_FOUND, NULL, NULL, "no such app");
}

svc_status svc_mqtt_certs(const svc_actor *a, long long app_id, char **json, svc_error *e)
{
    db_conn *c = NULL;
    db_status st;
    svc_status rc;
    *json = NULL;
    svc_error_clear(e);
    if ((st = db_acquire(a->srv->pool, DB_WAIT_MS, &c)) != DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    if ((rc = visible(c, a, app_id, e)) == SVC_OK &&
        (st = db_mqtt_cert_list(c, a->account_id, app_id, json)) != DB_OK) {
        rc = svc_fail_db(e, st, NULL);
    }
    db_release(a->srv->pool, c);
    return rc;
}

svc_status svc_mqtt_revoke(const svc_actor *a, long long app_id, long long cert_id,
                           svc_error *e)
{
    audit_who who = svc_who(a);
    db_conn *c = NULL;
    bool found = false, already = false;
    char id[24];
    svc_status rc;
    svc_error_clear(e);
    if ((rc = svc_tx_begin(a->srv->pool, &c, e)) != SVC_OK) {
        goto out;
    }
    if ((rc = visible(c, a, app_id, e)) != SVC_OK) {
        goto out;
    }
    SVC_TRY_DB(db_mqtt_cert_revoke(c, a->account_id, app_id, cert_id, a->user_id, &found,
                                   &already),
               NULL);
    if (!found) {
        rc = svc_fail(e, SVC_NOT_FOUND, NULL, NULL, "no such certificate of this app");
        goto out;
    }
    if (already) {
        rc = svc_fail(e, SVC_CONFLICT, "already_revoked", NULL,
                      "this certificate was revoked before");
        goto out;
    }
    snprintf(id, sizeof id, "%lld", cert_id);
    SVC_TRY_DB(audit_write_kv(c, &who, "app.certificate_revoke", "app", app_id, "certificate", id),
               NULL);
out:
    return svc_tx_end(a->srv->pool, c, rc, e, NULL);
}

/* ------------------------------------------------------- broker's files */

const char *svc_mqtt_dir(const srv *s, char *buf, size_t cap)
{
    if (s->cfg.mqtt_dir != NULL) {
        snprintf(buf, cap, "%s", s->cfg.mqtt_dir);
    } else {
        snprintf(buf, cap, "%s/mqtt", s->cfg.data_dir);
    }
    return buf;
}

static int write_file(const char *dir, const char *name, const char *text, int mode)
{
    char tmp[PATH_MAX], path[PATH_MAX];
    size_t len = strlen(text), off = 0;
    int fd;
    snprintf(tmp, sizeof tmp, "%s/.%s.tmp", dir, name);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) {
        return -1;
    }
    while (off < len) {
        ssize_t n = write(fd, text + off, len - off);
        if (n <= 0) {
            close(fd);
            unlink(tmp);
            return -1;
        }
        off += (size_t)n;
    }
    if (fsync(fd) != 0 || close(fd) != 0 || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* As root, Mosquitto drops to its own user before it reads its key: hand
 * the key to that user when it exists. */
static void key_to_broker_user(const char *dir)
{
    struct passwd pw, *found = NULL;
    char buf[1024], path[PATH_MAX];
    if (geteuid() != 0 || getpwnam_r("mosquitto", &pw, buf, sizeof buf, &found) != 0 ||
        found == NULL) {
        return;
    }
    if ((size_t)snprintf(path, sizeof path, "%s/broker.key", dir) >= sizeof path) {
        return;
    }
    if (chown(path, pw.pw_uid, pw.pw_gid) != 0) {
        log_warn("mqtt: cannot give %s to the mosquitto user: %s", path, strerror(errno));
    }
}

static char *read_text(const char *dir, const char *name)
{
    char path[PATH_MAX], *buf;
    FILE *f;
    long n;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || n > 1 << 20 ||
        fseek(f, 0, SEEK_SET) != 0 || (buf = malloc((size_t)n + 1)) == NULL) {
        fclose(f);
        return NULL;
    }
    if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        fclose(f);
        return NULL;
    }
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* Whether the broker's certificate in "dir" is from CA "ca" (same issuer
 * text check: the CA's PEM is in ca.pem next to it) and lasts 30 more days. */
static bool broker_cert_current(const char *dir, const char *ca)
{
    char *old_ca = read_text(dir, "ca.pem"), *cert = read_text(dir, "broker.crt"), err[200];
    mqtt_cert_info info;
    bool ok = old_ca != NULL && cert != NULL && strcmp(old_ca, ca) == 0 &&
              mqtt_ca_cert_info(cert, &info, err, sizeof err) == 0 &&
              info.not_after > auth_now() + 30 * 86400LL;
    free(old_ca);
    free(cert);
    return ok;
}

/* The broker plugin: --mqtt-plugin, or ../broker/metron_mosquitto.so from
 * this binary. */
static void plugin_path(const srv *s, char *buf, size_t cap)
{
    char exe[PATH_MAX];
    ssize_t n;
    if (s->cfg.mqtt_plugin != NULL) {
        snprintf(buf, cap, "%s", s->cfg.mqtt_plugin);
        return;
    }
    n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) {
        snprintf(buf, cap, "metron_mosquitto.so");
        return;
    }
    exe[n] = '\0';
    *strrchr(exe, '/') = '\0';
    if ((size_t)snprintf(buf, cap, "%s/../broker/metron_mosquitto.so", exe) >= cap) {
        snprintf(buf, cap, "metron_mosquitto.so");
    }
}

/* The CRL of every revoked serial not expired, written to DIR/crl.pem. */
static svc_status write_crl(srv *s, db_conn *c, const char *dir, svc_error *e)
{
    const char *cert, *key;
    db_mqtt_revoked *page = calloc(CRL_PAGE, sizeof *page);
    const char **serials = NULL;
    size_t n_all = 0, cap_all = 0, n = 0;
    long long after = 0;
    char *crl = NULL, err[200];
    svc_status rc;
    db_status st;
    if (page == NULL) {
        return svc_fail_nomem(e);
    }
    if ((rc = svc_mqtt_ca(s, &cert, &key, e)) != SVC_OK) {
        free(page);
        return rc;
    }
    do {
        if ((st = db_mqtt_revoked_since(c, after, auth_now(), page, CRL_PAGE, &n)) != DB_OK) {
            rc = svc_fail_db(e, st, NULL);
            goto out;
        }
        for (size_t i = 0; i < n; i++) {
            if (n_all == cap_all) {
                size_t nc = cap_all ? cap_all * 2 : 256;
                const char **g = realloc(serials, nc * sizeof *g);
                if (g == NULL) {
                    rc = svc_fail_nomem(e);
                    goto out;
                }
                serials = g;
                cap_all = nc;
            }
            serials[n_all] = strdup(page[i].serial);
            if (serials[n_all] == NULL) {
                rc = svc_fail_nomem(e);
                goto out;
            }
            n_all++;
            after = page[i].id;
        }
    } while (n == CRL_PAGE);
    if (mqtt_ca_crl(cert, key, serials, n_all, auth_now(), CRL_DAYS, &crl, err, sizeof err)) {
        rc = svc_fail(e, SVC_INTERNAL, NULL, NULL, "the CRL: %s", err);
        goto out;
    }
    if (write_file(dir, "crl.pem", crl, 0644) != 0) {
        rc = svc_fail(e, SVC_INTERNAL, NULL, NULL, "%s/crl.pem: %s", dir, strerror(errno));
    }
out:
    for (size_t i = 0; i < n_all; i++) {
        free((char *)serials[i]);
    }
    free(serials);
    free(page);
    free(crl);
    return rc;
}

svc_status svc_mqtt_setup(srv *s, char **cert_pem, char **key_pem, svc_error *e)
{
    const char *ca, *ca_key_pem;
    char dir[PATH_MAX], names[600], plugin[PATH_MAX], conf[16384], err[200];
    int n_conf;
    char pub_host[256] = "";
    int pub_port = 0;
    mqtt_cert_info info;
    db_conn *c = NULL;
    db_status st;
    svc_status rc;
    bool local;

    *cert_pem = *key_pem = NULL;
    svc_error_clear(e);
    if ((rc = svc_mqtt_ca(s, &ca, &ca_key_pem, e)) != SVC_OK) {
        return rc;
    }
    svc_mqtt_dir(s, dir, sizeof dir);
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        return svc_fail(e, SVC_INTERNAL, NULL, NULL, "%s: %s", dir, strerror(errno));
    }
    /* The broker's names: the hosts of both URLs and loopback. */
    if (s->cfg.mqtt_public != NULL) {
        config_mqtt_url(s->cfg.mqtt_public, pub_host, sizeof pub_host, &pub_port);
    }
    snprintf(names, sizeof names, "localhost,127.0.0.1,%s%s%s", s->cfg.mqtt_host,
             pub_host[0] ? "," : "", pub_host);
    if (!broker_cert_current(dir, ca)) {
        char *bcert = NULL, *bkey = NULL;
        if (mqtt_ca_issue(ca, ca_key_pem, NULL, 0, "metron-broker", names, auth_now(),
                          BROKER_DAYS, &bcert, &bkey, &info, err, sizeof err) != 0) {
            return svc_fail(e, SVC_INTERNAL, NULL, NULL, "the broker's certificate: %s", err);
        }
        if (write_file(dir, "broker.key", bkey, 0600) != 0 ||
            write_file(dir, "broker.crt", bcert, 0644) != 0 ||
            write_file(dir, "ca.pem", ca, 0644) != 0) {
            free(bcert);
            free(bkey);
            return svc_fail(e, SVC_INTERNAL, NULL, NULL, "%s: %s", dir, strerror(errno));
        }
        free(bcert);
        free(bkey);
        log_info("mqtt: wrote the broker's certificate for %s into %s", names, dir);
    }
    key_to_broker_user(dir);
    if ((st = db_acquire(s->pool, DB_WAIT_MS, &c)) != DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    rc = write_crl(s, c, dir, e);
    db_release(s->pool, c);
    if (rc != SVC_OK) {
        return rc;
    }
    plugin_path(s, plugin, sizeof plugin);
    local = strcmp(s->cfg.mqtt_host, "127.0.0.1") == 0 || strcmp(s->cfg.mqtt_host, "localhost") == 0;
    n_conf = snprintf(conf, sizeof conf,
             "# Written by metron-server at each start (docs/mqtt.md). Start the broker with\n"
             "#   mosquitto -c %s/mosquitto.conf\n"
             "per_listener_settings false\n"
             "allow_anonymous false\n"
             "persistence false\n"
             "log_dest stderr\n"
             "log_type error\nlog_type warning\nlog_type notice\n"
             "max_packet_size 16777216\n"
             "set_tcp_nodelay true\n"
             "listener %d%s\n"
             "protocol mqtt\n"
             "cafile %s/ca.pem\n"
             "certfile %s/broker.crt\n"
             "keyfile %s/broker.key\n"
             "require_certificate true\n"
             "tls_version tlsv1.2\n"
             "plugin %s\n"
             "plugin_opt_crl %s/crl.pem\n"
             "plugin_opt_server_identity " SVC_MQTT_SERVER_IDENTITY "\n",
             dir, s->cfg.mqtt_port, local ? " 127.0.0.1" : "", dir, dir, dir, plugin, dir);
    if (n_conf < 0 || (size_t)n_conf >= sizeof conf) {
        return svc_fail(e, SVC_INTERNAL, NULL, NULL, "the MQTT folder's path is too long");
    }
    if (write_file(dir, "mosquitto.conf", conf, 0644) != 0) {
        return svc_fail(e, SVC_INTERNAL, NULL, NULL, "%s/mosquitto.conf: %s", dir,
                        strerror(errno));
    }
    /* This process's own client certificate: short-lived, made at each
     * start, never stored. */
    if (mqtt_ca_issue(ca, ca_key_pem, NULL, 0, SVC_MQTT_SERVER_IDENTITY, NULL, auth_now(),
                      SERVER_DAYS, cert_pem, key_pem, &info, err, sizeof err) != 0) {
        return svc_fail(e, SVC_INTERNAL, NULL, NULL, "the server's certificate: %s", err);
    }
    return SVC_OK;
}

svc_status svc_mqtt_revocations(srv *s, long long after_id, db_mqtt_revoked *out, size_t cap,
                                size_t *n, svc_error *e)
{
    char dir[PATH_MAX];
    db_conn *c = NULL;
    db_status st;
    svc_status rc = SVC_OK;
    *n = 0;
    svc_error_clear(e);
    if ((st = db_acquire(s->pool, DB_WAIT_MS, &c)) != DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    if ((st = db_mqtt_revoked_since(c, after_id, auth_now(), out, cap, n)) != DB_OK) {
        rc = svc_fail_db(e, st, NULL);
    } else if (*n > 0) {
        rc = write_crl(s, c, svc_mqtt_dir(s, dir, sizeof dir), e);
    }
    db_release(s->pool, c);
    return rc;
}
