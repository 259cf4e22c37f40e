/* The server's replies: the channel table, error bodies and requests are
 * read within bounds; anything else is refused with a reason. */
#include <stdlib.h>

#include "reply.h"
#include "t.h"

static void reply_table_reads_devices_and_live_until(void)
{
    static const char text[] =
        "{\"app_id\":7,\"live_until\":1764065700000000,\"devices\":["
        "{\"id\":3,\"model\":\"PW3390\",\"serial\":\"S\",\"firmware\":\"V2.10\",\"channels\":["
        "{\"id\":9,\"key\":\"U1\",\"name\":\"U\",\"unit\":\"V\",\"selected\":true},"
        "{\"id\":8,\"key\":\"I1\",\"name\":\"I\",\"unit\":\"A\",\"selected\":false}]}]}";
    gw_table t = {0};
    char err[200];
    const gw_tdevice *d;
    T_EQ_INT(gw_table_parse(text, strlen(text), &t, err, sizeof err), 0);
    T_EQ_INT(t.app_id, 7);
    T_EQ_INT(t.live_until, 1764065700000000LL);
    d = gw_table_device(&t, "PW3390", "S");
    T_TRUE(d != NULL);
    T_EQ_STR(d->firmware, "V2.10");
    T_EQ_INT(gw_table_channel(d, "I1")->id, 8);
    T_TRUE(!gw_table_channel(d, "I1")->selected);
    T_TRUE(gw_table_channel(d, "P1") == NULL);
    T_TRUE(gw_table_device(&t, "PW3390", "T") == NULL);
    gw_table_clear(&t);
}

static void reply_table_refuses_what_is_not_one(void)
{
    static const char *const bad[] = {
        "",
        "[]",
        "{\"devices\":[]}",
        "{\"app_id\":0,\"devices\":[]}",
        "{\"app_id\":1.5,\"devices\":[]}",
        "{\"app_id\":1,\"devices\":{}}",
        "{\"app_id\":1,\"live_until\":\"x\",\"devices\":[]}",
        "{\"app_id\":1,\"devices\":[{\"id\":1,\"model\":\"M\",\"channels\":[{\"id\":1}]}]}",
        "{\"app_id\":1,\"devices\":[{\"id\":1,\"model\":\"MMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMM\","
        "\"channels\":[]}]}",
        "{\"app_id\":1,\"devices\":[{\"id\":1,\"model\":\"M\",\"channels\":[{\"id\":-1,"
        "\"key\":\"k\",\"selected\":true}]}]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        gw_table t = {0};
        char err[200] = "";
        int rc = gw_table_parse(bad[i], strlen(bad[i]), &t, err, sizeof err);
        gw_table_clear(&t);
        if (rc != -1 || err[0] == '\0') {
            T_FAIL("case %zu: rc %d, \"%s\"", i, rc, err);
        }
    }
}

static void reply_error_body_is_read_and_cleaned(void)
{
    static const char text[] = "{\"code\":\"plan_limit\",\"message\":\"P12 \\n limit\"}";
    char code[8], msg[100];
    gw_error_parse(text, strlen(text), code, sizeof code, msg, sizeof msg);
    T_EQ_STR(code, "plan_li"); /* truncated to the buffer */
    T_EQ_STR(msg, "P12   limit");
    gw_error_parse("<html>", 6, code, sizeof code, msg, sizeof msg);
    T_EQ_STR(code, "");
    T_EQ_STR(msg, "");
}

static void reply_requests_are_read_and_unknown_kinds_skipped(void)
{
    static const char text[] =
        "{\"live_until\":5,\"requests\":[{\"id\":4,\"kind\":\"self_check\"},"
        "{\"id\":5,\"kind\":\"teleport\"},"
        "{\"id\":6,\"kind\":\"firmware_upgrade\",\"device_id\":3,\"firmware\":\"V2.40\"}]}";
    gw_request q[4];
    size_t n = 0;
    int64_t lu = 0;
    char err[200];
    T_EQ_INT(gw_requests_parse(text, strlen(text), q, 4, &n, &lu, err, sizeof err), 0);
    T_EQ_INT(n, 2);
    T_EQ_INT(lu, 5);
    T_EQ_INT(q[0].kind, GW_REQ_SELF_CHECK);
    T_EQ_INT(q[1].kind, GW_REQ_FIRMWARE);
    T_EQ_INT(q[1].device_id, 3);
    T_EQ_STR(q[1].firmware, "V2.40");
    T_EQ_INT(gw_requests_parse("{\"requests\":[{\"id\":6,\"kind\":\"firmware_upgrade\"}]}", 49,
                               q, 4, &n, &lu, err, sizeof err),
             -1);
    T_EQ_INT(gw_requests_parse("{}", 2, q, 4, &n, &lu, err, sizeof err), -1);
}

/* A maintenance refusal over MQTT carries the seconds to wait; a number
 * that is not a sensible count of seconds, or one on a final refusal, is
 * no advice. */
static void reply_mqtt_maintenance_carries_retry_after(void)
{
    static const char m[] = "{\"batch_id\":\"b1\",\"ok\":false,\"code\":\"maintenance\","
                            "\"message\":\"until 2027-03-30T23:30:00Z\",\"retry\":true,"
                            "\"retry_after\":3599}";
    static const char neg[] = "{\"batch_id\":\"b1\",\"ok\":false,\"retry\":true,"
                              "\"retry_after\":-5}";
    static const char str[] = "{\"batch_id\":\"b1\",\"ok\":false,\"retry\":true,"
                              "\"retry_after\":\"60\"}";
    static const char fin[] = "{\"batch_id\":\"b1\",\"ok\":false,\"retry\":false,"
                              "\"retry_after\":60}";
    gw_mqtt_reply r;
    char err[200];
    T_EQ_INT(gw_mqtt_reply_parse(m, strlen(m), &r, err, sizeof err), 0);
    T_EQ_INT(r.ok, 0);
    T_EQ_INT(r.retry, 1);
    T_EQ_INT(r.retry_after_s, 3599);
    T_EQ_STR(r.code, "maintenance");
    T_EQ_INT(gw_mqtt_reply_parse(neg, strlen(neg), &r, err, sizeof err), 0);
    T_EQ_INT(r.retry_after_s, 0);
    T_EQ_INT(gw_mqtt_reply_parse(str, strlen(str), &r, err, sizeof err), 0);
    T_EQ_INT(r.retry_after_s, 0);
    T_EQ_INT(gw_mqtt_reply_parse(fin, strlen(fin), &r, err, sizeof err), 0);
    T_EQ_INT(r.retry_after_s, 0);
}

void suite_gw_reply(void)
{
    T_RUN(reply_mqtt_maintenance_carries_retry_after);
    T_RUN(reply_table_reads_devices_and_live_until);
    T_RUN(reply_table_refuses_what_is_not_one);
    T_RUN(reply_error_body_is_read_and_cleaned);
    T_RUN(reply_requests_are_read_and_unknown_kinds_skipped);
}
