// The page of what the gateway apps share (K1-K4; docs/app-share.md) in
// Chromium at 1366×768 and on a 390×844 phone: a battery profile uploaded,
// listed with who uploaded it, downloaded and deleted; a photo-drawing
// template of the current group; an equipment list created from its lines,
// opened and edited; what an app shared shown as the app's; a member with
// file access view sees the lists without the buttons that change them;
// sentences, never codes. In the nginx and cors ways (docs/deploy.md,
// METRON_PORTAL_DEPLOY) only the first test runs: uploads through nginx at
// a sub-path or to another origin with credentials, the download link and
// a delete (preflighted across origins).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startStack, openPage, signIn, waitForPage, shot, assertFits, gotoRoute, SERVER_WAY_ONLY } from './browser.mjs';
import { PASSWORD, seedAccount } from './fixtures.mjs';

let env, seed, viewerId;
before(async () => {
  env = await startStack();
  seed = await seedAccount(env);
  ({ userId: viewerId } = await env.createUser({ accountId: seed.accountId, user: 'viewer', password: PASSWORD, role: 'member', fileAccess: 'view' }));
});
after(async () => { if (env) await env.stop(); });

async function open(size, user = 'admin') {
  const p = await openPage(env, { size });
  await signIn(p, { account: 'acme', user, password: PASSWORD });
  await gotoRoute(p, `${env.url}/#/share`);
  await waitForPage(p, 'share');
  return p;
}

const NO_CODES = /\bnull\b|undefined|\bshare\.[a-z_]+|\b[a-z]+_[a-z_]+\b(?!\.)/;

test('files: upload, list, download, delete', async () => {
  // A Cross app of the account shares a threshold first.
  let r = await seed.admin.post('/api/v1/apps', { kind: 'cross', name: 'Field tablet', group_id: seed.groupId });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  // The app reaches the API where the portal's deploy way puts it (env.apiUrl: a sub-path behind nginx).
  const shared = await fetch(`${env.apiUrl}/api/v1/ingest/app-share/battery-thresholds?name=Lead%2012V`, {
    method: 'POST', body: Buffer.from('thresholds'),
    headers: { authorization: `Bearer ${r.body.credential}`, 'content-type': 'application/octet-stream' } });
  assert.equal(shared.status, 201, await shared.text());

  const page = await open('pc');
  const thresholds = page.locator('[data-testid=share-battery-thresholds]');
  await thresholds.locator('tr', { hasText: 'Lead 12V' }).waitFor();
  assert.match(await thresholds.textContent(), /app Field tablet/);

  // Upload a profile through the dialog.
  await page.click('[data-testid=share-upload-battery-profiles]');
  await page.setInputFiles('dialog input[name=file]', { name: 'li-ion.bprof', mimeType: 'application/octet-stream', buffer: Buffer.from('profile bytes') });
  await page.fill('dialog input[name=name]', 'Li-ion 12V');
  await page.click('dialog button[type=submit]');
  const profiles = page.locator('[data-testid=share-battery-profiles]');
  const row = profiles.locator('tr', { hasText: 'Li-ion 12V' });
  await row.waitFor();
  assert.match(await row.textContent(), /Ada Admin/);
  // The download link, clicked: the API's origin in the cors way (where the
  // link's download attribute does not count: the server's
  // Content-Disposition makes it a download, with the session cookie).
  const [download] = await Promise.all([page.waitForEvent('download'),
    row.locator('[data-testid=share-download]').click()]);
  assert.equal(fs.readFileSync(await download.path(), 'utf8'), 'profile bytes');
  assert.equal(download.suggestedFilename(), 'Li-ion 12V');
  assert.ok(download.url().startsWith(`${env.apiUrl}/api/v1/app-share/battery-profiles/`), download.url());
  // The same name again: the server's sentence in the dialog.
  await page.click('[data-testid=share-upload-battery-profiles]');
  await page.setInputFiles('dialog input[name=file]', { name: 'x', mimeType: 'application/octet-stream', buffer: Buffer.from('x') });
  await page.fill('dialog input[name=name]', 'Li-ion 12V');
  await page.click('dialog button[type=submit]');
  await page.waitForSelector('dialog .form-error:not([hidden])');
  assert.match(await page.textContent('dialog .form-error'), /already in use/);
  await page.click('dialog button:not([type=submit])');
  await page.waitForFunction(() => !document.querySelector('dialog'));

  // A template of the current group.
  await page.click('[data-testid=share-upload-photo-templates]');
  await page.setInputFiles('dialog input[name=file]', { name: 'panel.svg', mimeType: 'image/svg+xml', buffer: Buffer.from('<svg/>') });
  await page.click('dialog button[type=submit]');
  await page.locator('[data-testid=share-photo-templates] tr', { hasText: 'panel.svg' }).waitFor();

  // Delete the profile.
  await row.locator('[data-testid=share-delete]').click();
  await page.click('dialog button.danger');
  await row.waitFor({ state: 'detached' });
  assert.doesNotMatch(await page.textContent('main'), NO_CODES);
  assert.deepEqual(page.consoleErrors, []);
  await page.context().close();
});

test('equipment lists: create, open, edit', SERVER_WAY_ONLY, async () => {
  const page = await open('pc');
  // An equipment list from its lines.
  await page.click('[data-testid=share-new-list]');
  await page.fill('dialog input[name=name]', 'Line 1');
  await page.fill('dialog textarea[name=items]', 'CM4375; 210001; blue case\nBT3554; 220002');
  await page.click('dialog button[type=submit]');
  const lists = page.locator('[data-testid=share-equipment-lists]');
  const lrow = lists.locator('tr', { hasText: 'Line 1' });
  await lrow.waitFor();
  await lrow.locator('[data-testid=share-open-list]').click();
  await page.waitForSelector('dialog table');
  assert.match(await page.textContent('dialog'), /CM4375.*210001.*blue case/s);
  await page.click('dialog .dialog-buttons button');
  await page.waitForFunction(() => !document.querySelector('dialog'));
  await lrow.locator('[data-testid=share-edit-list]').click();
  assert.equal(await page.inputValue('dialog textarea[name=items]'), 'CM4375; 210001; blue case\nBT3554; 220002');
  await page.fill('dialog textarea[name=items]', 'CM4375; 210001; blue case\nBT3554');
  await page.click('dialog button[type=submit]');
  await page.waitForSelector('dialog .form-error:not([hidden])');
  assert.match(await page.textContent('dialog .form-error'), /Serial number/);
  await page.fill('dialog textarea[name=items]', 'PW3365; 9');
  await page.click('dialog button[type=submit]');
  await page.waitForFunction(() => !document.querySelector('dialog'));
  const r = await seed.admin.get('/api/v1/app-share/equipment-lists');
  assert.deepEqual(r.body.items.map((l) => [l.name, l.item_count]), [['Line 1', 1]]);
  await shot(page, 'share-pc');
  assert.doesNotMatch(await page.textContent('main'), NO_CODES);
  assert.deepEqual(page.consoleErrors, []);
  await page.context().close();
});

test('an equipment list an app wrote (line breaks, semicolons, backslashes) is kept as it was when a person renames it', SERVER_WAY_ONLY, async () => {
  const items = [
    { model: 'CM;4375', serial: 'S\\1', note: 'first line\nsecond; with semicolon' },
    { model: 'BT3554', serial: '2', note: '' },
  ];
  let r = await seed.admin.post('/api/v1/app-share/equipment-lists', { name: 'From the app', items });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const id = r.body.id;
  const page = await open('pc');
  const lrow = page.locator('[data-testid=share-equipment-lists] tr', { hasText: 'From the app' });
  await lrow.waitFor();
  await lrow.locator('[data-testid=share-edit-list]').click();
  assert.equal(await page.inputValue('dialog textarea[name=items]'),
    'CM\\;4375; S\\\\1; first line\\nsecond; with semicolon\nBT3554; 2');
  await page.fill('dialog input[name=name]', 'From the app (renamed)');
  await page.click('dialog button[type=submit]');
  await page.waitForFunction(() => !document.querySelector('dialog'));
  r = await seed.admin.get(`/api/v1/app-share/equipment-lists/${id}`);
  assert.equal(r.body.name, 'From the app (renamed)');
  assert.deepEqual(r.body.items, items);
  assert.deepEqual(page.consoleErrors, []);
  await page.context().close();
});

test('a member with file access view and a view grant on the group sees, without the buttons, the reasons said; the phone fits', SERVER_WAY_ONLY, async () => {
  const r = await seed.admin.put(`/api/v1/groups/${seed.groupId}/access`, { users: [{ user_id: viewerId, access: 'view' }], teams: [] });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const page = await open('phone390', 'viewer');
  await page.locator('[data-testid=share-battery-thresholds] tr', { hasText: 'Lead 12V' }).waitFor();
  // The group's template is listed (view grant) without the buttons the server would refuse.
  await page.locator('[data-testid=share-photo-templates] tr', { hasText: 'panel.svg' }).waitFor();
  await page.locator('[data-testid=share-equipment-lists] tr', { hasText: 'Line 1' }).waitFor();
  assert.equal(await page.locator('[data-testid=share-upload-battery-profiles]').count(), 0);
  assert.equal(await page.locator('[data-testid=share-upload-photo-templates]').count(), 0);
  assert.equal(await page.locator('[data-testid=share-new-list]').count(), 0);
  assert.equal(await page.locator('[data-testid=share-delete]').count(), 0);
  assert.equal(await page.locator('[data-testid=share-edit-list]').count(), 0);
  // Why, in sentences: the drive access for the account's files and lists, the group's grant for its templates.
  assert.match(await page.textContent('[data-testid=share-why-photo-templates]'), /view access to this measurement group.*edit access/);
  assert.match(await page.textContent('[data-testid=share-why-account]'), /only view the shared files and lists.*“View and edit”/);
  await assertFits(page, 'share');
  await shot(page, 'share-phone', { fullPage: false });
  assert.deepEqual(page.consoleErrors, []);
  await page.context().close();
});
