/* Fuzz target: what the outbox's senders read from receivers and build for
 * them (server/notify/notify_format.c). A webhook's answer (status, the
 * Retry-After header, the body) is outside input; the text of a message
 * (titles, rule text, destination names) comes from users. Layout of an
 * input: byte 0 picks the channel, bytes 1-2 the HTTP status, then the
 * Retry-After value up to the first '\n', then the body; the same bytes are
 * also used as the title, body and field of a message to format. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "notify_format.h"

static const char *const channels[] = {"slack", "teams", "wechat", "email"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *channel;
    long status;
    char *copy, *nl, *retry, *body, *json, *text;
    size_t body_len, n;
    long long retry_ms = -1;
    char why[200];
    notify_item it;
    if (size < 3) {
        return 0;
    }
    channel = channels[data[0] % 4];
    status = (long)(((unsigned)data[1] << 8 | data[2]) % 700);
    copy = malloc(size + 1);
    if (copy == NULL) {
        return 0;
    }
    memcpy(copy, data + 3, size - 3);
    copy[size - 3] = '\0';
    nl = memchr(copy, '\n', size - 3);
    retry = copy;
    body = nl != NULL ? nl + 1 : copy + (size - 3);
    body_len = (size_t)(copy + (size - 3) - body);
    if (nl != NULL) {
        *nl = '\0';
    }
    (void)notify_classify_webhook(channel, status, body, body_len,
                                  retry[0] ? retry : NULL, (time_t)1700000000, &retry_ms, why,
                                  sizeof why);
    if (retry_ms < 0 || retry_ms > 3600000) {
        abort();
    }
    (void)notify_retry_after_ms(retry, (time_t)1700000000);
    n = notify_clean_text(body, body_len);
    if (n > body_len || body[n] != '\0') {
        abort();
    }
    /* Cleaned text is storable: format a message with it everywhere. */
    memset(&it, 0, sizeof it);
    it.outbox_id = 1;
    it.message_id = 1;
    it.attempt = 1;
    it.channel = channel;
    it.kind = "alarm.raise";
    it.language = "ja";
    it.severity = (data[0] & 4) ? "alert" : "ok";
    it.title = body;
    it.body = body;
    it.fields_json = (data[0] & 8) ? body : "[{\"name\":\"CH1\",\"value\":\"x\"}]";
    it.link_url = (data[0] & 16) ? body : NULL;
    json = notify_format_webhook(&it);
    if (json != NULL && strcmp(channel, "wechat") == 0 && strlen(json) > 4 * 4096 + 256) {
        abort();
    }
    free(json);
    text = notify_format_mail(&it);
    free(text);
    free(copy);
    return 0;
}
