/* Batches of metron-gateway: what is spooled and what is sent.
 *
 * A spool entry records what the instruments measured, keyed by instrument
 * (model, serial) and channel key — not by the server's channel ids, which
 * the gateway may not know yet when the server is unreachable:
 *
 *   {"batch_id": "SIM7F3A-1764065700-1",
 *    "devices": [{"model": "LR8450", "serial": "SIM7F3A-1", "keys": ["CH1_1", "CH1_2"]}],
 *    "t": [1764065700000000],
 *    "v": [[21.4, "break"]]}
 *
 * ("v" holds one row per time, one value per key of all devices in order.)
 * At send time the entry becomes an ingestion batch (docs/ingest.md) with
 * the ids of the server's channel table, only of the channels selected for
 * acquisition (M4). The batch id is fixed when the entry is made, so a
 * retry is always the same batch to the server. Spool files can be
 * damaged or edited: gw_entry_parse() checks everything
 * (tests/fuzz/gateway/fuzz_gw_entry.c). */
#ifndef GW_BATCH_H
#define GW_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "reply.h"
#include "sim.h"

#define GW_BATCH_ID_MAX 64
/* Times in one entry, and values in one entry (the server's batch limit). */
#define GW_ENTRY_TIMES_MAX 20000
#define GW_ENTRY_VALUES_MAX 2000000

/* A growable text buffer. */
typedef struct {
    char *p;
    size_t len, cap;
    int oom; /* an append failed: the text is incomplete */
} gw_buf;

void gw_buf_add(gw_buf *b, const char *s, size_t n);
void gw_buf_str(gw_buf *b, const char *s);
void gw_buf_fmt(gw_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A value as JSON: a number ("%.10g") or a special-value name in quotes. */
void gw_buf_value(gw_buf *b, double v);
/* A JSON string with escapes. */
void gw_buf_json_str(gw_buf *b, const char *s);
void gw_buf_free(gw_buf *b);

typedef struct {
    char model[GW_MODEL_MAX + 1];
    char serial[GW_SERIAL_MAX + 1];
    size_t first; /* index of its first key in gw_entry.key */
    size_t n;
} gw_edev;

typedef struct {
    char batch_id[GW_BATCH_ID_MAX + 1];
    gw_edev *dev;
    size_t n_dev;
    char (*key)[GW_KEY_MAX + 1];
    size_t n_keys;
    int64_t *t;
    size_t n_t;
    double *v; /* n_t rows of n_keys */
} gw_entry;

/* Whether "id" is a batch id the server takes (1..64 of A-Z a-z 0-9 . _ : -). */
int gw_batch_id_valid(const char *id);

/* The text of a spool entry with "batch_id" for the "n_ins" instruments
 * "ins", times "t" ("n_t") and values "v" (n_t rows of all channels of all
 * instruments in order). Caller frees; NULL when out of memory. */
char *gw_entry_format(const char *batch_id, const gw_instrument *ins, size_t n_ins,
                      const int64_t *t, size_t n_t, const double *v, size_t *len);

/* Parse a spool entry into "e" (zeroed by the caller; gw_entry_clear()
 * either way). 0, or -1 with a sentence in "err". */
int gw_entry_parse(const char *text, size_t len, gw_entry *e, char *err, size_t err_cap);

void gw_entry_clear(gw_entry *e);

/* The ingestion batch (JSON) of entry "e" with the ids of table "tab":
 * only channels the server lists for the device and marks selected.
 * *n_samples is the number of values in it; when 0, the result is NULL
 * (nothing of the entry is acquired). NULL with *n_samples > 0 means out
 * of memory. *n_unknown counts keys the server does not list. */
char *gw_entry_body(const gw_entry *e, const gw_table *tab, size_t *len, size_t *n_samples,
                    size_t *n_unknown);

#endif
