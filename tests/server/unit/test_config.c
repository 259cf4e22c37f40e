/* server/base/config.c: flags over environment over defaults, as tables of
 * command lines and what each must give. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "t.h"

/* The environment variables the cases set; each case starts from none. */
static const char *const env_names[] = {"METRON_LISTEN",  "DATABASE_URL",     "METRON_THREADS",
                                        "METRON_SMTP_URL", "METRON_COMPACT_MS", "METRON_TEST_ROUTES",
                                        "METRON_MAX_BODY", "METRON_OPS_TOKEN",
                                        "METRON_METRICS_TOKEN", "METRON_TRUSTED_PROXIES",
                                        "METRON_CORS_ORIGINS", "METRON_REPLICA_URL",
                                        "METRON_REPLICA_MAX_LAG_MS", "METRON_BATCH_ID_DAYS",
                                        "METRON_NOTIFY_THREADS", "METRON_NOTIFY_MAIL_LIMIT",
                                        "METRON_NOTIFY_HOST_LIMIT",
                                        "METRON_NOTIFY_HOST_HEALTHY_LIMIT",
                                        "METRON_NOTIFY_ACCOUNT_LIMIT", "METRON_NOTIFY_SLOW_MS",
                                        "METRON_NOTIFY_TIMEOUT_MS", "METRON_NOTIFY_LEASE_MS"};

#define MAX_ARGS 8

typedef struct {
    const char *args[MAX_ARGS]; /* NULL-terminated */
    const char *env[2];         /* "NAME=value" or NULL */
} command;

static config_result run(const command *c, srv_config *cfg, char *err, size_t cap)
{
    char *argv[MAX_ARGS + 2];
    int argc = 0;
    for (size_t i = 0; i < sizeof env_names / sizeof env_names[0]; i++) {
        unsetenv(env_names[i]);
    }
    for (int i = 0; i < 2 && c->env[i] != NULL; i++) {
        char buf[128];
        char *eq;
        strncpy(buf, c->env[i], sizeof buf - 1);
        buf[sizeof buf - 1] = '\0';
        eq = strchr(buf, '=');
        *eq = '\0';
        setenv(buf, eq + 1, 1);
    }
    argv[argc++] = "metron-server";
    for (int i = 0; i < MAX_ARGS && c->args[i] != NULL; i++) {
        argv[argc++] = (char *)c->args[i];
    }
    argv[argc] = NULL;
    err[0] = '\0';
    return config_parse(cfg, argc, argv, err, cap);
}

static void config_refuses_bad_values_naming_the_setting(void)
{
    static const struct {
        command cmd;
        const char *err; /* the message starts with this */
    } cases[] = {
        {{{"--listen", "example.com:80"}, {NULL}}, "--listen 'example.com:80': expected PORT"},
        {{{"--listen", "127.0.0.1:70000"}, {NULL}}, "--listen '127.0.0.1:70000'"},
        {{{NULL}, {"METRON_LISTEN=nowhere"}}, "--listen 'nowhere'"},
        {{{"--threads", "many"}, {NULL}}, "--threads 'many': expected an integer 2..1024"},
        {{{"--threads=1"}, {NULL}}, "--threads '1'"},
        {{{NULL}, {"METRON_THREADS=2000"}}, "--threads '2000'"},
        {{{"--db-pool", "0"}, {NULL}}, "--db-pool '0': expected an integer 1..256"},
        {{{"--max-body", "12"}, {NULL}}, "--max-body '12': expected bytes"},
        {{{"--max-raw-body=2000000000"}, {NULL}}, "--max-raw-body '2000000000'"},
        {{{"--jobs-interval", "-1"}, {NULL}}, "--jobs-interval '-1': expected seconds"},
        {{{"--batch-id-days", "3651"}, {NULL}}, "--batch-id-days '3651': expected days 0..3650"},
        {{{NULL}, {"METRON_BATCH_ID_DAYS=-1"}}, "--batch-id-days '-1'"},
        {{{"--body-memory", "1000"}, {NULL}}, "--body-memory '1000': expected bytes, at least"},
        {{{"--max-raw-body=4096", "--body-memory=2048"}, {NULL}}, "--body-memory '2048'"},
        {{{NULL}, {"METRON_COMPACT_MS=5"}}, "METRON_COMPACT_MS: expected milliseconds"},
        {{{NULL}, {"METRON_NOTIFY_HOST_LIMIT=65"}},
         "METRON_NOTIFY_HOST_LIMIT: expected an integer 0..64"},
        {{{NULL}, {"METRON_NOTIFY_HOST_HEALTHY_LIMIT=1", "METRON_NOTIFY_HOST_LIMIT=2"}},
         "METRON_NOTIFY_HOST_HEALTHY_LIMIT must be at least METRON_NOTIFY_HOST_LIMIT"},
        {{{NULL}, {"METRON_NOTIFY_ACCOUNT_LIMIT=65"}},
         "METRON_NOTIFY_ACCOUNT_LIMIT: expected an integer 0..64"},
        {{{NULL}, {"METRON_NOTIFY_ACCOUNT_LIMIT=-1"}},
         "METRON_NOTIFY_ACCOUNT_LIMIT: expected an integer 0..64"},
        {{{NULL}, {"METRON_NOTIFY_ACCOUNT_LIMIT=half"}},
         "METRON_NOTIFY_ACCOUNT_LIMIT: expected an integer 0..64"},
        {{{NULL}, {"METRON_NOTIFY_SLOW_MS=99"}},
         "METRON_NOTIFY_SLOW_MS: expected an integer 100..120000"},
        {{{NULL}, {"METRON_NOTIFY_SLOW_MS=120001"}},
         "METRON_NOTIFY_SLOW_MS: expected an integer 100..120000"},
        {{{NULL}, {"METRON_NOTIFY_TIMEOUT_MS=2000", "METRON_NOTIFY_LEASE_MS=3000"}},
         "METRON_NOTIFY_LEASE_MS must be at least METRON_NOTIFY_TIMEOUT_MS + 1500"},
        {{{NULL}, {"METRON_SMTP_URL=http://mail"}}, "METRON_SMTP_URL: expected smtp://"},
        {{{NULL}, {"METRON_REPLICA_MAX_LAG_MS=-5"}}, "METRON_REPLICA_MAX_LAG_MS: expected milliseconds"},
        {{{NULL}, {"METRON_OPS_TOKEN=too-short"}}, "METRON_OPS_TOKEN: expected 32..256 printable"},
        {{{NULL}, {"METRON_METRICS_TOKEN=0123456789abcdef 0123456789abcdef"}},
         "METRON_METRICS_TOKEN: expected 32..256"},
        {{{"--demo=yes"}, {NULL}}, "--demo takes no value"},
        {{{"--portal="}, {NULL}}, "--portal needs a non-empty value"},
        {{{"--data"}, {NULL}}, "--data needs a value"},
        {{{"--colour", "red"}, {NULL}}, "unknown option --colour"},
        {{{"listen"}, {NULL}}, "unexpected argument 'listen'"},
        {{{"--a-very-long-option-name-indeed-yes"}, {NULL}}, "unexpected argument"},
        {{{"--trusted-proxies", "127.0.0.1,proxy.example"}, {NULL}},
         "--trusted-proxies: 'proxy.example' is not an IPv4 or IPv6 address"},
        {{{NULL}, {"METRON_TRUSTED_PROXIES=10.0.0.0/40"}}, "--trusted-proxies: '10.0.0.0/40'"},
        {{{"--cors-origins", "*"}, {NULL}}, "--cors-origins: '*' is not an origin"},
        {{{NULL}, {"METRON_CORS_ORIGINS=https://portal.example.com/app"}},
         "--cors-origins: 'https://portal.example.com/app' is not an origin"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        srv_config cfg;
        char err[200];
        config_result r = run(&cases[i].cmd, &cfg, err, sizeof err);
        if (r != CONFIG_USAGE || strncmp(err, cases[i].err, strlen(cases[i].err)) != 0) {
            T_FAIL("case %zu: result %d, \"%s\", want \"%s...\"", i, (int)r, err, cases[i].err);
        }
    }
}

static void config_takes_flags_over_environment_over_defaults(void)
{
    static const struct {
        command cmd;
        const char *listen;
        int threads;
        size_t max_body;
        bool demo;
        bool test_routes;
        bool has_db_url;
    } cases[] = {
        {{{NULL}, {NULL}}, "127.0.0.1:8080", 64, 1048576, false, false, false},
        {{{NULL}, {"METRON_LISTEN=127.0.0.1:7000", "METRON_THREADS=4"}}, "127.0.0.1:7000", 4,
         1048576, false, false, false},
        {{{"--listen", "127.0.0.1:9000", "--threads=8", "--demo"},
          {"METRON_LISTEN=127.0.0.1:7000", "METRON_THREADS=4"}},
         "127.0.0.1:9000", 8, 1048576, true, false, false},
        {{{"--listen", "8081", "--max-body=2048"}, {NULL}}, "8081", 64, 2048, false, false, false},
        {{{NULL}, {"METRON_TEST_ROUTES=1", "DATABASE_URL=postgresql:///x"}}, "127.0.0.1:8080", 64,
         1048576, false, true, true},
        {{{NULL}, {"METRON_TEST_ROUTES=yes"}}, "127.0.0.1:8080", 64, 1048576, false, false, false},
        {{{NULL}, {"METRON_LISTEN="}}, "127.0.0.1:8080", 64, 1048576, false, false, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        srv_config cfg;
        char err[200];
        config_result r = run(&cases[i].cmd, &cfg, err, sizeof err);
        if (r != CONFIG_OK || strcmp(cfg.listen, cases[i].listen) != 0 ||
            cfg.threads != cases[i].threads || cfg.max_body != cases[i].max_body ||
            cfg.demo != cases[i].demo || cfg.test_routes != cases[i].test_routes ||
            (cfg.database_url != NULL) != cases[i].has_db_url) {
            T_FAIL("case %zu: result %d (%s), listen %s threads %d max_body %zu demo %d", i,
                   (int)r, err, r == CONFIG_OK ? cfg.listen : "-", cfg.threads, cfg.max_body,
                   (int)cfg.demo);
        }
    }
}

static void config_defaults_fill_every_setting(void)
{
    static const command none = {{NULL}, {NULL}};
    srv_config cfg;
    char err[200];
    T_EQ_INT(run(&none, &cfg, err, sizeof err), CONFIG_OK);
    T_EQ_STR(cfg.data_dir, "./var");
    T_EQ_STR(cfg.portal_dir, "./portal");
    T_EQ_STR(cfg.smtp_from, "metron@localhost");
    T_EQ_STR(cfg.pg_bin, "/usr/lib/postgresql/15/bin");
    T_TRUE(cfg.smtp_url == NULL && cfg.tls_cert == NULL && cfg.access_log == NULL);
    T_TRUE(cfg.db_pool >= 4 && cfg.db_pool <= 16);
    T_EQ_INT(cfg.max_raw_body, 67108864);
    T_EQ_INT(cfg.jobs_interval_s, 60);
    T_EQ_INT(cfg.batch_id_days, 30);
    T_EQ_INT(cfg.compact_ms, 30000);
    T_EQ_INT(cfg.body_memory, 256u << 20);
    T_TRUE(cfg.ops_token == NULL && cfg.metrics_token == NULL); /* both off */
    T_EQ_INT(cfg.trusted_proxies.n, 0); /* nobody's X-Forwarded-For is believed */
    T_EQ_INT(cfg.cors_origins.n, 0);    /* no other origin may read the API */
    T_TRUE(cfg.replica_url == NULL);    /* no read replica */
    T_EQ_INT(cfg.replica_max_lag_ms, 1000);
}

/* The outbox's limits in flight (docs/notify.md, "Order and receivers in
 * flight"): mail half the sender threads, a webhook host a quarter (a
 * healthy one half), an account's webhooks half, at least 1; each may be
 * set, 0 meaning the default. */
static void config_notify_limits_follow_the_threads(void)
{
    static const struct {
        command cmd;
        int threads, receiver, mail, host, healthy, account;
    } cases[] = {
        {{{NULL}, {NULL}}, 8, 1, 4, 2, 4, 4},
        {{{NULL}, {"METRON_NOTIFY_THREADS=16"}}, 16, 1, 8, 4, 8, 8},
        {{{NULL}, {"METRON_NOTIFY_THREADS=2"}}, 2, 1, 1, 1, 1, 1},
        {{{NULL}, {"METRON_NOTIFY_THREADS=3"}}, 3, 1, 1, 1, 1, 1},
        {{{NULL}, {"METRON_NOTIFY_THREADS=0"}}, 0, 1, 1, 1, 1, 1},
        {{{NULL}, {"METRON_NOTIFY_HOST_LIMIT=3", "METRON_NOTIFY_MAIL_LIMIT=5"}}, 8, 1, 5, 3, 4, 4},
        {{{NULL}, {"METRON_NOTIFY_HOST_LIMIT=6"}}, 8, 1, 4, 6, 6, 4},
        {{{NULL}, {"METRON_NOTIFY_HOST_HEALTHY_LIMIT=7"}}, 8, 1, 4, 2, 7, 4},
        {{{NULL}, {"METRON_NOTIFY_TIMEOUT_MS=2000", "METRON_NOTIFY_LEASE_MS=3500"}},
         8,
         1,
         4,
         2,
         4,
         4},
        {{{NULL}, {"METRON_NOTIFY_ACCOUNT_LIMIT=6"}}, 8, 1, 4, 2, 4, 6},
        {{{NULL}, {"METRON_NOTIFY_ACCOUNT_LIMIT=64"}}, 8, 1, 4, 2, 4, 64},
        {{{NULL}, {"METRON_NOTIFY_ACCOUNT_LIMIT=0"}}, 8, 1, 4, 2, 4, 4},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        srv_config cfg;
        char err[200];
        config_result r;
        memset(&cfg, 0, sizeof cfg);
        r = run(&cases[i].cmd, &cfg, err, sizeof err);
        if (r != CONFIG_OK || cfg.notify.threads != cases[i].threads ||
            cfg.notify.receiver_limit != cases[i].receiver ||
            cfg.notify.mail_limit != cases[i].mail || cfg.notify.host_limit != cases[i].host ||
            cfg.notify.healthy_host_limit != cases[i].healthy ||
            cfg.notify.account_limit != cases[i].account || cfg.notify.slow_ms != 1000) {
            T_FAIL("case %zu: result %d (%s), threads %d receiver %d mail %d host %d healthy %d "
                   "account %d",
                   i, (int)r, err, cfg.notify.threads, cfg.notify.receiver_limit,
                   cfg.notify.mail_limit, cfg.notify.host_limit, cfg.notify.healthy_host_limit,
                   cfg.notify.account_limit);
        }
    }
}

static void config_reads_proxies_and_origins(void)
{
    static const command flags = {
        {"--trusted-proxies", "127.0.0.1, 10.0.0.0/8", "--cors-origins=https://portal.example.com"},
        {"METRON_TRUSTED_PROXIES=192.0.2.1", NULL}};
    static const command env = {{NULL}, {"METRON_CORS_ORIGINS=http://127.0.0.1:8081 https://b.example",
                                         NULL}};
    srv_config cfg;
    char err[200];
    T_EQ_INT(run(&flags, &cfg, err, sizeof err), CONFIG_OK);
    T_EQ_INT(cfg.trusted_proxies.n, 2); /* the flag wins over the environment */
    T_TRUE(net_list_has(&cfg.trusted_proxies, "10.3.4.5"));
    T_TRUE(!net_list_has(&cfg.trusted_proxies, "192.0.2.1"));
    T_EQ_INT(cfg.cors_origins.n, 1);
    T_EQ_STR(cfg.cors_origins.origin[0], "https://portal.example.com");
    T_EQ_INT(run(&env, &cfg, err, sizeof err), CONFIG_OK);
    T_EQ_INT(cfg.cors_origins.n, 2);
    T_TRUE(origin_list_find(&cfg.cors_origins, "http://127.0.0.1:8081") != NULL);
}

void suite_config(void)
{
    T_RUN(config_reads_proxies_and_origins);
    T_RUN(config_refuses_bad_values_naming_the_setting);
    T_RUN(config_takes_flags_over_environment_over_defaults);
    T_RUN(config_defaults_fill_every_setting);
    T_RUN(config_notify_limits_follow_the_threads);
    for (size_t i = 0; i < sizeof env_names / sizeof env_names[0]; i++) {
        unsetenv(env_names[i]);
    }
}
