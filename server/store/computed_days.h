/* Computed channels (X1-X4, S2; docs/computed.md): computing their samples
 * from their inputs' as data arrives, and back-filling them over the data
 * their inputs already hold.
 *
 * Rule of computation: a computed channel has a sample at every time at
 * which each of its inputs has a sample (exact timestamps: inputs acquired
 * by one app at one interval share their times); its value is core's
 * mt_expr_eval() of the inputs at that time, special values included. Its
 * samples are stored like measured ones, one day block per UTC day, always
 * recomputed whole from the inputs' whole day.
 *
 * Who writes a computed channel's data: the compactor (computed_on_fold(),
 * inside its round), the back-fill (computed_backfill_round()) and the API
 * when an edit clears old values (svc_computed.c). Each of them first
 * locks the account's storage counter row (db_cx_lock_storage()), so the
 * writers of one account run one after the other, and each reads its
 * inputs after that lock: a day is never written from data older than what
 * another writer committed before it. Lock order everywhere: the account
 * row (quota checks), then the storage row, then channel and job rows. */
#ifndef MTS_COMPUTED_DAYS_H
#define MTS_COMPUTED_DAYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "mt/expr.h"

/* Who is told of a computed channel's new values: the alarm rules over it
 * (svc_alarm_eval.c registers itself at start-up; the store cannot call
 * up into the services). Called inside the compaction transaction with the
 * day's values of channel "ch" (time-sorted). */
typedef db_status (*computed_values_hook)(db_conn *c, long long account_id, int64_t ch,
                                          const int64_t *t, const double *v, size_t n);
void computed_set_hook(computed_values_hook fn);

/* Recompute computed channel "ch" (expression "e", inputs "inputs" bound in
 * order to CH1..CHn) for UTC day "day" from the inputs' samples (day
 * blocks and hot rows) and replace its day block (an empty result deletes
 * it), moving its latest value forward; "live" (the compactor, not the
 * back-fill) also tells the hook above. Inside the caller's transaction,
 * with the storage row locked (see above). */
db_status computed_day(db_conn *c, long long account_id, long long ch, const mt_expr *e,
                       const int64_t *inputs, size_t n_inputs, int64_t day, bool live);

/* What back-fill rounds did. */
typedef struct {
    size_t rounds;    /* rounds that did work */
    size_t days;      /* channel-days computed */
    size_t finished;  /* jobs finished */
} computed_backfill_stats;

/* One back-fill round: take the job touched longest ago, compute up to
 * "max_days" of its days (fewer when they take more than about 250 ms) in
 * one transaction, and move the job on (or delete it when done). Returns 1
 * when it did something, 0 when no job is left, -1 on a database error
 * (logged; nothing changed). "st" (may be NULL) is added to. Thread-safe:
 * rounds on the same account wait for each other. */
int computed_backfill_round(db_pool *pool, size_t max_days, computed_backfill_stats *st);

/* Start / stop the back-fill thread: rounds until no job is left, then a
 * pause of "interval_ms" (the compactor's interval: a new job starts within
 * that time). Stop before the pool is freed; safe when none was started. */
int computed_backfill_start(db_pool *pool, int interval_ms);
void computed_backfill_stop(void);

#endif
