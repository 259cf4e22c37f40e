/* The shared read of a remembered body not found (reply_share.h). */
#include "reply_share.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"

void reply_share_start(sread *rd)
{
    if (rd != NULL) {
        sread_start(rd);
    }
}

/* End read "rd" with "text" ("len" bytes) and a NUL for its followers, or
 * with nothing (they read alone) when "text" is NULL. */
static void share_end(sread *rd, const char *text, size_t len)
{
    void *p = NULL;
    sread_result *x = text != NULL ? sread_result_new(len + 1, &p) : NULL;
    if (x != NULL) {
        memcpy(p, text, len);
        ((char *)p)[len] = '\0';
    }
    sread_end_result(rd, x);
}

bool reply_share_miss(const reply_key *key, const void *scope, reply_epoch_fn epoch, bool share,
                      reply_read_fn read, void *ctx, reply_body_text *out, bool *due)
{
    int64_t skey[7] = {0x72706c79 /* "rply" */, (int64_t)(intptr_t)scope, (int64_t)key->kind,
                       key->account_id, key->user_id, (int64_t)key->variant, key->sub};
    sread *rd = NULL;
    void *res = NULL;
    size_t res_len = 0;
    sread_role role = SREAD_ALONE;
    bool ok, was_due = false;

    memset(out, 0, sizeof *out);
    if (due != NULL) {
        *due = false;
    }
    if (share) {
        role = sread_join(skey, sizeof skey, &rd, &res, &res_len);
    }
    if (role == SREAD_SHARED) {
        /* The leader's text and its NUL, read after this request came. */
        out->owned = res;
        out->text = res;
        out->len = res_len - 1;
        return true;
    }
    if (role == SREAD_LEAD) {
        /* What the read before this one put, under the epoch of now. Its
         * followers came before this read is closed to them: a change
         * before any of them came moved the epoch before it was, so the
         * epoch is read again after (a change between the two: read). */
        unsigned long long e0 = epoch(key->account_id);
        if (reply_cache_get_shared(key, e0, auth_now_ms(), &out->shared, &out->text, &out->len,
                                   &was_due)) {
            sread_start(rd);
            if (epoch(key->account_id) == e0) {
                share_end(rd, out->text, out->len);
                if (due != NULL) {
                    *due = was_due;
                }
                return true;
            }
            reply_body_text_free(out);
            was_due = false;
        }
    }
    ok = read(ctx, rd, &out->owned, &out->len);
    if (!ok) {
        free(out->owned);
        out->owned = NULL;
        out->len = 0;
    }
    out->text = out->owned;
    if (rd != NULL) {
        /* No text: the followers read alone (and fail alone). */
        share_end(rd, ok ? out->text : NULL, out->len);
    }
    return ok;
}

char *reply_body_text_take(reply_body_text *t, size_t *len)
{
    char *p = t->owned;
    *len = t->len;
    if (p == NULL && t->text != NULL && (p = malloc(t->len + 1)) != NULL) {
        memcpy(p, t->text, t->len);
        p[t->len] = '\0';
    }
    t->owned = NULL;
    reply_body_text_free(t);
    if (p == NULL) {
        *len = 0;
    }
    return p;
}
