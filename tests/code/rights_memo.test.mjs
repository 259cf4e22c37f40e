// A member's remembered rights (issue 16, member; migrations 087 and 088,
// server/base/rights_memo.h), checked on the source text: a member's raw day
// check skips mt_channels_seen() while account_rights.v of the account is the
// version its answer was learnt at, so every committed change to what
// mt_channels_seen() reads must move that version in its transaction.
//   - mt_channels_seen() (its newest definition) reads only the tables and
//     columns that the triggers watch: channels (account_id, id, group_id,
//     device_id), devices (account_id, id, app_id), apps (account_id, id,
//     group_id), group_user_access, group_team_access and team_members (any
//     column).
//   - Each of those tables has, after every migration, a trigger that moves
//     account_rights (a function mt_rights_*) on DELETE and TRUNCATE, on
//     UPDATE (of those columns, or of any), and, for the grants and team
//     members, on INSERT; no migration disables one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { filesUnder } from './files.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const migrations = filesUnder(join(root, 'server', 'migrations'), /^\d{3}_.*\.sql$/);
const sqlOf = (p) => readFileSync(p, 'utf8').replace(/--[^\n]*/g, '');

// The columns each table's triggers watch (null: any column, INSERT too).
const WATCHED = {
  channels: ['account_id', 'id', 'group_id', 'device_id'],
  devices: ['account_id', 'id', 'app_id'],
  apps: ['account_id', 'id', 'group_id'],
  group_user_access: null,
  group_team_access: null,
  team_members: null,
};

function newestBody(name) {
  let body = null;
  const re = new RegExp(`CREATE (?:OR REPLACE )?FUNCTION ${name}\\([\\s\\S]*?AS \\$\\$([\\s\\S]*?)\\$\\$`, 'g');
  for (const p of migrations) {
    for (const m of sqlOf(p).matchAll(re)) body = m[1];
  }
  return body;
}

test("mt_channels_seen() reads only the tables and columns whose changes move account_rights", () => {
  const body = newestBody('mt_channels_seen');
  assert.ok(body, 'mt_channels_seen() is defined in the migrations');
  const alias = {};
  for (const m of body.matchAll(/\b(?:FROM|JOIN)\s+([a-z_]+)(?:\s+(?:AS\s+)?([a-z_]+))?/gi)) {
    const table = m[1].toLowerCase();
    assert.ok(table in WATCHED, `mt_channels_seen() reads ${table}, which no 087/088 trigger watches`);
    const a = m[2] && !/^(where|join|on|left|inner|union|order|group)$/i.test(m[2]) ? m[2] : table;
    alias[a] = table;
  }
  for (const table of Object.keys(WATCHED)) {
    assert.ok(Object.values(alias).includes(table), `mt_channels_seen() no longer reads ${table}: update this test`);
  }
  for (const m of body.matchAll(/\b([a-z_]+)\.([a-z_]+)\b/gi)) {
    const table = alias[m[1]];
    if (!table) continue;
    const cols = WATCHED[table];
    assert.ok(cols === null || cols.includes(m[2]),
      `mt_channels_seen() reads ${table}.${m[2]}, a column whose change moves no version`);
  }
});

test("every table mt_channels_seen() reads has account_rights' triggers on each kind of write", () => {
  const triggers = new Map(); // name@table -> { events, columns }
  for (const p of migrations) {
    const sql = sqlOf(p);
    assert.doesNotMatch(sql, /DISABLE\s+TRIGGER\s+(ALL|[a-z_]*rights)/i, `${p} disables a trigger of account_rights`);
    const re = /(CREATE\s+TRIGGER\s+([a-z_]+)\s+AFTER\s+([\s\S]*?)\s+ON\s+([a-z_]+)[\s\S]*?EXECUTE\s+FUNCTION\s+([a-z_]+)\s*\(\s*\)\s*;)|(DROP\s+TRIGGER\s+(?:IF\s+EXISTS\s+)?([a-z_]+)\s+ON\s+([a-z_]+))/gi;
    for (const m of sql.matchAll(re)) {
      if (m[1]) {
        if (!/^mt_rights_/.test(m[5])) continue;
        const ev = m[3].replace(/\s+/g, ' ');
        triggers.set(`${m[2]}@${m[4]}`, {
          table: m[4],
          insert: /\bINSERT\b/i.test(ev), delete: /\bDELETE\b/i.test(ev), truncate: /\bTRUNCATE\b/i.test(ev),
          update: /\bUPDATE\b/i.test(ev),
          columns: /UPDATE OF ([a-z_, ]+?)(?: OR |$)/i.exec(ev)?.[1].split(',').map((c) => c.trim()) ?? null,
        });
      } else {
        triggers.delete(`${m[7]}@${m[8]}`);
      }
    }
  }
  for (const [table, cols] of Object.entries(WATCHED)) {
    const on = [...triggers.values()].filter((t) => t.table === table);
    assert.ok(on.some((t) => t.delete), `${table}: no trigger moves account_rights on DELETE`);
    assert.ok(on.some((t) => t.truncate), `${table}: none on TRUNCATE`);
    if (cols === null) {
      assert.ok(on.some((t) => t.insert), `${table}: none on INSERT`);
      assert.ok(on.some((t) => t.update && t.columns === null), `${table}: none on every UPDATE`);
    } else {
      for (const c of cols) {
        assert.ok(on.some((t) => t.update && (t.columns === null || t.columns.includes(c))),
          `${table}: no trigger moves account_rights on an UPDATE of ${c}`);
      }
    }
  }
});
