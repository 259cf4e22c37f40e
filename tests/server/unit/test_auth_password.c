/* server/auth_password.c: the A6 policy and argon2id hashing. */
#include "auth_password.h"
#include "t.h"

static void policy_accepts_a_good_password(void)
{
    T_EQ_INT(password_check_policy("Metron2024", "admin"), PW_OK);
    T_EQ_INT(password_check_policy("aB3aaaaa", NULL), PW_OK);
}

static void policy_counts_characters_not_bytes(void)
{
    /* 7 characters (é is 2 bytes): too short although 8 bytes. */
    T_EQ_INT(password_check_policy("aB3\xc3\xa9" "xyzw", NULL), PW_OK);
    T_EQ_INT(password_check_policy("aB3\xc3\xa9" "xyz", NULL), PW_TOO_SHORT);
}

static void policy_names_each_missing_class(void)
{
    T_EQ_INT(password_check_policy("aB3", NULL), PW_TOO_SHORT);
    T_EQ_INT(password_check_policy("abcdefGH", NULL), PW_NO_DIGIT);
    T_EQ_INT(password_check_policy("abcdef12", NULL), PW_NO_UPPER);
    T_EQ_INT(password_check_policy("ABCDEF12", NULL), PW_NO_LOWER);
    T_EQ_INT(password_check_policy("", NULL), PW_TOO_SHORT);
}

static void policy_refuses_the_login_id_in_any_case(void)
{
    T_EQ_INT(password_check_policy("Operator1", "operator1"), PW_SAME_AS_LOGIN);
    T_EQ_INT(password_check_policy("Operator1", "OPERATOR1"), PW_SAME_AS_LOGIN);
    T_EQ_INT(password_check_policy("Operator12", "operator1"), PW_OK);
}

static void policy_refuses_over_long_passwords(void)
{
    char pw[PASSWORD_MAX_BYTES + 2];
    memset(pw, 'a', sizeof pw - 1);
    pw[sizeof pw - 1] = '\0';
    pw[0] = 'A';
    pw[1] = '1';
    T_EQ_INT(password_check_policy(pw, NULL), PW_TOO_LONG);
    pw[PASSWORD_MAX_BYTES] = '\0';
    T_EQ_INT(password_check_policy(pw, NULL), PW_OK);
}

static void policy_codes_and_messages_are_distinct(void)
{
    T_TRUE(strcmp(password_policy_code(PW_NO_DIGIT), "password_no_digit") == 0);
    T_TRUE(strcmp(password_policy_code(PW_SAME_AS_LOGIN), "password_same_as_login") == 0);
    T_TRUE(strstr(password_policy_message(PW_TOO_SHORT), "8") != NULL);
}

static void hash_is_argon2id_with_owasp_parameters_and_verifies(void)
{
    char h[PASSWORD_HASH_CAP], h2[PASSWORD_HASH_CAP];
    T_EQ_INT(password_hash("Metron2024", h, sizeof h), 0);
    T_TRUE(strncmp(h, "$argon2id$v=19$m=19456,t=2,p=1$", 31) == 0);
    T_TRUE(password_verify(h, "Metron2024"));
    T_TRUE(!password_verify(h, "metron2024"));
    T_TRUE(!password_verify(h, ""));
    /* A fresh salt every time. */
    T_EQ_INT(password_hash("Metron2024", h2, sizeof h2), 0);
    T_TRUE(strcmp(h, h2) != 0);
    T_TRUE(password_verify(h2, "Metron2024"));
}

static void verify_rejects_malformed_and_foreign_hashes(void)
{
    T_TRUE(!password_verify("", "x"));
    T_TRUE(!password_verify("$argon2i$v=19$m=16,t=2,p=1$c29tZXNhbHQ$xyz", "x"));
    T_TRUE(!password_verify("$argon2id$garbage", "Metron2024"));
    T_TRUE(!password_verify("plain", "plain"));
}

static void hash_refuses_small_buffers(void)
{
    char h[16];
    T_EQ_INT(password_hash("Metron2024", h, sizeof h), -1);
}

void suite_auth_password(void)
{
    T_RUN(policy_accepts_a_good_password);
    T_RUN(policy_counts_characters_not_bytes);
    T_RUN(policy_names_each_missing_class);
    T_RUN(policy_refuses_the_login_id_in_any_case);
    T_RUN(policy_refuses_over_long_passwords);
    T_RUN(policy_codes_and_messages_are_distinct);
    T_RUN(hash_is_argon2id_with_owasp_parameters_and_verifies);
    T_RUN(verify_rejects_malformed_and_foreign_hashes);
    T_RUN(hash_refuses_small_buffers);
}
