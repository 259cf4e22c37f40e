/* The drive: the channels of a HOK, HOK2 or HIOKI CSV file, read by core
 * from the file's bytes (svc_drive_internal.h). */
#define _DEFAULT_SOURCE
#include <string.h>

#include "mt/caltime.h"
#include "mt/csv.h"
#include "mt/hok.h"
#include "svc_drive_internal.h"

static void add_time(cJSON *o, const char *key, const char *key_us, bool have, mt_time t)
{
    char buf[MT_CAL_INSTANT_LEN];
    mt_error err;
    if (have && mt_cal_format_instant(t, buf, sizeof buf, &err) == MT_OK) {
        cJSON_AddStringToObject(o, key, buf);
        cJSON_AddNumberToObject(o, key_us, (double)t);
    } else {
        cJSON_AddNullToObject(o, key);
        cJSON_AddNullToObject(o, key_us);
    }
}

svc_status drive_core_refused(svc_error *e, const mt_error *err)
{
    return svc_fail(e, SVC_INVALID, "unreadable", NULL, "the file cannot be read: %s (at byte %zu)",
                   err->msg, err->pos);
}

static svc_status hok_channels(const file_map *m, cJSON *o, svc_error *e)
{
    mt_hok *h = NULL;
    mt_error err;
    const mt_hok_meta *meta;
    const mt_hok_channel *ch;
    uint64_t rows;
    mt_time t0 = 0, t1 = 0;
    bool have = false;
    cJSON *mo, *arr;
    if (mt_hok_open(m->data, m->len, &h, &err) != MT_OK) {
        return drive_core_refused(e, &err);
    }
    rows = mt_hok_row_count(h);
    if (rows > 0) {
        if (mt_hok_read_times(h, 0, 1, &t0, &err) != MT_OK ||
            mt_hok_read_times(h, rows - 1, 1, &t1, &err) != MT_OK) {
            mt_hok_close(h);
            return drive_core_refused(e, &err);
        }
        have = true;
    }
    meta = mt_hok_get_meta(h);
    cJSON_AddNumberToObject(o, "rows", (double)rows);
    add_time(o, "first", "first_us", have, t0);
    add_time(o, "last", "last_us", have, t1);
    mo = cJSON_AddObjectToObject(o, "meta");
    if (mo != NULL) {
        cJSON_AddStringToObject(mo, "title", meta->title);
        cJSON_AddStringToObject(mo, "app", meta->app);
        cJSON_AddStringToObject(mo, "device", meta->device);
        cJSON_AddStringToObject(mo, "model", meta->model);
        cJSON_AddStringToObject(mo, "timezone", meta->timezone);
        add_time(mo, "created", "created_us", true, meta->created);
    }
    arr = cJSON_AddArrayToObject(o, "channels");
    ch = mt_hok_channels(h);
    for (size_t i = 0; arr != NULL && i < mt_hok_channel_count(h); i++) {
        cJSON *c = cJSON_CreateObject();
        if (c == NULL) {
            break;
        }
        cJSON_AddNumberToObject(c, "index", (double)i);
        cJSON_AddNumberToObject(c, "id", (double)ch[i].id);
        cJSON_AddStringToObject(c, "name", ch[i].name);
        cJSON_AddStringToObject(c, "unit", ch[i].unit);
        cJSON_AddStringToObject(c, "kind", ch[i].kind == MT_HOK_COMPUTED ? "computed"
                                                                         : "measured");
        cJSON_AddStringToObject(c, "model", ch[i].model);
        cJSON_AddNumberToObject(c, "samples", (double)rows);
        cJSON_AddItemToArray(arr, c);
    }
    mt_hok_close(h);
    return SVC_OK;
}

static svc_status csv_channels(const file_map *m, int utc_offset_minutes, cJSON *o, svc_error *e)
{
    static const char *const kinds[] = {"analog", "integer", "event"};
    static const char *const styles[] = {"bare", "column", "row"};
    static const char *const formats[] = {"seconds", "clock", "absolute"};
    mt_csv_options opt;
    mt_csv *csv = NULL;
    mt_error err;
    const mt_csv_meta *meta;
    const mt_time *t;
    size_t rows;
    cJSON *mo, *arr;
    char delim[2] = {0, 0}, mark[2] = {0, 0};

    if ((long long)m->len > DRIVE_CSV_OPEN_MAX) {
        return svc_fail(e, SVC_INVALID, "too_large", NULL,
                       "the server reads the channels of CSV files up to %lld bytes; "
                       "download this one and open it in the viewer",
                       DRIVE_CSV_OPEN_MAX);
    }
    memset(&opt, 0, sizeof opt);
    opt.utc_offset_minutes = utc_offset_minutes;
    if (mt_csv_read((const char *)m->data, m->len, &opt, &csv, &err) != MT_OK) {
        return drive_core_refused(e, &err);
    }
    meta = mt_csv_meta_of(csv);
    rows = mt_csv_row_count(csv);
    t = mt_csv_times(csv);
    cJSON_AddNumberToObject(o, "rows", (double)rows);
    add_time(o, "first", "first_us", rows > 0, rows > 0 ? t[0] : 0);
    add_time(o, "last", "last_us", rows > 0, rows > 0 ? t[rows - 1] : 0);
    mo = cJSON_AddObjectToObject(o, "meta");
    if (mo != NULL) {
        delim[0] = meta->delimiter;
        mark[0] = meta->decimal_mark;
        cJSON_AddStringToObject(mo, "file_name", meta->file_name);
        cJSON_AddStringToObject(mo, "version", meta->version);
        cJSON_AddStringToObject(mo, "title", meta->title);
        add_time(mo, "trigger", "trigger_us", meta->has_trigger != 0, meta->trigger);
        cJSON_AddStringToObject(mo, "style", (unsigned)meta->style < 3 ? styles[meta->style]
                                                                        : "bare");
        cJSON_AddStringToObject(mo, "delimiter", delim);
        cJSON_AddStringToObject(mo, "decimal_mark", mark);
        cJSON_AddStringToObject(mo, "time_format", (unsigned)meta->time_format < 3
                                                       ? formats[meta->time_format]
                                                       : "seconds");
        cJSON_AddNumberToObject(mo, "utc_offset_minutes", utc_offset_minutes);
    }
    arr = cJSON_AddArrayToObject(o, "channels");
    for (size_t i = 0; arr != NULL && i < mt_csv_channel_count(csv); i++) {
        const mt_csv_channel *ch = mt_csv_channel_at(csv, i);
        cJSON *c = cJSON_CreateObject();
        if (c == NULL || ch == NULL) {
            cJSON_Delete(c);
            break;
        }
        cJSON_AddNumberToObject(c, "index", (double)i);
        cJSON_AddStringToObject(c, "name", ch->name);
        cJSON_AddStringToObject(c, "unit", ch->unit);
        cJSON_AddStringToObject(c, "kind", (unsigned)ch->kind < 3 ? kinds[ch->kind] : "analog");
        cJSON_AddStringToObject(c, "mode", ch->mode);
        cJSON_AddStringToObject(c, "range", ch->range);
        cJSON_AddStringToObject(c, "comment", ch->comment);
        cJSON_AddNumberToObject(c, "samples", (double)rows);
        cJSON_AddItemToArray(arr, c);
    }
    mt_csv_free(csv);
    return SVC_OK;
}

svc_status svc_drive_channels(db_pool *pool, const svc_actor *a, const char *data_dir, long long id,
                           int utc_offset_minutes, cJSON **out, svc_error *e)
{
    db_drive_item it;
    file_map m = {-1, NULL, 0};
    cJSON *o = NULL;
    svc_status rc;

    *out = NULL;
    if ((rc = drive_viewable_record(pool, a, id, &it, e)) != SVC_OK) {
        return rc;
    }
    if (strcmp(it.kind, "hioki_csv") == 0 && it.size > DRIVE_CSV_OPEN_MAX) {
        rc = svc_fail(e, SVC_INVALID, "too_large", NULL,
                      "the server reads the channels of CSV files up to %lld bytes; "
                      "download this one and open it in the viewer",
                      DRIVE_CSV_OPEN_MAX);
        goto out;
    }
    if ((rc = drive_map_item(pool, data_dir, a->account_id, &it, &m, e)) != SVC_OK) {
        goto out;
    }
    if ((o = cJSON_CreateObject()) == NULL) {
        rc = fail_db(e, DB_ERROR);
        goto out;
    }
    cJSON_AddNumberToObject(o, "file_id", (double)id);
    cJSON_AddStringToObject(o, "kind", it.kind);
    if (strcmp(it.kind, "hioki_csv") == 0) {
        rc = csv_channels(&m, utc_offset_minutes, o, e);
    } else {
        rc = hok_channels(&m, o, e);
    }
    if (rc == SVC_OK) {
        *out = o;
        o = NULL;
    }
out:
    cJSON_Delete(o);
    drive_map_close(&m);
    db_drive_item_clear(&it);
    return rc;
}
