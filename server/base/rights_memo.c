/* Which channels a member may see, with the rights' version (rights_memo.h). */
#include "rights_memo.h"

#include <pthread.h>

#include "stripes.h"

_Static_assert((RIGHTS_MEMO_SLOTS & (RIGHTS_MEMO_SLOTS - 1)) == 0,
               "RIGHTS_MEMO_SLOTS must be a power of two");

typedef struct {
    bool used;
    long long account_id;
    long long viewer;
    int64_t ch;
    int64_t version;
    int64_t start;
} memo_slot;

static memo_slot slots[RIGHTS_MEMO_SLOTS];
static pthread_mutex_t locks[64];
static stripes g_stripes = STRIPES_OF(locks);
static env_switch g_switch = ENV_SWITCH("METRON_RIGHTS_MEMO");

static unsigned slot_of(long long account_id, long long viewer, int64_t ch)
{
    uint64_t h = stripes_mix(0, (uint64_t)account_id);

    h = stripes_mix(stripes_mix(h, (uint64_t)viewer), (uint64_t)ch);
    return (unsigned)(h & (RIGHTS_MEMO_SLOTS - 1));
}

bool rights_memo_on(void)
{
    return !env_switch_off(&g_switch);
}

bool rights_memo_known(long long account_id, long long viewer, const int64_t *ch, size_t n_ch,
                       int64_t *version, int64_t *start)
{
    bool known = n_ch > 0 && rights_memo_on();
    for (size_t i = 0; i < n_ch && known; i++) {
        unsigned k = slot_of(account_id, viewer, ch[i]);
        pthread_mutex_t *mu = stripe_lock(&g_stripes, k);
        const memo_slot *s = &slots[k];
        pthread_mutex_lock(mu);
        known = s->used && s->account_id == account_id && s->viewer == viewer && s->ch == ch[i] &&
                (i == 0 || (s->version == *version && s->start == *start));
        if (known) {
            *version = s->version;
            *start = s->start;
        }
        pthread_mutex_unlock(mu);
    }
    return known;
}

void rights_memo_put(long long account_id, long long viewer, int64_t ch, int64_t version,
                     int64_t start)
{
    unsigned k = slot_of(account_id, viewer, ch);
    pthread_mutex_t *mu;
    if (!rights_memo_on()) {
        return;
    }
    mu = stripe_lock(&g_stripes, k);
    pthread_mutex_lock(mu);
    slots[k] = (memo_slot){true, account_id, viewer, ch, version, start};
    pthread_mutex_unlock(mu);
}
