// The remembered device list (GET /api/v1/devices, issue 16; reply_cache.h
// REPLY_DEVICES, svc_apps_read.c) and unread count (REPLY_UNREAD,
// svc_notifications.c, migration 033): a change made through the API shows on
// the very next GET /devices of the process that made it; a change made by
// another server process on the same database, or in SQL, as soon as
// PostgreSQL announces it (migrations 012 and 031), well before the 2 s
// that bound it when nothing is heard. Two server processes, one cluster.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { heardAll, herdShared, herdWhileLocked, request, sleep } from './harness.mjs';
import { HEARD_MS, accountOnBoth, startTwo, stopTwo, uniq } from './two_servers.mjs';

let pg, srvA, srvB, db;
const sql = (q) => pg.psql(q, db);
const METRICS = 'd'.repeat(40); // the scraper's token of /metrics

before(async () => { ({ pg, srvA, srvB, db } = await startTwo({ env: { METRON_METRICS_TOKEN: METRICS } })); });

after(() => stopTwo({ pg, srvA, srvB }));

/** An account with an administrator and a member signed in on both
 * processes, an app with a device, and a measurement group (not yet
 * granted to the member). */
async function account() {
  const t = await accountOnBoth(srvA, srvB, uniq('dl'));
  const app = await t.adminA.post('/api/v1/apps', { kind: 'one', name: 'Gateway', group_id: t.groupId });
  assert.equal(app.status, 201, JSON.stringify(app.body));
  t.appId = app.body.id;
  t.cred = app.body.credential;
  const dev = await t.adminA.post(`/api/v1/apps/${t.appId}/devices`, { model: 'LR8450', serial: 'S1',
    firmware: 'V2.30' });
  assert.equal(dev.status, 201, JSON.stringify(dev.body));
  t.deviceId = dev.body.id;
  return t;
}

/** GET /devices through "c" (asserting 200), several times (the later ones
 * come from the remembered list), each the same. */
async function list(c, times = 3) {
  let body;
  for (let i = 0; i < times; i++) {
    const r = await c.get('/api/v1/devices');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    if (body !== undefined) assert.deepEqual(r.body, body, 'GET /devices changed by itself');
    body = r.body;
  }
  return body.items;
}

/** Poll GET /devices through "c" until ok(items); the milliseconds it took,
 * or a failure after HEARD_MS. */
async function showsWithin(c, ok, what) {
  const t0 = Date.now();
  for (;;) {
    const items = await list(c, 1);
    if (ok(items)) return Date.now() - t0;
    assert.ok(Date.now() - t0 < HEARD_MS, `${what}: GET /devices still shows ${JSON.stringify(items)}`);
    await sleep(25);
  }
}

const dev = (items, id) => items.find((d) => d.id === id);

test('a change through the API shows on the very next GET /devices of that process, and soon on the other',
  async () => {
    const t = await account();
    await list(t.adminA);
    await list(t.adminB);
    // Rename.
    let r = await t.adminA.patch(`/api/v1/devices/${t.deviceId}`, { name: 'Renamed' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(dev(await list(t.adminA, 1), t.deviceId).name, 'Renamed');
    await showsWithin(t.adminB, (it) => dev(it, t.deviceId)?.name === 'Renamed', 'rename on B');
    // A new device, on the other process this time.
    r = await t.adminB.post(`/api/v1/apps/${t.appId}/devices`, { model: 'LR8450', serial: 'S2',
      firmware: 'V2.30' });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const second = r.body.id;
    assert.ok(dev(await list(t.adminB, 1), second));
    await showsWithin(t.adminA, (it) => dev(it, second) !== undefined, 'new device on A');
    // A channel added and selected: the counts.
    r = await t.adminA.post(`/api/v1/devices/${t.deviceId}/channels`, { key: 'CH1', name: 'One', unit: 'V' });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const ch = r.body.id;
    let d = dev(await list(t.adminA, 1), t.deviceId);
    assert.equal(d.channel_count, 1);
    await showsWithin(t.adminB, (it) => dev(it, t.deviceId).channel_count === 1, 'channel on B');
    r = await t.adminA.put(`/api/v1/devices/${t.deviceId}/selection`, { channel_ids: [ch] });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    d = dev(await list(t.adminA, 1), t.deviceId);
    assert.equal(d.selected_count, 1);
    await showsWithin(t.adminB, (it) => dev(it, t.deviceId).selected_count === 1, 'selection on B');
    // Deleted.
    r = await t.adminB.del(`/api/v1/devices/${second}`);
    assert.ok(r.status === 204 || r.status === 200, JSON.stringify(r.body));
    assert.equal(dev(await list(t.adminB, 1), second), undefined);
    await showsWithin(t.adminA, (it) => dev(it, second) === undefined, 'deletion on A');
  });

test('many GET /devices at once right after a change all show it', async () => {
  const t = await account();
  await list(t.adminA);
  const r = await t.adminA.patch(`/api/v1/devices/${t.deviceId}`, { name: 'At once' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const all = await Promise.all(Array.from({ length: 20 }, () => t.adminA.get('/api/v1/devices')));
  for (const x of all) {
    assert.equal(x.status, 200);
    assert.equal(dev(x.body.items, t.deviceId).name, 'At once');
  }
});

test('the GET /devices that miss the list at the same moment share one read of it', async () => {
  // issue 16, devstall: each of the 50 requests that found no list after a
  // change read it, and the last waited its turn for a pool connection for
  // up to 0.8 s. Here the list's read waits for the devices table: the
  // requests that come meanwhile take that read's list, or the next one's.
  const t = await account();
  await list(t.adminA);
  const r = await t.adminA.patch(`/api/v1/devices/${t.deviceId}`, { name: 'Shared' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const { replies: rs, d } = await herdWhileLocked({ pg, db, sql, table: 'devices', like: '%devices%', n: 20,
    send: () => t.adminA.get('/api/v1/devices'), metrics: { url: srvA.url, token: METRICS } });
  for (const x of rs) {
    assert.equal(x.status, 200, JSON.stringify(x.body));
    assert.equal(dev(x.body.items, t.deviceId).name, 'Shared');
    assert.deepEqual(x.body, rs[0].body);
  }
  // One read waited for the lock; the requests that came meanwhile formed
  // the next, whose leader found the list that read put.
  herdShared(d, { leads: 3 });
});

test('the unread counts that miss at the same moment share one read of it', async () => {
  // issue 16, herd2 (as devstall's list above): every portal page polls the
  // count, so a change finds many pages asking at once; each that found no
  // count read it, in turns at the pool. Here the count's read waits for the
  // notifications table: the requests that come meanwhile take that read's
  // count, or the next one's.
  const t = await account();
  let r = await t.memberA.get('/api/v1/notifications/unread-count');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  await sql(`INSERT INTO notifications (account_id, user_id, kind, title)
    VALUES (${t.accountId}, ${t.memberId}, 'test.note', 'Herd')`);
  await heardAll(srvA); // the count is stale now
  const { replies: rs, d } = await herdWhileLocked({ pg, db, sql, table: 'notifications', like: '%notifications%',
    n: 20, send: () => t.memberA.get('/api/v1/notifications/unread-count'),
    metrics: { url: srvA.url, token: METRICS } });
  for (const x of rs) {
    assert.equal(x.status, 200, JSON.stringify(x.body));
    assert.deepEqual(x.body, { unread: 1 });
  }
  // Another user of the account has a count of their own, not the member's.
  r = await t.adminA.get('/api/v1/notifications/unread-count');
  assert.deepEqual(r.body, { unread: 0 });
  herdShared(d, { leads: 4 });
});

test('a member sees a group\'s devices once it is granted, and no longer once it is taken back', async () => {
  const t = await account();
  assert.deepEqual(await list(t.memberA), []);
  assert.deepEqual(await list(t.memberB), []);
  let r = await t.adminA.put(`/api/v1/groups/${t.groupId}/access`, { users: [{ user_id: t.memberId,
    access: 'view' }] });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual((await list(t.memberA, 1)).map((d) => d.id), [t.deviceId]);
  await showsWithin(t.memberB, (it) => it.length === 1, 'grant on B');
  r = await t.adminA.put(`/api/v1/groups/${t.groupId}/access`, { users: [] });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(await list(t.memberA, 1), []);
  await showsWithin(t.memberB, (it) => it.length === 0, 'revocation on B');
  // Through a team, in SQL.
  await sql(`INSERT INTO teams (account_id, name) VALUES (${t.accountId}, 'SQL team')`);
  const team = Number(await sql(`SELECT id FROM teams WHERE account_id = ${t.accountId}`));
  await sql(`INSERT INTO group_team_access (account_id, group_id, team_id)
    VALUES (${t.accountId}, ${t.groupId}, ${team})`);
  assert.deepEqual(await list(t.memberA), []);
  await sql(`INSERT INTO team_members (account_id, team_id, user_id)
    VALUES (${t.accountId}, ${team}, ${t.memberId})`);
  await showsWithin(t.memberA, (it) => it.length === 1, 'team membership on A');
  await showsWithin(t.memberB, (it) => it.length === 1, 'team membership on B');
  // The app moved out of the group (SQL): gone for the member.
  await sql(`UPDATE apps SET group_id = NULL WHERE id = ${t.appId}`);
  await showsWithin(t.memberA, (it) => it.length === 0, 'app out of the group on A');
  await showsWithin(t.memberB, (it) => it.length === 0, 'app out of the group on B');
  // A member made administrator sees every device at once.
  r = await t.adminA.patch(`/api/v1/users/${t.memberId}`, { role: 'admin' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  await showsWithin(t.memberA, (it) => it.length === 1, 'role on A');
  await showsWithin(t.memberB, (it) => it.length === 1, 'role on B');
});

test('changes made in SQL behind the servers\' backs show as soon as they are announced', async () => {
  const t = await account();
  await list(t.adminA);
  await list(t.adminB);
  const both = async (ok, what) => {
    await showsWithin(t.adminA, ok, `${what} on A`);
    await showsWithin(t.adminB, ok, `${what} on B`);
  };
  await sql(`UPDATE devices SET firmware = 'V9.99' WHERE id = ${t.deviceId}`);
  await both((it) => dev(it, t.deviceId).firmware === 'V9.99', 'firmware');
  await sql(`INSERT INTO channels (account_id, device_id, ch_key, name, selected)
    SELECT ${t.accountId}, ${t.deviceId}, 'K' || i, 'K' || i, i <= 2 FROM generate_series(1, 5) i`);
  await both((it) => dev(it, t.deviceId).channel_count === 5 &&
    dev(it, t.deviceId).selected_count === 2, 'channels');
  await sql(`UPDATE channels SET selected = true WHERE device_id = ${t.deviceId}`);
  await both((it) => dev(it, t.deviceId).selected_count === 5, 'selection');
  await sql(`DELETE FROM channels WHERE device_id = ${t.deviceId} AND ch_key = 'K5'`);
  await both((it) => dev(it, t.deviceId).channel_count === 4, 'a channel deleted');
  await sql(`UPDATE apps SET kind = 'cross' WHERE id = ${t.appId}`);
  await both((it) => dev(it, t.deviceId).app_kind === 'cross', 'app kind');
  // The plan gives the selection limit (the app is a cross one now: P10).
  const limitBefore = JSON.stringify(dev(await list(t.adminA, 1), t.deviceId).selection_limit);
  await sql(`UPDATE accounts SET plan = 'free' WHERE id = ${t.accountId}`);
  await both((it) => JSON.stringify(dev(it, t.deviceId).selection_limit) !== limitBefore, 'plan');
  await sql(`DELETE FROM apps WHERE id = ${t.appId}`);
  await both((it) => it.length === 0, 'app deleted with its devices');
  // Another account's remembered list is not the one that changes.
  const u = await account();
  const before = await list(u.adminB);
  await sql(`UPDATE devices SET name = 'Only U' WHERE id = ${u.deviceId}`);
  await showsWithin(u.adminB, (it) => dev(it, u.deviceId).name === 'Only U', 'U');
  assert.notDeepEqual(before, await list(u.adminB));
});

test('an app\'s report of its instruments shows on the very next GET /devices', async () => {
  const t = await account();
  await list(t.adminA);
  const r = await fetch(`${srvA.url}/api/v1/ingest/devices`, { method: 'PUT',
    headers: { Authorization: `Bearer ${t.cred}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ devices: [{ model: 'LR8450', serial: 'S1', firmware: 'V2.40',
      channels: [{ key: 'CH1_1', name: 'T1', unit: '°C' }, { key: 'CH1_2', name: 'T2', unit: '°C' }] }] }) });
  assert.equal(r.status, 200, await r.text());
  const d = dev(await list(t.adminA, 1), t.deviceId);
  assert.equal(d.firmware, 'V2.40');
  assert.equal(d.channel_count, 2);
  await showsWithin(t.adminB, (it) => dev(it, t.deviceId).channel_count === 2, 'report on B');
});

test('the triggers announce what the list shows, and not what ingestion touches', async () => {
  const t = await account();
  const out = await pg.psqlEach([
    'LISTEN metron_auth',
    // Every ingested batch: the app's last contact (its app_seen row,
    // migration 064); a channel's name.
    `UPDATE app_seen SET last_seen_at = now(), last_seen_ip = '127.0.0.1' WHERE app_id = ${t.appId}`,
    `INSERT INTO channels (account_id, device_id, ch_key, name) VALUES (${t.accountId}, ${t.deviceId}, 'A', 'A')`,
    'SELECT 1',
    // (A channel's name and unit, an app's name: announced too since
    // migration 036, the group monitor shows them.)
    `UPDATE channels SET position = 3 WHERE device_id = ${t.deviceId}`,
    `UPDATE app_seen SET connected = true WHERE app_id = ${t.appId}`,
    'SELECT 2',
    `UPDATE channels SET selected = true WHERE device_id = ${t.deviceId}`,
    'SELECT 3',
  ], db);
  const lines = out.split('\n');
  const heard = (from, to) => lines.slice(lines.indexOf(from), to ? lines.indexOf(to) : undefined)
    .map((l) => l.match(/notification "metron_auth" with payload "(\d+)"/)).filter(Boolean)
    .map((m) => Number(m[1]));
  const first = lines.slice(0, lines.indexOf('1'));
  // The channel insert is announced (once), the app's touch is not.
  assert.deepEqual(first.map((l) => l.match(/payload "(\d+)"/)).filter(Boolean).map((m) => Number(m[1])),
    [t.accountId], out);
  assert.deepEqual(heard('1', '2'), [], `a change the list does not show was announced: ${out}`);
  assert.deepEqual(heard('2', '3'), [t.accountId], out);
});

test('the health check says the servers hear changes', async () => {
  for (const s of [srvA, srvB]) {
    const r = await request(s.url, 'GET', '/api/v1/health');
    assert.equal(r.status, 200);
    assert.equal(r.body.changes_heard, true);
  }
});

test('the list is remembered: a change nobody announces stays unseen until the next announced one',
  async () => {
    const t = await account();
    // Every announcement of the set-up heard first: one heard after
    // "before" was remembered would end it, and the unannounced change
    // would then show.
    await heardAll(srvA);
    const before = await list(t.adminA);
    try {
      await sql('ALTER TABLE devices DISABLE TRIGGER devices_list_notify_update');
      await sql(`UPDATE devices SET name = 'Unannounced' WHERE id = ${t.deviceId}`);
      // A read of the database would show it at once; the remembered list does not.
      assert.deepEqual(await list(t.adminA), before);
    } finally {
      await sql('ALTER TABLE devices ENABLE TRIGGER devices_list_notify_update');
    }
    await sql(`UPDATE apps SET kind = 'cross' WHERE id = ${t.appId}`);
    await showsWithin(t.adminA, (it) => dev(it, t.deviceId).name === 'Unannounced', 'next announcement');
  });

test('the unread count: a notification inserted, read or deleted anywhere shows on both processes', async () => {
  const t = await account();
  const unread = async (c) => {
    const r = await c.get('/api/v1/notifications/unread-count');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body.unread;
  };
  const countWithin = async (c, want, what) => {
    const t0 = Date.now();
    for (;;) {
      const got = await unread(c);
      if (got === want) return;
      assert.ok(Date.now() - t0 < HEARD_MS, `${what}: unread ${got}, not ${want}`);
      await sleep(25);
    }
  };
  assert.equal(await unread(t.memberA), 0);
  assert.equal(await unread(t.memberB), 0);
  // Inserted behind the servers' backs (as an alarm does, in ingestion).
  const ins = (n) => sql(`INSERT INTO notifications (account_id, user_id, kind, title)
    SELECT ${t.accountId}, ${t.memberId}, 'test.note', 'Note ' || i FROM generate_series(1, ${n}) i
    RETURNING id`);
  const ids = (await ins(3)).split('\n').map(Number);
  await countWithin(t.memberA, 3, 'insert on A');
  await countWithin(t.memberB, 3, 'insert on B');
  assert.equal(await unread(t.adminA), 0, 'another user of the account');
  // Read through process A: at once there, soon on B.
  let r = await t.memberA.post(`/api/v1/notifications/${ids[0]}/read`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(await unread(t.memberA), 2);
  await countWithin(t.memberB, 2, 'read on B');
  // Read all through B.
  r = await t.memberB.post('/api/v1/notifications/read-all');
  assert.deepEqual(r.body, { unread: 0, marked: 2 });
  assert.equal(await unread(t.memberB), 0);
  await countWithin(t.memberA, 0, 'read-all on A');
  // Unread again, and deleted, in SQL.
  await sql(`UPDATE notifications SET read_at = NULL WHERE id = ${ids[1]}`);
  await countWithin(t.memberA, 1, 'unread again on A');
  await countWithin(t.memberB, 1, 'unread again on B');
  await sql(`DELETE FROM notifications WHERE id = ${ids[1]}`);
  await countWithin(t.memberA, 0, 'deleted on A');
  await countWithin(t.memberB, 0, 'deleted on B');
  // The count is remembered: a change nobody announces stays unseen. Every
  // announcement before it heard first (a late one would end the
  // remembered count).
  await ins(1);
  await heardAll(srvA);
  assert.equal(await unread(t.memberA), 1);
  try {
    await sql('ALTER TABLE notifications DISABLE TRIGGER notifications_unread_notify');
    await ins(1);
    assert.equal(await unread(t.memberA), 1);
  } finally {
    await sql('ALTER TABLE notifications ENABLE TRIGGER notifications_unread_notify');
  }
  await ins(1);
  await countWithin(t.memberA, 3, 'the next announcement');
});
