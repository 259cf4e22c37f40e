// Browser harness for the portal's end-to-end tests (node --test tests/portal/).
//
//   import { startStack, openBrowser, openPage, signIn, shot } from './browser.mjs';
//   const env = await startStack();                  // PostgreSQL + metron-server + portal/
//                                                    // ({demo: true}: the demo accounts too)
//   const { accountId } = await env.createAccount({ account: 'acme', plan: 'pro',
//     user: 'admin', password: 'Passw0rd!' });
//   const page = await openPage(env, { size: 'pc' });   // 1366x768, or 'phone' (375x667)
//   await signIn(page, { account: 'acme', user: 'admin', password: 'Passw0rd!' });
//   await gotoRoute(page, env.url + '/#/monitor');  // and waits until it has drawn
//   await shot(page, 'monitor-pc');                  // build/portal-shots/monitor-pc.png
//   assert.deepEqual(page.cspErrors, []);            // console messages about CSP
//   await env.stop();                                // browsers, server, PostgreSQL
//
// openBrowser({ viewport }) is the other way in: its own Chromium and one page,
// { browser, page } (close it with browser.close()).
//
// Waiting for what a page shows: gotoRoute, waitForPage, afterRender and
// waitRendered (the router's rendered mark, at the end of this file), not a
// selector that the page before had too, nor a fixed time.
//
// The server serves the repository's portal/ folder, whose vendor/ subfolder
// (uPlot, the WebAssembly core, the QR code library) the default CMake build
// fills (target portal_vendor). METRON_SERVER_BIN names the server binary
// (default build/server/metron-server-test); METRON_CHROMIUM the browser,
// driven by playwright-core: in a test file Debian's chromium-headless-shell
// (scripts/bootstrap installs it), else its chromium. The headless shell is
// the same Chromium (version, Blink, V8) without the desktop browser's
// profile services: a new context (every openPage) costs a third of the
// CPU, which is most of a portal file's CPU (docs/testing.md "Suite time").
// Benchmarks and scripts (tests/bench/portal_bench.mjs, scripts/portal-*)
// keep the desktop chromium that their figures were measured with.
//
// The three ways of hosting the portal (docs/deploy.md) are startStack's
// option deploy, or METRON_PORTAL_DEPLOY for a whole run of test files:
//   server  metron-server serves portal/ (the default);
//   nginx   nginx (deploy/nginx/metron.conf) serves scripts/portal-dist's
//           folder at /metron/ and passes /metron/api/ to the server from
//           127.0.0.2, which the server trusts as its proxy (the browser,
//           at 127.0.0.1, is a client like any other): env.url is
//           http://127.0.0.1:<nginx>/metron;
//   cors    nginx (deploy/nginx/metron-static.conf) serves the portal-dist
//           folder on one loopback port, made with --api pointing at the
//           server on another, whose --cors-origins lists the portal's
//           origin: env.url is the portal, env.apiUrl the server.
// env.apiUrl is where the API is reached from node (the same as env.url
// but in the cors way).
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { chromium } from 'playwright-core';
import {
  destroyChecked, startPostgres, startServer, startSmtpSink, createAccount, createUser, login, request,
  setClock, repoRoot, sleep, freePort, tempDir, underTest,
} from '../server/harness.mjs';
import { startNginx } from '../server/nginx.mjs';

export { repoRoot, sleep, request, startSmtpSink };
export const portalDir = path.join(repoRoot, 'portal');
/** The deploy way of this run of test files: METRON_PORTAL_DEPLOY or 'server'. */
export const DEPLOY_WAY = process.env.METRON_PORTAL_DEPLOY || 'server';
/** Where shot() writes: build/portal-shots, or build/portal-shots/<way> in
 * the nginx and cors ways (scripts/test runs them beside the server way's
 * run, whose pictures scripts/portal-review-shots.mjs reads). */
export const shotsDir = path.join(repoRoot, 'build', 'portal-shots', ...(DEPLOY_WAY === 'server' ? [] : [DEPLOY_WAY]));
export const chromiumBin = process.env.METRON_CHROMIUM ||
  (underTest && fs.existsSync('/usr/bin/chromium-headless-shell') ? '/usr/bin/chromium-headless-shell' : '/usr/bin/chromium');

/** Viewport sizes of the tests: a desktop PC, a 375 px phone (I3) and a 390×844 phone. */
export const SIZES = {
  pc: { width: 1366, height: 768 },
  phone: { width: 375, height: 667 },
  phone390: { width: 390, height: 844 },
};

/** The demo accounts of metron-server --demo (server/svc/svc_demo.c). */
export const DEMO = {
  password: 'Demo-pass1',
  trial: { email: 'trial@demo.metron.test' },
  free: { account: 'demo-free', user: 'admin' },
  standard: { account: 'demo-standard', user: 'admin' },
  pro: { account: 'demo-pro', alt: 'pro-demo', user: 'admin' },
};

const LAUNCH = {
  executablePath: chromiumBin,
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
};

/**
 * Launch Chromium with one page of the given viewport ('pc', 'phone' or
 * {width, height}); the page collects console errors like openPage().
 * Returns { browser, page }.
 */
export async function openBrowser({ viewport = 'pc' } = {}) {
  const browser = await chromium.launch(LAUNCH);
  const context = await browser.newContext({ viewport: SIZES[viewport] || viewport });
  const page = await context.newPage();
  watchConsole(page);
  return { browser, page };
}

function watchConsole(page) {
  page.consoleErrors = [];
  page.cspErrors = [];
  page.on('console', (msg) => {
    if (msg.type() !== 'error' && msg.type() !== 'warning') return;
    const text = msg.text();
    if (/Content.Security.Policy|CSP/i.test(text)) page.cspErrors.push(text);
    // The browser logs failed requests (401 before sign-in, refusals the test
    // provokes) as errors; they are not script errors.
    if (msg.type() === 'error' && !/Failed to load resource/.test(text)) {
      page.consoleErrors.push(text);
    }
  });
  page.on('pageerror', (e) => page.consoleErrors.push(String((e && e.stack) || e)));
}

/** Throws a clear message when portal/vendor has not been filled by the build. */
export function checkVendor() {
  const need = ['uplot/uPlot.esm.js', 'wasm/metron.mjs'];
  const missing = need.filter((f) => !fs.existsSync(path.join(portalDir, 'vendor', f)));
  if (missing.length) {
    throw new Error(`portal/vendor lacks ${missing.join(', ')}: run cmake --build build ` +
      '(target portal_vendor) first');
  }
}

/**
 * Start PostgreSQL, metron-server serving portal/ and one headless Chromium.
 * Options: demo (true: the server creates the demo accounts of DEMO), smtp
 * (true: also start an SMTP sink and point the server at it), env, args
 * (extra server environment / flags), deploy ('server' | 'nginx' | 'cors',
 * see above; default METRON_PORTAL_DEPLOY or 'server'), portalDir (the
 * folder metron-server serves, default portal/: a benchmark's earlier
 * version of it; the server way only).
 * Returns { url, apiUrl, deploy, nginx, dist, srv, pg, smtp, browser,
 * psql(sql), createAccount(o), createUser(o), login(o), setClock(s), restartServer(), stop() }
 * (nginx and dist, the portal-dist folder, only in the nginx and cors ways).
 * createAccount/createUser/login take the options of tests/server/harness.mjs.
 */
export async function startStack(options = {}) {
  checkVendor();
  // Tests need speed; benchmarks pass { durable: true } (PostgreSQL's defaults).
  const pg = await startPostgres({ durable: !!options.durable });
  const dbUrl = await pg.createDatabase();
  let smtp = null;
  const env = { ...(options.env || {}) };
  if (options.smtp) {
    // Python's start-up can pass the harness's 10 s on a loaded machine: retry.
    for (let attempt = 1; !smtp; attempt++) {
      try {
        smtp = await startSmtpSink();
      } catch (e) {
        if (attempt >= 3) throw e;
      }
    }
    env.METRON_SMTP_URL = smtp.url;
    env.METRON_SMTP_TLS = 'optional'; // the local sink speaks plain SMTP
    env.METRON_SMTP_FROM = 'metron@example.test';
  }
  const args = [...(options.demo ? ['--demo'] : []), ...(options.args || [])];
  const deploy = options.deploy || process.env.METRON_PORTAL_DEPLOY || 'server';
  if (!['server', 'nginx', 'cors'].includes(deploy)) throw new Error(`unknown deploy way "${deploy}"`);
  let ngxPort = 0;
  if (deploy !== 'server') {
    ngxPort = await freePort();
    const portalUrl = `http://127.0.0.1:${ngxPort}${deploy === 'nginx' ? '/metron' : ''}`;
    env.METRON_PUBLIC_URL = portalUrl; // links in mails go to the portal
    args.push(...(deploy === 'nginx' ? ['--trusted-proxies', NGINX_BIND]
      : ['--cors-origins', `http://127.0.0.1:${ngxPort}`]));
  }
  const srvOptions = { databaseUrl: dbUrl, portalDir: options.portalDir || portalDir, env, args };
  let srv = await startServer(srvOptions);
  let ngx = null;
  let dist = null;
  let url = srv.url;
  if (deploy !== 'server') {
    dist = portalDist(deploy === 'cors' ? ['--api', `${srv.url}/api/v1`] : []);
    ngx = deploy === 'nginx'
      ? await startNginx('metron.conf', { LISTEN: `127.0.0.1:${ngxPort}`, PREFIX: '/metron/',
        PORTAL_DIR: dist, SERVER: `127.0.0.1:${srv.port}` }, { proxyBind: NGINX_BIND })
      : await startNginx('metron-static.conf', { LISTEN: `127.0.0.1:${ngxPort}`, PORTAL_DIR: dist,
        API_ORIGIN: srv.url });
    url = env.METRON_PUBLIC_URL;
  }
  const browser = await chromium.launch(LAUNCH);
  const dbName = new URL(dbUrl).pathname.slice(1);
  const stack = {
    url, apiUrl: deploy === 'cors' ? srv.url : url, deploy, nginx: ngx, dist, srv, pg, smtp, browser,
    psql: (sql) => pg.psql(sql, dbName),
    createAccount: (o) => createAccount(srv.url, o),
    createUser: (o) => createUser(srv.url, o),
    login: (o) => login(srv.url, o),
    setClock: (s) => setClock(srv.url, s),
    async stop() {
      try { await browser.close(); } catch { /* already closed */ }
      if (ngx) await ngx.stop();
      await srv.stop();
      if (smtp) await smtp.stop();
      if (dist) fs.rmSync(dist, { recursive: true, force: true });
      await destroyChecked(pg); // throws when the outbox shows a person a code
    },
    /**
     * Stop the server (SIGTERM: it drains, as in an upgrade) and start it
     * again on the same port and data folder; env.srv is the new one.
     */
    async restartServer() {
      await srv.stop();
      srv = await startServer({ ...srvOptions, dataDir: srv.dataDir,
        args: [...args, '--listen', `127.0.0.1:${srv.port}`] });
      stack.srv = srv;
    },
  };
  return stack;
}


/**
 * Options of a test that the nginx and cors ways leave out: a file that
 * scripts/test runs in those ways too but not whole (the console, the app
 * share page) runs its named subset there, the tests about what the deploy
 * way changes, and skips the others with this.
 */
export const SERVER_WAY_ONLY = { skip: DEPLOY_WAY !== 'server' && `not part of this file's ${DEPLOY_WAY}-way subset` };

/** The address nginx connects to the server from in the nginx way. */
const NGINX_BIND = '127.0.0.2';

/**
 * The portal as scripts/portal-dist.mjs makes it for a static host, in a new
 * temporary folder ("args": e.g. ['--api', URL]); returns the folder.
 */
export function portalDist(args = []) {
  const dir = tempDir('metron-dist-');
  const r = spawnSync(process.execPath, [path.join(repoRoot, 'scripts', 'portal-dist.mjs'), dir, ...args],
    { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`scripts/portal-dist.mjs failed: ${r.stderr}${r.stdout}`);
  return dir;
}

/** The same as startStack. */
export const startPortal = (o) => startStack(o);

/**
 * A new browser context and page at env.url. Options: size ('pc' | 'phone' |
 * 'phone390' | {width, height}), lang (the browser's language, e.g.
 * 'de-DE'), zone (the browser's time zone, e.g. 'Asia/Tokyo'; default the
 * machine's), path (default '/'), clock (true: Playwright's clock installed
 * before the portal loads; time goes on as usual until the test moves it
 * with page.clock.fastForward(ms), which fires the portal's timers that
 * fall due, instead of waiting them out).
 * The page collects page.consoleErrors (every console error and page error)
 * and page.cspErrors (those about the Content-Security-Policy).
 */
export async function openPage(env, { size = 'pc', lang = 'en-US', zone, path: p = '/', clock = false } = {}) {
  const phone = String(size).startsWith('phone');
  const context = await env.browser.newContext({
    viewport: SIZES[size] || size, locale: lang, deviceScaleFactor: 1,
    isMobile: phone, hasTouch: phone, ...(zone ? { timezoneId: zone } : {}),
  });
  if (clock) await context.clock.install();
  const page = await context.newPage();
  watchConsole(page);
  await page.goto(env.url + p);
  return page;
}

/**
 * Sign in through the portal's form: { account, user, password } or
 * { email, password } (Trial), plus code (string or async function of the
 * challenge kind 'totp' | 'email') for a two-step user. Waits until the
 * shell shows the signed-in user menu.
 */
export async function signIn(page, { account, user, email, password, code } = {}) {
  await page.waitForSelector('#signin-form');
  if (email) {
    await page.click('[data-testid=signin-mode-email]');
    await page.fill('#signin-email', email);
  } else {
    await page.click('[data-testid=signin-mode-account]');
    await page.fill('#signin-account', account);
    await page.fill('#signin-user', user);
  }
  await page.fill('#signin-password', password);
  await page.click('#signin-form button[type=submit]');
  if (code !== undefined) {
    await page.waitForSelector('#twostep-form');
    const kind = await page.getAttribute('#twostep-form', 'data-kind');
    const c = typeof code === 'function' ? await code(kind) : code;
    await page.fill('#twostep-code', c);
    await page.click('#twostep-form button[type=submit]');
  }
  await page.waitForSelector('[data-testid=user-menu]');
  // The portal records its language in a profile that has none (app.mjs,
  // enter()): done before the test goes on, so that it never lands after
  // what the test does next (another sign-in of the same user, a reset).
  await page.waitForFunction(() => !document.documentElement.dataset.recording);
}

/**
 * Save a screenshot as build/portal-shots/<name>.png (the whole page, or
 * with {fullPage: false} the window only); returns the path.
 */
export async function shot(page, name, { fullPage = true } = {}) {
  fs.mkdirSync(shotsDir, { recursive: true });
  const file = path.join(shotsDir, `${name}.png`);
  await page.screenshot({ path: file, fullPage });
  return file;
}

/**
 * A request from inside the page, as the portal makes it: to env.apiUrl
 * ("path" like "/api/v1/me"), with the page's cookies, and on writes the
 * page's CSRF token. Resolves to { status, body } (body: parsed JSON or null).
 */
export function pageFetch(page, env, p, { method = 'GET', body } = {}) {
  return page.evaluate(async ({ u, method, body }) => {
    const headers = {};
    if (method !== 'GET' && method !== 'HEAD') headers['X-CSRF-Token'] = sessionStorage.getItem('metron.csrf');
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await fetch(u, { method, headers, credentials: 'include',
      body: body === undefined ? undefined : JSON.stringify(body) });
    let json = null;
    try { json = await res.json(); } catch { /* no JSON */ }
    return { status: res.status, body: json };
  }, { u: env.apiUrl + p, method, body });
}

/**
 * The address of the portal's module "rel" (e.g. 'js/i18n.mjs') as the page
 * loaded it, for a test that imports it in page.evaluate() (its formatting,
 * setLanguage()). Beside the page's own app.mjs, so it is the same module,
 * with the portal's language and time zone, in every deploy way: a path
 * relative to the page ('./js/i18n.mjs') names it only where metron-server
 * serves portal/ as it is; scripts/portal-dist puts the modules under
 * release/<id>/ (nginx answered 404 for <prefix>js/i18n.mjs).
 */
export function portalModule(page, rel) {
  return page.evaluate((r) => {
    const app = [...document.querySelectorAll('script[type=module][src]')].find((s) => /\/js\/app\.mjs$/.test(s.src));
    if (!app) throw new Error('the page has no script js/app.mjs');
    return new URL(`../${r}`, app.src).href;
  }, rel);
}

/**
 * Wait until the router has shown `page` (the main area's data-page) and the
 * page has drawn with its data (the rendered mark of that route, below).
 * After an action that draws the same route again (a folder opened, a
 * filter applied), wait with afterRender instead: this one would see the
 * mark of the render before.
 */
export async function waitForPage(page, name) {
  await page.waitForSelector(`#main[data-page="${name}"]`);
  await waitRendered(page, { route: name });
}

/**
 * Fail unless the page fits a phone: no horizontal scrolling of the document
 * (scrollWidth <= the viewport width).
 */
export async function assertFits(page, what = '') {
  const { sw, vw } = await page.evaluate(() => ({ sw: document.documentElement.scrollWidth, vw: window.innerWidth }));
  if (sw > vw) throw new Error(`${what}: document.documentElement.scrollWidth ${sw} > ${vw}`);
}

/** document.documentElement.scrollWidth of the page (<= 375 on a phone). */
export async function scrollWidth(page) {
  return page.evaluate(() => document.documentElement.scrollWidth);
}

// ------------------------------------------------------------ the rendered mark
// The portal's router (portal/js/router.mjs) sets <body data-rendered=
// "<route>:<n>"> once the current route's page has drawn with its data, and
// again after each reload a page tracks (a list after a save or a filter);
// <body data-busy> while it draws. Reading a table right after a hash change
// or a click can read the one that was there before; waiting for a new mark
// cannot.

/**
 * Wait until the page is not drawing and its rendered mark is other than
 * "since" (when given) and of route "route" (when given, e.g. 'drive' or
 * 'admin/audit'); returns the mark.
 */
export async function waitRendered(page, { since, route, timeout } = {}) {
  await page.waitForFunction(({ since, route }) => {
    const b = document.body;
    const m = b && !b.dataset.busy ? b.dataset.rendered : '';
    if (!m || (since !== undefined && since !== null && m === since)) return false;
    return route === undefined || route === null || m.slice(0, m.lastIndexOf(':')) === route;
  }, { since, route }, timeout ? { timeout } : undefined);
  return page.evaluate(() => document.body.dataset.rendered);
}

/**
 * Run "action" (async) once the page has finished drawing, then wait for the
 * render it causes (a route change, a reload of a list after a save...).
 * Options of waitRendered (route, timeout). Returns the new mark.
 */
export async function afterRender(page, action, opts = {}) {
  const since = await waitRendered(page, { timeout: opts.timeout });
  await action();
  return waitRendered(page, { ...opts, since });
}

/**
 * Go to a portal address ("url": env.url + '/#/drive?...', or just the
 * hash '#/drive') and wait until its page has drawn with its data. On the
 * portal's own document this changes the hash (the same hash draws the page
 * again), else it loads the address. Options of waitRendered (route
 * defaults to nothing: a guard may redirect, e.g. to sign-in). Returns the mark.
 */
export async function gotoRoute(page, url, opts = {}) {
  const cur = page.url();
  const target = new URL(url, /^https?:/.test(cur) ? cur : undefined);
  const here = /^https?:/.test(cur) && cur.split('#')[0] === target.href.split('#')[0];
  if (!here) {
    await page.goto(target.href);
    return waitRendered(page, opts);
  }
  return afterRender(page, () => page.evaluate((hash) => {
    if (location.hash === hash) window.dispatchEvent(new HashChangeEvent('hashchange'));
    else location.hash = hash;
  }, target.hash || '#/'), opts);
}

/**
 * A screenshot in build/portal-shots; with METRON_DOC_SHOTS=1 also copied
 * into docs/img (the pictures of docs/portal.md), so that an ordinary run
 * leaves the work tree as it was.
 */
export async function docShot(page, name, opts) {
  const file = await shot(page, name, opts);
  if (process.env.METRON_DOC_SHOTS === '1') {
    fs.copyFileSync(file, path.join(repoRoot, 'docs', 'img', `${name}.png`));
  }
  return file;
}

/**
 * A new page of "env" signed in as acme's admin (password "password"), at
 * "#/route" once its page has drawn; "size", "lang" and "clock" as openPage().
 */
export async function openSignedIn(env, route, password, { size = 'pc', lang, clock = false } = {}) {
  const page = await openPage(env, { size, clock, ...(lang ? { lang } : {}) });
  await signIn(page, { account: 'acme', user: 'admin', password });
  await gotoRoute(page, `${env.url}/#/${route}`);
  return page;
}

/** Open `route` (account or admin/account), choose the longest name of its
 * time-zone field, and read what the closed field shows: the option's text
 * (label), the face's (face), whether the face cuts it (cut), whether the
 * select lies over the face (covers) and on how many lines (lines). */
export async function longestZoneShown(page, env, route) {
  await gotoRoute(page, `${env.url}/#/${route}`, { route });
  await page.waitForSelector('select[name=time_zone] option', { state: 'attached' });
  const longest = await page.$eval('select[name=time_zone]', (s) => [...s.options]
    .reduce((a, o) => (o.textContent.length > a.textContent.length ? o : a)).value);
  await page.selectOption('select[name=time_zone]', longest);
  return page.$eval('select[name=time_zone]', (s) => {
    const face = s.parentElement.querySelector('.select-face');
    const r = face.getBoundingClientRect(), sr = s.getBoundingClientRect();
    return { label: s.options[s.selectedIndex].textContent, face: face.textContent, cut: face.scrollWidth > face.clientWidth,
      covers: Math.abs(r.width - sr.width) < 1 && Math.abs(r.height - sr.height) < 1,
      lines: Math.round(r.height / parseFloat(getComputedStyle(face).lineHeight)) };
  });
}
