/* Query helpers the db_*.c files share (see db_rows.h). */
#define _POSIX_C_SOURCE 200809L
#include "db_rows.h"

#include <stdlib.h>
#include <string.h>

db_status db_rows_map(const PGresult *res, const db_field *fields, int n_fields, size_t row_size,
                      void **out, int *n)
{
    int rows = PQntuples(res);
    char *buf;
    *out = NULL;
    *n = 0;
    if (rows == 0) {
        return DB_OK;
    }
    buf = calloc((size_t)rows, row_size);
    if (buf == NULL) {
        return DB_ERROR;
    }
    for (int r = 0; r < rows; r++) {
        char *row = buf + (size_t)r * row_size;
        for (int f = 0; f < n_fields && f < PQnfields(res); f++) {
            bool null = PQgetisnull(res, r, f);
            const char *v = PQgetvalue(res, r, f);
            switch (fields[f].type) {
            case DBF_STR: {
                char *copy = NULL;
                if (!null && (copy = strdup(v)) == NULL) {
                    db_rows_free(buf, r + 1, fields, n_fields, row_size);
                    return DB_ERROR;
                }
                memcpy(row + fields[f].off, &copy, sizeof copy);
                break;
            }
            case DBF_I64: {
                long long x = null ? 0 : strtoll(v, NULL, 10);
                memcpy(row + fields[f].off, &x, sizeof x);
                break;
            }
            case DBF_BOOL: {
                bool b = !null && v[0] == 't';
                memcpy(row + fields[f].off, &b, sizeof b);
                break;
            }
            }
        }
    }
    *out = buf;
    *n = rows;
    return DB_OK;
}

void db_rows_free(void *rows, int n, const db_field *fields, int n_fields, size_t row_size)
{
    char *buf = rows;
    if (buf == NULL) {
        return;
    }
    for (int r = 0; r < n; r++) {
        for (int f = 0; f < n_fields; f++) {
            if (fields[f].type == DBF_STR) {
                char *s;
                memcpy(&s, buf + (size_t)r * row_size + fields[f].off, sizeof s);
                free(s);
            }
        }
    }
    free(buf);
}

void db_row_clear(void *row, const db_field *fields, int n_fields)
{
    for (int f = 0; f < n_fields; f++) {
        if (fields[f].type == DBF_STR) {
            char *str, *null = NULL;
            memcpy(&str, (char *)row + fields[f].off, sizeof str);
            free(str);
            memcpy((char *)row + fields[f].off, &null, sizeof null);
        }
    }
}

db_status db_exec_found(db_conn *c, db_stmt *stmt, int n, const char *const *p, bool *found)
{
    PGresult *res = NULL;
    db_status st = db_exec(c, stmt, n, p, &res);
    *found = false;
    if (st == DB_OK) {
        const char *tuples = PQcmdTuples(res);
        *found = PQntuples(res) > 0 || (tuples[0] != '\0' && strcmp(tuples, "0") != 0);
    }
    PQclear(res);
    return st;
}

db_status db_exec_rows(db_conn *c, db_stmt *stmt, int n, const char *const *p,
                       const db_field *fields, int n_fields, size_t row_size, void **out,
                       int *n_rows)
{
    PGresult *res = NULL;
    db_status st = db_exec(c, stmt, n, p, &res);
    *out = NULL;
    *n_rows = 0;
    if (st == DB_OK) {
        st = db_rows_map(res, fields, n_fields, row_size, out, n_rows);
    }
    PQclear(res);
    return st;
}

db_status db_exec_one(db_conn *c, db_stmt *stmt, int n, const char *const *p,
                      const db_field *fields, int n_fields, size_t row_size, void *out, bool *found)
{
    void *rows = NULL;
    int n_rows = 0;
    db_status st = db_exec_rows(c, stmt, n, p, fields, n_fields, row_size, &rows, &n_rows);
    memset(out, 0, row_size);
    *found = st == DB_OK && n_rows == 1;
    if (*found) {
        memcpy(out, rows, row_size);
        free(rows); /* the strings moved into *out */
    } else {
        db_rows_free(rows, n_rows, fields, n_fields, row_size);
    }
    return st;
}

char *db_text_array(const char *const *words, size_t n)
{
    size_t cap = 3, len = 0;
    char *s;
    for (size_t i = 0; i < n; i++) {
        cap += 2 * strlen(words[i]) + 3;
    }
    if ((s = malloc(cap)) == NULL) {
        return NULL;
    }
    s[len++] = '{';
    for (size_t i = 0; i < n; i++) {
        if (i > 0) {
            s[len++] = ',';
        }
        s[len++] = '"';
        for (const char *w = words[i]; *w; w++) {
            if (*w == '"' || *w == '\\') {
                s[len++] = '\\';
            }
            s[len++] = *w;
        }
        s[len++] = '"';
    }
    s[len++] = '}';
    s[len] = '\0';
    return s;
}
