/* Passwords: the A6 policy and argon2id hashing (libargon2, OWASP's
 * parameters: t=2, m=19456 KiB, p=1, 16-byte random salt, 32-byte hash). */
#ifndef MTS_AUTH_PASSWORD_H
#define MTS_AUTH_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/* The hashing gate. An argon2id hash takes ~20-50 ms of a CPU and 19 MiB:
 * at most "slots" of them run at once (a burst of sign-ins, wrong ones
 * included, then holds at most slots x 19 MiB and slots CPUs, whatever the
 * number of worker threads), and a hash that finds no slot within
 * "wait_ms" is refused (PASSWORD_BUSY: 503 server_busy, Retry-After).
 * Call before the first hash (main.c, from --password-hashes); without it
 * the gate has 4 slots and waits 5 s (as long as a request waits for a pooled connection, DB_WAIT_MS). Not thread-safe against hashes in
 * flight. docs/security.md "Password hashing". */
#define PASSWORD_GATE_WAIT_MS 5000
void password_gate_set(int slots, int wait_ms);

/* The gate's state for GET /metrics: hashes running, waiting for a slot,
 * and refused since the start. */
void password_gate_counts(int *running, int *waiting, long long *refused);

/* The argon2id cost of new hashes: OWASP's t=2 passes over m=19456 KiB
 * (PASSWORD_T_COST, PASSWORD_M_KIB) unless password_cost_set() says less.
 * An encoded hash carries its own parameters ("$argon2id$v=19$m=...,t=...,
 * p=1$..."), so password_verify() checks any hash whatever the cost of this
 * process: a hash made cheaper verifies on a server with the real cost and
 * the other way round. */
#define PASSWORD_T_COST 2
#define PASSWORD_M_KIB 19456

/* Make new hashes with "t_cost" passes over "m_kib" KiB, each within
 * 1..PASSWORD_T_COST and 8..PASSWORD_M_KIB (argon2's least memory is 8 KiB),
 * clamped into them. For the test build only (main.c reads
 * METRON_TEST_PASSWORD_COST when http_test_build is true; the production
 * build never calls it): the test suites sign up and sign in thousands of
 * times. Call before the first hash; not thread-safe against hashes in
 * flight. docs/testing.md "Password hashing in the test build". */
void password_cost_set(uint32_t t_cost, uint32_t m_kib);

/* The cost of new hashes now (password_cost_set(), else the real one). */
void password_cost_get(uint32_t *t_cost, uint32_t *m_kib);

/* Parse "text", the value of METRON_TEST_PASSWORD_COST: "m=KIB,t=N" (the
 * encoded hash's own notation, e.g. "m=8,t=1") with KIB in
 * 8..PASSWORD_M_KIB and N in 1..PASSWORD_T_COST, or "real" for those
 * tops. Returns 0 and sets *t_cost and *m_kib, or -1 and leaves them. */
int password_cost_parse(const char *text, uint32_t *t_cost, uint32_t *m_kib);

/* What a hash or a check came to. */
#define PASSWORD_ERROR (-1) /* no randomness, out of memory, password too long */
#define PASSWORD_BUSY (-2)  /* no slot of the gate in time: try again shortly */

/* Hash "password" with argon2id and a fresh random salt into "out" (at least
 * PASSWORD_HASH_CAP bytes) in the PHC string format. Returns 0,
 * PASSWORD_ERROR or PASSWORD_BUSY. Takes ~20-50 ms and 19 MiB, through the
 * gate. Thread-safe. */
int password_hash(const char *password, char *out, size_t out_cap);

/* Whether "password" matches the encoded hash "encoded": 1, 0 (no match, or
 * a malformed hash, checked without a slot), or PASSWORD_BUSY. Constant-time
 * in the comparison; through the gate. Thread-safe. */
int password_verify(const char *encoded, const char *password);

#endif
