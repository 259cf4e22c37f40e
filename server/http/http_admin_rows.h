/* Helpers shared by the administration routes of part B (http_admin_apps.c,
 * http_recipients.c, ...; written in http_admin_rows.c): the actor of a
 * request, ids in paths, typed JSON members, paging, and svc_error -> JSON
 * error replies. (The services build the JSON of rows: json_out.h.) */
#ifndef MTS_HTTP_ADMIN_ROWS_H
#define MTS_HTTP_ADMIN_ROWS_H

#include <cjson/cJSON.h>
#include <stdbool.h>

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

/* Reply 200 {"id": id, "deleted": true}. */
int admb_reply_deleted(http_req *req, long long id);

#endif
