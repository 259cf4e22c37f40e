// The remembered app credentials of ingestion (issue 16; server/base/app_cache.h,
// migration 035): a batch finds its app without a database round trip, and
// yet a change through the API takes effect on the very next batch of the
// process that made it, and a change made by another server process or in
// SQL as soon as PostgreSQL announces it (migrations 012, 031, 035), well
// before the 2 s that bound it when nothing is heard. A trial's end is
// judged by the time of each batch. Two server processes, one cluster.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { heardAll, login, setClock, sleep } from './harness.mjs';
import { HEARD_MS, startTwo, stopTwo } from './two_servers.mjs';
import { MIN_US, PW, appClient, baseTime, dataTenant } from './data_helpers.mjs';

let pg, srvA, srvB, db;
const sql = (q) => pg.psql(q, db);
let seq = 0;

before(async () => { ({ pg, srvA, srvB, db } = await startTwo()); });

after(() => stopTwo({ pg, srvA, srvB }));

/** A tenant (data_helpers.mjs) with an app client and an admin session on
 * each process. */
async function tenant() {
  const t = await dataTenant(srvA, { n: 2 });
  t.adminA = t.c;
  t.adminB = await login(srvB.url, { account: t.account, user: 'admin', password: PW });
  t.onA = appClient(srvA.url, t.app.credential);
  t.onB = appClient(srvB.url, t.app.credential);
  return t;
}

/** One fresh batch of channel "ch" through app client "c": [status, code]. */
async function send(c, ch) {
  const i = ++seq;
  const r = await c.batch({ batch_id: `ac-${i}`, channels: [{ id: ch, t: [baseTime() + i * MIN_US], v: [i] }] });
  return [r.status, r.status < 300 ? 'stored' : r.body?.code];
}

/** A batch of the tenant's first channel through "c" answers "want" (a code
 * or 'stored'), at once. */
async function now(c, ch, want, what) {
  assert.deepEqual((await send(c, ch))[1], want, what);
}

/** Batches through "c" until one answers "want"; fails after HEARD_MS. */
async function soon(c, ch, want, what) {
  const t0 = Date.now();
  for (;;) {
    const [, got] = await send(c, ch);
    if (got === want) return Date.now() - t0;
    assert.ok(Date.now() - t0 < HEARD_MS, `${what}: the batch still answers ${got}, not ${want}`);
    await sleep(25);
  }
}

/** Several batches on both processes, so that the app is remembered there. */
async function warm(t, ch = t.channels[0]) {
  for (let i = 0; i < 3; i++) {
    await now(t.onA, ch, 'stored', 'warm-up on A');
    await now(t.onB, ch, 'stored', 'warm-up on B');
  }
}

test('disabling, enabling and a new credential take effect on the next batch of that process, and soon on the other',
  async () => {
    const t = await tenant();
    const ch = t.channels[0];
    await warm(t);
    let r = await t.adminA.patch(`/api/v1/apps/${t.appId}`, { enabled: false });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    await now(t.onA, ch, 'app_disabled', 'disabled, on A at once');
    await soon(t.onB, ch, 'app_disabled', 'disabled, on B');
    r = await t.adminB.patch(`/api/v1/apps/${t.appId}`, { enabled: true });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    await now(t.onB, ch, 'stored', 'enabled, on B at once');
    await soon(t.onA, ch, 'stored', 'enabled, on A');
    // A new credential: the old one stops.
    await warm(t);
    r = await t.adminA.post(`/api/v1/apps/${t.appId}/credentials`);
    assert.ok(r.status === 200 || r.status === 201, JSON.stringify(r.body));
    const fresh = r.body.credential;
    assert.match(fresh, /^mta_/);
    await now(t.onA, ch, 'unauthenticated', 'old credential, on A at once');
    await soon(t.onB, ch, 'unauthenticated', 'old credential, on B');
    await now(appClient(srvA.url, fresh), ch, 'stored', 'new credential on A');
    await now(appClient(srvB.url, fresh), ch, 'stored', 'new credential on B');
  });

test('the channel table: a selection changed through the API, or in SQL, is judged on the next batches',
  async () => {
    const t = await tenant();
    const [a, b] = t.channels;
    await warm(t, b);
    let r = await t.adminA.put(`/api/v1/devices/${t.deviceId}/selection`, { channel_ids: [a] });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    await now(t.onA, b, 'channel_not_selected', 'deselected, on A at once');
    await soon(t.onB, b, 'channel_not_selected', 'deselected, on B');
    await now(t.onA, a, 'stored', 'the other channel still');
    await sql(`UPDATE channels SET selected = true WHERE id = ${b}`);
    await soon(t.onA, b, 'stored', 'selected in SQL, on A');
    await soon(t.onB, b, 'stored', 'selected in SQL, on B');
    // A device's firmware below the instrument table's minimum (I4), in SQL.
    await sql(`UPDATE devices SET firmware = 'V0.01' WHERE id = ${t.deviceId}`);
    const refused = async (c, what) => {
      const t0 = Date.now();
      for (;;) {
        const [status] = await send(c, a);
        if (status >= 400) return;
        assert.ok(Date.now() - t0 < HEARD_MS, `${what}: still stored`);
        await sleep(25);
      }
    };
    await refused(t.onA, 'old firmware on A');
    await refused(t.onB, 'old firmware on B');
  });

test('an app moved into a group is judged by the group\'s alarm rules on the next batch of that process, and soon on the other',
  async () => {
    const t = await tenant();
    const [c1, c2] = t.channels;
    let r = await t.adminA.post('/api/v1/groups', { name: `Site ${++seq}` });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const group = r.body.id;
    // A rule's channels are the group's: the app is in it while they are made.
    r = await t.adminA.patch(`/api/v1/apps/${t.appId}`, { group_id: group });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    // Rules made as if a day ago (rows older than a rule are history).
    await setClock(srvA.url, -86400);
    try {
      for (const [name, ch] of [['One hot', c1], ['Two hot', c2]]) {
        r = await t.adminA.post(`/api/v1/groups/${group}/alarms`, { name, rule: 'CH1 > 30', channels: [ch] });
        assert.equal(r.status, 201, JSON.stringify(r.body));
      }
    } finally {
      await setClock(srvA.url, 0);
    }
    r = await t.adminA.patch(`/api/v1/apps/${t.appId}`, { group_id: null });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const t0 = baseTime(6);
    let minute = 0;
    const hot = async (c, ch) => {
      const res = await c.batch({ batch_id: `g-${++seq}`, channels: [{ id: ch, t: [t0 + ++minute * MIN_US], v: [31] }] });
      assert.equal(res.status, 201, res.text);
    };
    const raised = async () => {
      const ev = await t.adminA.get('/api/v1/alarm-events');
      assert.equal(ev.status, 200, JSON.stringify(ev.body));
      return ev.body.items.filter((x) => x.kind === 'raise').map((x) => x.rule_name).sort();
    };
    // Outside the group: no rule judges its batches, on either process.
    for (let i = 0; i < 2; i++) {
      await hot(t.onA, c1);
      await hot(t.onB, c2);
    }
    assert.deepEqual(await raised(), []);
    r = await t.adminA.patch(`/api/v1/apps/${t.appId}`, { group_id: group });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    await hot(t.onA, c1);
    assert.deepEqual(await raised(), ['One hot'], 'on A at once');
    const t1 = Date.now();
    for (;;) {
      await hot(t.onB, c2);
      if ((await raised()).length === 2) break;
      assert.ok(Date.now() - t1 < HEARD_MS, 'the group on B');
      await sleep(25);
    }
    assert.deepEqual(await raised(), ['One hot', 'Two hot']);
  });

test('the account frozen or the app deleted, in SQL, stop batches on both processes as soon as announced',
  async () => {
    const t = await tenant();
    const ch = t.channels[0];
    await warm(t);
    await sql(`UPDATE accounts SET status = 'frozen' WHERE id = ${t.id}`);
    await soon(t.onA, ch, 'account_inactive', 'frozen, on A');
    await soon(t.onB, ch, 'account_inactive', 'frozen, on B');
    await sql(`UPDATE accounts SET status = 'active' WHERE id = ${t.id}`);
    await soon(t.onA, ch, 'stored', 'active again, on A');
    await soon(t.onB, ch, 'stored', 'active again, on B');
    await sql(`UPDATE apps SET enabled = false WHERE id = ${t.appId}`);
    await soon(t.onA, ch, 'app_disabled', 'disabled in SQL, on A');
    await soon(t.onB, ch, 'app_disabled', 'disabled in SQL, on B');
    await sql(`UPDATE apps SET enabled = true WHERE id = ${t.appId}`);
    await soon(t.onA, ch, 'stored', 'enabled in SQL, on A');
    await soon(t.onB, ch, 'stored', 'enabled in SQL, on B');
    await sql(`DELETE FROM apps WHERE id = ${t.appId}`);
    await soon(t.onA, ch, 'unauthenticated', 'deleted, on A');
    await soon(t.onB, ch, 'unauthenticated', 'deleted, on B');
  });

test('a trial ends at its time on both processes, without any announcement', async () => {
  const t = await tenant();
  const ch = t.channels[0];
  // Whole seconds: 2 to 3 s from now.
  const end = Math.ceil(Date.now() / 1000) + 2;
  await sql(`UPDATE accounts SET plan = 'trial', trial_expires_at = to_timestamp(${end}) WHERE id = ${t.id}`);
  // Once the batches are refused, the announcement of that change has
  // surely arrived; until the end they are stored (and remembered).
  // The server judges a batch between its sending and its reply: one stored
  // was sent before the end, one refused answered after it.
  const seen = { A: null, B: null };
  for (;;) {
    for (const [name, c] of [['A', t.onA], ['B', t.onB]]) {
      const sent = Date.now();
      const [, got] = await send(c, ch);
      if (got === 'account_inactive') {
        seen[name] ??= Date.now();
      } else {
        assert.equal(got, 'stored', `${name} before the end`);
        assert.ok(sent < end * 1000 + 50, `${name}: a batch sent after the trial's end was stored`);
      }
    }
    if (seen.A !== null && seen.B !== null) break; // (a batch stored after the end fails above)
    await sleep(20);
  }
  assert.ok(seen.A >= end * 1000 - 50 && seen.B >= end * 1000 - 50, `refused before the end: ${JSON.stringify(seen)}`);
});

test('the app is remembered: a change nobody announces stays unseen until the next announced one',
  async () => {
    const t = await tenant();
    const ch = t.channels[0];
    // Every announcement of the set-up heard first: one heard after the
    // app was remembered would end it, and the unannounced change would
    // then show.
    await heardAll(srvA);
    await now(t.onA, ch, 'stored', 'remembered');
    try {
      // (036's trigger announces "enabled" too: the group monitor shows it.)
      await sql('ALTER TABLE apps DISABLE TRIGGER apps_ingest_notify');
      await sql('ALTER TABLE apps DISABLE TRIGGER apps_monitor_notify_update');
      await sql(`UPDATE apps SET enabled = false WHERE id = ${t.appId}`);
      // A read of the database would refuse it at once; the remembered app does not.
      for (let i = 0; i < 3; i++) await now(t.onA, ch, 'stored', 'unannounced');
    } finally {
      await sql('ALTER TABLE apps ENABLE TRIGGER apps_ingest_notify');
      await sql('ALTER TABLE apps ENABLE TRIGGER apps_monitor_notify_update');
    }
    await sql(`UPDATE accounts SET name = name WHERE id = ${t.id}`);
    await soon(t.onA, ch, 'app_disabled', 'the next announcement');
  });

test('an unknown credential is refused every time and remembered nowhere', async () => {
  const t = await tenant();
  const ch = t.channels[0];
  for (let i = 0; i < 20; i++) {
    const fake = 'mta_' + String(i).padStart(43, 'x');
    await now(appClient(srvA.url, fake), ch, 'unauthenticated', 'unknown credential');
  }
  await now(t.onA, ch, 'stored', 'the real one still');
});

test('the triggers announce what ingestion remembers, and not the touch of every batch', async () => {
  const t = await tenant();
  const out = await pg.psqlEach([
    'LISTEN metron_auth',
    `UPDATE app_seen SET last_seen_at = now(), last_seen_ip = '127.0.0.1', connected = true WHERE app_id = ${t.appId}`,
    // (A channel's name and unit are announced for the group monitor, 036.)
    `UPDATE channels SET position = 2 WHERE id = ${t.channels[0]}`,
    'SELECT 1',
    `UPDATE apps SET enabled = false WHERE id = ${t.appId}`,
    'SELECT 2',
    `UPDATE apps SET credential_hash = sha256('x${t.appId}'::bytea) WHERE id = ${t.appId}`,
    'SELECT 3',
    `UPDATE apps SET channels_version = channels_version + 1 WHERE id = ${t.appId}`,
    'SELECT 4',
    `UPDATE apps SET enabled = false WHERE id = ${t.appId}`,
    'SELECT 5',
  ], db);
  const lines = out.split('\n');
  const heard = (from, to) => lines.slice(from ? lines.indexOf(from) : 0, lines.indexOf(to))
    .map((l) => l.match(/notification "metron_auth" with payload "(\d+)"/)).filter(Boolean)
    .map((m) => Number(m[1]));
  assert.deepEqual(heard(null, '1'), [], `the touch or a move was announced: ${out}`);
  assert.deepEqual(heard('1', '2'), [t.id], out);
  assert.deepEqual(heard('2', '3'), [t.id], out);
  assert.deepEqual(heard('3', '4'), [t.id], out);
  assert.deepEqual(heard('4', '5'), [], `an update that changed nothing was announced: ${out}`);
  // The kind moves the channel table's version (the I4 refusal depends on it).
  const v0 = Number(await sql(`SELECT channels_version FROM apps WHERE id = ${t.appId}`));
  await sql(`UPDATE apps SET kind = 'one' WHERE id = ${t.appId}`);
  assert.equal(Number(await sql(`SELECT channels_version FROM apps WHERE id = ${t.appId}`)), v0 + 1);
  await sql(`UPDATE channels SET selected = NOT selected WHERE id = ${t.channels[1]}`);
  assert.equal(Number(await sql(`SELECT channels_version FROM apps WHERE id = ${t.appId}`)), v0 + 2);
  await sql(`UPDATE channels SET name = 'Again' WHERE id = ${t.channels[1]}`);
  assert.equal(Number(await sql(`SELECT channels_version FROM apps WHERE id = ${t.appId}`)), v0 + 2);
});
