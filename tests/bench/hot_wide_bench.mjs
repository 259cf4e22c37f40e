// The cost to ingest of migration 057 (docs/benchmarks.md "readbench"): a
// hot row whose samples span more than 5 minutes also gets an entry in the
// partial index series_hot_account_wide. pgbench runs the statement of the
// server's db_hot_insert() (4 clients, 8 s a run) with rows spanning 4 and
// 10 minutes, alternated, 4 runs each, on a durable cluster with
// pg_tuning.conf whose schema the server put in place; PostgreSQL's CPU per
// row from /proc (every process of the cluster, the postmaster's reaped
// children included: read 1.5 s after each run).
//
//   METRON_SERVER_BIN=build/server/metron-server-test NODE_PATH=/usr/share/nodejs \
//     node tests/bench/hot_wide_bench.mjs
import fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { startPostgres, startServer, createAccount, pgBin, tempDir } from '../server/harness.mjs';
import { load } from './bench_util.mjs';
const dir = tempDir('metron-bench-wide-');
const pg = await startPostgres({ durable: true });
const url = await pg.createDatabase();
const db = new URL(url).pathname.slice(1);
const srv = await startServer({ databaseUrl: url });
const ids = await createAccount(srv.url, { account: 'wide', plan: 'pro', user: 'admin', password: 'Correct-h0rse', email: 'a@wide.test' });
await srv.stop();
const acc = ids.accountId;
const cpu = () => {
  let t = 0;
  for (const p of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${p}/cmdline`, 'utf8');
      if (!cmd.startsWith('postgres') && !cmd.includes('/postgres')) continue;
      const f = fs.readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1].split(' ');
      t += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    } catch { /* gone */ }
  }
  return t * 10; // ms
};
const payload = 'x'.repeat(24 * 32 * 2);
for (const [name, span] of [['narrow', 240e6], ['wide', 600e6]]) {
  fs.writeFileSync(path.join(dir, `${name}.sql`),
    `\\set t random(1000000000, 9000000000)\n` +
    `INSERT INTO series_hot (account_id, t_min, t_max, n, payload) SELECT a.id, :t::bigint * 1000, :t::bigint * 1000 + ${span}, 64, convert_to('${payload}', 'UTF8') FROM accounts a WHERE a.id = ${acc} FOR KEY SHARE OF a;\n`);
}
for (let r = 0; r < 4; r++) {
  for (const name of (r % 2 ? ['wide', 'narrow'] : ['narrow', 'wide'])) {
    const before = load();
    await new Promise((r) => setTimeout(r, 1500));
    const c0 = cpu();
    const o = execFileSync(`${pgBin}/pgbench`, ['-n', '-f', path.join(dir, `${name}.sql`), '-c', '4', '-j', '2', '-T', '8',
      '-h', '127.0.0.1', '-p', String(pg.port), '-U', 'postgres', db], { encoding: 'utf8' });
    await new Promise((r) => setTimeout(r, 1500));
    const c1 = cpu();
    const n = Number(/number of transactions actually processed: (\d+)/.exec(o)[1]);
    const tps = /tps = ([\d.]+)/.exec(o)[1];
    console.log(`${name} run ${r}: ${n} rows, ${tps} tps, PostgreSQL CPU ${((c1 - c0) * 1000 / n).toFixed(1)} µs/row (load ${before})`);
  }
}
console.log(`series_hot_account_wide ${await pg.psql(`SELECT pg_size_pretty(pg_relation_size('series_hot_account_wide'))`, db)}; ` +
  `${await pg.psql('SELECT count(*) FROM series_hot', db)} hot rows`);
console.log(await pg.durability());
await pg.destroy();
fs.rmSync(dir, { recursive: true, force: true });
