/* Members of JSON replies as the API writes them (cJSON): null for a
 * missing text or id, integers as their decimal text. Shared by the
 * services that answer with JSON and by the HTTP handlers. */
#ifndef MTS_JSON_OUT_H
#define MTS_JSON_OUT_H

#include <cjson/cJSON.h>
#include <stddef.h>

/* Add member "name" of "o": the string "v", or null when "v" is NULL.
 * "name" must be a string literal (it is not copied: lists of many rows
 * make fewer allocations). */
void json_add_str(cJSON *o, const char *name, const char *v);

/* Add the integer "v" as member "name" (a string literal). Written as its
 * decimal text: this cJSON prints every number through printf("%1.15g")
 * and sscanf, which dominated the cost of long lists. */
void json_add_int(cJSON *o, const char *name, long long v);

/* Add the id "v" as member "name" (a string literal), or null when it is
 * 0 or less (no such object). */
void json_add_id(cJSON *o, const char *name, long long v);

/* A row to JSON ("ctx" is the caller's, e.g. the actor whose plan a row
 * shows); NULL when out of memory. */
typedef cJSON *(*json_row_fn)(const void *ctx, const void *row);

/* {"items": [to_json(ctx, row) for each of the "n" rows of "row_size"
 * bytes at "rows"]} (caller owns), or NULL when out of memory. */
cJSON *json_items(const void *rows, int n, size_t row_size, json_row_fn to_json, const void *ctx);

#endif
