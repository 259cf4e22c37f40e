/* bench_report: the report renderers (server/report/) on a month of one-
 * minute data of 32 channels (1.4 M samples), without the database: the
 * samples are generated in memory, the figures come from core (mt_stats,
 * mt_decimate_minmax) as the server computes them, and the PDF, the XLSX
 * and the CSV files are written to a folder. Prints the time and the peak
 * resident memory of each step, and the load. scripts/bench-report runs it
 * (and the same report through a server, end to end).
 *
 *   bench_report [out_dir] [channels] [days] [language]
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "mt/decimate.h"
#include "mt/stats.h"
#include "report_csv.h"
#include "report_pdf.h"
#include "report_xlsx.h"

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* CPU time of the process: on a shared machine the wall clock also counts
 * the time other processes had the CPU. */
static double cpu_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* A line "key:" of /proc/self/status in MB (VmHWM: the peak resident
 * memory; VmRSS: now). */
static double status_mb(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    double kb = 0;
    size_t n = strlen(key);
    if (f == NULL) {
        return 0;
    }
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, key, n) == 0) {
            kb = strtod(line + n, NULL);
        }
    }
    fclose(f);
    return kb / 1024.0;
}

static double peak_mb(void)
{
    return status_mb("VmHWM:");
}

/* Reset the peak (Linux: write 5 to clear_refs). */
static void peak_reset(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (f != NULL) {
        fputs("5", f);
        fclose(f);
    }
}

typedef struct {
    FILE *f;
    size_t bytes;
} file_sink;

static int to_file(void *arg, const void *data, size_t len)
{
    file_sink *s = arg;
    s->bytes += len;
    return fwrite(data, 1, len, s->f) == len ? 0 : -1;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : ".";
    size_t n_ch = argc > 2 ? (size_t)atoi(argv[2]) : 32;
    int days = argc > 3 ? atoi(argv[3]) : 31;
    const char *lang = argc > 4 ? argv[4] : "en";
    const int64_t t0 = 1714521600000000LL; /* 2024-05-01T00:00Z */
    const int64_t step = 60000000LL;
    size_t n = (size_t)days * 1440;
    int64_t *t = malloc(n * sizeof *t);
    double **v = calloc(n_ch, sizeof *v);
    report_channel *ch = calloc(n_ch, sizeof *ch);
    mt_bucket **bk = calloc(n_ch, sizeof *bk);
    char (*names)[64] = calloc(n_ch, sizeof *names);
    int64_t tz_from[1] = {0};
    int32_t tz_off[1] = {0};
    report_tz tz = {"UTC", tz_from, tz_off, 1};
    report_doc d;
    size_t nb = (size_t)days * 24; /* whole hours, as the server decimates a month */
    double t_start, t_stats, t_pdf, t_xlsx, t_csv, c_start, c_pdf, c_xlsx, c_csv;
    double mb_base, mb_pdf, mb_xlsx, mb_csv;
    char path[1024], err[256];
    file_sink sink;
    double load[3] = {0, 0, 0};
    FILE *lf;
    mt_error merr;

    if (t == NULL || v == NULL || ch == NULL || bk == NULL || names == NULL || n_ch == 0 ||
        n_ch > REPORT_MAX_CHANNELS || days < 1) {
        fprintf(stderr, "usage: bench_report [out_dir] [channels 1..32] [days] [language]\n");
        return 2;
    }
    for (size_t i = 0; i < n; i++) {
        t[i] = t0 + (int64_t)i * step;
    }
    for (size_t k = 0; k < n_ch; k++) {
        v[k] = malloc(n * sizeof *v[k]);
        bk[k] = malloc(nb * sizeof *bk[k]);
        if (v[k] == NULL || bk[k] == NULL) {
            return 1;
        }
        for (size_t i = 0; i < n; i++) {
            /* a logger's temperature: a daily cycle, noise, at 0.01 */
            double x = 20 + (double)k + 8 * sin((double)i * 6.283185307179586 / 1440.0 + (double)k) +
                       0.03 * sin((double)i * 12.9898);
            v[k][i] = round(x * 100) / 100;
        }
        if (k % 7 == 3) {
            v[k][n / 3] = mt_sv_value(MT_SV_OVER_POS); /* a few special values */
            v[k][n / 2] = mt_sv_value(MT_SV_BREAK);
        }
        snprintf(names[k], sizeof names[k], "Temperature %zu", k + 1);
    }
    lf = fopen("/proc/loadavg", "r");
    if (lf != NULL) {
        if (fscanf(lf, "%lf %lf %lf", &load[0], &load[1], &load[2]) != 3) {
            load[0] = load[1] = load[2] = 0;
        }
        fclose(lf);
    }
    /* Figures: what the server computes (mt_stats, the data API's buckets). */
    t_start = now_s();
    for (size_t k = 0; k < n_ch; k++) {
        mt_stats_init(&ch[k].stats);
        if (mt_stats_add(&ch[k].stats, t, v[k], n, &merr) != MT_OK ||
            mt_decimate_minmax(t, v[k], n, t0, t0 + (int64_t)n * step, nb, bk[k], &merr) !=
                MT_OK) {
            fprintf(stderr, "core: %s\n", merr.msg);
            return 1;
        }
        ch[k].id = (long long)k + 1;
        ch[k].name = names[k];
        ch[k].unit = "°C";
        ch[k].source = "LR8450 #250101 CH1";
        ch[k].bk = bk[k];
    }
    t_stats = now_s() - t_start;

    memset(&d, 0, sizeof d);
    d.language = lang;
    d.title = "Boiler house, monthly";
    d.group = "Plant 1";
    d.account = "Bench";
    d.period = REPORT_MONTH;
    d.label = "2024-05";
    d.t0 = t0;
    d.t1 = t0 + (int64_t)n * step;
    d.created = d.t1 + 600000000LL;
    d.tz = &tz;
    d.summary = true;
    d.charts = REPORT_CHARTS_PER_CHANNEL;
    d.alarms = true;
    d.ch = ch;
    d.n_ch = n_ch;
    d.chart_t0 = d.t0;
    d.chart_t1 = d.t1;
    d.chart_nb = nb;

    peak_reset();
    mb_base = status_mb("VmRSS:");
    t_start = now_s();
    c_start = cpu_s();
    snprintf(path, sizeof path, "%s/bench-report.pdf", dir);
    sink.f = fopen(path, "wb");
    sink.bytes = 0;
    if (sink.f == NULL || report_pdf_write(&d, to_file, &sink, err, sizeof err) != 0) {
        fprintf(stderr, "pdf: %s\n", sink.f ? err : "cannot open the output");
        return 1;
    }
    fclose(sink.f);
    t_pdf = now_s() - t_start;
    c_pdf = cpu_s() - c_start;
    mb_pdf = peak_mb();
    mb_pdf -= mb_base;
    printf("pdf   %.3f s  %zu bytes  peak RSS +%.1f MB\n", t_pdf, sink.bytes, mb_pdf);

    /* The XLSX: summary, then the samples streamed a day at a time. */
    peak_reset();
    mb_base = status_mb("VmRSS:");
    t_start = now_s();
    c_start = cpu_s();
    {
        report_xlsx *x = NULL;
        const double **rowv = calloc(n_ch, sizeof *rowv);
        snprintf(path, sizeof path, "%s/bench-report.xlsx", dir);
        if (rowv == NULL || report_xlsx_open(path, dir, &d, &x, err, sizeof err) != 0) {
            fprintf(stderr, "xlsx: %s\n", err);
            return 1;
        }
        for (size_t day = 0; day < (size_t)days; day++) {
            report_rows r;
            for (size_t k = 0; k < n_ch; k++) {
                rowv[k] = v[k] + day * 1440;
            }
            r.t = t + day * 1440;
            r.v = rowv;
            r.n = 1440;
            if (report_xlsx_rows(x, &r, err, sizeof err) != 0) {
                fprintf(stderr, "xlsx: %s\n", err);
                return 1;
            }
        }
        if (report_xlsx_close(x, err, sizeof err) != 0) {
            fprintf(stderr, "xlsx: %s\n", err);
            return 1;
        }
        free(rowv);
    }
    t_xlsx = now_s() - t_start;
    c_xlsx = cpu_s() - c_start;
    mb_xlsx = peak_mb() - mb_base;
    printf("xlsx  %.3f s  peak RSS +%.1f MB\n", t_xlsx, mb_xlsx);

    peak_reset();
    mb_base = status_mb("VmRSS:");
    t_start = now_s();
    c_start = cpu_s();
    {
        const double **rowv = calloc(n_ch, sizeof *rowv);
        snprintf(path, sizeof path, "%s/bench-report-samples.csv", dir);
        sink.f = fopen(path, "wb");
        sink.bytes = 0;
        if (rowv == NULL || sink.f == NULL || report_csv_samples_head(&d, to_file, &sink) != 0) {
            return 1;
        }
        for (size_t day = 0; day < (size_t)days; day++) {
            report_rows r;
            for (size_t k = 0; k < n_ch; k++) {
                rowv[k] = v[k] + day * 1440;
            }
            r.t = t + day * 1440;
            r.v = rowv;
            r.n = 1440;
            if (report_csv_samples_rows(&d, &r, to_file, &sink) != 0) {
                return 1;
            }
        }
        fclose(sink.f);
        free(rowv);
    }
    t_csv = now_s() - t_start;
    c_csv = cpu_s() - c_start;
    mb_csv = peak_mb() - mb_base;
    printf("csv   %.3f s  %zu bytes  peak RSS +%.1f MB\n", t_csv, sink.bytes, mb_csv);

    printf("\n| step | CPU time | wall clock | peak RSS above the data in memory |\n"
           "|---|---|---|---|\n");
    printf("| figures (mt_stats + decimation, %zu channels x %zu samples) | %.3f s | %.3f s | — "
           "|\n",
           n_ch, n, t_stats, t_stats);
    printf("| PDF | %.3f s | %.3f s | +%.1f MB |\n", c_pdf, t_pdf, mb_pdf);
    printf("| XLSX (%zu rows x %zu channels) | %.3f s | %.3f s | +%.1f MB |\n", n, n_ch, c_xlsx,
           t_xlsx, mb_xlsx);
    printf("| CSV samples | %.3f s | %.3f s | +%.1f MB |\n", c_csv, t_csv, mb_csv);
    printf("RSS with the generated data in memory: %.1f MB\n", status_mb("VmRSS:"));
    printf("load average %.2f %.2f %.2f\n", load[0], load[1], load[2]);
    for (size_t k = 0; k < n_ch; k++) {
        free(v[k]);
        free(bk[k]);
    }
    free(v);
    free(bk);
    free(ch);
    free(names);
    free(t);
    return 0;
}
