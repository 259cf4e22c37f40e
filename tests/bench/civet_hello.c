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
 * Usage: metron-bench-hello [--listen ADDR:PORT] [--threads N] [--body BYTES]
 *   defaults 127.0.0.1:0 (a free port), 64 threads, a 512-byte body.
 * Prints "metron-bench-hello: listening on http://ADDR:PORT/" and serves
 * until SIGINT or SIGTERM. */
#define _POSIX_C_SOURCE 200809L
#include <civetweb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BODY_MAX 65536

static char reply[BODY_MAX + 512];
static size_t reply_len;
static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static int hello(struct mg_connection *conn, void *cbdata)
{
    (void)cbdata;
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
                    "[--body BYTES]\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *listen = "127.0.0.1:0";
    long threads = 64, body = 512;
    char threads_text[24];
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
        return 1;
    }
    mg_set_request_handler(ctx, "/", hello, NULL);
    mg_set_auth_handler(ctx, "/", authorized, NULL);
    memset(&port, 0, sizeof port);
    if (mg_get_server_ports(ctx, 1, &port) < 1) {
        fprintf(stderr, "metron-bench-hello: no listening port\n");
        mg_stop(ctx);
        mg_exit_library();
        return 1;
    }

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    printf("metron-bench-hello: listening on http://%.*s:%d/ (%ld threads, %ld-byte body)\n",
           (int)(strrchr(listen, ':') ? strrchr(listen, ':') - listen : 0), listen, port.port,
           threads, body);
    fflush(stdout);
    while (!stop) {
        sleep(1); /* a signal ends it early */
    }
    mg_stop(ctx);
    mg_exit_library();
    return 0;
}
