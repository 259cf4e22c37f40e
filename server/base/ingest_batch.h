/* Ingestion batches (S1): the limits of a batch and the records it is
 * parsed into (svc/ingest_parse.h parses and checks a body; the store
 * keeps the records: store/db_series.h). No database, no parsing here. */
#ifndef MTS_INGEST_BATCH_H
#define MTS_INGEST_BATCH_H

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

/* A channel the app may send: its id, whether it is selected, and why its
 * instrument may not be monitored (I4: the firmware is below the table's
 * minimum; a sentence that lives as long as the process, instruments.h), or
 * NULL. */
typedef struct {
    int64_t id;
    bool selected;
    const char *refusal;
} ingest_channel;

typedef struct {
    const ingest_channel *ch; /* sorted by id */
    size_t n;
    /* Optional (NULL: none): the ids that may be sent, ascending, as a
     * JSON array's elements are written ("1,2,3"; ingest_known_ids_text()
     * in svc/ingest_parse.h), and their count. A snapshot whose "ids" are
     * exactly these bytes is read without reading each id (issue 16). */
    const char *ids_text;
    size_t ids_len, ids_n;
} ingest_known;

typedef struct {
    char batch_id[INGEST_BATCH_ID_MAX + 1];
    ingest_rec *rec; /* caller frees with ingest_batch_free() */
    size_t n;
    size_t cap;
    /* "rec" is a buffer of the caller's of "cap" records (zeroed: none),
     * used until more are needed and then left alone, never freed
     * (issue 16: a small batch allocated and freed 6 KB of records). */
    bool rec_lent;
    size_t n_channels; /* distinct channels */
    int64_t t_min, t_max;
} ingest_batch;

#endif
