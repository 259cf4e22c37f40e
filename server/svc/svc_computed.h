/* Business rules of computed channels (X1-X4, P8; docs/computed.md): who
 * may read and change them, the expression (compiled by core) and its
 * inputs, the quota P8 per measurement group, and the back-fill that each
 * new or changed definition needs.
 *
 * Reading needs access to the channel's group (administrators: every
 * group; members: a 'view' or 'edit' grant, directly or through a team);
 * changing needs 'edit' (administrators, and members granted 'edit'). A
 * group or channel the user may not see is 404, one they may only view is
 * 403 forbidden. Every change is one transaction with its audit entry. */
#ifndef MTS_SVC_COMPUTED_H
#define MTS_SVC_COMPUTED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "mt/expr.h"
#include "svc_apps.h"

/* Failures are svc.h's svc_error; an error in the expression is
 * SVC_INVALID with code "expression_error", has_pos and the byte offset
 * "pos" (the HTTP layer answers 400 expression_error with "position"). */

/* A definition as the API gives it: NULL members (and n_inputs 0 with
 * inputs NULL) are "not given" (keep, on an edit). */
typedef struct {
    const char *name;
    const char *unit;
    const char *expression;
    const int64_t *inputs;
    size_t n_inputs;
} svc_cx_def;

/* Check "expression" against "n_inputs" inputs bound to CH1..CHn: it
 * compiles (core's error and position otherwise), names no CHk beyond the
 * inputs (position of the first such CHk) and uses every input. SVC_OK, or
 * SVC_INVALID in "e". Pure: no database. */
MT_MUSTCHECK
svc_status svc_cx_check_expression(const char *expression, size_t n_inputs, svc_error *e);

/* The computed channels of group "group_id" as a JSON array (*json, caller
 * frees). */
MT_MUSTCHECK
svc_status svc_cx_list(db_pool *pool, const svc_actor *a, long long group_id, char **json,
                    svc_error *e);

/* Computed channel "id" as a JSON object (*json, caller frees). */
MT_MUSTCHECK
svc_status svc_cx_get(db_pool *pool, const svc_actor *a, long long id, char **json,
                   svc_error *e);

/* Create a computed channel in group "group_id" from "d" (name, expression
 * and inputs required), schedule its back-fill; *id = the new channel. */
MT_MUSTCHECK
svc_status svc_cx_create(db_pool *pool, const svc_actor *a, long long group_id,
                      const svc_cx_def *d, long long *id, svc_error *e);

/* Change computed channel "id": a new expression or new inputs are checked
 * together with what is kept, clear the channel's values and schedule its
 * back-fill (when they differ from the stored ones). */
MT_MUSTCHECK
svc_status svc_cx_update(db_pool *pool, const svc_actor *a, long long id, const svc_cx_def *d,
                      svc_error *e);

/* Copy computed channel "id" into its group as a new channel named "name"
 * (NULL: the source's name + " (copy)"), back-filled like a new one. */
MT_MUSTCHECK
svc_status svc_cx_copy(db_pool *pool, const svc_actor *a, long long id, const char *name,
                    long long *new_id, svc_error *e);

/* Delete computed channel "id" with its values. */
MT_MUSTCHECK
svc_status svc_cx_delete(db_pool *pool, const svc_actor *a, long long id, svc_error *e);

#endif
