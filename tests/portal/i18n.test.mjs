// Languages (I1): every catalogue has exactly the keys (and placeholders) of
// English; in Chromium the language switch changes the page text, is
// remembered after a reload and saved to the user's profile; every language
// shows the sign-in page without a raw key.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startStack, openPage, signIn, waitForPage, portalDir, shot } from './browser.mjs';
import { PASSWORD } from './fixtures.mjs';

const LANGS = ['zh-CN', 'ja', 'en', 'es', 'fr', 'de', 'it'];
const i18nDir = path.join(portalDir, 'i18n');
const load = (area, lang) => JSON.parse(fs.readFileSync(path.join(i18nDir, area, `${lang}.json`), 'utf8'));
const placeholders = (s) => [...String(s).matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort().join(',');

function compare(area, lang) {
  const en = load(area, 'en');
  const cat = load(area, lang);
  const missing = Object.keys(en).filter((k) => !(k in cat));
  const extra = Object.keys(cat).filter((k) => !(k in en));
  assert.deepEqual(missing, [], `${area}/${lang}.json lacks keys of en`);
  assert.deepEqual(extra, [], `${area}/${lang}.json has keys that en lacks`);
  for (const k of Object.keys(en)) {
    assert.equal(typeof cat[k], 'string', `${area}/${lang}: ${k}`);
    assert.ok(cat[k].trim().length > 0, `${area}/${lang}: ${k} is empty`);
    assert.equal(placeholders(cat[k]), placeholders(en[k]), `${area}/${lang}: ${k} placeholders`);
  }
}

test('the app catalogues of all seven languages have exactly the keys and placeholders of en', () => {
  for (const lang of LANGS) compare('app', lang);
});

test('the other areas\' catalogues that exist have exactly the keys of en', (t) => {
  for (const area of fs.readdirSync(i18nDir)) {
    if (area === 'app' || !fs.existsSync(path.join(i18nDir, area, 'en.json'))) continue;
    for (const lang of LANGS) {
      if (!fs.existsSync(path.join(i18nDir, area, `${lang}.json`))) {
        t.diagnostic(`${area}/${lang}.json does not exist yet`);
        continue;
      }
      compare(area, lang);
    }
  }
});

let env;
before(async () => {
  env = await startStack();
  await env.createAccount({ account: 'acme', plan: 'standard', user: 'admin', password: PASSWORD, userName: 'Ada Admin' });
});
after(async () => { if (env) await env.stop(); });

test('switching the language changes the text, is remembered after a reload and saved to the profile', async () => {
  const page = await openPage(env);
  await signIn(page, { account: 'acme', user: 'admin', password: PASSWORD });
  await waitForPage(page, 'monitor');
  const navText = () => page.textContent('a.nav-link[data-page=monitor]');
  assert.equal(await navText(), 'Monitor');
  await page.selectOption('#lang-select', 'de');
  await page.waitForFunction(() => document.documentElement.lang === 'de');
  await page.waitForFunction(() => document.querySelector('a.nav-link[data-page=monitor]').textContent === 'Überwachung');
  await page.waitForFunction(() => document.querySelector('#main h1').textContent === 'Überwachung');
  // Remembered: the code only, in localStorage; nothing else is stored there.
  assert.deepEqual(await page.evaluate(() => Object.keys(localStorage)), ['metron.lang']);
  assert.equal(await page.evaluate(() => localStorage.getItem('metron.lang')), 'de');
  await page.reload();
  await waitForPage(page, 'monitor');
  assert.equal(await navText(), 'Überwachung');
  // Saved to the profile: a new browser (no localStorage) signs in in German.
  await page.waitForFunction(async () => (await (await fetch('/api/v1/me')).json()).language === 'de');
  await page.context().close();
  const fresh = await openPage(env, { lang: 'en-US' });
  await signIn(fresh, { account: 'acme', user: 'admin', password: PASSWORD });
  await fresh.waitForFunction(() => document.documentElement.lang === 'de');
  await fresh.waitForFunction(() => document.querySelector('a.nav-link[data-page=monitor]').textContent === 'Überwachung');
  // Numbers and dates follow the language (Intl).
  await fresh.selectOption('#lang-select', 'ja');
  await fresh.waitForFunction(() => document.querySelector('a.nav-link[data-page=monitor]').textContent === 'モニター');
  await shot(fresh, 'monitor-ja-pc'); // CJK glyphs: fonts-wqy-microhei (scripts/bootstrap)
  assert.deepEqual(fresh.consoleErrors, []);
  await fresh.context().close();
});

test('every language shows the sign-in page with its own words and no raw keys', async () => {
  const page = await openPage(env);
  const seen = new Set();
  for (const lang of LANGS) {
    await page.evaluate((l) => localStorage.setItem('metron.lang', l), lang);
    await page.reload();
    await page.waitForSelector('#signin-form');
    await page.waitForFunction((l) => document.documentElement.lang === l, lang);
    const text = await page.textContent('body');
    assert.doesNotMatch(text, /\b(signin|common|header|nav)\.[a-z_]+/, `${lang}: a raw key`);
    seen.add(await page.textContent('.auth-card h1'));
  }
  assert.equal(seen.size, LANGS.length, 'each language has its own title');
  await page.context().close();
});
