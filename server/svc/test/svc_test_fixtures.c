/* Test fixtures as services (see svc_test_fixtures.h). */
#define _POSIX_C_SOURCE 200809L
#include "svc_test_fixtures.h"

#include <time.h>

#include "auth.h"
#include "auth_password.h"
#include "db_auth.h"
#include "computed_days.h"
#include "db_computed.h"
#include "db_listen.h"
#include "series_store.h"

svc_status svc_test_account_create(srv *s, const char *login_id, const char *alt_login_id,
                                   const char *name, const char *plan, int64_t licence_expires,
                                   int64_t trial_expires, long long *account_id, svc_error *e)
{
    db_conn *c = NULL;
    db_status st = db_acquire(s->pool, DB_WAIT_MS, &c);
    if (st == DB_OK) {
        st = db_auth_test_account(c, login_id, alt_login_id, name, plan, licence_expires,
                                  trial_expires, account_id);
    }
    db_release(s->pool, c);
    return st == DB_OK ? SVC_OK : svc_fail_db(e, st, NULL);
}

svc_status svc_test_user_create(srv *s, long long account_id, const char *login_id,
                                const char *name, const char *email, bool email_login,
                                const char *role, const char *file_access, const char *password,
                                long long *user_id, svc_error *e)
{
    char hash[PASSWORD_HASH_CAP];
    db_conn *c = NULL;
    db_status st;
    if (password_hash(password, hash, sizeof hash) != 0) {
        return svc_fail(e, SVC_INTERNAL, NULL, NULL, "hashing failed");
    }
    if ((st = db_acquire(s->pool, DB_WAIT_MS, &c)) == DB_OK) {
        st = db_auth_test_user(c, account_id, login_id, name, email, email_login, role, file_access,
                               hash, user_id);
    }
    db_release(s->pool, c);
    return st == DB_OK ? SVC_OK : svc_fail_db(e, st, NULL);
}

svc_status svc_test_backfill(srv *s, long long rounds, long long days, cJSON **out, svc_error *e)
{
    computed_backfill_stats st = {0};
    long long left = 0;
    db_conn *c = NULL;
    int rc = 1;
    *out = NULL;
    for (long long i = 0; i < rounds && rc == 1; i++) {
        rc = computed_backfill_round(s->pool, (size_t)days, &st);
    }
    if (rc < 0) {
        return svc_fail(e, SVC_UNAVAILABLE, "db_unavailable", NULL, "back-fill failed");
    }
    if (db_acquire(s->pool, DB_WAIT_MS, &c) != DB_OK || db_cx_backfill_count(c, &left) != DB_OK) {
        db_release(s->pool, c);
        return svc_fail(e, SVC_UNAVAILABLE, "db_unavailable", NULL, "back-fill failed");
    }
    db_release(s->pool, c);
    if ((*out = cJSON_CreateObject()) == NULL) {
        return svc_fail_nomem(e);
    }
    cJSON_AddNumberToObject(*out, "rounds", (double)st.rounds);
    cJSON_AddNumberToObject(*out, "days", (double)st.days);
    cJSON_AddNumberToObject(*out, "finished", (double)st.finished);
    cJSON_AddNumberToObject(*out, "jobs_left", (double)left);
    return SVC_OK;
}

svc_status svc_test_compact(srv *s, cJSON **out, svc_error *e)
{
    series_compact_stats st = {0};
    *out = NULL;
    if (series_compact_all(s->pool, &st) != 0) {
        return svc_fail(e, SVC_UNAVAILABLE, "db_unavailable", NULL, "compaction failed");
    }
    if ((*out = cJSON_CreateObject()) == NULL) {
        return svc_fail_nomem(e);
    }
    cJSON_AddNumberToObject(*out, "hot_rows", (double)st.hot_rows);
    cJSON_AddNumberToObject(*out, "samples", (double)st.samples);
    cJSON_AddNumberToObject(*out, "blocks", (double)st.blocks);
    cJSON_AddNumberToObject(*out, "dropped", (double)st.dropped);
    cJSON_AddNumberToObject(*out, "months", (double)st.months);
    return SVC_OK;
}

svc_status svc_test_listen_barrier(srv *s, double *waited_ms, svc_error *e)
{
    db_listen_barrier b;
    db_conn *c = NULL;
    db_status st;
    struct timespec t0, t1;
    bool heard;
    *waited_ms = 0;
    if (!auth_listening()) {
        return svc_fail(e, SVC_UNAVAILABLE, NULL, NULL,
                        "The server does not hear announced changes now.");
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    /* Registered before it is sent, so that it cannot be heard unseen. */
    db_listen_barrier_begin(&b);
    if ((st = db_acquire(s->pool, DB_WAIT_MS, &c)) == DB_OK) {
        st = db_listen_barrier_send(c, &b);
    }
    db_release(s->pool, c);
    heard = db_listen_barrier_end(&b, st == DB_OK ? SVC_TEST_BARRIER_WAIT_MS : 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    *waited_ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    if (st != DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    if (!heard) {
        return svc_fail(e, SVC_UNAVAILABLE, NULL, NULL,
                        "The server did not hear its own announcement within %d s.",
                        SVC_TEST_BARRIER_WAIT_MS / 1000);
    }
    return SVC_OK;
}
