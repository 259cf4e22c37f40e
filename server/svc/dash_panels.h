/* The panels of a dashboard (B1-B3; docs/dashboards.md): the model, the
 * reader of a client's panel list (every member checked, every refusal a
 * sentence naming the member), the layout rules of the grid and the
 * canonical JSON the server stores and answers. No database here: the
 * service (svc_dashboard.c) checks channels and pictures against the
 * account afterwards.
 *
 * The grid has DASH_GRID_COLS columns; a panel covers columns x..x+w-1
 * and rows y..y+h-1 and no two panels overlap. On a phone the portal
 * stacks the panels in the order (y, x). */
#ifndef MTS_DASH_PANELS_H
#define MTS_DASH_PANELS_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "svc.h"

#define DASH_GRID_COLS 12
#define DASH_MAX_H 24          /* rows one panel may span */
#define DASH_MAX_ROWS 480      /* y + h never passes this */
#define DASH_MAX_PANELS 40
#define DASH_MAX_PANEL_CHANNELS 8
#define DASH_MAX_VALUES 32     /* values on one picture (B3) */
#define DASH_MAX_CHANNELS 64   /* distinct channels one dashboard names */
#define DASH_TITLE_MAX 100     /* characters */
#define DASH_UNIT_MAX 16       /* characters */
#define DASH_ID_MAX 16         /* characters of a panel id: A-Z a-z 0-9 _ - */
#define DASH_SIZE_MIN 8        /* text size of a value on a picture (B3) */
#define DASH_SIZE_MAX 96

typedef enum {
    DASH_GRAPH_VALUE = 0, /* "graph_value": graph and latest values */
    DASH_GRAPH,           /* "graph" */
    DASH_VALUE,           /* "value": latest values only */
    DASH_PICTURE,         /* "picture" */
    DASH_IMAGE_VALUES,    /* "image_values": latest values placed on a picture (B3) */
    DASH_ALARM,           /* "alarm": the group's alarm summary */
    DASH_KIND_COUNT_
} dash_kind;

typedef enum { DASH_HOUR = 0, DASH_DAY, DASH_WEEK, DASH_WINDOW_COUNT_ } dash_window;

/* One value placed on a picture (B3). */
typedef struct {
    int64_t channel_id;
    double x, y;         /* its top-left corner, as fractions 0..1 of the picture */
    int size;            /* text size in px when the picture is 800 px wide */
    char colour[8];      /* "#rrggbb" */
    int decimals;        /* 0..9, or -1: the channel's own */
    bool has_unit;       /* false: the channel's unit */
    char unit[DASH_UNIT_MAX * 4 + 1];
    bool show_name;      /* the channel's name above the value */
} dash_value;

typedef struct {
    char id[DASH_ID_MAX + 1];
    dash_kind kind;
    char title[DASH_TITLE_MAX * 4 + 1];
    int x, y, w, h;
    int n_channels;
    int64_t channels[DASH_MAX_PANEL_CHANNELS];
    dash_window window;  /* graph kinds */
    int64_t picture_id;  /* picture kinds, else 0 */
    int n_values;
    dash_value values[DASH_MAX_VALUES];
} dash_panel;

/* A dashboard's panels (heap: a panel is a few KiB). */
typedef struct {
    dash_panel *p;
    size_t n;
} dash_panels;

/* The kind's / window's name ("graph_value", "week"). */
const char *dash_kind_name(dash_kind k);
const char *dash_window_name(dash_window w);

/* The window's length in µs. */
int64_t dash_window_us(dash_window w);

/* Read the JSON array "arr" of panels into "out" (caller frees with
 * dash_panels_free(), also after a failure). Every member is checked:
 * SVC_INVALID with a sentence and the member in e->field ("panels[2].w",
 * "panels[0].values[3].colour"; codes "wrong_type", "missing",
 * "unknown_field", "too_many", "overlap", "invalid_value"). Panels
 * without an "id" get one ("p1", "p2", ... not used by another panel).
 * SVC_NOMEM when out of memory. */
MT_MUSTCHECK svc_status dash_panels_read(const cJSON *arr, dash_panels *out, svc_error *e);

/* Read one panel object "obj" (the same checks, field "panel.<member>");
 * with "place" its x, y may be left out: it then takes the first free place
 * of the grid in reading order where it fits (w, h default by kind).
 * Appended to "ps" (ids and layout checked against its panels). */
MT_MUSTCHECK svc_status dash_panels_add(dash_panels *ps, const cJSON *obj, bool place,
                                        svc_error *e);

void dash_panels_free(dash_panels *ps);

/* The panels as canonical JSON (caller frees with cJSON_Delete(); NULL when
 * out of memory): only the members of each panel's kind, in a fixed order. */
cJSON *dash_panels_json(const dash_panels *ps);

/* The distinct channel ids / picture ids the panels name, in order of first
 * appearance, into "out" (at most "cap"); returns how many there are (may
 * be more than "cap"). */
size_t dash_panels_channel_ids(const dash_panels *ps, int64_t *out, size_t cap);
size_t dash_panels_picture_ids(const dash_panels *ps, int64_t *out, size_t cap);

/* For each channel of "ids": the windows of the graph panels that show it,
 * as bits (1 << dash_window); 0 when it is only shown as a value (on a
 * value panel or a picture). mask[i] for ids[i]. */
void dash_panels_windows(const dash_panels *ps, const int64_t *ids, size_t n, unsigned *mask);

#endif
