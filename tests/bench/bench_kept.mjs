// Profiling on a kept bench set-up (issue 16): the verbs of scripts/bench-kept
// (its header says what each does; docs/benchmarks.md "Profiling tools" how
// to reproduce a figure with them).
//
// The kept set-up is tests/bench/server_bench.mjs run with BENCH_KEEP=FILE:
// it writes FILE (JSON: url, token, pid, pg_pid, db, group, credential,
// channels, day_from, mix_apps_file, ...) and keeps its server and
// PostgreSQL cluster up until FILE is removed. Every verb here reads $KEEP.
//
// CPU per request, not rates: on a machine shared by several engineers the
// rates move with the load, the CPU time each request costs much less. The
// server's is its utime + stime (/proc/PID/stat, every thread); PostgreSQL's
// is every process of its cluster: the postmaster's own, its living
// children's (backends, autovacuum, the WAL writer...) and those of its
// children that ended during the run (its cutime + cstime: autovacuum
// workers, backends of closed connections), which a sum over the living
// children alone loses.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fmt, load } from './bench_util.mjs';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const LUA = path.join(root, 'tests', 'bench', 'api_mix.lua');
const PSQL = path.join(process.env.METRON_PG_BIN || '/usr/lib/postgresql/15/bin', 'psql');
const KINDS = ['', 'ingest', 'monitor', 'unread', 'me', 'devices', 'raw'];
const MIN = 60_000_000;
const HZ = 100; // clock ticks of /proc/PID/stat (sysconf(_SC_CLK_TCK) on Linux)
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const say = (s) => process.stdout.write(`${s}\n`);

function die(msg) {
  process.stderr.write(`bench-kept: ${msg}\n`);
  process.exit(1);
}

function usage() {
  process.stderr.write('usage: KEEP=FILE scripts/bench-kept up [BIN] | down | serve BIN COPY |\n' +
    '         run KIND SECONDS [RUN] | cpu KIND SECONDS [RUN] | callgrind BIN [KIND] [SECONDS] [LABEL]\n' +
    '       scripts/bench-kept build COMMIT\n' +
    '  KIND: ingest, monitor, unread, me, devices, raw, or "" (the route mix); see scripts/bench-kept\n');
  process.exit(2);
}

/** /proc/PID/stat after the command name: [state, ppid, ...] (field 3 on). */
function stat(pid) {
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return f.slice(f.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

function alive(pid) {
  const s = stat(pid);
  return !!s && s[0] !== 'Z' && s[0] !== 'X';
}

/** The server's CPU seconds, user and system, all its threads. */
function procCpu(pid) {
  const s = stat(pid);
  if (!s) die(`process ${pid} is gone`);
  return { user: Number(s[11]) / HZ, sys: Number(s[12]) / HZ };
}

/** A PostgreSQL cluster's CPU seconds: the postmaster's own and its ended
 * children's (cutime, cstime), and its living children's. */
function clusterCpu(pm) {
  const s = stat(pm);
  if (!s) die(`the PostgreSQL postmaster (pid ${pm}) is gone`);
  let t = (Number(s[11]) + Number(s[12]) + Number(s[13]) + Number(s[14])) / HZ;
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const c = stat(d);
    if (c && Number(c[1]) === pm) t += (Number(c[11]) + Number(c[12])) / HZ;
  }
  return t;
}

/** Voluntary context switches of all the process's threads. */
function switches(pid) {
  let n = 0;
  try {
    for (const t of fs.readdirSync(`/proc/${pid}/task`)) {
      const m = /voluntary_ctxt_switches:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/task/${t}/status`, 'utf8'));
      if (m) n += Number(m[1]);
    }
  } catch { /* a thread ended meanwhile */ }
  return n;
}

/** Each thread's CPU seconds, user and system, by thread id, with its name
 * (/proc/PID/task/TID/stat, /comm). */
function threadCpu(pid) {
  const out = new Map();
  let tasks = [];
  try { tasks = fs.readdirSync(`/proc/${pid}/task`); } catch { return out; }
  for (const t of tasks) {
    try {
      const f = fs.readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8');
      const name = f.slice(f.indexOf('(') + 1, f.lastIndexOf(')'));
      const s = f.slice(f.lastIndexOf(')') + 2).split(' ');
      out.set(t, { name, user: Number(s[11]) / HZ, sys: Number(s[12]) / HZ });
    } catch { /* the thread ended meanwhile */ }
  }
  return out;
}

/** The per-route CPU account of GET /metrics (METRON_ROUTE_CPU on the
 * server, its METRON_METRICS_TOKEN): by "METHOD route", the requests, the
 * measured ones by part, their CPU seconds by part, their switches. */
async function routeAccount(k) {
  const token = k.metrics_token || process.env.METRON_METRICS_TOKEN;
  if (!token) die('ROUTES=1 needs METRON_METRICS_TOKEN (the server\'s, also when it was started by serve)');
  const r = await fetch(`${k.url}/metrics`, { headers: { Authorization: `Bearer ${token}` } });
  if (r.status !== 200) die(`GET ${k.url}/metrics: ${r.status}`);
  const text = await r.text();
  const acc = new Map();
  const get = (m) => {
    const key = `${m.method} ${m.route}`;
    if (!acc.has(key)) acc.set(key, { requests: 0, n: {}, sec: {}, vcsw: 0, ivcsw: 0 });
    return acc.get(key);
  };
  const lab = (l) => Object.fromEntries([...l.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
  for (const line of text.split('\n')) {
    const m = /^(metron_http_request[a-z_]*)\{(.*)\} ([0-9.e+-]+)$/.exec(line);
    if (!m) continue;
    const l = lab(m[2]);
    const v = Number(m[3]);
    if (m[1] === 'metron_http_requests_total') get(l).requests += v;
    else if (m[1] === 'metron_http_request_cpu_seconds_total') get(l).sec[l.part] = v;
    else if (m[1] === 'metron_http_request_cpu_measured_total') get(l).n[l.part] = v;
    else if (m[1] === 'metron_http_request_context_switches_total') get(l)[l.kind === 'voluntary' ? 'vcsw' : 'ivcsw'] = v;
  }
  return acc;
}

/** What ROUTES=1 prints after a run: the per-route account's difference
 * between a0 and a1, and the server's threads' CPU (t0, t1) by name, per
 * request of the run (n). */
function routeReport(a0, a1, t0, t1, n, serverSec) {
  const us = (x) => (x * 1e6 / n).toFixed(1);
  const parts = ['read', 'handler', 'log'];
  let inReq = 0;
  const rows = [];
  for (const [key, b] of a1) {
    const a = a0.get(key) || { requests: 0, n: {}, sec: {}, vcsw: 0, ivcsw: 0 };
    const req = b.requests - a.requests;
    const hn = (b.n.handler || 0) - (a.n.handler || 0);
    if (req <= 0 || hn <= 0) continue;
    const per = {};
    for (const p of parts) {
      const pn = (b.n[p] || 0) - (a.n[p] || 0);
      per[p] = pn > 0 ? ((b.sec[p] || 0) - (a.sec[p] || 0)) / pn : 0;
    }
    const all = per.read + per.handler + per.log;
    inReq += all * req;
    rows.push({ key, req, hn, per, all, v: (b.vcsw - a.vcsw) / hn, iv: (b.ivcsw - a.ivcsw) / hn });
  }
  rows.sort((x, y) => y.all * y.req - x.all * x.req);
  say('  by route (the account, µs of the thread\'s CPU a request: read + handler + log; switches a request; ' +
    'share of the run\'s requests; µs a run\'s request):');
  for (const r of rows) {
    say(`    ${r.key}: ${(r.all * 1e6).toFixed(1)} = ${(r.per.read * 1e6).toFixed(1)} + ${(r.per.handler * 1e6).toFixed(1)} + ` +
      `${(r.per.log * 1e6).toFixed(1)}; switches ${r.v.toFixed(2)} + ${r.iv.toFixed(2)} involuntary; ` +
      `${(100 * r.req / n).toFixed(1)} % (${r.hn} measured); ${us(r.all * r.req)}`);
  }
  const groups = new Map();
  for (const [tid, b] of t1) {
    const a = t0.get(tid) || { user: 0, sys: 0 };
    const name = b.name.replace(/[-_ ]?\d+$/, '');
    const g = groups.get(name) || { user: 0, sys: 0, threads: 0 };
    g.user += b.user - a.user;
    g.sys += b.sys - a.sys;
    g.threads += 1;
    groups.set(name, g);
  }
  let ended = serverSec;
  for (const g of groups.values()) ended -= g.user + g.sys;
  say(`  in requests (the account): ${us(inReq)} µs a request; the server's threads by name, µs a request ` +
    '(user + system):');
  for (const [name, g] of [...groups].sort((x, y) => (y[1].user + y[1].sys) - (x[1].user + x[1].sys))) {
    if (g.user + g.sys <= 0) continue;
    say(`    ${name} (${g.threads}): ${us(g.user + g.sys)} (${us(g.user)} + ${us(g.sys)})`);
  }
  if (Math.abs(ended) * 1e6 / n >= 0.05) say(`    (threads that ended during the run: ${us(ended)})`);
}

function keepPath() {
  const k = process.env.KEEP;
  if (!k) die('KEEP is not set: KEEP=FILE scripts/bench-kept ... (FILE is written by "scripts/bench-kept up")');
  return path.resolve(k);
}

function readJson(file) {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

/** The kept set-up of $KEEP, its server and PostgreSQL checked alive. */
function readKeep() {
  const file = keepPath();
  const again = `KEEP=${process.env.KEEP} scripts/bench-kept up [BIN]`;
  if (!fs.existsSync(file)) die(`${file}: no such file; start a kept set-up with ${again}`);
  let k;
  try {
    k = readJson(file);
  } catch (e) {
    die(`${file}: not a kept set-up's JSON (${e.message})`);
  }
  for (const f of ['url', 'token', 'pid', 'pg_pid', 'db', 'group', 'credential', 'channels', 'day_from']) {
    if (k[f] === undefined) die(`${file}: no "${f}" (not written by scripts/bench-kept up or serve?)`);
  }
  if (!alive(k.pg_pid)) die(`the kept set-up's PostgreSQL (pid ${k.pg_pid}) is gone; start a new one: ${again}`);
  if (!alive(k.pid)) die(`the kept server (pid ${k.pid}, ${k.url}) is gone; start a new one: ${again}`);
  k.file = file;
  k.runsFile = k.runs_file || `${file}.runs`;
  return k;
}

function psql(db, q) {
  return execFileSync(PSQL, ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-d', db, '-c', q],
    { encoding: 'utf8' }).trim();
}

const hotRows = (k) => Number(psql(k.db, 'SELECT count(*) FROM series_hot'));

async function waitHotEmpty(k, what, timeoutMs = 600_000) {
  const deadline = Date.now() + timeoutMs;
  let n;
  while ((n = hotRows(k)) > 0) {
    if (Date.now() > deadline) die(`${what}: the hot table still holds ${n} rows after ${timeoutMs / 1000} s`);
    await sleep(1000);
  }
}

/** Run numbers already sent on the kept database (FILE.runs): a run number
 * makes the mix's batch ids and sample times new (api_mix.lua). */
function takeRun(k, want) {
  const used = fs.existsSync(k.runsFile) ? fs.readFileSync(k.runsFile, 'utf8').split('\n').filter(Boolean)
    .map(Number) : [];
  let run = want;
  if (run === undefined) {
    run = 0;
    while (used.includes(run)) run++;
    if (run > 999) die(`${k.runsFile}: all run numbers 0-999 used on this database; start a new set-up`);
  } else if (!Number.isInteger(run) || run < 0 || run > 999) {
    die(`RUN ${want}: a whole number from 0 to 999`);
  } else if (used.includes(run)) {
    process.stderr.write(`bench-kept: run ${run} was already sent on this database: its batches are duplicates ` +
      '(leave RUN out for a new one)\n');
  }
  fs.appendFileSync(k.runsFile, `${run}\n`);
  return run;
}

function wrkArgs(k, kind, secs, run, { conns, threads }) {
  let apps = '';
  if (process.env.MIX_APPS !== '1' && k.mix_apps_file) {
    if (!fs.existsSync(k.mix_apps_file)) die(`${k.mix_apps_file} (the mix's apps) is gone: is the kept set-up up?`);
    apps = k.mix_apps_file;
  }
  const now = Date.now() * 1000;
  return [`-t${threads}`, `-c${conns}`, `-d${secs}s`, '--latency', '-s', LUA, k.url, '--', k.token,
    k.credential, String(k.group), String(k.channels[0]), String(k.day_from), String(k.day_from + 86400e6),
    String(now - 180 * MIN), k.channels.join(','), String(run), kind, apps];
}

function parseWrk(out) {
  const ms = (p) => {
    const m = new RegExp(`^\\s*${p}%\\s+([0-9.]+)(us|ms|s)\\s*$`, 'm').exec(out);
    return m ? Number(m[1]) * (m[2] === 'us' ? 1e-3 : m[2] === 's' ? 1e3 : 1) : NaN;
  };
  return {
    requests: Number(/(\d+) requests in/.exec(out)?.[1] || 0),
    rps: Number(/Requests\/sec:\s+([0-9.]+)/.exec(out)?.[1] || 0),
    p50: ms(50), p99: ms(99),
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] || 0),
    errors: /Socket errors: (.*)/.exec(out)?.[1] || '',
  };
}

function wrk(args, { show = false } = {}) {
  return new Promise((resolve, reject) => {
    const p = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.setEncoding('utf8');
    p.stdout.on('data', (d) => { out += d; if (show) process.stdout.write(d); });
    p.on('error', (e) => reject(new Error(e.code === 'ENOENT' ? 'wrk is missing (apt-get install wrk)' : e.message)));
    p.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`wrk exited with ${code}`))));
  });
}

function kindArg(s) {
  const kind = s ?? '';
  if (!KINDS.includes(kind)) die(`KIND ${kind}: one of ingest, monitor, unread, me, devices, raw, or "" (the mix)`);
  return kind;
}

function secondsArg(s, dflt) {
  const n = Number(s ?? dflt);
  if (!(n > 0) || !Number.isInteger(n)) die(`SECONDS ${s}: a whole number of seconds`);
  return n;
}

const runArg = (s) => (s === undefined || s === '' ? undefined : Number(s));
const wrkOpts = (conns = 50) => ({ conns: Number(process.env.CONNS || conns),
  threads: Number(process.env.THREADS || 2) });

async function answers(k) {
  try {
    const r = await fetch(`${k.url}/api/v1/me`, { headers: { Authorization: `Bearer ${k.token}` } });
    if (r.status !== 200) die(`${k.url}/api/v1/me answered ${r.status}: ${(await r.text()).slice(0, 200)}`);
  } catch (e) {
    die(`the kept server at ${k.url} does not answer (${e.cause?.code || e.message})`);
  }
}

// ------------------------------------------------------------ verbs
async function up(bin) {
  const file = keepPath();
  bin = path.resolve(bin || path.join(root, 'build', 'server', 'metron-server-test'));
  try {
    fs.accessSync(bin, fs.constants.X_OK);
  } catch {
    die(`${bin}: no such executable (cmake --build build --target metron-server-test, or ` +
      'scripts/bench-kept build COMMIT)');
  }
  if (fs.existsSync(file)) {
    let k = {};
    try { k = readJson(file); } catch { /* a stale half-written file */ }
    if (k.pid && alive(k.pid)) {
      die(`${file}: a set-up is kept up there (server pid ${k.pid}); ` +
        `KEEP=${process.env.KEEP} scripts/bench-kept down first`);
    }
    fs.rmSync(file);
  }
  fs.rmSync(`${file}.runs`, { force: true });
  const logFile = `${file}.log`;
  const log = fs.openSync(logFile, 'w');
  const child = spawn(path.join(root, 'scripts', 'bench-server'), [], { cwd: root, detached: true,
    stdio: ['ignore', log, log], env: { ...process.env, BENCH_KEEP: file, METRON_SERVER_BIN: bin,
      BENCH_REBUILD: '0', METRON_COMPACT_MS: process.env.METRON_COMPACT_MS || '3600000' } });
  let exited = null;
  child.on('exit', (code, signal) => { exited = { code, signal }; });
  child.unref();
  const t0 = Date.now();
  for (;;) {
    if (fs.existsSync(file)) {
      try {
        const k = readJson(file);
        say(`bench-kept: kept up at ${k.url} (server pid ${k.pid}, PostgreSQL pid ${k.pg_pid}, ` +
          `${path.basename(bin)}; set-up ${((Date.now() - t0) / 1000).toFixed(0)} s; log ${logFile}); ` +
          `KEEP=${process.env.KEEP} scripts/bench-kept down stops it`);
        process.exit(0);
      } catch { /* being written */ }
    }
    if (exited) {
      const tail = fs.readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n');
      die(`the set-up ended (${exited.code ?? exited.signal}) before writing ${file}; ${logFile} ends:\n${tail}`);
    }
    if (Date.now() - t0 > 1_200_000) die(`no ${file} after 20 minutes; see ${logFile}`);
    await sleep(500);
  }
}

async function down() {
  const file = keepPath();
  if (!fs.existsSync(file)) die(`${file}: no such file: nothing kept up there`);
  const k = readJson(file);
  fs.rmSync(file);
  if (!k.runs_file) fs.rmSync(`${file}.runs`, { force: true });
  const pids = k.copy_of ? [k.pid] : [k.pid, k.pg_pid];
  const deadline = Date.now() + 60_000;
  while (pids.some(alive)) {
    if (Date.now() > deadline) die(`still running 60 s after ${file} was removed: ${pids.filter(alive).join(' ')}`);
    await sleep(300);
  }
  say(`bench-kept: ${k.copy_of ? 'the second server' : 'the kept set-up'} at ${k.url} stopped`);
}

function serverArgs(dir) {
  fs.mkdirSync(path.join(dir, 'portal'), { recursive: true });
  return ['--listen', '127.0.0.1:0', '--data', dir, '--portal', path.join(dir, 'portal'), '--db-pool',
    String(Number(process.env.BENCH_DB_POOL || 8)), '--access-log', path.join(dir, 'access.log')];
}

function serverEnv(k) {
  return { ...process.env, DATABASE_URL: k.db, METRON_TEST_ROUTES: '1',
    METRON_COMPACT_MS: process.env.METRON_COMPACT_MS || '3600000' };
}

/** Start "cmd args" and wait for its "listening on http://..." line. */
async function startListening(cmd, args, env, what, timeoutMs) {
  const p = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  p.stdout.setEncoding('utf8');
  p.stderr.setEncoding('utf8');
  p.stdout.on('data', (d) => { out += d; });
  p.stderr.on('data', (d) => { out += d; });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = /listening on (http:\/\/[0-9.]+:\d+)\//.exec(out);
    if (m) return { proc: p, url: m[1], out: () => out };
    if (p.exitCode !== null || p.signalCode !== null) {
      die(`${what} ended (${p.exitCode ?? p.signalCode}):\n${out.slice(-2000)}`);
    }
    if (Date.now() > deadline) {
      p.kill('SIGKILL');
      die(`${what}: not listening after ${timeoutMs / 1000} s:\n${out.slice(-2000)}`);
    }
    await sleep(200);
  }
}

async function serve(bin, copy) {
  if (!bin || !copy) usage();
  const k = readKeep();
  bin = path.resolve(bin);
  copy = path.resolve(copy);
  if (!fs.existsSync(bin)) die(`${bin}: no such executable`);
  if (fs.existsSync(copy)) die(`${copy} exists: KEEP=${copy} scripts/bench-kept down first`);
  const logFile = `${copy}.log`;
  const log = fs.openSync(logFile, 'w');
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '_serve', bin, copy], { detached: true,
    stdio: ['ignore', log, log], env: process.env });
  let exited = null;
  child.on('exit', (code) => { exited = code; });
  child.unref();
  const deadline = Date.now() + 120_000;
  while (!fs.existsSync(copy)) {
    if (exited !== null) {
      die(`the second server ended before writing ${copy}:\n${fs.readFileSync(logFile, 'utf8').slice(-2000)}`);
    }
    if (Date.now() > deadline) die(`no ${copy} after 120 s; see ${logFile}`);
    await sleep(200);
  }
  const c = readJson(copy);
  // A server starts with a compactor round, and goes on while the hot table
  // has rows: runs measured meanwhile pay for folding earlier runs' batches.
  await waitHotEmpty(k, 'serve');
  const name = path.relative(root, bin).startsWith('..') ? bin : path.relative(root, bin);
  say(`bench-kept: ${name} serves the kept database at ${c.url} (pid ${c.pid}); its first ` +
    `compactor round has ended; KEEP=${copy} for run and cpu, KEEP=${copy} scripts/bench-kept down stops it`);
}

async function serveChild(bin, copy) {
  const k = readKeep();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'metron-kept-srv-'));
  const srv = await startListening(bin, serverArgs(dir), serverEnv(k), bin, 60_000);
  const { file, runsFile, ...rest } = k;
  fs.writeFileSync(`${copy}.tmp`, JSON.stringify({ ...rest, url: srv.url, pid: srv.proc.pid, bin, copy_of: file,
    runs_file: runsFile, metrics_token: process.env.METRON_METRICS_TOKEN || rest.metrics_token }) + '\n');
  fs.renameSync(`${copy}.tmp`, copy);
  while (fs.existsSync(copy) && srv.proc.exitCode === null && srv.proc.signalCode === null) await sleep(500);
  if (srv.proc.exitCode === null && srv.proc.signalCode === null) {
    srv.proc.kill('SIGTERM');
    await new Promise((r) => srv.proc.once('exit', r));
  } else {
    fs.rmSync(copy, { force: true });
    process.stdout.write(srv.out().slice(-4000));
  }
  fs.rmSync(dir, { recursive: true, force: true });
}

async function run(kind, secs, want) {
  const k = readKeep();
  kind = kindArg(kind);
  secs = secondsArg(secs);
  await answers(k);
  const r = takeRun(k, runArg(want));
  await wrk(wrkArgs(k, kind, secs, r, wrkOpts()), { show: true }).catch((e) => die(e.message));
}

async function cpu(kind, secs, want) {
  const k = readKeep();
  kind = kindArg(kind);
  secs = secondsArg(secs);
  const opts = wrkOpts();
  const warm = Number(process.env.WARM ?? 2);
  await answers(k);
  const runNo = takeRun(k, runArg(want));
  if (warm > 0) {
    await wrk(wrkArgs(k, kind, warm, takeRun(k, undefined), opts)).catch((e) => die(e.message));
  }
  // As scripts/bench-server before each run: the statistics of a hot table
  // holding a warm-up's rows, then those rows folded, so that a run does not
  // read (or pay for) the batches of the runs before it. FOLD=0: as it is.
  const fold = process.env.FOLD !== '0';
  if (fold) {
    psql(k.db, 'ANALYZE');
    const r = await fetch(`${k.url}/api/v1/test/compact`, { method: 'POST' });
    if (r.status !== 200) die(`POST ${k.url}/api/v1/test/compact: ${r.status} (FOLD=0 measures without folding)`);
  }
  const hot = hotRows(k);
  const load0 = load();
  const start = new Date();
  const routes = process.env.ROUTES === '1';
  const a0 = routes ? await routeAccount(k) : null;
  const t0 = routes ? threadCpu(k.pid) : null;
  const s0 = procCpu(k.pid);
  const p0 = clusterCpu(k.pg_pid);
  const v0 = switches(k.pid);
  const out = await wrk(wrkArgs(k, kind, secs, runNo, opts)).catch((e) => die(e.message));
  const s1 = procCpu(k.pid);
  const p1 = clusterCpu(k.pg_pid);
  const v1 = switches(k.pid);
  const t1 = routes ? threadCpu(k.pid) : null;
  const a1 = routes ? await routeAccount(k) : null;
  const w = parseWrk(out);
  if (!w.requests) die(`wrk sent no request:\n${out}`);
  const per = (x) => ((x * 1e6) / w.requests).toFixed(1);
  const user = s1.user - s0.user;
  const sys = s1.sys - s0.sys;
  say(`${kind || 'mix'}: ${fmt(w.rps)} req/s, p50 ${w.p50.toFixed(2)} ms, p99 ${w.p99.toFixed(2)} ms ` +
    `(${w.requests} requests${w.non2xx ? `, ${w.non2xx} NON-2XX` : ''}` +
    `${w.errors ? `, socket errors ${w.errors}` : ''}); ` +
    `CPU per request: server ${per(user + sys)} µs (user ${per(user)}, system ${per(sys)}), PostgreSQL ` +
    `${per(p1 - p0)} µs; server voluntary switches ${((v1 - v0) / w.requests).toFixed(2)} per request`);
  const what = kind ? `${kind} alone` : process.env.MIX_APPS !== '1' && k.mix_apps_file ?
    `the mix from ${k.mix_apps ?? 'its'} apps` : 'the mix from one app';
  say(`  wrk -t${opts.threads} -c${opts.conns} -d${secs}s after ${warm} s of warm-up, run ${runNo}` +
    `${fold ? ', ANALYZE and the hot rows folded before' : ''}, ${what}; ` +
    `${k.url} pid ${k.pid}; ${hot} hot rows before; ${start.toISOString().slice(0, 19)}Z, load ${load0} -> ${load()}`);
  if (routes) routeReport(a0, a1, t0, t1, w.requests, user + sys);
}

async function callgrind(bin, kind = 'me', secs, label) {
  if (!bin) usage();
  const k = readKeep();
  bin = path.resolve(bin);
  if (!fs.existsSync(bin)) die(`${bin}: no such executable`);
  kind = kindArg(kind);
  secs = secondsArg(secs, 8);
  const mode = process.env.COLLECT || 'all';
  if (!['all', 'handler'].includes(mode)) die(`COLLECT=${mode}: all or handler`);
  const opts = wrkOpts(4);
  label = label || `${path.basename(bin)}-${kind || 'mix'}-${new Date().toISOString().replace(/[:.]/g, '')}`;
  const dir = path.join(root, 'build', 'callgrind', label);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const vg = ['--tool=callgrind', `--callgrind-out-file=${path.join(dir, 'callgrind.out.%p')}`,
    ...(mode === 'handler' ? ['--collect-atstart=no', '--toggle-collect=api_handler',
      '--toggle-collect=cb_begin_request', '--toggle-collect=cb_end_request'] : ['--instr-atstart=no']),
    bin, ...serverArgs(path.join(dir, 'data')), '--jobs-interval', '0'];
  const srv = await startListening('valgrind', vg, serverEnv(k), `valgrind ${path.basename(bin)}`, 180_000);
  const pid = srv.proc.pid;
  const ctl = (...a) => execFileSync('callgrind_control', [...a, String(pid)],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const c = { ...k, url: srv.url };
  try {
    await waitHotEmpty(k, 'callgrind');
    const load0 = load();
    await wrk(wrkArgs(c, kind, Number(process.env.WARM ?? 3), takeRun(k, undefined), opts));
    if (mode === 'all') ctl('-i', 'on');
    ctl('-z');
    const out = await wrk(wrkArgs(c, kind, secs, takeRun(k, undefined), opts));
    if (mode === 'all') ctl('-i', 'off');
    ctl('-d');
    const w = parseWrk(out);
    const dumps = fs.readdirSync(dir).filter((f) => f.startsWith(`callgrind.out.${pid}.`))
      .sort((a, b) => Number(a.split('.').pop()) - Number(b.split('.').pop()));
    if (!dumps.length) throw new Error(`no dump of callgrind in ${dir}`);
    const dump = path.join(dir, dumps[dumps.length - 1]);
    const text = fs.readFileSync(dump, 'utf8');
    const ir = Number(/^totals:\s+(\d+)/m.exec(text)?.[1] ?? /^summary:\s+(\d+)/m.exec(text)?.[1]);
    if (!w.requests || !Number.isFinite(ir)) throw new Error(`no requests or no totals (${dump})`);
    say(`callgrind ${kind || 'mix'}: ${fmt(ir / w.requests)} instructions per request (${ir} over ${w.requests} ` +
      `requests${w.non2xx ? `, ${w.non2xx} NON-2XX` : ''}); ${path.basename(bin)}, COLLECT=${mode}, wrk ` +
      `-t${opts.threads} -c${opts.conns} -d${secs}s; ${new Date().toISOString().slice(0, 19)}Z, load ${load0} -> ` +
      `${load()}; dump ${path.relative(root, dump)}`);
  } catch (e) {
    process.stderr.write(srv.out().slice(-2000));
    die(e.message);
  } finally {
    srv.proc.kill('SIGTERM');
    await new Promise((r) => (srv.proc.exitCode !== null ? r() : srv.proc.once('exit', r)));
  }
}

const [verb, ...args] = process.argv.slice(2);
const verbs = { up: () => up(args[0]), down, serve: () => serve(args[0], args[1]),
  _serve: () => serveChild(args[0], args[1]),
  run: () => run(args[0], args[1], args[2]), cpu: () => cpu(args[0], args[1], args[2]),
  callgrind: () => callgrind(args[0], args[1], args[2], args[3]) };
if (!verbs[verb]) usage();
if (['run', 'cpu'].includes(verb) && args.length < 2) usage();
await verbs[verb]();
