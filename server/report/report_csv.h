/* A report as CSV (docs/reports.md): two files, the summary table (one row
 * per channel) and the samples (one row per time, one column per
 * channel), each as the export's CSV files are written (docs/export.md):
 * UTF-8 with a byte-order mark, commas, CRLF, RFC 4180 quoting, names
 * that a spreadsheet would take for a formula prefixed with an
 * apostrophe, times as ISO 8601 local time with the UTC offset, values
 * that read back to the same double, special values as +OVER, -OVER,
 * BREAK, ERROR, and an empty cell where a channel has no sample. Column
 * titles are in the report's language. */
#ifndef MTS_REPORT_CSV_H
#define MTS_REPORT_CSV_H

#include <stddef.h>

#include "report_doc.h"

/* The summary table of "doc" through "fn". 0, or -1 when "fn" failed. */
int report_csv_summary(const report_doc *doc, report_write_fn fn, void *arg);

/* The samples file: its header row ... */
int report_csv_samples_head(const report_doc *doc, report_write_fn fn, void *arg);

/* ... then its rows, in time order, as many calls as needed. */
int report_csv_samples_rows(const report_doc *doc, const report_rows *rows, report_write_fn fn,
                            void *arg);

#endif
