/* High-speed monitoring (see svc_live.h). */
#define _POSIX_C_SOURCE 200809L
#include "svc_live.h"

#include <stdlib.h>
#include <string.h>

#include "db_account.h"
#include "db_live.h"
#include "db_series.h"
#include "ingest_parse.h"
#include "mt/types.h"
#include "svc_ingest.h"

/* Take a connection and check that the actor sees group "group_id": SVC_OK
 * with *c held (the caller releases it), or the failure. */
static svc_status open_group(const svc_actor *a, long long group_id, db_conn **c, svc_error *e)
{
    bool visible = false;
    db_status st = db_acquire(a->srv->pool, DB_WAIT_MS, c);
    if (st == DB_OK) {
        st = db_group_visible(*c, a->account_id, svc_viewer(a), group_id, &visible);
    }
    if (st != DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    if (!visible) {
        return svc_fail(e, SVC_NOT_FOUND, NULL, NULL, "no such measurement group");
    }
    return SVC_OK;
}

svc_status svc_live_start(const svc_actor *a, long long group_id, long long *until, svc_error *e)
{
    db_conn *c = NULL;
    svc_status rc = open_group(a, group_id, &c, e);
    if (rc == SVC_OK) {
        db_status st = db_live_start(c, a->account_id, group_id, svc_ingest_now_us() + LIVE_KEEP_US,
                                     a->user_id, until);
        if (st != DB_OK) {
            rc = svc_fail_db(e, st, NULL);
        }
    }
    db_release(a->srv->pool, c);
    return rc;
}

svc_status svc_live_stop(const svc_actor *a, long long group_id, svc_error *e)
{
    db_conn *c = NULL;
    svc_status rc = open_group(a, group_id, &c, e);
    if (rc == SVC_OK) {
        db_status st = db_live_stop(c, a->account_id, group_id);
        if (st != DB_OK) {
            rc = svc_fail_db(e, st, NULL);
        }
    }
    db_release(a->srv->pool, c);
    return rc;
}

/* The samples (sorted by channel, then time) as the API shows them. */
static cJSON *samples_json(const db_live_sample *rows, size_t n, bool active, long long until)
{
    cJSON *o = cJSON_CreateObject(), *chans, *cur, *ts = NULL, *vs = NULL;
    long long last = -1;
    if (o == NULL) {
        return NULL;
    }
    if (active) {
        cJSON_AddNumberToObject(o, "until", (double)until);
    } else {
        cJSON_AddNullToObject(o, "until");
    }
    chans = cJSON_AddArrayToObject(o, "channels");
    for (size_t r = 0; chans != NULL && r < n; r++) {
        if (rows[r].channel_id != last) {
            cur = cJSON_CreateObject();
            cJSON_AddNumberToObject(cur, "id", (double)rows[r].channel_id);
            ts = cJSON_AddArrayToObject(cur, "t");
            vs = cJSON_AddArrayToObject(cur, "v");
            cJSON_AddItemToArray(chans, cur);
            last = rows[r].channel_id;
        }
        cJSON_AddItemToArray(ts, cJSON_CreateNumber((double)rows[r].t));
        if (rows[r].special != 0) {
            cJSON_AddItemToArray(vs, cJSON_CreateString(mt_sv_name((mt_sv)rows[r].special)));
        } else {
            cJSON_AddItemToArray(vs, cJSON_CreateNumber(rows[r].v));
        }
    }
    return o;
}

svc_status svc_live_get(const svc_actor *a, long long group_id, long long since_us, cJSON **out,
                        svc_error *e)
{
    db_conn *c = NULL;
    db_live_sample *rows = NULL;
    size_t n = 0;
    long long until = 0, now = svc_ingest_now_us();
    bool active = false;
    svc_status rc;
    *out = NULL;
    if (since_us < now - LIVE_KEEP_US) {
        since_us = now - LIVE_KEEP_US;
    }
    rc = open_group(a, group_id, &c, e);
    if (rc == SVC_OK) {
        db_status st =
            db_live_until(c, a->account_id, group_id, svc_ingest_now_us(), &until, &active);
        if (st == DB_OK) {
            st = db_live_samples(c, a->account_id, group_id, since_us, &rows, &n);
        }
        if (st != DB_OK) {
            rc = svc_fail_db(e, st, NULL);
        }
    }
    db_release(a->srv->pool, c);
    if (rc == SVC_OK && (*out = samples_json(rows, n, active, until)) == NULL) {
        rc = svc_fail_nomem(e);
    }
    free(rows);
    return rc;
}

svc_status svc_live_ingest(srv *s, const char *credential, const char *body, size_t len,
                           long long *account_id, size_t *samples, long long *until, svc_error *e)
{
    ingest_sender who = {.credential = credential, .app_id = 0};
    return svc_live_ingest_as(s, &who, body, len, account_id, samples, until, e);
}

svc_status svc_live_ingest_as(srv *s, const ingest_sender *who, const char *body, size_t len,
                              long long *account_id, size_t *samples, long long *until,
                              svc_error *e)
{
    db_conn *c = NULL;
    ingest_channel *ch = NULL;
    ingest_known known = {0};
    ingest_batch b;
    ingest_result r;
    bool active = false;
    int64_t now = svc_ingest_now_us();
    db_status st;
    svc_status rc = SVC_OK;

    memset(&b, 0, sizeof b);
    memset(&r, 0, sizeof r);
    *account_id = 0;
    *samples = 0;
    *until = 0;
    if ((st = db_acquire(s->pool, DB_WAIT_MS, &c)) != DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    if (svc_ingest_app_as(c, who, now, &r, NULL, e) != SVC_OK) {
        rc = e->status;
        goto out;
    }
    *account_id = r.account_id;
    if ((st = db_live_app_until(c, r.account_id, r.app_id, now, until, &active)) != DB_OK) {
        rc = svc_fail_db(e, st, NULL);
        goto out;
    }
    if (!active) {
        rc = svc_fail(e, SVC_CONFLICT, "live_not_active", NULL,
                      "high-speed monitoring is not on for this app's group");
        goto out;
    }
    if ((st = db_ingest_channels(c, r.account_id, r.app_id, &ch, &known.n)) != DB_OK) {
        rc = svc_fail_db(e, st, NULL);
        goto out;
    }
    known.ch = ch;
    if (ingest_parse_json(body, len, &known, now, &b, e) != SVC_OK) {
        rc = e->status;
        goto out;
    }
    if ((st = db_live_put(c, r.account_id, b.rec, b.n, now - LIVE_KEEP_US)) != DB_OK) {
        rc = svc_fail_db(e, st, NULL);
        goto out;
    }
    *samples = b.n;
out:
    db_release(s->pool, c);
    free(ch);
    ingest_batch_free(&b);
    return rc;
}
