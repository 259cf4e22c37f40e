/* Fuzz target: the decisions of Metron's Mosquitto plugin
 * (broker/broker_rules.c, docs/mqtt.md) on what clients and servers send
 * the broker: topics against the ACL, certificate names at connection, and
 * the servers' control messages on $CONTROL/metron/v1.
 *
 * The first byte chooses the part ('a' ACL, 'i' identity, 'c' control;
 * any other byte: its value modulo 3):
 *   a<access><who><topic>     access 'r' 'w' 's' 'u' (any other byte: its low
 *                             four bits, unknown kinds included); who 'S' the
 *                             servers, 'A' app-42, else the identity is the
 *                             text from <who> up to the first '\n', the topic after it;
 *                             the topic ends at its first NUL as in the broker
 *   i<common name>\n<serial>  the name's bytes as the certificate holds them
 *   c<control message>        the payload as the broker hands it over
 * Besides "no crash": an identity is an app's only as the CA spells it
 * ("app-<id>", no leading zero); an app is never granted anything outside
 * its own topics, a stranger nothing, the servers no wildcard write; an accepted
 * name has no NUL and is an app or the servers, never revoked; every
 * revocation taken is a valid serial, kept sorted and found again. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker_rules.h"

#define SERVER "metron-server"

static char *cstr(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (s == NULL) {
        abort();
    }
    memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

static void check_acl(const uint8_t *data, size_t size)
{
    static const char *kinds[] = {"batch", "live", "status", "console"};
    const uint8_t *nl;
    char *user, *topic, up[64], down[64];
    int access;
    long long id;
    bool allowed;
    if (size < 2) {
        return;
    }
    access = data[0] == 'r'   ? MB_ACL_READ
             : data[0] == 'w' ? MB_ACL_WRITE
             : data[0] == 's' ? MB_ACL_SUBSCRIBE
             : data[0] == 'u' ? MB_ACL_UNSUBSCRIBE
                              : data[0] & 0x0f;
    if (data[1] == 'S' || data[1] == 'A') {
        user = cstr((const uint8_t *)(data[1] == 'S' ? SERVER : "app-42"), data[1] == 'S' ? 13 : 6);
        data += 2;
        size -= 2;
    } else {
        data++;
        size--;
        nl = memchr(data, '\n', size);
        if (nl == NULL) {
            return;
        }
        user = cstr(data, (size_t)(nl - data));
        size -= (size_t)(nl - data) + 1;
        data = nl + 1;
    }
    topic = cstr(data, size);
    allowed = mb_acl_allows(user, SERVER, access, topic);
    if (strcmp(user, SERVER) == 0) {
        if (allowed && (access == MB_ACL_WRITE || access == MB_ACL_READ) &&
            strpbrk(topic, "+#") != NULL) {
            abort();
        }
        if (allowed && access == MB_ACL_READ && !mb_app_topic(topic, "up")) {
            abort();
        }
    } else if ((id = mb_app_of(user)) > 0) {
        char canonical[32];
        snprintf(canonical, sizeof canonical, "app-%lld", id);
        if (strcmp(canonical, user) != 0) {
            abort(); /* one app, one spelling of its identity */
        }
        snprintf(up, sizeof up, "metron/v1/app/%lld/up/", id);
        snprintf(down, sizeof down, "metron/v1/app/%lld/down/", id);
        if (allowed && access == MB_ACL_WRITE) {
            bool own = false;
            for (size_t k = 0; k < 4; k++) {
                own |= strncmp(topic, up, strlen(up)) == 0 &&
                       strcmp(topic + strlen(up), kinds[k]) == 0;
            }
            if (!own) {
                abort();
            }
        }
        if (allowed && (access == MB_ACL_READ || access == MB_ACL_SUBSCRIBE) &&
            strncmp(topic, down, strlen(down)) != 0) {
            abort();
        }
        if (allowed && access != MB_ACL_READ && access != MB_ACL_WRITE &&
            access != MB_ACL_SUBSCRIBE && access != MB_ACL_UNSUBSCRIBE) {
            abort();
        }
    } else if (allowed) {
        abort(); /* neither the servers nor an app */
    }
    free(user);
    free(topic);
}

static void check_identity(const uint8_t *data, size_t size)
{
    static const char *preset[] = {"1f", "abc", "0"};
    const uint8_t *nl = memchr(data, '\n', size);
    size_t cn_len = nl != NULL ? (size_t)(nl - data) : size;
    char *serial = nl != NULL ? cstr(nl + 1, size - cn_len - 1) : cstr(data, 0);
    mb_revoked set = {0};
    mb_auth_result r;
    for (size_t k = 0; k < 3; k++) {
        if (mb_revoked_add(&set, preset[k]) != 1) {
            abort();
        }
    }
    r = mb_identity_check((const char *)data, cn_len, serial, &set, SERVER);
    if (r == MB_AUTH_OK) {
        char *name = cstr(data, cn_len);
        if (memchr(data, '\0', cn_len) != NULL || mb_revoked_has(&set, serial) ||
            (strcmp(name, SERVER) != 0 && mb_app_of(name) == 0)) {
            abort();
        }
        free(name);
    }
    if (r == MB_AUTH_REVOKED && !mb_revoked_has(&set, serial)) {
        abort();
    }
    mb_revoked_free(&set);
    free(serial);
}

static void take_revocation(const char *serial, const char *identity, void *ctx)
{
    mb_revoked *set = ctx;
    if (!mb_serial_valid(serial) || (identity != NULL && mb_app_of(identity) <= 0)) {
        abort();
    }
    if (mb_revoked_add(set, serial) < 0 || !mb_revoked_has(set, serial)) {
        abort();
    }
}

static void check_control(const uint8_t *data, size_t size)
{
    mb_revoked set = {0};
    int rc = mb_control_parse((const char *)data, size, take_revocation, &set);
    if (rc != 0 && set.n != 0) {
        abort(); /* a refused message changes nothing */
    }
    for (size_t k = 1; k < set.n; k++) {
        if (strcmp(set.serial[k - 1], set.serial[k]) >= 0) {
            abort();
        }
    }
    mb_revoked_free(&set);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int part;
    if (size == 0) {
        return 0;
    }
    part = data[0] == 'a' ? 0 : data[0] == 'i' ? 1 : data[0] == 'c' ? 2 : data[0] % 3;
    switch (part) {
    case 0:
        check_acl(data + 1, size - 1);
        break;
    case 1:
        check_identity(data + 1, size - 1);
        break;
    default:
        check_control(data + 1, size - 1);
        break;
    }
    return 0;
}
