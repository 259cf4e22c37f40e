// mt_channels_seen() (the channels a viewer may see: migration 066, its
// plan by key in 085, issue 16 rawcheck2) against 066's text, kept beside
// it under another name: the same ids for every viewer (an administrator,
// members granted a group directly, through a team, both, neither, a user
// of another account, no such user) and every set of channels asked for
// (each alone, all of them, an account's with another's, ids that do not
// exist, repeated ids), in a tenant whose channels' groups come from their
// app, from their own (computed channels), or from nowhere (an app in no
// group), with a second account beside it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createAccount, createUser, destroyChecked, repoRoot, startPostgres, startServer } from './harness.mjs';
import { PW, uniq } from './data_helpers.mjs';

let pg;
let srv;
let db;

before(async () => {
  pg = await startPostgres();
  const url = await pg.createDatabase();
  db = new URL(url).pathname.slice(1);
  srv = await startServer({ databaseUrl: url });
});
after(async () => {
  await srv?.stop();
  await destroyChecked(pg);
});

const sql = (q) => pg.psql(q, db);
const one = async (q) => Number(await sql(q));

/** 066's function, as it was, named mt_channels_seen_066. */
async function keep066() {
  const text = fs.readFileSync(path.join(repoRoot, 'server', 'migrations', '066_channels_seen.sql'), 'utf8');
  const fn = text.slice(text.indexOf('CREATE FUNCTION mt_channels_seen('))
    .replace('CREATE FUNCTION mt_channels_seen(', 'CREATE FUNCTION mt_channels_seen_066(');
  await sql(fn);
}

/** An account with three groups, apps in two of them and one in none, a
 * device of two channels for each app, two computed channels, and members:
 * one granted a group directly, one through a team, one both ways, one
 * with nothing. */
async function tenant() {
  const account = uniq('seen');
  const ids = await createAccount(srv.url, { account, plan: 'pro', user: 'admin', password: PW,
    email: `admin@${account}.test` });
  const a = ids.accountId;
  const users = [];
  for (const u of ['direct', 'team', 'both', 'none']) {
    const m = await createUser(srv.url, { accountId: a, user: u, password: PW, role: 'member',
      email: `${u}@${account}.test` });
    users.push(m.userId);
  }
  const g = (await sql(`INSERT INTO measurement_groups (account_id, name)
    SELECT ${a}, 'G' || i FROM generate_series(1, 3) i ORDER BY i RETURNING id`)).split('\n').map(Number);
  const apps = (await sql(`INSERT INTO apps (account_id, group_id, kind, name)
    VALUES (${a}, ${g[0]}, 'one', 'A1'), (${a}, ${g[1]}, 'one', 'A2'), (${a}, NULL, 'one', 'A3')
    RETURNING id`)).split('\n').map(Number);
  const devs = (await sql(`INSERT INTO devices (account_id, app_id, model, serial)
    SELECT ${a}, x, 'LR8450', 'S' || x FROM unnest(ARRAY[${apps.join(',')}]::bigint[]) x
    RETURNING id`)).split('\n').map(Number);
  const ch = (await sql(`INSERT INTO channels (account_id, device_id, ch_key, name)
    SELECT ${a}, d, 'CH' || i, 'C' || i FROM unnest(ARRAY[${devs.join(',')}]::bigint[]) d,
      generate_series(1, 2) i ORDER BY d, i RETURNING id`)).split('\n').map(Number);
  const computed = (await sql(`INSERT INTO channels (account_id, device_id, group_id, ch_key, name,
      expression, inputs)
    VALUES (${a}, NULL, ${g[2]}, 'X1', 'X1', 'CH1', ARRAY[${ch[0]}]::bigint[]),
           (${a}, NULL, ${g[0]}, 'X2', 'X2', 'CH1', ARRAY[${ch[2]}]::bigint[])
    RETURNING id`)).split('\n').map(Number);
  const [direct, team, both] = users;
  const teams = (await sql(`INSERT INTO teams (account_id, name) VALUES (${a}, 'T1'), (${a}, 'T2')
    RETURNING id`)).split('\n').map(Number);
  await sql(`INSERT INTO team_members (account_id, team_id, user_id)
    VALUES (${a}, ${teams[0]}, ${team}), (${a}, ${teams[0]}, ${both})`);
  await sql(`INSERT INTO group_team_access (account_id, group_id, team_id)
    VALUES (${a}, ${g[1]}, ${teams[0]}), (${a}, ${g[0]}, ${teams[1]})`);
  await sql(`INSERT INTO group_user_access (account_id, group_id, user_id)
    VALUES (${a}, ${g[0]}, ${direct}), (${a}, ${g[2]}, ${both})`);
  return { a, users, channels: [...ch, ...computed] };
}

test('mt_channels_seen() gives 066\'s ids for every viewer and set of channels', async () => {
  await keep066();
  // 085's text is the one the server applied (no join of the account's devices).
  assert.equal(await sql(`SELECT prosrc LIKE '%LEFT JOIN devices%' FROM pg_proc WHERE proname = 'mt_channels_seen'`), 'f');
  const t = await tenant();
  const o = await tenant();
  const all = [...t.channels, ...o.channels];
  const sets = [...all.map((c) => [c]), t.channels, o.channels, all, [t.channels[0], t.channels[0]],
    [...t.channels.slice(2, 5), 999999999], [999999999], [], [o.channels[1], t.channels[7], t.channels[3]]];
  const viewers = ['NULL', ...t.users, ...o.users, 999999999];
  const setsSql = sets.map((s) => `(ARRAY[${s.join(',')}]::bigint[])`).join(', ');
  const q = `SELECT acct, ch, viewer, mt_channels_seen(acct, ch, viewer) AS now,
      mt_channels_seen_066(acct, ch, viewer) AS was
    FROM (VALUES (${t.a}::bigint), (${o.a})) a(acct), (VALUES ${setsSql}) s(ch),
      (VALUES ${viewers.map((v) => `(${v}::bigint)`).join(', ')}) v(viewer)`;
  const calls = await one(`SELECT count(*) FROM (${q}) x`);
  assert.equal(calls, 2 * sets.length * viewers.length);
  const differ = await sql(`SELECT acct || ' ' || ch::text || ' ' || coalesce(viewer::text, 'admin') || ': ' ||
      now::text || ' against ' || was::text FROM (${q}) x WHERE now IS DISTINCT FROM was`);
  assert.equal(differ, '', `ids other than 066's:\n${differ}`);
  // The comparison sees the rules: each member sees a different part of
  // the tenant, the administrator all of it, nobody the other account's.
  const seen = (viewer) => sql(`SELECT mt_channels_seen(${t.a}, ARRAY[${all.join(',')}]::bigint[], ${viewer})::text`);
  // The app in no group's channels (the 5th and 6th) are no member's.
  const [c11, c12, c21, c22, , , x1, x2] = t.channels;
  const list = (...ids) => `{${ids.sort((p, r) => p - r).join(',')}}`;
  assert.equal(await seen('NULL'), list(...t.channels));
  assert.equal(await seen(t.users[0]), list(c11, c12, x2));
  assert.equal(await seen(t.users[1]), list(c21, c22));
  assert.equal(await seen(t.users[2]), list(c21, c22, x1));
  assert.equal(await seen(t.users[3]), '{}');
});
