/* A report as the renderers see it (docs/reports.md): plain data that the
 * report service (svc_report.c) gathers from the database and core, and
 * that report_pdf.c, report_xlsx.c and report_csv.c turn into files. This
 * layer has no database and no HTTP: everything it needs is here, already
 * computed (statistics from core's mt_stats, chart buckets from the data
 * API's decimation, the time zone's offsets over the period).
 *
 * Strings are UTF-8 and borrowed from the caller for as long as the
 * document is used. */
#ifndef MTS_REPORT_DOC_H
#define MTS_REPORT_DOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mt/decimate.h"
#include "mt/stats.h"

#define REPORT_MAX_CHANNELS 32

/* The UTC offset of a time zone over a stretch of time: segment i starts
 * at from_us[i] (the first one covers everything before it too) and has
 * offset off_s[i] seconds east of UTC. */
typedef struct {
    const char *name; /* IANA name, e.g. "Asia/Tokyo" */
    const int64_t *from_us;
    const int32_t *off_s;
    size_t n;
} report_tz;

/* The offset of "tz" at instant "t_us". */
int32_t report_tz_offset(const report_tz *tz, int64_t t_us);

/* Instant "t_us" as local time 'YYYY-MM-DD HH:MM:SS' (20 bytes with the
 * NUL), or 'YYYY-MM-DD HH:MM' when "minutes" (17 bytes). Sub-second parts
 * are dropped towards the past. */
void report_tz_format(const report_tz *tz, int64_t t_us, bool minutes, char out[24]);

/* The zone as a person reads it over [t0_us, t1_us]: its UTC offset
 * ("UTC+09:00"), both when it changes within ("UTC+01:00 / UTC+02:00"),
 * never its IANA name (a code to a person). */
void report_tz_label(const report_tz *tz, int64_t t0_us, int64_t t1_us, char out[48]);

/* Local calendar fields of "t_us". */
typedef struct {
    int year, month, day, hour, minute, second;
    int weekday; /* 1 = Monday .. 7 = Sunday */
} report_civil;

void report_tz_civil(const report_tz *tz, int64_t t_us, report_civil *out);

typedef enum { REPORT_DAY = 0, REPORT_WEEK, REPORT_MONTH, REPORT_CUSTOM } report_period;

typedef enum { REPORT_CHARTS_NONE = 0, REPORT_CHARTS_PER_CHANNEL, REPORT_CHARTS_OVERLAID } report_charts;

/* One channel of the report. */
typedef struct {
    long long id;
    const char *name;
    const char *unit;   /* "" when none */
    const char *source; /* where it comes from: "LR8450 #123 CH1_1" or the expression */
    bool computed;
    mt_stats stats;     /* over the period */
    const mt_bucket *bk; /* the chart's buckets (doc->chart_nb of them), or NULL */
} report_channel;

/* One alarm event of the period, as alarm_events recorded it. */
typedef struct {
    int64_t t;
    const char *kind;     /* raise, clear, special, special_end */
    const char *rule;     /* the rule's name as it was */
    const char *channel;  /* the channel's name as it was */
    const char *unit;
    double value;         /* a number, or a special value (mt_sv_value) */
    bool has_value;
    const char *severity; /* alert, warning */
    int special;          /* special / special_end: the kind (mt_sv), else 0 */
} report_event;

typedef struct {
    const char *language; /* one of the seven portal languages */
    const char *title;    /* the report's name */
    const char *group;    /* the measurement group's name */
    const char *account;  /* the account's name */
    report_period period;
    const char *label;    /* "2024-05", "2024-W18", "2024-05-03", "2024-05-01 - 2024-05-10" */
    int64_t t0, t1;       /* the period [t0, t1), µs UTC */
    int64_t created;      /* µs UTC */
    const report_tz *tz;
    bool summary;
    report_charts charts;
    bool alarms;          /* the alarm events block */
    report_channel *ch;
    size_t n_ch;
    int64_t chart_t0, chart_t1; /* the buckets' grid (the data API's graph grid) */
    size_t chart_nb;
    const report_event *ev;
    size_t n_ev;
    size_t ev_more;       /* events of the period beyond those listed */
} report_doc;

/* A stretch of the per-sample table: "n" rows at times t[0..n) (µs,
 * increasing), and for channel k of the document v[k][0..n): a number, a
 * special value, or mt_sv_value(MT_SV_MISSING) where the channel has no
 * sample at that time (written as an empty cell). */
typedef struct {
    const int64_t *t;
    const double *const *v;
    size_t n;
} report_rows;

/* Where a renderer writes: "fn" gets the bytes in order and returns 0, or
 * -1 to stop (the renderer then fails). */
typedef int (*report_write_fn)(void *arg, const void *data, size_t len);

#endif
