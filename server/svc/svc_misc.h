/* Business rules of system notification recipients (G4), inquiries (G5)
 * and the own logo (G7, P22). Errors in an svc_err (svc_apps.h); every
 * change writes its audit entry in its own transaction (audit_write). */
#ifndef MTS_SVC_MISC_H
#define MTS_SVC_MISC_H

#include <stdbool.h>
#include <stddef.h>

#include "svc_apps.h"

/* ------------------------------------------------------------ recipients */

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

sv_code svc_recipient_create(db_pool *pool, const sv_actor *a, const svc_recipient_in *in,
                             long long *id, svc_err *e);
sv_code svc_recipient_update(db_pool *pool, const sv_actor *a, long long id,
                             const svc_recipient_in *in, svc_err *e);
sv_code svc_recipient_delete(db_pool *pool, const sv_actor *a, long long id, svc_err *e);

/* ------------------------------------------------------------- inquiries */

/* Create an inquiry of kind inquiry / fault_report / investigation_request /
 * account_deletion (the last one: administrators only, SV_FORBIDDEN). */
sv_code svc_inquiry_create(db_pool *pool, const sv_actor *a, const char *kind,
                           const char *subject, const char *body, bool allow_remote_access,
                           long long *id, svc_err *e);

/* ------------------------------------------------------------------ logo */

/* The largest logo accepted, in bytes (accounts.logo allows 1 MiB). */
#define SVC_LOGO_MAX (1024 * 1024)

/* The image type of "data" from its magic bytes: "image/png", "image/jpeg",
 * "image/gif" or "image/webp", or NULL for anything else (SVG, HTML...
 * are refused: they could carry script). */
const char *svc_logo_sniff(const unsigned char *data, size_t len);

/* The logo's types, NULL-terminated (what svc_logo_sniff() answers). */
extern const char *const svc_logo_types[];

/* Decode strict base64 (standard alphabet, padding optional, no spaces)
 * "text" into a new buffer (*out, caller frees) of *len bytes. Returns 0, or
 * -1 when "text" is not base64 or would decode to more than "max" bytes
 * (*too_large set then). */
int svc_base64_decode(const char *text, size_t max, unsigned char **out, size_t *len,
                      bool *too_large);

/* Store "len" bytes at "data" as the account's logo (P22 on the plan; PNG,
 * JPEG, GIF or WebP by magic bytes; at most SVC_LOGO_MAX). "declared_type" (may be
 * NULL) must match what the bytes are. */
sv_code svc_logo_set(db_pool *pool, const sv_actor *a, const unsigned char *data, size_t len,
                     const char *declared_type, svc_err *e);

/* Remove the logo (SV_NOT_FOUND when there is none). */
sv_code svc_logo_delete(db_pool *pool, const sv_actor *a, svc_err *e);

#endif
