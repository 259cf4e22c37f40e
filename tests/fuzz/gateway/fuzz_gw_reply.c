/* Fuzz target: metron-gateway's parsers of server replies (gateway/reply.c):
 * the channel table, error bodies, requests, the certificate answer and the
 * MQTT bridge's replies. A server is outside input. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "reply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gw_table t;
    gw_request q[8];
    size_t n = 0;
    int64_t lu = 0;
    char err[200], code[32], msg[120];
    const char *text = (const char *)data;
    memset(&t, 0, sizeof t);
    if (gw_table_parse(text, size, &t, err, sizeof err) == 0) {
        /* Look every listed channel up again: the sorted keys must hold. */
        for (size_t i = 0; i < t.n_dev; i++) {
            const gw_tdevice *d = gw_table_device(&t, t.dev[i].model, t.dev[i].serial);
            for (size_t c = 0; d != NULL && c < t.dev[i].n_ch; c++) {
                if (gw_table_channel(&t.dev[i], t.dev[i].ch[c].key) == NULL) {
                    abort();
                }
            }
        }
    }
    gw_table_clear(&t);
    gw_error_parse(text, size, code, sizeof code, msg, sizeof msg);
    if (strlen(code) >= sizeof code || strlen(msg) >= sizeof msg) {
        abort();
    }
    if (gw_requests_parse(text, size, q, 8, &n, &lu, err, sizeof err) == 0 && n > 8) {
        abort();
    }
    {
        static gw_cert_reply c;
        gw_mqtt_reply m;
        if (gw_cert_parse(text, size, &c, err, sizeof err) == 0 &&
            (c.port < 1 || c.port > 65535 || c.host[0] == '\0')) {
            abort();
        }
        if (gw_mqtt_reply_parse(text, size, &m, err, sizeof err) == 0 &&
            strlen(m.batch_id) >= sizeof m.batch_id) {
            abort();
        }
    }
    return 0;
}
