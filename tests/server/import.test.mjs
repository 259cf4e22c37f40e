// Import of drive files as acquired data (P24, Pro): HOK2 and HIOKI CSV
// files mapped onto measured channels, stored once even when imported twice,
// refused below Pro, for other accounts' channels and for bad mappings.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { repoRoot, request, startStack, stopStack } from './harness.mjs';
import { MIN_US, baseTime, dataTenant, loadHok } from './data_helpers.mjs';

let pg;
let srv;
let db;
const sql = (q) => pg.psql(q, db);

before(async () => {
  ({ pg, srv, db } = await startStack({ env: { METRON_COMPACT_MS: '3600000' } }));
});

after(() => stopStack({ pg, srv }));

const upload = (c, name, data) => c.post(`/api/v1/drive/files?name=${encodeURIComponent(name)}`,
  Buffer.from(data), { 'content-type': 'application/octet-stream' });
const compact = () => request(srv.url, 'POST', '/api/v1/test/compact');

test('a HOK2 file imported onto two channels; twice is still once', async (ctx) => {
  const hok = await loadHok();
  if (!hok) return ctx.skip('the wasm build is not there');
  const t = await dataTenant(srv, { n: 2, selected: 0 }); // an import needs no selection
  const t0 = baseTime(72);
  const times = Array.from({ length: 100 }, (_, i) => (t0 + i * MIN_US) / 1000);
  const a = times.map((_, i) => i / 4);
  const b = times.map((_, i) => (i % 10 === 3 ? Infinity : (i === 0 ? 0 : -i)));
  const bytes = hok.write({ meta: { title: 'logger dump' },
    channels: [{ id: 1, name: 'T1', unit: 'C' }, { id: 2, name: 'P1', unit: 'kPa' }],
    times, values: [a, b] }, { format: 'hok2' });
  let r = await upload(t.c, 'dump.hok2', bytes);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const file = r.body.id;
  const body = { channels: [{ index: 0, channel_id: t.channels[1] }, { index: 1, channel_id: t.channels[0] }] };
  for (let round = 0; round < 2; round++) {
    r = await t.c.post(`/api/v1/drive/files/${file}/import`, body);
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.deepEqual(r.body, { file_id: file, samples: 200, channels: 2 });
    await compact();
  }
  r = await t.c.get(`/api/v1/data/raw?channels=${t.channels[1]},${t.channels[0]}&from=${t0}&to=${t0 + 100 * MIN_US}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.t.length, 100);
  assert.deepEqual(r.body.channels[0].v, a);
  assert.deepEqual(r.body.channels[1].v, b.map((v) => (v === Infinity ? '+over' : v)));
  assert.equal(await sql(`SELECT sum(n) FROM series_day WHERE account_id = ${t.id}`), '200');
});

test('a HIOKI CSV file imported with the instrument clock offset', async () => {
  const t = await dataTenant(srv, { n: 1 });
  const csv = fs.readFileSync(path.join(repoRoot, 'tests', 'fixtures', 'csv', 'lr8450_comma.csv'));
  let r = await upload(t.c, 'LR8450_01.CSV', csv);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.kind, 'hioki_csv');
  r = await t.c.post(`/api/v1/drive/files/${r.body.id}/import`,
    { channels: [{ index: 1, channel_id: t.channels[0] }], utc_offset_minutes: 540 });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.ok(r.body.samples >= 3);
  // Trigger time 22-06-06 18:43:33 at UTC+9 = 09:43:33 UTC; U1-2 with scaling.
  const t0 = Date.UTC(2022, 5, 6, 9, 43, 33) * 1000;
  r = await t.c.get(`/api/v1/data/raw?channels=${t.channels[0]}&from=${t0}&to=${t0 + 10e6}`);
  assert.equal(r.body.t[0], t0);
  assert.equal(typeof r.body.channels[0].v[0], 'number');
});

test('refusals: below Pro, other kinds, bad mappings, foreign channels; nothing stored', async (ctx) => {
  const hok = await loadHok();
  if (!hok) return ctx.skip('the wasm build is not there');
  const bytes = hok.write({ meta: {}, channels: [{ id: 1, name: 'A', unit: '' }],
    times: [baseTime(72) / 1000], values: [[1]] }, { format: 'hok2' });
  const std = await dataTenant(srv, { plan: 'standard', n: 1 });
  let r = await upload(std.c, 'a.hok2', bytes);
  r = await std.c.post(`/api/v1/drive/files/${r.body.id}/import`, { channels: [{ index: 0, channel_id: std.channels[0] }] });
  assert.equal(r.status, 403);
  assert.equal(r.body.code, 'plan_limit');
  assert.equal(r.body.quota, 'P24');

  const t = await dataTenant(srv, { n: 2 });
  const other = await dataTenant(srv, { n: 1 });
  const good = (await upload(t.c, 'b.hok2', bytes)).body.id;
  const text = (await upload(t.c, 'notes.txt', 'hello')).body.id;
  const cases = [
    [text, { channels: [{ index: 0, channel_id: t.channels[0] }] }, 409, 'not_importable'],
    [good, {}, 400, 'missing'],
    [good, { channels: [] }, 400, 'invalid_value'],
    [good, { channels: [{ index: -1, channel_id: t.channels[0] }] }, 400, 'wrong_type'],
    [good, { channels: [{ index: 0, channel_id: 'x' }] }, 400, 'wrong_type'],
    [good, { channels: [{ index: 5, channel_id: t.channels[0] }] }, 400, 'invalid_value'],
    [good, { channels: [{ index: 0, channel_id: t.channels[0] }, { index: 0, channel_id: t.channels[1] }] }, 400, 'invalid_value'],
    [good, { channels: [{ index: 0, channel_id: other.channels[0] }] }, 404, 'not_found'],
    [good, { channels: [{ index: 0, channel_id: t.channels[0] }], utc_offset_minutes: 5000 }, 400, 'invalid_value'],
    [good, { channels: [{ index: 0, channel_id: t.channels[0] }], unit: 'V' }, 400, 'unknown_field'],
    [good, { channels: [{ index: 0, channel_id: t.channels[0], scale: 2 }] }, 400, 'unknown_field'],
    [999999, { channels: [{ index: 0, channel_id: t.channels[0] }] }, 404, 'not_found'],
  ];
  for (const [id, body, status, code] of cases) {
    r = await t.c.post(`/api/v1/drive/files/${id}/import`, body);
    assert.equal(r.status, status, `${JSON.stringify(body)}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.code, code, JSON.stringify(body));
  }
  r = await other.c.post(`/api/v1/drive/files/${good}/import`, { channels: [{ index: 0, channel_id: other.channels[0] }] });
  assert.equal(r.status, 404);
  assert.equal(await sql(`SELECT count(*) FROM series_hot WHERE account_id IN (${t.id}, ${other.id}, ${std.id})`), '0');
});
