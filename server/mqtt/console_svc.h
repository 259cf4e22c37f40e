/* The console (C1, C2, P18, P19; docs/console.md): a person operates an
 * instrument from the browser through its app's MQTTS connection.
 *
 * svc_console_open() checks the plan (P18 for a One app, P19 for an LR8450
 * direct one, "view only" on Free), the supported-instrument table's
 * console minimum (I4), the app's connection and this server's broker, and
 * for an operator C2: at most one operator per instrument across server
 * processes (db_console.h), an administrator may take it over. It gives a
 * session id; svc_console_stream() streams the instrument's screens to its
 * holder (renewing the hold) or to a viewer; svc_console_operate() checks
 * and relays one operation and writes it to the audit log.
 *
 * A service, but in the MQTT layer: it relays through this process's
 * bridge (mqtt_console.h), which sits above the services. */
#ifndef MTS_CONSOLE_SVC_H
#define MTS_CONSOLE_SVC_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "db_console.h"
#include "svc.h"

#define CONSOLE_SESSION_LEN 32
/* Console streams one server process serves at once. */
#define CONSOLE_STREAMS_MAX 32
/* An operator's hold lasts this long unless the stream renews it. */
#define CONSOLE_HOLD_S 30
/* A reconnect continues the audited session (no new console.open entry)
 * within this long of its opening, of its last continuation or of the end
 * of its stream (docs/console.md "Reconnecting"). */
#define CONSOLE_RESUME_S 600

/* Open a console on device "device_id": "operate" (else view only),
 * "take_over" (administrators: take it from its holder). "resume" (NULL or
 * 32 lower-case hex digits) is the "resume" token of an earlier open's
 * reply: when it is still this person's latest session on this instrument
 * (within CONSOLE_RESUME_S, nobody having opened it to operate since), the
 * operator's session continues: no new console.open entry. *out is
 * {"session", "mode", "device_id", "holder", "took_over", "resume",
 * "resumed"} (caller owns; "resume" null for a viewer).
 * SVC_OK, or the refusal in "e": 404 no such device, 403 plan_limit (P18,
 * P19) or forbidden (a member asking to take over), 409 console_held (who
 * and since when), console_not_supported, firmware_too_old,
 * app_disabled, app_disconnected, console_unavailable (no broker in this
 * service; 503 when it is away now). On
 * console_held *who (zeroed by this call) names the holder, so that the
 * reply can carry them as data besides the sentence. */
svc_status svc_console_open(const svc_actor *a, long long device_id, bool operate,
                            bool take_over, const char *resume, cJSON **out,
                            db_console_holder *who, svc_error *e);

/* Carry out operation "op" ("start", "stop", "restart", "interval",
 * "page_up", "page_down"; "interval_s" for "interval", else 0) as session
 * "session", which must hold the console: relayed to the app and written to
 * the audit log; *op_id receives the id its answer will carry (at least
 * 41 bytes). On console_not_held after a take-over, *who (zeroed by this
 * call) names who took it, "since" being when. */
svc_status svc_console_operate(const svc_actor *a, long long device_id, const char *session,
                               const char *op, int interval_s, char *op_id,
                               db_console_holder *who, svc_error *e);

/* Give the console up (*released false when "session" did not hold it):
 * the audited session ends (console.close), a later open is a new one. */
svc_status svc_console_close(const svc_actor *a, long long device_id, const char *session,
                             bool *released, svc_error *e);

/* A stream writes a comment after this long without writing anything, so
 * that proxies keep a quiet stream open (docs/console.md). */
#define CONSOLE_KEEPALIVE_MS 15000

/* Where a stream writes: "begin" once the checks passed (the reply's
 * head), then "write" for each event; each returns 0, or -1 when the
 * client went away. "stopping" says the server is shutting down.
 * "keepalive_ms" is the quiet time before a comment: 0 for
 * CONSOLE_KEEPALIVE_MS (the test build may pass less, docs/testing.md). */
typedef struct {
    int (*begin)(void *ctx);
    int (*write)(void *ctx, const char *text, size_t len);
    bool (*stopping)(void *ctx);
    void *ctx;
    long long keepalive_ms;
} svc_console_sink;

/* Stream the console of "device_id" to session "session" (NULL or not the
 * holder: view only) as server-sent events until the client goes, the
 * holder loses the console or the server stops. Refusals come before
 * "begin" (as svc_console_open()'s, and 503 console_busy when this process
 * streams CONSOLE_STREAMS_MAX consoles); SVC_OK once the stream ended. */
svc_status svc_console_stream(const svc_actor *a, long long device_id, const char *session,
                              const svc_console_sink *sink, svc_error *e);

/* Whether "s" is a session id (32 lower-case hex digits). */
bool svc_console_session_valid(const char *s);

#endif
