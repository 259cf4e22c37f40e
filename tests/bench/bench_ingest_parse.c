/* The ingestion JSON readers side by side (issue 16, docs/benchmarks.md):
 * a back-fill batch (one channel, 7 days of one-minute samples: 10,080
 * times and values, as tests/bench/data_bench.mjs sends it) and an everyday
 * batch (one minute of 2,000 channels as a snapshot) and the route mix's
 * small batch (one snapshot of 32 channels, ids 1-32 and values of two
 * decimals, as tests/bench/api_mix.lua sends it), parsed "rounds" times
 * by ingest_parse_json() (the one-pass reader, given the ids' text as the
 * server gives it: "fast"; without it: "fast0") or ingest_parse_json_tree()
 * (the cJSON tree alone).
 *
 *   bench_ingest_parse fast|fast0|tree fill|every|small [rounds]
 *
 * Prints the samples per second of CPU time; time two ways in turn (A B A B)
 * to compare them on a shared machine. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ingest_parse.h"
#include "sbuf.h"

#define NOW 1800000000000000LL
#define T0 1700000000000000LL
#define MIN_US 60000000LL

static double value(int ch, int i)
{
    /* The benchmark's signal, rounded to 2 decimals as data_bench.mjs. */
    return round((20 + 5 * sin((i + ch * 7) / 300.0) + ((i * 7919 + ch * 104729) % 97) / 97.0) * 100) /
           100;
}

int main(int argc, char **argv)
{
    bool fast0 = argc > 1 && strcmp(argv[1], "fast0") == 0;
    bool fast = fast0 || (argc > 1 && strcmp(argv[1], "fast") == 0);
    bool small = argc > 2 && strcmp(argv[2], "small") == 0;
    bool every = small || (argc > 2 && strcmp(argv[2], "every") == 0);
    int rounds = argc > 3 ? atoi(argv[3]) : small ? 200000 : 200;
    int n_ch = small ? 32 : every ? 2000 : 1;
    ingest_channel *ch = calloc((size_t)n_ch, sizeof *ch);
    ingest_known known = {.ch = ch, .n = (size_t)n_ch};
    sbuf b = {0};
    size_t samples = 0;
    struct timespec t0, t1;
    double s;
    if (argc < 3 || (!fast && strcmp(argv[1], "tree") != 0) || ch == NULL || rounds < 1) {
        fprintf(stderr, "usage: bench_ingest_parse fast|fast0|tree fill|every|small [rounds]\n");
        return 2;
    }
    for (int i = 0; i < n_ch; i++) {
        ch[i].id = small ? 1 + i : 1000 + i;
        ch[i].selected = true;
    }
    if (!fast0) {
        known.ids_text = ingest_known_ids_text(ch, (size_t)n_ch, &known.ids_len, &known.ids_n);
    }
    if (small) {
        /* api_mix.lua's batch: its values "%.2f" of 20 + ((c + k) % 100) / 10 */
        sb_put(&b, "{\"batch_id\":\"mix0-1-123\",\"snapshots\":[{\"t\":");
        sb_i64(&b, T0);
        sb_put(&b, ",\"ids\":[");
        for (int i = 0; i < n_ch; i++) {
            sb_printf(&b, "%s%d", i ? "," : "", 1 + i);
        }
        sb_put(&b, "],\"v\":[");
        for (int i = 0; i < n_ch; i++) {
            sb_printf(&b, "%s%.2f", i ? "," : "", 20 + ((23 + i + 1) % 100) / 10.0);
        }
        sb_put(&b, "]}]}");
        samples = (size_t)n_ch;
    } else if (every) {
        sb_put(&b, "{\"batch_id\":\"e-1\",\"snapshots\":[{\"t\":");
        sb_i64(&b, T0);
        sb_put(&b, ",\"ids\":[");
        for (int i = 0; i < n_ch; i++) {
            sb_printf(&b, "%s%d", i ? "," : "", 1000 + i);
        }
        sb_put(&b, "],\"v\":[");
        for (int i = 0; i < n_ch; i++) {
            sb_printf(&b, "%s%.15g", i ? "," : "", value(i, 0)); /* as node writes it */
        }
        sb_put(&b, "]}]}");
        samples = (size_t)n_ch;
    } else {
        int n = 7 * 1440;
        sb_put(&b, "{\"batch_id\":\"f-1\",\"channels\":[{\"id\":1000,\"t\":[");
        for (int i = 0; i < n; i++) {
            sb_printf(&b, "%s%lld", i ? "," : "", (long long)(T0 + i * MIN_US));
        }
        sb_put(&b, "],\"v\":[");
        for (int i = 0; i < n; i++) {
            sb_printf(&b, "%s%.15g", i ? "," : "", value(0, i));
        }
        sb_put(&b, "]}]}");
        samples = (size_t)n;
    }
    if (b.failed) {
        return 1;
    }
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
    for (int r = 0; r < rounds; r++) {
        ingest_batch batch;
        ingest_rec local[64]; /* lent as svc_ingest.c lends it */
        svc_error e;
        int rc;
        ingest_batch_lend(&batch, local, sizeof local / sizeof local[0]);
        rc = fast ? ingest_parse_json(b.p, b.len, &known, NOW, &batch, &e)
                  : ingest_parse_json_tree(b.p, b.len, &known, NOW, &batch, &e);
        if (rc != 0 || batch.n != samples) {
            fprintf(stderr, "bench_ingest_parse: refused: %s\n", e.message);
            return 1;
        }
        ingest_batch_free(&batch);
    }
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
    s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("%s %s: %zu bytes, %zu samples x %d rounds: %.1f M samples/s of CPU time\n",
           fast0 ? "one-pass without ids text" : fast ? "one-pass" : "tree", small ? "small" : every ? "everyday" : "back-fill", b.len,
           samples, rounds,
           (double)samples * rounds / s / 1e6);
    free(b.p);
    free((char *)known.ids_text);
    free(ch);
    return 0;
}
