// The supported-instrument table (I4) as data and enforced: every model of
// the specification with its app kinds and minimum firmware per function
// ("-" cells, the PQ3198 footnote), what a device's firmware allows shown on
// the device, monitoring refused below the minimum with the model, the
// function and the version named (batches and alarm settings), and the
// firmware upgrade request (M6).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createAccount, createUser, login, startStack, stopStack } from './harness.mjs';
import { PW, appClient, baseTime, uniq } from './data_helpers.mjs';

let stack;
let srv;

before(async () => { stack = await startStack(); srv = stack.srv; });
after(() => stopStack(stack));

async function tenant(kind = 'one') {
  const account = uniq('ins');
  const ids = await createAccount(srv.url, { account, plan: 'pro', user: 'admin', password: PW,
    email: `admin@${account}.test` });
  const c = await login(srv.url, { account, user: 'admin', password: PW });
  const r = await c.post('/api/v1/apps', { kind, name: 'G' });
  assert.equal(r.status, 201);
  return { id: ids.accountId, account, c, appId: r.body.id, ingest: appClient(srv.url, r.body.credential) };
}

async function device(t, model, firmware, channels = 1) {
  let r = await t.c.post(`/api/v1/apps/${t.appId}/devices`, { model, serial: uniq('SN'), ...(firmware ? { firmware } : {}) });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const dev = r.body;
  const ids = [];
  for (let i = 1; i <= channels; i++) {
    r = await t.c.post(`/api/v1/devices/${dev.id}/channels`, { key: `CH${i}`, name: `C${i}`, unit: 'V' });
    ids.push(r.body.id);
  }
  r = await t.c.put(`/api/v1/devices/${dev.id}/selection`, { channel_ids: ids });
  assert.equal(r.status, 200);
  return { ...dev, channels: ids };
}

test('the table: every model of the specification, per app kind and function', async () => {
  const t = await tenant();
  const r = await t.c.get('/api/v1/instrument-models');
  assert.equal(r.status, 200);
  const by = Object.fromEntries(r.body.items.map((m) => [m.model, m]));
  const models = ['LR8410', 'LR8416', 'LR8450', 'LR8450-01', 'MR6000', 'MR6000-01', 'PQ3100',
    'PQ3198', 'PW3360-10', 'PW3360-11', 'PW3365', 'PW3335', 'PW3336', 'PW3337', 'PW3390',
    'PW6001', 'PW8001', 'BT5525', 'ST5680', 'IM3523A', 'BT3554-01', 'BT3554-50', 'CM4142',
    'CM4372', 'CM4374', 'CM4376', 'CM3286-01', 'CM7291', 'FT3425', 'FT4310', 'IR4054-11',
    'IR4055-11', 'IR4058-20', 'CM4001', 'CM4002', 'CM4003', 'FT6031-50', 'PD3259-50',
    'IR4052-50', 'FT6380-50', 'DT4261', 'CM4371-50', 'CM4373-50', 'CM4375-50', 'CM4141-50',
    'CM3286-50'];
  assert.deepEqual(r.body.items.map((m) => m.model).sort(), [...models].sort());
  // The LR8450: through One V1.50, directly V2.20, everything incl. the console.
  assert.deepEqual(by.LR8450.table, [
    { apps: ['one'], min_firmware: { monitoring: 'V1.50', drive_data: 'V1.50', drive_files: 'V1.50', alarms: 'V1.50', console: 'V1.50' }, notes: {} },
    { apps: ['lr8450-direct'], min_firmware: { monitoring: 'V2.20', drive_data: 'V2.20', drive_files: 'V2.20', alarms: 'V2.20', console: 'V2.20' }, notes: {} }]);
  // "-" cells: no console for LR8410, no drive files for PW3335/PW3336/PW3337.
  assert.equal(by.LR8410.table[0].min_firmware.console, null);
  for (const m of ['PW3335', 'PW3336', 'PW3337']) {
    assert.equal(by[m].table[0].min_firmware.drive_files, null, m);
    assert.ok(by[m].table[0].min_firmware.console, m);
  }
  // The PQ3198 footnote.
  assert.match(by.PQ3198.table[0].notes.drive_files, /current day's file cannot be obtained/);
  // One and Cross together; Cross only, without console.
  assert.deepEqual(by['BT3554-01'].table[0].apps, ['one', 'cross']);
  assert.deepEqual(by['CM3286-50'].table[0], { apps: ['cross'], min_firmware: { monitoring: 'V1.00',
    drive_data: 'V1.00', drive_files: 'V1.00', alarms: 'V1.00', console: null }, notes: {} });
  assert.equal(by['CM4374'].min_firmware, 'V2.03');
});

test('a device shows what its firmware allows, function by function, and why not', async () => {
  const t = await tenant();
  const old = await device(t, 'LR8450', 'V1.40');
  assert.equal(old.functions.monitoring.allowed, false);
  assert.equal(old.functions.monitoring.min_firmware, 'V1.50');
  assert.match(old.functions.monitoring.why, /LR8450 with firmware V1\.40: monitoring needs firmware V1\.50 or later/);
  assert.equal(old.functions.alarms.allowed, false);
  assert.equal(old.firmware_supported, false);
  const logger = await device(t, 'LR8410', 'V1.43');
  assert.equal(logger.functions.monitoring.allowed, true);
  assert.equal(logger.functions.console.min_firmware, null);
  assert.equal(logger.functions.console.allowed, false);
  assert.match(logger.functions.console.why, /LR8410 does not support the console/);
  const unknown = await device(t, 'PQ3198');
  assert.equal(unknown.functions.monitoring.allowed, null, 'firmware not known');
  assert.match(unknown.functions.drive_files.note, /\*1/);
});

test('monitoring below the minimum firmware is refused with the model, function and version named', async () => {
  const t = await tenant();
  const old = await device(t, 'LR8450', 'V1.40', 2);
  const ok = await device(t, 'PW3390', 'V2.10');
  const t0 = baseTime();
  let r = await t.ingest.batch({ batch_id: 'b1', snapshots: [{ t: t0, ids: [ok.channels[0], old.channels[1]], v: [1, 2] }] });
  assert.equal(r.status, 422, r.text);
  assert.equal(r.body.code, 'firmware_too_old');
  assert.equal(r.body.field, 'snapshots[0].ids[1]');
  assert.match(r.body.message, /LR8450 with firmware V1\.40: monitoring needs firmware V1\.50 or later/);
  // The other instrument is fine alone; the old one after its firmware changed.
  r = await t.ingest.batch({ batch_id: 'b2', snapshots: [{ t: t0, ids: ok.channels, v: [1] }] });
  assert.equal(r.status, 201, r.text);
  r = await t.c.patch(`/api/v1/devices/${old.id}`, { firmware: 'V1.50' });
  assert.equal(r.status, 200);
  r = await t.ingest.batch({ batch_id: 'b3', snapshots: [{ t: t0 + 60e6, ids: old.channels, v: [1, 2] }] });
  assert.equal(r.status, 201, r.text);
  // An LR8450 connected directly needs V2.20.
  const d = await tenant('lr8450-direct');
  const direct = await device(d, 'LR8450', 'V2.10');
  r = await d.ingest.batch({ batch_id: 'd1', channels: [{ id: direct.channels[0], t: [t0], v: [1] }] });
  assert.equal(r.status, 422);
  assert.match(r.body.message, /needs firmware V2\.20/);
});

test('a firmware upgrade (M6) is a request to the app: administrators, a newer version', async () => {
  const t = await tenant();
  const dev = await device(t, 'LR8450', 'V1.40');
  await createUser(srv.url, { accountId: t.id, user: 'mem', password: PW, role: 'member' });
  const m = await login(srv.url, { account: t.account, user: 'mem', password: PW });
  let r = await m.post(`/api/v1/devices/${dev.id}/firmware-upgrade`, { firmware: 'V2.30' });
  assert.equal(r.status, 403);
  for (const [body, status, code] of [[{}, 400, 'missing'], [{ firmware: 'latest' }, 400, 'invalid_value'],
    [{ firmware: 'V1.40' }, 409, 'not_newer'], [{ firmware: 'V1.3' }, 409, 'not_newer'],
    [{ firmware: 'V2.30', x: 1 }, 400, 'unknown_field']]) {
    r = await t.c.post(`/api/v1/devices/${dev.id}/firmware-upgrade`, body);
    assert.equal(r.status, status, `${JSON.stringify(body)}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.code, code);
  }
  r = await t.c.post('/api/v1/devices/999999/firmware-upgrade', { firmware: 'V2.30' });
  assert.equal(r.status, 404);
  r = await t.c.post(`/api/v1/devices/${dev.id}/firmware-upgrade`, { firmware: 'V2.30' });
  assert.equal(r.status, 202, JSON.stringify(r.body));
  assert.equal(r.body.kind, 'firmware_upgrade');
  assert.equal(r.body.device_id, dev.id);
  assert.equal(r.body.firmware, 'V2.30');
  const pending = await t.ingest.requests();
  assert.deepEqual(pending.body.requests, [{ id: r.body.id, kind: 'firmware_upgrade', device_id: dev.id, firmware: 'V2.30' }]);
});

test('an alarm on an instrument below the minimum for alarms is refused, and allowed once upgraded', async () => {
  const t = await tenant();
  let r = await t.c.post('/api/v1/groups', { name: uniq('Site') });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const group = r.body.id;
  r = await t.c.patch(`/api/v1/apps/${t.appId}`, { group_id: group });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const old = await device(t, 'LR8450', 'V1.40');
  const unknown = await device(t, 'PW3390');
  const body = (ch) => ({ name: uniq('Hot'), rule: 'CH1 > 30', channels: [ch] });
  r = await t.c.post(`/api/v1/groups/${group}/alarms`, body(old.channels[0]));
  assert.equal(r.status, 422, JSON.stringify(r.body));
  assert.equal(r.body.code, 'firmware_too_old');
  assert.equal(r.body.field, 'channels');
  assert.match(r.body.message, /LR8450 with firmware V1\.40: alarms need firmware V1\.50 or later/);
  assert.equal((await t.c.get(`/api/v1/groups/${group}/alarms`)).body.items.length, 0, 'nothing stored');
  // A firmware not known is not refused; an edit onto the old one is.
  r = await t.c.post(`/api/v1/groups/${group}/alarms`, body(unknown.channels[0]));
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const rule = r.body.id;
  r = await t.c.patch(`/api/v1/alarms/${rule}`, { channels: [old.channels[0]] });
  assert.equal(r.status, 422, JSON.stringify(r.body));
  assert.equal((await t.c.get(`/api/v1/alarms/${rule}`)).body.channels[0], unknown.channels[0]);
  // After the upgrade (the app reports V1.50) the same alarm is taken.
  r = await t.c.patch(`/api/v1/devices/${old.id}`, { firmware: 'V1.50' });
  assert.equal(r.status, 200);
  r = await t.c.post(`/api/v1/groups/${group}/alarms`, body(old.channels[0]));
  assert.equal(r.status, 201, JSON.stringify(r.body));
});
