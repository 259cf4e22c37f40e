/* The time-series store (docs/storage.md): folding samples into per-channel
 * day blocks, the compactor that empties the hot table, and reads that
 * merge day blocks with what is still hot.
 *
 * Writers: only the compactor writes series_day (one round at a time per
 * process, and across processes through a PostgreSQL advisory lock), so a
 * day block is never rewritten by two transactions at once. Ingestion only
 * appends hot rows. */
#ifndef MTS_SERIES_STORE_H
#define MTS_SERIES_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "ingest_batch.h"
#include "mt/decimate.h"
#include "mt/series.h"

#define SERIES_DAY_US 86400000000LL
#define SERIES_HOUR_US 3600000000LL

/* Samples of one channel, time-sorted: arrays owned by the struct. */
typedef struct {
    int64_t *t;
    double *v;
    size_t n, cap;
} series_col;

void series_col_free(series_col *c);

/* The UTC day (days since 1970-01-01) of "t" µs, floored. */
int64_t series_day_of(int64_t t);

typedef struct {
    size_t hot_rows;    /* hot rows folded */
    size_t samples;     /* samples folded */
    size_t blocks;      /* day blocks written */
    size_t dropped;     /* samples of deleted channels, or over a day's capacity */
    size_t months;      /* month rows (re)built */
} series_compact_stats;

/* Replace the whole day block of channel "ch" for UTC day "day" with the
 * "n" samples ("t" strictly increasing, all inside that day; n == 0 deletes
 * the block), inside the caller's transaction, and add the change in bytes
 * to the account's storage counter (*bytes_delta). For derived data
 * (computed channels) and retention; measured samples go through the hot
 * table and the compactor. DB_ERROR for samples outside the day. */
db_status series_write_day(db_conn *c, long long account_id, int64_t ch, int64_t day,
                           const int64_t *t, const double *v, size_t n, long long *bytes_delta);

/* Move channel_latest forward to the last sample of each channel of "rec"
 * (sorted by channel then time) where it is newer. */
db_status series_update_latest(db_conn *c, long long account_id, const ingest_rec *rec,
                               size_t n);

/* The compactor's hook for computed channels (computed_days.c): called inside
 * the compaction transaction after the samples "rec" (one account, sorted by
 * channel then time) were folded, so that derived channels whose inputs
 * changed are recomputed for the days touched. */
db_status computed_on_fold(db_conn *c, long long account_id, const ingest_rec *rec, size_t n);

/* One compaction round: fold up to "max_rows" hot rows (oldest first; 0:
 * about 1 M samples' worth, sized by the previous round's rows) into
 * day blocks in one transaction, delete them, fix the accounts' storage
 * counters. Returns 1 when "max_rows" rows (or the round's size) were
 * folded: more may wait; 2 when fewer were: the round took all there were;
 * 0 when there was nothing to do (or another process holds the compactor
 * lock), -1 on a database error (logged; nothing changed). "st" (may be
 * NULL) is added to. */
int series_compact_round(db_pool *pool, int max_rows, series_compact_stats *st);

/* Run rounds until the hot table is empty, then build every month row due
 * (or stop at an error). Returns 0 or -1. */
int series_compact_all(db_pool *pool, series_compact_stats *st);

/* One round of the month-row builder (migration 011): mark the day rows of
 * newly closed months dirty (a few months a call), then rebuild up to
 * "max_rows" dirty closed months, each in its own transaction; adds the
 * rows built to *built (may be NULL). Returns 1 when more may be due, 0
 * when none is, -1 on a database error. */
int series_month_round(db_pool *pool, int max_rows, size_t *built);

/* Start / stop the background compactor thread (a round every
 * "interval_ms", and at once again while rows remain). */
int series_compactor_start(db_pool *pool, int interval_ms);
void series_compactor_stop(void);

/* Read channels "ch[0..n_ch)" of account "account_id" over [t0, t1): day
 * blocks merged with hot rows (a hot sample replaces a stored one at the same
 * time). out[i] receives channel ch[i]'s samples (caller frees each with
 * series_col_free()). */
db_status series_read(db_conn *c, long long account_id, const int64_t *ch, size_t n_ch,
                      int64_t t0, int64_t t1, series_col *out);

/* The versions of what a window's samples are read from (raw_cache.h):
 * "len" bytes at "p" (malloc'd), equal for two reads exactly when they read
 * the same hot rows and the same versions of the same day blocks. */
typedef struct {
    uint8_t *p;
    size_t len;
} series_versions;

/* series_read() of channels that viewer "viewer" (0 = an administrator) may
 * see, with that check (db_channels_visible()) in the same statement: one
 * round trip. When one of "ch" is not visible, *hidden receives the first
 * such (in the order of "ch") and nothing is read; else *hidden is 0, and
 * when "ver" is not NULL it receives the versions of what was read (caller
 * frees ver->p). */
db_status series_read_visible(db_conn *c, long long account_id, long long viewer,
                              const int64_t *ch, size_t n_ch, int64_t t0, int64_t t1,
                              series_col *out, int64_t *hidden, series_versions *ver);

/* db_channels_visible() (db_series.h) for /api/v1/data and the exports,
 * through rights_memo.h for a member (issue 16, precheck): when every one
 * of "ch" is remembered visible to "viewer" at a version of the account's
 * rights, a statement of that version and the postmaster's start only
 * (not mt_channels_seen()); the same answer, read after the call began.
 * Else, and for an administrator, the visible ids as db_channels_visible()
 * gives them (a member's remembered with their version). *out (caller
 * frees), *n_out. */
db_status series_channels_visible(db_conn *c, long long account_id, long long viewer,
                                  const int64_t *ch, size_t n_ch, int64_t **out, size_t *n_out);

/* series_read_visible()'s check and versions alone, without a sample: the
 * statement of a remembered reply's check (issue 16). *hidden as there;
 * when it is 0, *ver as there (caller frees ver->p). */
db_status series_versions_visible(db_conn *c, long long account_id, long long viewer,
                                  const int64_t *ch, size_t n_ch, int64_t t0, int64_t t1,
                                  int64_t *hidden, series_versions *ver);

/* Hourly summaries (mt_block_summary, one per non-empty UTC hour) of each
 * channel over the whole UTC days that meet [t0, t1), from the month rows
 * and the day rows no month row covers (the caller adds hot samples). out[i]/n_out[i]: malloc'd
 * arrays (caller frees). "fold": NULL, or one fold per channel (core's
 * mt_summary_fold, started by the caller): a channel whose fold has buckets
 * (fold[i].out not NULL) has its summaries folded into them, in time order,
 * instead of returned (out[i] stays NULL, n_out[i] 0): a year's chart then
 * never holds its 8,760 summaries a channel. A fold that fails is an error
 * (DB_ERROR, logged). */
db_status series_read_hours(db_conn *c, long long account_id, const int64_t *ch, size_t n_ch,
                            int64_t t0, int64_t t1, mt_summary_fold *fold,
                            mt_block_summary **out, size_t *n_out);

/* Free the per-channel summaries series_read_hours() returned and zero
 * their counts. */
void series_hours_free(mt_block_summary **out, size_t *n_out, size_t n_ch);

/* The hot samples of the given channels in [t0, t1), per channel. */
db_status series_read_hot(db_conn *c, long long account_id, const int64_t *ch, size_t n_ch,
                          int64_t t0, int64_t t1, series_col *out);

/* The newest hot sample of each channel (the monitor, issue 16): has[i],
 * t[i], v[i] for channel ch[i], considering only samples at or after
 * since[i] (INT64_MIN: any). At equal times the later arrival wins, as in
 * series_read_hot(). Reads the account's hot rows newest first (by t_max),
 * a page at a time, and stops as soon as no older row can hold a newer
 * sample of any channel: with fresh data that is the first page, however
 * many rows wait for the compactor. */
db_status series_read_hot_latest(db_conn *c, long long account_id, const int64_t *ch,
                                 size_t n_ch, const int64_t *since, bool *has, int64_t *t,
                                 double *v);

/* An app of a group's monitor: its id (in), and what changes with every
 * batch it sends (out). */
typedef struct {
    int64_t id;
    bool found;     /* the app still exists */
    bool connected; /* apps.connected */
    bool seen;      /* apps.last_seen_at is set (and finite) */
    int64_t seen_us; /* apps.last_seen_at, µs since the Unix epoch */
} series_monitor_app;

/* A channel's newest sample for the monitor: its channel_latest row (as of
 * the last compaction) and the newest hot sample at or after that row's
 * time (series_read_hot_latest()). */
typedef struct {
    bool latest;
    int64_t latest_t;
    double latest_v;     /* when latest_special is 0 */
    int latest_special;  /* mt_sv; 0 = an ordinary value */
    bool hot;
    int64_t hot_t;
    double hot_v;
} series_monitor_value;

/* A change stamp of an account's monitors (migration 086, issue 16: kept
 * values, base/monitor_cache.h): the xmin of each of its series_hot_count
 * rows (tag -1 - shard; v its count), of its account_changes row (tag
 * SERIES_STAMP_CHANGES; v its count; x 0 and v -1 without one), the
 * postmaster's start (tag SERIES_STAMP_START, x in µs since the Unix epoch)
 * and the version of the account's rights (tag
 * SERIES_STAMP_RIGHTS, x: account_rights.v, migration 087; a member's
 * remembered right to see the group is checked against it, svc_data.c),
 * sorted by tag. Two stamps are compared as bytes (series_stamp_bytes()). */
#define SERIES_STAMP_MAX 24
#define SERIES_STAMP_CHANGES (-100)
#define SERIES_STAMP_START (-101)
#define SERIES_STAMP_RIGHTS (-102)
typedef struct {
    int64_t tag, x, v;
} series_stamp_row;
typedef struct {
    size_t n;
    bool ok; /* read whole (at most SERIES_STAMP_MAX rows) */
    series_stamp_row row[SERIES_STAMP_MAX];
} series_stamp;

/* The bytes of "s" to compare and keep: s->n rows (*len bytes). */
const void *series_stamp_bytes(const series_stamp *s, size_t *len);

/* What changes with every request of a group's monitor (issue 16), in one
 * round trip while the newest hot rows hold every channel's newest sample:
 * the connection state of apps[0..n_apps) (by their ids), and of channels
 * ch[0..n_ch) their channel_latest rows and newest hot samples into
 * out[0..n_ch), exactly as channel_latest and series_read_hot_latest() give
 * them. ch[n_measured..n_ch) are computed channels: their samples never
 * reach the hot table (the compactor writes them as day blocks and
 * channel_latest), so no hot row is read for them. A channel without a
 * channel_sent row (no sample ever stored, migration 046) costs no hot-row
 * read either. When "stamp" is not NULL, the account's change stamp is
 * read in the same statement (one snapshot) into it (stamp->ok false when it
 * could not be: the values are read all the same). */
db_status series_read_monitor(db_conn *c, long long account_id, series_monitor_app *apps,
                              size_t n_apps, const int64_t *ch, size_t n_ch, size_t n_measured,
                              series_monitor_value *out, series_stamp *stamp);

/* The change stamp of account "account_id" alone (the pre-check of a kept
 * monitor, base/monitor_cache.h): the same rows as series_read_monitor()
 * gives in "stamp", read in a statement of their own. */
db_status series_monitor_stamp(db_conn *c, long long account_id, series_stamp *stamp);

#endif

/* The data-retention job (L5; jobs.c): in one bounded round, delete the
 * day blocks older than one year (core's mt_licence_retention_cutoff) of
 * accounts whose effective plan is Free at "now" (Unix seconds), give their
 * bytes back, and drop empty monthly partitions older than that. *done =
 * blocks deleted + partitions dropped. */
db_status series_retention(db_conn *c, int64_t now, long long *done);
