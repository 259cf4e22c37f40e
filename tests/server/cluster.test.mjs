// scripts/cluster, the operator's scale-out set (docs/scale.md, "Running the
// set: scripts/cluster"), run as an operator runs it: a primary, a streaming
// standby, two metron-server processes (METRON_SERVER_BIN) and HAProxy on
// loopback; status; drain and ready through HAProxy's runtime API; a
// rolling restart onto another binary under a steady stream of ingest
// batches through HAProxy (none fails, each stored once); Ctrl-C stops
// everything; started again on the same
// folder it keeps the data and the standby; a second start is refused;
// `scripts/cluster stop` from another shell stops it. Nothing is left running.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort, login, pollUntil, repoRoot, serverBin, spawnWatched, tempDir } from './harness.mjs';
import { pgBin, pidAlive, postmasterPid } from '../../scripts/cluster.mjs';
import { MIN_US, appClient, baseTime, dataTenant, storedCounts } from './data_helpers.mjs';

const script = path.join(repoRoot, 'scripts', 'cluster');
const data = path.join(tempDir('metron-cluster-'), 'set');
// (the test build's /api/v1/test routes: the rolling restart's tenant)
const env = { ...process.env, METRON_SKIP_BUILD: '1', METRON_SERVER_BIN: serverBin,
  METRON_TEST_ROUTES: '1' };
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

/** SQL on the set's primary (its password in DATA/primary.secret). */
async function primarySql(sql) {
  const { stdout } = await promisify(execFile)(path.join(pgBin, 'psql'), ['-X', '-q', '-A', '-t',
    '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-p', String(state().primary.port), '-U',
    'postgres', '-d', 'metron', '-c', sql], { env: { ...process.env,
    PGPASSWORD: fs.readFileSync(path.join(data, 'primary.secret'), 'utf8').trim() } });
  return stdout.trim();
}

/**
 * Ingest batches of tenant "t" through "url" by three clients one after
 * another, until stop(): acked (batch ids answered 200/201), by (those of
 * each process, X-Served-By), failed (every other answer or error, as a
 * sentence). No batch is sent again: a failure is a lost request.
 */
function ingestStream(url, t) {
  const ingest = appClient(url, t.app.credential);
  const t0 = baseTime(72);
  const out = { acked: new Set(), by: {}, failed: [] };
  let n = 0;
  let running = true;
  const loop = async () => {
    while (running) {
      const i = n++;
      const id = `roll-${i}`;
      try {
        const r = await ingest.batch({ batch_id: id, channels: t.channels.map((ch) =>
          ({ id: ch, t: [t0 + i * MIN_US], v: [i] })) });
        if (r.status === 200 || r.status === 201) {
          out.acked.add(id);
          const by = r.headers.get('x-served-by');
          out.by[by] = (out.by[by] || 0) + 1;
        } else out.failed.push(`batch ${id} answered ${r.status}: ${r.text}`);
      } catch (e) {
        out.failed.push(`batch ${id} failed: ${e.cause?.message || e.message}`);
      }
    }
  };
  const loops = [loop(), loop(), loop()];
  return {
    out,
    /** Until "k" more batches were acknowledged by each of "servers". */
    more: (k, servers) => {
      const goal = Object.fromEntries(servers.map((x) => [x, (out.by[x] || 0) + k]));
      return pollUntil(() => out.failed.length > 0 ||
        servers.every((x) => (out.by[x] || 0) >= goal[x]), `${k} batches by ${servers}`);
    },
    async stop() {
      running = false;
      await Promise.all(loops);
      return out;
    },
  };
}

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

  // A rolling restart onto another binary (a copy of the server, as an
  // upgrade brings one) under a steady stream of ingest batches through
  // HAProxy: every server is drained, stopped, started from the new
  // binary and put back in turn; no batch fails, each is stored once.
  const t = await dataTenant({ url: st.servers[0].url }, { n: 2 });
  const next = path.join(tempDir('metron-next-'), 'metron-server-next');
  fs.copyFileSync(serverBin, next);
  fs.chmodSync(next, 0o755);
  const stream = ingestStream(c.url, t);
  await stream.more(10, ['s0', 's1']);
  const roll = await run(['rolling', '--data', data, '--bin', next]);
  assert.equal(roll.code, 0, roll.out);
  for (const n of [0, 1]) {
    assert.match(roll.out, new RegExp(`s${n}: drained; stopping server ${n} \\(pid ${st.servers[n].pid}\\)`));
    assert.match(roll.out, new RegExp(`s${n} restarted: pid \\d+ \\(${next}\\) answers and HAProxy ` +
      'sends it requests again'));
  }
  assert.match(roll.out, /rolling restart done: 2 servers restarted one at a time/);
  await stream.more(10, ['s0', 's1']); // both new processes take batches
  const seen = await stream.stop();
  assert.deepEqual(seen.failed, [], `${seen.acked.size} batches acknowledged`);
  const st2 = state();
  for (const s of st2.servers) {
    assert.notEqual(s.pid, st.servers[s.index].pid);
    assert.equal(s.bin, next);
    assert.equal(fs.readlinkSync(`/proc/${s.pid}/exe`), next);
  }
  assert.deepEqual(await storedCounts(primarySql, t), [seen.acked.size, seen.acked.size * 2]);
  // One of them again, with the binary it runs; a server the set has not;
  // a --bin that cannot be run.
  const one = await run(['restart', '1', '--data', data, '--timeout', '30']);
  assert.equal(one.code, 0, one.out);
  assert.match(one.out, /s1 restarted: pid \d+/);
  assert.equal(fs.readlinkSync(`/proc/${state().servers[1].pid}/exe`), next);
  // A server that died is started again the same way.
  process.kill(state().servers[0].pid, 'SIGKILL');
  await pollUntil(() => /cluster: server 0 exited \(SIGKILL\); HAProxy sends its requests to the others/
    .test(c.out()), 'the set saying server 0 died');
  const again = await run(['restart', '0', '--data', data]);
  assert.equal(again.code, 0, again.out);
  assert.match(again.out, /s0: server 0 stopped \(SIGKILL\)[\s\S]*s0 restarted: pid \d+/);
  assert.equal(fs.readlinkSync(`/proc/${state().servers[0].pid}/exe`), next);
  const none = await run(['restart', '7', '--data', data]);
  assert.equal(none.code, 1, none.out);
  assert.match(none.out, /the set has no server 7 \(servers 0 to 1\)/);
  const noBin = await run(['restart', '0', '--data', data, '--bin', path.join(data, 'nothing')]);
  assert.equal(noBin.code, 2, noBin.out);
  assert.match(noBin.out, /--bin: .*nothing is not an executable file/);
  assert.deepEqual(await backendsSeen(c.url, 4), ['s0', 's1']);
  // Ctrl-C in the terminal: SIGINT to the script's process group. The
  // servers, HAProxy and the clusters run in groups of their own: the
  // script stops them in order.
  process.kill(-c.proc.pid, 'SIGINT');
  const exit = await c.exited;
  assert.deepEqual(exit, { code: 0, signal: null }, c.out());
  assert.match(c.out(), /haproxy stopped[\s\S]*server \d stopped[\s\S]*standby stopped[\s\S]*primary stopped/);
  assert.deepEqual(leftOver(st), []);
  assert.deepEqual(leftOver(state()), []);
  assert.equal(fs.existsSync(path.join(data, 'control.sock')), false);
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
