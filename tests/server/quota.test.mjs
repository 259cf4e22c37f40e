// Data over the storage quota (S8, L3; docs/operations.md "Storage quota"):
// one accounting (logo, acquired data, drive files, pictures, hot samples)
// against the plan in force; over it, the contract holder (and the
// administrators' inbox) is told the deadline, in the account's language;
// ingestion goes on; 31 days later (the test clock), if still over, the
// acquired data is deleted, the deletion recorded and told; an account back
// under its quota before the deadline keeps everything.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { login, request, setClock, startStack, stopStack } from './harness.mjs';
import { MIN_US, PW, baseTime, dataTenant } from './data_helpers.mjs';

let stack, srv;
const sql = (q) => stack.pg.psql(q, stack.db);
const GB = 1e9;
const DAY = 86400;

before(async () => {
  stack = await startStack({ env: { METRON_COMPACT_MS: '3600000', METRON_NOTIFY_THREADS: '0' },
    args: ['--jobs-interval', '0'] });
  srv = stack.srv;
});
after(async () => {
  await setClock(srv.url, 0).catch(() => {});
  await stopStack(stack);
});

async function job(name) {
  const r = await request(srv.url, 'POST', `/api/v1/test/jobs?job=${name}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.jobs[0].ok, true, JSON.stringify(r.body));
  return r.body.jobs[0].done;
}
const setBytes = (id, b) => sql(`INSERT INTO account_storage (account_id, data_bytes) VALUES (${id}, ${b})
  ON CONFLICT (account_id) DO UPDATE SET data_bytes = ${b}`);
const mails = (id, kind) => sql(`SELECT email || '|' || language || '|' || title || '|' || body
  FROM notify_outbox WHERE account_id = ${id} AND kind = '${kind}' AND target_type = 'email'
  ORDER BY id`).then((s) => (s ? s.split('\n').map((l) => l.split('|')) : []));
const overSince = (id) => sql(`SELECT COALESCE(extract(epoch FROM over_quota_since)::bigint, -1)
  FROM accounts WHERE id = ${id}`).then(Number);

/** A Free tenant (5 GB) whose contract holder reads French, with samples. */
async function tenant(t0) {
  const t = await dataTenant(srv, { plan: 'free', n: 2 });
  await sql(`UPDATE accounts SET subscriber_email = 'holder@${t.account}.test', language = 'fr'
    WHERE id = ${t.id}`);
  const r = await t.ingest.batch({ batch_id: 'a', channels: t.channels.map((id) => ({ id,
    t: [0, 1, 2].map((i) => t0 + i * MIN_US), v: [1, 2, 3] })) });
  assert.equal(r.status, 201, r.text);
  return t;
}
/** The samples the account's admin reads (signed in anew: the test clock
 * moves past the sessions' 24 hours). */
const samples = async (t, t0) => {
  const c = await login(srv.url, { account: t.account, user: 'admin', password: PW });
  const r = await c.get(`/api/v1/data/raw?channels=${t.channels.join(',')}&from=${t0}&to=${t0 + 100 * MIN_US}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.t.length;
};

test('S8: over quota -> the deadline told once; ingestion goes on; 31 days later the acquired data deleted, recorded, told', async () => {
  const t0 = baseTime(30);
  const t = await tenant(t0);
  const start = Math.floor(Date.now() / 1000);
  await job('storage_notices');
  assert.equal(await overSince(t.id), -1, 'within the quota');

  await setBytes(t.id, 6 * GB);
  await job('storage_notices');
  const since = await overSince(t.id);
  assert.ok(since >= start && since <= start + 60, `over since ${since}`);
  const deadline = new Date((since + 31 * DAY) * 1000).toISOString().slice(0, 10);
  let m = await mails(t.id, 'notice.over_quota');
  assert.equal(m.length, 1, 'the contract holder is told');
  assert.equal(m[0][0], `holder@${t.account}.test`);
  assert.equal(m[0][1], 'fr');
  assert.equal(m[0][2], `[Stockage] Quota dépassé : les données seront supprimées le ${deadline}`);
  assert.match(m[0][3], new RegExp(`utilise 6\\.0 GB de son quota de stockage de 5\\.0 GB\\. S'il dépasse encore le quota le ${deadline}`));
  const inbox = (await t.c.get('/api/v1/notifications?limit=100')).body.items
    .filter((n) => n.kind === 'notice.over_quota');
  assert.equal(inbox.length, 1, "the administrators' inbox too");
  await job('storage_notices');
  assert.equal((await mails(t.id, 'notice.over_quota')).length, 1, 'told once');
  // The account sees it too (GET /api/v1/account).
  let acct = (await t.c.get('/api/v1/account')).body;
  assert.equal(Date.parse(acct.storage_over_quota_since) / 1000, since);
  assert.equal(Date.parse(acct.storage_deletion_at) / 1000, since + 31 * DAY);

  // Ingestion goes on while over quota (the data is what is at stake).
  let r = await t.ingest.batch({ batch_id: 'b', channels: [{ id: t.channels[0],
    t: [t0 + 10 * MIN_US], v: [4] }] });
  assert.equal(r.status, 201, r.text);
  assert.equal(await samples(t, t0), 4);

  // Day 30: nothing deleted yet.
  await setClock(srv.url, 30 * DAY);
  await job('storage_notices');
  assert.equal(await samples(t, t0), 4);
  assert.equal((await mails(t.id, 'notice.over_quota_deleted')).length, 0);

  // Day 31: still over -> the acquired data goes.
  await setClock(srv.url, 31 * DAY + 60);
  await job('storage_notices');
  assert.equal(await samples(t, t0), 0, 'every sample deleted');
  assert.equal(Number(await sql(`SELECT count(*) FROM series_hot WHERE account_id = ${t.id}`)) +
    Number(await sql(`SELECT count(*) FROM series_day WHERE account_id = ${t.id}`)) +
    Number(await sql(`SELECT count(*) FROM channel_latest WHERE account_id = ${t.id}`)), 0);
  assert.equal(Number(await sql(`SELECT data_bytes FROM account_storage WHERE account_id = ${t.id}`)), 0);
  assert.equal(await overSince(t.id), -1, 'the period ended');
  acct = (await (await login(srv.url, { account: t.account, user: 'admin', password: PW })).get('/api/v1/account')).body;
  assert.equal(acct.storage_over_quota_since, null);
  assert.equal(acct.storage_deletion_at, null);
  const rec = (await sql(`SELECT extract(epoch FROM over_since)::bigint || '|' || used_bytes || '|' ||
    limit_bytes || '|' || freed_bytes || '|' || (removed->>'series_hot')
    FROM storage_quota_deletions WHERE account_id = ${t.id}`)).split('|').map(Number);
  assert.equal(rec[0], since);
  assert.ok(rec[1] > 6 * GB && rec[2] === 5 * GB, `used ${rec[1]} of ${rec[2]}`);
  assert.equal(rec[3], 7 * 24, 'the 7 hot samples, 24 bytes each');
  assert.equal(rec[4], 2, 'two hot rows (batches)');
  m = await mails(t.id, 'notice.over_quota_deleted');
  assert.equal(m.length, 1);
  assert.equal(m[0][2], '[Stockage] Données acquises supprimées');
  assert.match(m[0][3], /a dépassé son quota de stockage \(5\.0 GB\) pendant 31 jours : ses données acquises \(168 B\) ont été supprimées\./);
  // The channels stay; new samples are taken and counted again.
  r = await t.ingest.batch({ batch_id: 'c', channels: [{ id: t.channels[0], t: [t0 + 20 * MIN_US], v: [5] }] });
  assert.equal(r.status, 201, r.text);
  assert.equal(await samples(t, t0), 1);
  await job('storage_notices');
  assert.equal((await mails(t.id, 'notice.over_quota')).length, 1, 'within the quota now: no new period');
  await setClock(srv.url, 0);
});

test('S8: back under the quota before the deadline -> the period ends, nothing is deleted', async () => {
  const t0 = baseTime(30);
  const t = await tenant(t0);
  await setBytes(t.id, 6 * GB);
  await job('storage_notices');
  assert.ok(await overSince(t.id) > 0);
  await setClock(srv.url, 20 * DAY);
  await setBytes(t.id, 1 * GB); // data or files deleted, or a bigger plan
  await job('storage_notices');
  assert.equal(await overSince(t.id), -1);
  await setClock(srv.url, 40 * DAY);
  await job('storage_notices');
  assert.equal(await samples(t, t0), 3, "every time of every channel kept");
  assert.equal((await mails(t.id, 'notice.over_quota_deleted')).length, 0);
  assert.equal(Number(await sql(`SELECT count(*) FROM storage_quota_deletions WHERE account_id = ${t.id}`)), 0);
  await setClock(srv.url, 0);
});
