/* Roles, the auth clock and shared crypto helpers (auth.h). */
#define _POSIX_C_SOURCE 200809L
#include "auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static atomic_llong g_clock_offset;

int auth_role_from_name(const char *name)
{
    if (name == NULL) {
        return 0;
    }
    if (strcmp(name, "admin") == 0) {
        return ROLE_ADMIN;
    }
    if (strcmp(name, "member") == 0) {
        return ROLE_MEMBER;
    }
    return 0;
}

const char *auth_role_name(int role)
{
    switch (role) {
    case ROLE_ADMIN: return "admin";
    case ROLE_MEMBER: return "member";
    default: return NULL;
    }
}

int auth_file_access_from_name(const char *name)
{
    static const char *const names[] = {"none", "view", "edit"};
    for (int i = 0; name != NULL && i < 3; i++) {
        if (strcmp(name, names[i]) == 0) {
            return i;
        }
    }
    return -1;
}

const char *auth_file_access_name(int access)
{
    static const char *const names[] = {"none", "view", "edit"};
    return access >= 0 && access < 3 ? names[access] : NULL;
}

int64_t auth_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec + (int64_t)atomic_load(&g_clock_offset);
}

int64_t auth_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ((int64_t)ts.tv_sec + (int64_t)atomic_load(&g_clock_offset)) * 1000 +
           (int64_t)(ts.tv_nsec / 1000000L);
}

void auth_set_clock_offset(int64_t offset_s)
{
    atomic_store(&g_clock_offset, (long long)offset_s);
    auth_forget_identities(); /* they were checked at another time */
}

int64_t auth_clock_offset(void)
{
    return (int64_t)atomic_load(&g_clock_offset);
}

static atomic_ullong g_identity_epoch;
static atomic_ullong g_state_epoch;
static atomic_ullong g_change_count;
static atomic_ullong g_account_epoch[AUTH_ACCOUNT_BUCKETS];
static atomic_ullong g_account_state_epoch[AUTH_ACCOUNT_BUCKETS];
static atomic_bool g_listening;

/* Every move counts first, then moves its epoch: a reader that sees the
 * moved epoch also sees the count moved (auth_change_count()). */
void auth_forget_identities(void)
{
    atomic_fetch_add(&g_change_count, 1);
    atomic_fetch_add(&g_identity_epoch, 1);
    atomic_fetch_add(&g_state_epoch, 1); /* what ends an identity may change a reply */
}

static unsigned account_bucket(long long account_id)
{
    uint64_t h = (uint64_t)account_id * 0x9e3779b97f4a7c15u;
    return (unsigned)(h >> 52) & (AUTH_ACCOUNT_BUCKETS - 1);
}

void auth_account_changed(long long account_id)
{
    atomic_fetch_add(&g_change_count, 1);
    atomic_fetch_add(&g_account_epoch[account_bucket(account_id)], 1);
}

unsigned long long auth_account_epoch(long long account_id)
{
    return atomic_load(&g_account_epoch[account_bucket(account_id)]);
}

void auth_account_state_changed(long long account_id)
{
    atomic_fetch_add(&g_change_count, 1);
    atomic_fetch_add(&g_account_state_epoch[account_bucket(account_id)], 1);
}

unsigned long long auth_account_state_epoch(long long account_id)
{
    return atomic_load(&g_account_state_epoch[account_bucket(account_id)]);
}

unsigned long long auth_change_count(void)
{
    return atomic_load(&g_change_count);
}

void auth_set_listening(bool on)
{
    atomic_store(&g_listening, on);
}

bool auth_listening(void)
{
    return atomic_load(&g_listening);
}

int64_t auth_cache_ttl_ms(void)
{
    return auth_listening() ? AUTH_CACHE_HEARD_TTL_MS : AUTH_CACHE_TTL_MS;
}

int64_t auth_cache_refresh_ms(void)
{
    return auth_listening() ? AUTH_CACHE_HEARD_REFRESH_MS : AUTH_CACHE_REFRESH_MS;
}

unsigned long long auth_identity_epoch(void)
{
    return atomic_load(&g_identity_epoch);
}

void auth_state_changed(void)
{
    atomic_fetch_add(&g_change_count, 1);
    atomic_fetch_add(&g_state_epoch, 1);
}

unsigned long long auth_state_epoch(void)
{
    return atomic_load(&g_state_epoch);
}

int auth_random(unsigned char *out, size_t n)
{
    return n <= (size_t)0x7fffffff && RAND_bytes(out, (int)n) == 1 ? 0 : -1;
}

/* SHA-256 fetched from the provider once (issue 16): on OpenSSL 3,
 * SHA256() goes through EVP_Q_digest(), which fetches the algorithm (a
 * look-up under a lock in the provider's method store) on every call, and
 * every request hashes its token or cookie. */
static EVP_MD *g_sha256;
static pthread_once_t g_sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
    g_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

void auth_sha256(const void *data, size_t len, unsigned char out[AUTH_SHA256_BYTES])
{
    pthread_once(&g_sha256_once, sha256_fetch);
    if (g_sha256 == NULL || EVP_Digest(data, len, out, NULL, g_sha256, NULL) != 1) {
        SHA256(data, len, out); /* the same digest, fetched per call */
    }
}

/* SipHash-2-4, 128-bit output (J.-P. Aumasson and D. J. Bernstein's
 * reference, siphash.c with outlen 16). */
static uint64_t rotl64(uint64_t x, int b)
{
    return (x << b) | (x >> (64 - b));
}

static uint64_t rd_u64le(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) {
        v = v << 8 | p[i];
    }
    return v;
}

static void wr_u64le(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        p[i] = (unsigned char)(v >> (8 * i));
    }
}

static void sipround(uint64_t v[4])
{
    v[0] += v[1];
    v[1] = rotl64(v[1], 13) ^ v[0];
    v[0] = rotl64(v[0], 32);
    v[2] += v[3];
    v[3] = rotl64(v[3], 16) ^ v[2];
    v[0] += v[3];
    v[3] = rotl64(v[3], 21) ^ v[0];
    v[2] += v[1];
    v[1] = rotl64(v[1], 17) ^ v[2];
    v[2] = rotl64(v[2], 32);
}

void auth_siphash128(const unsigned char key[16], const void *data, size_t len,
                     unsigned char out[16])
{
    const unsigned char *in = data, *end = in + len - len % 8;
    uint64_t k0 = rd_u64le(key), k1 = rd_u64le(key + 8);
    uint64_t v[4] = {0x736f6d6570736575ULL ^ k0, 0x646f72616e646f6dULL ^ k1,
                     0x6c7967656e657261ULL ^ k0, 0x7465646279746573ULL ^ k1};
    uint64_t b = (uint64_t)len << 56;
    v[1] ^= 0xee;
    for (; in != end; in += 8) {
        uint64_t m = rd_u64le(in);
        v[3] ^= m;
        sipround(v);
        sipround(v);
        v[0] ^= m;
    }
    for (size_t i = 0; i < len % 8; i++) {
        b |= (uint64_t)in[i] << (8 * i);
    }
    v[3] ^= b;
    sipround(v);
    sipround(v);
    v[0] ^= b;
    v[2] ^= 0xee;
    for (int i = 0; i < 4; i++) {
        sipround(v);
    }
    wr_u64le(out, v[0] ^ v[1] ^ v[2] ^ v[3]);
    v[1] ^= 0xdd;
    for (int i = 0; i < 4; i++) {
        sipround(v);
    }
    wr_u64le(out + 8, v[0] ^ v[1] ^ v[2] ^ v[3]);
}

/* The secrets' SHA-256 remembered (auth_secret_sha256()): every request
 * hashed its token or cookie, 3.4 k instructions through EVP (issue 16),
 * against about 0.3 k for the SipHash that finds it here. One entry per
 * slot, the last secret whose keyed hash falls there; a slot is read and
 * written under its stripe's lock. */
#define MEMO_SLOTS 1024 /* a power of two */
#define MEMO_STRIPES 32

typedef struct {
    bool used;
    unsigned char key[16]; /* auth_siphash128() of the secret under g_memo.sip_key */
    unsigned char sha[AUTH_SHA256_BYTES];
} memo_slot;

static struct {
    pthread_once_t once;
    bool on; /* a random key was drawn */
    unsigned char sip_key[16];
    pthread_mutex_t locks[MEMO_STRIPES];
    memo_slot slots[MEMO_SLOTS];
} g_memo = {.once = PTHREAD_ONCE_INIT};

static void memo_init(void)
{
    for (int i = 0; i < MEMO_STRIPES; i++) {
        pthread_mutex_init(&g_memo.locks[i], NULL);
    }
    g_memo.on = auth_random(g_memo.sip_key, sizeof g_memo.sip_key) == 0;
}

void auth_secret_sha256(const char *secret, size_t len, unsigned char out[AUTH_SHA256_BYTES])
{
    unsigned char key[16];
    unsigned i;
    memo_slot *e;
    bool hit;
    pthread_once(&g_memo.once, memo_init);
    if (!g_memo.on) {
        auth_sha256(secret, len, out);
        return;
    }
    auth_siphash128(g_memo.sip_key, secret, len, key);
    i = ((unsigned)key[0] | (unsigned)key[1] << 8) & (MEMO_SLOTS - 1);
    e = &g_memo.slots[i];
    pthread_mutex_lock(&g_memo.locks[i % MEMO_STRIPES]);
    hit = e->used && memcmp(e->key, key, sizeof key) == 0;
    if (hit) {
        memcpy(out, e->sha, AUTH_SHA256_BYTES);
    }
    pthread_mutex_unlock(&g_memo.locks[i % MEMO_STRIPES]);
    if (hit) {
        return;
    }
    auth_sha256(secret, len, out);
    pthread_mutex_lock(&g_memo.locks[i % MEMO_STRIPES]);
    e->used = true;
    memcpy(e->key, key, sizeof key);
    memcpy(e->sha, out, AUTH_SHA256_BYTES);
    pthread_mutex_unlock(&g_memo.locks[i % MEMO_STRIPES]);
}

int auth_new_secret(char *text, size_t text_cap, unsigned char hash[AUTH_SHA256_BYTES])
{
    unsigned char raw[AUTH_SECRET_BYTES];
    int n;
    if (auth_random(raw, sizeof raw) != 0) {
        return -1;
    }
    n = auth_base64url(raw, sizeof raw, text, text_cap);
    OPENSSL_cleanse(raw, sizeof raw);
    if (n < 0) {
        return -1;
    }
    auth_sha256(text, (size_t)n, hash);
    return 0;
}

char *auth_bytea_hex(const unsigned char *data, size_t len, char *out)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = 0;
    out[n++] = '\\';
    out[n++] = 'x';
    for (size_t i = 0; i < len; i++) {
        out[n++] = hex[data[i] >> 4];
        out[n++] = hex[data[i] & 15];
    }
    out[n] = '\0';
    return out;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

int auth_bytea_parse(const char *text, unsigned char *out, size_t cap)
{
    size_t len, n;
    if (text == NULL || text[0] != '\\' || text[1] != 'x') {
        return -1;
    }
    text += 2;
    len = strlen(text);
    if (len % 2 != 0 || len / 2 > cap) {
        return -1;
    }
    for (n = 0; n < len / 2; n++) {
        int hi = hexval(text[2 * n]), lo = hexval(text[2 * n + 1]);
        if (hi < 0 || lo < 0) {
            return -1;
        }
        out[n] = (unsigned char)(hi << 4 | lo);
    }
    return (int)n;
}

int auth_base64url(const unsigned char *data, size_t len, char *out, size_t cap)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t n = 0, need = (len * 4 + 2) / 3 + 1;
    if (cap < need) {
        return -1;
    }
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)data[i] << 16;
        size_t rest = len - i;
        if (rest > 1) {
            v |= (uint32_t)data[i + 1] << 8;
        }
        if (rest > 2) {
            v |= data[i + 2];
        }
        out[n++] = alphabet[(v >> 18) & 63];
        out[n++] = alphabet[(v >> 12) & 63];
        if (rest > 1) {
            out[n++] = alphabet[(v >> 6) & 63];
        }
        if (rest > 2) {
            out[n++] = alphabet[v & 63];
        }
    }
    out[n] = '\0';
    return (int)n;
}

bool auth_equal(const void *a, const void *b, size_t len)
{
    return CRYPTO_memcmp(a, b, len) == 0;
}

int auth_csrf_token(const char *cookie_value, char *out, size_t cap)
{
    static const char label[] = "metron-csrf";
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    if (HMAC(EVP_sha256(), cookie_value, (int)strlen(cookie_value),
             (const unsigned char *)label, sizeof label - 1, mac, &mac_len) == NULL) {
        return -1;
    }
    return auth_base64url(mac, mac_len, out, cap) < 0 ? -1 : 0;
}
