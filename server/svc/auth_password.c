#define _POSIX_C_SOURCE 200809L
#include "auth_password.h"

#include <argon2.h>
#include <openssl/rand.h>
#include <string.h>
#include <strings.h>

#define PW_T_COST 2
#define PW_M_COST 19456 /* KiB */
#define PW_PARALLEL 1
#define PW_SALT_LEN 16
#define PW_HASH_LEN 32

pw_policy password_check_policy(const char *password, const char *login_id)
{
    size_t chars = 0, bytes = strlen(password);
    bool digit = false, upper = false, lower = false;
    if (bytes > PASSWORD_MAX_BYTES) {
        return PW_TOO_LONG;
    }
    for (const char *p = password; *p; p++) {
        unsigned char c = (unsigned char)*p;
        chars += (c & 0xC0) != 0x80;
        digit |= c >= '0' && c <= '9';
        upper |= c >= 'A' && c <= 'Z';
        lower |= c >= 'a' && c <= 'z';
    }
    if (chars < 8) {
        return PW_TOO_SHORT;
    }
    if (!digit) {
        return PW_NO_DIGIT;
    }
    if (!upper) {
        return PW_NO_UPPER;
    }
    if (!lower) {
        return PW_NO_LOWER;
    }
    if (login_id != NULL && strcasecmp(password, login_id) == 0) {
        return PW_SAME_AS_LOGIN;
    }
    return PW_OK;
}

const char *password_policy_code(pw_policy p)
{
    switch (p) {
    case PW_OK: return "ok";
    case PW_TOO_SHORT: return "password_too_short";
    case PW_TOO_LONG: return "password_too_long";
    case PW_NO_DIGIT: return "password_no_digit";
    case PW_NO_UPPER: return "password_no_upper";
    case PW_NO_LOWER: return "password_no_lower";
    case PW_SAME_AS_LOGIN: return "password_same_as_login";
    }
    return "password_invalid";
}

const char *password_policy_message(pw_policy p)
{
    switch (p) {
    case PW_OK: return "ok";
    case PW_TOO_SHORT: return "the password needs at least 8 characters";
    case PW_TOO_LONG: return "the password is longer than 256 bytes";
    case PW_NO_DIGIT: return "the password needs at least one digit";
    case PW_NO_UPPER: return "the password needs at least one upper-case letter";
    case PW_NO_LOWER: return "the password needs at least one lower-case letter";
    case PW_SAME_AS_LOGIN: return "the password must differ from the login ID";
    }
    return "invalid password";
}

int password_hash(const char *password, char *out, size_t out_cap)
{
    unsigned char salt[PW_SALT_LEN];
    size_t len = strlen(password);
    int rc;
    if (len > PASSWORD_MAX_BYTES || out_cap < PASSWORD_HASH_CAP) {
        return -1;
    }
    if (RAND_bytes(salt, sizeof salt) != 1) {
        return -1;
    }
    rc = argon2id_hash_encoded(PW_T_COST, PW_M_COST, PW_PARALLEL, password, len, salt,
                               sizeof salt, PW_HASH_LEN, out, out_cap);
    return rc == ARGON2_OK ? 0 : -1;
}

bool password_verify(const char *encoded, const char *password)
{
    size_t len = strlen(password);
    if (len > PASSWORD_MAX_BYTES || strncmp(encoded, "$argon2id$", 10) != 0) {
        return false;
    }
    return argon2id_verify(encoded, password, len) == ARGON2_OK;
}
