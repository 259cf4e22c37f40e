/* Parameters shared by the acquired-data routes (http_data.c, http_export.c):
 * integers, channel lists and time ranges, from the query string or from a
 * JSON body, with one set of rules:
 *
 *   channels  1..DATA_MAX_CHANNELS (32, V2) distinct positive channel ids
 *   from, to  integer µs since 1970-01-01 UTC, from < to, at most 25 years
 *             apart
 *
 * Each function returns 0 (or the count), or -1 after replying 400 with
 * {code, message, field}: missing, invalid, wrong_type (JSON) or
 * too_many_channels. */
#ifndef MTS_HTTP_QUERY_H
#define MTS_HTTP_QUERY_H

#include <stdbool.h>
#include <stdint.h>

#include "http.h"

/* The longest range a query or an export may cover: 25 years. */
#define HQ_MAX_SPAN_US (25LL * 366 * 86400 * 1000000)

/* Query integer "name" in lo..hi; "def" when absent (absent is 400 missing
 * when "def_ok" is false). */
int hq_int(http_req *req, const char *name, long long lo, long long hi, bool def_ok,
           long long def, long long *out);

/* Query "channels=1,2,3" into "ids" (DATA_MAX_CHANNELS entries). Returns
 * the count. */
int hq_channels(http_req *req, int64_t *ids);

/* Query "from" and "to". */
int hq_range(http_req *req, long long *t0, long long *t1);

/* JSON member "name" of "obj": an array of channel ids into "ids"
 * (DATA_MAX_CHANNELS entries). Returns the count. */
int hq_json_channels(http_req *req, const cJSON *obj, const char *name, int64_t *ids);

/* JSON members "from" and "to" (integers). */
int hq_json_range(http_req *req, const cJSON *obj, long long *t0, long long *t1);

#endif
