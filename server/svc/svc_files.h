/* The file store seen from the services (docs/storage.md "Files"): a local,
 * unlinked copy of a blob for code that reads a whole file from memory
 * (core's HOK and CSV readers), and the move of files that older versions
 * kept on the server's disk (DATA/drive, DATA/exports) into the store. */
#ifndef MTS_SVC_FILES_H
#define MTS_SVC_FILES_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "db_files.h"
#include "srv.h"
#include "svc.h"

/* An unlinked temporary file in DATA/tmp (mode 0600; the folder is made
 * 0700 when missing): the name is gone at once, so nothing is left behind
 * whatever happens to the process. Returns the descriptor, or -1 (logged). */
int svc_files_tmp(const char *data_dir);

/* A read-only map of a whole blob, copied into an unlinked temporary file:
 * the bytes are in the page cache, not on the heap. */
typedef struct {
    int fd;
    const uint8_t *data;
    size_t len;
} svc_file_map;

/* Copy blob "f" into a temporary file of "data_dir" and map it into *m.
 * SVC_DB when the store or the disk failed (logged). Close with
 * svc_file_map_close() in any case. */
MT_MUSTCHECK
svc_status svc_file_map_open(db_pool *pool, const char *data_dir, const db_file *f,
                             svc_file_map *m, svc_error *e);
void svc_file_map_close(svc_file_map *m);

/* Bytes "first".."last" (inclusive, within f->size) of blob "f" to
 * "sink" (db_file_sink: 0 to go on, non-zero to stop), one chunk at a
 * time, each read on a pooled connection taken for that read alone
 * (db_file_read()). SVC_OK (also when the sink stopped it), or the store's
 * failure in "e": SVC_NOT_FOUND when a chunk is missing (the blob was
 * deleted meanwhile), else SVC_DB. For the download routes: they send the
 * headers with the first piece, so a failure before it still gets a
 * proper reply. */
MT_MUSTCHECK
svc_status svc_file_read(srv *s, const db_file *f, long long first, long long last,
                         db_file_sink sink, void *arg, svc_error *e);

/* What svc_files_migrate() did. */
typedef struct {
    long long drive_files;  /* drive files moved into the store */
    long long export_files; /* export files moved */
    long long bytes;
    long long missing;      /* records whose bytes are not in this data folder */
} svc_files_migrate_stats;

/* Move the bytes of drive files and done exports that are still on this
 * server's disk ("data_dir"/drive/<account>/<id>,
 * "data_dir"/exports/<account>/<id>.<ext>) into the store, one file per
 * transaction: its blob is written, then the record takes it (only if it
 * has none yet), then the file on disk is removed. Idempotent and
 * resumable: a file interrupted half-way is done again at the next start
 * (the half-written blob is swept). Files of records this folder does not
 * hold are counted as missing and left to the server that has them. Runs
 * at start, before the server answers. */
MT_MUSTCHECK
svc_status svc_files_migrate(db_pool *pool, const char *data_dir, svc_files_migrate_stats *st,
                             svc_error *e);

#endif
