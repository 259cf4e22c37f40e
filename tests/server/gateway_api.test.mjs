// The gateway side of apps (docs/gateway.md, docs/ingest.md): an app
// reports its instruments (PUT /ingest/devices), reads the server's requests
// and answers them; users ask for a self-check (M4) and read the answers.
// Every wrong input is refused with a clear error and changes nothing.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createAccount, createUser, login, startStack, stopStack } from './harness.mjs';
import { PW, appClient, uniq } from './data_helpers.mjs';

let stack;
let srv;
const sql = (q) => stack.pg.psql(q, stack.db);

before(async () => { stack = await startStack(); srv = stack.srv; });
after(() => stopStack(stack));

/** An account of "plan" with an admin (c) and one app of "kind". */
async function tenant({ plan = 'pro', kind = 'one' } = {}) {
  const account = uniq('gw');
  const ids = await createAccount(srv.url, { account, plan, user: 'admin', password: PW,
    email: `admin@${account}.test` });
  const c = await login(srv.url, { account, user: 'admin', password: PW });
  const r = await c.post('/api/v1/apps', { kind, name: 'Gateway' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const cred = r.body.credential;
  const send = async (method, p, body) => {
    const res = await fetch(srv.url + p, { method, body: body === undefined ? undefined : JSON.stringify(body),
      headers: { Authorization: `Bearer ${cred}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) } });
    const text = await res.text();
    let json = null;
    try { json = JSON.parse(text); } catch { /* not JSON */ }
    return { status: res.status, body: json, text };
  };
  return { id: ids.accountId, account, c, appId: r.body.id, cred, send, ingest: appClient(srv.url, cred) };
}

const logger = (serial, n, extra = {}) => ({ model: 'LR8450', serial, firmware: 'V2.30', name: 'Logger',
  channels: Array.from({ length: n }, (_, i) => ({ key: `CH1_${i + 1}`, name: `Temperature ${i + 1}`, unit: '°C' })),
  ...extra });

test('an app reports its instruments: devices, firmware and channels appear, selected within P10', async () => {
  const t = await tenant({ plan: 'free' }); // P10: 30 channels per instrument on Free
  const r = await t.send('PUT', '/api/v1/ingest/devices', { devices: [logger('L-1', 40),
    { model: 'PW3390', serial: 'P-1', firmware: 'V2.10', channels: [{ key: 'U1', unit: 'V' }, { key: 'I1', unit: 'A' }] }] });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.devices.length, 2);
  const lg = r.body.devices.find((d) => d.model === 'LR8450');
  assert.equal(lg.firmware, 'V2.30');
  assert.equal(lg.channels.length, 40);
  assert.equal(lg.channels.filter((c) => c.selected).length, 30);
  assert.deepEqual(lg.channels.slice(0, 30).map((c) => c.selected), Array(30).fill(true));
  const pw = r.body.devices.find((d) => d.model === 'PW3390');
  assert.equal(pw.channels[0].name, 'U1', 'a channel without a name is named by its key');
  // The same table as GET /ingest/channels.
  const same = await t.ingest.channels();
  assert.deepEqual(same.body, r.body);
  // Audited with the app as the actor (kind app, the app's id and name).
  assert.equal(await sql(`SELECT count(*) FROM audit_log WHERE account_id = ${t.id}
    AND action IN ('device.create', 'device.channels') AND user_id IS NULL
    AND actor_kind = 'app' AND app_id IS NOT NULL AND actor_login <> ''`), '4');
  const au = await t.c.get('/api/v1/audit?action=device.&actor_kind=app');
  assert.equal(au.status, 200, JSON.stringify(au.body));
  assert.equal(au.body.entries.length, 4);
  assert.ok(au.body.entries.every((e) => e.actor_kind === 'app' && e.app_id === t.appId && e.app_name === 'Gateway'),
    JSON.stringify(au.body.entries));
});

test('migration 078: device reports a server of before 076 wrote as the system\'s become their app\'s; '
  + 'a deleted device\'s and a person\'s stay as they were', async () => {
  const t = await tenant();
  let r = await t.send('PUT', '/api/v1/ingest/devices', { devices: [logger('L-1', 2), logger('L-2', 1)] });
  assert.equal(r.status, 200, r.text);
  const [l1, l2] = ['L-1', 'L-2'].map((sn) => r.body.devices.find((d) => d.serial === sn).id);
  r = await t.send('PUT', '/api/v1/ingest/devices', { devices: [logger('L-1', 3, { firmware: 'V2.40' })] });
  assert.equal(r.status, 200, r.text);
  // A person adds an instrument and deletes L-2.
  r = await t.c.post(`/api/v1/apps/${t.appId}/devices`, { model: 'LR8450', serial: 'P-9' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const byPerson = r.body.id;
  assert.equal((await t.c.del(`/api/v1/devices/${l2}`)).status, 200);
  // The app's reports as a server of before 076 stored them: the system's,
  // nothing of the app in them. The app is renamed since.
  await sql(`UPDATE audit_log SET actor_kind = 'system', app_id = NULL, actor_login = ''
    WHERE account_id = ${t.id} AND actor_kind = 'app'`);
  assert.equal((await t.c.patch(`/api/v1/apps/${t.appId}`, { name: 'Line gateway' })).status, 200);
  const rows = () => sql(`SELECT string_agg(concat_ws(' ', action, target_id, actor_kind, app_id, actor_login,
    user_id IS NOT NULL), ',' ORDER BY id) FROM audit_log WHERE account_id = ${t.id} AND action LIKE 'device.%'`);
  const system = (await rows()).split(',');
  assert.deepEqual(system, [`device.create ${l1} system  f`, `device.channels ${l1} system  f`,
    `device.create ${l2} system  f`, `device.channels ${l2} system  f`,
    `device.firmware ${l1} system  f`, `device.channels ${l1} system  f`,
    `device.create ${byPerson} user admin t`, `device.delete ${l2} user admin t`]);
  // The migration's statement (as it runs on upgrade).
  const mig = fs.readFileSync(new URL('../../server/migrations/078_audit_user_time_indexes.sql', import.meta.url), 'utf8');
  await sql(mig.match(/^UPDATE audit_log[\s\S]*?;$/m)[0]);
  const app = `app ${t.appId} Line gateway f`;
  assert.deepEqual((await rows()).split(','), [`device.create ${l1} ${app}`, `device.channels ${l1} ${app}`,
    `device.create ${l2} system  f`, `device.channels ${l2} system  f`,
    `device.firmware ${l1} ${app}`, `device.channels ${l1} ${app}`,
    `device.create ${byPerson} user admin t`, `device.delete ${l2} user admin t`]);
  r = await t.c.get(`/api/v1/audit?action=device.&app_id=${t.appId}`);
  assert.deepEqual(r.body.entries.map((e) => [e.action, e.actor_kind, e.app_name]), [['device.channels', 'app', 'Line gateway'],
    ['device.firmware', 'app', 'Line gateway'], ['device.channels', 'app', 'Line gateway'], ['device.create', 'app', 'Line gateway']]);
});

test('a second report changes firmware, adds channels, and leaves names and selections alone', async () => {
  const t = await tenant();
  let r = await t.send('PUT', '/api/v1/ingest/devices', { devices: [logger('L-1', 2)] });
  assert.equal(r.status, 200, r.text);
  const dev = r.body.devices[0];
  // The administrator renames a channel, unselects one, names the device.
  await t.c.patch(`/api/v1/channels/${dev.channels[0].id}`, { name: 'Oven' });
  await t.c.put(`/api/v1/devices/${dev.id}/selection`, { channel_ids: [dev.channels[0].id] });
  await t.c.patch(`/api/v1/devices/${dev.id}`, { name: 'Line 1 logger' });
  r = await t.send('PUT', '/api/v1/ingest/devices', { devices: [logger('L-1', 3, { firmware: 'V2.40', name: 'Other' })] });
  assert.equal(r.status, 200, r.text);
  const d = r.body.devices[0];
  assert.equal(d.firmware, 'V2.40');
  assert.equal(d.channels.length, 3);
  assert.equal(d.channels[0].name, 'Oven');
  assert.deepEqual(d.channels.map((c) => c.selected), [true, false, true]);
  const g = await t.c.get(`/api/v1/devices/${dev.id}`);
  assert.equal(g.body.name, 'Line 1 logger');
  assert.equal(await sql(`SELECT count(*) FROM audit_log WHERE account_id = ${t.id}
    AND action = 'device.firmware'`), '1');
});

test('reports that cannot be taken are refused whole, naming the item', async () => {
  const t = await tenant({ plan: 'free', kind: 'cross' }); // P12: 3 instruments on Free
  const cases = [
    [{}, 400, 'missing', 'devices'],
    [{ devices: {} }, 400, 'wrong_type', 'devices'],
    [{ devices: [], extra: 1 }, 400, 'unknown_field', 'extra'],
    [{ devices: [1] }, 400, 'wrong_type', 'devices[0]'],
    [{ devices: [{ serial: 'S' }] }, 400, 'missing', 'devices[0].model'],
    [{ devices: [{ model: 'CM4372', serial: 'S', colour: 'red' }] }, 400, 'unknown_field', 'devices[0].colour'],
    [{ devices: [{ model: 'CM4372', serial: 'S', firmware: 'new' }] }, 400, 'invalid_value', 'devices[0].firmware'],
    [{ devices: [{ model: 'CM4372', serial: 'S', channels: [{ key: 'a b' }] }] }, 400, 'invalid_value', 'devices[0].channels[0].key'],
    [{ devices: [{ model: 'CM4372', serial: 'S', channels: [{ key: 'A' }, { key: 'A' }] }] }, 400, 'invalid_value', 'devices[0].channels[1].key'],
    [{ devices: [{ model: 'CM4372', serial: 'S' }, { model: 'CM4372', serial: 'S' }] }, 400, 'invalid_value', 'devices[1]'],
    [{ devices: [{ model: 'XY9999', serial: 'S' }] }, 400, 'unsupported_model', 'devices[0].model'],
    [{ devices: [{ model: 'LR8450', serial: 'S' }] }, 400, 'unsupported_model', 'devices[0].model'],
    [{ devices: [{ model: 'CM4372', serial: 'S', name: 'a\u0001' }] }, 400, 'invalid_value', 'devices[0].name'],
    [{ devices: [1, 2, 3, 4].map((i) => ({ model: 'CM4372', serial: `S${i}` })) }, 403, 'plan_limit', 'devices[3]'],
  ];
  for (const [body, status, code, field] of cases) {
    const r = await t.send('PUT', '/api/v1/ingest/devices', body);
    assert.equal(r.status, status, `${JSON.stringify(body)}: ${r.text}`);
    assert.equal(r.body.code, code, r.text);
    assert.equal(r.body.field, field, r.text);
    assert.ok(r.body.message.length > 10);
  }
  // All or nothing: the fourth instrument refused the first three too.
  assert.equal(await sql(`SELECT count(*) FROM devices WHERE account_id = ${t.id}`), '0');
  const big = await t.send('PUT', '/api/v1/ingest/devices', { devices: [logger('L', 1001)] });
  assert.equal(big.status, 413);
  // Credentials.
  const anon = await fetch(srv.url + '/api/v1/ingest/devices', { method: 'PUT',
    headers: { 'Content-Type': 'application/json' }, body: '{"devices":[]}' });
  assert.equal(anon.status, 401);
  await t.c.patch(`/api/v1/apps/${t.appId}`, { enabled: false });
  const off = await t.send('PUT', '/api/v1/ingest/devices', { devices: [] });
  assert.equal(off.status, 403);
  assert.equal(off.body.code, 'app_disabled');
});

test('an LR8450 direct app is one LR8450', async () => {
  const t = await tenant({ kind: 'lr8450-direct' });
  let r = await t.send('PUT', '/api/v1/ingest/devices', { devices: [logger('D-1', 2)] });
  assert.equal(r.status, 200, r.text);
  r = await t.send('PUT', '/api/v1/ingest/devices', { devices: [logger('D-1', 2), logger('D-2', 2)] });
  assert.equal(r.status, 409, r.text);
  assert.equal(r.body.code, 'app_full');
});

test('self-check (M4): a user asks, the app reads and answers once, the user reads the answer', async () => {
  const t = await tenant();
  let r = await t.c.post(`/api/v1/apps/${t.appId}/self-check`);
  assert.equal(r.status, 202, JSON.stringify(r.body));
  assert.equal(r.body.kind, 'self_check');
  assert.equal(r.body.state, 'pending');
  const rid = r.body.id;
  r = await t.send('GET', '/api/v1/ingest/requests');
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body, { live_until: null, requests: [{ id: rid, kind: 'self_check' }] });
  // Bad answers change nothing.
  for (const [body, code] of [[{}, 'missing'], [{ ok: 'yes' }, 'wrong_type'], [{ ok: true, result: [1] }, 'wrong_type'],
    [{ ok: true, message: 'x'.repeat(301) }, 'too_long'], [{ ok: true, other: 1 }, 'unknown_field']]) {
    const a = await t.send('POST', `/api/v1/ingest/requests/${rid}`, body);
    assert.equal(a.status, 400, a.text);
    assert.equal(a.body.code, code);
  }
  r = await t.send('POST', `/api/v1/ingest/requests/${rid}`, { ok: true, message: 'the app and its 0 instruments work',
    result: { app: { spooled_batches: 0 }, instruments: [] } });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body, { id: rid, state: 'done' });
  r = await t.send('POST', `/api/v1/ingest/requests/${rid}`, { ok: false });
  assert.equal(r.status, 409);
  assert.equal(r.body.code, 'already_answered');
  r = await t.send('GET', '/api/v1/ingest/requests');
  assert.deepEqual(r.body.requests, []);
  r = await t.c.get(`/api/v1/apps/${t.appId}/requests/${rid}`);
  assert.equal(r.status, 200);
  assert.equal(r.body.state, 'done');
  assert.equal(r.body.ok, true);
  assert.deepEqual(r.body.result, { app: { spooled_batches: 0 }, instruments: [] });
  assert.ok(r.body.answered_at);
  r = await t.c.get(`/api/v1/apps/${t.appId}/requests`);
  assert.equal(r.body.items.length, 1);
});

test('requests expire, stay with their app and account, and cannot pile up', async () => {
  const t = await tenant();
  const other = await tenant();
  let r = await t.c.post(`/api/v1/apps/${t.appId}/self-check`);
  const rid = r.body.id;
  // Another app (another account) cannot answer it; another account's user cannot see it.
  r = await other.send('POST', `/api/v1/ingest/requests/${rid}`, { ok: true });
  assert.equal(r.status, 404);
  r = await other.c.get(`/api/v1/apps/${t.appId}/requests/${rid}`);
  assert.equal(r.status, 404);
  r = await other.c.post(`/api/v1/apps/${t.appId}/self-check`);
  assert.equal(r.status, 404);
  // A member without access to the app's group does not see it either.
  await createUser(srv.url, { accountId: t.id, user: 'bob', password: PW, role: 'member' });
  const bob = await login(srv.url, { account: t.account, user: 'bob', password: PW });
  r = await bob.post(`/api/v1/apps/${t.appId}/self-check`);
  assert.equal(r.status, 404);
  // Ten minutes without an answer: expired.
  await sql(`UPDATE app_requests SET created_at = now() - interval '11 minutes' WHERE id = ${rid}`);
  r = await t.c.get(`/api/v1/apps/${t.appId}/requests/${rid}`);
  assert.equal(r.body.state, 'expired');
  r = await t.send('POST', `/api/v1/ingest/requests/${rid}`, { ok: true });
  assert.equal(r.status, 409);
  assert.equal(r.body.code, 'request_expired');
  // At most 32 pending.
  for (let i = 0; i < 32; i++) {
    r = await t.c.post(`/api/v1/apps/${t.appId}/self-check`);
    assert.equal(r.status, 202);
  }
  r = await t.c.post(`/api/v1/apps/${t.appId}/self-check`);
  assert.equal(r.status, 429);
  assert.equal(r.body.code, 'too_many_requests');
  r = await t.send('GET', '/api/v1/ingest/requests');
  assert.equal(r.body.requests.length, 32);
  // A disabled app cannot run one.
  await t.c.patch(`/api/v1/apps/${t.appId}`, { enabled: false });
  r = await t.c.post(`/api/v1/apps/${t.appId}/self-check`);
  assert.equal(r.status, 409);
  assert.equal(r.body.code, 'app_disabled');
});
