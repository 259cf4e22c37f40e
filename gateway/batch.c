/* Spool entries and ingestion batches (see batch.h). */
#include "batch.h"
#include "errtext.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mt/types.h"

/* ---------------------------------------------------------------- buffer */

static int reserve(gw_buf *b, size_t n)
{
    if (b->oom) {
        return -1;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        char *p;
        while (cap < b->len + n + 1) {
            cap *= 2;
        }
        p = realloc(b->p, cap);
        if (p == NULL) {
            b->oom = 1;
            return -1;
        }
        b->p = p;
        b->cap = cap;
    }
    return 0;
}

void gw_buf_add(gw_buf *b, const char *s, size_t n)
{
    if (reserve(b, n) == 0) {
        memcpy(b->p + b->len, s, n);
        b->len += n;
        b->p[b->len] = '\0';
    }
}

void gw_buf_str(gw_buf *b, const char *s)
{
    gw_buf_add(b, s, strlen(s));
}

void gw_buf_fmt(gw_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || reserve(b, (size_t)n) != 0) {
        b->oom = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void gw_buf_value(gw_buf *b, double v)
{
    mt_sv k = mt_sv_kind(v);
    if (k == MT_SV_NONE) {
        char num[32];
        int n = snprintf(num, sizeof num, "%.10g", v);
        gw_buf_add(b, num, (size_t)n);
    } else {
        gw_buf_fmt(b, "\"%s\"", mt_sv_name(k));
    }
}

void gw_buf_json_str(gw_buf *b, const char *s)
{
    gw_buf_add(b, "\"", 1);
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            gw_buf_add(b, esc, 2);
        } else if (c < 0x20) {
            gw_buf_fmt(b, "\\u%04x", c);
        } else {
            gw_buf_add(b, s, 1);
        }
    }
    gw_buf_add(b, "\"", 1);
}

void gw_buf_free(gw_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

/* ------------------------------------------------------------ spool entry */

int gw_batch_id_valid(const char *id)
{
    size_t n = 0;
    for (const char *p = id; *p != '\0'; p++, n++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '-')) {
            return 0;
        }
    }
    return n >= 1 && n <= GW_BATCH_ID_MAX;
}

char *gw_entry_format(const char *batch_id, const gw_instrument *ins, size_t n_ins,
                      const int64_t *t, size_t n_t, const double *v, size_t *len)
{
    gw_buf b = {0};
    size_t n_keys = 0;
    gw_buf_str(&b, "{\"batch_id\":");
    gw_buf_json_str(&b, batch_id);
    gw_buf_str(&b, ",\"devices\":[");
    for (size_t i = 0; i < n_ins; i++) {
        gw_buf_str(&b, i ? ",{\"model\":" : "{\"model\":");
        gw_buf_json_str(&b, ins[i].model);
        gw_buf_str(&b, ",\"serial\":");
        gw_buf_json_str(&b, ins[i].serial);
        gw_buf_str(&b, ",\"keys\":[");
        for (size_t c = 0; c < ins[i].n_ch; c++) {
            if (c) {
                gw_buf_add(&b, ",", 1);
            }
            gw_buf_json_str(&b, ins[i].ch[c].key);
        }
        gw_buf_str(&b, "]}");
        n_keys += ins[i].n_ch;
    }
    gw_buf_str(&b, "],\"t\":[");
    for (size_t j = 0; j < n_t; j++) {
        gw_buf_fmt(&b, j ? ",%lld" : "%lld", (long long)t[j]);
    }
    gw_buf_str(&b, "],\"v\":[");
    for (size_t j = 0; j < n_t; j++) {
        gw_buf_str(&b, j ? ",[" : "[");
        for (size_t k = 0; k < n_keys; k++) {
            if (k) {
                gw_buf_add(&b, ",", 1);
            }
            gw_buf_value(&b, v[j * n_keys + k]);
        }
        gw_buf_add(&b, "]", 1);
    }
    gw_buf_str(&b, "]}\n");
    if (b.oom) {
        gw_buf_free(&b);
        return NULL;
    }
    *len = b.len;
    return b.p;
}

void gw_entry_clear(gw_entry *e)
{
    if (e != NULL) {
        free(e->dev);
        free(e->key);
        free(e->t);
        free(e->v);
        memset(e, 0, sizeof *e);
    }
}

static int copy_str(const cJSON *m, char *out, size_t cap)
{
    if (!cJSON_IsString(m) || m->valuestring[0] == '\0' || strlen(m->valuestring) >= cap) {
        return -1;
    }
    memcpy(out, m->valuestring, strlen(m->valuestring) + 1);
    return 0;
}

static int parse_value(const cJSON *m, double *out)
{
    if (cJSON_IsNumber(m)) {
        if (!isfinite(m->valuedouble)) {
            return -1;
        }
        *out = m->valuedouble;
        return 0;
    }
    if (cJSON_IsString(m)) {
        for (int k = 1; k < MT_SV_COUNT; k++) {
            if (strcmp(m->valuestring, mt_sv_name((mt_sv)k)) == 0) {
                *out = mt_sv_value((mt_sv)k);
                return 0;
            }
        }
    }
    return -1;
}

int gw_entry_parse(const char *text, size_t len, gw_entry *e, char *err, size_t cap)
{
    cJSON *root = cJSON_ParseWithLength(text, len);
    const cJSON *id, *devs, *d, *ts, *vs, *m, *row;
    int rc = -1;
    size_t i = 0, total = 0, j = 0;

    if (root == NULL || !cJSON_IsObject(root)) {
        errtext_fail(err, cap, "not a JSON object");
        goto out;
    }
    id = cJSON_GetObjectItemCaseSensitive(root, "batch_id");
    if (copy_str(id, e->batch_id, sizeof e->batch_id) != 0 || !gw_batch_id_valid(e->batch_id)) {
        errtext_fail(err, cap, "batch_id: expected 1 to 64 of A-Z a-z 0-9 . _ : -");
        goto out;
    }
    devs = cJSON_GetObjectItemCaseSensitive(root, "devices");
    if (!cJSON_IsArray(devs) || cJSON_GetArraySize(devs) > GW_INSTRUMENTS_MAX) {
        errtext_fail(err, cap, "devices: expected an array of at most %d", GW_INSTRUMENTS_MAX);
        goto out;
    }
    /* Count the keys first so that every array is allocated once. */
    cJSON_ArrayForEach(d, devs) {
        const cJSON *keys = cJSON_GetObjectItemCaseSensitive(d, "keys");
        int n = cJSON_GetArraySize(keys);
        if (!cJSON_IsArray(keys) || n > GW_CHANNELS_MAX) {
            errtext_fail(err, cap, "devices[%zu].keys: expected an array of at most %d", i,
                         GW_CHANNELS_MAX);
            goto out;
        }
        total += (size_t)n;
        i++;
    }
    e->dev = calloc(i ? i : 1, sizeof *e->dev);
    e->key = calloc(total ? total : 1, sizeof *e->key);
    if (e->dev == NULL || e->key == NULL) {
        errtext_fail(err, cap, "out of memory");
        goto out;
    }
    i = 0;
    cJSON_ArrayForEach(d, devs) {
        gw_edev *ed = &e->dev[i];
        const cJSON *k;
        if (copy_str(cJSON_GetObjectItemCaseSensitive(d, "model"), ed->model, sizeof ed->model) ||
            copy_str(cJSON_GetObjectItemCaseSensitive(d, "serial"), ed->serial,
                     sizeof ed->serial)) {
            errtext_fail(err, cap, "devices[%zu]: expected model and serial", i);
            goto out;
        }
        ed->first = e->n_keys;
        cJSON_ArrayForEach(k, cJSON_GetObjectItemCaseSensitive(d, "keys")) {
            if (copy_str(k, e->key[e->n_keys], sizeof e->key[0]) != 0) {
                errtext_fail(err, cap, "devices[%zu].keys[%zu]: expected a channel key", i, ed->n);
                goto out;
            }
            e->n_keys++;
            ed->n++;
        }
        i++;
        e->n_dev = i;
    }
    ts = cJSON_GetObjectItemCaseSensitive(root, "t");
    vs = cJSON_GetObjectItemCaseSensitive(root, "v");
    if (!cJSON_IsArray(ts) || !cJSON_IsArray(vs) ||
        cJSON_GetArraySize(ts) != cJSON_GetArraySize(vs) ||
        cJSON_GetArraySize(ts) > GW_ENTRY_TIMES_MAX) {
        errtext_fail(err, cap, "t and v: expected arrays of the same length (at most %d)",
                     GW_ENTRY_TIMES_MAX);
        goto out;
    }
    e->n_t = (size_t)cJSON_GetArraySize(ts);
    if (e->n_keys > 0 && e->n_t > GW_ENTRY_VALUES_MAX / e->n_keys) {
        errtext_fail(err, cap, "more than %d values", GW_ENTRY_VALUES_MAX);
        goto out;
    }
    e->t = calloc(e->n_t ? e->n_t : 1, sizeof *e->t);
    e->v = calloc(e->n_t * e->n_keys > 0 ? e->n_t * e->n_keys : 1, sizeof *e->v);
    if (e->t == NULL || e->v == NULL) {
        errtext_fail(err, cap, "out of memory");
        goto out;
    }
    cJSON_ArrayForEach(m, ts) {
        double x = cJSON_IsNumber(m) ? m->valuedouble : -1;
        if (!(x >= 0 && x <= 9.0e15) || x != floor(x) || (j > 0 && (int64_t)x <= e->t[j - 1])) {
            errtext_fail(err, cap, "t[%zu]: expected increasing times in µs", j);
            goto out;
        }
        e->t[j++] = (int64_t)x;
    }
    j = 0;
    cJSON_ArrayForEach(row, vs) {
        size_t k = 0;
        if (!cJSON_IsArray(row) || (size_t)cJSON_GetArraySize(row) != e->n_keys) {
            errtext_fail(err, cap, "v[%zu]: expected %zu values", j, e->n_keys);
            goto out;
        }
        cJSON_ArrayForEach(m, row) {
            if (parse_value(m, &e->v[j * e->n_keys + k]) != 0) {
                errtext_fail(err, cap, "v[%zu][%zu]: expected a number or a special-value name", j,
                             k);
                goto out;
            }
            k++;
        }
        j++;
    }
    rc = 0;
out:
    cJSON_Delete(root);
    return rc;
}

typedef struct {
    int64_t id;
    size_t k;
} sel;

static int cmp_sel(const void *a, const void *b)
{
    const sel *x = a, *y = b;
    if (x->id != y->id) {
        return x->id < y->id ? -1 : 1;
    }
    return (x->k > y->k) - (x->k < y->k);
}

char *gw_entry_body(const gw_entry *e, const gw_table *tab, size_t *len, size_t *n_samples,
                    size_t *n_unknown)
{
    sel *s_ = malloc((e->n_keys ? e->n_keys : 1) * sizeof *s_);
    int64_t *ids = malloc((e->n_keys ? e->n_keys : 1) * sizeof *ids);
    size_t *idx = malloc((e->n_keys ? e->n_keys : 1) * sizeof *idx);
    size_t n_sel = 0, n_pairs = 0;
    gw_buf b = {0};
    *n_samples = 0;
    *n_unknown = 0;
    if (s_ == NULL || ids == NULL || idx == NULL) {
        free(s_);
        free(ids);
        free(idx);
        *n_samples = 1;
        return NULL;
    }
    for (size_t i = 0; i < e->n_dev; i++) {
        const gw_edev *ed = &e->dev[i];
        const gw_tdevice *d = gw_table_device(tab, ed->model, ed->serial);
        for (size_t k = ed->first; k < ed->first + ed->n; k++) {
            const gw_tchannel *c = d != NULL ? gw_table_channel(d, e->key[k]) : NULL;
            if (c == NULL) {
                (*n_unknown)++;
            } else if (c->selected) {
                s_[n_pairs].id = c->id;
                s_[n_pairs++].k = k;
            }
        }
    }
    /* A device or key listed twice in a damaged entry would send one
     * channel twice at one time, which the server refuses: keep the first. */
    qsort(s_, n_pairs, sizeof *s_, cmp_sel);
    for (size_t i = 0; i < n_pairs; i++) {
        if (i == 0 || s_[i].id != s_[i - 1].id) {
            ids[n_sel] = s_[i].id;
            idx[n_sel++] = s_[i].k;
        }
    }
    free(s_);
    if (n_sel == 0 || e->n_t == 0) {
        free(ids);
        free(idx);
        return NULL;
    }
    gw_buf_str(&b, "{\"batch_id\":");
    gw_buf_json_str(&b, e->batch_id);
    gw_buf_str(&b, ",\"snapshots\":[");
    for (size_t j = 0; j < e->n_t; j++) {
        gw_buf_fmt(&b, "%s{\"t\":%lld,\"ids\":[", j ? "," : "", (long long)e->t[j]);
        for (size_t s = 0; s < n_sel; s++) {
            gw_buf_fmt(&b, s ? ",%lld" : "%lld", (long long)ids[s]);
        }
        gw_buf_str(&b, "],\"v\":[");
        for (size_t s = 0; s < n_sel; s++) {
            if (s) {
                gw_buf_add(&b, ",", 1);
            }
            gw_buf_value(&b, e->v[j * e->n_keys + idx[s]]);
        }
        gw_buf_str(&b, "]}");
    }
    gw_buf_str(&b, "]}");
    free(ids);
    free(idx);
    *n_samples = n_sel * e->n_t;
    if (b.oom) {
        gw_buf_free(&b);
        return NULL;
    }
    *len = b.len;
    return b.p;
}
