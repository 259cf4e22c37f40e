/* Sign-in and security (FEATURES A1..A9): roles, the one clock of the auth
 * layer, and the small cryptographic helpers every auth file shares.
 *
 * All randomness comes from OpenSSL's CSPRNG (RAND_bytes), every hash and
 * MAC from libcrypto. Secrets handed to clients (session cookies, API
 * tokens, reset links, challenges) are 32 random bytes in base64url; the
 * database keeps only their SHA-256 (docs/auth.md). */
#ifndef MTS_AUTH_H
#define MTS_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Roles of http_req.role. 0 = nobody signed in. */
#define ROLE_ADMIN 1  /* account administrator: every function of the account */
#define ROLE_MEMBER 2 /* member: own data, groups granted to them, file rights below */

/* A member's rights on files (users.file_access); administrators have EDIT. */
#define FILE_ACCESS_NONE 0
#define FILE_ACCESS_VIEW 1
#define FILE_ACCESS_EDIT 2

/* A5: a session ends after this long without a request. */
#define AUTH_IDLE_TIMEOUT_S (24 * 3600)
/* A session's last-seen time is written at most this often. */
#define AUTH_TOUCH_EVERY_S 60
/* The pending second step of a login (challenge) lives this long. */
#define AUTH_CHALLENGE_TTL_S 600
/* E-mailed login codes live this long; A4 reset links 30 minutes. */
#define AUTH_EMAIL_CODE_TTL_S 600
#define AUTH_RESET_TTL_S 1800
/* Web API bearer tokens (A2) live this long. */
#define AUTH_TOKEN_TTL_S (30 * 24 * 3600)
/* Wrong codes allowed on one challenge before it is cancelled. */
#define AUTH_CHALLENGE_MAX_TRIES 5

/* A random secret: 32 bytes -> 43 base64url characters (no padding). */
#define AUTH_SECRET_BYTES 32
#define AUTH_SECRET_CHARS 43
/* Bytes of a SHA-256. */
#define AUTH_SHA256_BYTES 32

/* The longest login ID (account or user) and e-mail address sign-in
 * takes, in characters. */
#define AUTH_MAX_LOGIN_CHARS 64
#define AUTH_MAX_EMAIL_CHARS 254

/* Cookie names. */
#define AUTH_COOKIE "metron_session"

/* The role named "name" ("admin", "member") or 0; and back (NULL if none). */
int auth_role_from_name(const char *name);
const char *auth_role_name(int role);

/* File rights named "name" ("none", "view", "edit") or -1; and back. */
int auth_file_access_from_name(const char *name);
const char *auth_file_access_name(int access);

/* Now, in whole seconds since the Unix epoch, plus the test clock offset.
 * Every time decision of the auth layer uses this one function (and passes
 * it to SQL as a parameter: SQL's now() is never used for auth). */
int64_t auth_now(void);

/* auth_now() in milliseconds (the same clock and test offset), for the ages
 * of remembered identities and replies. */
int64_t auth_now_ms(void);

/* The test clock offset in seconds (METRON_TEST_ROUTES=1 only: set through
 * POST /api/v1/test/clock; setting it forgets remembered identities).
 * Thread-safe. */
void auth_set_clock_offset(int64_t offset_s);
int64_t auth_clock_offset(void);

/* How long an identity resolved from a cookie or token (svc_auth.c) or a
 * reply (reply_cache.h) is remembered, at most, while changes are NOT heard
 * (auth_listening() false): it bounds how long a change made by another
 * server process on the same database, or by hand in SQL, can go unnoticed
 * here. */
#define AUTH_CACHE_TTL_S 2
#define AUTH_CACHE_TTL_MS (AUTH_CACHE_TTL_S * 1000)
/* Once a remembered identity or reply is this many milliseconds old (while
 * changes are not heard), the first request that uses it has it read again
 * in the background (refresher.h) while every request keeps using it until
 * AUTH_CACHE_TTL_MS. */
#define AUTH_CACHE_REFRESH_MS 500
/* The same two while every committed change is heard (auth_listening()):
 * a change ends the entries of its account at once, so these only bound a
 * notification lost in a way the listener cannot see, and space the
 * at-most-once-a-minute touch of a session or token in use. */
#define AUTH_CACHE_HEARD_TTL_MS 60000
#define AUTH_CACHE_HEARD_REFRESH_MS 30000

/* The lifetime and refresh age of remembered entries now: the HEARD ones
 * while auth_listening(), the others otherwise. */
int64_t auth_cache_ttl_ms(void);
int64_t auth_cache_refresh_ms(void);

/* Changes heard from PostgreSQL (migration 012: NOTIFY metron_auth with the
 * account id, after any commit that can alter an identity or a remembered
 * reply of that account; server/db/db_listen.c). auth_account_changed()
 * moves the epoch of the account (of one of AUTH_ACCOUNT_BUCKETS buckets of
 * account ids: a change may end the entries of another account of its
 * bucket too, never fewer). auth_set_listening() is the listener's: true
 * while it hears every commit, false while it is not connected. */
#define AUTH_ACCOUNT_BUCKETS 4096
void auth_account_changed(long long account_id);
unsigned long long auth_account_epoch(long long account_id);

/* The epoch of what remembered replies of one account (bucket) show, apart
 * from auth_account_epoch(): http.c moves it after every API request of a
 * signed-in user of the account that may write (its writes can only change
 * that account's rows), so such a write ends that account's remembered
 * replies at once, and no other account's. Identities stay (a write that
 * changes them also calls auth_forget_identities()). */
void auth_account_state_changed(long long account_id);
unsigned long long auth_account_state_epoch(long long account_id);
void auth_set_listening(bool on);
bool auth_listening(void);

/* The count of every epoch move so far (auth_forget_identities(),
 * auth_state_changed(), auth_account_changed()): a read that began when it
 * was N and ends with it still N saw no change announced meanwhile. */
unsigned long long auth_change_count(void);

/* Identities resolved from a cookie or token are remembered for a moment
 * (svc_auth.c). auth_forget_identities() makes every one remembered so far
 * stale: call it after committing any change that ends sessions or tokens,
 * or changes what a user or account may do (role, disabled, plan, allow-
 * list). auth_identity_epoch() is the count of such calls. Thread-safe. */
void auth_forget_identities(void);
unsigned long long auth_identity_epoch(void);

/* The state epoch: the count of committed changes that may alter what a
 * remembered reply (reply_cache.h, e.g. GET /api/v1/me) shows. It moves on
 * every auth_forget_identities() and after every public API request that
 * may write (http.c: any method but GET and HEAD, except the apps'
 * ingestion routes; a signed-in user's writes move their account's epoch
 * instead, auth_account_state_changed()); call auth_state_changed() after
 * committing any other change to users or accounts. A reply is remembered with the epoch read before its database
 * read and counts only while the epoch has not moved. Thread-safe. */
void auth_state_changed(void);
unsigned long long auth_state_epoch(void);

/* Fill "out" with "n" bytes from the CSPRNG. Returns 0 or -1. */
int auth_random(unsigned char *out, size_t n);

/* A fresh secret: "text" (at least AUTH_SECRET_CHARS + 1 bytes) gets the
 * base64url form handed to the client, "hash" its SHA-256 (of the text).
 * Returns 0 or -1 (no randomness). */
int auth_new_secret(char *text, size_t text_cap, unsigned char hash[AUTH_SHA256_BYTES]);

/* SHA-256 of "len" bytes at "data" into "out". */
void auth_sha256(const void *data, size_t len, unsigned char out[AUTH_SHA256_BYTES]);

/* auth_sha256() of a secret a client presents with every request (a
 * session cookie, an API token), remembered: a secret seen lately is
 * recognised by a keyed 128-bit SipHash of it (a key drawn at random per
 * process) and its SHA-256 copied from memory. Only the two hashes are
 * kept, never the secret. The result is the same as auth_sha256()'s; what
 * the hash may do (an identity, a revocation) is decided by its callers as
 * before. Thread-safe. */
void auth_secret_sha256(const char *secret, size_t len, unsigned char out[AUTH_SHA256_BYTES]);

/* SipHash-2-4 with a 128-bit result (the reference's 16-byte output) of
 * "len" bytes at "data" under the 16-byte "key", into "out". */
void auth_siphash128(const unsigned char key[16], const void *data, size_t len,
                     unsigned char out[16]);

/* The PostgreSQL bytea hex literal of "len" bytes ("\\x0a1b..."), NUL
 * terminated, into "out" (at least 2 * len + 3 bytes). Returns "out". */
char *auth_bytea_hex(const unsigned char *data, size_t len, char *out);

/* Parse a bytea hex text ("\\x0a1b...", as libpq returns it) into "out"
 * (capacity "cap"). Returns the byte count, or -1 when malformed/too long. */
int auth_bytea_parse(const char *text, unsigned char *out, size_t cap);

/* base64url without padding of "len" bytes into "out" (cap >= 4*len/3+2).
 * Returns the length written (NUL-terminated), or -1 when "out" is short. */
int auth_base64url(const unsigned char *data, size_t len, char *out, size_t cap);

/* Constant-time equality of two byte strings of length "len". */
bool auth_equal(const void *a, const void *b, size_t len);

/* The CSRF token of a session: base64url(HMAC-SHA256(key = the session
 * cookie value, "metron-csrf")), into "out" (>= AUTH_SECRET_CHARS + 1).
 * Derived, so it needs no storage of its own and dies with the session.
 * Returns 0 or -1. */
int auth_csrf_token(const char *cookie_value, char *out, size_t cap);

#endif
