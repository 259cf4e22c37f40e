// The monitor's change stamp (issue 16, stamp; migration 086,
// server/base/monitor_cache.h), checked on the source text: a kept monitor
// is answered only while its account's stamp is unchanged, so every write
// of what mt_monitor_read() reads must move the stamp in its transaction.
//   - The monitor's read functions (their newest definitions) read only
//     series_hot, channel_latest, channel_sent and app_seen (and no
//     series_day: a day block is no part of a monitor).
//   - Every statement of server/'s C that writes one of those tables or
//     series_day is covered: a hot row inserted with its counter row in the
//     same statement (069) or uncounted (081's trigger counts it), hot rows
//     deleted (069's statement trigger moves shard 0), a day block (not
//     read by a monitor; the raw day's check reads its xmin, 067), or a
//     table and operation for which 086 made a trigger that moves
//     account_changes (app_seen, channel_sent and channel_latest: any
//     write; series_hot: an update).
//   - No later migration drops or disables those triggers.
//   - The raw day's check skipped by the same stamp (issue 16, rawstamp,
//     migration 089): every statement that writes series_day moves it too
//     (089's triggers, any INSERT, UPDATE or DELETE), and no later migration
//     drops them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, relative, dirname, basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { filesUnder } from './files.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const server = join(root, 'server');
const migrations = filesUnder(join(server, 'migrations'), /^\d{3}_.*\.sql$/);
const STAMP = 86;
const RAWSTAMP = 89;
const number = (p) => Number(basename(p).slice(0, 3));

const MONITOR_TABLES = ['series_hot', 'channel_latest', 'channel_sent', 'app_seen'];
const WATCHED = [...MONITOR_TABLES, 'series_day'];

/** The body of the newest definition of function "name" in the migrations. */
function newestBody(name) {
  let body = null;
  const re = new RegExp(`CREATE (?:OR REPLACE )?FUNCTION ${name}\\([\\s\\S]*?AS \\$\\$([\\s\\S]*?)\\$\\$`, 'g');
  for (const p of migrations) {
    for (const m of readFileSync(p, 'utf8').matchAll(re)) body = m[1];
  }
  return body;
}

/** The SQL text of server/'s C files: each run of string literals joined
 * (literals apart only by blanks, line ends, continuation backslashes or
 * macro names, as "..." DB_HOT_SHARD_SQL "..." and #define bodies), with
 * the file and line where it begins. */
function statements() {
  const out = [];
  for (const p of filesUnder(server, /\.c$/)) {
    const src = readFileSync(p, 'utf8').replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, ' '));
    const lit = /"((?:[^"\\\n]|\\.)*)"/g;
    let cur = null, end = 0, m;
    while ((m = lit.exec(src)) !== null) {
      const between = src.slice(end, m.index);
      const text = m[1].replace(/\\"/g, '"').replace(/\\n/g, '\n');
      if (cur !== null && /^(?:[\s\\]|[A-Z_][A-Z0-9_]*)*$/.test(between)) {
        cur.text += text;
      } else {
        if (cur !== null) out.push(cur);
        cur = { file: relative(root, p), line: src.slice(0, m.index).split('\n').length, text };
      }
      end = m.index + m[0].length;
    }
    if (cur !== null) out.push(cur);
  }
  return out;
}

/** The operations (INSERT, UPDATE, DELETE) on each table for which
 * migration "n" (086, 089) made a trigger, from its text. */
function triggers086(n = STAMP) {
  const p = migrations.find((f) => number(f) === n);
  assert.ok(p, `migration ${n}`);
  const by = {};
  const text = readFileSync(p, 'utf8');
  for (const m of text.matchAll(/CREATE TRIGGER \w+ AFTER ([A-Z ]+?) ON (\w+)\s/g)) {
    for (const op of m[1].split(' OR ')) (by[m[2]] ??= new Set()).add(op.trim());
  }
  return { by, text };
}

test('the monitor reads only the tables whose writes move a stamp', () => {
  for (const f of ['mt_monitor_read', 'mt_monitor_hot']) {
    const body = newestBody(f);
    assert.ok(body, f);
    const tables = new Set([...body.matchAll(/\b(?:FROM|JOIN)\s+([a-z_]+)\b/g)].map((m) => m[1])
      .filter((t) => !['unnest', 'mt_monitor_hot', 'l', 'gone'].includes(t)));
    for (const t of tables) assert.ok(MONITOR_TABLES.includes(t), `${f} reads ${t}, which moves no stamp`);
    assert.ok(!/series_day/.test(body), `${f} reads series_day`);
  }
});

test('every statement of server/ that writes what a monitor shows moves its account\'s stamp', () => {
  const { by } = triggers086();
  const { by: byDay } = triggers086(RAWSTAMP);
  assert.deepEqual([...(byDay.series_day ?? [])].sort(), ['DELETE', 'INSERT', 'UPDATE'], '089\'s triggers on series_day');
  for (const t of ['app_seen', 'channel_sent', 'channel_latest']) {
    assert.deepEqual([...(by[t] ?? [])].sort(), ['DELETE', 'INSERT', 'UPDATE'], `086's triggers on ${t}`);
  }
  assert.ok(by.series_hot?.has('UPDATE'), '086\'s trigger on series_hot updates');
  const hotDeleted = migrations.some((p) => number(p) <= STAMP &&
    /CREATE TRIGGER series_hot_count_deleted AFTER DELETE ON series_hot/.test(readFileSync(p, 'utf8')));
  assert.ok(hotDeleted, '069\'s trigger on deleted hot rows');
  const seen = {};
  const write = new RegExp(`\\b(INSERT\\s+INTO|UPDATE|DELETE\\s+FROM)\\s+(${WATCHED.join('|')})\\b(?!_)`, 'gi');
  for (const s of statements()) {
    for (const m of s.text.matchAll(write)) {
      const op = m[1].split(/\s/)[0].toUpperCase(), table = m[2].toLowerCase();
      const where = `${s.file}:${s.line}: ${op} ${table}`;
      seen[`${op} ${table}`] = (seen[`${op} ${table}`] ?? 0) + 1;
      if (table === 'series_day') { // no part of a monitor; the raw day's stamp (089)
        assert.ok(byDay.series_day?.has(op), `${where}: no trigger of 089 moves account_changes`);
        continue;
      }
      if (table === 'series_hot' && op === 'INSERT') {
        const cols = /INSERT\s+INTO\s+series_hot\s*\(([^)]*)\)/i.exec(s.text.slice(m.index))?.[1] ?? '';
        assert.ok(/INSERT\s+INTO\s+series_hot_count\b/i.test(s.text) || !/\bcounted\b/.test(cols),
          `${where}: counted rows without their counter row in the statement`);
        continue;
      }
      if (table === 'series_hot' && op === 'DELETE') continue; // 069's statement trigger
      assert.ok(by[table]?.has(op), `${where}: no trigger of 086 moves account_changes`);
    }
  }
  // The writers this test knows of (a statement that moved elsewhere or
  // changed its form is still found).
  for (const k of ['INSERT series_hot', 'DELETE series_hot', 'UPDATE app_seen', 'INSERT channel_sent',
    'INSERT channel_latest', 'DELETE channel_latest', 'INSERT series_day', 'DELETE series_day']) {
    assert.ok(seen[k] > 0, `no statement found for ${k}: ${JSON.stringify(seen)}`);
  }
});

test('no later migration drops or disables the stamp\'s triggers', () => {
  const { text } = triggers086();
  const names = [...text.matchAll(/CREATE (?:CONSTRAINT )?TRIGGER (\w+)/g)].map((m) => m[1]);
  assert.ok(names.length >= 7, names.join(', '));
  const dayNames = [...triggers086(RAWSTAMP).text.matchAll(/CREATE TRIGGER (\w+)/g)].map((m) => m[1]);
  assert.deepEqual(dayNames, ['series_day_inserted', 'series_day_updated', 'series_day_deleted']);
  names.push(...dayNames);
  for (const p of migrations.filter((f) => number(f) > STAMP)) {
    const later = readFileSync(p, 'utf8');
    for (const n of [...names, 'series_hot_count_deleted', 'series_hot_count_inserted']) {
      assert.ok(!new RegExp(`DROP TRIGGER (IF EXISTS )?${n}\\b`).test(later), `${basename(p)} drops ${n}`);
    }
    assert.ok(!/DISABLE TRIGGER/i.test(later), `${basename(p)} disables a trigger`);
  }
});
