// Dates and times in the portal's language, not the browser's
// (js/ui/datefield.mjs). The browser is English (en-US) throughout; the
// person reads the portal in French, Japanese or English. Each date field
// shows and reads the language's order and separators (06/12/2026 14:30,
// 2026/12/06 14:30, 12/06/2026, 02:30 PM), sends the API the same value as
// the native fields did, says in a sentence why an impossible date is not
// one, and has a calendar usable with the keyboard. And the closed time-zone
// field shows the chosen zone in full (ui/form.mjs wrapSelect) on a PC and
// a phone.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, openPage, signIn, gotoRoute, waitForPage, afterRender, shot, longestZoneShown } from './browser.mjs';
import { PASSWORD, seedAccount } from './fixtures.mjs';
import { defects } from './defects.mjs';

const ZONE = 'Europe/Paris';
let env, seed;

before(async () => {
  env = await startStack();
  seed = await seedAccount(env);
});
after(async () => { if (env) await env.stop(); });

/** A page signed in as the admin reading the portal in "lang" (the browser stays English). */
async function open(lang, size = 'pc') {
  const r = await seed.admin.patch('/api/v1/me', { language: lang, time_zone: ZONE });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const page = await openPage(env, { size, zone: 'UTC', lang: 'en-US' });
  await signIn(page, { account: 'acme', user: 'admin', password: PASSWORD });
  await page.waitForFunction((l) => document.documentElement.lang === l, lang);
  return page;
}

/** The time (ms) of wall-clock "y-m-d h:m" in Paris. */
function paris(y, m, d, hh, mm) {
  const guess = Date.UTC(y, m - 1, d, hh, mm);
  const o = {};
  for (const p of new Intl.DateTimeFormat('en-US', { timeZone: ZONE, hourCycle: 'h23', year: 'numeric', month: '2-digit',
    day: '2-digit', hour: '2-digit', minute: '2-digit' }).formatToParts(guess)) o[p.type] = Number(p.value);
  return guess - (Date.UTC(o.year, o.month - 1, o.day, o.hour, o.minute) - guess);
}

// What each language shows and is typed, and the sentence of an impossible date.
const LANGS = {
  fr: { shown: '05/11/2026 09:30', placeholder: 'jj/mm/aaaa --:--', typed: '6/12/2026 14h30', normal: '06/12/2026 14:30',
    bad: '31/02/2026 10:00', sentence: '31/02/2026 10:00 n’existe pas : février 2026 a 28 jours.', first: 'lundi' },
  ja: { shown: '2026/11/05 09:30', placeholder: '年/月/日 --:--', typed: '２０２６年１２月６日 14:30', normal: '2026/12/06 14:30',
    bad: '2026/02/30 10:00', sentence: '2026/02/30 10:00 という日付はありません。2026年2月は28日までです。', first: '日曜日' },
  en: { shown: '11/05/2026, 09:30 AM', placeholder: 'mm/dd/yyyy, --:-- --', typed: '12/6/2026 2:30 pm', normal: '12/06/2026, 02:30 PM',
    bad: '2/29/2026 10:00', sentence: '2/29/2026 10:00 does not exist: February 2026 has 28 days.', first: 'Sunday' },
};
/** Spaces as one kind (Intl puts a narrow no-break space before AM/PM). */
const norm = (s) => String(s).replace(/\s/g, ' ');

for (const [lang, L] of Object.entries(LANGS)) {
  test(`${lang}: the audit log's period in the language's order, the value sent, an impossible date, the calendar`, async () => {
    const page = await open(lang);
    const from0 = paris(2026, 11, 5, 9, 30);
    await gotoRoute(page, `${env.url}/#/admin/audit?from=${from0}`, { route: 'admin/audit' });
    await waitForPage(page, 'admin/audit');
    // Shown the language's way, the empty one with its pattern.
    assert.equal(norm(await page.inputValue('[data-testid=audit-from]')), L.shown);
    assert.equal(await page.getAttribute('[data-testid=audit-to]', 'placeholder'), L.placeholder);
    assert.equal(await page.getAttribute('[data-testid=audit-from]', 'type'), 'text');
    // Typed in the language (loosely): read, written back its way, sent as before (ms of Paris time, in µs).
    await page.fill('[data-testid=audit-from]', L.typed);
    await page.press('[data-testid=audit-from]', 'Tab');
    assert.equal(norm(await page.inputValue('[data-testid=audit-from]')), L.normal);
    const want = paris(2026, 12, 6, 14, 30);
    const asked = page.waitForRequest((q) => q.url().includes('/api/v1/audit?'));
    await afterRender(page, () => page.click('[data-testid=audit-apply]'), { route: 'admin/audit' });
    const url = new URL((await asked).url());
    assert.equal(url.searchParams.get('from'), String(want * 1000));
    assert.equal(norm(await page.inputValue('[data-testid=audit-from]')), L.normal);

    // An impossible date: a sentence in the language, the field marked, nothing asked.
    await page.fill('[data-testid=audit-to]', L.bad);
    await page.press('[data-testid=audit-to]', 'Tab');
    const err = page.locator('[data-testid=audit-to-error]');
    await err.waitFor();
    assert.equal(await err.textContent(), L.sentence);
    assert.equal(await page.getAttribute('[data-testid=audit-to]', 'aria-invalid'), 'true');
    const before = await page.evaluate(() => location.hash);
    await page.click('[data-testid=audit-apply]');
    assert.equal(await page.evaluate(() => location.hash), before);
    assert.equal(await page.evaluate(() => document.activeElement.dataset.testid), 'audit-to');
    await shot(page, `dates-audit-bad-${lang}-pc`, { fullPage: false });

    // The calendar: named, the week starting as the language's does, keyboard only.
    await page.fill('[data-testid=audit-to]', '');
    const pick = page.locator('[data-testid=audit-from-pick]');
    assert.match(await pick.getAttribute('aria-label'), /.+/);
    await pick.focus();
    await page.keyboard.press('Enter');
    const cal = page.locator('[data-testid=audit-from-calendar]');
    await cal.waitFor();
    assert.equal(await pick.getAttribute('aria-expanded'), 'true');
    assert.equal(await cal.locator('th').first().getAttribute('abbr'), L.first);
    assert.equal(await page.evaluate(() => document.activeElement.dataset.day), '2026-12-06');
    assert.equal(await page.evaluate(() => document.activeElement.getAttribute('aria-pressed')), 'true');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('PageDown'); // 14 January 2027
    assert.equal(await page.evaluate(() => document.activeElement.dataset.day), '2027-01-14');
    assert.ok((await page.evaluate(() => document.activeElement.getAttribute('aria-label'))).includes('2027'));
    await shot(page, `dates-calendar-${lang}-pc`, { fullPage: false });
    await page.keyboard.press('Enter');
    await cal.waitFor({ state: 'detached' });
    assert.equal(await page.evaluate(() => document.activeElement.dataset.testid), 'audit-from');
    assert.equal(await page.evaluate(() => document.querySelector('#audit-from').closest('.datefield').value), '2027-01-14T14:30');
    // Esc closes it, the focus back on its button.
    await pick.click();
    await cal.waitFor();
    await page.keyboard.press('Escape');
    await cal.waitFor({ state: 'detached' });
    assert.equal(await page.evaluate(() => document.activeElement.dataset.testid), 'audit-from-pick');
    assert.deepEqual(await defects(page), []);
    assert.deepEqual(page.consoleErrors, []);
    await page.context().close();
  });
}

test('on a phone: the viewer\'s period and its calendar fit (French, Japanese); the alarm window\'s times in the language', async () => {
  for (const lang of ['fr', 'ja']) {
    const page = await open(lang, 'phone');
    const from = paris(2026, 11, 5, 9, 30), to = paris(2026, 11, 6, 9, 30);
    await gotoRoute(page, `${env.url}/#/viewer?channels=${seed.channels[0]}&from=${from}&to=${to}`, { route: 'viewer' });
    await waitForPage(page, 'viewer');
    assert.equal(await page.inputValue('[data-testid=viewer-to]'), { fr: '06/11/2026 09:30', ja: '2026/11/06 09:30' }[lang]);
    await page.click('[data-testid=viewer-setup-summary]'); // folded on a phone
    await page.click('[data-testid=viewer-to-pick]');
    await page.locator('[data-testid=viewer-to-calendar]').waitFor();
    assert.deepEqual(await defects(page), []);
    const box = await page.locator('[data-testid=viewer-to-calendar]').boundingBox();
    assert.ok(box.x >= 0 && box.x + box.width <= 375, `${lang}: the calendar within the phone (${JSON.stringify(box)})`);
    await shot(page, `dates-viewer-calendar-${lang}-phone`, { fullPage: false });
    // A day picked with a tap keeps the time; "apply" sends it.
    await page.click('[data-testid=viewer-to-calendar] button[data-day="2026-11-20"]');
    await page.click('[data-testid=viewer-apply]');
    await page.waitForFunction((v) => new URLSearchParams(location.hash.split('?')[1]).get('to') === String(v), paris(2026, 11, 20, 9, 30));
    // The alarm window's times: 24-hour here, typed as in the language.
    await gotoRoute(page, `${env.url}/#/alarms?new=1`, { route: 'alarms' });
    await page.selectOption('[data-testid=alarm-window]', 'during');
    await page.fill('[data-testid=alarm-start]', '２２：００');
    await page.press('[data-testid=alarm-start]', 'Tab');
    assert.equal(await page.inputValue('[data-testid=alarm-start]'), '22:00');
    await page.fill('[data-testid=alarm-end]', '25:00');
    await page.press('[data-testid=alarm-end]', 'Tab');
    await page.locator('[data-testid=alarm-end-error]').waitFor();
    assert.deepEqual(await defects(page), []);
    assert.deepEqual(page.consoleErrors, []);
    await page.context().close();
  }
  // English: a 12-hour clock, and a 24-hour time read too.
  const page = await open('en', 'phone');
  await gotoRoute(page, `${env.url}/#/alarms?new=1`, { route: 'alarms' });
  await page.selectOption('[data-testid=alarm-window]', 'during');
  await page.fill('[data-testid=alarm-start]', '22:00');
  await page.press('[data-testid=alarm-start]', 'Tab');
  assert.equal(norm(await page.inputValue('[data-testid=alarm-start]')), '10:00 PM');
  await page.fill('[data-testid=alarm-end]', '6:15 am');
  await page.press('[data-testid=alarm-end]', 'Tab');
  assert.equal(await page.evaluate(() => document.querySelector('[data-testid=alarm-end]').closest('.datefield').value), '06:15');
  assert.deepEqual(page.consoleErrors, []);
  await page.context().close();
});

// (On a 360 px phone: timezone.test.mjs, German, French and English.)
test('the closed time-zone field shows the chosen zone in full on a PC (Japanese, English)', async () => {
  for (const [lang, size] of [['ja', 'pc'], ['en', 'pc']]) {
    const page = await open(lang, size);
    for (const route of ['account', 'admin/account']) {
      const got = await longestZoneShown(page, env, route);
      assert.equal(got.face, got.label, `${lang} ${route}`);
      assert.equal(got.cut, false, `${lang} ${route}: not cut`);
      assert.ok(got.covers, `${lang} ${route}: the select lies over what it shows`);
      assert.match(got.face, /UTC[−+]\d\d:\d\d/);
      assert.deepEqual(await defects(page), []);
      await page.$eval('select[name=time_zone]', (s) => s.scrollIntoView({ block: 'center' }));
      await shot(page, `dates-zone-${lang}-${route.replace('/', '-')}-${size === 'pc' ? 'pc' : '360'}`, { fullPage: false });
    }
    assert.deepEqual(page.consoleErrors, []);
    await page.context().close();
  }
  await seed.admin.patch('/api/v1/me', { language: 'en', time_zone: null });
});
