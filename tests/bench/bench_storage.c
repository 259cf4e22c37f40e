/* bench_storage: the storage-layout benchmark of issue #4 (docs/storage.md).
 *
 * From an empty PostgreSQL database, for each layout, all partitioned by
 * month with declarative partitioning:
 *   A  one row per sample: (channel_id, t, v), PRIMARY KEY (channel_id, t);
 *   B  one row per channel per UTC day: a time array and a value array;
 *   C  one row per channel per UTC day: a series block (mt_series_encode)
 *      and the day's packed hourly summaries (mt_summary_pack);
 *   D  C's everyday path as the server runs it: a hot table with one row per
 *      batch (every channel's sample of that minute as 24-byte records) that
 *      a compactor folds into C's day blocks;
 * it measures
 *   - ingest rate (samples/s) for back-fill (long runs of one channel, one
 *     COPY per channel) and for the everyday pattern (one batch per minute
 *     holding that minute of every channel, on top of a half-filled day);
 *     for D both the hot insert rate and the compaction rate;
 *   - disk bytes per sample: pg_total_relation_size() of the partitions
 *     (heap, TOAST and indexes) after VACUUM and CHECKPOINT, which keeps the
 *     space of rewritten rows for reuse, and again after VACUUM FULL;
 *     and the WAL written per sample ingested;
 *   - query time (median of repeats): one channel's raw day; 32 channels ×
 *     the whole back-fill range into 2,000 min/max buckets (finer than an
 *     hour: C decodes its day blocks); and the same channels into buckets of
 *     whole hours (C reads only the hourly summaries, mt_decimate_blocks()).
 *     A and B scan their samples and call mt_decimate_minmax(); A also with
 *     a SQL GROUP BY (min/max/count only, for scale). All layouts' buckets
 *     must agree bit for bit, and the program checks it.
 *
 * Usage: bench_storage CONNINFO [--name value ...] (see usage()). Prints a
 * report and a Markdown table. Every SQL statement with a value from the
 * data is parameterised; table and partition names are built from integers. */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <libpq-fe.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mt/decimate.h"
#include "mt/series.h"

#define MIN_US MT_US_PER_MIN
#define HOUR_US (INT64_C(60) * MT_US_PER_MIN)
#define DAY_US MT_US_PER_DAY
#define OID_INT8 20
#define OID_FLOAT8 701
#define HOT_RECORD 24
#define MAX_REPEATS 25

/* ---- configuration ---------------------------------------------------------- */

typedef struct {
    const char *conninfo;
    long bf_channels, bf_days;          /* back-fill */
    long ev_channels, ev_prefill, ev_minutes, compact_every; /* everyday (minutes) */
    long q_channels, q_buckets, q_coarse_hours, repeats;
    char layouts[8];
    const char *c_data, *c_hours; /* TOAST storage of C's data and hours columns */
} config;

/* D compacts after every batch by default: the server's compactor runs every
 * 2 s (METRON_COMPACT_MS), and batches come once a minute. */
static config cfg = {NULL, 200, 30,   2000, 720, 30,         1,
                     32,   2000, 2, 5, "ABCD", "EXTERNAL", "EXTERNAL"};

static int has_layout(char l)
{
    return strchr(cfg.layouts, l) != NULL;
}

/* ---- small helpers ------------------------------------------------------------ */

static void die(const char *fmt, ...) MT_PRINTF(1, 2);

static void die(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "bench_storage: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    exit(1);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        die("out of memory (%zu bytes)", n);
    }
    return p;
}

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        die("out of memory (%zu bytes)", n);
    }
    return q;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b < 0) ? q - 1 : q;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *x, int n)
{
    qsort(x, (size_t)n, sizeof *x, cmp_double);
    return n % 2 ? x[n / 2] : (x[n / 2 - 1] + x[n / 2]) / 2;
}

/* Days since 1970-01-01 of a civil date, and back (H. Hinnant's algorithms). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;
    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    int64_t era, doe, yoe, doy, mp;
    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

/* ---- the signal --------------------------------------------------------------- */

static uint64_t mix(uint64_t x)
{
    x += UINT64_C(0x9E3779B97F4A7C15);
    x = (x ^ (x >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    x = (x ^ (x >> 27)) * UINT64_C(0x94D049BB133111EB);
    return x ^ (x >> 31);
}

/* Minute "m" (since the epoch) of channel "c": a logger's temperature, a
 * daily cycle of ±8 °C around the channel's own level with ±0.03 of noise,
 * at 0.01 resolution, as parsing "21.37" from an export gives it. */
static double value_at(int64_t c, int64_t m)
{
    int64_t level = 1500 + (int64_t)(mix((uint64_t)c) % 1000);
    double phase = (double)(mix((uint64_t)c ^ 0xABCDEF) % 1440);
    int64_t cycle = llround(800.0 * sin(2.0 * 3.14159265358979 * ((double)m + phase) / 1440.0));
    int64_t noise = (int64_t)(mix((uint64_t)c * 1000003u + (uint64_t)m) % 7) - 3;
    return (double)(level + cycle + noise) / 100.0;
}

/* Minutes [m0, m0 + n) of channel "c" into "t" and "v". */
static void gen(int64_t c, int64_t m0, size_t n, mt_time *t, double *v)
{
    size_t i;
    for (i = 0; i < n; i++) {
        t[i] = (m0 + (int64_t)i) * MIN_US;
        v[i] = value_at(c, m0 + (int64_t)i);
    }
}

/* ---- libpq ----------------------------------------------------------------------- */

static PGconn *pg;

static void check(PGresult *res, const char *what)
{
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        die("%s: %s", what, PQresultErrorMessage(res));
    }
}

static void exec_sql(const char *sql)
{
    PGresult *res = PQexec(pg, sql);
    check(res, sql);
    PQclear(res);
}

/* A statement with binary parameters ("fmt" per parameter: 1 binary, 0 text)
 * and binary results. The caller clears the result. */
static PGresult *exec_params(const char *sql, int n, const char *const *vals, const int *lens,
                             const int *fmts)
{
    PGresult *res = PQexecParams(pg, sql, n, NULL, vals, lens, fmts, 1);
    check(res, sql);
    return res;
}

/* Big-endian byte buffer for binary COPY and binary parameters. */
typedef struct {
    uint8_t *p;
    size_t len, cap;
} buf;

static void need(buf *b, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 1 << 16;
        while (cap < b->len + n) {
            cap *= 2;
        }
        b->p = xrealloc(b->p, cap);
        b->cap = cap;
    }
}

static void put16(buf *b, uint16_t x)
{
    need(b, 2);
    b->p[b->len++] = (uint8_t)(x >> 8);
    b->p[b->len++] = (uint8_t)x;
}

static void put32(buf *b, uint32_t x)
{
    need(b, 4);
    b->p[b->len++] = (uint8_t)(x >> 24);
    b->p[b->len++] = (uint8_t)(x >> 16);
    b->p[b->len++] = (uint8_t)(x >> 8);
    b->p[b->len++] = (uint8_t)x;
}

static void put64(buf *b, uint64_t x)
{
    put32(b, (uint32_t)(x >> 32));
    put32(b, (uint32_t)x);
}

static void putf64(buf *b, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, 8);
    put64(b, bits);
}

static void putraw(buf *b, const void *p, size_t n)
{
    need(b, n);
    memcpy(b->p + b->len, p, n);
    b->len += n;
}

static uint32_t be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static uint64_t be64(const uint8_t *p)
{
    return ((uint64_t)be32(p) << 32) | be32(p + 4);
}

static double bef64(const uint8_t *p)
{
    uint64_t bits = be64(p);
    double v;
    memcpy(&v, &bits, 8);
    return v;
}

/* A one-dimensional array without NULLs in PostgreSQL's binary form. */
static void put_array_i64(buf *b, const int64_t *x, size_t n)
{
    size_t i;
    put32(b, 1);
    put32(b, 0);
    put32(b, OID_INT8);
    put32(b, (uint32_t)n);
    put32(b, 1);
    for (i = 0; i < n; i++) {
        put32(b, 8);
        put64(b, (uint64_t)x[i]);
    }
}

static void put_array_f64(buf *b, const double *x, size_t n)
{
    size_t i;
    put32(b, 1);
    put32(b, 0);
    put32(b, OID_FLOAT8);
    put32(b, (uint32_t)n);
    put32(b, 1);
    for (i = 0; i < n; i++) {
        put32(b, 8);
        putf64(b, x[i]);
    }
}

/* Parse a binary float8[] or int8[] (8-byte elements): appends to "out"
 * (room for "cap"), returns the count. */
static size_t get_array8(const uint8_t *p, size_t len, uint8_t *out, size_t cap)
{
    size_t n, i;
    if (len < 20 || be32(p) != 1) {
        die("unexpected array (%zu bytes)", len);
    }
    n = be32(p + 12);
    if (n > cap || len != 20 + 12 * n) {
        die("array of %zu elements does not fit", n);
    }
    for (i = 0; i < n; i++) {
        memcpy(out + 8 * i, p + 20 + 12 * i + 4, 8);
    }
    return n;
}

/* COPY ... FROM STDIN (FORMAT binary) through a staging buffer. */
static void copy_begin(buf *b, const char *sql)
{
    PGresult *res = PQexec(pg, sql);
    if (PQresultStatus(res) != PGRES_COPY_IN) {
        die("%s: %s", sql, PQresultErrorMessage(res));
    }
    PQclear(res);
    b->len = 0;
    putraw(b, "PGCOPY\n\377\r\n", 11);
    put32(b, 0);
    put32(b, 0);
}

static void copy_flush(buf *b, int force)
{
    if (b->len >= (1u << 20) || (force && b->len > 0)) {
        if (PQputCopyData(pg, (const char *)b->p, (int)b->len) != 1) {
            die("COPY: %s", PQerrorMessage(pg));
        }
        b->len = 0;
    }
}

static void copy_end(buf *b)
{
    PGresult *res;
    put16(b, 0xFFFF);
    copy_flush(b, 1);
    if (PQputCopyEnd(pg, NULL) != 1) {
        die("COPY end: %s", PQerrorMessage(pg));
    }
    while ((res = PQgetResult(pg)) != NULL) {
        check(res, "COPY");
        PQclear(res);
    }
}

static void f_i64(buf *b, int64_t x)
{
    put32(b, 8);
    put64(b, (uint64_t)x);
}

static void f_i32(buf *b, int32_t x)
{
    put32(b, 4);
    put32(b, (uint32_t)x);
}

static void f_f64(buf *b, double v)
{
    put32(b, 8);
    putf64(b, v);
}

static void f_bytes(buf *b, const uint8_t *p, size_t n)
{
    put32(b, (uint32_t)n);
    putraw(b, p, n);
}

/* ---- schema ------------------------------------------------------------------------- */

/* Months (as days since the epoch of their first day) that hold partitions,
 * and which data set each belongs to. */
typedef struct {
    int64_t day0, day1;
    int phase; /* 0 back-fill, 1 everyday */
    int64_t yyyymm;
} month;

static month months[64];
static int n_months;

static void add_months(int64_t day_a, int64_t day_b, int phase)
{
    int64_t d = day_a;
    while (d < day_b) {
        int64_t y;
        int m, dd, i, known = 0;
        civil_from_days(d, &y, &m, &dd);
        for (i = 0; i < n_months; i++) {
            known |= months[i].yyyymm == y * 100 + m;
        }
        if (!known) {
            if (n_months == 64) {
                die("too many months");
            }
            months[n_months].day0 = days_from_civil(y, m, 1);
            months[n_months].day1 = m == 12 ? days_from_civil(y + 1, 1, 1)
                                             : days_from_civil(y, m + 1, 1);
            months[n_months].phase = phase;
            months[n_months].yyyymm = y * 100 + m;
            n_months++;
        }
        d = m == 12 ? days_from_civil(y + 1, 1, 1) : days_from_civil(y, m + 1, 1);
    }
}

static void create_schema(void)
{
    char sql[512];
    int i;
    exec_sql("SET client_min_messages = warning");
    exec_sql("DROP TABLE IF EXISTS a_sample, b_day, c_day, d_hot");
    exec_sql("CREATE TABLE a_sample (channel_id bigint NOT NULL, t bigint NOT NULL,"
             " v double precision NOT NULL, PRIMARY KEY (channel_id, t))"
             " PARTITION BY RANGE (t)");
    exec_sql("CREATE TABLE b_day (channel_id bigint NOT NULL, day integer NOT NULL,"
             " t bigint[] NOT NULL, v double precision[] NOT NULL,"
             " PRIMARY KEY (channel_id, day)) PARTITION BY RANGE (day)");
    /* C and D: server/migrations/004_data.sql's series_day without account_id. */
    exec_sql("CREATE TABLE c_day (channel_id bigint NOT NULL, day integer NOT NULL,"
             " n integer NOT NULL CHECK (n > 0), t_first bigint NOT NULL, t_last bigint NOT NULL,"
             " data bytea NOT NULL, hours bytea NOT NULL, PRIMARY KEY (channel_id, day),"
             " CHECK (t_first <= t_last)) PARTITION BY RANGE (day)");
    exec_sql("CREATE TABLE d_hot (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
             " t_min bigint NOT NULL, t_max bigint NOT NULL, n integer NOT NULL CHECK (n > 0),"
             " payload bytea NOT NULL CHECK (octet_length(payload) = 24 * n),"
             " CHECK (t_min <= t_max))");
    exec_sql("ALTER TABLE d_hot ALTER COLUMN payload SET STORAGE EXTERNAL");
    for (i = 0; i < n_months; i++) {
        const month *m = &months[i];
        snprintf(sql, sizeof sql,
                 "CREATE TABLE a_sample_p%" PRId64 " PARTITION OF a_sample FOR VALUES FROM"
                 " (%" PRId64 ") TO (%" PRId64 ")",
                 m->yyyymm, m->day0 * DAY_US, m->day1 * DAY_US);
        exec_sql(sql);
        snprintf(sql, sizeof sql,
                 "CREATE TABLE b_day_p%" PRId64 " PARTITION OF b_day FOR VALUES FROM"
                 " (%" PRId64 ") TO (%" PRId64 ")",
                 m->yyyymm, m->day0, m->day1);
        exec_sql(sql);
        snprintf(sql, sizeof sql,
                 "CREATE TABLE c_day_p%" PRId64 " PARTITION OF c_day FOR VALUES FROM"
                 " (%" PRId64 ") TO (%" PRId64 ")",
                 m->yyyymm, m->day0, m->day1);
        exec_sql(sql);
        snprintf(sql, sizeof sql,
                 "ALTER TABLE c_day_p%" PRId64 " ALTER COLUMN data SET STORAGE %s,"
                 " ALTER COLUMN hours SET STORAGE %s",
                 m->yyyymm, cfg.c_data, cfg.c_hours);
        exec_sql(sql);
    }
}

/* Bytes of a table's partitions (heap, TOAST, indexes), per data set. */
static void sizes(const char *table, int64_t *per_phase)
{
    const char *vals[1] = {table};
    PGresult *res = exec_params("SELECT c.relname, pg_total_relation_size(c.oid)::bigint"
                                " FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
                                " WHERE i.inhparent = $1::text::regclass",
                                1, vals, NULL, NULL);
    int r, i;
    per_phase[0] = per_phase[1] = 0;
    for (r = 0; r < PQntuples(res); r++) {
        const char *name = PQgetvalue(res, r, 0);
        const char *p = strrchr(name, 'p');
        int64_t yyyymm = p ? strtoll(p + 1, NULL, 10) : 0;
        int64_t bytes = (int64_t)be64((const uint8_t *)PQgetvalue(res, r, 1));
        for (i = 0; i < n_months; i++) {
            if (months[i].yyyymm == yyyymm) {
                per_phase[months[i].phase] += bytes;
            }
        }
    }
    PQclear(res);
}

/* Bytes of WAL written so far. */
static int64_t wal_bytes(void)
{
    PGresult *res = exec_params("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint", 0,
                                NULL, NULL, NULL);
    int64_t bytes = (int64_t)be64((const uint8_t *)PQgetvalue(res, 0, 0));
    PQclear(res);
    return bytes;
}

static int64_t table_size(const char *table)
{
    const char *vals[1] = {table};
    PGresult *res =
        exec_params("SELECT pg_total_relation_size($1::text::regclass)::bigint", 1, vals,
                    NULL, NULL);
    int64_t bytes = (int64_t)be64((const uint8_t *)PQgetvalue(res, 0, 0));
    PQclear(res);
    return bytes;
}

/* ---- writing each layout ------------------------------------------------------------ */

/* One channel's samples "t", "v" (whole UTC days or parts of them) as rows. */
static void rows_a(buf *b, int64_t c, const mt_time *t, const double *v, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        put16(b, 3);
        f_i64(b, c);
        f_i64(b, t[i]);
        f_f64(b, v[i]);
        copy_flush(b, 0);
    }
}

static void rows_b(buf *b, int64_t c, const mt_time *t, const double *v, size_t n)
{
    size_t i = 0;
    while (i < n) {
        int64_t day = floor_div(t[i], DAY_US);
        size_t j = i, mark;
        while (j < n && floor_div(t[j], DAY_US) == day) {
            j++;
        }
        put16(b, 4);
        f_i64(b, c);
        f_i32(b, (int32_t)day);
        put32(b, 0);
        mark = b->len;
        put_array_i64(b, t + i, j - i);
        b->p[mark - 4] = (uint8_t)((b->len - mark) >> 24);
        b->p[mark - 3] = (uint8_t)((b->len - mark) >> 16);
        b->p[mark - 2] = (uint8_t)((b->len - mark) >> 8);
        b->p[mark - 1] = (uint8_t)(b->len - mark);
        put32(b, 0);
        mark = b->len;
        put_array_f64(b, v + i, j - i);
        b->p[mark - 4] = (uint8_t)((b->len - mark) >> 24);
        b->p[mark - 3] = (uint8_t)((b->len - mark) >> 16);
        b->p[mark - 2] = (uint8_t)((b->len - mark) >> 8);
        b->p[mark - 1] = (uint8_t)(b->len - mark);
        copy_flush(b, 0);
        i = j;
    }
}

/* Block and packed hourly summaries of one channel-day, as a COPY row. */
static void row_c(buf *b, int64_t c, int64_t day, const mt_time *t, const double *v, size_t n)
{
    uint8_t *blk = NULL, packed[24 * MT_SUMMARY_PACKED];
    mt_block_summary s[24];
    size_t len = 0, ns = 0;
    mt_error err;
    if (mt_series_encode(t, v, n, &blk, &len, &err) != MT_OK ||
        mt_series_summarize(t, v, n, HOUR_US, s, 24, &ns, &err) != MT_OK) {
        die("channel %" PRId64 " day %" PRId64 ": %s", c, day, err.msg);
    }
    put16(b, 7);
    f_i64(b, c);
    f_i32(b, (int32_t)day);
    f_i32(b, (int32_t)n);
    f_i64(b, t[0]);
    f_i64(b, t[n - 1]);
    f_bytes(b, blk, len);
    f_bytes(b, packed, mt_summary_pack(s, ns, packed));
    mt_series_free(blk);
    copy_flush(b, 0);
}

static void rows_c(buf *b, int64_t c, const mt_time *t, const double *v, size_t n)
{
    size_t i = 0;
    while (i < n) {
        int64_t day = floor_div(t[i], DAY_US);
        size_t j = i;
        while (j < n && floor_div(t[j], DAY_US) == day) {
            j++;
        }
        row_c(b, c, day, t + i, v + i, j - i);
        i = j;
    }
}

static const char *copy_sql(char layout)
{
    switch (layout) {
    case 'A':
        return "COPY a_sample (channel_id, t, v) FROM STDIN (FORMAT binary)";
    case 'B':
        return "COPY b_day (channel_id, day, t, v) FROM STDIN (FORMAT binary)";
    default:
        return "COPY c_day (channel_id, day, n, t_first, t_last, data, hours)"
               " FROM STDIN (FORMAT binary)";
    }
}

/* Load minutes [m0, m0 + n_min) of channels [c0, c0 + n_ch) into "layout",
 * one COPY (and transaction) per "per_copy" channels. Returns the seconds
 * spent, generating the signal excluded. */
static double bulk_load(char layout, int64_t c0, long n_ch, int64_t m0, size_t n_min,
                        long per_copy)
{
    mt_time *t = xmalloc(n_min * sizeof *t);
    double *v = xmalloc(n_min * sizeof *v), secs = 0, t0;
    buf b = {0};
    long c;
    for (c = 0; c < n_ch; c++) {
        gen(c0 + c, m0, n_min, t, v);
        t0 = now_s();
        if (c % per_copy == 0) {
            copy_begin(&b, copy_sql(layout));
        }
        if (layout == 'A') {
            rows_a(&b, c0 + c, t, v, n_min);
        } else if (layout == 'B') {
            rows_b(&b, c0 + c, t, v, n_min);
        } else {
            rows_c(&b, c0 + c, t, v, n_min);
        }
        if (c % per_copy == per_copy - 1 || c == n_ch - 1) {
            copy_end(&b);
        }
        secs += now_s() - t0;
    }
    free(t);
    free(v);
    free(b.p);
    return secs;
}

/* ---- the everyday pattern ------------------------------------------------------------- */

/* One minute of every everyday channel. */
typedef struct {
    int64_t *c;
    mt_time *t;
    double *v;
    size_t n;
} batch;

static void make_batch(batch *bt, int64_t c0, long n_ch, int64_t m)
{
    long c;
    bt->n = (size_t)n_ch;
    for (c = 0; c < n_ch; c++) {
        bt->c[c] = c0 + c;
        bt->t[c] = m * MIN_US;
        bt->v[c] = value_at(c0 + c, m);
    }
}

static void ingest_a(buf *b, const batch *bt)
{
    size_t i;
    copy_begin(b, copy_sql('A'));
    for (i = 0; i < bt->n; i++) {
        rows_a(b, bt->c[i], &bt->t[i], &bt->v[i], 1);
    }
    copy_end(b);
}

/* Append the batch to each channel's day arrays in one statement. */
static void ingest_b(buf *b, const batch *bt)
{
    const char *vals[4];
    int lens[4], fmts[4] = {1, 1, 1, 1};
    size_t off[3], i;
    uint8_t day_be[4];
    int32_t day = (int32_t)floor_div(bt->t[0], DAY_US);
    b->len = 0;
    off[0] = b->len;
    put_array_i64(b, bt->c, bt->n);
    off[1] = b->len;
    put_array_i64(b, bt->t, bt->n);
    off[2] = b->len;
    put_array_f64(b, bt->v, bt->n);
    for (i = 0; i < 3; i++) {
        vals[i] = (const char *)b->p + off[i];
        lens[i] = (int)((i < 2 ? off[i + 1] : b->len) - off[i]);
    }
    day_be[0] = (uint8_t)((uint32_t)day >> 24);
    day_be[1] = (uint8_t)((uint32_t)day >> 16);
    day_be[2] = (uint8_t)((uint32_t)day >> 8);
    day_be[3] = (uint8_t)day;
    vals[3] = (const char *)day_be;
    lens[3] = 4;
    PQclear(exec_params(
        "INSERT INTO b_day AS b (channel_id, day, t, v)"
        " SELECT u.c, $4::integer, ARRAY[u.tt], ARRAY[u.vv]"
        " FROM unnest($1::bigint[], $2::bigint[], $3::double precision[]) AS u(c, tt, vv)"
        " ON CONFLICT (channel_id, day) DO UPDATE SET t = b.t || EXCLUDED.t,"
        " v = b.v || EXCLUDED.v",
        4, vals, lens, fmts));
}

/* One hot row: the batch as little-endian {i64 channel, i64 t, f64 v}
 * records, sorted by channel then time. */
static void ingest_d(buf *b, const batch *bt)
{
    const char *vals[4];
    int lens[4], fmts[4] = {1, 1, 1, 1};
    uint8_t head[20];
    size_t i, k;
    mt_time t_min = bt->t[0], t_max = bt->t[0];
    b->len = 0;
    need(b, bt->n * HOT_RECORD);
    for (i = 0; i < bt->n; i++) {
        uint64_t w[3];
        uint8_t *p = b->p + i * HOT_RECORD;
        w[0] = (uint64_t)bt->c[i];
        w[1] = (uint64_t)bt->t[i];
        memcpy(&w[2], &bt->v[i], 8);
        for (k = 0; k < 24; k++) {
            p[k] = (uint8_t)(w[k / 8] >> (8 * (k % 8)));
        }
        t_min = bt->t[i] < t_min ? bt->t[i] : t_min;
        t_max = bt->t[i] > t_max ? bt->t[i] : t_max;
    }
    b->len = bt->n * HOT_RECORD;
    for (k = 0; k < 8; k++) {
        head[k] = (uint8_t)((uint64_t)t_min >> (56 - 8 * k));
        head[8 + k] = (uint8_t)((uint64_t)t_max >> (56 - 8 * k));
    }
    for (k = 0; k < 4; k++) {
        head[16 + k] = (uint8_t)((uint32_t)bt->n >> (24 - 8 * k));
    }
    vals[0] = (const char *)head;
    lens[0] = 8;
    vals[1] = (const char *)head + 8;
    lens[1] = 8;
    vals[2] = (const char *)head + 16;
    lens[2] = 4;
    vals[3] = (const char *)b->p;
    lens[3] = (int)b->len;
    PQclear(exec_params("INSERT INTO d_hot (t_min, t_max, n, payload)"
                        " VALUES ($1::bigint, $2::bigint, $3::integer, $4::bytea)",
                        4, vals, lens, fmts));
}

/* ---- compaction (D) ----------------------------------------------------------------- */

typedef struct {
    int64_t c;
    mt_time t;
    double v;
    uint64_t seq; /* arrival order: a later record of the same time wins */
} record;

/* By day, channel, time, arrival: a day's records are one run, and within
 * it each channel's. */
static int cmp_record(const void *a, const void *b)
{
    const record *x = a, *y = b;
    int64_t dx = floor_div(x->t, DAY_US), dy = floor_div(y->t, DAY_US);
    if (dx != dy) {
        return dx < dy ? -1 : 1;
    }
    if (x->c != y->c) {
        return x->c < y->c ? -1 : 1;
    }
    if (x->t != y->t) {
        return x->t < y->t ? -1 : 1;
    }
    return (x->seq > y->seq) - (x->seq < y->seq);
}

static uint64_t le64(const uint8_t *p)
{
    uint64_t x = 0;
    int k;
    for (k = 7; k >= 0; k--) {
        x = (x << 8) | p[k];
    }
    return x;
}

/* Seconds compact() spent in core (decode, merge, encode, summarise, pack). */
static double codec_secs;

/* Fold every hot row into the day blocks, as the server's compactor does:
 * read the hot rows, sort their records by channel and time, read the day
 * blocks they touch, merge (a later sample of the same time wins), encode,
 * summarise, write back with one upsert, delete the hot rows; one
 * transaction. Returns the records folded. */
static size_t compact(void)
{
    PGresult *res;
    record *rec = NULL;
    size_t n_rec = 0, cap = 0, i, j;
    int r;
    int64_t max_id = 0;
    buf b = {0}, ids = {0};
    mt_time *tm = NULL, *to = NULL;
    double *vm = NULL, *vo = NULL;
    size_t scratch = 0;

    exec_sql("BEGIN");
    res = exec_params("SELECT id, payload FROM d_hot ORDER BY id", 0, NULL, NULL, NULL);
    for (r = 0; r < PQntuples(res); r++) {
        const uint8_t *p = (const uint8_t *)PQgetvalue(res, r, 1);
        size_t n = (size_t)PQgetlength(res, r, 1) / HOT_RECORD;
        max_id = (int64_t)be64((const uint8_t *)PQgetvalue(res, r, 0));
        if (n_rec + n > cap) {
            cap = (n_rec + n) * 2;
            rec = xrealloc(rec, cap * sizeof *rec);
        }
        for (i = 0; i < n; i++, p += HOT_RECORD) {
            uint64_t bits = le64(p + 16);
            rec[n_rec].c = (int64_t)le64(p);
            rec[n_rec].t = (mt_time)le64(p + 8);
            memcpy(&rec[n_rec].v, &bits, 8);
            rec[n_rec].seq = n_rec;
            n_rec++;
        }
    }
    PQclear(res);
    if (n_rec == 0) {
        exec_sql("COMMIT");
        return 0;
    }
    qsort(rec, n_rec, sizeof *rec, cmp_record);
    /* Keep the last arrival of each (channel, time). */
    for (i = 0, j = 0; i < n_rec; i++) {
        if (i + 1 < n_rec && rec[i + 1].c == rec[i].c && rec[i + 1].t == rec[i].t) {
            continue;
        }
        rec[j++] = rec[i];
    }
    {
        size_t n_new = j, g = 0;
        exec_sql("CREATE TEMP TABLE IF NOT EXISTS c_stage (channel_id bigint, day integer,"
                 " n integer, t_first bigint, t_last bigint, data bytea, hours bytea)"
                 " ON COMMIT DELETE ROWS");
        /* Day by day: one query reads the day blocks the records touch, one
         * COPY stages the new blocks. */
        while (g < n_new) {
            int64_t day = floor_div(rec[g].t, DAY_US);
            size_t end = g, k, row = 0;
            const char *vals[2];
            int lens[2], fmts[2] = {1, 1};
            uint8_t day_be[4];
            while (end < n_new && floor_div(rec[end].t, DAY_US) == day) {
                end++;
            }
            /* channels of the group, for the query */
            ids.len = 0;
            {
                int64_t *chs = xmalloc((end - g) * sizeof *chs);
                size_t n_chs = 0;
                for (k = g; k < end; k++) {
                    if (n_chs == 0 || chs[n_chs - 1] != rec[k].c) {
                        chs[n_chs++] = rec[k].c;
                    }
                }
                put_array_i64(&ids, chs, n_chs);
                free(chs);
            }
            day_be[0] = (uint8_t)((uint32_t)day >> 24);
            day_be[1] = (uint8_t)((uint32_t)day >> 16);
            day_be[2] = (uint8_t)((uint32_t)day >> 8);
            day_be[3] = (uint8_t)day;
            vals[0] = (const char *)day_be;
            lens[0] = 4;
            vals[1] = (const char *)ids.p;
            lens[1] = (int)ids.len;
            res = exec_params("SELECT channel_id, data FROM c_day WHERE day = $1::integer"
                              " AND channel_id = ANY($2::bigint[]) ORDER BY channel_id",
                              2, vals, lens, fmts);
            copy_begin(&b, "COPY c_stage FROM STDIN (FORMAT binary)");
            for (k = g; k < end;) {
                int64_t c = rec[k].c;
                size_t e = k, n_old = 0, n_out = 0, q;
                double t_codec;
                mt_error err;
                while (e < end && rec[e].c == c) {
                    e++;
                }
                /* the existing block, if any (rows come sorted by channel) */
                while (row < (size_t)PQntuples(res) &&
                       (int64_t)be64((const uint8_t *)PQgetvalue(res, (int)row, 0)) < c) {
                    row++;
                }
                if (scratch < e - k + MT_SERIES_MAX_N) {
                    scratch = e - k + MT_SERIES_MAX_N;
                    tm = xrealloc(tm, scratch * sizeof *tm);
                    vm = xrealloc(vm, scratch * sizeof *vm);
                    to = xrealloc(to, scratch * sizeof *to);
                    vo = xrealloc(vo, scratch * sizeof *vo);
                }
                t_codec = now_s();
                if (row < (size_t)PQntuples(res) &&
                    (int64_t)be64((const uint8_t *)PQgetvalue(res, (int)row, 0)) == c) {
                    if (mt_series_decode((const uint8_t *)PQgetvalue(res, (int)row, 1),
                                         (size_t)PQgetlength(res, (int)row, 1), tm, vm,
                                         MT_SERIES_MAX_N, &n_old, &err) != MT_OK) {
                        die("channel %" PRId64 " day %" PRId64 ": %s", c, day, err.msg);
                    }
                }
                for (q = k; q < e; q++) {
                    tm[n_old + (q - k)] = rec[q].t;
                    vm[n_old + (q - k)] = rec[q].v;
                }
                if (mt_series_merge(tm, vm, n_old, tm + n_old, vm + n_old, e - k, to, vo,
                                    &n_out, &err) != MT_OK) {
                    die("merge: %s", err.msg);
                }
                row_c(&b, c, day, to, vo, n_out);
                codec_secs += now_s() - t_codec;
                k = e;
            }
            copy_end(&b);
            PQclear(res);
            g = end;
        }
    }
    exec_sql("INSERT INTO c_day SELECT * FROM c_stage ON CONFLICT (channel_id, day) DO UPDATE"
             " SET n = EXCLUDED.n, t_first = EXCLUDED.t_first, t_last = EXCLUDED.t_last,"
             " data = EXCLUDED.data, hours = EXCLUDED.hours");
    {
        const char *vals[1];
        int lens[1] = {8}, fmts[1] = {1};
        uint8_t id_be[8];
        int k;
        for (k = 0; k < 8; k++) {
            id_be[k] = (uint8_t)((uint64_t)max_id >> (56 - 8 * k));
        }
        vals[0] = (const char *)id_be;
        PQclear(exec_params("DELETE FROM d_hot WHERE id <= $1::bigint", 1, vals, lens, fmts));
    }
    exec_sql("COMMIT");
    free(rec);
    free(b.p);
    free(ids.p);
    free(tm);
    free(vm);
    free(to);
    free(vo);
    return n_rec;
}

/* ---- queries ------------------------------------------------------------------------- */

static void be_i64(uint8_t *p, int64_t x)
{
    int k;
    for (k = 0; k < 8; k++) {
        p[k] = (uint8_t)((uint64_t)x >> (56 - 8 * k));
    }
}

/* Samples of channel "c" in days [day_a, day_b) into "t", "v" (room for
 * "cap"), read from "layout"; returns their count. */
static size_t fetch_range(char layout, int64_t c, int64_t day_a, int64_t day_b, mt_time *t,
                          double *v, size_t cap)
{
    uint8_t p[3][8];
    const char *vals[3] = {(const char *)p[0], (const char *)p[1], (const char *)p[2]};
    int lens[3] = {8, 8, 8}, fmts[3] = {1, 1, 1};
    PGresult *res;
    size_t n = 0;
    int r;
    be_i64(p[0], c);
    if (layout == 'A') {
        be_i64(p[1], day_a * DAY_US);
        be_i64(p[2], day_b * DAY_US);
        res = exec_params("SELECT t, v FROM a_sample WHERE channel_id = $1::bigint"
                          " AND t >= $2::bigint AND t < $3::bigint ORDER BY t",
                          3, vals, lens, fmts);
        if ((size_t)PQntuples(res) > cap) {
            die("more samples than expected");
        }
        for (r = 0; r < PQntuples(res); r++) {
            t[n] = (mt_time)be64((const uint8_t *)PQgetvalue(res, r, 0));
            v[n++] = bef64((const uint8_t *)PQgetvalue(res, r, 1));
        }
    } else {
        be_i64(p[1], day_a);
        be_i64(p[2], day_b);
        res = exec_params(layout == 'B'
                              ? "SELECT t, v FROM b_day WHERE channel_id = $1::bigint"
                                " AND day >= $2::bigint AND day < $3::bigint ORDER BY day"
                              : "SELECT data FROM c_day WHERE channel_id = $1::bigint"
                                " AND day >= $2::bigint AND day < $3::bigint ORDER BY day",
                          3, vals, lens, fmts);
        for (r = 0; r < PQntuples(res); r++) {
            if (layout == 'B') {
                size_t k = get_array8((const uint8_t *)PQgetvalue(res, r, 0),
                                      (size_t)PQgetlength(res, r, 0), (uint8_t *)(t + n),
                                      cap - n);
                size_t k2 = get_array8((const uint8_t *)PQgetvalue(res, r, 1),
                                       (size_t)PQgetlength(res, r, 1), (uint8_t *)(v + n),
                                       cap - n);
                size_t q;
                if (k != k2) {
                    die("time and value arrays differ in length");
                }
                /* the elements came big-endian */
                for (q = n; q < n + k; q++) {
                    t[q] = (mt_time)be64((const uint8_t *)&t[q]);
                    v[q] = bef64((const uint8_t *)&v[q]);
                }
                n += k;
            } else {
                size_t got = 0;
                mt_error err;
                if (mt_series_decode((const uint8_t *)PQgetvalue(res, r, 0),
                                     (size_t)PQgetlength(res, r, 0), t + n, v + n, cap - n, &got,
                                     &err) != MT_OK) {
                    die("decode: %s", err.msg);
                }
                n += got;
            }
        }
    }
    PQclear(res);
    return n;
}

static mt_status no_decode(void *ctx, size_t block, mt_time *t, double *v, size_t cap,
                           size_t *n, mt_error *err)
{
    (void)ctx;
    (void)t;
    (void)v;
    (void)cap;
    (void)n;
    return mt_fail(err, MT_EINVAL, block, "hour %zu straddles a bucket", block);
}

/* Buckets of channel "c" over days [day_a, day_b) from C's hourly summaries
 * alone. */
static void coarse_from_hours(int64_t c, int64_t day_a, int64_t day_b, size_t n_buckets,
                              mt_bucket *out)
{
    uint8_t p[3][8];
    const char *vals[3] = {(const char *)p[0], (const char *)p[1], (const char *)p[2]};
    int lens[3] = {8, 8, 8}, fmts[3] = {1, 1, 1};
    PGresult *res;
    mt_block_summary *s;
    size_t n = 0, cap, n_decoded = 0;
    mt_error err;
    int r;
    be_i64(p[0], c);
    be_i64(p[1], day_a);
    be_i64(p[2], day_b);
    res = exec_params("SELECT hours FROM c_day WHERE channel_id = $1::bigint"
                      " AND day >= $2::bigint AND day < $3::bigint ORDER BY day",
                      3, vals, lens, fmts);
    cap = (size_t)PQntuples(res) * 24;
    s = xmalloc(cap * sizeof *s);
    for (r = 0; r < PQntuples(res); r++) {
        size_t got = 0;
        if (mt_summary_unpack((const uint8_t *)PQgetvalue(res, r, 0),
                              (size_t)PQgetlength(res, r, 0), s + n, cap - n, &got,
                              &err) != MT_OK) {
            die("unpack: %s", err.msg);
        }
        n += got;
    }
    PQclear(res);
    if (mt_decimate_blocks(s, n, no_decode, NULL, day_a * DAY_US, day_b * DAY_US, n_buckets, out,
                           &n_decoded, &err) != MT_OK) {
        die("decimate from summaries: %s", err.msg);
    }
    free(s);
}

/* A's min/max/count per bucket in SQL (no first/last, no times): how far the
 * database alone gets. */
static void sql_buckets_a(int64_t c, int64_t day_a, int64_t day_b, size_t n_buckets)
{
    uint8_t p[5][8];
    const char *vals[5];
    int lens[5] = {8, 8, 8, 8, 8}, fmts[5] = {1, 1, 1, 1, 1}, k;
    for (k = 0; k < 5; k++) {
        vals[k] = (const char *)p[k];
    }
    be_i64(p[0], c);
    be_i64(p[1], day_a * DAY_US);
    be_i64(p[2], day_b * DAY_US);
    be_i64(p[3], (int64_t)n_buckets);
    be_i64(p[4], (day_b - day_a) * DAY_US);
    PQclear(exec_params("SELECT (t - $2::bigint) * $4::bigint / $5::bigint AS b, min(v), max(v),"
                        " count(*) FROM a_sample WHERE channel_id = $1::bigint"
                        " AND t >= $2::bigint AND t < $3::bigint GROUP BY 1 ORDER BY 1",
                        5, vals, lens, fmts));
}

static int same_buckets(const mt_bucket *a, const mt_bucket *b, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        if (memcmp(&a[i].min, &b[i].min, 8) || memcmp(&a[i].max, &b[i].max, 8) ||
            memcmp(&a[i].first, &b[i].first, 8) || memcmp(&a[i].last, &b[i].last, 8) ||
            a[i].t_first != b[i].t_first || a[i].t_last != b[i].t_last ||
            a[i].t_min != b[i].t_min || a[i].t_max != b[i].t_max || a[i].n != b[i].n ||
            a[i].n_special != b[i].n_special) {
            return 0;
        }
    }
    return 1;
}

/* ---- report ---------------------------------------------------------------------------- */

typedef struct {
    double bf_secs, ev_secs;          /* ingest */
    int64_t bf_wal, ev_wal;           /* WAL bytes written by the ingest */
    double hot_secs, compact_secs;    /* D */
    size_t compacted;
    int64_t bytes[2];                 /* back-fill, everyday partitions */
    int64_t full_bytes[2];            /* the same after VACUUM FULL */
    double q_raw, q_fine, q_coarse, q_sql; /* median seconds */
} result;

static result res_of[4];

static void fmt_rate(char *out, size_t cap, double samples, double secs)
{
    double r = secs > 0 ? samples / secs : 0;
    if (r >= 1e6) {
        snprintf(out, cap, "%.2f M/s", r / 1e6);
    } else {
        snprintf(out, cap, "%.0f k/s", r / 1e3);
    }
}

static void fmt_ms(char *out, size_t cap, double secs)
{
    if (secs <= 0) {
        snprintf(out, cap, "—");
    } else if (secs < 0.01) {
        snprintf(out, cap, "%.2f ms", secs * 1e3);
    } else {
        snprintf(out, cap, "%.0f ms", secs * 1e3);
    }
}

static void load_avg(char *out, size_t cap)
{
    FILE *f = fopen("/proc/loadavg", "r");
    out[0] = '\0';
    if (f) {
        if (!fgets(out, (int)cap, f)) {
            out[0] = '\0';
        }
        fclose(f);
    }
    /* the three averages, not the process counts that follow */
    {
        size_t i, fields = 0;
        for (i = 0; out[i]; i++) {
            if (out[i] == ' ' && ++fields == 3) {
                break;
            }
        }
        out[i] = '\0';
    }
}

static const char *show(const char *name, char *out, size_t cap)
{
    const char *vals[1] = {name};
    PGresult *res = PQexecParams(pg, "SELECT current_setting($1)", 1, NULL, vals, NULL, NULL, 0);
    check(res, "current_setting");
    snprintf(out, cap, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return out;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: bench_storage CONNINFO [options]\n"
            "  --bf-channels N     back-fill channels (200)\n"
            "  --bf-days N         back-fill days of one-minute data (30)\n"
            "  --ev-channels N     everyday channels (2000)\n"
            "  --ev-prefill N      minutes of the everyday day loaded before timing (720)\n"
            "  --ev-minutes N      one-minute batches timed (30)\n"
            "  --compact-every N   D: compact after every N batches (1, as the server)\n"
            "  --q-channels N      channels per decimation query (32)\n"
            "  --q-buckets N       buckets of the fine query (2000)\n"
            "  --q-coarse-hours N  bucket width of the coarse query, whole hours (2)\n"
            "  --repeats N         runs per query; the median is reported (5)\n"
            "  --layouts LIST      some of ABCD (ABCD)\n"
            "  --c-storage S[,H]   TOAST storage of C's data column (and of hours, if\n"
            "                      given; else the same): EXTERNAL (the server's migration),\n"
            "                      EXTENDED or MAIN (EXTERNAL)\n");
    exit(2);
}

static void parse_args(int argc, char **argv)
{
    static const struct {
        const char *name;
        long *dst;
        long min, max;
    } opt[] = {
        {"--bf-channels", &cfg.bf_channels, 1, 100000},
        {"--bf-days", &cfg.bf_days, 1, 366},
        {"--ev-channels", &cfg.ev_channels, 1, 1000000},
        {"--ev-prefill", &cfg.ev_prefill, 0, 1439},
        {"--ev-minutes", &cfg.ev_minutes, 1, 1440},
        {"--compact-every", &cfg.compact_every, 1, 1440},
        {"--q-channels", &cfg.q_channels, 1, 100000},
        {"--q-buckets", &cfg.q_buckets, 1, 1000000},
        {"--q-coarse-hours", &cfg.q_coarse_hours, 1, 24 * 366},
        {"--repeats", &cfg.repeats, 1, MAX_REPEATS},
    };
    int i;
    size_t k;
    if (argc < 2 || argv[1][0] == '-') {
        usage();
    }
    cfg.conninfo = argv[1];
    for (i = 2; i < argc; i += 2) {
        int found = 0;
        if (i + 1 >= argc) {
            usage();
        }
        if (strcmp(argv[i], "--layouts") == 0) {
            snprintf(cfg.layouts, sizeof cfg.layouts, "%s", argv[i + 1]);
            continue;
        }
        if (strcmp(argv[i], "--c-storage") == 0) {
            static const char *kinds[3] = {"EXTERNAL", "EXTENDED", "MAIN"};
            const char *comma = strchr(argv[i + 1], ',');
            size_t len0 = comma ? (size_t)(comma - argv[i + 1]) : strlen(argv[i + 1]), q;
            cfg.c_data = cfg.c_hours = NULL;
            for (q = 0; q < 3; q++) {
                if (strlen(kinds[q]) == len0 && strncmp(argv[i + 1], kinds[q], len0) == 0) {
                    cfg.c_data = kinds[q];
                }
                if (strcmp(comma ? comma + 1 : argv[i + 1], kinds[q]) == 0) {
                    cfg.c_hours = kinds[q];
                }
            }
            if (!cfg.c_data || !cfg.c_hours) {
                usage();
            }
            continue;
        }
        for (k = 0; k < sizeof opt / sizeof opt[0]; k++) {
            if (strcmp(argv[i], opt[k].name) == 0) {
                char *end;
                long x = strtol(argv[i + 1], &end, 10);
                if (*end || x < opt[k].min || x > opt[k].max) {
                    die("%s: %s is not in %ld..%ld", opt[k].name, argv[i + 1], opt[k].min,
                        opt[k].max);
                }
                *opt[k].dst = x;
                found = 1;
            }
        }
        if (!found) {
            usage();
        }
    }
    if (cfg.ev_prefill + cfg.ev_minutes > 1440) {
        die("--ev-prefill + --ev-minutes must stay within one day (1440 minutes)");
    }
    if ((cfg.bf_days * 24) % cfg.q_coarse_hours != 0) {
        die("--q-coarse-hours must divide the back-fill range (%ld hours)", cfg.bf_days * 24);
    }
    if (cfg.q_channels > cfg.bf_channels) {
        cfg.q_channels = cfg.bf_channels;
    }
}

int main(int argc, char **argv)
{
    static const char layouts[4] = {'A', 'B', 'C', 'D'};
    static const char *names[4] = {"A  row per sample", "B  arrays per channel-day",
                                   "C  block per channel-day", "D  hot rows + compaction"};
    int64_t bf_day0, bf_day1, ev_day, ev_m0, y;
    int mo, dd, li;
    long k;
    size_t bf_samples, ev_samples, live_samples, per_ch, n_coarse;
    char s1[64], s2[64], s3[64], s4[128], s5[64], s6[32], load0[128], load1[128];
    batch bt;
    buf b = {0};
    mt_time *t;
    double *v;
    mt_bucket *fine[3] = {NULL, NULL, NULL}, *coarse[3] = {NULL, NULL, NULL};

    parse_args(argc, argv);
    pg = PQconnectdb(cfg.conninfo);
    if (PQstatus(pg) != CONNECTION_OK) {
        die("cannot connect: %s", PQerrorMessage(pg));
    }
    load_avg(load0, sizeof load0);

    bf_day0 = days_from_civil(2024, 1, 1);
    bf_day1 = bf_day0 + cfg.bf_days;
    civil_from_days(bf_day1 - 1, &y, &mo, &dd);
    ev_day = (mo == 12 ? days_from_civil(y + 1, 1, 1) : days_from_civil(y, mo + 1, 1)) + 14;
    ev_m0 = ev_day * 1440;
    add_months(bf_day0, bf_day1, 0);
    add_months(ev_day, ev_day + 1, 1);
    bf_samples = (size_t)cfg.bf_channels * (size_t)cfg.bf_days * 1440;
    live_samples = (size_t)cfg.ev_channels * (size_t)cfg.ev_minutes;
    ev_samples = (size_t)cfg.ev_channels * (size_t)(cfg.ev_prefill + cfg.ev_minutes);
    n_coarse = (size_t)(cfg.bf_days * 24 / cfg.q_coarse_hours);

    printf("bench_storage: PostgreSQL %s (fsync %s, synchronous_commit %s, shared_buffers %s);"
           " C's columns STORAGE %s (data), %s (hours)\n",
           show("server_version", s1, sizeof s1), show("fsync", s2, sizeof s2),
           show("synchronous_commit", s3, sizeof s3), show("shared_buffers", s4, sizeof s4),
           cfg.c_data, cfg.c_hours);
    printf("back-fill: %ld channels x %ld days of one-minute data = %zu samples, one COPY per"
           " channel\n",
           cfg.bf_channels, cfg.bf_days, bf_samples);
    printf("everyday: %ld channels, %ld minutes pre-filled, then %ld one-minute batches ="
           " %zu samples timed; D compacts every %ld batches\n",
           cfg.ev_channels, cfg.ev_prefill, cfg.ev_minutes, live_samples, cfg.compact_every);
    fflush(stdout);
    create_schema();

    /* ---- back-fill ---- */
    for (li = 0; li < 3; li++) {
        if (!has_layout(layouts[li])) {
            continue;
        }
        int64_t w0 = wal_bytes();
        res_of[li].bf_secs = bulk_load(layouts[li], 1, cfg.bf_channels, bf_day0 * 1440,
                                       (size_t)cfg.bf_days * 1440, 1);
        res_of[li].bf_wal = wal_bytes() - w0;
        fmt_rate(s1, sizeof s1, (double)bf_samples, res_of[li].bf_secs);
        printf("back-fill %c: %.2f s, %s, WAL %.1f B/sample\n", layouts[li], res_of[li].bf_secs,
               s1, (double)res_of[li].bf_wal / (double)bf_samples);
        fflush(stdout);
    }

    /* ---- everyday ---- */
    for (li = 0; li < 3; li++) {
        char l = layouts[li];
        if (!(has_layout(l) || (l == 'C' && has_layout('D'))) || cfg.ev_prefill == 0) {
            continue;
        }
        (void)bulk_load(l, 1000001, cfg.ev_channels, ev_m0, (size_t)cfg.ev_prefill, 100);
    }
    bt.c = xmalloc((size_t)cfg.ev_channels * sizeof *bt.c);
    bt.t = xmalloc((size_t)cfg.ev_channels * sizeof *bt.t);
    bt.v = xmalloc((size_t)cfg.ev_channels * sizeof *bt.v);
    for (li = 0; li < 4; li++) {
        char l = layouts[li];
        int64_t w0;
        if (l == 'C' || !has_layout(l)) {
            continue;
        }
        w0 = wal_bytes();
        for (k = 0; k < cfg.ev_minutes; k++) {
            double t0;
            make_batch(&bt, 1000001, cfg.ev_channels, ev_m0 + cfg.ev_prefill + k);
            t0 = now_s();
            if (l == 'A') {
                ingest_a(&b, &bt);
            } else if (l == 'B') {
                ingest_b(&b, &bt);
            } else {
                ingest_d(&b, &bt);
            }
            res_of[li].ev_secs += now_s() - t0;
            if (l == 'D' && ((k + 1) % cfg.compact_every == 0 || k + 1 == cfg.ev_minutes)) {
                t0 = now_s();
                res_of[li].compacted += compact();
                res_of[li].compact_secs += now_s() - t0;
            }
        }
        res_of[li].ev_wal = wal_bytes() - w0;
        if (l == 'D') {
            res_of[li].hot_secs = res_of[li].ev_secs;
            fmt_rate(s1, sizeof s1, (double)live_samples, res_of[li].hot_secs);
            fmt_rate(s2, sizeof s2, (double)res_of[li].compacted, res_of[li].compact_secs);
            printf("everyday D: hot inserts %.2f s (%s), compaction %.2f s (%s, %zu samples;"
                   " %.2f s of it in core), WAL %.1f B/sample\n",
                   res_of[li].hot_secs, s1, res_of[li].compact_secs, s2, res_of[li].compacted,
                   codec_secs, (double)res_of[li].ev_wal / (double)live_samples);
        } else {
            fmt_rate(s1, sizeof s1, (double)live_samples, res_of[li].ev_secs);
            printf("everyday %c: %.2f s, %s, WAL %.1f B/sample\n", l, res_of[li].ev_secs, s1,
                   (double)res_of[li].ev_wal / (double)live_samples);
        }
        fflush(stdout);
    }
    free(bt.c);
    free(bt.t);
    free(bt.v);
    free(b.p);

    /* D's compactor must have folded every batch into the day blocks
     * exactly: check the first, a middle and the last channel. */
    if (has_layout('D')) {
        size_t n_day = (size_t)(cfg.ev_prefill + cfg.ev_minutes), n, i;
        mt_time *tw = xmalloc(n_day * sizeof *tw), *tg = xmalloc(n_day * sizeof *tg);
        double *vw = xmalloc(n_day * sizeof *vw), *vg = xmalloc(n_day * sizeof *vg);
        const long chk[3] = {0, cfg.ev_channels / 2, cfg.ev_channels - 1};
        for (k = 0; k < 3; k++) {
            n = fetch_range('C', 1000001 + chk[k], ev_day, ev_day + 1, tw, vw, n_day);
            gen(1000001 + chk[k], ev_m0, n_day, tg, vg);
            for (i = 0; i < n && tw[i] == tg[i] && memcmp(&vw[i], &vg[i], 8) == 0; i++) {
            }
            if (n != n_day || i != n) {
                die("D: channel %ld holds %zu samples after compaction, %zu expected (first"
                    " difference at %zu)",
                    1000001 + chk[k], n, n_day, i);
            }
        }
        printf("everyday D: the compacted day blocks hold exactly the samples sent\n");
        free(tw);
        free(tg);
        free(vw);
        free(vg);
    }

    /* ---- sizes ---- */
    exec_sql("VACUUM (ANALYZE) a_sample");
    exec_sql("VACUUM (ANALYZE) b_day");
    exec_sql("VACUUM (ANALYZE) c_day");
    exec_sql("VACUUM (ANALYZE) d_hot");
    exec_sql("CHECKPOINT");
    sizes("a_sample", res_of[0].bytes);
    sizes("b_day", res_of[1].bytes);
    sizes("c_day", res_of[2].bytes);
    /* VACUUM leaves the space of rewritten rows in the files for reuse;
     * VACUUM FULL shows what the data needs without it. */
    exec_sql("VACUUM FULL a_sample");
    exec_sql("VACUUM FULL b_day");
    exec_sql("VACUUM FULL c_day");
    exec_sql("CHECKPOINT");
    sizes("a_sample", res_of[0].full_bytes);
    sizes("b_day", res_of[1].full_bytes);
    sizes("c_day", res_of[2].full_bytes);
    for (li = 0; li < 3; li++) {
        const result *r = &res_of[li];
        if (has_layout(layouts[li]) || (li == 2 && has_layout('D'))) {
            printf("size %c: back-fill %" PRId64 " bytes (%.2f B/sample; %.2f after VACUUM FULL),"
                   " everyday day %" PRId64 " bytes (%.2f B/sample; %.2f after VACUUM FULL)\n",
                   layouts[li], r->bytes[0], (double)r->bytes[0] / (double)bf_samples,
                   (double)r->full_bytes[0] / (double)bf_samples, r->bytes[1],
                   (double)r->bytes[1] / (double)ev_samples,
                   (double)r->full_bytes[1] / (double)ev_samples);
        }
    }
    if (has_layout('C')) {
        /* what each column of a back-fill day row weighs, and as stored */
        uint8_t day_be[8];
        const char *vals[1] = {(const char *)day_be};
        int lens[1] = {8}, fmts[1] = {1};
        PGresult *res;
        be_i64(day_be, bf_day1);
        res = exec_params("SELECT avg(octet_length(data))::float8,"
                          " avg(pg_column_size(data))::float8,"
                          " avg(octet_length(hours))::float8, avg(pg_column_size(hours))::float8"
                          " FROM c_day WHERE day < $1::bigint",
                          1, vals, lens, fmts);
        printf("size C: a back-fill day row holds a %.0f-byte block (%.0f stored) and %.0f bytes"
               " of hourly summaries (%.0f stored)\n",
               bef64((const uint8_t *)PQgetvalue(res, 0, 0)),
               bef64((const uint8_t *)PQgetvalue(res, 0, 1)),
               bef64((const uint8_t *)PQgetvalue(res, 0, 2)),
               bef64((const uint8_t *)PQgetvalue(res, 0, 3)));
        PQclear(res);
    }
    if (has_layout('D')) {
        printf("size D: the hot table after compaction and VACUUM: %" PRId64 " bytes\n",
               table_size("d_hot"));
    }
    fflush(stdout);

    /* ---- queries (back-fill data) ---- */
    per_ch = (size_t)cfg.bf_days * 1440;
    t = xmalloc(per_ch * sizeof *t);
    v = xmalloc(per_ch * sizeof *v);
    for (li = 0; li < 3; li++) {
        char l = layouts[li];
        double raw[MAX_REPEATS], fine_s[MAX_REPEATS], coarse_s[MAX_REPEATS], sql_s[MAX_REPEATS];
        int rep;
        if (!has_layout(l)) {
            continue;
        }
        fine[li] = xmalloc((size_t)cfg.q_channels * (size_t)cfg.q_buckets * sizeof(mt_bucket));
        coarse[li] = xmalloc((size_t)cfg.q_channels * n_coarse * sizeof(mt_bucket));
        for (rep = 0; rep < cfg.repeats; rep++) {
            double t0 = now_s();
            int64_t c_raw = 1 + cfg.bf_channels / 2, d_raw = bf_day0 + cfg.bf_days / 2;
            size_t n = fetch_range(l, c_raw, d_raw, d_raw + 1, t, v, per_ch);
            mt_error err;
            raw[rep] = now_s() - t0;
            if (n != 1440) {
                die("%c: a raw day has %zu samples", l, n);
            }
            t0 = now_s();
            for (k = 0; k < cfg.q_channels; k++) {
                int64_t c = 1 + k * cfg.bf_channels / cfg.q_channels;
                n = fetch_range(l, c, bf_day0, bf_day1, t, v, per_ch);
                if (mt_decimate_minmax(t, v, n, bf_day0 * DAY_US, bf_day1 * DAY_US,
                                       (size_t)cfg.q_buckets,
                                       fine[li] + (size_t)k * (size_t)cfg.q_buckets,
                                       &err) != MT_OK) {
                    die("decimate: %s", err.msg);
                }
            }
            fine_s[rep] = now_s() - t0;
            t0 = now_s();
            for (k = 0; k < cfg.q_channels; k++) {
                int64_t c = 1 + k * cfg.bf_channels / cfg.q_channels;
                mt_bucket *out = coarse[li] + (size_t)k * n_coarse;
                if (l == 'C') {
                    coarse_from_hours(c, bf_day0, bf_day1, n_coarse, out);
                } else {
                    n = fetch_range(l, c, bf_day0, bf_day1, t, v, per_ch);
                    if (mt_decimate_minmax(t, v, n, bf_day0 * DAY_US, bf_day1 * DAY_US,
                                           n_coarse, out, &err) != MT_OK) {
                        die("decimate: %s", err.msg);
                    }
                }
            }
            coarse_s[rep] = now_s() - t0;
            sql_s[rep] = 0;
            if (l == 'A') {
                t0 = now_s();
                for (k = 0; k < cfg.q_channels; k++) {
                    sql_buckets_a(1 + k * cfg.bf_channels / cfg.q_channels, bf_day0, bf_day1,
                                  (size_t)cfg.q_buckets);
                }
                sql_s[rep] = now_s() - t0;
            }
        }
        res_of[li].q_raw = median(raw, (int)cfg.repeats);
        res_of[li].q_fine = median(fine_s, (int)cfg.repeats);
        res_of[li].q_coarse = median(coarse_s, (int)cfg.repeats);
        res_of[li].q_sql = median(sql_s, (int)cfg.repeats);
        fmt_ms(s1, sizeof s1, res_of[li].q_raw);
        fmt_ms(s2, sizeof s2, res_of[li].q_fine);
        fmt_ms(s3, sizeof s3, res_of[li].q_coarse);
        printf("queries %c: raw day %s, %ld ch -> %ld buckets %s, -> %zu x %ld h %s", l, s1,
               cfg.q_channels, cfg.q_buckets, s2, n_coarse, cfg.q_coarse_hours, s3);
        if (l == 'A') {
            fmt_ms(s4, sizeof s4, res_of[li].q_sql);
            printf(", SQL GROUP BY (min/max/count) %s", s4);
        }
        printf("\n");
        fflush(stdout);
    }
    /* Every layout must give the same buckets, bit for bit. */
    for (li = 0; li < 3; li++) {
        int ref = fine[0] ? 0 : fine[1] ? 1 : 2;
        if (li == ref || !fine[li]) {
            continue;
        }
        if (!same_buckets(fine[ref], fine[li], (size_t)cfg.q_channels * (size_t)cfg.q_buckets) ||
            !same_buckets(coarse[ref], coarse[li], (size_t)cfg.q_channels * n_coarse)) {
            die("layouts %c and %c disagree on the decimated buckets", layouts[ref],
                layouts[li]);
        }
    }
    printf("decimated buckets: identical across layouts\n");
    load_avg(load1, sizeof load1);
    printf("load average: %s at the start, %s at the end\n", load0, load1);

    /* ---- the table ---- */
    printf("\n| layout | back-fill ingest | everyday ingest | bytes/sample back-fill"
           " | bytes/sample everyday day (VACUUM FULL) | raw day, 1 channel"
           " | %ld ch -> %ld buckets"
           " | %ld ch -> %zu x %ld h |\n",
           cfg.q_channels, cfg.q_buckets, cfg.q_channels, n_coarse, cfg.q_coarse_hours);
    printf("|---|---|---|---|---|---|---|---|\n");
    for (li = 0; li < 4; li++) {
        result *r = &res_of[li];
        if (!has_layout(layouts[li]) && !(li == 2 && has_layout('D'))) {
            continue;
        }
        if (li == 3) {
            fmt_rate(s1, sizeof s1, (double)live_samples, r->hot_secs);
            fmt_rate(s2, sizeof s2, (double)r->compacted, r->compact_secs);
            fmt_rate(s3, sizeof s3, (double)live_samples, r->hot_secs + r->compact_secs);
            printf("| %s | (C) | hot %s, compaction %s, both %s | (C) | (C) | (C) | (C) | (C) |\n",
                   names[li], s1, s2, s3);
            continue;
        }
        fmt_rate(s1, sizeof s1, (double)bf_samples, r->bf_secs);
        if (li == 2) {
            snprintf(s2, sizeof s2, "via D");
        } else {
            fmt_rate(s2, sizeof s2, (double)live_samples, r->ev_secs);
        }
        fmt_ms(s3, sizeof s3, r->q_raw);
        fmt_ms(s4, sizeof s4, r->q_fine);
        fmt_ms(s5, sizeof s5, r->q_coarse);
        if (li == 0 && r->q_sql > 0) {
            size_t len = strlen(s4);
            fmt_ms(s6, sizeof s6, r->q_sql);
            snprintf(s4 + len, sizeof s4 - len, " (SQL %s)", s6);
        }
        printf("| %s | %s | %s | %.1f | %.1f (%.1f) | %s | %s | %s |\n", names[li], s1, s2,
               (double)r->bytes[0] / (double)bf_samples, (double)r->bytes[1] / (double)ev_samples,
               (double)r->full_bytes[1] / (double)ev_samples, s3, s4, s5);
    }
    if (has_layout('A') && has_layout('C')) {
        const result *a = &res_of[0], *c = &res_of[2];
        printf("\nA / C: back-fill ingest time %.1fx, bytes/sample %.1fx (back-fill) %.1fx"
               " (everyday day, VACUUM FULL), raw day %.1fx, fine %.1fx, coarse %.1fx\n",
               a->bf_secs / c->bf_secs, (double)a->bytes[0] / (double)c->bytes[0],
               (double)a->full_bytes[1] / (double)c->full_bytes[1], a->q_raw / c->q_raw,
               a->q_fine / c->q_fine, a->q_coarse / c->q_coarse);
    }
    if (has_layout('B') && has_layout('C')) {
        const result *bb = &res_of[1], *c = &res_of[2];
        printf("B / C: back-fill ingest time %.1fx, bytes/sample %.1fx (back-fill) %.1fx"
               " (everyday day, VACUUM FULL), raw day %.1fx, fine %.1fx, coarse %.1fx\n",
               bb->bf_secs / c->bf_secs, (double)bb->bytes[0] / (double)c->bytes[0],
               (double)bb->full_bytes[1] / (double)c->full_bytes[1], bb->q_raw / c->q_raw,
               bb->q_fine / c->q_fine, bb->q_coarse / c->q_coarse);
    }
    if (has_layout('A') && has_layout('B') && has_layout('D')) {
        printf("everyday ingest time for the same samples: A %.2f s, B %.2f s, D %.2f s"
               " (hot %.2f + compaction %.2f)\n",
               res_of[0].ev_secs, res_of[1].ev_secs, res_of[3].hot_secs + res_of[3].compact_secs,
               res_of[3].hot_secs, res_of[3].compact_secs);
    }
    for (li = 0; li < 3; li++) {
        free(fine[li]);
        free(coarse[li]);
    }
    free(t);
    free(v);
    PQfinish(pg);
    return 0;
}
