// scripts/cluster, the operator's scale-out set (docs/scale.md, "Running the
// set: scripts/cluster"), run as an operator runs it: a primary, a streaming
// standby, two metron-server processes (METRON_SERVER_BIN) and HAProxy on
// loopback; status; drain and ready through HAProxy's runtime API; Ctrl-C
// stops everything; started again on the same
// folder it keeps the data and the standby; a second start is refused;
// `scripts/cluster stop` from another shell stops it. Nothing is left running.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freePort, login, repoRoot, serverBin, spawnWatched, tempDir } from './harness.mjs';
import { pidAlive, postmasterPid } from '../../scripts/cluster.mjs';

const script = path.join(repoRoot, 'scripts', 'cluster');
const data = path.join(tempDir('metron-cluster-'), 'set');
const env = { ...process.env, METRON_SKIP_BUILD: '1', METRON_SERVER_BIN: serverBin };
delete env.METRON_DATA;
delete env.DATABASE_URL;
delete env.METRON_LISTEN;

/** Run scripts/cluster to its end: { code, out }. */
function run(args) {
  return new Promise((resolve) => {
    execFile(script, args, { env, timeout: 180000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (err.code ?? 1) : 0, out: stdout + stderr });
    });
  });
}

/** Start scripts/cluster in the background; resolves once it says it is up
 * (or, with "until", once its output matches that). */
async function start(args, until = /^cluster: up: (http:\/\/[0-9.]+:\d+) /m) {
  // Its own process group, as in a terminal: Ctrl-C goes to the whole group.
  const set = spawnWatched(script, ['--data', data, ...args], { env, detached: true }, 'scripts/cluster');
  const url = await set.waitFor(until, 600000);
  return { proc: set.proc, url, exited: set.exited, out: set.output };
}

const state = () => JSON.parse(fs.readFileSync(path.join(data, 'cluster.json'), 'utf8'));

/** Every process of the set that is still alive (should be none). */
function leftOver(st) {
  const left = [];
  for (const p of [st.pid, st.haproxy?.pid, ...(st.servers || []).map((s) => s.pid)]) {
    if (p && pidAlive(p)) left.push(p);
  }
  for (const name of ['primary', 'standby']) {
    if (postmasterPid(st[name].dir)) left.push(name);
  }
  return left;
}

/** The names of the processes that answered "n" health requests through HAProxy. */
async function backendsSeen(url, n) {
  const seen = new Set();
  for (let i = 0; i < n; i++) {
    const r = await fetch(url + '/api/v1/health');
    const body = await r.json();
    assert.equal(r.status, 200);
    assert.equal(body.replica.configured, true);
    seen.add(r.headers.get('x-served-by'));
  }
  return [...seen].sort();
}

function noSanitizerReport() {
  for (const f of fs.readdirSync(data).filter((x) => /^server-\d+\.log$/.test(x))) {
    assert.doesNotMatch(fs.readFileSync(path.join(data, f), 'utf8'),
      /runtime error|AddressSanitizer|LeakSanitizer/, f);
  }
}

after(async () => {
  // Whatever a failed test left: the script's own "stop" cleans up.
  if (fs.existsSync(path.join(data, 'cluster.json'))) await run(['stop', '--data', data]);
});

test('scripts/cluster: two servers behind HAProxy on a primary and a streaming standby; status; Ctrl-C stops it all', async () => {
  const listen = `127.0.0.1:${await freePort()}`;
  const c = await start(['--listen', listen, '--server-port', '0']);
  assert.equal(c.url, `http://${listen}`);
  assert.match(c.out(), /cluster: making the standby \(pg_basebackup\)/);
  assert.match(c.out(), /Demo logins/);
  assert.match(c.out(), /cluster: standby PostgreSQL on 127\.0\.0\.1:\d+, streaming from the primary/);
  const st = state();
  assert.equal(st.servers.length, 2);
  assert.equal(st.up, true);
  // Both processes answer through HAProxy, and both use the standby.
  assert.deepEqual(await backendsSeen(c.url, 4), ['s0', 's1']);
  for (const s of st.servers) {
    let up = false;
    for (let i = 0; i < 200 && !up; i++) {
      up = (await (await fetch(s.url + '/api/v1/health')).json()).replica.up;
      if (!up) await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(up, `server ${s.index} reads on the standby`);
  }
  // A demo user signs in through HAProxy; the session holds on both processes.
  const u = await login(c.url, { account: 'demo-pro', user: 'admin', password: 'Demo-pass1' });
  for (const s of st.servers) {
    const r = await fetch(s.url + '/api/v1/me', { headers: { cookie: `metron_session=${u.cookie}` } });
    assert.equal(r.status, 200, s.url);
  }
  const status = await run(['status', '--data', data]);
  assert.equal(status.code, 0, status.out);
  assert.match(status.out, /: up\n/);
  assert.match(status.out, /server 1 http:\/\/127\.0\.0\.1:\d+ \(pid \d+\): answers/);
  assert.match(status.out, /standby 127\.0\.0\.1:\d+: runs/);
  // HAProxy's runtime API (its folder's socket, only for its user): server
  // 1 drained gets no request, then back in.
  assert.equal(st.haproxy.socket, path.join(data, 'haproxy.sock'));
  assert.equal(fs.statSync(st.haproxy.socket).mode & 0o777, 0o600);
  const drain = await run(['drain', '1', '--data', data]);
  assert.equal(drain.code, 0, drain.out);
  assert.match(drain.out, /s1 drained: HAProxy sends it no new request and none is in flight/);
  assert.deepEqual(await backendsSeen(c.url, 4), ['s0']);
  const ready = await run(['ready', '1', '--data', data]);
  assert.equal(ready.code, 0, ready.out);
  assert.match(ready.out, /s1 is back: HAProxy's health check passes/);
  assert.deepEqual(await backendsSeen(c.url, 4), ['s0', 's1']);
  const bad = await run(['drain', '5', '--data', data]);
  assert.equal(bad.code, 1, bad.out);
  assert.match(bad.out, /HAProxy refused to set s5 to drain: No such server\./);
  // Ctrl-C in the terminal: SIGINT to the script's process group. The
  // servers, HAProxy and the clusters run in groups of their own: the
  // script stops them in order.
  process.kill(-c.proc.pid, 'SIGINT');
  const exit = await c.exited;
  assert.deepEqual(exit, { code: 0, signal: null }, c.out());
  assert.match(c.out(), /haproxy stopped[\s\S]*server \d stopped[\s\S]*standby stopped[\s\S]*primary stopped/);
  assert.deepEqual(leftOver(st), []);
  noSanitizerReport();
  const after1 = await run(['status', '--data', data]);
  assert.equal(after1.code, 3, after1.out);
  assert.match(after1.out, /not running/);
});

test('scripts/cluster: started again on its folder it keeps the data and the standby; a second start is refused; "stop" stops it; so does Ctrl-C while it starts', async () => {
  const listen = `127.0.0.1:${await freePort()}`;
  const c = await start(['--listen', listen, '--server-port', '0', '--no-demo']);
  assert.doesNotMatch(c.out(), /making the standby/);
  // The demo accounts of the first run are still there (in the primary).
  await login(c.url, { account: 'demo-free', user: 'admin', password: 'Demo-pass1' });
  assert.deepEqual(await backendsSeen(c.url, 4), ['s0', 's1']);
  const second = await run(['--data', data, '--listen', `127.0.0.1:${await freePort()}`]);
  assert.equal(second.code, 1, second.out);
  assert.match(second.out, /a cluster already runs from/);
  assert.equal((await fetch(c.url + '/api/v1/health')).status, 200);
  const st = state();
  const stop = await run(['stop', '--data', data]);
  assert.equal(stop.code, 0, stop.out);
  assert.deepEqual(await c.exited, { code: 0, signal: null }, c.out());
  assert.deepEqual(leftOver(st), []);
  noSanitizerReport();
  // Stopped while it starts (the standby runs, the first server starts):
  // everything started so far stops, nothing is left.
  const c2 = await start(['--listen', `127.0.0.1:${await freePort()}`, '--server-port', '0',
    '--no-demo'], /^cluster: standby PostgreSQL on/m);
  process.kill(-c2.proc.pid, 'SIGINT');
  assert.deepEqual(await c2.exited, { code: 0, signal: null }, c2.out());
  assert.match(c2.out(), /primary stopped/);
  assert.deepEqual(leftOver(state()), [], c2.out());
  // Bad use is a usage error that starts nothing.
  const bad = await run(['--servers', '0', '--data', data]);
  assert.equal(bad.code, 2);
  assert.match(bad.out, /--servers: a whole number from 1 to 16/);
});
