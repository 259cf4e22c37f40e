// A health check's latency during bursts of sign-ins (docs/benchmarks.md
// "hashgate"): 16 accounts sign in at once, six times over, against a
// server with --db-pool 4, while GET /api/v1/health (SELECT 1 on a pooled
// connection) is asked again and again; prints the sign-ins' statuses and the
// check's p50, p90 and p99.9 and how many were not 200.
//   NODE_PATH=/usr/share/nodejs node tests/bench/signin_burst_bench.mjs SERVER_BIN ['[extra args]'] [LABEL]
import path from 'node:path';
import url from 'node:url';

const here = path.dirname(url.fileURLToPath(import.meta.url));
const { createAccount, request, startPostgres, startServer } = await import(path.join(here, '..', 'server', 'harness.mjs'));
const [bin, extra] = [process.argv[2], JSON.parse(process.argv[3] || '[]')];
if (!bin) throw new Error('usage: signin_burst_bench.mjs SERVER_BIN [\'["--password-hashes","2"]\'] [LABEL]');
const pg = await startPostgres();
const dbUrl = await pg.createDatabase();
const srv = await startServer({ bin, databaseUrl: dbUrl, args: ['--db-pool', '4', ...extra] });
const PW = 'Correct-h0rse';
const names = [];
for (let i = 0; i < 16; i++) {
  names.push(`burst${i}`);
  await createAccount(srv.url, { account: `burst${i}`, plan: 'pro', user: 'admin', password: PW });
}
const lat = [];
let stop = false;
let logins = 0;
const statuses = {};
const burst = (async () => {
  for (let r = 0; r < 6; r++) {
    const rs = await Promise.all(names.map((a) => request(srv.url, 'POST', '/api/v1/auth/login',
      { body: { account: a, user: 'admin', password: PW } })));
    for (const x of rs) {
      logins++;
      statuses[x.status] = (statuses[x.status] || 0) + 1;
    }
  }
  stop = true;
})();
while (!stop) {
  const t = performance.now();
  const h = await request(srv.url, 'GET', '/api/v1/health');
  lat.push([performance.now() - t, h.status]);
}
await burst;
lat.sort((a, b) => a[0] - b[0]);
const q = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))][0].toFixed(1);
console.log(`${process.argv[4] || ''} sign-ins ${logins} ${JSON.stringify(statuses)}; health n=${lat.length} ` +
  `p50 ${q(0.5)} p90 ${q(0.9)} p99.9 ${q(0.999)} ms; not 200: ${lat.filter((x) => x[1] !== 200).length}`);
await srv.stop();
await pg.destroy();
