/* Storage of dashboards and their pictures (migration 023_dashboards.sql;
 * docs/dashboards.md). Every statement filters on the account id it is
 * given; the service (svc_dashboard.c) decides who may do what. */
#ifndef MTS_DB_DASHBOARD_H
#define MTS_DB_DASHBOARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"

/* One dashboard. Strings are heap copies (free with db_dash_row_clear()). */
typedef struct {
    long long id;
    long long group_id;
    char *name;
    char *panels;      /* the panels as JSON text (an array) */
    long long n_panels;
    long long version;
    char *created_at;  /* ISO 8601 UTC */
    char *updated_at;
} db_dash_row;

void db_dash_row_clear(db_dash_row *r);
void db_dash_rows_free(db_dash_row *rows, int n);

/* The dashboards of group "group_id", by id: *out (free with
 * db_dash_rows_free(); "panels" is NULL in these rows) and *n. */
db_status db_dash_list(db_conn *c, long long account_id, long long group_id, db_dash_row **out,
                       int *n);

/* How many dashboards group "group_id" has (P9). */
db_status db_dash_count(db_conn *c, long long account_id, long long group_id, long long *n);

/* Dashboard "id" into "out" (*found false when the account has none); with
 * "lock" the row is locked for the rest of the transaction. */
db_status db_dash_get(db_conn *c, long long account_id, long long id, bool lock, db_dash_row *out,
                      bool *found);

/* A new dashboard of group "group_id": "panels" is JSON text the service
 * wrote, "channels"/"pictures" the ids it names. *id is the new id. */
db_status db_dash_insert(db_conn *c, long long account_id, long long group_id, const char *name,
                         const char *panels, const int64_t *channels, size_t n_channels,
                         const int64_t *pictures, size_t n_pictures, long long user_id,
                         long long *id);

/* Replace the name and panels of dashboard "id" and move its version on
 * by one (*version: the new one). */
db_status db_dash_update(db_conn *c, long long account_id, long long id, const char *name,
                         const char *panels, const int64_t *channels, size_t n_channels,
                         const int64_t *pictures, size_t n_pictures, long long *version);

/* Delete dashboard "id" (*found false when the account has none). */
db_status db_dash_delete(db_conn *c, long long account_id, long long id, bool *found);

/* Of the channel ids "ids", those that belong to group "group_id": a
 * measured channel of an app of the group or a computed channel of the
 * group. *out (caller frees) and *n_out. */
db_status db_dash_group_channels(db_conn *c, long long account_id, long long group_id,
                                 const int64_t *ids, size_t n, int64_t **out, size_t *n_out);

/* What the data of a dashboard needs to know of a channel (of its group). */
typedef struct {
    long long id;
    char *key;
    char *name;
    char *unit;
    long long decimals;  /* -1: automatic */
    bool computed;
    char *expression;    /* computed channels, else NULL */
    char *inputs;        /* computed channels: "{1,2}" (PostgreSQL's text), else NULL */
    bool has_latest;     /* the latest stored value (channel_latest) */
    long long latest_t;
    char *latest_v;      /* text of the value, NULL for a special value */
    long long latest_special;
} db_dash_channel;

/* The channels of "ids" that belong to group "group_id", with the input
 * channels of its computed channels among them ("ids" is expected to hold
 * those too): *out (free with db_dash_channels_free()) and *n. */
db_status db_dash_channels(db_conn *c, long long account_id, long long group_id,
                           const int64_t *ids, size_t n, db_dash_channel **out, int *n_out);
void db_dash_channels_free(db_dash_channel *rows, int n);

/* The input channel ids of the computed channels among "ids" (of the
 * account), each once: *out (caller frees), *n_out. */
db_status db_dash_inputs(db_conn *c, long long account_id, const int64_t *ids, size_t n,
                         int64_t **out, size_t *n_out);

/* Per channel of "ids": the samples its day blocks hold on UTC days
 * "day0".."day1" (both included): counts[i] for ids[i]. */
db_status db_dash_stored_counts(db_conn *c, long long account_id, const int64_t *ids, size_t n,
                                int64_t day0, int64_t day1, long long *counts);

/* ------------------------------------------------------------- pictures */

typedef struct {
    long long id;
    char *sha256;        /* hex */
    char *content_type;
    long long width, height, size;
    char *name;
    char *created_at;
    long long used_by;   /* dashboards that show it */
} db_dash_picture;

void db_dash_picture_clear(db_dash_picture *p);
void db_dash_pictures_free(db_dash_picture *rows, int n);

/* Picture "id" of the account (*found). */
db_status db_dash_picture_get(db_conn *c, long long account_id, long long id,
                              db_dash_picture *out, bool *found);

/* The account's picture with content "sha256" (32 bytes), if any. */
db_status db_dash_picture_by_sha(db_conn *c, long long account_id, const unsigned char *sha256,
                                 db_dash_picture *out, bool *found);

/* The account's pictures, newest first. */
db_status db_dash_picture_list(db_conn *c, long long account_id, db_dash_picture **out, int *n);

/* Store a picture (the caller checked its type and the quota and adds its
 * bytes to the account's storage): *id is the new id. */
db_status db_dash_picture_insert(db_conn *c, long long account_id, const unsigned char *sha256,
                                 const char *content_type, int width, int height,
                                 const unsigned char *data, size_t size, const char *name,
                                 long long user_id, long long *id);

/* The bytes of picture "id" (*data caller frees; *found). */
db_status db_dash_picture_data(db_conn *c, long long account_id, long long id,
                               unsigned char **data, size_t *len, bool *found);

/* Delete picture "id" unless a dashboard shows it: *found false when there
 * is no such picture, *in_use true when it is kept; *bytes what it held. */
db_status db_dash_picture_delete(db_conn *c, long long account_id, long long id, bool *found,
                                 bool *in_use, long long *bytes);

/* Delete the account's pictures that no dashboard shows and that are older
 * than "grace_s" seconds; *bytes is what they held. */
db_status db_dash_picture_sweep(db_conn *c, long long account_id, long long grace_s,
                                long long *bytes);

/* Of the picture ids "ids", those the account has (*out caller frees). */
db_status db_dash_picture_ids(db_conn *c, long long account_id, const int64_t *ids, size_t n,
                              int64_t **out, size_t *n_out);

/* Whether user "viewer" (0 = an administrator) may see picture "id": it is
 * shown on a dashboard of a group the user sees, or the user may edit a
 * group (and so pick pictures for dashboards), or uploaded it. */
db_status db_dash_picture_visible(db_conn *c, long long account_id, long long viewer,
                                  long long id, bool *visible);

/* Whether "viewer" (0 = an administrator) may edit at least one group of
 * the account. */
db_status db_dash_may_edit_some(db_conn *c, long long account_id, long long viewer, bool *may);

/* Add "delta" (may be negative; never below 0) to the account's picture
 * bytes (P2). */
db_status db_storage_add_pictures(db_conn *c, long long account_id, long long delta);

#endif
