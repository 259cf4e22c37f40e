// Reliability of alarm evaluation (S3; docs/alarms.md): the rules' saved
// states, the events, the inbox rows and the outbox rows commit with the
// batch, so a SIGKILL at any instant loses no alarm and repeats none; and
// two server processes on one database never evaluate a batch twice nor
// evaluate one with a stale state.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { destroyChecked, request, setClock, sleep, startPostgres, startServer } from './harness.mjs';
import { MIN_US, dataTenant, uniq } from './data_helpers.mjs';

let pg;
let url;
let db;
const servers = [];
const sql = (q) => pg.psql(q, db);
// No sender threads: this file checks what the evaluation commits, not
// what the outbox delivers (tests/server/notify_reliability.test.mjs).
const ENV = { METRON_COMPACT_MS: '3600000', METRON_NOTIFY_THREADS: '0' };

before(async () => {
  pg = await startPostgres();
  url = await pg.createDatabase();
  db = new URL(url).pathname.slice(1);
});

after(async () => {
  for (const s of servers) {
    await s.stop('SIGKILL');
    fs.rmSync(s.dataDir, { recursive: true, force: true });
  }
  await destroyChecked(pg);
});

async function start() {
  const s = await startServer({ databaseUrl: url, env: ENV });
  servers.push(s);
  return s;
}

/** A tenant whose app is in a group, with one rule "CH1 > 50" per channel
 * (created as if a day ago), each sending to a destination. */
async function setup(srv, n) {
  const t = await dataTenant(srv, { n });
  let r = await t.c.post('/api/v1/groups', { name: uniq('Site') });
  t.group = r.body.id;
  r = await t.c.patch(`/api/v1/apps/${t.appId}`, { group_id: t.group });
  assert.equal(r.status, 200);
  const dest = Number(await sql(`INSERT INTO notify_destinations (account_id, kind, address)
    VALUES (${t.id}, 'slack', 'https://hooks.example.com/${uniq('x')}') RETURNING id`));
  t.rules = [];
  await setClock(srv.url, -86400);
  for (let k = 0; k < n; k++) {
    r = await t.c.post(`/api/v1/groups/${t.group}/alarms`, { name: `rule ${k}`, rule: 'CH1 > 50',
      channels: [t.channels[k]], destinations: [dest] });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    t.rules.push(r.body.id);
  }
  await setClock(srv.url, 0);
  return t;
}

/** The value of sample j of a channel: above 50 for two samples, then
 * below for two, and so on: every second sample raises or clears. */
const value = (k, j) => ((j >> 1) % 2 === 0 ? 40 : 60) + k;

/** Raise and clear times a channel's samples 0..n-1 at t0 + j minutes give. */
function expected(k, n, t0) {
  const out = [];
  let raised = false;
  for (let j = 0; j < n; j++) {
    const hi = value(k, j) > 50;
    if (hi !== raised) {
      out.push(`${hi ? 'raise' : 'clear'}@${t0 + j * MIN_US}`);
      raised = hi;
    }
  }
  return out;
}

/** Send batch body "b" to "target().url" until it is acknowledged. */
async function send(target, credential, b, counters) {
  for (;;) {
    try {
      const r = await fetch(target().url + '/api/v1/ingest/batches', { method: 'POST',
        headers: { Authorization: `Bearer ${credential}`, 'Content-Type': 'application/json' },
        body: JSON.stringify(b), signal: AbortSignal.timeout(8000) });
      const j = await r.json();
      if (r.status === 201 || r.status === 200) {
        if (j.duplicate) counters.duplicates++;
        return;
      }
      counters.retries++;
    } catch {
      counters.retries++;
    }
    await sleep(50);
  }
}

/** Every rule's events are exactly the expected raises and clears, each
 * clear closes the raise before it, and each event has one inbox row per
 * administrator and one outbox row. */
async function check(t, n, batches, per, t0) {
  for (let k = 0; k < n; k++) {
    const got = (await sql(`SELECT kind || '@' || t FROM alarm_events WHERE account_id = ${t.id}
      AND rule_id = ${t.rules[k]} ORDER BY t, id`)).split('\n').filter(Boolean);
    assert.deepEqual(got, expected(k, batches * per, t0), `rule ${k}: events`);
    assert.equal(await sql(`SELECT count(*) FROM alarm_events c JOIN alarm_events r ON
      r.id = c.raise_id WHERE c.rule_id = ${t.rules[k]} AND c.kind = 'clear' AND r.kind = 'raise'
      AND r.clear_id = c.id AND r.t < c.t`), String(got.filter((x) => x.startsWith('clear')).length));
    assert.equal(await sql(`SELECT count(*) FROM alarm_events WHERE rule_id = ${t.rules[k]} AND late`), '0');
  }
  const events = Number(await sql(`SELECT count(*) FROM alarm_events WHERE account_id = ${t.id}`));
  assert.equal(Number(await sql(`SELECT count(*) FROM notifications WHERE account_id = ${t.id}
    AND kind LIKE 'alarm.%'`)), events, 'one inbox row per event (one administrator)');
  assert.equal(Number(await sql(`SELECT count(*) FROM notify_outbox WHERE account_id = ${t.id}`)),
    events, 'one outbox row per event');
  assert.equal(await sql(`SELECT count(*) FROM (SELECT dedupe_key FROM notify_outbox
    WHERE account_id = ${t.id} GROUP BY dedupe_key HAVING count(*) > 1) x`), '0');
  return events;
}

test('SIGKILL during evaluation: no alarm lost, none recorded or queued twice', async () => {
  const N = 4;
  const BATCHES = 40;
  const PER = 20;
  let srv = await start();
  const current = { url: srv.url };
  const t = await setup(srv, N);
  const t0 = (() => { const x = Date.now() * 1000 - 20 * 3600e6; return x - (x % MIN_US); })();
  const counters = { retries: 0, duplicates: 0 };
  const body = (k, i) => ({ batch_id: `k${k}-${i}`, channels: [{ id: t.channels[k],
    t: Array.from({ length: PER }, (_, j) => t0 + (i * PER + j) * MIN_US),
    v: Array.from({ length: PER }, (_, j) => value(k, i * PER + j)) }] });
  // Four clients, one channel each, one group: every batch raises and clears
  // (the transaction path), and the clients contend for the group's lock.
  const running = Promise.all(Array.from({ length: N }, async (_, k) => {
    for (let i = 0; i < BATCHES; i++) {
      await send(() => current, t.app.credential, body(k, i), counters);
    }
  }));
  for (let round = 0; round < 3; round++) {
    await sleep(500 + 300 * round);
    await srv.stop('SIGKILL');
    await sleep(150);
    srv = await start();
    current.url = srv.url;
  }
  await running;
  assert.ok(counters.retries > 0, 'the kills interrupted some batches');
  const events = await check(t, N, BATCHES, PER, t0);
  assert.equal(events, N * (BATCHES * PER / 2 - 1));
  assert.equal(await sql(`SELECT count(*) FROM ingest_batches WHERE account_id = ${t.id}`),
    String(N * BATCHES));
});

test('two server processes on one database: each batch evaluated once, with the state the other left', async () => {
  const N = 2;
  const BATCHES = 30;
  const PER = 4;
  const a = await start();
  const b = await start();
  const t = await setup(a, N);
  const t0 = (() => { const x = Date.now() * 1000 - 20 * 3600e6; return x - (x % MIN_US); })();
  const counters = { retries: 0, duplicates: 0 };
  const body = (k, i) => ({ batch_id: `p${k}-${i}`, channels: [{ id: t.channels[k],
    t: Array.from({ length: PER }, (_, j) => t0 + (i * PER + j) * MIN_US),
    v: Array.from({ length: PER }, (_, j) => value(k, i * PER + j)) }] });
  await Promise.all(Array.from({ length: N }, async (_, k) => {
    for (let i = 0; i < BATCHES; i++) {
      // Alternately to one process and the other, and every third batch to
      // both at once (a retry racing the first attempt).
      const one = i % 2 ? a : b;
      if (i % 3 === 0) {
        await Promise.all([send(() => a, t.app.credential, body(k, i), counters),
          send(() => b, t.app.credential, body(k, i), counters)]);
      } else {
        await send(() => one, t.app.credential, body(k, i), counters);
      }
    }
  }));
  assert.ok(counters.duplicates >= BATCHES / 3, 'the raced batches were acknowledged as duplicates');
  const events = await check(t, N, BATCHES, PER, t0);
  assert.equal(events, N * (BATCHES * PER / 2 - 1));
  // A quiet stretch (no change to save) still goes one statement per batch
  // and the group's sequence moves only with saved changes.
  const seq = await sql(`SELECT seq FROM alarm_groups WHERE group_id = ${t.group}`);
  const last = BATCHES * PER;
  for (let i = 0; i < 6; i++) {
    await send(() => (i % 2 ? a : b), t.app.credential, { batch_id: `q${i}`, channels: [{ id: t.channels[0],
      t: [t0 + (last + 4 * i) * MIN_US], v: [value(0, last - 1)] }] }, counters);
  }
  assert.equal(await sql(`SELECT seq FROM alarm_groups WHERE group_id = ${t.group}`), seq);
  const r = await request(a.url, 'GET', '/api/v1/health');
  assert.equal(r.status, 200);
});
