/* Exports of acquired data (M5, D3, V3; docs/export.md): ZIP(CSV), HOK and
 * HOK2 files of up to 32 channels over any range, written by background
 * worker threads, with progress, and downloaded through signed URLs that
 * expire.
 *
 *   svc_export_create()   checks the request (channels visible to the
 *                         user, time zone, limits), records a running
 *                         export and queues it
 *   worker threads        read the range one UTC day at a time (bounded
 *                         memory), write DATA/exports/<account>/<id>.<ext>
 *                         under a temporary name, rename it when complete,
 *                         and record progress a few times a second
 *   svc_export_download() checks a signed URL (HMAC-SHA256 with a server
 *                         secret kept in server_secrets) and finds the file
 *   svc_export_cleanup()  the periodic clean-up: files 24 hours after the
 *                         export ended, exports of a server that stopped,
 *                         files without a record
 *
 * Export files are temporary and do not count against the storage quota
 * (P2). Thread safety: every function may be called from any thread. */
#ifndef MTS_SVC_EXPORT_H
#define MTS_SVC_EXPORT_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db_files.h"
#include "srv.h"
#include "svc.h"

#define EXPORT_MAX_CHANNELS 32           /* V2 */
#define EXPORT_URL_TTL_S 3600            /* a download URL works for an hour */
#define EXPORT_KEEP_S (24 * 3600)        /* files are removed 24 h after the end */
#define EXPORT_MAX_RUNNING_PER_ACCOUNT 2 /* running (or queued) exports per account */
#define EXPORT_MAX_PENDING 8             /* queued + running exports per server */
#define EXPORT_WORKERS 2                 /* worker threads */
#define EXPORT_LIST_LIMIT 50             /* GET /exports: the most recent */
#define EXPORT_STALE_S 900               /* a running export without a heartbeat this long failed */



/* What to export. "format" is "csv" (a ZIP of CSV files), "hok" or
 * "hok2"; "ch" has 1..32 distinct ids; [t0, t1) in µs UTC; "time_zone"
 * (may be NULL = the account's) an IANA name known to PostgreSQL or a fixed
 * offset "+09:00" / "-05:30" (at most ±14:00), for the CSV times and the
 * HOK metadata. */
typedef struct {
    const char *format;
    const int64_t *ch;
    size_t n_ch;
    int64_t t0, t1;
    const char *time_zone;
} export_request;

/* Start an export: SVC_INVALID (format, time_zone), SVC_NOT_FOUND (a
 * channel the actor may not see), SVC_THROTTLED too_many_exports
 * (EXPORT_MAX_RUNNING_PER_ACCOUNT running in the account, or
 * EXPORT_MAX_PENDING in the server; retry_after set), SVC_UNAVAILABLE. On success *out
 * (caller frees) is the export's status object. Returns SVC_OK or the
 * failure in "e". */
MT_MUSTCHECK
svc_status svc_export_create(srv *s, const svc_actor *a, const export_request *rq, cJSON **out,
                             svc_error *e);

/* The status of the actor's export "id" (SVC_NOT_FOUND for another user's or
 * account's), with a fresh download URL when it is done. */
MT_MUSTCHECK
svc_status svc_export_get(srv *s, const svc_actor *a, long long id, cJSON **out, svc_error *e);

/* The actor's EXPORT_LIST_LIMIT most recent exports: {"exports": [...]}. */
MT_MUSTCHECK
svc_status svc_export_list(srv *s, const svc_actor *a, cJSON **out, svc_error *e);

/* Cancel (when running) and delete the actor's export "id" and its file. */
MT_MUSTCHECK
svc_status svc_export_delete(srv *s, const svc_actor *a, long long id, svc_error *e);

/* A file ready to download. */
typedef struct {
    db_file blob;             /* the bytes, in the store (db_files.h) */
    char filename[64];        /* metron-export-<id>.<zip|hok|hok2> */
    const char *content_type; /* static */
} export_file;

/* Check the signed download URL of export "id" of account "account_id"
 * ("expires" Unix seconds, "sig" hex HMAC) and find its file: SVC_FORBIDDEN
 * invalid_signature / link_expired, SVC_NOT_FOUND when the export is gone or not
 * done. */
MT_MUSTCHECK
svc_status svc_export_download(srv *s, long long id, long long account_id, long long expires,
                               const char *sig, export_file *out, svc_error *e);

/* The periodic clean-up at "now" (Unix s; jobs.h's job_fn): removes files
 * and rows of exports that ended more than EXPORT_KEEP_S ago, fails running
 * exports without a heartbeat for EXPORT_STALE_S (after refreshing this
 * process's own), and removes files in DATA/exports without a record.
 * *done = files and rows removed plus exports failed. Returns 0 or -1. */
int svc_export_cleanup(srv *s, int64_t now, long long *done);

/* Start the worker threads (once the pool is up). Returns 0 or -1. */
int svc_export_workers_start(srv *s);

/* Stop the workers: running exports stop at their next step and are
 * marked failed, queued ones too. Joins the threads. Call before the pool
 * is freed; safe when nothing was started. */
void svc_export_workers_stop(void);

#endif
