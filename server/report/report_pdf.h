/* A report as PDF (docs/reports.md), drawn with cairo and laid out with
 * pango: A4 landscape, the title block, the summary table, the charts
 * (one per channel, or all channels overlaid) and the period's alarm
 * events, with "page n of N" on every page. Text in any of the seven
 * languages (CJK glyphs from WenQuanYi Micro Hei, Debian's
 * fonts-wqy-microhei; Latin from DejaVu Sans).
 *
 * Charts draw the buckets of doc->ch[i].bk the way the portal's viewer
 * draws the data API's buckets (portal/js/chart/buckets.mjs): four points
 * per bucket (first, the extremes, last), lines broken at gaps, special
 * values marked under the plot, the viewer's colours. */
#ifndef MTS_REPORT_PDF_H
#define MTS_REPORT_PDF_H

#include <stddef.h>

#include "report_doc.h"

/* Write "doc" as a PDF through "fn" (the bytes come in order while pages
 * are finished: nothing holds the whole file). Returns 0, or -1 with an
 * English reason in "err" ("cap" bytes). Thread-safe (one document per
 * call). */
int report_pdf_write(const report_doc *doc, report_write_fn fn, void *arg, char *err, size_t cap);

#endif
