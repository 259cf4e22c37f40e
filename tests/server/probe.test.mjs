// The prober (O2; docs/operations.md "Availability"): scripts/probe asks the
// health route and the portal's page of a real server every 0.2 s and logs
// each probe; a maintenance window is logged apart; the server is stopped
// (an outage) and started again on the same port; the report then gives
// one outage of about the time the server was away and the availability
// over the period, with the maintenance not counted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freePort, repoRoot, request, sleep, startPostgres, startServer, tempDir,
  trackProcess } from './harness.mjs';

const OPS_TOKEN = 'o'.repeat(20) + '-operator-token-0123456789';
const probe = path.join(repoRoot, 'scripts', 'probe');
const iso = (s) => new Date(s * 1000).toISOString().replace('.000Z', 'Z');

test('scripts/probe: up, maintenance apart, one outage while the server is stopped; the report', async () => {
  const pg = await startPostgres();
  const dbUrl = await pg.createDatabase();
  const port = await freePort();
  const dir = tempDir('metron-probe-');
  const log = path.join(dir, 'probe.log');
  fs.writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>Metron</title>');
  const start = () => startServer({ databaseUrl: dbUrl, portalDir: dir,
    args: ['--listen', `127.0.0.1:${port}`, '--jobs-interval', '0'], env: { METRON_OPS_TOKEN: OPS_TOKEN } });
  const lines = () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n')
    .filter(Boolean).map((l) => JSON.parse(l)) : []);
  /** Wait until "n" more probes of "state" than "before" were logged in a row at the end. */
  async function probes(state, n) {
    for (const deadline = Date.now() + 60000; ; await sleep(50)) {
      const l = lines();
      const tail = l.slice(-n);
      if (tail.length === n && tail.every((p) => p.state === state)) return l;
      assert.ok(Date.now() < deadline, `no ${n} probes "${state}" in a row: ${JSON.stringify(l.slice(-5))}`);
    }
  }

  let srv = await start();
  const prober = spawn(probe, [`http://127.0.0.1:${port}`, '--log', log, '--interval', '0.2', '--timeout', '2'],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  trackProcess(prober, 'scripts/probe');
  let out = '';
  prober.stdout.on('data', (d) => { out += d; });
  prober.stderr.on('data', (d) => { out += d; });
  try {
    await probes('up', 5);

    // A maintenance window in force for a few seconds: logged apart.
    const now = Math.floor(Date.now() / 1000);
    const r = await request(srv.url, 'POST', '/api/v1/ops/maintenance', {
      body: { starts_at: iso(now - 60), ends_at: iso(now + 4) },
      headers: { authorization: `Bearer ${OPS_TOKEN}` } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    await probes('maintenance', 3);
    await probes('up', 3);

    // An outage: the server stopped, then started again on the same port.
    const down0 = Date.now();
    const exit = await srv.stop();
    assert.equal(exit.code, 0);
    await probes('down', 5);
    srv = await start();
    const down1 = Date.now();
    await probes('up', 5);
    prober.kill('SIGTERM');
    await new Promise((resolve) => { if (prober.exitCode !== null) resolve(); else prober.on('exit', resolve); });
    assert.match(out, /\bdown \(/, 'the outage is printed as it starts');

    const rep = await new Promise((resolve) => {
      execFile(probe, ['--report', '--log', log], (error, stdout, stderr) => resolve({ error, stdout, stderr }));
    });
    assert.equal(rep.error, null, rep.stderr);
    const m = /availability_percent=([\d.]+) outages=(\d+) down_seconds=([\d.]+)/.exec(rep.stdout);
    assert.ok(m, rep.stdout);
    const [pct, outages, downS] = [Number(m[1]), Number(m[2]), Number(m[3])];
    assert.equal(outages, 1, rep.stdout);
    assert.ok(pct > 0 && pct < 100, rep.stdout);
    const away = (down1 - down0) / 1000;
    assert.ok(downS <= away + 1 && downS >= 0.5, `down ${downS} s, the server was away at most ${away} s: ${rep.stdout}`);
    assert.match(rep.stdout, /maintenance \d+ s \(not counted\)/);
    assert.doesNotMatch(rep.stdout, /maintenance 0 s/);
    // The first failed probe: refused, or cut while the server stopped.
    assert.match(rep.stdout, /outage .* \.\. .*: (ECONNREFUSED|ECONNRESET|UND_ERR_SOCKET|health 0)/);
  } finally {
    if (prober.exitCode === null) prober.kill('SIGTERM');
    await srv.stop();
    await pg.destroy();
  }
});
