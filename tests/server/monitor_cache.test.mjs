// The remembered structure of a group's monitor (GET /api/v1/groups/{id}/monitor,
// issue 16; reply_cache.h REPLY_MONITOR, svc_data.c, migration 036): a change
// of what the monitor shows, made through the API, shows on the very next
// request of the process that made it; made by another server process on the
// same database, or in SQL, as soon as PostgreSQL announces it. What changes
// with every batch (the apps' connection state and last contact, the newest
// values) is read on every request: it shows at once everywhere, announced or
// not. Two server processes, one cluster.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { heardAll, herdWhileLocked, sleep } from './harness.mjs';
import { HEARD_MS, accountOnBoth, startTwo, stopTwo, uniq } from './two_servers.mjs';
import { appClient, baseTime, MIN_US } from './data_helpers.mjs';

let pg, srvA, srvB, db;
const sql = (q) => pg.psql(q, db);

before(async () => { ({ pg, srvA, srvB, db } = await startTwo()); });

after(() => stopTwo({ pg, srvA, srvB }));

/** An account with an administrator and a member signed in on both
 * processes, a group with an app, a device of two selected channels and a
 * computed channel. */
async function account() {
  const t = await accountOnBoth(srvA, srvB, uniq('mc'));
  let r = await t.adminA.post('/api/v1/apps', { kind: 'lr8450-direct', name: 'Gateway', group_id: t.groupId });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  t.appId = r.body.id;
  t.ingest = appClient(srvA.url, r.body.credential);
  r = await t.adminA.post(`/api/v1/apps/${t.appId}/devices`, { model: 'LR8450', serial: 'S1',
    firmware: 'V2.30' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  t.deviceId = r.body.id;
  t.channels = [];
  for (const key of ['CH1', 'CH2']) {
    r = await t.adminA.post(`/api/v1/devices/${t.deviceId}/channels`, { key, name: key, unit: 'V' });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    t.channels.push(r.body.id);
  }
  r = await t.adminA.put(`/api/v1/devices/${t.deviceId}/selection`, { channel_ids: t.channels });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  r = await t.adminA.post(`/api/v1/groups/${t.groupId}/computed`, { name: 'Sum', unit: 'V',
    expression: 'CH1+CH2', inputs: t.channels });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  t.computedId = r.body.id;
  return t;
}

const path = (t) => `/api/v1/groups/${t.groupId}/monitor`;

/** GET the monitor through "c" (asserting 200), several times (the later
 * ones from the remembered structure), each the same. */
async function monitor(c, t, times = 3) {
  let body;
  for (let i = 0; i < times; i++) {
    const r = await c.get(path(t));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    if (body !== undefined) assert.deepEqual(r.body, body, 'the monitor changed by itself');
    body = r.body;
  }
  return body;
}

/** Poll the monitor through "c" until ok(body) (a 404 gives null); the
 * milliseconds it took, or a failure after HEARD_MS. */
async function showsWithin(c, t, ok, what) {
  const t0 = Date.now();
  for (;;) {
    const r = await c.get(path(t));
    assert.ok(r.status === 200 || r.status === 404, JSON.stringify(r.body));
    const body = r.status === 200 ? r.body : null;
    if (ok(body)) return Date.now() - t0;
    assert.ok(Date.now() - t0 < HEARD_MS, `${what}: the monitor still shows ${JSON.stringify(body)}`);
    await sleep(25);
  }
}

const chan = (b, id) => b?.apps.flatMap((a) => a.devices.flatMap((d) => d.channels))
  .concat(b.computed).find((c) => c.id === id);

test('the structure: a change through the API shows on the very next request of that process, and soon on the other',
  async () => {
    const t = await account();
    const first = await monitor(t.adminA, t);
    assert.deepEqual(await monitor(t.adminB, t), first);
    assert.deepEqual(first.computed.map((c) => [c.id, c.expression, c.selected]),
      [[t.computedId, 'CH1+CH2', true]]);
    // A channel renamed, its unit and decimals.
    let r = await t.adminA.patch(`/api/v1/channels/${t.channels[0]}`, { name: 'Pressure', unit: 'bar',
      decimals: 2 });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    let c = chan(await monitor(t.adminA, t, 1), t.channels[0]);
    assert.deepEqual([c.name, c.unit, c.decimals], ['Pressure', 'bar', 2]);
    await showsWithin(t.adminB, t, (b) => chan(b, t.channels[0]).name === 'Pressure' &&
      chan(b, t.channels[0]).decimals === 2, 'rename on B');
    // The app renamed, on the other process this time.
    r = await t.adminB.patch(`/api/v1/apps/${t.appId}`, { name: 'Line gateway' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal((await monitor(t.adminB, t, 1)).apps[0].name, 'Line gateway');
    await showsWithin(t.adminA, t, (b) => b.apps[0].name === 'Line gateway', 'app name on A');
    // The selection.
    r = await t.adminA.put(`/api/v1/devices/${t.deviceId}/selection`, { channel_ids: [t.channels[1]] });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(chan(await monitor(t.adminA, t, 1), t.channels[0]).selected, false);
    await showsWithin(t.adminB, t, (b) => chan(b, t.channels[0]).selected === false, 'selection on B');
    // A new channel.
    r = await t.adminB.post(`/api/v1/devices/${t.deviceId}/channels`, { key: 'CH3', name: 'Three', unit: 'A' });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const third = r.body.id;
    assert.ok(chan(await monitor(t.adminB, t, 1), third));
    await showsWithin(t.adminA, t, (b) => chan(b, third) !== undefined, 'new channel on A');
    // The computed channel's expression.
    r = await t.adminA.patch(`/api/v1/computed/${t.computedId}`, { expression: 'CH1-CH2' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal((await monitor(t.adminA, t, 1)).computed[0].expression, 'CH1-CH2');
    await showsWithin(t.adminB, t, (b) => b.computed[0].expression === 'CH1-CH2', 'expression on B');
    // The group deleted.
    r = await t.adminB.del(`/api/v1/groups/${t.groupId}`);
    assert.ok(r.status === 204 || r.status === 200, JSON.stringify(r.body));
    assert.equal((await t.adminB.get(path(t))).status, 404);
    await showsWithin(t.adminA, t, (b) => b === null, 'group deleted on A');
  });

test('the structure: changes made in SQL behind the servers\' backs show as soon as they are announced',
  async () => {
    const t = await account();
    await monitor(t.adminA, t);
    await monitor(t.adminB, t);
    const both = async (ok, what) => {
      await showsWithin(t.adminA, t, ok, `${what} on A`);
      await showsWithin(t.adminB, t, ok, `${what} on B`);
    };
    await sql(`UPDATE channels SET ch_key = 'K1', name = 'N1', unit = 'mV', decimals = 3
      WHERE id = ${t.channels[0]}`);
    await both((b) => JSON.stringify(['K1', 'N1', 'mV', 3]) === JSON.stringify(
      ['key', 'name', 'unit', 'decimals'].map((k) => chan(b, t.channels[0])[k])), 'channel');
    await sql(`UPDATE apps SET name = 'SQL app', enabled = false WHERE id = ${t.appId}`);
    await both((b) => b.apps[0].name === 'SQL app' && b.apps[0].enabled === false, 'app');
    await sql(`UPDATE devices SET name = 'SQL device' WHERE id = ${t.deviceId}`);
    await both((b) => b.apps[0].devices[0].name === 'SQL device', 'device');
    await sql(`UPDATE channels SET expression = 'CH1*2' WHERE id = ${t.computedId}`);
    await both((b) => b.computed[0].expression === 'CH1*2', 'expression');
    await sql(`DELETE FROM channels WHERE id = ${t.channels[1]}`);
    await both((b) => chan(b, t.channels[1]) === undefined, 'a channel deleted');
    await sql(`UPDATE apps SET group_id = NULL WHERE id = ${t.appId}`);
    await both((b) => b.apps.length === 0, 'the app out of the group');
    await sql(`DELETE FROM channels WHERE id = ${t.computedId}`);
    await both((b) => b.computed.length === 0, 'the computed channel deleted');
    // Nothing else of the group's announces its deletion now.
    await sql(`DELETE FROM measurement_groups WHERE id = ${t.groupId}`);
    await both((b) => b === null, 'the group deleted');
  });

test('a member sees the monitor once the group is granted, and no longer once it is taken back', async () => {
  const t = await account();
  assert.equal((await t.memberA.get(path(t))).status, 404);
  assert.equal((await t.memberB.get(path(t))).status, 404);
  let r = await t.adminA.put(`/api/v1/groups/${t.groupId}/access`, { users: [{ user_id: t.memberId,
    access: 'view' }] });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const admin = await monitor(t.adminA, t);
  assert.deepEqual(await monitor(t.memberA, t), admin);
  await showsWithin(t.memberB, t, (b) => b !== null, 'grant on B');
  assert.deepEqual(await monitor(t.memberB, t), admin);
  r = await t.adminA.put(`/api/v1/groups/${t.groupId}/access`, { users: [] });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal((await t.memberA.get(path(t))).status, 404);
  await showsWithin(t.memberB, t, (b) => b === null, 'revocation on B');
  // Through a team, in SQL.
  await sql(`INSERT INTO teams (account_id, name) VALUES (${t.accountId}, 'SQL team')`);
  const team = Number(await sql(`SELECT id FROM teams WHERE account_id = ${t.accountId}`));
  await sql(`INSERT INTO group_team_access (account_id, group_id, team_id)
    VALUES (${t.accountId}, ${t.groupId}, ${team})`);
  await sql(`INSERT INTO team_members (account_id, team_id, user_id)
    VALUES (${t.accountId}, ${team}, ${t.memberId})`);
  await showsWithin(t.memberA, t, (b) => b !== null, 'team membership on A');
  await showsWithin(t.memberB, t, (b) => b !== null, 'team membership on B');
  await sql(`DELETE FROM team_members WHERE team_id = ${team}`);
  await showsWithin(t.memberA, t, (b) => b === null, 'team membership ended on A');
  await showsWithin(t.memberB, t, (b) => b === null, 'team membership ended on B');
});

test('what changes with every batch shows at once on both processes, announced or not', async () => {
  const t = await account();
  await monitor(t.adminA, t);
  await monitor(t.adminB, t);
  const now = async (c) => (await c.get(path(t))).body;
  // Values: ingestion announces nothing.
  const t0 = baseTime(2);
  let r = await t.ingest.batch({ batch_id: '1', snapshots: [{ t: t0, ids: t.channels, v: [1.5, 'break'] }] });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  for (const c of [t.adminA, t.adminB]) {
    const b = await now(c);
    assert.deepEqual(chan(b, t.channels[0]).latest, { t: t0, v: 1.5 });
    assert.deepEqual(chan(b, t.channels[1]).latest, { t: t0, v: 'break' });
    assert.equal(typeof b.apps[0].last_seen_at, 'string');
  }
  // The connection state and last contact, as PostgreSQL printed them (the
  // second, fraction cut), unannounced.
  const cases = [
    ['2026-01-02T03:04:05.999999Z', true, '2026-01-02T03:04:05Z'],
    ['1969-12-31T23:59:59.5Z', false, '1969-12-31T23:59:59Z'],
    ['2000-02-29T00:00:00Z', true, '2000-02-29T00:00:00Z'],
    ['infinity', false, null],
    [null, true, null],
  ];
  for (const [seen, connected, want] of cases) {
    // (app_seen, migration 064, has no trigger: nothing is announced.)
    await sql(`UPDATE app_seen SET last_seen_at = ${seen === null ? 'NULL' : `'${seen}'`},
      connected = ${connected} WHERE app_id = ${t.appId}`);
    const printed = await sql(`SELECT COALESCE(to_char(last_seen_at AT TIME ZONE 'UTC',
      'YYYY-MM-DD"T"HH24:MI:SS"Z"'), 'null') FROM app_seen WHERE app_id = ${t.appId}`);
    assert.equal(printed, want ?? 'null');
    for (const c of [t.adminA, t.adminB]) {
      const b = await now(c);
      assert.equal(b.apps[0].last_seen_at, want, `${seen}`);
      assert.equal(b.apps[0].connected, connected, `${seen}`);
    }
  }
  // A newer value.
  r = await t.ingest.batch({ batch_id: '2', snapshots: [{ t: t0 + MIN_US, ids: [t.channels[0]], v: [2.25] }] });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.deepEqual(chan(await now(t.adminB), t.channels[0]).latest, { t: t0 + MIN_US, v: 2.25 });
});

test('requests of one group at once share reads, and each shows every batch acknowledged before it was sent',
  async () => {
    // shared_read.h: a request joins only a read that begins after it came.
    const t = await account();
    await monitor(t.adminA, t);
    await monitor(t.adminB, t);
    const t0 = baseTime(3);
    for (let k = 1; k <= 25; k++) {
      const r = await t.ingest.batch({ batch_id: `s${k}`,
        snapshots: [{ t: t0 + k * MIN_US, ids: t.channels, v: [k, k + 0.5] }] });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      const asks = [];
      for (let i = 0; i < 12; i++) asks.push((i % 2 ? t.adminB : t.adminA).get(path(t)));
      // A batch sent meanwhile may show or not: never an older value.
      const next = t.ingest.batch({ batch_id: `s${k}b`,
        snapshots: [{ t: t0 + k * MIN_US + 1, ids: [t.channels[0]], v: [k + 0.25] }] });
      for (const a of await Promise.all(asks)) {
        assert.equal(a.status, 200, JSON.stringify(a.body));
        const c0 = chan(a.body, t.channels[0]).latest, c1 = chan(a.body, t.channels[1]).latest;
        assert.ok(c0.t === t0 + k * MIN_US || c0.t === t0 + k * MIN_US + 1, JSON.stringify(c0));
        assert.equal(c0.v, c0.t === t0 + k * MIN_US ? k : k + 0.25);
        assert.deepEqual(c1, { t: t0 + k * MIN_US, v: k + 0.5 });
      }
      assert.equal((await next).status, 201);
    }
  });

test('requests at once whose remembered structures differ share the values, each with its own structure',
  async () => {
    // svc_data.c: a follower answers with its leader's text only when its
    // structure is the leader's byte for byte; otherwise it writes its own.
    const t = await account();
    let r = await t.adminA.put(`/api/v1/groups/${t.groupId}/access`, { users: [{ user_id: t.memberId,
      access: 'view' }] });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    // Every announcement of the set-up heard first: a late one would end
    // the administrator's remembered structure below.
    await heardAll(srvA);
    await monitor(t.adminA, t);
    try {
      // The administrator's remembered structure keeps the old unit; the
      // member, asking for the first time, remembers the new one.
      await sql('ALTER TABLE channels DISABLE TRIGGER channels_monitor_notify_update');
      await sql(`UPDATE channels SET unit = 'Unannounced' WHERE id = ${t.channels[0]}`);
      await monitor(t.memberA, t);
      const t0 = baseTime(4);
      for (let k = 1; k <= 10; k++) {
        r = await t.ingest.batch({ batch_id: `d${k}`,
          snapshots: [{ t: t0 + k * MIN_US, ids: t.channels, v: [k, k + 0.5] }] });
        assert.equal(r.status, 201, JSON.stringify(r.body));
        const who = [];
        const asks = [];
        for (let i = 0; i < 12; i++) {
          who.push(i % 2 ? 'member' : 'admin');
          asks.push((i % 2 ? t.memberA : t.adminA).get(path(t)));
        }
        const got = await Promise.all(asks);
        for (let i = 0; i < got.length; i++) {
          const a = got[i];
          assert.equal(a.status, 200, JSON.stringify(a.body));
          assert.equal(a.body.group_id, t.groupId);
          const c0 = chan(a.body, t.channels[0]);
          assert.equal(c0.unit, who[i] === 'member' ? 'Unannounced' : 'V', JSON.stringify(c0));
          assert.deepEqual(c0.latest, { t: t0 + k * MIN_US, v: k });
          assert.deepEqual(chan(a.body, t.channels[1]).latest, { t: t0 + k * MIN_US, v: k + 0.5 });
          assert.equal(a.body.apps[0].connected, true);
        }
      }
    } finally {
      await sql('ALTER TABLE channels ENABLE TRIGGER channels_monitor_notify_update');
    }
  });

test('the requests that miss the structure at the same moment share one read of it, and only theirs',
  async () => {
    // issue 16, herd2 (as devstall's GET /devices list): after a change each
    // request that found no structure read it, in turns at the pool. Here
    // the structure's read waits for the devices table: the administrator's
    // requests that come meanwhile wait for that one read (or the next one),
    // and a member who may not see the group is refused all the same.
    const t = await account();
    await monitor(t.adminA, t);
    let r = await t.memberA.get(path(t));
    assert.equal(r.status, 404, JSON.stringify(r.body));
    r = await t.adminA.patch(`/api/v1/channels/${t.channels[0]}`, { name: 'Herd' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const { replies: rs, more: members, waiting } = await herdWhileLocked({ pg, db, sql, table: 'devices',
      like: '%expression IS NOT NULL%', n: 16, send: () => t.adminA.get(path(t)),
      more: () => Promise.all(Array.from({ length: 4 }, () => t.memberA.get(path(t)))) });
    for (const x of rs) {
      assert.equal(x.status, 200, JSON.stringify(x.body));
      assert.equal(chan(x.body, t.channels[0]).name, 'Herd');
      assert.deepEqual(x.body, rs[0].body);
    }
    for (const x of members) assert.equal(x.status, 404, JSON.stringify(x.body));
    // One read at a time for the one key (the pool has 8 connections).
    assert.equal(waiting, 1, `${waiting} structure reads waited for the lock at once`);
  });

test('the triggers announce what the monitor shows, and not what every batch touches', async () => {
  const t = await account();
  const out = await pg.psqlEach([
    'LISTEN metron_auth',
    // Every batch: the app's last contact and connection state; a channel's position.
    `UPDATE app_seen SET last_seen_at = now(), last_seen_ip = '127.0.0.1', connected = true WHERE app_id = ${t.appId}`,
    `UPDATE channels SET position = 3 WHERE device_id = ${t.deviceId}`,
    `UPDATE channels SET name = name, unit = unit WHERE device_id = ${t.deviceId}`,
    `UPDATE measurement_groups SET name = 'Renamed group' WHERE id = ${t.groupId}`,
    'SELECT 1',
    `UPDATE apps SET name = 'Renamed app' WHERE id = ${t.appId}`,
    'SELECT 2',
    `UPDATE channels SET unit = 'mA' WHERE id = ${t.channels[0]}`,
    'SELECT 3',
    `UPDATE channels SET decimals = 1 WHERE id = ${t.channels[0]}`,
    'SELECT 4',
    `DELETE FROM measurement_groups WHERE id = ${t.groupId}`,
    'SELECT 5',
  ], db);
  const lines = out.split('\n');
  const heard = (from, to) => lines.slice(lines.indexOf(from), to ? lines.indexOf(to) : undefined)
    .map((l) => l.match(/notification "metron_auth" with payload "(\d+)"/)).filter(Boolean)
    .map((m) => Number(m[1]));
  assert.deepEqual(heard(lines[0], '1'), [], `a change the monitor does not show was announced: ${out}`);
  assert.deepEqual(heard('1', '2'), [t.accountId], out);
  assert.deepEqual(heard('2', '3'), [t.accountId], out);
  assert.deepEqual(heard('3', '4'), [t.accountId], out);
  assert.deepEqual(heard('4', '5'), [t.accountId], out);
});

test('the structure is remembered: a change nobody announces stays unseen until the next announced one',
  async () => {
    const t = await account();
    // Every announcement of the set-up heard first: one heard after
    // "before" was remembered would end it, and the unannounced change
    // would then show.
    await heardAll(srvA);
    const before = await monitor(t.adminA, t);
    try {
      await sql('ALTER TABLE channels DISABLE TRIGGER channels_monitor_notify_update');
      await sql(`UPDATE channels SET unit = 'Unannounced' WHERE id = ${t.channels[0]}`);
      // A read of the database would show it at once; the remembered structure does not.
      assert.deepEqual(await monitor(t.adminA, t), before);
    } finally {
      await sql('ALTER TABLE channels ENABLE TRIGGER channels_monitor_notify_update');
    }
    await sql(`UPDATE devices SET name = 'Next' WHERE id = ${t.deviceId}`);
    await showsWithin(t.adminA, t, (b) => chan(b, t.channels[0]).unit === 'Unannounced',
      'next announcement');
  });
