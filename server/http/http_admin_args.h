/* Helpers shared by the administration handlers (http_admin_*.c): the
 * acting user, strict reading of JSON members, and the reply to a service
 * call (its object with "ok_status", or its failure through
 * http_reply_svc(), http_svc.h). Every reader returns 0, or -1 after
 * replying with a 400. */
#ifndef MTS_HTTP_ADMIN_ARGS_H
#define MTS_HTTP_ADMIN_ARGS_H

#include <stdint.h>

#include "http.h"
#include "http_svc.h"
#include "svc_account.h"

/* Whether "s" is one of the portal's languages (zh-CN, ja, en, es, fr, de,
 * it). */
bool admin_language_known(const char *s);

/* The signed-in user of "req" as an svc_actor. */
svc_actor admin_actor(const http_req *req);

/* Reply to a service call that returned "st": SVC_OK: *obj (or, for NULL,
 * {"ok": true}) with "ok_status"; else the failure "e" (http_reply_svc()).
 * Takes *obj (set to NULL), so that a handler can write
 *     return admin_reply(req, 200, svc_x(&a, &o, &e), &o, &e);
 * Returns the status. */
int admin_reply(http_req *req, int ok_status, svc_status st, cJSON **obj, const svc_error *e);

/* Path parameter "i" as a positive id; anything else answers 404. */
MT_MUSTCHECK
int admin_id(http_req *req, int i, long long *out);

/* Whether "s" is an id as the API writes one: 1 to 18 decimal digits, the
 * first not 0 (no sign, space, exponent or leading zero: "+1", "01" and
 * "1e3" are not ids, and nothing overflows); the value into *out. Every
 * route reads its path ids through this (admin_id() and the routes that
 * answer with their own "no such ..."). */
bool http_id_text(const char *s, long long *out);

/* Boolean member: *out -1 when absent, else 0/1; not a boolean -> 400. */
MT_MUSTCHECK
int admin_bool(http_req *req, const char *name, int *out);

/* Integer member in [min, max]: absent -> *present false (400 missing when
 * "required"); not an integer -> wrong_type; out of range -> out_of_range. */
MT_MUSTCHECK
int admin_int(http_req *req, const char *name, bool required, long long min, long long max,
              long long *out, bool *present);

/* A string member that may be null: *set true when present (string or
 * null), *out the string or NULL. */
MT_MUSTCHECK
int admin_nullable_string(http_req *req, const char *name, size_t max_chars, bool *set,
                          const char **out);

/* A JSON array "arr" of distinct positive integer ids (at most 1000) into
 * *ids (caller frees; in the order given) with *n ids. Not an array / not
 * integers -> wrong_type; repeated -> 400 duplicate. */
MT_MUSTCHECK
int admin_id_list(http_req *req, const cJSON *arr, const char *field, int64_t **ids, size_t *n);

#endif
