/* Sign-in rules (A1..A7, L4): who may sign in, how, from where, and what a
 * cookie or bearer token stands for. Storage is db_auth.c; HTTP is
 * http_auth.c. Every function takes the time from auth_now(). */
#ifndef MTS_SVC_AUTH_H
#define MTS_SVC_AUTH_H

#include <stdbool.h>
#include <stdint.h>

#include "audit.h"
#include "db_auth.h"
#include "mt/plan.h"
#include "srv.h"
#include "svc.h"

/* Login throttling (docs/auth.md "Throttling"): failures per user (the
 * user an account+user or e-mail login resolves to, whichever login ID
 * named them; the login text itself when it names nobody), per known
 * device and per client address before a lock, and the first lock's length
 * (it doubles with every further failure, up to AUTH_LOCK_MAX_S). A user's
 * lock is soft: the right password from a device that signed in as them
 * before (its device cookie, AUTH_DEVICE_COOKIE) still passes; the lock of
 * an address is not. */
#define AUTH_USER_FAILURES 5
#define AUTH_IP_FAILURES 20
#define AUTH_LOCK_FIRST_S 15
#define AUTH_LOCK_MAX_S 3600
/* An hour without a failure starts a key's count again (login_throttle;
 * the trial creation limit counts per hour too): older rows are swept. */
#define AUTH_THROTTLE_WINDOW_S 3600
/* The known-device cookie: set when a password was right, valid for
 * AUTH_DEVICE_TTL_S or until the user's password changes. */
#define AUTH_DEVICE_COOKIE "metron_device"
#define AUTH_DEVICE_TTL_S (180 * 86400)
#define AUTH_DEVICE_CAP 128

typedef enum {
    AUTH_OK = 0,
    AUTH_TWO_STEP,        /* password right; the second step is awaited (challenge) */
    AUTH_BAD_CREDENTIALS, /* 401 invalid_credentials: unknown user or wrong password */
    AUTH_THROTTLED,       /* 429 throttled: retry_after */
    AUTH_TRIAL_EXPIRED,   /* 403 trial_expired (L4) */
    AUTH_FROZEN,          /* 403 account_frozen */
    AUTH_DISABLED,        /* 403 user_disabled */
    AUTH_IP_DENIED,       /* 403 ip_not_allowed (A7) */
    AUTH_PLAN_LIMIT,      /* 403 plan_limit: quota / plan */
    AUTH_BAD_CODE,        /* 401 invalid_code: wrong, expired or reused code */
    AUTH_BAD_CHALLENGE,   /* 401 invalid_challenge: unknown or expired challenge */
    AUTH_BAD_TOKEN,       /* 400 invalid_token: unknown, used or expired reset link */
    AUTH_UNAUTHENTICATED, /* 401 unauthenticated: no or dead session/token */
    AUTH_POLICY,          /* 400 A6 policy: policy */
    AUTH_MAIL_FAILED,     /* 503 mail_unavailable */
    AUTH_DB,              /* database trouble: db */
    AUTH_INTERNAL         /* 500 */
} auth_result;

typedef struct {
    auth_result code;
    db_status db;              /* AUTH_DB */
    int64_t retry_after;       /* AUTH_THROTTLED: seconds */
    mt_quota quota;            /* AUTH_PLAN_LIMIT */
    int policy;                /* AUTH_POLICY: a pw_policy */
    int plan;                  /* the effective mt_plan of the user's account */
    db_auth_user user;         /* the user (when known) */
    char secret[64];           /* AUTH_OK: the new cookie value or API token;
                                * AUTH_TWO_STEP: the challenge */
    int64_t expires;           /* the token's expiry (Unix s) */
    bool is_token;             /* secret is an API token (not a cookie) */
    char device[AUTH_DEVICE_CAP]; /* svc_auth_login() for a session: when the password
                                   * was right, the known-device cookie to set; else "" */
} auth_outcome;

/* What a login form sends: "account" + "user" (A1, alternative login ID
 * included), or "email" for Trial; and "password". "ip" is the client
 * address, "user_agent" may be NULL. */
typedef struct {
    const char *account;
    const char *user;
    const char *email;
    const char *password;
    const char *ip;
    const char *user_agent;
    const char *device; /* the known-device cookie sent, or NULL */
} auth_login;

/* The effective plan (mt_plan) of "u" at "now" (L3: an expired Standard or
 * Pro licence counts as Free). */
int svc_auth_effective_plan(const db_auth_user *u, int64_t now);

/* Sign in. "want_token": a Web API token (A2, Pro only) instead of a portal
 * session. AUTH_OK: out->secret is the cookie value (or the token, with
 * out->expires); AUTH_TWO_STEP: out->secret is the challenge and
 * out->user.two_step the method ("email": a code was mailed). Failures as
 * in auth_result; unknown users and wrong passwords are answered alike and
 * in about the same time, and both count towards throttling. */
void svc_auth_login(srv *s, const auth_login *in, bool want_token, auth_outcome *out);

/* Complete a two-step login with "code" for "challenge". AUTH_OK as for
 * svc_auth_login(). */
void svc_auth_two_step(srv *s, const char *challenge, const char *code, const char *ip,
                       const char *user_agent, auth_outcome *out);

/* Who a session cookie value or a bearer token stands for, at "ip". AUTH_OK
 * with out->user (session_id = the session or token row) and out->plan;
 * AUTH_UNAUTHENTICATED, AUTH_TRIAL_EXPIRED, AUTH_FROZEN, AUTH_IP_DENIED,
 * AUTH_PLAN_LIMIT (a token after a downgrade), AUTH_DB. */
void svc_auth_resolve_cookie(srv *s, const char *cookie, const char *ip, auth_outcome *out);
void svc_auth_resolve_token(srv *s, const char *token, const char *ip, auth_outcome *out);

/* End one session. */
db_status svc_auth_logout(srv *s, long long account_id, long long session_id);

/* ------------------------------------------------ own sessions and tokens
 *
 * "who" is the signed-in user (audit.h); every function touches only their
 * own rows. Changes are audited in their transaction and forget resolved
 * identities (auth_forget_identities()) after the commit. */

/* The user's live sessions as a JSON array text into *json (caller frees),
 * "current_id" marked current (db_auth_sessions_json). */
db_status svc_auth_sessions_list(srv *s, const audit_who *who, long long current_id,
                                 char **json);

/* End the user's session "session_id" (*found false when it is not one of
 * theirs). Audited as auth.session_end. */
db_status svc_auth_session_end(srv *s, const audit_who *who, long long session_id,
                               bool *found);

/* End every session of the user but "keep_id" (0 = all); *n_ended.
 * Audited as auth.sessions_end. */
db_status svc_auth_sessions_end_all(srv *s, const audit_who *who, long long keep_id,
                                    long long *n_ended);

/* The user's live API tokens as a JSON array text into *json (caller
 * frees), "current_id" marked current (db_auth_tokens_json). */
db_status svc_auth_tokens_list(srv *s, const audit_who *who, long long current_id,
                               char **json);

/* Revoke the user's token "token_id" (*found false when it is not one of
 * their live tokens). Audited as auth.token_revoke. */
db_status svc_auth_token_revoke(srv *s, const audit_who *who, long long token_id,
                                bool *found);

/* Name the user's live token "token_id" (name: up to 100 characters, "" for
 * none); *found false when it is not one of theirs. Audited as
 * auth.token_rename. */
db_status svc_auth_token_rename(srv *s, const audit_who *who, long long token_id,
                                const char *name, bool *found);

/* An administrator ("who") ends every session of user "user_id" of their
 * account and revokes the user's API tokens; "keep_id" (0 = none) is a
 * session left alone (the administrator's own current one, when they name
 * themselves). *found false when the account has no such user. Audited as
 * user.sessions_end with the counts. */
db_status svc_auth_user_sessions_end(srv *s, const audit_who *who, long long user_id,
                                     long long keep_id, bool *found, long long *n_sessions,
                                     long long *n_tokens);

/* Change the signed-in user's ("who") password (A6) after checking
 * "current"; the user's other sessions end (the current session
 * "keep_session" stays). Audited as auth.password_change. */
void svc_auth_change_password(srv *s, const audit_who *who, long long keep_session,
                              const char *current, const char *new_password,
                              auth_outcome *out);

/* Reset requests (A4) a user, a mailbox and a client address may make in
 * an hour (AUTH_THROTTLE_WINDOW_S without one starts the count again):
 * past them a request is answered as usual and does nothing. */
#define AUTH_RESET_PER_USER 3
#define AUTH_RESET_PER_EMAIL 3
#define AUTH_RESET_PER_IP 10

/* A4: a reset link for the user named by "account"+"user" or by "email"
 * (Trial), from client address in->ip. For an existing user who is not
 * disabled and has an e-mail address, within the limits above: the user's
 * unused links are replaced by a new one (AUTH_RESET_TTL_S) and its mail
 * is put into the outbox (svc_notify.h: sensitive, in the user's language)
 * in the same transaction, audited as auth.reset_request. "base_url" is
 * the portal's origin for the link.
 *
 * The caller has answered the client already (202 whatever happens here,
 * docs/auth.md): the work after the reply, and the mail after the commit,
 * tell nothing about the user by their timing. Returns SVC_OK also when
 * nothing was done (unknown user, no address, a limit); SVC_DB / SVC_NOMEM
 * / SVC_INTERNAL in "e" only for the server's own log. */
svc_status svc_auth_reset_request(srv *s, const auth_login *in, const char *base_url,
                                  svc_error *e);

/* A4: set "password" with the reset link's "token"; ends every session of
 * the user. Audited as auth.password_reset by the user, from "ip". AUTH_OK
 * with out->user filled; AUTH_BAD_TOKEN; AUTH_POLICY. */
void svc_auth_reset(srv *s, const char *token, const char *password, const char *ip,
                    auth_outcome *out);

/* TOTP enrolment: a new pending secret into "secret_b32"/"uri" (caps 64 /
 * SVC_AUTH_URI_CAP). Then confirm with a code from the app. */
#define SVC_AUTH_URI_CAP 1400
void svc_auth_totp_enrol(srv *s, long long account_id, long long user_id, char *secret_b32,
                         char *uri, auth_outcome *out);
/* Confirming is audited as auth.two_step_change, by "who". */
void svc_auth_totp_confirm(srv *s, const audit_who *who, const char *code, auth_outcome *out);

/* Set the user's ("who") own two-step method to "off" or "email" (audited
 * as auth.two_step_change). DB_CONSTRAINT: "email" without an address. */
db_status svc_auth_set_two_step(srv *s, const audit_who *who, const char *mode);

/* The failure "o" (o->code neither AUTH_OK nor AUTH_TWO_STEP) as the
 * service contract's svc_error: SVC_UNAUTHENTICATED invalid_credentials /
 * invalid_code / invalid_challenge / unauthenticated, SVC_THROTTLED
 * throttled (retry_after), SVC_FORBIDDEN trial_expired / account_frozen /
 * user_disabled / ip_not_allowed, SVC_PLAN_LIMIT, SVC_INVALID
 * invalid_token or the A6 policy's code (field password), SVC_UNAVAILABLE
 * mail_unavailable, SVC_DB, SVC_INTERNAL. */
void auth_outcome_error(const auth_outcome *o, svc_error *e);

/* "q" is not available on "plan": SVC_PLAN_LIMIT with core's words. */
void svc_plan_refusal(mt_plan plan, mt_quota q, svc_error *e);

#endif
