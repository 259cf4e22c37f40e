/* Outgoing e-mail through SMTP with libcurl (METRON_SMTP_URL,
 * METRON_SMTP_FROM; docs/server.md). Used for e-mailed login codes (A3) and
 * password reset links (A4). */
#ifndef MTS_MAIL_H
#define MTS_MAIL_H

#include "srv.h"

/* Send a plain-text UTF-8 message "subject"/"body" to "to" from
 * s->cfg.smtp_from through s->cfg.smtp_url, synchronously (a few hundred
 * milliseconds at most on a reachable relay; 10 s timeout). Returns 0 when
 * the relay accepted it; -1 when no SMTP server is configured, an address
 * is unusable (CR/LF, no "@", too long) or the relay refused or could not
 * be reached (logged without the body: bodies carry secrets). Thread-safe. */
int mail_send(const srv *s, const char *to, const char *subject, const char *body);

#endif
