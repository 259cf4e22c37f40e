// Administration API part B: apps (G6, P3), devices (G6, P12, I4), channels
// and the acquisition-channel selection (M4, P10/P11): happy paths, every
// quota at its limit and one past it for each plan, all-or-nothing
// selection, tenant isolation, members, malformed input.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { createAccount, createUser, login, startStack, stopStack } from './harness.mjs';

let pg;
let srv;
let db;
const PW = 'Correct-h0rse';
let seq = 0;
const uniq = (p) => `${p}${++seq}-${process.pid % 10000}`;
const sql = (q) => pg.psql(q, db);

before(async () => {
  ({ pg, srv, db } = await startStack());
});

after(() => stopStack({ pg, srv }));

/** A fresh account of "plan" with a signed-in administrator: {id, userId, c}. */
async function tenant(plan = 'standard') {
  const acc = uniq('acc');
  if (plan === 'trial') {
    const email = `${acc}@trial.test`;
    const ids = await createAccount(srv.url, { plan, user: email, email, password: PW });
    return { id: ids.accountId, userId: ids.userId, c: await login(srv.url, { email, password: PW }) };
  }
  const ids = await createAccount(srv.url, { account: acc, plan, user: 'admin', password: PW,
    email: `admin@${acc}.test` });
  return { id: ids.accountId, userId: ids.userId, account: acc,
    c: await login(srv.url, { account: acc, user: 'admin', password: PW }) };
}

async function member(t) {
  const { userId } = await createUser(srv.url, { accountId: t.id, user: 'member', password: PW,
    role: 'member', email: `m@${t.account}.test` });
  return { userId, c: await login(srv.url, { account: t.account, user: 'member', password: PW }) };
}

const LIMITS = {
  P3: { trial: 2, free: 3, standard: 10, pro: 100 },
  P10: { trial: 10, free: 30, standard: 30, pro: 100 },
  P11: { trial: null, free: 30, standard: 150, pro: 1000 },
  P12: { trial: 1, free: 3, standard: 8, pro: 8 },
};
const PLANS = ['trial', 'free', 'standard', 'pro'];

function assertLimit(r, quota, plan) {
  assert.equal(r.status, 403, JSON.stringify(r.body));
  assert.equal(r.body.code, 'plan_limit');
  assert.equal(r.body.quota, quota);
  assert.equal(r.body.plan, plan);
  assert.equal(r.body.limit, LIMITS[quota][plan] ?? 0);
  assert.match(r.body.message, new RegExp(quota));
}

async function mkApp(t, body = { kind: 'one', name: 'Gateway' }) {
  const r = await t.c.post('/api/v1/apps', body);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body;
}

async function mkDevice(t, appId, body = { model: 'LR8450', serial: uniq('SN') }) {
  const r = await t.c.post(`/api/v1/apps/${appId}/devices`, body);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body;
}

/** Seed "n" channels CH1..CHn on a device by SQL; returns their ids. */
async function seedChannels(accountId, deviceId, n) {
  const out = await sql(`INSERT INTO channels (account_id, device_id, ch_key, name, position)
    SELECT ${accountId}, ${deviceId}, 'CH' || g, 'Channel ' || g, g FROM generate_series(1, ${n}) g
    RETURNING id`);
  return out.split('\n').map(Number);
}

const count = async (q) => Number(await sql(q));

test('apps: register, list, detail, rename, disable/enable, credentials, last seen, delete', async () => {
  const t = await tenant('standard');
  const app = await mkApp(t, { kind: 'cross', name: 'Phone' });
  assert.match(app.credential, /^mta_[A-Za-z0-9_-]{43}$/);
  assert.equal(app.credential_prefix, app.credential.slice(0, 12));
  assert.equal(app.kind, 'cross');
  assert.equal(app.enabled, true);
  assert.equal(app.last_seen_at, null);
  // Only the SHA-256 is stored.
  const hash = crypto.createHash('sha256').update(app.credential).digest('hex');
  assert.equal(await sql(`SELECT encode(credential_hash, 'hex') FROM apps WHERE id = ${app.id}`), hash);
  assert.equal(await count(`SELECT count(*) FROM apps WHERE credential_prefix = '${app.credential}'`), 0);

  let r = await t.c.get('/api/v1/apps');
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.items.map((a) => a.id), [app.id]);
  assert.equal(r.body.items[0].credential, undefined);

  r = await t.c.patch(`/api/v1/apps/${app.id}`, { enabled: false, name: 'Renamed' });
  assert.equal(r.status, 200);
  assert.equal(r.body.enabled, false);
  assert.equal(r.body.name, 'Renamed');
  r = await t.c.patch(`/api/v1/apps/${app.id}`, { enabled: true });
  assert.equal(r.body.enabled, true);

  r = await t.c.post(`/api/v1/apps/${app.id}/credentials`);
  assert.equal(r.status, 200);
  assert.notEqual(r.body.credential, app.credential);
  const hash2 = crypto.createHash('sha256').update(r.body.credential).digest('hex');
  assert.equal(await sql(`SELECT encode(credential_hash, 'hex') FROM apps WHERE id = ${app.id}`), hash2);

  await sql(`UPDATE app_seen SET last_seen_at = '2026-01-02T03:04:05Z', last_seen_ip = '10.1.2.3'
    WHERE app_id = ${app.id}`);
  r = await t.c.get(`/api/v1/apps/${app.id}`);
  assert.equal(r.body.last_seen_at, '2026-01-02T03:04:05.000Z');
  assert.equal(r.body.last_seen_ip, '10.1.2.3');
  assert.equal(r.body.credential, undefined);

  // Each change is audited.
  const actions = (await sql(`SELECT action FROM audit_log WHERE account_id = ${t.id}
    AND target_type = 'app' AND target_id = ${app.id} ORDER BY id`)).split('\n');
  assert.deepEqual(actions, ['app.create', 'app.disable', 'app.enable', 'app.credentials']);

  r = await t.c.del(`/api/v1/apps/${app.id}`);
  assert.equal(r.status, 200);
  assert.equal((await t.c.get(`/api/v1/apps/${app.id}`)).status, 404);
  assert.equal((await t.c.del(`/api/v1/apps/${app.id}`)).status, 404);
});

test('apps: a measurement group of the account can be set; another account\'s cannot', async () => {
  const t = await tenant('standard');
  const other = await tenant('standard');
  const g = Number(await sql(`INSERT INTO measurement_groups (account_id, name)
    VALUES (${t.id}, 'Site') RETURNING id`));
  const og = Number(await sql(`INSERT INTO measurement_groups (account_id, name)
    VALUES (${other.id}, 'Other') RETURNING id`));
  const app = await mkApp(t, { kind: 'one', name: 'G', group_id: g });
  assert.equal(app.group_id, g);
  let r = await t.c.post('/api/v1/apps', { kind: 'one', name: 'X', group_id: og });
  assert.equal(r.status, 404);
  assert.equal(r.body.field, 'group_id');
  r = await t.c.patch(`/api/v1/apps/${app.id}`, { group_id: og });
  assert.equal(r.status, 404);
  r = await t.c.patch(`/api/v1/apps/${app.id}`, { group_id: null });
  assert.equal(r.body.group_id, null);
  assert.equal(await count(`SELECT count(*) FROM apps WHERE account_id = ${t.id}`), 1);
});

for (const plan of PLANS) {
  test(`P3 registered apps on ${plan}: ${LIMITS.P3[plan]} allowed, one more refused`, async () => {
    const t = await tenant(plan);
    const limit = LIMITS.P3[plan];
    await sql(`INSERT INTO apps (account_id, kind, name)
      SELECT ${t.id}, 'one', 'seed ' || g FROM generate_series(1, ${limit - 1}) g`);
    await mkApp(t); // the limit-th
    const r = await t.c.post('/api/v1/apps', { kind: 'one', name: 'one too many' });
    assertLimit(r, 'P3', plan);
    assert.equal(await count(`SELECT count(*) FROM apps WHERE account_id = ${t.id}`), limit);
  });
}

test('P3 is safe under concurrency: parallel registrations never pass the limit', async () => {
  const t = await tenant('free');
  const rs = await Promise.all(Array.from({ length: 8 },
    (_, i) => t.c.post('/api/v1/apps', { kind: 'one', name: `p${i}` })));
  assert.equal(rs.filter((r) => r.status === 201).length, 3);
  assert.equal(rs.filter((r) => r.status === 403).length, 5);
  assert.equal(await count(`SELECT count(*) FROM apps WHERE account_id = ${t.id}`), 3);
});

test('P11 "-" on trial: no LR8450 direct app; the other plans may register one', async () => {
  const t = await tenant('trial');
  const r = await t.c.post('/api/v1/apps', { kind: 'lr8450-direct', name: 'Logger' });
  assertLimit(r, 'P11', 'trial');
  assert.equal(r.body.available, false);
  for (const plan of ['free', 'standard', 'pro']) {
    const u = await tenant(plan);
    await mkApp(u, { kind: 'lr8450-direct', name: 'Logger' });
  }
});

test('devices: create, list, detail, edit, delete; models from the supported list', async () => {
  const t = await tenant('standard');
  const app = await mkApp(t);
  const d = await mkDevice(t, app.id, { model: 'PW3390', serial: 'SN-1', firmware: 'V2.10',
    name: 'Panel A' });
  assert.equal(d.app_id, app.id);
  assert.equal(d.model, 'PW3390');
  assert.equal(d.min_firmware, 'V2.01');
  assert.equal(d.firmware_supported, true);
  assert.deepEqual(d.selection_limit, { quota: 'P10', limit: 30 });

  let r = await t.c.get('/api/v1/devices');
  assert.deepEqual(r.body.items.map((x) => x.id), [d.id]);
  r = await t.c.get(`/api/v1/apps/${app.id}/devices`);
  assert.deepEqual(r.body.items.map((x) => x.id), [d.id]);
  r = await t.c.get(`/api/v1/devices?app_id=${app.id}`);
  assert.equal(r.body.items.length, 1);

  r = await t.c.patch(`/api/v1/devices/${d.id}`, { name: 'Panel B', firmware: '1.00' });
  assert.equal(r.status, 200);
  assert.equal(r.body.name, 'Panel B');
  assert.equal(r.body.firmware_supported, false);
  assert.equal(r.body.model, 'PW3390');

  // Unknown model, a Cross-only model on a One app, bad serial/firmware.
  for (const [body, field] of [
    [{ model: 'XYZ1000' }, 'model'], [{ model: 'CM4142' }, 'model'],
    [{ serial: 'has space' }, 'serial'], [{ firmware: 'latest' }, 'firmware']]) {
    r = await t.c.patch(`/api/v1/devices/${d.id}`, body);
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.equal(r.body.field, field);
  }
  r = await t.c.post(`/api/v1/apps/${app.id}/devices`, { model: 'CM4142', serial: 'X' });
  assert.equal(r.status, 400);
  assert.equal(r.body.code, 'unsupported_model');
  // Same model and serial twice on one app: 409.
  r = await t.c.post(`/api/v1/apps/${app.id}/devices`, { model: 'PW3390', serial: 'SN-1' });
  assert.equal(r.status, 409);

  const models = await t.c.get('/api/v1/instrument-models');
  const lr = models.body.items.find((m) => m.model === 'LR8450');
  assert.deepEqual(lr.apps, ['one', 'lr8450-direct']);
  assert.equal(lr.min_firmware_direct, 'V2.20');
  assert.ok(models.body.items.some((m) => m.model === 'DT4261'));

  r = await t.c.del(`/api/v1/devices/${d.id}`);
  assert.equal(r.status, 200);
  assert.equal((await t.c.get(`/api/v1/devices/${d.id}`)).status, 404);
  assert.equal(await count(`SELECT count(*) FROM audit_log WHERE account_id = ${t.id}
    AND action LIKE 'device.%'`), 3);
});

test('an LR8450 direct app is one instrument, an LR8450', async () => {
  const t = await tenant('pro');
  const app = await mkApp(t, { kind: 'lr8450-direct', name: 'Logger' });
  let r = await t.c.post(`/api/v1/apps/${app.id}/devices`, { model: 'PW3390', serial: 'A' });
  assert.equal(r.status, 400);
  const d = await mkDevice(t, app.id, { model: 'LR8450-01', serial: 'B' });
  assert.equal(d.min_firmware, 'V2.20');
  assert.deepEqual(d.selection_limit, { quota: 'P11', limit: 1000 });
  r = await t.c.post(`/api/v1/apps/${app.id}/devices`, { model: 'LR8450', serial: 'C' });
  assert.equal(r.status, 409);
  assert.equal(r.body.code, 'app_full');
});

for (const plan of PLANS) {
  test(`P12 instruments per app on ${plan}: ${LIMITS.P12[plan]} allowed, one more refused`, async () => {
    const t = await tenant(plan);
    const limit = LIMITS.P12[plan];
    const app = await mkApp(t);
    await sql(`INSERT INTO devices (account_id, app_id, model, serial)
      SELECT ${t.id}, ${app.id}, 'PW3390', 'seed' || g FROM generate_series(1, ${limit - 1}) g`);
    await mkDevice(t, app.id);
    const r = await t.c.post(`/api/v1/apps/${app.id}/devices`, { model: 'PW3390', serial: 'last' });
    assertLimit(r, 'P12', plan);
    assert.equal(await count(`SELECT count(*) FROM devices WHERE app_id = ${app.id}`), limit);
  });
}

test('channels: create, list, edit, delete; selection replaces the whole set', async () => {
  const t = await tenant('standard');
  const app = await mkApp(t);
  const d = await mkDevice(t, app.id);
  let r = await t.c.post(`/api/v1/devices/${d.id}/channels`, { key: 'CH1_1', name: 'Temp',
    unit: '°C' });
  assert.equal(r.status, 201);
  const ch1 = r.body;
  assert.equal(ch1.selected, false);
  r = await t.c.post(`/api/v1/devices/${d.id}/channels`, { key: 'CH1_2', name: 'Hum' });
  const ch2 = r.body;
  r = await t.c.post(`/api/v1/devices/${d.id}/channels`, { key: 'CH1_2', name: 'dup' });
  assert.equal(r.status, 409);
  r = await t.c.post(`/api/v1/devices/${d.id}/channels`, { key: 'bad key', name: 'x' });
  assert.equal(r.status, 400);
  r = await t.c.patch(`/api/v1/channels/${ch2.id}`, { name: 'Humidity', unit: '%RH' });
  assert.equal(r.status, 200);
  assert.equal(r.body.unit, '%RH');
  r = await t.c.get(`/api/v1/channels/${ch2.id}`);
  assert.equal(r.body.name, 'Humidity');
  // Decimals (how values are shown): null = automatic, 0..9; a patch without
  // them keeps them; null clears them; anything else is refused, changing nothing.
  assert.equal(ch1.decimals, null);
  r = await t.c.post(`/api/v1/devices/${d.id}/channels`, { key: 'CH1_3', name: 'Volt', unit: 'V', decimals: 3 });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.decimals, 3);
  await t.c.del(`/api/v1/channels/${r.body.id}`);
  r = await t.c.patch(`/api/v1/channels/${ch2.id}`, { decimals: 1 });
  assert.equal(r.body.decimals, 1);
  r = await t.c.patch(`/api/v1/channels/${ch2.id}`, { name: 'Humidity' });
  assert.equal(r.body.decimals, 1);
  for (const [v, code] of [[10, 'invalid_value'], [-1, 'invalid_value'], [1.5, 'invalid_value'], ['2', 'wrong_type']]) {
    r = await t.c.patch(`/api/v1/channels/${ch2.id}`, { decimals: v });
    assert.equal(r.status, 400, String(v));
    assert.equal(r.body.code, code);
    assert.equal(r.body.field, 'decimals');
  }
  assert.equal((await t.c.get(`/api/v1/channels/${ch2.id}`)).body.decimals, 1);
  r = await t.c.patch(`/api/v1/channels/${ch2.id}`, { decimals: null });
  assert.equal(r.body.decimals, null);
  await t.c.patch(`/api/v1/channels/${ch2.id}`, { decimals: 2 });

  r = await t.c.put(`/api/v1/devices/${d.id}/selection`, { channel_ids: [ch1.id, ch2.id] });
  assert.equal(r.status, 200);
  assert.equal(r.body.selected_count, 2);
  r = await t.c.put(`/api/v1/devices/${d.id}/selection`, { channel_ids: [ch2.id] });
  assert.deepEqual(r.body.items.map((c) => [c.id, c.selected]), [[ch1.id, false], [ch2.id, true]]);
  r = await t.c.get(`/api/v1/devices/${d.id}`);
  assert.equal(r.body.selected_count, 1);
  assert.equal(r.body.channel_count, 2);

  r = await t.c.del(`/api/v1/channels/${ch1.id}`);
  assert.equal(r.status, 200);
  r = await t.c.get(`/api/v1/devices/${d.id}/channels`);
  assert.deepEqual(r.body.items.map((c) => c.id), [ch2.id]);
  assert.equal(r.body.items[0].decimals, 2);
});

test('selection is all or nothing: an unknown, foreign or repeated id changes nothing', async () => {
  const t = await tenant('standard');
  const other = await tenant('standard');
  const d = await mkDevice(t, (await mkApp(t)).id);
  const d2 = await mkDevice(t, (await mkApp(t)).id);
  const od = await mkDevice(other, (await mkApp(other)).id);
  const ids = await seedChannels(t.id, d.id, 3);
  const [otherDeviceCh] = await seedChannels(t.id, d2.id, 1);
  const [foreign] = await seedChannels(other.id, od.id, 1);
  await t.c.put(`/api/v1/devices/${d.id}/selection`, { channel_ids: [ids[0]] });
  const before = await sql(`SELECT string_agg(selected::text, ',' ORDER BY id) FROM channels
    WHERE device_id = ${d.id}`);
  for (const bad of [[ids[1], foreign], [ids[1], otherDeviceCh], [ids[1], 99999999],
    [ids[1], ids[1]]]) {
    const r = await t.c.put(`/api/v1/devices/${d.id}/selection`, { channel_ids: bad });
    assert.ok(r.status === 404 || r.status === 400, JSON.stringify(r.body));
    assert.equal(r.body.field, 'channel_ids');
  }
  for (const body of [{}, { channel_ids: 'all' }, { channel_ids: [1.5] }, { channel_ids: [-1] },
    { channel_ids: ['1'] }]) {
    const r = await t.c.put(`/api/v1/devices/${d.id}/selection`, body);
    assert.equal(r.status, 400, JSON.stringify(body));
  }
  assert.equal(await sql(`SELECT string_agg(selected::text, ',' ORDER BY id) FROM channels
    WHERE device_id = ${d.id}`), before);
  assert.equal(await sql(`SELECT selected FROM channels WHERE id = ${foreign}`), 'f');
});

for (const plan of PLANS) {
  test(`P10 selected channels per instrument on ${plan}: ${LIMITS.P10[plan]} allowed, one more refused`, async () => {
    const t = await tenant(plan);
    const limit = LIMITS.P10[plan];
    const d = await mkDevice(t, (await mkApp(t)).id);
    const ids = await seedChannels(t.id, d.id, limit + 1);
    let r = await t.c.put(`/api/v1/devices/${d.id}/selection`, { channel_ids: ids.slice(0, limit) });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.selected_count, limit);
    assert.deepEqual(r.body.selection_limit, { quota: 'P10', limit });
    r = await t.c.put(`/api/v1/devices/${d.id}/selection`, { channel_ids: ids });
    assertLimit(r, 'P10', plan);
    // Nothing changed: the first "limit" stay selected, the last one not.
    assert.equal(await count(`SELECT count(*) FROM channels WHERE device_id = ${d.id}
      AND selected`), limit);
    assert.equal(await sql(`SELECT selected FROM channels WHERE id = ${ids[limit]}`), 'f');
  });
}

for (const plan of PLANS) {
  test(`P11 selected channels (LR8450 direct) on ${plan}: ${LIMITS.P11[plan] ?? '-'}`, async () => {
    const t = await tenant(plan);
    const limit = LIMITS.P11[plan];
    // Trial cannot register a direct app (previous test); seed one by SQL to
    // check that the selection is refused there too.
    const appId = Number(await sql(`INSERT INTO apps (account_id, kind, name)
      VALUES (${t.id}, 'lr8450-direct', 'Logger') RETURNING id`));
    const deviceId = Number(await sql(`INSERT INTO devices (account_id, app_id, model, serial)
      VALUES (${t.id}, ${appId}, 'LR8450', 'L1') RETURNING id`));
    const ids = await seedChannels(t.id, deviceId, (limit ?? 0) + 1);
    if (limit !== null) {
      const r = await t.c.put(`/api/v1/devices/${deviceId}/selection`,
        { channel_ids: ids.slice(0, limit) });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.deepEqual(r.body.selection_limit, { quota: 'P11', limit });
    } else {
      const r = await t.c.get(`/api/v1/devices/${deviceId}/channels`);
      assert.deepEqual(r.body.selection_limit, { quota: 'P11', limit: null });
    }
    const r = await t.c.put(`/api/v1/devices/${deviceId}/selection`, { channel_ids: ids });
    assertLimit(r, 'P11', plan);
    assert.equal(await count(`SELECT count(*) FROM channels WHERE device_id = ${deviceId}
      AND selected`), limit ?? 0);
    // An empty selection is always allowed.
    assert.equal((await t.c.put(`/api/v1/devices/${deviceId}/selection`,
      { channel_ids: [] })).status, 200);
  });
}

test('shrinking an over-quota selection (after a downgrade) is allowed, growing it is not', async () => {
  const t = await tenant('free');
  const d = await mkDevice(t, (await mkApp(t)).id);
  const ids = await seedChannels(t.id, d.id, 40);
  await sql(`UPDATE channels SET selected = true WHERE device_id = ${d.id}`);
  let r = await t.c.put(`/api/v1/devices/${d.id}/selection`, { channel_ids: ids.slice(0, 35) });
  assert.equal(r.status, 200);
  r = await t.c.put(`/api/v1/devices/${d.id}/selection`, { channel_ids: ids.slice(0, 36) });
  assertLimit(r, 'P10', 'free');
});

test('tenant isolation: another account\'s ids answer 404 on every route and lists omit them', async () => {
  const t = await tenant('pro');
  const other = await tenant('pro');
  const app = await mkApp(other);
  const dev = await mkDevice(other, app.id);
  const [ch] = await seedChannels(other.id, dev.id, 1);
  const before = await sql(`SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM (
    SELECT a::text AS t FROM apps a WHERE account_id = ${other.id} UNION ALL
    SELECT d::text FROM devices d WHERE account_id = ${other.id} UNION ALL
    SELECT c::text FROM channels c WHERE account_id = ${other.id}) x`);
  const calls = [
    ['get', `/api/v1/apps/${app.id}`], ['patch', `/api/v1/apps/${app.id}`, { name: 'x', enabled: false }],
    ['del', `/api/v1/apps/${app.id}`], ['post', `/api/v1/apps/${app.id}/credentials`],
    ['get', `/api/v1/apps/${app.id}/devices`],
    ['post', `/api/v1/apps/${app.id}/devices`, { model: 'PW3390', serial: 'Z' }],
    ['get', `/api/v1/devices?app_id=${app.id}`],
    ['get', `/api/v1/devices/${dev.id}`], ['patch', `/api/v1/devices/${dev.id}`, { name: 'x' }],
    ['del', `/api/v1/devices/${dev.id}`], ['get', `/api/v1/devices/${dev.id}/channels`],
    ['post', `/api/v1/devices/${dev.id}/channels`, { key: 'K', name: 'x' }],
    ['put', `/api/v1/devices/${dev.id}/selection`, { channel_ids: [ch] }],
    ['get', `/api/v1/channels/${ch}`], ['patch', `/api/v1/channels/${ch}`, { name: 'x' }],
    ['del', `/api/v1/channels/${ch}`],
  ];
  for (const [m, p, body] of calls) {
    const r = await t.c[m](p, body);
    assert.equal(r.status, 404, `${m} ${p}: ${JSON.stringify(r.body)}`);
    assert.doesNotMatch(JSON.stringify(r.body), new RegExp(`"${other.account}"`));
  }
  assert.deepEqual((await t.c.get('/api/v1/apps')).body.items, []);
  assert.deepEqual((await t.c.get('/api/v1/devices')).body.items, []);
  assert.equal(await sql(`SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM (
    SELECT a::text AS t FROM apps a WHERE account_id = ${other.id} UNION ALL
    SELECT d::text FROM devices d WHERE account_id = ${other.id} UNION ALL
    SELECT c::text FROM channels c WHERE account_id = ${other.id}) x`), before);
});

test('members: refused (403) on every change, and see only apps of groups granted to them', async () => {
  const t = await tenant('standard');
  const m = await member(t);
  const g = Number(await sql(`INSERT INTO measurement_groups (account_id, name)
    VALUES (${t.id}, 'Granted') RETURNING id`));
  const granted = await mkApp(t, { kind: 'one', name: 'granted', group_id: g });
  const hidden = await mkApp(t, { kind: 'one', name: 'hidden' });
  const dev = await mkDevice(t, granted.id);
  const hiddenDev = await mkDevice(t, hidden.id);
  const [ch] = await seedChannels(t.id, dev.id, 1);
  const calls = [
    ['post', '/api/v1/apps', { kind: 'one', name: 'x' }],
    ['patch', `/api/v1/apps/${granted.id}`, { enabled: false }], ['del', `/api/v1/apps/${granted.id}`],
    ['post', `/api/v1/apps/${granted.id}/credentials`],
    ['post', `/api/v1/apps/${granted.id}/devices`, { model: 'PW3390', serial: 'M' }],
    ['patch', `/api/v1/devices/${dev.id}`, { name: 'x' }], ['del', `/api/v1/devices/${dev.id}`],
    ['post', `/api/v1/devices/${dev.id}/channels`, { key: 'K', name: 'x' }],
    ['put', `/api/v1/devices/${dev.id}/selection`, { channel_ids: [ch] }],
    ['patch', `/api/v1/channels/${ch}`, { name: 'x' }], ['del', `/api/v1/channels/${ch}`],
  ];
  for (const [meth, p, body] of calls) {
    const r = await m.c[meth](p, body);
    assert.equal(r.status, 403, `${meth} ${p}`);
  }
  // No grant yet: nothing visible.
  assert.deepEqual((await m.c.get('/api/v1/apps')).body.items, []);
  assert.equal((await m.c.get(`/api/v1/devices/${dev.id}`)).status, 404);
  await sql(`INSERT INTO group_user_access (account_id, group_id, user_id)
    VALUES (${t.id}, ${g}, ${m.userId})`);
  assert.deepEqual((await m.c.get('/api/v1/apps')).body.items.map((a) => a.id), [granted.id]);
  assert.deepEqual((await m.c.get('/api/v1/devices')).body.items.map((d) => d.id), [dev.id]);
  assert.equal((await m.c.get(`/api/v1/devices/${dev.id}/channels`)).status, 200);
  assert.equal((await m.c.get(`/api/v1/channels/${ch}`)).status, 200);
  assert.equal((await m.c.get(`/api/v1/apps/${hidden.id}`)).status, 404);
  assert.equal((await m.c.get(`/api/v1/devices/${hiddenDev.id}`)).status, 404);
  assert.equal((await m.c.get('/api/v1/instrument-models')).status, 200);
});

test('malformed input: wrong types, over-long strings, bad kinds, bad ids change nothing', async () => {
  const t = await tenant('standard');
  const app = await mkApp(t);
  const cases = [
    ['post', '/api/v1/apps', { kind: 'gateway', name: 'x' }, 'kind'],
    ['post', '/api/v1/apps', { kind: 'one' }, 'name'],
    ['post', '/api/v1/apps', { kind: 'one', name: '' }, 'name'],
    ['post', '/api/v1/apps', { kind: 'one', name: 'x'.repeat(101) }, 'name'],
    ['post', '/api/v1/apps', { kind: 'one', name: 12 }, 'name'],
    ['post', '/api/v1/apps', { kind: 'one', name: 'a\u0001b' }, 'name'],
    ['post', '/api/v1/apps', { kind: 'one', name: 'x', group_id: 'one' }, 'group_id'],
    ['patch', `/api/v1/apps/${app.id}`, { enabled: 'yes' }, 'enabled'],
    ['post', `/api/v1/apps/${app.id}/devices`, { model: 'PW3390' }, 'serial'],
    ['post', `/api/v1/apps/${app.id}/devices`, { model: 'PW3390', serial: 'x'.repeat(65) }, 'serial'],
  ];
  for (const [m, p, body, field] of cases) {
    const r = await t.c[m](p, body);
    assert.equal(r.status, 400, `${m} ${p} ${JSON.stringify(body)}`);
    assert.equal(r.body.field, field, JSON.stringify(r.body));
  }
  let r = await t.c.post('/api/v1/apps', '{"kind": "one", "name": ');
  assert.equal(r.status, 400);
  assert.equal(r.body.code, 'malformed_json');
  for (const p of ['/api/v1/apps/abc', '/api/v1/apps/0', '/api/v1/apps/-1',
    '/api/v1/apps/99999999999999999999', '/api/v1/devices/1e3']) {
    r = await t.c.get(p);
    assert.equal(r.status, 404, p);
  }
  r = await t.c.get('/api/v1/devices?app_id=x');
  assert.equal(r.status, 400);
  assert.equal(await count(`SELECT count(*) FROM apps WHERE account_id = ${t.id}`), 1);
  assert.equal(await count(`SELECT count(*) FROM devices WHERE account_id = ${t.id}`), 0);
  assert.equal(await sql(`SELECT enabled FROM apps WHERE id = ${app.id}`), 't');
});

test('unknown members: every write refuses them with 400 unknown_field and changes nothing', async () => {
  const t = await tenant('standard');
  const app = await mkApp(t);
  const dev = await mkDevice(t, app.id);
  const [ch] = await seedChannels(t.id, dev.id, 1);
  const state = () => sql(`SELECT md5(string_agg(x, '|' ORDER BY x)) FROM (
    SELECT a::text x FROM apps a WHERE account_id = ${t.id}
    UNION ALL SELECT d::text FROM devices d WHERE account_id = ${t.id}
    UNION ALL SELECT c::text FROM channels c WHERE account_id = ${t.id}) s`);
  const before = await state();
  for (const [m, p, body] of [
    ['post', '/api/v1/apps', { kind: 'one', name: 'Second', colour: 'red' }],
    ['patch', `/api/v1/apps/${app.id}`, { name: 'Renamed', enabled: false, colour: 'red' }],
    ['post', `/api/v1/apps/${app.id}/devices`, { model: 'LR8450', serial: uniq('SN'), colour: 'red' }],
    ['patch', `/api/v1/devices/${dev.id}`, { name: 'Renamed', colour: 'red' }],
    ['post', `/api/v1/devices/${dev.id}/channels`, { key: 'CH9', name: 'Nine', colour: 'red' }],
    ['patch', `/api/v1/channels/${ch}`, { name: 'Renamed', colour: 'red' }],
    ['put', `/api/v1/devices/${dev.id}/selection`, { channel_ids: [ch], colour: 'red' }],
  ]) {
    const r = await t.c[m](p, body);
    assert.equal(r.status, 400, `${m} ${p}`);
    assert.equal(r.body.code, 'unknown_field', `${m} ${p}`);
    assert.equal(r.body.field, 'colour', `${m} ${p}`);
  }
  assert.equal(await state(), before);
});
