// Test harness for the server's integration tests (node --test).
//
//   const pg = await startPostgres();          // a fresh cluster in a temp folder
//   const srv = await startServer({ databaseUrl: await pg.createDatabase() });
//   const res = await fetch(srv.url + '/api/v1/health');
//   await srv.stop(); await pg.destroy();
//
// PostgreSQL runs as the `postgres` system user when the tests run as root
// (initdb refuses root). Everything listens on 127.0.0.1 on free ports.
// METRON_SERVER_BIN names the binary (default build/server/metron-server-test, the
// build with the test-only routes).
// Whatever the harness starts is stopped when the test file ends, even when
// a test failed before its own stop() (see "what a test file leaves" below).
import { spawn, execFile, execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { after, before } from 'node:test';
import { freePort, pgTuningOptions } from '../../scripts/cluster.mjs';
import { mailProblems, personTextProblems } from './person_text.mjs';
// The API contract check needs the npm devDependencies (ajv, ajv-formats,
// yaml): say how to get them rather than failing on a bare import error.
export const { checkResponse } = await import('./api_contract.mjs').catch((e) => {
  if (e.code !== 'ERR_MODULE_NOT_FOUND') throw e;
  throw new Error(`tests/server/harness.mjs: ${e.message}. Run scripts/bootstrap (or npm ci) ` +
    'in the checkout: package.json lists what the tests need.');
});

const execFileP = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '..', '..');
export const serverBin = process.env.METRON_SERVER_BIN ||
  path.join(repoRoot, 'build', 'server', 'metron-server-test');
export const pgBin = process.env.METRON_PG_BIN || '/usr/lib/postgresql/15/bin';

/**
 * The argon2id cost of the test servers' new password hashes (docs/testing.md
 * "Password hashing in the test build"): the least argon2 allows, m=8 KiB and
 * one pass, instead of the real m=19456 KiB and two (~20-50 ms of a CPU each),
 * because the suites sign up and sign in thousands of times. Set on the test
 * build (metron-server-test; the production build ignores the variable) by
 * startServer() for the files `node --test` runs (NODE_TEST_CONTEXT), not
 * for the benchmarks, which run with node alone and hash as production does.
 * METRON_TEST_PASSWORD_COST in the environment (e.g. "real", the whole suite
 * with the real cost) or in a server's options.env wins; a test that needs
 * the real cost (auth_hash_gate: hashes that take time) sets "real".
 */
export const TEST_PASSWORD_COST = 'm=8,t=1';

/** The environment of a server "bin" started with "env": the test cost of
 * password hashes added where it applies (see TEST_PASSWORD_COST). */
function withTestPasswordCost(env, bin) {
  if (env.METRON_TEST_PASSWORD_COST === undefined && process.env.NODE_TEST_CONTEXT &&
      path.basename(bin) !== 'metron-server') {
    return { ...env, METRON_TEST_PASSWORD_COST: TEST_PASSWORD_COST };
  }
  return env;
}

let sanitizedMemo;
/** Whether METRON_SERVER_BIN is an ASan+UBSan build (-DMT_SANITIZE=ON: the
 * sanitizer's runtime is linked into the file, "__asan_init" in its
 * symbols). METRON_TEST_SANITIZED=1 or 0 says so instead of the file. The
 * request sweep (attack_sweep.test.mjs) runs its whole matrix of hostile
 * values against such a server and a smoke part of it against a release one. */
export function serverSanitized() {
  if (sanitizedMemo === undefined) {
    const v = process.env.METRON_TEST_SANITIZED;
    sanitizedMemo = v === '1' || (v !== '0' && fs.readFileSync(serverBin).includes('__asan_init'));
  }
  return sanitizedMemo;
}

const isRoot = process.getuid && process.getuid() === 0;

function postgresUser() {
  if (!isRoot) return {};
  const line = fs.readFileSync('/etc/passwd', 'utf8').split('\n')
    .find((l) => l.startsWith('postgres:'));
  if (!line) throw new Error('running as root needs the postgres system user');
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

// ------------------------------------------------------------ what a test file leaves
//
// Every process and cluster this harness starts (servers, PostgreSQL
// clusters, SMTP sinks, runServer() children) and every tempDir() is
// registered here and stopped or removed when the test file's process ends,
// however it ends: all tests done (process 'exit'), a signal (the test
// runner's --test-timeout sends SIGTERM, Ctrl-C sends SIGINT), or the file's
// time limit below. So a failed assertion that skipped a test's srv.stop()
// leaves nothing running. The children do not keep the file alive either
// (their handles are unref()ed except while a test waits for one to exit):
// a test file ends when its tests have ended.
//
// In a test file (run by node --test, or a *.test.mjs run by node) two time
// limits turn a hang into a failure with a message:
//   - the whole file: METRON_TEST_FILE_TIMEOUT_S seconds (default 600; a
//     file that takes more than half of it says so at its end);
//   - after its last test: 120 s for the file's `after` hooks to finish.
// Past either, the harness names what was still running, stops it and
// exits with code 1.
const registry = new Set(); // { what, alive(), stop() } stopped synchronously
const tempDirs = new Set();
const testFile = process.argv[1] || '';
export const underTest = Boolean(process.env.NODE_TEST_CONTEXT) || /\.test\.mjs$/.test(testFile);
const fileLabel = testFile.startsWith(repoRoot + path.sep) ? path.relative(repoRoot, testFile) : testFile;

/** Block the thread for "ms" (only in the synchronous clean-up below). */
function sleepSync(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Whether pid is a live process (not gone, not a zombie). */
function pidAlive(pid) {
  try {
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** SIGTERM, up to "graceMs" to go, then SIGKILL. */
function terminateSync(pid, graceMs) {
  try { process.kill(pid, 'SIGTERM'); } catch { return; }
  for (let waited = 0; waited < graceMs && pidAlive(pid); waited += 50) sleepSync(50);
  if (pidAlive(pid)) {
    try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
  }
}

/** Stop a PostgreSQL cluster whose data folder is "dir", if it runs. */
function stopClusterSync(dir) {
  let pid = 0;
  try {
    pid = Number(fs.readFileSync(path.join(dir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch {
    return false;
  }
  if (!pid || !pidAlive(pid)) return false;
  try {
    execFileSync(path.join(pgBin, 'pg_ctl'), ['-D', dir, '-m', 'immediate', '-w', '-t', '10',
      'stop'], { ...postgresUser(), cwd: '/', stdio: 'ignore', timeout: 15000 });
  } catch {
    try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
  }
  return true;
}

/** Register a child process: stopped at the end unless it has exited. Its
 * handles no longer keep the event loop alive. */
function track(proc, what, { graceMs = 5000, unref = true } = {}) {
  const entry = {
    what: `${what} (pid ${proc.pid})`,
    alive: () => proc.exitCode === null && proc.signalCode === null && pidAlive(proc.pid),
    stop: () => terminateSync(proc.pid, graceMs),
  };
  registry.add(entry);
  proc.on('exit', () => registry.delete(entry));
  if (unref) {
    proc.unref();
    proc.stdout?.unref?.();
    proc.stderr?.unref?.();
  }
  return entry;
}

/** Register a child process started outside the harness (e.g. a
 * metron-gateway) so that it is stopped when the test file ends, however it
 * ends. Its handles stay referenced. */
export function trackProcess(proc, what) {
  return track(proc, what, { unref: false });
}

/** Stop everything still running, remove the temp folders; returns what ran. */
function cleanUpSync() {
  const stopped = [];
  for (const e of [...registry]) {
    registry.delete(e);
    if (e.alive()) {
      stopped.push(e.what);
      e.stop();
    }
  }
  // Clusters in a temp folder: a test's own, or a server's embedded one (DATA/pg).
  for (const d of tempDirs) {
    for (const sub of ['data', 'pg']) {
      if (stopClusterSync(path.join(d, sub))) stopped.push(`PostgreSQL in ${path.join(d, sub)}`);
    }
  }
  for (const d of tempDirs) fs.rmSync(d, { recursive: true, force: true });
  tempDirs.clear();
  return stopped;
}

function say(text) {
  process.stderr.write(`harness: ${fileLabel}: ${text}\n`);
}

process.on('exit', () => {
  const stopped = cleanUpSync();
  if (stopped.length) say(`stopped what was left running: ${stopped.join(', ')}`);
});
for (const [sig, n] of [['SIGINT', 2], ['SIGTERM', 15], ['SIGHUP', 1]]) {
  process.on(sig, () => {
    say(`${sig}: stopping ${registry.size} process(es) and the clusters of the file`);
    process.exit(128 + n); // the 'exit' handler above cleans up
  });
}

/** Fail the file with a message naming what was still running. */
function giveUp(why) {
  const running = [...registry].filter((e) => e.alive()).map((e) => e.what);
  say(`${why}; still running: ${running.join(', ') || 'no child process'}. ` +
    'Stopping everything and failing the file.');
  process.exit(1);
}

if (underTest) {
  const limitS = Number(process.env.METRON_TEST_FILE_TIMEOUT_S || 600);
  const t0 = Date.now();
  process.on('exit', () => {
    const s = (Date.now() - t0) / 1000;
    if (s > limitS / 2) say(`took ${s.toFixed(0)} s of its ${limitS} s limit`);
  });
  setTimeout(() => giveUp(`did not finish in ${limitS} s (METRON_TEST_FILE_TIMEOUT_S)`),
    limitS * 1000).unref();
  // Registered first, this hook runs when the last test has ended, before
  // the file's own `after` hooks.
  after(() => {
    setTimeout(() => giveUp('still running 120 s after its last test'), 120000).unref();
  });
}

/** A free TCP port on 127.0.0.1: the operator's cluster script's (one copy). */
export { freePort };

/** A temp folder that the postgres user can also reach; removed by rm(). */
/**
 * Every production route of the server's route tables (server/<layer>/*.c,
 * test-only routes left out): [{ method, pattern, auth, body }], "pattern"
 * with its '*' for path ids.
 */
export function serverRoutes() {
  const out = [];
  for (const name of fs.readdirSync(path.join(repoRoot, 'server'), { recursive: true })) {
    if (!name.endsWith('.c')) continue;
    const text = fs.readFileSync(path.join(repoRoot, 'server', name), 'utf8');
    const re = /\{\s*"(GET|POST|PUT|PATCH|DELETE)",\s*"([^"]+)",\s*\w+,\s*(AUTH_\w+),\s*(BODY_\w+),\s*(true|false)/g;
    for (const m of text.matchAll(re)) {
      if (m[5] === 'true') continue; // test-only routes
      out.push({ method: m[1], pattern: m[2], auth: m[3], body: m[4] });
    }
  }
  return out;
}

export function tempDir(prefix = 'metron-test-') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.chmodSync(dir, 0o755);
  tempDirs.add(dir);
  return dir;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** startStack(opts) before the file's tests and stopStack() after them.
 * The object returned gets the stack's pg, srv and db once it has started;
 * its sql(q) runs a statement on the stack's database. */
export function useStack(opts = {}) {
  const stack = { sql: (q) => stack.pg.psql(q, stack.db) };
  before(async () => { Object.assign(stack, await startStack(opts)); });
  after(() => stopStack(stack));
  return stack;
}

/** GET /metrics of the server at "url" with the bearer "token": its
 * samples whose names start with "prefix", keyed by name and labels as
 * written ("metron_x" or 'metron_x{a="b"}'). Throws unless it answers 200. */
export async function metricSamples(url, token, prefix = 'metron_') {
  const r = await fetch(url + '/metrics', { headers: { authorization: `Bearer ${token}` } });
  const text = await r.text();
  if (r.status !== 200) throw new Error(`GET /metrics answered ${r.status}: ${text}`);
  const out = {};
  for (const line of text.split('\n')) {
    if (!line.startsWith(prefix)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (m) out[m[1] + (m[2] || '')] = Number(m[3]);
  }
  return out;
}

/** spawn(cmd, args, opts) with stdout and stderr collected as text,
 * tracked as "what" (trackProcess). output() is what it wrote so far;
 * exited resolves to {code, signal}; waitFor(re, ms) resolves to the first
 * match of "re" in its output (group 1 if any, else the whole match) and
 * rejects, with the output, if the process ends first or after "ms". */
export function spawnWatched(cmd, args, opts, what) {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  trackProcess(proc, what);
  let out = '';
  for (const s of [proc.stdout, proc.stderr]) {
    s.setEncoding('utf8');
    s.on('data', (d) => { out += d; });
  }
  const exited = new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  return {
    proc,
    exited,
    output: () => out,
    async waitFor(re, ms) {
      for (const deadline = Date.now() + ms; ; await sleep(50)) {
        const m = re.exec(out);
        if (m) return m[1] ?? m[0];
        if (proc.exitCode !== null || proc.signalCode !== null) {
          throw new Error(`${what} exited (${proc.exitCode ?? proc.signalCode}) before saying ${re}:\n${out}`);
        }
        if (Date.now() > deadline) throw new Error(`${what} did not say ${re} within ${ms} ms:\n${out}`);
      }
    },
  };
}

/** Poll "fn" every "everyMs" until it returns a truthy value, which it
 * returns (a state, not a time); throws naming "what" after "timeoutMs". */
export async function pollUntil(fn, what, timeoutMs = 60000, everyMs = 20) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** A psql session on database "db" of the cluster "pg" (startPostgres())
 * that is sent "first" at once: out() and err() are what it printed so
 * far, end(rest) sends "rest", closes its input and resolves once it has
 * exited (rejecting unless it exited 0). */
export function psqlSession(pg, db, first) {
  const p = spawn(path.join(pgBin, 'psql'), ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1',
    '-h', '127.0.0.1', '-p', String(pg.port), '-U', 'postgres', '-d', db],
  { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  p.stdout.on('data', (d) => { out += d; });
  p.stderr.on('data', (d) => { err += d; });
  const exited = new Promise((resolve) => p.on('exit', resolve));
  p.stdin.write(first);
  return {
    out: () => out,
    err: () => err,
    exited: () => p.exitCode !== null,
    /** Send more of the session's input. */
    write: (text) => p.stdin.write(text),
    async end(rest) {
      p.stdin.end(rest);
      const code = await exited;
      if (code !== 0) throw new Error(`psql exited with ${code}: ${err}`);
    },
  };
}

/** The herd of a remembered reply (issue 16, devstall, herd2): "n"
 * requests, each "send(i)", sent while a psql session on "db" of "pg" holds
 * "table" locked; once one of them waits for the lock (a statement of
 * pg_stat_activity whose text is ILIKE "like", counted through "sql"),
 * "more()" (optional) sends others, and 500 ms later the lock is let go.
 * Resolves to { replies, more, waiting, d }: the replies, what more()
 * resolved to, the statements waiting for the lock just before it was let
 * go, and d(role): the shared reads of that role ("shared", "lead", ...)
 * the server at metrics.url counted meanwhile (metrics: { url, token }). */
export async function herdWhileLocked({ pg, db, sql, table, like, n, send, more, metrics }) {
  const roles = async () => {
    if (!metrics) return () => 0;
    const m = await metricSamples(metrics.url, metrics.token, 'metron_shared_reads_total');
    return (role) => m[`metron_shared_reads_total{role="${role}"}`] ?? 0;
  };
  const waiters = `SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'
    AND query ILIKE '${like}' AND pid <> pg_backend_pid()`;
  const before0 = await roles();
  const hold = psqlSession(pg, db, `BEGIN; LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE; SELECT 'locked';\n`);
  let all;
  let others;
  let waiting;
  try {
    await pollUntil(async () => hold.out().includes('locked') || hold.exited(), 'the lock');
    if (!hold.out().includes('locked')) throw new Error(`LOCK TABLE ${table}: ${hold.err()}`);
    all = Promise.all(Array.from({ length: n }, (_, i) => send(i)));
    await pollUntil(async () => Number(await sql(waiters)) >= 1, `a read waiting for the lock of ${table}`);
    others = more ? more() : undefined;
    await sleep(500); // the other requests come and wait for it
    waiting = Number(await sql(waiters));
  } finally {
    await hold.end('COMMIT;\n');
  }
  const replies = await all;
  const moreReplies = await others;
  const after0 = await roles();
  return { replies, more: moreReplies, waiting, d: (role) => after0(role) - before0(role) };
}

/** That a herd's requests shared their reads (herdWhileLocked's d): at
 * least "shared" followers, at most "leads" leaders of any kind. */
export function herdShared(d, { shared = 5, leads = 3 } = {}) {
  const led = d('lead') + d('lead_waited') + d('lead_gathered');
  if (d('shared') < shared || led > leads) {
    throw new Error(`shared ${d('shared')} (want >= ${shared}), leads ${d('lead')} + ${d('lead_waited')} + ` +
      `${d('lead_gathered')} (want <= ${leads}), alone ${d('alone')}`);
  }
}

/** The access log's size in bytes now (for accessLogWith's "from"). */
export function accessLogSize(dataDir) {
  const file = path.join(dataDir, 'access.log');
  return fs.existsSync(file) ? fs.statSync(file).size : 0;
}

/** The access log's text (from byte "from" on) once it matches every one of
 * "patterns" (its lines are written by one thread in batches, docs/server.md
 * "Access log": a line shows up some milliseconds after its reply, more on a
 * loaded machine). Throws after "timeoutMs" with what the file held. */
export async function accessLogWith(dataDir, patterns, { from = 0, timeoutMs = 15000 } = {}) {
  const file = path.join(dataDir, 'access.log');
  const deadline = Date.now() + timeoutMs;
  let text = '';
  for (;;) {
    text = fs.existsSync(file) ? fs.readFileSync(file).subarray(from).toString('utf8') : '';
    if (patterns.every((re) => re.test(text))) return text;
    if (Date.now() > deadline) {
      throw new Error(`the access log never held ${patterns.filter((re) => !re.test(text)).join(', ')}:\n${text.slice(-2000)}`);
    }
    await sleep(20);
  }
}

/** Run a PostgreSQL program as the cluster's user. */
async function pgRun(prog, args, opts = {}) {
  return execFileP(path.join(pgBin, prog), args, {
    ...postgresUser(), cwd: opts.cwd || '/', env: { ...process.env, LC_ALL: 'C.UTF-8' },
    timeout: 60000,
  });
}

/** A new cluster's data folder "dir" (which must not exist), as every test
 * cluster starts: superuser postgres, trust on loopback, UTF-8, C.UTF-8. */
async function initdb(dir) {
  const ids = postgresUser();
  fs.mkdirSync(dir, { mode: 0o700 });
  if (isRoot) fs.chownSync(dir, ids.uid, ids.gid);
  await pgRun('initdb', ['-D', dir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8',
    '--locale=C.UTF-8', '--no-sync'], { cwd: dir });
}

/**
 * "dir" as a copy of the data folder "template" holds, made by initdb() the
 * first time (scripts/test names one folder for its whole run in
 * METRON_TEST_PG_TEMPLATE: a copy costs half the CPU of initdb, and every
 * test file starts one or more clusters). The first file to need it runs
 * initdb in a folder of its own beside "template", adds the migrated
 * databases (migratedTemplate()) and renames it into place; a file that
 * loses that race uses the winner's. Every copy is the cluster initdb
 * leaves, stopped cleanly, with those databases.
 */
async function copyPgTemplate(template, dir) {
  if (!fs.existsSync(path.join(template, 'PG_VERSION'))) {
    fs.mkdirSync(path.dirname(template), { recursive: true });
    const mine = `${template}.${process.pid}`;
    fs.rmSync(mine, { recursive: true, force: true });
    await initdb(mine);
    await migratedTemplate(mine);
    try {
      fs.renameSync(mine, template);
    } catch (e) {
      // Another file made it first (the target exists and is not empty).
      if (!fs.existsSync(path.join(template, 'PG_VERSION'))) throw e;
      fs.rmSync(mine, { recursive: true, force: true });
    }
  }
  // cp -a keeps the owner (postgres when the tests run as root) and modes.
  await execFileP('cp', ['-a', template, dir], { timeout: 60000 });
}

// ------------------------------------------------------------ migrated template
//
// A new database of a test cluster used to be migrated by the first server
// started on it: every migration of server/migrations, about 1.5 s of
// PostgreSQL's CPU a database, some 200 databases a run of server_http
// (docs/testing.md "Suite time"). With a template folder
// (METRON_TEST_PG_TEMPLATE) the harness migrates one database once, with
// the test build told to stop after its migrations (METRON_TEST_MIGRATE_ONLY:
// nothing of a start is in it, no secret, no CA), and the template holds
// MIGRATED_READY copies of it: createDatabase() renames a copy (no cost)
// while the cluster has one (one: most files make one database, and each
// copy of the template copies them), then copies the migrated one (CREATE DATABASE
// ... TEMPLATE, half the CPU of the migrations). So a server started on a
// database of createDatabase() finds its schema current ("0 migrations
// applied now"); a test of the migrations themselves asks for an empty
// database: createDatabase(name, { empty: true }). The copies are marked
// templates (datistemplate), so lists of a cluster's databases leave them
// out. They are used only when the migrations of the checkout are those
// migrated (MIGRATED_FILE holds their hash).
const MIGRATED_DB = 'metron_migrated';
const MIGRATED_READY = 1;
const MIGRATED_FILE = 'metron_test_migrated.json';

/** A hash of this checkout's migrations (names and texts). */
function migrationsHash() {
  const dirM = path.join(repoRoot, 'server', 'migrations');
  const h = crypto.createHash('sha256');
  for (const f of fs.readdirSync(dirM).filter((n) => n.endsWith('.sql')).sort()) {
    h.update(f).update('\0').update(fs.readFileSync(path.join(dirM, f))).update('\0');
  }
  return h.digest('hex');
}

/** Add the migrated databases to the new cluster "dir" (not started):
 * started on a free port, MIGRATED_DB migrated by the test build
 * (serverBin with METRON_TEST_MIGRATE_ONLY), MIGRATED_READY copies of it,
 * stopped cleanly. A server binary that is not a test build (it does not
 * stop after its migrations) leaves the cluster without them. */
async function migratedTemplate(dir) {
  const port = await freePort();
  // wal_recycle off: the WAL of the migrations is removed at the stop, not
  // kept for later (every copy of the template copies pg_wal).
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off ` +
    '-c full_page_writes=off -c wal_recycle=off -c min_wal_size=32MB';
  await pgRun('pg_ctl', ['-D', dir, '-l', path.join(dir, 'log'), '-o', opts, '-w', '-t', '30', 'start'],
    { cwd: dir });
  const psql = (db, sql) => execFileP(path.join(pgBin, 'psql'), ['-X', '-q', '-v', 'ON_ERROR_STOP=1',
    '-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-d', db, '-c', sql]);
  const data = fs.mkdtempSync(path.join(os.tmpdir(), 'metron-migrate-'));
  try {
    await psql('postgres', `CREATE DATABASE ${MIGRATED_DB}`);
    const env = { ...process.env, METRON_TEST_MIGRATE_ONLY: '1',
      DATABASE_URL: `postgresql://postgres@127.0.0.1:${port}/${MIGRATED_DB}` };
    let out = '';
    try {
      const r = await execFileP(serverBin, ['--listen', '127.0.0.1:0', '--data', data], { env, timeout: 120000 });
      out = r.stderr + r.stdout;
    } catch (e) {
      out = `${e.stderr || ''}${e.stdout || ''}`;
    }
    if (/migrations only \(METRON_TEST_MIGRATE_ONLY\)/.test(out)) {
      for (let k = 1; k <= MIGRATED_READY; k++) {
        await psql('postgres', `CREATE DATABASE ${MIGRATED_DB}_${k} TEMPLATE ${MIGRATED_DB} STRATEGY FILE_COPY`);
      }
      for (let k = 0; k <= MIGRATED_READY; k++) {
        await psql('postgres', `ALTER DATABASE ${k ? `${MIGRATED_DB}_${k}` : MIGRATED_DB} IS_TEMPLATE true`);
      }
      // The WAL written so far in a segment of its own, dropped at this
      // checkpoint (wal_recycle off): the template keeps one segment.
      await psql('postgres', 'SELECT pg_switch_wal()');
      await psql('postgres', 'CHECKPOINT');
      fs.writeFileSync(path.join(dir, MIGRATED_FILE), JSON.stringify({ hash: migrationsHash(),
        ready: Array.from({ length: MIGRATED_READY }, (_, k) => `${MIGRATED_DB}_${k + 1}`) }));
    } else {
      await psql('postgres', `DROP DATABASE ${MIGRATED_DB}`);
      say(`the template cluster has no migrated database (${serverBin} did not stop after its ` +
        `migrations):\n${out.slice(-2000)}`);
    }
  } finally {
    fs.rmSync(data, { recursive: true, force: true });
    await pgRun('pg_ctl', ['-D', dir, '-m', 'fast', '-w', 'stop'], { cwd: dir });
  }
}

/** The migrated databases of the cluster in "dir" (a copy of the
 * template): { template, ready } or null without them (or when this
 * checkout's migrations are not those migrated). */
function migratedOf(dir) {
  let m;
  try {
    m = JSON.parse(fs.readFileSync(path.join(dir, MIGRATED_FILE), 'utf8'));
  } catch {
    return null;
  }
  return m.hash === migrationsHash() ? { template: MIGRATED_DB, ready: m.ready } : null;
}

/**
 * An experiment's PostgreSQL settings over pg_tuning.conf's, for durable
 * clusters (benchmarks): BENCH_PG_SET="wal_sync_method=fsync commit_delay=20"
 * (names and values separated by spaces or commas). Durability is not
 * negotiable: fsync, synchronous_commit and full_page_writes are refused
 * (BENCH_PG=fast is the labelled non-durable mode). pg.durability() prints
 * each with the value the cluster reports, and the variable itself.
 * Returns [[name, value], ...].
 */
export function benchPgSet() {
  const text = (process.env.BENCH_PG_SET || '').trim();
  if (!text) return [];
  return text.split(/[\s,]+/).map((item) => {
    const m = /^([a-z_]+)=([A-Za-z0-9_.]+)$/.exec(item);
    if (!m) throw new Error(`BENCH_PG_SET: "${item}" is not name=value`);
    if (['fsync', 'synchronous_commit', 'full_page_writes'].includes(m[1])) {
      throw new Error(`BENCH_PG_SET: ${m[1]} stays as pg_tuning.conf has it (durable benchmarks)`);
    }
    return [m[1], m[2]];
  });
}

/**
 * Create and start a private cluster: { port, dir, url(db), createDatabase(),
 * psql(sql, db), stop(), start(), destroy() }.
 */
/**
 * A PostgreSQL 15 cluster of its own. Tests need speed, not durability:
 * by default fsync, synchronous_commit and full_page_writes are off.
 * Benchmarks pass { durable: true }: PostgreSQL's durable defaults (every
 * commit flushed to disk before it is acknowledged) with the settings of
 * server/db/pg_tuning.conf, as the server's own cluster runs.
 * pg.durability() answers what the running cluster does ("fsync=on,
 * synchronous_commit=on, full_page_writes=on, wal_sync_method=fdatasync").
 */
export async function startPostgres({ durable = false } = {}) {
  const root = tempDir('metron-pg-');
  const dir = path.join(root, 'data');
  const template = process.env.METRON_TEST_PG_TEMPLATE;
  if (template) await copyPgTemplate(template, dir);
  else await initdb(dir);
  const migrated = template ? migratedOf(dir) : null;
  const port = await freePort();
  // Durable clusters (benchmarks) get the settings of the clusters Metron
  // runs (server/db/pg_tuning.conf), so that a benchmark measures what runs.
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1` + (durable ? pgTuningOptions() +
    benchPgSet().map(([n, v]) => ` -c ${n}=${v}`).join('') :
    ' -c fsync=off -c synchronous_commit=off -c full_page_writes=off') +
    // Extra server options for profiling (e.g. "-c shared_preload_libraries=pg_stat_statements").
    (process.env.METRON_TEST_PG_OPTS ? ` ${process.env.METRON_TEST_PG_OPTS}` : '');
  const pg = {
    port, dir, root, dbCount: 0, durable,
    url: (db = 'postgres') => `postgresql://postgres@127.0.0.1:${port}/${db}`,
    async start() {
      await pgRun('pg_ctl', ['-D', dir, '-l', path.join(dir, 'log'), '-o', opts, '-w',
        '-t', '30', 'start'], { cwd: dir });
    },
    async stop() {
      await pgRun('pg_ctl', ['-D', dir, '-m', 'fast', '-w', 'stop'], { cwd: dir });
    },
    /** Run SQL with psql; returns the unaligned output (rows by \n, cols by |). */
    async psql(sql, db = 'postgres') {
      const { stdout } = await execFileP(path.join(pgBin, 'psql'),
        ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-p',
          String(port), '-U', 'postgres', '-d', db, '-c', sql]);
      return stdout.trim();
    },
    /** Run "sql" every "everyMs" until its output is "want"; throws with
     * the last output after "timeoutMs". */
    async until(sql, want, db = 'postgres', timeoutMs = 60000, everyMs = 100) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const got = await this.psql(sql, db);
        if (got === want) return;
        if (Date.now() > deadline) throw new Error(`${sql}: ${got}, wanted ${want}`);
        await sleep(everyMs);
      }
    },
    /** Run each statement with psql as its own transaction, in one session;
     * returns the output, notifications of the session included
     * ('Asynchronous notification "channel" with payload "..." ...'). */
    async psqlEach(statements, db = 'postgres') {
      const args = ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-p',
        String(port), '-U', 'postgres', '-d', db];
      for (const st of statements) args.push('-c', st);
      const { stdout } = await execFileP(path.join(pgBin, 'psql'), args);
      return stdout.trim();
    },
    /** The durability settings in force, and the WAL and memory settings
     * that pg_tuning.conf changes, as one line. */
    async durability() {
      const names = ['fsync', 'synchronous_commit', 'full_page_writes', 'wal_level', 'wal_sync_method',
        'shared_buffers', 'wal_init_zero', 'wal_compression', 'max_wal_size'];
      // An experiment's settings (BENCH_PG_SET), as the cluster reports them.
      const set = durable ? benchPgSet().map(([n]) => n).filter((n) => !names.includes(n)) : [];
      const all = [...names, ...set];
      const vals = (await pg.psql(`SELECT ${all.map((n) => `current_setting('${n}')`).join(" || ',' || ")}`))
        .split(',');
      const line = all.map((n, i) => `${n}=${vals[i]}`).join(', ');
      const extra = durable ? benchPgSet().map(([n, v]) => `${n}=${v}`).join(' ') : '';
      return extra ? `${line} [BENCH_PG_SET=${extra}]` : line;
    },
    /** The postmaster's pid (its backends are its children). */
    pid() {
      return Number(fs.readFileSync(path.join(dir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    },
    /** A new database; returns its URL. Migrated (the schema of this
     * checkout's migrations: "migrated template" above) when the cluster
     * is a copy of a template folder, unless "empty" (then as initdb's
     * template1, for the tests of the migrations themselves). */
    async createDatabase(name, { empty = false } = {}) {
      const db = name || `metron_t${++pg.dbCount}_${process.pid}`;
      if (!empty && migrated?.ready.length) {
        const ready = migrated.ready.shift();
        await pg.psqlEach([`ALTER DATABASE ${ready} IS_TEMPLATE false`, `ALTER DATABASE ${ready} RENAME TO ${db}`]);
      } else if (!empty && migrated) {
        await pg.psql(`CREATE DATABASE ${db} TEMPLATE ${migrated.template}`);
      } else {
        await pg.psql(`CREATE DATABASE ${db}`);
      }
      return pg.url(db);
    },
    async destroy() {
      try { await pg.stop(); } catch { /* already stopped */ }
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
  await pg.start();
  return pg;
}

/**
 * The usual fixture of a test file: a PostgreSQL cluster with a fresh
 * database and a server on it. "options" go to startServer (databaseUrl is
 * set here). Returns { pg, srv, db, url }; stop it with stopStack().
 */
export async function startStack(options = {}) {
  const pg = await startPostgres();
  try {
    const url = await pg.createDatabase();
    const srv = await startServer({ ...options, databaseUrl: url });
    return { pg, srv, url, db: new URL(url).pathname.slice(1) };
  } catch (e) {
    await pg.destroy();
    throw e;
  }
}

/** Stop what startStack() started; the server must exit with code 0 and
 * without a sanitizer report. */
export async function stopStack({ pg, srv } = {}) {
  const exit = await srv?.stop();
  await destroyChecked(pg);
  if (srv) fs.rmSync(srv.dataDir, { recursive: true, force: true });
  if (exit?.code !== 0) throw new Error(`the server exited with ${JSON.stringify(exit)}: ${srv?.stderr()}`);
  if (/runtime error|AddressSanitizer|LeakSanitizer/.test(srv?.stderr() || '')) {
    throw new Error(`sanitizer report: ${srv.stderr()}`);
  }
}

/**
 * Destroy cluster "pg" (nothing when it is null) after checking what its
 * outbox and inboxes hold for people, sent or not (alarm notices, quota,
 * licence, file alarms...: most tests never hand them to an SMTP sink):
 * throws when a text shows a person a code (outboxProblems()). The portal's
 * and the gateway's test stacks end with it too.
 */
export async function destroyChecked(pg) {
  const unsent = pg ? await outboxProblems(pg).catch(() => []) : [];
  await pg?.destroy();
  if (unsent.length) {
    throw new Error(`the outbox holds texts that show a person codes (tests/server/person_text.mjs):\n  ` +
      unsent.join('\n  '));
  }
}

/**
 * The codes a person would see in the notification outbox of every
 * database of cluster "pg" (person_text.mjs): each row's title, body,
 * fields and link label (one row per message and language).
 */
export async function outboxProblems(pg) {
  const dbs = (await pg.psql("SELECT datname FROM pg_database WHERE NOT datistemplate AND datname <> 'postgres'"))
    .split('\n').filter(Boolean);
  const found = [];
  for (const db of dbs) {
    const q = `SELECT CASE WHEN to_regclass('notify_outbox') IS NULL THEN '' ELSE (
      SELECT coalesce(json_agg(json_build_object('id', id, 'kind', kind, 'texts',
        jsonb_build_array(title, body, coalesce(link_label, '')) ||
        coalesce((SELECT jsonb_agg(v.x) FROM jsonb_array_elements(fields) f,
          LATERAL (VALUES (f->>'name'), (f->>'value')) v(x)), '[]'::jsonb))
        ORDER BY id), '[]')::text
      FROM (SELECT DISTINCT ON (message_id, language) id, kind, title, body, link_label, fields
            FROM notify_outbox ORDER BY message_id, language, id) o) END
      || CASE WHEN to_regclass('notifications') IS NULL THEN '' ELSE (
      SELECT coalesce(json_agg(json_build_object('id', id, 'kind', kind, 'inbox', true,
        'texts', json_build_array(title, body)) ORDER BY id), '[]')::text
      FROM (SELECT DISTINCT ON (kind, title, body) id, kind, title, body FROM notifications) n) END`;
    const out = (await pg.psql(q, db)).trim();
    if (!out) continue;
    const rows = out.split('][').map((x, i, a) => JSON.parse(`${i ? '[' : ''}${x}${i < a.length - 1 ? ']' : ''}`)).flat();
    for (const row of rows) {
      for (const p of personTextProblems(row.texts.filter((x) => typeof x === 'string'))) {
        found.push(`${db} ${row.inbox ? 'inbox' : 'outbox'} ${row.id} (${row.kind}): ${p}`);
      }
    }
  }
  return found;
}

/**
 * Start metron-server. Options: databaseUrl (omit for the embedded default),
 * dataDir, portalDir, args (extra flags), env (extra environment),
 * waitHealthy (default true), bin (another binary than METRON_SERVER_BIN's,
 * such as the production build). Returns { url, port, proc, dataDir, stdout(),
 * stderr(), exited (promise of {code, signal}), stop(signal) }.
 */
export async function startServer(options = {}) {
  const dataDir = options.dataDir || tempDir('metron-srv-');
  const portalDir = options.portalDir || path.join(dataDir, 'portal');
  fs.mkdirSync(portalDir, { recursive: true });
  const bin = options.bin || serverBin;
  const env = withTestPasswordCost({ ...process.env, METRON_TEST_ROUTES: '1', ...options.env }, bin);
  delete env.DATABASE_URL;
  if (options.databaseUrl) env.DATABASE_URL = options.databaseUrl;
  const args = ['--listen', '127.0.0.1:0', '--data', dataDir, '--portal', portalDir,
    '--db-pool', '4', ...(options.args || [])];
  const proc = spawn(bin, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  track(proc, `metron-server ${args.join(' ')}`, { graceMs: 10000 });
  let out = '';
  let err = '';
  proc.stdout.setEncoding('utf8');
  proc.stderr.setEncoding('utf8');
  proc.stdout.on('data', (d) => { out += d; });
  proc.stderr.on('data', (d) => { err += d; });
  // Resolved when the server has exited and what it wrote before has been
  // read (a sanitizer report comes at exit), or 2 s after the exit when a
  // process it started still holds the pipes.
  const closed = Promise.all(['stdout', 'stderr'].map((s) => new Promise((resolve) => {
    if (proc[s].closed) resolve(); else proc[s].once('close', resolve);
  })));
  const exitedP = new Promise((resolve) => {
    proc.on('exit', (code, signal) => {
      let timer;
      Promise.race([closed, new Promise((r) => { timer = setTimeout(r, 2000); })])
        .then(() => { clearTimeout(timer); resolve({ code, signal }); });
    });
  });
  const srv = {
    proc, dataDir, portalDir, url: null, port: null,
    /** Promise of { code, signal }; waiting for it keeps the test file alive. */
    get exited() {
      proc.ref();
      return exitedP;
    },
    stdout: () => out,
    stderr: () => err,
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return srv.exited;
    },
  };
  // Wait for "listening on http://127.0.0.1:PORT/" (or an early exit).
  const deadline = Date.now() + (options.startTimeoutMs || 45000);
  while (!srv.url) {
    const m = /listening on (https?:\/\/[0-9.]+:(\d+))\//.exec(out);
    if (m) {
      srv.url = m[1];
      srv.port = Number(m[2]);
      break;
    }
    if (proc.exitCode !== null || proc.signalCode !== null) {
      const e = new Error(`metron-server exited (${proc.exitCode}) before listening:\n${err}`);
      e.server = srv;
      throw e;
    }
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`metron-server did not start in time:\n${err}`);
    }
    await sleep(25);
  }
  if (options.waitHealthy !== false) {
    // On a connection closed after the answer: one left in fetch's pool
    // would hold one of the server's workers (a thread per connection)
    // until CivetWeb's keep-alive wait ends or the watchdog sheds it as
    // idle, and the test's next fetch could be sent on it just as it is
    // shed ("fetch failed", the server having closed it unanswered: so
    // conn.test's slow-body test under load, its readiness connection
    // shed in the very pass that ends the second slow body).
    for (;;) {
      try {
        const r = await fetch(srv.url + '/api/v1/health', { headers: { connection: 'close' } });
        await r.arrayBuffer();
        if (r.status === 200) break;
      } catch { /* not yet */ }
      if (Date.now() > deadline) throw new Error('metron-server never became healthy');
      await sleep(50);
    }
  }
  return srv;
}

/** Run the server to completion (for start-up failures): { code, stdout, stderr }. */
export async function runServer(args, env = {}) {
  return new Promise((resolve) => {
    const e = { ...process.env, ...env };
    const proc = execFile(serverBin, args, { env: e, timeout: 60000 }, (error, stdout, stderr) => {
      resolve({ code: proc.exitCode, stdout, stderr });
    });
    track(proc, `metron-server ${args.join(' ')}`, { unref: false });
  });
}

/**
 * An SMTP sink on loopback (python3-aiosmtpd's Mailbox handler): every
 * message lands in a maildir. { port, url, dir, messages(), stop() }.
 */
export async function startSmtpSink() {
  const dir = tempDir('metron-smtp-');
  const port = await freePort();
  const checked = new Map(); // file -> its problems (mailProblems())
  // Debian's python3 has python3-aiosmtpd; a python3 earlier on PATH
  // (pyenv, venv) may not.
  const python = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
  const proc = spawn(python, ['-m', 'aiosmtpd', '-n', '-l', `127.0.0.1:${port}`, '-c',
    'aiosmtpd.handlers.Mailbox', path.join(dir, 'mail')], { stdio: 'ignore' });
  track(proc, `SMTP sink on port ${port}`);
  // Until it listens, or it exits (no aiosmtpd: at once). Python's start
  // took over 10 s at load 38: the bound is for a sink that hangs.
  const deadline = Date.now() + 60000;
  for (;;) {
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => { s.end(); resolve(true); });
      s.on('error', () => resolve(false));
    });
    if (ok) break;
    const exited = proc.exitCode !== null || proc.signalCode !== null;
    if (exited || Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(exited
        ? `SMTP sink exited (${proc.exitCode ?? proc.signalCode}) before it listened ` +
          '(is python3-aiosmtpd installed?)'
        : 'SMTP sink did not listen within 60 s');
    }
    await sleep(50);
  }
  return {
    port, dir, url: `smtp://127.0.0.1:${port}`,
    /** The raw text of every message received so far, oldest first. Each
     *  is checked once for codes a person would see (person_text.mjs):
     *  a mail with one throws here, in the test that reads it. */
    messages() {
      const res = [];
      for (const sub of ['new', 'cur']) {
        const d = path.join(dir, 'mail', sub);
        if (!fs.existsSync(d)) continue;
        for (const f of fs.readdirSync(d)) {
          const p = path.join(d, f);
          res.push({ f, mtime: fs.statSync(p).mtimeMs, text: fs.readFileSync(p, 'utf8') });
        }
      }
      for (const m of res) {
        if (!checked.has(m.f)) checked.set(m.f, mailProblems(m.text));
        const problems = checked.get(m.f);
        if (problems.length) {
          throw new Error(`a mail the server sent shows a person codes (tests/server/person_text.mjs):\n  ` +
            `${problems.join('\n  ')}\n${m.text.slice(0, 4000)}`);
        }
      }
      return res.sort((a, b) => a.mtime - b.mtime).map((m) => m.text);
    },
    async stop() {
      proc.kill('SIGTERM');
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Send raw bytes over one TCP connection; resolves with the whole reply. */
export function rawRequest(port, text, { timeoutMs = 5000 } = {}) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let buf = '';
    s.setEncoding('latin1');
    s.on('data', (d) => { buf += d; });
    s.on('end', () => resolve(buf));
    s.on('error', (e) => (buf ? resolve(buf) : reject(e)));
    s.setTimeout(timeoutMs, () => { s.destroy(); resolve(buf); });
    s.write(text);
  });
}

/** PIDs of processes whose command line mentions "needle". */
export function processesMentioning(needle) {
  const pids = [];
  for (const p of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmd.includes(needle)) pids.push(Number(p));
    } catch { /* gone */ }
  }
  return pids;
}

// ------------------------------------------------------------ sign-in helpers
//
// Accounts and users for a test: the server's test-only routes (enabled by
// METRON_TEST_ROUTES=1, which startServer() sets) create them directly:
//
//   const { accountId, userId } = await createAccount(srv.url,
//     { account: 'acme', plan: 'pro', user: 'admin', password: 'Passw0rd!' });
//   await createUser(srv.url, { accountId, user: 'bob', password: 'Passw0rd!',
//     role: 'member', fileAccess: 'view', email: 'bob@example.test' });
//   const admin = await login(srv.url, { account: 'acme', user: 'admin', password: 'Passw0rd!' });
//   const r = await admin.get('/api/v1/auth/session');   // { status, headers, body }
//   await admin.post('/api/v1/something', { name: 'x' }); // cookie + X-CSRF-Token sent
//
// createAccount options: account (login ID; omit for a Trial account, whose
// user signs in with email), altAccount (P23), name, plan ('trial' | 'free' |
// 'standard' | 'pro'), user, password, email, role ('admin' default |
// 'member'), fileAccess ('none' | 'view' | 'edit'), licenceExpires /
// trialExpires (Unix seconds). Passwords are stored argon2id-hashed as usual.
// pg.psql(sql, db) of startPostgres() is the other way in, for state the
// routes do not cover.
//
// Every client method resolves to { status, headers, body } (headers: lower-case
// names; body: parsed JSON or null) and never throws on a 4xx/5xx.
// `localAddress` (e.g. '127.0.0.2': any 127.x address reaches a server on
// 127.0.0.1) makes the requests come from another client address, for the
// IP allow-list and throttling tests.
/**
 * The URL of "p" under "baseUrl": a path ("/api/v1/me") is appended to the
 * base's own path, so that a base with a sub-path keeps it
 * (http://127.0.0.1:8080/metron and /api/v1/me give
 * http://127.0.0.1:8080/metron/api/v1/me, as nginx's deploy way serves the
 * API; new URL(p, base) would drop /metron); a whole URL (http://...) is
 * taken as it is. Anything else (a path without its first slash) is a
 * mistake of the test.
 */
export function joinUrl(baseUrl, p) {
  if (/^https?:\/\//i.test(p)) return new URL(p);
  if (typeof p !== 'string' || !p.startsWith('/') || p.startsWith('//')) {
    throw new Error(`request: "${p}" is neither a path starting with one "/" nor an http URL`);
  }
  const base = new URL(baseUrl);
  if (base.search || base.hash) throw new Error(`request: the base ${baseUrl} has a query or fragment`);
  return new URL(base.origin + base.pathname.replace(/\/+$/, '') + p);
}

/** One HTTP request: resolves to { status, headers, body }. "p" is a path
 * under "baseUrl" (joinUrl()) or a whole URL. */
export function request(baseUrl, method, p, { body, headers = {}, localAddress } = {}) {
  const u = joinUrl(baseUrl, p);
  // The API's route as the contract names it: the path asked for, without
  // the base's sub-path.
  const route = p.startsWith('/') ? p : u.pathname + u.search;
  const data = body === undefined ? null
    : (typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body));
  const h = { ...headers };
  if (data !== null) {
    if (!Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) {
      h['content-type'] = 'application/json';
    }
    h['content-length'] = Buffer.byteLength(data);
  }
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: u.hostname, port: u.port, path: u.pathname + u.search, method, headers: h,
      localAddress, agent: false,
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed = null;
        try { parsed = text ? JSON.parse(text) : null; } catch { parsed = text; }
        // In a test file, the reply must match docs/api/openapi.yaml.
        if (underTest) {
          try {
            checkResponse(method, route, res.statusCode, res.headers, parsed, text);
          } catch (e) {
            reject(e);
            return;
          }
        }
        resolve({ status: res.statusCode, headers: res.headers, body: parsed });
      });
    });
    req.on('error', reject);
    if (data !== null) req.write(data);
    req.end();
  });
}

/** The session cookie value out of a Set-Cookie header (or null). */
export function sessionCookieOf(res) {
  const set = [].concat(res.headers['set-cookie'] || []);
  for (const c of set) {
    const m = /^metron_session=([^;]*)/.exec(c);
    if (m) return m[1] || null;
  }
  return null;
}

/**
 * A client for a signed-in session: { get, post, put, patch, del, cookie,
 * csrf, user, localAddress }. Writes send the X-CSRF-Token header.
 * `opts.headers` are added to every request.
 */
export function sessionClient(baseUrl, { cookie, csrf, user, localAddress, headers = {} } = {}) {
  const send = (method, p, body, extra = {}) => request(baseUrl, method, p, {
    body, localAddress,
    headers: {
      ...headers,
      ...(cookie ? { cookie: `metron_session=${cookie}` } : {}),
      ...(csrf && method !== 'GET' && method !== 'HEAD' ? { 'x-csrf-token': csrf } : {}),
      ...extra,
    },
  });
  return {
    cookie, csrf, user, localAddress,
    get: (p, extra) => send('GET', p, undefined, extra),
    post: (p, body, extra) => send('POST', p, body, extra),
    put: (p, body, extra) => send('PUT', p, body, extra),
    patch: (p, body, extra) => send('PATCH', p, body, extra),
    del: (p, body, extra) => send('DELETE', p, body, extra),
  };
}

/** A client that authenticates with an API bearer token (no cookie, no CSRF). */
export function tokenClient(baseUrl, token, { localAddress } = {}) {
  return sessionClient(baseUrl, {
    localAddress, headers: { authorization: `Bearer ${token}` },
  });
}

/**
 * Sign in with {account, user, password} (or {email, password} for Trial);
 * with `code` (or a function returning one) the two-step challenge is
 * completed too. Returns a sessionClient; throws when sign-in fails.
 */
export async function login(baseUrl, { account, user, email, password, code, localAddress } = {}) {
  const form = email ? { email, password } : { account, user, password };
  let res = await request(baseUrl, 'POST', '/api/v1/auth/login', { body: form, localAddress });
  if (res.status === 200 && res.body && res.body.challenge) {
    if (code === undefined) {
      throw new Error(`login needs a two-step code (${res.body.two_step})`);
    }
    const c = typeof code === 'function' ? await code(res.body) : code;
    res = await request(baseUrl, 'POST', '/api/v1/auth/two-step',
      { body: { challenge: res.body.challenge, code: c }, localAddress });
  }
  if (res.status !== 200) {
    const e = new Error(`login failed: ${res.status} ${JSON.stringify(res.body)}`);
    e.response = res;
    throw e;
  }
  return sessionClient(baseUrl, {
    cookie: sessionCookieOf(res), csrf: res.body.csrf_token, user: res.body.user, localAddress,
  });
}

async function testRoute(baseUrl, p, body) {
  const res = await request(baseUrl, 'POST', p, { body });
  if (res.status !== 201 && res.status !== 200) {
    throw new Error(`${p} failed: ${res.status} ${JSON.stringify(res.body)}`);
  }
  return res.body;
}

/** Create an account with its first user (test-only route). { accountId, userId }. */
export async function createAccount(baseUrl, o) {
  const b = await testRoute(baseUrl, '/api/v1/test/accounts', {
    account: o.account, alt_account: o.altAccount, name: o.name, plan: o.plan,
    user: o.user, password: o.password, email: o.email, role: o.role,
    file_access: o.fileAccess, user_name: o.userName,
    licence_expires: o.licenceExpires, trial_expires: o.trialExpires,
  });
  return { accountId: b.account_id, userId: b.user_id };
}

/** Add a user to an account (test-only route). { userId }. */
export async function createUser(baseUrl, o) {
  const b = await testRoute(baseUrl, '/api/v1/test/users', {
    account_id: o.accountId, user: o.user, password: o.password, email: o.email,
    role: o.role, file_access: o.fileAccess, user_name: o.userName,
  });
  return { userId: b.user_id };
}

/** Shift the server's auth clock to real time + offsetS seconds (test-only route). */
export async function setClock(baseUrl, offsetS) {
  return testRoute(baseUrl, '/api/v1/test/clock', { offset_s: offsetS });
}

/**
 * Wait until each server (an object with `url`, or a URL) has heard every
 * change announced to it (NOTIFY metron_auth) committed before this call:
 * GET /api/v1/test/listen-barrier commits a barrier announcement and
 * answers once that server's listener heard it (announcements arrive in
 * commit order). After it, a remembered reply is ended only by what
 * commits later. Throws when a server did not hear it (503 after 10 s).
 */
export async function heardAll(...servers) {
  for (const s of servers) {
    const r = await request(typeof s === 'string' ? s : s.url, 'GET', '/api/v1/test/listen-barrier');
    if (r.status !== 200 || r.body?.heard !== true) {
      throw new Error(`listen barrier: ${r.status} ${JSON.stringify(r.body)}`);
    }
  }
}
