/* Users (G2), teams (G3), measurement groups (G1) and the signed-in user's
 * own information and current group (M1): tenancy, quotas P4/P5/P6 (from
 * core), role rules and audit. Conventions as in svc_account.h. */
#ifndef MTS_SVC_USERS_H
#define MTS_SVC_USERS_H

#include "svc_account.h"

/* A user's fields: NULL = not given (on update: unchanged). "email_set"
 * with email NULL clears the address; likewise language and time_zone. */
typedef struct {
    const char *login_id; /* create only */
    const char *name;
    bool email_set;
    const char *email;
    const char *role;        /* "admin" | "member" */
    const char *file_access; /* "none" | "view" | "edit" */
    const char *two_step;    /* "off" | "email" | "totp" ("none" = "off") */
    const char *password;    /* A6 policy */
    int disabled;            /* -1 not given, 0, 1 */
    bool language_set;
    const char *language;
    bool time_zone_set;
    const char *time_zone;
    /* PATCH /me only: the language to set when the profile has none
     * (users.language NULL), decided by the server in one statement, so
     * that it never replaces a language chosen meanwhile. */
    const char *language_if_unset;
} svc_user_input;

MT_MUSTCHECK
svc_status svc_users_list(const svc_actor *a, cJSON **out, svc_error *e);
MT_MUSTCHECK
svc_status svc_user_get(const svc_actor *a, long long id, cJSON **out, svc_error *e);
MT_MUSTCHECK
svc_status svc_user_create(const svc_actor *a, const svc_user_input *in, cJSON **out, svc_error *e);
MT_MUSTCHECK
svc_status svc_user_update(const svc_actor *a, long long id, const svc_user_input *in, cJSON **out,
                           svc_error *e);
MT_MUSTCHECK
svc_status svc_user_delete(const svc_actor *a, long long id, cJSON **out, svc_error *e);

MT_MUSTCHECK
svc_status svc_teams_list(const svc_actor *a, cJSON **out, svc_error *e);
MT_MUSTCHECK
svc_status svc_team_get(const svc_actor *a, long long id, cJSON **out, svc_error *e);
/* "member_ids" ("n_members" distinct ids) may be NULL: not given. */
MT_MUSTCHECK
svc_status svc_team_create(const svc_actor *a, const char *name, const char *description,
                           const int64_t *member_ids, size_t n_members, cJSON **out, svc_error *e);
MT_MUSTCHECK
svc_status svc_team_update(const svc_actor *a, long long id, const char *name,
                           const char *description, const int64_t *member_ids, size_t n_members,
                           cJSON **out, svc_error *e);
MT_MUSTCHECK
svc_status svc_team_delete(const svc_actor *a, long long id, cJSON **out, svc_error *e);
MT_MUSTCHECK
svc_status svc_team_add_member(const svc_actor *a, long long id, long long user_id, cJSON **out,
                               svc_error *e);
MT_MUSTCHECK
svc_status svc_team_remove_member(const svc_actor *a, long long id, long long user_id, cJSON **out,
                                  svc_error *e);

MT_MUSTCHECK
svc_status svc_groups_list(const svc_actor *a, cJSON **out, svc_error *e);
MT_MUSTCHECK
svc_status svc_group_get(const svc_actor *a, long long id, cJSON **out, svc_error *e);
MT_MUSTCHECK
svc_status svc_group_create(const svc_actor *a, const char *name, const char *description,
                            cJSON **out, svc_error *e);
/* "set_tz": set the group's own time zone to "time_zone" (a name
 * PostgreSQL knows; NULL = the account's again), the zone of its reports'
 * periods. */
MT_MUSTCHECK
svc_status svc_group_update(const svc_actor *a, long long id, const char *name,
                            const char *description, bool set_tz, const char *time_zone,
                            cJSON **out, svc_error *e);
MT_MUSTCHECK
svc_status svc_group_delete(const svc_actor *a, long long id, cJSON **out, svc_error *e);

/* Replace a group's access lists: distinct user ids with their grants
 * ("view"/"edit"), and team ids with theirs. */
typedef struct {
    const int64_t *user_ids;
    const char *const *user_access;
    size_t n_users;
    const int64_t *team_ids;
    const char *const *team_access;
    size_t n_teams;
} svc_group_access;

MT_MUSTCHECK
svc_status svc_group_set_access(const svc_actor *a, long long id, const svc_group_access *in,
                                cJSON **out, svc_error *e);

/* M1: the signed-in user (with their account's name and plans), updating
 * name / e-mail / language / time zone, and the current group. */
MT_MUSTCHECK
svc_status svc_me_get(const svc_actor *a, cJSON **out, svc_error *e);
/* GET /me as the JSON text of svc_me_get()'s object, remembered for a
 * moment (reply_cache.h; auth.h, auth_state_changed()). SVC_OK with *text
 * (caller owns it: free()) of *len bytes; otherwise the failure in "e" and
 * *text untouched. */
MT_MUSTCHECK
svc_status svc_me_get_text(const svc_actor *a, char **text, size_t *len, svc_error *e);
MT_MUSTCHECK
svc_status svc_me_update(const svc_actor *a, const svc_user_input *in, cJSON **out, svc_error *e);
MT_MUSTCHECK
svc_status svc_me_group_get(const svc_actor *a, cJSON **out, svc_error *e);
/* "group_id" 0 clears the selection. */
MT_MUSTCHECK
svc_status svc_me_group_set(const svc_actor *a, long long group_id, cJSON **out, svc_error *e);

#endif
