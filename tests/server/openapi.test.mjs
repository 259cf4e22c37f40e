// docs/api/openapi.yaml against the running server: every documented path
// and method exists (no 404 "no such route", no 405), and the documented
// security holds without credentials: public operations (`security: []`)
// are reachable, the others answer 401. And against the server's source:
// every route of its route tables (server/<layer>/*.c) but the test-only ones is
// documented; and every operation documents the answers any route can give
// (5XX; 401 and 403 when signed in). The replies themselves are checked
// against the file on every request of the suite (api_contract.mjs).
// Generic: it covers every route added to the file or to the
// tables later, as long as the file keeps the layout of docs/api/README.md
// (paths at two spaces of indentation, methods at four, an operation's own
// `security:` at six).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { loadContract } from './api_contract.mjs';
import { repoRoot, request, startStack, stopStack } from './harness.mjs';

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];
const file = path.join(repoRoot, 'docs', 'api', 'openapi.yaml');

/** [{ path, method, public }] from the `paths:` section of the file. */
function operations(text) {
  const ops = [];
  let inPaths = false;
  let cur = null;
  let op = null;
  for (const line of text.split('\n')) {
    if (/^\S/.test(line)) {
      inPaths = line.startsWith('paths:');
      continue;
    }
    if (!inPaths) continue;
    let m = /^ {2}(\/\S*):\s*$/.exec(line);
    if (m) { cur = m[1]; op = null; continue; }
    m = /^ {4}([a-z]+):/.exec(line);
    if (m) {
      op = METHODS.includes(m[1]) ? { path: cur, method: m[1].toUpperCase(), public: false } : null;
      if (op) ops.push(op);
      continue;
    }
    if (op && /^ {6}security:\s*\[\s*\]\s*$/.test(line)) op.public = true;
  }
  return ops;
}

/**
 * ["METHOD /path"] of the route tables in server/<layer>/*.c (entries like
 * `{"POST", "/api/v1/auth/login", h_login, AUTH_PUBLIC, ...}`), relative to
 * /api/v1, without the test-only routes under /test/ and /debug/ (served
 * only with METRON_TEST_ROUTES=1). A path parameter is a `*` segment there.
 */
function serverRoutes() {
  const dir = path.join(repoRoot, 'server');
  const routes = new Set();
  const names = fs.readdirSync(dir, { recursive: true }).filter((n) => n.endsWith('.c')).sort();
  for (const name of names) {
    const text = fs.readFileSync(path.join(dir, name), 'utf8');
    for (const m of text.matchAll(/\{\s*"([A-Z]+)",\s*"\/api\/v1(\/[^"]*)"/g)) {
      if (/^\/(test|debug)(\/|$)/.test(m[2])) continue;
      routes.add(`${m[1]} ${m[2]}`);
    }
  }
  return routes;
}

/** An operation as serverRoutes() writes it: `{id}`-style parameters as `*`. */
const routeKey = (op) => `${op.method} ${op.path.replace(/\{[^}/]+\}/g, '*')}`;

let pg;
let srv;

before(async () => {
  ({ pg, srv } = await startStack());
});

after(() => stopStack({ pg, srv }));

test('the OpenAPI file parses into operations, paths sorted, no path twice', () => {
  const text = fs.readFileSync(file, 'utf8');
  assert.match(text, /^openapi: 3\.0\.\d+$/m);
  assert.match(text, /^servers:\n {2}- url: \/api\/v1$/m);
  const ops = operations(text);
  assert.ok(ops.length >= 30, `only ${ops.length} operations found`);
  const paths = [...new Set(ops.map((o) => o.path))];
  const listed = [...text.matchAll(/^ {2}(\/\S*):\s*$/gm)].map((m) => m[1]);
  assert.deepEqual(listed, paths, 'a path is listed twice');
  assert.deepEqual(listed, [...listed].sort(), 'paths are not sorted');
});

test('every documented operation exists on the server with the documented security', async () => {
  const ops = operations(fs.readFileSync(file, 'utf8'));
  const problems = [];
  for (const op of ops) {
    // Path parameters get an id no account has.
    const p = '/api/v1' + op.path.replace(/\{[^}]+\}/g, '987654321');
    const body = ['POST', 'PUT', 'PATCH'].includes(op.method) ? {} : undefined;
    const res = await request(srv.url, op.method, p, { body });
    const what = `${op.method} ${op.path} -> ${res.status} ${JSON.stringify(res.body)}`;
    if (res.status === 405) problems.push(`method not allowed: ${what}`);
    else if (res.status === 404 && res.body?.message === 'no such route') problems.push(`no route: ${what}`);
    else if (op.public && res.status === 401) problems.push(`documented public but 401: ${what}`);
    else if (!op.public && res.status !== 401) problems.push(`documented signed-in but not 401: ${what}`);
  }
  assert.deepEqual(problems, []);
});

test('every route of the server (its route tables in server/<layer>/*.c, except /test/ and /debug/) is documented', () => {
  const routes = serverRoutes();
  assert.ok(routes.size >= 30, `only ${routes.size} routes found in server/<layer>/*.c`);
  const documented = new Set(operations(fs.readFileSync(file, 'utf8')).map(routeKey));
  const missing = [...routes].filter((r) => !documented.has(r)).sort();
  assert.deepEqual(missing, [],
    `routes of server/<layer>/*.c missing from docs/api/openapi.yaml:\n  ${missing.join('\n  ')}`);
});

test('every operation documents the answers any route can give: 5XX, and 401 and 403 when signed in', () => {
  const { doc } = loadContract();
  const problems = [];
  for (const [p, item] of Object.entries(doc.paths)) {
    for (const m of METHODS) {
      const op = item[m];
      if (!op) continue;
      const codes = Object.keys(op.responses || {});
      const security = op.security ?? doc.security;
      const signedIn = security.some((s) => 'session' in s || 'bearer' in s);
      const need = ['5XX', ...(signedIn ? ['401', '403'] : [])];
      const missing = need.filter((c) => !codes.includes(c));
      if (missing.length) problems.push(`${m.toUpperCase()} ${p}: ${missing.join(', ')}`);
    }
  }
  assert.deepEqual(problems, [], 'add the missing responses (components/responses ServerError, ' +
    'Unauthenticated, Refused)');
});
