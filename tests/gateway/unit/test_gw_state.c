/* The state file: what is written reads back the same; every field of a
 * hand-edited file is checked and named when wrong. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <unistd.h>

#include "state.h"
#include "t.h"

static void make_state(gw_state *st)
{
    char err[200];
    memset(st, 0, sizeof *st);
    snprintf(st->server, sizeof st->server, "https://example.test:8443");
    snprintf(st->kind, sizeof st->kind, "one");
    snprintf(st->tag, sizeof st->tag, "SIM00AA11");
    st->seed = 18446744073709551615ull;
    st->interval_s = 60;
    st->ins = calloc(2, sizeof *st->ins);
    gw_instrument_make("LR8450", 0, st->tag, 3, &st->ins[0], err, sizeof err);
    gw_instrument_make("PW3390", 1, st->tag, 3, &st->ins[1], err, sizeof err);
    st->n_ins = 2;
}

static void state_round_trips(void)
{
    gw_state a, b;
    char err[200], *text;
    make_state(&a);
    text = gw_state_print(&a);
    T_TRUE(text != NULL);
    memset(&b, 0, sizeof b);
    T_EQ_INT(gw_state_parse(text, strlen(text), &b, err, sizeof err), 0);
    T_EQ_STR(b.server, a.server);
    T_EQ_STR(b.kind, "one");
    T_EQ_STR(b.tag, a.tag);
    T_EQ_U64(b.seed, a.seed);
    T_EQ_INT(b.interval_s, 60);
    T_EQ_INT(b.n_ins, 2);
    T_EQ_STR(b.ins[1].model, "PW3390");
    T_EQ_INT(b.ins[1].n_ch, a.ins[1].n_ch);
    T_EQ_STR(b.ins[0].ch[2].key, "CH1_3");
    T_EQ_INT(b.ins[0].ch[0].q, GW_Q_TEMP);
    free(text);
    gw_state_clear(&a);
    gw_state_clear(&b);
}

static void state_refuses_bad_fields_by_name(void)
{
    static const struct {
        const char *text;
        const char *says;
    } cases[] = {
        {"", "not JSON"},
        {"[]", "object"},
        {"{\"version\":2}", "version"},
        {"{\"version\":1,\"kind\":\"two\",\"tag\":\"A\",\"interval_s\":60,\"instruments\":[]}",
         "kind"},
        {"{\"version\":1,\"kind\":\"one\",\"tag\":\"A B\",\"interval_s\":60,\"instruments\":[]}",
         "tag"},
        {"{\"version\":1,\"kind\":\"one\",\"tag\":\"A\",\"interval_s\":0,\"instruments\":[]}",
         "interval_s"},
        {"{\"version\":1,\"kind\":\"one\",\"tag\":\"A\",\"interval_s\":1.5,\"instruments\":[]}",
         "interval_s"},
        {"{\"version\":1,\"kind\":\"one\",\"tag\":\"A\",\"seed\":12,\"interval_s\":1,"
         "\"instruments\":[]}",
         "seed"},
        {"{\"version\":1,\"kind\":\"one\",\"tag\":\"A\",\"seed\":\"99999999999999999999\","
         "\"interval_s\":1,\"instruments\":[]}",
         "seed"},
        {"{\"version\":1,\"kind\":\"one\",\"tag\":\"A\",\"interval_s\":1,\"instruments\":[1]}",
         "instruments[0]"},
        {"{\"version\":1,\"kind\":\"one\",\"tag\":\"A\",\"interval_s\":1,\"instruments\":"
         "[{\"model\":\"LR8450\",\"serial\":\"S 1\",\"channels\":[{\"key\":\"A\"}]}]}",
         "serial"},
        {"{\"version\":1,\"kind\":\"one\",\"tag\":\"A\",\"interval_s\":1,\"instruments\":"
         "[{\"model\":\"LR8450\",\"serial\":\"S1\",\"firmware\":\"2.x\",\"channels\":"
         "[{\"key\":\"A\"}]}]}",
         "firmware"},
        {"{\"version\":1,\"kind\":\"one\",\"tag\":\"A\",\"interval_s\":1,\"instruments\":"
         "[{\"model\":\"LR8450\",\"serial\":\"S1\",\"channels\":[]}]}",
         "channels"},
        {"{\"version\":1,\"kind\":\"one\",\"tag\":\"A\",\"interval_s\":1,\"instruments\":"
         "[{\"model\":\"LR8450\",\"serial\":\"S1\",\"channels\":[{\"key\":\"A\"},{\"key\":\"A\"}]}]}",
         "twice"},
        {"{\"version\":1,\"kind\":\"one\",\"tag\":\"A\",\"interval_s\":1,\"instruments\":"
         "[{\"model\":\"LR8450\",\"serial\":\"S1\",\"channels\":[{\"key\":\"A\",\"q\":\"x\"}]}]}",
         "quantity"},
        {"{\"version\":1,\"kind\":\"one\",\"tag\":\"A\",\"interval_s\":1,\"instruments\":"
         "[{\"model\":\"LR8450\",\"serial\":\"S1\",\"channels\":[{\"key\":\"A\",\"name\":\"a\\u0001\"}]}]}",
         "name"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gw_state st;
        char err[300] = "";
        memset(&st, 0, sizeof st);
        if (gw_state_parse(cases[i].text, strlen(cases[i].text), &st, err, sizeof err) != -1) {
            gw_state_clear(&st);
            T_FAIL("case %zu was accepted", i);
        }
        gw_state_clear(&st);
        if (strstr(err, cases[i].says) == NULL) {
            T_FAIL("case %zu: \"%s\" does not say %s", i, err, cases[i].says);
        }
    }
}

static void state_saves_atomically_and_loads(void)
{
    char dir[] = "/tmp/gw-state-XXXXXX", err[300];
    gw_state a, b;
    T_TRUE(mkdtemp(dir) != NULL);
    memset(&b, 0, sizeof b);
    T_EQ_INT(gw_state_load(dir, &b, err, sizeof err), 0); /* no file yet */
    make_state(&a);
    T_EQ_INT(gw_state_save(dir, &a, err, sizeof err), 0);
    T_EQ_INT(gw_state_load(dir, &b, err, sizeof err), 1);
    T_EQ_STR(b.ins[0].serial, a.ins[0].serial);
    gw_state_clear(&a);
    gw_state_clear(&b);
    {
        char path[300];
        snprintf(path, sizeof path, "%s/gateway.json", dir);
        unlink(path);
    }
    rmdir(dir);
}

static void state_firmware_versions_compare_by_number(void)
{
    T_TRUE(gw_firmware_cmp("V1.50", "V2.20") < 0);
    T_TRUE(gw_firmware_cmp("V2.2", "V2.10") < 0);
    T_TRUE(gw_firmware_cmp("2.20", "V2.20") == 0);
    T_TRUE(gw_firmware_cmp("V3.11", "V3.9") > 0);
    T_TRUE(gw_firmware_cmp("V1.0", "V1") == 0);
    T_TRUE(gw_firmware_valid("V2.30"));
    T_TRUE(gw_firmware_valid("1.50"));
    T_TRUE(!gw_firmware_valid("V"));
    T_TRUE(!gw_firmware_valid("V1..2"));
    T_TRUE(!gw_firmware_valid("V12345.1"));
    T_TRUE(gw_key_valid("CH1_1"));
    T_TRUE(!gw_key_valid("CH 1"));
    T_TRUE(!gw_key_valid(""));
}

void suite_gw_state(void)
{
    T_RUN(state_round_trips);
    T_RUN(state_refuses_bad_fields_by_name);
    T_RUN(state_saves_atomically_and_loads);
    T_RUN(state_firmware_versions_compare_by_number);
}
