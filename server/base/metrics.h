/* What the server counts for GET /metrics (O2; Prometheus text format,
 * docs/operations.md "Metrics"): process-wide counters and latency
 * histograms, updated with relaxed atomics from any thread (no lock on the
 * request path), read by the metrics route.
 *
 * Counters only grow (Prometheus computes rates); a restart starts them at 0,
 * which Prometheus' rate() understands. Gauges that live elsewhere (queue
 * depths, the compactor's lag, jobs) are read when the route asks. */
#ifndef MTS_METRICS_H
#define MTS_METRICS_H

#include <stdatomic.h>
#include <stdbool.h>

#include "sbuf.h"

/* The counters: X(enum name, metric name, labels or "", help text). Several
 * lines may share one metric name with different labels (one HELP/TYPE). */
/* Help texts that several lines of one metric share. */
#define METRICS_HELP_MONITOR_                                                               \
    "Monitor values answered from kept values (stamp unchanged), read after a stamp "         \
    "that moved, or read"
#define METRICS_HELP_RAW_STAMP_                                                             \
    "Checks of a kept raw day answered by the account's unchanged stamp, or checked"
#define METRICS_HELP_SREAD_                                                                 \
    "Shared reads (monitor values, stamp pre-checks, raw day checks) by a request's role: "  \
    "led, led after waiting for the key's running read, joined, or read alone"
#define METRICS_COUNTER_TABLE(X)                                                             \
    X(INGEST_BATCHES, "metron_ingest_batches_total", "result=\"stored\"",                    \
      "Ingestion batches by outcome")                                                        \
    X(INGEST_DUPLICATES, "metron_ingest_batches_total", "result=\"duplicate\"",              \
      "Ingestion batches by outcome")                                                        \
    X(INGEST_REFUSED, "metron_ingest_batches_total", "result=\"refused\"",                   \
      "Ingestion batches by outcome")                                                        \
    X(INGEST_SAMPLES, "metron_ingest_samples_total", "", "Samples stored from batches")      \
    X(INGEST_GROUPS, "metron_ingest_group_statements_total", "",                             \
      "Statements that stored several ingestion batches at once (group commit)")             \
    X(INGEST_GROUPED, "metron_ingest_grouped_batches_total", "",                             \
      "Ingestion batches stored by a statement of several")                                  \
    X(INGEST_GROUP_WAITS, "metron_ingest_group_waits_total", "",                             \
      "Ingestion batches that waited for another batch's statement to join the next one")    \
    X(INGEST_GROUP_RETRIES, "metron_ingest_group_retries_total", "",                         \
      "Ingestion batches stored again alone after their group's statement failed")           \
    X(INGEST_BATCH_IDS_PRUNED, "metron_ingest_batch_ids_pruned_total", "",                   \
      "Batch ids deleted after METRON_BATCH_ID_DAYS (a later retry is stored again)")         \
    X(POOL_ACQUIRES, "metron_db_pool_acquires_total", "",                                    \
      "Connections taken from the PostgreSQL pool")                                          \
    X(POOL_WAITS, "metron_db_pool_waits_total", "",                                          \
      "Takes that had to wait for a free connection")                                        \
    X(POOL_TIMEOUTS, "metron_db_pool_timeouts_total", "",                                    \
      "Takes that found no free connection in time (503 db_busy)")                           \
    X(MAINTENANCE_REFUSED, "metron_maintenance_refused_total", "",                           \
      "API requests answered 503 during a maintenance window")                              \
    X(MONITOR_KEPT, "metron_monitor_values_total", "result=\"kept\"",                        \
      METRICS_HELP_MONITOR_)                                                                 \
    X(MONITOR_MOVED, "metron_monitor_values_total", "result=\"moved\"",                      \
      METRICS_HELP_MONITOR_)                                                                 \
    X(MONITOR_READ, "metron_monitor_values_total", "result=\"read\"",                        \
      METRICS_HELP_MONITOR_)                                                                 \
    X(RAW_STAMP_KEPT, "metron_raw_stamp_total", "result=\"kept\"",                          \
      METRICS_HELP_RAW_STAMP_)                                                               \
    X(RAW_STAMP_CHECKED, "metron_raw_stamp_total", "result=\"checked\"",                    \
      METRICS_HELP_RAW_STAMP_)                                                               \
    X(SREAD_LEAD, "metron_shared_reads_total", "role=\"lead\"",                              \
      METRICS_HELP_SREAD_)                                                                   \
    X(SREAD_LEAD_WAITED, "metron_shared_reads_total", "role=\"lead_waited\"",                \
      METRICS_HELP_SREAD_)                                                                   \
    X(SREAD_GATHERED, "metron_shared_reads_total", "role=\"lead_gathered\"",                \
      METRICS_HELP_SREAD_)                                                                   \
    X(SREAD_SHARED, "metron_shared_reads_total", "role=\"shared\"",                          \
      METRICS_HELP_SREAD_)                                                                   \
    X(SREAD_ALONE, "metron_shared_reads_total", "role=\"alone\"",                            \
      METRICS_HELP_SREAD_)

typedef enum {
#define METRICS_ENUM_(name, metric, labels, help) METRIC_##name,
    METRICS_COUNTER_TABLE(METRICS_ENUM_)
#undef METRICS_ENUM_
    METRIC_COUNT_
} metrics_counter;

/* Add "n" (>= 0) to counter "c". Thread-safe, lock-free. */
void metrics_add(metrics_counter c, long long n);

/* The value of counter "c". */
long long metrics_get(metrics_counter c);

/* The upper bounds of the latency histograms, in seconds (Prometheus "le"),
 * from 1 ms to 10 s; one more bucket (+Inf) counts the rest. */
#define METRICS_BUCKETS 14
extern const double metrics_bucket_le[METRICS_BUCKETS];

/* A latency histogram: counts per bucket (not cumulative), the count and
 * the sum in microseconds. Zero-initialised static storage is an empty
 * histogram. */
typedef struct {
    atomic_ullong bucket[METRICS_BUCKETS + 1];
    atomic_ullong count;
    atomic_ullong sum_us;
} metrics_hist;

/* Record one observation of "seconds" (negative counts as 0). */
void metrics_hist_observe(metrics_hist *h, double seconds);

/* The time the pool waited for connections, in microseconds (a counter
 * reported in seconds). */
void metrics_pool_wait_us(long long us);
long long metrics_pool_wait_total_us(void);

/* Append the HELP and TYPE lines of metric "name" ("counter", "gauge",
 * "histogram") to "b". */
void metrics_write_head(sbuf *b, const char *name, const char *type, const char *help);

/* Append the lines of histogram "h" as metric "name" with the labels
 * "labels" ("a=\"x\",b=\"y\"" or ""): its cumulative buckets, _sum (seconds)
 * and _count. No HELP/TYPE (metrics_write_head() once per name). */
void metrics_write_hist(sbuf *b, const char *name, const char *labels, const metrics_hist *h);

/* Append every counter of METRICS_COUNTER_TABLE with its HELP and TYPE,
 * and the pool's wait time. */
void metrics_write_counters(sbuf *b);

/* Append "s" as a Prometheus label value (backslash, quote and newline
 * escaped), without the quotes. */
void metrics_label_value(sbuf *b, const char *s);

/* The replica seam (issue 17 item 3, the `scale` work): the read replica's
 * state as the code that runs it knows it. Until something registers a
 * reader, there is no replica: GET /metrics says nothing about one and GET
 * /api/v1/health answers "replica": {"configured": false} (http_health.c). */
typedef struct {
    bool configured;    /* a replica is set up */
    bool up;            /* it answers */
    double lag_seconds; /* replay lag behind the primary (when up) */
    bool reads_on_primary; /* reads fall back to the primary now (down or lagging) */
} metrics_replica_state;

typedef void (*metrics_replica_fn)(metrics_replica_state *out);

/* Register the function that reports the replica's state (NULL removes it).
 * Call before the HTTP server starts. */
void metrics_set_replica_reader(metrics_replica_fn fn);

/* The replica's state: configured = false when no reader is registered. */
void metrics_replica(metrics_replica_state *out);

#endif
