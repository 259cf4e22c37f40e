/* File bytes in PostgreSQL (db_files.h; docs/storage.md "Files"). */
#define _DEFAULT_SOURCE
#include "db_files.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db_account.h"
#include "log.h"

/* ---------------------------------------------------------------- writing */

static db_stmt st_create = {"file_create",
    "INSERT INTO file_blobs (account_id, chunk_size) VALUES ($1, $2) RETURNING id", 0};

/* The chunk goes in only while its blob is still being written (not swept),
 * and moves the blob's updated_at on (the sweep's clock). One statement,
 * run outside any transaction block, so that it is a transaction of its
 * own and costs one round trip (BEGIN, SET, INSERT, COMMIT were four: on a
 * loaded machine each waits for a core; docs/benchmarks.md). Its commit
 * does not wait for the WAL flush: "s" sets synchronous_commit off for this
 * transaction alone (set_config(..., true) lasts until its end, which is
 * when the setting is read); the durable commit that marks the blob ready
 * flushes every chunk's WAL before anything names the blob. */
static db_stmt st_put = {"file_put",
    "WITH s AS (SELECT set_config('synchronous_commit', 'off', true) AS v), "
    "     b AS (UPDATE file_blobs SET updated_at = now() "
    "           WHERE account_id = $1 AND id = $2 AND state = 'writing' RETURNING account_id, id) "
    "INSERT INTO file_chunks (account_id, blob_id, seq, data) "
    "SELECT b.account_id, b.id, $3::integer + r.k, r.d FROM b, s, "
    "  (VALUES (0, $4::bytea), (1, $5::bytea), (2, $6::bytea), (3, $7::bytea)) AS r (k, d) "
    "WHERE s.v = 'off' AND r.d IS NOT NULL", 0};
#if DB_FILE_PUT_ROWS != 4
#error "st_put names DB_FILE_PUT_ROWS chunk parameters"
#endif

static db_stmt st_ready = {"file_ready",
    "UPDATE file_blobs SET state = 'ready', size = $3, updated_at = now() "
    "WHERE account_id = $1 AND id = $2 AND state = 'writing' "
    "  AND (SELECT COALESCE(sum(octet_length(data)), 0) FROM file_chunks "
    "       WHERE account_id = $1 AND blob_id = $2) = $3", 0};

static db_stmt st_discard = {"file_discard",
    "DELETE FROM file_blobs WHERE account_id = $1 AND id = $2 AND state = 'writing'", 0};

db_status db_file_begin(db_pool *pool, long long account_id, db_file_writer *w)
{
    char a[24], cs[24];
    const char *p[] = {db_ll(account_id, a), db_ll(DB_FILE_CHUNK, cs)};
    db_conn *c = NULL;
    long long id = 0;
    bool found = false;
    db_status st;

    memset(w, 0, sizeof *w);
    w->pool = pool;
    w->account_id = account_id;
    if ((w->buf = malloc((size_t)DB_FILE_PUT_ROWS * DB_FILE_CHUNK)) == NULL) {
        log_error("files: no memory for a chunk buffer");
        return DB_ERROR;
    }
    if ((st = db_acquire(pool, DB_WAIT_MS, &c)) == DB_OK) {
        st = db_q_int(c, &st_create, 2, p, &id, &found);
        db_release(pool, c);
    }
    if (st == DB_OK && !found) {
        st = DB_ERROR;
    }
    if (st != DB_OK) {
        free(w->buf);
        w->buf = NULL;
        return st;
    }
    w->blob_id = id;
    return DB_OK;
}

/* Store the buffered bytes as the next chunks (DB_FILE_CHUNK each, the last
 * one shorter), in a transaction of their own (one statement, see st_put).
 * The bytes go as binary parameters straight from the buffer. */
static db_status put_chunks(db_file_writer *w)
{
    char a[24], b[24], s[24], want[24];
    const char *p[3 + DB_FILE_PUT_ROWS] = {db_ll(w->account_id, a), db_ll(w->blob_id, b),
                                           db_ll(w->next_seq, s)};
    int lengths[3 + DB_FILE_PUT_ROWS] = {0}, formats[3 + DB_FILE_PUT_ROWS] = {0};
    int rows = 0;
    db_conn *c = NULL;
    PGresult *res = NULL;
    db_status st;

    if (w->fill == 0) {
        return DB_OK;
    }
    for (size_t off = 0; off < w->fill; off += DB_FILE_CHUNK, rows++) {
        size_t len = w->fill - off < DB_FILE_CHUNK ? w->fill - off : DB_FILE_CHUNK;
        p[3 + rows] = (const char *)w->buf + off;
        lengths[3 + rows] = (int)len;
        formats[3 + rows] = 1;
    }
    /* The rows not used this time are SQL NULL (skipped by the statement). */
    if ((st = db_acquire(w->pool, DB_WAIT_MS, &c)) != DB_OK) {
        return st;
    }
    snprintf(want, sizeof want, "%d", rows);
    if ((st = db_exec_bin(c, &st_put, 3 + DB_FILE_PUT_ROWS, p, lengths, formats, 0, &res)) ==
            DB_OK &&
        strcmp(PQcmdTuples(res), want) != 0) {
        log_error("files: blob %lld of account %lld is gone (abandoned and swept?)",
                  w->blob_id, w->account_id);
        st = DB_ERROR;
    }
    PQclear(res);
    db_release(w->pool, c);
    if (st == DB_OK) {
        w->next_seq += rows;
        w->fill = 0;
    }
    return st;
}

db_status db_file_write(db_file_writer *w, const void *data, size_t len)
{
    const size_t cap = (size_t)DB_FILE_PUT_ROWS * DB_FILE_CHUNK;
    const unsigned char *p = data;
    while (len > 0) {
        size_t k = cap - w->fill;
        db_status st;
        if (k > len) {
            k = len;
        }
        memcpy(w->buf + w->fill, p, k);
        w->fill += k;
        w->size += (long long)k;
        p += k;
        len -= k;
        if (w->fill == cap && (st = put_chunks(w)) != DB_OK) {
            return st;
        }
    }
    return DB_OK;
}

db_status db_file_flush(db_file_writer *w)
{
    return put_chunks(w);
}

db_status db_file_ready_tx(db_conn *c, const db_file_writer *w)
{
    char a[24], b[24], n[24];
    const char *p[] = {db_ll(w->account_id, a), db_ll(w->blob_id, b), db_ll(w->size, n)};
    long long changed = 0;
    db_status st;
    if (w->fill != 0) {
        log_error("files: blob %lld made ready before its last chunk was stored", w->blob_id);
        return DB_ERROR;
    }
    st = db_q_exec(c, &st_ready, 3, p, &changed);
    if (st == DB_OK && changed != 1) {
        log_error("files: blob %lld of account %lld cannot be made ready (gone, or its chunks "
                  "do not add up to %lld bytes)",
                  w->blob_id, w->account_id, w->size);
        st = DB_ERROR;
    }
    return st;
}

void db_file_writer_end(db_file_writer *w, bool discard)
{
    if (discard && w->blob_id != 0 && w->pool != NULL) {
        char a[24], b[24];
        const char *p[] = {db_ll(w->account_id, a), db_ll(w->blob_id, b)};
        db_conn *c = NULL;
        /* Not found (the sweep, or a ready blob) is fine; a failure is
         * left to the sweep. */
        if (db_acquire(w->pool, DB_WAIT_MS, &c) != DB_OK ||
            db_q_exec(c, &st_discard, 2, p, NULL) != DB_OK) {
            log_warn("files: blob %lld of account %lld left for the sweep", w->blob_id,
                     w->account_id);
        }
        db_release(w->pool, c);
    }
    free(w->buf);
    w->buf = NULL;
    w->blob_id = 0;
    w->fill = 0;
}

/* ---------------------------------------------------------------- reading */

static db_stmt st_get = {"file_get",
    "SELECT size, chunk_size, (extract(epoch FROM created_at) * 1000000)::bigint "
    "FROM file_blobs WHERE account_id = $1 AND id = $2 AND state = 'ready'", 0};

/* Bytes $4.. ($5 of them; 1-based, as substring counts) of chunk $3. */
static db_stmt st_part = {"file_part",
    "SELECT substring(data FROM $4 FOR $5) FROM file_chunks "
    "WHERE account_id = $1 AND blob_id = $2 AND seq = $3", 0};

db_status db_file_get(db_conn *c, long long account_id, long long blob_id, db_file *out,
                      bool *found)
{
    char a[24], b[24];
    const char *p[] = {db_ll(account_id, a), db_ll(blob_id, b)};
    PGresult *res = NULL;
    db_status st;
    memset(out, 0, sizeof *out);
    *found = false;
    if ((st = db_exec(c, &st_get, 2, p, &res)) != DB_OK) {
        return st;
    }
    if (PQntuples(res) == 1) {
        out->account_id = account_id;
        out->id = blob_id;
        out->size = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        out->chunk_size = (int)strtol(PQgetvalue(res, 0, 1), NULL, 10);
        out->created_us = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
        *found = out->chunk_size > 0;
    }
    PQclear(res);
    return DB_OK;
}

/* Whole chunk rows $3..$4-1 of a blob, in order: a download reads up to
 * FILE_READ_ROWS rows a query (fewer, larger queries: docs/benchmarks.md). */
static db_stmt st_rows = {"file_rows",
    "SELECT data FROM file_chunks "
    "WHERE account_id = $1 AND blob_id = $2 AND seq >= $3 AND seq < $4 ORDER BY seq", 0};

#define FILE_READ_ROWS 8

/* The length of chunk "seq" of "f". */
static long long chunk_len(const db_file *f, long long seq)
{
    long long off = seq * f->chunk_size, left = f->size - off;
    return left < f->chunk_size ? left : f->chunk_size;
}

/* One query on a connection of "pool" taken for it alone. */
static db_status read_query(db_pool *pool, db_stmt *stmt, int n, const char *const *p,
                            PGresult **res)
{
    const int formats[] = {0, 0, 0, 0, 0};
    db_conn *c = NULL;
    db_status st;
    *res = NULL;
    if ((st = db_acquire(pool, DB_WAIT_MS, &c)) != DB_OK) {
        return st;
    }
    st = db_exec_bin(c, stmt, n, p, NULL, formats, 1, res);
    db_release(pool, c);
    return st;
}

db_status db_file_read(db_pool *pool, const db_file *f, long long first, long long last,
                       db_file_sink sink, void *arg, bool *stopped)
{
    char a[24], b[24], s[24], o[24], n[24];
    long long pos = first;
    if (stopped != NULL) {
        *stopped = false;
    }
    if (first < 0 || last >= f->size || f->chunk_size <= 0) {
        return first > last ? DB_OK : DB_ERROR;
    }
    db_ll(f->account_id, a);
    db_ll(f->id, b);
    while (pos <= last) {
        long long seq = pos / f->chunk_size, in = pos % f->chunk_size;
        long long rows = 0;
        PGresult *res = NULL;
        db_status st;
        int rc = 0;
        /* Whole chunks from here on (within the range): several a query. */
        while (in == 0 && rows < FILE_READ_ROWS && (seq + rows) * f->chunk_size < f->size &&
               (seq + rows) * f->chunk_size + chunk_len(f, seq + rows) - 1 <= last) {
            rows++;
        }
        if (rows > 0) {
            const char *p[] = {a, b, db_ll(seq, s), db_ll(seq + rows, n)};
            if ((st = read_query(pool, &st_rows, 4, p, &res)) != DB_OK) {
                return st;
            }
            if (PQntuples(res) != rows) {
                log_error("files: blob %lld of account %lld: chunks %lld..%lld missing (deleted "
                          "meanwhile?)", f->id, f->account_id, seq, seq + rows - 1);
                PQclear(res);
                return DB_ERROR;
            }
            for (int i = 0; i < (int)rows && rc == 0; i++) {
                long long len = chunk_len(f, seq + i);
                if (PQgetlength(res, i, 0) != len) {
                    log_error("files: blob %lld of account %lld: chunk %lld is short", f->id,
                              f->account_id, seq + i);
                    PQclear(res);
                    return DB_ERROR;
                }
                rc = sink(arg, PQgetvalue(res, i, 0), (size_t)len);
                pos += len;
            }
        } else {
            /* Part of one chunk (a range's first or last): only the bytes
             * asked for (the column is not compressed: only the TOAST
             * slices they are in are read). */
            long long want = f->chunk_size - in;
            const char *p[] = {a, b, db_ll(seq, s), db_ll(in + 1, o), n};
            if (want > last - pos + 1) {
                want = last - pos + 1;
            }
            db_ll(want, n);
            if ((st = read_query(pool, &st_part, 5, p, &res)) != DB_OK) {
                return st;
            }
            if (PQntuples(res) != 1 || PQgetlength(res, 0, 0) != want) {
                log_error("files: blob %lld of account %lld: chunk %lld is %s", f->id,
                          f->account_id, seq,
                          PQntuples(res) != 1 ? "missing (deleted meanwhile?)" : "short");
                PQclear(res);
                return DB_ERROR;
            }
            rc = sink(arg, PQgetvalue(res, 0, 0), (size_t)want);
            pos += want;
        }
        PQclear(res);
        if (rc != 0) {
            if (stopped != NULL) {
                *stopped = true;
            }
            return DB_OK;
        }
    }
    return DB_OK;
}

static int fd_sink(void *arg, const void *data, size_t len)
{
    int fd = *(int *)arg;
    const char *p = data;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            log_error("files: cannot write a temporary copy: %s", strerror(errno));
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

db_status db_file_to_fd(db_pool *pool, const db_file *f, int fd)
{
    bool stopped = false;
    db_status st;
    if (f->size == 0) {
        return DB_OK;
    }
    st = db_file_read(pool, f, 0, f->size - 1, fd_sink, &fd, &stopped);
    return st == DB_OK && stopped ? DB_ERROR : st;
}

/* ----------------------------------------------------------- housekeeping */

static db_stmt st_sweep = {"file_sweep",
    "WITH d AS ("
    "  SELECT account_id, id FROM file_blobs b "
    "  WHERE updated_at < now() - make_interval(secs => $1::bigint) "
    "    AND (state = 'writing' "
    "         OR (NOT EXISTS (SELECT 1 FROM drive_items i "
    "                         WHERE i.account_id = b.account_id AND i.blob_id = b.id) "
    "             AND NOT EXISTS (SELECT 1 FROM exports x "
    "                             WHERE x.account_id = b.account_id AND x.blob_id = b.id) "
    "             AND NOT EXISTS (SELECT 1 FROM app_files f "
    "                             WHERE f.account_id = b.account_id AND f.blob_id = b.id))) "
    "  LIMIT $2) "
    "DELETE FROM file_blobs b USING d WHERE b.account_id = d.account_id AND b.id = d.id", 0};

db_status db_file_sweep(db_conn *c, long long grace_s, int limit, long long *n)
{
    char g[24], l[24];
    const char *p[] = {db_ll(grace_s, g), db_ll(limit, l)};
    *n = 0;
    return db_q_exec(c, &st_sweep, 2, p, n);
}

/* ------------------------------------------------ moving on-disk files */

static db_stmt st_pending_drive = {"file_pending_drive",
    "SELECT account_id, id, size, '' FROM drive_items "
    "WHERE NOT is_folder AND blob_id IS NULL AND id > $1 ORDER BY id LIMIT $2", 0};

static db_stmt st_pending_exports = {"file_pending_exports",
    "SELECT account_id, id, bytes, format FROM exports "
    "WHERE status = 'done' AND blob_id IS NULL AND id > $1 ORDER BY id LIMIT $2", 0};

static db_stmt st_adopt_drive = {"file_adopt_drive",
    "UPDATE drive_items SET blob_id = $3 "
    "WHERE account_id = $1 AND id = $2 AND blob_id IS NULL AND NOT is_folder", 0};

static db_stmt st_adopt_export = {"file_adopt_export",
    "UPDATE exports SET blob_id = $3 "
    "WHERE account_id = $1 AND id = $2 AND blob_id IS NULL AND status = 'done'", 0};

db_status db_file_pending_list(db_conn *c, bool exports, long long after_id, int limit,
                               db_file_pending **out, int *n)
{
    char a[24], l[24];
    const char *p[] = {db_ll(after_id, a), db_ll(limit, l)};
    PGresult *res = NULL;
    db_status st;
    int rows;
    *out = NULL;
    *n = 0;
    if ((st = db_exec(c, exports ? &st_pending_exports : &st_pending_drive, 2, p, &res)) !=
        DB_OK) {
        return st;
    }
    rows = PQntuples(res);
    if (rows > 0 && (*out = calloc((size_t)rows, sizeof **out)) == NULL) {
        PQclear(res);
        return DB_ERROR;
    }
    for (int i = 0; i < rows; i++) {
        db_file_pending *f = &(*out)[i];
        f->account_id = strtoll(PQgetvalue(res, i, 0), NULL, 10);
        f->id = strtoll(PQgetvalue(res, i, 1), NULL, 10);
        f->size = strtoll(PQgetvalue(res, i, 2), NULL, 10);
        snprintf(f->format, sizeof f->format, "%s", PQgetvalue(res, i, 3));
    }
    *n = rows;
    PQclear(res);
    return DB_OK;
}

db_status db_file_adopt_tx(db_conn *c, bool exports, long long account_id, long long id,
                           const db_file_writer *w, bool *done)
{
    char a[24], i[24], b[24];
    const char *p[] = {db_ll(account_id, a), db_ll(id, i), db_ll(w->blob_id, b)};
    long long changed = 0;
    db_status st;
    *done = false;
    if ((st = db_file_ready_tx(c, w)) != DB_OK ||
        (st = db_q_exec(c, exports ? &st_adopt_export : &st_adopt_drive, 3, p, &changed)) !=
            DB_OK) {
        return st;
    }
    *done = changed == 1;
    return DB_OK;
}
