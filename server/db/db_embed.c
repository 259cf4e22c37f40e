#define _DEFAULT_SOURCE /* setgroups */
#include "db_embed.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <limits.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

struct db_embed {
    char pg_dir[PATH_MAX];
    char pg_ctl[PATH_MAX];
    bool drop;   /* run the programs as uid/gid */
    uid_t uid;
    gid_t gid;
    int port;
};

/* Write a constant message from the child between fork and exec. */
static void child_say(const char *a, const char *b)
{
    (void)log_write_all(2, a, strlen(a));
    (void)log_write_all(2, b, strlen(b));
    (void)log_write_all(2, "\n", 1);
}

/* Run "argv" (argv[0] an absolute path) as the cluster's user, in its own
 * session, with the default signal mask, in folder "cwd" (which is checked
 * this way: the user must be able to reach it). stdout goes to /dev/null.
 * Returns the exit status, or -1 when it could not be run. */
static int run_prog(const db_embed *e, char *const argv[], const char *cwd)
{
    pid_t pid, w;
    int status;

    pid = fork();
    if (pid < 0) {
        log_error("embedded PostgreSQL: fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        sigset_t none;
        int devnull;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        setsid();
        devnull = open("/dev/null", O_RDWR);
        if (devnull >= 0) {
            dup2(devnull, 0);
            dup2(devnull, 1);
            if (devnull > 2) {
                close(devnull);
            }
        }
        if (e->drop) {
            if (setgroups(0, NULL) != 0 || setgid(e->gid) != 0 || setuid(e->uid) != 0) {
                child_say("metron-server: cannot switch to the PostgreSQL user: ", strerror(errno));
                _exit(126);
            }
        }
        if (chdir(cwd) != 0) {
            child_say("metron-server: the PostgreSQL user cannot enter the data folder "
                      "(is every parent folder searchable by it? e.g. /root is not; use "
                      "--data elsewhere): ",
                      cwd);
            _exit(125);
        }
        execv(argv[0], argv);
        child_say("metron-server: cannot run ", argv[0]);
        _exit(127);
    }
    do {
        w = waitpid(pid, &status, 0);
    } while (w < 0 && errno == EINTR);
    if (w < 0) {
        return -1;
    }
    if (WIFEXITED(status)) {
        return WEXITSTATUS(status);
    }
    return -1;
}

static int free_loopback_port(void)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int port = -1, fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        return -1;
    }
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0) {
        port = ntohs(a.sin_port);
    }
    close(fd);
    return port;
}

static bool file_exists(const char *dir, const char *name)
{
    char path[PATH_MAX + 64];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return stat(path, &st) == 0;
}

static bool dir_empty(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    bool empty = true;
    if (d == NULL) {
        return errno == ENOENT;
    }
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
            empty = false;
            break;
        }
    }
    closedir(d);
    return empty;
}

/* Write "text" to "dir"/"name" (replacing it), owned by the cluster user. */
static int write_conf(const db_embed *e, const char *name, const char *text, bool append)
{
    char path[PATH_MAX + 64];
    int fd, rc;
    snprintf(path, sizeof path, "%s/%s", e->pg_dir, name);
    fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0600);
    if (fd < 0) {
        return -1;
    }
    rc = log_write_all(fd, text, strlen(text));
    if (e->drop && fchown(fd, e->uid, e->gid) != 0) {
        rc = -1;
    }
    if (close(fd) != 0) {
        rc = -1;
    }
    return rc;
}

/* Append "s" to "out" as the inside of a single-quoted configuration value. */
static void conf_quote(char *out, size_t cap, const char *s)
{
    size_t n = 0;
    for (; *s != '\0' && n + 3 < cap; s++) {
        if (*s == '\'' || *s == '\\') {
            out[n++] = '\\';
        }
        out[n++] = *s;
    }
    out[n] = '\0';
}

static int pg_ctl(const db_embed *e, const char *action, const char *extra_flag,
                  const char *extra_val)
{
    char log_path[PATH_MAX + 32];
    char *argv[16];
    int n = 0;
    snprintf(log_path, sizeof log_path, "%s/postgres.log", e->pg_dir);
    argv[n++] = (char *)e->pg_ctl;
    argv[n++] = (char *)action;
    argv[n++] = "-D";
    argv[n++] = (char *)e->pg_dir;
    argv[n++] = "-s";
    if (strcmp(action, "status") != 0) {
        argv[n++] = "-w";
        argv[n++] = "-t";
        argv[n++] = "60";
    }
    if (!strcmp(action, "start")) {
        argv[n++] = "-l";
        argv[n++] = log_path;
    }
    if (extra_flag) {
        argv[n++] = (char *)extra_flag;
        argv[n++] = (char *)extra_val;
    }
    argv[n] = NULL;
    return run_prog(e, argv, e->pg_dir);
}

static int create_cluster(db_embed *e, const char *pg_bin, char *err, size_t cap)
{
    char initdb[PATH_MAX + 16];
    char *argv[] = {initdb, "-D", e->pg_dir, "-U", "postgres", "-E", "UTF8",
                    "--locale=C.UTF-8", "-A", "trust", NULL};
    int rc;
    snprintf(initdb, sizeof initdb, "%s/initdb", pg_bin);
    if (!dir_empty(e->pg_dir)) {
        snprintf(err, cap, "%s exists but holds no PostgreSQL cluster: move it away", e->pg_dir);
        return -1;
    }
    if (mkdir(e->pg_dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, cap, "cannot create %s: %s", e->pg_dir, strerror(errno));
        return -1;
    }
    if (e->drop && chown(e->pg_dir, e->uid, e->gid) != 0) {
        snprintf(err, cap, "cannot hand %s to the PostgreSQL user: %s", e->pg_dir,
                 strerror(errno));
        return -1;
    }
    log_info("embedded PostgreSQL: creating the cluster in %s", e->pg_dir);
    rc = run_prog(e, argv, e->pg_dir);
    if (rc != 0) {
        snprintf(err, cap, "initdb failed (exit %d) for %s", rc, e->pg_dir);
        return -1;
    }
    if (write_conf(e, "postgresql.conf",
                   "\n# metron-server: port and addresses, rewritten at every start\n"
                   "include_if_exists = 'metron.conf'\n",
                   true) != 0) {
        snprintf(err, cap, "cannot extend %s/postgresql.conf: %s", e->pg_dir, strerror(errno));
        return -1;
    }
    return 0;
}

static int create_database(const char *conninfo_postgres, char *err, size_t cap)
{
    const char *params[1] = {"metron"};
    PGconn *pg = PQconnectdb(conninfo_postgres);
    PGresult *res = NULL;
    int rc = -1;
    if (pg == NULL || PQstatus(pg) != CONNECTION_OK) {
        snprintf(err, cap, "embedded PostgreSQL: cannot connect: %s",
                 pg ? PQerrorMessage(pg) : "out of memory");
        err[strcspn(err, "\n")] = '\0';
        goto out;
    }
    res = PQexecParams(pg, "SELECT 1 FROM pg_database WHERE datname = $1", 1, NULL, params,
                       NULL, NULL, 0);
    if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
        snprintf(err, cap, "embedded PostgreSQL: %s", PQerrorMessage(pg));
        err[strcspn(err, "\n")] = '\0';
        goto out;
    }
    if (PQntuples(res) == 0) {
        PQclear(res);
        res = PQexec(pg, "CREATE DATABASE metron");
        if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK) {
            snprintf(err, cap, "embedded PostgreSQL: CREATE DATABASE: %s", PQerrorMessage(pg));
            err[strcspn(err, "\n")] = '\0';
            goto out;
        }
        log_info("embedded PostgreSQL: created database metron");
    }
    rc = 0;
out:
    PQclear(res);
    PQfinish(pg);
    return rc;
}

int db_embed_start(const char *data_dir, const char *pg_bin, db_embed **out, char *conninfo,
                   size_t conninfo_cap, char *err, size_t err_cap)
{
    db_embed *e = calloc(1, sizeof *e);
    char check[PATH_MAX + 16], conf[PATH_MAX * 2 + 256], quoted[PATH_MAX * 2];
    char ci_postgres[128];
    const char *progs[] = {"initdb", "pg_ctl", "postgres"};
    int rc, attempt;

    *out = NULL;
    if (e == NULL) {
        snprintf(err, err_cap, "out of memory");
        return -1;
    }
    if (snprintf(e->pg_dir, sizeof e->pg_dir, "%s/pg", data_dir) >= (int)sizeof e->pg_dir) {
        snprintf(err, err_cap, "data folder path too long");
        goto fail;
    }
    snprintf(e->pg_ctl, sizeof e->pg_ctl, "%s/pg_ctl", pg_bin);
    for (size_t i = 0; i < sizeof progs / sizeof progs[0]; i++) {
        snprintf(check, sizeof check, "%s/%s", pg_bin, progs[i]);
        if (access(check, X_OK) != 0) {
            snprintf(err, err_cap,
                     "PostgreSQL programs not found in %s (install postgresql-15, set "
                     "METRON_PG_BIN, or set DATABASE_URL)",
                     pg_bin);
            goto fail;
        }
    }
    if (geteuid() == 0) {
        const char *user = getenv("METRON_PG_USER");
        struct passwd *pw = getpwnam(user && *user ? user : "postgres");
        if (pw == NULL || pw->pw_uid == 0) {
            snprintf(err, err_cap,
                     "running as root: the embedded PostgreSQL needs a non-root system user "
                     "'%s' (install postgresql-15, or set METRON_PG_USER)",
                     user && *user ? user : "postgres");
            goto fail;
        }
        e->drop = true;
        e->uid = pw->pw_uid;
        e->gid = pw->pw_gid;
    }

    if (!file_exists(e->pg_dir, "PG_VERSION") && create_cluster(e, pg_bin, err, err_cap) != 0) {
        goto fail;
    }
    /* Our data folder is locked (main.c), so a cluster still running here
     * was left by a server that died without stopping it. */
    if (file_exists(e->pg_dir, "postmaster.pid") && pg_ctl(e, "status", NULL, NULL) == 0) {
        log_warn("embedded PostgreSQL: a cluster left running by an earlier run: restarting it");
        (void)pg_ctl(e, "stop", "-m", "fast");
    }

    conf_quote(quoted, sizeof quoted, e->pg_dir);
    for (attempt = 0; attempt < 3; attempt++) {
        e->port = free_loopback_port();
        if (e->port <= 0) {
            snprintf(err, err_cap, "no free loopback port for PostgreSQL");
            goto fail;
        }
        /* Unix sockets live in the cluster folder when the path fits in
         * sockaddr_un (107 bytes with "/.s.PGSQL.NNNNN"); otherwise TCP only. */
        snprintf(conf, sizeof conf,
                 "listen_addresses = '127.0.0.1'\nport = %d\nunix_socket_directories = '%s'\n",
                 e->port, strlen(e->pg_dir) < 90 ? quoted : "");
        if (write_conf(e, "metron.conf", conf, false) != 0) {
            snprintf(err, err_cap, "cannot write %s/metron.conf: %s", e->pg_dir, strerror(errno));
            goto fail;
        }
        rc = pg_ctl(e, "start", NULL, NULL);
        if (rc == 0) {
            break;
        }
        log_warn("embedded PostgreSQL: start on port %d failed (exit %d), see %s/postgres.log",
                 e->port, rc, e->pg_dir);
    }
    if (attempt == 3) {
        snprintf(err, err_cap, "embedded PostgreSQL did not start; see %s/postgres.log",
                 e->pg_dir);
        goto fail;
    }

    snprintf(ci_postgres, sizeof ci_postgres,
             "host=127.0.0.1 port=%d user=postgres dbname=postgres connect_timeout=5", e->port);
    for (int i = 0; i < 100 && PQping(ci_postgres) != PQPING_OK; i++) {
        struct timespec ts = {0, 100 * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (create_database(ci_postgres, err, err_cap) != 0) {
        db_embed_stop(e);
        return -1;
    }
    snprintf(conninfo, conninfo_cap, "host=127.0.0.1 port=%d user=postgres dbname=metron",
             e->port);
    log_info("embedded PostgreSQL: running in %s on 127.0.0.1:%d", e->pg_dir, e->port);
    *out = e;
    return 0;
fail:
    free(e);
    return -1;
}

void db_embed_stop(db_embed *e)
{
    int rc;
    if (e == NULL) {
        return;
    }
    rc = pg_ctl(e, "stop", "-m", "fast");
    if (rc != 0) {
        log_warn("embedded PostgreSQL: pg_ctl stop exited with %d", rc);
    } else {
        log_info("embedded PostgreSQL: stopped");
    }
    free(e);
}
