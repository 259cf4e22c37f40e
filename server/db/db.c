#define _POSIX_C_SOURCE 200809L
#include "db.h"

#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "metrics.h"
#include "sbuf.h"

/* Statement slots: each db_stmt gets a process-wide slot number on first use;
 * a connection remembers which slots it has prepared. */
#define DB_MAX_STMTS 1024
/* After a failed connect, further attempts wait this long: while PostgreSQL
 * is down, requests fail fast instead of each one trying to connect. */
#define DB_RETRY_MS 200

struct db_conn {
    PGconn *pg;
    db_conn *next_free;
    unsigned char prepared[DB_MAX_STMTS + 1];
    bool start_known; /* start_us was read on this connection (db_conn_start()) */
    int64_t start_us;
};

/* A thread waiting for a connection. Waiters queue in arrival order and a
 * released connection is handed straight to the oldest one: without this,
 * a thread that releases and at once acquires again (the next request on
 * its keep-alive connection) overtakes the woken waiter, and under load a
 * few requests starve for hundreds of milliseconds. */
typedef struct waiter {
    struct waiter *next;
    db_conn *got;
    pthread_cond_t cv;
} waiter;

struct db_pool {
    char *conninfo;
    int size;
    db_conn *conns;
    db_conn *free_list;
    waiter *wait_head, *wait_tail;
    pthread_mutex_t mu;
    struct timespec retry_at; /* no connect attempt before this (monotonic) */
};

static atomic_int stmt_counter;

static void now_mono(struct timespec *ts)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
}

static void ts_add_ms(struct timespec *ts, long ms)
{
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static bool ts_before(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

const char *db_strerror(db_status st)
{
    switch (st) {
    case DB_OK: return "ok";
    case DB_UNAVAILABLE: return "database unavailable";
    case DB_BUSY: return "database busy";
    case DB_ERROR: return "database error";
    case DB_CONFLICT: return "conflict";
    case DB_CONSTRAINT: return "constraint violated";
    }
    return "database error";
}

db_pool *db_pool_new(const char *conninfo, int size)
{
    db_pool *pool = calloc(1, sizeof *pool);
    if (pool == NULL) {
        return NULL;
    }
    pool->conninfo = strdup(conninfo);
    pool->conns = calloc((size_t)size, sizeof *pool->conns);
    if (pool->conninfo == NULL || pool->conns == NULL) {
        free(pool->conninfo);
        free(pool->conns);
        free(pool);
        return NULL;
    }
    pool->size = size;
    for (int i = size - 1; i >= 0; i--) {
        pool->conns[i].next_free = pool->free_list;
        pool->free_list = &pool->conns[i];
    }
    pthread_mutex_init(&pool->mu, NULL);
    return pool;
}

static void conn_drop(db_conn *c)
{
    if (c->pg != NULL) {
        PQfinish(c->pg);
        c->pg = NULL;
    }
    memset(c->prepared, 0, sizeof c->prepared);
    c->start_known = false;
    c->start_us = 0;
}

void db_pool_free(db_pool *pool)
{
    if (pool == NULL) {
        return;
    }
    for (int i = 0; i < pool->size; i++) {
        conn_drop(&pool->conns[i]);
    }
    pthread_mutex_destroy(&pool->mu);
    free(pool->conns);
    free(pool->conninfo);
    free(pool);
}

/* An idle connection has nothing to read: anything readable means the server
 * sent an error and/or closed it (a restart, an administrator's kill), so it
 * is not worth handing out. */
static bool conn_usable(db_conn *c)
{
    struct pollfd p;
    if (c->pg == NULL || PQstatus(c->pg) != CONNECTION_OK) {
        return false;
    }
    p.fd = PQsocket(c->pg);
    p.events = POLLIN;
    p.revents = 0;
    if (p.fd < 0) {
        return false;
    }
    return poll(&p, 1, 0) == 0;
}

static bool conn_open(db_pool *pool, db_conn *c)
{
    /* Defaults first: the keywords of the caller's conninfo (expanded from
     * "dbname") override them. */
    const char *keys[] = {"connect_timeout", "application_name", "client_encoding", "dbname",
                          NULL};
    const char *vals[] = {"3", "metron-server", "UTF8", pool->conninfo, NULL};
    conn_drop(c);
    c->pg = PQconnectdbParams(keys, vals, 1);
    if (c->pg == NULL || PQstatus(c->pg) != CONNECTION_OK) {
        const char *msg = c->pg ? PQerrorMessage(c->pg) : "out of memory";
        char line[256];
        size_t n;
        snprintf(line, sizeof line, "%s", msg);
        n = strcspn(line, "\n");
        line[n] = '\0';
        log_warn("db: cannot connect: %s", line);
        conn_drop(c);
        return false;
    }
    return true;
}

/* Give "c" to the oldest waiter, or back to the free list. Caller holds mu. */
static void hand_over_locked(db_pool *pool, db_conn *c)
{
    waiter *w = pool->wait_head;
    if (w != NULL) {
        pool->wait_head = w->next;
        if (pool->wait_head == NULL) {
            pool->wait_tail = NULL;
        }
        w->next = NULL;
        w->got = c;
        pthread_cond_signal(&w->cv);
        return;
    }
    c->next_free = pool->free_list;
    pool->free_list = c;
}

static void unlink_waiter_locked(db_pool *pool, waiter *me)
{
    waiter **pp = &pool->wait_head, *prev = NULL;
    while (*pp != NULL && *pp != me) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    if (*pp == me) {
        *pp = me->next;
        if (pool->wait_tail == me) {
            pool->wait_tail = prev;
        }
    }
}

int db_pool_warm(db_pool *pool)
{
    int n_open = 0;
    for (int i = 0; i < pool->size; i++) {
        if (conn_usable(&pool->conns[i]) || conn_open(pool, &pool->conns[i])) {
            n_open++;
        } else {
            break; /* PostgreSQL refuses: the rest connect on use */
        }
    }
    return n_open;
}

void db_pool_stats(db_pool *pool, int *size, int *idle, int *waiting)
{
    int n_idle = 0, n_wait = 0;
    pthread_mutex_lock(&pool->mu);
    for (const db_conn *c = pool->free_list; c != NULL; c = c->next_free) {
        n_idle++;
    }
    for (const waiter *w = pool->wait_head; w != NULL; w = w->next) {
        n_wait++;
    }
    *size = pool->size;
    pthread_mutex_unlock(&pool->mu);
    *idle = n_idle;
    *waiting = n_wait;
}

db_status db_acquire(db_pool *pool, int wait_ms, db_conn **out)
{
    struct timespec deadline, now;
    db_conn *c = NULL;
    bool may_connect;

    *out = NULL;
    metrics_add(METRIC_POOL_ACQUIRES, 1);
    pthread_mutex_lock(&pool->mu);
    if (pool->free_list != NULL && pool->wait_head == NULL) {
        c = pool->free_list;
        pool->free_list = c->next_free;
    } else {
        waiter me;
        struct timespec began;
        pthread_condattr_t ca;
        now_mono(&began);
        metrics_add(METRIC_POOL_WAITS, 1);
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&me.cv, &ca);
        pthread_condattr_destroy(&ca);
        me.next = NULL;
        me.got = NULL;
        if (pool->wait_tail != NULL) {
            pool->wait_tail->next = &me;
        } else {
            pool->wait_head = &me;
        }
        pool->wait_tail = &me;
        now_mono(&deadline);
        ts_add_ms(&deadline, wait_ms);
        while (me.got == NULL) {
            if (pthread_cond_timedwait(&me.cv, &pool->mu, &deadline) != 0 && me.got == NULL) {
                unlink_waiter_locked(pool, &me);
                break;
            }
        }
        pthread_cond_destroy(&me.cv);
        c = me.got;
        now_mono(&now);
        metrics_pool_wait_us((long long)(now.tv_sec - began.tv_sec) * 1000000LL +
                             (now.tv_nsec - began.tv_nsec) / 1000);
        if (c == NULL) {
            metrics_add(METRIC_POOL_TIMEOUTS, 1);
            pthread_mutex_unlock(&pool->mu);
            log_warn("db: no free connection after %d ms", wait_ms);
            return DB_BUSY;
        }
    }
    c->next_free = NULL;
    now_mono(&now);
    may_connect = !ts_before(&now, &pool->retry_at);
    pthread_mutex_unlock(&pool->mu);

    if (conn_usable(c)) {
        *out = c;
        return DB_OK;
    }
    if (may_connect && conn_open(pool, c)) {
        *out = c;
        return DB_OK;
    }
    conn_drop(c);
    pthread_mutex_lock(&pool->mu);
    if (may_connect) {
        now_mono(&pool->retry_at);
        ts_add_ms(&pool->retry_at, DB_RETRY_MS);
    }
    hand_over_locked(pool, c);
    pthread_mutex_unlock(&pool->mu);
    return DB_UNAVAILABLE;
}

void db_release(db_pool *pool, db_conn *c)
{
    if (c == NULL) {
        return;
    }
    if (c->pg != NULL) {
        PGTransactionStatusType ts = PQtransactionStatus(c->pg);
        if (ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR) {
            if (db_rollback(c) != DB_OK) {
                conn_drop(c);
            }
        } else if (ts != PQTRANS_IDLE) {
            conn_drop(c); /* busy or unknown: not reusable */
        }
    }
    pthread_mutex_lock(&pool->mu);
    hand_over_locked(pool, c);
    pthread_mutex_unlock(&pool->mu);
}

bool db_conn_start(const db_conn *conn, int64_t *us)
{
    *us = conn->start_known ? conn->start_us : 0;
    return conn->start_known;
}

void db_conn_set_start(db_conn *conn, int64_t us)
{
    if (conn->pg != NULL) {
        conn->start_known = true;
        conn->start_us = us;
    }
}

PGconn *db_conn_pg(db_conn *conn)
{
    return conn->pg;
}

/* Classify a failed result (or NULL) on "c"; drops the connection when it is
 * broken, so that the next db_acquire() reconnects. */
static db_status fail_status(db_conn *c, const PGresult *res, const char *what)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = res ? PQresultErrorMessage(res) : (c->pg ? PQerrorMessage(c->pg) : "");
    char line[300];
    snprintf(line, sizeof line, "%s", msg ? msg : "");
    line[strcspn(line, "\n")] = '\0';

    if (c->pg == NULL || PQstatus(c->pg) != CONNECTION_OK ||
        (state != NULL && (!strncmp(state, "08", 2) || !strncmp(state, "57P", 3)))) {
        log_warn("db: %s: connection lost: %s", what, line);
        conn_drop(c);
        return DB_UNAVAILABLE;
    }
    if (state != NULL && !strcmp(state, "23505")) {
        return DB_CONFLICT;
    }
    if (state != NULL && !strncmp(state, "23", 2)) {
        return DB_CONSTRAINT;
    }
    log_error("db: %s failed (%s): %s", what, state ? state : "-", line);
    return DB_ERROR;
}

static int stmt_slot(db_stmt *stmt)
{
    int slot = atomic_load(&stmt->slot), expected = 0;
    if (slot != 0) {
        return slot;
    }
    slot = atomic_fetch_add(&stmt_counter, 1) + 1;
    if (!atomic_compare_exchange_strong(&stmt->slot, &expected, slot)) {
        return expected; /* another thread won; its number stands */
    }
    return slot;
}

db_status db_exec(db_conn *c, db_stmt *stmt, int n_params, const char *const *params,
                  PGresult **out)
{
    return db_exec_bin(c, stmt, n_params, params, NULL, NULL, 0, out);
}

/* "s<slot>_<at most 60 bytes of the name>": snprintf("s%d_%.60s") by
 * copies (issue 16: formatting it was a thousand instructions of every
 * statement of every request). "out" holds at least 80 bytes. */
static void stmt_server_name(char *out, int slot, const char *name)
{
    size_t n = 0, len = strnlen(name, 60);
    out[n++] = 's';
    n += dec_text(slot, out + n);
    out[n++] = '_';
    memcpy(out + n, name, len);
    out[n + len] = '\0';
}

db_status db_exec_bin(db_conn *c, db_stmt *stmt, int n_params, const char *const *params,
                      const int *lengths, const int *formats, int result_format, PGresult **out)
{
    int slot = stmt_slot(stmt);
    char name[80];
    PGresult *res;
    ExecStatusType rs;
    db_status st;

    if (out != NULL) {
        *out = NULL;
    }
    if (slot > DB_MAX_STMTS) {
        log_error("db: too many statements (raise DB_MAX_STMTS): %s", stmt->name);
        return DB_ERROR;
    }
    if (c->pg == NULL) {
        return DB_UNAVAILABLE;
    }
    /* The slot makes the server-side name unique even if two files pick
     * the same "name". */
    stmt_server_name(name, slot, stmt->name);
    if (!c->prepared[slot]) {
        res = PQprepare(c->pg, name, stmt->sql, 0, NULL);
        if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK) {
            st = fail_status(c, res, stmt->name);
            PQclear(res);
            return st == DB_OK ? DB_ERROR : st;
        }
        PQclear(res);
        c->prepared[slot] = 1;
    }
    res = PQexecPrepared(c->pg, name, n_params, params, lengths, formats, result_format);
    rs = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (rs != PGRES_TUPLES_OK && rs != PGRES_COMMAND_OK) {
        st = fail_status(c, res, stmt->name);
        PQclear(res);
        return st;
    }
    if (out != NULL) {
        *out = res;
    } else {
        PQclear(res);
    }
    return DB_OK;
}

/* Transaction control: fixed commands, no parameters (PQexec of a constant
 * string; nothing here is built from input). */
static db_status exec_command(db_conn *c, const char *sql)
{
    PGresult *res;
    db_status st = DB_OK;
    if (c->pg == NULL) {
        return DB_UNAVAILABLE;
    }
    res = PQexec(c->pg, sql);
    if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK) {
        st = fail_status(c, res, sql);
    }
    PQclear(res);
    return st;
}

db_status db_begin(db_conn *c)
{
    return exec_command(c, "BEGIN");
}

db_status db_commit(db_conn *c)
{
    PGresult *res;
    db_status st = DB_OK;
    if (c->pg == NULL) {
        return DB_UNAVAILABLE;
    }
    res = PQexec(c->pg, "COMMIT");
    if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK) {
        st = fail_status(c, res, "COMMIT");
    } else if (strcmp(PQcmdStatus(res), "COMMIT") != 0) {
        /* COMMIT of a failed transaction "succeeds" as ROLLBACK. */
        log_error("db: COMMIT of a failed transaction was rolled back");
        st = DB_ERROR;
    }
    PQclear(res);
    return st;
}

db_status db_rollback(db_conn *c)
{
    return exec_command(c, "ROLLBACK");
}

db_status db_savepoint(db_conn *c)
{
    return exec_command(c, "SAVEPOINT s");
}

db_status db_savepoint_release(db_conn *c)
{
    return exec_command(c, "RELEASE SAVEPOINT s");
}

db_status db_savepoint_rollback(db_conn *c)
{
    db_status st = exec_command(c, "ROLLBACK TO SAVEPOINT s");
    return st == DB_OK ? exec_command(c, "RELEASE SAVEPOINT s") : st;
}

char *db_id_array(const int64_t *ids, size_t n)
{
    size_t cap = 2 + n * 21 + 1, len = 0;
    char *s = malloc(cap);
    if (s == NULL) {
        return NULL;
    }
    s[len++] = '{';
    /* Each id digit by digit, as "%lld" writes it (issue 16: snprintf()
     * for each of a monitor's 32 channels was 24 k instructions of the
     * request). A comma and 20 characters at most each: "cap" holds them. */
    for (size_t i = 0; i < n; i++) {
        if (i > 0) {
            s[len++] = ',';
        }
        len += dec_text((long long)ids[i], s + len);
    }
    s[len++] = '}';
    s[len] = '\0';
    return s;
}


static db_stmt st_ping = {"health_ping", "SELECT 1", 0};

db_status db_ping(db_pool *pool, int wait_ms)
{
    db_conn *c = NULL;
    db_status st = db_acquire(pool, wait_ms, &c);
    if (st == DB_OK) {
        st = db_exec(c, &st_ping, 0, NULL, NULL);
    }
    db_release(pool, c);
    return st;
}
