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
 * (JSON-pointer-like "field", e.g. "channels[2].v[7]"). */
#ifndef MTS_INGEST_PARSE_H
#define MTS_INGEST_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define INGEST_MAX_SAMPLES 2000000 /* per batch */
#define INGEST_MAX_RUNS 20000      /* "channels" entries + "snapshots" entries */
#define INGEST_T_MIN 946684800000000LL /* 2000-01-01T00:00:00Z */
#define INGEST_FUTURE_US 300000000LL   /* 5 minutes of clock skew */
#define INGEST_BATCH_ID_MAX 64

/* One sample. 24 bytes: the record of the hot table's payload. */
typedef struct {
    int64_t ch;
    int64_t t;
    double v;
} ingest_rec;

/* A channel the app may send: its id and whether it is selected. */
typedef struct {
    int64_t id;
    bool selected;
} ingest_channel;

typedef struct {
    const ingest_channel *ch; /* sorted by id */
    size_t n;
} ingest_known;

typedef struct {
    char batch_id[INGEST_BATCH_ID_MAX + 1];
    ingest_rec *rec; /* caller frees with ingest_batch_free() */
    size_t n;
    size_t cap;
    size_t n_channels; /* distinct channels */
    int64_t t_min, t_max;
} ingest_batch;

/* Why a batch was refused: HTTP status, code, the item at fault, message. */
typedef struct {
    int status;
    const char *code;
    char field[96];
    char msg[240];
} ingest_err;

/* Is "id" a valid batch id: 1..64 of [A-Za-z0-9._:-]? */
bool ingest_batch_id_valid(const char *id);

/* Parse a JSON body ("text", "len" bytes, NUL-terminated at text[len]) into
 * "b" (zeroed by the caller), check it against "known" and "now_us".
 * Returns 0, or -1 with "e" filled; on -1 "b" may hold partial samples
 * (free it anyway). */
int ingest_parse_json(const char *text, size_t len, const ingest_known *known, int64_t now_us,
                      ingest_batch *b, ingest_err *e);

/* Parse a HOK/HOK2 body with "batch_id" (from the X-Batch-Id header).
 * Same contract as ingest_parse_json(). */
int ingest_parse_hok(const unsigned char *buf, size_t len, const char *batch_id,
                     const ingest_known *known, int64_t now_us, ingest_batch *b, ingest_err *e);

/* Free the samples of "b" (keeps it reusable). */
void ingest_batch_free(ingest_batch *b);

#endif
