// An attacker's sweep of every route of the server's route tables (issue 16,
// docs/security.md "Request sweep"): wrong methods, hostile ids in the path,
// hostile query parameters (repeated, huge, not numbers), hostile values in
// every member of every documented request body (1e400, -0, 2^63, NUL,
// invalid UTF-8, long strings, deep nesting, wrong types), and hostile
// framing (long and many headers, a Content-Length that lies, bad chunk
// sizes). Each must be answered 4xx with a sentence (never 5xx, never a
// dropped connection), leave the database as it was and the server alive.
// Run it with the ASan+UBSan build (METRON_SERVER_BIN=build-asan/...) to
// catch what does not crash a release build; stopStack() fails on a
// sanitizer report. The whole matrix of hostile values runs against an
// ASan+UBSan server (scripts/test's server_http_asan; serverSanitized() of
// the harness tells the build); against a release server (server_http) every
// route gets every kind of request with a few of the values of each list
// (SOME below), so that a release-only fault still shows. METRON_SWEEP_FULL=1
// runs the whole matrix against any server.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import YAML from 'yaml';
import { metricSamples, pollUntil, repoRoot, serverRoutes, serverSanitized, startServer, startStack, stopStack } from './harness.mjs';
import { dataTenant, inNewGroup, MIN_US } from './data_helpers.mjs';
import { makePng } from './pictures.mjs';

let pg;
let srv;
let db;
let t;
let creds;
let ids; // the first path segment of a route -> the id of one object of the tenant
const METRICS = 'm'.repeat(40); // the scraper's token of /metrics
const sql = (q) => pg.psql(q, db);

/** Every production route of the route tables: [{ method, pattern, auth, body }]. */
const routes = serverRoutes;

const spec = YAML.parse(fs.readFileSync(path.join(repoRoot, 'docs/api/openapi.yaml'), 'utf8'));
const deref = (o) => {
  let x = o;
  for (let i = 0; x && x.$ref && i < 10; i++) {
    x = x.$ref.slice(2).split('/').reduce((a, k) => a?.[k], spec);
  }
  return x;
};
/** The documented operation of a route (or null). */
function operation(method, pattern) {
  const p = pattern.replace(/^\/api\/v1/, '');
  for (const [k, v] of Object.entries(spec.paths)) {
    const re = new RegExp('^' + k.replace(/\{[^}]+\}/g, '\u0001').replace(/[.*+?^$()|[\]\\]/g, '\\$&')
      .replaceAll('\u0001', '[^/]+') + '$');
    if (re.test(p.replaceAll('*', '1'))) {
      const op = v[method.toLowerCase()];
      if (op) return { op, common: v.parameters || [] };
    }
  }
  return null;
}
/** Member names of a schema (allOf / oneOf / anyOf merged), depth 1. */
function members(schema, seen = 0) {
  const s = deref(schema);
  if (!s || seen > 4) return [];
  const names = new Set(Object.keys(s.properties || {}));
  for (const k of ['allOf', 'oneOf', 'anyOf']) {
    for (const sub of s[k] || []) for (const n of members(sub, seen + 1)) names.add(n);
  }
  return [...names];
}

// Values that are wrong in any member: each must be refused with a sentence.
const INVALID_UTF8 = Buffer.from([0xc3, 0x28, 0xff, 0xfe, 0xed, 0xa0, 0x80]);
const HOSTILE = [
  '1e400', '9223372036854775808', '18446744073709551616', '1e-400', '"\\u0000"', '"a\\u0000b"',
  '"\\ud800"', '"' + 'x'.repeat(70000) + '"', '['.repeat(10000) + ']'.repeat(10000), '{}', '[]', 'true', 'null', '-0', '"-0"', '""',
  '[9223372036854775808]', '[-1,0,-0,1e400]', '{"":' + '0'.repeat(5000) + '}',
];
const HARMLESS = new Set(['{}', '[]', 'null', 'true', '-0', '"-0"', '""']);
const ID_SEGMENTS = ['0', '-1', '-0', '9223372036854775808', '9223372036854775807',
  '18446744073709551617', 'abc', '1e3', '0x10', '%00', '%ff%fe', '1%00', '+1', '%201', '1.5',
  'x'.repeat(5000)];
const QUERY_VALUES = ['', '-1', '0', '1e400', '9223372036854775808', 'abc', '%00%ff%fe',
  'x'.repeat(9000), '1,1,1,-1', '2026-13-45T25:61:61Z', 'NaN'];
const WRONG_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'FOO'];

// The whole matrix under ASan+UBSan, where a value read or written out of
// bounds is caught; the same requests with fewer values against a release
// server: each list's entries at these indices (a number too large, a NUL,
// invalid or long text, deep nesting), about a fifth of the requests.
const FULL = process.env.METRON_SWEEP_FULL === '1' || serverSanitized();
const SOME = {
  ids: [0, 3, 6, 9, 15], // 0, 2^63, abc, %00, 5,000 characters
  queries: [0, 3, 6, 7], // empty, 1e400, %00%ff%fe, 9,000 characters
  hostile: [0, 1, 4, 6, 7, 8, 9, 15], // 1e400, 2^63, a NUL, a lone surrogate, 70,000 characters, nesting, {}, ""
  wholes: [0, 3, 6, 7, 8], // empty, 1e400, invalid UTF-8, a duplicate member, 20,000 members
  methods: [0, 1, 4, 5, 7], // GET, POST, DELETE, OPTIONS, FOO
};
/** "list", or against a release server its entries at SOME[kind]. */
const some = (kind, list) => (FULL ? list : SOME[kind].filter((i) => i < list.length).map((i) => list[i]));

/** One request without the contract check (hostile replies are what we look at). */
function send(method, p, { body, headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    const h = { ...headers };
    if (body !== undefined) {
      h['content-type'] ??= 'application/json';
      h['content-length'] = Buffer.byteLength(body);
    }
    const req = http.request({ host: '127.0.0.1', port: srv.port, path: p, method, headers: h, agent: false },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json = null;
          try { json = JSON.parse(text); } catch { /* not JSON */ }
          resolve({ status: res.statusCode, body: json, text });
        });
      });
    req.on('error', (e) => reject(new Error(`${method} ${p.slice(0, 200)}: ${e.message}`)));
    if (body !== undefined) req.write(body);
    req.end();
  });
}

const problems = [];
let sessionLost = null;
/** A reply must be 4xx with a JSON sentence (2xx allowed where "ok2xx"). */
function judge(what, r, { ok2xx = false } = {}) {
  // A server started without an MQTT broker says so (docs/mqtt.md).
  if (r.status === 503 && r.body?.code === 'mqtt_off') return;
  if (process.env.AUDIT_DEBUG && !sessionLost && r.status === 401 && /unauth/.test(r.text)) sessionLost = what;
  const fine = (r.status >= 400 && r.status < 500) || (ok2xx && r.status >= 200 && r.status < 300);
  if (!fine) problems.push(`${what}: ${r.status} ${r.text.slice(0, 300)}`);
  else if (r.status >= 400 && !(typeof r.body?.message === 'string' && / \S+ /.test(r.body.message))) {
    problems.push(`${what}: ${r.status} without a sentence: ${r.text.slice(0, 300)}`);
  }
}

/** An md5 of every table's rows (what the sweep may not change), by table. */
async function snapshot() {
  const tables = (await sql(`SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = 'public'
    ORDER BY 1`)).split('\n').filter(Boolean);
  const q = tables.map((n) => `SELECT '${n.replaceAll("'", "''")}' || '=' ||
    md5(COALESCE(string_agg(x::text, '|' ORDER BY x::text), '')) FROM ${n} x`).join(' UNION ALL ');
  const rows = (await sql(q)).split('\n').filter(Boolean);
  return Object.fromEntries(rows.map((r) => r.split('=')));
}

// Tables that a refused request may touch on purpose: the sessions' last use
// (every signed-in request renews it) and the counters of failed sign-ins.
const MOVING = new Set(['sessions', 'api_tokens', 'app_seen', 'login_failures', 'address_failures']);

function headersFor(auth) {
  if (auth === 'AUTH_APP') return creds.app;
  if (auth === 'AUTH_NONE') return {};
  return creds.user;
}

before(async () => {
  // No background jobs: what they write on their own schedule (the batch
  // prune's bookkeeping, the reports' queue) is no request's doing, and the
  // sweep compares every table before and after.
  ({ pg, srv, db } = await startStack({ args: ['--jobs-interval', '0'],
    env: { METRON_METRICS_TOKEN: METRICS } }));
  t = await dataTenant(srv);
  creds = {
    user: { cookie: `metron_session=${t.c.cookie}`, 'x-csrf-token': t.c.csrf },
    app: { authorization: `Bearer ${t.app.credential}` },
  };
  // One object of each kind, so that hostile members reach the readers of
  // the routes with an id (and must change none of them).
  const group = await inNewGroup(t);
  const made = async (p, body) => {
    const r = await t.c.post(p, body);
    assert.equal(r.status, 201, `${p}: ${JSON.stringify(r.body)}`);
    return r.body.id;
  };
  ids = {
    apps: t.appId, devices: t.deviceId, channels: t.channels[0], groups: group,
    dashboards: await made(`/api/v1/groups/${group}/dashboards`, { name: 'Board' }),
    alarms: await made(`/api/v1/groups/${group}/alarms`, { name: 'Hot', rule: 'CH1 > 5', channels: [t.channels[0]] }),
    reports: await made(`/api/v1/groups/${group}/reports`, { name: 'Daily', period: 'day',
      channels: t.channels, formats: ['csv'] }),
    computed: await made(`/api/v1/groups/${group}/computed`, { name: 'Scaled', expression: 'CH1*CH2', inputs: t.channels.slice(0, 2) }),
    teams: await made('/api/v1/teams', { name: 'Ops' }),
    'drive/folders': await made('/api/v1/drive/folders', { name: 'Site A' }),
    destinations: await made('/api/v1/destinations', { kind: 'email', address: 'ops@example.com' }),
    users: await made('/api/v1/users', { login_id: 'member1', name: 'M', password: 'Correct-h0rse' }),
  };
  // The computed channel's back-fill runs on its own thread: wait for its
  // end, so that its rows do not move under the sweep's comparison.
  await pollUntil(async () => (await t.c.get(`/api/v1/computed/${ids.computed}`)).body?.backfill === 'complete',
    'the computed channel back-filled');
});

/** "pattern" with its first '*' the id of the tenant's object of that kind
 * (any further '*' an id that does not exist), or null. */
function withRealId(pattern) {
  const rest = pattern.replace(/^\/api\/v1\//, '');
  const kind = Object.keys(ids).find((k) => rest.startsWith(k + '/*'));
  if (!kind) return null;
  return '/api/v1/' + rest.replace('*', String(ids[kind])).replaceAll('*', '999999937');
}

after(() => stopStack({ pg, srv }));

async function alive() {
  const r = await send('GET', '/api/v1/health');
  assert.equal(r.status, 200, 'the server still answers');
}

test('every route: wrong methods, hostile ids, queries and body members get a 4xx sentence and change nothing', async (ctx) => {
  const all = routes();
  assert.ok(all.length > 150, `found ${all.length} routes`);
  const before = await snapshot();
  const byPattern = new Map();
  for (const r of all) {
    if (!byPattern.has(r.pattern)) byPattern.set(r.pattern, []);
    byPattern.get(r.pattern).push(r);
  }
  let n = 0;
  const later = [];
  const absent = (pattern) => pattern.replaceAll('*', '999999937');
  // Wrong methods: 405 with Allow.
  for (const [pattern, rs] of byPattern) {
    for (const m of some('methods', WRONG_METHODS)) {
      if (rs.some((r) => r.method === m)) continue;
      const r = await send(m, absent(pattern), { headers: headersFor(rs[0].auth) });
      n++;
      if (m === 'OPTIONS' || m === 'FOO' || m === 'TRACE') judge(`${m} ${pattern}`, r, { ok2xx: m === 'OPTIONS' });
      else judge(`${m} ${pattern}`, r);
    }
  }
  for (const route of all) {
    const h = headersFor(route.auth);
    const doc = operation(route.method, route.pattern);
    const hasBody = /BODY_(JSON|RAW)/.test(route.body);
    const jsonBody = route.body === 'BODY_JSON' || route.pattern.startsWith('/api/v1/ingest/');
    // Hostile ids in each '*' of the path.
    if (route.pattern.includes('*')) {
      for (const id of some('ids', ID_SEGMENTS)) {
        const parts = route.pattern.split('*');
        for (let i = 0; i < parts.length - 1; i++) {
          const p = parts.map((s, j) => s + (j < parts.length - 1 ? (j === i ? id : '999999937') : '')).join('');
          const r = await send(route.method, p, { headers: h, body: hasBody ? '{}' : undefined });
          n++;
          judge(`${route.method} ${p.slice(0, 80)}`, r);
        }
      }
    }
    // Hostile query parameters, repeated, for the documented ones (and a few
    // common names).
    const qnames = new Set(['limit', 'from', 'to', 'channels', 'id', 'offset', 'cursor', 'before']);
    for (const prm of [...(doc?.common || []), ...(doc?.op?.parameters || [])]) {
      const d = deref(prm);
      if (d?.in === 'query') qnames.add(d.name);
    }
    if (route.method === 'GET') {
      for (const v of some('queries', QUERY_VALUES)) {
        const q = [...qnames].map((k) => `${k}=${v}&${k}=1`).join('&');
        const p = (route.pattern.includes('*') ? route.pattern.replaceAll('*', '1') : route.pattern) + '?' + q;
        const r = await send('GET', p, { headers: h });
        n++;
        // A query the route ignores may be answered 200, and id 1 may be ours.
        if (r.status >= 500 || r.status === 0) problems.push(`GET ${p.slice(0, 120)}: ${r.status} ${r.text.slice(0, 200)}`);
      }
    }
    if (!hasBody) continue;
    const p = absent(route.pattern);
    // Whole bodies.
    const wholes = jsonBody
      ? some('wholes', ['', ' ', 'null', '1e400', '"\\u0000"', '[]', INVALID_UTF8, '{"a":1,"a":2}',
        '{' + '"k":1,'.repeat(20000) + '"k":1}'])
      : ['', INVALID_UTF8, 'x'.repeat(100)];
    for (const b of wholes) {
      const r = await send(route.method, p, { headers: h, body: b });
      n++;
      judge(`${route.method} ${route.pattern} whole body ${String(b).slice(0, 20)}`, r);
    }
    if (!jsonBody) continue;
    // Each documented member, one hostile value at a time.
    const schema = doc?.op?.requestBody &&
      deref(doc.op.requestBody)?.content?.['application/json']?.schema;
    const names = members(schema);
    for (const name of names) {
      for (const v of some('hostile', HOSTILE)) {
        // A route without an id may take a lone member with a harmless value
        // (a name "-0", "{}" for an optional object): those go last, below.
        if (!route.pattern.includes('*') && HARMLESS.has(v)) {
          later.push({ route, name, v });
          continue;
        }
        const body = `{${JSON.stringify(name)}:${v}}`;
        const r = await send(route.method, p, { headers: h, body });
        n++;
        judge(`${route.method} ${route.pattern} ${name}=${v.slice(0, 24)}`, r);
      }
      const bad = Buffer.concat([Buffer.from(`{${JSON.stringify(name)}:"a`), INVALID_UTF8, Buffer.from('"}')]);
      const r = await send(route.method, p, { headers: h, body: bad });
      n++;
      judge(`${route.method} ${route.pattern} ${name}=<invalid UTF-8>`, r);
    }
    // The same on an object that exists, with the values no member takes.
    const real = withRealId(route.pattern);
    if (real) {
      for (const b of wholes) {
        const r = await send(route.method, real, { headers: h, body: b });
        n++;
        judge(`${route.method} ${real} whole body ${String(b).slice(0, 20)}`, r);
      }
      const props = deref(schema)?.properties || {};
      for (const name of names) {
        const type = deref(props[name])?.type;
        for (const v of some('hostile', HOSTILE)) {
          if (HARMLESS.has(v) || v === '1e-400') continue;
          if (type === 'number' && /^\[?-?\d+\]?$/.test(v)) continue; // a large number is a number
          const r = await send(route.method, real, { headers: h, body: `{${JSON.stringify(name)}:${v}}` });
          n++;
          judge(`${route.method} ${real} ${name}=${v.slice(0, 24)}`, r);
        }
      }
    }
  }
  await alive();
  const me = await send('GET', '/api/v1/me', { headers: creds.user });
  assert.equal(me.status, 200, `${sessionLost} the session outlived the sweep (no request ended it)`);
  const now = await snapshot();
  for (const [k, v] of Object.entries(before)) {
    if (!MOVING.has(k) && now[k] !== v) problems.push(`table ${k} changed`);
  }
  // Values a member may take on a route without an id: never a 5xx.
  for (const { route, name, v } of later) {
    const body = `{${JSON.stringify(name)}:${v}}`;
    const r = await send(route.method, route.pattern, { headers: headersFor(route.auth), body });
    n++;
    judge(`${route.method} ${route.pattern} ${name}=${v}`, r, { ok2xx: true });
  }
  await alive();
  ctx.diagnostic(`${n} requests (${FULL ? 'the whole matrix' : 'a part of each list: a release server'})`);
  assert.deepEqual(problems, [], `${problems.length} of ${n} requests:\n${problems.join('\n')}`);
});

/** Send raw bytes, close our side of the connection (so that nothing more
 * can come) and resolve with the whole reply once the server closes. */
function rawThenEnd(text, port = srv.port) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    const chunks = [];
    s.on('data', (d) => chunks.push(d));
    s.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    s.on('error', (e) => (chunks.length ? undefined : reject(e)));
    s.write(text, () => s.end());
  });
}

/** The status line and JSON body of a raw reply: { status, body }. */
function parseRaw(raw) {
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(raw);
  const i = raw.indexOf('\r\n\r\n');
  const len = /\r\nContent-Length: (\d+)\r\n/i.exec(raw.slice(0, i + 2));
  let body = null;
  try { body = JSON.parse(raw.slice(i + 4, len ? i + 4 + Number(len[1]) : undefined)); } catch { /* not JSON */ }
  return { status: m ? Number(m[1]) : 0, body, text: raw.slice(0, 400) };
}

test('hostile framing: long and many headers, lying lengths, bad chunks get a 4xx sentence', async () => {
  const login = 'POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n';
  const authed = `POST /api/v1/groups HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
    `Cookie: metron_session=${t.c.cookie}\r\nX-CSRF-Token: ${t.c.csrf}\r\n`;
  const json = '{"account":"a","user":"b"}'; // refused before any sign-in is counted
  const cases = {
    'a 100 KB header line': `GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-Long: ${'a'.repeat(100000)}\r\n\r\n`,
    'a 100 KB path': `GET /api/v1/${'a'.repeat(100000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
    '10,000 headers': `GET /api/v1/health HTTP/1.1\r\nHost: x\r\n${'X-A: b\r\n'.repeat(10000)}\r\n`,
    '200 cookies of 1 KB': `GET /api/v1/me HTTP/1.1\r\nHost: x\r\n${`Cookie: metron_session=${'z'.repeat(1000)}\r\n`.repeat(200)}\r\n`,
    'an unknown method': 'BREW /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n',
    'HTTP/9.9': 'GET /api/v1/health HTTP/9.9\r\nHost: x\r\n\r\n',
    'a request line of garbage': '\x00\x01\x02 \xff\xfe HTTP/1.1\r\n\r\n',
    'a header without a colon': 'GET /api/v1/health HTTP/1.1\r\nHost x\r\nNoColonHere\r\n\r\n',
    'a Content-Length over what is sent': `${login}Content-Length: 1000\r\n\r\n${json}`,
    'a Content-Length under what is sent': `${login}Content-Length: 5\r\n\r\n${json}`,
    'a negative Content-Length': `${login}Content-Length: -1\r\n\r\n${json}`,
    'a Content-Length that is not a number': `${login}Content-Length: 12abc\r\n\r\n${json}`,
    'a Content-Length of 2^64': `${login}Content-Length: 18446744073709551617\r\n\r\n${json}`,
    'two Content-Lengths that differ': `${login}Content-Length: ${json.length}\r\nContent-Length: 3\r\n\r\n${json}`,
    'Content-Length and chunked': `${login}Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n${json.length.toString(16)}\r\n${json}\r\n0\r\n\r\n`,
    'a chunk size that is not hex': `${login}Transfer-Encoding: chunked\r\n\r\nzz\r\n${json}\r\n0\r\n\r\n`,
    'a chunk size of 2^64-1': `${login}Transfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n${json}\r\n0\r\n\r\n`,
    'a negative chunk size': `${login}Transfer-Encoding: chunked\r\n\r\n-1\r\n${json}\r\n0\r\n\r\n`,
    'a chunk longer than its size': `${login}Transfer-Encoding: chunked\r\n\r\n2\r\n${json}\r\n0\r\n\r\n`,
    'a chunk cut off': `${login}Transfer-Encoding: chunked\r\n\r\n400\r\n${json}`,
    'a chunked body over --max-body': `${authed}Transfer-Encoding: chunked\r\n\r\n` +
      `${'100000\r\n' + 'a'.repeat(0x100000) + '\r\n'}${'100000\r\n' + 'a'.repeat(0x100000) + '\r\n'}0\r\n\r\n`,
    'an unknown transfer encoding': `${login}Transfer-Encoding: gzip\r\n\r\n${json}`,
    'a signed-in body cut off': `${authed}Content-Length: 100000\r\n\r\n{"name":"x`,
    'a chunk extension of 100 KB': `${login}Transfer-Encoding: chunked\r\n\r\n${json.length.toString(16)};${'e'.repeat(100000)}\r\n${json}\r\n0\r\n\r\n`,
  };
  const before = await snapshot();
  const problems2 = [];
  for (const [what, text] of Object.entries(cases)) {
    const r = parseRaw(await rawThenEnd(text));
    // A reply cut short by the client's own end (the body it promised never
    // came) may be no reply at all; any reply is a 4xx with a sentence.
    if (r.status === 0 && /over what is sent|cut off/.test(what)) continue;
    const httpVersion = what === 'HTTP/9.9' && r.status === 505;
    if (!(r.status >= 400 && r.status < 500) && !httpVersion) problems2.push(`${what}: ${r.text}`);
    else if (!(typeof r.body?.message === 'string' && / \S+ /.test(r.body.message))) {
      problems2.push(`${what}: ${r.status} without a sentence: ${r.text}`);
    }
    await alive();
  }
  const now = await snapshot();
  for (const [k, v] of Object.entries(before)) {
    if (!MOVING.has(k) && now[k] !== v) problems2.push(`table ${k} changed`);
  }
  assert.deepEqual(problems2, []);
});

/** "method p" with "headers", a Content-Length of "extra" bytes more than
 * "body", the body, and then the client's end of the connection (a
 * half-close: nothing more can come): the reply, parsed. */
async function cutShort(method, p, headers, body, extra = 40) {
  const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body);
  const head = `${method} ${p} HTTP/1.1\r\nHost: x\r\n` +
    Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('') +
    `Content-Length: ${bytes.length + extra}\r\n\r\n`;
  return parseRaw(await rawThenEnd(Buffer.concat([Buffer.from(head, 'latin1'), bytes])));
}

test('a body that ends before its Content-Length is refused on every kind of body reader and changes nothing', async () => {
  // Each body sent is whole and valid by itself: only its Content-Length
  // says more was coming. Before, every reader used what had arrived once
  // the client ended its side (a group was made, a batch stored, a team
  // deleted); now each answers 400 body_incomplete and does nothing.
  const json = { ...creds.user, 'Content-Type': 'application/json' };
  const octets = { ...creds.user, 'Content-Type': 'application/octet-stream' };
  const team = (await t.c.post('/api/v1/teams', { name: 'Cut short' })).body.id;
  const batch = JSON.stringify({ batch_id: 'cut-short', snapshots: [
    { t: Date.now() * 1000 - 60 * MIN_US, ids: [t.channels[0]], v: [21.5] }] });
  const cases = [
    ['a JSON body (BODY_JSON)', 'POST', '/api/v1/groups', json, '{"name":"Cut short"}'],
    ['an ingestion batch (BODY_RAW)', 'POST', '/api/v1/ingest/batches',
      { ...creds.app, 'Content-Type': 'application/json' }, batch],
    ['the account logo (BODY_RAW)', 'PUT', '/api/v1/account/logo',
      { ...creds.user, 'Content-Type': 'image/png' }, makePng(8, 8)],
    ['a drive upload (BODY_STREAM)', 'POST', '/api/v1/drive/files?name=cut.txt', octets, 'hello'],
    ['an app-share upload (BODY_STREAM)', 'POST', '/api/v1/app-share/battery-profiles?name=Cut',
      octets, 'profile'],
    ['a dashboard picture (BODY_STREAM)', 'POST', '/api/v1/dashboard-pictures?name=cut.png',
      { ...creds.user, 'Content-Type': 'image/png' }, makePng(8, 8)],
    ['a body the route does not take (BODY_NONE)', 'DELETE', `/api/v1/teams/${team}`, json, '{}'],
  ];
  const m0 = await metricSamples(srv.url, METRICS);
  const before = await snapshot();
  const wrong = [];
  for (const [what, method, p, headers, body] of cases) {
    const r = await cutShort(method, p, headers, body);
    if (r.status !== 400 || r.body?.code !== 'body_incomplete' ||
        !/ended after \d+ of the \d+ bytes/.test(r.body?.message)) {
      wrong.push(`${what}: ${r.text}`);
    }
    await alive();
  }
  // A chunked body cut at a chunk's end, before its last (empty) chunk:
  // CivetWeb's reader reports it as an error, never as the end.
  const chunkedHead = `POST /api/v1/groups HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
    `Cookie: ${creds.user.cookie}\r\nX-CSRF-Token: ${creds.user['x-csrf-token']}\r\n` +
    'Transfer-Encoding: chunked\r\n\r\n';
  const body = '{"name":"Cut chunked"}';
  const rc = parseRaw(await rawThenEnd(`${chunkedHead}${body.length.toString(16)}\r\n${body}\r\n`));
  if (rc.status !== 400 || rc.body?.code !== 'bad_body') wrong.push(`a chunked body cut: ${rc.text}`);
  const now = await snapshot();
  for (const [k, v] of Object.entries(before)) {
    if (!MOVING.has(k) && now[k] !== v) wrong.push(`table ${k} changed`);
  }
  assert.deepEqual(wrong, []);
  // Each counted in /metrics.
  const m1 = await metricSamples(srv.url, METRICS);
  assert.equal(m1.metron_http_bodies_short_total - m0.metron_http_bodies_short_total, cases.length);
  // The same bodies sent whole are taken (the refusal was the length).
  assert.equal((await t.c.del(`/api/v1/teams/${team}`)).status, 200);
});

/** A connection from "localAddress" that sends "text" (maybe nothing) and
 * resolves with what the server answered once the server ends it. */
function holdConnection(port, localAddress, text = '') {
  const s = net.connect({ port, host: '127.0.0.1', localAddress });
  const chunks = [];
  const answered = new Promise((resolve) => {
    s.on('data', (d) => chunks.push(d));
    s.on('error', () => {});
    s.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
  });
  if (text) s.write(text);
  return { socket: s, answered };
}

/** GET /api/v1/health on a new connection from "localAddress": the status. */
function healthFrom(port, localAddress) {
  return new Promise((resolve, reject) => {
    const q = http.get({ host: '127.0.0.1', port, path: '/api/v1/health', agent: false, localAddress },
      (res) => { res.resume(); res.on('end', () => resolve(res.statusCode)); });
    q.on('error', reject);
  });
}

test('one address cannot hold every worker: connections past --conns-per-address are refused at once', async () => {
  // 4 workers, 2 connections an address. Before, 30 idle connections held
  // the 4 workers for 30 s each, and another client got no answer in 60 s.
  const small = await startServer({ databaseUrl: await pg.createDatabase(),
    args: ['--threads', '4', '--conns-per-address', '2'], env: { METRON_METRICS_TOKEN: METRICS } });
  try {
    const idle = Array.from({ length: 12 }, () => holdConnection(small.port, '127.0.0.3'));
    // Ten of them are answered 503 and closed as they are accepted.
    let answers = 0;
    await new Promise((resolve) => {
      for (const c of idle) {
        c.answered.then((text) => {
          if (/^HTTP\/1\.1 503 /.test(text)) {
            const body = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4));
            assert.equal(body.code, 'too_many_connections');
            assert.match(body.message, /connections open/);
          }
          if (++answers === 10) resolve();
        });
      }
    });
    // Another client is served at once, by the two workers left.
    assert.equal(await healthFrom(small.port, '127.0.0.2'), 200);
    // Counted in /metrics (each refusal is counted before its 503 is sent).
    const m = await metricSamples(small.url, METRICS);
    assert.equal(m.metron_http_connections_refused_total, 10);
    // The two held ones close: the address may connect again.
    for (const c of idle) c.socket.destroy();
    await pollUntil(async () => (await healthFrom(small.port, '127.0.0.3')) === 200,
      'the address served again once its connections closed');
  } finally {
    const exit = await small.stop();
    assert.equal(exit.code, 0, small.stderr());
    assert.doesNotMatch(small.stderr(), /runtime error|AddressSanitizer|LeakSanitizer/);
  }
});

/** A connection from "localAddress" that asks GET /api/v1/health and stays
 * open (keep-alive): resolves with the first bytes of the answer. */
function askAndHold(port, localAddress) {
  const s = net.connect({ port, host: '127.0.0.1', localAddress });
  s.on('error', () => {});
  const first = new Promise((resolve) => {
    s.once('data', (d) => resolve(d.toString('latin1')));
    s.once('close', () => resolve(''));
  });
  s.write('GET /api/v1/health HTTP/1.1\r\nHost: metron\r\n\r\n');
  return { socket: s, first };
}

test('while workers are plentiful one address may pass its cap (an office behind one NAT address); past half of them it may not', async () => {
  // 16 workers, 2 connections an address: the cap applies once the counted
  // connections take more than 8 workers (the harness's own health checks
  // may hold one or two of them).
  const srv16 = await startServer({ databaseUrl: await pg.createDatabase(),
    args: ['--threads', '16', '--conns-per-address', '2'] });
  const held = [];
  try {
    let refusedAt = 0;
    for (let i = 1; i <= 12 && !refusedAt; i++) {
      const c = askAndHold(srv16.port, '127.0.0.5');
      held.push(c);
      const first = await c.first;
      if (/^HTTP\/1\.1 503 [^]*too_many_connections/.test(first)) refusedAt = i;
      else assert.match(first, /^HTTP\/1\.1 200 /, `connection ${i} of the office's address`);
    }
    assert.ok(refusedAt > 5, `five connections of one address served on a quiet server (refused at ${refusedAt})`);
    assert.ok(refusedAt <= 9, `refused once more than half of the workers are taken (at ${refusedAt})`);
    // Another address is still served.
    assert.equal(await healthFrom(srv16.port, '127.0.0.6'), 200);
  } finally {
    for (const c of held) c.socket.destroy();
    const exit = await srv16.stop();
    assert.equal(exit.code, 0, srv16.stderr());
  }
});

/** A connection from "localAddress" that announces a JSON body of "length"
 * bytes to POST /api/v1/auth/login and sends it one byte every 250 ms:
 * resolves, once the server closes it, with what it answered. */
function trickleBody(port, localAddress, length) {
  const s = net.connect({ port, host: '127.0.0.1', localAddress });
  let got = '';
  let sent = 0;
  let timer = null;
  s.on('error', () => {});
  s.on('data', (d) => { got += d.toString('latin1'); });
  const closed = new Promise((resolve) => {
    s.once('close', () => { clearInterval(timer); resolve({ got, sent }); });
  });
  s.once('connect', () => {
    s.write(`POST /api/v1/auth/login HTTP/1.1\r\nHost: metron\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`);
    timer = setInterval(() => {
      if (sent < length && !s.destroyed) { s.write(' '); sent++; }
    }, 250);
  });
  return { socket: s, closed };
}

test('a body trickled a byte at a time is cut at its deadline with a 408 sentence and frees its worker', async () => {
  // 4 workers, each held by a body trickled a byte every 250 ms (each
  // byte restarts CivetWeb's own wait). The deadline (a floor of 1 s for
  // the test, 30 s in production, plus the size at 64 KiB/s) shuts the
  // read side of their sockets long before the 400 bytes are sent: each
  // is answered 408 with a sentence, then closed, and another client is
  // served.
  const small = await startServer({ databaseUrl: await pg.createDatabase(),
    args: ['--threads', '4'],
    env: { METRON_TEST_BODY_FLOOR_MS: '1000', METRON_METRICS_TOKEN: METRICS } });
  const slow = [];
  try {
    for (let i = 0; i < 4; i++) slow.push(trickleBody(small.port, '127.0.0.7', 400));
    for (const c of slow) {
      const { got, sent } = await c.closed;
      assert.ok(sent < 400, `the server closed the trickling connection before its body ended (${sent} bytes sent)`);
      const r = parseRaw(got);
      assert.equal(r.status, 408, got);
      assert.equal(r.body?.code, 'body_too_slow');
      assert.match(r.body.message, /did not arrive in time/);
    }
    assert.equal(await healthFrom(small.port, '127.0.0.8'), 200);
    // A body read whole is past its deadline: a handler that works longer
    // than the deadline and its 1 s of grace after it (3.5 s here) still
    // answers.
    const late = parseRaw(await rawThenEnd('GET /api/v1/debug/sleep?ms=3500 HTTP/1.1\r\nHost: x\r\n' +
      'Content-Length: 2\r\n\r\n{}', small.port));
    assert.equal(late.status, 200, late.text);
    const m = await metricSamples(small.url, METRICS);
    assert.equal(m.metron_http_bodies_cut_total, 4);
    assert.equal(m.metron_http_bodies_short_total, 0);
  } finally {
    for (const c of slow) c.socket.destroy();
    const exit = await small.stop();
    assert.equal(exit.code, 0, small.stderr());
    assert.doesNotMatch(small.stderr(), /runtime error|AddressSanitizer|LeakSanitizer/);
  }
});

/** "promise", or a failure naming "what" once "ms" pass first (a bound on
 * what must happen, never a wait: the test goes on at the event). */
function within(promise, ms, what) {
  let timer;
  const late = new Promise((resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

test('idle connections from several addresses cannot hold every worker: the oldest idle ones are shed', async () => {
  // 4 workers: one runs a request longer than the grace (3 s), the others
  // and the one it frees are held by four connections that send nothing,
  // each from its own address (the per-address cap does not apply).
  // Before, each idle one held its worker for 30 s (request_timeout_ms)
  // and a new client waited as long. While
  // more than half of the workers are taken, connections idle for 2 s are
  // shed, oldest first, never one in the middle of a request: the new
  // client is answered within a tick, the long request too.
  const small = await startServer({ databaseUrl: await pg.createDatabase(),
    args: ['--threads', '4'], env: { METRON_METRICS_TOKEN: METRICS } });
  const idle = [];
  try {
    const busy = rawThenEnd('GET /api/v1/debug/sleep?ms=3000 HTTP/1.1\r\nHost: x\r\n\r\n', small.port);
    for (let i = 2; i <= 5; i++) idle.push(holdConnection(small.port, `127.0.0.${i}`));
    await Promise.all(idle.map((c) => new Promise((resolve) => c.socket.once('connect', resolve))));
    assert.equal(await within(healthFrom(small.port, '127.0.0.9'), 20000,
      'a new client answered while idle connections held every worker'), 200);
    // A shed connection is closed without a word (it asked nothing).
    assert.equal(await within(Promise.any(idle.map((c) => c.answered)), 20000, 'an idle connection shed'), '');
    const slow = parseRaw(await busy);
    assert.equal(slow.status, 200, slow.text);
    const m = await metricSamples(small.url, METRICS);
    assert.ok(m.metron_http_connections_shed_total >= 1, JSON.stringify(m.metron_http_connections_shed_total));
  } finally {
    for (const c of idle) c.socket.destroy();
    const exit = await small.stop();
    assert.equal(exit.code, 0, small.stderr());
    assert.doesNotMatch(small.stderr(), /runtime error|AddressSanitizer|LeakSanitizer/);
  }
});

test('a client that keeps sending after a reply that closes its connection does not hold its worker', async () => {
  // A body announced larger than the server takes is answered 413 at once
  // and the connection is to close; but CivetWeb 1.15 still reads what the
  // client sends after the reply (each byte renews its 30 s wait): a byte
  // every 100 ms held the worker for good. (Its own 400 to a request line
  // it cannot read closes at once.) The watchdog cuts a connection still
  // open 2 s after a reply that closes it.
  const small = await startServer({ databaseUrl: await pg.createDatabase(),
    args: ['--threads', '4'], env: { METRON_METRICS_TOKEN: METRICS } });
  const s = net.connect({ port: small.port, host: '127.0.0.1', localAddress: '127.0.0.10' });
  let got = '';
  let timer = null;
  s.on('error', () => {});
  const answered = new Promise((resolve) => {
    s.on('data', (d) => { got += d.toString('latin1'); if (got.includes('\r\n\r\n')) resolve(); });
  });
  const closed = new Promise((resolve) => s.once('close', () => { clearInterval(timer); resolve(); }));
  try {
    s.write('POST /api/v1/auth/login HTTP/1.1\r\nHost: metron\r\nContent-Type: application/json\r\n' +
      'Content-Length: 900000000\r\n\r\n');
    await within(answered, 20000, 'the 413 answered');
    assert.match(got, /^HTTP\/1\.1 413 /);
    timer = setInterval(() => { if (!s.destroyed) s.write('x'); }, 100);
    await within(closed, 20000, 'the connection closed while its client kept sending');
    const m = await metricSamples(small.url, METRICS);
    assert.equal(m.metron_http_connections_close_cut_total, 1);
  } finally {
    clearInterval(timer);
    s.destroy();
    const exit = await small.stop();
    assert.equal(exit.code, 0, small.stderr());
  }
});
