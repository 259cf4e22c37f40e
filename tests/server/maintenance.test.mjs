// Maintenance windows (O1; docs/operations.md "Maintenance windows"): the
// operator schedules a window through the operator's API (the
// specification's 06:30-07:30 CST by date, or any instants); the portal's
// banner route shows it from its announcement; during it every API route
// but health, the banner's and the operator's answers 503 maintenance with
// Retry-After, before reading any body; a batch refused then is stored when
// sent again afterwards; a cancelled window ends at once; a second server
// process loads the schedule at its start and takes changes at its next
// jobs round. Times move with the test clock.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { request, setClock, startServer, startStack, stopStack } from './harness.mjs';
import { baseTime, dataTenant, MIN_US } from './data_helpers.mjs';

const OPS_TOKEN = 'o'.repeat(20) + '-operator-token-0123456789';
let stack, srv;
const ops = (method, p, body, base = srv.url) => request(base, method, `/api/v1/ops${p}`,
  { body, headers: { authorization: `Bearer ${OPS_TOKEN}` } });
const banner = async (base = srv.url) => {
  const r = await request(base, 'GET', '/api/v1/maintenance');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.window;
};
const iso = (s) => new Date(s * 1000).toISOString().replace('.000Z', 'Z');
const nowS = () => Math.floor(Date.now() / 1000);

before(async () => {
  stack = await startStack({ env: { METRON_OPS_TOKEN: OPS_TOKEN }, args: ['--jobs-interval', '0'] });
  srv = stack.srv;
});
after(async () => { await stopStack(stack); });

test('scheduling: bad windows refused with the field named, nothing stored; the default 06:30-07:30 CST by date', async () => {
  const t0 = nowS();
  const cases = [
    [{}, 'missing', 'starts_at'],
    [{ starts_at: iso(t0 + 3600) }, 'missing', 'ends_at'],
    [{ starts_at: 'tomorrow', ends_at: iso(t0 + 7200) }, 'invalid_value', 'starts_at'],
    [{ starts_at: iso(t0 + 3600), ends_at: 12 }, 'invalid_value', 'ends_at'],
    [{ starts_at: iso(t0 + 7200), ends_at: iso(t0 + 3600) }, 'invalid_value', 'ends_at'],
    [{ starts_at: iso(t0 + 3600), ends_at: iso(t0 + 3600 + 13 * 3600) }, 'invalid_value', 'ends_at'],
    [{ starts_at: iso(t0 - 7200), ends_at: iso(t0 - 3600) }, 'invalid_value', 'ends_at'],
    [{ starts_at: iso(t0 + 400 * 86400), ends_at: iso(t0 + 400 * 86400 + 60) }, 'invalid_value', 'starts_at'],
    [{ starts_at: iso(t0 + 3600), ends_at: iso(t0 + 7200), announce_at: iso(t0 + 5000) }, 'invalid_value', 'announce_at'],
    [{ date: '2027-02-30' }, 'invalid_value', 'date'],
    [{ date: '2027-02-03T06:30' }, 'invalid_value', 'date'],
    [{ date: '2027-02-03', starts_at: iso(t0 + 3600) }, 'invalid_value', 'date'],
    [{ starts_at: iso(t0 + 3600), ends_at: iso(t0 + 7200), why: 'x' }, 'unknown_field', 'why'],
  ];
  for (const [body, code, field] of cases) {
    const r = await ops('POST', '/maintenance', body);
    assert.equal(r.status, 400, `${JSON.stringify(body)}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.code, code, JSON.stringify(body));
    assert.equal(r.body.field, field, JSON.stringify(body));
    assert.ok(r.body.message.length > 10);
  }
  assert.deepEqual((await ops('GET', '/maintenance')).body.items, []);
  // Without the operator's token: nothing.
  let r = await request(srv.url, 'POST', '/api/v1/ops/maintenance', { body: { date: '2027-02-03' } });
  assert.equal(r.status, 401);

  // The specification's window on a day: 06:30-07:30 China Standard Time.
  const day = new Date((t0 + 10 * 86400) * 1000).toISOString().slice(0, 10);
  r = await ops('POST', '/maintenance', { date: day });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const start = Date.parse(`${day}T06:30:00+08:00`) / 1000;
  assert.equal(r.body.starts_at, iso(start));
  assert.equal(r.body.ends_at, iso(start + 3600));
  assert.equal(r.body.announce_at, iso(start - 72 * 3600), 'announced 72 h ahead by default');
  assert.equal(r.body.in_progress, false);
  assert.deepEqual((await ops('GET', '/maintenance')).body.items.map((w) => w.id), [r.body.id]);
  assert.equal(await banner(), null, 'not announced yet');
  r = await ops('POST', `/maintenance/${r.body.id}/cancel`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual((await ops('GET', '/maintenance')).body.items, []);
  r = await ops('POST', `/maintenance/${r.body.id}/cancel`);
  assert.equal(r.status, 404, 'cancelled once');
});

test('announced, then 503 with Retry-After on every customer route, batches stored when sent again; a second process follows', async () => {
  const t = await dataTenant(srv, { n: 1 });
  const t0 = baseTime(30);
  const s0 = nowS();
  // Starts in 2 h, lasts 1 h, announced 1 h before.
  let r = await ops('POST', '/maintenance', { starts_at: iso(s0 + 7200), ends_at: iso(s0 + 10800),
    announce_at: iso(s0 + 3600) });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const id = r.body.id;
  assert.equal(await banner(), null);

  await setClock(srv.url, 3600 + 5);
  let w = await banner();
  assert.equal(w.id, id);
  assert.equal(w.in_progress, false);
  assert.equal(w.starts_at, iso(s0 + 7200));
  r = await t.c.get('/api/v1/me');
  assert.equal(r.status, 200, 'announced, not yet in force');

  await setClock(srv.url, 7200 + 5);
  w = await banner();
  assert.equal(w.in_progress, true);
  for (const [method, p, body] of [['GET', '/api/v1/me'], ['GET', '/api/v1/devices'],
    ['POST', '/api/v1/auth/login', { account: t.account, user: 'admin', password: 'x' }]]) {
    r = await request(srv.url, method, p, { body, headers: { cookie: `metron_session=${t.c.cookie}` } });
    assert.equal(r.status, 503, `${method} ${p}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.code, 'maintenance');
    assert.match(r.body.message, new RegExp(iso(s0 + 10800)));
    const retry = Number(r.headers['retry-after']);
    assert.ok(retry > 3500 && retry <= 3600, `Retry-After ${retry}`);
  }
  const batch = { batch_id: 'during-maintenance', channels: [{ id: t.channels[0],
    t: [t0, t0 + MIN_US], v: [1.5, 2.5] }] };
  r = await t.ingest.batch(batch);
  assert.equal(r.status, 503, r.text);
  assert.equal(r.body.code, 'maintenance');
  assert.equal((await request(srv.url, 'GET', '/api/v1/health')).status, 200);
  assert.equal((await ops('GET', '/maintenance')).status, 200, "the operator's API works");

  // A second process on the same database loads the schedule at its start.
  const other = await startServer({ databaseUrl: stack.pg.url(stack.db), args: ['--jobs-interval', '0'],
    env: { METRON_OPS_TOKEN: OPS_TOKEN } });
  try {
    await setClock(other.url, 7200 + 5);
    r = await request(other.url, 'GET', '/api/v1/me', { headers: { cookie: `metron_session=${t.c.cookie}` } });
    assert.equal(r.status, 503, JSON.stringify(r.body));

    // Over: the batch refused during it is stored when sent again.
    await setClock(srv.url, 10800 + 5);
    assert.equal(await banner(), null);
    r = await t.ingest.batch(batch);
    assert.equal(r.status, 201, r.text);
    assert.equal(r.body.duplicate, false);
    assert.equal(r.body.stored, 2);

    // A window in force now, cancelled: open at once here; the other process
    // follows at its next jobs round.
    await setClock(srv.url, 0);
    await setClock(other.url, 0);
    const s1 = nowS();
    r = await ops('POST', '/maintenance', { starts_at: iso(s1 - 60), ends_at: iso(s1 + 1800) });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.in_progress, true);
    assert.equal(r.body.announce_at, iso(s1 - 60), 'announced at its start when that has passed');
    assert.equal((await t.c.get('/api/v1/me')).status, 503);
    r = await request(other.url, 'POST', '/api/v1/test/jobs?job=maintenance');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.jobs[0].ok, true);
    assert.equal((await banner(other.url)).id, (await banner()).id);
    r = await ops('POST', `/maintenance/${(await banner()).id}/cancel`);
    assert.equal(r.status, 200);
    assert.equal((await t.c.get('/api/v1/me')).status, 200, 'open again at once');
    r = await request(other.url, 'POST', '/api/v1/test/jobs?job=maintenance');
    assert.equal(r.status, 200);
    assert.equal(await banner(other.url), null);
    r = await request(other.url, 'GET', '/api/v1/me', { headers: { cookie: `metron_session=${t.c.cookie}` } });
    assert.equal(r.status, 200);
  } finally {
    const exit = await other.stop();
    assert.equal(exit.code, 0, other.stderr());
  }
});
