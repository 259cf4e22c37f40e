#!/usr/bin/env node
// `node --test` over test files in the order given (docs/testing.md "Suite
// time"): node --test sorts its files by name, so with N at a time a long
// file whose name comes late starts late and ends the suite alone; this
// starts them as listed (scripts/test lists the longest first).
//
//   node scripts/run-tests.mjs [--test-concurrency=N] [--test-timeout=MS] FILE...
//
// Each file runs in a process of its own, as with node --test (the same
// NODE_TEST_CONTEXT); the output is node's TAP, its closing counts ("# pass
// N", "# fail N") included; the exit status is 1 when a test failed.
import { run } from 'node:test';
import { tap } from 'node:test/reporters';

const files = [];
let concurrency = 1;
let timeout = Infinity;
for (const a of process.argv.slice(2)) {
  const m = /^--test-(concurrency|timeout)=(\d+)$/.exec(a);
  if (m && m[1] === 'concurrency') concurrency = Number(m[2]);
  else if (m) timeout = Number(m[2]);
  else if (a.startsWith('--')) {
    process.stderr.write(`scripts/run-tests.mjs: unknown option ${a}\n`);
    process.exit(2);
  } else files.push(a);
}
if (!files.length) {
  process.stderr.write('usage: node scripts/run-tests.mjs [--test-concurrency=N] [--test-timeout=MS] FILE...\n');
  process.exit(2);
}
const stream = run({ files, concurrency, timeout });
stream.on('test:fail', () => { process.exitCode = 1; });
stream.compose(tap).pipe(process.stdout);
