// Rolling upgrades (docs/operations.md, "Upgrades"): a migration whose first
// line is "-- metron: older servers compatible" lets servers of before it
// keep running and restarting on the schema that has it, one whose first
// line is "-- metron: servers from NNN compatible" lets those that know
// migration NNN; any other newer migration stops them (exit 3) with a
// message naming it. The fleet's upgrade drains each process through
// HAProxy's runtime API first (scripts/cluster.mjs, drainServer()), and a
// steady stream of requests through HAProxy sees no failure.
//
// CI has one commit, so the test build plays the newer release: with
// METRON_TEST_EXTRA_MIGRATIONS=DIR, metron-server-test adds DIR's
// NNN_name.sql to its own migrations (versions above the built-in ones);
// the same binary without it is the older release. metron-server (the
// production build) ignores the variable.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { destroyChecked, freePort, login, pollUntil, repoRoot, runServer, serverBin, startPostgres, startServer,
  tempDir, trackProcess,
} from './harness.mjs';
import { drainServer, readyServer, startHaproxy } from '../../scripts/cluster.mjs';
import { PW, dataTenant } from './data_helpers.mjs';

const BUILT_IN = fs.readdirSync(path.join(repoRoot, 'server', 'migrations'))
  .filter((f) => /^\d{3}_[a-z0-9_]+\.sql$/.test(f)).sort();
const NEWEST = BUILT_IN.at(-1).replace(/\.sql$/, ''); // "068_monitor_read"

// The newer release's expand step: a new table, and a new column with a
// default on a table older servers write.
const EXPAND = ['990_rolling_expand.sql', `-- metron: older servers compatible
-- A newer release's expand step (tests/server/rolling.test.mjs).
CREATE TABLE rolling_notes (
  account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  note text NOT NULL
);
ALTER TABLE users ADD COLUMN rolling_nickname text NOT NULL DEFAULT '';
`];
// A later release's contract step: servers that know 990 do not use the
// column it drops (they are this binary), older ones may.
const CONTRACT = ['991_rolling_contract.sql', `-- metron: servers from 990 compatible
-- A later release's contract step (tests/server/rolling.test.mjs).
ALTER TABLE users DROP COLUMN rolling_nickname;
`];
// A breaking step: unmarked, so no server of before it may run on it.
const BREAKING = ['992_rolling_breaking.sql', `-- A breaking step (tests/server/rolling.test.mjs).
ALTER TABLE rolling_notes RENAME TO rolling_notes_old;
`];

let pg;
const dirs = [];

before(async () => { pg = await startPostgres(); });
after(async () => {
  await destroyChecked(pg);
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** A folder holding the migration files "files" ([name, text] pairs). */
function migrationsDir(...files) {
  const dir = tempDir('metron-newer-');
  dirs.push(dir);
  for (const [name, text] of files) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

/** A server on "port" of the newer release (with "newer", a folder of
 * migrations) or of the older one (without). */
async function serverOn(url, port, newer) {
  const srv = await startServer({ databaseUrl: url, args: ['--listen', `127.0.0.1:${port}`],
    env: newer ? { METRON_TEST_EXTRA_MIGRATIONS: newer } : {} });
  dirs.push(srv.dataDir);
  return srv;
}

/**
 * Requests through "url" as the signed-in "c" ({ cookie, csrf }), two at a
 * time one after another, until stop(), which resolves to what they got:
 * ok (answered 200), failed (every other answer or error, as a sentence)
 * and by (the 200s of each process, X-Served-By). Each loop alternates
 * GET /api/v1/me, which HAProxy sends again when a process closed its
 * connection unanswered, and PATCH /api/v1/me, which it never sends again
 * (deploy/haproxy/metron.cfg). "answered(n)" resolves once n more requests
 * have been answered 200 ("server": by that process), or one failed.
 */
function steadyStream(url, c) {
  const out = { ok: 0, failed: [], by: {} };
  let running = true;
  let waiters = [];
  const loop = async (k) => {
    for (let i = 0; running; i++) {
      const write = i % 2 === 1;
      const what = write ? 'PATCH /api/v1/me' : 'GET /api/v1/me';
      try {
        const r = await fetch(url + '/api/v1/me', write ? {
          method: 'PATCH', body: JSON.stringify({ name: `Admin ${k}-${i}` }),
          headers: { cookie: `metron_session=${c.cookie}`, 'x-csrf-token': c.csrf,
            'content-type': 'application/json' },
        } : { headers: { cookie: `metron_session=${c.cookie}` } });
        await r.arrayBuffer();
        if (r.status === 200) {
          const by = r.headers.get('x-served-by');
          out.ok++;
          out.by[by] = (out.by[by] || 0) + 1;
        } else out.failed.push(`${what} answered ${r.status}`);
      } catch (e) {
        out.failed.push(`${what} failed: ${e.cause?.message || e.message}`);
      }
      waiters = waiters.filter((w) => !w());
    }
  };
  const loops = [loop(0), loop(1)];
  return {
    out,
    answered(n, server) {
      const count = () => (server ? out.by[server] || 0 : out.ok);
      const goal = count() + n;
      return new Promise((resolve) => {
        const w = () => (count() >= goal || out.failed.length ? (resolve(), true) : false);
        if (!w()) waiters.push(w);
      });
    },
    async stop() {
      running = false;
      await Promise.all(loops);
      return out;
    },
  };
}

async function stopped(srv) {
  const exit = await srv.stop();
  assert.equal(exit.code, 0, srv.stderr());
}

/** The schema_migrations rows of "db" above the built-in ones: "version|compatible_from". */
async function newerRows(db) {
  return pg.psql(`SELECT version || '|' || coalesce(compatible_from::text, '') FROM
    schema_migrations WHERE version > ${Number(NEWEST.slice(0, 3))} ORDER BY version`, db);
}

test('a fleet of two behind HAProxy is upgraded one process at a time over a compatible migration', async () => {
  const db = 'roll_fleet';
  const url = await pg.createDatabase(db);
  const newer = migrationsDir(EXPAND);
  const ports = [await freePort(), await freePort()];
  const fleet = [await serverOn(url, ports[0]), await serverOn(url, ports[1])];
  const proxy = await startHaproxy({ dir: tempDir('metron-haproxy-'),
    listen: `127.0.0.1:${await freePort()}`, backends: fleet, onSpawn: trackProcess });
  try {
    const t = await dataTenant(fleet[0], { n: 1 });
    /** Signed in through HAProxy: GET /me until both processes answered it. */
    const bothServe = async (what) => {
      const c = await login(proxy.url, { account: t.account, user: 'admin', password: PW });
      const seen = new Set();
      await pollUntil(async () => {
        const r = await fetch(`${proxy.url}/api/v1/me`,
          { headers: { cookie: `metron_session=${c.cookie}` } });
        await r.arrayBuffer();
        assert.equal(r.status, 200, what);
        seen.add(r.headers.get('x-served-by'));
        return seen.size === 2;
      }, `both processes answering through HAProxy ${what}`);
    };
    await bothServe('before the upgrade');

    // Process 0 upgraded under a steady stream of requests, none of which
    // fails: drained (HAProxy sends it nothing new, those in flight end),
    // stopped, started with the expand migration while process 1 (older)
    // keeps serving on the schema that has it, back in HAProxy's rotation.
    const c = await login(proxy.url, { account: t.account, user: 'admin', password: PW });
    const stream = steadyStream(proxy.url, c);
    await stream.answered(20);
    await drainServer({ socket: proxy.socket, server: 's0' });
    await stopped(fleet[0]);
    await stream.answered(20); // by process 1 alone, while process 0 is gone
    fleet[0] = await serverOn(url, ports[0], newer);
    await stream.answered(20);
    await readyServer({ socket: proxy.socket, server: 's0' });
    await stream.answered(5, 's0'); // the new process 0 serves again
    const seen = await stream.stop();
    assert.deepEqual(seen.failed, [], `${seen.ok} requests answered 200, ` +
      `${seen.failed.length} failed during the upgrade of process 0`);
    assert.match(fleet[0].stderr(), /applied 990_rolling_expand \(older servers compatible\)/);
    assert.equal(await newerRows(db), '990|0');
    await bothServe('with one process upgraded');
    // The older process writes the table the migration changed.
    const other = await dataTenant(fleet[1], { n: 1 });
    assert.equal(await pg.psql(`SELECT rolling_nickname FROM users
      WHERE account_id = ${other.id}`, db), '');

    // The older process restarts (a crash, a reboot) before its turn: it
    // starts beside the newer migration and says so.
    await stopped(fleet[1]);
    fleet[1] = await serverOn(url, ports[1]);
    assert.match(fleet[1].stderr(), new RegExp('the database has 1 migration newer than this ' +
      `server \\(up to ${Number(NEWEST.slice(0, 3))}\\), each marked compatible with this one; ` +
      'running beside 990_rolling_expand'));
    assert.match(fleet[1].stderr(), /0 migrations applied now/);
    await bothServe('with an older process restarted');

    // Process 1 upgraded the same way: nothing left to apply.
    await drainServer({ socket: proxy.socket, server: 's1' });
    await stopped(fleet[1]);
    fleet[1] = await serverOn(url, ports[1], newer);
    assert.match(fleet[1].stderr(), /0 migrations applied now/);
    await readyServer({ socket: proxy.socket, server: 's1' });
    await bothServe('after the upgrade');
    assert.equal(await pg.psql('SELECT count(*) FROM schema_migrations WHERE version = 990', db),
      '1');
  } finally {
    await proxy.stop();
    for (const s of fleet) await stopped(s);
  }
});

test('a contract migration lets only the servers it names run on it, an unmarked one none of before it', async () => {
  const db = 'roll_contract';
  const url = await pg.createDatabase(db);
  const start = async (...files) => {
    const srv = await startServer({ databaseUrl: url,
      env: files.length ? { METRON_TEST_EXTRA_MIGRATIONS: migrationsDir(...files) } : {} });
    dirs.push(srv.dataDir);
    return srv;
  };
  const refused = async (...files) => {
    const dataDir = tempDir();
    dirs.push(dataDir);
    const r = await runServer(['--listen', '127.0.0.1:0', '--data', dataDir], { DATABASE_URL: url,
      ...(files.length ? { METRON_TEST_EXTRA_MIGRATIONS: migrationsDir(...files) } : {}) });
    assert.equal(r.code, 3, r.stderr);
    assert.doesNotMatch(r.stdout, /listening/);
    return r.stderr;
  };
  // The release of 990, then the one of 991 (its contract step).
  await stopped(await start(EXPAND));
  let srv = await start(EXPAND, CONTRACT);
  assert.match(srv.stderr(), /applied 991_rolling_contract \(servers from 990 compatible\)\n/);
  await stopped(srv);
  assert.equal(await newerRows(db), '990|0\n991|990');
  // A server of 990 runs beside it; one of before 990 is refused.
  srv = await start(EXPAND);
  assert.match(srv.stderr(), /each marked compatible with this one; running beside 991_rolling_contract/);
  await stopped(srv);
  assert.match(await refused(), new RegExp('the database schema is at version 991 ' +
    '\\(991_rolling_contract\\), newer than this server knows \\(up to ' +
    `${Number(NEWEST.slice(0, 3))}\\), and migration 991_rolling_contract lets only servers ` +
    'from 990 on run on it: run the release that has it instead of this server'));
  // An unmarked migration: no server of before it runs on it.
  srv = await start(EXPAND, CONTRACT, BREAKING);
  assert.match(srv.stderr(), /applied 992_rolling_breaking\n/);
  await stopped(srv);
  assert.equal(await newerRows(db), '990|0\n991|990\n992|');
  assert.match(await refused(EXPAND, CONTRACT), new RegExp('the database schema is at version ' +
    '992 \\(992_rolling_breaking\\), newer than this server knows \\(up to 991\\), and ' +
    'migration 992_rolling_breaking does not let older servers run on it \\(it has no ' +
    '"-- metron:" mark\\): run the release that has it instead of this server'));
  // The first migration that stops it is named, not the newest.
  assert.match(await refused(), /and migration 991_rolling_contract lets only servers from 990 on/);
});

test('an older server is refused when one of its own migrations is missing under newer ones', async () => {
  const db = 'roll_disagree';
  const url = await pg.createDatabase(db);
  const srv = await startServer({ databaseUrl: url,
    env: { METRON_TEST_EXTRA_MIGRATIONS: migrationsDir(EXPAND) } });
  dirs.push(srv.dataDir);
  await stopped(srv);
  await pg.psql(`DELETE FROM schema_migrations WHERE name = '${NEWEST}'`, db);
  const dataDir = tempDir();
  dirs.push(dataDir);
  const r = await runServer(['--listen', '127.0.0.1:0', '--data', dataDir], { DATABASE_URL: url });
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, new RegExp('the database has migrations newer than this server ' +
    `\\(up to 990_rolling_expand\\) but not this server's ${NEWEST}: the releases disagree`));
});

test('a migration numbered below the server\'s newest that it has not is let by its mark too', async () => {
  // Numbered before migrations the server has, landed after them (069
  // after 072 and 073): a server without it must read its mark as for a
  // newer one. The first number below the newest that no built-in file has.
  const db = 'roll_hole';
  const url = await pg.createDatabase(db);
  const numbers = new Set(BUILT_IN.map((f) => Number(f.slice(0, 3))));
  const hole = [...Array(Number(NEWEST.slice(0, 3))).keys()].find((v) => v > 0 && !numbers.has(v));
  const name = `${String(hole).padStart(3, '0')}_rolling_hole`;
  let srv = await startServer({ databaseUrl: url });
  dirs.push(srv.dataDir);
  await stopped(srv);
  await pg.psql(`INSERT INTO schema_migrations (version, name, checksum)
    VALUES (${hole}, '${name}', 'x')`, db);
  const r = await runServer(['--listen', '127.0.0.1:0', '--data', srv.dataDir],
    { DATABASE_URL: url });
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, new RegExp(`the database has migration ${name}, which this server has ` +
    `not \\(its migrations go up to ${Number(NEWEST.slice(0, 3))}, around that one\\), and it ` +
    'has no "-- metron:" mark: run the release that has it instead of this server'));
  await pg.psql(`UPDATE schema_migrations SET compatible_from = ${hole} + 1000
    WHERE version = ${hole}`, db);
  const r2 = await runServer(['--listen', '127.0.0.1:0', '--data', srv.dataDir],
    { DATABASE_URL: url });
  assert.equal(r2.code, 3, r2.stderr);
  assert.match(r2.stderr, new RegExp(`and it lets only servers from ${hole + 1000} on run on it`));
  await pg.psql(`UPDATE schema_migrations SET compatible_from = 0 WHERE version = ${hole}`, db);
  srv = await startServer({ databaseUrl: url, dataDir: srv.dataDir });
  await stopped(srv);
  assert.match(srv.stderr(), new RegExp(`the database has ${name}, which this server has not ` +
    '.*marked compatible with this one; running beside it'));
  assert.match(srv.stderr(), /0 migrations applied now/);
});

test('a servers-from mark lets the servers that have that migration, not every one whose newest is above it', async () => {
  // "servers from NNN" names the servers that have migration NNN. Numbers
  // are reserved and landed out of order (062 and 070 never landed, 069
  // after 073): a server whose newest is above NNN but that lacks NNN
  // does not have what the contract migration relies on.
  const db = 'roll_from_hole';
  const url = await pg.createDatabase(db);
  const numbers = new Set(BUILT_IN.map((f) => Number(f.slice(0, 3))));
  const newest = Number(NEWEST.slice(0, 3));
  const hole = [...Array(newest).keys()].find((v) => v > 0 && !numbers.has(v));
  const have = [...numbers].filter((v) => v > hole).at(0);
  assert.ok(hole !== undefined && have !== undefined, `${hole} ${have}`);
  const srv = await startServer({ databaseUrl: url,
    env: { METRON_TEST_EXTRA_MIGRATIONS: migrationsDir(EXPAND) } });
  dirs.push(srv.dataDir);
  await stopped(srv);
  const older = () => {
    const dataDir = tempDir();
    dirs.push(dataDir);
    return runServer(['--listen', '127.0.0.1:0', '--data', dataDir], { DATABASE_URL: url });
  };
  // 990 as if marked "servers from <hole>": this server's newest is above
  // the hole, but it has not that migration.
  await pg.psql(`UPDATE schema_migrations SET compatible_from = ${hole} WHERE version = 990`, db);
  const r = await older();
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, new RegExp('the database schema is at version 990 ' +
    `\\(990_rolling_expand\\), newer than this server knows \\(up to ${newest}\\), and ` +
    `migration 990_rolling_expand lets only servers from ${String(hole).padStart(3, '0')} on ` +
    'run on it'));
  // Marked "servers from <have>", a migration it has (above the hole): it runs.
  await pg.psql(`UPDATE schema_migrations SET compatible_from = ${have} WHERE version = 990`, db);
  const ok = await startServer({ databaseUrl: url });
  dirs.push(ok.dataDir);
  await stopped(ok);
  assert.match(ok.stderr(), /each marked compatible with this one; running beside 990_rolling_expand/);
});

test('two newer servers starting together apply the newer migration once', async () => {
  const db = 'roll_together';
  const url = await pg.createDatabase(db, { empty: true });
  // Not idempotent: applied twice, the second CREATE TABLE would fail.
  const newer = migrationsDir(EXPAND);
  const both = await Promise.all([0, 1].map(() => startServer({ databaseUrl: url,
    env: { METRON_TEST_EXTRA_MIGRATIONS: newer } })));
  for (const s of both) dirs.push(s.dataDir);
  const text = both.map((s) => s.stderr()).join('\n');
  assert.equal(text.match(/applied 001_init\n/g)?.length, 1, text);
  assert.equal(text.match(/applied 990_rolling_expand /g)?.length, 1, text);
  for (const s of both) await stopped(s);
  assert.equal(await newerRows(db), '990|0');
});

test('a database migrated before the mark existed gets its column, every row not compatible', async () => {
  const db = 'roll_before';
  const url = await pg.createDatabase(db);
  let srv = await startServer({ databaseUrl: url });
  dirs.push(srv.dataDir);
  await stopped(srv);
  // As a server of before the mark left it.
  await pg.psql('ALTER TABLE schema_migrations DROP COLUMN compatible_from', db);
  srv = await startServer({ databaseUrl: url, dataDir: srv.dataDir });
  await stopped(srv);
  assert.match(srv.stderr(), /0 migrations applied now/);
  assert.equal(await pg.psql(`SELECT count(*) || '|' || count(compatible_from)
    FROM schema_migrations`, db), `${BUILT_IN.length}|0`);
});

test('the production build ignores METRON_TEST_EXTRA_MIGRATIONS; the test build checks its files', async (t) => {
  const db = 'roll_prod';
  const url = await pg.createDatabase(db);
  const dataDir = tempDir();
  dirs.push(dataDir);
  const bad = migrationsDir(['not-a-migration.txt', 'x']);
  const r = await runServer(['--listen', '127.0.0.1:0', '--data', dataDir],
    { DATABASE_URL: url, METRON_TEST_EXTRA_MIGRATIONS: bad });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, new RegExp('METRON_TEST_EXTRA_MIGRATIONS: not-a-migration.txt is not ' +
    `NNN_lower_case.sql with NNN above ${Number(NEWEST.slice(0, 3))}`));
  // A mark must name an earlier migration; nothing of it is applied.
  const self = migrationsDir(['990_rolling_self.sql',
    '-- metron: servers from 990 compatible\nCREATE TABLE rolling_self (a int);\n']);
  const r2 = await runServer(['--listen', '127.0.0.1:0', '--data', dataDir],
    { DATABASE_URL: url, METRON_TEST_EXTRA_MIGRATIONS: self });
  assert.equal(r2.code, 1, r2.stderr);
  assert.match(r2.stderr, /migration 990_rolling_self: a "-- metron:" line that is not a mark; the first line may read "-- metron: older servers compatible" or "-- metron: servers from NNN compatible" with NNN below the migration's own number/);
  assert.equal(await newerRows(db), '');
  const prod = path.join(path.dirname(serverBin), 'metron-server');
  if (!fs.existsSync(prod)) {
    t.skip(`no production build next to ${serverBin}`);
    return;
  }
  const srv = await startServer({ databaseUrl: url, bin: prod,
    env: { METRON_TEST_EXTRA_MIGRATIONS: migrationsDir(EXPAND) } });
  dirs.push(srv.dataDir);
  assert.match(srv.stderr(), /METRON_TEST_EXTRA_MIGRATIONS is read by the test build only/);
  await stopped(srv);
  assert.equal(await newerRows(db), '');
});
