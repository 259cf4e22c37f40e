/* Parsers of what the server answers the gateway (docs/ingest.md): the
 * app's channel table (GET /api/v1/ingest/channels, PUT
 * /api/v1/ingest/devices), error bodies, and the requests the server asks
 * the app to carry out (self-check, firmware upgrade). The server is
 * outside input: every size, count, string and number is bounded before
 * it is used (tests/fuzz/gateway/fuzz_gw_reply.c). */
#ifndef GW_REPLY_H
#define GW_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim.h"

#define GW_URL_MAX_REPLY 512

/* The largest reply read (the HTTP layer stops reading beyond it). */
#define GW_REPLY_MAX (32u << 20)
/* Channels listed for one app, all devices together. */
#define GW_TABLE_CHANNELS_MAX 200000
#define GW_REQUESTS_MAX 100

typedef struct {
    int64_t id;
    char key[GW_KEY_MAX + 1];
    char name[GW_NAME_MAX + 1];
    char unit[GW_UNIT_MAX + 1];
    bool selected;
} gw_tchannel;

typedef struct {
    int64_t id;
    char model[GW_MODEL_MAX + 1];
    char serial[GW_SERIAL_MAX + 1];
    char firmware[GW_FIRMWARE_MAX + 1]; /* "" when the server did not say */
    gw_tchannel *ch;                    /* sorted by key */
    size_t n_ch;
} gw_tdevice;

/* The app's devices and channels as the server knows them. */
typedef struct {
    int64_t app_id;
    char kind[16];      /* the app's kind, "" when the server did not say */
    int64_t live_until; /* µs; 0 when high-speed monitoring is off (M3) */
    gw_tdevice *dev;    /* owned (gw_table_clear()) */
    size_t n_dev;
    size_t n_ch;        /* all devices together */
} gw_table;

/* Parse a channel table ("len" bytes of JSON) into "t" (zeroed by the
 * caller). 0, or -1 with a sentence in "err"; clear "t" either way. */
int gw_table_parse(const char *text, size_t len, gw_table *t, char *err, size_t err_cap);

void gw_table_clear(gw_table *t);

/* The device of "t" with "model" and "serial", or NULL. */
const gw_tdevice *gw_table_device(const gw_table *t, const char *model, const char *serial);

/* The channel "key" of "d", or NULL. */
const gw_tchannel *gw_table_channel(const gw_tdevice *d, const char *key);

/* An error body {"code", "message", "field"?}: the code and message copied
 * (truncated) into the caller's buffers; "" when the body is not one. */
void gw_error_parse(const char *text, size_t len, char *code, size_t code_cap, char *msg,
                    size_t msg_cap);

/* A request of the server to the app (docs/gateway.md, "Requests"). */
typedef enum {
    GW_REQ_SELF_CHECK = 1, /* M4: check the app and its instruments, report */
    GW_REQ_FIRMWARE = 2    /* M6: upgrade an instrument's firmware */
} gw_req_kind;

typedef struct {
    int64_t id;
    gw_req_kind kind;
    int64_t device_id;                  /* GW_REQ_FIRMWARE */
    char firmware[GW_FIRMWARE_MAX + 1]; /* GW_REQ_FIRMWARE: the version to install */
} gw_request;

/* Parse {"live_until": µs | null, "requests": [{id, kind, device_id?,
 * firmware?}, ...]} into "out" (at most "cap" entries, *n set) and
 * *live_until (0 when null or absent). Requests of a kind this gateway does
 * not know are skipped. 0, or -1 with "err". */
int gw_requests_parse(const char *text, size_t len, gw_request *out, size_t cap, size_t *n,
                      int64_t *live_until, char *err, size_t err_cap);

/* The server's answer to a certificate request (POST
 * /api/v1/ingest/certificate, docs/mqtt.md). */
#define GW_PEM_MAX 16384
typedef struct {
    int64_t app_id;
    char serial[65];
    char cert_pem[GW_PEM_MAX];
    char ca_pem[GW_PEM_MAX];
    char url[GW_URL_MAX_REPLY];  /* "mqtts://host:port" */
    char host[256];
    int port;
} gw_cert_reply;

/* Parse it (bounded; the URL split into host and port). 0, or -1 with "err". */
int gw_cert_parse(const char *text, size_t len, gw_cert_reply *out, char *err, size_t err_cap);

/* A reply of the MQTT bridge to a batch (metron/v1/app/{id}/down/reply). */
typedef struct {
    char batch_id[65];
    bool ok;
    bool duplicate;
    bool retry;
    int64_t retry_after_s; /* "retry_after": seconds to wait first (a
                            * maintenance window), 0 when absent */
    char code[64];
    char message[300];
} gw_mqtt_reply;

/* Parse it. 0, or -1 with "err" for anything else. */
int gw_mqtt_reply_parse(const char *text, size_t len, gw_mqtt_reply *out, char *err,
                        size_t err_cap);

#endif
