/* metron-bench-hello: the CivetWeb ceiling of scripts/bench-server (issue #3).
 *
 * A bare CivetWeb server (the same libcivetweb as metron-server) with the
 * server's HTTP options (tcp_nodelay, keep-alive with a 5 s idle timeout,
 * the same worker thread count) that answers every request with a fixed
 * JSON body, headers and body in one mg_write(), as metron-server's API
 * replies are written. No routing, no authentication, no database, no
 * access log: what metron-server does per request comes on top of this.
 * Like metron-server's /api, it has an authorization handler, so CivetWeb
 * looks for no .htpasswd file.
 *
 * With --db CONNINFO it is the durable ceiling (issue 16, "mixfloor"): every
 * POST's body is stored in PostgreSQL before its reply, the least that any
 * server which acknowledges data only once it is on disk does per request.
 * The body goes as it came into an unindexed table of one bytea column
 * (hello_body, made if missing), under the database's own durability
 * (nothing is set per session: synchronous_commit as configured, printed at
 * the start). Group commit: the request's thread queues its body and sleeps;
 * a committer thread (--committers, default 1), on a connection of its own,
 * takes every body queued so far and stores them in one prepared INSERT of a
 * binary bytea[] parameter, a transaction of its own, and wakes their
 * threads once PostgreSQL has answered, i.e. after the commit's WAL flush.
 * With more committers, while one waits for its flush another takes what
 * queued meanwhile (not faster on the disks measured, and more commits of
 * fewer bodies each: docs/benchmarks.md "mixfloor"). Other methods get the
 * fixed reply at once, as without --db.
 *
 * With --replies FILE it answers the route mix with the mix's own replies
 * (issue 16, "bytesceil"): FILE has one line per request of the mix,
 * "METHOD URI REPLY" (URI the path and query as the client sends them,
 * REPLY a file holding a whole HTTP reply, status line, headers and body,
 * as metron-server sent it to that request at set-up time); a request whose
 * method and URI match a line gets that file's bytes in one mg_write(), a
 * POST after its body is stored (with --db); any other request the fixed
 * reply, counted and printed at the end ("N requests matched no reply").
 * Nothing else is done per request: no parsing beyond CivetWeb's, no reads.
 *
 * Usage: metron-bench-hello [--listen ADDR:PORT] [--threads N] [--body BYTES]
 *                           [--db CONNINFO [--committers N]] [--replies FILE]
 *   defaults 127.0.0.1:0 (a free port), 64 threads, a 512-byte body.
 * Prints "metron-bench-hello: listening on http://ADDR:PORT/" and serves
 * until SIGINT or SIGTERM. */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <civetweb.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BODY_MAX 65536
#define COMMITTERS_MAX 8
#define BYTEAOID 17
#define REPLIES_MAX 32

static char reply[BODY_MAX + 512];
static size_t reply_len;
static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

/* ------------------------------------------------------------ group commit */

/* A body waiting to be stored. It lives on its request thread's stack until
 * "done" is posted; the committer reads nothing of it after that post. */
typedef struct pending {
    const char *body;
    size_t len;
    bool ok;    /* the answer, written before the post */
    sem_t *done; /* the waiting thread's own semaphore */
    struct pending *next;
} pending;

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_work = PTHREAD_COND_INITIALIZER;
static pending *g_head, *g_tail; /* under g_mu */
static bool g_closing;           /* under g_mu */
static bool g_durable;           /* --db given; read-only while serving */

/* One semaphore per request thread, made on its first POST: a thread waits
 * for one body at a time, and a semaphore that lives as long as its thread
 * may be posted after the waiter has returned from sem_wait(). */
static _Thread_local sem_t t_done;
static _Thread_local bool t_done_made;

typedef struct committer {
    PGconn *conn;
    pthread_t thread;
    char *param; /* the binary bytea[] being built, grown as needed */
    size_t param_cap;
    unsigned long long n_bodies, n_commits; /* stored, by this committer only */
} committer;

static committer g_committers[COMMITTERS_MAX];
static int g_n_committers;

static void put_u32(char *at, uint32_t v)
{
    v = htonl(v);
    memcpy(at, &v, 4);
}

/* "list" (n bodies, "bytes" in all) as PostgreSQL's binary form of a
 * one-dimensional bytea[] in c->param; its length, or 0 when out of memory. */
static size_t array_of(committer *c, const pending *list, uint32_t n, size_t bytes)
{
    size_t need = 20 + 4 * (size_t)n + bytes, off = 20;
    if (need > c->param_cap) {
        char *grown = realloc(c->param, need);
        if (grown == NULL) {
            return 0;
        }
        c->param = grown;
        c->param_cap = need;
    }
    put_u32(c->param, 1);         /* dimensions */
    put_u32(c->param + 4, 0);     /* no nulls */
    put_u32(c->param + 8, BYTEAOID);
    put_u32(c->param + 12, n);    /* length of the dimension */
    put_u32(c->param + 16, 1);    /* its lower bound */
    for (const pending *p = list; p != NULL; p = p->next) {
        put_u32(c->param + off, (uint32_t)p->len);
        memcpy(c->param + off + 4, p->body, p->len);
        off += 4 + p->len;
    }
    return off;
}

/* Take every queued body, store them in one statement (its own transaction,
 * acknowledged by PostgreSQL after the commit's WAL flush) and wake their
 * threads; until the server closes. */
static void *commit_loop(void *arg)
{
    committer *c = arg;
    for (;;) {
        pending *list;
        uint32_t n = 0;
        size_t bytes = 0, len;
        bool ok = false;

        pthread_mutex_lock(&g_mu);
        while (g_head == NULL && !g_closing) {
            pthread_cond_wait(&g_work, &g_mu);
        }
        list = g_head;
        g_head = g_tail = NULL;
        pthread_mutex_unlock(&g_mu);
        if (list == NULL) {
            return NULL; /* closing, nothing left */
        }

        for (const pending *p = list; p != NULL; p = p->next) {
            n++;
            bytes += p->len;
        }
        if ((len = array_of(c, list, n, bytes)) > 0) {
            const char *values[1] = {c->param};
            const int lengths[1] = {(int)len}, formats[1] = {1};
            PGresult *res = PQexecPrepared(c->conn, "store", 1, values, lengths, formats, 0);
            ok = PQresultStatus(res) == PGRES_COMMAND_OK;
            if (ok) {
                c->n_bodies += n;
                c->n_commits++;
            }
            if (!ok) {
                fprintf(stderr, "metron-bench-hello: storing %u bodies: %s", n,
                        PQerrorMessage(c->conn));
            }
            PQclear(res);
        }
        while (list != NULL) {
            pending *next = list->next; /* read before the post: the item may go */
            sem_t *done = list->done;
            list->ok = ok;
            sem_post(done);
            list = next;
        }
    }
}

/* Queue "body" and wait until a committer has stored it; whether it was. */
static bool store_durably(const char *body, size_t len)
{
    pending me = {.body = body, .len = len};
    if (!t_done_made) {
        if (sem_init(&t_done, 0, 0) != 0) {
            return false;
        }
        t_done_made = true;
    }
    me.done = &t_done;
    pthread_mutex_lock(&g_mu);
    if (g_tail != NULL) {
        g_tail->next = &me;
    } else {
        g_head = &me;
    }
    g_tail = &me;
    pthread_cond_signal(&g_work);
    pthread_mutex_unlock(&g_mu);
    while (sem_wait(&t_done) != 0) {
        /* EINTR: wait on */
    }
    return me.ok;
}

/* "synchronous_commit=on, fsync=on" as the session of "conn" has them. */
static void durability_text(PGconn *conn, char *out, size_t cap)
{
    PGresult *res = PQexec(conn,
                           "SELECT current_setting('synchronous_commit'), current_setting('fsync')");
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
        snprintf(out, cap, "synchronous_commit=%s, fsync=%s", PQgetvalue(res, 0, 0),
                 PQgetvalue(res, 0, 1));
    } else {
        snprintf(out, cap, "durability unknown");
    }
    PQclear(res);
}

/* PostgreSQL's notices ("relation already exists, skipping") are not printed. */
static void quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* Connect the committers to "conninfo", make the table, prepare the
 * statement and write the sessions' durability into "durable" ("cap" bytes);
 * prints why and returns false on failure. */
static bool committers_start(const char *conninfo, int n, char *durable, size_t cap)
{
    for (int i = 0; i < n; i++) {
        committer *c = &g_committers[i];
        PGresult *res;
        c->conn = PQconnectdb(conninfo);
        if (PQstatus(c->conn) != CONNECTION_OK) {
            fprintf(stderr, "metron-bench-hello: %s", PQerrorMessage(c->conn));
            return false;
        }
        PQsetNoticeProcessor(c->conn, quiet, NULL);
        res = PQexec(c->conn, "CREATE TABLE IF NOT EXISTS hello_body (body bytea NOT NULL)");
        PQclear(res);
        res = PQprepare(c->conn, "store",
                        "INSERT INTO hello_body (body) SELECT unnest($1::bytea[])", 1, NULL);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            fprintf(stderr, "metron-bench-hello: %s", PQerrorMessage(c->conn));
            PQclear(res);
            return false;
        }
        PQclear(res);
        if (i == 0) {
            durability_text(c->conn, durable, cap);
        }
        if (pthread_create(&c->thread, NULL, commit_loop, c) != 0) {
            fprintf(stderr, "metron-bench-hello: no committer thread\n");
            return false;
        }
        g_n_committers = i + 1;
    }
    return true;
}

/* The committers store what is queued, then end; their connections close.
 * Prints how many bodies they stored in how many commits (the group sizes
 * that the disk's flush time left). */
static void committers_stop(void)
{
    unsigned long long bodies = 0, commits = 0;
    pthread_mutex_lock(&g_mu);
    g_closing = true;
    pthread_cond_broadcast(&g_work);
    pthread_mutex_unlock(&g_mu);
    for (int i = 0; i < g_n_committers; i++) {
        pthread_join(g_committers[i].thread, NULL);
        bodies += g_committers[i].n_bodies;
        commits += g_committers[i].n_commits;
    }
    if (g_n_committers > 0) {
        printf("metron-bench-hello: stored %llu bodies in %llu commits\n", bodies, commits);
        fflush(stdout);
    }
    for (int i = 0; i < COMMITTERS_MAX; i++) {
        PQfinish(g_committers[i].conn);
        free(g_committers[i].param);
    }
}

/* ------------------------------------------------------------ the mix's replies */

/* A request of the route mix and the reply metron-server gave it, read
 * from --replies at the start and read-only while serving. */
typedef struct canned {
    char method[8];
    char *uri;   /* path and query, as the client sends them */
    char *reply; /* status line, headers and body */
    size_t len;
    int status;
} canned;

static canned g_canned[REPLIES_MAX];
static int g_n_canned;
static unsigned long long g_unmatched; /* requests that got the fixed reply */
static pthread_mutex_t g_unmatched_mu = PTHREAD_MUTEX_INITIALIZER;

/* The whole of file "path" in *out (caller frees) and its size in *len;
 * false when it cannot be read. */
static bool read_whole(const char *path, char **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long size;
    bool ok = false;
    if (f == NULL) {
        return false;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) <= 0 || fseek(f, 0, SEEK_SET) != 0) {
        goto out;
    }
    if ((buf = malloc((size_t)size)) == NULL || fread(buf, 1, (size_t)size, f) != (size_t)size) {
        goto out;
    }
    *out = buf;
    *len = (size_t)size;
    buf = NULL;
    ok = true;
out:
    free(buf);
    fclose(f);
    return ok;
}

/* Load the lines "METHOD URI REPLY-FILE" of "index" into g_canned; prints
 * why and returns false when a line or a reply file is unusable (a reply
 * must start with "HTTP/1.x NNN "). */
static bool canned_load(const char *index)
{
    FILE *f = fopen(index, "r");
    char line[4096];
    bool ok = true;
    if (f == NULL) {
        fprintf(stderr, "metron-bench-hello: cannot open %s\n", index);
        return false;
    }
    while (ok && fgets(line, sizeof line, f) != NULL) {
        char method[8], uri[2048], file[2048];
        canned *c;
        if (line[0] == '\n' || line[0] == '#') {
            continue;
        }
        if (sscanf(line, "%7s %2047s %2047s", method, uri, file) != 3 || g_n_canned == REPLIES_MAX) {
            fprintf(stderr, "metron-bench-hello: %s: a line not METHOD URI FILE, or more than %d\n",
                    index, REPLIES_MAX);
            ok = false;
            break;
        }
        c = &g_canned[g_n_canned];
        memcpy(c->method, method, sizeof method);
        if ((c->uri = strdup(uri)) == NULL || !read_whole(file, &c->reply, &c->len) ||
            c->len < 13 || strncmp(c->reply, "HTTP/1.", 7) != 0 ||
            (c->status = atoi(c->reply + 9)) < 100) {
            fprintf(stderr, "metron-bench-hello: %s: no HTTP reply in %s\n", index, file);
            free(c->uri);
            ok = false;
            break;
        }
        g_n_canned++;
    }
    fclose(f);
    if (ok && g_n_canned == 0) {
        fprintf(stderr, "metron-bench-hello: %s: no replies\n", index);
        ok = false;
    }
    return ok;
}

/* The canned reply of a request "method" of "path" and "query" (NULL: none),
 * or NULL when there is none. */
static const canned *canned_find(const char *method, const char *path, const char *query)
{
    size_t path_len = strlen(path);
    for (int i = 0; i < g_n_canned; i++) {
        const canned *c = &g_canned[i];
        if (strcmp(c->method, method) != 0 || strncmp(c->uri, path, path_len) != 0) {
            continue;
        }
        if (query == NULL ? c->uri[path_len] == '\0'
                          : c->uri[path_len] == '?' && strcmp(c->uri + path_len + 1, query) == 0) {
            return c;
        }
    }
    return NULL;
}

/* ------------------------------------------------------------ HTTP */

static int hello(struct mg_connection *conn, void *cbdata)
{
    const struct mg_request_info *ri = mg_get_request_info(conn);
    const canned *c = NULL;
    (void)cbdata;
    if (g_n_canned > 0) {
        c = canned_find(ri->request_method, ri->local_uri_raw ? ri->local_uri_raw : ri->local_uri,
                        ri->query_string);
        if (c == NULL) {
            pthread_mutex_lock(&g_unmatched_mu);
            g_unmatched++;
            pthread_mutex_unlock(&g_unmatched_mu);
        }
    }
    if (g_durable && strcmp(mg_get_request_info(conn)->request_method, "POST") == 0) {
        static const char refused[] = "HTTP/1.1 500 Internal Server Error\r\n"
                                      "Content-Length: 0\r\nConnection: close\r\n\r\n";
        char body[BODY_MAX];
        size_t len = 0;
        int got;
        while (len < sizeof body && (got = mg_read(conn, body + len, sizeof body - len)) > 0) {
            len += (size_t)got;
        }
        if (len == sizeof body || !store_durably(body, len)) {
            mg_write(conn, refused, sizeof refused - 1);
            return 500;
        }
    }
    if (c != NULL) {
        mg_write(conn, c->reply, c->len);
        return c->status;
    }
    mg_write(conn, reply, reply_len);
    return 200;
}

static int authorized(struct mg_connection *conn, void *cbdata)
{
    (void)conn;
    (void)cbdata;
    return 1;
}

static int usage(void)
{
    fprintf(stderr, "usage: metron-bench-hello [--listen ADDR:PORT] [--threads N] "
                    "[--body BYTES] [--db CONNINFO [--committers N]] [--replies FILE]\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *listen = "127.0.0.1:0", *conninfo = NULL, *replies = NULL;
    long threads = 64, body = 512, committers = 1;
    char threads_text[24], durable_text[96] = "";
    struct mg_callbacks cb;
    struct mg_context *ctx;
    struct mg_server_port port;
    struct sigaction sa;
    int head;

    for (int i = 1; i < argc; i++) {
        char *end = NULL;
        if (i + 1 >= argc) {
            return usage();
        }
        if (strcmp(argv[i], "--listen") == 0) {
            listen = argv[++i];
        } else if (strcmp(argv[i], "--threads") == 0) {
            threads = strtol(argv[++i], &end, 10);
            if (*end != '\0' || threads < 1 || threads > 1024) {
                return usage();
            }
        } else if (strcmp(argv[i], "--body") == 0) {
            body = strtol(argv[++i], &end, 10);
            if (*end != '\0' || body < 2 || body > BODY_MAX) {
                return usage();
            }
        } else if (strcmp(argv[i], "--db") == 0) {
            conninfo = argv[++i];
        } else if (strcmp(argv[i], "--replies") == 0) {
            replies = argv[++i];
        } else if (strcmp(argv[i], "--committers") == 0) {
            committers = strtol(argv[++i], &end, 10);
            if (*end != '\0' || committers < 1 || committers > COMMITTERS_MAX) {
                return usage();
            }
        } else {
            return usage();
        }
    }

    /* A JSON string of "body" bytes in all: {"hello":"xxx..."}. */
    head = snprintf(reply, sizeof reply,
                    "HTTP/1.1 200 OK\r\n"
                    "Content-Type: application/json; charset=utf-8\r\n"
                    "Content-Length: %ld\r\n"
                    "Cache-Control: no-store\r\n"
                    "X-Content-Type-Options: nosniff\r\n"
                    "\r\n",
                    body);
    reply_len = (size_t)head;
    if (body >= 13) {
        memcpy(reply + reply_len, "{\"hello\":\"", 10);
        memset(reply + reply_len + 10, 'x', (size_t)body - 12);
        memcpy(reply + reply_len + (size_t)body - 2, "\"}", 2);
    } else {
        memset(reply + reply_len, ' ', (size_t)body - 2);
        memcpy(reply + reply_len + (size_t)body - 2, "{}", 2);
    }
    reply_len += (size_t)body;

    if (replies != NULL && !canned_load(replies)) {
        return 1;
    }
    if (conninfo != NULL) {
        if (!committers_start(conninfo, (int)committers, durable_text, sizeof durable_text)) {
            committers_stop();
            return 1;
        }
        g_durable = true;
    }

    snprintf(threads_text, sizeof threads_text, "%ld", threads);
    const char *opts[] = {"listening_ports", listen,
                          "num_threads", threads_text,
                          "tcp_nodelay", "1",
                          "enable_keep_alive", "yes",
                          "keep_alive_timeout_ms", "5000",
                          "request_timeout_ms", "30000",
                          NULL};
    memset(&cb, 0, sizeof cb);
    mg_init_library(0);
    ctx = mg_start(&cb, NULL, opts);
    if (ctx == NULL) {
        fprintf(stderr, "metron-bench-hello: cannot listen on %s\n", listen);
        mg_exit_library();
        committers_stop();
        return 1;
    }
    mg_set_request_handler(ctx, "/", hello, NULL);
    mg_set_auth_handler(ctx, "/", authorized, NULL);
    memset(&port, 0, sizeof port);
    if (mg_get_server_ports(ctx, 1, &port) < 1) {
        fprintf(stderr, "metron-bench-hello: no listening port\n");
        mg_stop(ctx);
        mg_exit_library();
        committers_stop();
        return 1;
    }

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    printf("metron-bench-hello: listening on http://%.*s:%d/ (%ld threads, %ld-byte body",
           (int)(strrchr(listen, ':') ? strrchr(listen, ':') - listen : 0), listen, port.port,
           threads, body);
    if (g_durable) {
        printf("; POST bodies stored durably, committers: %ld, %s", committers, durable_text);
    }
    if (g_n_canned > 0) {
        printf("; the replies of %s, %d requests", replies, g_n_canned);
    }
    printf(")\n");
    fflush(stdout);
    while (!stop) {
        sleep(1); /* a signal ends it early */
    }
    mg_stop(ctx); /* after its workers' last POSTs were answered */
    mg_exit_library();
    if (g_durable) {
        committers_stop();
    }
    if (g_n_canned > 0) {
        printf("metron-bench-hello: %llu requests matched no reply\n", g_unmatched);
        fflush(stdout);
    }
    for (int i = 0; i < g_n_canned; i++) {
        free(g_canned[i].uri);
        free(g_canned[i].reply);
    }
    return 0;
}
