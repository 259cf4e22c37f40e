// Schema migrations: recorded, idempotent, and a newer schema is refused.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { destroyChecked, startPostgres, startServer, runServer, tempDir } from './harness.mjs';

let pg;
const dirs = [];

before(async () => { pg = await startPostgres(); });
after(async () => {
  await destroyChecked(pg);
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

test('migrations are applied once, recorded, and a restart applies nothing', async () => {
  const url = await pg.createDatabase('mig_once', { empty: true });
  let srv = await startServer({ databaseUrl: url });
  dirs.push(srv.dataDir);
  await srv.stop();
  const rows = await pg.psql('SELECT version, name, length(checksum) FROM schema_migrations ' +
    'ORDER BY version', 'mig_once');
  assert.match(rows.split('\n')[0], /^1\|001_init\|64$/);
  assert.match(srv.stderr(), /applied 001_init/);
  srv = await startServer({ databaseUrl: url, dataDir: srv.dataDir });
  await srv.stop();
  assert.doesNotMatch(srv.stderr(), /applied 001_init/);
  assert.match(srv.stderr(), /0 migrations applied now/);
  assert.equal(await pg.psql('SELECT count(*) FROM schema_migrations', 'mig_once'),
    String(rows.split('\n').length));
});

test('the data model: tenant tables carry account_id and cannot point across accounts',
  async () => {
    const db = 'mig_model';
    const url = await pg.createDatabase(db);
    const srv = await startServer({ databaseUrl: url, args: ['--demo'] });
    dirs.push(srv.dataDir);
    assert.match(srv.stdout(), /Demo logins/);
    assert.match(srv.stdout(), /demo-pro or pro-demo/);
    assert.equal((await srv.stop()).code, 0, srv.stderr());
    const tables = (await pg.psql(`SELECT table_name FROM information_schema.tables
      WHERE table_schema = 'public' AND table_name NOT IN ('schema_migrations',
      'login_throttle', 'accounts', 'server_secrets', 'series_month_swept', 'mqtt_ca',
      'mqtt_revoked', 'maintenance_windows', 'ingest_batch_prune',
      /* the receiving hosts in trouble (058): a host counts across accounts */
      'notify_host_health') ORDER BY 1`, db)).split('\n');
    for (const t of ['users', 'teams', 'team_members', 'measurement_groups', 'group_user_access',
      'group_team_access', 'apps', 'devices', 'channels', 'sessions', 'api_tokens',
      'password_resets', 'email_codes', 'notifications', 'system_notification_recipients',
      'inquiries', 'audit_log']) {
      assert.ok(tables.includes(t), `table ${t}`);
    }
    for (const t of tables) {
      const col = await pg.psql(`SELECT is_nullable FROM information_schema.columns
        WHERE table_name = '${t}' AND column_name = 'account_id'`, db);
      assert.equal(col, 'NO', `${t}.account_id NOT NULL`);
    }
    // The demo seeded one account per plan.
    assert.equal(await pg.psql('SELECT string_agg(plan, \',\' ORDER BY id) FROM accounts', db),
      'trial,free,standard,pro');
    // Four channels on the Trial, Free and Standard demos, 32 on the Pro demo (its history: demo.test.mjs).
    assert.equal(await pg.psql('SELECT count(*) FROM channels', db), '44');
    // Of the cost the test build is given (the harness's TEST_PASSWORD_COST);
    // the real one is proven in auth_hash_gate.test.mjs.
    assert.match(await pg.psql('SELECT password_hash FROM users LIMIT 1', db),
      /^\$argon2id\$v=19\$m=\d+,t=\d,p=1\$/);
    // A device of account 2 cannot hang under an app of account 3.
    await assert.rejects(pg.psql(`INSERT INTO devices (account_id, app_id, model, serial)
      SELECT 2, id, 'LR8450', 'X1' FROM apps WHERE account_id = 3`, db), /foreign key/);
    // Enum checks hold.
    await assert.rejects(pg.psql(`UPDATE apps SET kind = 'toaster'`, db), /check constraint/);
    await assert.rejects(pg.psql(`UPDATE accounts SET plan = 'gold'`, db), /check constraint/);
  });

test('a database with a newer schema is refused with exit code 3', async () => {
  const db = 'mig_newer';
  const url = await pg.createDatabase(db);
  const srv = await startServer({ databaseUrl: url });
  dirs.push(srv.dataDir);
  await srv.stop();
  await pg.psql(`INSERT INTO schema_migrations (version, name, checksum)
    VALUES (999, '999_from_the_future', 'x')`, db);
  const dataDir = tempDir();
  dirs.push(dataDir);
  const r = await runServer(['--listen', '127.0.0.1:0', '--data', dataDir],
    { DATABASE_URL: url });
  assert.equal(r.code, 3);
  assert.match(r.stderr, /schema is at version 999 \(999_from_the_future\), newer than this server/);
  // (a row written without the mark of docs/operations.md "Upgrades": not compatible)
  assert.match(r.stderr, /migration 999_from_the_future does not let older servers run on it/);
  assert.doesNotMatch(r.stdout, /listening/);
});

test('an unreachable DATABASE_URL fails start-up cleanly', async () => {
  const dataDir = tempDir();
  dirs.push(dataDir);
  const r = await runServer(['--listen', '127.0.0.1:0', '--data', dataDir],
    { DATABASE_URL: 'postgresql://postgres@127.0.0.1:1/none?connect_timeout=2' });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /cannot connect to the database/);
});

test('bad flags exit 2 with a clear message', async () => {
  for (const [args, re] of [
    [['--bogus'], /unknown option --bogus/],
    [['--listen', 'nowhere'], /--listen 'nowhere': expected PORT or IPv4:PORT/],
    [['--threads', '0'], /--threads '0'/],
    [['--listen'], /--listen needs a value/],
    [['extra'], /unexpected argument 'extra'/],
  ]) {
    const r = await runServer(args);
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.stderr, re);
  }
  const help = await runServer(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--listen ADDR/);
});
