// The drive (D1, D4-D6, P2, P24, L5): folders, uploads streamed into the
// file store (PostgreSQL; any server process serves them),
// downloads, sorting, the storage quota, file rights of members, tenant
// isolation, kind detection and channels of HOK/HOK2/HIOKI CSV files, the
// P24 import gate, retention and the orphan sweep. Unhappy paths first.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import url from 'node:url';
import { createAccount, createUser, login, repoRoot, request, sessionClient, sleep, startServer,
  startStack, stopStack, tempDir } from './harness.mjs';

let pg;
let srv;
let db;
const PW = 'Correct-h0rse';
let seq = 0;
const uniq = (p) => `${p}${++seq}-${process.pid % 10000}`;
const sql = (q) => pg.psql(q, db);
const count = async (q) => Number(await sql(q));
const FREE_LIMIT = 5_000_000_000; // P2 on Free, from core's plan table (decimal GB)

before(async () => {
  ({ pg, srv, db } = await startStack());
});

after(() => stopStack({ pg, srv }));

async function tenant(plan = 'standard') {
  const acc = uniq('acc');
  const ids = await createAccount(srv.url, { account: acc, plan, user: 'admin', password: PW,
    email: `admin@${acc}.test` });
  return { id: ids.accountId, userId: ids.userId, account: acc,
    c: await login(srv.url, { account: acc, user: 'admin', password: PW }) };
}

async function member(t, name, fileAccess) {
  const { userId } = await createUser(srv.url, { accountId: t.id, user: name, password: PW,
    role: 'member', fileAccess, email: `${name}@${t.account}.test` });
  return { userId, c: await login(srv.url, { account: t.account, user: name, password: PW }) };
}

const filesUrl = (name, folder) => `/api/v1/drive/files?name=${encodeURIComponent(name)}` +
  (folder ? `&folder_id=${folder}` : '');

/** Upload "data" as file "name" (Content-Length body). */
function upload(c, name, data, { folder, type = 'application/octet-stream' } = {}) {
  return c.post(filesUrl(name, folder), Buffer.from(data), { 'content-type': type });
}

const mkdir = (c, name, parentId) => c.post('/api/v1/drive/folders',
  parentId === undefined ? { name } : { name, parent_id: parentId });

/** A request that returns the raw reply bytes (downloads); "headers" are
 * added to the request; "c.base" another server's URL. */
function rawGet(c, p, headers = {}) {
  return new Promise((resolve, reject) => {
    const u = new URL(p, c.base || srv.url);
    const req = http.request({ host: u.hostname, port: u.port, path: u.pathname + u.search,
      method: 'GET', agent: false, headers: { cookie: `metron_session=${c.cookie}`, ...headers } },
    (res) => {
      const parts = [];
      res.on('data', (d) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers,
        buf: Buffer.concat(parts) }));
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * A chunked upload (no Content-Length): writes "chunks" one by one with a
 * pause between them; resolves with the reply even when the server closes
 * the connection before the whole body was sent.
 */
function chunkedUpload(c, p, chunks, pauseMs = 20) {
  return new Promise((resolve, reject) => {
    const u = new URL(p, srv.url);
    let settled = false;
    const req = http.request({ host: u.hostname, port: u.port, path: u.pathname + u.search,
      method: 'POST', agent: false, headers: { cookie: `metron_session=${c.cookie}`,
        'x-csrf-token': c.csrf, 'content-type': 'application/octet-stream' } }, (res) => {
      const parts = [];
      res.on('data', (d) => parts.push(d));
      res.on('end', () => {
        settled = true;
        const text = Buffer.concat(parts).toString('utf8');
        resolve({ status: res.statusCode, headers: res.headers, body: text ? JSON.parse(text) : null });
      });
    });
    req.on('error', (e) => setTimeout(() => { if (!settled) reject(e); }, 2000));
    (async () => {
      for (const ch of chunks) {
        if (req.destroyed || settled) return;
        req.write(ch);
        await sleep(pauseMs);
      }
      if (!req.destroyed) req.end();
    })();
  });
}

// The account's files whose bytes are in the store (PostgreSQL: their ids,
// sorted as text) and "loose:<blob>" for every blob of the account that no
// file holds (what an upload left behind: there must be none).
async function storedFiles(t) {
  const rows = await sql(`SELECT COALESCE(i.id::text, 'loose:' || b.id) FROM file_blobs b
    LEFT JOIN drive_items i ON i.account_id = b.account_id AND i.blob_id = b.id
    WHERE b.account_id = ${t.id}`);
  return rows.split('\n').filter(Boolean).sort();
}

async function storageUsed(t) {
  const r = await t.c.get('/api/v1/account');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.usage.find((u) => u.quota === 'P2').used;
}

const setDataBytes = (t, bytes) => request(srv.url, 'POST', '/api/v1/test/storage',
  { body: { account_id: t.id, data_bytes: bytes } });

const sha256 = (b) => crypto.createHash('sha256').update(b).digest('hex');
const fixture = (...p) => fs.readFileSync(path.join(repoRoot, 'tests', 'fixtures', ...p));

// ----------------------------------------------------------------- names

const BAD_NAMES = [
  ['empty', ''], ['slash', '/'], ['slash inside', 'a/b'], ['backslash', 'a\\b'],
  ['dot', '.'], ['dot dot', '..'], ['C0 control', 'a\u0001b'], ['newline', 'a\nb'],
  ['tab', 'a\tb'], ['DEL', 'a\u007fb'], ['C1 control', 'a\u0085b'],
  ['bidi override', 'txt.\u202eexe'], ['256 bytes', 'x'.repeat(256)],
  ['256 bytes of UTF-8', 'é'.repeat(128)], ['leading space', ' a'], ['trailing space', 'a '],
];

test('names: every bad name is refused for folders, renames and uploads; nothing changes', async () => {
  const t = await tenant();
  const f = await mkdir(t.c, 'keep');
  assert.equal(f.status, 201, JSON.stringify(f.body));
  const file = await upload(t.c, 'keep.bin', 'x');
  assert.equal(file.status, 201, JSON.stringify(file.body));
  for (const [what, name] of BAD_NAMES) {
    let r = await mkdir(t.c, name);
    assert.equal(r.status, 400, `folder ${what}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.field, 'name', what);
    if (name !== '') assert.equal(r.body.code, 'invalid_name', what);
    r = await t.c.patch(`/api/v1/drive/folders/${f.body.id}`, { name });
    assert.equal(r.status, 400, `rename folder ${what}`);
    r = await t.c.patch(`/api/v1/drive/files/${file.body.id}`, { name });
    assert.equal(r.status, 400, `rename file ${what}`);
    r = await upload(t.c, name, 'data');
    assert.equal(r.status, 400, `upload ${what}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.field, 'name', what);
  }
  // Percent-escapes that decode to a NUL byte or to invalid UTF-8.
  for (const q of ['a%00b', '%C3%28', '%FF', '%E2%82']) {
    const r = await t.c.post(`/api/v1/drive/files?name=${q}`, Buffer.from('d'),
      { 'content-type': 'application/octet-stream' });
    assert.equal(r.status, 400, q);
    assert.equal(r.body.code, 'invalid_name', q);
  }
  let r = await t.c.post('/api/v1/drive/files', Buffer.from('d'),
    { 'content-type': 'application/octet-stream' });
  assert.equal(r.status, 400);
  assert.equal(r.body.field, 'name');
  assert.equal(await count(`SELECT count(*) FROM drive_items WHERE account_id = ${t.id}`), 2);
  assert.equal(await sql(`SELECT string_agg(name, ',' ORDER BY id) FROM drive_items
    WHERE account_id = ${t.id}`), 'keep,keep.bin');
  assert.deepEqual((await storedFiles(t)), [String(file.body.id)]);
  // The longest names fit: 255 bytes, ASCII or not; odd but valid characters too.
  for (const name of ['x'.repeat(255), `${'é'.repeat(127)}z`, '名前 (1) #%+&.csv', '.hidden',
    '...', 'a..b', 'ʻokina']) {
    r = await mkdir(t.c, name);
    assert.equal(r.status, 201, `${name}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.name, name);
    r = await upload(t.c, `${name.slice(0, 100)}.f`, 'y');
    assert.equal(r.status, 201, `${name}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.name, `${name.slice(0, 100)}.f`);
  }
  r = await upload(t.c, `${'é'.repeat(127)}z`, 'z'); // 255 bytes as an upload name
  assert.equal(r.status, 409); // taken by the folder of that name
  assert.equal(r.body.code, 'name_taken');
});

// --------------------------------------------------------------- folders

test('folders: create, nest, clash (any ASCII case), rename, move, cycles, depth, delete rules', async () => {
  const t = await tenant();
  const a = (await mkdir(t.c, 'Docs')).body;
  assert.equal(a.type, 'folder');
  assert.equal(a.parent_id, null);
  assert.equal(a.entries, 0);
  let r = await mkdir(t.c, 'docs');
  assert.equal(r.status, 409);
  assert.equal(r.body.code, 'name_taken');
  r = await mkdir(t.c, 'DOCS');
  assert.equal(r.body.code, 'name_taken');
  // A file and a folder cannot share a name either.
  r = await upload(t.c, 'docs', 'x');
  assert.equal(r.status, 409);
  assert.equal(r.body.code, 'name_taken');
  const b = (await mkdir(t.c, 'Reports', a.id)).body;
  assert.equal(b.parent_id, a.id);
  const c = (await mkdir(t.c, 'Old', b.id)).body;
  // The same name in another folder is fine.
  assert.equal((await mkdir(t.c, 'Old')).status, 201);
  // Parent that does not exist / is a file.
  const file = (await upload(t.c, 'f.bin', 'x', { folder: b.id })).body;
  assert.equal(file.folder_id, b.id);
  for (const parent of [987654321, file.id]) {
    r = await mkdir(t.c, 'x', parent);
    assert.equal(r.status, 404, JSON.stringify(r.body));
  }
  for (const parent of ['1', -1, 0, 1.5, true]) {
    r = await mkdir(t.c, 'x', parent);
    assert.equal(r.status, 400, `${JSON.stringify(parent)}: ${JSON.stringify(r.body)}`);
  }
  // Rename: a case change of its own name is allowed, a clash is not.
  r = await t.c.patch(`/api/v1/drive/folders/${a.id}`, { name: 'DOCS' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.name, 'DOCS');
  r = await t.c.patch(`/api/v1/drive/folders/${a.id}`, { name: 'old' });
  assert.equal(r.status, 409);
  assert.equal(r.body.code, 'name_taken');
  // Moving into itself or below itself.
  for (const target of [a.id, b.id, c.id]) {
    r = await t.c.patch(`/api/v1/drive/folders/${a.id}`, { parent_id: target });
    assert.equal(r.status, 409, JSON.stringify(r.body));
    assert.equal(r.body.code, 'move_into_itself');
  }
  // Moving to where the name is taken.
  r = await t.c.patch(`/api/v1/drive/folders/${c.id}`, { parent_id: null });
  assert.equal(r.status, 409);
  assert.equal(r.body.code, 'name_taken');
  // Rename and move in one step.
  r = await t.c.patch(`/api/v1/drive/folders/${c.id}`, { parent_id: null, name: 'Archive' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.parent_id, null);
  assert.equal(r.body.name, 'Archive');
  r = await t.c.patch(`/api/v1/drive/folders/${c.id}`, { parent_id: a.id });
  assert.equal(r.body.parent_id, a.id);
  r = await t.c.get(`/api/v1/drive/folders/${b.id}`);
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.path.map((p) => p.name), ['DOCS', 'Reports']);
  assert.deepEqual(r.body.items.map((i) => i.name), ['f.bin']);
  // Files move too, and rename.
  r = await t.c.patch(`/api/v1/drive/files/${file.id}`, { folder_id: null, name: 'g.bin' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.folder_id, null);
  r = await t.c.patch(`/api/v1/drive/files/${file.id}`, { folder_id: 987654321 });
  assert.equal(r.status, 404);

  // Depth: 16 levels nest, the 17th is refused; moves that would nest deeper too.
  let parent;
  const chain = [];
  for (let i = 1; i <= 16; i++) {
    r = await mkdir(t.c, `L${i}`, parent);
    assert.equal(r.status, 201, `level ${i}: ${JSON.stringify(r.body)}`);
    parent = r.body.id;
    chain.push(parent);
  }
  r = await mkdir(t.c, 'L17', parent);
  assert.equal(r.status, 409);
  assert.equal(r.body.code, 'too_deep');
  const two = (await mkdir(t.c, 'two')).body; // a folder two levels high
  await mkdir(t.c, 'inner', two.id);
  r = await t.c.patch(`/api/v1/drive/folders/${two.id}`, { parent_id: chain[14] }); // 15 + 2
  assert.equal(r.status, 409);
  assert.equal(r.body.code, 'too_deep');
  r = await t.c.patch(`/api/v1/drive/folders/${two.id}`, { parent_id: chain[13] }); // 14 + 2
  assert.equal(r.status, 200, JSON.stringify(r.body));

  // Delete: non-empty refused (nothing changes), recursive deletes all and frees bytes.
  const data = crypto.randomBytes(3000);
  const deep = (await upload(t.c, 'deep.bin', data, { folder: c.id })).body;
  const before = await storageUsed(t);
  r = await t.c.del(`/api/v1/drive/folders/${a.id}`);
  assert.equal(r.status, 409);
  assert.equal(r.body.code, 'folder_not_empty');
  r = await t.c.del(`/api/v1/drive/folders/${a.id}?recursive=maybe`);
  assert.equal(r.status, 400);
  assert.ok((await storedFiles(t)).includes(String(deep.id)));
  r = await t.c.del(`/api/v1/drive/folders/${a.id}?recursive=1`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.files_deleted, 1);
  assert.equal(r.body.bytes_freed, 3000);
  assert.equal(await storageUsed(t), before - 3000);
  assert.equal(await count(`SELECT count(*) FROM drive_items WHERE account_id = ${t.id}
    AND id IN (${a.id}, ${b.id}, ${c.id}, ${deep.id})`), 0);
  assert.ok(!(await storedFiles(t)).includes(String(deep.id)));
  assert.equal((await t.c.get(`/api/v1/drive/folders/${a.id}`)).status, 404);
  // An empty folder goes without recursive.
  const empty = (await mkdir(t.c, 'empty')).body;
  assert.equal((await t.c.del(`/api/v1/drive/folders/${empty.id}`)).status, 200);
  assert.equal((await t.c.del(`/api/v1/drive/folders/${empty.id}`)).status, 404);
  assert.equal(await count(`SELECT count(*) FROM audit_log WHERE account_id = ${t.id}
    AND action = 'drive.folder.delete'`), 2);
});

// ------------------------------------------------------ upload/download

test('files: upload, clash refused without overwriting, byte-identical download with safe headers', async () => {
  const t = await tenant();
  const big = crypto.randomBytes(300_000);
  const names = ['big.bin', 'empty.txt', 'Grüße 温度 "q" 100%.dat'];
  const bodies = [big, Buffer.alloc(0), Buffer.from('hello\n')];
  const made = [];
  for (let i = 0; i < names.length; i++) {
    const r = await upload(t.c, names[i], bodies[i], { type: i === 1 ? 'text/plain; charset=utf-8' : undefined });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.type, 'file');
    assert.equal(r.body.name, names[i]);
    assert.equal(r.body.size, bodies[i].length);
    assert.equal(r.body.sha256, sha256(bodies[i]));
    assert.equal(r.body.kind, 'other');
    assert.equal(r.body.viewable, false);
    assert.equal(r.body.created_by, t.userId);
    made.push(r.body);
  }
  assert.equal(made[1].content_type, 'text/plain');
  assert.equal(made[0].content_type, 'application/octet-stream');
  // A clash is reported, not overwritten (any ASCII case).
  let r = await upload(t.c, 'BIG.bin', 'other bytes');
  assert.equal(r.status, 409);
  assert.equal(r.body.code, 'name_taken');
  for (let i = 0; i < names.length; i++) {
    const d = await rawGet(t.c, `/api/v1/drive/files/${made[i].id}/content`);
    assert.equal(d.status, 200);
    assert.ok(d.buf.equals(bodies[i]), `bytes of ${names[i]}`);
    assert.equal(d.headers['content-length'], String(bodies[i].length));
    assert.equal(d.headers['content-type'], 'application/octet-stream');
    assert.equal(d.headers['x-content-type-options'], 'nosniff');
    assert.match(d.headers['content-disposition'], /^attachment; filename="[^"\\]*"; filename\*=UTF-8''/);
    const enc = /filename\*=UTF-8''(.*)$/.exec(d.headers['content-disposition'])[1];
    assert.equal(decodeURIComponent(enc), names[i]);
  }
  // The bytes live under the numeric id; no temporary file is left.
  assert.deepEqual((await storedFiles(t)), made.map((m) => String(m.id)).sort());
  assert.equal(await storageUsed(t), big.length + 6);
  // Detail, unknown ids, malformed ids.
  r = await t.c.get(`/api/v1/drive/files/${made[0].id}`);
  assert.equal(r.body.sha256, sha256(big));
  for (const p of ['/api/v1/drive/files/987654321', '/api/v1/drive/files/abc',
    '/api/v1/drive/files/987654321/content', `/api/v1/drive/files/${made[0].id}x`]) {
    assert.equal((await t.c.get(p)).status, 404, p);
  }
  // Into a folder; into a missing folder; a bad folder id.
  const f = (await mkdir(t.c, 'in')).body;
  r = await upload(t.c, 'big.bin', big, { folder: f.id });
  assert.equal(r.status, 201);
  assert.equal(r.body.folder_id, f.id);
  r = await upload(t.c, 'x.bin', 'x', { folder: 987654321 });
  assert.equal(r.status, 404);
  r = await t.c.post('/api/v1/drive/files?name=x&folder_id=-3', Buffer.from('x'),
    { 'content-type': 'application/octet-stream' });
  assert.equal(r.status, 400);
  // Delete frees the bytes and removes the file from disk.
  const used = await storageUsed(t);
  r = await t.c.del(`/api/v1/drive/files/${made[0].id}`);
  assert.equal(r.status, 200);
  assert.equal(r.body.bytes_freed, big.length);
  assert.equal(await storageUsed(t), used - big.length);
  assert.ok(!(await storedFiles(t)).includes(String(made[0].id)));
  assert.equal((await t.c.del(`/api/v1/drive/files/${made[0].id}`)).status, 404);
  assert.equal((await rawGet(t.c, `/api/v1/drive/files/${made[0].id}/content`)).status, 404);
});

test('listing: folders first, then data sets (root), then files; sort by name, date, size, kind', async () => {
  const t = await tenant();
  const m = await member(t, 'viewer', 'view');
  const files = [['b.csv', 30], ['A.bin', 10], ['c.txt', 20], ['d.hok2', 0]];
  const ids = {};
  for (const [name, size] of files) {
    const body = name === 'd.hok2' ? fixture('hok', 'tiny.hok2') : Buffer.alloc(size);
    ids[name] = (await upload(t.c, name, body)).body.id;
  }
  for (const name of ['zeta', 'Alpha']) ids[name] = (await mkdir(t.c, name)).body.id;
  // Dates in another order than the names (the trigger is bypassed).
  const day = { 'b.csv': 1, 'A.bin': 3, 'c.txt': 2, 'd.hok2': 4, zeta: 1, Alpha: 2 };
  await sql(`SET session_replication_role = replica; ${Object.entries(day).map(([n, d]) =>
    `UPDATE drive_items SET updated_at = '2024-01-0${d}T00:00:00Z' WHERE id = ${ids[n]};`).join(' ')}`);
  // A measurement group with 2 acquired channels (1 not selected), granted to nobody.
  const g = await sql(`INSERT INTO measurement_groups (account_id, name) VALUES (${t.id}, 'Site A') RETURNING id`);
  const app = await sql(`INSERT INTO apps (account_id, group_id, kind, name) VALUES (${t.id}, ${g}, 'one', 'gw') RETURNING id`);
  const dev = await sql(`INSERT INTO devices (account_id, app_id, model, serial) VALUES (${t.id}, ${app}, 'LR8450', 'S1') RETURNING id`);
  await sql(`INSERT INTO channels (account_id, device_id, ch_key, name, selected) VALUES
    (${t.id}, ${dev}, 'CH1', 'a', true), (${t.id}, ${dev}, 'CH2', 'b', true), (${t.id}, ${dev}, 'CH3', 'c', false)`);

  const order = async (q, c = t.c) => {
    const r = await c.get(`/api/v1/drive${q}`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body.items.map((i) => i.name);
  };
  assert.deepEqual(await order(''), ['Alpha', 'zeta', 'Site A', 'A.bin', 'b.csv', 'c.txt', 'd.hok2']);
  assert.deepEqual(await order('?sort=name&order=desc'), ['zeta', 'Alpha', 'Site A', 'd.hok2', 'c.txt', 'b.csv', 'A.bin']);
  // Sizes: A.bin 10, c.txt 20, b.csv 30, d.hok2 394 (the fixture).
  assert.deepEqual(await order('?sort=size'), ['Alpha', 'zeta', 'Site A', 'A.bin', 'c.txt', 'b.csv', 'd.hok2']);
  assert.deepEqual(await order('?sort=size&order=desc'), ['zeta', 'Alpha', 'Site A', 'd.hok2', 'b.csv', 'c.txt', 'A.bin']);
  assert.deepEqual(await order('?sort=date'), ['zeta', 'Alpha', 'Site A', 'b.csv', 'c.txt', 'A.bin', 'd.hok2']);
  assert.deepEqual(await order('?sort=date&order=desc'), ['Alpha', 'zeta', 'Site A', 'd.hok2', 'A.bin', 'c.txt', 'b.csv']);
  // Kinds: the random .csv/.txt are "other"; tiny.hok2 is hok2; "hok2" < "other", then extension.
  assert.deepEqual(await order('?sort=kind'), ['Alpha', 'zeta', 'Site A', 'd.hok2', 'A.bin', 'b.csv', 'c.txt']);
  const root = (await t.c.get('/api/v1/drive')).body;
  assert.equal(root.folder, null);
  assert.deepEqual(root.path, []);
  assert.equal(root.sort, 'name');
  assert.equal(root.order, 'asc');
  const ds = root.items.find((i) => i.type === 'dataset');
  assert.deepEqual({ id: ds.id, kind: ds.kind, channels: ds.channels, read_only: ds.read_only },
    { id: Number(g), kind: 'dataset', channels: 2, read_only: true });
  assert.equal(root.storage.quota, 'P2');
  assert.equal(root.storage.plan, 'standard');
  assert.equal(root.storage.limit, 50_000_000_000);
  assert.equal(root.storage.drive_bytes, 60 + fixture('hok', 'tiny.hok2').length);
  // A member sees the groups granted to them only.
  assert.ok(!(await order('', m.c)).includes('Site A'));
  await sql(`INSERT INTO group_user_access (account_id, group_id, user_id) VALUES (${t.id}, ${g}, ${m.userId})`);
  assert.ok((await order('', m.c)).includes('Site A'));
  // Data sets are listed at the root only.
  assert.deepEqual(await order(`/folders/${ids.Alpha}`), []);
  for (const q of ['?sort=colour', '?order=up', '?sort=nameeeeeeeeeeeeeeeeeee']) {
    const r = await t.c.get(`/api/v1/drive${q}`);
    assert.equal(r.status, 400, q);
  }
});

// ------------------------------------------------------------------ quota

test('quota P2: exactly full is accepted, one byte past is refused; deleting frees it', async () => {
  const t = await tenant('free');
  // Bring the account 1000 bytes below the Free quota.
  let r = await setDataBytes(t, FREE_LIMIT - 1000);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(await storageUsed(t), FREE_LIMIT - 1000);
  // Content-Length over the room: refused before the body is read.
  r = await upload(t.c, 'too-big.bin', crypto.randomBytes(1001));
  assert.equal(r.status, 413, JSON.stringify(r.body));
  assert.deepEqual({ code: r.body.code, quota: r.body.quota, limit: r.body.limit, plan: r.body.plan },
    { code: 'plan_limit', quota: 'P2', limit: FREE_LIMIT, plan: 'free' });
  r = await upload(t.c, 'a.bin', crypto.randomBytes(600));
  assert.equal(r.status, 201, JSON.stringify(r.body));
  r = await upload(t.c, 'b.bin', crypto.randomBytes(400));
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const b = r.body;
  assert.equal(await storageUsed(t), FREE_LIMIT);
  // Exactly full: an empty file still fits, one byte does not.
  assert.equal((await upload(t.c, 'zero.bin', '')).status, 201);
  r = await upload(t.c, 'one.bin', 'x');
  assert.equal(r.status, 413);
  assert.equal(r.body.quota, 'P2');
  assert.equal(await count(`SELECT count(*) FROM drive_items WHERE account_id = ${t.id}`), 3);
  assert.equal((await storedFiles(t)).filter((f) => f.startsWith('loose:')).length, 0);
  // Deleting frees the quota.
  r = await t.c.del(`/api/v1/drive/files/${b.id}`);
  assert.equal(r.status, 200);
  assert.equal(await storageUsed(t), FREE_LIMIT - 400);
  r = await upload(t.c, 'one.bin', 'x');
  assert.equal(r.status, 201);
});

test('quota P2: a chunked upload is refused once it passes the room left, and leaves nothing', async () => {
  const t = await tenant('free');
  await setDataBytes(t, FREE_LIMIT - 100_000);
  const chunk = crypto.randomBytes(40_000);
  const r = await chunkedUpload(t.c, filesUrl('stream.bin'), [chunk, chunk, chunk, chunk, chunk]);
  assert.equal(r.status, 413, JSON.stringify(r.body));
  assert.equal(r.body.code, 'plan_limit');
  assert.equal(r.body.quota, 'P2');
  await sleep(50);
  assert.deepEqual((await storedFiles(t)), []);
  assert.equal(await count(`SELECT count(*) FROM drive_items WHERE account_id = ${t.id}`), 0);
  assert.equal(await storageUsed(t), FREE_LIMIT - 100_000);
  // Within the room, a chunked upload works and is counted exactly.
  const ok = await chunkedUpload(t.c, filesUrl('stream.bin'), [chunk, chunk]);
  assert.equal(ok.status, 201, JSON.stringify(ok.body));
  assert.equal(ok.body.size, 80_000);
  assert.equal(ok.body.sha256, sha256(Buffer.concat([chunk, chunk])));
  assert.equal(await storageUsed(t), FREE_LIMIT - 20_000);
  assert.deepEqual((await storedFiles(t)), [String(ok.body.id)]);
});

test('quota P2: two concurrent uploads cannot both take the last bytes', async () => {
  const t = await tenant('free');
  await setDataBytes(t, FREE_LIMIT - 1000);
  const rs = await Promise.all([0, 1, 2, 3].map((i) => upload(t.c, `p${i}.bin`, crypto.randomBytes(600))));
  const codes = rs.map((r) => r.status).sort();
  assert.deepEqual(codes, [201, 413, 413, 413], JSON.stringify(rs.map((r) => r.body)));
  assert.equal(await storageUsed(t), FREE_LIMIT - 400);
  assert.equal((await storedFiles(t)).length, 1);
});

// ----------------------------------------------------------- file rights

test('members: file access none sees nothing, view reads only, edit changes', async () => {
  const t = await tenant();
  const none = await member(t, 'nobody', 'none');
  const view = await member(t, 'looker', 'view');
  const edit = await member(t, 'editor', 'edit');
  const f = (await mkdir(t.c, 'shared')).body;
  const file = (await upload(t.c, 'doc.bin', 'secret bytes')).body;
  const reads = [['get', '/api/v1/drive'], ['get', `/api/v1/drive/folders/${f.id}`],
    ['get', `/api/v1/drive/files/${file.id}`], ['get', `/api/v1/drive/files/${file.id}/content`]];
  const writes = [['post', '/api/v1/drive/folders', { name: 'n' }],
    ['patch', `/api/v1/drive/folders/${f.id}`, { name: 'renamed' }],
    ['patch', `/api/v1/drive/files/${file.id}`, { name: 'renamed.bin' }],
    ['del', `/api/v1/drive/files/${file.id}`], ['del', `/api/v1/drive/folders/${f.id}`],
    ['post', `/api/v1/drive/files/${file.id}/import`, { channels: [{ index: 0, channel_id: 1 }] }]];
  for (const [meth, p, body] of [...reads, ...writes]) {
    const r = await none.c[meth](p, body);
    assert.equal(r.status, 403, `none ${meth} ${p}`);
  }
  assert.equal((await upload(none.c, 'x.bin', 'x')).status, 403);
  for (const [meth, p] of reads) {
    assert.equal((await view.c[meth](p)).status, 200, `view ${meth} ${p}`);
  }
  const d = await rawGet(view.c, `/api/v1/drive/files/${file.id}/content`);
  assert.equal(d.buf.toString(), 'secret bytes');
  for (const [meth, p, body] of writes) {
    assert.equal((await view.c[meth](p, body)).status, 403, `view ${meth} ${p}`);
  }
  assert.equal((await upload(view.c, 'x.bin', crypto.randomBytes(5000))).status, 403);
  assert.equal(await count(`SELECT count(*) FROM drive_items WHERE account_id = ${t.id}`), 2);
  assert.deepEqual((await storedFiles(t)), [String(file.id)]);
  // Edit rights: everything.
  let r = await upload(edit.c, 'mine.bin', 'x', { folder: f.id });
  assert.equal(r.status, 201);
  assert.equal(r.body.created_by, edit.userId);
  r = await edit.c.patch(`/api/v1/drive/folders/${f.id}`, { name: 'renamed' });
  assert.equal(r.status, 200);
  r = await edit.c.del(`/api/v1/drive/folders/${f.id}?recursive=1`);
  assert.equal(r.status, 200);
  r = await edit.c.del(`/api/v1/drive/files/${file.id}`);
  assert.equal(r.status, 200);
  assert.deepEqual((await storedFiles(t)), []);
});

test('tenants: another account\'s folder and file ids answer 404 and change nothing', async () => {
  const t = await tenant();
  const other = await tenant();
  const of = (await mkdir(other.c, 'theirs')).body;
  const ofile = (await upload(other.c, 'theirs.hok2', fixture('hok', 'tiny.hok2'), { folder: of.id })).body;
  const mine = (await upload(t.c, 'mine.bin', 'x')).body;
  const mf = (await mkdir(t.c, 'mine')).body;
  for (const [meth, p, body] of [
    ['get', `/api/v1/drive/folders/${of.id}`],
    ['patch', `/api/v1/drive/folders/${of.id}`, { name: 'stolen' }],
    ['del', `/api/v1/drive/folders/${of.id}?recursive=1`],
    ['post', '/api/v1/drive/folders', { name: 'in-theirs', parent_id: of.id }],
    ['get', `/api/v1/drive/files/${ofile.id}`],
    ['get', `/api/v1/drive/files/${ofile.id}/content`],
    ['get', `/api/v1/drive/files/${ofile.id}/channels`],
    ['post', `/api/v1/drive/files/${ofile.id}/import`, { channels: [{ index: 0, channel_id: 1 }] }],
    ['patch', `/api/v1/drive/files/${ofile.id}`, { name: 'stolen' }],
    ['del', `/api/v1/drive/files/${ofile.id}`],
    ['patch', `/api/v1/drive/files/${mine.id}`, { folder_id: of.id }],
    ['patch', `/api/v1/drive/folders/${mf.id}`, { parent_id: of.id }],
  ]) {
    const r = await t.c[meth](p, body);
    assert.equal(r.status, 404, `${meth} ${p}: ${JSON.stringify(r.body)}`);
  }
  assert.equal((await upload(t.c, 'x.bin', 'x', { folder: of.id })).status, 404);
  const d = await rawGet(t.c, `/api/v1/drive/files/${ofile.id}/content`);
  assert.equal(d.status, 404);
  assert.ok(!d.buf.includes(Buffer.from('MTHOK')));
  // Their drive is untouched, and their entries never show in ours.
  const theirs = (await other.c.get(`/api/v1/drive/folders/${of.id}`)).body;
  assert.deepEqual(theirs.items.map((i) => i.name), ['theirs.hok2']);
  assert.equal(theirs.folder.name, 'theirs');
  const ours = (await t.c.get('/api/v1/drive')).body;
  assert.deepEqual(ours.items.map((i) => i.name), ['mine', 'mine.bin']);
});

// ------------------------------------------------------- kinds and viewer

test('kinds: HOK, HOK2 and HIOKI CSV files are detected and their channels listed', async () => {
  const t = await tenant();
  const hok = (await upload(t.c, 'tiny.hok', fixture('hok', 'tiny.hok'))).body;
  const hok2 = (await upload(t.c, 'tiny.anything', fixture('hok', 'tiny.hok2'))).body;
  const csv = (await upload(t.c, 'LR8450_01.CSV', fixture('csv', 'lr8450_comma.csv'), { type: 'text/csv' })).body;
  const csvNamedBin = (await upload(t.c, 'lr.bin', fixture('csv', 'lr8450_comma.csv'))).body;
  const text = (await upload(t.c, 'notes.txt', 'Dear team,\nthe meeting is at 10.\n')).body;
  const bad = fixture('hok', 'tiny.hok2');
  bad[20] ^= 0xff; // inside the header: its checksum fails
  const broken = (await upload(t.c, 'broken.hok2', bad)).body;
  assert.deepEqual([hok.kind, hok2.kind, csv.kind, csvNamedBin.kind, text.kind, broken.kind],
    ['hok', 'hok2', 'hioki_csv', 'other', 'other', 'other']);
  assert.deepEqual([hok.viewable, hok2.viewable, csv.viewable, text.viewable], [true, true, true, false]);
  for (const f of [hok, hok2]) {
    const r = await t.c.get(`/api/v1/drive/files/${f.id}/channels`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.kind, f.kind);
    assert.ok(r.body.channels.length >= 1);
    for (const ch of r.body.channels) {
      assert.equal(typeof ch.name, 'string');
      assert.equal(typeof ch.unit, 'string');
      assert.equal(ch.samples, r.body.rows);
    }
    if (r.body.rows > 0) assert.ok(r.body.first_us <= r.body.last_us);
  }
  let r = await t.c.get(`/api/v1/drive/files/${csv.id}/channels?utc_offset_minutes=540`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.body.channels.map((c) => [c.name, c.unit, c.kind]),
    [['U1-1', 'C', 'analog'], ['U1-2', 'kPa', 'analog'], ['LOGIC-1', '', 'integer'],
      ['ALM-1', '', 'integer'], ['Event', '', 'event']]);
  assert.equal(r.body.rows, 3);
  // Trigger 2022-06-06 18:43:33 JST = 09:43:33 UTC.
  assert.equal(r.body.first, '2022-06-06T09:43:33Z');
  assert.equal(r.body.meta.title, 'Boiler test');
  for (const f of [text, csvNamedBin, broken]) {
    r = await t.c.get(`/api/v1/drive/files/${f.id}/channels`);
    assert.equal(r.status, 409, JSON.stringify(r.body));
    assert.equal(r.body.code, 'not_viewable');
  }
  r = await t.c.get(`/api/v1/drive/files/${csv.id}/channels?utc_offset_minutes=5000`);
  assert.equal(r.status, 400);
  const d = await rawGet(t.c, `/api/v1/drive/files/${csv.id}/content`);
  assert.equal(d.headers['content-type'], 'text/csv');
  assert.ok(d.buf.equals(fixture('csv', 'lr8450_comma.csv')));
});

test('kinds: a HOK2 file written by the WebAssembly core is detected and its channels listed', async (tt) => {
  const dir = process.env.METRON_WASM_DIR || path.join(repoRoot, 'build', 'wasm-build', 'wasm');
  if (!fs.existsSync(path.join(dir, 'metron_core.mjs'))) {
    tt.skip(`no wasm build in ${dir} (build it or set METRON_WASM_DIR)`);
    return;
  }
  const load = (f) => import(url.pathToFileURL(path.join(dir, f)).href);
  const createCore = (await load('metron_core.mjs')).default;
  const { bindHok } = await load('hok.mjs');
  const hok = bindHok(await createCore());
  const T0 = Date.UTC(2024, 0, 1);
  const n = 5000;
  const times = new Float64Array(n);
  const temp = new Float64Array(n);
  const volt = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    times[i] = T0 + i * 60000;
    temp[i] = 20 + (i % 50) / 10;
    volt[i] = 3.3;
  }
  const bytes = hok.write({
    meta: { title: 'Boiler', app: 'test', device: 'LR-1', model: 'LR8450', timezone: '+08:00', created: T0 },
    channels: [{ id: 1, name: 'Temp 1', unit: '°C', kind: 'measured', model: 'Z2011' },
      { id: 2, name: 'Batt', unit: 'V', kind: 'computed', model: '' }],
    times, values: [temp, volt],
  }, { format: 'hok2', blockRows: 1000 });
  const t = await tenant();
  const f = (await upload(t.c, 'boiler.hok2', Buffer.from(bytes))).body;
  assert.equal(f.kind, 'hok2');
  const r = await t.c.get(`/api/v1/drive/files/${f.id}/channels`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.rows, n);
  assert.equal(r.body.first_us, T0 * 1000);
  assert.equal(r.body.last_us, (T0 + (n - 1) * 60000) * 1000);
  assert.equal(r.body.first, '2024-01-01T00:00:00Z');
  assert.equal(r.body.meta.title, 'Boiler');
  assert.deepEqual(r.body.channels.map((c) => [c.name, c.unit, c.kind, c.samples]),
    [['Temp 1', '°C', 'measured', n], ['Batt', 'V', 'computed', n]]);
});

test('P24: importing a drive file is Pro only (the import itself: import.test.mjs)', async () => {
  const body = { channels: [{ index: 0, channel_id: 1 }] };
  for (const plan of ['free', 'standard']) {
    const t = await tenant(plan);
    const f = (await upload(t.c, 'tiny.hok2', fixture('hok', 'tiny.hok2'))).body;
    const r = await t.c.post(`/api/v1/drive/files/${f.id}/import`, body);
    assert.equal(r.status, 403, JSON.stringify(r.body));
    assert.deepEqual({ code: r.body.code, quota: r.body.quota, plan: r.body.plan },
      { code: 'plan_limit', quota: 'P24', plan });
  }
  const pro = await tenant('pro');
  const f = (await upload(pro.c, 'tiny.hok2', fixture('hok', 'tiny.hok2'))).body;
  // Channel 1 is not one of this account's measured channels.
  let r = await pro.c.post(`/api/v1/drive/files/${f.id}/import`, body);
  assert.equal(r.status, 404, JSON.stringify(r.body));
  const other = (await upload(pro.c, 'x.bin', 'x')).body;
  r = await pro.c.post(`/api/v1/drive/files/${other.id}/import`, body);
  assert.equal(r.status, 409);
  assert.equal(r.body.code, 'not_importable');
  r = await pro.c.post('/api/v1/drive/files/987654321/import', body);
  assert.equal(r.status, 404);
});

test('unknown members: folder and file writes and the import refuse them, nothing changes', async () => {
  const t = await tenant('pro');
  const dir = (await mkdir(t.c, 'Docs')).body;
  const f = (await upload(t.c, 'tiny.hok2', fixture('hok', 'tiny.hok2'))).body;
  const state = () => sql(`SELECT md5(string_agg(d::text, '|' ORDER BY d.id)) FROM drive_items d
    WHERE account_id = ${t.id}`);
  const before = await state();
  for (const [m, p, body] of [
    ['post', '/api/v1/drive/folders', { name: 'New', shared: true }],
    ['patch', `/api/v1/drive/folders/${dir.id}`, { name: 'Renamed', shared: true }],
    // A file has a folder_id, not a parent_id (and the other way round).
    ['patch', `/api/v1/drive/files/${f.id}`, { name: 'renamed.hok2', parent_id: dir.id }],
    ['patch', `/api/v1/drive/folders/${dir.id}`, { folder_id: null }],
    ['post', `/api/v1/drive/files/${f.id}/import`, { channels: [{ index: 0, channel_id: 1 }],
      shared: true }],
  ]) {
    const r = await t.c[m](p, body);
    const unknown = Object.keys(body).find((k) => !['name', 'channels'].includes(k));
    assert.equal(r.status, 400, `${m} ${p} ${JSON.stringify(r.body)}`);
    assert.equal(r.body.code, 'unknown_field', `${m} ${p}`);
    assert.equal(r.body.field, unknown, `${m} ${p}`);
  }
  assert.equal(await state(), before);
});

// -------------------------------------------------- retention and sweeps

test('L5 retention: Free accounts lose files over a year old; paid ones keep them; orphans are swept', async () => {
  const free = await tenant('free');
  const std = await tenant('standard');
  const lapsed = await tenant('standard');
  const gone = await tenant('free');
  const oldFree = (await upload(free.c, 'old.bin', crypto.randomBytes(700))).body;
  const newFree = (await upload(free.c, 'new.bin', crypto.randomBytes(300))).body;
  const oldStd = (await upload(std.c, 'old.bin', crypto.randomBytes(100))).body;
  const oldLapsed = (await upload(lapsed.c, 'old.bin', crypto.randomBytes(100))).body;
  await upload(gone.c, 'g.bin', 'x');
  await sql(`UPDATE drive_items SET created_at = now() - interval '400 days'
    WHERE id IN (${oldFree.id}, ${oldStd.id}, ${oldLapsed.id})`);
  // A Standard licence that lapsed: the account is Free now (L3).
  await sql(`UPDATE accounts SET licence_expires_at = now() - interval '3 days' WHERE id = ${lapsed.id}`);
  // An account deleted: its rows cascade, its files' bytes with them.
  await sql(`DELETE FROM accounts WHERE id = ${gone.id}`);
  assert.equal(await count(`SELECT count(*) FROM file_blobs WHERE account_id = ${gone.id}`), 0);
  assert.equal(await count(`SELECT count(*) FROM file_chunks WHERE account_id = ${gone.id}`), 0);
  // Leftovers in the store: uploads that stopped two hours ago (a client that
  // went away, a server that died) and one still arriving; a complete blob
  // that nothing holds (cannot happen through the API: a safety net).
  const blob = async (state, age) => Number(await sql(`WITH b AS (INSERT INTO file_blobs
    (account_id, state, chunk_size, updated_at) VALUES (${free.id}, '${state}', 1048576,
    now() - interval '${age}') RETURNING account_id, id)
    INSERT INTO file_chunks SELECT account_id, id, 0, '\\x0102' FROM b RETURNING blob_id`));
  const staleUpload = await blob('writing', '2 hours');
  const freshUpload = await blob('writing', '1 minute');
  const loose = await blob('ready', '2 hours');
  const usedBefore = await storageUsed(free);

  const r = await request(srv.url, 'POST', '/api/v1/test/drive-retention', { body: {} });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.files_deleted, 2);
  assert.equal(r.body.bytes_freed, 800);
  assert.equal(r.body.orphans_removed, 2);
  assert.equal(await storageUsed(free), usedBefore - 700);
  assert.equal(await count(`SELECT count(*) FROM drive_items WHERE id IN (${oldFree.id}, ${oldLapsed.id})`), 0);
  assert.equal(await count(`SELECT count(*) FROM drive_items WHERE id IN (${newFree.id}, ${oldStd.id})`), 2);
  assert.deepEqual(await storedFiles(free), [String(newFree.id), `loose:${freshUpload}`].sort());
  assert.deepEqual(await storedFiles(std), [String(oldStd.id)]);
  assert.deepEqual(await storedFiles(lapsed), []);
  assert.equal(await count(`SELECT count(*) FROM file_blobs WHERE id IN (${staleUpload}, ${loose})`), 0);
  assert.equal(await count(`SELECT count(*) FROM file_chunks WHERE blob_id IN (${staleUpload}, ${loose})`), 0);
  await sql(`DELETE FROM file_blobs WHERE id = ${freshUpload}`);
  // Nothing more to do the second time.
  const again = await request(srv.url, 'POST', '/api/v1/test/drive-retention', { body: {} });
  assert.deepEqual(again.body, { accounts: 0, files_deleted: 0, bytes_freed: 0, orphans_removed: 0 });
  // Test routes check their input.
  for (const body of [{ account_id: free.id }, { account_id: free.id, data_bytes: -1 },
    { account_id: 'x', data_bytes: 1 }]) {
    assert.equal((await request(srv.url, 'POST', '/api/v1/test/storage', { body })).status, 400,
      JSON.stringify(body));
  }
  assert.equal((await request(srv.url, 'POST', '/api/v1/test/storage',
    { body: { account_id: 987654321, data_bytes: 1 } })).status, 404);
});

test('a download resumes: one byte range gets 206, an impossible one 416, others the whole file',
  async () => {
    const t = await tenant();
    const bytes = crypto.randomBytes(1_200_000); // more than one 1 MiB chunk of the store
    const r = await upload(t.c, 'resume.bin', bytes);
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const url = `/api/v1/drive/files/${r.body.id}/content`;
    const whole = await rawGet(t.c, url);
    assert.equal(whole.status, 200);
    assert.equal(whole.headers['accept-ranges'], 'bytes');
    assert.match(whole.headers.etag, /^"b[0-9a-f]+-[0-9a-f]+"$/);
    assert.match(whole.headers['last-modified'], /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/);
    assert.ok(whole.buf.equals(bytes));
    const size = bytes.length;
    const part = async (range, first, last, extra = {}) => {
      const d = await rawGet(t.c, url, { range, ...extra });
      assert.equal(d.status, 206, `${range}: ${d.status}`);
      assert.equal(d.headers['content-range'], `bytes ${first}-${last}/${size}`);
      assert.equal(d.headers['content-length'], String(last - first + 1));
      assert.ok(d.buf.equals(bytes.subarray(first, last + 1)), `bytes of ${range}`);
      assert.equal(d.headers['content-disposition'], whole.headers['content-disposition']);
      assert.equal(d.headers['x-content-type-options'], 'nosniff');
    };
    await part('bytes=0-9', 0, 9);
    await part('bytes=1048570-1048590', 1048570, 1048590); // across the chunk border
    await part('bytes=1048576-1048576', 1048576, 1048576); // the first byte of a chunk
    await part('bytes=100000-', 100000, size - 1); // the rest: a resumed download
    await part('bytes=-500', size - 500, size - 1);
    await part(`bytes=${size - 1}-${size + 1000}`, size - 1, size - 1); // cut at the end
    await part('bytes=-9999999', 0, size - 1);
    // Resuming the same file (If-Range = its ETag or its date): the part.
    await part('bytes=5-15', 5, 15, { 'if-range': whole.headers.etag });
    await part('bytes=5-15', 5, 15, { 'if-range': whole.headers['last-modified'] });
    // A range outside the file: 416 with the size, JSON error.
    for (const range of [`bytes=${size}-`, `bytes=${size + 10}-${size + 20}`, 'bytes=-0']) {
      const d = await rawGet(t.c, url, { range });
      assert.equal(d.status, 416, range);
      assert.equal(d.headers['content-range'], `bytes */${size}`);
      assert.equal(JSON.parse(d.buf.toString()).code, 'range_not_satisfiable');
    }
    // Several ranges, a malformed one, another unit, or an If-Range of
    // another file version: the whole file, 200.
    for (const [range, ifRange] of [['bytes=0-1,5-6'], ['bytes=9-5'], ['bytes=x-'],
      ['items=0-5'], ['bytes=0-9', '"0-0"'], ['bytes=0-9', 'Thu, 01 Jan 1970 00:00:00 GMT'],
      ['bytes=0-9', `W/${whole.headers.etag}`]]) {
      const d = await rawGet(t.c, url, ifRange ? { range, 'if-range': ifRange } : { range });
      assert.equal(d.status, 200, `${range} ${ifRange || ''}`);
      assert.equal(d.headers['content-range'], undefined);
      assert.ok(d.buf.equals(bytes), `${range} ${ifRange || ''}: whole file`);
    }
    // Another account's file stays unknown, range or not.
    const other = await tenant();
    const d = await rawGet(other.c, url, { range: 'bytes=0-9' });
    assert.equal(d.status, 404);
    assert.equal(JSON.parse(d.buf.toString()).code, 'not_found');
  });

/**
 * POST "p" with "Expect: 100-continue" on a raw socket: the body is sent
 * only once "100 Continue" came. Resolves with { interim: the 100 lines
 * seen, status, body } (the body unsent when the final answer came first).
 */
function expectUpload(c, p, bytes) {
  return new Promise((resolve, reject) => {
    const u = new URL(p, srv.url);
    const s = net.connect(Number(u.port), u.hostname);
    let text = Buffer.alloc(0);
    let sent = false;
    const interim = [];
    s.on('error', reject);
    s.on('connect', () => s.write(`POST ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\n` +
      `Cookie: metron_session=${c.cookie}\r\nX-CSRF-Token: ${c.csrf}\r\n` +
      'Content-Type: application/octet-stream\r\n' +
      `Content-Length: ${bytes.length}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`));
    s.on('data', (d) => {
      text = Buffer.concat([text, d]);
      for (;;) {
        const head = text.indexOf('\r\n\r\n');
        if (head < 0 || !text.subarray(0, 13).toString().startsWith('HTTP/1.1 100 ')) break;
        interim.push(text.subarray(0, head).toString());
        text = text.subarray(head + 4);
        if (!sent) {
          sent = true;
          s.write(bytes);
        }
      }
    });
    s.on('end', () => {
      const t = text.toString('latin1');
      const head = t.indexOf('\r\n\r\n');
      resolve({ interim, sent, status: Number(t.slice(9, 12)), body: JSON.parse(t.slice(head + 4)) });
    });
  });
}

test('uploads: "Expect: 100-continue" is answered once the checks passed; a refusal comes at once, without the body',
  async () => {
    const t = await tenant();
    // 9.5 MiB: three statements of the store (4 + 4 + 2 chunk rows, the
    // last one partial), byte-identical, one row per 1 MiB.
    const bytes = crypto.randomBytes(9.5 * 1024 * 1024);
    let r = await expectUpload(t.c, filesUrl('continue.bin'), bytes);
    assert.deepEqual(r.interim, ['HTTP/1.1 100 Continue']);
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.size, bytes.length);
    assert.equal(r.body.sha256, sha256(bytes));
    const d = await rawGet(t.c, `/api/v1/drive/files/${r.body.id}/content`);
    assert.ok(d.buf.equals(bytes));
    assert.equal(await sql(`SELECT count(*) || ' ' || max(seq) || ' ' || sum(octet_length(data))
      FROM file_chunks c JOIN drive_items i ON i.account_id = c.account_id AND i.blob_id = c.blob_id
      WHERE i.id = ${r.body.id}`), `10 9 ${bytes.length}`);
    // Refused before the body (a bad name; over the quota): no 100, the
    // refusal, nothing stored.
    r = await expectUpload(t.c, filesUrl('a/b'), bytes.subarray(0, 1000));
    assert.deepEqual([r.interim, r.sent, r.status, r.body.code], [[], false, 400, 'invalid_name']);
    const f = await tenant('free');
    await setDataBytes(f, FREE_LIMIT - 1000);
    r = await expectUpload(f.c, filesUrl('big.bin'), bytes.subarray(0, 2000));
    assert.deepEqual([r.interim, r.sent, r.status, r.body.quota], [[], false, 413, 'P2']);
    assert.deepEqual(await storedFiles(f), []);
  });

test('the bytes live in the database: another server process on the database serves them', async () => {
  const t = await tenant();
  const bytes = crypto.randomBytes(2_500_000); // three chunks of the store
  const r = await upload(t.c, 'shared.bin', bytes);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const hok = await upload(t.c, 'clip.hok2', fixture('hok', 'tiny.hok2'));
  const other = await startServer({ databaseUrl: pg.url(db) });
  try {
    const c2 = sessionClient(other.url, { cookie: t.c.cookie, csrf: t.c.csrf });
    const get = (p, headers) => rawGet({ ...c2, base: other.url }, p, headers);
    let d = await get(`/api/v1/drive/files/${r.body.id}/content`);
    assert.equal(d.status, 200);
    assert.ok(d.buf.equals(bytes));
    assert.equal(crypto.createHash('sha256').update(d.buf).digest('hex'), r.body.sha256);
    d = await get(`/api/v1/drive/files/${r.body.id}/content`, { range: 'bytes=2097100-2097200' });
    assert.equal(d.status, 206);
    assert.ok(d.buf.equals(bytes.subarray(2097100, 2097201)));
    // Core reads a HOK2 file from a copy the other process makes for itself.
    if (hok.status === 201 && hok.body.kind === 'hok2') {
      const ch = await c2.get(`/api/v1/drive/files/${hok.body.id}/channels`);
      assert.equal(ch.status, 200, JSON.stringify(ch.body));
      assert.ok(ch.body.channels.length > 0);
    }
    // Deleted through the other process: gone for both, its bytes too.
    assert.equal((await c2.del(`/api/v1/drive/files/${r.body.id}`)).status, 200);
    assert.equal((await rawGet(t.c, `/api/v1/drive/files/${r.body.id}/content`)).status, 404);
    assert.ok(!(await storedFiles(t)).includes(String(r.body.id)));
    assert.equal(await count(`SELECT count(*) FROM file_chunks c WHERE account_id = ${t.id}
      AND NOT EXISTS (SELECT 1 FROM drive_items i WHERE i.account_id = c.account_id
                      AND i.blob_id = c.blob_id)`), 0);
  } finally {
    assert.equal((await other.stop()).code, 0, other.stderr());
    fs.rmSync(other.dataDir, { recursive: true, force: true });
  }
});

test('files older versions kept on disk move into the database at start, once', async () => {
  const t = await tenant();
  const a = crypto.randomBytes(1_500_000);
  const b = Buffer.from('second file');
  const ra = (await upload(t.c, 'a.bin', a)).body;
  const rb = (await upload(t.c, 'b.csv', b)).body;
  const updated = await sql(`SELECT updated_at FROM drive_items WHERE id = ${ra.id}`);
  // The layout before the store: DATA/drive/<account>/<id>, no blob.
  const dataDir = tempDir('metron-old-');
  const dir = path.join(dataDir, 'drive', String(t.id));
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, String(ra.id)), a);
  fs.writeFileSync(path.join(dir, String(rb.id)), b);
  fs.writeFileSync(path.join(dir, '999999999'), 'no record names me');
  await sql(`UPDATE drive_items SET blob_id = NULL WHERE id IN (${ra.id}, ${rb.id})`);
  await sql(`DELETE FROM file_blobs b WHERE account_id = ${t.id}`);
  // Meanwhile (no file in the store) the download says so.
  assert.equal((await rawGet(t.c, `/api/v1/drive/files/${ra.id}/content`)).status, 404);
  let old = await startServer({ databaseUrl: pg.url(db), dataDir });
  try {
    assert.match(old.stderr(), /moved 2 drive files and 0 export files \(1500011 bytes\)/);
    for (const [f, want] of [[ra, a], [rb, b]]) {
      const d = await rawGet(t.c, `/api/v1/drive/files/${f.id}/content`);
      assert.equal(d.status, 200);
      assert.ok(d.buf.equals(want));
    }
    assert.deepEqual(await storedFiles(t), [String(ra.id), String(rb.id)].sort());
    assert.equal(await sql(`SELECT updated_at FROM drive_items WHERE id = ${ra.id}`), updated);
    assert.deepEqual(fs.readdirSync(dir), ['999999999']); // not ours to judge: left in place
    assert.equal((await old.stop()).code, 0, old.stderr());
    // Again: nothing to move.
    old = await startServer({ databaseUrl: pg.url(db), dataDir });
    assert.doesNotMatch(old.stderr(), /moved \d+ drive files/);
    assert.deepEqual(await storedFiles(t), [String(ra.id), String(rb.id)].sort());
  } finally {
    await old.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});
