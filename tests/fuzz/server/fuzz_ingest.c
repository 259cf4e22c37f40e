/* Fuzz target for the ingestion batch parser (server/svc/ingest_parse.c),
 * which every app credential can feed: any input must give a batch whose
 * records are sorted, of known selected channels, inside the time window
 * and without two samples at one time; or a refusal with a status, a code
 * and a message; never a crash, hang or leak. The first byte picks the
 * body kind (even: JSON, odd: HOK/HOK2) and which channels are selected.
 * JSON bodies go through both readers (the one-pass one and the cJSON
 * tree), which must give the same batch or the same refusal; the one-pass
 * reader is given the selected ids' text (ingest_known.ids_text), as the
 * server gives it, so that a snapshot of exactly those ids takes its
 * shortcut (corpus: json_known_ids*). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ingest_parse.h"

#define NOW 1800000000000000LL

/* The cJSON tree reads "text" against "known" as the one-pass reader did
 * (its answer "rc", "b", "e"): the same records bit for bit, or the same
 * refusal. */
static void tree_agrees(const char *text, size_t len, const ingest_known *known, svc_status rc,
                        const ingest_batch *b, const svc_error *e)
{
    ingest_batch tb;
    svc_error te;
    svc_status trc;
    memset(&tb, 0, sizeof tb);
    trc = ingest_parse_json_tree(text, len, known, NOW, &tb, &te);
    if (trc != rc) {
        abort();
    }
    if (rc == SVC_OK && (tb.n != b->n || tb.n_channels != b->n_channels || tb.t_min != b->t_min ||
                         tb.t_max != b->t_max || strcmp(tb.batch_id, b->batch_id) != 0 ||
                         memcmp(tb.rec, b->rec, b->n * sizeof *b->rec) != 0)) {
        abort();
    }
    if (rc != SVC_OK && (te.status != e->status || strcmp(te.message, e->message) != 0)) {
        abort();
    }
    ingest_batch_free(&tb);
}

/* The one-pass reader (into a lent buffer, as svc_ingest.c lends one) and
 * the cJSON tree read "text" against "known" alike. */
static void readers_agree(const char *text, size_t len, const ingest_known *known)
{
    ingest_rec lent[4];
    ingest_batch b;
    svc_error e;
    svc_status rc;
    ingest_batch_lend(&b, lent, sizeof lent / sizeof lent[0]);
    rc = ingest_parse_json(text, len, known, NOW, &b, &e);
    tree_agrees(text, len, known, rc, &b, &e);
    ingest_batch_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ingest_channel ch[8];
    ingest_known known;
    char *ids;
    ingest_batch b;
    ingest_rec lent[4];
    svc_error e;
    char *text;
    svc_status rc;
    if (size == 0) {
        return 0;
    }
    for (int i = 0; i < 8; i++) {
        ch[i].id = i + 1; /* HOK channel i is Metron channel ch[i].id; JSON ids 1..8 */
        ch[i].selected = (data[0] >> (i % 7)) & 1;
        ch[i].refusal = NULL;
    }
    known.ch = ch;
    known.n = 8;
    ids = ingest_known_ids_text(ch, 8, &known.ids_len, &known.ids_n);
    known.ids_text = ids;
    /* A buffer lent by the caller, as svc_ingest.c does: a batch of more
     * records moves out of it (and it is never freed). */
    ingest_batch_lend(&b, lent, sizeof lent / sizeof lent[0]);
    if (data[0] & 1) {
        rc = ingest_parse_hok(data + 1, size - 1, "fuzz-1", &known, NOW, &b, &e);
    } else {
        text = malloc(size);
        if (text == NULL) {
            free(ids);
            return 0;
        }
        memcpy(text, data + 1, size - 1);
        text[size - 1] = '\0';
        rc = ingest_parse_json(text, size - 1, &known, NOW, &b, &e);
        /* The one-pass reader and the cJSON tree agree on every body. */
        tree_agrees(text, size - 1, &known, rc, &b, &e);
        {
            /* Against a table of the selected channels alone, where every
             * channel may be sent (the server's usual table: the ids text
             * then covers the whole table). */
            ingest_channel sel[8];
            ingest_known k2;
            char *ids2;
            size_t n_sel = 0;
            for (int i = 0; i < 8; i++) {
                if (ch[i].selected) {
                    sel[n_sel++] = ch[i];
                }
            }
            memset(&k2, 0, sizeof k2);
            k2.ch = sel;
            k2.n = n_sel;
            ids2 = ingest_known_ids_text(sel, n_sel, &k2.ids_len, &k2.ids_n);
            k2.ids_text = ids2;
            readers_agree(text, size - 1, &k2);
            free(ids2);
        }
        free(text);
    }
    if (rc != SVC_OK) {
        if (rc != e.status || e.status == SVC_OK || e.message[0] == '\0' ||
            svc_status_code(e.status) == NULL) {
            abort();
        }
    } else {
        if (b.n == 0 || b.n > INGEST_MAX_SAMPLES || !ingest_batch_id_valid(b.batch_id)) {
            abort();
        }
        for (size_t i = 0; i < b.n; i++) {
            const ingest_rec *r = &b.rec[i];
            if (r->ch < 1 || r->ch > 8 || !ch[r->ch - 1].selected || r->t < INGEST_T_MIN ||
                r->t > NOW + INGEST_FUTURE_US || r->t < b.t_min || r->t > b.t_max) {
                abort();
            }
            if (i > 0 && (r->ch < b.rec[i - 1].ch ||
                          (r->ch == b.rec[i - 1].ch && r->t <= b.rec[i - 1].t))) {
                abort();
            }
        }
    }
    ingest_batch_free(&b);
    free(ids);
    return 0;
}
