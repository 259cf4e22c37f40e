// scripts/migration-diff.mjs: a migration's functions as diffs against their
// previous definitions (docs/operations.md, "Repeatable function
// definitions"), on the real migrations and on made-up ones.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { functionsOf, report } from '../../scripts/migration-diff.mjs';

test('the real migrations: a replaced body as a diff, an overload told apart, new functions', () => {
  const r67 = report(67);
  assert.match(r67, /^mt_raw_versions\(bigint, bigint\[\], bigint, bigint, integer, integer\): previously defined in 057_hot_narrow_bound\.sql\n--- 057_hot_narrow_bound\.sql: mt_raw_versions\n\+\+\+ 067_raw_versions_one_scan\.sql: mt_raw_versions\n/);
  assert.match(r67, /\n\+ {4}WHERE y\.channel_id = ANY\(ch\) AND y\.day BETWEEN d0 AND d1 AND y\.account_id \+ 0 = acct;\n/);
  const r59 = report(59);
  assert.match(r59, /notify_claim\(text, integer, integer, integer\[\], integer, jsonb\): other arguments than its latest definition, in 058_outbox_host_health\.sql/);
  assert.match(r59, /notify_claim_busy\(jsonb\): new in 059_outbox_account_limit\.sql/);
  assert.throws(() => report(999), /no migration 999 in /);
});

test('made-up migrations: names, defaults and modes left out of the types; comments and bodies with semicolons', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'metron-mdiff-test-'));
  try {
    fs.writeFileSync(path.join(dir, '001_a.sql'), `-- CREATE FUNCTION not_one(int)
CREATE FUNCTION f(acct bigint, OUT n integer, d double precision DEFAULT 1.5) LANGUAGE sql AS $$
  SELECT 1; $$;
CREATE TABLE t (a int);
`);
    fs.writeFileSync(path.join(dir, '002_b.sql'), `CREATE OR REPLACE FUNCTION f(x bigint,
    OUT n integer, d double precision = 2) LANGUAGE sql AS $body$
  SELECT 2; -- $$ ; not the end
$body$;
CREATE FUNCTION g() RETURNS int LANGUAGE sql AS 'SELECT 1;';
`);
    assert.deepEqual(functionsOf(fs.readFileSync(path.join(dir, '001_a.sql'), 'utf8'))
      .map((f) => `${f.name}(${f.types})`), ['f(bigint, integer, double precision)']);
    const r = report(2, dir);
    assert.match(r, /^f\(bigint, integer, double precision\): previously defined in 001_a\.sql\n/);
    assert.match(r, /\n-  SELECT 1; \$\$;\n/);
    assert.match(r, /\n\+  SELECT 2; -- \$\$ ; not the end\n\+\$body\$;\n/);
    assert.match(r, /\ng\(\): new in 002_b\.sql\n/);
    assert.equal(report(1, dir).split('\n')[0], 'f(bigint, integer, double precision): new in 001_a.sql');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
