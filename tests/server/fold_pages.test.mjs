// Room on the pages that the fold updates in place (migration 092, issue 16,
// docs/benchmarks.md "Autovacuum and the mix's churn"): channel_latest and
// series_day's partitions of this month and later have fillfactor 50, so
// that a compactor round's updates of a channel's day block and latest
// sample stay heap-only; a partition made later gets it too, with its
// columns' storage as before, but not one of an earlier month (093: rows
// inserted once, docs/benchmarks.md "Disk per stored sample after 092");
// and the fold still stores every sample once.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { request, useStack } from './harness.mjs';
import { MIN_US, baseTime, dataTenant } from './data_helpers.mjs';

const stack = useStack({ env: { METRON_COMPACT_MS: '3600000', METRON_NOTIFY_THREADS: '0' },
  args: ['--jobs-interval', '0'] });
const { sql } = stack;

const options = (rel) => sql(`SELECT coalesce(array_to_string(reloptions, ','), '') FROM pg_class
  WHERE oid = '${rel}'::regclass`);

test('092: channel_latest and the partitions from this month on keep half their pages free; a later partition too', async () => {
  assert.equal(await options('channel_latest'), 'fillfactor=50');
  const today = Math.floor(Date.now() / 86400e3);
  const now = await sql(`SELECT mt_series_partition(${today})`);
  assert.equal(await options(now), 'fillfactor=50', now);
  // A month not made yet (the function's CREATE), with 004's column storage.
  const later = await sql(`SELECT mt_series_partition(${today + 5 * 366})`);
  assert.notEqual(later, now);
  assert.equal(await options(later), 'fillfactor=50', later);
  assert.equal(await sql(`SELECT string_agg(attname || ':' || attstorage::text, ',' ORDER BY attname)
    FROM pg_attribute WHERE attrelid = '${later}'::regclass AND attname IN ('data', 'hours')`),
  'data:e,hours:m');
  await sql(`DROP TABLE ${later}`);
});

test('093: a partition of an earlier month (a back-fill, an import) keeps the default fillfactor', async () => {
  const today = Math.floor(Date.now() / 86400e3);
  const past = await sql(`SELECT mt_series_partition(${today - 5 * 366})`);
  assert.equal(await options(past), '', past);
  assert.equal(await sql(`SELECT string_agg(attname || ':' || attstorage::text, ',' ORDER BY attname)
    FROM pg_attribute WHERE attrelid = '${past}'::regclass AND attname IN ('data', 'hours')`),
  'data:e,hours:m');
  await sql(`DROP TABLE ${past}`);
});

test('092: two folds of one day update its blocks and latest samples in place, every sample kept once', async () => {
  const t = await dataTenant(stack.srv, { plan: 'pro', n: 3 });
  const t0 = baseTime(30);
  const batch = (id, from) => ({ batch_id: id, channels: t.channels.map((ch, i) => ({ id: ch,
    t: [from, from + MIN_US], v: [i, i + 1] })) });
  const fold = async () => {
    const r = await request(stack.srv.url, 'POST', '/api/v1/test/compact');
    assert.equal(r.status, 200, JSON.stringify(r.body));
  };
  let r = await t.ingest.batch(batch('a', t0));
  assert.ok([200, 201].includes(r.status), r.text);
  await fold();
  const where = `account_id = ${t.id}`;
  const pages = () => sql(`SELECT string_agg(channel_id || ':' || (ctid::text::point)[0], ','
    ORDER BY channel_id) FROM channel_latest WHERE ${where}`);
  const before = await pages();
  r = await t.ingest.batch(batch('b', t0 + 5 * MIN_US));
  assert.ok([200, 201].includes(r.status), r.text);
  await fold();
  // Each latest sample's new version on its old version's page.
  assert.equal(await pages(), before);
  assert.equal(await sql(`SELECT string_agg(channel_id || ':' || n || ':' || t_last, ',' ORDER BY channel_id)
    FROM series_day WHERE ${where}`),
  t.channels.map((ch) => `${ch}:4:${t0 + 6 * MIN_US}`).join(','));
  assert.equal(await sql(`SELECT count(*) FROM series_hot WHERE ${where}`), '0');
});
