// Dashboards (B1-B3, M6, P9, P2; docs/dashboards.md) over HTTP against a
// real PostgreSQL: create, rename, copy, delete; every refusal of the panel
// list with the member it names; P9 per plan (and two creations at once);
// rights and tenant isolation; the version check; a panel added from the
// monitor; pictures once per account, counted against P2 (and refused past
// it); and the one request of a refresh: its samples equal to what was
// ingested, the reduced windows equal to core's statistics of the summary
// route, "since", computed channels previewed, latest and special values,
// the alarm summary, channels that left the group.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createAccount, createUser, login, request, startStack, stopStack } from './harness.mjs';
import { PW, dataTenant, uniq, MIN_US } from './data_helpers.mjs';
import { makePng, f64, seriesTimes, seriesValues } from './pictures.mjs';

const OPS_TOKEN = 'o'.repeat(20) + '-operator-token-dashboards';
let pg;
let srv;
let db;
const sql = (q) => pg.psql(q, db);

before(async () => {
  // A long compactor interval: the tests fold explicitly with /test/compact.
  // The operator's token: its account figures count pictures too.
  ({ pg, srv, db } = await startStack({ env: { METRON_COMPACT_MS: '3600000', METRON_OPS_TOKEN: OPS_TOKEN } }));
});

after(() => stopStack({ pg, srv }));

const compact = async () => {
  const r = await request(srv.url, 'POST', '/api/v1/test/compact');
  assert.equal(r.status, 200, JSON.stringify(r.body));
};

/** dataTenant + a measurement group holding its app: adds { group }. */
async function groupTenant(plan = 'pro', n = 4) {
  const t = await dataTenant(srv, { plan, n, selected: plan === 'trial' ? 0 : n });
  let r = await t.c.post('/api/v1/groups', { name: uniq('Site') });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  t.group = r.body.id;
  r = await t.c.patch(`/api/v1/apps/${t.appId}`, { group_id: t.group });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return t;
}

const panel = (o) => ({ x: 0, y: 0, w: 6, h: 4, ...o });

async function mustCreate(t, body, group = t.group) {
  const r = await t.c.post(`/api/v1/groups/${group}/dashboards`, { name: uniq('Board'), ...body });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body;
}

async function uploadPicture(c, bytes, name = 'plan.png') {
  return c.post(`/api/v1/dashboard-pictures?name=${encodeURIComponent(name)}`, bytes,
    { 'content-type': 'image/png' });
}

test('a dashboard is created, listed, renamed, laid out, copied and deleted', async () => {
  const t = await groupTenant();
  let r = await t.c.post(`/api/v1/groups/${t.group}/dashboards`, { name: 'Boiler room' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const d = r.body;
  assert.equal(d.name, 'Boiler room');
  assert.equal(d.group_id, t.group);
  assert.deepEqual(d.panels, []);
  assert.equal(d.version, 1);
  assert.equal(d.can_edit, true);

  r = await t.c.get(`/api/v1/groups/${t.group}/dashboards`);
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.quota, { id: 'P9', limit: 10, used: 1 });
  assert.equal(r.body.can_edit, true);
  assert.deepEqual(r.body.items.map((i) => [i.id, i.name, i.panel_count]), [[d.id, 'Boiler room', 0]]);

  // Panels of every kind, canonical on the way back (ids made, defaults,
  // members of other kinds left out, colours in lower case).
  const pic = await uploadPicture(t.c, makePng(64, 48));
  assert.equal(pic.status, 201, JSON.stringify(pic.body));
  const panels = [
    { kind: 'graph_value', x: 0, y: 0, w: 6, h: 4, channels: [t.channels[0], t.channels[1]], window: 'week', title: 'Temperatures' },
    { kind: 'graph', x: 6, y: 0, w: 6, h: 4, channels: [t.channels[2]], picture_id: pic.body.id },
    { id: 'v', kind: 'value', x: 0, y: 4, w: 3, h: 2, channels: [t.channels[0]], window: 'hour' },
    { kind: 'picture', x: 3, y: 4, w: 3, h: 2, picture_id: pic.body.id },
    { kind: 'image_values', x: 6, y: 4, w: 6, h: 5, picture_id: pic.body.id,
      values: [{ channel_id: t.channels[0], x: 0.25, y: 0.5, colour: '#FF8800', size: 30, decimals: 2, unit: 'degC' }] },
    { kind: 'alarm', x: 0, y: 6, w: 4, h: 3 },
  ];
  r = await t.c.patch(`/api/v1/dashboards/${d.id}`, { name: 'Boiler room 2', panels, version: 1 });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.version, 2);
  assert.equal(r.body.name, 'Boiler room 2');
  const got = r.body.panels;
  assert.deepEqual(got.map((p) => p.id), ['p1', 'p2', 'v', 'p3', 'p4', 'p5']);
  assert.equal(got[1].window, 'day');
  assert.equal(got[1].picture_id, undefined);
  assert.equal(got[2].window, undefined);
  assert.deepEqual(got[4].values, [{ channel_id: t.channels[0], x: 0.25, y: 0.5, size: 30, colour: '#ff8800',
    decimals: 2, unit: 'degC', show_name: false }]);
  assert.deepEqual(Object.keys(got[5]).sort(), ['h', 'id', 'kind', 'title', 'w', 'x', 'y']);

  // A stale version is refused and changes nothing.
  r = await t.c.patch(`/api/v1/dashboards/${d.id}`, { name: 'Stale', version: 1 });
  assert.equal(r.status, 409);
  assert.equal(r.body.code, 'version_conflict');
  assert.equal((await t.c.get(`/api/v1/dashboards/${d.id}`)).body.name, 'Boiler room 2');

  r = await t.c.post(`/api/v1/dashboards/${d.id}/copy`, {});
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.name, 'Boiler room 2 (copy)');
  assert.deepEqual(r.body.panels, got);
  const copy = r.body;
  r = await t.c.post(`/api/v1/dashboards/${d.id}/copy`, { name: 'Night shift' });
  assert.equal(r.body.name, 'Night shift');

  r = await t.c.del(`/api/v1/dashboards/${copy.id}`);
  assert.deepEqual(r.body, { id: copy.id, deleted: true });
  assert.equal((await t.c.get(`/api/v1/dashboards/${copy.id}`)).status, 404);
  assert.equal((await t.c.get(`/api/v1/groups/${t.group}/dashboards`)).body.total, 2);
  assert.equal(await sql(`SELECT count(*) FROM audit_log WHERE account_id = ${t.id} AND action LIKE 'dashboard.%'`), '5');

  // A long name's copy is cut to 100 characters, on a character.
  const long = 'Ü'.repeat(100);
  r = await t.c.patch(`/api/v1/dashboards/${d.id}`, { name: long });
  r = await t.c.post(`/api/v1/dashboards/${d.id}/copy`, {});
  assert.equal(r.body.name, `${'Ü'.repeat(93)} (copy)`);
});

test('every wrong panel list is refused with the member it names, and nothing changes', async () => {
  const t = await groupTenant();
  const other = await groupTenant();
  // A second group of the same account with its own channel.
  let r = await t.c.post('/api/v1/groups', { name: uniq('Elsewhere') });
  const group2 = r.body.id;
  r = await t.c.post('/api/v1/computed'.replace('/computed', `/groups/${group2}/computed`),
    { name: 'x', expression: 'CH1', inputs: [t.channels[0]] });
  const d = await mustCreate(t, { panels: [panel({ kind: 'value', channels: [t.channels[0]] })] });
  const pic = (await uploadPicture(other.c, makePng(8, 8))).body;
  const cases = [
    [{ panels: {} }, 'wrong_type', 'panels'],
    [{ panels: [panel({ kind: 'gauge' })] }, 'invalid_value', 'panels[0].kind'],
    [{ panels: [{ kind: 'alarm', x: 0, w: 2, h: 2 }] }, 'missing', 'panels[0].y'],
    [{ panels: [panel({ kind: 'alarm', x: 8, w: 6 })] }, 'invalid_value', 'panels[0].w'],
    [{ panels: [panel({ kind: 'alarm', h: 25 })] }, 'invalid_value', 'panels[0].h'],
    [{ panels: [panel({ kind: 'alarm', x: 1.5 })] }, 'wrong_type', 'panels[0].x'],
    [{ panels: [panel({ kind: 'alarm', colour: 'red' })] }, 'unknown_field', 'panels[0].colour'],
    [{ panels: [panel({ kind: 'alarm', id: 'a b' })] }, 'invalid_value', 'panels[0].id'],
    [{ panels: [panel({ kind: 'alarm', title: 'x'.repeat(101) })] }, 'too_long', 'panels[0].title'],
    [{ panels: [panel({ kind: 'alarm', title: 'a\u0007b' })] }, 'invalid_value', 'panels[0].title'],
    [{ panels: [panel({ kind: 'graph' })] }, 'missing', 'panels[0].channels'],
    [{ panels: [panel({ kind: 'graph', channels: [] })] }, 'invalid_value', 'panels[0].channels'],
    [{ panels: [panel({ kind: 'graph', channels: [1, 2, 3, 4, 5, 6, 7, 8, 9] })] }, 'too_many', 'panels[0].channels'],
    [{ panels: [panel({ kind: 'graph', channels: [t.channels[0], t.channels[0]] })] }, 'duplicate', 'panels[0].channels'],
    [{ panels: [panel({ kind: 'graph', channels: ['1'] })] }, 'wrong_type', 'panels[0].channels'],
    [{ panels: [panel({ kind: 'graph', channels: [t.channels[0]], window: 'month' })] }, 'invalid_value', 'panels[0].window'],
    [{ panels: [panel({ kind: 'graph', channels: [other.channels[0]] })] }, 'invalid_value', 'panels[0].channels'],
    [{ panels: [panel({ kind: 'graph', channels: [987654321] })] }, 'invalid_value', 'panels[0].channels'],
    [{ panels: [panel({ kind: 'picture' })] }, 'missing', 'panels[0].picture_id'],
    [{ panels: [panel({ kind: 'picture', picture_id: pic.id })] }, 'invalid_value', 'panels[0].picture_id'],
    [{ panels: [panel({ kind: 'alarm', channels: [t.channels[0]] })] }, 'invalid_value', 'panels[0].channels'],
    [{ panels: [panel({ kind: 'alarm' }), panel({ kind: 'alarm', x: 5 })] }, 'overlap', 'panels[1]'],
    [{ panels: [panel({ kind: 'alarm', id: 'a' }), panel({ kind: 'alarm', id: 'a', y: 4 })] }, 'duplicate', 'panels[1].id'],
    [{ panels: Array.from({ length: 41 }, (_, i) => panel({ kind: 'alarm', y: 4 * i })) }, 'too_many', 'panels'],
  ];
  const vp = (v) => ({ panels: [panel({ kind: 'image_values', picture_id: 1, values: [{ channel_id: t.channels[0], x: 0, y: 0, ...v }] })] });
  cases.push([vp({ x: 1.5 }), 'invalid_value', 'panels[0].values[0].x']);
  cases.push([vp({ colour: '#12345' }), 'invalid_value', 'panels[0].values[0].colour']);
  cases.push([vp({ size: 7 }), 'invalid_value', 'panels[0].values[0].size']);
  cases.push([vp({ decimals: 10 }), 'invalid_value', 'panels[0].values[0].decimals']);
  cases.push([vp({ unit: 'x'.repeat(17) }), 'too_long', 'panels[0].values[0].unit']);
  cases.push([vp({ show_name: 'yes' }), 'wrong_type', 'panels[0].values[0].show_name']);
  cases.push([vp({ channel_id: null }), 'missing', 'panels[0].values[0].channel_id']);
  cases.push([vp({ font: 'Arial' }), 'unknown_field', 'panels[0].values[0].font']);
  // 65 different channels on one dashboard.
  const many = Array.from({ length: 9 }, (_, i) => panel({ kind: 'graph', y: 4 * i,
    channels: Array.from({ length: 8 }, (__, k) => t.channels[0] + 1000 + 8 * i + k) }));
  cases.push([{ panels: many }, 'too_many', 'panels']);
  for (const [body, code, field] of cases) {
    r = await t.c.patch(`/api/v1/dashboards/${d.id}`, body);
    assert.equal(r.status, 400, `${JSON.stringify(body).slice(0, 200)} -> ${JSON.stringify(r.body)}`);
    assert.equal(r.body.code, code, JSON.stringify(r.body));
    assert.equal(r.body.field, field, JSON.stringify(r.body));
    assert.ok(r.body.message.length > 10);
  }
  // The same refusals on creation; nothing was changed or made.
  r = await t.c.post(`/api/v1/groups/${t.group}/dashboards`, { name: 'x', panels: [panel({ kind: 'gauge' })] });
  assert.equal(r.status, 400);
  for (const body of [{}, { name: '' }, { name: '  ' }, { name: 'x'.repeat(101) }, { name: 'a', extra: 1 },
    { name: 'a', version: 1 }]) {
    r = await t.c.post(`/api/v1/groups/${t.group}/dashboards`, body);
    assert.equal(r.status, 400, JSON.stringify(body));
  }
  r = await t.c.get(`/api/v1/dashboards/${d.id}`);
  assert.equal(r.body.version, 1);
  assert.equal(r.body.panels.length, 1);
  assert.equal((await t.c.get(`/api/v1/groups/${t.group}/dashboards`)).body.total, 1);
  // A channel of the group's computed channels is a channel of the group.
  r = await t.c.post(`/api/v1/groups/${t.group}/computed`, { name: 'Sum', expression: 'CH1+CH2',
    inputs: [t.channels[0], t.channels[1]] });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const x1 = r.body.id;
  r = await t.c.patch(`/api/v1/dashboards/${d.id}`, { panels: [panel({ kind: 'graph', channels: [x1] })] });
  assert.equal(r.status, 200, JSON.stringify(r.body));
});

/** An account of "plan" with one measurement group and no app: { id, c, group }. */
async function bareTenant(plan) {
  const account = uniq('bare');
  const { accountId } = await createAccount(srv.url, { account, plan, user: 'admin', password: PW,
    email: `admin@${account}.test` });
  const c = await login(srv.url, { account, user: 'admin', password: PW });
  const r = await c.post('/api/v1/groups', { name: uniq('Site') });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return { id: accountId, c, group: r.body.id };
}

test('P9: dashboards per group by plan, also with two creations at once', async () => {
  for (const [plan, limit] of [['trial', 0], ['free', 1], ['standard', 3]]) {
    const t = await bareTenant(plan);
    for (let i = 0; i < limit; i++) await mustCreate(t, {});
    const r = await t.c.post(`/api/v1/groups/${t.group}/dashboards`, { name: 'one more' });
    assert.equal(r.status, 403, `${plan}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.code, 'plan_limit');
    assert.equal(r.body.quota, 'P9');
    assert.equal(r.body.limit, limit);
    assert.equal(r.body.plan, plan);
    const l = await t.c.get(`/api/v1/groups/${t.group}/dashboards`);
    assert.deepEqual(l.body.quota, { id: 'P9', limit, used: limit });
    if (limit > 0) {
      const c = await t.c.post(`/api/v1/dashboards/${l.body.items[0].id}/copy`, {});
      assert.equal(c.status, 403);
      assert.equal(c.body.quota, 'P9');
    }
  }
  // Per group: another group of a Standard account has its own three.
  const s = await bareTenant('standard');
  const g2 = (await s.c.post('/api/v1/groups', { name: uniq('G') })).body.id;
  for (let i = 0; i < 3; i++) await mustCreate(s, {}, g2);
  await mustCreate(s, {});
  // Free, twice at once: one is made.
  const f = await bareTenant('free');
  const both = await Promise.all([1, 2].map((i) => f.c.post(`/api/v1/groups/${f.group}/dashboards`, { name: `n${i}` })));
  assert.deepEqual(both.map((x) => x.status).sort(), [201, 403]);
  assert.equal(await sql(`SELECT count(*) FROM dashboards WHERE account_id = ${f.id}`), '1');
});

test('members: view reads, edit changes; other accounts and ungranted groups see nothing', async () => {
  const t = await groupTenant();
  const d = await mustCreate(t, { panels: [panel({ kind: 'value', channels: [t.channels[0]] })] });
  const viewer = uniq('viewer');
  const editor = uniq('editor');
  const outsider = uniq('outsider');
  const users = {};
  for (const u of [viewer, editor, outsider]) {
    users[u] = (await createUser(srv.url, { accountId: t.id, user: u, password: PW, role: 'member' })).userId;
  }
  let r = await t.c.put(`/api/v1/groups/${t.group}/access`, { users: [
    { user_id: users[viewer], access: 'view' }, { user_id: users[editor], access: 'edit' }] });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const v = await login(srv.url, { account: t.account, user: viewer, password: PW });
  const ed = await login(srv.url, { account: t.account, user: editor, password: PW });
  const out = await login(srv.url, { account: t.account, user: outsider, password: PW });

  r = await v.get(`/api/v1/dashboards/${d.id}`);
  assert.equal(r.status, 200);
  assert.equal(r.body.can_edit, false);
  assert.equal((await v.get(`/api/v1/groups/${t.group}/dashboards`)).body.can_edit, false);
  assert.equal((await v.get(`/api/v1/dashboards/${d.id}/data`)).status, 200);
  for (const [m, p, b] of [['patch', `/api/v1/dashboards/${d.id}`, { name: 'x' }], ['del', `/api/v1/dashboards/${d.id}`],
    ['post', `/api/v1/dashboards/${d.id}/copy`, {}], ['post', `/api/v1/groups/${t.group}/dashboards`, { name: 'x' }],
    ['post', `/api/v1/dashboards/${d.id}/panels`, { panel: { kind: 'alarm' } }]]) {
    r = await v[m](p, b);
    assert.equal(r.status, 403, `${m} ${p}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.code, 'forbidden');
  }
  // A view-only member may not upload pictures either (no group to edit).
  r = await uploadPicture(v, makePng(4, 4));
  assert.equal(r.status, 403);
  assert.equal((await v.get('/api/v1/dashboard-pictures')).status, 403);

  r = await ed.patch(`/api/v1/dashboards/${d.id}`, { name: 'By the editor' });
  assert.equal(r.status, 200);
  assert.equal(r.body.can_edit, true);
  assert.equal((await uploadPicture(ed, makePng(4, 4))).status, 201);

  for (const c of [out, (await groupTenant()).c]) {
    for (const [m, p, b] of [['get', `/api/v1/dashboards/${d.id}`], ['get', `/api/v1/dashboards/${d.id}/data`],
      ['patch', `/api/v1/dashboards/${d.id}`, { name: 'x' }], ['del', `/api/v1/dashboards/${d.id}`],
      ['post', `/api/v1/dashboards/${d.id}/copy`, {}], ['get', `/api/v1/groups/${t.group}/dashboards`],
      ['post', `/api/v1/groups/${t.group}/dashboards`, { name: 'x' }]]) {
      r = await c[m](p, b);
      assert.equal(r.status, 404, `${m} ${p}: ${JSON.stringify(r.body)}`);
    }
  }
  assert.equal((await t.c.get(`/api/v1/dashboards/${d.id}`)).body.name, 'By the editor');
  for (const p of ['/api/v1/dashboards/0', '/api/v1/dashboards/abc', '/api/v1/dashboards/99999999999']) {
    assert.equal((await t.c.get(p)).status, 404, p);
  }
});

test('M6: a panel added from the monitor takes the first free place of the grid', async () => {
  const t = await groupTenant();
  const d = await mustCreate(t, { panels: [panel({ kind: 'alarm', w: 4, h: 3 }), panel({ kind: 'alarm', x: 4, h: 5 })] });
  let r = await t.c.post(`/api/v1/dashboards/${d.id}/panels`, { panel: { kind: 'value', channels: [t.channels[1]] } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const added = r.body.panels[2];
  assert.deepEqual([added.id, added.x, added.y, added.w, added.h], ['p3', 0, 3, 3, 2]);
  assert.deepEqual(added.channels, [t.channels[1]]);
  assert.equal(r.body.version, 2);
  r = await t.c.post(`/api/v1/dashboards/${d.id}/panels`, { panel: { kind: 'graph', channels: [t.channels[1]], window: 'hour', title: 'Flow' } });
  assert.deepEqual([r.body.panels[3].x, r.body.panels[3].y, r.body.panels[3].w, r.body.panels[3].window], [0, 5, 6, 'hour']);
  // Refusals name "panel".
  r = await t.c.post(`/api/v1/dashboards/${d.id}/panels`, { panel: { kind: 'value', channels: [98765432] } });
  assert.equal(r.status, 400);
  assert.equal(r.body.field, 'panel');
  r = await t.c.post(`/api/v1/dashboards/${d.id}/panels`, { panel: { kind: 'value' } });
  assert.equal(r.body.field, 'panel.channels');
  r = await t.c.post(`/api/v1/dashboards/${d.id}/panels`, { panel: { kind: 'alarm', x: 0, y: 0 } });
  assert.equal(r.body.code, 'overlap');
  r = await t.c.post(`/api/v1/dashboards/${d.id}/panels`, {});
  assert.equal(r.body.code, 'missing');
  assert.equal((await t.c.get(`/api/v1/dashboards/${d.id}`)).body.panels.length, 4);
});

test('pictures: once per account, served with their type, counted against P2 and refused past it', async () => {
  const t = await groupTenant('free');
  const png = makePng(300, 200);
  const storageUsed = async () => (await t.c.get('/api/v1/account')).body.usage.find((u) => u.quota === 'P2').used;
  const usedBefore = await storageUsed();
  let r = await uploadPicture(t.c, png, 'Site plan.png');
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const pic = r.body;
  assert.deepEqual([pic.content_type, pic.width, pic.height, pic.size, pic.name, pic.used_by],
    ['image/png', 300, 200, png.length, 'Site plan.png', 0]);
  // The same bytes again: the same picture, counted once.
  r = await uploadPicture(t.c, png, 'another name.png');
  assert.equal(r.status, 200);
  assert.equal(r.body.id, pic.id);
  assert.equal(await sql(`SELECT count(*) FROM dashboard_pictures WHERE account_id = ${t.id}`), '1');
  assert.equal(await sql(`SELECT picture_bytes FROM account_storage WHERE account_id = ${t.id}`), String(png.length));
  assert.equal(await storageUsed(), usedBefore + png.length);
  // The operator's view of the account counts it the same (P2).
  const ops = await request(srv.url, 'GET', `/api/v1/ops/accounts/${t.id}`, { headers: { authorization: `Bearer ${OPS_TOKEN}` } });
  assert.equal(ops.status, 200, JSON.stringify(ops.body));
  assert.equal(ops.body.storage.used, usedBefore + png.length);
  // Another account stores its own copy.
  const o = await groupTenant();
  assert.equal((await uploadPicture(o.c, png)).status, 201);

  r = await request(srv.url, 'GET', `/api/v1/dashboard-pictures/${pic.id}/content?v=${pic.sha256}`,
    { headers: { cookie: `metron_session=${t.c.cookie}` } });
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], 'image/png');
  assert.equal(r.headers['x-content-type-options'], 'nosniff');
  assert.match(r.headers['cache-control'], /immutable/);
  assert.equal(r.headers.etag, `"${pic.sha256}"`);
  r = await request(srv.url, 'GET', `/api/v1/dashboard-pictures/${pic.id}/content`,
    { headers: { cookie: `metron_session=${t.c.cookie}`, 'if-none-match': `"${pic.sha256}"` } });
  assert.equal(r.status, 304);
  assert.equal((await o.c.get(`/api/v1/dashboard-pictures/${pic.id}/content`)).status, 404);
  assert.equal((await o.c.del(`/api/v1/dashboard-pictures/${pic.id}`)).status, 404);

  // Not pictures, too large, damaged.
  for (const [bytes, status, code] of [[Buffer.from('hello, world'), 400, 'not_a_picture'],
    [png.subarray(0, 20), 400, 'not_a_picture'], [Buffer.alloc(0), 400, 'not_a_picture'],
    [Buffer.concat([png, Buffer.alloc(5 * 1024 * 1024)]), 413, 'too_large']]) {
    r = await uploadPicture(t.c, bytes);
    assert.equal(r.status, status, JSON.stringify(r.body));
    assert.equal(r.body.code, code);
  }
  const gif = Buffer.concat([Buffer.from('GIF89a'), Buffer.from([20, 0, 10, 0]), Buffer.alloc(30)]);
  r = await uploadPicture(t.c, gif, 'x.gif');
  assert.deepEqual([r.status, r.body.content_type, r.body.width, r.body.height], [201, 'image/gif', 20, 10]);

  // In use: kept; unused: deleted and its bytes given back.
  const d = await mustCreate(t, { panels: [panel({ kind: 'picture', picture_id: pic.id })] });
  r = await t.c.del(`/api/v1/dashboard-pictures/${pic.id}`);
  assert.equal(r.status, 409);
  assert.equal(r.body.code, 'in_use');
  r = await t.c.get('/api/v1/dashboard-pictures');
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.items.map((p) => [p.id, p.used_by]), [[r.body.items[0].id, 0], [pic.id, 1]]);
  assert.equal(r.body.storage.picture_bytes, png.length + gif.length);
  r = await t.c.del(`/api/v1/dashboard-pictures/${r.body.items[0].id}`);
  assert.equal(r.status, 200);
  assert.equal(await sql(`SELECT picture_bytes FROM account_storage WHERE account_id = ${t.id}`), String(png.length));
  // A picture no dashboard shows any more goes an hour after its upload.
  await sql(`UPDATE dashboard_pictures SET created_at = now() - interval '2 hours' WHERE account_id = ${t.id}`);
  await t.c.patch(`/api/v1/dashboards/${d.id}`, { panels: [] });
  assert.equal(await sql(`SELECT count(*) FROM dashboard_pictures WHERE account_id = ${t.id}`), '0');
  assert.equal(await sql(`SELECT picture_bytes FROM account_storage WHERE account_id = ${t.id}`), '0');

  // P2: refused when it does not fit, with the quota, nothing kept.
  r = await request(srv.url, 'POST', '/api/v1/test/storage', { body: { account_id: t.id, data_bytes: 5e9 - 1000 } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  r = await uploadPicture(t.c, makePng(200, 200, (x, y) => [x % 256, y % 256, (x * y) % 256]));
  assert.equal(r.status, 413, JSON.stringify(r.body));
  assert.deepEqual([r.body.code, r.body.quota, r.body.limit, r.body.plan], ['plan_limit', 'P2', 5e9, 'free']);
  assert.equal(await sql(`SELECT count(*) FROM dashboard_pictures WHERE account_id = ${t.id}`), '0');
  r = await uploadPicture(t.c, makePng(2, 2));
  assert.equal(r.status, 201, 'a small one still fits');
});

test('the refresh: a week of samples as stored, the latest values, since, previewed computed channels', async () => {
  const t = await groupTenant('pro', 4);
  const now = Date.now() * 1000;
  const end = now - (now % MIN_US) - MIN_US;
  const n = 7 * 1440;
  const times = Array.from({ length: n }, (_, i) => end - (n - 1 - i) * MIN_US);
  const v1 = times.map((_, i) => (i === n - 3 ? 'break' : (Math.round(1000 * Math.sin(i / 100)) / 100) || 0));
  const v2 = times.map((_, i) => (i % 500 === 7 ? '+over' : i / 4));
  for (let i = 0; i < n; i += 5000) {
    const r = await t.ingest.batch({ batch_id: uniq('b'), channels: [
      { id: t.channels[0], t: times.slice(i, i + 5000), v: v1.slice(i, i + 5000) },
      { id: t.channels[1], t: times.slice(i, i + 5000), v: v2.slice(i, i + 5000) }] });
    assert.equal(r.status, 201, JSON.stringify(r.body));
  }
  await compact();
  let r = await t.c.post(`/api/v1/groups/${t.group}/computed`, { name: 'Sum', unit: 'V', expression: 'CH1+CH2',
    inputs: [t.channels[0], t.channels[1]] });
  const x1 = r.body.id;
  const d = await mustCreate(t, { panels: [
    panel({ kind: 'graph_value', channels: [t.channels[0], t.channels[1]], window: 'week' }),
    panel({ kind: 'graph', x: 6, channels: [x1], window: 'day' }),
    panel({ kind: 'value', y: 4, w: 3, h: 2, channels: [t.channels[2]] }),
  ] });
  r = await t.c.get(`/api/v1/dashboards/${d.id}/data`);
  assert.equal(r.status, 200, JSON.stringify(r.body).slice(0, 300));
  const data = r.body;
  assert.equal(data.dashboard.id, d.id);
  assert.equal(data.alarm_summary, null);
  assert.deepEqual(data.missing_channels, []);
  assert.ok(Math.abs(data.now - Date.now() * 1000) < 60e6);
  assert.equal(data.windows.week.to - data.windows.week.from, 7 * 86400e6);
  const byId = new Map(data.channels.map((c) => [c.id, c]));
  const c1 = byId.get(t.channels[0]);
  assert.equal(c1.series.length, 1);
  const s1 = c1.series[0];
  assert.deepEqual([s1.window, s1.reduced, s1.partial], ['week', false, false]);
  const want = times.filter((x) => x >= data.windows.week.from);
  assert.equal(s1.n, want.length);
  assert.ok(s1.t_runs, 'regular one-minute samples come as runs');
  assert.deepEqual(seriesTimes(s1), want);
  assert.deepEqual(seriesValues(s1), v1.slice(n - want.length));
  assert.deepEqual(c1.latest, { t: end, v: v1[n - 1] });
  assert.deepEqual(seriesValues(byId.get(t.channels[1]).series[0]).filter((x) => x === '+over').length,
    v2.slice(n - want.length).filter((x) => x === '+over').length);
  // The computed channel is previewed: no series of its own, its inputs are there.
  const cx = byId.get(x1);
  assert.deepEqual([cx.computed, cx.preview, cx.expression, cx.inputs, cx.series.length],
    [true, true, 'CH1+CH2', [t.channels[0], t.channels[1]], 0]);
  // A value panel's channel: its latest value only (nothing stored: null).
  assert.deepEqual([byId.get(t.channels[2]).latest, byId.get(t.channels[2]).series], [null, []]);
  // The dashboard is left out when the client has its version.
  r = await t.c.get(`/api/v1/dashboards/${d.id}/data?version=${d.version}`);
  assert.equal(r.body.dashboard, undefined);

  // New samples (hot, not folded) and since: only what is new.
  const t2 = end + MIN_US;
  r = await t.ingest.batch({ batch_id: uniq('b'), channels: [
    { id: t.channels[0], t: [t2], v: [42.5] }, { id: t.channels[1], t: [t2], v: ['-over'] },
    { id: t.channels[2], t: [t2], v: ['missing'] }] });
  assert.equal(r.status, 201);
  r = await t.c.get(`/api/v1/dashboards/${d.id}/data?since=${end}&version=${d.version}`);
  const inc = new Map(r.body.channels.map((c) => [c.id, c]));
  const s = inc.get(t.channels[0]).series[0];
  assert.deepEqual([s.partial, s.from, s.n], [true, end, 2]);
  assert.deepEqual(seriesTimes(s), [end, t2]);
  assert.deepEqual(seriesValues(s), [v1[n - 1], 42.5]);
  assert.deepEqual(inc.get(t.channels[0]).latest, { t: t2, v: 42.5 });
  assert.deepEqual(inc.get(t.channels[1]).latest, { t: t2, v: '-over' });
  assert.deepEqual(inc.get(t.channels[2]).latest, { t: t2, v: 'missing' });

  // A channel deleted from the group is named, not shown.
  r = await t.c.del(`/api/v1/channels/${t.channels[2]}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  r = await t.c.get(`/api/v1/dashboards/${d.id}/data`);
  assert.deepEqual(r.body.missing_channels, [t.channels[2]]);
  for (const q of ['since=-1', 'since=abc', 'version=x']) {
    assert.equal((await t.c.get(`/api/v1/dashboards/${d.id}/data?${q}`)).status, 400, q);
  }
});

test('the refresh stays bounded: a dense window comes reduced, with core statistics equal to the summary route', async () => {
  const t = await groupTenant('pro', 2);
  const now = Date.now() * 1000;
  const end = now - (now % 1e6) - 10e6;
  const n = 14000; // 5-second samples: more than a series may hold in a day
  const times = Array.from({ length: n }, (_, i) => end - (n - 1 - i) * 5e6);
  const vals = times.map((_, i) => (i === 9000 ? 'break' : Math.sin(i / 50) * 10 + (i === 5000 ? 1000 : 0)));
  for (let i = 0; i < n; i += 5000) {
    await t.ingest.batch({ batch_id: uniq('d'), channels: [{ id: t.channels[0], t: times.slice(i, i + 5000), v: vals.slice(i, i + 5000) }] });
  }
  const d = await mustCreate(t, { panels: [panel({ kind: 'graph', channels: [t.channels[0]], window: 'day' }),
    panel({ kind: 'graph', x: 6, channels: [t.channels[0]], window: 'hour' }),
    panel({ kind: 'alarm', y: 4 })] });
  for (const folded of [false, true]) {
    if (folded) await compact();
    const r = await t.c.get(`/api/v1/dashboards/${d.id}/data`);
    assert.equal(r.status, 200);
    const ch = r.body.channels[0];
    assert.equal(ch.series.length, 2, 'one reduced series per window');
    const day = ch.series.find((s) => s.window === 'day');
    assert.equal(day.reduced, true);
    assert.equal(day.buckets, r.body.limits.reduced_buckets);
    assert.ok(day.n <= 4 * day.buckets + day.buckets);
    const vs = seriesValues(day);
    assert.ok(vs.some((x) => typeof x === 'number' && x > 900), 'the spike stays');
    assert.ok(vs.includes('break'), 'the special value stays');
    const sum = await t.c.get(`/api/v1/data/summary?channels=${t.channels[0]}&from=${day.from}&to=${day.to}`);
    const { id, ...stats } = sum.body.channels[0];
    assert.deepEqual(day.stats, stats, `folded ${folded}`);
    assert.equal(ch.series.find((s) => s.window === 'hour').reduced, false, 'an hour of 5-second samples fits');
    // An alarm panel brings the group's alarm summary.
    assert.equal(r.body.alarm_summary.group_id, t.group);
  }
});
