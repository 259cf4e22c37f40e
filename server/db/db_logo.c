/* Storage of the account logo (G7; see db_logo.h). */
#define _POSIX_C_SOURCE 200809L
#include "db_logo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_account.h"
#include "db_apps.h"


static db_stmt st_logo_get = {"admb_logo_get",
    "SELECT logo_content_type, encode(logo, 'hex') FROM accounts "
    "WHERE id = $1 AND logo IS NOT NULL", 0};
static db_stmt st_logo_set = {"admb_logo_set",
    "UPDATE accounts SET logo = decode($2, 'hex'), logo_content_type = $3 WHERE id = $1", 0};
static db_stmt st_logo_delete = {"admb_logo_delete",
    "UPDATE accounts SET logo = NULL, logo_content_type = NULL "
    "WHERE id = $1 AND logo IS NOT NULL", 0};

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9') {
        return ch - '0';
    }
    if (ch >= 'a' && ch <= 'f') {
        return ch - 'a' + 10;
    }
    if (ch >= 'A' && ch <= 'F') {
        return ch - 'A' + 10;
    }
    return -1;
}

db_status db_logo_get(db_conn *c, long long account_id, unsigned char **data, size_t *len,
                      char *content_type, size_t ct_cap, bool *found)
{
    char a[24];
    const char *p[] = {a};
    PGresult *res = NULL;
    db_status st;
    DB_ID(a, account_id);
    *data = NULL;
    *len = 0;
    *found = false;
    st = db_exec(c, &st_logo_get, 1, p, &res);
    if (st == DB_OK && PQntuples(res) == 1) {
        const char *hex = PQgetvalue(res, 0, 1);
        size_t hex_len = (size_t)PQgetlength(res, 0, 1), n = hex_len / 2;
        unsigned char *buf = malloc(n > 0 ? n : 1);
        if (buf == NULL) {
            st = DB_ERROR;
        } else {
            for (size_t i = 0; i < n; i++) {
                buf[i] = (unsigned char)(hexval(hex[2 * i]) << 4 | hexval(hex[2 * i + 1]));
            }
            snprintf(content_type, ct_cap, "%s", PQgetvalue(res, 0, 0));
            *data = buf;
            *len = n;
            *found = true;
        }
    }
    PQclear(res);
    return st;
}

db_status db_logo_set(db_conn *c, long long account_id, const char *data_hex,
                      const char *content_type)
{
    char a[24];
    const char *p[] = {a, data_hex, content_type};
    DB_ID(a, account_id);
    return db_exec(c, &st_logo_set, 3, p, NULL);
}

db_status db_logo_delete(db_conn *c, long long account_id, bool *found)
{
    char a[24];
    const char *p[] = {a};
    DB_ID(a, account_id);
    return db_exec_found(c, &st_logo_delete, 1, p, found);
}
