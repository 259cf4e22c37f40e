/* Storage of acquired data (004_data.sql, docs/storage.md): ingestion
 * batches, the hot table, day blocks, latest values. Prepared statements
 * only; every statement filters by account id. */
#ifndef MTS_DB_SERIES_H
#define MTS_DB_SERIES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app_cache.h"
#include "db.h"
#include "ingest_batch.h"

/* The app holding credential hash "hash_hex" into *row: its account and id,
 * whether it is enabled, whether its account is active and when its trial
 * ends, the version of its channel table (apps.channels_version) and its
 * measurement group (0 = none). *found false when no app has it. */
db_status db_ingest_app(db_conn *c, const char *hash_hex, app_cache_row *row, bool *found);

/* The same for the app with id "id" (an app the MQTT broker authenticated
 * by its client certificate, docs/mqtt.md). */
db_status db_ingest_app_by_id(db_conn *c, long long id, app_cache_row *row, bool *found);

/* Store a batch of "n" records (sorted; at most one hot row's worth) in one
 * statement: check the alarm sequence of group "alarm_group" (0 = none;
 * *seq_ok false, and nothing written, when it is not "alarm_seq": 0 for a
 * group without an alarm_groups row), claim "batch_id", add the hot row,
 * note the app as seen. *fresh false when the batch was already stored
 * (*prev_samples = its count then). */
db_status db_ingest_store_small(db_conn *c, long long account_id, long long app_id,
                                const char *batch_id, const ingest_rec *rec, size_t n,
                                int64_t t_min, int64_t t_max, const char *ip,
                                long long alarm_group, long long alarm_seq, bool *seq_ok,
                                bool *fresh, long long *prev_samples);

/* One batch of a group for db_ingest_store_group(): the arguments of
 * db_ingest_store_small() in, its answers out. */
typedef struct {
    long long account_id, app_id;
    const char *batch_id;
    const ingest_rec *rec;
    size_t n;
    int64_t t_min, t_max;
    const char *ip;
    long long alarm_group, alarm_seq;
    bool seq_ok, fresh;     /* out */
    long long prev_samples; /* out */
} db_small_batch;

/* Store "n" (>= 1) small batches as db_ingest_store_small() does each, in
 * one statement and so one transaction and one commit: all of them or, when
 * the statement fails, none. No two of them may have the same account, app
 * and batch id. */
db_status db_ingest_store_group(db_conn *c, db_small_batch *const *b, size_t n);

/* The measured channels of the app's devices, sorted by id, into *out
 * (caller frees) and *n. */
db_status db_ingest_channels(db_conn *c, long long account_id, long long app_id,
                             ingest_channel **out, size_t *n);

/* Record batch "batch_id" with "n_samples". *fresh false when the app had
 * already sent it (then *prev_samples is what was stored then). */
db_status db_ingest_claim(db_conn *c, long long account_id, long long app_id,
                          const char *batch_id, size_t n_samples, bool *fresh,
                          long long *prev_samples);

/* Make the channel_sent rows (migration 046) of the channels of rec[0..n)
 * that this process does not know to have one; every writer of hot rows
 * below does so itself. Called outside a transaction, the rows are
 * committed at once and remembered: a writer that stores hot rows in a
 * transaction of its own (a large batch, the file import) calls it before
 * opening it, so that its transaction finds them remembered and holds no
 * lock on a new row for its length (the first batch of that channel from
 * another process would wait for it). */
db_status db_channels_sent(db_conn *c, long long account_id, const ingest_rec *rec, size_t n);

/* Insert "n" records (sorted) as one hot row. Like every writer of hot rows
 * here (db_ingest_store_small(), db_ingest_store_group()), it first makes
 * the channel_sent rows of the records' channels this process does not know
 * to have one (migration 046): in the caller's transaction when one is
 * open, else committed before the hot row. */
db_status db_hot_insert(db_conn *c, long long account_id, const ingest_rec *rec, size_t n,
                        int64_t t_min, int64_t t_max);

/* The app was heard from: its app_seen row (migration 064) gets
 * last_seen_at = now, last_seen_ip = "ip" (may be NULL); "state" NULL
 * (heartbeat/batch), "connect" or "disconnect". */
db_status db_app_seen(db_conn *c, long long account_id, long long app_id, const char *ip,
                      const char *state);

/* The same with the cause of a change of the connection state recorded
 * (app_seen.connection_cause: "mqtt" for the MQTT bridge); NULL = "app" for a
 * connect or disconnect, "data" for a sign of life. */
db_status db_app_seen_via(db_conn *c, long long account_id, long long app_id, const char *ip,
                          const char *state, const char *cause);

/* Payload records, little-endian on the wire: encode / decode one. */
void db_rec_put(unsigned char *p, const ingest_rec *r);
void db_rec_get(const unsigned char *p, ingest_rec *r);

/* The app's devices and channels, and the end of high-speed mode of its
 * group (null when off), as JSON text in *json (caller frees):
 * {"app_id", "kind", "live_until", "devices": [{id, model, serial, firmware,
 * channels: [{id, key, name, unit, selected}]}]} (GET /api/v1/ingest/channels,
 * PUT /api/v1/ingest/devices). */
db_status db_ingest_describe(db_conn *c, long long account_id, long long app_id, char **json);

#endif

/* SQL: the groups user $3 may see (directly or through a team), in account
 * $1. */
#define DB_GROUPS_OF_USER                                                                     \
    "SELECT gua.group_id FROM group_user_access gua WHERE gua.account_id = $1 "             \
    "  AND gua.user_id = $3 "                                                               \
    "UNION SELECT gta.group_id FROM group_team_access gta JOIN team_members tm "            \
    "  ON tm.account_id = gta.account_id AND tm.team_id = gta.team_id "                     \
    "  WHERE gta.account_id = $1 AND tm.user_id = $3"

/* SQL: the ids of channels $2 (bigint[]) of account $1 that viewer $3
 * (NULL = an administrator) may see, as one bigint[] (ascending): the
 * rules are mt_channels_seen() of migration 066, whose plan is kept and
 * reaches the rows by their keys whatever the other tenants hold (085:
 * a channel's device and app too, not a hash of the account's devices; a
 * statement with the joins was planned anew on every call once the
 * service had many tenants; docs/benchmarks.md, memberscale). The raw data
 * read asks it in the same statement as the samples (series_read.c), or,
 * when the answer is remembered (rights_memo.h, 087), only if the account's
 * rights version moved. A change here must keep tests/code/rights_memo.test.mjs's
 * rule: the function reads only what 087/088's triggers watch. */
#define DB_CHANNELS_SEEN "mt_channels_seen($1::bigint, $2::bigint[], $3::bigint)"

/* SQL: the same ids as rows (db_channels_visible()). */
#define DB_CHANNELS_VISIBLE "SELECT unnest(" DB_CHANNELS_SEEN ")"

/* Of channels "ids" ("n"), those of account "account_id" that "viewer" may
 * see (viewer 0 = an administrator: every channel of the account; else the
 * channels of the groups granted to that user directly or through a team).
 * *out (caller frees) receives the visible ids, *n_out their count. */
db_status db_channels_visible(db_conn *c, long long account_id, long long viewer,
                              const int64_t *ids, size_t n, int64_t **out, size_t *n_out);

/* db_channels_visible() restricted to measured channels (with a device):
 * the targets an import may write. */
db_status db_channels_measured(db_conn *c, long long account_id, long long viewer,
                               const int64_t *ids, size_t n, int64_t **out, size_t *n_out);

/* The stored samples (day blocks, not hot rows) of channels "ids" on UTC
 * day "day", into *count: how much a read of that day will hold. */
db_status db_series_day_count(db_conn *c, long long account_id, const int64_t *ids, size_t n,
                              int64_t day, long long *count);

/* Whether group "group_id" of the account exists and "viewer" (0 = admin)
 * may see it. */
db_status db_group_visible(db_conn *c, long long account_id, long long viewer,
                           long long group_id, bool *visible);

/* db_group_visible(), with the version of the account's rights (account_rights.v,
 * migration 087; 0 without a row) and the postmaster's start (µs) read in
 * the same snapshot: what a member's remembered right is checked against
 * (rights_memo.h, the monitor's stamp). */
db_status db_group_visible_v(db_conn *c, long long account_id, long long viewer,
                             long long group_id, bool *visible, int64_t *version, int64_t *start);

/* One row of the structure of a group's monitor (M2): a channel with its
 * app and device; an app without devices, or a device without channels,
 * has one row of its own with device_id (and channel_id) 0, so that an app
 * just registered is listed too. What changes with every batch (the apps'
 * connection state, the latest values) is not here: series_read_monitor().
 * Strings are heap copies (NULL for SQL NULL). */
typedef struct {
    long long app_id;
    char *app_name;
    char *app_kind;
    bool app_enabled;
    long long device_id;
    char *device_model;
    char *device_serial;
    char *device_name;
    long long channel_id;
    char *ch_key;
    char *ch_name;
    char *unit;
    bool selected;
    bool computed;
    char *expression;    /* computed channels, else NULL */
    long long decimals;  /* how many decimals values are shown with; -1 automatic */
} db_monitor_row;

/* The monitor rows of a group, apps and devices together (by app, device,
 * channel), computed channels after them (by channel): *out (caller frees
 * with db_monitor_rows_free(); NULL when none) and *n. */
db_status db_group_monitor(db_conn *c, long long account_id, long long group_id,
                           db_monitor_row **out, int *n);

void db_monitor_rows_free(db_monitor_row *rows, int n);

/* Remember that "user" viewed channels "ids" now (D2), keeping the 10 most
 * recent per user. */
db_status db_channels_viewed(db_conn *c, long long account_id, long long user,
                             const int64_t *ids, size_t n);

/* The user's 10 most recently viewed channels as JSON array text (caller
 * frees). */
db_status db_channel_history(db_conn *c, long long account_id, long long user, char **json);
