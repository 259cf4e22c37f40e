/* The drive (D1, D4-D6, P2, P24, L5): folders, files streamed to disk,
 * downloads, the channels of HOK/HOK2/HIOKI CSV files, the acquired-data
 * sets listed beside them; docs/drive.md and docs/api/openapi.yaml.
 *
 * Rights: administrators and members with file access "edit" may change
 * the drive; members with "view" may list, read and download; members with
 * "none" get 403 on every drive route. Every id belongs to the signed-in
 * account: another account's ids answer 404.
 *
 * Uploads (POST /api/v1/drive/files?name=...&folder_id=...) are BODY_STREAM
 * routes: the body goes to a temporary file in chunks, never whole into
 * memory, and is refused with 413 plan_limit (P2) as soon as it is larger
 * than the room left in the storage quota (at once when Content-Length says
 * so). Downloads are written here with mg_write() (http.c's replies are
 * JSON only): the headers, then the file in chunks. */
#define _POSIX_C_SOURCE 200809L
#include <civetweb.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/time.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit.h"
#include "http_audit.h"
#include "auth.h"
#include "http_admin_rows.h"
#include "http_svc.h"
#include "log.h"
#include "svc_drive.h"

#define CHUNK (64 * 1024)

/* ----------------------------------------------------------------- helpers */

static bool can_view(const http_req *req)
{
    return req->role == ROLE_ADMIN || req->file_access >= FILE_ACCESS_VIEW;
}

static bool can_edit(const http_req *req)
{
    return req->role == ROLE_ADMIN || req->file_access >= FILE_ACCESS_EDIT;
}

/* 403 unless the user may see (edit == false) or change the drive. */
static int need_access(http_req *req, bool edit)
{
    if (!can_view(req)) {
        http_refuse_unread(req, 403, "forbidden", "your user has no access to the drive", NULL);
        return -1;
    }
    if (edit && !can_edit(req)) {
        http_refuse_unread(req, 403, "forbidden", "your user may only view the drive", NULL);
        return -1;
    }
    return 0;
}

/* Reply to a failed svc call: a refusal of the storage quota is 413 (the
 * status that names an over-large request), the rest as admb_reply_err(). */
static int reply_err(http_req *req, const svc_error *e)
{
    if (http_body_pending(req)) {
        req->must_close = true;
    }
    if (e->status == SVC_PLAN_LIMIT && e->quota == MT_Q_STORAGE) {
        return http_reply_storage_limit(req, (mt_plan)req->plan, -1, e->message);
    }
    return admb_reply_err(req, e);
}

/* Query variable "name" as a folder id: absent, "" or "0" = the root. */
static int query_folder(http_req *req, const char *name, long long *out)
{
    char val[32], *end, msg[96];
    int n = http_query(req, name, val, sizeof val);
    long long v;
    *out = 0;
    if (n == -1 || n == 0) {
        return 0;
    }
    errno = 0;
    v = n > 0 ? strtoll(val, &end, 10) : -1;
    if (n < 0 || errno != 0 || *end != '\0' || v < 0 || val[0] == '-' || val[0] == '+') {
        snprintf(msg, sizeof msg, "'%s' must be a folder id", name);
        http_refuse_unread(req, 400, "invalid_value", msg, name);
        return -1;
    }
    *out = v;
    return 0;
}

/* ?name=1|true|0|false (absent = "def"). */
static int query_flag(http_req *req, const char *name, bool def, bool *out)
{
    char val[8];
    int n = http_query(req, name, val, sizeof val);
    *out = def;
    if (n == -1) {
        return 0;
    }
    if (n > 0 && (strcmp(val, "1") == 0 || strcmp(val, "true") == 0)) {
        *out = true;
        return 0;
    }
    if (n > 0 && (strcmp(val, "0") == 0 || strcmp(val, "false") == 0)) {
        *out = false;
        return 0;
    }
    http_reply_error(req, 400, "invalid_value", "use 1 or 0", name);
    return -1;
}

static int reply_item(http_req *req, int status, long long id, bool folder)
{
    svc_actor a = admb_actor(req);
    svc_error e = {0};
    cJSON *o = NULL;
    if (svc_drive_item(req->srv->pool, &a, id, folder, &o, &e) != SVC_OK) {
        return reply_err(req, &e);
    }
    return http_reply_json(req, status, o);
}

static void audit_delete(http_req *req, const char *action, const char *kind, long long id,
                         long long files, long long bytes)
{
    cJSON *d = cJSON_CreateObject();
    if (d != NULL) {
        cJSON_AddNumberToObject(d, "files", (double)files);
        cJSON_AddNumberToObject(d, "bytes", (double)bytes);
    }
    (void)http_audit(req, action, kind, id, d);
    cJSON_Delete(d);
}

/* ----------------------------------------------------------------- listing */

/* GET /api/v1/drive[?sort=name|date|size|kind&order=asc|desc] and
 * GET /api/v1/drive/folders/{id}[?sort&order] */
static int list(http_req *req, long long folder_id)
{
    char sort_s[16], order_s[8];
    int sort, n_sort = http_query(req, "sort", sort_s, sizeof sort_s);
    int n_order = http_query(req, "order", order_s, sizeof order_s);
    bool desc = false;
    svc_actor a = admb_actor(req);
    svc_error e = {0};
    cJSON *o = NULL;
    if (need_access(req, false) != 0) {
        return req->status;
    }
    sort = svc_drive_sort_from_name(n_sort >= 0 ? sort_s : NULL);
    if (n_sort == -2 || sort < 0) {
        return http_reply_error(req, 400, "invalid_value", "sort must be name, date, size or kind",
                                "sort");
    }
    if (n_order == -2 || (n_order >= 0 && strcmp(order_s, "asc") != 0 &&
                          strcmp(order_s, "desc") != 0 && order_s[0] != '\0')) {
        return http_reply_error(req, 400, "invalid_value", "order must be asc or desc", "order");
    }
    desc = n_order > 0 && strcmp(order_s, "desc") == 0;
    if (svc_drive_list(req->srv->pool, &a, folder_id, (drive_sort)sort, desc, &o, &e) != SVC_OK) {
        return reply_err(req, &e);
    }
    return http_reply_json(req, 200, o);
}

static int h_list_root(http_req *req)
{
    return list(req, 0);
}

static int h_list_folder(http_req *req)
{
    long long id;
    if (admb_path_id(req, 0, &id) != 0) {
        return req->status;
    }
    return list(req, id);
}

/* ----------------------------------------------------------------- folders */

/* POST /api/v1/drive/folders {name, parent_id?} */
static int h_folder_create(http_req *req)
{
    static const char *const allowed[] = {"name", "parent_id", NULL};
    const char *name = NULL;
    long long parent = 0, id = 0;
    bool present = false;
    svc_actor a = admb_actor(req);
    svc_error e = {0};
    if (need_access(req, true) != 0 || http_json_fields(req, req->body, allowed, NULL) != 0 ||
        http_json_string(req, req->body, "name", 1000, true, &name) != 0 ||
        admb_json_id(req, req->body, "parent_id", true, &parent, &present) != 0) {
        return req->status;
    }
    if (svc_drive_folder_create(req->srv->pool, &a, parent, name, &id, &e) != SVC_OK) {
        return reply_err(req, &e);
    }
    return reply_item(req, 201, id, true);
}

/* PATCH /api/v1/drive/folders/{id} {name?, parent_id?} and
 * PATCH /api/v1/drive/files/{id} {name?, folder_id?} (null = the root) */
static int update(http_req *req, bool folder)
{
    static const char *const folder_fields[] = {"name", "parent_id", NULL};
    static const char *const file_fields[] = {"name", "folder_id", NULL};
    const char *name = NULL, *field = folder ? "parent_id" : "folder_id";
    long long id, parent = 0;
    bool present = false;
    svc_actor a = admb_actor(req);
    svc_error e = {0};
    if (need_access(req, true) != 0 || admb_path_id(req, 0, &id) != 0 ||
        http_json_fields(req, req->body, folder ? folder_fields : file_fields, NULL) != 0 ||
        http_json_string(req, req->body, "name", 1000, false, &name) != 0 ||
        admb_json_id(req, req->body, field, true, &parent, &present) != 0) {
        return req->status;
    }
    if (svc_drive_item_update(req->srv->pool, &a, id, folder, name, present, parent, &e) !=
        SVC_OK) {
        return reply_err(req, &e);
    }
    return reply_item(req, 200, id, folder);
}

static int h_folder_update(http_req *req)
{
    return update(req, true);
}

/* DELETE /api/v1/drive/folders/{id}[?recursive=1] */
static int h_folder_delete(http_req *req)
{
    long long id, files = 0, bytes = 0;
    bool recursive = false;
    svc_actor a = admb_actor(req);
    svc_error e = {0};
    cJSON *o;
    if (need_access(req, true) != 0 || admb_path_id(req, 0, &id) != 0 ||
        query_flag(req, "recursive", false, &recursive) != 0) {
        return req->status;
    }
    if (svc_drive_folder_delete(req->srv->pool, &a, id, recursive,
                                &files, &bytes, &e) != SVC_OK) {
        return reply_err(req, &e);
    }
    audit_delete(req, "drive.folder.delete", "drive_folder", id, files, bytes);
    o = cJSON_CreateObject();
    if (o != NULL) {
        cJSON_AddNumberToObject(o, "id", (double)id);
        cJSON_AddBoolToObject(o, "deleted", true);
        cJSON_AddNumberToObject(o, "files_deleted", (double)files);
        cJSON_AddNumberToObject(o, "bytes_freed", (double)bytes);
    }
    return http_reply_json(req, 200, o);
}

/* ------------------------------------------------------------------- files */

/* The media type to record: the request's Content-Type when it is a plain
 * "type/subtype" (parameters dropped, lower case), else
 * application/octet-stream. Never used to serve the file. */
static void content_type_of(const http_req *req, char *out, size_t cap)
{
    const char *ct = http_header(req, "Content-Type");
    size_t n = 0, slashes = 0;
    snprintf(out, cap, "application/octet-stream");
    if (ct == NULL) {
        return;
    }
    for (const char *p = ct; *p != '\0' && *p != ';' && *p != ' '; p++, n++) {
        char ch = *p;
        if (n + 1 >= cap || n >= 100) {
            return;
        }
        if (ch == '/') {
            slashes++;
        } else if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                     (ch >= '0' && ch <= '9') || strchr("!#$&-^_.+", ch) != NULL)) {
            return;
        }
    }
    if (slashes != 1 || n < 3 || ct[0] == '/' || ct[n - 1] == '/') {
        return;
    }
    for (size_t i = 0; i < n; i++) {
        char ch = ct[i];
        out[i] = (ch >= 'A' && ch <= 'Z') ? (char)(ch + 32) : ch;
    }
    out[n] = '\0';
}

/* POST /api/v1/drive/files?name=...&folder_id=... with the file as body. */
static int h_file_upload(http_req *req)
{
    char name[DRIVE_NAME_MAX + 2], ctype[104], msg[200];
    const char *why = NULL;
    long long folder = 0, room = 0, declared, id = 0;
    int name_len;
    svc_actor a = admb_actor(req);
    svc_error e = {0};
    svc_drive_upload up;
    unsigned char *buf = NULL;
    int status;

    memset(&up, 0, sizeof up);
    up.spool_fd = -1;
    if (need_access(req, true) != 0 || query_folder(req, "folder_id", &folder) != 0) {
        return req->status;
    }
    name_len = http_query(req, "name", name, sizeof name);
    if (name_len == -1) {
        return http_refuse_unread(req, 400, "missing", "'name' is required (in the query string)",
                                  "name");
    }
    if (name_len < 0) {
        return http_refuse_unread(req, 400, "invalid_name", "the name is longer than 255 bytes",
                                  "name");
    }
    if (!svc_drive_name_valid(name, (size_t)name_len, &why)) {
        return http_refuse_unread(req, 400, "invalid_name", why, "name");
    }
    content_type_of(req, ctype, sizeof ctype);
    if (svc_drive_upload_check(req->srv->pool, &a, folder, name, &room, &e) != SVC_OK) {
        return reply_err(req, &e);
    }
    declared = http_content_length(req);
    if (declared > room) {
        snprintf(msg, sizeof msg,
                 "P2 cloud storage: the file (%lld bytes) is larger than the %lld bytes left",
                 declared, room);
        return http_reply_storage_limit(req, (mt_plan)req->plan, -1, msg);
    }
    if ((buf = malloc(CHUNK)) == NULL) {
        return http_refuse_unread(req, 500, "internal_error", "internal error", NULL);
    }
    if (svc_drive_upload_begin(req->srv->pool, req->srv->cfg.data_dir, req->account_id, &up,
                               &e) != SVC_OK) {
        free(buf);
        return reply_err(req, &e);
    }
    /* Every failure below removes the temporary file before it replies: a
     * client that sees the refusal finds nothing left behind. */
    for (;;) {
        long got = http_body_read(req, buf, CHUNK);
        if (got < 0) { /* cut short, too slow, or unreadable: nothing is kept */
            svc_drive_upload_abort(&up);
            status = http_reply_body_failed(req);
            goto fail;
        }
        if (got == 0) {
            break;
        }
        if (up.size + got > room) {
            /* Counted while streaming (chunked bodies have no length). */
            snprintf(msg, sizeof msg,
                     "P2 cloud storage: the file is larger than the %lld bytes left", room);
            svc_drive_upload_abort(&up);
            req->must_close = true;
            status = http_reply_storage_limit(req, (mt_plan)req->plan, -1, msg);
            goto fail;
        }
        if (svc_drive_upload_write(&up, buf, (size_t)got, &e) != SVC_OK) {
            svc_drive_upload_abort(&up);
            req->must_close = true;
            status = reply_err(req, &e);
            goto fail;
        }
    }
    if (svc_drive_upload_finish(&up, name, &e) != SVC_OK ||
        svc_drive_upload_commit(req->srv->pool, &a, folder, name, ctype, &up, &id, &e) !=
            SVC_OK) {
        svc_drive_upload_abort(&up);
        status = reply_err(req, &e);
        goto fail;
    }
    svc_drive_upload_abort(&up); /* frees the buffers; the blob is the file's */
    free(buf);
    return reply_item(req, 201, id, false);
fail:
    svc_drive_upload_abort(&up);
    free(buf);
    return status;
}

static int h_file_get(http_req *req)
{
    long long id;
    if (need_access(req, false) != 0 || admb_path_id(req, 0, &id) != 0) {
        return req->status;
    }
    return reply_item(req, 200, id, false);
}

static int h_file_update(http_req *req)
{
    return update(req, false);
}

/* DELETE /api/v1/drive/files/{id} */
static int h_file_delete(http_req *req)
{
    long long id, bytes = 0;
    svc_actor a = admb_actor(req);
    svc_error e = {0};
    cJSON *o;
    if (need_access(req, true) != 0 || admb_path_id(req, 0, &id) != 0) {
        return req->status;
    }
    if (svc_drive_file_delete(req->srv->pool, &a, id, &bytes, &e) != SVC_OK) {
        return reply_err(req, &e);
    }
    audit_delete(req, "drive.file.delete", "drive_file", id, 1, bytes);
    o = cJSON_CreateObject();
    if (o != NULL) {
        cJSON_AddNumberToObject(o, "id", (double)id);
        cJSON_AddBoolToObject(o, "deleted", true);
        cJSON_AddNumberToObject(o, "bytes_freed", (double)bytes);
    }
    return http_reply_json(req, 200, o);
}

/* GET /api/v1/drive/files/{id}/content: the bytes, as an attachment. */
static int h_file_content(http_req *req)
{
    long long id;
    svc_actor a = admb_actor(req);
    svc_error e = {0};
    svc_drive_content *f;
    int rc;

    if (need_access(req, false) != 0 || admb_path_id(req, 0, &id) != 0) {
        return req->status;
    }
    /* 300 bytes of name: on the heap, not on a worker's stack. */
    if ((f = malloc(sizeof *f)) == NULL) {
        return http_reply_error(req, 503, "out_of_memory", "the server is out of memory: retry",
                                NULL);
    }
    if (svc_drive_content_get(req->srv->pool, &a, id, f, &e) != SVC_OK) {
        free(f);
        return reply_err(req, &e);
    }
    rc = http_reply_blob(req, &f->blob,
                         strcmp(f->kind, "hioki_csv") == 0 ? "text/csv" : "application/octet-stream",
                         f->name);
    free(f);
    return rc;
}

/* GET /api/v1/drive/files/{id}/channels[?utc_offset_minutes=N] */
static int h_file_channels(http_req *req)
{
    long long id, offset;
    svc_actor a = admb_actor(req);
    svc_error e = {0};
    cJSON *o = NULL;
    if (need_access(req, false) != 0 || admb_path_id(req, 0, &id) != 0 ||
        admb_query_int(req, "utc_offset_minutes", -1080, 1080, 0, &offset) != 0) {
        return req->status;
    }
    if (svc_drive_channels(req->srv->pool, &a, req->srv->cfg.data_dir, id, (int)offset, &o,
                           &e) != SVC_OK) {
        return reply_err(req, &e);
    }
    return http_reply_json(req, 200, o);
}

/* POST /api/v1/drive/files/{id}/import (P24, Pro): {channels: [{index,
 * channel_id}], utc_offset_minutes?} */
static int h_file_import(http_req *req)
{
    static const char *const allowed[] = {"channels", "utc_offset_minutes", NULL};
    static const char *const mapping[] = {"index", "channel_id", NULL};
    const cJSON *chs, *item;
    long long id;
    svc_actor a = admb_actor(req);
    svc_error e = {0};
    cJSON *o = NULL;
    struct timeval tv;
    if (need_access(req, true) != 0 || admb_path_id(req, 0, &id) != 0 ||
        http_json_fields(req, req->body, allowed, NULL) != 0) {
        return req->status;
    }
    /* The mappings are closed too; the rest of their shape is checked by
     * svc_drive_import(). */
    chs = cJSON_GetObjectItemCaseSensitive(req->body, "channels");
    if (!cJSON_IsArray(chs)) {
        chs = NULL;
    }
    cJSON_ArrayForEach(item, chs)
    {
        if (cJSON_IsObject(item) && http_json_fields(req, item, mapping, "channels") != 0) {
            return req->status;
        }
    }
    gettimeofday(&tv, NULL);
    if (svc_drive_import(req->srv->pool, &a, req->srv->cfg.data_dir, id, req->body,
                         auth_now() * 1000000LL + tv.tv_usec, &o, &e) != SVC_OK) {
        return reply_err(req, &e);
    }
    return http_reply_json(req, 201, o);
}

const http_route http_routes_drive[] = {
    {"GET", "/api/v1/drive", h_list_root, AUTH_USER, BODY_NONE, false},
    {"POST", "/api/v1/drive/folders", h_folder_create, AUTH_USER, BODY_JSON, false},
    {"GET", "/api/v1/drive/folders/*", h_list_folder, AUTH_USER, BODY_NONE, false},
    {"PATCH", "/api/v1/drive/folders/*", h_folder_update, AUTH_USER, BODY_JSON, false},
    {"DELETE", "/api/v1/drive/folders/*", h_folder_delete, AUTH_USER, BODY_NONE, false},
    {"POST", "/api/v1/drive/files", h_file_upload, AUTH_USER, BODY_STREAM, false},
    {"GET", "/api/v1/drive/files/*", h_file_get, AUTH_USER, BODY_NONE, false},
    {"PATCH", "/api/v1/drive/files/*", h_file_update, AUTH_USER, BODY_JSON, false},
    {"DELETE", "/api/v1/drive/files/*", h_file_delete, AUTH_USER, BODY_NONE, false},
    {"GET", "/api/v1/drive/files/*/content", h_file_content, AUTH_USER, BODY_NONE, false},
    {"GET", "/api/v1/drive/files/*/channels", h_file_channels, AUTH_USER, BODY_NONE, false},
    {"POST", "/api/v1/drive/files/*/import", h_file_import, AUTH_USER, BODY_JSON, false},
    {NULL, NULL, NULL, AUTH_PUBLIC, BODY_NONE, false}};
