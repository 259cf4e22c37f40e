/* server/auth.c: secrets, hashes, encodings, CSRF derivation, roles. */
#include "auth.h"
#include "t.h"

static void base64url_has_no_padding_and_url_safe_letters(void)
{
    char out[16];
    const unsigned char bytes[] = {0xfb, 0xff, 0xfe};
    T_EQ_INT(auth_base64url(bytes, 3, out, sizeof out), 4);
    T_EQ_STR(out, "-__-");
    T_EQ_INT(auth_base64url((const unsigned char *)"f", 1, out, sizeof out), 2);
    T_EQ_STR(out, "Zg");
    T_EQ_INT(auth_base64url((const unsigned char *)"fo", 2, out, sizeof out), 3);
    T_EQ_STR(out, "Zm8");
    T_EQ_INT(auth_base64url((const unsigned char *)"foo", 3, out, 4), -1);
}

static void new_secret_is_43_chars_and_hash_is_sha256_of_text(void)
{
    char a[64], b[64];
    unsigned char ha[AUTH_SHA256_BYTES], hb[AUTH_SHA256_BYTES], check[AUTH_SHA256_BYTES];
    T_EQ_INT(auth_new_secret(a, sizeof a, ha), 0);
    T_EQ_INT(auth_new_secret(b, sizeof b, hb), 0);
    T_EQ_INT(strlen(a), AUTH_SECRET_CHARS);
    T_TRUE(strcmp(a, b) != 0);
    auth_sha256(a, strlen(a), check);
    T_TRUE(auth_equal(check, ha, sizeof ha));
    T_TRUE(!auth_equal(ha, hb, sizeof ha));
    T_EQ_INT(auth_new_secret(a, 40, ha), -1);
}

static void sha256_matches_the_fips_vector(void)
{
    unsigned char h[AUTH_SHA256_BYTES];
    char hex[2 * AUTH_SHA256_BYTES + 3];
    auth_sha256("abc", 3, h);
    T_EQ_STR(auth_bytea_hex(h, sizeof h, hex),
             "\\xba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void bytea_round_trips_and_rejects_malformed_text(void)
{
    unsigned char out[4];
    T_EQ_INT(auth_bytea_parse("\\x0aFF10", out, sizeof out), 3);
    T_EQ_INT(out[0], 0x0a);
    T_EQ_INT(out[1], 0xff);
    T_EQ_INT(auth_bytea_parse("\\x0", out, sizeof out), -1);
    T_EQ_INT(auth_bytea_parse("\\xzz", out, sizeof out), -1);
    T_EQ_INT(auth_bytea_parse("0a", out, sizeof out), -1);
    T_EQ_INT(auth_bytea_parse("\\x0102030405", out, sizeof out), -1);
    T_EQ_INT(auth_bytea_parse(NULL, out, sizeof out), -1);
}

static void csrf_token_is_stable_per_session_and_differs_between_sessions(void)
{
    char a[64], a2[64], b[64];
    T_EQ_INT(auth_csrf_token("session-one", a, sizeof a), 0);
    T_EQ_INT(auth_csrf_token("session-one", a2, sizeof a2), 0);
    T_EQ_INT(auth_csrf_token("session-two", b, sizeof b), 0);
    T_EQ_STR(a, a2);
    T_TRUE(strcmp(a, b) != 0);
    T_EQ_INT(strlen(a), AUTH_SECRET_CHARS);
}

static void roles_and_file_rights_round_trip(void)
{
    T_EQ_INT(auth_role_from_name("admin"), ROLE_ADMIN);
    T_EQ_INT(auth_role_from_name("member"), ROLE_MEMBER);
    T_EQ_INT(auth_role_from_name("Admin"), 0);
    T_EQ_INT(auth_role_from_name(NULL), 0);
    T_EQ_STR(auth_role_name(ROLE_MEMBER), "member");
    T_TRUE(auth_role_name(0) == NULL);
    T_EQ_INT(auth_file_access_from_name("edit"), FILE_ACCESS_EDIT);
    T_EQ_INT(auth_file_access_from_name("nope"), -1);
    T_EQ_STR(auth_file_access_name(FILE_ACCESS_VIEW), "view");
}

static void clock_offset_shifts_auth_now(void)
{
    int64_t before = auth_now();
    auth_set_clock_offset(86400);
    T_TRUE(auth_now() - before >= 86400 && auth_now() - before <= 86402);
    auth_set_clock_offset(0);
    T_EQ_INT(auth_clock_offset(), 0);
}

static void forgetting_identities_moves_the_state_epoch_too(void)
{
    unsigned long long id0 = auth_identity_epoch(), st0 = auth_state_epoch();
    auth_state_changed();
    T_EQ_U64(auth_identity_epoch(), id0);
    T_EQ_U64(auth_state_epoch(), st0 + 1);
    auth_forget_identities();
    T_EQ_U64(auth_identity_epoch(), id0 + 1);
    T_EQ_U64(auth_state_epoch(), st0 + 2);
    auth_set_clock_offset(0); /* the test clock forgets both */
    T_EQ_U64(auth_identity_epoch(), id0 + 2);
    T_EQ_U64(auth_state_epoch(), st0 + 3);
}

void suite_auth_crypto(void)
{
    T_RUN(base64url_has_no_padding_and_url_safe_letters);
    T_RUN(new_secret_is_43_chars_and_hash_is_sha256_of_text);
    T_RUN(sha256_matches_the_fips_vector);
    T_RUN(bytea_round_trips_and_rejects_malformed_text);
    T_RUN(csrf_token_is_stable_per_session_and_differs_between_sessions);
    T_RUN(roles_and_file_rights_round_trip);
    T_RUN(clock_offset_shifts_auth_now);
    T_RUN(forgetting_identities_moves_the_state_epoch_too);
}
