// Helpers of the metron-gateway tests: start the gateway binary against a
// test server, read what the server stored.
import { execFile, spawn } from 'node:child_process';
import net from 'node:net';
import { promisify } from 'node:util';
import fs from 'node:fs';
import path from 'node:path';
import { repoRoot, sleep, tempDir, trackProcess } from '../server/harness.mjs';

const execFileP = promisify(execFile);

export const gatewayBin = process.env.METRON_GATEWAY_BIN ||
  path.join(repoRoot, 'build', 'gateway', 'metron-gateway');

/**
 * Start metron-gateway. Options: url (server), code (credential; omit to
 * use the saved one), state (folder; default a new temp folder), args
 * (extra flags). Fast defaults for tests: one sample a second, heartbeat
 * and request poll every second, retries at most 1 s apart.
 * Returns { proc, state, log(), exited, stop(signal), waitFor(re, ms) }.
 */
export function startGateway({ url, code, state, args = [], env = {} } = {}) {
  const dir = state || tempDir('metron-gw-');
  const argv = ['--state', dir, '--interval', '1', '--heartbeat', '1', '--poll', '1',
    '--retry-max', '1', '--timeout', '3000', '--log', 'debug'];
  if (url) argv.push('--server', url);
  argv.push(...args);
  const e = { ...process.env, ...env };
  delete e.METRON_GATEWAY_CODE;
  if (code) e.METRON_GATEWAY_CODE = code;
  const proc = spawn(gatewayBin, argv, { env: e, stdio: ['ignore', 'pipe', 'pipe'] });
  trackProcess(proc, 'metron-gateway');
  let text = '';
  proc.stdout.setEncoding('utf8');
  proc.stderr.setEncoding('utf8');
  proc.stdout.on('data', (d) => { text += d; });
  proc.stderr.on('data', (d) => { text += d; });
  const exited = new Promise((resolve) => proc.on('exit', (c, s) => resolve({ code: c, signal: s })));
  const gw = {
    proc, state: dir, exited,
    log: () => text,
    /** Stop it; a sanitizer report (an ASan build) fails the test. */
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      const exit = await exited;
      if (/runtime error|AddressSanitizer|LeakSanitizer/.test(text)) {
        throw new Error(`sanitizer report from the gateway:\n${text}`);
      }
      if (signal === 'SIGTERM' && exit.code !== 0) {
        throw new Error(`the gateway exited with ${JSON.stringify(exit)}:\n${text}`);
      }
      return exit;
    },
    /** Wait until the log matches "re" (a RegExp), or throw after "ms". */
    async waitFor(re, ms = 20000) {
      const deadline = Date.now() + ms;
      while (!re.test(text)) {
        if (proc.exitCode !== null) throw new Error(`the gateway exited:\n${text}`);
        if (Date.now() > deadline) throw new Error(`no ${re} in the gateway's log:\n${text}`);
        await sleep(50);
      }
    },
    /** Batches waiting in the gateway's spool now. */
    spooled: () => fs.readdirSync(path.join(dir, 'spool')).filter((f) => f.endsWith('.batch')).length,
    refused: () => fs.readdirSync(path.join(dir, 'refused')).filter((f) => f.endsWith('.batch')),
  };
  return gw;
}

/** Wait until "fn" resolves truthy (polling), or throw "what" after "ms". */
export async function until(fn, what, ms = 20000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** Raw samples of one channel between "from" and "to" (µs): { t, v }. */
export async function rawOf(client, channel, from, to) {
  const r = await client.get(`/api/v1/data/raw?channels=${channel}&from=${from}&to=${to}&limit=100000`);
  if (r.status !== 200) throw new Error(`data/raw: ${r.status} ${JSON.stringify(r.body)}`);
  return { t: r.body.t, v: r.body.channels[0].v };
}

export const pluginPath = process.env.METRON_MQTT_PLUGIN ||
  path.join(repoRoot, 'build', 'broker', 'metron_mosquitto.so');

/**
 * Start Mosquitto with the mosquitto.conf the server wrote into "dir" (its
 * --mqtt-dir). Resolves when "port" accepts connections.
 * Returns { proc, log(), stop(signal) }.
 */
export async function startBroker(dir, port) {
  const proc = spawn('mosquitto', ['-c', path.join(dir, 'mosquitto.conf')],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  trackProcess(proc, 'mosquitto');
  let text = '';
  proc.stdout.setEncoding('utf8');
  proc.stderr.setEncoding('utf8');
  proc.stdout.on('data', (d) => { text += d; });
  proc.stderr.on('data', (d) => { text += d; });
  const exited = new Promise((resolve) => proc.on('exit', (c, s) => resolve({ code: c, signal: s })));
  const deadline = Date.now() + 10000;
  for (;;) {
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => { s.end(); resolve(true); });
      s.on('error', () => resolve(false));
    });
    if (ok) break;
    if (proc.exitCode !== null || Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`mosquitto did not start:\n${text}`);
    }
    await sleep(50);
  }
  return {
    proc, exited, log: () => text,
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
}

/** A key and a certificate signing request made with the openssl CLI. */
export async function makeCsr(cn = 'test') {
  const dir = tempDir('metron-csr-');
  const key = path.join(dir, 'k.pem');
  const csr = path.join(dir, 'r.pem');
  await execFileP('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt',
    'ec_paramgen_curve:prime256v1', '-nodes', '-subj', `/CN=${cn}`, '-keyout', key, '-out', csr]);
  const out = { key: fs.readFileSync(key, 'utf8'), csr: fs.readFileSync(csr, 'utf8') };
  fs.rmSync(dir, { recursive: true, force: true });
  return out;
}

/** A self-signed certificate of a CA that is not Metron's: { cert, key }. */
export async function foreignCert(cn) {
  const dir = tempDir('metron-foreign-');
  const key = path.join(dir, 'k.pem');
  const crt = path.join(dir, 'c.pem');
  await execFileP('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt',
    'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', `/CN=${cn}`,
    '-keyout', key, '-out', crt]);
  const out = { key: fs.readFileSync(key, 'utf8'), cert: fs.readFileSync(crt, 'utf8') };
  fs.rmSync(dir, { recursive: true, force: true });
  return out;
}
