#!/usr/bin/env node
// The references the portal's help page (#/help) offers, in forms its
// static file server gives out (html, json: docs/server.md, "the portal
// folder serves files to read only"):
//   portal/vendor/docs/openapi.json  docs/api/openapi.yaml as JSON (npm "yaml")
//   portal/vendor/docs/ingest.html   docs/ingest.md as plain text in a page
// Run by the build (target portal_offline, after portal_vendor).
//
//   node scripts/portal-references.mjs
import fs from 'node:fs';
import path from 'node:path';
import url from 'node:url';

const repo = path.resolve(path.dirname(url.fileURLToPath(import.meta.url)), '..');
const out = path.join(repo, 'portal', 'vendor', 'docs');
fs.mkdirSync(out, { recursive: true });

let YAML;
try {
  YAML = await import('yaml');
} catch {
  console.warn('portal-references: the npm package "yaml" is missing (npm ci): no openapi.json');
}
if (YAML) {
  const doc = YAML.parse(fs.readFileSync(path.join(repo, 'docs', 'api', 'openapi.yaml'), 'utf8'));
  fs.writeFileSync(path.join(out, 'openapi.json'), `${JSON.stringify(doc, null, 1)}\n`);
}

const esc = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const md = fs.readFileSync(path.join(repo, 'docs', 'ingest.md'), 'utf8');
const title = (md.match(/^# (.+)$/m) || [, 'Metron ingest'])[1];
fs.writeFileSync(path.join(out, 'ingest.html'), `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>${esc(title)}</title>
  <link rel="stylesheet" href="../../css/app.css">
</head>
<body>
  <main class="main"><pre class="pre">${esc(md)}</pre></main>
</body>
</html>
`);
for (const old of ['openapi.yaml', 'ingest.md']) fs.rmSync(path.join(out, old), { force: true });
console.log('portal/vendor/docs: openapi.json, ingest.html');
