/* Ingestion (see svc_ingest.h). */
#include "svc_ingest.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "app_cache.h"
#include "auth.h"
#include "db_account.h"
#include "db_series.h"
#include "log.h"
#include "metrics.h"
#include "svc_alarm_eval.h"

static svc_status fail(svc_error *e, svc_status st, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Fill "e" and return its status. */
static svc_status fail(svc_error *e, svc_status st, const char *code, const char *fmt, ...)
{
    va_list ap;
    svc_fail(e, st, code, NULL, NULL);
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    return st;
}

static svc_status fail_db(svc_error *e, db_status st)
{
    return svc_fail_db(e, st, NULL);
}

int64_t svc_ingest_now_us(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return auth_now() * 1000000LL + tv.tv_usec;
}

/* Whether "credential" has the form of an app credential ("mta_" and 43
 * characters). */
static bool credential_form(const char *credential)
{
    return credential != NULL && strncmp(credential, "mta_", 4) == 0 && strlen(credential) == 47;
}

/* The verdict on the app of "row" at "now" (µs), filling "r" and *version. */
static svc_status verdict(const app_cache_row *row, int64_t now, ingest_result *r,
                          long long *version, svc_error *e)
{
    r->account_id = row->account_id;
    r->app_id = row->app_id;
    r->group_id = row->group_id;
    if (version != NULL) {
        *version = row->channels_version;
    }
    if (!row->enabled) {
        return fail(e, SVC_FORBIDDEN, "app_disabled", "this app is disabled by an administrator");
    }
    if (!app_cache_row_ok(row, now)) {
        return fail(e, SVC_FORBIDDEN, "account_inactive",
                    "the account is frozen or its trial has expired: data is not accepted");
    }
    return SVC_OK;
}

/* The remembered-app key of a sender: its credential's hash, or the app id
 * of an app the MQTT bridge authenticated by its certificate. */
static void sender_key(const ingest_sender *who, app_cache_key *key)
{
    memset(key, 0, sizeof *key);
    if (who->credential != NULL) {
        /* Remembered by a keyed hash, as the tokens of users are (issue
         * 16: EVP's SHA-256 was 3.4 k instructions, 6 % of a small batch). */
        auth_secret_sha256(who->credential, strlen(who->credential), key->hash);
    } else {
        key->by_id = true;
        key->app_id = who->app_id;
    }
}

/* The app of "who" (a credential of the right form, or an app id) at
 * "now" (µs): remembered (app_cache.h), or read on "c", or when "c" is NULL
 * on a connection taken from "pool" only then. */
static svc_status find_app(db_pool *pool, db_conn *c, const ingest_sender *who, int64_t now,
                           ingest_result *r, long long *version, svc_error *e)
{
    app_cache_key key;
    app_cache_row row;
    app_cache_mark mark;
    char hash_hex[65];
    bool found = false;
    int64_t now_ms = auth_now_ms();
    db_conn *own = NULL;
    db_status st;

    memset(&row, 0, sizeof row);
    sender_key(who, &key);
    if (app_cache_get(&key, now_ms, &row)) {
        return verdict(&row, now, r, version, e);
    }
    if (c == NULL) {
        if ((st = db_acquire(pool, DB_WAIT_MS, &own)) != DB_OK) {
            return fail_db(e, st);
        }
        c = own;
    }
    app_cache_begin(&mark);
    if (key.by_id) {
        st = db_ingest_app_by_id(c, key.app_id, &row, &found);
    } else {
        for (int i = 0; i < 32; i++) {
            snprintf(hash_hex + 2 * i, 3, "%02x", key.hash[i]);
        }
        st = db_ingest_app(c, hash_hex, &row, &found);
    }
    if (own != NULL) {
        db_release(pool, own);
    }
    if (st != DB_OK) {
        return fail_db(e, st);
    }
    if (!found) {
        /* Not remembered (the table's size must not depend on what clients
         * send); a remembered entry of the key is stale. */
        app_cache_forget(&key);
        return key.by_id ? fail(e, SVC_UNAUTHENTICATED, "unauthenticated",
                                "this app no longer exists")
                         : fail(e, SVC_UNAUTHENTICATED, "unauthenticated",
                                "unknown app credential");
    }
    app_cache_put(&key, &mark, now_ms, &row);
    return verdict(&row, now, r, version, e);
}

/* A batch whose store broke a constraint (a foreign key: its app is gone)
 * may have raced with a change of its app this process has not heard of
 * yet (a deletion in SQL, or by another process): forget the remembered app
 * and ask the database (on "c", or on a connection of "pool" when the store
 * gave "c" back); if it refuses the app now, that is the answer. */
static void recheck_app(db_pool *pool, db_conn *c, const ingest_sender *who, int64_t now,
                        svc_error *e)
{
    app_cache_key key;
    ingest_result again;
    svc_error why;
    memset(&again, 0, sizeof again);
    memset(&why, 0, sizeof why);
    sender_key(who, &key);
    app_cache_forget(&key);
    if (find_app(pool, c, who, now, &again, NULL, &why) != SVC_OK &&
        (why.status == SVC_UNAUTHENTICATED || why.status == SVC_FORBIDDEN)) {
        fail(e, why.status, why.code, "%s", why.message);
    }
}

svc_status svc_ingest_app(db_conn *c, const char *credential, int64_t now, ingest_result *r,
                          long long *version, svc_error *e)
{
    ingest_sender who = {.credential = credential, .app_id = 0};
    if (!credential_form(credential)) {
        return fail(e, SVC_UNAUTHENTICATED, "unauthenticated",
                    "send the app credential as Authorization: Bearer mta_...");
    }
    return find_app(NULL, c, &who, now, r, version, e);
}

/* svc_ingest_app_as() on "c", or when "c" is NULL on a connection taken
 * from "pool" only if the app is not remembered. */
static svc_status app_as(db_pool *pool, db_conn *c, const ingest_sender *who, int64_t now,
                         ingest_result *r, long long *version, svc_error *e)
{
    if (who->credential != NULL || who->app_id <= 0) {
        if (!credential_form(who->credential)) {
            return fail(e, SVC_UNAUTHENTICATED, "unauthenticated",
                        "send the app credential as Authorization: Bearer mta_...");
        }
    }
    return find_app(pool, c, who, now, r, version, e);
}

svc_status svc_ingest_app_as(db_conn *c, const ingest_sender *who, int64_t now, ingest_result *r,
                             long long *version, svc_error *e)
{
    return app_as(NULL, c, who, now, r, version, e);
}

/* ---------------------------------------------------- channel table cache
 *
 * The channel table of each app, kept in memory and used while the app's
 * channels_version (bumped by a trigger on every change of its channels)
 * is the one it was read at. */

#define CACHE_BUCKETS 1024

/* A remembered table, shared by the cache and the batches that read it:
 * never written once made, freed by whoever lets go of it last (issue 16:
 * each batch copied its app's table out, a malloc(), a copy and a free()
 * per batch). */
typedef struct {
    atomic_long refs;
    size_t n;
    /* The ids that may be sent as a snapshot lists them (ingest_known's
     * ids_text: a snapshot of all of them is read with one comparison),
     * or NULL. */
    char *ids_text;
    size_t ids_len, ids_n;
    ingest_channel ch[];
} chan_table;

typedef struct cache_entry {
    long long app_id;
    long long version;
    chan_table *table; /* one reference */
    struct cache_entry *next;
} cache_entry;

static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static cache_entry *cache[CACHE_BUCKETS];

/* Let go of a reference to "t" (NULL: nothing). */
static void table_release(chan_table *t)
{
    if (t != NULL && atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) == 1) {
        free(t->ids_text);
        free(t);
    }
}

/* The cached table of "app_id" at "version" with a reference for the
 * caller (table_release()), or NULL when there is none. */
static chan_table *cache_get(long long app_id, long long version)
{
    chan_table *t = NULL;
    pthread_mutex_lock(&cache_mu);
    for (cache_entry *c = cache[(unsigned long long)app_id % CACHE_BUCKETS]; c; c = c->next) {
        if (c->app_id == app_id && c->version == version) {
            t = c->table;
            atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
            break;
        }
    }
    pthread_mutex_unlock(&cache_mu);
    return t;
}

static void cache_put(long long app_id, long long version, const ingest_channel *ch, size_t n)
{
    cache_entry **head = &cache[(unsigned long long)app_id % CACHE_BUCKETS], *c;
    chan_table *t = malloc(sizeof *t + n * sizeof *ch), *old = NULL;
    if (t == NULL) {
        return;
    }
    atomic_init(&t->refs, 1);
    t->n = n;
    if (n > 0) {
        memcpy(t->ch, ch, n * sizeof *ch); /* an app without channels has ch NULL */
    }
    t->ids_text = ingest_known_ids_text(t->ch, n, &t->ids_len, &t->ids_n);
    pthread_mutex_lock(&cache_mu);
    for (c = *head; c != NULL && c->app_id != app_id; c = c->next) {
    }
    if (c == NULL && (c = calloc(1, sizeof *c)) != NULL) {
        c->app_id = app_id;
        c->next = *head;
        *head = c;
    }
    if (c != NULL) {
        old = c->table;
        c->table = t;
        c->version = version;
        t = NULL;
    }
    pthread_mutex_unlock(&cache_mu);
    table_release(old);
    table_release(t);
}

svc_status svc_ingest_batch(srv *s, const char *credential, ingest_body_kind kind,
                            const unsigned char *body, size_t len, const char *batch_id,
                            const char *ip, ingest_result *r, svc_error *e)
{
    ingest_sender who = {.credential = credential, .app_id = 0};
    return svc_ingest_batch_as(s, &who, kind, body, len, batch_id, ip, r, e);
}

svc_status svc_ingest_batch_as(srv *s, const ingest_sender *who, ingest_body_kind kind,
                               const unsigned char *body, size_t len, const char *batch_id,
                               const char *ip, ingest_result *r, svc_error *e)
{
    db_conn *c = NULL;
    ingest_channel *ch = NULL;
    chan_table *table = NULL;
    ingest_known known = {0};
    ingest_batch b;
    /* The records of a small batch (a gateway's minute of 64 channels or
     * fewer) need no allocation; the group commit reads them from here
     * while this thread waits for it. */
    ingest_rec local[64];
    int64_t now = svc_ingest_now_us();
    alarm_store_result stored;
    bool fresh = false;
    long long prev = 0, version = 0;
    db_status st;
    int rc = -1;

    memset(r, 0, sizeof *r);
    ingest_batch_lend(&b, local, sizeof local / sizeof local[0]);
    /* No pooled connection is taken before one is needed: the app and its
     * channel table are usually remembered, and a batch stored in a group
     * needs none of its own (the group's leader takes one; issue 16: every
     * small batch took one from the pool while its body was read, and
     * gave it back when it waited for its group). */
    if (who->checked) {
        /* Looked up in this request, before its body was read. */
        r->account_id = who->account_id;
        r->app_id = who->app_id;
        r->group_id = who->group_id;
        version = who->channels_version;
    } else if (app_as(s->pool, NULL, who, now, r, &version, e) != SVC_OK) {
        goto out;
    }
    if ((table = cache_get(r->app_id, version)) != NULL) {
        known.ch = table->ch;
        known.n = table->n;
        known.ids_text = table->ids_text;
        known.ids_len = table->ids_len;
        known.ids_n = table->ids_n;
    } else {
        if ((c == NULL && (st = db_acquire(s->pool, DB_WAIT_MS, &c)) != DB_OK) ||
            (st = db_ingest_channels(c, r->account_id, r->app_id, &ch, &known.n)) != DB_OK) {
            fail_db(e, st);
            goto out;
        }
        cache_put(r->app_id, version, ch, known.n);
        known.ch = ch;
    }
    if ((kind == INGEST_BODY_JSON
             ? ingest_parse_json((const char *)body, len, &known, now, &b, e)
             : ingest_parse_hok(body, len, batch_id, &known, now, &b, e)) != SVC_OK) {
        goto out;
    }
    r->n_samples = b.n;
    r->n_channels = b.n_channels;
    /* Stored with the evaluation of the group's alarm rules (S3), all or
     * nothing (svc_alarm_eval.h). */
    if (svc_alarm_store_batch(s, &c, r->account_id, r->app_id, r->group_id, &b, ip, &stored, e) !=
        SVC_OK) {
        if (e->status == SVC_DB && e->db == DB_CONSTRAINT) {
            recheck_app(s->pool, c, who, now, e);
        }
        goto out;
    }
    fresh = stored.fresh;
    prev = stored.prev_samples;
    if (!fresh) {
        /* A retry of a stored batch: acknowledge it again, store nothing. */
        r->duplicate = true;
        r->n_samples = (size_t)prev;
        rc = 0;
        goto out;
    }
    r->stored = b.n;
    rc = 0;
out:
    if (rc != 0) {
        metrics_add(METRIC_INGEST_REFUSED, 1);
    } else if (r->duplicate) {
        metrics_add(METRIC_INGEST_DUPLICATES, 1);
    } else {
        metrics_add(METRIC_INGEST_BATCHES, 1);
        metrics_add(METRIC_INGEST_SAMPLES, (long long)r->stored);
    }
    db_release(s->pool, c);
    ingest_batch_free(&b);
    table_release(table);
    free(ch);
    return rc == 0 ? SVC_OK : e->status;
}

svc_status svc_ingest_authenticate(srv *s, const char *credential, long long *account_id,
                                   long long *app_id, svc_error *e)
{
    ingest_sender who;
    svc_status rc = svc_ingest_authenticate_app(s, credential, &who, e);
    *account_id = who.account_id;
    *app_id = who.app_id;
    return rc;
}

svc_status svc_ingest_authenticate_app(srv *s, const char *credential, ingest_sender *who,
                                       svc_error *e)
{
    ingest_result r;
    long long version = 0;
    ingest_sender sender = {.credential = credential, .app_id = 0};
    memset(&r, 0, sizeof r);
    memset(who, 0, sizeof *who);
    if (!credential_form(credential)) {
        /* Refused without a database round trip. */
        return svc_fail(e, SVC_UNAUTHENTICATED, "unauthenticated", NULL,
                        "send the app credential as Authorization: Bearer mta_...");
    }
    /* A connection is taken only when the app is not remembered. */
    if (find_app(s->pool, NULL, &sender, svc_ingest_now_us(), &r, &version, e) != SVC_OK) {
        return e->status;
    }
    who->credential = credential;
    who->checked = true;
    who->account_id = r.account_id;
    who->app_id = r.app_id;
    who->group_id = r.group_id;
    who->channels_version = version;
    return SVC_OK;
}

svc_status svc_ingest_status(srv *s, const char *credential, const char *state, const char *ip,
                             ingest_result *r, svc_error *e)
{
    ingest_sender who = {.credential = credential, .app_id = 0};
    return svc_ingest_status_as(s, &who, state, ip, r, e);
}

svc_status svc_ingest_status_as(srv *s, const ingest_sender *who, const char *state, const char *ip,
                                ingest_result *r, svc_error *e)
{
    db_conn *c = NULL;
    db_status st;
    int rc = -1;
    memset(r, 0, sizeof *r);
    if ((st = db_acquire(s->pool, DB_WAIT_MS, &c)) != DB_OK) {
        return fail_db(e, st);
    }
    if (svc_ingest_app_as(c, who, svc_ingest_now_us(), r, NULL, e) == SVC_OK) {
        /* The MQTT bridge's statuses (the app's own, or its will sent by
         * the broker when the connection died) count as cause "mqtt". */
        if ((st = db_app_seen_via(c, r->account_id, r->app_id, ip,
                                  strcmp(state, "heartbeat") == 0 ? NULL : state,
                                  who->credential == NULL ? "mqtt" : NULL)) != DB_OK) {
            fail_db(e, st);
        } else {
            rc = 0;
        }
    }
    db_release(s->pool, c);
    return rc == 0 ? SVC_OK : e->status;
}

svc_status svc_ingest_describe(srv *s, const char *credential, char **json, svc_error *e)
{
    db_conn *c = NULL;
    ingest_result r;
    db_status st;
    int rc = -1;
    *json = NULL;
    memset(&r, 0, sizeof r);
    if ((st = db_acquire(s->pool, DB_WAIT_MS, &c)) != DB_OK) {
        return fail_db(e, st);
    }
    if (svc_ingest_app(c, credential, svc_ingest_now_us(), &r, NULL, e) == SVC_OK) {
        if ((st = db_ingest_describe(c, r.account_id, r.app_id, json)) != DB_OK) {
            fail_db(e, st);
        } else {
            rc = 0;
        }
    }
    db_release(s->pool, c);
    return rc == 0 ? SVC_OK : e->status;
}
