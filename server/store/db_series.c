/* Storage of acquired data (see db_series.h). */
#include "db_series.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_account.h"
#include "db_rows.h"
#include "db_storage.h"
#include "instruments.h"

/* The columns of an app's row for ingestion (app_cache_row): the trial's end
 * in µs since the epoch (compared with the time of each use, app_cache.h). */
#define APP_COLS \
    "SELECT p.account_id, p.id, p.enabled, a.status = 'active', " \
    "       COALESCE((extract(epoch FROM a.trial_expires_at) * 1000000)::bigint, " \
    "                9223372036854775807), p.channels_version, COALESCE(p.group_id, 0) " \
    "FROM apps p JOIN accounts a ON a.id = p.account_id "

static db_stmt st_app = {"ser_app", APP_COLS "WHERE p.credential_hash = decode($1, 'hex')", 0};
static db_stmt st_app_by_id = {"ser_app_by_id", APP_COLS "WHERE p.id = $1", 0};

/* Run "stmt" with its one parameter and read its row into *row. */
static db_status read_app(db_conn *c, db_stmt *stmt, const char *param, app_cache_row *row,
                          bool *found)
{
    const char *p[] = {param};
    PGresult *res = NULL;
    db_status st = db_exec(c, stmt, 1, p, &res);
    *found = false;
    if (st == DB_OK && PQntuples(res) == 1) {
        row->account_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        row->app_id = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
        row->enabled = PQgetvalue(res, 0, 2)[0] == 't';
        row->account_active = PQgetvalue(res, 0, 3)[0] == 't';
        row->trial_expires_us = strtoll(PQgetvalue(res, 0, 4), NULL, 10);
        row->channels_version = strtoll(PQgetvalue(res, 0, 5), NULL, 10);
        row->group_id = strtoll(PQgetvalue(res, 0, 6), NULL, 10);
        *found = true;
    }
    PQclear(res);
    return st;
}

db_status db_ingest_app(db_conn *c, const char *hash_hex, app_cache_row *row, bool *found)
{
    return read_app(c, &st_app, hash_hex, row, found);
}

db_status db_ingest_app_by_id(db_conn *c, long long id, app_cache_row *row, bool *found)
{
    char idb[24];
    return read_app(c, &st_app_by_id, db_ll(id, idb), row, found);
}

static db_stmt st_channels = {"ser_channels",
    "SELECT c.id, c.selected, d.model, d.firmware, p.kind FROM channels c "
    "JOIN devices d ON d.account_id = c.account_id AND d.id = c.device_id "
    "JOIN apps p ON p.account_id = d.account_id AND p.id = d.app_id "
    "WHERE c.account_id = $1 AND d.app_id = $2 ORDER BY c.id", 0};

db_status db_ingest_channels(db_conn *c, long long account_id, long long app_id,
                             ingest_channel **out, size_t *n)
{
    char a[24], b[24];
    const char *p[] = {db_ll(account_id, a), db_ll(app_id, b)};
    PGresult *res = NULL;
    db_status st = db_exec(c, &st_channels, 2, p, &res);
    *out = NULL;
    *n = 0;
    if (st != DB_OK) {
        return st;
    }
    if (PQntuples(res) > 0) {
        size_t rows = (size_t)PQntuples(res);
        ingest_channel *ch = malloc(rows * sizeof *ch);
        if (ch == NULL) {
            PQclear(res);
            return DB_ERROR;
        }
        for (size_t i = 0; i < rows; i++) {
            ch[i].id = strtoll(PQgetvalue(res, (int)i, 0), NULL, 10);
            ch[i].selected = PQgetvalue(res, (int)i, 1)[0] == 't';
            /* I4: monitoring needs the table's minimum firmware. */
            ch[i].refusal = instr_monitoring_refusal(PQgetvalue(res, (int)i, 2),
                                                     instr_app_bit(PQgetvalue(res, (int)i, 4)),
                                                     PQgetvalue(res, (int)i, 3));
        }
        *out = ch;
        *n = rows;
    }
    PQclear(res);
    return DB_OK;
}

/* The claim of a batch id locks its app's row FOR KEY SHARE first: no
 * batch of a deleted app is stored (migration 060: the foreign key's check
 * per batch became this lock; mt_ingest_app_gone() raises the key's error
 * for an app not found). The same in every statement below that claims. */
static db_stmt st_claim = {"ser_claim",
    "WITH app AS MATERIALIZED ("
    "  SELECT 1 FROM apps a WHERE a.account_id = $1::bigint AND a.id = $2::bigint FOR KEY SHARE) "
    "INSERT INTO ingest_batches (account_id, app_id, batch_id, n_samples) "
    "SELECT $1, CASE WHEN EXISTS (SELECT 1 FROM app) THEN $2 "
    "  ELSE mt_ingest_app_gone($1, $2) END, $3, $4 ON CONFLICT DO NOTHING RETURNING 1", 0};
static db_stmt st_claimed = {"ser_claimed",
    "SELECT n_samples FROM ingest_batches "
    "WHERE account_id = $1 AND app_id = $2 AND batch_id = $3", 0};

db_status db_ingest_claim(db_conn *c, long long account_id, long long app_id,
                          const char *batch_id, size_t n_samples, bool *fresh,
                          long long *prev_samples)
{
    char a[24], b[24], n[24];
    const char *p[] = {db_ll(account_id, a), db_ll(app_id, b), batch_id,
                       db_ll((long long)n_samples, n)};
    PGresult *res = NULL;
    db_status st = db_exec(c, &st_claim, 4, p, &res);
    *fresh = false;
    *prev_samples = 0;
    if (st != DB_OK) {
        return st;
    }
    *fresh = PQntuples(res) == 1;
    PQclear(res);
    if (!*fresh) {
        bool found = false;
        st = db_q_int(c, &st_claimed, 3, p, prev_samples, &found);
    }
    return st;
}

/* The count of a batch id found claimed by another transaction that
 * committed while the claiming statement ran: its ON CONFLICT waited for
 * that commit, but the statement's snapshot, taken before, does not show
 * the row, so its own look-up found nothing. A new statement has a new
 * snapshot and sees it (a retry sent while its first copy was being
 * stored is then answered with the first copy's count, not 0). */
static void claimed_count(db_conn *c, long long account_id, long long app_id,
                          const char *batch_id, long long *prev_samples)
{
    char a[24], b[24];
    const char *p[] = {db_ll(account_id, a), db_ll(app_id, b), batch_id};
    bool found = false;
    /* On failure the answer keeps 0, as before: the batch is a duplicate
     * either way and was stored (by its first copy); a failure here must
     * not make the stored batches of a group be tried again. */
    if (db_q_int(c, &st_claimed, 3, p, prev_samples, &found) != DB_OK || !found) {
        *prev_samples = 0;
    }
}

static void put_le64(unsigned char *p, uint64_t x)
{
    for (int i = 0; i < 8; i++) {
        p[i] = (unsigned char)(x >> (8 * i));
    }
}

static uint64_t get_le64(const unsigned char *p)
{
    uint64_t x = 0;
    for (int i = 7; i >= 0; i--) {
        x = (x << 8) | p[i];
    }
    return x;
}

void db_rec_put(unsigned char *p, const ingest_rec *r)
{
    uint64_t bits;
    memcpy(&bits, &r->v, 8);
    put_le64(p, (uint64_t)r->ch);
    put_le64(p + 8, (uint64_t)r->t);
    put_le64(p + 16, bits);
}

/* The payload of "n" records: on a little-endian host with ingest_rec laid
 * out as the record ({i64, i64, f64}, 24 bytes) one copy, otherwise record
 * by record (issue 16: the byte loops cost about 2,000 instructions of a
 * small batch of 32 records). */
static void recs_put(unsigned char *p, const ingest_rec *rec, size_t n)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (sizeof(ingest_rec) == 24 && offsetof(ingest_rec, t) == 8 && offsetof(ingest_rec, v) == 16) {
        if (n > 0) {
            memcpy(p, rec, n * 24);
        }
        return;
    }
#endif
    for (size_t i = 0; i < n; i++) {
        db_rec_put(p + 24 * i, &rec[i]);
    }
}

void db_rec_get(const unsigned char *p, ingest_rec *r)
{
    uint64_t bits = get_le64(p + 16);
    r->ch = (int64_t)get_le64(p);
    r->t = (int64_t)get_le64(p + 8);
    memcpy(&r->v, &bits, 8);
}

/* ------------------------------------------------- channels with a sample
 *
 * channel_sent (migration 046) holds a row for every measured channel of
 * which a sample was ever stored: the group monitor leaves a channel
 * without one out of the bound of its hot-row read (series_read_monitor()).
 * Every writer of hot rows below first calls sent_mark(), which makes the
 * missing rows before the hot row commits: "no row" proves "no hot
 * sample". Rows go only with their channel or account, and channel ids are
 * never used again, so a channel once seen with a committed row keeps it:
 * this process remembers such channels in a lossy set (a slot of 64-bit
 * ids found by a hash, 4 slots probed), and a batch of remembered channels
 * pays a look-up per channel and no SQL. A channel pushed out of the set
 * costs one INSERT ... ON CONFLICT DO NOTHING more. */
#define SENT_SLOTS (1u << 16)
#define SENT_PROBE 4u
static _Atomic int64_t g_sent[SENT_SLOTS];

static size_t sent_slot(int64_t ch)
{
    uint64_t x = (uint64_t)ch * UINT64_C(0x9E3779B97F4A7C15);
    return (size_t)(x >> 48) & (SENT_SLOTS - 1);
}

static bool sent_known(int64_t ch)
{
    size_t s = sent_slot(ch);
    for (size_t k = 0; k < SENT_PROBE; k++) {
        if (atomic_load_explicit(&g_sent[(s + k) & (SENT_SLOTS - 1)], memory_order_relaxed) ==
            ch) {
            return true;
        }
    }
    return false;
}

/* Remember "ch" (its row committed): the first empty slot of its probe,
 * else one of them chosen by the id (the channel it held is forgotten). */
static void sent_put(int64_t ch)
{
    size_t s = sent_slot(ch);
    for (size_t k = 0; k < SENT_PROBE; k++) {
        _Atomic int64_t *slot = &g_sent[(s + k) & (SENT_SLOTS - 1)];
        int64_t old = atomic_load_explicit(slot, memory_order_relaxed);
        if (old == ch) {
            return;
        }
        if (old == 0 && atomic_compare_exchange_strong_explicit(
                            slot, &old, ch, memory_order_relaxed, memory_order_relaxed)) {
            return;
        }
    }
    atomic_store_explicit(&g_sent[(s + ((uint64_t)ch & (SENT_PROBE - 1))) & (SENT_SLOTS - 1)], ch,
                          memory_order_relaxed);
}

/* In the order of the channels, so that two statements making rows of the
 * same channels wait for each other at most once (no deadlock). */
static db_stmt st_sent = {"ser_sent",
    "INSERT INTO channel_sent (channel_id, account_id) "
    "SELECT u.c, u.a FROM unnest($1::bigint[], $2::bigint[]) AS u(a, c) ORDER BY u.c "
    "ON CONFLICT DO NOTHING", 0};

/* The records of one account's batch, for sent_mark(). */
typedef struct {
    long long account_id;
    const ingest_rec *rec;
    size_t n;
} sent_part;

/* A channel to make a row of, and its account. */
typedef struct {
    int64_t ch, account_id;
} sent_new;

static int cmp_sent_new(const void *a, const void *b)
{
    const sent_new *x = a, *y = b;
    return (x->ch > y->ch) - (x->ch < y->ch);
}

/* Make the channel_sent rows of the channels of parts[0..n_parts) this
 * process does not remember, before their hot rows: outside a transaction
 * in a statement of their own (committed first; then remembered), inside
 * the caller's transaction in it (committed with the hot rows; not
 * remembered, since the transaction may still roll back). Returns DB_OK
 * when every channel has its row (or will with the caller's commit). */
static db_status sent_mark(db_conn *c, const sent_part *parts, size_t n_parts)
{
    sent_new *nw = NULL;
    int64_t *acc = NULL, *ch = NULL;
    size_t n_new = 0, cap = 0, n_uniq = 0;
    char *acc_txt = NULL, *ch_txt = NULL;
    db_status st = DB_ERROR;
    bool in_tx;
    for (size_t k = 0; k < n_parts; k++) {
        const ingest_rec *r = parts[k].rec;
        for (size_t i = 0; i < parts[k].n; i++) {
            if ((i > 0 && r[i].ch == r[i - 1].ch) || sent_known(r[i].ch)) {
                continue; /* records come sorted by channel: one look-up each */
            }
            if (n_new > 0 && nw[n_new - 1].ch == r[i].ch) {
                continue;
            }
            if (n_new == cap) {
                size_t ncap = cap == 0 ? 32 : 2 * cap;
                sent_new *grown = realloc(nw, ncap * sizeof *grown);
                if (grown == NULL) {
                    goto out;
                }
                nw = grown;
                cap = ncap;
            }
            nw[n_new].ch = r[i].ch;
            nw[n_new++].account_id = parts[k].account_id;
        }
    }
    if (n_new == 0) {
        return DB_OK;
    }
    /* Each channel once, in order (the statement inserts in that order). */
    qsort(nw, n_new, sizeof *nw, cmp_sent_new);
    if ((acc = malloc(n_new * sizeof *acc)) == NULL || (ch = malloc(n_new * sizeof *ch)) == NULL) {
        goto out;
    }
    for (size_t i = 0; i < n_new; i++) {
        if (n_uniq == 0 || ch[n_uniq - 1] != nw[i].ch) {
            acc[n_uniq] = nw[i].account_id;
            ch[n_uniq++] = nw[i].ch;
        }
    }
    in_tx = PQtransactionStatus(db_conn_pg(c)) != PQTRANS_IDLE;
    if ((acc_txt = db_id_array(acc, n_uniq)) == NULL ||
        (ch_txt = db_id_array(ch, n_uniq)) == NULL) {
        goto out;
    }
    {
        const char *p[] = {acc_txt, ch_txt};
        PGresult *res = NULL;
        st = db_exec(c, &st_sent, 2, p, &res);
        PQclear(res);
    }
    if (st == DB_OK && !in_tx) {
        for (size_t i = 0; i < n_uniq; i++) {
            if (ch[i] != 0) {
                sent_put(ch[i]);
            }
        }
    }
out:
    free(acc_txt);
    free(ch_txt);
    free(acc);
    free(ch);
    free(nw);
    return st;
}

db_status db_channels_sent(db_conn *c, long long account_id, const ingest_rec *rec, size_t n)
{
    sent_part part = {account_id, rec, n};
    return sent_mark(c, &part, 1);
}

/* The account's row is locked as a foreign key's check would (series_hot
 * has none, 041_hot_account_lock.sql): no row is written for an account
 * being deleted or deleted. The row's samples are counted for the quota in
 * the same statement (069_hot_count.sql, DB_HOT_SHARD_SQL). */
static db_stmt st_hot = {"ser_hot_insert",
    "WITH hot AS ("
    "  INSERT INTO series_hot (account_id, t_min, t_max, n, payload, counted) "
    "  SELECT a.id, $2::bigint, $3::bigint, $4::int, $5::bytea, true FROM accounts a "
    "  WHERE a.id = $1 FOR KEY SHARE OF a RETURNING account_id, n), "
    "cnt AS ("
    "  INSERT INTO series_hot_count AS k (account_id, shard, n) "
    "  SELECT account_id, " DB_HOT_SHARD_SQL ", n FROM hot "
    "  ON CONFLICT (account_id, shard) DO UPDATE SET n = k.n + excluded.n) "
    "SELECT count(*) FROM hot",
    0};

db_status db_hot_insert(db_conn *c, long long account_id, const ingest_rec *rec, size_t n,
                        int64_t t_min, int64_t t_max)
{
    char a[24], t0[24], t1[24], cnt[24];
    unsigned char *payload = malloc(n > 0 ? n * 24 : 1);
    const char *p[5];
    int lengths[5] = {0, 0, 0, 0, (int)(n * 24)};
    int formats[5] = {0, 0, 0, 0, 1};
    PGresult *res = NULL;
    db_status st;
    sent_part part = {account_id, rec, n};
    if (payload == NULL) {
        return DB_ERROR;
    }
    if ((st = sent_mark(c, &part, 1)) != DB_OK) {
        free(payload);
        return st;
    }
    recs_put(payload, rec, n);
    p[0] = db_ll(account_id, a);
    p[1] = db_ll(t_min, t0);
    p[2] = db_ll(t_max, t1);
    p[3] = db_ll((long long)n, cnt);
    p[4] = (const char *)payload;
    st = db_exec_bin(c, &st_hot, 5, p, lengths, formats, 0, &res);
    free(payload);
    if (st == DB_OK && (PQntuples(res) != 1 || strcmp(PQgetvalue(res, 0, 0), "1") != 0)) {
        st = DB_CONSTRAINT; /* no such account: what the foreign key said */
    }
    PQclear(res);
    return st;
}

/* A batch in one statement (one implicit transaction): check that the
 * alarm rules and states of the app's group are still those the caller
 * evaluated the batch with (the group's alarm sequence, locked FOR SHARE
 * so that no evaluation of the group commits in between), claim its id,
 * add its hot row, note the app as seen (at most every 5 s, so that busy
 * apps do not rewrite their row for every batch). The earlier count of a
 * duplicate is read only for a duplicate: a cached plan of that lookup made
 * while the table was small scanned the whole table for every batch. When
 * the sequence moved on, nothing is written. The hot row's samples are
 * added to the account's counter row of this connection (069_hot_count.sql:
 * the quota's figure without a sum over the hot rows). The hot row, its
 * count and the app's row are written by CTEs that return nothing (PostgreSQL runs every
 * data-modifying CTE to completion, read or not): no result rows kept and
 * counted for them, fewer plan nodes to start per batch (issue 16). */
static db_stmt st_store_small = {"ser_store_small",
    "WITH ok AS MATERIALIZED ("
    "  SELECT $9::bigint IS NULL OR COALESCE((SELECT g.seq FROM alarm_groups g "
    "    WHERE g.account_id = $1 AND g.group_id = $9::bigint FOR SHARE), 0) = $10::bigint AS ok), "
    "app AS MATERIALIZED ("
    "  SELECT 1 FROM apps a WHERE a.account_id = $1 AND a.id = $2::bigint FOR KEY SHARE), "
    "claim AS ("
    "  INSERT INTO ingest_batches (account_id, app_id, batch_id, n_samples) "
    "  SELECT $1, CASE WHEN EXISTS (SELECT 1 FROM app) THEN $2 "
    "    ELSE mt_ingest_app_gone($1, $2) END, "
    "    $3, $4 FROM ok WHERE ok.ok ON CONFLICT DO NOTHING RETURNING 1), "
    "hot AS ("
    "  INSERT INTO series_hot (account_id, t_min, t_max, n, payload, counted) "
    "  SELECT $1, $5, $6, $4, $7, true FROM claim), "
    "cnt AS ("
    "  INSERT INTO series_hot_count AS k (account_id, shard, n) "
    "  SELECT $1, " DB_HOT_SHARD_SQL ", $4 FROM claim "
    "  ON CONFLICT (account_id, shard) DO UPDATE SET n = k.n + excluded.n), "
    "seen AS ("
    "  UPDATE app_seen SET last_seen_at = now(), last_seen_ip = $8::inet, connected = true, "
    "    connected_at = CASE WHEN connected THEN connected_at ELSE now() END, "
    "    connection_cause = CASE WHEN connected THEN connection_cause ELSE 'data' END "
    "  WHERE account_id = $1 AND app_id = $2 AND EXISTS (SELECT 1 FROM claim) "
    "    AND (last_seen_at IS NULL OR last_seen_at < now() - interval '5 seconds' "
    "         OR NOT connected)) "
    "SELECT EXISTS (SELECT 1 FROM claim), "
    "  CASE WHEN NOT EXISTS (SELECT 1 FROM claim) THEN (SELECT n_samples FROM ingest_batches "
    "   WHERE account_id = $1 AND app_id = $2 AND batch_id = $3) END, (SELECT ok FROM ok)", 0};

db_status db_ingest_store_small(db_conn *c, long long account_id, long long app_id,
                                const char *batch_id, const ingest_rec *rec, size_t n,
                                int64_t t_min, int64_t t_max, const char *ip,
                                long long alarm_group, long long alarm_seq, bool *seq_ok,
                                bool *fresh, long long *prev_samples)
{
    char a[24], b[24], cnt[24], t0[24], t1[24], g[24], q[24];
    unsigned char *payload = malloc(n > 0 ? n * 24 : 1);
    const char *p[10];
    int lengths[10] = {0, 0, 0, 0, 0, 0, (int)(n * 24), 0, 0, 0};
    int formats[10] = {0, 0, 0, 0, 0, 0, 1, 0, 0, 0};
    PGresult *res = NULL;
    db_status st;
    bool unseen = false; /* a duplicate whose first copy this statement did not see */
    *fresh = false;
    *seq_ok = false;
    sent_part part = {account_id, rec, n};
    *prev_samples = 0;
    if (payload == NULL) {
        return DB_ERROR;
    }
    if ((st = sent_mark(c, &part, 1)) != DB_OK) {
        free(payload);
        return st;
    }
    recs_put(payload, rec, n);
    p[0] = db_ll(account_id, a);
    p[1] = db_ll(app_id, b);
    p[2] = batch_id;
    p[3] = db_ll((long long)n, cnt);
    p[4] = db_ll(t_min, t0);
    p[5] = db_ll(t_max, t1);
    p[6] = (const char *)payload;
    p[7] = ip;
    p[8] = alarm_group != 0 ? db_ll(alarm_group, g) : NULL;
    p[9] = db_ll(alarm_seq, q);
    st = db_exec_bin(c, &st_store_small, 10, p, lengths, formats, 0, &res);
    free(payload);
    if (st == DB_OK && PQntuples(res) == 1) {
        *seq_ok = PQgetvalue(res, 0, 2)[0] == 't';
        *fresh = *seq_ok && PQgetvalue(res, 0, 0)[0] == 't';
        if (*seq_ok && !*fresh) {
            if (!PQgetisnull(res, 0, 1)) {
                *prev_samples = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
            } else {
                unseen = true;
            }
        }
    }
    PQclear(res);
    if (unseen) {
        claimed_count(c, account_id, app_id, batch_id, prev_samples);
    }
    return st;
}

/* Several small batches in one statement (group commit, issue 16): each
 * row of the arrays is what st_store_small takes for one batch; their
 * payloads are one bytea ($12) cut at offsets. The groups' rows are locked
 * first (in order: the scalar subquery of "ok" reads all of "chk"), then
 * the apps' rows FOR KEY SHARE in order (each app once: what the foreign
 * key's check did per batch, migration 060), then every claim is made (the
 * sort of "seen" reads all of "claim") before any app's app_seen row is
 * updated (migration 064: the seen columns' narrow table), and
 * claims in key order (batch ids compared as the key does, COLLATE "C"),
 * and last the accounts' counter rows of this connection's shard
 * (069_hot_count.sql), once per account, in account order (the samples
 * read from the claims' rows: n_samples is each hot row's n):
 * the same order of locks as st_store_small and as any other group, so no
 * deadlock between them.
 *
 * Its first array is read through a subquery, so that no plan knows how
 * many batches a group has: PostgreSQL plans a prepared statement anew
 * for each execution (a custom plan) while that looks cheaper than the
 * plan made once for any parameters (the generic plan), and with the
 * arrays' lengths in view a group of 2 or 3 batches always did (the group
 * statement planned again for every group, about 300 us of PostgreSQL CPU
 * each; issue 16). Without their lengths both kinds of plan cost the same
 * and the generic plan is kept after the first five executions, whatever
 * the size of those groups.
 *
 * Every plan node is started for every group, whether it has rows or not,
 * and the executor's start is about a sixth of the statement's
 * instructions in a group of 11 (docs/benchmarks.md "grpstmt"). So: the
 * arrays are read where they are used, not first copied into a CTE of
 * their own; a group none of whose batches has an alarm group (apps in no
 * measurement group) takes st_store_group_plain, without the groups' lock
 * and the sequence check, which have nothing to do then;
 * and the answer's rows come in no particular order, each with its batch's
 * number (k, from 1), instead of being sorted.
 *
 * "ok" holds only what the claim, the joins and the answer read (account,
 * app, batch id, count, k): PostgreSQL puts each array of a multi-array
 * unnest() in a tuple store of its own and then copies every row of "ok"
 * into the CTE's store, the sorts and the hash tables, so the times, the
 * payload's offset and the IP are read by subscript ($5[k]) where they are
 * used, each batch's payload is its 24 x n bytes from its offset (no array
 * of lengths), and st_store_group_plain has no "ok" column at all
 * (docs/benchmarks.md "grpstmt2": 7.6 % of the statement's instructions).
 * The hot rows are sorted (by k: ids in the order of the batches) before
 * their payloads are cut, so that the sort copies no payload (1 % more).
 * "app" reads the group's pairs from "ok" (no second unnest(); 1.4 %):
 * "ok" is made when the claim's sort reads it, before the claim's check
 * reads "app", so the groups are still locked before the apps. It finds
 * the apps by an array of their ids (apps_pkey) with the accounts as a
 * filter (an app id is one app, of one account; the claim's check still
 * compares each batch's pair), not by a join of the pairs: the join's
 * generic plan read all of apps (a sequential scan into a hash join) up to
 * some thousands of apps in the database, so that a group's fixed cost grew
 * with every tenant's apps (1.7 M instructions a group at 1,000 apps, 0.78 M
 * at 100; docs/benchmarks.md "grpseen"). By the array the plan is an index
 * scan from a few hundred apps on, and below that a scan that compares each
 * row with the array (no hash table: cheaper than the join at 100 too). */
#define GROUP_OK_ARRAYS                                                                           \
    "unnest((SELECT $1::bigint[]), $2::bigint[], $3::text[], $4::int[]"
#define GROUP_APPS                                                                                \
    "app AS MATERIALIZED ("                                                                       \
    "  SELECT a.account_id, a.id FROM apps a "                                                    \
    "  WHERE a.id = ANY (ARRAY(SELECT ok.app FROM ok)) "                                          \
    "    AND a.account_id = ANY (ARRAY(SELECT ok.acc FROM ok)) "                                  \
    "  ORDER BY a.account_id, a.id FOR KEY SHARE OF a), "
#define GROUP_WRITES(OK)                                                                          \
    "claim AS ("                                                                                  \
    "  INSERT INTO ingest_batches (account_id, app_id, batch_id, n_samples) "                     \
    "  SELECT ok.acc, CASE WHEN EXISTS (SELECT 1 FROM app l WHERE l.account_id = ok.acc "         \
    "    AND l.id = ok.app) THEN ok.app ELSE mt_ingest_app_gone(ok.acc, ok.app) END, ok.bid, ok.n " \
    "  FROM ok WHERE " OK " ORDER BY ok.acc, ok.app, ok.bid COLLATE \"C\" "                       \
    "  ON CONFLICT DO NOTHING RETURNING account_id, app_id, batch_id, n_samples), "               \
    "hot AS ("                                                                                    \
    "  INSERT INTO series_hot (account_id, t_min, t_max, n, payload, counted) "                   \
    "  SELECT f.acc, ($5::bigint[])[f.k], ($6::bigint[])[f.k], f.n, "                             \
    "    substring($9::bytea FROM ($7::int[])[f.k] + 1 FOR f.n * 24), true "                      \
    "  FROM (SELECT ok.acc, ok.n, ok.k FROM ok JOIN claim c ON c.account_id = ok.acc "            \
    "    AND c.app_id = ok.app AND c.batch_id = ok.bid ORDER BY ok.k) f), "                       \
    "cnt AS ("                                                                                    \
    "  INSERT INTO series_hot_count AS k (account_id, shard, n) "                                 \
    "  SELECT c.account_id, " DB_HOT_SHARD_SQL ", sum(c.n_samples) FROM claim c "                 \
    "  GROUP BY c.account_id ORDER BY c.account_id "                                              \
    "  ON CONFLICT (account_id, shard) DO UPDATE SET n = k.n + excluded.n), "                     \
    "seen AS ("                                                                                   \
    "  UPDATE app_seen a SET last_seen_at = now(), last_seen_ip = s.ip::inet, connected = true, " \
    "    connected_at = CASE WHEN a.connected THEN a.connected_at ELSE now() END, "               \
    "    connection_cause = CASE WHEN a.connected THEN a.connection_cause ELSE 'data' END "       \
    "  FROM (SELECT DISTINCT ON (ok.acc, ok.app) ok.acc, ok.app, ($8::text[])[ok.k] AS ip "       \
    "    FROM ok JOIN claim c ON c.account_id = ok.acc AND c.app_id = ok.app "                    \
    "    AND c.batch_id = ok.bid "                                                                \
    "    ORDER BY ok.acc, ok.app, ok.k DESC) s "                                                  \
    "  WHERE a.account_id = s.acc AND a.app_id = s.app "                                          \
    "    AND (a.last_seen_at IS NULL OR a.last_seen_at < now() - interval '5 seconds' "           \
    "         OR NOT a.connected)) "                                                              \
    "SELECT ok.k, " OK ", c.batch_id IS NOT NULL, "                                               \
    "  CASE WHEN " OK " AND c.batch_id IS NULL THEN (SELECT b.n_samples FROM ingest_batches b "   \
    "    WHERE b.account_id = ok.acc AND b.app_id = ok.app AND b.batch_id = ok.bid) END "         \
    "FROM ok LEFT JOIN claim c ON c.account_id = ok.acc AND c.app_id = ok.app "                   \
    "  AND c.batch_id = ok.bid"

static db_stmt st_store_group = {"ser_store_group",
    "WITH chk AS MATERIALIZED ("
    "  SELECT g.account_id, g.group_id, g.seq FROM alarm_groups g "
    "  WHERE (g.account_id, g.group_id) IN (SELECT * FROM unnest((SELECT $1::bigint[]), $10::bigint[]) "
    "    x(acc, grp) WHERE grp IS NOT NULL) "
    "  ORDER BY g.account_id, g.group_id FOR SHARE OF g), "
    "ok AS MATERIALIZED ("
    "  SELECT u.acc, u.app, u.bid, u.n, u.k, (u.grp IS NULL OR COALESCE((SELECT c.seq FROM chk c "
    "    WHERE c.account_id = u.acc AND c.group_id = u.grp), 0) = u.seq) AS ok "
    "  FROM " GROUP_OK_ARRAYS ", $10::bigint[], $11::bigint[]) "
    "  WITH ORDINALITY AS u(acc, app, bid, n, grp, seq, k)), "
    GROUP_APPS GROUP_WRITES("ok.ok"), 0};

/* The same when no batch of the group has an alarm group: every batch
 * passes the check (no $10, $11). */
static db_stmt st_store_group_plain = {"ser_store_group_plain",
    "WITH ok AS MATERIALIZED (SELECT u.* FROM " GROUP_OK_ARRAYS ") "
    "  WITH ORDINALITY AS u(acc, app, bid, n, k)), "
    GROUP_APPS GROUP_WRITES("true"), 0};

/* The group statement's arrays go in PostgreSQL's binary form (array_recv:
 * a header of 20 bytes, then each element as its length and its bytes,
 * integers big-endian): no text to format here and none for PostgreSQL to
 * parse (array_in), and one buffer for all eleven arrays instead of one
 * growing buffer each (issue 16, the small ingest batch). */
enum { OID_INT8 = 20, OID_INT4 = 23, OID_TEXT = 25 };

static unsigned char *put_be32(unsigned char *p, uint32_t x)
{
    p[0] = (unsigned char)(x >> 24);
    p[1] = (unsigned char)(x >> 16);
    p[2] = (unsigned char)(x >> 8);
    p[3] = (unsigned char)x;
    return p + 4;
}

static unsigned char *put_be64(unsigned char *p, uint64_t x)
{
    p = put_be32(p, (uint32_t)(x >> 32));
    return put_be32(p, (uint32_t)x);
}

/* The header of a one-dimensional array of "n" elements of type "oid". */
static unsigned char *arr_head(unsigned char *p, size_t n, bool has_null, uint32_t oid)
{
    p = put_be32(p, 1);
    p = put_be32(p, has_null ? 1u : 0u);
    p = put_be32(p, oid);
    p = put_be32(p, (uint32_t)n);
    return put_be32(p, 1);
}

static unsigned char *el_i64(unsigned char *p, long long v)
{
    return put_be64(put_be32(p, 8), (uint64_t)v);
}

static unsigned char *el_i32(unsigned char *p, int32_t v)
{
    return put_be32(put_be32(p, 4), (uint32_t)v);
}

/* "s" (NULL: a NULL element) of "len" bytes. */
static unsigned char *el_str(unsigned char *p, const char *s, size_t len)
{
    if (s == NULL) {
        return put_be32(p, UINT32_MAX); /* -1: NULL */
    }
    p = put_be32(p, (uint32_t)len);
    memcpy(p, s, len);
    return p + len;
}

db_status db_ingest_store_group(db_conn *c, db_small_batch *const *b, size_t n)
{
    /* The statement's parameters in order: eight arrays, the payloads ($9),
     * then the alarm groups' two arrays, which st_store_group_plain does
     * not take. */
    enum { ACC, APP, BID, CNT, T0, T1, OFF, IP, PAY, GRP, SEQ, NP };
    /* Each array's element type, and the bytes of one element (its length
     * word and value; text: the length word only). */
    static const uint32_t oid[NP] = {OID_INT8, OID_INT8, OID_TEXT, OID_INT4, OID_INT8, OID_INT8,
                                     OID_INT4, OID_TEXT, 0,        OID_INT8, OID_INT8};
    static const size_t el[NP] = {12, 12, 4, 8, 12, 12, 8, 4, 0, 12, 12};
    const char *p[NP];
    int lengths[NP];
    int formats[NP];
    unsigned char *buf, *w, *start[NP];
    size_t bytes = 0, off = 0, size = 0, text = 0;
    bool null_grp = false, any_grp = false;
    PGresult *res = NULL;
    db_status st = DB_ERROR;

    for (size_t i = 0; i < n; i++) {
        bytes += b[i]->n * 24;
        text += strlen(b[i]->batch_id) + (b[i]->ip != NULL ? strlen(b[i]->ip) : 0);
        null_grp = null_grp || b[i]->alarm_group == 0;
        any_grp = any_grp || b[i]->alarm_group != 0;
    }
    for (int k = 0; k < NP; k++) {
        size += k == PAY ? 0 : 20 + n * el[k];
    }
    size += text;
    if (n == 0 || n > (size_t)INT32_MAX || bytes > (size_t)INT32_MAX || size > (size_t)INT32_MAX) {
        return DB_ERROR;
    }
    {
        /* The channels' channel_sent rows first (one statement for every
         * batch, only when a channel is not remembered). */
        sent_part *parts = malloc(n * sizeof *parts);
        if (parts == NULL) {
            return DB_ERROR;
        }
        for (size_t i = 0; i < n; i++) {
            parts[i].account_id = b[i]->account_id;
            parts[i].rec = b[i]->rec;
            parts[i].n = b[i]->n;
        }
        st = sent_mark(c, parts, n);
        free(parts);
        if (st != DB_OK) {
            return st;
        }
        st = DB_ERROR;
    }
    if ((buf = malloc(size + (bytes > 0 ? bytes : 1))) == NULL) {
        return DB_ERROR;
    }
    w = buf;
    for (int k = 0; k < NP; k++) {
        if (k == PAY || (!any_grp && (k == GRP || k == SEQ))) {
            continue;
        }
        start[k] = w;
        w = arr_head(w, n, (k == GRP && null_grp) || (k == IP), oid[k]);
        for (size_t i = 0; i < n; i++) {
            const db_small_batch *x = b[i];
            switch (k) {
            case ACC: w = el_i64(w, x->account_id); break;
            case APP: w = el_i64(w, x->app_id); break;
            case BID: w = el_str(w, x->batch_id, strlen(x->batch_id)); break;
            case CNT: w = el_i32(w, (int32_t)x->n); break;
            case T0: w = el_i64(w, x->t_min); break;
            case T1: w = el_i64(w, x->t_max); break;
            case OFF: w = el_i32(w, (int32_t)off); off += x->n * 24; break;
            case IP: w = el_str(w, x->ip, x->ip != NULL ? strlen(x->ip) : 0); break;
            case GRP:
                w = x->alarm_group != 0 ? el_i64(w, x->alarm_group) : el_str(w, NULL, 0);
                break;
            default: w = el_i64(w, x->alarm_seq); break;
            }
        }
        p[k] = (const char *)start[k];
        lengths[k] = (int)(w - start[k]);
        formats[k] = 1;
    }
    for (size_t i = 0, o = 0; i < n; i++) {
        recs_put(w + o, b[i]->rec, b[i]->n);
        o += b[i]->n * 24;
    }
    p[PAY] = (const char *)w;
    lengths[PAY] = (int)bytes;
    formats[PAY] = 1;
    st = db_exec_bin(c, any_grp ? &st_store_group : &st_store_group_plain, any_grp ? NP : PAY + 1,
                     p, lengths, formats, 0, &res);
    if (st == DB_OK && (size_t)PQntuples(res) != n) {
        st = DB_ERROR;
    }
    /* The rows in any order, each with its batch's number (k, from 1):
     * every batch answered exactly once. */
    for (size_t i = 0; st == DB_OK && i < n; i++) {
        b[i]->prev_samples = -2; /* not answered yet */
    }
    for (size_t r = 0; st == DB_OK && r < n; r++) {
        long long k = strtoll(PQgetvalue(res, (int)r, 0), NULL, 10);
        db_small_batch *x;
        if (k < 1 || (size_t)k > n || b[k - 1]->prev_samples != -2) {
            st = DB_ERROR;
            break;
        }
        x = b[k - 1];
        x->seq_ok = PQgetvalue(res, (int)r, 1)[0] == 't';
        x->fresh = x->seq_ok && PQgetvalue(res, (int)r, 2)[0] == 't';
        x->prev_samples = 0;
        if (x->seq_ok && !x->fresh) {
            if (!PQgetisnull(res, (int)r, 3)) {
                x->prev_samples = strtoll(PQgetvalue(res, (int)r, 3), NULL, 10);
            } else {
                x->prev_samples = -1; /* read again below */
            }
        }
    }
    PQclear(res);
    free(buf);
    for (size_t i = 0; st == DB_OK && i < n; i++) {
        db_small_batch *x = b[i];
        if (x->seq_ok && !x->fresh && x->prev_samples < 0) {
            claimed_count(c, x->account_id, x->app_id, x->batch_id, &x->prev_samples);
        }
    }
    return st;
}

static db_stmt st_seen = {"ser_app_seen",
    "UPDATE app_seen SET last_seen_at = now(), last_seen_ip = $3::inet, "
    "  connected = CASE $4 WHEN 'connect' THEN true WHEN 'disconnect' THEN false "
    "                      ELSE true END, "
    "  connected_at = CASE WHEN $4 = 'connect' OR NOT connected THEN now() "
    "                      ELSE connected_at END, "
    "  disconnected_at = CASE $4 WHEN 'disconnect' THEN now() ELSE disconnected_at END, "
    "  connection_cause = CASE WHEN $4 IN ('connect', 'disconnect') THEN COALESCE($5, 'app') "
    "                          WHEN NOT connected THEN COALESCE($5, 'data') "
    "                          ELSE connection_cause END "
    "WHERE account_id = $1 AND app_id = $2", 0};

db_status db_app_seen(db_conn *c, long long account_id, long long app_id, const char *ip,
                      const char *state)
{
    return db_app_seen_via(c, account_id, app_id, ip, state, NULL);
}

db_status db_app_seen_via(db_conn *c, long long account_id, long long app_id, const char *ip,
                          const char *state, const char *cause)
{
    char a[24], b[24];
    const char *p[] = {db_ll(account_id, a), db_ll(app_id, b), ip, state ? state : "", cause};
    return db_q_exec(c, &st_seen, 5, p, NULL);
}

/* ------------------------------------------------------------- queries */

#define GROUPS_OF_USER DB_GROUPS_OF_USER

static db_stmt st_visible = {"ser_visible", DB_CHANNELS_VISIBLE, 0};

/* Run "stmt" ($1 account, $2 ids, $3 viewer or NULL) and collect the ids
 * of its first column. */
static db_status ids_query(db_conn *c, db_stmt *stmt, long long account_id, long long viewer,
                           const int64_t *ids, size_t n, int64_t **out, size_t *n_out)
{
    char a[24], v[24];
    char *arr = db_id_array(ids, n);
    const char *p[3];
    PGresult *res = NULL;
    db_status st;
    *out = NULL;
    *n_out = 0;
    if (arr == NULL) {
        return DB_ERROR;
    }
    p[0] = db_ll(account_id, a);
    p[1] = arr;
    p[2] = viewer ? db_ll(viewer, v) : NULL;
    st = db_exec(c, stmt, 3, p, &res);
    free(arr);
    if (st != DB_OK) {
        return st;
    }
    *out = malloc(((size_t)PQntuples(res) + 1) * sizeof **out);
    if (*out == NULL) {
        PQclear(res);
        return DB_ERROR;
    }
    for (int r = 0; r < PQntuples(res); r++) {
        (*out)[r] = strtoll(PQgetvalue(res, r, 0), NULL, 10);
    }
    *n_out = (size_t)PQntuples(res);
    PQclear(res);
    return DB_OK;
}

db_status db_channels_visible(db_conn *c, long long account_id, long long viewer,
                              const int64_t *ids, size_t n, int64_t **out, size_t *n_out)
{
    return ids_query(c, &st_visible, account_id, viewer, ids, n, out, n_out);
}

static db_stmt st_measured = {"ser_measured",
    "SELECT c.id FROM channels c "
    "JOIN devices d ON d.account_id = c.account_id AND d.id = c.device_id "
    "JOIN apps p ON p.account_id = d.account_id AND p.id = d.app_id "
    "WHERE c.account_id = $1 AND c.id = ANY($2::bigint[]) "
    "  AND ($3::bigint IS NULL OR p.group_id IN (" GROUPS_OF_USER "))",
    0};

db_status db_channels_measured(db_conn *c, long long account_id, long long viewer,
                               const int64_t *ids, size_t n, int64_t **out, size_t *n_out)
{
    return ids_query(c, &st_measured, account_id, viewer, ids, n, out, n_out);
}

static db_stmt st_day_count = {"ser_day_count",
    "SELECT COALESCE(sum(n), 0) FROM series_day "
    "WHERE account_id = $1 AND channel_id = ANY($2::bigint[]) AND day = $3", 0};

db_status db_series_day_count(db_conn *c, long long account_id, const int64_t *ids, size_t n,
                              int64_t day, long long *count)
{
    char a[24], d[24];
    char *arr = db_id_array(ids, n);
    const char *p[] = {db_ll(account_id, a), arr, db_ll(day, d)};
    db_status st;
    *count = 0;
    if (arr == NULL) {
        return DB_ERROR;
    }
    st = db_q_int(c, &st_day_count, 3, p, count, NULL);
    free(arr);
    return st;
}

static db_stmt st_group_visible = {"ser_group_visible",
    "SELECT count(*) FROM measurement_groups g WHERE g.account_id = $1 AND g.id = $2 "
    "  AND ($3::bigint IS NULL OR g.id IN (" GROUPS_OF_USER "))", 0};

db_status db_group_visible(db_conn *c, long long account_id, long long viewer,
                           long long group_id, bool *visible)
{
    char a[24], g[24], v[24];
    const char *p[] = {db_ll(account_id, a), db_ll(group_id, g), viewer ? db_ll(viewer, v) : NULL};
    long long n = 0;
    db_status st = db_q_int(c, &st_group_visible, 3, p, &n, NULL);
    *visible = st == DB_OK && n > 0;
    return st;
}

/* db_group_visible() with the account's rights version (087, 0 without a
 * row) and the postmaster's start (µs), in the same snapshot. */
static db_stmt st_group_visible_v = {"ser_group_visible_v",
    "SELECT (SELECT count(*) FROM measurement_groups g WHERE g.account_id = $1 AND g.id = $2 "
    "  AND ($3::bigint IS NULL OR g.id IN (" GROUPS_OF_USER "))), "
    "COALESCE((SELECT r.v FROM account_rights r WHERE r.account_id = $1), 0), "
    "(extract(epoch FROM pg_postmaster_start_time()) * 1000000)::bigint", 0};

db_status db_group_visible_v(db_conn *c, long long account_id, long long viewer,
                             long long group_id, bool *visible, int64_t *version, int64_t *start)
{
    char a[24], g[24], v[24];
    const char *p[] = {db_ll(account_id, a), db_ll(group_id, g), viewer ? db_ll(viewer, v) : NULL};
    PGresult *res = NULL;
    db_status st = db_exec(c, &st_group_visible_v, 3, p, &res);
    *visible = false;
    *version = 0;
    *start = 0;
    if (st != DB_OK) {
        return st;
    }
    if (PQntuples(res) != 1 || PQnfields(res) != 3) {
        PQclear(res);
        return DB_ERROR;
    }
    *visible = strtoll(PQgetvalue(res, 0, 0), NULL, 10) > 0;
    *version = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    *start = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
    PQclear(res);
    return DB_OK;
}

#define ISO_UTC(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/* The structure of a group's monitor; what changes with every batch (the
 * apps' connection state, the channels' latest values) is read apart
 * (series_read_monitor()). */
static db_stmt st_monitor = {"ser_monitor_shape",
    "SELECT p.id, p.name, p.kind, p.enabled, "
    "       d.id, d.model, d.serial, d.name, c.id, c.ch_key, c.name, c.unit, c.selected, "
    "       false, NULL, COALESCE(c.decimals, -1) "
    "FROM apps p LEFT JOIN devices d ON d.account_id = p.account_id AND d.app_id = p.id "
    "LEFT JOIN channels c ON c.account_id = d.account_id AND c.device_id = d.id "
    "WHERE p.account_id = $1 AND p.group_id = $2 "
    "UNION ALL "
    "SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, c.id, c.ch_key, c.name, "
    "       c.unit, true, true, c.expression, COALESCE(c.decimals, -1) "
    "FROM channels c "
    "WHERE c.account_id = $1 AND c.group_id = $2 AND c.expression IS NOT NULL "
    "ORDER BY 14, 1, 5, 9", 0};

#define MON(type, member) {type, offsetof(db_monitor_row, member)}
static const db_field monitor_fields[] = {
    MON(DBF_I64, app_id),       MON(DBF_STR, app_name),      MON(DBF_STR, app_kind),
    MON(DBF_BOOL, app_enabled), MON(DBF_I64, device_id),     MON(DBF_STR, device_model),
    MON(DBF_STR, device_serial), MON(DBF_STR, device_name),  MON(DBF_I64, channel_id),
    MON(DBF_STR, ch_key),       MON(DBF_STR, ch_name),       MON(DBF_STR, unit),
    MON(DBF_BOOL, selected),    MON(DBF_BOOL, computed),     MON(DBF_STR, expression),
    MON(DBF_I64, decimals),
};
#undef MON
#define N_MONITOR_FIELDS ((int)(sizeof monitor_fields / sizeof monitor_fields[0]))

db_status db_group_monitor(db_conn *c, long long account_id, long long group_id,
                           db_monitor_row **out, int *n)
{
    char a[24], g[24];
    const char *p[] = {db_ll(account_id, a), db_ll(group_id, g)};
    return db_exec_rows(c, &st_monitor, 2, p, monitor_fields, N_MONITOR_FIELDS, sizeof **out,
                        (void **)out, n);
}

void db_monitor_rows_free(db_monitor_row *rows, int n)
{
    db_rows_free(rows, n, monitor_fields, N_MONITOR_FIELDS, sizeof *rows);
}

static db_stmt st_viewed = {"ser_viewed",
    "INSERT INTO channel_views (account_id, user_id, channel_id, viewed_at) "
    "SELECT $1, $2, unnest($3::bigint[]), now() "
    "ON CONFLICT (account_id, user_id, channel_id) DO UPDATE SET viewed_at = now()", 0};
static db_stmt st_viewed_trim = {"ser_viewed_trim",
    "DELETE FROM channel_views WHERE account_id = $1 AND user_id = $2 AND channel_id NOT IN ("
    "  SELECT channel_id FROM channel_views WHERE account_id = $1 AND user_id = $2 "
    "  ORDER BY viewed_at DESC, channel_id LIMIT 10)", 0};

static int cmp_id(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The trim keeps the 10 newest rows, ties by the smaller id; the rows of
 * one call share one time (now()), the newest, so of more than 10 ids only
 * the 10 smallest could stay: the others are neither inserted nor deleted
 * (a 32-channel chart wrote and deleted 22 rows a request). The two
 * statements commit once (one WAL flush a request, not two). */
db_status db_channels_viewed(db_conn *c, long long account_id, long long user,
                             const int64_t *ids, size_t n)
{
    char a[24], u[24];
    int64_t *kept = malloc((n ? n : 1) * sizeof *kept);
    char *arr = NULL;
    const char *p[3];
    size_t n_kept = 0;
    db_status st;
    if (kept == NULL) {
        return DB_ERROR;
    }
    memcpy(kept, ids, n * sizeof *kept);
    qsort(kept, n, sizeof *kept, cmp_id);
    for (size_t i = 0; i < n && n_kept < 10; i++) {
        if (n_kept == 0 || kept[n_kept - 1] != kept[i]) {
            kept[n_kept++] = kept[i];
        }
    }
    arr = db_id_array(kept, n_kept);
    free(kept);
    if (arr == NULL) {
        return DB_ERROR;
    }
    p[0] = db_ll(account_id, a);
    p[1] = db_ll(user, u);
    p[2] = arr;
    st = db_begin(c);
    if (st == DB_OK) {
        st = db_q_exec(c, &st_viewed, 3, p, NULL);
    }
    if (st == DB_OK) {
        st = db_q_exec(c, &st_viewed_trim, 2, p, NULL);
    }
    if (st == DB_OK) {
        st = db_commit(c);
    } else {
        (void)db_rollback(c);
    }
    free(arr);
    return st;
}

static db_stmt st_history = {"ser_history",
    "SELECT COALESCE(json_agg(json_build_object('id', c.id, 'name', c.name, 'unit', c.unit, "
    "  'key', c.ch_key, 'device_id', c.device_id, 'viewed_at', " ISO_UTC("v.viewed_at") ") "
    "  ORDER BY v.viewed_at DESC, c.id), '[]')::text "
    "FROM channel_views v JOIN channels c ON c.account_id = v.account_id AND c.id = v.channel_id "
    "WHERE v.account_id = $1 AND v.user_id = $2", 0};

db_status db_channel_history(db_conn *c, long long account_id, long long user, char **json)
{
    char a[24], u[24];
    const char *p[] = {db_ll(account_id, a), db_ll(user, u)};
    return db_q_text(c, &st_history, 2, p, json);
}

static db_stmt st_describe = {"ser_describe",
    "SELECT json_build_object('app_id', $2::bigint, "
    "  'kind', (SELECT kind FROM apps WHERE account_id = $1 AND id = $2), "
    "  'live_until', (SELECT (extract(epoch FROM s.until) * 1e6)::bigint FROM apps p "
    "     JOIN live_sessions s ON s.account_id = p.account_id AND s.group_id = p.group_id "
    "     WHERE p.account_id = $1 AND p.id = $2 AND s.until > now()), "
    "  'devices', COALESCE(json_agg("
    "  json_build_object('id', d.id, 'model', d.model, 'serial', d.serial, "
    "    'firmware', d.firmware, 'channels', "
    "    (SELECT COALESCE(json_agg(json_build_object('id', c.id, 'key', c.ch_key, "
    "       'name', c.name, 'unit', c.unit, 'selected', c.selected) ORDER BY c.position, c.id), "
    "       '[]') FROM channels c WHERE c.account_id = d.account_id AND c.device_id = d.id)) "
    "  ORDER BY d.id), '[]'))::text "
    "FROM devices d WHERE d.account_id = $1 AND d.app_id = $2", 0};

db_status db_ingest_describe(db_conn *c, long long account_id, long long app_id, char **json)
{
    char a[24], b[24];
    const char *p[] = {db_ll(account_id, a), db_ll(app_id, b)};
    return db_q_text(c, &st_describe, 2, p, json);
}
