// The monitor's read (mt_monitor_read(), migration 084, issue 16): the
// account's newest hot rows read in the function's own statement when
// every channel has a channel_latest row, no longer through a call of
// mt_monitor_hot(). Its rows are compared with 068's function (created
// beside it from the migration's text) on the same states, the way servers
// of before call it (084 is marked older servers compatible); and two
// server processes on one database show each batch on the monitor the
// moment it was acknowledged, on the path 084 added (every channel folded
// into channel_latest first).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { login } from './harness.mjs';
import { compact as compactOn, startTwo, stopTwo } from './two_servers.mjs';
import { MIN_US, PW, appClient, baseTime, dataTenant, inNewGroup } from './data_helpers.mjs';

const ENV = { METRON_COMPACT_MS: '3600000' };
let pg, srvA, srvB, db;
const sql = (q) => pg.psql(q, db);

before(async () => {
  ({ pg, srvA, srvB, db } = await startTwo({ env: ENV }));
});

after(async () => {
  await stopTwo({ pg, srvA, srvB });
});

const compact = () => compactOn(srvA);

test('084\'s read gives the rows of 068\'s on the same states (runs and ids, bounds, pages, special values)',
  async (ctx) => {
    const t = await dataTenant(srvA, { n: 5 });
    const other = await dataTenant(srvA, { n: 2 });
    const ch = t.channels;
    for (let i = 1; i < ch.length; i++) assert.equal(ch[i], ch[0] + i, `channel ids one run: ${ch}`);
    const migration = fs.readFileSync(new URL('../../server/migrations/068_monitor_read.sql', import.meta.url),
      'utf8');
    const fn = migration.slice(migration.indexOf('CREATE FUNCTION mt_monitor_read('))
      .replace('CREATE FUNCTION mt_monitor_read(', 'CREATE FUNCTION mt_monitor_read_068(');
    await sql(fn);
    const base = baseTime(2);
    // Each state: the channels' channel_latest rows (some missing, some a
    // special value), channel_sent rows, hot rows of the account and of
    // another one around the oldest channel_latest time, the app's seen
    // state; then both functions with several pages, app lists and channel
    // lists (the whole run, a shorter run, ids with a gap). Any difference
    // stops the loop with the state's number.
    const out = await sql(`CREATE TEMP TABLE compared (reads int, everyday int, partial int);
DO $$
DECLARE
  ch bigint[] := '{${ch.join(',')}}';
  acct bigint := ${t.id};
  c bigint; k int; n_rows int; i int; pg int; a int; li int;
  got bigint; mism bigint; everyday int := 0; partial int := 0; compared int := 0;
  ids bigint[]; app_ids bigint[]; lo bigint; hi bigint;
BEGIN
  PERFORM setseed(0.084);
  FOR i IN 1..240 LOOP
    DELETE FROM channel_latest WHERE channel_id = ANY(ch);
    DELETE FROM channel_sent WHERE channel_id = ANY(ch);
    DELETE FROM series_hot WHERE account_id IN (acct, ${other.id});
    FOREACH c IN ARRAY ch LOOP
      IF random() < (CASE WHEN i % 3 = 0 THEN 0.7 ELSE 1.0 END) THEN
        k := floor(random() * 6)::int;
        INSERT INTO channel_latest (account_id, channel_id, t, v, special)
        VALUES (acct, c, ${base} + floor(random() * 8)::bigint * 1000,
                CASE WHEN k = 5 THEN NULL ELSE random() * 100 END,
                CASE WHEN k = 5 THEN 1 + floor(random() * 5)::smallint ELSE 0 END);
        INSERT INTO channel_sent (channel_id, account_id) VALUES (c, acct);
      ELSIF random() < 0.5 THEN
        INSERT INTO channel_sent (channel_id, account_id) VALUES (c, acct);
      END IF;
    END LOOP;
    n_rows := floor(random() * 7)::int;
    FOR k IN 1..n_rows LOOP
      c := ch[1 + floor(random() * array_length(ch, 1))::int];
      got := ${base} + floor(random() * 14 - 4)::bigint * 1000;
      INSERT INTO series_hot (account_id, t_min, t_max, n, payload)
      SELECT CASE WHEN random() < 0.2 THEN ${other.id} ELSE acct END, got - 1000 * floor(random() * 3)::bigint,
             got, 1, int8send(c) || int8send(got) || float8send(random());
    END LOOP;
    UPDATE app_seen SET connected = random() < 0.5,
      last_seen_at = CASE WHEN random() < 0.3 THEN NULL ELSE now() - random() * interval '1 hour' END
    WHERE account_id = acct AND app_id = ${t.appId};
    IF (SELECT count(*) FROM channel_latest WHERE channel_id = ANY(ch)) = array_length(ch, 1) THEN
      everyday := everyday + 1;
    ELSE
      partial := partial + 1;
    END IF;
    FOREACH pg IN ARRAY '{1,2,3,16}'::int[] LOOP
      FOR a IN 1..3 LOOP
        app_ids := CASE a WHEN 1 THEN ARRAY[${t.appId}]::bigint[] WHEN 2 THEN '{}'::bigint[]
                   ELSE ARRAY[${t.appId}, ${other.appId}]::bigint[] END;
        FOR li IN 1..4 LOOP
          -- 1: the whole run (lo..hi); 2: the whole run by ids; 3: a shorter
          -- run; 4: ids with a gap (never a run).
          ids := CASE li WHEN 3 THEN ch[2:4] WHEN 4 THEN ARRAY[ch[1], ch[3], ch[5]] ELSE ch END;
          lo := CASE WHEN li IN (1, 3) THEN ids[1] END;
          hi := CASE WHEN li IN (1, 3) THEN ids[array_length(ids, 1)] END;
          SELECT count(*) INTO mism FROM (
            (SELECT * FROM mt_monitor_read(acct, app_ids, ids, pg, lo, hi)
             EXCEPT ALL SELECT * FROM mt_monitor_read_068(acct, app_ids, ids, pg, lo, hi))
            UNION ALL
            (SELECT * FROM mt_monitor_read_068(acct, app_ids, ids, pg, lo, hi)
             EXCEPT ALL SELECT * FROM mt_monitor_read(acct, app_ids, ids, pg, lo, hi))) d;
          IF mism <> 0 THEN
            RAISE EXCEPTION 'state %: page %, apps %, ids % (lo %, hi %): % rows differ', i, pg, app_ids,
              ids, lo, hi, mism;
          END IF;
          compared := compared + 1;
        END LOOP;
      END LOOP;
    END LOOP;
  END LOOP;
  INSERT INTO compared VALUES (compared, everyday, partial);
  IF everyday < 100 OR partial < 40 THEN
    RAISE EXCEPTION 'too few states of a kind: % and %', everyday, partial;
  END IF;
END $$;
SELECT * FROM compared`);
    const [reads, everyday, partial] = out.split('|').map(Number);
    ctx.diagnostic(`${reads} reads compared in ${everyday} states with every channel in channel_latest, ` +
      `${partial} without`);
    assert.equal(reads, 240 * 4 * 3 * 4);
  });

test('two processes: each batch shows on the other\'s monitor the moment it was acknowledged, every channel folded',
  async () => {
    const t = await dataTenant(srvA, { n: 4 });
    const group = await inNewGroup(t, 'Line');
    const ch = t.channels;
    const a = t.c;
    const b = await login(srvB.url, { account: t.account, user: 'admin', password: PW });
    const ingest = { a: t.ingest, b: appClient(srvB.url, t.app.credential) };
    const latest = async (c) => {
      const r = await c.get(`/api/v1/groups/${group}/monitor`);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return Object.fromEntries(r.body.apps[0].devices[0].channels.map((x) => [x.id, x.latest ?? null]));
    };
    const t0 = baseTime(3);
    let r = await ingest.a.batch({ batch_id: 'first', snapshots: [{ t: t0, ids: ch, v: [1, 2, 3, 4] }] });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    await compact();
    assert.equal(await sql(`SELECT count(*) FROM channel_latest WHERE channel_id IN (${ch.join(',')})`), '4');
    const want = Object.fromEntries(ch.map((id, k) => [id, { t: t0, v: k + 1 }]));
    for (const c of [a, b]) assert.deepEqual(await latest(c), want, 'folded');
    for (let k = 1; k <= 12; k++) {
      // A batch through one process, read at once through the other (and
      // through the same one): a whole minute, one channel, or a back-fill
      // older than channel_latest (which changes nothing).
      const [send, read] = k % 2 ? [ingest.a, [b, a]] : [ingest.b, [a, b]];
      const tk = t0 + k * MIN_US;
      let batch;
      if (k % 3 === 0) {
        batch = { batch_id: `one${k}`, channels: [{ id: ch[k % 4], t: [tk], v: [100 + k] }] };
        want[ch[k % 4]] = { t: tk, v: 100 + k };
      } else if (k % 3 === 1) {
        batch = { batch_id: `all${k}`, snapshots: [{ t: tk, ids: ch, v: ch.map((_, j) => k * 10 + j) }] };
        ch.forEach((id, j) => { want[id] = { t: tk, v: k * 10 + j }; });
      } else {
        batch = { batch_id: `old${k}`, channels: [{ id: ch[0], t: [t0 - k * MIN_US], v: [-k] }] };
      }
      r = await send.batch(batch);
      assert.equal(r.status, 201, JSON.stringify(r.body));
      for (const c of read) assert.deepEqual(await latest(c), want, `batch ${k}`);
      if (k === 6) {
        await compact(); // folded again: channel_latest newer than the back-fills
        for (const c of [a, b]) assert.deepEqual(await latest(c), want, `batch ${k}, folded`);
      }
    }
  });
