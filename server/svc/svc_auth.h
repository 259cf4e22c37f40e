/* Sign-in rules (A1..A7, L4): who may sign in, how, from where, and what a
 * cookie or bearer token stands for. Storage is db_auth.c; HTTP is
 * http_auth.c. Every function takes the time from auth_now(). */
#ifndef MTS_SVC_AUTH_H
#define MTS_SVC_AUTH_H

#include <cjson/cJSON.h>
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

/* What a sign-in step or a resolved cookie or token gives: the user and
 * their plan, and for a sign-in the secret to hand to the client. The
 * failures are the caller's svc_error (svc.h). */
typedef struct {
    db_auth_user user;         /* the user (session_id: the session or token row) */
    int plan;                  /* the effective mt_plan of the user's account */
    bool challenge;            /* a sign-in whose password was right and whose second
                                * step is awaited: "secret" is the challenge */
    char secret[64];           /* the new cookie value or API token, or the challenge */
    int64_t expires;           /* the token's expiry (Unix s) */
    bool is_token;             /* secret is an API token (not a cookie) */
    char device[AUTH_DEVICE_CAP]; /* svc_auth_login() for a session: when the password
                                   * was right, the known-device cookie to set; else "" */
} auth_grant;

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
 * session. SVC_OK: out->secret is the cookie value (or the token, with
 * out->expires), or, with out->challenge, the challenge of the second step
 * (out->user.two_step the method; "email": a code was mailed). Failures:
 * SVC_UNAUTHENTICATED invalid_credentials (unknown users and wrong
 * passwords are answered alike and in about the same time, and both count
 * towards throttling), SVC_THROTTLED throttled (retry_after), SVC_FORBIDDEN
 * trial_expired / account_frozen / user_disabled / ip_not_allowed,
 * SVC_PLAN_LIMIT (a token without P20), SVC_UNAVAILABLE mail_unavailable,
 * SVC_DB, SVC_INTERNAL. A refusal of the user the password named (the
 * forbidden ones, plan_limit) is audited on their account as
 * auth.login_refused, and out->user then names them; after any other
 * failure it names nobody. */
MT_MUSTCHECK
svc_status svc_auth_login(srv *s, const auth_login *in, bool want_token, auth_grant *out,
                          svc_error *e);

/* Complete a two-step login with "code" for "challenge". SVC_OK as for
 * svc_auth_login(); SVC_UNAUTHENTICATED invalid_challenge (unknown or
 * expired) or invalid_code (wrong, expired or reused: audited as above),
 * SVC_THROTTLED, the account's refusals as for svc_auth_login(). */
MT_MUSTCHECK
svc_status svc_auth_two_step(srv *s, const char *challenge, const char *code, const char *ip,
                             const char *user_agent, auth_grant *out, svc_error *e);

/* Who a session cookie value or a bearer token stands for, at "ip". SVC_OK
 * with out->user (session_id = the session or token row) and out->plan;
 * SVC_UNAUTHENTICATED unauthenticated, SVC_FORBIDDEN trial_expired /
 * account_frozen / user_disabled / ip_not_allowed, SVC_PLAN_LIMIT (a token
 * after a downgrade), SVC_DB. */
MT_MUSTCHECK
svc_status svc_auth_resolve_cookie(srv *s, const char *cookie, const char *ip, auth_grant *out,
                                   svc_error *e);
MT_MUSTCHECK
svc_status svc_auth_resolve_token(srv *s, const char *token, const char *ip, auth_grant *out,
                                  svc_error *e);

/* ------------------------------------------------ the signed-in user
 *
 * "a" is the signed-in user; every function touches only their own rows.
 * Changes are audited in their transaction and forget resolved identities
 * (auth_forget_identities()) after the commit. */

/* End the actor's session (sign out). SVC_INVALID not_a_session for an API
 * token (tokens expire by themselves). */
MT_MUSTCHECK
svc_status svc_auth_logout(const svc_actor *a, svc_error *e);

/* The signed-in user as stored now, seen from the actor's address (the
 * allow-list verdict), into "out" (password hash cleared).
 * SVC_UNAUTHENTICATED when the user is gone. */
MT_MUSTCHECK
svc_status svc_auth_session_user(const svc_actor *a, db_auth_user *out, svc_error *e);

/* The user's live sessions, the actor's own marked current:
 * {"items": [...]} into *out (caller owns) (db_auth_sessions_json). */
MT_MUSTCHECK
svc_status svc_auth_sessions_list(const svc_actor *a, cJSON **out, svc_error *e);

/* End the user's session "session_id" (SVC_NOT_FOUND "no such session"
 * when it is not one of theirs). Audited as auth.session_end. */
MT_MUSTCHECK
svc_status svc_auth_session_end(const svc_actor *a, long long session_id, svc_error *e);

/* End every session of the user but the actor's own (all of them for a
 * token); *n_ended. Audited as auth.sessions_end. */
MT_MUSTCHECK
svc_status svc_auth_sessions_end_all(const svc_actor *a, long long *n_ended, svc_error *e);

/* The user's live API tokens, the actor's own marked current:
 * {"items": [...]} into *out (caller owns) (db_auth_tokens_json). */
MT_MUSTCHECK
svc_status svc_auth_tokens_list(const svc_actor *a, cJSON **out, svc_error *e);

/* Revoke the user's token "token_id" (SVC_NOT_FOUND "no such token" when it
 * is not one of their live tokens). Audited as auth.token_revoke. */
MT_MUSTCHECK
svc_status svc_auth_token_revoke(const svc_actor *a, long long token_id, svc_error *e);

/* Name the user's live token "token_id" (name: up to 100 characters, ""
 * for none); SVC_NOT_FOUND "no such token". Audited as auth.token_rename. */
MT_MUSTCHECK
svc_status svc_auth_token_rename(const svc_actor *a, long long token_id, const char *name,
                                 svc_error *e);

/* An administrator ("a") ends every session of user "user_id" of their
 * account and revokes the user's API tokens; naming themselves, their own
 * current session stays. SVC_NOT_FOUND "no such user". Audited as
 * user.sessions_end with the counts. */
MT_MUSTCHECK
svc_status svc_auth_user_sessions_end(const svc_actor *a, long long user_id, long long *n_sessions,
                                      long long *n_tokens, svc_error *e);

/* Change the signed-in user's password (A6) after checking "current"
 * (SVC_FORBIDDEN wrong_password, field current; SVC_INVALID the policy's
 * code, field new); the user's other sessions end (the actor's current
 * session stays). Audited as auth.password_change. */
MT_MUSTCHECK
svc_status svc_auth_change_password(const svc_actor *a, const char *current,
                                    const char *new_password, svc_error *e);

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
MT_MUSTCHECK
svc_status svc_auth_reset_request(srv *s, const auth_login *in, const char *base_url,
                                  svc_error *e);

/* A4: set "password" with the reset link's "token"; ends every session of
 * the user. Audited as auth.password_reset by the user, from "ip".
 * SVC_INVALID invalid_token (field token) or the policy's code (field
 * password), SVC_DB. */
MT_MUSTCHECK
svc_status svc_auth_reset(srv *s, const char *token, const char *password, const char *ip,
                          svc_error *e);

/* TOTP enrolment of the signed-in user: a new pending secret into
 * "secret_b32"/"uri" (caps 64 / SVC_AUTH_URI_CAP). Then confirm with a
 * code from the app. */
#define SVC_AUTH_URI_CAP 1400
MT_MUSTCHECK
svc_status svc_auth_totp_enrol(const svc_actor *a, char *secret_b32, char *uri, svc_error *e);

/* Confirm the pending secret with "code": two_step becomes "totp".
 * SVC_CONFLICT no_enrolment (nothing pending), SVC_INVALID invalid_code
 * (field code). Audited as auth.two_step_change. */
MT_MUSTCHECK
svc_status svc_auth_totp_confirm(const svc_actor *a, const char *code, svc_error *e);

/* Set the user's own two-step method to "off" or "email" (SVC_INVALID for
 * another, field mode; SVC_CONFLICT no_email for "email" without an
 * address). Audited as auth.two_step_change. */
MT_MUSTCHECK
svc_status svc_auth_set_two_step(const svc_actor *a, const char *mode, svc_error *e);

/* "q" is not available on "plan": SVC_PLAN_LIMIT with core's words. */
void svc_plan_refusal(mt_plan plan, mt_quota q, svc_error *e);

/* The account's IP allow-list (A7; the caller checked P21):
 * {"ip_allow_list": [...]} into *out (caller owns). */
MT_MUSTCHECK
svc_status svc_auth_ip_list_get(const svc_actor *a, cJSON **out, svc_error *e);

/* Replace the account's allow-list with the JSON array "list" of IPv4 or
 * IPv6 addresses with an optional /prefix (at most 100; an empty list
 * allows every address): SVC_INVALID missing / wrong_type / invalid_value
 * / too_long (field ip_allow_list), SVC_CONFLICT would_lock_out when the
 * list would not allow the actor's own address (nothing changes). Audited
 * as account.ip_allow_list_change; {"ip_allow_list": [...]} as stored into
 * *out (caller owns). */
MT_MUSTCHECK
svc_status svc_auth_ip_list_set(const svc_actor *a, const cJSON *list, cJSON **out, svc_error *e);

#endif
