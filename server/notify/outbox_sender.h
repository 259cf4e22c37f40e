/* The outbox's sender threads (docs/notify.md): each server process runs
 * s->cfg.notify.threads of them. They claim due outbox rows (FOR UPDATE
 * SKIP LOCKED and a lease, so that two processes never take one row),
 * send each (mail through mail_send_msg(), webhooks through
 * webhook_post()), and record every attempt. They wake when any process
 * commits new rows (LISTEN metron_outbox) and once a second otherwise
 * (retries that came due). Nothing here runs on a request thread. */
#ifndef MTS_OUTBOX_SENDER_H
#define MTS_OUTBOX_SENDER_H

#include "srv.h"

/* How many rows a sender claims at once: one, so that a row claimed is a
 * row being sent (after a crash, only those wait for their lease). */
#define OUTBOX_BATCH 1

/* Start the threads and the listener (LISTEN on its own connection to
 * "conninfo"). Returns 0 (also with 0 threads configured: nothing starts),
 * or -1 when a thread cannot be started. Call once, after the pool. */
int outbox_sender_start(srv *s, const char *conninfo);

/* Stop: attempts in flight finish (each within the attempt time-out), rows
 * claimed and not yet tried are given back, the threads are joined. Call
 * before the pool is freed. */
void outbox_sender_stop(void);

#endif
