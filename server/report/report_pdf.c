/* A report as PDF (report_pdf.h).
 *
 * Every block has a fixed height (table rows are one line, ellipsized when
 * too long), so the layout is plain arithmetic: a first pass without a
 * drawing context counts the pages, the second draws them with "page n of
 * N". */
#include "report_pdf.h"

#include <cairo-pdf.h>
#include <cairo.h>
#include <math.h>
#include <pango/pangocairo.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_text.h"

/* A4 landscape, in points. */
#define PAGE_W 841.89
#define PAGE_H 595.28
#define MARGIN 36.0
#define FOOTER_H 18.0
#define BODY_W (PAGE_W - 2 * MARGIN)
#define BODY_BOTTOM (PAGE_H - MARGIN - FOOTER_H)

#define ROW_H 15.0      /* a summary table row */
#define HEAD_H 26.0     /* a table's header row (two lines of 8 pt) */
#define EV_ROW_H 13.0   /* an alarm event row */
#define NOTE_H 12.0     /* a line of small text */
#define SECTION_H 24.0  /* a section's heading */
#define CHART_TITLE_H 16.0
#define CHART_PLOT_H 108.0
#define CHART_AXIS_H 16.0
#define CHART_GAP 14.0
#define OVERLAID_PLOT_H 300.0
#define OVERLAID_MIN_H 160.0
#define LEGEND_ROW_H 12.0
#define Y_LABEL_W 54.0

#define FONT_LATIN "DejaVu Sans, WenQuanYi Micro Hei"
#define FONT_CJK "WenQuanYi Micro Hei, DejaVu Sans"

/* The viewer's 32 series colours (portal/js/chart/palette.mjs). */
static const unsigned palette[32] = {
    0x4e79a7, 0xf28e2b, 0xe15759, 0x76b7b2, 0x59a14f, 0xedc948, 0xb07aa1, 0xff9da7,
    0x9c755f, 0x7f7f7f, 0x2f4b7c, 0xd45087, 0x00876c, 0xff7c43, 0x665191, 0xa05195,
    0x3d9ec4, 0xbc5090, 0x8c9e2c, 0xc0392b, 0x1b9e77, 0xd95f02, 0x7570b3, 0xe7298a,
    0x66a61e, 0xe6ab02, 0xa6761d, 0x005f73, 0x9b2226, 0x6a4c93, 0x0a9396, 0xbb3e03};

typedef enum { AL_LEFT = 0, AL_RIGHT, AL_CENTER } align;

typedef struct {
    const report_doc *d;
    const char *lang;
    const char *family;
    cairo_t *cr;        /* NULL while counting pages */
    PangoLayout *lay;
    int page, pages;
    double y;
} pdf;

/* -------------------------------------------------------------- drawing */

static void rgb(cairo_t *cr, unsigned hex)
{
    cairo_set_source_rgb(cr, (double)((hex >> 16) & 0xff) / 255.0,
                         (double)((hex >> 8) & 0xff) / 255.0, (double)(hex & 0xff) / 255.0);
}

/* Text "s" in a box at (x, y) "w" wide: one line (ellipsized at the end)
 * or, with "lines" 2, up to two wrapped lines. */
static void text(pdf *p, double x, double y, double w, double size, bool bold, unsigned colour,
                 align al, int lines, const char *s)
{
    PangoFontDescription *fd;
    if (p->cr == NULL || s == NULL) {
        return;
    }
    fd = pango_font_description_from_string(p->family);
    pango_font_description_set_absolute_size(fd, size * PANGO_SCALE);
    pango_font_description_set_weight(fd, bold ? PANGO_WEIGHT_BOLD : PANGO_WEIGHT_NORMAL);
    pango_layout_set_font_description(p->lay, fd);
    pango_font_description_free(fd);
    pango_layout_set_width(p->lay, (int)(w * PANGO_SCALE));
    pango_layout_set_height(p->lay, lines > 1 ? -lines : -1);
    pango_layout_set_wrap(p->lay, PANGO_WRAP_WORD_CHAR);
    pango_layout_set_ellipsize(p->lay, PANGO_ELLIPSIZE_END);
    pango_layout_set_alignment(p->lay, al == AL_RIGHT    ? PANGO_ALIGN_RIGHT
                                       : al == AL_CENTER ? PANGO_ALIGN_CENTER
                                                         : PANGO_ALIGN_LEFT);
    pango_layout_set_text(p->lay, s, -1);
    rgb(p->cr, colour);
    cairo_move_to(p->cr, x, y);
    pango_cairo_show_layout(p->cr, p->lay);
}

static void hline(pdf *p, double x0, double x1, double y, double width, unsigned colour)
{
    if (p->cr == NULL) {
        return;
    }
    rgb(p->cr, colour);
    cairo_set_line_width(p->cr, width);
    cairo_move_to(p->cr, x0, y);
    cairo_line_to(p->cr, x1, y);
    cairo_stroke(p->cr);
}

static void footer(pdf *p)
{
    char left[400], right[80];
    const report_doc *d = p->d;
    if (p->cr == NULL) {
        return;
    }
    snprintf(left, sizeof left, "Metron · %s · %s · %s", d->account, d->title, d->label);
    snprintf(right, sizeof right, report_text(p->lang, RT_PAGE), p->page, p->pages);
    hline(p, MARGIN, PAGE_W - MARGIN, PAGE_H - MARGIN - FOOTER_H + 4, 0.5, 0xbbbbbb);
    text(p, MARGIN, PAGE_H - MARGIN - 10, BODY_W * 0.75, 7, false, 0x666666, AL_LEFT, 1, left);
    text(p, MARGIN + BODY_W * 0.75, PAGE_H - MARGIN - 10, BODY_W * 0.25, 7, false, 0x666666,
         AL_RIGHT, 1, right);
}

static void new_page(pdf *p)
{
    if (p->page > 0) {
        footer(p);
        if (p->cr != NULL) {
            cairo_show_page(p->cr);
        }
    }
    p->page++;
    p->y = MARGIN;
}

/* Room for "h" points on this page, or a new page. */
static void need(pdf *p, double h)
{
    if (p->y + h > BODY_BOTTOM) {
        new_page(p);
    }
}

static void section(pdf *p, report_text_id title, double first_block)
{
    need(p, SECTION_H + first_block);
    text(p, MARGIN, p->y + 4, BODY_W, 12, true, 0x222222, AL_LEFT, 1,
         report_text(p->lang, title));
    hline(p, MARGIN, PAGE_W - MARGIN, p->y + SECTION_H - 4, 0.8, 0x4e79a7);
    p->y += SECTION_H;
}

/* ------------------------------------------------------------- the head */

static const char *period_name(const pdf *p)
{
    switch (p->d->period) {
    case REPORT_DAY: return report_text(p->lang, RT_DAILY);
    case REPORT_WEEK: return report_text(p->lang, RT_WEEKLY);
    case REPORT_MONTH: return report_text(p->lang, RT_MONTHLY);
    default: return report_text(p->lang, RT_CUSTOM);
    }
}

static void head(pdf *p)
{
    const report_doc *d = p->d;
    char line[600], from[24], to[24], created[24], zone[48];
    text(p, MARGIN, p->y, BODY_W, 18, true, 0x1a1a1a, AL_LEFT, 1, d->title);
    p->y += 28;
    snprintf(line, sizeof line, "%s · %s", period_name(p), d->label);
    text(p, MARGIN, p->y, BODY_W, 11, false, 0x333333, AL_LEFT, 1, line);
    p->y += 20;
    report_tz_format(d->tz, d->t0, true, from);
    report_tz_format(d->tz, d->t1, true, to);
    report_tz_format(d->tz, d->created, true, created);
    snprintf(line, sizeof line, "%s: %s", report_text(p->lang, RT_GROUP), d->group);
    text(p, MARGIN, p->y, BODY_W, 9, false, 0x444444, AL_LEFT, 1, line);
    p->y += 13;
    snprintf(line, sizeof line, "%s: %s – %s", report_text(p->lang, RT_PERIOD), from, to);
    text(p, MARGIN, p->y, BODY_W, 9, false, 0x444444, AL_LEFT, 1, line);
    p->y += 13;
    report_tz_label(d->tz, d->t0, d->t1, zone);
    snprintf(line, sizeof line, "%s: %s", report_text(p->lang, RT_TIME_ZONE), zone);
    text(p, MARGIN, p->y, BODY_W, 9, false, 0x444444, AL_LEFT, 1, line);
    p->y += 13;
    snprintf(line, sizeof line, "%s: %s", report_text(p->lang, RT_CREATED), created);
    text(p, MARGIN, p->y, BODY_W, 9, false, 0x444444, AL_LEFT, 1, line);
    p->y += 22;
}

/* ---------------------------------------------------------- the summary */

/* Column widths of the summary table (they add up to BODY_W). */
static const double sum_w[9] = {178, 46, 72, 104, 72, 104, 72, 56, 65.89};

static void summary_header(pdf *p)
{
    static const report_text_id ids[9] = {RT_CHANNEL, RT_UNIT, RT_MIN, RT_TMIN, RT_MAX,
                                          RT_TMAX, RT_MEAN, RT_COUNT, RT_SPECIAL};
    double x = MARGIN;
    if (p->cr != NULL) {
        cairo_set_source_rgb(p->cr, 0.93, 0.95, 0.97);
        cairo_rectangle(p->cr, MARGIN, p->y, BODY_W, HEAD_H);
        cairo_fill(p->cr);
    }
    for (int k = 0; k < 9; k++) {
        text(p, x + 3, p->y + 3, sum_w[k] - 6, 7.5, true, 0x222222, k < 2 ? AL_LEFT : AL_RIGHT,
             2, report_text(p->lang, ids[k]));
        x += sum_w[k];
    }
    p->y += HEAD_H;
}

static void summary_row(pdf *p, const report_channel *c, int index)
{
    const mt_stats *st = &c->stats;
    char cell[9][96];
    double x = MARGIN;
    memset(cell, 0, sizeof cell);
    snprintf(cell[0], sizeof cell[0], "%s", c->name);
    snprintf(cell[1], sizeof cell[1], "%s", c->unit);
    if (st->n > 0) {
        char t[24];
        report_num_show(st->min, cell[2]);
        report_tz_format(p->d->tz, st->t_min, false, t);
        snprintf(cell[3], sizeof cell[3], "%s", t);
        report_num_show(st->max, cell[4]);
        report_tz_format(p->d->tz, st->t_max, false, t);
        snprintf(cell[5], sizeof cell[5], "%s", t);
        report_num_mean(mt_stats_mean(st), cell[6]);
    } else {
        snprintf(cell[2], sizeof cell[2], "–");
        snprintf(cell[4], sizeof cell[4], "–");
        snprintf(cell[6], sizeof cell[6], "–");
    }
    snprintf(cell[7], sizeof cell[7], "%llu", (unsigned long long)st->n);
    snprintf(cell[8], sizeof cell[8], "%llu", (unsigned long long)mt_stats_special_total(st));
    if (p->cr != NULL && index % 2 == 1) {
        cairo_set_source_rgb(p->cr, 0.975, 0.975, 0.975);
        cairo_rectangle(p->cr, MARGIN, p->y, BODY_W, ROW_H);
        cairo_fill(p->cr);
    }
    if (p->cr != NULL) {
        rgb(p->cr, palette[index % 32]);
        cairo_rectangle(p->cr, MARGIN, p->y + 3, 2.5, ROW_H - 6);
        cairo_fill(p->cr);
    }
    for (int k = 0; k < 9; k++) {
        text(p, x + 5, p->y + 3, sum_w[k] - 8, 8, false, 0x1a1a1a, k < 2 ? AL_LEFT : AL_RIGHT, 1,
             cell[k]);
        x += sum_w[k];
    }
    p->y += ROW_H;
}

static void summary(pdf *p)
{
    const report_doc *d = p->d;
    char line[600];
    section(p, RT_SUMMARY, HEAD_H + ROW_H);
    summary_header(p);
    for (size_t i = 0; i < d->n_ch; i++) {
        if (p->y + ROW_H > BODY_BOTTOM) {
            new_page(p);
            summary_header(p);
        }
        summary_row(p, &d->ch[i], (int)i);
    }
    hline(p, MARGIN, PAGE_W - MARGIN, p->y, 0.5, 0xbbbbbb);
    p->y += 6;
    /* Special values by kind, one line per channel that has some. */
    for (size_t i = 0; i < d->n_ch; i++) {
        const mt_stats *st = &d->ch[i].stats;
        size_t len;
        if (mt_stats_special_total(st) == 0) {
            continue;
        }
        len = (size_t)snprintf(line, sizeof line, "%s — %s:", d->ch[i].name,
                               report_text(p->lang, RT_SPECIAL));
        for (int k = 1; k < 6 && len < sizeof line; k++) {
            if (st->n_special[k] > 0) {
                len += (size_t)snprintf(line + len, sizeof line - len, " %s %llu,",
                                        report_text_special(p->lang, k),
                                        (unsigned long long)st->n_special[k]);
            }
        }
        if (len > 0 && len < sizeof line && line[len - 1] == ',') {
            line[len - 1] = '\0';
        }
        need(p, NOTE_H);
        text(p, MARGIN, p->y, BODY_W, 7.5, false, 0x555555, AL_LEFT, 1, line);
        p->y += NOTE_H;
    }
    need(p, NOTE_H);
    {
        char zone[48];
        report_tz_label(d->tz, d->t0, d->t1, zone);
        snprintf(line, sizeof line, report_text(p->lang, RT_TIMES_IN), zone);
    }
    text(p, MARGIN, p->y, BODY_W, 7.5, false, 0x555555, AL_LEFT, 1, line);
    p->y += NOTE_H + 10;
}

/* ------------------------------------------------------------ the charts */

/* A "nice" tick step (1, 2 or 5 times a power of ten) for about "n" ticks
 * over "range". */
static double nice_step(double range, int n)
{
    double raw = range / n, mag = pow(10, floor(log10(raw))), f = raw / mag;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
}

/* Decimals that show "step" exactly (0 for whole numbers). */
static int step_decimals(double step)
{
    int dec = (int)ceil(-log10(step) - 1e-9);
    return dec < 0 ? 0 : dec > 10 ? 10 : dec;
}

/* The y range of the channels "idx" (n of them): false when none has a
 * value in any bucket. */
static bool y_range(const report_doc *d, const size_t *idx, size_t n, double *lo, double *hi)
{
    bool any = false;
    for (size_t k = 0; k < n; k++) {
        const report_channel *c = &d->ch[idx[k]];
        if (c->bk == NULL) {
            continue;
        }
        for (size_t i = 0; i < d->chart_nb; i++) {
            if (c->bk[i].n == 0) {
                continue;
            }
            if (!any || c->bk[i].min < *lo) {
                *lo = c->bk[i].min;
            }
            if (!any || c->bk[i].max > *hi) {
                *hi = c->bk[i].max;
            }
            any = true;
        }
    }
    if (any && *hi - *lo < 1e-12 * (fabs(*lo) + 1)) {
        double pad = fabs(*lo) * 0.01 + 1e-9;
        *lo -= pad > 0.5 ? 0.5 : pad;
        *hi += pad > 0.5 ? 0.5 : pad;
    } else if (any) {
        double pad = (*hi - *lo) * 0.05; /* the extremes clear of the frame */
        *lo -= pad;
        *hi += pad;
    }
    return any;
}

static double x_of(const report_doc *d, double px, double pw, double t)
{
    return px + (t - (double)d->t0) / (double)(d->t1 - d->t0) * pw;
}

/* The x axis: ticks at round local times (every 1, 2, 3, 6 or 12 hours,
 * or every 1, 2 or 7 days, whichever gives at most 12 ticks). */
static void x_axis(pdf *p, double px, double py, double pw, double ph)
{
    static const int steps_min[] = {60, 120, 180, 360, 720, 1440, 2880, 10080};
    const report_doc *d = p->d;
    double span_min = (double)(d->t1 - d->t0) / 60e6;
    int step = steps_min[7];
    for (size_t k = 0; k < sizeof steps_min / sizeof steps_min[0]; k++) {
        if (span_min / steps_min[k] <= 12) {
            step = steps_min[k];
            break;
        }
    }
    if (p->cr == NULL) {
        return;
    }
    /* Walk the period in quarter hours (zones with half and quarter hour
     * offsets included) and keep the round local instants. */
    for (int64_t t = d->t0 - d->t0 % (15 * 60000000LL); t <= d->t1; t += 15 * 60000000LL) {
        report_civil c;
        long long local_min, day_no;
        char label[24];
        double x;
        if (t < d->t0) {
            continue;
        }
        report_tz_civil(d->tz, t, &c);
        if (c.minute != 0) {
            continue;
        }
        day_no = (long long)floor(((double)t / 1e6 + report_tz_offset(d->tz, t)) / 86400.0);
        local_min = c.hour * 60LL;
        if (step < 1440 ? local_min % step != 0
                        : (c.hour != 0 || (step == 10080 ? c.weekday != 1
                                                         : day_no % (step / 1440) != 0))) {
            continue;
        }
        x = x_of(d, px, pw, (double)t);
        rgb(p->cr, 0xe3e3e3);
        cairo_set_line_width(p->cr, 0.4);
        cairo_move_to(p->cr, x, py);
        cairo_line_to(p->cr, x, py + ph);
        cairo_stroke(p->cr);
        if (step < 1440 && c.hour != 0) {
            snprintf(label, sizeof label, "%02d:%02d", c.hour, c.minute);
        } else {
            snprintf(label, sizeof label, "%02d-%02d", c.month % 100, c.day % 100);
        }
        text(p, x - 30, py + ph + 3, 60, 7, false, 0x555555, AL_CENTER, 1, label);
    }
}

/* The four points of bucket i of a channel (the viewer's M4 reduction). */
static const double frac[4] = {0.125, 0.375, 0.625, 0.875};

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

/* Draw channel "c" into the plot box in colour "colour". */
static void series(pdf *p, const report_channel *c, unsigned colour, double px, double py,
                   double pw, double ph, double lo, double hi, bool marks_below)
{
    const report_doc *d = p->d;
    size_t nb = d->chart_nb, n_runs = 0, limit;
    size_t *runs;
    bool *breaks;
    double w = (double)(d->chart_t1 - d->chart_t0) / (double)nb;
    bool pen = false;
    long prev = -1;
    if (p->cr == NULL || c->bk == NULL || nb == 0) {
        return;
    }
    runs = malloc(nb * sizeof *runs);
    breaks = calloc(nb, sizeof *breaks);
    if (runs == NULL || breaks == NULL) {
        free(runs);
        free(breaks);
        return;
    }
    /* The viewer's gap rule: a bucket with only special values breaks the
     * line; so does a run of empty buckets much longer than usual. */
    for (size_t i = 0; i < nb; i++) {
        if (c->bk[i].n > 0) {
            if (prev >= 0) {
                runs[n_runs++] = i - (size_t)prev - 1;
            }
            prev = (long)i;
        } else if (c->bk[i].n_special > 0) {
            breaks[i] = true;
            prev = -1;
        }
    }
    if (n_runs > 0) {
        qsort(runs, n_runs, sizeof *runs, cmp_size);
    }
    limit = n_runs > 0 ? 3 * runs[n_runs / 2] + 2 : 0;
    if (limit < 3) {
        limit = 3;
    }
    {
        long run_start = -1;
        for (size_t i = 0; i <= nb; i++) {
            bool empty = i < nb && c->bk[i].n == 0 && c->bk[i].n_special == 0;
            if (empty) {
                if (run_start < 0) {
                    run_start = (long)i;
                }
                continue;
            }
            if (run_start >= 0) {
                if (run_start > 0 && i < nb && i - (size_t)run_start > limit) {
                    for (size_t k = (size_t)run_start; k < i; k++) {
                        breaks[k] = true;
                    }
                }
                run_start = -1;
            }
        }
    }
    cairo_save(p->cr);
    cairo_rectangle(p->cr, px, py - 1, pw, ph + 2);
    cairo_clip(p->cr);
    rgb(p->cr, colour);
    cairo_set_line_width(p->cr, 0.7);
    cairo_set_line_join(p->cr, CAIRO_LINE_JOIN_ROUND);
    for (size_t i = 0; i < nb; i++) {
        const mt_bucket *b = &c->bk[i];
        double ys[4];
        bool lo_first;
        if (b->n == 0) {
            if (breaks[i] && pen) {
                cairo_stroke(p->cr);
                pen = false;
            }
            continue;
        }
        lo_first = fabs(b->first - b->min) <= fabs(b->first - b->max);
        ys[0] = b->first;
        ys[1] = lo_first ? b->min : b->max;
        ys[2] = lo_first ? b->max : b->min;
        ys[3] = b->last;
        for (int k = 0; k < 4; k++) {
            double t = (double)d->chart_t0 + w * ((double)i + frac[k]);
            double x = x_of(d, px, pw, t), y = py + ph - (ys[k] - lo) / (hi - lo) * ph;
            if (!pen) {
                cairo_move_to(p->cr, x, y);
                pen = true;
            } else {
                cairo_line_to(p->cr, x, y);
            }
        }
    }
    if (pen) {
        cairo_stroke(p->cr);
    }
    cairo_restore(p->cr);
    /* Special values: a small triangle under the plot where they are. */
    rgb(p->cr, marks_below ? colour : 0xd62728);
    for (size_t i = 0; i < nb; i++) {
        double x;
        if (c->bk[i].n_special == 0) {
            continue;
        }
        x = x_of(d, px, pw, (double)d->chart_t0 + w * ((double)i + 0.5));
        if (x < px || x > px + pw) {
            continue;
        }
        cairo_move_to(p->cr, x, py + ph - 4.5);
        cairo_line_to(p->cr, x - 2.5, py + ph);
        cairo_line_to(p->cr, x + 2.5, py + ph);
        cairo_close_path(p->cr);
        cairo_fill(p->cr);
    }
    free(runs);
    free(breaks);
}

/* One chart of channels "idx" (n of them) in the box at (x, y), "h" high
 * for the plot. */
static void chart(pdf *p, const size_t *idx, size_t n, double y, double h)
{
    const report_doc *d = p->d;
    double px = MARGIN + Y_LABEL_W, pw = BODY_W - Y_LABEL_W - 6, py = y, ph = h;
    double lo = 0, hi = 1;
    bool any;
    if (p->cr == NULL) {
        return;
    }
    any = y_range(d, idx, n, &lo, &hi);
    cairo_set_source_rgb(p->cr, 1, 1, 1);
    cairo_rectangle(p->cr, px, py, pw, ph);
    cairo_fill(p->cr);
    x_axis(p, px, py, pw, ph);
    if (any) {
        double step = nice_step(hi - lo, 5), v0 = ceil(lo / step) * step;
        int dec = step_decimals(step);
        for (double v = v0; v <= hi + step * 1e-9; v += step) {
            double yy = py + ph - (v - lo) / (hi - lo) * ph;
            char label[48];
            rgb(p->cr, 0xe3e3e3);
            cairo_set_line_width(p->cr, 0.4);
            cairo_move_to(p->cr, px, yy);
            cairo_line_to(p->cr, px + pw, yy);
            cairo_stroke(p->cr);
            snprintf(label, sizeof label, "%.*f", dec, fabs(v) < step * 1e-9 ? 0.0 : v);
            text(p, MARGIN, yy - 5, Y_LABEL_W - 5, 7, false, 0x555555, AL_RIGHT, 1, label);
        }
        for (size_t k = 0; k < n; k++) {
            series(p, &d->ch[idx[k]], palette[idx[k] % 32], px, py, pw, ph, lo, hi, n > 1);
        }
    } else {
        text(p, px, py + ph / 2 - 6, pw, 9, false, 0x888888, AL_CENTER, 1,
             report_text(p->lang, RT_NO_DATA));
    }
    rgb(p->cr, 0x999999);
    cairo_set_line_width(p->cr, 0.6);
    cairo_rectangle(p->cr, px, py, pw, ph);
    cairo_stroke(p->cr);
}

static void chart_title(pdf *p, const report_channel *c, int index)
{
    char line[400];
    if (c->unit[0] != '\0') {
        snprintf(line, sizeof line, "%s [%s]", c->name, c->unit);
    } else {
        snprintf(line, sizeof line, "%s", c->name);
    }
    if (p->cr != NULL) {
        rgb(p->cr, palette[index % 32]);
        cairo_rectangle(p->cr, MARGIN, p->y + 3, 8, 8);
        cairo_fill(p->cr);
    }
    text(p, MARGIN + 12, p->y + 1, BODY_W * 0.6, 9, true, 0x222222, AL_LEFT, 1, line);
    if (c->source != NULL && c->source[0] != '\0') {
        if (c->computed) {
            snprintf(line, sizeof line, "%s: %s", report_text(p->lang, RT_COMPUTED), c->source);
        } else {
            snprintf(line, sizeof line, "%s", c->source);
        }
        text(p, MARGIN + BODY_W * 0.6, p->y + 2, BODY_W * 0.4, 7.5, false, 0x666666, AL_RIGHT, 1,
             line);
    }
}

static void charts(pdf *p)
{
    const report_doc *d = p->d;
    size_t idx[REPORT_MAX_CHANNELS];
    size_t n = d->n_ch < REPORT_MAX_CHANNELS ? d->n_ch : REPORT_MAX_CHANNELS;
    double block = CHART_TITLE_H + CHART_PLOT_H + CHART_AXIS_H + CHART_GAP;
    for (size_t i = 0; i < n; i++) {
        idx[i] = i;
    }
    if (d->charts == REPORT_CHARTS_OVERLAID) {
        size_t rows = (n + 3) / 4;
        double legend = (double)rows * LEGEND_ROW_H;
        double fixed = SECTION_H + CHART_TITLE_H + CHART_AXIS_H + legend + 4;
        double room = BODY_BOTTOM - p->y - fixed, plot = OVERLAID_PLOT_H;
        /* Fill what is left of the page when that is a fair chart; else a
         * new page. */
        if (room < OVERLAID_MIN_H) {
            new_page(p);
        } else if (room < plot) {
            plot = room;
        }
        section(p, RT_CHARTS, CHART_TITLE_H + plot + CHART_AXIS_H + legend);
        text(p, MARGIN, p->y + 1, BODY_W, 9, true, 0x222222, AL_LEFT, 1,
             report_text(p->lang, RT_ALL_CHANNELS));
        p->y += CHART_TITLE_H;
        chart(p, idx, n, p->y, plot);
        p->y += plot + CHART_AXIS_H;
        for (size_t i = 0; i < n; i++) {
            double x = MARGIN + (double)(i % 4) * BODY_W / 4,
                   y = p->y + (double)(i / 4) * LEGEND_ROW_H;
            char label[300];
            if (p->cr != NULL) {
                rgb(p->cr, palette[i % 32]);
                cairo_rectangle(p->cr, x, y + 3, 10, 3);
                cairo_fill(p->cr);
            }
            if (d->ch[i].unit[0] != '\0') {
                snprintf(label, sizeof label, "%s [%s]", d->ch[i].name, d->ch[i].unit);
            } else {
                snprintf(label, sizeof label, "%s", d->ch[i].name);
            }
            text(p, x + 14, y, BODY_W / 4 - 18, 7.5, false, 0x333333, AL_LEFT, 1, label);
        }
        p->y += legend + 4;
    } else {
        section(p, RT_CHARTS, block);
        for (size_t i = 0; i < n; i++) {
            need(p, block);
            chart_title(p, &d->ch[i], (int)i);
            p->y += CHART_TITLE_H;
            chart(p, &idx[i], 1, p->y, CHART_PLOT_H);
            p->y += CHART_PLOT_H + CHART_AXIS_H + CHART_GAP;
        }
    }
    need(p, NOTE_H);
    text(p, MARGIN, p->y, BODY_W, 7.5, false, 0x555555, AL_LEFT, 1,
         report_text(p->lang, RT_MARKS));
    p->y += NOTE_H + 10;
}

/* ------------------------------------------------------- alarm events */

static const double ev_w[6] = {104, 120, 190, 170, 110, 75.89};

static void events_header(pdf *p)
{
    static const report_text_id ids[6] = {RT_TIME, RT_EVENT, RT_ALARM, RT_CHANNEL, RT_VALUE,
                                          RT_SEVERITY};
    double x = MARGIN;
    if (p->cr != NULL) {
        cairo_set_source_rgb(p->cr, 0.93, 0.95, 0.97);
        cairo_rectangle(p->cr, MARGIN, p->y, BODY_W, 16);
        cairo_fill(p->cr);
    }
    for (int k = 0; k < 6; k++) {
        text(p, x + 3, p->y + 3, ev_w[k] - 6, 7.5, true, 0x222222, AL_LEFT, 1,
             report_text(p->lang, ids[k]));
        x += ev_w[k];
    }
    p->y += 16;
}

static void event_row(pdf *p, const report_event *ev)
{
    char cell[6][300];
    double x = MARGIN;
    report_text_id kind = strcmp(ev->kind, "raise") == 0     ? RT_EV_RAISE
                          : strcmp(ev->kind, "clear") == 0   ? RT_EV_CLEAR
                          : strcmp(ev->kind, "special") == 0 ? RT_EV_SPECIAL
                                                             : RT_EV_SPECIAL_END;
    char t[24];
    report_tz_format(p->d->tz, ev->t, false, t);
    snprintf(cell[0], sizeof cell[0], "%s", t);
    snprintf(cell[1], sizeof cell[1], "%s", report_text(p->lang, kind));
    snprintf(cell[2], sizeof cell[2], "%s", ev->rule);
    snprintf(cell[3], sizeof cell[3], "%s", ev->channel);
    if (ev->special != 0) {
        snprintf(cell[4], sizeof cell[4], "%s", report_text_special(p->lang, ev->special));
    } else if (ev->has_value && mt_sv_kind(ev->value) != MT_SV_NONE) {
        snprintf(cell[4], sizeof cell[4], "%s",
                 report_text_special(p->lang, (int)mt_sv_kind(ev->value)));
    } else if (ev->has_value) {
        char num[48];
        report_num_show(ev->value, num);
        snprintf(cell[4], sizeof cell[4], "%s%s%s", num, ev->unit[0] ? " " : "", ev->unit);
    } else {
        cell[4][0] = '\0';
    }
    snprintf(cell[5], sizeof cell[5], "%s",
             strcmp(ev->severity, "warning") == 0 ? report_text(p->lang, RT_SEV_WARNING)
                                                  : report_text(p->lang, RT_SEV_ALERT));
    for (int k = 0; k < 6; k++) {
        unsigned colour = k == 1 && kind == RT_EV_RAISE ? 0xc0392b : 0x1a1a1a;
        text(p, x + 3, p->y + 2, ev_w[k] - 6, 7.5, false, colour, AL_LEFT, 1, cell[k]);
        x += ev_w[k];
    }
    p->y += EV_ROW_H;
}

static void events(pdf *p)
{
    const report_doc *d = p->d;
    section(p, RT_ALARMS, d->n_ev > 0 ? 16 + EV_ROW_H : NOTE_H);
    if (d->n_ev == 0) {
        text(p, MARGIN, p->y, BODY_W, 9, false, 0x444444, AL_LEFT, 1,
             report_text(p->lang, RT_NO_EVENTS));
        p->y += NOTE_H + 6;
        return;
    }
    events_header(p);
    for (size_t i = 0; i < d->n_ev; i++) {
        if (p->y + EV_ROW_H > BODY_BOTTOM) {
            new_page(p);
            events_header(p);
        }
        event_row(p, &d->ev[i]);
    }
    if (d->ev_more > 0) {
        char line[200];
        snprintf(line, sizeof line, report_text(p->lang, RT_MORE_EVENTS), d->ev_more);
        need(p, NOTE_H);
        text(p, MARGIN, p->y + 2, BODY_W, 8, false, 0x444444, AL_LEFT, 1, line);
        p->y += NOTE_H;
    }
}

/* The whole document: pages counted when p->cr is NULL. */
static void layout(pdf *p)
{
    p->page = 0;
    new_page(p);
    head(p);
    if (p->d->summary) {
        summary(p);
    }
    if (p->d->charts != REPORT_CHARTS_NONE && p->d->n_ch > 0) {
        charts(p);
    }
    if (p->d->alarms) {
        events(p);
    }
    footer(p);
}

/* ---------------------------------------------------------------- output */

typedef struct {
    report_write_fn fn;
    void *arg;
} sink;

static cairo_status_t write_cb(void *closure, const unsigned char *data, unsigned int len)
{
    const sink *k = closure;
    return k->fn(k->arg, data, len) == 0 ? CAIRO_STATUS_SUCCESS : CAIRO_STATUS_WRITE_ERROR;
}

int report_pdf_write(const report_doc *d, report_write_fn fn, void *arg, char *err, size_t cap)
{
    pdf p;
    sink k = {fn, arg};
    cairo_surface_t *surf;
    cairo_status_t cs;
    bool cjk = d->language != NULL &&
               (strcmp(d->language, "zh-CN") == 0 || strcmp(d->language, "ja") == 0);

    memset(&p, 0, sizeof p);
    p.d = d;
    p.lang = d->language;
    p.family = cjk ? FONT_CJK : FONT_LATIN;
    layout(&p); /* count the pages */
    p.pages = p.page;

    surf = cairo_pdf_surface_create_for_stream(write_cb, &k, PAGE_W, PAGE_H);
    cairo_pdf_surface_set_metadata(surf, CAIRO_PDF_METADATA_TITLE, d->title);
    cairo_pdf_surface_set_metadata(surf, CAIRO_PDF_METADATA_CREATOR, "Metron");
    p.cr = cairo_create(surf);
    p.lay = pango_cairo_create_layout(p.cr);
    {
        PangoContext *ctx = pango_layout_get_context(p.lay);
        pango_context_set_language(ctx, pango_language_from_string(
                                            d->language != NULL ? d->language : "en"));
        pango_layout_context_changed(p.lay);
    }
    layout(&p);
    cairo_show_page(p.cr);
    g_object_unref(p.lay);
    cs = cairo_status(p.cr);
    cairo_destroy(p.cr);
    cairo_surface_finish(surf);
    if (cs == CAIRO_STATUS_SUCCESS) {
        cs = cairo_surface_status(surf);
    }
    cairo_surface_destroy(surf);
    if (cs != CAIRO_STATUS_SUCCESS) {
        snprintf(err, cap, "the PDF could not be written: %s", cairo_status_to_string(cs));
        return -1;
    }
    return 0;
}
