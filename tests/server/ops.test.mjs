// The operator's side (issue 17, docs/operations.md): GET /metrics in
// Prometheus text format behind its own token (O2), and the operator's API.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fs from 'node:fs';
import path from 'node:path';
import { createAccount, login, request, runServer, setClock, startServer, startStack,
  stopStack } from './harness.mjs';
import { baseTime, dataTenant, MIN_US, PW, uniq } from './data_helpers.mjs';

const METRICS_TOKEN = 'm'.repeat(20) + '-metrics-token-0123456789';
const OPS_TOKEN = 'o'.repeat(20) + '-operator-token-0123456789';
let stack, srv;
const sql = (q) => stack.pg.psql(q, stack.db);
const count = async (q) => Number(await sql(q));
/** The operator's client. */
const ops = {
  send: (method, p, body) => request(srv.url, method, `/api/v1/ops${p}`,
    { body, headers: { authorization: `Bearer ${OPS_TOKEN}` } }),
  get: (p) => ops.send('GET', p),
  post: (p, body) => ops.send('POST', p, body),
  put: (p, body) => ops.send('PUT', p, body),
};
const runJob = async (name) => {
  const r = await request(srv.url, 'POST', `/api/v1/test/jobs?job=${name}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.jobs[0].ok, true);
  return r.body.jobs[0].done;
};
/** Rows of account "id" left in any table that carries account_id. */
async function rowsLeft(id) {
  const tables = (await sql(`SELECT DISTINCT c.table_name FROM information_schema.columns c
    JOIN information_schema.tables t USING (table_schema, table_name)
    WHERE c.table_schema = 'public' AND c.column_name = 'account_id'
    AND t.table_type = 'BASE TABLE' AND c.table_name <> 'account_deletions' ORDER BY 1`)).split('\n');
  const left = [];
  for (const t of tables) {
    const k = await count(`SELECT count(*) FROM ${t} WHERE account_id = ${id}`);
    if (k > 0) left.push(`${t}: ${k}`);
  }
  return left;
}

before(async () => {
  stack = await startStack({ env: { METRON_METRICS_TOKEN: METRICS_TOKEN,
    METRON_OPS_TOKEN: OPS_TOKEN }, args: ['--jobs-interval', '0'] });
  srv = stack.srv;
});
after(async () => { await stopStack(stack); });

const scrape = async (token = METRICS_TOKEN, base = srv.url) => {
  const r = await fetch(base + '/metrics', token ? { headers: { authorization: `Bearer ${token}` } } : {});
  return { status: r.status, type: r.headers.get('content-type'), text: await r.text(),
    headers: r.headers };
};

/** Prometheus text format 0.0.4, strictly: every sample line parsed into
 * {name, labels, value}; HELP/TYPE once per name, before its samples. */
function parseMetrics(text) {
  const samples = [];
  const typed = new Map();
  assert.ok(text.endsWith('\n'), 'ends with a newline');
  for (const line of text.slice(0, -1).split('\n')) {
    let m;
    if ((m = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/.exec(line))) {
      if (m[1] === 'TYPE') {
        assert.ok(!typed.has(m[2]), `TYPE of ${m[2]} twice`);
        assert.match(m[3], /^(counter|gauge|histogram)$/);
        typed.set(m[2], m[3]);
      }
      continue;
    }
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (-?[0-9.e+-]+|\+Inf)$/.exec(line);
    assert.ok(m, `not a sample line: ${JSON.stringify(line)}`);
    const labels = {};
    if (m[2]) {
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/gy;
      let l;
      let end = 0;
      while ((l = re.exec(m[2]))) { labels[l[1]] = l[2]; end = re.lastIndex; }
      assert.equal(end, m[2].length, `labels ${m[2]}`);
    }
    const base = m[1].replace(/_(bucket|sum|count)$/, '');
    assert.ok(typed.has(m[1]) || typed.get(base) === 'histogram', `${m[1]} without TYPE`);
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return { samples, typed };
}

const value = (parsed, name, labels = {}) => {
  const s = parsed.samples.find((x) => x.name === name &&
    Object.entries(labels).every(([k, v]) => x.labels[k] === v));
  return s ? s.value : undefined;
};

test('GET /metrics and the operator\'s API: 401 without the right token, off without one configured', async () => {
  for (const t of [null, 'wrong', OPS_TOKEN, METRICS_TOKEN + 'x']) {
    const r = await scrape(t);
    assert.equal(r.status, 401, t);
    assert.equal(JSON.parse(r.text).code, 'unauthenticated');
    assert.equal(r.headers.get('www-authenticate'), 'Bearer');
  }
  // The operator's token does not open /metrics, nor the other way round.
  const ops = await request(srv.url, 'GET', '/api/v1/ops/accounts',
    { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  assert.equal(ops.status, 401);
  assert.equal((await request(srv.url, 'GET', '/api/v1/ops/accounts')).status, 401);
  // A short token is refused at start (exit 2), naming the variable only.
  const bad = await runServer(['--listen', '127.0.0.1:0'], { METRON_METRICS_TOKEN: 'short' });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /METRON_METRICS_TOKEN: expected 32\.\.256 printable/);
  assert.doesNotMatch(bad.stderr, /short/);
  // Without the variable the route is off.
  const plain = await startServer({ databaseUrl: stack.url, args: ['--jobs-interval', '0'] });
  try {
    const r = await scrape(METRICS_TOKEN, plain.url);
    assert.equal(r.status, 401);
    assert.match(JSON.parse(r.text).message, /metrics are off: set METRON_METRICS_TOKEN/);
    const o = await request(plain.url, 'GET', '/api/v1/ops/accounts',
      { headers: { authorization: `Bearer ${OPS_TOKEN}` } });
    assert.equal(o.status, 401);
    assert.match(o.body.message, /operator's API is off/);
  } finally {
    assert.equal((await plain.stop()).code, 0);
  }
});

test('GET /metrics: the per-route CPU account, only with METRON_ROUTE_CPU', async () => {
  // Off by default: none of its lines.
  await request(srv.url, 'GET', '/api/v1/health');
  const off = parseMetrics((await scrape()).text);
  assert.equal(off.samples.some((x) => x.name.startsWith('metron_http_request_cpu') ||
    x.name === 'metron_http_request_context_switches_total'), false);
  // METRON_ROUTE_CPU=1: every request measured, its thread's CPU by part.
  const acc = await startServer({ databaseUrl: stack.url, args: ['--jobs-interval', '0'],
    env: { METRON_METRICS_TOKEN: METRICS_TOKEN, METRON_ROUTE_CPU: '1' } });
  try {
    const health = { method: 'GET', route: '/api/v1/health' };
    for (let i = 0; i < 20; i++) await request(acc.url, 'GET', '/api/v1/health');
    await request(acc.url, 'GET', '/api/v1/no-such-thing');
    const m = parseMetrics((await scrape(METRICS_TOKEN, acc.url)).text);
    assert.equal(m.typed.get('metron_http_request_cpu_seconds_total'), 'counter');
    const n = value(m, 'metron_http_requests_total', { ...health, code: '2xx' });
    assert.ok(n >= 20, `${n}`);
    // Each part of each request: handler and log always, read once a
    // thread has had a request before (keep-alive or a later connection).
    assert.equal(value(m, 'metron_http_request_cpu_measured_total', { ...health, part: 'handler' }), n);
    assert.equal(value(m, 'metron_http_request_cpu_measured_total', { ...health, part: 'log' }), n);
    // (No line at all when no thread had a request before: each came on a
    // fresh connection that CivetWeb gave a thread of its own.)
    assert.ok((value(m, 'metron_http_request_cpu_measured_total', { ...health, part: 'read' }) ?? 0) <= n);
    const sec = value(m, 'metron_http_request_cpu_seconds_total', { ...health, part: 'handler' });
    assert.ok(sec > 0 && sec / n < 0.05, `${sec} s for ${n} requests`);
    assert.ok(value(m, 'metron_http_request_cpu_seconds_total', { ...health, part: 'log' }) > 0);
    assert.ok(value(m, 'metron_http_request_context_switches_total',
      { ...health, kind: 'voluntary' }) >= 0);
    assert.ok(value(m, 'metron_http_request_cpu_measured_total',
      { route: '(no route)', part: 'handler' }) >= 1);
    // The shared reads' roles are counted (none yet here).
    assert.equal(value(m, 'metron_shared_reads_total', { role: 'lead' }), 0);
  } finally {
    assert.equal((await acc.stop()).code, 0);
  }
});

test('GET /metrics: requests and latency by route, ingest, pool, queues, jobs', async () => {
  for (let i = 0; i < 5; i++) await request(srv.url, 'GET', '/api/v1/health');
  await request(srv.url, 'GET', '/api/v1/no-such-thing');
  await request(srv.url, 'POST', '/api/v1/auth/login', { body: { account: 'x', user: 'y', password: 'z' } });
  const t = await dataTenant(srv, { n: 2 });
  const t0 = baseTime(24);
  const before = parseMetrics((await scrape()).text);
  const r = await t.ingest.batch({ batch_id: 'm1', channels: [
    { id: t.channels[0], t: [t0, t0 + MIN_US, t0 + 2 * MIN_US], v: [1, 2, 3] },
    { id: t.channels[1], t: [t0], v: [4] }] });
  assert.equal(r.status, 201, r.text);
  assert.equal((await t.ingest.batch({ batch_id: 'm1', channels: [
    { id: t.channels[0], t: [t0], v: [1] }] })).status, 200); // a retry: a duplicate
  assert.equal((await t.ingest.batch({ batch_id: 'm2', channels: [
    { id: 999999999, t: [t0], v: [1] }] })).status, 422);
  await request(srv.url, 'POST', '/api/v1/test/jobs?job=sessions');

  const res = await scrape();
  assert.equal(res.status, 200);
  assert.equal(res.type, 'text/plain; version=0.0.4; charset=utf-8');
  const m = parseMetrics(res.text);
  assert.equal(value(m, 'metron_build_info'), 1);
  assert.ok(value(m, 'metron_start_time_seconds') > 1.7e9);
  // Per route, with the route's pattern (never the path with its ids).
  const health = { method: 'GET', route: '/api/v1/health' };
  assert.ok(value(m, 'metron_http_requests_total', { ...health, code: '2xx' }) >= 5);
  assert.ok(value(m, 'metron_http_requests_total', { route: '(no route)', code: '4xx' }) >= 1);
  assert.ok(value(m, 'metron_http_requests_total',
    { method: 'POST', route: '/api/v1/auth/login', code: '4xx' }) >= 1);
  assert.ok(m.samples.some((s) => s.labels.route === '/api/v1/devices/*/channels'),
    'patterns, not paths');
  assert.ok(!m.samples.some((s) => /\/[0-9]+(\/|$)/.test(s.labels.route || '')), 'no ids');
  // Histogram: cumulative, +Inf = count, sum in seconds.
  const buckets = m.samples.filter((s) => s.name === 'metron_http_request_duration_seconds_bucket' &&
    s.labels.route === health.route && s.labels.method === 'GET');
  assert.equal(buckets.length, 15);
  for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i].value >= buckets[i - 1].value);
  assert.equal(buckets.at(-1).labels.le, '+Inf');
  const count = value(m, 'metron_http_request_duration_seconds_count', health);
  assert.equal(buckets.at(-1).value, count);
  const sum = value(m, 'metron_http_request_duration_seconds_sum', health);
  assert.ok(sum > 0 && sum < count * 5, `sum ${sum}`);
  // Ingest: one stored batch of 4 samples, one duplicate, one refused.
  const d = (name, labels) => value(m, name, labels) - (value(before, name, labels) ?? 0);
  assert.equal(d('metron_ingest_samples_total'), 4);
  assert.equal(d('metron_ingest_batches_total', { result: 'stored' }), 1);
  assert.equal(d('metron_ingest_batches_total', { result: 'duplicate' }), 1);
  assert.equal(d('metron_ingest_batches_total', { result: 'refused' }), 1);
  // Pool, queues (the batch is in the hot table: the compactor is behind it).
  assert.ok(value(m, 'metron_db_pool_acquires_total') > 10);
  assert.equal(value(m, 'metron_db_up'), 1);
  assert.equal(value(m, 'metron_db_pool_connections', { state: 'idle' }) +
    value(m, 'metron_db_pool_connections', { state: 'in_use' }), 4);
  for (const q of ['outbox', 'outbox_due', 'exports', 'report_runs', 'series_hot']) {
    assert.ok(value(m, 'metron_queue_depth', { queue: q }) >= 0, q);
  }
  assert.ok(value(m, 'metron_compactor_hot_samples') >= 4);
  assert.ok(value(m, 'metron_compactor_lag_seconds') >= 0);
  assert.equal(value(m, 'metron_wal_archiving'), 0); // the harness's cluster does not archive
  // Jobs: the round the test route ran.
  assert.equal(value(m, 'metron_job_runs_total', { job: 'sessions', result: 'ok' }), 1);
  assert.ok(value(m, 'metron_job_last_success_timestamp_seconds', { job: 'sessions' }) > 1.7e9);
  assert.equal(value(m, 'metron_job_last_success_timestamp_seconds', { job: 'exports' }), 0);
  // No replica is set up: nothing is said about one.
  assert.equal(m.samples.some((s) => s.name.startsWith('metron_replica_')), false);
  // The compactor catches up: the lag goes back to 0.
  await request(srv.url, 'POST', '/api/v1/test/compact');
  const after = parseMetrics((await scrape()).text);
  assert.equal(value(after, 'metron_queue_depth', { queue: 'series_hot' }), 0);
  assert.equal(value(after, 'metron_compactor_lag_seconds'), 0);
  // The scrape itself is counted, under its own route.
  assert.ok(value(after, 'metron_http_requests_total', { method: 'GET', route: '/metrics', code: '2xx' }) >= 2);
});

// ------------------------------------------------------ the operator's API

test('accounts as the operator sees them: pages, filters, one; bad filters are 400', async () => {
  const a = await dataTenant(srv, { plan: 'free', n: 1 });
  const b = await dataTenant(srv, { plan: 'pro', n: 1 });
  let r = await ops.get(`/accounts?q=${encodeURIComponent(a.account.toUpperCase())}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.body.items.map((x) => x.id), [a.id]);
  const one = r.body.items[0];
  assert.equal(one.login_id, a.account);
  assert.equal(one.plan, 'free');
  assert.equal(one.plan_in_force, 'free');
  assert.equal(one.status, 'active');
  assert.equal(one.users, 1);
  assert.equal(one.storage.limit, 5e9);
  assert.equal(one.contract_holder_email, null);
  r = await ops.get('/accounts?plan=pro&limit=200');
  assert.ok(r.body.items.some((x) => x.id === b.id) && r.body.items.every((x) => x.plan === 'pro'));
  r = await ops.get(`/accounts?limit=1&after=${a.id - 1}`);
  assert.deepEqual(r.body.items.map((x) => x.id), [a.id]);
  assert.equal(r.body.next_after, a.id);
  assert.deepEqual((await ops.get(`/accounts/${b.id}`)).body.storage.limit, 5e11);
  for (const q of ['status=gone', 'plan=gold', 'limit=0', 'limit=201', 'after=-1', `q=${'x'.repeat(101)}`]) {
    r = await ops.get(`/accounts?${q}`);
    assert.equal(r.status, 400, q);
  }
  assert.equal((await ops.get('/accounts/999999999')).status, 404);
  assert.equal((await ops.get('/accounts/abc')).status, 404);
});

test('L8 freeze: sign-in, sessions and ingestion refused at once, nothing deleted; unfreeze restores', async () => {
  const t = await dataTenant(srv, { n: 1 });
  const t0 = baseTime(12);
  assert.equal((await t.ingest.batch({ batch_id: 'f1', channels: [{ id: t.channels[0], t: [t0], v: [1] }] })).status, 201);
  assert.equal((await t.c.get('/api/v1/me')).status, 200); // remembered from now on
  for (const [body, code] of [[{}, 'missing'], [{ reason: '' }, 'missing'], [{ reason: 'x', why: 1 }, 'unknown_field'],
    [{ reason: 'x'.repeat(501) }, 'too_long'], [{ reason: 5 }, 'wrong_type']]) {
    const r = await ops.post(`/accounts/${t.id}/freeze`, body);
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.equal(r.body.code, code);
  }
  assert.equal((await ops.get(`/accounts/${t.id}`)).body.status, 'active');
  let r = await ops.post(`/accounts/${t.id}/freeze`, { reason: 'mail bounced since March (L8)' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.status, 'frozen');
  assert.equal(r.body.frozen_reason, 'mail bounced since March (L8)');
  assert.ok(Date.parse(r.body.frozen_at) > 0);
  r = await t.c.get('/api/v1/me');
  assert.equal(r.status, 403);
  assert.equal(r.body.code, 'account_frozen');
  r = await request(srv.url, 'POST', '/api/v1/auth/login', { body: { account: t.account, user: 'admin', password: PW } });
  assert.equal(r.status, 403);
  assert.equal(r.body.code, 'account_frozen');
  r = await t.ingest.batch({ batch_id: 'f2', channels: [{ id: t.channels[0], t: [t0 + MIN_US], v: [2] }] });
  assert.equal(r.status, 403);
  assert.equal(r.body.code, 'account_inactive');
  assert.equal(await count(`SELECT count(*) FROM users WHERE account_id = ${t.id}`), 1);
  assert.equal(await count(`SELECT count(*) FROM series_hot WHERE account_id = ${t.id}`) +
    await count(`SELECT count(*) FROM series_day WHERE account_id = ${t.id}`), 1);
  r = await ops.get('/accounts?status=frozen');
  assert.ok(r.body.items.some((x) => x.id === t.id));
  r = await ops.post(`/accounts/${t.id}/unfreeze`);
  assert.equal(r.status, 200);
  assert.equal(r.body.status, 'active');
  assert.equal(r.body.frozen_reason, null);
  assert.equal((await t.c.get('/api/v1/me')).status, 200);
  r = await t.ingest.batch({ batch_id: 'f2', channels: [{ id: t.channels[0], t: [t0 + MIN_US], v: [2] }] });
  assert.equal(r.status, 201);
  assert.equal((await ops.post('/accounts/999999999/freeze', { reason: 'x' })).status, 404);
});

test('O4 deletion on request: everything of the account goes, irreversibly, and is reported', async () => {
  const t = await dataTenant(srv, { n: 2 });
  const keep = await dataTenant(srv, { n: 1 });
  const t0 = baseTime(30);
  assert.equal((await t.ingest.batch({ batch_id: 'd1', channels: [
    { id: t.channels[0], t: [t0, t0 + MIN_US], v: [1, 2] }, { id: t.channels[1], t: [t0], v: [3] }] })).status, 201);
  await request(srv.url, 'POST', '/api/v1/test/compact');
  assert.equal((await t.ingest.batch({ batch_id: 'd2', channels: [
    { id: t.channels[0], t: [t0 + 5 * MIN_US], v: [9] }] })).status, 201); // one hot row too
  const file = await t.c.post('/api/v1/drive/files?name=notes.txt', Buffer.from('hello drive'),
    { 'content-type': 'text/plain' });
  assert.equal(file.status, 201, JSON.stringify(file.body));
  const token = await request(srv.url, 'POST', '/api/v1/auth/token',
    { body: { account: t.account, user: 'admin', password: PW } });
  assert.equal(token.status, 200, JSON.stringify(token.body));
  const driveDir = path.join(srv.dataDir, 'drive', String(t.id));
  const onDisk = fs.existsSync(driveDir);

  let r = await ops.post(`/accounts/${t.id}/delete`, { confirm: keep.account, reason: 'request' });
  assert.equal(r.status, 400);
  assert.equal(r.body.code, 'confirm_mismatch');
  for (const body of [{ confirm: t.account }, { confirm: t.account, reason: 'whim' }, { reason: 'request' }]) {
    assert.equal((await ops.post(`/accounts/${t.id}/delete`, body)).status, 400, JSON.stringify(body));
  }
  assert.equal(await count(`SELECT count(*) FROM accounts WHERE id = ${t.id}`), 1);

  const used = (await ops.get(`/accounts/${t.id}`)).body.storage.used;
  r = await ops.post(`/accounts/${t.id}/delete`, { confirm: t.account, reason: 'request' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const rec = r.body;
  assert.equal(rec.account_id, t.id);
  assert.equal(rec.reason, 'request');
  assert.equal(rec.plan, 'pro');
  assert.equal(rec.storage_bytes, used);
  assert.ok(used > 11, `used ${used}`);
  assert.equal(rec.removed.accounts, 1);
  assert.equal(rec.removed.users, 1);
  assert.equal(rec.removed.apps, 1);
  assert.equal(rec.removed.channels, 2);
  assert.equal(rec.removed.series_day, 2);
  assert.equal(rec.removed.series_hot, 1);
  assert.equal(rec.removed.drive_items, 1);
  assert.equal(rec.removed.api_tokens, 1);
  assert.ok(rec.removed.sessions >= 1 && rec.removed.audit_log >= 1, JSON.stringify(rec.removed));
  assert.deepEqual(await rowsLeft(t.id), []);
  if (onDisk) assert.ok(!fs.existsSync(driveDir), 'its files on disk went with it');
  // Nothing of it answers any more; the other account is untouched.
  assert.equal((await t.c.get('/api/v1/me')).status, 401);
  assert.equal((await request(srv.url, 'GET', '/api/v1/me',
    { headers: { authorization: `Bearer ${token.body.token}` } })).status, 401);
  assert.equal((await t.ingest.batch({ batch_id: 'd3', channels: [{ id: t.channels[0], t: [t0], v: [1] }] })).status, 401);
  assert.equal((await keep.c.get('/api/v1/me')).status, 200);
  assert.equal((await ops.post(`/accounts/${t.id}/delete`, { confirm: t.account, reason: 'request' })).status, 404);
  // The record: what was removed, nothing of what it held.
  r = await ops.get('/deletions?limit=5');
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.items[0], rec);
  assert.doesNotMatch(JSON.stringify(r.body), new RegExp(t.account));
  assert.equal((await ops.get(`/deletions?before=${rec.id}`)).body.items.some((x) => x.id === rec.id), false);
});

test('O4 at contract end and L4 at trial end: deleted by the jobs at that instant (test clock), recorded', async () => {
  const a = await dataTenant(srv, { plan: 'standard', n: 1 });
  const b = await dataTenant(srv, { plan: 'standard', n: 1 });
  const now = Date.now();
  for (const at of ['2020-01-01T00:00:00Z', 'tomorrow', '2026-13-01T00:00:00Z', 5]) {
    const r = await ops.put(`/accounts/${a.id}/contract-end`, { at });
    assert.equal(r.status, 400, String(at));
  }
  assert.equal((await ops.put(`/accounts/${a.id}/contract-end`, {})).status, 400);
  const end = new Date(now + 86400e3).toISOString().replace(/\.\d+Z$/, 'Z');
  let r = await ops.put(`/accounts/${a.id}/contract-end`, { at: end });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.contract_ends_at, end.replace('Z', '.000Z'));
  r = await ops.put(`/accounts/${b.id}/contract-end`, { at: end });
  r = await ops.put(`/accounts/${b.id}/contract-end`, { at: null });
  assert.equal(r.body.contract_ends_at, null);
  // A trial that ends within the same day.
  const email = `${uniq('tr')}@ops.test`;
  const trial = await createAccount(srv.url, { email, password: PW, plan: 'trial',
    trialExpires: Math.floor(now / 1000) + 3600 });
  try {
    assert.equal(await runJob('account_deletions'), 0);
    assert.equal(await runJob('trial_accounts'), 0);
    await setClock(srv.url, 86400 + 60);
    assert.ok(await runJob('trial_accounts') >= 1);
    assert.ok(await runJob('account_deletions') >= 1);
  } finally {
    await setClock(srv.url, 0);
  }
  assert.equal(await count(`SELECT count(*) FROM accounts WHERE id IN (${a.id}, ${trial.accountId})`), 0);
  assert.equal(await count(`SELECT count(*) FROM accounts WHERE id = ${b.id}`), 1);
  assert.deepEqual(await rowsLeft(a.id), []);
  const items = (await ops.get('/deletions')).body.items;
  const recA = items.find((x) => x.account_id === a.id);
  assert.equal(recA.reason, 'contract_end');
  assert.equal(recA.removed.channels, 1);
  assert.equal(items.find((x) => x.account_id === trial.accountId).reason, 'trial_expired');
});
