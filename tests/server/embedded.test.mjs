// The embedded default: no DATABASE_URL -> a private cluster in DATA/pg, which
// no other local OS user can reach: no TCP at all, the unix socket in a 0700
// folder, SCRAM with a generated password in DATA/pg/metron.pgpass (0600).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  freePort, pgBin, processesMentioning, sleep, startServer as harnessStartServer, tempDir,
} from './harness.mjs';

const isRoot = process.getuid() === 0;
const dataDir = tempDir('metron-embed-');
const dirs = [dataDir];
const servers = [];
after(async () => {
  // A failed assertion leaves its server running: stop it (and its cluster).
  for (const srv of servers) await srv.stop('SIGTERM');
  for (const d of dirs) {
    await stopLeftoverCluster(path.join(d, 'pg'));
    fs.rmSync(d, { recursive: true, force: true });
  }
});

/** startServer(), remembered for the clean-up above. */
async function startServer(options) {
  try {
    const srv = await harnessStartServer(options);
    servers.push(srv);
    return srv;
  } catch (e) {
    if (e.server) servers.push(e.server);
    throw e;
  }
}

/** uid/gid the cluster runs as: postgres under root, else ourselves. */
function clusterIds() {
  if (!isRoot) return { uid: process.getuid(), gid: process.getgid() };
  const line = fs.readFileSync('/etc/passwd', 'utf8').split('\n')
    .find((l) => l.startsWith('postgres:'));
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

/** Run a program; resolves to { code, stdout, stderr } whatever its exit. */
function run(file, args, opts = {}) {
  return new Promise((resolve) => {
    const env = Object.fromEntries(Object.entries(process.env)
      .filter(([k]) => !k.startsWith('PG')));
    const child = execFile(file, args, { cwd: '/', timeout: 60000, ...opts,
      env: { ...env, LC_ALL: 'C.UTF-8', ...opts.env } }, (error, stdout, stderr) => {
      resolve({ code: child.exitCode, stdout: stdout.trim(), stderr });
    });
  });
}

/** psql as the OS user "user" (null: this process's user). */
function psql(user, args, env = {}) {
  const base = ['-X', '-w', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1'];
  if (user) return run('runuser', ['-u', user, '--', path.join(pgBin, 'psql'), ...base, ...args], { env });
  return run(path.join(pgBin, 'psql'), [...base, ...args], { env });
}

/** A PostgreSQL program as the cluster's user (initdb refuses root). */
function asCluster(prog, args, cwd) {
  return run(path.join(pgBin, prog), args, { ...(isRoot ? clusterIds() : {}), cwd });
}

async function stopLeftoverCluster(pgDir) {
  if (fs.existsSync(path.join(pgDir, 'postmaster.pid'))) {
    await asCluster('pg_ctl', ['-D', pgDir, '-m', 'immediate', '-w', 'stop'], pgDir);
  }
}

const pidOf = (d) => Number(fs.readFileSync(path.join(d, 'pg', 'postmaster.pid'), 'utf8')
  .split('\n')[0]);

/** The TCP addresses process "pid" listens on (from /proc: no tools needed). */
function tcpListeners(pid) {
  const listening = new Map();
  for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!fs.existsSync(f)) continue;
    for (const line of fs.readFileSync(f, 'utf8').split('\n').slice(1)) {
      const c = line.trim().split(/\s+/);
      if (c[3] === '0A') listening.set(c[9], c[1]); // state LISTEN: inode -> address
    }
  }
  const found = [];
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    let link;
    try { link = fs.readlinkSync(`/proc/${pid}/fd/${fd}`); } catch { continue; }
    const m = /^socket:\[(\d+)\]$/.exec(link);
    if (m && listening.has(m[1])) found.push(listening.get(m[1]));
  }
  return found;
}

/** The running cluster of "d" listens on no TCP port at all. */
async function assertNoTcp(d) {
  const conf = fs.readFileSync(path.join(d, 'pg', 'metron.conf'), 'utf8');
  assert.match(conf, /^listen_addresses = ''$/m);
  const pidFile = fs.readFileSync(path.join(d, 'pg', 'postmaster.pid'), 'utf8').split('\n');
  assert.equal(pidFile[5], '', 'postmaster.pid: no listen address');
  const pid = pidOf(d);
  assert.deepEqual(tcpListeners(pid), [], 'the postmaster holds no listening TCP socket');
  if (isRoot) {
    const ss = await run('ss', ['-H', '-l', '-t', '-n', '-p']);
    if (ss.code === 0) assert.doesNotMatch(ss.stdout, new RegExp(`pid=${pid},`));
  }
}

/** The folder of the unix socket (metron.conf). */
function socketDir(d) {
  const conf = fs.readFileSync(path.join(d, 'pg', 'metron.conf'), 'utf8');
  return /^unix_socket_directories = '(.*)'$/m.exec(conf)[1];
}

/** What only the server may do: pg_hba.conf SCRAM only, the password file
 * 0600, no TCP, and neither another OS user nor a client without the
 * password gets in over the socket. */
async function assertLockedDown(d) {
  const pg = path.join(d, 'pg');
  const hba = fs.readFileSync(path.join(pg, 'pg_hba.conf'), 'utf8');
  const rules = hba.split('\n').filter((l) => l.trim() && !l.trim().startsWith('#'));
  assert.deepEqual(rules, ['local   all   all   scram-sha-256'], hba);
  const st = fs.statSync(path.join(pg, 'metron.pgpass'));
  assert.equal(st.mode & 0o777, 0o600, 'metron.pgpass is 0600');
  assert.equal(st.uid, clusterIds().uid, 'metron.pgpass belongs to the cluster user');
  assert.match(fs.readFileSync(path.join(pg, 'metron.pgpass'), 'utf8'),
    /^\*:\*:\*:postgres:[0-9a-f]{64}\n$/);
  const sock = socketDir(d);
  const sst = fs.statSync(sock);
  assert.equal(sst.mode & 0o777, 0o700, 'the socket folder is 0700');
  assert.equal(sst.uid, clusterIds().uid, 'the socket folder belongs to the cluster user');
  await assertNoTcp(d);
  const target = ['-h', sock, '-p', '5432', '-U', 'postgres', '-d', 'metron'];
  if (isRoot) {
    const other = await psql('nobody', [...target, '-c', 'SELECT count(*) FROM users']);
    assert.notEqual(other.code, 0, other.stdout);
    assert.match(other.stderr, /Permission denied/);
  }
  // A client that can reach the socket still needs the password.
  const noPw = await psql(null, [...target, '-c', 'SELECT 1']);
  assert.notEqual(noPw.code, 0);
  assert.match(noPw.stderr, /no password supplied|password authentication failed/);
  const wrong = await psql(null, [...target, '-c', 'SELECT 1'], { PGPASSWORD: 'x'.repeat(64) });
  assert.notEqual(wrong.code, 0);
  assert.match(wrong.stderr, /password authentication failed/);
  // The documented way in for the operator.
  const ok = await psql(null, [...target, '-c', 'SELECT current_user'],
    { PGPASSFILE: path.join(pg, 'metron.pgpass') });
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.stdout, 'postgres');
}

async function stopAndCheck(srv, d = dataDir) {
  const { code } = await srv.stop('SIGTERM');
  assert.equal(code, 0, srv.stderr());
  assert.match(srv.stderr(), /embedded PostgreSQL: stopped/);
  // The postmaster named its data folder on its command line.
  let left = processesMentioning(path.join(d, 'pg'));
  for (let i = 0; i < 20 && left.length; i++) {
    await sleep(100);
    left = processesMentioning(path.join(d, 'pg'));
  }
  assert.deepEqual(left, [], 'no PostgreSQL left running for the data folder');
}

async function health(srv) {
  const res = await fetch(srv.url + '/api/v1/health');
  assert.deepEqual(await res.json(), { status: 'ok', db: 'ok', changes_heard: true,
    backup: { state: 'off', last_archived_at: null }, replica: { configured: false } });
}

test('without DATABASE_URL the server creates, uses and stops its own cluster', async () => {
  const srv = await startServer({ dataDir, startTimeoutMs: 90000 });
  assert.match(srv.stderr(), /creating the cluster/);
  assert.ok(fs.existsSync(path.join(dataDir, 'pg', 'PG_VERSION')));
  if (isRoot) {
    const st = fs.statSync(path.join(dataDir, 'pg'));
    assert.notEqual(st.uid, 0, 'the cluster belongs to the postgres user');
  }
  assert.doesNotMatch(srv.stderr(), /without a password/, 'a new cluster never had trust');
  assert.equal(socketDir(dataDir), path.join(dataDir, 'pg'));
  await health(srv);
  await assertLockedDown(dataDir);
  // The cluster runs with server/db/pg_tuning.conf's settings (issue 16).
  const shown = await psql(null, ['-h', socketDir(dataDir), '-U', 'postgres', '-d', 'metron', '-c',
    "SELECT string_agg(name || '=' || current_setting(name), ',' ORDER BY name) " +
    "FROM pg_settings WHERE name IN ('wal_init_zero', 'wal_compression', 'shared_buffers', " +
    "'max_wal_size', 'min_wal_size', 'checkpoint_timeout', 'fsync', 'synchronous_commit', " +
    "'full_page_writes')"], { PGPASSFILE: path.join(dataDir, 'pg', 'metron.pgpass') });
  assert.equal(shown.code, 0, shown.stderr);
  assert.equal(shown.stdout, 'checkpoint_timeout=15min,fsync=on,full_page_writes=on,' +
    'max_wal_size=4GB,min_wal_size=1GB,shared_buffers=512MB,synchronous_commit=on,' +
    'wal_compression=lz4,wal_init_zero=off');
  await stopAndCheck(srv);
});

test('a second start reuses the cluster (and a second server on it is refused)', async () => {
  const secret = fs.readFileSync(path.join(dataDir, 'pg', 'metron.pgpass'), 'utf8');
  const srv = await startServer({ dataDir, startTimeoutMs: 60000 });
  assert.doesNotMatch(srv.stderr(), /creating the cluster/);
  assert.doesNotMatch(srv.stderr(), /new password/);
  assert.match(srv.stderr(), /0 migrations applied now/);
  const other = await startServer({ dataDir, waitHealthy: false }).catch((e) => e);
  assert.ok(other instanceof Error);
  assert.match(other.message, /in use by another metron-server/);
  const res = await fetch(srv.url + '/api/v1/health');
  assert.equal(res.status, 200);
  assert.equal(fs.readFileSync(path.join(dataDir, 'pg', 'metron.pgpass'), 'utf8'), secret);
  await assertLockedDown(dataDir);
  await stopAndCheck(srv);
});

test('killed with SIGKILL, the server restarts on its cluster, locked down as before',
  async () => {
    const first = await startServer({ dataDir, startTimeoutMs: 60000 });
    await first.stop('SIGKILL');
    const srv = await startServer({ dataDir, startTimeoutMs: 60000 });
    assert.match(srv.stderr(), /left running by an earlier run/);
    await health(srv);
    await assertLockedDown(dataDir);
    await stopAndCheck(srv);
  });

test('a password file others could read, or none, gets a new password', async () => {
  const file = path.join(dataDir, 'pg', 'metron.pgpass');
  const before = fs.readFileSync(file, 'utf8');
  fs.chmodSync(file, 0o644);
  let srv = await startServer({ dataDir, startTimeoutMs: 60000 });
  assert.match(srv.stderr(), /not a 0600 file.*setting a new password/);
  const after1 = fs.readFileSync(file, 'utf8');
  assert.notEqual(after1, before);
  await health(srv);
  await assertLockedDown(dataDir);
  // The old password no longer opens the cluster.
  const old = await psql(null, ['-h', socketDir(dataDir), '-U', 'postgres', '-d', 'metron',
    '-c', 'SELECT 1'], { PGPASSWORD: before.trim().split(':')[4] });
  assert.match(old.stderr, /password authentication failed/);
  await stopAndCheck(srv);
  fs.rmSync(file);
  srv = await startServer({ dataDir, startTimeoutMs: 60000 });
  assert.match(srv.stderr(), /setting a new password/);
  assert.notEqual(fs.readFileSync(file, 'utf8'), after1);
  await health(srv);
  await assertLockedDown(dataDir);
  await stopAndCheck(srv);
});

test('a cluster that cannot start: the server says why in its own log, from postgres.log',
  async () => {
    const auto = path.join(dataDir, 'pg', 'postgresql.auto.conf');
    const kept = fs.readFileSync(auto, 'utf8');
    fs.appendFileSync(auto, 'metron_no_such_setting_for_the_test = 1\n');
    try {
      const failed = await startServer({ dataDir, waitHealthy: false }).catch((e) => e);
      assert.ok(failed instanceof Error);
      assert.match(failed.message, /embedded PostgreSQL did not start/);
      assert.match(failed.message,
        /embedded PostgreSQL: .*unrecognized configuration parameter "metron_no_such_setting_for_the_test"/);
    } finally {
      fs.writeFileSync(auto, kept);
    }
    const srv = await startServer({ dataDir, startTimeoutMs: 60000 });
    await health(srv);
    await stopAndCheck(srv);
  });

test('a socket lock file restored with the cluster, naming a live process, does not stop the start',
  async () => {
    // As pgBackRest restores it: the lock of the backup's postmaster, whose
    // PID a process of the cluster user has now.
    const lock = path.join(dataDir, 'pg', '.s.PGSQL.5432.lock');
    const pw = /^postgres:x:(\d+):(\d+):/m.exec(fs.readFileSync('/etc/passwd', 'utf8'));
    const holder = spawn('sleep', ['60'], { uid: Number(pw[1]), gid: Number(pw[2]),
      stdio: 'ignore' });
    try {
      fs.writeFileSync(lock, `${holder.pid}\n${path.join(dataDir, 'pg')}\n1796537337\n5432\n`);
      fs.chownSync(lock, Number(pw[1]), Number(pw[2]));
      const srv = await startServer({ dataDir, startTimeoutMs: 60000 });
      assert.match(srv.stderr(), /removed a socket lock file no postmaster holds/);
      await health(srv);
      await stopAndCheck(srv);
    } finally {
      holder.kill('SIGKILL');
    }
  });

test('a cluster created the old way (trust, 127.0.0.1 TCP) is locked down at the next start',
  async () => {
    const d = tempDir('metron-embed-old-');
    dirs.push(d);
    const pg = path.join(d, 'pg');
    const ids = clusterIds();
    fs.mkdirSync(pg, { mode: 0o700 });
    fs.chownSync(pg, ids.uid, ids.gid);
    // Exactly what db_embed.c did before: initdb -A trust, the include line,
    // and a metron.conf listening on a loopback port.
    const init = await asCluster('initdb', ['-D', pg, '-U', 'postgres', '-E', 'UTF8',
      '--locale=C.UTF-8', '-A', 'trust', '--no-sync'], pg);
    assert.equal(init.code, 0, init.stderr);
    fs.appendFileSync(path.join(pg, 'postgresql.conf'),
      "\n# metron-server: port and addresses, rewritten at every start\n" +
      "include_if_exists = 'metron.conf'\n");
    const port = await freePort();
    fs.writeFileSync(path.join(pg, 'metron.conf'), `listen_addresses = '127.0.0.1'\n` +
      `port = ${port}\nunix_socket_directories = '${pg}'\n`, { mode: 0o600 });
    fs.chownSync(path.join(pg, 'metron.conf'), ids.uid, ids.gid);
    const start = await asCluster('pg_ctl', ['-D', pg, '-l', path.join(pg, 'postgres.log'),
      '-w', '-t', '60', 'start'], pg);
    assert.equal(start.code, 0, start.stderr + fs.readFileSync(path.join(pg, 'postgres.log')));
    const tcp = ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres'];
    let r = await psql(null, [...tcp, '-d', 'postgres', '-c', 'CREATE DATABASE metron']);
    assert.equal(r.code, 0, r.stderr);
    r = await psql(null, [...tcp, '-d', 'metron', '-c', 'CREATE TABLE old_marker AS SELECT 42 AS x']);
    assert.equal(r.code, 0, r.stderr);
    if (isRoot) {
      // What the probe found: any local user was superuser over TCP.
      r = await psql('nobody', [...tcp, '-d', 'metron', '-c', 'SELECT x FROM old_marker']);
      assert.equal(r.stdout, '42', 'the old-style cluster is open to other users (' + r.stderr + ')');
    }
    // Left running, as after an old server killed with SIGKILL: the new
    // server stops it and brings it back locked down.
    const srv = await startServer({ dataDir: d, startTimeoutMs: 90000 });
    assert.match(srv.stderr(), /left running by an earlier run/);
    assert.match(srv.stderr(), /allowed connections without a password \(trust/);
    assert.match(srv.stderr(), /setting a new password/);
    await health(srv);
    await assertLockedDown(d);
    // The old port is gone, for everybody.
    r = await psql(isRoot ? 'nobody' : null, [...tcp, '-d', 'metron', '-c', 'SELECT 1']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Connection refused/);
    // The data of the old cluster is all there.
    r = await psql(null, ['-h', socketDir(d), '-U', 'postgres', '-d', 'metron', '-c',
      'SELECT x FROM old_marker'], { PGPASSFILE: path.join(pg, 'metron.pgpass') });
    assert.equal(r.stdout, '42', r.stderr);
    await stopAndCheck(srv, d);
    // And it stays locked down: the next start sets nothing new.
    const again = await startServer({ dataDir: d, startTimeoutMs: 60000 });
    assert.doesNotMatch(again.stderr(), /without a password|new password/);
    await assertLockedDown(d);
    await stopAndCheck(again, d);
  });

test('a data path too long for a unix socket address gets a private socket folder',
  async () => {
    const base = tempDir('metron-embed-long-');
    const d = path.join(base, 'a'.repeat(50), 'b'.repeat(50));
    dirs.push(d, base);
    fs.mkdirSync(d, { recursive: true, mode: 0o755 });
    assert.ok(path.join(d, 'pg', '.s.PGSQL.5432').length >= 108);
    const srv = await startServer({ dataDir: d, startTimeoutMs: 90000 });
    const sock = socketDir(d);
    assert.match(sock, /^\/tmp\/metron-pgsock-[A-Za-z0-9]{6}$/);
    await health(srv);
    await assertLockedDown(d);
    // Killed, then started again: the left-over socket folder goes.
    await srv.stop('SIGKILL');
    const srv2 = await startServer({ dataDir: d, startTimeoutMs: 60000 });
    const sock2 = socketDir(d);
    assert.notEqual(sock2, sock);
    assert.ok(!fs.existsSync(sock), `${sock} removed`);
    await health(srv2);
    await assertLockedDown(d);
    await stopAndCheck(srv2, d);
    assert.ok(!fs.existsSync(sock2), `${sock2} removed at stop`);
  });

/** pg_controldata's "Database cluster state" of "pgDir". */
async function clusterState(pgDir) {
  const r = await run(path.join(pgBin, 'pg_controldata'), ['-D', pgDir],
    { ...(isRoot ? clusterIds() : {}), env: { LC_ALL: 'C' } });
  assert.equal(r.code, 0, r.stderr);
  return /^Database cluster state:\s*(.*)$/m.exec(r.stdout)[1];
}

test('a cluster left "shut down in recovery" without a signal file is not started: restore again',
  async () => {
    // What an interrupted scripts/restore can leave (docs/operations.md,
    // "Restoring"): made here by stopping a standby and removing its
    // standby.signal, as PostgreSQL removes recovery.signal before the end
    // of a recovery.
    const pg = path.join(dataDir, 'pg');
    const signal = path.join(pg, 'standby.signal');
    const pgCtl = (...args) => asCluster('pg_ctl', ['-D', pg, '-w', '-t', '60', ...args], pg);
    const putSignal = () => {
      fs.writeFileSync(signal, '');
      if (isRoot) fs.chownSync(signal, clusterIds().uid, clusterIds().gid);
    };
    putSignal();
    let r = await pgCtl('-l', path.join(pg, 'postgres.log'), 'start');
    assert.equal(r.code, 0, r.stderr);
    r = await pgCtl('-m', 'fast', 'stop');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await clusterState(pg), 'shut down in recovery');
    fs.rmSync(signal);

    const refused = await startServer({ dataDir, waitHealthy: false }).catch((e) => e);
    assert.ok(refused instanceof Error);
    assert.match(refused.message, new RegExp('the PostgreSQL cluster in ' + pg + ' is in the ' +
      'middle of a restore \\("shut down in recovery", without recovery.signal\\): not started, ' +
      'since it would replay WAL past the restore\'s instant. Run scripts/restore ' + dataDir +
      ' again'));
    assert.ok(!fs.existsSync(path.join(pg, 'postmaster.pid')), 'PostgreSQL was not started');
    assert.equal(await clusterState(pg), 'shut down in recovery', 'nothing was replayed');

    // With the signal file (a standby; a restore that put recovery.signal
    // back) PostgreSQL starts; promoted, the cluster is an ordinary one and
    // the server starts on it.
    putSignal();
    r = await pgCtl('-l', path.join(pg, 'postgres.log'), 'start');
    assert.equal(r.code, 0, r.stderr);
    r = await pgCtl('promote');
    assert.equal(r.code, 0, r.stderr);
    r = await pgCtl('-m', 'fast', 'stop');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await clusterState(pg), 'shut down');
    const srv = await startServer({ dataDir, startTimeoutMs: 60000 });
    await health(srv);
    await stopAndCheck(srv);
  });
