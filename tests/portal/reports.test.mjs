// Reports in the portal (issue 15: T1, T2, P17) and the check of a drive
// file against the alarms (issue 13, item 4), in Chromium against the real
// server and its report worker: settings made in the editor (channels incl.
// a computed one, in the chosen order; the group's time zone shown), a
// report made by hand for a past day, followed while it is made, done, its
// PDF downloaded and its files found in the drive; the plan's template limit
// said as a sentence; a run that fails (the storage quota full) told in
// words and tried again; a HOK2 file checked against an alarm, its events
// linked to the alarm history; the pages at 390×844 and in seven languages.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startStack, openPage, signIn, waitForPage, shot, assertFits, request, sleep, gotoRoute, docShot, openSignedIn, portalModule } from './browser.mjs';
import { PASSWORD, seedAccount } from './fixtures.mjs';
import { appClient, MIN_US } from '../server/data_helpers.mjs';
import { makeHok2 } from './make_hok2.mjs';

const DAY_US = 86400e6;
let env, seed, computedId, tmp;

before(async () => {
  env = await startStack({ env: {
    // The report worker looks often and holds a run "being made" a moment,
    // so that the page can be seen following it.
    METRON_REPORT_POLL_MS: '300',
    METRON_REPORT_TEST_STALL_MS: '2500',
    // Back-offs of 1, 5, 30 and 120 minutes: the test moves the server's clock past them.
    METRON_REPORT_RETRY_S: '60',
  } });
  seed = await seedAccount(env, { plan: 'standard' });
  await seed.admin.patch('/api/v1/account', { time_zone: 'Asia/Tokyo' });
  let r = await seed.admin.post(`/api/v1/apps/${seed.appId}/credentials`, {});
  const ingest = appClient(env.apiUrl || env.url, r.body.credential);
  // Three days of one-minute samples of CH1-CH3, ending an hour ago.
  const end = Date.now() * 1000 - 3600e6;
  const t0 = end - (end % MIN_US) - 3 * DAY_US;
  for (let i = 0; i < 3 * 1440; i += 1440) {
    const ts = Array.from({ length: 1440 }, (_, j) => t0 + (i + j) * MIN_US);
    r = await ingest.batch({ batch_id: `rp-${i}`, channels: seed.channels.slice(0, 3).map((id, k) => ({
      id, t: ts, v: ts.map((_, j) => Math.round((20 + k + 5 * Math.sin((i + j) / 200 + k)) * 100) / 100) })) });
    assert.ok(r.status < 300, r.text);
  }
  r = await seed.admin.post(`/api/v1/groups/${seed.groupId}/computed`, { name: 'Mean 1-2', unit: '°C',
    expression: '(CH1+CH2)/2', inputs: [seed.channels[0], seed.channels[1]] });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  computedId = r.body.id;
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'metron-reports-ui-'));
});
after(async () => {
  if (env) await env.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

async function open(route, opts = {}) {
  const page = await openSignedIn(env, route, PASSWORD, opts);
  await waitForPage(page, route.split('?')[0].replace(/\/\d+$/, ''));
  return page;
}

const storage = (bytes) => request(env.srv.url, 'POST', '/api/v1/test/storage', { body: { account_id: seed.accountId, data_bytes: bytes } });

/** The state of run "id" on the page, and its sentence. */
const runState = (page, id) => page.evaluate((rid) => {
  const cell = document.querySelector(`[data-run="${rid}"]`);
  return cell ? { state: cell.querySelector('[data-testid=run-state]').dataset.state,
    sentence: cell.querySelector('[data-testid=run-sentence]').textContent,
    progress: cell.closest('tr').querySelectorAll('progress').length,
    step: cell.querySelector('[data-testid=run-progress]')?.dataset.step || null,
    stepText: cell.querySelector('[data-testid=run-step]')?.textContent || null } : null;
}, id);

let reportId;

test('a report set up in the editor, made by hand for a past day, followed until done, downloaded and found in the drive', async () => {
  const page = await open('reports');
  await page.waitForSelector('[data-testid=report-quota]');
  assert.equal(await page.textContent('[data-testid=report-quota]'), '0 of 3 report templates of this group used (Standard plan).');
  assert.match(await page.textContent('#main'), /This group has no reports yet/);
  await page.click('[data-testid=report-new]');
  await page.waitForSelector('[data-testid=report-editor]');
  // The group's time zone is the account's: Tokyo.
  assert.match(await page.textContent('[data-testid=report-zone]'), /Periods start at midnight in the group's time zone: .*\(UTC\+09:00\)/);
  // Nothing chosen: each mistake is a sentence at its field.
  await page.uncheck('[data-testid=report-summary]');
  await page.selectOption('[data-testid=report-charts]', 'none');
  await page.uncheck('[data-testid=report-alarms]');
  await page.uncheck('[data-format=pdf]');
  await page.fill('[data-testid=report-name]', 'Boiler/house');
  await page.click('[data-testid=report-save]');
  assert.equal(await page.textContent('[data-testid=report-err-name]'), 'A name cannot contain / or \\, control characters, or start or end with a space.');
  assert.equal(await page.textContent('[data-testid=report-err-channels]'), 'Choose at least one channel.');
  assert.match(await page.textContent('[data-testid=report-err-contents]'), /Choose at least one part of the contents/);
  assert.equal(await page.textContent('[data-testid=report-err-formats]'), 'Choose at least one kind of file.');
  // Filled in: a week, three channels (the computed one first), every block, Japanese, three formats.
  await page.fill('[data-testid=report-name]', 'Boiler house');
  await page.click('[data-testid=report-period-week]');
  assert.match(await page.textContent('[data-testid=report-zone]'), /A week runs from Monday to Sunday/);
  await page.click('[data-testid=report-period-day]');
  for (const id of [seed.channels[0], seed.channels[1], computedId]) await page.check(`[data-testid=report-channels] input[data-channel="${id}"]`);
  assert.equal(await page.textContent('[data-testid=report-channel-count]'), '3 of 32 chosen');
  await page.click(`[data-testid=report-chosen] li[data-channel="${computedId}"] button[aria-label^="Move Mean 1-2 up"]`);
  await page.click(`[data-testid=report-chosen] li[data-channel="${computedId}"] button[aria-label^="Move Mean 1-2 up"]`);
  assert.deepEqual(await page.$$eval('[data-testid=report-chosen] li', (l) => l.map((x) => Number(x.dataset.channel))),
    [computedId, seed.channels[0], seed.channels[1]]);
  await page.check('[data-testid=report-summary]');
  await page.selectOption('[data-testid=report-charts]', 'overlaid');
  await page.check('[data-testid=report-alarms]');
  for (const f of ['pdf', 'xlsx', 'csv']) await page.check(`[data-format=${f}]`);
  await page.selectOption('[data-testid=report-language]', 'ja');
  await page.check(`[data-testid=report-users] input[data-user="${seed.userId}"]`);
  assert.equal(await page.locator('.field-error:not([hidden])').count(), 0, 'the mistakes went as they were put right');
  await page.evaluate(() => document.querySelector('[data-testid=report-channels]').scrollIntoView({ block: 'center' }));
  await docShot(page, 'reports-editor-pc', { fullPage: false });
  await page.click('[data-testid=report-save]');
  await waitForPage(page, 'reports');
  await page.waitForSelector('[data-testid=make-panel]');
  const list = (await seed.admin.get(`/api/v1/groups/${seed.groupId}/reports`)).body.items;
  assert.equal(list.length, 1);
  const rep = list[0];
  reportId = rep.id;
  assert.equal(rep.name, 'Boiler house');
  assert.equal(rep.period, 'day');
  assert.deepEqual(rep.channels, [computedId, seed.channels[0], seed.channels[1]]);
  assert.equal(rep.charts, 'overlaid');
  assert.equal(rep.language, 'ja');
  assert.deepEqual(rep.formats, ['pdf', 'xlsx', 'csv']);
  assert.deepEqual(rep.recipients, { users: [seed.userId], system: [] });
  assert.equal(rep.time_zone, 'Asia/Tokyo');
  assert.ok(page.url().endsWith(`#/reports/${rep.id}`), page.url());

  // "Make a report now": the last complete day by default, a day not over refused in words.
  assert.match(await page.textContent('[data-testid=make-will]'), /The report will cover .* 00:00 to .* 00:00, [^()]*\(UTC\+09:00\)\./);
  await page.check('[data-testid=make-mode-date]');
  const tokyoToday = new Date(Date.now() + 9 * 3600e3).toISOString().slice(0, 10);
  await page.fill('[data-testid=make-day]', tokyoToday);
  assert.match(await page.textContent('[data-testid=make-will]'), /This period is not over yet: it ends on/);
  assert.equal(await page.isDisabled('[data-testid=make-go]'), true);
  const yesterday = new Date(Date.now() + 9 * 3600e3 - 86400e3).toISOString().slice(0, 10);
  await page.fill('[data-testid=make-day]', yesterday);
  assert.equal(await page.isDisabled('[data-testid=make-go]'), false);
  await page.click('[data-testid=make-go]');
  // Followed: waiting or being made, then done (the worker holds it 2.5 s
  // at its last step, storing, and the page asks every second).
  await page.waitForSelector('[data-testid=run-list] tr[data-run]');
  const runId = Number(await page.getAttribute('[data-testid=run-list] tr[data-run]', 'data-run'));
  const seen = new Set();
  const steps = new Set();
  const STEP_TEXT = { figures: /^Computing the figures of the summary table\.$/, charts: /^Drawing the charts: channel [123] of 3\.$/,
    pdf: /^Writing the PDF\.$/, samples: /^Writing all values: day [12] of 2\.$/, storing: /^Storing the files in the drive\.$/ };
  for (let i = 0; i < 600; i++) {
    const s = await runState(page, runId);
    if (s) seen.add(s.state);
    if (s && s.state === 'running') {
      // Read with its state in one go: the list is redrawn as it is followed.
      assert.match(s.sentence, /^Being made since .* \(attempt 1 of 5\)\.$/);
      assert.equal(s.progress, 1, 'a run being made shows its progress');
      if (s.step) {
        steps.add(s.step);
        assert.match(s.stepText, STEP_TEXT[s.step], s.step);
      }
      if (s.step === 'storing' && !steps.has('shot')) {
        await page.evaluate((rid) => document.querySelector(`tr[data-run="${rid}"]`)?.scrollIntoView({ block: 'center' }), runId);
        await docShot(page, 'reports-running-pc', { fullPage: false });
        steps.add('shot');
      }
    }
    if (s && (s.state === 'done' || s.state === 'failed')) break;
    await sleep(100);
  }
  const done = await runState(page, runId);
  assert.equal(done.state, 'done', JSON.stringify(done));
  assert.ok(seen.has('running'), `states seen: ${[...seen]}`);
  assert.ok(steps.has('storing'), `steps seen: ${[...steps]}`);
  assert.equal(done.progress, 0);
  assert.equal(done.stepText, null);
  assert.match(done.sentence, /^Made on .*, in [\d.]+ s\.$/);
  // Its four files, each a link into the drive and a download.
  const files = await page.$$eval(`tr[data-run="${runId}"] .rp-file`, (l) => l.map((x) => `${x.dataset.format}:${x.dataset.part}`));
  assert.deepEqual(files.sort(), ['csv:samples', 'csv:summary', 'pdf:', 'xlsx:']);
  assert.match(await page.textContent(`tr[data-run="${runId}"] .rp-file[data-format=pdf]`), /^PDF, [\d.]+ kB/);
  assert.equal(await page.getAttribute(`tr[data-run="${runId}"] .rp-file[data-format=pdf] a[download]`, 'download'), `Boiler house ${yesterday}.pdf`);
  const [download] = await Promise.all([page.waitForEvent('download'),
    page.click(`tr[data-run="${runId}"] .rp-file[data-format=pdf] [data-testid=run-download]`)]);
  assert.equal(download.suggestedFilename(), `Boiler house ${yesterday}.pdf`);
  const pdf = fs.readFileSync(await download.path());
  assert.equal(pdf.subarray(0, 5).toString(), '%PDF-');
  const run = (await seed.admin.get(`/api/v1/report-runs/${runId}`)).body;
  assert.equal(pdf.length, run.files.find((f) => f.format === 'pdf').size);
  await docShot(page, 'reports-runs-pc');
  // The link opens the file in its drive folder: what it is and its download, no chart.
  await page.click(`tr[data-run="${runId}"] .rp-file[data-format=xlsx] [data-testid=run-file-link]`);
  await waitForPage(page, 'drive');
  await page.waitForSelector('[data-testid=drive-file-other]');
  assert.match(await page.textContent('[data-testid=drive-file-facts]'), /^Excel workbook, [\d.]+ kB, changed on /);
  // The folder's list arrives on its own: wait for the file, not for a table that was there before.
  await page.waitForSelector(`[data-testid=drive-table] tr[data-name="Boiler house ${yesterday}.pdf"]`);
  assert.match(await page.textContent('[data-testid=drive-crumbs]'), /Reports\s*\/\s*Boiler house/);
  // The list tells the last report and that automatic creation is off.
  await gotoRoute(page, `${env.url}/#/reports`);
  await page.waitForSelector('[data-testid=report-list] tr.rp-row');
  assert.match(await page.textContent('[data-testid=report-line]'), /^Daily · 3 channels · PDF, Excel \(XLSX\), CSV · 日本語$/);
  assert.equal(await page.textContent('[data-testid=report-auto-state]'), 'Off');
  assert.equal(await page.getAttribute('[data-testid=report-list] tr.rp-row [data-testid=run-state]', 'data-state'), 'done');
  // Automatic creation on: the next period is named.
  await page.click('[data-testid=report-auto-toggle]');
  await page.waitForSelector('[data-testid=report-auto-state][data-on=true]');
  assert.match(await page.textContent('[data-testid=report-auto-state]'), /^next: /);
  assert.equal(await page.textContent('[data-testid=report-quota]'), '1 of 3 report templates of this group used (Standard plan).');
  await docShot(page, 'reports-list-pc', { fullPage: false });
  // The report's page says when the next one is due, by the server's rule.
  await gotoRoute(page, `${env.url}/#/reports/${rep.id}`);
  await page.waitForSelector('[data-testid=report-due]');
  assert.match(await page.textContent('[data-testid=report-due]'),
    /^It is made from .+ on, once every channel has sent data from after the period's end, and by .+ at the latest\.$/);
  // Switched off and on again from the report's own page.
  await page.click('[data-testid=report-page-auto-toggle]');
  await page.waitForFunction(() => document.querySelector('[data-testid=report-auto-text]')?.textContent === 'Off');
  assert.equal(await page.locator('[data-testid=report-due]').count(), 0);
  assert.equal((await seed.admin.get(`/api/v1/reports/${rep.id}`)).body.auto_enabled, false);
  await page.click('[data-testid=report-page-auto-toggle]');
  await page.waitForSelector('[data-testid=report-due]');
  assert.equal((await seed.admin.get(`/api/v1/reports/${rep.id}`)).body.auto_enabled, true);
  assert.deepEqual(page.consoleErrors, []);
  assert.deepEqual(page.cspErrors, []);
  await page.context().close();
});

test('the plan\'s report templates per group: the limit said in words, a creation beyond it refused as a sentence', async () => {
  const mk = (name) => seed.admin.post(`/api/v1/groups/${seed.groupId}/reports`, { name, period: 'week', channels: [seed.channels[2]] });
  assert.equal((await mk('Second')).status, 201);
  // The editor is opened while one is still free; meanwhile the last one is taken.
  const page = await open('reports?new=1');
  await page.waitForSelector('[data-testid=report-editor]');
  assert.equal(await page.locator('[data-testid=report-quota-full]').count(), 0);
  assert.equal((await mk('Third')).status, 201);
  await page.fill('[data-testid=report-name]', 'Fourth');
  await page.check(`[data-testid=report-channels] input[data-channel="${seed.channels[0]}"]`);
  await page.click('[data-testid=report-save]');
  await page.waitForSelector('[data-testid=report-error]:not([hidden])');
  assert.equal(await page.textContent('[data-testid=report-error]'),
    'Your Standard plan allows 3 automatic report templates per group. Remove one or change the plan to add more.');
  // The list says that all are used, and offers no new one.
  await gotoRoute(page, `${env.url}/#/reports`);
  await page.waitForSelector('[data-testid=report-quota][data-full=true]');
  assert.equal(await page.textContent('[data-testid=report-quota]'),
    'All 3 report templates that your Standard plan allows in this group are used. Delete one, or change the plan, to add another.');
  assert.equal(await page.isDisabled('[data-testid=report-new]'), true);
  // Opened anyway (a bookmark), the editor says so before anything is typed.
  await gotoRoute(page, `${env.url}/#/reports?new=1`);
  await page.waitForSelector('[data-testid=report-quota-full]');
  await docShot(page, 'reports-limit-pc', { fullPage: false });
  // A Free account has none.
  const { accountId } = await env.createAccount({ account: 'freebie', plan: 'free', user: 'admin', password: PASSWORD });
  assert.ok(accountId);
  const free = await openPage(env, { size: 'pc' });
  await signIn(free, { account: 'freebie', user: 'admin', password: PASSWORD });
  const fc = await env.login({ account: 'freebie', user: 'admin', password: PASSWORD });
  await fc.post('/api/v1/groups', { name: 'Free group' });
  await gotoRoute(free, `${env.url}/#/monitor`);
  await free.reload();
  await gotoRoute(free, `${env.url}/#/reports`);
  await free.waitForSelector('[data-testid=report-quota]');
  assert.equal(await free.textContent('[data-testid=report-quota]'), 'The Free plan does not include automatic report templates per group.');
  assert.equal(await free.isDisabled('[data-testid=report-new]'), true);
  for (const p of [page, free]) {
    assert.deepEqual(p.consoleErrors, []);
    await p.context().close();
  }
  for (const name of ['Second', 'Third']) {
    const r = (await seed.admin.get(`/api/v1/groups/${seed.groupId}/reports`)).body.items.find((x) => x.name === name);
    await seed.admin.del(`/api/v1/reports/${r.id}`);
  }
});

test('a report that cannot be stored (the storage quota full) is told in words, fails after five attempts and is tried again by hand', async () => {
  assert.ok(reportId, 'the first test made the report');
  // No automatic report while the clock moves on.
  assert.equal((await seed.admin.patch(`/api/v1/reports/${reportId}`, { auto_enabled: false })).status, 200);
  assert.equal((await storage(500e9)).status, 200);
  try {
    await failAndRetry();
  } finally {
    await env.setClock(0);
    await storage(0);
  }
});

async function failAndRetry() {
  const page = await open(`reports/${reportId}`);
  await page.waitForSelector('[data-testid=make-panel]');
  await page.check('[data-testid=make-mode-range]');
  const d = (n) => new Date(Date.now() + 9 * 3600e3 - n * 86400e3).toISOString().slice(0, 10);
  await page.fill('[data-testid=make-from]', d(3));
  await page.fill('[data-testid=make-until]', d(1));
  assert.match(await page.textContent('[data-testid=make-will]'), /The report will cover/);
  await page.click('[data-testid=make-go]');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=run-list] tr[data-run]').length === 2);
  const runId = Number(await page.getAttribute('[data-testid=run-list] tr[data-run]', 'data-run'));
  // Attempt 1 fails: "will be tried again", the reason in words, never the server's English.
  await page.waitForFunction((id) => document.querySelector(`[data-run="${id}"] [data-state=retry]`), runId, { timeout: 30000 });
  let s = await runState(page, runId);
  assert.match(s.sentence, /^Attempt 1 of 5 did not succeed: The files did not fit into the cloud storage of your plan\. Make room in the drive, then try again\. It is tried again at .*\.$/);
  // The server's clock moves past each back-off (1, 5, 30, 120 s) until no attempt is left.
  let clock = 0;
  for (const wait of [60, 300, 1800, 7200]) {
    clock += wait + 1;
    await env.setClock(clock);
    const before = (await seed.admin.get(`/api/v1/report-runs/${runId}`)).body.attempts;
    for (let i = 0; i < 200; i++) {
      const r = (await seed.admin.get(`/api/v1/report-runs/${runId}`)).body;
      if (r.attempts > before && r.state !== 'running') break;
      await sleep(100);
    }
  }
  await page.waitForFunction((id) => document.querySelector(`[data-run="${id}"] [data-state=failed]`), runId, { timeout: 30000 });
  s = await runState(page, runId);
  assert.equal(s.sentence, 'Not made, after 5 attempts: The files did not fit into the cloud storage of your plan. Make room in the drive, then try again.');
  assert.doesNotMatch(await page.textContent('#main'), /plan_limit|P2|quota is|storage quota/);
  await docShot(page, 'reports-failed-pc', { fullPage: false });
  // The list says why the last report was not made, in words.
  await gotoRoute(page, `${env.url}/#/reports`);
  await page.waitForSelector('[data-testid=report-list] tr.rp-row [data-testid=report-last-error]');
  assert.equal(await page.textContent('[data-testid=report-last-error]'),
    'The files did not fit into the cloud storage of your plan. Make room in the drive, then try again.');
  await gotoRoute(page, `${env.url}/#/reports/${reportId}`);
  await page.waitForFunction((id) => document.querySelector(`[data-run="${id}"] [data-state=failed]`), runId);
  // Room again: "Try again" makes it.
  await env.setClock(0);
  assert.equal((await storage(0)).status, 200);
  await page.click(`tr[data-run="${runId}"] [data-testid=run-retry]`);
  await page.waitForFunction((id) => document.querySelector(`[data-run="${id}"] [data-state=done]`), runId, { timeout: 60000 });
  assert.equal(await page.locator(`tr[data-run="${runId}"] [data-testid=run-retry]`).count(), 0);
  assert.equal(await page.locator(`tr[data-run="${runId}"] .rp-file`).count(), 4);
  assert.deepEqual(page.consoleErrors, []);
  await page.context().close();
}

test('a HOK2 file in the drive checked against the alarms of a group: the events found, linked to the alarm history', async () => {
  // An alarm that also checks uploaded files: Temperature 1 above 24.
  let r = await seed.admin.post(`/api/v1/groups/${seed.groupId}/alarms`, { name: 'Boiler too hot', rule: 'CH1 > 24',
    channels: [seed.channels[0]], check_files: true });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const ruleId = r.body.id;
  // A logger file with four +100 spikes on its first channel.
  const file = path.join(tmp, 'boiler.hok2');
  fs.writeFileSync(file, await makeHok2({ rows: 2000, channels: 2, stepMs: 60000, spikeEvery: 500 }));
  const page = await open('drive');
  await page.setInputFiles('[data-testid=drive-upload-input]', file);
  await page.waitForSelector('tr[data-name="boiler.hok2"] [data-testid=drive-alarm-check]');
  await page.click('tr[data-name="boiler.hok2"] [data-testid=drive-alarm-check]');
  await page.waitForSelector('[data-testid=filecheck-target-0]');
  assert.equal(await page.inputValue('[data-testid=filecheck-group]'), String(seed.groupId));
  // Nothing mapped: a sentence.
  await page.selectOption('[data-testid=filecheck-target-0]', '');
  await page.selectOption('[data-testid=filecheck-target-1]', '');
  await page.click('[data-testid=filecheck-start]');
  assert.equal(await page.textContent('[data-testid=filecheck-error]'), 'Choose a channel of the group for at least one channel of the file.');
  await page.selectOption('[data-testid=filecheck-target-0]', String(seed.channels[0]));
  await page.click('[data-testid=filecheck-start]');
  await page.waitForSelector('[data-testid=filecheck-result]');
  assert.equal(await page.getAttribute('[data-testid=filecheck-result]', 'data-events'), '8');
  assert.match(await page.textContent('[data-testid=filecheck-result]'), /Values checked: 2,000\. Alarms that checked them: 1\. Events recorded: 8\./);
  assert.match(await page.textContent('[data-testid=filecheck-result]'), /Boiler too hot: raised 4×, the first time at /);
  await docShot(page, 'drive-alarm-check-pc', { fullPage: false });
  // The first event: the file named, from the alarm history.
  await page.click('[data-testid=filecheck-event]');
  await waitForPage(page, 'alarms/events');
  await page.waitForSelector('[data-testid=event]');
  assert.match(await page.textContent('[data-testid=event]'), /boiler\.hok2/);
  await page.goBack();
  await waitForPage(page, 'drive');
  // The rule's history lists the four raises and four clears of the file.
  await gotoRoute(page, `${env.url}/#/alarms/events?rule=${ruleId}`);
  await page.waitForSelector('[data-testid=event-list] [data-testid=event]');
  assert.equal(await page.locator('[data-testid=event-list] [data-testid=event]').count(), 8);
  // The same action in the file's own view.
  await gotoRoute(page, `${env.url}/#/drive`);
  await page.click('tr[data-name="boiler.hok2"] [data-testid=drive-open]');
  await page.waitForSelector('[data-testid=drive-view-alarm-check]');
  await page.click('[data-testid=drive-view-alarm-check]');
  await page.waitForSelector('[data-testid=filecheck-target-0]');
  await page.keyboard.press('Escape');
  assert.deepEqual(page.consoleErrors, []);
  assert.deepEqual(page.cspErrors, []);
  await page.context().close();
});

test('the report pages fit a 390×844 phone and read as sentences in the seven languages', async () => {
  const page = await open('reports', { size: 'phone390' });
  const raw = /\b(?:reports|filecheck|drivefile|nav|error|field)\.[a-z_]+(?:\.[a-z_]+)*\b/;
  for (const [route, name, ready] of [
    ['reports', 'reports', '[data-testid=report-list] tr.rp-row'],
    [`reports?edit=${reportId}`, 'reports', '[data-testid=report-editor]'],
    [`reports/${reportId}`, 'reports', '[data-testid=run-list] tr[data-run]'],
  ]) {
    await gotoRoute(page, `${env.url}/#/${route}`);
    await waitForPage(page, name);
    await page.waitForSelector(ready);
    await assertFits(page, route);
    const text = await page.textContent('#main');
    assert.ok(!raw.test(text), `${route}: ${text.match(raw)}`);
  }
  await docShot(page, 'reports-runs-phone390', { fullPage: false });
  await gotoRoute(page, `${env.url}/#/reports?edit=${reportId}`);
  await page.waitForSelector('[data-testid=report-editor]');
  await docShot(page, 'reports-editor-phone390');
  const seen = new Set();
  // The contents as a list: a common noun of the catalogue after the first
  // is written as inside a sentence (i18n.mjs term(), joinList()); German
  // keeps its nouns' capitals; no case in Japanese and Chinese.
  const CONTENTS = {
    en: 'Summary table, all channels on one chart, alarm events',
    'zh-CN': '汇总表、所有通道合在一张图表、报警事件',
    ja: '集計表、全チャネルを 1 つのグラフに重ねる、アラームイベント',
    es: 'Tabla resumen, todos los canales en un gráfico, eventos de alarma',
    fr: 'Tableau récapitulatif, toutes les voies sur un graphique, événements d’alarme',
    de: 'Übersichtstabelle, alle Kanäle in einem Diagramm, Alarmereignisse',
    it: 'Tabella riassuntiva, tutti i canali in un grafico, eventi di allarme',
  };
  for (const code of ['en', 'zh-CN', 'ja', 'es', 'fr', 'de', 'it']) {
    await gotoRoute(page, `${env.url}/#/reports`);
    await waitForPage(page, 'reports');
    await page.selectOption('#lang-select', code);
    await page.waitForFunction((c) => document.documentElement.lang === c, code);
    await gotoRoute(page, `${env.url}/#/reports/${reportId}`);
    await page.waitForSelector('[data-testid=run-list] tr[data-run] [data-testid=run-sentence]');
    const text = await page.textContent('#main');
    assert.ok(!raw.test(text), `${code}: ${text.match(raw)}`);
    const sentence = await page.textContent('[data-testid=run-list] tr[data-run] [data-testid=run-sentence]');
    assert.ok(!seen.has(sentence), `${code}: the state is told in the language (${sentence})`);
    seen.add(sentence);
    assert.equal(await page.textContent('[data-testid=report-contents]'), CONTENTS[code], code);
    if (code === 'fr') {
      // A name (a format, a user's channel) keeps its capitals wherever it is in a list.
      const i18n = await portalModule(page, 'js/i18n.mjs');
      assert.equal(await page.evaluate(async (u) => {
        const { joinList, term } = await import(u);
        return joinList([term('reports.contents_alarms'), 'Humidité', term('reports.contents_summary'), 'PDF']);
      }, i18n), 'Événements d’alarme, Humidité, tableau récapitulatif, PDF');
      await shot(page, 'reports-run-fr-phone390');
    }
    await assertFits(page, `reports/${reportId} ${code}`);
    if (code === 'ja') await docShot(page, 'reports-runs-ja-phone390', { fullPage: false });
  }
  await page.selectOption('#lang-select', 'en');
  assert.deepEqual(page.consoleErrors, []);
  assert.deepEqual(page.cspErrors, []);
  await page.context().close();
});

test('a member with edit access adds only themself to the recipients; one with view access reads the reports and downloads them, and changes nothing', async () => {
  assert.ok(reportId, 'the first test made the report');
  const grant = async (user, name) => {
    const { userId } = await env.createUser({ accountId: seed.accountId, user, password: PASSWORD, role: 'member', userName: name });
    return userId;
  };
  const editorId = await grant('editor', 'Eddie Editor');
  const viewerId = await grant('viewer', 'Vera Viewer');
  let r = await seed.admin.put(`/api/v1/groups/${seed.groupId}/access`, { users: [
    { user_id: editorId, access: 'edit' }, { user_id: viewerId, access: 'view' }], teams: [] });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const before = (await seed.admin.get(`/api/v1/reports/${reportId}`)).body;
  assert.deepEqual(before.recipients.users, [seed.userId]);

  // The editor sees only themself; the administrator's choice stays and is said to stay.
  const page = await openPage(env, { size: 'pc' });
  await signIn(page, { account: 'acme', user: 'editor', password: PASSWORD });
  await gotoRoute(page, `${env.url}/#/reports?edit=${reportId}`);
  await waitForPage(page, 'reports');
  await page.waitForSelector('[data-testid=report-editor]');
  assert.deepEqual(await page.$$eval('[data-testid=report-users] input', (l) => l.map((x) => Number(x.dataset.user))), [editorId]);
  assert.equal(await page.textContent('[data-testid=report-users]'), 'Me (Eddie Editor)');
  assert.equal(await page.textContent('[data-testid=report-kept]'), 'Other recipients chosen by an administrator stay as they are (1).');
  assert.equal(await page.locator('[data-testid=report-system]').count(), 0);
  await page.check(`[data-testid=report-users] input[data-user="${editorId}"]`);
  await page.click('[data-testid=report-save]');
  await page.waitForSelector('[data-testid=make-panel]');
  r = await seed.admin.get(`/api/v1/reports/${reportId}`);
  assert.deepEqual(r.body.recipients, { users: [seed.userId, editorId], system: [] });
  assert.deepEqual(page.consoleErrors, []);
  await page.context().close();

  // The viewer: the list and the reports made with their files; no way to change or make one.
  const view = await openPage(env, { size: 'phone390' });
  await signIn(view, { account: 'acme', user: 'viewer', password: PASSWORD });
  await gotoRoute(view, `${env.url}/#/reports`);
  await waitForPage(view, 'reports');
  await view.waitForSelector('[data-testid=report-list] tr.rp-row');
  for (const sel of ['report-new', 'report-edit', 'report-auto-toggle', 'report-delete']) {
    assert.equal(await view.locator(`[data-testid=${sel}]`).count(), 0, sel);
  }
  await view.click('[data-testid=report-open]');
  await view.waitForSelector('[data-testid=run-list] tr[data-run] [data-testid=run-download]');
  assert.equal(await view.locator('[data-testid=make-panel]').count(), 0);
  assert.equal(await view.locator('[data-testid=report-edit]').count(), 0);
  assert.equal(await view.locator('[data-testid=run-retry]').count(), 0);
  await assertFits(view, 'reports as a viewer');
  // Asked directly, the server refuses a viewer's report by hand, and the page would say it in words.
  const vc = await env.login({ account: 'acme', user: 'viewer', password: PASSWORD });
  r = await vc.post(`/api/v1/reports/${reportId}/runs`, { date: '2024-05-01' });
  assert.equal(r.status, 403);
  assert.deepEqual(view.consoleErrors, []);
  await view.context().close();
});
