// Dates and times in the portal's language, not the browser's
// (js/ui/datefield.mjs). The browser is English (en-US) throughout; the
// person reads the portal in French, Japanese or English. Each date field
// shows and reads the language's order and separators (06/12/2026 14:30,
// 2026/12/06 14:30, 12/06/2026, 02:30 PM), sends the API the same value as
// the native fields did, says in a sentence why an impossible date is not
// one, and has a calendar usable with the keyboard. And the closed time-zone
// field shows the chosen zone in full (ui/form.mjs wrapSelect) on a PC and
// a phone; the viewer's summary gives a period's day once when both ends are
// on it, in the seven languages.
//
// One PC page and one phone page, each signed in once, are shared by the
// tests, the language changed with the header's selector (i18n.mjs, as a
// person does): the file signed in eight times before (2026-12-07).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, openPage, signIn, gotoRoute, waitForPage, afterRender, shot, longestZoneShown } from './browser.mjs';
import { PASSWORD, seedAccount } from './fixtures.mjs';
import { defects } from './defects.mjs';

const ZONE = 'Europe/Paris';
let env, seed, pc, phone;

before(async () => {
  env = await startStack();
  seed = await seedAccount(env);
  const r = await seed.admin.patch('/api/v1/me', { language: 'fr', time_zone: ZONE });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  pc = await signedIn('pc');
});
after(async () => { if (env) await env.stop(); });

/** A page signed in as the admin (the browser stays English, in UTC; the portal in Paris time). */
async function signedIn(size) {
  const page = await openPage(env, { size, zone: 'UTC', lang: 'en-US' });
  await signIn(page, { account: 'acme', user: 'admin', password: PASSWORD });
  return page;
}

/** The portal read in "lang" on "page": chosen in the header's language selector (hidden on a phone: its change event). */
async function useLanguage(page, lang) {
  await page.$eval('#lang-select', (s, l) => {
    if (s.value === l) return;
    s.value = l;
    s.dispatchEvent(new Event('change', { bubbles: true }));
  }, lang);
  await page.waitForFunction((l) => document.documentElement.lang === l, lang);
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
    const page = pc;
    await useLanguage(page, lang);
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
  });
}

test('on a phone: the viewer\'s period and its calendar fit (French, Japanese); the alarm window\'s times in the language', async () => {
  const page = phone = await signedIn('phone');
  for (const lang of ['fr', 'ja']) {
    await useLanguage(page, lang);
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
  }
  // English: a 12-hour clock, and a 24-hour time read too.
  await useLanguage(page, 'en');
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
  phone = null;
});

// (On a 360 px phone: timezone.test.mjs, German, French and English.)
test('the closed time-zone field shows the chosen zone in full on a PC (Japanese, English)', async () => {
  const page = pc, size = 'pc';
  for (const lang of ['ja', 'en']) {
    await useLanguage(page, lang);
    for (const route of ['account', 'admin/account']) {
      const got = await longestZoneShown(page, env, route);
      assert.equal(got.face, got.label, `${lang} ${route}`);
      assert.equal(got.cut, false, `${lang} ${route}: not cut`);
      assert.ok(got.covers, `${lang} ${route}: the select lies over what it shows`);
      assert.match(got.face, /UTC[−+]\d\d:\d\d/);
      assert.deepEqual(await defects(page), []);
      await page.$eval('select[name=time_zone]', (s) => s.scrollIntoView({ block: 'center' }));
      await shot(page, `dates-zone-${lang}-${route.replace('/', '-')}-${size}`, { fullPage: false });
    }
    assert.deepEqual(page.consoleErrors, []);
  }
});


test('the alarm window\'s three fields line up however their labels wrap (German, Chinese, English; wide, narrow, phone)', async () => {
  // German "Zeitzone dieser Uhrzeiten" on two or three lines held its select
  // lower than the times beside it (css/alarms.css: a subgrid, the labels
  // ending on one line), and at 1100 px the select cut "UTC+00:00".
  const page = pc;
  for (const lang of ['de', 'zh-CN', 'en']) {
    await useLanguage(page, lang);
    for (const width of [1366, 1100, 375]) {
      await page.setViewportSize({ width, height: 800 });
      await gotoRoute(page, `${env.url}/#/alarms?new=1`, { route: 'alarms' });
      await page.selectOption('[data-testid=alarm-window]', 'during');
      const f = await page.$$eval('.al-window > .field', (fields) => fields.map((el) => {
        const c = el.querySelector('input, select').getBoundingClientRect();
        const l = el.querySelector('label').getBoundingClientRect();
        return { top: Math.round(c.top), left: Math.round(c.left), width: c.width, labelBottom: Math.round(l.bottom) };
      }));
      const where = `${lang} at ${width} px: ${JSON.stringify(f)}`;
      if (width >= 1000) {
        assert.ok(f.every((x) => x.top === f[0].top && x.labelBottom === f[0].labelBottom), where);
      } else {
        // Two times side by side, the offset under them, the card's width.
        assert.ok(f[0].top === f[1].top && f[2].top > f[0].top && f[2].left === f[0].left, where);
      }
      // Room for the widest offset ("UTC+05:45") and the select's arrow.
      const room = await page.$eval('[data-testid=alarm-offset]', (s) => {
        const cv = document.createElement('canvas').getContext('2d');
        const cs = getComputedStyle(s);
        cv.font = cs.font;
        const widest = Math.max(...[...s.options].map((o) => cv.measureText(o.textContent).width));
        return s.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight) - 16 - widest;
      });
      assert.ok(room >= 0, `${where}: the offset cut (${room})`);
      await page.$eval('.al-window', (el) => el.scrollIntoView({ block: 'center' }));
      await shot(page, `dates-alarm-window-${lang}-${width}`, { fullPage: false });
    }
    await page.setViewportSize({ width: 1366, height: 768 });
  }
  assert.deepEqual(await defects(page), []);
  assert.deepEqual(page.consoleErrors, []);
});

test('the viewer\'s summary gives the day once when the period is within one day, in the seven languages', async () => {
  const page = pc;
  const from = paris(2026, 12, 7, 0, 10), to = paris(2026, 12, 7, 1, 10), next = paris(2026, 12, 8, 1, 10);
  const summary = () => page.textContent('[data-testid=viewer-setup-summary]');
  /** The period as the language writes it (the portal's one form: medium date, short time), "to" with its date or not. */
  const period = (lang, a, b, withDate) => page.evaluate(({ lang, a, b, withDate, zone }) => {
    const dt = new Intl.DateTimeFormat(lang, { dateStyle: 'medium', timeStyle: 'short', timeZone: zone });
    const tm = new Intl.DateTimeFormat(lang, { timeStyle: 'short', timeZone: zone });
    return `${dt.format(a)} – ${(withDate ? dt : tm).format(b)}`;
  }, { lang, a, b, withDate, zone: ZONE });
  for (const lang of ['zh-CN', 'ja', 'en', 'es', 'fr', 'de', 'it']) {
    await useLanguage(page, lang);
    await gotoRoute(page, `${env.url}/#/viewer?channels=${seed.channels[0]}&from=${from}&to=${to}`, { route: 'viewer' });
    const text = norm(await summary());
    assert.ok(text.endsWith(norm(await period(lang, from, to, false))), `${lang}: ${text}`);
    assert.equal(text.split('2026').length - 1, 1, `${lang}: the year once in "${text}"`);
    if (lang === 'de') assert.equal(text, 'Kanäle und Zeitraum: 1 Kanal, 07.12.2026, 00:10 – 01:10');
    if (lang === 'en') assert.match(text, /^Channels and period: 1 channel, Dec 7, 2026, 12:10 AM – 1:10 AM$/);
    // Over midnight: both dates.
    await gotoRoute(page, `${env.url}/#/viewer?channels=${seed.channels.slice(0, 2).join(',')}&from=${from}&to=${next}`, { route: 'viewer' });
    const two = norm(await summary());
    assert.ok(two.endsWith(norm(await period(lang, from, next, true))), `${lang}: ${two}`);
    if (lang === 'de') assert.equal(two, 'Kanäle und Zeitraum: 2 Kanäle, 07.12.2026, 00:10 – 08.12.2026, 01:10');
  }
  assert.deepEqual(page.consoleErrors, []);
  await seed.admin.patch('/api/v1/me', { language: 'en', time_zone: null });
});
