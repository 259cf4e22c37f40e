// The portal as a static site (issue 19, docs/deploy.md) in Chromium, the
// two ways that are not "served by metron-server":
//  - behind nginx on one origin, at a sub-path (deploy/nginx/metron.conf,
//    the folder of scripts/portal-dist): every file, the wasm module, uPlot
//    and the catalogues come from the release folder under the sub-path
//    with a year's cache and the right types; a new release is picked up at
//    the next load; a forwarding header the browser forges changes nothing
//    (nginx connects from 127.0.0.2, the server's only trusted proxy); the
//    offline viewer of the same folder still works from file://;
//  - the portal on one loopback port (nginx, deploy/nginx/metron-static.conf)
//    and the API on another (--cors-origins): the portal's requests go to
//    the API's origin with credentials; the same portal opened from an
//    origin not on the list cannot sign in.
// The sign-in, monitor, viewer and drive suites run whole in both ways too
// (scripts/test: METRON_PORTAL_DEPLOY=nginx|cors).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import url from 'node:url';
import { spawnSync } from 'node:child_process';
import { startStack, signIn, waitForPage, pageFetch, shot, openBrowser, repoRoot, gotoRoute } from './browser.mjs';
import { PASSWORD, seedAccount } from './fixtures.mjs';
import { makeHok2 } from './make_hok2.mjs';

/** Every response the page gets from now on: { url, status, headers }. */
function recordResponses(page) {
  const seen = [];
  page.on('response', (r) => seen.push({ url: r.url(), method: r.request().method(), status: r.status(),
    headers: r.headers() }));
  return seen;
}

/** The server's access log (docs/server.md), from line "from" on: [{method, path, status}]. */
function accessLog(env, from = 0) {
  const file = path.join(env.srv.dataDir, 'access.log');
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).slice(from).map((l) => JSON.parse(l));
}

/**
 * Wait until the access log from line "from" on has an entry for which
 * pred() holds (the server writes it just after its reply); returns the
 * entries from "from" on.
 */
async function waitLog(env, from, pred, what) {
  for (let i = 0; ; i++) {
    const logged = accessLog(env, from);
    if (logged.some(pred)) return logged;
    if (i >= 200) throw new Error(`the access log has no ${what}: ${JSON.stringify(logged)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const releaseOf = (u) => (/\/release\/([0-9a-f]{16})\//.exec(u) || [])[1];

describe('behind nginx on one origin, at /metron/', () => {
  let env, seed;
  before(async () => {
    env = await startStack({ deploy: 'nginx' });
    seed = await seedAccount(env, { account: 'nginx-co' });
  });
  after(async () => { if (env) await env.stop(); });

  test('every file comes from the release folder under the sub-path (a year, the right types); the wasm core, uPlot and the catalogues load; a new release shows at the next load',
    async (t) => {
      assert.match(env.url, /^http:\/\/127\.0\.0\.1:\d+\/metron$/);
      const context = await env.browser.newContext({ viewport: { width: 1280, height: 800 } });
      const page = await context.newPage();
      const seen = recordResponses(page);
      const errors = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.goto(`${env.url}/`);
      await signIn(page, { account: 'nginx-co', user: 'admin', password: PASSWORD });
      await waitForPage(page, 'monitor');
      // The viewer charts with uPlot.
      const now = Date.now();
      await gotoRoute(page, `${env.url}/#/viewer?${new URLSearchParams({ channels: `${seed.channels[0]},${seed.channels[1]}`,
        from: String(now - 3600e3), to: String(now) })}`);
      await waitForPage(page, 'viewer');
      await page.waitForFunction(() => Number(document.querySelector('[data-testid=viewer-chart]')?.dataset.drawn || 0) > 0);
      assert.deepEqual(await page.evaluate(() => document.querySelector('[data-testid=viewer-chart]').__chart.uplot
        .series.slice(1).map((s) => s.label)), ['Temperature 1', 'Temperature 2']);
      // The wasm core (built into its module, vendor/wasm/metron_core.mjs),
      // found relative to the modules that import it.
      const release = releaseOf(seen.find((r) => /\/js\/app\.mjs$/.test(r.url)).url);
      assert.ok(release, 'app.mjs came from a release folder');
      const core = await page.evaluate(async (u) => {
        const fsrc = await import(u);
        const m = await fsrc.core();
        return typeof m.alarm;
      }, `${env.url}/release/${release}/js/chart/filesource.mjs`);
      assert.equal(core, 'object');
      // A page's own style sheet, loaded with the page (the route table's css).
      await gotoRoute(page, `${env.url}/#/alarms`);
      await waitForPage(page, 'alarms');
      assert.ok(await page.evaluate(() => [...document.styleSheets].some((s) => s.href
        && s.href.endsWith('/css/alarms.css') && s.cssRules.length > 0)), 'css/alarms.css applied');

      // Nothing left the sub-path: no /api/, /css/ or /js/ at the root.
      const outside = seen.filter((r) => !r.url.startsWith(`${env.url}/`) && !r.url.startsWith('data:'));
      assert.deepEqual(outside.map((r) => r.url), []);
      const files = seen.filter((r) => r.url.startsWith(`${env.url}/release/`));
      for (const kind of ['/js/app.mjs', '/vendor/uplot/uPlot.esm.js', '/vendor/wasm/metron_core.mjs',
        '/i18n/app/en.json', '/css/app.css', '/css/alarms.css']) {
        assert.ok(files.some((r) => r.url.endsWith(kind)), `${kind} from the release folder`);
      }
      for (const r of files) {
        assert.equal(r.status, 200, r.url);
        assert.equal(releaseOf(r.url), release, r.url);
        assert.equal(r.headers['cache-control'], 'public, max-age=31536000, immutable', r.url);
        const ext = path.extname(new URL(r.url).pathname);
        const want = { '.mjs': /^text\/javascript/, '.js': /^text\/javascript/, '.wasm': /^application\/wasm$/,
          '.json': /^application\/json/, '.css': /^text\/css/, '.svg': /^image\/svg\+xml/ }[ext];
        if (want) assert.match(r.headers['content-type'] || '', want, r.url);
      }
      const pageRes = seen.find((r) => r.url === `${env.url}/`);
      assert.equal(pageRes.headers['cache-control'], 'no-cache');
      assert.ok(pageRes.headers.etag, 'the page has a validator');
      const api = seen.filter((r) => r.url.startsWith(`${env.url}/api/v1/`));
      assert.ok(api.length > 3 && api.every((r) => r.status < 500), 'the API through nginx');

      // The next visit (a new tab of the same browser): the page is asked
      // again (304), the release's files come from the browser's cache
      // without a request (nginx's access log sees none).
      const log = path.join(env.nginx.dir, 'access.log');
      const lines = () => fs.readFileSync(log, 'utf8').split('\n').filter(Boolean);
      const n0 = lines().length;
      const again = await context.newPage();
      await gotoRoute(again, `${env.url}/#/monitor`);
      await waitForPage(again, 'monitor');
      await again.waitForSelector('[data-testid=user-menu]');
      const visit = lines().slice(n0).map((l) => (/"GET (\S+) HTTP[^"]*" (\d+)/.exec(l) || []).slice(1, 3).join(' '));
      assert.ok(visit.includes('/metron/ 304'), visit.join('\n'));
      assert.deepEqual(visit.filter((l) => l.includes('/release/')), []);
      t.diagnostic(`first visit: ${files.length} release files fetched; next visit: ${visit.length} requests, ` +
        `${visit.filter((l) => l.includes('/api/')).length} of them to the API, none for release files`);
      await again.close();

      // A new release: its folder next to the old one, then index.html
      // names it. The next load takes it, without any cache to clear.
      const next = 'feedfacefeedface';
      fs.cpSync(path.join(env.dist, 'release', release), path.join(env.dist, 'release', next), { recursive: true });
      const index = path.join(env.dist, 'index.html');
      fs.writeFileSync(`${index}.new`, fs.readFileSync(index, 'utf8').replaceAll(`release/${release}/`, `release/${next}/`));
      fs.renameSync(`${index}.new`, index);
      // The next load: a new tab of the same browser (its cache holds the
      // old release for a year and the page with its ETag).
      const page2 = await context.newPage();
      page2.on('pageerror', (e) => errors.push(String(e)));
      const seen2 = recordResponses(page2);
      await gotoRoute(page2, `${env.url}/#/monitor`);
      await waitForPage(page2, 'monitor');
      await page2.waitForSelector('[data-testid=user-menu]');
      const app = seen2.find((r) => /\/js\/app\.mjs$/.test(r.url));
      assert.equal(releaseOf(app.url), next);
      const used = [...new Set(seen2.filter((r) => r.url.includes('/release/')).map((r) => releaseOf(r.url)))];
      assert.deepEqual(used, [next]);
      assert.deepEqual(errors, []);
      await context.close();
    });

  test('a forwarding header forged by the browser changes nothing: the allow-list and the sessions see the address nginx saw; the known-device cookie is under the sub-path',
    async () => {
      const context = await env.browser.newContext({ extraHTTPHeaders: { 'X-Forwarded-For': '203.0.113.9' } });
      const page = await context.newPage();
      // The account admits only the forged network: the browser is refused.
      await env.psql(`UPDATE accounts SET ip_allow_list = '{203.0.113.0/24}' WHERE id = ${seed.accountId}`);
      await page.goto(`${env.url}/`);
      await page.waitForSelector('#signin-form');
      await page.click('[data-testid=signin-mode-account]');
      await page.fill('#signin-account', 'nginx-co');
      await page.fill('#signin-user', 'admin');
      await page.fill('#signin-password', PASSWORD);
      await page.click('#signin-form button[type=submit]');
      await page.waitForSelector('#signin-form .form-error:not([hidden])');
      assert.equal(await page.textContent('#signin-form .form-error'),
        'Sign-in from this network is not allowed for this account.');
      // Its own address is admitted: signed in, and recorded as 127.0.0.1.
      await env.psql(`UPDATE accounts SET ip_allow_list = '{127.0.0.1/32}' WHERE id = ${seed.accountId}`);
      await page.click('#signin-form button[type=submit]');
      await page.waitForSelector('[data-testid=user-menu]');
      const r = await pageFetch(page, env, '/api/v1/me/sessions');
      assert.equal(r.status, 200);
      assert.equal(r.body.items.find((s) => s.current).ip, '127.0.0.1');
      const cookies = await context.cookies(`${env.url}/api/v1/auth/login`);
      assert.equal(cookies.find((c) => c.name === 'metron_device').path, '/metron/api/v1/auth');
      assert.equal(cookies.find((c) => c.name === 'metron_session').path, '/');
      await env.psql(`UPDATE accounts SET ip_allow_list = '{}' WHERE id = ${seed.accountId}`);
      await context.close();
    });

  test('the offline viewer of the same folder works from file:// (its bundle in the release folder)', async () => {
    const hok = path.join(env.dist, 'sample.hok2');
    fs.writeFileSync(hok, await makeHok2({ rows: 2000, channels: 2, start: Date.UTC(2024, 4, 1), stepMs: 1000 }));
    const { browser, page } = await openBrowser({ viewport: 'pc' });
    try {
      await page.goto(url.pathToFileURL(path.join(env.dist, 'offline.html')).href);
      await page.waitForSelector('body[data-ready=true]');
      await page.setInputFiles('#ov-file', hok);
      await page.waitForSelector('#ov-chart[data-drawn]');
      const labels = await page.evaluate(() => document.getElementById('ov-chart').__chart.uplot.series.slice(1).map((s) => s.label));
      assert.deepEqual(labels, ['CH1', 'CH2']);
      assert.deepEqual(page.consoleErrors, []);
    } finally {
      await browser.close();
    }
  });
});

describe('the portal on one origin, the API on another (--cors-origins)', () => {
  let env;
  before(async () => {
    env = await startStack({ deploy: 'cors' });
    await seedAccount(env, { account: 'cors-co' });
  });
  after(async () => { if (env) await env.stop(); });

  test('the portal calls the API on its origin with credentials; a page cannot even send a forwarding header there', async (t) => {
    const apiOrigin = new URL(env.apiUrl).origin;
    assert.notEqual(new URL(env.url).origin, apiOrigin);
    const context = await env.browser.newContext();
    const page = await context.newPage();
    const seen = recordResponses(page);
    const log0 = accessLog(env).length;
    await page.goto(`${env.url}/`);
    await signIn(page, { account: 'cors-co', user: 'admin', password: PASSWORD });
    await waitForPage(page, 'monitor');
    await page.waitForSelector('[data-testid=user-menu]');
    const api = seen.filter((r) => r.url.startsWith(`${apiOrigin}/api/v1/`));
    assert.ok(api.length > 3, 'API requests go to the API origin');
    assert.ok(api.filter((r) => r.status < 300).every((r) => r.headers['access-control-allow-origin'] === new URL(env.url).origin
      && r.headers['access-control-allow-credentials'] === 'true'));
    assert.deepEqual(seen.filter((r) => r.url.startsWith(`${env.url}/api/`)).map((r) => r.url), []);
    const r = await pageFetch(page, env, '/api/v1/me/sessions');
    assert.equal(r.body.items.find((s) => s.current).ip, '127.0.0.1');
    // X-Forwarded-For is not among the request headers the preflight
    // allows: the browser refuses to send it (and the server would not read
    // it from a client that is not a trusted proxy: tests/server/deploy).
    const forged = await page.evaluate(async (u) => {
      try {
        return (await fetch(u, { credentials: 'include', headers: { 'X-Forwarded-For': '203.0.113.9' } })).status;
      } catch (e) { return e.name; }
    }, `${env.apiUrl}/api/v1/me/sessions`);
    assert.equal(forged, 'TypeError');
    // A write from the portal's origin: cookie + CSRF token.
    const w = await pageFetch(page, env, '/api/v1/me', { method: 'PATCH', body: { name: 'Cross Origin' } });
    assert.equal(w.status, 200, JSON.stringify(w.body));
    await shot(page, 'deploy-cors-monitor');
    // Reads are simple requests; only writes (JSON, X-CSRF-Token) need a
    // preflight (the browser keeps its answer for Access-Control-Max-Age;
    // Playwright does not report preflights: the server's log has them).
    const logged = await waitLog(env, log0, (x) => x.method === 'PATCH' && x.path === '/api/v1/me', 'PATCH /me');
    const pre = logged.filter((x) => x.method === 'OPTIONS');
    assert.ok(pre.length >= 1 && pre.every((x) => x.status === 204), JSON.stringify(pre));
    t.diagnostic(`sign-in, monitor, the forged probe and one write: ${logged.length - pre.length} API requests, ${pre.length} preflights (` +
      `${[...new Set(pre.map((x) => x.path))].join(', ')})`);
    await context.close();
  });

  test('the same portal from an origin not on the list cannot sign in: the browser stops at the refused preflight',
    async () => {
      // localhost:<port> is the same nginx, but not the listed origin.
      const other = env.url.replace('127.0.0.1', 'localhost');
      const context = await env.browser.newContext();
      const page = await context.newPage();
      const consoleErrors = [];
      page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
      const sessions = () => env.psql(`SELECT count(*) FROM sessions s JOIN accounts a ON a.id = s.account_id
        WHERE a.login_id = 'cors-co'`);
      const before = await sessions();
      const log0 = accessLog(env).length;
      await page.goto(`${other}/`);
      await page.waitForSelector('#signin-form');
      await page.click('[data-testid=signin-mode-account]');
      await page.fill('#signin-account', 'cors-co');
      await page.fill('#signin-user', 'admin');
      await page.fill('#signin-password', PASSWORD);
      await page.click('#signin-form button[type=submit]');
      await page.waitForSelector('#signin-form .form-error:not([hidden])');
      assert.equal(await page.textContent('#signin-form .form-error'),
        'The server cannot be reached. Check your connection and try again.');
      assert.equal(await page.$('[data-testid=user-menu]'), null);
      assert.ok(consoleErrors.some((e) => /CORS policy/.test(e)), consoleErrors.join('\n'));
      // The server saw the preflight, refused it, and nothing else.
      const logged = await waitLog(env, log0,
        (x) => x.method === 'OPTIONS' && x.path === '/api/v1/auth/login' && x.status === 403, 'refused preflight');
      assert.deepEqual(logged.filter((x) => x.method === 'POST'), []);
      // No session came of it.
      assert.equal(await sessions(), before);
      await context.close();
    });
});

test('scripts/portal-dist: one release folder per content, written again changes nothing in it; the API address goes into the page; a bad one is refused',
  () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'metron-dist-'));
    const dist = (...args) => spawnSync(process.execPath, [path.join(repoRoot, 'scripts', 'portal-dist.mjs'), out, ...args],
      { encoding: 'utf8' });
    try {
      let r = dist('--api', 'https://api.example.test/api/v1');
      assert.equal(r.status, 0, r.stderr);
      const releases = fs.readdirSync(path.join(out, 'release'));
      assert.equal(releases.length, 1);
      assert.match(releases[0], /^[0-9a-f]{16}$/);
      const index = fs.readFileSync(path.join(out, 'index.html'), 'utf8');
      assert.match(index, /<meta name="metron-api" content="https:\/\/api\.example\.test\/api\/v1">/);
      assert.match(index, new RegExp(`<script type="module" src="release/${releases[0]}/js/app.mjs">`));
      assert.doesNotMatch(index, /(href|src)="(css|js|vendor|i18n)\//);
      const offline = fs.readFileSync(path.join(out, 'offline.html'), 'utf8');
      assert.match(offline, new RegExp(`src="release/${releases[0]}/vendor/offline.bundle.js"`));
      const app = path.join(out, 'release', releases[0], 'js', 'app.mjs');
      const before = fs.statSync(app).mtimeMs;
      r = dist();
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(fs.readdirSync(path.join(out, 'release')), releases);
      assert.equal(fs.statSync(app).mtimeMs, before);
      assert.match(fs.readFileSync(path.join(out, 'index.html'), 'utf8'), /<meta name="metron-api" content="">/);
      r = dist('--api', 'https://x.test/"><script>');
      assert.equal(r.status, 2);
      assert.match(r.stderr, /--api must be a URL/);
      r = dist('--api');
      assert.equal(r.status, 2);
      assert.match(r.stderr, /--api needs a value/);
      assert.deepEqual(fs.readdirSync(path.join(out, 'release')), releases);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
