/* Members of JSON replies (see json_out.h). */
#include "json_out.h"

#include <stdio.h>

void json_add_str(cJSON *o, const char *name, const char *v)
{
    cJSON_AddItemToObjectCS(o, name, v == NULL ? cJSON_CreateNull() : cJSON_CreateString(v));
}

void json_add_int(cJSON *o, const char *name, long long v)
{
    char text[24];
    snprintf(text, sizeof text, "%lld", v);
    cJSON_AddItemToObjectCS(o, name, cJSON_CreateRaw(text));
}

void json_add_id(cJSON *o, const char *name, long long v)
{
    if (v <= 0) {
        cJSON_AddItemToObjectCS(o, name, cJSON_CreateNull());
    } else {
        json_add_int(o, name, v);
    }
}

cJSON *json_items(const void *rows, int n, size_t row_size, json_row_fn to_json, const void *ctx)
{
    cJSON *o = cJSON_CreateObject(), *items = cJSON_AddArrayToObject(o, "items");
    if (items == NULL) {
        cJSON_Delete(o);
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        cJSON_AddItemToArray(items, to_json(ctx, (const char *)rows + (size_t)i * row_size));
    }
    return o;
}
