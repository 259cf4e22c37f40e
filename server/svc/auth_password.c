#define _POSIX_C_SOURCE 200809L
#include "auth_password.h"

#include <argon2.h>
#include <errno.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

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

/* The gate: a counting semaphore on a mutex and a condition variable with
 * a monotonic clock, so that a wait is bounded whatever the wall clock
 * does. Waiters are woken one per freed slot; the order among them is the
 * scheduler's (a burst is refused by its deadline, not by its place). */
static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_once_t once;
    int slots, running, waiting, wait_ms;
    atomic_llong refused;
} gate = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_ONCE_INIT, 4, 0, 0,
          PASSWORD_GATE_WAIT_MS, 0};

static void gate_init(void)
{
    pthread_condattr_t a;
    if (pthread_condattr_init(&a) == 0) {
        if (pthread_condattr_setclock(&a, CLOCK_MONOTONIC) == 0) {
            pthread_cond_destroy(&gate.cv);
            pthread_cond_init(&gate.cv, &a);
        }
        pthread_condattr_destroy(&a);
    }
}

void password_gate_set(int slots, int wait_ms)
{
    pthread_once(&gate.once, gate_init);
    pthread_mutex_lock(&gate.mu);
    gate.slots = slots > 0 ? slots : 1;
    gate.wait_ms = wait_ms >= 0 ? wait_ms : 0;
    pthread_mutex_unlock(&gate.mu);
}

void password_gate_counts(int *running, int *waiting, long long *refused)
{
    pthread_mutex_lock(&gate.mu);
    *running = gate.running;
    *waiting = gate.waiting;
    pthread_mutex_unlock(&gate.mu);
    *refused = atomic_load_explicit(&gate.refused, memory_order_relaxed);
}

/* Take a slot within the gate's wait: true, or false (counted refused). */
static bool gate_enter(void)
{
    struct timespec until;
    bool ok = true;
    pthread_once(&gate.once, gate_init);
    clock_gettime(CLOCK_MONOTONIC, &until);
    pthread_mutex_lock(&gate.mu);
    until.tv_sec += gate.wait_ms / 1000;
    until.tv_nsec += (long)(gate.wait_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    gate.waiting++;
    while (gate.running >= gate.slots) {
        if (pthread_cond_timedwait(&gate.cv, &gate.mu, &until) == ETIMEDOUT &&
            gate.running >= gate.slots) {
            ok = false;
            break;
        }
    }
    gate.waiting--;
    if (ok) {
        gate.running++;
    }
    pthread_mutex_unlock(&gate.mu);
    if (!ok) {
        atomic_fetch_add_explicit(&gate.refused, 1, memory_order_relaxed);
    }
    return ok;
}

static void gate_leave(void)
{
    pthread_mutex_lock(&gate.mu);
    gate.running--;
    pthread_cond_signal(&gate.cv);
    pthread_mutex_unlock(&gate.mu);
}

/* The cost of new hashes: written before any thread hashes (main.c), read
 * by every hash after. */
static uint32_t cost_t = PASSWORD_T_COST, cost_m = PASSWORD_M_KIB;

void password_cost_set(uint32_t t_cost, uint32_t m_kib)
{
    cost_t = t_cost < 1 ? 1 : t_cost > PASSWORD_T_COST ? PASSWORD_T_COST : t_cost;
    cost_m = m_kib < ARGON2_MIN_MEMORY ? ARGON2_MIN_MEMORY
             : m_kib > PASSWORD_M_KIB  ? PASSWORD_M_KIB
                                       : m_kib;
}

void password_cost_get(uint32_t *t_cost, uint32_t *m_kib)
{
    *t_cost = cost_t;
    *m_kib = cost_m;
}

/* A decimal count of digits only at *p (no sign, no space): true and *p
 * past it, or false. */
static bool read_count(const char **p, unsigned long *out)
{
    char *end;
    if (**p < '0' || **p > '9') {
        return false;
    }
    errno = 0;
    *out = strtoul(*p, &end, 10);
    *p = end;
    return errno == 0;
}

int password_cost_parse(const char *text, uint32_t *t_cost, uint32_t *m_kib)
{
    const char *p = text;
    unsigned long m, t;
    if (strcmp(text, "real") == 0) {
        *t_cost = PASSWORD_T_COST;
        *m_kib = PASSWORD_M_KIB;
        return 0;
    }
    if (strncmp(p, "m=", 2) != 0) {
        return -1;
    }
    p += 2;
    if (!read_count(&p, &m) || strncmp(p, ",t=", 3) != 0) {
        return -1;
    }
    p += 3;
    if (!read_count(&p, &t) || *p != '\0') {
        return -1;
    }
    if (m < ARGON2_MIN_MEMORY || m > PASSWORD_M_KIB || t < 1 || t > PASSWORD_T_COST) {
        return -1;
    }
    *t_cost = (uint32_t)t;
    *m_kib = (uint32_t)m;
    return 0;
}

int password_hash(const char *password, char *out, size_t out_cap)
{
    unsigned char salt[PW_SALT_LEN];
    size_t len = strlen(password);
    int rc;
    if (len > PASSWORD_MAX_BYTES || out_cap < PASSWORD_HASH_CAP) {
        return PASSWORD_ERROR;
    }
    if (RAND_bytes(salt, sizeof salt) != 1) {
        return PASSWORD_ERROR;
    }
    if (!gate_enter()) {
        return PASSWORD_BUSY;
    }
    rc = argon2id_hash_encoded(cost_t, cost_m, PW_PARALLEL, password, len, salt,
                               sizeof salt, PW_HASH_LEN, out, out_cap);
    gate_leave();
    return rc == ARGON2_OK ? 0 : PASSWORD_ERROR;
}

int password_verify(const char *encoded, const char *password)
{
    size_t len = strlen(password);
    int rc;
    if (len > PASSWORD_MAX_BYTES || strncmp(encoded, "$argon2id$", 10) != 0) {
        return 0;
    }
    if (!gate_enter()) {
        return PASSWORD_BUSY;
    }
    rc = argon2id_verify(encoded, password, len);
    gate_leave();
    return rc == ARGON2_OK;
}
