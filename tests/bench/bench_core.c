/* bench_core: the core benchmark, the same source native and in wasm (node).
 *
 * Prints one line per figure, "key value unit", so that scripts/bench-core
 * can put the native and wasm runs side by side:
 *   triad_samples_per_s  — out[i] = a[i]+b[i]+c[i]: the memory ceiling for a
 *                          three-input expression on this machine
 *   expr_samples_per_s   — SQR(SQ(CH1)+SQ(CH2))/CH3 over N samples, with the
 *                          same as a plain C loop, interleaved (bench_expr):
 *                          these print "key median min max unit" over 15
 *                          rounds, timed in CPU time
 *   alarm_rows_per_s     — two-channel AND rule, 60 s filter, N rows
 *   hok_read_mb_per_s    — open (with checksum) and read every column of a
 *                          ~100 MB HOK file
 *   hok2_read_mb_per_s, hok2_values_per_s — the same data as HOK2
 *   hok2_ratio           — raw bytes (8 per time + 8 per value) / HOK2 bytes
 *   decimate_raw_ms, decimate_index_ms — N points into 2,000 buckets
 * Usage: bench_core [N [DIR [ONLY]]] — N samples (default 10,000,000); DIR
 * holds the HOK files (the native run writes them, the wasm run reads them;
 * no DIR skips HOK); ONLY limits to some of expr,alarm,decimate,hok. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mt/alarm.h"
#include "mt/decimate.h"
#include "mt/expr.h"
#include "mt/hok.h"

#include "mt/types.h"

#ifdef __EMSCRIPTEN__
double bench_cpu_seconds(void); /* tests/bench/bench_cpu.js */
#endif

/* Seconds of CPU time of this thread (of the node process in wasm, whose
 * other threads are idle once the module is compiled). On a shared machine
 * a short run that loses the CPU for a moment is not counted as slow. */
static double cpu_s(void)
{
#ifdef __EMSCRIPTEN__
    return bench_cpu_seconds();
#else
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
#endif
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p) {
        fprintf(stderr, "bench_core: out of memory (%zu bytes)\n", n);
        exit(1);
    }
    return p;
}

static void die(const char *what, const mt_error *err)
{
    fprintf(stderr, "bench_core: %s: %s at %zu: %s\n", what, mt_errname(err->code), err->pos,
            err->msg);
    exit(1);
}

/* Best of "reps" runs, so that one noisy run does not decide the figure;
 * CPU time, as bench_expr. */
#define BEST_OF(reps, secs, ...)             \
    do {                                     \
        int rep_;                            \
        secs = 1e30;                         \
        for (rep_ = 0; rep_ < (reps); rep_++) { \
            double t0_ = cpu_s(), dt_;       \
            __VA_ARGS__;                     \
            dt_ = cpu_s() - t0_;             \
            if (dt_ < secs) {                \
                secs = dt_;                  \
            }                                \
        }                                    \
    } while (0)

/* A realistic logger signal: 0.1-resolution temperature drifting slowly with
 * noise, deterministic (xorshift) so both targets see the same data. */
static uint64_t rng = 88172645463325252ULL;
static double rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}

/* The plain C loops the evaluator is measured against: the same
 * expressions written by hand, compiled with the project's flags in this
 * file (and so natively or for wasm as the evaluator is). */
static void plain_magnitude(const double *restrict a, const double *restrict b,
                            const double *restrict c, double *restrict out, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        out[i] = sqrt(a[i] * a[i] + b[i] * b[i]) / c[i];
    }
}

static void plain_mean(const double *restrict a, const double *restrict b, double *restrict out,
                       size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        out[i] = (a[i] + b[i]) / 2;
    }
}

static void triad(const double *restrict a, const double *restrict b, const double *restrict c,
                  double *restrict out, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        out[i] = a[i] + b[i] + c[i];
    }
}

static void eval_or_die(const mt_expr *e, const double *const *in, size_t n, double *out)
{
    mt_error err;
    if (mt_expr_eval(e, in, n, out, &err) != MT_OK) {
        die("expr eval", &err);
    }
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

/* "key median min max unit" of the "n_rounds" values in v (sorted here). */
static void print_spread(const char *key, double *v, int n_rounds, const char *unit)
{
    qsort(v, (size_t)n_rounds, sizeof *v, cmp_double);
    printf("%s %.4g %.4g %.4g %s\n", key, v[n_rounds / 2], v[0], v[n_rounds - 1], unit);
}

#define EXPR_ROUNDS 15
#define EXPR_FIGURES 7

/* The evaluator against its ceilings, interleaved in each of EXPR_ROUNDS
 * rounds (the order rotates from round to round), so that a busy moment of
 * a shared machine slows both sides of a ratio:
 *   triad   out = a+b+c, the memory ceiling (3 streams in, 1 out)
 *   plain   SQR(SQ(CH1)+SQ(CH2))/CH3 as a plain C loop
 *   expr    the same through mt_expr_eval()
 *   gaps    the same with 0.1 % of CH1 MISSING (one in 1,000 samples)
 *   gaps1   the same with 1 % of CH1 MISSING
 *   pmean   (CH1+CH2)/2 as a plain C loop
 *   mean    the same through mt_expr_eval()
 * Times are CPU time (cpu_s). Prints one "expr_round" line per round
 * (samples/s of each), then the median, min and max of each figure and of
 * the per-round ratios. */
static void bench_expr(size_t n)
{
    double *a = xmalloc(n * sizeof *a), *b = xmalloc(n * sizeof *b);
    double *c = xmalloc(n * sizeof *c), *out = xmalloc(n * sizeof *out);
    double *ref = xmalloc(n * sizeof *ref), *gaps = xmalloc(n * sizeof *gaps);
    double *gaps1 = xmalloc(n * sizeof *gaps1);
    const double *in[3] = {a, b, c}, *in_gaps[3] = {gaps, b, c}, *in_gaps1[3] = {gaps1, b, c};
    static const char *names[EXPR_FIGURES] = {"triad", "plain", "expr", "gaps",
                                              "gaps1", "pmean", "mean"};
    double rate[EXPR_FIGURES][EXPR_ROUNDS], ratio[3][EXPR_ROUNDS];
    mt_expr *e = NULL, *mean = NULL;
    mt_error err;
    size_t i;
    int r, f, same = 1;
    for (i = 0; i < n; i++) {
        a[i] = 1.0 + rnd();
        b[i] = 2.0 + rnd();
        c[i] = 0.5 + rnd();
        gaps[i] = i % 1000 == 999 ? mt_sv_value(MT_SV_MISSING) : a[i];
        gaps1[i] = i % 100 == 99 ? mt_sv_value(MT_SV_MISSING) : a[i];
    }
    if (mt_expr_compile("SQR(SQ(CH1)+SQ(CH2))/CH3", &e, &err) != MT_OK ||
        mt_expr_compile("(CH1+CH2)/2", &mean, &err) != MT_OK) {
        die("expr compile", &err);
    }
    /* the evaluator gives the plain loop's bits on these (finite) inputs */
    plain_magnitude(a, b, c, ref, n);
    eval_or_die(e, in, n, out);
    same = memcmp(ref, out, n * sizeof *out) == 0;
    plain_mean(a, b, ref, n);
    eval_or_die(mean, in, n, out);
    same = same && memcmp(ref, out, n * sizeof *out) == 0;
    printf("expr_matches_plain %s\n", same ? "yes" : "NO");
    for (r = 0; r < EXPR_ROUNDS; r++) {
        for (f = 0; f < EXPR_FIGURES; f++) {
            int fig = (f + r) % EXPR_FIGURES;
            double t0 = cpu_s();
            switch (fig) {
            case 0:
                triad(a, b, c, out, n);
                break;
            case 1:
                plain_magnitude(a, b, c, out, n);
                break;
            case 2:
                eval_or_die(e, in, n, out);
                break;
            case 3:
                eval_or_die(e, in_gaps, n, out);
                break;
            case 4:
                eval_or_die(e, in_gaps1, n, out);
                break;
            case 5:
                plain_mean(a, b, out, n);
                break;
            default:
                eval_or_die(mean, in, n, out);
                break;
            }
            rate[fig][r] = (double)n / (cpu_s() - t0);
        }
        printf("expr_round %d", r);
        for (f = 0; f < EXPR_FIGURES; f++) {
            printf(" %s %.0f", names[f], rate[f][r]);
        }
        printf("\n");
        ratio[0][r] = rate[2][r] / rate[1][r]; /* expr / plain */
        ratio[1][r] = rate[2][r] / rate[0][r]; /* expr / triad */
        ratio[2][r] = rate[6][r] / rate[5][r]; /* mean / plain mean */
    }
    print_spread("triad_samples_per_s", rate[0], EXPR_ROUNDS, "samples/s");
    print_spread("expr_plain_samples_per_s", rate[1], EXPR_ROUNDS, "samples/s");
    print_spread("expr_samples_per_s", rate[2], EXPR_ROUNDS, "samples/s");
    print_spread("expr_gaps_samples_per_s", rate[3], EXPR_ROUNDS, "samples/s");
    print_spread("expr_gaps1_samples_per_s", rate[4], EXPR_ROUNDS, "samples/s");
    print_spread("mean_plain_samples_per_s", rate[5], EXPR_ROUNDS, "samples/s");
    print_spread("mean_samples_per_s", rate[6], EXPR_ROUNDS, "samples/s");
    print_spread("expr_vs_plain", ratio[0], EXPR_ROUNDS, "ratio");
    print_spread("expr_vs_triad", ratio[1], EXPR_ROUNDS, "ratio");
    print_spread("mean_vs_plain", ratio[2], EXPR_ROUNDS, "ratio");
    mt_expr_free(e);
    mt_expr_free(mean);
    free(a);
    free(b);
    free(c);
    free(out);
    free(ref);
    free(gaps);
    free(gaps1);
}

static void bench_alarm(size_t n)
{
    mt_time *t = xmalloc(n * sizeof *t);
    double *v1 = xmalloc(n * sizeof *v1), *v2 = xmalloc(n * sizeof *v2);
    mt_alarm_rule rule;
    mt_alarm *a = NULL;
    mt_alarm_event ev[256];
    mt_error err;
    const char *text = "CH1 > 30 AND CH2 <= 5 FOR 60s";
    double secs;
    size_t i, total_events = 0;
    for (i = 0; i < n; i++) {
        t[i] = (mt_time)i * MT_US_PER_MIN;
        /* Mostly quiet, with an excursion now and then (~1 in 5,000 rows). */
        v1[i] = 20.0 + 5.0 * rnd() + ((i / 2500) % 2 == 1 && (i % 2500) < 5 ? 20.0 : 0.0);
        v2[i] = 3.0 + rnd();
    }
    if (mt_alarm_parse(text, strlen(text), &rule, &err) != MT_OK ||
        mt_alarm_new(&rule, &a, &err) != MT_OK) {
        die("alarm", &err);
    }
    BEST_OF(3, secs, {
        size_t off = 0;
        mt_alarm_reset(a);
        total_events = 0;
        while (off < n) {
            size_t n_ev = 0, used = 0;
            mt_status st = mt_alarm_feed(a, t + off, v1 + off, v2 + off, n - off, ev, 256, &n_ev,
                                         &used, &err);
            if (st != MT_OK && st != MT_ENOSPACE) {
                die("alarm feed", &err);
            }
            total_events += n_ev;
            off += used;
        }
    });
    printf("alarm_rows_per_s %.0f rows/s\n", (double)n / secs);
    printf("alarm_events %zu events\n", total_events);
    mt_alarm_free(a);
    free(t);
    free(v1);
    free(v2);
}

static void bench_decimate_raw(size_t n)
{
    mt_time *t = xmalloc(n * sizeof *t);
    double *v = xmalloc(n * sizeof *v);
    mt_bucket *out = xmalloc(2000 * sizeof *out);
    mt_error err;
    double secs;
    size_t i;
    double temp = 20.0;
    for (i = 0; i < n; i++) {
        t[i] = (mt_time)i * MT_US_PER_MIN;
        temp += (rnd() - 0.5) * 0.2;
        v[i] = floor(temp * 10.0 + 0.5) / 10.0;
    }
    BEST_OF(3, secs, {
        if (mt_decimate_minmax(t, v, n, t[0], t[n - 1] + 1, 2000, out, &err) != MT_OK) {
            die("decimate", &err);
        }
    });
    printf("decimate_raw_ms %.3f ms\n", secs * 1e3);
    free(t);
    free(v);
    free(out);
}


/* ---- HOK and HOK2 ---------------------------------------------------------
 * Files are generated by the native run into "dir" and read by both runs, so
 * native and wasm read the same bytes. The signal: 16 channels at one sample
 * a minute — 12 temperatures at 0.1 °C drifting slowly with noise, 2 voltages
 * at 1 mV, a counter, a power reading at 1 W — with a missing stretch now and
 * then, as a logger would upload it. */
#define HOK_CH 16
#define GEN_ROWS 4096

typedef struct {
    FILE *f;
    size_t bytes;
} file_sink;

static mt_status sink_file(void *ctx, const uint8_t *bytes, size_t len, mt_error *err)
{
    file_sink *fs = ctx;
    if (fwrite(bytes, 1, len, fs->f) != len) {
        return mt_fail(err, MT_EINVAL, fs->bytes, "write failed");
    }
    fs->bytes += len;
    return MT_OK;
}

static void gen_rows(uint64_t row0, size_t n, mt_time *t, double **cols, double *state)
{
    size_t i, c;
    for (i = 0; i < n; i++) {
        uint64_t r = row0 + i;
        t[i] = INT64_C(1767225600000000) + (mt_time)r * MT_US_PER_MIN;
        for (c = 0; c < HOK_CH; c++) {
            double v;
            if (c < 12) {
                state[c] += (rnd() - 0.5) * 0.05 + (20.0 + (double)c - state[c]) * 0.001;
                v = floor((state[c] + (rnd() - 0.5) * 0.2) * 10.0 + 0.5) / 10.0;
            } else if (c < 14) {
                v = floor((230.0 + 2.0 * sin((double)r / 720.0) + (rnd() - 0.5) * 0.01) * 1000.0 +
                          0.5) / 1000.0;
            } else if (c == 14) {
                v = (double)(r / 7);
            } else {
                v = floor(1500.0 + 300.0 * sin((double)r / 1440.0) + rnd() * 20.0);
            }
            /* A missing stretch of 30 rows every ~2 weeks on one channel. */
            if ((r % 20000) < 30 && c == (r / 20000) % HOK_CH) {
                v = mt_sv_value(MT_SV_MISSING);
            }
            cols[c][i] = v;
        }
    }
}

/* Write a HOK ("version" 1) or HOK2 file of at least "min_bytes" to "path".
 * Returns the number of raw bytes (8 per time, 8 per value) it holds. */
static uint64_t gen_file(const char *path, int version, size_t min_bytes, uint64_t *rows_out)
{
    mt_hok_opts opts = {version, 0};
    mt_hok_meta meta = {"bench", "bench_core", "LR8450-0001", "LR8450", "+08:00", 0};
    mt_hok_channel ch[HOK_CH];
    char names[HOK_CH][16];
    mt_time t[GEN_ROWS];
    double *cols[HOK_CH], state[HOK_CH];
    const double *ccols[HOK_CH];
    mt_hok_writer *w = NULL;
    file_sink fs = {NULL, 0};
    mt_error err;
    uint64_t rows = 0;
    size_t c;
    rng = 88172645463325252ULL;
    for (c = 0; c < HOK_CH; c++) {
        snprintf(names[c], sizeof names[c], "CH%zu", c + 1);
        ch[c].id = (int64_t)c + 1;
        ch[c].name = names[c];
        ch[c].unit = c < 12 ? "degC" : c < 14 ? "V" : c == 14 ? "count" : "W";
        ch[c].kind = MT_HOK_MEASURED;
        ch[c].model = "LR8450";
        cols[c] = xmalloc(GEN_ROWS * sizeof(double));
        ccols[c] = cols[c];
        state[c] = 20.0 + (double)c;
    }
    fs.f = fopen(path, "wb");
    if (!fs.f) {
        fprintf(stderr, "bench_core: cannot write %s\n", path);
        exit(1);
    }
    if (mt_hok_writer_new(&opts, &meta, ch, HOK_CH, sink_file, &fs, &w, &err) != MT_OK) {
        die("hok writer", &err);
    }
    while (fs.bytes < min_bytes) {
        gen_rows(rows, GEN_ROWS, t, cols, state);
        if (mt_hok_writer_append(w, t, ccols, GEN_ROWS, &err) != MT_OK) {
            die("hok append", &err);
        }
        rows += GEN_ROWS;
    }
    if (mt_hok_writer_finish(w, &err) != MT_OK) {
        die("hok finish", &err);
    }
    mt_hok_writer_free(w);
    fclose(fs.f);
    for (c = 0; c < HOK_CH; c++) {
        free(cols[c]);
    }
    *rows_out = rows;
    return rows * 8 * (1 + HOK_CH);
}

static uint8_t *load(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf;
    long size;
    if (!f || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fprintf(stderr, "bench_core: cannot read %s (run the native bench first)\n", path);
        exit(1);
    }
    buf = xmalloc((size_t)size);
    if (fread(buf, 1, (size_t)size, f) != (size_t)size) {
        fprintf(stderr, "bench_core: short read of %s\n", path);
        exit(1);
    }
    fclose(f);
    *len = (size_t)size;
    return buf;
}

static void bench_hok(const char *dir, int generate)
{
    char p1[1024], p2[1024];
    uint8_t *buf;
    size_t len, c;
    mt_error err;
    double secs;
    uint64_t rows = 0, raw2 = 0, values = 0;
    snprintf(p1, sizeof p1, "%s/bench.hok", dir);
    snprintf(p2, sizeof p2, "%s/bench.hok2", dir);
    if (generate) {
        gen_file(p1, MT_HOK_V1, (size_t)100 << 20, &rows);
        raw2 = gen_file(p2, MT_HOK_V2, (size_t)100 << 20, &rows);
    }

    /* HOK: open (whole-file checksum) and read every column. */
    buf = load(p1, &len);
    {
        mt_hok *h = NULL;
        mt_time *t;
        double *v[HOK_CH];
        uint64_t n;
        if (mt_hok_open(buf, len, &h, &err) != MT_OK) {
            die("hok open", &err);
        }
        n = mt_hok_row_count(h);
        mt_hok_close(h);
        t = xmalloc((size_t)n * sizeof *t);
        for (c = 0; c < HOK_CH; c++) {
            v[c] = xmalloc((size_t)n * sizeof(double));
        }
        BEST_OF(3, secs, {
            if (mt_hok_open(buf, len, &h, &err) != MT_OK ||
                mt_hok_read_rows(h, 0, (size_t)n, t, v, &err) != MT_OK) {
                die("hok read", &err);
            }
            mt_hok_close(h);
        });
        printf("hok_read_mb_per_s %.1f MB/s\n", (double)len / secs / 1e6);
        free(t);
        for (c = 0; c < HOK_CH; c++) {
            free(v[c]);
        }
    }
    free(buf);

    /* HOK2: open, then decode every block of every channel (checksums
     * included), one reusable buffer per block. */
    buf = load(p2, &len);
    {
        mt_hok *h = NULL;
        mt_time *t = xmalloc(MT_HOK_MAX_BLOCK_ROWS * sizeof *t);
        double *v = xmalloc(MT_HOK_MAX_BLOCK_ROWS * sizeof *v);
        size_t b, n_blocks, got;
        BEST_OF(3, secs, {
            values = 0;
            if (mt_hok_open(buf, len, &h, &err) != MT_OK) {
                die("hok2 open", &err);
            }
            n_blocks = mt_hok_block_count(h);
            for (b = 0; b < n_blocks; b++) {
                for (c = 0; c < mt_hok_channel_count(h); c++) {
                    if (mt_hok_decode_block(h, c, b, t, v, MT_HOK_MAX_BLOCK_ROWS, &got, &err) !=
                        MT_OK) {
                        die("hok2 decode", &err);
                    }
                    values += got;
                }
            }
            rows = mt_hok_row_count(h);
            mt_hok_close(h);
        });
        printf("hok2_read_mb_per_s %.1f MB/s\n", (double)len / secs / 1e6);
        printf("hok2_values_per_s %.0f values/s\n", (double)values / secs);
        raw2 = rows * 8 * (1 + HOK_CH);
        printf("hok2_ratio %.2f x\n", (double)raw2 / (double)len);
        free(t);
        free(v);
    }
    free(buf);
}

static void bench_decimate_index(size_t n)
{
    mt_time *t = xmalloc(n * sizeof *t);
    double *v = xmalloc(n * sizeof *v);
    const double *cols[1] = {v};
    mt_hok_opts opts = {MT_HOK_V2, 0};
    mt_hok_meta meta = {"decimate", "", "", "", "UTC", 0};
    mt_hok_channel ch = {1, "T", "degC", MT_HOK_MEASURED, ""};
    mt_bucket *out = xmalloc(2000 * sizeof *out);
    uint8_t *file = NULL;
    size_t len = 0, n_decoded = 0, i;
    mt_hok *h = NULL;
    mt_error err;
    double secs, temp = 20.0;
    rng = 88172645463325252ULL;
    for (i = 0; i < n; i++) {
        t[i] = (mt_time)i * MT_US_PER_MIN;
        temp += (rnd() - 0.5) * 0.2;
        v[i] = floor(temp * 10.0 + 0.5) / 10.0;
    }
    if (mt_hok_write_mem(&opts, &meta, &ch, 1, t, cols, n, &file, &len, &err) != MT_OK ||
        mt_hok_open(file, len, &h, &err) != MT_OK || mt_hok_verify(h, &err) != MT_OK) {
        die("decimate index file", &err);
    }
    BEST_OF(3, secs, {
        if (mt_hok_decimate(h, 0, t[0], t[n - 1] + 1, 2000, out, &n_decoded, &err) != MT_OK) {
            die("hok2 decimate", &err);
        }
    });
    printf("decimate_index_ms %.3f ms\n", secs * 1e3);
    printf("decimate_index_blocks_decoded %zu of %zu blocks\n", n_decoded,
           mt_hok_block_count(h));
    mt_hok_close(h);
    mt_hok_mem_free(file);
    free(t);
    free(v);
    free(out);
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? (size_t)strtoull(argv[1], NULL, 10) : 10000000;
    const char *dir = argc > 2 ? argv[2] : NULL;
    const char *only = argc > 3 ? argv[3] : "";
    if (n < 1000) {
        n = 1000;
    }
#ifdef __EMSCRIPTEN__
    printf("target wasm\n");
#else
    printf("target native\n");
#endif
    printf("n %zu samples\n", n);
    if (!*only || strstr(only, "expr")) {
        bench_expr(n);
    }
    if (!*only || strstr(only, "alarm")) {
        bench_alarm(n);
    }
    if (!*only || strstr(only, "decimate")) {
        bench_decimate_raw(n);
        bench_decimate_index(n);
    }
    if (dir && (!*only || strstr(only, "hok"))) {
        /* The native run writes the files; the wasm run reads them. */
#ifdef __EMSCRIPTEN__
        bench_hok(dir, 0);
#else
        bench_hok(dir, 1);
#endif
    }
    return 0;
}
