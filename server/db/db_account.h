/* Storage of accounts, trials and quotation requests (administration API,
 * part A), and small query helpers shared by db_users.c.
 *
 * libpq only: prepared statements with parameters, results as C values or
 * as JSON text built by PostgreSQL (json_build_object), which the service
 * layer parses. Every statement filters on the account id it is given. */
#ifndef MTS_DB_ACCOUNT_H
#define MTS_DB_ACCOUNT_H

#include <stdbool.h>
#include <stdint.h>

#include "db.h"
#include "mt/caltime.h"

/* Run "stmt" and copy the first column of its first row: as malloc'd text
 * into *out (caller frees; NULL when there is no row) ... */
db_status db_q_text(db_conn *c, db_stmt *stmt, int n, const char *const *p, char **out);
/* ... as an integer into *out with *found (may be NULL) ... */
db_status db_q_int(db_conn *c, db_stmt *stmt, int n, const char *const *p, long long *out,
                   bool *found);
/* ... or run it and give the number of rows it changed. */
db_status db_q_exec(db_conn *c, db_stmt *stmt, int n, const char *const *p, long long *changed);

/* Decimal text of "v" into "buf" (24 bytes); returns buf. */
const char *db_ll(long long v, char buf[24]);

/* Lock the account row (SELECT ... FOR UPDATE) for the rest of the
 * transaction; *found false when there is no such account. */
db_status db_account_lock(db_conn *c, long long account_id, bool *found);

typedef struct {
    char plan[16];
    bool has_expiry;
    mt_day expiry;          /* licence expiry date (UTC) */
    int term_months;        /* licence term bought (P25); 0 = none */
    bool has_changed;
    mt_day changed_day;     /* date of the last plan change (UTC) */
    int64_t n_users, n_teams, n_groups, n_apps;
    int64_t storage_bytes;  /* bytes stored for the account: logo, acquired data, drive (P2) */
    int64_t max_alarms_per_group, max_computed_per_group; /* the fullest group's count */
    bool has_alt_login;
    bool has_ip_allow;
    bool has_logo;
    char *json;             /* the account as JSON text (caller frees) */
} db_account_row;

/* Read the account with its counts. *found false when absent (then nothing
 * to free). Call after db_account_lock() when the counts guard a change. */
db_status db_account_get(db_conn *c, long long account_id, db_account_row *out, bool *found);

/* Apply PATCH /api/v1/account: NULL members are unchanged; "set_alt" with
 * alt NULL clears the alternative login ID. *changed = rows updated. */
db_status db_account_update(db_conn *c, long long account_id, const char *name,
                            const char *const subscriber[6], const char *time_zone,
                            const char *language, bool set_alt, const char *alt,
                            long long *changed);

/* Whether "tz" is a time zone PostgreSQL knows (pg_timezone_names). */
db_status db_time_zone_known(db_conn *c, const char *tz, bool *known);

/* Set plan, licence term ("term" NULL = none), licence expiry date
 * ("expiry" 'YYYY-MM-DD' or NULL) and the plan-change instant "changed_at". */
db_status db_account_set_plan(db_conn *c, long long account_id, const char *plan,
                              const char *term, const char *expiry, const char *changed_at);

/* Turn a trial into "plan" with account login ID "login_id" (DB_CONFLICT
 * when taken): trial expiry cleared, the user's e-mail login ended. */
db_status db_account_upgrade_trial(db_conn *c, long long account_id, const char *login_id,
                                   const char *plan, const char *term, const char *expiry,
                                   const char *changed_at);

/* A new trial account with its one administrator. DB_CONFLICT when the
 * e-mail already signs in to a trial. */
db_status db_trial_create(db_conn *c, const char *email, const char *user_login,
                          const char *password_hash, const char *created_at,
                          const char *expires_at, long long *account_id, long long *user_id);

/* Count one event under "key" in a window of "window_s" seconds ending at
 * "now" (login_throttle); *count = events in the current window. */
db_status db_throttle_hit(db_conn *c, const char *key, const char *now, int window_s,
                          long long *count);

/* Quotation requests: insert (the new row as JSON into *json) and list. */
db_status db_quotation_insert(db_conn *c, long long account_id, long long user_id,
                              const char *plan, int months, const char *note,
                              const char *created_at, char **json);
db_status db_quotation_list(db_conn *c, long long account_id, char **json);

#endif
