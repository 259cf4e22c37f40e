// The pieces of a scale-out set (docs/scale.md): a PostgreSQL primary, a
// streaming-replication standby of it, metron-server processes on the
// primary reading from the standby, and HAProxy in front of them. One
// implementation for the operator's scripts/cluster (the command line at
// the end of this file) and for tests/server/scale.test.mjs, which brings
// its set up with these functions.
//
//   const primary = await startPrimary({ dir, port, password });
//   const standby = await startStandby({ primary, dir: dir2, port: port2 });
//   const proxy = await startHaproxy({ dir: dir3, listen: '127.0.0.1:8080',
//     backends: [{ host: '127.0.0.1', port: 8081 }, ...] });
//
// Started as root, the PostgreSQL programs run as the "postgres" system user
// (initdb refuses root), so the folders given must be reachable by it.
// "onSpawn(proc, what)" (optional) is told of every long-running child
// process (HAProxy, servers), e.g. for the tests' clean-up.
import { execFile, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath, pathToFileURL } from 'node:url';

const execFileP = promisify(execFile);
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const pgBin = process.env.METRON_PG_BIN || '/usr/lib/postgresql/15/bin';
export const haproxyBin = process.env.METRON_HAPROXY || '/usr/sbin/haproxy';
export const DATABASE = 'metron';

/**
 * Where the set's pieces are: in the checkout (scripts/cluster builds the
 * server there first), or in the Debian package's tree, where this file is
 * /usr/lib/metron/scripts/cluster.mjs: the server in /usr/lib/metron/bin, the
 * portal, the HAProxy template and pg_tuning.conf in /usr/share/metron, and
 * no default data folder (/usr/lib/metron is not written to: --data DIR or
 * METRON_DATA).
 */
export const installed = !fs.existsSync(path.join(repoRoot, 'CMakeLists.txt')) &&
  fs.existsSync(path.join(repoRoot, 'bin', 'metron-server'));
const shareDir = path.resolve(repoRoot, '..', '..', 'share', 'metron');
export const layout = installed ? {
  server: path.join(repoRoot, 'bin', 'metron-server'),
  portal: path.join(shareDir, 'portal'),
  haproxyTemplate: path.join(shareDir, 'deploy', 'haproxy', 'metron.cfg'),
  pgTuning: path.join(shareDir, 'deploy', 'postgresql', 'pg_tuning.conf'),
  data: null,
} : {
  server: path.join(repoRoot, 'build', 'server', 'metron-server'),
  portal: path.join(repoRoot, 'portal'),
  haproxyTemplate: path.join(repoRoot, 'deploy', 'haproxy', 'metron.cfg'),
  pgTuning: path.join(repoRoot, 'server', 'db', 'pg_tuning.conf'),
  data: path.join(repoRoot, 'var', 'cluster'),
};

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** The signals that stop the set (and each server) as asked. */
const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** { uid, gid } of the postgres user when running as root, else {}. */
export function pgIds() {
  if (!process.getuid || process.getuid() !== 0) return {};
  const line = fs.readFileSync('/etc/passwd', 'utf8').split('\n')
    .find((l) => l.startsWith('postgres:'));
  if (!line) throw new Error('running as root needs the postgres system user');
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

/** Make "p" (a file or folder) the cluster user's. */
function giveToPg(p) {
  const ids = pgIds();
  if (ids.uid !== undefined) fs.chownSync(p, ids.uid, ids.gid);
}

/** Run a PostgreSQL program as the cluster's user; "password" goes in
 * PGPASSWORD (never on a command line). */
async function pgProg(prog, args, { password, timeout = 120000 } = {}) {
  const env = { ...process.env, LC_ALL: 'C.UTF-8' };
  delete env.PGPASSWORD;
  if (password) env.PGPASSWORD = password;
  return execFileP(path.join(pgBin, prog), args, { ...pgIds(), cwd: '/', env, timeout });
}

/** A free TCP port on 127.0.0.1 (closed again before it is returned). */
/**
 * The settings every cluster Metron runs gets (server/db/pg_tuning.conf, the
 * same file the server's embedded cluster is given), as postgres "-c"
 * options: " -c wal_init_zero=off -c ...".
 */
export function pgTuningOptions() {
  const text = fs.readFileSync(layout.pgTuning, 'utf8');
  let opts = '';
  for (const line of text.split('\n')) {
    const m = /^\s*([a-z_]+)\s*=\s*(\S+)\s*$/.exec(line);
    if (m) opts += ` -c ${m[1]}=${m[2]}`;
  }
  return opts;
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** The pid in a cluster's postmaster.pid if that process runs, else 0. */
export function postmasterPid(dir) {
  try {
    const pid = Number(fs.readFileSync(path.join(dir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return pid && pidAlive(pid) ? pid : 0;
  } catch {
    return 0;
  }
}

/** Whether "pid" is a live process (not gone, not a zombie). */
export function pidAlive(pid) {
  try {
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** What every cluster handle has: the URL of a database, psql, start, stop. */
function clusterHandle({ dir, port, password, log, opts }) {
  const auth = password ? `postgres:${encodeURIComponent(password)}@` : 'postgres@';
  const h = {
    dir, port, password,
    url: (db = DATABASE) => `postgresql://${auth}127.0.0.1:${port}/${db}`,
    running: () => postmasterPid(dir) !== 0,
    start: () => pgProg('pg_ctl', ['-D', dir, '-l', log, '-o', opts, '-w', '-t', '120', 'start'],
      { timeout: 150000 }),
    /** "fast" ends the sessions and stops cleanly; "immediate" is a crash. */
    stop: (mode = 'fast') => pgProg('pg_ctl', ['-D', dir, '-m', mode, '-w', '-t', '60', 'stop']),
    /** Run SQL with psql; the unaligned output (rows by \n, columns by |). */
    async psql(sql, db = DATABASE) {
      const { stdout } = await pgProg('psql', ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1',
        '-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-d', db, '-c', sql], { password });
      return stdout.trim();
    },
  };
  return h;
}

/**
 * The primary: a cluster in "dir" (created by initdb when it holds none,
 * with "password" for the postgres role and SCRAM authentication only),
 * started on 127.0.0.1:"port" with no unix socket, with the database
 * "metron". PostgreSQL's durable defaults unless "durable" is false (tests).
 * Returns the handle (url(db), psql(sql, db), start(), stop(mode), running()).
 */
export async function startPrimary({ dir, port, password, log = `${dir}.log`, durable = true }) {
  if (!password) throw new Error('startPrimary: a password is needed');
  if (!fs.existsSync(path.join(dir, 'PG_VERSION'))) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.chmodSync(dir, 0o700);
    giveToPg(dir);
    const pwfile = path.join(path.dirname(dir), `.pwfile-${process.pid}`);
    fs.writeFileSync(pwfile, password + '\n', { mode: 0o600 });
    giveToPg(pwfile);
    try {
      // A test's cluster (not durable) skips initdb's flush to disk, as the
      // standby's pg_basebackup does (--no-sync): 1.5-4 s at load 13-19.
      await pgProg('initdb', ['-D', dir, '-U', 'postgres', '-A', 'scram-sha-256',
        '--pwfile', pwfile, '-E', 'UTF8', '--locale=C.UTF-8', ...(durable ? [] : ['--no-sync'])]);
    } finally {
      fs.rmSync(pwfile, { force: true });
    }
  }
  if (!fs.existsSync(log)) fs.writeFileSync(log, '');
  giveToPg(log);
  const opts = `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=` +
    (durable ? pgTuningOptions() : ' -c fsync=off -c synchronous_commit=off -c full_page_writes=off');
  const h = clusterHandle({ dir, port, password, log, opts });
  if (!h.running()) await h.start();
  if (await h.psql(`SELECT count(*) FROM pg_database WHERE datname = '${DATABASE}'`,
    'postgres') === '0') {
    await h.psql(`CREATE DATABASE ${DATABASE}`, 'postgres');
  }
  return h;
}

/**
 * A streaming standby of "primary" ({ port, password } of the primary on
 * 127.0.0.1) in "dir": made by pg_basebackup over the replication slot
 * "slot" when "dir" holds no cluster yet (the slot keeps the WAL the standby
 * has not received, and is made anew with it), then started on
 * 127.0.0.1:"port" with hot_standby and hot_standby_feedback. Returns the
 * handle, whose stop('immediate') is the standby's machine dying.
 */
export async function startStandby({ primary, dir, port, slot = 'metron_standby',
  log = `${dir}.log`, durable = true }) {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(slot)) throw new Error(`bad slot name ${slot}`);
  if (!fs.existsSync(path.join(dir, 'PG_VERSION'))) {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    giveToPg(dir);
    const p = clusterHandle({ port: primary.port, password: primary.password });
    await p.psql(`SELECT pg_drop_replication_slot('${slot}') FROM pg_replication_slots ` +
      `WHERE slot_name = '${slot}' AND NOT active`, 'postgres');
    await pgProg('pg_basebackup', ['-h', '127.0.0.1', '-p', String(primary.port), '-U',
      'postgres', '-D', dir, '-X', 'stream', '-R', '-C', '-S', slot, '--checkpoint=fast',
      ...(durable ? [] : ['--no-sync'])], { password: primary.password, timeout: 600000 });
  }
  if (!fs.existsSync(log)) fs.writeFileSync(log, '');
  giveToPg(log);
  const opts = `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories= ` +
    '-c hot_standby=on -c hot_standby_feedback=on' + (durable ? pgTuningOptions() : ' -c fsync=off');
  const h = clusterHandle({ dir, port, password: primary.password, log, opts });
  if (!h.running()) await h.start();
  return h;
}

/**
 * The text of deploy/haproxy/metron.cfg with HAProxy listening on "listen"
 * ("127.0.0.1:8080"), one "server" line per { host, port } of "backends"
 * (named s0, s1, ...) and its runtime API on the unix socket "socket".
 */
export function haproxyConfig({ listen, backends, socket }) {
  const vars = {
    LISTEN: listen,
    SERVERS: backends.map((b, i) => `  server s${i} ${b.host || '127.0.0.1'}:${b.port} check`)
      .join('\n'),
    ADMIN_SOCKET: socket,
  };
  const text = fs.readFileSync(layout.haproxyTemplate, 'utf8');
  // (the comments name the values too: they stay as they are)
  return text.split('\n').map((line) => (/^\s*#/.test(line) ? line
    : line.replace(/@([A-Z_]+)@/g, (m, name) => {
      if (vars[name] === undefined) throw new Error(`deploy/haproxy/metron.cfg: no value for ${m}`);
      return vars[name];
    }))).join('\n');
}

/** The runtime API's socket of the HAProxy that startHaproxy() runs in "dir". */
export const haproxySocket = (dir) => path.join(dir, 'haproxy.sock');
/** The longest path a unix socket may have (sun_path, less its final 0). */
const SOCKET_PATH_MAX = 107;

/**
 * HAProxy in front of "backends" with the configuration written to
 * "dir"/haproxy.cfg (checked with haproxy -c first) and its runtime API on
 * "dir"/haproxy.sock (mode 600: drainServer(), readyServer()). Resolves to
 * { url, proc, file, socket, stderr(), stop() } once every backend has
 * answered a health request through it (waitAll false: once one has).
 */
export async function startHaproxy({ dir, listen, backends, onSpawn, waitAll = true,
  timeoutMs = 60000 }) {
  if (!fs.existsSync(haproxyBin)) {
    throw new Error(`${haproxyBin} is missing: scripts/bootstrap installs haproxy`);
  }
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'haproxy.cfg');
  const socket = haproxySocket(dir);
  if (Buffer.byteLength(socket) > SOCKET_PATH_MAX) {
    throw new Error(`the folder ${dir} is too deep for HAProxy's admin socket (${socket} is ` +
      `longer than ${SOCKET_PATH_MAX} bytes): use a shorter --data folder`);
  }
  fs.writeFileSync(file, haproxyConfig({ listen, backends, socket }));
  await execFileP(haproxyBin, ['-c', '-q', '-f', file]);
  // Its own process group: a Ctrl-C meant for scripts/cluster does not reach it.
  const proc = spawn(haproxyBin, ['-db', '-f', file],
    { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  onSpawn?.(proc, 'haproxy');
  let err = '';
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (d) => { err += d; });
  const url = `http://${listen.replace(/^:/, '127.0.0.1:').replace(/^0\.0\.0\.0:/, '127.0.0.1:')}`;
  const exited = new Promise((r) => {
    if (proc.exitCode !== null || proc.signalCode !== null) r();
    else proc.once('exit', r);
  });
  const seen = new Set();
  const deadline = Date.now() + timeoutMs;
  while (seen.size < (waitAll ? backends.length : 1)) {
    let why = null;
    if (proc.exitCode !== null || proc.signalCode !== null) why = `haproxy exited: ${err}`;
    else if (Date.now() > deadline) why = `haproxy: only ${[...seen]} up: ${err}`;
    if (why) {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      await exited;
      throw new Error(why);
    }
    try {
      const r = await fetch(url + '/api/v1/health', { signal: AbortSignal.timeout(5000) });
      await r.arrayBuffer();
      if (r.status === 200) seen.add(r.headers.get('x-served-by'));
    } catch { /* not yet */ }
    await sleep(50);
  }
  return {
    url, proc, file, socket, stderr: () => err,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      await exited;
    },
  };
}

// ------------------------------------------------------------------ HAProxy's runtime API
//
// A process is taken out of HAProxy's rotation before it is stopped for an
// upgrade (docs/operations.md, "Upgrading a fleet behind HAProxy"): its
// server line is set to DRAIN (weight 0: no new request goes to it, those
// in flight finish), and back to READY once the new release answers.

/** The backend of deploy/haproxy/metron.cfg whose server lines are s0, s1, ... */
export const HAPROXY_BACKEND = 'servers';
/** The most of an answer of the runtime API read (a "show stat" of 16 servers is ~6 KiB). */
const API_ANSWER_MAX = 1 << 20;

/**
 * One command of HAProxy's runtime API on the unix socket "socket"; its
 * answer (HAProxy closes the connection after it). Fails with a sentence
 * when nothing answers there in "timeoutMs".
 */
export function haproxyCommand(socket, command, { timeoutMs = 5000 } = {}) {
  if (!/^[ -~]{1,200}$/.test(command)) throw new Error('haproxyCommand: one line of ASCII');
  return new Promise((resolve, reject) => {
    const conn = net.createConnection(socket);
    let text = '';
    let done = false;
    const end = (e) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      conn.destroy();
      if (e) reject(e);
      else resolve(text);
    };
    const timer = setTimeout(() => end(new Error(`HAProxy's admin socket ${socket} did not ` +
      `answer "${command}" in ${timeoutMs / 1000} s`)), timeoutMs);
    conn.setEncoding('utf8');
    conn.on('connect', () => conn.write(command + '\n'));
    conn.on('data', (d) => {
      text += d;
      if (text.length > API_ANSWER_MAX) {
        end(new Error(`HAProxy's answer to "${command}" is longer than ${API_ANSWER_MAX} bytes`));
      }
    });
    conn.on('end', () => end());
    conn.on('error', (e) => end(new Error(e.code === 'ENOENT' || e.code === 'ECONNREFUSED'
      ? `no HAProxy answers on its admin socket ${socket}: is it running?`
      : `HAProxy's admin socket ${socket}: ${e.message}`)));
  });
}

/**
 * What HAProxy says of server "server" of backend "backend" ("show stat"):
 * { status ('UP', 'DRAIN', 'DOWN', 'MAINT', 'UP 1/2', ...), scur (requests
 * it is sending there now), qcur (requests queued for it) }.
 */
export async function haproxyServerStat(socket, server, backend = HAPROXY_BACKEND) {
  const text = await haproxyCommand(socket, 'show stat');
  const lines = text.split('\n');
  if (!lines[0].startsWith('# ')) {
    throw new Error(`HAProxy's admin socket ${socket} did not give its statistics: ${lines[0]}`);
  }
  const head = lines[0].slice(2).split(',');
  const col = (name) => head.indexOf(name);
  for (const line of lines.slice(1)) {
    const f = line.split(',');
    if (f[col('pxname')] === backend && f[col('svname')] === server) {
      return { status: f[col('status')], scur: Number(f[col('scur')]),
        qcur: Number(f[col('qcur')] || 0) };
    }
  }
  throw new Error(`HAProxy has no server ${server} in its backend ${backend}`);
}

async function setServerState(socket, server, state, backend) {
  const answer = (await haproxyCommand(socket,
    `set server ${backend}/${server} state ${state}`)).trim();
  if (answer) throw new Error(`HAProxy refused to set ${server} to ${state}: ${answer}`);
}

/**
 * Drain "server" (s0, s1, ...): HAProxy sends it no new request, and this
 * waits until none is in flight there any more (scur and qcur 0, read every
 * "everyMs"), at most "timeoutMs". "progress(sentence)" is told how many
 * remain whenever that changes. The server stays drained when the wait
 * fails: readyServer() puts it back.
 */
export async function drainServer({ socket, server, backend = HAPROXY_BACKEND,
  timeoutMs = 60000, everyMs = 100, progress = () => {} }) {
  await setServerState(socket, server, 'drain', backend);
  const deadline = Date.now() + timeoutMs;
  let last = -1;
  for (;;) {
    const st = await haproxyServerStat(socket, server, backend);
    const left = st.scur + st.qcur;
    if (left === 0) return st;
    if (left !== last) {
      progress(`${server}: ${left} request${left === 1 ? '' : 's'} still in flight`);
      last = left;
    }
    if (Date.now() > deadline) {
      throw new Error(`${server} still has ${left} request${left === 1 ? '' : 's'} in flight ` +
        `after ${Math.round(timeoutMs / 1000)} s (a long export or live stream?); it stays ` +
        'drained: wait longer, or stop it anyway (those requests fail), or put it back with ready');
    }
    await sleep(everyMs);
  }
}

/**
 * Put "server" back in HAProxy's rotation and wait until HAProxy's own
 * health check finds it up (status UP), at most "timeoutMs".
 */
export async function readyServer({ socket, server, backend = HAPROXY_BACKEND,
  timeoutMs = 60000, everyMs = 100, progress = () => {} }) {
  await setServerState(socket, server, 'ready', backend);
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const st = await haproxyServerStat(socket, server, backend);
    if (st.status === 'UP') return st;
    if (st.status !== last) {
      progress(`${server}: HAProxy's health check does not pass yet (${st.status})`);
      last = st.status;
    }
    if (Date.now() > deadline) {
      throw new Error(`HAProxy's health check of ${server} does not pass after ` +
        `${Math.round(timeoutMs / 1000)} s (${st.status}): does the process answer ` +
        'GET /api/v1/health with 200?');
    }
    await sleep(everyMs);
  }
}

// ------------------------------------------------------------------ scripts/cluster
//
// The operator's command (scripts/cluster runs this file; docs/scale.md,
// "Running the set: scripts/cluster"):
//
//   scripts/cluster [start] [--servers N] [--listen HOST:PORT] [--data DIR]
//                   [--server-port P] [--no-demo] [-- SERVER-ARGS...]
//   scripts/cluster status [--data DIR]
//   scripts/cluster stop [--data DIR]
//   scripts/cluster drain N [--data DIR | --socket PATH] [--timeout S]
//   scripts/cluster ready N [--data DIR | --socket PATH] [--timeout S]
//   scripts/cluster restart N [--data DIR] [--bin PATH] [--timeout S]
//   scripts/cluster rolling [--data DIR] [--bin PATH] [--timeout S]

const USAGE = `usage: scripts/cluster [start] [--servers N] [--listen HOST:PORT] [--data DIR]
                       [--server-port P] [--no-demo] [-- METRON-SERVER-ARGS...]
       scripts/cluster status [--data DIR]
       scripts/cluster stop [--data DIR]
       scripts/cluster drain N [--data DIR | --socket PATH] [--timeout S]
       scripts/cluster ready N [--data DIR | --socket PATH] [--timeout S]
       scripts/cluster restart N [--data DIR] [--bin PATH] [--timeout S]
       scripts/cluster rolling [--data DIR] [--bin PATH] [--timeout S]
  drain N: HAProxy sends server N (its line sN) no new request; waits until
           none is in flight there (at most S seconds, default 60)
  ready N: back in HAProxy's rotation; waits until its health check passes
  restart N: drain N, stop it (SIGTERM), start it again (with --bin PATH:
           that metron-server instead of the one it ran), wait until it
           answers, ready N; done by the running set in DIR
  rolling: restart N for every server of the set in turn, stopping at the
           first that fails (a rolling upgrade with --bin)
  --socket: the runtime API of another HAProxy with deploy/haproxy/metron.cfg
           (e.g. /run/haproxy/admin.sock) instead of the set's in DIR`;

/** "bin" if it is an executable file, else a sentence saying why not. */
function checkBin(bin) {
  if (Buffer.byteLength(bin) > 4000) throw new Error('--bin: a path of at most 4,000 bytes');
  let st;
  try {
    st = fs.statSync(bin);
    fs.accessSync(bin, fs.constants.X_OK);
  } catch {
    throw new Error(`--bin: ${bin} is not an executable file`);
  }
  if (!st.isFile()) throw new Error(`--bin: ${bin} is not a file`);
  return bin;
}

function parseArgs(argv) {
  const o = { verb: 'start', servers: 2, listen: process.env.METRON_LISTEN || '127.0.0.1:8080',
    data: process.env.METRON_DATA ? path.join(process.env.METRON_DATA, 'cluster') : layout.data,
    serverPort: null, demo: true, serverArgs: [], server: null, socket: null, timeoutS: 60,
    bin: null };
  const args = [...argv];
  if (args[0] && !args[0].startsWith('-')) o.verb = args.shift();
  if (!['start', 'status', 'stop', 'drain', 'ready', 'restart', 'rolling'].includes(o.verb)) {
    throw new Error(`unknown command "${o.verb}"`);
  }
  const restarts = o.verb === 'restart' || o.verb === 'rolling';
  if (o.verb === 'drain' || o.verb === 'ready' || o.verb === 'restart') {
    const n = args.shift();
    if (!/^\d{1,2}$/.test(n ?? '') || Number(n) > 15) {
      throw new Error(`${o.verb}: which server, a number from 0 to 15 (its line s0, s1, ... in ` +
        'haproxy.cfg)');
    }
    o.server = `s${Number(n)}`;
  }
  while (args.length) {
    const a = args.shift();
    const value = () => {
      if (!args.length) throw new Error(`${a} needs a value`);
      return args.shift();
    };
    if (a === '--') { o.serverArgs = args.splice(0); break; }
    if (a === '--servers') {
      o.servers = Number(value());
      if (!Number.isInteger(o.servers) || o.servers < 1 || o.servers > 16) {
        throw new Error('--servers: a whole number from 1 to 16');
      }
    } else if (a === '--listen') {
      o.listen = value();
      if (!/^(\[[0-9a-fA-F:]+\]|[0-9.]*|[A-Za-z0-9.-]+)?:\d{1,5}$/.test(o.listen)) {
        throw new Error('--listen: HOST:PORT, e.g. 127.0.0.1:8080');
      }
    } else if (a === '--data') o.data = path.resolve(value());
    else if (a === '--server-port') {
      o.serverPort = Number(value());
      if (!Number.isInteger(o.serverPort) || o.serverPort < 0 || o.serverPort > 65535) {
        throw new Error('--server-port: a port number (0: free ports)');
      }
    } else if (a === '--no-demo') o.demo = false;
    else if (a === '--socket' && o.server && !restarts) o.socket = path.resolve(value());
    else if (a === '--bin' && restarts) o.bin = checkBin(path.resolve(value()));
    else if (a === '--timeout' && (o.server || restarts)) {
      o.timeoutS = Number(value());
      if (!Number.isInteger(o.timeoutS) || o.timeoutS < 1 || o.timeoutS > 3600) {
        throw new Error('--timeout: whole seconds from 1 to 3600');
      }
    }
    else if (a === '-h' || a === '--help') { o.verb = 'help'; break; } else {
      throw new Error(`unknown option "${a}"`);
    }
  }
  if (o.verb !== 'help' && !o.data && !o.socket) {
    throw new Error('installed from the package, the set needs a folder: --data DIR (or ' +
      'METRON_DATA); as root one the postgres user can reach');
  }
  return o;
}

const stateFile = (data) => path.join(data, 'cluster.json');

function readState(data) {
  try {
    return JSON.parse(fs.readFileSync(stateFile(data), 'utf8'));
  } catch {
    return null;
  }
}

function writeState(data, state) {
  const tmp = stateFile(data) + '.tmp';
  fs.writeFileSync(tmp, JSON.stringify(state, null, 2) + '\n', { mode: 0o600 });
  fs.renameSync(tmp, stateFile(data));
}

/** The primary's password: made once, kept in DATA/primary.secret (0600). */
function secret(data) {
  const file = path.join(data, 'primary.secret');
  if (!fs.existsSync(file)) {
    fs.writeFileSync(file, crypto.randomBytes(32).toString('hex') + '\n', { mode: 0o600 });
  }
  return fs.readFileSync(file, 'utf8').trim();
}

/** A port for a cluster: the one it had last time (in the state file) if
 * still free, else a free one. */
async function clusterPort(previous) {
  if (previous) {
    const free = await new Promise((resolve) => {
      const s = net.createServer();
      s.on('error', () => resolve(false));
      s.listen(previous, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (free) return previous;
  }
  return freePort();
}

function log(...a) {
  console.log('cluster:', ...a);
}

/** Start one metron-server: its output goes to DATA/server-I.log and, each
 * line prefixed with "sI|", to this terminal. */
function spawnServer({ bin, index, port, data, env, args }) {
  const dir = path.join(data, `server-${index}`);
  fs.mkdirSync(dir, { recursive: true });
  const logFile = path.join(data, `server-${index}.log`);
  const out = fs.createWriteStream(logFile, { flags: 'a' });
  const argv = ['--listen', `127.0.0.1:${port}`, '--data', dir, '--portal',
    layout.portal, '--trusted-proxies', '127.0.0.1', ...args];
  const proc = spawn(bin, argv, { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let text = '';
  for (const s of [proc.stdout, proc.stderr]) {
    s.setEncoding('utf8');
    let rest = '';
    s.on('data', (d) => {
      out.write(d);
      text += d;
      if (text.length > 65536) text = text.slice(-32768);
      const lines = (rest + d).split('\n');
      rest = lines.pop();
      for (const l of lines) console.log(`s${index}| ${l}`);
    });
  }
  // (a binary that cannot be run gives 'error', and maybe no 'exit')
  const exited = new Promise((resolve) => {
    let done = false;
    const end = (e) => {
      if (done) return;
      done = true;
      out.end();
      resolve(e);
    };
    proc.once('exit', (code, signal) => end({ code, signal }));
    proc.once('error', (e) => {
      out.write(`cluster: ${bin} could not be started: ${e.message}\n`);
      end({ code: 127, signal: null });
    });
  });
  return { index, port, dir, bin, args, log: logFile, proc, exited,
    url: `http://127.0.0.1:${port}`, output: () => text };
}

/** The control socket of a running set (DIR/control.sock, mode 600):
 * scripts/cluster restart / rolling ask the set's own process, which
 * started the servers, to restart one. */
const controlSocket = (data) => path.join(data, 'control.sock');
/** The most of a request on the control socket (one JSON line). */
const CONTROL_REQUEST_MAX = 8192;

async function healthy(url, timeoutMs = 5000) {
  try {
    const r = await fetch(url + '/api/v1/health', { signal: AbortSignal.timeout(timeoutMs) });
    await r.arrayBuffer();
    return r.status === 200;
  } catch {
    return false;
  }
}

async function waitHealthy(srv, timeoutMs = 180000) {
  const deadline = Date.now() + timeoutMs;
  let gone = false;
  srv.exited.then(() => { gone = true; });
  while (!await healthy(srv.url, 2000)) {
    if (gone || srv.proc.exitCode !== null || srv.proc.signalCode !== null) {
      throw new Error(`server ${srv.index} exited before it answered (see ${srv.log})`);
    }
    if (Date.now() > deadline) throw new Error(`server ${srv.index} did not answer in time`);
    await sleep(100);
  }
}

async function start(o) {
  fs.mkdirSync(o.data, { recursive: true, mode: 0o755 });
  const prev = readState(o.data);
  if (prev?.pid && prev.pid !== process.pid && pidAlive(prev.pid) && prev.running) {
    throw new Error(`a cluster already runs from ${o.data} (pid ${prev.pid}): ` +
      'scripts/cluster status / scripts/cluster stop');
  }
  const bin = process.env.METRON_SERVER_BIN || layout.server;
  if (!fs.existsSync(bin)) throw new Error(`${bin} is missing: build it (scripts/cluster does unless METRON_SKIP_BUILD=1)`);
  const password = secret(o.data);
  const state = { pid: process.pid, running: true, up: false, data: o.data, started: new Date().toISOString() };
  writeState(o.data, state);

  let stopping = false;
  const servers = [];
  let proxy = null;
  let primary = null;
  let standby = null;
  let status = 0;
  // Stops whatever of the set runs; may run again (a piece that a start
  // step finished after a signal is stopped by the second run).
  const stopAll = async () => {
    if (control) {
      control.srv.close();
      fs.rmSync(control.file, { force: true });
      control = null;
    }
    if (proxy && !proxy.reported) {
      await proxy.stop();
      proxy.reported = true;
      log('haproxy stopped');
    }
    // In order: no new requests (HAProxy), then the servers finish theirs.
    await Promise.all(servers.map(async (s) => {
      if (s.reported) return;
      if (s.proc.exitCode === null && s.proc.signalCode === null) s.proc.kill('SIGTERM');
      const timer = setTimeout(() => s.proc.kill('SIGKILL'), 60000);
      const e = await s.exited;
      clearTimeout(timer);
      s.reported = true;
      log(`server ${s.index} stopped (${e.signal || `exit ${e.code}`})`);
      // A server still starting may end by a stop signal itself: the
      // SIGTERM sent here before its handler is installed, or the
      // terminal's Ctrl-C (SIGINT, SIGHUP) sent to this script's process
      // group while the server was being spawned: the child leaves the
      // group (setsid) only after the fork, a signal to the group in
      // between stays pending in it and ends it as it unblocks its signals
      // before exec. That is the stop asked for, not a fault.
      if (!s.died && e.code !== 0 && !STOP_SIGNALS.includes(e.signal)) status = 1;
    }));
    // The clusters by their folders: also one whose start step failed
    // after pg_ctl had started it.
    for (const name of ['standby', 'primary']) {
      const dir = path.join(o.data, name);
      if (postmasterPid(dir)) {
        try {
          await pgProg('pg_ctl', ['-D', dir, '-m', 'fast', '-w', '-t', '60', 'stop']);
          log(`${name} stopped`);
        } catch (e) {
          log(`${name} did not stop: ${e.message}`);
          status = 1;
        }
      }
    }
    writeState(o.data, { ...readState(o.data), running: false, up: false,
      stopped: new Date().toISOString() });
  };
  let stopped = null;
  const onSignal = (sig) => {
    if (stopping) {
      log(`${sig}: already stopping`);
      return;
    }
    stopping = true;
    log(`${sig}: stopping HAProxy, the servers, the standby, the primary`);
    stopped = stopAll();
  };
  for (const sig of STOP_SIGNALS) process.on(sig, onSignal);

  /** Says so when a server ends that nobody stopped. */
  const watch = (s) => {
    s.exited.then((e) => {
      if (!stopping && !s.restarting) {
        s.died = true;
        log(`server ${s.index} exited (${e.signal || `exit ${e.code}`}); HAProxy sends its ` +
          `requests to the others (log: ${s.log}; scripts/cluster restart ${s.index} starts it again)`);
      }
    });
  };
  const saveServers = () => {
    state.servers = servers.map((x) => ({ index: x.index, url: x.url, pid: x.proc.pid,
      bin: x.bin, log: x.log }));
    writeState(o.data, state);
  };
  let control = null;
  let restarting = null; // the index of the server being restarted
  let env = null;
  /**
   * Restart server "index" (a request on the control socket): drain it,
   * stop it, start it again (with "bin", or the binary it ran), wait until
   * it answers, put it back. "say(sentence)" is told each step. Resolves to
   * the closing sentence; throws one when a step fails (the server then
   * stays out of HAProxy's rotation).
   */
  const restartServer = async ({ index, bin, timeoutS }, say) => {
    if (stopping || !proxy) throw new Error('the set is not up (starting or stopping)');
    if (restarting !== null) throw new Error(`server ${restarting} is being restarted; one at a time`);
    const old = servers[index];
    if (!old) {
      throw new Error(`the set has no server ${index} (servers 0 to ${servers.length - 1})`);
    }
    // (before anything is touched: a binary gone since the command checked it)
    const useBin = bin ? checkBin(bin) : old.bin;
    restarting = index;
    const name = `s${index}`;
    const timeoutMs = timeoutS * 1000;
    try {
      say(`${name}: draining (HAProxy sends it no new request)`);
      await drainServer({ socket: proxy.socket, server: name, timeoutMs, progress: say });
      say(`${name}: drained; stopping server ${index} (pid ${old.proc.pid})`);
      old.restarting = true;
      if (old.proc.exitCode === null && old.proc.signalCode === null) old.proc.kill('SIGTERM');
      const timer = setTimeout(() => old.proc.kill('SIGKILL'), 60000);
      const e = await old.exited;
      clearTimeout(timer);
      old.reported = true;
      say(`${name}: server ${index} stopped (${e.signal || `exit ${e.code}`})`);
      if (stopping) throw new Error('the set is stopping');
      const s = spawnServer({ bin: useBin, index, port: old.port, data: o.data, env,
        args: old.restartArgs });
      s.restartArgs = old.restartArgs;
      servers[index] = s;
      watch(s);
      saveServers();
      say(`${name}: started ${useBin} (pid ${s.proc.pid}); waiting until it answers`);
      await waitHealthy(s);
      if (stopping) throw new Error('the set is stopping');
      await readyServer({ socket: proxy.socket, server: name, timeoutMs, progress: say });
      log(`server ${index} restarted (pid ${s.proc.pid}, ${useBin})`);
      return `${name} restarted: pid ${s.proc.pid} (${useBin}) answers and HAProxy sends it ` +
        'requests again';
    } catch (err) {
      throw new Error(`${err.message}; ${name} stays out of HAProxy's rotation ` +
        `(scripts/cluster restart ${index} tries again, scripts/cluster ready ${index} puts ` +
        'back a process that runs)');
    } finally {
      restarting = null;
    }
  };
  /** The control socket: one JSON request a connection, answered by JSON
   * lines ({ progress } ..., then { ok, message }). */
  const startControl = async () => {
    const file = controlSocket(o.data);
    if (Buffer.byteLength(file) > SOCKET_PATH_MAX) {
      throw new Error(`the folder ${o.data} is too deep for the control socket: use a shorter --data folder`);
    }
    fs.rmSync(file, { force: true });
    const srv = net.createServer((conn) => {
      let text = '';
      let taken = false;
      const reply = (obj) => { if (!conn.destroyed) conn.write(JSON.stringify(obj) + '\n'); };
      conn.setEncoding('utf8');
      conn.on('error', () => {});
      conn.on('data', async (d) => {
        if (taken) return;
        text += d;
        if (text.length > CONTROL_REQUEST_MAX) {
          taken = true;
          reply({ ok: false, message: `a request of more than ${CONTROL_REQUEST_MAX} bytes` });
          conn.end();
          return;
        }
        const nl = text.indexOf('\n');
        if (nl < 0) return;
        taken = true;
        let req;
        try {
          req = JSON.parse(text.slice(0, nl));
        } catch {
          req = null;
        }
        if (!req || req.verb !== 'restart' || !Number.isInteger(req.server) || req.server < 0 ||
            req.server > 15 || (req.bin !== null && typeof req.bin !== 'string') ||
            !Number.isInteger(req.timeoutS) || req.timeoutS < 1 || req.timeoutS > 3600) {
          reply({ ok: false, message: 'not a request this set understands (scripts/cluster of ' +
            'another version?)' });
          conn.end();
          return;
        }
        try {
          const message = await restartServer({ index: req.server, bin: req.bin,
            timeoutS: req.timeoutS }, (line) => {
            log(line);
            reply({ progress: line });
          });
          reply({ ok: true, message });
        } catch (err) {
          reply({ ok: false, message: err.message });
        }
        conn.end();
      });
    });
    // Made mode 600 from the start: only the set's user may ask.
    const mask = process.umask(0o177);
    try {
      await new Promise((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(file, resolve);
      });
    } finally {
      process.umask(mask);
    }
    srv.unref();
    control = { srv, file };
  };

  try {
    const pPort = await clusterPort(prev?.primary?.port);
    primary = await startPrimary({ dir: path.join(o.data, 'primary'), port: pPort, password,
      log: path.join(o.data, 'primary.log') });
    log(`primary PostgreSQL on 127.0.0.1:${pPort} (${path.join(o.data, 'primary')})`);
    if (stopping) return finish();
    const sPort = await clusterPort(prev?.standby?.port);
    const standbyDir = path.join(o.data, 'standby');
    if (!fs.existsSync(path.join(standbyDir, 'PG_VERSION'))) log('making the standby (pg_basebackup)');
    standby = await startStandby({ primary, dir: standbyDir, port: sPort,
      log: path.join(o.data, 'standby.log') });
    // It streams once its slot is active on the primary.
    let streaming = false;
    for (let i = 0; i < 300 && !streaming && !stopping; i++) {
      streaming = await primary.psql("SELECT count(*) FROM pg_replication_slots WHERE " +
        "slot_name = 'metron_standby' AND active", 'postgres') === '1';
      if (!streaming) await sleep(100);
    }
    if (streaming) log(`standby PostgreSQL on 127.0.0.1:${sPort}, streaming from the primary`);
    else {
      log(`standby PostgreSQL on 127.0.0.1:${sPort} does NOT stream from the primary (see ` +
        `${standby.dir}.log; delete ${standby.dir} to make it anew): reads go to the primary`);
    }
    Object.assign(state, { primary: { port: pPort, dir: primary.dir },
      standby: { port: sPort, dir: standby.dir } });
    writeState(o.data, state);
    if (stopping) return finish();

    env = { ...process.env, DATABASE_URL: primary.url(), METRON_REPLICA_URL: standby.url() };
    const hp = o.listen.lastIndexOf(':');
    const first = o.serverPort ?? Number(o.listen.slice(hp + 1)) + 1;
    for (let i = 0; i < o.servers; i++) {
      const port = first === 0 ? await freePort() : first + i;
      // The first one migrates the database (and makes the demo accounts);
      // the others start once it answers.
      const s = spawnServer({ bin, index: i, port, data: o.data, env,
        args: [...(i === 0 && o.demo ? ['--demo'] : []), ...o.serverArgs] });
      s.restartArgs = o.serverArgs; // (a restart makes no demo accounts again)
      servers.push(s);
      watch(s);
      saveServers();
      await waitHealthy(s);
      if (stopping) return finish();
    }
    proxy = await startHaproxy({ dir: o.data, listen: o.listen, backends: servers });
    proxy.proc.once('exit', (code, signal) => {
      if (!stopping) log(`haproxy exited (${signal || `exit ${code}`}): ${proxy.stderr()}`);
    });
    await startControl();
    Object.assign(state, { up: true, url: proxy.url, control: control.file,
      haproxy: { pid: proxy.proc.pid, config: proxy.file, socket: proxy.socket } });
    writeState(o.data, state);
    log(`up: ${proxy.url} (HAProxy) -> ${servers.map((s) => s.url).join(', ')}`);
    log(`primary 127.0.0.1:${pPort}, standby 127.0.0.1:${sPort}; data: ${o.data}`);
    log(`HAProxy's runtime API: ${proxy.socket} (scripts/cluster drain N / ready N); ` +
      'scripts/cluster restart N / rolling restart the servers through it');
    log('Ctrl-C (or scripts/cluster stop) stops everything');
  } catch (e) {
    // (a signal during the start stops what it was waiting for)
    const interrupted = stopping;
    log(interrupted ? `start interrupted (${e.message})` : `start failed: ${e.message}`);
    if (!stopping) {
      stopping = true;
      stopped = stopAll();
    }
    await stopped;
    await stopAll();
    log('stopped');
    return interrupted ? status : 1;
  }
  return finish();

  async function finish() {
    // Until a signal has stopped everything.
    while (!stopped) await sleep(200);
    await stopped;
    await stopAll();
    log('stopped');
    return status;
  }
}

async function statusVerb(o) {
  const st = readState(o.data);
  if (!st) {
    console.log(`no cluster in ${o.data}`);
    return 3;
  }
  const running = st.running && pidAlive(st.pid);
  console.log(`scripts/cluster (pid ${st.pid}): ${running ? (st.up ? 'up' : 'starting') : 'not running'}`);
  let ok = running && st.up;
  if (st.url) {
    const h = running && await healthy(st.url);
    ok &&= h;
    console.log(`haproxy ${st.url}: ${h ? 'answers' : 'does not answer'}`);
  }
  for (const s of st.servers || []) {
    const h = running && await healthy(s.url);
    ok &&= h;
    console.log(`server ${s.index} ${s.url} (pid ${s.pid}): ${h ? 'answers' : 'does not answer'} (log: ${s.log})`);
  }
  for (const name of ['primary', 'standby']) {
    if (!st[name]) continue;
    const pid = postmasterPid(st[name].dir);
    ok &&= pid !== 0;
    console.log(`${name} 127.0.0.1:${st[name].port}: ${pid ? `runs (pid ${pid})` : 'stopped'}`);
  }
  return ok ? 0 : running ? 1 : 3;
}

async function stopVerb(o) {
  const st = readState(o.data);
  if (!st) {
    console.log(`no cluster in ${o.data}`);
    return 0;
  }
  if (st.running && pidAlive(st.pid)) {
    process.kill(st.pid, 'SIGTERM');
    const deadline = Date.now() + 120000;
    while (pidAlive(st.pid) && Date.now() < deadline) await sleep(100);
    if (pidAlive(st.pid)) {
      console.log(`scripts/cluster (pid ${st.pid}) still runs after 120 s`);
      return 1;
    }
  }
  // What a supervisor that was killed left behind.
  let left = 0;
  for (const p of [st.haproxy?.pid, ...(st.servers || []).map((s) => s.pid)]) {
    if (!p || !pidAlive(p)) continue;
    const cmd = fs.readFileSync(`/proc/${p}/cmdline`, 'utf8');
    if (!/haproxy|metron-server/.test(cmd) || !cmd.includes(o.data)) continue;
    left++;
    process.kill(p, 'SIGTERM');
    for (let i = 0; i < 600 && pidAlive(p); i++) await sleep(100);
  }
  for (const name of ['standby', 'primary']) {
    if (st[name] && postmasterPid(st[name].dir)) {
      left++;
      await pgProg('pg_ctl', ['-D', st[name].dir, '-m', 'fast', '-w', '-t', '60', 'stop']);
    }
  }
  if (left) {
    console.log(`stopped ${left} process(es) left by a scripts/cluster that did not stop them`);
    writeState(o.data, { ...st, running: false, up: false, stopped: new Date().toISOString() });
  }
  console.log('stopped');
  return 0;
}

/** drain N / ready N: through the set's HAProxy (or --socket's). */
async function stateVerb(o) {
  let socket = o.socket;
  if (!socket) {
    const st = readState(o.data);
    if (!st?.running || !pidAlive(st.pid) || !st.haproxy?.socket) {
      console.log(`no running set with HAProxy in ${o.data} (scripts/cluster status)`);
      return 3;
    }
    socket = st.haproxy.socket;
  }
  const progress = (line) => console.log(line);
  const timeoutMs = o.timeoutS * 1000;
  if (o.verb === 'drain') {
    await drainServer({ socket, server: o.server, timeoutMs, progress });
    console.log(`${o.server} drained: HAProxy sends it no new request and none is in flight; ` +
      `stop and upgrade that process, then: scripts/cluster ready ${o.server.slice(1)}`);
  } else {
    await readyServer({ socket, server: o.server, timeoutMs, progress });
    console.log(`${o.server} is back: HAProxy's health check passes and it gets requests again`);
  }
  return 0;
}

/** One restart asked of the running set in "data" through its control
 * socket; each step's sentence goes to "progress". Resolves to { ok, message }. */
export function askRestart(data, { server, bin = null, timeoutS = 60, progress = () => {} }) {
  return new Promise((resolve) => {
    const conn = net.createConnection(controlSocket(data));
    let rest = '';
    let answer = null;
    conn.setEncoding('utf8');
    conn.on('connect', () => conn.write(JSON.stringify({ verb: 'restart', server, bin, timeoutS }) + '\n'));
    conn.on('data', (d) => {
      const lines = (rest + d).split('\n');
      rest = lines.pop();
      if (rest.length > CONTROL_REQUEST_MAX) conn.destroy();
      for (const line of lines) {
        let m;
        try {
          m = JSON.parse(line);
        } catch {
          continue;
        }
        if (typeof m.progress === 'string') progress(m.progress);
        else if (typeof m.ok === 'boolean') answer = { ok: m.ok, message: String(m.message) };
      }
    });
    conn.on('close', () => resolve(answer || { ok: false,
      message: 'the set closed its control socket without an answer (did it stop?)' }));
    conn.on('error', (e) => {
      answer ??= { ok: false, message: e.code === 'ENOENT' || e.code === 'ECONNREFUSED'
        ? `no running set answers on ${controlSocket(data)} (scripts/cluster status; a set ` +
          'started by an older scripts/cluster has none: stop it and start it again)'
        : `the set's control socket: ${e.message}` };
    });
  });
}

/** restart N / rolling: asked of the running set in DIR. */
async function restartVerb(o) {
  const st = readState(o.data);
  if (!st?.running || !pidAlive(st.pid) || !st.up) {
    console.log(`no running set in ${o.data} (scripts/cluster status)`);
    return 3;
  }
  const which = o.verb === 'rolling' ? (st.servers || []).map((x) => x.index)
    : [Number(o.server.slice(1))];
  for (const server of which) {
    const r = await askRestart(o.data, { server, bin: o.bin, timeoutS: o.timeoutS,
      progress: (line) => console.log(line) });
    console.log(r.message);
    if (!r.ok) {
      if (o.verb === 'rolling') {
        console.log(`rolling restart stopped at server ${server}` + (server > which[0]
          ? ` (servers ${which[0]} to ${server - 1} were restarted)` : ''));
      }
      return 1;
    }
  }
  if (o.verb === 'rolling') {
    console.log(`rolling restart done: ${which.length} server${which.length === 1 ? '' : 's'} ` +
      'restarted one at a time');
  }
  return 0;
}

export async function main(argv) {
  let o;
  try {
    o = parseArgs(argv);
  } catch (e) {
    console.error(`cluster: ${e.message}\n${USAGE}`);
    return 2;
  }
  if (o.verb === 'help') {
    console.log(USAGE);
    return 0;
  }
  try {
    if (o.verb === 'status') return await statusVerb(o);
    if (o.verb === 'stop') return await stopVerb(o);
    if (o.verb === 'drain' || o.verb === 'ready') return await stateVerb(o);
    if (o.verb === 'restart' || o.verb === 'rolling') return await restartVerb(o);
    return await start(o);
  } catch (e) {
    console.error(`cluster: ${e.message}`);
    return 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  process.exitCode = await main(process.argv.slice(2));
}
