// Reliability of ingestion (issue #4): while several clients ingest, the
// server is killed with SIGKILL and restarted; clients retry every batch that
// was not acknowledged. Every acknowledged batch must be stored exactly once
// and nothing may be duplicated.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { destroyChecked, login, request, sleep, startPostgres, startServer } from './harness.mjs';
import { MIN_US, PW, baseTime, dataTenant } from './data_helpers.mjs';

let pg;
let url;
let db;
const servers = [];
const sql = (q) => pg.psql(q, db);

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

test('SIGKILL during ingestion: every acknowledged batch stored exactly once', async () => {
  const CLIENTS = 4;
  const BATCHES = 60;
  const PER = 20; // samples per channel per batch
  let srv = await startServer({ databaseUrl: url, env: { METRON_COMPACT_MS: '200' } });
  servers.push(srv);
  const current = { url: srv.url };
  const t = await dataTenant(srv, { n: CLIENTS });
  const t0 = baseTime(24 * 20);
  const acked = Array.from({ length: CLIENTS }, () => new Set());
  let retries = 0;
  let duplicates = 0;

  const body = (k, i) => ({ batch_id: `c${k}-b${i}`, channels: [{ id: t.channels[k],
    t: Array.from({ length: PER }, (_, j) => t0 + (i * PER + j) * MIN_US),
    v: Array.from({ length: PER }, (_, j) => k * 1e6 + i * PER + j) }] });

  const client = async (k) => {
    for (let i = 0; i < BATCHES; i++) {
      for (;;) {
        try {
          const r = await fetch(current.url + '/api/v1/ingest/batches', { method: 'POST',
            headers: { Authorization: `Bearer ${t.app.credential}`, 'Content-Type': 'application/json' },
            body: JSON.stringify(body(k, i)), signal: AbortSignal.timeout(5000) });
          const b = await r.json();
          if (r.status === 201 || r.status === 200) {
            if (b.duplicate) duplicates++;
            acked[k].add(i);
            break;
          }
          retries++; // 503 while the database or server is away
        } catch {
          retries++; // connection refused / reset: the server is down
        }
        await sleep(50);
      }
      await sleep(5);
    }
  };

  const running = Promise.all(Array.from({ length: CLIENTS }, (_, k) => client(k)));
  // Kill the server twice while the clients are sending, restart it each time.
  for (let round = 0; round < 2; round++) {
    await sleep(400);
    await srv.stop('SIGKILL');
    await sleep(200);
    srv = await startServer({ databaseUrl: url, env: { METRON_COMPACT_MS: '200' } });
    servers.push(srv);
    current.url = srv.url;
  }
  await running;
  assert.ok(retries > 0, 'the kills interrupted some requests');

  // Fold everything, then check every channel holds each sample once.
  const r = await request(srv.url, 'POST', '/api/v1/test/compact');
  assert.equal(r.status, 200);
  assert.equal(await sql(`SELECT count(*) FROM ingest_batches WHERE account_id = ${t.id}`),
    String(CLIENTS * BATCHES));
  assert.equal(await sql(`SELECT count(*) FROM series_hot WHERE account_id = ${t.id}`), '0');
  const c = await login(srv.url, { account: t.account, user: 'admin', password: PW });
  for (let k = 0; k < CLIENTS; k++) {
    assert.equal(acked[k].size, BATCHES);
    const q = await c.get(`/api/v1/data/raw?channels=${t.channels[k]}&from=${t0}&to=${t0 + BATCHES * PER * MIN_US}&limit=100000`);
    assert.equal(q.status, 200, JSON.stringify(q.body));
    assert.equal(q.body.t.length, BATCHES * PER, `channel ${k}: one sample per time`);
    q.body.channels[0].v.forEach((v, j) => assert.equal(v, k * 1e6 + j));
  }
  const stored = Number(await sql(`SELECT sum(n) FROM series_day WHERE account_id = ${t.id}`));
  assert.equal(stored, CLIENTS * BATCHES * PER);
  // The log says how many retries were acknowledged as duplicates.
  assert.ok(duplicates >= 0);
});
