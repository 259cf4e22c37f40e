/* metron-server configuration: command-line flags over environment variables
 * over defaults (docs/server.md lists them). */
#ifndef MTS_CONFIG_H
#define MTS_CONFIG_H

#include "mt/status.h"
#include "netaddr.h"

#include <stdbool.h>
#include <stddef.h>

/* The outbox's senders (docs/notify.md, "Configuration"); environment only. */
typedef struct {
    int threads;           /* METRON_NOTIFY_THREADS 0..64 (4); 0 = this process sends nothing */
    int timeout_ms;        /* METRON_NOTIFY_TIMEOUT_MS: one attempt at most (10000) */
    int lease_ms;          /* METRON_NOTIFY_LEASE_MS: a claim's lease (60000), > timeout */
    int backoff_ms;        /* METRON_NOTIFY_BACKOFF_MS: first retry delay (30000) */
    int backoff_max_ms;    /* METRON_NOTIFY_BACKOFF_MAX_MS: longest retry delay (3600000) */
    int max_failures;      /* METRON_NOTIFY_MAX_FAILURES: dead after this many (10) */
    int rate_ms[4];        /* METRON_NOTIFY_RATE_MS "email,slack,teams,wechat" spacing per
                            * receiver ("100,1000,500,3000") */
    int receiver_limit;    /* METRON_NOTIFY_RECEIVER_LIMIT: attempts in flight per webhook
                            * receiver, across processes (1) */
    int mail_limit;        /* METRON_NOTIFY_MAIL_LIMIT: mails in flight through the relay,
                            * across processes (half the threads, at least 1) */
    int host_limit;        /* METRON_NOTIFY_HOST_LIMIT: webhook attempts in flight per
                            * receiving host (the URL's host and port), across processes
                            * (a quarter of the threads, at least 1) while the host's
                            * last attempt ended without an answer (timed out or failed
                            * to connect) */
    int healthy_host_limit; /* METRON_NOTIFY_HOST_HEALTHY_LIMIT: the same for a host whose
                             * last attempt was answered (or that has none): half the
                             * threads, at least host_limit */
    int account_limit;     /* METRON_NOTIFY_ACCOUNT_LIMIT: webhook attempts in flight per
                            * account, whatever their hosts, across processes (half the
                            * threads, at least 1); mail is not counted */
    int slow_ms;           /* METRON_NOTIFY_SLOW_MS: a webhook attempt in flight this long
                            * counts its host as in trouble for the account's share of
                            * hosts in trouble (1000; 079) */
    bool allow_local;      /* METRON_NOTIFY_ALLOW_LOCAL=1: webhooks may reach loopback and
                            * link-local addresses (tests, benchmarks) */
    const char *ca_file;   /* METRON_NOTIFY_CA_FILE: the CA certificates that webhook
                            * receivers' TLS certificates are checked against, instead of
                            * the system's; NULL = the system's */
} notify_config;

/* The server's version (--version, GET /metrics). */
#define METRON_VERSION "0.1.0"

typedef struct {
    const char *listen;       /* "127.0.0.1:8080", "8080", "127.0.0.1:0" */
    const char *database_url; /* NULL: the embedded cluster in data_dir/pg */
    const char *replica_url;  /* METRON_REPLICA_URL: a streaming standby of the database for
                               * reads that may be slightly stale (docs/scale.md); NULL = none */
    int replica_max_lag_ms;   /* METRON_REPLICA_MAX_LAG_MS: reads go to the standby only while
                               * it is at most this stale (docs/scale.md) */
    const char *data_dir;     /* created if missing */
    const char *portal_dir;   /* static files root */
    const char *smtp_url;     /* NULL: no mail (logged instead) */
    const char *smtp_from;
    bool smtp_tls_optional;   /* METRON_SMTP_TLS=optional: plain SMTP when the relay
                               * offers no STARTTLS (default: TLS required) */
    const char *tls_cert;     /* PEM with certificate and key; NULL: plain HTTP */
    const char *access_log;   /* NULL: data_dir/access.log; "-": stderr */
    const char *pg_bin;       /* PostgreSQL binaries for the embedded cluster */
    int threads;              /* CivetWeb worker threads */
    int conns_per_address;    /* --conns-per-address: connections one client address may
                               * hold at once (trusted proxies exempt); 0 = a quarter of
                               * the threads, at least 2, loopback exempt too
                               * (docs/server.md "HTTP") */
    int db_pool;              /* PostgreSQL connections */
    int password_hashes;      /* --password-hashes: argon2id hashes at once (auth_password.h);
                               * 0 = one per CPU, 2..8 */
    size_t max_body;          /* largest JSON request body, bytes */
    size_t max_raw_body;      /* largest BODY_RAW body (ingestion batches), bytes */
    size_t body_memory;       /* what all request bodies in flight may hold together, bytes */
    int compact_ms;           /* compactor interval (hot rows -> day blocks), ms */
    int jobs_interval_s;      /* background jobs (jobs.h) every N s; 0 = off */
    int batch_id_days;        /* METRON_BATCH_ID_DAYS: batch ids kept N days (30), 0 = for
                               * ever (docs/ingest.md) */
    const char *mqtt_url;     /* "mqtts://host:port": the broker the server takes batches
                               * from (docs/mqtt.md); NULL: no MQTT */
    const char *mqtt_public;  /* the broker as apps reach it (default mqtt_url) */
    const char *mqtt_dir;     /* the broker's files the server writes (default DATA/mqtt) */
    const char *mqtt_plugin;  /* the broker plugin for mosquitto.conf (NULL: next to the binary) */
    char mqtt_host[256];      /* parsed from mqtt_url */
    int mqtt_port;
    const char *ops_token;    /* METRON_OPS_TOKEN: the operator's API (/api/v1/ops);
                               * NULL = off. 32..256 printable ASCII characters */
    const char *metrics_token; /* METRON_METRICS_TOKEN: GET /metrics; NULL = off */
    bool demo;                /* seed the demo accounts */
    bool test_routes;         /* METRON_TEST_ROUTES=1: debug routes for tests */
    net_list trusted_proxies; /* --trusted-proxies: whose X-Forwarded-For / -Proto is read
                               * (docs/deploy.md); empty = nobody's */
    origin_list cors_origins; /* --cors-origins: portal origins allowed to call the API
                               * from another origin (docs/deploy.md); empty = none */
    notify_config notify;
} srv_config;

typedef enum {
    CONFIG_OK = 0,  /* run */
    CONFIG_EXIT = 1, /* --help or --version was printed: exit 0 */
    CONFIG_USAGE = 2 /* "err" says what is wrong: exit 2 */
} config_result;

/* Fill "cfg" from "argv" and the environment. Strings in "cfg" borrow from
 * "argv" and the environment (both live as long as the process). On
 * CONFIG_USAGE, "err" holds a one-line message. */
/* Split "mqtts://host:port" into "host" ("cap" bytes: letters, digits,
 * '.', '-', ':' of an IPv6 address in brackets are not taken) and *port.
 * 0, or -1 when it is not such a URL. */
int config_mqtt_url(const char *url, char *host, size_t cap, int *port);

MT_MUSTCHECK
config_result config_parse(srv_config *cfg, int argc, char **argv, char *err, size_t err_cap);

/* Print the --help text to stdout. */
void config_usage(void);

#endif
