/* TOTP (auth_totp.h). */
#include "auth_totp.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

long totp_hotp(const unsigned char *secret, size_t len, uint64_t counter, int digits,
               const char *md_name)
{
    static const long pow10[] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000,
                                 100000000};
    const EVP_MD *md;
    unsigned char msg[8], mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    uint32_t bin;
    int offset;

    if (digits < 6 || digits > 8 || secret == NULL || len == 0 || len > 1024 ||
        md_name == NULL) {
        return -1;
    }
    if (strcmp(md_name, "SHA1") == 0) {
        md = EVP_sha1();
    } else if (strcmp(md_name, "SHA256") == 0) {
        md = EVP_sha256();
    } else if (strcmp(md_name, "SHA512") == 0) {
        md = EVP_sha512();
    } else {
        return -1;
    }
    for (int i = 7; i >= 0; i--) {
        msg[i] = (unsigned char)(counter & 0xff);
        counter >>= 8;
    }
    if (HMAC(md, secret, (int)len, msg, sizeof msg, mac, &mac_len) == NULL || mac_len < 20) {
        return -1;
    }
    /* RFC 4226 5.3: dynamic truncation. */
    offset = mac[mac_len - 1] & 0x0f;
    bin = ((uint32_t)(mac[offset] & 0x7f) << 24) | ((uint32_t)mac[offset + 1] << 16) |
          ((uint32_t)mac[offset + 2] << 8) | (uint32_t)mac[offset + 3];
    OPENSSL_cleanse(mac, sizeof mac);
    return (long)(bin % (uint32_t)pow10[digits]);
}

int64_t totp_step(int64_t t)
{
    return t >= 0 ? t / TOTP_STEP_S : -((-t + TOTP_STEP_S - 1) / TOTP_STEP_S);
}

bool totp_verify(const unsigned char *secret, size_t len, const char *code, int64_t now,
                 int64_t last_step, int64_t *matched)
{
    long want = 0;
    int64_t step = totp_step(now);
    bool ok = false;
    int64_t found = -1;

    if (code == NULL || strlen(code) != TOTP_DIGITS) {
        return false;
    }
    for (int i = 0; i < TOTP_DIGITS; i++) {
        if (code[i] < '0' || code[i] > '9') {
            return false;
        }
        want = want * 10 + (code[i] - '0');
    }
    /* Every step of the window is computed (no early exit) so that the
     * time taken does not depend on which step matched. */
    for (int64_t s = step - TOTP_WINDOW; s <= step + TOTP_WINDOW; s++) {
        long got;
        if (s < 0) {
            continue;
        }
        got = totp_hotp(secret, len, (uint64_t)s, TOTP_DIGITS, "SHA1");
        if (got >= 0 && got == want && s > last_step && found < 0) {
            found = s;
            ok = true;
        }
    }
    if (ok && matched != NULL) {
        *matched = found;
    }
    return ok;
}

int totp_base32(const unsigned char *data, size_t len, char *out, size_t cap)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    size_t n = 0, need = (len * 8 + 4) / 5 + 1;
    uint32_t buf = 0;
    int bits = 0;
    if (cap < need) {
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        buf = (buf << 8) | data[i];
        bits += 8;
        while (bits >= 5) {
            out[n++] = alphabet[(buf >> (bits - 5)) & 31];
            bits -= 5;
        }
    }
    if (bits > 0) {
        out[n++] = alphabet[(buf << (5 - bits)) & 31];
    }
    out[n] = '\0';
    return (int)n;
}
