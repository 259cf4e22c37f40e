/* The notifications inbox (N1) (see svc_notifications.h). */
#define _POSIX_C_SOURCE 200809L
#include "svc_notifications.h"

#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "db_notifications.h"
#include "json_out.h"
#include "reply_cache.h"
#include "svc_share.h"
#include "sbuf.h"
#include "stripes.h"

static cJSON *notification_json(const void *ctx, const void *row)
{
    const db_notification *n = row;
    cJSON *o = cJSON_CreateObject(), *data;
    (void)ctx;
    if (o == NULL) {
        return NULL;
    }
    json_add_int(o, "id", n->id);
    json_add_str(o, "kind", n->kind);
    json_add_str(o, "title", n->title);
    json_add_str(o, "body", n->body);
    data = n->data != NULL ? cJSON_Parse(n->data) : NULL;
    cJSON_AddItemToObject(o, "data", data != NULL ? data : cJSON_CreateObject());
    json_add_str(o, "created_at", n->created_at);
    json_add_str(o, "read_at", n->read_at);
    cJSON_AddBoolToObject(o, "read", n->read_at != NULL);
    return o;
}

svc_status svc_notifications_list(const svc_actor *a, bool unread_only, int limit, int offset,
                                  cJSON **out, svc_error *e)
{
    db_conn *c = NULL;
    db_notification *rows = NULL;
    int n = 0;
    long long total = 0, unread = 0;
    cJSON *o;
    db_status st = db_acquire(a->srv->pool, DB_WAIT_MS, &c);
    *out = NULL;
    if (st == DB_OK) {
        st = db_notification_list(c, a->account_id, a->user_id, unread_only, limit, offset, &rows,
                                  &n, &total, &unread);
    }
    db_release(a->srv->pool, c);
    if (st != DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    o = json_items(rows, n, sizeof *rows, notification_json, a);
    db_notification_free(rows, n);
    if (o == NULL) {
        return svc_fail_nomem(e);
    }
    cJSON_AddStringToObject(o, "filter", unread_only ? "unread" : "all");
    cJSON_AddNumberToObject(o, "total", (double)total);
    cJSON_AddNumberToObject(o, "unread", (double)unread);
    cJSON_AddNumberToObject(o, "limit", (double)limit);
    cJSON_AddNumberToObject(o, "offset", (double)offset);
    *out = o;
    return SVC_OK;
}

/* {"unread", "marked"?} after a change on "c" (released here, also when
 * "st" tells that the change failed); "marked" < 0: not told. */
static svc_status unread_reply(const svc_actor *a, db_conn *c, db_status st, long long marked,
                               cJSON **out, svc_error *e)
{
    long long unread = 0;
    cJSON *o;
    if (st == DB_OK) {
        st = db_notification_unread(c, a->account_id, a->user_id, &unread);
    }
    db_release(a->srv->pool, c);
    if (st != DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    if ((o = cJSON_CreateObject()) == NULL) {
        return svc_fail_nomem(e);
    }
    cJSON_AddNumberToObject(o, "unread", (double)unread);
    if (marked >= 0) {
        cJSON_AddNumberToObject(o, "marked", (double)marked);
    }
    *out = o;
    return SVC_OK;
}

/* The remembered unread count (reply_cache.h, REPLY_UNREAD; issue 16: every
 * portal page polls it): ended by every API write of the account in this
 * process (http.c) and by every commit anywhere that PostgreSQL announces
 * for the account (migration 033: a notification inserted, deleted, read
 * or unread; 012: the users and the account). */
static unsigned long long unread_epoch(long long account_id)
{
    return auth_state_epoch() + auth_account_epoch(account_id) +
           auth_account_state_epoch(account_id);
}

/* Read the count into *text (*len bytes and a NUL) and remember it for a
 * signed-in user; "rd": the shared read this one leads (reply_share.h),
 * closed to followers once a connection is held; NULL for a read alone. */
static bool unread_read(void *ctx, sread *rd, char **text, size_t *len)
{
    svc_share_req *u = ctx;
    const svc_actor *a = u->a;
    reply_key key = {REPLY_UNREAD, a->account_id, a->user_id, 0, 0};
    /* Before the read: a racing commit makes it stale. */
    unsigned long long epoch = unread_epoch(a->account_id);
    db_conn *c = NULL;
    long long unread = 0;
    db_status st;
    sbuf b = {0};

    st = db_acquire(a->srv->pool, DB_WAIT_MS, &c);
    if (st == DB_OK) {
        reply_share_start(rd);
        st = db_notification_unread(c, a->account_id, a->user_id, &unread);
    }
    db_release(a->srv->pool, c);
    if (st != DB_OK) {
        svc_fail_db(u->e, st, NULL);
        return false;
    }
    sb_put(&b, "{\"unread\":");
    sb_i64(&b, unread);
    sb_add(&b, "}", 1);
    if (b.failed) {
        free(b.p);
        svc_fail_nomem(u->e);
        return false;
    }
    if (a->user_id > 0) {
        reply_cache_put(&key, epoch, u->now_ms, b.p, b.len);
    }
    *text = b.p;
    *len = b.len;
    return true;
}

/* METRON_UNREAD_SHARE=0: every request that misses the count reads it alone. */
static env_switch g_unread_share = ENV_SWITCH("METRON_UNREAD_SHARE");

svc_status svc_notifications_unread_text(const svc_actor *a, char **text, size_t *len,
                                         svc_error *e)
{
    reply_key key = {REPLY_UNREAD, a->account_id, a->user_id, 0, 0};
    svc_share_req u = {a, auth_now_ms(), e};
    reply_body_text t;

    *text = NULL;
    *len = 0;
    if (a->user_id <= 0) {
        /* Actors that are not a signed-in user read it every time. */
        return unread_read(&u, NULL, text, len) ? SVC_OK : e->status;
    }
    if (reply_cache_get(&key, unread_epoch(a->account_id), u.now_ms, text, len, NULL)) {
        return SVC_OK;
    }
    /* Not remembered (a first request, or the first after any change of
     * the account: every portal page polls it, so a change finds many
     * pages asking at once): one read for the requests that miss it at
     * the same moment (reply_share.h; issue 16, herd2). */
    if (svc_share_miss(a, u.now_ms, e, &key, unread_epoch, &g_unread_share, unread_read, &t,
                       NULL) != SVC_OK) {
        return e->status;
    }
    if ((*text = reply_body_text_take(&t, len)) == NULL) {
        return svc_fail_nomem(e);
    }
    return SVC_OK;
}

svc_status svc_notification_read(const svc_actor *a, long long id, cJSON **out, svc_error *e)
{
    db_conn *c = NULL;
    bool found = false;
    db_status st = db_acquire(a->srv->pool, DB_WAIT_MS, &c);
    *out = NULL;
    if (st == DB_OK) {
        st = db_notification_mark(c, a->account_id, a->user_id, id, &found);
    }
    if (st == DB_OK && !found) {
        db_release(a->srv->pool, c);
        return svc_fail(e, SVC_NOT_FOUND, NULL, NULL, "no such notification");
    }
    return unread_reply(a, c, st, 1, out, e);
}

svc_status svc_notifications_read_all(const svc_actor *a, cJSON **out, svc_error *e)
{
    db_conn *c = NULL;
    long long marked = 0;
    db_status st = db_acquire(a->srv->pool, DB_WAIT_MS, &c);
    *out = NULL;
    if (st == DB_OK) {
        st = db_notification_mark_all(c, a->account_id, a->user_id, &marked);
    }
    return unread_reply(a, c, st, marked, out, e);
}
