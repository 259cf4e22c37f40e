// The generic-plan trap of the server's reads of samples (issue 16,
// docs/benchmarks.md "readbench"): a plan of mt_ser_read(), mt_hot_read(),
// mt_raw_read() or mt_raw_versions(), or of a member's statements that
// call them with the ids the member may see (ser_read_seen, ser_vers_seen)
// or check those ids alone (ser_visible), made in a connection while
// series_hot was small must not read the whole table once it has grown. Runs
// `scripts/bench-reads quick` (tests/bench/read_bench.mjs): the hot table
// grown through the server's ingest, emptied to 33 rows as a compaction
// round leaves it, plans made in a kept session, the rows ingested again
// without ANALYZE; the kept session's shared buffers per call against a
// fresh session's (counted, not timed), and a control (mt_ser_read()
// without its enable_* SET clauses) that must fall into the trap, so that
// the check is known to see it. Then the many-tenant check: 100 and then
// 1,000 other accounts (apps, devices, channels, grants) added by SQL, and
// a read of one channel must keep its plan (not be planned anew on every
// call, as a member's statements with the visibility joins were: 066, and
// the monitor's read of a group: 068) and
// read no more than 3 times its buffers with ten times the tenants.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from './harness.mjs';

test('a read planned while the hot table was small reads no more once it has grown, nor with many other tenants', async () => {
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT; // the benchmark is a program, not a test file
  const { code, out } = await new Promise((resolve) => {
    const child = execFile(process.execPath, [path.join(repoRoot, 'tests', 'bench', 'read_bench.mjs'),
      'quick'], { env, timeout: 300000, maxBuffer: 1 << 22 }, (error, stdout, stderr) => {
      resolve({ code: child.exitCode, out: `${stdout}\n${stderr}` });
    });
  });
  assert.equal(code, 0, out);
  assert.match(out, /control: .* trapped, as it should be/, out);
  for (const fn of ['mt_ser_read', 'mt_hot_read', 'mt_raw_read', 'mt_raw_versions']) {
    assert.match(out, new RegExp(`^\\| ${fn}\\(\\) \\|.*\\| ok \\|$`, 'm'), out);
  }
  for (const st of ['ser_read_seen', 'ser_vers_seen', 'ser_visible']) {
    assert.match(out, new RegExp(`^\\| ${st} \\(member\\) \\|.*\\| ok \\|$`, 'm'), out);
  }
  // The many-tenant check's table: every statement ok.
  const tenants = out.slice(out.indexOf('many-tenant check'));
  for (const st of ['mt_raw_read\\(\\)', 'mt_raw_versions\\(\\)', 'ser_read_seen \\(member\\)',
    'ser_vers_seen \\(member\\)', 'ser_visible \\(member\\)', 'ser_monitor_read']) {
    assert.match(tenants, new RegExp(`^\\| ${st} \\|.*\\| ok \\|$`, 'm'), out);
  }
});
