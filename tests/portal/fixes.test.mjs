// The fixes of issue 18, item 4, in Chromium: a mistyped code while enrolling
// two-step verification is refused and the user stays signed in; the Users
// table keeps Edit and Delete in view at 1366 px; a name clash in a drive
// dialog keeps the dialog and what was typed; refusals are sentences without
// internal codes; the plan-change form preselects nothing. The set-up key of
// an authenticator app is shown in groups of four that never break (Japanese
// and German on a 390 px phone) and copied without spaces.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, openPage, signIn, waitForPage, shot, assertFits, gotoRoute } from './browser.mjs';
import { PASSWORD, totp } from './fixtures.mjs';

let env;
before(async () => {
  env = await startStack();
  await env.createAccount({ account: 'acme', plan: 'pro', user: 'admin', password: PASSWORD,
    email: 'admin@acme.example.test', userName: 'Ada Admin' });
  const c = await env.login({ account: 'acme', user: 'admin', password: PASSWORD });
  // Users with long names and addresses: the table must still show its actions.
  for (let i = 1; i <= 4; i++) {
    const r = await c.post('/api/v1/users', {
      login_id: `engineer.number.${i}@plant-${i}.example.test`, name: `Maximiliane Schwarzenberg-Oberhausen ${i}`,
      email: `maximiliane.schwarzenberg-oberhausen.${i}@instrumentation-department.example.test`,
      password: `Long-passw0rd-${i}`, role: i === 1 ? 'admin' : 'member', file_access: 'edit', two_step: 'email',
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
  }
});
after(async () => { if (env) await env.stop(); });

test('a mistyped code while enrolling two-step verification is refused; the user stays signed in', async () => {
  const page = await openPage(env);
  await signIn(page, { account: 'acme', user: 'admin', password: PASSWORD });
  await gotoRoute(page, `${env.url}/#/account`);
  await waitForPage(page, 'account');
  await page.click('[data-testid=totp-enrol]');
  await page.waitForSelector('[data-testid=totp-qr]');
  const secret = (await page.textContent('[data-testid=totp-secret]')).replace(/\s/g, '');
  const good = totp(secret);
  const wrong = good === '000000' ? '111111' : '000000';
  await page.fill('#totp-code', wrong);
  await page.click('#totp-form button[type=submit]');
  await page.waitForSelector('#totp-form .form-error:not([hidden])');
  assert.match(await page.textContent('#totp-form .form-error'), /not right/);
  // Still signed in, on the same page, with the dialog open.
  assert.equal(await page.locator('#signin-form').count(), 0);
  assert.equal(await page.getAttribute('#main', 'data-page'), 'account');
  assert.equal(await page.evaluate(async () => (await fetch('/api/v1/auth/session')).status), 200);
  // The right code then turns it on.
  await page.fill('#totp-code', good);
  await page.click('#totp-form button[type=submit]');
  await page.waitForSelector('#totp-form', { state: 'detached' });
  await page.waitForFunction(() => /Authenticator/.test(document.querySelector('[data-testid=two-step-mode]').textContent));
  const off = await page.evaluate(async () => (await fetch('/api/v1/me/two-step', { method: 'PUT',
    headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': sessionStorage.getItem('metron.csrf') },
    body: JSON.stringify({ mode: 'off' }) })).status);
  assert.equal(off, 200);
  assert.deepEqual(page.consoleErrors, []);
  await page.context().close();
});

test('the Users table keeps every row\'s actions in view at 1366 px', async () => {
  const page = await openPage(env);
  await signIn(page, { account: 'acme', user: 'admin', password: PASSWORD });
  await gotoRoute(page, `${env.url}/#/admin/users`);
  await waitForPage(page, 'admin/users');
  await page.waitForSelector('table.table tbody tr:nth-child(5)');
  const box = await page.evaluate(() => {
    const wrap = document.querySelector('.table-wrap');
    const buttons = [...document.querySelectorAll('table.table tbody td.actions button')];
    return {
      scroll: wrap.scrollWidth - wrap.clientWidth,
      right: Math.max(...buttons.map((b) => b.getBoundingClientRect().right)),
      count: buttons.length,
      edits: buttons.filter((b) => b.textContent === 'Edit').length,
      deletes: buttons.filter((b) => b.textContent === 'Delete').length,
    };
  });
  assert.equal(box.scroll, 0, 'the table needs no horizontal scrolling');
  assert.ok(box.right <= 1366, `the last button ends at ${box.right} px`);
  assert.equal(box.edits, 5);
  assert.equal(box.deletes, 4, 'every user but oneself can be deleted');
  await shot(page, 'users-pc');
  await page.context().close();
});

test('a name clash in a drive dialog is shown in the dialog, which keeps what was typed', async () => {
  const page = await openPage(env);
  await signIn(page, { account: 'acme', user: 'admin', password: PASSWORD });
  await gotoRoute(page, `${env.url}/#/drive`);
  await waitForPage(page, 'drive');
  const newFolder = async (name) => {
    await page.click('[data-testid=drive-new-folder]');
    await page.fill('[data-testid=drive-name-input]', name);
    await page.click('dialog[open] .dialog-buttons button.primary');
  };
  await newFolder('Reports');
  await page.waitForFunction(() => !document.querySelector('dialog[open]'));
  await page.waitForSelector('tr[data-name="Reports"]');
  await newFolder('reports');
  await page.waitForSelector('[data-testid=drive-name-error]:not([hidden])');
  assert.match(await page.textContent('[data-testid=drive-name-error]'), /already in use/);
  assert.equal(await page.inputValue('[data-testid=drive-name-input]'), 'reports');
  assert.equal(await page.locator('dialog[open]').count(), 1);
  await shot(page, 'drive-name-clash-pc');
  await page.fill('[data-testid=drive-name-input]', 'Reports 2025');
  await page.click('dialog[open] .dialog-buttons button.primary');
  await page.waitForFunction(() => !document.querySelector('dialog[open]'));
  await page.waitForSelector('tr[data-name="Reports 2025"]');
  // Renaming onto a taken name: the same.
  await page.click('tr[data-name="Reports 2025"] [data-testid=drive-rename]');
  await page.fill('[data-testid=drive-name-input]', 'REPORTS');
  await page.click('dialog[open] .dialog-buttons button.primary');
  await page.waitForSelector('[data-testid=drive-name-error]:not([hidden])');
  assert.equal(await page.inputValue('[data-testid=drive-name-input]'), 'REPORTS');
  await page.click('dialog[open] .dialog-buttons button:not(.primary)');
  await page.waitForFunction(() => !document.querySelector('dialog[open]'));
  assert.deepEqual(page.consoleErrors, []);
  await page.context().close();
});

test('the plan-change form of a Pro account preselects nothing and does not offer Pro', async () => {
  for (const size of ['pc', 'phone390']) {
    const page = await openPage(env, { size });
    await signIn(page, { account: 'acme', user: 'admin', password: PASSWORD });
    await gotoRoute(page, `${env.url}/#/admin/account`);
    await waitForPage(page, 'admin/account');
    await page.waitForSelector('#plan-form select[name=plan]');
    assert.equal(await page.inputValue('#plan-form select[name=plan]'), '');
    const offered = await page.$$eval('#plan-form select[name=plan] option', (os) => os.map((o) => o.value));
    assert.deepEqual(offered, ['', 'free', 'standard']);
    assert.equal(await page.locator('#plan-form select[name=months]').count(), 0, 'no term from Pro');
    // Submitting without a choice asks for one and changes nothing.
    await page.click('#plan-form button[type=submit]');
    await page.waitForSelector('#plan-form .form-error:not([hidden])');
    assert.equal(await page.locator('dialog[open]').count(), 0);
    // The usage and plan tables name quotas in words, without their codes.
    const text = await page.textContent('#main');
    assert.doesNotMatch(text, /\(P\d+\)|\bP\d{1,2}\b/);
    assert.match(text, /Registered apps/);
    if (size === 'phone390') await assertFits(page, 'admin/account');
    await shot(page, `account-plan-${size}`, { fullPage: false });
    await page.context().close();
  }
});

test('the set-up key of an authenticator app: groups of four kept on one line at 390 px (Japanese, German); Copy copies it without spaces', async () => {
  const admin = await env.login({ account: 'acme', user: 'admin', password: PASSWORD });
  const r = await admin.post('/api/v1/users', { login_id: 'key.reader', name: 'Key Reader', email: 'key.reader@acme.example.test',
    password: PASSWORD, role: 'member', file_access: 'edit' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const me = await env.login({ account: 'acme', user: 'key.reader', password: PASSWORD });
  for (const [lang, locale, copy] of [['ja', 'ja-JP', 'コピー'], ['de', 'de-DE', 'Kopieren']]) {
    // The profile's language, so that the page is in it whatever the browser records.
    assert.equal((await me.patch('/api/v1/me', { language: lang })).status, 200);
    const page = await openPage(env, { size: 'phone390', lang: locale });
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: env.url });
    await signIn(page, { account: 'acme', user: 'key.reader', password: PASSWORD });
    await gotoRoute(page, `${env.url}/#/account`);
    await waitForPage(page, 'account');
    await page.click('[data-testid=totp-enrol]');
    await page.waitForSelector('[data-testid=totp-qr]');
    const shown = (await page.textContent('[data-testid=totp-secret]')).trim();
    assert.match(shown, /^[A-Z2-7]{4}( [A-Z2-7]{4}){7}$/, lang);
    // Every group on one line (one box), and no line holds less than a group.
    const groups = await page.$$eval('[data-testid=totp-secret] .nobreak', (ss) => ss.map((s) => [s.textContent, s.getClientRects().length]));
    assert.equal(groups.length, 8);
    for (const [g, boxes] of groups) assert.equal(boxes, 1, `${lang}: the group ${g} breaks`);
    await page.locator('[data-testid=totp-secret]').scrollIntoViewIfNeeded();
    await assertFits(page, `totp ${lang}`);
    await shot(page, `totp-key-${lang}-phone390`, { fullPage: false });
    assert.equal(await page.textContent('[data-testid=totp-secret-copy]'), copy);
    await page.click('[data-testid=totp-secret-copy]');
    await page.waitForFunction(() => document.querySelector('[data-testid=totp-secret-copy] + [role=status]').textContent !== '');
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), shown.replace(/ /g, ''));
    await page.click('#totp-form .form-buttons button[type=button]');
    await page.waitForSelector('#totp-form', { state: 'detached' });
    await page.context().close();
  }
});
