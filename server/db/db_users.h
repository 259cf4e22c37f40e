/* Storage of users (G2), teams (G3), measurement groups with their per-user
 * and per-team access (G1) and the current-group selection (M1).
 *
 * Every function takes the account id and every statement filters on it:
 * an id of another account is simply not found. Results are C values or
 * JSON text built by PostgreSQL (caller frees; NULL = no such row). Arrays
 * of ids are passed as PostgreSQL array literals ("{1,2,3}") built by the
 * caller from validated integers. */
#ifndef MTS_DB_USERS_H
#define MTS_DB_USERS_H

#include <stdbool.h>
#include <stdint.h>

#include "db.h"

/* ----------------------------------------------------------------- users */
db_status db_users_list(db_conn *c, long long account_id, char **json);
db_status db_user_get(db_conn *c, long long account_id, long long id, char **json);

typedef struct {
    bool found;
    bool admin;
    bool has_email;
    bool has_totp;
    char login_id[72];
} db_user_facts;

db_status db_user_facts_get(db_conn *c, long long account_id, long long id, db_user_facts *out);
db_status db_users_count_admins(db_conn *c, long long account_id, long long *n);

/* DB_CONFLICT when "login_id" is taken in the account. */
db_status db_user_insert(db_conn *c, long long account_id, const char *login_id,
                         const char *name, const char *email, const char *role,
                         const char *file_access, const char *two_step, const char *hash,
                         long long *id);

/* NULL = unchanged, except where a "set_*" flag says to write the value
 * (which may then be NULL to clear it). "disabled" is "true"/"false"/NULL. */
typedef struct {
    const char *name;
    bool set_email;
    const char *email;
    const char *role;
    const char *file_access;
    const char *two_step;
    const char *disabled;
    bool set_language;
    const char *language;
    bool set_time_zone;
    const char *time_zone;
    const char *password_hash;
} db_user_patch;

db_status db_user_update(db_conn *c, long long account_id, long long id, const db_user_patch *p,
                         long long *changed);
/* Set the user's language to "language" only while it has none (one
 * UPDATE ... WHERE language IS NULL: a language set by a concurrent
 * request that commits first is kept). *changed: 1 if set, else 0. */
db_status db_user_language_if_unset(db_conn *c, long long account_id, long long id,
                                    const char *language, long long *changed);
db_status db_user_delete(db_conn *c, long long account_id, long long id, long long *changed);

/* How many of the "n" distinct "ids" are users (or teams) of the account:
 * *found. */
db_status db_users_count_ids(db_conn *c, long long account_id, const int64_t *ids, size_t n,
                             long long *found);
db_status db_teams_count_ids(db_conn *c, long long account_id, const int64_t *ids, size_t n,
                             long long *found);

/* ----------------------------------------------------------------- teams */
db_status db_teams_list(db_conn *c, long long account_id, char **json);
db_status db_team_get(db_conn *c, long long account_id, long long id, char **json);
db_status db_team_insert(db_conn *c, long long account_id, const char *name,
                         const char *description, long long *id);
db_status db_team_update(db_conn *c, long long account_id, long long id, const char *name,
                         const char *description, long long *changed);
db_status db_team_delete(db_conn *c, long long account_id, long long id, long long *changed);
/* Replace the members of team "id" by the "n" users "ids". */
db_status db_team_set_members(db_conn *c, long long account_id, long long id,
                              const int64_t *ids, size_t n);
db_status db_team_add_member(db_conn *c, long long account_id, long long id, long long user_id);
db_status db_team_remove_member(db_conn *c, long long account_id, long long id,
                                long long user_id, long long *changed);

/* ---------------------------------------------------------------- groups */
/* Groups that "user_id" may see ("admin": all), each with "my_access"
 * ('edit' for administrators, else the best of the user's and their teams'
 * grants). */
db_status db_groups_list(db_conn *c, long long account_id, long long user_id, bool admin,
                         char **json);
/* One group if the user may see it (NULL otherwise); "admin" adds the
 * access lists. */
db_status db_group_get(db_conn *c, long long account_id, long long user_id, bool admin,
                       long long id, char **json);
db_status db_group_insert(db_conn *c, long long account_id, const char *name,
                          const char *description, long long *id);
/* The group's own time zone ("time_zone" NULL: the account's). */
db_status db_group_set_time_zone(db_conn *c, long long account_id, long long id,
                                 const char *time_zone, long long *changed);
db_status db_group_update(db_conn *c, long long account_id, long long id, const char *name,
                          const char *description, long long *changed);
db_status db_group_delete(db_conn *c, long long account_id, long long id, long long *changed);
/* Replace the access lists of group "id": the "n_users" users "uids" with
 * the grants "uacc" ("view"/"edit"), the "n_teams" teams "tids" with
 * "tacc". */
db_status db_group_set_access(db_conn *c, long long account_id, long long id,
                              const int64_t *uids, const char *const *uacc, size_t n_users,
                              const int64_t *tids, const char *const *tacc, size_t n_teams);

/* ------------------------------------------------------------------- me */
/* The user's current group id (0 = none). */
/* M1 in one round trip: the user as db_user_get() shows them into
 * *user_json, and a summary of their account {id, login_id, alt_login_id,
 * name, plan, time_zone, language, trial_expires_at} into *account_json
 * (both caller frees; both NULL when there is no such user). */
db_status db_me_get(db_conn *c, long long account_id, long long user_id, char **user_json,
                    char **account_json);

db_status db_me_current_group(db_conn *c, long long account_id, long long user_id,
                              long long *group_id);
db_status db_me_set_current_group(db_conn *c, long long account_id, long long user_id,
                                  long long group_id);

#endif
