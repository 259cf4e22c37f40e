#!/usr/bin/env node
// The offline viewer as one classic script: portal/vendor/offline.bundle.js.
//
// Chromium refuses ES module scripts on a page opened from file:// (their
// origin is "null", so the CORS check of a module fails), while a classic
// <script src> works there. This joins portal/js/offline.mjs and every module
// it imports (the chart, uPlot, the wasm core with the wasm inlined) into one
// classic script, with the viewer's catalogues, so that offline.html works
// from a web server and straight from the disk alike. It is not a general
// bundler: it understands the import/export forms these modules use, one
// statement per line at the start of a line, and fails loudly on anything
// else. Run by the build (target portal_offline) after portal_vendor.
//
//   node scripts/bundle-offline.mjs [OUT]
import fs from 'node:fs';
import path from 'node:path';
import url from 'node:url';

const repo = path.resolve(path.dirname(url.fileURLToPath(import.meta.url)), '..');
const portal = path.join(repo, 'portal');
const entry = path.join(portal, 'js', 'offline.mjs');
const out = path.resolve(process.argv[2] || path.join(portal, 'vendor', 'offline.bundle.js'));

// The wasm core is made by the WebAssembly build (MT_WASM): a build without
// it (the sanitizer builds) has none to inline, and leaves the bundle as it is.
if (!fs.existsSync(path.join(portal, 'vendor', 'wasm', 'metron.mjs'))) {
  console.warn('bundle-offline: no portal/vendor/wasm/metron.mjs (a build without MT_WASM): ' +
    'portal/vendor/offline.bundle.js left as it is');
  process.exit(0);
}

const rel = (f) => path.relative(portal, f).split(path.sep).join('/');
const modules = new Map(); // id -> code
const order = [];

function fail(file, line, why) {
  throw new Error(`${rel(file)}:${line}: ${why}`);
}

// "a, b as c" -> [['a', 'a'], ['b', 'c']] (imported name, local name)
function specifiers(list, file, line) {
  return list.split(',').map((s) => s.trim()).filter(Boolean).map((s) => {
    const m = s.match(/^([\w$]+)(?:\s+as\s+([\w$]+))?$/);
    if (!m) fail(file, line, `cannot read "${s}"`);
    return [m[1], m[2] || m[1]];
  });
}

function load(file) {
  const id = rel(file);
  if (modules.has(id)) return id;
  modules.set(id, null); // no import cycles in these modules; a cycle would use this placeholder
  const src = fs.readFileSync(file, 'utf8');
  const exportsOf = []; // [exported name, expression]
  let reexports = 0;
  const dep = (spec, n) => {
    if (!spec.startsWith('.')) fail(file, n, `bare import "${spec}"`);
    return load(path.resolve(path.dirname(file), spec));
  };
  let inComment = false; // a /* ... */ block starting a line (uPlot comments out an export)
  const lines = src.split('\n').map((text, i) => {
    const n = i + 1;
    if (inComment) {
      if (text.includes('*/')) inComment = false;
      return text;
    }
    if (/^\s*\/\*/.test(text) && !text.slice(text.indexOf('/*') + 2).includes('*/')) {
      inComment = true;
      return text;
    }
    if (!/^(import|export)\b/.test(text)) {
      if (/^\s*(import|export)\s[^(]/.test(text) && !/^\s*(\/\/|\*)/.test(text)) {
        fail(file, n, 'indented import/export');
      }
      // A classic script from file:// cannot load a module: import() (the
      // portal's pages use it, loaded when first shown) has no place here.
      if (/\bimport\s*\(/.test(text.replace(/\/\/.*$/, '')) && !/^\s*\*/.test(text)) {
        fail(file, n, 'import() in a module of the offline viewer');
      }
      return text.replace(/\bimport\.meta\.url\b/g,
        `new URL(${JSON.stringify(`../${id}`)}, __bundleUrl).href`);
    }
    let m;
    if ((m = text.match(/^import\s+([\w$]+)\s+from\s+'([^']+)';?\s*$/))) {
      return `const ${m[1]} = __require(${JSON.stringify(dep(m[2], n))}).default;`;
    }
    if ((m = text.match(/^import\s*\{([^}]*)\}\s*from\s+'([^']+)';?\s*$/))) {
      const names = specifiers(m[1], file, n).map(([a, b]) => (a === b ? a : `${a}: ${b}`));
      return `const { ${names.join(', ')} } = __require(${JSON.stringify(dep(m[2], n))});`;
    }
    if ((m = text.match(/^export\s*\{([^}]*)\}\s*from\s+'([^']+)';?\s*$/))) {
      const tmp = `__re${reexports++}`;
      for (const [a, b] of specifiers(m[1], file, n)) exportsOf.push([b, `${tmp}.${a}`]);
      return `const ${tmp} = __require(${JSON.stringify(dep(m[2], n))});`;
    }
    if ((m = text.match(/^export\s*\{([^}]*)\};?\s*$/))) {
      for (const [a, b] of specifiers(m[1], file, n)) exportsOf.push([b, a]);
      return '';
    }
    if ((m = text.match(/^export\s+default\s+(.*)$/))) {
      exportsOf.push(['default', '__default']);
      return `const __default = ${m[1]}`;
    }
    if ((m = text.match(/^export\s+((?:async\s+)?function\*?|class|const|let|var)\s+([\w$]+)/))) {
      exportsOf.push([m[2], m[2]]);
      return text.replace(/^export\s+/, '');
    }
    return fail(file, n, `cannot bundle "${text.slice(0, 60)}"`);
  });
  const tail = exportsOf.map(([name, expr]) => `  __exports[${JSON.stringify(name)}] = ${expr};`);
  modules.set(id, `__define(${JSON.stringify(id)}, function (__exports) {\n'use strict';\n` +
    `${lines.join('\n')}\n${tail.join('\n')}\n});\n`);
  order.push(id);
  return id;
}

load(entry);

const catalogues = {};
const i18nDir = path.join(portal, 'i18n', 'viewer');
for (const f of fs.readdirSync(i18nDir).filter((x) => x.endsWith('.json')).sort()) {
  catalogues[f.slice(0, -5)] = JSON.parse(fs.readFileSync(path.join(i18nDir, f), 'utf8'));
}

const prologue = `// Generated by scripts/bundle-offline.mjs from portal/js/offline.mjs and the
// modules it imports (${order.length}); do not edit. See docs/viewer.md.
(function () {
'use strict';
const __bundleUrl = document.currentScript && document.currentScript.src ? document.currentScript.src : location.href;
const __factories = new Map();
const __cache = new Map();
function __define(id, factory) { __factories.set(id, factory); }
function __require(id) {
  if (__cache.has(id)) return __cache.get(id);
  const exports = {};
  __cache.set(id, exports);
  __factories.get(id)(exports);
  return exports;
}
globalThis.__METRON_VIEWER_I18N = ${JSON.stringify(catalogues)};
`;
const epilogue = `window.__metronOfflineBundle = { start() { return __require(${JSON.stringify(rel(entry))}).start(); } };
})();
`;
const body = order.map((id) => modules.get(id)).join('');
fs.mkdirSync(path.dirname(out), { recursive: true });
fs.writeFileSync(out + '.tmp', prologue + body + epilogue);
fs.renameSync(out + '.tmp', out);
console.log(`${path.relative(repo, out)}: ${order.length} modules, ${(fs.statSync(out).size / 1024).toFixed(0)} KiB`);
