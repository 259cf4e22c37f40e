// Sign-in with e-mail two-step against a mail relay that works, then one
// that hangs (docs/auth.md "E-mail"; docs/benchmarks.md "sign-in codes off
// the request thread"). A relay on loopback in front of the SMTP sink
// forwards or stalls connections; the server runs with --threads 4.
//  1. relay fine: 40 sequential sign-ins: the answer time, the time from
//     the answer to the mail in the sink, the server process CPU per
//     sign-in with its mail (/proc utime + stime);
//  2. relay stalled: 8 concurrent sign-ins and, 200 ms later, 4 health
//     requests: each one's status and time.
//   METRON_SERVER_BIN=build/server/metron-server-test NODE_PATH=/usr/share/nodejs \
//     node tests/bench/signin_mail_bench.mjs
import fs from 'node:fs';
import { createAccount, login, request, sleep, startPostgres, startServer, startSmtpSink }
  from '../server/harness.mjs';
import { startRelay } from '../server/smtp_relay.mjs';

const PW = 'Correct-h0rse';
const pg = await startPostgres();
const sink = await startSmtpSink();
const relay = await startRelay(sink.port);
const url = await pg.createDatabase();
const srv = await startServer({ databaseUrl: url, args: ['--threads', '4'],
  env: { METRON_SMTP_URL: `smtp://127.0.0.1:${relay.port}`, METRON_SMTP_TLS: 'optional',
    METRON_SMTP_FROM: 'metron@metron.test' } });
const accts = [];
for (let i = 0; i < 8; i++) {
  const acc = `m${i}-${process.pid}`;
  await createAccount(srv.url, { account: acc, plan: 'standard', user: 'admin', password: PW, email: `admin@${acc}.test` });
  const c = await login(srv.url, { account: acc, user: 'admin', password: PW });
  await c.put('/api/v1/me/two-step', { mode: 'email' });
  accts.push(acc);
}
const timed = async (f) => { const t = performance.now(); const r = await f(); return [r, Math.round(performance.now() - t)]; };
const signIn = (acc) => request(srv.url, 'POST', '/api/v1/auth/login', { body: { account: acc, user: 'admin', password: PW } });
// 1. relay fine: sequential sign-ins.
const cpu = () => { const f = fs.readFileSync(`/proc/${srv.proc.pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) * 10; }; // utime + stime, ms (100 Hz)
const N = 40;
const ans = []; const arr = [];
await sleep(1500);
const c0 = cpu();
for (let i = 0; i < N; i++) {
  const acc = accts[i % 8];
  const since = sink.messages().length;
  const [r, ms] = await timed(() => signIn(acc));
  if (r.status !== 200) throw new Error(JSON.stringify(r.body));
  const t = performance.now();
  while (!sink.messages().slice(since).some((m) => m.includes(`X-RcptTo: admin@${acc}.test`))) await sleep(5);
  ans.push(ms); arr.push(Math.round(performance.now() - t));
  await sleep(150); // the per-address rate slot (100 ms)
}
await sleep(1200); // the senders' idle ticks count too: both binaries get the same quiet tail
const cpuPer = (cpu() - c0) / N;
const med = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
console.log(`relay fine: server CPU ${cpuPer.toFixed(1)} ms per sign-in with its mail (${N} sign-ins); sign-in answer median ${med(ans)} ms (max ${Math.max(...ans)}); mail after the answer median ${med(arr)} ms (max ${Math.max(...arr)})`);
// 2. relay stalled: 8 concurrent sign-ins on 4 worker threads, and 4 health requests 200 ms later.
relay.set('stall');
const t0 = performance.now();
const p = Promise.all(accts.map((a) => timed(() => signIn(a))));
await sleep(200);
const h = await Promise.all([0, 1, 2, 3].map(() => timed(() => request(srv.url, 'GET', '/api/v1/health'))));
const l = await p;
console.log(`relay stalled: 8 sign-ins ${l.map(([r, ms]) => `${r.status}/${ms}`).join(' ')} ms; health ${h.map(([r, ms]) => `${r.status}/${ms}`).join(' ')} ms; all done after ${Math.round(performance.now() - t0)} ms`);
relay.set('pass');
relay.cut();
await srv.stop();
await relay.stop();
await sink.stop();
await pg.destroy();
