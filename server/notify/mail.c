/* Outgoing e-mail (mail.h). */
#define _POSIX_C_SOURCE 200809L
#include "mail.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

/* TLS to the relay: smtps:// is TLS from the start; smtp:// must upgrade
 * with STARTTLS (mail is refused by the relay that cannot), unless the
 * operator set METRON_SMTP_TLS=optional (a relay on the same host). */
static long use_ssl(const srv *s)
{
    return s->cfg.smtp_tls_optional ? (long)CURLUSESSL_TRY : (long)CURLUSESSL_ALL;
}

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

/* ------------------------------------------------------------ the outbox */

typedef struct {
    char *s;
    size_t len, cap;
    bool oom;
} mbuf;

static void mput_n(mbuf *b, const char *s, size_t n)
{
    if (b->oom) {
        return;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        char *p;
        while (cap < b->len + n + 1) {
            cap *= 2;
        }
        p = realloc(b->s, cap);
        if (p == NULL) {
            b->oom = true;
            return;
        }
        b->s = p;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void mput(mbuf *b, const char *s)
{
    mput_n(b, s, strlen(s));
}

static void base64(mbuf *b, const unsigned char *in, size_t n)
{
    static const char tbl[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char q[4];
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)in[i] << 16;
        if (i + 1 < n) {
            v |= (unsigned)in[i + 1] << 8;
        }
        if (i + 2 < n) {
            v |= in[i + 2];
        }
        q[0] = tbl[(v >> 18) & 63];
        q[1] = tbl[(v >> 12) & 63];
        q[2] = i + 1 < n ? tbl[(v >> 6) & 63] : '=';
        q[3] = i + 2 < n ? tbl[v & 63] : '=';
        mput_n(b, q, 4);
    }
}

/* The Subject header's value: as is when printable ASCII, else RFC 2047
 * encoded words of whole UTF-8 characters, folded. */
static void put_subject(mbuf *b, const char *subject)
{
    const unsigned char *s = (const unsigned char *)subject;
    size_t len = strlen(subject), i = 0;
    bool ascii = true;
    for (size_t k = 0; k < len; k++) {
        ascii = ascii && s[k] >= 0x20 && s[k] < 0x7f;
    }
    if (ascii && len <= 900) {
        mput(b, subject);
        return;
    }
    while (i < len) {
        size_t end = i;
        /* 45 bytes -> 60 base64 characters: a 72-character encoded word */
        while (end < len) {
            size_t k = 1;
            if (s[end] >= 0xf0) {
                k = 4;
            } else if (s[end] >= 0xe0) {
                k = 3;
            } else if (s[end] >= 0xc0) {
                k = 2;
            }
            if (end + k - i > 45 || end + k > len) {
                break;
            }
            end += k;
        }
        if (end == i) {
            end = i + 1; /* a stray byte: never loop forever */
        }
        if (i > 0) {
            mput(b, "\r\n ");
        }
        mput(b, "=?UTF-8?B?");
        base64(b, s + i, end - i);
        mput(b, "?=");
        i = end;
    }
}

/* "text" quoted-printable (RFC 2045), lines of at most 76 characters,
 * "\n" becoming CRLF. */
static void put_qp(mbuf *b, const char *text)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *p = (const unsigned char *)text;
    int col = 0;
    for (; *p; p++) {
        char enc[4];
        size_t n;
        bool eol_next = p[1] == '\0' || p[1] == '\n' || (p[1] == '\r' && p[2] == '\n');
        if (*p == '\r' && p[1] == '\n') {
            continue;
        }
        if (*p == '\n') {
            mput(b, "\r\n");
            col = 0;
            continue;
        }
        if ((*p >= 33 && *p <= 126 && *p != '=') || ((*p == ' ' || *p == '\t') && !eol_next)) {
            enc[0] = (char)*p;
            n = 1;
        } else {
            enc[0] = '=';
            enc[1] = hex[*p >> 4];
            enc[2] = hex[*p & 15];
            n = 3;
        }
        if (col + (int)n > 75) {
            mput(b, "=\r\n");
            col = 0;
        }
        mput_n(b, enc, n);
        col += (int)n;
    }
    mput(b, "\r\n");
}

/* "len" bytes of "data" base64 in lines of 76 characters. */
static void put_base64_lines(mbuf *b, const unsigned char *data, size_t len)
{
    for (size_t off = 0; off < len && !b->oom; off += 57) {
        base64(b, data + off, len - off < 57 ? len - off : 57);
        mput(b, "\r\n");
    }
}

/* The attachment's headers: an ASCII fallback name (other bytes, quotes
 * and backslashes as '_') and the UTF-8 name in RFC 2231 form. */
static void put_attachment_head(mbuf *b, const mail_msg *m)
{
    static const char hex[] = "0123456789ABCDEF";
    char ascii[256];
    size_t k = 0;
    for (const unsigned char *p = (const unsigned char *)m->attach_name; *p && k < 255; p++) {
        ascii[k++] = (*p < 0x20 || *p >= 0x7f || *p == '"' || *p == '\\') ? '_' : (char)*p;
    }
    ascii[k] = '\0';
    mput(b, "Content-Type: ");
    mput(b, m->attach_type != NULL ? m->attach_type : "application/octet-stream");
    mput(b, "; name=\"");
    mput(b, ascii);
    mput(b, "\"\r\nContent-Disposition: attachment; filename=\"");
    mput(b, ascii);
    mput(b, "\";\r\n filename*=UTF-8''");
    for (const unsigned char *p = (const unsigned char *)m->attach_name; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            strchr("!#$&+-.^_`|~", *p) != NULL) {
            mput_n(b, (const char *)p, 1);
        } else {
            char enc[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            mput_n(b, enc, 3);
        }
    }
    mput(b, "\r\nContent-Transfer-Encoding: base64\r\n\r\n");
}

int mail_send_msg(const srv *s, const mail_msg *m, mail_result *r)
{
    const char *from = s->cfg.smtp_from ? s->cfg.smtp_from : "metron@localhost";
    char from_env[300], to_env[300], date[64], curl_err[CURL_ERROR_SIZE];
    mbuf b = {0};
    int rc = -1;
    CURL *curl = NULL;
    struct curl_slist *rcpt = NULL;
    upload up;
    CURLcode cc;
    time_t now = time(NULL);
    struct tm tm;

    memset(r, 0, sizeof *r);
    if (s->cfg.smtp_url == NULL || s->cfg.smtp_url[0] == '\0') {
        snprintf(r->error, sizeof r->error, "no SMTP server is configured (METRON_SMTP_URL)");
        return -1;
    }
    if (!address_ok(m->to) || !address_ok(from) || strpbrk(m->subject, "\r\n") != NULL ||
        (m->message_id != NULL && strpbrk(m->message_id, "\r\n") != NULL) ||
        (m->delivery != NULL && strpbrk(m->delivery, "\r\n") != NULL)) {
        snprintf(r->error, sizeof r->error, "unusable address or header");
        r->permanent = true;
        return -1;
    }
    gmtime_r(&now, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
    mput(&b, "Date: ");
    mput(&b, date);
    mput(&b, "\r\nFrom: <");
    mput(&b, from);
    mput(&b, ">\r\nTo: <");
    mput(&b, m->to);
    mput(&b, ">\r\nSubject: ");
    put_subject(&b, m->subject);
    if (m->message_id != NULL) {
        mput(&b, "\r\nMessage-ID: ");
        mput(&b, m->message_id);
    }
    if (m->delivery != NULL) {
        mput(&b, "\r\nX-Metron-Delivery: ");
        mput(&b, m->delivery);
    }
    mput(&b, "\r\nAuto-Submitted: auto-generated\r\nMIME-Version: 1.0\r\n");
    if (m->attach != NULL && m->attach_name != NULL) {
        /* "=_" never occurs in base64 or quoted-printable text. */
        static const char boundary[] = "=_metron_part_boundary";
        mput(&b, "Content-Type: multipart/mixed; boundary=\"");
        mput(&b, boundary);
        mput(&b, "\"\r\n\r\n--");
        mput(&b, boundary);
        mput(&b, "\r\nContent-Type: text/plain; charset=utf-8\r\n"
                 "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
        put_qp(&b, m->text);
        mput(&b, "--");
        mput(&b, boundary);
        mput(&b, "\r\n");
        put_attachment_head(&b, m);
        put_base64_lines(&b, m->attach, m->attach_len);
        mput(&b, "--");
        mput(&b, boundary);
        mput(&b, "--\r\n");
    } else {
        mput(&b, "Content-Type: text/plain; charset=utf-8\r\n"
                 "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
        put_qp(&b, m->text);
    }
    if (b.oom) {
        snprintf(r->error, sizeof r->error, "out of memory");
        goto out;
    }
    up.data = b.s;
    up.len = b.len;
    up.off = 0;
    snprintf(from_env, sizeof from_env, "<%s>", from);
    snprintf(to_env, sizeof to_env, "<%s>", m->to);
    curl = curl_easy_init();
    rcpt = curl_slist_append(NULL, to_env);
    if (curl == NULL || rcpt == NULL) {
        snprintf(r->error, sizeof r->error, "out of memory");
        goto out;
    }
    curl_err[0] = '\0';
    curl_easy_setopt(curl, CURLOPT_URL, s->cfg.smtp_url);
    curl_easy_setopt(curl, CURLOPT_MAIL_FROM, from_env);
    curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, read_cb);
    curl_easy_setopt(curl, CURLOPT_READDATA, &up);
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, curl_err);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, m->timeout_ms > 0 ? m->timeout_ms : 10000L);
    curl_easy_setopt(curl, CURLOPT_USE_SSL, use_ssl(s));
    cc = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r->smtp_code);
    if (cc != CURLE_OK) {
        snprintf(r->error, sizeof r->error, "%.60s%s%.160s", curl_easy_strerror(cc),
                 curl_err[0] ? ": " : "", curl_err);
        /* A 5xx that names the recipient or the message cannot pass by
         * waiting; other failures (a 4xx, the relay away) may. */
        r->permanent = r->smtp_code >= 550 && r->smtp_code <= 554;
        goto out;
    }
    rc = 0;
out:
    curl_slist_free_all(rcpt);
    curl_easy_cleanup(curl);
    free(b.s);
    return rc;
}
