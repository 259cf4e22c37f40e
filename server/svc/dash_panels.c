/* The panels of a dashboard: reading, layout rules, canonical JSON (see
 * dash_panels.h). Input is a parsed JSON body (http.c has checked its
 * UTF-8, size and depth); nothing here recurses on it. */
#define _POSIX_C_SOURCE 200809L
#include "dash_panels.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[DASH_KIND_COUNT_] = {
    "graph_value", "graph", "value", "picture", "image_values", "alarm"};
static const char *const window_names[DASH_WINDOW_COUNT_] = {"hour", "day", "week"};

/* Default size of a panel placed by the server (M6), per kind. */
static const int default_w[DASH_KIND_COUNT_] = {6, 6, 3, 4, 6, 4};
static const int default_h[DASH_KIND_COUNT_] = {4, 4, 2, 4, 5, 4};

const char *dash_kind_name(dash_kind k)
{
    return k >= 0 && k < DASH_KIND_COUNT_ ? kind_names[k] : "?";
}

const char *dash_window_name(dash_window w)
{
    return w >= 0 && w < DASH_WINDOW_COUNT_ ? window_names[w] : "?";
}

int64_t dash_window_us(dash_window w)
{
    static const int64_t us[DASH_WINDOW_COUNT_] = {3600000000LL, 86400000000LL,
                                                   7 * 86400000000LL};
    return w >= 0 && w < DASH_WINDOW_COUNT_ ? us[w] : us[0];
}

static bool has_graph(dash_kind k)
{
    return k == DASH_GRAPH_VALUE || k == DASH_GRAPH;
}

static bool has_channels(dash_kind k)
{
    return k == DASH_GRAPH_VALUE || k == DASH_GRAPH || k == DASH_VALUE;
}

static bool has_picture(dash_kind k)
{
    return k == DASH_PICTURE || k == DASH_IMAGE_VALUES;
}

/* ------------------------------------------------------------- refusals */

/* Fail with "code" on member "field" (printf-formatted into e->field_buf). */
static svc_status bad(svc_error *e, const char *code, const char *field, const char *fmt, ...)
    MT_PRINTF(4, 5);

static svc_status bad(svc_error *e, const char *code, const char *field, const char *fmt, ...)
{
    va_list ap;
    svc_fail(e, SVC_INVALID, code, NULL, NULL);
    snprintf(e->field_buf, sizeof e->field_buf, "%s", field);
    e->field = e->field_buf;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    return SVC_INVALID;
}

/* ------------------------------------------------------------- members */

/* Characters of UTF-8 text (the body's UTF-8 was checked by http.c). */
static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s != '\0'; s++) {
        n += ((unsigned char)*s & 0xC0) != 0x80;
    }
    return n;
}

/* Whether "s" holds a control character (C0, DEL or C1). */
static bool has_control(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        if (*p < 0x20 || *p == 0x7F || (*p == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F)) {
            return true;
        }
    }
    return false;
}

/* An integer member "name" of "obj" in lo..hi into *out; absent: *out =
 * "def" unless "required" (def < lo means required). */
static svc_status get_int(const cJSON *obj, const char *name, const char *at, int lo, int hi,
                          int def, bool required, int *out, svc_error *e)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    char field[128];
    snprintf(field, sizeof field, "%s.%s", at, name);
    if (v == NULL || cJSON_IsNull(v)) {
        if (required) {
            return bad(e, "missing", field, "'%s' is required", field);
        }
        *out = def;
        return SVC_OK;
    }
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble)) {
        return bad(e, "wrong_type", field, "'%s' must be a whole number", field);
    }
    if (v->valuedouble < lo || v->valuedouble > hi) {
        return bad(e, "invalid_value", field, "'%s' must be %d to %d", field, lo, hi);
    }
    *out = (int)v->valuedouble;
    return SVC_OK;
}

/* A text member: at most "max" characters, no control characters;
 * absent or null: "" (or *present false). */
static svc_status get_text(const cJSON *obj, const char *name, const char *at, size_t max,
                           char *out, size_t cap, bool *present, svc_error *e)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    char field[128];
    snprintf(field, sizeof field, "%s.%s", at, name);
    out[0] = '\0';
    if (present != NULL) {
        *present = false;
    }
    if (v == NULL || cJSON_IsNull(v)) {
        return SVC_OK;
    }
    if (!cJSON_IsString(v)) {
        return bad(e, "wrong_type", field, "'%s' must be text", field);
    }
    if (utf8_chars(v->valuestring) > max || strlen(v->valuestring) >= cap) {
        return bad(e, "too_long", field, "'%s' may have at most %zu characters", field, max);
    }
    if (has_control(v->valuestring)) {
        return bad(e, "invalid_value", field, "'%s' may not hold control characters", field);
    }
    memcpy(out, v->valuestring, strlen(v->valuestring) + 1);
    if (present != NULL) {
        *present = true;
    }
    return SVC_OK;
}

/* A channel or picture id: a whole number 1..2^53. */
static bool id_value(const cJSON *v, int64_t *out)
{
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= 1 && v->valuedouble <= 9007199254740992.0) ||
        v->valuedouble != floor(v->valuedouble)) {
        return false;
    }
    *out = (int64_t)v->valuedouble;
    return true;
}

/* Refuse members of "obj" not in "allowed" (NULL-terminated). */
static svc_status only(const cJSON *obj, const char *const *allowed, const char *at,
                       svc_error *e)
{
    const cJSON *m;
    cJSON_ArrayForEach(m, obj)
    {
        bool ok = false;
        for (const char *const *a = allowed; *a != NULL && !ok; a++) {
            ok = m->string != NULL && strcmp(m->string, *a) == 0;
        }
        if (!ok) {
            char field[128];
            snprintf(field, sizeof field, "%s.%.40s", at, m->string != NULL ? m->string : "?");
            return bad(e, "unknown_field", field, "unknown field '%s'", field);
        }
    }
    return SVC_OK;
}

static svc_status get_enum(const cJSON *obj, const char *name, const char *at,
                           const char *const *names, int count, int def, int *out, svc_error *e)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    char field[128];
    snprintf(field, sizeof field, "%s.%s", at, name);
    if (v == NULL || cJSON_IsNull(v)) {
        if (def < 0) {
            return bad(e, "missing", field, "'%s' is required", field);
        }
        *out = def;
        return SVC_OK;
    }
    if (cJSON_IsString(v)) {
        for (int i = 0; i < count; i++) {
            if (strcmp(v->valuestring, names[i]) == 0) {
                *out = i;
                return SVC_OK;
            }
        }
    }
    {
        char list[160] = "";
        for (int i = 0; i < count; i++) {
            size_t used = strlen(list);
            snprintf(list + used, sizeof list - used, "%s'%s'",
                     i == 0 ? "" : i == count - 1 ? " or " : ", ", names[i]);
        }
        return bad(e, cJSON_IsString(v) ? "invalid_value" : "wrong_type", field,
                   "'%s' must be %s", field, list);
    }
}

/* A fraction 0..1 (a position on a picture). */
static svc_status get_frac(const cJSON *obj, const char *name, const char *at, double *out,
                           svc_error *e)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    char field[128];
    snprintf(field, sizeof field, "%s.%s", at, name);
    if (v == NULL || cJSON_IsNull(v)) {
        return bad(e, "missing", field, "'%s' is required", field);
    }
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0 && v->valuedouble <= 1)) {
        return bad(e, cJSON_IsNumber(v) ? "invalid_value" : "wrong_type", field,
                   "'%s' must be a number from 0 to 1 (a fraction of the picture)", field);
    }
    /* Kept to 1/10000 of the picture: finer than any screen shows. */
    *out = round(v->valuedouble * 10000.0) / 10000.0;
    return SVC_OK;
}

static bool colour_valid(const char *s)
{
    if (strlen(s) != 7 || s[0] != '#') {
        return false;
    }
    for (int i = 1; i < 7; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
            return false;
        }
    }
    return true;
}

static svc_status read_value(const cJSON *obj, const char *at, dash_value *v, svc_error *e)
{
    static const char *const allowed[] = {"channel_id", "x", "y", "size", "colour",
                                          "decimals", "unit", "show_name", NULL};
    const cJSON *m;
    char field[128], colour[32];
    svc_status rc;
    bool present = false;
    if (!cJSON_IsObject(obj)) {
        return bad(e, "wrong_type", at, "'%s' must be an object", at);
    }
    if ((rc = only(obj, allowed, at, e)) != SVC_OK) {
        return rc;
    }
    m = cJSON_GetObjectItemCaseSensitive(obj, "channel_id");
    snprintf(field, sizeof field, "%s.channel_id", at);
    if (m == NULL || cJSON_IsNull(m)) {
        return bad(e, "missing", field, "'%s' is required", field);
    }
    if (!id_value(m, &v->channel_id)) {
        return bad(e, "wrong_type", field, "'%s' must be a channel id", field);
    }
    if ((rc = get_frac(obj, "x", at, &v->x, e)) != SVC_OK ||
        (rc = get_frac(obj, "y", at, &v->y, e)) != SVC_OK ||
        (rc = get_int(obj, "size", at, DASH_SIZE_MIN, DASH_SIZE_MAX, 24, false, &v->size, e)) !=
            SVC_OK ||
        (rc = get_int(obj, "decimals", at, 0, 9, -1, false, &v->decimals, e)) != SVC_OK ||
        (rc = get_text(obj, "unit", at, DASH_UNIT_MAX, v->unit, sizeof v->unit, &v->has_unit,
                       e)) != SVC_OK ||
        (rc = get_text(obj, "colour", at, 7, colour, sizeof colour, &present, e)) != SVC_OK) {
        return rc;
    }
    snprintf(field, sizeof field, "%s.colour", at);
    if (present && !colour_valid(colour)) {
        return bad(e, "invalid_value", field, "'%s' must be a colour written #rrggbb", field);
    }
    /* Checked above: "#rrggbb", 7 characters and the NUL. */
    memcpy(v->colour, present ? colour : "#111111", sizeof v->colour);
    for (char *c = v->colour + 1; *c != '\0'; c++) {
        *c = (char)(*c >= 'A' && *c <= 'F' ? *c - 'A' + 'a' : *c);
    }
    m = cJSON_GetObjectItemCaseSensitive(obj, "show_name");
    snprintf(field, sizeof field, "%s.show_name", at);
    if (m != NULL && !cJSON_IsNull(m) && !cJSON_IsBool(m)) {
        return bad(e, "wrong_type", field, "'%s' must be true or false", field);
    }
    v->show_name = cJSON_IsTrue(m);
    return SVC_OK;
}

static bool id_valid(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > DASH_ID_MAX) {
        return false;
    }
    for (; *s != '\0'; s++) {
        char c = *s;
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              c == '_' || c == '-')) {
            return false;
        }
    }
    return true;
}

/* Read panel object "obj" (named "at" in refusals) into "p"; with "place"
 * its position may be absent (x, y = -1). */
static svc_status read_panel(const cJSON *obj, const char *at, bool place, dash_panel *p,
                             svc_error *e)
{
    static const char *const allowed[] = {"id",       "kind",   "title",      "x",
                                          "y",        "w",      "h",          "channels",
                                          "window",   "picture_id", "values", NULL};
    const cJSON *m, *item;
    char field[128], id[64];
    svc_status rc;
    int kind = 0, window = 0;
    bool present = false;
    memset(p, 0, sizeof *p);
    if (!cJSON_IsObject(obj)) {
        return bad(e, "wrong_type", at, "'%s' must be an object", at);
    }
    if ((rc = only(obj, allowed, at, e)) != SVC_OK ||
        (rc = get_enum(obj, "kind", at, kind_names, DASH_KIND_COUNT_, -1, &kind, e)) != SVC_OK) {
        return rc;
    }
    p->kind = (dash_kind)kind;
    if ((rc = get_text(obj, "id", at, DASH_ID_MAX, id, sizeof id, &present, e)) != SVC_OK) {
        return rc;
    }
    snprintf(field, sizeof field, "%s.id", at);
    if (present && !id_valid(id)) {
        return bad(e, "invalid_value", field,
                   "'%s' must be 1 to %d letters, digits, '_' or '-'", field, DASH_ID_MAX);
    }
    if (present) {
        size_t n = strlen(id); /* at most DASH_ID_MAX: checked above */
        memcpy(p->id, id, n);
        p->id[n] = '\0';
    } else {
        p->id[0] = '\0';
    }
    if ((rc = get_text(obj, "title", at, DASH_TITLE_MAX, p->title, sizeof p->title, NULL, e)) !=
            SVC_OK ||
        (rc = get_int(obj, "w", at, 1, DASH_GRID_COLS, default_w[p->kind], false, &p->w, e)) !=
            SVC_OK ||
        (rc = get_int(obj, "h", at, 1, DASH_MAX_H, default_h[p->kind], false, &p->h, e)) !=
            SVC_OK ||
        (rc = get_int(obj, "x", at, 0, DASH_GRID_COLS - 1, place ? -1 : 0, !place, &p->x, e)) !=
            SVC_OK ||
        (rc = get_int(obj, "y", at, 0, DASH_MAX_ROWS - 1, place ? -1 : 0, !place, &p->y, e)) !=
            SVC_OK) {
        return rc;
    }
    if (p->x >= 0 && p->x + p->w > DASH_GRID_COLS) {
        snprintf(field, sizeof field, "%s.w", at);
        return bad(e, "invalid_value", field,
                   "'%s' reaches past the grid's %d columns: x + w must be at most %d", at,
                   DASH_GRID_COLS, DASH_GRID_COLS);
    }
    if (p->y >= 0 && p->y + p->h > DASH_MAX_ROWS) {
        snprintf(field, sizeof field, "%s.h", at);
        return bad(e, "invalid_value", field, "'%s' reaches past row %d", at, DASH_MAX_ROWS);
    }
    /* The members of the kind; the others are left out of what is stored. */
    if ((rc = get_enum(obj, "window", at, window_names, DASH_WINDOW_COUNT_, DASH_DAY, &window,
                       e)) != SVC_OK) {
        return rc;
    }
    p->window = has_graph(p->kind) ? (dash_window)window : DASH_DAY;
    m = cJSON_GetObjectItemCaseSensitive(obj, "channels");
    snprintf(field, sizeof field, "%s.channels", at);
    if (has_channels(p->kind)) {
        if (m == NULL || cJSON_IsNull(m)) {
            return bad(e, "missing", field, "'%s' is required: the channels the panel shows",
                       field);
        }
        if (!cJSON_IsArray(m)) {
            return bad(e, "wrong_type", field, "'%s' must be a list of channel ids", field);
        }
        if (cJSON_GetArraySize(m) < 1 || cJSON_GetArraySize(m) > DASH_MAX_PANEL_CHANNELS) {
            return bad(e, cJSON_GetArraySize(m) < 1 ? "invalid_value" : "too_many", field,
                       "a panel shows 1 to %d channels, not %d", DASH_MAX_PANEL_CHANNELS,
                       cJSON_GetArraySize(m));
        }
        cJSON_ArrayForEach(item, m)
        {
            int64_t ch = 0;
            if (!id_value(item, &ch)) {
                return bad(e, "wrong_type", field, "'%s[%d]' must be a channel id", field,
                           p->n_channels);
            }
            for (int k = 0; k < p->n_channels; k++) {
                if (p->channels[k] == ch) {
                    return bad(e, "duplicate", field, "'%s' names channel %lld twice", field,
                               (long long)ch);
                }
            }
            p->channels[p->n_channels++] = ch;
        }
    } else if (m != NULL && !cJSON_IsNull(m) &&
               !(cJSON_IsArray(m) && cJSON_GetArraySize(m) == 0)) {
        return bad(e, "invalid_value", field, "a %s panel has no 'channels'%s",
                   dash_kind_name(p->kind),
                   p->kind == DASH_IMAGE_VALUES ? ": its values name their channels" : "");
    }
    m = cJSON_GetObjectItemCaseSensitive(obj, "picture_id");
    snprintf(field, sizeof field, "%s.picture_id", at);
    if (has_picture(p->kind)) {
        if (m == NULL || cJSON_IsNull(m)) {
            return bad(e, "missing", field, "'%s' is required: upload a picture first", field);
        }
        if (!id_value(m, &p->picture_id)) {
            return bad(e, "wrong_type", field, "'%s' must be a picture id", field);
        }
    }
    m = cJSON_GetObjectItemCaseSensitive(obj, "values");
    snprintf(field, sizeof field, "%s.values", at);
    if (p->kind == DASH_IMAGE_VALUES && m != NULL && !cJSON_IsNull(m)) {
        if (!cJSON_IsArray(m)) {
            return bad(e, "wrong_type", field, "'%s' must be a list", field);
        }
        if (cJSON_GetArraySize(m) > DASH_MAX_VALUES) {
            return bad(e, "too_many", field, "a picture holds at most %d values, not %d",
                       DASH_MAX_VALUES, cJSON_GetArraySize(m));
        }
        cJSON_ArrayForEach(item, m)
        {
            char vat[96];
            snprintf(vat, sizeof vat, "%s.values[%d]", at, p->n_values);
            if ((rc = read_value(item, vat, &p->values[p->n_values], e)) != SVC_OK) {
                return rc;
            }
            p->n_values++;
        }
    }
    return SVC_OK;
}

/* ------------------------------------------------------------- layout */

static bool overlap(const dash_panel *a, const dash_panel *b)
{
    return a->x < b->x + b->w && b->x < a->x + a->w && a->y < b->y + b->h && b->y < a->y + a->h;
}

/* Panel "k" of "ps" against the panels before it: ids unique, no overlap. */
static svc_status check_against(const dash_panels *ps, size_t k, const char *at, svc_error *e)
{
    const dash_panel *p = &ps->p[k];
    for (size_t i = 0; i < k; i++) {
        char field[128];
        if (strcmp(ps->p[i].id, p->id) == 0) {
            snprintf(field, sizeof field, "%s.id", at);
            return bad(e, "duplicate", field, "panel id '%s' is used twice", p->id);
        }
        if (overlap(&ps->p[i], p)) {
            return bad(e, "overlap", at,
                       "'%s' (columns %d-%d, rows %d-%d) overlaps panel '%s' (columns %d-%d, "
                       "rows %d-%d)",
                       at, p->x, p->x + p->w - 1, p->y, p->y + p->h - 1, ps->p[i].id,
                       ps->p[i].x, ps->p[i].x + ps->p[i].w - 1, ps->p[i].y,
                       ps->p[i].y + ps->p[i].h - 1);
        }
    }
    return SVC_OK;
}

/* Give panel "k" an id when it came without one: "p<n>" not in use. */
static void name_panel(dash_panels *ps, size_t k)
{
    if (ps->p[k].id[0] != '\0') {
        return;
    }
    for (unsigned n = 1;; n++) {
        bool used = false;
        snprintf(ps->p[k].id, sizeof ps->p[k].id, "p%u", n);
        for (size_t i = 0; i < ps->n && !used; i++) {
            used = i != k && strcmp(ps->p[i].id, ps->p[k].id) == 0;
        }
        if (!used) {
            return;
        }
    }
}

svc_status dash_panels_read(const cJSON *arr, dash_panels *out, svc_error *e)
{
    const cJSON *item;
    int n;
    memset(out, 0, sizeof *out);
    if (!cJSON_IsArray(arr)) {
        return bad(e, "wrong_type", "panels", "'panels' must be a list of panels");
    }
    n = cJSON_GetArraySize(arr);
    if (n > DASH_MAX_PANELS) {
        return bad(e, "too_many", "panels", "a dashboard holds at most %d panels, not %d",
                   DASH_MAX_PANELS, n);
    }
    out->p = calloc(n > 0 ? (size_t)n : 1, sizeof *out->p);
    if (out->p == NULL) {
        return svc_fail_nomem(e);
    }
    cJSON_ArrayForEach(item, arr)
    {
        char at[32];
        svc_status rc;
        snprintf(at, sizeof at, "panels[%zu]", out->n);
        if ((rc = read_panel(item, at, false, &out->p[out->n], e)) != SVC_OK) {
            return rc;
        }
        out->n++;
    }
    /* Ids given first, so that a generated one never takes a given one. */
    for (size_t k = 0; k < out->n; k++) {
        char at[32];
        svc_status rc;
        snprintf(at, sizeof at, "panels[%zu]", k);
        if (out->p[k].id[0] == '\0') {
            continue;
        }
        if ((rc = check_against(out, k, at, e)) != SVC_OK) {
            return rc;
        }
    }
    for (size_t k = 0; k < out->n; k++) {
        char at[32];
        svc_status rc;
        snprintf(at, sizeof at, "panels[%zu]", k);
        if (out->p[k].id[0] != '\0') {
            continue;
        }
        name_panel(out, k);
        if ((rc = check_against(out, k, at, e)) != SVC_OK) {
            return rc;
        }
    }
    return SVC_OK;
}

svc_status dash_panels_add(dash_panels *ps, const cJSON *obj, bool place, svc_error *e)
{
    dash_panel *grown, *p;
    svc_status rc;
    if (ps->n >= DASH_MAX_PANELS) {
        return bad(e, "too_many", "panel", "the dashboard holds %d panels already: at most %d",
                   DASH_MAX_PANELS, DASH_MAX_PANELS);
    }
    grown = realloc(ps->p, (ps->n + 1) * sizeof *ps->p);
    if (grown == NULL) {
        return svc_fail_nomem(e);
    }
    ps->p = grown;
    p = &ps->p[ps->n];
    if ((rc = read_panel(obj, "panel", place, p, e)) != SVC_OK) {
        return rc;
    }
    if (p->x < 0 || p->y < 0) {
        /* The first free place in reading order (row by row, left to right)
         * where the panel fits: the grid fills up without holes. */
        bool placed = false;
        for (int y = 0; y + p->h <= DASH_MAX_ROWS && !placed; y++) {
            for (int x = 0; x + p->w <= DASH_GRID_COLS && !placed; x++) {
                bool free_here = true;
                p->x = x;
                p->y = y;
                for (size_t i = 0; i < ps->n && free_here; i++) {
                    free_here = !overlap(&ps->p[i], p);
                }
                placed = free_here;
            }
        }
        if (!placed) {
            return bad(e, "invalid_value", "panel", "the dashboard is full: no room for the panel");
        }
    }
    ps->n++;
    name_panel(ps, ps->n - 1);
    if ((rc = check_against(ps, ps->n - 1, "panel", e)) != SVC_OK) {
        ps->n--;
        return rc;
    }
    return SVC_OK;
}

void dash_panels_free(dash_panels *ps)
{
    if (ps != NULL) {
        free(ps->p);
        ps->p = NULL;
        ps->n = 0;
    }
}

/* ------------------------------------------------------------- output */

/* cJSON prints numbers with %1.15g and reads them back; whole numbers and
 * the 1/10000 fractions of positions come out exactly. */
static cJSON *value_json(const dash_value *v)
{
    cJSON *o = cJSON_CreateObject();
    if (o == NULL) {
        return NULL;
    }
    cJSON_AddNumberToObject(o, "channel_id", (double)v->channel_id);
    cJSON_AddNumberToObject(o, "x", v->x);
    cJSON_AddNumberToObject(o, "y", v->y);
    cJSON_AddNumberToObject(o, "size", v->size);
    cJSON_AddStringToObject(o, "colour", v->colour);
    if (v->decimals >= 0) {
        cJSON_AddNumberToObject(o, "decimals", v->decimals);
    } else {
        cJSON_AddNullToObject(o, "decimals");
    }
    if (v->has_unit) {
        cJSON_AddStringToObject(o, "unit", v->unit);
    } else {
        cJSON_AddNullToObject(o, "unit");
    }
    cJSON_AddBoolToObject(o, "show_name", v->show_name);
    return o;
}

static cJSON *panel_json(const dash_panel *p)
{
    cJSON *o = cJSON_CreateObject(), *arr;
    if (o == NULL) {
        return NULL;
    }
    cJSON_AddStringToObject(o, "id", p->id);
    cJSON_AddStringToObject(o, "kind", dash_kind_name(p->kind));
    cJSON_AddStringToObject(o, "title", p->title);
    cJSON_AddNumberToObject(o, "x", p->x);
    cJSON_AddNumberToObject(o, "y", p->y);
    cJSON_AddNumberToObject(o, "w", p->w);
    cJSON_AddNumberToObject(o, "h", p->h);
    if (has_channels(p->kind)) {
        arr = cJSON_AddArrayToObject(o, "channels");
        for (int i = 0; arr != NULL && i < p->n_channels; i++) {
            cJSON_AddItemToArray(arr, cJSON_CreateNumber((double)p->channels[i]));
        }
    }
    if (has_graph(p->kind)) {
        cJSON_AddStringToObject(o, "window", dash_window_name(p->window));
    }
    if (has_picture(p->kind)) {
        cJSON_AddNumberToObject(o, "picture_id", (double)p->picture_id);
    }
    if (p->kind == DASH_IMAGE_VALUES) {
        arr = cJSON_AddArrayToObject(o, "values");
        for (int i = 0; arr != NULL && i < p->n_values; i++) {
            cJSON_AddItemToArray(arr, value_json(&p->values[i]));
        }
    }
    return o;
}

cJSON *dash_panels_json(const dash_panels *ps)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; arr != NULL && i < ps->n; i++) {
        cJSON *o = panel_json(&ps->p[i]);
        if (o == NULL) {
            cJSON_Delete(arr);
            return NULL;
        }
        cJSON_AddItemToArray(arr, o);
    }
    return arr;
}

static size_t add_distinct(int64_t id, int64_t *out, size_t cap, size_t n)
{
    for (size_t i = 0; i < n && i < cap; i++) {
        if (out[i] == id) {
            return n;
        }
    }
    /* Past "cap" the ids cannot be compared any more: each one counts. */
    if (n < cap) {
        out[n] = id;
    }
    return n + 1;
}

size_t dash_panels_channel_ids(const dash_panels *ps, int64_t *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < ps->n; i++) {
        const dash_panel *p = &ps->p[i];
        for (int k = 0; k < p->n_channels; k++) {
            n = add_distinct(p->channels[k], out, cap, n);
        }
        for (int k = 0; k < p->n_values; k++) {
            n = add_distinct(p->values[k].channel_id, out, cap, n);
        }
    }
    return n;
}

size_t dash_panels_picture_ids(const dash_panels *ps, int64_t *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < ps->n; i++) {
        if (has_picture(ps->p[i].kind)) {
            n = add_distinct(ps->p[i].picture_id, out, cap, n);
        }
    }
    return n;
}

void dash_panels_windows(const dash_panels *ps, const int64_t *ids, size_t n, unsigned *mask)
{
    for (size_t j = 0; j < n; j++) {
        mask[j] = 0;
    }
    for (size_t i = 0; i < ps->n; i++) {
        const dash_panel *p = &ps->p[i];
        if (!has_graph(p->kind)) {
            continue;
        }
        for (int k = 0; k < p->n_channels; k++) {
            for (size_t j = 0; j < n; j++) {
                if (ids[j] == p->channels[k]) {
                    mask[j] |= 1u << p->window;
                }
            }
        }
    }
}
