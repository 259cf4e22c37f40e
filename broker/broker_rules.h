/* broker_rules.h: the decisions of Metron's Mosquitto plugin (docs/mqtt.md)
 * as pure functions, without Mosquitto or OpenSSL, so that the unit tests
 * and the fuzz target (tests/fuzz/broker/fuzz_broker_rules.c) call exactly
 * what the broker runs. broker/metron_mosquitto.c only adapts the broker's
 * events to them.
 *
 * Topics and identities are C strings as the broker hands them over (MQTT
 * forbids U+0000 in topics; a certificate's common name is checked for an
 * embedded NUL by mb_identity_check() before it becomes a C string). */
#ifndef MB_BROKER_RULES_H
#define MB_BROKER_RULES_H

#include <stdbool.h>
#include <stddef.h>

/* The longest certificate serial kept (lower-case hex digits). */
#define MB_SERIAL_MAX 64
/* The largest control message read (bytes). */
#define MB_CONTROL_MAX (1 << 20)
/* The topic the servers send control messages to. */
#define MB_CONTROL_TOPIC "$CONTROL/metron/v1"

/* The kinds of access the broker asks about: the same bits as Mosquitto's
 * MOSQ_ACL_* (metron_mosquitto.c checks that they agree). */
enum {
    MB_ACL_READ = 0x01,
    MB_ACL_WRITE = 0x02,
    MB_ACL_SUBSCRIBE = 0x04,
    MB_ACL_UNSUBSCRIBE = 0x08
};

/* The app id of identity "app-<1..18 digits, no leading zero>", or 0 for
 * any other text or NULL (one identity has one spelling). */
long long mb_app_of(const char *identity);

/* Whether "topic" is metron/v1/app/<digits>/<dir>/<one level without
 * wildcards>. */
bool mb_app_topic(const char *topic, const char *dir);

/* Whether "user" (the identity the connection authenticated as) may have
 * "access" (one MB_ACL_* value) on "topic". The servers ("server_identity")
 * read every app's up topics through their shared subscription and write
 * the apps' down topics and MB_CONTROL_TOPIC; an app writes only
 * metron/v1/app/<its id>/up/{batch,live,status} and reads only
 * metron/v1/app/<its id>/down/...; anyone else, a NULL user or topic, and
 * an unknown access are refused. */
bool mb_acl_allows(const char *user, const char *server_identity, int access,
                   const char *topic);

/* Why a certificate is refused at connection, or MB_AUTH_OK. */
typedef enum {
    MB_AUTH_OK = 0,
    MB_AUTH_BAD_NAME = 1, /* empty, too long or with a NUL byte */
    MB_AUTH_REVOKED = 2,  /* its serial is revoked */
    MB_AUTH_STRANGER = 3  /* neither an app nor the servers */
} mb_auth_result;

/* The set of revoked serials (lower-case hex), kept sorted. Zero-initialise;
 * mb_revoked_free() releases it (and leaves it empty again). */
typedef struct {
    char (*serial)[MB_SERIAL_MAX + 1];
    size_t n, cap;
} mb_revoked;

/* Whether "serial" is 1..MB_SERIAL_MAX lower-case hex digits. */
bool mb_serial_valid(const char *serial);
/* Whether the set holds "serial". */
bool mb_revoked_has(const mb_revoked *set, const char *serial);
/* Adds "serial": 1 if added, 0 if it was there already, -1 if it is not a
 * valid serial (mb_serial_valid) or memory ran out (the set is unchanged). */
int mb_revoked_add(mb_revoked *set, const char *serial);
void mb_revoked_free(mb_revoked *set);

/* The connection decision for a certificate whose common name is the
 * "cn_len" bytes at "cn" (not necessarily NUL-terminated) and whose serial
 * is "serial" (lower-case hex, may be empty). */
mb_auth_result mb_identity_check(const char *cn, size_t cn_len, const char *serial,
                                 const mb_revoked *revoked, const char *server_identity);

/* One revocation of a control message: a valid serial and, when the item
 * names one, the app identity to disconnect (NULL otherwise). */
typedef void (*mb_revoke_fn)(const char *serial, const char *identity, void *ctx);

/* Reads a control message {"revoke": [{"serial": "<hex>", "identity":
 * "app-<id>"}, ...]} of "len" bytes (not necessarily NUL-terminated) and
 * calls "fn" for each item with a valid serial, in order; items without one
 * are skipped. Returns 0, or -1 without calling "fn" when the message is
 * empty, larger than MB_CONTROL_MAX, not JSON, or has no "revoke" array. */
int mb_control_parse(const char *payload, size_t len, mb_revoke_fn fn, void *ctx);

#endif
