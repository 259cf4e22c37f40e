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
