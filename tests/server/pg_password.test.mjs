// The server's password path to PostgreSQL (docs/operations.md,
// "PostgreSQL with a password"). Every other test cluster trusts loopback
// (startPostgres(): speed); this one asks for a SCRAM password on
// 127.0.0.1 (scripts/cluster.mjs startPrimary(): initdb -A scram-sha-256,
// the primary of scripts/cluster), and the server connects with the
// password in DATABASE_URL, from a password file (libpq's PGPASSFILE, or
// passfile= in DATABASE_URL), and is refused at start with a sentence that
// names neither password when it has a wrong one or none.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { freePort, runServer, startServer, tempDir } from './harness.mjs';
import { startPrimary } from '../../scripts/cluster.mjs';

// Characters a URL must percent-encode and a password file must escape.
const PASSWORD = `Sc:ram@p/w%1 \\x#${process.pid}`;
const WRONG = `Wrong-${process.pid}-password`;

let primary;
let root;

// libpq would read these instead of what each test gives.
delete process.env.PGPASSWORD;
delete process.env.PGPASSFILE;

before(async () => {
  root = tempDir('metron-scram-');
  primary = await startPrimary({ dir: path.join(root, 'data'), port: await freePort(),
    password: PASSWORD, durable: false, log: path.join(root, 'pg.log') });
});
after(async () => {
  await primary?.stop();
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

/** The database's URL with "password" (or none). */
const urlWith = (password) => {
  const who = password === null ? 'postgres' : `postgres:${encodeURIComponent(password)}`;
  return `postgresql://${who}@127.0.0.1:${primary.port}/metron`;
};

/** A password file for the cluster (the .pgpass format, mode 0600). */
function passFile(password) {
  const file = path.join(tempDir('metron-pgpass-'), 'pgpass');
  const esc = password.replace(/[\\:]/g, (c) => `\\${c}`);
  fs.writeFileSync(file, `127.0.0.1:${primary.port}:metron:postgres:${esc}\n`, { mode: 0o600 });
  return file;
}

/** Start a server on "databaseUrl" with "env"; check it answers; stop it. */
async function serves(databaseUrl, env = {}) {
  const srv = await startServer({ databaseUrl, env });
  try {
    const r = await fetch(`${srv.url}/api/v1/health`);
    const body = await r.json();
    assert.equal(r.status, 200);
    assert.equal(body.status, 'ok');
  } finally {
    const exit = await srv.stop();
    assert.equal(exit.code, 0, srv.stderr());
  }
  assert.doesNotMatch(srv.stderr(), new RegExp(escapeRe(PASSWORD)));
  return srv;
}

const escapeRe = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A start that must fail: its stderr. */
async function refused(databaseUrl, env = {}) {
  const dataDir = tempDir();
  const r = await runServer(['--listen', '127.0.0.1:0', '--data', dataDir],
    { DATABASE_URL: databaseUrl, ...env });
  fs.rmSync(dataDir, { recursive: true, force: true });
  assert.equal(r.code, 1, r.stderr);
  assert.doesNotMatch(r.stdout, /listening/);
  for (const secret of [PASSWORD, WRONG, encodeURIComponent(PASSWORD), encodeURIComponent(WRONG)]) {
    assert.doesNotMatch(r.stdout + r.stderr, new RegExp(escapeRe(secret)));
  }
  return r.stderr;
}

test('the cluster asks for a SCRAM password on 127.0.0.1 from everyone', async () => {
  // pg_hba.conf as initdb -A scram-sha-256 wrote it: no trust, no peer.
  assert.equal(await primary.psql(`SELECT count(*) FROM pg_hba_file_rules
    WHERE auth_method <> 'scram-sha-256' OR error IS NOT NULL`, 'postgres'), '0');
  assert.equal(await primary.psql(`SELECT auth_method FROM pg_hba_file_rules
    WHERE type = 'host' AND address = '127.0.0.1' AND 'all' = ANY (database)`, 'postgres'),
  'scram-sha-256');
  assert.equal(await primary.psql("SELECT left(rolpassword, 14) FROM pg_authid WHERE rolname = 'postgres'",
    'postgres'), 'SCRAM-SHA-256$');
});

test('the password in DATABASE_URL (percent-encoded) lets the server in', async () => {
  const srv = await serves(urlWith(PASSWORD));
  assert.match(srv.stderr(), /database: DATABASE_URL/);
});

test('a password file lets the server in: PGPASSFILE, or passfile= in DATABASE_URL', async () => {
  const file = passFile(PASSWORD);
  await serves(urlWith(null), { PGPASSFILE: file });
  await serves(`${urlWith(null)}?passfile=${encodeURIComponent(file)}`,
    { PGPASSFILE: path.join(root, 'no-such-file') });
});

test('a wrong password, or none, stops the start with a sentence that names no password', async () => {
  let err = await refused(urlWith(WRONG));
  assert.match(err, /migrations: cannot connect to the database: .*password authentication failed for user "postgres"\. The password given \(in DATABASE_URL or the password file\) is not the one PostgreSQL has for that user/);
  err = await refused(urlWith(null), { PGPASSFILE: passFile(WRONG) });
  assert.match(err, /password authentication failed for user "postgres"\. The password given/);
  err = await refused(urlWith(null), { PGPASSFILE: path.join(root, 'no-such-file') });
  assert.match(err, /migrations: cannot connect to the database: .*no password supplied\. PostgreSQL asks for a password and none was given: put it in DATABASE_URL \(postgresql:\/\/USER:PASSWORD@HOST\/DATABASE\) or in a password file \(PGPASSFILE, or passfile= in DATABASE_URL\)/);
});
