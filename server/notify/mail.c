/* Outgoing e-mail (mail.h). */
#define _POSIX_C_SOURCE 200809L
#include "mail.h"

#include <curl/curl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

static atomic_uint g_mail_seq;

typedef struct {
    const char *data;
    size_t len, off;
} upload;

static size_t read_cb(char *buf, size_t size, size_t n, void *arg)
{
    upload *u = arg;
    size_t room = size * n, left = u->len - u->off;
    size_t k = left < room ? left : room;
    memcpy(buf, u->data + u->off, k);
    u->off += k;
    return k;
}

/* An address fit for an SMTP envelope and a header: printable ASCII or
 * UTF-8, one "@", no spaces, brackets, CR or LF. */
static bool address_ok(const char *a)
{
    size_t len = a ? strlen(a) : 0;
    if (len < 3 || len > 254 || strchr(a, '@') == NULL) {
        return false;
    }
    for (const unsigned char *p = (const unsigned char *)a; *p; p++) {
        if (*p <= ' ' || *p == '<' || *p == '>' || *p == '"' || *p == 0x7f) {
            return false;
        }
    }
    return true;
}

int mail_send(const srv *s, const char *to, const char *subject, const char *body)
{
    const char *from = s->cfg.smtp_from ? s->cfg.smtp_from : "metron@localhost";
    char from_env[300], to_env[300], date[64], msgid[128];
    char *msg = NULL;
    size_t cap;
    int n, rc = -1;
    CURL *curl = NULL;
    struct curl_slist *rcpt = NULL;
    upload up;
    CURLcode cc;
    time_t now = time(NULL);
    struct tm tm;

    if (s->cfg.smtp_url == NULL || s->cfg.smtp_url[0] == '\0') {
        log_warn("mail: no SMTP server configured (METRON_SMTP_URL): message not sent");
        return -1;
    }
    if (!address_ok(to) || !address_ok(from) || strpbrk(subject, "\r\n") != NULL) {
        log_warn("mail: unusable address or subject: message not sent");
        return -1;
    }
    gmtime_r(&now, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
    snprintf(msgid, sizeof msgid, "<%lld.%u@metron>", (long long)now,
             atomic_fetch_add(&g_mail_seq, 1));
    cap = strlen(body) + strlen(subject) + strlen(to) + strlen(from) + 512;
    msg = malloc(cap);
    if (msg == NULL) {
        return -1;
    }
    /* Subject may hold UTF-8: RFC 2047 would be needed for non-ASCII; the
     * server's subjects are ASCII. The body is declared UTF-8. */
    n = snprintf(msg, cap,
                 "Date: %s\r\nFrom: <%s>\r\nTo: <%s>\r\nSubject: %s\r\nMessage-ID: %s\r\n"
                 "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
                 "Content-Transfer-Encoding: 8bit\r\n\r\n%s\r\n",
                 date, from, to, subject, msgid, body);
    if (n < 0 || (size_t)n >= cap) {
        goto out;
    }
    up.data = msg;
    up.len = (size_t)n;
    up.off = 0;
    snprintf(from_env, sizeof from_env, "<%s>", from);
    snprintf(to_env, sizeof to_env, "<%s>", to);
    curl = curl_easy_init();
    rcpt = curl_slist_append(NULL, to_env);
    if (curl == NULL || rcpt == NULL) {
        goto out;
    }
    curl_easy_setopt(curl, CURLOPT_URL, s->cfg.smtp_url);
    curl_easy_setopt(curl, CURLOPT_MAIL_FROM, from_env);
    curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, read_cb);
    curl_easy_setopt(curl, CURLOPT_READDATA, &up);
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 10000L);
    /* smtp:// upgrades with STARTTLS when the relay offers it; smtps:// is
     * TLS from the start. */
    curl_easy_setopt(curl, CURLOPT_USE_SSL, (long)CURLUSESSL_TRY);
    cc = curl_easy_perform(curl);
    if (cc != CURLE_OK) {
        log_warn("mail: sending failed: %s", curl_easy_strerror(cc));
        goto out;
    }
    rc = 0;
out:
    curl_slist_free_all(rcpt);
    curl_easy_cleanup(curl);
    free(msg);
    return rc;
}
