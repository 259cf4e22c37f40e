// Alarm settings (R1-R7, P7; docs/alarms.md) over HTTP against a real
// PostgreSQL: create, read, list, edit, enable/disable, copy, delete; core's
// rule errors with their position; channels of the group, of one app;
// no-data rules; P7 per plan (and under concurrency); members' rights and
// tenant isolation; what an edit does to the rule's state.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createUser, login, startStack, stopStack } from './harness.mjs';
import { PW, dataTenant, uniq } from './data_helpers.mjs';

let pg;
let srv;
let db;
const sql = (q) => pg.psql(q, db);

before(async () => {
  ({ pg, srv, db } = await startStack({ env: { METRON_COMPACT_MS: '3600000' } }));
});

after(() => stopStack({ pg, srv }));

/** dataTenant + a measurement group holding its app: adds { group }. */
async function groupTenant(plan = 'pro', n = 4) {
  const t = await dataTenant(srv, { plan, n });
  let r = await t.c.post('/api/v1/groups', { name: uniq('Site') });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  t.group = r.body.id;
  r = await t.c.patch(`/api/v1/apps/${t.appId}`, { group_id: t.group });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return t;
}

const create = (t, body, group = t.group) => t.c.post(`/api/v1/groups/${group}/alarms`, body);

async function mustCreate(t, body) {
  const r = await create(t, { name: uniq('Alarm'), ...body });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body;
}

test('a rule is stored in canonical form with its channels and defaults', async () => {
  const t = await groupTenant();
  const r = await create(t, { name: 'Boiler hot', rule: 'ch1>30 and ch2 <= 5 for 60s',
    channels: [t.channels[0], t.channels[1]] });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const a = r.body;
  assert.equal(a.name, 'Boiler hot');
  assert.equal(a.kind, 'condition');
  assert.equal(a.rule, 'CH1 > 30 AND CH2 <= 5 FOR 1m');
  assert.deepEqual(a.channels, [t.channels[0], t.channels[1]]);
  assert.deepEqual(a.channel_info.map((c) => c.id), [t.channels[0], t.channels[1]]);
  assert.equal(a.channel_info[0].key, 'CH1');
  assert.equal(a.channel_info[0].computed, false);
  assert.equal(a.group_id, t.group);
  assert.equal(a.enabled, true);
  assert.equal(a.severity, 'alert');
  assert.equal(a.language, 'en');
  assert.equal(a.notify_clear, true);
  assert.equal(a.repeat_minutes, 0);
  assert.equal(a.special_notice, false);
  assert.equal(a.check_files, true);
  assert.deepEqual(a.destinations, []);
  assert.equal(a.no_data_minutes, null);
  assert.deepEqual(a.state, { raised: false, event_id: null, since: null });
  assert.match(a.created_at, /^\d{4}-\d\d-\d\dT/);

  const g = await t.c.get(`/api/v1/alarms/${a.id}`);
  assert.equal(g.status, 200);
  assert.deepEqual(g.body, a);

  const l = await t.c.get(`/api/v1/groups/${t.group}/alarms`);
  assert.equal(l.status, 200);
  assert.equal(l.body.total, 1);
  assert.deepEqual(l.body.quota, { id: 'P7', limit: 100, used: 1 });
  assert.deepEqual(l.body.items, [a]);

  // Settings in full.
  const b = await mustCreate(t, { rule: 'CH1 OUTSIDE [10, 20] HYST 0.5', channels: [t.channels[2]],
    severity: 'warning', language: 'ja', notify_clear: false, repeat_minutes: 15,
    special_notice: true, check_files: false, enabled: false });
  assert.equal(b.rule, 'CH1 OUTSIDE [10, 20] HYST 0.5');
  assert.equal(b.severity, 'warning');
  assert.equal(b.language, 'ja');
  assert.equal(b.notify_clear, false);
  assert.equal(b.repeat_minutes, 15);
  assert.equal(b.special_notice, true);
  assert.equal(b.check_files, false);
  assert.equal(b.enabled, false);
  const audit = await sql(`SELECT action FROM audit_log WHERE account_id = ${t.id}
    AND target_type = 'alarm' ORDER BY id`);
  assert.equal(audit, 'alarm.create\nalarm.create');
});

test('a rule core does not accept answers rule_error with the byte position', async () => {
  const t = await groupTenant();
  const cases = [
    ['CH1 > 5 XOR CH2 > 1', 8],
    ['CH1 >', 5],
    ['CH1 OUTSIDE [20, 10]', 12],
    ['', 0],
  ];
  for (const [rule, position] of cases) {
    const r = await create(t, { name: 'x', rule, channels: [t.channels[0]] });
    assert.equal(r.status, 400, rule);
    assert.equal(r.body.code, 'rule_error', rule);
    assert.equal(r.body.field, 'rule', rule);
    assert.equal(r.body.position, position, `${rule}: ${JSON.stringify(r.body)}`);
    assert.ok(r.body.message.length > 5);
  }
  // A rule that names only CH2.
  let r = await create(t, { name: 'x', rule: 'CH2 > 1', channels: [t.channels[0], t.channels[1]] });
  assert.equal(r.status, 400);
  assert.equal(r.body.code, 'rule_error');
  // Longer than core's 1024 bytes.
  r = await create(t, { name: 'x', rule: `CH1 > ${'1'.repeat(1100)}`, channels: [t.channels[0]] });
  assert.equal(r.status, 400);
  assert.equal(await sql(`SELECT count(*) FROM alarm_rules WHERE account_id = ${t.id}`), '0');
});

test('channels: the rule says how many; they belong to the group and, for two, to one app', async () => {
  const t = await groupTenant();
  const other = await groupTenant();
  const bad = async (body, field, re, code = 'invalid_value') => {
    const r = await create(t, { name: 'x', rule: 'CH1 > 1', channels: [t.channels[0]], ...body });
    assert.equal(r.status, 400, JSON.stringify(r.body));
    assert.equal(r.body.code, code, JSON.stringify(r.body));
    assert.equal(r.body.field, field);
    assert.match(r.body.message, re);
  };
  await bad({ rule: 'CH1 > 1 AND CH2 < 3' }, 'channels', /names CH2: give two channels/);
  await bad({ channels: [t.channels[0], t.channels[1]] }, 'channels', /CH1 only: give one/);
  await bad({ channels: [other.channels[0]] }, 'channels', /no such channel|not in this/);
  await bad({ channels: [99999999] }, 'channels', /no such channel \(99999999\)/);
  await bad({ channels: [] }, 'channels', /1 to 2/);
  await bad({ channels: [t.channels[0], t.channels[0]], rule: 'CH1 > 1 OR CH2 > 1' }, 'channels',
    /channels\[1\] is channels\[0\]/, 'duplicate');
  await bad({ channels: ['x'] }, 'channels', /must be an id/, 'wrong_type');
  // A channel of an app outside the group.
  const lone = await dataTenant(srv);
  void lone;
  let r = await t.c.post('/api/v1/apps', { kind: 'lr8450-direct', name: 'Elsewhere' });
  assert.equal(r.status, 201);
  r = await t.c.post(`/api/v1/apps/${r.body.id}/devices`, { model: 'LR8450', serial: uniq('SN') });
  assert.equal(r.status, 201);
  r = await t.c.post(`/api/v1/devices/${r.body.id}/channels`, { key: 'CH1', name: 'x', unit: 'V' });
  assert.equal(r.status, 201);
  const outside = r.body.id;
  await bad({ channels: [outside] }, 'channels', /not in this measurement group/);
  // Two channels of two apps of the group.
  r = await t.c.patch(`/api/v1/apps/${(await sql(`SELECT p.id FROM apps p JOIN devices d ON
    d.app_id = p.id JOIN channels c ON c.device_id = d.id WHERE c.id = ${outside}`))}`,
  { group_id: t.group });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  await bad({ rule: 'CH1 > 1 AND CH2 > 1', channels: [t.channels[0], outside] }, 'channels',
    /same app/);
  // One app: fine.
  await mustCreate(t, { rule: 'CH1 > 1 AND CH2 > 1', channels: [t.channels[0], t.channels[1]] });
  // A computed channel carries a one-channel rule, never a two-channel one.
  r = await t.c.post(`/api/v1/groups/${t.group}/computed`, { name: 'sum', expression: 'CH1+CH2',
    inputs: [t.channels[0], t.channels[1]] });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const cx = r.body.id;
  const a = await mustCreate(t, { rule: 'CH1 > 10', channels: [cx] });
  assert.equal(a.channel_info[0].computed, true);
  await bad({ rule: 'CH1 > 1 AND CH2 > 1', channels: [cx, t.channels[0]] }, 'channels',
    /computed channel has one channel/);
});

test('members and bodies: required, unknown and wrong members change nothing', async () => {
  const t = await groupTenant();
  const cases = [
    [{ rule: 'CH1 > 1', channels: [t.channels[0]] }, 400, 'missing'],
    [{ name: 'x', rule: 'CH1 > 1' }, 400, 'missing'],
    [{ name: 'x', channels: [t.channels[0]] }, 400, 'missing'],
    [{ name: 'x', rule: 'CH1 > 1', channels: [t.channels[0]], colour: 'red' }, 400, 'unknown_field'],
    [{ name: 'x', rule: 'CH1 > 1', channels: [t.channels[0]], severity: 'panic' }, 400, 'invalid_value'],
    [{ name: 'x', rule: 'CH1 > 1', channels: [t.channels[0]], language: 'pt' }, 400, 'invalid_value'],
    [{ name: 'x', rule: 'CH1 > 1', channels: [t.channels[0]], repeat_minutes: -1 }, 400, 'invalid_value'],
    [{ name: 'x', rule: 'CH1 > 1', channels: [t.channels[0]], repeat_minutes: 1.5 }, 400, 'wrong_type'],
    [{ name: 'x', rule: 'CH1 > 1', channels: [t.channels[0]], enabled: 'yes' }, 400, 'wrong_type'],
    [{ name: 'x', rule: 'CH1 > 1', channels: [t.channels[0]], destinations: [5] }, 400, 'invalid_value'],
    [{ name: 'x'.repeat(101), rule: 'CH1 > 1', channels: [t.channels[0]] }, 400, 'too_long'],
    [{ name: '  ', rule: 'CH1 > 1', channels: [t.channels[0]] }, 400, null],
    [{ name: 'x', kind: 'no_data', channels: [t.channels[0]] }, 400, 'missing'],
    [{ name: 'x', kind: 'no_data', no_data_minutes: 0, channels: [t.channels[0]] }, 400, 'invalid_value'],
    [{ name: 'x', kind: 'no_data', no_data_minutes: 5, rule: 'CH1 > 1', channels: [t.channels[0]] }, 400, 'invalid_value'],
    [{ name: 'x', kind: 'sometimes', channels: [t.channels[0]] }, 400, 'invalid_value'],
  ];
  for (const [body, status, code] of cases) {
    const r = await create(t, body);
    assert.equal(r.status, status, JSON.stringify([body, r.body]));
    if (code) assert.equal(r.body.code, code, JSON.stringify([body, r.body]));
  }
  assert.equal(await sql(`SELECT count(*) FROM alarm_rules WHERE account_id = ${t.id}`), '0');
  // An unknown group, another account's group: 404.
  const other = await groupTenant();
  for (const g of [99999999, other.group]) {
    const r = await create(t, { name: 'x', rule: 'CH1 > 1', channels: [t.channels[0]] }, g);
    assert.equal(r.status, 404);
    assert.equal((await t.c.get(`/api/v1/groups/${g}/alarms`)).status, 404);
  }
});

test('a no-data rule watches one channel for N minutes', async () => {
  const t = await groupTenant();
  const a = await mustCreate(t, { kind: 'no_data', no_data_minutes: 15, channels: [t.channels[3]] });
  assert.equal(a.kind, 'no_data');
  assert.equal(a.rule, null);
  assert.equal(a.no_data_minutes, 15);
  const r = await create(t, { name: 'x', kind: 'no_data', no_data_minutes: 5,
    channels: [t.channels[0], t.channels[1]] });
  assert.equal(r.status, 400);
  assert.match(r.body.message, /exactly one channel/);
  // Turned into a condition and back.
  let p = await t.c.patch(`/api/v1/alarms/${a.id}`, { kind: 'condition', rule: 'CH1 < 0' });
  assert.equal(p.status, 200, JSON.stringify(p.body));
  assert.equal(p.body.rule, 'CH1 < 0');
  assert.equal(p.body.no_data_minutes, null);
  p = await t.c.patch(`/api/v1/alarms/${a.id}`, { kind: 'no_data', no_data_minutes: 30 });
  assert.equal(p.status, 200, JSON.stringify(p.body));
  assert.equal(p.body.rule, null);
  assert.equal(p.body.no_data_minutes, 30);
});

test('P7: alarms per group on the plan answer plan_limit, also under concurrency', async () => {
  const t = await groupTenant('free');
  for (let i = 0; i < 3; i++) await mustCreate(t, { rule: `CH1 > ${i}`, channels: [t.channels[0]] });
  let r = await create(t, { name: 'fourth', rule: 'CH1 > 9', channels: [t.channels[0]] });
  assert.equal(r.status, 403, JSON.stringify(r.body));
  assert.equal(r.body.code, 'plan_limit');
  assert.equal(r.body.quota, 'P7');
  assert.equal(r.body.limit, 3);
  assert.equal(r.body.plan, 'free');
  const usage = (await t.c.get('/api/v1/account')).body.usage.find((x) => x.quota === 'P7');
  assert.deepEqual([usage.used, usage.limit], [3, 3]);
  const first = (await t.c.get(`/api/v1/groups/${t.group}/alarms`)).body.items[0];
  r = await t.c.post(`/api/v1/alarms/${first.id}/copy`, {});
  assert.equal(r.status, 403);
  assert.equal(r.body.code, 'plan_limit');
  // Another group of the account has its own three (a Free account has one
  // group, so use Standard for that: 30 per group).
  const s = await groupTenant('standard');
  const results = await Promise.all(Array.from({ length: 35 }, (_, i) =>
    create(s, { name: `c${i}`, rule: 'CH1 > 1', channels: [s.channels[0]] })));
  assert.equal(results.filter((x) => x.status === 201).length, 30);
  assert.ok(results.filter((x) => x.status !== 201).every((x) => x.body.code === 'plan_limit'));
  assert.equal(await sql(`SELECT count(*) FROM alarm_rules WHERE account_id = ${s.id}`), '30');
});

test('edit, enable/disable, copy and delete, with their audit entries', async () => {
  const t = await groupTenant();
  const a = await mustCreate(t, { name: 'Tank', rule: 'CH1 > 30', channels: [t.channels[0]] });
  let r = await t.c.patch(`/api/v1/alarms/${a.id}`, { name: 'Tank level', language: 'de',
    repeat_minutes: 5 });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.name, 'Tank level');
  assert.equal(r.body.language, 'de');
  assert.equal(r.body.repeat_minutes, 5);
  assert.equal(r.body.rule, 'CH1 > 30');
  r = await t.c.patch(`/api/v1/alarms/${a.id}`, { enabled: false });
  assert.equal(r.body.enabled, false);
  r = await t.c.patch(`/api/v1/alarms/${a.id}`, { enabled: true, rule: 'CH1 >= 31 FOR 2m' });
  assert.equal(r.body.enabled, true);
  assert.equal(r.body.rule, 'CH1 >= 31 FOR 2m');
  r = await t.c.patch(`/api/v1/alarms/${a.id}`, { rule: 'CH1 > ' });
  assert.equal(r.status, 400);
  assert.equal(r.body.code, 'rule_error');
  assert.equal((await t.c.get(`/api/v1/alarms/${a.id}`)).body.rule, 'CH1 >= 31 FOR 2m');

  r = await t.c.post(`/api/v1/alarms/${a.id}/copy`, {});
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.name, 'Tank level (copy)');
  assert.equal(r.body.rule, 'CH1 >= 31 FOR 2m');
  assert.notEqual(r.body.id, a.id);
  const copy = r.body.id;
  r = await t.c.post(`/api/v1/alarms/${a.id}/copy`, { name: 'Tank 2' });
  assert.equal(r.body.name, 'Tank 2');
  r = await t.c.post(`/api/v1/alarms/${a.id}/copy`, { name: 'x', rule: 'CH1 > 1' });
  assert.equal(r.status, 400);
  assert.equal(r.body.code, 'unknown_field');
  const long = await mustCreate(t, { name: 'L'.repeat(100), rule: 'CH1 > 1', channels: [t.channels[0]] });
  r = await t.c.post(`/api/v1/alarms/${long.id}/copy`, {});
  assert.equal(r.status, 201);
  assert.equal([...r.body.name].length, 100);
  assert.ok(r.body.name.endsWith(' (copy)'));

  r = await t.c.del(`/api/v1/alarms/${copy}`);
  assert.equal(r.status, 200);
  assert.deepEqual(r.body, { id: copy, deleted: true });
  assert.equal((await t.c.get(`/api/v1/alarms/${copy}`)).status, 404);
  assert.equal((await t.c.del(`/api/v1/alarms/${copy}`)).status, 404);
  const audit = await sql(`SELECT string_agg(action, ',' ORDER BY id) FROM audit_log
    WHERE account_id = ${t.id} AND target_type = 'alarm'`);
  assert.match(audit, /^alarm\.create,alarm\.update,alarm\.update,alarm\.update,alarm\.copy,alarm\.copy,alarm\.create,alarm\.copy,alarm\.delete$/);
  // Deleting a channel deletes its rules.
  r = await t.c.del(`/api/v1/channels/${t.channels[0]}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(await sql(`SELECT count(*) FROM alarm_rules WHERE account_id = ${t.id}`), '0');
});

test('members: view reads, edit changes; other accounts see nothing', async () => {
  const t = await groupTenant();
  const a = await mustCreate(t, { rule: 'CH1 > 30', channels: [t.channels[0]] });
  const mk = async (user) => {
    const { userId } = await createUser(srv.url, { accountId: t.id, user, password: PW, role: 'member',
      email: `${user}@${t.account}.test` });
    return { userId, c: await login(srv.url, { account: t.account, user, password: PW }) };
  };
  const none = await mk('nobody');
  const viewer = await mk('viewer');
  const editor = await mk('editor');
  let r = await t.c.put(`/api/v1/groups/${t.group}/access`, { users: [
    { user_id: viewer.userId, access: 'view' }, { user_id: editor.userId, access: 'edit' }], teams: [] });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const v = viewer.c;
  const ed = editor.c;
  assert.equal((await none.c.get(`/api/v1/alarms/${a.id}`)).status, 404);
  assert.equal((await none.c.get(`/api/v1/groups/${t.group}/alarms`)).status, 404);
  assert.equal((await v.get(`/api/v1/alarms/${a.id}`)).status, 200);
  assert.equal((await v.get(`/api/v1/groups/${t.group}/alarms`)).status, 200);
  r = await v.patch(`/api/v1/alarms/${a.id}`, { name: 'mine' });
  assert.equal(r.status, 403);
  assert.equal(r.body.code, 'forbidden');
  assert.equal((await v.post(`/api/v1/groups/${t.group}/alarms`, { name: 'x', rule: 'CH1 > 1',
    channels: [t.channels[0]] })).status, 403);
  assert.equal((await v.del(`/api/v1/alarms/${a.id}`)).status, 403);
  assert.equal((await ed.patch(`/api/v1/alarms/${a.id}`, { name: 'edited' })).status, 200);
  assert.equal((await ed.post(`/api/v1/alarms/${a.id}/copy`, {})).status, 201);

  const other = await groupTenant();
  assert.equal((await other.c.get(`/api/v1/alarms/${a.id}`)).status, 404);
  assert.equal((await other.c.patch(`/api/v1/alarms/${a.id}`, { name: 'x' })).status, 404);
  assert.equal((await other.c.del(`/api/v1/alarms/${a.id}`)).status, 404);
  assert.equal((await other.c.post(`/api/v1/alarms/${a.id}/copy`, {})).status, 404);
  assert.equal((await t.c.get('/api/v1/alarms/abc')).status, 404);
});
