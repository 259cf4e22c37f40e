// Time zones (I2, V5) in Chromium. The browser runs in Asia/Kathmandu
// (UTC+05:45, so that hours of the zone are not hours of UTC): the monitor,
// the viewer's list, the chart's range, cursor and ticks, and the period
// inputs show the browser's time. Then the user chooses New York in "My
// settings" (the specification's list, by name in their language) and every
// time moves to New York; the period typed into the viewer is read there too.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, openPage, signIn, waitForPage, shot, assertFits, gotoRoute, longestZoneShown } from './browser.mjs';
import { PASSWORD, seedAccount } from './fixtures.mjs';
import { appClient } from '../server/data_helpers.mjs';

const BROWSER_ZONE = 'Asia/Kathmandu';
const CHOSEN_ZONE = 'America/New_York';
let env, seed, T;

/** "HH:MM" of time ms in zone z, as en-US shows it with a 12-hour clock ("9:02"). */
const hm = (ms, z) => new Intl.DateTimeFormat('en-US', { timeZone: z, hour: 'numeric', minute: '2-digit', hourCycle: 'h12' })
  .format(ms).replace(/\s?[AP]M$/, '');
/** 'YYYY-MM-DDTHH:MM' of ms in zone z (a datetime-local value). */
function wall(ms, z) {
  const o = {};
  for (const p of new Intl.DateTimeFormat('en-US', { timeZone: z, hourCycle: 'h23', year: 'numeric', month: '2-digit',
    day: '2-digit', hour: '2-digit', minute: '2-digit' }).formatToParts(ms)) o[p.type] = p.value;
  return `${o.year}-${o.month}-${o.day}T${o.hour}:${o.minute}`;
}

before(async () => {
  env = await startStack();
  seed = await seedAccount(env);
  // One value at 03:17 UTC yesterday: 09:02 in Kathmandu, 22:17 (EST) or 23:17 (EDT) in New York the day before.
  const now = Date.now();
  T = now - (now % 86400000) - 86400000 + (3 * 60 + 17) * 60000;
  const r = await seed.admin.post('/api/v1/apps/' + seed.appId + '/credentials', {});
  const ingest = appClient(env.apiUrl, r.body.credential);
  const b = await ingest.batch({ batch_id: 'tz-1', channels: [{ id: seed.channels[3 - 1], t: [T * 1000], v: [42.5] }] });
  assert.ok(b.status < 300, b.text);
});
after(async () => { if (env) await env.stop(); });

async function listTimes(page) {
  await page.click('[data-testid=viewer-mode-list]');
  await page.waitForSelector('[data-testid=list-table] td.vw-time');
  return page.$$eval('[data-testid=list-table] td.vw-time', (tds) => tds.map((td) => [Number(td.dataset.us), td.textContent]));
}

async function chartFacts(page) {
  await page.click('[data-testid=viewer-mode-graph]');
  await page.waitForFunction(() => document.querySelector('[data-testid=viewer-chart]')?.dataset.state === 'ready');
  return page.evaluate(() => {
    const c = document.querySelector('[data-testid=viewer-chart]').__chart;
    const ax = c.uplot.axes[0];
    return { range: document.querySelector('[data-testid=chart-range]').textContent,
      splits: ax._splits, values: ax._values, from: c.view.from, to: c.view.to,
      input: document.querySelector('#vw-from').closest('.datefield').value };
  });
}

function checkTicks(facts, z) {
  assert.ok(facts.splits.length >= 3, 'ticks');
  facts.splits.forEach((s, i) => {
    const label = String(facts.values[i]).split('\n')[0].replace(/\s?[AP]M$/, '');
    assert.equal(label.replace(/^0/, ''), hm(s, z), `tick ${i} in ${z}`);
    // Ticks on round minutes of the zone (not of UTC: Kathmandu is 5:45 ahead).
    const minute = Number(label.split(':')[1]);
    assert.equal(minute % 5, 0, `tick ${label} on a round minute of ${z}`);
  });
}

test('times are shown in the browser\'s zone, then in the zone chosen in My settings', async () => {
  const page = await openPage(env, { zone: BROWSER_ZONE });
  await signIn(page, { account: 'acme', user: 'admin', password: PASSWORD });
  // (Chromium's ICU names it by its old spelling, Asia/Katmandu.)
  assert.match(await page.evaluate(() => Intl.DateTimeFormat().resolvedOptions().timeZone), /^Asia\/Kath?mandu$/);
  const ch = seed.channels[2];
  const from = T - 30 * 60000, to = T + 90 * 60000;

  // The viewer in the browser's zone.
  await gotoRoute(page, `${env.url}/#/viewer?channels=${ch}&from=${from}&to=${to}`);
  await waitForPage(page, 'viewer');
  let facts = await chartFacts(page);
  assert.match(facts.range, new RegExp(hm(from, BROWSER_ZONE)));
  checkTicks(facts, BROWSER_ZONE);
  assert.equal(facts.input, wall(from, BROWSER_ZONE));
  assert.match(await page.textContent('.vw-zone'), /Nepal|Kathmandu|\+05:45/);
  let rows = await listTimes(page);
  const row = rows.find(([us]) => us === T * 1000);
  assert.ok(row, 'the value at T is listed');
  assert.match(row[1], new RegExp(`\\b0?${hm(T, BROWSER_ZONE)}:00`));

  // My settings: the specification's zones, by name; New York.
  await gotoRoute(page, `${env.url}/#/account`);
  await waitForPage(page, 'account');
  await page.waitForSelector('#profile-form select[name=time_zone] option', { state: 'attached' });
  const options = await page.$$eval('#profile-form select[name=time_zone] option', (os) => os.map((o) => [o.value, o.textContent]));
  assert.equal(options.length, 1 + 52, 'the device\'s zone and the 52 zones of the specification');
  assert.equal(options[0][0], '');
  assert.match(options[0][1], /\+05:45/);
  const ny = options.find(([v]) => v === CHOSEN_ZONE);
  assert.match(ny[1], /Eastern/);
  assert.ok(options.every(([v, text]) => text && !/undefined|null/.test(text) && (v === '' || text.includes('UTC'))));
  await page.selectOption('#profile-form select[name=time_zone]', CHOSEN_ZONE);
  await page.click('#profile-form button[type=submit]');
  await page.waitForFunction(async (z) => (await (await fetch('/api/v1/me')).json()).time_zone === z, CHOSEN_ZONE);
  await shot(page, 'account-zone-pc');

  // The monitor's times move to New York.
  await gotoRoute(page, `${env.url}/#/monitor`);
  await waitForPage(page, 'monitor');
  await page.waitForSelector(`[data-channel="${seed.channels[0]}"] .channel-time`);
  const latest = await page.evaluate(async (id) => {
    const g = await (await fetch('/api/v1/me/group')).json();
    const m = await (await fetch(`/api/v1/groups/${g.group.id}/monitor`)).json();
    for (const a of m.apps) for (const d of a.devices) for (const c of d.channels) if (c.id === id) return c.latest.t / 1000;
    return null;
  }, seed.channels[0]);
  const shown = await page.textContent(`[data-channel="${seed.channels[0]}"] .channel-time`);
  assert.match(shown, new RegExp(`\\b0?${hm(latest, CHOSEN_ZONE)}:`), `monitor time ${shown} in New York`);
  assert.doesNotMatch(shown, new RegExp(`\\b0?${hm(latest, BROWSER_ZONE)}:`));

  // The viewer: range, ticks, inputs and list in New York.
  await gotoRoute(page, `${env.url}/#/viewer?channels=${ch}&from=${from}&to=${to}`);
  await waitForPage(page, 'viewer');
  facts = await chartFacts(page);
  assert.match(facts.range, new RegExp(hm(from, CHOSEN_ZONE)));
  checkTicks(facts, CHOSEN_ZONE);
  assert.equal(facts.input, wall(from, CHOSEN_ZONE));
  assert.match(await page.textContent('.vw-zone'), /Eastern/);
  rows = await listTimes(page);
  assert.match(rows.find(([us]) => us === T * 1000)[1], new RegExp(`\\b0?${hm(T, CHOSEN_ZONE)}:00`));

  // A period typed into the viewer is read in New York.
  await page.click('[data-testid=viewer-mode-graph]');
  await page.fill('#vw-from', wall(T, CHOSEN_ZONE));
  await page.fill('#vw-to', wall(T + 3600000, CHOSEN_ZONE));
  await page.click('[data-testid=viewer-apply]');
  await page.waitForFunction((t0) => new URLSearchParams(location.hash.split('?')[1]).get('from') === String(t0), T);
  await shot(page, 'viewer-zone-pc');
  assert.deepEqual(page.consoleErrors, []);
  await page.context().close();

  // The same on a phone.
  const phone = await openPage(env, { zone: BROWSER_ZONE, size: 'phone390' });
  await signIn(phone, { account: 'acme', user: 'admin', password: PASSWORD });
  await gotoRoute(phone, `${env.url}/#/account`);
  await waitForPage(phone, 'account');
  await phone.waitForSelector('#profile-form select[name=time_zone] option', { state: 'attached' });
  assert.equal(await phone.inputValue('#profile-form select[name=time_zone]'), CHOSEN_ZONE);
  await assertFits(phone, 'account');
  await shot(phone, 'account-zone-phone');
  await phone.context().close();
});

test('the time-zone field is not cut on a PC however long the device\'s zone\'s name, the name said under it', async () => {
  // Australia/Eucla: "Australian Central Western Standard Time (UTC+08:45)", the longest name in several languages.
  for (const lang of ['en-US', 'de-DE', 'zh-CN']) {
    // The user's own language (saved with the zone by the test before) decides, not the browser's.
    const r = await seed.admin.patch('/api/v1/me', { language: lang === 'en-US' ? 'en' : lang.slice(0, 2) === 'de' ? 'de' : 'zh-CN' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const page = await openPage(env, { zone: 'Australia/Eucla', lang });
    await signIn(page, { account: 'acme', user: 'admin', password: PASSWORD });
    for (const route of ['account', 'admin/account']) {
      await gotoRoute(page, `${env.url}/#/${route}`, { route });
      await page.waitForSelector('select[name=time_zone] option', { state: 'attached' });
      const cut = await page.$$eval('select[name=time_zone]', (sels) => {
        const cv = document.createElement('canvas').getContext('2d');
        return sels.flatMap((s) => {
          const cs = getComputedStyle(s);
          cv.font = cs.font;
          const room = s.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
          return [...s.options].filter((o) => cv.measureText(o.textContent).width > room).map((o) => o.textContent);
        });
      });
      assert.deepEqual(cut, [], `${lang} ${route}: options wider than the field`);
    }
    await gotoRoute(page, `${env.url}/#/account`, { route: 'account' });
    await page.waitForSelector('#profile-form select[name=time_zone] option', { state: 'attached' });
    assert.match(await page.textContent('#profile-form select[name=time_zone] option[value=""]'), /\(UTC\+08:45\)|（UTC\+08:45）/);
    // The device's zone by name in the help under the field (it wraps there).
    const help = await page.$eval('#profile-form select[name=time_zone]', (s) => s.closest('.field').textContent);
    assert.match(help, lang === 'en-US' ? /This device is set to Australian Central Western Standard Time \(UTC\+08:45\)/ : /UTC\+08:45/);
    await page.selectOption('#profile-form select[name=time_zone]', '');
    await page.$eval('#profile-form select[name=time_zone]', (s) => s.scrollIntoView({ block: 'center' }));
    await shot(page, `account-zone-device-${lang.slice(0, 2)}-pc`, { fullPage: false });
    assert.deepEqual(page.consoleErrors, []);
    await page.context().close();
  }
  await seed.admin.patch('/api/v1/me', { language: 'en' });
});

test('on a 360 px phone a long zone name is shown in full in the closed field', async () => {
  for (const lang of ['de', 'fr', 'en']) {
    const r = await seed.admin.patch('/api/v1/me', { language: lang });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const page = await openPage(env, { size: { width: 360, height: 740 }, zone: 'UTC' });
    await signIn(page, { account: 'acme', user: 'admin', password: PASSWORD });
    for (const route of ['account', 'admin/account']) {
      // The longest name of the list (Pacific Time in German and French: ~50
      // characters): the field shows it whole, on two lines if it must
      // (ui/form.mjs wrapSelect), with its offset.
      const shown = await longestZoneShown(page, env, route);
      assert.equal(shown.face, shown.label, `${lang} ${route}`);
      assert.equal(shown.cut, false, `${lang} ${route}: cut`);
      assert.match(shown.label, /UTC[−+]\d\d:\d\d/);
      await assertFits(page, `${lang} ${route}`);
      await page.$eval('select[name=time_zone]', (s) => s.scrollIntoView({ block: 'center' }));
      await shot(page, `zone-long-${lang}-${route.replace('/', '-')}-360`, { fullPage: false });
    }
    assert.deepEqual(page.consoleErrors, []);
    await page.context().close();
  }
  await seed.admin.patch('/api/v1/me', { language: 'en' });
});
