/* File bytes in PostgreSQL (024_file_store.sql; docs/storage.md "Files"):
 * the shared store of drive files, report files and export files, which
 * every server process reaches.
 *
 * A file is a blob: a file_blobs row and its bytes in file_chunks rows of
 * DB_FILE_CHUNK bytes (the last one shorter). It is written by a
 * db_file_writer, DB_FILE_PUT_ROWS chunks per short one-statement
 * transaction on a pooled connection (a slow client never holds one), and
 * becomes "ready" inside the
 * transaction that records its owner (db_file_ready_tx()). It is read
 * chunk by chunk (db_file_read()), each chunk on a connection taken and
 * given back, so that a slow download never holds one either; a blob never
 * changes once ready, so the reads need no common transaction. Deleting the
 * owner's row deletes the blob (a trigger). Nothing here holds a whole file
 * in memory: at most DB_FILE_PUT_ROWS chunks per writer, 8 per reader. */
#ifndef MTS_DB_FILES_H
#define MTS_DB_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"

/* Bytes per chunk row (chosen by measurement: docs/storage.md). */
#define DB_FILE_CHUNK (1024 * 1024)

/* Chunk rows a writer buffers and stores with one statement (one round
 * trip, one transaction): DB_FILE_PUT_ROWS x DB_FILE_CHUNK bytes of memory
 * per upload, as a download holds up to 8 rows (docs/benchmarks.md). */
#define DB_FILE_PUT_ROWS 4

/* ------------------------------------------------------------- writing */

typedef struct {
    db_pool *pool;
    long long account_id;
    long long blob_id;   /* 0 until db_file_begin() */
    unsigned char *buf;  /* DB_FILE_PUT_ROWS x DB_FILE_CHUNK bytes */
    size_t fill;         /* bytes buffered (full chunks, then a partial one) */
    int next_seq;
    long long size;      /* bytes written so far (flushed or buffered) */
} db_file_writer;

/* Create a blob of "account_id" in state "writing" and a writer for it.
 * On failure nothing is left (the writer needs no free). */
db_status db_file_begin(db_pool *pool, long long account_id, db_file_writer *w);

/* Append "len" bytes (full chunks are stored DB_FILE_PUT_ROWS at a time as
 * they fill, each group in one statement of its own transaction with
 * synchronous_commit off: the commit that marks the blob ready flushes
 * them). DB_ERROR also when the blob was removed meanwhile (abandoned for
 * an hour and swept). */
db_status db_file_write(db_file_writer *w, const void *data, size_t len);

/* Store what is buffered (the last chunks, the last one partial). */
db_status db_file_flush(db_file_writer *w);

/* In the caller's transaction on "c": mark the blob ready with its size
 * (after db_file_flush()); DB_ERROR when it is not this writer's blob in
 * state "writing" or its chunks do not add up to w->size. The caller then
 * records the owner (drive_items.blob_id, exports.blob_id) in the same
 * transaction. */
db_status db_file_ready_tx(db_conn *c, const db_file_writer *w);

/* Free the writer's buffer; with "discard", delete its blob too unless the
 * transaction of db_file_ready_tx() committed (a ready blob is the owner's
 * from then on: only the owner's deletion removes it). Safe to call twice. */
void db_file_writer_end(db_file_writer *w, bool discard);

/* ------------------------------------------------------------- reading */

typedef struct {
    long long account_id;
    long long id;
    long long size;
    int chunk_size;
    int64_t created_us; /* µs since the epoch, for Last-Modified */
} db_file;

/* Ready blob "blob_id" of "account_id" into *out; *found false when there
 * is none (deleted, or still being written). */
db_status db_file_get(db_conn *c, long long account_id, long long blob_id, db_file *out,
                      bool *found);

/* Where db_file_read() sends the bytes: 0 to go on, non-zero to stop (the
 * client went away). Keep it small (it runs on a request's stack). */
typedef int (*db_file_sink)(void *arg, const void *data, size_t len);

/* Bytes "first".."last" (inclusive, within f->size) of blob "f", in pieces
 * of at most one chunk: whole chunks up to 8 a query (at most 8 chunks in
 * memory), a part of one chunk (a range's ends) one a query; each query on
 * a pooled connection taken for it alone (waiting up to DB_WAIT_MS). *stopped (may be
 * NULL) says whether the sink stopped it. DB_ERROR when a chunk is missing
 * (the blob was deleted meanwhile) or shorter than the size says. */
db_status db_file_read(db_pool *pool, const db_file *f, long long first, long long last,
                       db_file_sink sink, void *arg, bool *stopped);

/* Write the whole of blob "f" to file descriptor "fd" (a temporary file to
 * map: HOK files are read by core from memory). */
db_status db_file_to_fd(db_pool *pool, const db_file *f, int fd);

/* ------------------------------------------------- housekeeping (jobs) */

/* Delete blobs left "writing" with no chunk for "grace_s" seconds (by the
 * database's clock) and ready blobs that no drive item, export or app file
 * (072) holds
 * (none should exist: a safety net), at most "limit" a call: *n deleted.
 * Serves every account. */
db_status db_file_sweep(db_conn *c, long long grace_s, int limit, long long *n);

/* ------------------------------------------ moving on-disk files here */

/* One file still on a server's disk (blob_id NULL). */
typedef struct {
    long long account_id;
    long long id;
    long long size;      /* drive: the recorded size; exports: bytes */
    char format[8];      /* exports: csv, hok, hok2 */
} db_file_pending;

/* At most "limit" drive files (or, with "exports", done exports) whose
 * bytes are not in the store yet, with id above "after_id", in id order.
 * Serves every account. *out: caller frees. */
db_status db_file_pending_list(db_conn *c, bool exports, long long after_id, int limit,
                               db_file_pending **out, int *n);

/* In the caller's transaction: give drive item (or export) "id" the ready
 * blob of "w" (db_file_ready_tx() included) if it still has none: *done
 * false when it is gone or already has one (then the caller discards). */
db_status db_file_adopt_tx(db_conn *c, bool exports, long long account_id, long long id,
                           const db_file_writer *w, bool *done);

#endif
