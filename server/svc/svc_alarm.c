/* Alarm settings: access, the rule (parsed and printed by core), channels,
 * P7, and the state after a change (see svc_alarm.h, docs/alarms.md). */
#define _POSIX_C_SOURCE 200809L
#include "svc_alarm.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <openssl/crypto.h>

#include "auth.h"
#include "db_account.h"
#include "db_computed.h"
#include "instruments.h"
#include "mt/alarm.h"
#include "svc_tx.h"

#define COPY_SUFFIX " (copy)"

static const char *const languages[] = {"zh-CN", "ja", "en", "es", "fr", "de", "it", NULL};

bool svc_alarm_language_valid(const char *lang)
{
    for (int i = 0; lang != NULL && languages[i] != NULL; i++) {
        if (strcmp(lang, languages[i]) == 0) {
            return true;
        }
    }
    return false;
}

/* Copy "src" into "dst" ("cap" bytes); false (and "dst" empty) when it
 * does not fit. */
static bool copy_fits(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap) {
        dst[0] = '\0';
        return false;
    }
    memcpy(dst, src, n + 1);
    return true;
}

/* Now in µs on the test-shiftable clock of auth_now(). */
static int64_t now_us(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return auth_now() * 1000000LL + tv.tv_usec;
}

/* ------------------------------------------------------------- checking */

/* The access of the actor to group "group_id". */
static db_status access_of(db_conn *c, const svc_actor *a, long long group_id, cx_access *acc)
{
    return db_cx_group_access(c, a->account_id, a->user_id, a->admin, group_id, acc);
}

/* SVC_OK when "acc" allows what is asked ("edit"), else 404 / 403. */
static svc_status require(cx_access acc, bool edit, const char *what, svc_error *e)
{
    if (acc == CX_ACCESS_NONE) {
        return svc_fail(e, SVC_NOT_FOUND, NULL, NULL, "no such %s", what);
    }
    if (edit && acc != CX_ACCESS_EDIT) {
        return svc_fail(e, SVC_FORBIDDEN, NULL, NULL,
                        "changing alarm settings needs edit access to the measurement group");
    }
    return SVC_OK;
}

/* Parse "text" with core into canonical form in r->rule_text; *slots =
 * bit 1 for CH1, bit 2 for CH2. */
static svc_status check_rule_text(const char *text, db_alarm_rule *r, int *slots, svc_error *e)
{
    mt_alarm_rule rule;
    mt_error err;
    size_t len = 0;
    memset(&err, 0, sizeof err);
    if (mt_alarm_parse(text, strlen(text), &rule, &err) != MT_OK) {
        svc_fail(e, SVC_INVALID, "rule_error", "rule", "%s", err.msg);
        e->has_pos = true;
        e->pos = err.pos;
        return SVC_INVALID;
    }
    if (mt_alarm_print(&rule, r->rule_text, sizeof r->rule_text, &len, &err) != MT_OK) {
        return svc_fail(e, SVC_INTERNAL, NULL, "rule", "the rule could not be printed: %s",
                        err.msg);
    }
    *slots = 0;
    for (int i = 0; i < rule.n_conds; i++) {
        *slots |= rule.cond[i].channel == 1 ? 1 : 2;
    }
    if (!(*slots & 1)) {
        svc_fail(e, SVC_INVALID, "rule_error", "rule",
                 "the rule must name CH1 (its first channel); CH2 is the second");
        e->has_pos = true;
        e->pos = 0;
        return SVC_INVALID;
    }
    return SVC_OK;
}

/* The whole rule "r" as it will be stored: its kind, rule, channels (in
 * group "r->group_id" of the account) and settings. */
static svc_status check_rule(db_conn *c, const svc_actor *a, db_alarm_rule *r, svc_error *e)
{
    db_alarm_channel info[2];
    int slots = 1, n_ch = r->ch[1] != 0 ? 2 : 1;
    long long missing = 0;
    db_status st;

    if (r->no_data) {
        if (r->no_data_minutes < 1 || r->no_data_minutes > ALARM_NO_DATA_MAX_MIN) {
            return svc_fail(e, SVC_INVALID, NULL, "no_data_minutes",
                            "'no_data_minutes' must be 1 to %d (a no-data rule raises when its "
                            "channel has sent nothing for that long)",
                            ALARM_NO_DATA_MAX_MIN);
        }
        r->rule_text[0] = '\0';
        if (n_ch != 1) {
            return svc_fail(e, SVC_INVALID, NULL, "channels",
                            "a no-data rule watches exactly one channel");
        }
    } else {
        if (r->rule_text[0] == '\0') {
            return svc_fail(e, SVC_INVALID, "missing", "rule", "'rule' is required");
        }
        if (check_rule_text(r->rule_text, r, &slots, e) != SVC_OK) {
            return e->status;
        }
        r->no_data_minutes = 0;
        if ((slots & 2) && n_ch != 2) {
            return svc_fail(e, SVC_INVALID, NULL, "channels",
                            "the rule names CH2: give two channels (channels[0] is CH1, "
                            "channels[1] is CH2)");
        }
        if (!(slots & 2) && n_ch != 1) {
            return svc_fail(e, SVC_INVALID, NULL, "channels",
                            "the rule names CH1 only: give one channel");
        }
    }
    if ((st = db_alarm_channels(c, a->account_id, r->ch, n_ch, info)) != DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    for (int i = 0; i < n_ch; i++) {
        if (!info[i].found) {
            return svc_fail(e, SVC_INVALID, NULL, "channels", "channels[%d]: no such channel (%lld)",
                            i, r->ch[i]);
        }
        if (info[i].group_id != r->group_id) {
            return svc_fail(e, SVC_INVALID, NULL, "channels",
                            "channels[%d]: channel %lld is not in this measurement group", i,
                            r->ch[i]);
        }
        /* I4: alarms need the instrument's firmware to reach the table's
         * minimum for alarms (a firmware not known is not refused). */
        if (!info[i].computed && info[i].model[0] != '\0') {
            char why[240];
            instr_verdict v = instr_check(info[i].model, instr_app_bit(info[i].kind),
                                          info[i].firmware, INSTR_ALARMS, why, sizeof why);
            if (v == INSTR_FIRMWARE_TOO_OLD || v == INSTR_NOT_SUPPORTED) {
                return svc_fail(e, SVC_UNPROCESSABLE,
                                v == INSTR_FIRMWARE_TOO_OLD ? "firmware_too_old" : "not_supported",
                                "channels", "channels[%d]: channel %lld: %s", i, r->ch[i], why);
            }
        }
    }
    if (n_ch == 2) {
        if (info[0].computed || info[1].computed) {
            return svc_fail(e, SVC_INVALID, NULL, "channels",
                            "a rule over a computed channel has one channel (the expression can "
                            "combine its inputs)");
        }
        if (info[0].app_id != info[1].app_id) {
            return svc_fail(e, SVC_INVALID, NULL, "channels",
                            "CH1 and CH2 must be channels of the same app: the rule compares "
                            "their samples taken at the same time");
        }
    }
    if (strcmp(r->severity, "alert") != 0 && strcmp(r->severity, "warning") != 0) {
        return svc_fail(e, SVC_INVALID, NULL, "severity", "'severity' must be alert or warning");
    }
    if (!svc_alarm_language_valid(r->language)) {
        return svc_fail(e, SVC_INVALID, NULL, "language",
                        "'language' must be one of zh-CN, ja, en, es, fr, de, it");
    }
    if (r->repeat_minutes < 0 || r->repeat_minutes > ALARM_REPEAT_MAX_MIN) {
        return svc_fail(e, SVC_INVALID, NULL, "repeat_minutes",
                        "'repeat_minutes' must be 0 (never) to %d", ALARM_REPEAT_MAX_MIN);
    }
    for (int i = 0; i < r->n_dest; i++) {
        for (int j = 0; j < i; j++) {
            if (r->dest[i] == r->dest[j]) {
                return svc_fail(e, SVC_INVALID, "duplicate", "destinations",
                                "destinations[%d]: destination %lld is already destinations[%d]",
                                i, r->dest[i], j);
            }
        }
    }
    if ((st = db_alarm_destinations_check(c, a->account_id, r->dest, r->n_dest, &missing)) !=
        DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    if (missing != 0) {
        return svc_fail(e, SVC_INVALID, NULL, "destinations", "no such destination (%lld)",
                        missing);
    }
    return SVC_OK;
}

/* Apply the given members of "d" to "r". */
static svc_status apply_def(db_alarm_rule *r, const svc_alarm_def *d, svc_error *e)
{
    if (d->name != NULL) {
        if (d->name[0] == '\0') {
            return svc_fail(e, SVC_INVALID, NULL, "name", "'name' must not be empty");
        }
        if (!copy_fits(r->name, sizeof r->name, d->name)) {
            return svc_fail(e, SVC_INVALID, NULL, "name", "'name' is too long");
        }
    }
    if (d->kind != NULL) {
        if (strcmp(d->kind, "condition") != 0 && strcmp(d->kind, "no_data") != 0) {
            return svc_fail(e, SVC_INVALID, NULL, "kind", "'kind' must be condition or no_data");
        }
        r->no_data = strcmp(d->kind, "no_data") == 0;
    }
    if (d->rule != NULL) {
        if (strlen(d->rule) > MT_ALARM_TEXT_MAX) {
            return svc_fail(e, SVC_INVALID, "rule_error", "rule",
                            "the rule text is longer than %d bytes", MT_ALARM_TEXT_MAX);
        }
        if (r->no_data) {
            return svc_fail(e, SVC_INVALID, NULL, "rule",
                            "a no-data rule has no 'rule' text (it watches 'no_data_minutes')");
        }
        {
            /* Core parses what the client wrote; the canonical form is
             * kept (check_rule() reads it back). */
            mt_alarm_rule rule;
            mt_error err;
            size_t len = 0;
            memset(&err, 0, sizeof err);
            if (mt_alarm_parse(d->rule, strlen(d->rule), &rule, &err) != MT_OK) {
                svc_fail(e, SVC_INVALID, "rule_error", "rule", "%s", err.msg);
                e->has_pos = true;
                e->pos = err.pos;
                return SVC_INVALID;
            }
            if (mt_alarm_print(&rule, r->rule_text, sizeof r->rule_text, &len, &err) != MT_OK) {
                return svc_fail(e, SVC_INTERNAL, NULL, "rule", "%s", err.msg);
            }
        }
    }
    if (d->has_no_data_minutes) {
        r->no_data_minutes = d->no_data_minutes;
    }
    if (d->has_channels) {
        r->ch[0] = d->channels[0];
        r->ch[1] = d->n_channels > 1 ? d->channels[1] : 0;
    }
    if (d->enabled >= 0) {
        r->enabled = d->enabled != 0;
    }
    if (d->severity != NULL) {
        copy_fits(r->severity, sizeof r->severity, d->severity);
    }
    if (d->language != NULL) {
        copy_fits(r->language, sizeof r->language, d->language);
    }
    if (d->notify_clear >= 0) {
        r->notify_clear = d->notify_clear != 0;
    }
    if (d->has_repeat) {
        r->repeat_minutes = d->repeat_minutes;
    }
    if (d->special_notice >= 0) {
        r->special_notice = d->special_notice != 0;
    }
    if (d->check_files >= 0) {
        r->check_files = d->check_files != 0;
    }
    if (d->has_destinations) {
        r->n_dest = d->n_destinations;
        memcpy(r->dest, d->destinations, (size_t)d->n_destinations * sizeof r->dest[0]);
    }
    return SVC_OK;
}

/* Whether "x" and "y" watch the same thing (a difference restarts the
 * evaluator). */
static bool same_watch(const db_alarm_rule *x, const db_alarm_rule *y)
{
    return x->no_data == y->no_data && strcmp(x->rule_text, y->rule_text) == 0 &&
           x->no_data_minutes == y->no_data_minutes && x->ch[0] == y->ch[0] &&
           x->ch[1] == y->ch[1];
}

/* The audit entry of a change, with the rule's name and text. */
static db_status audit_alarm(db_conn *c, const svc_actor *a, const char *action, long long id,
                             const db_alarm_rule *r)
{
    audit_who who = svc_who(a);
    cJSON *d = cJSON_CreateObject();
    char *text = NULL;
    db_status st;
    if (d == NULL) {
        return DB_ERROR;
    }
    cJSON_AddStringToObject(d, "name", r->name);
    cJSON_AddNumberToObject(d, "group_id", (double)r->group_id);
    if (r->no_data) {
        cJSON_AddNumberToObject(d, "no_data_minutes", r->no_data_minutes);
    } else {
        cJSON_AddStringToObject(d, "rule", r->rule_text);
    }
    cJSON_AddBoolToObject(d, "enabled", r->enabled);
    if ((text = cJSON_PrintUnformatted(d)) == NULL) {
        cJSON_Delete(d);
        return DB_ERROR;
    }
    st = audit_write(c, &who, action, "alarm", id, text);
    cJSON_free(text);
    cJSON_Delete(d);
    return st;
}

/* P7 for one more rule in "group_id". */
static svc_status check_quota(db_conn *c, const svc_actor *a, long long group_id, svc_error *e)
{
    long long n = 0;
    db_status st = db_alarm_count(c, a->account_id, group_id, &n);
    if (st != DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    return svc_quota_check(e, a->plan, MT_Q_ALARMS_PER_GROUP, n + 1);
}

/* ------------------------------------------------------------------ reads */

svc_status svc_alarm_list(const svc_actor *a, long long group_id, char **json, svc_error *e)
{
    db_pool *pool = a->srv->pool;
    db_conn *c = NULL;
    cx_access acc = CX_ACCESS_NONE;
    char *items = NULL;
    long long used = 0;
    mt_plan_entry pe;
    mt_error err;
    svc_status rc;
    *json = NULL;
    if ((rc = svc_tx_begin(pool, &c, e)) != SVC_OK) {
        goto out;
    }
    SVC_TRY_DB(access_of(c, a, group_id, &acc), NULL);
    if ((rc = require(acc, false, "measurement group", e)) != SVC_OK) {
        goto out;
    }
    SVC_TRY_DB(db_alarm_list_json(c, a->account_id, group_id, &items), NULL);
    SVC_TRY_DB(db_alarm_count(c, a->account_id, group_id, &used), NULL);
    memset(&pe, 0, sizeof pe);
    if (mt_plan_get(a->plan, MT_Q_ALARMS_PER_GROUP, &pe, &err) != MT_OK) {
        pe.limit = 0;
    }
    {
        size_t cap = strlen(items ? items : "[]") + 160;
        char *out = malloc(cap);
        if (out == NULL) {
            rc = svc_fail_nomem(e);
            goto out;
        }
        snprintf(out, cap,
                 "{\"items\":%s,\"total\":%lld,\"quota\":{\"id\":\"P7\",\"limit\":%lld,"
                 "\"used\":%lld}}",
                 items ? items : "[]", used, (long long)pe.limit, used);
        *json = out;
    }
out:
    free(items);
    rc = svc_tx_end(pool, c, rc, e, NULL);
    if (rc != SVC_OK) {
        free(*json);
        *json = NULL;
    }
    return rc;
}

svc_status svc_alarm_get(const svc_actor *a, long long id, char **json, svc_error *e)
{
    db_pool *pool = a->srv->pool;
    db_conn *c = NULL;
    db_alarm_rule r;
    cx_access acc = CX_ACCESS_NONE;
    bool found = false;
    svc_status rc;
    *json = NULL;
    if ((rc = svc_tx_begin(pool, &c, e)) != SVC_OK) {
        goto out;
    }
    SVC_TRY_DB(db_alarm_get(c, a->account_id, id, false, &r, &found), NULL);
    if (found) {
        SVC_TRY_DB(access_of(c, a, r.group_id, &acc), NULL);
    }
    if ((rc = require(acc, false, "alarm", e)) != SVC_OK) {
        goto out;
    }
    SVC_TRY_DB(db_alarm_rule_json(c, a->account_id, id, json), NULL);
    if (*json == NULL) {
        rc = svc_fail(e, SVC_NOT_FOUND, NULL, NULL, "no such alarm");
    }
out:
    rc = svc_tx_end(pool, c, rc, e, NULL);
    if (rc != SVC_OK) {
        free(*json);
        *json = NULL;
    }
    return rc;
}

/* ----------------------------------------------------------------- changes */

svc_status svc_alarm_create(const svc_actor *a, long long group_id, const svc_alarm_def *d,
                            long long *id, svc_error *e)
{
    db_pool *pool = a->srv->pool;
    db_conn *c = NULL;
    cx_access acc = CX_ACCESS_NONE;
    db_alarm_rule r;
    bool found;
    svc_status rc;
    *id = 0;
    memset(&r, 0, sizeof r);
    r.group_id = group_id;
    r.enabled = true;
    r.notify_clear = true;
    r.check_files = true;
    snprintf(r.severity, sizeof r.severity, "alert");
    snprintf(r.language, sizeof r.language, "en");
    if (d->name == NULL || !d->has_channels) {
        return svc_fail(e, SVC_INVALID, "missing", d->name == NULL ? "name" : "channels",
                        "'name' and 'channels' are required");
    }
    if ((rc = apply_def(&r, d, e)) != SVC_OK) {
        return rc;
    }
    if (r.no_data ? !d->has_no_data_minutes : d->rule == NULL) {
        return svc_fail(e, SVC_INVALID, "missing", r.no_data ? "no_data_minutes" : "rule",
                        r.no_data ? "'no_data_minutes' is required for a no-data rule"
                                  : "'rule' is required");
    }
    if ((rc = svc_tx_begin(pool, &c, e)) != SVC_OK) {
        goto out;
    }
    /* The account first: two creations cannot both take the last slot. */
    SVC_TRY_DB(db_account_lock(c, a->account_id, &found), NULL);
    SVC_TRY_DB(access_of(c, a, group_id, &acc), NULL);
    if ((rc = require(acc, true, "measurement group", e)) != SVC_OK ||
        (rc = check_rule(c, a, &r, e)) != SVC_OK ||
        (rc = check_quota(c, a, group_id, e)) != SVC_OK) {
        goto out;
    }
    SVC_TRY_DB(db_alarm_group_bump(c, a->account_id, group_id), NULL);
    SVC_TRY_DB(db_alarm_insert(c, a->account_id, &r, now_us(), id), NULL);
    SVC_TRY_DB(audit_alarm(c, a, "alarm.create", *id, &r), NULL);
out:
    rc = svc_tx_end(pool, c, rc, e, NULL);
    if (rc != SVC_OK) {
        *id = 0;
    }
    return rc;
}

/* Rule "id" with access "edit" checked and, once the group is known, the
 * group's row locked before the rule's state (the lock order of the
 * evaluator: group row, then state rows). */
static svc_status get_for_change(db_conn *c, const svc_actor *a, long long id, db_alarm_rule *r,
                                 svc_error *e)
{
    cx_access acc = CX_ACCESS_NONE;
    bool found = false;
    db_status st = db_alarm_get(c, a->account_id, id, false, r, &found);
    if (st == DB_OK && found) {
        st = access_of(c, a, r->group_id, &acc);
    }
    if (st != DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    if (require(acc, true, "alarm", e) != SVC_OK) {
        return e->status;
    }
    if ((st = db_alarm_group_bump(c, a->account_id, r->group_id)) != DB_OK ||
        (st = db_alarm_get(c, a->account_id, id, true, r, &found)) != DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    if (!found) {
        return svc_fail(e, SVC_NOT_FOUND, NULL, NULL, "no such alarm");
    }
    return SVC_OK;
}

svc_status svc_alarm_update(const svc_actor *a, long long id, const svc_alarm_def *d,
                            svc_error *e)
{
    db_pool *pool = a->srv->pool;
    db_conn *c = NULL;
    db_alarm_rule old, r;
    long long closed = 0;
    svc_status rc;
    if ((rc = svc_tx_begin(pool, &c, e)) != SVC_OK) {
        goto out;
    }
    if ((rc = get_for_change(c, a, id, &old, e)) != SVC_OK) {
        goto out;
    }
    r = old;
    if (d->kind != NULL && strcmp(d->kind, "no_data") == 0 && !old.no_data) {
        r.rule_text[0] = '\0'; /* a condition turned into a no-data rule */
    }
    if ((rc = apply_def(&r, d, e)) != SVC_OK || (rc = check_rule(c, a, &r, e)) != SVC_OK) {
        goto out;
    }
    SVC_TRY_DB(db_alarm_write(c, a->account_id, &r), NULL);
    if (!same_watch(&old, &r) || (old.enabled && !r.enabled) || (!old.enabled && r.enabled)) {
        const char *cause = !r.enabled && old.enabled ? "rule_disabled" : "rule_changed";
        SVC_TRY_DB(db_alarm_state_reset(c, a->account_id, id, cause, now_us(), &closed), NULL);
    }
    SVC_TRY_DB(audit_alarm(c, a, "alarm.update", id, &r), NULL);
out:
    return svc_tx_end(pool, c, rc, e, NULL);
}

/* "name" cut to at most "max" UTF-8 characters, into "out" ("cap" bytes). */
static void utf8_cut(const char *name, size_t max, char *out, size_t cap)
{
    size_t bytes = 0, chars = 0;
    while (name[bytes] != '\0' && chars < max) {
        unsigned char b = (unsigned char)name[bytes];
        size_t len = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
        if (bytes + len + 1 > cap) {
            break;
        }
        bytes += len;
        chars++;
    }
    memcpy(out, name, bytes);
    out[bytes] = '\0';
}

svc_status svc_alarm_copy(const svc_actor *a, long long id, const char *name, long long *new_id,
                          svc_error *e)
{
    db_pool *pool = a->srv->pool;
    db_conn *c = NULL;
    db_alarm_rule r;
    cx_access acc = CX_ACCESS_NONE;
    bool found = false;
    svc_status rc;
    *new_id = 0;
    if (name != NULL && name[0] == '\0') {
        return svc_fail(e, SVC_INVALID, NULL, "name", "'name' must not be empty");
    }
    if ((rc = svc_tx_begin(pool, &c, e)) != SVC_OK) {
        goto out;
    }
    SVC_TRY_DB(db_account_lock(c, a->account_id, &found), NULL);
    SVC_TRY_DB(db_alarm_get(c, a->account_id, id, false, &r, &found), NULL);
    if (found) {
        SVC_TRY_DB(access_of(c, a, r.group_id, &acc), NULL);
    }
    if ((rc = require(acc, true, "alarm", e)) != SVC_OK ||
        (rc = check_quota(c, a, r.group_id, e)) != SVC_OK) {
        goto out;
    }
    if (name == NULL) {
        char cut[ALARM_NAME_CAP];
        utf8_cut(r.name, ALARM_NAME_MAX_CHARS - strlen(COPY_SUFFIX), cut,
                 sizeof cut - sizeof COPY_SUFFIX);
        strcat(cut, COPY_SUFFIX);
        copy_fits(r.name, sizeof r.name, cut);
    } else {
        if (!copy_fits(r.name, sizeof r.name, name)) {
            rc = svc_fail(e, SVC_INVALID, NULL, "name", "'name' is too long");
            goto out;
        }
    }
    SVC_TRY_DB(db_alarm_group_bump(c, a->account_id, r.group_id), NULL);
    SVC_TRY_DB(db_alarm_insert(c, a->account_id, &r, now_us(), new_id), NULL);
    SVC_TRY_DB(audit_alarm(c, a, "alarm.copy", *new_id, &r), NULL);
out:
    rc = svc_tx_end(pool, c, rc, e, NULL);
    if (rc != SVC_OK) {
        *new_id = 0;
    }
    return rc;
}

svc_status svc_alarm_delete(const svc_actor *a, long long id, svc_error *e)
{
    db_pool *pool = a->srv->pool;
    db_conn *c = NULL;
    db_alarm_rule r;
    long long closed = 0;
    bool found = false;
    svc_status rc;
    if ((rc = svc_tx_begin(pool, &c, e)) != SVC_OK) {
        goto out;
    }
    if ((rc = get_for_change(c, a, id, &r, e)) != SVC_OK) {
        goto out;
    }
    SVC_TRY_DB(db_alarm_state_reset(c, a->account_id, id, "rule_deleted", now_us(), &closed),
               NULL);
    SVC_TRY_DB(db_alarm_delete(c, a->account_id, id, &found), NULL);
    SVC_TRY_DB(audit_alarm(c, a, "alarm.delete", id, &r), NULL);
out:
    return svc_tx_end(pool, c, rc, e, NULL);
}

/* --------------------------------------------------------- group settings */

svc_status svc_alarm_settings_get(const svc_actor *a, long long group_id, char **json,
                                  svc_error *e)
{
    db_pool *pool = a->srv->pool;
    db_conn *c = NULL;
    cx_access acc = CX_ACCESS_NONE;
    svc_status rc;
    *json = NULL;
    if ((rc = svc_tx_begin(pool, &c, e)) != SVC_OK) {
        goto out;
    }
    SVC_TRY_DB(access_of(c, a, group_id, &acc), NULL);
    if ((rc = require(acc, false, "measurement group", e)) != SVC_OK) {
        goto out;
    }
    SVC_TRY_DB(db_alarm_settings_json(c, a->account_id, group_id, json), NULL);
    if (*json == NULL) {
        rc = svc_fail(e, SVC_NOT_FOUND, NULL, NULL, "no such measurement group");
    }
out:
    rc = svc_tx_end(pool, c, rc, e, NULL);
    if (rc != SVC_OK) {
        free(*json);
        *json = NULL;
    }
    return rc;
}

svc_status svc_alarm_settings_put(const svc_actor *a, long long group_id,
                                  const db_alarm_settings *s, svc_error *e)
{
    db_pool *pool = a->srv->pool;
    db_conn *c = NULL;
    cx_access acc = CX_ACCESS_NONE;
    long long missing = 0;
    svc_status rc;
    if (s->disconnect_minutes < 1 || s->disconnect_minutes > 1440) {
        return svc_fail(e, SVC_INVALID, NULL, "disconnect_minutes",
                        "'disconnect_minutes' must be 1 to 1440");
    }
    if (s->notice_language[0] != '\0' && !svc_alarm_language_valid(s->notice_language)) {
        return svc_fail(e, SVC_INVALID, NULL, "notice_language",
                        "'notice_language' must be one of zh-CN, ja, en, es, fr, de, it, or null");
    }
    for (int i = 0; i < s->n_dest; i++) {
        for (int j = 0; j < i; j++) {
            if (s->dest[i] == s->dest[j]) {
                return svc_fail(e, SVC_INVALID, "duplicate", "notice_destinations",
                                "notice_destinations[%d] is already notice_destinations[%d]",
                                i, j);
            }
        }
    }
    if ((rc = svc_tx_begin(pool, &c, e)) != SVC_OK) {
        goto out;
    }
    SVC_TRY_DB(access_of(c, a, group_id, &acc), NULL);
    if ((rc = require(acc, true, "measurement group", e)) != SVC_OK) {
        goto out;
    }
    SVC_TRY_DB(db_alarm_destinations_check(c, a->account_id, s->dest, s->n_dest, &missing), NULL);
    if (missing != 0) {
        rc = svc_fail(e, SVC_INVALID, NULL, "notice_destinations", "no such destination (%lld)",
                      missing);
        goto out;
    }
    SVC_TRY_DB(db_alarm_settings_put(c, a->account_id, group_id, s), NULL);
    {
        audit_who who = svc_who(a);
        char detail[96];
        snprintf(detail, sizeof detail,
                 "{\"disconnect_notice\": %s, \"disconnect_minutes\": %d}",
                 s->disconnect_notice ? "true" : "false", s->disconnect_minutes);
        SVC_TRY_DB(audit_write(c, &who, "alarm.settings", "group", group_id, detail), NULL);
    }
out:
    return svc_tx_end(pool, c, rc, e, NULL);
}

/* ------------------------------------------------ temporary login (A8) */

svc_status svc_alarm_temp_login(srv *s, const char *token, const char *ip,
                                const char *user_agent, alarm_temp_session *out, svc_error *e)
{
    unsigned char hash[AUTH_SHA256_BYTES], cookie_hash[AUTH_SHA256_BYTES],
        csrf_hash[AUTH_SHA256_BYTES];
    db_conn *c = NULL;
    bool found = false;
    svc_status rc;
    memset(out, 0, sizeof *out);
    if (token == NULL || strlen(token) != AUTH_SECRET_CHARS) {
        return svc_fail(e, SVC_UNAUTHENTICATED, "link_expired", "token",
                        "this login link is not valid or has expired (30 minutes): sign in");
    }
    auth_sha256(token, AUTH_SECRET_CHARS, hash);
    if ((rc = svc_tx_begin(s->pool, &c, e)) != SVC_OK) {
        goto out;
    }
    SVC_TRY_DB(db_temp_login_redeem(c, hash, auth_now() * 1000000LL, &out->account_id,
                                    &out->user_id, &out->event_id, &out->expires_s, &found),
               NULL);
    if (!found) {
        rc = svc_fail(e, SVC_UNAUTHENTICATED, "link_expired", "token",
                      "this login link is not valid or has expired (30 minutes): sign in");
        goto out;
    }
    if (auth_new_secret(out->cookie, sizeof out->cookie, cookie_hash) != 0 ||
        auth_csrf_token(out->cookie, out->csrf, sizeof out->csrf) != 0) {
        rc = svc_fail(e, SVC_INTERNAL, NULL, NULL, "no randomness for a session");
        goto out;
    }
    auth_sha256(out->csrf, strlen(out->csrf), csrf_hash);
    SVC_TRY_DB(db_temp_session_insert(c, out->account_id, out->user_id, cookie_hash, csrf_hash,
                                      auth_now(), out->expires_s, ip, user_agent,
                                      &out->session_id),
               NULL);
    {
        audit_who who = {out->account_id, out->user_id, false, ip, 0};
        SVC_TRY_DB(audit_write(c, &who, "auth.temporary_login", "user", out->user_id, NULL),
                   NULL);
    }
out:
    rc = svc_tx_end(s->pool, c, rc, e, NULL);
    if (rc != SVC_OK) {
        OPENSSL_cleanse(out->cookie, sizeof out->cookie);
        OPENSSL_cleanse(out->csrf, sizeof out->csrf);
    }
    return rc;
}
