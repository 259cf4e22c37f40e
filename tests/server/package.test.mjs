// The Debian package (issue 17 item 8; docs/operations.md "Installation: the Debian package"):
// `cpack -G DEB` in the release build folder makes metron_VERSION_amd64.deb;
// unpacked into a temporary root (dpkg-deb -x, no installation), it holds the
// server, the portal, the gateway, the broker plugin, the backup scripts, the
// prober, the HAProxy and nginx templates and the systemd units, and the
// server starts from there: the embedded cluster, backups on as
// /etc/default/metron sets them, the packaged portal served. scripts/cluster
// runs from there too: the packaged server behind HAProxy on a primary and a
// streaming standby, with nothing of the source tree.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freePort, repoRoot, serverBin, sleep, spawnWatched, tempDir } from './harness.mjs';
import { pidAlive, postmasterPid } from '../../scripts/cluster.mjs';

const build = path.join(repoRoot, 'build');
const which = (p) => ['/usr/bin', '/bin'].some((d) => fs.existsSync(path.join(d, p)));
// The package holds the release build: run once, with the release server
// (the ASan pass of the suite builds no metron-server to package).
const why = !which('cpack') || !which('dpkg-deb') ? 'cpack or dpkg-deb missing'
  : !fs.existsSync(path.join(build, 'CPackConfig.cmake')) ? 'no release build in build/'
  : path.dirname(path.dirname(path.resolve(serverBin))) !== build
    ? 'METRON_SERVER_BIN is not of build/ (the package is made from build/)' : false;

function run(file, args, opts = {}) {
  return new Promise((resolve) => {
    const child = execFile(file, args, { timeout: 300000, maxBuffer: 1 << 24, ...opts },
      (error, stdout, stderr) => resolve({ code: child.exitCode, stdout, stderr }));
  });
}

test('cpack -G DEB: the package unpacks into a temporary root and the server starts from it',
  { skip: why }, async () => {
    const out = tempDir('metron-pkg-');
    let r = await run('cpack', ['-G', 'DEB', '-B', out], { cwd: build });
    assert.equal(r.code, 0, `${r.stdout}${r.stderr}`);
    const deb = fs.readdirSync(out).find((f) => /^metron_.*_amd64\.deb$/.test(f));
    assert.ok(deb, `no .deb in ${fs.readdirSync(out)}`);
    const pkg = path.join(out, deb);

    r = await run('dpkg-deb', ['-f', pkg, 'Package', 'Depends', 'Suggests']);
    assert.match(r.stdout, /^Package: metron$/m);
    for (const dep of ['postgresql-15', 'pgbackrest', 'libpq5', 'libcivetweb1']) {
      assert.match(r.stdout, new RegExp(`Depends:.*\\b${dep}\\b`), dep);
    }
    assert.match(r.stdout, /^Suggests:.*\bnodejs\b.*\bhaproxy\b/m);
    r = await run('dpkg-deb', ['-c', pkg]);
    for (const f of ['./usr/lib/metron/bin/metron-server', './usr/lib/metron/bin/libmetron_ssl_shim.so',
      './usr/lib/metron/bin/metron-gateway', './usr/bin/metron-server',
      './usr/lib/metron/scripts/backup', './usr/lib/metron/scripts/restore', './usr/lib/metron/scripts/probe',
      './usr/lib/metron/scripts/cluster', './usr/lib/metron/scripts/cluster.mjs',
      './usr/share/metron/deploy/postgresql/pg_tuning.conf',
      './usr/share/metron/portal/index.html', './lib/systemd/system/metron.service',
      './usr/share/metron/deploy/haproxy/metron.cfg', './usr/share/metron/deploy/nginx/metron.conf',
      './usr/share/metron/deploy/nginx/metron-static.conf',
      './lib/systemd/system/metron-backup.timer', './etc/default/metron']) {
      assert.ok(r.stdout.includes(` ${f}`), `${f} missing from the package`);
    }
    assert.doesNotMatch(r.stdout, /CMakeLists\.txt|vendor\.cmake/);
    r = await run('dpkg-deb', ['-e', pkg, path.join(out, 'control')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(fs.readFileSync(path.join(out, 'control', 'conffiles'), 'utf8'),
      /^\/etc\/default\/metron$/m);
    assert.match(fs.readFileSync(path.join(out, 'control', 'postinst'), 'utf8'), /adduser --system/);

    // Unpacked, not installed: paths under the temporary root.
    const root = path.join(out, 'root');
    r = await run('dpkg-deb', ['-x', pkg, root]);
    assert.equal(r.code, 0, r.stderr);
    const unit = fs.readFileSync(path.join(root, 'lib/systemd/system/metron.service'), 'utf8');
    const exec = /^ExecStart=(\S+)/m.exec(unit)[1];
    assert.ok(fs.existsSync(path.join(root, exec)), `ExecStart ${exec} is not in the package`);
    assert.match(unit, /^EnvironmentFile=\/etc\/default\/metron$/m);
    const defaults = Object.fromEntries(fs.readFileSync(path.join(root, 'etc/default/metron'), 'utf8')
      .split('\n').filter((l) => /^[A-Z_]+=/.test(l)).map((l) => l.split(/=(.*)/s).slice(0, 2)));
    assert.equal(defaults.METRON_PORTAL, '/usr/share/metron/portal');
    assert.ok(defaults.METRON_BACKUP, 'backups are on in the package');

    const bin = path.join(root, 'usr/bin/metron-server');
    r = await run(bin, ['--version']);
    assert.equal(r.code, 0, r.stderr);
    r = await run(path.join(root, 'usr/bin/metron-gateway'), ['--help']);
    assert.ok(r.code === 0 || r.code === 2, `metron-gateway --help: ${r.code} ${r.stderr}`);
    // The operator scripts run from the unpacked root: each prints its usage
    // (exit 2) without arguments, so nothing of the source tree is needed.
    for (const [script, usage] of [['backup', /scripts\/backup DATA/], ['restore', /scripts\/restore DATA/],
      ['probe', /scripts\/probe URL/]]) {
      r = await run(path.join(root, 'usr/lib/metron/scripts', script), [], { cwd: out });
      assert.equal(r.code, 2, `${script}: ${r.code} ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, usage, script);
    }
    // The deployment templates, as in the source tree (values between at-signs).
    for (const f of ['haproxy/metron.cfg', 'nginx/metron.conf', 'nginx/metron-static.conf']) {
      const text = fs.readFileSync(path.join(root, 'usr/share/metron/deploy', f), 'utf8');
      assert.equal(text, fs.readFileSync(path.join(repoRoot, 'deploy', f), 'utf8'), f);
      assert.match(text, /@LISTEN@/, f);
    }
    assert.equal(fs.readFileSync(path.join(root, 'usr/share/metron/deploy/postgresql/pg_tuning.conf'),
      'utf8'), fs.readFileSync(path.join(repoRoot, 'server/db/pg_tuning.conf'), 'utf8'));

    // The configuration of /etc/default/metron, its paths moved under the root.
    const data = path.join(out, 'data');
    fs.mkdirSync(data, { mode: 0o755 });
    const env = { ...process.env, ...defaults, METRON_LISTEN: '127.0.0.1:0', METRON_DATA: data,
      METRON_PORTAL: path.join(root, defaults.METRON_PORTAL), METRON_BACKUP: path.join(out, 'backup') };
    delete env.DATABASE_URL;
    delete env.METRON_TEST_ROUTES;
    const server = spawnWatched(bin, [], { env }, 'the packaged metron-server');
    const { proc, exited } = server;
    const url = await server.waitFor(/listening on (http:\/\/[0-9.]+:\d+)\//, 90000);
    assert.match(server.output(), /backups: WAL archived with pgBackRest/);
    let health = null;
    for (const deadline = Date.now() + 30000; health?.status !== 200; await sleep(100)) {
      health = await fetch(`${url}/api/v1/health`).catch(() => null);
      await health?.arrayBuffer();
      assert.ok(Date.now() < deadline, 'never healthy');
    }
    const index = await fetch(`${url}/`);
    assert.equal(index.status, 200);
    assert.equal(await index.text(),
      fs.readFileSync(path.join(root, 'usr/share/metron/portal/index.html'), 'utf8'));
    // The production binary: no test routes, whatever the environment says.
    const testRoute = await fetch(`${url}/api/v1/test/accounts`, { method: 'POST' });
    await testRoute.arrayBuffer();
    assert.equal(testRoute.status, 404);
    proc.kill('SIGTERM');
    const exit = await exited;
    assert.equal(exit.code, 0, server.output());
    assert.ok(!fs.existsSync(path.join(data, 'pg', 'postmaster.pid')), 'the cluster was stopped');

    await packagedCluster(root);
  });

/** scripts/cluster as the package installs it, run from the unpacked root
 * "root": no build, the packaged server, portal, HAProxy template and
 * PostgreSQL settings; Ctrl-C stops everything. */
async function packagedCluster(root) {
  const script = path.join(root, 'usr/lib/metron/scripts/cluster');
  const env = { ...process.env };
  for (const k of ['METRON_SERVER_BIN', 'METRON_SKIP_BUILD', 'METRON_DATA', 'DATABASE_URL',
    'METRON_LISTEN', 'METRON_TEST_ROUTES']) delete env[k];
  let r = await run(script, ['--help'], { env, cwd: '/' });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /scripts\/cluster \[start\]/);
  // Nothing is written under /usr/lib/metron: the folder must be given.
  r = await run(script, ['status'], { env, cwd: '/' });
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /the set needs a folder: --data DIR \(or METRON_DATA\)/);

  const data = path.join(tempDir('metron-pkg-cluster-'), 'set');
  const listen = `127.0.0.1:${await freePort()}`;
  const set = spawnWatched(script, ['--data', data, '--servers', '1', '--listen', listen,
    '--server-port', '0', '--no-demo'], { env, cwd: '/', detached: true }, 'the packaged scripts/cluster');
  const { proc, exited } = set;
  const url = await set.waitFor(/^cluster: up: (http:\/\/[0-9.]+:\d+) /m, 240000);
  const out = set.output();
  assert.equal(url, `http://${listen}`);
  assert.doesNotMatch(out, /building the server/);
  assert.match(out, /standby PostgreSQL on 127\.0\.0\.1:\d+, streaming from the primary/);
  const st = JSON.parse(fs.readFileSync(path.join(data, 'cluster.json'), 'utf8'));
  assert.equal(st.servers.length, 1);
  assert.equal(fs.readlinkSync(`/proc/${st.servers[0].pid}/exe`),
    path.join(root, 'usr/lib/metron/bin/metron-server'), 'the packaged server runs');
  const health = await fetch(`${url}/api/v1/health`);
  const body = await health.json();
  assert.equal(health.status, 200);
  assert.equal(body.replica.configured, true);
  const index = await fetch(`${url}/`);
  assert.equal(index.status, 200);
  assert.equal(await index.text(),
    fs.readFileSync(path.join(root, 'usr/share/metron/portal/index.html'), 'utf8'));
  // The primary runs with the packaged pg_tuning.conf.
  const cmdline = fs.readFileSync(`/proc/${postmasterPid(st.primary.dir)}/cmdline`, 'utf8');
  assert.match(cmdline, /wal_init_zero=off/);
  process.kill(-proc.pid, 'SIGINT');
  assert.deepEqual(await exited, { code: 0, signal: null }, set.output());
  const left = [st.pid, st.haproxy?.pid, ...st.servers.map((s) => s.pid)].filter((p) => p && pidAlive(p));
  for (const name of ['primary', 'standby']) if (postmasterPid(st[name].dir)) left.push(name);
  assert.deepEqual(left, [], 'nothing of the set is left running');
}
