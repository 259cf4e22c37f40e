#define _POSIX_C_SOURCE 200809L
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define METRON_VERSION "0.1.0"

void config_usage(void)
{
    fputs("Usage: metron-server [options]\n"
          "\n"
          "  --listen ADDR      IPv4:port or port to listen on (METRON_LISTEN;\n"
          "                     default 127.0.0.1:8080; port 0 picks a free port)\n"
          "  --data DIR         data folder: embedded PostgreSQL, access log\n"
          "                     (METRON_DATA; default ./var)\n"
          "  --portal DIR       static files of the portal (METRON_PORTAL; default ./portal)\n"
          "  --threads N        HTTP worker threads (METRON_THREADS; default 64)\n"
          "  --db-pool N        PostgreSQL connections (METRON_DB_POOL; default 4 per CPU,\n"
          "                     4..16)\n"
          "  --tls-cert FILE    PEM file with certificate and private key: serve HTTPS\n"
          "                     (METRON_TLS_CERT)\n"
          "  --access-log FILE  access log, '-' for stderr (METRON_ACCESS_LOG;\n"
          "                     default DATA/access.log)\n"
          "  --max-body BYTES   largest JSON request body (METRON_MAX_BODY; default 1048576)\n"
          "  --max-raw-body BYTES  largest ingestion batch body (METRON_MAX_RAW_BODY;\n"
          "                     default 67108864)\n"
          "  --body-memory BYTES  memory all request bodies in flight may hold together\n"
          "                     (METRON_BODY_MEMORY; default 268435456, at least the\n"
          "                     larger of the two limits above)\n"
          "  --jobs-interval S  run the background clean-ups every S seconds, 0 = never\n"
          "                     (METRON_JOBS_INTERVAL; default 60)\n"
          "  --mqtt URL         take batches from this MQTT broker, mqtts://host:port\n"
          "                     (METRON_MQTT_URL; docs/mqtt.md)\n"
          "  --mqtt-public URL  the broker as apps reach it (METRON_MQTT_PUBLIC_URL;\n"
          "                     default --mqtt)\n"
          "  --mqtt-dir DIR     write the broker's certificates, CRL and mosquitto.conf here\n"
          "                     (METRON_MQTT_DIR; default DATA/mqtt)\n"
          "  --mqtt-plugin FILE the broker plugin named in mosquitto.conf\n"
          "                     (METRON_MQTT_PLUGIN; default next to this binary)\n"
          "  --demo             create the demo accounts and print their logins\n"
          "  --help, --version\n"
          "\n"
          "Environment: DATABASE_URL (use this PostgreSQL; without it a private cluster\n"
          "is created in DATA/pg), METRON_SMTP_URL (smtp://host:port), METRON_SMTP_FROM,\n"
          "METRON_SMTP_TLS (required: STARTTLS or smtps; optional: plain when the relay\n"
          "offers no STARTTLS),\n"
          "METRON_PG_BIN (PostgreSQL binaries, default /usr/lib/postgresql/15/bin),\n"
          "METRON_NOTIFY_THREADS and the other METRON_NOTIFY_* (the outbox's senders:\n"
          "docs/notify.md).\n"
          "Exit codes: 0 stopped cleanly, 1 failure, 2 bad usage, 3 database schema\n"
          "newer than this server.\n",
          stdout);
}

int config_mqtt_url(const char *url, char *host, size_t cap, int *port)
{
    const char *h, *colon;
    char *end = NULL;
    long p;
    size_t n;
    if (strncmp(url, "mqtts://", 8) != 0) {
        return -1;
    }
    h = url + 8;
    colon = strrchr(h, ':');
    if (colon == NULL || colon == h) {
        return -1;
    }
    n = (size_t)(colon - h);
    if (n >= cap || n > 253) {
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        char c = h[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-')) {
            return -1;
        }
    }
    errno = 0;
    p = strtol(colon + 1, &end, 10);
    if (errno != 0 || end == colon + 1 || *end != '\0' || p < 1 || p > 65535) {
        return -1;
    }
    memcpy(host, h, n);
    host[n] = '\0';
    *port = (int)p;
    return 0;
}

static int parse_int(const char *s, long lo, long hi, long *out)
{
    char *end;
    long v;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi) {
        return -1;
    }
    *out = v;
    return 0;
}

/* "port" or "a.b.c.d:port": what CivetWeb's listening_ports takes, minus the
 * options we set ourselves ("s" for TLS). */
static int listen_valid(const char *s)
{
    char host[64];
    long port;
    const char *colon = strrchr(s, ':');
    if (colon == NULL) {
        return parse_int(s, 0, 65535, &port) == 0;
    }
    if ((size_t)(colon - s) >= sizeof host) {
        return 0;
    }
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    struct in_addr a;
    return inet_pton(AF_INET, host, &a) == 1 && parse_int(colon + 1, 0, 65535, &port) == 0;
}

static const char *env_or(const char *name, const char *dflt)
{
    const char *v = getenv(name);
    return (v != NULL && v[0] != '\0') ? v : dflt;
}

/* The outbox's environment (config.h notify_config). Returns 0, or -1 with
 * "err" naming the variable. */
static int notify_config_parse(notify_config *n, char *err, size_t err_cap)
{
    static const struct {
        const char *name, *dflt;
        long lo, hi;
        size_t off;
    } ints[] = {
        {"METRON_NOTIFY_THREADS", "4", 0, 64, offsetof(notify_config, threads)},
        {"METRON_NOTIFY_TIMEOUT_MS", "10000", 100, 120000, offsetof(notify_config, timeout_ms)},
        {"METRON_NOTIFY_LEASE_MS", "60000", 1000, 3600000, offsetof(notify_config, lease_ms)},
        {"METRON_NOTIFY_BACKOFF_MS", "30000", 10, 3600000, offsetof(notify_config, backoff_ms)},
        {"METRON_NOTIFY_BACKOFF_MAX_MS", "3600000", 10, 86400000,
         offsetof(notify_config, backoff_max_ms)},
        {"METRON_NOTIFY_MAX_FAILURES", "10", 1, 100, offsetof(notify_config, max_failures)},
    };
    const char *rate = env_or("METRON_NOTIFY_RATE_MS", "100,1000,500,3000");
    long v;
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        if (parse_int(env_or(ints[i].name, ints[i].dflt), ints[i].lo, ints[i].hi, &v) != 0) {
            snprintf(err, err_cap, "%s: expected an integer %ld..%ld", ints[i].name, ints[i].lo,
                     ints[i].hi);
            return -1;
        }
        *(int *)((char *)n + ints[i].off) = (int)v;
    }
    if (n->lease_ms < n->timeout_ms + 1000) {
        snprintf(err, err_cap, "METRON_NOTIFY_LEASE_MS must be at least "
                               "METRON_NOTIFY_TIMEOUT_MS + 1000");
        return -1;
    }
    if (n->backoff_max_ms < n->backoff_ms) {
        snprintf(err, err_cap, "METRON_NOTIFY_BACKOFF_MAX_MS must be at least "
                               "METRON_NOTIFY_BACKOFF_MS");
        return -1;
    }
    for (int i = 0; i < 4; i++) {
        char *end;
        errno = 0;
        v = strtol(rate, &end, 10);
        if (errno != 0 || end == rate || v < 0 || v > 3600000 ||
            *end != (i < 3 ? ',' : '\0')) {
            snprintf(err, err_cap, "METRON_NOTIFY_RATE_MS: expected four milliseconds "
                                   "email,slack,teams,wechat (e.g. 100,1000,500,3000)");
            return -1;
        }
        n->rate_ms[i] = (int)v;
        rate = end + 1;
    }
    n->allow_local = strcmp(env_or("METRON_NOTIFY_ALLOW_LOCAL", "0"), "1") == 0;
    n->ca_file = env_or("METRON_NOTIFY_CA_FILE", NULL);
    if (n->ca_file != NULL && access(n->ca_file, R_OK) != 0) {
        snprintf(err, err_cap, "METRON_NOTIFY_CA_FILE: cannot read '%.200s'", n->ca_file);
        return -1;
    }
    return 0;
}

config_result config_parse(srv_config *cfg, int argc, char **argv, char *err, size_t err_cap)
{
    const char *threads = env_or("METRON_THREADS", "64");
    /* PostgreSQL connections: 4 per CPU, 4..16. More backends than that
     * only take turns on the CPUs (measured: docs/benchmarks.md). */
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    char pool_default[16];
    snprintf(pool_default, sizeof pool_default, "%ld",
             cpus < 1 ? 16 : (cpus * 4 < 4 ? 4 : (cpus * 4 > 16 ? 16 : cpus * 4)));
    const char *pool = env_or("METRON_DB_POOL", pool_default);
    const char *max_body = env_or("METRON_MAX_BODY", "1048576");
    const char *max_raw_body = env_or("METRON_MAX_RAW_BODY", "67108864");
    const char *jobs_interval = env_or("METRON_JOBS_INTERVAL", "60");
    const char *body_memory = env_or("METRON_BODY_MEMORY", NULL);
    const char *smtp_tls;
    long v;

    memset(cfg, 0, sizeof *cfg);
    cfg->listen = env_or("METRON_LISTEN", "127.0.0.1:8080");
    cfg->database_url = env_or("DATABASE_URL", NULL);
    cfg->data_dir = env_or("METRON_DATA", "./var");
    cfg->portal_dir = env_or("METRON_PORTAL", "./portal");
    cfg->smtp_url = env_or("METRON_SMTP_URL", NULL);
    cfg->smtp_from = env_or("METRON_SMTP_FROM", "metron@localhost");
    smtp_tls = env_or("METRON_SMTP_TLS", "required");
    cfg->tls_cert = env_or("METRON_TLS_CERT", NULL);
    cfg->access_log = env_or("METRON_ACCESS_LOG", NULL);
    cfg->pg_bin = env_or("METRON_PG_BIN", "/usr/lib/postgresql/15/bin");
    cfg->test_routes = strcmp(env_or("METRON_TEST_ROUTES", "0"), "1") == 0;
    cfg->mqtt_url = env_or("METRON_MQTT_URL", NULL);
    cfg->mqtt_public = env_or("METRON_MQTT_PUBLIC_URL", NULL);
    cfg->mqtt_dir = env_or("METRON_MQTT_DIR", NULL);
    cfg->mqtt_plugin = env_or("METRON_MQTT_PLUGIN", NULL);

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *val = NULL;
        char name[32];
        const char *eq = strchr(arg, '=');
        size_t name_len = eq ? (size_t)(eq - arg) : strlen(arg);
        if (strncmp(arg, "--", 2) != 0 || name_len >= sizeof name) {
            snprintf(err, err_cap, "unexpected argument '%.60s' (see --help)", arg);
            return CONFIG_USAGE;
        }
        memcpy(name, arg, name_len);
        name[name_len] = '\0';
        if (!strcmp(name, "--help") || !strcmp(name, "--version") || !strcmp(name, "--demo")) {
            if (eq) {
                snprintf(err, err_cap, "%s takes no value", name);
                return CONFIG_USAGE;
            }
            if (!strcmp(name, "--help")) {
                config_usage();
                return CONFIG_EXIT;
            }
            if (!strcmp(name, "--version")) {
                puts("metron-server " METRON_VERSION);
                return CONFIG_EXIT;
            }
            cfg->demo = true;
            continue;
        }
        if (strcmp(name, "--listen") && strcmp(name, "--data") && strcmp(name, "--portal") &&
            strcmp(name, "--threads") && strcmp(name, "--db-pool") && strcmp(name, "--tls-cert") &&
            strcmp(name, "--access-log") && strcmp(name, "--max-body") &&
            strcmp(name, "--max-raw-body") && strcmp(name, "--jobs-interval") &&
            strcmp(name, "--body-memory") && strcmp(name, "--mqtt") &&
            strcmp(name, "--mqtt-public") && strcmp(name, "--mqtt-dir") &&
            strcmp(name, "--mqtt-plugin")) {
            snprintf(err, err_cap, "unknown option %s (see --help)", name);
            return CONFIG_USAGE;
        }
        if (eq) {
            val = eq + 1;
        } else if (i + 1 < argc) {
            val = argv[++i];
        } else {
            snprintf(err, err_cap, "%s needs a value (see --help)", name);
            return CONFIG_USAGE;
        }
        if (!strcmp(name, "--listen")) {
            cfg->listen = val;
        } else if (!strcmp(name, "--data")) {
            cfg->data_dir = val;
        } else if (!strcmp(name, "--portal")) {
            cfg->portal_dir = val;
        } else if (!strcmp(name, "--threads")) {
            threads = val;
        } else if (!strcmp(name, "--db-pool")) {
            pool = val;
        } else if (!strcmp(name, "--tls-cert")) {
            cfg->tls_cert = val;
        } else if (!strcmp(name, "--access-log")) {
            cfg->access_log = val;
        } else if (!strcmp(name, "--max-body")) {
            max_body = val;
        } else if (!strcmp(name, "--max-raw-body")) {
            max_raw_body = val;
        } else if (!strcmp(name, "--jobs-interval")) {
            jobs_interval = val;
        } else if (!strcmp(name, "--body-memory")) {
            body_memory = val;
        } else if (!strcmp(name, "--mqtt")) {
            cfg->mqtt_url = val;
        } else if (!strcmp(name, "--mqtt-public")) {
            cfg->mqtt_public = val;
        } else if (!strcmp(name, "--mqtt-dir")) {
            cfg->mqtt_dir = val;
        } else if (!strcmp(name, "--mqtt-plugin")) {
            cfg->mqtt_plugin = val;
        } else {
            snprintf(err, err_cap, "unknown option %s (see --help)", name);
            return CONFIG_USAGE;
        }
        if (val[0] == '\0') {
            snprintf(err, err_cap, "%s needs a non-empty value", name);
            return CONFIG_USAGE;
        }
    }

    if (!listen_valid(cfg->listen)) {
        snprintf(err, err_cap, "--listen '%.60s': expected PORT or IPv4:PORT", cfg->listen);
        return CONFIG_USAGE;
    }
    if (parse_int(threads, 2, 1024, &v) != 0) {
        snprintf(err, err_cap, "--threads '%.20s': expected an integer 2..1024", threads);
        return CONFIG_USAGE;
    }
    cfg->threads = (int)v;
    if (parse_int(pool, 1, 256, &v) != 0) {
        snprintf(err, err_cap, "--db-pool '%.20s': expected an integer 1..256", pool);
        return CONFIG_USAGE;
    }
    cfg->db_pool = (int)v;
    if (parse_int(max_body, 1024, 1L << 30, &v) != 0) {
        snprintf(err, err_cap, "--max-body '%.20s': expected bytes 1024..1073741824", max_body);
        return CONFIG_USAGE;
    }
    cfg->max_body = (size_t)v;
    if (parse_int(max_raw_body, 1024, 1L << 30, &v) != 0) {
        snprintf(err, err_cap, "--max-raw-body '%.20s': expected bytes 1024..1073741824",
                 max_raw_body);
        return CONFIG_USAGE;
    }
    cfg->max_raw_body = (size_t)v;
    /* The default budget holds four of the largest batches; a budget below
     * one largest body would refuse bodies the limits above accept. */
    if (body_memory == NULL) {
        size_t larger = cfg->max_raw_body > cfg->max_body ? cfg->max_raw_body : cfg->max_body;
        cfg->body_memory = larger > (256u << 20) ? larger : (256u << 20);
    } else if (parse_int(body_memory, 1024, 1L << 40, &v) != 0 ||
               (size_t)v < cfg->max_raw_body || (size_t)v < cfg->max_body) {
        snprintf(err, err_cap,
                 "--body-memory '%.20s': expected bytes, at least --max-body and --max-raw-body",
                 body_memory);
        return CONFIG_USAGE;
    } else {
        cfg->body_memory = (size_t)v;
    }
    if (parse_int(jobs_interval, 0, 86400, &v) != 0) {
        snprintf(err, err_cap, "--jobs-interval '%.20s': expected seconds 0..86400",
                 jobs_interval);
        return CONFIG_USAGE;
    }
    cfg->jobs_interval_s = (int)v;
    if (parse_int(env_or("METRON_COMPACT_MS", "30000"), 10, 3600000, &v) != 0) {
        snprintf(err, err_cap, "METRON_COMPACT_MS: expected milliseconds 10..3600000");
        return CONFIG_USAGE;
    }
    cfg->compact_ms = (int)v;
    if (notify_config_parse(&cfg->notify, err, err_cap) != 0) {
        return CONFIG_USAGE;
    }
    if (cfg->mqtt_url != NULL &&
        config_mqtt_url(cfg->mqtt_url, cfg->mqtt_host, sizeof cfg->mqtt_host, &cfg->mqtt_port)) {
        snprintf(err, err_cap, "--mqtt '%.60s': expected mqtts://host:port", cfg->mqtt_url);
        return CONFIG_USAGE;
    }
    if (cfg->mqtt_public != NULL) {
        char host[256];
        int port;
        if (cfg->mqtt_url == NULL) {
            snprintf(err, err_cap, "--mqtt-public needs --mqtt");
            return CONFIG_USAGE;
        }
        if (config_mqtt_url(cfg->mqtt_public, host, sizeof host, &port) != 0) {
            snprintf(err, err_cap, "--mqtt-public '%.60s': expected mqtts://host:port",
                     cfg->mqtt_public);
            return CONFIG_USAGE;
        }
    }
    if (strcmp(smtp_tls, "required") != 0 && strcmp(smtp_tls, "optional") != 0) {
        snprintf(err, err_cap, "METRON_SMTP_TLS: expected required or optional");
        return CONFIG_USAGE;
    }
    cfg->smtp_tls_optional = strcmp(smtp_tls, "optional") == 0;
    if (cfg->smtp_url != NULL && strncmp(cfg->smtp_url, "smtp://", 7) != 0 &&
        strncmp(cfg->smtp_url, "smtps://", 8) != 0) {
        snprintf(err, err_cap, "METRON_SMTP_URL: expected smtp://host:port or smtps://...");
        return CONFIG_USAGE;
    }
    return CONFIG_OK;
}
