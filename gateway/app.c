/* One simulated gateway app (see app.h). */
#define _POSIX_C_SOURCE 200809L
#include "app.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "batch.h"
#include "mqtt.h"
#include "mqtt_ca.h"
#include "mt/types.h"
#include "net.h"
#include "reply.h"
#include "spool.h"

#define LIVE_STEP_S 5        /* high-speed monitoring: 5-second samples (M3) */
#define UPGRADE_MS 8000      /* a simulated firmware upgrade takes this long */
#define FLUSH_BUDGET_MS 2000 /* at most this long sending per step */
#define REPLY_WAIT_MS 10000  /* an MQTT batch not answered in this time is sent again */
#define RENEW_RETRY_MS 3600000 /* a renewal while connected is tried again after this */
/* The server's "come back in N seconds" (Retry-After on a 503 or 429 over
 * HTTPS, "retry_after" in an MQTT reply: a maintenance window, a busy
 * server) is obeyed up to this long: a maintenance window lasts at most 12
 * hours (docs/operations.md), and a wrong or hostile number must not
 * silence the gateway for longer. */
#define GW_RETRY_AFTER_MAX_S 43200
/* After the wait, each app waits a random further 0..10% of it (at most
 * JITTER_MAX_MS), so that the gateways held by one window do not all come
 * back in the same second. */
#define JITTER_MAX_MS 60000

/* What the gateway remembers of each instrument while it runs. */
typedef struct {
    int64_t upgrade_until_ms; /* > 0 while a firmware upgrade runs (M6) */
    int64_t upgrade_req;      /* the request to answer when it is done */
    char upgrade_to[GW_FIRMWARE_MAX + 1];
    /* The console (C1, docs/console.md). */
    bool stopped;             /* measurement stopped from the console: samples missing */
    int64_t started_s;        /* when the current measurement started */
    int64_t run;              /* measurements started since the gateway started */
    size_t page;              /* the page of channel values its screen shows */
    int64_t watch_until_ms;   /* screens are sent until then (renewed by "watch") */
    uint64_t screen_hash;     /* of the last screen sent */
} ins_run;

/* Screens are sent for this long after the server's last "watch" (it
 * renews it every 20 s while a person's console is open). */
#define CONSOLE_WATCH_MS 60000

/* An answer to one of the server's requests that did not reach it (no
 * answer in time, the server busy or asking to wait): its body, sent again
 * at every poll until the server takes or refuses it. */
#define UNSENT_MAX 16
typedef struct {
    int64_t id;
    char *body;
    size_t len;
} unsent_answer;

struct gw_app {
    gw_config cfg;
    char dir[4096];
    char credential[128];
    gw_state st;
    ins_run *run;
    gw_sim_opts sim;
    gw_http *http;
    gw_spool *spool;
    gw_table tab;
    bool tab_ok;
    bool declare_needed;
    bool declare_unsupported;
    bool requests_unsupported;
    bool server_ok; /* the last request was answered */
    bool said_connect;
    int64_t cursor_s; /* the last sampling instant spooled (s), 0 = none */
    int64_t next_tick_ms, next_hb_ms, next_poll_ms, next_send_ms;
    int64_t backoff_ms;
    int64_t hold_until_ms; /* the server asked for nothing before this (Retry-After) */
    int64_t live_until_us;
    int64_t last_live_s;
    int64_t started_ms;
    char last_problem[400];
    char last_refusal[80]; /* the app's refusal last logged ("401 unauthenticated") */
    char last_declare[400];
    double *vbuf;
    size_t vcap;
    gw_stats stats;
    /* MQTTS (docs/mqtt.md) */
    bool mqtt_wanted;     /* auto or mqtts, and the server did not say "no MQTT" */
    gw_mqtt *mq;
    gw_cert_reply *cert;  /* the certificate in use (STATE/mqtt.json) */
    int64_t cert_not_after;
    int64_t next_renew_ms; /* while connected: when a renewal may be tried next */
    int64_t next_mqtt_ms; /* when to (re)connect or ask for a certificate */
    int64_t mqtt_backoff_ms;
    bool mqtt_was_up;
    char mqtt_problem[300];
    unsent_answer unsent[UNSENT_MAX]; /* oldest first */
    size_t n_unsent;
};

/* ---------------------------------------------------------------- helpers */

int64_t gw_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void gw_log(gw_log_level need, gw_log_level have, const char *fmt, ...)
{
    char line[1200];
    struct timespec ts;
    struct tm tm;
    size_t n;
    va_list ap;
    if (have < need) {
        return;
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%SZ gateway: ", &tm);
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - n - 1, fmt, ap);
    va_end(ap);
    n = strlen(line);
    line[n++] = '\n';
    /* One write per line: lines of several gateways do not interleave. */
    if (write(2, line, n) < 0) {
        /* nowhere left to say it */
    }
}

#define LOG(a, lvl, ...) gw_log((lvl), (a)->cfg.log, __VA_ARGS__)

static int64_t floor_div(int64_t a, int64_t b)
{
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}

static int write_cursor(gw_app *a)
{
    char text[32];
    int n = snprintf(text, sizeof text, "%" PRId64 "\n", a->cursor_s);
    return gw_write_file_atomic(a->dir, "cursor", text, (size_t)n, 0600);
}

static void read_cursor(gw_app *a)
{
    char path[4200], *text, *end = NULL;
    size_t len = 0;
    long long v;
    snprintf(path, sizeof path, "%s/cursor", a->dir);
    text = gw_read_file(path, 64, &len);
    if (text == NULL) {
        return;
    }
    errno = 0;
    v = strtoll(text, &end, 10);
    if (errno == 0 && end != text && (*end == '\n' || *end == '\0') && v > 946684800LL &&
        v < 32503680000LL) {
        a->cursor_s = v;
    } else {
        LOG(a, GW_LOG_QUIET, "%s is damaged: sampling starts now", path);
    }
    free(text);
}

static void problem(gw_app *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Log a problem once, until a different one (or none) comes. */
static void problem(gw_app *a, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (strcmp(msg, a->last_problem) != 0) {
        LOG(a, GW_LOG_QUIET, "%s", msg);
        snprintf(a->last_problem, sizeof a->last_problem, "%s", msg);
    }
}

static void no_problem(gw_app *a)
{
    a->last_refusal[0] = '\0';
    if (a->last_problem[0] != '\0') {
        LOG(a, GW_LOG_QUIET, "the server answers again and takes the app's requests (%zu batches waiting)",
            gw_spool_count(a->spool));
        a->last_problem[0] = '\0';
    }
}

static void random_bytes(unsigned char *out, size_t n);

/* Whether the server asked the gateway to send nothing at "now_ms". */
static bool held(const gw_app *a, int64_t now_ms)
{
    return now_ms < a->hold_until_ms;
}

/* The server asked for nothing for "secs" seconds ("why": its code and
 * message): nothing goes to it until then plus a random jitter; sampling
 * goes on into the spool, which is sent (back-filled) afterwards. */
static void hold(gw_app *a, long long secs, const char *code, const char *why)
{
    unsigned char rb[4];
    int64_t wait_ms, jitter_ms = 0, now = gw_now_ms();
    char until[32];
    time_t t;
    struct tm tm;
    if (secs > GW_RETRY_AFTER_MAX_S) {
        secs = GW_RETRY_AFTER_MAX_S;
    }
    wait_ms = (int64_t)secs * 1000;
    if (wait_ms / 10 > 0) {
        uint32_t x;
        random_bytes(rb, sizeof rb);
        x = (uint32_t)rb[0] | (uint32_t)rb[1] << 8 | (uint32_t)rb[2] << 16 | (uint32_t)rb[3] << 24;
        jitter_ms = (int64_t)(x % (uint32_t)(wait_ms / 10 < JITTER_MAX_MS ? wait_ms / 10
                                                                           : JITTER_MAX_MS));
    }
    if (now + wait_ms + jitter_ms <= a->hold_until_ms) {
        return; /* already held at least as long */
    }
    a->hold_until_ms = now + wait_ms + jitter_ms;
    t = (time_t)(a->hold_until_ms / 1000);
    gmtime_r(&t, &tm);
    strftime(until, sizeof until, "%Y-%m-%dT%H:%M:%SZ", &tm);
    problem(a, "the server asks to wait %lld s (%s: %s): nothing is sent before %s; "
            "measurements are kept in %s/spool and sent then",
            secs, code, why, until, a->dir);
}

/* One request to the server. 0 when it answered (any status), -1 when not;
 * a server that does not answer is logged once. While the server asked to
 * wait (hold()), nothing is sent: -1 at once. */
static int call(gw_app *a, const char *method, const char *path, const char *body, size_t len,
                gw_resp *r)
{
    int rc;
    if (held(a, gw_now_ms())) {
        memset(r, 0, sizeof *r);
        snprintf(r->err, sizeof r->err, "the server asked to wait");
        return -1;
    }
    rc = gw_http_do(a->http, method, path, "application/json", body, len, r);
    if (rc != 0) {
        a->server_ok = false;
        problem(a, "the server does not answer (%s): batches are kept in %s/spool", r->err,
                a->dir);
        return -1;
    }
    a->server_ok = true;
    if (r->status >= 200 && r->status < 300) {
        no_problem(a);
    } else if ((r->status == 503 || r->status == 429) && r->retry_after_s > 0) {
        char code[64], msg[200];
        gw_error_parse(r->body, r->len, code, sizeof code, msg, sizeof msg);
        hold(a, r->retry_after_s, code[0] ? code : "busy", msg);
    } else if (r->status >= 500) {
        char code[64], msg[200];
        gw_error_parse(r->body, r->len, code, sizeof code, msg, sizeof msg);
        problem(a, "the server answers %ld %s: batches are kept and sent again", r->status,
                code);
    }
    return 0;
}

/* A refusal of the app itself (401/403): logged once, the data kept. */
static void refused_app(gw_app *a, const gw_resp *r)
{
    char code[64], msg[300], key[80];
    gw_error_parse(r->body, r->len, code, sizeof code, msg, sizeof msg);
    /* Once per refusal (status and code): routes word it differently. */
    snprintf(key, sizeof key, "%ld %s", r->status, code);
    if (strcmp(a->last_refusal, key) == 0) {
        return;
    }
    snprintf(a->last_refusal, sizeof a->last_refusal, "%s", key);
    problem(a, "the server refuses this app (%ld %s: %s); batches are kept until it accepts "
            "them (check the registration code)",
            r->status, code, msg);
}

/* Whether the error body of "r" has "code". */
static bool body_has_code(const gw_resp *r, const char *code)
{
    char c[64], msg[8];
    gw_error_parse(r->body, r->len, c, sizeof c, msg, sizeof msg);
    return strcmp(c, code) == 0;
}

/* --------------------------------------------------------- channel table */

/* Whether the server lacks an instrument, a channel or the firmware. */
static bool table_lacks(const gw_app *a)
{
    for (size_t i = 0; i < a->st.n_ins; i++) {
        const gw_instrument *ins = &a->st.ins[i];
        const gw_tdevice *d = gw_table_device(&a->tab, ins->model, ins->serial);
        if (d == NULL || (d->firmware[0] != '\0' && strcmp(d->firmware, ins->firmware) != 0)) {
            return true;
        }
        for (size_t c = 0; c < ins->n_ch; c++) {
            if (gw_table_channel(d, ins->ch[c].key) == NULL) {
                return true;
            }
        }
    }
    return false;
}

static int take_table(gw_app *a, const gw_resp *r)
{
    gw_table t;
    char err[300];
    memset(&t, 0, sizeof t);
    if (gw_table_parse(r->body, r->len, &t, err, sizeof err) != 0) {
        gw_table_clear(&t);
        problem(a, "the server's channel table does not read: %s", err);
        return -1;
    }
    gw_table_clear(&a->tab);
    a->tab = t;
    a->tab_ok = true;
    a->live_until_us = t.live_until;
    a->declare_needed = table_lacks(a);
    return 0;
}

static int refresh_table(gw_app *a)
{
    gw_resp r;
    int rc = -1;
    if (call(a, "GET", "/api/v1/ingest/channels", NULL, 0, &r) != 0) {
        return -1;
    }
    if (r.status == 200) {
        rc = take_table(a, &r);
    } else if (r.status == 401 || r.status == 403) {
        refused_app(a, &r);
    }
    gw_resp_clear(&r);
    return rc;
}

/* PUT /api/v1/ingest/devices: tell the server the instruments, their
 * firmware and channels (docs/ingest.md). 0 done (or not possible for
 * good), -1 try again later. */
static int declare(gw_app *a)
{
    gw_buf b = {0};
    gw_resp r;
    int rc = -1;
    gw_buf_str(&b, "{\"devices\":[");
    for (size_t i = 0; i < a->st.n_ins; i++) {
        const gw_instrument *ins = &a->st.ins[i];
        gw_buf_str(&b, i ? ",{\"model\":" : "{\"model\":");
        gw_buf_json_str(&b, ins->model);
        gw_buf_str(&b, ",\"serial\":");
        gw_buf_json_str(&b, ins->serial);
        gw_buf_str(&b, ",\"firmware\":");
        gw_buf_json_str(&b, ins->firmware);
        gw_buf_str(&b, ",\"name\":");
        gw_buf_json_str(&b, ins->name);
        gw_buf_str(&b, ",\"channels\":[");
        for (size_t c = 0; c < ins->n_ch; c++) {
            gw_buf_str(&b, c ? ",{\"key\":" : "{\"key\":");
            gw_buf_json_str(&b, ins->ch[c].key);
            gw_buf_str(&b, ",\"name\":");
            gw_buf_json_str(&b, ins->ch[c].name);
            gw_buf_str(&b, ",\"unit\":");
            gw_buf_json_str(&b, ins->ch[c].unit);
            gw_buf_str(&b, "}");
        }
        gw_buf_str(&b, "]}");
    }
    gw_buf_str(&b, "]}");
    if (b.oom) {
        gw_buf_free(&b);
        return -1;
    }
    if (call(a, "PUT", "/api/v1/ingest/devices", b.p, b.len, &r) == 0) {
        if (r.status == 200) {
            rc = take_table(a, &r);
            a->declare_needed = false; /* what the server could take, it took */
            a->last_declare[0] = '\0';
        } else if (r.status == 404 || r.status == 405) {
            a->declare_unsupported = true;
            a->declare_needed = false;
            LOG(a, GW_LOG_QUIET, "this server does not take instrument reports "
                "(PUT /api/v1/ingest/devices): add the instruments in the portal");
            rc = 0;
        } else if (r.status >= 500 || r.status == 401 ||
                   (r.status == 403 && !body_has_code(&r, "plan_limit"))) {
            if (r.status < 500) {
                refused_app(a, &r); /* the app itself: wrong code, disabled */
            }
        } else {
            char code[64], msg[300];
            gw_error_parse(r.body, r.len, code, sizeof code, msg, sizeof msg);
            if (strcmp(msg, a->last_declare) != 0) {
                LOG(a, GW_LOG_QUIET, "the server refuses the instruments (%ld %s): %s",
                    r.status, code, msg);
                snprintf(a->last_declare, sizeof a->last_declare, "%s", msg);
            }
            a->declare_needed = false; /* again at the next heartbeat */
            rc = 0;
        }
        gw_resp_clear(&r);
    }
    gw_buf_free(&b);
    return rc;
}

/* ------------------------------------------------------------- sampling */

static size_t n_channels(const gw_app *a)
{
    size_t n = 0;
    for (size_t i = 0; i < a->st.n_ins; i++) {
        n += a->st.ins[i].n_ch;
    }
    return n;
}

/* The values of every channel at "t_us" into "out" (an instrument that is
 * upgrading its firmware, or whose measurement was stopped from the
 * console, does not measure: missing). */
static void sample(const gw_app *a, int64_t t_us, int64_t now_ms, double *out)
{
    size_t k = 0;
    for (size_t i = 0; i < a->st.n_ins; i++) {
        const gw_instrument *ins = &a->st.ins[i];
        bool down = (a->run[i].upgrade_until_ms > 0 && now_ms < a->run[i].upgrade_until_ms) ||
                    a->run[i].stopped;
        for (size_t c = 0; c < ins->n_ch; c++) {
            out[k++] = down ? mt_sv_value(MT_SV_MISSING) : gw_sim_value(&a->sim, ins, c, t_us);
        }
    }
}

/* Spool the sampling instants from the cursor up to "now": one batch per
 * instant normally, up to batch_max per batch when catching up after the
 * gateway was stopped (the instruments' memory, at most memory_s back). */
static void tick(gw_app *a, int64_t now_ms)
{
    int64_t iv = a->st.interval_s;
    int64_t now_tick = floor_div(now_ms / 1000, iv) * iv;
    int64_t from = a->cursor_s > 0 ? a->cursor_s + iv : now_tick;
    int64_t oldest = now_tick - floor_div(a->cfg.memory_s, iv) * iv;
    size_t n_ch = n_channels(a);
    if (from < oldest) {
        LOG(a, GW_LOG_QUIET, "the instruments remember %d s: %" PRId64
            " earlier sampling instants are lost", a->cfg.memory_s, (oldest - from) / iv);
        from = oldest;
    }
    if (from < now_tick) {
        LOG(a, GW_LOG_INFO, "reading %" PRId64 " sampling instants back from the instruments' "
            "memory", (now_tick - from) / iv + 1);
    }
    while (from <= now_tick) {
        size_t n = (size_t)((now_tick - from) / iv + 1), len = 0;
        int64_t t[GW_ENTRY_TIMES_MAX < 1000 ? GW_ENTRY_TIMES_MAX : 1000];
        char id[GW_BATCH_ID_MAX + 1], name[40], err[300], *text;
        if (n > (size_t)a->cfg.batch_max) {
            n = (size_t)a->cfg.batch_max;
        }
        if (n > sizeof t / sizeof t[0]) {
            n = sizeof t / sizeof t[0];
        }
        if (n_ch > 0 && n > GW_ENTRY_VALUES_MAX / n_ch) {
            n = GW_ENTRY_VALUES_MAX / n_ch;
        }
        if (n * n_ch > a->vcap) {
            double *v = realloc(a->vbuf, (n * n_ch > 0 ? n * n_ch : 1) * sizeof *v);
            if (v == NULL) {
                LOG(a, GW_LOG_QUIET, "out of memory while sampling");
                return;
            }
            a->vbuf = v;
            a->vcap = n * n_ch;
        }
        for (size_t j = 0; j < n; j++) {
            t[j] = (from + (int64_t)j * iv) * 1000000;
            sample(a, t[j], now_ms, a->vbuf + j * n_ch);
        }
        snprintf(id, sizeof id, "%s-%" PRId64 "-%zu", a->st.tag, from, n);
        snprintf(name, sizeof name, "%012" PRId64 ".batch", from);
        text = gw_entry_format(id, a->st.ins, a->st.n_ins, t, n, a->vbuf, &len);
        if (text == NULL || gw_spool_put(a->spool, name, text, len, err, sizeof err) != 0) {
            problem(a, "cannot spool a batch (%s): sampling waits", text ? err : "no memory");
            free(text);
            return;
        }
        free(text);
        a->cursor_s = from + (int64_t)(n - 1) * iv;
        if (write_cursor(a) != 0) {
            problem(a, "cannot write %s/cursor: %s", a->dir, strerror(errno));
        }
        a->stats.ticks += n;
        a->stats.samples += n * n_ch;
        from += (int64_t)n * iv;
    }
}

/* ------------------------------------------------------------------ MQTT */

static void mqtt_log_once(gw_app *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void mqtt_log_once(gw_app *a, const char *fmt, ...)
{
    char msg[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (strcmp(msg, a->mqtt_problem) != 0) {
        LOG(a, GW_LOG_QUIET, "%s", msg);
        snprintf(a->mqtt_problem, sizeof a->mqtt_problem, "%s", msg);
    }
}

static void path_of(const gw_app *a, const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s", a->dir, name);
}

/* Read STATE/mqtt.json (the server's answer to the last certificate
 * request) and the certificate's expiry. 0, or -1 when there is none. */
static int mqtt_load_cert(gw_app *a)
{
    char path[4200], err[200], *text;
    size_t len = 0;
    mqtt_cert_info info;
    path_of(a, "mqtt.json", path, sizeof path);
    text = gw_read_file(path, 1 << 20, &len);
    if (text == NULL) {
        return -1;
    }
    if (a->cert == NULL && (a->cert = malloc(sizeof *a->cert)) == NULL) {
        free(text);
        return -1;
    }
    if (gw_cert_parse(text, len, a->cert, err, sizeof err) != 0 ||
        mqtt_ca_cert_info(a->cert->cert_pem, &info, err, sizeof err) != 0) {
        LOG(a, GW_LOG_QUIET, "%s is damaged (%s): asking for a new certificate", path, err);
        free(text);
        free(a->cert);
        a->cert = NULL;
        return -1;
    }
    free(text);
    a->cert_not_after = info.not_after;
    return 0;
}

/* Ask the server for a client certificate (a new key each time). 0 done,
 * -1 later. A server without MQTT turns "auto" into HTTPS for good. */
static int mqtt_request_cert(gw_app *a)
{
    char *csr = NULL, *key = NULL, err[300];
    gw_buf b = {0};
    gw_resp r;
    int rc = -1;
    if (mqtt_ca_make_csr("metron-gateway", &csr, &key, err, sizeof err) != 0) {
        mqtt_log_once(a, "cannot make a key: %s", err);
        return -1;
    }
    gw_buf_str(&b, "{\"csr\":");
    gw_buf_json_str(&b, csr);
    gw_buf_str(&b, "}");
    if (!b.oom && call(a, "POST", "/api/v1/ingest/certificate", b.p, b.len, &r) == 0) {
        gw_cert_reply *c = malloc(sizeof *c);
        if (r.status == 201 && c != NULL &&
            gw_cert_parse(r.body, r.len, c, err, sizeof err) == 0) {
            if (gw_write_file_atomic(a->dir, "mqtt.key", key, strlen(key), 0600) == 0 &&
                gw_write_file_atomic(a->dir, "mqtt.crt", c->cert_pem, strlen(c->cert_pem),
                                     0644) == 0 &&
                gw_write_file_atomic(a->dir, "mqtt-ca.pem", c->ca_pem, strlen(c->ca_pem),
                                     0644) == 0 &&
                gw_write_file_atomic(a->dir, "mqtt.json", r.body, r.len, 0600) == 0 &&
                mqtt_load_cert(a) == 0) {
                LOG(a, GW_LOG_QUIET, "got client certificate %s for %s", a->cert->serial,
                    a->cert->url);
                a->mqtt_problem[0] = '\0';
                rc = 0;
            } else {
                mqtt_log_once(a, "cannot keep the certificate in %s: %s", a->dir,
                              strerror(errno));
            }
        } else if (r.status == 503 && body_has_code(&r, "mqtt_off") &&
                   a->cfg.transport == GW_TRANSPORT_AUTO) {
            LOG(a, GW_LOG_QUIET, "the server takes no MQTT: batches go over HTTPS");
            a->mqtt_wanted = false;
            rc = 0;
        } else if (r.status == 401 || r.status == 403) {
            refused_app(a, &r);
        } else {
            char code[64], msg[200];
            gw_error_parse(r.body, r.len, code, sizeof code, msg, sizeof msg);
            mqtt_log_once(a, "no certificate (%ld %s): %s", r.status, code,
                          msg[0] ? msg : err);
        }
        free(c);
        gw_resp_clear(&r);
    }
    gw_buf_free(&b);
    memset(key, 0, strlen(key));
    free(key);
    free(csr);
    return rc;
}

/* Make the MQTT session and start connecting. */
static void mqtt_connect(gw_app *a, int64_t now_ms)
{
    char ca[4200], crt[4200], key[4200], id[96], err[300];
    gw_mqtt_free(a->mq);
    a->mq = NULL;
    a->mqtt_was_up = false;
    path_of(a, "mqtt-ca.pem", ca, sizeof ca);
    path_of(a, "mqtt.crt", crt, sizeof crt);
    path_of(a, "mqtt.key", key, sizeof key);
    snprintf(id, sizeof id, "app-%lld-%s", (long long)a->cert->app_id, a->st.tag);
    a->mq = gw_mqtt_new(a->cert->app_id, id, a->cert->host, a->cert->port, ca, crt, key, err,
                        sizeof err);
    if (a->mq == NULL) {
        mqtt_log_once(a, "no MQTT session: %s", err);
    } else if (gw_mqtt_connect(a->mq, a->cfg.keepalive_s, err, sizeof err) != 0) {
        mqtt_log_once(a, "the broker at %s does not answer (%s): batches wait in %s/spool",
                      a->cert->url, err, a->dir);
    }
    a->next_mqtt_ms = now_ms + a->mqtt_backoff_ms;
    a->mqtt_backoff_ms = a->mqtt_backoff_ms * 2 > (int64_t)a->cfg.retry_max_s * 1000
                             ? (int64_t)a->cfg.retry_max_s * 1000
                             : a->mqtt_backoff_ms * 2;
}

static bool mqtt_up(const gw_app *a)
{
    return a->mq != NULL && gw_mqtt_status(a->mq) == GW_MQTT_UP;
}

/* Whether the certificate in use is due for renewal (--renew-days). */
static bool cert_due(const gw_app *a, int64_t now_ms)
{
    return a->cert_not_after < now_ms / 1000 + (int64_t)a->cfg.renew_days * 86400;
}

/* Keep the MQTT session alive: certificate, (re)connection, status. */
static void mqtt_tend(gw_app *a, int64_t now_ms)
{
    if (!a->mqtt_wanted) {
        return;
    }
    if (a->mq != NULL) {
        gw_mqtt_pump(a->mq, 0);
    }
    if (mqtt_up(a)) {
        if (!a->mqtt_was_up) {
            static const char hello[] = "{\"state\":\"connect\"}";
            a->mqtt_was_up = true;
            a->mqtt_backoff_ms = 1000;
            gw_mqtt_send(a->mq, "status", hello, sizeof hello - 1, 1);
            LOG(a, GW_LOG_QUIET, "MQTTS: connected to %s as app-%lld (certificate %s)",
                a->cert->url, (long long)a->cert->app_id, a->cert->serial);
            a->mqtt_problem[0] = '\0';
        }
        /* Renewal while connected: the new certificate (and key) is kept for
         * the next connection; this one goes on (the old certificate stays
         * valid until it expires), so the app is never seen disconnecting. */
        if (a->cert != NULL && cert_due(a, now_ms) && now_ms >= a->next_renew_ms) {
            char old[sizeof a->cert->serial];
            snprintf(old, sizeof old, "%s", a->cert->serial);
            LOG(a, GW_LOG_QUIET, "MQTTS: certificate %s expires in %" PRId64 " days: renewing "
                "it (the connection stays)", old,
                (a->cert_not_after - now_ms / 1000) / 86400);
            a->next_renew_ms = now_ms + RENEW_RETRY_MS;
            mqtt_request_cert(a);
        }
        return;
    }
    if (a->mqtt_was_up) {
        a->mqtt_was_up = false;
        LOG(a, GW_LOG_QUIET, "MQTTS: lost the broker (%s): batches wait, reconnecting",
            a->mq != NULL ? gw_mqtt_reason(a->mq) : "?");
    }
    if (now_ms < a->next_mqtt_ms) {
        return;
    }
    if (a->mq != NULL && gw_mqtt_status(a->mq) == GW_MQTT_REFUSED) {
        LOG(a, GW_LOG_QUIET, "MQTTS: the broker refuses certificate %s (%s): asking for a new "
            "one", a->cert != NULL ? a->cert->serial : "?", gw_mqtt_reason(a->mq));
        gw_mqtt_free(a->mq);
        a->mq = NULL;
        free(a->cert);
        a->cert = NULL;
    }
    if (a->cert == NULL || cert_due(a, now_ms)) {
        if (mqtt_request_cert(a) != 0 || !a->mqtt_wanted) {
            a->next_mqtt_ms = now_ms + a->mqtt_backoff_ms;
            a->mqtt_backoff_ms = a->mqtt_backoff_ms * 2 > (int64_t)a->cfg.retry_max_s * 1000
                                     ? (int64_t)a->cfg.retry_max_s * 1000
                                     : a->mqtt_backoff_ms * 2;
            return;
        }
    }
    mqtt_connect(a, now_ms);
}

/* --------------------------------------------------------------- sending */

/* What a refusal of a batch means for it. */
typedef enum { KEEP, DROP, REFUSE, AGAIN } verdict;

static verdict judge(gw_app *a, const gw_resp *r, const char *name)
{
    char code[64], msg[300];
    if (r->status == 200 || r->status == 201) {
        return DROP;
    }
    gw_error_parse(r->body, r->len, code, sizeof code, msg, sizeof msg);
    if (r->status == 401 || r->status == 403) {
        refused_app(a, r);
        return KEEP;
    }
    if (r->status == 422 &&
        (strcmp(code, "unknown_channel") == 0 || strcmp(code, "channel_not_selected") == 0)) {
        return AGAIN; /* the selection changed since the table was read */
    }
    if (r->status == 422 && strcmp(code, "time_in_future") == 0) {
        problem(a, "the server says the gateway's clock is ahead (%s): batches wait", msg);
        return KEEP;
    }
    if (r->status >= 500 || r->status == 429 || r->status == 408) {
        return KEEP;
    }
    LOG(a, GW_LOG_QUIET, "batch %s refused for good (%ld %s): %s; kept in %s/refused", name,
        r->status, code, msg, a->dir);
    return REFUSE;
}

/* One batch over HTTPS: the verdict, *dup for a duplicate, and the
 * server's answer in "why" for a refusal. NO_ANSWER (-1) when none came. */
#define NO_ANSWER ((verdict)-1)

static verdict send_https(gw_app *a, const char *body, size_t len, const char *name, bool *dup,
                          char *why, size_t why_cap)
{
    gw_resp r;
    verdict v;
    if (call(a, "POST", "/api/v1/ingest/batches", body, len, &r) != 0) {
        return NO_ANSWER;
    }
    v = judge(a, &r, name);
    *dup = v == DROP && r.body != NULL && strstr(r.body, "\"duplicate\":true") != NULL;
    snprintf(why, why_cap, "%ld %.500s\n", r.status, r.body ? r.body : "");
    gw_resp_clear(&r);
    return v;
}

/* One batch over MQTTS: published with QoS 1, then the server's reply on
 * down/reply is awaited (REPLY_WAIT_MS). */
static verdict send_mqtt(gw_app *a, const char *batch_id, const char *body, size_t len,
                         const char *name, bool *dup, char *why, size_t why_cap)
{
    gw_mqtt_reply rep;
    int64_t until;
    if (held(a, gw_now_ms()) || !mqtt_up(a) ||
        gw_mqtt_send_batch(a->mq, batch_id, body, len) != 0) {
        return NO_ANSWER;
    }
    until = gw_now_ms() + REPLY_WAIT_MS;
    for (;;) {
        gw_mqtt_pump(a->mq, 50);
        if (gw_mqtt_reply_for(a->mq, batch_id, &rep)) {
            break;
        }
        if (!mqtt_up(a) || gw_now_ms() >= until) {
            return NO_ANSWER; /* sent again later, the same batch */
        }
    }
    *dup = rep.duplicate;
    snprintf(why, why_cap, "%s: %s\n", rep.code, rep.message);
    if (rep.ok) {
        return DROP;
    }
    if (rep.retry && rep.retry_after_s > 0) {
        hold(a, (long long)rep.retry_after_s, rep.code, rep.message);
        return KEEP;
    }
    if (rep.retry) {
        problem(a, "the server cannot store batches now (%s): they are sent again", rep.code);
        return KEEP;
    }
    if (strcmp(rep.code, "unknown_channel") == 0 || strcmp(rep.code, "channel_not_selected") == 0) {
        return AGAIN;
    }
    if (strcmp(rep.code, "unauthenticated") == 0 || strcmp(rep.code, "app_disabled") == 0 ||
        strcmp(rep.code, "account_inactive") == 0) {
        problem(a, "the server refuses this app (%s: %s); batches are kept until it accepts "
                "them", rep.code, rep.message);
        return KEEP;
    }
    if (strcmp(rep.code, "time_in_future") == 0) {
        problem(a, "the server says the gateway's clock is ahead (%s): batches wait",
                rep.message);
        return KEEP;
    }
    LOG(a, GW_LOG_QUIET, "batch %s refused for good (%s): %s; kept in %s/refused", name,
        rep.code, rep.message, a->dir);
    return REFUSE;
}

/* Send spooled batches oldest first until one fails or "deadline_ms".
 * 0 when the spool is empty or all was sent that could be, -1 to back off. */
static int send_spool(gw_app *a, int64_t deadline_ms)
{
    if (gw_spool_count(a->spool) == 0) {
        return 0;
    }
    if (!a->tab_ok && refresh_table(a) != 0) {
        return -1;
    }
    if (a->declare_needed && !a->declare_unsupported && declare(a) != 0) {
        return -1;
    }
    if (a->mqtt_wanted && !mqtt_up(a)) {
        return -1; /* the broker is away: the batches wait for it */
    }
    while (gw_spool_count(a->spool) > 0) {
        char name[80], err[300], why[600];
        size_t len = 0, blen = 0, n_samples = 0, n_unknown = 0;
        gw_entry e;
        char *text, *body;
        verdict v;
        bool dup = false;
        int again = 0;
        snprintf(name, sizeof name, "%s", gw_spool_name(a->spool, 0));
        text = gw_spool_read(a->spool, name, &len, err, sizeof err);
        if (text == NULL) {
            LOG(a, GW_LOG_QUIET, "spooled batch %s: %s", name, err);
            gw_spool_refuse(a->spool, name, err);
            continue;
        }
        memset(&e, 0, sizeof e);
        if (gw_entry_parse(text, len, &e, err, sizeof err) != 0) {
            free(text);
            gw_entry_clear(&e);
            LOG(a, GW_LOG_QUIET, "spooled batch %s is damaged (%s): moved to refused/", name,
                err);
            gw_spool_refuse(a->spool, name, err);
            continue;
        }
        free(text);
    build:
        body = gw_entry_body(&e, &a->tab, &blen, &n_samples, &n_unknown);
        if (body == NULL) {
            if (n_samples > 0) {
                gw_entry_clear(&e);
                return -1; /* out of memory: later */
            }
            LOG(a, GW_LOG_DEBUG, "batch %s: no channel of it is selected for acquisition", name);
            gw_spool_drop(a->spool, name);
            gw_entry_clear(&e);
            continue;
        }
        v = a->mqtt_wanted ? send_mqtt(a, e.batch_id, body, blen, name, &dup, why, sizeof why)
                           : send_https(a, body, blen, name, &dup, why, sizeof why);
        free(body);
        if (v == DROP) {
            a->stats.duplicates += dup;
            a->stats.batches_sent++;
            gw_spool_drop(a->spool, name);
        } else if (v == AGAIN && !again && refresh_table(a) == 0) {
            again = 1;
            goto build;
        } else if (v == REFUSE || v == AGAIN) {
            a->stats.refused++;
            gw_spool_refuse(a->spool, name, why);
        } else {
            gw_entry_clear(&e);
            a->stats.send_failures++;
            return -1;
        }
        gw_entry_clear(&e);
        if (gw_now_ms() >= deadline_ms) {
            break;
        }
    }
    return 0;
}

/* -------------------------------------------------------- console (C1) */

static uint64_t text_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s != '\0'; s++) {
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    }
    return h;
}

/* Send the screen of instrument "i" (with the answer to operation "id"
 * when not NULL); only when it changed unless "force". */
static void console_send(gw_app *a, size_t i, int64_t now_ms, bool force, const char *id,
                         bool ok, const char *message)
{
    const gw_instrument *ins = &a->st.ins[i];
    ins_run *r = &a->run[i];
    int64_t iv = a->st.interval_s, t_s = floor_div(now_ms / 1000, iv) * iv;
    gw_console_view v = {.measuring = !r->stopped, .started_s = r->started_s, .run = r->run,
                         .interval_s = a->st.interval_s, .page = r->page};
    char screen[2048], *msg;
    double *values = calloc(ins->n_ch ? ins->n_ch : 1, sizeof *values);
    size_t len = 0, first = r->page * GW_CONSOLE_PAGE_ROWS;
    uint64_t h;
    if (values == NULL) {
        return;
    }
    if (r->upgrade_until_ms > now_ms) {
        v.busy = "upgrading its firmware";
    }
    for (size_t c = first; c < ins->n_ch && c < first + GW_CONSOLE_PAGE_ROWS; c++) {
        values[c] = gw_sim_value(&a->sim, ins, c, t_s * 1000000);
    }
    gw_console_screen(ins, &v, values, now_ms / 1000, screen, sizeof screen);
    free(values);
    h = text_hash(screen);
    if (!force && id == NULL && h == r->screen_hash) {
        return;
    }
    msg = gw_console_message(ins, &v, screen, id, ok, message, &len);
    if (msg != NULL && gw_mqtt_send(a->mq, "console", msg, len, 0) == 0) {
        r->screen_hash = h;
    }
    free(msg);
}

/* Carry out console operation "op" on instrument "i": the answer's sentence
 * into "why"; true when done. */
static bool console_apply(gw_app *a, size_t i, const gw_console_op *op, int64_t now_ms,
                          char *why, size_t cap)
{
    ins_run *r = &a->run[i];
    size_t pages = gw_console_pages(&a->st.ins[i]);
    if (r->upgrade_until_ms > now_ms && op->kind != GW_CON_PAGE_UP &&
        op->kind != GW_CON_PAGE_DOWN) {
        snprintf(why, cap, "the instrument is upgrading its firmware: try again when it is done");
        return false;
    }
    switch (op->kind) {
    case GW_CON_START:
        if (!r->stopped) {
            snprintf(why, cap, "the instrument is measuring already");
            return false;
        }
        r->stopped = false;
        r->started_s = now_ms / 1000;
        r->run++;
        snprintf(why, cap, "measurement %lld started", (long long)r->run);
        return true;
    case GW_CON_STOP:
        if (r->stopped) {
            snprintf(why, cap, "the instrument is stopped already");
            return false;
        }
        r->stopped = true;
        snprintf(why, cap, "measurement %lld stopped", (long long)r->run);
        return true;
    case GW_CON_RESTART:
        r->stopped = false;
        r->started_s = now_ms / 1000;
        r->run++;
        snprintf(why, cap, "measurement restarted (measurement %lld)", (long long)r->run);
        return true;
    case GW_CON_INTERVAL: {
        /* The simulator samples all instruments of an app on one clock: the
         * interval is the app's (docs/console.md). */
        char err[300];
        int old = a->st.interval_s;
        int64_t iv_ms = (int64_t)op->interval_s * 1000;
        a->st.interval_s = op->interval_s;
        if (gw_state_save(a->dir, &a->st, err, sizeof err) != 0) {
            a->st.interval_s = old;
            snprintf(why, cap, "the interval could not be kept: %.120s", err);
            return false;
        }
        a->next_tick_ms = (floor_div(now_ms, iv_ms) + 1) * iv_ms;
        snprintf(why, cap, "the interval is %d s", op->interval_s);
        return true;
    }
    case GW_CON_PAGE_UP:
        r->page = r->page > 0 ? r->page - 1 : 0;
        snprintf(why, cap, "page %zu of %zu", r->page + 1, pages);
        return true;
    case GW_CON_PAGE_DOWN:
        r->page = r->page + 1 < pages ? r->page + 1 : pages - 1;
        snprintf(why, cap, "page %zu of %zu", r->page + 1, pages);
        return true;
    default:
        snprintf(why, cap, "this operation does not exist");
        return false;
    }
}

/* Take the console operations that came, carry them out, answer, and send
 * the screens that are watched and changed. */
static void console_tend(gw_app *a, int64_t now_ms)
{
    gw_console_op op;
    if (!mqtt_up(a)) {
        return;
    }
    while (gw_mqtt_console_take(a->mq, &op)) {
        size_t i = 0;
        char why[GW_CONSOLE_ANSWER_MAX];
        bool ok;
        while (i < a->st.n_ins && (strcmp(a->st.ins[i].model, op.model) != 0 ||
                                   strcmp(a->st.ins[i].serial, op.serial) != 0)) {
            i++;
        }
        if (i == a->st.n_ins) {
            LOG(a, GW_LOG_INFO, "console: no instrument %s %s here", op.model, op.serial);
            continue;
        }
        if (op.kind == GW_CON_WATCH) {
            a->run[i].watch_until_ms = now_ms + CONSOLE_WATCH_MS;
            console_send(a, i, now_ms, true, NULL, true, NULL);
            continue;
        }
        ok = console_apply(a, i, &op, now_ms, why, sizeof why);
        LOG(a, GW_LOG_INFO, "console: %s %s: %s", op.model, op.serial, why);
        a->run[i].watch_until_ms = now_ms + CONSOLE_WATCH_MS;
        console_send(a, i, now_ms, true, op.id[0] ? op.id : "", ok, why);
    }
    for (size_t i = 0; i < a->st.n_ins; i++) {
        if (a->run[i].watch_until_ms > now_ms) {
            console_send(a, i, now_ms, false, NULL, true, NULL);
        }
    }
}

/* ------------------------------------------------- high-speed mode (M3) */

static void live(gw_app *a, int64_t now_ms)
{
    int64_t t_s = floor_div(now_ms / 1000, LIVE_STEP_S) * LIVE_STEP_S;
    size_t n_ch = n_channels(a), k = 0, n = 0;
    gw_buf b = {0};
    gw_resp r;
    double *v;
    if (a->live_until_us <= now_ms * 1000 || t_s <= a->last_live_s || !a->tab_ok) {
        return;
    }
    a->last_live_s = t_s;
    v = malloc((n_ch ? n_ch : 1) * sizeof *v);
    if (v == NULL) {
        return;
    }
    sample(a, t_s * 1000000, now_ms, v);
    gw_buf_fmt(&b, "{\"batch_id\":\"%s-L%" PRId64 "\",\"snapshots\":[{\"t\":%" PRId64
               ",\"ids\":[", a->st.tag, t_s, t_s * 1000000);
    /* ids, then the values in the same order */
    for (int pass = 0; pass < 2; pass++) {
        k = 0;
        n = 0;
        for (size_t i = 0; i < a->st.n_ins; i++) {
            const gw_instrument *ins = &a->st.ins[i];
            const gw_tdevice *d = gw_table_device(&a->tab, ins->model, ins->serial);
            for (size_t c = 0; c < ins->n_ch; c++, k++) {
                const gw_tchannel *ch = d != NULL ? gw_table_channel(d, ins->ch[c].key) : NULL;
                if (ch == NULL || !ch->selected) {
                    continue;
                }
                if (n++) {
                    gw_buf_add(&b, ",", 1);
                }
                if (pass == 0) {
                    gw_buf_fmt(&b, "%" PRId64, ch->id);
                } else {
                    gw_buf_value(&b, v[k]);
                }
            }
        }
        gw_buf_str(&b, pass == 0 ? "],\"v\":[" : "]}]}");
    }
    free(v);
    if (n > 0 && !b.oom && mqtt_up(a)) {
        if (gw_mqtt_send(a->mq, "live", b.p, b.len, 0) == 0) {
            a->stats.live_sent++;
        }
    } else if (n > 0 && !b.oom && call(a, "POST", "/api/v1/ingest/live", b.p, b.len, &r) == 0) {
        if (r.status == 200) {
            a->stats.live_sent++;
        } else if (r.status == 409) {
            a->live_until_us = 0; /* stopped by the user */
        } else {
            char code[64], msg[300];
            gw_error_parse(r.body, r.len, code, sizeof code, msg, sizeof msg);
            LOG(a, GW_LOG_INFO, "live samples refused (%ld %s): %s", r.status, code, msg);
        }
        gw_resp_clear(&r);
    }
    gw_buf_free(&b);
}

/* ------------------------------------------------------------- requests */

/* POST the answer "body" to request "id": 0 when the server took it or
 * refused it for good (logged), -1 when it is to be sent again (no answer,
 * the server asked to wait, or a 5xx / 429). */
static int post_answer(gw_app *a, int64_t id, const char *body, size_t len)
{
    gw_resp r;
    char path[80];
    int rc = 0;
    snprintf(path, sizeof path, "/api/v1/ingest/requests/%" PRId64, id);
    if (call(a, "POST", path, body, len, &r) != 0) {
        return -1;
    }
    if (r.status >= 500 || r.status == 429) {
        rc = -1;
    } else if (r.status != 200) {
        char code[64], msg[300];
        gw_error_parse(r.body, r.len, code, sizeof code, msg, sizeof msg);
        LOG(a, GW_LOG_QUIET, "the answer to request %" PRId64 " was refused (%ld %s): %s", id,
            r.status, code, msg);
    }
    gw_resp_clear(&r);
    return rc;
}

static void answer(gw_app *a, int64_t id, bool ok, const char *message, const char *result)
{
    gw_buf b = {0};
    gw_buf_fmt(&b, "{\"ok\":%s,\"message\":", ok ? "true" : "false");
    gw_buf_json_str(&b, message);
    gw_buf_fmt(&b, ",\"result\":%s}", result != NULL ? result : "{}");
    if (b.oom) {
        LOG(a, GW_LOG_QUIET, "the answer to request %" PRId64 " is lost: out of memory", id);
    } else if ((a->n_unsent > 0 || post_answer(a, id, b.p, b.len) != 0)) {
        /* Kept, in order behind any answer still waiting: sent again at the
         * next poll (a request left unanswered shows "pending" for good). */
        if (a->n_unsent == UNSENT_MAX) {
            LOG(a, GW_LOG_QUIET, "the answer to request %" PRId64 " is lost: %d answers "
                "already wait for the server", id, UNSENT_MAX);
        } else {
            unsent_answer *u = &a->unsent[a->n_unsent++];
            u->id = id;
            u->body = b.p;
            u->len = b.len;
            LOG(a, GW_LOG_INFO, "the answer to request %" PRId64 " waits for the server", id);
            return;
        }
    }
    gw_buf_free(&b);
}

/* The answers that did not reach the server, sent again in order until
 * one still does not. */
static void resend_answers(gw_app *a)
{
    size_t done = 0;
    while (done < a->n_unsent &&
           post_answer(a, a->unsent[done].id, a->unsent[done].body, a->unsent[done].len) == 0) {
        LOG(a, GW_LOG_INFO, "the answer to request %" PRId64 " was sent again",
            a->unsent[done].id);
        free(a->unsent[done].body);
        done++;
    }
    memmove(a->unsent, a->unsent + done, (a->n_unsent - done) * sizeof a->unsent[0]);
    a->n_unsent -= done;
}

/* The app self-check (M4): the app, its spool and disk, each instrument's
 * registration, firmware and the state of its channels now. */
static void self_check(gw_app *a, int64_t id, int64_t now_ms)
{
    gw_buf b = {0};
    struct statvfs vfs;
    size_t n_ch = n_channels(a), k = 0, n_bad = 0;
    int64_t t_us = floor_div(now_ms / 1000, a->st.interval_s) * a->st.interval_s * 1000000;
    double *v = malloc((n_ch ? n_ch : 1) * sizeof *v);
    char message[200];
    if (v == NULL) {
        answer(a, id, false, "the gateway is out of memory", NULL);
        return;
    }
    sample(a, t_us, now_ms, v);
    gw_buf_fmt(&b, "{\"app\":{\"software\":\"metron-gateway 1\",\"kind\":\"%s\","
               "\"interval_s\":%d,\"uptime_s\":%" PRId64 ",\"spooled_batches\":%zu,"
               "\"spooled_bytes\":%" PRIu64 ",\"refused_batches\":%" PRIu64,
               a->st.kind, a->st.interval_s, (now_ms - a->started_ms) / 1000,
               gw_spool_count(a->spool), gw_spool_bytes(a->spool), a->stats.refused);
    if (statvfs(a->dir, &vfs) == 0) {
        gw_buf_fmt(&b, ",\"disk_free_bytes\":%" PRIu64,
                   (uint64_t)vfs.f_bavail * (uint64_t)vfs.f_frsize);
    }
    gw_buf_str(&b, "},\"instruments\":[");
    for (size_t i = 0; i < a->st.n_ins; i++) {
        const gw_instrument *ins = &a->st.ins[i];
        const gw_tdevice *d = gw_table_device(&a->tab, ins->model, ins->serial);
        size_t n_sel = 0, n_probs = 0;
        bool upgrading = a->run[i].upgrade_until_ms > now_ms;
        gw_buf p = {0};
        for (size_t c = 0; c < ins->n_ch; c++, k++) {
            const gw_tchannel *ch = d != NULL ? gw_table_channel(d, ins->ch[c].key) : NULL;
            mt_sv sv = mt_sv_kind(v[k]);
            n_sel += ch != NULL && ch->selected;
            if (!upgrading && (sv == MT_SV_BREAK || sv == MT_SV_OVER_POS || sv == MT_SV_OVER_NEG)) {
                char line[120];
                snprintf(line, sizeof line, "%s: %s", ins->ch[c].key,
                         sv == MT_SV_BREAK ? "sensor break" : "over range");
                gw_buf_str(&p, n_probs++ ? "," : "");
                gw_buf_json_str(&p, line);
            }
        }
        gw_buf_str(&b, i ? ",{\"model\":" : "{\"model\":");
        gw_buf_json_str(&b, ins->model);
        gw_buf_str(&b, ",\"serial\":");
        gw_buf_json_str(&b, ins->serial);
        gw_buf_str(&b, ",\"firmware\":");
        gw_buf_json_str(&b, ins->firmware);
        if (d != NULL) {
            gw_buf_fmt(&b, ",\"device_id\":%" PRId64, d->id);
        } else {
            gw_buf_str(&b, ",\"device_id\":null");
        }
        gw_buf_fmt(&b, ",\"communication\":\"%s\",\"channels\":%zu,\"selected\":%zu,"
                   "\"state\":\"%s\",\"problems\":[%s]}",
                   upgrading ? "upgrading" : "ok", ins->n_ch, n_sel,
                   upgrading ? "upgrading" : d == NULL ? "not_registered"
                                         : n_probs > 0 ? "attention" : "ok",
                   p.p != NULL ? p.p : "");
        n_bad += upgrading || d == NULL || n_probs > 0;
        gw_buf_free(&p);
    }
    gw_buf_str(&b, "]}");
    free(v);
    if (n_bad == 0) {
        snprintf(message, sizeof message, "the app and its %zu instruments work", a->st.n_ins);
    } else {
        snprintf(message, sizeof message, "%zu of %zu instruments need attention", n_bad,
                 a->st.n_ins);
    }
    if (b.oom) {
        answer(a, id, false, "the gateway is out of memory", NULL);
    } else {
        LOG(a, GW_LOG_INFO, "self-check %" PRId64 ": %s", id, message);
        answer(a, id, n_bad == 0, message, b.p);
    }
    gw_buf_free(&b);
}

static void firmware_start(gw_app *a, const gw_request *q, int64_t now_ms)
{
    char msg[200];
    for (size_t i = 0; i < a->st.n_ins; i++) {
        gw_instrument *ins = &a->st.ins[i];
        const gw_tdevice *d = gw_table_device(&a->tab, ins->model, ins->serial);
        if (d == NULL || d->id != q->device_id) {
            continue;
        }
        if (!gw_firmware_valid(q->firmware)) {
            answer(a, q->id, false, "the firmware version is not valid", NULL);
            return;
        }
        /* Not "until > now": the server lists the request as pending until
         * its answer, so a poll that comes in the loop round in which the
         * upgrade's time is up, before firmware_finish() of that round,
         * would start the same upgrade again (and again, each time its
         * time is up: the request never answered). */
        if (a->run[i].upgrade_until_ms != 0) {
            if (a->run[i].upgrade_req != q->id) {
                answer(a, q->id, false, "an upgrade of this instrument is already running",
                       NULL);
            }
            return;
        }
        a->run[i].upgrade_until_ms = now_ms + UPGRADE_MS;
        a->run[i].upgrade_req = q->id;
        snprintf(a->run[i].upgrade_to, sizeof a->run[i].upgrade_to, "%s", q->firmware);
        LOG(a, GW_LOG_QUIET, "%s %s: upgrading firmware %s -> %s", ins->model, ins->serial,
            ins->firmware, q->firmware);
        return;
    }
    snprintf(msg, sizeof msg, "device %" PRId64 " is not an instrument of this app",
             q->device_id);
    answer(a, q->id, false, msg, NULL);
}

/* Upgrades whose time is up: the instrument comes back with its new
 * firmware, reported to the server, and the request is answered. */
static void firmware_finish(gw_app *a, int64_t now_ms)
{
    for (size_t i = 0; i < a->st.n_ins; i++) {
        gw_instrument *ins = &a->st.ins[i];
        ins_run *r = &a->run[i];
        char err[300], res[160];
        if (r->upgrade_until_ms == 0 || now_ms < r->upgrade_until_ms) {
            continue;
        }
        snprintf(ins->firmware, sizeof ins->firmware, "%s", r->upgrade_to);
        if (gw_state_save(a->dir, &a->st, err, sizeof err) != 0) {
            LOG(a, GW_LOG_QUIET, "%s", err);
        }
        r->upgrade_until_ms = 0;
        a->declare_needed = true;
        if (!a->declare_unsupported) {
            declare(a);
        }
        LOG(a, GW_LOG_QUIET, "%s %s: firmware %s installed, measuring again", ins->model,
            ins->serial, ins->firmware);
        snprintf(res, sizeof res, "{\"firmware\":\"%s\"}", ins->firmware);
        answer(a, r->upgrade_req, true, "the firmware is installed", res);
        r->upgrade_req = 0;
    }
}

static void poll_requests(gw_app *a, int64_t now_ms)
{
    gw_request q[32];
    size_t n = 0;
    int64_t live_until = 0;
    gw_resp r;
    char err[300];
    if (a->requests_unsupported) {
        return;
    }
    resend_answers(a);
    if (call(a, "GET", "/api/v1/ingest/requests", NULL, 0, &r) != 0) {
        return;
    }
    if (r.status == 404 || r.status == 405) {
        a->requests_unsupported = true;
        LOG(a, GW_LOG_INFO, "this server sends no requests (GET /api/v1/ingest/requests): "
            "high-speed mode is read with the heartbeat");
    } else if (r.status == 200) {
        if (gw_requests_parse(r.body, r.len, q, sizeof q / sizeof q[0], &n, &live_until, err,
                              sizeof err) != 0) {
            problem(a, "the server's requests do not read: %s", err);
        } else {
            a->live_until_us = live_until;
            if (n > 0 && !a->tab_ok) {
                refresh_table(a);
            }
            for (size_t i = 0; i < n; i++) {
                if (q[i].kind == GW_REQ_SELF_CHECK) {
                    self_check(a, q[i].id, now_ms);
                } else if (q[i].kind == GW_REQ_FIRMWARE) {
                    firmware_start(a, &q[i], now_ms);
                }
            }
        }
    } else if (r.status == 401 || r.status == 403) {
        refused_app(a, &r);
    }
    gw_resp_clear(&r);
}

/* ------------------------------------------------------------ heartbeat */

static void status(gw_app *a, const char *state)
{
    gw_resp r;
    char body[40];
    int n = snprintf(body, sizeof body, "{\"state\":\"%s\"}", state);
    if (call(a, "POST", "/api/v1/ingest/status", body, (size_t)n, &r) == 0) {
        if (r.status == 200 && strcmp(state, "connect") == 0) {
            a->said_connect = true;
        } else if (r.status == 401 || r.status == 403) {
            refused_app(a, &r);
        }
        gw_resp_clear(&r);
    }
}

static void heartbeat(gw_app *a)
{
    if (refresh_table(a) != 0) {
        return;
    }
    if (mqtt_up(a)) {
        static const char beat[] = "{\"state\":\"heartbeat\"}";
        gw_mqtt_send(a->mq, "status", beat, sizeof beat - 1, 1);
    } else if (!a->said_connect) {
        status(a, "connect");
    } else {
        status(a, "heartbeat");
    }
    if (a->declare_needed && !a->declare_unsupported) {
        declare(a);
    }
}

/* ----------------------------------------------------------------- setup */

/* Instruments at a first start: those the server lists for the app (a
 * gateway taking over an app that exists), or new ones of the flags. */
static int first_instruments(gw_app *a, char *err, size_t cap)
{
    const gw_config *c = &a->cfg;
    size_t n = 0;
    if (a->tab_ok && a->tab.n_dev > 0 && c->models == NULL && c->n_instruments == 0) {
        a->st.ins = calloc(a->tab.n_dev, sizeof *a->st.ins);
        if (a->st.ins == NULL) {
            snprintf(err, cap, "out of memory");
            return -1;
        }
        for (size_t i = 0; i < a->tab.n_dev; i++) {
            const gw_tdevice *d = &a->tab.dev[i];
            gw_instrument *ins = &a->st.ins[a->st.n_ins];
            size_t n_ch = d->n_ch < GW_CHANNELS_MAX ? d->n_ch : GW_CHANNELS_MAX;
            if (n_ch == 0 || d->serial[0] == '\0' || !gw_key_valid(d->ch[0].key)) {
                continue;
            }
            ins->ch = calloc(n_ch, sizeof *ins->ch);
            if (ins->ch == NULL) {
                snprintf(err, cap, "out of memory");
                return -1;
            }
            snprintf(ins->model, sizeof ins->model, "%s", d->model);
            snprintf(ins->serial, sizeof ins->serial, "%s", d->serial);
            snprintf(ins->firmware, sizeof ins->firmware, "%s",
                     d->firmware[0] != '\0' && gw_firmware_valid(d->firmware)
                         ? d->firmware
                         : gw_model_firmware(d->model));
            snprintf(ins->name, sizeof ins->name, "%s", d->model);
            for (size_t k = 0; k < n_ch; k++) {
                gw_channel *ch = &ins->ch[ins->n_ch];
                if (!gw_key_valid(d->ch[k].key)) {
                    continue;
                }
                snprintf(ch->key, sizeof ch->key, "%s", d->ch[k].key);
                snprintf(ch->name, sizeof ch->name, "%s", d->ch[k].name);
                snprintf(ch->unit, sizeof ch->unit, "%s", d->ch[k].unit);
                ch->q = gw_quantity_of(ch->unit, ch->name);
                ins->n_ch++;
            }
            LOG(a, GW_LOG_QUIET, "plays the app's %s %s (%zu channels) listed by the server",
                ins->model, ins->serial, ins->n_ch);
            a->st.n_ins++;
        }
        if (a->st.n_ins > 0) {
            return 0;
        }
    }
    if (c->models != NULL) {
        const char *p = c->models;
        while (*p != '\0') {
            n++;
            p = strchr(p, ',');
            if (p == NULL) {
                break;
            }
            p++;
        }
    } else {
        n = c->n_instruments > 0                          ? (size_t)c->n_instruments
            : strcmp(a->st.kind, "one") == 0              ? 3
            : strcmp(a->st.kind, "cross") == 0            ? 2
                                                          : 1;
    }
    if (strcmp(a->st.kind, "lr8450-direct") == 0 && n != 1) {
        snprintf(err, cap, "an lr8450-direct app is exactly one LR8450");
        return -1;
    }
    if (n > GW_INSTRUMENTS_MAX) {
        snprintf(err, cap, "at most %d instruments", GW_INSTRUMENTS_MAX);
        return -1;
    }
    a->st.ins = calloc(n ? n : 1, sizeof *a->st.ins);
    if (a->st.ins == NULL) {
        snprintf(err, cap, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        char model[GW_MODEL_MAX + 1];
        if (c->models != NULL) {
            const char *p = c->models;
            size_t len;
            for (size_t k = 0; k < i; k++) {
                p = strchr(p, ',') + 1;
            }
            len = strcspn(p, ",");
            if (len == 0 || len > GW_MODEL_MAX) {
                snprintf(err, cap, "--models: expected comma-separated models");
                return -1;
            }
            memcpy(model, p, len);
            model[len] = '\0';
        } else {
            snprintf(model, sizeof model, "%s", gw_default_model(a->st.kind, i));
        }
        if (!gw_model_fits(model, a->st.kind)) {
            snprintf(err, cap, "%s %s with an app of kind %s (the gateway plays: %s)",
                     gw_model_known(model) ? "the server does not take a" : "cannot play a",
                     model, a->st.kind, gw_models_list());
            return -1;
        }
        if (gw_instrument_make(model, i, a->st.tag, (size_t)c->logger_channels, &a->st.ins[i],
                               err, cap) != 0) {
            return -1;
        }
        a->st.n_ins = i + 1;
    }
    return 0;
}

static void random_bytes(unsigned char *out, size_t n)
{
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    size_t got = 0;
    if (fd >= 0) {
        while (got < n) {
            ssize_t r = read(fd, out + got, n - got);
            if (r <= 0) {
                break;
            }
            got += (size_t)r;
        }
        close(fd);
    }
    for (; got < n; got++) {
        out[got] = (unsigned char)(gw_now_ms() >> (got % 8));
    }
}

static int load_credential(gw_app *a, char *err, size_t cap)
{
    char path[4200];
    size_t len = 0;
    char *text;
    if (a->cfg.credential != NULL) {
        size_t n = strlen(a->cfg.credential);
        if (n < 8 || n >= sizeof a->credential || !gw_text_valid(a->cfg.credential, 8, 100) ||
            strchr(a->cfg.credential, ' ') != NULL) {
            snprintf(err, cap, "the registration code is not valid (expected mta_ and 43 "
                     "characters, as shown when the app was registered)");
            return -1;
        }
        snprintf(a->credential, sizeof a->credential, "%s", a->cfg.credential);
        if (gw_write_file_atomic(a->dir, "credential", a->credential, n, 0600) != 0) {
            snprintf(err, cap, "%s/credential: %s", a->dir, strerror(errno));
            return -1;
        }
        return 0;
    }
    snprintf(path, sizeof path, "%s/credential", a->dir);
    text = gw_read_file(path, 200, &len);
    if (text == NULL) {
        snprintf(err, cap, "no registration code: give --code (or METRON_GATEWAY_CODE), the "
                 "credential shown when the app was registered in the portal");
        return -1;
    }
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' ')) {
        text[--len] = '\0';
    }
    if (len < 8 || len >= sizeof a->credential || !gw_text_valid(text, 8, 100)) {
        free(text);
        snprintf(err, cap, "%s does not hold a registration code", path);
        return -1;
    }
    snprintf(a->credential, sizeof a->credential, "%s", text);
    memset(text, 0, len);
    free(text);
    return 0;
}

static void apply_firmware_flags(gw_app *a)
{
    for (size_t k = 0; k < a->cfg.n_fw; k++) {
        for (size_t i = 0; i < a->st.n_ins; i++) {
            gw_instrument *ins = &a->st.ins[i];
            if (strcmp(ins->model, a->cfg.fw[k].model) == 0 &&
                strcmp(ins->firmware, a->cfg.fw[k].firmware) != 0) {
                snprintf(ins->firmware, sizeof ins->firmware, "%s", a->cfg.fw[k].firmware);
            }
        }
    }
}

int gw_app_open(const gw_config *cfg, gw_app **out, char *err, size_t cap)
{
    gw_app *a = calloc(1, sizeof *a);
    int loaded;
    *out = NULL;
    if (a == NULL) {
        snprintf(err, cap, "out of memory");
        return -1;
    }
    a->cfg = *cfg;
    a->started_ms = gw_now_ms();
    snprintf(a->dir, sizeof a->dir, "%s", cfg->state_dir);
    if (mkdir(a->dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, cap, "%s: %s", a->dir, strerror(errno));
        goto fail;
    }
    loaded = gw_state_load(a->dir, &a->st, err, cap);
    if (loaded < 0) {
        goto fail;
    }
    if (loaded == 1) {
        if (cfg->kind != NULL && strcmp(cfg->kind, a->st.kind) != 0) {
            snprintf(err, cap, "%s holds an app of kind %s, not %s: use another --state folder",
                     a->dir, a->st.kind, cfg->kind);
            goto fail;
        }
        if (cfg->server != NULL) {
            snprintf(a->st.server, sizeof a->st.server, "%s", cfg->server);
        }
        if (cfg->interval_s > 0) {
            a->st.interval_s = cfg->interval_s;
        }
        if (cfg->seed_set) {
            a->st.seed = cfg->seed;
        }
    } else {
        unsigned char rnd[12];
        random_bytes(rnd, sizeof rnd);
        /* The kind is the server's (below); --kind only when it cannot say. */
        if (cfg->kind != NULL && !gw_kind_valid(cfg->kind)) {
            snprintf(err, cap, "--kind must be one, cross or lr8450-direct");
            goto fail;
        }
        snprintf(a->st.kind, sizeof a->st.kind, "%s", cfg->kind != NULL ? cfg->kind : "");
        snprintf(a->st.tag, sizeof a->st.tag, "SIM%02X%02X%02X", rnd[0], rnd[1], rnd[2]);
        memcpy(&a->st.seed, rnd + 4, sizeof a->st.seed);
        if (cfg->seed_set) {
            a->st.seed = cfg->seed;
        }
        a->st.interval_s = cfg->interval_s > 0 ? cfg->interval_s : 60;
        if (cfg->server != NULL) {
            snprintf(a->st.server, sizeof a->st.server, "%s", cfg->server);
        }
    }
    if (a->st.server[0] == '\0') {
        snprintf(err, cap, "no server: give --server URL (or METRON_SERVER_URL)");
        goto fail;
    }
    if (strncmp(a->st.server, "http://", 7) != 0 && strncmp(a->st.server, "https://", 8) != 0) {
        snprintf(err, cap, "--server must be an http:// or https:// URL");
        goto fail;
    }
    if (load_credential(a, err, cap) != 0) {
        goto fail;
    }
    a->sim.seed = a->st.seed;
    a->sim.special_rate = cfg->special_rate;
    a->http = gw_http_new(a->st.server, cfg->cacert, cfg->timeout_ms);
    if (a->http == NULL) {
        snprintf(err, cap, "out of memory");
        goto fail;
    }
    gw_http_set_credential(a->http, a->credential);
    if (gw_spool_open(a->dir, &a->spool, err, cap) != 0) {
        goto fail;
    }
    read_cursor(a);
    /* One try to reach the server now: at a first start its list of the
     * app's instruments decides what to play. */
    refresh_table(a);
    if (a->tab_ok && a->tab.kind[0] != '\0' && strcmp(a->tab.kind, a->st.kind) != 0) {
        if (loaded == 1 || a->st.kind[0] != '\0') {
            snprintf(err, cap, "the registration code is of a %s app, %s %s app%s",
                     a->tab.kind, loaded == 1 ? "but the state folder plays a" : "not a",
                     a->st.kind, loaded == 1 ? ": use another --state folder" : "");
            goto fail;
        }
        snprintf(a->st.kind, sizeof a->st.kind, "%s", a->tab.kind);
    }
    if (a->st.kind[0] == '\0' || !gw_kind_valid(a->st.kind)) {
        snprintf(err, cap, "the server does not answer, so the app's kind is not known: start "
                 "again when it answers, or give --kind");
        goto fail;
    }
    if (loaded != 1 && first_instruments(a, err, cap) != 0) {
        goto fail;
    }
    apply_firmware_flags(a);
    a->run = calloc(a->st.n_ins ? a->st.n_ins : 1, sizeof *a->run);
    if (a->run == NULL) {
        snprintf(err, cap, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < a->st.n_ins; i++) {
        a->run[i].started_s = gw_now_ms() / 1000;
        a->run[i].run = 1;
    }
    if (gw_state_save(a->dir, &a->st, err, cap) != 0) {
        goto fail;
    }
    if (a->tab_ok) {
        a->declare_needed = table_lacks(a);
        status(a, "connect");
        if (a->declare_needed) {
            declare(a);
        }
    } else {
        a->declare_needed = true;
    }
    LOG(a, GW_LOG_QUIET, "%s app %s: %zu instruments, %zu channels, a sample every %d s, "
        "server %s, state %s (%zu batches waiting)",
        a->st.kind, a->st.tag, a->st.n_ins, n_channels(a), a->st.interval_s, a->st.server,
        a->dir, gw_spool_count(a->spool));
    a->backoff_ms = 1000;
    a->mqtt_backoff_ms = 1000;
    a->mqtt_wanted = cfg->transport != GW_TRANSPORT_HTTPS;
    if (a->mqtt_wanted && mqtt_load_cert(a) == 0 && a->tab_ok &&
        a->cert->app_id != a->tab.app_id) {
        free(a->cert); /* a certificate of another app: this code is another app's */
        a->cert = NULL;
    }
    *out = a;
    return 0;
fail:
    gw_app_close(a);
    return -1;
}

/* ----------------------------------------------------------------- step */

void gw_app_wait(gw_app *a, int64_t ms)
{
    if (ms <= 0) {
        return;
    }
    if (a->mq != NULL && gw_mqtt_status(a->mq) != GW_MQTT_REFUSED) {
        gw_mqtt_pump(a->mq, ms > 1000 ? 1000 : (int)ms);
    } else {
        struct timespec ts;
        ts.tv_sec = ms / 1000;
        ts.tv_nsec = (ms % 1000) * 1000000;
        nanosleep(&ts, NULL); /* a signal ends it early */
    }
}

/* "t", or the end of the server's wait when that is later. */
static int64_t not_held(const gw_app *a, int64_t t)
{
    return t < a->hold_until_ms ? a->hold_until_ms : t;
}

int64_t gw_app_step(gw_app *a, int64_t now_ms)
{
    int64_t iv_ms = (int64_t)a->st.interval_s * 1000, next;
    mqtt_tend(a, now_ms);
    if (now_ms >= a->next_tick_ms) {
        tick(a, now_ms);
        a->next_tick_ms = (floor_div(now_ms, iv_ms) + 1) * iv_ms;
    }
    /* While the server asked to wait, the instruments are sampled into the
     * spool and nothing else happens: no heartbeat, poll, live sample or
     * batch goes out (each would only be refused again). */
    if (!held(a, now_ms) && now_ms >= a->next_hb_ms) {
        heartbeat(a);
        a->next_hb_ms = now_ms + (int64_t)a->cfg.heartbeat_s * 1000;
    }
    if (!held(a, now_ms) && now_ms >= a->next_poll_ms) {
        poll_requests(a, now_ms);
        a->next_poll_ms = now_ms + (int64_t)a->cfg.poll_s * 1000;
    }
    firmware_finish(a, now_ms);
    console_tend(a, now_ms);
    if (!held(a, now_ms)) {
        live(a, now_ms);
    }
    if (gw_spool_count(a->spool) > 0 && now_ms >= a->next_send_ms && !held(a, now_ms)) {
        if (send_spool(a, now_ms + FLUSH_BUDGET_MS) != 0) {
            a->next_send_ms = gw_now_ms() + a->backoff_ms;
            a->backoff_ms *= 2;
            if (a->backoff_ms > (int64_t)a->cfg.retry_max_s * 1000) {
                a->backoff_ms = (int64_t)a->cfg.retry_max_s * 1000;
            }
        } else {
            a->backoff_ms = 1000;
            a->next_send_ms = 0;
        }
    }
    next = a->next_tick_ms;
    if (not_held(a, a->next_hb_ms) < next) {
        next = not_held(a, a->next_hb_ms);
    }
    if (not_held(a, a->next_poll_ms) < next && !a->requests_unsupported) {
        next = not_held(a, a->next_poll_ms);
    }
    if (gw_spool_count(a->spool) > 0 && not_held(a, a->next_send_ms) < next) {
        int64_t s = not_held(a, a->next_send_ms);
        next = s > now_ms ? s : now_ms + 10;
    }
    if (a->live_until_us > now_ms * 1000 && !held(a, now_ms)) {
        int64_t l = (floor_div(now_ms / 1000, LIVE_STEP_S) + 1) * LIVE_STEP_S * 1000;
        next = l < next ? l : next;
    }
    for (size_t i = 0; i < a->st.n_ins; i++) {
        int64_t u = a->run[i].upgrade_until_ms;
        if (u > 0 && u < next) {
            next = u;
        }
    }
    for (size_t i = 0; i < a->st.n_ins && mqtt_up(a); i++) {
        if (a->run[i].watch_until_ms > now_ms) {
            int64_t s = (now_ms / 1000 + 1) * 1000; /* the screen's clock: each second */
            next = s < next ? s : next;
            break;
        }
    }
    if (a->mqtt_wanted && !mqtt_up(a) && a->next_mqtt_ms < next) {
        next = a->next_mqtt_ms > now_ms ? a->next_mqtt_ms : now_ms + 50;
    }
    if (a->mqtt_wanted && mqtt_up(a) && !a->mqtt_was_up) {
        next = now_ms; /* just connected: say so and send at once */
    }
    return next;
}

size_t gw_app_flush(gw_app *a, int64_t deadline_ms)
{
    if (gw_spool_count(a->spool) > 0 && !held(a, gw_now_ms())) {
        send_spool(a, deadline_ms);
    }
    return gw_spool_count(a->spool);
}

void gw_app_stats(const gw_app *a, gw_stats *s)
{
    *s = a->stats;
    s->spooled = a->spool != NULL ? gw_spool_count(a->spool) : 0;
}

void gw_app_close(gw_app *a)
{
    if (a == NULL) {
        return;
    }
    if (mqtt_up(a)) {
        static const char bye[] = "{\"state\":\"disconnect\"}";
        gw_mqtt_send(a->mq, "status", bye, sizeof bye - 1, 1);
        gw_mqtt_pump(a->mq, 200);
    } else if (a->http != NULL && a->server_ok && a->said_connect) {
        status(a, "disconnect");
    }
    gw_mqtt_free(a->mq);
    free(a->cert);
    gw_http_free(a->http);
    gw_spool_close(a->spool);
    gw_table_clear(&a->tab);
    gw_state_clear(&a->st);
    free(a->run);
    free(a->vbuf);
    for (size_t i = 0; i < a->n_unsent; i++) {
        free(a->unsent[i].body);
    }
    memset(a->credential, 0, sizeof a->credential);
    free(a);
}
