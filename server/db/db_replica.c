/* The read replica and its staleness bound (db_replica.h). */
#define _DEFAULT_SOURCE
#include "db_replica.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

/* Samples of the primary's flushed position kept: at 100 ms a check, 12.8 s,
 * far more than any useful bound. */
#define RING 128

typedef struct {
    int64_t t_ms;
    int64_t lsn;
} sample;

struct db_replica {
    char *primary_ci;
    char *replica_ci;
    int max_lag_ms;
    int check_ms;
    db_pool *pool;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stopping;
    atomic_bool up;
    atomic_llong good_ms; /* t_good (monotonic ms); 0 = none */
    atomic_llong reads, fallbacks;
    atomic_bool logged_down;
    sample ring[RING];
    size_t n, head;
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One int64 (and optionally a bool) from a fixed query; -1 on failure. */
static int query(PGconn *pg, const char *sql, int64_t *v, bool *flag)
{
    PGresult *res = PQexec(pg, sql);
    int rc = -1;
    if (res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
        !PQgetisnull(res, 0, 0)) {
        *v = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        if (flag != NULL) {
            *flag = PQnfields(res) > 1 && PQgetvalue(res, 0, 1)[0] == 't';
        }
        rc = 0;
    }
    PQclear(res);
    return rc;
}

static PGconn *connect_to(const char *ci)
{
    PGconn *pg = PQconnectdb(ci);
    if (pg != NULL && PQstatus(pg) != CONNECTION_OK) {
        PQfinish(pg);
        pg = NULL;
    }
    return pg;
}

static void set_up(db_replica *r, bool up, const char *why)
{
    bool was = atomic_exchange(&r->up, up);
    if (was && !up) {
        log_warn("replica: reads go to the primary: %s", why);
    } else if (!was && up) {
        log_info("replica: the standby answers: reads go to it while it is at most %d ms "
                 "behind",
                 r->max_lag_ms);
    }
}

static void *monitor(void *arg)
{
    db_replica *r = arg;
    PGconn *primary = NULL, *standby = NULL;
    pthread_mutex_lock(&r->mu);
    while (!r->stopping) {
        struct timespec until;
        int64_t t, f = 0, replay = 0;
        bool recovering = false;
        pthread_mutex_unlock(&r->mu);
        if (primary == NULL) {
            primary = connect_to(r->primary_ci);
        }
        if (standby == NULL) {
            standby = connect_to(r->replica_ci);
        }
        t = mono_ms();
        if (primary == NULL ||
            query(primary, "SELECT (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::bigint", &f,
                  NULL) != 0) {
            PQfinish(primary);
            primary = NULL;
            set_up(r, false, "the primary cannot be asked how far it is");
        } else if (standby == NULL ||
                   query(standby,
                         "SELECT (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint, "
                         "pg_is_in_recovery()",
                         &replay, &recovering) != 0) {
            PQfinish(standby);
            standby = NULL;
            set_up(r, false, "the standby does not answer");
        } else if (!recovering) {
            set_up(r, false, "the standby is not in recovery (promoted?): never read there");
        } else {
            int64_t good = 0;
            r->ring[r->head] = (sample){t, f};
            r->head = (r->head + 1) % RING;
            if (r->n < RING) {
                r->n++;
            }
            /* The newest sample the standby has replayed. */
            for (size_t k = 0; k < r->n; k++) {
                const sample *sm = &r->ring[(r->head + RING - 1 - k) % RING];
                if (sm->lsn <= replay) {
                    good = sm->t_ms;
                    break;
                }
            }
            if (good > atomic_load(&r->good_ms)) {
                atomic_store(&r->good_ms, good);
            }
            set_up(r, true, NULL);
        }
        pthread_mutex_lock(&r->mu);
        clock_gettime(CLOCK_REALTIME, &until);
        {
            int wait = atomic_load(&r->up) ? r->check_ms : 1000;
            until.tv_sec += wait / 1000;
            until.tv_nsec += (long)(wait % 1000) * 1000000L;
            if (until.tv_nsec >= 1000000000L) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000L;
            }
        }
        while (!r->stopping && pthread_cond_timedwait(&r->cv, &r->mu, &until) == 0) {
        }
    }
    pthread_mutex_unlock(&r->mu);
    PQfinish(primary);
    PQfinish(standby);
    return NULL;
}

int db_replica__conninfo(const char *ci, char *out, size_t cap)
{
    bool uri = strncmp(ci, "postgresql://", 13) == 0 || strncmp(ci, "postgres://", 11) == 0;
    int n;
    if (strstr(ci, "connect_timeout") != NULL) {
        n = snprintf(out, cap, "%s", ci);
    } else if (uri) {
        n = snprintf(out, cap, "%s%cconnect_timeout=%d", ci, strchr(ci, '?') ? '&' : '?',
                     DB_REPLICA_CONNECT_TIMEOUT_S);
    } else {
        n = snprintf(out, cap, "%s connect_timeout=%d", ci, DB_REPLICA_CONNECT_TIMEOUT_S);
    }
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

db_replica *db_replica_start(const char *primary_conninfo, const char *replica_conninfo,
                             int pool_size, int max_lag_ms, int check_ms)
{
    size_t cap = strlen(replica_conninfo) + 64;
    db_replica *r = calloc(1, sizeof *r);
    if (r == NULL) {
        return NULL;
    }
    r->primary_ci = strdup(primary_conninfo);
    r->replica_ci = malloc(cap);
    if (r->replica_ci != NULL && db_replica__conninfo(replica_conninfo, r->replica_ci, cap) != 0) {
        free(r->replica_ci);
        r->replica_ci = NULL;
    }
    r->max_lag_ms = max_lag_ms;
    r->check_ms = check_ms;
    r->pool = r->replica_ci != NULL ? db_pool_new(r->replica_ci, pool_size) : NULL;
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    if (r->primary_ci == NULL || r->replica_ci == NULL || r->pool == NULL ||
        pthread_create(&r->thread, NULL, monitor, r) != 0) {
        db_pool_free(r->pool);
        free(r->primary_ci);
        free(r->replica_ci);
        free(r);
        return NULL;
    }
    return r;
}

void db_replica_stop(db_replica *r)
{
    if (r == NULL) {
        return;
    }
    pthread_mutex_lock(&r->mu);
    r->stopping = true;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->thread, NULL);
    db_pool_free(r->pool);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
    free(r->primary_ci);
    free(r->replica_ci);
    free(r);
}

db_pool *db_replica_pool(db_replica *r, int64_t *bound_ms)
{
    int64_t good, bound;
    if (bound_ms != NULL) {
        *bound_ms = -1;
    }
    if (r == NULL) {
        return NULL;
    }
    good = atomic_load(&r->good_ms);
    if (!atomic_load(&r->up) || good == 0) {
        return NULL;
    }
    bound = mono_ms() - good;
    if (bound_ms != NULL) {
        *bound_ms = bound;
    }
    return bound <= r->max_lag_ms ? r->pool : NULL;
}

int64_t db_replica_now_ms(void)
{
    return mono_ms();
}

db_pool *db_replica_pool_since(db_replica *r, int64_t since_ms, int wait_ms)
{
    int64_t until = mono_ms() + wait_ms;
    if (r == NULL) {
        return NULL;
    }
    for (;;) {
        const struct timespec step = {0, 20 * 1000000L};
        int64_t good = atomic_load(&r->good_ms);
        bool up = atomic_load(&r->up);
        if (up && good != 0 && good >= since_ms) {
            return r->pool;
        }
        if (!up || mono_ms() >= until) {
            return NULL;
        }
        nanosleep(&step, NULL);
    }
}

void db_replica_count(db_replica *r, bool on_replica)
{
    if (r != NULL) {
        atomic_fetch_add(on_replica ? &r->reads : &r->fallbacks, 1);
    }
}

void db_replica_failed(db_replica *r)
{
    if (r != NULL) {
        set_up(r, false, "a read failed there");
    }
}

void db_replica_get_state(db_replica *r, db_replica_state *out)
{
    int64_t bound = -1;
    memset(out, 0, sizeof *out);
    out->bound_ms = -1;
    if (r == NULL) {
        return;
    }
    out->fresh = db_replica_pool(r, &bound) != NULL;
    out->bound_ms = bound;
    out->up = atomic_load(&r->up);
    out->reads = atomic_load(&r->reads);
    out->fallbacks = atomic_load(&r->fallbacks);
    out->max_lag_ms = r->max_lag_ms;
}
