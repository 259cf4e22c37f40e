/* Counters and histograms for GET /metrics (see metrics.h). */
#include "metrics.h"

#include <stdio.h>
#include <string.h>

static atomic_llong counters[METRIC_COUNT_];
static atomic_llong pool_wait_us;
static _Atomic(metrics_replica_fn) replica_reader;

static const struct {
    const char *metric, *labels, *help;
} counter_defs[METRIC_COUNT_] = {
#define METRICS_DEF_(name, metric, labels, help) {metric, labels, help},
    METRICS_COUNTER_TABLE(METRICS_DEF_)
#undef METRICS_DEF_
};

const double metrics_bucket_le[METRICS_BUCKETS] = {0.001, 0.0025, 0.005, 0.01, 0.025,
                                                   0.05,  0.1,    0.25,  0.5,  1,
                                                   2.5,   5,      7.5,   10};

void metrics_add(metrics_counter c, long long n)
{
    if ((unsigned)c < METRIC_COUNT_ && n > 0) {
        atomic_fetch_add_explicit(&counters[c], n, memory_order_relaxed);
    }
}

long long metrics_get(metrics_counter c)
{
    return (unsigned)c < METRIC_COUNT_
               ? atomic_load_explicit(&counters[c], memory_order_relaxed)
               : 0;
}

void metrics_hist_observe(metrics_hist *h, double seconds)
{
    int i = 0;
    if (!(seconds > 0)) {
        seconds = 0;
    }
    while (i < METRICS_BUCKETS && seconds > metrics_bucket_le[i]) {
        i++;
    }
    atomic_fetch_add_explicit(&h->bucket[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->sum_us, (unsigned long long)(seconds * 1e6 + 0.5),
                              memory_order_relaxed);
}

void metrics_pool_wait_us(long long us)
{
    if (us > 0) {
        atomic_fetch_add_explicit(&pool_wait_us, us, memory_order_relaxed);
    }
}

long long metrics_pool_wait_total_us(void)
{
    return atomic_load_explicit(&pool_wait_us, memory_order_relaxed);
}

void metrics_write_head(sbuf *b, const char *name, const char *type, const char *help)
{
    sb_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void metrics_label_value(sbuf *b, const char *s)
{
    for (; *s != '\0'; s++) {
        if (*s == '\\' || *s == '"') {
            char esc[2] = {'\\', *s};
            sb_add(b, esc, 2);
        } else if (*s == '\n') {
            sb_add(b, "\\n", 2);
        } else {
            sb_add(b, s, 1);
        }
    }
}

void metrics_write_hist(sbuf *b, const char *name, const char *labels, const metrics_hist *h)
{
    unsigned long long cum = 0;
    const char *sep = labels[0] != '\0' ? "," : "";
    /* The total is read first: a bucket observed meanwhile may make the
     * +Inf bucket exceed it by a little, never fall below it. */
    for (int i = 0; i <= METRICS_BUCKETS; i++) {
        cum += atomic_load_explicit(&h->bucket[i], memory_order_relaxed);
        if (i < METRICS_BUCKETS) {
            sb_printf(b, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, sep,
                      metrics_bucket_le[i], cum);
        } else {
            sb_printf(b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep, cum);
        }
    }
    sb_printf(b, "%s_sum%s%s%s %.6f\n", name, labels[0] ? "{" : "", labels, labels[0] ? "}" : "",
              (double)atomic_load_explicit(&h->sum_us, memory_order_relaxed) / 1e6);
    sb_printf(b, "%s_count%s%s%s %llu\n", name, labels[0] ? "{" : "", labels,
              labels[0] ? "}" : "", cum);
}

void metrics_write_counters(sbuf *b)
{
    for (int i = 0; i < METRIC_COUNT_; i++) {
        const char *labels = counter_defs[i].labels;
        if (i == 0 || strcmp(counter_defs[i].metric, counter_defs[i - 1].metric) != 0) {
            metrics_write_head(b, counter_defs[i].metric, "counter", counter_defs[i].help);
        }
        sb_printf(b, "%s%s%s%s %lld\n", counter_defs[i].metric, labels[0] ? "{" : "", labels,
                  labels[0] ? "}" : "", metrics_get((metrics_counter)i));
    }
    metrics_write_head(b, "metron_db_pool_wait_seconds_total", "counter",
                       "Time spent waiting for a free PostgreSQL connection");
    sb_printf(b, "metron_db_pool_wait_seconds_total %.6f\n",
              (double)metrics_pool_wait_total_us() / 1e6);
}

void metrics_set_replica_reader(metrics_replica_fn fn)
{
    atomic_store(&replica_reader, fn);
}

void metrics_replica(metrics_replica_state *out)
{
    metrics_replica_fn fn = atomic_load(&replica_reader);
    memset(out, 0, sizeof *out);
    if (fn != NULL) {
        fn(out);
    }
}
