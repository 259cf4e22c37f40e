/* Spool entries and batches: an entry reads back as written; the batch
 * carries only the server's selected channels, by id, with special values
 * by name; damaged entries are refused with a reason. */
#include <stdlib.h>

#include "batch.h"
#include "mt/types.h"
#include "reply.h"
#include "t.h"

static const char table_json[] =
    "{\"app_id\":7,\"live_until\":null,\"devices\":["
    "{\"id\":3,\"model\":\"LR8450\",\"serial\":\"SIMX-1\",\"channels\":["
    "{\"id\":31,\"key\":\"CH1_1\",\"name\":\"T\",\"unit\":\"°C\",\"selected\":true},"
    "{\"id\":32,\"key\":\"CH1_2\",\"name\":\"V\",\"unit\":\"V\",\"selected\":false},"
    "{\"id\":33,\"key\":\"CH1_3\",\"name\":\"T\",\"unit\":\"°C\",\"selected\":true}]}]}";

static void batch_entry_round_trips_and_becomes_a_batch(void)
{
    gw_instrument ins = {0};
    gw_entry e = {0};
    gw_table tab = {0};
    char err[200], *text, *body;
    int64_t t[2] = {1764065700000000LL, 1764065760000000LL};
    double v[8] = {21.5, 1.25, mt_sv_value(MT_SV_BREAK), 0, 22, 1.5, 23, 0};
    size_t len = 0, blen = 0, n = 0, unknown = 0;
    T_EQ_INT(gw_instrument_make("LR8450", 0, "SIMX", 4, &ins, err, sizeof err), 0);
    text = gw_entry_format("SIMX-1764065700-2", &ins, 1, t, 2, v, &len);
    T_TRUE(text != NULL);
    T_EQ_INT(gw_entry_parse(text, len, &e, err, sizeof err), 0);
    T_EQ_STR(e.batch_id, "SIMX-1764065700-2");
    T_EQ_INT(e.n_keys, 4);
    T_EQ_INT(e.n_t, 2);
    T_SAME_DOUBLE(e.v[2], mt_sv_value(MT_SV_BREAK));
    T_EQ_INT(gw_table_parse(table_json, strlen(table_json), &tab, err, sizeof err), 0);
    body = gw_entry_body(&e, &tab, &blen, &n, &unknown);
    T_TRUE(body != NULL);
    T_EQ_INT(n, 4);       /* CH1_1 and CH1_3 at two times */
    T_EQ_INT(unknown, 1); /* CH1_4 is not on the server */
    T_EQ_STR(body, "{\"batch_id\":\"SIMX-1764065700-2\",\"snapshots\":["
                   "{\"t\":1764065700000000,\"ids\":[31,33],\"v\":[21.5,\"break\"]},"
                   "{\"t\":1764065760000000,\"ids\":[31,33],\"v\":[22,23]}]}");
    free(body);
    free(text);
    gw_entry_clear(&e);
    gw_table_clear(&tab);
    gw_instrument_clear(&ins);
}

static void batch_nothing_selected_gives_no_body(void)
{
    static const char entry[] = "{\"batch_id\":\"a\",\"devices\":[{\"model\":\"LR8450\","
                                "\"serial\":\"SIMX-1\",\"keys\":[\"CH1_2\"]}],\"t\":[1],\"v\":[[1]]}";
    gw_entry e = {0};
    gw_table tab = {0};
    char err[200];
    size_t blen = 0, n = 0, unknown = 0;
    T_EQ_INT(gw_entry_parse(entry, strlen(entry), &e, err, sizeof err), 0);
    T_EQ_INT(gw_table_parse(table_json, strlen(table_json), &tab, err, sizeof err), 0);
    T_TRUE(gw_entry_body(&e, &tab, &blen, &n, &unknown) == NULL);
    T_EQ_INT(n, 0);
    gw_entry_clear(&e);
    gw_table_clear(&tab);
}

static void batch_a_channel_listed_twice_is_sent_once(void)
{
    static const char entry[] = "{\"batch_id\":\"a\",\"devices\":["
                                "{\"model\":\"LR8450\",\"serial\":\"SIMX-1\",\"keys\":[\"CH1_1\"]},"
                                "{\"model\":\"LR8450\",\"serial\":\"SIMX-1\",\"keys\":[\"CH1_1\"]}],"
                                "\"t\":[1],\"v\":[[1,2]]}";
    gw_entry e = {0};
    gw_table tab = {0};
    char err[200], *body;
    size_t blen = 0, n = 0, unknown = 0;
    T_EQ_INT(gw_entry_parse(entry, strlen(entry), &e, err, sizeof err), 0);
    T_EQ_INT(gw_table_parse(table_json, strlen(table_json), &tab, err, sizeof err), 0);
    body = gw_entry_body(&e, &tab, &blen, &n, &unknown);
    T_EQ_INT(n, 1);
    T_EQ_STR(body, "{\"batch_id\":\"a\",\"snapshots\":[{\"t\":1,\"ids\":[31],\"v\":[1]}]}");
    free(body);
    gw_entry_clear(&e);
    gw_table_clear(&tab);
}

static void batch_damaged_entries_are_refused(void)
{
    static const char *const bad[] = {
        "",
        "{}",
        "{\"batch_id\":\"a b\",\"devices\":[],\"t\":[],\"v\":[]}",
        "{\"batch_id\":\"a\",\"devices\":{},\"t\":[],\"v\":[]}",
        "{\"batch_id\":\"a\",\"devices\":[{\"model\":\"M\",\"serial\":\"S\",\"keys\":[1]}],"
        "\"t\":[],\"v\":[]}",
        "{\"batch_id\":\"a\",\"devices\":[],\"t\":[1],\"v\":[]}",
        "{\"batch_id\":\"a\",\"devices\":[],\"t\":[2,1],\"v\":[[],[]]}",
        "{\"batch_id\":\"a\",\"devices\":[],\"t\":[1.5],\"v\":[[]]}",
        "{\"batch_id\":\"a\",\"devices\":[{\"model\":\"M\",\"serial\":\"S\",\"keys\":[\"k\"]}],"
        "\"t\":[1],\"v\":[[\"over\"]]}",
        "{\"batch_id\":\"a\",\"devices\":[{\"model\":\"M\",\"serial\":\"S\",\"keys\":[\"k\"]}],"
        "\"t\":[1],\"v\":[[1,2]]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        gw_entry e = {0};
        char err[200] = "";
        int rc = gw_entry_parse(bad[i], strlen(bad[i]), &e, err, sizeof err);
        gw_entry_clear(&e);
        if (rc != -1 || err[0] == '\0') {
            T_FAIL("case %zu: rc %d, \"%s\"", i, rc, err);
        }
    }
}

static void batch_buffer_escapes_strings_and_names_specials(void)
{
    gw_buf b = {0};
    gw_buf_json_str(&b, "a\"b\\c\n");
    gw_buf_add(&b, " ", 1);
    gw_buf_value(&b, mt_sv_value(MT_SV_OVER_NEG));
    gw_buf_add(&b, " ", 1);
    gw_buf_value(&b, 0.1);
    T_EQ_STR(b.p, "\"a\\\"b\\\\c\\u000a\" \"-over\" 0.1");
    gw_buf_free(&b);
}

void suite_gw_batch(void)
{
    T_RUN(batch_entry_round_trips_and_becomes_a_batch);
    T_RUN(batch_nothing_selected_gives_no_body);
    T_RUN(batch_a_channel_listed_twice_is_sent_once);
    T_RUN(batch_damaged_entries_are_refused);
    T_RUN(batch_buffer_escapes_strings_and_names_specials);
}
