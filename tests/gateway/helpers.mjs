// Helpers of the metron-gateway tests: start the gateway binary against a
// test server, read what the server stored.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { repoRoot, sleep, tempDir, trackProcess } from '../server/harness.mjs';

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
