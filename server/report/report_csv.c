/* A report as CSV (report_csv.h). Output goes through a 64 KiB buffer. */
#include "report_csv.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_text.h"

#define BUF_CAP 65536

typedef struct {
    report_write_fn fn;
    void *arg;
    char buf[BUF_CAP];
    size_t len;
    bool failed;
} out;

static void flush(out *o)
{
    if (!o->failed && o->len > 0 && o->fn(o->arg, o->buf, o->len) != 0) {
        o->failed = true;
    }
    o->len = 0;
}

static void put_n(out *o, const char *s, size_t n)
{
    while (n > 0 && !o->failed) {
        size_t k = BUF_CAP - o->len < n ? BUF_CAP - o->len : n;
        memcpy(o->buf + o->len, s, k);
        o->len += k;
        s += k;
        n -= k;
        if (o->len == BUF_CAP) {
            flush(o);
        }
    }
}

static void put(out *o, const char *s)
{
    put_n(o, s, strlen(s));
}

/* A text field, RFC 4180: quoted when it holds a comma, quote, CR or LF
 * or starts or ends with a space; a leading =, +, -, @ or tab gets an
 * apostrophe (a spreadsheet would run it as a formula). */
static void field(out *o, const char *s)
{
    size_t n = strlen(s);
    bool formula = n > 0 && strchr("=+-@\t", s[0]) != NULL;
    bool quote = strpbrk(s, ",\"\r\n") != NULL || (n > 0 && (s[0] == ' ' || s[n - 1] == ' '));
    if (quote) {
        put(o, "\"");
    }
    if (formula) {
        put(o, "'");
    }
    for (const char *p = s; *p; p++) {
        put_n(o, p, 1);
        if (*p == '"') {
            put_n(o, p, 1);
        }
    }
    if (quote) {
        put(o, "\"");
    }
}

static void value(out *o, double v)
{
    char text[32];
    switch (mt_sv_kind(v)) {
    case MT_SV_NONE: put_n(o, text, report_num_exact(v, text)); break;
    case MT_SV_MISSING: break;
    case MT_SV_OVER_POS: put(o, "+OVER"); break;
    case MT_SV_OVER_NEG: put(o, "-OVER"); break;
    case MT_SV_BREAK: put(o, "BREAK"); break;
    default: put(o, "ERROR"); break;
    }
}

/* ISO 8601 local time with the offset: 2024-05-01T09:00:00+09:00, with
 * .mmm or .uuuuuu when the time has fractions of a second. */
static void iso_time(out *o, const report_doc *d, int64_t t)
{
    report_civil c;
    int32_t off = report_tz_offset(d->tz, t);
    int64_t frac = ((t % 1000000) + 1000000) % 1000000;
    int32_t a = off < 0 ? -off : off;
    char text[96];
    int n;
    report_tz_civil(d->tz, t, &c);
    n = snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d", c.year, c.month, c.day,
                 c.hour, c.minute, c.second);
    if (frac != 0 && frac % 1000 == 0) {
        n += snprintf(text + n, sizeof text - (size_t)n, ".%03d", (int)(frac / 1000));
    } else if (frac != 0) {
        n += snprintf(text + n, sizeof text - (size_t)n, ".%06d", (int)frac);
    }
    if (a % 60 != 0) {
        snprintf(text + n, sizeof text - (size_t)n, "%c%02d:%02d:%02d", off < 0 ? '-' : '+',
                 a / 3600, a / 60 % 60, a % 60);
    } else {
        snprintf(text + n, sizeof text - (size_t)n, "%c%02d:%02d", off < 0 ? '-' : '+', a / 3600,
                 a / 60 % 60);
    }
    put(o, text);
}

static void column_title(out *o, const report_channel *c)
{
    char title[300];
    if (c->unit[0] != '\0') {
        snprintf(title, sizeof title, "%s [%s]", c->name, c->unit);
    } else {
        snprintf(title, sizeof title, "%s", c->name);
    }
    field(o, title);
}

static int finish(out *o)
{
    flush(o);
    return o->failed ? -1 : 0;
}

int report_csv_summary(const report_doc *d, report_write_fn fn, void *arg)
{
    static const report_text_id cols[] = {RT_CHANNEL, RT_UNIT, RT_MIN, RT_TMIN, RT_MAX,
                                          RT_TMAX, RT_MEAN, RT_COUNT, RT_SPECIAL};
    out *o = malloc(sizeof *o);
    int rc;
    if (o == NULL) {
        return -1;
    }
    o->fn = fn;
    o->arg = arg;
    o->len = 0;
    o->failed = false;
    put(o, "\xEF\xBB\xBF");
    for (size_t k = 0; k < sizeof cols / sizeof cols[0]; k++) {
        if (k > 0) {
            put(o, ",");
        }
        field(o, report_text(d->language, cols[k]));
    }
    for (int kind = 1; kind < 6; kind++) {
        put(o, ",");
        field(o, report_text_special(d->language, kind));
    }
    put(o, "\r\n");
    for (size_t i = 0; i < d->n_ch; i++) {
        const mt_stats *st = &d->ch[i].stats;
        char num[32];
        field(o, d->ch[i].name);
        put(o, ",");
        field(o, d->ch[i].unit);
        put(o, ",");
        if (st->n > 0) {
            value(o, st->min);
            put(o, ",");
            iso_time(o, d, st->t_min);
            put(o, ",");
            value(o, st->max);
            put(o, ",");
            iso_time(o, d, st->t_max);
            put(o, ",");
            value(o, mt_stats_mean(st));
        } else {
            put(o, ",,,,");
        }
        snprintf(num, sizeof num, ",%llu,%llu", (unsigned long long)st->n,
                 (unsigned long long)mt_stats_special_total(st));
        put(o, num);
        for (int kind = 1; kind < 6; kind++) {
            snprintf(num, sizeof num, ",%llu", (unsigned long long)st->n_special[kind]);
            put(o, num);
        }
        put(o, "\r\n");
    }
    rc = finish(o);
    free(o);
    return rc;
}

int report_csv_samples_head(const report_doc *d, report_write_fn fn, void *arg)
{
    out *o = malloc(sizeof *o);
    int rc;
    if (o == NULL) {
        return -1;
    }
    o->fn = fn;
    o->arg = arg;
    o->len = 0;
    o->failed = false;
    put(o, "\xEF\xBB\xBF");
    field(o, report_text(d->language, RT_TIME));
    for (size_t k = 0; k < d->n_ch; k++) {
        put(o, ",");
        column_title(o, &d->ch[k]);
    }
    put(o, "\r\n");
    rc = finish(o);
    free(o);
    return rc;
}

int report_csv_samples_rows(const report_doc *d, const report_rows *rows, report_write_fn fn,
                            void *arg)
{
    out *o = malloc(sizeof *o);
    int rc;
    if (o == NULL) {
        return -1;
    }
    o->fn = fn;
    o->arg = arg;
    o->len = 0;
    o->failed = false;
    for (size_t i = 0; i < rows->n && !o->failed; i++) {
        iso_time(o, d, rows->t[i]);
        for (size_t k = 0; k < d->n_ch; k++) {
            put(o, ",");
            value(o, rows->v[k][i]);
        }
        put(o, "\r\n");
    }
    rc = finish(o);
    free(o);
    return rc;
}
