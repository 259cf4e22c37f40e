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

static void cost_parse_takes_the_hash_notation_within_the_real_cost(void)
{
    uint32_t t = 0, m = 0;
    T_EQ_INT(password_cost_parse("m=8,t=1", &t, &m), 0);
    T_EQ_INT((int)t, 1);
    T_EQ_INT((int)m, 8);
    T_EQ_INT(password_cost_parse("m=19456,t=2", &t, &m), 0);
    T_EQ_INT((int)t, 2);
    T_EQ_INT((int)m, 19456);
    t = m = 0;
    T_EQ_INT(password_cost_parse("real", &t, &m), 0);
    T_EQ_INT((int)t, PASSWORD_T_COST);
    T_EQ_INT((int)m, PASSWORD_M_KIB);
    /* Below argon2's least memory, above the real cost, or not the notation:
     * refused, and the outputs left alone. */
    t = m = 7;
    const char *bad[] = {"m=7,t=1",    "m=19457,t=2", "m=64,t=3",  "m=64,t=0", "m=64",
                         "t=1,m=64",   "m=-8,t=1",    "m= 8,t=1",  "m=8,t=+1", "m=8,t=1 ",
                         "m=8,t=1,p=1", "",           "cheap",     "m=99999999999999999999,t=1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        T_EQ_INT(password_cost_parse(bad[i], &t, &m), -1);
    }
    T_EQ_INT((int)t, 7);
    T_EQ_INT((int)m, 7);
}

static void cheap_hash_verifies_under_the_real_cost_and_the_real_cost_comes_back(void)
{
    char cheap[PASSWORD_HASH_CAP], real[PASSWORD_HASH_CAP];
    uint32_t t, m;
    /* Clamped into argon2's least and the real cost. */
    password_cost_set(0, 4);
    password_cost_get(&t, &m);
    T_EQ_INT((int)t, 1);
    T_EQ_INT((int)m, 8);
    password_cost_set(9, 1u << 30);
    password_cost_get(&t, &m);
    T_EQ_INT((int)t, PASSWORD_T_COST);
    T_EQ_INT((int)m, PASSWORD_M_KIB);
    /* A test build's hash says its cost, and checks like any other. */
    password_cost_set(1, 8);
    T_EQ_INT(password_hash("Metron2024", cheap, sizeof cheap), 0);
    T_TRUE(strncmp(cheap, "$argon2id$v=19$m=8,t=1,p=1$", 27) == 0);
    T_TRUE(password_verify(cheap, "Metron2024"));
    T_TRUE(!password_verify(cheap, "metron2024"));
    /* Back to the real cost: new hashes are as production makes them, and
     * the cheap one still verifies (the hash carries its parameters). */
    password_cost_set(PASSWORD_T_COST, PASSWORD_M_KIB);
    T_EQ_INT(password_hash("Metron2024", real, sizeof real), 0);
    T_TRUE(strncmp(real, "$argon2id$v=19$m=19456,t=2,p=1$", 31) == 0);
    T_TRUE(password_verify(real, "Metron2024"));
    T_TRUE(password_verify(cheap, "Metron2024"));
    T_TRUE(!password_verify(cheap, "Metron2025"));
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
    T_RUN(cost_parse_takes_the_hash_notation_within_the_real_cost);
    T_RUN(cheap_hash_verifies_under_the_real_cost_and_the_real_cost_comes_back);
    T_RUN(verify_rejects_malformed_and_foreign_hashes);
    T_RUN(hash_refuses_small_buffers);
}
