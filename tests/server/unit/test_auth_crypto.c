/* server/auth.c: secrets, hashes, encodings, CSRF derivation, roles. */
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <pthread.h>

#include "auth.h"
#include "t.h"

/* OpenSSL's SipHash-2-4 with a 16-byte result. */
static int openssl_siphash128(const unsigned char key[16], const unsigned char *data, size_t len,
                              unsigned char out[16])
{
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "SIPHASH", NULL);
    EVP_MAC_CTX *ctx = mac != NULL ? EVP_MAC_CTX_new(mac) : NULL;
    size_t size = 16, out_len = 0;
    OSSL_PARAM params[] = {OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size),
                           OSSL_PARAM_construct_end()};
    int ok = ctx != NULL && EVP_MAC_init(ctx, key, 16, params) == 1 &&
             EVP_MAC_update(ctx, data, len) == 1 && EVP_MAC_final(ctx, out, &out_len, 16) == 1 &&
             out_len == 16;
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
    return ok ? 0 : -1;
}

static void siphash128_matches_openssl_for_every_length_to_64(void)
{
    unsigned char key[16], data[64], mine[16], theirs[16];
    for (int i = 0; i < 16; i++) {
        key[i] = (unsigned char)i;
    }
    for (int i = 0; i < 64; i++) {
        data[i] = (unsigned char)(i * 37 + 11);
    }
    for (size_t len = 0; len <= sizeof data; len++) {
        auth_siphash128(key, data, len, mine);
        T_EQ_INT(openssl_siphash128(key, data, len, theirs), 0);
        T_TRUE(memcmp(mine, theirs, 16) == 0);
    }
    /* The reference's first 128-bit vector: key 00..0f, no input. */
    auth_siphash128(key, data, 0, mine);
    T_EQ_INT(mine[0], 0xa3);
    T_EQ_INT(mine[15], 0x93);
}

/* Secrets that share memo slots, looked up in turns from two threads. */
static void *secret_sha_turns(void *arg)
{
    int *bad = arg;
    char secret[64];
    unsigned char got[AUTH_SHA256_BYTES], want[AUTH_SHA256_BYTES];
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 3000; i++) {
            int n = snprintf(secret, sizeof secret, "secret-%040d", i);
            auth_secret_sha256(secret, (size_t)n, got);
            auth_sha256(secret, (size_t)n, want);
            *bad += memcmp(got, want, sizeof got) != 0;
        }
    }
    return NULL;
}

static void secret_sha256_is_the_sha256_of_each_secret_seen_again(void)
{
    int bad_a = 0, bad_b = 0;
    pthread_t t;
    unsigned char a[AUTH_SHA256_BYTES], b[AUTH_SHA256_BYTES];
    /* 3000 secrets over 1024 slots: hits, misses and replaced slots. */
    T_EQ_INT(pthread_create(&t, NULL, secret_sha_turns, &bad_a), 0);
    (void)secret_sha_turns(&bad_b);
    T_EQ_INT(pthread_join(t, NULL), 0);
    T_EQ_INT(bad_a, 0);
    T_EQ_INT(bad_b, 0);
    /* Secrets one byte apart, or one a prefix of the other, stay apart. */
    auth_secret_sha256("abcdefgh", 8, a);
    auth_secret_sha256("abcdefgi", 8, b);
    T_TRUE(memcmp(a, b, sizeof a) != 0);
    auth_secret_sha256("abcdefg", 7, b);
    T_TRUE(memcmp(a, b, sizeof a) != 0);
    auth_sha256("abcdefg", 7, a);
    T_TRUE(memcmp(a, b, sizeof a) == 0);
}

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
    T_RUN(siphash128_matches_openssl_for_every_length_to_64);
    T_RUN(secret_sha256_is_the_sha256_of_each_secret_seen_again);
    T_RUN(bytea_round_trips_and_rejects_malformed_text);
    T_RUN(csrf_token_is_stable_per_session_and_differs_between_sessions);
    T_RUN(roles_and_file_rights_round_trip);
    T_RUN(clock_offset_shifts_auth_now);
    T_RUN(forgetting_identities_moves_the_state_epoch_too);
}
