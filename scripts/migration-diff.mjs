#!/usr/bin/env node
// What a migration changes in the functions it (re)defines, as diffs: for
// each CREATE [OR REPLACE] FUNCTION of server/migrations/NNN_*.sql, the
// latest earlier migration that defined the same function (same name and
// argument types; else the same name) and a unified diff of the two
// statements (docs/operations.md, "Repeatable function definitions": a
// changed function reads as its diff, not as a whole copy). Reads files
// only; changes nothing.
//
//   node scripts/migration-diff.mjs NNN [--dir server/migrations]
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const FILE = /^(\d{3})_[a-z0-9_]+\.sql$/;
/** The most of a migration file read (the largest is about 20 KiB). */
const FILE_MAX = 1 << 20;

/** From text[i] (an opening "(") to just after its matching ")", skipping
 * quoted text; -1 when it does not close. */
function closeParen(text, i) {
  let depth = 0;
  for (let k = i; k < text.length; k++) {
    const c = text[k];
    if (c === "'") {
      k = text.indexOf("'", k + 1);
      if (k < 0) return -1;
    } else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return k + 1;
  }
  return -1;
}

/** From "i" to just after the ";" that ends the statement there, skipping
 * comments, quoted text and dollar-quoted bodies; the text's end if none. */
function statementEnd(text, i) {
  for (let k = i; k < text.length; k++) {
    const c = text[k];
    if (c === '-' && text[k + 1] === '-') {
      const nl = text.indexOf('\n', k);
      if (nl < 0) return text.length;
      k = nl;
    } else if (c === "'") {
      const q = text.indexOf("'", k + 1);
      if (q < 0) return text.length;
      k = q;
    } else if (c === '$') {
      const m = /^\$([A-Za-z_]*)\$/.exec(text.slice(k, k + 64));
      if (m) {
        const close = text.indexOf(m[0], k + m[0].length);
        if (close < 0) return text.length;
        k = close + m[0].length - 1;
      }
    } else if (c === ';') return k + 1;
  }
  return text.length;
}

/** The argument types of "args" (the text between the parentheses): modes,
 * names and defaults left out, spaces made single, lower case. */
function argTypes(args) {
  const parts = [];
  let depth = 0;
  let cur = '';
  for (const c of args) {
    if (c === '(') depth++;
    if (c === ')') depth--;
    if (c === ',' && depth === 0) {
      parts.push(cur);
      cur = '';
    } else cur += c;
  }
  if (cur.trim()) parts.push(cur);
  return parts.map((p) => {
    let t = p.replace(/\s+(DEFAULT\s|=).*$/is, '').trim().replace(/\s+/g, ' ').toLowerCase();
    t = t.replace(/^(in|out|inout|variadic) /, '');
    const words = t.split(' ');
    // "name type", "name double precision": the first word is a name unless
    // the whole is a type of two words.
    if (words.length > 1 && !/^(double precision|character varying|bit varying)/.test(t) &&
        !/^(timestamp|time) (with|without)/.test(t)) {
      words.shift();
    }
    return words.join(' ');
  }).join(', ');
}

/** Every function a migration's text defines: { name, types, text }. */
export function functionsOf(text) {
  const out = [];
  const re = /CREATE\s+(?:OR\s+REPLACE\s+)?FUNCTION\s+([A-Za-z_][A-Za-z0-9_.]*)\s*\(/gi;
  let m;
  while ((m = re.exec(text)) !== null) {
    // (not inside a comment line)
    const lineStart = text.lastIndexOf('\n', m.index) + 1;
    if (text.slice(lineStart, m.index).includes('--')) continue;
    const open = m.index + m[0].length - 1;
    const close = closeParen(text, open);
    if (close < 0) break;
    const end = statementEnd(text, close);
    out.push({ name: m[1].toLowerCase(), types: argTypes(text.slice(open + 1, close - 1)),
      text: text.slice(m.index, end) + '\n' });
    re.lastIndex = end;
  }
  return out;
}

/** The migrations of "dir" in order: [{ version, file, text }]. */
function migrations(dir) {
  return fs.readdirSync(dir).filter((f) => FILE.test(f)).sort().map((f) => {
    const p = path.join(dir, f);
    if (fs.statSync(p).size > FILE_MAX) throw new Error(`${f} is larger than ${FILE_MAX} bytes`);
    return { version: Number(FILE.exec(f)[1]), file: f, text: fs.readFileSync(p, 'utf8') };
  });
}

/** A unified diff of "a" and "b" (diff -u), labelled. */
function unified(a, b, labelA, labelB) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'metron-mdiff-'));
  try {
    fs.writeFileSync(path.join(tmp, 'a'), a);
    fs.writeFileSync(path.join(tmp, 'b'), b);
    try {
      execFileSync('diff', ['-u', '--label', labelA, '--label', labelB, 'a', 'b'],
        { cwd: tmp, encoding: 'utf8' });
      return '';
    } catch (e) {
      if (e.status === 1) return e.stdout;
      throw new Error(`diff failed: ${e.message}`);
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** The report for migration "version" of "dir", as text. */
export function report(version, dir = path.join(root, 'server', 'migrations')) {
  const all = migrations(dir);
  const target = all.find((m) => m.version === version);
  if (!target) throw new Error(`no migration ${String(version).padStart(3, '0')} in ${dir}`);
  const earlier = all.filter((m) => m.version < version);
  const fns = functionsOf(target.text);
  if (!fns.length) return `${target.file} defines no function\n`;
  let out = '';
  for (const f of fns) {
    const sig = `${f.name}(${f.types})`;
    let prev = null;
    let sameArgs = false;
    for (const m of earlier) {
      for (const g of functionsOf(m.text)) {
        if (g.name !== f.name) continue;
        if (g.types === f.types) {
          prev = { m, g };
          sameArgs = true;
        } else if (!sameArgs) prev = { m, g };
      }
    }
    if (!prev) {
      out += `${sig}: new in ${target.file}\n\n`;
      continue;
    }
    const what = sameArgs ? 'previously defined in' : 'other arguments than its latest definition, in';
    const d = unified(prev.g.text, f.text, `${prev.m.file}: ${f.name}`, `${target.file}: ${f.name}`);
    out += `${sig}: ${what} ${prev.m.file}${d ? '' : ' (the same text)'}\n${d}\n`;
  }
  return out;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const args = process.argv.slice(2);
  let dir;
  const i = args.indexOf('--dir');
  if (i >= 0) {
    dir = path.resolve(args[i + 1] ?? '');
    args.splice(i, 2);
  }
  if (args.length !== 1 || !/^\d{1,3}$/.test(args[0])) {
    console.error('usage: node scripts/migration-diff.mjs NNN [--dir server/migrations]');
    process.exitCode = 2;
  } else {
    try {
      process.stdout.write(report(Number(args[0]), dir));
    } catch (e) {
      console.error(`migration-diff: ${e.message}`);
      process.exitCode = 1;
    }
  }
}
