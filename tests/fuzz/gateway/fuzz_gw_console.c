/* Fuzz target: metron-gateway's reading of console operations
 * (gateway/console.c, gw_console_parse()): what the server publishes on
 * metron/v1/app/{id}/down/console is outside input. Besides "no crash": an
 * accepted operation has a known kind, printable model and serial within
 * their bounds, an id of letters, digits and dashes, and an interval only
 * for the interval operation, one of the instrument's. The screen built for
 * an accepted operation's model and serial fits its buffer. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "console.h"
#include "state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gw_console_op op;
    char err[200];
    if (gw_console_parse((const char *)data, size, &op, err, sizeof err) != 0) {
        if (strlen(err) == 0 || strlen(err) >= sizeof err) {
            abort();
        }
        return 0;
    }
    if (op.kind < GW_CON_WATCH || op.kind > GW_CON_PAGE_DOWN || !gw_text_valid(op.model, 1, 24) ||
        !gw_text_valid(op.serial, 1, 64) || strlen(op.id) > GW_CONSOLE_ID_MAX ||
        strspn(op.id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-") !=
            strlen(op.id)) {
        abort();
    }
    if ((op.kind == GW_CON_INTERVAL) != (op.interval_s != 0) ||
        (op.kind == GW_CON_INTERVAL && !gw_console_interval_ok(op.interval_s))) {
        abort();
    }
    {
        gw_channel ch[10];
        gw_instrument ins;
        gw_console_view v = {.measuring = true, .run = 1, .interval_s = 60, .page = 1};
        double values[10];
        char screen[2048];
        memset(&ins, 0, sizeof ins);
        memset(ch, 0, sizeof ch);
        memcpy(ins.model, op.model, strlen(op.model) + 1);
        memcpy(ins.serial, op.serial, strlen(op.serial) + 1);
        memcpy(ins.firmware, "V2.30", 6);
        for (size_t i = 0; i < 10; i++) {
            memcpy(ch[i].key, "CH1", 4);
            memcpy(ch[i].name, op.serial, strlen(op.serial) > GW_NAME_MAX ? 0 : strlen(op.serial) + 1);
            values[i] = (double)i * 1.5;
        }
        ins.ch = ch;
        ins.n_ch = 10;
        if (gw_console_screen(&ins, &v, values, 1700000000, screen, sizeof screen) >=
            sizeof screen) {
            abort();
        }
    }
    return 0;
}
