/* Storage of acquired data (004_data.sql, docs/storage.md): ingestion
 * batches, the hot table, day blocks, latest values. Prepared statements
 * only; every statement filters by account id. */
#ifndef MTS_DB_SERIES_H
#define MTS_DB_SERIES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "ingest.h"

/* The app holding credential hash "hash_hex": its account and id, whether
 * it is enabled, and whether its account may ingest (status active and not
 * an expired trial). *found false when no app has it. */
db_status db_ingest_app(db_conn *c, const char *hash_hex, int64_t now_us, long long *account_id,
                        long long *app_id, bool *enabled, bool *account_ok, bool *found);

/* The measured channels of the app's devices, sorted by id, into *out
 * (caller frees) and *n. */
db_status db_ingest_channels(db_conn *c, long long account_id, long long app_id,
                             ingest_channel **out, size_t *n);

/* Record batch "batch_id" with "n_samples". *fresh false when the app had
 * already sent it (then *prev_samples is what was stored then). */
db_status db_ingest_claim(db_conn *c, long long account_id, long long app_id,
                          const char *batch_id, size_t n_samples, bool *fresh,
                          long long *prev_samples);

/* Insert "n" records (sorted) as one hot row. */
db_status db_hot_insert(db_conn *c, long long account_id, const ingest_rec *rec, size_t n,
                        int64_t t_min, int64_t t_max);

/* The app was heard from: last_seen_at = now, last_seen_ip = "ip" (may be
 * NULL); "state" NULL (heartbeat/batch), "connect" or "disconnect". */
db_status db_app_seen(db_conn *c, long long account_id, long long app_id, const char *ip,
                      const char *state);

/* Payload records, little-endian on the wire: encode / decode one. */
void db_rec_put(unsigned char *p, const ingest_rec *r);
void db_rec_get(const unsigned char *p, ingest_rec *r);

#endif
