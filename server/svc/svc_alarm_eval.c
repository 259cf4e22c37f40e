/* Alarm evaluation on ingest and on computed channels (see
 * svc_alarm_eval.h, docs/alarms.md). */
#define _POSIX_C_SOURCE 200809L
#include "svc_alarm_eval.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "alarm_msg.h"
#include "auth.h"
#include "db_alarm.h"
#include "db_computed.h"
#include "db_series.h"
#include "ingest_group.h"
#include "log.h"
#include "mt/alarm.h"
#include "svc_drive.h"
#include "svc_notify.h"
#include "svc_tx.h"

/* Hot rows hold at most this many records, so that the compactor's unit of
 * work stays small whatever the batch size. */
#define HOT_ROW_MAX 4096
/* Events core writes per call before we take them. */
#define EV_BUF 64
/* How many times a batch is evaluated against a group whose sequence moved
 * on under it before it takes the group's lock (the lock always wins). */
#define FAST_TRIES 2

static srv *g_srv;

void svc_alarm_eval_init(srv *s)
{
    g_srv = s;
}

/* ------------------------------------------------------- rules in memory */

typedef struct {
    db_alarm_live d;           /* as loaded: rule, channels, flags, the saved state */
    mt_alarm_rule rule;
    mt_alarm *ev;              /* condition rules */
    bool raised;
    long long open_event_id;
    int64_t last_t;            /* the newest row evaluated */
    int64_t last_data_t;       /* no_data: the newest sample seen */
    unsigned char saved[MT_ALARM_STATE_SIZE]; /* the state as PostgreSQL has it */
    bool has_saved;
} rt_rule;

typedef struct group_entry {
    long long account_id;
    long long group_id;
    pthread_mutex_t mu;
    bool loaded;
    long long seq;
    rt_rule *rules;
    int n;
    struct group_entry *next;
} group_entry;

#define BUCKETS 1024
static pthread_mutex_t g_tab_mu = PTHREAD_MUTEX_INITIALIZER;
static group_entry *g_tab[BUCKETS];

static void rules_free(rt_rule *r, int n)
{
    for (int i = 0; i < n; i++) {
        mt_alarm_free(r[i].ev);
    }
    free(r);
}

/* The entry of group "group_id", locked (entry_put() unlocks). NULL when
 * out of memory. */
static group_entry *entry_get(long long account_id, long long group_id)
{
    unsigned long long h = ((unsigned long long)account_id * 1000003ULL) ^
                           (unsigned long long)group_id;
    group_entry *g;
    pthread_mutex_lock(&g_tab_mu);
    for (g = g_tab[h % BUCKETS]; g != NULL; g = g->next) {
        if (g->account_id == account_id && g->group_id == group_id) {
            break;
        }
    }
    if (g == NULL && (g = calloc(1, sizeof *g)) != NULL) {
        g->account_id = account_id;
        g->group_id = group_id;
        pthread_mutex_init(&g->mu, NULL);
        g->next = g_tab[h % BUCKETS];
        g_tab[h % BUCKETS] = g;
    }
    pthread_mutex_unlock(&g_tab_mu);
    if (g != NULL) {
        pthread_mutex_lock(&g->mu);
    }
    return g;
}

static void entry_put(group_entry *g)
{
    if (g != NULL) {
        pthread_mutex_unlock(&g->mu);
    }
}

void svc_alarm_eval_forget(void)
{
    pthread_mutex_lock(&g_tab_mu);
    for (int b = 0; b < BUCKETS; b++) {
        for (group_entry *g = g_tab[b]; g != NULL; g = g->next) {
            pthread_mutex_lock(&g->mu);
            g->loaded = false;
            pthread_mutex_unlock(&g->mu);
        }
    }
    pthread_mutex_unlock(&g_tab_mu);
}

/* Build "r" from the loaded row "d": core's rule and evaluator, restored
 * from the saved state. Returns 0, or -1 when out of memory (a rule text
 * core no longer reads, or a state of another rule, is logged and starts
 * afresh / is skipped). */
static int rt_init(rt_rule *r, const db_alarm_live *d)
{
    mt_error err;
    memset(r, 0, sizeof *r);
    r->d = *d;
    r->raised = d->raised;
    r->open_event_id = d->open_event_id;
    r->last_t = d->last_t;
    r->last_data_t = d->last_data_t;
    if (d->has_state) {
        memcpy(r->saved, d->state, sizeof r->saved);
        r->has_saved = true;
    }
    if (d->no_data) {
        return 0;
    }
    memset(&err, 0, sizeof err);
    if (mt_alarm_parse(d->rule_text, strlen(d->rule_text), &r->rule, &err) != MT_OK) {
        log_error("alarm: rule %lld: stored rule does not parse: %s", d->id, err.msg);
        return 0; /* r->ev NULL: skipped */
    }
    if (mt_alarm_new(&r->rule, &r->ev, &err) != MT_OK) {
        return -1;
    }
    if (d->has_state && mt_alarm_restore(r->ev, d->state, sizeof d->state, &err) != MT_OK) {
        log_error("alarm: rule %lld: saved state refused (%s): starting afresh", d->id, err.msg);
        r->has_saved = false;
    }
    /* The evaluator's own raised flag wins over the column (they agree
     * unless a state was refused). */
    if (r->ev != NULL && d->has_state && r->has_saved) {
        r->raised = mt_alarm_is_raised(r->ev) != 0;
    }
    return 0;
}

/* Load the group's enabled rules over measured channels and its sequence
 * into "g". */
static db_status entry_load(db_conn *c, group_entry *g)
{
    db_alarm_live *rows = NULL;
    rt_rule *rules = NULL;
    int n = 0;
    long long seq = 0;
    db_status st = db_alarm_load_group(c, g->account_id, g->group_id, false, false, &seq, &rows,
                                       &n);
    if (st != DB_OK) {
        return st;
    }
    if (n > 0 && (rules = calloc((size_t)n, sizeof *rules)) == NULL) {
        free(rows);
        return DB_ERROR;
    }
    for (int i = 0; i < n; i++) {
        if (rt_init(&rules[i], &rows[i]) != 0) {
            rules_free(rules, i);
            free(rows);
            return DB_ERROR;
        }
    }
    free(rows);
    rules_free(g->rules, g->n);
    g->rules = rules;
    g->n = n;
    g->seq = seq;
    g->loaded = true;
    return DB_OK;
}

/* ------------------------------------------------------------ evaluation */

/* An event found by an evaluation, recorded by the write phase. */
typedef struct {
    int rule;         /* index in the entry's rules */
    int kind;         /* MT_ALARM_EV_* */
    bool late;
    int slot;
    int special;
    int64_t t;
    double v[2];
} pend_ev;

/* How a rule was before the batch (to undo an evaluation that is not
 * committed). */
typedef struct {
    int rule;
    unsigned char blob[MT_ALARM_STATE_SIZE];
    bool has_blob;
    bool raised;
    long long open_event_id;
    int64_t last_t;
    int64_t last_data_t;
} undo_rec;

typedef struct {
    pend_ev *ev;
    size_t n_ev, cap_ev;
    undo_rec *undo;
    int n_undo, cap_undo;
    int *persist;       /* rules whose state must be saved */
    int n_persist, cap_persist;
    bool need_tx;
    bool oom;
    size_t dropped;     /* events beyond ALARM_EVENTS_PER_BATCH */
    int64_t *t;         /* scratch rows */
    double *v1, *v2;
    size_t cap_rows;
} eval_ctx;

static void ctx_free(eval_ctx *x)
{
    free(x->ev);
    free(x->undo);
    free(x->persist);
    free(x->t);
    free(x->v1);
    free(x->v2);
    memset(x, 0, sizeof *x);
}

/* Forget the results of an evaluation (keeps the scratch). */
static void ctx_reset(eval_ctx *x)
{
    x->n_ev = 0;
    x->n_undo = 0;
    x->n_persist = 0;
    x->need_tx = false;
    x->dropped = 0;
}

static void add_ev(eval_ctx *x, const pend_ev *e)
{
    if (x->n_ev >= ALARM_EVENTS_PER_BATCH) {
        x->dropped++;
        return;
    }
    if (x->n_ev == x->cap_ev) {
        size_t cap = x->cap_ev ? 2 * x->cap_ev : 16;
        pend_ev *p = realloc(x->ev, cap * sizeof *p);
        if (p == NULL) {
            x->oom = true;
            return;
        }
        x->ev = p;
        x->cap_ev = cap;
    }
    x->ev[x->n_ev++] = *e;
}

static void add_persist(eval_ctx *x, int rule)
{
    for (int i = 0; i < x->n_persist; i++) {
        if (x->persist[i] == rule) {
            return;
        }
    }
    if (x->n_persist == x->cap_persist) {
        int cap = x->cap_persist ? 2 * x->cap_persist : 16;
        int *p = realloc(x->persist, (size_t)cap * sizeof *p);
        if (p == NULL) {
            x->oom = true;
            return;
        }
        x->persist = p;
        x->cap_persist = cap;
    }
    x->persist[x->n_persist++] = rule;
}

/* Remember how rule "i" is now, before the batch touches it. */
static void snapshot(eval_ctx *x, group_entry *g, int i)
{
    rt_rule *r = &g->rules[i];
    undo_rec *u;
    if (x->n_undo == x->cap_undo) {
        int cap = x->cap_undo ? 2 * x->cap_undo : 16;
        undo_rec *p = realloc(x->undo, (size_t)cap * sizeof *p);
        if (p == NULL) {
            x->oom = true;
            return;
        }
        x->undo = p;
        x->cap_undo = cap;
    }
    u = &x->undo[x->n_undo++];
    memset(u, 0, sizeof *u);
    u->rule = i;
    u->raised = r->raised;
    u->open_event_id = r->open_event_id;
    u->last_t = r->last_t;
    u->last_data_t = r->last_data_t;
    if (r->ev != NULL) {
        mt_error err;
        u->has_blob = mt_alarm_save(r->ev, u->blob, sizeof u->blob, NULL, &err) == MT_OK;
    }
}

/* Put every rule the evaluation touched back as it was. */
static void undo_all(eval_ctx *x, group_entry *g)
{
    for (int k = x->n_undo - 1; k >= 0; k--) {
        const undo_rec *u = &x->undo[k];
        rt_rule *r = &g->rules[u->rule];
        mt_error err;
        r->raised = u->raised;
        r->open_event_id = u->open_event_id;
        r->last_t = u->last_t;
        r->last_data_t = u->last_data_t;
        if (r->ev != NULL && u->has_blob &&
            mt_alarm_restore(r->ev, u->blob, sizeof u->blob, &err) != MT_OK) {
            /* Cannot happen (our own blob); reload the group to be safe. */
            g->loaded = false;
        }
    }
    ctx_reset(x);
}

/* The index of the first record of channel "ch" in "b" (sorted by channel,
 * then time) and the length of its run (0 when absent). */
static size_t run_of(const ingest_batch *b, int64_t ch, size_t *start)
{
    size_t lo = 0, hi = b->n, end;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (b->rec[mid].ch < ch) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    *start = lo;
    for (end = lo; end < b->n && b->rec[end].ch == ch; end++) {
    }
    return end - lo;
}

static int rows_reserve(eval_ctx *x, size_t n)
{
    if (n <= x->cap_rows) {
        return 0;
    }
    {
        int64_t *t = realloc(x->t, n * sizeof *t);
        double *v1, *v2;
        if (t == NULL) {
            return -1;
        }
        x->t = t;
        if ((v1 = realloc(x->v1, n * sizeof *v1)) == NULL) {
            return -1;
        }
        x->v1 = v1;
        if ((v2 = realloc(x->v2, n * sizeof *v2)) == NULL) {
            return -1;
        }
        x->v2 = v2;
        x->cap_rows = n;
    }
    return 0;
}

/* Feed rows [0, n) to evaluator "a" and add its events for rule "i". */
static int feed(eval_ctx *x, mt_alarm *a, int i, bool late, const int64_t *t, const double *v1,
                const double *v2, size_t n)
{
    mt_alarm_event ev[EV_BUF];
    size_t done = 0;
    while (done < n) {
        size_t n_ev = 0, used = 0;
        mt_error err;
        mt_status st = mt_alarm_feed(a, t + done, v1 + done, v2 != NULL ? v2 + done : NULL,
                                     n - done, ev, EV_BUF, &n_ev, &used, &err);
        if (st != MT_OK && st != MT_ENOSPACE) {
            log_error("alarm: rule feed: %s", err.msg);
            return -1;
        }
        for (size_t k = 0; k < n_ev; k++) {
            pend_ev p;
            memset(&p, 0, sizeof p);
            p.rule = i;
            p.kind = (int)ev[k].kind;
            p.late = late;
            p.slot = ev[k].channel;
            p.special = (int)ev[k].special;
            p.t = ev[k].t;
            p.v[0] = ev[k].v[0];
            p.v[1] = ev[k].v[1];
            add_ev(x, &p);
        }
        done += used;
    }
    return 0;
}

/* Whether the state "now" differs from the saved one in what must not be
 * lost (the pending run, the flags, the special-value kinds); the time of
 * the last row may lag (docs/alarms.md). */
static bool significant(const rt_rule *r, const unsigned char now[MT_ALARM_STATE_SIZE])
{
    static const unsigned char zero[MT_ALARM_STATE_SIZE];
    const unsigned char *was = r->has_saved ? r->saved : zero;
    /* Byte 32 holds the flags: "rows seen" (4) alone is not worth a write
     * (a fresh evaluator takes any time; the late split uses last_t). */
    return memcmp(now + 16, was + 16, 8) != 0 || ((now[32] ^ was[32]) & ~4) != 0 ||
           memcmp(now + 33, was + 33, 3) != 0;
}

/* The rows of a rule over channels "ch" (CH2 0: none) in batch "b" into
 * the scratch arrays of "x": one channel's samples, or the times at which
 * both channels have one (the everyday snapshot carries both). "s1"/"n1":
 * the run of CH1 in "b". Returns the row count (0 also when out of
 * memory: x->oom). */
static size_t rule_rows(eval_ctx *x, const long long ch[2], const ingest_batch *b, size_t s1,
                        size_t n1)
{
    size_t n = 0;
    if (rows_reserve(x, n1) != 0) {
        x->oom = true;
        return 0;
    }
    if (ch[1] == 0) {
        for (size_t j = 0; j < n1; j++) {
            x->t[j] = b->rec[s1 + j].t;
            x->v1[j] = b->rec[s1 + j].v;
        }
        return n1;
    }
    {
        size_t s2 = 0, n2 = run_of(b, ch[1], &s2), p2 = 0;
        for (size_t j = 0; j < n1 && n2 > 0; j++) {
            int64_t when = b->rec[s1 + j].t;
            while (p2 < n2 && b->rec[s2 + p2].t < when) {
                p2++;
            }
            if (p2 < n2 && b->rec[s2 + p2].t == when) {
                x->t[n] = when;
                x->v1[n] = b->rec[s1 + j].v;
                x->v2[n] = b->rec[s2 + p2].v;
                n++;
            }
        }
    }
    return n;
}

/* Evaluate rule "i" of "g" over its rows of batch "b". */
static void eval_rule(eval_ctx *x, group_entry *g, int i, const ingest_batch *b)
{
    rt_rule *r = &g->rules[i];
    size_t s1 = 0, n1 = run_of(b, r->d.ch[0], &s1), n = 0, k = 0;
    bool two = r->d.ch[1] != 0;
    if (n1 == 0) {
        return;
    }
    if (r->d.no_data) {
        const ingest_rec *rec = b->rec + s1;
        int64_t tmax = rec[n1 - 1].t;
        snapshot(x, g, i);
        if (r->raised) {
            /* Data again: the first sample newer than what was seen. */
            size_t j = 0;
            pend_ev p;
            while (j + 1 < n1 && rec[j].t <= r->last_data_t) {
                j++;
            }
            memset(&p, 0, sizeof p);
            p.rule = i;
            p.kind = MT_ALARM_EV_CLEAR;
            p.t = rec[j].t;
            p.v[0] = rec[j].v;
            p.v[1] = mt_sv_value(MT_SV_MISSING);
            add_ev(x, &p);
            r->raised = false;
            add_persist(x, i);
            x->need_tx = true;
        }
        if (tmax > r->last_data_t) {
            r->last_data_t = tmax;
        }
        return;
    }
    if (r->ev == NULL) {
        return;
    }
    if ((n = rule_rows(x, r->d.ch, b, s1, n1)) == 0) {
        return;
    }
    snapshot(x, g, i);
    /* Late rows (older than the newest row evaluated, or than the rule):
     * history, with a fresh evaluator; the state does not move. */
    while (k < n && x->t[k] < r->last_t) {
        k++;
    }
    if (k > 0) {
        mt_alarm *h = NULL;
        mt_error err;
        size_t before = x->n_ev;
        if (mt_alarm_new(&r->rule, &h, &err) != MT_OK) {
            x->oom = true;
            return;
        }
        feed(x, h, i, true, x->t, x->v1, two ? x->v2 : NULL, k);
        mt_alarm_free(h);
        if (x->n_ev > before) {
            x->need_tx = true;
        }
    }
    if (k < n) {
        unsigned char now[MT_ALARM_STATE_SIZE];
        size_t before = x->n_ev;
        mt_error err;
        if (feed(x, r->ev, i, false, x->t + k, x->v1 + k, two ? x->v2 + k : NULL, n - k) != 0) {
            return;
        }
        /* Events of feed() carry row indexes of the sub-arrays: irrelevant,
         * times and values are in the events. */
        r->raised = mt_alarm_is_raised(r->ev) != 0;
        r->last_t = x->t[n - 1];
        if (x->n_ev > before) {
            x->need_tx = true;
            add_persist(x, i);
        }
        if (mt_alarm_save(r->ev, now, sizeof now, NULL, &err) == MT_OK && significant(r, now)) {
            x->need_tx = true;
            add_persist(x, i);
        }
    }
}

static void eval_batch(eval_ctx *x, group_entry *g, const ingest_batch *b)
{
    for (int i = 0; i < g->n && !x->oom; i++) {
        eval_rule(x, g, i, b);
    }
}

/* ---------------------------------------------------------- notifications */

typedef struct {
    const db_alarm_event_msg *m;
    alarm_msg_kind kind;
    const char *link;
    alarm_words w;
} render_arg;

static svc_status render_event(void *arg, const char *language, notify_text *out, svc_error *e)
{
    render_arg *ra = arg;
    (void)e;
    alarm_msg_event(ra->m, ra->kind, language, ra->link, &ra->w);
    *out = ra->w.text;
    return SVC_OK;
}

/* Enqueue the message of event "m" ("kind") to targets "to" with "link". */
static svc_status enqueue_event(db_conn *c, long long account_id, const db_alarm_event_msg *m,
                                render_arg *ra, alarm_msg_kind kind, const char *kind_name,
                                const char *key, const char *link, const notify_to *to, int n_to,
                                bool sensitive, long long event_id, svc_error *e)
{
    notify_msg msg;
    notify_result res;
    svc_status rc;
    ra->m = m;
    ra->kind = kind;
    ra->link = link;
    memset(&msg, 0, sizeof msg);
    msg.account_id = account_id;
    msg.kind = kind_name;
    msg.key = key;
    msg.severity = kind == ALARM_MSG_CLEAR || kind == ALARM_MSG_SPECIAL_END ? "ok"
                   : kind == ALARM_MSG_SPECIAL                              ? "warning"
                                                                            : m->severity;
    msg.language = m->language;
    msg.render = render_event;
    msg.render_arg = ra;
    msg.to = to;
    msg.n_to = n_to;
    msg.sensitive = sensitive;
    rc = svc_notify_enqueue(c, &msg, &res, e);
    if (rc == SVC_INVALID) {
        /* A message the outbox refuses must not refuse the data: the event
         * stays recorded, the refusal is logged. */
        log_error("alarm: event %lld: the outbox refused the message: %s", event_id, e->message);
        rc = SVC_OK;
    }
    return rc;
}

svc_status svc_alarm_notify_event(srv *s, db_conn *c, long long account_id, long long event_id,
                                  bool repeat, int repeat_n, svc_error *e)
{
    db_alarm_event_msg *m = NULL;
    render_arg *ra = NULL;
    alarm_words *w = NULL;
    const char *titles[ALARM_LANGS], *bodies[ALARM_LANGS];
    char *tbuf[ALARM_LANGS] = {NULL}, *bbuf[ALARM_LANGS] = {NULL};
    char link[400], base[300], key[96], data[160];
    const char *kind_name;
    alarm_msg_kind kind;
    bool found = false;
    long long rows = 0;
    svc_status rc = SVC_OK;
    db_status st;

    /* Heap, not the stack: a worker's stack is 100 KiB and these are large. */
    m = calloc(1, sizeof *m);
    ra = calloc(1, sizeof *ra);
    w = calloc(1, sizeof *w);
    if (m == NULL || ra == NULL || w == NULL) {
        rc = svc_fail_nomem(e);
        goto out;
    }
    if ((st = db_alarm_event_msg_get(c, account_id, event_id, m, &found)) != DB_OK) {
        rc = svc_fail_db(e, st, NULL);
        goto out;
    }
    if (!found || m->late) {
        goto out;
    }
    if (repeat) {
        kind = ALARM_MSG_REPEAT;
        kind_name = "alarm.repeat";
    } else if (strcmp(m->kind, "raise") == 0) {
        kind = ALARM_MSG_RAISE;
        kind_name = "alarm.raise";
    } else if (strcmp(m->kind, "clear") == 0) {
        if (!m->notify_clear) {
            goto out;
        }
        kind = ALARM_MSG_CLEAR;
        kind_name = "alarm.clear";
    } else {
        if (!m->special_notice) {
            goto out;
        }
        kind = strcmp(m->kind, "special") == 0 ? ALARM_MSG_SPECIAL : ALARM_MSG_SPECIAL_END;
        kind_name = "alarm.special";
    }
    srv_public_url(s, base, sizeof base);
    snprintf(link, sizeof link, "%s/#/alarms/events/%lld", base, event_id);

    /* N1: the inbox of everyone who can see the group, in their language. */
    for (int i = 0; i < ALARM_LANGS; i++) {
        alarm_msg_event(m, kind, alarm_langs[i], NULL, w);
        tbuf[i] = strdup(w->title);
        bbuf[i] = strdup(w->body);
        if (tbuf[i] == NULL || bbuf[i] == NULL) {
            rc = svc_fail_nomem(e);
            goto out;
        }
        titles[i] = tbuf[i];
        bodies[i] = bbuf[i];
    }
    snprintf(data, sizeof data, "{\"event_id\": %lld, \"rule_id\": %lld, \"group_id\": %lld}",
             event_id, m->rule_id, m->group_id);
    if ((st = db_alarm_inbox(c, account_id, m->group_id, kind_name, alarm_langs, titles, bodies,
                             ALARM_LANGS, data, &rows)) != DB_OK) {
        rc = svc_fail_db(e, st, NULL);
        goto out;
    }

    /* R8: the rule's destinations, in the rule's language (R7). An e-mail
     * destination that is a user's address gets its own copy whose link
     * signs that user in, view only, for 30 minutes (A8): the copy is
     * sensitive (erased from the outbox once sent). */
    if (m->n_dest > 0) {
        long long users[ALARM_DEST_MAX];
        notify_to to[ALARM_DEST_MAX];
        int n_plain = 0;
        if (repeat) {
            snprintf(key, sizeof key, "alarm_event:%lld:repeat:%d", event_id, repeat_n);
        } else {
            snprintf(key, sizeof key, "alarm_event:%lld:%s", event_id, m->kind);
        }
        if ((st = db_alarm_dest_users(c, account_id, m->dest, m->n_dest, users)) != DB_OK) {
            rc = svc_fail_db(e, st, NULL);
            goto out;
        }
        for (int i = 0; i < m->n_dest && rc == SVC_OK; i++) {
            memset(&to[n_plain], 0, sizeof to[n_plain]);
            to[n_plain].kind = NOTIFY_TO_DESTINATION;
            to[n_plain].id = m->dest[i];
            if (users[i] == 0) {
                n_plain++;
                continue;
            }
            {
                char secret[AUTH_SECRET_CHARS + 8], login_link[500];
                unsigned char hash[AUTH_SHA256_BYTES];
                if (auth_new_secret(secret, sizeof secret, hash) != 0) {
                    rc = svc_fail(e, SVC_INTERNAL, NULL, NULL, "no randomness for a login link");
                    break;
                }
                st = db_temp_login_insert(c, account_id, users[i], hash, event_id,
                                          (auth_now() + ALARM_TEMP_LOGIN_S) * 1000000LL);
                if (st != DB_OK) {
                    OPENSSL_cleanse(secret, sizeof secret);
                    rc = svc_fail_db(e, st, NULL);
                    break;
                }
                snprintf(login_link, sizeof login_link, "%s?login=%s", link, secret);
                OPENSSL_cleanse(secret, sizeof secret);
                rc = enqueue_event(c, account_id, m, ra, kind, kind_name, key, login_link,
                                   &to[n_plain], 1, true, event_id, e);
                OPENSSL_cleanse(login_link, sizeof login_link);
            }
        }
        if (rc == SVC_OK && n_plain > 0) {
            rc = enqueue_event(c, account_id, m, ra, kind, kind_name, key, link, to, n_plain,
                               false, event_id, e);
        }
    }
out:
    for (int i = 0; i < ALARM_LANGS; i++) {
        free(tbuf[i]);
        free(bbuf[i]);
    }
    free(m);
    free(ra);
    free(w);
    return rc;
}

/* ----------------------------------------------------------- write phase */

static const char *kind_text(int kind)
{
    switch (kind) {
    case MT_ALARM_EV_RAISE:
        return "raise";
    case MT_ALARM_EV_CLEAR:
        return "clear";
    case MT_ALARM_EV_SPECIAL:
        return "special";
    default:
        return "special_end";
    }
}

/* Record the evaluation "x" of group "g" on "c" (inside the caller's
 * transaction): events, their notifications, the states to save, the
 * group's sequence. *n_events = events recorded. */
static svc_status write_phase(srv *s, db_conn *c, group_entry *g, eval_ctx *x, int *n_events,
                              svc_error *e)
{
    long long *late_open = NULL;
    db_alarm_state_row *rows = NULL;
    svc_status rc = SVC_OK;
    db_status st = DB_OK;
    *n_events = 0;
    if (x->oom) {
        return svc_fail_nomem(e);
    }
    if (g->n > 0 && (late_open = calloc((size_t)g->n, sizeof *late_open)) == NULL) {
        return svc_fail_nomem(e);
    }
    for (size_t k = 0; k < x->n_ev && rc == SVC_OK; k++) {
        const pend_ev *p = &x->ev[k];
        rt_rule *r = &g->rules[p->rule];
        db_alarm_event_in in;
        long long id = 0;
        bool notify = false;
        memset(&in, 0, sizeof in);
        in.rule_id = r->d.id;
        in.kind = kind_text(p->kind);
        in.cause = "data";
        in.late = p->late;
        in.t = p->t;
        in.v[0] = p->v[0];
        in.v[1] = p->v[1];
        in.has_v2 = r->d.ch[1] != 0;
        if (p->late) {
            if (p->kind != MT_ALARM_EV_RAISE && p->kind != MT_ALARM_EV_CLEAR) {
                continue; /* history keeps raises and clears */
            }
            in.raise_id = p->kind == MT_ALARM_EV_CLEAR ? late_open[p->rule] : 0;
        } else if (p->kind == MT_ALARM_EV_CLEAR) {
            in.raise_id = r->open_event_id;
            notify = true;
        } else if (p->kind == MT_ALARM_EV_RAISE) {
            notify = true;
        } else {
            if (!r->d.special_notice) {
                continue;
            }
            in.slot = p->slot;
            in.special = p->special;
            notify = true;
        }
        if ((st = db_alarm_event_insert(c, g->account_id, &in, &id)) != DB_OK) {
            rc = svc_fail_db(e, st, NULL);
            break;
        }
        (*n_events)++;
        if (p->late) {
            late_open[p->rule] = p->kind == MT_ALARM_EV_RAISE ? id : 0;
            continue;
        }
        if (p->kind == MT_ALARM_EV_RAISE) {
            r->open_event_id = id;
            r->raised = true;
        } else if (p->kind == MT_ALARM_EV_CLEAR) {
            r->open_event_id = 0;
            r->raised = false;
        }
        if (notify) {
            rc = svc_alarm_notify_event(s, c, g->account_id, id, false, 0, e);
        }
    }
    if (rc == SVC_OK && x->dropped > 0) {
        log_warn("alarm: group %lld: %zu events of one batch beyond %d were not recorded",
                 g->group_id, x->dropped, ALARM_EVENTS_PER_BATCH);
    }
    if (rc == SVC_OK && x->n_persist > 0) {
        if ((rows = calloc((size_t)x->n_persist, sizeof *rows)) == NULL) {
            rc = svc_fail_nomem(e);
            goto out;
        }
        for (int k = 0; k < x->n_persist; k++) {
            rt_rule *r = &g->rules[x->persist[k]];
            mt_error err;
            rows[k].rule_id = r->d.id;
            rows[k].has_state = r->ev != NULL && mt_alarm_save(r->ev, rows[k].state,
                                                               sizeof rows[k].state, NULL,
                                                               &err) == MT_OK;
            rows[k].raised = r->raised;
            rows[k].open_event_id = r->raised ? r->open_event_id : 0;
            rows[k].last_t = r->last_t;
            rows[k].last_data_t = r->last_data_t;
            if (rows[k].raised && rows[k].open_event_id == 0) {
                /* Raised without an open event (a state saved by an older
                 * server): keep the row consistent, raised needs its event. */
                rows[k].raised = false;
            }
        }
        if ((st = db_alarm_save_states(c, g->account_id, rows, x->n_persist)) != DB_OK ||
            (st = db_alarm_group_next(c, g->account_id, g->group_id, &g->seq)) != DB_OK) {
            rc = svc_fail_db(e, st, NULL);
        }
    }
out:
    free(rows);
    free(late_open);
    return rc;
}

/* After a commit: the saved states are what PostgreSQL has. */
static void committed(group_entry *g, eval_ctx *x)
{
    for (int k = 0; k < x->n_persist; k++) {
        rt_rule *r = &g->rules[x->persist[k]];
        mt_error err;
        if (r->ev != NULL &&
            mt_alarm_save(r->ev, r->saved, sizeof r->saved, NULL, &err) == MT_OK) {
            r->has_saved = true;
        }
    }
    ctx_reset(x);
}

/* ------------------------------------------------------------ storing */

/* Insert batch "b" as hot rows of at most HOT_ROW_MAX records. */
static db_status hot_rows(db_conn *c, long long account_id, const ingest_batch *b)
{
    db_status st = DB_OK;
    for (size_t i = 0; i < b->n && st == DB_OK; i += HOT_ROW_MAX) {
        size_t n = b->n - i < HOT_ROW_MAX ? b->n - i : HOT_ROW_MAX;
        int64_t t0 = b->rec[i].t, t1 = b->rec[i].t;
        for (size_t j = i; j < i + n; j++) {
            t0 = b->rec[j].t < t0 ? b->rec[j].t : t0;
            t1 = b->rec[j].t > t1 ? b->rec[j].t : t1;
        }
        st = db_hot_insert(c, account_id, b->rec + i, n, t0, t1);
    }
    return st;
}

/* Begin the transaction of a batch: lock the group's row; if the group
 * moved on since "x" was evaluated on "g" (or "g" was never loaded), undo,
 * reload and evaluate again; claim the batch id. On SVC_OK with *fresh the
 * transaction stays open for the caller; with !*fresh (a retry) it was
 * rolled back and *prev is what the first one stored. On a failure it was
 * rolled back. */
static svc_status begin_batch(db_conn *c, long long account_id, group_entry *g, eval_ctx *x,
                              long long app_id, const ingest_batch *b, bool *fresh,
                              long long *prev, svc_error *e)
{
    long long seq = 0;
    db_status st;
    *fresh = false;
    *prev = 0;
    if ((st = db_begin(c)) != DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    if (g != NULL) {
        if ((st = db_alarm_group_lock(c, account_id, g->group_id, &seq)) != DB_OK) {
            goto db_fail;
        }
        if (!g->loaded || seq != g->seq) {
            undo_all(x, g);
            if ((st = entry_load(c, g)) != DB_OK) {
                goto db_fail;
            }
            eval_batch(x, g, b);
        }
    }
    if ((st = db_ingest_claim(c, account_id, app_id, b->batch_id, b->n, fresh, prev)) !=
        DB_OK) {
        goto db_fail;
    }
    if (!*fresh) {
        db_rollback(c);
        if (g != NULL) {
            undo_all(x, g);
        }
    }
    return SVC_OK;
db_fail:
    db_rollback(c);
    if (g != NULL) {
        undo_all(x, g);
        g->loaded = false;
    }
    return svc_fail_db(e, st, NULL);
}

/* The caller's connection again in *cp when a grouped store gave it back to
 * the pool while the batch waited (ingest_group.h): DB_OK, or DB_BUSY when
 * none came in time (in *st too). */
static db_status conn_back(srv *s, db_conn **cp, db_status *st)
{
    *st = *cp != NULL ? DB_OK : db_acquire(s->pool, DB_WAIT_MS, cp);
    return *st;
}

svc_status svc_alarm_store_batch(srv *s, db_conn **cp, long long account_id, long long app_id,
                                 long long group_id, const ingest_batch *b, const char *ip,
                                 alarm_store_result *out, svc_error *e)
{
    group_entry *g = NULL;
    eval_ctx x;
    svc_status rc = SVC_OK;
    db_status st = DB_OK;
    db_conn *c = NULL;
    bool done = false;

    memset(out, 0, sizeof *out);
    memset(&x, 0, sizeof x);
    if (group_id != 0 && (g = entry_get(account_id, group_id)) == NULL) {
        return svc_fail_nomem(e);
    }
    /* The everyday case: the evaluation changes nothing that must be saved,
     * and the batch goes in one statement that checks the group's
     * sequence. */
    for (int attempt = 0; attempt < FAST_TRIES && b->n <= HOT_ROW_MAX && !done; attempt++) {
        bool seq_ok = false, fresh = false;
        long long prev = 0;
        if (g != NULL && !g->loaded && (conn_back(s, cp, &st) != DB_OK ||
                                         (st = entry_load(*cp, g)) != DB_OK)) {
            rc = svc_fail_db(e, st, NULL);
            goto out;
        }
        if (g != NULL && g->n == 0) {
            /* A group without enabled rules (most): nothing in memory to
             * keep in step, so its batches need not wait for each other;
             * the statement's check of the sequence is enough. */
            long long seq = g->seq;
            entry_put(g);
            st = ingest_group_store_small(s->pool, cp, account_id, app_id, b->batch_id, b->rec, b->n,
                                       b->t_min, b->t_max, ip, group_id, seq, &seq_ok, &fresh,
                                       &prev);
            if ((g = entry_get(account_id, group_id)) == NULL) {
                rc = svc_fail_nomem(e);
                goto out;
            }
            if (st != DB_OK) {
                rc = svc_fail_db(e, st, NULL);
                goto out;
            }
            if (!seq_ok) {
                g->loaded = false;
                continue;
            }
            out->fresh = fresh;
            out->prev_samples = prev;
            done = true;
            break;
        }
        if (g != NULL) {
            eval_batch(&x, g, b);
            if (x.need_tx || x.oom) {
                break; /* the transaction below, with this evaluation */
            }
        }
        st = ingest_group_store_small(s->pool, cp, account_id, app_id, b->batch_id, b->rec, b->n, b->t_min,
                                   b->t_max, ip, g != NULL ? group_id : 0,
                                   g != NULL ? g->seq : 0, &seq_ok, &fresh, &prev);
        if (st != DB_OK) {
            if (g != NULL) {
                undo_all(&x, g);
                g->loaded = false;
            }
            rc = svc_fail_db(e, st, NULL);
            goto out;
        }
        if (!seq_ok) {
            /* Another process changed the group's rules or states. */
            undo_all(&x, g);
            g->loaded = false;
            continue;
        }
        if (!fresh && g != NULL) {
            undo_all(&x, g);
        } else if (g != NULL) {
            ctx_reset(&x);
        }
        out->fresh = fresh;
        out->prev_samples = prev;
        done = true;
    }
    if (!done) {
        int n_events = 0;
        if (g != NULL && x.n_undo == 0 && x.n_ev == 0 && g->loaded) {
            eval_batch(&x, g, b); /* a large batch: not evaluated yet */
        }
        if (conn_back(s, cp, &st) != DB_OK) {
            if (g != NULL) {
                undo_all(&x, g);
            }
            rc = svc_fail_db(e, st, NULL);
            goto out;
        }
        c = *cp;
        /* The channels' channel_sent rows before the transaction
         * (db_channels_sent(): committed, remembered, not locked by it). */
        if ((st = db_channels_sent(c, account_id, b->rec, b->n)) != DB_OK) {
            if (g != NULL) {
                undo_all(&x, g);
            }
            rc = svc_fail_db(e, st, NULL);
            goto out;
        }
        rc = begin_batch(c, account_id, g, &x, app_id, b, &out->fresh, &out->prev_samples, e);
        if (rc != SVC_OK || !out->fresh) {
            goto out;
        }
        /* Inside the transaction: the batch is claimed. */
        out->fresh = true;
        if ((st = hot_rows(c, account_id, b)) != DB_OK ||
            (st = db_app_seen(c, account_id, app_id, ip, NULL)) != DB_OK) {
            rc = svc_fail_db(e, st, NULL);
        } else if (g != NULL) {
            rc = write_phase(s, c, g, &x, &n_events, e);
        }
        if (rc == SVC_OK && (st = db_commit(c)) != DB_OK) {
            rc = svc_fail_db(e, st, NULL);
        }
        if (rc != SVC_OK) {
            db_rollback(c);
            out->fresh = false;
            if (g != NULL) {
                undo_all(&x, g);
                g->loaded = false; /* the sequence may have moved in memory */
            }
            goto out;
        }
        out->events = n_events;
        if (g != NULL) {
            committed(g, &x);
        }
    }
out:
    entry_put(g);
    ctx_free(&x);
    return rc;
}

/* --------------------------------------------------- computed channels */

db_status svc_alarm_on_computed(db_conn *c, long long account_id, int64_t ch, const int64_t *t,
                                const double *v, size_t n)
{
    db_alarm_live *rows = NULL;
    int n_rules = 0;
    db_status st;
    if (n == 0) {
        return DB_OK;
    }
    if ((st = db_alarm_load_computed(c, account_id, ch, &rows, &n_rules)) != DB_OK ||
        n_rules == 0) {
        free(rows);
        return st;
    }
    for (int i = 0; i < n_rules && st == DB_OK; i++) {
        group_entry g;
        rt_rule r;
        eval_ctx x;
        svc_error e;
        size_t k = 0;
        int n_events = 0;
        memset(&g, 0, sizeof g);
        memset(&x, 0, sizeof x);
        if (rt_init(&r, &rows[i]) != 0) {
            st = DB_ERROR;
            break;
        }
        if (r.ev == NULL) {
            continue;
        }
        /* Only rows newer than the rule's state: a day is recomputed whole
         * at every fold, and its older rows were evaluated before (or are
         * older than the rule). */
        while (k < n && t[k] <= r.last_t) {
            k++;
        }
        if (k == n) {
            mt_alarm_free(r.ev);
            continue;
        }
        g.account_id = account_id;
        g.group_id = 0;
        g.rules = &r;
        g.n = 1;
        snapshot(&x, &g, 0);
        if (feed(&x, r.ev, 0, false, t + k, v + k, NULL, n - k) == 0) {
            r.raised = mt_alarm_is_raised(r.ev) != 0;
            r.last_t = t[n - 1];
            add_persist(&x, 0);
            svc_error_clear(&e);
            if (write_phase(g_srv, c, &g, &x, &n_events, &e) != SVC_OK) {
                st = e.status == SVC_DB ? e.db : DB_ERROR;
                log_error("alarm: computed channel %lld: %s", (long long)ch, e.message);
            }
        }
        ctx_free(&x);
        mt_alarm_free(r.ev);
    }
    free(rows);
    return st;
}

/* ------------------------------------------------------- file checks (R6) */

typedef struct {
    const db_alarm_event_msg *m;
    const char *file_name;
    int count;
    const char *link;
    alarm_words w;
} file_render;

static svc_status render_file(void *arg, const char *language, notify_text *out, svc_error *e)
{
    file_render *fr = arg;
    (void)e;
    alarm_msg_file(fr->file_name, fr->m->rule_name, fr->m->group_name, fr->m->rule_text,
                   fr->count, fr->m->local_time, fr->m->utc_offset, language, fr->link, &fr->w);
    *out = fr->w.text;
    return SVC_OK;
}

/* The notice of a file that raised rule "m->rule_id" "count" times (its
 * first raise is event m->id): inbox and the rule's destinations. */
static svc_status notify_file(srv *s, db_conn *c, long long account_id, long long file_id,
                              const char *file_name, const db_alarm_event_msg *m, int count,
                              svc_error *e)
{
    file_render *fr = calloc(1, sizeof *fr);
    char *tbuf[ALARM_LANGS] = {NULL}, *bbuf[ALARM_LANGS] = {NULL};
    const char *titles[ALARM_LANGS], *bodies[ALARM_LANGS];
    char base[300], link[400], key[96], data[160];
    long long rows = 0;
    svc_status rc = SVC_OK;
    db_status st;
    if (fr == NULL) {
        return svc_fail_nomem(e);
    }
    srv_public_url(s, base, sizeof base);
    snprintf(link, sizeof link, "%s/#/alarms/events/%lld", base, m->id);
    fr->m = m;
    fr->file_name = file_name;
    fr->count = count;
    for (int i = 0; i < ALARM_LANGS; i++) {
        alarm_msg_file(file_name, m->rule_name, m->group_name, m->rule_text, count,
                       m->local_time, m->utc_offset, alarm_langs[i], NULL, &fr->w);
        tbuf[i] = strdup(fr->w.title);
        bbuf[i] = strdup(fr->w.body);
        if (tbuf[i] == NULL || bbuf[i] == NULL) {
            rc = svc_fail_nomem(e);
            goto out;
        }
        titles[i] = tbuf[i];
        bodies[i] = bbuf[i];
    }
    snprintf(data, sizeof data,
             "{\"event_id\": %lld, \"rule_id\": %lld, \"group_id\": %lld, \"file_id\": %lld}",
             m->id, m->rule_id, m->group_id, file_id);
    if ((st = db_alarm_inbox(c, account_id, m->group_id, "alarm.file", alarm_langs, titles,
                             bodies, ALARM_LANGS, data, &rows)) != DB_OK) {
        rc = svc_fail_db(e, st, NULL);
        goto out;
    }
    if (m->n_dest > 0) {
        notify_to to[ALARM_DEST_MAX];
        notify_msg msg;
        notify_result res;
        for (int i = 0; i < m->n_dest; i++) {
            memset(&to[i], 0, sizeof to[i]);
            to[i].kind = NOTIFY_TO_DESTINATION;
            to[i].id = m->dest[i];
        }
        snprintf(key, sizeof key, "alarm_file:%lld:%lld:%lld", file_id, m->rule_id, m->id);
        fr->link = link;
        memset(&msg, 0, sizeof msg);
        msg.account_id = account_id;
        msg.kind = "alarm.file";
        msg.key = key;
        msg.severity = m->severity;
        msg.language = m->language;
        msg.render = render_file;
        msg.render_arg = fr;
        msg.to = to;
        msg.n_to = m->n_dest;
        rc = svc_notify_enqueue(c, &msg, &res, e);
        if (rc == SVC_INVALID) {
            log_error("alarm: file %lld: the outbox refused the message: %s", file_id,
                      e->message);
            rc = SVC_OK;
        }
    }
out:
    for (int i = 0; i < ALARM_LANGS; i++) {
        free(tbuf[i]);
        free(bbuf[i]);
    }
    free(fr);
    return rc;
}

svc_status svc_alarm_check_file(const svc_actor *a, long long file_id, long long group_id,
                                const size_t *index, const int64_t *channel, size_t n_map,
                                int utc_offset_minutes, char **json, svc_error *e)
{
    srv *s = a->srv;
    ingest_batch b;
    db_alarm_channel *info = NULL;
    long long *ids = NULL;
    db_alarm_live *rows = NULL;
    db_alarm_event_msg *m = NULL;
    eval_ctx x;
    db_conn *c = NULL;
    cx_access acc = CX_ACCESS_NONE;
    char file_name[256] = "";
    cJSON *out = NULL, *raised = NULL;
    long long seq = 0;
    int n_rules = 0, checked = 0, n_events = 0;
    svc_status rc;
    db_status st;

    size_t *auto_index = NULL;
    int64_t *auto_channel = NULL;

    *json = NULL;
    memset(&b, 0, sizeof b);
    memset(&x, 0, sizeof x);
    if (n_map > ALARM_FILE_MAP_MAX) {
        return svc_fail(e, SVC_INVALID, NULL, "channels",
                        "channels: 1 to %d mappings {index, channel_id}", ALARM_FILE_MAP_MAX);
    }
    if (n_map == 0) {
        /* No mapping: a HOK/HOK2 file names its Metron channel ids; every
         * one that is a channel of the group is read as itself. */
        cJSON *info_json = NULL;
        const cJSON *arr, *item;
        size_t cap;
        if ((rc = svc_drive_channels(s->pool, a, s->cfg.data_dir, file_id, utc_offset_minutes,
                                     &info_json, e)) != SVC_OK) {
            return rc;
        }
        arr = cJSON_GetObjectItemCaseSensitive(info_json, "channels");
        cap = (size_t)cJSON_GetArraySize(arr);
        auto_index = calloc(cap ? cap : 1, sizeof *auto_index);
        auto_channel = calloc(cap ? cap : 1, sizeof *auto_channel);
        if (auto_index == NULL || auto_channel == NULL) {
            cJSON_Delete(info_json);
            free(auto_index);
            free(auto_channel);
            return svc_fail_nomem(e);
        }
        cJSON_ArrayForEach(item, arr)
        {
            const cJSON *id = cJSON_GetObjectItemCaseSensitive(item, "id");
            const cJSON *ix = cJSON_GetObjectItemCaseSensitive(item, "index");
            if (cJSON_IsNumber(id) && id->valuedouble >= 1 && cJSON_IsNumber(ix) &&
                n_map < ALARM_FILE_MAP_MAX) {
                auto_index[n_map] = (size_t)ix->valuedouble;
                auto_channel[n_map++] = (int64_t)id->valuedouble;
            }
        }
        cJSON_Delete(info_json);
        if (n_map == 0) {
            free(auto_index);
            free(auto_channel);
            return svc_fail(e, SVC_INVALID, "missing", "channels",
                            "this file names no Metron channels: map its channels "
                            "(channels: [{index, channel_id}])");
        }
        index = auto_index;
        channel = auto_channel;
    }
    if ((rc = svc_tx_begin(s->pool, &c, e)) != SVC_OK) {
        goto out;
    }
    SVC_TRY_DB(db_cx_group_access(c, a->account_id, a->user_id, a->admin, group_id, &acc), NULL);
    if (acc == CX_ACCESS_NONE) {
        rc = svc_fail(e, SVC_NOT_FOUND, NULL, NULL, "no such measurement group");
        goto out;
    }
    if (acc != CX_ACCESS_EDIT) {
        rc = svc_fail(e, SVC_FORBIDDEN, NULL, NULL,
                      "checking a file against the alarms needs edit access to the group");
        goto out;
    }
    /* The mapped channels: channels of this group. */
    info = calloc(n_map, sizeof *info);
    ids = calloc(n_map, sizeof *ids);
    if (info == NULL || ids == NULL) {
        rc = svc_fail_nomem(e);
        goto out;
    }
    for (size_t k = 0; k < n_map; k++) {
        ids[k] = channel[k];
    }
    SVC_TRY_DB(db_alarm_channels(c, a->account_id, ids, (int)n_map, info), NULL);
    if (auto_index != NULL) {
        /* The file's own ids: keep those of this group. */
        size_t w = 0;
        for (size_t k = 0; k < n_map; k++) {
            if (info[k].found && info[k].group_id == group_id) {
                auto_index[w] = auto_index[k];
                auto_channel[w++] = auto_channel[k];
            }
        }
        n_map = w;
        if (n_map == 0) {
            rc = svc_fail(e, SVC_INVALID, NULL, "channels",
                          "no channel of this file is a channel of this group");
            goto out;
        }
    }
    for (size_t k = 0; k < n_map && auto_index == NULL; k++) {
        if (!info[k].found || info[k].group_id != group_id) {
            rc = svc_fail(e, SVC_INVALID, NULL, "channels",
                          "channels[%zu]: channel %lld is not a channel of this group", k,
                          ids[k]);
            goto out;
        }
    }
    rc = svc_drive_read_columns(s->pool, a, s->cfg.data_dir, file_id, index, channel, n_map,
                                utc_offset_minutes, &b.rec, &b.n, file_name, sizeof file_name, e);
    if (rc != SVC_OK) {
        goto out;
    }
    /* Every enabled condition rule of the group that checks files, over
     * the file's rows, as history: a fresh evaluator each. */
    SVC_TRY_DB(db_alarm_load_group(c, a->account_id, group_id, false, false, &seq, &rows,
                                   &n_rules),
               NULL);
    out = cJSON_CreateObject();
    raised = cJSON_CreateArray();
    m = calloc(1, sizeof *m);
    if (out == NULL || raised == NULL || m == NULL) {
        rc = svc_fail_nomem(e);
        goto out;
    }
    for (int i = 0; i < n_rules && rc == SVC_OK; i++) {
        const db_alarm_live *r = &rows[i];
        size_t s1 = 0, n1, n;
        mt_alarm_rule rule;
        mt_alarm *h = NULL;
        mt_error err;
        long long open = 0, first = 0;
        int count = 0;
        if (r->no_data || !r->check_files) {
            continue;
        }
        n1 = run_of(&b, r->ch[0], &s1);
        if (n1 == 0 || (n = rule_rows(&x, r->ch, &b, s1, n1)) == 0) {
            continue;
        }
        memset(&err, 0, sizeof err);
        if (mt_alarm_parse(r->rule_text, strlen(r->rule_text), &rule, &err) != MT_OK ||
            mt_alarm_new(&rule, &h, &err) != MT_OK) {
            continue;
        }
        checked++;
        ctx_reset(&x);
        feed(&x, h, i, true, x.t, x.v1, r->ch[1] != 0 ? x.v2 : NULL, n);
        mt_alarm_free(h);
        for (size_t k = 0; k < x.n_ev; k++) {
            const pend_ev *p = &x.ev[k];
            db_alarm_event_in in;
            long long id = 0;
            if (p->kind != MT_ALARM_EV_RAISE && p->kind != MT_ALARM_EV_CLEAR) {
                continue;
            }
            memset(&in, 0, sizeof in);
            in.rule_id = r->id;
            in.kind = kind_text(p->kind);
            in.cause = "file";
            in.late = true;
            in.t = p->t;
            in.v[0] = p->v[0];
            in.v[1] = p->v[1];
            in.has_v2 = r->ch[1] != 0;
            in.raise_id = p->kind == MT_ALARM_EV_CLEAR ? open : 0;
            in.file_id = file_id;
            in.file_name = file_name;
            if ((st = db_alarm_event_insert(c, a->account_id, &in, &id)) != DB_OK) {
                rc = svc_fail_db(e, st, NULL);
                break;
            }
            n_events++;
            if (p->kind == MT_ALARM_EV_RAISE) {
                open = id;
                count++;
                first = first ? first : id;
            } else {
                open = 0;
            }
        }
        if (rc == SVC_OK && count > 0) {
            bool found = false;
            cJSON *one = cJSON_CreateObject();
            SVC_TRY_DB(db_alarm_event_msg_get(c, a->account_id, first, m, &found), NULL);
            if (found && (rc = notify_file(s, c, a->account_id, file_id, file_name, m, count,
                                           e)) != SVC_OK) {
                cJSON_Delete(one);
                break;
            }
            if (one != NULL) {
                cJSON_AddNumberToObject(one, "rule_id", (double)r->id);
                cJSON_AddStringToObject(one, "rule_name", m->rule_name);
                cJSON_AddNumberToObject(one, "count", count);
                cJSON_AddNumberToObject(one, "first_event_id", (double)first);
                cJSON_AddNumberToObject(one, "first_t", (double)m->t);
                cJSON_AddItemToArray(raised, one);
            }
        }
    }
    if (rc == SVC_OK) {
        audit_who who = svc_who(a);
        SVC_TRY_DB(audit_write_kv(c, &who, "alarm.file_check", "file", file_id, "file",
                                  file_name),
                   NULL);
        cJSON_AddNumberToObject(out, "file_id", (double)file_id);
        cJSON_AddStringToObject(out, "file_name", file_name);
        cJSON_AddNumberToObject(out, "group_id", (double)group_id);
        cJSON_AddNumberToObject(out, "samples", (double)b.n);
        cJSON_AddNumberToObject(out, "rules_checked", checked);
        cJSON_AddNumberToObject(out, "events", n_events);
        cJSON_AddItemToObject(out, "raised", raised);
        raised = NULL;
        if ((*json = cJSON_PrintUnformatted(out)) == NULL) {
            rc = svc_fail_nomem(e);
        }
    }
out:
    rc = svc_tx_end(s->pool, c, rc, e, NULL);
    if (rc != SVC_OK && *json != NULL) {
        cJSON_free(*json);
        *json = NULL;
    }
    cJSON_Delete(out);
    cJSON_Delete(raised);
    free(m);
    free(rows);
    free(info);
    free(ids);
    free(b.rec);
    free(auto_index);
    free(auto_channel);
    ctx_free(&x);
    return rc;
}
