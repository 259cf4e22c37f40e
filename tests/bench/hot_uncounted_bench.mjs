// What one statement inserting N hot rows costs when it does not name
// "counted" (a tool, a test, a server of before 069 during a rolling
// restart: the rows are counted by the database's triggers, 069 and 081)
// beside the same rows inserted as the server inserts them (counted = true
// and one update of the account's counter in the same statement);
// docs/benchmarks.md "hotlog", docs/storage.md "The hot samples counted for
// the quota".
//
// Its own PostgreSQL cluster, durable (server/db/pg_tuning.conf; fsync,
// synchronous_commit, full_page_writes on) unless BENCH_DURABLE=0, migrated
// by METRON_SERVER_BIN (so the "before" of a migration is a build without
// it); BENCH_SQL names a file of SQL run after that (a candidate). For each
// N of BENCH_NS (1000,4000,16000,64000) and each way of BENCH_MODES
// (uncounted,counted), BENCH_REPEATS times (1): one INSERT ... SELECT of N
// rows of one sample for one account (BENCH_ACCOUNTS accounts: the rows
// spread over them in turn), in its own transaction; its wall time (psql's
// \timing), its backend's CPU (/proc, user + system), the counters checked against the sum over
// the hot rows, then the rows deleted and the tables vacuumed.
//
//   METRON_SERVER_BIN=$PWD/build/server/metron-server-test node tests/bench/hot_uncounted_bench.mjs
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pgBin, serverBin, startPostgres } from '../server/harness.mjs';
import { load } from './bench_util.mjs';
import { quietServer } from './hot_bench_db.mjs';

const NS = (process.env.BENCH_NS || '1000,4000,16000,64000').split(',').map(Number);
const MODES = (process.env.BENCH_MODES || 'uncounted,counted').split(',');
const REPEATS = Number(process.env.BENCH_REPEATS || 1);
const ACCOUNTS = Number(process.env.BENCH_ACCOUNTS || 1);

const pg = await startPostgres({ durable: process.env.BENCH_DURABLE !== '0' });
try {
  const db = 'hotlog';
  const { stop } = await quietServer(pg, db);
  await stop();
  const sql = (q) => pg.psql(q, db);
  if (process.env.BENCH_SQL) {
    await sql(fs.readFileSync(process.env.BENCH_SQL, 'utf8'));
  }
  console.log(`server ${serverBin}, migrations up to ${await sql('SELECT max(version) FROM schema_migrations')}` +
    (process.env.BENCH_SQL ? `, then ${process.env.BENCH_SQL}` : ''));
  console.log('PostgreSQL:', await pg.durability());
  console.log('triggers on series_hot:', (await sql(`SELECT string_agg(tgname, ', ' ORDER BY tgname)
    FROM pg_trigger WHERE tgrelid = 'series_hot'::regclass AND NOT tgisinternal`)));
  await sql(`INSERT INTO accounts (login_id, name, plan) SELECT 'hl' || g, 'Hot ' || g, 'free'
    FROM generate_series(1, ${ACCOUNTS}) g`);
  const ids = (await sql(`SELECT string_agg(id::text, ',' ORDER BY id) FROM accounts
    WHERE login_id LIKE 'hl%'`));
  const idArr = `ARRAY[${ids}]::bigint[]`;
  const rows = (n) => `SELECT (${idArr})[1 + g % ${ACCOUNTS}] AS a, 1000000000000 + g * 1000000 AS x
    FROM generate_series(1, ${n}::bigint) g`;
  const stmt = {
    uncounted: (n) => `INSERT INTO series_hot (account_id, t_min, t_max, n, payload)
      SELECT a, x, x, 1, decode(repeat('00', 24), 'hex') FROM (${rows(n)}) s`,
    counted: (n) => `WITH hot AS (INSERT INTO series_hot (account_id, t_min, t_max, n, payload, counted)
        SELECT a, x, x, 1, decode(repeat('00', 24), 'hex'), true FROM (${rows(n)}) s
        RETURNING account_id, n)
      INSERT INTO series_hot_count AS c (account_id, shard, n)
      SELECT account_id, 0, sum(n) FROM hot GROUP BY account_id ORDER BY account_id
      ON CONFLICT (account_id, shard) DO UPDATE SET n = c.n + excluded.n`,
  };
  // One psql session: the statement's backend is known, and its CPU read
  // from /proc around each statement (user + system, 10 ms ticks).
  const sess = spawn(path.join(pgBin, 'psql'), ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1',
    '-h', '127.0.0.1', '-p', String(pg.port), '-U', 'postgres', '-d', db], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  sess.stdout.on('data', (d) => { out += d; });
  sess.stderr.on('data', (d) => { err += d; });
  let marks = 0;
  const run = async (text) => {
    const mark = `--done ${++marks}--`;
    const from = out.length;
    sess.stdin.write(`${text}${text.startsWith('\\') ? '' : ';'}\n\\echo '${mark}'\n`);
    while (!out.includes(mark, from)) {
      if (sess.exitCode !== null || err) throw new Error(`psql: ${err}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    return out.slice(from, out.indexOf(mark, from));
  };
  const backend = Number((await run('SELECT pg_backend_pid()')).trim());
  await run('\\timing on');
  const cpuOfBackend = () => {
    const f = fs.readFileSync(`/proc/${backend}/stat`, 'utf8');
    const st = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return (Number(st[11]) + Number(st[12])) / 100;
  };
  const results = [];
  for (const n of NS) {
    for (let r = 0; r < REPEATS; r++) {
      for (const mode of MODES) {
        await pg.psqlEach(['VACUUM series_hot, series_hot_count', 'CHECKPOINT'], db);
        const l = load();
        const c0 = cpuOfBackend();
        const got = await run(stmt[mode](n));
        const cpu = cpuOfBackend() - c0;
        const ms = Number(/Time: ([\d.]+) ms/.exec(got)[1]);
        const check = await sql(`SELECT (SELECT COALESCE(sum(n), 0) FROM series_hot) || '/' ||
          (SELECT COALESCE(sum(n), 0) FROM series_hot_count) || '/' ||
          (SELECT count(*) FROM series_hot WHERE NOT counted)`);
        const [summed, counted, unmarked] = check.split('/').map(Number);
        if (summed !== n || counted !== n || unmarked !== 0) {
          throw new Error(`${mode} ${n}: hot rows sum ${summed}, counters ${counted}, unmarked ${unmarked}`);
        }
        console.log(`${mode.padEnd(9)} N=${String(n).padStart(6)}: ${ms.toFixed(1).padStart(9)} ms wall, ` +
          `backend CPU ${(cpu * 1000).toFixed(0).padStart(6)} ms, ${(ms * 1000 / n).toFixed(1)} µs a row ` +
          `(load ${l}; counters exact)`);
        results.push({ mode, n, ms, cpu });
        await sql('DELETE FROM series_hot');
      }
    }
  }
  sess.stdin.end();
  console.log(`load at the end ${load()}, ${new Date().toISOString()}`);
  console.log('\n| N | ' + MODES.map((m) => `${m} wall / backend CPU`).join(' | ') + ' |');
  console.log('|---|' + MODES.map(() => '---|').join(''));
  for (const n of NS) {
    const cell = (m) => results.filter((x) => x.mode === m && x.n === n)
      .map((x) => `${x.ms.toFixed(0)} / ${(x.cpu * 1000).toFixed(0)} ms`).join(', ');
    console.log(`| ${n} | ${MODES.map(cell).join(' | ')} |`);
  }
} finally {
  await pg.destroy();
}
