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

// ------------------------------------------------------------ keys built from a variable
//
// keysUsed() sees literals and literal heads only: t(key), where key came
// from elsewhere, could be any key. So every call of a translation function
// (t() and has() of i18n.mjs, the offline viewer's t(), the chart's
// options.t) is classified by its first argument, and each must be
// accounted for:
//   - a literal, a template or concatenation with a literal head, a
//     ?: / || / ?? of those, or a literal object of those indexed
//     ({ a: 'x.y' }[code]): its keys are literals, which keysUsed() checks;
//   - a name the same module gives only such values (const key = ...), or
//     a literal object or array of them (SPECIAL[v], LABEL_OF[f]);
//   - a parameter of a function of the same module (const f = (k) => ...,
//     function f(k)) that every call of it in the module gives such a value;
//   - else an annotation on the call's line or the comment lines just above
//     it: "i18n-keys: fam.*, other.key" naming the keys it can produce (a
//     family "x.y.*" is every key starting "x.y."), each of which must be a
//     catalogue key or family, checked like the other keys of the module;
//     or "i18n-keys: as written" for a key passed through from where it is
//     written as a literal (data-i18n attributes, a route table's titles),
//     which is checked there.
// A call none of these accounts for fails the test with its file and line.

/** Source with comments blanked (newlines kept, so lines count the same). */
export function blank(s) {
  let out = '';
  const opens = []; // brace depth at each open ${ of a template
  let depth = 0;
  for (let i = 0; i < s.length;) {
    const c = s[i];
    if (c === '/' && s[i + 1] === '/') {
      while (i < s.length && s[i] !== '\n') { out += ' '; i++; }
    } else if (c === '/' && s[i + 1] === '*') {
      const e = s.indexOf('*/', i + 2);
      const end = e < 0 ? s.length : e + 2;
      out += s.slice(i, end).replace(/[^\n]/g, ' ');
      i = end;
    } else if (c === "'" || c === '"') {
      let j = i + 1;
      while (j < s.length && s[j] !== c && s[j] !== '\n') j += s[j] === '\\' ? 2 : 1;
      out += s.slice(i, j + 1);
      i = j + 1;
    } else if (c === '`' || (c === '}' && opens.length && opens[opens.length - 1] === depth)) {
      if (c === '}') opens.pop();
      let j = i + 1;
      while (j < s.length && s[j] !== '`' && !(s[j] === '$' && s[j + 1] === '{')) j += s[j] === '\\' ? 2 : 1;
      if (s[j] === '$') { out += s.slice(i, j + 2); i = j + 2; opens.push(depth); } else { out += s.slice(i, j + 1); i = j + 1; }
    } else {
      if (c === '{') depth++;
      else if (c === '}') depth--;
      out += c;
      i++;
    }
  }
  return out;
}

/** The end of the string or template starting at s[i]. */
function skipString(s, i) {
  const q = s[i];
  let j = i + 1;
  while (j < s.length && s[j] !== q) {
    if (s[j] === '\\') j += 2;
    else if (q === '`' && s[j] === '$' && s[j + 1] === '{') j = skipExpr(s, j + 2, '}') + 1;
    else j++;
  }
  return j + 1;
}

/** The end of the expression starting at s[i]: the index of the first
 * top-level ',' or ';' or closing bracket not opened in it (or "close"). */
function skipExpr(s, i, close = null) {
  let d = 0;
  for (let j = i; j < s.length;) {
    const c = s[j];
    if (c === "'" || c === '"' || c === '`') { j = skipString(s, j); continue; }
    if ('([{'.includes(c)) d++;
    else if (')]}'.includes(c)) { if (d === 0) return j; d--; } else if (d === 0 && (c === ',' || c === ';')) return j;
    else if (d === 0 && close === null && c === '\n' && /^\n\s*(?:const|let|var|return|if|for|function|export|import)\b/.test(s.slice(j, j + 30))) return j;
    j++;
  }
  return s.length;
}

/** The index of the bracket closing the one at s[i]. */
function closeOf(s, i) {
  let d = 0;
  for (let j = i; j < s.length;) {
    const c = s[j];
    if (c === "'" || c === '"' || c === '`') { j = skipString(s, j); continue; }
    if ('([{'.includes(c)) d++;
    else if (')]}'.includes(c) && --d === 0) return j;
    j++;
  }
  return s.length;
}

/** The top-level parts of "e" split at operator "op" ('?' splits a ?: in two: [then, else]). */
function splitTop(e, op) {
  const parts = [];
  let d = 0;
  let from = 0;
  let q = -1;
  for (let j = 0; j < e.length;) {
    const c = e[j];
    if (c === "'" || c === '"' || c === '`') { j = skipString(e, j); continue; }
    if ('([{'.includes(c)) d++;
    else if (')]}'.includes(c)) d--;
    else if (d === 0 && op === '?' && c === '?' && e[j + 1] !== '?' && e[j + 1] !== '.' && e[j - 1] !== '?') {
      if (q < 0) { q = j; from = j + 1; }
    } else if (d === 0 && op === '?' && c === ':' && q >= 0) {
      // the ':' of this '?' (nested ?: in the "then" part are bracketed or absent here)
      return [e.slice(from, j), e.slice(j + 1)];
    } else if (d === 0 && op !== '?' && e.startsWith(op, j)) {
      parts.push(e.slice(from, j));
      j += op.length;
      from = j;
      continue;
    }
    j++;
  }
  if (op === '?') return null;
  parts.push(e.slice(from));
  return parts;
}

/** "e" without brackets around the whole of it. */
function unwrap(e) {
  e = e.trim();
  while (e.startsWith('(') && closeOf(e, 0) === e.length - 1) e = e.slice(1, -1).trim();
  return e;
}

/** The values of literal object or array "e" ('{ a: x, b: y }' or '[x, y]'),
 * or null when "e" is not one. */
function literalValues(e) {
  e = unwrap(e);
  if (!(e.startsWith('{') || e.startsWith('[')) || closeOf(e, 0) !== e.length - 1) return null;
  const out = [];
  for (let j = 1; j < e.length - 1;) {
    const end = skipExpr(e, j);
    let item = e.slice(j, end).trim();
    j = end + 1;
    if (!item) continue; // after a trailing comma
    if (e[0] === '{') {
      const m = /^(?:[\w$]+|'[^']*'|"[^"]*"|\[[^\]]*\])\s*:/.exec(item);
      if (!m) return null; // a method, a spread, a shorthand
      item = item.slice(m[0].length);
    }
    out.push(item);
  }
  return out;
}

/** Whether the values expression "expr" (at index "pos" of module text
 * "text", blanked) can have are accounted for (above). */
function accounts(text, expr, pos, seen = new Set()) {
  const e = unwrap(expr);
  if (!e) return false;
  if (/^'(?:[^'\\]|\\.)*'$|^"(?:[^"\\]|\\.)*"$/.test(e) || /^-?\d/.test(e) || /^(?:null|undefined|true|false)$/.test(e)) return true;
  if (e.startsWith('`') && skipString(e, 0) === e.length) {
    if (!e.includes('${') || /^`[a-z][a-z0-9_]*\./.test(e)) return true;
    // A template whose head is ${name}: accounted for as that name is.
    const m = /^`\$\{\s*([\w$]+)\s*\}/.exec(e);
    return !!m && accounts(text, m[1], pos, seen);
  }
  const alt = splitTop(e, '?');
  if (alt) return accounts(text, alt[0], pos, seen) && accounts(text, alt[1], pos, seen);
  for (const op of ['||', '??']) {
    const p = splitTop(e, op);
    if (p.length > 1) return p.every((x) => accounts(text, x, pos, seen));
  }
  const plus = splitTop(e, '+');
  if (plus.length > 1) return /^['"`][a-z][a-z0-9_]*\./.test(plus[0].trim()) || accounts(text, plus[0], pos, seen);
  // { a: 'x.y', ... }[code]: every value accounted for.
  if (e.startsWith('{') || e.startsWith('[')) {
    const end = closeOf(e, 0) + 1;
    const vals = literalValues(e.slice(0, end));
    if (vals && (end === e.length || /^\s*(?:\[|\.|\?\.)/.test(e.slice(end)))) return vals.every((v) => accounts(text, v, pos, seen));
    return false;
  }
  const m = /^([A-Za-z_$][\w$]*)(\s*(?:\[[^\]]*\]|\.[\w$]+|\?\.[\w$]+))*$/.exec(e);
  if (!m || seen.has(m[1])) return false;
  return named(text, m[1], !!m[2], pos, new Set([...seen, m[1]]));
}

const bare = new Map();
/** Module text "text" with the contents of its quoted strings blanked (the
 * same indexes): where names are looked for. */
function bareOf(text) {
  if (!bare.has(text)) bare.set(text, text.replace(/'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"/g, (m) => `${m[0]}${' '.repeat(m.length - 2)}${m[0]}`));
  return bare.get(text);
}

/** The functions of module text "text" with their parameters and the
 * extent of their bodies: [{ name, params, from, to }]. */
function functionsOf(text) {
  const out = [];
  for (const x of bareOf(text).matchAll(/(?:const|let)\s+([\w$]+)\s*=\s*(?:async\s*)?\(([^()]*)\)\s*=>\s*|function\s+([\w$]+)\s*\(([^()]*)\)\s*/g)) {
    const from = x.index + x[0].length;
    const to = text[from] === '{' ? closeOf(text, from) : skipExpr(text, from);
    out.push({ name: x[1] || x[3], params: (x[2] ?? x[4]).split(',').map((p) => p.trim().replace(/\s*=.*$/s, '')), from, to });
  }
  return out;
}

/** Whether every value name "v", as seen at index "pos" of module text
 * "text", can have is accounted for ("member": it is indexed, so it may be
 * a literal object or array of such values). */
function named(text, v, member, pos, seen) {
  // A parameter of the innermost function around "pos": every call of that
  // function in the module gives an accounted value in its place.
  const around = functionsOf(text).filter((f) => f.from <= pos && pos <= f.to && f.params.includes(v))
    .sort((a, b) => b.from - a.from)[0];
  if (around) {
    const at = around.params.indexOf(v);
    const calls = [...bareOf(text).matchAll(new RegExp(`(?<![\\w$.])${around.name.replace(/\$/g, '\\$')}\\(`, 'g'))]
      .filter((c) => !/function\s+$/.test(text.slice(Math.max(0, c.index - 10), c.index)));
    if (!calls.length) return false;
    return calls.every((c) => {
      let j = c.index + c[0].length;
      for (let k = 0; k < at; k++) {
        j = skipExpr(text, j);
        if (text[j] !== ',') return false;
        j++;
      }
      return accounts(text, text.slice(j, skipExpr(text, j)), j, seen);
    });
  }
  // Else every value the module gives the name (const v = ..., v = ...).
  const vals = [];
  for (const d of bareOf(text).matchAll(new RegExp(`(?<![\\w$.])(?:(?:const|let|var)\\s+)?${v.replace(/\$/g, '\\$')}\\s*=(?![=>])`, 'g'))) {
    const at = d.index + d[0].length;
    vals.push([text.slice(at, skipExpr(text, at)), at]);
  }
  if (!vals.length) return false;
  return vals.every(([x, at]) => {
    const inner = member ? literalValues(x) : null;
    return inner ? inner.every((y) => accounts(text, y, at, seen) || (literalValues(y) || [null]).every((z) => z !== null && accounts(text, z, at, seen)))
      : accounts(text, x, at, seen);
  });
}

/** The translation functions of module text "c" (blanked): the names it
 * imports t and has as from i18n.mjs or offline.mjs, its own, and a t taken
 * from options (the chart). */
function translators(c) {
  const names = new Set();
  for (const m of c.matchAll(/import\s*\{([^}]*)\}\s*from\s*'[./]*(?:i18n|offline)\.mjs'/g)) {
    for (const x of m[1].matchAll(/\b(t|has)\b(?:\s+as\s+([\w$]+))?/g)) names.add(x[2] || x[1]);
  }
  for (const m of c.matchAll(/\bexport\s+function\s+(t|has)\s*\(/g)) names.add(m[1]);
  if (/\blet\s+t\s*=\s*options\.t\b/.test(c)) names.add('t');
  return names;
}

/**
 * The calls of a translation function in module source "raw" whose key
 * nothing accounts for, and the keys the module's annotations name:
 * { bad: ['line: t(expr)'], keys: Set, errors: ['line: ...'] }.
 */
export function dynamicCalls(raw, all) {
  const text = blank(raw);
  const lines = raw.split('\n');
  const bad = [];
  const errors = [];
  const keys = new Set();
  const lineOf = (i) => text.slice(0, i).split('\n').length;
  /** The annotation of line "n" (1-based): on it, or on the comment lines just above. */
  const note = (n) => {
    for (let k = n - 1; k >= 0 && (k === n - 1 || /^\s*(?:\/\/|\/\*|\*)/.test(lines[k])); k--) {
      const m = /i18n-keys:\s*(.*?)\s*(?:\*\/.*)?$/.exec(lines[k]);
      if (m) return m[1];
    }
    return null;
  };
  for (const name of translators(text)) {
    for (const m of text.matchAll(new RegExp(`(?<![\\w$.])${name}\\(`, 'g'))) {
      if (/function\s+$/.test(text.slice(Math.max(0, m.index - 10), m.index))) continue;
      const from = m.index + m[0].length;
      const arg = text.slice(from, skipExpr(text, from, ')'));
      if (accounts(text, arg, from)) continue;
      const line = lineOf(m.index);
      const what = `${line}: ${name}(${arg.trim().replace(/\s+/g, ' ')})`;
      const n = note(line);
      if (n === null) { bad.push(what); continue; }
      if (n.startsWith('as written')) continue;
      for (const fam of n.split(/\s*,\s*/)) {
        const hit = fam.endsWith('*') ? [...all].filter((k) => k.startsWith(fam.slice(0, -1))) : all.has(fam) ? [fam] : [];
        if (!hit.length) errors.push(`${what}: "${fam}" is no catalogue key nor family`);
        for (const k of hit) keys.add(k);
      }
    }
  }
  return { bad, keys, errors };
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
const dynamic = new Map(); // module -> dynamicCalls()
const dyn = (f) => { if (!dynamic.has(f)) dynamic.set(f, dynamicCalls(readFileSync(f, 'utf8'), all)); return dynamic.get(f); };

/** The keys of modules "files" that are in none of "areas": ['module: key (area it is in)']. */
function outside(files, areas) {
  const have = new Set(areas.flatMap((a) => [...(cats.get(a) || [])]));
  const bad = [];
  for (const f of [...files].sort()) {
    for (const k of new Set([...keysUsed(src(f), all), ...dyn(f).keys])) {
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

/** Every module of the portal (not vendor/). */
function modules(dir = js) {
  const out = [];
  for (const e of readdirSync(dir).sort()) {
    const f = join(dir, e);
    if (statSync(f).isDirectory()) { if (e !== 'vendor') out.push(...modules(f)); } else if (/\.m?js$/.test(e)) out.push(f);
  }
  return out;
}

test('every key built from a variable is accounted for (resolved in its module, or annotated with the keys it can be)', () => {
  const files = modules();
  assert.ok(files.length >= 60, `only ${files.length} modules read`);
  const bad = [];
  for (const f of files) {
    const d = dyn(f);
    for (const b of d.bad) bad.push(`portal/${rel(f)}:${b}: a key nothing in the module gives as a literal; add "// i18n-keys: family.*" (the keys it can be) on the line above`);
    for (const e of d.errors) bad.push(`portal/${rel(f)}:${e}`);
  }
  assert.deepEqual(bad, [], `translation calls with a key from a variable:\n${bad.join('\n')}`);
});

test('dynamicCalls resolves literal values and parameters, and requires an annotation for the rest', () => {
  const keys = new Set(['a.b', 'a.c', 'n.x', 'n.y', 'r.make.day']);
  const src = [
    "import { t, has as h } from './i18n.mjs';",
    "const key = { X: 'a.b' }[code] || 'a.c'; t(key);", // 1: a name given literals
    "const L = { a: 'a.b', b: 'a.c' }; t(L[f]);", // 2: a literal object indexed
    "const kv = (k, v) => t(k); kv('a.b', 1); kv(c ? 'a.c' : 'a.b', 2);", // 3: a parameter
    "const m = (v, key) => t(`${key}.${p}`); m(1, 'r.make');", // 4: a template headed by a parameter
    "t(x.dataset.key);", // 5: unknown
    '// i18n-keys: n.*',
    'h(item.key);', // 7: annotated
    "const w = (k) => t(k); w(name);", // 8: a parameter given a variable
    "t(thing); // i18n-keys: z.*", // 9: annotated with no such key
    "t(el.title); // i18n-keys: as written", // 10
  ].join('\n');
  const r = dynamicCalls(src, keys);
  assert.deepEqual(r.bad, ['6: t(x.dataset.key)', '9: t(k)']);
  assert.deepEqual([...r.keys].sort(), ['n.x', 'n.y']);
  assert.deepEqual(r.errors, ['10: t(thing): "z.*" is no catalogue key nor family']);
});
