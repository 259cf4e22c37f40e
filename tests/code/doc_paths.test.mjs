// What docs/ and tests/ tell a reader to run must be in the repository
// (issue 16: docs/benchmarks.md cited profiling tools and kept binaries of
// an engineer's machine, gone with it, and no one could repeat its
// figures). No text of docs/ or tests/ names:
// - a path of the engineers' worktrees (/work/wt/..., /work/main);
// - a script or a server binary kept in /tmp (/tmp/x.sh, /tmp/y/cgme.py,
//   /tmp/before/metron-server-test): scripts/bench-kept, scripts/cputree and
//   "scripts/bench-kept build COMMIT" (build/kept/COMMIT) are the tools;
// - the tools that were never committed (keepbin.sh, mixrun.sh, cpurun.sh,
//   cputree.py, cgme.sh).
// Temporary data in /tmp (a kept set-up's JSON, a dump) is fine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, relative, dirname, extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { filesUnder } from './files.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const self = fileURLToPath(import.meta.url);
const TEXT = new Set(['.md', '.mjs', '.js', '.c', '.h', '.lua', '.sh', '.sql', '.txt', '.json', '.yaml', '.py', '']);

const RULES = [
  [/\/work\/(wt|main)\b/, 'an engineer\'s worktree'],
  [/\/tmp\/[^\s`'"()]*?(\.(sh|py|mjs|js|lua|pl)\b|metron-server|server-test)/, 'a script or server binary kept in /tmp'],
  [/\b(keepbin\.sh|mixrun\.sh|cpurun\.sh|cputree\.py|cgme\.sh)\b/, 'a tool never committed'],
];

const walk = (dir) => filesUnder(dir, (name) => TEXT.has(extname(name)), {
  skipDir: (name) => ['img', 'corpus', 'work'].includes(name),
  skipFile: (p) => p === self,
});

test('docs/ and tests/ cite no path of an engineer\'s machine', () => {
  const found = [];
  for (const file of [...walk(join(root, 'docs')), ...walk(join(root, 'tests'))]) {
    const lines = readFileSync(file, 'utf8').split('\n');
    lines.forEach((line, i) => {
      for (const [re, what] of RULES) {
        const m = re.exec(line);
        if (m) found.push(`${relative(root, file)}:${i + 1}: ${what}: ${m[0]}`);
      }
    });
  }
  assert.deepEqual(found, [], 'use scripts/bench-kept, scripts/cputree or a build/kept/COMMIT binary ' +
    '(docs/benchmarks.md, "Profiling tools")');
});

test('the rules catch what they are for', () => {
  const hit = (s) => RULES.some(([re]) => re.test(s));
  for (const s of ['/work/wt/tools/keepbin.sh BIN', 'METRON_SERVER_BIN=/work/wt/bin/metron-server-abc',
    'PORT=1 /tmp/slowread-cgme.sh', 'node /tmp/h6bench/cx_bench.mjs', 'OLD_BIN=/tmp/before/build/server/metron-server-test',
    '`cpurun.sh me 8 1`', 'cputree.py node --test']) assert.ok(hit(s), s);
  for (const s of ['export KEEP=/tmp/keep-reqpath.json', 'pg_dump "$DB" > /tmp/d.sql', '/tmp/metron-pgsock-XXXXXX',
    'scripts/bench-kept cpu me 8', 'log_path=/tmp/tsan', 'build/kept/9d50946/metron-server-test']) assert.ok(!hit(s), s);
});
