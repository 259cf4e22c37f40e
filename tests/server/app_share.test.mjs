// What the gateway apps share through the cloud (K1-K4; docs/app-share.md)
// over HTTP against a real PostgreSQL: battery profiles, battery
// thresholds and photo-drawing templates (files the apps define, kept in
// the file store and counted in P2) and equipment lists, each through a
// signed-in person and through an app credential; the app kinds (One: K1
// and K2; Cross: all; LR8450 direct: none); P13, P14, P15 and P16 per plan with core's
// messages; every wrong input refused with a sentence and nothing changed;
// the storage quota; rights of members; deletion with the group and the
// account (and at the end of an over-quota period); a second server
// process on the same database seeing the same.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createAccount, createUser, login, request } from './harness.mjs';
import { startTwo, stopTwo } from './two_servers.mjs';
import { PW, uniq } from './data_helpers.mjs';

let pg;
let srv;
let srvB;
let db;
const sql = (q) => pg.psql(q, db);

before(async () => {
  ({ pg, srvA: srv, srvB, db } = await startTwo());
});

after(async () => {
  await stopTwo({ pg, srvA: srv, srvB });
});

/** An app client: raw bytes or JSON, with the app credential. */
function appClient(baseUrl, credential) {
  const send = (method, p, body, headers = {}) => request(baseUrl, method, p, {
    body, headers: { authorization: `Bearer ${credential}`, ...headers },
  });
  return {
    get: (p) => send('GET', p),
    post: (p, body, h) => send('POST', p, body, h),
    patch: (p, body) => send('PATCH', p, body),
    del: (p) => send('DELETE', p),
  };
}

/** An account of "plan" with its administrator signed in; apps of the
 * kinds asked for (one, cross, lr8450-direct) with their clients. */
async function tenant(plan = 'standard', appKinds = ['one', 'cross', 'lr8450-direct']) {
  const account = uniq('shr');
  const ids = await createAccount(srv.url, { account, plan, user: 'admin', password: PW,
    email: `admin@${account}.test` });
  const c = await login(srv.url, { account, user: 'admin', password: PW });
  const t = { id: ids.accountId, account, c, apps: {} };
  for (const kind of appKinds) {
    const r = await c.post('/api/v1/apps', { kind, name: `${kind} gateway` });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    t.apps[kind] = { id: r.body.id, c: appClient(srv.url, r.body.credential),
      cB: appClient(srvB.url, r.body.credential) };
  }
  return t;
}

async function group(t, apps = []) {
  const r = await t.c.post('/api/v1/groups', { name: uniq('Site') });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  for (const kind of apps) {
    const p = await t.c.patch(`/api/v1/apps/${t.apps[kind].id}`, { group_id: r.body.id });
    assert.equal(p.status, 200, JSON.stringify(p.body));
  }
  return r.body.id;
}

const upload = (c, base, name, bytes, extra = '') =>
  c.post(`${base}?name=${encodeURIComponent(name)}${extra}`, bytes,
    { 'content-type': 'application/octet-stream' });

async function download(baseUrl, p, auth) {
  const r = await fetch(baseUrl + p, { headers: auth });
  return { status: r.status, type: r.headers.get('content-type'),
    bytes: Buffer.from(await r.arrayBuffer()) };
}

const sha = (b) => crypto.createHash('sha256').update(b).digest('hex');
const driveBytes = async (t) => Number((await sql(
  `SELECT COALESCE((SELECT drive_bytes FROM account_storage WHERE account_id = ${t.id}), 0)`)).trim());
const blobs = async (t) => Number((await sql(
  `SELECT count(*) FROM file_blobs WHERE account_id = ${t.id}`)).trim());
const cookieOf = (c) => ({ cookie: `metron_session=${c.cookie}` });

const P = '/api/v1/app-share';
const A = '/api/v1/ingest/app-share';

test('K1 battery profiles: a person uploads, lists, replaces, downloads and deletes; P2 counts them', async () => {
  const t = await tenant();
  const bytes = crypto.randomBytes(70000);
  let r = await upload(t.c, `${P}/battery-profiles`, 'Li-ion 12V', bytes);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const f = r.body;
  assert.equal(f.kind, 'battery_profile');
  assert.equal(f.group_id, null);
  assert.equal(f.size, bytes.length);
  assert.equal(f.sha256, sha(bytes));
  assert.equal(f.content_type, 'application/octet-stream');
  assert.equal(f.uploaded_by.user_id, t.c.user.id);
  assert.equal(f.uploaded_by.app_id, null);
  assert.equal(await driveBytes(t), bytes.length);

  r = await upload(t.c, `${P}/battery-profiles`, 'Li-ion 12V', Buffer.from('other'));
  assert.equal(r.status, 409, JSON.stringify(r.body));
  assert.equal(r.body.code, 'name_taken');
  assert.match(r.body.message, /already exists/);

  r = await t.c.get(`${P}/battery-profiles`);
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.items.map((x) => x.name), ['Li-ion 12V']);
  // The thresholds are another kind: empty.
  r = await t.c.get(`${P}/battery-thresholds`);
  assert.deepEqual(r.body.items, []);

  let d = await download(srv.url, `${P}/battery-profiles/${f.id}/content`, cookieOf(t.c));
  assert.equal(d.status, 200);
  assert.equal(d.type, 'application/octet-stream');
  assert.ok(d.bytes.equals(bytes));

  const smaller = Buffer.from('profile v2');
  r = await upload(t.c, `${P}/battery-profiles`, 'Li-ion 12V', smaller, '&replace=1');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.id, f.id);
  assert.equal(r.body.sha256, sha(smaller));
  assert.equal(await driveBytes(t), smaller.length);
  assert.equal(await blobs(t), 1, 'the replaced bytes are gone');
  d = await download(srv.url, `${P}/battery-profiles/${f.id}/content`, cookieOf(t.c));
  assert.ok(d.bytes.equals(smaller));

  // A profile id is not a threshold id.
  r = await t.c.del(`${P}/battery-thresholds/${f.id}`);
  assert.equal(r.status, 404);
  r = await t.c.del(`${P}/battery-profiles/${f.id}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.body, { id: f.id, deleted: true, bytes_freed: smaller.length });
  // A person's changes are in the audit log (A9) under their name, with the
  // file's name: the upload, the replacement and the deletion (newest first).
  r = await t.c.get('/api/v1/audit?action=app_share.');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.body.entries.map((x) => [x.action, x.actor_kind, x.user_id, x.target_type, x.target_id, x.detail?.name]),
    [['app_share.file.delete', 'user', t.c.user.id, 'battery_profile', f.id, 'Li-ion 12V'],
      ['app_share.file.upload', 'user', t.c.user.id, 'battery_profile', f.id, 'Li-ion 12V'],
      ['app_share.file.upload', 'user', t.c.user.id, 'battery_profile', f.id, 'Li-ion 12V']]);
  assert.equal(await driveBytes(t), 0);
  assert.equal(await blobs(t), 0);
  r = await t.c.get(`${P}/battery-profiles`);
  assert.deepEqual(r.body.items, []);
});

test('K1 and K2 through a One app and a Cross app; the other server process sees the same', async () => {
  const t = await tenant();
  const one = t.apps.one;
  const bytes = Buffer.from('{"cells": 6, "nominal_v": 12.0}');
  let r = await upload(one.c, `${A}/battery-thresholds`, 'Lead 12V', bytes);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const f = r.body;
  assert.equal(f.uploaded_by.app_id, one.id);
  assert.equal(f.uploaded_by.user_id, null);
  assert.equal(f.uploaded_by.name, 'one gateway');

  // The Cross app of the account, on the other process, and the person see it.
  r = await t.apps.cross.cB.get(`${A}/battery-thresholds`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.body.items.map((x) => x.id), [f.id]);
  r = await t.c.get(`${P}/battery-thresholds`);
  assert.deepEqual(r.body.items.map((x) => x.id), [f.id]);
  const d = await download(srvB.url, `${A}/battery-thresholds/${f.id}/content`,
    { authorization: `Bearer ${(await credentialOf(t, 'cross'))}` });
  assert.equal(d.status, 200);
  assert.ok(d.bytes.equals(bytes));

  r = await upload(t.apps.cross.c, `${A}/battery-profiles`, 'From cross', Buffer.from('x'));
  assert.equal(r.status, 201, JSON.stringify(r.body));
  r = await one.cB.del(`${A}/battery-profiles/${r.body.id}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  r = await one.c.del(`${A}/battery-thresholds/${f.id}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  r = await t.c.get(`${P}/battery-thresholds`);
  assert.deepEqual(r.body.items, []);
  assert.equal(await driveBytes(t), 0);
  // An app's changes are in the audit log too, under the app's name (no user).
  r = await t.c.get('/api/v1/audit?action=app_share.');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.body.entries.map((x) => [x.action, x.actor_kind, x.app_id, x.app_name, x.user_id, x.target_type, x.detail?.name]),
    [['app_share.file.delete', 'app', one.id, 'one gateway', null, 'battery_threshold', 'Lead 12V'],
      ['app_share.file.delete', 'app', one.id, 'one gateway', null, 'battery_profile', 'From cross'],
      ['app_share.file.upload', 'app', t.apps.cross.id, 'cross gateway', null, 'battery_profile', 'From cross'],
      ['app_share.file.upload', 'app', one.id, 'one gateway', null, 'battery_threshold', 'Lead 12V']]);
  assert.ok(r.body.entries.every((x) => x.ip === '127.0.0.1'), JSON.stringify(r.body.entries));
  // Stored as the app's (migration 076): the app in app_id, its name in
  // actor_login, no user, nothing of the app left in the detail.
  assert.equal(await sql(`SELECT string_agg(DISTINCT actor_kind || ' ' || app_id || ' ' || actor_login
    || ' ' || (user_id IS NULL) || ' ' || (detail ? 'app_id'), ',')
    FROM audit_log WHERE account_id = ${t.id} AND action LIKE 'app_share.%' AND app_id = ${one.id}`),
  `app ${one.id} one gateway true false`);
  // The filter: by kind of actor, by app.
  r = await t.c.get(`/api/v1/audit?actor_kind=app&app_id=${one.id}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.body.entries.map((x) => [x.actor_kind, x.app_id, x.app_name, x.detail.name]),
    [['app', one.id, 'one gateway', 'Lead 12V'], ['app', one.id, 'one gateway', 'From cross'],
      ['app', one.id, 'one gateway', 'Lead 12V']]);
  r = await t.c.get('/api/v1/audit?actor_kind=user');
  assert.ok(r.body.entries.length > 0 && r.body.entries.every((x) => x.actor_kind === 'user'),
    JSON.stringify(r.body.entries));
  r = await t.c.get('/api/v1/audit?actor_kind=robot');
  assert.equal(r.status, 400);
  assert.equal(r.body.field, 'actor_kind');
  assert.match(r.body.message, /user, api_token, app or system/);
  r = await t.c.get('/api/v1/audit?app_id=0');
  assert.equal(r.status, 400);
  assert.equal(r.body.field, 'app_id');

  // A server of before 076, still running beside this one during an
  // upgrade, writes an app's change as the system's with the app in the
  // detail: read and filtered as the app's all the same.
  await sql(`INSERT INTO audit_log (account_id, actor_kind, action, target_type, target_id, detail)
    VALUES (${t.id}, 'system', 'app_share.file.upload', 'battery_profile', 1,
    '{"name": "Old server", "app_id": ${one.id}, "app": "one gateway"}')`);
  r = await t.c.get(`/api/v1/audit?actor_kind=app&app_id=${one.id}`);
  assert.deepEqual(r.body.entries.map((x) => [x.actor_kind, x.app_id, x.app_name, x.detail.name]),
    [['app', one.id, 'one gateway', 'Old server'], ['app', one.id, 'one gateway', 'Lead 12V'],
      ['app', one.id, 'one gateway', 'From cross'], ['app', one.id, 'one gateway', 'Lead 12V']]);
  r = await t.c.get('/api/v1/audit?actor_kind=system');
  assert.deepEqual(r.body.entries.filter((x) => x.detail.name === 'Old server'), []);
  // Migration 076's own statement moves such a row (as it moved the rows of
  // before it) to the app's kind.
  const mig = fs.readFileSync(new URL('../../server/migrations/076_audit_app_actor.sql', import.meta.url), 'utf8');
  const move = mig.match(/^UPDATE audit_log[\s\S]*?;$/m)[0];
  await sql(move);
  assert.equal(await sql(`SELECT actor_kind || ' ' || app_id || ' ' || actor_login || ' ' || detail::text
    FROM audit_log WHERE account_id = ${t.id} AND detail->>'name' = 'Old server'`),
  `app ${one.id} one gateway {"name": "Old server"}`);
});

/** A new credential of the app of "kind" (the old one stops working). */
async function credentialOf(t, kind) {
  const r = await t.c.post(`/api/v1/apps/${t.apps[kind].id}/credentials`, {});
  assert.equal(r.status, 200, JSON.stringify(r.body));
  t.apps[kind].c = appClient(srv.url, r.body.credential);
  t.apps[kind].cB = appClient(srvB.url, r.body.credential);
  return r.body.credential;
}

test('the app kinds: K3 and K4 refused to a One app, everything to an LR8450 direct app, with sentences', async () => {
  const t = await tenant();
  await group(t, ['one', 'lr8450-direct']);
  for (const p of ['photo-templates', 'equipment-lists']) {
    const r = await t.apps.one.c.get(`${A}/${p}`);
    assert.equal(r.status, 403, JSON.stringify(r.body));
    assert.equal(r.body.code, 'app_kind');
    assert.match(r.body.message, /GENNECT Cross apps only/);
  }
  let r = await upload(t.apps.one.c, `${A}/photo-templates`, 'T', Buffer.from('x'));
  assert.equal(r.status, 403, JSON.stringify(r.body));
  r = await t.apps.one.c.post(`${A}/equipment-lists`, { name: 'L', items: [] });
  assert.equal(r.status, 403, JSON.stringify(r.body));
  r = await t.apps['lr8450-direct'].c.get(`${A}/battery-profiles`);
  assert.equal(r.status, 403, JSON.stringify(r.body));
  assert.match(r.body.message, /^battery profiles are shared with GENNECT One and GENNECT Cross apps only$/);
  r = await upload(t.apps['lr8450-direct'].c, `${A}/battery-profiles`, 'P', Buffer.from('x'));
  assert.equal(r.status, 403, JSON.stringify(r.body));
  // Without a credential, or a wrong one: 401.
  r = await request(srv.url, 'GET', `${A}/battery-profiles`);
  assert.equal(r.status, 401);
  r = await request(srv.url, 'GET', `${A}/battery-profiles`, { headers: { authorization: 'Bearer mta_nope' } });
  assert.equal(r.status, 401);
  assert.equal(await blobs(t), 0);
  assert.equal(Number((await sql(`SELECT count(*) FROM equipment_lists WHERE account_id = ${t.id}`)).trim()), 0);
});

test('K3 photo-drawing templates: per group, the Cross app in its own group, deleted with the group', async () => {
  const t = await tenant('standard', ['cross']);
  const g1 = await group(t, ['cross']);
  const g2 = await group(t);
  const bytes = crypto.randomBytes(5000);
  let r = await upload(t.c, `/api/v1/groups/${g1}/photo-templates`, 'Panel A', bytes);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const f = r.body;
  assert.equal(f.group_id, g1);
  assert.equal(f.kind, 'photo_template');
  // The same name in another group is another template.
  r = await upload(t.c, `/api/v1/groups/${g2}/photo-templates`, 'Panel A', Buffer.from('g2'));
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const other = r.body;
  r = await upload(t.c, `/api/v1/groups/${g1}/photo-templates`, 'Panel A', Buffer.from('again'));
  assert.equal(r.status, 409);
  assert.match(r.body.message, /in this measurement group/);

  // The app sees its group's only.
  r = await t.apps.cross.c.get(`${A}/photo-templates`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.body.items.map((x) => x.id), [f.id]);
  r = await t.apps.cross.c.get(`${A}/photo-templates/${other.id}/content`);
  assert.equal(r.status, 404);
  r = await t.apps.cross.c.del(`${A}/photo-templates/${other.id}`);
  assert.equal(r.status, 404);
  r = await upload(t.apps.cross.c, `${A}/photo-templates`, 'From the app', Buffer.from('app'));
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.group_id, g1);
  const d = await download(srv.url, `${A}/photo-templates/${f.id}/content`,
    { authorization: `Bearer ${await credentialOf(t, 'cross')}` });
  assert.ok(d.bytes.equals(bytes));

  // A group that does not exist (or another account's): 404.
  r = await t.c.get('/api/v1/groups/987654321/photo-templates');
  assert.equal(r.status, 404);

  // An app with no group: told so.
  let p = await t.c.patch(`/api/v1/apps/${t.apps.cross.id}`, { group_id: null });
  assert.equal(p.status, 200, JSON.stringify(p.body));
  r = await t.apps.cross.c.get(`${A}/photo-templates`);
  assert.equal(r.status, 409, JSON.stringify(r.body));
  assert.match(r.body.message, /belongs to no measurement group/);

  const before = await driveBytes(t);
  assert.equal(before, bytes.length + 2 + 3);
  p = await t.c.del(`/api/v1/groups/${g1}`);
  assert.equal(p.status, 200, JSON.stringify(p.body));
  assert.equal(await driveBytes(t), 2, 'the group\'s templates left the storage quota');
  assert.equal(await blobs(t), 1);
  r = await t.c.get(`${P}/photo-templates/${f.id}/content`);
  assert.equal(r.status, 404);
});

test('K4 equipment lists: created, listed, read, edited and deleted by a person and a Cross app', async () => {
  const t = await tenant('standard', ['cross']);
  let r = await t.c.post(`${P}/equipment-lists`, { name: 'Line 1', items: [
    { model: 'CM4375', serial: '210001', note: 'clamp\nblue case' },
    { model: 'BT3554', serial: '220002' },
  ] });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const l = r.body;
  assert.equal(l.item_count, 2);
  assert.deepEqual(l.items[1], { model: 'BT3554', serial: '220002', note: '' });
  assert.equal(l.updated_by.user_id, t.c.user.id);

  r = await t.apps.cross.c.get(`${A}/equipment-lists`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.body.items.map((x) => [x.id, x.name, x.item_count]), [[l.id, 'Line 1', 2]]);
  assert.equal(r.body.items[0].items, undefined, 'the list route has no items');
  r = await t.apps.cross.c.patch(`${A}/equipment-lists/${l.id}`, { items: [{ model: 'PW3365', serial: '9' }] });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.name, 'Line 1');
  assert.deepEqual(r.body.items, [{ model: 'PW3365', serial: '9', note: '' }]);
  assert.equal(r.body.updated_by.app_id, t.apps.cross.id);
  r = await t.c.get(`${P}/equipment-lists/${l.id}`);
  assert.deepEqual(r.body.items, [{ model: 'PW3365', serial: '9', note: '' }]);
  r = await t.apps.cross.c.post(`${A}/equipment-lists`, { name: 'Line 2', items: [] });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  r = await t.c.patch(`${P}/equipment-lists/${r.body.id}`, { name: 'Line 1' });
  assert.equal(r.status, 409, JSON.stringify(r.body));
  assert.equal(r.body.code, 'name_taken');
  r = await t.c.patch(`${P}/equipment-lists/${l.id}`, { name: 'Line 1 (east)' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  r = await t.c.del(`${P}/equipment-lists/${l.id}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  r = await t.c.get('/api/v1/audit?action=app_share.list.delete');
  assert.deepEqual(r.body.entries.map((x) => [x.target_type, x.target_id, x.detail?.name]),
    [['equipment_list', l.id, 'Line 1 (east)']]);
  // The app's edit of the list is audited under the app, with the list's name.
  r = await t.c.get('/api/v1/audit?action=app_share.list.update');
  assert.deepEqual(r.body.entries.map((x) => [x.actor_kind, x.app_name, x.target_id, x.detail?.name]),
    [['user', undefined, l.id, 'Line 1 (east)'], ['app', 'cross gateway', l.id, 'Line 1']]);
  r = await t.apps.cross.c.get(`${A}/equipment-lists/${l.id}`);
  assert.equal(r.status, 404);
  r = await t.c.get(`${P}/equipment-lists`);
  assert.deepEqual(r.body.items.map((x) => x.name), ['Line 2']);
});

test('K4: every wrong list refused with a sentence naming the member, nothing changed', async () => {
  const t = await tenant('standard', ['cross']);
  const cases = [
    [{ items: [] }, 'name'],
    [{ name: '', items: [] }, 'name'],
    [{ name: 'x'.repeat(101), items: [] }, 'name'],
    [{ name: ' lead', items: [] }, 'name'],
    [{ name: 'L', items: 'none' }, 'items'],
    [{ name: 'L' }, 'items'],
    [{ name: 'L', items: [5] }, 'items[0]'],
    [{ name: 'L', items: [{ model: 'A', serial: '1' }, { model: 'B' }] }, 'items[1].serial'],
    [{ name: 'L', items: [{ model: '', serial: '1' }] }, 'items[0].model'],
    [{ name: 'L', items: [{ model: 'M'.repeat(65), serial: '1' }] }, 'items[0].model'],
    [{ name: 'L', items: [{ model: 'M', serial: '1', note: 'n'.repeat(1001) }] }, 'items[0].note'],
    [{ name: 'L', items: [{ model: 'M', serial: '1', colour: 'red' }] }, 'items[0]'],
    [{ name: 'L', items: [{ model: 'M\u0007', serial: '1' }] }, 'items[0].model'],
    [{ name: 'L', items: Array.from({ length: 1001 }, () => ({ model: 'M', serial: '1' })) }, 'items'],
    [{ name: 'L', items: [], extra: 1 }, 'extra'],
  ];
  for (const [body, field] of cases) {
    const r = await t.c.post(`${P}/equipment-lists`, body);
    assert.equal(r.status, 400, `${JSON.stringify(body).slice(0, 80)} -> ${JSON.stringify(r.body)}`);
    assert.equal(r.body.field, field, JSON.stringify(r.body));
    assert.match(r.body.message, /^[A-Za-z'].* .*/, 'a sentence');
  }
  let r = await t.c.post(`${P}/equipment-lists`, { name: 'L', items: [] });
  assert.equal(r.status, 201);
  r = await t.c.patch(`${P}/equipment-lists/${r.body.id}`, {});
  assert.equal(r.status, 400, JSON.stringify(r.body));
  assert.match(r.body.message, /new 'name', its 'items', or both/);
  r = await t.c.patch(`${P}/equipment-lists/987654321`, { name: 'Q' });
  assert.equal(r.status, 404);
  assert.equal(Number((await sql(`SELECT count(*) FROM equipment_lists WHERE account_id = ${t.id}`)).trim()), 1);
});

test('wrong uploads: name, replace, content type, size; nothing kept', async () => {
  const t = await tenant('standard', ['one']);
  const base = `${P}/battery-profiles`;
  let r = await t.c.post(base, Buffer.from('x'), { 'content-type': 'application/octet-stream' });
  assert.equal(r.status, 400);
  assert.equal(r.body.field, 'name');
  for (const name of ['a/b', '..', ' lead', 'x'.repeat(101), 'tab\there']) {
    r = await upload(t.c, base, name, Buffer.from('x'));
    assert.equal(r.status, 400, `${name}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.field, 'name');
  }
  r = await upload(t.c, base, 'ok', Buffer.from('x'), '&replace=maybe');
  assert.equal(r.status, 400);
  assert.equal(r.body.field, 'replace');
  r = await t.c.post(`${base}?name=ok`, Buffer.from('x'), { 'content-type': 'x'.repeat(101) });
  assert.equal(r.status, 400);
  assert.match(r.body.message, /content type/);
  r = await upload(t.apps.one.c, `${A}/battery-profiles`, 'big', Buffer.alloc(10000001));
  assert.equal(r.status, 413, JSON.stringify(r.body));
  assert.equal(r.body.code, 'too_large');
  assert.match(r.body.message, /at most 10000000 bytes/);
  r = await upload(t.c, base, 'exactly 10 MB', Buffer.alloc(10000000, 7));
  assert.equal(r.status, 201, JSON.stringify(r.body));
  r = await t.c.del(`${base}/${r.body.id}`);
  assert.equal(r.status, 200);
  r = await t.c.get(`${base}/987654321/content`);
  assert.equal(r.status, 404);
  assert.equal(await blobs(t), 0);
  assert.equal(await driveBytes(t), 0);
});

test('limits per plan: P13-P16 with core\'s messages; P2 refuses a file past the room and keeps nothing', async () => {
  // Free: none of them (0 in the plan table).
  const free = await tenant('free', ['cross']);
  await group(free, ['cross']);
  const refusals = [
    [await upload(free.c, `${P}/battery-profiles`, 'p', Buffer.from('x')), 'P14'],
    [await upload(free.apps.cross.c, `${A}/battery-thresholds`, 't', Buffer.from('x')), 'P15'],
    [await upload(free.apps.cross.c, `${A}/photo-templates`, 't', Buffer.from('x')), 'P13'],
    [await free.c.post(`${P}/equipment-lists`, { name: 'L', items: [] }), 'P16'],
  ];
  for (const [r, quota] of refusals) {
    assert.equal(r.status, 403, JSON.stringify(r.body));
    assert.equal(r.body.code, 'plan_limit');
    assert.equal(r.body.quota, quota);
    assert.equal(r.body.plan, 'free');
    assert.equal(r.body.limit, 0);
    assert.match(r.body.message, new RegExp(`^${quota} `));
  }
  // Listing is allowed on every plan (empty).
  assert.equal((await free.c.get(`${P}/battery-profiles`)).status, 200);
  assert.equal(await blobs(free), 0);

  // Standard: 3 equipment lists, 30 battery profiles (a replacement is not one more).
  const std = await tenant('standard', ['cross']);
  for (let i = 0; i < 3; i++) {
    const r = await std.apps.cross.c.post(`${A}/equipment-lists`, { name: `L${i}`, items: [] });
    assert.equal(r.status, 201, JSON.stringify(r.body));
  }
  let r = await std.c.post(`${P}/equipment-lists`, { name: 'L3', items: [] });
  assert.equal(r.status, 403, JSON.stringify(r.body));
  assert.equal(r.body.quota, 'P16');
  assert.equal(r.body.limit, 3);
  for (let i = 0; i < 30; i++) {
    r = await upload(std.apps.cross.c, `${A}/battery-profiles`, `p${i}`, Buffer.from([i]));
    assert.equal(r.status, 201, JSON.stringify(r.body));
  }
  r = await upload(std.c, `${P}/battery-profiles`, 'p30', Buffer.from('x'));
  assert.equal(r.status, 403, JSON.stringify(r.body));
  assert.equal(r.body.quota, 'P14');
  assert.equal(r.body.limit, 30);
  r = await upload(std.c, `${P}/battery-profiles`, 'p0', Buffer.from('new'), '&replace=1');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  // Thresholds are counted apart.
  r = await upload(std.c, `${P}/battery-thresholds`, 'p0', Buffer.from('x'));
  assert.equal(r.status, 201, JSON.stringify(r.body));

  // P2: 100 bytes of room left in the storage quota (Standard: 50 GB).
  const used = await driveBytes(std);
  await sql(`UPDATE account_storage SET drive_bytes = 50000000000 - 100 WHERE account_id = ${std.id}`);
  const blobsBefore = await blobs(std);
  r = await upload(std.c, `${P}/battery-thresholds`, 'big', Buffer.alloc(101));
  assert.equal(r.status, 413, JSON.stringify(r.body));
  assert.equal(r.body.code, 'plan_limit');
  assert.equal(r.body.quota, 'P2');
  r = await upload(std.apps.cross.c, `${A}/battery-thresholds`, 'fits', Buffer.alloc(100));
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(await blobs(std), blobsBefore + 1);
  await sql(`UPDATE account_storage SET drive_bytes = ${used + 100} WHERE account_id = ${std.id}`);
});

test('rights: members read with file access view, change with edit; K3 by the group\'s grants', async () => {
  const t = await tenant('standard', []);
  const g = await group(t);
  const mk = async (user, fileAccess) => {
    await createUser(srv.url, { accountId: t.id, user, password: PW, role: 'member', fileAccess });
    return login(srv.url, { account: t.account, user, password: PW });
  };
  const viewer = await mk('viewer', 'view');
  const editor = await mk('editor', 'edit');
  const none = await mk('nofiles', 'none');
  let r = await upload(editor, `${P}/battery-profiles`, 'by editor', Buffer.from('e'));
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const id = r.body.id;
  r = await viewer.get(`${P}/battery-profiles`);
  assert.equal(r.body.items.length, 1);
  r = await upload(viewer, `${P}/battery-profiles`, 'by viewer', Buffer.from('v'));
  assert.equal(r.status, 403, JSON.stringify(r.body));
  assert.match(r.body.message, /may only view/);
  r = await viewer.del(`${P}/battery-profiles/${id}`);
  assert.equal(r.status, 403);
  r = await viewer.post(`${P}/equipment-lists`, { name: 'L', items: [] });
  assert.equal(r.status, 403);
  r = await none.get(`${P}/equipment-lists`);
  assert.equal(r.status, 403, JSON.stringify(r.body));
  assert.match(r.body.message, /no access/);

  // K3: the editor has no grant on the group: it does not exist for them.
  r = await editor.get(`/api/v1/groups/${g}/photo-templates`);
  assert.equal(r.status, 404, JSON.stringify(r.body));
  r = await t.c.put(`/api/v1/groups/${g}/access`, { users: [{ user_id: viewer.user.id, access: 'view' }], teams: [] });
  assert.ok(r.status === 200 || r.status === 204, JSON.stringify(r.body));
  r = await viewer.get(`/api/v1/groups/${g}/photo-templates`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  r = await upload(viewer, `/api/v1/groups/${g}/photo-templates`, 'T', Buffer.from('t'));
  assert.equal(r.status, 403, JSON.stringify(r.body));
  assert.match(r.body.message, /edit access to the measurement group/);
});

test('deletion: an over-quota deadline deletes the files (not the lists); the account takes everything', async () => {
  const t = await tenant('standard', ['cross']);
  await group(t, ['cross']);
  await upload(t.c, `${P}/battery-profiles`, 'p', Buffer.alloc(10, 1));
  await upload(t.apps.cross.c, `${A}/photo-templates`, 't', Buffer.alloc(20, 2));
  const r = await t.c.post(`${P}/equipment-lists`, { name: 'L', items: [{ model: 'M', serial: 'S' }] });
  assert.equal(r.status, 201);
  const out = JSON.parse(await sql(`SELECT mt_account_delete_stored(${t.id})::text`));
  assert.equal(out.app_files, 2);
  assert.equal(out.app_file_bytes, 30);
  assert.equal(await driveBytes(t), 0);
  assert.equal(await blobs(t), 0);
  assert.equal((await t.c.get(`${P}/equipment-lists`)).body.items.length, 1);

  await upload(t.c, `${P}/battery-thresholds`, 'again', Buffer.alloc(5));
  await sql(`DELETE FROM accounts WHERE id = ${t.id}`);
  const left = (await sql(`SELECT (SELECT count(*) FROM app_files WHERE account_id = ${t.id}) + `
    + `(SELECT count(*) FROM equipment_lists WHERE account_id = ${t.id}) + `
    + `(SELECT count(*) FROM file_blobs WHERE account_id = ${t.id})`)).trim();
  assert.equal(left, '0');
});
