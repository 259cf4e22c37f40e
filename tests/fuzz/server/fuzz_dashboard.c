/* Fuzz target for the dashboard's readers of outside input: the picture
 * header reader (server/base/picture_info.c) and the panel list reader
 * (server/svc/dash_panels.c). The first byte picks what the rest is fed to:
 *   - even: the bytes as an uploaded picture; an accepted one has a known
 *     type and both sides within 1..PICTURE_MAX_SIDE;
 *   - odd: the bytes as a JSON body (strict UTF-8, no NUL, json_guard(),
 *     then cJSON, as http.c does) whose "panels" go to dash_panels_read()
 *     and whose "panel" goes to dash_panels_add(). What is accepted keeps
 *     its promises: at most DASH_MAX_PANELS panels inside the grid, none
 *     overlapping, ids unique and well-formed, values within their ranges;
 *     and the canonical JSON reads back to itself (idempotent). A refusal
 *     always names a member. Never a crash. */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dash_panels.h"
#include "http.h"
#include "json_guard.h"
#include "picture_info.h"

static void check_picture(const uint8_t *data, size_t size)
{
    picture_info info;
    char msg[160];
    if (picture_info_read(data, size, &info, msg, sizeof msg) != 0) {
        if (msg[0] == '\0' || strlen(msg) >= sizeof msg) {
            abort();
        }
        return;
    }
    if (info.width < 1 || info.height < 1 || info.width > PICTURE_MAX_SIDE ||
        info.height > PICTURE_MAX_SIDE ||
        (strcmp(info.content_type, "image/png") != 0 &&
         strcmp(info.content_type, "image/jpeg") != 0 &&
         strcmp(info.content_type, "image/gif") != 0 &&
         strcmp(info.content_type, "image/webp") != 0)) {
        abort();
    }
}

static void check_panels(const dash_panels *ps)
{
    if (ps->n > DASH_MAX_PANELS) {
        abort();
    }
    for (size_t i = 0; i < ps->n; i++) {
        const dash_panel *p = &ps->p[i];
        size_t id_len = strlen(p->id);
        if (id_len < 1 || id_len > DASH_ID_MAX || p->kind < 0 || p->kind >= DASH_KIND_COUNT_ ||
            p->x < 0 || p->w < 1 || p->x + p->w > DASH_GRID_COLS || p->y < 0 || p->h < 1 ||
            p->h > DASH_MAX_H || p->y + p->h > DASH_MAX_ROWS || p->n_channels < 0 ||
            p->n_channels > DASH_MAX_PANEL_CHANNELS || p->n_values < 0 ||
            p->n_values > DASH_MAX_VALUES) {
            abort();
        }
        for (int k = 0; k < p->n_channels; k++) {
            if (p->channels[k] < 1) {
                abort();
            }
        }
        for (int k = 0; k < p->n_values; k++) {
            const dash_value *v = &p->values[k];
            if (v->channel_id < 1 || !(v->x >= 0 && v->x <= 1) || !(v->y >= 0 && v->y <= 1) ||
                v->size < DASH_SIZE_MIN || v->size > DASH_SIZE_MAX || v->decimals < -1 ||
                v->decimals > 9 || strlen(v->colour) != 7) {
                abort();
            }
        }
        for (size_t j = 0; j < i; j++) {
            const dash_panel *q = &ps->p[j];
            if (strcmp(p->id, q->id) == 0 ||
                (p->x < q->x + q->w && q->x < p->x + p->w && p->y < q->y + q->h &&
                 q->y < p->y + p->h)) {
                abort();
            }
        }
    }
}

/* The canonical JSON of "ps" reads back to the same text. */
static void check_round_trip(const dash_panels *ps)
{
    cJSON *json = dash_panels_json(ps), *again_json = NULL;
    char *text = json != NULL ? cJSON_PrintUnformatted(json) : NULL, *again_text = NULL;
    dash_panels again = {0};
    svc_error e;
    if (text == NULL) {
        cJSON_Delete(json);
        return; /* out of memory */
    }
    if (dash_panels_read(json, &again, &e) != SVC_OK) {
        abort();
    }
    again_json = dash_panels_json(&again);
    again_text = again_json != NULL ? cJSON_PrintUnformatted(again_json) : NULL;
    if (again_text != NULL && strcmp(text, again_text) != 0) {
        abort();
    }
    free(text);
    free(again_text);
    cJSON_Delete(json);
    cJSON_Delete(again_json);
    dash_panels_free(&again);
}

static void check_body(const uint8_t *data, size_t size)
{
    char *text;
    cJSON *body;
    dash_panels ps = {0};
    svc_error e;
    const cJSON *arr, *one;
    if (!http_utf8_valid(data, size) || memchr(data, '\0', size) != NULL) {
        return;
    }
    if ((text = malloc(size + 1)) == NULL) {
        return;
    }
    memcpy(text, data, size);
    text[size] = '\0';
    if (json_guard(text, size, JSON_MAX_DEPTH, NULL) != JSON_GUARD_OK) {
        free(text);
        return;
    }
    body = cJSON_ParseWithLengthOpts(text, size + 1, NULL, 1);
    free(text);
    if (body == NULL) {
        return;
    }
    arr = cJSON_GetObjectItemCaseSensitive(body, "panels");
    memset(&e, 0, sizeof e);
    if (dash_panels_read(arr != NULL ? arr : body, &ps, &e) == SVC_OK) {
        check_panels(&ps);
        check_round_trip(&ps);
        one = cJSON_GetObjectItemCaseSensitive(body, "panel");
        if (one != NULL) {
            if (dash_panels_add(&ps, one, true, &e) == SVC_OK) {
                check_panels(&ps);
                check_round_trip(&ps);
            } else if (e.status == SVC_INVALID && e.field == NULL) {
                abort();
            }
        }
    } else if (e.status == SVC_INVALID && (e.field == NULL || e.message[0] == '\0')) {
        abort();
    }
    dash_panels_free(&ps);
    cJSON_Delete(body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return 0;
    }
    if (data[0] % 2 == 0) {
        check_picture(data + 1, size - 1);
    } else {
        check_body(data + 1, size - 1);
    }
    return 0;
}
