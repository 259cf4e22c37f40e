#define _POSIX_C_SOURCE 200809L
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


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
          "  --conns-per-address N  connections one client address may hold at once\n"
          "                     (METRON_CONNS_PER_ADDRESS; default 0: a quarter of\n"
          "                     --threads, at least 2, loopback exempt;\n"
          "                     --trusted-proxies always exempt)\n"
          "  --db-pool N        PostgreSQL connections (METRON_DB_POOL; default 4 per CPU,\n"
          "                     4..16)\n"          "  --password-hashes N  password hashes (argon2id, 19 MiB each) at once\n"
          "                     (METRON_PASSWORD_HASHES; default 0: one per CPU, 2..8)\n"
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
          "  --batch-id-days N  keep ingestion batch ids N days, 0 = for ever\n"
          "                     (METRON_BATCH_ID_DAYS; default 30; docs/ingest.md)\n"
          "  --mqtt URL         take batches from this MQTT broker, mqtts://host:port\n"
          "                     (METRON_MQTT_URL; docs/mqtt.md)\n"
          "  --mqtt-public URL  the broker as apps reach it (METRON_MQTT_PUBLIC_URL;\n"
          "                     default --mqtt)\n"
          "  --mqtt-dir DIR     write the broker's certificates, CRL and mosquitto.conf here\n"
          "                     (METRON_MQTT_DIR; default DATA/mqtt)\n"
          "  --mqtt-plugin FILE the broker plugin named in mosquitto.conf\n"
          "                     (METRON_MQTT_PLUGIN; default next to this binary)\n"
          "  --trusted-proxies LIST  reverse proxies (addresses or networks, comma-separated)\n"
          "                     whose X-Forwarded-For and X-Forwarded-Proto are believed\n"
          "                     (METRON_TRUSTED_PROXIES; default none; docs/deploy.md)\n"
          "  --cors-origins LIST  portal origins (https://host[:port], comma-separated)\n"
          "                     allowed to call the API from another origin\n"
          "                     (METRON_CORS_ORIGINS; default none; docs/deploy.md)\n"
          "  --demo             create the demo accounts and print their logins\n"
          "  --help, --version\n"
          "\n"
          "Environment: DATABASE_URL (use this PostgreSQL; without it a private cluster\n"
          "is created in DATA/pg), METRON_REPLICA_URL (a streaming standby of it for\n"
          "reads at most METRON_REPLICA_MAX_LAG_MS stale, default 1000: docs/scale.md),\n"
          "METRON_SMTP_URL (smtp://host:port), METRON_SMTP_FROM,\n"
          "METRON_SMTP_TLS (required: STARTTLS or smtps; optional: plain when the relay\n"
          "offers no STARTTLS),\n"
          "METRON_PG_BIN (PostgreSQL binaries, default /usr/lib/postgresql/15/bin),\n"
          "METRON_NOTIFY_THREADS and the other METRON_NOTIFY_* (the outbox's senders:\n"
          "docs/notify.md), METRON_OPS_TOKEN (the operator's API, /api/v1/ops) and\n"
          "METRON_METRICS_TOKEN (GET /metrics): each off unless set (docs/operations.md).\n"
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
        {"METRON_NOTIFY_THREADS", "8", 0, 64, offsetof(notify_config, threads)},
        {"METRON_NOTIFY_TIMEOUT_MS", "10000", 100, 120000, offsetof(notify_config, timeout_ms)},
        {"METRON_NOTIFY_LEASE_MS", "60000", 1000, 3600000, offsetof(notify_config, lease_ms)},
        {"METRON_NOTIFY_BACKOFF_MS", "30000", 10, 3600000, offsetof(notify_config, backoff_ms)},
        {"METRON_NOTIFY_BACKOFF_MAX_MS", "3600000", 10, 86400000,
         offsetof(notify_config, backoff_max_ms)},
        {"METRON_NOTIFY_MAX_FAILURES", "10", 1, 100, offsetof(notify_config, max_failures)},
        {"METRON_NOTIFY_RECEIVER_LIMIT", "1", 1, 64, offsetof(notify_config, receiver_limit)},
        {"METRON_NOTIFY_MAIL_LIMIT", "0", 0, 64, offsetof(notify_config, mail_limit)},
        {"METRON_NOTIFY_HOST_LIMIT", "0", 0, 64, offsetof(notify_config, host_limit)},
        {"METRON_NOTIFY_HOST_HEALTHY_LIMIT", "0", 0, 64,
         offsetof(notify_config, healthy_host_limit)},
        {"METRON_NOTIFY_ACCOUNT_LIMIT", "0", 0, 64, offsetof(notify_config, account_limit)},
        {"METRON_NOTIFY_SLOW_MS", "1000", 100, 120000, offsetof(notify_config, slow_ms)},
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
    if (n->mail_limit == 0) { /* default: a hung relay holds half the threads at most */
        n->mail_limit = n->threads / 2 > 1 ? n->threads / 2 : 1;
    }
    if (n->host_limit == 0) { /* default: a hung webhook host holds a quarter at most */
        n->host_limit = n->threads / 4 > 1 ? n->threads / 4 : 1;
    }
    if (n->healthy_host_limit == 0) { /* default: a healthy host may have half the threads */
        n->healthy_host_limit = n->threads / 2 > n->host_limit ? n->threads / 2 : n->host_limit;
    } else if (n->healthy_host_limit < n->host_limit) {
        snprintf(err, err_cap,
                 "METRON_NOTIFY_HOST_HEALTHY_LIMIT must be at least "
                 "METRON_NOTIFY_HOST_LIMIT");
        return -1;
    }
    if (n->account_limit == 0) { /* default: one account's webhooks hold half the threads */
        n->account_limit = n->threads / 2 > 1 ? n->threads / 2 : 1;
    }
    /* The sender sends a claimed row only while the lease outlasts the
     * attempt by a second (outbox_sender.c); half a second more leaves time
     * between the claim and the send. At exactly the time-out + 1000 every
     * claimed row was handed back and nothing was ever sent. */
    if (n->lease_ms < n->timeout_ms + 1500) {
        snprintf(err, err_cap, "METRON_NOTIFY_LEASE_MS must be at least "
                               "METRON_NOTIFY_TIMEOUT_MS + 1500");
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

/* How a setting's text becomes its member of srv_config. */
typedef enum {
    OPT_STR,    /* const char *, as given */
    OPT_LISTEN, /* const char *, PORT or IPv4:PORT */
    OPT_SMTP,   /* const char *, smtp:// or smtps:// (or unset) */
    OPT_INT,    /* int in lo..hi */
    OPT_SIZE,   /* size_t in lo..hi */
    OPT_BODIES, /* size_t in lo..hi, at least max_body and max_raw_body (applied before it);
                 * unset: the larger of them, and at least 256 MiB */
    OPT_ON,     /* bool: "1" is on */
    OPT_SMTP_TLS, /* bool smtp_tls_optional: "required" (false) or "optional" (true) */
    OPT_TOKEN,    /* const char *, 32..256 printable ASCII characters without blanks */
    OPT_PROXIES,  /* net_list: addresses and networks (netaddr.h) */
    OPT_ORIGINS   /* origin_list: http(s) origins (netaddr.h) */
} opt_kind;

/* One setting: its flag (NULL: environment only), its environment variable
 * (NULL: flag only), its default (NULL: unset; see pool_default()), where
 * it goes, and for a refused value what was expected. Checked in this
 * order, so the first bad setting is the one reported. */
typedef struct {
    const char *flag;
    const char *env;
    const char *dflt;
    opt_kind kind;
    size_t off;
    long lo, hi;
    const char *expected;
} opt;

#define AT(member) offsetof(srv_config, member)
static const opt opts[] = {
    {"--listen", "METRON_LISTEN", "127.0.0.1:8080", OPT_LISTEN, AT(listen), 0, 0,
     "expected PORT or IPv4:PORT"},
    {NULL, "DATABASE_URL", NULL, OPT_STR, AT(database_url), 0, 0, NULL},
    {NULL, "METRON_REPLICA_URL", NULL, OPT_STR, AT(replica_url), 0, 0, NULL},
    {NULL, "METRON_REPLICA_MAX_LAG_MS", "1000", OPT_INT, AT(replica_max_lag_ms), 0, 3600000,
     "expected milliseconds 0..3600000"},
    {"--data", "METRON_DATA", "./var", OPT_STR, AT(data_dir), 0, 0, NULL},
    {"--portal", "METRON_PORTAL", "./portal", OPT_STR, AT(portal_dir), 0, 0, NULL},
    {NULL, "METRON_SMTP_FROM", "metron@localhost", OPT_STR, AT(smtp_from), 0, 0, NULL},
    {"--tls-cert", "METRON_TLS_CERT", NULL, OPT_STR, AT(tls_cert), 0, 0, NULL},
    {"--access-log", "METRON_ACCESS_LOG", NULL, OPT_STR, AT(access_log), 0, 0, NULL},
    {NULL, "METRON_PG_BIN", "/usr/lib/postgresql/15/bin", OPT_STR, AT(pg_bin), 0, 0, NULL},
    {NULL, "METRON_TEST_ROUTES", "0", OPT_ON, AT(test_routes), 0, 0, NULL},
    {"--mqtt", "METRON_MQTT_URL", NULL, OPT_STR, AT(mqtt_url), 0, 0, NULL},
    {"--mqtt-public", "METRON_MQTT_PUBLIC_URL", NULL, OPT_STR, AT(mqtt_public), 0, 0, NULL},
    {"--mqtt-dir", "METRON_MQTT_DIR", NULL, OPT_STR, AT(mqtt_dir), 0, 0, NULL},
    {"--mqtt-plugin", "METRON_MQTT_PLUGIN", NULL, OPT_STR, AT(mqtt_plugin), 0, 0, NULL},
    {"--threads", "METRON_THREADS", "64", OPT_INT, AT(threads), 2, 1024,
     "expected an integer 2..1024"},
    {"--conns-per-address", "METRON_CONNS_PER_ADDRESS", "0", OPT_INT, AT(conns_per_address), 0,
     1024, "expected an integer 0..1024"},
    {"--db-pool", "METRON_DB_POOL", NULL, OPT_INT, AT(db_pool), 1, 256,
     "expected an integer 1..256"},
    {"--password-hashes", "METRON_PASSWORD_HASHES", "0", OPT_INT, AT(password_hashes), 0, 64,
     "expected an integer 0..64"},
    {"--max-body", "METRON_MAX_BODY", "1048576", OPT_SIZE, AT(max_body), 1024, 1L << 30,
     "expected bytes 1024..1073741824"},
    {"--max-raw-body", "METRON_MAX_RAW_BODY", "67108864", OPT_SIZE, AT(max_raw_body), 1024,
     1L << 30, "expected bytes 1024..1073741824"},
    {"--body-memory", "METRON_BODY_MEMORY", NULL, OPT_BODIES, AT(body_memory), 1024, 1L << 40,
     "expected bytes, at least --max-body and --max-raw-body"},
    {"--jobs-interval", "METRON_JOBS_INTERVAL", "60", OPT_INT, AT(jobs_interval_s), 0, 86400,
     "expected seconds 0..86400"},
    {"--batch-id-days", "METRON_BATCH_ID_DAYS", "30", OPT_INT, AT(batch_id_days), 0, 3650,
     "expected days 0..3650"},
    {NULL, "METRON_COMPACT_MS", "30000", OPT_INT, AT(compact_ms), 10, 3600000,
     "expected milliseconds 10..3600000"},
    {NULL, "METRON_SMTP_TLS", "required", OPT_SMTP_TLS, AT(smtp_tls_optional), 0, 0,
     "expected required or optional"},
    {NULL, "METRON_SMTP_URL", NULL, OPT_SMTP, AT(smtp_url), 0, 0,
     "expected smtp://host:port or smtps://..."},
    {NULL, "METRON_OPS_TOKEN", NULL, OPT_TOKEN, AT(ops_token), 0, 0,
     "expected 32..256 printable characters without blanks (e.g. openssl rand -hex 32)"},
    {NULL, "METRON_METRICS_TOKEN", NULL, OPT_TOKEN, AT(metrics_token), 0, 0,
     "expected 32..256 printable characters without blanks (e.g. openssl rand -hex 32)"},
    {"--trusted-proxies", "METRON_TRUSTED_PROXIES", NULL, OPT_PROXIES, AT(trusted_proxies), 0, 0,
     NULL},
    {"--cors-origins", "METRON_CORS_ORIGINS", NULL, OPT_ORIGINS, AT(cors_origins), 0, 0, NULL},
};
#undef AT
#define N_OPTS (sizeof opts / sizeof opts[0])

/* The flags without a value. */
typedef enum { FLAG_HELP, FLAG_VERSION, FLAG_DEMO } flag_kind;
static const struct {
    const char *name;
    flag_kind kind;
} flags[] = {{"--help", FLAG_HELP}, {"--version", FLAG_VERSION}, {"--demo", FLAG_DEMO}};

/* The default of --db-pool: 4 PostgreSQL connections per CPU, 4..16. More
 * backends than that only take turns on the CPUs (measured:
 * docs/benchmarks.md). */
static void pool_default(char *out, size_t cap)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    snprintf(out, cap, "%ld", cpus < 1 ? 16 : (cpus * 4 < 4 ? 4 : (cpus * 4 > 16 ? 16 : cpus * 4)));
}

/* A token of the operator's functions (unset is fine: the function is
 * off): 32..256 printable ASCII characters, no blanks. */
static bool token_valid(const char *val)
{
    size_t n = val != NULL ? strlen(val) : 0;
    if (val == NULL) {
        return true;
    }
    if (n < 32 || n > 256) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (val[i] <= ' ' || val[i] > '~') {
            return false;
        }
    }
    return true;
}

/* Store the text "val" of setting "o" into "cfg", or describe why not. */
static config_result apply(srv_config *cfg, const opt *o, const char *val, char *err,
                           size_t err_cap)
{
    char *at = (char *)cfg + o->off;
    const char *name = o->flag != NULL ? o->flag : o->env;
    long v = 0;
    bool ok = true;
    switch (o->kind) {
    case OPT_STR: break;
    case OPT_LISTEN: ok = listen_valid(val); break;
    case OPT_SMTP:
        ok = val == NULL || strncmp(val, "smtp://", 7) == 0 || strncmp(val, "smtps://", 8) == 0;
        break;
    case OPT_INT:
    case OPT_SIZE: ok = parse_int(val, o->lo, o->hi, &v) == 0; break;
    case OPT_BODIES:
        if (val == NULL) { /* four of the largest batches by default */
            size_t larger = cfg->max_raw_body > cfg->max_body ? cfg->max_raw_body : cfg->max_body;
            v = (long)(larger > (256u << 20) ? larger : (256u << 20));
        } else {
            ok = parse_int(val, o->lo, o->hi, &v) == 0 && (size_t)v >= cfg->max_raw_body &&
                 (size_t)v >= cfg->max_body;
        }
        break;
    case OPT_ON: break;
    case OPT_SMTP_TLS: ok = strcmp(val, "required") == 0 || strcmp(val, "optional") == 0; break;
    case OPT_TOKEN: ok = token_valid(val); break;
    case OPT_PROXIES:
    case OPT_ORIGINS: {
        /* Parsed straight into place; the message names the bad entry. */
        char why[160];
        int rc = o->kind == OPT_PROXIES
                     ? net_list_parse(val, (net_list *)(void *)at, why, sizeof why)
                     : origin_list_parse(val, (origin_list *)(void *)at, why, sizeof why);
        if (rc != 0) {
            snprintf(err, err_cap, "%s: %s", name, why);
            return CONFIG_USAGE;
        }
        return CONFIG_OK;
    }
    }
    if (!ok) {
        if (o->flag == NULL) { /* an environment variable: the value is not repeated */
            snprintf(err, err_cap, "%s: %s", name, o->expected);
        } else {
            snprintf(err, err_cap, "%s '%.*s': %s", name, o->kind == OPT_LISTEN ? 60 : 20, val,
                     o->expected);
        }
        return CONFIG_USAGE;
    }
    switch (o->kind) {
    case OPT_STR:
    case OPT_LISTEN:
    case OPT_TOKEN:
    case OPT_SMTP: memcpy(at, &val, sizeof val); break;
    case OPT_INT: {
        int i = (int)v;
        memcpy(at, &i, sizeof i);
        break;
    }
    case OPT_SIZE:
    case OPT_BODIES: {
        size_t z = (size_t)v;
        memcpy(at, &z, sizeof z);
        break;
    }
    case OPT_ON: {
        bool on = strcmp(val, "1") == 0;
        memcpy(at, &on, sizeof on);
        break;
    }
    case OPT_SMTP_TLS: {
        bool optional = strcmp(val, "optional") == 0;
        memcpy(at, &optional, sizeof optional);
        break;
    }
    case OPT_PROXIES:
    case OPT_ORIGINS: break; /* done above */
    }
    return CONFIG_OK;
}

config_result config_parse(srv_config *cfg, int argc, char **argv, char *err, size_t err_cap)
{
    const char *vals[N_OPTS];
    char pool[16];

    memset(cfg, 0, sizeof *cfg);
    pool_default(pool, sizeof pool);
    for (size_t k = 0; k < N_OPTS; k++) {
        const char *dflt = opts[k].dflt;
        if (dflt == NULL && opts[k].off == offsetof(srv_config, db_pool)) {
            dflt = pool;
        }
        vals[k] = opts[k].env != NULL ? env_or(opts[k].env, dflt) : dflt;
    }

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *val = NULL;
        char name[32];
        const char *eq = strchr(arg, '=');
        size_t name_len = eq ? (size_t)(eq - arg) : strlen(arg), k;
        bool is_flag = false;
        if (strncmp(arg, "--", 2) != 0 || name_len >= sizeof name) {
            snprintf(err, err_cap, "unexpected argument '%.60s' (see --help)", arg);
            return CONFIG_USAGE;
        }
        memcpy(name, arg, name_len);
        name[name_len] = '\0';
        for (size_t f = 0; f < sizeof flags / sizeof flags[0]; f++) {
            if (strcmp(name, flags[f].name) != 0) {
                continue;
            }
            if (eq) {
                snprintf(err, err_cap, "%s takes no value", name);
                return CONFIG_USAGE;
            }
            if (flags[f].kind == FLAG_HELP) {
                config_usage();
                return CONFIG_EXIT;
            }
            if (flags[f].kind == FLAG_VERSION) {
                puts("metron-server " METRON_VERSION);
                return CONFIG_EXIT;
            }
            cfg->demo = true;
            is_flag = true;
        }
        if (is_flag) {
            continue;
        }
        for (k = 0; k < N_OPTS && (opts[k].flag == NULL || strcmp(name, opts[k].flag)); k++) {
        }
        if (k == N_OPTS) {
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
        if (val[0] == '\0') {
            snprintf(err, err_cap, "%s needs a non-empty value", name);
            return CONFIG_USAGE;
        }
        vals[k] = val;
    }

    for (size_t k = 0; k < N_OPTS; k++) {
        if (apply(cfg, &opts[k], vals[k], err, err_cap) != CONFIG_OK) {
            return CONFIG_USAGE;
        }
    }
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
    return CONFIG_OK;
}
