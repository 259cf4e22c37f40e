/* What the files of the export service share, not for its callers (they
 * use svc_export.h):
 *
 *   svc_export.c          the API (create, status, list, delete, download),
 *                         signed download URLs, the status JSON
 *   svc_export_tz.c       time zones: a request's zone, offsets at times
 *   svc_export_worker.c   the queue, the worker threads, one run from start
 *                         to the stored file
 *   svc_export_read.c     a run's progress and state, reading its data one
 *                         chunk at a time into rows
 *   svc_export_csv.c      the ZIP of CSV files (numbers and times as text,
 *                         README.txt)
 *   svc_export_text.c     README.txt's sentences in the seven languages
 *   svc_export_hok.c      HOK and HOK2 files
 *   svc_export_cleanup.c  the periodic clean-up of rows and files */
#ifndef MTS_SVC_EXPORT_INTERNAL_H
#define MTS_SVC_EXPORT_INTERNAL_H

#include <inttypes.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "db.h"
#include "db_export.h"
#include "mt/caltime.h"
#include "mt/types.h"
#include "svc_export.h"

/* Exports wait longer than a request (DB_WAIT_MS) for a connection: an
 * export that is refused must be asked for again. */
#define EXPORT_DB_WAIT_MS 10000

/* Too many exports: wait this many seconds before asking again. */
#define EXPORT_RETRY_AFTER_S 30

enum { FMT_CSV = 0, FMT_HOK = 1, FMT_HOK2 = 2 };

/* ------------------------------------------------------------ helpers */

static inline svc_status fail_db(svc_error *e, db_status st)
{
    return svc_fail_db(e, st, NULL);
}

static inline int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static inline int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* 'YYYY-MM-DDTHH:MM:SSZ' of Unix second "s". */
static inline void iso_utc(int64_t s, char *out, size_t cap)
{
    mt_error err;
    if (mt_cal_format_instant(s * MT_US_PER_S, out, cap, &err) != MT_OK) {
        snprintf(out, cap, "%" PRId64, s);
    }
}

/* DATA/exports/<account> and the file's final path (svc_export.c). */
void export_dir(const srv *s, long long account_id, char *out, size_t cap);
void export_path(const srv *s, long long account_id, long long id, int fmt, char *out,
                 size_t cap);

/* ---------------------------------------------- time zones (svc_export_tz.c) */

typedef struct {
    bool fixed;       /* a fixed offset */
    int32_t offset_s; /* fixed: the offset */
    char name[72];    /* as given ("+09:00" or the IANA name) */
} tz_spec;

/* The characters of an IANA zone name (checked against PostgreSQL's list
 * afterwards). */
bool export_tz_name_chars(const char *s);

/* "s" (an offset "+09:00" or a zone's name) into "tz". */
void export_tz_from_text(const char *s, tz_spec *tz);

/* UTC offsets of "tz" at times t[0..n) (µs, sorted, all in the UTC day
 * "day") into off[]. A zone's offset is read at every UTC hour of the day;
 * an hour whose two ends agree has that offset throughout (zones change
 * at most once an hour), the others are asked per sample. */
db_status export_tz_offsets(db_conn *c, const tz_spec *tz, int64_t day, const int64_t *t,
                            size_t n, int32_t *off);

/* A zone as README.txt tells it to a person (never by its IANA id): its
 * UTC offsets over the stretch of time the rows lie in, and at the ends of
 * the range and at "now". */
#define EXPORT_TZ_OFFSETS 6
typedef struct {
    int32_t off[EXPORT_TZ_OFFSETS]; /* the distinct offsets (whole minutes), in the order
                                       they come; summer: the standard one, then summer time */
    size_t n;                       /* 1..EXPORT_TZ_OFFSETS (more are left out) */
    bool summer;                    /* two offsets that take turns with the seasons */
    int32_t at_t0, at_t1, at_now;
} tz_facts;

/* The facts of "tz" over [a_us, b_us) (the rows' stretch; a_us >= b_us:
 * the instant a_us), at "t0_us", "t1_us" and Unix second "now_s". Two
 * offsets are summer time when, within a year around the stretch, the zone
 * goes from one to the other and back and stays at least 60 days at each
 * (Morocco's month of Ramadan is not a summer). */
db_status export_tz_facts(db_conn *c, const tz_spec *tz, int64_t a_us, int64_t b_us,
                          int64_t t0_us, int64_t t1_us, int64_t now_s, tz_facts *out);

/* ---------------------------------------- the queue (svc_export_worker.c) */

typedef struct export_job {
    long long account_id, id, user_id;
    int fmt;
    int64_t ch[EXPORT_MAX_CHANNELS];
    size_t n_ch;
    int64_t t0, t1;
    char tz[72];
    int64_t asked_ms;   /* db_replica_now_ms() when it was asked for */
    atomic_bool cancel; /* deleted by its user */
    struct export_job *next;
} export_job;

/* Reserve a slot for a new export: SVC_OK, or SVC_UNAVAILABLE /
 * SVC_THROTTLED (retry_after set) in "e". */
MT_MUSTCHECK
svc_status export_reserve_slot(svc_error *e);

/* Give back a slot reserved and not used. */
void export_release_slot(void);

/* Queue "j" on its reserved slot (the queue owns it then). */
void export_enqueue(export_job *j);

/* Ask export (account, id) to stop if it is queued or running here. */
void export_cancel(long long account_id, long long id);

/* Whether export (account, id) is queued or running in this process. */
bool export_job_live(long long account_id, long long id);

/* The exports queued (at most EXPORT_MAX_PENDING) and running here, as
 * (acc[i], id[i]); both hold EXPORT_MAX_PENDING + EXPORT_WORKERS. Returns
 * the count. */
size_t export_live_jobs(long long *acc, long long *id);

/* Whether the workers are being stopped. */
bool export_stopping(void);

/* -------------------------------------------- a run (svc_export_read.c) */

/* One export being written. */
typedef struct {
    srv *s;
    export_job *j;
    db_export_channel *chs; /* in the job's order */
    size_t n_chs;
    tz_spec tz;
    char lang[8];        /* README.txt's: the asking user's language (else the account's) */
    tz_facts zone;       /* CSV: README.txt's words for the zone */
    int64_t r0, r1;      /* the part of [t0, t1) that holds data (r0 >= r1: none) */
    int64_t day0, n_days;
    int64_t parts;       /* chunks per day (a dense day is read in parts) */
    int64_t n_chunks;    /* n_days * parts */
    size_t units_total, units_done;
    long long samples, bytes;
    int64_t last_ms;
    enum { RUN_OK = 0, RUN_CANCELLED, RUN_STOPPED, RUN_FAILED } state;
    char error[300];
} run_ctx;

/* The run failed (the first reason is kept). */
void export_run_fail(run_ctx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Whether the run should go on; writes progress when it is time ("force":
 * now). */
bool export_run_alive(run_ctx *x, bool force);

/* One unit of work done: export_run_alive(x, false). */
bool export_run_step(run_ctx *x);

/* Rows of a chunk: the union of the channels' times, each channel's value
 * at every row (MT_SV_MISSING where it has none); v is column-major. */
typedef struct {
    int64_t *t;
    double *v;
    int32_t *off; /* CSV: the zone's offset at each row */
    size_t n_rows, n_cols;
} rowset;

void export_rowset_free(rowset *r);

/* Read chunk "k" (of x->n_chunks: part k % parts of day day0 + k / parts)
 * of channels "ids" into "r"; with "offsets", also the time zone's offset
 * at each row. 0 or -1 (x->state set). */
int export_read_chunk(run_ctx *x, const int64_t *ids, size_t n, int64_t k, bool offsets,
                      rowset *r);

/* ------------------------------ README.txt's words (svc_export_text.c) */

/* README.txt's sentences in one language. Lines end in "\n" (written as
 * CRLF); the arguments of each are in its comment. */
typedef struct {
    const char *title;        /* %lld: the export's number */
    const char *period_one;   /* from, to, the UTC offset of both */
    const char *period_two;   /* from, its offset, to, its offset */
    const char *zone;         /* the zone's words (one of the three below) */
    const char *zone_summer;  /* standard offset, summer-time offset */
    const char *zone_changes; /* the offsets, "UTC+03:00 / UTC+04:00" */
    const char *created;      /* the time, its offset */
    const char *layout;       /* the files and their format; no arguments */
    const char *files;        /* the heading of the list of files */
    const char *device;       /* model, serial number */
    const char *device_name;  /* ", name ..." */
    const char *device_app;   /* ", app ..." */
    const char *computed;     /* the line of computed.csv */
    const char *col_time;     /* column 1 */
    const char *col;          /* %zu column number, the channel's name */
    const char *unit;         /* ", unit ..." */
    const char *no_unit;      /* ", no unit" */
    const char *key;          /* ", key ..." */
    const char *group;        /* ", measurement group ..." */
    const char *expression;   /* ", expression ..." */
    const char *id;           /* " (channel ID %lld)" */
} export_words;

/* The words in "lang" (one of the seven, alarm_msg.h's alarm_langs;
 * English for any other). */
const export_words *export_words_of(const char *lang);

/* ------------------------------------------------------ the file writers */

/* Write the run's file to "tmp": a HOK or HOK2 file (svc_export_hok.c), a
 * ZIP of CSV files (svc_export_csv.c). 0, or -1 with the run failed. */
int export_write_hok(run_ctx *x, const char *tmp);
int export_write_zip(run_ctx *x, const char *tmp);

#endif
