/* server/base/reply_share.c: the read of a remembered body not found, shared
 * by the requests that miss it at the same moment (issue 16, herd2). The
 * followers' side is tested by the server suites (devices_cache, me_cache,
 * monitor_cache): here what a request that leads or reads alone does. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "reply_cache.h"
#include "reply_share.h"
#include "t.h"

/* The read the helper calls: counts its calls, puts "body" under epoch
 * "put_epoch" (as a real read does, with the epoch read before it). */
typedef struct {
    int calls;
    bool had_rd;
    bool fail;
    const char *body;
    unsigned long long put_epoch;
    reply_key key;
} fake_read;

static bool fake(void *ctx, sread *rd, char **text, size_t *len)
{
    fake_read *f = ctx;
    f->calls++;
    f->had_rd = rd != NULL;
    reply_share_start(rd);
    if (f->fail) {
        return false;
    }
    *len = strlen(f->body);
    *text = malloc(*len + 1);
    memcpy(*text, f->body, *len + 1);
    reply_cache_put(&f->key, f->put_epoch, auth_now_ms(), *text, *len);
    return true;
}

/* Epochs the helper reads, one per call, the last one repeated. */
static unsigned long long epochs[4];
static int n_epochs, epoch_calls;

static unsigned long long epoch_of(long long account_id)
{
    (void)account_id;
    int i = epoch_calls < n_epochs ? epoch_calls : n_epochs - 1;
    epoch_calls++;
    return epochs[i];
}

static void set_epochs(unsigned long long a, unsigned long long b)
{
    epochs[0] = a;
    epochs[1] = b;
    n_epochs = 2;
    epoch_calls = 0;
}

static const int scope = 0;

static void reply_share_alone_reads_without_a_shared_read(void)
{
    fake_read f = {0, false, false, "{\"unread\":3}", 7, {REPLY_UNREAD, 91, 92, 0, 0}};
    reply_body_text t;
    reply_cache_clear();
    set_epochs(7, 7);
    T_TRUE(reply_share_miss(&f.key, &scope, epoch_of, false, fake, &f, &t, NULL));
    T_TRUE(f.calls == 1 && !f.had_rd);
    T_TRUE(t.owned != NULL && t.shared == NULL && t.len == 12 && strcmp(t.text, f.body) == 0);
    reply_body_text_free(&t);
    reply_cache_clear();
}

static void reply_share_leader_reads_when_nothing_is_remembered(void)
{
    fake_read f = {0, false, false, "{\"unread\":4}", 7, {REPLY_UNREAD, 93, 94, 0, 0}};
    reply_body_text t;
    bool due = true;
    reply_cache_clear();
    set_epochs(7, 7);
    T_TRUE(reply_share_miss(&f.key, &scope, epoch_of, true, fake, &f, &t, &due));
    T_TRUE(f.calls == 1 && f.had_rd && !due);
    T_TRUE(t.owned != NULL && strcmp(t.text, f.body) == 0);
    reply_body_text_free(&t);
    reply_cache_clear();
}

static void reply_share_leader_takes_what_the_previous_read_put(void)
{
    fake_read f = {0, false, false, "{\"new\":1}", 7, {REPLY_ME, 95, 96, 1, 0}};
    reply_body_text t;
    size_t len = 0;
    char *own;
    reply_cache_clear();
    reply_cache_put(&f.key, 7, auth_now_ms(), "{\"put\":1}", 9);
    set_epochs(7, 7);
    T_TRUE(reply_share_miss(&f.key, &scope, epoch_of, true, fake, &f, &t, NULL));
    T_TRUE(f.calls == 0);
    T_TRUE(t.shared != NULL && t.owned == NULL && strcmp(t.text, "{\"put\":1}") == 0);
    /* Taken as the caller's own: a copy, the remembered body let go. */
    own = reply_body_text_take(&t, &len);
    T_TRUE(own != NULL && len == 9 && strcmp(own, "{\"put\":1}") == 0);
    T_TRUE(t.shared == NULL && t.text == NULL);
    free(own);
    reply_cache_clear();
}

static void reply_share_leader_reads_when_the_epoch_moved_as_it_looked(void)
{
    /* The body the previous read put holds at the epoch read first; a change
     * moves the epoch before the leader closes its read to followers (one may
     * have come after the change): it reads rather than hand that body on. */
    fake_read f = {0, false, false, "{\"new\":2}", 8, {REPLY_ME, 97, 98, 1, 0}};
    reply_body_text t;
    reply_cache_clear();
    reply_cache_put(&f.key, 7, auth_now_ms(), "{\"old\":1}", 9);
    set_epochs(7, 8);
    T_TRUE(reply_share_miss(&f.key, &scope, epoch_of, true, fake, &f, &t, NULL));
    T_TRUE(f.calls == 1 && f.had_rd);
    T_TRUE(t.owned != NULL && t.shared == NULL && strcmp(t.text, "{\"new\":2}") == 0);
    reply_body_text_free(&t);
    reply_cache_clear();
}

static void reply_share_a_failed_read_gives_nothing(void)
{
    fake_read f = {0, false, true, "", 7, {REPLY_DEVICES, 99, 100, 1, 0}};
    reply_body_text t;
    reply_cache_clear();
    set_epochs(7, 7);
    T_TRUE(!reply_share_miss(&f.key, &scope, epoch_of, true, fake, &f, &t, NULL));
    T_TRUE(f.calls == 1 && t.text == NULL && t.owned == NULL && t.shared == NULL && t.len == 0);
    /* The read of the key is over: the next request leads one again. */
    f.fail = false;
    f.body = "[]";
    T_TRUE(reply_share_miss(&f.key, &scope, epoch_of, true, fake, &f, &t, NULL));
    T_TRUE(f.calls == 2 && f.had_rd && strcmp(t.text, "[]") == 0);
    reply_body_text_free(&t);
    reply_cache_clear();
}

void suite_reply_share(void)
{
    T_RUN(reply_share_alone_reads_without_a_shared_read);
    T_RUN(reply_share_leader_reads_when_nothing_is_remembered);
    T_RUN(reply_share_leader_takes_what_the_previous_read_put);
    T_RUN(reply_share_leader_reads_when_the_epoch_moved_as_it_looked);
    T_RUN(reply_share_a_failed_read_gives_nothing);
}
