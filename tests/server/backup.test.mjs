// Backups and restore (O3; docs/operations.md "Backups"): the embedded
// cluster archives its WAL with pgBackRest (METRON_BACKUP=REPO), scripts/backup
// takes a full backup, the cluster is destroyed, scripts/restore brings back
// every sample and every file byte for byte (including what was stored after
// the backup, from the archived WAL; files are kept in PostgreSQL), and a
// point-in-time restore to just before a deletion (a channel with its
// samples, a drive file) brings the deleted data back.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { repoRoot, sessionClient, sleep, startServer, tempDir } from './harness.mjs';
import { MIN_US, baseTime, dataTenant } from './data_helpers.mjs';

const pgbackrest = process.env.METRON_PGBACKREST || '/usr/bin/pgbackrest';
const dataDir = tempDir('metron-backup-');
const repo = path.join(tempDir('metron-repo-'), 'repo');
const env = { METRON_BACKUP: repo };
let srv = null;

after(async () => {
  if (srv) await srv.stop('SIGTERM');
  // A failed restore may leave its cluster running: stop it before removing.
  await run('/usr/lib/postgresql/15/bin/pg_ctl', ['stop', '-D', path.join(dataDir, 'pg'), '-m',
    'immediate'], { asOwner: true });
});

/** Run a program; resolves to { code, out } whatever its exit. */
function run(file, args, { asOwner = false } = {}) {
  let f = file;
  let a = args;
  if (asOwner && process.getuid() === 0) {
    f = '/usr/sbin/runuser';
    a = ['-u', 'postgres', '--', file, ...args];
  }
  return new Promise((resolve) => {
    const child = execFile(f, a, { cwd: '/', timeout: 300000 }, (error, stdout, stderr) => {
      resolve({ code: child.exitCode, out: `${stdout}${stderr}` });
    });
  });
}

async function script(name, ...args) {
  const r = await run(path.join(repoRoot, 'scripts', name), args);
  assert.equal(r.code, 0, `scripts/${name} ${args.join(' ')}: ${r.out}`);
  return r.out;
}

/** Every sample of every channel (or the status that says it is gone) and
 * every file's bytes, as one comparable object. */
async function snapshot(t, files, from, to) {
  const out = { channels: {}, files: {} };
  // The server listens on a new port after each restart; the session is in
  // the database (and so in the backup).
  const c = sessionClient(srv.url, { cookie: t.c.cookie, csrf: t.c.csrf });
  // A 503 (no pooled connection in time on a loaded machine) is a "retry",
  // not an answer about the data: ask again.
  const retry = async (fn) => {
    for (const deadline = Date.now() + 60000; ; await sleep(200)) {
      const r = await fn();
      if (r.status !== 503 || Date.now() > deadline) return r;
    }
  };
  for (const ch of t.channels) {
    const r = await retry(() => c.get(`/api/v1/data/raw?channels=${ch}&from=${from}&to=${to}&limit=100000`));
    out.channels[ch] = r.status === 200 ? { t: r.body.t, v: r.body.channels[0].v } : r.status;
  }
  for (const [name, id] of Object.entries(files)) {
    const r = await retry(async () => {
      const x = await fetch(`${srv.url}/api/v1/drive/files/${id}/content`,
        { headers: { cookie: `metron_session=${c.cookie}` } });
      return { status: x.status, buf: Buffer.from(await x.arrayBuffer()) };
    });
    const { buf } = r;
    out.files[name] = r.status === 200
      ? crypto.createHash('sha256').update(buf).digest('hex') + `:${buf.length}` : r.status;
  }
  return out;
}

/** Assert "got" equals "want"; the message names what differs (a channel's
 * sample count and first differing time, a file's digest). */
function same(got, want, what) {
  const diffs = [];
  for (const kind of ['channels', 'files']) {
    for (const k of new Set([...Object.keys(want[kind]), ...Object.keys(got[kind])])) {
      const a = got[kind][k];
      const b = want[kind][k];
      if (JSON.stringify(a) === JSON.stringify(b)) continue;
      if (a && b && a.t && b.t) {
        const i = a.t.findIndex((x, j) => x !== b.t[j] || a.v[j] !== b.v[j]);
        diffs.push(`${kind} ${k}: ${a.t.length} samples, want ${b.t.length}; first difference at ${i}`);
      } else {
        diffs.push(`${kind} ${k}: ${JSON.stringify(a)?.slice(0, 80)}, want ${JSON.stringify(b)?.slice(0, 80)}`);
      }
    }
  }
  assert.deepEqual(diffs, [], `${what}: ${diffs.join('; ')}`);
}

/** A batch of "n" minutes from minute "m0" on every channel of "t". */
function batch(t, id, t0, m0, n) {
  return t.ingest.batch({ batch_id: id, channels: t.channels.map((ch, k) => ({
    id: ch,
    t: Array.from({ length: n }, (_, i) => t0 + (m0 + i) * MIN_US),
    v: Array.from({ length: n }, (_, i) => Math.round(Math.sin((m0 + i) / 7 + k) * 1e6) / 1e3),
  })) });
}

/** The timeline scripts/restore says the restored cluster is on. */
const timeline = (out) => Number(/restore: timeline (\d+)/.exec(out)?.[1]);

async function restart() {
  srv = await startServer({ dataDir, env });
}

/** Stop the server: it exits 0 having stopped its PostgreSQL (a cluster
 * left running would outlive the folder the test removes). */
async function stopped() {
  const exit = await srv.stop('SIGTERM');
  const err = srv.stderr();
  srv = null;
  assert.equal(exit.code, 0, err);
  assert.match(err, /embedded PostgreSQL: stopped/, err);
}

test('back up, destroy the cluster, restore byte-identical; point in time before a deletion',
  { skip: !fs.existsSync(pgbackrest) && 'pgbackrest is not installed' }, async () => {
    await restart();
    assert.match(srv.stderr(), /backups: WAL archived with pgBackRest/);
    const t = await dataTenant(srv, { plan: 'pro', n: 3 });
    const t0 = baseTime(48);
    const from = t0;
    const to = t0 + 2000 * MIN_US;
    let r = await batch(t, 'before-backup', t0, 0, 600);
    assert.equal(r.status, 201, r.text);
    const files = {};
    const upload = async (name, bytes) => {
      const u = await t.c.post(`/api/v1/drive/files?name=${name}`, bytes,
        { 'content-type': 'application/octet-stream' });
      assert.equal(u.status, 201, JSON.stringify(u.body));
      files[name] = u.body.id;
    };
    await upload('before.bin', crypto.randomBytes(300_000));

    const full = await script('backup', dataDir, 'full');
    assert.match(full, /backup: full done/);
    assert.match(await script('backup', dataDir, 'info'), /full backup/);

    // Stored after the backup: only the archived WAL holds it.
    r = await batch(t, 'after-backup', t0, 600, 600);
    assert.equal(r.status, 201, r.text);
    await upload('after.bin', crypto.randomBytes(200_000));
    const beforeDeletion = await snapshot(t, files, from, to);
    assert.equal(beforeDeletion.channels[t.channels[2]].t.length, 1200);

    // The instant to go back to, with commits well clear of it on both sides.
    await sleep(1500);
    const instant = new Date().toISOString();
    await sleep(1500);
    r = await t.c.del(`/api/v1/channels/${t.channels[2]}`);
    assert.ok(r.status === 200 || r.status === 204, JSON.stringify(r.body));
    r = await t.c.del(`/api/v1/drive/files/${files['before.bin']}`);
    assert.ok(r.status === 200 || r.status === 204, JSON.stringify(r.body));
    const afterDeletion = await snapshot(t, files, from, to);
    assert.equal(afterDeletion.files['before.bin'], 404);
    assert.equal(afterDeletion.channels[t.channels[2]], 404);
    await script('backup', dataDir, 'check'); // the deletion's WAL is archived
    const health = await (await fetch(`${srv.url}/api/v1/health`)).json();
    assert.equal(health.backup.state, 'ok', JSON.stringify(health));
    assert.ok(Date.parse(health.backup.last_archived_at) > Date.now() - 120000, JSON.stringify(health));

    // Destroy the cluster, restore everything archived.
    await stopped();
    fs.rmSync(path.join(dataDir, 'pg'), { recursive: true, force: true });
    const whole = await script('restore', dataDir);
    assert.match(whole, /restore: done/);
    // The socket lock file pgBackRest copied names the backup's postmaster.
    assert.ok(!fs.existsSync(path.join(dataDir, 'pg', '.s.PGSQL.5432.lock')));
    // The recovery ended (promoted, a new timeline), not merely started:
    // a cluster stopped before would replay past any target at its next start.
    assert.equal(timeline(whole), 2, whole);
    await restart();
    same(await snapshot(t, files, from, to), afterDeletion, 'restored to the end of the WAL');

    // Point in time: just before the deletion.
    await stopped();
    const pitr = await script('restore', dataDir, '--time', instant);
    console.log(instant, pitr);
    assert.match(pitr, /restore: done/);
    assert.equal(timeline(pitr), 3, pitr);
    await restart();
    same(await snapshot(t, files, from, to), beforeDeletion, `restored to ${instant}: ${pitr}`);

    // The restored cluster goes on archiving (a new timeline): a backup of it works.
    assert.match(await script('backup', dataDir, 'incr'), /backup: incr done/);
    const exit = await srv.stop('SIGTERM');
    srv = null;
    assert.equal(exit.code, 0);
  });

test('METRON_BACKUP refused: a relative path, odd characters; the server does not start', async () => {
  for (const bad of ['relative/repo', '/tmp/with space', '/tmp/a/../b']) {
    const d = tempDir('metron-backup-bad-');
    await assert.rejects(startServer({ dataDir: d, env: { METRON_BACKUP: bad } }),
      /METRON_BACKUP: the backup folder and the data folder \(and the socket folder\) must be absolute paths/);
  }
});
