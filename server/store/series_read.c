/* The time-series store's reads: raw samples of day blocks and the hot
 * table, hour and month summaries (series_store.h, docs/storage.md). Split
 * from series_store.c. */
#define _POSIX_C_SOURCE 200809L
#include "series_store.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmp.h"
#include "db_account.h"
#include "db_series.h"
#include "log.h"
#include "mt/series.h"
#include "rights_memo.h"
#include "series_internal.h"

/* ---------------------------------------------------------------- reads */

/* The hot rows of a window are those of account A that overlap [T0, T1),
 * found by t_max bounded from both sides on the index
 * series_hot_account_newest, above by the window's end plus the largest
 * span of the account's hot rows, at least 5 minutes (migration 057, an
 * hour before it: only wider rows are in the partial index
 * series_hot_account_wide), and
 * t_min < T1 checked on the same index's entries (its last column since
 * migration 055), so that the rows starting after the window are not
 * fetched: the functions mt_raw_read() (053), mt_hot_read() (052) and
 * mt_ser_read() (054). */

/* A window's samples (samples_from()): mt_ser_read() (migration 052), its
 * rows of kind 1 the hot rows (id, payload), of kind 2 the day blocks
 * (channel, data, day), in no order. $1 account, $2 channels, $3/$4 the
 * window [t0, t1), $5/$6 its first and last day. Planned once per
 * connection without sequential or bitmap scans; as a prepared statement
 * it kept a generic plan made while series_hot was small, which scanned
 * it whole on every call until the next ANALYZE (serread, issue 16). */
static db_stmt st_read = {"ser_read",
    "SELECT * FROM mt_ser_read($1::bigint, $2::bigint[], $3::bigint, $4::bigint, $5::integer, "
    "$6::integer)", 0};

/* The hot rows (id, payload) of account $1 whose samples may fall in the
 * window [$2, $3), in no order: mt_hot_read() (migration 052), planned
 * once per connection without sequential or bitmap scans. As a prepared
 * statement it kept a generic plan made while series_hot was small, which
 * scanned it whole on every call until the next ANALYZE (serread, issue
 * 16). series_read_hot() puts the rows in order of arrival itself: sorted
 * in the function, a read of every hot row of an account was sorted on
 * disk before the function's tuplestore held it again. */
static db_stmt st_read_hot = {"ser_read_hot",
    "SELECT r_id, r_payload FROM mt_hot_read($1::bigint, $2::bigint, $3::bigint)", 0};

/* The versions of what a window's reply is made from (raw_cache.h), in a
 * fifth column: a hot row's is its id (column 2: written once, never
 * changed), a day block's the xmin of its row (every write of a block is a
 * row version of another transaction). The visible ids' is the start of
 * PostgreSQL's postmaster: xids only grow within one run of a cluster, but
 * a cluster restored to an earlier point (a restart) hands out again xids
 * it had used, and a copy made before must not match a block written again
 * under one of them.
 *
 * The raw data route's reads (st_read_seen_admin and st_read_seen, with the
 * bytes) and version checks (st_vers_seen_admin and st_vers_seen, without
 * them): kind 0 the ids of channels $2 that the viewer may see, with
 * that start as their version, kind 1 the window's hot rows, kind 2 the day
 * blocks of those visible channels, each row with its version (column 5),
 * in no order (migration 053: seen_rows() and samples_from() put them in
 * order; a sort inside the function cost more than the read of an hour
 * of hot rows, rawread). All four run mt_raw_read() (049, 053) or
 * mt_raw_versions() (047, 048, 053), whose plan PostgreSQL makes once per
 * connection, without sequential or bitmap scans (issue 16). As prepared statements they were
 * planned again on most executions once series_hot had grown (0.3-0.4 ms
 * of PostgreSQL CPU each, against 0.05 ms to run; ingpg), or kept a generic
 * plan made while series_hot was small, which scanned it whole on every
 * call until the next ANALYZE (10-22 ms a call at 44-87 k hot rows,
 * against 0.1 ms; pgreads for the administrator's check, pgchecks for the
 * others). The queries and their rows are in the migrations; here, what
 * each viewer passes.
 *
 * An administrator sees every channel of the account: no groups' joins
 * (with them a raw day cost PostgreSQL about twice as much, most of it the
 * executor's start and the locks of six more relations). A read with a
 * channel not visible is refused before its samples are looked at
 * (seen_rows()). $1 account, $2 channels, $3/$4 the window [t0, t1), $5/$6
 * its first and last day. */
#define RAW_ROWS_ADMIN(FN)                                                                         \
    "SELECT * FROM " FN "($1::bigint, $2::bigint[], $3::bigint, $4::bigint, $5::integer, "         \
    "$6::integer)"
static db_stmt st_read_seen_admin = {"ser_read_seen_admin", RAW_ROWS_ADMIN("mt_raw_read"), 0};
static db_stmt st_vers_seen_admin = {"ser_vers_seen_admin", RAW_ROWS_ADMIN("mt_raw_versions"), 0};

/* A member (viewer $3) passes the function the ids of channels $2 it may
 * see (DB_CHANNELS_SEEN, evaluated once, in the same statement and
 * snapshot): the function's rows of kind 0 are then those ids, and only
 * their day blocks are read. $4/$5 the window, $6/$7 its days. No table
 * of its own: its generic plan is kept (066). */
#define RAW_ROWS_SEEN(FN)                                                                          \
    "SELECT * FROM " FN "($1::bigint, " DB_CHANNELS_SEEN ", $4::bigint, $5::bigint, "              \
    "$6::integer, $7::integer)"
static db_stmt st_read_seen = {"ser_read_seen", RAW_ROWS_SEEN("mt_raw_read"), 0};
static db_stmt st_vers_seen = {"ser_vers_seen", RAW_ROWS_SEEN("mt_raw_versions"), 0};

/* A member's rights remembered (rights_memo.h, migration 087): when every
 * channel asked for is remembered visible at version $3 of the account's
 * rights, the ids go to the function as an administrator's do, and only
 * if account_rights still holds $3 in this statement's snapshot (else no
 * row: the function is not called, and the learning form follows). Its
 * price over the administrator's statement is one index scan by key
 * (callgrind: ~20 k instructions of ~340 k, against ~210 k for
 * mt_channels_seen()). $1 account, $2 channels, $3 the version, $4/$5 the
 * window, $6/$7 its days. */
#define RAW_ROWS_KNOWN(FN)                                                                         \
    "SELECT r.* FROM account_rights x, " FN "($1::bigint, $2::bigint[], $4::bigint, $5::bigint, "  \
    "$6::integer, $7::integer) r WHERE x.account_id = $1::bigint AND x.v = $3::bigint"
static db_stmt st_read_known = {"ser_read_known", RAW_ROWS_KNOWN("mt_raw_read"), 0};
static db_stmt st_vers_known = {"ser_vers_known", RAW_ROWS_KNOWN("mt_raw_versions"), 0};

/* RAW_ROWS_SEEN with the account's rights version in a sixth column, read
 * in the same snapshot as mt_channels_seen()'s rows (0 without a row):
 * what rights_memo_put() is told for each visible id. */
#define RAW_ROWS_LEARN(FN)                                                                         \
    "SELECT r.*, k.v FROM (SELECT COALESCE((SELECT x.v FROM account_rights x "                    \
    "WHERE x.account_id = $1::bigint), 0) AS v) k, " FN "($1::bigint, " DB_CHANNELS_SEEN ", "       \
    "$4::bigint, $5::bigint, $6::integer, $7::integer) r"
static db_stmt st_read_learn = {"ser_read_learn", RAW_ROWS_LEARN("mt_raw_read"), 0};
static db_stmt st_vers_learn = {"ser_vers_learn", RAW_ROWS_LEARN("mt_raw_versions"), 0};

/* A member's channels by the rights remembered (rights_memo.h, 087; issue
 * 16, precheck): the account's rights version and the postmaster's start
 * now (no row without an account_rights row: the learning form follows).
 * When they are those every channel asked for was remembered visible at,
 * no change of rights was committed since (087's triggers move the version
 * in every such transaction), so the channels are visible now:
 * mt_channels_seen() is not run (~210 k of PostgreSQL's instructions, as
 * the raw day's known form; docs/benchmarks.md "The stamp pre-check,
 * cheaper and fewer"). */
static db_stmt st_rights_now = {"ser_rights_now",
    "SELECT x.v, (extract(epoch FROM pg_postmaster_start_time()) * 1000000)::bigint "
    "FROM account_rights x WHERE x.account_id = $1::bigint", 0};

/* The visible ids of DB_CHANNELS_SEEN with the rights version and the
 * start of the same snapshot (0 without an account_rights row): what
 * rights_memo_put() is told for each. */
static db_stmt st_visible_learn = {"ser_visible_learn",
    "SELECT s.id, k.v, (extract(epoch FROM pg_postmaster_start_time()) * 1000000)::bigint "
    "FROM (SELECT COALESCE((SELECT x.v FROM account_rights x WHERE x.account_id = $1::bigint), "
    "0) AS v) k, unnest(" DB_CHANNELS_SEEN ") s(id)", 0};

db_status series_channels_visible(db_conn *c, long long account_id, long long viewer,
                                  const int64_t *ch, size_t n_ch, int64_t **out, size_t *n_out)
{
    char a[24], v[24];
    const char *p[3];
    PGresult *res = NULL;
    int64_t known = 0, start = 0;
    char *arr;
    db_status st;
    if (viewer <= 0 || n_ch == 0 || !rights_memo_on()) {
        return db_channels_visible(c, account_id, viewer, ch, n_ch, out, n_out);
    }
    *out = NULL;
    *n_out = 0;
    p[0] = db_ll(account_id, a);
    if (rights_memo_known(account_id, viewer, ch, n_ch, &known, &start)) {
        bool same;
        if ((st = db_exec(c, &st_rights_now, 1, p, &res)) != DB_OK) {
            return st;
        }
        same = PQntuples(res) == 1 && strtoll(PQgetvalue(res, 0, 0), NULL, 10) == known &&
               strtoll(PQgetvalue(res, 0, 1), NULL, 10) == start;
        PQclear(res);
        res = NULL;
        if (same) {
            if ((*out = malloc(n_ch * sizeof **out)) == NULL) {
                return DB_ERROR;
            }
            memcpy(*out, ch, n_ch * sizeof **out);
            *n_out = n_ch;
            return DB_OK;
        }
    }
    if ((arr = db_id_array(ch, n_ch)) == NULL) {
        return DB_ERROR;
    }
    p[1] = arr;
    p[2] = db_ll(viewer, v);
    st = db_exec(c, &st_visible_learn, 3, p, &res);
    free(arr);
    if (st != DB_OK) {
        return st;
    }
    if ((*out = malloc(((size_t)PQntuples(res) + 1) * sizeof **out)) == NULL) {
        PQclear(res);
        return DB_ERROR;
    }
    for (int r = 0; r < PQntuples(res); r++) {
        int64_t id = strtoll(PQgetvalue(res, r, 0), NULL, 10);
        (*out)[r] = id;
        rights_memo_put(account_id, viewer, id, strtoll(PQgetvalue(res, r, 1), NULL, 10),
                        strtoll(PQgetvalue(res, r, 2), NULL, 10));
    }
    *n_out = (size_t)PQntuples(res);
    PQclear(res);
    return DB_OK;
}

static size_t index_of(const int64_t *ch, size_t n_ch, int64_t id)
{
    for (size_t i = 0; i < n_ch; i++) {
        if (ch[i] == id) {
            return i;
        }
    }
    return n_ch;
}

static db_status read_range(db_conn *c, db_stmt *stmt, long long account_id, const int64_t *ch,
                            size_t n_ch, int64_t t0, int64_t t1, PGresult **res)
{
    char a[24], d0[24], d1[24];
    char *chs = db_id_array(ch, n_ch);
    const char *p[4];
    int formats[4] = {0, 0, 0, 0};
    db_status st;
    if (chs == NULL) {
        return DB_ERROR;
    }
    p[0] = db_ll(account_id, a);
    p[1] = chs;
    p[2] = db_ll(series_day_of(t0), d0);
    p[3] = db_ll(series_day_of(t1 - 1), d1);
    st = db_exec_bin(c, stmt, 4, p, NULL, formats, 1, res);
    free(chs);
    return st;
}

/* Stable sort of a column by time (insertion into place: hot samples are
 * few and nearly sorted). Equal times keep their order. */
static void sort_col(series_col *c)
{
    for (size_t i = 1; i < c->n; i++) {
        int64_t t = c->t[i];
        double v = c->v[i];
        size_t j = i;
        while (j > 0 && c->t[j - 1] > t) {
            c->t[j] = c->t[j - 1];
            c->v[j] = c->v[j - 1];
            j--;
        }
        c->t[j] = t;
        c->v[j] = v;
    }
}

/* Append to out[i] the samples of channel ch[i] in [t0, t1) of hot rows
 * r0..r1 of "res" (their payload in column "col", in order of arrival):
 * 0, or -1 without memory. */
static int hot_from_rows(PGresult *res, int r0, int r1, int col, const int64_t *ch, size_t n_ch,
                         int64_t t0, int64_t t1, series_col *out)
{
    for (int r = r0; r < r1; r++) {
        const unsigned char *pl = (const unsigned char *)PQgetvalue(res, r, col);
        size_t n = (size_t)PQgetlength(res, r, col) / 24;
        for (size_t k = 0; k < n; k++) {
            ingest_rec rec;
            size_t i;
            db_rec_get(pl + 24 * k, &rec);
            if (rec.t < t0 || rec.t >= t1 || (i = index_of(ch, n_ch, rec.ch)) == n_ch) {
                continue;
            }
            if (series_col_push(&out[i], rec.t, rec.v) != 0) {
                return -1;
            }
        }
    }
    return 0;
}

/* Put each of the "n_ch" columns of hot samples in time order, one sample
 * per time: at equal times the later arrival (later in the column) wins. */
static void hot_settle(series_col *out, size_t n_ch)
{
    for (size_t i = 0; i < n_ch; i++) {
        series_col *col = &out[i];
        size_t w = 0;
        sort_col(col);
        for (size_t k = 0; k < col->n; k++) {
            if (w > 0 && col->t[w - 1] == col->t[k]) {
                col->v[w - 1] = col->v[k];
            } else {
                col->t[w] = col->t[k];
                col->v[w] = col->v[k];
                w++;
            }
        }
        col->n = w;
    }
}

/* "id" first: cmp_i64() orders and finds id_pos entries by it. */
typedef struct {
    int64_t id;
    size_t pos;
} id_pos;

/* Sort "a" (n entries) by id: by insertion when short (a monitor's channels
 * come mostly in order: then it only compares; qsort() of 32 channels was
 * a tenth of the monitor's instructions, issue 16), else by qsort(). */
static void sort_id_pos(id_pos *a, size_t n)
{
    if (n > 64) {
        qsort(a, n, sizeof *a, cmp_i64);
        return;
    }
    for (size_t k = 1; k < n; k++) {
        id_pos x = a[k];
        size_t j = k;
        while (j > 0 && a[j - 1].id > x.id) {
            a[j] = a[j - 1];
            j--;
        }
        a[j] = x;
    }
}

db_status series_read_hot(db_conn *c, long long account_id, const int64_t *ch, size_t n_ch,
                          int64_t t0, int64_t t1, series_col *out)
{
    char a[24], s0[24], s1[24];
    const char *p[] = {db_ll(account_id, a), db_ll(t0, s0), db_ll(t1, s1)};
    int formats[3] = {0, 0, 0};
    PGresult *res = NULL;
    db_status st = db_exec_bin(c, &st_read_hot, 3, p, NULL, formats, 1, &res);
    int rows, fail = 0;
    id_pos *order = NULL;
    memset(out, 0, n_ch * sizeof *out);
    if (st != DB_OK) {
        return st;
    }
    /* The rows in order of arrival (their id, column 0): at equal times
     * the later arrival's sample wins (hot_settle()). */
    rows = PQntuples(res);
    if (rows > 0 && (order = malloc((size_t)rows * sizeof *order)) == NULL) {
        fail = 1;
    }
    for (int r = 0; r < rows && !fail; r++) {
        order[r].id = series_be64(PQgetvalue(res, r, 0));
        order[r].pos = (size_t)r;
    }
    if (!fail) {
        sort_id_pos(order, (size_t)rows);
    }
    for (int k = 0; k < rows && !fail; k++) {
        int r = (int)order[k].pos;
        fail = hot_from_rows(res, r, r + 1, 1, ch, n_ch, t0, t1, out) != 0;
    }
    free(order);
    PQclear(res);
    if (fail) {
        for (size_t i = 0; i < n_ch; i++) {
            series_col_free(&out[i]);
        }
        return DB_ERROR;
    }
    hot_settle(out, n_ch);
    return DB_OK;
}

/* The first page of a newest-sample read (rows) when no earlier read of the
 * same channels tells how many it takes; later pages are 4 times larger
 * than the one before, up to 1,024. */
#define HOT_NEWEST_FIRST_PAGE 16
#define HOT_NEWEST_MAX_PAGE 1024

/* Newest first by t_max (the index series_hot_account_newest), a page at a time:
 * rows strictly before the cursor (t_max, id), none older than $2
 * (mt_hot_newest(), migration 040: planned once per connection, by an index
 * scan whatever the statistics were when it was planned). */
static db_stmt st_read_hot_newest = {"ser_read_hot_newest",
    "SELECT id, t_max, payload FROM mt_hot_newest($1, $2, $3, $4, $5)", 0};

static int64_t get_be64(const char *p)
{
    uint64_t u = 0;
    for (int k = 0; k < 8; k++) {
        u = (u << 8) | (unsigned char)p[k];
    }
    return (int64_t)u;
}

/* A read of the newest hot sample of each channel (series_read_hot_latest(),
 * series_read_monitor()): the channels sorted by id, and the cursor of the
 * pages read so far. */
typedef struct {
    const int64_t *since;
    bool *has;
    int64_t *t;
    double *v;
    size_t n_ch;
    id_pos *idx;
    int64_t *from_row;    /* the hot row id of each channel's sample */
    int64_t cur_t, cur_id; /* the oldest (t_max, id) taken in so far */
    long long page;       /* how many rows the next page asks */
    bool done;            /* no row after the cursor can change the answer */
    long long used;       /* rows taken in (newest first) until it was done */
} hot_newest;

static int hn_begin(hot_newest *h, const int64_t *ch, size_t n_ch, const int64_t *since,
                    bool *has, int64_t *t, double *v)
{
    memset(h, 0, sizeof *h);
    h->since = since;
    h->has = has;
    h->t = t;
    h->v = v;
    h->n_ch = n_ch;
    h->cur_t = INT64_MAX;
    h->cur_id = INT64_MAX;
    h->page = HOT_NEWEST_FIRST_PAGE;
    for (size_t i = 0; i < n_ch; i++) {
        has[i] = false;
    }
    if (n_ch == 0) {
        return 0;
    }
    h->idx = malloc(n_ch * sizeof *h->idx);
    h->from_row = calloc(n_ch, sizeof *h->from_row);
    if (h->idx == NULL || h->from_row == NULL) {
        free(h->idx);
        free(h->from_row);
        h->idx = NULL;
        h->from_row = NULL;
        return -1;
    }
    for (size_t i = 0; i < n_ch; i++) {
        h->idx[i].id = ch[i];
        h->idx[i].pos = i;
    }
    sort_id_pos(h->idx, n_ch);
    return 0;
}

static void hn_end(hot_newest *h)
{
    free(h->idx);
    free(h->from_row);
    h->idx = NULL;
    h->from_row = NULL;
}

/* The position of channel "id" in the caller's list, or n_ch. */
static size_t hn_pos(const hot_newest *h, int64_t id)
{
    id_pos key, *hit;
    if (h->n_ch == 0) {
        return 0;
    }
    key.id = id;
    hit = bsearch(&key, h->idx, h->n_ch, sizeof *h->idx, cmp_i64);
    return hit != NULL ? hit->pos : h->n_ch;
}

/* Whether no hot row after the cursor (older by (t_max, id)) can change
 * any channel's answer: such a row holds samples at or before cur_t, and at
 * cur_t only rows of lower ids (earlier arrivals, which lose at an equal
 * time to the row that gave the channel its sample when that row's id is
 * at least the cursor's). */
static bool hn_settled(const hot_newest *h)
{
    for (size_t i = 0; i < h->n_ch; i++) {
        if (h->has[i] ? (h->t[i] < h->cur_t ||
                         (h->t[i] == h->cur_t && h->from_row[i] < h->cur_id))
                      : h->since[i] <= h->cur_t) {
            return false;
        }
    }
    return true;
}

/* Take in hot row "row_id" (t_max "t_max", "n" records at "pl"), the next
 * one newest first by (t_max, id); nothing once the answer is settled (the
 * rest of the page is not decoded). */
static void hn_row(hot_newest *h, int64_t row_id, int64_t t_max, const unsigned char *pl, size_t n)
{
    if (h->done) {
        return;
    }
    h->cur_t = t_max;
    h->cur_id = row_id;
    h->used++;
    for (size_t k = 0; k < n; k++) {
        ingest_rec rec;
        size_t i;
        db_rec_get(pl + 24 * k, &rec);
        i = hn_pos(h, rec.ch);
        if (i == h->n_ch || rec.t < h->since[i]) {
            continue;
        }
        /* A later arrival (higher row id, or later in the same row) wins
         * at an equal time. */
        if (!h->has[i] || rec.t > h->t[i] || (rec.t == h->t[i] && row_id >= h->from_row[i])) {
            h->has[i] = true;
            h->t[i] = rec.t;
            h->v[i] = rec.v;
            h->from_row[i] = row_id;
        }
    }
    h->done = hn_settled(h);
}

/* Result rows r0..r0+n of "res" (columns: row id, t_max, payload at
 * c_id, c_id + 1, c_pl) taken in newest first by (t_max, id), whatever
 * order PostgreSQL sent them in. Returns 0, or -1 when out of memory. */
typedef struct {
    int64_t t_max, id;
    int row;
} hot_key;

static int cmp_hot_key_newest(const void *a, const void *b)
{
    const hot_key *x = a, *y = b;
    if (x->t_max != y->t_max) {
        return x->t_max < y->t_max ? 1 : -1;
    }
    return (x->id < y->id) - (x->id > y->id);
}

static int hn_rows(hot_newest *h, const PGresult *res, const int *rows, size_t n, int c_id,
                   int c_pl)
{
    hot_key *k;
    if (n == 0) {
        return 0;
    }
    if ((k = malloc(n * sizeof *k)) == NULL) {
        return -1;
    }
    for (size_t j = 0; j < n; j++) {
        k[j].row = rows[j];
        k[j].id = get_be64(PQgetvalue(res, rows[j], c_id));
        k[j].t_max = get_be64(PQgetvalue(res, rows[j], c_id + 1));
    }
    qsort(k, n, sizeof *k, cmp_hot_key_newest);
    for (size_t j = 0; j < n && !h->done; j++) {
        hn_row(h, k[j].id, k[j].t_max, (const unsigned char *)PQgetvalue(res, k[j].row, c_pl),
               (size_t)PQgetlength(res, k[j].row, c_pl) / 24);
    }
    free(k);
    return 0;
}

/* Read the pages after the cursor, newest first, until no older row can
 * hold a newer sample of any channel. */
static db_status hn_pages(db_conn *c, long long account_id, hot_newest *h)
{
    if (h->n_ch == 0) {
        return DB_OK;
    }
    for (;;) {
        /* The oldest time still of interest: below it no row can change
         * any channel's answer. */
        int64_t need = INT64_MAX;
        char a[24], s_need[24], s_t[24], s_id[24], s_n[24];
        const char *p[5];
        int formats[5] = {0, 0, 0, 0, 0};
        PGresult *res = NULL;
        int rows, *idx;
        db_status st;
        if (h->done || (h->used > 0 && hn_settled(h))) {
            h->done = true;
            return DB_OK;
        }
        for (size_t i = 0; i < h->n_ch; i++) {
            int64_t n_i = h->has[i] ? h->t[i] : h->since[i];
            need = n_i < need ? n_i : need;
        }
        p[0] = db_ll(account_id, a);
        p[1] = db_ll(need, s_need);
        p[2] = db_ll(h->cur_t, s_t);
        p[3] = db_ll(h->cur_id, s_id);
        p[4] = db_ll(h->page, s_n);
        if ((st = db_exec_bin(c, &st_read_hot_newest, 5, p, NULL, formats, 1, &res)) != DB_OK) {
            return st;
        }
        rows = PQntuples(res);
        if ((idx = malloc(((size_t)rows + 1) * sizeof *idx)) == NULL) {
            PQclear(res);
            return DB_ERROR;
        }
        for (int r = 0; r < rows; r++) {
            idx[r] = r;
        }
        if (hn_rows(h, res, idx, (size_t)rows, 0, 2) != 0) {
            free(idx);
            PQclear(res);
            return DB_ERROR;
        }
        free(idx);
        PQclear(res);
        if (rows < h->page) {
            return DB_OK; /* every row of interest was read */
        }
        h->page = h->page < HOT_NEWEST_MAX_PAGE / 4 ? h->page * 4 : HOT_NEWEST_MAX_PAGE;
    }
}

db_status series_read_hot_latest(db_conn *c, long long account_id, const int64_t *ch,
                                 size_t n_ch, const int64_t *since, bool *has, int64_t *t,
                                 double *v)
{
    hot_newest h;
    db_status st;
    if (hn_begin(&h, ch, n_ch, since, has, t, v) != 0) {
        return DB_ERROR;
    }
    st = hn_pages(c, account_id, &h);
    hn_end(&h);
    return st;
}

/* What changes on every request of a group's monitor, in one round trip
 * (issue 16): the apps' connection state and last contact, the channels'
 * rows of channel_latest, and the first page of the account's newest hot
 * rows as series_read_hot_latest() reads its pages, through
 * mt_monitor_hot() (migration 046, planned as mt_hot_newest() of 040: once
 * per connection, by an index scan backward that stops after the page,
 * whatever the statistics were when it was planned). Binary both ways.
 *
 * Until 068 a plain statement, not a plpgsql function (040, 043: measured
 * with callgrind on the backend, 32 channels, per execution: 040's
 * mt_monitor_live() 488 k instructions, 043's one row of arrays 452 k,
 * this 321 k; a plpgsql function's SPI call and the rows it stores and the
 * outer query reads again cost 66-122 k, array_agg() and array_send() more
 * than the rows). It was thought that apps and channel_latest grew too
 * slowly to need a function's kept plan, as the hot table (which a burst
 * of batches grows from nothing in seconds) does; but with many tenants
 * the plain statement was planned anew on every call, which cost more
 * than the function's SPI call (below). The first page is bounded by the channels' oldest
 * channel_latest time (every row when one of them has none), read once
 * (the CTE): without that bound the read cost about 90 k instructions
 * less, but right after the compactor emptied the hot table its index
 * scan walked every dead entry of the account until VACUUM (measured: 1.5
 * ms and 2,364 buffers per request after 221 k hot rows were folded,
 * against 0.04 ms with the bound). A row older than every channel's
 * channel_latest row still settles the read (hn_settled()).
 * A channel with neither a channel_latest nor a channel_sent row (one that
 * never sent data, e.g. a logger's spare input; migration 046) has no hot
 * sample either: mt_monitor_hot() (046) leaves it out of the bound (the
 * others' oldest time; no hot row at all when none has a channel_latest
 * row) and sends it as a row of its id and NULLs, so that it waits for no
 * hot row here either (monitor_rows()). Without that, one such channel
 * made the bound -infinity and every request walked the account's hot
 * rows. The function looks channels up only when the statement gives it
 * no bound (a channel without a channel_latest row): the everyday read is
 * one query in it, as in mt_hot_newest() (measured in 046).
 * The apps' rows come from app_seen (migration 064: an app's connection
 * state and last contact, one row per app from its creation, gone with it),
 * by its key (account_id, app_id).
 * A row's kind is told by its NULLs (an app's "connected" is never NULL, a
 * hot row's payload neither), and an ordinary value's special 0 comes as
 * NULL: each value PostgreSQL sends costs about 270 instructions (24 k of
 * the 321 k of 32 channels for these 65). */
/* The most channels whose ids series_read_monitor() checks for a run. */
#define MONITOR_RUN_MAX 1024

/* The statement is mt_monitor_read() of migration 068, the read above in
 * a plpgsql function with its generic plan forced and sequential and
 * bitmap scans off: prepared here as a plain statement with the tables in
 * it, its generic plan (10 apps and 0.5 % of channel_latest counted for
 * parameters it cannot see) was estimated dearer than a custom plan once
 * the service had many tenants, and PostgreSQL planned it anew on every
 * call (issue 16; docs/benchmarks.md, "monscale": 5,000 tenants, 200 µs
 * against 72 µs of PostgreSQL CPU a call). When the group's channel ids
 * are a run without gaps, $5 to $6 (a device's channels, made together:
 * the usual group), channel_latest is read as one range of its key
 * ("= ANY" of 32 ids is 32 descents of the index, about 40 % of
 * PostgreSQL's CPU for the read; measured in docs/benchmarks.md,
 * "mixgap"); else $5 and $6 are NULL and the ids are looked up one by
 * one. The range holds exactly the ids of $3. Since migration 084 the
 * function reads a range's hot rows in its own statement when every
 * channel has a channel_latest row (their oldest time taken first), not
 * through a call of mt_monitor_hot(): the same rows, 10 % fewer of
 * PostgreSQL's instructions per read (docs/benchmarks.md, "The monitor's
 * read in the mix"). */
static db_stmt st_monitor_read = {"ser_monitor_read",
    "SELECT * FROM mt_monitor_read($1::bigint, $2::bigint[], $3::bigint[], $4::integer, "
    "$5::bigint, $6::bigint)", 0};

/* The account's change stamp (series_stamp, migration 086) as rows of the
 * monitor's columns: a tag (< 0: no app or channel id is) as the id, the
 * row's xmin as t, its count as v; the account_changes row (0 and -1 when
 * there is none) and the postmaster's start (as last_seen_at) in one row,
 * always there (a branch of the UNION ALL each cost 40-55 k more of
 * PostgreSQL's instructions, docs/benchmarks.md, stamp); the version of
 * the account's rights (087, account_rights.v as t) when it has one. */
#define MONITOR_STAMP_ROWS                                                                        \
    "SELECT -1 - k.shard::bigint, k.xmin::text::bigint, NULL::boolean, NULL::timestamptz, "      \
    "  k.n::float8, NULL::smallint, NULL::bytea FROM series_hot_count k WHERE k.account_id = $1 " \
    "UNION ALL SELECT -100, COALESCE(c.xmin::text::bigint, 0), NULL, pg_postmaster_start_time(), " \
    "  COALESCE(c.v, -1)::float8, NULL, NULL "                                                   \
    "  FROM (SELECT 1) o LEFT JOIN account_changes c ON c.account_id = $1 "                      \
    "UNION ALL SELECT -102, r.v, NULL, NULL, 0, NULL, NULL "                                     \
    "  FROM account_rights r WHERE r.account_id = $1"

/* The read with the account's change stamp in the same statement: one
 * snapshot (mt_monitor_read() is STABLE: its statements read with the
 * calling statement's), so the values are those of the stamp (issue 16,
 * stamp). */
static db_stmt st_monitor_read_stamped = {"ser_monitor_read_stamped",
    "SELECT * FROM mt_monitor_read($1::bigint, $2::bigint[], $3::bigint[], $4::integer, "
    "$5::bigint, $6::bigint) UNION ALL " MONITOR_STAMP_ROWS, 0};

/* The stamp alone: the pre-check of kept values (base/monitor_cache.h),
 * the same rows as MONITOR_STAMP_ROWS gives in a form of its own (issue
 * 16, precheck; PostgreSQL's instructions in docs/benchmarks.md "The stamp
 * pre-check, cheaper and fewer"): the counter rows as they are stored
 * (shard, xmin as a binary xid, count: no xid to text to bigint nor bigint
 * to float8 a row, no columns of NULLs), then one row that is always there
 * (shard NULL) of the account_changes row (xmin and v, NULL without one)
 * and the version of the rights (NULL without one), joined: two arms of
 * the UNION ALL instead of three. 202-205 k -> 137-139 k of PostgreSQL's
 * instructions a call (tests/bench/monitor_stamp_callgrind.mjs; a plpgsql
 * function of it 34 k more, a LANGUAGE sql one is inlined: the same).
 * Sound as MONITOR_STAMP_ROWS:
 * one statement, one snapshot taken after the request came; the same
 * xmins and counts, so a stamp of either form compares equal to the
 * other's of the same rows.
 *
 * The postmaster's start (the stamp's guard against a cluster restored to
 * an earlier point, whose xids repeat) is read by the first pre-check on a
 * connection (st_monitor_stamp_start) and then taken from the connection
 * (db_conn_start()): a connection is a backend of one postmaster for its
 * life, a restart ends it and the next one reads the start again; 4-20 k
 * instructions a pre-check less. */
static db_stmt st_monitor_stamp = {"ser_monitor_stamp_pre",
    "SELECT k.shard, k.xmin, k.n, NULL::bigint FROM series_hot_count k WHERE k.account_id = $1 "
    "UNION ALL SELECT NULL, c.xmin, c.v, r.v FROM (SELECT 1) o "
    "LEFT JOIN account_changes c ON c.account_id = $1 "
    "LEFT JOIN account_rights r ON r.account_id = $1", 0};
/* The first on a connection: the start as the one row's fifth column. */
static db_stmt st_monitor_stamp_start = {"ser_monitor_stamp_pre_start",
    "SELECT k.shard, k.xmin, k.n, NULL::bigint, NULL::timestamptz FROM series_hot_count k "
    "WHERE k.account_id = $1 "
    "UNION ALL SELECT NULL, c.xmin, c.v, r.v, pg_postmaster_start_time() FROM (SELECT 1) o "
    "LEFT JOIN account_changes c ON c.account_id = $1 "
    "LEFT JOIN account_rights r ON r.account_id = $1", 0};

/* Whether the "n" ids "ch" are each of lo..hi once (*lo, *hi), in any
 * order: a run of ids without gaps or repeats. */
static bool id_run(const int64_t *ch, size_t n, int64_t *lo, int64_t *hi)
{
    uint64_t seen[(MONITOR_RUN_MAX + 63) / 64] = {0};
    int64_t a, b;
    if (n == 0 || n > MONITOR_RUN_MAX) {
        return false;
    }
    a = b = ch[0];
    for (size_t i = 1; i < n; i++) {
        a = ch[i] < a ? ch[i] : a;
        b = ch[i] > b ? ch[i] : b;
    }
    if ((uint64_t)b - (uint64_t)a != n - 1) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        uint64_t k = (uint64_t)ch[i] - (uint64_t)a;
        if (seen[k / 64] & (UINT64_C(1) << (k % 64))) {
            return false; /* a repeat: some id of the range is missing */
        }
        seen[k / 64] |= UINT64_C(1) << (k % 64);
    }
    *lo = a;
    *hi = b;
    return true;
}

/* PostgreSQL's type oid of bigint (the parameters' arrays). */
enum { OID_INT8 = 20 };

/* PostgreSQL's binary timestamptz (µs since 2000-01-01 UTC) in µs since
 * the Unix epoch; false for ±infinity. */
static bool pg_time_us(const unsigned char *p, int64_t *us)
{
    int64_t v = get_be64((const char *)p);
    if (v == INT64_MAX || v == INT64_MIN) {
        return false;
    }
    *us = v + INT64_C(946684800000000);
    return true;
}

static double get_f64(const unsigned char *p)
{
    uint64_t u = (uint64_t)get_be64((const char *)p);
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

static void put_be32(unsigned char *p, uint32_t u)
{
    p[0] = (unsigned char)(u >> 24);
    p[1] = (unsigned char)(u >> 16);
    p[2] = (unsigned char)(u >> 8);
    p[3] = (unsigned char)u;
}

static void put_be64(unsigned char *p, int64_t v)
{
    put_be32(p, (uint32_t)((uint64_t)v >> 32));
    put_be32(p + 4, (uint32_t)v);
}

/* The head of the binary value of a bigint[] of "n" elements (array_send())
 * into "out"; returns its length (the elements follow, 12 bytes each:
 * id_array_put()). */
static size_t id_array_head(unsigned char *out, size_t n)
{
    put_be32(out, n > 0 ? 1 : 0); /* dimensions */
    put_be32(out + 4, 0);         /* no NULLs */
    put_be32(out + 8, OID_INT8);
    if (n == 0) {
        return 12;
    }
    put_be32(out + 12, (uint32_t)n);
    put_be32(out + 16, 1); /* lower bound */
    return 20;
}

static void id_array_put(unsigned char *out, int64_t id)
{
    put_be32(out, 8);
    put_be64(out + 4, id);
}

/* How many newest hot rows the last monitor read of the same channels took
 * (issue 16): the next read asks that many in its first page instead of
 * 16 (a gateway's batch holds every channel of its device: one row is
 * usually enough, 15 rows of 24-byte records less per request to send and
 * receive). A hint only: a read that needs more reads more pages. Slots of
 * 48 bits of the key's hash and 16 bits of rows; a collision costs at
 * most a page. */
#define MONITOR_HINT_SLOTS 256
static _Atomic uint64_t g_monitor_hint[MONITOR_HINT_SLOTS];

static uint64_t monitor_key(long long account_id, const int64_t *ch, size_t n_ch)
{
    uint64_t x = 14695981039346656037u ^ (uint64_t)account_id;
    x *= 1099511628211u;
    for (size_t i = 0; i < n_ch; i++) {
        x ^= (uint64_t)ch[i];
        x *= 1099511628211u;
    }
    return x ^ (x >> 29);
}

static long long monitor_hint_get(uint64_t key)
{
    uint64_t v = atomic_load_explicit(&g_monitor_hint[key % MONITOR_HINT_SLOTS],
                                      memory_order_relaxed);
    if (v != 0 && (v >> 16) == (key >> 16)) {
        return (long long)(v & 0xFFFF);
    }
    return HOT_NEWEST_FIRST_PAGE;
}

static void monitor_hint_put(uint64_t key, long long rows)
{
    uint64_t r = rows < 1 ? 1 : rows > HOT_NEWEST_MAX_PAGE ? HOT_NEWEST_MAX_PAGE : (uint64_t)rows;
    atomic_store_explicit(&g_monitor_hint[key % MONITOR_HINT_SLOTS], ((key >> 16) << 16) | r,
                          memory_order_relaxed);
}

/* A hot row of the answer. */
typedef struct {
    int64_t t_max, id;
    const unsigned char *payload;
    size_t n; /* records */
} hot_ref;

/* Row "r" of "res" (its tag "tag"), a row of MONITOR_STAMP_ROWS, into
 * "stamp" (the tag SERIES_STAMP_CHANGES row gives the postmaster's start as
 * a row of its own, SERIES_STAMP_START); stamp->ok false past
 * SERIES_STAMP_MAX rows. Returns 0, or -1 when it is not such a row. */
static int stamp_row(series_stamp *stamp, const PGresult *res, int r, int64_t tag)
{
    series_stamp_row *x;
    if (PQgetisnull(res, r, 1) || PQgetisnull(res, r, 4) ||
        (tag == SERIES_STAMP_CHANGES && PQgetisnull(res, r, 3))) {
        return -1;
    }
    if (stamp->n + 2 > SERIES_STAMP_MAX) {
        stamp->ok = false;
        return 0;
    }
    x = &stamp->row[stamp->n++];
    x->tag = tag;
    x->x = get_be64(PQgetvalue(res, r, 1));
    x->v = (int64_t)get_f64((const unsigned char *)PQgetvalue(res, r, 4));
    if (tag == SERIES_STAMP_CHANGES) {
        x = &stamp->row[stamp->n++];
        x->tag = SERIES_STAMP_START;
        /* µs since the Unix epoch, as extract(epoch ...) * 1000000 gives it
         * (db_group_visible_v() reads it so for the rights it remembers). */
        x->x = get_be64(PQgetvalue(res, r, 3)) + INT64_C(946684800000000);
        x->v = 0;
    }
    return 0;
}

/* The rows of the answer "res": the apps into apps[0..n_apps) (found by id:
 * "idx", their ids sorted), the channel_latest rows into out[] and since[]
 * of the channels ch[0..n_ch) (measured ones found through "h", computed
 * ones ch[n_measured..) by a search), a channel without a stored sample as
 * since[] INT64_MAX, the hot rows into hot[] (*n_hot of them: room for
 * every row). Returns 0, or -1 when a row is not as the statement writes
 * it. */
static int monitor_rows(const PGresult *res, series_monitor_app *apps, size_t n_apps,
                        const id_pos *idx, const hot_newest *h, const int64_t *ch, size_t n_ch,
                        size_t n_measured, series_monitor_value *out, int64_t *since,
                        hot_ref *hot, size_t *n_hot, series_stamp *stamp)
{
    int rows = PQntuples(res);
    size_t k_ch = 0;
    *n_hot = 0;
    for (int r = 0; r < rows; r++) {
        int64_t id;
        if (PQgetisnull(res, r, 0)) {
            return -1;
        }
        id = get_be64(PQgetvalue(res, r, 0));
        if (id < 0) { /* a row of the stamp (MONITOR_STAMP_ROWS) */
            if (stamp == NULL || stamp_row(stamp, res, r, id) != 0) {
                return -1;
            }
            continue;
        }
        if (!PQgetisnull(res, r, 2)) { /* an app */
            size_t i = n_apps;
            if (n_apps > 0) {
                id_pos key, *hit;
                key.id = id;
                hit = bsearch(&key, idx, n_apps, sizeof *idx, cmp_i64);
                i = hit != NULL ? hit->pos : n_apps;
            }
            if (i < n_apps) {
                series_monitor_app *m = &apps[i];
                m->found = true;
                m->connected = PQgetvalue(res, r, 2)[0] != 0;
                m->seen = !PQgetisnull(res, r, 3) &&
                          pg_time_us((const unsigned char *)PQgetvalue(res, r, 3), &m->seen_us);
            }
        } else if (PQgetisnull(res, r, 6) && PQgetisnull(res, r, 1)) {
            /* A channel without a stored sample (mt_monitor_hot()): no hot
             * row holds one of its samples, so none counts or is waited for
             * (hn_pages(), hn_settled()). */
            for (size_t i = 0; i < n_ch; i++) {
                if (ch[i] == id) {
                    since[i] = INT64_MAX;
                }
            }
        } else if (PQgetisnull(res, r, 6)) { /* a channel_latest row */
            size_t i;
            /* The rows mostly come in the channels' order. */
            if (k_ch < n_measured && ch[k_ch] == id) {
                i = k_ch;
            } else {
                i = hn_pos(h, id);
                while (i >= n_measured && i < n_ch && ch[i] != id) {
                    i++; /* not measured: one of the computed channels */
                }
            }
            k_ch++;
            if (i < n_ch) {
                const unsigned char *sp = (const unsigned char *)PQgetvalue(res, r, 5);
                series_monitor_value *o = &out[i];
                o->latest = true;
                o->latest_t = get_be64(PQgetvalue(res, r, 1));
                o->latest_special = PQgetisnull(res, r, 5) ? 0 : (sp[0] << 8) | sp[1];
                o->latest_v = PQgetisnull(res, r, 4)
                                  ? 0
                                  : get_f64((const unsigned char *)PQgetvalue(res, r, 4));
                since[i] = o->latest_t; /* a hot sample counts from here on */
            }
        } else { /* a hot row */
            hot_ref *x = &hot[(*n_hot)++];
            if (PQgetisnull(res, r, 1)) {
                return -1;
            }
            x->id = id;
            x->t_max = get_be64(PQgetvalue(res, r, 1));
            x->payload = (const unsigned char *)PQgetvalue(res, r, 6);
            x->n = (size_t)PQgetlength(res, r, 6) / 24;
        }
    }
    return 0;
}

/* The hot rows hot[0..n) taken in newest first by (t_max, id), until the
 * answer is settled (after the apps and channel_latest: they bound which
 * hot samples count). */
static void monitor_hot(hot_newest *h, hot_ref *hot, size_t n)
{
    /* Newest first, whatever order they came in (they come newest first:
     * then this only compares). */
    for (size_t k = 1; k < n; k++) {
        hot_ref x = hot[k];
        size_t j = k;
        while (j > 0 && (hot[j - 1].t_max < x.t_max ||
                         (hot[j - 1].t_max == x.t_max && hot[j - 1].id < x.id))) {
            hot[j] = hot[j - 1];
            j--;
        }
        hot[j] = x;
    }
    for (size_t k = 0; k < n && !h->done; k++) {
        hn_row(h, hot[k].id, hot[k].t_max, hot[k].payload, hot[k].n);
    }
}

/* Sort the rows of "s" by tag (insertion: at most SERIES_STAMP_MAX rows,
 * mostly in order already). */
static void stamp_sort(series_stamp *s)
{
    for (size_t k = 1; k < s->n; k++) {
        series_stamp_row x = s->row[k];
        size_t j = k;
        while (j > 0 && s->row[j - 1].tag > x.tag) {
            s->row[j] = s->row[j - 1];
            j--;
        }
        s->row[j] = x;
    }
}

const void *series_stamp_bytes(const series_stamp *s, size_t *len)
{
    *len = s->n * sizeof s->row[0];
    return s->row;
}

/* A row of the pre-check's binary xid column "col" of "res" as the stamp's x
 * (the xid's 32 bits, as xmin::text::bigint gives them). */
static int64_t xid_at(const PGresult *res, int r, int col)
{
    const unsigned char *p = (const unsigned char *)PQgetvalue(res, r, col);
    return (int64_t)(((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) |
                     (uint32_t)p[3]);
}

/* The rows of a pre-check "res" (st_monitor_stamp or, "with_start",
 * st_monitor_stamp_start) into "stamp", as stamp_row() makes them of
 * MONITOR_STAMP_ROWS; the start given ("start_us") or, with_start, read
 * (*start_us). Returns 0, or -1 when a row is not as the statement writes
 * it. */
static int stamp_pre_rows(series_stamp *stamp, const PGresult *res, bool with_start,
                          int64_t *start_us)
{
    int rows = PQntuples(res), ones = 0;
    if (PQnfields(res) != (with_start ? 5 : 4) || PQfsize(res, 0) != 2 ||
        PQfsize(res, 1) != 4 || PQfsize(res, 2) != 8 || PQfsize(res, 3) != 8 ||
        (with_start && PQfsize(res, 4) != 8)) {
        return -1;
    }
    for (int r = 0; r < rows; r++) {
        series_stamp_row *x;
        if (stamp->n + 3 > SERIES_STAMP_MAX) {
            stamp->ok = false;
            return 0;
        }
        x = &stamp->row[stamp->n++];
        if (!PQgetisnull(res, r, 0)) { /* a counter row */
            const unsigned char *sh = (const unsigned char *)PQgetvalue(res, r, 0);
            if (PQgetisnull(res, r, 1) || PQgetisnull(res, r, 2)) {
                return -1;
            }
            x->tag = -1 - (int64_t)(int16_t)((sh[0] << 8) | sh[1]);
            x->x = xid_at(res, r, 1);
            x->v = get_be64(PQgetvalue(res, r, 2));
            continue;
        }
        /* The one row: account_changes (x 0 and v -1 without one, as
         * MONITOR_STAMP_ROWS's COALESCE), the start, the rights. */
        if (ones++ > 0 || (with_start && PQgetisnull(res, r, 4))) {
            return -1;
        }
        x->tag = SERIES_STAMP_CHANGES;
        x->x = PQgetisnull(res, r, 1) ? 0 : xid_at(res, r, 1);
        x->v = PQgetisnull(res, r, 2) ? -1 : get_be64(PQgetvalue(res, r, 2));
        if (with_start) {
            *start_us = get_be64(PQgetvalue(res, r, 4)) + INT64_C(946684800000000);
        }
        x = &stamp->row[stamp->n++];
        x->tag = SERIES_STAMP_START;
        x->x = *start_us;
        x->v = 0;
        if (!PQgetisnull(res, r, 3)) {
            x = &stamp->row[stamp->n++];
            x->tag = SERIES_STAMP_RIGHTS;
            x->x = get_be64(PQgetvalue(res, r, 3));
            x->v = 0;
        }
    }
    return ones == 1 ? 0 : -1;
}

db_status series_monitor_stamp(db_conn *c, long long account_id, series_stamp *stamp)
{
    unsigned char acct_bin[8];
    const char *p[1] = {(const char *)acct_bin};
    int lengths[1] = {8}, formats[1] = {1};
    PGresult *res = NULL;
    db_status st;
    int64_t start_us = 0;
    bool with_start = !db_conn_start(c, &start_us);
    memset(stamp, 0, sizeof *stamp);
    put_be64(acct_bin, account_id);
    if ((st = db_exec_bin(c, with_start ? &st_monitor_stamp_start : &st_monitor_stamp, 1, p,
                          lengths, formats, 1, &res)) != DB_OK) {
        return st;
    }
    stamp->ok = true;
    if (stamp_pre_rows(stamp, res, with_start, &start_us) != 0) {
        PQclear(res);
        memset(stamp, 0, sizeof *stamp);
        return DB_ERROR;
    }
    PQclear(res);
    if (with_start && stamp->ok) {
        db_conn_set_start(c, start_us);
    }
    stamp_sort(stamp);
    return DB_OK;
}

db_status series_read_monitor(db_conn *c, long long account_id, series_monitor_app *apps,
                              size_t n_apps, const int64_t *ch, size_t n_ch, size_t n_measured,
                              series_monitor_value *out, series_stamp *stamp)
{
    unsigned char acct_bin[8], page_bin[4], lo_bin[8], hi_bin[8];
    const char *p[6];
    int lengths[6] = {0}, formats[6] = {1, 1, 1, 1, 1, 1};
    int64_t lo, hi;
    unsigned char *params = NULL;
    int64_t *since = NULL, *t = NULL;
    double *v = NULL;
    bool *has = NULL;
    id_pos *app_idx = NULL;
    hot_newest h;
    PGresult *res = NULL;
    db_status st = DB_ERROR;
    hot_ref *hot = NULL;
    size_t n_hot = 0;
    uint64_t key = monitor_key(account_id, ch, n_ch);
    long long page = monitor_hint_get(key);
    size_t n_arr = n_apps + n_ch;

    memset(&h, 0, sizeof h);
    memset(out, 0, n_ch * sizeof *out);
    n_measured = n_measured < n_ch ? n_measured : n_ch;
    for (size_t i = 0; i < n_apps; i++) {
        apps[i].found = apps[i].connected = apps[i].seen = false;
        apps[i].seen_us = 0;
    }
    /* One allocation for the work arrays and the parameters. */
    {
        size_t sz = (n_ch + 1) * (2 * sizeof(int64_t) + sizeof(double) + sizeof(bool)) +
                    (n_apps + 1) * sizeof(id_pos) + 40 + 12 * n_arr + 64;
        char *m = malloc(sz);
        if (m == NULL) {
            return DB_ERROR;
        }
        since = (int64_t *)(void *)m;
        t = since + (n_ch + 1);
        v = (double *)(void *)(t + (n_ch + 1));
        app_idx = (id_pos *)(void *)(v + (n_ch + 1));
        has = (bool *)(app_idx + (n_apps + 1));
        params = (unsigned char *)(has + (n_ch + 1));
    }
    for (size_t i = 0; i < n_ch; i++) {
        has[i] = false;
        since[i] = INT64_MIN;
    }
    /* Hot rows are searched for the measured channels only. */
    if (hn_begin(&h, ch, n_measured, since, has, t, v) != 0) {
        goto out;
    }
    for (size_t i = 0; i < n_apps; i++) {
        app_idx[i].id = apps[i].id;
        app_idx[i].pos = i;
    }
    sort_id_pos(app_idx, n_apps);
    put_be64(acct_bin, account_id);
    put_be32(page_bin, (uint32_t)page);
    p[0] = (const char *)acct_bin;
    lengths[0] = 8;
    {
        /* The apps' ids, then the channels'. */
        unsigned char *q = params;
        size_t len = id_array_head(q, n_apps);
        for (size_t i = 0; i < n_apps; i++, len += 12) {
            id_array_put(q + len, apps[i].id);
        }
        p[1] = (const char *)q;
        lengths[1] = (int)len;
        q += len;
        len = id_array_head(q, n_ch);
        for (size_t i = 0; i < n_ch; i++, len += 12) {
            id_array_put(q + len, ch[i]);
        }
        p[2] = (const char *)q;
        lengths[2] = (int)len;
    }
    p[3] = (const char *)page_bin;
    lengths[3] = 4;
    p[4] = p[5] = NULL; /* not a run: channel_latest by the ids of $3 */
    if (id_run(ch, n_ch, &lo, &hi)) {
        put_be64(lo_bin, lo);
        put_be64(hi_bin, hi);
        p[4] = (const char *)lo_bin;
        p[5] = (const char *)hi_bin;
        lengths[4] = lengths[5] = 8;
    }
    if (stamp != NULL) {
        stamp->n = 0;
        stamp->ok = true;
    }
    if ((st = db_exec_bin(c, stamp != NULL ? &st_monitor_read_stamped : &st_monitor_read, 6, p,
                          lengths, formats, 1, &res)) != DB_OK) {
        goto out;
    }
    st = DB_ERROR;
    /* The binary widths the reading relies on. */
    if (PQnfields(res) != 7 || PQfsize(res, 0) != 8 || PQfsize(res, 1) != 8 ||
        PQfsize(res, 2) != 1 || PQfsize(res, 3) != 8 || PQfsize(res, 4) != 8 ||
        PQfsize(res, 5) != 2) {
        log_error("series_read_monitor: unexpected column types");
        goto out;
    }
    if ((hot = malloc(((size_t)PQntuples(res) + 1) * sizeof *hot)) == NULL) {
        goto out;
    }
    if (monitor_rows(res, apps, n_apps, app_idx, &h, ch, n_ch, n_measured, out, since, hot,
                     &n_hot, stamp) != 0) {
        log_error("series_read_monitor: a row it cannot read");
        goto out;
    }
    monitor_hot(&h, hot, n_hot);
    if (stamp != NULL) {
        stamp_sort(stamp);
        for (size_t i = 0; stamp->ok && i < stamp->n; i++) {
            if (stamp->row[i].tag == SERIES_STAMP_START) {
                db_conn_set_start(c, stamp->row[i].x); /* the pre-checks' on "c" */
            }
        }
    }
    PQclear(res);
    res = NULL;
    /* More pages only when the first was full (as series_read_hot_latest()). */
    st = DB_OK;
    if ((long long)n_hot >= page && !h.done) {
        h.page = page < HOT_NEWEST_MAX_PAGE / 4 ? page * 4 : HOT_NEWEST_MAX_PAGE;
        st = hn_pages(c, account_id, &h);
    }
    if (st == DB_OK) {
        /* Settled: the rows it took; every row read: one more, so that the
         * next read's first page is not full. */
        monitor_hint_put(key, h.done ? h.used : h.used + 1);
    }
    for (size_t i = 0; i < n_ch && st == DB_OK; i++) {
        out[i].hot = has[i];
        out[i].hot_t = t[i];
        out[i].hot_v = v[i];
    }
out:
    PQclear(res);
    hn_end(&h);
    free(hot);
    free(since);
    return st;
}

/* The first row of [lo, hi) of "res" whose big-endian id in column "col"
 * is not below "id" (the rows ordered by that column); hi when none. */
static int rows_lower_bound(const PGresult *res, int lo, int hi, int col, int64_t id)
{
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (series_be64(PQgetvalue(res, mid, col)) < id) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

/* A day block's row of an answer: its channel, day and row number. */
typedef struct {
    int64_t ch;
    int32_t day;
    int row;
} day_row;

static int cmp_day_row(const void *a, const void *b)
{
    const day_row *x = a, *y = b;
    if (x->ch != y->ch) {
        return (x->ch > y->ch) - (x->ch < y->ch);
    }
    return (x->day > y->day) - (x->day < y->day);
}

/* The first of the "n" day rows "d" (by channel, then day) of channel "id";
 * n when none. */
static size_t day_rows_lower_bound(const day_row *d, size_t n, int64_t id)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (d[mid].ch < id) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

/* The samples of an answer "res" of mt_ser_read() (series_read()) or of
 * st_read_seen or st_read_seen_admin (column 0 the kind, 1 the id, 2 the
 * bytes, 3 the day), its rows in any order: the hot rows (kind 1) in order
 * of arrival (their id) and the day blocks (kind 2) of channel ch[i] in
 * [t0, t1), merged into out[i] (a hot sample replaces a stored one at the
 * same time). Rows of other kinds (0: the channels) are skipped. */
static db_status samples_from(PGresult *res, const int64_t *ch, size_t n_ch, int64_t t0, int64_t t1,
                              series_col *out)
{
    int rows = PQntuples(res);
    size_t n_hot = 0, n_day = 0;
    bool hot_sorted = true, day_sorted = true;
    series_col *hot = calloc(n_ch, sizeof *hot);
    id_pos *hots = rows > 0 ? malloc((size_t)rows * sizeof *hots) : NULL;
    day_row *days = rows > 0 ? malloc((size_t)rows * sizeof *days) : NULL;
    db_status st = DB_ERROR;
    if (hot == NULL || (rows > 0 && (hots == NULL || days == NULL))) {
        goto out;
    }
    for (int r = 0; r < rows; r++) {
        int32_t kind = series_be32(PQgetvalue(res, r, 0));
        int64_t id = series_be64(PQgetvalue(res, r, 1));
        if (kind == 1) {
            hot_sorted = hot_sorted && (n_hot == 0 || hots[n_hot - 1].id < id);
            hots[n_hot].id = id;
            hots[n_hot++].pos = (size_t)r;
        } else if (kind == 2) {
            day_row d = {id, series_be32(PQgetvalue(res, r, 3)), r};
            day_sorted = day_sorted && (n_day == 0 || cmp_day_row(&days[n_day - 1], &d) < 0);
            days[n_day++] = d;
        }
    }
    if (!hot_sorted) {
        sort_id_pos(hots, n_hot);
    }
    if (!day_sorted) {
        qsort(days, n_day, sizeof *days, cmp_day_row);
    }
    for (size_t k = 0; k < n_hot; k++) {
        int r = (int)hots[k].pos;
        if (hot_from_rows(res, r, r + 1, 2, ch, n_ch, t0, t1, hot) != 0) {
            goto out;
        }
    }
    hot_settle(hot, n_ch);
    for (size_t i = 0; i < n_ch; i++) {
        series_col *col = &out[i];
        /* This channel's day blocks, day by day, decoded straight into
         * its column. */
        for (size_t j = day_rows_lower_bound(days, n_day, ch[i]); j < n_day && days[j].ch == ch[i];
             j++) {
            int r = days[j].row;
            const uint8_t *data = (const uint8_t *)PQgetvalue(res, r, 2);
            size_t len = (size_t)PQgetlength(res, r, 2), n = 0, got = 0, w = col->n;
            mt_error err;
            if (mt_series_info(data, len, &n, NULL, NULL, &err) != MT_OK ||
                series_col_reserve(col, col->n + n) != 0 ||
                mt_series_decode(data, len, col->t + col->n, col->v + col->n, col->cap - col->n,
                                 &got, &err) != MT_OK) {
                log_error("series: unreadable block of channel %lld: %s", (long long)ch[i],
                          err.msg);
                goto out;
            }
            /* Keep only [t0, t1). */
            for (size_t k = col->n; k < col->n + got; k++) {
                if (col->t[k] >= t0 && col->t[k] < t1) {
                    col->t[w] = col->t[k];
                    col->v[w] = col->v[k];
                    w++;
                }
            }
            col->n = w;
        }
        if (series_col_reserve(col, col->n + 1) != 0) {
            goto out;
        }
        if (hot[i].n > 0) {
            series_col m = {0};
            mt_error err;
            if (series_col_reserve(&m, col->n + hot[i].n) != 0 ||
                mt_series_merge(col->t, col->v, col->n, hot[i].t, hot[i].v, hot[i].n, m.t, m.v,
                                &m.n, &err) != MT_OK) {
                series_col_free(&m);
                goto out;
            }
            series_col_free(col);
            *col = m;
        }
    }
    st = DB_OK;
out:
    for (size_t i = 0; i < n_ch; i++) {
        if (hot != NULL) {
            series_col_free(&hot[i]);
        }
        if (st != DB_OK) {
            series_col_free(&out[i]);
        }
    }
    free(hot);
    free(hots);
    free(days);
    return st;
}

/* Run st_read (viewer < 0), st_read_seen_admin (viewer 0: an
 * administrator) or st_read_seen for viewer "viewer"
 * over [t0, t1) of channels "ch" (with "bytes" false: st_vers_seen_admin
 * or st_vers_seen, the same rows without their bytes): *res. */
/* Whether the rows of a member's statement of the known form ("res") show
 * every channel asked for visible, with the postmaster's start "start"
 * (kind 0 rows: column 1 the id, 4 the start): else the version moved (no
 * row at all) or the cluster was restored, and the learning form decides. */
static bool known_rows_hold(PGresult *res, const int64_t *ch, size_t n_ch, int64_t start)
{
    int rows = PQntuples(res);
    for (size_t i = 0; i < n_ch; i++) {
        bool found = false;
        for (int r = 0; r < rows && !found; r++) {
            found = series_be32(PQgetvalue(res, r, 0)) == 0 &&
                    series_be64(PQgetvalue(res, r, 1)) == ch[i] &&
                    series_be64(PQgetvalue(res, r, 4)) == start;
        }
        if (!found) {
            return false;
        }
    }
    return true;
}

/* Remember the visible ids of the learning form's rows (column 5 the
 * version of the account's rights). */
static void learn_rows(PGresult *res, long long account_id, long long viewer)
{
    if (PQnfields(res) != 6 || PQfsize(res, 5) != 8) {
        return;
    }
    for (int r = 0; r < PQntuples(res); r++) {
        if (series_be32(PQgetvalue(res, r, 0)) == 0) {
            rights_memo_put(account_id, viewer, series_be64(PQgetvalue(res, r, 1)),
                            series_be64(PQgetvalue(res, r, 5)), series_be64(PQgetvalue(res, r, 4)));
        }
    }
}

/* Execute the samples' statement (st_read for no viewer (-1), st_read_seen
 * or its administrator's form for viewer "viewer" (0 = an administrator),
 * st_vers_seen and its kin without the bytes) into *res. A member's goes
 * through rights_memo.h: the known form when every channel is remembered
 * visible, the learning form when not or when the known one does not show
 * them all. */
static db_status read_samples(db_conn *c, long long account_id, long long viewer, bool bytes,
                              const int64_t *ch, size_t n_ch, int64_t t0, int64_t t1,
                              PGresult **res)
{
    char a[24], v[24], s0[24], s1[24], d0[24], d1[24];
    char *chs = db_id_array(ch, n_ch);
    const char *p[7];
    int formats[7] = {0, 0, 0, 0, 0, 0, 0}, n = 0;
    db_stmt *stmt = viewer < 0 ? &st_read
                    : viewer == 0 ? (bytes ? &st_read_seen_admin : &st_vers_seen_admin)
                                  : (bytes ? &st_read_seen : &st_vers_seen);
    int64_t known = 0, start = 0;
    db_status st;
    if (chs == NULL) {
        return DB_ERROR;
    }
    p[n++] = db_ll(account_id, a);
    p[n++] = chs;
    if (viewer > 0) {
        p[n++] = db_ll(viewer, v);
    }
    p[n++] = db_ll(t0, s0);
    p[n++] = db_ll(t1, s1);
    p[n++] = db_ll(series_day_of(t0), d0);
    p[n++] = db_ll(series_day_of(t1 - 1), d1);
    if (viewer > 0 && rights_memo_on()) {
        if (rights_memo_known(account_id, viewer, ch, n_ch, &known, &start)) {
            p[2] = db_ll(known, v);
            st = db_exec_bin(c, bytes ? &st_read_known : &st_vers_known, n, p, NULL, formats, 1,
                             res);
            if (st != DB_OK || known_rows_hold(*res, ch, n_ch, start)) {
                free(chs);
                return st;
            }
            PQclear(*res);
            *res = NULL;
            p[2] = db_ll(viewer, v);
        }
        stmt = bytes ? &st_read_learn : &st_vers_learn;
    }
    st = db_exec_bin(c, stmt, n, p, NULL, formats, 1, res);
    if (st == DB_OK && stmt == (bytes ? &st_read_learn : &st_vers_learn)) {
        learn_rows(*res, account_id, viewer);
    }
    free(chs);
    return st;
}

db_status series_read(db_conn *c, long long account_id, const int64_t *ch, size_t n_ch,
                      int64_t t0, int64_t t1, series_col *out)
{
    PGresult *res = NULL;
    db_status st;
    memset(out, 0, n_ch * sizeof *out);
    if (n_ch == 0 || t1 <= t0) {
        return DB_OK;
    }
    if ((st = read_samples(c, account_id, -1, true, ch, n_ch, t0, t1, &res)) == DB_OK) {
        st = samples_from(res, ch, n_ch, t0, t1, out);
    }
    PQclear(res);
    return st;
}

/* Bytes of one row's version: its kind (int4), id (int8), day (int4) and
 * version (int8), as PostgreSQL sent them. */
#define VERSION_ROW 24

/* Order of two rows' versions: by kind, id and day (each row has its own:
 * a channel, a hot row, a channel's day), the order the functions returned
 * them in before migration 053. */
static int cmp_version_row(const void *a, const void *b)
{
    const char *x = a, *y = b;
    int32_t kx = series_be32(x), ky = series_be32(y), dx, dy;
    int64_t ix, iy;
    if (kx != ky) {
        return (kx > ky) - (kx < ky);
    }
    ix = series_be64(x + 4);
    iy = series_be64(y + 4);
    if (ix != iy) {
        return (ix > iy) - (ix < iy);
    }
    dx = series_be32(x + 12);
    dy = series_be32(y + 12);
    return (dx > dy) - (dx < dy);
}

/* Of the answer "res" of st_read_seen or st_vers_seen (and their
 * administrator's statements) for channels "ch", its rows in any order
 * (migration 053): the first channel that is not visible (*hidden, else
 * 0), and when "ver" is given and every channel is visible, the versions
 * of every row into it, by kind, id and day, so that a read and a later
 * check of the same rows give the same bytes (caller frees ver->p). */
static db_status seen_rows(PGresult *res, const int64_t *ch, size_t n_ch, int64_t *hidden,
                           series_versions *ver)
{
    int rows = PQntuples(res), nv = 0;
    int64_t *vis = rows > 0 ? malloc((size_t)rows * sizeof *vis) : NULL;
    bool sorted = true;
    *hidden = 0;
    if (rows > 0 && vis == NULL) {
        return DB_ERROR;
    }
    for (int r = 0; r < rows; r++) {
        if (series_be32(PQgetvalue(res, r, 0)) == 0) {
            vis[nv++] = series_be64(PQgetvalue(res, r, 1));
        }
    }
    /* The first channel asked for that the viewer may not see, if any. */
    for (size_t i = 0; i < n_ch && *hidden == 0; i++) {
        bool found = false;
        for (int k = 0; k < nv && !found; k++) {
            found = vis[k] == ch[i];
        }
        if (!found) {
            *hidden = ch[i];
        }
    }
    free(vis);
    if (ver == NULL || *hidden != 0) {
        return DB_OK;
    }
    if (PQnfields(res) < 5 || PQfsize(res, 0) != 4 || PQfsize(res, 1) != 8 ||
        PQfsize(res, 3) != 4 || PQfsize(res, 4) != 8) {
        log_error("series: unexpected column types of a window's versions");
        return DB_ERROR;
    }
    ver->len = (size_t)rows * VERSION_ROW;
    ver->p = malloc(ver->len ? ver->len : 1);
    if (ver->p == NULL) {
        ver->len = 0;
        return DB_ERROR;
    }
    for (int r = 0; r < rows; r++) {
        uint8_t *o = ver->p + (size_t)r * VERSION_ROW;
        memcpy(o, PQgetvalue(res, r, 0), 4);
        memcpy(o + 4, PQgetvalue(res, r, 1), 8);
        memcpy(o + 12, PQgetvalue(res, r, 3), 4);
        memcpy(o + 16, PQgetvalue(res, r, 4), 8);
        sorted = sorted && (r == 0 || cmp_version_row(o - VERSION_ROW, o) < 0);
    }
    if (!sorted) {
        qsort(ver->p, (size_t)rows, VERSION_ROW, cmp_version_row);
    }
    return DB_OK;
}

db_status series_read_visible(db_conn *c, long long account_id, long long viewer,
                              const int64_t *ch, size_t n_ch, int64_t t0, int64_t t1,
                              series_col *out, int64_t *hidden, series_versions *ver)
{
    PGresult *res = NULL;
    db_status st;
    memset(out, 0, n_ch * sizeof *out);
    *hidden = 0;
    if (ver != NULL) {
        ver->p = NULL;
        ver->len = 0;
    }
    if (n_ch == 0) {
        return DB_OK;
    }
    if (t1 <= t0) {
        t1 = t0; /* no samples; the visibility still asked */
    }
    if ((st = read_samples(c, account_id, viewer, true, ch, n_ch, t0, t1,
                           &res)) != DB_OK) {
        return st;
    }
    st = seen_rows(res, ch, n_ch, hidden, ver);
    if (st == DB_OK && *hidden == 0 && t1 > t0) {
        st = samples_from(res, ch, n_ch, t0, t1, out);
    }
    PQclear(res);
    if (st != DB_OK && ver != NULL) {
        free(ver->p);
        ver->p = NULL;
        ver->len = 0;
    }
    return st;
}

db_status series_versions_visible(db_conn *c, long long account_id, long long viewer,
                                  const int64_t *ch, size_t n_ch, int64_t t0, int64_t t1,
                                  int64_t *hidden, series_versions *ver)
{
    PGresult *res = NULL;
    db_status st;
    *hidden = 0;
    ver->p = NULL;
    ver->len = 0;
    if (n_ch == 0) {
        return DB_OK;
    }
    if (t1 <= t0) {
        t1 = t0;
    }
    if ((st = read_samples(c, account_id, viewer, false, ch, n_ch, t0, t1,
                           &res)) != DB_OK) {
        return st;
    }
    st = seen_rows(res, ch, n_ch, hidden, ver);
    PQclear(res);
    return st;
}

void series_hours_free(mt_block_summary **out, size_t *n_out, size_t n_ch)
{
    for (size_t i = 0; i < n_ch; i++) {
        free(out[i]);
        out[i] = NULL;
        n_out[i] = 0;
    }
}

/* One stored run of packed summaries of one channel: a month row or a day
 * row's hours, starting on day "day". */
typedef struct {
    size_t ch;
    int64_t day;
    const uint8_t *p;
    size_t len;
} hours_piece;

static int cmp_piece(const void *a, const void *b)
{
    const hours_piece *x = a, *y = b;
    if (x->ch != y->ch) {
        return x->ch < y->ch ? -1 : 1;
    }
    return (x->day > y->day) - (x->day < y->day);
}

/* Append to "segs" (pairs of first and last day, flat, with channel ids in
 * "seg_ch") the days of [d0, d1] of channel "id" that the sorted month
 * ranges "mr" (pairs [month, month_end)) do not cover. */
static int uncovered(int64_t id, int64_t d0, int64_t d1, const int64_t *mr, size_t n_mr,
                     int64_t **seg_ch, int64_t **segs, size_t *n_seg, size_t *cap)
{
    int64_t from = d0;
    for (size_t k = 0; k <= n_mr && from <= d1; k++) {
        int64_t to = k < n_mr ? mr[2 * k] - 1 : d1;
        if (to > d1) {
            to = d1;
        }
        if (to >= from) {
            if (*n_seg == *cap) {
                size_t nc = *cap ? *cap * 2 : 64;
                int64_t *a = realloc(*seg_ch, nc * sizeof *a);
                int64_t *b = a ? realloc(*segs, 2 * nc * sizeof *b) : NULL;
                if (a != NULL) {
                    *seg_ch = a;
                }
                if (b == NULL) {
                    return -1;
                }
                *segs = b;
                *cap = nc;
            }
            (*seg_ch)[*n_seg] = id;
            (*segs)[2 * *n_seg] = from;
            (*segs)[2 * *n_seg + 1] = to;
            (*n_seg)++;
        }
        if (k < n_mr && mr[2 * k + 1] > from) {
            from = mr[2 * k + 1];
        }
    }
    return 0;
}

static db_stmt st_read_months = {"ser_read_months",
    "SELECT channel_id, month, month_end, hours FROM series_month "
    "WHERE account_id = $1 AND channel_id = ANY($2::bigint[]) AND month <= $4 AND month_end > $3 "
    "ORDER BY channel_id, month", 0};
static db_stmt st_read_day_hours = {"ser_read_day_hours",
    "SELECT d.channel_id, d.day, d.hours "
    "FROM unnest($2::bigint[], $3::int[], $4::int[]) AS r(c, d0, d1) "
    "JOIN series_day d ON d.channel_id = r.c AND d.day BETWEEN r.d0 AND r.d1 "
    "WHERE d.account_id = $1", 0};

/* Month rows first; then the day rows of whatever days they do not cover
 * (the current month, months not built yet or made dirty by a late write).
 * A month row written or deleted between the two reads changes nothing:
 * the day rows it was built from are the same. */
db_status series_read_hours(db_conn *c, long long account_id, const int64_t *ch, size_t n_ch,
                            int64_t t0, int64_t t1, mt_summary_fold *fold,
                            mt_block_summary **out, size_t *n_out)
{
    PGresult *months = NULL, *days = NULL;
    db_status st;
    int64_t d0 = series_day_of(t0), d1 = series_day_of(t1 - 1);
    int64_t *mr = NULL, *seg_ch = NULL, *segs = NULL;
    size_t n_seg = 0, seg_cap = 0, n_pieces = 0, *total = NULL;
    hours_piece *pieces = NULL;
    int n_m = 0, n_d = 0;

    memset(out, 0, n_ch * sizeof *out);
    memset(n_out, 0, n_ch * sizeof *n_out);
    if (n_ch == 0 || t1 <= t0) {
        return DB_OK;
    }
    if ((st = read_range(c, &st_read_months, account_id, ch, n_ch, t0, t1, &months)) != DB_OK) {
        return st;
    }
    st = DB_ERROR;
    n_m = PQntuples(months);
    mr = malloc((size_t)(n_m ? n_m : 1) * 2 * sizeof *mr);
    if (mr == NULL) {
        goto out;
    }
    for (int r = 0; r < n_m; r++) {
        mr[2 * r] = series_be32(PQgetvalue(months, r, 1));
        mr[2 * r + 1] = series_be32(PQgetvalue(months, r, 2));
    }
    /* Per channel: its month ranges (rows are ordered by channel, month;
     * channels may be asked for in any order). */
    for (size_t i = 0; i < n_ch; i++) {
        int lo = rows_lower_bound(months, 0, n_m, 0, ch[i]), first = lo;
        while (lo < n_m && series_be64(PQgetvalue(months, lo, 0)) == ch[i]) {
            lo++;
        }
        if (uncovered(ch[i], d0, d1, mr + 2 * first, (size_t)(lo - first), &seg_ch, &segs,
                      &n_seg, &seg_cap) != 0) {
            goto out;
        }
    }
    if (n_seg > 0) {
        char a[24];
        int64_t *lo = malloc(n_seg * sizeof *lo), *hi = malloc(n_seg * sizeof *hi);
        char *p1 = NULL, *p2 = NULL, *p3 = NULL;
        if (lo != NULL && hi != NULL) {
            for (size_t k = 0; k < n_seg; k++) {
                lo[k] = segs[2 * k];
                hi[k] = segs[2 * k + 1];
            }
            p1 = db_id_array(seg_ch, n_seg);
            p2 = db_id_array(lo, n_seg);
            p3 = db_id_array(hi, n_seg);
        }
        if (p1 != NULL && p2 != NULL && p3 != NULL) {
            const char *p[] = {db_ll(account_id, a), p1, p2, p3};
            int formats[4] = {0, 0, 0, 0};
            st = db_exec_bin(c, &st_read_day_hours, 4, p, NULL, formats, 1, &days);
        }
        free(lo);
        free(hi);
        free(p1);
        free(p2);
        free(p3);
        if (st != DB_OK) {
            goto out;
        }
        st = DB_ERROR;
        n_d = PQntuples(days);
    }
    pieces = malloc((size_t)(n_m + n_d + 1) * sizeof *pieces);
    total = calloc(n_ch, sizeof *total);
    if (pieces == NULL || total == NULL) {
        goto out;
    }
    for (int r = 0; r < n_m + n_d; r++) {
        PGresult *res = r < n_m ? months : days;
        int row = r < n_m ? r : r - n_m;
        size_t i = index_of(ch, n_ch, series_be64(PQgetvalue(res, row, 0)));
        hours_piece *pc = &pieces[n_pieces];
        if (i == n_ch) {
            continue;
        }
        pc->ch = i;
        pc->day = series_be32(PQgetvalue(res, row, 1));
        pc->p = (const uint8_t *)PQgetvalue(res, row, r < n_m ? 3 : 2);
        pc->len = (size_t)PQgetlength(res, row, r < n_m ? 3 : 2);
        total[i] += pc->len / MT_SUMMARY_PACKED;
        n_pieces++;
    }
    qsort(pieces, n_pieces, sizeof *pieces, cmp_piece);
    for (size_t i = 0; i < n_ch; i++) {
        if (fold != NULL && fold[i].out != NULL) {
            continue;
        }
        if (total[i] > 0 && (out[i] = malloc(total[i] * sizeof *out[i])) == NULL) {
            goto out;
        }
    }
    for (size_t k = 0; k < n_pieces; k++) {
        const hours_piece *pc = &pieces[k];
        size_t i = pc->ch, got = 0;
        mt_error err;
        if (fold != NULL && fold[i].out != NULL) {
            if (mt_summary_fold_add(&fold[i], pc->p, pc->len, &err) != MT_OK) {
                log_error("series: hourly summaries of channel %lld not folded: %s",
                          (long long)ch[i], err.msg);
                goto out;
            }
            continue;
        }
        if (mt_summary_unpack(pc->p, pc->len, out[i] + n_out[i], total[i] - n_out[i], &got,
                              &err) != MT_OK) {
            log_error("series: unreadable hourly summaries of channel %lld: %s",
                      (long long)ch[i], err.msg);
            goto out;
        }
        n_out[i] += got;
    }
    st = DB_OK;
out:
    PQclear(months);
    PQclear(days);
    free(mr);
    free(seg_ch);
    free(segs);
    free(pieces);
    free(total);
    if (st != DB_OK) {
        series_hours_free(out, n_out, n_ch);
    }
    return st;
}
