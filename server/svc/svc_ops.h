/* The operator's services (docs/operations.md): what GET /metrics reads from
 * the database, and the operator's API on accounts: list, freeze (L8),
 * delete on request or at contract end (O4). The operator acts on any
 * account: these take no actor (the route checked METRON_OPS_TOKEN). Every
 * "now" is auth_now(), so the test clock drives them. */
#ifndef MTS_SVC_OPS_H
#define MTS_SVC_OPS_H

#include <stdbool.h>

#include "db_ops.h"
#include "svc.h"

/* Read the queue depths, the compactor's lag and WAL archiving into "out"
 * at the server's clock. Returns false when the database did not answer
 * within "wait_ms" ("out" zeroed). */
bool svc_ops_queues(srv *s, int wait_ms, db_ops_queues *out);

#include <cjson/cJSON.h>
#include <stdint.h>

/* The plan in force for stored plan "plan" with licence expiry day
 * "expiry_day" (-1 = none) at "now_us" (L3: a lapsed Standard/Pro licence
 * is Free). An unknown name counts as Free. */
mt_plan svc_ops_plan_in_force(const char *plan, long long expiry_day, int64_t now_us);

/* A page of accounts (db_ops_accounts() filters) as {items: [account],
 * next_after} into *out (caller frees). "limit" 1..200. */
MT_MUSTCHECK
svc_status svc_ops_accounts(srv *s, long long after, int limit, const char *status,
                            const char *plan, const char *q, cJSON **out, svc_error *e);

/* One account as the operator sees it (SVC_NOT_FOUND). */
MT_MUSTCHECK
svc_status svc_ops_account(srv *s, long long id, cJSON **out, svc_error *e);

/* L8: freeze account "id" ("reason" 1..500 characters, checked by the
 * caller) or make it active again (reason NULL): sign-in, every request of
 * its users and tokens and its apps' ingestion are refused while frozen,
 * nothing is deleted. *out: the account afterwards. */
MT_MUSTCHECK
svc_status svc_ops_freeze(srv *s, long long id, const char *reason, cJSON **out, svc_error *e);

/* O4: set the instant "at_s" (Unix seconds, after now; 0 clears it) when
 * the contract of account "id" ends and the account_deletions job deletes
 * it. *out: the account afterwards. */
MT_MUSTCHECK
svc_status svc_ops_contract_end(srv *s, long long id, long long at_s, cJSON **out, svc_error *e);

/* O4: delete account "id" now, irreversibly, with everything it owns
 * (acquired data, files, reports, users, tokens, sessions, audit), and
 * record it with "reason" ("request", "terms" or "operator"). "confirm"
 * must be the account's login ID (a Trial's: its id in decimal), so that a
 * wrong id in a script deletes nothing (SVC_INVALID confirm_mismatch).
 * *record: the deletion record as JSON text (caller frees). */
MT_MUSTCHECK
svc_status svc_ops_delete(srv *s, long long id, const char *confirm, const char *reason,
                          char **record, svc_error *e);

/* The deletion records, newest first (JSON array text; caller frees). */
MT_MUSTCHECK
svc_status svc_ops_deletions(srv *s, long long before, int limit, char **json, svc_error *e);

/* Jobs (jobs.c): accounts whose contract ended (O4), and trials that ended
 * (L4), are deleted and recorded like svc_ops_delete(), a bounded number a
 * round. 0 with *done = accounts deleted, or -1 (logged). */
int svc_ops_job_contracts(srv *s, int64_t now, long long *done);
int svc_ops_job_trials(srv *s, int64_t now, long long *done);

/* ------------------------------------------------- maintenance windows (O1) */

/* Load the open windows into the schedule in memory (maintenance.h).
 * Returns 0, or -1 (logged) keeping the schedule it had. */
int svc_ops_maintenance_reload(srv *s);

/* The job: reload (other processes' changes reach this one within a round). */
int svc_ops_job_maintenance(srv *s, int64_t now, long long *done);

/* The open windows as {items: [window]} (caller frees *out). */
MT_MUSTCHECK
svc_status svc_ops_maintenance_list(srv *s, cJSON **out, svc_error *e);

/* Schedule a window from "starts_at" to "ends_at" (Unix seconds), announced
 * from "announce_at" (-1: 72 hours before the start, or now if that is
 * later). SVC_INVALID when it ends before now or at/before its start, lasts
 * more than 12 hours, starts more than a year ahead, or is announced after
 * its start. *out: the window. */
MT_MUSTCHECK
svc_status svc_ops_maintenance_add(srv *s, int64_t announce_at, int64_t starts_at,
                                   int64_t ends_at, cJSON **out, svc_error *e);

/* Cancel open window "id" (SVC_NOT_FOUND: none, or already over). */
MT_MUSTCHECK
svc_status svc_ops_maintenance_cancel(srv *s, long long id, svc_error *e);

/* What the portal shows at "now" (GET /api/v1/maintenance): {window: null}
 * or {window: {id, announce_at, starts_at, ends_at, in_progress}}, from the
 * schedule in memory (no database). NULL when out of memory. */
cJSON *svc_ops_maintenance_now(int64_t now);

/* The connection pool's occupancy now: its size, the connections free and
 * the threads waiting for one (db_pool_stats()). Thread-safe. */
void svc_ops_pool(srv *s, int *size, int *idle, int *waiting);

#endif
