/* Dashboards (B1-B3, M6, P9; docs/dashboards.md): per measurement group,
 * up to the plan's dashboards per group; their panels (dash_panels.h);
 * the pictures of picture panels, kept once per account and counted
 * against the storage quota (P2); and the one request of a refresh, which
 * answers everything a dashboard's panels need (svc_dash_data()).
 *
 * Rights: anyone who may view the group sees its dashboards; changes need
 * edit access to the group (administrators have it on every group). A
 * group, dashboard or picture the actor may not see is SVC_NOT_FOUND, as
 * one that does not exist; a view-only member's change is SVC_FORBIDDEN.
 * Every function returns an svc_status and fills "e" on failure. */
#ifndef MTS_SVC_DASHBOARD_H
#define MTS_SVC_DASHBOARD_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "svc.h"

#define DASH_NAME_MAX 100            /* characters */
#define DASH_PICTURE_MAX (5 << 20)   /* bytes of one picture */
#define DASH_PICTURE_GRACE_S 3600    /* an unused picture is kept this long after its upload */
#define DASH_SERIES_CAP 12000        /* samples of one channel and window sent as they are */
#define DASH_REDUCED_BUCKETS 1000    /* buckets of a window holding more (4 points each) */

/* A dashboard as the client gives it: NULL / absent members are kept as
 * they are (on creation: name required, panels empty). */
typedef struct {
    const char *name;
    const cJSON *panels;  /* a JSON array, or NULL */
    bool has_version;     /* refuse with version_conflict unless it is "version" */
    long long version;
} svc_dash_def;

/* {items: [{id, group_id, name, panel_count, version, created_at,
 * updated_at}], total, can_edit, quota: {id: "P9", limit, used}} of group
 * "group_id" into *json (caller frees). */
MT_MUSTCHECK svc_status svc_dash_list(const svc_actor *a, long long group_id, char **json,
                                      svc_error *e);

/* Dashboard "id": {id, group_id, name, panels, version, can_edit,
 * created_at, updated_at} into *json (caller frees). */
MT_MUSTCHECK svc_status svc_dash_get(const svc_actor *a, long long id, char **json,
                                     svc_error *e);

/* Create a dashboard in group "group_id" (edit access; P9: SVC_PLAN_LIMIT
 * at the plan's limit). The panels are checked (dash_panels_read()) and
 * every channel must belong to the group, every picture to the account;
 * SVC_INVALID names the first that does not. *id is the new id. */
MT_MUSTCHECK svc_status svc_dash_create(const svc_actor *a, long long group_id,
                                        const svc_dash_def *d, long long *id, svc_error *e);

/* Rename and/or replace the panels of dashboard "id" (the same checks);
 * with d->has_version, SVC_CONFLICT "version_conflict" when it has been
 * changed since that version. The version moves on by one. */
MT_MUSTCHECK svc_status svc_dash_update(const svc_actor *a, long long id, const svc_dash_def *d,
                                        svc_error *e);

/* Add one panel to dashboard "id" (M6, "Add to dashboard" from the
 * monitor): in the first free place of the grid unless it says where
 * (dash_panels_add()). */
MT_MUSTCHECK svc_status svc_dash_add_panel(const svc_actor *a, long long id, const cJSON *panel,
                                           svc_error *e);

/* Copy dashboard "id" into its group as "name" (NULL: its name +
 * " (copy)", cut to DASH_NAME_MAX characters); P9 as on creation. */
MT_MUSTCHECK svc_status svc_dash_copy(const svc_actor *a, long long id, const char *name,
                                      long long *new_id, svc_error *e);

/* Delete dashboard "id"; its pictures stay until no dashboard shows them
 * (then the next change of a dashboard of the account removes them once
 * DASH_PICTURE_GRACE_S have passed since their upload). */
MT_MUSTCHECK svc_status svc_dash_delete(const svc_actor *a, long long id, svc_error *e);

/* ------------------------------------------------------------- pictures */

/* Before reading an upload of "length" bytes (-1: not told): the actor
 * may edit some group (else SVC_FORBIDDEN), the picture is at most
 * DASH_PICTURE_MAX bytes (SVC_TOO_LARGE "too_large") and fits the room
 * left in the storage quota (SVC_TOO_LARGE with the P2 quota). */
MT_MUSTCHECK svc_status svc_dash_picture_precheck(const svc_actor *a, long long length,
                                                  svc_error *e);

/* Store the picture "data" ("len" bytes) named "name" (may be NULL or "")
 * once per account: when the account already has these bytes (same
 * SHA-256), that picture is answered and *created is false. The type and
 * size come from its header (picture_info.h; SVC_INVALID "not_a_picture"
 * otherwise); the quota is checked again under the account lock. *json:
 * the picture {id, sha256, content_type, width, height, size, name,
 * created_at, used_by} (caller frees). */
MT_MUSTCHECK svc_status svc_dash_picture_add(const svc_actor *a, const unsigned char *data,
                                             size_t len, const char *name, char **json,
                                             bool *created, svc_error *e);

/* {items: [picture], storage: {used, limit, picture_bytes}} of the
 * account (for the actor who may edit some group). */
MT_MUSTCHECK svc_status svc_dash_picture_list(const svc_actor *a, char **json, svc_error *e);

/* The bytes of picture "id" (*data caller frees), its content type and
 * its SHA-256 in hex (*type, *sha: 32 and 65 bytes). */
MT_MUSTCHECK svc_status svc_dash_picture_content(const svc_actor *a, long long id,
                                                 unsigned char **data, size_t *len, char *type,
                                                 char *sha, svc_error *e);

/* Delete picture "id" (SVC_CONFLICT "in_use" while a dashboard shows it). */
MT_MUSTCHECK svc_status svc_dash_picture_delete(const svc_actor *a, long long id, svc_error *e);

/* ------------------------------------------------------------- refresh */

/* Everything the panels of dashboard "id" need, for one refresh:
 * "since" (µs, 0 = none) asks only for samples from that time on (the
 * client keeps the rest); "client_version" (0 = none) is the version of
 * the dashboard the client shows: the dashboard itself is in the answer
 * when it differs. *json / *len: the answer (caller frees); see
 * docs/dashboards.md for its members and its bounds. */
MT_MUSTCHECK svc_status svc_dash_data(const svc_actor *a, long long id, int64_t since,
                                      long long client_version, char **json, size_t *len,
                                      svc_error *e);

#endif
