/* server/notify/notify_format.c: what receivers' answers mean, Retry-After,
 * the back-off, cleaning stored text, and the payload of each channel; and
 * svc_notify_mask() (svc_destinations.c), the masking of webhook URLs. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "notify_format.h"
#include "svc_destinations.h"
#include "t.h"

typedef struct {
    const char *channel;
    long status;
    const char *body;
    const char *retry_after;
    notify_verdict want;
    long long want_ms; /* NOTIFY_THROTTLED */
} answer_case;

static void notify_classifies_answers_of_each_channel(void)
{
    static const answer_case cases[] = {
        {"slack", 200, "ok", NULL, NOTIFY_SENT, 0},
        {"teams", 202, "", NULL, NOTIFY_SENT, 0},
        {"teams", 200, "1", NULL, NOTIFY_SENT, 0},
        {"wechat", 200, "{\"errcode\":0,\"errmsg\":\"ok\"}", NULL, NOTIFY_SENT, 0},
        {"wechat", 200, "{\"errcode\": 45009, \"errmsg\":\"api freq out of limit\"}", NULL,
         NOTIFY_THROTTLED, 60000},
        {"wechat", 200, "{\"errcode\":93000,\"errmsg\":\"invalid webhook url\"}", NULL,
         NOTIFY_PERMANENT, 0},
        {"wechat", 200, "{\"errcode\":-1,\"errmsg\":\"system busy\"}", NULL, NOTIFY_RETRY, 0},
        {"teams", 200, "Webhook message delivery failed with error: Microsoft Teams endpoint "
                       "returned HTTP error 429",
         NULL, NOTIFY_THROTTLED, 30000},
        {"slack", 429, "rate_limited", "7", NOTIFY_THROTTLED, 7000},
        {"slack", 429, "", NULL, NOTIFY_THROTTLED, 30000},
        {"slack", 429, "", "999999", NOTIFY_THROTTLED, 3600000},
        {"slack", 429, "", "soon", NOTIFY_THROTTLED, 30000},
        {"slack", 500, "", NULL, NOTIFY_RETRY, 0},
        {"slack", 503, "", "5", NOTIFY_RETRY, 0},
        {"teams", 408, "", NULL, NOTIFY_RETRY, 0},
        {"slack", 404, "no_team", NULL, NOTIFY_PERMANENT, 0},
        {"slack", 410, "channel_is_archived", NULL, NOTIFY_PERMANENT, 0},
        {"slack", 400, "invalid_payload", NULL, NOTIFY_PERMANENT, 0},
        {"teams", 301, "", NULL, NOTIFY_PERMANENT, 0},
        {"teams", 100, "", NULL, NOTIFY_RETRY, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const answer_case *c = &cases[i];
        long long ms = -1;
        char why[200] = "";
        notify_verdict v = notify_classify_webhook(c->channel, c->status, c->body,
                                                   strlen(c->body), c->retry_after,
                                                   (time_t)1700000000, &ms, why, sizeof why);
        T_EQ_INT(v, c->want);
        if (v == NOTIFY_THROTTLED) {
            T_EQ_INT(ms, c->want_ms);
        }
        if (v != NOTIFY_SENT) {
            T_TRUE(why[0] != '\0');
        }
    }
}

static void notify_reads_retry_after_as_seconds_or_date(void)
{
    time_t now = 784111777; /* Sun, 06 Nov 1994 08:49:37 GMT */
    T_EQ_INT(notify_retry_after_ms("120", now), 120000);
    T_EQ_INT(notify_retry_after_ms(" 0 ", now), 0);
    T_EQ_INT(notify_retry_after_ms("Sun, 06 Nov 1994 08:50:37 GMT", now), 60000);
    T_EQ_INT(notify_retry_after_ms("Sun, 06 Nov 1994 08:40:00 GMT", now), 0);
    T_EQ_INT(notify_retry_after_ms("Mon, 07 Nov 1994 08:49:37 GMT", now), 3600000);
    T_EQ_INT(notify_retry_after_ms("12x", now), -1);
    T_EQ_INT(notify_retry_after_ms("-5", now), -1);
    T_EQ_INT(notify_retry_after_ms("", now), -1);
    T_EQ_INT(notify_retry_after_ms(NULL, now), -1);
    T_EQ_INT(notify_retry_after_ms("99999999999999999999999", now), 3600000);
}

static void notify_backoff_doubles_with_jitter_in_the_upper_half(void)
{
    T_EQ_INT(notify_backoff_ms(1, 30000, 3600000, 0.0), 15000);
    T_EQ_INT(notify_backoff_ms(1, 30000, 3600000, 0.999999), 29999);
    T_EQ_INT(notify_backoff_ms(2, 30000, 3600000, 0.0), 30000);
    T_EQ_INT(notify_backoff_ms(3, 30000, 3600000, 0.5), 90000);
    T_EQ_INT(notify_backoff_ms(8, 30000, 3600000, 0.0), 1800000);
    T_EQ_INT(notify_backoff_ms(9, 30000, 3600000, 0.0), 1800000); /* capped at 1 h */
    T_EQ_INT(notify_backoff_ms(60, 30000, 3600000, 0.0), 1800000);
    T_EQ_INT(notify_backoff_ms(0, 200, 800, 1.5), 199);
}

static void notify_cleans_answers_to_storable_text(void)
{
    char a[] = "ok\x01\xff\xe6\x97\xa5\xe6\x97";
    char b[] = "ab\0cd";
    char c[] = "\xed\xa0\x80x"; /* a surrogate */
    T_EQ_INT(notify_clean_text(a, sizeof a - 1), sizeof a - 1);
    T_EQ_STR(a, "ok??\xe6\x97\xa5??");
    T_EQ_INT(notify_clean_text(b, 5), 2);
    T_EQ_STR(b, "ab");
    notify_clean_text(c, 4);
    T_EQ_STR(c, "???x");
}

static notify_item item(const char *channel)
{
    notify_item it;
    memset(&it, 0, sizeof it);
    it.outbox_id = 7;
    it.message_id = 3;
    it.attempt = 1;
    it.channel = channel;
    it.kind = "alarm.raise";
    it.language = "en";
    it.severity = "alert";
    it.title = "CH1 <Temp> & co";
    it.body = "Line 1\nLine 2 <b>";
    it.fields_json = "[{\"name\":\"Value\",\"value\":\"31.2 \xc2\xb0" "C\"}]";
    it.link_url = "https://metron.example.com/a/1";
    return it;
}

static void notify_slack_payload_escapes_and_keeps_limits(void)
{
    notify_item it = item("slack");
    char *json = notify_format_webhook(&it), title[400];
    cJSON *o = json ? cJSON_Parse(json) : NULL, *blocks;
    T_TRUE(o != NULL);
    if (o == NULL) {
        free(json);
        return;
    }
    T_EQ_STR(cJSON_GetObjectItem(o, "text")->valuestring,
             "\xf0\x9f\x94\xb4 CH1 <Temp> & co");
    blocks = cJSON_GetObjectItem(o, "blocks");
    T_EQ_INT(cJSON_GetArraySize(blocks), 5);
    T_EQ_STR(cJSON_GetObjectItem(cJSON_GetArrayItem(blocks, 1), "text")->child->next->valuestring,
             "Line 1\nLine 2 &lt;b&gt;");
    T_EQ_STR(cJSON_GetObjectItem(cJSON_GetArrayItem(blocks, 3), "type")->valuestring, "actions");
    /* The context names the message for support, never its kind. */
    T_EQ_STR(cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetArrayItem(blocks, 4), "elements"), 0)
                 ->child->next->valuestring,
             "Metron \xc2\xb7 message 3");
    cJSON_Delete(o);
    free(json);
    /* A title of 150 characters plus the marker is cut to 150 with "…". */
    memset(title, 'x', 150);
    title[150] = '\0';
    it.title = title;
    json = notify_format_webhook(&it);
    o = cJSON_Parse(json);
    T_EQ_INT(strlen(cJSON_GetObjectItem(o, "text")->valuestring), 4 + 1 + 147 + 3);
    cJSON_Delete(o);
    free(json);
}

static void notify_wechat_payload_fits_4096_bytes_on_a_character(void)
{
    notify_item it = item("wechat");
    char *body = malloc(9001), *json;
    cJSON *o;
    const char *content;
    for (int i = 0; i < 3000; i++) {
        memcpy(body + 3 * i, "\xe6\x97\xa5", 3);
    }
    body[9000] = '\0';
    it.body = body;
    json = notify_format_webhook(&it);
    o = cJSON_Parse(json);
    content = cJSON_GetObjectItem(cJSON_GetObjectItem(o, "markdown"), "content")->valuestring;
    T_TRUE(strlen(content) <= 4096);
    T_TRUE(strlen(content) > 4090);
    T_EQ_INT(notify_clean_text((char *)content, strlen(content)), strlen(content));
    cJSON_Delete(o);
    free(json);
    free(body);
}

static void notify_teams_payload_is_an_adaptive_card(void)
{
    notify_item it = item("teams");
    char *json = notify_format_webhook(&it);
    cJSON *o = cJSON_Parse(json), *card;
    card = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(o, "attachments"), 0),
                               "content");
    T_EQ_STR(cJSON_GetObjectItem(card, "type")->valuestring, "AdaptiveCard");
    T_EQ_STR(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(card, "body"), 0),
                                 "color")->valuestring,
             "Attention");
    T_EQ_STR(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(card, "actions"), 0),
                                 "title")->valuestring,
             "Open in Metron");
    cJSON_Delete(o);
    free(json);
    it.channel = "sms";
    T_TRUE(notify_format_webhook(&it) == NULL);
}

static void notify_mail_text_lists_fields_and_link(void)
{
    notify_item it = item("email");
    char *text = notify_format_mail(&it);
    T_EQ_STR(text, "CH1 <Temp> & co\n\nLine 1\nLine 2 <b>\n\nValue: 31.2 \xc2\xb0" "C\n\n"
                   "Open in Metron:\nhttps://metron.example.com/a/1\n\n-- \n"
                   "Metron \xc2\xb7 message 3\n");
    free(text);
    it.language = "ja";
    it.message_id = 1234;
    text = notify_format_mail(&it);
    T_TRUE(strstr(text, "\n-- \nMetron \xc2\xb7 \xe3\x83\xa1\xe3\x83\x83\xe3\x82\xbb\xe3\x83\xbc"
                        "\xe3\x82\xb8 1234\n") != NULL);
    T_TRUE(strstr(text, "alarm.raise") == NULL);
    free(text);
    T_EQ_STR(notify_link_label("de"), "In Metron \xc3\xb6" "ffnen");
    T_EQ_STR(notify_link_label("xx"), "Open in Metron");
}

static void notify_masks_webhook_urls_but_not_mail(void)
{
    char out[200];
    T_EQ_STR(svc_notify_mask("slack", "https://hooks.slack.com/services/T0/B0/AbCdXy9Z", out,
                             sizeof out),
             "https://hooks.slack.com/\xe2\x80\xa6Xy9Z");
    T_EQ_STR(svc_notify_mask("wechat",
                             "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abcd-1234",
                             out, sizeof out),
             "https://qyapi.weixin.qq.com/\xe2\x80\xa6" "1234");
    T_EQ_STR(svc_notify_mask("teams", "http://10.0.0.5:8080/hook", out, sizeof out),
             "http://10.0.0.5:8080/\xe2\x80\xa6");
    T_EQ_STR(svc_notify_mask("teams", "https://example.com", out, sizeof out),
             "https://example.com/\xe2\x80\xa6");
    T_EQ_STR(svc_notify_mask("email", "ops@example.com", out, sizeof out), "ops@example.com");
    T_EQ_STR(svc_notify_mask("slack", "https://h.example/abcdefghij", out, 12), "https://h.e");
}

void suite_notify_format(void);
void suite_notify_format(void)
{
    T_RUN(notify_classifies_answers_of_each_channel);
    T_RUN(notify_reads_retry_after_as_seconds_or_date);
    T_RUN(notify_backoff_doubles_with_jitter_in_the_upper_half);
    T_RUN(notify_cleans_answers_to_storable_text);
    T_RUN(notify_slack_payload_escapes_and_keeps_limits);
    T_RUN(notify_wechat_payload_fits_4096_bytes_on_a_character);
    T_RUN(notify_teams_payload_is_an_adaptive_card);
    T_RUN(notify_mail_text_lists_fields_and_link);
    T_RUN(notify_masks_webhook_urls_but_not_mail);
}
