// Alarm evaluation on ingest (S3; docs/alarms.md) against a real PostgreSQL:
// batches through the rules of their group with core's evaluator; events
// with the rule as it was; the inbox (N1) of the users who can see the
// group; outbox rows in the rule's language; filters, two channels, late
// rows as history, special values, a rule change, retries, large batches,
// computed channels; the events API (list, filter, one, acknowledge),
// the monitor's raised alarms and the panel summary.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createUser, login, request, setClock, startStack, stopStack } from './harness.mjs';
import { MIN_US, PW, dataTenant, uniq } from './data_helpers.mjs';

let pg;
let srv;
let db;
const sql = (q) => pg.psql(q, db);

before(async () => {
  ({ pg, srv, db } = await startStack({ env: { METRON_COMPACT_MS: '3600000' } }));
});

after(() => stopStack({ pg, srv }));

async function groupTenant(plan = 'pro', n = 4) {
  const t = await dataTenant(srv, { plan, n });
  let r = await t.c.post('/api/v1/groups', { name: uniq('Site') });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  t.group = r.body.id;
  r = await t.c.patch(`/api/v1/apps/${t.appId}`, { group_id: t.group });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return t;
}

/** A whole minute some hours ago: the data of these tests. */
function base(hoursAgo = 6) {
  const t = Date.now() * 1000 - hoursAgo * 3600e6;
  return t - (t % MIN_US);
}

/** Create a rule as if a day ago (rows older than a rule are history). */
async function rule(t, body) {
  await setClock(srv.url, -86400);
  try {
    const r = await t.c.post(`/api/v1/groups/${t.group}/alarms`, { name: uniq('Alarm'), ...body });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body;
  } finally {
    await setClock(srv.url, 0);
  }
}

/** PATCH a rule as if a day ago (a change restarts its state: rows older
 * than the change are history). */
async function patchRule(t, id, body) {
  await setClock(srv.url, -86400);
  try {
    return await t.c.patch(`/api/v1/alarms/${id}`, body);
  } finally {
    await setClock(srv.url, 0);
  }
}

let batchN = 0;
/** One snapshot: values "v" (by channel index) at time "at". */
async function snap(t, at, values, id = `b${++batchN}`) {
  const ids = [];
  const v = [];
  values.forEach((x, i) => { if (x !== undefined) { ids.push(t.channels[i]); v.push(x); } });
  const r = await t.ingest.batch({ batch_id: id, snapshots: [{ t: at, ids, v }] });
  assert.ok(r.status === 201 || r.status === 200, r.text);
  return r.body;
}

async function events(t, q = '') {
  const r = await t.c.get(`/api/v1/alarm-events${q}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.items;
}

async function destination(t, lang = 'en') {
  return Number(await sql(`INSERT INTO notify_destinations (account_id, kind, name, address,
    language) VALUES (${t.id}, 'slack', 'ops', 'http://127.0.0.1:9/hook/${uniq('d')}', '${lang}')
    RETURNING id`));
}

test('a batch crossing a threshold raises, a later one clears: events, state, inbox, outbox', async () => {
  const t = await groupTenant();
  const dest = await destination(t);
  const a = await rule(t, { name: 'Boiler hot', rule: 'CH1 > 30', channels: [t.channels[0]],
    language: 'de', destinations: [dest] });
  const t0 = base();
  const seq0 = await sql(`SELECT seq FROM alarm_groups WHERE group_id = ${t.group}`);
  await snap(t, t0, [25, 1]);
  // A quiet batch saves nothing: the group's sequence stays.
  assert.equal(await sql(`SELECT seq FROM alarm_groups WHERE group_id = ${t.group}`), seq0);
  assert.deepEqual(await events(t), []);
  await snap(t, t0 + MIN_US, [31.5, 1]);
  let ev = await events(t);
  assert.equal(ev.length, 1);
  const raise = ev[0];
  assert.equal(raise.kind, 'raise');
  assert.equal(raise.cause, 'data');
  assert.equal(raise.late, false);
  assert.equal(raise.state, 'raised');
  assert.equal(raise.t, t0 + MIN_US);
  assert.deepEqual(raise.values, [31.5]);
  assert.equal(raise.rule, 'CH1 > 30');
  assert.equal(raise.rule_name, 'Boiler hot');
  assert.equal(raise.rule_id, a.id);
  assert.equal(raise.group_id, t.group);
  assert.deepEqual(raise.channels, [{ id: t.channels[0], name: 'Channel 1', unit: 'V' }]);
  assert.equal(raise.acked, false);
  let r = await t.c.get(`/api/v1/alarms/${a.id}`);
  assert.equal(r.body.state.raised, true);
  assert.equal(r.body.state.event_id, raise.id);
  assert.equal(r.body.state.since, new Date((t0 + MIN_US) / 1000).toISOString().replace('.000', ''));
  // The inbox of the administrator (English: the user's language).
  r = await t.c.get('/api/v1/notifications');
  const note = r.body.items.find((n) => n.kind === 'alarm.raise');
  assert.ok(note, JSON.stringify(r.body));
  assert.equal(note.title, '[Alarm] Boiler hot');
  assert.match(note.body, /The alarm "Boiler hot" was raised at [A-Z][a-z]{2} \d{1,2}, \d{4}, \d{1,2}:\d\d:\d\d [AP]M \(UTC\+00:00\)\./);
  assert.equal(note.data.event_id, raise.id);
  // The outbox row for the destination, in the rule's language (German).
  const row = (await sql(`SELECT language || '|' || title || '|' || kind || '|' || severity
    FROM notify_outbox WHERE account_id = ${t.id} AND dedupe_key = 'alarm_event:${raise.id}:raise'`));
  assert.equal(row, 'de|[Alarm] Boiler hot|alarm.raise|alert');
  const body = await sql(`SELECT body FROM notify_outbox WHERE dedupe_key = 'alarm_event:${raise.id}:raise'
    AND account_id = ${t.id}`);
  assert.match(body, /Der Alarm „Boiler hot“ wurde am .* ausgelöst\./);
  const fields = JSON.parse(await sql(`SELECT fields FROM notify_outbox WHERE account_id = ${t.id}
    AND dedupe_key = 'alarm_event:${raise.id}:raise'`));
  assert.ok(fields.some((f) => f.name === 'CH1' && f.value === 'Channel 1: 31.5 V'), JSON.stringify(fields));
  assert.ok(fields.some((f) => f.name === 'Bedingung' && f.value === 'CH1 > 30'), JSON.stringify(fields));
  // The monitor and the panel.
  r = await t.c.get(`/api/v1/alarm-events/active?group_id=${t.group}`);
  assert.deepEqual(r.body.items.map((x) => x.id), [raise.id]);
  r = await t.c.get(`/api/v1/groups/${t.group}/alarm-summary`);
  assert.equal(r.status, 200);
  assert.equal(r.body.raised, 1);
  assert.equal(r.body.unacked, 1);
  assert.deepEqual(r.body.by_severity, { alert: 1, warning: 0 });
  assert.deepEqual(r.body.rules, { total: 1, enabled: 1 });
  assert.equal(r.body.active[0].id, raise.id);

  // A retry of the raising batch adds nothing.
  const again = await snap(t, t0 + MIN_US, [31.5, 1], `b${batchN}`);
  assert.equal(again.duplicate, true);
  assert.equal((await events(t)).length, 1);

  await snap(t, t0 + 2 * MIN_US, [29, 1]);
  ev = await events(t);
  assert.deepEqual(ev.map((x) => x.kind), ['clear', 'raise']);
  assert.equal(ev[0].raise_id, raise.id);
  assert.deepEqual(ev[0].values, [29]);
  assert.equal(ev[1].state, 'cleared');
  assert.equal(ev[1].clear_id, ev[0].id);
  // One clear time: the raise's is its clear's (the sample's, six hours
  // ago); cleared_at is when the clear was recorded (the data's arrival).
  assert.equal(ev[1].cleared_time, ev[0].time);
  assert.equal(ev[1].cleared_at, ev[0].created_at);
  assert.ok(Date.parse(ev[1].cleared_at) - Date.parse(ev[1].cleared_time) > 5 * 3600e3, JSON.stringify(ev[1]));
  assert.equal(ev[0].cleared_time, null);
  assert.equal((await t.c.get(`/api/v1/alarm-events/${raise.id}`)).body.cleared_time, ev[0].time);
  assert.equal((await t.c.get(`/api/v1/alarms/${a.id}`)).body.state.raised, false);
  assert.equal(await sql(`SELECT title FROM notify_outbox WHERE account_id = ${t.id}
    AND dedupe_key = 'alarm_event:${ev[0].id}:clear'`), '[Aufgehoben] Boiler hot');
  r = await t.c.get(`/api/v1/alarm-events/active?group_id=${t.group}`);
  assert.deepEqual(r.body.items, []);
});

test('filters, hysteresis, two channels of one snapshot, the clear filter', async () => {
  const t = await groupTenant();
  const f = await rule(t, { rule: 'CH1 > 30 FOR 2m', channels: [t.channels[0]] });
  const two = await rule(t, { rule: 'CH1 > 10 AND CH2 < 0 HYST 1', channels: [t.channels[1], t.channels[2]] });
  const t0 = base();
  await snap(t, t0, [31, 11, -1]);               // two: raise
  await snap(t, t0 + MIN_US, [31, 9.5, -1]);     // two: still raised (hysteresis: 9.5 > 10 - 1)
  assert.deepEqual((await events(t, `?rule_id=${f.id}`)).map((x) => x.kind), []);
  await snap(t, t0 + 2 * MIN_US, [31, 8.9, -1]); // f: 2 minutes: raise; two: clear
  assert.deepEqual((await events(t, `?rule_id=${f.id}`)).map((x) => [x.kind, x.t]), [['raise', t0 + 2 * MIN_US]]);
  const e2 = await events(t, `?rule_id=${two.id}`);
  assert.deepEqual(e2.map((x) => [x.kind, x.t]), [['clear', t0 + 2 * MIN_US], ['raise', t0]]);
  assert.deepEqual(e2[1].values, [11, -1]);
  assert.equal(e2[1].channels.length, 2);
  // A snapshot without CH2 gives the two-channel rule no row.
  await snap(t, t0 + 3 * MIN_US, [31, 11, undefined]);
  assert.equal((await events(t, `?rule_id=${two.id}`)).length, 2);
  // Filters of the list.
  assert.equal((await events(t, '?kind=clear')).length, 1);
  assert.equal((await events(t, '?state=raised')).length, 1);
  assert.equal((await events(t, '?state=cleared')).length, 1);
  assert.equal((await events(t, `?channel_id=${t.channels[2]}`)).length, 2);
  assert.equal((await events(t, `?from=${t0 + MIN_US}&to=${t0 + 3 * MIN_US}`)).length, 2);
  const page = await t.c.get('/api/v1/alarm-events?limit=2');
  assert.equal(page.body.items.length, 2);
  assert.ok(page.body.next_before);
  const rest = await t.c.get(`/api/v1/alarm-events?limit=2&before=${page.body.next_before}`);
  assert.equal(rest.body.items.length, 1);
  assert.equal(rest.body.next_before, null);
  for (const q of ['?kind=boom', '?state=x', '?acked=maybe', '?limit=0', '?limit=201', '?from=-5', '?group_id=x']) {
    const r = await t.c.get(`/api/v1/alarm-events${q}`);
    assert.equal(r.status, 400, q);
  }
});

test('rows older than the rule or its state are history: recorded as late, never notified', async () => {
  const t = await groupTenant();
  const a = await rule(t, { rule: 'CH1 > 30', channels: [t.channels[0]] });
  const t0 = base();
  await snap(t, t0 + 10 * MIN_US, [20]);
  const inbox0 = Number(await sql(`SELECT count(*) FROM notifications WHERE account_id = ${t.id}`));
  // A back-fill of earlier minutes that crosses the threshold.
  const r = await t.ingest.batch({ batch_id: 'late-1', channels: [{ id: t.channels[0],
    t: [t0, t0 + MIN_US, t0 + 2 * MIN_US], v: [35, 36, 20] }] });
  assert.equal(r.status, 201, r.text);
  const ev = await events(t, `?rule_id=${a.id}`);
  assert.deepEqual(ev.map((x) => [x.kind, x.late, x.t]), [['clear', true, t0 + 2 * MIN_US], ['raise', true, t0]]);
  assert.equal(ev[1].state, 'history');
  assert.equal(ev[0].raise_id, ev[1].id);
  assert.equal((await events(t, '?late=false')).length, 0);
  assert.equal(Number(await sql(`SELECT count(*) FROM notifications WHERE account_id = ${t.id}`)), inbox0);
  assert.equal(await sql(`SELECT count(*) FROM notify_outbox WHERE account_id = ${t.id}`), '0');
  // The live state did not move: the next live row is judged on its own.
  assert.equal((await t.c.get(`/api/v1/alarms/${a.id}`)).body.state.raised, false);
  // Data from before the rule existed is history too.
  await snap(t, Date.now() * 1000 - 3 * 86400e6 - ((Date.now() * 1000) % MIN_US), [50]);
  assert.equal((await events(t, '?late=true')).length, 3);
  assert.deepEqual(await events(t, '?state=raised'), []);
});

test('special values raise their own notice when the rule asks; a rule change closes an open alarm', async () => {
  const t = await groupTenant();
  const a = await rule(t, { rule: 'CH1 > 30', channels: [t.channels[0]], special_notice: true });
  const quiet = await rule(t, { rule: 'CH1 > 30', channels: [t.channels[1]] });
  const t0 = base();
  await snap(t, t0, [20, 20]);
  await snap(t, t0 + MIN_US, ['break', 'break']);
  await snap(t, t0 + 2 * MIN_US, ['+over', '+over']);
  await snap(t, t0 + 3 * MIN_US, [21, 21]);
  const ev = await events(t, `?rule_id=${a.id}`);
  assert.deepEqual(ev.map((x) => [x.kind, x.special, x.slot]).reverse(),
    [['special', 'break', 1], ['special', '+over', 1], ['special_end', '+over', 1]]);
  assert.deepEqual(ev[2].values, ['break']);
  assert.deepEqual(await events(t, `?rule_id=${quiet.id}`), []);
  const inbox = await t.c.get('/api/v1/notifications?limit=100');
  assert.equal(inbox.body.items.filter((n) => n.kind === 'alarm.special').length, 3);
  assert.ok(inbox.body.items.some((n) => /shows sensor break since/.test(n.body)));

  // Raised, then the condition changes: closed as rule_changed, not notified.
  await snap(t, t0 + 4 * MIN_US, [40, 40]);
  const raised = (await events(t, `?rule_id=${a.id}&state=raised`))[0];
  assert.ok(raised);
  const n0 = Number(await sql(`SELECT count(*) FROM notifications WHERE account_id = ${t.id}`));
  let r = await t.c.patch(`/api/v1/alarms/${a.id}`, { name: 'renamed' });
  assert.equal(r.body.state.raised, true, 'a rename keeps the state');
  r = await patchRule(t, a.id, { rule: 'CH1 > 50' });
  assert.equal(r.status, 200);
  assert.equal(r.body.state.raised, false);
  const closed = (await events(t, `?rule_id=${a.id}&kind=clear`))[0];
  assert.equal(closed.cause, 'rule_changed');
  assert.equal(closed.raise_id, raised.id);
  assert.equal(Number(await sql(`SELECT count(*) FROM notifications WHERE account_id = ${t.id}`)), n0);
  // The new rule starts afresh with the next batch (and the cache follows).
  await snap(t, t0 + 5 * MIN_US, [45, 45]);
  assert.equal((await events(t, `?rule_id=${a.id}&state=raised`)).length, 0);
  await snap(t, t0 + 6 * MIN_US, [55, 45]);
  const again = await events(t, `?rule_id=${a.id}&state=raised`);
  assert.equal(again.length, 1);
  assert.equal(again[0].rule, 'CH1 > 50');
  assert.equal(again[0].rule_name, 'renamed');
  // Disabled: closed as rule_disabled; enabled again: fresh.
  r = await patchRule(t, a.id, { enabled: false });
  assert.equal((await events(t, `?rule_id=${a.id}&kind=clear`))[0].cause, 'rule_disabled');
  await snap(t, t0 + 7 * MIN_US, [60, 45]);
  assert.equal((await events(t, `?rule_id=${a.id}&state=raised`)).length, 0);
  // Deleted: its history stays with the rule as it was.
  await patchRule(t, a.id, { enabled: true });
  await snap(t, t0 + 8 * MIN_US, [60, 45]);
  r = await t.c.del(`/api/v1/alarms/${a.id}`);
  assert.equal(r.status, 200);
  const all = await events(t, `?channel_id=${t.channels[0]}&limit=200`);
  assert.ok(all.some((x) => x.cause === 'rule_deleted' && x.rule_id === null && x.rule === 'CH1 > 50'));
});

test('acknowledgement: who, when, comment; once; members who may see the group', async () => {
  const t = await groupTenant();
  await rule(t, { rule: 'CH1 > 30', channels: [t.channels[0]] });
  await snap(t, base(), [40]);
  const [raise] = await events(t);
  let r = await t.c.post(`/api/v1/alarm-events/${raise.id}/ack`, { comment: 'Valve checked' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.acked, true);
  assert.equal(r.body.ack_comment, 'Valve checked');
  assert.equal(r.body.acked_by.name, 'admin');
  assert.match(r.body.acked_at, /^\d{4}-/);
  r = await t.c.post(`/api/v1/alarm-events/${raise.id}/ack`, {});
  assert.equal(r.status, 409);
  assert.equal(r.body.code, 'already_acknowledged');
  assert.equal((await events(t, '?acked=true')).length, 1);
  assert.equal((await events(t, '?acked=false')).length, 0);
  r = await t.c.get(`/api/v1/groups/${t.group}/alarm-summary`);
  assert.equal(r.body.unacked, 0);
  assert.equal(await sql(`SELECT count(*) FROM audit_log WHERE account_id = ${t.id} AND action = 'alarm.ack'`), '1');
  r = await t.c.post(`/api/v1/alarm-events/${raise.id}/ack`, { comment: 'x'.repeat(1001) });
  assert.equal(r.status, 400);
  r = await t.c.post(`/api/v1/alarm-events/${raise.id}/ack`, { note: 'x' });
  assert.equal(r.body.code, 'unknown_field');

  // A member with view access sees and acknowledges; one without sees nothing.
  await snap(t, base() + MIN_US, [20]);
  await snap(t, base() + 2 * MIN_US, [40]);
  const second = (await events(t, '?state=raised'))[0];
  const mk = async (user) => {
    const { userId } = await createUser(srv.url, { accountId: t.id, user, password: PW, role: 'member',
      email: `${user}@${t.account}.test` });
    return { userId, c: await login(srv.url, { account: t.account, user, password: PW }) };
  };
  const viewer = await mk('viewer');
  const none = await mk('nobody');
  r = await t.c.put(`/api/v1/groups/${t.group}/access`, { users: [{ user_id: viewer.userId, access: 'view' }], teams: [] });
  assert.equal(r.status, 200);
  assert.equal((await viewer.c.get('/api/v1/alarm-events')).body.items.length, 3);
  assert.equal((await none.c.get('/api/v1/alarm-events')).body.items.length, 0);
  assert.equal((await none.c.get(`/api/v1/alarm-events/${second.id}`)).status, 404);
  assert.equal((await none.c.post(`/api/v1/alarm-events/${second.id}/ack`, {})).status, 404);
  assert.equal((await none.c.get(`/api/v1/groups/${t.group}/alarm-summary`)).status, 404);
  assert.equal((await none.c.get(`/api/v1/alarm-events/active?group_id=${t.group}`)).status, 404);
  assert.deepEqual((await none.c.get('/api/v1/alarm-events/active')).body.items, []);
  r = await viewer.c.post(`/api/v1/alarm-events/${second.id}/ack`, { comment: 'seen' });
  assert.equal(r.status, 200);
  assert.equal(r.body.acked_by.id, viewer.userId);
  // The members' inboxes: the viewer got the second raise, the other nothing.
  assert.ok((await viewer.c.get('/api/v1/notifications')).body.items.length >= 0);
  const other = await groupTenant();
  assert.equal((await other.c.get(`/api/v1/alarm-events/${second.id}`)).status, 404);
  assert.equal((await other.c.get('/api/v1/alarm-events')).body.items.length, 0);
  const clr = (await events(t, '?kind=clear'))[0];
  r = await t.c.post(`/api/v1/alarm-events/${clr.id}/ack`, {});
  assert.equal(r.status, 400);
});

test('a large batch (several hot rows) is evaluated in its transaction', async () => {
  const t = await groupTenant();
  const a = await rule(t, { rule: 'CH1 > 100', channels: [t.channels[0]] });
  const t0 = base(30);
  const n = 6000;
  const ts = Array.from({ length: n }, (_, i) => t0 + i * 1e6);
  const vs = ts.map((_, i) => (i >= 3000 && i < 3010 ? 150 : 50));
  const r = await t.ingest.batch({ batch_id: 'big', channels: [{ id: t.channels[0], t: ts, v: vs }] });
  assert.equal(r.status, 201, r.text);
  const ev = await events(t, `?rule_id=${a.id}`);
  assert.deepEqual(ev.map((x) => [x.kind, x.t]), [['clear', ts[3010]], ['raise', ts[3000]]]);
  const again = await t.ingest.batch({ batch_id: 'big', channels: [{ id: t.channels[0], t: ts, v: vs }] });
  assert.equal(again.body.duplicate, true);
  assert.equal((await events(t, `?rule_id=${a.id}`)).length, 2);
});

test('a computed channel carries a rule: evaluated when the compactor computes it', async () => {
  const t = await groupTenant();
  let r = await t.c.post(`/api/v1/groups/${t.group}/computed`, { name: 'sum', expression: 'CH1+CH2',
    inputs: [t.channels[0], t.channels[1]] });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const cx = r.body.id;
  const a = await rule(t, { name: 'Sum high', rule: 'CH1 > 10', channels: [cx] });
  const t0 = base();
  await snap(t, t0, [1, 2]);
  await snap(t, t0 + MIN_US, [6, 7]);
  await snap(t, t0 + 2 * MIN_US, [1, 1]);
  assert.deepEqual(await events(t, `?rule_id=${a.id}`), []);
  r = await request(srv.url, 'POST', '/api/v1/test/compact');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const ev = await events(t, `?rule_id=${a.id}`);
  assert.deepEqual(ev.map((x) => [x.kind, x.t, x.values[0]]), [['clear', t0 + 2 * MIN_US, 2], ['raise', t0 + MIN_US, 13]]);
  assert.equal(ev[1].channels[0].name, 'sum');
  // Folding again (nothing new) evaluates nothing twice.
  await snap(t, t0 + 3 * MIN_US, [1, 1]);
  await request(srv.url, 'POST', '/api/v1/test/compact');
  assert.equal((await events(t, `?rule_id=${a.id}`)).length, 2);
});
