// The portal's catalogues are loaded by area (portal/js/i18n.mjs; docs/
// portal.md "Languages"): 'app' at start-up, every other area when a page
// that names it in the route table (portal/js/pages/index.mjs, areas: [...])
// is first shown. A key that is not in a loaded area would be shown raw, so
// this checks, on the source text, that every catalogue key a module uses is
// in an area loaded wherever that module runs:
//   - the start-up (portal/js/app.mjs and its static imports, index.html):
//     in 'app';
//   - each route: its page module and everything it imports, statically or
//     with import(): in 'app' or one of the route's areas;
//   - the offline viewer (portal/js/offline.mjs and its imports; its own
//     loader reads portal/i18n/viewer only): in 'viewer'.
// A key a module uses is a string literal that is a catalogue key, or the
// head of a template literal (`alarms.severity.${s}`) or a literal joined
// to one (`${key}.${period}`, key 'reports.make_last'): every key it can
// become. Keys looked up only behind has() with a sentence of their own as
// fallback (api.mjs: error.<code>, field.<name>) are checked the same way:
// all of them are in 'app', so that an error reads the same on every page.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const portal = join(root, 'portal');
const js = join(portal, 'js');
const i18nDir = join(portal, 'i18n');
const rel = (f) => relative(portal, f).split(sep).join('/');

/** Source without comments (string contents kept). */
function code(src) {
  return src.replace(/\/\*[\s\S]*?\*\/|(^|[^:'"\\])\/\/[^\n]*/g, (m, pre) => (m.startsWith('/*') ? '' : pre || ''));
}

/** The relative imports of a module: { static: [spec], dynamic: [spec] }. */
function importsOf(c) {
  const stat = [...c.matchAll(/^(?:import\s+'([^']+)'|(?:import|export)\s[^;'"]*?\bfrom\s+'([^']+)')/gm)]
    .map((m) => m[1] || m[2]);
  const dyn = [...c.matchAll(/\bimport\(\s*'([^']+)'\s*\)/g)].map((m) => m[1]);
  return { static: stat, dynamic: dyn };
}

/** The modules reachable from "entry" (static imports, and import() when "dynamic"). */
function graph(entry, { dynamic }) {
  const seen = new Set();
  (function visit(f) {
    if (seen.has(f) || !existsSync(f)) return;
    seen.add(f);
    const im = importsOf(code(readFileSync(f, 'utf8')));
    for (const s of dynamic ? [...im.static, ...im.dynamic] : im.static) {
      if (s.startsWith('.') && !rel(resolve(dirname(f), s)).startsWith('vendor/')) visit(resolve(dirname(f), s));
    }
  })(entry);
  return seen;
}

/** area -> Set of the keys of its English catalogue (every language has the same: tests/portal/i18n.test.mjs). */
export function catalogues() {
  const out = new Map();
  for (const area of readdirSync(i18nDir).sort()) {
    const f = join(i18nDir, area, 'en.json');
    if (statSync(join(i18nDir, area)).isDirectory() && existsSync(f)) {
      out.set(area, new Set(Object.keys(JSON.parse(readFileSync(f, 'utf8')))));
    }
  }
  return out;
}

const KEYISH = /^[a-z][a-z0-9_]*(?:\.[A-Za-z0-9_]+)+\.?$/;

/**
 * The keys of "all" (a Set of every catalogue key) that source text "c"
 * can use: exact literals, heads of template literals, literals that are
 * the first part of a longer key ('reports.make_last' + '.' + period).
 */
export function keysUsed(c, all) {
  const used = new Set();
  const prefixes = new Set();
  const lits = [];
  for (const m of c.matchAll(/'((?:[^'\\\n]|\\.)*)'|"((?:[^"\\\n]|\\.)*)"|`((?:[^`\\]|\\.)*)`/g)) {
    if (m[3] !== undefined) {
      // A template: its parts between ${...}; the head, if a key's start, is a prefix.
      const parts = m[3].split(/\$\{[^}]*\}/);
      if (parts.length > 1 && /^[a-z][a-z0-9_]*\./.test(parts[0])) prefixes.add(parts[0]);
      for (const p of parts) lits.push(p);
    } else lits.push(m[1] ?? m[2]);
  }
  for (const s of lits) {
    if (!KEYISH.test(s)) continue;
    if (all.has(s)) used.add(s);
    else prefixes.add(s.endsWith('.') ? s : `${s}.`);
  }
  for (const p of prefixes) for (const k of all) if (k.startsWith(p)) used.add(k);
  return used;
}

/** The route table: name -> { module (absolute), areas: [...] }. */
function routes() {
  const src = code(readFileSync(join(js, 'pages', 'index.mjs'), 'utf8'));
  const loaders = new Map([...src.matchAll(/const\s+(\w+)\s*=\s*\(\)\s*=>\s*import\('([^']+)'\)/g)]
    .map((m) => [m[1], m[2]]));
  const out = new Map();
  for (const m of src.matchAll(/\[\s*'([^']+)',\s*(\{[^}]*\}),\s*(?:(\w+)|\(\)\s*=>\s*import\('([^']+)'\))\s*\]/g)) {
    const spec = m[4] || loaders.get(m[3]);
    const a = m[2].match(/\bareas:\s*\[([^\]]*)\]/);
    const areas = a ? [...a[1].matchAll(/'([^']+)'/g)].map((x) => x[1]) : [];
    out.set(m[1], { module: resolve(js, 'pages', spec), areas });
  }
  return out;
}

/** The areas i18n.mjs knows (AREAS) and the one(s) loaded at start-up (START_AREAS). */
function declaredAreas() {
  const src = code(readFileSync(join(js, 'i18n.mjs'), 'utf8'));
  const list = (name) => {
    const m = src.match(new RegExp(`\\b${name}\\s*=\\s*\\[([^\\]]*)\\]`));
    return m ? [...m[1].matchAll(/'([^']+)'/g)].map((x) => x[1]) : null;
  };
  return { all: list('AREAS'), start: list('START_AREAS') };
}

const cats = catalogues();
const all = new Set([...cats.values()].flatMap((s) => [...s]));
const text = new Map(); // module -> comment-free source
const src = (f) => { if (!text.has(f)) text.set(f, code(readFileSync(f, 'utf8'))); return text.get(f); };

/** The keys of modules "files" that are in none of "areas": ['module: key (area it is in)']. */
function outside(files, areas) {
  const have = new Set(areas.flatMap((a) => [...(cats.get(a) || [])]));
  const bad = [];
  for (const f of [...files].sort()) {
    for (const k of keysUsed(src(f), all)) {
      if (have.has(k)) continue;
      const where = [...cats].filter(([, s]) => s.has(k)).map(([a]) => a).join(', ');
      bad.push(`${rel(f)}: ${k} (${where})`);
    }
  }
  return bad;
}

test('i18n.mjs loads "app" at start-up and knows every area of portal/i18n', () => {
  const { all: known, start } = declaredAreas();
  assert.deepEqual(start, ['app']);
  assert.deepEqual([...known].sort(), [...cats.keys()].sort());
});

test('the start-up uses only keys of "app"', () => {
  const boot = graph(join(js, 'app.mjs'), { dynamic: false });
  assert.ok(boot.has(join(js, 'router.mjs')) && boot.has(join(js, 'api.mjs')), 'the start-up\'s modules');
  const bad = outside(boot, ['app']);
  const html = readFileSync(join(portal, 'index.html'), 'utf8');
  for (const m of html.matchAll(/data-i18n[a-z-]*="([^"]+)"/g)) if (!cats.get('app').has(m[1])) bad.push(`index.html: ${m[1]}`);
  assert.deepEqual(bad, [], `keys outside "app":\n${bad.join('\n')}`);
});

/**
 * The modules a page runs, each with the areas loaded when it runs: the
 * page's, and for the modules a module imports with import() the areas that
 * module loads itself (loadAreas([...]), alongside the import: a part shown
 * outside its page, like the monitor's "Add to dashboard" dialog).
 * Returns [[file, areas]].
 */
function pageModules(entry, areas) {
  const seen = new Set();
  const out = [];
  (function visit(f, have) {
    const id = `${f}|${[...have].sort()}`;
    if (seen.has(id) || !existsSync(f)) return;
    seen.add(id);
    out.push([f, [...have]]);
    const c = src(f);
    const own = [...c.matchAll(/\bloadAreas\(\s*\[([^\]]*)\]/g)].flatMap((m) => [...m[1].matchAll(/'([^']+)'/g)].map((x) => x[1]));
    const im = importsOf(c);
    const next = (s) => resolve(dirname(f), s);
    const local = (s) => s.startsWith('.') && !rel(next(s)).startsWith('vendor/');
    for (const s of im.static.filter(local)) visit(next(s), have);
    for (const s of im.dynamic.filter(local)) visit(next(s), new Set([...have, ...own]));
  })(entry, new Set(areas));
  return out;
}

test('every page uses only keys of "app" and of the areas its route names (or a part loads with it)', () => {
  const table = routes();
  assert.ok(table.size >= 25, `only ${table.size} routes read`);
  const { all: known } = declaredAreas();
  const bad = [];
  for (const [name, r] of table) {
    for (const a of r.areas) if (!known.includes(a) || a === 'app') bad.push(`${name}: unknown area ${a}`);
    for (const [f, areas] of pageModules(r.module, ['app', ...r.areas])) {
      for (const b of outside([f], areas)) bad.push(`${name}: ${b}`);
    }
  }
  assert.deepEqual([...new Set(bad)], [], `keys outside the areas loaded:\n${[...new Set(bad)].join('\n')}`);
});

test('the offline viewer uses only keys of "viewer" (the catalogue it loads)', () => {
  const files = graph(join(js, 'offline.mjs'), { dynamic: false });
  assert.ok(files.size >= 4, 'the offline viewer\'s modules');
  const bad = outside(files, ['viewer']);
  assert.deepEqual(bad, [], `keys outside "viewer":\n${bad.join('\n')}`);
  for (const m of readFileSync(join(portal, 'offline.html'), 'utf8').matchAll(/data-i18n="([^"]+)"/g)) {
    assert.ok(cats.get('viewer').has(m[1]), `offline.html: ${m[1]}`);
  }
});

test('a key is in one area only (the merged catalogue does not depend on the order of loading)', () => {
  const seen = new Map();
  const twice = [];
  for (const [a, keys] of cats) {
    for (const k of keys) {
      if (seen.has(k)) twice.push(`${k}: ${seen.get(k)} and ${a}`);
      else seen.set(k, a);
    }
  }
  assert.deepEqual(twice, []);
});

test('keysUsed finds literals, template heads and joined prefixes', () => {
  const keys = new Set(['a.b', 'a.c.x', 'a.c.y', 'r.make.day', 'r.make.week', 'z.q']);
  assert.deepEqual([...keysUsed("t('a.b'); t(`a.c.${k}`); const k = 'r.make'; t(`${k}.${p}`);", keys)].sort(),
    ['a.b', 'a.c.x', 'a.c.y', 'r.make.day', 'r.make.week']);
  assert.deepEqual([...keysUsed("css: ['a'], 'z.mjs', 'a.b.c'", keys)], []);
});
