// Two server processes on one PostgreSQL cluster, for the tests of what each
// process remembers (devices_cache, monitor_cache, app_cache): start and
// stop them, and an account signed in on both.
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { createAccount, createUser, login, metricSamples, request, startServer, startStack, stopStack } from './harness.mjs';
import { appClient, appDevice } from './data_helpers.mjs';

export const PW = 'Correct-h0rse';
/** How long a change announced by PostgreSQL may take to reach the other
 * process (well below the 2 s that bound it when nothing is heard). */
export const HEARD_MS = 1500;

let n = 0;
/** A name not used before in this test process ("p" and a counter). */
export const uniq = (p) => `${p}${++n}-${process.pid % 10000}`;

/** The cluster, server A (startStack's) and server B on A's database, both
 * started with "options" (startServer's: env, args). */
export async function startTwo(options = {}) {
  const { pg, srv: srvA, db, url } = await startStack(options);
  const srvB = await startServer({ ...options, databaseUrl: url });
  return { pg, srvA, srvB, db, url };
}

/** A compaction round on server "srv" (POST /api/v1/test/compact). */
export async function compact(srv) {
  const r = await request(srv.url, 'POST', '/api/v1/test/compact');
  assert.equal(r.status, 200, JSON.stringify(r.body));
}

/** A computed-channel back-fill round on server "srv"
 * (POST /api/v1/test/computed-backfill). */
export async function backfill(srv) {
  const r = await request(srv.url, 'POST', '/api/v1/test/computed-backfill');
  assert.equal(r.status, 200, JSON.stringify(r.body));
}

/** A computed channel "Sum" (CH1+CH2) in the group of "t" (accountOnBoth()
 * with t.ch, two channels, and t.viaA, its app through server "srv"), with
 * two minutes from "t0" (5+3, then 7+2) ingested through "srv", folded and
 * back-filled there: its id. */
export async function computedSum(t, srv, t0) {
  let r = await t.adminA.post(`/api/v1/groups/${t.groupId}/computed`, { name: 'Sum', unit: 'V',
    expression: 'CH1+CH2', inputs: t.ch });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const x = r.body.id;
  r = await t.viaA.batch({ batch_id: 'x1', snapshots: [{ t: t0, ids: t.ch, v: [5, 3] },
    { t: t0 + 60_000_000, ids: t.ch, v: [7, 2] }] });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  await compact(srv);
  await backfill(srv);
  return x;
}

/** The two processes of a test file on one database, each with the metrics
 * token "token" and the compactor held off (METRON_COMPACT_MS one hour),
 * started before its tests and stopped after them: { two (startTwo()'s
 * fields once started), env, sql (a statement on the database), kept(srv)
 * (keptCount() of "counter") }. */
export function keptPair(token, counter) {
  const env = { METRON_METRICS_TOKEN: token, METRON_COMPACT_MS: '3600000' };
  const two = {};
  before(async () => { Object.assign(two, await startTwo({ env })); });
  after(() => stopTwo(two));
  return { two, env, sql: (q) => two.pg.psql(q, two.db), kept: (srv) => keptCount(srv, token, counter) };
}

/** Stop both; B's exit and its sanitizer reports fail the test file. */
export async function stopTwo({ pg, srvA, srvB }) {
  const exit = await srvB?.stop();
  await stopStack({ pg, srv: srvA });
  if (exit?.code !== 0) throw new Error(`server B exited with ${JSON.stringify(exit)}: ${srvB.stderr()}`);
  if (/runtime error|AddressSanitizer|LeakSanitizer/.test(srvB.stderr())) {
    throw new Error(`sanitizer report: ${srvB.stderr()}`);
  }
}

/** A new account "acc" of "plan" with an administrator and a member signed
 * in on both processes, and a measurement group "Plant" (not granted to the
 * member). */
export async function accountOnBoth(srvA, srvB, acc, plan = 'pro') {
  const ids = await createAccount(srvA.url, { account: acc, plan, user: 'admin', password: PW,
    email: `admin@${acc}.test` });
  const m = await createUser(srvA.url, { accountId: ids.accountId, user: 'member', password: PW,
    role: 'member' });
  const on = async (srv, user) => login(srv.url, { account: acc, user, password: PW });
  const t = {
    ...ids, memberId: m.userId,
    adminA: await on(srvA, 'admin'), adminB: await on(srvB, 'admin'),
    memberA: await on(srvA, 'member'), memberB: await on(srvB, 'member'),
  };
  const group = await t.adminA.post('/api/v1/groups', { name: 'Plant' });
  assert.equal(group.status, 201, JSON.stringify(group.body));
  t.groupId = group.body.id;
  return t;
}

/** Through "admin" (a signed-in administrator's client): a direct LR8450
 * app in group "groupId" with a device whose channels "keys" (unit V) are
 * selected: { app (the app's reply, its credential included), dev, ch }. */
export async function gatewayDevice(admin, groupId, keys = ['CH1', 'CH2']) {
  const d = await appDevice(admin, { kind: 'lr8450-direct', name: 'Gateway', group_id: groupId },
    keys.map((key) => ({ key, name: key })));
  return { app: d.app, dev: d.deviceId, ch: d.channels };
}

/** accountOnBoth() of a new account named from "prefix" in "plan", with
 * gatewayDevice()'s app in group "Plant" (two selected channels): also
 * acc, appId, deviceId, credential, ch, and viaA, viaB (the app's clients
 * through each process of "two"). */
export async function gatewayOnBoth(two, prefix, plan = 'pro') {
  const acc = uniq(prefix);
  const t = { ...(await accountOnBoth(two.srvA, two.srvB, acc, plan)), acc };
  const { app, dev, ch } = await gatewayDevice(t.adminA, t.groupId);
  return { ...t, appId: app.id, deviceId: dev, credential: app.credential, ch,
    viaA: appClient(two.srvA.url, app.credential), viaB: appClient(two.srvB.url, app.credential) };
}

/** read() until a reply counted by "counter" (an async count that grows
 * when a reply comes from what a process remembers): that reply; "what"
 * names the count in the error after 20 tries. */
export async function untilCounted(counter, read, what) {
  for (let i = 0; i < 20; i++) {
    const k0 = await counter();
    const body = await read();
    if (await counter() > k0) return body;
  }
  throw new Error(`no reply from ${what}`);
}

/** Counter "metric"'s {result="kept"} sample on server "srv" (read with
 * metrics token "token"; 0 before the first). */
export async function keptCount(srv, token, metric) {
  return (await metricSamples(srv.url, token, metric))[`${metric}{result="kept"}`] ?? 0;
}
