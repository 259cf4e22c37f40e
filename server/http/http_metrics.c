/* GET /metrics (O2): the server's counters in Prometheus text format
 * (version 0.0.4), for a scraper holding METRON_METRICS_TOKEN
 * (docs/operations.md "Metrics"), and the per-route request statistics
 * that http.c records for every request. */
#define _POSIX_C_SOURCE 200809L
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth_password.h"
#include "config.h"
#include "http.h"
#include "http_internal.h"
#include "jobs.h"
#include "metrics.h"
#include "svc_ops.h"

/* Status classes counted per route: 1xx..5xx. */
#define N_CLASSES 5

/* The parts of a request's CPU in the per-route account (http.c). */
#define N_CPU_PARTS 3
static const char *const cpu_part_name[N_CPU_PARTS] = {"read", "handler", "log"};

typedef struct {
    metrics_hist hist;
    atomic_ullong codes[N_CLASSES];
    /* The per-route CPU account (METRON_ROUTE_CPU): the measured
     * requests' CPU by part, how many were measured for each part, and
     * their threads' context switches. */
    atomic_ullong cpu_ns[N_CPU_PARTS];
    atomic_ullong cpu_n[N_CPU_PARTS];
    atomic_ullong vcsw, ivcsw;
} route_stat;

static const http_route *const *g_tables;
static size_t g_n_tables;
static size_t *g_base;     /* index of each table's first route */
static size_t g_n_routes;  /* every route of every table */
/* g_n_routes + 2 entries: the routes, then static files, then API paths
 * that no route takes. */
static route_stat *g_stats;
static time_t g_started;

int http_metrics_init(const http_route *const *tables, size_t n_tables)
{
    size_t n = 0;
    if (g_stats != NULL) {
        return 0; /* once per process: the tables are static */
    }
    g_base = calloc(n_tables, sizeof *g_base);
    if (g_base == NULL) {
        return -1;
    }
    for (size_t t = 0; t < n_tables; t++) {
        g_base[t] = n;
        for (const http_route *r = tables[t]; r->method != NULL; r++) {
            n++;
        }
    }
    g_stats = calloc(n + 2, sizeof *g_stats);
    if (g_stats == NULL) {
        free(g_base);
        g_base = NULL;
        return -1;
    }
    g_tables = tables;
    g_n_tables = n_tables;
    g_n_routes = n;
    g_started = time(NULL);
    return 0;
}

int http_metrics_route(size_t table, size_t offset)
{
    return g_base != NULL && table < g_n_tables ? (int)(g_base[table] + offset)
                                                : HTTP_METRICS_UNMATCHED;
}

/* The stats entry of route index "route". */
static size_t stat_index(int route)
{
    if (route >= 0 && (size_t)route < g_n_routes) {
        return (size_t)route;
    }
    return route == HTTP_METRICS_STATIC ? g_n_routes : g_n_routes + 1;
}

void http_metrics_cpu(int route, long long read_ns, long long handler_ns, long long log_ns,
                      long vcsw, long ivcsw)
{
    const long long part[N_CPU_PARTS] = {read_ns, handler_ns, log_ns};
    route_stat *rs;
    if (g_stats == NULL) {
        return;
    }
    rs = &g_stats[stat_index(route)];
    for (int k = 0; k < N_CPU_PARTS; k++) {
        if (part[k] >= 0) {
            atomic_fetch_add_explicit(&rs->cpu_ns[k], (unsigned long long)part[k],
                                      memory_order_relaxed);
            atomic_fetch_add_explicit(&rs->cpu_n[k], 1, memory_order_relaxed);
        }
    }
    if (vcsw > 0) {
        atomic_fetch_add_explicit(&rs->vcsw, (unsigned long long)vcsw, memory_order_relaxed);
    }
    if (ivcsw > 0) {
        atomic_fetch_add_explicit(&rs->ivcsw, (unsigned long long)ivcsw, memory_order_relaxed);
    }
}

void http_metrics_observe(int route, int status, double seconds)
{
    route_stat *rs;
    if (g_stats == NULL) {
        return;
    }
    rs = &g_stats[stat_index(route)];
    metrics_hist_observe(&rs->hist, seconds);
    if (status >= 100 && status < 600) {
        atomic_fetch_add_explicit(&rs->codes[status / 100 - 1], 1, memory_order_relaxed);
    }
}

/* The labels of stats entry "i": method and route pattern. */
static void route_labels(size_t i, char *out, size_t cap)
{
    sbuf b = {0};
    const char *method = "", *pattern = "";
    if (i == g_n_routes) {
        method = "GET";
        pattern = "(static)";
    } else if (i == g_n_routes + 1) {
        method = "";
        pattern = "(no route)";
    } else {
        for (size_t t = 0; t < g_n_tables; t++) {
            size_t end = t + 1 < g_n_tables ? g_base[t + 1] : g_n_routes;
            if (i >= g_base[t] && i < end) {
                method = g_tables[t][i - g_base[t]].method;
                pattern = g_tables[t][i - g_base[t]].pattern;
                break;
            }
        }
    }
    sb_put(&b, "method=\"");
    metrics_label_value(&b, method);
    sb_put(&b, "\",route=\"");
    metrics_label_value(&b, pattern);
    sb_put(&b, "\"");
    snprintf(out, cap, "%s", b.failed || b.p == NULL ? "" : b.p);
    free(b.p);
}

/* The per-route CPU account, when METRON_ROUTE_CPU measured anything. */
static void write_route_cpu(sbuf *b)
{
    char labels[512];
    bool any = false;
    for (size_t i = 0; i < g_n_routes + 2 && !any; i++) {
        any = atomic_load_explicit(&g_stats[i].cpu_n[1], memory_order_relaxed) > 0;
    }
    if (!any) {
        return;
    }
    metrics_write_head(b, "metron_http_request_cpu_seconds_total", "counter",
                       "CPU time of the measured requests' threads by route and part "
                       "(METRON_ROUTE_CPU)");
    for (size_t i = 0; i < g_n_routes + 2; i++) {
        for (int k = 0; k < N_CPU_PARTS; k++) {
            unsigned long long ns = atomic_load_explicit(&g_stats[i].cpu_ns[k],
                                                         memory_order_relaxed);
            if (atomic_load_explicit(&g_stats[i].cpu_n[k], memory_order_relaxed) == 0) {
                continue;
            }
            route_labels(i, labels, sizeof labels);
            sb_printf(b, "metron_http_request_cpu_seconds_total{%s,part=\"%s\"} %.9f\n", labels,
                      cpu_part_name[k], (double)ns / 1e9);
        }
    }
    metrics_write_head(b, "metron_http_request_cpu_measured_total", "counter",
                       "Requests measured by the per-route CPU account, by route and part");
    for (size_t i = 0; i < g_n_routes + 2; i++) {
        for (int k = 0; k < N_CPU_PARTS; k++) {
            unsigned long long n = atomic_load_explicit(&g_stats[i].cpu_n[k],
                                                        memory_order_relaxed);
            if (n == 0) {
                continue;
            }
            route_labels(i, labels, sizeof labels);
            sb_printf(b, "metron_http_request_cpu_measured_total{%s,part=\"%s\"} %llu\n", labels,
                      cpu_part_name[k], n);
        }
    }
    metrics_write_head(b, "metron_http_request_context_switches_total", "counter",
                       "Context switches of the measured requests' threads, by route and kind");
    for (size_t i = 0; i < g_n_routes + 2; i++) {
        if (atomic_load_explicit(&g_stats[i].cpu_n[1], memory_order_relaxed) == 0) {
            continue;
        }
        route_labels(i, labels, sizeof labels);
        sb_printf(b, "metron_http_request_context_switches_total{%s,kind=\"voluntary\"} %llu\n",
                  labels, atomic_load_explicit(&g_stats[i].vcsw, memory_order_relaxed));
        sb_printf(b, "metron_http_request_context_switches_total{%s,kind=\"involuntary\"} %llu\n",
                  labels, atomic_load_explicit(&g_stats[i].ivcsw, memory_order_relaxed));
    }
}

static void write_http(sbuf *b)
{
    char labels[512];
    long long cut = 0, unwatched = 0, shed_idle = 0, shed_closing = 0, write_cut = 0;
    metrics_write_head(b, "metron_http_requests_in_flight", "gauge", "Requests being handled");
    sb_printf(b, "metron_http_requests_in_flight %d\n", http_inflight());
    metrics_write_head(b, "metron_http_body_bytes_held", "gauge",
                       "Bytes of request bodies held now, out of --body-memory");
    sb_printf(b, "metron_http_body_bytes_held %zu\n", http_body_held());
    http_deadline_counts(&cut, &unwatched);
    metrics_write_head(b, "metron_http_connections_refused_total", "counter",
                       "Connections refused as they were accepted: their address held "
                       "--conns-per-address");
    sb_printf(b, "metron_http_connections_refused_total %lld\n", http_conns_refused());
    http_conns_shed_counts(&shed_idle, &shed_closing, &write_cut);
    metrics_write_head(b, "metron_http_connections_shed_total", "counter",
                       "Idle connections closed while workers were scarce, so that a new "
                       "client finds a worker");
    sb_printf(b, "metron_http_connections_shed_total %lld\n", shed_idle);
    metrics_write_head(b, "metron_http_connections_close_cut_total", "counter",
                       "Connections cut while closing: their client kept sending after a "
                       "reply that closes them");
    sb_printf(b, "metron_http_connections_close_cut_total %lld\n", shed_closing);
    metrics_write_head(b, "metron_http_replies_cut_total", "counter",
                       "Connections cut at their write deadline: their client stopped reading "
                       "a reply or stream");
    sb_printf(b, "metron_http_replies_cut_total %lld\n", write_cut);
    metrics_write_head(b, "metron_http_bodies_cut_total", "counter",
                       "Request bodies not all sent before their deadline (answered 408)");
    sb_printf(b, "metron_http_bodies_cut_total %lld\n", cut);
    metrics_write_head(b, "metron_http_bodies_unwatched_total", "counter",
                       "Request bodies read without a deadline (their socket not told apart)");
    sb_printf(b, "metron_http_bodies_unwatched_total %lld\n", unwatched);
    metrics_write_head(b, "metron_http_bodies_short_total", "counter",
                       "Request bodies that ended before their Content-Length (answered 400)");
    sb_printf(b, "metron_http_bodies_short_total %lld\n", http_bodies_short());
    metrics_write_head(b, "metron_http_requests_total", "counter",
                       "Finished requests by route and status class");
    for (size_t i = 0; i < g_n_routes + 2; i++) {
        for (int k = 0; k < N_CLASSES; k++) {
            unsigned long long n =
                atomic_load_explicit(&g_stats[i].codes[k], memory_order_relaxed);
            if (n == 0) {
                continue;
            }
            route_labels(i, labels, sizeof labels);
            sb_printf(b, "metron_http_requests_total{%s,code=\"%dxx\"} %llu\n", labels, k + 1, n);
        }
    }
    metrics_write_head(b, "metron_http_request_duration_seconds", "histogram",
                       "Time from the request line to the end of the reply, by route");
    for (size_t i = 0; i < g_n_routes + 2; i++) {
        if (atomic_load_explicit(&g_stats[i].hist.count, memory_order_relaxed) == 0) {
            continue;
        }
        route_labels(i, labels, sizeof labels);
        metrics_write_hist(b, "metron_http_request_duration_seconds", labels, &g_stats[i].hist);
    }
    write_route_cpu(b);
}

static void write_pool(sbuf *b, srv *s)
{
    int size = 0, idle = 0, waiting = 0;
    svc_ops_pool(s, &size, &idle, &waiting);
    metrics_write_head(b, "metron_db_pool_connections", "gauge",
                       "PostgreSQL connections of the pool by state");
    sb_printf(b, "metron_db_pool_connections{state=\"idle\"} %d\n", idle);
    sb_printf(b, "metron_db_pool_connections{state=\"in_use\"} %d\n", size - idle);
    metrics_write_head(b, "metron_db_pool_waiting", "gauge",
                       "Threads waiting for a free PostgreSQL connection");
    sb_printf(b, "metron_db_pool_waiting %d\n", waiting);
}

/* The password hashing gate (auth_password.h). */
static void write_password_gate(sbuf *b)
{
    int running = 0, waiting = 0;
    long long refused = 0;
    password_gate_counts(&running, &waiting, &refused);
    metrics_write_head(b, "metron_password_hashes", "gauge",
                       "Password hashes (argon2id) running, and waiting for a slot of the gate");
    sb_printf(b, "metron_password_hashes{state=\"running\"} %d\n", running);
    sb_printf(b, "metron_password_hashes{state=\"waiting\"} %d\n", waiting);
    metrics_write_head(b, "metron_password_hashes_refused_total", "counter",
                       "Sign-ins and password changes refused because no slot of the hashing "
                       "gate came free in time (503 server_busy)");
    sb_printf(b, "metron_password_hashes_refused_total %lld\n", refused);
}

/* What waits in the database; the scrape does not hang on a busy pool. */
static void write_queues(sbuf *b, srv *s)
{
    db_ops_queues q;
    bool ok = svc_ops_queues(s, 1000, &q);
    metrics_write_head(b, "metron_db_up", "gauge",
                       "Whether PostgreSQL answered this scrape's query (1) or not (0)");
    sb_printf(b, "metron_db_up %d\n", ok ? 1 : 0);
    if (!ok) {
        return;
    }
    metrics_write_head(b, "metron_queue_depth", "gauge",
                       "Work waiting: outbox messages, running exports, report runs, hot rows");
    sb_printf(b, "metron_queue_depth{queue=\"outbox\"} %lld\n", q.outbox);
    sb_printf(b, "metron_queue_depth{queue=\"outbox_due\"} %lld\n", q.outbox_due);
    sb_printf(b, "metron_queue_depth{queue=\"exports\"} %lld\n", q.exports);
    sb_printf(b, "metron_queue_depth{queue=\"report_runs\"} %lld\n", q.report_runs);
    sb_printf(b, "metron_queue_depth{queue=\"series_hot\"} %lld\n", q.hot_rows);
    metrics_write_head(b, "metron_compactor_hot_samples", "gauge",
                       "Samples in the hot table, not yet folded into day blocks");
    sb_printf(b, "metron_compactor_hot_samples %lld\n", q.hot_samples);
    metrics_write_head(b, "metron_compactor_lag_seconds", "gauge",
                       "Age of the oldest hot row the compactor has not folded yet");
    sb_printf(b, "metron_compactor_lag_seconds %.3f\n", q.compactor_lag_s);
    metrics_write_head(b, "metron_wal_archiving", "gauge",
                       "Whether PostgreSQL archives its WAL (backups with point-in-time recovery)");
    sb_printf(b, "metron_wal_archiving %d\n", q.archiving ? 1 : 0);
    if (q.archiving) {
        metrics_write_head(b, "metron_wal_archived_total", "counter", "WAL files archived");
        sb_printf(b, "metron_wal_archived_total %lld\n", q.archived);
        metrics_write_head(b, "metron_wal_archive_failures_total", "counter",
                           "Failed attempts to archive a WAL file");
        sb_printf(b, "metron_wal_archive_failures_total %lld\n", q.archive_failed);
        metrics_write_head(b, "metron_wal_last_archived_timestamp_seconds", "gauge",
                           "When the last WAL file was archived (0 = never)");
        sb_printf(b, "metron_wal_last_archived_timestamp_seconds %.3f\n", q.last_archived_at);
    }
}

static void write_jobs(sbuf *b)
{
    jobs_stat js;
    metrics_write_head(b, "metron_job_runs_total", "counter",
                       "Rounds of each background job in this process by result");
    for (int i = 0; jobs_stats(i, &js) == 0; i++) {
        sb_printf(b, "metron_job_runs_total{job=\"%s\",result=\"ok\"} %lld\n", js.name, js.ok);
        sb_printf(b, "metron_job_runs_total{job=\"%s\",result=\"failed\"} %lld\n", js.name,
                  js.failed);
    }
    metrics_write_head(b, "metron_job_last_success_timestamp_seconds", "gauge",
                       "When each job last succeeded in this process (0 = not yet)");
    for (int i = 0; jobs_stats(i, &js) == 0; i++) {
        sb_printf(b, "metron_job_last_success_timestamp_seconds{job=\"%s\"} %lld\n", js.name,
                  (long long)js.last_ok);
    }
    metrics_write_head(b, "metron_job_last_duration_seconds", "gauge",
                       "Duration of each job's last round");
    for (int i = 0; jobs_stats(i, &js) == 0; i++) {
        sb_printf(b, "metron_job_last_duration_seconds{job=\"%s\"} %.6f\n", js.name,
                  js.last_ms / 1e3);
    }
}

/* Only what is known: without a replica (or before the code that runs one
 * registers its reader) nothing is said about one. */
static void write_replica(sbuf *b)
{
    metrics_replica_state r;
    metrics_replica(&r);
    if (!r.configured) {
        return;
    }
    metrics_write_head(b, "metron_replica_up", "gauge", "Whether the read replica answers");
    sb_printf(b, "metron_replica_up %d\n", r.up ? 1 : 0);
    if (r.up) {
        metrics_write_head(b, "metron_replica_lag_seconds", "gauge",
                           "How far the read replica's replay is behind the primary");
        sb_printf(b, "metron_replica_lag_seconds %.3f\n", r.lag_seconds);
    }
    metrics_write_head(b, "metron_replica_reads_on_primary", "gauge",
                       "Whether reads fall back to the primary now (replica down or lagging)");
    sb_printf(b, "metron_replica_reads_on_primary %d\n", r.reads_on_primary ? 1 : 0);
}

static int h_metrics(http_req *req)
{
    sbuf b = {0};
    int status;
    metrics_write_head(&b, "metron_build_info", "gauge", "The server's version");
    sb_printf(&b, "metron_build_info{version=\"%s\"} 1\n", METRON_VERSION);
    metrics_write_head(&b, "metron_start_time_seconds", "gauge", "When this process started");
    sb_printf(&b, "metron_start_time_seconds %lld\n", (long long)g_started);
    write_http(&b);
    metrics_write_counters(&b);
    write_pool(&b, req->srv);
    write_password_gate(&b);
    write_queues(&b, req->srv);
    write_jobs(&b);
    write_replica(&b);
    if (b.failed || b.p == NULL) {
        free(b.p);
        return http_reply_error(req, 503, "out_of_memory", "the server is out of memory: retry",
                                NULL);
    }
    status = http_reply_text(req, 200, "text/plain; version=0.0.4; charset=utf-8", b.p, b.len);
    free(b.p);
    return status;
}

const http_route http_routes_metrics[] = {
    {"GET", "/metrics", h_metrics, AUTH_METRICS, BODY_NONE, false},
    {NULL, NULL, NULL, AUTH_PUBLIC, BODY_NONE, false}};
