/* The gateway side of apps (docs/gateway.md, docs/ingest.md): an app
 * reports its instruments (model, serial, firmware, channels), reads the
 * requests the server has for it and answers them; users make requests of
 * an app (self-check M4, firmware upgrade M6) and read the answers.
 *
 * App-side functions take the app credential (the text after "Bearer ")
 * and refuse it like the ingestion routes: SVC_UNAUTHENTICATED for a
 * missing or unknown credential, SVC_FORBIDDEN "app_disabled" /
 * "account_inactive". User-side functions take the signed-in actor; a
 * member reaches only the apps of the groups granted to them. */
#ifndef MTS_SVC_GATEWAY_H
#define MTS_SVC_GATEWAY_H

#include <stdbool.h>
#include <stddef.h>

#include "svc.h"

/* Bounds of one report (an LR8450 direct app selects up to 1,000 channels,
 * P11; a One app has up to 8 instruments, P12). */
#define SVC_GW_DEVICES_MAX 100
#define SVC_GW_CHANNELS_MAX 1000

typedef struct {
    const char *key;  /* "CH1_1" */
    const char *name; /* "" = the key */
    const char *unit; /* may be "" */
} svc_gw_channel;

typedef struct {
    const char *model;
    const char *serial;
    const char *firmware; /* "" = not told */
    const char *name;     /* "" = not told */
    const svc_gw_channel *ch;
    size_t n_ch;
} svc_gw_device;

/* The app reports its "n" instruments "dev", all or nothing, in one
 * transaction under the account lock: an instrument the server does not
 * have is added (its model must be supported for the app's kind, within
 * P12; an LR8450 direct app is one LR8450); a known one gets the reported
 * firmware (and a name when it has none); channels it lacks are added
 * after its others, and selected for acquisition as far as P10 (P11 for
 * LR8450 direct) allows — existing channels, names and selections are
 * never changed, nothing is deleted. Audited as device.create,
 * device.firmware and device.channels with the app as actor. On SVC_OK
 * *table_json (caller frees) is the app's channel table as GET
 * /api/v1/ingest/channels answers it. "ip" may be NULL. */
MT_MUSTCHECK
svc_status svc_gw_report(srv *s, const char *credential, const char *ip,
                         const svc_gw_device *dev, size_t n, char **table_json, svc_error *e);

/* What the app has to do now: {"live_until", "requests": [...]} (caller
 * frees *json). */
MT_MUSTCHECK
svc_status svc_gw_pending(srv *s, const char *credential, char **json, svc_error *e);

/* The app's answer to request "id": "ok", a sentence "message" (at most 300
 * characters) and "result_json" (the JSON text of an object, or NULL).
 * SVC_NOT_FOUND for a request that is not this app's, SVC_CONFLICT
 * "already_answered" / "request_expired". */
MT_MUSTCHECK
svc_status svc_gw_answer(srv *s, const char *credential, long long id, bool ok,
                         const char *message, const char *result_json, svc_error *e);

/* A user asks app "app_id" for its self-check (M4): the new request as JSON
 * (*json, caller frees). SVC_NOT_FOUND for an app the actor cannot see,
 * SVC_CONFLICT "app_disabled", SVC_THROTTLED "too_many_requests" when the
 * app has 32 requests pending. */
MT_MUSTCHECK
svc_status svc_gw_self_check(const svc_actor *a, long long app_id, char **json, svc_error *e);

/* The app's last 20 requests ({"items": [...]}), or request "request_id" of
 * it (0 = the list). SVC_NOT_FOUND for an app the actor cannot see or a
 * request that is not the app's. */
MT_MUSTCHECK
svc_status svc_gw_requests(const svc_actor *a, long long app_id, long long request_id,
                           char **json, svc_error *e);

/* An administrator asks the app of device "device_id" to upgrade its
 * firmware to "firmware" (M6; the gateway carries it out and reports the
 * new firmware): the new request as JSON (*json, caller frees). SVC_INVALID
 * (field firmware) for a version that does not read, SVC_NOT_FOUND,
 * SVC_CONFLICT "not_newer" (not above the device's firmware),
 * "app_disabled", SVC_THROTTLED "too_many_requests". Audited as
 * device.firmware_upgrade. */
MT_MUSTCHECK
svc_status svc_gw_firmware_upgrade(const svc_actor *a, long long device_id, const char *firmware,
                                   char **json, svc_error *e);

#endif
