/* A report as XLSX (report_xlsx.h). */
#include "report_xlsx.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xlsxwriter.h>

#include "report_text.h"

/* Data rows per samples sheet: Excel's 1,048,576 rows less the header. */
#define SHEET_ROWS 1048575u
/* Days from Excel's epoch (1899-12-30) to 1970-01-01. */
#define EXCEL_UNIX_DAYS 25569.0

struct report_xlsx {
    lxw_workbook *wb;
    lxw_worksheet *ws;  /* the samples sheet being written */
    const report_doc *d;
    lxw_format *bold, *when, *head;
    unsigned sheet_no;  /* samples sheets so far */
    lxw_row_t row;      /* next row of the samples sheet */
    size_t rows_total;
    char tmpdir[512];
};

/* Local time "t" as an Excel date number. */
static double excel_time(const report_doc *d, int64_t t)
{
    double s = (double)(t / 1000000) + (double)(t % 1000000) / 1e6 + report_tz_offset(d->tz, t);
    return s / 86400.0 + EXCEL_UNIX_DAYS;
}

static bool failed(lxw_error e, const char *what, char *err, size_t cap)
{
    if (e == LXW_NO_ERROR) {
        return false;
    }
    snprintf(err, cap, "the XLSX file could not be written (%s): %s", what, lxw_strerror(e));
    return true;
}

/* A worksheet name from the catalogue: Excel takes 31 characters without
 * []:*?/\ (none of ours has them). */
static void sheet_name(char *out, size_t cap, const char *base, unsigned no)
{
    if (no <= 1) {
        snprintf(out, cap, "%.28s", base);
    } else {
        snprintf(out, cap, "%.20s (%u)", base, no);
    }
}

static int samples_sheet(report_xlsx *x, char *err, size_t cap)
{
    const report_doc *d = x->d;
    char name[64], title[300];
    lxw_error e = LXW_NO_ERROR;
    x->sheet_no++;
    sheet_name(name, sizeof name, report_text(d->language, RT_SHEET_SAMPLES), x->sheet_no);
    x->ws = workbook_add_worksheet(x->wb, name);
    if (x->ws == NULL) {
        snprintf(err, cap, "the XLSX file could not be written: no samples sheet");
        return -1;
    }
    worksheet_set_column(x->ws, 0, 0, 20, NULL);
    worksheet_set_column(x->ws, 1, (lxw_col_t)(d->n_ch > 0 ? d->n_ch : 1), 14, NULL);
    worksheet_freeze_panes(x->ws, 1, 1);
    e = worksheet_write_string(x->ws, 0, 0, report_text(d->language, RT_TIME), x->head);
    for (size_t k = 0; k < d->n_ch && e == LXW_NO_ERROR; k++) {
        if (d->ch[k].unit[0] != '\0') {
            snprintf(title, sizeof title, "%s [%s]", d->ch[k].name, d->ch[k].unit);
        } else {
            snprintf(title, sizeof title, "%s", d->ch[k].name);
        }
        e = worksheet_write_string(x->ws, 0, (lxw_col_t)(k + 1), title, x->head);
    }
    x->row = 1;
    return failed(e, "samples header", err, cap) ? -1 : 0;
}

/* A value cell: a number, a special value's name, nothing for missing. */
static lxw_error put_value(report_xlsx *x, lxw_worksheet *ws, lxw_row_t r, lxw_col_t c, double v)
{
    mt_sv kind = mt_sv_kind(v);
    if (kind == MT_SV_NONE) {
        return worksheet_write_number(ws, r, c, v, NULL);
    }
    if (kind == MT_SV_MISSING) {
        return LXW_NO_ERROR;
    }
    return worksheet_write_string(ws, r, c, report_text_special(x->d->language, (int)kind), NULL);
}

static int summary_sheet(report_xlsx *x, char *err, size_t cap)
{
    static const report_text_id cols[] = {RT_CHANNEL, RT_UNIT, RT_MIN, RT_TMIN, RT_MAX,
                                          RT_TMAX, RT_MEAN, RT_COUNT, RT_SPECIAL};
    const report_doc *d = x->d;
    const char *lang = d->language;
    char name[64], text[300];
    lxw_worksheet *ws;
    lxw_error e = LXW_NO_ERROR;
    lxw_row_t r = 0;
    sheet_name(name, sizeof name, report_text(lang, RT_SUMMARY), 1);
    ws = workbook_add_worksheet(x->wb, name);
    if (ws == NULL) {
        snprintf(err, cap, "the XLSX file could not be written: no summary sheet");
        return -1;
    }
    worksheet_set_column(ws, 0, 0, 28, NULL);
    worksheet_set_column(ws, 1, 1, 10, NULL);
    worksheet_set_column(ws, 2, 8, 20, NULL);
    worksheet_set_column(ws, 9, 14, 12, NULL);
    e = worksheet_write_string(ws, r++, 0, d->title, x->bold);
    if (e == LXW_NO_ERROR) {
        const char *period = d->period == REPORT_DAY     ? report_text(lang, RT_DAILY)
                             : d->period == REPORT_WEEK  ? report_text(lang, RT_WEEKLY)
                             : d->period == REPORT_MONTH ? report_text(lang, RT_MONTHLY)
                                                         : report_text(lang, RT_CUSTOM);
        snprintf(text, sizeof text, "%s · %s", period, d->label);
        e = worksheet_write_string(ws, r++, 0, text, NULL);
    }
    if (e == LXW_NO_ERROR && (e = worksheet_write_string(ws, r, 0, report_text(lang, RT_GROUP),
                                                         x->bold)) == LXW_NO_ERROR) {
        e = worksheet_write_string(ws, r++, 1, d->group, NULL);
    }
    if (e == LXW_NO_ERROR && (e = worksheet_write_string(ws, r, 0, report_text(lang, RT_PERIOD),
                                                         x->bold)) == LXW_NO_ERROR &&
        (e = worksheet_write_number(ws, r, 1, excel_time(d, d->t0), x->when)) == LXW_NO_ERROR) {
        e = worksheet_write_number(ws, r++, 2, excel_time(d, d->t1), x->when);
    }
    if (e == LXW_NO_ERROR &&
        (e = worksheet_write_string(ws, r, 0, report_text(lang, RT_TIME_ZONE), x->bold)) ==
            LXW_NO_ERROR) {
        char zone[48];
        report_tz_label(d->tz, d->t0, d->t1, zone);
        e = worksheet_write_string(ws, r++, 1, zone, NULL);
    }
    if (e == LXW_NO_ERROR && (e = worksheet_write_string(ws, r, 0, report_text(lang, RT_CREATED),
                                                         x->bold)) == LXW_NO_ERROR) {
        e = worksheet_write_number(ws, r++, 1, excel_time(d, d->created), x->when);
    }
    r++;
    /* The summary table: one row per channel, special values by kind. */
    for (size_t k = 0; k < sizeof cols / sizeof cols[0] && e == LXW_NO_ERROR; k++) {
        e = worksheet_write_string(ws, r, (lxw_col_t)k, report_text(lang, cols[k]), x->head);
    }
    for (int kind = 1; kind < 6 && e == LXW_NO_ERROR; kind++) {
        e = worksheet_write_string(ws, r, (lxw_col_t)(8 + kind), report_text_special(lang, kind),
                                   x->head);
    }
    r++;
    for (size_t i = 0; i < d->n_ch && e == LXW_NO_ERROR; i++) {
        const report_channel *c = &d->ch[i];
        const mt_stats *st = &c->stats;
        e = worksheet_write_string(ws, r, 0, c->name, NULL);
        if (e == LXW_NO_ERROR) {
            e = worksheet_write_string(ws, r, 1, c->unit, NULL);
        }
        if (e == LXW_NO_ERROR && st->n > 0) {
            if ((e = worksheet_write_number(ws, r, 2, st->min, NULL)) == LXW_NO_ERROR &&
                (e = worksheet_write_number(ws, r, 3, excel_time(d, st->t_min), x->when)) ==
                    LXW_NO_ERROR &&
                (e = worksheet_write_number(ws, r, 4, st->max, NULL)) == LXW_NO_ERROR &&
                (e = worksheet_write_number(ws, r, 5, excel_time(d, st->t_max), x->when)) ==
                    LXW_NO_ERROR) {
                e = worksheet_write_number(ws, r, 6, mt_stats_mean(st), NULL);
            }
        }
        if (e == LXW_NO_ERROR) {
            e = worksheet_write_number(ws, r, 7, (double)st->n, NULL);
        }
        if (e == LXW_NO_ERROR) {
            e = worksheet_write_number(ws, r, 8, (double)mt_stats_special_total(st), NULL);
        }
        for (int kind = 1; kind < 6 && e == LXW_NO_ERROR; kind++) {
            e = worksheet_write_number(ws, r, (lxw_col_t)(8 + kind), (double)st->n_special[kind],
                                       NULL);
        }
        r++;
    }
    /* The alarm events of the period. */
    if (e == LXW_NO_ERROR && d->alarms) {
        static const report_text_id ev_cols[] = {RT_TIME, RT_EVENT, RT_ALARM, RT_CHANNEL,
                                                 RT_VALUE, RT_UNIT, RT_SEVERITY};
        r++;
        e = worksheet_write_string(ws, r++, 0, report_text(lang, RT_ALARMS), x->bold);
        if (e == LXW_NO_ERROR && d->n_ev == 0) {
            e = worksheet_write_string(ws, r++, 0, report_text(lang, RT_NO_EVENTS), NULL);
        }
        for (size_t k = 0; d->n_ev > 0 && k < 7 && e == LXW_NO_ERROR; k++) {
            e = worksheet_write_string(ws, r, (lxw_col_t)k, report_text(lang, ev_cols[k]),
                                       x->head);
        }
        if (d->n_ev > 0) {
            r++;
        }
        for (size_t i = 0; i < d->n_ev && e == LXW_NO_ERROR; i++) {
            const report_event *ev = &d->ev[i];
            report_text_id kind = strcmp(ev->kind, "raise") == 0     ? RT_EV_RAISE
                                  : strcmp(ev->kind, "clear") == 0   ? RT_EV_CLEAR
                                  : strcmp(ev->kind, "special") == 0 ? RT_EV_SPECIAL
                                                                     : RT_EV_SPECIAL_END;
            if ((e = worksheet_write_number(ws, r, 0, excel_time(d, ev->t), x->when)) ==
                    LXW_NO_ERROR &&
                (e = worksheet_write_string(ws, r, 1, report_text(lang, kind), NULL)) ==
                    LXW_NO_ERROR &&
                (e = worksheet_write_string(ws, r, 2, ev->rule, NULL)) == LXW_NO_ERROR &&
                (e = worksheet_write_string(ws, r, 3, ev->channel, NULL)) == LXW_NO_ERROR) {
                if (ev->special != 0) {
                    e = worksheet_write_string(ws, r, 4, report_text_special(lang, ev->special),
                                               NULL);
                } else if (ev->has_value) {
                    e = put_value(x, ws, r, 4, ev->value);
                }
            }
            if (e == LXW_NO_ERROR) {
                e = worksheet_write_string(ws, r, 5, ev->unit, NULL);
            }
            if (e == LXW_NO_ERROR) {
                e = worksheet_write_string(ws, r, 6,
                                           strcmp(ev->severity, "warning") == 0
                                               ? report_text(lang, RT_SEV_WARNING)
                                               : report_text(lang, RT_SEV_ALERT),
                                           NULL);
            }
            r++;
        }
        if (e == LXW_NO_ERROR && d->ev_more > 0) {
            snprintf(text, sizeof text, report_text(lang, RT_MORE_EVENTS), d->ev_more);
            e = worksheet_write_string(ws, r++, 0, text, NULL);
        }
    }
    if (e == LXW_NO_ERROR) {
        char zone[48];
        report_tz_label(d->tz, d->t0, d->t1, zone);
        snprintf(text, sizeof text, report_text(lang, RT_TIMES_IN), zone);
        e = worksheet_write_string(ws, r + 1, 0, text, NULL);
    }
    return failed(e, "summary", err, cap) ? -1 : 0;
}

int report_xlsx_open(const char *path, const char *tmpdir, const report_doc *d,
                     report_xlsx **out, char *err, size_t cap)
{
    report_xlsx *x = calloc(1, sizeof *x);
    lxw_workbook_options opt;
    lxw_doc_properties props;
    *out = NULL;
    if (x == NULL) {
        snprintf(err, cap, "out of memory");
        return -1;
    }
    x->d = d;
    snprintf(x->tmpdir, sizeof x->tmpdir, "%s", tmpdir);
    memset(&opt, 0, sizeof opt);
    opt.constant_memory = LXW_TRUE;
    opt.tmpdir = x->tmpdir;
    opt.use_zip64 = LXW_TRUE;
    x->wb = workbook_new_opt(path, &opt);
    if (x->wb == NULL) {
        snprintf(err, cap, "the XLSX file could not be created");
        free(x);
        return -1;
    }
    memset(&props, 0, sizeof props);
    props.title = (char *)d->title;
    props.company = (char *)d->account;
    props.comments = (char *)"Metron";
    workbook_set_properties(x->wb, &props);
    x->bold = workbook_add_format(x->wb);
    format_set_bold(x->bold);
    x->head = workbook_add_format(x->wb);
    format_set_bold(x->head);
    format_set_bottom(x->head, LXW_BORDER_THIN);
    x->when = workbook_add_format(x->wb);
    format_set_num_format(x->when, "yyyy-mm-dd hh:mm:ss");
    if (summary_sheet(x, err, cap) != 0 || samples_sheet(x, err, cap) != 0) {
        workbook_close(x->wb);
        remove(path);
        free(x);
        return -1;
    }
    *out = x;
    return 0;
}

int report_xlsx_rows(report_xlsx *x, const report_rows *rows, char *err, size_t cap)
{
    const report_doc *d = x->d;
    for (size_t i = 0; i < rows->n; i++) {
        lxw_error e;
        if (x->row > SHEET_ROWS && samples_sheet(x, err, cap) != 0) {
            return -1;
        }
        e = worksheet_write_number(x->ws, x->row, 0, excel_time(d, rows->t[i]), x->when);
        for (size_t k = 0; k < d->n_ch && e == LXW_NO_ERROR; k++) {
            e = put_value(x, x->ws, x->row, (lxw_col_t)(k + 1), rows->v[k][i]);
        }
        if (failed(e, "samples", err, cap)) {
            return -1;
        }
        x->row++;
        x->rows_total++;
    }
    return 0;
}

size_t report_xlsx_row_count(const report_xlsx *x)
{
    return x->rows_total;
}

int report_xlsx_close(report_xlsx *x, char *err, size_t cap)
{
    lxw_error e;
    if (x == NULL) {
        return 0;
    }
    e = workbook_close(x->wb);
    free(x);
    return failed(e, "closing", err, cap) ? -1 : 0;
}
