/* Storage of high-speed monitoring (M3): the live sessions of measurement
 * groups and their live samples (an UNLOGGED table, kept 10 minutes for
 * display only). Every statement filters by account_id. */
#ifndef MTS_DB_LIVE_H
#define MTS_DB_LIVE_H

#include <stdbool.h>
#include <stddef.h>

#include "db.h"
#include "ingest_batch.h"

/* One live sample: channel, time (µs), value, and core's special-value
 * kind (mt_sv; 0 = an ordinary value in "v"). */
typedef struct {
    long long channel_id;
    long long t;
    double v;
    int special;
} db_live_sample;

/* Start (or extend) the live session of group "group_id" until "until_us",
 * started by "user_id"; *until = the end now stored. */
db_status db_live_start(db_conn *c, long long account_id, long long group_id, long long until_us,
                        long long user_id, long long *until);

/* End the live session of the group (none is fine). */
db_status db_live_stop(db_conn *c, long long account_id, long long group_id);

/* The end of the group's session when it runs past "now_us" (*active). */
db_status db_live_until(db_conn *c, long long account_id, long long group_id, long long now_us,
                        long long *until, bool *active);

/* The same for the group of app "app_id". */
db_status db_live_app_until(db_conn *c, long long account_id, long long app_id,
                            long long now_us, long long *until, bool *active);

/* Store the "n" records "rec" as live samples (a sample at a time already
 * held replaces it), then drop the account's samples older than "cut_us". */
db_status db_live_put(db_conn *c, long long account_id, const ingest_rec *rec, size_t n,
                      long long cut_us);

/* The live samples of the group's channels from "since_us" on, by channel
 * then time: *out (caller frees; NULL when none) and *n. */
db_status db_live_samples(db_conn *c, long long account_id, long long group_id,
                          long long since_us, db_live_sample **out, size_t *n);

#endif
