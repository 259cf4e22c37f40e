/* The drive: files. Deleting one, its content for a download, and uploads:
 * the checks before, the bytes streamed into the store with their SHA-256,
 * the kind (HOK checked whole by core from a local copy, HIOKI CSV from its
 * start) and the record under the account lock and the storage quota
 * (svc_drive_internal.h). */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "db_drive.h"
#include "db_storage.h"
#include "log.h"
#include "mt/csv.h"
#include "mt/hok.h"
#include "svc_drive_internal.h"

svc_status svc_drive_file_delete(db_pool *pool, const svc_actor *a, long long id,
                                 long long *bytes, svc_error *e)
{
    db_conn *c = NULL;
    db_drive_item it;
    bool found = false;
    svc_status rc;

    memset(&it, 0, sizeof it);
    if ((rc = drive_tx_lock(pool, a->account_id, &c, e)) != SVC_OK) {
        goto out;
    }
    TRY_DB(db_drive_item_get(c, a->account_id, id, false, &it, &found));
    if (!found) {
        rc = svc_fail(e, SVC_NOT_FOUND, "not_found", NULL, "no such file");
        goto out;
    }
    TRY_DB(db_drive_item_delete(c, a->account_id, id, &found));
    if (it.size > 0) {
        TRY_DB(db_storage_add_drive(c, a->account_id, -it.size));
    }
out:
    rc = drive_tx_end(pool, c, rc, e);
    if (bytes != NULL) {
        *bytes = rc == SVC_OK ? it.size : 0;
    }
    db_drive_item_clear(&it);
    return rc;
}

/* Folder "folder_id" exists, has room for one more entry and holds no
 * entry "name" yet. */
static svc_status check_room(db_conn *c, const svc_actor *a, long long folder_id,
                             const char *name, svc_error *e)
{
    bool taken = false;
    svc_status rc;
    db_status st;
    if ((rc = drive_check_parent(c, a, folder_id, "folder_id", e)) != SVC_OK) {
        return rc;
    }
    if ((st = db_drive_name_taken(c, a->account_id, folder_id, name, 0, &taken)) != DB_OK) {
        return st == DB_CONFLICT ? name_taken(e) : fail_db(e, st);
    }
    return taken ? name_taken(e) : SVC_OK;
}

svc_status svc_drive_upload_check(db_pool *pool, const svc_actor *a, long long folder_id,
                               const char *name, long long *room, svc_error *e)
{
    db_conn *c = NULL;
    long long used = 0, limit = drive_storage_limit(a->plan);
    svc_status rc;
    db_status st;

    *room = 0;
    if ((rc = drive_check_name(name, e)) != SVC_OK) {
        return rc;
    }
    if ((st = db_acquire(pool, DB_WAIT_MS, &c)) != DB_OK) {
        return fail_db(e, st);
    }
    if ((rc = check_room(c, a, folder_id, name, e)) != SVC_OK) {
        goto out;
    }
    TRY_DB(db_storage_used(c, a->account_id, &used));
    *room = used < limit ? limit - used : 0;
out:
    db_release(pool, c);
    return rc;
}

svc_status svc_drive_content_get(db_pool *pool, const svc_actor *a, long long id,
                                 svc_drive_content *out, svc_error *e)
{
    db_drive_item it;
    svc_status rc;
    memset(out, 0, sizeof *out);
    if ((rc = drive_file_record(pool, a, id, &it, e)) != SVC_OK) {
        return rc;
    }
    snprintf(out->name, sizeof out->name, "%s", it.name ? it.name : "");
    snprintf(out->kind, sizeof out->kind, "%s", it.kind ? it.kind : "other");
    snprintf(out->sha256, sizeof out->sha256, "%s", it.sha256 ? it.sha256 : "");
    rc = drive_item_blob(pool, a->account_id, &it, &out->blob, e);
    db_drive_item_clear(&it);
    return rc;
}

svc_status svc_drive_upload_begin(db_pool *pool, const char *data_dir, long long account_id,
                                  svc_drive_upload *u, svc_error *e)
{
    db_status st;
    memset(u, 0, sizeof *u);
    u->spool_fd = -1;
    snprintf(u->tmp_dir, sizeof u->tmp_dir, "%s", data_dir);
    if ((u->head = malloc(DRIVE_SNIFF_BYTES)) == NULL) {
        return svc_fail_nomem(e);
    }
    u->sha = EVP_MD_CTX_new();
    if (u->sha == NULL || EVP_DigestInit_ex(u->sha, EVP_sha256(), NULL) != 1) {
        svc_drive_upload_abort(u);
        return svc_fail(e, SVC_DB, NULL, NULL, "SHA-256 unavailable");
    }
    if ((st = db_file_begin(pool, account_id, &u->w)) != DB_OK) {
        svc_drive_upload_abort(u);
        return fail_db(e, st);
    }
    return SVC_OK;
}

static const uint8_t hok_magic[8] = {'M', 'T', 'H', 'O', 'K', '\r', '\n', 0x1a};

/* Write "len" bytes to the local copy of a HOK upload. */
static int spool_write(svc_drive_upload *u, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t w = write(u->spool_fd, p, len);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            log_error("drive: cannot write the local copy of an upload: %s", strerror(errno));
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

svc_status svc_drive_upload_write(svc_drive_upload *u, const void *buf, size_t len, svc_error *e)
{
    db_status st;
    if (EVP_DigestUpdate(u->sha, buf, len) != 1) {
        return svc_fail(e, SVC_DB, NULL, NULL, "SHA-256 failed");
    }
    if (u->head_len < DRIVE_SNIFF_BYTES) {
        size_t k = DRIVE_SNIFF_BYTES - u->head_len < len ? DRIVE_SNIFF_BYTES - u->head_len : len;
        bool was_short = u->head_len < sizeof hok_magic;
        memcpy(u->head + u->head_len, buf, k);
        u->head_len += k;
        /* A HOK file is checked whole by core at the end: it is also kept
         * in a local copy (never on the heap), started once its magic is
         * known. */
        if (was_short && u->head_len >= sizeof hok_magic &&
            memcmp(u->head, hok_magic, sizeof hok_magic) == 0) {
            if ((u->spool_fd = svc_files_tmp(u->tmp_dir)) < 0 ||
                spool_write(u, u->head, u->head_len) != 0) {
                return svc_fail(e, SVC_DB, NULL, NULL, "the file could not be stored");
            }
            if (k < len && spool_write(u, (const char *)buf + k, len - k) != 0) {
                return svc_fail(e, SVC_DB, NULL, NULL, "the file could not be stored");
            }
        } else if (!was_short && u->spool_fd >= 0 && spool_write(u, buf, len) != 0) {
            return svc_fail(e, SVC_DB, NULL, NULL, "the file could not be stored");
        }
    } else if (u->spool_fd >= 0 && spool_write(u, buf, len) != 0) {
        return svc_fail(e, SVC_DB, NULL, NULL, "the file could not be stored");
    }
    if ((st = db_file_write(&u->w, buf, len)) != DB_OK) {
        return fail_db(e, st);
    }
    u->size += (long long)len;
    return SVC_OK;
}

/* Whether "name" ends in .csv or .txt (any case). */
static bool text_export_name(const char *name)
{
    const char *ext = drive_extension(name);
    return drive_fold_cmp(ext, "csv") == 0 || drive_fold_cmp(ext, "txt") == 0;
}

/* The kind of the finished upload "u" (see svc_drive_upload_finish()). */
static const char *detect_kind(svc_drive_upload *u, const char *name)
{
    const char *kind = "other";
    mt_error err;
    if (u->spool_fd >= 0) {
        /* The HOK magic: core checks the whole file (header, index,
         * trailers), mapped from the local copy. */
        void *p = u->size > 0 ? mmap(NULL, (size_t)u->size, PROT_READ, MAP_PRIVATE,
                                     u->spool_fd, 0)
                              : MAP_FAILED;
        mt_hok *h = NULL;
        if (p == MAP_FAILED) {
            log_warn("drive: cannot map the local copy of an upload: %s", strerror(errno));
            return kind;
        }
        if (mt_hok_open(p, (size_t)u->size, &h, &err) == MT_OK) {
            kind = mt_hok_version(h) == MT_HOK_V1 ? "hok" : "hok2";
        }
        mt_hok_close(h);
        munmap(p, (size_t)u->size);
    } else if (u->head_len > 0 && text_export_name(name)) {
        /* Parse the start of the file, cut after its last complete line:
         * a bounded cost that still tells a HIOKI export from other text. */
        size_t len = u->head_len;
        mt_csv *csv = NULL;
        if ((long long)len < u->size) {
            while (len > 0 && u->head[len - 1] != '\n') {
                len--;
            }
        }
        if (len > 0 && mt_csv_read((const char *)u->head, len, NULL, &csv, &err) == MT_OK) {
            kind = "hioki_csv";
        }
        mt_csv_free(csv);
    }
    return kind;
}

svc_status svc_drive_upload_finish(svc_drive_upload *u, const char *name, svc_error *e)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    db_status st;
    if ((st = db_file_flush(&u->w)) != DB_OK) {
        return fail_db(e, st);
    }
    if (EVP_DigestFinal_ex(u->sha, md, &md_len) != 1 || md_len != 32) {
        return svc_fail(e, SVC_DB, NULL, NULL, "SHA-256 failed");
    }
    for (unsigned i = 0; i < 32; i++) {
        u->sha256_hex[2 * i] = hex[md[i] >> 4];
        u->sha256_hex[2 * i + 1] = hex[md[i] & 15];
    }
    u->sha256_hex[64] = '\0';
    snprintf(u->kind, sizeof u->kind, "%s", detect_kind(u, name));
    if (u->spool_fd >= 0) {
        close(u->spool_fd);
        u->spool_fd = -1;
    }
    return SVC_OK;
}

void svc_drive_upload_abort(svc_drive_upload *u)
{
    if (u->spool_fd >= 0) {
        close(u->spool_fd);
        u->spool_fd = -1;
    }
    db_file_writer_end(&u->w, !u->kept);
    free(u->head);
    u->head = NULL;
    EVP_MD_CTX_free(u->sha);
    u->sha = NULL;
}

void svc_drive_upload_keep(svc_drive_upload *u)
{
    u->kept = true;
}

svc_status svc_drive_upload_commit(db_pool *pool, const svc_actor *a, long long folder_id,
                                   const char *name, const char *content_type,
                                   svc_drive_upload *u, long long *id, svc_error *e)
{
    db_conn *c = NULL;
    long long used = 0;
    svc_status rc;

    *id = 0;
    if ((rc = drive_check_name(name, e)) != SVC_OK ||
        (rc = drive_tx_lock(pool, a->account_id, &c, e)) != SVC_OK ||
        (rc = check_room(c, a, folder_id, name, e)) != SVC_OK) {
        goto out;
    }
    /* Under the account lock: no other upload can count in between. */
    TRY_DB(db_storage_used(c, a->account_id, &used));
    if ((rc = svc_quota_check(e, a->plan, MT_Q_STORAGE, used + u->size)) != SVC_OK) {
        goto out;
    }
    TRY_DB(db_file_ready_tx(c, &u->w));
    TRY_DB(db_drive_file_insert(c, a->account_id, folder_id, name, u->size, u->kind,
                                content_type, u->sha256_hex, a->user_id, u->w.blob_id, id));
    TRY_DB(db_storage_add_drive(c, a->account_id, u->size));
out:
    rc = drive_tx_end(pool, c, rc, e);
    if (rc == SVC_OK) {
        svc_drive_upload_keep(u);
    } else {
        *id = 0;
    }
    return rc;
}

svc_status svc_drive_upload_commit_tx(db_conn *c, long long account_id, mt_plan plan,
                                      long long user_id, long long folder_id, const char *name,
                                      const char *content_type, svc_drive_upload *u,
                                      long long *id, svc_error *e)
{
    bool taken = false;
    long long used = 0, n = 0;
    svc_status rc = SVC_OK;

    *id = 0;
    if ((rc = drive_check_name(name, e)) != SVC_OK) {
        return rc;
    }
    TRY_DB(db_drive_name_taken(c, account_id, folder_id, name, 0, &taken));
    if (taken) {
        rc = name_taken(e);
        goto out;
    }
    TRY_DB(db_drive_count_children(c, account_id, folder_id, &n));
    if (n >= DRIVE_MAX_ENTRIES) {
        rc = svc_fail(e, SVC_CONFLICT, "folder_full", "folder_id",
                      "a folder holds at most %d entries", DRIVE_MAX_ENTRIES);
        goto out;
    }
    TRY_DB(db_storage_used(c, account_id, &used));
    if ((rc = svc_quota_check(e, plan, MT_Q_STORAGE, used + u->size)) != SVC_OK) {
        goto out;
    }
    TRY_DB(db_file_ready_tx(c, &u->w));
    TRY_DB(db_drive_file_insert(c, account_id, folder_id, name, u->size, u->kind, content_type,
                                u->sha256_hex, user_id, u->w.blob_id, id));
    TRY_DB(db_storage_add_drive(c, account_id, u->size));
out:
    if (rc != SVC_OK) {
        *id = 0;
    }
    return rc;
}
