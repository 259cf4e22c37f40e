// GET /api/v1/audit gives each entry its target's name (target_name,
// target_gone) from one statement, db_audit_target_names() in
// server/db/db_auth.c: a CASE with one line per kind of target that has a
// name. A kind the server starts to audit needs its line there, or its
// entries show no name and never "gone". Checked on the source text: every
// kind of target the server can write into the audit log has its line in
// that statement, or is listed below among the kinds without a name, with
// the reason.
//
// The kinds the server writes are found from the one writer of the log,
// db_audit_insert() (its parameter target_type), through every function
// that hands a target type on: a call passes either a string literal (or
// "cond ? literal : literal"), NULL (no target), or a parameter of the
// function it is in, which makes that function a writer too and its own
// calls are read the same way. Anything else (a variable, a member, a
// call, a writer taken as a pointer) fails the check: the kind cannot be
// read from the text, so pass it as a literal or a parameter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, relative, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { filesUnder } from './files.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const server = join(root, 'server');
const NAMES_FILE = 'db/db_auth.c';

// Kinds audited that have no name to show, and why (their line is the
// statement's ELSE '': target_name null, target_gone false).
export const NAMELESS = new Map([
  ['session', 'a sign-in session: no name, and ended sessions are deleted'],
  ['inquiry', 'an inquiry to the operator: a message, not a named item'],
  ['delivery', 'a notification delivery (outbox row): no name; pruned when old'],
  ['alarm_event', 'an alarm occurrence: its rule is the named item'],
  ['quotation', 'a request for a quotation: written without an id (no item to name)'],
]);

const walk = (dir) => filesUnder(dir, /\.c$/);

// "src" with comments blanked and the inside of string and character
// literals blanked (quotes kept), at the same offsets: its structure
// (braces, parentheses, commas) can be read without text getting in the way.
function mask(src) {
  return src.replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*|"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'/g,
    (m) => (m[0] === '/' ? m.replace(/[^\n]/g, ' ')
      : m[0] + m.slice(1, -1).replace(/[^\n]/g, ' ') + m[m.length - 1]));
}

// The offset of the bracket that closes the one at "open" in masked text.
function closing(masked, open) {
  const pairs = { '(': ')', '{': '}', '[': ']' };
  const stack = [];
  for (let i = open; i < masked.length; i++) {
    const ch = masked[i];
    if (pairs[ch]) stack.push(pairs[ch]);
    else if (ch === ')' || ch === '}' || ch === ']') {
      if (stack.pop() !== ch) return -1;
      if (stack.length === 0) return i;
    }
  }
  return -1;
}

// Split the text between "from" and "to" at its top-level commas:
// [{ text, at }] with the original text (literals intact).
function splitArgs(src, masked, from, to) {
  const out = [];
  let depth = 0;
  let start = from;
  for (let i = from; i < to; i++) {
    const ch = masked[i];
    if (ch === '(' || ch === '{' || ch === '[') depth++;
    else if (ch === ')' || ch === '}' || ch === ']') depth--;
    else if (ch === ',' && depth === 0) {
      out.push({ text: src.slice(start, i).trim(), at: start });
      start = i + 1;
    }
  }
  out.push({ text: src.slice(start, to).trim(), at: start });
  return out;
}

// The name of a parameter declaration ("const char *type", "end_fn fn",
// "db_status (*del)(db_conn *c)").
function paramName(decl) {
  const fp = /\(\s*\*\s*(\w+)\s*\)/.exec(decl);
  if (fp) return fp[1];
  const m = /(\w+)\s*(\[[^\]]*\])?\s*$/.exec(decl);
  return m ? m[1] : null;
}

// The function definitions of a C file: [{ name, params, from, to }] with
// the body's offsets (a definition starts at a line's start and its body's
// brace follows its parameter list).
function functionsOf(src, masked) {
  const out = [];
  const re = /^[A-Za-z_][\w \t*]*?\b(\w+)\s*\(/gm;
  for (let m; (m = re.exec(masked)) !== null;) {
    if (/^(if|for|while|switch|return|else|do|sizeof|typedef)\b/.test(m[0])) continue;
    const open = m.index + m[0].length - 1;
    const close = closing(masked, open);
    if (close < 0) continue;
    const brace = /^\s*\{/.exec(masked.slice(close + 1));
    if (!brace) continue;
    const bodyOpen = close + 1 + brace[0].length - 1;
    const bodyClose = closing(masked, bodyOpen);
    if (bodyClose < 0) continue;
    const params = splitArgs(src, masked, open + 1, close).map((p) => paramName(p.text));
    out.push({ name: m[1], params, from: bodyOpen, to: bodyClose, isStatic: /^static\b/.test(m[0]) });
    re.lastIndex = bodyClose;
  }
  return out;
}

const lineAt = (src, at) => src.slice(0, at).split('\n').length;

// The literal kinds of a target-type argument, [] for NULL, or null when it
// is not made of literals ("cond ? "a" : "b"" nests).
function literalKinds(arg) {
  const s = arg.replace(/^\(\s*|\s*\)$/g, '').trim();
  if (s === 'NULL') return [];
  const lit = /^"((?:\\.|[^"\\])*)"$/.exec(s);
  if (lit) return [lit[1]];
  const q = s.indexOf('?');
  if (q > 0) {
    // the branches of "cond ? a : b", each a literal or another such choice
    let depth = 0;
    for (let i = q + 1; i < s.length; i++) {
      const ch = s[i];
      if (ch === '?') depth++;
      else if (ch === ':' && depth-- === 0) {
        const a = literalKinds(s.slice(q + 1, i));
        const b = literalKinds(s.slice(i + 1));
        return a && b ? [...a, ...b] : null;
      }
    }
  }
  return null;
}

// The literal kinds a member of a constant table holds: "table[i].field"
// where the file defines "static const TYPE table[] = {...}" and
// "typedef struct {...} TYPE": the field of every element; null when the
// file has no such table.
function tableKinds(src, masked, arg) {
  const a = /^(\w+)\s*\[[^\]]*\]\s*\.\s*(\w+)$/.exec(arg);
  if (!a) return null;
  const decl = new RegExp(`static\\s+const\\s+(\\w+)\\s+${a[1]}\\s*\\[\\s*\\]\\s*=\\s*\\{`).exec(masked);
  if (!decl) return null;
  const type = new RegExp(`typedef\\s+struct\\s*\\w*\\s*\\{([^}]*)\\}\\s*${decl[1]}\\s*;`).exec(masked);
  if (!type) return null;
  const fields = type[1].split(';').map((f) => f.trim()).filter(Boolean).map(paramName);
  const field = fields.indexOf(a[2]);
  if (field < 0) return null;
  const open = decl.index + decl[0].length - 1;
  const close = closing(masked, open);
  const out = [];
  for (const el of splitArgs(src, masked, open + 1, close)) {
    const brace = masked.indexOf('{', el.at);
    if (!el.text || brace < 0 || brace > el.at + el.text.length + 1) continue;
    const k = literalKinds(splitArgs(src, masked, brace + 1, closing(masked, brace))[field]?.text ?? '');
    if (k === null) return null;
    out.push(...k);
  }
  return out;
}

/**
 * The kinds of target the C files "files" ({ path: source }) can write into
 * the audit log: { kinds: Map(kind -> ["file:line", ...]), unread: [...],
 * writers: Map(name -> index of the target type) }.
 */
export function auditedKinds(files) {
  const parsed = Object.entries(files).map(([path, src]) => {
    const masked = mask(src);
    return { path, src, masked, fns: functionsOf(src, masked) };
  });
  // A writer: { name, index of its target type, file when static }, keyed
  // by name, or "file#name" for a static function (one name may be a
  // different static function in each file).
  const writers = new Map();
  const keyOf = (f, fn) => (fn.isStatic ? `${f.path}#${fn.name}` : fn.name);
  for (const f of parsed) {
    for (const fn of f.fns) {
      if (fn.name === 'db_audit_insert') {
        writers.set(keyOf(f, fn), { name: fn.name, index: fn.params.indexOf('target_type'), file: null });
      }
    }
  }
  const kinds = new Map();
  const unread = new Set();
  const done = new Set();
  for (let changed = true; changed;) {
    changed = false;
    for (const [key, { name: writer, index, file }] of [...writers]) {
      if (done.has(key)) continue;
      done.add(key);
      changed = true;
      const use = new RegExp(`\\b${writer}\\b`, 'g');
      for (const f of parsed) {
        if (file !== null ? f.path !== file
          : f.fns.some((fn) => fn.isStatic && fn.name === writer)) continue;
        for (let m; (m = use.exec(f.masked)) !== null;) {
          const after = /^\s*\(/.exec(f.masked.slice(m.index + writer.length));
          const where = `${f.path}:${lineAt(f.src, m.index)}`;
          const inFn = f.fns.find((fn) => m.index > fn.from && m.index < fn.to);
          const def = f.fns.find((fn) => fn.name === writer && m.index < fn.from &&
            f.masked.slice(m.index, fn.from).indexOf(';') < 0);
          if (def) continue; // its own definition
          if (!after) {
            unread.add(`${where}: ${writer} taken as a pointer: its calls cannot be read`);
            continue;
          }
          const open = m.index + writer.length + after[0].length - 1;
          const close = closing(f.masked, open);
          if (!inFn) {
            // a declaration (a prototype in a .c file) or a macro's body
            if (/^\s*;/.test(f.masked.slice(close + 1)) && !/#\s*define[^\n]*$/.test(f.masked.slice(0, m.index))) continue;
          }
          const args = splitArgs(f.src, f.masked, open + 1, close);
          const arg = args[index]?.text ?? '';
          const lits = literalKinds(arg) ?? tableKinds(f.src, f.masked, arg);
          if (lits !== null) {
            for (const k of lits) {
              if (!kinds.has(k)) kinds.set(k, []);
              kinds.get(k).push(where);
            }
          } else if (inFn && /^\w+$/.test(arg) && inFn.params.includes(arg)) {
            const i = inFn.params.indexOf(arg);
            const k = keyOf(f, inFn);
            if (writers.has(k) && writers.get(k).index !== i) {
              unread.add(`${where}: ${inFn.name} hands on a target type from two parameters`);
            } else if (!writers.has(k)) {
              writers.set(k, { name: inFn.name, index: i, file: inFn.isStatic ? f.path : null });
            }
          } else {
            unread.add(`${where}: ${writer}() given the target type "${arg}", neither a literal nor a parameter of ${inFn ? `${inFn.name}()` : 'a function'}`);
          }
        }
      }
    }
  }
  return { kinds, unread: [...unread], writers };
}

/** The kinds that have a line in the names statement of "src" (db_auth.c). */
export function namedKinds(src) {
  const m = /static db_stmt st_audit_target_names = \{[\s\S]*?\n\s*0\};/.exec(src);
  assert.ok(m, `no st_audit_target_names in server/${NAMES_FILE}`);
  return new Set([...m[0].matchAll(/WHEN '(\w+)' THEN/g)].map((w) => w[1]));
}

/** What is wrong: a kind written without a line nor a place in NAMELESS,
 * an argument that cannot be read, a NAMELESS kind that has a line or is
 * no longer written. */
export function problems(files, namesSrc, nameless = NAMELESS) {
  const { kinds, unread } = auditedKinds(files);
  const named = namedKinds(namesSrc);
  const out = [...unread];
  for (const [kind, where] of [...kinds].sort()) {
    if (!named.has(kind) && !nameless.has(kind)) {
      out.push(`kind "${kind}" (${where[0]}) has no line in st_audit_target_names ` +
        `(server/${NAMES_FILE}) nor a place among the kinds without a name`);
    }
  }
  for (const kind of nameless.keys()) {
    if (named.has(kind)) out.push(`kind "${kind}" is listed without a name but has a line`);
    if (!kinds.has(kind)) out.push(`kind "${kind}" is listed without a name but no longer written`);
  }
  return out;
}

function serverFiles() {
  const out = {};
  for (const p of walk(server)) out[relative(server, p)] = readFileSync(p, 'utf8');
  return out;
}

test('every kind of target the server audits has its line in the names statement', () => {
  const files = serverFiles();
  const { kinds, writers } = auditedKinds(files);
  // The path is read at all: the writers and kinds known when this was written.
  for (const w of ['audit_write', 'audit_write_kv', 'audit_event', 'http_audit', 'svc_audit',
    'svc_delete_one', 'svc/svc_app_share.c#audit_change']) assert.ok(writers.has(w), `${w} not found as a writer`);
  for (const k of ['user', 'device', 'alarm', 'account', 'session', 'battery_profile', 'photo_template']) {
    assert.ok(kinds.has(k), k);
  }
  assert.deepEqual(problems(files, files[NAMES_FILE]), []);
});

test('the check fails on a kind without its line, and on a kind it cannot read', () => {
  const files = serverFiles();
  const names = files[NAMES_FILE];
  // A line of the statement taken out: its kind is reported.
  const without = names.replace(/\n\s*" WHEN 'alarm' THEN [^\n]*/, '');
  assert.notEqual(without, names);
  assert.deepEqual(problems(files, without),
    [`kind "alarm" (svc/svc_alarm.c:${lineOf(files['svc/svc_alarm.c'], '"alarm", id')}) has no line in ` +
      `st_audit_target_names (server/${NAMES_FILE}) nor a place among the kinds without a name`]);
  // A new kind audited through a wrapper two calls away from the writer.
  const more = { ...files, 'svc/svc_gizmo.c': `
static db_status note(db_conn *c, const audit_who *who, const char *what, long long id)
{
    return audit_write(c, who, "gizmo.poke", what, id, NULL);
}

int svc_gizmo_poke(db_conn *c, const audit_who *who, long long id, bool big)
{
    return note(c, who, big ? "gizmo" : "gadget", id) == DB_OK ? 0 : -1;
}
` };
  assert.deepEqual(problems(more, names).map((p) => /^kind "(\w+)"/.exec(p)?.[1]), ['gadget', 'gizmo']);
  // A target type the text does not say.
  const unreadable = { ...files, 'svc/svc_gizmo.c': `
int svc_gizmo_poke(db_conn *c, const audit_who *who, const gizmo *g)
{
    return audit_write_kv(c, who, "gizmo.poke", g->kind, g->id, "k", "v") == DB_OK ? 0 : -1;
}
` };
  assert.match(problems(unreadable, names).join('\n'),
    /svc\/svc_gizmo\.c:4: audit_write_kv\(\) given the target type "g->kind", neither a literal nor a parameter of svc_gizmo_poke\(\)/);
  // A nameless kind that gains a line, and one no longer written.
  const nameless = new Map([...NAMELESS, ['widget', 'gone']]);
  assert.deepEqual(problems(files, names.replace("WHEN 'user' THEN", "WHEN 'session' THEN ''  WHEN 'user' THEN"), nameless),
    ['kind "session" is listed without a name but has a line',
      'kind "widget" is listed without a name but no longer written']);
});

function lineOf(src, text) {
  return src.slice(0, src.indexOf(text)).split('\n').length;
}
