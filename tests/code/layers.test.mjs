// The server's layers (docs/server-code.md), checked on the source text:
// every C file sits in the folder of its layer, includes only headers of its
// own layer and of the layers below it, only server/http/ includes
// civetweb.h, only server/db/ and server/store/ include libpq-fe.h or use
// libpq's results (PGresult, PQ*()) or hold SQL text, no code below
// server/http/ writes an HTTP status number, and server/http/ reaches the
// database only through services: it includes no header of server/db/ or
// server/store/ and calls no db_*() function nor names a DB_* status;
// test-only routes are only in server/http/test/; a function declared
// below server/http/ that fills an svc_error returns an svc_status.
//
// KNOWN lists what the move to this layout has not yet removed. It may only
// shrink: an entry that no longer occurs fails too, so that it is taken out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, relative, dirname, basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { filesUnder } from './files.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const server = join(root, 'server');

// Lowest first: a layer may include its own headers and those of the layers
// before it. main.c (server/) is above them all.
const LAYERS = ['base', 'db', 'store', 'notify', 'report', 'svc', 'jobs', 'mqtt', 'http'];
const RANK = Object.fromEntries(LAYERS.map((l, i) => [l, i]));
// Folders of server/ that hold no C of a layer.
const OTHER_DIRS = new Set(['migrations', 'tls']);

// HTTP clients: the outbox's webhook sender reads the statuses that other
// servers (Slack, Teams, WeChat) answer it with; those numbers are not
// statuses the API answers, so the status rule does not apply to them.
const HTTP_CLIENTS = new Set(['notify/notify_format.c', 'notify/webhook.c']);

// Violations still to be removed (issue 12): "rule file detail".
const KNOWN = new Set([
]);

const walk = (dir) => filesUnder(dir, /\.[ch]$/);

// The code of a C file without comments, string and character literals
// (each replaced by a space), so that numbers in prose or text do not count.
export function codeOnly(src) {
  return src.replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*|"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'/g,
    (m) => (m.startsWith('/') ? m.replace(/[^\n]/g, ' ') : '""'));
}

const files = walk(server).map((p) => relative(server, p)).sort();
const layerOf = (f) => (f.includes('/') ? f.split('/')[0] : null);

// The HTTP statuses the API answers with; any of them as a number literal in
// code below the HTTP layer is a service that knows HTTP. Not counted: an
// array size or an operand of arithmetic ("[400]", "* 400"), and durations
// (#define X_MS 500).
const STATUS = /(?<![\w.]|[[*+/-]\s*)(400|401|403|404|405|406|409|410|412|413|415|416|422|429|500|501|502|503|504)(?![\w.])/g;

// What server/http/ may not name: a call of the storage layer (db_acquire(),
// db_app_free(), ...) or one of its statuses and constants (DB_OK,
// DB_WAIT_MS). Row types (db_app) handed out by services are data, not calls.
const DB_CALL = /\b(db_[a-z]\w*)\s*\(/g;
const DB_NAME = /\b(DB_[A-Z]\w*)\b/g;
const STORAGE = new Set(['db', 'store']);

// The declarations in header code "code" that take an svc_error to fill
// and return neither svc_status nor void: [name, return type].
export function svcErrorCarriers(code) {
  const out = [];
  for (const decl of code.split(/[;{}]/)) {
    const m = /^\s*((?:[A-Za-z_]\w*[\s*]+)+?)([A-Za-z_]\w*)\s*\(([\s\S]*)\)\s*$/.exec(decl);
    if (m === null || /^\s*typedef\b/.test(decl) || !/(^|[(,])\s*svc_error\s*\*/.test(m[3])) {
      continue;
    }
    const ret = m[1].replace(/\b(MT_MUSTCHECK|static|inline|extern)\b/g, '').trim();
    if (ret !== 'svc_status' && ret !== 'void') {
      out.push([m[2], ret]);
    }
  }
  return out;
}

function violations() {
  const found = [];
  const headers = new Map();
  for (const f of files) {
    const layer = layerOf(f);
    if (layer !== null && !(layer in RANK) && !OTHER_DIRS.has(layer)) {
      found.push(`folder ${f} ${layer}`);
    }
    if (layer === null && f !== 'main.c') {
      found.push(`folder ${f} (no layer)`);
    }
    if (f.endsWith('.h')) {
      const b = basename(f);
      if (headers.has(b)) {
        found.push(`unique ${f} ${headers.get(b)}`);
      }
      headers.set(b, f);
    }
  }
  for (const f of files) {
    const layer = layerOf(f);
    if (layer !== null && !(layer in RANK)) {
      continue;
    }
    const src = readFileSync(join(server, f), 'utf8');
    for (const m of src.matchAll(/^\s*#\s*include\s*([<"])([^>"]+)[>"]/gm)) {
      const inc = m[2];
      if (inc === 'civetweb.h' && layer !== 'http') {
        found.push(`civetweb ${f}`);
      }
      if (inc === 'libpq-fe.h' && layer !== 'db' && layer !== 'store') {
        found.push(`libpq ${f}`);
      }
      if (m[1] === '"' && headers.has(inc)) {
        const target = layerOf(headers.get(inc));
        if (layer !== null && RANK[target] > RANK[layer]) {
          found.push(`upward ${f} ${inc}`);
        }
        if (layer === 'http' && STORAGE.has(target)) {
          // Every route goes through a service (svc/): HTTP sees no storage.
          found.push(`storage ${f} ${inc}`);
        }
      }
    }
    if (layer === 'http') {
      const code = codeOnly(src);
      for (const name of new Set([...code.matchAll(DB_CALL), ...code.matchAll(DB_NAME)].map((m) => m[1]))) {
        found.push(`dbcall ${f} ${name}`);
      }
    }
    if (!f.startsWith('http/test/') && /"\/api\/v1\/(test|debug)\//.test(src)) {
      // Test-only routes live in one file, linked into the test build only.
      found.push(`testroute ${f}`);
    }
    if (layer !== 'db' && layer !== 'store') {
      // libpq's results and SQL text belong to the storage layers.
      const code = codeOnly(src);
      if (/\b(PGresult|PQ[a-z]\w*)\b/.test(code)) {
        found.push(`pgresult ${f}`);
      }
      if (/"\s*(SELECT|INSERT INTO|UPDATE|DELETE FROM|WITH)\s[^"]*/.test(src)) {
        found.push(`sql ${f}`);
      }
    }
    if (layer !== null && RANK[layer] < RANK.http && f.endsWith('.h')) {
      // One error contract: a function that fills an svc_error returns an
      // svc_status (or nothing, for a helper that only fills it), never a
      // 0/-1 of its own.
      for (const [name, ret] of svcErrorCarriers(codeOnly(src))) {
        found.push(`carrier ${f} ${name} ${ret}`);
      }
    }
    if (layer !== null && RANK[layer] < RANK.http && !HTTP_CLIENTS.has(f)) {
      const code = codeOnly(src).replace(/^\s*#\s*define\s+\w+_(MS|S|US)\s+\d+\s*$/gm, '');
      const seen = new Set();
      for (const m of code.matchAll(STATUS)) {
        seen.add(m[1]);
      }
      for (const s of seen) {
        found.push(`status ${f} ${s}`);
      }
    }
  }
  return found;
}

test('comments and strings are not code', () => {
  const c = codeOnly('int a = 404; /* 500 */ const char *s = "503"; // 429\nchar q = \'"\';');
  assert.match(c, /404/);
  assert.doesNotMatch(c, /500|503|429/);
  const n = (s) => [...s.matchAll(STATUS)].map((m) => m[1]);
  assert.deepEqual(n('return 404; x = f(c, 503, "e"); char b[400]; y = era * 400;'), ['404', '503']);
});

test('the HTTP rule finds storage calls and names, not row types or comments', () => {
  const names = (src) => [...codeOnly(src).matchAll(DB_CALL), ...codeOnly(src).matchAll(DB_NAME)]
    .map((m) => m[1]);
  assert.deepEqual(names('db_status st = db_acquire(p, DB_WAIT_MS, &c); db_release (p, c);'),
    ['db_acquire', 'db_release', 'DB_WAIT_MS']);
  assert.deepEqual(names('const db_app *a = row; /* db_app_free(rows) */ x = "DB_OK";'), []);
});

test('the contract rule finds a 0/-1 status next to an svc_error', () => {
  const names = (src) => svcErrorCarriers(codeOnly(src)).map(([n, r]) => `${n}:${r}`);
  assert.deepEqual(names(`
    typedef struct { int a; } x_t;
    MT_MUSTCHECK
    svc_status svc_a(const svc_actor *a, svc_error *e);
    int svc_b(srv *s, long long id,
              svc_error *e);
    void svc_fill(mt_plan p, svc_error *e);
    bool svc_c(const svc_error *e);
    typedef svc_status (*fn_t)(void *arg, svc_error *e);
    static inline long long svc_viewer(const svc_actor *a) { return 0; }`), ['svc_b:int']);
});

test('server/: every file in its layer, includes only downwards, HTTP only in http/', () => {
  assert.ok(files.length > 50, `found only ${files.length} files under server/`);
  const found = violations();
  const fresh = found.filter((v) => !KNOWN.has(v));
  const gone = [...KNOWN].filter((v) => !found.includes(v));
  assert.deepEqual(fresh, [], `new layer violations (fix them; see docs/server-code.md):\n${fresh.join('\n')}`);
  assert.deepEqual(gone, [], `fixed violations still listed in KNOWN (remove them):\n${gone.join('\n')}`);
});
