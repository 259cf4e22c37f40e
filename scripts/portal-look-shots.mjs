#!/usr/bin/env node
// Screenshots of the portal in the languages and states the automatic review
// (tests/portal/review.test.mjs: English, Chinese and German, each page's first
// view) does not cover, for a person to look at:
//   - every page in French, Spanish, Italian and Japanese on a PC (1366×768)
//     and a 390×844 phone;
//   - in each of those languages, on both sizes: the alarm editor, the report
//     editor and a name the server refuses, a dashboard in edit mode with its
//     add-panel dialog, the computed-channel editor with a mistake in the
//     expression and then saved (its back-fill), the drive's upload and
//     import dialog (running and done), the viewer with 32 channels and its
//     export (running and done), My settings' two-step
//     set-up, a new account with no app, the server down, the server answering
//     503, and a session that expired.
// Each shot is also checked with tests/portal/defects.mjs (overflow, unnamed
// controls, codes among the words); what it finds is printed, and the script
// exits 1 when something was found. Shots go to build/portal-look/<lang>/ and
// contact sheets per language and size (build/portal-look/sheet-*.png, drawn
// by the same Chromium) to look at them several at a time.
//
//   node scripts/portal-look-shots.mjs [--lang fr-FR,ja-JP] [--size pc,phone390] [--only states|pages]
//
// It needs the build (build/server/metron-server-test, portal/vendor) and
// Debian's chromium, as the portal tests do.
import fs from 'node:fs';
import path from 'node:path';
import {
  startStack, openPage, signIn, gotoRoute, waitForPage, repoRoot,
} from '../tests/portal/browser.mjs';
import { PASSWORD, seedAccount, totp } from '../tests/portal/fixtures.mjs';
import { defects } from '../tests/portal/defects.mjs';
import { makeHok2 } from '../tests/portal/make_hok2.mjs';
import { appClient, MIN_US } from '../tests/server/data_helpers.mjs';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const LANGS = arg('lang', 'fr-FR,es-ES,it-IT,ja-JP').split(',');
const SIZES = arg('size', 'phone390,pc').split(',');
const ONLY = arg('only', '');
const outDir = path.join(repoRoot, 'build', 'portal-look');

const PAGES = ['monitor', 'dashboards', 'viewer', 'drive', 'computed', 'alarms', 'alarms/events', 'reports',
  'notifications', 'account', 'inquiries', 'help', 'admin/account', 'admin/users', 'admin/teams', 'admin/groups',
  'admin/apps', 'admin/devices', 'admin/channels', 'admin/security', 'admin/audit', 'admin/recipients',
  'admin/destinations', 'admin/inquiries', 'share'];

/** Pages of one item (an alarm event, the console, a report), known once the data is made. */
const EXTRA = [];

const found = [];
let shotsTaken = 0;

async function snap(page, lang, size, name, { fullPage = true } = {}) {
  const dir = path.join(outDir, lang);
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${size}-${name.replace(/\//g, '-')}.png`);
  await page.screenshot({ path: file, fullPage });
  shotsTaken++;
  for (const d of await defects(page)) found.push(`${lang} ${size} ${name}: ${d}`);
  return file;
}

async function signedIn(env, { size, lang, account = 'acme' }) {
  // A profile without a language, so that the browser's is shown (a sign-in
  // in another language than the account's records it in the profile).
  const api = await env.login({ account, user: 'admin', password: PASSWORD });
  await api.patch('/api/v1/me', { language: null });
  const page = await openPage(env, { size, lang });
  await signIn(page, { account, user: 'admin', password: PASSWORD });
  return page;
}

async function pages(env, lang, size) {
  const page = await signedIn(env, { size, lang });
  for (const p of PAGES) {
    await gotoRoute(page, `${env.url}/#/${p}`, { route: p });
    await snap(page, lang, size, `page-${p}`);
  }
  for (const p of EXTRA) {
    const route = p.split('?')[0].replace(/^(alarms\/events|reports)\/.*/, '$1');
    await gotoRoute(page, `${env.url}/#/${p}`, { route });
    await snap(page, lang, size, `page-${p.split('?')[0].replace(/\/\d*$/, '-one')}`);
  }
  await page.context().close();
}

async function states(env, ctx, lang, size) {
  const page = await signedIn(env, { size, lang });
  const go = async (route) => {
    await gotoRoute(page, `${env.url}/#/${route}`);
    await waitForPage(page, route.split('?')[0]);
  };
  const closeDialogs = () => page.evaluate(() => document.querySelectorAll('dialog[open]').forEach((d) => d.close()));

  // The alarm editor, new and untouched.
  await go('alarms?new=1');
  await page.waitForSelector('[data-testid=alarm-editor]');
  await snap(page, lang, size, 'alarm-editor');

  // The report editor, then a name the server refuses.
  await go('reports');
  await page.click('[data-testid=report-new]');
  await page.waitForSelector('[data-testid=report-editor]');
  await snap(page, lang, size, 'report-editor');
  await page.fill('[data-testid=report-name]', 'Boiler/house');
  await page.click('[data-testid=report-save]');
  await page.waitForSelector('[data-testid=report-err-name]:not(:empty)');
  await snap(page, lang, size, 'report-field-error', { fullPage: false });

  // A dashboard in edit mode with its add-panel dialog.
  await go('dashboards');
  await page.click('[data-testid=dash-new]');
  await page.waitForSelector('dialog[open]');
  await snap(page, lang, size, 'dash-new-dialog', { fullPage: false });
  await page.fill('dialog input[name=name]', `Boiler ${lang} ${size}`);
  await page.click('dialog button[type=submit]');
  await page.waitForSelector('[data-testid=dash-grid][data-painted=true]');
  await page.click('[data-testid=dash-arrange]');
  await snap(page, lang, size, 'dash-edit');
  await page.click('[data-testid=dash-add]');
  await page.waitForSelector('[data-testid=panel-form]');
  await snap(page, lang, size, 'dash-add-panel', { fullPage: false });
  await closeDialogs();

  // The computed-channel editor with a mistake in the expression.
  await go('computed?new=1');
  await page.waitForSelector('[data-testid=computed-editor]');
  await page.fill('[data-testid=computed-expression]', 'SQR(CH1+');
  await page.waitForSelector('[data-testid=computed-check].bad');
  await snap(page, lang, size, 'computed-mistake');
  // Saved: the list with its back-fill (the toast saying it runs, the state of each).
  await page.fill('[data-testid=computed-name]', `Double ${lang} ${size}`);
  await page.fill('[data-testid=computed-expression]', 'CH1*2');
  await page.waitForSelector('[data-testid=computed-check].ok');
  await page.click('[data-testid=computed-save]');
  await page.waitForSelector('[data-testid=computed-new]');
  await snap(page, lang, size, 'computed-list', { fullPage: false });

  // The drive: a file uploaded, its import dialog, the import running and done.
  // (a name of its own in each language and size: the drive refuses a name in use).
  await go('drive');
  const file = `logger ${lang} ${size}.hok2`;
  await page.setInputFiles('[data-testid=drive-upload-input]', { name: file, mimeType: 'application/octet-stream', buffer: ctx.hok2 });
  await page.waitForSelector(`tr[data-name="${file}"] [data-testid=drive-import]`);
  await snap(page, lang, size, 'drive-uploaded');
  await page.click(`tr[data-name="${file}"] [data-testid=drive-import]`);
  await page.waitForSelector('[data-testid=import-table]');
  await snap(page, lang, size, 'import-dialog', { fullPage: false });
  for (let i = 0; i < 4; i++) await page.selectOption(`[data-testid=import-target-${i}]`, String(ctx.seed.channels[i]));
  await page.click('[data-testid=import-start]');
  await snap(page, lang, size, 'import-running', { fullPage: false });
  await page.waitForFunction(() => document.querySelector('[data-testid=import-status]').dataset.done, null, { timeout: 120000 });
  await snap(page, lang, size, 'import-done', { fullPage: false });
  await closeDialogs();
  // The viewer with 32 channels, then its export running and done.
  const from = ctx.from, to = ctx.from + 2 * 86400000;
  await gotoRoute(page, `${env.url}/#/viewer?${new URLSearchParams({ channels: ctx.all.join(','), from, to })}`);
  await waitForPage(page, 'viewer');
  await snap(page, lang, size, 'viewer-32');
  await gotoRoute(page, `${env.url}/#/viewer?${new URLSearchParams({ channels: ctx.all.join(','), from, to, mode: 'export' })}`);
  await waitForPage(page, 'viewer');
  await snap(page, lang, size, 'export-dialog');
  await page.selectOption('[data-testid=export-format]', 'csv');
  await page.click('[data-testid=export-start]');
  await snap(page, lang, size, 'export-running', { fullPage: false });
  await page.waitForSelector('[data-testid=export-download]', { timeout: 120000 });
  await snap(page, lang, size, 'export-done');

  // My settings' two-step set-up (not finished: the next language sets it up again).
  await go('account');
  await page.click('[data-testid=totp-enrol]');
  await page.waitForSelector('[data-testid=totp-qr]');
  await snap(page, lang, size, 'totp-setup');
  await page.fill('#totp-code', '000000');
  await page.click('#totp-form button[type=submit]');
  await page.waitForFunction(() => document.querySelector('#totp-form [role=alert], #totp-form .error, #totp-form .invalid'), null, { timeout: 10000 }).catch(() => {});
  await snap(page, lang, size, 'totp-wrong-code');
  await closeDialogs();

  // The server down, then answering 503, on the monitor and on a save.
  await page.route('**/api/v1/**', (r) => r.abort('connectionrefused'));
  await gotoRoute(page, `${env.url}/#/alarms`).catch(() => {});
  await snap(page, lang, size, 'server-down');
  await page.unroute('**/api/v1/**');
  await page.route('**/api/v1/**', (r) => r.fulfill({ status: 503, contentType: 'application/json',
    headers: { 'Retry-After': '30' }, body: JSON.stringify({ code: 'unavailable', message: 'Service unavailable' }) }));
  await gotoRoute(page, `${env.url}/#/monitor`).catch(() => {});
  await snap(page, lang, size, 'server-503');
  await page.unroute('**/api/v1/**');

  // A session that expired: its cookie gone, the next page asks to sign in again.
  await go('monitor');
  await page.context().clearCookies();
  await gotoRoute(page, `${env.url}/#/alarms`).catch(() => {});
  await page.waitForSelector('#signin-form', { timeout: 10000 }).catch(() => {});
  await snap(page, lang, size, 'session-expired');
  await page.context().close();

  // A new account: no app, no data, no alarm.
  const fresh = await signedIn(env, { size, lang, account: 'newco' });
  for (const p of ['monitor', 'dashboards', 'viewer', 'alarms', 'reports', 'computed', 'drive']) {
    await gotoRoute(fresh, `${env.url}/#/${p}`, { route: p });
    await snap(fresh, lang, size, `empty-${p}`);
  }
  await fresh.context().close();
}

/**
 * One contact sheet per language and size, drawn by the same Chromium: the
 * shots side by side (their tops), each captioned, to look at several at a time.
 */
async function sheets(browser) {
  const page = await browser.newPage({ viewport: { width: 2400, height: 1000 }, deviceScaleFactor: 1 });
  for (const lang of LANGS) {
    const dir = path.join(outDir, lang);
    if (!fs.existsSync(dir)) continue;
    for (const size of SIZES) {
      const files = fs.readdirSync(dir).filter((f) => f.startsWith(`${size}-`)).sort();
      const per = size === 'pc' ? 3 : 6;
      for (let i = 0; i < files.length; i += per) {
        const cells = files.slice(i, i + per).map((f) => `<figure><figcaption>${f}</figcaption><img src="${lang}/${f}"></figure>`).join('');
        const html = path.join(outDir, 'sheet.html');
        fs.writeFileSync(html, `<!doctype html><style>body{margin:0;display:flex;gap:6px;background:#777;align-items:flex-start}
figure{margin:0;width:${size === 'pc' ? 790 : 395}px;max-height:1700px;overflow:hidden;background:#fff}
figcaption{font:14px sans-serif;background:#333;color:#fff;padding:2px}img{width:100%}</style>${cells}`);
        await page.goto(`file://${html}`);
        await page.waitForFunction(() => [...document.images].every((im) => im.complete));
        await page.screenshot({ path: path.join(outDir, `sheet-${lang}-${size}-${String(i / per + 1).padStart(2, '0')}.png`), fullPage: true });
      }
    }
  }
  await page.close();
}

async function main() {
  const env = await startStack();
  try {
    const seed = await seedAccount(env);
    await env.createAccount({ account: 'newco', plan: 'pro', user: 'admin', password: PASSWORD, userName: 'Nina New' });
    // 28 more channels (32 in all), one day of minutes two days ago in each.
    const all = [...seed.channels];
    for (let i = 5; i <= 32; i++) {
      const r = await seed.admin.post(`/api/v1/devices/${seed.deviceId}/channels`,
        { key: `CH${i}`, name: `Channel ${i}`, unit: ['V', 'A', '°C', 'kPa', '%RH', 'W'][i % 6] });
      all.push(r.body.id);
    }
    await seed.admin.put(`/api/v1/devices/${seed.deviceId}/selection`, { channel_ids: all });
    const from = Date.now() - (Date.now() % 86400000) - 2 * 86400000;
    const app = await seed.admin.post(`/api/v1/apps/${seed.appId}/credentials`, {});
    const ingest = app.body && app.body.credential ? appClient(env.apiUrl, app.body.credential) : null;
    if (ingest) {
      const times = Array.from({ length: 1440 }, (_, i) => from * 1000 + i * MIN_US);
      const r = await ingest.batch({ batch_id: 'look-1', channels: all.map((id, c) => ({ id, t: times,
        v: times.map((_, i) => Math.round(100 * Math.sin((i + c * 40) / 90) * (1 + c / 10)) / 10) })) });
      if (r.status >= 300) console.error(`ingest: ${r.status} ${r.text}`);
    } else console.error(`no app credential: ${JSON.stringify(app.body)}`);
    // The recent pages with something on them: an alarm raised and cleared
    // (its events, the notifications, the monitor's panel), one still raised,
    // a report with a run, and the console of the logger (pages below).
    const events = [];
    await env.setClock(-86400);
    try {
      for (const [name, rule, ch] of [['Boiler over 80', 'CH1 > 80', seed.channels[0]], ['Return below 5', 'CH1 < 5', seed.channels[2]]]) {
        const r = await seed.admin.post(`/api/v1/groups/${seed.groupId}/alarms`, { name, rule, channels: [ch], notify_clear: true, severity: 'alert' });
        if (r.status !== 201) console.error(`alarm: ${r.status} ${JSON.stringify(r.body)}`);
      }
    } finally {
      await env.setClock(0);
    }
    if (ingest) {
      const now = Date.now() * 1000, t1 = now - (now % MIN_US) - 3 * MIN_US;
      for (const [k, v] of [[0, 85.5], [1, 20], [2, -3.5]]) {
        const r = await ingest.batch({ batch_id: `look-alarm-${k}`, channels: [
          { id: seed.channels[0], t: [t1 + k * MIN_US], v: [v] }, ...(k === 2 ? [{ id: seed.channels[2], t: [t1 + k * MIN_US], v: [v] }] : [])] });
        if (r.status >= 300) console.error(`ingest: ${r.status} ${r.text}`);
      }
      const ev = await seed.admin.get(`/api/v1/alarm-events?group_id=${seed.groupId}`);
      for (const e of (ev.body && ev.body.items) || []) events.push(e.id);
    }
    const rep = await seed.admin.post(`/api/v1/groups/${seed.groupId}/reports`, { name: 'Boiler week', period: 'day', channels: seed.channels.slice(0, 3) });
    if (rep.status === 201) {
      const day = new Date(from).toISOString().slice(0, 10);
      const run = await seed.admin.post(`/api/v1/reports/${rep.body.id}/runs`, { date: day });
      if (run.status >= 300) console.error(`report run: ${run.status} ${JSON.stringify(run.body)}`);
    } else console.error(`report: ${rep.status} ${JSON.stringify(rep.body)}`);
    EXTRA.push(`alarms/events/${events[0] || ''}`, `console?device=${seed.deviceId}`);
    if (rep.status === 201) EXTRA.push(`reports/${rep.body.id}`);
    const hok2 = Buffer.from(await makeHok2({ rows: 1440, channels: 4, start: from, stepMs: 60000 }));
    const ctx = { seed, all, from, hok2 };
    for (const lang of LANGS) {
      for (const size of SIZES) {
        if (ONLY !== 'states') await pages(env, lang, size);
        if (ONLY !== 'pages') {
          try {
            await states(env, ctx, lang, size);
          } catch (e) {
            found.push(`${lang} ${size}: the states stopped: ${e.message.split('\n')[0]}`);
          }
        }
        console.log(`${lang} ${size}: done (${shotsTaken} shots so far)`);
      }
    }
    await sheets(env.browser);
  } finally {
    await env.stop();
  }
  console.log(`${shotsTaken} screenshots in build/portal-look/`);
  for (const f of found) console.log(`- ${f}`);
  process.exit(found.length ? 1 : 0);
}

main().catch((e) => { console.error(e); process.exit(2); });
