/* Helpers shared by the administration routes of part B (http_admin_apps.c,
 * http_recipients.c, ...; written in http_admin_rows.c): the actor of a
 * request, ids in paths, typed JSON members, paging, rows as JSON, and
 * svc_error -> JSON error replies. */
#ifndef MTS_HTTP_ADMIN_ROWS_H
#define MTS_HTTP_ADMIN_ROWS_H

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "db.h"
#include "http.h"
#include "svc_apps.h"

/* The actor of "req" (account, user, role, plan, token, client address). */
svc_actor admb_actor(const http_req *req);

/* Path parameter "i" as a positive id. Returns 0, or -1 after replying 404
 * not_found (a malformed id names nothing). */
MT_MUSTCHECK
int admb_path_id(http_req *req, int i, long long *out);

/* Reply to a failed svc call (400/403/404/409/503/500). Returns the status. */
int admb_reply_err(http_req *req, const svc_error *e);

/* A boolean member: absent/null -> *out = -1; true/false -> 1/0; anything
 * else -> 400 wrong_type. Returns 0, or -1 after replying. */
MT_MUSTCHECK
int admb_json_bool(http_req *req, const cJSON *obj, const char *name, int *out);

/* Whether the JSON number "item" is an integer in 1..2^53 (*out set). */
bool admb_json_id_value(const cJSON *item, long long *out);

/* An id member (a positive integer, or null when "nullable"): *present
 * tells whether it was there (null counts, with *out = 0). Returns 0, or -1
 * after replying 400 wrong_type. */
MT_MUSTCHECK
int admb_json_id(http_req *req, const cJSON *obj, const char *name, bool nullable,
                 long long *out, bool *present);

/* A text member through http_json_string() that must also hold no control
 * characters and, unless "allow_empty", not be empty or blank (400
 * invalid). Returns 0, or -1 after replying. */
MT_MUSTCHECK
int admb_json_text(http_req *req, const cJSON *obj, const char *name, size_t max_chars,
                   bool required, bool allow_empty, const char **out);

/* Query parameter "name" as an integer within lo..hi (default "def" when
 * absent). Returns 0, or -1 after replying 400 invalid. */
MT_MUSTCHECK
int admb_query_int(http_req *req, const char *name, long long lo, long long hi, long long def,
                   long long *out);

/* Query parameter "name" into "out" ("" when absent). */
void admb_query_str(const http_req *req, const char *name, char *out, size_t cap);

/* Take a pooled connection for "req": 0, or -1 after replying (503). */
MT_MUSTCHECK
int admb_acquire(http_req *req, db_conn **c);

/* Reply 200 {"id": id, "deleted": true}. */
int admb_reply_deleted(http_req *req, long long id);

/* A row to JSON for the handlers (the request gives the plan, the role). */
typedef cJSON *(*admb_json_fn)(const http_req *req, const void *row);

/* How one kind of row is read and shown: "get" reads row "id" as "req"
 * may see it into "row" (*found), "to_json" shows it, "clear" frees its
 * strings; "what" names it in "no such <what>". */
typedef struct {
    const char *what;
    db_status (*get)(db_conn *c, const http_req *req, long long id, void *row, bool *found);
    admb_json_fn to_json;
    void (*clear)(void *row);
} admb_kind;

/* Read row "id" of kind "k" (into "row", a struct of that kind, cleared
 * again before returning) on a pooled connection and return its JSON
 * (caller owns), or NULL after replying: 404 not_found, the database
 * error, or 500 when out of memory. */
cJSON *admb_row_json(http_req *req, long long id, const admb_kind *k, void *row);

/* Reply "status" with the JSON of row "id" of kind "k" (admb_row_json()).
 * Returns the status. */
int admb_reply_row(http_req *req, int status, long long id, const admb_kind *k, void *row);

/* {"items": [to_json(row) for each of the "n" rows of "row_size" bytes at
 * "rows"]} (caller owns), or NULL when out of memory. */
cJSON *admb_items(const http_req *req, const void *rows, int n, size_t row_size,
                  admb_json_fn to_json);

/* cJSON helpers that add null for NULL/0. "name" must be a string literal
 * (it is not copied: lists of many rows make fewer allocations). */
void admb_add_str(cJSON *o, const char *name, const char *v);
void admb_add_id(cJSON *o, const char *name, long long v);

/* Add the integer "v" as member "name" (a string literal). Written as its
 * decimal text: this cJSON prints every number through printf("%1.15g")
 * and sscanf, which dominated the cost of long lists. */
void admb_add_int(cJSON *o, const char *name, long long v);

#endif
