// The server's own notices (issue #13 item 5; docs/alarms.md), run by the
// jobs at the test clock: no-data alarms, repeats of raised alarms, S6 app
// connect/disconnect detected by the server, S7 storage below 10 %, S9
// licence notices on core's calendar at 08:00 CST — each once, also with a
// second server process on the same database, and in the inbox (N1) of the
// users who can see the group.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createAccount, login, request, setClock, startServer, startStack, stopStack } from './harness.mjs';
import { MIN_US, PW, dataTenant, uniq } from './data_helpers.mjs';

let pg;
let srv;
let db;
let url;
const sql = (q) => pg.psql(q, db);
const ENV = { METRON_COMPACT_MS: '3600000', METRON_NOTIFY_THREADS: '0' };

before(async () => {
  ({ pg, srv, db, url } = await startStack({ env: ENV, args: ['--jobs-interval', '0'] }));
});

after(async () => {
  await setClock(srv.url, 0).catch(() => {});
  await stopStack({ pg, srv });
});

/** Run job "name" now on "s" (default the main server): its "done". */
async function job(name, s = srv) {
  const r = await request(s.url, 'POST', `/api/v1/test/jobs?job=${name}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.jobs[0].ok, true, JSON.stringify(r.body));
  return r.body.jobs[0].done;
}

async function groupTenant(n = 2) {
  const t = await dataTenant(srv, { n });
  let r = await t.c.post('/api/v1/groups', { name: uniq('Site') });
  t.group = r.body.id;
  r = await t.c.patch(`/api/v1/apps/${t.appId}`, { group_id: t.group });
  assert.equal(r.status, 200);
  // A G4 recipient: server notices go there.
  r = await t.c.post('/api/v1/notification-recipients', { kind: 'email',
    address: `${uniq('g4')}@example.com`, language: 'es' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return t;
}

const inbox = async (t, kind) => (await t.c.get('/api/v1/notifications?limit=100')).body.items
  .filter((n) => n.kind === kind);
const outbox = (t, kind) => sql(`SELECT count(*) FROM notify_outbox WHERE account_id = ${t.id}
  AND kind = '${kind}'`).then(Number);

test('no-data rule: raised by the job when the channel is silent, cleared by the next sample', async () => {
  const t = await groupTenant();
  await setClock(srv.url, -3600);
  let r = await t.c.post(`/api/v1/groups/${t.group}/alarms`, { name: 'Feed', kind: 'no_data',
    no_data_minutes: 30, channels: [t.channels[0]] });
  await setClock(srv.url, 0);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const a = r.body;
  // Data 20 minutes ago: not silent for 30 minutes yet.
  const now = Date.now() * 1000;
  const t1 = now - 20 * MIN_US - (now % MIN_US);
  r = await t.ingest.batch({ batch_id: 'n1', snapshots: [{ t: t1, ids: [t.channels[0]], v: [1] }] });
  assert.equal(r.status, 201);
  assert.equal(await job('alarm_no_data'), 0);
  // 15 minutes later it is (the sample is still in the hot table).
  await setClock(srv.url, 15 * 60);
  assert.equal(await job('alarm_no_data'), 1);
  assert.equal(await job('alarm_no_data'), 0);
  let ev = (await t.c.get(`/api/v1/alarm-events?rule_id=${a.id}`)).body.items;
  assert.deepEqual(ev.map((x) => [x.kind, x.cause, x.state]), [['raise', 'silence', 'raised']]);
  assert.equal(ev[0].t, t1 + 30 * MIN_US);
  assert.equal(ev[0].rule, 'NO DATA 30m');
  assert.deepEqual(ev[0].values, ['missing']);
  const note = (await inbox(t, 'alarm.raise'))[0];
  assert.equal(note.title, `[No data] Feed`);
  assert.match(note.body, /no data for 30 minutes/);
  // The next sample clears it, on ingest (the clock still 15 minutes on).
  r = await t.ingest.batch({ batch_id: 'n2', snapshots: [{ t: t1 + 34 * MIN_US, ids: [t.channels[0]], v: [2] }] });
  await setClock(srv.url, 0);
  assert.equal(r.status, 201, r.text);
  ev = (await t.c.get(`/api/v1/alarm-events?rule_id=${a.id}`)).body.items;
  assert.deepEqual(ev.map((x) => [x.kind, x.cause]), [['clear', 'data'], ['raise', 'silence']]);
  assert.equal(ev[0].t, t1 + 34 * MIN_US);
  assert.equal((await inbox(t, 'alarm.clear'))[0].title, '[Data again] Feed');
  assert.equal(await job('alarm_no_data'), 0);
});

test('repeat every N minutes while raised, once per due time, also with two processes', async () => {
  const t = await groupTenant();
  const dest = Number(await sql(`INSERT INTO notify_destinations (account_id, kind, address)
    VALUES (${t.id}, 'email', 'rep@example.com') RETURNING id`));
  await setClock(srv.url, -3600);
  let r = await t.c.post(`/api/v1/groups/${t.group}/alarms`, { name: 'Hot', rule: 'CH1 > 5',
    channels: [t.channels[0]], repeat_minutes: 10, destinations: [dest] });
  await setClock(srv.url, 0);
  const a = r.body;
  const now = Date.now() * 1000;
  r = await t.ingest.batch({ batch_id: 'r1', snapshots: [{ t: now - MIN_US - (now % MIN_US), ids: [t.channels[0]], v: [9] }] });
  assert.equal(r.status, 201);
  const [raise] = (await t.c.get(`/api/v1/alarm-events?rule_id=${a.id}`)).body.items;
  assert.equal(await job('alarm_repeats'), 0);
  const other = await startServer({ databaseUrl: url, env: ENV, args: ['--jobs-interval', '0'] });
  try {
    await setClock(srv.url, 11 * 60);
    await setClock(other.url, 11 * 60);
    const [x, y] = await Promise.all([job('alarm_repeats'), job('alarm_repeats', other)]);
    assert.equal(x + y, 1, 'one repeat, whichever process ran it');
    assert.equal(await job('alarm_repeats'), 0);
    await setClock(srv.url, 22 * 60);
    assert.equal(await job('alarm_repeats'), 1);
  } finally {
    await setClock(other.url, 0);
    await other.stop();
    fs.rmSync(other.dataDir, { recursive: true, force: true });
    await setClock(srv.url, 0);
  }
  assert.equal(await sql(`SELECT string_agg(dedupe_key, ',' ORDER BY id) FROM notify_outbox
    WHERE account_id = ${t.id}`), `alarm_event:${raise.id}:raise,alarm_event:${raise.id}:repeat:1,alarm_event:${raise.id}:repeat:2`);
  assert.equal(await sql(`SELECT title FROM notify_outbox WHERE account_id = ${t.id}
    AND dedupe_key LIKE '%repeat:1'`), '[Still raised] Hot');
  assert.equal((await t.c.get(`/api/v1/alarm-events/${raise.id}`)).body.repeats, 2);
  assert.equal((await inbox(t, 'alarm.repeat')).length, 2);
  // Cleared: no more repeats.
  r = await t.ingest.batch({ batch_id: 'r2', snapshots: [{ t: now - (now % MIN_US), ids: [t.channels[0]], v: [1] }] });
  await setClock(srv.url, 40 * 60);
  assert.equal(await job('alarm_repeats'), 0);
  await setClock(srv.url, 0);
});

test('S6: the server tells disconnects after N minutes without a batch, and the connect again, once each', async () => {
  const t = await groupTenant();
  let r = await t.c.put(`/api/v1/groups/${t.group}/alarm-settings`, { disconnect_notice: true,
    disconnect_minutes: 5, notice_language: 'de' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.disconnect_minutes, 5);
  assert.equal(r.body.notice_language, 'de');
  const now = Date.now() * 1000;
  r = await t.ingest.batch({ batch_id: 's1', snapshots: [{ t: now - (now % MIN_US), ids: [t.channels[0]], v: [1] }] });
  assert.equal(r.status, 201);
  let app = (await t.c.get(`/api/v1/apps/${t.appId}`)).body;
  assert.equal(app.connection.connected, true);
  assert.equal(app.connection.cause, 'data');
  assert.equal(app.connection.disconnect_after_s, 300);
  assert.ok(await job('app_connections') >= 1);
  assert.equal(await outbox(t, 'notice.app_connected'), 1);
  assert.equal(await job('app_connections'), 0);
  // 4 minutes of silence: still connected; 6: disconnected (timeout).
  await setClock(srv.url, 4 * 60);
  await job('app_connections');
  assert.equal((await t.c.get(`/api/v1/apps/${t.appId}`)).body.connection.connected, true);
  await setClock(srv.url, 6 * 60);
  assert.ok(await job('app_connections') >= 1);
  await setClock(srv.url, 0);
  app = (await t.c.get(`/api/v1/apps/${t.appId}`)).body;
  assert.equal(app.connection.connected, false);
  assert.equal(app.connection.cause, 'timeout');
  assert.ok(app.connection.disconnected_at);
  assert.equal(await outbox(t, 'notice.app_disconnected'), 1);
  assert.equal(await sql(`SELECT title FROM notify_outbox WHERE account_id = ${t.id}
    AND kind = 'notice.app_disconnected'`), '[Getrennt] Logger gateway');
  const down = (await inbox(t, 'notice.app_disconnected'))[0];
  assert.equal(down.title, '[Disconnected] Logger gateway');
  // The portal writes the sentence from the data, in the reader's language
  // and time zone: the time as an instant (UTC), never the zone's id.
  assert.equal(down.data.app_id, t.appId);
  assert.equal(down.data.group_id, t.group);
  assert.equal(down.data.connected, false);
  assert.equal(down.data.app_name, 'Logger gateway');
  assert.equal(down.data.cause, 'timeout');
  assert.equal(down.data.minutes, 5);
  assert.match(down.data.at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.equal(Date.parse(down.data.at), Number(await sql(`SELECT (extract(epoch FROM date_trunc('second',
    last_seen_at)) * 1000)::bigint FROM app_seen WHERE account_id = ${t.id} AND app_id = ${t.appId}`)));
  const up = (await inbox(t, 'notice.app_connected'))[0];
  assert.equal(up.data.connected, true);
  assert.equal(up.data.cause, 'data');
  assert.match(up.data.at, /Z$/);
  assert.equal(await job('app_connections'), 0);
  // The next batch connects it again.
  r = await t.ingest.batch({ batch_id: 's2', snapshots: [{ t: now - (now % MIN_US) + MIN_US, ids: [t.channels[0]], v: [1] }] });
  assert.equal((await t.c.get(`/api/v1/apps/${t.appId}`)).body.connection.connected, true);
  assert.equal(await job('app_connections'), 1);
  assert.equal(await outbox(t, 'notice.app_connected'), 2);
  // The app says it disconnects: cause app.
  r = await t.ingest.status('disconnect');
  assert.equal(r.status, 200);
  assert.equal(await job('app_connections'), 1);
  assert.equal((await t.c.get(`/api/v1/apps/${t.appId}`)).body.connection.cause, 'app');
  assert.equal(await sql(`SELECT string_agg(event || '/' || cause, ',' ORDER BY id)
    FROM app_connection_events WHERE account_id = ${t.id}`),
  'connected/data,disconnected/timeout,connected/data,disconnected/app');
  // With the notice off, the change is recorded but not told.
  r = await t.c.put(`/api/v1/groups/${t.group}/alarm-settings`, { disconnect_notice: false, disconnect_minutes: 5 });
  assert.equal(r.body.notice_language, null);
  await t.ingest.status('connect');
  assert.equal(await job('app_connections'), 0);
  assert.equal(await outbox(t, 'notice.app_connected'), 2);
  r = await t.c.put(`/api/v1/groups/${t.group}/alarm-settings`, { disconnect_notice: true, disconnect_minutes: 0 });
  assert.equal(r.status, 400);
  r = await t.c.put(`/api/v1/groups/${t.group}/alarm-settings`, { disconnect_notice: true, disconnect_minutes: 5, x: 1 });
  assert.equal(r.body.code, 'unknown_field');
});

test('S7: a notice when less than 10 % of the storage is left, again only after it rose above 12 %', async () => {
  const account = uniq('sto');
  const ids = await createAccount(srv.url, { account, plan: 'free', user: 'admin', password: PW,
    email: `admin@${account}.test` });
  const c = await login(srv.url, { account, user: 'admin', password: PW });
  const r = await c.post('/api/v1/notification-recipients', { kind: 'email', address: 'st@example.com' });
  assert.equal(r.status, 201);
  const GB = 1e9;
  const set = (b) => sql(`INSERT INTO account_storage (account_id, data_bytes) VALUES (${ids.accountId}, ${b})
    ON CONFLICT (account_id) DO UPDATE SET data_bytes = ${b}`);
  await set(4.4 * GB); // 12 % of Free's 5 GB left
  await job('storage_notices');
  const count = () => sql(`SELECT count(*) FROM notify_outbox WHERE account_id = ${ids.accountId}
    AND kind = 'notice.storage_low'`).then(Number);
  assert.equal(await count(), 0);
  await set(4.6 * GB); // 8 % left
  await job('storage_notices');
  await job('storage_notices');
  assert.equal(await count(), 1);
  assert.equal(await sql(`SELECT title FROM notify_outbox WHERE account_id = ${ids.accountId}
    AND kind = 'notice.storage_low'`), '[Storage] 8% left');
  const n = (await c.get('/api/v1/notifications')).body.items.find((x) => x.kind === 'notice.storage_low');
  assert.match(n.body, /uses 4\.6 GB of 5\.0 GB: 8% of its storage is left/);
  await set(4.45 * GB); // 11 %: still low, no re-arm
  await job('storage_notices');
  await set(4.6 * GB);
  await job('storage_notices');
  assert.equal(await count(), 1);
  await set(1 * GB); // re-armed
  await job('storage_notices');
  await set(4.7 * GB);
  await job('storage_notices');
  assert.equal(await count(), 2);
});

test('S9/L6: licence notices on core\'s calendar at 08:00 CST, once each, across processes and restarts', async () => {
  const account = uniq('lic');
  const ids = await createAccount(srv.url, { account, plan: 'standard', user: 'admin', password: PW,
    email: `admin@${account}.test` });
  const c = await login(srv.url, { account, user: 'admin', password: PW });
  await c.post('/api/v1/notification-recipients', { kind: 'email', address: 'lic@example.com' });
  // Expiry in 7 days: today is "week_before" (expiry - 7) from 00:00 UTC.
  const day = Math.floor(Date.now() / 86400e3);
  const expiry = new Date((day + 7) * 86400e3).toISOString().slice(0, 10);
  await sql(`UPDATE accounts SET licence_expires_at = '${expiry}T12:00:00Z',
    subscriber_email = 'holder@example.com' WHERE id = ${ids.accountId}`);
  const count = () => sql(`SELECT count(*) FROM notify_outbox WHERE account_id = ${ids.accountId}
    AND kind = 'notice.licence'`).then(Number);
  const other = await startServer({ databaseUrl: url, env: ENV, args: ['--jobs-interval', '0'] });
  try {
    await Promise.all([job('licence_notices'), job('licence_notices', other)]);
    assert.equal(await count(), 2, 'one notice: the G4 recipient and the contract holder');
    // A restarted server (another process) sends nothing again.
    await job('licence_notices', other);
    await job('licence_notices');
    assert.equal(await count(), 2);
  } finally {
    await other.stop();
    fs.rmSync(other.dataDir, { recursive: true, force: true });
  }
  assert.equal(await sql(`SELECT string_agg(title, ',') FROM notify_outbox WHERE account_id = ${ids.accountId}
    AND kind = 'notice.licence'`), `[Licence] expires on ${expiry},[Licence] expires on ${expiry}`);
  const n = (await c.get('/api/v1/notifications')).body.items.find((x) => x.kind === 'notice.licence');
  assert.match(n.body, new RegExp(`The Standard licence of the account ".*" expires on ${expiry} \\(7 days left\\)`));
  assert.equal(n.data.notice, 'week_before');
  // Tomorrow (expiry - 6): no notice of the calendar; on the expiry day
  // and the day after, one each.
  await setClock(srv.url, 86400);
  await job('licence_notices');
  assert.equal(await count(), 2);
  await setClock(srv.url, 7 * 86400);
  await job('licence_notices');
  assert.equal(await count(), 4);
  await setClock(srv.url, 8 * 86400);
  await job('licence_notices');
  await setClock(srv.url, 0);
  assert.equal(await count(), 6);
  assert.match(await sql(`SELECT title FROM notify_outbox WHERE account_id = ${ids.accountId}
    AND kind = 'notice.licence' ORDER BY id DESC LIMIT 1`), /^\[Licence\] expired on /);
});
