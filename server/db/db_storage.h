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

/* Bytes the account uses now: logo + acquired data + drive files +
 * dashboard pictures. */
db_status db_storage_used(db_conn *c, long long account_id, long long *bytes);

/* Add "delta" (may be negative; the counter never goes below 0) to the
 * account's drive bytes / acquired-data bytes. */
db_status db_storage_add_drive(db_conn *c, long long account_id, long long delta);
db_status db_storage_add_data(db_conn *c, long long account_id, long long delta);

#endif
