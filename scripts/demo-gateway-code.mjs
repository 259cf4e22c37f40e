#!/usr/bin/env node
// Print a fresh registration code (app credential) for the demo Pro
// account's app, as its administrator would get one in the portal (Apps >
// new credential). Used by scripts/run to start metron-gateway against the
// demo data. Usage: scripts/demo-gateway-code.mjs URL
const [url] = process.argv.slice(2);
if (!url) {
  console.error('usage: scripts/demo-gateway-code.mjs URL');
  process.exit(2);
}

async function call(method, path, body, headers = {}) {
  const r = await fetch(url + path, {
    method, headers: { ...(body ? { 'Content-Type': 'application/json' } : {}), ...headers },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${text.slice(0, 200)}`);
  return { json, headers: r.headers };
}

try {
  const login = await call('POST', '/api/v1/auth/login',
    { account: 'demo-pro', user: 'admin', password: 'Demo-pass1' });
  const cookie = (login.headers.get('set-cookie') || '').split(';')[0];
  const auth = { Cookie: cookie, 'X-CSRF-Token': login.json.csrf_token };
  const apps = await call('GET', '/api/v1/apps', null, auth);
  const app = apps.json.items.find((a) => a.name === 'Demo gateway') || apps.json.items[0];
  if (!app) throw new Error('the demo Pro account has no app');
  const cred = await call('POST', `/api/v1/apps/${app.id}/credentials`, null, auth);
  await call('POST', '/api/v1/auth/logout', null, auth).catch(() => {});
  process.stdout.write(`${cred.json.credential}\n`);
} catch (e) {
  console.error(`demo-gateway-code: ${e.message}`);
  process.exit(1);
}
