#!/usr/bin/env node
// The portal as files for a static host, nginx or a CDN (docs/deploy.md):
//
//   OUT/index.html, OUT/offline.html     the two pages (cache: "no-cache")
//   OUT/release/<id>/{js,css,i18n,vendor}/...
//                                        everything they load; <id> is a hash
//                                        of those files' names and bytes, so a
//                                        file under release/ never changes and
//                                        may be cached for a year ("immutable")
//
// The pages point into their release folder; every module finds its
// neighbours, the catalogues and the wasm module relative to itself, so
// nothing else is rewritten, and a new release (a new <id>) is picked up as
// soon as index.html is fetched again. Older release folders are kept
// (a page loaded before the update still loads its modules from them):
// delete them once no one can still be on them (a day later, say).
// index.html is written last and by rename, so a host never serves a page
// whose release is half copied.
//
//   node scripts/portal-dist.mjs OUT [--api URL]
//
// --api URL sets <meta name="metron-api"> (the API's address: absolute, or
// relative to the page; empty = "api/v1" next to it, the same origin). It can
// also be edited by hand in OUT/index.html at any time. Needs the build's
// portal/vendor/ (cmake --build build).
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import url from 'node:url';

const repo = path.resolve(path.dirname(url.fileURLToPath(import.meta.url)), '..');
const portal = path.join(repo, 'portal');
// The file kinds the portal is made of (the same list metron-server serves:
// server/base/hdr_text.c, hdr_static_path_ok()).
const KINDS = new Set(['html', 'css', 'js', 'mjs', 'json', 'wasm', 'svg', 'png', 'jpg', 'webp',
  'ico', 'woff2']);
const PAGES = ['index.html', 'offline.html'];

function usage(msg) {
  if (msg) console.error(`portal-dist: ${msg}`);
  console.error('usage: node scripts/portal-dist.mjs OUT [--api URL]');
  process.exit(2);
}

const args = process.argv.slice(2);
let out = null;
let api = null;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--api') {
    if (i + 1 >= args.length) usage('--api needs a value');
    api = args[++i];
  } else if (args[i].startsWith('--api=')) {
    api = args[i].slice(6);
  } else if (args[i].startsWith('-') || out) {
    usage(`unexpected argument ${args[i]}`);
  } else {
    out = path.resolve(args[i]);
  }
}
if (!out) usage('OUT is missing');
if (api !== null && /["<>\s]/.test(api)) usage('--api must be a URL (no quotes, blanks or angle brackets)');
for (const need of ['vendor/uplot/uPlot.esm.js', 'vendor/wasm/metron.mjs']) {
  if (!fs.existsSync(path.join(portal, need))) {
    console.error(`portal-dist: portal/${need} is missing: run cmake --build build first`);
    process.exit(1);
  }
}

// Every file of the portal but the pages, in a stable order.
const files = [];
(function walk(dir) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (e.name.startsWith('.')) continue;
    const full = path.join(dir, e.name);
    const rel = path.relative(portal, full).split(path.sep).join('/');
    if (e.isDirectory()) walk(full);
    else if (e.isFile() && !PAGES.includes(rel) && KINDS.has(path.extname(e.name).slice(1).toLowerCase())) {
      files.push(rel);
    }
  }
})(portal);

const whole = crypto.createHash('sha256');
for (const rel of files) {
  whole.update(rel).update('\0')
    .update(crypto.createHash('sha256').update(fs.readFileSync(path.join(portal, rel))).digest());
}
// The pages' own text is part of a release too (a changed page with the same
// files is a new release: its links may point elsewhere).
for (const p of PAGES) whole.update(p).update('\0').update(fs.readFileSync(path.join(portal, p)));
const id = whole.digest('hex').slice(0, 16);
const release = path.join(out, 'release', id);

if (!fs.existsSync(release)) {
  const tmp = `${release}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  for (const rel of files) {
    const dest = path.join(tmp, rel);
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    fs.copyFileSync(path.join(portal, rel), dest);
  }
  fs.renameSync(tmp, release);
}

// The pages: their links to the portal's files go into the release folder.
function page(name) {
  let html = fs.readFileSync(path.join(portal, name), 'utf8');
  html = html.replace(/\b(href|src)="((?:css|js|vendor|i18n)\/[^"]*)"/g,
    (m, attr, rel) => `${attr}="release/${id}/${rel}"`);
  if (name === 'index.html' && api !== null) {
    const re = /<meta name="metron-api" content="[^"]*">/;
    if (!re.test(html)) throw new Error('portal/index.html has no <meta name="metron-api">');
    html = html.replace(re, `<meta name="metron-api" content="${api}">`);
  }
  return html;
}
for (const name of [...PAGES].reverse()) { // index.html last
  const dest = path.join(out, name);
  const tmp = `${dest}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, page(name));
  fs.renameSync(tmp, dest);
}
console.log(`portal-dist: ${out} (release ${id}, ${files.length} files)`);
