#define _DEFAULT_SOURCE /* setgroups, mkdtemp */
#include "db_embed.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

/* With listen_addresses = '' the port only names the socket file. */
#define EMBED_PORT 5432
#define SOCK_FILE "/.s.PGSQL.5432"
/* The private socket folder when DATA/pg is too long for sockaddr_un. */
#define SOCK_PREFIX "/tmp/metron-pgsock-"
#define SECRET_FILE "metron.pgpass"
#define SECRET_LINE "*:*:*:postgres:"
#define SECRET_BYTES 32
#define SECRET_HEX (2 * SECRET_BYTES)

struct db_embed {
    char pg_dir[PATH_MAX];
    char pg_ctl[PATH_MAX];
    char sock_dir[PATH_MAX]; /* the unix socket's folder: pg_dir or a private one */
    bool sock_private;       /* sock_dir is ours (mkdtemp): removed by db_embed_stop() */
    bool drop;               /* run the programs as uid/gid */
    uid_t uid;
    gid_t gid;
    db_embed_repl repl[DB_EMBED_MAX_REPLICATION];
    size_t n_repl;
    char backup_conf[PATH_MAX]; /* DATA/pgbackrest.conf; "" = no backups */
};

extern char **environ;

/* Write a constant message from the child between fork and exec. */
static void child_say(const char *a, const char *b)
{
    (void)log_write_all(2, a, strlen(a));
    (void)log_write_all(2, b, strlen(b));
    (void)log_write_all(2, "\n", 1);
}

/* Run "argv" (argv[0] an absolute path) as the cluster's user, in its own
 * session, with the default signal mask, in folder "cwd" (which is checked
 * this way: the user must be able to reach it), with environment "envp"
 * (NULL: ours). stdout goes to "out_fd" (-1: /dev/null). Returns the exit
 * status, or -1 when it could not be run. */
static int run_prog_io(const db_embed *e, char *const argv[], const char *cwd, char *const envp[],
                       int out_fd)
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
        if (out_fd >= 0) {
            dup2(out_fd, 1);
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
        if (envp != NULL) {
            execve(argv[0], argv, envp);
        } else {
            execv(argv[0], argv);
        }
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

static int run_prog_env(const db_embed *e, char *const argv[], const char *cwd, char *const envp[])
{
    return run_prog_io(e, argv, cwd, envp, -1);
}

static int run_prog(const db_embed *e, char *const argv[], const char *cwd)
{
    return run_prog_env(e, argv, cwd, NULL);
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

/* The owner every file of the cluster has. */
static uid_t cluster_uid(const db_embed *e)
{
    return e->drop ? e->uid : geteuid();
}

static int fsync_dir(const char *dir)
{
    int rc, fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        return -1;
    }
    rc = fsync(fd);
    close(fd);
    return rc;
}

/* Replace "e->pg_dir"/"name" by "text", mode 0600 and owned by the cluster
 * user: written under a temporary name, flushed, then renamed, so that
 * PostgreSQL (which may reload at any moment) and a crash see either the old
 * or the new file, never half of one. Sets errno on failure. */
static int write_file_in(const db_embed *e, const char *dir, const char *name,
                         const char *text)
{
    char path[PATH_MAX + 64], tmp[PATH_MAX + 80];
    int fd, rc = 0, saved;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    snprintf(tmp, sizeof tmp, "%s/%s.metron-new", dir, name);
    (void)unlink(tmp);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        return -1;
    }
    if (log_write_all(fd, text, strlen(text)) != 0 || fchmod(fd, 0600) != 0 ||
        (e->drop && fchown(fd, e->uid, e->gid) != 0) || fsync(fd) != 0) {
        rc = -1;
    }
    saved = errno;
    if (close(fd) != 0 && rc == 0) {
        rc = -1;
        saved = errno;
    }
    if (rc == 0 && rename(tmp, path) != 0) {
        rc = -1;
        saved = errno;
    }
    if (rc != 0) {
        (void)unlink(tmp);
    }
    errno = saved;
    return rc;
}

static int write_file(const db_embed *e, const char *name, const char *text)
{
    return write_file_in(e, e->pg_dir, name, text);
}

/* Read at most "cap" - 1 bytes from "fd" into "out" (NUL terminated).
 * Returns the length. */
static size_t read_fd(int fd, char *out, size_t cap)
{
    size_t len = 0;
    while (len + 1 < cap) {
        ssize_t n = read(fd, out + len, cap - 1 - len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        len += (size_t)n;
    }
    out[len] = '\0';
    return len;
}

/* Read at most "cap" - 1 bytes of "e->pg_dir"/"name" into "out" (NUL
 * terminated). Returns the length, or -1 (errno set). */
static ssize_t read_file(const db_embed *e, const char *name, char *out, size_t cap)
{
    char path[PATH_MAX + 64];
    size_t len;
    int fd;
    snprintf(path, sizeof path, "%s/%s", e->pg_dir, name);
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        return -1;
    }
    len = read_fd(fd, out, cap);
    close(fd);
    return (ssize_t)len;
}

/* Log the last lines of postgres.log (at most LOG_TAIL bytes): why a start
 * failed, in the server's own log, where an operator (or a test that
 * deletes the folder) sees it. */
#define LOG_TAIL 2048
static void log_pg_tail(const db_embed *e)
{
    char path[PATH_MAX + 64], text[LOG_TAIL + 1];
    struct stat st;
    size_t len;
    int fd;
    snprintf(path, sizeof path, "%s/postgres.log", e->pg_dir);
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        return;
    }
    if (fstat(fd, &st) == 0 && st.st_size > LOG_TAIL) {
        (void)lseek(fd, st.st_size - LOG_TAIL, SEEK_SET);
    }
    len = read_fd(fd, text, sizeof text);
    close(fd);
    for (char *line = text, *end; line < text + len && *line != '\0'; line = end + 1) {
        end = strchr(line, '\n');
        if (end == NULL) {
            end = text + len;
        }
        *end = '\0';
        if (*line != '\0') {
            log_error("embedded PostgreSQL: %s", line);
        }
    }
}

/* Copy "s" into "out" as the inside of a single-quoted value (postgresql.conf
 * and libpq connection strings both escape ' and \ with a backslash).
 * Returns -1 when it does not fit. */
static int quote_value(char *out, size_t cap, const char *s)
{
    size_t n = 0;
    for (; *s != '\0'; s++) {
        if (n + 3 > cap) {
            return -1;
        }
        if (*s == '\'' || *s == '\\') {
            out[n++] = '\\';
        }
        out[n++] = *s;
    }
    out[n] = '\0';
    return 0;
}

/* "pg_ctl ACTION -D DIR -s [-w -t 60] [-l LOG] [FLAG VALUE]" as the cluster user. */
static int pg_ctl(const db_embed *e, const char *action, const char *extra_flag,
                  const char *extra_val)
{
    char log_path[PATH_MAX + 32];
    char *argv[16];
    int n = 0;
    bool wait = strcmp(action, "status") != 0 && strcmp(action, "reload") != 0;
    snprintf(log_path, sizeof log_path, "%s/postgres.log", e->pg_dir);
    argv[n++] = (char *)e->pg_ctl;
    argv[n++] = (char *)action;
    argv[n++] = "-D";
    argv[n++] = (char *)e->pg_dir;
    argv[n++] = "-s";
    if (wait) {
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

/* The value of line "Database cluster state:" of pg_controldata (run as
 * the cluster user, in the C locale) into "out". Returns 0, or -1 with a
 * message in "err". */
static int cluster_state(const db_embed *e, const char *pg_bin, char *out, size_t cap, char *err,
                         size_t err_cap)
{
    static const char key[] = "Database cluster state:";
    char prog[PATH_MAX + 32], text[8192];
    char *argv[] = {prog, "-D", (char *)e->pg_dir, NULL};
    char *envp[] = {"LC_ALL=C", NULL};
    const char *line;
    int fds[2], rc;
    size_t len;

    snprintf(prog, sizeof prog, "%s/pg_controldata", pg_bin);
    if (pipe(fds) != 0) {
        snprintf(err, err_cap, "embedded PostgreSQL: pipe: %s", strerror(errno));
        return -1;
    }
    (void)fcntl(fds[0], F_SETFD, FD_CLOEXEC);
    (void)fcntl(fds[1], F_SETFD, FD_CLOEXEC); /* dup2() onto stdout clears it there */
    /* pg_controldata writes about 3 kB: the pipe holds it until we read. */
    rc = run_prog_io(e, argv, e->pg_dir, envp, fds[1]);
    close(fds[1]);
    (void)read_fd(fds[0], text, sizeof text);
    close(fds[0]);
    line = strstr(text, key);
    if (rc != 0 || line == NULL) {
        snprintf(err, err_cap,
                 "embedded PostgreSQL: cannot read the state of the cluster in %s "
                 "(pg_controldata exited with %d)",
                 e->pg_dir, rc);
        return -1;
    }
    line += sizeof key - 1;
    line += strspn(line, " \t");
    len = strcspn(line, "\n");
    if (len >= cap) {
        len = cap - 1;
    }
    memcpy(out, line, len);
    out[len] = '\0';
    return 0;
}

bool db_embed__state_needs_restore(const char *state, bool recovery_signal, bool standby_signal)
{
    /* Left in archive recovery (stopped, or killed) without a signal file:
     * PostgreSQL would start with crash recovery over everything in pg_wal.
     * A standby keeps standby.signal; an interrupted scripts/restore puts
     * recovery.signal back unless it was killed itself. */
    bool in_recovery =
        strcmp(state, "shut down in recovery") == 0 || strcmp(state, "in archive recovery") == 0;
    return in_recovery && !recovery_signal && !standby_signal;
}

/* initdb never enables trust: peer for the local socket and reject for TCP
 * until the first start replaces pg_hba.conf (write_auth_files()). */
static int create_cluster(db_embed *e, const char *pg_bin, char *err, size_t cap)
{
    char initdb[PATH_MAX + 16];
    char *argv[] = {initdb,       "-D", e->pg_dir,          "-U",
                    "postgres",   "-E", "UTF8",             "--locale=C.UTF-8",
                    "--auth-local=peer", "--auth-host=reject", NULL};
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
    return 0;
}

/* postgresql.conf must end by including metron.conf (written at every start),
 * or listen_addresses would fall back to PostgreSQL's 'localhost'. Clusters
 * of every version get the line appended once, after initdb. */
static int ensure_include(const db_embed *e, char *err, size_t cap)
{
    static const char line[] = "\ninclude_if_exists = 'metron.conf'\n";
    static const char append[] = "\n# metron-server: socket and addresses, rewritten at every "
                                 "start\ninclude_if_exists = 'metron.conf'\n";
    enum { CONF_MAX = 1024 * 1024 };
    char path[PATH_MAX + 32];
    char *text = malloc(CONF_MAX);
    ssize_t len;
    int fd, rc = 0;
    if (text == NULL) {
        snprintf(err, cap, "out of memory");
        return -1;
    }
    len = read_file(e, "postgresql.conf", text, CONF_MAX);
    if (len < 0) {
        snprintf(err, cap, "cannot read %s/postgresql.conf: %s", e->pg_dir, strerror(errno));
        free(text);
        return -1;
    }
    if (strstr(text, line) == NULL) {
        snprintf(path, sizeof path, "%s/postgresql.conf", e->pg_dir);
        fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0 || log_write_all(fd, append, strlen(append)) != 0 || fsync(fd) != 0) {
            snprintf(err, cap, "cannot extend %s/postgresql.conf: %s", e->pg_dir,
                     strerror(errno));
            rc = -1;
        }
        if (fd >= 0) {
            close(fd);
        }
    }
    free(text);
    return rc;
}

/* Whether pg_hba.conf has an uncommented line with "trust" (clusters created
 * by versions before the SCRAM lock-down: -A trust and 127.0.0.1 TCP). */
static bool hba_has_trust(const db_embed *e)
{
    char text[16384];
    const char *line = text;
    if (read_file(e, "pg_hba.conf", text, sizeof text) < 0) {
        return false;
    }
    while (line != NULL && *line != '\0') {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        const char *p = line;
        while (p < line + len && (*p == ' ' || *p == '\t')) {
            p++;
        }
        if (p < line + len && *p != '#') {
            for (const char *q = p; q + 5 <= line + len; q++) {
                if (strncmp(q, "trust", 5) == 0) {
                    return true;
                }
            }
        }
        line = end ? end + 1 : NULL;
    }
    return false;
}

int db_embed__repl_parse(const char *role, const char *cidr, db_embed_repl *out, char *err,
                         size_t err_cap)
{
    static const char *const reserved[] = {"all",          "public",      "none",
                                           "sameuser",     "samerole",    "samegroup",
                                           "replication",  "current_role", "current_user",
                                           "session_user", "postgres"};
    char addr[64];
    unsigned char bin[16];
    const char *slash, *p;
    size_t n;
    long prefix = 0;
    int max_prefix;

    n = strlen(role);
    if (n == 0 || n >= sizeof out->role || !((role[0] >= 'a' && role[0] <= 'z') || role[0] == '_')) {
        snprintf(err, err_cap, "replication role: a lower-case identifier of 1 to 63 bytes");
        return -1;
    }
    for (p = role; *p != '\0'; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_')) {
            snprintf(err, err_cap, "replication role: a lower-case identifier of 1 to 63 bytes");
            return -1;
        }
    }
    /* Names pg_hba.conf or PostgreSQL give a meaning of their own. */
    for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++) {
        if (strcmp(role, reserved[i]) == 0) {
            snprintf(err, err_cap, "replication role: '%s' is reserved", role);
            return -1;
        }
    }
    if (strncmp(role, "pg_", 3) == 0) {
        snprintf(err, err_cap, "replication role: names starting pg_ are reserved");
        return -1;
    }
    slash = strchr(cidr, '/');
    n = slash ? (size_t)(slash - cidr) : 0;
    if (slash == NULL || n == 0 || n >= sizeof addr || strlen(cidr) >= sizeof out->cidr) {
        snprintf(err, err_cap, "replication address: ADDRESS/PREFIX, e.g. 10.0.0.7/32");
        return -1;
    }
    memcpy(addr, cidr, n);
    addr[n] = '\0';
    if (inet_pton(AF_INET, addr, bin) == 1) {
        max_prefix = 32;
    } else if (inet_pton(AF_INET6, addr, bin) == 1) {
        max_prefix = 128;
    } else {
        snprintf(err, err_cap, "replication address: ADDRESS/PREFIX, e.g. 10.0.0.7/32");
        return -1;
    }
    p = slash + 1;
    if (*p == '\0' || strlen(p) > 3) {
        snprintf(err, err_cap, "replication address: the prefix is 0 to %d", max_prefix);
        return -1;
    }
    for (; *p != '\0'; p++) {
        if (*p < '0' || *p > '9') {
            snprintf(err, err_cap, "replication address: the prefix is 0 to %d", max_prefix);
            return -1;
        }
        prefix = prefix * 10 + (*p - '0');
    }
    if (prefix > max_prefix) {
        snprintf(err, err_cap, "replication address: the prefix is 0 to %d", max_prefix);
        return -1;
    }
    snprintf(out->role, sizeof out->role, "%s", role);
    snprintf(out->cidr, sizeof out->cidr, "%s", cidr);
    return 0;
}

int db_embed__hba_text(char *out, size_t cap, int bootstrap, const db_embed_repl *repl,
                       size_t n_repl)
{
    size_t used;
    int n;
    if (bootstrap) {
        n = snprintf(out, cap,
                     "# Written by metron-server while it sets a new password for the\n"
                     "# postgres role: only the server's own OS user (peer, map \"metron\" of\n"
                     "# pg_ident.conf) may connect, over the private unix socket.\n"
                     "local   postgres   postgres   peer map=metron\n");
        return n < 0 || (size_t)n >= cap ? -1 : 0;
    }
    n = snprintf(out, cap,
                 "# Written by metron-server at every start: edits are lost (docs/server.md,\n"
                 "# \"The embedded PostgreSQL\"). No TCP (listen_addresses = ''): the unix\n"
                 "# socket only, every role with its SCRAM password (postgres: the one in\n"
                 "# metron.pgpass). No trust, no replication unless a line follows.\n"
                 "local   all   all   scram-sha-256\n");
    if (n < 0 || (size_t)n >= cap) {
        return -1;
    }
    used = (size_t)n;
    for (size_t i = 0; i < n_repl; i++) {
        n = snprintf(out + used, cap - used, "host    replication   \"%s\"   %s   scram-sha-256\n",
                     repl[i].role, repl[i].cidr);
        if (n < 0 || (size_t)n >= cap - used) {
            return -1;
        }
        used += (size_t)n;
    }
    return 0;
}

/* Write pg_hba.conf and pg_ident.conf: SCRAM (and the replication lines), or
 * with "bootstrap" the one peer line for the OS user this process runs as,
 * mapped to postgres. */
static int write_auth_files(const db_embed *e, bool bootstrap, char *err, size_t cap)
{
    char hba[4096], ident[512];
    if (bootstrap) {
        const struct passwd *pw = getpwuid(geteuid());
        const char *p;
        if (pw == NULL || pw->pw_name[0] == '\0') {
            snprintf(err, cap, "embedded PostgreSQL: this process's user (uid %u) has no name",
                     (unsigned)geteuid());
            return -1;
        }
        for (p = pw->pw_name; *p != '\0'; p++) {
            if (*p <= ' ' || *p == '"' || *p == '#' || *p == 0x7f) {
                snprintf(err, cap, "embedded PostgreSQL: unusual user name (uid %u)",
                         (unsigned)geteuid());
                return -1;
            }
        }
        if (snprintf(ident, sizeof ident,
                     "# Written by metron-server while it sets a new password.\n"
                     "metron   \"%s\"   postgres\n",
                     pw->pw_name) >= (int)sizeof ident) {
            snprintf(err, cap, "embedded PostgreSQL: user name too long");
            return -1;
        }
    } else {
        snprintf(ident, sizeof ident, "# Written by metron-server at every start: no maps.\n");
    }
    if (db_embed__hba_text(hba, sizeof hba, bootstrap, e->repl, e->n_repl) != 0) {
        snprintf(err, cap, "embedded PostgreSQL: pg_hba.conf too long");
        return -1;
    }
    if (write_file(e, "pg_ident.conf", ident) != 0 || write_file(e, "pg_hba.conf", hba) != 0) {
        snprintf(err, cap, "cannot write %s/pg_hba.conf: %s", e->pg_dir, strerror(errno));
        return -1;
    }
    return 0;
}

/* The password of the postgres role from metron.pgpass into "out"
 * (SECRET_HEX hex digits). Returns true when there is one to use; false when
 * the file is missing, is not a regular file of the cluster user, others may
 * read it (then it may be known: a new one is set), or it is not in the form
 * this server writes. */
static bool read_secret(const db_embed *e, char out[SECRET_HEX + 1])
{
    char path[PATH_MAX + 32], text[sizeof SECRET_LINE + SECRET_HEX + 8];
    const char *hex = text + strlen(SECRET_LINE);
    struct stat st;
    size_t len;
    int fd;
    snprintf(path, sizeof path, "%s/%s", e->pg_dir, SECRET_FILE);
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0) {
        if (errno != ENOENT) {
            log_warn("embedded PostgreSQL: cannot open %s (%s): setting a new password", path,
                     strerror(errno));
        }
        return false;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != cluster_uid(e) ||
        (st.st_mode & 077) != 0) {
        log_warn("embedded PostgreSQL: %s is not a 0600 file of the cluster's user: setting a "
                 "new password",
                 path);
        close(fd);
        return false;
    }
    len = read_fd(fd, text, sizeof text);
    close(fd);
    if (len != strlen(SECRET_LINE) + SECRET_HEX + 1 ||
        strncmp(text, SECRET_LINE, strlen(SECRET_LINE)) != 0 || text[len - 1] != '\n' ||
        strspn(hex, "0123456789abcdef") != SECRET_HEX) {
        log_warn("embedded PostgreSQL: %s is not as this server writes it: setting a new "
                 "password",
                 path);
        return false;
    }
    memcpy(out, hex, SECRET_HEX);
    out[SECRET_HEX] = '\0';
    return true;
}

static int new_secret(char out[SECRET_HEX + 1])
{
    unsigned char raw[SECRET_BYTES];
    size_t got = 0;
    while (got < sizeof raw) {
        ssize_t n = getrandom(raw + got, sizeof raw - got, 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return -1;
        }
        got += (size_t)n;
    }
    for (size_t i = 0; i < sizeof raw; i++) {
        snprintf(out + 2 * i, 3, "%02x", raw[i]);
    }
    return 0;
}

/* Remove socket folder "dir" if it is one of ours (SOCK_PREFIX + 6 mkdtemp
 * characters, a real folder of the cluster user), with the socket and lock
 * files a killed postmaster may have left in it. */
static void remove_socket_dir(const db_embed *e, const char *dir)
{
    char path[PATH_MAX + 32];
    struct stat st;
    size_t n = strlen(SOCK_PREFIX);
    if (strncmp(dir, SOCK_PREFIX, n) != 0 || strlen(dir) != n + 6 ||
        strspn(dir + n, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") != 6) {
        return;
    }
    if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != cluster_uid(e)) {
        return;
    }
    snprintf(path, sizeof path, "%s%s", dir, SOCK_FILE);
    (void)unlink(path);
    snprintf(path, sizeof path, "%s%s.lock", dir, SOCK_FILE);
    (void)unlink(path);
    if (rmdir(dir) != 0 && errno != ENOENT) {
        log_warn("embedded PostgreSQL: cannot remove the socket folder %s: %s", dir,
                 strerror(errno));
    }
}

/* The private socket folder named by metron.conf of an earlier run that did
 * not stop cleanly (killed): removed once its postmaster is stopped. */
static void remove_earlier_socket_dir(const db_embed *e)
{
    static const char key[] = "unix_socket_directories = '";
    char text[PATH_MAX * 2 + 512], dir[PATH_MAX];
    const char *p, *end;
    if (read_file(e, "metron.conf", text, sizeof text) < 0 || (p = strstr(text, key)) == NULL) {
        return;
    }
    p += strlen(key);
    end = strchr(p, '\'');
    if (end == NULL || (size_t)(end - p) >= sizeof dir) {
        return;
    }
    memcpy(dir, p, (size_t)(end - p));
    dir[end - p] = '\0';
    remove_socket_dir(e, dir);
}

/* No postmaster runs in the cluster folder now (stopped above, and our data
 * folder is locked), so a socket lock file in it is not a live one: a copy
 * restored from a backup (pgBackRest copies it with the cluster) names the
 * postmaster of the backup's time, and PostgreSQL refuses to start while any
 * process of the cluster user has that PID (the old postmaster, if it was
 * left running, or a new process given the same number). */
static void remove_copied_socket_lock(const db_embed *e)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s%s.lock", e->pg_dir, SOCK_FILE);
    if (unlink(path) == 0) {
        log_info("embedded PostgreSQL: removed a socket lock file no postmaster holds (%s)", path);
    } else if (errno != ENOENT) {
        log_warn("embedded PostgreSQL: cannot remove %s: %s", path, strerror(errno));
    }
}

/* The unix socket goes into the cluster folder when its path fits in
 * sockaddr_un; otherwise into a new private folder SOCK_PREFIX + XXXXXX
 * (mode 0700, owned by the cluster user). */
static int choose_socket_dir(db_embed *e, char *err, size_t cap)
{
    struct sockaddr_un sa;
    if (strlen(e->pg_dir) + strlen(SOCK_FILE) < sizeof sa.sun_path) {
        snprintf(e->sock_dir, sizeof e->sock_dir, "%s", e->pg_dir);
        e->sock_private = false;
        return 0;
    }
    snprintf(e->sock_dir, sizeof e->sock_dir, "%sXXXXXX", SOCK_PREFIX);
    if (mkdtemp(e->sock_dir) == NULL) {
        snprintf(err, cap, "cannot create a socket folder %sXXXXXX: %s", SOCK_PREFIX,
                 strerror(errno));
        return -1;
    }
    e->sock_private = true;
    if (chmod(e->sock_dir, 0700) != 0 || (e->drop && chown(e->sock_dir, e->uid, e->gid) != 0)) {
        snprintf(err, cap, "cannot hand the socket folder %s to the PostgreSQL user: %s",
                 e->sock_dir, strerror(errno));
        (void)rmdir(e->sock_dir);
        e->sock_private = false;
        return -1;
    }
    return 0;
}

/* The libpq connection string for database "db", with "secret" as password
 * (NULL: none, for peer) and with "timeout" a connect_timeout. */
static int conninfo_for(const db_embed *e, const char *db, const char *secret, bool timeout,
                        char *out, size_t cap)
{
    char host[sizeof e->sock_dir * 2];
    int n;
    if (quote_value(host, sizeof host, e->sock_dir) != 0) {
        return -1;
    }
    n = snprintf(out, cap, "host='%s' port=%d user=postgres dbname=%s%s%s%s", host, EMBED_PORT,
                 db, secret ? " password=" : "", secret ? secret : "",
                 timeout ? " connect_timeout=10" : "");
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* The cluster runs with the bootstrap pg_hba.conf (peer for this process's
 * user only): give postgres a new random password (sent as a SCRAM verifier,
 * never in clear), store it in metron.pgpass, switch pg_hba.conf to SCRAM,
 * reload, and wait until a connection has to present the password. On success
 * "secret" holds it. */
static int set_new_password(db_embed *e, char secret[SECRET_HEX + 1], char *err, size_t cap)
{
    char ci[PATH_MAX * 2 + 256], sql[512], pgpass[sizeof SECRET_LINE + SECRET_HEX + 2];
    PGconn *pg = NULL;
    PGresult *res = NULL;
    char *verifier = NULL, *literal = NULL;
    int rc = -1, i;

    if (conninfo_for(e, "postgres", NULL, true, ci, sizeof ci) != 0) {
        snprintf(err, cap, "embedded PostgreSQL: socket path too long");
        return -1;
    }
    pg = PQconnectdb(ci);
    if (pg == NULL || PQstatus(pg) != CONNECTION_OK) {
        snprintf(err, cap, "embedded PostgreSQL: cannot connect (peer) to set the password: %s",
                 pg ? PQerrorMessage(pg) : "out of memory");
        goto out;
    }
    if (new_secret(secret) != 0) {
        snprintf(err, cap, "embedded PostgreSQL: no random bytes: %s", strerror(errno));
        goto out;
    }
    verifier = PQencryptPasswordConn(pg, secret, "postgres", "scram-sha-256");
    literal = verifier ? PQescapeLiteral(pg, verifier, strlen(verifier)) : NULL;
    if (literal == NULL ||
        snprintf(sql, sizeof sql, "ALTER ROLE postgres WITH PASSWORD %s", literal) >=
            (int)sizeof sql) {
        snprintf(err, cap, "embedded PostgreSQL: cannot encrypt the password: %s",
                 PQerrorMessage(pg));
        goto out;
    }
    res = PQexec(pg, sql);
    if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK) {
        snprintf(err, cap, "embedded PostgreSQL: ALTER ROLE postgres: %s", PQerrorMessage(pg));
        goto out;
    }
    snprintf(pgpass, sizeof pgpass, "%s%s\n", SECRET_LINE, secret);
    if (write_file(e, SECRET_FILE, pgpass) != 0 || fsync_dir(e->pg_dir) != 0) {
        snprintf(err, cap, "cannot write %s/%s: %s", e->pg_dir, SECRET_FILE, strerror(errno));
        goto out;
    }
    if (write_auth_files(e, false, err, cap) != 0) {
        goto out;
    }
    PQclear(res);
    res = PQexec(pg, "SELECT pg_reload_conf()");
    if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
        snprintf(err, cap, "embedded PostgreSQL: reload: %s", PQerrorMessage(pg));
        goto out;
    }
    PQfinish(pg);
    pg = NULL;
    /* The reload is asynchronous: until it is done, peer still lets this
     * process in without asking for the password. */
    if (conninfo_for(e, "postgres", secret, true, ci, sizeof ci) != 0) {
        snprintf(err, cap, "embedded PostgreSQL: socket path too long");
        goto out;
    }
    for (i = 0; i < 200; i++) {
        pg = PQconnectdb(ci);
        if (pg != NULL && PQstatus(pg) == CONNECTION_OK && PQconnectionUsedPassword(pg)) {
            break;
        }
        PQfinish(pg);
        pg = NULL;
        sleep_ms(50);
    }
    if (pg == NULL) {
        snprintf(err, cap, "embedded PostgreSQL: SCRAM authentication did not take effect");
        goto out;
    }
    rc = 0;
out:
    if (rc != 0) {
        err[strcspn(err, "\n")] = '\0';
    }
    PQfreemem(literal);
    PQfreemem(verifier);
    PQclear(res);
    PQfinish(pg);
    return rc;
}

/* Create the database "metron" if missing, and warn when something outside
 * metron.conf made PostgreSQL listen on TCP after all. */
static int prepare_database(const char *conninfo_postgres, char *err, size_t cap)
{
    const char *params[1] = {"metron"};
    PGconn *pg = PQconnectdb(conninfo_postgres);
    PGresult *res = NULL;
    int rc = -1;
    if (pg == NULL || PQstatus(pg) != CONNECTION_OK) {
        snprintf(err, cap,
                 "embedded PostgreSQL: cannot connect: %s (a wrong password in "
                 "metron.pgpass? remove that file and start again to set a new one)",
                 pg ? PQerrorMessage(pg) : "out of memory");
        goto out;
    }
    res = PQexec(pg, "SHOW listen_addresses");
    if (res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
        PQgetvalue(res, 0, 0)[0] != '\0') {
        log_warn("embedded PostgreSQL: listen_addresses is '%s' (set outside metron.conf): it "
                 "listens on TCP too",
                 PQgetvalue(res, 0, 0));
    }
    PQclear(res);
    res = PQexecParams(pg, "SELECT 1 FROM pg_database WHERE datname = $1", 1, NULL, params,
                       NULL, NULL, 0);
    if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
        snprintf(err, cap, "embedded PostgreSQL: %s", PQerrorMessage(pg));
        goto out;
    }
    if (PQntuples(res) == 0) {
        PQclear(res);
        res = PQexec(pg, "CREATE DATABASE metron");
        if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK) {
            snprintf(err, cap, "embedded PostgreSQL: CREATE DATABASE: %s", PQerrorMessage(pg));
            goto out;
        }
        log_info("embedded PostgreSQL: created database metron");
    }
    rc = 0;
out:
    if (rc != 0) {
        err[strcspn(err, "\n")] = '\0';
    }
    PQclear(res);
    PQfinish(pg);
    return rc;
}


/* ------------------------------------------------------------ backups (O3) */

#define BACKUP_STANZA "metron"
#define BACKUP_CONF "pgbackrest.conf"
#define PGBACKREST_DEFAULT "/usr/bin/pgbackrest"
#define BACKUP_PATHS_MSG                                                                      \
    "METRON_BACKUP: the backup folder and the data folder (and the socket folder) must be "  \
    "absolute paths of letters, digits and / . _ - only"

/* A path that pgbackrest.conf and archive_command hold as it is: absolute,
 * of letters, digits and "/._-" only, without "..". */
static bool plain_path(const char *p)
{
    if (p == NULL || p[0] != '/' || strstr(p, "..") != NULL || strlen(p) > PATH_MAX / 2) {
        return false;
    }
    for (; *p != '\0'; p++) {
        if (!isalnum((unsigned char)*p) && *p != '/' && *p != '.' && *p != '_' && *p != '-') {
            return false;
        }
    }
    return true;
}

/* The repository folder "repo" with its parents: the parents 0755, "repo"
 * itself 0700 and the cluster user's (pgBackRest runs as that user). */
static int make_repo(const db_embed *e, const char *repo, char *err, size_t cap)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s", repo);
    for (char *q = path + 1;; q++) {
        if (*q == '/' || *q == '\0') {
            char c = *q;
            *q = '\0';
            if (path[0] != '\0' && mkdir(path, c == '\0' ? 0700 : 0755) != 0 && errno != EEXIST) {
                snprintf(err, cap, "cannot create the backup folder %s: %s", path, strerror(errno));
                return -1;
            }
            *q = c;
            if (c == '\0') {
                break;
            }
        }
    }
    if (chmod(repo, 0700) != 0 || (e->drop && chown(repo, e->uid, e->gid) != 0)) {
        snprintf(err, cap, "cannot hand the backup folder %s to the PostgreSQL user: %s", repo,
                 strerror(errno));
        return -1;
    }
    /* pgBackRest writes its logs there but does not create the folder. */
    snprintf(path, sizeof path, "%s/log", repo);
    if ((mkdir(path, 0700) != 0 && errno != EEXIST) ||
        (e->drop && chown(path, e->uid, e->gid) != 0)) {
        snprintf(err, cap, "cannot create %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* The pgBackRest program (METRON_PGBACKREST, default /usr/bin/pgbackrest). */
static const char *pgbackrest_prog(void)
{
    const char *p = getenv("METRON_PGBACKREST");
    return p != NULL && *p != '\0' ? p : PGBACKREST_DEFAULT;
}

/* With "repo" set: check it, create it, write DATA/pgbackrest.conf (the
 * stanza "metron": this cluster, its socket, the repository with 7 days of
 * full backups kept) and append WAL archiving through pgBackRest to "conf"
 * (metron.conf's text, "cap" bytes). */
static int backup_prepare(db_embed *e, const char *data_dir, const char *repo, char *conf,
                          size_t cap, char *err, size_t err_cap)
{
    char text[PATH_MAX * 4 + 1024];
    size_t len = strlen(conf);
    int n;
    if (!plain_path(repo) || !plain_path(data_dir) || !plain_path(e->sock_dir)) {
        snprintf(err, err_cap, BACKUP_PATHS_MSG);
        return -1;
    }
    if (access(pgbackrest_prog(), X_OK) != 0) {
        snprintf(err, err_cap, "METRON_BACKUP: pgBackRest not found at %s (install pgbackrest, or "
                               "set METRON_PGBACKREST)",
                 pgbackrest_prog());
        return -1;
    }
    if (make_repo(e, repo, err, err_cap) != 0) {
        return -1;
    }
    n = snprintf(text, sizeof text,
                 "# Written by metron-server at every start (docs/operations.md, Backups).\n"
                 "[global]\n"
                 "repo1-path=%s\n"
                 "repo1-retention-full-type=time\n"
                 "repo1-retention-full=7\n"
                 "log-path=%s/log\n"
                 "lock-path=%s/lock\n"
                 "spool-path=%s/spool\n"
                 "log-level-console=warn\n"
                 "log-level-stderr=warn\n"
                 "log-level-file=info\n"
                 "start-fast=y\n"
                 "compress-type=lz4\n"
                 "\n"
                 "[" BACKUP_STANZA "]\n"
                 "pg1-path=%s\n"
                 "pg1-socket-path=%s\n"
                 "pg1-port=%d\n"
                 "pg1-user=postgres\n",
                 repo, repo, repo, repo, e->pg_dir, e->sock_dir, EMBED_PORT);
    if (n < 0 || (size_t)n >= sizeof text) {
        snprintf(err, err_cap, "METRON_BACKUP: paths too long");
        return -1;
    }
    if (write_file_in(e, data_dir, BACKUP_CONF, text) != 0) {
        snprintf(err, err_cap, "cannot write %s/%s: %s", data_dir, BACKUP_CONF, strerror(errno));
        return -1;
    }
    snprintf(e->backup_conf, sizeof e->backup_conf, "%s/%s", data_dir, BACKUP_CONF);
    n = snprintf(conf + len, cap - len,
                 "archive_mode = on\n"
                 "archive_command = '%s --config=%s --stanza=" BACKUP_STANZA " archive-push %%p'\n"
                 "archive_timeout = 60\n",
                 pgbackrest_prog(), e->backup_conf);
    if (n < 0 || (size_t)n >= cap - len || !plain_path(pgbackrest_prog())) {
        snprintf(err, err_cap, "METRON_BACKUP: paths too long or METRON_PGBACKREST not plain");
        return -1;
    }
    return 0;
}

/* pgBackRest "command" on the stanza as the cluster user, with the
 * cluster's password file for its connections. Returns its exit status. */
static int backup_run(const db_embed *e, const char *command)
{
    char cfg[PATH_MAX + 16], pgpass[PATH_MAX + 32];
    char *argv[] = {(char *)pgbackrest_prog(), cfg, "--stanza=" BACKUP_STANZA, (char *)command,
                    NULL};
    char **envp;
    size_t n = 0, k = 0;
    int rc;
    snprintf(cfg, sizeof cfg, "--config=%s", e->backup_conf);
    snprintf(pgpass, sizeof pgpass, "PGPASSFILE=%s/%s", e->pg_dir, SECRET_FILE);
    while (environ[n] != NULL) {
        n++;
    }
    envp = calloc(n + 2, sizeof *envp);
    if (envp == NULL) {
        return -1;
    }
    envp[k++] = pgpass;
    for (size_t i = 0; i < n; i++) {
        if (strncmp(environ[i], "PG", 2) != 0) { /* no PGHOST etc. of the server's */
            envp[k++] = environ[i];
        }
    }
    envp[k] = NULL;
    rc = run_prog_env(e, argv, e->pg_dir, envp);
    free(envp);
    return rc;
}

int db_embed_start(const char *data_dir, const char *pg_bin, db_embed **out, char *conninfo,
                   size_t conninfo_cap, char *err, size_t err_cap)
{
    const char *backup_repo = getenv("METRON_BACKUP");
    db_embed *e = calloc(1, sizeof *e);
    char check[PATH_MAX + 16], conf[PATH_MAX * 2 + 8192], quoted[PATH_MAX * 2];
    char ci_postgres[PATH_MAX * 2 + 256], secret[SECRET_HEX + 1];
    const char *progs[] = {"initdb", "pg_ctl", "postgres", "pg_controldata"};
    char state[64];
    bool have_secret, had_trust;
    int rc;

    *out = NULL;
    if (backup_repo != NULL && backup_repo[0] == '\0') {
        backup_repo = NULL;
    }
    if (e == NULL) {
        snprintf(err, err_cap, "out of memory");
        return -1;
    }
    if (snprintf(e->pg_dir, sizeof e->pg_dir, "%s/pg", data_dir) >= (int)sizeof e->pg_dir) {
        snprintf(err, err_cap, "data folder path too long");
        goto fail;
    }
    snprintf(e->pg_ctl, sizeof e->pg_ctl, "%s/pg_ctl", pg_bin);
    if (backup_repo != NULL && (!plain_path(backup_repo) || !plain_path(data_dir))) {
        snprintf(err, err_cap, BACKUP_PATHS_MSG);
        goto fail;
    }
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
    remove_earlier_socket_dir(e);
    remove_copied_socket_lock(e);

    /* A restore stopped between the removal of recovery.signal and the end
     * of recovery (docs/operations.md "Restoring"): a start would replay,
     * as crash recovery, the WAL fetched past the restore's instant. */
    if (cluster_state(e, pg_bin, state, sizeof state, err, err_cap) != 0) {
        goto fail;
    }
    if (db_embed__state_needs_restore(state, file_exists(e->pg_dir, "recovery.signal"),
                                      file_exists(e->pg_dir, "standby.signal"))) {
        snprintf(err, err_cap,
                 "the PostgreSQL cluster in %s is in the middle of a restore (\"%s\", without "
                 "recovery.signal): not started, since it would replay WAL past the restore's "
                 "instant. Run scripts/restore %s again (with the same --time, if any), then "
                 "start metron-server.",
                 e->pg_dir, state, data_dir);
        goto fail;
    }

    /* Everything the postmaster reads is rewritten before it starts: no TCP,
     * the socket in a folder only the cluster user (and root) can enter, and
     * SCRAM, or peer for this process alone while a password is set. */
    if (ensure_include(e, err, err_cap) != 0 || choose_socket_dir(e, err, err_cap) != 0) {
        goto fail;
    }
    have_secret = read_secret(e, secret);
    had_trust = hba_has_trust(e);
    if (quote_value(quoted, sizeof quoted, e->sock_dir) != 0) {
        snprintf(err, err_cap, "data folder path too long");
        goto fail;
    }
    snprintf(conf, sizeof conf,
             "# Written by metron-server at every start (docs/server.md).\n"
             "listen_addresses = ''\n"
             "port = %d\n"
             "unix_socket_directories = '%s'\n"
             "unix_socket_permissions = 0700\n"
             "password_encryption = 'scram-sha-256'\n",
             EMBED_PORT, quoted);
    /* The settings every cluster Metron runs gets (server/db/pg_tuning.conf:
     * WAL segments not zero-filled, compressed full-page images, shared
     * buffers and checkpoint spacing for ingest; issue 16). */
    if (strlen(conf) + strlen(db_pg_tuning) + 1 > sizeof conf) {
        snprintf(err, err_cap, "data folder path too long");
        goto fail;
    }
    strcat(conf, db_pg_tuning);
    if (backup_repo != NULL &&
        backup_prepare(e, data_dir, backup_repo, conf, sizeof conf, err, err_cap) != 0) {
        goto fail;
    }
    if (write_file(e, "metron.conf", conf) != 0) {
        snprintf(err, err_cap, "cannot write %s/metron.conf: %s", e->pg_dir, strerror(errno));
        goto fail;
    }
    if (write_auth_files(e, !have_secret, err, err_cap) != 0) {
        goto fail;
    }
    if (had_trust) {
        log_warn("embedded PostgreSQL: the cluster allowed connections without a password "
                 "(trust, as created by older versions): now SCRAM over the private unix "
                 "socket only, no TCP");
    }
    rc = pg_ctl(e, "start", NULL, NULL);
    if (rc != 0) {
        log_pg_tail(e);
        snprintf(err, err_cap, "embedded PostgreSQL did not start (exit %d); see %s/postgres.log",
                 rc, e->pg_dir);
        goto fail;
    }

    if (conninfo_for(e, "postgres", NULL, true, ci_postgres, sizeof ci_postgres) != 0) {
        snprintf(err, err_cap, "data folder path too long");
        db_embed_stop(e);
        return -1;
    }
    for (int i = 0; i < 100 && PQping(ci_postgres) != PQPING_OK; i++) {
        sleep_ms(100);
    }
    if (!have_secret) {
        log_info("embedded PostgreSQL: setting a new password for postgres (%s/%s)", e->pg_dir,
                 SECRET_FILE);
        if (set_new_password(e, secret, err, err_cap) != 0) {
            db_embed_stop(e);
            return -1;
        }
    }
    if (conninfo_for(e, "postgres", secret, true, ci_postgres, sizeof ci_postgres) != 0 ||
        conninfo_for(e, "metron", secret, false, conninfo, conninfo_cap) != 0) {
        snprintf(err, err_cap, "data folder path too long for the connection string");
        db_embed_stop(e);
        return -1;
    }
    if (prepare_database(ci_postgres, err, err_cap) != 0) {
        db_embed_stop(e);
        return -1;
    }
    /* The stanza is created once; later starts only check it (a repository
     * of another cluster is refused here, not at the first backup). */
    if (e->backup_conf[0] != '\0' && (rc = backup_run(e, "stanza-create")) != 0) {
        snprintf(err, err_cap,
                 "METRON_BACKUP: pgbackrest stanza-create exited with %d (a repository of another "
                 "cluster? see %s)",
                 rc, e->backup_conf);
        db_embed_stop(e);
        return -1;
    }
    if (e->backup_conf[0] != '\0') {
        log_info("backups: WAL archived with pgBackRest, stanza %s (%s)", BACKUP_STANZA,
                 e->backup_conf);
    }
    log_info("embedded PostgreSQL: running in %s (unix socket in %s, no TCP, SCRAM)", e->pg_dir,
             e->sock_dir);
    *out = e;
    return 0;
fail:
    if (e->sock_private) {
        remove_socket_dir(e, e->sock_dir);
    }
    free(e);
    return -1;
}

int db_embed_allow_replication(db_embed *e, const char *role, const char *cidr, char *err,
                               size_t err_cap)
{
    db_embed_repl line;
    int rc;
    if (db_embed__repl_parse(role, cidr, &line, err, err_cap) != 0) {
        return -1;
    }
    if (e->n_repl == DB_EMBED_MAX_REPLICATION) {
        snprintf(err, err_cap, "at most %d replication lines", DB_EMBED_MAX_REPLICATION);
        return -1;
    }
    e->repl[e->n_repl++] = line;
    if (write_auth_files(e, false, err, err_cap) != 0) {
        e->n_repl--;
        return -1;
    }
    rc = pg_ctl(e, "reload", NULL, NULL);
    if (rc != 0) {
        snprintf(err, err_cap, "embedded PostgreSQL: pg_ctl reload exited with %d", rc);
        return -1;
    }
    log_info("embedded PostgreSQL: replication allowed for %s from %s (SCRAM)", line.role,
             line.cidr);
    return 0;
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
    if (e->sock_private) {
        remove_socket_dir(e, e->sock_dir);
    }
    free(e);
}
