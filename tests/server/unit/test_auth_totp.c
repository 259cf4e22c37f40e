/* server/auth_totp.c: RFC 6238 Appendix B vectors, the window, reuse. */
#include "auth_totp.h"
#include "t.h"

/* RFC 6238 Appendix B: the seeds are the ASCII digits "1234567890" repeated
 * to 20 (SHA-1), 32 (SHA-256) and 64 (SHA-512) bytes. */
static const char seed20[] = "12345678901234567890";
static const char seed32[] = "12345678901234567890123456789012";
static const char seed64[] =
    "1234567890123456789012345678901234567890123456789012345678901234";

static const struct {
    long long t;
    long sha1, sha256, sha512;
} vectors[] = {
    {59, 94287082, 46119246, 90693936},
    {1111111109, 7081804, 68084774, 25091201},
    {1111111111, 14050471, 67062674, 99943326},
    {1234567890, 89005924, 91819424, 93441116},
    {2000000000, 69279037, 90698825, 38618901},
    {20000000000LL, 65353130, 77737706, 47863826},
};

static void totp_matches_rfc6238_appendix_b_sha1(void)
{
    for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
        T_EQ_INT(totp_hotp((const unsigned char *)seed20, 20,
                           (uint64_t)totp_step(vectors[i].t), 8, "SHA1"),
                 vectors[i].sha1);
    }
}

static void totp_matches_rfc6238_appendix_b_sha256_and_sha512(void)
{
    for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
        T_EQ_INT(totp_hotp((const unsigned char *)seed32, 32,
                           (uint64_t)totp_step(vectors[i].t), 8, "SHA256"),
                 vectors[i].sha256);
        T_EQ_INT(totp_hotp((const unsigned char *)seed64, 64,
                           (uint64_t)totp_step(vectors[i].t), 8, "SHA512"),
                 vectors[i].sha512);
    }
}

static void totp_six_digits_are_the_low_digits_of_the_vectors(void)
{
    /* 6 digits = the 8-digit value mod 10^6 (same truncation). */
    T_EQ_INT(totp_hotp((const unsigned char *)seed20, 20, (uint64_t)totp_step(59), 6, "SHA1"),
             287082);
    T_EQ_INT(totp_hotp((const unsigned char *)seed20, 20, (uint64_t)totp_step(1111111109), 6,
                       "SHA1"),
             81804);
}

static void totp_hotp_rejects_bad_arguments(void)
{
    const unsigned char *s = (const unsigned char *)seed20;
    T_EQ_INT(totp_hotp(s, 20, 1, 5, "SHA1"), -1);
    T_EQ_INT(totp_hotp(s, 20, 1, 9, "SHA1"), -1);
    T_EQ_INT(totp_hotp(s, 0, 1, 6, "SHA1"), -1);
    T_EQ_INT(totp_hotp(NULL, 20, 1, 6, "SHA1"), -1);
    T_EQ_INT(totp_hotp(s, 20, 1, 6, "MD5"), -1);
    T_EQ_INT(totp_hotp(s, 20, 1, 6, NULL), -1);
}

static void totp_verify_refuses_malformed_codes(void)
{
    const unsigned char *s = (const unsigned char *)seed20;
    T_TRUE(!totp_verify(s, 20, NULL, 59, -1, NULL));
    T_TRUE(!totp_verify(s, 20, "", 59, -1, NULL));
    T_TRUE(!totp_verify(s, 20, "28708", 59, -1, NULL));
    T_TRUE(!totp_verify(s, 20, "2870822", 59, -1, NULL));
    T_TRUE(!totp_verify(s, 20, "28708a", 59, -1, NULL));
    T_TRUE(!totp_verify(s, 20, " 287082", 59, -1, NULL));
    T_TRUE(!totp_verify(s, 20, "-87082", 59, -1, NULL));
}

static void totp_verify_accepts_one_step_either_side_only(void)
{
    const unsigned char *s = (const unsigned char *)seed20;
    int64_t step = -1;
    /* The code of step 1 (t = 30..59) is "287082". */
    T_TRUE(totp_verify(s, 20, "287082", 59, -1, &step));
    T_EQ_INT(step, 1);
    T_TRUE(totp_verify(s, 20, "287082", 30, -1, &step));
    T_TRUE(totp_verify(s, 20, "287082", 89, -1, &step)); /* now = step 2 */
    T_TRUE(totp_verify(s, 20, "287082", 0, -1, &step));  /* now = step 0 */
    T_TRUE(!totp_verify(s, 20, "287082", 90, -1, &step)); /* step 3: too late */
    T_TRUE(!totp_verify(s, 20, "287082", 1111111109, -1, &step));
}

static void totp_verify_refuses_a_step_already_used(void)
{
    const unsigned char *s = (const unsigned char *)seed20;
    int64_t step = -1;
    T_TRUE(totp_verify(s, 20, "287082", 59, -1, &step));
    T_TRUE(!totp_verify(s, 20, "287082", 59, step, NULL));
    T_TRUE(!totp_verify(s, 20, "287082", 59, step + 5, NULL));
    T_TRUE(totp_verify(s, 20, "287082", 59, step - 1, NULL));
}

static void totp_verify_refuses_the_wrong_secret(void)
{
    T_TRUE(!totp_verify((const unsigned char *)"12345678901234567891", 20, "287082", 59, -1,
                        NULL));
}

static void totp_base32_matches_rfc4648_vectors(void)
{
    char out[64];
    T_EQ_INT(totp_base32((const unsigned char *)"", 0, out, sizeof out), 0);
    T_EQ_STR(out, "");
    T_EQ_INT(totp_base32((const unsigned char *)"f", 1, out, sizeof out), 2);
    T_EQ_STR(out, "MY");
    T_EQ_INT(totp_base32((const unsigned char *)"foobar", 6, out, sizeof out), 10);
    T_EQ_STR(out, "MZXW6YTBOI");
    T_EQ_INT(totp_base32((const unsigned char *)seed20, 20, out, sizeof out), 32);
    T_EQ_STR(out, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
    T_EQ_INT(totp_base32((const unsigned char *)seed20, 20, out, 32), -1);
}

static void totp_step_floors_negative_times(void)
{
    T_EQ_INT(totp_step(0), 0);
    T_EQ_INT(totp_step(29), 0);
    T_EQ_INT(totp_step(30), 1);
    T_EQ_INT(totp_step(-1), -1);
}

void suite_auth_totp(void)
{
    T_RUN(totp_matches_rfc6238_appendix_b_sha1);
    T_RUN(totp_matches_rfc6238_appendix_b_sha256_and_sha512);
    T_RUN(totp_six_digits_are_the_low_digits_of_the_vectors);
    T_RUN(totp_hotp_rejects_bad_arguments);
    T_RUN(totp_verify_refuses_malformed_codes);
    T_RUN(totp_verify_accepts_one_step_either_side_only);
    T_RUN(totp_verify_refuses_a_step_already_used);
    T_RUN(totp_verify_refuses_the_wrong_secret);
    T_RUN(totp_base32_matches_rfc4648_vectors);
    T_RUN(totp_step_floors_negative_times);
}
