/* The file store seen from the services (svc_files.h). */
#define _DEFAULT_SOURCE /* mkstemp */
#include "svc_files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

/* The pieces a file on disk is read in while it moves into the store. */
#define MOVE_PIECE (256 * 1024)
/* Records looked up per query while moving. */
#define MOVE_BATCH 256

int svc_files_tmp(const char *data_dir)
{
    char path[4200];
    int fd;
    snprintf(path, sizeof path, "%s/tmp", data_dir);
    if (mkdir(path, 0700) != 0 && errno != EEXIST) {
        log_error("files: cannot create %s: %s", path, strerror(errno));
        return -1;
    }
    snprintf(path, sizeof path, "%s/tmp/file-XXXXXX", data_dir);
    if ((fd = mkstemp(path)) < 0) {
        log_error("files: cannot create a temporary file in %s/tmp: %s", data_dir,
                  strerror(errno));
        return -1;
    }
    (void)unlink(path);
    (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
    return fd;
}

svc_status svc_file_map_open(db_pool *pool, const char *data_dir, const db_file *f,
                             svc_file_map *m, svc_error *e)
{
    db_status st;
    m->fd = -1;
    m->data = NULL;
    m->len = 0;
    if ((m->fd = svc_files_tmp(data_dir)) < 0) {
        return svc_fail(e, SVC_DB, NULL, NULL, "the file could not be read");
    }
    if ((st = db_file_to_fd(pool, f, m->fd)) != DB_OK) {
        return svc_fail_db(e, st, NULL);
    }
    m->len = (size_t)f->size;
    if (m->len > 0) {
        void *p = mmap(NULL, m->len, PROT_READ, MAP_PRIVATE, m->fd, 0);
        if (p == MAP_FAILED) {
            log_error("files: cannot map a copy of blob %lld: %s", f->id, strerror(errno));
            m->len = 0;
            return svc_fail(e, SVC_DB, NULL, NULL, "the file could not be read");
        }
        m->data = p;
    }
    return SVC_OK;
}

svc_status svc_file_read(srv *s, const db_file *f, long long first, long long last,
                         db_file_sink sink, void *arg, svc_error *e)
{
    db_status st = db_file_read(s->pool, f, first, last, sink, arg, NULL);
    if (st == DB_OK) {
        return SVC_OK;
    }
    if (st == DB_ERROR) {
        return svc_fail(e, SVC_NOT_FOUND, "not_found", NULL,
                        "the file's content is not available");
    }
    return svc_fail_db(e, st, NULL);
}

void svc_file_map_close(svc_file_map *m)
{
    if (m->data != NULL) {
        munmap((void *)m->data, m->len);
    }
    if (m->fd >= 0) {
        close(m->fd);
    }
    m->data = NULL;
    m->fd = -1;
    m->len = 0;
}

/* ------------------------------------------------------ the move at start */

/* Copy "path" into a new blob of "account_id" and give it to record "id"
 * (a drive item, or an export). 1 moved, 0 not here, -1 failed. */
static int move_one(db_pool *pool, bool exports, long long account_id, long long id,
                    const char *path, long long *bytes)
{
    db_file_writer w;
    unsigned char *buf = NULL;
    db_conn *c = NULL;
    bool done = false;
    int fd, rc = -1;
    db_status st;

    if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
        if (errno == ENOENT) {
            return 0;
        }
        log_warn("files: cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    if ((buf = malloc(MOVE_PIECE)) == NULL || db_file_begin(pool, account_id, &w) != DB_OK) {
        free(buf);
        close(fd);
        return -1;
    }
    for (;;) {
        ssize_t got = read(fd, buf, MOVE_PIECE);
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got < 0) {
            log_warn("files: cannot read %s: %s", path, strerror(errno));
            goto out;
        }
        if (got == 0) {
            break;
        }
        if (db_file_write(&w, buf, (size_t)got) != DB_OK) {
            goto out;
        }
    }
    if (db_file_flush(&w) != DB_OK || db_acquire(pool, DB_WAIT_MS, &c) != DB_OK) {
        goto out;
    }
    if ((st = db_begin(c)) == DB_OK &&
        (st = db_file_adopt_tx(c, exports, account_id, id, &w, &done)) == DB_OK && done) {
        st = db_commit(c);
    }
    db_release(pool, c);
    if (st != DB_OK) {
        goto out;
    }
    if (done) {
        *bytes += w.size;
        rc = 1;
    } else {
        rc = 0; /* gone meanwhile, or moved by another process */
    }
    /* Stored (or no longer wanted): the disk copy goes. */
    if (unlink(path) != 0 && errno != ENOENT) {
        log_warn("files: moved %s into the store but cannot remove it: %s", path,
                 strerror(errno));
    }
out:
    db_file_writer_end(&w, !done);
    free(buf);
    close(fd);
    return rc;
}

static svc_status move_all(db_pool *pool, const char *data_dir, bool exports,
                           svc_files_migrate_stats *stats, svc_error *e)
{
    long long after = 0;
    for (;;) {
        db_file_pending *rows = NULL;
        db_conn *c = NULL;
        int n = 0;
        db_status st = db_acquire(pool, DB_WAIT_MS, &c);
        if (st == DB_OK) {
            st = db_file_pending_list(c, exports, after, MOVE_BATCH, &rows, &n);
            db_release(pool, c);
        }
        if (st != DB_OK) {
            return svc_fail_db(e, st, NULL);
        }
        for (int i = 0; i < n; i++) {
            char path[4200];
            int rc;
            const db_file_pending *f = &rows[i];
            after = f->id;
            if (exports) {
                snprintf(path, sizeof path, "%s/exports/%lld/%lld.%s", data_dir, f->account_id,
                         f->id, strcmp(f->format, "csv") == 0 ? "zip" : f->format);
            } else {
                snprintf(path, sizeof path, "%s/drive/%lld/%lld", data_dir, f->account_id,
                         f->id);
            }
            rc = move_one(pool, exports, f->account_id, f->id, path, &stats->bytes);
            if (rc < 0) {
                free(rows);
                return svc_fail(e, SVC_DB, NULL, NULL,
                                "the file %s could not be moved into the database", path);
            }
            if (rc == 0) {
                stats->missing++;
            } else if (exports) {
                stats->export_files++;
            } else {
                stats->drive_files++;
            }
            if (rc > 0 && (stats->drive_files + stats->export_files) % 1000 == 0) {
                log_info("files: %lld files moved into the database so far",
                         stats->drive_files + stats->export_files);
            }
        }
        free(rows);
        if (n < MOVE_BATCH) {
            return SVC_OK;
        }
    }
}

/* Remove the empty folders the move leaves (DATA/drive/<account>, ...). */
static void remove_empty(const char *data_dir, const char *name)
{
    char dir[4200];
    DIR *d;
    struct dirent *de;
    snprintf(dir, sizeof dir, "%s/%s", data_dir, name);
    if ((d = opendir(dir)) == NULL) {
        return;
    }
    while ((de = readdir(d)) != NULL) {
        char sub[4500];
        if (de->d_name[0] == '.') {
            continue;
        }
        snprintf(sub, sizeof sub, "%s/%s", dir, de->d_name);
        (void)rmdir(sub); /* only when empty */
    }
    closedir(d);
    (void)rmdir(dir);
}

svc_status svc_files_migrate(db_pool *pool, const char *data_dir, svc_files_migrate_stats *stats,
                             svc_error *e)
{
    char dir[4200];
    struct stat sb;
    svc_status rc;
    bool any = false;
    memset(stats, 0, sizeof *stats);
    /* A data folder without these folders never held a file: nothing to
     * look up. */
    snprintf(dir, sizeof dir, "%s/drive", data_dir);
    any |= stat(dir, &sb) == 0;
    snprintf(dir, sizeof dir, "%s/exports", data_dir);
    any |= stat(dir, &sb) == 0;
    if (!any) {
        return SVC_OK;
    }
    if ((rc = move_all(pool, data_dir, false, stats, e)) != SVC_OK ||
        (rc = move_all(pool, data_dir, true, stats, e)) != SVC_OK) {
        return rc;
    }
    remove_empty(data_dir, "drive");
    remove_empty(data_dir, "exports");
    if (stats->drive_files + stats->export_files > 0) {
        log_info("files: moved %lld drive files and %lld export files (%lld bytes) from %s into "
                 "the database",
                 stats->drive_files, stats->export_files, stats->bytes, data_dir);
    }
    snprintf(dir, sizeof dir, "%s/drive", data_dir);
    if (stat(dir, &sb) == 0) {
        log_warn("files: %s still holds files no record names (left in place)", dir);
    }
    return SVC_OK;
}
