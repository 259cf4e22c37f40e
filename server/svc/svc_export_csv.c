/* Exports: the ZIP of CSV files. Times and values as text (ISO 8601 local
 * times, the shortest decimals that read back exactly, special values as
 * words, RFC 4180 fields), one file per device and computed.csv, produced
 * as libzip pulls them, and README.txt (svc_export_internal.h). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zip.h>

#include "alarm_msg.h"
#include "auth.h"
#include "sbuf.h"
#include "svc_export_internal.h"

/* CSV text produced per refill of a ZIP entry's buffer (then handed to
 * libzip, which deflates it). */
#define CSV_REFILL 65536
/* Deflate level of the CSV entries. At the default (6) most of a CSV
 * export's time goes into zlib. One day at 1 s of 8 / 32 channels measured
 * (docs/export.md): level 6 1.7 s, 0.9 MB / 3.8 s, 1.1 MB; level 3 0.55 s,
 * 1.3 MB / 2.2 s, 4.6 MB; level 1 0.57 s, 1.6 MB / 1.4 s, 8.2 MB. */
#define ZIP_LEVEL 3

/* ---------------------------------------------------------- values as text */

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
        if (export_read_chunk(x, cs->f->ids, cs->f->n, cs->chunk, true, &cs->r) != 0) {
            return -1;
        }
        cs->chunk++;
        cs->row = 0;
        if (!export_run_step(x)) {
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
        export_run_fail(x, "out of memory");
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
        export_rowset_free(&cs->r);
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
        export_rowset_free(&cs->r);
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
        export_rowset_free(&cs->r);
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

/* "s" with its "\n" written as CRLF. */
static void sb_crlf(sbuf *b, const char *s)
{
    for (const char *p = s; *p != '\0';) {
        const char *nl = strchr(p, '\n');
        if (nl == NULL) {
            sb_put(b, p);
            break;
        }
        sb_add(b, p, (size_t)(nl - p));
        sb_put(b, "\r\n");
        p = nl + 1;
    }
}

/* Instant "t_us" at UTC offset "off" (seconds) as every server text writes
 * a time in "lang" (alarm_msg_time(): "Dec 7, 2026, 3:22:53 AM",
 * "2026/12/07 3:22:53"); years 1 to 9999. */
static void person_time(int64_t t_us, int32_t off, const char *lang, char *out, size_t cap)
{
    const int64_t min_s = -62135596800LL, max_s = 253402300799LL;
    int64_t s = floor_div(t_us, MT_US_PER_S);
    int64_t day, sod;
    int y, m, d;
    char raw[64];
    s = (s < min_s ? min_s : s > max_s ? max_s : s) + off;
    day = floor_div(s, 86400);
    sod = s - day * 86400;
    mt_cal_to_civil((mt_day)day, &y, &m, &d);
    snprintf(raw, sizeof raw, "%04d-%02d-%02d %02d:%02d:%02d", y, m, d, (int)(sod / 3600),
             (int)(sod / 60 % 60), (int)(sod % 60));
    alarm_msg_time(raw, lang, out, cap);
}

/* The zone of the Time column in words: its UTC offset, both with "summer
 * time" when it has two that take turns, all of them when it changes
 * otherwise; never its IANA id. */
static void zone_words(const export_words *w, const tz_facts *z, char *out, size_t cap)
{
    char a[24], b[24], all[EXPORT_TZ_OFFSETS * 28] = "";
    alarm_msg_utc_offset(z->off[0], a, sizeof a);
    if (z->n <= 1) {
        snprintf(out, cap, "%s", a);
        return;
    }
    if (z->summer) {
        alarm_msg_utc_offset(z->off[1], b, sizeof b);
        snprintf(out, cap, w->zone_summer, a, b);
        return;
    }
    for (size_t i = 0; i < z->n; i++) {
        alarm_msg_utc_offset(z->off[i], a, sizeof a);
        snprintf(all + strlen(all), sizeof all - strlen(all), "%s%s", i > 0 ? " / " : "", a);
    }
    snprintf(out, cap, w->zone_changes, all);
}

/* README.txt: what the files and columns are, in the language of the
 * person who asked for the export (x->lang). */
static char *readme(const run_ctx *x, const csv_file *files, size_t n_files, size_t *len)
{
    const export_words *w = export_words_of(x->lang);
    sbuf b = {0};
    char from[96], to[96], now[96], off_from[24], off_to[24], off_now[24], zone[200];
    person_time(x->j->t0, x->zone.at_t0, x->lang, from, sizeof from);
    person_time(x->j->t1, x->zone.at_t1, x->lang, to, sizeof to);
    person_time(auth_now() * MT_US_PER_S, x->zone.at_now, x->lang, now, sizeof now);
    alarm_msg_utc_offset(x->zone.at_t0, off_from, sizeof off_from);
    alarm_msg_utc_offset(x->zone.at_t1, off_to, sizeof off_to);
    alarm_msg_utc_offset(x->zone.at_now, off_now, sizeof off_now);
    zone_words(w, &x->zone, zone, sizeof zone);
    sb_printf(&b, w->title, x->j->id);
    sb_put(&b, "\r\n\r\n");
    if (strcmp(off_from, off_to) == 0) {
        sb_printf(&b, w->period_one, from, to, off_from);
    } else {
        sb_printf(&b, w->period_two, from, off_from, to, off_to);
    }
    sb_put(&b, "\r\n");
    sb_printf(&b, w->zone, zone);
    sb_put(&b, "\r\n");
    sb_printf(&b, w->created, now, off_now);
    sb_put(&b, "\r\n\r\n");
    sb_crlf(&b, w->layout);
    sb_put(&b, "\r\n");
    sb_put(&b, w->files);
    sb_put(&b, "\r\n");
    for (size_t f = 0; f < n_files; f++) {
        const db_export_channel *first = &x->chs[files[f].idx[0]];
        sb_printf(&b, "\r\n%s\r\n  ", files[f].name);
        if (files[f].computed) {
            sb_put(&b, w->computed);
        } else {
            sb_printf(&b, w->device, first->model, first->serial);
            if (first->device_name[0] != '\0') {
                sb_printf(&b, w->device_name, first->device_name);
            }
            sb_printf(&b, w->device_app, first->app_name);
        }
        sb_put(&b, "\r\n  ");
        sb_put(&b, w->col_time);
        sb_put(&b, "\r\n");
        for (size_t i = 0; i < files[f].n; i++) {
            const db_export_channel *ch = &x->chs[files[f].idx[i]];
            sb_put(&b, "  ");
            sb_printf(&b, w->col, i + 2, ch->name);
            if (ch->unit[0] != '\0') {
                sb_printf(&b, w->unit, ch->unit);
            } else {
                sb_put(&b, w->no_unit);
            }
            if (ch->computed) {
                sb_printf(&b, w->group, ch->group_name);
                sb_printf(&b, w->expression, ch->expression);
            } else {
                sb_printf(&b, w->key, ch->key);
            }
            sb_printf(&b, w->id, (long long)ch->id);
            sb_put(&b, "\r\n");
        }
    }
    if (b.failed) {
        free(b.p);
        return NULL;
    }
    *len = b.len;
    return b.p;
}

int export_write_zip(run_ctx *x, const char *tmp)
{
    csv_file files[EXPORT_MAX_CHANNELS];
    size_t n_files = plan_files(x, files), text_len = 0;
    char *text = readme(x, files, n_files, &text_len);
    zip_t *za = NULL;
    zip_source_t *src;
    int zerr = 0;
    if (text == NULL) {
        export_run_fail(x, "out of memory");
        return -1;
    }
    x->units_total = n_files * (size_t)x->n_chunks;
    (void)unlink(tmp);
    if ((za = zip_open(tmp, ZIP_CREATE | ZIP_TRUNCATE, &zerr)) == NULL) {
        zip_error_t ze;
        zip_error_init_with_code(&ze, zerr);
        export_run_fail(x, "cannot write the file: %s", zip_error_strerror(&ze));
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
        export_run_fail(x, "ZIP: %s", zip_strerror(za));
    }
    zip_discard(za);
    return -1;
}
