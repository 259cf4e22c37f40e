// docs/features.md, the index from feature IDs (../shared/spec/FEATURES.md)
// to the code and tests that name them: every feature ID that a comment in
// server/, core/, gateway/, wasm/ or portal/ names must have its row, and
// every path in the index must exist.
//
// Regenerate the index (after adding code for a feature) with
//   FEATURES_WRITE=1 node --test tests/code/features.test.mjs
// which needs the catalogue at ../shared/spec/FEATURES.md.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { filesUnder } from './files.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const indexPath = join(root, 'docs', 'features.md');
const specPath = [join(root, '..', 'shared', 'spec', 'FEATURES.md'),
  join(root, '..', '..', 'shared', 'spec', 'FEATURES.md')].find((p) => existsSync(p));
const CODE_DIRS = ['server', 'core', 'gateway', 'wasm', 'portal'];
const SKIP = new Set(['vendor', 'node_modules', 'i18n', 'fixtures', 'corpus', 'regress']);
const ID = /\b([A-Z][0-9]{1,2})\b/g;

const walk = (dir) => filesUnder(dir, (name) => !SKIP.has(name) && /\.(c|h|mjs|js)$/.test(name), {
  skipDir: (name) => SKIP.has(name),
});

// The catalogue: [id, short title] from FEATURES.md (table rows "| P2 ..." and
// list items "- L1 ...").
function catalogue(text) {
  const out = [];
  for (const line of text.split('\n')) {
    let m = line.match(/^\| ?([A-Z][0-9]+) ([^|]+)\|/);
    if (m) {
      out.push([m[1], m[2].trim()]);
      continue;
    }
    m = line.match(/^- ([A-Z][0-9]+) (.*)$/);
    if (m) {
      let t = m[2].replace(/\.$/, '');
      if (t.length > 70) t = `${t.slice(0, 67).replace(/\s+\S*$/, '')}…`;
      out.push([m[1], t]);
    }
  }
  return out;
}

// id -> Set of files (relative) whose comments (and, in tests, test names)
// name a feature ID of "known".
function scan(dirs, known) {
  const ids = new Map();
  for (const d of dirs) {
    for (const f of walk(join(root, d))) {
      const src = readFileSync(f, 'utf8');
      const texts = src.match(/\/\*[\s\S]*?\*\/|\/\/[^\n]*/g) || [];
      if (f.endsWith('.mjs')) texts.push(...(src.match(/test\((['`"])(?:\\.|(?!\1).)*\1/g) || []));
      for (const c of texts) {
        for (const m of c.matchAll(ID)) {
          if (!known.has(m[1])) continue;
          if (!ids.has(m[1])) ids.set(m[1], new Set());
          ids.get(m[1]).add(f.slice(root.length + 1));
        }
      }
    }
  }
  return ids;
}

// The index's rows (id -> [paths]) and the IDs it lists as named by no code.
function readIndex(text) {
  const rows = new Map();
  for (const line of text.split('\n')) {
    const m = line.match(/^\| ([A-Z][0-9]+) \|[^|]*\|([^|]*)\|([^|]*)\|$/);
    if (m) rows.set(m[1], [...`${m[2]} ${m[3]}`.matchAll(/`([^`]+)`/g)].map((x) => x[1]));
  }
  const none = (text.match(/^Named by no code comment yet: (.*)\.$/m) || [, ''])[1]
    .split(/,\s*/).filter(Boolean);
  return { rows, none: new Set(none) };
}

function render(cat, code, tests) {
  let out = `# Feature index

Where each feature of the catalogue (\`../shared/spec/FEATURES.md\`) is
implemented and tested: for every feature ID that a code comment names, the
files whose comments name it and the tests that name it. IDs no code names
yet are listed at the end. \`tests/code/features.test.mjs\` fails when a
comment in \`server/\`, \`core/\`, \`gateway/\`, \`wasm/\` or \`portal/\` names a
feature ID that this index lacks, or when a path below does not exist
(\`FEATURES_WRITE=1 node --test tests/code/features.test.mjs\` rewrites it).

| ID | feature | code | tests |
|---|---|---|---|
`;
  const none = [];
  for (const [id, title] of cat) {
    if (!code.has(id)) {
      none.push(id);
      continue;
    }
    const list = (s) => [...s].sort().map((f) => `\`${f}\``).join(', ');
    out += `| ${id} | ${title.replace(/\|/g, '/')} | ${list(code.get(id))} | ${tests.has(id) ? list(tests.get(id)) : '—'} |\n`;
  }
  return `${out}\nNamed by no code comment yet: ${none.join(', ')}.\n`;
}

if (process.env.FEATURES_WRITE === '1') {
  assert.ok(specPath, 'FEATURES_WRITE needs ../shared/spec/FEATURES.md');
  const cat = catalogue(readFileSync(specPath, 'utf8'));
  const known = new Set(cat.map((c) => c[0]));
  writeFileSync(indexPath, render(cat, scan(CODE_DIRS, known), scan(['tests'], known)));
}

const index = readIndex(readFileSync(indexPath, 'utf8'));
// Every ID the index knows (a row or the "named by no code" list); with the
// catalogue at hand, its IDs.
const known = specPath
  ? new Set(catalogue(readFileSync(specPath, 'utf8')).map((c) => c[0]))
  : new Set([...index.rows.keys(), ...index.none]);

test('every feature ID a code comment names has its row in docs/features.md', () => {
  assert.ok(index.rows.size > 20, `only ${index.rows.size} rows in docs/features.md`);
  const named = scan(CODE_DIRS, known);
  const missing = [...named.keys()].filter((id) => !index.rows.has(id))
    .map((id) => `${id} (named in ${[...named.get(id)].join(', ')})`);
  assert.deepEqual(missing, [],
    `feature IDs missing from docs/features.md (add their rows, e.g. FEATURES_WRITE=1):\n${missing.join('\n')}`);
});

test('every path in docs/features.md exists, every ID is in the catalogue', () => {
  const gone = [];
  for (const [id, paths] of index.rows) {
    if (!known.has(id)) gone.push(`${id}: not a feature ID`);
    for (const p of paths) if (!existsSync(join(root, p))) gone.push(`${id}: ${p}`);
  }
  assert.deepEqual(gone, [], `stale entries in docs/features.md:\n${gone.join('\n')}`);
});
