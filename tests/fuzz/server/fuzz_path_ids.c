/* Fuzz target for the ids and names a request's path or an MQTT topic
 * carries: http_id_text() (every route's path ids: server/http/
 * http_admin_args.c) and mqtt_topic_parse() (the topics the broker hands
 * the server: server/mqtt/mqtt_bridge.c). Input: "id\ntopic". An id is
 * taken only as 1 to 18 digits without a leading zero and reads back as
 * the same text; a topic only as metron/v1/app/<id>/up/<kind> with an id
 * above 0 and a kind within its buffer, without '/'. Never a crash or a
 * read past the input. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_admin_args.h"
#include "mqtt_bridge.h"

static void check_id(const char *s)
{
    long long v = 0;
    char back[32];
    size_t n = strlen(s);
    if (!http_id_text(s, &v)) {
        return;
    }
    if (v <= 0 || n == 0 || n > 18 || s[0] == '0' || strspn(s, "0123456789") != n) {
        abort();
    }
    snprintf(back, sizeof back, "%lld", v);
    if (strcmp(back, s) != 0) {
        abort();
    }
}

static void check_topic(const char *topic)
{
    long long app = 0;
    char kind[16];
    memset(kind, 'x', sizeof kind);
    if (mqtt_topic_parse(topic, &app, kind, sizeof kind) != 0) {
        return;
    }
    if (app <= 0 || memchr(kind, '\0', sizeof kind) == NULL || kind[0] == '\0' ||
        strchr(kind, '/') != NULL || strncmp(topic, "metron/v1/app/", 14) != 0) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size + 1), *nl;
    if (copy == NULL) {
        return 0;
    }
    memcpy(copy, data, size);
    copy[size] = '\0';
    nl = strchr(copy, '\n');
    if (nl != NULL) {
        *nl = '\0';
        check_topic(nl + 1);
    }
    check_id(copy);
    free(copy);
    return 0;
}
