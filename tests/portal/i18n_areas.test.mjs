// Catalogues loaded by area (portal/js/i18n.mjs, the route table's areas;
// docs/portal.md "Languages"): the first page after sign-in fetches the
// 'app' catalogue only (the language's and English); a page of another
// area is drawn once its catalogues are there, never with a raw key or in
// English first; a language chosen on such a page fetches its areas in the
// new language before anything changes; a catalogue that cannot be fetched
// is told in the user's language with a button that tries again; the
// monitor's "Add to dashboard" dialog fetches the dashboards' catalogue
// when opened. (tests/code/portal_i18n.test.mjs checks on the sources that
// every key a module uses is in an area loaded where it runs.)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startStack, openPage, signIn, waitForPage, waitRendered, gotoRoute, shot, portalDir } from './browser.mjs';
import { PASSWORD, seedAccount } from './fixtures.mjs';

const i18nDir = path.join(portalDir, 'i18n');
const cat = (area, lang) => JSON.parse(fs.readFileSync(path.join(i18nDir, area, `${lang}.json`), 'utf8'));
const KEYS = fs.readdirSync(i18nDir).flatMap((a) => Object.keys(cat(a, 'en')));

let env;
let seed;
before(async () => {
  env = await startStack();
  seed = await seedAccount(env);
});
after(async () => { if (env) await env.stop(); });

/** The catalogues the page fetches from now on: ['app/ja', 'alarms/en', ...]. */
function catalogueLog(page) {
  const log = [];
  page.on('request', (r) => {
    const m = new URL(r.url()).pathname.match(/\/i18n\/([^/]+)\/([^/]+)\.json$/);
    if (m) log.push(`${m[1]}/${m[2]}`);
  });
  return log;
}

/** Catalogue keys shown raw: in the text of the page, its title, labels and titles of elements. */
function rawKeys(page) {
  return page.evaluate((keys) => {
    const attrs = [...document.querySelectorAll('[aria-label], [title], [placeholder]')]
      .map((e) => [e.getAttribute('aria-label'), e.getAttribute('title'), e.getAttribute('placeholder')].join(' '));
    const text = [document.body.innerText, document.title, ...attrs].join('\n');
    return keys.filter((k) => text.includes(k));
  }, KEYS);
}

/** Requests held until release(); off() once they have been answered. */
function holdRequests(page, match) {
  let release;
  const held = new Promise((r) => { release = r; });
  const slow = async (r) => { await held; await r.continue(); };
  return { on: () => page.route(match, slow), release: () => release(), off: () => page.unroute(match, slow) };
}

// One matcher per catalogue: page.unroute() needs the function page.route() had.
const matchers = new Map();
const catPath = (area, lang) => {
  const id = `${area}/${lang}`;
  if (!matchers.has(id)) matchers.set(id, (u) => u.pathname.endsWith(`/i18n/${id}.json`));
  return matchers.get(id);
};

async function signedIn(lang, locale) {
  const r = await seed.admin.patch('/api/v1/me', { language: lang });
  assert.equal(r.status, 200);
  const page = await openPage(env, { size: 'pc', lang: locale });
  await page.evaluate(() => localStorage.removeItem('metron.lang'));
  const log = catalogueLog(page);
  await page.reload(); // a new page's start, logged
  await signIn(page, { account: 'acme', user: 'admin', password: PASSWORD });
  await waitForPage(page, 'monitor');
  await page.waitForSelector('#main .view h1');
  return { page, log };
}

test('the first page fetches the app catalogue only; a page\'s areas come with it, in the language, never a key first', async () => {
  const { page, log } = await signedIn('ja', 'ja-JP');
  assert.deepEqual([...new Set(log)].sort(), ['app/en', 'app/ja'], 'the sign-in page and the monitor');
  assert.equal(await page.textContent('a.nav-link[data-page=monitor]'), cat('app', 'ja')['nav.monitor']);
  assert.deepEqual(await rawKeys(page), []);

  // The alarms page (areas alarms and viewer): the loading sentence until
  // its catalogues are there, then drawn in Japanese.
  const hold = holdRequests(page, catPath('alarms', 'ja'));
  await hold.on();
  const mark = await waitRendered(page);
  await page.evaluate(() => { location.hash = '#/alarms'; });
  await page.waitForSelector('#main[data-page=alarms] .view p.loading');
  await page.waitForTimeout(300);
  assert.equal(await page.textContent('#main .view'), cat('app', 'ja')['common.loading'], 'drawn before its catalogue');
  hold.release();
  await waitRendered(page, { since: mark, route: 'alarms' });
  await hold.off();
  assert.equal(await page.textContent('[data-testid=alarms-tab-settings]'), cat('alarms', 'ja')['alarms.tab_settings']);
  for (const c of ['alarms/ja', 'alarms/en', 'viewer/ja', 'viewer/en']) assert.ok(log.includes(c), `${c}: ${log.join(', ')}`);
  assert.ok(!log.some((c) => c.startsWith('reports/') || c.startsWith('dashboards/')), log.join(', '));
  assert.deepEqual(await rawKeys(page), []);
  await shot(page, 'areas-alarms-ja');

  // Another language on this page: its areas in German first (the page
  // stays Japanese meanwhile), then the page in German.
  const holdDe = holdRequests(page, catPath('alarms', 'de'));
  await holdDe.on();
  const before = await waitRendered(page);
  await page.selectOption('#lang-select', 'de');
  await page.waitForTimeout(300);
  assert.equal(await page.evaluate(() => document.documentElement.lang), 'ja');
  assert.equal(await page.textContent('[data-testid=alarms-tab-settings]'), cat('alarms', 'ja')['alarms.tab_settings']);
  holdDe.release();
  await page.waitForFunction(() => document.documentElement.lang === 'de');
  await waitRendered(page, { since: before, route: 'alarms' });
  await holdDe.off();
  assert.equal(await page.textContent('[data-testid=alarms-tab-settings]'), cat('alarms', 'de')['alarms.tab_settings']);
  assert.equal(await page.textContent('a.nav-link[data-page=alarms]'), cat('app', 'de')['nav.alarms']);
  for (const c of ['app/de', 'alarms/de', 'viewer/de']) assert.ok(log.includes(c), `${c}: ${log.join(', ')}`);
  assert.deepEqual(await rawKeys(page), []);

  // The reports page in German: its catalogue when first shown.
  await gotoRoute(page, '#/reports', { route: 'reports' });
  await page.waitForSelector('#main .view h1');
  assert.ok((await page.textContent('#main .view')).includes(cat('reports', 'de')['reports.new']));
  assert.ok(log.includes('reports/de') && log.includes('reports/en'), log.join(', '));
  assert.deepEqual(await rawKeys(page), []);
  await shot(page, 'areas-reports-de');
  assert.deepEqual(page.consoleErrors, []);
  await page.context().close();
});

test('a catalogue that cannot be fetched: a sentence in the language and a button that tries again', async () => {
  const { page } = await signedIn('de', 'de-DE');
  const block = (r) => r.abort('internetdisconnected');
  const failed = async (lang) => {
    await page.waitForSelector('[data-testid=page-load-failed]');
    assert.equal(await page.textContent('[data-testid=page-load-failed] p'), cat('app', lang)['error.page_load']);
    assert.equal(await page.textContent('[data-testid=page-load-retry]'), cat('app', lang)['common.retry']);
    assert.deepEqual(await rawKeys(page), []);
  };
  const retried = async (lang) => {
    const since = await waitRendered(page);
    await page.click('[data-testid=page-load-retry]');
    await waitRendered(page, { since, route: 'reports' });
    await page.waitForSelector('#main .view h1');
    assert.equal(await page.$('[data-testid=page-load-failed]'), null);
    assert.ok((await page.textContent('#main .view')).includes(cat('reports', lang)['reports.new']));
    assert.deepEqual(await rawKeys(page), []);
  };
  // The page's area in the language.
  await page.route(catPath('reports', 'de'), block);
  await gotoRoute(page, '#/reports', { route: 'reports' });
  await failed('de');
  await shot(page, 'areas-failed-reports-de');
  await page.unroute(catPath('reports', 'de'), block);
  await retried('de');

  // A language chosen while the page's area cannot be fetched in it: the
  // page tells it in the new language.
  await page.route(catPath('reports', 'fr'), block);
  const since = await waitRendered(page);
  await page.selectOption('#lang-select', 'fr');
  await page.waitForFunction(() => document.documentElement.lang === 'fr');
  await waitRendered(page, { since, route: 'reports' });
  await failed('fr');
  await page.unroute(catPath('reports', 'fr'), block);
  await retried('fr');

  // English, the fallback, cannot be fetched: told the same.
  await page.route(catPath('dashboards', 'en'), block);
  await gotoRoute(page, '#/dashboards', { route: 'dashboards' });
  await failed('fr');
  await page.unroute(catPath('dashboards', 'en'), block);
  assert.deepEqual(page.consoleErrors, []);
  await page.context().close();
});

test('the monitor\'s "Add to dashboard" fetches the dashboards\' catalogue when opened, in the language', async () => {
  const { page, log } = await signedIn('ja', 'ja-JP');
  const button = `[data-device="${seed.deviceId}"] [data-testid=add-to-dashboard]`;
  assert.equal(await page.textContent(button), cat('app', 'ja')['dash.add_to_dashboard']);
  assert.ok(!log.some((c) => c.startsWith('dashboards/')), log.join(', '));
  // Not fetched: the dialog does not open, the monitor says why.
  const block = (r) => r.abort('internetdisconnected');
  await page.route(catPath('dashboards', 'ja'), block);
  await page.click(button);
  await page.waitForSelector('.toast-error');
  assert.ok((await page.textContent('.toast-error')).includes(cat('app', 'ja')['error.network']));
  assert.equal(await page.$('[data-testid=add-form]'), null);
  await page.unroute(catPath('dashboards', 'ja'), block);
  await page.click(button);
  await page.waitForSelector('[data-testid=add-form]');
  assert.ok(log.includes('dashboards/ja') && log.includes('dashboards/en'), log.join(', '));
  assert.equal(await page.textContent('label[for=ma-dash]'), cat('dashboards', 'ja')['dash.add_which']);
  assert.deepEqual(await rawKeys(page), []);
  await shot(page, 'areas-add-to-dashboard-ja');
  assert.deepEqual(page.consoleErrors, []);
  await page.context().close();
});
