// The ingest group statement's PostgreSQL instructions, variant against
// variant (grpstmt, issue 16; docs/benchmarks.md "The ingest group
// statement's PostgreSQL work"): CPU time per batch on this shared machine
// moves by ±20 % between runs of one binary, instruction counts do not.
//
// A cluster (server/db/pg_tuning.conf) with a database migrated by the
// server build (METRON_SERVER_BIN or the build's), a tenant and BENCH_APPS
// (100) apps of one account, every app seen just now (app_seen.last_seen_at
// a day ahead: the seen note writes nothing, as for the route mix's busy
// apps), then stopped. For each variant, a copy of its data directory runs
// `postgres --single` under callgrind: the statement PREPAREd (as the
// server's, db_series.c), BENCH_WARM groups stored, then BENCH_GROUPS
// groups of BENCH_GROUP batches of 32 samples from the apps in turn, each
// EXECUTE its own transaction (commit and WAL flush included; the kernel's
// work is not counted). Printed per variant: instructions per batch of the
// whole execution (the difference between a run with and without the
// measured groups) and of the executor alone (ExecutorStart, Run, Finish
// and End: no parameter input, no commit); BENCH_ALL=0: the executor's
// alone. BENCH_GROUP may be a list ("1 3 5 10 20"): each variant is then
// measured at each group size, and its instructions per group are fitted
// (least squares) as a fixed part per group plus a part per batch (grpfixed:
// what a group costs whatever its size). The plan is the generic one (plan_cache_mode=force_generic_plan),
// as the server's statement gets (db_series.c; EXECUTE of text literals
// here made PostgreSQL plan each one anew). BENCH_KEEP_OUT=PREFIX keeps
// callgrind's files (PREFIX-TOGGLE-N) for callgrind_annotate.
//
// A database of many tenants (grpseen): BENCH_ACCOUNTS (1) accounts share
// the BENCH_APPS apps in turn (the tenant's first), and the groups' batches
// come from the tenant's apps alone; BENCH_ANALYZE=0 leaves the statistics
// of `apps` and `app_seen` as the migrated database had them (autovacuum off
// on both before the apps are made; no VACUUM ANALYZE). BENCH_EXPLAIN=1
// prints each variant's generic plan (EXPLAIN of one group, plan_cache_mode
// force_generic_plan), BENCH_EXPLAIN=analyze with its rows (EXPLAIN ANALYZE
// in a transaction rolled back, before the measured runs).
//
// Variants: BENCH_VARIANTS, separated by "|", each "NAME=FILE[#STMT][@SQL]":
// FILE a db_series.c ("" for the worktree's), STMT the statement taken from
// it (BENCH_STMT, st_store_group, if none), SQL
// statements run before the PREPARE (a schema changed for that variant).
//
//   BENCH_VARIANTS='main=/tmp/main/db_series.c|new=' node tests/bench/grpstmt_callgrind.mjs
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot, startPostgres } from '../server/harness.mjs';
import { dataTenant } from '../server/data_helpers.mjs';
import { quietServer } from './hot_bench_db.mjs';

const GROUP_SIZES = String(process.env.BENCH_GROUP || 11).trim().split(/[\s,]+/).map(Number);
let GROUP = GROUP_SIZES[0];
const WARM = Number(process.env.BENCH_WARM || 10);
const GROUPS = Number(process.env.BENCH_GROUPS || 40);
const N_APPS = Number(process.env.BENCH_APPS || 100);
const ALL = process.env.BENCH_ALL !== '0';
const N_ACCOUNTS = Number(process.env.BENCH_ACCOUNTS || 1);
const ANALYZE = process.env.BENCH_ANALYZE !== '0';
const EXPLAIN = process.env.BENCH_EXPLAIN || '';
// The executor's four calls: the statement's work without the parameters'
// input (text here, binary from the server) and without the commit.
const EXECUTOR = 'ExecutorStart,ExecutorRun,ExecutorFinish,ExecutorEnd';
const POSTGRES = '/usr/lib/postgresql/15/bin/postgres';
// The statement measured (BENCH_STMT): st_store_group, or the group
// statement without alarm groups (st_store_group_plain).
const STMT = process.env.BENCH_STMT || 'st_store_group';

// The macros the statement's text uses (server/db/*.h).
const MACROS = { DB_HOT_SHARD_SQL: '(pg_backend_pid() % 16 + 1)' };

/** The text of statement "name" (st_store_group) in the C file "file",
 * its macros expanded (those #defined in the file and MACROS; a macro of
 * one argument, NAME(ARG), called with a string literal). */
function groupStatement(file, name = STMT) {
  const src = fs.readFileSync(file, 'utf8');
  const defs = { ...MACROS };
  for (const m of src.matchAll(/^#define ([A-Z_][A-Z0-9_]*)(?:\(([A-Z_][A-Z0-9_]*)\))?[ \t]+((?:.*\\\n)*.*)$/gm)) {
    const body = m[3].replace(/\\\n/g, '\n');
    if (body.trim().startsWith('"')) defs[m[1]] = m[2] ? { arg: m[2], body } : body;
  }
  const expand = (body, args = {}) => {
    let out = '';
    for (const m of body.matchAll(/"((?:[^"\\]|\\.)*)"|([A-Z_][A-Z0-9_]*)(?:\("((?:[^"\\]|\\.)*)"\))?/g)) {
      if (m[1] !== undefined) out += m[1].replace(/\\"/g, '"').replace(/\\\\/g, '\\');
      else if (args[m[2]] !== undefined) out += args[m[2]];
      else if (MACROS[m[2]]) out += MACROS[m[2]];
      else if (typeof defs[m[2]] === 'string') out += expand(defs[m[2]]);
      else if (defs[m[2]] && m[3] !== undefined) out += expand(defs[m[2]].body, { [defs[m[2]].arg]: m[3] });
      else throw new Error(`${file}: macro ${m[2]} unknown`);
    }
    return out;
  };
  const i = src.indexOf(`static db_stmt ${name} = {"`);
  if (i < 0) throw new Error(`${file}: no ${name}`);
  const start = src.indexOf(',', src.indexOf('{"', i)) + 1;
  return expand(src.slice(start, src.indexOf(', 0};', i)));
}

const variants = (process.env.BENCH_VARIANTS || 'main=').split('|').map((v) => {
  const eq = v.indexOf('=');
  const [fileStmt, sql] = v.slice(eq + 1).split('@');
  const [file, stmt] = fileStmt.split('#');
  return { name: v.slice(0, eq), file: file || path.join(repoRoot, 'server/store/db_series.c'), stmt: stmt || STMT,
    sql: sql || '' };
});

function arr(xs) {
  return `'{${xs.join(',')}}'`;
}

/** The statement's parameters in order: main's until grpstmt2 (twelve: the
 * payload last), or grpstmt2's (the payload ninth, after the arrays every
 * group needs; no lengths: each batch's bytes are 24 x its count; the alarm
 * groups' two arrays last, which st_store_group_plain does not take). */
function layout(stmt) {
  if (/\$12::bytea/.test(stmt)) return ['acc', 'app', 'bid', 'n', 't', 't', 'off', 'len', 'ip', 'grp', 'seq', 'payload'];
  const max = Math.max(...[...stmt.matchAll(/\$(\d+)/g)].map((m) => Number(m[1])));
  return ['acc', 'app', 'bid', 'n', 't', 't', 'off', 'ip', 'payload', 'grp', 'seq'].slice(0, max);
}

/** The EXECUTEs of groups [g0, g1) (text arrays; the payload in hex), the
 * parameters in the order of "names" (layout()). */
// The batches' first time: three hours ago, the same for every variant.
const T0 = (Math.floor(Date.now() / 1e3) - 3 * 3600) * 1e6;

function executes(apps, account, g0, g1, names) {
  let s = '';
  for (let g = g0; g < g1; g++) {
    const acc = [], app = [], bid = [], n = [], t = [], off = [], len = [], ip = [], grp = [], seq = [];
    const payload = [];
    for (let i = 0; i < GROUP; i++) {
      const k = g * GROUP + i;
      const ts = T0 + k * 1000;
      acc.push(account); app.push(apps[k % apps.length]); bid.push(`"cg-${k}"`); n.push(32);
      t.push(ts); off.push(i * 768); len.push(768); ip.push('"127.0.0.1"'); grp.push('NULL'); seq.push(0);
      const b = Buffer.alloc(768);
      for (let j = 0; j < 32; j++) {
        b.writeBigInt64LE(BigInt(j + 1), j * 24);
        b.writeBigInt64LE(BigInt(ts), j * 24 + 8);
        b.writeDoubleLE(20 + ((k + j) % 100) / 10, j * 24 + 16);
      }
      payload.push(b.toString('hex'));
    }
    const v = { acc: arr(acc), app: arr(app), bid: arr(bid), n: arr(n), t: arr(t), off: arr(off), len: arr(len),
      ip: arr(ip), grp: arr(grp), seq: arr(seq), payload: `'\\x${payload.join('')}'` };
    s += `EXECUTE s(${names.map((x) => v[x]).join(', ')});\n\n`;
  }
  return s;
}

/** Least squares of instructions per group against batches per group:
 * { fixed (a group), slope (a batch) }. */
function fit(pts) {
  const n = pts.length;
  const mx = pts.reduce((s, [x]) => s + x, 0) / n;
  const my = pts.reduce((s, [, y]) => s + y, 0) / n;
  const sxx = pts.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  const slope = pts.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0) / sxx;
  return { fixed: my - slope * mx, slope };
}

// PostgreSQL runs as its own user (as the harness starts it).
const ids = process.getuid() === 0
  ? { uid: Number(execFileSync('id', ['-u', 'postgres'])), gid: Number(execFileSync('id', ['-g', 'postgres'])) }
  : {};

let keptOuts = 0;

function callgrind(dataDir, db, script, toggle) {
  const out = path.join(path.dirname(dataDir), 'callgrind.out');
  const args = ['--tool=callgrind', `--callgrind-out-file=${out}`];
  if (toggle) args.push('--collect-atstart=no', ...toggle.split(',').map((f) => `--toggle-collect=${f}`));
  const r = spawnSync('valgrind', [...args, POSTGRES, '--single', '-j', '-D', dataDir, '-c', 'fsync=on',
    '-c', 'wal_compression=lz4', '-c', 'plan_cache_mode=force_generic_plan', db], { input: script, maxBuffer: 1 << 28, cwd: path.dirname(dataDir), ...ids });
  const err = `${r.stdout}${r.stderr}`;
  if (r.status !== 0 || /ERROR:/.test(err)) throw new Error(`postgres --single: ${err.slice(-3000)}`);
  const summary = fs.readFileSync(out, 'utf8').match(/^summary: (\d+)/m) ||
    fs.readFileSync(out, 'utf8').match(/^totals: (\d+)/m);
  if (process.env.BENCH_KEEP_OUT) fs.copyFileSync(out, `${process.env.BENCH_KEEP_OUT}-${toggle ? 'exec' : 'all'}-${keptOuts++}`);
  fs.rmSync(out);
  return Number(summary[1]);
}

const pg = await startPostgres({ durable: true });
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'grpstmt-cg-'));
if (ids.uid !== undefined) fs.chownSync(work, ids.uid, ids.gid);
try {
  const db = 'grpcg';
  const { srv, stop } = await quietServer(pg, db);
  const t = await dataTenant(srv, { plan: 'pro', n: 2 });
  await stop();
  const sql = (q) => pg.psql(q, db);
  let accounts = [t.id];
  if (N_ACCOUNTS > 1) {
    accounts = accounts.concat((await sql(`WITH a AS (INSERT INTO accounts (login_id, name, plan, licence_expires_at)
        SELECT 'cg' || g, 'cg' || g, 'pro', now() + interval '1 year'
        FROM generate_series(2, ${N_ACCOUNTS}) g RETURNING id)
      SELECT string_agg(id::text, ',' ORDER BY id) FROM a`)).split(',').map(Number));
  }
  if (!ANALYZE) await sql('ALTER TABLE apps SET (autovacuum_enabled = false); ' +
    'ALTER TABLE app_seen SET (autovacuum_enabled = false)');
  // The apps of each account in turn: the tenant's first, then the others'.
  const made = (await sql(`WITH a AS (INSERT INTO apps (account_id, kind, name)
      SELECT (ARRAY[${accounts.join(',')}]::bigint[])[g % ${N_ACCOUNTS} + 1], 'one', 'cg' || g
      FROM generate_series(0, ${N_APPS - 1}) g RETURNING account_id, id)
    SELECT string_agg(id::text, ',' ORDER BY id) FROM a WHERE account_id = ${t.id}`)).split(',').map(Number);
  const apps = made;
  await sql(`UPDATE app_seen SET last_seen_at = now() + interval '1 day', connected = true,
    connected_at = now(), connection_cause = 'data', connection_seen = true`);
  await sql(ANALYZE ? 'VACUUM ANALYZE' : 'CHECKPOINT');
  console.log(`${N_APPS} apps of ${N_ACCOUNTS} account(s), ${apps.length} of the groups' account; statistics: ` +
    (await sql(`SELECT string_agg(relname || ' ' || reltuples || ' rows ' || relpages || ' pages', ', ' ORDER BY relname)
      FROM pg_class WHERE relname IN ('apps', 'app_seen')`)));
  if (EXPLAIN) {
    for (const v of variants) {
      const stmt = groupStatement(v.file, v.stmt);
      GROUP = GROUP_SIZES[0];
      const exec = executes(apps, t.id, 1e6, 1e6 + 1, layout(stmt)).trim().replace(/;$/, '');
      const script = `${v.sql ? `${v.sql};\n` : ''}SET plan_cache_mode = force_generic_plan;\n` +
        `PREPARE s AS ${stmt};\nBEGIN;\n` +
        `EXPLAIN (${EXPLAIN === 'analyze' ? 'ANALYZE, TIMING off, ' : ''}COSTS off, SUMMARY off) ${exec};\nROLLBACK;\n`;
      const r = spawnSync('/usr/lib/postgresql/15/bin/psql', ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1',
        '-h', '127.0.0.1', '-p', String(pg.port), '-U', 'postgres', '-d', db, '-f', '-'],
      { input: script, maxBuffer: 1 << 26 });
      if (r.status !== 0) throw new Error(`EXPLAIN: ${r.stderr}`);
      console.log(`${v.name}: the generic plan of a group of ${GROUP}\n${r.stdout}`);
    }
  }
  await pg.stop();
  console.log(`groups of ${GROUP_SIZES.join(', ')} batches of 32 samples from ${N_APPS} apps; ${WARM} groups, then ` +
    `${GROUPS} measured; instructions per batch (callgrind, postgres --single)`);
  for (const v of variants) {
    const stmt = groupStatement(v.file, v.stmt);
    const fits = { exec: [], all: [] };
    for (const g of GROUP_SIZES) {
      GROUP = g;
      const warm = executes(apps, t.id, 0, WARM, layout(stmt));
      const measured = executes(apps, t.id, WARM, WARM + GROUPS, layout(stmt));
      const head = `${v.sql ? v.sql.split(';').filter((x) => x.trim()).map((x) => `${x};\n\n`).join('') : ''}` +
        `PREPARE s AS ${stmt};\n\n`;
      const counts = [];
      const runs = [[head + warm, EXECUTOR], [head + warm + measured, EXECUTOR]];
      if (ALL) runs.push([head + warm, null], [head + warm + measured, null]);
      for (const [script, toggle] of runs) {
        const dir = path.join(work, 'data');
        fs.rmSync(dir, { recursive: true, force: true });
        execFileSync('cp', ['-a', pg.dir, dir]);
        fs.rmSync(path.join(dir, 'postmaster.pid'), { force: true });
        counts.push(callgrind(dir, db, script, toggle));
      }
      const per = (a, b) => (b - a) / (GROUPS * GROUP);
      fits.exec.push([g, per(counts[0], counts[1]) * g]);
      if (ALL) fits.all.push([g, per(counts[2], counts[3]) * g]);
      console.log(`${v.name.padEnd(12)} ${GROUP_SIZES.length > 1 ? `groups of ${String(g).padStart(2)}: ` : ''}` +
        `${Math.round(per(counts[0], counts[1])).toLocaleString('en')} in ` +
        `the executor${ALL ? `, ${Math.round(per(counts[2], counts[3])).toLocaleString('en')} all` : ''}`);
    }
    if (GROUP_SIZES.length > 1) {
      for (const [what, pts] of Object.entries(fits)) {
        if (!pts.length) continue;
        const { fixed, slope } = fit(pts);
        console.log(`${v.name.padEnd(12)} ${what === 'exec' ? 'the executor' : 'all'}: ${Math.round(fixed).toLocaleString('en')} ` +
          `a group + ${Math.round(slope).toLocaleString('en')} a batch (least squares over ${pts.length} sizes)`);
      }
    }
  }
} finally {
  await pg.destroy();
  fs.rmSync(work, { recursive: true, force: true });
}
