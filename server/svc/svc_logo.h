/* Business rules of the own logo (G7, P22): the plan, the image types (by
 * magic bytes) and the size. Errors in an svc_error (svc_apps.h); every
 * change writes its audit entry in its own transaction (audit_write). */
#ifndef MTS_SVC_LOGO_H
#define MTS_SVC_LOGO_H

#include <stdbool.h>
#include <stddef.h>

#include "svc_apps.h"

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
MT_MUSTCHECK
svc_status svc_logo_set(db_pool *pool, const svc_actor *a, const unsigned char *data, size_t len,
                     const char *declared_type, svc_error *e);

/* Remove the logo (SVC_NOT_FOUND when there is none). */
MT_MUSTCHECK
svc_status svc_logo_delete(db_pool *pool, const svc_actor *a, svc_error *e);

/* The account's logo: its bytes into *data (caller frees), *len, and its
 * type into "type" ("type_cap" bytes). SVC_NOT_FOUND ("the account has no
 * logo"), SVC_DB. */
MT_MUSTCHECK
svc_status svc_logo_get(const svc_actor *a, unsigned char **data, size_t *len, char *type,
                        size_t type_cap, svc_error *e);

#endif
