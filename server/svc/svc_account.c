#define _POSIX_C_SOURCE 200809L
#include "svc_account.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "auth.h"
#include "auth_password.h"
#include "db_account.h"
#include "log.h"
#include "mt/caltime.h"
#include "mt/licence.h"

/* Trial creation (public): at most this many per address and hour. */
#define TRIAL_PER_IP_PER_HOUR 10

/* ------------------------------------------------------------ audit */

db_status svc_audit(db_conn *c, const svc_actor *a, const char *action,
                    const char *target_type, long long target_id, const char *detail_json)
{
    audit_who who = {a->account_id, a->user_id, a->via_token, a->ip, 0};
    return audit_write(c, &who, action, target_type, target_id, detail_json);
}

/* ---------------------------------------------------------- results */

int64_t svc_now_us(void)
{
    return auth_now() * MT_US_PER_S;
}

void svc_format_time(int64_t t_us, char out[32])
{
    mt_error err;
    if (mt_cal_format_instant(t_us, out, 32, &err) != MT_OK) {
        snprintf(out, 32, "1970-01-01T00:00:00Z");
    }
}

static void format_day(mt_day d, char out[MT_CAL_DATE_LEN])
{
    mt_error err;
    if (mt_cal_format_date(d, out, MT_CAL_DATE_LEN, &err) != MT_OK) {
        snprintf(out, MT_CAL_DATE_LEN, "0001-01-01");
    }
}

static mt_day today_utc(void)
{
    mt_day d = 0;
    mt_error err;
    if (mt_cal_day_of(svc_now_us(), &d, &err) != MT_OK) {
        d = 0;
    }
    return d;
}

/* The plan in force for "row" now (L3: a lapsed licence falls to Free). */
static mt_plan effective_plan(const db_account_row *row)
{
    mt_plan stored = MT_PLAN_FREE, eff;
    mt_error err;
    if (mt_plan_from_name(row->plan, &stored, &err) != MT_OK) {
        return MT_PLAN_FREE;
    }
    if (!row->has_expiry) {
        return stored;
    }
    if (mt_licence_effective_plan(stored, row->expiry, svc_now_us(), &eff, &err) != MT_OK) {
        return stored;
    }
    return eff;
}

mt_plan svc_effective_plan(const db_account_row *row)
{
    return effective_plan(row);
}

svc_status svc_begin_locked(const svc_actor *a, db_conn **c, db_account_row *row, svc_error *e)
{
    bool found = false;
    db_status st = db_acquire(a->srv->pool, DB_WAIT_MS, c);
    memset(row, 0, sizeof *row);
    if (st != DB_OK || (st = db_begin(*c)) != DB_OK ||
        (st = db_account_lock(*c, a->account_id, &found)) != DB_OK ||
        (found && (st = db_account_get(*c, a->account_id, row, &found)) != DB_OK)) {
        db_release(a->srv->pool, *c);
        *c = NULL;
        return svc_fail_db(e, st, NULL);
    }
    if (!found) {
        db_release(a->srv->pool, *c);
        *c = NULL;
        return svc_fail(e, SVC_NOT_FOUND, "not_found", NULL, "no such account");
    }
    return SVC_OK;
}

/* ------------------------------------------------------- account view */

static const mt_quota usage_quotas[] = {MT_Q_STORAGE, MT_Q_APPS, MT_Q_USERS, MT_Q_TEAMS,
                                        MT_Q_GROUPS, MT_Q_ALARMS_PER_GROUP,
                                        MT_Q_COMPUTED_PER_GROUP};

static int64_t usage_of(const db_account_row *row, mt_quota q)
{
    switch (q) {
    case MT_Q_STORAGE: return row->storage_bytes;
    case MT_Q_APPS: return row->n_apps;
    case MT_Q_USERS: return row->n_users;
    case MT_Q_TEAMS: return row->n_teams;
    case MT_Q_GROUPS: return row->n_groups;
    case MT_Q_ALARMS_PER_GROUP: return row->max_alarms_per_group;
    case MT_Q_COMPUTED_PER_GROUP: return row->max_computed_per_group;
    default: return -1;
    }
}

/* The account JSON of "row" with effective plan, next plan change and usage. */
static cJSON *account_json(const db_account_row *row, bool admin)
{
    cJSON *o = cJSON_Parse(row->json), *usage;
    mt_plan eff = effective_plan(row);
    char day[MT_CAL_DATE_LEN];
    mt_error err;
    if (o == NULL) {
        return NULL;
    }
    if (!admin) {
        cJSON_DeleteItemFromObjectCaseSensitive(o, "subscriber");
    }
    cJSON_AddStringToObject(o, "effective_plan", mt_plan_name(eff));
    if (row->has_changed) {
        mt_day next;
        if (mt_cal_add_months(row->changed_day, 1, &next, &err) == MT_OK) {
            format_day(next, day);
            cJSON_AddStringToObject(o, "next_plan_change", day);
        }
    } else {
        cJSON_AddNullToObject(o, "next_plan_change");
    }
    usage = cJSON_AddArrayToObject(o, "usage");
    for (size_t i = 0; usage != NULL && i < sizeof usage_quotas / sizeof usage_quotas[0]; i++) {
        mt_quota q = usage_quotas[i];
        mt_plan_entry e;
        cJSON *u = cJSON_CreateObject();
        int64_t used = usage_of(row, q);
        if (u == NULL || mt_plan_get(eff, q, &e, &err) != MT_OK) {
            cJSON_Delete(u);
            continue;
        }
        cJSON_AddStringToObject(u, "quota", mt_quota_id(q));
        cJSON_AddStringToObject(u, "key", mt_quota_key(q));
        cJSON_AddStringToObject(u, "title", mt_quota_title(q));
        if (used < 0) {
            cJSON_AddNullToObject(u, "used"); /* not stored by this server yet */
        } else {
            cJSON_AddNumberToObject(u, "used", (double)used);
        }
        cJSON_AddNumberToObject(u, "limit", (double)e.limit);
        cJSON_AddItemToArray(usage, u);
    }
    return o;
}

svc_status svc_account_get(const svc_actor *a, cJSON **out, svc_error *e)
{
    db_conn *c = NULL;
    db_account_row row;
    bool found = false;
    db_status st = db_acquire(a->srv->pool, DB_WAIT_MS, &c);
    if (st == DB_OK) {
        st = db_account_get(c, a->account_id, &row, &found);
    }
    db_release(a->srv->pool, c);
    if (st != DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    if (!found) {
        return svc_fail(e, SVC_NOT_FOUND, "not_found", NULL, "no such account");
    }
    *out = account_json(&row, a->admin);
    free(row.json);
    return *out != NULL ? 0 : svc_fail_db(e, DB_ERROR, NULL);
}

/* ---------------------------------------------------------- PATCH */

svc_status svc_account_update(const svc_actor *a, const svc_account_patch *p, cJSON **out,
                              svc_error *e)
{
    db_conn *c = NULL;
    db_account_row row = {0};
    bool known;
    long long changed = 0;
    mt_error err;
    bool done = false;
    db_status st;
    if (svc_begin_locked(a, &c, &row, e) != SVC_OK) {
        goto out;
    }
    if (p->time_zone != NULL) {
        if ((st = db_time_zone_known(c, p->time_zone, &known)) != DB_OK) {
            svc_fail_db(e, st, NULL);
            goto out;
        }
        if (!known) {
            svc_fail(e, SVC_INVALID, "invalid_value", "time_zone",
                     "'time_zone' is not a known time zone (e.g. 'UTC', 'Asia/Shanghai')");
            goto out;
        }
    }
    if (p->alt_login_id_set && p->alt_login_id != NULL &&
        mt_plan_require(effective_plan(&row), MT_Q_ALT_LOGIN_ID, MT_ACCESS_FULL, &err) !=
            MT_OK) {
        svc_fail_quota(e, effective_plan(&row), MT_Q_ALT_LOGIN_ID, err.msg);
        goto out;
    }
    st = db_account_update(c, a->account_id, p->name, p->subscriber, p->time_zone, p->language,
                           p->alt_login_id_set, p->alt_login_id, &changed);
    if (st == DB_CONFLICT) {
        svc_fail(e, SVC_CONFLICT, "alt_login_id_taken", "alt_login_id",
                 "this alternative login ID is already in use");
        goto out;
    }
    if (st == DB_CONSTRAINT) {
        svc_fail(e, SVC_INVALID, "invalid_value", NULL, "a value is not allowed here");
        goto out;
    }
    if (st != DB_OK || (st = svc_audit(c, a, "account.update", "account", a->account_id,
                                       NULL)) != DB_OK ||
        (st = db_commit(c)) != DB_OK) {
        svc_fail_db(e, st, NULL);
        goto out;
    }
    done = true;
out:
    free(row.json);
    db_release(a->srv->pool, c);
    return done ? svc_account_get(a, out, e) : e->status;
}

/* ------------------------------------------------------------ plans */

static const char *kind_name(mt_quota_kind k)
{
    switch (k) {
    case MT_QK_COUNT: return "count";
    case MT_QK_BYTES: return "bytes";
    case MT_QK_FEATURE: return "feature";
    default: return "term";
    }
}

cJSON *svc_plans_json(void)
{
    cJSON *root = cJSON_CreateObject(), *plans = cJSON_AddArrayToObject(root, "plans");
    mt_error err;
    if (plans == NULL) {
        cJSON_Delete(root);
        return NULL;
    }
    for (int p = 0; p < MT_PLAN_COUNT; p++) {
        cJSON *po = cJSON_CreateObject(), *qs;
        cJSON_AddItemToArray(plans, po);
        cJSON_AddStringToObject(po, "name", mt_plan_name((mt_plan)p));
        cJSON_AddStringToObject(po, "title", mt_plan_title((mt_plan)p));
        qs = cJSON_AddArrayToObject(po, "quotas");
        for (int q = MT_QUOTA_FIRST; q <= MT_QUOTA_LAST; q++) {
            mt_plan_entry e;
            cJSON *qo;
            if (mt_plan_get((mt_plan)p, (mt_quota)q, &e, &err) != MT_OK) {
                continue;
            }
            qo = cJSON_CreateObject();
            cJSON_AddItemToArray(qs, qo);
            cJSON_AddStringToObject(qo, "quota", mt_quota_id((mt_quota)q));
            cJSON_AddStringToObject(qo, "key", mt_quota_key((mt_quota)q));
            cJSON_AddStringToObject(qo, "title", mt_quota_title((mt_quota)q));
            cJSON_AddStringToObject(qo, "kind", kind_name(e.kind));
            cJSON_AddBoolToObject(qo, "available", e.available != 0);
            if (e.kind == MT_QK_FEATURE) {
                cJSON_AddStringToObject(qo, "access", mt_access_name((mt_access)e.limit));
            } else if (e.kind == MT_QK_TERM) {
                cJSON *terms = cJSON_AddArrayToObject(qo, "terms_months");
                for (int m = 1; m < 63; m++) {
                    if (e.limit & ((int64_t)1 << m)) {
                        cJSON_AddItemToArray(terms, cJSON_CreateNumber(m));
                    }
                }
            } else if (e.available) {
                cJSON_AddNumberToObject(qo, "limit", (double)e.limit);
            } else {
                cJSON_AddNullToObject(qo, "limit");
            }
        }
    }
    return root;
}

/* ------------------------------------------------------- quotations */

svc_status svc_quotation_create(const svc_actor *a, const char *plan, int months, const char *note,
                                cJSON **out, svc_error *e)
{
    mt_plan p;
    mt_error err;
    char now[32], *json = NULL;
    db_conn *c = NULL;
    db_status st;
    if (mt_plan_from_name(plan, &p, &err) != MT_OK) {
        return svc_fail(e, SVC_INVALID, "invalid_value", "plan", "%s", err.msg);
    }
    if (p != MT_PLAN_STANDARD && p != MT_PLAN_PRO) {
        return svc_fail(e, SVC_INVALID, "invalid_value", "plan",
                        "quotations are for the paid plans: 'standard' or 'pro'");
    }
    if (mt_plan_check_term(p, months, &err) != MT_OK) {
        return svc_fail(e, SVC_INVALID, "invalid_term", "months", "%s", err.msg);
    }
    svc_format_time(svc_now_us(), now);
    st = db_acquire(a->srv->pool, DB_WAIT_MS, &c);
    if (st == DB_OK && (st = db_begin(c)) == DB_OK &&
        (st = db_quotation_insert(c, a->account_id, a->user_id, plan, months, note ? note : "",
                                  now, &json)) == DB_OK &&
        (st = svc_audit(c, a, "account.quotation_request", "quotation", 0, NULL)) == DB_OK) {
        st = db_commit(c);
    }
    db_release(a->srv->pool, c);
    if (st != DB_OK || json == NULL) {
        free(json);
        return svc_fail_db(e, st != DB_OK ? st : DB_ERROR, NULL);
    }
    *out = cJSON_Parse(json);
    free(json);
    return *out ? 0 : svc_fail_db(e, DB_ERROR, NULL);
}

svc_status svc_quotation_list(const svc_actor *a, cJSON **out, svc_error *e)
{
    char *json = NULL;
    db_conn *c = NULL;
    db_status st = db_acquire(a->srv->pool, DB_WAIT_MS, &c);
    if (st == DB_OK) {
        st = db_quotation_list(c, a->account_id, &json);
    }
    db_release(a->srv->pool, c);
    if (st != DB_OK || json == NULL) {
        free(json);
        return svc_fail_db(e, st != DB_OK ? st : DB_ERROR, NULL);
    }
    *out = cJSON_CreateObject();
    if (*out != NULL) {
        cJSON_AddItemToObject(*out, "quotations", cJSON_Parse(json));
    }
    free(json);
    return *out ? 0 : svc_fail_db(e, DB_ERROR, NULL);
}

/* ------------------------------------------------------- plan change */

/* Whether the account's current data fits "target" (for changes down):
 * counts P2..P6 and the features P21..P23 in use. Fills "r" and returns -1
 * on the first quota it would break. */
static svc_status check_fits(const db_account_row *row, mt_plan target, svc_error *e)
{
    static const mt_quota counted[] = {MT_Q_STORAGE, MT_Q_APPS, MT_Q_USERS, MT_Q_TEAMS,
                                       MT_Q_GROUPS};
    mt_error err;
    for (size_t i = 0; i < sizeof counted / sizeof counted[0]; i++) {
        int64_t used = usage_of(row, counted[i]);
        if (used > 0 && mt_plan_check(target, counted[i], used, &err) != MT_OK) {
            return svc_fail_quota(e, target, counted[i], err.msg);
        }
    }
    if (row->has_alt_login &&
        mt_plan_require(target, MT_Q_ALT_LOGIN_ID, MT_ACCESS_FULL, &err) != MT_OK) {
        return svc_fail_quota(e, target, MT_Q_ALT_LOGIN_ID, err.msg);
    }
    if (row->has_ip_allow &&
        mt_plan_require(target, MT_Q_IP_RESTRICTION, MT_ACCESS_FULL, &err) != MT_OK) {
        return svc_fail_quota(e, target, MT_Q_IP_RESTRICTION, err.msg);
    }
    if (row->has_logo && mt_plan_require(target, MT_Q_OWN_LOGO, MT_ACCESS_FULL, &err) != MT_OK) {
        return svc_fail_quota(e, target, MT_Q_OWN_LOGO, err.msg);
    }
    return SVC_OK;
}

/* The licence for a change from "eff" (the plan in force) to "target" on
 * "today": *term and *expiry ('' = none) and, for Standard <-> Pro, the
 * conversion. Returns 0, or -1 with "r" filled. */
static svc_status new_licence(const db_account_row *row, mt_plan eff, mt_plan target, int months,
                              mt_day today, char term[16], char expiry[MT_CAL_DATE_LEN],
                              mt_licence_conversion *conv, bool *converted, svc_error *e)
{
    mt_error err;
    mt_day exp_day;
    term[0] = expiry[0] = '\0';
    *converted = false;
    if (target == MT_PLAN_FREE) {
        if (months != 0) {
            return svc_fail(e, SVC_INVALID, "invalid_term", "months",
                            "plan free has no licence term: leave 'months' out");
        }
        return SVC_OK;
    }
    if (eff == MT_PLAN_STANDARD || eff == MT_PLAN_PRO) {
        int64_t remaining = row->has_expiry ? (int64_t)row->expiry - today : 0;
        if (months != 0) {
            return svc_fail(e, SVC_INVALID, "invalid_term", "months",
                            "a running licence is converted (L2): leave 'months' out");
        }
        if (remaining < 0) {
            remaining = 0;
        }
        if (mt_licence_convert(eff, target, remaining, today, conv, &err) != MT_OK) {
            return svc_fail(e, SVC_CONFLICT, "conversion_failed", NULL, "%s", err.msg);
        }
        *converted = true;
        format_day(conv->expiry, expiry);
        snprintf(term, 16, "%s", "");
        return SVC_OK;
    }
    if (months == 0) {
        return svc_fail(e, SVC_INVALID, "missing", "months",
                        "a paid plan needs a licence term: 'months' 1, 3 or 12 (P25)");
    }
    if (mt_plan_check_term(target, months, &err) != MT_OK) {
        return svc_fail(e, SVC_INVALID, "invalid_term", "months", "%s", err.msg);
    }
    if (mt_cal_add_months(today, months, &exp_day, &err) != MT_OK) {
        return svc_fail(e, SVC_INVALID, "invalid_term", "months", "%s", err.msg);
    }
    format_day(exp_day, expiry);
    snprintf(term, 16, "%d", months);
    return SVC_OK;
}

svc_status svc_plan_change(const svc_actor *a, const char *plan, int months, cJSON **out,
                           svc_error *e)
{
    db_conn *c = NULL;
    db_account_row row = {0};
    bool converted = false;
    mt_plan target, eff;
    mt_error err;
    mt_day today = today_utc(), next;
    mt_licence_conversion conv = {0};
    char term[16], expiry[MT_CAL_DATE_LEN], now[32], detail[256], day[MT_CAL_DATE_LEN];
    bool done = false;
    db_status st;

    if (mt_plan_from_name(plan, &target, &err) != MT_OK) {
        return svc_fail(e, SVC_INVALID, "invalid_value", "plan", "%s", err.msg);
    }
    if (target == MT_PLAN_TRIAL) {
        return svc_fail(e, SVC_INVALID, "invalid_value", "plan",
                        "an account cannot change to plan trial");
    }
    if (svc_begin_locked(a, &c, &row, e) != SVC_OK) {
        goto out;
    }
    if (strcmp(row.plan, "trial") == 0) {
        svc_fail(e, SVC_CONFLICT, "trial_upgrade_required", "plan",
                 "a trial changes plan through POST /api/v1/account/upgrade");
        goto out;
    }
    eff = effective_plan(&row);
    if (eff == target) {
        svc_fail(e, SVC_CONFLICT, "same_plan", "plan", "the account is already on plan %s",
                 mt_plan_name(target));
        goto out;
    }
    if (row.has_changed) {
        mt_status ms = mt_licence_check_plan_change(row.changed_day, today, &next, &err);
        if (ms == MT_ELIMIT) {
            format_day(next, day);
            svc_fail(e, SVC_CONFLICT, "plan_change_too_soon", "plan",
                     "the plan can change once a month (L2): next change allowed on %s", day);
            e->extra_key = "next_allowed";
            snprintf(e->extra_val, sizeof e->extra_val, "%s", day);
            goto out;
        }
        if (ms != MT_OK) {
            svc_fail(e, SVC_CONFLICT, "plan_change_too_soon", "plan", "%s", err.msg);
            goto out;
        }
    }
    if (check_fits(&row, target, e) != SVC_OK ||
        new_licence(&row, eff, target, months, today, term, expiry, &conv, &converted, e) !=
            SVC_OK) {
        goto out;
    }
    if (converted && row.term_months > 0) {
        /* Keep the term bought; only the expiry moves. */
        snprintf(term, sizeof term, "%d", row.term_months);
    }
    svc_format_time(svc_now_us(), now);
    st = db_account_set_plan(c, a->account_id, mt_plan_name(target), term[0] ? term : NULL,
                             expiry[0] ? expiry : NULL, now);
    snprintf(detail, sizeof detail,
             "{\"from\":\"%s\",\"to\":\"%s\",\"months\":%d,\"licence_expiry\":%s%s%s,"
             "\"converted_days\":%lld,\"dropped_days\":%lld}",
             mt_plan_name(eff), mt_plan_name(target), months, expiry[0] ? "\"" : "",
             expiry[0] ? expiry : "null", expiry[0] ? "\"" : "",
             converted ? (long long)conv.days : 0LL, converted ? (long long)conv.dropped : 0LL);
    if (st != DB_OK ||
        (st = svc_audit(c, a, "account.plan_change", "account", a->account_id, detail)) !=
            DB_OK ||
        (st = db_commit(c)) != DB_OK) {
        svc_fail_db(e, st, NULL);
        goto out;
    }
    auth_forget_identities(); /* sessions and tokens carry the plan (P20, P21) */
    done = true;
out:
    free(row.json);
    db_release(a->srv->pool, c);
    if (!done) {
        return e->status;
    }
    if (svc_account_get(a, out, e) != SVC_OK) {
        return e->status;
    }
    if (converted) {
        cJSON *cv = cJSON_AddObjectToObject(*out, "conversion");
        format_day(conv.expiry, day);
        cJSON_AddNumberToObject(cv, "days", (double)conv.days);
        cJSON_AddNumberToObject(cv, "dropped", (double)conv.dropped);
        cJSON_AddNumberToObject(cv, "cap_days", (double)conv.cap_days);
        cJSON_AddStringToObject(cv, "expiry", day);
    }
    return SVC_OK;
}

/* --------------------------------------------------------------- trial */

static bool account_login_valid(const char *s)
{
    size_t n = strlen(s);
    if (n < 3 || n > 32 || !(islower((unsigned char)s[0]) || isdigit((unsigned char)s[0]))) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (!(islower(ch) || isdigit(ch) || ch == '.' || ch == '_' || ch == '-')) {
            return false;
        }
    }
    return true;
}

svc_status svc_trial_upgrade(const svc_actor *a, const char *plan, int months, const char *login_id,
                             cJSON **out, svc_error *e)
{
    db_conn *c = NULL;
    db_account_row row = {0};
    bool converted = false;
    mt_plan target;
    mt_error err;
    mt_licence_conversion conv;
    char term[16], expiry[MT_CAL_DATE_LEN], now[32], detail[160];
    bool done = false;
    db_status st;

    if (mt_plan_from_name(plan, &target, &err) != MT_OK) {
        return svc_fail(e, SVC_INVALID, "invalid_value", "plan", "%s", err.msg);
    }
    if (target == MT_PLAN_TRIAL) {
        return svc_fail(e, SVC_INVALID, "invalid_value", "plan",
                        "upgrade to 'free', 'standard' or 'pro'");
    }
    if (!account_login_valid(login_id)) {
        return svc_fail(e, SVC_INVALID, "invalid_value", "login_id",
                        "the account ID is 3 to 32 characters: a-z, 0-9, '.', '_', '-', "
                        "starting with a letter or digit");
    }
    if (svc_begin_locked(a, &c, &row, e) != SVC_OK) {
        goto out;
    }
    if (strcmp(row.plan, "trial") != 0) {
        svc_fail(e, SVC_CONFLICT, "not_a_trial", NULL,
                 "only a trial is upgraded; change plan with POST /api/v1/account/plan");
        goto out;
    }
    if (check_fits(&row, target, e) != SVC_OK ||
        new_licence(&row, MT_PLAN_FREE, target, months, today_utc(), term, expiry, &conv,
                    &converted, e) != SVC_OK) {
        goto out;
    }
    svc_format_time(svc_now_us(), now);
    st = db_account_upgrade_trial(c, a->account_id, login_id, mt_plan_name(target),
                                  term[0] ? term : NULL, expiry[0] ? expiry : NULL, now);
    if (st == DB_CONFLICT) {
        svc_fail(e, SVC_CONFLICT, "login_id_taken", "login_id",
                 "this account ID is already in use");
        goto out;
    }
    snprintf(detail, sizeof detail, "{\"to\":\"%s\",\"months\":%d}", mt_plan_name(target),
             months);
    if (st != DB_OK ||
        (st = svc_audit(c, a, "account.trial_upgrade", "account", a->account_id, detail)) !=
            DB_OK ||
        (st = db_commit(c)) != DB_OK) {
        svc_fail_db(e, st, NULL);
        goto out;
    }
    auth_forget_identities();
    done = true;
out:
    free(row.json);
    db_release(a->srv->pool, c);
    return done ? svc_account_get(a, out, e) : e->status;
}

bool svc_valid_email(const char *s)
{
    const char *at = strchr(s, '@');
    size_t n = strlen(s);
    if (n < 3 || n > 254 || at == NULL || at == s || strchr(at + 1, '@') != NULL ||
        at[1] == '\0' || strchr(at + 1, '.') == NULL || s[n - 1] == '.') {
        return false;
    }
    for (const char *p = s; *p; p++) {
        if ((unsigned char)*p <= ' ' || *p == 0x7f) {
            return false;
        }
    }
    return true;
}

bool svc_valid_user_login(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 64 || !isalnum((unsigned char)s[0])) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (!(isalnum(ch) || ch == '.' || ch == '_' || ch == '@' || ch == '-') || ch > 127) {
            return false;
        }
    }
    return true;
}

svc_status svc_trial_create(srv *s, const char *email, const char *password, const char *ip,
                            cJSON **out, svc_error *e)
{
    char hash[PASSWORD_HASH_CAP], now[32], expires[32], key[96];
    int64_t created = svc_now_us(), exp_us;
    long long hits = 0, account_id = 0, user_id = 0;
    pw_policy pw;
    mt_error err;
    db_conn *c = NULL;
    db_status st;
    const char *login;

    if (!svc_valid_email(email)) {
        return svc_fail(e, SVC_INVALID, "invalid_value", "email",
                        "'email' must be an e-mail address");
    }
    pw = password_check_policy(password, email);
    if (pw != PW_OK) {
        return svc_fail(e, SVC_INVALID, password_policy_code(pw), "password", "%s",
                        password_policy_message(pw));
    }
    if (mt_licence_trial_expiry(created, &exp_us, &err) != MT_OK) {
        return svc_fail_db(e, DB_ERROR, NULL);
    }
    svc_format_time(created, now);
    svc_format_time(exp_us, expires);
    snprintf(key, sizeof key, "trial:%s", ip ? ip : "-");
    st = db_acquire(s->pool, DB_WAIT_MS, &c);
    if (st == DB_OK) {
        st = db_throttle_hit(c, key, now, 3600, &hits);
    }
    if (st != DB_OK) {
        db_release(s->pool, c);
        return svc_fail_db(e, st, NULL);
    }
    if (hits > TRIAL_PER_IP_PER_HOUR) {
        db_release(s->pool, c);
        return svc_fail(e, SVC_THROTTLED, "too_many_requests", NULL,
                        "too many trials from this address; try again later");
    }
    /* Hashing takes ~50 ms: hold neither a transaction nor a connection
     * meanwhile (svc_auth.c login()). */
    db_release(s->pool, c);
    c = NULL;
    switch (password_hash(password, hash, sizeof hash)) {
    case 0: break;
    case PASSWORD_BUSY: return svc_fail_hash_busy(e);
    default: return svc_fail_db(e, DB_ERROR, NULL);
    }
    if ((st = db_acquire(s->pool, DB_WAIT_MS, &c)) != DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    login = svc_valid_user_login(email) ? email : "trial";
    if ((st = db_begin(c)) == DB_OK) {
        st = db_trial_create(c, email, login, hash, now, expires, &account_id, &user_id);
    }
    if (st == DB_CONFLICT) {
        db_release(s->pool, c);
        return svc_fail(e, SVC_CONFLICT, "email_taken", "email",
                        "a trial with this e-mail address exists already");
    }
    if (st == DB_OK) {
        /* The new account's audit log records its creation, by its user. */
        audit_who who = {account_id, user_id, false, ip, 0};
        st = audit_write(c, &who, "account.trial_create", "account", account_id, NULL);
    }
    if (st != DB_OK || (st = db_commit(c)) != DB_OK) {
        db_release(s->pool, c);
        return svc_fail_db(e, st, NULL);
    }
    db_release(s->pool, c);
    *out = cJSON_CreateObject();
    if (*out == NULL) {
        return svc_fail_db(e, DB_ERROR, NULL);
    }
    cJSON_AddNumberToObject(*out, "account_id", (double)account_id);
    cJSON_AddNumberToObject(*out, "user_id", (double)user_id);
    cJSON_AddStringToObject(*out, "email", email);
    cJSON_AddStringToObject(*out, "plan", "trial");
    cJSON_AddStringToObject(*out, "trial_expires_at", expires);
    return SVC_OK;
}
