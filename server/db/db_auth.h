/* Storage of sign-in state (db_*.c conventions, docs/auth.md): users'
 * credentials, sessions, API tokens, login throttling, e-mailed codes,
 * reset links, TOTP state and the IP allow-list. libpq only: every
 * statement is prepared and parameterised, every tenant statement filtered
 * by account_id. Times are Unix seconds passed in by the caller (auth_now()):
 * SQL's now() is never used for a decision. Secrets are stored only as
 * SHA-256 hashes (the callers pass hashes, never the secrets). */
#ifndef MTS_DB_AUTH_H
#define MTS_DB_AUTH_H

#include <stdbool.h>
#include <stdint.h>

#include "db.h"

/* A user as sign-in sees them, with what is needed to decide about their
 * account. Strings are copies (fixed buffers). */
typedef struct {
    long long account_id;
    long long user_id;
    long long session_id;     /* db_auth_session_get / token: the session/token row */
    char role[16];            /* "admin" / "member" */
    char file_access[8];      /* "none" / "view" / "edit" */
    char plan[16];            /* the stored plan name */
    int64_t licence_expires;  /* Unix s; -1 = none */
    int64_t trial_expires;    /* Unix s; -1 = none */
    int64_t token_expires;    /* token rows: Unix s; -1 = never */
    bool frozen;              /* accounts.status = 'frozen' */
    bool disabled;            /* users.disabled */
    bool ip_ok;               /* the client address passes the allow-list (or it is empty) */
    bool ip_list_set;         /* the allow-list is not empty */
    bool via_alt;             /* found through the alternative login ID (P23) */
    bool email_login;         /* a Trial user signing in by e-mail */
    char stage[12];           /* sessions: "active" / "two_step" */
    char purpose[8];          /* sessions: "portal" / "token" */
    bool view_only;           /* sessions: a temporary view-only sign-in (A8); it ends at
                               * token_expires and never slides */
    char two_step[8];         /* "off" / "email" / "totp" */
    char login_id[72];
    char account_login[72];   /* "" for Trial */
    char name[128];
    char email[264];
    char password_hash[264];  /* only filled by the login look-ups */
} db_auth_user;

/* Look up the user for a login: "account" is an account login ID or an
 * alternative login ID (lower-cased by the caller), "user" the user's login
 * ID; "ip" is the client address for the allow-list test. DB_OK with
 * *found false when there is no such user. */
db_status db_auth_find_login(db_conn *c, const char *account, const char *user, const char *ip,
                             db_auth_user *out, bool *found);

/* The same for a Trial user signing in with "email" (any case). */
db_status db_auth_find_email_login(db_conn *c, const char *email, const char *ip,
                                   db_auth_user *out, bool *found);

/* A user by id (password hash included). */
db_status db_auth_find_user(db_conn *c, long long account_id, long long user_id, const char *ip,
                            db_auth_user *out, bool *found);

/* Insert a session (or a two-step challenge: stage "two_step") with the
 * SHA-256 "token_hash" and "csrf_hash", idle until now + "ttl_s". Sets
 * *session_id. */
db_status db_auth_session_insert(db_conn *c, long long account_id, long long user_id,
                                 const unsigned char *token_hash, const unsigned char *csrf_hash,
                                 const char *stage, const char *purpose, int64_t now,
                                 int64_t ttl_s, const char *ip, const char *user_agent,
                                 long long *session_id);

/* Find a live session by "token_hash" (idle_expires_at > now) with its user
 * and account, and slide its idle expiry to now + AUTH_IDLE_TIMEOUT_S when
 * it was last written more than AUTH_TOUCH_EVERY_S ago (active sessions
 * only). */
db_status db_auth_session_get(db_conn *c, const unsigned char *token_hash, int64_t now,
                              const char *ip, db_auth_user *out, bool *found);

/* Delete one session; every session of a user (except "keep_id", 0 =
 * none), with *n_deleted (may be NULL) the count. */
db_status db_auth_session_delete(db_conn *c, long long account_id, long long session_id);
db_status db_auth_sessions_delete_user(db_conn *c, long long account_id, long long user_id,
                                       long long keep_id, long long *n_deleted);

/* Delete session "session_id" if it is a signed-in session of "user_id"
 * (not a pending two-step challenge): *found. */
db_status db_auth_session_delete_own(db_conn *c, long long account_id, long long user_id,
                                     long long session_id, bool *found);

/* The live signed-in sessions of "user_id" at "now" as a JSON array text
 * into *json (caller frees), most recently used first: {id, current (the
 * row "current_id"), created_at, last_seen_at, idle_expires_at, ip,
 * user_agent}, times as 'YYYY-MM-DDTHH:MM:SSZ'. */
db_status db_auth_sessions_json(db_conn *c, long long account_id, long long user_id,
                                long long current_id, int64_t now, char **json);

/* The live (neither revoked nor expired at "now") API tokens of "user_id"
 * as a JSON array text into *json (caller frees), newest first: {id, name,
 * current (the row "current_id"), created_at, last_used_at, expires_at}. */
db_status db_auth_tokens_json(db_conn *c, long long account_id, long long user_id,
                              long long current_id, int64_t now, char **json);

/* Revoke the live token "token_id" of "user_id" at "now": *found. */
db_status db_auth_token_revoke(db_conn *c, long long account_id, long long user_id,
                               long long token_id, int64_t now, bool *found);

/* Name the user's live token "token_id" (*found false when it is not one). */
db_status db_auth_token_rename(db_conn *c, long long account_id, long long user_id,
                               long long token_id, const char *name, int64_t now, bool *found);

/* Revoke every live token of "user_id" at "now"; *n_revoked the count. */
db_status db_auth_tokens_revoke_user(db_conn *c, long long account_id, long long user_id,
                                     int64_t now, long long *n_revoked);

/* Login throttling. The latest lock among "key1"/"key2" still running at
 * "now" into *locked_until (0 = none). */
db_status db_auth_throttle_check(db_conn *c, const char *key1, const char *key2, int64_t now,
                                 int64_t *locked_until);
/* Count a failure for "key" at "now" (the count restarts after an hour
 * without failures); *failures is the new count. */
db_status db_auth_throttle_fail(db_conn *c, const char *key, int64_t now, int *failures);
/* Lock "key" until "until". */
db_status db_auth_throttle_lock(db_conn *c, const char *key, int64_t until);
/* Forget "key" (after a successful sign-in). */
db_status db_auth_throttle_clear(db_conn *c, const char *key);

/* users.last_login_at = now. */
db_status db_auth_user_logged_in(db_conn *c, long long account_id, long long user_id,
                                 int64_t now);

/* API tokens (A2). */
db_status db_auth_token_insert(db_conn *c, long long account_id, long long user_id,
                               const unsigned char *token_hash, int64_t now, int64_t expires,
                               long long *token_id);
db_status db_auth_token_get(db_conn *c, const unsigned char *token_hash, int64_t now,
                            const char *ip, db_auth_user *out, bool *found);

/* E-mailed login codes (A3), tied to a challenge session. */
db_status db_auth_email_code_insert(db_conn *c, long long account_id, long long user_id,
                                    long long session_id, const unsigned char *code_hash,
                                    int64_t expires);
/* The live code of a challenge: *found, its id, hash and attempts. */
db_status db_auth_email_code_get(db_conn *c, long long account_id, long long session_id,
                                 int64_t now, long long *code_id, unsigned char *code_hash,
                                 int *attempts, bool *found);
db_status db_auth_email_code_attempt(db_conn *c, long long account_id, long long code_id);
db_status db_auth_email_code_use(db_conn *c, long long account_id, long long code_id,
                                 int64_t now);

/* TOTP: the confirmed secret and last used step (-1 = none), and the
 * pending secret of an enrolment (len 0 when none). */
db_status db_auth_totp_get(db_conn *c, long long account_id, long long user_id,
                           unsigned char *secret, int *secret_len, unsigned char *pending,
                           int *pending_len, int64_t *last_step);
/* Record "step" as used, only if it is newer than the last one: *taken is
 * false when another request used it (or a newer step) first. */
db_status db_auth_totp_use_step(db_conn *c, long long account_id, long long user_id,
                                int64_t step, bool *taken);
db_status db_auth_totp_set_pending(db_conn *c, long long account_id, long long user_id,
                                   const unsigned char *secret, int len);
/* Make the pending secret the user's, two_step = 'totp', last step "step". */
db_status db_auth_totp_confirm(db_conn *c, long long account_id, long long user_id,
                               int64_t step);
/* Set two_step to "off" or "email" (and drop any TOTP secret). */
db_status db_auth_set_two_step(db_conn *c, long long account_id, long long user_id,
                               const char *mode);

/* Passwords. */
db_status db_auth_set_password(db_conn *c, long long account_id, long long user_id,
                               const char *hash, int64_t now);

/* Reset links (A4). */
db_status db_auth_reset_insert(db_conn *c, long long account_id, long long user_id,
                               const unsigned char *token_hash, int64_t now, int64_t expires);
/* Delete the user's reset links that are not used yet (a new link
 * replaces them: only the latest one works). Inside a transaction: it
 * locks the user's row until the commit, so concurrent requests of one
 * user take turns. */
db_status db_auth_reset_drop_unused(db_conn *c, long long account_id, long long user_id);
/* Mark the live, unused link "token_hash" used at "now": *found with its
 * account and user. */
db_status db_auth_reset_take(db_conn *c, const unsigned char *token_hash, int64_t now,
                             long long *account_id, long long *user_id, bool *found);

/* IP allow-list (A7) as a JSON array text of CIDR strings into "out". */
db_status db_auth_ip_list_get(db_conn *c, long long account_id, char *out, size_t cap);
/* Replace it with the JSON array text "json" (already validated). */
db_status db_auth_ip_list_set(db_conn *c, long long account_id, const char *json);

/* Background clean-ups (jobs.c). Each deletes at most "limit" rows that
 * can no longer be used at "now" and sets *n to how many. They work across
 * accounts (maintenance, like login_throttle itself): the only statements
 * here not filtered by an account id.
 * - sessions: idle past their expiry (two-step challenges included; their
 *   e-mailed codes go with them);
 * - e-mailed codes and reset links: past their expiry (used or not);
 * - API tokens: expired or revoked;
 * - login throttle rows: no failure for "window_s" seconds and no lock
 *   running (their count would start again anyway). */
db_status db_auth_sweep_sessions(db_conn *c, int64_t now, int limit, long long *n);
db_status db_auth_sweep_email_codes(db_conn *c, int64_t now, int limit, long long *n);
db_status db_auth_sweep_resets(db_conn *c, int64_t now, int limit, long long *n);
db_status db_auth_sweep_tokens(db_conn *c, int64_t now, int limit, long long *n);
db_status db_auth_sweep_throttle(db_conn *c, int64_t now, int window_s, int limit,
                                 long long *n);

/* A9: one audit_log row. "user_id" 0 = none (a system or app action);
 * "app_id" the acting app (kind "app"), 0 = none; "target_type" may be NULL,
 * "target_id" 0 = none; "ip" may be NULL; "detail_json" is a JSON object
 * text ("{}" when NULL). The actor's login is copied from users, an app's
 * name from apps (into actor_login). */
db_status db_audit_insert(db_conn *c, long long account_id, int64_t at, const char *actor_kind,
                          long long user_id, long long app_id, const char *action,
                          const char *target_type, long long target_id, const char *ip,
                          const char *detail_json);

/* A9: one entry of the audit log. */
typedef struct {
    long long id;
    char *at;          /* ISO 8601 UTC */
    char *actor_kind;  /* user, api_token, app or system */
    long long user_id; /* 0 = none */
    long long app_id;  /* the acting app (kind app); 0 = none */
    char *actor_login;
    char *action;
    char *target_type; /* NULL = none */
    long long target_id; /* 0 = none */
    char *ip;          /* NULL = unknown */
    char *detail;      /* a JSON object's text */
    /* db_audit_target_names(): the target's name now (NULL = none: no
     * target, gone, or a kind or item without a name) and whether the
     * target no longer exists in the account. */
    char *target_name;
    bool target_gone;
} db_audit_entry;

/* Which entries of the audit log: before (an id, 0 = none), user_id (the
 * acting user, 0 = any), action (NULL = any; an action, or its start ending
 * with '.'), from_us / to_us (microseconds, -1 = open; at >= from, at < to),
 * actor_kind (NULL = any; user, api_token, app or system), app_id (the
 * acting app, 0 = any). An entry that a server of before 076 wrote as the
 * system's with {"app_id"} in its detail counts as that app's. */
typedef struct {
    long long before;
    long long user_id;
    const char *action;
    long long from_us;
    long long to_us;
    const char *actor_kind;
    long long app_id;
} db_audit_filter;

/* A9: up to "limit" entries of the account that "f" lets through, newest
 * first: *out (caller frees with db_audit_entries_free(); NULL when none)
 * and *n. Newest first is by id ("before": id < before), but with from /
 * to and no other filter by time (at, then id; "before": after the entry
 * of that id in that order, none when it is no entry of the account). */
db_status db_audit_list(db_conn *c, long long account_id, const db_audit_filter *f, int limit,
                        db_audit_entry **out, int *n);

/* A9: fill target_name / target_gone of the "n" entries "rows" of the
 * account (db_audit_list()) with their targets' names now, in one statement
 * for the page: a user, team, measurement group, app, instrument (its name,
 * else its model and serial), channel (computed ones too), dashboard,
 * recipient, destination, Web API token, report, alarm rule, Drive file or
 * folder, file shared with the apps, equipment list or the account itself,
 * of the account only. Other kinds (a session, an inquiry ...) have no name
 * and are not looked up (never "gone"). */
db_status db_audit_target_names(db_conn *c, long long account_id, db_audit_entry *rows, int n);

void db_audit_entries_free(db_audit_entry *rows, int n);

/* Test-only (METRON_TEST_ROUTES=1): create an account on "plan" with
 * "login_id" (NULL for Trial) and "alt_login_id" (may be NULL); Standard and
 * Pro get a licence until "licence_expires" (Unix s), Trial expires at
 * "trial_expires". Sets *account_id. */
db_status db_auth_test_account(db_conn *c, const char *login_id, const char *alt_login_id,
                               const char *name, const char *plan, int64_t licence_expires,
                               int64_t trial_expires, long long *account_id);

/* Test-only: a user of "account_id". "email" may be NULL. */
db_status db_auth_test_user(db_conn *c, long long account_id, const char *login_id,
                            const char *name, const char *email, bool email_login,
                            const char *role, const char *file_access, const char *password_hash,
                            long long *user_id);

#endif
