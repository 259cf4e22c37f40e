/* The server's own notices, run by the jobs thread (jobs.c) every
 * --jobs-interval seconds and by POST /api/v1/test/jobs (docs/alarms.md):
 *
 *   alarm_no_data    raise no-data rules whose channel has been silent for
 *                    their N minutes (cleared by the next sample, on ingest)
 *   alarm_repeats    re-send raised alarms whose repeat is due
 *   app_connections  S6: apps silent for their group's disconnect_minutes
 *                    are disconnected; every change of apps.connected
 *                    (whoever made it) is recorded and notified once
 *   storage_notices  S7: below 10 % of the plan's storage left, once per
 *                    crossing (again after it rose above 12 %)
 *   licence_notices  S9/L6: core's notice calendar, at 08:00 CST, once each
 *
 * Each notice commits its outbox rows, inbox rows and once-only marker in
 * one transaction; rows are taken FOR UPDATE SKIP LOCKED or keyed in
 * server_notices, so two server processes never send one twice and a
 * restart sends what is due. "now" is Unix seconds (the test clock). */
#ifndef MTS_SVC_ALARM_NOTICE_H
#define MTS_SVC_ALARM_NOTICE_H

#include <stdint.h>

#include "srv.h"

/* Each returns 0 with *done = notices made, or -1 (logged). */
int svc_alarm_job_no_data(srv *s, int64_t now, long long *done);
int svc_alarm_job_repeats(srv *s, int64_t now, long long *done);
int svc_alarm_job_apps(srv *s, int64_t now, long long *done);
int svc_alarm_job_storage(srv *s, int64_t now, long long *done);
int svc_alarm_job_licence(srv *s, int64_t now, long long *done);

/* S7: the share of storage left below which the notice goes (percent),
 * and above which it may go again. */
#define ALARM_STORAGE_LOW_PERCENT 10
#define ALARM_STORAGE_REARM_PERCENT 12

#endif
