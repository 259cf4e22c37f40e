/* broker_rules.c: the plugin's decisions without Mosquitto (broker_rules.h). */
#define _POSIX_C_SOURCE 200809L /* strnlen */
#include "broker_rules.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

long long mb_app_of(const char *identity)
{
    long long id = 0;
    int digits = 0;
    /* Only the name Metron's CA writes ("app-%lld"): "app-042" is not app 42. */
    if (identity == NULL || strncmp(identity, "app-", 4) != 0 || identity[4] == '0') {
        return 0;
    }
    for (const char *p = identity + 4; *p != '\0'; p++) {
        if (*p < '0' || *p > '9' || ++digits > 18) {
            return 0;
        }
        id = id * 10 + (*p - '0');
    }
    return digits > 0 ? id : 0;
}

bool mb_app_topic(const char *topic, const char *dir)
{
    const char *p;
    size_t dir_len = strlen(dir);
    if (!starts(topic, "metron/v1/app/")) {
        return false;
    }
    p = topic + 14;
    if (*p < '0' || *p > '9') {
        return false;
    }
    while (*p >= '0' && *p <= '9') {
        p++;
    }
    if (*p != '/' || strncmp(p + 1, dir, dir_len) != 0 || p[1 + dir_len] != '/') {
        return false;
    }
    p += dir_len + 2;
    return *p != '\0' && strpbrk(p, "/+#") == NULL;
}

static bool server_allows(int access, const char *t)
{
    switch (access) {
    case MB_ACL_SUBSCRIBE:
        /* Every server process subscribes to the console's screens itself
         * (not shared): the process that holds a person's console stream
         * must get them (C1, docs/console.md). */
        return strcmp(t, "metron/v1/app/+/up/#") == 0 ||
               strcmp(t, "metron/v1/app/+/up/console") == 0 ||
               strcmp(t, "$share/metron/metron/v1/app/+/up/#") == 0;
    case MB_ACL_READ:
        return mb_app_topic(t, "up");
    case MB_ACL_WRITE:
        return mb_app_topic(t, "down") || strcmp(t, MB_CONTROL_TOPIC) == 0;
    case MB_ACL_UNSUBSCRIBE:
        return true;
    default:
        return false;
    }
}

static bool app_allows(long long id, int access, const char *t)
{
    char up[64], down[64];
    size_t up_len, down_len;
    snprintf(up, sizeof up, "metron/v1/app/%lld/up/", id);
    snprintf(down, sizeof down, "metron/v1/app/%lld/down/", id);
    up_len = strlen(up);
    down_len = strlen(down);
    switch (access) {
    case MB_ACL_WRITE:
        return starts(t, up) && (strcmp(t + up_len, "batch") == 0 ||
                                 strcmp(t + up_len, "live") == 0 ||
                                 strcmp(t + up_len, "status") == 0 ||
                                 strcmp(t + up_len, "console") == 0);
    case MB_ACL_SUBSCRIBE:
        /* Its own down topics, no wildcard above them. */
        return starts(t, down) &&
               (strcmp(t + down_len, "#") == 0 || strpbrk(t + down_len, "+#/") == NULL);
    case MB_ACL_READ:
        return starts(t, down);
    case MB_ACL_UNSUBSCRIBE:
        return true;
    default:
        return false;
    }
}

bool mb_acl_allows(const char *user, const char *server_identity, int access,
                   const char *topic)
{
    long long id;
    if (user == NULL || topic == NULL) {
        return false;
    }
    if (server_identity != NULL && strcmp(user, server_identity) == 0) {
        return server_allows(access, topic);
    }
    if ((id = mb_app_of(user)) > 0) {
        return app_allows(id, access, topic);
    }
    return false;
}

bool mb_serial_valid(const char *serial)
{
    size_t len = strnlen(serial, MB_SERIAL_MAX + 1);
    return len > 0 && len <= MB_SERIAL_MAX && strspn(serial, "0123456789abcdef") == len;
}

static int cmp_serial(const void *a, const void *b)
{
    return strcmp(a, b);
}

bool mb_revoked_has(const mb_revoked *set, const char *serial)
{
    return set->n > 0 &&
           bsearch(serial, set->serial, set->n, sizeof *set->serial, cmp_serial) != NULL;
}

int mb_revoked_add(mb_revoked *set, const char *serial)
{
    size_t lo = 0, hi = set->n;
    if (!mb_serial_valid(serial)) {
        return -1;
    }
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(set->serial[mid], serial);
        if (c == 0) {
            return 0;
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (set->n == set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 64;
        void *grown = realloc(set->serial, cap * sizeof *set->serial);
        if (grown == NULL) {
            return -1;
        }
        set->serial = grown;
        set->cap = cap;
    }
    memmove(&set->serial[lo + 1], &set->serial[lo], (set->n - lo) * sizeof *set->serial);
    snprintf(set->serial[lo], sizeof set->serial[lo], "%s", serial);
    set->n++;
    return 1;
}

void mb_revoked_free(mb_revoked *set)
{
    free(set->serial);
    set->serial = NULL;
    set->n = set->cap = 0;
}

mb_auth_result mb_identity_check(const char *cn, size_t cn_len, const char *serial,
                                 const mb_revoked *revoked, const char *server_identity)
{
    char name[128];
    if (cn == NULL || cn_len == 0 || cn_len >= sizeof name || memchr(cn, '\0', cn_len) != NULL) {
        return MB_AUTH_BAD_NAME;
    }
    memcpy(name, cn, cn_len);
    name[cn_len] = '\0';
    if (serial != NULL && mb_revoked_has(revoked, serial)) {
        return MB_AUTH_REVOKED;
    }
    if ((server_identity == NULL || strcmp(name, server_identity) != 0) && mb_app_of(name) == 0) {
        return MB_AUTH_STRANGER;
    }
    return MB_AUTH_OK;
}

int mb_control_parse(const char *payload, size_t len, mb_revoke_fn fn, void *ctx)
{
    cJSON *root;
    const cJSON *list, *item;
    if (payload == NULL || len == 0 || len > MB_CONTROL_MAX) {
        return -1;
    }
    root = cJSON_ParseWithLength(payload, len);
    list = cJSON_GetObjectItemCaseSensitive(root, "revoke");
    if (!cJSON_IsArray(list)) {
        cJSON_Delete(root);
        return -1;
    }
    cJSON_ArrayForEach(item, list) {
        const cJSON *serial = cJSON_GetObjectItemCaseSensitive(item, "serial");
        const cJSON *identity = cJSON_GetObjectItemCaseSensitive(item, "identity");
        if (!cJSON_IsString(serial) || !mb_serial_valid(serial->valuestring)) {
            continue;
        }
        fn(serial->valuestring,
           cJSON_IsString(identity) && mb_app_of(identity->valuestring) > 0
               ? identity->valuestring
               : NULL,
           ctx);
    }
    cJSON_Delete(root);
    return 0;
}
