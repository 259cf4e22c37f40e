/* Query helpers the db_*.c files share: result rows mapped into structs by
 * a field table, statements run for their rows / one row / whether they
 * found one, and the SQL and parameter text every file writes alike. */
#ifndef MTS_DB_ROWS_H
#define MTS_DB_ROWS_H

#include "mt/status.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "db.h"

/* SQL: column "col" (a timestamptz) as ISO 8601 UTC with milliseconds. */
#define DB_ISO(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

/* The text parameter of id "v" in the char array "buf". */
#define DB_ID(buf, v) snprintf(buf, sizeof buf, "%lld", (long long)(v))


typedef enum { DBF_STR = 0, DBF_I64, DBF_BOOL } db_field_type;

/* Column i of a result goes into the member at "off" of a row struct: a
 * char * (heap copy, NULL for SQL NULL), a long long (0 for NULL) or a bool. */
typedef struct {
    db_field_type type;
    size_t off;
} db_field;

/* Map every row of "res" (column i -> fields[i]) into a new array of
 * "row_size"-byte structs. Returns DB_OK with *out (caller frees with
 * db_rows_free(); NULL when there are no rows) and *n, or DB_ERROR when out
 * of memory (*out NULL). */
MT_MUSTCHECK
db_status db_rows_map(const PGresult *res, const db_field *fields, int n_fields, size_t row_size,
                      void **out, int *n);

/* Free "n" rows made by db_rows_map() with the same field table ("rows" may
 * be NULL). */
void db_rows_free(void *rows, int n, const db_field *fields, int n_fields, size_t row_size);

/* Free the strings of one mapped row (not the row itself). */
void db_row_clear(void *row, const db_field *fields, int n_fields);

/* Run "stmt" and map every row of its result into a new array of
 * "row_size"-byte structs (db_rows_map(); *out NULL and *n_rows 0 on
 * failure or without rows). */
MT_MUSTCHECK
db_status db_exec_rows(db_conn *c, db_stmt *stmt, int n, const char *const *p,
                       const db_field *fields, int n_fields, size_t row_size, void **out,
                       int *n_rows);

/* Run "stmt" and map exactly one row into "out" ("row_size" bytes, zeroed
 * otherwise): *found false when there is no row (or more than one). Free
 * its strings with db_row_clear(). */
MT_MUSTCHECK
db_status db_exec_one(db_conn *c, db_stmt *stmt, int n, const char *const *p,
                      const db_field *fields, int n_fields, size_t row_size, void *out,
                      bool *found);

/* Run "stmt" and report whether it returned or changed a row. */
MT_MUSTCHECK
db_status db_exec_found(db_conn *c, db_stmt *stmt, int n, const char *const *p, bool *found);

/* The text form of a text[] parameter holding the "n" strings "words",
 * each quoted ("{\"view\",\"edit\"}"; backslashes and quotes escaped).
 * Caller frees; NULL when out of memory. */
char *db_text_array(const char *const *words, size_t n);

#endif
