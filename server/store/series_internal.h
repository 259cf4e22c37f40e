/* What series_store.c, series_compact.c and series_read.c share: the
 * store's own helpers, not for its callers (they use series_store.h). */
#ifndef MTS_SERIES_INTERNAL_H
#define MTS_SERIES_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "ingest_batch.h"
#include "series_store.h"

/* Make room for "need" samples in "c": 0, or -1 without memory. */
int series_col_reserve(series_col *c, size_t need);

/* Append one sample to "c": 0, or -1 without memory. */
int series_col_push(series_col *c, int64_t t, double v);

/* Big-endian readers for binary result columns. */
int64_t series_be64(const char *p);
int32_t series_be32(const char *p);

/* Fold "rec" (one account; sorted by channel then time; one sample per
 * channel and time) into the day blocks. *bytes_delta receives the change
 * in stored bytes; *dropped the samples that did not fit a day block. */
db_status series_fold(db_conn *c, long long account_id, const ingest_rec *rec, size_t n,
                      long long *bytes_delta, size_t *blocks, size_t *dropped);

#endif
