/* The request readers of the report routes (http_report.c), exposed for
 * the fuzz target tests/fuzz/server/fuzz_report_body.c. */
#ifndef MTS_HTTP_REPORT_H
#define MTS_HTTP_REPORT_H

#include "http.h"
#include "svc_report.h"

/* Read the members of a report setting (POST /groups/{id}/reports, PATCH
 * /reports/{id}) from req->body into "d": every member typed and bounded
 * (channels and recipients at most 32 distinct positive ids, formats 1..3
 * of pdf/xlsx/csv without repeats, enums checked), unknown members
 * refused. Returns 0, or -1 after replying 400. */
int http_report_read_def(http_req *req, svc_report_def *d);

/* Read the body of POST /reports/{id}/runs: "date", "from", "to" (each at
 * most 10 characters; borrowed from req->body). Returns 0, or -1 after
 * replying 400. */
int http_report_read_run(http_req *req, const char **date, const char **from, const char **to);

#endif
