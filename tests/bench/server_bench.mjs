// The API against its ceiling (issue 16; scripts/bench-server runs this).
//
// Its own PostgreSQL 15 cluster with PostgreSQL's default durability
// (BENCH_PG=fast: fsync, synchronous_commit and full_page_writes off,
// printed as such), metron-server (METRON_SERVER_BIN, the test build) with
// its access log in a file, and the CivetWeb hello-world of the same build
// folder (tests/bench/civet_hello.c, BENCH_HELLO_BIN) with the server's HTTP
// options and thread count: the most any CivetWeb reply gets on this machine
// at that moment. Set-up through the API: a Pro account, a Web API token, 13
// apps with 100 devices, a measurement group of one app with a device of 32
// channels (by SQL), one day of one-minute data of one channel, and the
// gateway apps that send the mix's ingest batches (BENCH_MIX_APPS, below).
//
// wrk -t2 -c50 (BENCH_WRK_THREADS, BENCH_CONNECTIONS) for BENCH_SECONDS
// (10) each, after a 2 s warm-up, in this order: hello-world, GET /me,
// GET /devices (100), the route mix (tests/bench/api_mix.lua), hello-world
// again; then GET /me on a server started without its reply cache
// (METRON_REPLY_CACHE=0), and GET /devices on it. The ceiling of each figure is the mean of the two
// hello-world runs around it; every figure is printed with its ratio to that
// ceiling, wrk's p50/p99 (over every request of the run: thousands), and
// the CPU time per request of the server and of PostgreSQL's backends
// (/proc/PID/stat), which a shared machine does not inflate as it does the
// rates. BENCH_ONLY=me,devices,mix,nocache runs a part.
//
// The durable ceiling (issue 16, docs/benchmarks.md "mixfloor"): with the
// mix, the same wrk script is also sent to the hello-world with --db (its
// own database of the same cluster): every POST's body stored durably in
// one bytea column through a group commit before its reply, every other
// request the fixed reply: the least any durable server does per request.
// Printed as "route mix ceiling with durable batches" beside the
// hello-world, with the server's mix as a ratio to both, and the mix's
// ingest alone against the same hello-world's ingest alone.
// BENCH_FLOOR=0 leaves these runs out; BENCH_FLOOR_COMMITTERS (1) its
// committer threads; BENCH_FLOOR_FIRST=0 runs it after the server's mix.
//
// The replies ceiling (issue 16, docs/benchmarks.md "bytesceil"): the same
// durable hello-world with --replies, answering each request of the mix
// (matched by method, path and query as wrk sends them) with the whole
// reply, status line, headers and body, that metron-server gave that
// request at set-up time (fetched once each over a raw socket, after one
// batch of the mix's shape so that the monitor shows such values): the
// least a durable server does per request that sends the mix's bytes
// (GET /devices ~70 KB, the raw day ~33 KB). Run right after the durable
// ceiling's mix, printed as "route mix ceiling with durable batches and the
// mix's replies", the server's mix as a ratio to it too. BENCH_REPLIES=0
// leaves it out. Every wrk run's own CPU per request (user + system) is
// printed too ("wrk"): the load generator reads every byte on the same CPUs.
//
// BENCH_VIEWER=member: the portal's requests (GET /me, /devices, the
// monitor, the unread count and the raw day, alone and in the mix) are
// those of a member ("viewer") granted the monitored group, not of the
// administrator: a member's reads carry the groups' visibility rules
// (the raw day's version check ser_vers_seen instead of
// mt_raw_versions()). The set-up is the administrator's either way.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { createAccount, createUser, freePort, login, repoRoot, serverBin, sleep, startPostgres,
  startServer, tempDir } from '../server/harness.mjs';
import { context, fmt, load, result, wrk } from './bench_util.mjs';

const SECS = Number(process.env.BENCH_SECONDS || 10);
const CONNS = Number(process.env.BENCH_CONNECTIONS || 50);
const WRK_T = Number(process.env.BENCH_WRK_THREADS || 2);
const FAST = process.env.BENCH_PG === 'fast';
const VIEWER = process.env.BENCH_VIEWER || 'admin';
if (!['admin', 'member'].includes(VIEWER)) throw new Error(`BENCH_VIEWER=${VIEWER}: admin or member`);
const ONLY = (process.env.BENCH_ONLY || 'me,devices,mix,nocache').split(',');
const FLOOR = ONLY.includes('mix') && process.env.BENCH_FLOOR !== '0';
const REPLIES = FLOOR && process.env.BENCH_REPLIES !== '0' && !process.env.BENCH_KEEP;
const FLOOR_COMMITTERS = String(Number(process.env.BENCH_FLOOR_COMMITTERS || 1));
const PW = 'Bench-passw0rd!';
const MIN = 60_000_000;
const say = (s) => process.stdout.write(`${s}\n`);

const helloBin = process.env.BENCH_HELLO_BIN ||
  path.join(path.dirname(serverBin), '..', 'tests', 'bench', 'metron-bench-hello');
const threads = Number(/--threads N.*default (\d+)/.exec(execFileSync(serverBin, ['--help'],
  { encoding: 'utf8' }))?.[1] || 64);

const pg = await startPostgres({ durable: !FAST });
const dbUrl = await pg.createDatabase();
const db = new URL(dbUrl).pathname.slice(1);
const sql = (q) => pg.psql(q, db);
const logDir = tempDir('metron-bench-log-');
const serverArgs = ['--db-pool', String(Number(process.env.BENCH_DB_POOL || 8)), '--access-log',
  path.join(logDir, 'access.log')];
let srv = await startServer({ databaseUrl: dbUrl, args: serverArgs });

async function api(method, p, body, token, extra = {}) {
  const r = await fetch(srv.url + p, { method, body: body === undefined ? undefined : JSON.stringify(body),
    headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}),
      ...extra } });
  const text = await r.text();
  if (r.status >= 300) throw new Error(`${method} ${p}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

// ------------------------------------------------------------ set-up
const account = 'bench';
const ids = await createAccount(srv.url, { account, plan: 'pro', user: 'admin', password: PW,
  email: 'admin@bench.test' });
const adminToken = (await api('POST', '/api/v1/auth/token', { account, user: 'admin', password: PW })).token;
let made = 0;
for (let a = 1; a <= 13 && made < 100; a++) {
  const app = await api('POST', '/api/v1/apps', { kind: 'one', name: `gateway ${a}` }, adminToken);
  for (let k = 0; k < 8 && made < 100; k++) {
    made++;
    await api('POST', `/api/v1/apps/${app.id}/devices`, { model: 'LR8450', serial: `SN${made}`,
      firmware: 'V2.30' }, adminToken);
  }
}
// The monitored group: one app (a gateway) with a device of 32 channels.
const group = await api('POST', '/api/v1/groups', { name: 'Line 1' }, adminToken);
const gw = await api('POST', '/api/v1/apps', { kind: 'lr8450-direct', name: 'Line 1 gateway',
  group_id: group.id }, adminToken);
const dev = (await api('POST', `/api/v1/apps/${gw.id}/devices`, { model: 'LR8450', serial: 'L1',
  firmware: 'V2.30' }, adminToken)).id;
const chIds = (await sql(`INSERT INTO channels (account_id, device_id, ch_key, name, unit, selected,
  position) SELECT ${ids.accountId}, ${dev}, 'CH' || i, 'Channel ' || i, 'V', true, i
  FROM generate_series(1, 32) i RETURNING id`)).split('\n').map(Number);
// BENCH_SPARE=1: one more selected channel of the device that never sends
// (a logger's spare input; migration 046): the monitor's group then has a
// channel without a channel_latest row.
if (process.env.BENCH_SPARE === '1') {
  await sql(`INSERT INTO channels (account_id, device_id, ch_key, name, unit, selected, position)
    VALUES (${ids.accountId}, ${dev}, 'CH33', 'Spare', 'V', true, 33)`);
}
// A stored day of one channel, and a first minute of every channel before
// the runs' batches (the monitor then reads the newest of those).
const now = Date.now() * 1000;
// The stored day is the day before yesterday: the runs' batches (from three
// hours ago on, below) never reach it, whatever the time of day.
const dayFrom = now - (now % (86400 * 1e6)) - 2 * 86400 * 1e6;
const ts = Array.from({ length: 1440 }, (_, i) => dayFrom + i * MIN);
await api('POST', '/api/v1/ingest/batches', { batch_id: 'day', channels: [{ id: chIds[0], t: ts,
  v: ts.map((_, i) => Math.round(2000 + 500 * Math.sin(i / 100)) / 100) }] }, gw.credential);
await api('POST', '/api/v1/ingest/batches', { batch_id: 'first', snapshots: [{ t: now - 200 * MIN,
  ids: chIds, v: chIds.map((_, k) => k) }] }, gw.credential);
// BENCH_MIX_APPS=N (100): the mix's ingest batches come from N gateway
// apps, each with its own credential and a device of 32 channels, wrk's
// script rotating over them (a thread's consecutive batches go to
// consecutive apps): the monitored group's gateway and N - 1 more, in
// accounts of their own ("fleet1", ...: a Pro account registers at most 100
// apps), as an account's many gateways each sending its minute. Per app, the
// group statement locks the app's row, reads it and notes it seen (at most
// every 5 s): the cost that one busy app hides (docs/benchmarks.md,
// "mixapps"). BENCH_MIX_APPS=1: the monitored group's gateway alone, as before.
const MIX_APPS = Number(process.env.BENCH_MIX_APPS || 100);
if (!Number.isInteger(MIX_APPS) || MIX_APPS < 1 || MIX_APPS > 10000) {
  throw new Error(`BENCH_MIX_APPS=${process.env.BENCH_MIX_APPS}: a whole number from 1 to 10000`);
}
const mixApps = [{ credential: gw.credential, channels: chIds }];
for (let f = 1; mixApps.length < MIX_APPS; f++) {
  const fa = await createAccount(srv.url, { account: `fleet${f}`, plan: 'pro', user: 'admin', password: PW,
    email: `admin@fleet${f}.test` });
  const ft = (await api('POST', '/api/v1/auth/token', { account: `fleet${f}`, user: 'admin', password: PW })).token;
  const devs = [];
  for (let k = 0; k < 90 && mixApps.length + devs.length < MIX_APPS; k++) {
    const app = await api('POST', '/api/v1/apps', { kind: 'one', name: `gateway ${k + 1}` }, ft);
    const d = await api('POST', `/api/v1/apps/${app.id}/devices`, { model: 'LR8450', serial: `F${f}-${k + 1}`,
      firmware: 'V2.30' }, ft);
    devs.push({ credential: app.credential, device: d.id });
  }
  const rows = (await sql(`INSERT INTO channels (account_id, device_id, ch_key, name, unit, selected, position)
    SELECT ${fa.accountId}, d, 'CH' || i, 'Channel ' || i, 'V', true, i
    FROM unnest(ARRAY[${devs.map((d) => d.device).join(',')}]::bigint[]) d, generate_series(1, 32) i
    ORDER BY d, i RETURNING device_id || ' ' || id`)).split('\n').map((l) => l.split(' ').map(Number));
  for (const d of devs) {
    const chs = rows.filter(([dv]) => dv === d.device).map(([, id]) => id);
    if (chs.length !== 32) throw new Error(`device ${d.device}: ${chs.length} channels, not 32`);
    mixApps.push({ credential: d.credential, channels: chs });
  }
}
const mixAppsFile = path.join(logDir, 'mix_apps.txt');
fs.writeFileSync(mixAppsFile, mixApps.map((a) => `${a.credential} ${a.channels.join(',')}\n`).join(''));
const devices = JSON.parse(await (await fetch(`${srv.url}/api/v1/devices`, {
  headers: { Authorization: `Bearer ${adminToken}` } })).text());
if (devices.items.length !== 101) throw new Error(`${devices.items.length} devices, not 101`);
// The viewer of the portal's requests (BENCH_VIEWER): the administrator, or
// a member granted the monitored group (view), with a Web API token of its own.
let token = adminToken;
if (VIEWER === 'member') {
  const m = await createUser(srv.url, { accountId: ids.accountId, user: 'viewer', password: PW,
    role: 'member', email: 'viewer@bench.test' });
  await api('PUT', `/api/v1/groups/${group.id}/access`, { users: [{ user_id: m.userId, access: 'view' }],
    teams: [] }, adminToken);
  token = (await api('POST', '/api/v1/auth/token', { account, user: 'viewer', password: PW })).token;
  const raw = await api('GET', `/api/v1/data/raw?channels=${chIds[0]}&from=${dayFrom}&to=${dayFrom + 86400e6}` +
    '&limit=2000', undefined, token);
  if (raw.t.length !== 1440) throw new Error(`the member's raw day: ${raw.t.length} times, not 1440`);
}
// The set-up's data folded into day blocks, as yesterday's data of a
// running service is: a day-wide hot row left in series_hot widens every
// read of a past window of the account until the compactor's first round
// (30 s after the start), and the runs' figures then depended on when they
// started.
const folded = await fetch(`${srv.url}/api/v1/test/compact`, { method: 'POST' });
if (folded.status !== 200) throw new Error(`compact: ${folded.status} ${await folded.text()}`);
await sql('VACUUM ANALYZE');

// The replies ceiling's replies: one whole HTTP reply per request of the
// mix, as metron-server sends it, in files named in an index that
// metron-bench-hello --replies reads ("METHOD URI FILE" lines).
// rawReply() sends "method uri" with "headers" (and "body") as wrk.format()
// does (Host first) and gives the reply's bytes, by its Content-Length.
function rawReply(method, uri, headers, body = '') {
  const u = new URL(srv.url);
  return new Promise((resolve, reject) => {
    const sock = net.connect(Number(u.port), u.hostname);
    let got = Buffer.alloc(0);
    sock.on('connect', () => {
      let head = `${method} ${uri} HTTP/1.1\r\nHost: ${u.host}\r\n`;
      for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
      if (body) head += `Content-Length: ${Buffer.byteLength(body)}\r\n`;
      sock.write(`${head}\r\n${body}`);
    });
    sock.on('data', (d) => {
      got = Buffer.concat([got, d]);
      const end = got.indexOf('\r\n\r\n');
      if (end < 0) return;
      const m = /\r\ncontent-length: *(\d+)/i.exec(got.subarray(0, end).toString('latin1'));
      if (!m) {
        sock.destroy();
        reject(new Error(`${method} ${uri}: a reply without Content-Length`));
      } else if (got.length >= end + 4 + Number(m[1])) {
        sock.destroy();
        resolve({ bytes: got.subarray(0, end + 4 + Number(m[1])), head: end + 4 });
      }
    });
    sock.on('error', reject);
  });
}
let repliesIndex = null;
let repliesNote = '';
let repliesGets = [];
if (REPLIES) {
  const mixValues = chIds.map((_, k) => (20 + ((1 + k) % 100) / 10).toFixed(2)).join(',');
  const mixBatch = `{"batch_id":"mix999-0-100001","snapshots":[{"t":${now - 190 * MIN},"ids":[${chIds.join(',')}],` +
    `"v":[${mixValues}]}]}`;
  const bearer = { Authorization: `Bearer ${token}` };
  const want = [
    ['POST', '/api/v1/ingest/batches', 'ingest', { Authorization: `Bearer ${gw.credential}`,
      'Content-Type': 'application/json' }, mixBatch],
    ['GET', `/api/v1/groups/${group.id}/monitor`, 'monitor', bearer],
    ['GET', '/api/v1/notifications/unread-count', 'unread', bearer],
    ['GET', '/api/v1/me', 'me', bearer],
    ['GET', '/api/v1/devices', 'devices', bearer],
    ['GET', `/api/v1/data/raw?channels=${chIds[0]}&from=${dayFrom}&to=${dayFrom + 86400e6}&limit=2000`, 'raw', bearer],
  ];
  const lines = [];
  const sizes = [];
  for (const [method, uri, name, headers, body] of want) {
    const r = await rawReply(method, uri, headers, body);
    const status = Number(r.bytes.subarray(9, 12).toString());
    if (status !== (method === 'POST' ? 201 : 200)) {
      throw new Error(`the replies ceiling: ${method} ${uri}: ${r.bytes.toString().slice(0, 300)}`);
    }
    const file = path.join(logDir, `reply-${name}.http`);
    fs.writeFileSync(file, r.bytes);
    lines.push(`${method} ${uri} ${file}\n`);
    sizes.push(`${name} ${status} ${r.head} + ${r.bytes.length - r.head}`);
  }
  repliesGets = want.filter(([method]) => method === 'GET');
  repliesIndex = path.join(logDir, 'replies.txt');
  fs.writeFileSync(repliesIndex, lines.join(''));
  repliesNote = `the mix's replies (status, head + body bytes): ${sizes.join(', ')}`;
}

// BENCH_KEEP=FILE: write what a profiler needs to FILE and keep everything
// up until FILE is removed.
if (process.env.BENCH_KEEP) {
  fs.writeFileSync(process.env.BENCH_KEEP, JSON.stringify({ url: srv.url, token, admin_token: adminToken, viewer: VIEWER, pid: srv.proc.pid,
    pg_pid: pg.pid(), db: dbUrl, group: group.id, credential: gw.credential, channels: chIds,
    day_from: dayFrom, mix_apps: MIX_APPS, mix_apps_file: mixAppsFile }) + '\n');
  say(`bench-server: kept up at ${srv.url} (${process.env.BENCH_KEEP}); remove it to stop`);
  while (fs.existsSync(process.env.BENCH_KEEP)) await sleep(500);
  await srv.stop();
  await pg.destroy();
  process.exit(0);
}

// ------------------------------------------------------------ runs
const pgPid = pg.pid();
const pids = () => ({ server: srv.proc.pid, pg: pgPid });
const auth = ['-H', `Authorization: Bearer ${token}`];
let runNo = 0;
const mixScript = ['-s', path.join(repoRoot, 'tests', 'bench', 'api_mix.lua')];
// The script's own arguments: the batches' times start three hours ago and
// step 16 ms per batch of a wrk thread; the server refuses times more than 5
// minutes ahead of its clock (422), and fifteen minutes, as before, let a run
// of ingest alone at 20 k batches/s reach them (cheap refusals counted as
// requests). A new run number for every wrk run (the
// warm-up too): no batch id or sample time is sent twice.
const mixArgs = (only = '') => ['--', token, gw.credential, String(group.id), String(chIds[0]),
  String(dayFrom), String(dayFrom + 86400e6), String(now - 180 * MIN), chIds.join(','), String(runNo++),
  only, MIX_APPS > 1 ? mixAppsFile : ''];
// After each warm-up, ANALYZE: the statistics of a server in its steady
// state (autovacuum keeps them), not those of the set-up's few rows. The
// server's statements are prepared once per connection and PostgreSQL keeps
// a generic plan made from the statistics of the moment; plans made while
// series_hot held the set-up's two rows read it by sequential scans (a raw
// day 2.6 ms instead of 0.1 ms) until autovacuum's ANALYZE, a minute or
// more later, and the figures then depended on when a run started
// (docs/benchmarks.md, issue 16). ANALYZE ends those plans.
//
// The compactor folds hot rows every 30 s, so which run paid for folding
// another's batches depended on timing (a raw day read after "ingest alone"
// cost PostgreSQL 174 µs instead of 30). Each run now starts with the
// warm-up's rows folded, and folds its own rows when it ends; that folding's
// CPU per request is printed apart ("then folding"). The runs' batches all
// go into one device's 32 channels, thousands of samples a second each, and
// the compactor rewrites a day block whole in every round of 256 hot rows:
// folding such dense channels costs far more per sample than the everyday
// data of docs/storage.md (issue 16's notes in docs/benchmarks.md).
// ANALYZE comes before that folding, so that the statistics are those of a
// hot table holding a warm-up's rows, not of an empty one.
const fold = async () => {
  const r = await fetch(`${srv.url}/api/v1/test/compact`, { method: 'POST' });
  if (r.status !== 200) throw new Error(`compact: ${r.status} ${await r.text()}`);
};
// The server's own view of a run (issue 16, devstall): the slowest
// request of its access log between the warm-up's end and the run's end
// (the harness's folds left out)
// ("ms": from CivetWeb's begin_request to the reply written), beside wrk's
// slowest. A reply that wrk waited 200+ ms for while the server took a few
// ms for it was held between the two programs (sockets, the kernel), not
// by the server.
const accessLog = path.join(logDir, 'access.log');
const logSize = () => { try { return fs.statSync(accessLog).size; } catch { return 0; } };
async function serverView(from) {
  await sleep(100); // the access log's writer flushes within 20 ms
  const fd = fs.openSync(accessLog, 'r');
  const size = fs.fstatSync(fd).size;
  const buf = Buffer.alloc(Math.max(0, size - from));
  fs.readSync(fd, buf, 0, buf.length, from);
  fs.closeSync(fd);
  let max = 0, over50 = 0, n = 0;
  for (const l of buf.toString('latin1').split('\n')) {
    const m = /"path":"([^"]*)".*"ms":([0-9.]+)/.exec(l);
    // The harness's own requests (the folds after the run) are not the run's.
    if (!m || m[1].startsWith('/api/v1/test/')) continue;
    const ms = Number(m[2]);
    n++;
    if (ms > max) max = ms;
    if (ms > 50) over50++;
  }
  return { max, over50, n };
}
async function run(url, args, trailing) {
  let from = 0;
  const r = await wrk(url, { seconds: SECS, conns: CONNS, threads: WRK_T, pids: pids(), args, trailing,
    afterWarm: async () => { await sql('ANALYZE'); await fold(); from = logSize(); }, afterRun: fold });
  r.server = await serverView(from);
  return r;
}

async function hello() {
  const port = await freePort();
  const p = spawn(helloBin, ['--listen', `127.0.0.1:${port}`, '--threads', String(threads)],
    { stdio: 'ignore' });
  await sleep(300);
  const url = `http://127.0.0.1:${port}/`;
  const r = await wrk(url, { seconds: SECS, conns: CONNS, threads: WRK_T, pids: { server: p.pid } });
  p.kill('SIGTERM');
  await new Promise((res) => p.once('exit', res));
  return r;
}

// The durable hello-world (--db) on a database of its own in the same
// cluster, sent the mix's wrk script ("only": one kind of it alone); CPU
// per request of it and of the whole cluster, as for the server. Its table
// is emptied before each run (TRUNCATE), so that every run starts as the
// first did.
const floorDb = FLOOR ? await pg.createDatabase() : null;
let floorNote = '';
let floorRuns = 0;
// "replies": an index for --replies (the replies ceiling).
async function durableHello(only = '', replies = null) {
  if (floorRuns++ > 0) await pg.psql('TRUNCATE hello_body', new URL(floorDb).pathname.slice(1));
  const port = await freePort();
  const p = spawn(helloBin, ['--listen', `127.0.0.1:${port}`, '--threads', String(threads), '--db', floorDb,
    '--committers', FLOOR_COMMITTERS, ...(replies ? ['--replies', replies] : [])],
  { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const started = await new Promise((res, rej) => {
    p.stdout.on('data', (d) => {
      out += d;
      if (out.includes('\n')) res(out.split('\n')[0]);
    });
    p.once('exit', (code) => rej(new Error(`metron-bench-hello --db exited with ${code}: ${out}`)));
  });
  if (!replies) floorNote = started.replace(/^.*\((.*)\)$/, '$1');
  const r = await wrk(`http://127.0.0.1:${port}`, { seconds: SECS, conns: CONNS, threads: WRK_T,
    pids: { server: p.pid, pg: pgPid }, args: mixScript, trailing: () => mixArgs(only) });
  p.kill('SIGTERM');
  await new Promise((res) => p.once('exit', res));
  // At its end it says how many bodies it stored in how many commits (the
  // warm-up's too): the group sizes that the disk's flush time left.
  const m = /stored (\d+) bodies in (\d+) commits/.exec(out);
  r.perCommit = m && Number(m[2]) ? Number(m[1]) / Number(m[2]) : NaN;
  // With --replies: how many requests (the warm-up's too) got no reply of the mix.
  r.unmatched = Number(/(\d+) requests matched no reply/.exec(out)?.[1] || 0);
  return r;
}

const dur = await context('server', pg);
say(`wrk -t${WRK_T} -c${CONNS} -d${SECS}s; server: ${path.basename(serverBin)}, ${threads} HTTP threads ` +
  `(hello-world too), ${serverArgs.join(' ')}; portal requests of the ${VIEWER === 'member' ?
    'member granted the group (BENCH_VIEWER=member)' : 'administrator'}; the mix's ingest batches ` +
  `from ${MIX_APPS === 1 ? 'one gateway app (BENCH_MIX_APPS=1)' : `${MIX_APPS} gateway apps (BENCH_MIX_APPS)`}`);
const line = (name, r, ceil, floor, bytes) => say(`${name.padEnd(34)} ${fmt(r.rps).padStart(8)} req/s  ` +
  `p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms  max ${r.max.toFixed(1)} ms  ` +
  (ceil ? `${(r.rps / ceil).toFixed(2)} of hello  ` : '') +
  (floor ? `${(r.rps / floor).toFixed(2)} of the durable ceiling  ` : '') +
  (bytes ? `${(r.rps / bytes).toFixed(2)} of the replies ceiling  ` : '') +
  (r.cpu ? `CPU/request: server ${r.cpu.server.toFixed(1)} µs, PostgreSQL ${r.cpu.pg.toFixed(1)} µs, ` +
    `wrk ${r.wrkCpu.toFixed(1)} µs  ` : '') +
  (r.cpuAfter && r.cpuAfter.server + r.cpuAfter.pg >= 0.5 ? `then folding its batches: ` +
    `${r.cpuAfter.server.toFixed(1)} + ${r.cpuAfter.pg.toFixed(1)} µs/request  ` : '') +
  (r.server ? `server's slowest ${r.server.max.toFixed(1)} ms, ${r.server.over50} over 50 ms  ` : '') +
  `(${r.requests} requests${r.non2xx ? `, ${r.non2xx} non-2xx` : ''}${r.errors ? `, socket errors ${r.errors}` : ''}; load ${load()})`);

const h1 = await hello();
line('CivetWeb hello-world (ceiling)', h1);
const got = {};
if (ONLY.includes('me')) got.me = await run(`${srv.url}/api/v1/me`, auth);
if (ONLY.includes('devices')) got.devices = await run(`${srv.url}/api/v1/devices`, auth);
// The durable ceiling's runs sit between the server's: the mix against the
// durable hello-world, the server's mix, then the ingest alone of each
// (BENCH_FLOOR_FIRST=0: the server's mix first, then the durable
// hello-world's mix and ingest alone, to alternate the order across runs).
const floor = {};
const floorFirst = process.env.BENCH_FLOOR_FIRST !== '0';
if (FLOOR && floorFirst) floor.mix = await durableHello();
if (REPLIES && floorFirst) floor.replies = await durableHello('', repliesIndex);
if (ONLY.includes('mix')) got.mix = await run(srv.url, mixScript, () => mixArgs());
// The GETs' replies again once the mix has run (the monitor then shows its
// batches): their sizes beside the set-up's, which the replies ceiling sends.
let repliesAfter = '';
if (REPLIES && got.mix) {
  const sizes = [];
  for (const [method, uri, name, headers] of repliesGets) {
    const r = await rawReply(method, uri, headers);
    sizes.push(`${name} ${r.bytes.subarray(9, 12)} ${r.head} + ${r.bytes.length - r.head}`);
  }
  repliesAfter = `; after the server's mix: ${sizes.join(', ')}`;
}
if (FLOOR && !floorFirst) floor.mix = await durableHello();
if (REPLIES && !floorFirst) floor.replies = await durableHello('', repliesIndex);
if (FLOOR) floor.ingest = await durableHello('ingest');
// BENCH_ONLY=routes: each request of the mix alone (where the mix's time goes);
// BENCH_ROUTES=ingest,raw: only those.
const routes = {};
if (ONLY.includes('routes')) {
  for (const k of (process.env.BENCH_ROUTES || 'ingest,monitor,unread,raw').split(',')) {
    routes[k] = await run(srv.url, mixScript, () => mixArgs(k));
  }
}
if (FLOOR && !routes.ingest) routes.ingest = await run(srv.url, mixScript, () => mixArgs('ingest'));
const h2 = await hello();
const ceil = (h1.rps + h2.rps) / 2;
line('CivetWeb hello-world again', h2);
say(`ceiling: ${fmt(ceil)} req/s (mean of the two hello-world runs)`);
if (FLOOR) {
  say(`durable ceiling: the hello-world with --db (${floorNote}), the mix's wrk script`);
  line('route mix ceiling with durable batches', floor.mix, ceil);
  if (REPLIES) {
    say(`replies ceiling: the same with --replies; ${repliesNote}${repliesAfter}` +
      (floor.replies.unmatched ? `; ${floor.replies.unmatched} REQUESTS MATCHED NO REPLY` : ''));
    line("route mix ceiling with durable batches and the mix's replies", floor.replies, ceil, floor.mix.rps);
  }
  line('its ingest alone (durable)', floor.ingest);
  say(`durable ceiling's bodies per commit (warm-up included): mix ${floor.mix.perCommit.toFixed(1)}, ` +
    `ingest alone ${floor.ingest.perCommit.toFixed(1)}`);
}
if (got.me) line('GET /me (token, reply cache on)', got.me, ceil);
if (got.devices) line('GET /devices (100 devices + 1)', got.devices, ceil);
if (got.mix) line('route mix (api_mix.lua)', got.mix, ceil, floor.mix?.rps, floor.replies?.rps);
// The same comparison by CPU: what one request costs the two CPUs in all
// (server, PostgreSQL and wrk, which share them), and the hello-world's
// cost as a ratio of it, the rate ratio that a machine running nothing else
// and the CPUs always busy would give (a wait for a flush is not counted).
if (got.mix && FLOOR) {
  const all = (r) => r.cpu.server + r.cpu.pg + r.wrkCpu;
  const helloAll = (all(h1) + all(h2)) / 2;
  const by = (name, r) => `${name} ${all(r).toFixed(1)} µs (${(helloAll / all(r)).toFixed(2)})`;
  say(`CPU per request in all, server + PostgreSQL + wrk (the hello-world's as a ratio of it): hello-world ` +
    `${helloAll.toFixed(1)} µs, ${by('durable ceiling', floor.mix)}` +
    `${floor.replies ? `, ${by('replies ceiling', floor.replies)}` : ''}, ${by('route mix', got.mix)}`);
}
for (const [k, r] of Object.entries(routes)) {
  line(`mix's ${k} alone`, r, ceil, k === 'ingest' ? floor.ingest?.rps : undefined);
}

if (ONLY.includes('nocache')) {
  await srv.stop();
  srv = await startServer({ databaseUrl: dbUrl, args: serverArgs, env: { METRON_REPLY_CACHE: '0' } });
  got.nocache = await run(`${srv.url}/api/v1/me`, auth);
  // The device list read from the database on every request: what a list
  // costs right after each change (the remembered one is ended by it).
  got.devnocache = await run(`${srv.url}/api/v1/devices`, auth);
  const h3 = await hello();
  line('GET /me without its reply cache', got.nocache, h3.rps);
  line('GET /devices without the reply cache', got.devnocache, h3.rps);
  line('CivetWeb hello-world (its ceiling)', h3);
  got.nocache.ceil = h3.rps;
  got.devnocache.ceil = h3.rps;
}
// The cluster's WAL writes and flushes over the whole run (set-up
// included): how many, and their mean time when track_wal_io_timing is on
// (BENCH_PG_SET). With wal_sync_method open_datasync or open_sync the flush
// is part of each write (O_DSYNC/O_SYNC) and no sync is counted.
const wal = (await pg.psql("SELECT wal_write || '|' || round(wal_write_time::numeric, 1) || '|' || " +
  "wal_sync || '|' || round(wal_sync_time::numeric, 1) || '|' || " +
  "current_setting('track_wal_io_timing') FROM pg_stat_wal")).split('|').map((x, i) => (i < 4 ? Number(x) : x));
const mean = (n, ms) => (wal[4] === 'on' ? `, mean ${(ms / Math.max(1, n)).toFixed(3)} ms` : '');
say(`WAL (pg_stat_wal, the whole run): ${wal[0]} writes${mean(wal[0], wal[1])}, ${wal[2]} syncs` +
  `${mean(wal[2], wal[3])}${wal[4] === 'on' ? '' : ' (track_wal_io_timing off)'}`);
await srv.stop();
await pg.destroy();
// BENCH_ACCESS_LOG=FILE: the server's access log kept there (the runs'
// requests as the server timed them; the log folder is removed at the end).
if (process.env.BENCH_ACCESS_LOG) fs.copyFileSync(accessLog, process.env.BENCH_ACCESS_LOG);

const notes = (r) => `p99 ${r.p99.toFixed(1)} ms (max ${r.max.toFixed(0)} ms); CPU/req server ${r.cpu.server.toFixed(0)} µs + PostgreSQL ` +
  `${r.cpu.pg.toFixed(0)} µs (wrk ${r.wrkCpu.toFixed(0)} µs); ${r.requests} requests${r.non2xx ? `, ${r.non2xx} NON-2XX` : ''}`;
const ok = (c) => (c ? 'met' : 'NOT met');
if (got.me) {
  result({ name: 'GET /me (reply cache on)', value: got.me.rps, unit: 'req/s', ceilingName: 'hello-world',
    ceiling: ceil, target: '>= 0.8 of hello, p99 < 20 ms',
    verdict: ok(got.me.rps >= 0.8 * ceil && got.me.p99 < 20 && !got.me.non2xx), notes: notes(got.me) });
}
if (got.nocache) {
  result({ name: 'GET /me (reply cache off)', value: got.nocache.rps, unit: 'req/s',
    ceilingName: 'hello-world', ceiling: got.nocache.ceil, target: '>= 0.8 of hello, p99 < 20 ms',
    verdict: ok(got.nocache.rps >= 0.8 * got.nocache.ceil && got.nocache.p99 < 20 && !got.nocache.non2xx),
    notes: notes(got.nocache) });
}
if (got.devnocache) {
  result({ name: 'GET /devices (100, reply cache off)', value: got.devnocache.rps, unit: 'req/s',
    ceilingName: 'hello-world', ceiling: got.devnocache.ceil, target: '(the cost of a list read)',
    verdict: '-', notes: notes(got.devnocache) });
}
if (got.devices) {
  result({ name: 'GET /devices (100)', value: got.devices.rps, unit: 'req/s', ceilingName: 'hello-world',
    ceiling: ceil, target: '>= 10 k req/s, p99 < 20 ms',
    verdict: ok(got.devices.rps >= 10000 && got.devices.p99 < 20 && !got.devices.non2xx),
    notes: notes(got.devices) });
}
if (got.mix) {
  result({ name: 'API route mix', value: got.mix.rps, unit: 'req/s', ceilingName: 'hello-world',
    ceiling: ceil, target: '>= 0.6 of hello, p99 < 20 ms',
    verdict: ok(got.mix.rps >= 0.6 * ceil && got.mix.p99 < 20 && !got.mix.non2xx), notes: notes(got.mix) });
}
if (FLOOR) {
  result({ name: 'route mix ceiling with durable batches', value: floor.mix.rps, unit: 'req/s',
    ceilingName: 'hello-world', ceiling: ceil, target: '(the most a durable server reaches)', verdict: '-',
    notes: notes(floor.mix) });
  result({ name: 'API route mix, of its durable ceiling', value: got.mix.rps, unit: 'req/s',
    ceilingName: 'durable hello-world', ceiling: floor.mix.rps, target: '-', verdict: '-',
    notes: notes(got.mix) });
  if (REPLIES) {
    result({ name: "route mix ceiling with durable batches and the mix's replies", value: floor.replies.rps,
      unit: 'req/s', ceilingName: 'hello-world', ceiling: ceil,
      target: "(the most a durable server sending the mix's replies reaches)",
      verdict: floor.replies.unmatched ? `${floor.replies.unmatched} requests matched no reply` : '-',
      notes: notes(floor.replies) });
    result({ name: 'API route mix, of its replies ceiling', value: got.mix.rps, unit: 'req/s',
      ceilingName: 'durable hello-world with the replies', ceiling: floor.replies.rps, target: '-', verdict: '-',
      notes: notes(got.mix) });
  }
  result({ name: "the mix's ingest alone, of its durable ceiling", value: routes.ingest.rps, unit: 'req/s',
    ceilingName: 'durable hello-world', ceiling: floor.ingest.rps, target: '-', verdict: '-',
    notes: `${notes(routes.ingest)}; durable hello-world: ${notes(floor.ingest)}` });
}
say(`done: load ${load()}; PostgreSQL ${dur}${FAST ? ' (BENCH_PG=fast: NOT durable)' : ''}`);
