// The SQL functions the server reads samples through (issue 16,
// docs/benchmarks.md "readbench"): mt_ser_read(), mt_hot_read() (052, 054),
// mt_raw_read() and mt_raw_versions() (049, 053), on the index of 055, and
// a member's statements that call them (ser_read_seen, ser_vers_seen) or
// check the channels alone (ser_visible), with the visibility rules
// (DB_CHANNELS_VISIBLE) read from the server's source. scripts/bench-reads
// runs this file.
//
//   node tests/bench/read_bench.mjs            the figures and the trap check
//   node tests/bench/read_bench.mjs md5 [FILE.sql ...]
//                                              the rows-identity check: an md5
//                                              of every row each function
//                                              returns over many windows and
//                                              channel sets; with FILE.sql
//                                              (a candidate migration), the
//                                              same again after applying it
//                                              to the same data, and a
//                                              non-zero exit when they differ
//   node tests/bench/read_bench.mjs quick      the trap check alone on a small
//                                              set-up, not durable (tests/server/
//                                              read_plans.test.mjs runs it)
//   node tests/bench/read_bench.mjs full|quick FILE.sql ...
//                                              the same with FILE.sql (a
//                                              candidate migration) applied
//                                              after the set-up
//
// Set-up, all through the server's own paths: a durable PostgreSQL 15
// cluster with the settings of server/db/pg_tuning.conf (harness.mjs
// startPostgres({ durable: true }); BENCH_PG=fast turns durability off and
// says so), metron-server applies the migrations; account 1 gets 32
// channels (the API), a year of one-minute samples back-filled through
// POST /api/v1/ingest/batches (10 days of one channel a batch) and folded
// into day blocks by the server's compactor (POST /api/v1/test/compact);
// then BENCH_HOT_ROWS (40,000) everyday batches of the 32 channels' samples
// at one second apart, each one hot row, from midnight of the benchmark's
// "today" (the day D chosen so that its rows are not in the future; the
// year of blocks is the 365 days before it). Account 2 has 4 channels, 5
// days of blocks and 10 hot rows of D (another account's channels and
// rows). A member of account 1 (a user of role member) is granted the
// group of its app, so sees all 32 channels. Autovacuum is off on series_hot (its plans are what the trap
// check is about); the rest is VACUUM ANALYZEd before the figures. The
// server's compactor runs a round when it starts (on the empty table) and
// then once an hour (METRON_COMPACT_MS), its jobs not at all
// (--jobs-interval 0): nothing folds hot rows while the benchmark runs (a
// restarted server would fold them at once).
//
// The figures. Each function as the server calls it (a prepared statement
// "SELECT * FROM mt_...($1, ...)" in one kept psql session), each call an
// `EXPLAIN (ANALYZE, TIMING OFF) EXECUTE ...` (no rows sent to the client:
// a year of blocks with bytes is 47 MB of hex otherwise), the backend's CPU
// (utime + stime of /proc/<pid>/stat) over at least BENCH_READ_CALLS (200)
// calls after 6 of warm-up, more until 0.4 s of CPU (ticks are 10 ms).
// Beside it, alternated, two rounds each, the ceiling:
//
//   the same rows read by a plain statement with the values written in
//   (no function, no SET clauses), so that PostgreSQL plans it afresh for
//   these values on each call: its best plan for them, partitions pruned
//   when planned, planning included; its hot rows bounded by the largest
//   span the account's rows have (known to the benchmark, not to a read).
//
// That is what the server would pay without a kept plan (serread's "not
// chosen": force_custom_plan), and the bound a kept plan should stay
// under; ratio = function / ceiling (below 1: the kept plan saves the
// planning; well above 1: the kept plan reads more than it needs). The
// cost of a trivial call through the same session (EXECUTE of SELECT 1) is
// printed too: every call pays it. Shared buffers per call (deterministic,
// unlike CPU) are printed beside both.
//
// A member's statements, prepared with the text the server sends
// (RAW_ROWS_SEEN of series_read.c, DB_CHANNELS_VISIBLE and
// DB_GROUPS_OF_USER of db_series.h, read from those files), over the same
// windows and channel sets; their ceiling the plain statement above with
// the visible ids worked out by the same rules, values written in
// (ANY(ARRAY(...)) in place of the ids). Their rows must be the
// administrator's read of the same channels (the member sees them all).
//
// The trap check ("generic-plan trap": a plan made while series_hot was
// small, kept once it has grown). All of account 1's hot rows but the
// first 33 are deleted (as a compaction round leaves the table: the
// indexes keep their depth), VACUUM ANALYZE; a kept session prepares and
// calls each function and a member's three statements 6 times; the rows
// are ingested again through the server (no ANALYZE); then the kept session's CPU and buffers per call
// against a fresh session's, alternated. It fails (exit 1) when a kept
// plan costs more than BENCH_TRAP_FACTOR (3) times the fresh session's
// buffers, or (full run) CPU. A control shows that the check can see the
// trap: a copy of mt_ser_read() without its enable_seqscan / enable_bitmapscan
// SET clauses (047's state) must cost many times more in the kept session
// (else the set-up does not make the trap and the check fails too).
//
// The many-tenant check (memberscale, after the trap check): other
// accounts added by SQL (tests/bench/tenants.mjs), BENCH_TENANTS / 10 and
// then BENCH_TENANTS (5,000; quick 1,000) in all; at each size a read of
// one channel must keep its plan (pg_prepared_statements: not a custom
// plan on every call) and read no more than BENCH_TRAP_FACTOR times its
// buffers with ten times the tenants (tenantsCheck()). A member's
// statements with the visibility joins written in were planned on every
// call from a few hundred tenants on (migration 066), the monitor's read
// of a group (ser_monitor_read) too (068). BENCH_FIGURES=0
// leaves the figures out. The md5 check hashes a member's statements too
// (the server's text, the values written in), as the member and as an
// administrator.
//
// BENCH_DEBUG=1 prints what psql writes on stderr and the kept session's
// plans in the trap check (auto_explain, nested statements).
//
// The machine is shared: CPU per call, not rates; the load (1, 5, 15 min)
// is printed with each figure and the durability settings with the run.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { pgBin, startPostgres, startServer, request, createUser } from '../server/harness.mjs';
import { dataTenant, inNewGroup, PW } from '../server/data_helpers.mjs';
import { context, load, postBatch, result } from './bench_util.mjs';
import { addTenantsSql, ANALYZE_SQL, countsSql } from './tenants.mjs';

const mode = process.argv[2] || 'full';
const candidates = process.argv.slice(3);
if (!['full', 'md5', 'quick'].includes(mode)) {
  process.stderr.write(`read_bench.mjs: the first argument is full, md5 or quick (then the candidate .sql files), not "${mode}"\n`);
  process.exit(2);
}
for (const file of candidates) {
  if (!fs.existsSync(file)) {
    process.stderr.write(`read_bench.mjs: no such file: ${file}\n`);
    process.exit(2);
  }
}
const QUICK = mode === 'quick';
const FAST = process.env.BENCH_PG === 'fast' || QUICK;
const env = (k, d) => Number(process.env[k] || d);
const DAY = 86400e6;
const HOUR = 3600e6;
const MIN = 60e6;
const NCH = 32;
const DAYS = env('BENCH_DAYS', QUICK ? 3 : 365);
const HOT = env('BENCH_HOT_ROWS', QUICK ? 4000 : 40000);
const KEEP = 33;
const CALLS = Math.max(QUICK ? 20 : 200, env('BENCH_READ_CALLS', 200));
const FACTOR = env('BENCH_TRAP_FACTOR', 3);
const TENANTS = Math.max(10, env('BENCH_TENANTS', QUICK ? 1000 : 5000));
const label = FAST && !QUICK ? ' [BENCH_PG=fast: NOT durable]' : '';
const say = (s) => process.stdout.write(`${s}\n`);

// ------------------------------------------------------------ psql sessions

/** One psql session kept open: run(sql) sends statements and resolves with
 * their output; pid is its backend. */
async function session(pg, db) {
  const proc = spawn(path.join(pgBin, 'psql'), ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1',
    '-h', '127.0.0.1', '-p', String(pg.port), '-U', 'postgres', '-d', db],
  { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let waiting = null;
  let n = 0;
  proc.stdout.setEncoding('utf8');
  proc.stderr.setEncoding('utf8');
  const check = () => {
    if (!waiting) return;
    const i = out.indexOf(waiting.marker);
    if (i >= 0) {
      const text = out.slice(0, i);
      out = out.slice(i + waiting.marker.length + 1);
      const w = waiting;
      waiting = null;
      w.resolve(text);
    }
  };
  proc.stdout.on('data', (d) => { out += d; check(); });
  proc.stderr.on('data', (d) => {
    err += d;
    if (process.env.BENCH_DEBUG) process.stderr.write(d);
  });
  proc.on('exit', (code) => {
    if (waiting) waiting.reject(new Error(`psql exited (${code}): ${err}`));
  });
  const s = {
    pid: 0,
    run(sql) {
      const marker = `__readbench_${++n}__`;
      return new Promise((resolve, reject) => {
        waiting = { marker, resolve, reject };
        proc.stdin.write(`${sql}\n\\echo ${marker}\n`);
      });
    },
    close() {
      proc.stdin.end();
      return new Promise((r) => { if (proc.exitCode !== null) r(); else proc.on('exit', r); });
    },
  };
  s.pid = Number((await s.run('SELECT pg_backend_pid();')).trim());
  return s;
}

/** CPU seconds (user + system) of process "pid". */
function cpuOfPid(pid) {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11]) + Number(rest[12])) / 100;
}

/** The backend CPU (µs) per execution of "sql" in session "s": at least
 * "calls", more until 0.4 s of CPU (10 ms ticks) or 10 times "calls". */
async function cpuPerCall(s, sql, calls = CALLS, warm = 6) {
  await s.run(Array(warm).fill(sql).join('\n'));
  const c0 = cpuOfPid(s.pid);
  let n = 0;
  while (n < calls || (cpuOfPid(s.pid) - c0 < 0.4 && n < 10 * calls)) {
    await s.run(Array(Math.min(calls, 200)).fill(sql).join('\n'));
    n += Math.min(calls, 200);
  }
  return { us: ((cpuOfPid(s.pid) - c0) * 1e6) / n, calls: n };
}

/** Shared buffers (hit + read) of one execution of "stmt" and its rows,
 * after two executions (a new session's first reads the catalogs). */
async function buffersOf(s, stmt) {
  await s.run(`EXPLAIN (ANALYZE, TIMING OFF) ${stmt};\nEXPLAIN (ANALYZE, TIMING OFF) ${stmt};`);
  const text = await s.run(`EXPLAIN (ANALYZE, BUFFERS, TIMING OFF, COSTS OFF) ${stmt};`);
  const top = text.split('\n');
  const rows = Number(/rows=(\d+)/.exec(top[0])?.[1] ?? NaN);
  let buffers = 0;
  for (const line of top) {
    if (/^\s*Planning:/.test(line)) break;
    const m = /Buffers: shared(?: hit=(\d+))?(?: read=(\d+))?/.exec(line);
    if (m) { buffers = Number(m[1] || 0) + Number(m[2] || 0); break; }
  }
  return { rows, buffers };
}

// ------------------------------------------------------------ set-up

let agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
/** A new agent: the server closes connections left idle (a request on one
 * it has just closed fails with "socket hang up"). */
function fresh() {
  agent.destroy();
  agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
}

function post(url, credential, body) {
  return postBatch(agent, url, credential, body);
}

async function pool(n, conc, fn) {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(conc, n) }, async () => {
    while (next < n) await fn(next++);
  }));
}

const value = (k, j) => Math.round(1000 * Math.sin((k + 1) * j / 500)) / 1000;

/** Account "t"'s channels, days [day0, day0 + days) of one-minute samples,
 * 10 days of one channel a batch. */
async function backfill(srv, t, day0, days, tag) {
  const jobs = [];
  for (let k = 0; k < t.channels.length; k++) for (let d = 0; d < days; d += 10) jobs.push([k, d]);
  await pool(jobs.length, 4, async (i) => {
    const [k, d] = jobs[i];
    const n = Math.min(10, days - d) * 1440;
    const ts = Array.from({ length: n }, (_, j) => (day0 + d) * DAY + j * MIN);
    await post(srv.url, t.app.credential, JSON.stringify({ batch_id: `${tag}-${k}-${d}`,
      channels: [{ id: t.channels[k], t: ts, v: ts.map((_, j) => value(k, j + d * 1440)) }] }));
  });
}

/** Everyday batches i in [from, to) but those in "skip": every channel's
 * sample at D + i s. */
async function everyday(srv, t, D, from, to, tag, skip = new Set()) {
  await pool(to - from, 8, async (x) => {
    const i = from + x;
    if (skip.has(i)) return;
    const ts = [D * DAY + i * 1e6];
    await post(srv.url, t.app.credential, JSON.stringify({ batch_id: `${tag}-${i}`,
      channels: t.channels.map((id, k) => ({ id, t: ts, v: [value(k, i)] })) }));
  });
}

async function compact(srv) {
  const r = await request(srv.url, 'POST', '/api/v1/test/compact');
  if (r.status !== 200) throw new Error(`compact: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

// ------------------------------------------------------------ the calls

const arr = (a) => `'{${a.join(',')}}'::bigint[]`;

/** The server's statements (series_read.c) as prepared statements. */
const PREPARES = [
  'PREPARE ser(bigint, bigint[], bigint, bigint, integer, integer) AS SELECT * FROM mt_ser_read($1, $2, $3, $4, $5, $6);',
  'PREPARE hot(bigint, bigint, bigint) AS SELECT r_id, r_payload FROM mt_hot_read($1, $2, $3);',
  'PREPARE raw(bigint, bigint[], bigint, bigint, integer, integer) AS SELECT * FROM mt_raw_read($1, $2, $3, $4, $5, $6);',
  'PREPARE ver(bigint, bigint[], bigint, bigint, integer, integer) AS SELECT * FROM mt_raw_versions($1, $2, $3, $4, $5, $6);',
  'PREPARE one AS SELECT 1;',
].join('\n');

const dayOf = (t) => Math.floor(t / DAY);

/** The EXECUTE of function "fn" for account "a", channels "ch", window [w0, w1). */
function exec(fn, a, ch, w0, w1) {
  if (fn === 'hot') return `EXECUTE hot(${a}, ${w0}, ${w1})`;
  return `EXECUTE ${fn}(${a}, ${arr(ch)}, ${w0}, ${w1}, ${dayOf(w0)}, ${dayOf(w1 - 1)})`;
}

/** The ceiling: the same rows by a plain statement, values written in. */
function plain(fn, a, ch, w0, w1, span, chSql = null) {
  const hot = (cols) => `SELECT ${cols} FROM series_hot h WHERE h.account_id = ${a} AND h.t_max >= ${w0}
    AND h.t_min < ${w1} AND h.t_max < ${w1 + 1 + span}`;
  const day = (cols) => `SELECT ${cols} FROM series_day y WHERE y.account_id = ${a}
    AND y.channel_id = ANY(${chSql ?? arr([...new Set(ch)])}) AND y.day BETWEEN ${dayOf(w0)} AND ${dayOf(w1 - 1)}`;
  const vis = `SELECT 0, c.id, NULL::bytea, 0, (extract(epoch FROM pg_postmaster_start_time()) * 1000000)::bigint
    FROM channels c WHERE c.account_id = ${a} AND c.id = ANY(${chSql ?? arr(ch)})`;
  switch (fn) {
    case 'hot': return hot('h.id, h.payload');
    case 'ser': return `${hot('1, h.id, h.payload, 0')} UNION ALL ${day('2, y.channel_id, y.data, y.day')}`;
    case 'raw': return `${vis} UNION ALL ${hot('1, h.id, h.payload, 0, 0::bigint')} UNION ALL
      ${day('2, y.channel_id, y.data, y.day, y.xmin::text::bigint')}`;
    default: return `${vis} UNION ALL ${hot('1, h.id, NULL::bytea, 0, 0::bigint')} UNION ALL
      ${day('2, y.channel_id, NULL::bytea, y.day, y.xmin::text::bigint')}`;
  }
}

const FN_NAME = { ser: 'mt_ser_read', hot: 'mt_hot_read', raw: 'mt_raw_read', ver: 'mt_raw_versions' };

// ------------------------------------------------------------ a member's reads

/** The text of the C macro "name" of "file" (string literals joined, the
 * macros it names expanded, "args" for its parameters), as the server
 * sends it: the benchmark prepares the server's own statements. */
function macro(file, name, args = {}) {
  const lines = fs.readFileSync(new URL(`../../server/${file}`, import.meta.url), 'utf8').split('\n');
  let i = lines.findIndex((l) => new RegExp(`^#define ${name}\\b`).test(l));
  if (i < 0 && file !== 'store/db_series.h') return macro('store/db_series.h', name, args);
  if (i < 0) throw new Error(`no macro ${name} in server/${file} nor server/store/db_series.h`);
  let body = lines[i].replace(new RegExp(`^#define ${name}(\\([^)]*\\))?`), '');
  while (/\\\s*$/.test(lines[i])) body += `\n${lines[++i]}`;
  let out = '';
  for (const tok of body.matchAll(/"((?:[^"\\]|\\.)*)"|\b([A-Z_][A-Z0-9_]*)\b/g)) {
    if (tok[1] !== undefined) out += tok[1].replace(/\\(.)/g, '$1');
    else if (tok[2] in args) out += args[tok[2]];
    else out += macro(file, tok[2]);
  }
  return out;
}

/** A member's statements, as series_read.c and db_series.c prepare them:
 * the raw data route's read and version check (ser_read_seen,
 * ser_vers_seen: the function called with the ids of the channels the
 * member may see, DB_CHANNELS_VISIBLE in the same statement) and the
 * visibility check alone (ser_visible: the data and export routes, before
 * series_read()). $1 account, $2 channels, $3 the member, then the
 * window and its days. */
const VISIBLE = macro('store/db_series.h', 'DB_CHANNELS_VISIBLE');
const MEMBER_PREPARES = [
  `PREPARE rseen AS ${macro('store/series_read.c', 'RAW_ROWS_SEEN', { FN: 'mt_raw_read' })};`,
  `PREPARE vseen AS ${macro('store/series_read.c', 'RAW_ROWS_SEEN', { FN: 'mt_raw_versions' })};`,
  `PREPARE visible AS ${VISIBLE};`,
].join('\n');
const MEMBER_NAME = { rseen: 'ser_read_seen (member)', vseen: 'ser_vers_seen (member)', visible: 'ser_visible (member)' };

/** The EXECUTE of a member's statement "fn" for account "a", member "m". */
function execMember(fn, a, m, ch, w0, w1) {
  if (fn === 'visible') return `EXECUTE visible(${a}, '{${ch.join(',')}}', ${m})`;
  return `EXECUTE ${fn}(${a}, '{${ch.join(',')}}', ${m}, ${w0}, ${w1}, ${dayOf(w0)}, ${dayOf(w1 - 1)})`;
}

/** A member's statement "fn" as the server sends it, the values written
 * in (viewer "m": a user id, or NULL for an administrator). */
function memberSql(fn, a, m, ch, w0, w1) {
  const text = fn === 'visible' ? VISIBLE : macro('store/series_read.c', 'RAW_ROWS_SEEN', { FN: fn === 'rseen' ? 'mt_raw_read' : 'mt_raw_versions' });
  const values = [a, `'{${ch.join(',')}}'`, m, w0, w1, dayOf(w0), dayOf(w1 - 1)];
  return text.replace(/\$(\d)/g, (_, i) => String(values[Number(i) - 1]));
}

/** The member's visibility rules with the values written in. */
function visibleSql(a, m, ch) {
  return VISIBLE.replace(/\$1\b(?:::bigint)?/g, String(a)).replace(/\$2::bigint\[\]/g, arr(ch))
    .replace(/\$3::bigint|\$3\b/g, `${m}::bigint`);
}

/** The ceiling of a member's statement: the same rows by a plain statement,
 * values written in, the visible ids worked out by the same rules. */
function plainMember(fn, a, m, ch, w0, w1, span) {
  if (fn === 'visible') return visibleSql(a, m, ch);
  return plain(fn === 'rseen' ? 'raw' : 'ver', a, ch, w0, w1, span, `ARRAY(${visibleSql(a, m, ch)})`);
}

/** A statement series_read.c prepares as a db_stmt ({"name", "text" ...,
 * 0}), its text as the server sends it. */
function stmtText(file, name) {
  const src = fs.readFileSync(new URL(`../../server/${file}`, import.meta.url), 'utf8');
  const i = src.indexOf(`{"${name}",`);
  if (i < 0) throw new Error(`no statement ${name} in server/${file}`);
  const body = src.slice(i + name.length + 4, src.indexOf('};', i));
  let out = '';
  for (const tok of body.matchAll(/"((?:[^"\\]|\\.)*)"/g)) out += tok[1].replace(/\\(.)/g, '$1');
  return out;
}

/** The monitor's read of a group (series_read_monitor(): ser_monitor_read,
 * migration 068), used by administrators and members alike: $1 account,
 * $2 the group's apps, $3 its channels, $4 the page of hot rows, $5 and $6
 * the ends of the channels' ids when they are a run without gaps (else
 * NULL), as the server passes them. */
const MONITOR_PREPARE = `PREPARE mon AS ${stmtText('store/series_read.c', 'ser_monitor_read')};`;
const MONITOR_NAME = 'ser_monitor_read';

/** The EXECUTE of the monitor's read of app "app"'s channels "ch" of
 * account "a" (a first page of 64 hot rows). */
function execMonitor(a, app, ch) {
  const lo = Math.min(...ch);
  const hi = Math.max(...ch);
  const run = ch.length > 0 && hi - lo === ch.length - 1 && new Set(ch).size === ch.length;
  return `EXECUTE mon(${a}, '{${app}}', '{${ch.join(',')}}', 64, ${run ? lo : 'NULL'}, ${run ? hi : 'NULL'})`;
}

/** The windows of the figures: [name, w0, w1]. */
function windows(D, hotRows) {
  const h = Math.max(0, Math.floor(hotRows / 3600 / 2));
  return [
    ['yesterday', (D - 1) * DAY, D * DAY],
    ['a stored day', (D - 100) * DAY, (D - 99) * DAY],
    ['5 days', (D - 5) * DAY, D * DAY],
    ['31 days', (D - 31) * DAY, D * DAY],
    ['a year', (D - 365) * DAY, D * DAY],
    [`an hour of today (${h}:00)`, D * DAY + h * HOUR, D * DAY + (h + 1) * HOUR],
  ];
}

// ------------------------------------------------------------ the parts

async function figures(pg, db, a1, member, D) {
  // The ceiling knows the data: its bound is the largest span of the
  // account's hot rows (the functions' is at least a threshold).
  const span = Number(await pg.psql(`SELECT COALESCE(max(t_max - t_min), 0) FROM series_hot
    WHERE account_id = ${a1.id}`, db));
  const s = await session(pg, db);
  await s.run(`${PREPARES}\n${MEMBER_PREPARES}`);
  const triv = await cpuPerCall(s, 'EXPLAIN (ANALYZE, TIMING OFF) EXECUTE one;');
  say(`a trivial call through the same session (EXPLAIN (ANALYZE, TIMING OFF) EXECUTE of SELECT 1): ${triv.us.toFixed(0)} µs of PostgreSQL CPU`);
  say('');
  say('| function | channels | window | rows | PostgreSQL CPU per call (2 rounds) | ceiling: plain statement, custom plan | ratio | shared buffers: function / ceiling | load |');
  say('|---|---|---|---|---|---|---|---|---|');
  const sets = [['1', a1.channels.slice(0, 1)], [String(NCH), a1.channels]];
  const adminRows = new Map();
  for (const fn of ['ser', 'raw', 'ver', 'hot']) {
    for (const [cname, ch] of fn === 'hot' ? [['—', []]] : sets) {
      for (const [wname, w0, w1] of windows(D, HOT)) {
        const f = `EXPLAIN (ANALYZE, TIMING OFF) ${exec(fn, a1.id, ch, w0, w1)};`;
        const c = `EXPLAIN (ANALYZE, TIMING OFF) ${plain(fn, a1.id, ch, w0, w1, span)};`;
        const fb = await buffersOf(s, exec(fn, a1.id, ch, w0, w1));
        const cb = await buffersOf(s, plain(fn, a1.id, ch, w0, w1, span));
        if (fb.rows !== cb.rows) throw new Error(`${fn} ${wname}: ${fb.rows} rows, the ceiling's ${cb.rows}`);
        const l0 = load();
        const fu = [];
        const cu = [];
        for (let r = 0; r < 2; r++) {
          fu.push((await cpuPerCall(s, f)).us);
          cu.push((await cpuPerCall(s, c)).us);
        }
        const fm = (fu[0] + fu[1]) / 2;
        const cm = (cu[0] + cu[1]) / 2;
        const ms = (x) => (x / 1000).toFixed(x < 1000 ? 3 : 2);
        say(`| ${FN_NAME[fn]}() | ${cname} | ${wname} | ${fb.rows} | ${fu.map(ms).join(' / ')} ms | ${cu.map(ms).join(' / ')} ms | ${(fm / cm).toFixed(2)} | ${fb.buffers} / ${cb.buffers} | ${l0.split(' ')[0]}–${load().split(' ')[0]} |`);
        result({ name: `${FN_NAME[fn]}(), ${cname === '—' ? '' : `${cname} ch, `}${wname}${label}`, value: fm / 1000,
          unit: 'ms PostgreSQL CPU/call', ceilingName: 'plain statement, custom plan', ceiling: cm / 1000,
          target: '', verdict: '', notes: `${fb.rows} rows; buffers ${fb.buffers} / ${cb.buffers}` });
        adminRows.set(`${fn}|${cname}|${wname}`, fb.rows);
      }
    }
  }
  // A member's statements (granted the group of all 32 channels: the rows
  // of the administrator's read of the same channels and window, which is
  // checked), beside the same rows by a plain statement with the
  // visibility rules and the values written in.
  say('');
  say(`A member's statements (the visible ids worked out in the same statement, DB_CHANNELS_VISIBLE), load ${load()}:`);
  say('');
  say('| statement | channels | window | rows | PostgreSQL CPU per call (2 rounds) | ceiling: plain statement, custom plan | ratio | shared buffers: statement / ceiling | load |');
  say('|---|---|---|---|---|---|---|---|---|');
  for (const fn of ['rseen', 'vseen', 'visible']) {
    for (const [cname, ch] of sets) {
      for (const [wname, w0, w1] of fn === 'visible' ? [['—', 0, 1]] : windows(D, HOT)) {
        const stmt = execMember(fn, a1.id, member, ch, w0, w1);
        const ceil = plainMember(fn, a1.id, member, ch, w0, w1, span);
        const fb = await buffersOf(s, stmt);
        const cb = await buffersOf(s, ceil);
        if (fb.rows !== cb.rows) throw new Error(`${MEMBER_NAME[fn]} ${wname}: ${fb.rows} rows, the ceiling's ${cb.rows}`);
        const same = fn === 'visible' ? ch.length : adminRows.get(`${fn === 'rseen' ? 'raw' : 'ver'}|${cname}|${wname}`);
        if (fb.rows !== same) throw new Error(`${MEMBER_NAME[fn]} ${cname} ch ${wname}: ${fb.rows} rows, the administrator's ${same}`);
        const l0 = load();
        const fu = [];
        const cu = [];
        for (let r = 0; r < 2; r++) {
          fu.push((await cpuPerCall(s, `EXPLAIN (ANALYZE, TIMING OFF) ${stmt};`)).us);
          cu.push((await cpuPerCall(s, `EXPLAIN (ANALYZE, TIMING OFF) ${ceil};`)).us);
        }
        const fm = (fu[0] + fu[1]) / 2;
        const cm = (cu[0] + cu[1]) / 2;
        const ms = (x) => (x / 1000).toFixed(x < 1000 ? 3 : 2);
        say(`| ${MEMBER_NAME[fn]} | ${cname} | ${wname} | ${fb.rows} | ${fu.map(ms).join(' / ')} ms | ${cu.map(ms).join(' / ')} ms | ${(fm / cm).toFixed(2)} | ${fb.buffers} / ${cb.buffers} | ${l0.split(' ')[0]}–${load().split(' ')[0]} |`);
        result({ name: `${MEMBER_NAME[fn]}, ${cname} ch${wname === '—' ? '' : `, ${wname}`}${label}`, value: fm / 1000,
          unit: 'ms PostgreSQL CPU/call', ceilingName: 'plain statement, custom plan', ceiling: cm / 1000,
          target: '', verdict: '', notes: `${fb.rows} rows; buffers ${fb.buffers} / ${cb.buffers}` });
      }
    }
  }
  await s.close();
}

/** A copy of mt_ser_read() without its enable_seqscan / enable_bitmapscan
 * SET clauses (047's state): the control of the trap check. */
async function makeControl(pg, db) {
  const def = await pg.psql("SELECT pg_get_functiondef('mt_ser_read(bigint, bigint[], bigint, bigint, integer, integer)'::regprocedure)", db);
  const ctl = def.replace(/public\.mt_ser_read\(|mt_ser_read\(/, 'readbench_trap_control(')
    .replace(/\n\s*SET enable_seqscan TO '?off'?/i, '').replace(/\n\s*SET enable_bitmapscan TO '?off'?/i, '');
  if (ctl === def || /enable_seqscan/.test(ctl)) throw new Error(`the control could not be made from:\n${def}`);
  await pg.psql(ctl, db);
}

/** The trap check; returns true when it passes. */
async function trap(pg, db, srv, a1, member, D) {
  await makeControl(pg, db);
  // The day before yesterday: no hot row in it nor in the hour after it,
  // so a plan that reads the hot table whole shows at once.
  const w0 = (D - 2) * DAY;
  const w1 = w0 + DAY;
  const ch = a1.channels;
  const calls = [
    ['mt_ser_read()', exec('ser', a1.id, ch, w0, w1)],
    ['mt_hot_read()', exec('hot', a1.id, ch, w0, w1)],
    ['mt_raw_read()', exec('raw', a1.id, ch, w0, w1)],
    ['mt_raw_versions()', exec('ver', a1.id, ch, w0, w1)],
    [MEMBER_NAME.rseen, execMember('rseen', a1.id, member, ch, w0, w1)],
    [MEMBER_NAME.vseen, execMember('vseen', a1.id, member, ch, w0, w1)],
    [MEMBER_NAME.visible, execMember('visible', a1.id, member, ch, w0, w1)],
    ['control: mt_ser_read() without its enable_* SET clauses', exec('ctl', a1.id, ch, w0, w1)],
  ];
  const prepares = `${PREPARES}\n${MEMBER_PREPARES}\nPREPARE ctl(bigint, bigint[], bigint, bigint, integer, integer) AS SELECT * FROM readbench_trap_control($1, $2, $3, $4, $5, $6);`;
  // As a compaction round leaves the table: all but a few rows gone, and
  // the pages after them given back by VACUUM. The rows kept are the first
  // in the table (account 2's, then 33 of account 1's), whatever order the
  // concurrent ingest wrote them in: a table of a few pages.
  const keptT = (await pg.psql(`WITH k AS (SELECT id, t_min FROM series_hot WHERE account_id = ${a1.id}
    ORDER BY ctid LIMIT ${KEEP}), d AS (DELETE FROM series_hot h WHERE h.account_id = ${a1.id}
    AND h.id NOT IN (SELECT id FROM k)) SELECT t_min FROM k`, db)).split('\n').map(Number);
  await pg.psql('VACUUM ANALYZE series_hot', db);
  const small = (await pg.psql("SELECT relpages || ' pages, ' || reltuples || ' rows' FROM pg_class WHERE relname = 'series_hot'", db));
  const kept = await session(pg, db);
  await kept.run(prepares);
  for (const [, stmt] of calls) await kept.run(Array(6).fill(`${stmt};`).join('\n'));
  if (process.env.BENCH_DEBUG) {
    say(await pg.psql("SELECT relpages, reltuples FROM pg_class WHERE relname = 'series_hot'", db));
    await kept.run("LOAD 'auto_explain'; SET auto_explain.log_min_duration = 0; SET auto_explain.log_nested_statements = on; SET client_min_messages = log;");
  }
  say(`trap check: plans made in a kept session with ${KEEP} hot rows of account 1 (series_hot: ${small}); ${HOT - KEEP} rows ingested again through the server (no ANALYZE), then the kept session against a fresh one, a read of ${NCH} channels × the day before yesterday, load ${load()}`);
  const keptI = new Set(keptT.map((t) => Math.round((t - D * DAY) / 1e6)));
  await everyday(srv, a1, D, 0, HOT, 'again', keptI);
  const fresh = await session(pg, db);
  await fresh.run(prepares);
  say('');
  say('| call | rows | kept plan: CPU per call | fresh session | ratio | buffers: kept / fresh | verdict |');
  say('|---|---|---|---|---|---|---|');
  let ok = true;
  for (const [name, stmt] of calls) {
    const kb = await buffersOf(kept, stmt);
    const fb = await buffersOf(fresh, stmt);
    if (kb.rows !== fb.rows) throw new Error(`${name}: ${kb.rows} rows kept, ${fb.rows} fresh`);
    const sql = `EXPLAIN (ANALYZE, TIMING OFF) ${stmt};`;
    const ku = [];
    const fu = [];
    const n = QUICK ? 20 : CALLS;
    for (let r = 0; r < (QUICK ? 1 : 2); r++) {
      ku.push((await cpuPerCall(kept, sql, n)).us);
      fu.push((await cpuPerCall(fresh, sql, n)).us);
    }
    const km = ku.reduce((x, y) => x + y) / ku.length;
    const fm = fu.reduce((x, y) => x + y) / fu.length;
    const bad = kb.buffers > FACTOR * fb.buffers || (!QUICK && km > FACTOR * fm);
    const control = name.startsWith('control');
    const verdict = control ? (bad ? 'trapped, as it should be: the check sees the trap'
      : 'NOT trapped: the set-up does not make the trap, the check proves nothing') : (bad ? `FAILED (more than ${FACTOR}×)` : 'ok');
    if (control ? !bad : bad) ok = false;
    const ms = (x) => (x / 1000).toFixed(3);
    say(`| ${name} | ${kb.rows} | ${ku.map(ms).join(' / ')} ms | ${fu.map(ms).join(' / ')} ms | ${fm > 0 ? (km / fm).toFixed(2) : '—'} | ${kb.buffers} / ${fb.buffers} | ${verdict} |`);
    if (!control) {
      result({ name: `trap: ${name} kept plan vs fresh${label}`, value: km / 1000, unit: 'ms PostgreSQL CPU/call',
        ceilingName: 'fresh session', ceiling: fm / 1000, target: `<= ${FACTOR}× fresh`,
        verdict: bad ? 'NOT met' : 'met', notes: `buffers ${kb.buffers} / ${fb.buffers}` });
    }
  }
  await kept.close();
  await fresh.close();
  await pg.psql('DROP FUNCTION readbench_trap_control(bigint, bigint[], bigint, bigint, integer, integer)', db);
  return ok;
}

/** The many-tenant check (memberscale): other accounts (tests/bench/
 * tenants.mjs: 10 apps and devices each, 4 channels a device with their
 * latest values, a member granted a group) added by SQL and ANALYZEd, as a
 * service that grew: first BENCH_TENANTS / 10, then BENCH_TENANTS (5,000;
 * quick 1,000) in all. At each size, each statement in a new session: 12
 * calls of a read of one channel × yesterday (the raw day's), the plans
 * PostgreSQL made for them (pg_prepared_statements: it tries 5 custom
 * plans, then keeps the generic one unless that is estimated dearer), and
 * the shared buffers of a call of 1 and of 32 channels. Fails when a
 * statement is planned anew on every call, or when ten times the tenants
 * cost a call more than BENCH_TRAP_FACTOR (3) times its buffers (+10, and
 * +2 a channel for an index's new level, below): a
 * scan of the tenants' rows costs ten times as much, a read of a member's
 * rows by their keys an index level more (measured: 71 to 133 buffers for
 * 32 channels' rows by key, 100 to 1,000 tenants). Returns true when it
 * passes. */
async function tenantsCheck(pg, db, a1, member, D) {
  const w0 = (D - 1) * DAY;
  const w1 = D * DAY;
  const sets = [['1', a1.channels.slice(0, 1)], [String(NCH), a1.channels]];
  const stmts = [
    ['mt_raw_read()', (ch) => exec('raw', a1.id, ch, w0, w1), 'raw'],
    ['mt_raw_versions()', (ch) => exec('ver', a1.id, ch, w0, w1), 'ver'],
    [MEMBER_NAME.rseen, (ch) => execMember('rseen', a1.id, member, ch, w0, w1), 'rseen'],
    [MEMBER_NAME.vseen, (ch) => execMember('vseen', a1.id, member, ch, w0, w1), 'vseen'],
    [MEMBER_NAME.visible, (ch) => execMember('visible', a1.id, member, ch, w0, w1), 'visible'],
    [MONITOR_NAME, (ch) => execMonitor(a1.id, a1.appId, ch), 'mon'],
  ];
  const measure = async () => {
    const s = await session(pg, db);
    await s.run(`${PREPARES}\n${MEMBER_PREPARES}\n${MONITOR_PREPARE}`);
    const out = new Map();
    for (const [name, stmt, prep] of stmts) {
      const one = stmt(sets[0][1]);
      await s.run(Array(12).fill(`${one};`).join('\n'));
      const [gp, cp] = (await s.run(`SELECT generic_plans || ' ' || custom_plans FROM pg_prepared_statements WHERE name = '${prep}';`))
        .trim().split(' ').map(Number);
      const b = [];
      for (const [, ch] of sets) b.push((await buffersOf(s, stmt(ch))).buffers);
      const cpu = QUICK ? null : (await cpuPerCall(s, `EXPLAIN (ANALYZE, TIMING OFF) ${one};`)).us;
      out.set(name, { gp, cp, b, cpu });
    }
    await s.close();
    return out;
  };
  const small = Math.max(1, Math.round(TENANTS / 10));
  const sizes = [];
  sizes.push(['3 accounts', await measure()]);
  for (const [from, n] of [[1, small], [small + 1, TENANTS - small]]) {
    const t0 = performance.now();
    await pg.psql(addTenantsSql(n, 10, 4, from), db);
    for (const sql of ANALYZE_SQL.split('\n')) await pg.psql(sql, db);
    say(`many-tenant check: ${n} other accounts added by SQL and ANALYZEd in ${((performance.now() - t0) / 1000).toFixed(1)} s (${await pg.psql(countsSql, db)}), load ${load()}`);
    sizes.push([`+${from + n - 1}`, await measure()]);
  }
  say(`each statement in a new session: 12 calls of one channel × yesterday (plans: generic / custom), then one of 1 and one of ${NCH} channels (shared buffers)${QUICK ? '' : ', CPU per call of one channel'}`);
  say('');
  say(`| statement | ${sizes.map(([n]) => `${n}: plans | buffers${QUICK ? '' : ' | CPU'}`).join(' | ')} | verdict |`);
  say(`|---|${sizes.map(() => `---|---|${QUICK ? '' : '---|'}`).join('')}---|`);
  let ok = true;
  for (const [name] of stmts) {
    const [, m1] = sizes[1];
    const [, m2] = sizes[2];
    const a = m2.get(name);
    const b = m1.get(name);
    const replanned = a.cp > 6 || b.cp > 6;
    // An index of a few pages gains a level as the tenants grow: each
    // channel's probe of a statement's two indexes then reads up to two
    // pages more (mt_raw_versions() for 32 channels: 23 -> 87 buffers, at
    // +100 tenants in one run and at +1,000 in another, by what the
    // compactor had left). Allowed: 2 a channel; a scan of the tenants'
    // rows costs ten times the buffers, far above it.
    const grown = a.b.some((x, i) => x > FACTOR * b.b[i] + 10 + 2 * Number(sets[i][0]));
    if (replanned || grown) ok = false;
    const verdict = replanned ? 'FAILED: planned anew on every call'
      : grown ? 'FAILED: its cost grows with the other tenants' : 'ok';
    const ms = (x) => `${(x / 1000).toFixed(3)} ms`;
    say(`| ${name} | ${sizes.map(([, m]) => { const x = m.get(name); return `${x.gp} / ${x.cp} | ${x.b.join(' / ')}${QUICK ? '' : ` | ${ms(x.cpu)}`}`; }).join(' | ')} | ${verdict} |`);
    if (!QUICK) {
      result({ name: `${TENANTS} other tenants: ${name}, 1 ch, yesterday${label}`, value: a.cpu / 1000, unit: 'ms PostgreSQL CPU/call',
        ceilingName: `${small} other tenants`, ceiling: b.cpu / 1000, target: 'no plan per call, buffers not growing',
        verdict: replanned || grown ? 'NOT met' : 'met', notes: `plans ${a.gp} generic / ${a.cp} custom; buffers ${a.b.join(' / ')} against ${b.b.join(' / ')}` });
    }
  }
  return ok;
}

/** The rows-identity check: one line per call "fn|set|window|rows|md5" and
 * the md5 of all lines. Each row is written by what it is, not by what
 * differs between runs: a hot row by its times, count and payload's md5
 * (its id is given in order of arrival), a day block's version as whether
 * it is the xmin of its row, kind 0's whether it is the postmaster's start. */
async function md5s(pg, db, a1, a2, D, member) {
  const c = a1.channels;
  const sets = [
    ['one', [c[0]]], ['all', c], ['duplicates', [c[1], c[1], c[2], c[1]]],
    ['unknown id', [c[0], 999999999]], ["another account's", [a2.channels[0]]],
    ['own and another', [c[3], a2.channels[1]]], ['none', []],
  ];
  const wins = [
    ...windows(D, HOT),
    ['1 µs', D * DAY + 1800e6, D * DAY + 1800e6 + 1],
    ['across hours', D * DAY + 1800e6, D * DAY + 5400e6],
    ['all of today', D * DAY, (D + 1) * DAY],
    ['ending at a day', (D - 3) * DAY + 43200e6, (D - 1) * DAY],
  ];
  const s = await session(pg, db);
  const lines = [];
  let total = 0;
  for (const fn of ['ser', 'raw', 'ver', 'hot']) {
    for (const [sname, ch] of fn === 'hot' ? [['—', []]] : sets) {
      for (const acct of fn === 'hot' ? [a1.id, a2.id] : [a1.id]) {
        for (const [wname, w0, w1] of wins) {
          const call = fn === 'hot' ? `${FN_NAME[fn]}(${acct}, ${w0}, ${w1})`
            : `${FN_NAME[fn]}(${acct}, ${arr(ch)}, ${w0}, ${w1}, ${dayOf(w0)}, ${dayOf(w1 - 1)})`;
          const cols = fn === 'hot' ? '1 AS r_kind, r.r_id, r.r_payload, 0 AS r_day, NULL::bigint AS r_ver'
            : fn === 'ser' ? 'r.r_kind, r.r_id, r.r_payload, r.r_day, NULL::bigint AS r_ver' : 'r.r_kind, r.r_id, r.r_payload, r.r_day, r.r_ver';
          const out = await s.run(`SELECT count(*) || '|' || COALESCE(md5(string_agg(x, E'\\n' ORDER BY x)), '-') FROM (
            SELECT concat_ws(',', q.r_kind,
              CASE WHEN q.r_kind = 1 THEN concat_ws(':', h.t_min, h.t_max, h.n, md5(h.payload)) ELSE q.r_id::text END,
              q.r_day, md5(q.r_payload),
              CASE WHEN q.r_ver IS NULL THEN '' WHEN q.r_kind = 0 THEN (q.r_ver = (extract(epoch FROM pg_postmaster_start_time()) * 1000000)::bigint)::text
                   WHEN q.r_kind = 2 THEN (q.r_ver = (SELECT y.xmin::text::bigint FROM series_day y WHERE y.channel_id = q.r_id AND y.day = q.r_day))::text
                   ELSE q.r_ver::text END) AS x
            FROM (SELECT ${cols} FROM ${call} r) q LEFT JOIN series_hot h ON q.r_kind = 1 AND h.id = q.r_id) z;`);
          const [n, m] = out.trim().split('|');
          total += Number(n);
          lines.push(`${FN_NAME[fn]}|${sname}|${acct === a1.id ? 'account 1' : 'account 2'}|${wname}|${n}|${m}`);
        }
      }
    }
  }
  // A member's statements (the server's text, the values written in), as
  // the member and as an administrator (viewer NULL): the rows of the
  // visibility rules, whatever statement or function holds them.
  for (const fn of ['rseen', 'vseen', 'visible']) {
    for (const [sname, ch] of sets) {
      for (const [vname, viewer] of [['member', member], ['administrator', 'NULL']]) {
        for (const [wname, w0, w1] of fn === 'visible' ? [['—', 0, 1]] : wins) {
          const sql = memberSql(fn, a1.id, viewer, ch, w0, w1);
          const cols = fn === 'visible' ? 'r.x' : "concat_ws(',', r.r_kind, CASE WHEN r.r_kind = 1 THEN "
            + "(SELECT concat_ws(':', h.t_min, h.t_max, h.n, md5(h.payload)) FROM series_hot h WHERE h.id = r.r_id) "
            + 'ELSE r.r_id::text END, r.r_day, md5(r.r_payload), r.r_kind = 0 OR r.r_ver <> 0)';
          const from = fn === 'visible' ? `(${sql}) AS r(x)` : `(${sql}) r`;
          const out = await s.run(`SELECT count(*) || '|' || COALESCE(md5(string_agg(y::text, E'\\n' ORDER BY y::text)), '-') FROM (SELECT ${cols} AS y FROM ${from}) z;`);
          const [n, m] = out.trim().split('|');
          total += Number(n);
          lines.push(`${MEMBER_NAME[fn]}|${sname}|${vname}|${wname}|${n}|${m}`);
        }
      }
    }
  }
  await s.close();
  return { calls: lines.length, rows: total, md5: crypto.createHash('md5').update(lines.join('\n')).digest('hex'), lines };
}

/** Hot rows at the edges of the windows, through the ingest: "narrow"
 * ones (an hour wide at most: found by the bound of an hour after the
 * window's end) across hours, midnight and the windows' ends, of 1 µs to
 * an hour, exactly 5 min and 1 h among them, ending exactly at a window's
 * start, starting exactly at its end; "wide" ones, 2 h and 30 h (in
 * series_hot_account_wide: they widen the bound). Each one channel, one or
 * two samples (n <= 2: the everyday rows have 32). */
function edges(D, hotRows) {
  const h1 = D * DAY + (Math.max(0, Math.floor(hotRows / 3600 / 2)) + 1) * HOUR;
  return {
    narrow: [
      [D * DAY + 1800e6 - 1, D * DAY + 1800e6 + 1], // around the 1 µs window
      [D * DAY - 1800e6, D * DAY + 1800e6], // 1 h across midnight
      [D * DAY - 120e6, D * DAY + 120e6], // 4 min across midnight
      [D * DAY - 600e6, D * DAY + 1200e6], // 30 min across midnight
      [D * DAY + 5400e6 - 1, D * DAY + 5400e6 - 1 + 300e6], // exactly 5 min, across an end
      [(D - 1) * DAY - 1, (D - 1) * DAY - 1 + HOUR], // exactly 1 h, across an end
      [h1 - 60e6, h1 + 58 * 60e6], // 59 min across the hour of today's end
      [(D - 1) * DAY - 1, (D - 1) * DAY - 1], // ending just before a window's start
      [(D - 1) * DAY, (D - 1) * DAY], // at a window's start
      [D * DAY, D * DAY], // at a window's end
      [D * DAY + 5400e6 - 1, D * DAY + 5400e6], // ending at an end
    ],
    wide: [
      [D * DAY + 3000e6, D * DAY + 3000e6 + 2 * HOUR], // 2 h wide
      [(D - 2) * DAY + 3600e6, (D - 1) * DAY + 25200e6], // 30 h wide
    ],
  };
}

async function edgeRows(srv, a1, rows, tag) {
  fresh(); // the server closed the connections left idle meanwhile
  let i = 0;
  for (const [t0, t1] of rows) {
    i++;
    await post(srv.url, a1.app.credential, JSON.stringify({ batch_id: `edge-${tag}-${i}`,
      channels: [{ id: a1.channels[5 % a1.channels.length], t: t0 === t1 ? [t0] : [t0, t1],
        v: t0 === t1 ? [i] : [i, -i] }] }));
  }
}

/** The md5s of the three states: the set-up, with the narrow edge rows,
 * with the wide ones too; the edge rows are deleted first (a second pass
 * after a candidate is applied ingests them again: the md5s are of what
 * the rows hold, not their ids). */
async function md5States(pg, db, srv, a1, a2, D, tag, member) {
  await pg.psql(`DELETE FROM series_hot WHERE account_id = ${a1.id} AND n <= 2`, db);
  const e = edges(D, HOT);
  const out = [];
  out.push(['the set-up', await md5s(pg, db, a1, a2, D, member)]);
  await edgeRows(srv, a1, e.narrow, `${tag}n`);
  out.push([`with ${e.narrow.length} rows of 1 µs to 1 h at the windows' edges`, await md5s(pg, db, a1, a2, D, member)]);
  await edgeRows(srv, a1, e.wide, `${tag}w`);
  out.push([`and ${e.wide.length} rows 2 h and 30 h wide`, await md5s(pg, db, a1, a2, D, member)]);
  return out;
}

// ------------------------------------------------------------ main

async function main() {
  const t0 = performance.now();
  const pg = await startPostgres({ durable: !FAST });
  const url = await pg.createDatabase();
  const db = new URL(url).pathname.slice(1);
  const srv = await startServer({ databaseUrl: url, args: ['--jobs-interval', '0'],
    env: { METRON_COMPACT_MS: '3600000' } });
  let ok = true;
  try {
    const now = Date.now() * 1000;
    const D = dayOf(now - HOT * 1e6 - 600e6);
    const a1 = await dataTenant(srv, { n: NCH });
    const a2 = await dataTenant(srv, { n: 4 });
    // A member of account 1 granted the group of its app (all 32 channels).
    const member = (await createUser(srv.url, { accountId: a1.id, user: 'member', password: PW, role: 'member' })).userId;
    const group = await inNewGroup(a1, 'Bench');
    const granted = await a1.c.put(`/api/v1/groups/${group}/access`, { users: [{ user_id: member, access: 'view' }], teams: [] });
    if (granted.status !== 200) throw new Error(`the member's grant: ${granted.status} ${JSON.stringify(granted.body)}`);
    say(`read-bench ${mode}: ${new Date().toISOString()}, account 1: ${NCH} channels, ${DAYS} days of one-minute blocks, ${HOT} hot rows of "today" (${new Date(D * DAY / 1000).toISOString().slice(0, 10)}), a member granted them all; account 2: 4 channels, 5 days, 10 hot rows`);
    await backfill(srv, a1, D - DAYS, DAYS, 'y');
    await backfill(srv, a2, D - 5, 5, 'z');
    const comp = await compact(srv);
    // What autovacuum does after a compaction: the pages of the folded
    // rows free for the next ones (else the everyday rows come after tens
    // of empty pages, which VACUUM cannot give back: the trap check needs
    // a table of a few pages).
    await pg.psql('VACUUM series_hot', db);
    await pg.psql('ALTER TABLE series_hot SET (autovacuum_enabled = off)', db);
    // Account 2's rows first: once account 1's are deleted (the trap
    // check), VACUUM gives the emptied pages at the end back.
    await everyday(srv, a2, D, 0, 10, 'hot2');
    await everyday(srv, a1, D, 0, HOT, 'hot');
    await pg.psql('VACUUM ANALYZE', db);
    const counts = await pg.psql(`SELECT (SELECT count(*) FROM series_day) || ' day blocks, ' || (SELECT count(*) FROM series_hot) || ' hot rows, series_hot ' || pg_size_pretty(pg_total_relation_size('series_hot'))`, db);
    say(`set-up ${((performance.now() - t0) / 1000).toFixed(0)} s (compaction: ${JSON.stringify(comp)}): ${counts}`);
    const dur = await context(`read-bench ${mode}`, pg);
    if (mode === 'md5') {
      const base = await md5States(pg, db, srv, a1, a2, D, 'm', member);
      for (const [what, m] of base) say(`rows identity, ${what}: ${m.calls} calls, ${m.rows} rows, md5 ${m.md5}`);
      if (process.env.BENCH_MD5_LINES) {
        fs.writeFileSync(process.env.BENCH_MD5_LINES, base.map(([w, m]) => `# ${w}\n${m.lines.join('\n')}\n`).join(''));
      }
      let k = 0;
      for (const file of candidates) {
        await pg.psql(fs.readFileSync(file, 'utf8'), db);
        const after = await md5States(pg, db, srv, a1, a2, D, `c${++k}`, member);
        for (let j = 0; j < base.length; j++) {
          const [what, b] = base[j];
          const a = after[j][1];
          const same = a.md5 === b.md5;
          say(`after ${file}, ${what}: ${a.calls} calls, ${a.rows} rows, md5 ${a.md5}: ${same ? 'the same rows' : 'DIFFERENT rows'}`);
          if (!same) {
            ok = false;
            for (let i = 0; i < a.lines.length; i++) {
              if (a.lines[i] !== b.lines[i]) say(`  before: ${b.lines[i]}\n  after:  ${a.lines[i]}`);
            }
          }
        }
      }
    } else {
      // A candidate migration is measured, and checked for the trap, in
      // place of what the migrations made.
      for (const file of candidates) {
        await pg.psql(fs.readFileSync(file, 'utf8'), db);
        say(`applied ${file}`);
      }
      if (!QUICK && process.env.BENCH_FIGURES !== '0') await figures(pg, db, a1, member, D);
      fresh();
      say('');
      ok = await trap(pg, db, srv, a1, member, D);
      say('');
      ok = (await tenantsCheck(pg, db, a1, member, D)) && ok;
    }
    say(`done: load ${load()}; PostgreSQL ${dur}; ${((performance.now() - t0) / 1000).toFixed(0)} s${ok ? '' : '; FAILED'}`);
  } finally {
    agent.destroy();
    await srv.stop();
    await pg.destroy();
    fs.rmSync(srv.dataDir, { recursive: true, force: true });
  }
  if (!ok) process.exitCode = 1;
}

await main();
