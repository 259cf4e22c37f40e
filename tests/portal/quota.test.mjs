// The over-quota period in the portal (S8, L3; docs/operations.md "Storage
// quota") in Chromium against a real server: an account the storage job
// found over its quota shows its administrators, on every page, since when
// and on which day everything it stores will be deleted unless storage is
// freed or the plan upgraded, in each of the seven languages and in the
// reader's time zone; the account page says it in the plan's panel and
// the drive page on its storage line; a member who cannot act on it sees no
// banner; back within the quota, they are gone.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startStack, openPage, signIn, shot, request, waitForPage, portalDir, gotoRoute } from './browser.mjs';
import { PASSWORD, seedAccount } from './fixtures.mjs';

const ZONE = 'Asia/Tokyo';
const LANGS = [['zh-CN', 'zh-CN'], ['ja', 'ja-JP'], ['en', 'en-US'], ['es', 'es-ES'],
  ['fr', 'fr-FR'], ['de', 'de-DE'], ['it', 'it-IT']];
const catalogue = (lang) => JSON.parse(fs.readFileSync(path.join(portalDir, 'i18n', 'app', `${lang}.json`), 'utf8'));
let env, seed;

before(async () => {
  // The jobs run when the test asks (POST /api/v1/test/jobs).
  env = await startStack({ args: ['--jobs-interval', '0'] });
  seed = await seedAccount(env);
  await env.createUser({ accountId: seed.accountId, user: 'member', password: PASSWORD,
    email: 'member@acme.example.test', role: 'member' });
});
after(async () => { if (env) await env.stop(); });

async function storageJob() {
  const r = await request(env.srv.url, 'POST', '/api/v1/test/jobs?job=storage_notices');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.jobs[0].ok, true, JSON.stringify(r.body));
}
const setDataBytes = (b) => env.psql(`INSERT INTO account_storage (account_id, data_bytes)
  VALUES (${seed.accountId}, ${b}) ON CONFLICT (account_id) DO UPDATE SET data_bytes = ${b}`);

/** The banner's text once it is shown (or null once it is hidden). */
async function bannerText(page, shown = true) {
  await page.waitForFunction((s) => {
    const el = document.querySelector('[data-testid=quota-banner]');
    return s ? el !== null && !el.hidden && el.textContent.length > 0 : el === null || el.hidden;
  }, shown);
  return shown ? page.textContent('[data-testid=quota-banner] span') : null;
}

/** The sentence of "lang" for the period, with the dates as the page writes them. */
async function expected(page, lang, period) {
  const fmt = (iso) => page.evaluate(({ l, z, v }) => new Intl.DateTimeFormat(l,
    { dateStyle: 'medium', timeStyle: 'short', timeZone: z }).format(new Date(v)), { l: lang, z: ZONE, v: iso });
  return catalogue(lang)['quota.over'].replace('{since}', await fmt(period.since))
    .replace('{deletion}', await fmt(period.deletion));
}

test('over quota: the sentence on the account page and a banner on every page for administrators, in seven languages; gone once within the quota', async () => {
  // Pro: 500 GB. 600 GB of acquired data (the counter) puts it over.
  await setDataBytes(600e9);
  await storageJob();
  const acc = (await seed.admin.get('/api/v1/account')).body;
  assert.ok(acc.storage_over_quota_since, JSON.stringify(acc));
  const period = { since: acc.storage_over_quota_since, deletion: acc.storage_deletion_at };
  assert.equal(Date.parse(period.deletion) - Date.parse(period.since), 31 * 86400e3);

  // German, Tokyo time: the banner on the first page and on the next ones.
  // A profile without a language: the browser's is shown (a sign-in in
  // another language than the account's records it in the profile).
  assert.equal((await seed.admin.patch('/api/v1/me', { language: null })).status, 200);
  let page = await openPage(env, { lang: 'de-DE', zone: ZONE });
  await signIn(page, { account: 'acme', user: 'admin', password: PASSWORD });
  let text = await bannerText(page);
  assert.equal(text, await expected(page, 'de', period));
  assert.match(text, /^Dieses Konto liegt seit .+ über seinem Speicherkontingent\. .+ am .+ gelöscht\.$/);
  assert.equal(await page.textContent('[data-testid=quota-banner-link]'), 'Konto und Tarif ansehen');
  await shot(page, 'quota-banner-monitor-de');
  await gotoRoute(page, `${env.url}/#/drive`);
  await waitForPage(page, 'drive');
  assert.equal(await bannerText(page), text, 'on the drive page too');
  // The drive's storage line says it too.
  assert.equal(await page.textContent('[data-testid=drive-quota] [data-testid=drive-over-quota]'), text);
  await shot(page, 'quota-drive-de');
  // The banner's link leads to the account page, which says it in the plan's panel.
  await page.click('[data-testid=quota-banner-link]');
  await waitForPage(page, 'admin/account');
  await page.waitForSelector('[data-testid=storage-over-quota]');
  assert.equal(await page.textContent('[data-testid=storage-over-quota]'), text);
  await shot(page, 'quota-account-de');
  await page.context().close();

  // Every language, on the account page and in the banner.
  for (const [lang, locale] of LANGS) {
    assert.equal((await seed.admin.patch('/api/v1/me', { language: null })).status, 200);
    page = await openPage(env, { lang: locale, zone: ZONE });
    await signIn(page, { account: 'acme', user: 'admin', password: PASSWORD });
    await gotoRoute(page, `${env.url}/#/admin/account`);
    await waitForPage(page, 'admin/account');
    await page.waitForSelector('[data-testid=storage-over-quota]');
    const want = await expected(page, lang, period);
    assert.equal(await page.textContent('[data-testid=storage-over-quota]'), want, lang);
    assert.equal(await bannerText(page), want, lang);
    assert.doesNotMatch(want, /quota\.over|\{/, lang);
    assert.deepEqual(page.consoleErrors, [], `${lang}: ${page.consoleErrors.join('\n')}`);
    if (lang === 'zh-CN') await shot(page, 'quota-account-zh');
    await page.context().close();
  }

  assert.equal((await seed.admin.patch('/api/v1/me', { language: null })).status, 200);

  // A member cannot free the account's storage or change its plan: no banner.
  page = await openPage(env, { lang: 'en-US', zone: ZONE });
  await signIn(page, { account: 'acme', user: 'member', password: PASSWORD });
  await waitForPage(page, 'monitor');
  await page.waitForLoadState('networkidle');
  assert.equal(await bannerText(page, false), null);
  await page.context().close();

  // On a phone the banner wraps within the width.
  page = await openPage(env, { size: 'phone', lang: 'en-US', zone: ZONE });
  await signIn(page, { account: 'acme', user: 'admin', password: PASSWORD });
  // The monitor drawn first: its width and its picture are those of the page
  // with its data (a faster browser took the picture half drawn).
  await waitForPage(page, 'monitor');
  await bannerText(page);
  const sw = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(sw <= 375, `scrollWidth ${sw}`);
  await shot(page, 'quota-banner-phone');
  await page.context().close();

  // Within the quota again: the period ends at the next round; both are gone.
  await setDataBytes(0);
  await storageJob();
  page = await openPage(env, { lang: 'en-US', zone: ZONE });
  await signIn(page, { account: 'acme', user: 'admin', password: PASSWORD });
  await gotoRoute(page, `${env.url}/#/admin/account`);
  await waitForPage(page, 'admin/account');
  await page.waitForSelector('[data-testid=account-plan]');
  assert.equal(await page.$('[data-testid=storage-over-quota]'), null);
  assert.equal(await bannerText(page, false), null);
  await gotoRoute(page, `${env.url}/#/drive`, { route: 'drive' });
  await page.waitForSelector('[data-testid=drive-quota] progress');
  assert.equal(await page.$('[data-testid=drive-over-quota]'), null);
  await page.context().close();
});
