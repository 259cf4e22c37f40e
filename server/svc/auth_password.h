/* Passwords: the A6 policy and argon2id hashing (libargon2, OWASP's
 * parameters: t=2, m=19456 KiB, p=1, 16-byte random salt, 32-byte hash). */
#ifndef MTS_AUTH_PASSWORD_H
#define MTS_AUTH_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>

/* Longest password accepted (bytes): bounds the hashing work. */
#define PASSWORD_MAX_BYTES 256
/* Room for an encoded hash ("$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>"). */
#define PASSWORD_HASH_CAP 128

typedef enum {
    PW_OK = 0,
    PW_TOO_SHORT,    /* fewer than 8 characters */
    PW_TOO_LONG,     /* more than PASSWORD_MAX_BYTES bytes */
    PW_NO_DIGIT,
    PW_NO_UPPER,
    PW_NO_LOWER,
    PW_SAME_AS_LOGIN /* equal to the login ID, ignoring case */
} pw_policy;

/* Check "password" against A6: at least 8 characters (UTF-8 characters, not
 * bytes) with a digit, an upper-case and a lower-case ASCII letter, and not
 * the login ID "login_id" (may be NULL) in any case. */
pw_policy password_check_policy(const char *password, const char *login_id);

/* A stable code ("password_too_short", ...) and an English sentence for
 * "p". Static strings. */
const char *password_policy_code(pw_policy p);
const char *password_policy_message(pw_policy p);

/* Hash "password" with argon2id and a fresh random salt into "out" (at least
 * PASSWORD_HASH_CAP bytes) in the PHC string format. Returns 0, or -1 (no
 * randomness, out of memory, password too long). Takes ~20-50 ms and 19 MiB.
 * Thread-safe. */
int password_hash(const char *password, char *out, size_t out_cap);

/* Whether "password" matches the encoded hash "encoded". Constant-time in
 * the comparison; false for any malformed hash. Thread-safe. */
bool password_verify(const char *encoded, const char *password);

#endif
