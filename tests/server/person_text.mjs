// What the server writes to a person, checked for codes (docs/testing.md
// "Mails and chat messages: words, never codes"). The SMTP sink of
// harness.mjs checks every mail it hands a test (messages()), the webhook
// receiver every Slack, Teams and WeChat message it records: a test that
// reads a mail or a chat message cannot pass while it carries
//   - a dotted or snake_case server code (alarm.raise, notice.app_connected,
//     over_quota, unknown_field),
//   - a time zone's id (Asia/Tokyo), an ISO timestamp (2026-12-07T08:00),
//   - "undefined", "null", "NaN", "[object",
//   - an English sentence in a mail in another language (checked cheaply:
//     a line of English words in a mail whose other lines are Japanese,
//     Chinese, German, French, Spanish or Italian).
// The exceptions are few and named here: URLs, e-mail addresses, file names
// (a user's own), product names (LR8450) and what a test names with
// allowWords() (a user's own names that look like codes, e.g. "temp_1").
//
//   import { mailParts, personTextProblems, chatTexts } from './person_text.mjs';
//   personTextProblems(text) // -> ['snake_case code "over_quota" in "..."']
//   mailParts(raw)           // -> { subject, texts: [...], pdfs: [Buffer] }
import { execFileSync } from 'node:child_process';

// ------------------------------------------------------------ exceptions

// Product names that are words to a person (instrument models, "Metron").
const PRODUCTS = /\b(?:LR|MR|LR-|MR-|PW|SS|HIOKI\s?)\d{3,5}[A-Z0-9-]*\b/g;
const URL = /\b(?:https?|smtp|mailto):\/\/?[^\s<>()"']+/g;
const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g;
// A file's name: a user's own (stem) with an extension people know.
const FILE = /[^\s"'«»“”「」()<>:/\\]+\.(?:csv|pdf|txt|xlsx?|json|mem|mf4|hok2?|zip|png|jpe?g|svg|html?|dat|log|ods|docx?)\b/gi;
// Host names without a scheme ("metron.example.test" in a sentence).
const HOST = /\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:test|example|local|localhost|com|org|net|jp|cn|de|fr|it|es|io)\b/gi;

const extraAllowed = new Set();
/** Words a test's data put in a mail that look like codes to the sweep
 *  (a user's own names: "temp_1"): allowed from now on in this process. */
export function allowWords(...words) {
  for (const w of words) extraAllowed.add(w);
}

function stripAllowed(text) {
  let t = text;
  for (const w of extraAllowed) t = t.split(w).join(' ');
  return t.replace(URL, ' ').replace(EMAIL, ' ').replace(FILE, ' ').replace(HOST, ' ')
    .replace(PRODUCTS, ' ');
}

// ----------------------------------------------------------------- codes

const DOTTED = /(?<![\w.])[a-z][a-z0-9]+(?:_[a-z0-9]+)*(?:\.[a-z][a-z0-9]*(?:_[a-z0-9]+)*)+(?![\w])/g;
const SNAKE = /(?<![\w.])[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+(?![\w])/g;
const ZONE = /\b(?:Africa|America|Antarctica|Arctic|Asia|Atlantic|Australia|Europe|Indian|Pacific|Etc)\/[A-Z][A-Za-z_+-]+(?:\/[A-Z][A-Za-z_]+)?/g;
const ISO = /\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/g;
const JS_LEFTOVER = /\bundefined\b|\bnull\b|\bNaN\b|\[object\b/g;

// --------------------------------------------------------------- English

const CJK = /[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]/;
const EN = new Set(['the', 'your', 'you', 'has', 'have', 'were', 'been', 'is', 'are', 'this', 'please',
  'with', 'from', 'and', 'not', 'when', 'which', 'of', 'to', 'for', 'was', 'it', 'on', 'at', 'be', 'can']);
const NATIVE = new Set([
  'der', 'die', 'das', 'und', 'ist', 'nicht', 'mit', 'für', 'wurde', 'ihr', 'ihre', 'sie', 'wird', 'den', 'dem',
  'ein', 'eine', 'zu', 'von', 'auf', 'bei',
  'le', 'la', 'les', 'est', 'une', 'des', 'pour', 'votre', 'vous', 'été', 'dans', 'du', 'au', 'et', 'pas', 'un',
  'el', 'los', 'las', 'es', 'una', 'para', 'su', 'ha', 'sido', 'por', 'con', 'del', 'y', 'se', 'en', 'lo',
  'il', 'di', 'che', 'è', 'per', 'stato', 'sono', 'della', 'non', 'ed', 'al', 'da', 'nel', 'gli',
]);
const words = (line) => line.toLowerCase().match(/[\p{L}]+/gu) || [];

/** The lines of "texts" that are English sentences in a mail whose other
 *  lines are in another language ([] for an English mail). */
function englishLines(texts) {
  const lines = texts.flatMap((t) => t.split(/\n/)).map((l) => l.trim()).filter(Boolean);
  const count = (l, set) => words(l).filter((x) => set.has(x)).length;
  // Another language: a line in CJK, or one with more of its function words
  // than of English's.
  const other = lines.some((l) => CJK.test(l) || (count(l, NATIVE) >= 2 && count(l, NATIVE) > count(l, EN)));
  if (!other) return [];
  return lines.filter((l) => {
    if (CJK.test(l)) return false;
    const w = words(l);
    return new Set(w.filter((x) => EN.has(x))).size >= 3 && !w.some((x) => NATIVE.has(x));
  });
}

/**
 * The problems a person would see in "texts" (strings: a subject, a text
 * part, a chat message's words), each a sentence naming what and where;
 * [] when none.
 */
export function personTextProblems(texts) {
  const list = Array.isArray(texts) ? texts : [texts];
  const found = [];
  const where = (line) => (line.length > 120 ? `${line.slice(0, 117)}...` : line);
  for (const text of list) {
    for (const raw of text.split(/\n/)) {
      const line = stripAllowed(raw);
      for (const [re, what] of [[DOTTED, 'dotted code'], [SNAKE, 'snake_case code'],
        [ZONE, 'time zone id'], [ISO, 'ISO timestamp'], [JS_LEFTOVER, 'JavaScript leftover']]) {
        for (const m of line.matchAll(re)) found.push(`${what} "${m[0]}" in "${where(raw.trim())}"`);
      }
    }
  }
  for (const l of englishLines(list.map(stripAllowed))) {
    found.push(`English sentence in a mail in another language: "${where(l)}"`);
  }
  return found;
}

// ------------------------------------------------------------------ mail

function decodeQP(s) {
  const bytes = [];
  const t = s.replace(/=\r?\n/g, '');
  for (let i = 0; i < t.length; i++) {
    if (t[i] === '=' && /^[0-9A-Fa-f]{2}$/.test(t.slice(i + 1, i + 3))) {
      bytes.push(parseInt(t.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(t[i], 'latin1'));
    }
  }
  return Buffer.from(bytes);
}

/** A header's value with RFC 2047 encoded words decoded. */
export function decodeWords(v) {
  return v.replace(/\?=\s+=\?/g, '?==?').replace(/=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g, (_, cs, enc, data) => {
    const buf = /b/i.test(enc) ? Buffer.from(data, 'base64')
      : decodeQP(data.replace(/_/g, ' '));
    return new TextDecoder(/utf-?8/i.test(cs) ? 'utf-8' : cs).decode(buf);
  });
}

function splitHead(raw) {
  const at = raw.search(/\r?\n\r?\n/);
  const head = at < 0 ? raw : raw.slice(0, at);
  const body = at < 0 ? '' : raw.slice(at).replace(/^\r?\n\r?\n/, '');
  const headers = {};
  for (const h of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const c = h.indexOf(':');
    if (c > 0) headers[h.slice(0, c).trim().toLowerCase()] = h.slice(c + 1).trim();
  }
  return { headers, body };
}

function collect(raw, out) {
  const { headers, body } = splitHead(raw);
  const type = (headers['content-type'] || 'text/plain').toLowerCase();
  const boundary = /boundary="?([^";]+)"?/i.exec(headers['content-type'] || '');
  if (type.startsWith('multipart/') && boundary) {
    const parts = body.split(`--${boundary[1]}`).slice(1);
    for (const p of parts) {
      if (p.startsWith('--')) break;
      collect(p.replace(/^\r?\n/, ''), out);
    }
    return;
  }
  const cte = (headers['content-transfer-encoding'] || '').toLowerCase();
  const bytes = cte === 'base64' ? Buffer.from(body.replace(/\s+/g, ''), 'base64')
    : cte === 'quoted-printable' ? decodeQP(body) : Buffer.from(body, 'latin1');
  if (type.startsWith('application/pdf')) {
    out.pdfs.push(bytes);
  } else if (type.startsWith('text/plain') || type.startsWith('text/html')) {
    // Only the mail's own parts: an attached text file is the user's data.
    if (/attachment/i.test(headers['content-disposition'] || '')) return;
    let text = new TextDecoder('utf-8').decode(bytes);
    if (type.startsWith('text/html')) {
      text = text.replace(/<(script|style)[\s\S]*?<\/\1>/gi, ' ').replace(/<[^>]+>/g, ' ')
        .replace(/&nbsp;/g, ' ').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"')
        .replace(/&#39;/g, "'").replace(/&amp;/g, '&');
    }
    out.texts.push(text.replace(/\r\n/g, '\n'));
  }
}

/** A raw mail's subject (decoded), its text/plain and text/html parts
 *  (decoded, HTML as text) and its PDF attachments (bytes). */
export function mailParts(raw) {
  const { headers } = splitHead(raw);
  const out = { subject: decodeWords(headers.subject || ''), texts: [], pdfs: [] };
  collect(raw, out);
  return out;
}

let pdftotext;
/** A PDF's text by pdftotext (poppler-utils), null when it is not installed. */
export function pdfText(bytes) {
  if (pdftotext === undefined) {
    try {
      execFileSync('pdftotext', ['-v'], { stdio: 'ignore' });
      pdftotext = true;
    } catch {
      pdftotext = false;
    }
  }
  if (!pdftotext) return null;
  return execFileSync('pdftotext', ['-enc', 'UTF-8', '-q', '-', '-'], { input: bytes }).toString('utf8');
}

/** The problems of a raw mail: its subject, text parts and PDFs' text. */
export function mailProblems(raw) {
  const m = mailParts(raw);
  const texts = [m.subject, ...m.texts];
  for (const pdf of m.pdfs) {
    const t = pdfText(pdf);
    if (t !== null) texts.push(t);
  }
  return personTextProblems(texts);
}

// ------------------------------------------------------------------ chat

/**
 * The words a person reads in a Slack, Teams or WeChat message's JSON;
 * null for any other body (the generic webhook's JSON is for machines).
 */
export function chatTexts(json) {
  if (json === null || typeof json !== 'object') return null;
  const texts = [];
  if (json.msgtype) { // WeChat Work robot
    const c = json.markdown?.content ?? json.text?.content ?? '';
    texts.push(c.replace(/<\/?font[^>]*>/g, '').replace(/\]\([^)]*\)/g, ']').replace(/\*\*/g, ''));
  } else if (json.type === 'message' && Array.isArray(json.attachments)) { // Teams
    const walk = (o) => {
      if (Array.isArray(o)) { o.forEach(walk); return; }
      if (o === null || typeof o !== 'object') return;
      if (o.type === 'TextBlock' && typeof o.text === 'string') texts.push(o.text);
      if (o.type === 'Action.OpenUrl' && typeof o.title === 'string') texts.push(o.title);
      if (o.type === 'FactSet') for (const f of o.facts || []) texts.push(`${f.title}: ${f.value}`);
      for (const v of Object.values(o)) if (typeof v === 'object') walk(v);
    };
    walk(json.attachments);
  } else if (Array.isArray(json.blocks)) { // Slack
    if (typeof json.text === 'string') texts.push(json.text);
    const walk = (o) => {
      if (Array.isArray(o)) { o.forEach(walk); return; }
      if (o === null || typeof o !== 'object') return;
      if (typeof o.text === 'string' && (o.type === 'plain_text' || o.type === 'mrkdwn')) texts.push(o.text);
      for (const v of Object.values(o)) if (typeof v === 'object') walk(v);
    };
    walk(json.blocks || []);
  } else {
    return null;
  }
  // Slack's mrkdwn escapes and link syntax.
  return texts.map((t) => t.replace(/<(https?:[^|>]+)\|([^>]*)>/g, '$1 $2').replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>').replace(/&amp;/g, '&'));
}
