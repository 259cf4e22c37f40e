/* Ingestion batches: parsing and checks (see ingest_parse.h). */
#include "ingest_parse.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_guard.h"
#include "sbuf.h"
#include "mt/hok.h"
#include "mt/types.h"

static int fail(svc_error *e, svc_status st, const char *code, const char *field,
                const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Fill "e" (the item at fault copied into field_buf) and return -1. */
static int fail(svc_error *e, svc_status st, const char *code, const char *field,
                const char *fmt, ...)
{
    va_list ap;
    svc_fail(e, st, code, NULL, NULL);
    if (field != NULL) {
        snprintf(e->field_buf, sizeof e->field_buf, "%s", field);
        e->field = e->field_buf;
    }
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    return -1;
}

bool ingest_batch_id_valid(const char *id)
{
    size_t n = 0;
    for (const char *p = id; *p != '\0'; p++, n++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '-')) {
            return false;
        }
    }
    return n >= 1 && n <= INGEST_BATCH_ID_MAX;
}

void ingest_batch_free(ingest_batch *b)
{
    if (!b->rec_lent) {
        free(b->rec);
    }
    b->rec = NULL;
    b->n = b->cap = 0;
    b->rec_lent = false;
}

void ingest_batch_lend(ingest_batch *b, ingest_rec *buf, size_t cap)
{
    memset(b, 0, sizeof *b);
    b->rec = buf;
    b->cap = cap;
    b->rec_lent = true;
}

/* Room for more records in "b" (b->n == b->cap, below INGEST_MAX_SAMPLES):
 * false when out of memory. A lent buffer is copied, not reallocated. */
static bool grow(ingest_batch *b)
{
    size_t cap = b->cap ? b->cap * 2 : 256;
    ingest_rec *grown;
    if (cap > INGEST_MAX_SAMPLES) {
        cap = INGEST_MAX_SAMPLES;
    }
    if (b->rec_lent) {
        if ((grown = malloc(cap * sizeof *grown)) == NULL) {
            return false;
        }
        memcpy(grown, b->rec, b->n * sizeof *grown);
        b->rec_lent = false;
    } else if ((grown = realloc(b->rec, cap * sizeof *grown)) == NULL) {
        return false;
    }
    b->rec = grown;
    b->cap = cap;
    return true;
}

static int push(ingest_batch *b, int64_t ch, int64_t t, double v, svc_error *e)
{
    if (b->n >= INGEST_MAX_SAMPLES) {
        return fail(e, SVC_TOO_LARGE, "batch_too_large", NULL,
                    "a batch holds at most %d samples: split it", INGEST_MAX_SAMPLES);
    }
    if (b->n == b->cap && !grow(b)) {
        return fail(e, SVC_NOMEM, "out_of_memory", NULL, "the server is out of memory: retry");
    }
    b->rec[b->n].ch = ch;
    b->rec[b->n].t = t;
    b->rec[b->n].v = v;
    b->n++;
    return 0;
}

static const ingest_channel *find_channel(const ingest_known *k, int64_t id)
{
    size_t lo = 0, hi = k->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (k->ch[mid].id < id) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < k->n && k->ch[lo].id == id ? &k->ch[lo] : NULL;
}

/* Check that channel "id" may be sent ("field" names it for errors). */
static int check_channel(const ingest_known *k, int64_t id, const char *field, svc_error *e)
{
    const ingest_channel *c = find_channel(k, id);
    if (c == NULL) {
        return fail(e, SVC_UNPROCESSABLE, "unknown_channel", field,
                    "%s: channel %lld is not a measured channel of this app's devices", field,
                    (long long)id);
    }
    if (!c->selected) {
        return fail(e, SVC_UNPROCESSABLE, "channel_not_selected", field,
                    "%s: channel %lld is not selected for acquisition (M4)", field,
                    (long long)id);
    }
    if (c->refusal != NULL) {
        return fail(e, SVC_UNPROCESSABLE, "firmware_too_old", field, "%s: channel %lld: %s",
                    field, (long long)id, c->refusal);
    }
    return 0;
}

/* check_time()'s test alone: the field's name is written only for an
 * error (two snprintf()s per sample were a large share of a batch's CPU). */
static bool time_ok(int64_t t, int64_t now_us)
{
    return t >= INGEST_T_MIN && t <= now_us + INGEST_FUTURE_US;
}

static int check_time(int64_t t, int64_t now_us, const char *field, svc_error *e)
{
    if (t < INGEST_T_MIN) {
        return fail(e, SVC_UNPROCESSABLE, "time_out_of_range", field,
                    "%s: %lld µs is before 2000-01-01 (times are µs since 1970-01-01 UTC)",
                    field, (long long)t);
    }
    if (t > now_us + INGEST_FUTURE_US) {
        return fail(e, SVC_UNPROCESSABLE, "time_in_future", field,
                    "%s: %lld µs is more than 5 minutes ahead of the server clock", field,
                    (long long)t);
    }
    return 0;
}

/* A JSON integer id/time: a number with no fraction within ±2^53. */
static bool json_int(const cJSON *item, int64_t *out)
{
    double d;
    if (!cJSON_IsNumber(item)) {
        return false;
    }
    d = item->valuedouble;
    if (!(d >= -9007199254740992.0 && d <= 9007199254740992.0) || d != floor(d)) {
        return false;
    }
    *out = (int64_t)d;
    return true;
}

/* json_value() without its error: a finite number (the everyday case).
 * false: call json_value() for the special-value names and the error. */
static bool json_number_ok(const cJSON *item, double *out)
{
    if (cJSON_IsNumber(item) && isfinite(item->valuedouble)) {
        *out = item->valuedouble;
        return true;
    }
    return false;
}

/* A JSON value: a finite number or a special-value name. */
static int json_value(const cJSON *item, const char *field, double *out, svc_error *e)
{
    if (cJSON_IsNumber(item)) {
        /* cJSON turns 1e999 into inf: refuse it like any non-finite number. */
        if (!isfinite(item->valuedouble)) {
            return fail(e, SVC_INVALID, "wrong_type", field,
                        "%s: numbers must be finite; send \"+over\" or \"-over\"", field);
        }
        *out = item->valuedouble;
        return 0;
    }
    if (cJSON_IsString(item)) {
        for (int k = 1; k < MT_SV_COUNT; k++) {
            if (strcmp(item->valuestring, mt_sv_name((mt_sv)k)) == 0) {
                *out = mt_sv_value((mt_sv)k);
                return 0;
            }
        }
        return fail(e, SVC_INVALID, "wrong_type", field,
                    "%s: \"%.20s\" is not a special value (missing, +over, -over, break, error)",
                    field, item->valuestring);
    }
    return fail(e, SVC_INVALID, "wrong_type", field,
                "%s: expected a number or a special-value name", field);
}

static int cmp_rec(const void *a, const void *b)
{
    const ingest_rec *x = a, *y = b;
    if (x->ch != y->ch) {
        return x->ch < y->ch ? -1 : 1;
    }
    return (x->t > y->t) - (x->t < y->t);
}

/* Sort, refuse a channel with two samples at one time, count channels.
 * Bodies come mostly in order already (a snapshot's ids ascending, a run's
 * times increasing): one pass finds out, and only others are sorted (a sort
 * of 10,080 records in order cost about half of a back-fill batch's
 * reading). Equal records are refused below, so the order among them does
 * not matter. */
static int finish(ingest_batch *b, svc_error *e)
{
    size_t i, n_channels = 1;
    int64_t t_min, t_max;
    if (b->n == 0) {
        return fail(e, SVC_INVALID, "empty_batch", NULL, "the batch holds no samples");
    }
    /* The everyday body, strictly in order, is counted in the same pass that
     * finds out (issue 16); any other goes through the sort and the checks
     * below from the start. */
    t_min = t_max = b->rec[0].t;
    for (i = 1; i < b->n; i++) {
        const ingest_rec *p = &b->rec[i - 1], *r = &b->rec[i];
        if (r->ch < p->ch || (r->ch == p->ch && r->t <= p->t)) {
            break;
        }
        n_channels += r->ch != p->ch;
        t_min = r->t < t_min ? r->t : t_min;
        t_max = r->t > t_max ? r->t : t_max;
    }
    if (i == b->n) {
        b->n_channels = n_channels;
        b->t_min = t_min;
        b->t_max = t_max;
        return 0;
    }
    for (i = 1; i < b->n && cmp_rec(&b->rec[i - 1], &b->rec[i]) <= 0; i++) {
    }
    if (i < b->n) {
        qsort(b->rec, b->n, sizeof *b->rec, cmp_rec);
    }
    b->n_channels = 1;
    b->t_min = b->t_max = b->rec[0].t;
    for (i = 1; i < b->n; i++) {
        const ingest_rec *p = &b->rec[i - 1], *r = &b->rec[i];
        if (r->ch == p->ch && r->t == p->t) {
            return fail(e, SVC_UNPROCESSABLE, "duplicate_sample", NULL,
                        "channel %lld has two samples at t = %lld µs", (long long)r->ch,
                        (long long)r->t);
        }
        b->n_channels += r->ch != p->ch;
        if (r->t < b->t_min) {
            b->t_min = r->t;
        }
        if (r->t > b->t_max) {
            b->t_max = r->t;
        }
    }
    return 0;
}

/* Checks shared by "channels" and "snapshots" entries: the run count, an
 * object, and only the members "a", "b", "c". 0, or -1 with "e". */
static int check_entry(const cJSON *item, const char *list, int i, const char *a, const char *b,
                       const char *c, size_t *n_runs, svc_error *e)
{
    char field[96];
    const cJSON *m;
    if (++*n_runs > INGEST_MAX_RUNS) {
        return fail(e, SVC_TOO_LARGE, "batch_too_large", list,
                    "a batch holds at most %d channel runs and snapshots", INGEST_MAX_RUNS);
    }
    if (!cJSON_IsObject(item)) {
        snprintf(field, sizeof field, "%s[%d]", list, i);
        return fail(e, SVC_INVALID, "wrong_type", field, "%s: expected an object", field);
    }
    cJSON_ArrayForEach(m, item) {
        if (strcmp(m->string, a) && strcmp(m->string, b) && strcmp(m->string, c)) {
            snprintf(field, sizeof field, "%s[%d].%.40s", list, i, m->string);
            return fail(e, SVC_INVALID, "unknown_member", field, "%s: unknown member (expected %s, %s, %s)",
                        field, a, b, c);
        }
    }
    return 0;
}

static int parse_runs(const cJSON *runs, const ingest_known *known, int64_t now_us,
                      ingest_batch *b, size_t *n_runs, svc_error *e)
{
    char field[96];
    int i = 0;
    const cJSON *run;
    if (!cJSON_IsArray(runs)) {
        return fail(e, SVC_INVALID, "wrong_type", "channels", "channels: expected an array");
    }
    cJSON_ArrayForEach(run, runs) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(run, "id");
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(run, "t");
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(run, "v");
        const cJSON *ti, *vi;
        int64_t ch, prev = 0;
        int j = 0;
        if (check_entry(run, "channels", i, "id", "t", "v", n_runs, e) != 0) {
            return -1;
        }
        snprintf(field, sizeof field, "channels[%d].id", i);
        if (!json_int(id, &ch) || ch <= 0) {
            return fail(e, SVC_INVALID, id == NULL ? "missing" : "wrong_type", field,
                        "%s: expected a channel id (a positive integer)", field);
        }
        if (check_channel(known, ch, field, e) != 0) {
            return -1;
        }
        snprintf(field, sizeof field, "channels[%d].t", i);
        if (!cJSON_IsArray(t)) {
            return fail(e, SVC_INVALID, t == NULL ? "missing" : "wrong_type", field,
                        "%s: expected an array of times (µs since 1970-01-01 UTC)", field);
        }
        snprintf(field, sizeof field, "channels[%d].v", i);
        if (!cJSON_IsArray(v)) {
            return fail(e, SVC_INVALID, v == NULL ? "missing" : "wrong_type", field,
                        "%s: expected an array of values", field);
        }
        if (cJSON_GetArraySize(t) != cJSON_GetArraySize(v)) {
            return fail(e, SVC_INVALID, "length_mismatch", field,
                        "channels[%d]: t has %d entries and v %d", i, cJSON_GetArraySize(t),
                        cJSON_GetArraySize(v));
        }
        vi = v->child;
        cJSON_ArrayForEach(ti, t) {
            int64_t tt = 0;
            double vv;
            bool t_ok = json_int(ti, &tt);
            if (!t_ok || !time_ok(tt, now_us) || (j > 0 && tt <= prev)) {
                snprintf(field, sizeof field, "channels[%d].t[%d]", i, j);
                if (!t_ok) {
                    return fail(e, SVC_INVALID, "wrong_type", field,
                                "%s: expected an integer time in µs since 1970-01-01 UTC", field);
                }
                if (check_time(tt, now_us, field, e) != 0) {
                    return -1;
                }
                return fail(e, SVC_UNPROCESSABLE, "out_of_order", field,
                            "%s: times of a channel must increase strictly", field);
            }
            prev = tt;
            if (!json_number_ok(vi, &vv)) {
                snprintf(field, sizeof field, "channels[%d].v[%d]", i, j);
                if (json_value(vi, field, &vv, e) != 0) {
                    return -1;
                }
            }
            if (push(b, ch, tt, vv, e) != 0) {
                return -1;
            }
            vi = vi->next;
            j++;
        }
        i++;
    }
    return 0;
}

static int parse_snapshots(const cJSON *snaps, const ingest_known *known, int64_t now_us,
                           ingest_batch *b, size_t *n_runs, svc_error *e)
{
    char field[96];
    int i = 0;
    const cJSON *snap;
    if (!cJSON_IsArray(snaps)) {
        return fail(e, SVC_INVALID, "wrong_type", "snapshots", "snapshots: expected an array");
    }
    cJSON_ArrayForEach(snap, snaps) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(snap, "t");
        const cJSON *ids = cJSON_GetObjectItemCaseSensitive(snap, "ids");
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(snap, "v");
        const cJSON *idi, *vi;
        int64_t tt;
        int j = 0;
        if (check_entry(snap, "snapshots", i, "t", "ids", "v", n_runs, e) != 0) {
            return -1;
        }
        snprintf(field, sizeof field, "snapshots[%d].t", i);
        if (!json_int(t, &tt)) {
            return fail(e, SVC_INVALID, t == NULL ? "missing" : "wrong_type", field,
                        "%s: expected an integer time in µs since 1970-01-01 UTC", field);
        }
        if (check_time(tt, now_us, field, e) != 0) {
            return -1;
        }
        snprintf(field, sizeof field, "snapshots[%d].ids", i);
        if (!cJSON_IsArray(ids)) {
            return fail(e, SVC_INVALID, ids == NULL ? "missing" : "wrong_type", field,
                        "%s: expected an array of channel ids", field);
        }
        snprintf(field, sizeof field, "snapshots[%d].v", i);
        if (!cJSON_IsArray(v)) {
            return fail(e, SVC_INVALID, v == NULL ? "missing" : "wrong_type", field,
                        "%s: expected an array of values", field);
        }
        if (cJSON_GetArraySize(ids) != cJSON_GetArraySize(v)) {
            return fail(e, SVC_INVALID, "length_mismatch", field, "snapshots[%d]: ids has %d entries and v %d",
                        i, cJSON_GetArraySize(ids), cJSON_GetArraySize(v));
        }
        vi = v->child;
        cJSON_ArrayForEach(idi, ids) {
            int64_t ch = 0;
            double vv;
            bool id_ok = json_int(idi, &ch) && ch > 0;
            const ingest_channel *kc = id_ok ? find_channel(known, ch) : NULL;
            if (kc == NULL || !kc->selected || kc->refusal != NULL) {
                snprintf(field, sizeof field, "snapshots[%d].ids[%d]", i, j);
                if (!id_ok) {
                    return fail(e, SVC_INVALID, "wrong_type", field,
                                "%s: expected a channel id (a positive integer)", field);
                }
                if (check_channel(known, ch, field, e) != 0) {
                    return -1;
                }
            }
            if (!json_number_ok(vi, &vv)) {
                snprintf(field, sizeof field, "snapshots[%d].v[%d]", i, j);
                if (json_value(vi, field, &vv, e) != 0) {
                    return -1;
                }
            }
            if (push(b, ch, tt, vv, e) != 0) {
                return -1;
            }
            vi = vi->next;
            j++;
        }
        i++;
    }
    return 0;
}

/* ------------------------------------------------ JSON: the fast path
 *
 * A batch in the shape every client sends (issue 16: a back-fill of 10,080
 * samples of one channel built 20,000 cJSON nodes, a malloc and a strtod()
 * each), read in one pass straight into records. It takes only what it is
 * sure of: strict JSON with strings without escapes, each member at most
 * once, "t" before "v" in a run and "ids" before "v" in a snapshot, times
 * and ids as plain integers of at most 2^53, every check passed. Anything
 * else, errors included, returns FAST_NO and the tree parser below decides,
 * so a refusal is word for word what it always was. Numbers are the
 * doubles strtod() gives (what cJSON stores): Clinger's exact case
 * (at most 2^53 as a decimal integer times or over a power of ten up to
 * 10^22: one correctly rounded operation) and strtod() itself otherwise.
 * tests/fuzz/server/fuzz_ingest.c checks that both paths agree. */

enum { FAST_OK = 0, FAST_NO = 1 };

typedef struct {
    const char *p, *end;
    /* A snapshot's ids were read by f_known_ids(). */
    bool known_ids;
} fcur;

/* JSON's white space is ' ', '\n', '\r', '\t', all below '!': one test
 * for the everyday byte that is none of them. */
static inline void f_ws(fcur *c)
{
    while (c->p < c->end && (unsigned char)*c->p <= ' ' &&
           (*c->p == ' ' || *c->p == '\n' || *c->p == '\r' || *c->p == '\t')) {
        c->p++;
    }
}

static inline bool f_lit(fcur *c, char ch)
{
    f_ws(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return true;
    }
    return false;
}

/* A string of printable ASCII without escapes, shorter than "cap". */
static bool f_str(fcur *c, char *buf, size_t cap)
{
    size_t n = 0;
    f_ws(c);
    if (c->p >= c->end || *c->p != '"') {
        return false;
    }
    c->p++;
    while (c->p < c->end && *c->p != '"') {
        unsigned char ch = (unsigned char)*c->p;
        if (ch == '\\' || ch < 0x20 || ch >= 0x7f || n + 1 >= cap) {
            return false;
        }
        buf[n++] = (char)ch;
        c->p++;
    }
    if (c->p >= c->end) {
        return false;
    }
    c->p++;
    buf[n] = '\0';
    return true;
}

#define F_MAX_M (1ULL << 53)
/* Digits that fit in m whatever they are: 10^15 - 1 < 2^53. */
#define F_SAFE_DIGITS 15

static const double f_p10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                               1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                               1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* strtod() of the "len" (< 63) characters at "s": kept out of f_num(), whose
 * everyday numbers need neither its buffer nor the stack check that the
 * buffer brings. */
static __attribute__((noinline)) double f_strtod(const char *s, size_t len)
{
    char tmp[64];
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    return strtod(tmp, NULL);
}

/* A strict JSON number into *d (as strtod() reads it); *is_int and *iv
 * when it is a plain integer of at most 2^53 (exact as a double). The
 * general reader: f_plain_at() and f_int_at() below read the everyday
 * forms themselves. */
static bool f_num(fcur *c, double *d, bool *is_int, int64_t *iv)
{
    const char *s, *q;
    uint64_t m = 0; /* the digits while exact (at most 2^53) */
    bool neg = false, exact = true, plain = true;
    int frac = 0, ex = 0, ex_sign = 1, nd = 0; /* nd: digits in m */
    f_ws(c);
    s = q = c->p;
    if (q < c->end && *q == '-') {
        neg = true;
        q++;
    }
    if (q >= c->end || *q < '0' || *q > '9') {
        return false;
    }
    if (*q == '0') {
        q++;
        if (q < c->end && *q >= '0' && *q <= '9') {
            return false; /* a leading zero: not JSON */
        }
    } else {
        /* The first F_SAFE_DIGITS digits always fit (m < 10^15 <= 2^53):
         * no check per digit for them (issue 16: most numbers of a batch). */
        while (q < c->end && *q >= '0' && *q <= '9' && nd < F_SAFE_DIGITS) {
            m = m * 10 + (uint64_t)(*q - '0');
            nd++;
            q++;
        }
        while (q < c->end && *q >= '0' && *q <= '9') {
            uint64_t dg = (uint64_t)(*q - '0');
            if (exact && m <= (F_MAX_M - dg) / 10) {
                m = m * 10 + dg;
            } else {
                exact = false;
            }
            q++;
        }
    }
    if (q < c->end && *q == '.') {
        plain = false;
        q++;
        if (q >= c->end || *q < '0' || *q > '9') {
            return false;
        }
        /* As above: fewer than F_SAFE_DIGITS digits so far means exact. */
        while (q < c->end && *q >= '0' && *q <= '9' && nd < F_SAFE_DIGITS) {
            m = m * 10 + (uint64_t)(*q - '0');
            frac++;
            nd++;
            q++;
        }
        while (q < c->end && *q >= '0' && *q <= '9') {
            uint64_t dg = (uint64_t)(*q - '0');
            if (exact && m <= (F_MAX_M - dg) / 10) {
                m = m * 10 + dg;
                frac++;
            } else {
                exact = false;
            }
            q++;
        }
    }
    if (q < c->end && (*q == 'e' || *q == 'E')) {
        plain = false;
        q++;
        if (q < c->end && (*q == '+' || *q == '-')) {
            ex_sign = *q == '-' ? -1 : 1;
            q++;
        }
        if (q >= c->end || *q < '0' || *q > '9') {
            return false;
        }
        while (q < c->end && *q >= '0' && *q <= '9') {
            if (ex < 100000) {
                ex = ex * 10 + (*q - '0');
            }
            q++;
        }
    }
    if (q - s >= 63) {
        return false; /* cJSON reads at most 63 characters of a number */
    }
    c->p = q;
    *is_int = plain && exact;
    *iv = neg ? -(int64_t)m : (int64_t)m;
    ex = ex * ex_sign - frac;
    if (exact && ex >= -22 && ex <= 22) {
        double x = (double)m; /* exact: m < 2^53 */
        x = ex >= 0 ? x * f_p10[ex] : x / f_p10[-ex];
        *d = neg ? -x : x;
    } else {
        *d = f_strtod(s, (size_t)(q - s));
    }
    return true;
}

/* White space at "q" skipped: programs rarely write any, and then this is
 * one test. The hot loops below keep their place in locals ("q", "end")
 * rather than in an fcur: records are written between reads, and through
 * those writes the compiler could not keep a cursor in memory in a
 * register (issue 16: a snapshot's id and value cost ~450 instructions,
 * 150 of them the general f_num() for the value). */
static inline const char *f_skip(const char *q, const char *end)
{
    while (q < end && (unsigned char)*q <= ' ' &&
           (*q == ' ' || *q == '\n' || *q == '\r' || *q == '\t')) {
        q++;
    }
    return q;
}

/* *q past "want", white space before it allowed (looked for only when
 * "want" is not there): false, with *q at what is there instead. */
static inline bool f_past(const char **q, const char *end, char want)
{
    const char *p = *q;
    if (p >= end || *p != want) {
        p = f_skip(p, end);
        if (p >= end || *p != want) {
            *q = p;
            return false;
        }
    }
    *q = p + 1;
    return true;
}

/* The digits at "q" added to *m (wrapping when there are more than 19:
 * the callers refuse those by their count); returns their end. */
static inline const char *f_digits(const char *q, const char *end, uint64_t *m)
{
    uint64_t x = *m;
    unsigned d;
    while (q < end && (d = (unsigned)(unsigned char)*q - '0') <= 9) {
        x = x * 10 + d;
        q++;
    }
    *m = x;
    return q;
}

/* The everyday value at "q": -?digits(.digits)? of at most F_SAFE_DIGITS
 * digits in all, no exponent, into *v. Its digits are exact in m, and m
 * over 10^frac is the one correctly rounded division f_num() makes of it.
 * Returns its end, or NULL for any other form (f_value() reads it then). */
static inline const char *f_plain_at(const char *q, const char *end, double *v)
{
    const char *digits;
    uint64_t m = 0;
    size_t n_int, frac = 0;
    bool neg = false;
    double x;
    if (q < end && *q == '-') {
        neg = true;
        q++;
    }
    digits = q;
    q = f_digits(q, end, &m);
    n_int = (size_t)(q - digits);
    if (n_int == 0 || (n_int > 1 && *digits == '0')) {
        return NULL; /* no digit, or a leading zero ("01") */
    }
    if (q < end && *q == '.') {
        const char *first = ++q;
        q = f_digits(q, end, &m);
        if ((frac = (size_t)(q - first)) == 0) {
            return NULL; /* "1." */
        }
    }
    if (n_int + frac > F_SAFE_DIGITS || (q < end && (*q == 'e' || *q == 'E'))) {
        return NULL;
    }
    x = frac > 0 ? (double)m / f_p10[frac] : (double)m;
    *v = neg ? -x : x;
    return q;
}

/* A sample's value: a finite number or a special-value name. */
static bool f_value(fcur *c, double *v)
{
    const char *q;
    f_ws(c);
    if ((q = f_plain_at(c->p, c->end, v)) != NULL) {
        c->p = q;
        return true;
    }
    if (c->p < c->end && *c->p == '"') {
        char name[16];
        if (!f_str(c, name, sizeof name)) {
            return false;
        }
        for (int k = 1; k < MT_SV_COUNT; k++) {
            if (strcmp(name, mt_sv_name((mt_sv)k)) == 0) {
                *v = mt_sv_value((mt_sv)k);
                return true;
            }
        }
        return false;
    }
    {
        bool is_int;
        int64_t iv;
        return f_num(c, v, &is_int, &iv) && isfinite(*v);
    }
}

/* A time or a channel id at "q": digits without a sign, a fraction or an
 * exponent, of at most 2^53, into *out. Returns its end, or NULL for
 * anything else: a negative or zero id or time is refused by the checks
 * after it, and the tree parser decides on the other forms (1.0, 1e3:
 * f_num() does not take them as integers either). */
static inline const char *f_int_at(const char *q, const char *end, int64_t *out)
{
    const char *digits = q;
    uint64_t m = 0;
    size_t n;
    q = f_digits(q, end, &m);
    n = (size_t)(q - digits);
    /* 2^53 has 16 digits: m is exact below 17 */
    if (n == 0 || n > 16 || (n > 1 && *digits == '0') || m > F_MAX_M) {
        return NULL; /* no digit, too large, or a leading zero ("01") */
    }
    if (q < end && (*q == '.' || *q == 'e' || *q == 'E')) {
        return NULL; /* a fraction, an exponent */
    }
    *out = (int64_t)m;
    return q;
}

static bool f_int(fcur *c, int64_t *out)
{
    const char *q;
    f_ws(c);
    if ((q = f_int_at(c->p, c->end, out)) == NULL) {
        return false;
    }
    c->p = q;
    return true;
}

/* Room for one record more in "b" (b->n == b->cap): false at
 * INGEST_MAX_SAMPLES or out of memory. */
static bool f_grow(ingest_batch *b)
{
    return b->cap < INGEST_MAX_SAMPLES && grow(b);
}

/* Channel "id" may be sent. "*next" is where the channel after the one
 * found before would be: a snapshot's ids usually come in the table's
 * order, and then no search is needed. */
static inline bool f_channel_ok(const ingest_known *k, int64_t id, size_t *next)
{
    const ingest_channel *c;
    if (id <= 0) {
        return false;
    }
    c = *next < k->n && k->ch[*next].id == id ? &k->ch[*next] : find_channel(k, id);
    if (c == NULL) {
        return false;
    }
    *next = (size_t)(c - k->ch) + 1;
    return c->selected && c->refusal == NULL;
}

char *ingest_known_ids_text(const ingest_channel *ch, size_t n, size_t *len, size_t *count)
{
    size_t cap = 0, k = 0, at = 0;
    int64_t prev = 0;
    char *text;
    *len = *count = 0;
    for (size_t i = 0; i < n; i++) {
        cap += 17; /* at most 16 digits (2^53) and a comma */
    }
    if (cap == 0 || (text = malloc(cap)) == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        if (!ch[i].selected || ch[i].refusal != NULL) {
            continue;
        }
        if (ch[i].id <= prev || ch[i].id > (int64_t)F_MAX_M) {
            free(text);
            return NULL;
        }
        if (k > 0) {
            text[at++] = ',';
        }
        at += dec_text(ch[i].id, text + at);
        prev = ch[i].id;
        k++;
    }
    if (k == 0) {
        free(text);
        return NULL;
    }
    text[at] = '\0';
    *len = at;
    *count = k;
    return text;
}

/* A snapshot's ids at "q" that are exactly known->ids_text and then "]"
 * (white space before it allowed): each pushed as a record of its channel
 * (t 0, v 0), as the loop of f_many() would push them, and the "]" read.
 * Those ids are the channels that may be sent, ascending and written as
 * the loop reads them (digits without a leading zero, of at most 2^53),
 * and the "]" after them ends the last one, so the loop would take the
 * same records: an app's gateway sends all its channels in every
 * snapshot, and this is one memcmp() instead of 32 ids read and looked up
 * (issue 16). false, with nothing pushed, for any other body or when no
 * room can be made for the records: the loop reads it. */
static bool f_known_ids(fcur *c, const char *q, const ingest_known *known, ingest_batch *b,
                        size_t *count, size_t *next)
{
    const char *after;
    size_t n = known->ids_n;
    if (known->ids_text == NULL || (size_t)(c->end - q) <= known->ids_len ||
        memcmp(q, known->ids_text, known->ids_len) != 0) {
        return false;
    }
    after = f_skip(q + known->ids_len, c->end);
    if (after >= c->end || *after != ']') {
        return false;
    }
    /* Room for them, as the loop would make it while it pushed (a
     * snapshot of more channels than the lent buffer holds: everyday
     * ingest of 2,000 channels). */
    while (b->cap - b->n < n) {
        if (!f_grow(b)) {
            return false;
        }
    }
    if (n == known->n) {
        /* Every channel may be sent (the usual table). */
        ingest_rec *r = b->rec + b->n;
        for (size_t i = 0; i < n; i++) {
            r[i].ch = known->ch[i].id;
            r[i].t = 0;
            r[i].v = 0;
        }
        *next = n;
    } else {
        for (size_t i = 0, k = 0; i < known->n; i++) {
            const ingest_channel *ch = &known->ch[i];
            if (ch->selected && ch->refusal == NULL) {
                ingest_rec *r = &b->rec[b->n + k++];
                r->ch = ch->id;
                r->t = 0;
                r->v = 0;
                *next = i + 1;
            }
        }
    }
    b->n += n;
    *count = n;
    c->p = after + 1;
    c->known_ids = true;
    return true;
}

/* "[" already read: a run's times (strictly increasing) or a snapshot's
 * channel ids, each pushed as a record (the other field 0, the value 0);
 * their count in *count. */
static bool f_many(fcur *c, const ingest_known *known, int64_t now_us, bool snapshots,
                   ingest_batch *b, size_t *count, size_t *next)
{
    const char *q = f_skip(c->p, c->end), *end = c->end;
    ingest_rec *rec;
    size_t n_rec, cap, n = 0, at;
    int64_t x, prev = 0;
    if (q < end && *q == ']') {
        c->p = q + 1;
        *count = 0;
        return true;
    }
    if (snapshots && f_known_ids(c, q, known, b, count, next)) {
        return true;
    }
    rec = b->rec;
    n_rec = b->n;
    cap = b->cap;
    at = *next;
    for (;;) {
        const char *after = f_int_at(q, end, &x);
        if (after == NULL) {
            /* White space before it (rare), or not an integer. */
            q = f_skip(q, end);
            after = f_int_at(q, end, &x);
        }
        if (after == NULL || !(snapshots ? f_channel_ok(known, x, &at)
                                         : time_ok(x, now_us) && (n == 0 || x > prev))) {
            return false;
        }
        q = after;
        if (n_rec == cap) {
            b->n = n_rec;
            if (!f_grow(b)) {
                return false;
            }
            rec = b->rec;
            cap = b->cap;
        }
        rec[n_rec].ch = snapshots ? x : 0;
        rec[n_rec].t = snapshots ? 0 : x;
        rec[n_rec].v = 0;
        n_rec++;
        n++;
        prev = x;
        if (!f_past(&q, end, ',')) {
            break;
        }
    }
    b->n = n_rec;
    *count = n;
    *next = at;
    if (q >= end || *q != ']') {
        return false;
    }
    c->p = q + 1;
    return true;
}

/* "[" already read: values into the records from "start" on ("n" of them
 * exactly). */
static bool f_values(fcur *c, ingest_batch *b, size_t start, size_t n)
{
    const char *q = f_skip(c->p, c->end), *end = c->end, *at;
    ingest_rec *rec = b->rec; /* NULL while no record was pushed */
    size_t k = 0;
    if (q < end && *q == ']') {
        c->p = q + 1;
        return n == 0;
    }
    for (;;) {
        if (k >= n) {
            return false;
        }
        if ((at = f_plain_at(q, end, &rec[start + k].v)) != NULL) {
            q = at;
        } else {
            /* White space before it, a name, or another form of number. */
            c->p = q;
            if (!f_value(c, &rec[start + k].v)) {
                return false;
            }
            q = c->p;
        }
        k++;
        if (!f_past(&q, end, ',')) {
            break;
        }
    }
    if (k != n || q >= end || *q != ']') {
        return false;
    }
    c->p = q + 1;
    return true;
}

/* strcmp(a, b) == 0 for a run's or a snapshot's member names (one to
 * three characters: a call to strcmp() cost more than the comparison). */
static inline bool same_key(const char *a, const char *b)
{
    while (*a != '\0' && *a == *b) {
        a++;
        b++;
    }
    return *a == *b;
}

/* A "channels" or a "snapshots" array: objects of one member "one" (a run's
 * channel "id", a snapshot's time "t"), one array "many" (a run's times "t",
 * strictly increasing; a snapshot's channel "ids") and then the values "v",
 * one per element. The records are pushed as "many" is read and take the
 * value of "one" at the object's end. */
static int f_groups(fcur *c, const ingest_known *known, int64_t now_us, bool snapshots,
                    ingest_batch *b, size_t *n_runs)
{
    const char *one = snapshots ? "t" : "id", *many = snapshots ? "ids" : "t";
    if (!f_lit(c, '[')) {
        return FAST_NO;
    }
    if (f_lit(c, ']')) {
        return FAST_OK;
    }
    do {
        size_t start = b->n, n = 0, next = 0;
        int64_t value = 0;
        bool has_one = false, has_many = false, has_v = false;
        if (++*n_runs > INGEST_MAX_RUNS || !f_lit(c, '{')) {
            return FAST_NO;
        }
        do {
            char key[8];
            if (!f_str(c, key, sizeof key) || !f_lit(c, ':')) {
                return FAST_NO;
            }
            if (same_key(key, one) && !has_one) {
                has_one = true;
                if (!f_int(c, &value) ||
                    !(snapshots ? time_ok(value, now_us) : f_channel_ok(known, value, &next))) {
                    return FAST_NO;
                }
            } else if (same_key(key, many) && !has_many) {
                has_many = true;
                if (!f_lit(c, '[') || !f_many(c, known, now_us, snapshots, b, &n, &next)) {
                    return FAST_NO;
                }
            } else if (same_key(key, "v") && has_many && !has_v) {
                has_v = true;
                if (!f_lit(c, '[') || !f_values(c, b, start, n)) {
                    return FAST_NO;
                }
            } else {
                return FAST_NO;
            }
        } while (f_lit(c, ','));
        if (!f_lit(c, '}') || !has_one || !has_v) {
            return FAST_NO;
        }
        for (size_t k = start; k < b->n; k++) {
            if (snapshots) {
                b->rec[k].t = value;
            } else {
                b->rec[k].ch = value;
            }
        }
    } while (f_lit(c, ','));
    return f_lit(c, ']') ? FAST_OK : FAST_NO;
}

static int fast_json(const char *text, size_t len, const ingest_known *known, int64_t now_us,
                     ingest_batch *b, svc_error *e)
{
    fcur c = {.p = text, .end = text + len, .known_ids = false};
    bool has_id = false, has_ch = false, has_sn = false;
    size_t n_runs = 0;
    if (!f_lit(&c, '{')) {
        return FAST_NO;
    }
    do {
        char key[12];
        if (!f_str(&c, key, sizeof key) || !f_lit(&c, ':')) {
            return FAST_NO;
        }
        if (strcmp(key, "batch_id") == 0 && !has_id) {
            has_id = true;
            if (!f_str(&c, b->batch_id, sizeof b->batch_id) ||
                !ingest_batch_id_valid(b->batch_id)) {
                return FAST_NO;
            }
        } else if (strcmp(key, "channels") == 0 && !has_ch) {
            has_ch = true;
            if (f_groups(&c, known, now_us, false, b, &n_runs) != FAST_OK) {
                return FAST_NO;
            }
        } else if (strcmp(key, "snapshots") == 0 && !has_sn) {
            has_sn = true;
            if (f_groups(&c, known, now_us, true, b, &n_runs) != FAST_OK) {
                return FAST_NO;
            }
        } else {
            return FAST_NO;
        }
    } while (f_lit(&c, ','));
    if (!f_lit(&c, '}') || !has_id) {
        return FAST_NO;
    }
    f_ws(&c);
    if (c.p != c.end || b->n == 0) {
        return FAST_NO;
    }
    if (n_runs == 1 && c.known_ids) {
        /* One snapshot, of the known ids (the everyday small batch): its
         * records are in order, one per channel at one time, as finish()
         * would find them. */
        b->n_channels = b->n;
        b->t_min = b->t_max = b->rec[0].t;
        return FAST_OK;
    }
    /* Sorted and checked for two samples at one time as below. */
    return finish(b, e) == 0 ? FAST_OK : FAST_NO;
}

static int parse_json(const char *text, size_t len, const ingest_known *known, int64_t now_us,
                      ingest_batch *b, svc_error *e)
{
    const char *end = NULL;
    cJSON *root, *m;
    const cJSON *id;
    size_t n_runs = 0;
    int rc = -1;

    {
        size_t at = 0;
        json_guard_status gs = json_guard(text, len, JSON_MAX_DEPTH, &at);
        if (gs == JSON_GUARD_DEEP) {
            return fail(e, SVC_INVALID, "malformed_json", NULL,
                        "malformed JSON at byte %zu: arrays and objects may nest at most %d "
                        "levels deep",
                        at, JSON_MAX_DEPTH);
        }
        if (gs != JSON_GUARD_OK) {
            return fail(e, SVC_INVALID, "malformed_json", NULL, "malformed JSON at byte %zu: %s", at,
                        json_guard_message(gs));
        }
    }
    root = cJSON_ParseWithLengthOpts(text, len + 1, &end, 1);
    if (root == NULL) {
        size_t at = (end != NULL && end >= text && end <= text + len) ? (size_t)(end - text) : 0;
        return fail(e, SVC_INVALID, "malformed_json", NULL, "malformed JSON at byte %zu", at);
    }
    if (!cJSON_IsObject(root)) {
        fail(e, SVC_INVALID, "wrong_type", NULL, "the body must be a JSON object");
        goto out;
    }
    cJSON_ArrayForEach(m, root) {
        if (strcmp(m->string, "batch_id") && strcmp(m->string, "channels") &&
            strcmp(m->string, "snapshots")) {
            fail(e, SVC_INVALID, "unknown_member", m->string,
                 "%.40s: unknown member (expected batch_id, channels, snapshots)", m->string);
            goto out;
        }
    }
    id = cJSON_GetObjectItemCaseSensitive(root, "batch_id");
    if (!cJSON_IsString(id) || !ingest_batch_id_valid(id->valuestring)) {
        fail(e, SVC_INVALID, id == NULL ? "missing" : "invalid_value", "batch_id",
             "batch_id: expected 1 to 64 characters of A-Z a-z 0-9 . _ : -");
        goto out;
    }
    snprintf(b->batch_id, sizeof b->batch_id, "%s", id->valuestring);
    m = cJSON_GetObjectItemCaseSensitive(root, "channels");
    if (m != NULL && parse_runs(m, known, now_us, b, &n_runs, e) != 0) {
        goto out;
    }
    m = cJSON_GetObjectItemCaseSensitive(root, "snapshots");
    if (m != NULL && parse_snapshots(m, known, now_us, b, &n_runs, e) != 0) {
        goto out;
    }
    rc = finish(b, e);
out:
    cJSON_Delete(root);
    return rc;
}

static int parse_hok(const unsigned char *buf, size_t len, const char *batch_id,
                     const ingest_known *known, int64_t now_us, ingest_batch *b, svc_error *e)
{
    mt_hok *h = NULL;
    mt_error err;
    const mt_hok_channel *ch;
    size_t n_ch;
    uint64_t rows;
    enum { CHUNK = 4096 };
    size_t chunk;
    mt_time *t = NULL;
    double *vals = NULL, **cols = NULL;
    char field[96];
    int rc = -1;

    if (batch_id == NULL || !ingest_batch_id_valid(batch_id)) {
        return fail(e, SVC_INVALID, batch_id == NULL ? "missing" : "invalid_value", "X-Batch-Id",
                    "X-Batch-Id: expected 1 to 64 characters of A-Z a-z 0-9 . _ : -");
    }
    snprintf(b->batch_id, sizeof b->batch_id, "%s", batch_id);
    if (mt_hok_open(buf, len, &h, &err) != MT_OK) {
        return fail(e, SVC_INVALID, "bad_hok", NULL, "not a valid HOK/HOK2 body at byte %zu: %s",
                    err.pos, err.msg);
    }
    n_ch = mt_hok_channel_count(h);
    ch = mt_hok_channels(h);
    rows = mt_hok_row_count(h);
    for (size_t c = 0, next = 0; c < n_ch; c++) {
        /* The field's name is written only for an error. */
        if (!f_channel_ok(known, ch[c].id, &next)) {
            snprintf(field, sizeof field, "channel[%zu].id", c);
            if (check_channel(known, ch[c].id, field, e) != 0) {
                goto out;
            }
        }
    }
    if (rows * (n_ch ? n_ch : 1) > INGEST_MAX_SAMPLES) {
        fail(e, SVC_TOO_LARGE, "batch_too_large", NULL, "a batch holds at most %d samples: split it",
             INGEST_MAX_SAMPLES);
        goto out;
    }
    /* Rows are read "chunk" at a time for every channel: no more rows than
     * the body has (an everyday body of one instant and 2,000 channels
     * needs 2,000 values, not 2,000 columns of 4,096 rows: 64 MB mapped,
     * touched and unmapped for each batch, 4 ms of page faults). */
    chunk = rows < CHUNK ? (size_t)(rows > 0 ? rows : 1) : CHUNK;
    t = malloc(chunk * sizeof *t);
    vals = malloc((n_ch ? n_ch : 1) * chunk * sizeof *vals);
    cols = malloc((n_ch ? n_ch : 1) * sizeof *cols);
    if (t == NULL || vals == NULL || cols == NULL) {
        fail(e, SVC_NOMEM, "out_of_memory", NULL, "the server is out of memory: retry");
        goto out;
    }
    for (size_t c = 0; c < n_ch; c++) {
        cols[c] = vals + c * chunk;
    }
    for (uint64_t r0 = 0; r0 < rows; r0 += chunk) {
        size_t n = rows - r0 < chunk ? (size_t)(rows - r0) : chunk;
        if (mt_hok_read_rows(h, r0, n, t, cols, &err) != MT_OK) {
            fail(e, SVC_INVALID, "bad_hok", NULL, "the HOK body is corrupt at byte %zu: %s", err.pos,
                 err.msg);
            goto out;
        }
        for (size_t i = 0; i < n; i++) {
            if (!time_ok(t[i], now_us)) {
                snprintf(field, sizeof field, "row[%llu].t", (unsigned long long)(r0 + i));
                check_time(t[i], now_us, field, e);
                goto out;
            }
            for (size_t c = 0; c < n_ch; c++) {
                if (mt_sv_kind(cols[c][i]) == MT_SV_MISSING) {
                    continue;
                }
                if (push(b, ch[c].id, t[i], cols[c][i], e) != 0) {
                    goto out;
                }
            }
        }
    }
    rc = finish(b, e);
out:
    free(t);
    free(vals);
    free(cols);
    mt_hok_close(h);
    return rc;
}

svc_status ingest_parse_json(const char *text, size_t len, const ingest_known *known,
                             int64_t now_us, ingest_batch *b, svc_error *e)
{
    if (fast_json(text, len, known, now_us, b, e) == FAST_OK) {
        return SVC_OK;
    }
    /* Not the everyday shape, or refused: the tree parser reads it again
     * from the start and gives its answer. */
    b->n = 0;
    b->n_channels = 0;
    b->t_min = b->t_max = 0;
    memset(b->batch_id, 0, sizeof b->batch_id);
    svc_error_clear(e);
    return parse_json(text, len, known, now_us, b, e) == 0 ? SVC_OK : e->status;
}

svc_status ingest_parse_json_tree(const char *text, size_t len, const ingest_known *known,
                                  int64_t now_us, ingest_batch *b, svc_error *e)
{
    return parse_json(text, len, known, now_us, b, e) == 0 ? SVC_OK : e->status;
}

svc_status ingest_parse_hok(const unsigned char *buf, size_t len, const char *batch_id,
                            const ingest_known *known, int64_t now_us, ingest_batch *b,
                            svc_error *e)
{
    return parse_hok(buf, len, batch_id, known, now_us, b, e) == 0 ? SVC_OK : e->status;
}
