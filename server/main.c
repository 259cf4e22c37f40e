/* metron-server: configuration, start-up order, signals, shutdown.
 *
 * Start: parse flags -> lock the data folder -> open the access log -> the
 * database (DATABASE_URL, or the embedded cluster) -> migrations -> pool ->
 * files still on disk into the database -> demo data -> HTTP. Stop (SIGINT/SIGTERM): stop accepting and finish the
 * requests in flight (mg_stop) -> close the pool -> stop the embedded
 * PostgreSQL. SIGINT/SIGTERM/SIGHUP are blocked in every thread and taken
 * by sigwait() in the main thread, so no handler runs at an awkward time. */
#define _DEFAULT_SOURCE /* flock */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth_password.h"
#include "computed_days.h"
#include "config.h"
#include "db.h"
#include "db_embed.h"
#include "db_listen.h"
#include "db_migrate.h"
#include "db_replica.h"
#include "http.h"
#include "jobs.h"
#include "report_worker.h"
#include "outbox_sender.h"
#include "log.h"
#include "linelog.h"
#include "metrics.h"
#include "mqtt_bridge.h"
#include "refresher.h"
#include "series_store.h"
#include "srv.h"
#include "svc_alarm_eval.h"
#include "svc_demo.h"
#include "svc_export.h"
#include "svc_files.h"

enum { EXIT_USAGE = 2, EXIT_SCHEMA_TOO_NEW = 3 };

/* mkdir -p "path" (mode 0755). */
static int mkdir_p(const char *path)
{
    char buf[PATH_MAX];
    if (strlen(path) >= sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    strcpy(buf, path);
    for (char *p = buf + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(buf, 0755) != 0 && errno != EEXIST) {
                return -1;
            }
            *p = '/';
        }
    }
    if (mkdir(buf, 0755) != 0 && errno != EEXIST) {
        return -1;
    }
    return 0;
}

static int open_access_log(const srv_config *cfg, const char *data_dir)
{
    char path[PATH_MAX + 32];
    if (cfg->access_log != NULL && strcmp(cfg->access_log, "-") == 0) {
        return dup(2);
    }
    if (cfg->access_log != NULL) {
        snprintf(path, sizeof path, "%s", cfg->access_log);
    } else {
        snprintf(path, sizeof path, "%s/access.log", data_dir);
    }
    return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

/* LeakSanitizer (the ASan build of the tests): fontconfig, which pango
 * uses to find the report fonts, loses a few hundred bytes once per
 * process inside the library (Debian 12's fontconfig 2.14; no pointer of
 * ours reaches them). Read by LSan only; inert in other builds. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libfontconfig.so\n";
}

/* How often the replica's monitor asks both clusters how far they are: the
 * staleness bound is known to within this (docs/scale.md). */
#define REPLICA_CHECK_MS 100

static db_replica *the_replica;

/* GET /metrics: the replica's state (metrics.h). */
static void replica_metrics(metrics_replica_state *out)
{
    db_replica_state st;
    db_replica_get_state(the_replica, &st);
    out->configured = true;
    out->up = st.up;
    out->lag_seconds = st.bound_ms >= 0 ? (double)st.bound_ms / 1000.0 : 0.0;
    out->reads_on_primary = !st.fresh;
}

int main(int argc, char **argv)
{
    static srv s;
    static char data_dir[PATH_MAX], conninfo[512], err[512];
    char lock_path[PATH_MAX + 32];
    db_embed *embed = NULL;
    sigset_t sigs;
    int lock_fd = -1, sig = 0, rc = EXIT_FAILURE, n_applied = 0;
    migrate_result mr;
    const db_migration *mset = NULL; /* this build's migrations (db_migrations_of_build()) */
    size_t mcount = 0;

    /* People and tests read stdout through pipes (scripts/run | tee,
     * the test harness): one line at a time, as soon as it is written. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);
    switch (config_parse(&s.cfg, argc, argv, err, sizeof err)) {
    case CONFIG_EXIT:
        return 0;
    case CONFIG_USAGE:
        fprintf(stderr, "metron-server: %s\n", err);
        return EXIT_USAGE;
    case CONFIG_OK:
        break;
    }
    s.access_fd = -1;
    http_address_init(&s);

    {
        /* The cost of new password hashes: the real one, unless the test
         * build is told a cheaper one (METRON_TEST_PASSWORD_COST, which the
         * test harness sets: the suites sign up and sign in thousands of
         * times; docs/testing.md). Hashes carry their cost, so every hash
         * verifies whatever this is. The production build ignores it. */
        const char *cost = getenv("METRON_TEST_PASSWORD_COST");
        uint32_t t_cost, m_kib;
        if (cost != NULL && !http_test_build) {
            log_warn("METRON_TEST_PASSWORD_COST is read by the test build only "
                     "(metron-server-test); this server ignores it");
        } else if (cost != NULL && *cost != '\0') {
            if (password_cost_parse(cost, &t_cost, &m_kib) != 0) {
                fprintf(stderr,
                        "metron-server: METRON_TEST_PASSWORD_COST: \"%s\" is not \"m=KIB,t=N\" "
                        "with KIB in 8..%d and N in 1..%d, nor \"real\"\n",
                        cost, PASSWORD_M_KIB, PASSWORD_T_COST);
                return EXIT_USAGE;
            }
            password_cost_set(t_cost, m_kib);
            log_info("password hashing: argon2id m=%u,t=%u,p=1 (METRON_TEST_PASSWORD_COST, "
                     "test build)",
                     (unsigned)m_kib, (unsigned)t_cost);
        }
    }

    /* localtime() stats /etc/localtime on every call while TZ is unset
     * (CivetWeb called it for the date of its own access line, one stat(2)
     * per request, until the server stopped asking for that line).
     * ":/etc/localtime" is the same zone, read once. Set before
     * any thread exists (setenv is not thread-safe). */
    if (getenv("TZ") == NULL) {
        setenv("TZ", ":/etc/localtime", 0);
    }

    /* glibc gives threads up to 8 malloc arenas per core: with 64 worker
     * threads a chart over a year (tens of MB of summaries for a moment)
     * faults in fresh pages in whichever arena its thread got, and every
     * arena keeps its peak (0.9 GB resident after a few dozen year charts,
     * and a p95 twice the p50). One arena per core, unless MALLOC_ARENA_MAX
     * says otherwise: scripts/bench-query, docs/benchmarks.md. */
    if (getenv("MALLOC_ARENA_MAX") == NULL) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        mallopt(M_ARENA_MAX, cpus > 0 ? (int)cpus : 2);
    }
    /* And each arena keeps what a year chart freed (up to 64 MB at its
     * top) instead of returning it at once: a year of 32 channels reads
     * 25 MB of summaries in 65 kB values (libpq's), so every chart faulted
     * in and zeroed ~2,900 pages again, a quarter of the server's CPU of
     * the request (issue 16, yearq: 45 -> 34 ms of server CPU a request,
     * 20 MB more resident). Allocations up to 32 MB come from the arenas:
     * glibc's own dynamic thresholds, which a setting turns off, would
     * rise that far after freeing such a block anyway. MALLOC_TRIM_THRESHOLD_
     * or MALLOC_MMAP_THRESHOLD_ in the environment keep glibc's way. */
    if (getenv("MALLOC_TRIM_THRESHOLD_") == NULL && getenv("MALLOC_MMAP_THRESHOLD_") == NULL) {
        mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
        mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024);
    }

    /* Before any thread exists, so that every thread inherits the mask. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);

    if (mkdir_p(s.cfg.data_dir) != 0 || realpath(s.cfg.data_dir, data_dir) == NULL) {
        log_error("cannot create the data folder %s: %s", s.cfg.data_dir, strerror(errno));
        return EXIT_FAILURE;
    }
    s.cfg.data_dir = data_dir;
    snprintf(lock_path, sizeof lock_path, "%s/metron.lock", data_dir);
    lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock_fd < 0 || flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
        log_error("the data folder %s is in use by another metron-server (or unwritable: %s)",
                  data_dir, strerror(errno));
        return EXIT_FAILURE;
    }
    s.access_fd = open_access_log(&s.cfg, data_dir);
    if (s.access_fd < 0) {
        log_error("cannot open the access log: %s", strerror(errno));
        goto out;
    }

    if (s.cfg.database_url != NULL) {
        snprintf(conninfo, sizeof conninfo, "%s", s.cfg.database_url);
        log_info("database: DATABASE_URL");
    } else if (db_embed_start(data_dir, s.cfg.pg_bin, &embed, conninfo, sizeof conninfo, err,
                              sizeof err) != 0) {
        log_error("%s", err);
        goto out;
    }

    if (db_migrations_of_build(&mset, &mcount, err, sizeof err) != 0) {
        log_error("migrations: %s", err);
        goto out;
    }
    mr = db_migrate(conninfo, mset, mcount, &n_applied, err, sizeof err);
    if (mr != MIGRATE_OK) {
        log_error("migrations: %s", err);
        rc = mr == MIGRATE_TOO_NEW ? EXIT_SCHEMA_TOO_NEW : EXIT_FAILURE;
        goto out;
    }
    log_info("schema: version %d (%d migration%s applied now)", mset[mcount - 1].version, n_applied,
             n_applied == 1 ? "" : "s");
    if (http_test_build && getenv("METRON_TEST_MIGRATE_ONLY") != NULL) {
        /* The test harness migrates one database a run this way and copies
         * it for each test (tests/server/harness.mjs, "migrated template"):
         * exactly what the migrations make, none of what a start adds
         * (secrets, the MQTT CA). The production build ignores it. */
        log_info("migrations only (METRON_TEST_MIGRATE_ONLY): stopping");
        rc = EXIT_SUCCESS;
        goto out;
    }

    {
        /* The hashing gate (auth_password.h): one hash per CPU, 2..8, unless
         * --password-hashes says; a test build may shorten the wait for a
         * slot (METRON_TEST_PASSWORD_WAIT_MS, tests/server/auth_hash_gate). */
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        int slots = s.cfg.password_hashes, wait_ms = PASSWORD_GATE_WAIT_MS;
        const char *w = http_test_build ? getenv("METRON_TEST_PASSWORD_WAIT_MS") : NULL;
        if (slots == 0) {
            slots = cpus < 2 ? 2 : cpus > 8 ? 8 : (int)cpus;
        }
        if (w != NULL && *w != '\0') {
            wait_ms = atoi(w);
        }
        password_gate_set(slots, wait_ms);
    }
    s.pool = db_pool_new(conninfo, s.cfg.db_pool);
    if (s.pool == NULL) {
        log_error("out of memory");
        goto out;
    }
    {
        int n_open = db_pool_warm(s.pool);
        if (n_open < s.cfg.db_pool) {
            log_warn("db: %d of %d pool connections open", n_open, s.cfg.db_pool);
        }
    }
    {
        /* Files older versions kept in this data folder move into the
         * database (docs/storage.md "Files"), before anyone asks for them. */
        svc_files_migrate_stats fm;
        svc_error fe = {0};
        if (svc_files_migrate(s.pool, data_dir, &fm, &fe) != SVC_OK) {
            log_error("files: %s", fe.message);
            goto out;
        }
    }
    if (s.cfg.replica_url != NULL) {
        /* Reads that may be slightly stale go to this standby while it is
         * within the bound (docs/scale.md). */
        s.replica = db_replica_start(conninfo, s.cfg.replica_url, s.cfg.db_pool,
                                     s.cfg.replica_max_lag_ms, REPLICA_CHECK_MS);
        if (s.replica == NULL) {
            log_error("cannot start the read replica's monitor thread");
            goto out;
        }
        the_replica = s.replica;
        metrics_set_replica_reader(replica_metrics);
        log_info("database: a read replica (METRON_REPLICA_URL), at most %d ms stale",
                 s.cfg.replica_max_lag_ms);
    }
    if (s.cfg.demo && svc_demo_seed(&s) != 0) {
        goto out;
    }
    svc_alarm_eval_init(&s);
    computed_set_hook(svc_alarm_on_computed);
    if (series_compactor_start(s.pool, s.cfg.compact_ms) != 0) {
        log_error("cannot start the compactor thread");
        goto out;
    }
    if (svc_export_workers_start(&s) != 0) {
        log_error("cannot start the export threads");
        goto out;
    }
    if (computed_backfill_start(s.pool, s.cfg.compact_ms) != 0) {
        log_error("cannot start the computed-channel back-fill thread");
        goto out;
    }
    if (db_listen_start(conninfo) != 0) {
        log_error("cannot start the auth listener thread");
        goto out;
    }
    if (refresher_start() != 0) {
        log_error("cannot start the refresher thread");
        goto out;
    }
    if (jobs_start(&s, s.cfg.jobs_interval_s) != 0) {
        log_error("cannot start the background jobs thread");
        goto out;
    }
    if (outbox_sender_start(&s, conninfo) != 0) {
        log_error("cannot start the outbox's sender threads");
        goto out;
    }
    if (mqtt_bridge_start(&s, err, sizeof err) != 0) {
        log_error("%s", err);
        goto out;
    }
    if (report_worker_start(&s) != 0) {
        log_error("cannot start the report worker thread");
        goto out;
    }
    if (linelog_start(s.access_fd) != 0) {
        log_error("cannot start the access log's writer thread");
        goto out;
    }
    if (http_start(&s, err, sizeof err) != 0) {
        log_error("%s", err);
        goto out;
    }
    /* Links in mails and reports wait until now for the port (srv.h). */
    srv_publish_port(&s);
    /* The listening line is the last line of start-up: whoever waits for
     * it (the test harness, a script) has everything printed before it. */
    if (s.cfg.demo) {
        svc_demo_print_logins();
    }
    printf("metron-server: listening on %s://%s:%d/\n", s.tls ? "https" : "http",
           strcmp(s.host, "0.0.0.0") == 0 ? "127.0.0.1" : s.host, s.port);
    fflush(stdout);

    for (;;) {
        if (sigwait(&sigs, &sig) != 0) {
            continue;
        }
        if (sig == SIGHUP) {
            /* Log rotation: reopen the access log by name. */
            int fd = open_access_log(&s.cfg, data_dir);
            if (fd >= 0) {
                dup2(fd, s.access_fd);
                close(fd);
            }
            continue;
        }
        break;
    }
    log_info("signal %d: shutting down (finishing requests in flight)", sig);
    {
        int left = http_drain(30000);
        if (left > 0) {
            log_warn("%d request%s still running after 30 s: cut", left, left == 1 ? "" : "s");
        }
    }
    rc = EXIT_SUCCESS;
out:
    srv_publish_port(&s); /* after a failed start: no thread stays waiting for the port */
    http_stop(&s);
    linelog_stop(); /* every access line written */
    report_worker_stop();
    outbox_sender_stop();
    mqtt_bridge_stop();
    refresher_stop();
    db_listen_stop();
    jobs_stop();
    svc_export_workers_stop();
    computed_backfill_stop();
    series_compactor_stop();
    metrics_set_replica_reader(NULL);
    db_replica_stop(s.replica);
    db_pool_free(s.pool);
    db_embed_stop(embed);
    if (s.access_fd >= 0) {
        close(s.access_fd);
    }
    if (lock_fd >= 0) {
        close(lock_fd);
    }
    if (rc == EXIT_SUCCESS) {
        log_info("stopped");
    }
    return rc;
}
