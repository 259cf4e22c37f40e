// Helpers shared by the acquired-data tests (ingest, queries, export,
// computed channels): a tenant with an app, a device and selected channels,
// and an app client that sends batches with the app credential.
import assert from 'node:assert/strict';
import path from 'node:path';
import url from 'node:url';
import { checkResponse, createAccount, login, repoRoot, underTest } from './harness.mjs';

export const PW = 'Correct-h0rse';
let seq = 0;
export const uniq = (p) => `${p}${++seq}-${process.pid % 10000}`;

export const MIN_US = 60_000_000;
/** A whole minute (µs) some hours before now, so that nothing is "in the future". */
export function baseTime(hoursAgo = 48) {
  const t = Date.now() * 1000 - hoursAgo * 3600e6;
  return t - (t % (24 * 3600e6)); // start of a UTC day
}

/** fetch(), sent once more when its kept-alive connection was closed under
 * it: while workers are scarce the server sheds connections idle for 2 s
 * (docs/server.md "Idle connections are shed"), and fetch's pool may pick
 * one just as it goes (fetch keeps idle connections 4 s). A request whose
 * connection is shed is not run, so sending it again is what a client does
 * (the gateway too); any other failure is thrown. */
export async function fetchOnce(url, init) {
  try {
    return await fetch(url, init);
  } catch (e) {
    const code = e?.cause?.code;
    if (code !== 'UND_ERR_SOCKET' && code !== 'ECONNRESET' && code !== 'EPIPE') throw e;
    return fetch(url, init);
  }
}

/** An app client: POST batches / status with the app credential. */
export function appClient(baseUrl, credential) {
  const send = async (method, p, body, headers = {}) => {
    const h = Object.fromEntries(Object.entries(headers).filter(([, v]) => v !== undefined));
    if (credential !== null) h.Authorization = `Bearer ${credential}`;
    let data = body;
    if (body !== undefined && !(body instanceof Uint8Array) && typeof body !== 'string') {
      data = JSON.stringify(body);
      h['Content-Type'] ??= 'application/json';
    }
    const r = await fetchOnce(baseUrl + p, { method, headers: h, body: data });
    const text = await r.text();
    let json = null;
    try { json = JSON.parse(text); } catch { /* not JSON */ }
    if (underTest) checkResponse(method, p, r.status, r.headers, json, text);
    return { status: r.status, body: json, text, headers: r.headers };
  };
  return {
    batch: (body, headers) => send('POST', '/api/v1/ingest/batches', body, headers),
    hok: (bytes, batchId) => send('POST', '/api/v1/ingest/batches', bytes,
      { 'Content-Type': 'application/vnd.metron.hok', 'X-Batch-Id': batchId }),
    status: (state) => send('POST', '/api/v1/ingest/status', { state }),
    channels: () => send('GET', '/api/v1/ingest/channels'),
    requests: () => send('GET', '/api/v1/ingest/requests'),
  };
}

/**
 * A fresh account of "plan" with a signed-in admin (c), one app (credential),
 * one LR8450 device and "n" channels CH1..CHn, the first "selected" of them
 * selected for acquisition. Returns { id, account, c, app, appId, deviceId,
 * channels: [ids], ingest: appClient }.
 */
/**
 * [batch ids stored, samples stored] for tenant "t" (hot rows and day
 * blocks), through "sql" (a psql runner). One statement (one snapshot): the
 * compactor may move samples meanwhile, and they are counted once either way.
 */
export async function storedCounts(sql, t) {
  const row = await sql(`SELECT (SELECT count(*) FROM ingest_batches WHERE account_id = ${t.id}),
    (SELECT COALESCE(sum(n), 0) FROM series_hot WHERE account_id = ${t.id}) +
    (SELECT COALESCE(sum(n), 0) FROM series_day WHERE account_id = ${t.id})`);
  return row.split('|').map(Number);
}

/** Through client "c" (a signed-in administrator): an app made of "appBody"
 * with an LR8450 of channels "specs" ({ key, name }, unit V), the first
 * "selected" of them selected: { app (the app's reply, its credential
 * included), deviceId, channels (their ids) }. */
export async function appDevice(c, appBody, specs, selected = specs.length) {
  let r = await c.post('/api/v1/apps', appBody);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const app = r.body;
  r = await c.post(`/api/v1/apps/${app.id}/devices`, { model: 'LR8450', serial: uniq('SN') });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const deviceId = r.body.id;
  const channels = [];
  for (const { key, name } of specs) {
    r = await c.post(`/api/v1/devices/${deviceId}/channels`, { key, name, unit: 'V' });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    channels.push(r.body.id);
  }
  if (selected > 0) {
    r = await c.put(`/api/v1/devices/${deviceId}/selection`, { channel_ids: channels.slice(0, selected) });
    assert.equal(r.status, 200, JSON.stringify(r.body));
  }
  return { app, deviceId, channels };
}

export async function dataTenant(srv, { plan = 'pro', n = 4, selected = n } = {}) {
  const account = uniq('dat');
  const ids = await createAccount(srv.url, { account, plan, user: 'admin', password: PW,
    email: `admin@${account}.test` });
  const c = await login(srv.url, { account, user: 'admin', password: PW });
  const { app, deviceId, channels } = await appDevice(c, { kind: 'lr8450-direct', name: 'Logger gateway' },
    Array.from({ length: n }, (_, i) => ({ key: `CH${i + 1}`, name: `Channel ${i + 1}` })), selected);
  return { id: ids.accountId, account, c, app, appId: app.id, deviceId, channels,
    ingest: appClient(srv.url, app.credential) };
}

/** Put tenant "t"'s app in a new measurement group (named "name" and a
 * unique suffix); its id. */
export async function inNewGroup(t, name = 'Site') {
  let r = await t.c.post('/api/v1/groups', { name: uniq(name) });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const group = r.body.id;
  r = await t.c.patch(`/api/v1/apps/${t.appId}`, { group_id: group });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return group;
}

/** The wasm core's HOK API (build/wasm-build), or null when it is not built. */
export async function loadHok() {
  const dir = process.env.METRON_WASM_DIR || path.join(repoRoot, 'build', 'wasm-build', 'wasm');
  try {
    const load = (f) => import(url.pathToFileURL(path.join(dir, f)).href);
    const createCore = (await load('metron_core.mjs')).default;
    const { bindHok } = await load('hok.mjs');
    return bindHok(await createCore());
  } catch {
    return null;
  }
}
