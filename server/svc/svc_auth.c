/* Sign-in rules (svc_auth.h). */
#define _POSIX_C_SOURCE 200809L
#include "svc_auth.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "auth_password.h"
#include "auth_totp.h"
#include "db_export.h"
#include "log.h"
#include "mail.h"
#include "mt/caltime.h"
#include "mt/licence.h"
#include "refresher.h"
#include "svc_notify.h"
#include "svc_tx.h"

/* A hash to verify against when the user does not exist, so that an
 * unknown user costs the same argon2id work as a wrong password. */
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;
static char dummy_hash[PASSWORD_HASH_CAP];

static void make_dummy_hash(void)
{
    unsigned char raw[16];
    char pw[40];
    int rc = PASSWORD_ERROR;
    if (auth_random(raw, sizeof raw) == 0 && auth_base64url(raw, sizeof raw, pw, sizeof pw) >= 0) {
        /* made once; a gate busy with other hashes is waited out */
        for (int i = 0; i < 10 && (rc = password_hash(pw, dummy_hash, sizeof dummy_hash)) ==
                                      PASSWORD_BUSY; i++) {
        }
    }
    if (rc != 0) {
        dummy_hash[0] = '\0'; /* password_verify() is then false at once */
    }
}

/* The refusals every sign-in path shares, in the contract's terms (svc.h). */
static svc_status unauthenticated(svc_error *e)
{
    return svc_fail(e, SVC_UNAUTHENTICATED, "unauthenticated", NULL, "sign in first");
}

static svc_status throttled(svc_error *e, int64_t retry_after)
{
    svc_fail(e, SVC_THROTTLED, "throttled", NULL,
             "too many failed attempts; try again in %lld seconds", (long long)retry_after);
    e->retry_after = retry_after;
    return SVC_THROTTLED;
}

static svc_status internal(svc_error *e)
{
    return svc_fail(e, SVC_INTERNAL, NULL, NULL, NULL);
}

int svc_auth_effective_plan(const db_auth_user *u, int64_t now)
{
    mt_plan plan = MT_PLAN_FREE, eff;
    mt_error err;
    mt_day expiry = 0;
    if (mt_plan_from_name(u->plan, &plan, &err) != MT_OK) {
        return MT_PLAN_FREE;
    }
    if (u->licence_expires >= 0 &&
        mt_cal_day_of((mt_time)u->licence_expires * MT_US_PER_S, &expiry, &err) != MT_OK) {
        return MT_PLAN_FREE;
    }
    if (u->licence_expires < 0 && (plan == MT_PLAN_STANDARD || plan == MT_PLAN_PRO)) {
        return MT_PLAN_FREE;
    }
    if (mt_licence_effective_plan(plan, expiry, (mt_time)now * MT_US_PER_S, &eff, &err) !=
        MT_OK) {
        return MT_PLAN_FREE;
    }
    return (int)eff;
}

/* Account-level refusals that apply to every request of the user, signed
 * in or signing in: SVC_OK or the refusal in "e" (SVC_FORBIDDEN
 * trial_expired, account_frozen, user_disabled, ip_not_allowed). */
static svc_status account_gate(const db_auth_user *u, int plan, int64_t now, svc_error *e)
{
    mt_error err;
    if (u->trial_expires >= 0 && now >= u->trial_expires) {
        return svc_fail(e, SVC_FORBIDDEN, "trial_expired", NULL,
                        "the trial has ended: sign-in is no longer possible");
    }
    if (u->frozen) {
        return svc_fail(e, SVC_FORBIDDEN, "account_frozen", NULL, "the account is frozen");
    }
    if (u->disabled) {
        return svc_fail(e, SVC_FORBIDDEN, "user_disabled", NULL, "this user is disabled");
    }
    /* A7 applies while the plan has P21; a list left after a downgrade
     * rests until the account is Pro again. */
    if (u->ip_list_set && !u->ip_ok &&
        mt_plan_require((mt_plan)plan, MT_Q_IP_RESTRICTION, MT_ACCESS_FULL, &err) == MT_OK) {
        return svc_fail(e, SVC_FORBIDDEN, "ip_not_allowed", NULL,
                        "the account does not allow access from this address");
    }
    return SVC_OK;
}

/* API tokens are a Pro function (P20): SVC_OK, or SVC_PLAN_LIMIT. */
static svc_status token_gate(int plan, svc_error *e)
{
    mt_error err;
    if (mt_plan_require((mt_plan)plan, MT_Q_WEB_API, MT_ACCESS_FULL, &err) != MT_OK) {
        svc_plan_refusal((mt_plan)plan, MT_Q_WEB_API, e);
        return SVC_PLAN_LIMIT;
    }
    return SVC_OK;
}

static void lower_copy(char *out, size_t cap, const char *s)
{
    size_t i = 0;
    for (; s[i] != '\0' && i + 1 < cap; i++) {
        out[i] = (char)tolower((unsigned char)s[i]);
    }
    out[i] = '\0';
}

/* Throttle keys of a login attempt. */
static void throttle_keys(const auth_login *in, char *user_key, size_t ucap, char *ip_key,
                          size_t icap)
{
    char acc[80], mail[272];
    if (in->email != NULL) {
        lower_copy(mail, sizeof mail, in->email);
        snprintf(user_key, ucap, "email:%s", mail);
    } else {
        lower_copy(acc, sizeof acc, in->account ? in->account : "");
        snprintf(user_key, ucap, "login:%s/%s", acc, in->user ? in->user : "");
    }
    snprintf(ip_key, icap, "ip:%s", in->ip ? in->ip : "");
}

static int64_t lock_length(int failures, int threshold)
{
    int64_t len = AUTH_LOCK_FIRST_S;
    for (int i = threshold; i < failures && len < AUTH_LOCK_MAX_S; i++) {
        len *= 2;
    }
    return len < AUTH_LOCK_MAX_S ? len : AUTH_LOCK_MAX_S;
}

/* Count a failed attempt against "key"; lock it once it reached
 * "threshold" failures. */
static db_status count_key(db_conn *c, const char *key, int threshold, int64_t now)
{
    int f = 0;
    db_status st = db_auth_throttle_fail(c, key, now, &f);
    if (st == DB_OK && f >= threshold) {
        st = db_auth_throttle_lock(c, key, now + lock_length(f, threshold));
    }
    return st;
}

/* Count a failed attempt against both keys; lock a key that reached its
 * threshold. */
static db_status count_failure(db_conn *c, const char *user_key, const char *ip_key, int64_t now)
{
    db_status st = count_key(c, user_key, AUTH_USER_FAILURES, now);
    return st == DB_OK ? count_key(c, ip_key, AUTH_IP_FAILURES, now) : st;
}

/* ---------------------------------------------------------- known devices
 *
 * A device that signed in as a user with the right password gets a cookie
 * "d1.<account>.<user>.<issued>.<mac>": mac = base64url(HMAC-SHA256(key,
 * "d1.<account>.<user>.<issued>." + SHA-256 of the user's password hash)),
 * the key a server secret (server_secrets "device_cookie", made at first
 * use). It needs no storage, dies after AUTH_DEVICE_TTL_S, and dies with
 * the password (a new hash, a new salt). It only lets its holder try a
 * password while the user is soft-locked (svc_auth_login()). */

static pthread_mutex_t device_mu = PTHREAD_MUTEX_INITIALIZER;
static unsigned char device_key[32];
static bool device_key_loaded;

/* The HMAC key, read (or made) once per process. */
static db_status device_key_get(db_conn *c, unsigned char key[32])
{
    db_status st = DB_OK;
    pthread_mutex_lock(&device_mu);
    if (!device_key_loaded) {
        unsigned char fresh[32];
        if (auth_random(fresh, sizeof fresh) != 0) {
            st = DB_ERROR;
        } else if ((st = db_export_secret(c, "device_cookie", fresh, device_key)) == DB_OK) {
            device_key_loaded = true;
        }
        OPENSSL_cleanse(fresh, sizeof fresh);
    }
    if (st == DB_OK) {
        memcpy(key, device_key, 32);
    }
    pthread_mutex_unlock(&device_mu);
    return st;
}

/* The mac part of a device cookie of "u" issued at "issued" into "out"
 * (>= AUTH_SECRET_CHARS + 1). -1 when the key cannot be had. */
static int device_mac(db_conn *c, const db_auth_user *u, long long issued, char *out,
                      size_t cap)
{
    unsigned char key[32], pw[AUTH_SHA256_BYTES], md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    char msg[160];
    int n;
    if (device_key_get(c, key) != DB_OK) {
        return -1;
    }
    auth_sha256(u->password_hash, strlen(u->password_hash), pw);
    n = snprintf(msg, sizeof msg, "d1.%lld.%lld.%lld.", u->account_id, u->user_id, issued);
    if (n < 0 || (size_t)n + sizeof pw > sizeof msg) {
        OPENSSL_cleanse(key, sizeof key);
        return -1;
    }
    memcpy(msg + n, pw, sizeof pw);
    if (HMAC(EVP_sha256(), key, sizeof key, (const unsigned char *)msg, (size_t)n + sizeof pw,
             md, &md_len) == NULL ||
        auth_base64url(md, md_len, out, cap) < 0) {
        OPENSSL_cleanse(key, sizeof key);
        return -1;
    }
    OPENSSL_cleanse(key, sizeof key);
    return 0;
}

/* A new device cookie for "u" (its password_hash still filled) into
 * "out" (AUTH_DEVICE_CAP); "" when it cannot be made. */
static void device_issue(db_conn *c, const db_auth_user *u, int64_t now, char *out)
{
    char mac[64];
    out[0] = '\0';
    if (device_mac(c, u, (long long)now, mac, sizeof mac) == 0) {
        snprintf(out, AUTH_DEVICE_CAP, "d1.%lld.%lld.%lld.%s", u->account_id, u->user_id,
                 (long long)now, mac);
    }
}

/* Whether "cookie" is a live device cookie of "u" (password_hash filled);
 * its throttle key ("device:" and the start of its mac) into "key". */
static bool device_valid(db_conn *c, const char *cookie, const db_auth_user *u, int64_t now,
                         char *key, size_t key_cap)
{
    long long account = 0, user = 0, issued = 0;
    char mac[64], want[64];
    int used = 0;
    if (cookie == NULL || strlen(cookie) >= AUTH_DEVICE_CAP ||
        sscanf(cookie, "d1.%lld.%lld.%lld.%n", &account, &user, &issued, &used) != 3 ||
        used <= 0 || strlen(cookie + used) != AUTH_SECRET_CHARS) {
        return false;
    }
    snprintf(mac, sizeof mac, "%s", cookie + used);
    if (account != u->account_id || user != u->user_id || issued > now + 60 ||
        now - issued > AUTH_DEVICE_TTL_S || device_mac(c, u, issued, want, sizeof want) != 0 ||
        strlen(want) != AUTH_SECRET_CHARS || !auth_equal(mac, want, AUTH_SECRET_CHARS)) {
        return false;
    }
    snprintf(key, key_cap, "device:%.16s", mac);
    return true;
}

/* A six-digit code from the CSPRNG, uniform (rejection sampling). */
static int random_code(char out[7])
{
    uint32_t v;
    do {
        if (auth_random((unsigned char *)&v, sizeof v) != 0) {
            return -1;
        }
    } while (v >= 4294000000u); /* a multiple of 10^6 */
    snprintf(out, 7, "%06u", (unsigned)(v % 1000000u));
    return 0;
}

/* Create the active session or API token for "u" into "out". */
static svc_status issue(db_conn *c, const db_auth_user *u, bool want_token, const char *ip,
                        const char *ua, int64_t now, auth_grant *out, svc_error *e)
{
    unsigned char hash[AUTH_SHA256_BYTES], csrf_hash[AUTH_SHA256_BYTES];
    char csrf[64];
    long long id = 0;
    db_status st;
    if (auth_new_secret(out->secret, sizeof out->secret, hash) != 0) {
        return internal(e);
    }
    if (want_token) {
        out->expires = now + AUTH_TOKEN_TTL_S;
        st = db_auth_token_insert(c, u->account_id, u->user_id, hash, now, out->expires, &id);
        out->is_token = true;
    } else {
        if (auth_csrf_token(out->secret, csrf, sizeof csrf) != 0) {
            return internal(e);
        }
        auth_sha256(csrf, strlen(csrf), csrf_hash);
        st = db_auth_session_insert(c, u->account_id, u->user_id, hash, csrf_hash, "active",
                                    "portal", now, AUTH_IDLE_TIMEOUT_S, ip, ua, &id);
        out->expires = now + AUTH_IDLE_TIMEOUT_S;
    }
    if (st == DB_OK) {
        st = db_auth_user_logged_in(c, u->account_id, u->user_id, now);
    }
    if (st != DB_OK) {
        OPENSSL_cleanse(out->secret, sizeof out->secret);
        return svc_fail_db(e, st, NULL);
    }
    out->user.session_id = id;
    return SVC_OK;
}

/* The row of a mail's words (code_words, reset_words) in "language", else
 * English's: each of the "n" rows, "size" bytes apart, begins with its
 * language tag, and English is the third. */
static size_t words_row(const void *rows, size_t n, size_t size, const char *language)
{
    for (size_t i = 0; i < n; i++) {
        const char *const *lang = (const char *const *)((const char *)rows + i * size);
        if (strcmp(*lang, language) == 0) {
            return i;
        }
    }
    return 2; /* en */
}

/* The sign-in code mail in the seven portal languages: its subject and
 * its text ("%s" the code, "%d" the minutes it is valid). */
static const struct {
    const char *lang, *title, *body;
} code_words[] = {
    {"zh-CN", "您的 Metron 登录验证码",
     "您的 Metron 登录验证码是 %s\n\n"
     "验证码在 %d 分钟内有效。如果不是您本人在登录，请修改密码：有人知道您的密码。"},
    {"ja", "Metron のログインコード",
     "Metron のログインコードは %s です。\n\n"
     "有効期間は %d 分です。ログインしようとしていない場合は、パスワードを変更してください。"
     "誰かがパスワードを知っています。"},
    {"en", "Your Metron sign-in code",
     "Your Metron sign-in code is %s\n\n"
     "It is valid for %d minutes. If you did not try to sign in, change your password: "
     "someone knows it."},
    {"es", "Su código de inicio de sesión de Metron",
     "Su código de inicio de sesión de Metron es %s\n\n"
     "Es válido durante %d minutos. Si no ha intentado iniciar sesión, cambie su contraseña: "
     "alguien la conoce."},
    {"fr", "Votre code de connexion Metron",
     "Votre code de connexion Metron est %s\n\n"
     "Il est valable %d minutes. Si vous n’avez pas essayé de vous connecter, changez votre "
     "mot de passe : quelqu’un le connaît."},
    {"de", "Ihr Metron-Anmeldecode",
     "Ihr Metron-Anmeldecode lautet %s\n\n"
     "Er ist %d Minuten gültig. Wenn Sie nicht versucht haben, sich anzumelden, ändern Sie "
     "Ihr Passwort: Jemand kennt es."},
    {"it", "Il tuo codice di accesso a Metron",
     "Il tuo codice di accesso a Metron è %s\n\n"
     "È valido per %d minuti. Se non hai provato ad accedere, cambia la password: qualcuno "
     "la conosce."},
};

typedef struct {
    const char *code;
    char body[600];
} code_text;

static svc_status render_code(void *arg, const char *language, notify_text *out, svc_error *e)
{
    code_text *t = arg;
    size_t i = words_row(code_words, sizeof code_words / sizeof code_words[0], sizeof code_words[0],
                         language);
    (void)e;
    snprintf(t->body, sizeof t->body, code_words[i].body, t->code, AUTH_EMAIL_CODE_TTL_S / 60);
    out->title = code_words[i].title;
    out->body = t->body;
    return SVC_OK;
}

/* Queue the code mail of challenge "challenge_id" for "u" in the outbox
 * (docs/notify.md), on "c" inside the challenge's transaction: the sender
 * threads send it after the commit, never this request's thread, so a slow
 * or dead mail relay cannot hold sign-in requests. Sent once (the key is
 * the challenge's), retried while the relay fails, never after "expires"
 * (the code's end), and erased from the outbox once sent or expired. */
static svc_status queue_login_code(db_conn *c, const db_auth_user *u, long long challenge_id,
                                   const char *code, int64_t expires, svc_error *e)
{
    notify_to to = {NOTIFY_TO_USER, 0, NULL, NULL};
    notify_result res;
    code_text text;
    notify_msg m;
    char key[48];
    svc_status rc;

    snprintf(key, sizeof key, "sign-in:%lld", challenge_id);
    memset(&text, 0, sizeof text);
    text.code = code;
    memset(&m, 0, sizeof m);
    m.account_id = u->account_id;
    m.kind = "auth.sign_in_code";
    m.key = key;
    m.severity = "info";
    m.render = render_code;
    m.render_arg = &text;
    to.id = u->user_id;
    m.to = &to;
    m.n_to = 1;
    m.sensitive = true;
    m.expires_at = expires;
    m.interactive = true; /* the person waits at the sign-in page */
    rc = svc_notify_enqueue(c, &m, &res, e);
    OPENSSL_cleanse(text.body, sizeof text.body);
    if (rc == SVC_OK && res.queued != 1) {
        /* The user has no e-mail address (or was disabled meanwhile). */
        rc = svc_fail(e, SVC_UNAVAILABLE, "mail_unavailable", NULL,
                      "the e-mail code cannot be sent to this user");
    }
    return rc;
}

/* Start the second step for "u": a challenge session, and for "email" a
 * code queued for the mail, in one transaction. */
static svc_status begin_two_step(srv *s, db_conn *c, const db_auth_user *u, bool want_token,
                                 const char *ip, const char *ua, int64_t now, auth_grant *out,
                                 svc_error *e)
{
    unsigned char hash[AUTH_SHA256_BYTES], code_hash[AUTH_SHA256_BYTES], dummy[AUTH_SHA256_BYTES];
    char code[7] = "";
    long long id = 0;
    db_status st;
    svc_status rc = SVC_OK;
    bool by_mail = strcmp(u->two_step, "email") == 0;

    if (by_mail && (s->cfg.smtp_url == NULL || s->cfg.smtp_url[0] == '\0')) {
        /* No relay at all: the code could never arrive; say so at once. */
        return svc_fail(e, SVC_UNAVAILABLE, "mail_unavailable", NULL,
                        "no mail relay is configured: the e-mail code cannot be sent");
    }
    if (auth_new_secret(out->secret, sizeof out->secret, hash) != 0 ||
        auth_random(dummy, sizeof dummy) != 0 || (by_mail && random_code(code) != 0)) {
        return internal(e);
    }
    if (by_mail && (st = db_begin(c)) != DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    /* csrf_hash is unused for a challenge: random, never matches. */
    st = db_auth_session_insert(c, u->account_id, u->user_id, hash, dummy, "two_step",
                                want_token ? "token" : "portal", now, AUTH_CHALLENGE_TTL_S, ip, ua,
                                &id);
    if (st == DB_OK && by_mail) {
        auth_sha256(code, strlen(code), code_hash);
        st = db_auth_email_code_insert(c, u->account_id, u->user_id, id, code_hash,
                                       now + AUTH_EMAIL_CODE_TTL_S);
    }
    if (st != DB_OK) {
        rc = svc_fail_db(e, st, NULL);
    } else if (by_mail &&
               (rc = queue_login_code(c, u, id, code, now + AUTH_EMAIL_CODE_TTL_S, e)) == SVC_OK &&
               (st = db_commit(c)) != DB_OK) {
        rc = svc_fail_db(e, st, NULL);
    }
    OPENSSL_cleanse(code, sizeof code);
    if (rc != SVC_OK) {
        OPENSSL_cleanse(out->secret, sizeof out->secret);
        return rc; /* the caller's release rolls back */
    }
    out->challenge = true;
    return SVC_OK;
}

/* The refusals of a sign-in step that concern the user it identified:
 * audited on their account as auth.login_refused, and *out keeps naming
 * them; after any other failure it names nobody. */
static svc_status finish_refusal(srv *s, const char *ip, svc_status rc, auth_grant *out,
                                 const svc_error *e)
{
    static const char *const audited[] = {"trial_expired",  "account_frozen", "user_disabled",
                                          "ip_not_allowed", "plan_limit",     "invalid_code"};
    const char *code = e->code != NULL ? e->code : svc_status_code(e->status);
    bool audit = false;
    if (rc == SVC_OK) {
        return rc;
    }
    for (size_t i = 0; i < sizeof audited / sizeof audited[0]; i++) {
        audit = audit || strcmp(code, audited[i]) == 0;
    }
    if (!audit || out->user.account_id <= 0) {
        memset(&out->user, 0, sizeof out->user);
        return rc;
    }
    {
        audit_who who = {out->user.account_id, out->user.user_id, false, ip, 0};
        cJSON *d = cJSON_CreateObject();
        cJSON_AddStringToObject(d, "reason", code);
        (void)audit_event(s->pool, &who, "auth.login_refused", "user", out->user.user_id, d);
        cJSON_Delete(d);
    }
    return rc;
}

static svc_status login(srv *s, const auth_login *in, bool want_token, auth_grant *out,
                        svc_error *e)
{
    char text_key[420], ip_key[80], user_key[40], device_key_name[40] = "", account[80];
    db_conn *c = NULL;
    db_status st;
    svc_status rc = SVC_OK;
    bool found = false, pw_ok, by_device = false;
    int verdict;
    int64_t now = auth_now(), locked = 0;
    mt_error err;

    memset(out, 0, sizeof *out);
    pthread_once(&dummy_once, make_dummy_hash);
    throttle_keys(in, text_key, sizeof text_key, ip_key, sizeof ip_key);
    if ((st = db_acquire(s->pool, DB_WAIT_MS, &c)) != DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    /* The client address's lock holds for everyone; the login text's lock
     * is that of a login naming nobody (a known user's failures count on
     * the user). */
    if ((st = db_auth_throttle_check(c, text_key, ip_key, now, &locked)) != DB_OK) {
        rc = svc_fail_db(e, st, NULL);
        goto out;
    }
    if (locked > now) {
        rc = throttled(e, locked - now);
        goto out;
    }
    if (in->email != NULL) {
        st = db_auth_find_email_login(c, in->email, in->ip, &out->user, &found);
    } else {
        lower_copy(account, sizeof account, in->account);
        st = db_auth_find_login(c, account, in->user, in->ip, &out->user, &found);
    }
    if (st != DB_OK) {
        rc = svc_fail_db(e, st, NULL);
        goto out;
    }
    /* Failures count against the user, whichever of their login IDs (the
     * account's, the alternative one, the e-mail) named them. */
    snprintf(user_key, sizeof user_key, "user:%lld", found ? out->user.user_id : 0LL);
    if (found) {
        if ((st = db_auth_throttle_check(c, user_key, "", now, &locked)) != DB_OK) {
            rc = svc_fail_db(e, st, NULL);
            goto out;
        }
        if (locked > now) {
            /* A soft lock: a device that signed in as this user before may
             * still try (its own failures lock it out in turn). */
            int64_t device_locked = 0;
            by_device = device_valid(c, in->device, &out->user, now, device_key_name,
                                     sizeof device_key_name);
            if (by_device && (st = db_auth_throttle_check(c, device_key_name, "", now,
                                                          &device_locked)) != DB_OK) {
                rc = svc_fail_db(e, st, NULL);
                goto out;
            }
            if (!by_device || device_locked > now) {
                OPENSSL_cleanse(out->user.password_hash, sizeof out->user.password_hash);
                memset(&out->user, 0, sizeof out->user);
                rc = throttled(e, (device_locked > locked ? device_locked : locked) - now);
                goto out;
            }
        }
    }
    /* The hash runs without a database connection: a burst of sign-ins,
     * wrong ones included, would otherwise hold the whole pool for their
     * hashes (~20-50 ms each, more while they queue at the hashing gate)
     * and every other request would wait for it. No transaction is open,
     * and taking a free connection again is a mutex. */
    db_release(s->pool, c);
    c = NULL;
    verdict = password_verify(found ? out->user.password_hash : dummy_hash, in->password);
    if (verdict == PASSWORD_BUSY) {
        OPENSSL_cleanse(out->user.password_hash, sizeof out->user.password_hash);
        memset(&out->user, 0, sizeof out->user);
        return svc_fail_hash_busy(e);
    }
    if ((st = db_acquire(s->pool, DB_WAIT_MS, &c)) != DB_OK) {
        OPENSSL_cleanse(out->user.password_hash, sizeof out->user.password_hash);
        memset(&out->user, 0, sizeof out->user);
        return svc_fail_db(e, st, NULL);
    }
    pw_ok = verdict == 1 && found;
    if (pw_ok) {
        out->plan = svc_auth_effective_plan(&out->user, now);
        /* P23: the alternative login ID works only while the plan has it. */
        if (out->user.via_alt &&
            mt_plan_require((mt_plan)out->plan, MT_Q_ALT_LOGIN_ID, MT_ACCESS_FULL, &err) != MT_OK) {
            pw_ok = false;
        }
    }
    if (pw_ok && !want_token) {
        /* A browser's sign-in: its device is known from now on. (An API
         * token's client keeps no cookies.) */
        device_issue(c, &out->user, now, out->device);
    }
    OPENSSL_cleanse(out->user.password_hash, sizeof out->user.password_hash);
    if (!pw_ok) {
        st = count_failure(c, found ? user_key : text_key, ip_key, now);
        if (st == DB_OK && by_device) {
            st = count_key(c, device_key_name, AUTH_USER_FAILURES, now);
        }
        if (st != DB_OK) {
            rc = svc_fail_db(e, st, NULL);
            goto out;
        }
        memset(&out->user, 0, sizeof out->user);
        rc = svc_fail(e, SVC_UNAUTHENTICATED, "invalid_credentials", NULL,
                      "the login ID or the password is wrong");
        goto out;
    }
    if ((st = db_auth_throttle_clear(c, user_key)) != DB_OK ||
        (by_device && (st = db_auth_throttle_clear(c, device_key_name)) != DB_OK)) {
        rc = svc_fail_db(e, st, NULL);
        goto out;
    }
    if ((rc = account_gate(&out->user, out->plan, now, e)) != SVC_OK ||
        (want_token && (rc = token_gate(out->plan, e)) != SVC_OK)) {
        goto out;
    }
    if (strcmp(out->user.two_step, "off") != 0) {
        rc = begin_two_step(s, c, &out->user, want_token, in->ip, in->user_agent, now, out, e);
        goto out;
    }
    rc = issue(c, &out->user, want_token, in->ip, in->user_agent, now, out, e);
out:
    db_release(s->pool, c);
    return rc;
}

svc_status svc_auth_login(srv *s, const auth_login *in, bool want_token, auth_grant *out,
                          svc_error *e)
{
    return finish_refusal(s, in->ip, login(s, in, want_token, out, e), out, e);
}

static svc_status two_step(srv *s, const char *challenge, const char *code, const char *ip,
                           const char *user_agent, auth_grant *out, svc_error *e)
{
    unsigned char hash[AUTH_SHA256_BYTES], code_hash[AUTH_SHA256_BYTES],
        stored[AUTH_SHA256_BYTES];
    unsigned char secret[64], pending[64];
    char user_key[100], ip_key[80];
    int secret_len = 0, pending_len = 0, attempts = 0;
    int64_t now = auth_now(), last_step = -1, step = -1, locked = 0;
    long long code_id = 0, challenge_id;
    bool found = false, ok = false, want_token;
    db_conn *c = NULL;
    db_status st;
    svc_status rc = SVC_OK;

    memset(out, 0, sizeof *out);
    auth_sha256(challenge, strlen(challenge), hash);
    if ((st = db_acquire(s->pool, DB_WAIT_MS, &c)) != DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    if ((st = db_auth_session_get(c, hash, now, ip, &out->user, &found)) != DB_OK) {
        rc = svc_fail_db(e, st, NULL);
        goto out;
    }
    if (!found || strcmp(out->user.stage, "two_step") != 0) {
        rc = svc_fail(e, SVC_UNAUTHENTICATED, "invalid_challenge", "challenge",
                      "the sign-in attempt has expired: sign in again");
        goto out;
    }
    challenge_id = out->user.session_id;
    want_token = strcmp(out->user.purpose, "token") == 0;
    snprintf(user_key, sizeof user_key, "two-step:%lld", out->user.user_id);
    snprintf(ip_key, sizeof ip_key, "ip:%s", ip);
    if ((st = db_auth_throttle_check(c, user_key, ip_key, now, &locked)) != DB_OK) {
        rc = svc_fail_db(e, st, NULL);
        goto out;
    }
    if (locked > now) {
        rc = throttled(e, locked - now);
        goto out;
    }
    if (strcmp(out->user.two_step, "totp") == 0) {
        st = db_auth_totp_get(c, out->user.account_id, out->user.user_id, secret, &secret_len,
                              pending, &pending_len, &last_step);
        if (st != DB_OK) {
            rc = svc_fail_db(e, st, NULL);
            goto out;
        }
        ok = secret_len > 0 &&
             totp_verify(secret, (size_t)secret_len, code, now, last_step, &step);
        if (ok) {
            bool taken = false;
            st = db_auth_totp_use_step(c, out->user.account_id, out->user.user_id, step,
                                       &taken);
            if (st != DB_OK) {
                rc = svc_fail_db(e, st, NULL);
                goto out;
            }
            ok = taken; /* a concurrent request used this code first */
        }
        OPENSSL_cleanse(secret, sizeof secret);
    } else if (strcmp(out->user.two_step, "email") == 0) {
        st = db_auth_email_code_get(c, out->user.account_id, challenge_id, now, &code_id,
                                    stored, &attempts, &found);
        if (st != DB_OK) {
            rc = svc_fail_db(e, st, NULL);
            goto out;
        }
        if (found && attempts < AUTH_CHALLENGE_MAX_TRIES) {
            auth_sha256(code, strlen(code), code_hash);
            ok = auth_equal(code_hash, stored, sizeof stored);
            st = ok ? db_auth_email_code_use(c, out->user.account_id, code_id, now)
                    : db_auth_email_code_attempt(c, out->user.account_id, code_id);
            if (st != DB_OK) {
                rc = svc_fail_db(e, st, NULL);
                goto out;
            }
        }
    }
    if (!ok) {
        if ((st = count_failure(c, user_key, ip_key, now)) != DB_OK) {
            rc = svc_fail_db(e, st, NULL);
            goto out;
        }
        rc = svc_fail(e, SVC_UNAUTHENTICATED, "invalid_code", "code",
                      "the code is wrong, expired or already used");
        goto out;
    }
    /* The challenge is spent either way from here. */
    if ((st = db_auth_session_delete(c, out->user.account_id, challenge_id)) != DB_OK ||
        (st = db_auth_throttle_clear(c, user_key)) != DB_OK) {
        rc = svc_fail_db(e, st, NULL);
        goto out;
    }
    out->plan = svc_auth_effective_plan(&out->user, now);
    if ((rc = account_gate(&out->user, out->plan, now, e)) != SVC_OK) {
        goto out;
    }
    rc = issue(c, &out->user, want_token, ip, user_agent, now, out, e);
out:
    db_release(s->pool, c);
    return rc;
}

svc_status svc_auth_two_step(srv *s, const char *challenge, const char *code, const char *ip,
                             const char *user_agent, auth_grant *out, svc_error *e)
{
    return finish_refusal(s, ip, two_step(s, challenge, code, ip, user_agent, out, e), out, e);
}

/* ---------------------------------------------- remembered identities
 *
 * Every authenticated request would otherwise cost a database round trip
 * before its handler runs. A resolved session or token is remembered for
 * auth_cache_ttl_ms() under the SHA-256 of its secret and the client
 * address (the allow-list verdict depends on it). An entry counts only
 * while no change was committed since it was looked up:
 *   - the epoch of auth_identity_epoch() is read before the database
 *     look-up and stored with the entry; every change by this server that
 *     ends sessions or tokens or changes what they may do bumps it after
 *     its commit (auth_forget_identities());
 *   - the epoch of the identity's account (auth_account_epoch()) moves when
 *     PostgreSQL announces a commit that changed the account, its users,
 *     sessions or tokens (migration 012, db_listen.c), whoever made it.
 *     The account is only known after the look-up, so a look-up is stored
 *     only when no epoch moved at all while it ran (auth_change_count()).
 * So a look-up racing with such a change is never used afterwards. The
 * refusals that depend on the time (trial expiry, the token's expiry, the
 * plan in force) are decided again on every use. Once an entry is
 * auth_cache_refresh_ms() old, the first request to use it submits a
 * look-up to the refresher (refresher.h) and every request keeps using it
 * until auth_cache_ttl_ms(): no request waits on the database to be
 * recognised. That look-up also does the at-most-once-a-minute touch. */

#define ID_SLOTS 1024 /* a power of two */
#define ID_STRIPES 64

typedef struct {
    bool used;
    bool token;
    bool refreshing; /* a look-up again was submitted (auth_cache_refresh_ms()) */
    unsigned long long epoch;         /* auth_identity_epoch() */
    unsigned long long account_epoch; /* auth_account_epoch() of user.account_id */
    int64_t at_ms;
    unsigned char hash[AUTH_SHA256_BYTES];
    char ip[64];
    db_auth_user user;
} id_slot;

static id_slot id_slots[ID_SLOTS];
static pthread_mutex_t id_locks[ID_STRIPES];
static pthread_once_t id_once = PTHREAD_ONCE_INIT;

static void id_init(void)
{
    for (int i = 0; i < ID_STRIPES; i++) {
        pthread_mutex_init(&id_locks[i], NULL);
    }
}

static unsigned id_index(const unsigned char *hash, const char *ip, bool token)
{
    uint32_t h = 2166136261u; /* FNV-1a over the address, mixed with the hash */
    for (const char *p = ip; *p != '\0'; p++) {
        h = (h ^ (unsigned char)*p) * 16777619u;
    }
    h ^= (uint32_t)hash[0] | (uint32_t)hash[1] << 8 | (uint32_t)hash[2] << 16 |
         (uint32_t)hash[3] << 24;
    return (h ^ (token ? 0x9e3779b9u : 0u)) & (ID_SLOTS - 1);
}

/* Whether the identity of (hash, ip, token) is remembered; if so, *out is
 * it and *due is true for the first request once it is due for a refresh. */
static bool id_lookup(const unsigned char *hash, const char *ip, bool token, int64_t now_ms,
                      db_auth_user *out, bool *due)
{
    unsigned i = id_index(hash, ip, token);
    id_slot *e = &id_slots[i];
    int64_t ttl_ms = auth_cache_ttl_ms(), refresh_ms = auth_cache_refresh_ms();
    bool hit;
    pthread_once(&id_once, id_init);
    pthread_mutex_lock(&id_locks[i % ID_STRIPES]);
    hit = e->used && e->token == token && e->epoch == auth_identity_epoch() &&
          e->account_epoch == auth_account_epoch(e->user.account_id) && now_ms >= e->at_ms &&
          now_ms - e->at_ms < ttl_ms && strcmp(e->ip, ip) == 0 &&
          auth_equal(e->hash, hash, AUTH_SHA256_BYTES);
    *due = false;
    if (hit && now_ms - e->at_ms >= refresh_ms && !e->refreshing) {
        /* This request has it looked up again; all keep using it meanwhile. */
        e->refreshing = true;
        *due = true;
    }
    if (hit) {
        *out = e->user;
    }
    pthread_mutex_unlock(&id_locks[i % ID_STRIPES]);
    return hit;
}

/* Remember "u" as looked up at "now_ms" under the identity epoch "epoch"
 * and the account epoch "account_epoch" (auth.h). */
static void id_store(const unsigned char *hash, const char *ip, bool token,
                     unsigned long long epoch, unsigned long long account_epoch, int64_t now_ms,
                     const db_auth_user *u)
{
    unsigned i = id_index(hash, ip, token);
    id_slot *e = &id_slots[i];
    if (strlen(ip) >= sizeof e->ip) {
        return;
    }
    pthread_once(&id_once, id_init);
    pthread_mutex_lock(&id_locks[i % ID_STRIPES]);
    e->used = true;
    e->token = token;
    e->refreshing = false;
    e->epoch = epoch;
    e->account_epoch = account_epoch;
    e->at_ms = now_ms;
    memcpy(e->hash, hash, AUTH_SHA256_BYTES);
    snprintf(e->ip, sizeof e->ip, "%s", ip);
    e->user = *u;
    pthread_mutex_unlock(&id_locks[i % ID_STRIPES]);
}

/* Forget the identity of (hash, ip, token) if it is remembered: the
 * session or token is gone or no longer active. */
static void id_forget(const unsigned char *hash, const char *ip, bool token)
{
    unsigned i = id_index(hash, ip, token);
    id_slot *e = &id_slots[i];
    pthread_once(&id_once, id_init);
    pthread_mutex_lock(&id_locks[i % ID_STRIPES]);
    if (e->used && e->token == token && strcmp(e->ip, ip) == 0 &&
        auth_equal(e->hash, hash, AUTH_SHA256_BYTES)) {
        e->used = false;
    }
    pthread_mutex_unlock(&id_locks[i % ID_STRIPES]);
}

/* Look the session or token up in the database at "now_ms" and remember it
 * when active (or forget it when not). *active: whether it is a session or
 * token of an enabled user that may be used (not a two-step challenge). */
static db_status id_read(srv *s, const unsigned char *hash, const char *ip, bool token,
                         int64_t now_ms, db_auth_user *u, bool *active)
{
    /* Both before the read (auth.h: the count moves before any epoch). */
    unsigned long long changes = auth_change_count(), epoch = auth_identity_epoch();
    bool found = false;
    db_conn *c = NULL;
    db_status st = db_acquire(s->pool, DB_WAIT_MS, &c);
    *active = false;
    if (st != DB_OK) {
        return st;
    }
    st = token ? db_auth_token_get(c, hash, now_ms / 1000, ip, u, &found)
               : db_auth_session_get(c, hash, now_ms / 1000, ip, u, &found);
    db_release(s->pool, c);
    if (st != DB_OK) {
        return st;
    }
    /* A challenge (stage two_step) is no session; a disabled user's
     * sessions and tokens stop at once. */
    *active = found && strcmp(u->stage, "active") == 0 && !u->disabled;
    if (*active) {
        /* The account's epoch after the read, kept only if nothing moved
         * meanwhile: otherwise this look-up may predate a change of its
         * account (the next request looks it up again). */
        unsigned long long account_epoch = auth_account_epoch(u->account_id);
        if (auth_change_count() == changes) {
            id_store(hash, ip, token, epoch, account_epoch, now_ms, u);
        }
    } else {
        id_forget(hash, ip, token);
    }
    return DB_OK;
}

/* What a refresh of a remembered identity needs (the server is the job's
 * context). */
typedef struct {
    unsigned char hash[AUTH_SHA256_BYTES];
    char ip[64];
    bool token;
} id_refresh_arg;

/* The refresher's job (refresher.h). On a database failure the entry ends
 * at its TTL. */
static void id_refresh(void *ctx, const void *arg)
{
    const id_refresh_arg *r = arg;
    db_auth_user u;
    bool active;
    (void)id_read(ctx, r->hash, r->ip, r->token, auth_now_ms(), &u, &active);
}

static svc_status resolve(srv *s, const char *secret, bool token, const char *ip, auth_grant *out,
                          svc_error *e)
{
    unsigned char hash[AUTH_SHA256_BYTES];
    int64_t now_ms = auth_now_ms(), now = now_ms / 1000;
    bool due = false, active = false;
    db_status st;
    svc_status rc = SVC_OK;

    memset(out, 0, sizeof *out);
    if (secret == NULL || strlen(secret) != AUTH_SECRET_CHARS || ip == NULL) {
        return unauthenticated(e);
    }
    auth_secret_sha256(secret, AUTH_SECRET_CHARS, hash);
    if (!id_lookup(hash, ip, token, now_ms, &out->user, &due)) {
        if ((st = id_read(s, hash, ip, token, now_ms, &out->user, &active)) != DB_OK) {
            return svc_fail_db(e, st, NULL);
        }
        if (!active) {
            return unauthenticated(e);
        }
    } else {
        if (due) {
            id_refresh_arg r = {.token = token};
            memcpy(r.hash, hash, sizeof r.hash);
            snprintf(r.ip, sizeof r.ip, "%s", ip); /* fits: id_store() keeps no longer one */
            (void)refresher_submit(id_refresh, s, &r, sizeof r);
        }
        if (out->user.token_expires >= 0 && now >= out->user.token_expires) {
            return unauthenticated(e);
        }
    }
    out->plan = svc_auth_effective_plan(&out->user, now);
    if ((rc = account_gate(&out->user, out->plan, now, e)) == SVC_OK && token) {
        rc = token_gate(out->plan, e);
    }
    return rc;
}

svc_status svc_auth_resolve_cookie(srv *s, const char *cookie, const char *ip, auth_grant *out,
                                   svc_error *e)
{
    return resolve(s, cookie, false, ip, out, e);
}

svc_status svc_auth_resolve_token(srv *s, const char *token, const char *ip, auth_grant *out,
                                  svc_error *e)
{
    return resolve(s, token, true, ip, out, e);
}

svc_status svc_auth_logout(const svc_actor *a, svc_error *e)
{
    db_conn *c = NULL;
    db_status st;
    if (a->via_token) {
        return svc_fail(e, SVC_INVALID, "not_a_session", NULL,
                        "an API token is not a session: it expires by itself");
    }
    if ((st = db_acquire(a->srv->pool, DB_WAIT_MS, &c)) == DB_OK) {
        st = db_auth_session_delete(c, a->account_id, a->session_id);
    }
    db_release(a->srv->pool, c);
    if (st != DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    auth_forget_identities();
    return SVC_OK;
}

svc_status svc_auth_session_user(const svc_actor *a, db_auth_user *out, svc_error *e)
{
    bool found = false;
    db_conn *c = NULL;
    db_status st = db_acquire(a->srv->pool, DB_WAIT_MS, &c);
    memset(out, 0, sizeof *out);
    if (st == DB_OK) {
        st = db_auth_find_user(c, a->account_id, a->user_id, a->ip, out, &found);
    }
    db_release(a->srv->pool, c);
    OPENSSL_cleanse(out->password_hash, sizeof out->password_hash);
    if (st != DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    if (!found) {
        return unauthenticated(e);
    }
    return SVC_OK;
}

/* ------------------------------------------------ own sessions and tokens */

/* The user's sessions or tokens as JSON text, read by "fn". */
typedef db_status (*list_fn)(db_conn *c, long long account_id, long long user_id,
                             long long current_id, int64_t now, char **json);

static svc_status list_own(const svc_actor *a, long long current_id, list_fn fn, cJSON **out,
                           svc_error *e)
{
    db_conn *c = NULL;
    char *json = NULL;
    cJSON *items;
    db_status st = db_acquire(a->srv->pool, DB_WAIT_MS, &c);
    *out = NULL;
    if (st == DB_OK) {
        st = fn(c, a->account_id, a->user_id, current_id, auth_now(), &json);
    }
    db_release(a->srv->pool, c);
    if (st != DB_OK) {
        free(json);
        return svc_fail_db(e, st, NULL);
    }
    *out = cJSON_CreateObject();
    items = json != NULL ? cJSON_Parse(json) : NULL;
    free(json);
    if (*out == NULL || items == NULL) {
        cJSON_Delete(*out);
        cJSON_Delete(items);
        *out = NULL;
        return internal(e);
    }
    cJSON_AddItemToObject(*out, "items", items);
    return SVC_OK;
}

svc_status svc_auth_sessions_list(const svc_actor *a, cJSON **out, svc_error *e)
{
    return list_own(a, a->session_id, db_auth_sessions_json, out, e);
}

svc_status svc_auth_tokens_list(const svc_actor *a, cJSON **out, svc_error *e)
{
    return list_own(a, a->token_id, db_auth_tokens_json, out, e);
}

/* Commit "c" when "st" is DB_OK, release it, and forget resolved
 * identities after a commit. SVC_OK, or the database's failure. */
static svc_status commit_forget(const svc_actor *a, db_conn *c, db_status st, svc_error *e)
{
    if (st == DB_OK) {
        st = db_commit(c);
    }
    db_release(a->srv->pool, c); /* rolls back an unfinished transaction */
    if (st != DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    auth_forget_identities();
    return SVC_OK;
}

/* Ending one of the user's rows: a session (deleted) or a token (revoked). */
typedef db_status (*end_fn)(db_conn *c, long long account_id, long long user_id, long long id,
                            int64_t now, bool *found);

static db_status end_session_row(db_conn *c, long long account_id, long long user_id,
                                 long long id, int64_t now, bool *found)
{
    (void)now;
    return db_auth_session_delete_own(c, account_id, user_id, id, found);
}

/* End row "id" of the user with "fn" and audit "action" on "type"/"id", in
 * one transaction; SVC_NOT_FOUND "no such <type words>" when it is not one
 * of theirs. */
static svc_status end_own(const svc_actor *a, long long id, end_fn fn, const char *action,
                          const char *type, const char *missing, svc_error *e)
{
    audit_who who = svc_who(a);
    bool found = false;
    db_conn *c = NULL;
    svc_status rc = SVC_OK;
    db_status st = db_acquire(a->srv->pool, DB_WAIT_MS, &c);
    if (st == DB_OK && (st = db_begin(c)) == DB_OK &&
        (st = fn(c, a->account_id, a->user_id, id, auth_now(), &found)) == DB_OK && found) {
        st = audit_write(c, &who, action, type, id, NULL);
    }
    if ((rc = commit_forget(a, c, st, e)) != SVC_OK) {
        return rc;
    }
    return found ? SVC_OK : svc_fail(e, SVC_NOT_FOUND, NULL, NULL, "%s", missing);
}

svc_status svc_auth_session_end(const svc_actor *a, long long session_id, svc_error *e)
{
    return end_own(a, session_id, end_session_row, "auth.session_end", "session", "no such session",
                   e);
}

svc_status svc_auth_sessions_end_all(const svc_actor *a, long long *n_ended, svc_error *e)
{
    audit_who who = svc_who(a);
    char detail[64];
    db_conn *c = NULL;
    svc_status rc = SVC_OK;
    db_status st = db_acquire(a->srv->pool, DB_WAIT_MS, &c);
    *n_ended = 0;
    if (st == DB_OK && (st = db_begin(c)) == DB_OK &&
        (st = db_auth_sessions_delete_user(c, a->account_id, a->user_id, a->session_id, n_ended)) ==
            DB_OK) {
        snprintf(detail, sizeof detail, "{\"ended\":%lld}", *n_ended);
        st = audit_write(c, &who, "auth.sessions_end", "user", a->user_id, detail);
    }
    if ((rc = commit_forget(a, c, st, e)) != SVC_OK) {
        *n_ended = 0;
    }
    return rc;
}

svc_status svc_auth_token_revoke(const svc_actor *a, long long token_id, svc_error *e)
{
    return end_own(a, token_id, db_auth_token_revoke, "auth.token_revoke", "api_token",
                   "no such token", e);
}

svc_status svc_auth_token_rename(const svc_actor *a, long long token_id, const char *name,
                                 svc_error *e)
{
    audit_who who = svc_who(a);
    bool found = false;
    db_conn *c = NULL;
    svc_status rc = SVC_OK;
    db_status st = db_acquire(a->srv->pool, DB_WAIT_MS, &c);
    if (st == DB_OK && (st = db_begin(c)) == DB_OK &&
        (st = db_auth_token_rename(c, a->account_id, a->user_id, token_id, name, auth_now(),
                                   &found)) == DB_OK &&
        found) {
        st = audit_write(c, &who, "auth.token_rename", "api_token", token_id, NULL);
    }
    if ((rc = commit_forget(a, c, st, e)) != SVC_OK) {
        return rc;
    }
    return found ? SVC_OK : svc_fail(e, SVC_NOT_FOUND, NULL, NULL, "no such token");
}

svc_status svc_auth_user_sessions_end(const svc_actor *a, long long user_id, long long *n_sessions,
                                      long long *n_tokens, svc_error *e)
{
    audit_who who = svc_who(a);
    char detail[96];
    db_auth_user u;
    bool found = false;
    db_conn *c = NULL;
    svc_status rc = SVC_OK;
    /* Naming oneself keeps the current session. */
    long long keep_id = user_id == a->user_id ? a->session_id : 0;
    db_status st = db_acquire(a->srv->pool, DB_WAIT_MS, &c);
    *n_sessions = *n_tokens = 0;
    if (st == DB_OK && (st = db_begin(c)) == DB_OK) {
        st = db_auth_find_user(c, a->account_id, user_id, "0.0.0.0", &u, &found);
        OPENSSL_cleanse(u.password_hash, sizeof u.password_hash);
    }
    if (st == DB_OK && found &&
        (st = db_auth_sessions_delete_user(c, a->account_id, user_id, keep_id, n_sessions)) ==
            DB_OK &&
        (st = db_auth_tokens_revoke_user(c, a->account_id, user_id, auth_now(), n_tokens)) ==
            DB_OK) {
        snprintf(detail, sizeof detail, "{\"sessions\":%lld,\"tokens\":%lld}", *n_sessions,
                 *n_tokens);
        st = audit_write(c, &who, "user.sessions_end", "user", user_id, detail);
    }
    if ((rc = commit_forget(a, c, st, e)) != SVC_OK) {
        *n_sessions = *n_tokens = 0;
        return rc;
    }
    return found ? SVC_OK : svc_fail(e, SVC_NOT_FOUND, NULL, NULL, "no such user");
}

/* Hash "password" after the A6 check against "login_id": SVC_OK, SVC_INVALID
 * with the policy's code on "field", or SVC_INTERNAL. */
static svc_status new_password_hash(const char *password, const char *login_id, char *hash,
                                    size_t cap, const char *field, svc_error *e)
{
    pw_policy p = password_check_policy(password, login_id);
    if (p != PW_OK) {
        return svc_fail(e, SVC_INVALID, password_policy_code(p), field, "%s",
                        password_policy_message(p));
    }
    switch (password_hash(password, hash, cap)) {
    case 0: return SVC_OK;
    case PASSWORD_BUSY: return svc_fail_hash_busy(e);
    default: return internal(e);
    }
}

svc_status svc_auth_change_password(const svc_actor *a, const char *current,
                                    const char *new_password, svc_error *e)
{
    audit_who who = svc_who(a);
    long long account_id = a->account_id, user_id = a->user_id;
    char hash[PASSWORD_HASH_CAP];
    db_auth_user u;
    bool found = false;
    int verdict;
    db_conn *c = NULL;
    db_status st;
    svc_status rc = SVC_OK;
    int64_t now = auth_now();

    memset(&u, 0, sizeof u);
    if ((st = db_acquire(a->srv->pool, DB_WAIT_MS, &c)) != DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    st = db_auth_find_user(c, account_id, user_id, "0.0.0.0", &u, &found);
    /* Both hashes run without a database connection (see login()). */
    db_release(a->srv->pool, c);
    c = NULL;
    if (st != DB_OK) {
        OPENSSL_cleanse(u.password_hash, sizeof u.password_hash);
        return svc_fail_db(e, st, NULL);
    }
    verdict = found ? password_verify(u.password_hash, current) : 0;
    OPENSSL_cleanse(u.password_hash, sizeof u.password_hash);
    if (verdict == PASSWORD_BUSY) {
        return svc_fail_hash_busy(e);
    }
    if (verdict != 1) {
        return svc_fail(e, SVC_FORBIDDEN, "wrong_password", "current",
                        "the current password is wrong");
    }
    if ((rc = new_password_hash(new_password, u.login_id, hash, sizeof hash, "new", e)) != SVC_OK) {
        return rc;
    }
    if ((st = db_acquire(a->srv->pool, DB_WAIT_MS, &c)) != DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    /* The user's other sessions end; the current one (none for a token)
     * stays. */
    if ((st = db_begin(c)) != DB_OK ||
        (st = db_auth_set_password(c, account_id, user_id, hash, now)) != DB_OK ||
        (st = db_auth_sessions_delete_user(c, account_id, user_id, a->session_id, NULL)) != DB_OK ||
        (st = audit_write(c, &who, "auth.password_change", "user", user_id, NULL)) != DB_OK ||
        (st = db_commit(c)) != DB_OK) {
        rc = svc_fail_db(e, st, NULL);
        goto out;
    }
    auth_forget_identities();
out:
    db_release(a->srv->pool, c);
    return rc;
}

/* The reset mail in the seven portal languages: its subject, its text
 * ("%s" the user's login ID, "%d" the minutes the link lives) and the
 * label of the link. */
static const struct {
    const char *lang, *title, *body, *label;
} reset_words[] = {
    {"zh-CN", "Metron 密码重置",
     "有人请求重置您的 Metron 用户 %s 的密码。\n\n"
     "请通过下面的链接设置新密码。链接在 %d 分钟内有效，只能使用一次。\n\n"
     "如果不是您本人操作，请忽略此邮件：您的密码不会改变。",
     "设置新密码"},
    {"ja", "Metron パスワードの再設定",
     "Metron ユーザー %s のパスワードの再設定が依頼されました。\n\n"
     "下のリンクから新しいパスワードを設定してください。リンクの有効期限は %d 分で、"
     "1 回だけ使えます。\n\n"
     "お心当たりがない場合は、このメールを無視してください。パスワードは変わりません。",
     "新しいパスワードを設定"},
    {"en", "Metron password reset",
     "Someone asked to reset the password of your Metron user %s.\n\n"
     "Set a new password with the link below. It is valid for %d minutes and works once.\n\n"
     "If it was not you, ignore this message: your password stays as it is.",
     "Set a new password"},
    {"es", "Restablecer la contraseña de Metron",
     "Alguien ha pedido restablecer la contraseña de su usuario de Metron %s.\n\n"
     "Establezca una nueva contraseña con el enlace de abajo. Es válido durante %d minutos "
     "y funciona una sola vez.\n\n"
     "Si no fue usted, ignore este mensaje: su contraseña no cambia.",
     "Establecer una nueva contraseña"},
    {"fr", "Réinitialisation du mot de passe Metron",
     "Quelqu’un a demandé la réinitialisation du mot de passe de votre utilisateur "
     "Metron %s.\n\n"
     "Définissez un nouveau mot de passe avec le lien ci-dessous. Il est valable %d minutes "
     "et ne fonctionne qu’une fois.\n\n"
     "Si ce n’était pas vous, ignorez ce message : votre mot de passe reste inchangé.",
     "Définir un nouveau mot de passe"},
    {"de", "Metron-Passwort zurücksetzen",
     "Jemand hat das Zurücksetzen des Passworts Ihres Metron-Benutzers %s angefordert.\n\n"
     "Legen Sie mit dem Link unten ein neues Passwort fest. Er ist %d Minuten gültig und "
     "funktioniert nur einmal.\n\n"
     "Wenn Sie das nicht waren, ignorieren Sie diese Nachricht: Ihr Passwort bleibt "
     "unverändert.",
     "Neues Passwort festlegen"},
    {"it", "Reimpostazione della password di Metron",
     "Qualcuno ha chiesto di reimpostare la password del tuo utente Metron %s.\n\n"
     "Imposta una nuova password con il link qui sotto. È valido per %d minuti e funziona "
     "una sola volta.\n\n"
     "Se non sei stato tu, ignora questo messaggio: la tua password resta invariata.",
     "Imposta una nuova password"},
};

typedef struct {
    const char *login_id;
    const char *link;
    char body[1200];
} reset_text;

static svc_status render_reset(void *arg, const char *language, notify_text *out, svc_error *e)
{
    reset_text *t = arg;
    size_t i = words_row(reset_words, sizeof reset_words / sizeof reset_words[0],
                         sizeof reset_words[0], language);
    (void)e;
    snprintf(t->body, sizeof t->body, reset_words[i].body, t->login_id, AUTH_RESET_TTL_S / 60);
    out->title = reset_words[i].title;
    out->body = t->body;
    out->link_url = t->link;
    out->link_label = reset_words[i].label;
    return SVC_OK;
}

/* Count one more reset request on throttle key "key"; true while it is
 * within "limit" (an hour without one starts the count again). */
static svc_status reset_within(db_conn *c, const char *key, int limit, int64_t now, bool *ok,
                               svc_error *e)
{
    int count = 0;
    db_status st = db_auth_throttle_fail(c, key, now, &count);
    if (st != DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    *ok = count <= limit;
    return SVC_OK;
}

svc_status svc_auth_reset_request(srv *s, const auth_login *in, const char *base_url,
                                  svc_error *e)
{
    db_auth_user u;
    unsigned char hash[AUTH_SHA256_BYTES];
    char token[64], account[80], key[300], link[420], mail[272];
    bool found = false, ok = true;
    db_conn *c = NULL;
    db_status st;
    svc_status rc = SVC_OK;
    int64_t now = auth_now();
    audit_who who = {0, 0, false, in->ip, 0};
    notify_to to = {NOTIFY_TO_USER, 0, NULL, NULL};
    reset_text text;
    notify_msg m;

    memset(&u, 0, sizeof u);
    if ((st = db_acquire(s->pool, DB_WAIT_MS, &c)) != DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    /* Every request of an address counts, whoever it names. */
    snprintf(key, sizeof key, "reset-ip:%s", in->ip != NULL ? in->ip : "");
    if ((rc = reset_within(c, key, AUTH_RESET_PER_IP, now, &ok, e)) != SVC_OK || !ok) {
        goto out;
    }
    if (in->email != NULL) {
        st = db_auth_find_email_login(c, in->email, "0.0.0.0", &u, &found);
    } else {
        lower_copy(account, sizeof account, in->account);
        st = db_auth_find_login(c, account, in->user, "0.0.0.0", &u, &found);
    }
    OPENSSL_cleanse(u.password_hash, sizeof u.password_hash);
    if (st != DB_OK) {
        rc = svc_fail_db(e, st, NULL);
        goto out;
    }
    if (!found || u.email[0] == '\0' || u.disabled) {
        goto out;
    }
    /* Per user and per mailbox (several users may share one address). */
    snprintf(key, sizeof key, "reset-user:%lld", u.user_id);
    if ((rc = reset_within(c, key, AUTH_RESET_PER_USER, now, &ok, e)) != SVC_OK || !ok) {
        goto out;
    }
    lower_copy(mail, sizeof mail, u.email);
    snprintf(key, sizeof key, "reset-mail:%s", mail);
    if ((rc = reset_within(c, key, AUTH_RESET_PER_EMAIL, now, &ok, e)) != SVC_OK || !ok) {
        goto out;
    }
    if (auth_new_secret(token, sizeof token, hash) != 0) {
        rc = svc_fail(e, SVC_INTERNAL, NULL, NULL, "no random bytes for a reset link");
        goto out;
    }
    snprintf(link, sizeof link, "%s/#/reset?token=%s", base_url, token);
    OPENSSL_cleanse(token, sizeof token);
    /* The outbox's key: a link's own (never two mails for one link). */
    snprintf(key, sizeof key, "reset:%02x%02x%02x%02x%02x%02x%02x%02x", hash[0], hash[1],
             hash[2], hash[3], hash[4], hash[5], hash[6], hash[7]);
    memset(&text, 0, sizeof text);
    text.login_id = u.login_id;
    text.link = link;
    memset(&m, 0, sizeof m);
    m.account_id = u.account_id;
    m.kind = "auth.password_reset";
    m.key = key;
    m.severity = "info";
    m.render = render_reset;
    m.render_arg = &text;
    to.id = u.user_id;
    m.to = &to;
    m.n_to = 1;
    m.sensitive = true;
    m.interactive = true; /* the person waits for the link */
    who.account_id = u.account_id;
    if ((st = db_begin(c)) != DB_OK ||
        (st = db_auth_reset_drop_unused(c, u.account_id, u.user_id)) != DB_OK ||
        (st = db_auth_reset_insert(c, u.account_id, u.user_id, hash, now,
                                   now + AUTH_RESET_TTL_S)) != DB_OK) {
        rc = svc_fail_db(e, st, NULL);
        goto out;
    }
    if ((rc = svc_notify_enqueue(c, &m, NULL, e)) != SVC_OK) {
        goto out;
    }
    if ((st = audit_write(c, &who, "auth.reset_request", "user", u.user_id, NULL)) != DB_OK ||
        (st = db_commit(c)) != DB_OK) {
        rc = svc_fail_db(e, st, NULL);
        goto out;
    }
out:
    OPENSSL_cleanse(link, sizeof link);
    OPENSSL_cleanse(text.body, sizeof text.body);
    db_release(s->pool, c); /* rolls back an unfinished transaction */
    return rc;
}

svc_status svc_auth_reset(srv *s, const char *token, const char *password, const char *ip,
                          svc_error *e)
{
    audit_who who = {0, 0, false, ip, 0};
    unsigned char hash[AUTH_SHA256_BYTES];
    char pw_hash[PASSWORD_HASH_CAP], user_key[40];
    long long account_id = 0, user_id = 0;
    bool found = false;
    db_conn *c = NULL;
    db_status st;
    svc_status rc = SVC_OK;
    db_auth_user u;
    int64_t now = auth_now();

    memset(&u, 0, sizeof u);
    auth_sha256(token, strlen(token), hash);
    if ((st = db_acquire(s->pool, DB_WAIT_MS, &c)) != DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    if ((st = db_begin(c)) != DB_OK ||
        (st = db_auth_reset_take(c, hash, now, &account_id, &user_id, &found)) != DB_OK) {
        rc = svc_fail_db(e, st, NULL);
        goto out;
    }
    if (!found) {
        rc = svc_fail(e, SVC_INVALID, "invalid_token", "token",
                      "the reset link is unknown, used or expired");
        goto out;
    }
    if ((st = db_auth_find_user(c, account_id, user_id, "0.0.0.0", &u, &found)) != DB_OK ||
        !found) {
        rc = svc_fail_db(e, st == DB_OK ? DB_ERROR : st, NULL);
        goto out;
    }
    OPENSSL_cleanse(u.password_hash, sizeof u.password_hash);
    /* A refused password leaves the link unused (rollback), so the user can
     * try again with a better one. */
    if ((rc = new_password_hash(password, u.login_id, pw_hash, sizeof pw_hash, "password", e)) !=
        SVC_OK) {
        goto out;
    }
    who.account_id = account_id;
    who.user_id = user_id;
    /* The reset proves the mailbox: the user's sign-in lock ends with it
     * (whoever held it, the new password is theirs alone). */
    snprintf(user_key, sizeof user_key, "user:%lld", user_id);
    if ((st = db_auth_set_password(c, account_id, user_id, pw_hash, now)) != DB_OK ||
        (st = db_auth_throttle_clear(c, user_key)) != DB_OK ||
        (st = db_auth_sessions_delete_user(c, account_id, user_id, 0, NULL)) != DB_OK ||
        (st = audit_write(c, &who, "auth.password_reset", "user", user_id, NULL)) != DB_OK ||
        (st = db_commit(c)) != DB_OK) {
        rc = svc_fail_db(e, st, NULL);
        goto out;
    }
    auth_forget_identities();
out:
    db_release(s->pool, c); /* rolls back an unfinished transaction */
    return rc;
}

svc_status svc_auth_totp_enrol(const svc_actor *a, char *secret_b32, char *uri, svc_error *e)
{
    unsigned char secret[TOTP_SECRET_BYTES];
    char label[400], enc[1200];
    db_auth_user u;
    bool found = false;
    db_conn *c = NULL;
    db_status st;
    size_t n = 0;

    memset(&u, 0, sizeof u);
    if (auth_random(secret, sizeof secret) != 0 || totp_base32(secret, sizeof secret, secret_b32,
                                                               64) < 0) {
        return internal(e);
    }
    if ((st = db_acquire(a->srv->pool, DB_WAIT_MS, &c)) != DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    st = db_auth_find_user(c, a->account_id, a->user_id, "0.0.0.0", &u, &found);
    OPENSSL_cleanse(u.password_hash, sizeof u.password_hash);
    if (st == DB_OK && found) {
        st = db_auth_totp_set_pending(c, a->account_id, a->user_id, secret, (int)sizeof secret);
    }
    db_release(a->srv->pool, c);
    OPENSSL_cleanse(secret, sizeof secret);
    if (st != DB_OK || !found) {
        return svc_fail_db(e, st == DB_OK ? DB_ERROR : st, NULL);
    }
    /* otpauth://totp/Metron:<account>%2F<user>?secret=...&issuer=Metron
     * (Key Uri Format): the label is percent-encoded. */
    snprintf(label, sizeof label, "%s/%s", u.account_login[0] ? u.account_login : "trial",
             u.email_login ? u.email : u.login_id);
    for (const unsigned char *p = (const unsigned char *)label; *p && n + 4 < sizeof enc; p++) {
        if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            enc[n++] = (char)*p;
        } else {
            n += (size_t)snprintf(enc + n, sizeof enc - n, "%%%02X", *p);
        }
    }
    enc[n] = '\0';
    snprintf(uri, SVC_AUTH_URI_CAP,
             "otpauth://totp/Metron:%s?secret=%s&issuer=Metron&algorithm=SHA1&digits=%d&"
             "period=%d",
             enc, secret_b32, TOTP_DIGITS, TOTP_STEP_S);
    return SVC_OK;
}

svc_status svc_auth_totp_confirm(const svc_actor *a, const char *code, svc_error *e)
{
    audit_who who = svc_who(a);
    long long account_id = a->account_id, user_id = a->user_id;
    unsigned char secret[64], pending[64];
    int secret_len = 0, pending_len = 0;
    int64_t last_step = -1, step = -1, now = auth_now();
    db_conn *c = NULL;
    db_status st;
    svc_status rc = SVC_OK;

    if ((st = db_acquire(a->srv->pool, DB_WAIT_MS, &c)) != DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    st = db_auth_totp_get(c, account_id, user_id, secret, &secret_len, pending, &pending_len,
                          &last_step);
    if (st != DB_OK) {
        rc = svc_fail_db(e, st, NULL);
        goto out;
    }
    if (pending_len == 0) {
        rc = svc_fail(e, SVC_CONFLICT, "no_enrolment", NULL,
                      "start with POST /api/v1/me/totp/enrol"); /* nothing to confirm */
        goto out;
    }
    /* A new secret starts a new sequence: any step of the window is fresh,
     * but the step used stays spent. A wrong code of a signed-in user is a
     * refused value (400), not an ended session (401): clients take a 401
     * to mean "sign in again". */
    if (!totp_verify(pending, (size_t)pending_len, code, now, -1, &step)) {
        rc = svc_fail(e, SVC_INVALID, "invalid_code", "code",
                      "the code does not match the pending secret");
        goto out;
    }
    if ((st = db_begin(c)) != DB_OK ||
        (st = db_auth_totp_confirm(c, account_id, user_id, step)) != DB_OK ||
        (st = audit_write(c, &who, "auth.two_step_change", "user", user_id,
                          "{\"two_step\":\"totp\"}")) != DB_OK ||
        (st = db_commit(c)) != DB_OK) {
        rc = svc_fail_db(e, st, NULL);
        goto out;
    }
out:
    OPENSSL_cleanse(secret, sizeof secret);
    OPENSSL_cleanse(pending, sizeof pending);
    db_release(a->srv->pool, c);
    return rc;
}

svc_status svc_auth_set_two_step(const svc_actor *a, const char *mode, svc_error *e)
{
    audit_who who = svc_who(a);
    db_conn *c = NULL;
    db_status st;
    if (strcmp(mode, "off") != 0 && strcmp(mode, "email") != 0) {
        return svc_fail(e, SVC_INVALID, "invalid_value", "mode",
                        "'mode' must be \"off\" or \"email\" (TOTP: enrol and confirm)");
    }
    st = db_acquire(a->srv->pool, DB_WAIT_MS, &c);
    if (st == DB_OK && (st = db_begin(c)) == DB_OK &&
        (st = db_auth_set_two_step(c, a->account_id, a->user_id, mode)) == DB_OK) {
        st = audit_write_kv(c, &who, "auth.two_step_change", "user", a->user_id, "two_step", mode);
    }
    if (st == DB_OK) {
        st = db_commit(c);
    }
    db_release(a->srv->pool, c);
    if (st == DB_CONSTRAINT) {
        return svc_fail(e, SVC_CONFLICT, "no_email", "mode", "the user has no e-mail address");
    }
    return st == DB_OK ? SVC_OK : svc_fail_db(e, st, NULL);
}

void svc_plan_refusal(mt_plan plan, mt_quota q, svc_error *e)
{
    mt_error err;
    if (mt_plan_require(plan, q, MT_ACCESS_FULL, &err) == MT_OK) {
        snprintf(err.msg, sizeof err.msg, "%s is not available on this plan", mt_quota_id(q));
    }
    svc_fail_quota(e, plan, q, err.msg);
}

/* ---------------------------------------------------- IP allow-list (A7) */

/* The stored allow-list as JSON text: 100 entries of at most 49 characters. */
#define IP_LIST_TEXT_MAX 8192
#define MAX_IP_ENTRIES 100

svc_status svc_auth_ip_list_get(const svc_actor *a, cJSON **out, svc_error *e)
{
    char *text;
    db_conn *c = NULL;
    db_status st;
    *out = NULL;
    /* On the heap: a worker's stack is 100 KiB in all (docs/server.md). */
    if ((text = malloc(IP_LIST_TEXT_MAX)) == NULL) {
        return internal(e);
    }
    if ((st = db_acquire(a->srv->pool, DB_WAIT_MS, &c)) == DB_OK) {
        st = db_auth_ip_list_get(c, a->account_id, text, IP_LIST_TEXT_MAX);
    }
    db_release(a->srv->pool, c);
    if (st != DB_OK) {
        free(text);
        return svc_fail_db(e, st, NULL);
    }
    *out = cJSON_CreateObject();
    cJSON_AddItemToObject(*out, "ip_allow_list", cJSON_Parse(text));
    free(text);
    return SVC_OK;
}

/* Whether "s" is an IPv4/IPv6 address with an optional /prefix. */
static bool cidr_ok(const char *s)
{
    char addr[64];
    const char *slash = strchr(s, '/');
    size_t len = slash ? (size_t)(slash - s) : strlen(s);
    unsigned char buf[16];
    int max;
    if (len == 0 || len >= sizeof addr) {
        return false;
    }
    memcpy(addr, s, len);
    addr[len] = '\0';
    if (inet_pton(AF_INET, addr, buf) == 1) {
        max = 32;
    } else if (inet_pton(AF_INET6, addr, buf) == 1) {
        max = 128;
    } else {
        return false;
    }
    if (slash != NULL) {
        char *end;
        long p;
        if (slash[1] < '0' || slash[1] > '9') {
            return false;
        }
        p = strtol(slash + 1, &end, 10);
        if (*end != '\0' || p < 0 || p > max) {
            return false;
        }
    }
    return true;
}

/* The change, its audit entry (the list as stored) and the lock-out check
 * in one transaction: a refused list leaves neither. "after" and "detail"
 * are the caller's IP_LIST_TEXT_MAX (+ 32) buffers. */
static svc_status ip_list_store(const svc_actor *a, const char *text, char *after, char *detail,
                                cJSON **out, svc_error *e)
{
    audit_who who = svc_who(a);
    db_conn *c = NULL;
    db_status st;
    db_auth_user me;
    bool found = false;

    if ((st = db_acquire(a->srv->pool, DB_WAIT_MS, &c)) == DB_OK && (st = db_begin(c)) == DB_OK &&
        (st = db_auth_ip_list_set(c, a->account_id, text)) == DB_OK) {
        st = db_auth_ip_list_get(c, a->account_id, after, IP_LIST_TEXT_MAX);
    }
    if (st == DB_OK) {
        snprintf(detail, IP_LIST_TEXT_MAX + 32, "{\"ip_allow_list\":%s}", after);
        st = audit_write(c, &who, "account.ip_allow_list_change", "account", a->account_id, detail);
    }
    if (st != DB_OK ||
        (st = db_auth_find_user(c, a->account_id, a->user_id, a->ip, &me, &found)) != DB_OK) {
        db_release(a->srv->pool, c);
        return svc_fail_db(e, st, NULL);
    }
    OPENSSL_cleanse(me.password_hash, sizeof me.password_hash);
    if (!found || !me.ip_ok) {
        db_release(a->srv->pool, c); /* rolls back */
        return svc_fail(e, SVC_CONFLICT, "would_lock_out", "ip_allow_list",
                        "the list must allow your own address");
    }
    if ((st = db_commit(c)) != DB_OK) {
        db_release(a->srv->pool, c);
        return svc_fail_db(e, st, NULL);
    }
    db_release(a->srv->pool, c);
    auth_forget_identities();
    *out = cJSON_CreateObject();
    cJSON_AddItemToObject(*out, "ip_allow_list", cJSON_Parse(after));
    return SVC_OK;
}

svc_status svc_auth_ip_list_set(const svc_actor *a, const cJSON *list, cJSON **out, svc_error *e)
{
    const cJSON *entry;
    char *text, *after, *detail;
    int n = 0;
    svc_status rc;

    *out = NULL;
    if (list == NULL) {
        return svc_fail(e, SVC_INVALID, "missing", "ip_allow_list", "'ip_allow_list' is required");
    }
    if (!cJSON_IsArray(list)) {
        return svc_fail(e, SVC_INVALID, "wrong_type", "ip_allow_list",
                        "'ip_allow_list' must be an array");
    }
    cJSON_ArrayForEach(entry, list)
    {
        if (!cJSON_IsString(entry) || !cidr_ok(entry->valuestring)) {
            return svc_fail(e, SVC_INVALID, "invalid_value", "ip_allow_list",
                            "entry %d is not an address or CIDR block", n);
        }
        n++;
    }
    if (n > MAX_IP_ENTRIES) {
        return svc_fail(e, SVC_INVALID, "too_long", "ip_allow_list", "at most 100 entries");
    }
    /* On the heap: a worker's stack is 100 KiB in all (docs/server.md). */
    text = cJSON_PrintUnformatted(list);
    after = malloc(IP_LIST_TEXT_MAX);
    detail = malloc(IP_LIST_TEXT_MAX + 32);
    if (text == NULL || after == NULL || detail == NULL) {
        rc = internal(e);
    } else {
        rc = ip_list_store(a, text, after, detail, out, e);
    }
    cJSON_free(text);
    free(after);
    free(detail);
    return rc;
}
