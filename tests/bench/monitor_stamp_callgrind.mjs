// What the monitor's statements cost in PostgreSQL's instructions (issue 16,
// stamp; docs/benchmarks.md "The monitor's read skipped when nothing
// changed"): the values read as before (mt_monitor_read()), the same read
// with the account's change stamp (series_read_monitor()'s statement since
// 086) and the stamp alone (the pre-check of kept values). A cluster of
// pg_tuning.conf's settings, migrated by METRON_SERVER_BIN, a group of 32
// channels and one app with its values folded into channel_latest and a
// newer hot row (the mix's monitored group), then started under valgrind
// --tool=callgrind (each backend counted whole, in a file of its own); one
// psql session per figure PREPAREs a form and EXECUTEs it BENCH_STATEMENTS
// (2,000) times, one the same with 0, twice: instructions a statement =
// (Ir(N) - Ir(0)) / N, the protocol's round trip of each EXECUTE included.
// Needs valgrind.
//
//   METRON_SERVER_BIN=$PWD/build/server/metron-server-test node tests/bench/monitor_stamp_callgrind.mjs
import { STAMP_PRE, STAMP_PRE_START, STAMP_ROWS, benchGateway, formBench, ok } from './hot_bench_db.mjs';
import { request } from '../server/harness.mjs';

const N = Number(process.env.BENCH_STATEMENTS || 2000);

// The stamp's rows as 086 first read them (STAMP_ROWS_086: a branch of the
// UNION ALL each for account_changes and the postmaster's start); as the
// server reads them now: hot_bench_db.mjs's STAMP_ROWS.
const STAMP_ROWS_086 = `SELECT -1 - k.shard::bigint, k.xmin::text::bigint, NULL::boolean, NULL::timestamptz,
  k.n::float8, NULL::smallint, NULL::bytea FROM series_hot_count k WHERE k.account_id = $1
UNION ALL SELECT -100, c.xmin::text::bigint, NULL, NULL, c.v::float8, NULL, NULL
  FROM account_changes c WHERE c.account_id = $1
UNION ALL SELECT -101, (extract(epoch FROM pg_postmaster_start_time()) * 1000000)::bigint,
  NULL, NULL, 0, NULL, NULL`;
const READ = `SELECT * FROM mt_monitor_read($1::bigint, $2::bigint[], $3::bigint[], $4::integer,
  $5::bigint, $6::bigint)`;
const FORMS = {
  read: { text: READ, args: 6 },
  stamped: { text: `${READ} UNION ALL ${STAMP_ROWS}`, args: 6 },
  stamp: { text: STAMP_PRE.replaceAll('$1', '$1::bigint'), args: 1 },
  stamp_start: { text: STAMP_PRE_START.replaceAll('$1', '$1::bigint'), args: 1 },
  stamp_49caacc: { text: STAMP_ROWS.replaceAll('$1', '$1::bigint'), args: 1 },
};
// Candidates (BENCH_ALL=1): the smallest statement, the stamp's parts, and
// 086's first form.
if (process.env.BENCH_ALL) {
  Object.assign(FORMS, {
    one: { text: 'SELECT $1::bigint', args: 1 },
    counters: { text: 'SELECT -1 - k.shard::bigint, k.xmin::text::bigint, k.n FROM series_hot_count k ' +
      'WHERE k.account_id = $1::bigint', args: 1 },
    stamp_086: { text: STAMP_ROWS_086.replaceAll('$1', '$1::bigint'), args: 1 },
    stamped_086: { text: `${READ} UNION ALL ${STAMP_ROWS_086}`, args: 6 },
    // 086's form with 087's rights version (main f0e2946).
    stamp_f0e2946: { text: `${STAMP_ROWS_086} UNION ALL SELECT -102, r.v, NULL, NULL, 0, NULL, NULL
  FROM account_rights r WHERE r.account_id = $1`.replaceAll('$1', '$1::bigint'), args: 1 },
  });
}

await formBench('stamp', FORMS, N, async ({ pg, db, srv }) => {
  const { ids, app, ch, ingest } = await benchGateway(srv.url, 'cgstamp', 32);
  const t0 = (Math.floor(Date.now() / 60000) - 60) * 60000000;
  ok(await ingest.batch({ batch_id: 'a', snapshots: [{ t: t0, ids: ch, v: ch.map((_, i) => i) }] }), 'batch');
  ok(await request(srv.url, 'POST', '/api/v1/test/compact'), 'compact');
  ok(await ingest.batch({ batch_id: 'b', snapshots: [{ t: t0 + 60000000, ids: ch, v: ch.map((_, i) => i + 1) }] }), 'batch');
  // A change of app_seen outside ingest: the account's account_changes row.
  await pg.psql(`UPDATE app_seen SET connection_seen = connected WHERE app_id = ${app.id}`, db);
  const lo = Math.min(...ch), hi = Math.max(...ch);
  const argsOf = (n) => (n === 1 ? `(${ids.accountId})` :
    `(${ids.accountId}, '{${app.id}}', '{${ch.join(',')}}', 2, ${lo}, ${hi})`);
  console.log(`account ${ids.accountId}, app ${app.id}, 32 channels ${lo}..${hi}; stamp rows: ` +
    await pg.psql(`SELECT count(*) FROM series_hot_count WHERE account_id = ${ids.accountId}`, db) + ' + ' +
    await pg.psql(`SELECT count(*) FROM account_changes WHERE account_id = ${ids.accountId}`, db) + ' + 1');
  return argsOf;
});
