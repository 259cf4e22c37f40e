// The portal's pages are loaded when first shown (portal/js/router.mjs,
// lazyPage; docs/portal.md "Pages loaded when first shown"), checked on the
// source text:
//   - every route a page module registers (registerPage) is declared in the
//     route table portal/js/pages/index.mjs, with the module that registers
//     it and the same title and public/admin/prefix flags (the guard and
//     the navigation read the table before the module is there), and every
//     declared route is registered by its module;
//   - the start-up (portal/js/app.mjs and what it imports statically)
//     imports no page module: a page's code is fetched when it is shown;
//   - every relative import, static or import(), of the portal's modules
//     names a file that exists under portal/ (scripts/portal-dist.mjs ships
//     portal/ whole, so a module found here is shipped), and the offline
//     viewer's modules (scripts/bundle-offline.mjs joins them into one
//     classic script) use no import();
//   - dates and times are formatted in one place (docs/portal.md "Dates and
//     times"): no module but i18n.mjs, chart/format.mjs and ui/datefield.mjs
//     makes an Intl.DateTimeFormat or calls toLocale(Date|Time)String(),
//     but to read the device's time zone (resolvedOptions()), and none
//     passes formatDateTime() a dateStyle or timeStyle of its own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { filesUnder } from './files.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const portal = join(root, 'portal');
const js = join(portal, 'js');
const pagesDir = join(js, 'pages');
const rel = (f) => relative(portal, f).split(sep).join('/');

const walk = (dir) => filesUnder(dir, /\.m?js$/);

/** Source without comments (string contents kept: import specifiers are strings). */
function code(src) {
  return src.replace(/\/\*[\s\S]*?\*\/|(^|[^:'"\\])\/\/[^\n]*/g, (m, pre) => (m.startsWith('/*') ? '' : pre || ''));
}

/** The relative imports of a module: { static: [spec], dynamic: [spec] }. */
export function importsOf(src) {
  const c = code(src);
  const stat = [...c.matchAll(/^(?:import\s+'([^']+)'|(?:import|export)\s[^;'"]*?\bfrom\s+'([^']+)')/gm)]
    .map((m) => m[1] || m[2]);
  const dyn = [...c.matchAll(/\bimport\(\s*'([^']+)'\s*\)/g)].map((m) => m[1]);
  return { static: stat, dynamic: dyn };
}

/** The modules reachable from "entry" through static imports (absolute paths). */
function staticGraph(entry) {
  const seen = new Set();
  (function visit(f) {
    if (seen.has(f) || !existsSync(f)) return;
    seen.add(f);
    for (const s of importsOf(readFileSync(f, 'utf8')).static) {
      if (s.startsWith('.')) visit(resolve(dirname(f), s));
    }
  })(entry);
  return seen;
}

/** The flags of a page definition's text: title, public, admin, prefix. */
function flags(text) {
  const f = {};
  const title = text.match(/\btitle:\s*'([^']+)'/);
  if (title) f.title = title[1];
  for (const k of ['public', 'admin', 'prefix']) if (new RegExp(`\\b${k}:\\s*true\\b`).test(text)) f[k] = true;
  return f;
}

/** The route table of pages/index.mjs: name -> { flags, module (portal-relative) }. */
function table() {
  const src = code(readFileSync(join(pagesDir, 'index.mjs'), 'utf8'));
  const loaders = new Map([...src.matchAll(/const\s+(\w+)\s*=\s*\(\)\s*=>\s*import\('([^']+)'\)/g)]
    .map((m) => [m[1], m[2]]));
  const out = new Map();
  for (const m of src.matchAll(/\[\s*'([^']+)',\s*(\{[^}]*\}),\s*(?:(\w+)|\(\)\s*=>\s*import\('([^']+)'\))\s*\]/g)) {
    const spec = m[4] || loaders.get(m[3]);
    assert.ok(spec, `pages/index.mjs: the loader of ${m[1]} is not an import() of a page module`);
    out.set(m[1], { flags: flags(m[2]), module: rel(resolve(pagesDir, spec)) });
  }
  return out;
}

/** Every registerPage call of the page modules: name -> { flags, module }. */
function registered() {
  const out = new Map();
  for (const f of walk(pagesDir)) {
    const src = code(readFileSync(f, 'utf8'));
    for (const m of src.matchAll(/\bregisterPage\(\s*'([^']+)',\s*\{/g)) {
      // The definition's head: up to its render (the flags come first).
      const head = src.slice(m.index, src.indexOf('render', m.index));
      assert.ok(!out.has(m[1]), `${m[1]} registered twice`);
      out.set(m[1], { flags: flags(head), module: rel(f) });
    }
  }
  return out;
}

test('every page module\'s routes are declared in pages/index.mjs with the same module, title and flags', () => {
  const decl = table();
  const reg = registered();
  assert.ok(reg.size >= 25, `only ${reg.size} pages registered`);
  const wrong = [];
  for (const [name, r] of reg) {
    const d = decl.get(name);
    if (!d) { wrong.push(`${name} (${r.module}): not declared in pages/index.mjs`); continue; }
    if (d.module !== r.module) wrong.push(`${name}: declared with ${d.module}, registered by ${r.module}`);
    assert.ok(r.flags.title, `${name}: no title in ${r.module}`);
    if (JSON.stringify(d.flags, Object.keys(d.flags).sort()) !== JSON.stringify(r.flags, Object.keys(r.flags).sort())) {
      wrong.push(`${name}: declared ${JSON.stringify(d.flags)}, registered ${JSON.stringify(r.flags)}`);
    }
  }
  for (const name of decl.keys()) if (!reg.has(name)) wrong.push(`${name}: declared, registered by no module`);
  assert.deepEqual(wrong, []);
});

test('the start-up imports no page module statically', () => {
  const boot = staticGraph(join(js, 'app.mjs'));
  assert.ok(boot.has(join(pagesDir, 'index.mjs')), 'app.mjs imports the route table');
  const pages = [...boot].filter((f) => f.startsWith(pagesDir + sep) && f !== join(pagesDir, 'index.mjs')).map(rel);
  assert.deepEqual(pages, [], 'page modules in the start-up');
  // The route table itself imports only the router.
  assert.deepEqual(importsOf(readFileSync(join(pagesDir, 'index.mjs'), 'utf8')).static, ['../router.mjs']);
});

test('every relative import of the portal\'s modules exists; the offline viewer uses no import()', () => {
  const missing = [];
  const vendorBuilt = existsSync(join(portal, 'vendor', 'wasm', 'metron.mjs'));
  for (const f of walk(js)) {
    const { static: s, dynamic: d } = importsOf(readFileSync(f, 'utf8'));
    for (const spec of [...s, ...d]) {
      if (!spec.startsWith('.')) { missing.push(`${rel(f)}: bare import ${spec}`); continue; }
      const target = resolve(dirname(f), spec);
      if (!target.startsWith(portal + sep)) { missing.push(`${rel(f)}: ${spec} is outside portal/`); continue; }
      // portal/vendor/ is filled by the build (target portal_vendor).
      if (rel(target).startsWith('vendor/') && !vendorBuilt) continue;
      if (!existsSync(target)) missing.push(`${rel(f)}: ${spec}`);
    }
  }
  assert.deepEqual(missing, []);
  const offline = [...staticGraph(join(js, 'offline.mjs'))].filter((f) => !rel(f).startsWith('vendor/'));
  assert.ok(offline.length >= 4, 'the offline viewer\'s modules');
  const dynamic = offline.filter((f) => importsOf(readFileSync(f, 'utf8')).dynamic.length).map(rel);
  assert.deepEqual(dynamic, [], 'import() in the offline viewer\'s modules');
});

test('the pages\' own style sheets: named by the route table, loaded with their pages, not by index.html', () => {
  const src = code(readFileSync(join(pagesDir, 'index.mjs'), 'utf8'));
  const named = new Set();
  for (const m of src.matchAll(/\bcss:\s*\[([^\]]*)\]/g)) {
    for (const n of m[1].matchAll(/'([^']+)'/g)) named.add(n[1]);
  }
  assert.ok(named.has('alarms') && named.has('reports') && named.has('dashboards'), [...named].join(' '));
  for (const n of named) assert.ok(existsSync(join(portal, 'css', `${n}.css`)), `css/${n}.css is missing`);
  // index.html links app.css only: every other sheet is a page's (or the viewer's: chart.mjs).
  const links = [...readFileSync(join(portal, 'index.html'), 'utf8').matchAll(/<link rel="stylesheet" href="([^"]+)"/g)]
    .map((m) => m[1]);
  assert.deepEqual(links, ['css/app.css']);
});

test('dates and times are formatted only by i18n.mjs, chart/format.mjs and ui/datefield.mjs, in their one form', () => {
  const OWN = new Set(['js/i18n.mjs', 'js/chart/format.mjs', 'js/ui/datefield.mjs']);
  const bad = [];
  for (const f of walk(js)) {
    const r = rel(f);
    const src = code(readFileSync(f, 'utf8'));
    if (!OWN.has(r) && /Intl\.DateTimeFormat\s*\((?!\)\.resolvedOptions\(\))|\.toLocale(Date|Time)?String\s*\(/.test(src)) bad.push(`${r}: its own date format`);
    if (r !== 'js/chart/format.mjs' && /\b(dateStyle|timeStyle)\s*:/.test(src) && r !== 'js/ui/datefield.mjs') bad.push(`${r}: a dateStyle/timeStyle of its own`);
  }
  assert.deepEqual(bad, []);
});
