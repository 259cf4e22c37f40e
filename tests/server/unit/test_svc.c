/* server/svc/svc.c: the status table and the failure helpers of the service
 * contract; server/http/http_svc.c: the status numbers it maps to. */
#include <string.h>

#include "http_svc.h"
#include "svc.h"
#include "t.h"

static void svc_status_table_names_every_status(void)
{
    T_EQ_STR(svc_status_name(SVC_OK), "OK");
    T_EQ_STR(svc_status_code(SVC_INVALID), "invalid_value");
    T_EQ_STR(svc_status_code(SVC_PLAN_LIMIT), "plan_limit");
    T_EQ_STR(svc_status_code(SVC_NOMEM), "out_of_memory");
    T_EQ_STR(svc_strerror(SVC_NOMEM), "the server is out of memory: retry");
    for (int st = 0; st < SVC_STATUS_COUNT_; st++) {
        T_TRUE(svc_status_code((svc_status)st)[0] != '\0');
        T_TRUE(svc_strerror((svc_status)st)[0] != '\0');
        T_TRUE(strcmp(svc_status_name((svc_status)st), "?") != 0);
    }
    T_EQ_STR(svc_status_name((svc_status)-1), "?");
    T_EQ_STR(svc_status_code(SVC_STATUS_COUNT_), "internal_error");
}

static void svc_fail_fills_code_field_and_message(void)
{
    svc_error e;
    T_EQ_INT(svc_fail(&e, SVC_CONFLICT, "name_taken", "name", "'%s' is taken", "x"), SVC_CONFLICT);
    T_EQ_INT(e.status, SVC_CONFLICT);
    T_EQ_STR(e.code, "name_taken");
    T_EQ_STR(e.field, "name");
    T_EQ_STR(e.message, "'x' is taken");
    T_TRUE(!e.has_quota && e.used == -1 && e.extra_key == NULL);
    T_EQ_INT(svc_fail(&e, SVC_NOT_FOUND, NULL, NULL, NULL), SVC_NOT_FOUND);
    T_TRUE(e.code == NULL && e.field == NULL);
    T_EQ_STR(e.message, "no such object in this account");
}

static void svc_fail_db_keeps_the_database_status(void)
{
    svc_error e;
    T_EQ_INT(svc_fail_db(&e, DB_BUSY, NULL), SVC_DB);
    T_EQ_INT(e.db, DB_BUSY);
    T_EQ_INT(svc_fail_db(&e, DB_CONFLICT, "already there"), SVC_CONFLICT);
    T_EQ_STR(e.message, "already there");
    T_EQ_INT(svc_fail_db(&e, DB_CONFLICT, NULL), SVC_DB);
    T_EQ_INT(e.db, DB_CONFLICT);
    T_EQ_INT(svc_fail_db(&e, DB_OK, NULL), SVC_DB);
    T_EQ_INT(e.db, DB_ERROR);
}

static void svc_fail_quota_names_quota_and_plan(void)
{
    svc_error e;
    T_EQ_INT(svc_fail_quota(&e, MT_PLAN_FREE, MT_Q_STORAGE, "full"), SVC_PLAN_LIMIT);
    T_TRUE(e.has_quota);
    T_EQ_INT(e.quota, MT_Q_STORAGE);
    T_EQ_INT(e.plan, MT_PLAN_FREE);
    T_EQ_STR(e.message, "full");
    T_EQ_INT(svc_fail_nomem(&e), SVC_NOMEM);
}

static void http_svc_status_maps_every_status(void)
{
    static const struct {
        svc_status st;
        int http;
    } cases[] = {
        {SVC_OK, 200},
        {SVC_INVALID, 400},
        {SVC_UNAUTHENTICATED, 401},
        {SVC_FORBIDDEN, 403},
        {SVC_PLAN_LIMIT, 403},
        {SVC_NOT_FOUND, 404},
        {SVC_CONFLICT, 409},
        {SVC_TOO_LARGE, 413},
        {SVC_UNPROCESSABLE, 422},
        {SVC_THROTTLED, 429},
        {SVC_NOMEM, 503},
        {SVC_UNAVAILABLE, 503},
        {SVC_DB, 500},
        {SVC_NOT_IMPLEMENTED, 501},
        {SVC_INTERNAL, 500},
        {SVC_STATUS_COUNT_, 500},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        T_EQ_INT(http_svc_status(cases[i].st), cases[i].http);
    }
}

static void svc_db_public_reads_the_database_status(void)
{
    static const struct {
        db_status db;
        svc_status as;
        const char *code;
        int http;
    } cases[] = {
        {DB_UNAVAILABLE, SVC_UNAVAILABLE, "db_unavailable", 503},
        {DB_BUSY, SVC_UNAVAILABLE, "db_busy", 503},
        {DB_CONFLICT, SVC_CONFLICT, "conflict", 409},
        {DB_CONSTRAINT, SVC_CONFLICT, "constraint", 409},
        {DB_ERROR, SVC_INTERNAL, "internal_error", 500},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        svc_error e;
        const char *code = NULL, *message = NULL;
        svc_status as;
        T_EQ_INT(svc_fail_db(&e, cases[i].db, NULL), SVC_DB);
        as = svc_db_public(&e, &code, &message);
        T_EQ_INT(as, cases[i].as);
        T_EQ_STR(code, cases[i].code);
        T_TRUE(message != NULL && message[0] != '\0');
        T_EQ_INT(http_svc_status(as), cases[i].http);
    }
}

void suite_svc(void)
{
    T_RUN(svc_status_table_names_every_status);
    T_RUN(svc_fail_fills_code_field_and_message);
    T_RUN(svc_fail_db_keeps_the_database_status);
    T_RUN(svc_fail_quota_names_quota_and_plan);
    T_RUN(http_svc_status_maps_every_status);
    T_RUN(svc_db_public_reads_the_database_status);
}
