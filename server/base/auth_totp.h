/* TOTP (RFC 6238 over RFC 4226 HOTP): HMAC-SHA-1, 6 digits, 30-second steps,
 * a window of one step either side, each step accepted once. HMAC comes
 * from OpenSSL's libcrypto. Secrets travel as RFC 4648 base32 (no padding),
 * the form authenticator apps read from an otpauth:// URI. Pure functions:
 * thread-safe, no clock of their own. */
#ifndef MTS_AUTH_TOTP_H
#define MTS_AUTH_TOTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TOTP_STEP_S 30
#define TOTP_DIGITS 6
#define TOTP_WINDOW 1         /* steps accepted either side of now */
#define TOTP_SECRET_BYTES 20  /* 160 bits, RFC 4226's recommendation */

/* The HOTP value of "secret" ("len" bytes) at counter "counter", reduced to
 * "digits" decimal digits (6..8), HMAC with "md" = "SHA1", "SHA256" or
 * "SHA512" (the RFC 6238 vectors use all three). Returns the value (0 ..
 * 10^digits - 1), or -1 for a bad argument or an HMAC failure. */
long totp_hotp(const unsigned char *secret, size_t len, uint64_t counter, int digits,
               const char *md);

/* The time step of Unix time "t" (seconds): floor(t / 30). */
int64_t totp_step(int64_t t);

/* Check the 6-digit "code" (exactly 6 ASCII digits, else false) against
 * "secret" at Unix time "now": steps now-1, now, now+1 are tried. A step
 * <= "last_step" (the newest step already used; -1 = none) is refused, so a
 * code is accepted once. On success *matched (may be NULL) is the matching
 * step, to be stored as the new last step. */
bool totp_verify(const unsigned char *secret, size_t len, const char *code, int64_t now,
                 int64_t last_step, int64_t *matched);

/* RFC 4648 base32 (A-Z2-7) without padding of "len" bytes into "out".
 * Returns the length (NUL-terminated) or -1 when "cap" is too small. */
int totp_base32(const unsigned char *data, size_t len, char *out, size_t cap);

#endif
