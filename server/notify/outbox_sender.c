/* The outbox's sender threads (outbox_sender.h). */
#define _DEFAULT_SOURCE /* drand48_r */
#define _POSIX_C_SOURCE 200809L
#include "outbox_sender.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "db.h"
#include "db_channel.h"
#include "db_files.h"
#include "db_outbox.h"
#include "log.h"
#include "mail.h"
#include "notify_format.h"
#include "webhook.h"

typedef struct {
    srv *s;
    notify_config cfg;
    pthread_t *threads;
    int n_threads;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int tokens; /* wake-ups not yet taken by a thread */
    /* Per thread, while its webhook attempt is in flight: when it passes
     * METRON_NOTIFY_SLOW_MS (monotonic ms; -1 once passed and told, 0 with
     * none in flight). Its host then counts as in trouble for the account's
     * share (079), so a row that waited for the account's slot may be
     * claimed now: a waiting thread wakes then to claim it. */
    double *slow_at;
    bool stop;
    bool running;
    db_channel *listener;
    char owner[160]; /* names this process in leases and the delivery log */
} sender_pool;

static sender_pool g = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static void wake(int n)
{
    pthread_mutex_lock(&g.mu);
    if (g.tokens < n) {
        g.tokens = n;
    }
    if (n > 1) {
        pthread_cond_broadcast(&g.cv);
    } else {
        pthread_cond_signal(&g.cv);
    }
    pthread_mutex_unlock(&g.mu);
}

/* The listener's callback: a commit of new rows wakes every thread; a tick
 * wakes one, which looks for retries that came due. */
static void heard(void *arg, bool notified)
{
    (void)arg;
    wake(notified ? g.n_threads : 1);
}

static double mono_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* Thread "self" starts (at > 0) or ends (0) a webhook attempt. A waiting
 * thread that knows of no earlier one is told, to wait until it passes
 * the slow age. */
static void attempt_slow_at(int self, double at)
{
    bool first = true;
    pthread_mutex_lock(&g.mu);
    for (int i = 0; i < g.cfg.threads && at > 0; i++) {
        if (i != self && g.slow_at[i] > 0) {
            first = false;
        }
    }
    g.slow_at[self] = at;
    if (at > 0 && first) {
        pthread_cond_broadcast(&g.cv);
    }
    pthread_mutex_unlock(&g.mu);
}

/* With g.mu held and no wake-up waiting: wait for one, or until the next
 * attempt of this process passes the slow age, which is then a wake-up. */
static void wait_for_work(void)
{
    double next = 0, now;
    struct timespec ts;
    long long ns;
    for (int i = 0; i < g.cfg.threads; i++) {
        if (g.slow_at[i] > 0 && (next == 0 || g.slow_at[i] < next)) {
            next = g.slow_at[i];
        }
    }
    if (next == 0) {
        pthread_cond_wait(&g.cv, &g.mu);
        return;
    }
    now = mono_ms();
    if (next <= now) {
        for (int i = 0; i < g.cfg.threads; i++) {
            if (g.slow_at[i] > 0 && g.slow_at[i] <= now) {
                g.slow_at[i] = -1;
            }
        }
        g.tokens++;
        return;
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    ns = (long long)ts.tv_nsec + (long long)((next - now) * 1e6) + 1000000;
    ts.tv_sec += (time_t)(ns / 1000000000);
    ts.tv_nsec = (long)(ns % 1000000000);
    (void)pthread_cond_timedwait(&g.cv, &g.mu, &ts);
}

/* The domain of the sender address, for Message-IDs. */
static const char *from_domain(void)
{
    const char *from = g.s->cfg.smtp_from ? g.s->cfg.smtp_from : "metron@localhost";
    const char *at = strrchr(from, '@');
    return at != NULL && at[1] != '\0' ? at + 1 : "localhost";
}

static void item_of(const db_outbox_job *j, notify_item *it)
{
    memset(it, 0, sizeof *it);
    it->outbox_id = j->id;
    it->message_id = j->message_id;
    it->attempt = j->attempt;
    it->channel = j->channel;
    it->kind = j->kind;
    it->language = j->language;
    it->severity = j->severity;
    it->title = j->title;
    it->body = j->body;
    it->fields_json = j->fields;
    it->link_url = j->link_url;
    it->link_label = j->link_label;
}

/* The state after a failed attempt: dead at the limit (or when trying
 * again cannot help), else a retry after the back-off. */
static void failed(const db_outbox_job *j, db_outbox_result *r, bool permanent,
                   struct drand48_data *rng)
{
    int failures = (int)j->failures + 1;
    double jitter = 0;
    r->failed = 1;
    if (permanent || failures >= g.cfg.max_failures) {
        r->state = "dead";
        return;
    }
    drand48_r(rng, &jitter);
    r->state = "retry";
    r->delay_ms = notify_backoff_ms(failures, g.cfg.backoff_ms, g.cfg.backoff_max_ms, jitter);
}

/* Where the attachment's bytes go: a buffer of the blob's size. */
typedef struct {
    unsigned char *buf;
    size_t len;
} att_buf;

static int att_sink(void *arg, const void *data, size_t len)
{
    att_buf *b = arg;
    memcpy(b->buf + b->len, data, len);
    b->len += len;
    return 0;
}

/* The file attached to mail row "j" (a report's PDF), read whole into
 * *data (caller frees; NULL when the row has none, or when its drive file
 * is gone or too large: the mail then goes without it). Returns 0, or -1
 * when the database could not say (the attempt fails and is retried). */
static int load_attachment(const db_outbox_job *j, unsigned char **data, size_t *len,
                           char name[256], char type[104])
{
    db_conn *c = NULL;
    long long file_id = 0, blob_id = 0;
    db_file f;
    bool found = false;
    att_buf b = {NULL, 0};
    db_status st = db_acquire(g.s->pool, DB_WAIT_MS, &c);
    *data = NULL;
    *len = 0;
    if (st == DB_OK) {
        st = db_outbox_attachment(c, j->account_id, j->id, &file_id, &blob_id, name, type);
        if (st == DB_OK && blob_id != 0) {
            st = db_file_get(c, j->account_id, blob_id, &f, &found);
        }
        db_release(g.s->pool, c);
    }
    if (st != DB_OK) {
        return -1;
    }
    if (file_id == 0) {
        return 0;
    }
    if (!found) {
        log_warn("outbox: delivery %lld: its attachment (file %lld) cannot be read: sent "
                 "without it",
                 j->id, file_id);
        return 0;
    }
    if (f.size > MAIL_ATTACH_MAX || (b.buf = malloc((size_t)f.size + 1)) == NULL) {
        log_warn("outbox: delivery %lld: its attachment (file %lld) is over %lld bytes: sent "
                 "without it",
                 j->id, file_id, (long long)MAIL_ATTACH_MAX);
        return 0;
    }
    if (f.size > 0 && (st = db_file_read(g.s->pool, &f, 0, f.size - 1, att_sink, &b, NULL)) !=
                          DB_OK) {
        free(b.buf);
        return st == DB_ERROR ? 0 : -1; /* deleted meanwhile: without it */
    }
    *data = b.buf;
    *len = b.len;
    return 0;
}

static void send_mail(const db_outbox_job *j, db_outbox_result *r, char *err, size_t err_cap,
                      struct drand48_data *rng)
{
    notify_item it;
    mail_msg m;
    mail_result mr;
    char msgid[200], delivery[24], *text;
    char att_name[256], att_type[104];
    unsigned char *att = NULL;
    size_t att_len = 0;
    double t0 = mono_ms();
    memset(&m, 0, sizeof m);
    if (load_attachment(j, &att, &att_len, att_name, att_type) != 0) {
        snprintf(err, err_cap, "the attachment could not be looked up: the database is away");
        r->outcome = "failed";
        failed(j, r, false, rng);
        r->duration_ms = mono_ms() - t0;
        return;
    }
    item_of(j, &it);
    text = notify_format_mail(&it);
    if (text == NULL) {
        snprintf(err, err_cap, "out of memory");
        r->outcome = "failed";
        failed(j, r, false, rng);
        free(att);
        return;
    }
    snprintf(msgid, sizeof msgid, "<metron.%lld.%lld@%s>", j->id, j->message_id, from_domain());
    snprintf(delivery, sizeof delivery, "%lld", j->id);
    m.to = j->address;
    m.subject = j->title;
    m.text = text;
    m.message_id = msgid;
    m.delivery = delivery;
    m.timeout_ms = g.cfg.timeout_ms;
    if (att != NULL) {
        m.attach = att;
        m.attach_len = att_len;
        m.attach_name = att_name;
        m.attach_type = att_type;
    }
    if (mail_send_msg(g.s, &m, &mr) == 0) {
        r->outcome = "sent";
        r->state = "sent";
    } else {
        snprintf(err, err_cap, "%s", mr.error);
        r->outcome = strstr(mr.error, "imeout") != NULL || strstr(mr.error, "timed out") != NULL
                         ? "timeout"
                         : "failed";
        failed(j, r, mr.permanent, rng);
    }
    r->status = (int)mr.smtp_code;
    r->duration_ms = mono_ms() - t0;
    free(text);
    free(att);
}

static void send_webhook(int self, webhook_client *wc, const db_outbox_job *j,
                         db_outbox_result *r, char *err, size_t err_cap, char *resp,
                         size_t resp_cap, long long *throttle_ms, struct drand48_data *rng)
{
    int rc;
    notify_item it;
    webhook_answer a;
    char delivery[24], *json;
    item_of(j, &it);
    json = notify_format_webhook(&it);
    *throttle_ms = 0;
    if (json == NULL) {
        snprintf(err, err_cap, "out of memory or unknown channel '%s'", j->channel);
        r->outcome = "failed";
        failed(j, r, false, rng);
        return;
    }
    snprintf(delivery, sizeof delivery, "%lld", j->id);
    attempt_slow_at(self, mono_ms() + g.cfg.slow_ms);
    rc = webhook_post(wc, j->address, json, delivery, j->attempt, g.cfg.timeout_ms, &a);
    attempt_slow_at(self, 0);
    if (rc != 0) {
        snprintf(err, err_cap, "%s", a.error);
        r->outcome = a.timed_out ? "timeout" : "failed";
        r->duration_ms = a.ms;
        failed(j, r, a.refused_address, rng);
        free(json);
        return;
    }
    free(json);
    r->duration_ms = a.ms;
    r->status = (int)a.status;
    notify_clean_text(a.body, a.body_len);
    snprintf(resp, resp_cap, "%s", a.body);
    switch (notify_classify_webhook(j->channel, a.status, a.body, strlen(a.body),
                                    a.retry_after[0] ? a.retry_after : NULL, time(NULL),
                                    throttle_ms, err, err_cap)) {
    case NOTIFY_SENT:
        r->outcome = "sent";
        r->state = "sent";
        break;
    case NOTIFY_THROTTLED:
        /* Not a failure of the message: wait as asked. A receiver that
         * never stops answering 429 still ends: dead after 5 x the
         * failure limit of attempts. */
        r->outcome = "throttled";
        r->failed = 0;
        if (j->attempt >= 5LL * g.cfg.max_failures) {
            r->state = "dead";
        } else {
            r->state = "retry";
            r->delay_ms = *throttle_ms;
        }
        break;
    case NOTIFY_PERMANENT:
        r->outcome = "failed";
        failed(j, r, true, rng);
        break;
    default:
        r->outcome = "failed";
        failed(j, r, false, rng);
        break;
    }
}

/* Send one claimed row and record the attempt. */
static void deliver(int self, webhook_client *wc, const db_outbox_job *j,
                    struct drand48_data *rng)
{
    db_outbox_result r;
    char err[240] = "", resp[501] = "";
    long long throttle_ms = 0;
    db_conn *c = NULL;
    bool ours = false;
    db_status st;

    memset(&r, 0, sizeof r);
    if (strcmp(j->channel, "email") == 0) {
        send_mail(j, &r, err, sizeof err, rng);
    } else {
        send_webhook(self, wc, j, &r, err, sizeof err, resp, sizeof resp, &throttle_ms, rng);
    }
    r.error = err[0] ? err : NULL;
    r.response = resp[0] ? resp : NULL;
    if (strcmp(r.state, "dead") == 0) {
        log_warn("outbox: delivery %lld (%s, %s) is dead after %lld attempts: %s", j->id,
                 j->kind, j->channel, j->attempt, err);
    }
    /* The result must reach the database: keep trying while it is away
     * (the lease covers us for a while; past it the row is re-sent, with
     * the same X-Metron-Delivery). */
    for (int tries = 0; tries < 20; tries++) {
        st = db_acquire(g.s->pool, DB_WAIT_MS, &c);
        if (st == DB_OK) {
            if (throttle_ms > 0) {
                (void)db_outbox_rate_push(c, j->account_id, j->channel, j->address, throttle_ms);
            }
            st = db_outbox_finish(c, j, g.owner, &r, &ours);
            db_release(g.s->pool, c);
        }
        if (st == DB_OK) {
            break;
        }
        usleep(500000);
    }
    if (st != DB_OK) {
        log_error("outbox: cannot record delivery %lld (%s): it will be sent again after its "
                  "lease",
                  j->id, db_strerror(st));
    } else if (!ours) {
        log_warn("outbox: delivery %lld outlived its lease (%d ms) and was taken again",
                 j->id, g.cfg.lease_ms);
    }
}

static void give_back(const db_outbox_job *j)
{
    db_conn *c = NULL;
    if (db_acquire(g.s->pool, DB_WAIT_MS, &c) == DB_OK) {
        (void)db_outbox_give_back(c, j, g.owner);
        db_release(g.s->pool, c);
    }
}

static bool stopping(void)
{
    bool stop;
    pthread_mutex_lock(&g.mu);
    stop = g.stop;
    pthread_mutex_unlock(&g.mu);
    return stop;
}

/* Claim and send until nothing is due. */
static void drain(int self, webhook_client *wc, struct drand48_data *rng)
{
    for (;;) {
        db_outbox_job *jobs = NULL;
        int n = 0;
        db_conn *c = NULL;
        db_status st;
        double t_claim;
        if (stopping()) {
            return;
        }
        /* One host, and the account's hosts in trouble together, hold at
         * most the account's share less one (at least 1), so that its other
         * receivers always have a slot (065, 075); an attempt in flight for
         * slow_ms counts its host as in trouble (079). */
        const int share = g.cfg.account_limit > 1 ? g.cfg.account_limit - 1 : 1;
        const db_outbox_limits limits = {g.cfg.receiver_limit, g.cfg.mail_limit, g.cfg.host_limit,
                                         g.cfg.healthy_host_limit, g.cfg.account_limit, share,
                                         share, g.cfg.slow_ms};
        st = db_acquire(g.s->pool, DB_WAIT_MS, &c);
        if (st == DB_OK) {
            st = db_outbox_claim(c, g.owner, OUTBOX_BATCH, g.cfg.lease_ms, g.cfg.rate_ms,
                                 g.cfg.max_failures, &limits, &jobs, &n);
            db_release(g.s->pool, c);
        }
        t_claim = mono_ms();
        if (st != DB_OK || n == 0) {
            db_outbox_job_free(jobs, n);
            return;
        }
        if (n == OUTBOX_BATCH) {
            wake(1); /* more may be due: another thread helps */
        }
        for (int i = 0; i < n; i++) {
            /* A row is only sent while its lease surely outlasts the
             * attempt; otherwise another sender could take it meanwhile. */
            if (stopping() ||
                mono_ms() - t_claim + g.cfg.timeout_ms + 1000.0 > (double)g.cfg.lease_ms) {
                give_back(&jobs[i]);
                continue;
            }
            deliver(self, wc, &jobs[i], rng);
        }
        db_outbox_job_free(jobs, n);
    }
}

static void *sender_main(void *arg)
{
    struct drand48_data rng;
    webhook_client *wc = webhook_client_new(g.cfg.allow_local, g.cfg.ca_file);
    srand48_r((long)time(NULL) ^ (long)(intptr_t)arg ^ (long)getpid(), &rng);
    if (wc == NULL) {
        log_error("outbox: a sender thread has no HTTP client (out of memory)");
        return NULL;
    }
    for (;;) {
        pthread_mutex_lock(&g.mu);
        while (!g.stop && g.tokens == 0) {
            wait_for_work();
        }
        if (g.stop) {
            pthread_mutex_unlock(&g.mu);
            break;
        }
        g.tokens--;
        pthread_mutex_unlock(&g.mu);
        drain((int)(intptr_t)arg, wc, &rng);
    }
    webhook_client_free(wc);
    return NULL;
}

int outbox_sender_start(srv *s, const char *conninfo)
{
    char host[64] = "";
    if (g.running || s->cfg.notify.threads <= 0) {
        return 0;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    g.s = s;
    g.cfg = s->cfg.notify;
    g.stop = false;
    g.tokens = 1; /* look once at start: rows left by a previous run */
    gethostname(host, sizeof host - 1);
    snprintf(g.owner, sizeof g.owner, "%s/%ld/%lld", host[0] ? host : "host", (long)getpid(),
             (long long)time(NULL));
    g.threads = calloc((size_t)g.cfg.threads, sizeof *g.threads);
    g.slow_at = calloc((size_t)g.cfg.threads, sizeof *g.slow_at);
    if (g.threads == NULL || g.slow_at == NULL) {
        free(g.threads);
        free(g.slow_at);
        g.threads = NULL;
        g.slow_at = NULL;
        return -1;
    }
    for (g.n_threads = 0; g.n_threads < g.cfg.threads; g.n_threads++) {
        if (pthread_create(&g.threads[g.n_threads], NULL, sender_main,
                           (void *)(intptr_t)g.n_threads) != 0) {
            outbox_sender_stop();
            return -1;
        }
    }
    g.running = true;
    g.listener = db_channel_start(conninfo, "metron_outbox", 1000, heard, NULL);
    if (g.listener == NULL) {
        outbox_sender_stop();
        return -1;
    }
    return 0;
}

void outbox_sender_stop(void)
{
    if (g.threads == NULL) {
        return;
    }
    db_channel_stop(g.listener);
    g.listener = NULL;
    pthread_mutex_lock(&g.mu);
    g.stop = true;
    pthread_cond_broadcast(&g.cv);
    pthread_mutex_unlock(&g.mu);
    for (int i = 0; i < g.n_threads; i++) {
        pthread_join(g.threads[i], NULL);
    }
    free(g.threads);
    g.threads = NULL;
    free(g.slow_at);
    g.slow_at = NULL;
    g.n_threads = 0;
    g.running = false;
}
