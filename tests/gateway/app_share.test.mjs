// metron-gateway's --share-... requests (K1-K4; docs/app-share.md,
// docs/gateway.md): the app side of what the apps share, against a real
// server and PostgreSQL. A Cross app uploads a battery profile (K1),
// replaces it, lists it, downloads it byte for byte and deletes it; uploads
// a photo-drawing template (K3) into its group; creates, reads, edits and
// deletes an equipment list (K4) from JSON files; a One app is refused K4
// with the server's sentence; the credential and the server come from the
// state folder of an app that ran before; wrong commands are told apart
// from refusals by the exit status.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { createAccount, login, startStack, stopStack, tempDir } from '../server/harness.mjs';
import { PW, uniq } from '../server/data_helpers.mjs';
import { gatewayBin } from './helpers.mjs';

let pg;
let srv;

before(async () => { ({ pg, srv } = await startStack()); });
after(() => stopStack({ pg, srv }));

/** Run metron-gateway with "args": { code, stdout (Buffer), stderr }. */
function gw(args) {
  return new Promise((resolve) => {
    execFile(gatewayBin, args, { encoding: 'buffer', maxBuffer: 64 << 20, env: { PATH: process.env.PATH } },
      (err, stdout, stderr) => resolve({ code: err ? err.code : 0, stdout, stderr: stderr.toString() }));
  });
}

async function tenant() {
  const account = uniq('gws');
  await createAccount(srv.url, { account, plan: 'standard', user: 'admin', password: PW,
    email: `admin@${account}.test` });
  const c = await login(srv.url, { account, user: 'admin', password: PW });
  const apps = {};
  for (const kind of ['cross', 'one']) {
    const r = await c.post('/api/v1/apps', { kind, name: `${kind} gateway` });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    apps[kind] = r.body;
  }
  const g = await c.post('/api/v1/groups', { name: uniq('Site') });
  assert.equal(g.status, 201);
  const p = await c.patch(`/api/v1/apps/${apps.cross.id}`, { group_id: g.body.id });
  assert.equal(p.status, 200);
  return { c, apps, group: g.body.id };
}

test('a Cross app shares battery profiles, templates and equipment lists from the command line', async () => {
  const t = await tenant();
  const dir = tempDir('metron-gw-share-');
  const as = (app, ...args) => gw(['--server', srv.url, '--code', app.credential, ...args]);
  const cross = (...args) => as(t.apps.cross, ...args);
  const bytes = crypto.randomBytes(300000);
  const file = path.join(dir, 'Li-ion 12V.bprof');
  fs.writeFileSync(file, bytes);

  let r = await cross('--share-upload', `battery-profiles:${file}`);
  assert.equal(r.code, 0, r.stderr);
  const up = JSON.parse(r.stdout);
  assert.equal(up.name, 'Li-ion 12V.bprof');
  assert.equal(up.size, bytes.length);
  assert.equal(up.uploaded_by.app_id, t.apps.cross.id);
  r = await cross('--share-upload', `battery-profiles:${file}`);
  assert.equal(r.code, 3, 'a name taken is a refusal');
  assert.match(r.stderr, /the server refused \(HTTP 409\): a battery profile with this name already exists/);
  fs.writeFileSync(file, Buffer.from('v2'));
  r = await cross('--share-upload', `battery-profiles:${file}`, '--share-replace');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).id, up.id);
  fs.writeFileSync(file, bytes);
  r = await cross('--share-upload', `battery-profiles:${file}`, '--share-replace', '--share-name', 'Pack B');
  assert.equal(r.code, 0, r.stderr);
  const packB = JSON.parse(r.stdout);

  // The person sees what the app shared.
  const seen = await t.c.get('/api/v1/app-share/battery-profiles');
  assert.deepEqual(seen.body.items.map((x) => x.name), ['Li-ion 12V.bprof', 'Pack B']);

  r = await cross('--share-list', 'battery-profiles');
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout).items.map((x) => x.name), ['Li-ion 12V.bprof', 'Pack B']);
  const out = path.join(dir, 'back');
  r = await cross('--share-download', `battery-profiles:${packB.id}`, '--share-out', out);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(fs.readFileSync(out).equals(bytes));
  r = await cross('--share-download', `battery-profiles:${up.id}`);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.toString(), 'v2', 'to stdout, as it is');
  r = await cross('--share-delete', `battery-profiles:${up.id}`);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).bytes_freed, 2);

  // K3 into the app's own group.
  const tpl = path.join(dir, 'panel.svg');
  fs.writeFileSync(tpl, '<svg/>');
  r = await cross('--share-upload', `photo-templates:${tpl}`);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).group_id, t.group);

  // K4 from JSON files.
  const list = path.join(dir, 'list.json');
  fs.writeFileSync(list, JSON.stringify({ name: 'Line 1', items: [{ model: 'CM4375', serial: '1' }] }));
  r = await cross('--share-create', `equipment-lists:${list}`);
  assert.equal(r.code, 0, r.stderr);
  const l = JSON.parse(r.stdout);
  assert.equal(l.item_count, 1);
  fs.writeFileSync(list, JSON.stringify({ items: [{ model: 'PW3365', serial: '2', note: 'east' }] }));
  r = await cross('--share-edit', `equipment-lists:${l.id}:${list}`);
  assert.equal(r.code, 0, r.stderr);
  r = await cross('--share-get', `equipment-lists:${l.id}`);
  assert.deepEqual(JSON.parse(r.stdout).items, [{ model: 'PW3365', serial: '2', note: 'east' }]);
  fs.writeFileSync(list, JSON.stringify({ name: 'Line 2', items: [{ model: 'PW3365' }] }));
  r = await cross('--share-create', `equipment-lists:${list}`);
  assert.equal(r.code, 3);
  assert.match(r.stderr, /item 1 needs 'serial' as text/);
  r = await cross('--share-delete', `equipment-lists:${l.id}`);
  assert.equal(r.code, 0, r.stderr);

  // A One app: K4 is for Cross apps.
  r = await as(t.apps.one, '--share-list', 'equipment-lists');
  assert.equal(r.code, 3);
  assert.match(r.stderr, /HTTP 403\): equipment lists are shared with GENNECT Cross apps only/);
});

test('the credential and the server of a state folder; wrong commands', async () => {
  const t = await tenant();
  const state = tempDir('metron-gw-state-');
  fs.writeFileSync(path.join(state, 'credential'), t.apps.one.credential + '\n');
  let r = await gw(['--state', state, '--share-list', 'battery-thresholds']);
  assert.equal(r.code, 2, 'no server saved yet');
  assert.match(r.stderr, /no server/);
  r = await gw(['--state', state, '--server', srv.url, '--share-list', 'battery-thresholds']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { items: [] });
  for (const args of [['--share-list', 'batteries'], ['--share-delete', 'battery-profiles:x'],
    ['--share-upload', 'equipment-lists:/tmp/x'], ['--share-get', 'battery-profiles:1'],
    ['--share-list', 'battery-profiles', '--share-delete', 'battery-profiles:1']]) {
    r = await gw(['--state', state, '--server', srv.url, ...args]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^metron-gateway: .+/);
  }
  r = await gw(['--state', state, '--server', srv.url, '--share-upload', 'battery-profiles:/nonexistent/file']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /cannot read \/nonexistent\/file/);
  r = await gw(['--server', 'http://127.0.0.1:1', '--code', t.apps.one.credential, '--share-list', 'battery-profiles',
    '--timeout', '2000']);
  assert.equal(r.code, 4, r.stderr);
  assert.match(r.stderr, /did not answer/);
});
