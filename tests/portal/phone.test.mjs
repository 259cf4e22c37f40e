// Every main page at a PC size (1366x768) and a phone size (375x667, I3):
// no horizontal scrolling on the phone, the navigation folds away behind the
// menu button, no console errors and no CSP refusals, a column of sentences
// (td.prose) read from the left in the cards; screenshots of each page at
// both sizes go to build/portal-shots/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startStack, openPage, signIn, waitForPage, shot, scrollWidth, portalDir, gotoRoute } from './browser.mjs';
import { PASSWORD, seedAccount } from './fixtures.mjs';

const PAGES = ['monitor', 'dashboards', 'computed', 'notifications', 'account', 'inquiries', 'help', 'admin/account', 'admin/users',
  'admin/teams', 'admin/groups', 'admin/apps', 'admin/devices', 'admin/channels', 'admin/security', 'admin/audit',
  'admin/recipients', 'admin/inquiries'];
// The viewer engineer's pages, once the route table (pages/index.mjs) loads them.
const index = fs.readFileSync(path.join(portalDir, 'js', 'pages', 'index.mjs'), 'utf8');
for (const p of ['viewer', 'drive']) {
  if (new RegExp(`import\\('\\./${p}\\.mjs'\\)`).test(index)) PAGES.splice(1, 0, p);
}

let env;
before(async () => {
  env = await startStack();
  const seed = await seedAccount(env);
  // A team, so the teams page has a card whose members are a line of names.
  const r = await seed.admin.post('/api/v1/teams', { name: 'Night shift', member_ids: [seed.userId] });
  assert.equal(r.status, 201, JSON.stringify(r.body));
});
after(async () => { if (env) await env.stop(); });

/**
 * Every sentence cell (td.prose, ui/table.mjs) on the page: its text-align and
 * how far its text starts from the card's left edge (right-aligned, a short
 * sentence started far to the right of its label).
 */
const proseCells = (page) => page.$$eval('#main td.prose', (tds) => tds.map((td) => {
  const range = document.createRange();
  range.selectNodeContents(td);
  return [td.dataset.label, getComputedStyle(td).textAlign,
    Math.round(range.getBoundingClientRect().left - td.getBoundingClientRect().left)];
}));

for (const size of ['pc', 'phone']) {
  test(`every main page at the ${size} size: fits, no console or CSP errors, a screenshot`, async () => {
    const page = await openPage(env, { size });
    await page.waitForSelector('#signin-form');
    await shot(page, `signin-${size}`);
    if (size === 'phone') assert.ok(await scrollWidth(page) <= 375, 'sign-in fits');
    await signIn(page, { account: 'acme', user: 'admin', password: PASSWORD });
    for (const p of PAGES) {
      await gotoRoute(page, `${env.url}/#/${p}`);
      await waitForPage(page, p);
      // Drawn (waitForPage waited for the rendered mark): the page's heading is there.
      await page.waitForSelector('#main .view h1');
      await shot(page, `${p.replace('/', '-')}-${size}`);
      if (size === 'phone') {
        const w = await scrollWidth(page);
        assert.ok(w <= 375, `${p}: document.documentElement.scrollWidth ${w} > 375`);
        // In the cards a column of sentences (the audit log's What and Concerning, a team's
        // members) reads from the left under its label, like the page's other text.
        if (p === 'admin/audit' || p === 'admin/teams') {
          const cells = await proseCells(page);
          assert.ok(cells.length >= (p === 'admin/audit' ? 4 : 1), `${p}: ${JSON.stringify(cells)}`);
          assert.ok(cells.every(([, align, dx]) => ['left', 'start'].includes(align) && dx <= 16), `${p}: ${JSON.stringify(cells)}`);
        }
      }
    }
    if (size === 'phone') {
      // The navigation is folded away and opens from the menu button.
      assert.equal(await page.isVisible('a.nav-link[data-page=monitor]'), false);
      await page.click('#nav-toggle');
      await page.waitForSelector('a.nav-link[data-page=monitor]', { state: 'visible' });
      await shot(page, 'nav-open-phone');
      await page.click('a.nav-link[data-page=notifications]');
      await waitForPage(page, 'notifications');
      await page.waitForSelector('a.nav-link[data-page=monitor]', { state: 'hidden' });
      // A form dialog fits too.
      await gotoRoute(page, `${env.url}/#/admin/users`);
      await waitForPage(page, 'admin/users');
      await page.click('[data-testid=crud-add]');
      await page.waitForSelector('dialog form');
      await shot(page, 'user-form-phone');
      assert.ok(await scrollWidth(page) <= 375, 'the dialog fits');
    }
    assert.deepEqual(page.cspErrors, []);
    assert.deepEqual(page.consoleErrors, []);
    await page.context().close();
  });
}
