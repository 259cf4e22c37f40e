// The pages for what the server could do without one (issue 18, item 1), in
// Chromium at 1366×768 and on a 390×844 phone: an app's credential on
// creation, on renewal and when there is none yet; channel management
// (add, rename, unit, acquire, delete); the IP allow-list; the audit log
// with its filters, in sentences; Web API tokens (make with a name, last
// use, revoke); help and about (version, instrument table, offline viewer).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, openPage, signIn, waitForPage, shot, assertFits, request, gotoRoute, afterRender, waitRendered } from './browser.mjs';
import { PASSWORD, seedAccount } from './fixtures.mjs';

let env, seed;
before(async () => {
  env = await startStack();
  seed = await seedAccount(env);
  // An app registered without a credential (as the demo's are).
  await env.psql(`INSERT INTO apps (account_id, group_id, kind, name) VALUES (${seed.accountId}, ${seed.groupId}, 'one', 'Bare gateway')`);
  await env.createAccount({ account: 'stdco', plan: 'standard', user: 'admin', password: PASSWORD, userName: 'Stan Dard' });
});
after(async () => { if (env) await env.stop(); });

async function open(size, page) {
  const p = await openPage(env, { size });
  await signIn(p, { account: 'acme', user: 'admin', password: PASSWORD });
  await gotoRoute(p, `${env.url}/#/${page}`);
  await waitForPage(p, page.split('?')[0]);
  return p;
}

const NO_CODES = /\bnull\b|undefined|\bP\d{1,2}\b|[a-z]+_[a-z_]+\.|\b[a-z]+\.[a-z_]+_[a-z_]+\b/;

test('apps: the credential is shown on creation and on renewal; an app without one says so', async () => {
  const page = await open('pc', 'admin/apps');
  await page.waitForSelector('table.table');
  const bare = page.locator('tr', { hasText: 'Bare gateway' });
  assert.equal(await bare.locator('[data-testid=app-credential-prefix]').textContent(), 'No credential yet');
  assert.doesNotMatch(await page.textContent('table.table'), /null/);
  await bare.locator('button', { hasText: 'Make a credential' }).click();
  const cred = page.locator('[data-testid=app-credential]');
  await cred.waitFor();
  const first = await cred.textContent();
  assert.match(first, /^mta_[A-Za-z0-9_-]{43}$/);
  assert.match(await page.textContent('dialog'), /gateway app's settings/);
  await page.click('dialog .dialog-buttons button');
  await page.waitForFunction(() => !document.querySelector('dialog'));
  await page.waitForFunction((p) => [...document.querySelectorAll('tr')].some((tr) => /Bare gateway/.test(tr.textContent)
    && tr.querySelector('[data-testid=app-credential-prefix]')?.textContent === p), `${first.slice(0, 12)}…`);
  // Renewal asks first, then shows the new one once.
  await page.locator('tr', { hasText: 'Bare gateway' }).locator('button', { hasText: 'New credential' }).click();
  await page.click('dialog button.danger');
  await cred.waitFor();
  assert.notEqual(await cred.textContent(), first);
  await shot(page, 'apps-credential-pc');
  // The old credential no longer works, the new one does.
  const ingest = async (c) => (await request(env.apiUrl, 'GET', '/api/v1/ingest/channels', { headers: { authorization: `Bearer ${c}` } })).status;
  assert.equal(await ingest(first), 401);
  assert.equal(await ingest(await cred.textContent()), 200);
  assert.deepEqual(page.consoleErrors, []);
  await page.context().close();
});

test('channels: add, rename, change the unit, acquire and delete', async () => {
  for (const size of ['pc', 'phone390']) {
    const page = await open(size, `admin/channels?device=${seed.deviceId}`);
    await page.waitForSelector('[data-testid=channels-table]');
    // LR8450 direct on Pro: 1,000 (P11).
    assert.match(await page.textContent('[data-testid=channels-count]'), /3 of 1,000 selected/);
    if (size === 'phone390') { await assertFits(page, 'channels'); await shot(page, 'channels-phone', { fullPage: false }); await page.context().close(); continue; }
    // Add.
    await page.click('[data-testid=channel-add]');
    await page.fill('dialog input[name=key]', 'CH9 bad');
    await page.fill('dialog input[name=name]', 'Humidity hall');
    await page.click('dialog button[type=submit]');
    await page.waitForSelector('dialog .form-error:not([hidden])');
    assert.match(await page.textContent('dialog .form-error'), /Key/);
    await page.fill('dialog input[name=key]', 'CH9');
    await page.fill('dialog input[name=unit]', '%RH');
    await page.click('dialog button[type=submit]');
    await page.waitForSelector('tr[data-key=CH9]');
    // Rename and change the unit.
    await page.click('tr[data-key=CH9] [data-testid=channel-edit]');
    await page.fill('dialog input[name=name]', 'Humidity, hall 2');
    await page.fill('dialog input[name=unit]', '% RH');
    await page.click('dialog button[type=submit]');
    await page.waitForFunction(() => /Humidity, hall 2/.test(document.querySelector('tr[data-key=CH9]')?.textContent || ''));
    assert.match(await page.textContent('tr[data-key=CH9]'), /% RH/);
    // Acquire it.
    await page.check('[data-testid=acquire-CH9]');
    assert.match(await page.textContent('[data-testid=channels-count]'), /4 of 1,000/);
    await page.click('[data-testid=channels-save-selection]');
    await page.waitForFunction(() => /4 of 1,000 selected/.test(document.querySelector('[data-testid=channels-count]').textContent)
      && document.querySelector('[data-testid=channels-save-selection]').disabled);
    const r = await seed.admin.get(`/api/v1/devices/${seed.deviceId}/channels`);
    const ch9 = r.body.items.find((c) => c.key === 'CH9');
    assert.deepEqual([ch9.name, ch9.unit, ch9.selected], ['Humidity, hall 2', '% RH', true]);
    await shot(page, 'channels-pc');
    // Decimals: how the monitor (and the chart's legend, the lists) show the values.
    await page.click('tr[data-key=CH1] [data-testid=channel-edit]');
    await page.selectOption('dialog select[name=decimals]', '2');
    await page.click('dialog button[type=submit]');
    await page.waitForFunction(() => document.querySelector('tr[data-key=CH1] [data-testid=channel-decimals]')?.textContent === '2');
    assert.equal((await seed.admin.get(`/api/v1/channels/${seed.channels[0]}`)).body.decimals, 2);
    await gotoRoute(page, `${env.url}/#/monitor`);
    await page.waitForSelector(`[data-channel="${seed.channels[0]}"] [data-testid=channel-value]`);
    assert.equal(await page.textContent(`[data-channel="${seed.channels[0]}"] [data-testid=channel-value]`), '12.50');
    await gotoRoute(page, `${env.url}/#/admin/channels?device=${seed.deviceId}`);
    await page.waitForSelector('tr[data-key=CH9]');
    // Delete.
    await page.click('tr[data-key=CH9] [data-testid=channel-delete]');
    await page.click('dialog button.danger');
    await page.waitForSelector('tr[data-key=CH9]', { state: 'detached' });
    assert.deepEqual(page.consoleErrors, []);
    await page.context().close();
  }
});

test('teams: with none yet, the page says what a team is for and how to make one', async () => {
  assert.deepEqual((await seed.admin.get('/api/v1/teams')).body.teams, []);
  const page = await open('pc', 'admin/teams');
  const empty = await page.textContent('main p.empty');
  assert.match(empty, /A team gathers users/);
  assert.match(empty, /New team/);
  assert.doesNotMatch(empty, /Nothing here yet/);
  assert.deepEqual(page.consoleErrors, []);
  await page.context().close();
});

test('teams: the description shown under the name, written and changed where the name is', async () => {
  for (const size of ['pc', 'phone390']) {
    const name = `Night shift ${size}`;
    const page = await open(size, 'admin/teams');
    await page.waitForSelector('[data-testid=crud-add]');
    await page.click('[data-testid=crud-add]');
    await page.fill('dialog input[name=name]', name);
    assert.match(await page.textContent('dialog [data-field=description]'), /What the team is for/);
    await page.fill('dialog textarea[name=description]', 'Covers the furnaces from 22:00 to 06:00 <b>and</b> the weekend alarms.');
    await afterRender(page, () => page.click('dialog button[type=submit]'), { route: 'admin/teams' });
    const row = page.locator('table.table tr', { hasText: name });
    // Text, never markup.
    assert.equal(await row.locator('[data-testid=team-description]').textContent(),
      'Covers the furnaces from 22:00 to 06:00 <b>and</b> the weekend alarms.');
    const team = (await seed.admin.get('/api/v1/teams')).body.teams.find((x) => x.name === name);
    assert.equal(team.description, 'Covers the furnaces from 22:00 to 06:00 <b>and</b> the weekend alarms.');
    // Edited in the same dialog as the name; emptied, the line goes.
    await row.locator('button', { hasText: 'Edit' }).click();
    assert.equal(await page.inputValue('dialog textarea[name=description]'), team.description);
    await page.fill('dialog textarea[name=description]', 'Furnaces, 22:00 to 06:00.');
    await afterRender(page, () => page.click('dialog button[type=submit]'), { route: 'admin/teams' });
    assert.equal(await page.locator('table.table tr', { hasText: name }).locator('[data-testid=team-description]').textContent(),
      'Furnaces, 22:00 to 06:00.');
    if (size === 'phone390') await assertFits(page, 'teams');
    await shot(page, `teams-description-${size}`);
    await page.locator('table.table tr', { hasText: name }).locator('button', { hasText: 'Edit' }).click();
    await page.fill('dialog textarea[name=description]', '');
    await afterRender(page, () => page.click('dialog button[type=submit]'), { route: 'admin/teams' });
    assert.equal(await page.locator('table.table tr', { hasText: name }).locator('[data-testid=team-description]').count(), 0);
    assert.equal((await seed.admin.get(`/api/v1/teams/${team.id}`)).body.description, '');
    assert.deepEqual(page.consoleErrors, []);
    await page.context().close();
  }
});

test('IP allow-list: lines checked as typed, my address added, the list stored; below Pro a sentence', async () => {
  const page = await open('pc', 'admin/security');
  await page.waitForSelector('[data-testid=allow-list-text]');
  assert.match(await page.textContent('[data-testid=allow-list-state]'), /Every address may sign in/);
  await page.fill('[data-testid=allow-list-text]', '10.1.2.3/8\n300.1.1.1\n2001:db8::/32');
  assert.match(await page.textContent('[data-testid=allow-list-check]'), /“300\.1\.1\.1” is not an address or a network/);
  await page.click('[data-testid=allow-list-save]');
  assert.match(await page.textContent('[data-testid=allow-list-error]'), /Correct the lines/);
  // Without my own address the server refuses it: I would be locked out.
  await page.fill('[data-testid=allow-list-text]', '10.1.2.3/8');
  await page.click('[data-testid=allow-list-save]');
  await page.waitForSelector('[data-testid=allow-list-error]:not([hidden])');
  assert.match(await page.textContent('[data-testid=allow-list-error]'), /locked out/);
  await page.click('[data-testid=allow-list-add-mine]');
  await page.click('[data-testid=allow-list-save]');
  await page.waitForFunction(() => /limited to 2/.test(document.querySelector('[data-testid=allow-list-state]').textContent));
  // Stored as networks, in the server's order.
  assert.deepEqual((await page.inputValue('[data-testid=allow-list-text]')).split('\n').sort(), ['10.0.0.0/8', '127.0.0.1/32']);
  await shot(page, 'security-pc');
  await page.fill('[data-testid=allow-list-text]', '');
  await page.click('[data-testid=allow-list-save]');
  await page.waitForFunction(() => /Every address/.test(document.querySelector('[data-testid=allow-list-state]').textContent));
  await page.context().close();

  const std = await openPage(env, { size: 'phone390' });
  await signIn(std, { account: 'stdco', user: 'admin', password: PASSWORD });
  await gotoRoute(std, `${env.url}/#/admin/security`);
  await std.waitForSelector('[data-testid=allow-list-refused]');
  const text = await std.textContent('[data-testid=allow-list-refused]');
  assert.match(text, /Standard plan does not include IP address restriction/);
  assert.doesNotMatch(text, NO_CODES);
  await assertFits(std, 'security');
  await shot(std, 'security-standard-phone');
  await std.context().close();
});

test('audit log: sentences, filtered by user, kind of action and time', async () => {
  // A member signs in too, so that there are two people in the log.
  await seed.admin.post('/api/v1/users', { login_id: 'mia', name: 'Mia Member', password: 'Mia-passw0rd', role: 'member' });
  await env.login({ account: 'acme', user: 'mia', password: 'Mia-passw0rd' });
  // A Cross app uploads a battery profile with its own credential: audited under the app's name.
  let r = await seed.admin.post('/api/v1/apps', { kind: 'cross', name: 'Line gateway' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  r = await request(env.apiUrl, 'POST', '/api/v1/ingest/app-share/battery-profiles?name=Li-ion%2012V',
    { body: Buffer.from('cells=6'), headers: { authorization: `Bearer ${r.body.credential}`, 'content-type': 'application/octet-stream' } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  // A console session's entry (server/mqtt/console_svc.c writes it while an instrument is operated;
  // the console's own tests drive one through the broker).
  await env.psql(`INSERT INTO audit_log (account_id, actor_kind, user_id, action, target_type, target_id)
    VALUES (${seed.accountId}, 'user', ${seed.userId}, 'console.open', 'device', ${seed.deviceId})`);
  // Items by their names now (the server's target_name), never their database numbers: a
  // channel deleted since (the entry kept no name), a dashboard deleted since (it kept its name).
  await env.psql(`INSERT INTO audit_log (account_id, actor_kind, user_id, action, target_type, target_id, detail)
    VALUES (${seed.accountId}, 'user', ${seed.userId}, 'channel.delete', 'channel', 2000000000, '{}'),
      (${seed.accountId}, 'user', ${seed.userId}, 'dashboard.delete', 'dashboard', 2000000001, '{"name": "Old board"}')`);
  const deviceName = (await env.psql(`SELECT name FROM devices WHERE id = ${seed.deviceId}`)).trim();
  for (const size of ['pc', 'phone390']) {
    const page = await open(size, 'admin/audit');
    await page.waitForSelector('[data-testid=audit-list] table');
    const text = await page.textContent('[data-testid=audit-list]');
    assert.match(text, /Signed in/);
    assert.match(text, /Created a user/);
    const appRow = page.locator('[data-testid=audit-list] tr', { has: page.locator('[data-action="app_share.file.upload"]') });
    assert.match(await appRow.textContent(), /The gateway app “Line gateway”.*Uploaded a file shared with the apps.*Battery profile “Li-ion 12V”/);
    assert.doesNotMatch(text, /auth\.login|user\.create|NULL|undefined/);
    const rowOf = async (action) => page.locator('[data-testid=audit-list] tr', { has: page.locator(`[data-action="${action}"]`) }).first().textContent();
    assert.match(await rowOf('console.open'), new RegExp(`Instrument “${deviceName}”`));
    assert.match(await rowOf('channel.delete'), /Channel, since deleted/);
    assert.match(await rowOf('dashboard.delete'), /Dashboard “Old board”, since deleted/);
    assert.doesNotMatch(text, /no\. \d|2000000000/, 'no database numbers');
    if (size === 'phone390') { await assertFits(page, 'audit'); await shot(page, 'audit-phone', { fullPage: false }); await page.context().close(); continue; }
    // Only Mia: her sign-in, nothing of the administrator's.
    const mia = await page.$eval('[data-testid=audit-user]', (s) => [...s.options].find((o) => /mia/.test(o.textContent)).value);
    await page.selectOption('[data-testid=audit-user]', mia);
    // The page draws the new list after the hash changed: wait for that
    // render (the router's mark), not for the table that was there before.
    const apply = () => afterRender(page, () => page.click('[data-testid=audit-apply]'), { route: 'admin/audit' });
    await apply();
    assert.ok(await page.evaluate(() => location.hash.includes('user=')));
    let actions = await page.$$eval('[data-testid=audit-list] [data-action]', (es) => es.map((e) => e.dataset.action));
    assert.deepEqual([...new Set(actions)], ['auth.login']);
    // The gateway apps' own changes: every app, or the one by its name.
    const lineApp = await page.$eval('[data-testid=audit-user]', (s) => [...s.options].find((o) => o.textContent === 'The gateway app “Line gateway”').value);
    for (const w of ['app', lineApp]) {
      await page.selectOption('[data-testid=audit-user]', w);
      await apply();
      assert.ok(await page.evaluate(() => /actor=app|app=\d/.test(location.hash)));
      actions = await page.$$eval('[data-testid=audit-list] [data-action]', (es) => es.map((e) => e.dataset.action));
      if (w === lineApp) assert.deepEqual(actions, ['app_share.file.upload']);
      else assert.ok(actions.includes('app_share.file.upload'), actions.join());
      const whos = await page.$$eval('[data-testid=audit-list] tbody tr', (rs) => rs.map((r) => r.cells[1].textContent));
      assert.ok(whos.every((x) => x.startsWith('The gateway app “')), whos.join());
    }
    await shot(page, 'audit-apps-pc');
    // Users' changes only, by anyone.
    await page.selectOption('[data-testid=audit-user]', '');
    await page.selectOption('[data-testid=audit-area]', 'user');
    await apply();
    assert.ok(await page.evaluate(() => location.hash.includes('area=user')));
    actions = await page.$$eval('[data-testid=audit-list] [data-action]', (es) => es.map((e) => e.dataset.action));
    assert.ok(actions.length > 0 && actions.every((a) => a.startsWith('user.')), actions.join());
    // The console's operations have an area of their own (audited since migration 073).
    assert.ok(await page.$eval('[data-testid=audit-area]', (s) => [...s.options].some((o) => o.value === 'console' && o.textContent === 'Console')));
    await page.selectOption('[data-testid=audit-area]', 'console');
    await apply();
    actions = await page.$$eval('[data-testid=audit-list] [data-action]', (es) => es.map((e) => e.dataset.action));
    assert.deepEqual(actions, ['console.open']);
    assert.match(await page.textContent('[data-testid=audit-list]'), /Opened an instrument’s console to operate it/);
    await page.selectOption('[data-testid=audit-area]', 'user');
    await apply();
    await shot(page, 'audit-pc');
    // A period before anything happened: nothing.
    await page.fill('[data-testid=audit-from]', '2001-01-01T00:00');
    await page.fill('[data-testid=audit-to]', '2001-01-02T00:00');
    await apply();
    assert.match(await page.textContent('[data-testid=audit-list]'), /No entries match/);
    assert.deepEqual(page.consoleErrors, []);
    await page.context().close();
  }
});

test('Web API tokens: made with a name and the password, shown once, listed with their last use, revoked', async () => {
  const page = await open('pc', 'account');
  await page.waitForSelector('[data-testid=token-new]');
  await page.click('[data-testid=token-new]');
  await page.fill('[data-testid=token-name]', 'Nightly export script');
  await page.fill('[data-testid=token-password]', 'wrong-Passw0rd');
  await page.click('[data-testid=token-create]');
  await page.waitForSelector('[data-testid=token-error]:not([hidden])');
  assert.match(await page.textContent('[data-testid=token-error]'), /password is not right/);
  assert.equal(await page.locator('#signin-form').count(), 0, 'still signed in');
  await page.fill('[data-testid=token-password]', PASSWORD);
  await page.click('[data-testid=token-create]');
  const secret = (await page.locator('[data-testid=token-secret]').textContent()).trim();
  assert.match(secret, /^[A-Za-z0-9_-]{43}$/);
  await shot(page, 'token-made-pc', { fullPage: false });
  await page.click('[data-testid=token-done]');
  await page.waitForFunction(() => /Nightly export script/.test(document.querySelector('[data-testid=tokens-panel]').textContent));
  // Use it once: the list shows when.
  const r = await request(env.apiUrl, 'GET', '/api/v1/me', { headers: { authorization: `Bearer ${secret}` } });
  assert.equal(r.status, 200);
  await page.reload();
  await waitRendered(page, { route: 'account' });
  const row = page.locator('[data-testid=tokens-panel] tr', { hasText: 'Nightly export script' });
  assert.doesNotMatch(await row.textContent(), /Never/);
  await row.locator('[data-testid=token-revoke]').click();
  await page.click('dialog button.danger');
  await page.waitForFunction(() => /You have no tokens/.test(document.querySelector('[data-testid=tokens-panel]').textContent));
  assert.equal((await request(env.apiUrl, 'GET', '/api/v1/me', { headers: { authorization: `Bearer ${secret}` } })).status, 401);
  assert.deepEqual(page.consoleErrors, []);
  await page.context().close();

  const std = await openPage(env, { size: 'phone390' });
  await signIn(std, { account: 'stdco', user: 'admin', password: PASSWORD });
  await gotoRoute(std, `${env.url}/#/account`);
  await std.waitForSelector('[data-testid=tokens-refused]');
  assert.match(await std.textContent('[data-testid=tokens-refused]'), /Standard plan does not include Web API/);
  await assertFits(std, 'account');
  await std.context().close();
});

test('help and about: version, the supported instruments, the references and the offline viewer', async () => {
  for (const size of ['pc', 'phone390']) {
    const page = await open(size, 'help');
    await page.waitForSelector('[data-testid=help-models] table');
    assert.match(await page.textContent('[data-testid=help-version]'), /^\d+\.\d+\.\d+/);
    assert.match(await page.textContent('[data-testid=help-api]'), /\/api\/v1/);
    assert.match(await page.textContent('[data-testid=help-server]'), /running, and it reaches its database/);
    const models = await page.textContent('[data-testid=help-models]');
    for (const m of ['LR8450', 'PQ3100', 'LR8410']) assert.match(models, new RegExp(m));
    assert.doesNotMatch(models, /null|undefined|lr8450-direct/);
    assert.equal(await page.getAttribute('[data-testid=help-offline]', 'href'), 'offline.html');
    // The references are there to download.
    // (The links are absolute: relative to the portal's modules, wherever it is hosted.)
    const api = await request(env.url, 'GET', await page.$eval('[data-testid=help-openapi]', (a) => a.href));
    assert.equal(api.status, 200);
    assert.match(api.body.openapi, /^3\./);
    assert.ok(api.body.paths['/me/tokens/{id}']);
    const ingest = await request(env.url, 'GET', await page.$eval('[data-testid=help-ingest]', (a) => a.href));
    assert.equal(ingest.status, 200);
    assert.match(String(ingest.body), /ingest\/batches/);
    if (size === 'phone390') await assertFits(page, 'help');
    await shot(page, `help-${size}`, { fullPage: false });
    // The navigation has the offline viewer, opening in a new tab.
    if (size === 'pc') {
      assert.equal(await page.getAttribute('a.nav-link[data-page=offline]', 'href'), 'offline.html');
      assert.equal(await page.getAttribute('a.nav-link[data-page=offline]', 'target'), '_blank');
    }
    assert.deepEqual(page.consoleErrors, []);
    await page.context().close();
  }
});
