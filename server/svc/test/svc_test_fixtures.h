/* Test fixtures as services: what the test-only routes
 * (http/test/http_test_routes.c) set up in the database. Compiled, like
 * those routes, only into the test build of the server
 * (metron-server-test; server/CMakeLists.txt). */
#ifndef MTS_SVC_TEST_FIXTURES_H
#define MTS_SVC_TEST_FIXTURES_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

#include "svc.h"

/* Create an account on "plan" with "login_id" (NULL for Trial) and
 * "alt_login_id" (may be NULL) named "name"; Standard and Pro get a
 * licence until "licence_expires" (Unix s), Trial expires at
 * "trial_expires". Sets *account_id. SVC_DB. */
MT_MUSTCHECK
svc_status svc_test_account_create(srv *s, const char *login_id, const char *alt_login_id,
                                   const char *name, const char *plan, int64_t licence_expires,
                                   int64_t trial_expires, long long *account_id, svc_error *e);

/* A user of "account_id" with "password" (hashed here); "email" may be
 * NULL. Sets *user_id. SVC_DB, SVC_INTERNAL (no hash). */
MT_MUSTCHECK
svc_status svc_test_user_create(srv *s, long long account_id, const char *login_id,
                                const char *name, const char *email, bool email_login,
                                const char *role, const char *file_access, const char *password,
                                long long *user_id, svc_error *e);

/* Run computed-channel back-fill rounds of at most "days" days until no
 * job is left or "rounds" rounds did work: {rounds, days, finished,
 * jobs_left} into *out (caller owns). SVC_UNAVAILABLE db_unavailable when
 * the database failed. */
MT_MUSTCHECK
svc_status svc_test_backfill(srv *s, long long rounds, long long days, cJSON **out, svc_error *e);

/* Fold every hot row now, then build the month rows due: {hot_rows,
 * samples, blocks, dropped, months} into *out (caller owns).
 * SVC_UNAVAILABLE db_unavailable when the database failed. */
MT_MUSTCHECK
svc_status svc_test_compact(srv *s, cJSON **out, svc_error *e);

/* How long svc_test_listen_barrier() waits for its barrier to be heard. */
#define SVC_TEST_BARRIER_WAIT_MS 10000

/* A barrier through the listener of announced changes (db_listen.h): commit
 * a barrier NOTIFY on a pooled connection and wait up to
 * SVC_TEST_BARRIER_WAIT_MS until the listener thread has heard it, so that
 * every announcement committed before this call has been handled. Sets
 * *waited_ms. SVC_UNAVAILABLE (not listening now, or not heard in time),
 * SVC_DB (the NOTIFY failed). */
MT_MUSTCHECK
svc_status svc_test_listen_barrier(srv *s, double *waited_ms, svc_error *e);

#endif
