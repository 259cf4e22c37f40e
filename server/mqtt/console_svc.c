/* The console (see console_svc.h). */
#define _POSIX_C_SOURCE 200809L
#include "console_svc.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "auth.h"
#include "console_msg.h"
#include "db_apps.h"
#include "db_console.h"
#include "instruments.h"
#include "mqtt_bridge.h"
#include "mqtt_console.h"
#include "svc_tx.h"

#define TICK_MS 1000          /* a stream wakes at least this often */
#define CHECK_MS 5000         /* renews the hold, looks at the app and the holder */
#define WATCH_MS 20000        /* asks the app again for screens (it sends them for 60 s) */

static atomic_int g_streams;

/* The recording intervals an operator may set (docs/console.md). */
static const int intervals[] = {1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600};

bool svc_console_session_valid(const char *s)
{
    return s != NULL && strlen(s) == CONSOLE_SESSION_LEN &&
           strspn(s, "0123456789abcdef") == CONSOLE_SESSION_LEN;
}

static int new_id(char *out)
{
    unsigned char raw[CONSOLE_SESSION_LEN / 2];
    if (auth_random(raw, sizeof raw) != 0) {
        return -1;
    }
    for (size_t i = 0; i < sizeof raw; i++) {
        snprintf(out + 2 * i, 3, "%02x", raw[i]);
    }
    return 0;
}

/* What the checks of every console route need to know. */
typedef struct {
    db_device d;
    char app_name[128];
    bool connected, enabled;
} target;

static void target_clear(target *t)
{
    db_device_clear(&t->d);
}

/* The device and its app as "a" sees them, with every check of a console
 * at level "need": plan (P18/P19), supported-instrument table (I4), app
 * enabled and connected, this server's broker. */
static svc_status check(const svc_actor *a, db_conn *c, long long device_id, mt_access need,
                        target *t, svc_error *e)
{
    db_app app;
    bool found = false;
    char why[200];
    svc_status rc = SVC_OK;
    unsigned bit;
    db_status st;
    memset(&app, 0, sizeof app);
    st = db_device_get(c, a->account_id, svc_viewer(a), device_id, &t->d, &found);
    if (st != DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    if (!found) {
        return svc_fail(e, SVC_NOT_FOUND, NULL, NULL, "no such device");
    }
    st = db_app_get(c, a->account_id, svc_viewer(a), t->d.app_id, &app, &found);
    if (st != DB_OK || !found) {
        db_app_clear(&app);
        return st != DB_OK ? svc_fail_db(e, st, NULL)
                           : svc_fail(e, SVC_NOT_FOUND, NULL, NULL, "no such device");
    }
    t->connected = app.connected;
    t->enabled = app.enabled;
    snprintf(t->app_name, sizeof t->app_name, "%s", app.name != NULL ? app.name : "");
    db_app_clear(&app);
    bit = instr_app_bit(t->d.app_kind != NULL ? t->d.app_kind : "");
    /* P18 console (One remote mode), P19 console (LR8450 direct; Free: view only). */
    if (bit == INSTR_APP_ONE || bit == INSTR_APP_DIRECT) {
        rc = svc_feature_check(e, a->plan,
                               bit == INSTR_APP_ONE ? MT_Q_CONSOLE_ONE : MT_Q_CONSOLE_LR8450,
                               need);
        if (rc != SVC_OK) {
            return rc;
        }
    }
    switch (instr_check(t->d.model, bit, t->d.firmware != NULL ? t->d.firmware : "",
                        INSTR_CONSOLE, why, sizeof why)) {
    case INSTR_OK:
        break;
    case INSTR_FIRMWARE_TOO_OLD:
        return svc_fail(e, SVC_CONFLICT, "firmware_too_old", NULL, "%s", why);
    default:
        return svc_fail(e, SVC_CONFLICT, "console_not_supported", NULL,
                        "the %s has no console in Metron: %s", t->d.model, why);
    }
    if (!t->enabled) {
        return svc_fail(e, SVC_CONFLICT, "app_disabled", NULL,
                        "the app \"%.60s\" is disabled: its instruments have no console",
                        t->app_name);
    }
    if (!t->connected) {
        return svc_fail(e, SVC_CONFLICT, "app_disconnected", NULL,
                        "the app \"%.60s\" is not connected: the console reaches the %s "
                        "through it; try again when it is connected",
                        t->app_name, t->d.model);
    }
    if (a->srv->cfg.mqtt_url == NULL) {
        /* Not a passing failure: this service is set up without a broker. */
        return svc_fail(e, SVC_CONFLICT, "console_unavailable", NULL,
                        "the console travels over MQTTS, which this service does not run");
    }
    if (!mqtt_bridge_connected()) {
        return svc_fail(e, SVC_UNAVAILABLE, "console_unavailable", NULL,
                        "the console travels over MQTTS and this server cannot reach the "
                        "broker now: try again in a moment");
    }
    return SVC_OK;
}

/* The sentence naming who holds the console of "t". */
static void held_sentence(const target *t, const db_console_holder *h, bool admin,
                          svc_error *e)
{
    svc_fail(e, SVC_CONFLICT, "console_held", NULL,
             "%.100s (%.64s) operates the %s S/N %.40s since %s: you can watch%s",
             h->name, h->login, t->d.model, t->d.serial, h->since,
             admin ? ", or take the console over" : "; an administrator can take it over");
}

static cJSON *holder_json(const db_console_holder *h)
{
    cJSON *o;
    if (!h->held || (o = cJSON_CreateObject()) == NULL) {
        return cJSON_CreateNull();
    }
    cJSON_AddNumberToObject(o, "user_id", (double)h->user_id);
    cJSON_AddStringToObject(o, "name", h->name);
    cJSON_AddStringToObject(o, "login_id", h->login);
    cJSON_AddStringToObject(o, "since", h->since);
    return o;
}

svc_status svc_console_open(const svc_actor *a, long long device_id, bool operate,
                            bool take_over, const char *resume, cJSON **out,
                            db_console_holder *who_held, svc_error *e)
{
    audit_who who = svc_who(a);
    db_conn *c = NULL;
    target t;
    db_console_holder h;
    char session[CONSOLE_SESSION_LEN + 1], detail[160], token[CONSOLE_SESSION_LEN + 1];
    unsigned char token_hash[AUTH_SHA256_BYTES];
    bool granted = false, resumed = false;
    long long took_from = 0;
    svc_status rc;
    memset(&t, 0, sizeof t);
    memset(&h, 0, sizeof h);
    memset(who_held, 0, sizeof *who_held);
    *out = NULL;
    svc_error_clear(e);
    if (take_over && !a->admin) {
        return svc_fail(e, SVC_FORBIDDEN, NULL, NULL,
                        "only an administrator can take a console over");
    }
    if (take_over && !operate) {
        return svc_fail(e, SVC_INVALID, NULL, "take_over",
                        "take_over is for operating: a viewer takes nothing");
    }
    if (resume != NULL && !svc_console_session_valid(resume)) {
        return svc_fail(e, SVC_INVALID, "invalid_value", "resume",
                        "resume: 32 lower-case hexadecimal digits, as an earlier open gave");
    }
    if (new_id(session) != 0 || new_id(token) != 0) {
        return svc_fail(e, SVC_INTERNAL, NULL, NULL, "no random bytes for a session id");
    }
    if ((rc = svc_tx_begin(a->srv->pool, &c, e)) != SVC_OK) {
        goto out;
    }
    if ((rc = check(a, c, device_id, operate ? MT_ACCESS_FULL : MT_ACCESS_VIEW, &t, e)) !=
        SVC_OK) {
        goto out;
    }
    if (operate) {
        /* C2: one operator per instrument (the row is the lock, across processes). */
        SVC_TRY_DB(db_console_claim(c, a->account_id, device_id, a->user_id, session,
                                    CONSOLE_HOLD_S, take_over, &granted, &took_from),
                   NULL);
        if (!granted) {
            SVC_TRY_DB(db_console_holder_get(c, a->account_id, device_id, NULL, &h), NULL);
            held_sentence(&t, &h, a->admin, e);
            *who_held = h;
            rc = SVC_CONFLICT;
            goto out;
        }
        if (resume != NULL && (took_from == 0 || took_from == a->user_id)) {
            /* A reconnect (the server restarted, the network dropped): the
             * session that was audited goes on, under the same token. */
            auth_sha256(resume, CONSOLE_SESSION_LEN, token_hash);
            SVC_TRY_DB(db_console_resume_use(c, a->account_id, device_id, a->user_id,
                                             token_hash, CONSOLE_RESUME_S, &resumed),
                       NULL);
        }
        if (resumed) {
            memcpy(token, resume, sizeof token);
        } else {
            snprintf(detail, sizeof detail, "{\"mode\":\"operate\",\"took_from_user\":%lld}",
                     took_from != a->user_id ? took_from : 0);
            SVC_TRY_DB(audit_write(c, &who, took_from != 0 && took_from != a->user_id
                                                ? "console.take_over"
                                                : "console.open",
                                   "device", device_id, detail),
                       NULL);
            auth_sha256(token, CONSOLE_SESSION_LEN, token_hash);
            SVC_TRY_DB(db_console_resume_set(c, a->account_id, device_id, a->user_id,
                                             token_hash, CONSOLE_RESUME_S),
                       NULL);
        }
    }
    SVC_TRY_DB(db_console_holder_get(c, a->account_id, device_id, session, &h), NULL);
    *out = cJSON_CreateObject();
    if (*out == NULL) {
        rc = svc_fail_nomem(e);
        goto out;
    }
    cJSON_AddStringToObject(*out, "session", session);
    cJSON_AddStringToObject(*out, "mode", operate ? "operate" : "view");
    cJSON_AddNumberToObject(*out, "device_id", (double)device_id);
    cJSON_AddItemToObject(*out, "holder", holder_json(&h));
    cJSON_AddBoolToObject(*out, "took_over", took_from != 0 && took_from != a->user_id);
    if (operate) {
        cJSON_AddStringToObject(*out, "resume", token);
    } else {
        cJSON_AddNullToObject(*out, "resume");
    }
    cJSON_AddBoolToObject(*out, "resumed", resumed);
out:
    target_clear(&t);
    rc = svc_tx_end(a->srv->pool, c, rc, e, NULL);
    if (rc != SVC_OK) {
        cJSON_Delete(*out);
        *out = NULL;
    }
    return rc;
}

/* The sentence for a session that does not hold the console (any more). */
static void not_held(db_conn *c, const svc_actor *a, long long device_id, const char *session,
                     db_console_holder *who, svc_error *e)
{
    db_console_holder h;
    if (db_console_holder_get(c, a->account_id, device_id, session, &h) == DB_OK && h.lost) {
        *who = h;
        snprintf(who->since, sizeof who->since, "%s", h.lost_at);
        svc_fail(e, SVC_CONFLICT, "console_not_held", NULL,
                 "%.100s (%.64s) took the console over at %s: you can still watch it", h.name,
                 h.login, h.lost_at);
    } else {
        svc_fail(e, SVC_CONFLICT, "console_not_held", NULL,
                 "you do not hold this console (any more): open it again to operate");
    }
}

svc_status svc_console_operate(const svc_actor *a, long long device_id, const char *session,
                               const char *op, int interval_s, char *op_id,
                               db_console_holder *taker, svc_error *e)
{
    static const char *const ops[] = {"start", "stop", "restart", "interval", "page_up",
                                      "page_down"};
    audit_who who = svc_who(a);
    db_conn *c = NULL;
    target t;
    bool known = false, held = false;
    char detail[200], *text = NULL;
    cJSON *msg = NULL;
    svc_status rc;
    memset(&t, 0, sizeof t);
    memset(taker, 0, sizeof *taker);
    op_id[0] = '\0';
    svc_error_clear(e);
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        known |= strcmp(op, ops[i]) == 0;
    }
    if (!known) {
        return svc_fail(e, SVC_INVALID, "invalid_value", "op",
                        "op is one of start, stop, restart, interval, page_up, page_down");
    }
    if (strcmp(op, "interval") == 0) {
        bool ok = false;
        for (size_t i = 0; i < sizeof intervals / sizeof intervals[0]; i++) {
            ok |= intervals[i] == interval_s;
        }
        if (!ok) {
            return svc_fail(e, SVC_INVALID, "invalid_value", "interval_s",
                            "interval_s is one of 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, "
                            "1800, 3600 seconds");
        }
    } else if (interval_s != 0) {
        return svc_fail(e, SVC_INVALID, "invalid_value", "interval_s",
                        "interval_s belongs to the interval operation only");
    }
    if (new_id(op_id) != 0) {
        return svc_fail(e, SVC_INTERNAL, NULL, NULL, "no random bytes for an operation id");
    }
    if ((rc = svc_tx_begin(a->srv->pool, &c, e)) != SVC_OK) {
        goto out;
    }
    if ((rc = check(a, c, device_id, MT_ACCESS_FULL, &t, e)) != SVC_OK) {
        goto out;
    }
    SVC_TRY_DB(db_console_renew(c, a->account_id, device_id, session, CONSOLE_HOLD_S, &held),
               NULL);
    if (!held) {
        not_held(c, a, device_id, session, taker, e);
        rc = SVC_CONFLICT;
        goto out;
    }
    if (interval_s > 0) {
        snprintf(detail, sizeof detail, "{\"op\":\"%s\",\"interval_s\":%d,\"id\":\"%s\"}", op,
                 interval_s, op_id);
    } else {
        snprintf(detail, sizeof detail, "{\"op\":\"%s\",\"id\":\"%s\"}", op, op_id);
    }
    SVC_TRY_DB(audit_write(c, &who, "console.operation", "device", device_id, detail), NULL);
    msg = cJSON_CreateObject();
    if (msg == NULL || cJSON_AddStringToObject(msg, "op", op) == NULL ||
        cJSON_AddStringToObject(msg, "id", op_id) == NULL ||
        cJSON_AddStringToObject(msg, "model", t.d.model) == NULL ||
        cJSON_AddStringToObject(msg, "serial", t.d.serial) == NULL ||
        (interval_s > 0 && cJSON_AddNumberToObject(msg, "interval_s", interval_s) == NULL) ||
        (text = cJSON_PrintUnformatted(msg)) == NULL) {
        rc = svc_fail_nomem(e);
        goto out;
    }
    /* Sent before the commit: an operation that did not leave is not in
     * the audit log. */
    if (mqtt_console_send(t.d.app_id, text, strlen(text)) != 0) {
        rc = svc_fail(e, SVC_UNAVAILABLE, "console_unavailable", NULL,
                      "the operation could not be handed to the broker: try again in a moment");
        goto out;
    }
out:
    cJSON_Delete(msg);
    free(text);
    target_clear(&t);
    return svc_tx_end(a->srv->pool, c, rc, e, NULL);
}

svc_status svc_console_close(const svc_actor *a, long long device_id, const char *session,
                             bool *released, svc_error *e)
{
    audit_who who = svc_who(a);
    db_conn *c = NULL;
    bool held = false;
    svc_status rc;
    *released = false;
    svc_error_clear(e);
    if ((rc = svc_tx_begin(a->srv->pool, &c, e)) != SVC_OK) {
        goto out;
    }
    SVC_TRY_DB(db_console_renew(c, a->account_id, device_id, session, 1, &held), NULL);
    if (held) {
        SVC_TRY_DB(db_console_release(c, a->account_id, device_id, session), NULL);
        SVC_TRY_DB(db_console_resume_drop(c, a->account_id, device_id, a->user_id), NULL);
        SVC_TRY_DB(audit_write(c, &who, "console.close", "device", device_id, NULL), NULL);
        *released = true;
    }
out:
    return svc_tx_end(a->srv->pool, c, rc, e, NULL);
}

/* ---------------------------------------------------------------- stream */

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Write event "name" with "data" (one line of JSON). */
static int event(const svc_console_sink *s, const char *name, const char *data)
{
    size_t n = strlen(name) + strlen(data) + 20;
    char *buf = malloc(n);
    int rc;
    if (buf == NULL) {
        return -1;
    }
    snprintf(buf, n, "event: %s\ndata: %s\n\n", name, data);
    rc = s->write(s->ctx, buf, strlen(buf));
    free(buf);
    return rc;
}

static int event_obj(const svc_console_sink *s, const char *name, cJSON *o)
{
    char *text = o != NULL ? cJSON_PrintUnformatted(o) : NULL;
    int rc = text != NULL ? event(s, name, text) : -1;
    free(text);
    cJSON_Delete(o);
    return rc;
}

static int event_msg(const svc_console_sink *s, const char *name, const char *message)
{
    cJSON *o = cJSON_CreateObject();
    if (o != NULL) {
        cJSON_AddStringToObject(o, "message", message);
    }
    return event_obj(s, name, o);
}

/* The "console" event: mode, holder, connection. */
static int state_event(const svc_console_sink *s, bool operate, const db_console_holder *h,
                       bool connected, const target *t)
{
    cJSON *o = cJSON_CreateObject();
    char why[200];
    if (o == NULL) {
        return -1;
    }
    cJSON_AddStringToObject(o, "mode", operate ? "operate" : "view");
    cJSON_AddItemToObject(o, "holder", holder_json(h));
    cJSON_AddBoolToObject(o, "connected", connected);
    cJSON_AddStringToObject(o, "model", t->d.model);
    cJSON_AddStringToObject(o, "serial", t->d.serial);
    if (!connected) {
        snprintf(why, sizeof why, "the app \"%.60s\" is not connected: the screen shows what "
                 "the %s last sent", t->app_name, t->d.model);
        cJSON_AddStringToObject(o, "message", why);
    }
    return event_obj(s, "console", o);
}

static void send_watch(const target *t)
{
    cJSON *o = cJSON_CreateObject();
    char *text;
    if (o == NULL) {
        return;
    }
    cJSON_AddStringToObject(o, "op", "watch");
    cJSON_AddStringToObject(o, "model", t->d.model);
    cJSON_AddStringToObject(o, "serial", t->d.serial);
    text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (text != NULL) {
        (void)mqtt_console_send(t->d.app_id, text, strlen(text));
    }
    free(text);
}

/* Look again (every CHECK_MS): renew the hold of an operator, the holder
 * and the app's connection. Returns 1 when the holder lost the console
 * (*lost_msg set), 0 otherwise; *h and *connected updated. */
static int recheck(const svc_actor *a, long long device_id, const char *session, bool operate,
                   db_console_holder *h, bool *connected, db_console_holder *taker,
                   char *lost_msg, size_t cap)
{
    db_conn *c = NULL;
    db_app app;
    bool found = false, held = true;
    int rc = 0;
    long long app_id = 0;
    memset(&app, 0, sizeof app);
    if (db_acquire(a->srv->pool, DB_WAIT_MS, &c) != DB_OK) {
        return 0; /* the database away: try again at the next check */
    }
    if (operate && db_console_renew(c, a->account_id, device_id, session, CONSOLE_HOLD_S,
                                    &held) == DB_OK && !held) {
        db_console_holder lost;
        if (db_console_holder_get(c, a->account_id, device_id, session, &lost) == DB_OK &&
            lost.lost) {
            snprintf(lost_msg, cap, "%.100s (%.64s) took the console over at %s: you can "
                     "still watch it", lost.name, lost.login, lost.lost_at);
            *taker = lost;
            snprintf(taker->since, sizeof taker->since, "%s", lost.lost_at);
        } else {
            snprintf(lost_msg, cap, "you do not hold this console any more: open it again "
                     "to operate");
        }
        rc = 1;
    }
    (void)db_console_holder_get(c, a->account_id, device_id, session, h);
    {
        db_device d;
        memset(&d, 0, sizeof d);
        if (db_device_get(c, a->account_id, svc_viewer(a), device_id, &d, &found) == DB_OK &&
            found) {
            app_id = d.app_id;
        }
        db_device_clear(&d);
    }
    if (app_id > 0 && db_app_get(c, a->account_id, svc_viewer(a), app_id, &app, &found) ==
                          DB_OK && found) {
        *connected = app.connected;
    }
    db_app_clear(&app);
    db_release(a->srv->pool, c);
    return rc;
}

svc_status svc_console_stream(const svc_actor *a, long long device_id, const char *session,
                              const svc_console_sink *sink, svc_error *e)
{
    db_conn *c = NULL;
    target t;
    db_console_holder h;
    bool operate = false, connected;
    int slot = -1;
    uint64_t screen_seq = 0, answer_seq = 0;
    int64_t now, next_check, next_watch, last_write;
    char lost_msg[300];
    db_console_holder taker;
    svc_status rc;
    const int64_t keepalive_ms = sink->keepalive_ms > 0 ? sink->keepalive_ms : CONSOLE_KEEPALIVE_MS;
    memset(&t, 0, sizeof t);
    memset(&h, 0, sizeof h);
    memset(&taker, 0, sizeof taker);
    svc_error_clear(e);
    if (atomic_fetch_add(&g_streams, 1) >= CONSOLE_STREAMS_MAX) {
        atomic_fetch_sub(&g_streams, 1);
        e->retry_after = 10;
        return svc_fail(e, SVC_UNAVAILABLE, "console_busy", NULL,
                        "this server streams %d consoles already: try again in a moment",
                        CONSOLE_STREAMS_MAX);
    }
    if ((rc = svc_tx_begin(a->srv->pool, &c, e)) != SVC_OK) {
        goto out;
    }
    if ((rc = check(a, c, device_id, MT_ACCESS_VIEW, &t, e)) != SVC_OK) {
        goto out;
    }
    if (session != NULL) {
        bool held = false;
        SVC_TRY_DB(db_console_renew(c, a->account_id, device_id, session, CONSOLE_HOLD_S,
                                    &held),
                   NULL);
        operate = held;
    }
    SVC_TRY_DB(db_console_holder_get(c, a->account_id, device_id, session, &h), NULL);
out:
    rc = svc_tx_end(a->srv->pool, c, rc, e, NULL);
    if (rc != SVC_OK) {
        target_clear(&t);
        atomic_fetch_sub(&g_streams, 1);
        return rc;
    }
    slot = mqtt_console_watch(t.d.app_id, t.d.model, t.d.serial);
    if (slot < 0) {
        target_clear(&t);
        atomic_fetch_sub(&g_streams, 1);
        e->retry_after = 10;
        return svc_fail(e, SVC_UNAVAILABLE, "console_busy", NULL,
                        "this server streams %d instruments' consoles already: try again in a "
                        "moment", MQTT_CONSOLE_SLOTS);
    }
    connected = t.connected;
    if (sink->begin(sink->ctx) != 0 || state_event(sink, operate, &h, connected, &t) != 0) {
        goto done;
    }
    send_watch(&t);
    now = mono_ms();
    next_check = now + CHECK_MS;
    next_watch = now + WATCH_MS;
    last_write = now;
    while (!sink->stopping(sink->ctx)) {
        char *screen = NULL, *answer = NULL;
        bool was_connected = connected;
        long long was_holder = h.user_id;
        bool was_held = h.held;
        if (mqtt_console_wait(slot, &screen_seq, &screen, &answer_seq, &answer, TICK_MS)) {
            int w = 0;
            if (answer != NULL) {
                w |= event(sink, "answer", answer);
            }
            if (screen != NULL) {
                w |= event(sink, "screen", screen);
            }
            free(screen);
            free(answer);
            if (w != 0) {
                goto done;
            }
            last_write = mono_ms();
        }
        now = mono_ms();
        if (now >= next_check) {
            next_check = now + CHECK_MS;
            if (recheck(a, device_id, session, operate, &h, &connected, &taker, lost_msg,
                        sizeof lost_msg) == 1) {
                cJSON *o = cJSON_CreateObject();
                operate = false;
                if (o != NULL) {
                    cJSON_AddStringToObject(o, "message", lost_msg);
                    if (taker.held) {
                        cJSON_AddItemToObject(o, "holder", holder_json(&taker));
                    }
                }
                (void)event_obj(sink, "lost", o);
                goto done;
            }
            if (connected != was_connected || h.held != was_held || h.user_id != was_holder) {
                if (state_event(sink, operate, &h, connected, &t) != 0) {
                    goto done;
                }
                last_write = now;
            }
        }
        if (now >= next_watch) {
            next_watch = now + WATCH_MS;
            send_watch(&t);
        }
        if (now - last_write >= keepalive_ms) {
            if (sink->write(sink->ctx, ": keep-alive\n\n", 14) != 0) {
                goto done;
            }
            last_write = now;
        }
    }
    (void)event_msg(sink, "closed", "the server is restarting: open the console again");
done:
    if (operate) {
        /* The person left (or the server stops): the console is free at once,
         * and a reconnect within CONSOLE_RESUME_S continues the session. */
        db_conn *rc_conn = NULL;
        if (db_acquire(a->srv->pool, DB_WAIT_MS, &rc_conn) == DB_OK) {
            (void)db_console_release(rc_conn, a->account_id, device_id, session);
            (void)db_console_resume_keep(rc_conn, a->account_id, device_id, a->user_id,
                                         CONSOLE_RESUME_S);
            db_release(a->srv->pool, rc_conn);
        }
    }
    mqtt_console_unwatch(slot);
    target_clear(&t);
    atomic_fetch_sub(&g_streams, 1);
    return SVC_OK;
}
