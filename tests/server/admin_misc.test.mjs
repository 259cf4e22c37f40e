// Administration API part B: system notification recipients (G4), inquiries
// (G5), the own logo (G7, P22) and the notifications inbox (N1).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { createAccount, createUser, login, startStack, stopStack } from './harness.mjs';

let pg;
let srv;
let db;
const PW = 'Correct-h0rse';
let seq = 0;
const uniq = (p) => `${p}${++seq}-${process.pid % 10000}`;
const sql = (q) => pg.psql(q, db);
const count = async (q) => Number(await sql(q));

before(async () => {
  ({ pg, srv, db } = await startStack());
});

after(() => stopStack({ pg, srv }));

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

async function member(t, name = 'member') {
  const { userId } = await createUser(srv.url, { accountId: t.id, user: name, password: PW,
    role: 'member', email: `${name}@${t.account}.test` });
  return { userId, c: await login(srv.url, { account: t.account, user: name, password: PW }) };
}

// ------------------------------------------------------------- recipients

test('recipients: create, list, detail, edit, delete for each kind, audited', async () => {
  const t = await tenant();
  const made = [];
  for (const [kind, address] of [['email', 'ops@example.com'],
    ['wechat', 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc'],
    ['slack', 'https://hooks.slack.com/services/T0/B0/XYZ'],
    ['teams', 'http://teams.example.com:8443/webhook/1']]) {
    const r = await t.c.post('/api/v1/notification-recipients', { kind, address, name: kind });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.kind, kind);
    assert.equal(r.body.language, 'en');
    assert.equal(r.body.enabled, true);
    made.push(r.body);
  }
  let r = await t.c.get('/api/v1/notification-recipients');
  assert.deepEqual(r.body.items.map((x) => x.id), made.map((x) => x.id));
  r = await t.c.patch(`/api/v1/notification-recipients/${made[0].id}`,
    { address: 'team@example.org', language: 'ja', enabled: false });
  assert.equal(r.status, 200);
  assert.equal(r.body.address, 'team@example.org');
  assert.equal(r.body.language, 'ja');
  assert.equal(r.body.enabled, false);
  // Switching kind re-validates the kept address.
  r = await t.c.patch(`/api/v1/notification-recipients/${made[0].id}`, { kind: 'slack' });
  assert.equal(r.status, 400);
  assert.equal(r.body.field, 'address');
  r = await t.c.post('/api/v1/notification-recipients', { kind: 'email', address: 'team@example.org' });
  assert.equal(r.status, 409);
  r = await t.c.del(`/api/v1/notification-recipients/${made[1].id}`);
  assert.equal(r.status, 200);
  assert.equal((await t.c.get(`/api/v1/notification-recipients/${made[1].id}`)).status, 404);
  assert.equal(await count(`SELECT count(*) FROM audit_log WHERE account_id = ${t.id}
    AND action LIKE 'recipient.%'`), 6);
});

test('recipients: bad addresses and URLs are refused and change nothing', async () => {
  const t = await tenant();
  const bad = [
    ['email', 'not-an-address'], ['email', 'a@b'], ['email', 'a b@example.com'],
    ['email', 'a@exa mple.com'], ['email', '@example.com'], ['email', 'a@@example.com'],
    ['email', 'a@-example.com'], ['email', `${'x'.repeat(65)}@example.com`],
    ['email', 'a@example.123'], ['email', '"a"@example.com'],
    ['slack', 'ftp://hooks.slack.com/x'], ['slack', 'javascript:alert(1)'],
    ['teams', 'https://user:pw@evil.example/x'], ['teams', 'https://'],
    ['wechat', 'https://exa mple.com/'], ['wechat', 'https://example.com:99999/'],
    ['slack', 'hooks.slack.com/services/x'], ['teams', 'https://a..b/'],
    ['slack', 'https://example.com/\u00e9'],
  ];
  for (const [kind, address] of bad) {
    const r = await t.c.post('/api/v1/notification-recipients', { kind, address });
    assert.equal(r.status, 400, `${kind} ${address}`);
    assert.equal(r.body.field, 'address', `${kind} ${address}`);
  }
  for (const [body, field] of [[{ kind: 'sms', address: 'a@example.com' }, 'kind'],
    [{ kind: 'email' }, 'address'], [{ kind: 'email', address: 5 }, 'address'],
    [{ kind: 'email', address: 'a@example.com', language: 'xx' }, 'language'],
    [{ kind: 'email', address: 'a@example.com', enabled: 'no' }, 'enabled'],
    [{ kind: 'email', address: 'a@example.com', name: 'n'.repeat(101) }, 'name'],
    [{ kind: 'slack', address: `https://example.com/${'p'.repeat(2000)}` }, 'address'],
    [{ kind: 'email', address: 'a@example.com', cc: 'b@example.com' }, 'cc']]) {
    const r = await t.c.post('/api/v1/notification-recipients', body);
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.equal(r.body.field, field, JSON.stringify(r.body));
  }
  assert.equal(await count(`SELECT count(*) FROM system_notification_recipients
    WHERE account_id = ${t.id}`), 0);
  // An unknown member of an edit: 400 unknown_field, the recipient as it was.
  const made = await t.c.post('/api/v1/notification-recipients', { kind: 'email',
    address: 'a@example.com' });
  const r = await t.c.patch(`/api/v1/notification-recipients/${made.body.id}`,
    { address: 'b@example.com', cc: 'c@example.com' });
  assert.equal(r.status, 400);
  assert.equal(r.body.code, 'unknown_field');
  assert.equal(r.body.field, 'cc');
  assert.deepEqual((await t.c.get(`/api/v1/notification-recipients/${made.body.id}`)).body,
    made.body);
});

test('recipients: members are refused; other accounts\' ids are 404', async () => {
  const t = await tenant();
  const other = await tenant();
  const m = await member(t);
  const r0 = await other.c.post('/api/v1/notification-recipients',
    { kind: 'email', address: 'x@example.com' });
  const id = r0.body.id;
  for (const [meth, p, body] of [['get', '/api/v1/notification-recipients'],
    ['post', '/api/v1/notification-recipients', { kind: 'email', address: 'm@example.com' }],
    ['get', `/api/v1/notification-recipients/${id}`],
    ['patch', `/api/v1/notification-recipients/${id}`, { name: 'x' }],
    ['del', `/api/v1/notification-recipients/${id}`]]) {
    assert.equal((await m.c[meth](p, body)).status, 403, `${meth} ${p}`);
  }
  for (const [meth, p, body] of [['get', `/api/v1/notification-recipients/${id}`],
    ['patch', `/api/v1/notification-recipients/${id}`, { name: 'x' }],
    ['del', `/api/v1/notification-recipients/${id}`]]) {
    assert.equal((await t.c[meth](p, body)).status, 404, `${meth} ${p}`);
  }
  assert.deepEqual((await t.c.get('/api/v1/notification-recipients')).body.items, []);
  assert.equal(await sql(`SELECT name || address FROM system_notification_recipients
    WHERE id = ${id}`), 'x@example.com');
});

// -------------------------------------------------------------- inquiries

test('inquiries: every kind can be sent and listed newest first, with paging', async () => {
  const t = await tenant();
  const ids = [];
  for (const kind of ['inquiry', 'fault_report', 'investigation_request', 'account_deletion']) {
    const r = await t.c.post('/api/v1/inquiries', { kind, subject: `About ${kind}`,
      body: 'Details\nmore', allow_remote_access: kind === 'fault_report' });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.kind, kind);
    assert.equal(r.body.status, 'open');
    assert.equal(r.body.user_id, t.userId);
    assert.equal(r.body.allow_remote_access, kind === 'fault_report');
    ids.push(r.body.id);
  }
  let r = await t.c.get('/api/v1/inquiries');
  assert.equal(r.body.total, 4);
  assert.deepEqual(r.body.items.map((x) => x.id), [...ids].reverse());
  r = await t.c.get('/api/v1/inquiries?limit=2&offset=2');
  assert.deepEqual(r.body.items.map((x) => x.id), [ids[1], ids[0]]);
  r = await t.c.get(`/api/v1/inquiries/${ids[0]}`);
  assert.equal(r.body.subject, 'About inquiry');
  assert.equal((await t.c.get('/api/v1/inquiries?limit=0')).status, 400);
  assert.equal((await t.c.get('/api/v1/inquiries?limit=101')).status, 400);
  assert.equal(await count(`SELECT count(*) FROM audit_log WHERE account_id = ${t.id}
    AND action = 'inquiry.create'`), 4);
});

test('inquiries: bad input is refused; members see only their own and cannot ask for deletion', async () => {
  const t = await tenant();
  const m = await member(t);
  for (const [body, field] of [[{ kind: 'complaint', subject: 's', body: 'b' }, 'kind'],
    [{ kind: 'inquiry', body: 'b' }, 'subject'], [{ kind: 'inquiry', subject: 's' }, 'body'],
    [{ kind: 'inquiry', subject: 's'.repeat(201), body: 'b' }, 'subject'],
    [{ kind: 'inquiry', subject: 's', body: 'b'.repeat(10001) }, 'body'],
    [{ kind: 'inquiry', subject: 's', body: '  ' }, 'body'],
    [{ kind: 'inquiry', subject: 's', body: 'b', allow_remote_access: 1 }, 'allow_remote_access'],
    [{ kind: 'inquiry', subject: 's', body: 'b', urgent: true }, 'urgent']]) {
    const r = await t.c.post('/api/v1/inquiries', body);
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.equal(r.body.field, field);
    if (field === 'urgent') assert.equal(r.body.code, 'unknown_field');
  }
  const mine = await m.c.post('/api/v1/inquiries', { kind: 'fault_report', subject: 'broken',
    body: 'it is' });
  assert.equal(mine.status, 201);
  const admins = await t.c.post('/api/v1/inquiries', { kind: 'inquiry', subject: 'a', body: 'b' });
  let r = await m.c.post('/api/v1/inquiries', { kind: 'account_deletion', subject: 'bye', body: 'x' });
  assert.equal(r.status, 403);
  r = await m.c.get('/api/v1/inquiries');
  assert.deepEqual(r.body.items.map((x) => x.id), [mine.body.id]);
  assert.equal((await m.c.get(`/api/v1/inquiries/${admins.body.id}`)).status, 404);
  r = await t.c.get('/api/v1/inquiries');
  assert.equal(r.body.total, 2);
  assert.equal(await count(`SELECT count(*) FROM inquiries WHERE account_id = ${t.id}`), 2);
});

test('inquiries: other accounts\' ids are 404 and never listed', async () => {
  const t = await tenant();
  const other = await tenant();
  const r0 = await other.c.post('/api/v1/inquiries', { kind: 'inquiry', subject: 's', body: 'b' });
  assert.equal((await t.c.get(`/api/v1/inquiries/${r0.body.id}`)).status, 404);
  assert.deepEqual((await t.c.get('/api/v1/inquiries')).body.items, []);
});

// ------------------------------------------------------------------- logo

function crc32(buf) {
  let c = ~0;
  for (const b of buf) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}

/** A real 1x1 PNG, padded with a tEXt chunk to about "size" bytes. */
function png(size = 0) {
  const ihdr = Buffer.from([0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0]);
  const idat = zlib.deflateSync(Buffer.from([0, 0x7f]));
  const parts = [Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr)];
  if (size > 0) parts.push(chunk('tEXt', Buffer.alloc(size, 0x41)));
  parts.push(chunk('IDAT', idat), chunk('IEND', Buffer.alloc(0)));
  return Buffer.concat(parts);
}

const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46, 0, 1, 1, 0,
  0, 1, 0, 1, 0, 0, 0xff, 0xd9]);

async function getLogo(c) {
  const res = await fetch(`${srv.url}/api/v1/account/logo`,
    { headers: { cookie: `metron_session=${c.cookie}` } });
  return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
}

test('logo: upload PNG and JPEG, served with its type and nosniff, delete', async () => {
  const t = await tenant('free');
  const m = await member(t);
  assert.equal((await getLogo(t.c)).status, 404);
  const img = png();
  let r = await t.c.put('/api/v1/account/logo', { data: img.toString('base64') });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.body, { content_type: 'image/png', bytes: img.length });
  let got = await getLogo(m.c); // members see it too
  assert.equal(got.status, 200);
  assert.equal(got.headers.get('content-type'), 'image/png');
  assert.equal(got.headers.get('x-content-type-options'), 'nosniff');
  assert.match(got.headers.get('content-security-policy'), /default-src 'none'/);
  assert.deepEqual(got.bytes, img);
  r = await t.c.put('/api/v1/account/logo', { content_type: 'image/jpeg', data: jpeg.toString('base64') });
  assert.equal(r.status, 200);
  got = await getLogo(t.c);
  assert.equal(got.headers.get('content-type'), 'image/jpeg');
  assert.deepEqual(got.bytes, jpeg);
  assert.equal((await m.c.put('/api/v1/account/logo', { data: img.toString('base64') })).status, 403);
  assert.equal((await m.c.del('/api/v1/account/logo')).status, 403);
  r = await t.c.del('/api/v1/account/logo');
  assert.equal(r.status, 200);
  assert.equal((await getLogo(t.c)).status, 404);
  assert.equal((await t.c.del('/api/v1/account/logo')).status, 404);
  assert.equal(await count(`SELECT count(*) FROM audit_log WHERE account_id = ${t.id}
    AND action LIKE 'logo.%'`), 3);
});

test('logo (JSON form): wrong magic bytes, SVG, a lying type, bad base64 and bodies over --max-body are refused', async () => {
  const t = await tenant('standard');
  const good = png();
  await t.c.put('/api/v1/account/logo', { data: good.toString('base64') });
  const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>');
  const html = Buffer.from('<html><script>alert(1)</script></html>');
  for (const bytes of [svg, html, Buffer.from('GIF89a'), Buffer.from([0x89, 0x50, 0x4e, 0x47]),
    Buffer.from('RIFF\0\0\0\0WAVEfmt ', 'latin1'), Buffer.alloc(0)]) {
    const r = await t.c.put('/api/v1/account/logo', { data: bytes.toString('base64') });
    assert.equal(r.status, 400, bytes.toString('latin1'));
    assert.equal(r.body.code, 'unsupported_image');
  }
  let r = await t.c.put('/api/v1/account/logo', { content_type: 'image/jpeg', data: good.toString('base64') });
  assert.equal(r.status, 400);
  assert.equal(r.body.field, 'content_type');
  r = await t.c.put('/api/v1/account/logo', { data: png(64).toString('base64'), name: 'x.png' });
  assert.equal(r.status, 400);
  assert.equal(r.body.code, 'unknown_field');
  assert.equal(r.body.field, 'name');
  assert.deepEqual((await getLogo(t.c)).bytes, good);
  r = await t.c.put('/api/v1/account/logo', { data: '!!not base64!!' });
  assert.equal(r.status, 400);
  r = await t.c.put('/api/v1/account/logo', { data: 12 });
  assert.equal(r.status, 400);
  // The JSON form is bounded by --max-body (1 MiB of base64, about 768 KiB of image).
  r = await t.c.put('/api/v1/account/logo', { data: png(800 * 1024).toString('base64') });
  assert.equal(r.status, 413);
  assert.equal(r.body.code, 'body_too_large');
  const big = png(700 * 1024);
  r = await t.c.put('/api/v1/account/logo', { data: big.toString('base64') });
  assert.equal(r.status, 200);
  assert.deepEqual((await getLogo(t.c)).bytes, big);
  // Still a JSON body: malformed or non-object JSON is refused as everywhere.
  r = await t.c.put('/api/v1/account/logo', '{"data": ');
  assert.equal(r.status, 400);
  assert.equal(r.body.code, 'malformed_json');
  r = await t.c.put('/api/v1/account/logo', '[1]');
  assert.equal(r.body.code, 'wrong_type');
  r = await t.c.put('/api/v1/account/logo', Buffer.from([0x7b, 0xff, 0x7d]));
  assert.equal(r.body.code, 'malformed_json');
});

/** A minimal GIF and WebP (magic bytes and the first structure). */
const gif = Buffer.from('GIF89a\x01\x00\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;',
  'latin1');
const webp = Buffer.concat([Buffer.from('RIFF', 'latin1'), Buffer.from([26, 0, 0, 0]),
  Buffer.from('WEBPVP8L', 'latin1'), Buffer.from([13, 0, 0, 0, 0x2f, 0, 0, 0, 0, 0, 0, 0, 0, 0])]);

test('logo: raw upload of PNG, JPEG, GIF and WebP with their Content-Type, up to 1 MiB', async () => {
  const t = await tenant('free');
  for (const [type, bytes] of [['image/png', png()], ['image/jpeg', jpeg], ['image/gif', gif],
    ['image/webp', webp]]) {
    const r = await t.c.put('/api/v1/account/logo', bytes, { 'content-type': type });
    assert.equal(r.status, 200, `${type}: ${JSON.stringify(r.body)}`);
    assert.deepEqual(r.body, { content_type: type, bytes: bytes.length });
    const got = await getLogo(t.c);
    assert.equal(got.headers.get('content-type'), type);
    assert.equal(got.headers.get('x-content-type-options'), 'nosniff');
    assert.deepEqual(got.bytes, bytes);
  }
  // Parameters and case of the media type do not matter.
  let r = await t.c.put('/api/v1/account/logo', jpeg, { 'content-type': 'IMAGE/JPEG; q=1' });
  assert.equal(r.status, 200);
  // The declared type must be what the bytes are.
  r = await t.c.put('/api/v1/account/logo', png(), { 'content-type': 'image/gif' });
  assert.equal(r.status, 400);
  assert.equal(r.body.code, 'unsupported_image');
  r = await t.c.put('/api/v1/account/logo', Buffer.from('<svg/>'), { 'content-type': 'image/png' });
  assert.equal(r.status, 400);
  r = await t.c.put('/api/v1/account/logo', Buffer.alloc(0), { 'content-type': 'image/png' });
  assert.equal(r.status, 400);
  // Other types are not images we keep.
  for (const type of ['image/svg+xml', 'text/html', 'application/octet-stream']) {
    r = await t.c.put('/api/v1/account/logo', png(), { 'content-type': type });
    assert.equal(r.status, 415, type);
    assert.equal(r.body.code, 'unsupported_media_type');
  }
  // 1 MiB is the limit.
  const atCap = png(1024 * 1024 - 200);
  const cap = Buffer.concat([atCap, Buffer.alloc(1024 * 1024 - atCap.length)]);
  assert.equal(cap.length, 1024 * 1024);
  r = await t.c.put('/api/v1/account/logo', cap, { 'content-type': 'image/png' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual((await getLogo(t.c)).bytes, cap);
  r = await t.c.put('/api/v1/account/logo', Buffer.concat([cap, Buffer.alloc(1)]),
    { 'content-type': 'image/png' });
  assert.equal(r.status, 413);
  assert.equal(r.body.code, 'too_large');
  assert.deepEqual((await getLogo(t.c)).bytes, cap);
  // Members may not; CSRF applies to the raw form too.
  const m = await member(t);
  r = await m.c.put('/api/v1/account/logo', png(), { 'content-type': 'image/png' });
  assert.equal(r.status, 403);
  const noCsrf = await fetch(`${srv.url}/api/v1/account/logo`, { method: 'PUT', body: png(),
    headers: { cookie: `metron_session=${t.c.cookie}`, 'content-type': 'image/png' } });
  assert.equal(noCsrf.status, 403);
  assert.equal((await noCsrf.json()).code, 'csrf');
  assert.equal(await count(`SELECT count(*) FROM audit_log WHERE account_id = ${t.id}
    AND action = 'logo.set'`), 6);
  // Trial has no own logo (P22).
  const trial = await tenant('trial');
  r = await trial.c.put('/api/v1/account/logo', png(), { 'content-type': 'image/png' });
  assert.equal(r.status, 403);
  assert.equal(r.body.quota, 'P22');
});

test('logo: P22 is not on Trial', async () => {
  const t = await tenant('trial');
  const r = await t.c.put('/api/v1/account/logo', { data: png().toString('base64') });
  assert.equal(r.status, 403);
  assert.equal(r.body.code, 'plan_limit');
  assert.equal(r.body.quota, 'P22');
  assert.equal(r.body.plan, 'trial');
  assert.equal(await sql(`SELECT logo IS NULL FROM accounts WHERE id = ${t.id}`), 't');
  for (const plan of ['free', 'standard', 'pro']) {
    const u = await tenant(plan);
    assert.equal((await u.c.put('/api/v1/account/logo', { data: png().toString('base64') })).status, 200);
  }
});

test('logo: each account sees only its own', async () => {
  const t = await tenant();
  const other = await tenant();
  await other.c.put('/api/v1/account/logo', { data: png().toString('base64') });
  assert.equal((await getLogo(t.c)).status, 404);
  assert.equal((await t.c.del('/api/v1/account/logo')).status, 404);
  assert.equal(await sql(`SELECT logo IS NOT NULL FROM accounts WHERE id = ${other.id}`), 't');
});

// ---------------------------------------------------------- notifications

async function notify(t, userId, title, minutesAgo, read = false) {
  return Number(await sql(`INSERT INTO notifications (account_id, user_id, kind, title, body,
    data, created_at, read_at) VALUES (${t.id}, ${userId}, 'alarm.raised', '${title}', 'b',
    '{"x":1}', now() - interval '${minutesAgo} minutes', ${read ? 'now()' : 'NULL'}) RETURNING id`));
}

test('notifications: list newest first, filter, paging, unread count, mark one, mark all', async () => {
  const t = await tenant();
  const m = await member(t);
  const ids = [];
  for (let i = 0; i < 5; i++) ids.push(await notify(t, t.userId, `n${i}`, 50 - i * 10, i === 1));
  await notify(t, m.userId, 'for the member', 1);
  let r = await t.c.get('/api/v1/notifications');
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.items.map((x) => x.id), [...ids].reverse());
  assert.equal(r.body.total, 5);
  assert.equal(r.body.unread, 4);
  assert.deepEqual(r.body.items[0].data, { x: 1 });
  assert.equal(r.body.items.find((x) => x.id === ids[1]).read, true);
  r = await t.c.get('/api/v1/notifications?filter=unread');
  assert.deepEqual(r.body.items.map((x) => x.id), [ids[4], ids[3], ids[2], ids[0]]);
  r = await t.c.get('/api/v1/notifications?filter=unread&limit=2&offset=2');
  assert.deepEqual(r.body.items.map((x) => x.id), [ids[2], ids[0]]);
  assert.equal(r.body.total, 4);
  assert.equal((await t.c.get('/api/v1/notifications?filter=new')).status, 400);
  assert.equal((await t.c.get('/api/v1/notifications?limit=abc')).status, 400);
  assert.deepEqual((await t.c.get('/api/v1/notifications/unread-count')).body, { unread: 4 });

  r = await t.c.post(`/api/v1/notifications/${ids[0]}/read`);
  assert.equal(r.status, 200);
  assert.equal(r.body.unread, 3);
  r = await t.c.post(`/api/v1/notifications/${ids[0]}/read`); // again: no change
  assert.equal(r.body.unread, 3);
  r = await t.c.post('/api/v1/notifications/read-all');
  assert.deepEqual(r.body, { unread: 0, marked: 3 });
  assert.deepEqual((await t.c.get('/api/v1/notifications?filter=unread')).body.items, []);
  // The member's inbox is untouched and separate.
  assert.deepEqual((await m.c.get('/api/v1/notifications/unread-count')).body, { unread: 1 });
  r = await m.c.get('/api/v1/notifications');
  assert.equal(r.body.items.length, 1);
  assert.equal(r.body.items[0].title, 'for the member');
});

test('notifications: another user\'s or account\'s notification is 404 and untouched', async () => {
  const t = await tenant();
  const m = await member(t);
  const other = await tenant();
  const mine = await notify(t, m.userId, 'member only', 1);
  const foreign = await notify(other, other.userId, 'other account', 1);
  for (const id of [mine, foreign, 999999999]) {
    assert.equal((await t.c.post(`/api/v1/notifications/${id}/read`)).status, 404);
  }
  assert.equal((await t.c.post('/api/v1/notifications/abc/read')).status, 404);
  await t.c.post('/api/v1/notifications/read-all');
  assert.equal(await count(`SELECT count(*) FROM notifications WHERE read_at IS NULL
    AND id IN (${mine}, ${foreign})`), 2);
  assert.deepEqual((await t.c.get('/api/v1/notifications')).body.items, []);
});
