// The write ceiling of a benchmark's own PostgreSQL, measured in the same
// run as the figures it bounds: rows per second of a binary COPY into a
// plain table (no index, no Metron logic). tests/bench/data_bench.mjs
// (scripts/bench-ingest) and tests/bench/gateway_bench.mjs use it.
import fs from 'node:fs';
import path from 'node:path';

/** CPU seconds of the postmaster "pid", its live children and those that
 * exited (cutime, cstime: psql's backend ends with psql). */
function clusterCpu(pid) {
  return clusterStat(pid).cpu;
}

/** The CPU above and how many children "pid" has now. */
function clusterStat(pid) {
  const stat = (p) => {
    try {
      const f = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
      return f.slice(f.lastIndexOf(')') + 2).split(' ');
    } catch {
      return null;
    }
  };
  const own = stat(pid);
  let t = own ? (Number(own[11]) + Number(own[12]) + Number(own[13]) + Number(own[14])) / 100 : 0;
  let children = 0;
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const x = stat(d);
    if (x && Number(x[1]) === pid) {
      t += (Number(x[11]) + Number(x[12])) / 100;
      children++;
    }
  }
  return { cpu: t, children };
}

/** Wait until the process "pid" is gone and reaped (a backend's CPU is then
 * in its postmaster's cutime; as a zombie it is counted neither there nor
 * as a child). Waiting for the postmaster's count of children to fall back
 * was not enough: on a cluster with a server's pool, another backend that
 * ended meanwhile made the count fall first (COPY's CPU read 0.01 µs a row). */
async function processGone(pid) {
  for (let i = 0; i < 500 && fs.existsSync(`/proc/${pid}`); i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The binary COPY rate of the same PostgreSQL: rows (bigint, bigint, float8). */
export async function copyRate(pg, db, rows) {
  return (await copyCeiling(pg, db, rows)).rate;
}

/** copyRate()'s rate, and PostgreSQL's CPU per row (µs) over the three
 * COPYs and their TRUNCATEs (psql's backend included, start and all: a few
 * ms against about 0.2 s). */
export async function copyCeiling(pg, db, rows) {
  const file = path.join(pg.root, 'copy.bin');
  const buf = Buffer.alloc(19 + rows * (2 + 3 * 12) + 2);
  let o = 0;
  buf.write('PGCOPY\n\xff\r\n\0', o, 'latin1'); o += 11;
  buf.writeInt32BE(0, o); o += 4;
  buf.writeInt32BE(0, o); o += 4;
  const t0 = BigInt(Date.now() - 86400e3) * 1000n;
  for (let i = 0; i < rows; i++) {
    buf.writeInt16BE(3, o); o += 2;
    buf.writeInt32BE(8, o); o += 4; buf.writeBigInt64BE(BigInt(i % 2000), o); o += 8;
    buf.writeInt32BE(8, o); o += 4; buf.writeBigInt64BE(t0 + BigInt(i) * 60000000n, o); o += 8;
    buf.writeInt32BE(8, o); o += 4; buf.writeDoubleBE(20 + (i % 100) / 10, o); o += 8;
  }
  buf.writeInt16BE(-1, o); o += 2;
  fs.writeFileSync(file, buf.subarray(0, o));
  fs.chmodSync(file, 0o644);
  await pg.psql('CREATE TABLE bench_copy (channel_id bigint, t bigint, v float8)', db);
  // Timed inside one psql session by the server's clock, so that psql's
  // start and connection are not counted (on a loaded machine they cost
  // tens of milliseconds); three rounds (the table emptied before each, each
  // COPY its own durable transaction), the median: one COPY of these rows
  // lasts a fraction of a second and moves with the machine.
  const now = 'SELECT extract(epoch FROM clock_timestamp())';
  const statements = ["SELECT 'backend ' || pg_backend_pid()"];
  for (let k = 0; k < 3; k++) {
    statements.push('TRUNCATE bench_copy', now, `COPY bench_copy FROM '${file}' WITH (FORMAT binary)`, now);
  }
  const cpu0 = clusterCpu(pg.pid());
  const out = await pg.psqlEach(statements, db);
  await processGone(Number(/^\s*backend (\d+)\s*$/m.exec(out)?.[1]));
  const cpu = ((clusterCpu(pg.pid()) - cpu0) * 1e6) / (3 * rows);
  const stamps = out.split('\n').map((l) => l.trim())
    .filter((l) => /^[0-9]+(\.[0-9]+)?$/.test(l)).map(Number);
  if (stamps.length !== 6) throw new Error(`copyRate: expected 6 time stamps, got ${stamps.length}`);
  const secs = [0, 1, 2].map((k) => Math.max(stamps[2 * k + 1] - stamps[2 * k], 1e-6)).sort((a, b) => a - b);
  const ms = secs[1] * 1000;
  await pg.psql('DROP TABLE bench_copy', db);
  fs.rmSync(file);
  return { rate: rows / (ms / 1000), cpu };
}
