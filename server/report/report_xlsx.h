/* A report as XLSX (libxlsxwriter; docs/reports.md): a summary sheet (the
 * report's head, the summary table with every figure as a number cell and
 * every time as a date cell in the report's time zone, and the period's
 * alarm events) and a samples sheet (one row per time, one column per
 * channel), written row by row in libxlsxwriter's constant-memory mode:
 * the samples stream through, whatever their number. A period of more
 * rows than a sheet takes (1,048,575 after the header) goes on in
 * "<Samples> (2)" and so on.
 *
 *     report_xlsx *x;
 *     if (report_xlsx_open(path, tmpdir, doc, &x, err, cap) != 0) ...
 *     while (more rows) report_xlsx_rows(x, &rows, err, cap);
 *     report_xlsx_close(x, err, cap);   // writes the file; x is freed
 */
#ifndef MTS_REPORT_XLSX_H
#define MTS_REPORT_XLSX_H

#include <stddef.h>

#include "report_doc.h"

typedef struct report_xlsx report_xlsx;

/* Start the workbook at "path" (temporary files in "tmpdir"), write the
 * summary sheet of "doc" and the samples sheet's header. "doc" is borrowed
 * until report_xlsx_close(). Returns 0 with *out, or -1 with "err". */
int report_xlsx_open(const char *path, const char *tmpdir, const report_doc *doc,
                     report_xlsx **out, char *err, size_t cap);

/* Append rows (in time order after the ones before). 0, or -1 with "err"
 * (close the workbook anyway and remove the file). */
int report_xlsx_rows(report_xlsx *x, const report_rows *rows, char *err, size_t cap);

/* Write the file and free "x" (NULL: nothing). 0, or -1 with "err". */
int report_xlsx_close(report_xlsx *x, char *err, size_t cap);

/* Rows written to the samples sheets so far. */
size_t report_xlsx_row_count(const report_xlsx *x);

#endif
