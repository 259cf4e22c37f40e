/* Ingestion batches (S1): parsing and checking a batch body into samples,
 * without the database.
 *
 * A batch is what a gateway app sends in one request: an id (for retries)
 * and samples of the channels of its devices. Two bodies are accepted
 * (docs/ingest.md):
 *
 *   application/json:
 *     {"batch_id": "b-17",
 *      "channels":  [{"id": 12, "t": [t_us, ...], "v": [1.5, "+over", ...]}],
 *      "snapshots": [{"t": t_us, "ids": [12, 13], "v": [1.5, 2.5]}]}
 *   application/vnd.metron.hok (a HOK or HOK2 file; batch id in the
 *   X-Batch-Id header; channel i of the file is Metron channel ch[i].id)
 *
 * Times are integer microseconds since the Unix epoch (UTC). Values are
 * finite numbers or the special-value names of core (mt_sv_name(): "missing",
 * "+over", "-over", "break", "error"). In HOK bodies a "missing" value means
 * "no sample" and is skipped.
 *
 * The result is every sample as a record {channel, t, v}, sorted by channel
 * then time, checked against the app's channel table ("known"): each
 * channel must be one of the app's and selected for acquisition; no channel
 * may have two samples at one time; times lie in [INGEST_T_MIN, now + 5
 * min]. Any fault rejects the whole batch with an error naming the item
 * (JSON-pointer-like "field", e.g. "channels[2].v[7]"). A refusal is an
 * svc_error (svc.h): SVC_INVALID for a body that is not a batch (codes
 * malformed_json, wrong_type, missing, ...), SVC_UNPROCESSABLE for samples
 * that cannot be stored, SVC_TOO_LARGE, SVC_NOMEM; "field" in field_buf. */
#ifndef MTS_INGEST_PARSE_H
#define MTS_INGEST_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ingest_batch.h"
#include "svc.h"

/* Is "id" a valid batch id: 1..64 of [A-Za-z0-9._:-]? */
bool ingest_batch_id_valid(const char *id);

/* Parse a JSON body ("text", "len" bytes, NUL-terminated at text[len]) into
 * "b" (zeroed by the caller), check it against "known" and "now_us".
 * Returns SVC_OK, or the failure in "e"; after a failure "b" may hold
 * partial samples (free it anyway). */
MT_MUSTCHECK
svc_status ingest_parse_json(const char *text, size_t len, const ingest_known *known,
                             int64_t now_us, ingest_batch *b, svc_error *e);

/* The same through a cJSON tree alone: what ingest_parse_json() falls back
 * to for any body its one-pass reader does not take (and the reference the
 * fuzz target checks that reader against). Same contract. */
MT_MUSTCHECK
svc_status ingest_parse_json_tree(const char *text, size_t len, const ingest_known *known,
                                  int64_t now_us, ingest_batch *b, svc_error *e);

/* Parse a HOK/HOK2 body with "batch_id" (from the X-Batch-Id header).
 * Same contract as ingest_parse_json(). */
MT_MUSTCHECK
svc_status ingest_parse_hok(const unsigned char *buf, size_t len, const char *batch_id,
                            const ingest_known *known, int64_t now_us, ingest_batch *b,
                            svc_error *e);

/* The ids of the "n" channels "ch" (sorted by id) that may be sent
 * (selected, without a refusal), written as a snapshot's "ids" lists them
 * ("1,2,3"), for ingest_known.ids_text: a malloc()ed string (caller frees)
 * with its length in *len and the count of ids in *count; NULL when there
 * is none to send, an id is not in 1..2^53 or not above the one before, or
 * out of memory (then no body is read that way). */
char *ingest_known_ids_text(const ingest_channel *ch, size_t n, size_t *len, size_t *count);

/* Free the samples of "b" (keeps it reusable). */
void ingest_batch_free(ingest_batch *b);

/* An empty "b" whose records go into the caller's "buf" of "cap" records
 * until more are needed (ingest_batch.rec_lent). */
void ingest_batch_lend(ingest_batch *b, ingest_rec *buf, size_t cap);

#endif
