// What the raw day's check costs in PostgreSQL's instructions against the
// change stamp's pre-check that now stands in for it when nothing changed
// (issue 16, rawstamp; docs/benchmarks.md "The raw day's check skipped when
// nothing changed"): the administrator's versions check
// (series_versions_visible(): mt_raw_versions(), 067) of a stored day of
// 8 channels at 1/min with a hot row in it, and the account's stamp alone
// (series_monitor_stamp(), shared with the monitor). As
// monitor_stamp_callgrind.mjs: a cluster of pg_tuning.conf's settings,
// migrated by METRON_SERVER_BIN, then under valgrind --tool=callgrind; one
// psql session per figure PREPAREs a form and EXECUTEs it BENCH_STATEMENTS
// (2,000) times, one the same with 0, twice: instructions a statement =
// (Ir(N) - Ir(0)) / N, each EXECUTE's round trip included. Needs valgrind.
//
//   METRON_SERVER_BIN=$PWD/build/server/metron-server-test node tests/bench/raw_stamp_callgrind.mjs
import fs from 'node:fs';
import { callgrindPostgres, formInstructions, quietServer } from './hot_bench_db.mjs';
import { createAccount, login, request, startPostgres } from '../server/harness.mjs';
import { load } from './bench_util.mjs';
import { appClient } from '../server/data_helpers.mjs';

const N = Number(process.env.BENCH_STATEMENTS || 2000);
const ok = (r, what) => { if (r.status >= 300) throw new Error(`${what}: ${r.status} ${JSON.stringify(r.body)}`); return r.body; };

// The stamp's rows as the server reads them (series_read.c's
// MONITOR_STAMP_ROWS) and the administrator's check (RAW_ROWS_ADMIN).
const STAMP_ROWS = `SELECT -1 - k.shard::bigint, k.xmin::text::bigint, NULL::boolean, NULL::timestamptz,
  k.n::float8, NULL::smallint, NULL::bytea FROM series_hot_count k WHERE k.account_id = $1
UNION ALL SELECT -100, COALESCE(c.xmin::text::bigint, 0), NULL, pg_postmaster_start_time(),
  COALESCE(c.v, -1)::float8, NULL, NULL
  FROM (SELECT 1) o LEFT JOIN account_changes c ON c.account_id = $1
UNION ALL SELECT -102, r.v, NULL, NULL, 0, NULL, NULL
  FROM account_rights r WHERE r.account_id = $1`;
const FORMS = {
  one: { text: 'SELECT $1::bigint', args: 1 },
  versions: { text: `SELECT * FROM mt_raw_versions($1::bigint, $2::bigint[], $3::bigint, $4::bigint,
  $5::integer, $6::integer)`, args: 6 },
  stamp: { text: STAMP_ROWS.replaceAll('$1', '$1::bigint'), args: 1 },
};

const pg = await startPostgres({ durable: true });
const out = fs.mkdtempSync('/tmp/rawstamp-cg-');
fs.chmodSync(out, 0o777);
let vg = null;
try {
  const db = 'cg';
  const { srv, stop } = await quietServer(pg, db);
  const ids = await createAccount(srv.url, { account: 'cgraw', plan: 'pro', user: 'admin',
    password: 'Correct-h0rse', email: 'admin@cgraw.test' });
  const c = await login(srv.url, { account: 'cgraw', user: 'admin', password: 'Correct-h0rse' });
  const group = ok(await c.post('/api/v1/groups', { name: 'Plant' }), 'group').id;
  const app = ok(await c.post('/api/v1/apps', { kind: 'lr8450-direct', name: 'Gateway', group_id: group }), 'app');
  const dev = ok(await c.post(`/api/v1/apps/${app.id}/devices`, { model: 'LR8450', serial: 'CG1' }), 'device').id;
  const ch = [];
  for (let i = 1; i <= 8; i++) {
    ch.push(ok(await c.post(`/api/v1/devices/${dev}/channels`, { key: `CH${i}`, name: `C${i}`, unit: 'V' }), 'channel').id);
  }
  ok(await c.put(`/api/v1/devices/${dev}/selection`, { channel_ids: ch }), 'selection');
  const ingest = appClient(srv.url, app.credential);
  const DAY = 86400000000;
  const d0 = (Math.floor(Date.now() * 1000 / DAY) - 2) * DAY;
  const ts = Array.from({ length: 1440 }, (_, i) => d0 + i * 60000000);
  ok(await ingest.batch({ batch_id: 'a', channels: ch.map((id, k) => ({ id, t: ts, v: ts.map((_, i) => i + k) })) }), 'day');
  ok(await request(srv.url, 'POST', '/api/v1/test/compact'), 'compact');
  ok(await ingest.batch({ batch_id: 'b', channels: [{ id: ch[0], t: [ts[5] + 1], v: [-1] }] }), 'hot row');
  await pg.psql(`UPDATE app_seen SET connection_seen = connected WHERE app_id = ${app.id}`, db);
  await stop();
  const argsOf = (n) => (n === 1 ? `(${ids.accountId})` :
    `(${ids.accountId}, '{${ch.join(',')}}', ${d0}, ${d0 + DAY}, ${d0 / DAY}, ${d0 / DAY})`);
  console.log(`account ${ids.accountId}, 8 channels, day ${d0 / DAY}: ` +
    await pg.psql(`SELECT count(*) FROM series_day WHERE account_id = ${ids.accountId}`, db) + ' day blocks, ' +
    await pg.psql(`SELECT count(*) FROM series_hot WHERE account_id = ${ids.accountId}`, db) + ' hot rows; stamp rows ' +
    await pg.psql(`SELECT count(*) FROM series_hot_count WHERE account_id = ${ids.accountId}`, db) + ' + 2');
  vg = await callgrindPostgres(pg, out);
  await formInstructions(pg, db, out, FORMS, argsOf, N);
  console.log(`load ${load()}, ${new Date().toISOString()}`);
} finally {
  if (vg) await vg.stop();
  await pg.destroy().catch(() => {});
  fs.rmSync(out, { recursive: true, force: true });
}
