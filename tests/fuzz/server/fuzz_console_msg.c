/* Fuzz target: the server's reading of the console's screens
 * (server/base/console_msg.c, console_msg_parse()): what an app publishes
 * on metron/v1/app/{id}/up/console is outside input. Besides "no crash": an
 * accepted message has its texts within their bounds, strict UTF-8 without
 * control characters (the screen: line feeds, at most 24 lines), an
 * interval in its ascending list, a page within its pages; the JSON the
 * server rebuilds from it parses again to the same screen. */
#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "console_msg.h"
#include "utf8.h"

static console_msg m;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[200];
    size_t lines = 0;
    bool found = false;
    cJSON *o, *back;
    char *text;
    if (console_msg_parse((const char *)data, size, &m, err, sizeof err) != 0) {
        if (strlen(err) == 0) {
            abort();
        }
        return 0;
    }
    if (strlen(m.model) == 0 || strlen(m.serial) == 0 || strlen(m.screen) > CONSOLE_SCREEN_MAX ||
        !utf8_valid((const unsigned char *)m.screen, strlen(m.screen))) {
        abort();
    }
    for (const char *p = m.screen; *p != '\0'; p++) {
        if (*p == '\n') {
            lines++;
        } else if ((unsigned char)*p < 0x20 || *p == 0x7F) {
            abort();
        }
    }
    if (lines > CONSOLE_SCREEN_LINES || m.page < 1 || m.page > m.pages || m.pages > 1000 ||
        m.n_intervals < 1 || m.n_intervals > CONSOLE_INTERVALS_MAX) {
        abort();
    }
    for (size_t i = 0; i < m.n_intervals; i++) {
        found |= m.intervals[i] == m.interval_s;
        if (i > 0 && m.intervals[i] <= m.intervals[i - 1]) {
            abort();
        }
    }
    if (!found || (m.has_answer && m.answer_id[0] != '\0' && !console_op_id_valid(m.answer_id))) {
        abort();
    }
    o = console_msg_screen_json(&m);
    text = o != NULL ? cJSON_PrintUnformatted(o) : NULL;
    back = text != NULL ? cJSON_Parse(text) : NULL;
    if (text != NULL && (back == NULL || !cJSON_IsString(cJSON_GetObjectItem(back, "screen")) ||
                         strcmp(cJSON_GetObjectItem(back, "screen")->valuestring, m.screen) != 0)) {
        abort();
    }
    cJSON_Delete(back);
    free(text);
    cJSON_Delete(o);
    return 0;
}
