// Other tenants for the benchmarks of a member's reads (issue 16,
// docs/benchmarks.md "memberscale"): accounts that the measured account
// never sees, with the rows a cost growing with the whole service would
// read: each one a measurement group, a member granted it, APPS apps in
// the group, a device each and CHANNELS channels a device, each channel
// with its latest value (channel_latest, channel_sent). Made by SQL in
// the benchmark (one INSERT per table, server-side generate_series), and
// removed by it (the accounts' ON DELETE CASCADE); their login ids start
// with "bt-" so nothing else is touched.
//
//   node tests/bench/tenants.mjs DATABASE_URL add N [APPS [CHANNELS]]
//   node tests/bench/tenants.mjs DATABASE_URL drop
//
// Each then runs VACUUM ANALYZE on the tables it wrote (what autovacuum
// does on a service that grew) and prints the tables' row counts.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { pgBin } from '../server/harness.mjs';

const MAX_TENANTS = 100000;
const MAX_APPS = 100;
const MAX_CHANNELS = 64;

/** The SQL adding "n" tenants of "apps" apps (one device each) and
 * "channels" channels a device, numbered from "from" (their login ids
 * bt-<number>: a second call adds more with "from" past the first's). */
export function addTenantsSql(n, apps = 10, channels = 4, from = 1) {
  if (!Number.isInteger(from) || from < 1 || from > MAX_TENANTS) throw new Error(`from: a whole number from 1 to ${MAX_TENANTS}, not ${from}`);
  for (const [k, v, max] of [['tenants', n, MAX_TENANTS], ['apps', apps, MAX_APPS], ['channels', channels, MAX_CHANNELS]]) {
    if (!Number.isInteger(v) || v < 1 || v > max) throw new Error(`${k}: a whole number from 1 to ${max}, not ${v}`);
  }
  return `BEGIN;
CREATE TEMP TABLE bt_acc ON COMMIT DROP AS
  WITH a AS (INSERT INTO accounts (login_id, name, plan)
    SELECT 'bt-' || i, 'Tenant ' || i, 'free' FROM generate_series(${from}, ${from + n - 1}) i RETURNING id)
  SELECT id FROM a;
CREATE TEMP TABLE bt_grp ON COMMIT DROP AS
  WITH g AS (INSERT INTO measurement_groups (account_id, name) SELECT id, 'Plant' FROM bt_acc
    RETURNING account_id, id) SELECT * FROM g;
CREATE TEMP TABLE bt_usr ON COMMIT DROP AS
  WITH u AS (INSERT INTO users (account_id, login_id, name, role, file_access, password_hash)
    SELECT id, 'viewer', 'Viewer', 'member', 'view', '$argon2id$v=19$m=65536,t=3,p=1$bench$bench' FROM bt_acc
    RETURNING account_id, id) SELECT * FROM u;
INSERT INTO group_user_access (account_id, group_id, user_id, access)
  SELECT g.account_id, g.id, u.id, 'view' FROM bt_grp g JOIN bt_usr u USING (account_id);
CREATE TEMP TABLE bt_app ON COMMIT DROP AS
  WITH p AS (INSERT INTO apps (account_id, group_id, kind, name)
    SELECT g.account_id, g.id, 'one', 'gateway ' || k FROM bt_grp g, generate_series(1, ${apps}) k
    RETURNING account_id, id) SELECT * FROM p;
CREATE TEMP TABLE bt_dev ON COMMIT DROP AS
  WITH d AS (INSERT INTO devices (account_id, app_id, model, serial)
    SELECT account_id, id, 'LR8450', 'S' || id FROM bt_app RETURNING account_id, id) SELECT * FROM d;
CREATE TEMP TABLE bt_ch ON COMMIT DROP AS
  WITH c AS (INSERT INTO channels (account_id, device_id, ch_key, name, unit)
    SELECT d.account_id, d.id, 'CH1_' || k, 'Channel ' || k, 'V' FROM bt_dev d, generate_series(1, ${channels}) k
    RETURNING account_id, id) SELECT * FROM c;
INSERT INTO channel_sent (channel_id, account_id) SELECT id, account_id FROM bt_ch;
INSERT INTO channel_latest (account_id, channel_id, t, v)
  SELECT account_id, id, (extract(epoch FROM now()) * 1000000)::bigint - id, id % 100 FROM bt_ch;
COMMIT;
`;
}

export const dropTenantsSql = "DELETE FROM accounts WHERE login_id LIKE 'bt-%';";

export const ANALYZE_SQL = ['accounts', 'users', 'measurement_groups', 'group_user_access', 'apps', 'devices', 'channels',
  'channel_latest', 'channel_sent']
  .map((t) => `VACUUM ANALYZE ${t};`).join('\n');

export const countsSql = "SELECT (SELECT count(*) FROM accounts) || ' accounts, ' || (SELECT count(*) FROM apps) || ' apps, ' || "
  + "(SELECT count(*) FROM devices) || ' devices, ' || (SELECT count(*) FROM channels) || ' channels, ' || "
  + "(SELECT count(*) FROM users) || ' users, ' || (SELECT count(*) FROM group_user_access) || ' grants'";

function psql(url, sql) {
  return new Promise((resolve, reject) => {
    execFile(path.join(pgBin, 'psql'), ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-d', url, '-c', sql],
      { maxBuffer: 1 << 22 }, (e, out, err) => (e ? reject(new Error(`${e.message}\n${err}`)) : resolve(out.trim())));
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [url, what, n, apps, channels] = process.argv.slice(2);
  if (!url || !['add', 'drop'].includes(what)) {
    process.stderr.write('usage: node tests/bench/tenants.mjs DATABASE_URL add N [APPS [CHANNELS]] | drop\n');
    process.exit(2);
  }
  const t0 = performance.now();
  await psql(url, what === 'add' ? addTenantsSql(Number(n), Number(apps || 10), Number(channels || 4)) : dropTenantsSql);
  for (const s of ANALYZE_SQL.split('\n')) await psql(url, s);
  process.stdout.write(`${what}: ${((performance.now() - t0) / 1000).toFixed(1)} s; ${await psql(url, countsSql)}\n`);
}
