/* metron-server configuration: command-line flags over environment variables
 * over defaults (docs/server.md lists them). */
#ifndef MTS_CONFIG_H
#define MTS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    const char *listen;       /* "127.0.0.1:8080", "8080", "127.0.0.1:0" */
    const char *database_url; /* NULL: the embedded cluster in data_dir/pg */
    const char *data_dir;     /* created if missing */
    const char *portal_dir;   /* static files root */
    const char *smtp_url;     /* NULL: no mail (logged instead) */
    const char *smtp_from;
    const char *tls_cert;     /* PEM with certificate and key; NULL: plain HTTP */
    const char *access_log;   /* NULL: data_dir/access.log; "-": stderr */
    const char *pg_bin;       /* PostgreSQL binaries for the embedded cluster */
    int threads;              /* CivetWeb worker threads */
    int db_pool;              /* PostgreSQL connections */
    size_t max_body;          /* largest JSON request body, bytes */
    size_t max_raw_body;      /* largest BODY_RAW body (ingestion batches), bytes */
    size_t body_memory;       /* what all request bodies in flight may hold together, bytes */
    int compact_ms;           /* compactor interval (hot rows -> day blocks), ms */
    int jobs_interval_s;      /* background jobs (jobs.h) every N s; 0 = off */
    bool demo;                /* seed the demo accounts */
    bool test_routes;         /* METRON_TEST_ROUTES=1: debug routes for tests */
} srv_config;

typedef enum {
    CONFIG_OK = 0,  /* run */
    CONFIG_EXIT = 1, /* --help or --version was printed: exit 0 */
    CONFIG_USAGE = 2 /* "err" says what is wrong: exit 2 */
} config_result;

/* Fill "cfg" from "argv" and the environment. Strings in "cfg" borrow from
 * "argv" and the environment (both live as long as the process). On
 * CONFIG_USAGE, "err" holds a one-line message. */
config_result config_parse(srv_config *cfg, int argc, char **argv, char *err, size_t err_cap);

/* Print the --help text to stdout. */
void config_usage(void);

#endif
