/* Business rules of system notification recipients (G4): which addresses
 * and webhook URLs are accepted, and their audited writes. Errors in an
 * svc_error (svc_apps.h); every change writes its audit entry in its own
 * transaction (audit_write). */
#ifndef MTS_SVC_RECIPIENTS_H
#define MTS_SVC_RECIPIENTS_H

#include <stdbool.h>
#include <stddef.h>

#include "svc_apps.h"

/* Whether "s" is an e-mail address we send to: local@domain, at most 254
 * characters, a local part of at most 64 printable ASCII characters without
 * spaces, quotes or angle brackets, and a domain of at least two dot-separated
 * labels of letters, digits and inner hyphens. */
bool svc_email_valid(const char *s);

/* Whether "s" is a webhook URL: http:// or https://, a host of letters,
 * digits, dots and hyphens (or an IPv4 address), an optional port, no user
 * info, no spaces or control characters, at most 2000 characters. */
bool svc_webhook_valid(const char *s);

/* A recipient as given in a request; NULL members = keep (update) or the
 * default (create: name "", language "en", enabled true). */
typedef struct {
    const char *kind;
    const char *name;
    const char *address;
    const char *language;
    int enabled; /* -1 = not given */
} svc_recipient_in;

MT_MUSTCHECK
svc_status svc_recipient_create(db_pool *pool, const svc_actor *a, const svc_recipient_in *in,
                             long long *id, svc_error *e);
MT_MUSTCHECK
svc_status svc_recipient_update(db_pool *pool, const svc_actor *a, long long id,
                             const svc_recipient_in *in, svc_error *e);
MT_MUSTCHECK
svc_status svc_recipient_delete(db_pool *pool, const svc_actor *a, long long id, svc_error *e);

/* The account's recipients, webhook addresses masked: {"items": [...]}
 * into *out (caller owns). SVC_DB, SVC_NOMEM. */
MT_MUSTCHECK
svc_status svc_recipients_list(const svc_actor *a, cJSON **out, svc_error *e);

/* Recipient "id" into *out (caller owns); SVC_NOT_FOUND ("no such
 * recipient"). */
MT_MUSTCHECK
svc_status svc_recipient_get(const svc_actor *a, long long id, cJSON **out, svc_error *e);

#endif
