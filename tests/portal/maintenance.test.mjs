// The maintenance banner (O1) in Chromium: a window the operator schedules
// is told on every page from its announcement (signed in or not), in the
// reader's language and time zone; during the window the banner says it is
// in progress (the API answers 503 maintenance); afterwards it is gone.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, openPage, signIn, shot, request, portalModule } from './browser.mjs';
import { PASSWORD, seedAccount } from './fixtures.mjs';

const OPS_TOKEN = 'o'.repeat(20) + '-operator-token-0123456789';
const ZONE = 'Asia/Shanghai';
let env, seed;

before(async () => {
  env = await startStack({ env: { METRON_OPS_TOKEN: OPS_TOKEN } });
  seed = await seedAccount(env);
});
after(async () => { if (env) await env.stop(); });

const iso = (s) => new Date(s * 1000).toISOString().replace('.000Z', 'Z');
/** "HH:MM" of Unix seconds "s" in ZONE, as de-DE writes it. */
const hm = (s) => new Intl.DateTimeFormat('de-DE', { timeZone: ZONE, hour: '2-digit', minute: '2-digit' })
  .format(s * 1000);

async function bannerState(page, state) {
  await page.waitForFunction((st) => {
    const el = document.querySelector('[data-testid=maintenance-banner]');
    return st === null ? el !== null && el.hidden : el !== null && !el.hidden && el.dataset.state === st;
  }, state);
  return page.textContent('[data-testid=maintenance-banner]');
}

test('announced, in progress, over: the banner in German and Shanghai time on every page', async () => {
  const page = await openPage(env, { lang: 'de-DE', zone: ZONE });
  await bannerState(page, null);

  const s0 = Math.floor(Date.now() / 1000);
  const start = s0 + 7200;
  const end = s0 + 10800;
  const r = await request(env.srv.url, 'POST', '/api/v1/ops/maintenance', {
    body: { starts_at: iso(start), ends_at: iso(end), announce_at: iso(s0 - 60) },
    headers: { authorization: `Bearer ${OPS_TOKEN}` } });
  assert.equal(r.status, 201, JSON.stringify(r.body));

  // Announced: on the sign-in page, then signed in.
  await page.reload();
  let text = await bannerState(page, 'announced');
  assert.match(text, /^Geplante Wartung: Der Dienst ist von .* bis .* nicht verfügbar\.$/);
  assert.ok(text.includes(hm(start)) && text.includes(hm(end)), `${text} names ${hm(start)} and ${hm(end)}`);
  await signIn(page, { account: 'acme', user: 'admin', password: PASSWORD });
  text = await bannerState(page, 'announced');
  assert.ok(text.includes(hm(start)));
  await shot(page, 'maintenance-announced-pc');

  // In progress: the API is closed, the banner says until when.
  await env.setClock(7200 + 5);
  await page.reload();
  text = await bannerState(page, 'in_progress');
  assert.match(text, /^Wartung läuft: Der Dienst ist bis .* nicht verfügbar\./);
  assert.ok(text.includes(hm(end)), `${text} names ${hm(end)}`);
  const me = await page.evaluate(async () => (await fetch('api/v1/me')).status);
  assert.equal(me, 503);
  // A refusal says when to try again: the portal reads the 503's
  // Retry-After (the window's end, 3,595 s on) into its sentence.
  const said = await page.evaluate(async (u) => {
    const { api, errorMessage, retryAfterSeconds } = await import(u);
    const got = await api.get('/me', { quiet401: true });
    return { status: got.status, wait: got.body.retry_after, text: errorMessage(got.body, got.status),
      // A short wait (the server's 503 server_busy, Retry-After: 5), a date, bounds.
      busy: errorMessage({ code: 'server_busy', message: 'x', retry_after: 5 }, 503),
      date: retryAfterSeconds('Wed, 21 Oct 2015 07:28:00 GMT', Date.parse('Wed, 21 Oct 2015 07:27:30 GMT')),
      long: retryAfterSeconds('99999999999'), bad: retryAfterSeconds('soon') };
  }, await portalModule(page, 'js/api.mjs'));
  assert.equal(said.status, 503);
  assert.ok(said.wait > 3500 && said.wait <= 3600, JSON.stringify(said));
  assert.equal(said.text, 'Der Server kann gerade nicht antworten. Bitte versuchen Sie es in 60 min erneut.');
  assert.equal(said.busy, 'Der Server kann gerade nicht antworten. Bitte versuchen Sie es in 5 s erneut.');
  assert.deepEqual([said.date, said.long, said.bad], [30, 86400, null]);
  await shot(page, 'maintenance-in-progress-pc');

  // Over: gone, the portal works again.
  await env.setClock(10800 + 5);
  await page.reload();
  await bannerState(page, null);
  await page.waitForSelector('[data-testid=user-menu]');
  await page.context().close();
});
