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
import { STAMP_PRE, STAMP_ROWS, benchGateway, formBench, ok } from './hot_bench_db.mjs';
import { request } from '../server/harness.mjs';

const N = Number(process.env.BENCH_STATEMENTS || 2000);

// The stamp's pre-check as the server reads it (hot_bench_db.mjs's
// STAMP_PRE; STAMP_ROWS until precheck) and the administrator's check.
const FORMS = {
  one: { text: 'SELECT $1::bigint', args: 1 },
  versions: { text: `SELECT * FROM mt_raw_versions($1::bigint, $2::bigint[], $3::bigint, $4::bigint,
  $5::integer, $6::integer)`, args: 6 },
  stamp: { text: STAMP_PRE.replaceAll('$1', '$1::bigint'), args: 1 },
  stamp_49caacc: { text: STAMP_ROWS.replaceAll('$1', '$1::bigint'), args: 1 },
};

await formBench('rawstamp', FORMS, N, async ({ pg, db, srv }) => {
  const { ids, app, ch, ingest } = await benchGateway(srv.url, 'cgraw', 8);
  const DAY = 86400000000;
  const d0 = (Math.floor(Date.now() * 1000 / DAY) - 2) * DAY;
  const ts = Array.from({ length: 1440 }, (_, i) => d0 + i * 60000000);
  ok(await ingest.batch({ batch_id: 'a', channels: ch.map((id, k) => ({ id, t: ts, v: ts.map((_, i) => i + k) })) }), 'day');
  ok(await request(srv.url, 'POST', '/api/v1/test/compact'), 'compact');
  ok(await ingest.batch({ batch_id: 'b', channels: [{ id: ch[0], t: [ts[5] + 1], v: [-1] }] }), 'hot row');
  await pg.psql(`UPDATE app_seen SET connection_seen = connected WHERE app_id = ${app.id}`, db);
  const argsOf = (n) => (n === 1 ? `(${ids.accountId})` :
    `(${ids.accountId}, '{${ch.join(',')}}', ${d0}, ${d0 + DAY}, ${d0 / DAY}, ${d0 / DAY})`);
  console.log(`account ${ids.accountId}, 8 channels, day ${d0 / DAY}: ` +
    await pg.psql(`SELECT count(*) FROM series_day WHERE account_id = ${ids.accountId}`, db) + ' day blocks, ' +
    await pg.psql(`SELECT count(*) FROM series_hot WHERE account_id = ${ids.accountId}`, db) + ' hot rows; stamp rows ' +
    await pg.psql(`SELECT count(*) FROM series_hot_count WHERE account_id = ${ids.accountId}`, db) + ' + 2');
  return argsOf;
});
