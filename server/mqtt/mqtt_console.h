/* The console's relay in one server process (C1; docs/console.md): the
 * screens that apps publish on metron/v1/app/{id}/up/console reach every
 * server process (a subscription of its own, not the shared one), and each
 * keeps the last screen and answer of the instruments whose console it
 * streams to a person; the operations go down to the app on
 * metron/v1/app/{id}/down/console.
 *
 * A stream registers its instrument with mqtt_console_watch() and waits
 * for what changed with mqtt_console_wait(); screens of instruments no
 * stream of this process watches are dropped. At most MQTT_CONSOLE_SLOTS
 * instruments are watched at once in a process. Thread-safe. */
#ifndef MTS_MQTT_CONSOLE_H
#define MTS_MQTT_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MQTT_CONSOLE_SLOTS 64

/* Watch instrument "model" "serial" of app "app_id": a slot (>= 0), or -1
 * when MQTT_CONSOLE_SLOTS instruments are watched already. Several streams
 * may watch one instrument (they share its slot). */
int mqtt_console_watch(long long app_id, const char *model, const char *serial);

/* Stop watching (the slot is freed with its last watcher). */
void mqtt_console_unwatch(int slot);

/* Wait up to "timeout_ms" for a screen or an answer newer than *screen_seq
 * / *answer_seq of "slot", or for mqtt_console_wake(). On a newer screen
 * *screen is its JSON text (caller frees) and *screen_seq moves; the same
 * for an answer. Returns true when something new came. */
bool mqtt_console_wait(int slot, uint64_t *screen_seq, char **screen, uint64_t *answer_seq,
                       char **answer, int timeout_ms);

/* Wake every waiting stream (the server is stopping). */
void mqtt_console_wake(void);

/* A message of app "app_id" on up/console ("len" bytes of "payload"):
 * parsed (console_msg.h) and handed to the streams that watch its
 * instrument; anything else dropped. Called by the MQTT bridge. */
void mqtt_console_take(long long app_id, const char *payload, size_t len);

/* Publish "text" to app "app_id" on down/console (QoS 1). 0, or -1 when
 * this process has no connection to the broker. */
int mqtt_console_send(long long app_id, const char *text, size_t len);

#endif
