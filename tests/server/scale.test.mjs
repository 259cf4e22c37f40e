// Two server processes behind HAProxy on one PostgreSQL primary with a
// streaming-replication standby for reads (issue 17 item 3, docs/scale.md).
// Everything real and on 127.0.0.1: a primary cluster, a standby made with
// pg_basebackup streaming from it, two metron-server processes on the
// primary (each with METRON_REPLICA_URL on the standby), and Debian's
// haproxy in front of them. The standby and HAProxy (its configuration from
// deploy/haproxy/metron.cfg) are started by scripts/cluster.mjs, the same
// code as the operator's scripts/cluster. The tests:
//   - a file uploaded through one process downloads byte-identical (ranges
//     too) through the other and through HAProxy;
//   - an export started through one process is followed and downloaded
//     through the other;
//   - a sign-out on one process ends the session on the other;
//   - reads go to the standby (shown by pausing its replay: the process with
//     a long staleness bound keeps answering from it, the one with a short
//     bound falls back to the primary), and to the primary while it is down;
//   - ingest through both and through HAProxy while one process is killed
//     with SIGKILL and then the standby is stopped: every acknowledged batch
//     is stored exactly once, clients see only retries;
//   - the outbox and the jobs of two processes: every notification posted
//     once, no job run twice at the same time.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { destroyChecked, freePort, login, metricSamples, request, sleep, startPostgres, startServer, tempDir, trackProcess,
} from './harness.mjs';
import { startHaproxy as startClusterHaproxy, startStandby as startClusterStandby }
  from '../../scripts/cluster.mjs';
import { MIN_US, PW, appClient, baseTime, dataTenant } from './data_helpers.mjs';
import { startWebhookReceiver } from './webhook_receiver.mjs';

const METRICS_TOKEN = 'scale-metrics-token-0123456789abcdef0123';

let pg; // the primary
let dbUrl;
let dbName;
let standby; // { dir, port, url(), start(), stop() }
let servers = []; // [a, b]
let proxy; // { url, proc }
let rx;

/** A standby of "pg" streaming over its own replication slot (scripts/cluster.mjs). */
async function startStandby() {
  const root = tempDir('metron-standby-');
  // (the harness stops a cluster in .../data at the end)
  const s = await startClusterStandby({ primary: { port: pg.port }, dir: path.join(root, 'data'),
    port: await freePort(), slot: `metron_standby_${process.pid}`, durable: false });
  return {
    dir: s.dir, port: s.port, url: s.url, start: s.start,
    // "immediate": as if the machine of the standby died.
    kill: () => s.stop('immediate'),
    psql: (sql) => s.psql(sql, dbName),
  };
}

/** HAProxy in front of "backends" (deploy/haproxy/metron.cfg by scripts/cluster.mjs):
 * round robin, health checks, retries; up once every backend answered through it. */
async function startHaproxy(backends) {
  return startClusterHaproxy({ dir: tempDir('metron-haproxy-'),
    listen: `127.0.0.1:${await freePort()}`, backends, onSpawn: trackProcess });
}

async function metrics(srv) {
  const m = await metricSamples(srv.url, METRICS_TOKEN, 'metron_replica_');
  const val = (name) => m[name] ?? null;
  return { up: val('metron_replica_up'), onPrimary: val('metron_replica_reads_on_primary'),
    lag: val('metron_replica_lag_seconds') };
}

/** Wait until "fn" gives a truthy value (polled), or fail naming "what". */
async function until(what, fn, timeoutMs = 30000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

before(async () => {
  const t0 = Date.now();
  const step = (what) => console.log(`# set-up: ${what} at ${Date.now() - t0} ms`);
  pg = await startPostgres();
  dbUrl = await pg.createDatabase();
  dbName = new URL(dbUrl).pathname.slice(1);
  step('primary');
  standby = await startStandby();
  step('standby');
  rx = await startWebhookReceiver();
  const env = {
    METRON_REPLICA_URL: standby.url(dbName),
    METRON_METRICS_TOKEN: METRICS_TOKEN,
    METRON_NOTIFY_ALLOW_LOCAL: '1',
    METRON_NOTIFY_RATE_MS: '0,0,0,0',
    METRON_NOTIFY_BACKOFF_MS: '200',
  };
  // Process 0 may read from the standby however far behind it is (so that
  // pausing its replay shows where it reads); process 1 at most 500 ms.
  // The first one migrates the database; the second finds it done.
  servers.push(await startServer({ databaseUrl: dbUrl,
    env: { ...env, METRON_REPLICA_MAX_LAG_MS: '3600000' } }));
  servers.push(await startServer({ databaseUrl: dbUrl,
    env: { ...env, METRON_REPLICA_MAX_LAG_MS: '500' } }));
  step('two servers');
  proxy = await startHaproxy(servers);
  step('haproxy');
});

after(async () => {
  await proxy?.stop();
  await rx?.stop();
  for (const s of servers) {
    const exit = await s.stop();
    if (exit.signal !== 'SIGKILL') {
      assert.equal(exit.code, 0, s.stderr());
      assert.doesNotMatch(s.stderr(), /runtime error|AddressSanitizer|LeakSanitizer/);
    }
    fs.rmSync(s.dataDir, { recursive: true, force: true });
  }
  try { await standby?.kill(); } catch { /* stopped already */ }
  await destroyChecked(pg);
});

/** fetch() with the session of "c" (cookie and CSRF token). */
function withSession(c, base, p, { method = 'GET', body, headers = {} } = {}) {
  return fetch(base + p, { method, body, headers: { cookie: `metron_session=${c.cookie}`,
    ...(method !== 'GET' ? { 'x-csrf-token': c.csrf } : {}), ...headers } });
}

test('a file uploaded through one process downloads byte-identical through the other and through HAProxy', async () => {
  const [a, b] = servers;
  const t = await dataTenant(a, { n: 1 });
  const bytes = crypto.randomBytes(3 * 1024 * 1024 + 12345); // four chunk rows
  let r = await withSession(t.c, a.url, '/api/v1/drive/files?name=scale.bin', { method: 'POST',
    body: bytes, headers: { 'content-type': 'application/octet-stream' } });
  const text = await r.text();
  assert.equal(r.status, 201, text);
  const id = JSON.parse(text).id;
  for (const base of [b.url, proxy.url, proxy.url]) {
    r = await withSession(t.c, base, `/api/v1/drive/files/${id}/content`);
    assert.equal(r.status, 200);
    assert.ok(Buffer.from(await r.arrayBuffer()).equals(bytes), `bytes through ${base}`);
  }
  // A download resumed on the other process: same validator, the rest only.
  r = await withSession(t.c, a.url, `/api/v1/drive/files/${id}/content`,
    { headers: { range: 'bytes=0-99' } });
  const etag = r.headers.get('etag');
  await r.arrayBuffer();
  r = await withSession(t.c, b.url, `/api/v1/drive/files/${id}/content`,
    { headers: { range: 'bytes=1048000-', 'if-range': etag } });
  assert.equal(r.status, 206);
  assert.ok(Buffer.from(await r.arrayBuffer()).equals(bytes.subarray(1048000)));
});

test('an export started through one process is followed and downloaded through the other', async () => {
  const [a, b] = servers;
  const t = await dataTenant(a, { n: 1 });
  const t0 = baseTime();
  const r = await appClient(a.url, t.app.credential).batch({ batch_id: 'x1',
    channels: [{ id: t.channels[0], t: [t0, t0 + MIN_US], v: [1.25, 2.5] }] });
  assert.equal(r.status, 201);
  let e = await withSession(t.c, a.url, '/api/v1/exports', { method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ channels: t.channels, from: t0, to: t0 + 10 * MIN_US, format: 'csv' }) });
  assert.equal(e.status, 202);
  const id = (await e.json()).id;
  const done = await until('the export to end (asked of the other process)', async () => {
    e = await withSession(t.c, b.url, `/api/v1/exports/${id}`);
    const body = await e.json();
    return body.status !== 'running' && body;
  }, 60000);
  assert.equal(done.status, 'done', JSON.stringify(done));
  const d = await fetch(b.url + done.download_url);
  assert.equal(d.status, 200);
  const zip = Buffer.from(await d.arrayBuffer());
  assert.equal(zip.subarray(0, 2).toString(), 'PK');
});

test('a sign-out through one process ends the session on the other', async () => {
  const [a, b] = servers;
  const t = await dataTenant(a, { n: 1 });
  const c = await login(a.url, { account: t.account, user: 'admin', password: PW });
  // Both processes know (and remember) the session.
  for (const s of [a, b]) {
    assert.equal((await withSession(c, s.url, '/api/v1/me')).status, 200);
  }
  const r = await withSession(c, a.url, '/api/v1/auth/logout', { method: 'POST' });
  assert.ok(r.status === 200 || r.status === 204, String(r.status));
  const t0 = Date.now();
  // The other process hears of it through PostgreSQL (LISTEN/NOTIFY): the
  // time that takes is the only window, measured here.
  await until('the other process to refuse the session', async () =>
    (await withSession(c, b.url, '/api/v1/me')).status === 401, 2000);
  console.log(`# sign-out seen by the other process after ${Date.now() - t0} ms`);
  assert.equal((await withSession(c, a.url, '/api/v1/me')).status, 401);
});

test('live monitoring across processes: started on one, fed through the other, read on both, stopped for both', async () => {
  const [a, b] = servers;
  const t = await dataTenant(a, { n: 2 });
  let r = await t.c.post('/api/v1/groups', { name: 'Live across' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const g = r.body.id;
  assert.equal((await t.c.patch(`/api/v1/apps/${t.appId}`, { group_id: g })).status, 200);
  const json = { 'content-type': 'application/json' };
  const gwA = appClient(a.url, t.app.credential);
  const gwB = appClient(b.url, t.app.credential);
  const liveBatch = (base, body) => fetch(`${base}/api/v1/ingest/live`, { method: 'POST',
    headers: { authorization: `Bearer ${t.app.credential}`, ...json }, body: JSON.stringify(body) })
    .then(async (x) => ({ status: x.status, body: await x.json() }));
  const readLive = async (base, since) => {
    const x = await withSession(t.c, base, `/api/v1/groups/${g}/live${since ? `?since=${since}` : ''}`);
    assert.equal(x.status, 200);
    return x.json();
  };
  const now = Date.now() * 1000;
  const t0 = now - (now % 5e6) - 60e6;
  const snaps = (from, k) => Array.from({ length: k }, (_, i) => ({ t: t0 + (from + i) * 5e6,
    ids: t.channels, v: [from + i, -(from + i)] }));

  // Started by the user through process 0 ...
  r = await withSession(t.c, a.url, `/api/v1/groups/${g}/live`, { method: 'POST' });
  assert.equal(r.status, 200);
  const { until } = await r.json();
  // ... the gateway, polling process 1, is told at once, and its samples
  // sent there are taken.
  assert.equal((await gwB.requests()).body.live_until, until);
  assert.equal((await gwB.channels()).body.live_until, until);
  r = await liveBatch(b.url, { batch_id: 'lx-1', snapshots: snaps(0, 6) });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.samples, 12);
  assert.equal(r.body.until, until);
  // The portal reads them through process 0, then process 1: the same values.
  const seen = [];
  for (const base of [a.url, b.url]) {
    const body = await readLive(base);
    assert.equal(body.until, until, base);
    assert.deepEqual(body.channels.map((c) => c.id), t.channels);
    assert.deepEqual(body.channels[0].t, snaps(0, 6).map((x) => x.t));
    assert.deepEqual(body.channels[1].v, [0, -1, -2, -3, -4, -5]);
    seen.push(body);
  }
  assert.deepEqual(seen[0], seen[1]);
  // More samples through process 0 (the gateway's next connection went
  // there), read incrementally through process 1.
  r = await liveBatch(a.url, { batch_id: 'lx-2', snapshots: snaps(6, 2) });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  let body = await readLive(b.url, t0 + 6 * 5e6);
  assert.deepEqual(body.channels[0].v, [6, 7]);
  // Through HAProxy, wherever it lands, the same.
  for (let i = 0; i < 2; i++) {
    const x = await withSession(t.c, proxy.url, `/api/v1/groups/${g}/live`);
    assert.equal(x.status, 200);
    assert.deepEqual((await x.json()).channels[0].v, [0, 1, 2, 3, 4, 5, 6, 7]);
  }

  // Stopped through process 1: over for process 0 and for the gateway on
  // either process.
  r = await withSession(t.c, b.url, `/api/v1/groups/${g}/live`, { method: 'DELETE' });
  assert.equal(r.status, 200);
  body = await readLive(a.url);
  assert.equal(body.until, null);
  for (const [gw, base] of [[gwA, a.url], [gwB, b.url]]) {
    assert.equal((await gw.requests()).body.live_until, null, base);
    assert.equal((await gw.channels()).body.live_until, null, base);
    r = await liveBatch(base, { batch_id: 'lx-3', snapshots: snaps(8, 1) });
    assert.equal(r.status, 409, base);
    assert.equal(r.body.code, 'live_not_active');
  }
  // And the other way round: started through process 1, stopped through process 0.
  r = await withSession(t.c, b.url, `/api/v1/groups/${g}/live`, { method: 'POST' });
  assert.equal(r.status, 200);
  assert.equal((await readLive(a.url)).until, (await r.json()).until);
  assert.equal((await liveBatch(a.url, { batch_id: 'lx-4', snapshots: snaps(9, 1) })).status, 200);
  r = await withSession(t.c, a.url, `/api/v1/groups/${g}/live`, { method: 'DELETE' });
  assert.equal(r.status, 200);
  assert.equal((await readLive(b.url)).until, null);
  assert.equal((await liveBatch(b.url, { batch_id: 'lx-5', snapshots: snaps(10, 1) })).status, 409);
  // Display only: none of it is stored as acquired data (read on the primary
  // by process 1 once its bound has passed, or on a standby that shows it).
  r = await withSession(t.c, b.url, `/api/v1/data/raw?channels=${t.channels[0]}&from=${t0}&to=${now + 60e6}`);
  assert.deepEqual((await r.json()).t, []);
});

/** The raw samples of channel "ch" from "t0" as [t, v] through "base". */
async function samples(c, base, ch, t0) {
  const r = await withSession(c, base,
    `/api/v1/data/raw?channels=${ch}&from=${t0}&to=${t0 + 100000 * MIN_US}&limit=100000`);
  assert.equal(r.status, 200);
  const body = await r.json();
  return body.t.length;
}

/** Run a CSV export of channel "ch" from "t0" through "base": the number of
 * samples the server says it wrote. */
async function exported(c, base, ch, t0) {
  let e = await withSession(c, base, '/api/v1/exports', { method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ channels: [ch], from: t0, to: t0 + 10 * MIN_US, format: 'csv' }) });
  assert.equal(e.status, 202);
  const id = (await e.json()).id;
  const done = await until('the export to end', async () => {
    e = await withSession(c, base, `/api/v1/exports/${id}`);
    const body = await e.json();
    return body.status !== 'running' && body;
  }, 60000);
  assert.equal(done.status, 'done', JSON.stringify(done));
  return done.samples;
}

/** Index and sequential scans of the series tables counted by the standby
 * (its own statistics: reads run on it). */
async function standbyScans() {
  return Number(await standby.psql(`SELECT COALESCE(sum(COALESCE(idx_scan, 0) +
    COALESCE(seq_scan, 0)), 0) FROM pg_stat_user_tables WHERE relname LIKE 'series%'`));
}

test('reads go to the standby within the staleness bound, to the primary beyond it or while it is down', async () => {
  const [a, b] = servers;
  const t = await dataTenant(a, { n: 1 });
  const ch = t.channels[0];
  const t0 = baseTime();
  const ingest = appClient(a.url, t.app.credential);
  let r = await ingest.batch({ batch_id: 'r1', channels: [{ id: ch, t: [t0], v: [1] }] });
  assert.equal(r.status, 201);
  // The standby has it (it catches up within milliseconds) ...
  await until('the standby to replay the first batch', async () => await standby.psql(
    `SELECT count(*) FROM ingest_batches WHERE account_id = ${t.id}`) === '1', 20000).catch(async (e) => {
    throw new Error(`${e.message}: ` + await standby.psql(`SELECT pg_last_wal_receive_lsn() || ' ' ||
      pg_last_wal_replay_lsn() || ' ' || pg_get_wal_replay_pause_state() || ' ' || COALESCE((SELECT
      string_agg(backend_type || ':' || COALESCE(wait_event, '-') || ':' || COALESCE(left(query, 60), ''), ', ')
      FROM pg_stat_activity), '')`) + ' primary ' + await pg.psql('SELECT pg_current_wal_insert_lsn()', dbName));
  });
  // ... and both processes read it.
  for (const s of [a, b]) await until('the first sample', async () => await samples(t.c, s.url, ch, t0) === 1);
  const m = await metrics(a);
  assert.equal(m.up, 1);
  assert.equal(m.onPrimary, 0);

  // The standby stops replaying: what is acknowledged now is on the primary only.
  await standby.psql('SELECT pg_wal_replay_pause()');
  try {
    // A pause is asked for; the standby may apply a record more before it holds.
    // (A record written meanwhile is one it stops before.)
    await until('the standby to pause', async () =>
      await standby.psql('SELECT pg_get_wal_replay_pause_state()') === 'paused' ||
      (await pg.psql('SELECT txid_current()', dbName), false));
    r = await ingest.batch({ batch_id: 'r2', channels: [{ id: ch, t: [t0 + MIN_US], v: [2] }] });
    assert.equal(r.status, 201);
    // Process 1 (bound 500 ms) goes to the primary once the bound is passed ...
    await until('process 1 to read on the primary', async () => await samples(t.c, b.url, ch, t0) === 2);
    // (the bound only grows while the standby stays behind)
    await until('process 1 to say it reads on the primary', async () => (await metrics(b)).onPrimary === 1);
    // ... process 0 (bound 1 h) keeps reading the standby, which is behind.
    // (a read that fails there for a moment is read on the primary: fresher,
    // never staler; so wait for an answer from the standby)
    await until('process 0 to answer from the standby', async () =>
      await samples(t.c, a.url, ch, t0) === 1, 10000).catch(async (e) => {
      const onStandby = await standby.psql(`SELECT count(*) FROM ingest_batches WHERE account_id = ${t.id}`);
      const state = await standby.psql('SELECT pg_get_wal_replay_pause_state()');
      throw new Error(`${e.message}: the standby has ${onStandby} batches, ${state}; ` +
        JSON.stringify(await metrics(a)) + ' ' +
        a.stderr().split('\n').filter((l) => /replica/.test(l)).slice(-6).join(' | '));
    });
    assert.equal((await metrics(a)).onPrimary, 0);
    // An export must hold what was acknowledged before it was asked for:
    // the standby does not, so it is made from the primary.
    assert.equal(await exported(t.c, a.url, ch, t0), 2);
  } finally {
    await standby.psql('SELECT pg_wal_replay_resume()');
  }
  await until('process 0 to see the standby caught up', async () => await samples(t.c, a.url, ch, t0) === 2);
  await until('process 1 back on the standby', async () => (await metrics(b)).onPrimary === 0);
  // Caught up, the standby makes exports: its statistics count the reads.
  // A backend reports what it read when idle, at most 10 s later: the count
  // is taken once it has not moved for 11 s (the reads above all reported).
  let scans = await standbyScans();
  for (let still = Date.now(); Date.now() - still < 11000;) {
    await sleep(500);
    const now = await standbyScans();
    if (now !== scans) [scans, still] = [now, Date.now()];
  }
  // (on a loaded machine the monitor may not see the standby caught up
  // within the export's first wait: then it is made from the primary,
  // which is right too; so up to three exports)
  for (let attempt = 1; ; attempt++) {
    assert.equal(await exported(t.c, a.url, ch, t0), 2);
    const read = await until('the standby to count the export\'s reads',
      async () => await standbyScans() > scans, 12000).then(() => true, () => false);
    if (read) break;
    assert.ok(attempt < 3, 'three exports, none read on the standby');
  }
});

test('ingest through both processes and HAProxy while one is killed -9 and the standby dies: nothing lost, nothing twice', async () => {
  const [a, b] = servers;
  const t = await dataTenant(a, { n: 2 });
  const t0 = baseTime(72);
  const clients = [appClient(a.url, t.app.credential), appClient(b.url, t.app.credential),
    appClient(proxy.url, t.app.credential)];
  const acked = new Map(); // batch_id -> samples
  let retries = 0;
  let n = 0;
  let stop = false;
  const reader = await login(proxy.url, { account: t.account, user: 'admin', password: PW });
  const readErrors = [];
  // A client retries what got no answer, with the same batch_id.
  async function send(client, id, body) {
    for (let i = 0; i < 50; i++) {
      try {
        const r = await client.batch(body);
        if (r.status === 201 || r.status === 200) {
          acked.set(id, body.channels.reduce((k, c) => k + c.t.length, 0));
          return;
        }
        assert.ok(r.status >= 500, `${r.status} ${r.text}`);
      } catch (e) {
        if (!/fetch failed|ECONNRESET|ECONNREFUSED|socket/i.test(String(e.cause || e))) throw e;
      }
      retries++;
      await sleep(100);
    }
    throw new Error(`batch ${id} never acknowledged`);
  }
  // Writers through HAProxy, and through process 1 directly (the survivor);
  // process 0 directly only until it is killed.
  const writer = async (k, client) => {
    while (!stop) {
      const i = n++;
      const id = `w${k}-${i}`;
      await send(client, id, { batch_id: id, channels: t.channels.map((ch) =>
        ({ id: ch, t: [t0 + i * MIN_US], v: [i] })) });
    }
  };
  // Readers through HAProxy: every answer is a 200 (the standby's death
  // included: reads fall back to the primary).
  const readLoop = async () => {
    while (!stop) {
      const r = await withSession(reader, proxy.url,
        `/api/v1/data/summary?channels=${t.channels.join(',')}&from=${t0}&to=${t0 + 100000 * MIN_US}`)
        .catch((e) => ({ status: String(e) }));
      if (r.status !== 200) readErrors.push(r.status);
      else await r.arrayBuffer();
    }
  };
  const direct0 = (async () => {
    for (let i = 0; i < 20; i++) await send(clients[0], `d0-${i}`, { batch_id: `d0-${i}`,
      channels: [{ id: t.channels[0], t: [t0 - (i + 1) * MIN_US], v: [i] }] });
  })();
  const loops = [writer(1, clients[2]), writer(2, clients[2]), writer(3, clients[1]), readLoop()];
  await direct0;
  await until('traffic', () => acked.size >= 60, 60000);
  a.proc.kill('SIGKILL');
  assert.equal((await a.exited).signal, 'SIGKILL');
  const afterKill = acked.size;
  await until('traffic after the kill', () => acked.size >= afterKill + 40, 60000);
  await standby.kill();
  const afterStandby = acked.size;
  await until('traffic after the standby died', () => acked.size >= afterStandby + 40, 60000);
  stop = true;
  await Promise.all(loops);
  await until('process 1 to see the standby down', async () => (await metrics(b)).up === 0);
  assert.deepEqual(readErrors, [], 'reads through HAProxy all answered');

  // Every acknowledged batch once, with its samples once.
  const stored = await pg.psql(`SELECT count(*) FROM ingest_batches WHERE account_id = ${t.id}`, dbName);
  assert.equal(Number(stored), acked.size);
  const total = [...acked.values()].reduce((x, y) => x + y, 0);
  const r = await withSession(reader, proxy.url,
    `/api/v1/data/summary?channels=${t.channels.join(',')}&from=${t0 - 100 * MIN_US}&to=${t0 + 100000 * MIN_US}`);
  const sum = await r.json();
  assert.equal(sum.channels.reduce((k, c) => k + c.n, 0), total);
  console.log(`# ${acked.size} batches acknowledged (${total} samples), ${retries} client retries; ` +
    `${afterKill} before the kill, ${afterStandby} before the standby died`);

  // The standby comes back and catches up; reads go to it again.
  await standby.start();
  await until('process 1 back on the standby', async () => {
    const m = await metrics(b);
    return m.up === 1 && m.onPrimary === 0;
  });
  assert.equal(await standby.psql(`SELECT count(*) FROM ingest_batches WHERE account_id = ${t.id}`),
    String(acked.size));
  // The killed process comes back on the same data folder.
  servers[0] = await startServer({ databaseUrl: dbUrl, dataDir: a.dataDir,
    env: { METRON_REPLICA_URL: standby.url(dbName), METRON_METRICS_TOKEN: METRICS_TOKEN,
      METRON_NOTIFY_ALLOW_LOCAL: '1', METRON_NOTIFY_RATE_MS: '0,0,0,0' } });
});

test('two processes: every notification of the outbox posted once, no job run twice at once, compactors fold every sample once', async () => {
  const [a, b] = servers;
  const t = await dataTenant(a, { n: 1 });
  const ids = [];
  for (let i = 0; i < 6; i++) {
    const r = await t.c.post('/api/v1/destinations', { kind: 'slack',
      address: rx.url(`/scale/${i}/secret`), name: `scale ${i}` });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    ids.push(r.body.id);
  }
  for (let i = 0; i < 6; i++) rx.setDefault(`/scale/${i}/secret`, { stallMs: 5 });
  // Enqueued through both processes at once; both send.
  const queued = await Promise.all([a, b].map((s, k) => request(s.url, 'POST',
    '/api/v1/test/notify', { body: { account_id: t.id, destination_ids: ids, count: 60,
      per_tx: 10, key_prefix: `scale${k}` } })));
  assert.equal(queued[0].body.queued + queued[1].body.queued, 120);
  await until('every notification sent', async () => (await pg.psql(
    `SELECT count(*) FROM notify_outbox WHERE account_id = ${t.id} AND state = 'sent'`, dbName)) === '120', 60000);
  const reqs = rx.requests.filter((r) => r.path.startsWith('/scale/'));
  assert.equal(reqs.length, 120);
  assert.equal(new Set(reqs.map((r) => r.delivery)).size, 120);

  // The jobs of both processes at once: a round of a job runs in one
  // process at a time (an advisory lock), the other skips it; rows swept
  // are counted once.
  await pg.psql(`INSERT INTO login_throttle (key, window_start, failures)
    SELECT 'scale-' || g, now() - interval '2 days', 1 FROM generate_series(1, 25000) g`, dbName);
  let done = 0;
  for (let round = 0; round < 10; round++) {
    const runs = await Promise.all([a, b].map((s) => request(s.url, 'POST',
      '/api/v1/test/jobs?job=login_throttle')));
    for (const r of runs) {
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.ok(r.body.jobs.every((j) => j.ok), JSON.stringify(r.body));
      done += r.body.jobs.reduce((k, j) => k + j.done, 0);
    }
    if (await pg.psql(`SELECT count(*) FROM login_throttle WHERE key LIKE 'scale-%'`, dbName) === '0') break;
  }
  assert.equal(await pg.psql(`SELECT count(*) FROM login_throttle WHERE key LIKE 'scale-%'`, dbName), '0');
  assert.equal(done, 25000);

  // The compactors of both processes at once (an advisory lock and SKIP
  // LOCKED): every sample folded once, none lost, none doubled.
  const t2 = await dataTenant(a, { n: 2 });
  const t1 = baseTime(24 * 5);
  const c2 = appClient(proxy.url, t2.app.credential);
  for (let i = 0; i < 40; i++) {
    const r = await c2.batch({ batch_id: `c-${i}`, channels: t2.channels.map((ch) =>
      ({ id: ch, t: [t1 + i * 3600e6], v: [i] })) });
    assert.equal(r.status, 201);
  }
  const q = `/api/v1/data/summary?channels=${t2.channels.join(',')}&from=${t1}&to=${t1 + 41 * 3600e6}`;
  const count = async () => (await (await withSession(t2.c, a.url, q)).json())
    .channels.reduce((k, c) => k + c.n, 0);
  // (process 0 reads a standby that may be behind: wait for it)
  await until('the standby to hold the batches', async () => await count() === 80);
  const compacted = await Promise.all([a, b, a, b].map((s) => request(s.url, 'POST', '/api/v1/test/compact')));
  for (const r of compacted) assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(await pg.psql(`SELECT count(*) FROM series_hot WHERE account_id = ${t2.id}`, dbName), '0');
  await until('the standby to hold the folded days', async () => await count() === 80);
  assert.equal(await pg.psql(`SELECT COALESCE(sum(n), 0) FROM series_day WHERE account_id = ${t2.id}`, dbName), '80');
});

test('the exports clean-up of two processes at once: each stale export failed once, each old one removed once, a live one kept', async () => {
  const [a, b] = servers;
  const t = await dataTenant(a, { n: 1 });
  const user = (await t.c.get('/api/v1/me')).body.id;
  const row = (status, age, extra = '') => `(${t.id}, ${user}, 'csv', ARRAY[${t.channels[0]}]::bigint[],
    0, 1, 'UTC', '${status}', now() - interval '${age}', now() - interval '${age}'${extra})`;
  // 30 that ended two days ago, 20 left running by a server that stopped
  // 20 minutes ago, and one running now (its server heart-beats it).
  await pg.psql(`INSERT INTO exports (account_id, user_id, format, channels, t_from, t_to,
    time_zone, status, created_at, updated_at, finished_at) VALUES
    ${Array.from({ length: 30 }, () => row('done', '2 days', ", now() - interval '2 days'")).join(',')}`, dbName);
  await pg.psql(`INSERT INTO exports (account_id, user_id, format, channels, t_from, t_to,
    time_zone, status, created_at, updated_at) VALUES
    ${Array.from({ length: 20 }, () => row('running', '20 minutes')).join(',')},
    ${row('running', '1 second')}`, dbName);
  const rounds = await Promise.all([a, b, a, b].map((s) =>
    request(s.url, 'POST', '/api/v1/test/export-cleanup')));
  for (const r of rounds) assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(rounds.reduce((k, r) => k + r.body.done, 0), 50, JSON.stringify(rounds.map((r) => r.body)));
  assert.equal(await pg.psql(`SELECT string_agg(status || ':' || n, ',' ORDER BY status) FROM
    (SELECT status, count(*) n FROM exports WHERE account_id = ${t.id} GROUP BY status) x`, dbName),
  'failed:20,running:1');
});

// A measurement, not a check (METRON_SCALE_BENCH=1; docs/scale.md "Two
// processes against one"): ingest batches a second through HAProxy with one
// backend and with both, same clients, same seconds, same run.
test('ingest through HAProxy: one backend against two (METRON_SCALE_BENCH=1)',
  { skip: process.env.METRON_SCALE_BENCH !== '1' }, async () => {
    const seconds = Number(process.env.METRON_SCALE_BENCH_S || 10);
    const clients = 16;
    const t = await dataTenant(servers[1], { n: 4 });
    const one = await startHaproxy([servers[1]]);
    let base = 0;
    const run = async (url) => {
      const c = appClient(url, t.app.credential);
      const end = Date.now() + seconds * 1000;
      let n = 0;
      await Promise.all(Array.from({ length: clients }, async (_, k) => {
        while (Date.now() < end) {
          const i = base++;
          const r = await c.batch({ batch_id: `bench-${i}`, channels: t.channels.map((ch) =>
            ({ id: ch, t: [baseTime(24 * 30) + i * 1e6], v: [i] })) });
          assert.ok(r.status === 201, `${r.status} ${r.text}`);
          n++;
        }
      }));
      return n / seconds;
    };
    const load = () => fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
    const l0 = load();
    const r1 = await run(one.url);
    const r2 = await run(proxy.url);
    const r1b = await run(one.url);
    console.log(`# ${clients} clients, ${seconds} s each, 4 channels a batch; load ${l0} -> ${load()}`);
    console.log(`# one backend: ${r1.toFixed(0)} then ${r1b.toFixed(0)} batches/s; two backends: ${r2.toFixed(0)} batches/s`);
    await one.stop();
  });
