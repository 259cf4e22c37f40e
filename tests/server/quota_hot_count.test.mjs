// Storage used (P2; docs/operations.md "Storage quota") without summing the
// hot rows (069_hot_count.sql): the figure an account's page shows is the
// formula of before 069 (logo + account_storage + 24 per hot sample summed
// over series_hot) after ingest through two server processes, rows written
// without their count (a server of before 069 during a rolling restart),
// compaction, deletion of a channel and of an app, the over-quota deletion
// and the deletion of the account; and 069 on a database with hot rows.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { pollUntil, psqlSession, request, startServer, startStack, stopStack } from './harness.mjs';
import { MIN_US, appClient, baseTime, dataTenant } from './data_helpers.mjs';

let stack, srv, srv2;
const sql = (q) => stack.pg.psql(q, stack.db);
/** The compactor's advisory lock (series_compact.c, "MTCO"). */
const COMPACTOR_LOCK = 1297367887;
const env = { METRON_COMPACT_MS: '3600000', METRON_NOTIFY_THREADS: '0',
  METRON_REPORT_WORKERS: '0' };

before(async () => {
  stack = await startStack({ env, args: ['--jobs-interval', '0'] });
  srv = stack.srv;
  // A second process on the same database (two servers behind one address).
  srv2 = await startServer({ databaseUrl: stack.url, env, args: ['--jobs-interval', '0'] });
});
after(async () => {
  const exit = await srv2?.stop();
  await stopStack(stack);
  assert.equal(exit?.code, 0, srv2?.stderr());
});

/** The formula of before 069, summing every hot row of account "id". */
const oldUsed = (id) => sql(`SELECT COALESCE(octet_length(a.logo), 0)
  + COALESCE((SELECT s.data_bytes + s.drive_bytes + s.picture_bytes FROM account_storage s
      WHERE s.account_id = a.id), 0)
  + COALESCE((SELECT 24 * sum(h.n) FROM series_hot h WHERE h.account_id = a.id), 0)
  FROM accounts a WHERE a.id = ${id}`).then(Number);

/** The account page's storage used (GET /api/v1/account, P2). */
async function pageUsed(t) {
  const r = await t.c.get('/api/v1/account');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const u = r.body.usage.find((x) => x.quota === 'P2');
  assert.ok(u, JSON.stringify(r.body.usage));
  return u.used;
}

/** The page's figure is the old formula's, and the counters hold what the
 * hot rows hold, in one snapshot. */
async function same(t, what) {
  const [page, old] = [await pageUsed(t), await oldUsed(t.id)];
  assert.equal(page, old, `${what}: the page shows ${page}, the sum over the hot rows ${old}`);
  const [counted, summed] = (await sql(`SELECT
      (SELECT COALESCE(sum(n), 0) FROM series_hot_count WHERE account_id = ${t.id}),
      (SELECT COALESCE(sum(n), 0) FROM series_hot WHERE account_id = ${t.id})`))
    .split('|').map(Number);
  assert.equal(counted, summed, `${what}: hot samples counted`);
  return page;
}

const batch = (t, id, t0, k) => ({ batch_id: id, channels: t.channels.map((ch, i) => ({ id: ch,
  t: Array.from({ length: k }, (_, j) => t0 + j * MIN_US), v: Array.from({ length: k }, (_, j) => i + j) })) });

test('storage used: the counters give the sum over the hot rows after ingest through two servers, rows written without their count, compaction, channel and app deletion', async () => {
  const t = await dataTenant(srv, { plan: 'free', n: 3 });
  const other = await dataTenant(srv, { plan: 'free', n: 2 });
  const t0 = baseTime(30);
  const via2 = appClient(srv2.url, t.app.credential);
  assert.equal(await same(t, 'a new account'), 0);

  // Batches of both accounts through both servers at once (group statements
  // of several batches and accounts, and single batches), one a duplicate.
  const sends = [];
  for (let i = 0; i < 40; i++) {
    const client = i % 2 ? via2 : t.ingest;
    sends.push(client.batch(batch(t, `b${i}`, t0 + i * 10 * MIN_US, 1 + (i % 4))));
    sends.push(other.ingest.batch(batch(other, `o${i}`, t0 + i * 10 * MIN_US, 2)));
  }
  sends.push(via2.batch(batch(t, 'b3', t0 + 3 * 10 * MIN_US, 4))); // b3 again: a duplicate
  for (const r of await Promise.all(sends)) assert.ok([200, 201].includes(r.status), r.text);
  const used = await same(t, 'after ingest');
  assert.equal(used, 24 * 3 * (10 * (1 + 2 + 3 + 4)), 'every sample once, 24 bytes each');
  await same(other, 'the other account after ingest');

  // A hot row written as a server of before 069 writes it (no "counted"):
  // the trigger counts it.
  const payload = Buffer.alloc(48).toString('hex');
  await sql(`INSERT INTO series_hot (account_id, t_min, t_max, n, payload)
    VALUES (${t.id}, ${t0}, ${t0}, 2, '\\x${payload}')`);
  assert.equal(await sql(`SELECT count(*) FROM series_hot WHERE NOT counted`), '0');
  assert.equal(await same(t, 'a row without its count'), used + 48);
  const r = await request(srv2.url, 'POST', '/api/v1/test/jobs?job=storage_notices');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(await same(t, 'after the storage round'), used + 48);
  await sql(`DELETE FROM series_hot WHERE account_id = ${t.id} AND n = 2 AND t_min = ${t0}
    AND payload = '\\x${payload}'`);
  assert.equal(await same(t, 'the row deleted again'), used);

  // Compaction folds every hot row: the day blocks' bytes take their place.
  let c = await request(srv.url, 'POST', '/api/v1/test/compact');
  assert.equal(c.status, 200, JSON.stringify(c.body));
  assert.equal(await sql(`SELECT count(*) FROM series_hot WHERE account_id = ${t.id}`), '0');
  assert.equal(await sql(`SELECT COALESCE(sum(n), 0) FROM series_hot_count WHERE account_id = ${t.id}`), '0');
  await same(t, 'after compaction');
  await same(other, 'the other account after compaction');

  // New hot rows, then a channel deleted (its hot samples stay until
  // compaction drops them) and compacted; then the app deleted.
  for (let i = 0; i < 6; i++) {
    const w = await (i % 2 ? via2 : t.ingest).batch(batch(t, `c${i}`, t0 + (500 + i) * MIN_US, 2));
    assert.equal(w.status, 201, w.text);
  }
  await same(t, 'new hot rows');
  let d = await t.c.del(`/api/v1/channels/${t.channels[0]}`);
  assert.ok([200, 204].includes(d.status), JSON.stringify(d.body));
  await same(t, 'a channel deleted');
  c = await request(srv2.url, 'POST', '/api/v1/test/compact');
  assert.equal(c.status, 200, JSON.stringify(c.body));
  await same(t, 'a channel deleted, compacted');
  const w = await via2.batch(batch({ channels: t.channels.slice(1) }, 'd0', t0 + 600 * MIN_US, 3));
  assert.equal(w.status, 201, w.text);
  d = await t.c.del(`/api/v1/apps/${t.appId}`);
  assert.ok([200, 204].includes(d.status), JSON.stringify(d.body));
  await same(t, 'the app deleted');
  await same(other, 'the other account at the end');
});

test('storage used: the over-quota deletion and the account deletion take the hot samples off the counters', async () => {
  const t = await dataTenant(srv, { plan: 'free', n: 2 });
  const t0 = baseTime(30);
  for (let i = 0; i < 5; i++) {
    const w = await t.ingest.batch(batch(t, `q${i}`, t0 + i * 10 * MIN_US, 3));
    assert.equal(w.status, 201, w.text);
  }
  assert.equal(await same(t, 'before the deletion'), 24 * 2 * 15);
  // What the storage round runs at an over-quota deadline (026, 030).
  const out = JSON.parse(await sql(`SELECT mt_account_delete_stored(${t.id})`));
  assert.equal(out.series_hot, 5);
  assert.equal(await same(t, 'after the over-quota deletion'), 0);
  const w = await t.ingest.batch(batch(t, 'q9', t0 + 90 * MIN_US, 1));
  assert.equal(w.status, 201, w.text);
  assert.equal(await same(t, 'ingest after it'), 24 * 2);
  await sql(`SELECT mt_account_delete(${t.id})`);
  assert.equal(await sql(`SELECT count(*) FROM series_hot_count WHERE account_id = ${t.id}`), '0',
    'no counter row left of a deleted account');
  assert.equal(await sql(`SELECT count(*) FROM series_hot WHERE account_id = ${t.id}`), '0');
});

/** "n" hot rows of one sample each for account "id" in one statement, as a
 * tool, a test or a server of before 069 writes them: without "counted". */
const uncounted = (id, n, from) => `INSERT INTO series_hot (account_id, t_min, t_max, n, payload)
  SELECT ${id}, x, x, 1, decode(repeat('00', 24), 'hex')
  FROM (SELECT ${from} + g * 1000000 AS x FROM generate_series(1, ${n}::bigint) g) s`;

test('storage used: rows written without their count in bulk are counted once per transaction and account (081), the figure exact before and after commit, after a savepoint rolled back, a delete and compaction', async () => {
  const t = await dataTenant(srv, { plan: 'free', n: 2 });
  const t0 = baseTime(30);
  for (let i = 0; i < 4; i++) {
    const w = await t.ingest.batch(batch(t, `u${i}`, t0 + i * 10 * MIN_US, 2));
    assert.equal(w.status, 201, w.text);
  }
  const used = await same(t, 'ingest');
  assert.equal(used, 24 * 2 * 8);

  // 20,000 rows in one statement: appended to series_hot_uncounted, the
  // rows marked counted; the counter row of shard 0 written once, when the
  // deferred fold runs (at the commit, or here when the constraint is made
  // immediate), and those rows gone then (069 wrote it once per row:
  // quadratic). A reader in another transaction sees the old figure until
  // the commit.
  const state = (what) => `SELECT '${what} writes ' || (SELECT COALESCE(sum(n_tup_ins + n_tup_upd), 0)
      FROM pg_stat_xact_user_tables WHERE relname = 'series_hot_count') || ' left ' ||
    (SELECT count(*) FROM series_hot_uncounted) || ' unmarked ' ||
    (SELECT count(*) FROM series_hot WHERE NOT counted) || ' end';\n`;
  const s = psqlSession(stack.pg, stack.db, `BEGIN;
    ${uncounted(t.id, 20000, t0 + 1000 * MIN_US)};\n${state('appended')}`);
  try {
    await pollUntil(() => /appended .* end/.test(s.out()), 'the bulk insert', 120000);
    assert.match(s.out(), /appended writes 0 left 20000 unmarked 0 end/, s.out());
    assert.equal(await same(t, 'a bulk insert not committed yet'), used);
    s.write(`SET CONSTRAINTS series_hot_uncounted_fold IMMEDIATE;\n${state('folded')}`);
    await pollUntil(() => /folded .* end/.test(s.out()), 'the fold', 60000);
    assert.match(s.out(), /folded writes 1 left 0 unmarked 0 end/, 'one write of the counter row');
    assert.equal(await same(t, 'folded, not committed yet'), used);
  } finally {
    await s.end('COMMIT;\n');
  }
  assert.equal(await same(t, 'a bulk insert of 20,000 rows'), used + 24 * 20000);

  // Several statements of one transaction, one of them under a savepoint
  // rolled back: only what was committed is counted.
  await sql(`BEGIN; ${uncounted(t.id, 300, t0 + 2000 * MIN_US)};
    SAVEPOINT s; ${uncounted(t.id, 50, t0 + 3000 * MIN_US)}; ROLLBACK TO SAVEPOINT s;
    ${uncounted(t.id, 7, t0 + 4000 * MIN_US)}; ${uncounted(t.id, 0, t0)}; COMMIT`);
  assert.equal(await same(t, 'statements and a savepoint rolled back'), used + 24 * 20307);
  assert.equal(await sql('SELECT count(*) FROM series_hot_uncounted'), '0');

  // A delete of part of them, then compaction of the rest.
  await sql(`DELETE FROM series_hot WHERE account_id = ${t.id} AND n = 1
    AND t_min > ${t0 + 1000 * MIN_US + 10000 * 1000000} AND t_min < ${t0 + 2000 * MIN_US}`);
  assert.equal(await same(t, 'a delete of half of them'), used + 24 * 10307);
  const c = await request(srv.url, 'POST', '/api/v1/test/compact');
  assert.equal(c.status, 200, JSON.stringify(c.body));
  assert.equal(await sql(`SELECT count(*) FROM series_hot WHERE account_id = ${t.id}`), '0');
  await same(t, 'after compaction');
});

test('storage used: counted writers (the server), uncounted writers (SQL) and the compactor at once agree with the sum over the hot rows', async () => {
  const ts = [await dataTenant(srv, { plan: 'free', n: 2 }), await dataTenant(srv, { plan: 'free', n: 2 })];
  const t0 = baseTime(30);
  for (const t of ts) await same(t, 'new');
  const work = [];
  // Counted: batches of both accounts through both servers.
  for (const [k, t] of ts.entries()) {
    work.push((async () => {
      for (let i = 0; i < 30; i++) {
        const client = i % 2 ? appClient(srv2.url, t.app.credential) : t.ingest;
        const w = await client.batch(batch(t, `w${k}-${i}`, t0 + i * 10 * MIN_US, 1 + (i % 3)));
        assert.ok([200, 201].includes(w.status), w.text);
      }
    })());
  }
  // Uncounted: three sessions, each 12 statements of both accounts' rows
  // (the accounts in either order), some in transactions of two statements.
  for (let k = 0; k < 3; k++) {
    work.push((async () => {
      for (let i = 0; i < 12; i++) {
        const [a, b] = (i + k) % 2 ? [ts[0], ts[1]] : [ts[1], ts[0]];
        const from = t0 + (5000 + k * 1000 + i * 50) * MIN_US;
        const both = `INSERT INTO series_hot (account_id, t_min, t_max, n, payload)
          SELECT CASE WHEN g % 3 = 0 THEN ${a.id} ELSE ${b.id} END, x, x, 1 + g % 2,
            decode(repeat('00', 24 * (1 + g % 2)), 'hex')
          FROM (SELECT g::int AS g, ${from} + g * 1000000 AS x FROM generate_series(1, 400::bigint) g) s`;
        await sql(i % 4 === 3 ? `BEGIN; ${both}; ${uncounted(a.id, 25, from + 600 * MIN_US)}; COMMIT` : both);
      }
    })());
  }
  // The compactor, now and then, through either server.
  work.push((async () => {
    for (let i = 0; i < 6; i++) {
      const c = await request(i % 2 ? srv2.url : srv.url, 'POST', '/api/v1/test/compact');
      assert.equal(c.status, 200, JSON.stringify(c.body));
    }
  })());
  await Promise.all(work);
  for (const t of ts) await same(t, 'at the end');
  const c = await request(srv.url, 'POST', '/api/v1/test/compact');
  assert.equal(c.status, 200, JSON.stringify(c.body));
  for (const t of ts) await same(t, 'compacted');
  assert.equal(await sql('SELECT count(*) FROM series_hot_uncounted'), '0');
  assert.equal(await sql(`SELECT count(*) FROM series_hot WHERE NOT counted`), '0');
});

test('069 on a database that already has hot rows counts them: the counters give each account\'s sum', async () => {
  const db = 'hot_count_mig';
  const url = await stack.pg.createDatabase(db);
  const q = (s) => stack.pg.psql(s, db);
  let s = await startServer({ databaseUrl: url, env, args: ['--jobs-interval', '0'] });
  assert.equal((await s.stop()).code, 0, s.stderr());
  // The schema as 068 left it (069 undone), with hot rows of 3 accounts
  // (none for a fourth), then the server started again: it applies 069.
  await q(`DROP TRIGGER series_hot_count_deleted ON series_hot;
    DROP TRIGGER series_hot_count_truncated ON series_hot;
    DROP TRIGGER series_hot_count_inserted ON series_hot;
    DROP FUNCTION mt_hot_count_deleted(); DROP FUNCTION mt_hot_count_truncated();
    DROP FUNCTION mt_hot_count_inserted(); DROP TABLE series_hot_count;
    ALTER TABLE series_hot DROP COLUMN counted;
    DELETE FROM schema_migrations WHERE version = 69`);
  await q(`INSERT INTO accounts (login_id, name, plan) SELECT 'hm' || g, 'Hot ' || g, 'free'
    FROM generate_series(1, 4) g`);
  await q(`INSERT INTO series_hot (account_id, t_min, t_max, n, payload)
    SELECT a.id, g, g, 1 + g % 5, decode(repeat('00', 24 * (1 + g % 5)), 'hex')
    FROM accounts a, generate_series(1, 300) g WHERE a.login_id IN ('hm1', 'hm2', 'hm3')
      AND g % (1 + (a.id % 3)) = 0`);
  // The compactor's lock held, so that the rows stay hot (it folds at start).
  const hold = psqlSession(stack.pg, db, `SELECT pg_advisory_lock(${COMPACTOR_LOCK});
    SELECT 'held';\n`);
  await pollUntil(() => hold.out().includes('held'), 'the compactor lock held');
  s = await startServer({ databaseUrl: url, env, args: ['--jobs-interval', '0'], dataDir: s.dataDir });
  try {
    assert.match(s.stderr(), /applied 069_hot_count/);
    const rows = await q(`SELECT a.login_id, COALESCE((SELECT sum(n) FROM series_hot h
        WHERE h.account_id = a.id), 0), COALESCE((SELECT sum(n) FROM series_hot_count k
        WHERE k.account_id = a.id), 0), (SELECT count(*) FROM series_hot h
        WHERE h.account_id = a.id AND NOT h.counted)
      FROM accounts a WHERE a.login_id LIKE 'hm%' ORDER BY a.login_id`);
    const got = rows.split('\n').map((l) => l.split('|'));
    assert.equal(got.length, 4);
    for (const [login, summed, counted, uncounted] of got) {
      assert.equal(counted, summed, `${login}: counted as summed`);
      assert.equal(uncounted, '0', `${login}: every row there before 069 counted`);
    }
    assert.ok(Number(got[0][1]) > 0 && got[3][1] === '0', rows);
    // The new rows a server of 069 writes are counted as they come.
    assert.equal(await q(`SELECT column_default FROM information_schema.columns
      WHERE table_name = 'series_hot' AND column_name = 'counted'`), 'false');
  } finally {
    await hold.end(`SELECT pg_advisory_unlock(${COMPACTOR_LOCK});\n`);
    assert.equal((await s.stop()).code, 0, s.stderr());
  }
});
