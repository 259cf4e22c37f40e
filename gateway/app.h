/* One simulated gateway app (docs/gateway.md): its instruments, its spool
 * and its conversation with the server.
 *
 *   gw_app *a; gw_app_open(&cfg, &a, err, cap);
 *   for (;;) { int64_t wake = gw_app_step(a, now_ms()); sleep until wake; }
 *   gw_app_close(a);   (says "disconnect" to the server first)
 *
 * gw_app_step() does whatever is due: sample the instruments at each tick
 * and spool the batch; send spooled batches oldest first (back-off while
 * the server is away); refresh the channel table and report the
 * instruments (heartbeat); poll the server's requests (self-check M4,
 * firmware M6) and high-speed mode (M3, 5-second live samples). Single
 * threaded; several apps can share one thread (a load generator). */
#ifndef GW_APP_H
#define GW_APP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "state.h"

typedef enum { GW_LOG_QUIET = 0, GW_LOG_INFO = 1, GW_LOG_DEBUG = 2 } gw_log_level;

/* Model and firmware given on the command line (--firmware MODEL=VERSION). */
typedef struct {
    char model[GW_MODEL_MAX + 1];
    char firmware[GW_FIRMWARE_MAX + 1];
} gw_fw_override;

/* How batches travel (docs/mqtt.md): MQTTS when the server offers it
 * (auto, the default), always MQTTS, or always HTTPS. */
typedef enum { GW_TRANSPORT_AUTO = 0, GW_TRANSPORT_MQTTS, GW_TRANSPORT_HTTPS } gw_transport;

typedef struct {
    const char *state_dir;   /* required */
    gw_transport transport;
    const char *server;      /* NULL = the one saved in the state */
    const char *credential;  /* NULL = the one saved in the state folder */
    const char *cacert;      /* NULL = the system's */
    const char *kind;        /* first start: app kind (NULL = "one") */
    const char *models;      /* first start: comma-separated models, or NULL */
    int n_instruments;       /* first start: 0 = the kind's default */
    int logger_channels;     /* first start: channels of a logger */
    int interval_s;          /* 0 = the saved one (60 at first start) */
    bool seed_set;
    uint64_t seed;
    double special_rate;
    int heartbeat_s;
    int poll_s;
    int memory_s;            /* how far back instruments remember */
    int batch_max;           /* times per spooled batch when catching up */
    int retry_max_s;         /* longest back-off between tries */
    int keepalive_s;         /* MQTT keep-alive: the broker sends the will after 1.5 x this */
    int renew_days;          /* a client certificate is renewed this long before it expires */
    long timeout_ms;
    const gw_fw_override *fw;
    size_t n_fw;
    gw_log_level log;
} gw_config;

typedef struct gw_app gw_app;

/* Open the app of "cfg": state folder (created), credential, instruments
 * (from the state; at a first start those the server lists for the app,
 * or new ones), spool. Talks to the server once (connect) but does not
 * need it. 0, or -1 with "err" (bad configuration, unwritable folder). */
int gw_app_open(const gw_config *cfg, gw_app **out, char *err, size_t err_cap);

/* Do what is due at "now_ms" (ms since 1970); returns when next to call. */
int64_t gw_app_step(gw_app *a, int64_t now_ms);

/* Wait up to "ms" for the network (the MQTT session's replies) or a
 * signal; without a session, sleep. */
void gw_app_wait(gw_app *a, int64_t ms);

/* Send what is spooled now, as far as the server takes it (used at exit
 * with a deadline); returns the batches still waiting. */
size_t gw_app_flush(gw_app *a, int64_t deadline_ms);

/* Tell the server the app disconnects, free everything (NULL-safe). */
void gw_app_close(gw_app *a);

/* Counters, for logs and the benchmark. */
typedef struct {
    uint64_t ticks;        /* sampling instants spooled */
    uint64_t samples;      /* values generated */
    uint64_t batches_sent; /* acknowledged (stored or duplicate) */
    uint64_t duplicates;
    uint64_t refused;
    uint64_t send_failures;
    uint64_t live_sent;
    size_t spooled;        /* waiting now */
} gw_stats;

void gw_app_stats(const gw_app *a, gw_stats *s);

/* Milliseconds since 1970 (wall clock), and a log line "<UTC> gateway: ..." */
int64_t gw_now_ms(void);
void gw_log(gw_log_level need, gw_log_level have, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
