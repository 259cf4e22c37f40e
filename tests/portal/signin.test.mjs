// Sign-in in Chromium (A1-A5): account ID, alternative login ID, trial
// e-mail, TOTP enrolment and two-step sign-in, the reset e-mail through the
// SMTP sink, logout, and the automatic logout after 24 h idle. In the nginx
// and cors ways (docs/deploy.md, METRON_PORTAL_DEPLOY) the tests of what
// the deploy way changes run: the session's cookie and CSRF token through
// nginx at a sub-path or across origins (sign-in, logout, a PUT from the
// page), the shell's requests under the sub-path, a refusal and the 401 of
// an ended session read across origins, the QR code library loaded from
// the sub-path, the reset link pointing at the portal's own address, and
// the language recorded through an older server's refusal (a rolling
// upgrade: read across origins too); the alternative login ID, the trial e-mail, two-step by e-mail and the
// browser's language are the server's and the page's alike in every way.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, openPage, signIn, shot, waitForPage, pageFetch, gotoRoute, SERVER_WAY_ONLY } from './browser.mjs';
import { PASSWORD, totp } from './fixtures.mjs';

let env;
before(async () => {
  env = await startStack({ smtp: true });
  await env.createAccount({ account: 'acme', altAccount: 'acme-alt', plan: 'pro', user: 'admin',
    password: PASSWORD, email: 'admin@acme.example.test', userName: 'Ada Admin' });
  await env.createAccount({ plan: 'trial', user: 'tess@trial.example.test', email: 'tess@trial.example.test',
    password: PASSWORD, userName: 'Tess Trial' });
});
after(async () => { if (env) await env.stop(); });

async function logout(page) {
  await page.click('#user-button');
  await page.click('[data-testid=logout]');
  await page.waitForSelector('#signin-form');
}

test('account ID + user ID + password; logout shows the sign-in page with a message', async () => {
  const page = await openPage(env);
  await shot(page, 'signin-pc');
  await signIn(page, { account: 'acme', user: 'admin', password: PASSWORD });
  await waitForPage(page, 'monitor');
  assert.equal(await page.textContent('#user-button .user-name'), 'Ada Admin');
  await logout(page);
  assert.match(await page.textContent('[data-testid=signin-reason]'), /signed out/);
  // The session is gone on the server too.
  const r = await pageFetch(page, env, '/api/v1/auth/session');
  assert.equal(r.status, 401);
  assert.deepEqual(page.cspErrors, []);
  assert.deepEqual(page.consoleErrors, []);
  await page.context().close();
});

// Issue 15: the shell's requests at the start of a page (sign-in state,
// profile, groups, account for the logo and the over-quota banner, unread
// count, maintenance) are each made once, also when the first page reads
// the account too (admin/account).
test('a page load makes each of the shell\'s requests once (network log)', async () => {
  const page = await openPage(env);
  const asked = [];
  page.on('request', (r) => {
    // The API under a sub-path too (nginx: /metron/api/v1/...).
    const p = new URL(r.url()).pathname;
    const at = p.indexOf('/api/v1/');
    if (at >= 0) asked.push(`${r.method()} ${p.slice(at + 7)}`);
  });
  const SHELL = ['GET /auth/session', 'GET /maintenance', 'GET /me', 'GET /groups', 'GET /me/group',
    'GET /account', 'GET /notifications/unread-count'];
  const counts = (names) => Object.fromEntries(names.map((n) => [n, asked.filter((x) => x === n).length]));
  const once = (names) => Object.fromEntries(names.map((n) => [n, 1]));
  await signIn(page, { account: 'acme', user: 'admin', password: PASSWORD });
  await waitForPage(page, 'monitor');
  // The sign-in (openPage's load asked the session and maintenance, maybe
  // before the log began): the signed-in shell's requests once each.
  const signedIn = SHELL.slice(2);
  assert.deepEqual(counts(signedIn), once(signedIn), asked.join(', '));
  assert.ok(counts(['GET /maintenance'])['GET /maintenance'] <= 1, asked.join(', '));
  for (const route of ['monitor', 'admin/account']) {
    await gotoRoute(page, `#/${route}`, { route });
    asked.length = 0;
    await page.reload();
    await waitForPage(page, route);
    assert.deepEqual(counts(SHELL), once(SHELL), `${route}: ${asked.join(', ')}`);
  }
  assert.deepEqual(page.consoleErrors, []);
  await page.context().close();
});

test('a wrong password is refused with a sentence, not a code', async () => {
  const page = await openPage(env);
  await page.waitForSelector('#signin-form');
  await page.fill('#signin-account', 'acme');
  await page.fill('#signin-user', 'admin');
  await page.fill('#signin-password', 'Wrong-pass1');
  await page.click('#signin-form button[type=submit]');
  await page.waitForSelector('#signin-form .form-error:not([hidden])');
  assert.match(await page.textContent('#signin-form .form-error'), /account, user or password is not right/);
  await page.context().close();
});

test('the alternative login account ID signs in through the same form (Pro, P23)', SERVER_WAY_ONLY, async () => {
  const page = await openPage(env);
  await signIn(page, { account: 'acme-alt', user: 'admin', password: PASSWORD });
  await waitForPage(page, 'monitor');
  await page.context().close();
});

test('a trial user signs in with e-mail + password', SERVER_WAY_ONLY, async () => {
  const page = await openPage(env);
  await signIn(page, { email: 'tess@trial.example.test', password: PASSWORD });
  await waitForPage(page, 'monitor');
  assert.equal(await page.textContent('#user-button .user-name'), 'Tess Trial');
  await page.context().close();
});

test('TOTP: enrolment with a QR code, then sign-in with a code computed from the secret', async () => {
  const page = await openPage(env);
  await signIn(page, { account: 'acme', user: 'admin', password: PASSWORD });
  await gotoRoute(page, `${env.url}/#/account`);
  await waitForPage(page, 'account');
  await page.click('[data-testid=totp-enrol]');
  await page.waitForSelector('[data-testid=totp-qr]');
  const src = await page.getAttribute('[data-testid=totp-qr]', 'src');
  assert.match(src, /^data:image\/gif;base64,/);
  // Shown in groups of four, as authenticator apps show it.
  const shown = (await page.textContent('[data-testid=totp-secret]')).trim();
  assert.match(shown, /^[A-Z2-7]{4}( [A-Z2-7]{4}){7}$/);
  const secret = shown.replace(/ /g, '');
  await shot(page, 'totp-enrol-pc');
  assert.doesNotMatch(await page.textContent('dialog'), /\bnull\b|undefined/);
  await page.fill('#totp-code', totp(secret));
  await page.click('#totp-form button[type=submit]');
  await page.waitForSelector('#totp-form', { state: 'detached' });
  await page.waitForFunction(() => document.querySelector('[data-testid=two-step-mode]')
    && /Authenticator/.test(document.querySelector('[data-testid=two-step-mode]').textContent));
  await logout(page);
  // The code of the next 30 s step (one step either side is accepted, and
  // each step only once: the enrolment used the current one).
  await signIn(page, { account: 'acme', user: 'admin', password: PASSWORD,
    code: (kind) => { assert.equal(kind, 'totp'); return totp(secret, Math.floor(Date.now() / 30000) + 1); } });
  await waitForPage(page, 'monitor');
  // Back to no second step for the other tests.
  const r = await pageFetch(page, env, '/api/v1/me/two-step', { method: 'PUT', body: { mode: 'off' } });
  assert.equal(r.status, 200);
  assert.deepEqual(page.consoleErrors, []);
  await page.context().close();
});

test('two-step by e-mail: the code from the mail completes the sign-in', SERVER_WAY_ONLY, async () => {
  const api = await env.login({ account: 'acme', user: 'admin', password: PASSWORD });
  assert.equal((await api.put('/api/v1/me/two-step', { mode: 'email' })).status, 200);
  const page = await openPage(env);
  const before = env.smtp.messages().length;
  try {
    await signIn(page, { account: 'acme', user: 'admin', password: PASSWORD, code: async (kind) => {
      assert.equal(kind, 'email');
      assert.match(await page.textContent('#twostep-form .intro'), /sent a 6-digit code/);
      for (let i = 0; i < 100; i++) {
        const mails = env.smtp.messages().slice(before);
        const m = mails.map((x) => /sign-in code is (\d{6})/.exec(x)).find(Boolean);
        if (m) return m[1];
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error('no code arrived');
    } });
    await waitForPage(page, 'monitor');
  } finally {
    assert.equal((await api.put('/api/v1/me/two-step', { mode: 'off' })).status, 200);
  }
  await page.context().close();
});

test('password reset: the e-mailed link opens the reset page, the new password signs in', async () => {
  const page = await openPage(env);
  await page.waitForSelector('#signin-form');
  await page.click('[data-testid=forgot-link]');
  await page.waitForSelector('#reset-request-form');
  await page.fill('#reset-account', 'acme');
  await page.fill('#reset-user', 'admin');
  await page.click('#reset-request-form button[type=submit]');
  await page.waitForSelector('[data-testid=reset-sent]');
  let link = null;
  for (let i = 0; i < 100 && !link; i++) {
    const mail = env.smtp.messages().join('\n').replace(/=\r?\n/g, '').replace(/=3D/g, '=');
    const m = /(https?:\/\/[^\s]+\/#\/reset\?token=[A-Za-z0-9_-]+)/.exec(mail);
    if (m) link = m[1];
    else await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(link, 'a reset link arrived');
  assert.ok(link.startsWith(env.url), `${link} points at the portal`);
  await page.goto(link);
  await waitForPage(page, 'reset');
  await shot(page, 'reset-pc');
  await page.fill('#reset-password', 'New-passw0rd');
  await page.fill('#reset-password2', 'New-passw0rd');
  await page.click('#reset-form button[type=submit]');
  await page.waitForSelector('[data-testid=signin-reason]');
  assert.match(await page.textContent('[data-testid=signin-reason]'), /password has been changed/);
  await signIn(page, { account: 'acme', user: 'admin', password: 'New-passw0rd' });
  await waitForPage(page, 'monitor');
  await page.context().close();
  // The link works once.
  const again = await openPage(env, { path: `/${new URL(link).hash}` });
  await waitForPage(again, 'reset');
  await again.fill('#reset-password', 'Other-passw0rd');
  await again.fill('#reset-password2', 'Other-passw0rd');
  await again.click('#reset-form button[type=submit]');
  await again.waitForSelector('#reset-form .form-error:not([hidden])');
  assert.match(await again.textContent('#reset-form .form-error'), /not valid any more/);
  await again.context().close();
  // Restore the password for the tests after this one.
  const c = await env.login({ account: 'acme', user: 'admin', password: 'New-passw0rd' });
  assert.equal((await c.post('/api/v1/me/password', { current: 'New-passw0rd', new: PASSWORD })).status, 200);
});

test('after 24 h without activity the server ends the session and the portal shows sign-in with a message', async () => {
  const page = await openPage(env);
  await signIn(page, { account: 'acme', user: 'admin', password: PASSWORD });
  await waitForPage(page, 'monitor');
  await env.setClock(24 * 3600 + 120);
  try {
    await page.click('a.nav-link[data-page=notifications]');
    await page.waitForSelector('[data-testid=signin-reason]');
    assert.match(await page.textContent('[data-testid=signin-reason]'), /session has ended/);
    // Signing in again returns to the page that was asked for.
    await signIn(page, { account: 'acme', user: 'admin', password: PASSWORD });
    await waitForPage(page, 'notifications');
  } finally {
    await env.setClock(0);
  }
  await page.context().close();
});

/** A mail's text: its quoted-printable body decoded, as UTF-8. */
const mailText = (m) => Buffer.from(m.replace(/=\r?\n/g, '')
  .replace(/=([0-9A-F]{2})/g, (_, x) => String.fromCharCode(parseInt(x, 16))), 'latin1').toString('utf8');

// The language a person reads the portal in is the one their mails come
// in: a user whose profile has no language (mails in the account's,
// English) signs in with a Japanese browser; the profile records Japanese,
// and the next sign-in code, from another browser, comes in Japanese.
test('a Japanese browser: signing in records Japanese in the profile, the next sign-in code comes in Japanese', SERVER_WAY_ONLY, async () => {
  await env.createAccount({ account: 'nihon', plan: 'pro', user: 'hana', password: PASSWORD,
    email: 'hana@nihon.example.test', userName: 'Hana Sato' });
  const api = await env.login({ account: 'nihon', user: 'hana', password: PASSWORD });
  assert.equal((await api.get('/api/v1/me')).body.language, null);
  assert.equal((await api.get('/api/v1/account')).body.language, 'en');
  let page = await openPage(env, { lang: 'ja-JP' });
  await page.waitForSelector('#signin-form');
  assert.equal(await page.getAttribute('html', 'lang'), 'ja');
  const saved = page.waitForResponse((r) => r.request().method() === 'PATCH'
    && new URL(r.url()).pathname.endsWith('/api/v1/me'));
  await signIn(page, { account: 'nihon', user: 'hana', password: PASSWORD });
  await waitForPage(page, 'monitor');
  assert.equal((await saved).status(), 200);
  // Only if the profile has none, decided by the server (no race with a
  // choice made in another tab: admin_users.test).
  assert.deepEqual((await saved).request().postDataJSON(), { language_if_unset: 'ja' });
  assert.equal((await api.get('/api/v1/me')).body.language, 'ja');
  assert.deepEqual(page.consoleErrors, []);
  await page.context().close();

  // Two-step by e-mail; signing in from an English browser: the code mail
  // is in Japanese, and so is the portal (the profile's language).
  assert.equal((await api.put('/api/v1/me/two-step', { mode: 'email' })).status, 200);
  page = await openPage(env, { lang: 'en-US' });
  const before = env.smtp.messages().length;
  await signIn(page, { account: 'nihon', user: 'hana', password: PASSWORD, code: async (kind) => {
    assert.equal(kind, 'email');
    for (let i = 0; i < 100; i++) {
      const mails = env.smtp.messages().slice(before).filter((m) => m.includes('hana@nihon.example.test')).map(mailText);
      const m = mails.map((x) => /Metron のログインコードは (\d{6}) です。/.exec(x)).find(Boolean);
      if (m) return m[1];
      assert.ok(!mails.some((x) => /sign-in code is/.test(x)), 'the code came in English');
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('no code arrived');
  } });
  await waitForPage(page, 'monitor');
  assert.equal(await page.getAttribute('html', 'lang'), 'ja');
  // A language the user chose is never replaced: English chosen, a Japanese browser signs in.
  assert.equal((await api.patch('/api/v1/me', { language: 'en' })).status, 200);
  assert.equal((await api.put('/api/v1/me/two-step', { mode: 'off' })).status, 200);
  await page.context().close();
  page = await openPage(env, { lang: 'ja-JP' });
  let patched = 0;
  page.on('request', (r) => { if (r.method() === 'PATCH' && new URL(r.url()).pathname.endsWith('/api/v1/me')) patched++; });
  await signIn(page, { account: 'nihon', user: 'hana', password: PASSWORD });
  await waitForPage(page, 'monitor');
  assert.equal(await page.getAttribute('html', 'lang'), 'en');
  assert.equal(patched, 0);
  assert.equal((await api.get('/api/v1/me')).body.language, 'en');
  await page.context().close();
});

// A rolling upgrade: the page's PATCH /me {language_if_unset} may reach a
// server older than the field, which refuses it (400 unknown_field). A route
// stub answers in its place with that refusal (on the headers of the real
// server's reply to an empty PATCH, so that it is read alike across
// origins). The portal then records the language as the portals of that
// server did, with {language} after reading the profile again, and shows
// nothing; a language chosen meanwhile (another tab) is kept.
test('an older server refuses language_if_unset: the language is recorded with {language}, silently, never over a choice', async () => {
  await env.createAccount({ account: 'rolling', plan: 'pro', user: 'rui', password: PASSWORD, userName: 'Rui Rolling' });
  const api = await env.login({ account: 'rolling', user: 'rui', password: PASSWORD });
  const REFUSAL = { code: 'unknown_field', message: "unknown field 'language_if_unset'", field: 'language_if_unset' };
  async function signInOlder(lang, meanwhile) {
    const page = await openPage(env, { lang });
    const sent = [];
    await page.route('**/api/v1/me', async (route) => {
      const req = route.request();
      if (req.method() !== 'PATCH') return route.fallback();
      const body = req.postDataJSON();
      sent.push(body);
      if (!('language_if_unset' in body)) return route.fallback();
      if (meanwhile) await meanwhile();
      const real = await route.fetch({ postData: '{}' });
      return route.fulfill({ response: real, status: 400, contentType: 'application/json', body: JSON.stringify(REFUSAL) });
    });
    await signIn(page, { account: 'rolling', user: 'rui', password: PASSWORD });
    await waitForPage(page, 'monitor');
    await page.waitForFunction(() => !document.documentElement.dataset.recording);
    assert.equal(await page.locator('.toast').count(), 0);
    assert.deepEqual(page.consoleErrors, []);
    await page.context().close();
    return sent;
  }
  assert.deepEqual(await signInOlder('fr-FR'), [{ language_if_unset: 'fr' }, { language: 'fr' }]);
  assert.equal((await api.get('/api/v1/me')).body.language, 'fr');
  // Italian chosen in another tab while the refusal was on its way: kept.
  assert.equal((await api.patch('/api/v1/me', { language: null })).status, 200);
  const chosen = () => api.patch('/api/v1/me', { language: 'it' });
  assert.deepEqual(await signInOlder('de-DE', chosen), [{ language_if_unset: 'de' }]);
  assert.equal((await api.get('/api/v1/me')).body.language, 'it');
});
