/* Storage of the pruning of old batch ids (see db_batch_ids.h). */
#define _POSIX_C_SOURCE 200809L
#include "db_batch_ids.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_account.h"

/* The pass's row, locked, and the table's length in pages now (the pass
 * reads up to the length it finds at each step, so it also reads pages the
 * table gained meanwhile). Times are Unix seconds, -1 when NULL. */
static db_stmt st_state = {"batch_ids_state",
    "SELECT next_block, COALESCE(extract(epoch FROM pass_started_at)::bigint, -1), "
    " COALESCE(extract(epoch FROM last_pass_at)::bigint, -1), "
    " pg_relation_size('ingest_batches') / current_setting('block_size')::bigint "
    "FROM ingest_batch_prune FOR UPDATE", 0};

/* The batch ids of pages [$1, $2) received before $3: a TID range scan
 * reads only those pages, and no index is needed. */
static db_stmt st_delete = {"batch_ids_delete",
    "DELETE FROM ingest_batches WHERE ctid >= $1::tid AND ctid < $2::tid "
    " AND received_at < to_timestamp($3::bigint)", 0};

static db_stmt st_move = {"batch_ids_move",
    "UPDATE ingest_batch_prune SET next_block = $1, "
    " pass_started_at = to_timestamp($2::bigint), last_pass_at = to_timestamp($3::bigint)", 0};

/* "(block,0)": the first tuple of page "block", as a tid. */
static const char *tid_of(long long block, char buf[32])
{
    snprintf(buf, 32, "(%lld,0)", block);
    return buf;
}

static db_status move(db_conn *c, long long next, long long started, long long last)
{
    char n[24], s[24], l[24];
    const char *p[] = {db_ll(next, n), started >= 0 ? db_ll(started, s) : NULL,
                       last >= 0 ? db_ll(last, l) : NULL};
    return db_q_exec(c, &st_move, 3, p, NULL);
}

db_status db_batch_ids_prune_step(db_conn *c, int64_t now, int64_t cutoff, int64_t pass_every_s,
                                  db_batch_ids_step *out)
{
    PGresult *res = NULL;
    long long next, started, last, blocks;
    char from[32], to[32], cut[24];
    db_status st = db_exec(c, &st_state, 0, NULL, &res);
    memset(out, 0, sizeof *out);
    if (st != DB_OK) {
        return st;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        return DB_ERROR; /* 045 inserts the one row; nothing deletes it */
    }
    next = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    started = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    last = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
    blocks = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
    PQclear(res);
    if (started < 0) {
        /* Between passes. A last pass "in the future" (the clock was set
         * back) does not hold the next one back. */
        if (last >= 0 && now >= last && now - last < pass_every_s) {
            return DB_OK;
        }
        next = 0;
        started = now;
    }
    if (next < blocks) {
        const char *p[] = {tid_of(next, from), tid_of(next + DB_BATCH_IDS_STEP_BLOCKS, to),
                           db_ll(cutoff, cut)};
        if ((st = db_q_exec(c, &st_delete, 3, p, &out->deleted)) != DB_OK) {
            return st;
        }
        next += DB_BATCH_IDS_STEP_BLOCKS;
    }
    if (next >= blocks) {
        out->pass_ended = true;
        return move(c, 0, -1, now);
    }
    out->more = true;
    return move(c, next, started, last);
}
