/* The drive: imports. The mapped channels of a HOK, HOK2 or HIOKI CSV file
 * read into samples, checked and written into the hot table, or handed to
 * the caller (svc_drive_internal.h). */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "cmp.h"
#include "db_series.h"
#include "ingest_parse.h"
#include "mt/csv.h"
#include "mt/hok.h"
#include "svc_drive_internal.h"

/* One mapping of an import: file channel "index" -> Metron channel "id". */
typedef struct {
    size_t index;
    int64_t channel;
} import_map;

static int cmp_rec_ct(const void *a, const void *b)
{
    const ingest_rec *x = a, *y = b;
    if (x->ch != y->ch) {
        return x->ch < y->ch ? -1 : 1;
    }
    return (x->t > y->t) - (x->t < y->t);
}

/* Sort "rec" by channel and time, one record per channel and time (at
 * equal times the later row wins: the sort keeps equal records in their
 * order, which qsort() does not promise). Returns the new count, or
 * (size_t)-1 when memory runs out. */
static size_t sort_records(ingest_rec *rec, size_t n)
{
    size_t w = 0;
    if (sort_stable(rec, n, sizeof *rec, cmp_rec_ct) != 0) {
        return (size_t)-1;
    }
    for (size_t i = 0; i < n; i++) {
        if (w > 0 && rec[w - 1].ch == rec[i].ch && rec[w - 1].t == rec[i].t) {
            rec[w - 1] = rec[i];
        } else {
            rec[w++] = rec[i];
        }
    }
    return w;
}

/* Append file channel "col" (times "t", values "v", "n" rows) as records of
 * Metron channel "ch", skipping "missing" values. */
static int push_column(ingest_rec **rec, size_t *n_rec, size_t *cap, int64_t ch, const mt_time *t,
                       const double *v, size_t n)
{
    if (*n_rec + n > *cap) {
        size_t nc = (*n_rec + n) * 2;
        ingest_rec *grown = realloc(*rec, nc * sizeof *grown);
        if (grown == NULL) {
            return -1;
        }
        *rec = grown;
        *cap = nc;
    }
    for (size_t i = 0; i < n; i++) {
        if (mt_sv_kind(v[i]) == MT_SV_MISSING) {
            continue;
        }
        (*rec)[*n_rec].ch = ch;
        (*rec)[*n_rec].t = t[i];
        (*rec)[*n_rec].v = v[i];
        (*n_rec)++;
    }
    return 0;
}

/* Read the mapped columns of the file into records. */
static svc_status import_read(const file_map *m, const char *kind, int utc_offset_minutes,
                           const import_map *map, size_t n_map, ingest_rec **rec, size_t *n_rec,
                           svc_error *e)
{
    size_t cap = 0;
    mt_error err;
    *rec = NULL;
    *n_rec = 0;
    if (strcmp(kind, "hioki_csv") == 0) {
        mt_csv_options opt;
        mt_csv *csv = NULL;
        memset(&opt, 0, sizeof opt);
        opt.utc_offset_minutes = utc_offset_minutes;
        if (mt_csv_read((const char *)m->data, m->len, &opt, &csv, &err) != MT_OK) {
            return drive_core_refused(e, &err);
        }
        for (size_t k = 0; k < n_map; k++) {
            if (map[k].index >= mt_csv_channel_count(csv)) {
                mt_csv_free(csv);
                return svc_fail(e, SVC_INVALID, "invalid_value", "channels",
                               "channels[%zu].index: the file has %zu channels", k,
                               mt_csv_channel_count(csv));
            }
            if (push_column(rec, n_rec, &cap, map[k].channel, mt_csv_times(csv),
                            mt_csv_values(csv, map[k].index), mt_csv_row_count(csv)) != 0) {
                mt_csv_free(csv);
                return fail_db(e, DB_ERROR);
            }
        }
        mt_csv_free(csv);
        return SVC_OK;
    }
    {
        mt_hok *h = NULL;
        uint64_t rows;
        mt_time *t = NULL;
        double *v = NULL;
        svc_status rc = SVC_OK;
        if (mt_hok_open(m->data, m->len, &h, &err) != MT_OK) {
            return drive_core_refused(e, &err);
        }
        rows = mt_hok_row_count(h);
        if (rows > INGEST_MAX_SAMPLES) {
            mt_hok_close(h);
            return svc_fail(e, SVC_INVALID, "too_large", NULL,
                           "an import holds at most %d rows", INGEST_MAX_SAMPLES);
        }
        t = malloc((rows ? rows : 1) * sizeof *t);
        v = malloc((rows ? rows : 1) * sizeof *v);
        if (t == NULL || v == NULL) {
            rc = fail_db(e, DB_ERROR);
        } else if (rows > 0 && mt_hok_read_times(h, 0, (size_t)rows, t, &err) != MT_OK) {
            rc = drive_core_refused(e, &err);
        }
        for (size_t k = 0; rc == SVC_OK && k < n_map; k++) {
            if (map[k].index >= mt_hok_channel_count(h)) {
                rc = svc_fail(e, SVC_INVALID, "invalid_value", "channels",
                             "channels[%zu].index: the file has %zu channels", k,
                             mt_hok_channel_count(h));
            } else if (rows > 0 &&
                       mt_hok_read_values(h, map[k].index, 0, (size_t)rows, v, &err) != MT_OK) {
                rc = drive_core_refused(e, &err);
            } else if (push_column(rec, n_rec, &cap, map[k].channel, t, v, (size_t)rows) != 0) {
                rc = fail_db(e, DB_ERROR);
            }
        }
        free(t);
        free(v);
        mt_hok_close(h);
        return rc;
    }
}

svc_status svc_drive_import(db_pool *pool, const svc_actor *a, const char *data_dir, long long id,
                         const cJSON *body, int64_t now_us, cJSON **out, svc_error *e)
{
    db_drive_item it;
    file_map m = {-1, NULL, 0};
    import_map *map = NULL; /* DRIVE_IMPORT_MAX entries: 16 KB, not on a worker's stack */
    size_t n_map = 0, n_rec = 0;
    ingest_rec *rec = NULL;
    int64_t *ids = NULL, *ok_ids = NULL;
    size_t n_ok = 0;
    int utc_offset = 0;
    const cJSON *chs, *item, *off;
    db_conn *c = NULL;
    db_status st;
    svc_status rc;

    *out = NULL;
    if ((rc = drive_file_record(pool, a, id, &it, e)) != SVC_OK) {
        return rc;
    }
    if ((rc = svc_feature_check(e, a->plan, MT_Q_IMPORT, MT_ACCESS_FULL)) != SVC_OK) {
        goto out;
    }
    if (!svc_drive_kind_viewable(it.kind)) {
        rc = svc_fail(e, SVC_CONFLICT, "not_importable", NULL,
                     "only HOK, HOK2 and HIOKI CSV files can be imported (this file is '%s')",
                     it.kind ? it.kind : "other");
        goto out;
    }
    /* {"channels": [{"index": i, "channel_id": id}, ...], "utc_offset_minutes": m} */
    chs = cJSON_GetObjectItemCaseSensitive(body, "channels");
    if (!cJSON_IsArray(chs) || cJSON_GetArraySize(chs) < 1 ||
        cJSON_GetArraySize(chs) > DRIVE_IMPORT_MAX) {
        rc = svc_fail(e, SVC_INVALID, chs == NULL ? "missing" : "invalid_value", "channels",
                     "channels: 1 to %d mappings {index, channel_id}", DRIVE_IMPORT_MAX);
        goto out;
    }
    map = calloc(DRIVE_IMPORT_MAX, sizeof *map);
    if (map == NULL) {
        rc = svc_fail_db(e, DB_ERROR, NULL); /* out of memory: 500 */
        goto out;
    }
    cJSON_ArrayForEach(item, chs) {
        const cJSON *ix = cJSON_GetObjectItemCaseSensitive(item, "index");
        const cJSON *ci = cJSON_GetObjectItemCaseSensitive(item, "channel_id");
        if (!cJSON_IsNumber(ix) || !cJSON_IsNumber(ci) || ix->valuedouble < 0 ||
            ix->valuedouble != (double)(long long)ix->valuedouble || ix->valuedouble > 1e6 ||
            ci->valuedouble < 1 || ci->valuedouble != (double)(long long)ci->valuedouble ||
            ci->valuedouble > 9e15) {
            rc = svc_fail(e, SVC_INVALID, "wrong_type", "channels",
                         "channels[%zu]: expected {index: file channel (0-based), channel_id}",
                         n_map);
            goto out;
        }
        map[n_map].index = (size_t)ix->valuedouble;
        map[n_map].channel = (int64_t)ci->valuedouble;
        for (size_t k = 0; k < n_map; k++) {
            if (map[k].index == map[n_map].index || map[k].channel == map[n_map].channel) {
                rc = svc_fail(e, SVC_INVALID, "invalid_value", "channels",
                             "channels[%zu]: a file channel or a target channel is used twice",
                             n_map);
                goto out;
            }
        }
        n_map++;
    }
    off = cJSON_GetObjectItemCaseSensitive(body, "utc_offset_minutes");
    if (off != NULL) {
        if (!cJSON_IsNumber(off) || off->valuedouble < -1080 || off->valuedouble > 1080 ||
            off->valuedouble != (double)(int)off->valuedouble) {
            rc = svc_fail(e, SVC_INVALID, "invalid_value", "utc_offset_minutes",
                         "utc_offset_minutes: an integer -1080..1080");
            goto out;
        }
        utc_offset = (int)off->valuedouble;
    }
    if ((rc = drive_map_item(pool, data_dir, a->account_id, &it, &m, e)) != SVC_OK) {
        goto out;
    }
    if ((rc = import_read(&m, it.kind, utc_offset, map, n_map, &rec, &n_rec, e)) != SVC_OK) {
        goto out;
    }
    if (n_rec == 0) {
        rc = svc_fail(e, SVC_INVALID, "empty_batch", NULL, "the mapped channels hold no samples");
        goto out;
    }
    if (n_rec > INGEST_MAX_SAMPLES) {
        rc = svc_fail(e, SVC_INVALID, "too_large", NULL, "an import holds at most %d samples",
                     INGEST_MAX_SAMPLES);
        goto out;
    }
    /* Sort; at equal times the later row wins; times inside the ingest range. */
    if ((n_rec = sort_records(rec, n_rec)) == (size_t)-1) {
        n_rec = 0;
        rc = svc_fail_nomem(e);
        goto out;
    }
    for (size_t i = 0; i < n_rec; i++) {
        if (rec[i].t < INGEST_T_MIN || rec[i].t > now_us + INGEST_FUTURE_US) {
            rc = svc_fail(e, SVC_INVALID, "time_out_of_range", NULL,
                          "a sample at %lld µs lies before 2000 or in the future",
                          (long long)rec[i].t);
            goto out;
        }
    }
    /* Every target: a measured channel of the account the user may see. */
    ids = malloc(n_map * sizeof *ids);
    if (ids == NULL) {
        rc = fail_db(e, DB_ERROR);
        goto out;
    }
    for (size_t k = 0; k < n_map; k++) {
        ids[k] = map[k].channel;
    }
    if ((st = db_acquire(pool, DB_WAIT_MS, &c)) != DB_OK ||
        (st = db_channels_measured(c, a->account_id, a->role == ROLE_ADMIN ? 0 : a->user_id, ids,
                                   n_map, &ok_ids, &n_ok)) != DB_OK) {
        rc = fail_db(e, st);
        goto out;
    }
    for (size_t k = 0; k < n_map; k++) {
        bool found = false;
        for (size_t j = 0; j < n_ok && !found; j++) {
            found = ok_ids[j] == ids[k];
        }
        if (!found) {
            rc = svc_fail(e, SVC_NOT_FOUND, "not_found", "channels",
                         "channels[%zu].channel_id: %lld is not a measured channel you can see",
                         k, (long long)ids[k]);
            goto out;
        }
    }
    /* Into the hot table, in one transaction (the compactor folds it). A
     * second import of the same file stores the same samples again at the
     * same times: they replace themselves, nothing is duplicated. The
     * channels' channel_sent rows first, committed outside it (db_series.h). */
    if ((st = db_channels_sent(c, a->account_id, rec, n_rec)) != DB_OK) {
        rc = fail_db(e, st);
        goto out;
    }
    st = db_begin(c);
    for (size_t i = 0; st == DB_OK && i < n_rec; i += 4096) {
        size_t n = n_rec - i < 4096 ? n_rec - i : 4096;
        int64_t t0 = rec[i].t, t1 = rec[i].t;
        for (size_t j = i; j < i + n; j++) {
            t0 = rec[j].t < t0 ? rec[j].t : t0;
            t1 = rec[j].t > t1 ? rec[j].t : t1;
        }
        st = db_hot_insert(c, a->account_id, rec + i, n, t0, t1);
    }
    if (st == DB_OK) {
        st = db_commit(c);
    }
    if (st != DB_OK) {
        db_rollback(c);
        rc = fail_db(e, st);
        goto out;
    }
    *out = cJSON_CreateObject();
    if (*out != NULL) {
        cJSON_AddNumberToObject(*out, "file_id", (double)id);
        cJSON_AddNumberToObject(*out, "samples", (double)n_rec);
        cJSON_AddNumberToObject(*out, "channels", (double)n_map);
    }
    rc = SVC_OK;
out:
    db_release(pool, c);
    drive_map_close(&m);
    free(map);
    free(rec);
    free(ids);
    free(ok_ids);
    db_drive_item_clear(&it);
    return rc;
}

svc_status svc_drive_read_columns(db_pool *pool, const svc_actor *a, const char *data_dir,
                                  long long id, const size_t *index, const int64_t *channel,
                                  size_t n_map, int utc_offset_minutes, ingest_rec **rec,
                                  size_t *n_rec, char *name, size_t name_cap, svc_error *e)
{
    db_drive_item it;
    file_map m = {-1, NULL, 0};
    import_map *map = NULL;
    svc_status rc;
    *rec = NULL;
    *n_rec = 0;
    if ((rc = drive_viewable_record(pool, a, id, &it, e)) != SVC_OK) {
        return rc;
    }
    snprintf(name, name_cap, "%s", it.name ? it.name : "");
    if ((map = calloc(n_map ? n_map : 1, sizeof *map)) == NULL) {
        rc = svc_fail_nomem(e);
        goto out;
    }
    for (size_t k = 0; k < n_map; k++) {
        map[k].index = index[k];
        map[k].channel = channel[k];
    }
    if ((rc = drive_map_item(pool, data_dir, a->account_id, &it, &m, e)) != SVC_OK) {
        goto out;
    }
    if ((rc = import_read(&m, it.kind, utc_offset_minutes, map, n_map, rec, n_rec, e)) != SVC_OK) {
        goto out;
    }
    if ((*n_rec = sort_records(*rec, *n_rec)) == (size_t)-1) {
        rc = svc_fail_nomem(e);
    }
out:
    if (rc != SVC_OK) {
        free(*rec);
        *rec = NULL;
        *n_rec = 0;
    }
    free(map);
    drive_map_close(&m);
    db_drive_item_clear(&it);
    return rc;
}
