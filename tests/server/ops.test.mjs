// The operator's side (issue 17, docs/operations.md): GET /metrics in
// Prometheus text format behind its own token (O2), and the operator's API.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { request, runServer, startServer, startStack, stopStack } from './harness.mjs';
import { baseTime, dataTenant, MIN_US } from './data_helpers.mjs';

const METRICS_TOKEN = 'm'.repeat(20) + '-metrics-token-0123456789';
const OPS_TOKEN = 'o'.repeat(20) + '-operator-token-0123456789';
let stack, srv;

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

test('GET /metrics: off without a token configured, 401 without the right one', async () => {
  for (const t of [null, 'wrong', OPS_TOKEN, METRICS_TOKEN + 'x']) {
    const r = await scrape(t);
    assert.equal(r.status, 401, t);
    assert.equal(JSON.parse(r.text).code, 'unauthenticated');
    assert.equal(r.headers.get('www-authenticate'), 'Bearer');
  }
  // A short token is refused at start (exit 2), naming the variable only.
  const bad = await runServer(['--listen', '127.0.0.1:0'], { METRON_METRICS_TOKEN: 'short' });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /METRON_METRICS_TOKEN: expected 32\.\.256 printable/);
  assert.doesNotMatch(bad.stderr, /short/);
  // Without the variable the route is off.
  const plain = await startServer({ databaseUrl: stack.url, args: ['--jobs-interval', '0'] });
  try {
    const r = await scrape(METRICS_TOKEN, plain.url);
    assert.equal(r.status, 404);
    assert.match(JSON.parse(r.text).message, /METRON_METRICS_TOKEN/);
  } finally {
    assert.equal((await plain.stop()).code, 0);
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
