/* server/svc/ingest_parse.c: the ingestion batch parser (attacker-facing:
 * every app credential can send it anything). Unhappy paths first, as a
 * table of bodies and the refusal each must get; then what a good batch
 * turns into. */
#include <stdlib.h>
#include <string.h>

#include "ingest_parse.h"
#include "mt/types.h"
#include "t.h"

#define NOW 1800000000000000LL /* 2027-01-15, µs */
#define T0 1700000000000000LL  /* 2023-11-14, µs */

/* Channels 10 and 11 are selected, 12 exists but is not. */
static const ingest_channel channels[] = {{10, true, NULL}, {11, true, NULL}, {12, false, NULL}};
static const ingest_known known = {.ch = channels, .n = 3};

/* Parse "json" (copied: the parser wants it NUL-terminated) into "b". */
static svc_status parse(const char *json, ingest_batch *b, svc_error *e)
{
    size_t len = strlen(json);
    char *text = malloc(len + 1);
    svc_status rc;
    memcpy(text, json, len + 1);
    memset(b, 0, sizeof *b);
    rc = ingest_parse_json(text, len, &known, NOW, b, e);
    free(text);
    return rc;
}

static void ingest_parse_refuses_bad_batches_with_code_and_field(void)
{
    static const struct {
        const char *body;
        svc_status status;
        const char *code;
        const char *field; /* NULL: none */
    } cases[] = {
        {"", SVC_INVALID, "malformed_json", NULL},
        {"{\"batch_id\":\"a\",", SVC_INVALID, "malformed_json", NULL},
        {"[1,2]", SVC_INVALID, "wrong_type", NULL},
        {"{\"channels\":[]}", SVC_INVALID, "missing", "batch_id"},
        {"{\"batch_id\":\"a b\",\"channels\":[]}", SVC_INVALID, "invalid_value", "batch_id"},
        {"{\"batch_id\":7,\"channels\":[]}", SVC_INVALID, "invalid_value", "batch_id"},
        {"{\"batch_id\":\"a\",\"extra\":1}", SVC_INVALID, "unknown_member", "extra"},
        {"{\"batch_id\":\"a\",\"channels\":[]}", SVC_INVALID, "empty_batch", NULL},
        {"{\"batch_id\":\"a\",\"channels\":{}}", SVC_INVALID, "wrong_type", "channels"},
        {"{\"batch_id\":\"a\",\"channels\":[{\"id\":10,\"t\":[1700000000000000],\"v\":[1,2]}]}",
         SVC_INVALID, "length_mismatch", "channels[0].v"},
        {"{\"batch_id\":\"a\",\"channels\":[{\"id\":10,\"t\":[1700000000000000],\"v\":[\"x\"]}]}",
         SVC_INVALID, "wrong_type", "channels[0].v[0]"},
        {"{\"batch_id\":\"a\",\"channels\":[{\"id\":99,\"t\":[1700000000000000],\"v\":[1]}]}",
         SVC_UNPROCESSABLE, "unknown_channel", "channels[0].id"},
        {"{\"batch_id\":\"a\",\"channels\":[{\"id\":12,\"t\":[1700000000000000],\"v\":[1]}]}",
         SVC_UNPROCESSABLE, "channel_not_selected", "channels[0].id"},
        {"{\"batch_id\":\"a\",\"channels\":[{\"id\":10,\"t\":[5],\"v\":[1]}]}", SVC_UNPROCESSABLE,
         "time_out_of_range", "channels[0].t[0]"},
        {"{\"batch_id\":\"a\",\"channels\":[{\"id\":10,\"t\":[1900000000000000],\"v\":[1]}]}",
         SVC_UNPROCESSABLE, "time_in_future", "channels[0].t[0]"},
        {"{\"batch_id\":\"a\",\"channels\":[{\"id\":10,\"t\":[1700000000000002,1700000000000001],"
         "\"v\":[1,2]}]}",
         SVC_UNPROCESSABLE, "out_of_order", "channels[0].t[1]"},
        {"{\"batch_id\":\"a\",\"channels\":[{\"id\":10,\"t\":[1700000000000000],\"v\":[1]},"
         "{\"id\":10,\"t\":[1700000000000000],\"v\":[2]}]}",
         SVC_UNPROCESSABLE, "duplicate_sample", NULL},
        {"{\"batch_id\":\"a\",\"snapshots\":[{\"t\":1700000000000000,\"ids\":[10,11],\"v\":[1]}]}",
         SVC_INVALID, "length_mismatch", "snapshots[0].v"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ingest_batch b;
        svc_error e;
        svc_status rc = parse(cases[i].body, &b, &e);
        ingest_batch_free(&b);
        if (rc != cases[i].status || e.status != cases[i].status || e.code == NULL ||
            strcmp(e.code, cases[i].code) != 0 ||
            (cases[i].field == NULL) != (e.field == NULL) ||
            (cases[i].field != NULL && strcmp(e.field, cases[i].field) != 0) ||
            e.message[0] == '\0') {
            T_FAIL("case %zu %s: rc %d, %s %s field %s (%s)", i, cases[i].body, rc,
                   svc_status_name(e.status), e.code ? e.code : "-", e.field ? e.field : "-",
                   e.message);
        }
    }
}

static void ingest_parse_sorts_columns_and_snapshots_into_records(void)
{
    ingest_batch b;
    svc_error e;
    const char *body =
        "{\"batch_id\":\"b-17\","
        "\"channels\":[{\"id\":11,\"t\":[1700000000000000,1700000000000010],\"v\":[1.5,\"+over\"]}],"
        "\"snapshots\":[{\"t\":1700000000000005,\"ids\":[10,11],\"v\":[2.5,3.5]}]}";
    T_EQ_INT(parse(body, &b, &e), SVC_OK);
    T_EQ_STR(b.batch_id, "b-17");
    T_EQ_INT(b.n, 4);
    T_EQ_INT(b.n_channels, 2);
    T_EQ_INT(b.rec[0].ch, 10);
    T_EQ_INT(b.rec[1].ch, 11);
    T_EQ_INT(b.rec[1].t, T0);
    T_NEAR(b.rec[1].v, 1.5, 0);
    T_EQ_INT(b.rec[2].t, T0 + 5);
    T_EQ_INT(b.rec[3].t, T0 + 10);
    T_EQ_INT(mt_sv_kind(b.rec[3].v), MT_SV_OVER_POS);
    T_EQ_INT(b.t_min, T0);
    T_EQ_INT(b.t_max, T0 + 10);
    ingest_batch_free(&b);
}

/* The one-pass reader (against "fast", into "lent" of "cap" records when
 * given) and the cJSON tree (against "tree") read a copy of "body" alike:
 * the same batch, bit for bit, or the same refusal. */
static void readers_same(const char *body, const ingest_known *fast, const ingest_known *tree,
                         ingest_rec *lent, size_t cap)
{
    size_t len = strlen(body);
    char *text = malloc(len + 1);
    ingest_batch b, tb;
    svc_error e, te;
    svc_status rc, trc;
    memcpy(text, body, len + 1);
    memset(&b, 0, sizeof b);
    memset(&tb, 0, sizeof tb);
    if (lent != NULL) {
        ingest_batch_lend(&b, lent, cap);
    }
    rc = ingest_parse_json(text, len, fast, NOW, &b, &e);
    trc = ingest_parse_json_tree(text, len, tree, NOW, &tb, &te);
    T_EQ_INT(rc, trc);
    if (rc == SVC_OK) {
        T_EQ_INT(b.n, tb.n);
        T_EQ_INT(b.n_channels, tb.n_channels);
        T_EQ_INT(b.t_min, tb.t_min);
        T_EQ_INT(b.t_max, tb.t_max);
        T_EQ_STR(b.batch_id, tb.batch_id);
        T_EQ_INT(memcmp(b.rec, tb.rec, b.n * sizeof *b.rec), 0);
    } else {
        T_EQ_INT(e.status, te.status);
        T_EQ_STR(e.message, te.message);
    }
    ingest_batch_free(&b);
    ingest_batch_free(&tb);
    free(text);
}

/* The one-pass reader and the cJSON tree give the same batch, bit for bit,
 * or the same refusal: numbers at the edges of exact reading, the shapes
 * the reader leaves to the tree, and refusals. */
static void ingest_parse_one_pass_reader_agrees_with_the_tree(void)
{
    static const char *const bodies[] = {
        "{\"batch_id\":\"a\",\"channels\":[{\"id\":10,\"t\":[1700000000000000,1700000000000001,"
        "1700000000000002,1700000000000003,1700000000000004,1700000000000005,1700000000000006,"
        "1700000000000007,1700000000000008,1700000000000009,1700000000000010,1700000000000011],"
        "\"v\":[0.1,-0,1e22,1e23,123456789012345678,5e-324,1.7976931348623157e308,"
        "2.2250738585072014e-308,9007199254740993,0.30000000000000004,-12.5E-3,\"break\"]}]}",
        " { \"snapshots\" : [ { \"v\" : [1], \"ids\" : [10], \"t\" : 1700000000000000 } ] ,"
        " \"batch_id\" : \"s\" } \n",
        "{\"batch_id\":\"v-first\",\"channels\":[{\"id\":10,\"v\":[1],\"t\":[1700000000000000]}]}",
        "{\"batch_id\":\"dup\",\"batch_id\":\"x\",\"channels\":[{\"id\":10,\"t\":[1700000000000000],"
        "\"v\":[1]}]}",
        "{\"batch_id\":\"esc\\u0041\",\"channels\":[{\"id\":10,\"t\":[1700000000000000],\"v\":[1]}]}",
        "{\"batch_id\":\"float-t\",\"channels\":[{\"id\":10,\"t\":[1.7e15],\"v\":[1]}]}",
        "{\"batch_id\":\"empty\",\"channels\":[]}",
        "{\"batch_id\":\"twice\",\"channels\":[{\"id\":10,\"t\":[1700000000000000],\"v\":[1]}],"
        "\"snapshots\":[{\"t\":1700000000000000,\"ids\":[10],\"v\":[2]}]}",
        "{\"batch_id\":\"order\",\"channels\":[{\"id\":10,\"t\":[1700000000000001,1700000000000000],"
        "\"v\":[1,2]}]}",
        "{\"batch_id\":\"unsel\",\"snapshots\":[{\"t\":1700000000000000,\"ids\":[12],\"v\":[1]}]}",
        "{\"batch_id\":\"inf\",\"channels\":[{\"id\":10,\"t\":[1700000000000000],\"v\":[1e999]}]}",
        "{\"batch_id\":\"lead0\",\"channels\":[{\"id\":10,\"t\":[1700000000000000],\"v\":[01]}]}",
        "{\"batch_id\":\"more-v\",\"channels\":[{\"id\":10,\"t\":[1700000000000000],\"v\":[1,2]}]}",
        "{\"batch_id\":\"trail\",\"channels\":[{\"id\":10,\"t\":[1700000000000000],\"v\":[1]}]} x",
        "{\"batch_id\":\"future\",\"channels\":[{\"id\":10,\"t\":[1800000400000000],\"v\":[1]}]}",
    };
    for (size_t k = 0; k < sizeof bodies / sizeof bodies[0]; k++) {
        readers_same(bodies[k], &known, &known, NULL, 0);
    }
}

/* A caller's buffer (svc_ingest.c lends one on its stack) holds a small
 * batch; a larger one moves to the heap, with the same records, and the
 * lent buffer is never freed (ASan would see it). */
static void ingest_parse_reads_into_a_lent_buffer_and_grows_out_of_it(void)
{
    static const char *const bodies[] = {
        "{\"batch_id\":\"two\",\"snapshots\":[{\"t\":1700000000000000,\"ids\":[10,11],"
        "\"v\":[1.25,-2]}]}",
        "{\"batch_id\":\"five\",\"channels\":[{\"id\":10,\"t\":[1700000000000000,"
        "1700000000000001,1700000000000002],\"v\":[1,2,3]},{\"id\":11,\"t\":[1700000000000000,"
        "1700000000000001],\"v\":[4,\"break\"]}]}",
        "{\"batch_id\":\"tree\",\"channels\":[{\"id\":10,\"t\":[1700000000000000,"
        "1700000000000001,1700000000000002],\"v\":[1e0,2e0,3e0]}]}",
    };
    for (size_t k = 0; k < sizeof bodies / sizeof bodies[0]; k++) {
        size_t len = strlen(bodies[k]);
        char *text = malloc(len + 1);
        ingest_rec lent[2];
        ingest_batch b, hb;
        svc_error e, he;
        memcpy(text, bodies[k], len + 1);
        ingest_batch_lend(&b, lent, 2);
        memset(&hb, 0, sizeof hb);
        T_EQ_INT(ingest_parse_json(text, len, &known, NOW, &b, &e), SVC_OK);
        T_EQ_INT(ingest_parse_json(text, len, &known, NOW, &hb, &he), SVC_OK);
        T_EQ_INT(b.n, hb.n);
        T_EQ_INT(memcmp(b.rec, hb.rec, b.n * sizeof *b.rec), 0);
        T_TRUE(b.n <= 2 ? b.rec == lent && b.rec_lent : b.rec != lent && !b.rec_lent);
        ingest_batch_free(&b);
        T_TRUE(b.rec == NULL && !b.rec_lent);
        ingest_batch_free(&hb);
        free(text);
    }
}

static void ingest_parse_refuses_a_hok_body_that_is_not_hok(void)
{
    static const unsigned char junk[] = "not a HOK file at all";
    ingest_batch b;
    svc_error e;
    memset(&b, 0, sizeof b);
    T_EQ_INT(ingest_parse_hok(junk, sizeof junk - 1, "b1", &known, NOW, &b, &e), SVC_INVALID);
    T_EQ_INT(e.status, SVC_INVALID);
    T_EQ_STR(e.code, "bad_hok");
    ingest_batch_free(&b);
    memset(&b, 0, sizeof b);
    T_EQ_INT(ingest_parse_hok(junk, sizeof junk - 1, "a b", &known, NOW, &b, &e), SVC_INVALID);
    T_EQ_STR(e.code, "invalid_value");
    T_EQ_STR(e.field, "X-Batch-Id");
    ingest_batch_free(&b);
}

/* The ids text of the channels that may be sent (10 and 11; 12 is not
 * selected), and snapshots read with it: exactly those ids take the same
 * records as without it; near misses (another id after them, a longer
 * number, a fraction, white space, more records than the lent buffer
 * holds) the same records or the same refusal as the tree. */
static void ingest_parse_known_ids_text_gives_the_same_batches(void)
{
    static const char *const bodies[] = {
        "{\"batch_id\":\"k\",\"snapshots\":[{\"t\":1700000000000000,\"ids\":[10,11],"
        "\"v\":[1.25,-2]},{\"t\":1700000000000001,\"ids\":[10,11 ],\"v\":[3,\"+over\"]}]}",
        "{\"batch_id\":\"k\",\"snapshots\":[{\"t\":1700000000000000,\"ids\":[10,11,12],"
        "\"v\":[1,2,3]}]}",
        "{\"batch_id\":\"k\",\"snapshots\":[{\"t\":1700000000000000,\"ids\":[10,110],"
        "\"v\":[1,2]}]}",
        "{\"batch_id\":\"k\",\"snapshots\":[{\"t\":1700000000000000,\"ids\":[10,11.0],"
        "\"v\":[1,2]}]}",
        "{\"batch_id\":\"k\",\"snapshots\":[{\"t\":1700000000000000,\"ids\":[10,11e0],"
        "\"v\":[1,2]}]}",
        "{\"batch_id\":\"k\",\"snapshots\":[{\"t\":1700000000000000,\"ids\":[10,11],"
        "\"v\":[1]}]}",
        "{\"batch_id\":\"k\",\"snapshots\":[{\"t\":1700000000000000,\"ids\":[10,11],"
        "\"v\":[1,2]},{\"t\":1700000000000000,\"ids\":[10,11],\"v\":[1,2]}]}",
        "{\"batch_id\":\"k\",\"snapshots\":[{\"t\":1700000000000000,\"ids\":[10,11],"
        "\"v\":[1,2]},{\"t\":1700000000000001,\"ids\":[10,11],\"v\":[1,2]}]}",
        "{\"batch_id\":\"k\",\"snapshots\":[{\"t\":1700000000000000,\"ids\":[10,11",
    };
    size_t ids_len = 0, ids_n = 0;
    char *ids = ingest_known_ids_text(channels, 3, &ids_len, &ids_n);
    ingest_known with = known;
    T_TRUE(ids != NULL);
    T_EQ_STR(ids, "10,11");
    T_EQ_INT(ids_len, 5);
    T_EQ_INT(ids_n, 2);
    with.ids_text = ids;
    with.ids_len = ids_len;
    with.ids_n = ids_n;
    for (size_t k = 0; k < sizeof bodies / sizeof bodies[0]; k++) {
        for (size_t cap = 2; cap <= 4; cap += 2) {
            ingest_rec lent[4];
            readers_same(bodies[k], &with, &known, lent, cap);
        }
    }
    free(ids);
    {
        /* A table whose every channel may be sent (the usual one). */
        static const ingest_channel all[] = {{10, true, NULL}, {11, true, NULL}};
        static const char body[] = "{\"batch_id\":\"k\",\"snapshots\":[{\"ids\":[10,11],"
                                   "\"v\":[1,2],\"t\":1700000000000000}]}";
        ingest_known k2 = {.ch = all, .n = 2};
        ingest_rec lent[4];
        ingest_batch b;
        svc_error e;
        char *text = malloc(sizeof body);
        memcpy(text, body, sizeof body);
        ids = ingest_known_ids_text(all, 2, &ids_len, &ids_n);
        T_EQ_STR(ids, "10,11");
        k2.ids_text = ids;
        k2.ids_len = ids_len;
        k2.ids_n = ids_n;
        ingest_batch_lend(&b, lent, 4);
        T_EQ_INT(ingest_parse_json(text, sizeof body - 1, &k2, NOW, &b, &e), SVC_OK);
        T_EQ_INT(b.n, 2);
        T_EQ_INT(b.n_channels, 2);
        T_EQ_INT(b.rec[0].ch, 10);
        T_EQ_INT(b.rec[1].ch, 11);
        T_EQ_INT(b.rec[1].t, T0);
        T_EQ_INT(b.t_min, T0);
        T_EQ_INT(b.t_max, T0);
        T_TRUE(b.rec[0].v == 1 && b.rec[1].v == 2);
        ingest_batch_free(&b);
        free(text);
        free(ids);
    }
    {
        /* Nothing to send, or ids not ascending: no text. */
        static const ingest_channel none[] = {{10, false, NULL}, {11, true, "too old"}};
        static const ingest_channel unsorted[] = {{11, true, NULL}, {10, true, NULL}};
        T_TRUE(ingest_known_ids_text(none, 2, &ids_len, &ids_n) == NULL);
        T_TRUE(ingest_known_ids_text(unsorted, 2, &ids_len, &ids_n) == NULL);
        T_TRUE(ingest_known_ids_text(none, 0, &ids_len, &ids_n) == NULL);
    }
}

static void ingest_batch_id_valid_takes_64_safe_characters(void)
{
    char id[70];
    T_TRUE(ingest_batch_id_valid("b-17.x:y_z"));
    T_TRUE(!ingest_batch_id_valid(""));
    T_TRUE(!ingest_batch_id_valid("a/b"));
    memset(id, 'a', 64);
    id[64] = '\0';
    T_TRUE(ingest_batch_id_valid(id));
    id[64] = 'a';
    id[65] = '\0';
    T_TRUE(!ingest_batch_id_valid(id));
}

void suite_ingest_parse(void)
{
    T_RUN(ingest_parse_refuses_bad_batches_with_code_and_field);
    T_RUN(ingest_parse_sorts_columns_and_snapshots_into_records);
    T_RUN(ingest_parse_one_pass_reader_agrees_with_the_tree);
    T_RUN(ingest_parse_reads_into_a_lent_buffer_and_grows_out_of_it);
    T_RUN(ingest_parse_known_ids_text_gives_the_same_batches);
    T_RUN(ingest_parse_refuses_a_hok_body_that_is_not_hok);
    T_RUN(ingest_batch_id_valid_takes_64_safe_characters);
}
