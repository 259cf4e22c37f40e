/* The read of a remembered reply after a miss, for a request of the
 * service layer (reply_share.h; issue 16, devstall and herd2): GET /me,
 * GET /devices and the unread count read their bodies with what a request
 * carries (its actor, its time, where an error goes), each behind a
 * switch of its own that turns the sharing off. */
#ifndef MTS_SVC_SHARE_H
#define MTS_SVC_SHARE_H

#include <stdbool.h>
#include <stdint.h>

#include "reply_share.h"
#include "stripes.h"
#include "svc.h"

/* The "ctx" that svc_share_miss() gives "read" (reply_read_fn). */
typedef struct {
    const svc_actor *a;
    int64_t now_ms;
    svc_error *e;
} svc_share_req;

/* reply_share_miss() of "key" for the request of "a" at "now_ms": shared
 * unless "sw" is off (METRON_..._SHARE=0: each request reads alone), the
 * body read by "read" with a svc_share_req of a, now_ms and e. SVC_OK with
 * *out (and *due, which may be NULL, as reply_share_miss() tells), or the
 * error "read" kept in "e". */
svc_status svc_share_miss(const svc_actor *a, int64_t now_ms, svc_error *e, const reply_key *key,
                          reply_epoch_fn epoch, env_switch *sw, reply_read_fn read,
                          reply_body_text *out, bool *due);

#endif
