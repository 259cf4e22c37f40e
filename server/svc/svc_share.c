/* The read of a remembered reply after a miss, for a request (svc_share.h). */
#include "svc_share.h"

svc_status svc_share_miss(const svc_actor *a, int64_t now_ms, svc_error *e, const reply_key *key,
                          reply_epoch_fn epoch, env_switch *sw, reply_read_fn read,
                          reply_body_text *out, bool *due)
{
    svc_share_req req = {a, now_ms, e};
    if (!reply_share_miss(key, a->srv, epoch, !env_switch_off(sw), read, &req, out, due)) {
        return e->status;
    }
    return SVC_OK;
}
