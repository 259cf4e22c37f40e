/* Computed channels: access, expression and inputs, P8, back-fill
 * scheduling (see svc_computed.h, docs/computed.md). */
#define _POSIX_C_SOURCE 200809L
#include "svc_computed.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "db_account.h"
#include "db_computed.h"

#define NAME_MAX_CHARS 100
#define COPY_SUFFIX " (copy)"

/* ---------------------------------------------------------------- errors */

static svc_status fail(svc_error *e, svc_status code, const char *err_code, const char *field,
                    const char *msg)
{
    e->has_pos = false;
    return svc_fail(e, code, err_code, field, "%s", msg);
}

static svc_status fail_db(svc_error *e, db_status st)
{
    e->has_pos = false;
    return svc_fail_db(e, st, NULL);
}

/* ------------------------------------------------------------ expression */

/* The byte offset of the first token CHk of "src" with k > "n_inputs".
 * "src" compiled, so every "CH" that follows neither a letter, a digit nor
 * a '.' starts a CHk token (core's grammar has no other name with "CH"):
 * finding a token is not parsing, which stays core's. */
static bool first_ch_beyond(const char *src, size_t n_inputs, size_t *pos, unsigned long *k)
{
    for (size_t i = 0; src[i] != '\0'; i++) {
        unsigned char prev = i > 0 ? (unsigned char)src[i - 1] : ' ';
        if ((src[i] == 'C' || src[i] == 'c') && (src[i + 1] == 'H' || src[i + 1] == 'h') &&
            isdigit((unsigned char)src[i + 2]) && !isalnum(prev) && prev != '.') {
            unsigned long n = strtoul(src + i + 2, NULL, 10);
            if (n > n_inputs) {
                *pos = i;
                *k = n;
                return true;
            }
        }
    }
    return false;
}

svc_status svc_cx_check_expression(const char *expression, size_t n_inputs, svc_error *e)
{
    mt_expr *x = NULL;
    mt_error err;
    size_t pos = 0, used;
    unsigned long k = 0;
    char msg[200];
    bool slot_used[MT_EXPR_MAX_INPUTS + 1] = {false};

    memset(&err, 0, sizeof err);
    if (mt_expr_compile(expression, &x, &err) != MT_OK) {
        svc_fail(e, SVC_INVALID, "expression_error", "expression", "%s", err.msg);
        e->has_pos = true;
        e->pos = err.pos;
        return SVC_INVALID;
    }
    used = mt_expr_input_count(x);
    for (size_t i = 0; i < used; i++) {
        unsigned n = mt_expr_input_channel(x, i);
        if (n >= 1 && n <= MT_EXPR_MAX_INPUTS) {
            slot_used[n] = true;
        }
    }
    mt_expr_free(x);
    if (first_ch_beyond(expression, n_inputs, &pos, &k)) {
        snprintf(msg, sizeof msg, "CH%lu names no input: %zu input%s given (CH1..CH%zu)", k,
                 n_inputs, n_inputs == 1 ? " is" : "s are", n_inputs);
        svc_fail(e, SVC_INVALID, "expression_error", "expression", "%s", msg);
        e->has_pos = true;
        e->pos = pos;
        return SVC_INVALID;
    }
    for (size_t s = 1; s <= n_inputs; s++) {
        if (!slot_used[s]) {
            snprintf(msg, sizeof msg,
                     "inputs[%zu] is bound to CH%zu, which the expression does not use", s - 1,
                     s);
            return fail(e, SVC_INVALID, "invalid_value", "inputs", msg);
        }
    }
    return SVC_OK;
}

/* The inputs' shape: 1..10 ids, no repeats. */
static svc_status check_input_list(const int64_t *inputs, size_t n, svc_error *e)
{
    char msg[200];
    if (n < 1 || n > MT_EXPR_MAX_INPUTS) {
        snprintf(msg, sizeof msg, "an expression has 1 to %d input channels (X3), not %zu",
                 MT_EXPR_MAX_INPUTS, n);
        return fail(e, SVC_INVALID, "invalid_value", "inputs", msg);
    }
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < i; j++) {
            if (inputs[i] == inputs[j]) {
                snprintf(msg, sizeof msg, "inputs[%zu]: channel %lld is already inputs[%zu]", i,
                         (long long)inputs[i], j);
                return fail(e, SVC_INVALID, "duplicate", "inputs", msg);
            }
        }
    }
    return SVC_OK;
}

/* Every input is a measured channel of the account in group "group_id".
 * Another account's channel reads as no channel at all. */
static svc_status check_inputs_db(db_conn *c, long long account_id, long long group_id,
                               const int64_t *inputs, size_t n, svc_error *e)
{
    db_cx_input info[MT_EXPR_MAX_INPUTS];
    char msg[200];
    db_status st = db_cx_inputs_info(c, account_id, inputs, n, info);
    if (st != DB_OK) {
        return fail_db(e, st);
    }
    for (size_t i = 0; i < n; i++) {
        if (!info[i].found) {
            snprintf(msg, sizeof msg, "inputs[%zu]: no such channel (%lld)", i,
                     (long long)inputs[i]);
            return fail(e, SVC_INVALID, "invalid_value", "inputs", msg);
        }
        if (info[i].computed) {
            snprintf(msg, sizeof msg,
                     "inputs[%zu]: channel %lld is a computed channel; the inputs of an "
                     "expression are measured channels",
                     i, (long long)inputs[i]);
            return fail(e, SVC_INVALID, "invalid_value", "inputs", msg);
        }
        if (info[i].group_id != group_id) {
            snprintf(msg, sizeof msg,
                     "inputs[%zu]: channel %lld is not in this measurement group", i,
                     (long long)inputs[i]);
            return fail(e, SVC_INVALID, "invalid_value", "inputs", msg);
        }
    }
    return SVC_OK;
}

/* ----------------------------------------------------------- transactions */

static svc_status tx_begin(db_pool *pool, db_conn **c, svc_error *e)
{
    db_status st = db_acquire(pool, DB_WAIT_MS, c);
    if (st != DB_OK) {
        *c = NULL;
        return fail_db(e, st);
    }
    if ((st = db_begin(*c)) != DB_OK) {
        return fail_db(e, st);
    }
    return SVC_OK;
}

/* Commit on SVC_OK (a failing commit becomes the result), else roll back;
 * release the connection. */
static svc_status tx_end(db_pool *pool, db_conn *c, svc_status rc, svc_error *e)
{
    if (rc == SVC_OK && c != NULL) {
        db_status st = db_commit(c);
        if (st != DB_OK) {
            rc = fail_db(e, st);
        }
    }
    db_release(pool, c);
    return rc;
}

#define TRY_DB(expr)                                                                         \
    do {                                                                                     \
        db_status st_ = (expr);                                                              \
        if (st_ != DB_OK) {                                                                  \
            rc = fail_db(e, st_);                                                            \
            goto out;                                                                        \
        }                                                                                    \
    } while (0)

/* The actor's access to group "group_id". */
static db_status access_of(db_conn *c, const svc_actor *a, long long group_id, cx_access *acc)
{
    return db_cx_group_access(c, a->account_id, a->user_id, a->role == ROLE_ADMIN, group_id,
                              acc);
}

/* SVC_OK when "acc" allows what is asked ("edit"), else 404 / 403. */
static svc_status require(cx_access acc, bool edit, const char *what, svc_error *e)
{
    char msg[120];
    if (acc == CX_ACCESS_NONE) {
        snprintf(msg, sizeof msg, "no such %s", what);
        return fail(e, SVC_NOT_FOUND, "not_found", NULL, msg);
    }
    if (edit && acc != CX_ACCESS_EDIT) {
        return fail(e, SVC_FORBIDDEN, "forbidden", NULL,
                    "changing computed channels needs edit access to the measurement group");
    }
    return SVC_OK;
}

/* The audit entry of a change, with the channel's name and expression. */
static db_status audit_cx(db_conn *c, const svc_actor *a, const char *action, long long id,
                          const char *name, const char *expression)
{
    audit_who who = svc_who(a);
    cJSON *d = cJSON_CreateObject();
    char *text = NULL;
    db_status st;
    if (d == NULL) {
        return DB_ERROR;
    }
    if (name != NULL) {
        cJSON_AddStringToObject(d, "name", name);
    }
    if (expression != NULL) {
        cJSON_AddStringToObject(d, "expression", expression);
    }
    if ((text = cJSON_PrintUnformatted(d)) == NULL) {
        cJSON_Delete(d);
        return DB_ERROR;
    }
    st = audit_write(c, &who, action, "channel", id, text);
    cJSON_free(text);
    cJSON_Delete(d);
    return st;
}

/* The quota P8 for one more computed channel in "group_id". */
static svc_status check_quota(db_conn *c, const svc_actor *a, long long group_id, svc_error *e)
{
    long long n = 0;
    db_status st = db_cx_count(c, a->account_id, group_id, &n);
    if (st != DB_OK) {
        return fail_db(e, st);
    }
    e->has_pos = false;
    return svc_quota_check(e, a->plan, MT_Q_COMPUTED_PER_GROUP, n + 1);
}

/* ------------------------------------------------------------------ reads */

svc_status svc_cx_list(db_pool *pool, const svc_actor *a, long long group_id, char **json,
                    svc_error *e)
{
    db_conn *c = NULL;
    cx_access acc;
    svc_status rc;
    *json = NULL;
    if ((rc = tx_begin(pool, &c, e)) != SVC_OK) {
        goto out;
    }
    TRY_DB(access_of(c, a, group_id, &acc));
    if ((rc = require(acc, false, "measurement group", e)) != SVC_OK) {
        goto out;
    }
    TRY_DB(db_cx_list_json(c, a->account_id, group_id, json));
out:
    rc = tx_end(pool, c, rc, e);
    if (rc != SVC_OK) {
        free(*json);
        *json = NULL;
    }
    return rc;
}

svc_status svc_cx_get(db_pool *pool, const svc_actor *a, long long id, char **json,
                   svc_error *e)
{
    db_conn *c = NULL;
    db_cx_row row;
    cx_access acc = CX_ACCESS_NONE;
    bool found = false;
    svc_status rc;
    memset(&row, 0, sizeof row);
    *json = NULL;
    if ((rc = tx_begin(pool, &c, e)) != SVC_OK) {
        goto out;
    }
    TRY_DB(db_cx_get(c, a->account_id, id, false, &row, &found));
    if (found) {
        TRY_DB(access_of(c, a, row.group_id, &acc));
    }
    if ((rc = require(acc, false, "computed channel", e)) != SVC_OK) {
        goto out;
    }
    TRY_DB(db_cx_get_json(c, a->account_id, id, json));
    if (*json == NULL) {
        rc = fail(e, SVC_NOT_FOUND, "not_found", NULL, "no such computed channel");
    }
out:
    db_cx_row_free(&row);
    rc = tx_end(pool, c, rc, e);
    if (rc != SVC_OK) {
        free(*json);
        *json = NULL;
    }
    return rc;
}

/* ----------------------------------------------------------------- changes */

svc_status svc_cx_create(db_pool *pool, const svc_actor *a, long long group_id,
                      const svc_cx_def *d, long long *id, svc_error *e)
{
    db_conn *c = NULL;
    cx_access acc;
    long long total = 0;
    bool found;
    svc_status rc;
    *id = 0;
    if (d->name == NULL || d->expression == NULL || d->inputs == NULL) {
        return fail(e, SVC_INVALID, "missing", NULL, "name, expression and inputs are required");
    }
    if ((rc = tx_begin(pool, &c, e)) != SVC_OK) {
        goto out;
    }
    /* The account first: two creations cannot both take the last slot. */
    TRY_DB(db_account_lock(c, a->account_id, &found));
    TRY_DB(access_of(c, a, group_id, &acc));
    if ((rc = require(acc, true, "measurement group", e)) != SVC_OK ||
        (rc = check_input_list(d->inputs, d->n_inputs, e)) != SVC_OK ||
        (rc = svc_cx_check_expression(d->expression, d->n_inputs, e)) != SVC_OK ||
        (rc = check_inputs_db(c, a->account_id, group_id, d->inputs, d->n_inputs, e)) !=
            SVC_OK ||
        (rc = check_quota(c, a, group_id, e)) != SVC_OK) {
        goto out;
    }
    TRY_DB(db_cx_lock_storage(c, a->account_id));
    TRY_DB(db_cx_insert(c, a->account_id, group_id, d->name, d->unit ? d->unit : "",
                        d->expression, d->inputs, d->n_inputs, id));
    TRY_DB(db_cx_backfill_schedule(c, a->account_id, *id, d->inputs, d->n_inputs, &total));
    TRY_DB(audit_cx(c, a, "computed.create", *id, d->name, d->expression));
out:
    rc = tx_end(pool, c, rc, e);
    if (rc != SVC_OK) {
        *id = 0;
    }
    return rc;
}

static bool same_inputs(const int64_t *x, size_t nx, const int64_t *y, size_t ny)
{
    return nx == ny && (nx == 0 || memcmp(x, y, nx * sizeof *x) == 0);
}

svc_status svc_cx_update(db_pool *pool, const svc_actor *a, long long id, const svc_cx_def *d,
                      svc_error *e)
{
    db_conn *c = NULL;
    db_cx_row row;
    cx_access acc = CX_ACCESS_NONE;
    const char *expression;
    const int64_t *inputs;
    size_t n_inputs;
    long long total = 0;
    bool found = false, recompute;
    svc_status rc;
    memset(&row, 0, sizeof row);
    if ((rc = tx_begin(pool, &c, e)) != SVC_OK) {
        goto out;
    }
    /* Lock order (computed_days.h): the storage row, then the channel. */
    TRY_DB(db_cx_lock_storage(c, a->account_id));
    TRY_DB(db_cx_get(c, a->account_id, id, true, &row, &found));
    if (found) {
        TRY_DB(access_of(c, a, row.group_id, &acc));
    }
    if ((rc = require(acc, true, "computed channel", e)) != SVC_OK) {
        goto out;
    }
    expression = d->expression != NULL ? d->expression : row.expression;
    inputs = d->inputs != NULL ? d->inputs : row.inputs;
    n_inputs = d->inputs != NULL ? d->n_inputs : row.n_inputs;
    recompute = strcmp(expression, row.expression) != 0 ||
                !same_inputs(inputs, n_inputs, row.inputs, row.n_inputs);
    if (d->expression != NULL || d->inputs != NULL) {
        /* The pair is checked as it will be: a new expression against the
         * kept inputs (which may have left the group since), and so on. */
        if ((rc = check_input_list(inputs, n_inputs, e)) != SVC_OK ||
            (rc = svc_cx_check_expression(expression, n_inputs, e)) != SVC_OK ||
            (rc = check_inputs_db(c, a->account_id, row.group_id, inputs, n_inputs, e)) !=
                SVC_OK) {
            goto out;
        }
    }
    TRY_DB(db_cx_update(c, a->account_id, id, d->name, d->unit, d->expression,
                        d->inputs != NULL ? inputs : NULL, d->inputs != NULL ? n_inputs : 0));
    if (recompute) {
        /* Old values go now; the back-fill computes the new ones. */
        TRY_DB(db_cx_data_clear(c, a->account_id, id));
        TRY_DB(db_cx_backfill_schedule(c, a->account_id, id, inputs, n_inputs, &total));
    }
    TRY_DB(audit_cx(c, a, "computed.update", id, d->name, d->expression));
out:
    db_cx_row_free(&row);
    return tx_end(pool, c, rc, e);
}

/* "name" cut to at most "max" UTF-8 characters, into "out" ("cap" bytes). */
static void utf8_cut(const char *name, size_t max, char *out, size_t cap)
{
    size_t bytes = 0, chars = 0;
    while (name[bytes] != '\0' && bytes + 4 < cap) {
        size_t len = 1;
        unsigned char b = (unsigned char)name[bytes];
        if (chars == max) {
            break;
        }
        len = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
        bytes += len;
        chars++;
    }
    memcpy(out, name, bytes);
    out[bytes] = '\0';
}

svc_status svc_cx_copy(db_pool *pool, const svc_actor *a, long long id, const char *name,
                    long long *new_id, svc_error *e)
{
    db_conn *c = NULL;
    db_cx_row row;
    cx_access acc = CX_ACCESS_NONE;
    char copy_name[NAME_MAX_CHARS * 4 + 16];
    long long total = 0;
    bool found = false;
    svc_status rc;
    memset(&row, 0, sizeof row);
    *new_id = 0;
    if ((rc = tx_begin(pool, &c, e)) != SVC_OK) {
        goto out;
    }
    TRY_DB(db_account_lock(c, a->account_id, &found));
    TRY_DB(db_cx_get(c, a->account_id, id, false, &row, &found));
    if (found) {
        TRY_DB(access_of(c, a, row.group_id, &acc));
    }
    if ((rc = require(acc, true, "computed channel", e)) != SVC_OK ||
        (rc = check_quota(c, a, row.group_id, e)) != SVC_OK) {
        goto out;
    }
    if (name == NULL) {
        utf8_cut(row.name, NAME_MAX_CHARS - strlen(COPY_SUFFIX), copy_name, sizeof copy_name);
        strcat(copy_name, COPY_SUFFIX);
        name = copy_name;
    }
    TRY_DB(db_cx_lock_storage(c, a->account_id));
    TRY_DB(db_cx_insert(c, a->account_id, row.group_id, name, row.unit, row.expression,
                        row.inputs, row.n_inputs, new_id));
    TRY_DB(db_cx_backfill_schedule(c, a->account_id, *new_id, row.inputs, row.n_inputs,
                                   &total));
    TRY_DB(audit_cx(c, a, "computed.copy", *new_id, name, row.expression));
out:
    db_cx_row_free(&row);
    rc = tx_end(pool, c, rc, e);
    if (rc != SVC_OK) {
        *new_id = 0;
    }
    return rc;
}

svc_status svc_cx_delete(db_pool *pool, const svc_actor *a, long long id, svc_error *e)
{
    db_conn *c = NULL;
    db_cx_row row;
    cx_access acc = CX_ACCESS_NONE;
    bool found = false;
    svc_status rc;
    memset(&row, 0, sizeof row);
    if ((rc = tx_begin(pool, &c, e)) != SVC_OK) {
        goto out;
    }
    /* The storage row first: deleting the samples changes the counter. */
    TRY_DB(db_cx_lock_storage(c, a->account_id));
    TRY_DB(db_cx_get(c, a->account_id, id, true, &row, &found));
    if (found) {
        TRY_DB(access_of(c, a, row.group_id, &acc));
    }
    if ((rc = require(acc, true, "computed channel", e)) != SVC_OK) {
        goto out;
    }
    TRY_DB(db_cx_delete(c, a->account_id, id, &found));
    TRY_DB(audit_cx(c, a, "computed.delete", id, row.name, NULL));
out:
    db_cx_row_free(&row);
    return tx_end(pool, c, rc, e);
}
