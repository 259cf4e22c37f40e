/* Storage used per account (P2): the logo, acquired data, drive files and
 * dashboard pictures (picture_bytes, 023_dashboards.sql; db_dashboard.h).
 *
 * account_storage (004_data.sql) keeps data_bytes and drive_bytes; the
 * transactions that add or remove samples or files change them with the
 * functions below, so the counters are always consistent with the rows.
 * Lock the account first (db_account_lock()) when a quota decision depends
 * on the value read. */
#ifndef MTS_DB_STORAGE_H
#define MTS_DB_STORAGE_H

#include "db.h"

/* The storage account row "A" (an alias of accounts in the statement) uses,
 * in bytes, as one SQL expression of type bigint: the logo + acquired data
 * (day blocks' bytes) + drive files + dashboard pictures (account_storage)
 * + 24 per hot sample. The only definition of "storage used": every
 * statement that shows or decides on it writes this.
 *
 * The hot samples are not summed over the account's hot rows (a read that
 * grew with the rows the compactor has not folded yet): series_hot_count
 * (069_hot_count.sql) holds them, in at most 17 rows per account, changed
 * in the transactions that add or remove hot rows, so the figure is the sum
 * it replaces in any one snapshot. */
#define DB_STORAGE_USED_SQL(A)                                                                   \
    "(COALESCE(octet_length(" A ".logo), 0)"                                                     \
    " + COALESCE((SELECT s.data_bytes + s.drive_bytes + s.picture_bytes FROM account_storage s"  \
    "   WHERE s.account_id = " A ".id), 0)"                                                      \
    " + 24 * COALESCE((SELECT sum(k.n) FROM series_hot_count k"                                  \
    "   WHERE k.account_id = " A ".id), 0)::bigint)"

/* The counter row of series_hot_count a statement of this connection adds
 * its hot samples to (1..16, by backend: two connections writing batches of
 * one account do not wait on one row; shard 0 is the triggers'). An SQL
 * expression. */
#define DB_HOT_SHARD_SQL "(pg_backend_pid() % 16 + 1)"

/* Bytes the account uses now (DB_STORAGE_USED_SQL). */
db_status db_storage_used(db_conn *c, long long account_id, long long *bytes);

/* Add "delta" (may be negative; the counter never goes below 0) to the
 * account's drive bytes / acquired-data bytes. */
db_status db_storage_add_drive(db_conn *c, long long account_id, long long delta);
db_status db_storage_add_data(db_conn *c, long long account_id, long long delta);

#endif
