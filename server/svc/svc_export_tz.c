/* Exports: time zones. The zone a request names (a fixed offset or an IANA
 * name) and its UTC offsets at the times a CSV file writes
 * (svc_export_internal.h). */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "db_export.h"
#include "svc_export_internal.h"

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

bool export_tz_name_chars(const char *s)
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

void export_tz_from_text(const char *s, tz_spec *tz)
{
    memset(tz, 0, sizeof *tz);
    snprintf(tz->name, sizeof tz->name, "%s", s);
    tz->fixed = tz_fixed(s, &tz->offset_s);
}

db_status export_tz_offsets(db_conn *c, const tz_spec *tz, int64_t day, const int64_t *t,
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

/* Instants PostgreSQL turns into timestamps: years 1 to 9999. */
#define TZ_MIN_S (-62135596800LL)
#define TZ_MAX_S 253402300799LL
/* The most offsets asked for the facts (a day apart, farther over long
 * ranges). */
#define TZ_FACT_SAMPLES 20000

static int64_t clamp_s(int64_t us)
{
    int64_t s = floor_div(us, MT_US_PER_S);
    return s < TZ_MIN_S ? TZ_MIN_S : s > TZ_MAX_S ? TZ_MAX_S : s;
}

/* An offset in whole minutes (as a person reads it; zones' are, since
 * 1972). */
static int32_t whole_minutes(int32_t off)
{
    int32_t a = off < 0 ? -off : off;
    a = (a + 30) / 60 * 60;
    return off < 0 ? -a : a;
}

db_status export_tz_facts(db_conn *c, const tz_spec *tz, int64_t a_us, int64_t b_us,
                          int64_t t0_us, int64_t t1_us, int64_t now_s, tz_facts *out)
{
    const int64_t day = 86400, year = 366 * day;
    int64_t a = clamp_s(a_us), b = clamp_s(b_us > a_us ? b_us - 1 : a_us);
    int64_t lo = a - year < TZ_MIN_S ? TZ_MIN_S : a - year;
    int64_t hi = b + year > TZ_MAX_S ? TZ_MAX_S : b + year;
    int64_t step = (hi - lo) / TZ_FACT_SAMPLES + 1, *secs;
    int32_t *off, lo_off, hi_off;
    size_t n = 3, cap;
    size_t changes = 0, run = 0, run_lo = 0, run_hi = 0;
    db_status st;
    memset(out, 0, sizeof *out);
    if (tz->fixed) {
        out->off[0] = out->at_t0 = out->at_t1 = out->at_now = tz->offset_s;
        out->n = 1;
        return DB_OK;
    }
    step = step < day ? day : step;
    cap = (size_t)((hi - lo) / step) + 8;
    if ((secs = malloc(cap * sizeof *secs)) == NULL ||
        (off = malloc(cap * sizeof *off)) == NULL) {
        free(secs);
        return DB_ERROR;
    }
    secs[0] = clamp_s(t0_us);
    secs[1] = clamp_s(t1_us);
    secs[2] = now_s;
    /* The year before the stretch, the stretch from a to b (both ends
     * included), the year after: in time order. */
    for (int64_t x = lo; x < a && n < cap; x += step) {
        secs[n++] = x;
    }
    for (int64_t x = a; x < b && n < cap; x += step) {
        secs[n++] = x;
    }
    for (int64_t x = b; x <= hi && n < cap; x += step) {
        secs[n++] = x;
    }
    if ((st = db_export_tz_offsets(c, tz->name, secs, n, off)) != DB_OK) {
        free(secs);
        free(off);
        return st;
    }
    out->at_t0 = off[0];
    out->at_t1 = off[1];
    out->at_now = off[2];
    for (size_t i = 3; i < n; i++) {
        off[i] = whole_minutes(off[i]);
        if (secs[i] < a || secs[i] > b) {
            continue;
        }
        bool seen = false;
        for (size_t k = 0; k < out->n && !seen; k++) {
            seen = out->off[k] == off[i];
        }
        if (!seen && out->n < EXPORT_TZ_OFFSETS) {
            out->off[out->n++] = off[i];
        }
    }
    if (out->n != 2) {
        free(secs);
        free(off);
        return DB_OK;
    }
    /* Two offsets: do they take turns with the seasons? */
    lo_off = out->off[0] < out->off[1] ? out->off[0] : out->off[1];
    hi_off = out->off[0] < out->off[1] ? out->off[1] : out->off[0];
    for (size_t i = 3; i < n; i++) {
        if (i > 3 && off[i] != off[i - 1]) {
            changes += (off[i] == lo_off || off[i] == hi_off) &&
                       (off[i - 1] == lo_off || off[i - 1] == hi_off);
            run = 0;
        }
        run++;
        if (off[i] == lo_off && run > run_lo) {
            run_lo = run;
        } else if (off[i] == hi_off && run > run_hi) {
            run_hi = run;
        }
    }
    if (changes >= 2 && (int64_t)run_lo * step >= 60 * day &&
        (int64_t)run_hi * step >= 60 * day) {
        out->summer = true;
        out->off[0] = lo_off;
        out->off[1] = hi_off;
    }
    free(secs);
    free(off);
    return DB_OK;
}
