/* A PostgreSQL LISTEN on one channel, on its own connection and thread,
 * for any layer that wants to be woken by a committed NOTIFY (the outbox's
 * senders: migration 013 announces every insert on "metron_outbox").
 *
 * The callback runs on the listener's thread: "heard" true once per batch
 * of notifications received, false on every tick (every "tick_ms" without
 * one, and while the connection is down), so a caller that polls as a
 * fall-back needs no timer of its own. It must be short (signal a
 * condition variable). The listener reconnects by itself every second
 * while PostgreSQL is away. */
#ifndef MTS_DB_CHANNEL_H
#define MTS_DB_CHANNEL_H

#include <stdbool.h>

typedef struct db_channel db_channel;

typedef void (*db_channel_fn)(void *arg, bool heard);

/* Connect with "conninfo" (copied), LISTEN on "channel" (a constant SQL
 * identifier, copied) and start the thread. Returns the listener, or NULL
 * (out of memory, no thread). A first connection that fails is retried by
 * the thread. */
db_channel *db_channel_start(const char *conninfo, const char *channel, int tick_ms,
                             db_channel_fn fn, void *arg);

/* Whether the listener is connected and listening now. */
bool db_channel_listening(const db_channel *l);

/* Stop the thread, close its connection and free "l" (NULL is ignored). */
void db_channel_stop(db_channel *l);

#endif
