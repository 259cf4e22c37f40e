// The portal as its users see it, in English, Chinese and German (the
// language of the longest words), on a PC and a 390×844 phone:
//   - every page: nothing wider than the window, every control with a name
//     a screen reader can say, no catalogue key or snake_case code among
//     the words, no table with two columns of the same heading;
//   - My settings names each session's browser and system ("Chrome 131 on
//     Windows"), the header itself only in the tooltip;
//   - Account and plan: each limit's use as a bar under its name; on a phone
//     a card per limit with the plans' values side by side;
//   - the monitor's channel names wrap on a phone instead of being cut, its
//     status line's parts one to a line; help's instruments a short card each.
// Screenshots go to build/portal-shots/ (scripts/portal-review-shots.mjs).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, openPage, signIn, gotoRoute, shot, portalModule } from './browser.mjs';
import { PASSWORD, seedAccount } from './fixtures.mjs';
import { defects } from './defects.mjs';

const PAGES = ['monitor', 'dashboards', 'viewer', 'drive', 'computed', 'alarms', 'alarms/events', 'reports',
  'notifications', 'account', 'inquiries', 'help', 'admin/account', 'admin/users', 'admin/teams', 'admin/groups',
  'admin/apps', 'admin/devices', 'admin/channels', 'admin/security', 'admin/audit', 'admin/recipients',
  'admin/destinations', 'admin/inquiries', 'share'];

// The languages the apps' actions are checked in at 1366 px.
const LOOK_LANGS = (process.env.LOOK_LANGS || 'es-ES,de-DE').split(',');

let env;
let seed;
before(async () => {
  env = await startStack();
  seed = await seedAccount(env);
  const r = await seed.admin.post('/api/v1/teams', { name: 'Night shift', member_ids: [seed.userId] });
  assert.equal(r.status, 201, JSON.stringify(r.body));
});
after(async () => { if (env) await env.stop(); });

async function signedIn({ size = 'pc', lang = 'en-US' } = {}) {
  // A profile without a language, so that the browser's is shown (a sign-in
  // in another language than the account's records it in the profile).
  assert.equal((await seed.admin.patch('/api/v1/me', { language: null })).status, 200);
  const page = await openPage(env, { size, lang });
  await signIn(page, { account: 'acme', user: 'admin', password: PASSWORD });
  return page;
}

for (const [lang, size] of [['en-US', 'pc'], ['zh-CN', 'phone390'], ['de-DE', 'phone390'], ['de-DE', 'pc']]) {
  test(`every page in ${lang} on ${size === 'pc' ? 'a PC' : 'a 390×844 phone'}: fits, every control named, words not codes`, async () => {
    const page = await signedIn({ size, lang });
    const found = [];
    for (const p of PAGES) {
      await gotoRoute(page, `${env.url}/#/${p}`, { route: p });
      for (const d of await defects(page)) found.push(`${p}: ${d}`);
    }
    assert.deepEqual(found, []);
    assert.deepEqual(page.consoleErrors, []);
    await page.context().close();
  });
}

test('teams: the members and their number under headings of their own', async () => {
  const page = await signedIn();
  await gotoRoute(page, `${env.url}/#/admin/teams`, { route: 'admin/teams' });
  const heads = await page.$$eval('#main table th', (ths) => ths.map((th) => th.textContent.trim()));
  assert.deepEqual(heads.slice(0, 3), ['Name', 'Members', 'Number of members']);
  assert.match(await page.textContent('#main table tbody tr'), /Ada Admin/);
  await page.context().close();
  const phone = await signedIn({ size: 'phone390', lang: 'de-DE' });
  await gotoRoute(phone, `${env.url}/#/admin/teams`, { route: 'admin/teams' });
  const labels = await phone.$$eval('#main table tbody tr:first-child td', (tds) => tds.map((td) => td.dataset.label));
  assert.deepEqual(labels.slice(0, 3), ['Name', 'Mitglieder', 'Anzahl der Mitglieder']);
  await shot(phone, 'teams-phone', { fullPage: false });
  await phone.context().close();
});

test('My settings: each session\'s browser and system in words, the header in the tooltip', async () => {
  for (const [lang, want] of [['en-US', /^Chrome \d+ on Linux$/], ['zh-CN', /^Linux 上的 Chrome \d+$/], ['de-DE', /^Chrome \d+ unter Linux$/]]) {
    const page = await signedIn({ size: lang === 'en-US' ? 'pc' : 'phone390', lang });
    await gotoRoute(page, `${env.url}/#/account`, { route: 'account' });
    const cell = page.locator('[data-testid=session-browser]').first();
    assert.match((await cell.textContent()).trim(), want);
    assert.match(await cell.getAttribute('title'), /^Mozilla\/5\.0 .*Chrome\/\d+/);
    assert.equal(await page.locator('#main td:has-text("Mozilla/5.0")').count(), 0, 'no header as text');
    if (lang === 'en-US') {
      await page.locator('[data-testid=session-browser]').first().scrollIntoViewIfNeeded();
      await shot(page, 'account-sessions-pc', { fullPage: false });
    }
    await page.context().close();
  }
});

test('Account and plan: each limit\'s use as a bar; on a phone the plans\' values side by side', async () => {
  const page = await signedIn();
  await gotoRoute(page, `${env.url}/#/admin/account`, { route: 'admin/account' });
  const storage = page.locator('[data-testid=usage-P2]');
  assert.equal(await storage.evaluate((m) => m.tagName), 'METER');
  const apps = page.locator('[data-testid=usage-P3]');
  assert.equal(await apps.getAttribute('value'), '1');
  assert.equal(await apps.getAttribute('max'), '100');
  assert.equal(await apps.getAttribute('aria-label'), 'Registered apps: 1% of the limit used');
  assert.match(await storage.getAttribute('aria-label'), /: < 1% of the limit used$/);
  await shot(page, 'account-usage-pc', { fullPage: false });
  // The storage used reads as the drive says bytes (i18n.mjs formatBytes), its bar holding the same number.
  const used = (await page.locator('#main tr:has([data-testid=usage-P2]) td').nth(1).textContent()).trim();
  const asDrive = await page.evaluate(async ([u, n]) => (await import(u)).formatBytes(n),
    [await portalModule(page, 'js/i18n.mjs'), Number(await storage.getAttribute('value'))]);
  assert.equal(used, asDrive);
  await page.context().close();

  const phone = await signedIn({ size: 'phone390', lang: 'de-DE' });
  await gotoRoute(phone, `${env.url}/#/admin/account`, { route: 'admin/account' });
  // A card per limit: its name across the top, the values side by side under it, each with its label.
  const tables = phone.locator('#main table.across');
  assert.equal(await tables.count(), 2);
  const plans = tables.nth(1);
  const row = await plans.locator('tbody tr').nth(2).evaluate((tr) => [...tr.children].map((td) => {
    const r = td.getBoundingClientRect();
    return { text: td.textContent.trim(), label: getComputedStyle(td, '::before').content, top: Math.round(r.top), left: r.left, right: r.right,
      fits: td.scrollWidth <= td.clientWidth + 1 };
  }));
  assert.equal(row[0].text, 'Registrierte Apps');
  assert.deepEqual(row.slice(1).map((c) => [c.label, c.text]),
    [['"Trial"', '2'], ['"Free"', '3'], ['"Standard"', '10'], ['"Pro · Ihrer"', '100']]);
  assert.ok(row.slice(1).every((c) => c.top === row[1].top && c.top > row[0].top), `one line under the name: ${JSON.stringify(row)}`);
  assert.ok(row.every((c) => c.left >= 0 && c.right <= 390 && c.fits), JSON.stringify(row));
  // A plan without a licence term is free of charge, said in German (it said "Free", the plan's name).
  const term = await plans.locator('tbody tr').last().evaluate((tr) => [...tr.children].map((td) => td.textContent.trim()));
  assert.deepEqual(term, ['Lizenzlaufzeit', 'Kostenlos', 'Kostenlos', '1 / 3 / 12', '1 / 3 / 12']);
  const usage = await tables.nth(0).locator('tbody tr').first().evaluate((tr) => tr.getBoundingClientRect().height);
  assert.ok(usage < 110, `a limit's use in one short card (${usage} px)`);
  // Every bar as long as the others: a shorter one would read as less used.
  const widths = await phone.$$eval('#main .usage-meter', (ms) => ms.map((m) => Math.round(m.getBoundingClientRect().width)));
  assert.ok(widths.length >= 5 && widths.every((w) => w === widths[0] && w > 200), JSON.stringify(widths));
  await plans.scrollIntoViewIfNeeded();
  await shot(phone, 'account-plans-phone', { fullPage: false });
  await phone.context().close();
});

test('monitor on a phone: channel names wrap, none is cut; the status line without dangling dots', async () => {
  await seed.admin.patch(`/api/v1/channels/${seed.channels[0]}`, { name: 'Return water temperature boiler 1' });
  const page = await signedIn({ size: 'phone390', lang: 'de-DE' });
  await gotoRoute(page, `${env.url}/#/monitor`, { route: 'monitor' });
  const names = await page.$$eval('.channel-name', (els) => els.map((e) => ({ text: e.textContent,
    cut: e.scrollWidth > e.clientWidth + 1, right: e.getBoundingClientRect().right, box: e.parentElement.getBoundingClientRect().right })));
  assert.ok(names.length >= 4);
  assert.ok(names.some((n) => n.text === 'Return water temperature boiler 1 · CH1'), JSON.stringify(names));
  for (const n of names) {
    assert.equal(n.cut, false, `${n.text} is cut`);
    assert.ok(n.right <= n.box, `${n.text} stays in its tile`);
  }
  // Each tile's name at its top, however tall the row (a button centres its content).
  const offsets = await page.$$eval('.channel', (els) => els.map((e) => Math.round(e.querySelector('.channel-name').getBoundingClientRect().top - e.getBoundingClientRect().top)));
  assert.ok(offsets.length >= 4 && offsets.every((o) => o === offsets[0]), JSON.stringify(offsets));
  // The status line's parts each on a line, no dot left at a line's end.
  assert.equal(await page.locator('.monitor-status .sep:visible').count(), 0);
  await shot(page, 'monitor-names-phone');
  await page.context().close();
});

test('help on a phone: each supported instrument a short card, its model over the four facts side by side', async () => {
  const page = await signedIn({ size: 'phone390', lang: 'de-DE' });
  await gotoRoute(page, `${env.url}/#/help`, { route: 'help' });
  const rows = await page.$$eval('[data-testid=help-models] tbody tr', (trs) => trs.map((tr) => {
    const cells = [...tr.children].map((td) => td.getBoundingClientRect());
    return { model: tr.children[0].textContent.trim(),
      oneLine: cells.slice(1).every((r) => Math.round(r.top) === Math.round(cells[1].top) && r.top > cells[0].top),
      inside: cells.every((r) => r.left >= 0 && r.right <= window.innerWidth),
      // A heading or value wider than its cell would run over the next one.
      fits: [...tr.children].every((td) => td.scrollWidth <= td.clientWidth + 1) };
  }));
  await page.locator('[data-testid=help-models]').scrollIntoViewIfNeeded();
  await shot(page, 'help-models-phone', { fullPage: false });
  assert.ok(rows.length >= 10, `${rows.length} instruments`);
  for (const r of rows) assert.ok(r.oneLine && r.inside && r.fits, `${r.model}: ${JSON.stringify(r)}`);
  await page.context().close();
  // In Chinese the links to pages after the steps stay whole (a line broke 应 / 用, 离 / 线文件查看器).
  const zh = await signedIn({ size: 'phone390', lang: 'zh-CN' });
  await gotoRoute(zh, `${env.url}/#/help`, { route: 'help' });
  const links = await zh.$$eval('#main .steps a, [data-testid=help-offline]', (as) => as.map((a) => [a.textContent, a.getClientRects().length]));
  assert.equal(links.length, 5);
  assert.deepEqual(links.filter(([, n]) => n !== 1), []);
  await zh.context().close();
});

test('a new computed channel or alarm says what to type without an error\'s red; a mistake once typed is red', async () => {
  const page = await signedIn({ size: 'phone390', lang: 'de-DE' });
  await gotoRoute(page, `${env.url}/#/computed?new=1`, { route: 'computed' });
  const exprState = async () => page.waitForFunction(() => {
    const e = document.querySelector('[data-testid=computed-check]');
    return e && e.dataset.ok !== undefined && e.textContent ? e.className : false;
  }).then((h) => h.jsonValue());
  assert.equal(await exprState(), 'expr-state hint');
  assert.match(await page.textContent('[data-testid=computed-check]'), /zum Beispiel \(CH1\+CH2\)\/2/);
  await shot(page, 'computed-new-phone');
  await page.fill('[data-testid=computed-expression]', 'CH1+');
  await page.waitForSelector('[data-testid=computed-check].bad');

  await gotoRoute(page, `${env.url}/#/alarms?new=1`, { route: 'alarms' });
  await page.waitForSelector('[data-testid=alarm-editor]');
  const rule = () => page.$eval('[data-testid=alarm-rule-state]', (e) => ({ cls: e.className, ok: e.dataset.ok,
    invalid: document.querySelectorAll('[data-testid=alarm-editor] .invalid').length }));
  await page.waitForFunction(() => document.querySelector('[data-testid=alarm-rule-state]')?.dataset.ok === 'false');
  assert.deepEqual(await rule(), { cls: 'expr-state hint', ok: 'false', invalid: 0 });
  await shot(page, 'alarm-new-phone', { fullPage: false });
  // Typed, then emptied: now a mistake, red, the field marked.
  await page.fill('[data-testid=alarm-cond1-value]', '5');
  await page.waitForSelector('[data-testid=alarm-rule-state].ok');
  await page.fill('[data-testid=alarm-cond1-value]', '');
  await page.waitForSelector('[data-testid=alarm-rule-state].bad');
  assert.ok((await rule()).invalid >= 1);
  await page.context().close();

  // Saving the untouched form shows the mistake in red too.
  const again = await signedIn();
  await gotoRoute(again, `${env.url}/#/alarms?new=1`, { route: 'alarms' });
  await again.waitForSelector('[data-testid=alarm-editor]');
  await again.fill('[data-testid=alarm-name]', 'Hot');
  assert.equal(await again.getAttribute('[data-testid=alarm-rule-state]', 'class'), 'expr-state hint');
  await again.click('[data-testid=alarm-save]');
  await again.waitForSelector('[data-testid=alarm-rule-state].bad');
  await again.context().close();
});

test('dialogs and editors in French and Japanese on a phone: fit, named, in words; a mistake says why there is no preview', async () => {
  for (const lang of ['fr-FR', 'ja-JP']) {
    const page = await signedIn({ size: 'phone390', lang });
    const found = [];
    const look = async (what) => { for (const d of await defects(page)) found.push(`${lang} ${what}: ${d}`); };
    await gotoRoute(page, `${env.url}/#/alarms?new=1`, { route: 'alarms' });
    await page.waitForSelector('[data-testid=alarm-editor]');
    await look('alarm editor');
    await gotoRoute(page, `${env.url}/#/computed?new=1`, { route: 'computed' });
    await page.fill('[data-testid=computed-expression]', 'SQR(CH1+');
    await page.waitForSelector('[data-testid=computed-check].bad');
    // At once, not after the pause the preview of a valid expression waits for.
    assert.notEqual((await page.textContent('[data-testid=computed-preview-info]')).trim(), '');
    await look('computed editor with a mistake');
    await gotoRoute(page, `${env.url}/#/dashboards`, { route: 'dashboards' });
    await page.click('[data-testid=dash-new]');
    await page.fill('dialog input[name=name]', `Look ${lang}`);
    await page.click('dialog button[type=submit]');
    await page.waitForSelector('[data-testid=dash-grid][data-painted=true]');
    await page.click('[data-testid=dash-arrange]');
    // Its status line one part to a line, no dot left at a line's end (Italian wrapped after it).
    assert.equal(await page.locator('.dash-status .sep:visible').count(), 0);
    await page.click('[data-testid=dash-add]');
    await page.waitForSelector('[data-testid=panel-form]');
    await look('add-panel dialog');
    // Bytes read as the other units, a space before the unit ("0 o", not "0o").
    const bytes = await page.evaluate(async (u) => (await import(u)).formatBytes(0), await portalModule(page, 'js/i18n.mjs'));
    assert.match(bytes, /^0\s\S+$/u, bytes);
    assert.deepEqual(found, []);
    assert.deepEqual(page.consoleErrors, []);
    await page.context().close();
  }
});

test('a new account without a measurement group: each group page and the viewer say there is none yet and, to an administrator, where to create one', async () => {
  await env.createAccount({ account: 'newco', plan: 'pro', user: 'admin', password: PASSWORD, userName: 'Nina New' });
  const page = await openPage(env, { size: 'phone390', lang: 'es-ES' });
  await signIn(page, { account: 'newco', user: 'admin', password: PASSWORD });
  // The viewer too: its channel picker would be empty (it offered one).
  for (const p of ['monitor', 'dashboards', 'alarms', 'computed', 'reports', 'viewer']) {
    await gotoRoute(page, `${env.url}/#/${p}`, { route: p });
    assert.match(await page.textContent('[data-testid=no-groups]'), /^Esta cuenta aún no tiene ningún grupo de medición\./, p);
    assert.equal(await page.getAttribute('[data-testid=no-groups] a', 'href'), '#/admin/groups', p);
    assert.equal(await page.locator('[data-testid=no-group]').count(), 0, p);
  }
  await shot(page, 'no-groups-phone', { fullPage: false });
  await page.context().close();
});

test('the apps at 1366 px: every action of a row in view, without scrolling the table sideways', async () => {
  for (const lang of LOOK_LANGS) {
    const page = await signedIn({ lang });
    await gotoRoute(page, `${env.url}/#/admin/apps`, { route: 'admin/apps' });
    const cut = await page.$$eval('#main .table-wrap', (wraps) => wraps.flatMap((w) => {
      const box = w.getBoundingClientRect();
      return [...w.querySelectorAll('button')].filter((b) => b.getBoundingClientRect().right > box.right + 1).map((b) => b.textContent);
    }));
    assert.deepEqual(cut, [], lang);
    await page.context().close();
  }
});
