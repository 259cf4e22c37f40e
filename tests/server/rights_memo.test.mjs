// A member's rights remembered by each server process (server/base/rights_memo.h,
// migration 087, issue 16): a member's raw day check passes the version of
// the account's rights it learnt the channels' visibility at, and PostgreSQL
// runs mt_channels_seen() again only when the version moved. Two processes
// on one database, both having read the window often (their memory full):
// every change to what mt_channels_seen() reads, through the other process
// or in SQL (as an older server or a tool writes), refuses or allows the very
// next request on both, with no wait for a notification (a member's right to
// see a group's monitor, remembered with its structure, is checked the same
// way against the rights' version in the monitor's stamp); and the version
// moves in the writing transaction, never on a rolled-back one.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from './harness.mjs';
import { accountOnBoth, gatewayDevice, startTwo, stopTwo, uniq } from './two_servers.mjs';
import { MIN_US, appClient, baseTime } from './data_helpers.mjs';

let two;
before(async () => { two = await startTwo(); });
after(() => stopTwo(two));

const sql = (q) => two.pg.psql(q, two.db);
const version = async (acct) => Number(await sql(`SELECT v FROM account_rights WHERE account_id = ${acct}`));

/** An account on both processes, an app in group "Plant" granted to the
 * member with a device of two channels, a day of samples folded, and a
 * second group "Other" (not granted) with an app of its own. */
async function tenant() {
  const t = await accountOnBoth(two.srvA, two.srvB, uniq('rights'));
  const { app, dev, ch } = await gatewayDevice(t.adminA, t.groupId);
  let r = await t.adminA.post('/api/v1/groups', { name: 'Other' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const other = r.body.id;
  r = await t.adminA.post('/api/v1/apps', { kind: 'lr8450-direct', name: 'Other gateway', group_id: other });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const app2 = r.body.id;
  r = await t.adminA.put(`/api/v1/groups/${t.groupId}/access`,
    { users: [{ user_id: t.memberId, access: 'view' }], teams: [] });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const d0 = baseTime(72);
  const ts = Array.from({ length: 1440 }, (_, i) => d0 + i * MIN_US);
  r = await appClient(two.srvA.url, app.credential).batch({ batch_id: 'day',
    channels: [{ id: ch[0], t: ts, v: ts.map((_, i) => i / 4) }, { id: ch[1], t: ts, v: ts.map((_, i) => i) }] });
  assert.equal(r.status, 201, r.text);
  r = await request(two.srvA.url, 'POST', '/api/v1/test/compact');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const q = (ids) => `/api/v1/data/raw?channels=${ids.join(',')}&from=${d0}&to=${d0 + 86400e6}&limit=2000`;
  return { ...t, app: app.id, app2, dev, ch, other, q };
}

/** The member's status for channels "ids" on both processes, each asked
 * "times" times in a row (the first request after a change is the one that
 * counts: it must already agree). */
async function statuses(t, ids, times = 3) {
  const out = [];
  for (const c of [t.memberA, t.memberB]) {
    for (let k = 0; k < times; k++) out.push((await c.get(t.q(ids))).status);
  }
  return out;
}
const all = (s, n = 6) => Array(n).fill(s);

/** The member's status for the monitor of the group on both processes,
 * each asked "times" times in a row. */
async function monitorStatuses(t, times = 3) {
  const out = [];
  for (const c of [t.memberA, t.memberB]) {
    for (let k = 0; k < times; k++) out.push((await c.get(`/api/v1/groups/${t.groupId}/monitor`)).status);
  }
  return out;
}

/** Read until both processes remember the member's rights to "ids". */
async function remembered(t, ids) {
  assert.deepEqual(await statuses(t, ids), all(200));
}

test("a member's remembered rights: every kind of change refuses or allows the next request on both processes", async () => {
  const t = await tenant();
  const both = [t.ch[0], t.ch[1]];
  await remembered(t, both);
  await remembered(t, [t.ch[0]]);
  const answer = (await t.memberA.get(t.q(both))).body;
  assert.deepEqual((await t.adminB.get(t.q(both))).body, answer);
  assert.equal(answer.channels[0].v[5], 1.25);
  // Remembered: the checks and reads run no mt_channels_seen() while the
  // version stays (the function made to fail meanwhile).
  const def = await sql(`SELECT pg_get_functiondef('mt_channels_seen(bigint, bigint[], bigint)'::regprocedure)`);
  await sql(`CREATE OR REPLACE FUNCTION mt_channels_seen(acct bigint, ch bigint[], viewer bigint)
    RETURNS bigint[] LANGUAGE plpgsql STABLE AS $$ BEGIN RAISE EXCEPTION 'not remembered'; END $$`);
  try {
    assert.deepEqual(await statuses(t, both), all(200));
    assert.deepEqual((await t.memberB.get(t.q(both))).body, answer);
    await sql(`UPDATE apps SET group_id = ${t.groupId} WHERE id = ${t.app2}; UPDATE apps SET group_id = ${t.other} WHERE id = ${t.app2}`);
    assert.deepEqual(await statuses(t, both, 1), all(500, 2));
  } finally {
    await sql(def);
  }
  assert.deepEqual(await statuses(t, both), all(200));

  // The grant taken back through B: refused on A's next request, and B's;
  // the group's monitor too (its structure remembered on both), without
  // waiting for the notification that ends it.
  assert.deepEqual(await monitorStatuses(t), all(200));
  let v = await version(t.accountId);
  let r = await t.adminB.put(`/api/v1/groups/${t.groupId}/access`, { users: [], teams: [] });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.ok(await version(t.accountId) > v);
  assert.deepEqual(await monitorStatuses(t, 1), all(404, 2));
  assert.deepEqual(await statuses(t, both, 1), all(404, 2));
  assert.deepEqual(await statuses(t, [t.ch[0]]), all(404));
  assert.deepEqual(await monitorStatuses(t), all(404));
  // Granted again through A (a new row): allowed at once on both.
  r = await t.adminA.put(`/api/v1/groups/${t.groupId}/access`,
    { users: [{ user_id: t.memberId, access: 'view' }], teams: [] });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(await statuses(t, both), all(200));
  assert.deepEqual(await monitorStatuses(t), all(200));
  // A grant taken back whose notification never comes (the notifying
  // trigger off for that statement): nothing remembered is ended by it, and
  // the next requests are refused all the same.
  await sql(`ALTER TABLE group_user_access DISABLE TRIGGER group_user_access_list_notify;
    DELETE FROM group_user_access WHERE account_id = ${t.accountId};
    ALTER TABLE group_user_access ENABLE TRIGGER group_user_access_list_notify`);
  assert.deepEqual(await monitorStatuses(t, 1), all(404, 2));
  assert.deepEqual(await statuses(t, both, 1), all(404, 2));
  assert.deepEqual(await monitorStatuses(t), all(404));
  await sql(`INSERT INTO group_user_access (account_id, group_id, user_id, access)
    VALUES (${t.accountId}, ${t.groupId}, ${t.memberId}, 'view')`);
  assert.deepEqual(await monitorStatuses(t), all(200));
  assert.deepEqual(await statuses(t, both), all(200));

  // The app moved to a group not granted, in SQL (as an older server would).
  await sql(`UPDATE apps SET group_id = ${t.other} WHERE id = ${t.app}`);
  assert.deepEqual(await statuses(t, both, 1), all(404, 2));
  await sql(`UPDATE apps SET group_id = ${t.groupId} WHERE id = ${t.app}`);
  assert.deepEqual(await statuses(t, both), all(200));

  // The device moved to the other group's app, and back.
  await sql(`UPDATE devices SET app_id = ${t.app2} WHERE id = ${t.dev}`);
  assert.deepEqual(await statuses(t, both, 1), all(404, 2));
  await sql(`UPDATE devices SET app_id = ${t.app} WHERE id = ${t.dev}`);
  assert.deepEqual(await statuses(t, both), all(200));

  // A channel given a group of its own (not granted): that channel only.
  await sql(`UPDATE channels SET group_id = ${t.other} WHERE id = ${t.ch[1]}`);
  assert.deepEqual(await statuses(t, both, 1), all(404, 2));
  assert.deepEqual(await statuses(t, [t.ch[0]]), all(200));
  await sql(`UPDATE channels SET group_id = NULL WHERE id = ${t.ch[1]}`);
  assert.deepEqual(await statuses(t, both), all(200));

  // Through a team, in SQL: the grant to the member removed, the team's
  // added, then the membership ended.
  await sql(`INSERT INTO teams (account_id, name) VALUES (${t.accountId}, 'SQL team')`);
  const team = Number(await sql(`SELECT id FROM teams WHERE account_id = ${t.accountId}`));
  await sql(`INSERT INTO team_members (account_id, team_id, user_id) VALUES (${t.accountId}, ${team}, ${t.memberId});
    INSERT INTO group_team_access (account_id, group_id, team_id) VALUES (${t.accountId}, ${t.groupId}, ${team});
    DELETE FROM group_user_access WHERE account_id = ${t.accountId}`);
  assert.deepEqual(await statuses(t, both), all(200));
  assert.deepEqual(await monitorStatuses(t), all(200));
  await sql(`DELETE FROM team_members WHERE account_id = ${t.accountId} AND team_id = ${team}`);
  assert.deepEqual(await monitorStatuses(t, 1), all(404, 2));
  assert.deepEqual(await statuses(t, both, 1), all(404, 2));
  await sql(`INSERT INTO team_members (account_id, team_id, user_id) VALUES (${t.accountId}, ${team}, ${t.memberId})`);
  assert.deepEqual(await statuses(t, both), all(200));
  // The team's grant removed.
  await sql(`DELETE FROM group_team_access WHERE account_id = ${t.accountId}`);
  assert.deepEqual(await statuses(t, both, 1), all(404, 2));
  await sql(`INSERT INTO group_team_access (account_id, group_id, team_id) VALUES (${t.accountId}, ${t.groupId}, ${team})`);
  assert.deepEqual(await statuses(t, both), all(200));
  // The team deleted (its members and grants with it).
  await sql(`DELETE FROM teams WHERE id = ${team}`);
  assert.deepEqual(await statuses(t, both, 1), all(404, 2));

  // A rolled-back grant moves nothing and allows nothing.
  v = await version(t.accountId);
  await sql(`BEGIN; INSERT INTO group_user_access (account_id, group_id, user_id, access)
    VALUES (${t.accountId}, ${t.groupId}, ${t.memberId}, 'view'); ROLLBACK`);
  assert.equal(await version(t.accountId), v);
  assert.deepEqual(await statuses(t, both, 1), all(404, 2));
  await sql(`INSERT INTO group_user_access (account_id, group_id, user_id, access)
    VALUES (${t.accountId}, ${t.groupId}, ${t.memberId}, 'view')`);
  assert.deepEqual(await statuses(t, both), all(200));

  // The group deleted (its grants and the app's group with it).
  await sql(`DELETE FROM measurement_groups WHERE id = ${t.groupId}`);
  assert.deepEqual(await statuses(t, both, 1), all(404, 2));
  // The administrator still reads the day.
  assert.deepEqual((await t.adminA.get(t.q(both))).body, answer);
});

test("a member's remembered rights end with the channel, the user, or a TRUNCATE", async () => {
  const t = await tenant();
  const both = [t.ch[0], t.ch[1]];
  await remembered(t, both);
  // TRUNCATE of the grants (every account's version moves).
  const other = await tenant();
  await remembered(other, [other.ch[0]]);
  await sql('TRUNCATE group_user_access');
  assert.deepEqual(await statuses(t, both, 1), all(404, 2));
  assert.deepEqual(await statuses(other, [other.ch[0]], 1), all(404, 2));
  let r = await t.adminA.put(`/api/v1/groups/${t.groupId}/access`,
    { users: [{ user_id: t.memberId, access: 'view' }], teams: [] });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(await statuses(t, both), all(200));
  // A channel deleted: refused with it; the other one still read.
  r = await t.adminB.del(`/api/v1/channels/${t.ch[1]}`);
  assert.ok(r.status === 200 || r.status === 204, JSON.stringify(r.body));
  assert.deepEqual(await statuses(t, both, 1), all(404, 2));
  assert.deepEqual(await statuses(t, [t.ch[0]]), all(200));
  // The member's user deleted in SQL: its grant goes with it, and so do its
  // sessions; a new account's member of the same rights reads nothing of it.
  await sql(`DELETE FROM users WHERE id = ${t.memberId}`);
  for (const c of [t.memberA, t.memberB]) {
    const s = (await c.get(t.q([t.ch[0]]))).status;
    assert.ok(s === 401 || s === 404, `status ${s}`);
  }
  // Every account has its row; a new one too.
  assert.equal(Number(await sql(`SELECT count(*) FROM accounts a WHERE NOT EXISTS
    (SELECT 1 FROM account_rights r WHERE r.account_id = a.id)`)), 0);
});

// The graph, the summary and the exports of a member (issue 16, precheck:
// series_read.c series_channels_visible()): the channels remembered visible
// at a version of the account's rights are checked by that version alone,
// without mt_channels_seen(); a change of rights through the other process
// or in SQL refuses the very next request on both.
test("a member's graph, summary and export: checked by the rights' version, refused at once when it moves", async () => {
  const t = await tenant();
  const both = [t.ch[0], t.ch[1]];
  const d0 = baseTime(72);
  const graph = `/api/v1/data/graph?channels=${both.join(',')}&from=${d0}&to=${d0 + 86400e6}&buckets=24`;
  const summary = `/api/v1/data/summary?channels=${both.join(',')}&from=${d0}&to=${d0 + 86400e6}`;
  const exp = { channels: both, from: d0, to: d0 + 86400e6, format: 'csv' };
  const asks = async (times = 2) => {
    const out = [];
    for (const c of [t.memberA, t.memberB]) {
      for (let k = 0; k < times; k++) {
        // An export past the check is made or refused for its count (429):
        // either way not 404.
        const e = (await c.post('/api/v1/exports', exp)).status;
        out.push((await c.get(graph)).status, (await c.get(summary)).status,
          e === 404 ? 404 : e < 500 ? 'made' : e);
      }
    }
    return out;
  };
  const okNow = (n) => Array(n).fill(null).flatMap(() => [200, 200, 'made']);
  const refused = (n) => Array(n * 3).fill(404);
  assert.deepEqual(await asks(), okNow(4));
  const answer = (await t.memberA.get(graph)).body;
  // Remembered: no mt_channels_seen() while the version stays (made to fail).
  const def = await sql(`SELECT pg_get_functiondef('mt_channels_seen(bigint, bigint[], bigint)'::regprocedure)`);
  await sql(`CREATE OR REPLACE FUNCTION mt_channels_seen(acct bigint, ch bigint[], viewer bigint)
    RETURNS bigint[] LANGUAGE plpgsql STABLE AS $$ BEGIN RAISE EXCEPTION 'not remembered'; END $$`);
  try {
    assert.deepEqual(await asks(), okNow(4));
    assert.deepEqual((await t.memberB.get(graph)).body, answer);
  } finally {
    await sql(def);
  }
  // The grant taken back through B: refused on both at once.
  let r = await t.adminB.put(`/api/v1/groups/${t.groupId}/access`, { users: [], teams: [] });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(await asks(1), refused(2));
  // Granted again through A, then the app moved in SQL (as an older server would).
  r = await t.adminA.put(`/api/v1/groups/${t.groupId}/access`,
    { users: [{ user_id: t.memberId, access: 'view' }], teams: [] });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(await asks(), okNow(4));
  await sql(`UPDATE apps SET group_id = ${t.other} WHERE id = ${t.app}`);
  assert.deepEqual(await asks(1), refused(2));
  await sql(`UPDATE apps SET group_id = ${t.groupId} WHERE id = ${t.app}`);
  assert.deepEqual(await asks(), okNow(4));
  // A channel given a group of its own (not granted): refused; the other channel still seen.
  await sql(`UPDATE channels SET group_id = ${t.other} WHERE id = ${t.ch[1]}`);
  assert.deepEqual(await asks(1), refused(2));
  assert.equal((await t.memberB.get(graph.replace(both.join(','), String(t.ch[0])))).status, 200);
});
