/* What the gateway apps share through the cloud (K1-K4; docs/app-share.md,
 * 072_app_share.sql):
 *
 *   K1 battery profiles           files, per account (P14), One and Cross
 *   K2 battery thresholds         files, per account (P15), One and Cross
 *   K3 photo-drawing templates    files, per measurement group (P13), Cross
 *   K4 equipment lists            a name and items, per account (P16), Cross
 *
 * The files are the apps' own formats, opaque here: named (unique per
 * account and kind, per group for K3), at most SHARE_FILE_MAX bytes, kept
 * in the file store (db_files.h) and counted in the account's storage (P2)
 * like drive files.
 *
 * Who acts ("svc_share_who"): a person (a->user_id) or a gateway app
 * (app_id, a->account_id its account). A person reads K1, K2 and K4 with
 * file access view (administrators always) and changes them with file
 * access edit; reads K3 of a group with view access to the group and
 * changes them with edit access. An app reads and changes what its kind
 * uses (One: K1, K2; Cross: K1-K4; an LR8450 direct connection none), K3
 * in its own measurement group. Every function returns SVC_OK or its
 * failure in "e": SVC_INVALID (a value, with its field), SVC_FORBIDDEN,
 * SVC_NOT_FOUND, SVC_CONFLICT name_taken, SVC_PLAN_LIMIT (core's message:
 * the count quota, or P2), SVC_TOO_LARGE, SVC_DB. Nothing is changed by a
 * failed call. */
#ifndef MTS_SVC_APP_SHARE_H
#define MTS_SVC_APP_SHARE_H

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>
#include "db.h"
#include "db_files.h"
#include "mt/plan.h"
#include "svc.h"

/* Bytes of one shared file (decimal, as P2: 10 MB). */
#define SHARE_FILE_MAX 10000000LL
/* Characters of a file's or a list's name. */
#define SHARE_NAME_MAX 100
/* Characters of a content type. */
#define SHARE_CTYPE_MAX 100
/* An equipment list: items, and characters of an item's members. */
#define EQUIP_ITEMS_MAX 1000
#define EQUIP_MODEL_MAX 64
#define EQUIP_SERIAL_MAX 64
#define EQUIP_NOTE_MAX 1000

typedef enum {
    SHARE_BATTERY_PROFILE = 0, /* K1 */
    SHARE_BATTERY_THRESHOLD,   /* K2 */
    SHARE_PHOTO_TEMPLATE,      /* K3 */
    SHARE_EQUIPMENT_LIST       /* K4 (not a file) */
} svc_share_kind;

typedef struct {
    const svc_actor *a; /* the person; for an app, its account (a->user_id 0) */
    long long app_id;   /* the app; 0 = a person */
} svc_share_who;

/* The lists and one file's record: {"items": [...]}. "group_id" is the
 * group of K3 for a person (> 0), ignored otherwise. */
MT_MUSTCHECK
svc_status svc_share_file_list(db_pool *pool, svc_share_who w, svc_share_kind kind,
                               long long group_id, cJSON **out, svc_error *e);

/* ------------------------------------------------------------- uploads */

typedef struct {
    db_file_writer w;
    EVP_MD_CTX *sha;
    long long size;
    char sha256[65];
    bool kept;
} svc_share_upload;

/* Before the body is read: the rights, the kind for an app, the name
 * (SVC_INVALID invalid_name), the group, the name not taken unless
 * "replace" (SVC_CONFLICT name_taken), the count quota for a new name, and
 * *room the bytes the file may have (SHARE_FILE_MAX, or less when the
 * storage quota has less room: 0 means none) and *plan the plan in force
 * (for a refusal by P2 while the body arrives). */
MT_MUSTCHECK
svc_status svc_share_upload_check(db_pool *pool, svc_share_who w, svc_share_kind kind,
                                  long long group_id, const char *name, bool replace,
                                  long long *room, mt_plan *plan, svc_error *e);

/* Start writing the bytes into the store (*u then needs
 * svc_share_upload_end() in any case). */
MT_MUSTCHECK
svc_status svc_share_upload_begin(db_pool *pool, long long account_id, svc_share_upload *u,
                                  svc_error *e);
MT_MUSTCHECK
svc_status svc_share_upload_write(svc_share_upload *u, const void *buf, size_t len,
                                  svc_error *e);

/* Every check again under the account lock, then the record: a new file,
 * or with "replace" the named file's new bytes. *out: the file's record
 * and *created whether it is new. */
MT_MUSTCHECK
svc_status svc_share_upload_commit(db_pool *pool, svc_share_who w, svc_share_kind kind,
                                   long long group_id, const char *name,
                                   const char *content_type, bool replace, svc_share_upload *u,
                                   cJSON **out, bool *created, svc_error *e);

/* Free the upload; its bytes are deleted unless the commit kept them. */
void svc_share_upload_end(svc_share_upload *u);

/* A valid content type ("" or NULL gives application/octet-stream) into
 * out (SHARE_CTYPE_MAX + 1 bytes). SVC_INVALID otherwise. */
MT_MUSTCHECK
svc_status svc_share_content_type(const char *in, char *out, svc_error *e);

/* ------------------------------------------------- downloads, deletion */

/* File "id" of "kind" for a download: its blob, name and content type. */
typedef struct {
    db_file blob;
    char name[404];
    char content_type[SHARE_CTYPE_MAX + 4];
} svc_share_content;
MT_MUSTCHECK
svc_status svc_share_file_content(db_pool *pool, svc_share_who w, svc_share_kind kind,
                                  long long id, svc_share_content *out, svc_error *e);

/* Delete file "id" of "kind": *bytes given back to the storage quota. */
MT_MUSTCHECK
svc_status svc_share_file_delete(db_pool *pool, svc_share_who w, svc_share_kind kind,
                                 long long id, long long *bytes, svc_error *e);

/* ------------------------------------------------------ equipment lists */

MT_MUSTCHECK
svc_status svc_equip_list(db_pool *pool, svc_share_who w, cJSON **out, svc_error *e);
MT_MUSTCHECK
svc_status svc_equip_get(db_pool *pool, svc_share_who w, long long id, cJSON **out,
                         svc_error *e);

/* Create a list from "body" ({name, items: [{model, serial, note?}]}; the
 * caller refused unknown members): every item checked, P16. */
MT_MUSTCHECK
svc_status svc_equip_create(db_pool *pool, svc_share_who w, const cJSON *body, cJSON **out,
                            svc_error *e);

/* Change list "id": "name" and/or "items" of "body" (at least one). */
MT_MUSTCHECK
svc_status svc_equip_update(db_pool *pool, svc_share_who w, long long id, const cJSON *body,
                            cJSON **out, svc_error *e);

MT_MUSTCHECK
svc_status svc_equip_delete(db_pool *pool, svc_share_who w, long long id, svc_error *e);

#endif
