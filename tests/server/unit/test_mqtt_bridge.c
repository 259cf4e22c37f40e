/* The MQTT bridge's topic parser and the --mqtt URL: only an app's upward
 * topics with a bounded id, and mqtts://host:port. */
#include "config.h"
#include "mqtt_bridge.h"
#include "t.h"

static void mqtt_topic_parse_takes_only_upward_app_topics(void)
{
    long long id = 0;
    char kind[16];
    T_EQ_INT(mqtt_topic_parse("metron/v1/app/42/up/batch", &id, kind, sizeof kind), 0);
    T_EQ_INT(id, 42);
    T_EQ_STR(kind, "batch");
    T_EQ_INT(mqtt_topic_parse("metron/v1/app/42/up/status", &id, kind, sizeof kind), 0);
    T_EQ_STR(kind, "status");
    static const char *const bad[] = {
        "metron/v1/app/42/down/reply", "metron/v1/app/0/up/batch", "metron/v1/app//up/batch",
        "metron/v1/app/x/up/batch", "metron/v1/app/42/up/", "metron/v1/app/42/up/batch/x",
        "metron/v1/app/1234567890123456789/up/batch", "metron/v2/app/42/up/batch",
        "metron/v1/app/42/up/averyveryverylongkind", "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (mqtt_topic_parse(bad[i], &id, kind, sizeof kind) != -1) {
            T_FAIL("'%s' was taken", bad[i]);
        }
    }
}

static void config_mqtt_url_wants_mqtts_host_and_port(void)
{
    char host[64];
    int port = 0;
    T_EQ_INT(config_mqtt_url("mqtts://127.0.0.1:8883", host, sizeof host, &port), 0);
    T_EQ_STR(host, "127.0.0.1");
    T_EQ_INT(port, 8883);
    T_EQ_INT(config_mqtt_url("mqtts://iot.example.com:443", host, sizeof host, &port), 0);
    T_EQ_STR(host, "iot.example.com");
    static const char *const bad[] = {"mqtt://a:1", "mqtts://a", "mqtts://:1", "mqtts://a:0",
                                      "mqtts://a:70000", "mqtts://a b:1", "mqtts://a:1x",
                                      "https://a:1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (config_mqtt_url(bad[i], host, sizeof host, &port) != -1) {
            T_FAIL("'%s' was taken", bad[i]);
        }
    }
}

void suite_mqtt_bridge(void)
{
    T_RUN(mqtt_topic_parse_takes_only_upward_app_topics);
    T_RUN(config_mqtt_url_wants_mqtts_host_and_port);
}
