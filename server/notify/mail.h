/* Outgoing e-mail through SMTP with libcurl (METRON_SMTP_URL,
 * METRON_SMTP_FROM; docs/server.md). Only the outbox's sender threads call
 * it (notify/outbox_sender.c): every mail, e-mailed sign-in codes (A3) and
 * password reset links (A4) included, goes through the outbox, never out
 * of a request thread. */
#ifndef MTS_MAIL_H
#define MTS_MAIL_H

#include <stdbool.h>

#include "srv.h"

/* The largest file a mail carries as an attachment (bytes). */
#define MAIL_ATTACH_MAX (20LL * 1000 * 1000)

/* A message of the outbox (notify/outbox_sender.c). */
typedef struct {
    const char *to;
    const char *subject;     /* UTF-8, one line: RFC 2047-encoded when not ASCII */
    const char *text;        /* UTF-8 text, "\n" line ends: sent quoted-printable */
    const char *message_id;  /* "<...@...>": the same for every try of one delivery */
    const char *delivery;    /* X-Metron-Delivery header value, or NULL */
    long timeout_ms;         /* whole transaction; 0 = 10 s */
    /* An attachment (NULL = none): "attach_len" bytes sent base64 in a
     * multipart/mixed message, named "attach_name" (UTF-8: RFC 2231) as
     * "attach_type". */
    const unsigned char *attach;
    size_t attach_len;
    const char *attach_name;
    const char *attach_type;
} mail_msg;

/* What the relay said. */
typedef struct {
    long smtp_code;  /* the last SMTP reply code, 0 when none came */
    bool permanent;  /* the relay refused the recipient or the message for good (5xx on it) */
    char error[240]; /* why it failed, for the delivery log ("" on success) */
} mail_result;

/* Send "m" through s->cfg.smtp_url, synchronously. Returns 0 when the
 * relay accepted it; -1 otherwise with "r" saying why (no SMTP server
 * configured, unusable address, connection or time-out, a refusal with its
 * code). Thread-safe. */
int mail_send_msg(const srv *s, const mail_msg *m, mail_result *r);

#endif
