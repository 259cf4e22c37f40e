/* The time-series store (see series_store.h, docs/storage.md). */
#define _POSIX_C_SOURCE 200809L
#include "series_store.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmp.h"
#include "db_account.h"
#include "db_series.h"
#include "db_storage.h"
#include "log.h"
#include "series_internal.h"
#include "mt/licence.h"
#include "mt/series.h"
#include "worker.h"

void series_col_free(series_col *c)
{
    free(c->t);
    free(c->v);
    memset(c, 0, sizeof *c);
}

int series_col_reserve(series_col *c, size_t need)
{
    if (need > c->cap) {
        size_t cap = c->cap ? c->cap : 64;
        int64_t *t;
        double *v;
        while (cap < need) {
            cap *= 2;
        }
        t = realloc(c->t, cap * sizeof *t);
        if (t == NULL) {
            return -1;
        }
        c->t = t;
        v = realloc(c->v, cap * sizeof *v);
        if (v == NULL) {
            return -1;
        }
        c->v = v;
        c->cap = cap;
    }
    return 0;
}

int series_col_push(series_col *c, int64_t t, double v)
{
    if (series_col_reserve(c, c->n + 1) != 0) {
        return -1;
    }
    c->t[c->n] = t;
    c->v[c->n] = v;
    c->n++;
    return 0;
}

int64_t series_day_of(int64_t t)
{
    int64_t d = t / SERIES_DAY_US;
    return (t % SERIES_DAY_US < 0) ? d - 1 : d;
}

/* Big-endian readers for binary result columns. */
int64_t series_be64(const char *p)
{
    const unsigned char *u = (const unsigned char *)p;
    uint64_t x = 0;
    for (int i = 0; i < 8; i++) {
        x = (x << 8) | u[i];
    }
    return (int64_t)x;
}

int32_t series_be32(const char *p)
{
    const unsigned char *u = (const unsigned char *)p;
    return (int32_t)(((uint32_t)u[0] << 24) | ((uint32_t)u[1] << 16) | ((uint32_t)u[2] << 8) |
                     u[3]);
}

/* ------------------------------------------------------------ partitions */

static pthread_mutex_t part_mu = PTHREAD_MUTEX_INITIALIZER;
static int64_t part_known[256]; /* month keys (year * 12 + month) known to exist */
static size_t part_n;

static int64_t month_key(int64_t day)
{
    time_t secs = (time_t)(day * 86400);
    struct tm tm;
    gmtime_r(&secs, &tm);
    return (int64_t)(tm.tm_year + 1900) * 12 + tm.tm_mon;
}

static db_stmt st_partition = {"ser_partition", "SELECT mt_series_partition($1::int)", 0};

static db_status ensure_partition(db_conn *c, int64_t day)
{
    int64_t key = month_key(day);
    char d[24];
    const char *p[] = {db_ll(day, d)};
    bool known = false;
    db_status st;
    pthread_mutex_lock(&part_mu);
    for (size_t i = 0; i < part_n && !known; i++) {
        known = part_known[i] == key;
    }
    pthread_mutex_unlock(&part_mu);
    if (known) {
        return DB_OK;
    }
    st = db_q_exec(c, &st_partition, 1, p, NULL);
    if (st == DB_OK) {
        pthread_mutex_lock(&part_mu);
        if (part_n < sizeof part_known / sizeof part_known[0]) {
            part_known[part_n++] = key;
        }
        pthread_mutex_unlock(&part_mu);
    }
    return st;
}

/* ------------------------------------------------------------- folding */

typedef struct {
    int64_t ch, day;
    size_t i0, n; /* records [i0, i0 + n) */
} fold_group;

typedef struct {
    int64_t ch, day;
    const char *data; /* borrowed from the result */
    int len;
    long long old_bytes;
} old_block;

static int cmp_old(const void *a, const void *b)
{
    const old_block *x = a, *y = b;
    if (x->ch != y->ch) {
        return x->ch < y->ch ? -1 : 1;
    }
    return (x->day > y->day) - (x->day < y->day);
}

static db_stmt st_old = {"ser_fold_old",
    "SELECT s.channel_id, s.day, s.data, octet_length(s.data) + octet_length(s.hours) "
    "FROM series_day s JOIN unnest($2::bigint[], $3::int[]) AS k(c, d) "
    "  ON s.channel_id = k.c AND s.day = k.d "
    "WHERE s.account_id = $1 FOR UPDATE OF s", 0};

static db_stmt st_upsert = {"ser_fold_upsert",
    "INSERT INTO series_day (account_id, channel_id, day, n, t_first, t_last, data, hours) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
    "ON CONFLICT (channel_id, day) DO UPDATE SET n = EXCLUDED.n, t_first = EXCLUDED.t_first, "
    "  t_last = EXCLUDED.t_last, data = EXCLUDED.data, hours = EXCLUDED.hours", 0};

static db_stmt st_latest = {"ser_fold_latest",
    "INSERT INTO channel_latest (account_id, channel_id, t, v, special) "
    "SELECT $1, k.c, k.t, k.v, k.s "
    "FROM unnest($2::bigint[], $3::bigint[], $4::float8[], $5::smallint[]) AS k(c, t, v, s) "
    "ON CONFLICT (channel_id) DO UPDATE SET t = EXCLUDED.t, v = EXCLUDED.v, "
    "  special = EXCLUDED.special WHERE channel_latest.t <= EXCLUDED.t", 0};

/* Write one merged day block. */
static db_status upsert_block(db_conn *c, long long account_id, int64_t ch, int64_t day,
                              const int64_t *t, const double *v, size_t n, long long *bytes)
{
    if (n == 0) {
        *bytes = 0;
        return DB_OK;
    }
    uint8_t *data = NULL, *hours = NULL;
    size_t data_len = 0, n_hours = 0;
    mt_block_summary sum[24 + 1];
    mt_error err;
    char a[24], cs[24], ds[24], ns[24], t0[24], t1[24];
    const char *p[8];
    int lengths[8] = {0};
    int formats[8] = {0, 0, 0, 0, 0, 0, 1, 1};
    db_status st;

    if (mt_series_encode(t, v, n, &data, &data_len, &err) != MT_OK ||
        mt_series_summarize(t, v, n, SERIES_HOUR_US, sum, 25, &n_hours, &err) != MT_OK) {
        log_error("series: channel %lld day %lld: %s", (long long)ch, (long long)day, err.msg);
        mt_series_free(data);
        return DB_ERROR;
    }
    hours = malloc(n_hours * MT_SUMMARY_PACKED + 1);
    if (hours == NULL) {
        mt_series_free(data);
        return DB_ERROR;
    }
    mt_summary_pack(sum, n_hours, hours);
    p[0] = db_ll(account_id, a);
    p[1] = db_ll(ch, cs);
    p[2] = db_ll(day, ds);
    p[3] = db_ll((long long)n, ns);
    p[4] = db_ll(t[0], t0);
    p[5] = db_ll(t[n - 1], t1);
    p[6] = (const char *)data;
    p[7] = (const char *)hours;
    lengths[6] = (int)data_len;
    lengths[7] = (int)(n_hours * MT_SUMMARY_PACKED);
    st = db_exec_bin(c, &st_upsert, 8, p, lengths, formats, 0, NULL);
    *bytes = (long long)(data_len + n_hours * MT_SUMMARY_PACKED);
    mt_series_free(data);
    free(hours);
    return st;
}


/* ------------------------------------------------ batched block writes
 *
 * series_fold() writes all the day blocks of a round with one INSERT ... SELECT
 * FROM unnest() of binary arrays (PostgreSQL's binary array format: ndim,
 * flags, element type, dimension, lower bound, then length-prefixed
 * big-endian elements), instead of one statement per block. */

typedef struct {
    unsigned char *p;
    size_t len, cap;
    size_t count;
    bool failed;
} binarr;

static void ba_need(binarr *a, size_t more)
{
    if (a->failed || a->len + more <= a->cap) {
        return;
    }
    size_t cap = a->cap ? a->cap : 4096;
    while (cap < a->len + more) {
        cap *= 2;
    }
    unsigned char *grown = realloc(a->p, cap);
    if (grown == NULL) {
        a->failed = true;
        return;
    }
    a->p = grown;
    a->cap = cap;
}

static void ba_be32(binarr *a, uint32_t x)
{
    ba_need(a, 4);
    if (!a->failed) {
        a->p[a->len++] = (unsigned char)(x >> 24);
        a->p[a->len++] = (unsigned char)(x >> 16);
        a->p[a->len++] = (unsigned char)(x >> 8);
        a->p[a->len++] = (unsigned char)x;
    }
}

static void ba_start(binarr *a, uint32_t elem_oid)
{
    a->len = 0;
    a->count = 0;
    ba_be32(a, 1);        /* ndim */
    ba_be32(a, 0);        /* no NULLs */
    ba_be32(a, elem_oid); /* element type */
    ba_be32(a, 0);        /* dimension: patched by ba_finish() */
    ba_be32(a, 1);        /* lower bound */
}

static void ba_finish(binarr *a)
{
    if (!a->failed) {
        uint32_t n = (uint32_t)a->count;
        a->p[12] = (unsigned char)(n >> 24);
        a->p[13] = (unsigned char)(n >> 16);
        a->p[14] = (unsigned char)(n >> 8);
        a->p[15] = (unsigned char)n;
    }
}

static void ba_i64(binarr *a, int64_t x)
{
    ba_be32(a, 8);
    ba_be32(a, (uint32_t)((uint64_t)x >> 32));
    ba_be32(a, (uint32_t)x);
    a->count++;
}

static void ba_i32(binarr *a, int32_t x)
{
    ba_be32(a, 4);
    ba_be32(a, (uint32_t)x);
    a->count++;
}

static void ba_bytes(binarr *a, const void *b, size_t n)
{
    ba_be32(a, (uint32_t)n);
    ba_need(a, n);
    if (!a->failed) {
        memcpy(a->p + a->len, b, n);
        a->len += n;
    }
    a->count++;
}

#define OID_INT8 20
#define OID_INT4 23
#define OID_BYTEA 17

typedef struct {
    binarr ch, day, n, t0, t1, data, hours;
} block_batch;

static void bb_start(block_batch *b)
{
    ba_start(&b->ch, OID_INT8);
    ba_start(&b->day, OID_INT4);
    ba_start(&b->n, OID_INT4);
    ba_start(&b->t0, OID_INT8);
    ba_start(&b->t1, OID_INT8);
    ba_start(&b->data, OID_BYTEA);
    ba_start(&b->hours, OID_BYTEA);
}

static void bb_free(block_batch *b)
{
    binarr *all[] = {&b->ch, &b->day, &b->n, &b->t0, &b->t1, &b->data, &b->hours};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        free(all[i]->p);
    }
    memset(b, 0, sizeof *b);
}

/* Encode one merged day block into the batch; *bytes its stored size. */
static int bb_add(block_batch *b, int64_t ch, int64_t day, const int64_t *t, const double *v,
                  size_t n, long long *bytes)
{
    uint8_t *data = NULL, hours[24 * MT_SUMMARY_PACKED];
    size_t data_len = 0, n_hours = 0;
    mt_block_summary sum[24];
    mt_error err;
    if (mt_series_encode(t, v, n, &data, &data_len, &err) != MT_OK ||
        mt_series_summarize(t, v, n, SERIES_HOUR_US, sum, 24, &n_hours, &err) != MT_OK) {
        log_error("series: channel %lld day %lld: %s", (long long)ch, (long long)day, err.msg);
        mt_series_free(data);
        return -1;
    }
    mt_summary_pack(sum, n_hours, hours);
    ba_i64(&b->ch, ch);
    ba_i32(&b->day, (int32_t)day);
    ba_i32(&b->n, (int32_t)n);
    ba_i64(&b->t0, t[0]);
    ba_i64(&b->t1, t[n - 1]);
    ba_bytes(&b->data, data, data_len);
    ba_bytes(&b->hours, hours, n_hours * MT_SUMMARY_PACKED);
    mt_series_free(data);
    *bytes = (long long)(data_len + n_hours * MT_SUMMARY_PACKED);
    return 0;
}

static db_stmt st_upsert_many = {"ser_fold_upsert_many",
    "INSERT INTO series_day (account_id, channel_id, day, n, t_first, t_last, data, hours) "
    "SELECT $1, k.c, k.d, k.n, k.t0, k.t1, k.data, k.hours "
    "FROM unnest($2::bigint[], $3::int[], $4::int[], $5::bigint[], $6::bigint[], $7::bytea[], "
    "            $8::bytea[]) AS k(c, d, n, t0, t1, data, hours) "
    "ON CONFLICT (channel_id, day) DO UPDATE SET n = EXCLUDED.n, t_first = EXCLUDED.t_first, "
    "  t_last = EXCLUDED.t_last, data = EXCLUDED.data, hours = EXCLUDED.hours", 0};

static db_status bb_flush(db_conn *c, long long account_id, block_batch *b)
{
    binarr *all[] = {&b->ch, &b->day, &b->n, &b->t0, &b->t1, &b->data, &b->hours};
    const char *p[8];
    int lengths[8] = {0}, formats[8] = {0};
    char a[24];
    db_status st;
    if (b->ch.count == 0) {
        return DB_OK;
    }
    p[0] = db_ll(account_id, a);
    for (int i = 0; i < 7; i++) {
        ba_finish(all[i]);
        if (all[i]->failed || all[i]->len > INT32_MAX) {
            return DB_ERROR;
        }
        p[i + 1] = (const char *)all[i]->p;
        lengths[i + 1] = (int)all[i]->len;
        formats[i + 1] = 1;
    }
    st = db_exec_bin(c, &st_upsert_many, 8, p, lengths, formats, 0, NULL);
    bb_start(b);
    return st;
}

/* Latest sample of every channel in "rec" (sorted by channel, time). */
db_status series_update_latest(db_conn *c, long long account_id, const ingest_rec *rec,
                               size_t n)
{
    size_t n_ch = 0, cap = 64, len[4] = {0};
    char *arr[4] = {NULL};
    char a[24];
    db_status st = DB_ERROR;
    for (size_t i = 0; i < n; i++) {
        n_ch += i + 1 == n || rec[i + 1].ch != rec[i].ch;
    }
    cap = 2 + n_ch * 26;
    for (int k = 0; k < 4; k++) {
        if ((arr[k] = malloc(cap)) == NULL) {
            goto out;
        }
        arr[k][len[k]++] = '{';
    }
    for (size_t i = 0, j = 0; i < n; i++) {
        const ingest_rec *r = &rec[i];
        mt_sv kind;
        const char *sep = j ? "," : "";
        if (i + 1 < n && rec[i + 1].ch == r->ch) {
            continue;
        }
        kind = mt_sv_kind(r->v);
        len[0] += (size_t)snprintf(arr[0] + len[0], cap - len[0], "%s%lld", sep, (long long)r->ch);
        len[1] += (size_t)snprintf(arr[1] + len[1], cap - len[1], "%s%lld", sep, (long long)r->t);
        if (kind == MT_SV_NONE) {
            len[2] += (size_t)snprintf(arr[2] + len[2], cap - len[2], "%s%.17g", sep, r->v);
        } else {
            len[2] += (size_t)snprintf(arr[2] + len[2], cap - len[2], "%sNULL", sep);
        }
        len[3] += (size_t)snprintf(arr[3] + len[3], cap - len[3], "%s%d", sep, (int)kind);
        j++;
    }
    for (int k = 0; k < 4; k++) {
        arr[k][len[k]++] = '}';
        arr[k][len[k]] = '\0';
    }
    {
        const char *p[] = {db_ll(account_id, a), arr[0], arr[1], arr[2], arr[3]};
        st = db_q_exec(c, &st_latest, 5, p, NULL);
    }
out:
    for (int k = 0; k < 4; k++) {
        free(arr[k]);
    }
    return st;
}

/* Fold "rec" (one account; sorted by channel then time; one sample per
 * channel and time) into the day blocks. *bytes_delta receives the change
 * in stored bytes; *dropped the samples that did not fit a day block. */
db_status series_fold(db_conn *c, long long account_id, const ingest_rec *rec, size_t n,
                      long long *bytes_delta, size_t *blocks, size_t *dropped)
{
    fold_group *g = NULL;
    old_block *old = NULL;
    size_t n_g = 0, n_old = 0;
    int64_t *gch = NULL, *gday = NULL;
    char *ach = NULL, *aday = NULL, a[24];
    PGresult *res = NULL;
    series_col cur = {0}, merged = {0};
    block_batch batch = {0};
    db_status st = DB_ERROR;

    *bytes_delta = 0;
    if (n == 0) {
        return DB_OK;
    }
    g = malloc(n * sizeof *g);
    if (g == NULL) {
        return DB_ERROR;
    }
    /* Its arrays are allocated: freed at "out" only (an early return
     * above leaked them). */
    bb_start(&batch);
    for (size_t i = 0; i < n; i++) {
        int64_t day = series_day_of(rec[i].t);
        if (n_g > 0 && g[n_g - 1].ch == rec[i].ch && g[n_g - 1].day == day) {
            g[n_g - 1].n++;
        } else {
            g[n_g].ch = rec[i].ch;
            g[n_g].day = day;
            g[n_g].i0 = i;
            g[n_g].n = 1;
            n_g++;
        }
    }
    gch = malloc(n_g * sizeof *gch);
    gday = malloc(n_g * sizeof *gday);
    if (gch == NULL || gday == NULL) {
        goto out;
    }
    for (size_t i = 0; i < n_g; i++) {
        gch[i] = g[i].ch;
        gday[i] = g[i].day;
        if ((st = ensure_partition(c, g[i].day)) != DB_OK) {
            goto out;
        }
    }
    st = DB_ERROR;
    if ((ach = db_id_array(gch, n_g)) == NULL || (aday = db_id_array(gday, n_g)) == NULL) {
        goto out;
    }
    {
        const char *p[] = {db_ll(account_id, a), ach, aday};
        int formats[3] = {0, 0, 0};
        if ((st = db_exec_bin(c, &st_old, 3, p, NULL, formats, 1, &res)) != DB_OK) {
            goto out;
        }
    }
    st = DB_ERROR;
    n_old = (size_t)PQntuples(res);
    old = malloc((n_old ? n_old : 1) * sizeof *old);
    if (old == NULL) {
        goto out;
    }
    for (size_t i = 0; i < n_old; i++) {
        old[i].ch = series_be64(PQgetvalue(res, (int)i, 0));
        old[i].day = series_be32(PQgetvalue(res, (int)i, 1));
        old[i].data = PQgetvalue(res, (int)i, 2);
        old[i].len = PQgetlength(res, (int)i, 2);
        old[i].old_bytes = series_be32(PQgetvalue(res, (int)i, 3));
    }
    qsort(old, n_old, sizeof *old, cmp_old);
    for (size_t i = 0; i < n_g; i++) {
        const fold_group *gr = &g[i];
        old_block key = {gr->ch, gr->day, NULL, 0, 0};
        const old_block *ob = n_old ? bsearch(&key, old, n_old, sizeof *old, cmp_old) : NULL;
        size_t nn = gr->n, have = 0;
        long long bytes = 0;
        mt_error err;
        cur.n = 0;
        if (ob != NULL) {
            if (mt_series_info((const uint8_t *)ob->data, (size_t)ob->len, &have, NULL, NULL,
                               &err) != MT_OK ||
                series_col_reserve(&cur, have) != 0 ||
                mt_series_decode((const uint8_t *)ob->data, (size_t)ob->len, cur.t, cur.v,
                                 cur.cap, &cur.n, &err) != MT_OK) {
                log_error("series: stored block of channel %lld day %lld is unreadable: %s",
                          (long long)gr->ch, (long long)gr->day, err.msg);
                goto out;
            }
            *bytes_delta -= ob->old_bytes;
        }
        if (series_col_reserve(&merged, cur.n + nn) != 0) {
            goto out;
        }
        {
            /* New samples, as arrays, for the merge. */
            series_col add = {0};
            if (series_col_reserve(&add, nn) != 0) {
                goto out;
            }
            for (size_t k = 0; k < nn; k++) {
                add.t[k] = rec[gr->i0 + k].t;
                add.v[k] = rec[gr->i0 + k].v;
            }
            add.n = nn;
            if (mt_series_merge(cur.t, cur.v, cur.n, add.t, add.v, add.n, merged.t, merged.v,
                                &merged.n, &err) != MT_OK) {
                log_error("series: merge failed for channel %lld: %s", (long long)gr->ch,
                          err.msg);
                series_col_free(&add);
                goto out;
            }
            series_col_free(&add);
        }
        if (merged.n > MT_SERIES_MAX_N) {
            /* A day holds at most MT_SERIES_MAX_N samples (docs/storage.md):
             * keep the earliest, count the rest as dropped. */
            *dropped += merged.n - MT_SERIES_MAX_N;
            log_error("series: channel %lld day %lld: %zu samples over the day's capacity dropped",
                      (long long)gr->ch, (long long)gr->day, merged.n - MT_SERIES_MAX_N);
            merged.n = MT_SERIES_MAX_N;
        }
        if (bb_add(&batch, gr->ch, gr->day, merged.t, merged.v, merged.n, &bytes) != 0) {
            goto out;
        }
        *bytes_delta += bytes;
        (*blocks)++;
        /* Keep the batch's memory bounded on large back-fills. */
        if (batch.data.len > (32u << 20) && (st = bb_flush(c, account_id, &batch)) != DB_OK) {
            goto out;
        }
        st = DB_ERROR;
    }
    if ((st = bb_flush(c, account_id, &batch)) != DB_OK) {
        goto out;
    }
    st = series_update_latest(c, account_id, rec, n);
out:
    PQclear(res);
    free(g);
    free(old);
    free(gch);
    free(gday);
    free(ach);
    free(aday);
    series_col_free(&cur);
    series_col_free(&merged);
    bb_free(&batch);
    return st;
}

static db_stmt st_day_get = {"ser_day_bytes",
    "SELECT octet_length(data) + octet_length(hours) FROM series_day "
    "WHERE account_id = $1 AND channel_id = $2 AND day = $3 FOR UPDATE", 0};
static db_stmt st_day_del = {"ser_day_delete",
    "DELETE FROM series_day WHERE account_id = $1 AND channel_id = $2 AND day = $3", 0};

db_status series_write_day(db_conn *c, long long account_id, int64_t ch, int64_t day,
                           const int64_t *t, const double *v, size_t n, long long *bytes_delta)
{
    char a[24], cs[24], ds[24];
    const char *p[] = {db_ll(account_id, a), db_ll(ch, cs), db_ll(day, ds)};
    long long old = 0, now = 0;
    bool found = false;
    db_status st;
    *bytes_delta = 0;
    for (size_t i = 0; i < n; i++) {
        if (series_day_of(t[i]) != day || (i > 0 && t[i] <= t[i - 1])) {
            return DB_ERROR;
        }
    }
    if (n > MT_SERIES_MAX_N) {
        return DB_ERROR;
    }
    if ((st = ensure_partition(c, day)) != DB_OK ||
        (st = db_q_int(c, &st_day_get, 3, p, &old, &found)) != DB_OK) {
        return st;
    }
    if (!found) {
        old = 0;
    }
    if (n == 0) {
        st = found ? db_q_exec(c, &st_day_del, 3, p, NULL) : DB_OK;
    } else {
        st = upsert_block(c, account_id, ch, day, t, v, n, &now);
    }
    if (st == DB_OK) {
        *bytes_delta = now - old;
        st = db_storage_add_data(c, account_id, *bytes_delta);
    }
    return st;
}

/* ------------------------------------------------------------ month rows */

static db_stmt st_month_sweep = {"ser_month_sweep", "SELECT mt_series_month_sweep($1::int)", 0};
static db_stmt st_month_dirty = {"ser_month_dirty",
    "SELECT channel_id, month FROM series_month_dirty WHERE month_end <= mt_today() - 2 "
    "ORDER BY channel_id, month LIMIT $1", 0};
static db_stmt st_month_build = {"ser_month_build",
    "SELECT mt_series_month_build($1::bigint, $2::int)", 0};

int series_month_round(db_pool *pool, int max_rows, size_t *built)
{
    db_conn *c = NULL;
    PGresult *res = NULL;
    char lim[24];
    long long swept = 0;
    int n, rc = -1;
    if (db_acquire(pool, DB_WAIT_MS, &c) != DB_OK) {
        return -1;
    }
    {
        const char *p[] = {db_ll(4, lim)};
        if (db_q_int(c, &st_month_sweep, 1, p, &swept, NULL) != DB_OK) {
            goto out;
        }
    }
    {
        const char *p[] = {db_ll(max_rows, lim)};
        if (db_exec(c, &st_month_dirty, 1, p, &res) != DB_OK) {
            goto out;
        }
    }
    n = PQntuples(res);
    for (int r = 0; r < n; r++) {
        const char *p[] = {PQgetvalue(res, r, 0), PQgetvalue(res, r, 1)};
        if (db_q_exec(c, &st_month_build, 2, p, NULL) != DB_OK) {
            goto out;
        }
        if (built != NULL) {
            (*built)++;
        }
    }
    rc = n == max_rows || swept > 0 ? 1 : 0;
out:
    PQclear(res);
    db_release(pool, c);
    return rc;
}

/* ------------------------------------------------------------ retention */

static db_stmt st_retention = {"ser_retention",
    "WITH doomed AS ("
    "  SELECT s.channel_id, s.day FROM series_day s JOIN accounts a ON a.id = s.account_id "
    "  WHERE s.day < $1 AND (a.plan = 'free' OR (a.plan IN ('standard', 'pro') "
    "        AND a.licence_expires_at <= to_timestamp($2::bigint))) "
    "  LIMIT 20000), "
    "gone AS ("
    "  DELETE FROM series_day s USING doomed d "
    "  WHERE s.channel_id = d.channel_id AND s.day = d.day "
    "  RETURNING s.account_id, octet_length(s.data) + octet_length(s.hours) AS b), "
    "freed AS ("
    "  UPDATE account_storage st SET data_bytes = greatest(st.data_bytes - g.b, 0) "
    "  FROM (SELECT account_id, sum(b) AS b FROM gone GROUP BY account_id) g "
    "  WHERE st.account_id = g.account_id RETURNING 1) "
    "SELECT (SELECT count(*) FROM gone) + 0 * (SELECT count(*) FROM freed)", 0};
static db_stmt st_drop_empty = {"ser_drop_empty", "SELECT mt_series_drop_empty($1::int)", 0};

db_status series_retention(db_conn *c, int64_t now, long long *done)
{
    mt_day cutoff;
    mt_error err;
    char cut[24], nw[24];
    long long deleted = 0, dropped = 0;
    db_status st;
    *done = 0;
    if (mt_licence_retention_cutoff((mt_day)(now / 86400), &cutoff, &err) != MT_OK) {
        log_error("retention: %s", err.msg);
        return DB_ERROR;
    }
    {
        const char *p[] = {db_ll(cutoff, cut), db_ll(now, nw)};
        if ((st = db_q_int(c, &st_retention, 2, p, &deleted, NULL)) != DB_OK) {
            return st;
        }
    }
    {
        const char *p[] = {cut};
        if ((st = db_q_int(c, &st_drop_empty, 1, p, &dropped, NULL)) != DB_OK) {
            return st;
        }
    }
    if (dropped > 0) {
        /* Partitions may be created again later: forget the ones we know. */
        pthread_mutex_lock(&part_mu);
        part_n = 0;
        pthread_mutex_unlock(&part_mu);
    }
    *done = deleted + dropped;
    return DB_OK;
}
