// scripts/run as a newcomer starts it (issue 14): the server with its demo
// accounts, Mosquitto and a metron-gateway playing the demo Pro account's
// app over MQTTS, so that the monitor shows live values within a minute;
// Ctrl-C (SIGINT) stops all three. The release build in build/ (scripts/run
// runs those binaries; METRON_SKIP_BUILD=1 since scripts/test built them).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { freePort, repoRoot, sleep, tempDir, trackProcess } from '../server/harness.mjs';
import { until } from './helpers.mjs';

let run;
let data;

after(async () => {
  if (run && run.exitCode === null && run.signalCode === null) {
    run.kill('SIGINT');
    await new Promise((resolve) => run.once('exit', resolve));
  }
  if (data) fs.rmSync(data, { recursive: true, force: true });
});

const listening = (port) => new Promise((resolve) => {
  const s = net.connect(port, '127.0.0.1', () => { s.end(); resolve(true); });
  s.on('error', () => resolve(false));
});

/** Signed in to the demo Pro account: GET "p" as its administrator. */
async function demoPro(url) {
  const r = await fetch(`${url}/api/v1/auth/login`, { method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ account: 'demo-pro', user: 'admin', password: 'Demo-pass1' }) });
  assert.equal(r.status, 200);
  const cookie = (r.headers.get('set-cookie') || '').split(';')[0];
  const { csrf_token: csrf } = await r.json();
  return async (p) => (await fetch(url + p, { headers: { cookie, 'x-csrf-token': csrf } })).json();
}

test('scripts/run: the demo Pro monitor shows live values from the gateway within a minute', async () => {
  for (const bin of ['server/metron-server', 'gateway/metron-gateway', 'broker/metron_mosquitto.so']) {
    assert.ok(fs.existsSync(path.join(repoRoot, 'build', bin)), `build/${bin} (the release build)`);
  }
  data = tempDir('metron-run-');
  const port = await freePort();
  const mqttPort = await freePort();
  const url = `http://127.0.0.1:${port}`;
  run = spawn(path.join(repoRoot, 'scripts', 'run'), ['--listen', `127.0.0.1:${port}`], {
    env: { ...process.env, METRON_SKIP_BOOTSTRAP: '1', METRON_SKIP_BUILD: '1',
      METRON_DATA: path.join(data, 'var'), METRON_MQTT_PORT: String(mqttPort) },
    stdio: ['ignore', 'pipe', 'pipe'] });
  trackProcess(run, 'scripts/run');
  let out = '';
  run.stdout.setEncoding('utf8');
  run.stderr.setEncoding('utf8');
  run.stdout.on('data', (d) => { out += d; });
  run.stderr.on('data', (d) => { out += d; });
  const gwLog = () => { try { return fs.readFileSync(path.join(data, 'var', 'gateway.log'), 'utf8'); } catch { return ''; } };
  // The gateway is started once the server answers (cluster, migrations, demo data).
  await until(() => /metron-gateway plays the demo Pro app/.test(out) || run.exitCode !== null,
    'scripts/run to start the gateway', 240000);
  assert.match(out, /metron-gateway plays the demo Pro app/, out);
  assert.match(out, /Mosquitto takes MQTTS/, out);
  const started = Date.now();
  const get = await demoPro(url);
  const { groups } = await get('/api/v1/groups');
  assert.ok(groups.length >= 1);
  // A value sampled by the gateway (at or after its start) reaches the
  // monitor within a minute and a few seconds (one-minute data on the
  // minute, sent at once).
  const live = await until(async () => {
    const m = await get(`/api/v1/groups/${groups[0].id}/monitor`);
    const app = m.apps?.find((a) => a.name === 'Demo gateway');
    const ch = app?.devices.flatMap((d) => d.channels).find((c) => c.latest &&
      c.latest.t >= Math.floor(started / 60000) * 60e6);
    return ch ? { app, ch } : null;
  }, 'a live value on the monitor', 75000).catch((e) => {
    throw new Error(`${e.message}\nscripts/run:\n${out}\ngateway.log:\n${gwLog()}`);
  });
  assert.equal(live.app.connected, true);
  assert.ok(Date.now() - started < 75000);
  // Over MQTTS (the simulator's default when the server offers it).
  assert.match(gwLog(), /MQTTS: connected to mqtts:\/\/127\.0\.0\.1:\d+ as app-\d+/);
  // Ctrl-C stops the gateway, the server (and its PostgreSQL) and the broker.
  run.kill('SIGINT');
  const exit = await new Promise((resolve) => run.once('exit', (code, signal) => resolve({ code, signal })));
  assert.ok(exit.code === 0 || exit.code === 130 || exit.code === 143, JSON.stringify(exit) + out);
  assert.match(gwLog(), /stopping: \d+ sampling instants/);
  assert.equal(await listening(port), false, 'the server stopped');
  await until(async () => !(await listening(mqttPort)), 'the broker to stop', 10000);
  assert.equal(fs.existsSync(path.join(data, 'var', 'pg', 'postmaster.pid')), false, 'PostgreSQL stopped');
  await sleep(0);
});
