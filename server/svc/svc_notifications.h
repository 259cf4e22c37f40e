/* The notifications inbox (N1): each signed-in user's own notifications,
 * read and marked read (docs/api/admin-b.md). Every function touches only
 * the rows of actor "a" (its account and user). */
#ifndef MTS_SVC_NOTIFICATIONS_H
#define MTS_SVC_NOTIFICATIONS_H

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "svc.h"

/* The user's notifications, newest first ("unread_only": the unread ones):
 * {"items": [...], "filter": "all"|"unread", "total", "unread", "limit",
 * "offset"} into *out (caller owns). SVC_DB, SVC_NOMEM. */
MT_MUSTCHECK
svc_status svc_notifications_list(const svc_actor *a, bool unread_only, int limit, int offset,
                                  cJSON **out, svc_error *e);

/* {"unread": how many are unread} as JSON text into *text (caller frees),
 * *len bytes; remembered per user (reply_cache.h, REPLY_UNREAD). */
MT_MUSTCHECK
svc_status svc_notifications_unread_text(const svc_actor *a, char **text, size_t *len,
                                         svc_error *e);

/* Mark notification "id" read (kept when already read): {"unread",
 * "marked": 1} into *out (caller owns). SVC_NOT_FOUND ("no such
 * notification") when it is not one of the user's. */
MT_MUSTCHECK
svc_status svc_notification_read(const svc_actor *a, long long id, cJSON **out, svc_error *e);

/* Mark every unread notification read: {"unread", "marked": how many} into
 * *out (caller owns). */
MT_MUSTCHECK
svc_status svc_notifications_read_all(const svc_actor *a, cJSON **out, svc_error *e);

#endif
