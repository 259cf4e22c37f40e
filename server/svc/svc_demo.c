#define _POSIX_C_SOURCE 200809L
#include "svc_demo.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "auth_password.h"
#include "auth.h"
#include "db_demo.h"
#include "log.h"
#include "mt/types.h"
#include "series_store.h"

/* Public demo credentials: printed on purpose, never used outside --demo. */
#define DEMO_PASSWORD "Demo-pass1"

static const demo_account demo_accounts[] = {
    {NULL, NULL, "Demo Trial", "trial", "trial@demo.metron.test", "trial@demo.metron.test",
     NULL, 0},
    {"demo-free", NULL, "Demo Free", "free", "admin", "admin@free.demo.metron.test", NULL, 0},
    {"demo-standard", NULL, "Demo Standard", "standard", "admin",
     "admin@standard.demo.metron.test", NULL, 0},
    {"demo-pro", "pro-demo", "Demo Pro", "pro", "admin", "admin@pro.demo.metron.test", NULL,
     DEMO_MAX_CHANNELS},
};

/* ----------------------------------------------------------- history
 * The Pro demo gets a week (and an hour) of one-minute samples on its 32
 * channels up to the start-up minute, so that the viewer and the monitor
 * have something to show before any gateway sends (issue 18, item 5):
 * daily cycles with a little noise, a few special values (+OVER, -OVER, a
 * sensor break, missing values) and a two-hour gap on every channel (an
 * outage). Written as whole day blocks through the store's own path
 * (series_write_day(), as computed channels are), in one transaction, not
 * through the hot table and the compactor, so start-up stays fast. */
#define DEMO_HISTORY_MIN (7 * 1440 + 60)
#define MIN_US 60000000LL

/* A small deterministic generator: the same history on every machine. */
static double noise(uint32_t *state)
{
    *state = *state * 1664525u + 1013904223u;
    return ((double)(*state >> 8) / 16777216.0) - 0.5; /* -0.5 .. 0.5 */
}

/* A day's cycle, +1 at 15:00 China Standard Time (07:00 UTC), -1 twelve
 * hours later: the shape metron-gateway gives temperatures. */
static double daily(int64_t t_us)
{
    double h = (double)((t_us / MIN_US) % 1440) / 60.0;
    return cos(2.0 * 3.14159265358979 * (h - 7.0) / 24.0);
}

/* The value of demo channel "c" (demo_channels[] order) at minute "i" of the
 * history (t_us its time) - or a special value. */
static double demo_value(int c, int i, int64_t t_us, uint32_t *rng)
{
    const int hour = (int)((t_us / 3600000000LL + 8) % 24); /* China Standard Time */
    const bool work = hour >= 7 && hour < 19;
    const double load = work ? 0.75 + 0.2 * sin((double)(t_us / (15 * MIN_US))) : 0.2;
    double v;
    /* The special values, at fixed places of the week. */
    if (c == 2 && i >= 2 * 1440 + 830 && i < 2 * 1440 + 836) {
        return mt_sv_value(MT_SV_OVER_POS); /* zone 3: a heater left on, above range */
    }
    if (c == 12 && i >= 4 * 1440 + 200 && i < 4 * 1440 + 240) {
        return mt_sv_value(MT_SV_BREAK); /* zone 5 humidity: a loose sensor */
    }
    if (c == 20 && i >= 3 * 1440 + 610 && i < 3 * 1440 + 613) {
        return mt_sv_value(MT_SV_OVER_NEG); /* current L2: a clamp put on backwards */
    }
    if (c == 24 && i >= 6 * 1440 + 100 && i < 6 * 1440 + 110) {
        return mt_sv_value(MT_SV_MISSING); /* frequency: no reading */
    }
    if (c < 8 || (c >= 25 && c <= 28)) { /* temperatures */
        v = 20.0 + 0.5 * (c % 8) + 3.0 * daily(t_us) + (work ? 0.6 : 0.0) + 0.1 * noise(rng);
        return round(v * 10.0) / 10.0;
    }
    if (c < 16) { /* humidity */
        v = 55.0 + 1.5 * (c - 8) - 12.0 * daily(t_us) + 0.6 * noise(rng);
        return round(v * 10.0) / 10.0;
    }
    if (c < 19) { /* AC voltage, sagging under load */
        v = 230.0 - 3.0 * (load - 0.5) + 0.3 * (c - 16) + 0.3 * noise(rng);
        return round(v * 100.0) / 100.0;
    }
    if (c < 22) { /* currents */
        v = (60.0 + 15.0 * (c - 19)) * load * (1.0 + 0.02 * noise(rng));
        return round(v * 100.0) / 100.0;
    }
    if (c == 22) { /* active power of L1 */
        v = 230.0 * 60.0 * load * (0.80 + 0.15 * load) * (1.0 + 0.01 * noise(rng));
        return round(v);
    }
    if (c == 23) { /* power factor */
        v = 0.80 + 0.15 * load + 0.005 * noise(rng);
        return round(v * 1000.0) / 1000.0;
    }
    if (c == 24) { /* frequency */
        v = 50.0 + 0.03 * sin((double)i / 90.0) + 0.005 * noise(rng);
        return round(v * 1000.0) / 1000.0;
    }
    /* transmitters: 1 to 9 V, slow */
    v = 2.0 + 2.0 * (c - 29) + 0.5 * sin((double)i / 300.0 + c) + 0.01 * noise(rng);
    return round(v * 10000.0) / 10000.0;
}

/* Whether minute "i" lies in the two-hour outage (no sample on any channel). */
static bool demo_gap(int i)
{
    return i >= 5 * 1440 + 540 && i < 5 * 1440 + 660;
}

/* Write the demo history of "ids" (its channels are demo_channels[]) in one
 * transaction. */
static int demo_history(srv *s, const demo_ids *ids)
{
    int64_t now = auth_now_ms() * 1000LL;
    int64_t end = now - now % MIN_US; /* the start-up minute, not included */
    int64_t start = end - (int64_t)DEMO_HISTORY_MIN * MIN_US;
    int64_t *t = malloc(1440 * sizeof *t);
    double *v = malloc(1440 * sizeof *v);
    ingest_rec latest[DEMO_MAX_CHANNELS];
    size_t n_latest = 0;
    db_conn *c = NULL;
    db_status st = DB_OK;
    long long samples = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (t == NULL || v == NULL) {
        free(t);
        free(v);
        log_error("demo: out of memory for the history");
        return -1;
    }
    if ((st = db_acquire(s->pool, DB_WAIT_MS, &c)) != DB_OK || (st = db_begin(c)) != DB_OK) {
        goto out;
    }
    for (int ch = 0; ch < ids->n_channel && st == DB_OK; ch++) {
        uint32_t rng = 0x9e3779b9u ^ (uint32_t)ch * 2654435761u;
        int64_t day = series_day_of(start);
        int i = 0;
        while (i < DEMO_HISTORY_MIN && st == DB_OK) {
            size_t n = 0;
            long long delta = 0;
            for (; i < DEMO_HISTORY_MIN; i++) {
                int64_t ti = start + (int64_t)i * MIN_US;
                if (series_day_of(ti) != day) {
                    break;
                }
                if (demo_gap(i)) {
                    continue;
                }
                t[n] = ti;
                v[n] = demo_value(ch, i, ti, &rng);
                n++;
            }
            if (n > 0) {
                st = series_write_day(c, ids->account_id, ids->channel[ch], day, t, v, n, &delta);
                samples += (long long)n;
                latest[n_latest].ch = ids->channel[ch];
                latest[n_latest].t = t[n - 1];
                latest[n_latest].v = v[n - 1];
            }
            day++;
        }
        n_latest++;
    }
    if (st == DB_OK) {
        st = series_update_latest(c, ids->account_id, latest, n_latest);
    }
    if (st == DB_OK) {
        st = db_demo_app_seen(c, ids->account_id, ids->app_id, end - MIN_US);
    }
    st = st == DB_OK ? db_commit(c) : st;
out:
    db_release(s->pool, c); /* rolls back an unfinished transaction */
    free(t);
    free(v);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (st != DB_OK) {
        log_error("demo: writing the history failed: %s", db_strerror(st));
        return -1;
    }
    log_info("demo: %lld samples of history on %d channels in %.0f ms", samples, ids->n_channel,
             (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
    return 0;
}

int svc_demo_seed(srv *s)
{
    for (size_t i = 0; i < sizeof demo_accounts / sizeof demo_accounts[0]; i++) {
        demo_account a = demo_accounts[i];
        char hash[PASSWORD_HASH_CAP];
        bool created = false;
        db_status st;
        if (password_check_policy(DEMO_PASSWORD, a.user_login) != PW_OK ||
            password_hash(DEMO_PASSWORD, hash, sizeof hash) != 0) {
            log_error("demo: cannot hash the demo password");
            return -1;
        }
        a.password_hash = hash;
        demo_ids ids;
        st = db_demo_seed(s->pool, &a, &created, &ids);
        if (st != DB_OK) {
            log_error("demo: creating %s failed: %s", a.name, db_strerror(st));
            return -1;
        }
        if (created) {
            log_info("demo: created account %s (%s)", a.name, a.plan);
            if (a.n_channels > 0 && demo_history(s, &ids) != 0) {
                return -1;
            }
        }
    }
    return 0;
}

void svc_demo_print_logins(void)
{
    printf("Demo logins (password for all: %s)\n", DEMO_PASSWORD);
    printf("  %-9s %-24s %s\n", "plan", "account ID", "user ID");
    for (size_t i = 0; i < sizeof demo_accounts / sizeof demo_accounts[0]; i++) {
        const demo_account *a = &demo_accounts[i];
        char account[64];
        if (a->account_login == NULL) {
            snprintf(account, sizeof account, "(none: e-mail login)");
        } else if (a->alt_login != NULL) {
            snprintf(account, sizeof account, "%s or %s", a->account_login, a->alt_login);
        } else {
            snprintf(account, sizeof account, "%s", a->account_login);
        }
        printf("  %-9s %-24s %s\n", a->plan, account, a->user_login);
    }
    fflush(stdout);
}
