// What the outbox benchmarks share (outbox_lanes_bench.mjs,
// notify_trouble_bench.mjs): notifications queued through the test route,
// and a wait until the outbox has nothing left to send.
import { request, sleep } from '../server/harness.mjs';

/** enqueue(destinationId, count): "count" alarm notifications of account
 * "accountId" to one destination, queued in one transaction through
 * POST /api/v1/test/notify of the server at "url" (each call its own keys). */
export function enqueuer(url, accountId) {
  let k = 0;
  return async (to, count) => {
    const r = await request(url, 'POST', '/api/v1/test/notify', { body: { account_id: accountId,
      destination_ids: [to], count, per_tx: count, key_prefix: `b${++k}`, kind: 'alarm.raise' } });
    if (r.status !== 200 || r.body.queued !== count) throw new Error(JSON.stringify(r.body));
  };
}

/** Resolves once database "db" of cluster "pg" has no notification queued,
 * waiting for a retry or being sent (looked at every 100 ms). */
export async function outboxQuiet(pg, db) {
  while (await pg.psql(`SELECT count(*) FROM notify_outbox WHERE state IN ('queued', 'retry', 'sending')`,
    db) !== '0') await sleep(100);
}
