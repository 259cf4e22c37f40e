// Test harness for the server's integration tests (node --test).
//
//   const pg = await startPostgres();          // a fresh cluster in a temp folder
//   const srv = await startServer({ databaseUrl: await pg.createDatabase() });
//   const res = await fetch(srv.url + '/api/v1/health');
//   await srv.stop(); await pg.destroy();
//
// PostgreSQL runs as the `postgres` system user when the tests run as root
// (initdb refuses root). Everything listens on 127.0.0.1 on free ports.
// METRON_SERVER_BIN names the binary (default build/server/metron-server).
import { spawn, execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';

const execFileP = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '..', '..');
export const serverBin = process.env.METRON_SERVER_BIN ||
  path.join(repoRoot, 'build', 'server', 'metron-server');
export const pgBin = process.env.METRON_PG_BIN || '/usr/lib/postgresql/15/bin';

const isRoot = process.getuid && process.getuid() === 0;

function postgresUser() {
  if (!isRoot) return {};
  const line = fs.readFileSync('/etc/passwd', 'utf8').split('\n')
    .find((l) => l.startsWith('postgres:'));
  if (!line) throw new Error('running as root needs the postgres system user');
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

/** A free TCP port on 127.0.0.1 (closed again before it is returned). */
export async function freePort() {
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

/** A temp folder that the postgres user can also reach; removed by rm(). */
export function tempDir(prefix = 'metron-test-') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.chmodSync(dir, 0o755);
  return dir;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Run a PostgreSQL program as the cluster's user. */
async function pgRun(prog, args, opts = {}) {
  return execFileP(path.join(pgBin, prog), args, {
    ...postgresUser(), cwd: opts.cwd || '/', env: { ...process.env, LC_ALL: 'C.UTF-8' },
    timeout: 60000,
  });
}

/**
 * Create and start a private cluster: { port, dir, url(db), createDatabase(),
 * psql(sql, db), stop(), start(), destroy() }.
 */
export async function startPostgres() {
  const root = tempDir('metron-pg-');
  const dir = path.join(root, 'data');
  const ids = postgresUser();
  fs.mkdirSync(dir, { mode: 0o700 });
  if (isRoot) fs.chownSync(dir, ids.uid, ids.gid);
  await pgRun('initdb', ['-D', dir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8',
    '--locale=C.UTF-8', '--no-sync'], { cwd: dir });
  const port = await freePort();
  // Tests need speed, not durability.
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off ` +
    '-c synchronous_commit=off -c full_page_writes=off';
  const pg = {
    port, dir, root, dbCount: 0,
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
    /** A new empty database; returns its URL. */
    async createDatabase(name) {
      const db = name || `metron_t${++pg.dbCount}_${process.pid}`;
      await pg.psql(`CREATE DATABASE ${db}`);
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
 * Start metron-server. Options: databaseUrl (omit for the embedded default),
 * dataDir, portalDir, args (extra flags), env (extra environment),
 * waitHealthy (default true). Returns { url, port, proc, dataDir, stdout(),
 * stderr(), exited (promise of {code, signal}), stop(signal) }.
 */
export async function startServer(options = {}) {
  const dataDir = options.dataDir || tempDir('metron-srv-');
  const portalDir = options.portalDir || path.join(dataDir, 'portal');
  fs.mkdirSync(portalDir, { recursive: true });
  const env = { ...process.env, METRON_TEST_ROUTES: '1', ...options.env };
  delete env.DATABASE_URL;
  if (options.databaseUrl) env.DATABASE_URL = options.databaseUrl;
  const args = ['--listen', '127.0.0.1:0', '--data', dataDir, '--portal', portalDir,
    '--db-pool', '4', ...(options.args || [])];
  const proc = spawn(serverBin, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout.setEncoding('utf8');
  proc.stderr.setEncoding('utf8');
  proc.stdout.on('data', (d) => { out += d; });
  proc.stderr.on('data', (d) => { err += d; });
  const exited = new Promise((resolve) => {
    proc.on('exit', (code, signal) => resolve({ code, signal }));
  });
  const srv = {
    proc, dataDir, portalDir, exited, url: null, port: null,
    stdout: () => out,
    stderr: () => err,
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
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
    for (;;) {
      try {
        const r = await fetch(srv.url + '/api/v1/health');
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
  });
}

/**
 * An SMTP sink on loopback (python3-aiosmtpd's Mailbox handler): every
 * message lands in a maildir. { port, url, dir, messages(), stop() }.
 */
export async function startSmtpSink() {
  const dir = tempDir('metron-smtp-');
  const port = await freePort();
  // Debian's python3 has python3-aiosmtpd; a python3 earlier on PATH
  // (pyenv, venv) may not.
  const python = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
  const proc = spawn(python, ['-m', 'aiosmtpd', '-n', '-l', `127.0.0.1:${port}`, '-c',
    'aiosmtpd.handlers.Mailbox', path.join(dir, 'mail')], { stdio: 'ignore' });
  const deadline = Date.now() + 10000;
  for (;;) {
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => { s.end(); resolve(true); });
      s.on('error', () => resolve(false));
    });
    if (ok) break;
    if (proc.exitCode !== null || Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error('SMTP sink did not start (is python3-aiosmtpd installed?)');
    }
    await sleep(50);
  }
  return {
    port, dir, url: `smtp://127.0.0.1:${port}`,
    /** The raw text of every message received so far, oldest first. */
    messages() {
      const res = [];
      for (const sub of ['new', 'cur']) {
        const d = path.join(dir, 'mail', sub);
        if (!fs.existsSync(d)) continue;
        for (const f of fs.readdirSync(d)) {
          const p = path.join(d, f);
          res.push({ mtime: fs.statSync(p).mtimeMs, text: fs.readFileSync(p, 'utf8') });
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
