/* Storage of system notification recipients (G4), inquiries (G5), the
 * account logo (G7) and the notifications inbox (N1). Every statement
 * filters by account_id (and the inbox by user_id too); rows are mapped with
 * db_rows_map() (db_apps.h), strings are heap copies, times ISO 8601 UTC. */
#ifndef MTS_DB_MISC_H
#define MTS_DB_MISC_H

#include <stdbool.h>
#include <stddef.h>

#include "db.h"

/* ------------------------------------------------------------ recipients */

typedef struct {
    long long id;
    char *kind; /* email, wechat, slack, teams (column "channel") */
    char *name;
    char *address;
    char *language;
    bool enabled;
    char *created_at;
    char *updated_at;
} db_recipient;

db_status db_recipient_list(db_conn *c, long long account_id, db_recipient **out, int *n);
db_status db_recipient_get(db_conn *c, long long account_id, long long id, db_recipient *out,
                           bool *found);
void db_recipient_free(db_recipient *rows, int n);
void db_recipient_clear(db_recipient *row);

db_status db_recipient_insert(db_conn *c, long long account_id, const char *kind,
                              const char *name, const char *address, const char *language,
                              bool enabled, long long *id);

/* Set every field (the caller merged the old values in). */
db_status db_recipient_update(db_conn *c, long long account_id, long long id, const char *kind,
                              const char *name, const char *address, const char *language,
                              bool enabled, bool *found);

db_status db_recipient_delete(db_conn *c, long long account_id, long long id, bool *found);

/* ------------------------------------------------------------- inquiries */

typedef struct {
    long long id;
    long long user_id; /* 0 = the user was deleted */
    char *kind;
    char *subject;
    char *body;
    bool allow_remote_access;
    char *status;
    char *created_at;
} db_inquiry;

db_status db_inquiry_insert(db_conn *c, long long account_id, long long user_id,
                            const char *kind, const char *subject, const char *body,
                            bool allow_remote_access, long long *id);

/* Inquiries of the account, newest first; "user_id" 0 = all, else only that
 * user's; at most "limit" from "offset", and *total of them all. */
db_status db_inquiry_list(db_conn *c, long long account_id, long long user_id, int limit,
                          int offset, db_inquiry **out, int *n, long long *total);

db_status db_inquiry_get(db_conn *c, long long account_id, long long user_id, long long id,
                         db_inquiry *out, bool *found);

void db_inquiry_free(db_inquiry *rows, int n);
void db_inquiry_clear(db_inquiry *row);

/* ------------------------------------------------------------------ logo */

/* The logo: *found false when the account has none; otherwise *data
 * (caller frees with free()), *len and "content_type" (at least 32 bytes). */
db_status db_logo_get(db_conn *c, long long account_id, unsigned char **data, size_t *len,
                      char *content_type, size_t ct_cap, bool *found);

/* Store "len" bytes of "data" as the logo ("data_hex": their hex, lower-case). */
db_status db_logo_set(db_conn *c, long long account_id, const char *data_hex,
                      const char *content_type);

/* Remove the logo; *found false when there was none. */
db_status db_logo_delete(db_conn *c, long long account_id, bool *found);

/* --------------------------------------------------------- notifications */

typedef struct {
    long long id;
    char *kind;
    char *title;
    char *body;
    char *data; /* JSON text */
    char *created_at;
    char *read_at; /* NULL = unread */
} db_notification;

/* The user's notifications, newest first (created_at, then id), only the
 * unread ones when "unread_only"; at most "limit" from "offset"; *total =
 * how many match the filter, *unread = how many are unread. */
db_status db_notification_list(db_conn *c, long long account_id, long long user_id,
                               bool unread_only, int limit, int offset, db_notification **out,
                               int *n, long long *total, long long *unread);

void db_notification_free(db_notification *rows, int n);

db_status db_notification_unread(db_conn *c, long long account_id, long long user_id,
                                 long long *unread);

/* Mark one read (kept when already read); *found false when it is not one
 * of the user's. */
db_status db_notification_mark(db_conn *c, long long account_id, long long user_id,
                               long long id, bool *found);

/* Mark every unread one read; *marked = how many. */
db_status db_notification_mark_all(db_conn *c, long long account_id, long long user_id,
                                   long long *marked);

/* Background jobs (jobs.c): take the transaction-level advisory lock of
 * the job "name" if no other session holds it (*got). */
db_status db_job_try_lock(db_conn *c, const char *name, bool *got);

#endif
