/* Exports: the periodic clean-up (svc_export_cleanup()): exports of a
 * server that stopped marked failed, exports that ended more than
 * EXPORT_KEEP_S ago removed, files in DATA/exports without a record
 * (svc_export_internal.h). */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmp.h"
#include "db_export.h"
#include "log.h"
#include "svc_export_internal.h"

/* Finished exports removed per clean-up round. */
#define CLEANUP_LIMIT 1000

static bool parse_ll(const char *s, long long *out)
{
    char *end = NULL;
    long long v;
    if (*s < '0' || *s > '9') {
        return false;
    }
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || v <= 0) {
        return false;
    }
    *out = v;
    return *end == '\0';
}

/* Remove the files of DATA/exports/<account_id> that no export owns:
 * "<id>.<ext>" without a running or done row, and temporary files
 * ("<id>.<ext>.part...") of exports not running here (the data folder
 * belongs to this process alone). */
static int sweep_account(srv *s, long long account_id, long long *removed)
{
    char dir[4200], path[4200 + 300];
    long long *ids = NULL;
    size_t n = 0;
    bool exists = false;
    db_conn *c = NULL;
    DIR *d;
    struct dirent *de;
    db_status st = db_acquire(s->pool, EXPORT_DB_WAIT_MS, &c);
    if (st != DB_OK) {
        return -1;
    }
    st = db_export_file_ids(c, account_id, &ids, &n, &exists);
    db_release(s->pool, c);
    if (st != DB_OK) {
        return -1;
    }
    export_dir(s, account_id, dir, sizeof dir);
    if ((d = opendir(dir)) == NULL) {
        free(ids);
        return 0;
    }
    while ((de = readdir(d)) != NULL) {
        char head[32];
        const char *dot = strchr(de->d_name, '.');
        size_t head_len = dot != NULL ? (size_t)(dot - de->d_name) : 0;
        long long id;
        bool orphan;
        if (dot == NULL || head_len == 0 || head_len >= sizeof head) {
            continue; /* not ours */
        }
        memcpy(head, de->d_name, head_len);
        head[head_len] = '\0';
        if (!parse_ll(head, &id)) {
            continue;
        }
        if (strstr(dot, ".part") != NULL) {
            orphan = !export_job_live(account_id, id);
        } else {
            orphan = !export_job_live(account_id, id) &&
                     (n == 0 || bsearch(&id, ids, n, sizeof *ids, cmp_ll) == NULL);
        }
        if (!orphan) {
            continue;
        }
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if (unlink(path) == 0) {
            (*removed)++;
        } else if (errno != ENOENT) {
            log_warn("export: cannot remove %s: %s", path, strerror(errno));
        }
    }
    closedir(d);
    if (!exists) {
        (void)rmdir(dir);
    }
    free(ids);
    return 0;
}

int svc_export_cleanup(srv *s, int64_t now, long long *done)
{
    db_conn *c = NULL;
    long long failed = 0, removed = 0, *accs = NULL, *ids = NULL;
    long long live_acc[EXPORT_MAX_PENDING + EXPORT_WORKERS], live_id[EXPORT_MAX_PENDING +
                                                                      EXPORT_WORKERS];
    char(*fmts)[8] = NULL;
    char exports_dir[4200];
    size_t n = 0, n_live = 0;
    db_status st;
    DIR *d;
    struct dirent *de;
    int rc = 0;

    *done = 0;
    /* 1. Refresh this process's own exports, then fail those of servers
     *    that stopped. */
    n_live = export_live_jobs(live_acc, live_id);
    if ((st = db_acquire(s->pool, EXPORT_DB_WAIT_MS, &c)) != DB_OK) {
        log_error("export clean-up: %s", db_strerror(st));
        return -1;
    }
    if ((st = db_export_touch(c, live_acc, live_id, n_live, now)) != DB_OK ||
        (st = db_export_fail_stale(c, now - EXPORT_STALE_S, now, &failed)) != DB_OK ||
        (st = db_export_finished_before(c, now - EXPORT_KEEP_S, CLEANUP_LIMIT, &accs, &ids,
                                        &fmts, &n)) != DB_OK) {
        db_release(s->pool, c);
        log_error("export clean-up: %s", db_strerror(st));
        return -1;
    }
    /* 2. Exports that ended more than EXPORT_KEEP_S ago: the row, and its
     *    file with it (a trigger deletes the blob). */
    for (size_t i = 0; i < n; i++) {
        bool deleted = false;
        if ((st = db_export_remove(c, accs[i], ids[i], &deleted)) != DB_OK) {
            rc = -1;
            break;
        }
        removed += deleted ? 1 : 0;
    }
    db_release(s->pool, c);
    free(accs);
    free(ids);
    free(fmts);
    /* 3. Files without a record. */
    snprintf(exports_dir, sizeof exports_dir, "%s/exports", s->cfg.data_dir);
    if ((d = opendir(exports_dir)) != NULL) {
        while ((de = readdir(d)) != NULL && rc == 0) {
            long long account_id;
            if (parse_ll(de->d_name, &account_id)) {
                rc = sweep_account(s, account_id, &removed);
            }
        }
        closedir(d);
    }
    if (failed > 0) {
        log_info("export: %lld exports of a stopped server marked failed", failed);
    }
    *done = failed + removed;
    if (rc != 0) {
        log_error("export clean-up: the database is unavailable");
    }
    return rc;
}
