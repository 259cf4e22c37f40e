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

const bk = path.join(root, 'scripts', 'bench-kept');
const env = { ...process.env };
execFileSync(bk, ['run', kind, '2'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
if (process.env.FOLD !== '0') {
  psql('ANALYZE');
  const r = await fetch(`${k.url}/api/v1/test/compact`, { method: 'POST' });
  if (r.status !== 200) throw new Error(`compact: ${r.status}`);
}
psql('SELECT pg_stat_statements_reset()');
const av0 = psql("SELECT relname, autovacuum_count, autoanalyze_count FROM pg_stat_all_tables WHERE autovacuum_count + autoanalyze_count > 0");
await new Promise((r) => setTimeout(r, 300)); // the psql backends above end
const c0 = snapshot();
const out = execFileSync(bk, ['cpu', kind, secs], { env: { ...env, WARM: '0', FOLD: '0' }, encoding: 'utf8' });
const c1 = snapshot();
process.stdout.write(out);
const reqs = Number(/\((\d+) requests/.exec(out)[1]);
const d = diff(c0, c1);
const us = (x) => ((x * 1e6) / reqs).toFixed(1);
const total = Object.values(d).reduce((a, b) => a + b, 0);
console.log(`PostgreSQL CPU a request by process kind (${reqs} requests): total ${us(total)} µs; ` +
  Object.entries(d).filter(([, v]) => Math.abs(v) > 0).sort((a, b) => b[1] - a[1])
    .map(([w, v]) => `${w} ${us(v)}`).join(', ') + ` (backends' system time ${us(sysBackends)})`);
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
