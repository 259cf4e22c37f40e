// The audit log shows each action as a sentence of the catalogue
// (portal/js/pages/admin/audit.mjs actionText(): "audit.<action>"), and an
// action without one as "Another change" (audit.other), which tells a
// person nothing: until 2026-12-07 every alarm, report and alarm
// destination entry read so. Checked on the source text: every action the
// server passes as a literal to an audit writer (audit_write(c, &who,
// "report.run", ...), audit_alarm(c, a, "alarm.create", ...)) has its
// sentence in the English catalogue (tests/portal/i18n.test.mjs keeps the
// other languages to the same keys).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function cFiles(dir) {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? cFiles(p) : (p.endsWith('.c') ? [p] : []);
  });
}

/** Each action literal an audit_*() call passes as its third argument, with where. */
export function auditedActions() {
  const found = new Map();
  const call = /\baudit_\w*\(\s*[^,()]+,\s*[^,()]+,\s*"([a-z_]+\.[a-z_]+)"/g;
  for (const file of cFiles(join(root, 'server'))) {
    const src = readFileSync(file, 'utf8');
    for (const m of src.matchAll(call)) {
      if (!found.has(m[1])) found.set(m[1], `${relative(root, file)}:${src.slice(0, m.index).split('\n').length}`);
    }
  }
  return found;
}

test('every action the server audits has its sentence in the audit log', () => {
  const en = JSON.parse(readFileSync(join(root, 'portal', 'i18n', 'app', 'en.json'), 'utf8'));
  const actions = auditedActions();
  assert.ok(actions.size >= 40, `only ${actions.size} audited actions found: the pattern no longer matches the calls`);
  const missing = [...actions].filter(([a]) => !(`audit.${a}` in en)).map(([a, at]) => `${a} (${at})`);
  assert.deepEqual(missing, []);
});
