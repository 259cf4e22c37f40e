/* Storage of computed channels (X1-X4, S2; docs/computed.md): the channel
 * rows (004_data.sql: device_id NULL, group_id, expression, inputs), the
 * back-fill jobs (008_computed.sql) and the group access that decides who
 * may read or change them.
 *
 * libpq only: prepared statements with parameters; every statement filters
 * on the account id it is given. Answers for the API are JSON text built by
 * PostgreSQL. */
#ifndef MTS_DB_COMPUTED_H
#define MTS_DB_COMPUTED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "mt/expr.h"

/* What a user may do with a measurement group. */
typedef enum {
    CX_ACCESS_NONE = 0, /* no such group in the account, or no grant */
    CX_ACCESS_VIEW = 1,
    CX_ACCESS_EDIT = 2  /* administrators, and members granted 'edit' */
} cx_access;

/* The access of "user_id" to group "group_id" ("admin": edit on every
 * group of the account; a member: the best of their own and their teams'
 * grants) into *access. */
db_status db_cx_group_access(db_conn *c, long long account_id, long long user_id, bool admin,
                             long long group_id, cx_access *access);

/* One computed channel: its definition. "expression", "name" and "unit"
 * are malloc'd (free with db_cx_row_free()). */
typedef struct {
    long long id;
    long long group_id;
    char *expression;
    char *name;
    char *unit;
    int64_t inputs[MT_EXPR_MAX_INPUTS]; /* bound in order to CH1..CHn */
    size_t n_inputs;
} db_cx_row;

void db_cx_row_free(db_cx_row *r);

/* Computed channel "id" of the account into *out (*found false when there
 * is none: no such channel, or a measured one); "lock" takes its row lock
 * for the rest of the transaction. */
db_status db_cx_get(db_conn *c, long long account_id, long long id, bool lock, db_cx_row *out,
                    bool *found);

/* The API's JSON object of computed channel "id" (caller frees; NULL when
 * there is none), and the JSON array of every computed channel of group
 * "group_id" by id. */
db_status db_cx_get_json(db_conn *c, long long account_id, long long id, char **json);
db_status db_cx_list_json(db_conn *c, long long account_id, long long group_id, char **json);

/* What the account knows of candidate input channel "id". */
typedef struct {
    bool found;         /* a channel of this account */
    bool computed;      /* a computed channel (not allowed as an input) */
    long long group_id; /* its measurement group (a measured channel's app's); 0 = none */
} db_cx_input;

/* Look up the "n" channels "ids" of the account: out[i] describes ids[i]. */
db_status db_cx_inputs_info(db_conn *c, long long account_id, const int64_t *ids, size_t n,
                            db_cx_input *out);

/* The number of computed channels of group "group_id" (P8). */
db_status db_cx_count(db_conn *c, long long account_id, long long group_id, long long *n);

/* Insert a computed channel of group "group_id" (key "X<n>", n one more
 * than the largest of the group); its id into *id. */
db_status db_cx_insert(db_conn *c, long long account_id, long long group_id, const char *name,
                       const char *unit, const char *expression, const int64_t *inputs,
                       size_t n_inputs, long long *id);

/* Change computed channel "id": NULL "name"/"unit"/"expression" and
 * n_inputs == 0 keep what is stored. */
db_status db_cx_update(db_conn *c, long long account_id, long long id, const char *name,
                       const char *unit, const char *expression, const int64_t *inputs,
                       size_t n_inputs);

/* Delete computed channel "id" (its samples go with it: 004's trigger;
 * its back-fill job: the foreign key). *found false when there was none. */
db_status db_cx_delete(db_conn *c, long long account_id, long long id, bool *found);

/* Delete every day block and the latest value of computed channel "id",
 * giving the bytes back to the account's storage counter. */
db_status db_cx_data_clear(db_conn *c, long long account_id, long long id);

/* Lock the account's storage counter row for the rest of the transaction
 * (creating it when missing). Every transaction that writes a computed
 * channel's data takes it first (the compactor holds it when it calls
 * computed_on_fold()), so such writers of one account run one at a time:
 * see computed.h. */
db_status db_cx_lock_storage(db_conn *c, long long account_id);

/* ---------------------------------------------------------- back-fill */

/* (Re)start the back-fill of computed channel "id" over the days on which
 * its inputs hold stored data: *total_days receives their count (0: no
 * job is left, there is nothing to compute). */
db_status db_cx_backfill_schedule(db_conn *c, long long account_id, long long id,
                                  const int64_t *inputs, size_t n_inputs, long long *total_days);

/* The job touched longest ago (no lock): *found false when none is left. */
db_status db_cx_backfill_next(db_conn *c, long long *account_id, long long *id, bool *found);

/* Lock the job of channel "id" and read where it stands. */
db_status db_cx_backfill_lock(db_conn *c, long long account_id, long long id, int64_t *next_day,
                              bool *found);

/* Up to "limit" days from "from_day" on (increasing) on which any of the
 * "n_inputs" channels "inputs" has a stored day block: days[0..*n_days). */
db_status db_cx_input_days(db_conn *c, long long account_id, const int64_t *inputs,
                           size_t n_inputs, int64_t from_day, size_t limit, int64_t *days,
                           size_t *n_days);

/* The job of "id" did "done" more days; it continues from "next_day". */
db_status db_cx_backfill_advance(db_conn *c, long long account_id, long long id,
                                 int64_t next_day, long long done);

/* Move the job of "id" to the back of the queue (after a failed round). */
db_status db_cx_backfill_touch(db_conn *c, long long account_id, long long id);

/* The job of "id" is finished: delete it. */
db_status db_cx_backfill_finish(db_conn *c, long long account_id, long long id);

/* The number of back-fill jobs left in every account. */
db_status db_cx_backfill_count(db_conn *c, long long *n);

/* Computed channels of the account with at least one input among the
 * "n" channel ids "channels": *out (caller frees each with db_cx_row_free()
 * and the array with free()) and *n_out. */
db_status db_cx_affected(db_conn *c, long long account_id, const int64_t *channels, size_t n,
                         db_cx_row **out, size_t *n_out);

#endif
