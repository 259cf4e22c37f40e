/* Exports of acquired data (see svc_export.h and docs/export.md). */
#define _POSIX_C_SOURCE 200809L
#include "svc_export.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zip.h>

#include "cmp.h"
#include "auth.h"
#include "db_account.h"
#include "db_export.h"
#include "db_replica.h"
#include "db_series.h"
#include "log.h"
#include "mt/caltime.h"
#include "mt/hok.h"
#include "mt/types.h"
#include "sbuf.h"
#include "series_store.h"

/* Exports wait longer than a request (DB_WAIT_MS) for a connection: an
 * export that is refused must be asked for again. */
#define EXPORT_DB_WAIT_MS 10000
/* Progress is written at most this often. */
#define PROGRESS_EVERY_MS 200
/* CSV text produced per refill of a ZIP entry's buffer (then handed to
 * libzip, which deflates it). */
#define CSV_REFILL 65536
/* Samples of the day blocks read at once at most (a dense day is read in
 * parts: memory stays near 16 bytes x this, plus the rows built from it).
 * Tests lower it with METRON_EXPORT_CHUNK_SAMPLES (with test routes only). */
#define EXPORT_CHUNK_SAMPLES 4000000
/* Deflate level of the CSV entries. At the default (6) most of a CSV
 * export's time goes into zlib. One day at 1 s of 8 / 32 channels measured
 * (docs/export.md): level 6 1.7 s, 0.9 MB / 3.8 s, 1.1 MB; level 3 0.55 s,
 * 1.3 MB / 2.2 s, 4.6 MB; level 1 0.57 s, 1.6 MB / 1.4 s, 8.2 MB. */
#define ZIP_LEVEL 3
/* Finished exports removed per clean-up round. */
#define CLEANUP_LIMIT 1000

enum { FMT_CSV = 0, FMT_HOK = 1, FMT_HOK2 = 2 };
static const char *const fmt_names[] = {"csv", "hok", "hok2"};
static const char *const fmt_ext[] = {"zip", "hok", "hok2"};

/* ------------------------------------------------------------ helpers */

static svc_status fail(svc_error *e, svc_status st, const char *code, const char *field,
                       const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Fill "e" and return its status. */
static svc_status fail(svc_error *e, svc_status st, const char *code, const char *field,
                       const char *fmt, ...)
{
    va_list ap;
    svc_fail(e, st, code, field, NULL);
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    return st;
}

/* Too many exports: wait this many seconds before asking again. */
#define EXPORT_RETRY_AFTER_S 30

static svc_status fail_db(svc_error *e, db_status st)
{
    return svc_fail_db(e, st, NULL);
}

static int fmt_of(const char *name)
{
    for (int i = 0; i < 3; i++) {
        if (name != NULL && strcmp(name, fmt_names[i]) == 0) {
            return i;
        }
    }
    return -1;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* 'YYYY-MM-DDTHH:MM:SSZ' of Unix second "s". */
static void iso_utc(int64_t s, char *out, size_t cap)
{
    mt_error err;
    if (mt_cal_format_instant(s * MT_US_PER_S, out, cap, &err) != MT_OK) {
        snprintf(out, cap, "%" PRId64, s);
    }
}

/* Instant "t" (µs) as ISO 8601 local time at UTC offset "off" (seconds):
 * 'YYYY-MM-DDTHH:MM:SS[.mmm|.uuuuuu]+HH:MM' (seconds in the offset only
 * when it has some, as PostgreSQL's older zone offsets do). Returns the
 * length. */
static int iso_local(int64_t t, int32_t off, char *out, size_t cap)
{
    int64_t local = t + (int64_t)off * MT_US_PER_S;
    int64_t day = floor_div(local, MT_US_PER_DAY), rem = local - day * MT_US_PER_DAY;
    int64_t sec = rem / MT_US_PER_S, us = rem % MT_US_PER_S;
    int y, m, d, n;
    int32_t a = off < 0 ? -off : off;
    char frac[16] = "", zone[16];
    mt_cal_to_civil((mt_day)day, &y, &m, &d);
    if (us % 1000 == 0 && us != 0) {
        snprintf(frac, sizeof frac, ".%03d", (int)(us / 1000));
    } else if (us != 0) {
        snprintf(frac, sizeof frac, ".%06d", (int)us);
    }
    if (a % 60 != 0) {
        snprintf(zone, sizeof zone, "%c%02d:%02d:%02d", off < 0 ? '-' : '+', (int)(a / 3600),
                 (int)(a / 60 % 60), (int)(a % 60));
    } else {
        snprintf(zone, sizeof zone, "%c%02d:%02d", off < 0 ? '-' : '+', (int)(a / 3600),
                 (int)(a / 60 % 60));
    }
    n = snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02d%s%s", y, m, d, (int)(sec / 3600),
                 (int)(sec / 60 % 60), (int)(sec % 60), frac, zone);
    return n < 0 ? 0 : (size_t)n >= cap ? (int)cap - 1 : n;
}

/* A number as the shortest decimal text that reads back to the same double.
 * Logger values mostly have a few decimals: 0..6 decimals are tried first
 * with exact integer arithmetic (|v| < 1e9, so the scaled value stays below
 * 2^53 and "q / 10^k == |v|" proves that the text reads back exactly: both
 * sides are the double nearest to the same rational), which is ~20 times
 * faster than printf + strtod; else the shortest of %.15g..%.17g that
 * round-trips. Returns the length. */
static int fmt_number(double v, char *out, size_t cap)
{
    static const double p10[] = {1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6};
    double a = fabs(v);
    if (a < 1e9 && cap >= 32) {
        for (int k = 0; k <= 6; k++) {
            double q = floor(a * p10[k] + 0.5);
            if (q / p10[k] == a) {
                char digits[24];
                long long iq = (long long)q;
                int n_dig = 0, len = 0, frac = k;
                while (frac > 0 && iq % 10 == 0) { /* trailing zeros of the fraction */
                    iq /= 10;
                    frac--;
                }
                do {
                    digits[n_dig++] = (char)('0' + iq % 10);
                    iq /= 10;
                } while (iq > 0 || n_dig <= frac);
                if (signbit(v)) {
                    out[len++] = '-';
                }
                while (n_dig > 0) {
                    out[len++] = digits[--n_dig];
                    if (n_dig == frac && frac > 0) {
                        out[len++] = '.';
                    }
                }
                out[len] = '\0';
                return len;
            }
        }
    }
    for (int prec = 15; prec <= 17; prec++) {
        int n = snprintf(out, cap, "%.*g", prec, v);
        if (prec == 17 || strtod(out, NULL) == v) {
            return n;
        }
    }
    return 0;
}

/* A value as CSV text: the shortest decimal that reads back to the same
 * double, or the special value's name (missing: empty). Returns the length. */
static int csv_value(double v, char *out, size_t cap)
{
    switch (mt_sv_kind(v)) {
    case MT_SV_NONE:
        break;
    case MT_SV_MISSING:
        out[0] = '\0';
        return 0;
    case MT_SV_OVER_POS:
        return snprintf(out, cap, "+OVER");
    case MT_SV_OVER_NEG:
        return snprintf(out, cap, "-OVER");
    case MT_SV_BREAK:
        return snprintf(out, cap, "BREAK");
    case MT_SV_ERROR:
        return snprintf(out, cap, "ERROR");
    }
    return fmt_number(v, out, cap);
}

/* A CSV field (RFC 4180): quoted when it holds a comma, quote, CR or LF or
 * starts or ends with a space. User text that a spreadsheet would take for
 * a formula (a leading = + - @ or tab) gets a leading apostrophe. */
static void sb_csv_field(sbuf *b, const char *s)
{
    size_t n = strlen(s);
    bool quote = n > 0 && (s[0] == ' ' || s[n - 1] == ' ');
    for (size_t i = 0; i < n && !quote; i++) {
        quote = s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n';
    }
    if (quote) {
        sb_put(b, "\"");
    }
    if (n > 0 && strchr("=+-@\t", s[0]) != NULL) {
        sb_put(b, "'");
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"') {
            sb_put(b, "\"\"");
        } else {
            sb_add(b, &s[i], 1);
        }
    }
    if (quote) {
        sb_put(b, "\"");
    }
}

/* Copy "s" into "out" (cap bytes), cut at a UTF-8 character boundary. */
static void utf8_cut(const char *s, char *out, size_t cap)
{
    size_t n = strlen(s);
    if (n >= cap) {
        n = cap - 1;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) {
            n--;
        }
    }
    memcpy(out, s, n);
    out[n] = '\0';
}

/* ---------------------------------------------------------- time zones */

typedef struct {
    bool fixed;       /* a fixed offset */
    int32_t offset_s; /* fixed: the offset */
    char name[72];    /* as given ("+09:00" or the IANA name) */
} tz_spec;

/* "+HH:MM" / "-HH:MM", at most 14:00 either way. */
static bool tz_fixed(const char *s, int32_t *off)
{
    int h, m;
    if (strlen(s) != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':') {
        return false;
    }
    for (int i = 1; i < 6; i++) {
        if (i != 3 && (s[i] < '0' || s[i] > '9')) {
            return false;
        }
    }
    h = (s[1] - '0') * 10 + (s[2] - '0');
    m = (s[4] - '0') * 10 + (s[5] - '0');
    if (m > 59 || h * 60 + m > 14 * 60) {
        return false;
    }
    *off = (s[0] == '-' ? -1 : 1) * (h * 3600 + m * 60);
    return true;
}

/* The characters of an IANA zone name (checked against PostgreSQL's list
 * afterwards). */
static bool tz_name_chars(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
              ch == '/' || ch == '_' || ch == '-' || ch == '+')) {
            return false;
        }
    }
    return true;
}

static void tz_from_text(const char *s, tz_spec *tz)
{
    memset(tz, 0, sizeof *tz);
    snprintf(tz->name, sizeof tz->name, "%s", s);
    tz->fixed = tz_fixed(s, &tz->offset_s);
}

/* UTC offsets of "tz" at times t[0..n) (µs, sorted, all in the UTC day
 * "day") into off[]. A zone's offset is read at every UTC hour of the day;
 * an hour whose two ends agree has that offset throughout (zones change
 * at most once an hour), the others are asked per sample. */
static db_status tz_offsets(db_conn *c, const tz_spec *tz, int64_t day, const int64_t *t,
                            size_t n, int32_t *off)
{
    int64_t hours[25], *secs = NULL;
    int32_t hoff[25];
    size_t *idx = NULL, n_exact = 0;
    db_status st;
    if (tz->fixed || n == 0) {
        for (size_t i = 0; i < n; i++) {
            off[i] = tz->offset_s;
        }
        return DB_OK;
    }
    for (int k = 0; k < 25; k++) {
        hours[k] = day * 86400 + k * 3600;
    }
    if ((st = db_export_tz_offsets(c, tz->name, hours, 25, hoff)) != DB_OK) {
        return st;
    }
    for (size_t i = 0; i < n; i++) {
        int64_t k = floor_div(t[i] - day * MT_US_PER_DAY, 3600 * MT_US_PER_S);
        if (k < 0 || k > 23) {
            k = k < 0 ? 0 : 23; /* not expected: the chunk lies inside the day */
        }
        off[i] = hoff[k];
        if (hoff[k] != hoff[k + 1]) {
            if (idx == NULL && ((idx = malloc(n * sizeof *idx)) == NULL ||
                                (secs = malloc(n * sizeof *secs)) == NULL)) {
                free(idx);
                return DB_ERROR;
            }
            idx[n_exact] = i;
            secs[n_exact++] = floor_div(t[i], MT_US_PER_S);
        }
    }
    st = DB_OK;
    if (n_exact > 0) {
        int32_t *exact = malloc(n_exact * sizeof *exact);
        if (exact == NULL) {
            st = DB_ERROR;
        } else if ((st = db_export_tz_offsets(c, tz->name, secs, n_exact, exact)) == DB_OK) {
            for (size_t k = 0; k < n_exact; k++) {
                off[idx[k]] = exact[k];
            }
        }
        free(exact);
    }
    free(idx);
    free(secs);
    return st;
}

/* ------------------------------------------------------ signed URLs */

static pthread_mutex_t secret_mu = PTHREAD_MUTEX_INITIALIZER;
static bool have_secret;
static unsigned char url_secret[32];

/* Load (or create at the first start) the URL-signing key. 0 or -1. */
static int load_secret(srv *s)
{
    int rc = 0;
    pthread_mutex_lock(&secret_mu);
    if (!have_secret) {
        unsigned char fresh[32];
        db_conn *c = NULL;
        db_status st = DB_ERROR;
        if (auth_random(fresh, sizeof fresh) == 0 &&
            (st = db_acquire(s->pool, EXPORT_DB_WAIT_MS, &c)) == DB_OK) {
            st = db_export_secret(c, "export_url", fresh, url_secret);
            db_release(s->pool, c);
        }
        OPENSSL_cleanse(fresh, sizeof fresh);
        have_secret = st == DB_OK;
        rc = have_secret ? 0 : -1;
        if (!have_secret) {
            log_error("export: cannot load the URL signing key: %s", db_strerror(st));
        }
    }
    pthread_mutex_unlock(&secret_mu);
    return rc;
}

/* hex(HMAC-SHA256(key, "export:<id>:<account>:<expires>")) into "hex". */
static int sign(srv *s, long long id, long long account, long long expires, char hex[65])
{
    char msg[96];
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    int n = snprintf(msg, sizeof msg, "export:%lld:%lld:%lld", id, account, expires);
    if (load_secret(s) != 0 ||
        HMAC(EVP_sha256(), url_secret, (int)sizeof url_secret, (const unsigned char *)msg,
             (size_t)n, mac, &mac_len) == NULL ||
        mac_len != 32) {
        return -1;
    }
    for (unsigned i = 0; i < 32; i++) {
        snprintf(hex + 2 * i, 3, "%02x", mac[i]);
    }
    return 0;
}

/* ------------------------------------------------------- status JSON */

static cJSON *row_json(srv *s, const db_export_row *r, int64_t now)
{
    cJSON *o = cJSON_CreateObject(), *chs = cJSON_CreateArray();
    char when[32];
    if (o == NULL || chs == NULL) {
        cJSON_Delete(o);
        cJSON_Delete(chs);
        return NULL;
    }
    cJSON_AddNumberToObject(o, "id", (double)r->id);
    cJSON_AddStringToObject(o, "status", r->status);
    cJSON_AddNumberToObject(o, "progress", r->progress);
    cJSON_AddNumberToObject(o, "bytes", (double)r->bytes);
    cJSON_AddNumberToObject(o, "samples", (double)r->samples);
    cJSON_AddStringToObject(o, "format", r->format);
    for (size_t i = 0; i < r->n_ch; i++) {
        cJSON_AddItemToArray(chs, cJSON_CreateNumber((double)r->ch[i]));
    }
    cJSON_AddItemToObject(o, "channels", chs);
    cJSON_AddNumberToObject(o, "from", (double)r->t0);
    cJSON_AddNumberToObject(o, "to", (double)r->t1);
    cJSON_AddStringToObject(o, "time_zone", r->time_zone);
    cJSON_AddStringToObject(o, "created_at", r->created_at);
    if (r->finished_at[0] != '\0') {
        cJSON_AddStringToObject(o, "finished_at", r->finished_at);
        iso_utc(r->finished_s + EXPORT_KEEP_S, when, sizeof when);
        cJSON_AddStringToObject(o, "file_expires_at", when);
    } else {
        cJSON_AddNullToObject(o, "finished_at");
    }
    if (strcmp(r->status, "failed") == 0) {
        cJSON_AddStringToObject(o, "error", r->error);
    }
    if (strcmp(r->status, "done") == 0) {
        char sig[65], url[256];
        long long expires = (long long)now + EXPORT_URL_TTL_S;
        if (sign(s, r->id, r->account_id, expires, sig) != 0) {
            cJSON_Delete(o);
            return NULL;
        }
        snprintf(url, sizeof url, "/api/v1/exports/%lld/download?account=%lld&expires=%lld&sig=%s",
                 r->id, r->account_id, expires, sig);
        cJSON_AddStringToObject(o, "download_url", url);
        iso_utc(expires, when, sizeof when);
        cJSON_AddStringToObject(o, "expires_at", when);
    }
    return o;
}

/* -------------------------------------------------------------- queue */

typedef struct export_job {
    long long account_id, id, user_id;
    int fmt;
    int64_t ch[EXPORT_MAX_CHANNELS];
    size_t n_ch;
    int64_t t0, t1;
    char tz[72];
    int64_t asked_ms;   /* db_replica_now_ms() when it was asked for */
    atomic_bool cancel; /* deleted by its user */
    struct export_job *next;
} export_job;

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    export_job *head, *tail;
    export_job *running[EXPORT_WORKERS];
    int n_pending; /* queued + running + reserved by a request in progress */
    bool started;
    atomic_bool stopping;
    pthread_t th[EXPORT_WORKERS];
    int n_th;
    srv *s;
    int64_t chunk_samples; /* EXPORT_CHUNK_SAMPLES */
} W = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

/* Reserve a slot for a new export. 0, or -1 with "e" (429/503). */
static int reserve_slot(svc_error *e)
{
    int rc = 0;
    pthread_mutex_lock(&W.mu);
    if (!W.started || atomic_load(&W.stopping)) {
        fail(e, SVC_UNAVAILABLE, "unavailable", NULL, "exports are not available now: retry later");
        rc = -1;
    } else if (W.n_pending >= EXPORT_MAX_PENDING) {
        fail(e, SVC_THROTTLED, "too_many_exports", NULL,
             "the server is busy with %d exports: retry in a minute", EXPORT_MAX_PENDING);
        e->retry_after = EXPORT_RETRY_AFTER_S;
        rc = -1;
    } else {
        W.n_pending++;
    }
    pthread_mutex_unlock(&W.mu);
    return rc;
}

static void release_slot(void)
{
    pthread_mutex_lock(&W.mu);
    W.n_pending--;
    pthread_mutex_unlock(&W.mu);
}

/* Queue "j" on its reserved slot. */
static void enqueue(export_job *j)
{
    pthread_mutex_lock(&W.mu);
    j->next = NULL;
    if (W.tail != NULL) {
        W.tail->next = j;
    } else {
        W.head = j;
    }
    W.tail = j;
    pthread_cond_signal(&W.cv);
    pthread_mutex_unlock(&W.mu);
}

/* Ask export (account, id) to stop if it is queued or running here. */
static void cancel_job(long long account_id, long long id)
{
    pthread_mutex_lock(&W.mu);
    for (export_job *j = W.head; j != NULL; j = j->next) {
        if (j->account_id == account_id && j->id == id) {
            atomic_store(&j->cancel, true);
        }
    }
    for (int i = 0; i < EXPORT_WORKERS; i++) {
        export_job *j = W.running[i];
        if (j != NULL && j->account_id == account_id && j->id == id) {
            atomic_store(&j->cancel, true);
        }
    }
    pthread_mutex_unlock(&W.mu);
}

/* ----------------------------------------------------------- the API */

svc_status svc_export_create(srv *s, const svc_actor *a, const export_request *rq, cJSON **out,
                             svc_error *e)
{
    db_conn *c = NULL;
    db_status st;
    int64_t *vis = NULL;
    size_t n_vis = 0;
    tz_spec tz = {0};
    char tz_text[72];
    bool known = false, found = false, reserved = false, in_tx = false;
    long long running = 0, id = 0;
    int fmt = fmt_of(rq->format), rc = -1;
    int64_t now = auth_now();
    export_job *j = NULL;
    db_export_row row;

    *out = NULL;
    if (fmt < 0) {
        return fail(e, SVC_INVALID, "invalid_value", "format",
                    "format: expected \"csv\", \"hok\" or \"hok2\"");
    }
    if (rq->n_ch == 0 || rq->n_ch > EXPORT_MAX_CHANNELS || rq->t1 <= rq->t0) {
        return fail(e, SVC_INVALID, "invalid_value", "channels", "1 to %d channels and from < to",
                    EXPORT_MAX_CHANNELS);
    }
    if (rq->time_zone != NULL) {
        tz_from_text(rq->time_zone, &tz);
        if (!tz.fixed && !tz_name_chars(rq->time_zone)) {
            return fail(e, SVC_INVALID, "invalid_value", "time_zone",
                        "time_zone: expected an IANA name ('Asia/Tokyo') or an offset ('+09:00')");
        }
    }
    if ((st = db_acquire(s->pool, EXPORT_DB_WAIT_MS, &c)) != DB_OK) {
        return fail_db(e, st);
    }
    /* The channels: every one visible to the actor, else 404 naming it. */
    if ((st = db_channels_visible(c, a->account_id, svc_viewer(a), rq->ch, rq->n_ch, &vis,
                                  &n_vis)) != DB_OK) {
        fail_db(e, st);
        goto out;
    }
    for (size_t i = 0; i < rq->n_ch; i++) {
        bool seen = false;
        for (size_t k = 0; k < n_vis && !seen; k++) {
            seen = vis[k] == rq->ch[i];
        }
        if (!seen) {
            fail(e, SVC_NOT_FOUND, "not_found", "channels", "channel %lld: no such channel",
                 (long long)rq->ch[i]);
            goto out;
        }
    }
    /* The time zone: the request's (an offset, or a name PostgreSQL knows),
     * else the account's. */
    if (rq->time_zone != NULL && !tz.fixed) {
        if ((st = db_time_zone_known(c, rq->time_zone, &known)) != DB_OK) {
            fail_db(e, st);
            goto out;
        }
        if (!known) {
            fail(e, SVC_INVALID, "invalid_value", "time_zone",
                 "time_zone: '%s' is not a known time zone (e.g. 'UTC', 'Asia/Tokyo', "
                 "'+09:00')",
                 rq->time_zone);
            goto out;
        }
    }
    if (rq->time_zone != NULL) {
        snprintf(tz_text, sizeof tz_text, "%s", rq->time_zone);
    } else if ((st = db_export_account_tz(c, a->account_id, tz_text, &found)) != DB_OK) {
        fail_db(e, st);
        goto out;
    }
    if ((j = calloc(1, sizeof *j)) == NULL) {
        fail(e, SVC_NOMEM, NULL, NULL, "the server is out of memory: retry");
        goto out;
    }
    if (reserve_slot(e) != 0) {
        goto out;
    }
    reserved = true;
    /* At most EXPORT_MAX_RUNNING_PER_ACCOUNT at once, counted under the
     * account-row lock so parallel requests cannot pass it together. */
    if ((st = db_begin(c)) != DB_OK) {
        fail_db(e, st);
        goto out;
    }
    in_tx = true;
    if ((st = db_account_lock(c, a->account_id, &found)) != DB_OK ||
        (st = db_export_running(c, a->account_id, &running)) != DB_OK) {
        fail_db(e, st);
        goto out;
    }
    if (running >= EXPORT_MAX_RUNNING_PER_ACCOUNT) {
        fail(e, SVC_THROTTLED, "too_many_exports", NULL,
             "at most %d exports run at once in an account: wait until one is done",
             EXPORT_MAX_RUNNING_PER_ACCOUNT);
        e->retry_after = EXPORT_RETRY_AFTER_S;
        goto out;
    }
    if ((st = db_export_insert(c, a->account_id, a->user_id, fmt_names[fmt], rq->ch, rq->n_ch,
                               rq->t0, rq->t1, tz_text, now, &id)) != DB_OK ||
        (st = db_commit(c)) != DB_OK) {
        fail_db(e, st);
        goto out;
    }
    in_tx = false;
    if ((st = db_export_get(c, a->account_id, 0, id, &row, &found)) != DB_OK || !found) {
        /* Recorded and about to run: answer with what we know. */
        memset(&row, 0, sizeof row);
        row.id = id;
        row.account_id = a->account_id;
        snprintf(row.status, sizeof row.status, "running");
        snprintf(row.format, sizeof row.format, "%s", fmt_names[fmt]);
        memcpy(row.ch, rq->ch, rq->n_ch * sizeof *rq->ch);
        row.n_ch = rq->n_ch;
        row.t0 = rq->t0;
        row.t1 = rq->t1;
        snprintf(row.time_zone, sizeof row.time_zone, "%s", tz_text);
        iso_utc(now, row.created_at, sizeof row.created_at);
    }
    j->account_id = a->account_id;
    j->id = id;
    j->user_id = a->user_id;
    j->fmt = fmt;
    memcpy(j->ch, rq->ch, rq->n_ch * sizeof *rq->ch);
    j->n_ch = rq->n_ch;
    j->t0 = rq->t0;
    j->t1 = rq->t1;
    snprintf(j->tz, sizeof j->tz, "%s", tz_text);
    j->asked_ms = db_replica_now_ms();
    enqueue(j);
    j = NULL;
    reserved = false;
    *out = row_json(s, &row, now);
    if (*out == NULL) {
        fail(e, SVC_NOMEM, NULL, NULL, "the server is out of memory: retry");
        goto out;
    }
    rc = 0;
out:
    if (in_tx) {
        db_rollback(c);
    }
    db_release(s->pool, c);
    if (reserved) {
        release_slot();
    }
    free(j);
    free(vis);
    return rc == 0 ? SVC_OK : e->status;
}

svc_status svc_export_get(srv *s, const svc_actor *a, long long id, cJSON **out, svc_error *e)
{
    db_conn *c = NULL;
    db_export_row row;
    bool found = false;
    db_status st = db_acquire(s->pool, EXPORT_DB_WAIT_MS, &c);
    *out = NULL;
    if (st != DB_OK) {
        return fail_db(e, st);
    }
    st = db_export_get(c, a->account_id, a->user_id, id, &row, &found);
    db_release(s->pool, c);
    if (st != DB_OK) {
        return fail_db(e, st);
    }
    if (!found) {
        return fail(e, SVC_NOT_FOUND, "not_found", NULL, "no such export");
    }
    if ((*out = row_json(s, &row, auth_now())) == NULL) {
        return fail(e, SVC_UNAVAILABLE, "unavailable", NULL, "cannot build the answer now: retry");
    }
    return SVC_OK;
}

svc_status svc_export_list(srv *s, const svc_actor *a, cJSON **out, svc_error *e)
{
    db_conn *c = NULL;
    db_export_row *rows = NULL;
    size_t n = 0;
    cJSON *arr;
    int64_t now = auth_now();
    db_status st = db_acquire(s->pool, EXPORT_DB_WAIT_MS, &c);
    *out = NULL;
    if (st != DB_OK) {
        return fail_db(e, st);
    }
    st = db_export_list(c, a->account_id, a->user_id, EXPORT_LIST_LIMIT, &rows, &n);
    db_release(s->pool, c);
    if (st != DB_OK) {
        return fail_db(e, st);
    }
    *out = cJSON_CreateObject();
    arr = cJSON_AddArrayToObject(*out, "exports");
    for (size_t i = 0; i < n && arr != NULL; i++) {
        cJSON *o = row_json(s, &rows[i], now);
        if (o == NULL) {
            arr = NULL;
            break;
        }
        cJSON_AddItemToArray(arr, o);
    }
    free(rows);
    if (arr == NULL) {
        cJSON_Delete(*out);
        *out = NULL;
        return fail(e, SVC_UNAVAILABLE, "unavailable", NULL, "cannot build the answer now: retry");
    }
    return SVC_OK;
}

/* DATA/exports/<account> and the file's final path. */
static void export_dir(const srv *s, long long account_id, char *out, size_t cap)
{
    snprintf(out, cap, "%s/exports/%lld", s->cfg.data_dir, account_id);
}

static void export_path(const srv *s, long long account_id, long long id, int fmt, char *out,
                        size_t cap)
{
    snprintf(out, cap, "%s/exports/%lld/%lld.%s", s->cfg.data_dir, account_id, id, fmt_ext[fmt]);
}

svc_status svc_export_delete(srv *s, const svc_actor *a, long long id, svc_error *e)
{
    db_conn *c = NULL;
    bool found = false, was_running = false;
    char format[8];
    db_status st = db_acquire(s->pool, EXPORT_DB_WAIT_MS, &c);
    if (st != DB_OK) {
        return fail_db(e, st);
    }
    st = db_export_delete(c, a->account_id, a->user_id, id, &found, format, &was_running);
    db_release(s->pool, c);
    if (st != DB_OK) {
        return fail_db(e, st);
    }
    if (!found) {
        return fail(e, SVC_NOT_FOUND, "not_found", NULL, "no such export");
    }
    if (was_running) {
        /* The worker stops at its next step and removes its partial file. */
        cancel_job(a->account_id, id);
    }
    /* A done export's bytes went with its row (a trigger on exports). */
    return SVC_OK;
}

svc_status svc_export_download(srv *s, long long id, long long account_id, long long expires,
                               const char *sig, export_file *out, svc_error *e)
{
    char want[65];
    db_conn *c = NULL;
    db_export_row row;
    bool found = false, have = false;
    int fmt;
    db_status st;
    if (sig == NULL || strlen(sig) != 64 || sign(s, id, account_id, expires, want) != 0 ||
        CRYPTO_memcmp(want, sig, 64) != 0) {
        return fail(e, SVC_FORBIDDEN, "invalid_signature", "sig",
                    "this download link is not valid");
    }
    if (expires < auth_now()) {
        return fail(e, SVC_FORBIDDEN, "link_expired", "expires",
                    "this download link has expired: ask for the export's status again for a "
                    "new one");
    }
    if ((st = db_acquire(s->pool, EXPORT_DB_WAIT_MS, &c)) != DB_OK) {
        return fail_db(e, st);
    }
    st = db_export_get(c, account_id, 0, id, &row, &found);
    if (st == DB_OK && found && row.blob_id != 0) {
        st = db_file_get(c, account_id, row.blob_id, &out->blob, &have);
    }
    db_release(s->pool, c);
    if (st != DB_OK) {
        return fail_db(e, st);
    }
    fmt = found ? fmt_of(row.format) : -1;
    if (!found || fmt < 0 || strcmp(row.status, "done") != 0) {
        return fail(e, SVC_NOT_FOUND, "not_found", NULL, "this export is no longer available");
    }
    if (!have) {
        /* Still on the disk of the server that made it (moved into the
         * database at its next start). */
        return fail(e, SVC_NOT_FOUND, "not_found", NULL,
                    "this export's file is no longer available");
    }
    snprintf(out->filename, sizeof out->filename, "metron-export-%lld.%s", id, fmt_ext[fmt]);
    out->content_type = fmt == FMT_CSV ? "application/zip" : "application/octet-stream";
    return SVC_OK;
}

/* ------------------------------------------------------------ a run */

/* One export being written. */
typedef struct {
    srv *s;
    export_job *j;
    db_export_channel *chs; /* in the job's order */
    size_t n_chs;
    tz_spec tz;
    int64_t r0, r1;      /* the part of [t0, t1) that holds data (r0 >= r1: none) */
    int64_t day0, n_days;
    int64_t parts;       /* chunks per day (a dense day is read in parts) */
    int64_t n_chunks;    /* n_days * parts */
    size_t units_total, units_done;
    long long samples, bytes;
    int64_t last_ms;
    enum { RUN_OK = 0, RUN_CANCELLED, RUN_STOPPED, RUN_FAILED } state;
    char error[300];
} run_ctx;

static void run_fail(run_ctx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void run_fail(run_ctx *x, const char *fmt, ...)
{
    va_list ap;
    if (x->state != RUN_OK) {
        return;
    }
    x->state = RUN_FAILED;
    va_start(ap, fmt);
    vsnprintf(x->error, sizeof x->error, fmt, ap);
    va_end(ap);
}

/* Whether the run should go on; writes progress when it is time ("force":
 * now). */
static bool run_alive(run_ctx *x, bool force)
{
    int64_t now_ms;
    if (x->state != RUN_OK) {
        return false;
    }
    if (atomic_load(&x->j->cancel)) {
        x->state = RUN_CANCELLED;
        return false;
    }
    if (atomic_load(&W.stopping)) {
        x->state = RUN_STOPPED;
        return false;
    }
    now_ms = mono_ms();
    if (force || now_ms - x->last_ms >= PROGRESS_EVERY_MS) {
        db_conn *c = NULL;
        bool alive = true;
        double p = x->units_total > 0 ? (double)x->units_done / (double)x->units_total : 0;
        if (p > 0.999) {
            p = 0.999; /* 1 only when the file is complete */
        }
        if (db_acquire(x->s->pool, EXPORT_DB_WAIT_MS, &c) == DB_OK) {
            if (db_export_progress(c, x->j->account_id, x->j->id, p, x->bytes, x->samples,
                                   auth_now(), &alive) != DB_OK) {
                alive = true; /* a missed progress write is not fatal */
            }
            db_release(x->s->pool, c);
        }
        x->last_ms = now_ms;
        if (!alive) {
            x->state = RUN_CANCELLED; /* deleted meanwhile */
            return false;
        }
    }
    return true;
}

static bool run_step(run_ctx *x)
{
    x->units_done++;
    return run_alive(x, false);
}

/* Rows of a chunk: the union of the channels' times, each channel's value
 * at every row (MT_SV_MISSING where it has none); v is column-major. */
typedef struct {
    int64_t *t;
    double *v;
    int32_t *off; /* CSV: the zone's offset at each row */
    size_t n_rows, n_cols;
} rowset;

static void rowset_free(rowset *r)
{
    free(r->t);
    free(r->v);
    free(r->off);
    memset(r, 0, sizeof *r);
}

/* Merge "cols" (n, each strictly increasing in time) into "r". 0 or -1. */
static int merge(const series_col *cols, size_t n, rowset *r)
{
    size_t idx[EXPORT_MAX_CHANNELS] = {0}, rows = 0;
    double missing = mt_sv_value(MT_SV_MISSING);
    rowset_free(r);
    for (;;) {
        int64_t tmin = INT64_MAX;
        bool any = false;
        for (size_t c = 0; c < n; c++) {
            if (idx[c] < cols[c].n && (!any || cols[c].t[idx[c]] < tmin)) {
                tmin = cols[c].t[idx[c]];
                any = true;
            }
        }
        if (!any) {
            break;
        }
        for (size_t c = 0; c < n; c++) {
            if (idx[c] < cols[c].n && cols[c].t[idx[c]] == tmin) {
                idx[c]++;
            }
        }
        rows++;
    }
    r->n_cols = n;
    r->t = malloc((rows + 1) * sizeof *r->t);
    r->v = malloc((rows * n + 1) * sizeof *r->v);
    r->off = malloc((rows + 1) * sizeof *r->off);
    if (r->t == NULL || r->v == NULL || r->off == NULL) {
        rowset_free(r);
        return -1;
    }
    memset(idx, 0, sizeof idx);
    for (size_t k = 0; k < rows; k++) {
        int64_t tmin = INT64_MAX;
        for (size_t c = 0; c < n; c++) {
            if (idx[c] < cols[c].n && cols[c].t[idx[c]] < tmin) {
                tmin = cols[c].t[idx[c]];
            }
        }
        r->t[k] = tmin;
        for (size_t c = 0; c < n; c++) {
            if (idx[c] < cols[c].n && cols[c].t[idx[c]] == tmin) {
                r->v[c * rows + k] = cols[c].v[idx[c]++];
            } else {
                r->v[c * rows + k] = missing;
            }
        }
    }
    r->n_rows = rows;
    return 0;
}

/* How long an export's first read waits for the standby to show what was
 * acknowledged before the export was asked for (a few monitor checks). */
#define EXPORT_REPLICA_WAIT_MS 2000

/* Read chunk "k" (of x->n_chunks: part k % parts of day day0 + k / parts)
 * of channels "ids" into "r"; with "offsets", also the time zone's offset
 * at each row. 0 or -1 (x->state set). */
static int read_chunk(run_ctx *x, const int64_t *ids, size_t n, int64_t k, bool offsets,
                      rowset *r)
{
    int64_t day = x->day0 + k / x->parts, len = MT_US_PER_DAY / x->parts;
    int64_t a = day * MT_US_PER_DAY + (k % x->parts) * len, b = a + len;
    series_col cols[EXPORT_MAX_CHANNELS];
    db_conn *c = NULL;
    db_status st;
    int rc = -1;
    if (a < x->r0) {
        a = x->r0;
    }
    if (b > x->r1) {
        b = x->r1;
    }
    /* On the read replica once it shows everything acknowledged before the
     * export was asked for (docs/scale.md; the first chunk waits a moment
     * for the monitor to see it there), else on the primary; a failure
     * there is read again on the primary. */
    db_pool *standby = db_replica_pool_since(x->s->replica, x->j->asked_ms,
                                             k == 0 ? EXPORT_REPLICA_WAIT_MS : 0);
    for (;;) {
        db_pool *pool = standby != NULL ? standby : x->s->pool;
        long long samples = 0;
        bool oom = false;
        memset(cols, 0, sizeof cols);
        if ((st = db_acquire(pool, EXPORT_DB_WAIT_MS, &c)) == DB_OK &&
            (st = series_read(c, x->j->account_id, ids, n, a, b, cols)) == DB_OK) {
            for (size_t i = 0; i < n; i++) {
                samples += (long long)cols[i].n;
            }
            oom = merge(cols, n, r) != 0;
            if (!oom && offsets) {
                st = tz_offsets(c, &x->tz, day, r->t, r->n_rows, r->off);
            }
        }
        db_release(pool, c);
        c = NULL;
        for (size_t i = 0; i < n; i++) {
            series_col_free(&cols[i]);
        }
        if (oom) {
            run_fail(x, "out of memory");
            return -1;
        }
        if (st == DB_OK) {
            x->samples += samples;
            rc = 0;
            break;
        }
        if (standby != NULL) {
            log_warn("replica: an export's read failed on the standby (%s): read on the primary",
                     db_strerror(st));
            db_replica_failed(x->s->replica);
            standby = NULL;
            continue;
        }
        run_fail(x, "reading the data: %s", db_strerror(st));
        break;
    }
    db_replica_count(x->s->replica, rc == 0 && standby != NULL);
    return rc;
}

/* ------------------------------------------------------------- HOK */

typedef struct {
    FILE *f;
    run_ctx *x;
} hok_sink_ctx;

static mt_status hok_sink(void *ctx, const uint8_t *bytes, size_t len, mt_error *err)
{
    hok_sink_ctx *k = ctx;
    if (fwrite(bytes, 1, len, k->f) != len) {
        return mt_fail(err, MT_ENOSPACE, 0, "write: %s", strerror(errno));
    }
    k->x->bytes += (long long)len;
    return MT_OK;
}

/* The one value all device channels share for a metadata field, else "". */
static void common(const run_ctx *x, size_t field, char *out, size_t cap)
{
    const char *v = NULL;
    out[0] = '\0';
    for (size_t i = 0; i < x->n_chs; i++) {
        const db_export_channel *ch = &x->chs[i];
        const char *s = field == 0 ? ch->app_name : field == 1 ? ch->serial : ch->model;
        if (ch->computed) {
            continue;
        }
        if (v != NULL && strcmp(v, s) != 0) {
            return;
        }
        v = s;
    }
    if (v != NULL) {
        utf8_cut(v, out, cap);
    }
}

static int write_hok(run_ctx *x, const char *tmp)
{
    mt_hok_opts opts = {x->j->fmt == FMT_HOK ? MT_HOK_V1 : MT_HOK_V2, 0};
    mt_hok_channel hch[EXPORT_MAX_CHANNELS];
    char names[EXPORT_MAX_CHANNELS][MT_HOK_MAX_STR], units[EXPORT_MAX_CHANNELS][MT_HOK_MAX_STR];
    char title[64], app[MT_HOK_MAX_STR], device[MT_HOK_MAX_STR], model[MT_HOK_MAX_STR];
    mt_hok_meta meta;
    mt_hok_writer *w = NULL;
    mt_error err;
    hok_sink_ctx sink = {NULL, x};
    rowset r = {0};
    int fd, rc = -1;

    snprintf(title, sizeof title, "Metron export %lld", x->j->id);
    common(x, 0, app, sizeof app);
    common(x, 1, device, sizeof device);
    common(x, 2, model, sizeof model);
    meta.title = title;
    meta.app = app;
    meta.device = device;
    meta.model = model;
    meta.timezone = x->tz.name;
    meta.created = auth_now() * MT_US_PER_S;
    for (size_t i = 0; i < x->n_chs; i++) {
        utf8_cut(x->chs[i].name, names[i], sizeof names[i]);
        utf8_cut(x->chs[i].unit, units[i], sizeof units[i]);
        hch[i].id = x->chs[i].id;
        hch[i].name = names[i];
        hch[i].unit = units[i];
        hch[i].kind = x->chs[i].computed ? MT_HOK_COMPUTED : MT_HOK_MEASURED;
        hch[i].model = x->chs[i].computed ? "" : x->chs[i].model;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0 || (sink.f = fdopen(fd, "wb")) == NULL) {
        run_fail(x, "cannot write the file: %s", strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    if (mt_hok_writer_new(&opts, &meta, hch, x->n_chs, hok_sink, &sink, &w, &err) != MT_OK) {
        run_fail(x, "HOK writer: %s", err.msg);
        goto out;
    }
    for (int64_t k = 0; k < x->n_chunks; k++) {
        const double *cols[EXPORT_MAX_CHANNELS];
        if (read_chunk(x, x->j->ch, x->n_chs, k, false, &r) != 0) {
            goto out;
        }
        for (size_t c = 0; c < x->n_chs; c++) {
            cols[c] = r.v + c * r.n_rows;
        }
        if (r.n_rows > 0 && mt_hok_writer_append(w, r.t, cols, r.n_rows, &err) != MT_OK) {
            run_fail(x, "HOK writer: %s", err.msg);
            goto out;
        }
        if (!run_step(x)) {
            goto out;
        }
    }
    if (mt_hok_writer_finish(w, &err) != MT_OK) {
        run_fail(x, "HOK writer: %s", err.msg);
        goto out;
    }
    if (fflush(sink.f) != 0 || fsync(fileno(sink.f)) != 0) {
        run_fail(x, "cannot write the file: %s", strerror(errno));
        goto out;
    }
    rc = 0;
out:
    rowset_free(&r);
    mt_hok_writer_free(w);
    if (fclose(sink.f) != 0 && rc == 0) {
        run_fail(x, "cannot write the file: %s", strerror(errno));
        rc = -1;
    }
    return rc;
}

/* ------------------------------------------------------- ZIP of CSV */

/* One CSV file of the ZIP: a device's channels, or the computed ones. */
typedef struct {
    char name[160];
    int64_t ids[EXPORT_MAX_CHANNELS];
    size_t idx[EXPORT_MAX_CHANNELS]; /* into x->chs */
    size_t n;
    bool computed;
} csv_file;

/* The state of a ZIP entry whose bytes libzip pulls through csv_source(). */
typedef struct {
    run_ctx *x;
    const csv_file *f;
    int64_t chunk; /* next chunk to read */
    rowset r;      /* the day being written */
    size_t row;    /* next row of r */
    sbuf buf;      /* text not yet handed to libzip */
    size_t taken;  /* bytes of buf already handed */
    bool header_done;
    zip_error_t err;
} csv_src;

static void csv_header(csv_src *cs)
{
    const run_ctx *x = cs->x;
    sb_put(&cs->buf, "\xEF\xBB\xBF" "Time");
    for (size_t i = 0; i < cs->f->n; i++) {
        const db_export_channel *ch = &x->chs[cs->f->idx[i]];
        char title[600];
        if (ch->unit[0] != '\0') {
            snprintf(title, sizeof title, "%s [%s]", ch->name, ch->unit);
        } else {
            snprintf(title, sizeof title, "%s", ch->name);
        }
        sb_put(&cs->buf, ",");
        sb_csv_field(&cs->buf, title);
    }
    sb_put(&cs->buf, "\r\n");
}

/* Produce more text into cs->buf: the header, then rows of the current
 * day, reading the next day when one is used up. 0 (nothing left when
 * buf stays empty) or -1. */
static int csv_refill(csv_src *cs)
{
    run_ctx *x = cs->x;
    cs->buf.len = 0;
    cs->taken = 0;
    if (!cs->header_done) {
        csv_header(cs);
        cs->header_done = true;
        return cs->buf.failed ? -1 : 0;
    }
    while (cs->row >= cs->r.n_rows) {
        if (cs->chunk >= x->n_chunks) {
            return 0;
        }
        if (read_chunk(x, cs->f->ids, cs->f->n, cs->chunk, true, &cs->r) != 0) {
            return -1;
        }
        cs->chunk++;
        cs->row = 0;
        if (!run_step(x)) {
            return -1;
        }
    }
    while (cs->row < cs->r.n_rows && cs->buf.len < CSV_REFILL && !cs->buf.failed) {
        char cell[64];
        size_t k = cs->row++;
        int n = iso_local(cs->r.t[k], cs->r.off[k], cell, sizeof cell);
        sb_add(&cs->buf, cell, (size_t)n);
        for (size_t c = 0; c < cs->r.n_cols; c++) {
            sb_add(&cs->buf, ",", 1);
            n = csv_value(cs->r.v[c * cs->r.n_rows + k], cell, sizeof cell);
            sb_add(&cs->buf, cell, (size_t)n);
        }
        sb_add(&cs->buf, "\r\n", 2);
    }
    if (cs->buf.failed) {
        run_fail(x, "out of memory");
        return -1;
    }
    x->bytes += (long long)cs->buf.len;
    return 0;
}

static zip_int64_t csv_source(void *ud, void *data, zip_uint64_t len, zip_source_cmd_t cmd)
{
    csv_src *cs = ud;
    switch (cmd) {
    case ZIP_SOURCE_OPEN:
        /* (Re)start from the beginning. */
        cs->chunk = 0;
        cs->row = 0;
        rowset_free(&cs->r);
        cs->buf.len = 0;
        cs->taken = 0;
        cs->header_done = false;
        return 0;
    case ZIP_SOURCE_READ: {
        zip_uint64_t done = 0;
        while (done < len) {
            size_t avail = cs->buf.len - cs->taken, n;
            if (avail == 0) {
                if (csv_refill(cs) != 0) {
                    zip_error_set(&cs->err, cs->x->state == RUN_FAILED ? ZIP_ER_INTERNAL
                                                                       : ZIP_ER_CANCELLED,
                                  0);
                    return -1;
                }
                if (cs->buf.len == 0) {
                    break; /* the end */
                }
                continue;
            }
            n = avail < len - done ? avail : (size_t)(len - done);
            memcpy((char *)data + done, cs->buf.p + cs->taken, n);
            cs->taken += n;
            done += n;
        }
        return (zip_int64_t)done;
    }
    case ZIP_SOURCE_CLOSE:
        rowset_free(&cs->r);
        return 0;
    case ZIP_SOURCE_STAT: {
        zip_stat_t *st = data;
        if (len < sizeof *st) {
            zip_error_set(&cs->err, ZIP_ER_INVAL, 0);
            return -1;
        }
        zip_stat_init(st);
        st->mtime = (time_t)auth_now();
        st->valid |= ZIP_STAT_MTIME;
        return (zip_int64_t)sizeof *st;
    }
    case ZIP_SOURCE_ERROR:
        return zip_error_to_data(&cs->err, data, len);
    case ZIP_SOURCE_FREE:
        rowset_free(&cs->r);
        free(cs->buf.p);
        zip_error_fini(&cs->err);
        free(cs);
        return 0;
    case ZIP_SOURCE_SUPPORTS:
        return ZIP_SOURCE_SUPPORTS_READABLE;
    default:
        zip_error_set(&cs->err, ZIP_ER_OPNOTSUPP, 0);
        return -1;
    }
}

/* A file name from "text": [A-Za-z0-9._-] kept, anything else '_'. */
static void safe_name(const char *text, char *out, size_t cap)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p && n + 1 < cap; p++) {
        bool ok = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                  (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-';
        if ((*p & 0xC0) == 0x80) {
            continue; /* one '_' per non-ASCII character */
        }
        out[n++] = ok ? (char)*p : '_';
    }
    out[n] = '\0';
    if (n == 0 || out[0] == '.') {
        snprintf(out, cap, "device");
    }
}

/* Group the channels into files: one per device (in the order the devices
 * first appear), then computed.csv. Returns the count. */
static size_t plan_files(const run_ctx *x, csv_file *files)
{
    size_t n_files = 0;
    for (size_t i = 0; i < x->n_chs; i++) {
        const db_export_channel *ch = &x->chs[i];
        size_t f = 0;
        for (; f < n_files; f++) {
            if (files[f].computed == ch->computed &&
                (ch->computed || x->chs[files[f].idx[0]].device_id == ch->device_id)) {
                break;
            }
        }
        if (f == n_files) {
            memset(&files[f], 0, sizeof files[f]);
            files[f].computed = ch->computed;
            n_files++;
        }
        files[f].idx[files[f].n] = i;
        files[f].ids[files[f].n++] = ch->id;
    }
    /* computed.csv last */
    for (size_t f = 0; f + 1 < n_files; f++) {
        if (files[f].computed) {
            csv_file tmp = files[f];
            memmove(&files[f], &files[f + 1], (n_files - f - 1) * sizeof *files);
            files[n_files - 1] = tmp;
            break;
        }
    }
    for (size_t f = 0; f < n_files; f++) {
        const db_export_channel *ch = &x->chs[files[f].idx[0]];
        char base[140], model[40], serial[80];
        bool clash;
        if (files[f].computed) {
            snprintf(files[f].name, sizeof files[f].name, "computed.csv");
            continue;
        }
        safe_name(ch->model, model, sizeof model);
        safe_name(ch->serial, serial, sizeof serial);
        snprintf(base, sizeof base, "%s_%s", model, serial);
        snprintf(files[f].name, sizeof files[f].name, "%s.csv", base);
        clash = strcmp(files[f].name, "computed.csv") == 0;
        for (size_t g = 0; g < f && !clash; g++) {
            clash = strcmp(files[g].name, files[f].name) == 0;
        }
        if (clash) {
            snprintf(files[f].name, sizeof files[f].name, "%s_%lld.csv", base, ch->device_id);
        }
    }
    return n_files;
}

/* README.txt: what the files and columns are. */
static char *readme(const run_ctx *x, const csv_file *files, size_t n_files, size_t *len)
{
    sbuf b = {0};
    char from[32], to[32], now[32];
    mt_error err;
    if (mt_cal_format_instant(x->j->t0, from, sizeof from, &err) != MT_OK) {
        snprintf(from, sizeof from, "%lld us", (long long)x->j->t0);
    }
    if (mt_cal_format_instant(x->j->t1, to, sizeof to, &err) != MT_OK) {
        snprintf(to, sizeof to, "%lld us", (long long)x->j->t1);
    }
    iso_utc(auth_now(), now, sizeof now);
    sb_printf(&b, "Metron export %lld\r\n\r\n", x->j->id);
    sb_printf(&b, "Range:     %s (inclusive) to %s (exclusive), UTC\r\n", from, to);
    sb_printf(&b, "           from = %lld, to = %lld (microseconds since 1970-01-01 UTC)\r\n",
              (long long)x->j->t0, (long long)x->j->t1);
    sb_printf(&b, "Time zone: %s (the Time column)\r\n", x->tz.name);
    sb_printf(&b, "Created:   %s\r\n\r\n", now);
    sb_put(&b,
           "Each CSV file holds the channels of one device (computed channels are in\r\n"
           "computed.csv): UTF-8 with a byte-order mark, comma-separated, CRLF line\r\n"
           "ends, fields quoted as RFC 4180 says when they need it.\r\n"
           "\r\n"
           "- Row 1: \"Time\", then one column per channel titled \"name [unit]\".\r\n"
           "- One row per time at which at least one of the file's channels has a\r\n"
           "  sample, in time order.\r\n"
           "- Time: ISO 8601 local time in the time zone above, with its UTC offset\r\n"
           "  (2024-05-01T09:00:00+09:00; fractions of a second when there are some).\r\n"
           "- Values: decimal numbers with every digit needed to read back the stored\r\n"
           "  value exactly; special values as words: +OVER (above the range), -OVER\r\n"
           "  (below the range), BREAK (sensor break), ERROR (computation error). An\r\n"
           "  empty cell: the channel has no sample at that time (or a \"missing\" one).\r\n"
           "- Names that a spreadsheet would read as a formula (starting with = + - @)\r\n"
           "  are written with a leading apostrophe.\r\n"
           "\r\nFiles and columns\r\n");
    for (size_t f = 0; f < n_files; f++) {
        const db_export_channel *first = &x->chs[files[f].idx[0]];
        sb_printf(&b, "\r\n%s\r\n", files[f].name);
        if (files[f].computed) {
            sb_put(&b, "  computed channels\r\n");
        } else {
            sb_printf(&b, "  device %s, serial %s", first->model, first->serial);
            if (first->device_name[0] != '\0') {
                sb_printf(&b, ", name \"%s\"", first->device_name);
            }
            sb_printf(&b, ", app \"%s\"\r\n", first->app_name);
        }
        sb_put(&b, "  column 1: Time\r\n");
        for (size_t i = 0; i < files[f].n; i++) {
            const db_export_channel *ch = &x->chs[files[f].idx[i]];
            sb_printf(&b, "  column %zu: channel %lld \"%s\", unit \"%s\"", i + 2,
                      (long long)ch->id, ch->name, ch->unit);
            if (ch->computed) {
                sb_printf(&b, ", group \"%s\", expression %s\r\n", ch->group_name,
                          ch->expression);
            } else {
                sb_printf(&b, ", key %s\r\n", ch->key);
            }
        }
    }
    if (b.failed) {
        free(b.p);
        return NULL;
    }
    *len = b.len;
    return b.p;
}

static int write_zip(run_ctx *x, const char *tmp)
{
    csv_file files[EXPORT_MAX_CHANNELS];
    size_t n_files = plan_files(x, files), text_len = 0;
    char *text = readme(x, files, n_files, &text_len);
    zip_t *za = NULL;
    zip_source_t *src;
    int zerr = 0;
    if (text == NULL) {
        run_fail(x, "out of memory");
        return -1;
    }
    x->units_total = n_files * (size_t)x->n_chunks;
    (void)unlink(tmp);
    if ((za = zip_open(tmp, ZIP_CREATE | ZIP_TRUNCATE, &zerr)) == NULL) {
        zip_error_t ze;
        zip_error_init_with_code(&ze, zerr);
        run_fail(x, "cannot write the file: %s", zip_error_strerror(&ze));
        zip_error_fini(&ze);
        free(text);
        return -1;
    }
    if ((src = zip_source_buffer(za, text, text_len, 1)) == NULL) {
        free(text);
        goto fail;
    }
    if (zip_file_add(za, "README.txt", src, ZIP_FL_ENC_UTF_8) < 0) {
        zip_source_free(src);
        goto fail;
    }
    for (size_t f = 0; f < n_files; f++) {
        csv_src *cs = calloc(1, sizeof *cs);
        zip_int64_t idx;
        if (cs == NULL) {
            goto fail;
        }
        cs->x = x;
        cs->f = &files[f];
        zip_error_init(&cs->err);
        if ((src = zip_source_function(za, csv_source, cs)) == NULL) {
            zip_error_fini(&cs->err);
            free(cs);
            goto fail;
        }
        if ((idx = zip_file_add(za, files[f].name, src, ZIP_FL_ENC_UTF_8)) < 0) {
            zip_source_free(src); /* frees cs */
            goto fail;
        }
        if (zip_set_file_compression(za, (zip_uint64_t)idx, ZIP_CM_DEFLATE, ZIP_LEVEL) != 0) {
            goto fail;
        }
    }
    /* The CSV text is produced now, as libzip pulls it. */
    if (zip_close(za) != 0) {
        goto fail;
    }
    return 0;
fail:
    if (x->state == RUN_OK) {
        run_fail(x, "ZIP: %s", zip_strerror(za));
    }
    zip_discard(za);
    return -1;
}

/* ------------------------------------------------------------ worker */

/* Copy the finished file "path" into a new blob of the export's account
 * (*w; db_files.h). 0, or -1 with the run failed. */
static int store_file(run_ctx *x, const char *path, db_file_writer *w)
{
    enum { PIECE = 256 * 1024 };
    char *buf = malloc(PIECE);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    int rc = -1;
    db_status st;
    if (buf == NULL || fd < 0) {
        run_fail(x, "cannot read the file: %s", strerror(errno));
        goto out;
    }
    if ((st = db_file_begin(x->s->pool, x->j->account_id, w)) != DB_OK) {
        run_fail(x, "the file could not be stored: %s", db_strerror(st));
        goto out;
    }
    for (;;) {
        ssize_t got = read(fd, buf, PIECE);
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got < 0) {
            run_fail(x, "cannot read the file: %s", strerror(errno));
            goto out;
        }
        if (got == 0) {
            break;
        }
        if ((st = db_file_write(w, buf, (size_t)got)) != DB_OK) {
            run_fail(x, "the file could not be stored: %s", db_strerror(st));
            goto out;
        }
    }
    if ((st = db_file_flush(w)) != DB_OK) {
        run_fail(x, "the file could not be stored: %s", db_strerror(st));
        goto out;
    }
    rc = 0;
out:
    if (fd >= 0) {
        close(fd);
    }
    free(buf);
    return rc;
}

static void run_job(srv *s, export_job *j)
{
    run_ctx x;
    char dir[4200], final_path[4200], tmp[4300];
    db_conn *c = NULL;
    db_status st = DB_OK;
    bool any = false, alive = false;
    int64_t first = 0, last = 0, max_day = 0;
    int rc = -1;
    db_file_writer w;

    memset(&x, 0, sizeof x);
    memset(&w, 0, sizeof w);
    x.s = s;
    x.j = j;
    x.last_ms = mono_ms();
    tz_from_text(j->tz, &x.tz);
    export_dir(s, j->account_id, dir, sizeof dir);
    export_path(s, j->account_id, j->id, j->fmt, final_path, sizeof final_path);
    snprintf(tmp, sizeof tmp, "%s.part", final_path);

    if (!run_alive(&x, false)) {
        goto done;
    }
    /* The channels as they are now, and where the data lies in the range. */
    if ((st = db_acquire(s->pool, EXPORT_DB_WAIT_MS, &c)) != DB_OK) {
        run_fail(&x, "the database is unavailable: %s", db_strerror(st));
        goto done;
    }
    st = db_export_channels(c, j->account_id, j->ch, j->n_ch, &x.chs, &x.n_chs);
    if (st == DB_OK) {
        st = db_export_extent(c, j->account_id, j->ch, j->n_ch, j->t0, j->t1, &first, &last,
                              &max_day, &any);
    }
    db_release(s->pool, c);
    if (st != DB_OK) {
        run_fail(&x, "the database is unavailable: %s", db_strerror(st));
        goto done;
    }
    if (x.n_chs != j->n_ch) {
        run_fail(&x, "a channel of the export was deleted");
        goto done;
    }
    x.r0 = any && first > j->t0 ? first : j->t0;
    x.r1 = any && last + 1 < j->t1 ? last + 1 : j->t1;
    if (!any || x.r1 <= x.r0) {
        x.r1 = x.r0; /* nothing to read */
        x.n_days = 0;
    } else {
        x.day0 = floor_div(x.r0, MT_US_PER_DAY);
        x.n_days = floor_div(x.r1 - 1, MT_US_PER_DAY) - x.day0 + 1;
    }
    /* Memory: a chunk holds at most about EXPORT_CHUNK_SAMPLES samples of
     * the day blocks (a day holds up to 2^20 per channel). */
    {
        static const int64_t splits[] = {1, 2, 3, 4, 6, 8, 12, 24}; /* divisors of 24 h */
        for (size_t i = 0; i < sizeof splits / sizeof splits[0]; i++) {
            x.parts = splits[i];
            if ((max_day + x.parts - 1) / x.parts <= W.chunk_samples) {
                break;
            }
        }
    }
    x.n_chunks = x.n_days * x.parts;
    x.units_total = (size_t)x.n_chunks;
    if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
        char parent[4200];
        snprintf(parent, sizeof parent, "%s/exports", s->cfg.data_dir);
        if ((mkdir(parent, 0750) != 0 && errno != EEXIST) ||
            (mkdir(dir, 0750) != 0 && errno != EEXIST)) {
            run_fail(&x, "cannot create the export folder: %s", strerror(errno));
            goto done;
        }
    }
    rc = j->fmt == FMT_CSV ? write_zip(&x, tmp) : write_hok(&x, tmp);
    if (rc == 0 && store_file(&x, tmp, &w) != 0) {
        rc = -1;
    }
done:
    (void)unlink(tmp); /* the bytes are in the store now, or not wanted */
    free(x.chs);
    if (x.state == RUN_CANCELLED) {
        db_file_writer_end(&w, true);
        return; /* deleted: the row is gone */
    }
    if (rc == 0) {
        x.bytes = w.size;
    }
    if (x.state == RUN_STOPPED) {
        snprintf(x.error, sizeof x.error, "the server stopped before the export finished");
    }
    /* The row becomes done and the blob ready in one transaction. */
    if ((st = db_acquire(s->pool, EXPORT_DB_WAIT_MS, &c)) == DB_OK) {
        if ((st = db_begin(c)) == DB_OK && (rc != 0 || (st = db_file_ready_tx(c, &w)) == DB_OK) &&
            (st = db_export_finish(c, j->account_id, j->id, rc == 0, x.bytes, x.samples,
                                   x.error, auth_now(), w.blob_id, &alive)) == DB_OK &&
            alive) {
            st = db_commit(c);
        }
        db_release(s->pool, c); /* rolls back when not committed */
    }
    if (st != DB_OK) {
        log_error("export %lld: cannot record its end: %s", j->id, db_strerror(st));
    }
    /* Kept only when recorded: a failure, or an export deleted while it
     * was being finished, discards it. */
    db_file_writer_end(&w, !(rc == 0 && st == DB_OK && alive));
    if (rc != 0) {
        log_warn("export %lld of account %lld failed: %s", j->id, j->account_id, x.error);
    }
}

static void *worker(void *arg)
{
    int slot = (int)(intptr_t)arg;
    pthread_mutex_lock(&W.mu);
    for (;;) {
        export_job *j;
        while (W.head == NULL && !atomic_load(&W.stopping)) {
            pthread_cond_wait(&W.cv, &W.mu);
        }
        if (atomic_load(&W.stopping)) {
            break;
        }
        j = W.head;
        W.head = j->next;
        if (W.head == NULL) {
            W.tail = NULL;
        }
        W.running[slot] = j;
        pthread_mutex_unlock(&W.mu);
        run_job(W.s, j);
        pthread_mutex_lock(&W.mu);
        W.running[slot] = NULL;
        W.n_pending--;
        free(j);
    }
    pthread_mutex_unlock(&W.mu);
    return NULL;
}

int svc_export_workers_start(srv *s)
{
    const char *chunk = getenv("METRON_EXPORT_CHUNK_SAMPLES");
    pthread_mutex_lock(&W.mu);
    W.s = s;
    W.chunk_samples = EXPORT_CHUNK_SAMPLES;
    if (s->cfg.test_routes && chunk != NULL && atoll(chunk) > 0) {
        W.chunk_samples = atoll(chunk);
    }
    atomic_store(&W.stopping, false);
    for (int i = 0; i < EXPORT_WORKERS; i++) {
        if (pthread_create(&W.th[i], NULL, worker, (void *)(intptr_t)i) != 0) {
            pthread_mutex_unlock(&W.mu);
            svc_export_workers_stop();
            return -1;
        }
        W.n_th++;
    }
    W.started = true;
    pthread_mutex_unlock(&W.mu);
    return 0;
}

void svc_export_workers_stop(void)
{
    export_job *left;
    pthread_mutex_lock(&W.mu);
    atomic_store(&W.stopping, true);
    pthread_cond_broadcast(&W.cv);
    pthread_mutex_unlock(&W.mu);
    for (int i = 0; i < W.n_th; i++) {
        pthread_join(W.th[i], NULL);
    }
    pthread_mutex_lock(&W.mu);
    W.n_th = 0;
    W.started = false;
    left = W.head;
    W.head = W.tail = NULL;
    pthread_mutex_unlock(&W.mu);
    /* Exports still queued end as failed (their users may start them again). */
    while (left != NULL) {
        export_job *next = left->next;
        db_conn *c = NULL;
        bool alive;
        if (W.s != NULL && db_acquire(W.s->pool, 2000, &c) == DB_OK) {
            (void)db_export_finish(c, left->account_id, left->id, false, 0, 0,
                                   "the server stopped before the export started", auth_now(),
                                   0, &alive);
            db_release(W.s->pool, c);
        }
        free(left);
        pthread_mutex_lock(&W.mu);
        W.n_pending--;
        pthread_mutex_unlock(&W.mu);
        left = next;
    }
}

/* ----------------------------------------------------------- clean-up */

static bool parse_ll(const char *s, long long *out)
{
    char *end = NULL;
    long long v;
    if (*s < '0' || *s > '9') {
        return false;
    }
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || v <= 0) {
        return false;
    }
    *out = v;
    return *end == '\0';
}

/* Whether export (account, id) is queued or running in this process. */
static bool job_live(long long account_id, long long id)
{
    bool live = false;
    pthread_mutex_lock(&W.mu);
    for (export_job *j = W.head; j != NULL && !live; j = j->next) {
        live = j->account_id == account_id && j->id == id;
    }
    for (int i = 0; i < EXPORT_WORKERS && !live; i++) {
        live = W.running[i] != NULL && W.running[i]->account_id == account_id &&
               W.running[i]->id == id;
    }
    pthread_mutex_unlock(&W.mu);
    return live;
}

/* Remove the files of DATA/exports/<account_id> that no export owns:
 * "<id>.<ext>" without a running or done row, and temporary files
 * ("<id>.<ext>.part...") of exports not running here (the data folder
 * belongs to this process alone). */
static int sweep_account(srv *s, long long account_id, long long *removed)
{
    char dir[4200], path[4200 + 300];
    long long *ids = NULL;
    size_t n = 0;
    bool exists = false;
    db_conn *c = NULL;
    DIR *d;
    struct dirent *de;
    db_status st = db_acquire(s->pool, EXPORT_DB_WAIT_MS, &c);
    if (st != DB_OK) {
        return -1;
    }
    st = db_export_file_ids(c, account_id, &ids, &n, &exists);
    db_release(s->pool, c);
    if (st != DB_OK) {
        return -1;
    }
    export_dir(s, account_id, dir, sizeof dir);
    if ((d = opendir(dir)) == NULL) {
        free(ids);
        return 0;
    }
    while ((de = readdir(d)) != NULL) {
        char head[32];
        const char *dot = strchr(de->d_name, '.');
        size_t head_len = dot != NULL ? (size_t)(dot - de->d_name) : 0;
        long long id;
        bool orphan;
        if (dot == NULL || head_len == 0 || head_len >= sizeof head) {
            continue; /* not ours */
        }
        memcpy(head, de->d_name, head_len);
        head[head_len] = '\0';
        if (!parse_ll(head, &id)) {
            continue;
        }
        if (strstr(dot, ".part") != NULL) {
            orphan = !job_live(account_id, id);
        } else {
            orphan = !job_live(account_id, id) &&
                     (n == 0 || bsearch(&id, ids, n, sizeof *ids, cmp_ll) == NULL);
        }
        if (!orphan) {
            continue;
        }
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if (unlink(path) == 0) {
            (*removed)++;
        } else if (errno != ENOENT) {
            log_warn("export: cannot remove %s: %s", path, strerror(errno));
        }
    }
    closedir(d);
    if (!exists) {
        (void)rmdir(dir);
    }
    free(ids);
    return 0;
}

int svc_export_cleanup(srv *s, int64_t now, long long *done)
{
    db_conn *c = NULL;
    long long failed = 0, removed = 0, *accs = NULL, *ids = NULL;
    long long live_acc[EXPORT_MAX_PENDING + EXPORT_WORKERS], live_id[EXPORT_MAX_PENDING +
                                                                      EXPORT_WORKERS];
    char(*fmts)[8] = NULL;
    char exports_dir[4200];
    size_t n = 0, n_live = 0;
    db_status st;
    DIR *d;
    struct dirent *de;
    int rc = 0;

    *done = 0;
    /* 1. Refresh this process's own exports, then fail those of servers
     *    that stopped. */
    pthread_mutex_lock(&W.mu);
    for (export_job *j = W.head; j != NULL && n_live < EXPORT_MAX_PENDING; j = j->next) {
        live_acc[n_live] = j->account_id;
        live_id[n_live++] = j->id;
    }
    for (int i = 0; i < EXPORT_WORKERS; i++) {
        if (W.running[i] != NULL) {
            live_acc[n_live] = W.running[i]->account_id;
            live_id[n_live++] = W.running[i]->id;
        }
    }
    pthread_mutex_unlock(&W.mu);
    if ((st = db_acquire(s->pool, EXPORT_DB_WAIT_MS, &c)) != DB_OK) {
        log_error("export clean-up: %s", db_strerror(st));
        return -1;
    }
    if ((st = db_export_touch(c, live_acc, live_id, n_live, now)) != DB_OK ||
        (st = db_export_fail_stale(c, now - EXPORT_STALE_S, now, &failed)) != DB_OK ||
        (st = db_export_finished_before(c, now - EXPORT_KEEP_S, CLEANUP_LIMIT, &accs, &ids,
                                        &fmts, &n)) != DB_OK) {
        db_release(s->pool, c);
        log_error("export clean-up: %s", db_strerror(st));
        return -1;
    }
    /* 2. Exports that ended more than EXPORT_KEEP_S ago: the row, and its
     *    file with it (a trigger deletes the blob). */
    for (size_t i = 0; i < n; i++) {
        bool deleted = false;
        if ((st = db_export_remove(c, accs[i], ids[i], &deleted)) != DB_OK) {
            rc = -1;
            break;
        }
        removed += deleted ? 1 : 0;
    }
    db_release(s->pool, c);
    free(accs);
    free(ids);
    free(fmts);
    /* 3. Files without a record. */
    snprintf(exports_dir, sizeof exports_dir, "%s/exports", s->cfg.data_dir);
    if ((d = opendir(exports_dir)) != NULL) {
        while ((de = readdir(d)) != NULL && rc == 0) {
            long long account_id;
            if (parse_ll(de->d_name, &account_id)) {
                rc = sweep_account(s, account_id, &removed);
            }
        }
        closedir(d);
    }
    if (failed > 0) {
        log_info("export: %lld exports of a stopped server marked failed", failed);
    }
    *done = failed + removed;
    if (rc != 0) {
        log_error("export clean-up: the database is unavailable");
    }
    return rc;
}
