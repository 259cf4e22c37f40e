// Messages a person reads are sentences in their language, never internal
// codes: no value of the seven catalogues (every area) contains a quota or
// requirement code ("P3", "A2"), a core error code ("MT_EFORMAT"), an API
// error code or another snake_case identifier ("plan_limit"), a {code}
// placeholder, a catalogue key, or the words null / undefined / NaN.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { portalDir } from './browser.mjs';

const LANGS = ['zh-CN', 'ja', 'en', 'es', 'fr', 'de', 'it'];
const i18nDir = path.join(portalDir, 'i18n');

// [name, pattern] of what a person must never read.
export const INTERNAL = [
  ['a quota or requirement code', /(?<![\p{L}\p{N}])[APDMVXGILSNRCBTKWO]\d{1,2}(?![\p{L}\p{N}])/u],
  ['a core error code', /\bMT_[A-Z]+/],
  ['a snake_case identifier', /\b[a-z]+(?:_[a-z0-9]+)+\b/],
  ['a {code} placeholder', /\{code\}/],
  ['a catalogue key', /\b(?:common|error|nav|chart|viewer|drive|offline|monitor|me|account|users|apps|devices)\.[a-z_]+/],
  ['null, undefined or NaN', /\b(?:null|undefined|NaN)\b/],
  ['an HTTP status', /\b(?:HTTP|status) ?[1-5]\d\d\b/i],
];

/** Every [area, lang, key, value] of the catalogues. */
function entries() {
  const out = [];
  for (const area of fs.readdirSync(i18nDir)) {
    for (const lang of LANGS) {
      const file = path.join(i18nDir, area, `${lang}.json`);
      if (!fs.existsSync(file)) continue;
      const cat = JSON.parse(fs.readFileSync(file, 'utf8'));
      for (const [k, v] of Object.entries(cat)) out.push([area, lang, k, v]);
    }
  }
  return out;
}

test('no user-visible string of the seven catalogues contains an internal code', () => {
  const all = entries();
  assert.ok(all.length > 1000, `only ${all.length} strings found`);
  const bad = [];
  for (const [area, lang, key, value] of all) {
    // Placeholders are filled by the portal; what they stand for is checked where they are filled.
    const text = String(value).replace(/\{\w+\}/g, (m) => (m === '{code}' ? m : '{}'));
    for (const [what, re] of INTERNAL) {
      if (re.test(text)) bad.push(`${area}/${lang}.json ${key}: ${what}: ${JSON.stringify(value)}`);
    }
  }
  assert.deepEqual(bad, []);
});

test('the patterns find what they are meant to find', () => {
  const hits = (s) => INTERNAL.filter(([, re]) => re.test(s)).map(([w]) => w);
  assert.deepEqual(hits('Your Free plan allows 3 registered apps (P3).'), ['a quota or requirement code']);
  assert.deepEqual(hits('The file could not be read (MT_EFORMAT at byte 22).'), ['a core error code']);
  assert.deepEqual(hits('Refused: plan_limit'), ['a snake_case identifier']);
  assert.deepEqual(hits('null…'), ['null, undefined or NaN']);
  assert.deepEqual(hits('Web API tokens (A2)'), ['a quota or requirement code']);
  for (const fine of ['LR8450 direct', 'HOK2 (compressed)', 'CH1', 'SQR(SQ(CH1)+SQ(CH2))', 'UTC+09:00',
    'https://…', 'Über 500 MB', '5 s for 10 min']) {
    assert.deepEqual(hits(fine), [], fine);
  }
});

// One word for one thing, and a language's own typography: Japanese says
// the measurement group 計測グループ everywhere (the audit log's entries
// said 測定グループ) and a channel チャネル (the viewer's area said チャンネル
// in 23 sentences), French and Italian write their apostrophe ’ (never ' ),
// French guillemets hold their words with a no-break space (« Plant A »:
// the audit log's card put a lone » on a line of its own), Japanese and
// Chinese write ： after their words.
test('one word for a measurement group in Japanese; French and Italian sentences use ’; French « » unbroken', () => {
  const bad = [];
  for (const [area, lang, key, value] of entries()) {
    if (lang === 'ja' && /測定グループ/.test(value)) bad.push(`${area}/ja.json ${key}: 測定グループ (計測グループ)`);
    if (lang === 'ja' && /チャンネル/.test(value)) bad.push(`${area}/ja.json ${key}: チャンネル (チャネル, as every other area)`);
    if ((lang === 'fr' || lang === 'it') && value.includes("'")) bad.push(`${area}/${lang}.json ${key}: a straight apostrophe: ${JSON.stringify(value)}`);
    if (lang === 'fr' && /« | »/.test(value)) bad.push(`${area}/fr.json ${key}: a guillemet with a breaking space: ${JSON.stringify(value)}`);
    // Japanese and Chinese sentences take the full-width colon ： (the reports' and viewer's Japanese had ": ").
    if ((lang === 'ja' || lang === 'zh-CN') && /[\u3040-\u30ff\u4e00-\u9fff}）」]: /.test(value)) bad.push(`${area}/${lang}.json ${key}: an ASCII colon: ${JSON.stringify(value)}`);
  }
  assert.deepEqual(bad, []);
});

// The server's own Japanese words say チャネル as the portal does (its
// storage-deletion notice said チャンネル, server/svc/alarm_msg.c).
test('the server\'s Japanese notices say チャネル as the portal', () => {
  const dir = path.join(portalDir, '..', 'server', 'svc');
  const bad = fs.readdirSync(dir).filter((f) => f.endsWith('.c'))
    .filter((f) => /チャンネル/.test(fs.readFileSync(path.join(dir, f), 'utf8')));
  assert.deepEqual(bad, []);
});

// English names the thing behind an app an instrument everywhere (the
// Devices page's title and menu entry said "Devices" over "Add an
// instrument"); "device" is only the person's own computer or phone (the
// time zone of this device).
test('one word for an instrument in English', () => {
  const bad = [];
  for (const [area, lang, key, value] of entries()) {
    if (lang !== 'en' || key.startsWith('me.time_zone')) continue;
    if (/\bdevices?\b/i.test(String(value).replace(/\{\w+\}/g, ''))) bad.push(`${area}/en.json ${key}: ${JSON.stringify(value)}`);
  }
  assert.deepEqual(bad, []);
});
