// Data over the storage quota (S8, L3; docs/operations.md "Storage quota"):
// one accounting (logo, acquired data, drive files, pictures, hot samples)
// against the plan in force; over it, the contract holder (and the
// administrators' inbox) is told the deadline, in the account's language;
// ingestion goes on; 31 days later (the test clock), if still over,
// everything the quota counts but the logo is deleted (acquired data, drive
// files with report files, dashboard pictures: "all stored data", L3), the
// deletion recorded and told with what went; an account back under its
// quota before the deadline keeps everything, and other accounts are not
// touched.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { login, request, setClock, startStack, stopStack } from './harness.mjs';
import { MIN_US, PW, baseTime, dataTenant, uniq } from './data_helpers.mjs';
import { makePng } from './pictures.mjs';

let stack, srv;
const sql = (q) => stack.pg.psql(q, stack.db);
const GB = 1e9;
const DAY = 86400;

before(async () => {
  // Report runs are made by POST /test/report-work here.
  stack = await startStack({ env: { METRON_COMPACT_MS: '3600000', METRON_NOTIFY_THREADS: '0',
    METRON_REPORT_WORKERS: '0' },
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
  // The deadline's day (UTC) as the portal's formatDate() writes it in French.
  const deadline = new Intl.DateTimeFormat('fr', { dateStyle: 'medium', timeZone: 'UTC' })
    .format(new Date((since + 31 * DAY) * 1000));
  let m = await mails(t.id, 'notice.over_quota');
  assert.equal(m.length, 1, 'the contract holder is told');
  assert.equal(m[0][0], `holder@${t.account}.test`);
  assert.equal(m[0][1], 'fr');
  assert.equal(m[0][2], `[Stockage] Quota dépassé : les données seront supprimées le ${deadline}`);
  assert.match(m[0][3], new RegExp(`utilise 6\\.0 GB de son quota de stockage de 5\\.0 GB\\. S’il dépasse encore le quota le ${deadline}`));
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
  assert.equal(m[0][2], '[Stockage] Données stockées supprimées');
  assert.match(m[0][3], /a dépassé son quota de stockage \(5\.0 GB\) pendant 31 jours : tout ce qu’il stockait a été supprimé, 168 B au total\. Données acquises : 168 B\. Fichiers : 0 \(0 B\), dont fichiers de rapports : 0\. Images de tableaux de bord : 0 \(0 B\)\./);
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

/** A tenant with everything the quota counts: samples, a folder with two
 * drive files, a report run's two CSV files, two dashboard pictures (one
 * shown on a dashboard). Returns the tenant and what it holds. */
async function fullTenant(t0, plan, licenceExpires) {
  const t = await dataTenant(srv, { plan, n: 2 });
  await sql(`UPDATE accounts SET subscriber_email = 'holder@${t.account}.test', language = 'en'
    WHERE id = ${t.id}`);
  let r = await t.c.post('/api/v1/groups', { name: uniq('Site') });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const group = r.body.id;
  r = await t.c.patch(`/api/v1/apps/${t.appId}`, { group_id: group });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  r = await t.ingest.batch({ batch_id: 'a', channels: t.channels.map((id) => ({ id,
    t: [0, 1, 2].map((i) => t0 + i * MIN_US), v: [1, 2, 3] })) });
  assert.equal(r.status, 201, r.text);
  r = await t.c.post('/api/v1/drive/folders', { name: 'Site A' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const folder = r.body.id;
  const files = [];
  for (const [name, bytes] of [['log.txt', Buffer.alloc(3000, 0x61)], ['photo.bin', Buffer.alloc(70000, 7)]]) {
    r = await t.c.post(`/api/v1/drive/files?name=${name}&folder_id=${folder}`, bytes,
      { 'content-type': 'application/octet-stream' });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    files.push(r.body.id);
  }
  const pictures = [];
  for (const [w, h] of [[40, 30], [9, 9]]) {
    r = await t.c.post(`/api/v1/dashboard-pictures?name=p${w}.png`, makePng(w, h),
      { 'content-type': 'image/png' });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    pictures.push(r.body);
  }
  let reportRun = null;
  let dashboard = null;
  if (plan !== 'free') {
    r = await t.c.post(`/api/v1/groups/${group}/dashboards`, { name: 'Plan', panels: [
      { kind: 'picture', x: 0, y: 0, w: 3, h: 2, picture_id: pictures[0].id }] });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    dashboard = r.body.id;
    r = await t.c.post(`/api/v1/groups/${group}/reports`, { name: 'Daily', period: 'day',
      channels: t.channels, formats: ['csv'] });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    r = await t.c.post(`/api/v1/reports/${r.body.id}/runs`,
      { date: new Date(t0 / 1000).toISOString().slice(0, 10) });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    reportRun = r.body.id;
    r = await request(srv.url, 'POST', '/api/v1/test/report-work');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    r = await t.c.get(`/api/v1/report-runs/${reportRun}`);
    assert.equal(r.body.state, 'done', JSON.stringify(r.body));
    assert.equal(r.body.files.length, 2, 'summary and samples');
  }
  if (licenceExpires) {
    await sql(`UPDATE accounts SET licence_expires_at = '${licenceExpires}' WHERE id = ${t.id}`);
  }
  return { t, group, folder, files, pictures, reportRun, dashboard };
}

/** What account "id" holds, as rows and as the quota's counters. */
async function holdings(id) {
  const n = async (q) => Number(await sql(q));
  return {
    files: await n(`SELECT count(*) FROM drive_items WHERE account_id = ${id} AND NOT is_folder`),
    folders: await n(`SELECT count(*) FROM drive_items WHERE account_id = ${id} AND is_folder`),
    fileBytes: await n(`SELECT COALESCE(sum(size), 0) FROM drive_items WHERE account_id = ${id}`),
    blobs: await n(`SELECT count(*) FROM file_blobs WHERE account_id = ${id}`),
    chunks: await n(`SELECT count(*) FROM file_chunks WHERE account_id = ${id}`),
    pictures: await n(`SELECT count(*) FROM dashboard_pictures WHERE account_id = ${id}`),
    pictureBytes: await n(`SELECT COALESCE(sum(size), 0) FROM dashboard_pictures WHERE account_id = ${id}`),
    hot: await n(`SELECT COALESCE(sum(n), 0) FROM series_hot WHERE account_id = ${id}`),
    reportFiles: await n(`SELECT count(file_id) FROM report_files WHERE account_id = ${id}`),
    counters: await sql(`SELECT data_bytes || ',' || drive_bytes || ',' || picture_bytes
      FROM account_storage WHERE account_id = ${id}`),
  };
}

test('S8, L3: still over at the deadline -> everything the quota counts is deleted (files, report files, pictures, data), told with what went; other accounts untouched', async () => {
  const t0 = baseTime(30);
  const yesterday = new Date(Date.now() - 86400e3).toISOString().slice(0, 10);
  // A lapsed Standard licence: the account now has Free's 5 GB (L3).
  const over = await fullTenant(t0, 'standard', yesterday);
  const a = over.t;
  // Another account within its quota, and one that goes over 10 days later.
  const under = await fullTenant(t0, 'free');
  const later = await fullTenant(t0, 'free');
  const before = await holdings(a.id);
  assert.equal(before.files, 4, 'two uploads and two report files');
  assert.equal(before.reportFiles, 2);
  assert.equal(before.pictures, 2);
  assert.equal(before.hot, 6);
  const underBefore = await holdings(under.t.id);
  const laterBefore0 = await holdings(later.t.id);
  assert.equal(underBefore.files, 2);
  assert.equal(underBefore.pictures, 2);

  await setBytes(a.id, 6 * GB);
  await job('storage_notices');
  const since = await overSince(a.id);
  assert.ok(since > 0);
  assert.equal(await overSince(under.t.id), -1);
  let m = await mails(a.id, 'notice.over_quota');
  assert.equal(m.length, 1);
  assert.match(m[0][3], /everything it stores \(acquired data, drive files, report files, dashboard pictures and files shared with the apps\) will be deleted/);

  await setClock(srv.url, 10 * DAY);
  await setBytes(later.t.id, 6 * GB);
  await job('storage_notices');
  assert.ok(await overSince(later.t.id) > since + 9 * DAY);
  const laterBefore = await holdings(later.t.id);
  assert.deepEqual({ ...laterBefore, counters: null }, { ...laterBefore0, counters: null });

  await setClock(srv.url, 31 * DAY + 60);
  await job('storage_notices');

  // Everything the quota counts is gone: files (their bytes in the
  // database too), report files, pictures, samples; the folders stay.
  const after = await holdings(a.id);
  assert.deepEqual(after, { files: 0, folders: before.folders, fileBytes: 0, blobs: 0, chunks: 0, pictures: 0,
    pictureBytes: 0, hot: 0, reportFiles: 0, counters: '0,0,0' });
  assert.equal(Number(await sql(`SELECT count(*) FROM report_files WHERE account_id = ${a.id}`)), 2,
    "the run's record stays, without its files");
  const c = await login(srv.url, { account: a.account, user: 'admin', password: PW });
  assert.equal((await c.get(`/api/v1/drive/files/${over.files[0]}/content`)).status, 404);
  assert.equal((await c.get(`/api/v1/dashboard-pictures/${over.pictures[0].id}/content`)).status, 404);
  assert.equal((await c.get('/api/v1/dashboard-pictures')).body.items.length, 0);
  assert.equal(await samples({ ...a, c }, t0), 0);
  const run = await c.get(`/api/v1/report-runs/${over.reportRun}`);
  assert.equal(run.status, 200, 'the report run is still listed');
  assert.equal(run.body.state, 'done');
  // The dashboard that showed a picture stays, its panel naming the picture
  // that is gone; it can still be renamed and added to, while a new
  // reference to a picture that does not exist is refused as before.
  let d = await c.get(`/api/v1/dashboards/${over.dashboard}`);
  assert.equal(d.status, 200);
  assert.equal(d.body.panels[0].picture_id, over.pictures[0].id);
  d = await c.patch(`/api/v1/dashboards/${over.dashboard}`, { name: 'Plan 2' });
  assert.equal(d.status, 200, JSON.stringify(d.body));
  d = await c.post(`/api/v1/dashboards/${over.dashboard}/panels`, { panel: { kind: 'value', w: 3, h: 2,
    channels: [a.channels[0]] } });
  assert.equal(d.status, 201, JSON.stringify(d.body));
  assert.equal(d.body.panels.length, 2);
  d = await c.patch(`/api/v1/dashboards/${over.dashboard}`, { panels: [
    { kind: 'picture', x: 0, y: 0, w: 3, h: 2, picture_id: over.pictures[1].id }] });
  assert.equal(d.status, 400, JSON.stringify(d.body));
  assert.equal(d.body.field, 'panels[0].picture_id');
  const acct = (await c.get('/api/v1/account')).body;
  assert.equal(acct.usage.find((u) => u.quota === 'P2').used, 0, 'nothing counted any more');
  assert.equal(acct.storage_over_quota_since, null);
  assert.equal(await overSince(a.id), -1);

  // The record: what went, byte for byte.
  const rec = JSON.parse(await sql(`SELECT json_build_object('used', used_bytes, 'limit', limit_bytes,
    'freed', freed_bytes, 'removed', removed) FROM storage_quota_deletions WHERE account_id = ${a.id}`));
  const dataBytes = 6 * 24;
  assert.equal(rec.limit, 5 * GB);
  assert.ok(rec.used > 6 * GB);
  assert.equal(rec.removed.data_bytes, dataBytes);
  assert.equal(rec.removed.drive_files, 4);
  assert.equal(rec.removed.report_files, 2);
  assert.equal(rec.removed.drive_bytes, before.fileBytes);
  assert.equal(rec.removed.pictures, 2);
  assert.equal(rec.removed.picture_bytes, before.pictureBytes);
  assert.equal(rec.freed, dataBytes + before.fileBytes + before.pictureBytes);
  assert.equal(rec.removed.bytes, rec.freed);

  // The contract holder is told what went.
  m = await mails(a.id, 'notice.over_quota_deleted');
  assert.equal(m.length, 1);
  assert.equal(m[0][0], `holder@${a.account}.test`);
  assert.equal(m[0][2], '[Storage] Stored data deleted');
  const kb = (b) => `${(b / 1000).toFixed(1)} kB`;
  assert.ok(m[0][3].includes(`for 31 days: everything it stored has been deleted, ${kb(rec.freed)} in all. ` +
    `Acquired data: ${dataBytes} B. Drive files: 4 (${kb(before.fileBytes)}), of which report files: 2. ` +
    `Dashboard pictures: 2 (${before.pictureBytes} B). Files shared with the apps: 0 (0 B). Folders, channels, devices, dashboards and settings are kept.`),
    m[0][3]);
  const inbox = (await c.get('/api/v1/notifications?limit=100')).body.items
    .filter((n) => n.kind === 'notice.over_quota_deleted');
  assert.equal(inbox.length, 1);

  // The account within its quota and the one whose deadline is still ahead
  // keep everything.
  assert.deepEqual(await holdings(under.t.id), underBefore);
  assert.deepEqual(await holdings(later.t.id), laterBefore);
  assert.equal((await mails(later.t.id, 'notice.over_quota_deleted')).length, 0);
  assert.equal(Number(await sql(`SELECT count(*) FROM storage_quota_deletions
    WHERE account_id IN (${under.t.id}, ${later.t.id})`)), 0);

  // The account goes on: uploads are taken and counted again.
  const r = await c.post('/api/v1/drive/files?name=new.txt', Buffer.from('hello'),
    { 'content-type': 'application/octet-stream' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal((await c.get('/api/v1/account')).body.usage.find((u) => u.quota === 'P2').used, 5);
  await setClock(srv.url, 0);
});

test('S8 over many accounts: deletions share a transaction 32 at a time; a failing account is undone alone and deleted at the next round', async () => {
  const N = 40;
  await setClock(srv.url, 200 * DAY);
  await sql(`INSERT INTO accounts (login_id, name, plan, subscriber_email, language)
    SELECT 'qbatch' || g, 'Batch ' || g, 'free', 'holder' || g || '@batch.test', 'en'
    FROM generate_series(1, ${N}) g`);
  const ids = (await sql("SELECT id FROM accounts WHERE login_id LIKE 'qbatch%' ORDER BY id"))
    .split('\n').map(Number);
  assert.equal(ids.length, N);
  const failing = ids[5];
  await sql(`INSERT INTO account_storage (account_id, data_bytes)
    SELECT id, ${6 * GB} FROM accounts WHERE login_id LIKE 'qbatch%'
    ON CONFLICT (account_id) DO UPDATE SET data_bytes = EXCLUDED.data_bytes`);
  await job('storage_notices');
  for (const id of ids) assert.ok(await overSince(id) > 0, `account ${id}: its period started`);

  // Each deletion notes its transaction (txid_current() is the top-level
  // one, also inside a savepoint); the failing account's deletion raises.
  await sql(`CREATE TABLE test_quota_tx (account_id bigint, xid bigint);
    CREATE FUNCTION test_quota_tx() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN
      IF NEW.account_id = ${failing} THEN RAISE EXCEPTION 'test: this deletion fails'; END IF;
      INSERT INTO test_quota_tx VALUES (NEW.account_id, txid_current()); RETURN NEW; END $f$;
    CREATE TRIGGER test_quota_tx AFTER INSERT ON storage_quota_deletions
      FOR EACH ROW EXECUTE FUNCTION test_quota_tx()`);
  try {
    await setClock(srv.url, 232 * DAY);
    await job('storage_notices');
    const ours = `account_id IN (${ids.join(',')})`;
    const [deleted, txs] = (await sql(`SELECT count(*), count(DISTINCT xid) FROM test_quota_tx
      WHERE ${ours}`)).split('|').map(Number);
    assert.equal(deleted, N - 1, 'every account but the failing one deleted');
    // 39 accounts in a row: 2 transactions of 32, 3 when a batch boundary
    // (other accounts due before them, a page of 256) falls among them.
    assert.ok(txs >= 2 && txs <= 3, `${deleted} deletions in ${txs} transactions`);
    assert.equal(Number(await sql(`SELECT count(*) FROM notify_outbox WHERE ${ours}
      AND kind = 'notice.over_quota_deleted'`)), N - 1, 'each deletion told');
    assert.ok(await overSince(failing) > 0, 'the failing account is still in its period');
    assert.equal(Number(await sql(`SELECT data_bytes FROM account_storage WHERE account_id = ${failing}`)),
      6 * GB, 'and keeps what it stored');
    assert.equal(Number(await sql(`SELECT count(*) FROM storage_quota_deletions WHERE account_id = ${failing}`)), 0);
  } finally {
    await sql('DROP TRIGGER test_quota_tx ON storage_quota_deletions; DROP FUNCTION test_quota_tx(); ' +
      'DROP TABLE test_quota_tx');
  }
  await job('storage_notices');
  assert.equal(await overSince(failing), -1, 'deleted at the next round');
  assert.equal(Number(await sql(`SELECT count(*) FROM storage_quota_deletions WHERE account_id = ${failing}`)), 1);
  await setClock(srv.url, 0);
});
