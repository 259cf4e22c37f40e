// PostgreSQL's work per request by round trip and by process kind (issue 16,
// docs/benchmarks.md "pgtrips"). On a kept set-up (scripts/bench-kept up with
// pg_stat_statements loaded and created, track=all):
//
//   KEEP=FILE node tests/bench/pg_trips.mjs KIND SECONDS [TOP]
//
// a 2 s warm-up (scripts/bench-kept run), ANALYZE and a compaction round
// (POST /api/v1/test/compact; FOLD=0 skips both), then
// pg_stat_statements_reset(), the CPU of every process of the cluster by
// kind (/proc/PID/stat: utime + stime; the postmaster's cutime + cstime for
// its children that ended meanwhile: autovacuum workers, closed backends),
// `WARM=0 FOLD=0 scripts/bench-kept cpu KIND SECONDS`, the CPU again, and
// pg_stat_statements' top-level statements (the round trips) and nested ones
// per request, the TOP (25) most called. KIND as scripts/bench-kept's ("" the
// mix). For the durable ceiling, KEEP names a copy of the kept file whose url
// and pid are a metron-bench-hello --db on the kept database (FOLD=0).
//
// SETTLE=S (autovac, docs/benchmarks.md "Autovacuum and the mix's churn"):
// the run's churn counted to its end. Before the run, VACUUM (ANALYZE) of
// the database (no earlier run's dead rows left for its autovacuum) and
// 10 s idle, measured (the server's jobs and PostgreSQL's own loops, by
// kind, per second); after it, the CPU by kind again at the run's end and
// once the run's churn has settled: the hot table empty (the kept set-up's
// compactor folds it: start it with METRON_COMPACT_MS=30000, as a service
// runs) and no autovacuum worker alive nor logged for S seconds (at most
// 600 s). Prints the CPU a request during the run, after it (with the
// idle rate over as long taken out) and both; per table the rows inserted,
// updated (heap-only), deleted and dead at the run's end, autovacuum's and
// autoanalyze's runs, and, from the cluster's log, each one's CPU (start
// the set-up with METRON_TEST_PG_OPTS="-c log_autovacuum_min_duration=0").
// FOLD_AFTER=1 (a set-up with its compactor stopped, bench-kept's default):
// the run's hot rows folded at once after it, that fold's CPU printed apart.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const HZ = 100;
const [kind = '', secs = '8', top = '25'] = process.argv.slice(2);
const k = JSON.parse(fs.readFileSync(process.env.KEEP, 'utf8'));
const kept = process.env.KEEP;

function psql(sql) {
  return execFileSync('psql', ['-X', '-q', '-A', '-t', '-F', '\t', k.db, '-c', sql], { encoding: 'utf8' });
}

function stat(pid) {
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return f.slice(f.lastIndexOf(')') + 2).split(' ');
  } catch { return null; }
}

function kindOf(pid) {
  let c = '';
  try { c = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim(); } catch { return null; }
  const m = /^postgres: (.*)$/.exec(c);
  if (!m) return 'other child';
  const t = m[1];
  for (const w of ['walwriter', 'checkpointer', 'background writer', 'autovacuum launcher', 'autovacuum worker',
    'logical replication launcher', 'walsender', 'stats collector', 'archiver']) {
    if (t.startsWith(w)) return w;
  }
  return 'backends';
}

/** CPU seconds by process kind; per pid too, so that a process that ended is
 * not counted as a negative (its time moves into the postmaster's cutime). */
function snapshot() {
  const pm = stat(k.pg_pid);
  const by = { postmaster: (Number(pm[11]) + Number(pm[12])) / HZ,
    'ended children': (Number(pm[13]) + Number(pm[14])) / HZ };
  const pids = {};
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const s = stat(d);
    if (!s || Number(s[1]) !== k.pg_pid) continue;
    const w = kindOf(d);
    if (!w) continue;
    pids[d] = { kind: w, t: (Number(s[11]) + Number(s[12])) / HZ, s: Number(s[12]) / HZ };
  }
  return { by, pids };
}

let sysBackends = 0;
function diff(a, b) {
  const out = { ...Object.fromEntries(Object.keys(b.by).map((x) => [x, b.by[x] - a.by[x]])) };
  for (const [pid, p] of Object.entries(b.pids)) {
    const t0 = a.pids[pid] ? a.pids[pid].t : 0; // started during the run
    out[p.kind] = (out[p.kind] || 0) + p.t - t0;
    if (p.kind === 'backends') sysBackends += p.s - (a.pids[pid] ? a.pids[pid].s : 0);
  }
  // A process of a, gone by b: its time before a was in its own line, and is
  // now in the postmaster's cutime as well; take it out of "ended children".
  for (const [pid, p] of Object.entries(a.pids)) {
    if (!b.pids[pid]) out['ended children'] -= p.t;
  }
  return out;
}

/** Per table (a TOAST table by its owner's name and "(toast)"): the
 * counters of pg_stat_all_tables that the churn moves. */
function tableStats() {
  const rows = psql(`SELECT coalesce(o.relname || ' (toast)', s.relname), s.n_tup_ins, s.n_tup_upd,
      s.n_tup_hot_upd, s.n_tup_del, s.n_dead_tup, s.autovacuum_count, s.autoanalyze_count
    FROM pg_stat_all_tables s LEFT JOIN pg_class o ON o.reltoastrelid = s.relid
    WHERE s.schemaname IN ('public', 'pg_toast')`);
  return Object.fromEntries(rows.trim().split('\n').filter(Boolean).map((l) => {
    const [r, ...v] = l.split('\t');
    return [r, v.map(Number)];
  }));
}

/** The autovacuum entries of the cluster's log (log_autovacuum_min_duration
 * = 0) from byte "from": per table and kind, runs, CPU, tuples removed, WAL. */
function avLog(from) {
  const text = fs.readFileSync(logFile, 'utf8').slice(from);
  const toast = Object.fromEntries(psql(`SELECT t.relname, o.relname FROM pg_class o
    JOIN pg_class t ON t.oid = o.reltoastrelid`).trim().split('\n').map((l) => l.split('\t')));
  const out = {};
  let cur = null;
  for (const line of text.split('\n')) {
    const m = /automatic (vacuum|analyze) of table "[^".]+\.([^".]+)\.([^"]+)"/.exec(line);
    if (m) {
      const name = m[2] === 'pg_toast' ? `${toast[m[3]] || m[3]} (toast)` : m[3];
      cur = out[`${name}\t${m[1]}`] ??= { runs: 0, cpu: 0, elapsed: 0, removed: 0, wal: 0, fpi: 0 };
      cur.runs++;
      continue;
    }
    if (!cur) continue;
    let n;
    if ((n = /CPU: user: ([0-9.]+) s, system: ([0-9.]+) s, elapsed: ([0-9.]+) s/.exec(line))) {
      cur.cpu += Number(n[1]) + Number(n[2]); cur.elapsed += Number(n[3]);
    } else if ((n = /tuples: (\d+) removed/.exec(line))) {
      cur.removed += Number(n[1]);
    } else if ((n = /WAL usage: (\d+) records, (\d+) full page images, (\d+) bytes/.exec(line))) {
      cur.wal += Number(n[3]); cur.fpi += Number(n[2]);
    } else if (!/^\s/.test(line)) cur = null;
  }
  return out;
}

/** SETTLE: wait for the run's churn to end, then print what it cost. */
async function settled() {
  const ms = settle * 1000;
  if (process.env.FOLD_AFTER === '1') {
    // A set-up whose compactor is stopped: the run's hot rows folded at once
    // (POST /api/v1/test/compact), its CPU by kind apart.
    const srvCpu = () => { const x = stat(k.pid); return (Number(x[11]) + Number(x[12])) / HZ; };
    const f0 = snapshot(); const w0 = Date.now(); const s0 = srvCpu();
    const r = await fetch(`${k.url}/api/v1/test/compact`, { method: 'POST' });
    if (r.status !== 200) throw new Error(`compact: ${r.status}`);
    const f1 = snapshot(); const s1 = srvCpu();
    sysBackends = 0;
    const f = diff(f0, f1);
    console.log(`the run's rows folded at once after it (${((Date.now() - w0) / 1000).toFixed(1)} s): ` +
      `PostgreSQL ${us(Object.values(f).reduce((a, b) => a + b, 0))} µs a request (${byKind(f)}); ` +
      `the server ${us(s1 - s0)} µs; ${(await r.text()).trim().slice(0, 200)}`);
  }
  let quiet = Date.now(); let hotEmpty = false; let lastHot = 0; let size = fs.statSync(logFile).size;
  const mid = tableStats();
  while (Date.now() - quiet < ms && Date.now() - runEnd < 600_000) {
    await sleep(1000);
    if (avWorkers()) quiet = Date.now();
    const sz = fs.statSync(logFile).size;
    if (sz !== size && /automatic (vacuum|analyze)/.test(fs.readFileSync(logFile, 'utf8').slice(size))) quiet = Date.now();
    size = sz;
    if (!hotEmpty && Date.now() - lastHot > 10_000) {
      lastHot = Date.now();
      hotEmpty = Number(psql('SELECT count(*) FROM series_hot')) === 0;
      if (!hotEmpty) quiet = Date.now();
    }
  }
  const c2 = snapshot();
  const waited = (Date.now() - runEnd) / 1000;
  sysBackends = 0;
  const after = diff(c1, c2);
  const net = Object.fromEntries(Object.entries(after).map(([w, v]) => [w, v - ((idle[w] || 0) / idleSecs) * waited]));
  const sum = (x) => Object.values(x).reduce((a, b) => a + b, 0);
  console.log(`idle, ${idleSecs.toFixed(1)} s before the run (CPU a second): ` +
    Object.entries(idle).filter(([, v]) => v > 0).map(([w, v]) => `${w} ${(v / idleSecs * 1e3).toFixed(1)} ms`).join(', '));
  console.log(`after the run, ${waited.toFixed(0)} s until settled (hot table ${hotEmpty ? 'empty' : 'NOT EMPTY'}, ` +
    `no autovacuum for ${settle} s): ${us(sum(after))} µs a request, less the idle rate ${us(sum(net))}; ` +
    `by kind less idle: ${byKind(net)}`);
  const all = Object.fromEntries(Object.keys({ ...d, ...net }).map((w) => [w, (d[w] || 0) + (net[w] || 0)]));
  console.log(`the run and its churn: ${us(sum(all))} µs a request (run ${us(total)} + after ${us(sum(net))}); ` +
    `autovacuum (workers and ended children, mostly workers) ${us((all['autovacuum worker'] || 0) + (all['ended children'] || 0))}`);
  const t2 = tableStats();
  console.log('table\tinserted\tupdated\tHOT upd\tdeleted\tdead at run end\tautovacuums\tautoanalyzes (all a run)');
  for (const [r, v] of Object.entries(t2)) {
    const a = t0[r] || v.map(() => 0);
    const dd = v.map((x, i) => x - a[i]);
    if (!dd.slice(0, 4).some(Boolean) && !dd[5] && !dd[6]) continue;
    console.log(`${r}\t${dd[0]}\t${dd[1]}\t${dd[2]}\t${dd[3]}\t${(mid[r] || [])[4] ?? '-'}\t${dd[5]}\t${dd[6]}`);
  }
  const L = avLog(log0);
  let cpu = 0;
  console.log('autovacuum log: table\tkind\truns\tCPU s\tµs a request\telapsed s\ttuples removed\tWAL kB (full pages)');
  for (const [key, e] of Object.entries(L).sort((a, b) => b[1].cpu - a[1].cpu)) {
    cpu += e.cpu;
    console.log(`${key}\t${e.runs}\t${e.cpu.toFixed(2)}\t${us(e.cpu)}\t${e.elapsed.toFixed(2)}\t${e.removed}\t` +
      `${(e.wal / 1024).toFixed(0)} (${e.fpi})`);
  }
  console.log(`autovacuum log, all: ${cpu.toFixed(2)} s of CPU, ${us(cpu)} µs a request (the log's 10 ms ticks)`);
}

const bk = path.join(root, 'scripts', 'bench-kept');
const env = { ...process.env };
execFileSync(bk, ['run', kind, '2'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
if (process.env.FOLD !== '0') {
  psql('ANALYZE');
  const r = await fetch(`${k.url}/api/v1/test/compact`, { method: 'POST' });
  if (r.status !== 200) throw new Error(`compact: ${r.status}`);
}
const settle = Number(process.env.SETTLE || 0);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const avWorkers = () => Object.values(snapshot().pids).filter((p) => p.kind === 'autovacuum worker').length;
let logFile = ''; let log0 = 0; let t0 = ''; let idle = null; let idleSecs = 0;
if (settle) {
  psql('VACUUM (ANALYZE)');
  while (avWorkers()) await sleep(500);
  logFile = path.join(psql('SHOW data_directory').trim(), 'log');
  t0 = tableStats();
}
psql('SELECT pg_stat_statements_reset()');
const av0 = psql("SELECT relname, autovacuum_count, autoanalyze_count FROM pg_stat_all_tables WHERE autovacuum_count + autoanalyze_count > 0");
await new Promise((r) => setTimeout(r, 300)); // the psql backends above end
if (settle) {
  const i0 = snapshot(); const w0 = Date.now();
  await sleep(10_000);
  const i1 = snapshot();
  idleSecs = (Date.now() - w0) / 1000;
  idle = diff(i0, i1);
  sysBackends = 0;
  log0 = fs.statSync(logFile).size;
}
const c0 = snapshot();
const out = execFileSync(bk, ['cpu', kind, secs], { env: { ...env, WARM: '0', FOLD: '0' }, encoding: 'utf8' });
const c1 = snapshot();
const runEnd = Date.now();
process.stdout.write(out);
const reqs = Number(/\((\d+) requests/.exec(out)[1]);
const d = diff(c0, c1);
const us = (x) => ((x * 1e6) / reqs).toFixed(1);
const total = Object.values(d).reduce((a, b) => a + b, 0);
const byKind = (x) => Object.entries(x).filter(([, v]) => Math.abs(v) > 0).sort((a, b) => b[1] - a[1])
  .map(([w, v]) => `${w} ${us(v)}`).join(', ');
console.log(`PostgreSQL CPU a request by process kind (${reqs} requests): total ${us(total)} µs; ` +
  byKind(d) + ` (backends' system time ${us(sysBackends)})`);
if (settle) await settled();
const av1 = psql("SELECT relname, autovacuum_count, autoanalyze_count FROM pg_stat_all_tables WHERE autovacuum_count + autoanalyze_count > 0");
const avMap = (s) => Object.fromEntries(s.trim().split('\n').filter(Boolean).map((l) => { const [r, v, a] = l.split('\t'); return [r, [Number(v), Number(a)]]; }));
const A0 = avMap(av0); const A1 = avMap(av1);
const avd = Object.entries(A1).map(([r, [v, a]]) => [r, v - (A0[r]?.[0] || 0), a - (A0[r]?.[1] || 0)]).filter(([, v, a]) => v || a);
console.log(`autovacuum during the run: ${avd.length ? avd.map(([r, v, a]) => `${r} vacuum ${v} analyze ${a}`).join(', ') : 'none'}`);
const rows = psql(`SELECT toplevel, calls, round(total_exec_time::numeric, 1), rows,
    regexp_replace(left(query, 110), '\\s+', ' ', 'g')
  FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat_%' AND query NOT LIKE '%pg_stat_statements%'
  ORDER BY toplevel DESC, calls DESC`).trim().split('\n').filter(Boolean).map((l) => l.split('\t'));
let tl = 0; let nested = 0;
for (const r of rows) (r[0] === 't' ? (tl += Number(r[1])) : (nested += Number(r[1])));
console.log(`round trips (top-level statements) a request: ${(tl / reqs).toFixed(3)}; nested statements ${(nested / reqs).toFixed(3)}`);
console.log('level\tcalls/req\texec µs/call\tquery');
for (const r of rows.slice(0, Number(top))) {
  console.log(`${r[0] === 't' ? 'top' : 'nest'}\t${(Number(r[1]) / reqs).toFixed(4)}\t${(Number(r[2]) * 1000 / Number(r[1])).toFixed(1)}\t${r[4]}`);
}
