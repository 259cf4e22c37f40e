// Administration in Chromium: a quota refusal names the limit and the plan
// (P3 on Free), an app's credential is shown once, users are created through
// the generic form, and names with HTML are shown as text.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, openPage, signIn, waitForPage, gotoRoute, afterRender } from './browser.mjs';
import { PASSWORD } from './fixtures.mjs';

const XSS = '<img src=x onerror=alert(1)>';
let env;
before(async () => {
  env = await startStack();
  await env.createAccount({ account: 'freeco', plan: 'free', user: 'admin', password: PASSWORD, userName: 'Fred Free' });
  const c = await env.login({ account: 'freeco', user: 'admin', password: PASSWORD });
  for (let i = 1; i <= 3; i++) {
    const r = await c.post('/api/v1/apps', { kind: 'one', name: `App ${i}` });
    assert.equal(r.status, 201);
  }
  await env.createAccount({ account: 'evil', plan: 'pro', user: 'admin', password: PASSWORD, userName: XSS });
  const e = await env.login({ account: 'evil', user: 'admin', password: PASSWORD });
  assert.equal((await e.post('/api/v1/groups', { name: XSS })).status, 201);
  assert.equal((await e.post('/api/v1/teams', { name: `${XSS} team` })).status, 201);
});
after(async () => { if (env) await env.stop(); });

test('a Free account adding a 4th app sees a message naming the limit (3) and the plan', async () => {
  const page = await openPage(env);
  await signIn(page, { account: 'freeco', user: 'admin', password: PASSWORD });
  await gotoRoute(page, `${env.url}/#/admin/apps`);
  await waitForPage(page, 'admin/apps');
  await page.waitForSelector('table.table');
  assert.equal(await page.locator('table.table tbody tr').count(), 3);
  await page.click('[data-testid=crud-add]');
  await page.fill('dialog input[name=name]', 'App 4');
  await page.click('dialog button[type=submit]');
  const err = page.locator('dialog .form-error:not([hidden])');
  await err.waitFor();
  const text = await err.textContent();
  assert.match(text, /Free/);
  assert.match(text, /\b3\b/);
  assert.match(text, /registered apps/);
  assert.doesNotMatch(text, /P3|plan_limit/, 'no internal code');
  assert.deepEqual(page.consoleErrors, []);
  await page.context().close();
});

test('registering an app shows its credential once; users are created through the form', async () => {
  const page = await openPage(env);
  await signIn(page, { account: 'evil', user: 'admin', password: PASSWORD });
  await gotoRoute(page, `${env.url}/#/admin/apps`);
  await waitForPage(page, 'admin/apps');
  await page.click('[data-testid=crud-add]');
  await page.fill('dialog input[name=name]', 'Roof gateway');
  await page.click('dialog button[type=submit]');
  const cred = page.locator('[data-testid=app-credential]');
  await cred.waitFor();
  assert.match(await cred.textContent(), /^mta_[A-Za-z0-9_-]{43}$/);
  // Closing the dialog reloads the list: wait for that render, not for the table before it.
  await afterRender(page, () => page.click('dialog .dialog-buttons button'), { route: 'admin/apps' });
  assert.equal(await page.locator('[data-testid=app-credential]').count(), 0);
  assert.match(await page.textContent('table.table'), /Roof gateway/);

  await gotoRoute(page, `${env.url}/#/admin/users`);
  await waitForPage(page, 'admin/users');
  await page.click('[data-testid=crud-add]');
  await page.fill('dialog input[name=login_id]', 'bob');
  await page.fill('dialog input[name=name]', 'Bob Member');
  await page.fill('dialog input[name=password]', 'short');
  await page.click('dialog button[type=submit]');
  await page.locator('dialog .form-error:not([hidden])').waitFor();
  assert.match(await page.textContent('dialog .form-error'), /at least 8 characters/);
  await page.fill('dialog input[name=password]', 'Bob-passw0rd');
  await page.click('dialog button[type=submit]');
  await page.waitForSelector('dialog', { state: 'detached' });
  await page.waitForFunction(() => /Bob Member/.test(document.querySelector('table.table').textContent));
  assert.deepEqual(page.consoleErrors, []);
  await page.context().close();
});

test('names with HTML are shown as text, never as markup', async () => {
  const page = await openPage(env);
  let alerted = false;
  page.on('dialog', async (d) => { alerted = true; await d.dismiss(); });
  await signIn(page, { account: 'evil', user: 'admin', password: PASSWORD });
  await waitForPage(page, 'monitor');
  // The header: the user's name and the group selector.
  assert.equal(await page.textContent('#user-button .user-name'), XSS);
  assert.equal(await page.locator('#group-select option').first().textContent(), XSS);
  for (const p of ['monitor', 'admin/users', 'admin/groups', 'admin/teams']) {
    await gotoRoute(page, `${env.url}/#/${p}`);
    await waitForPage(page, p);
  }
  await gotoRoute(page, `${env.url}/#/admin/teams`);
  await page.waitForSelector('table.table');
  assert.match(await page.textContent('table.table'), /<img src=x onerror=alert\(1\)> team/);
  await gotoRoute(page, `${env.url}/#/admin/users`);
  await page.waitForSelector('table.table');
  assert.match(await page.textContent('table.table'), /<img src=x onerror=alert\(1\)>/);
  // No element came out of the names: every <img> is one of the portal's own.
  const imgs = await page.evaluate(() => [...document.querySelectorAll('img')].map((i) => i.getAttribute('src')));
  assert.ok(imgs.every((s) => s !== 'x'), JSON.stringify(imgs));
  assert.equal(alerted, false);
  assert.deepEqual(page.cspErrors, []);
  await page.context().close();
});

test('the own logo uploads from a file and appears in the header (G7, P22)', async () => {
  const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');
  const page = await openPage(env);
  await signIn(page, { account: 'evil', user: 'admin', password: PASSWORD });
  // The portal's own logo, found relative to its modules (docs/deploy.md).
  const own = await page.$eval('#logo', (i) => i.src);
  assert.ok(own.startsWith(`${env.url}/`) && own.endsWith('/css/logo.svg'), own);
  await gotoRoute(page, `${env.url}/#/admin/account`);
  await waitForPage(page, 'admin/account');
  // The file chooser in the portal's words (ui/file_pick.mjs), not the browser's
  // "Choose File / No file chosen", which speaks the browser's language.
  const pick = page.locator('.field:has(#logo-file) .file-pick');
  assert.equal(await pick.locator('button').textContent(), 'Choose a file…');
  assert.equal(await pick.locator('.file-pick-name').textContent(), 'No file chosen');
  assert.equal(await page.$eval('#logo-file', (i) => i.getBoundingClientRect().width <= 1), true);
  await page.setInputFiles('#logo-file', { name: 'logo.png', mimeType: 'image/png', buffer: png });
  assert.equal(await pick.locator('.file-pick-name').textContent(), 'logo.png');
  // The upload redraws the page and the header: wait for that render.
  await afterRender(page, () => page.click('[data-testid=logo-upload]'), { route: 'admin/account' });
  await page.waitForFunction((u) => document.querySelector('#logo').src.startsWith(u), `${env.apiUrl || env.url}/api/v1/account/logo?`);
  // The header shows the uploaded image (1 x 1 px) once it has loaded.
  await page.waitForFunction(() => {
    const img = document.querySelector('#logo');
    return img.complete && img.naturalWidth === 1;
  });
  // Not an image: refused with a sentence. (The form above is the redrawn
  // one, with the uploaded logo's preview in it; check the file is in the
  // input before clicking, so the click does not meet an emptied input.)
  await page.waitForSelector('img.logo-preview');
  await page.setInputFiles('#logo-file', { name: 'x.png', mimeType: 'image/png', buffer: Buffer.from('<svg/>') });
  await page.waitForFunction(() => document.querySelector('#logo-file')?.files?.length === 1);
  await page.click('[data-testid=logo-upload]');
  await page.locator('[data-testid=logo-error]:not([hidden])').waitFor();
  assert.match(await page.textContent('[data-testid=logo-error]'), /PNG, JPEG, GIF or WebP/);
  await page.context().close();
});

test('a trial is upgraded from the account page and its user signs in with the new account ID (L4, L7)', async () => {
  await env.createAccount({ plan: 'trial', user: 'tina@trial.example.test', email: 'tina@trial.example.test', password: PASSWORD });
  const page = await openPage(env);
  await signIn(page, { email: 'tina@trial.example.test', password: PASSWORD });
  await gotoRoute(page, `${env.url}/#/admin/account`);
  await waitForPage(page, 'admin/account');
  assert.equal(await page.textContent('[data-testid=account-plan]'), 'Trial');
  await page.fill('#upgrade-form input[name=login_id]', 'tinaco');
  await page.selectOption('#upgrade-form select[name=plan]', 'free');
  await page.click('#upgrade-form button[type=submit]');
  await page.click('dialog button[data-value=true]');
  await page.waitForSelector('#signin-form');
  await signIn(page, { account: 'tinaco', user: 'tina@trial.example.test', password: PASSWORD });
  await gotoRoute(page, `${env.url}/#/admin/account`);
  await waitForPage(page, 'admin/account');
  await page.waitForSelector('[data-testid=account-plan]');
  assert.equal(await page.textContent('[data-testid=account-plan]'), 'Free');
  assert.deepEqual(page.consoleErrors, []);
  await page.context().close();
});
