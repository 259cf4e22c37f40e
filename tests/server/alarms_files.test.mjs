// File alarms (R6, S4; docs/alarms.md): an uploaded instrument file
// (HIOKI CSV, HOK2) checked against the rules of a group: every raise and
// clear recorded as history with the file named, one notice per rule that
// raised (inbox, destinations, the rule's language), nothing live moved.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setClock, startStack, stopStack } from './harness.mjs';
import { dataTenant, loadHok, uniq } from './data_helpers.mjs';

let pg;
let srv;
let db;
const sql = (q) => pg.psql(q, db);

before(async () => {
  ({ pg, srv, db } = await startStack({ env: { METRON_COMPACT_MS: '3600000', METRON_NOTIFY_THREADS: '0' } }));
});

after(() => stopStack({ pg, srv }));

async function groupTenant(n = 2) {
  const t = await dataTenant(srv, { n });
  let r = await t.c.post('/api/v1/groups', { name: uniq('Site') });
  t.group = r.body.id;
  r = await t.c.patch(`/api/v1/apps/${t.appId}`, { group_id: t.group });
  assert.equal(r.status, 200);
  return t;
}

const upload = (c, name, body) => c.post(`/api/v1/drive/files?name=${encodeURIComponent(name)}`,
  Buffer.from(body), { 'content-type': 'application/octet-stream' });

/** A HIOKI CSV (LR8450 layout) with one temperature column, 1 s rows. */
function csv(values) {
  const head = ['"File name","LR8450_09.CSV","V 1.27"', '"Title comment","Kiln"',
    '"Trigger Time","\'22-06-06 18:43:33"', '"CH","U1-1"', '"Mode","Tc"', '"Range","100 C"',
    '"UnitID","U1"', '"Comment","kiln"', '"Scaling","Off"', '"Ratio","1.00000E+00"',
    '"Offset","0.00000E+00"', '"Time","U1-1[C]"'];
  return [...head, ...values.map((v, i) => `${i.toFixed(3)}E+00,${v >= 0 ? '+' : ''}${v.toExponential(5).replace('e', 'E').replace(/E([+-])(\d)$/, 'E$10$2')},`)].join('\r\n') + '\r\n';
}

test('a HIOKI CSV checked against the group\'s rules: history events with the file, one notice per rule', async () => {
  const t = await groupTenant();
  const dest = Number(await sql(`INSERT INTO notify_destinations (account_id, kind, address, language)
    VALUES (${t.id}, 'email', 'kiln@example.com', 'it') RETURNING id`));
  await setClock(srv.url, -3600);
  let r = await t.c.post(`/api/v1/groups/${t.group}/alarms`, { name: 'Kiln hot', rule: 'CH1 > 30',
    channels: [t.channels[0]], language: 'it', destinations: [dest] });
  const hot = r.body;
  r = await t.c.post(`/api/v1/groups/${t.group}/alarms`, { name: 'Not files', rule: 'CH1 > 30',
    channels: [t.channels[0]], check_files: false });
  const skip = r.body;
  r = await t.c.post(`/api/v1/groups/${t.group}/alarms`, { name: 'Other channel', rule: 'CH1 > 30',
    channels: [t.channels[1]] });
  await setClock(srv.url, 0);
  // The notice writes the time in the account's zone as its offset at that
  // instant: New York in June is on summer time (UTC−04:00, not −05:00).
  await sql(`UPDATE accounts SET time_zone = 'America/New_York' WHERE id = ${t.id}`);
  const values = [20, 25, 31, 35, 28, 22, 40, 41, 20, 20];
  r = await upload(t.c, 'LR8450_09.CSV', csv(values));
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.kind, 'hioki_csv');
  const file = r.body.id;
  r = await t.c.post(`/api/v1/drive/files/${file}/alarm-check`, { group_id: t.group,
    channels: [{ index: 0, channel_id: t.channels[0] }], utc_offset_minutes: 540 });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.file_id, file);
  assert.equal(r.body.file_name, 'LR8450_09.CSV');
  assert.equal(r.body.samples, values.length);
  assert.equal(r.body.rules_checked, 1);
  assert.equal(r.body.events, 4);
  assert.equal(r.body.raised.length, 1);
  assert.equal(r.body.raised[0].rule_id, hot.id);
  assert.equal(r.body.raised[0].count, 2);
  const t0 = Date.UTC(2022, 5, 6, 9, 43, 33) * 1000; // 18:43:33 at UTC+9
  assert.equal(r.body.raised[0].first_t, t0 + 2e6);
  const ev = (await t.c.get(`/api/v1/alarm-events?rule_id=${hot.id}`)).body.items;
  assert.deepEqual(ev.map((x) => [x.kind, x.t, x.cause, x.late, x.file?.name]).reverse(), [
    ['raise', t0 + 2e6, 'file', true, 'LR8450_09.CSV'], ['clear', t0 + 4e6, 'file', true, 'LR8450_09.CSV'],
    ['raise', t0 + 6e6, 'file', true, 'LR8450_09.CSV'], ['clear', t0 + 8e6, 'file', true, 'LR8450_09.CSV']]);
  assert.equal(ev[3].state, 'history');
  assert.deepEqual(ev[3].values, [31]);
  assert.equal((await t.c.get(`/api/v1/alarm-events?rule_id=${skip.id}`)).body.items.length, 0);
  // Never "currently raised"; the rule's live state untouched.
  assert.deepEqual((await t.c.get('/api/v1/alarm-events/active')).body.items, []);
  assert.equal((await t.c.get(`/api/v1/alarms/${hot.id}`)).body.state.raised, false);
  // One notice: the inbox (the user's English) and the destination (the rule's Italian).
  const inbox = (await t.c.get('/api/v1/notifications')).body.items.filter((n) => n.kind === 'alarm.file');
  assert.equal(inbox.length, 1);
  assert.equal(inbox[0].title, '[File alarm] Kiln hot');
  assert.match(inbox[0].body, /The file "LR8450_09.CSV" meets the alarm "Kiln hot" 2 times, first at Jun 6, 2022, 5:43:35 AM \(UTC−04:00\)\./);
  assert.doesNotMatch(inbox[0].body, /New_York|2022-06-06/);
  assert.equal(await sql(`SELECT title FROM notify_outbox WHERE account_id = ${t.id} AND kind = 'alarm.file'`),
    '[Allarme file] Kiln hot');
  assert.match(await sql(`SELECT body FROM notify_outbox WHERE account_id = ${t.id} AND kind = 'alarm.file'`),
    /Il file «LR8450_09.CSV» soddisfa l’allarme «Kiln hot» 2 volte, la prima il 6 giu 2022, 05:43:35 \(UTC−04:00\)\./);
  assert.equal(await sql(`SELECT count(*) FROM audit_log WHERE account_id = ${t.id} AND action = 'alarm.file_check'`), '1');
});

test('HOK2 files too; refusals change nothing', async (ctx) => {
  const t = await groupTenant();
  await setClock(srv.url, -3600);
  const a = (await t.c.post(`/api/v1/groups/${t.group}/alarms`, { name: 'Pressure', rule: 'CH1 < 0',
    channels: [t.channels[1]] })).body;
  await setClock(srv.url, 0);
  const other = await groupTenant();
  const text = (await upload(t.c, 'notes.txt', 'hello')).body.id;
  const csvFile = (await upload(t.c, 'x.csv', csv([1, 2]))).body.id;
  const hok = await loadHok();
  let good = text;
  if (hok) {
    const base = Date.UTC(2024, 0, 1) * 1000;
    const bytes = hok.write({ meta: {}, channels: [{ id: 1, name: 'P', unit: 'kPa' }],
      times: [0, 1, 2].map((i) => (base + i * 60e6) / 1000), values: [[1, -2, 3]] }, { format: 'hok2' });
    good = (await upload(t.c, 'p.hok2', bytes)).body.id;
    const r = await t.c.post(`/api/v1/drive/files/${good}/alarm-check`, { group_id: t.group,
      channels: [{ index: 0, channel_id: t.channels[1] }] });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.raised[0].rule_id, a.id);
    assert.equal(r.body.events, 2);
    // Without a mapping a HOK2 file is read as the Metron channels it names.
    const own = hok.write({ meta: {}, channels: [{ id: t.channels[1], name: 'P', unit: 'kPa' }],
      times: [0, 1].map((i) => (base + (10 + i) * 60e6) / 1000), values: [[-1, 2]] }, { format: 'hok2' });
    const ownId = (await upload(t.c, 'own.hok2', own)).body.id;
    const x = await t.c.post(`/api/v1/drive/files/${ownId}/alarm-check`, { group_id: t.group });
    assert.equal(x.status, 200, JSON.stringify(x.body));
    assert.equal(x.body.events, 2);
    const y = await t.c.post(`/api/v1/drive/files/${good}/alarm-check`, { group_id: t.group });
    assert.equal(y.status, 400, 'file channel id 1 is no channel of the group');
  } else {
    ctx.diagnostic('the wasm build is not there: the HOK2 part is skipped');
  }
  const cases = [
    [text, { group_id: t.group, channels: [{ index: 0, channel_id: t.channels[0] }] }, 409, 'not_viewable'],
    [good, { channels: [{ index: 0, channel_id: t.channels[0] }] }, 400, 'missing'],
    [csvFile, { group_id: t.group }, 400, 'missing'],
    [good, { group_id: t.group, channels: [] }, 400, 'invalid_value'],
    [good, { group_id: t.group, channels: [{ index: 0, channel_id: other.channels[0] }] }, 400, 'invalid_value'],
    [good, { group_id: t.group, channels: [{ index: 0, channel_id: t.channels[0] }, { index: 0, channel_id: t.channels[1] }] }, 400, 'invalid_value'],
    [good, { group_id: t.group, channels: [{ index: 0, channel_id: t.channels[0], x: 1 }] }, 400, 'unknown_field'],
    [good, { group_id: other.group, channels: [{ index: 0, channel_id: t.channels[0] }] }, 404, 'not_found'],
    [999999, { group_id: t.group, channels: [{ index: 0, channel_id: t.channels[0] }] }, 404, 'not_found'],
  ];
  for (const [id, body, status, code] of cases) {
    const r = await t.c.post(`/api/v1/drive/files/${id}/alarm-check`, body);
    assert.equal(r.status, status, `${JSON.stringify(body)}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.code, code, JSON.stringify(body));
  }
  assert.equal(await sql(`SELECT count(*) FROM alarm_events WHERE account_id = ${t.id}`), hok ? '4' : '0');
});
