// The write ceiling of a benchmark's own PostgreSQL, measured in the same
// run as the figures it bounds: rows per second of a binary COPY into a
// plain table (no index, no Metron logic). tests/bench/data_bench.mjs
// (scripts/bench-ingest) and tests/bench/gateway_bench.mjs use it.
import fs from 'node:fs';
import path from 'node:path';

/** The binary COPY rate of the same PostgreSQL: rows (bigint, bigint, float8). */
export async function copyRate(pg, db, rows) {
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
  // psql's own start and connection are not the COPY's: the fastest of
  // three empty statements through psql is taken off (on a loaded machine
  // they cost tens of milliseconds, which would flatter every ratio to COPY).
  const empty = [];
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    await pg.psql('SELECT 1', db);
    empty.push(performance.now() - t);
  }
  const t = performance.now();
  await pg.psql(`COPY bench_copy FROM '${file}' WITH (FORMAT binary)`, db);
  const ms = Math.max(performance.now() - t - Math.min(...empty), 1e-3);
  await pg.psql('DROP TABLE bench_copy', db);
  fs.rmSync(file);
  return rows / (ms / 1000);
}
