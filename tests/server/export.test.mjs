// Exports of acquired data (M5, D3, V3): ZIP(CSV), HOK and HOK2 files
// written in the background with progress, downloaded through signed URLs
// that expire, re-read (HOK/HOK2 by core through WebAssembly, ZIP and CSV
// parsed here) and compared sample by sample with what was ingested; bad
// requests refused; another account's exports and channels unreachable; the
// clean-up after 24 hours.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { destroyChecked, createUser, login, request, sessionClient, setClock, sleep, startPostgres, startServer,
} from './harness.mjs';
import { MIN_US, PW, appClient, baseTime, dataTenant, inNewGroup, loadHok, uniq } from './data_helpers.mjs';
import { SV, SV_NAMES, specialKind } from '../../wasm/mtw.mjs';
import { seriesValues } from './pictures.mjs';
import { personTextProblems } from './person_text.mjs';

const DAY = 86400e6;
const HOUR = 3600e6;

let pg;
let srv;
let db;
let hok;
const sql = (q) => pg.psql(q, db);
// Blobs of the account that no export or drive file holds (what a deleted
// or failed export left behind: there must be none).
const looseBlobs = async (account) => Number(await sql(`SELECT count(*) FROM file_blobs b
  WHERE account_id = ${account} AND NOT EXISTS (SELECT 1 FROM exports x
    WHERE x.account_id = b.account_id AND x.blob_id = b.id)
  AND NOT EXISTS (SELECT 1 FROM drive_items i WHERE i.account_id = b.account_id AND i.blob_id = b.id)`));

before(async () => {
  pg = await startPostgres();
  const url = await pg.createDatabase();
  db = new URL(url).pathname.slice(1);
  // A small read budget, so that dense days are read in parts (the server
  // reads at most 4M samples at once; here 2000).
  srv = await startServer({ databaseUrl: url,
    env: { METRON_COMPACT_MS: '3600000', METRON_EXPORT_CHUNK_SAMPLES: '2000' } });
  hok = await loadHok();
  await setupA();
});

after(async () => {
  await setClock(srv.url, 0).catch(() => {});
  const exit = await srv?.stop();
  await destroyChecked(pg);
  if (srv) fs.rmSync(srv.dataDir, { recursive: true, force: true });
  assert.equal(exit?.code, 0, srv?.stderr());
  assert.doesNotMatch(srv?.stderr() || '', /runtime error|AddressSanitizer|LeakSanitizer/);
});

const compact = async () => {
  const r = await request(srv.url, 'POST', '/api/v1/test/compact');
  assert.equal(r.status, 200, JSON.stringify(r.body));
};

/** Poll an export until it is no longer running: { body, progress: [...] }. */
async function waitDone(c, id, { pollMs = 5, timeoutMs = 120000 } = {}) {
  const progress = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await c.get(`/api/v1/exports/${id}`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    progress.push(r.body.progress);
    if (r.body.status !== 'running') return { body: r.body, progress };
    assert.ok(Date.now() < deadline, 'the export did not finish in time');
    await sleep(pollMs);
  }
}

/** Start an export and wait for it: the final status. */
async function exportOf(c, body) {
  const r = await c.post('/api/v1/exports', body);
  assert.equal(r.status, 202, JSON.stringify(r.body));
  assert.equal(r.body.status, 'running');
  assert.equal(r.body.progress, 0);
  const { body: done, progress } = await waitDone(c, r.body.id);
  assert.equal(done.status, 'done', JSON.stringify(done));
  for (let i = 1; i < progress.length; i++) {
    assert.ok(progress[i] >= progress[i - 1], `progress went back: ${progress}`);
  }
  assert.equal(done.progress, 1);
  return done;
}

/** GET a URL without any session: { status, headers, bytes }. */
async function fetchRaw(u, headers = {}) {
  const r = await fetch(srv.url + u, { headers });
  return { status: r.status, headers: r.headers, bytes: Buffer.from(await r.arrayBuffer()) };
}

/** The entries of a ZIP file (stored or deflated, ZIP64 sizes understood): {name: Buffer}. */
function unzip(buf) {
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 65535); i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) { eocd = i; break; }
  }
  assert.ok(eocd >= 0, 'no end of central directory');
  let count = buf.readUInt16LE(eocd + 10);
  let cdOff = buf.readUInt32LE(eocd + 16);
  if (count === 0xffff || cdOff === 0xffffffff) {
    const loc = eocd - 20;
    assert.equal(buf.readUInt32LE(loc), 0x07064b50, 'zip64 locator');
    const z = Number(buf.readBigUInt64LE(loc + 8));
    assert.equal(buf.readUInt32LE(z), 0x06064b50, 'zip64 end record');
    count = Number(buf.readBigUInt64LE(z + 32));
    cdOff = Number(buf.readBigUInt64LE(z + 48));
  }
  const out = {};
  let p = cdOff;
  for (let k = 0; k < count; k++) {
    assert.equal(buf.readUInt32LE(p), 0x02014b50, 'central directory entry');
    const method = buf.readUInt16LE(p + 10);
    const crc = buf.readUInt32LE(p + 16);
    let comp = buf.readUInt32LE(p + 20);
    let size = buf.readUInt32LE(p + 24);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    let local = buf.readUInt32LE(p + 42);
    const name = buf.subarray(p + 46, p + 46 + nameLen).toString('utf8');
    // ZIP64 extra field: the 32-bit fields that are 0xffffffff, in order.
    for (let e = p + 46 + nameLen; e < p + 46 + nameLen + extraLen;) {
      const id = buf.readUInt16LE(e);
      const len = buf.readUInt16LE(e + 2);
      if (id === 0x0001) {
        let q = e + 4;
        if (size === 0xffffffff) { size = Number(buf.readBigUInt64LE(q)); q += 8; }
        if (comp === 0xffffffff) { comp = Number(buf.readBigUInt64LE(q)); q += 8; }
        if (local === 0xffffffff) { local = Number(buf.readBigUInt64LE(q)); q += 8; }
      }
      e += 4 + len;
    }
    assert.equal(buf.readUInt32LE(local), 0x04034b50, `local header of ${name}`);
    const data = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    const raw = buf.subarray(data, data + comp);
    const bytes = method === 0 ? Buffer.from(raw) : method === 8 ? zlib.inflateRawSync(raw) : null;
    assert.ok(bytes, `${name}: compression method ${method}`);
    assert.equal(bytes.length, size, `${name}: size`);
    assert.equal(zlib.crc32(bytes), crc, `${name}: CRC-32`);
    out[name] = bytes;
    p += 46 + nameLen + extraLen + commentLen;
  }
  return out;
}

/** RFC 4180 CSV text (CRLF rows) into arrays of cells; the BOM must be there. */
function parseCsv(text) {
  assert.ok(text.startsWith('\ufeff'), 'UTF-8 byte-order mark');
  const s = text.slice(1);
  const rows = [];
  let row = [];
  let cell = '';
  let i = 0;
  let quoted = false;
  while (i < s.length) {
    const ch = s[i];
    if (quoted) {
      if (ch === '"' && s[i + 1] === '"') { cell += '"'; i += 2; continue; }
      if (ch === '"') { quoted = false; i++; continue; }
      cell += ch; i++; continue;
    }
    if (ch === '"') { quoted = true; i++; continue; }
    if (ch === ',') { row.push(cell); cell = ''; i++; continue; }
    if (ch === '\r' && s[i + 1] === '\n') { row.push(cell); rows.push(row); row = []; cell = ''; i += 2; continue; }
    assert.notEqual(ch, '\n', 'a bare LF');
    cell += ch; i++;
  }
  assert.equal(cell, '', 'the last row ends with CRLF');
  assert.equal(row.length, 0);
  return rows;
}

/** An ISO 8601 time with an offset, exactly, in µs; and the offset text. */
function parseIso(text) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{3}|\d{6}))?([+-])(\d{2}):(\d{2})$/.exec(text);
  assert.ok(m, `not an ISO 8601 time with an offset: ${text}`);
  const local = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) * 1000 +
    (m[7] ? Number(m[7].padEnd(6, '0')) : 0);
  const off = (m[8] === '-' ? -1 : 1) * (Number(m[9]) * 3600 + Number(m[10]) * 60) * 1e6;
  return { t: local - off, offset: `${m[8]}${m[9]}:${m[10]}` };
}

/** A stored value as its CSV cell. */
const CSV_SPECIAL = { missing: '', '+over': '+OVER', '-over': '-OVER', break: 'BREAK', error: 'ERROR' };
const cellOf = (v) => (typeof v === 'string' ? CSV_SPECIAL[v] : v);

/** Add an app (kind "one") with a device and "n" selected channels to tenant "t". */
async function addDevice(t, n) {
  let r = await t.c.post('/api/v1/apps', { kind: 'one', name: 'Second gateway' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const app = r.body;
  r = await t.c.post(`/api/v1/apps/${app.id}/devices`, { model: 'LR8450', serial: uniq('SN') });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const deviceId = r.body.id;
  const serial = r.body.serial;
  const channels = [];
  for (let i = 1; i <= n; i++) {
    r = await t.c.post(`/api/v1/devices/${deviceId}/channels`,
      { key: `CH${i}`, name: `Probe, "${i}"`, unit: '°C' });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    channels.push(r.body.id);
  }
  r = await t.c.put(`/api/v1/devices/${deviceId}/selection`, { channel_ids: channels });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return { deviceId, serial, channels, ingest: appClient(srv.url, app.credential) };
}

/** 24-byte little-endian hot records {channel, t, v} as a bytea hex literal. */
function hotPayload(ch, ts, vs) {
  const b = Buffer.alloc(24 * ts.length);
  ts.forEach((t, i) => {
    b.writeBigInt64LE(BigInt(ch), 24 * i);
    b.writeBigInt64LE(BigInt(t), 24 * i + 8);
    b.writeDoubleLE(vs[i], 24 * i + 16);
  });
  return `'\\x${b.toString('hex')}'::bytea`;
}

// ------------------------------------------------------------ the data set

/** Tenant A: device 1 (3 channels), device 2 (1 channel), a computed channel. */
let A;
let t0;
const expected = new Map(); // channel id -> [[t, v]] in time order (v number or special name)

function valueOf(i) {
  if (i === 1) return 1e-300;
  if (i === 2) return -1.7976931348623157e308;
  if (i === 3) return 123456789012345680000;
  if (i === 4) return 5e-324;
  if (i % 500 === 7) return '+over';
  if (i % 500 === 107) return '-over';
  if (i % 700 === 55) return 'break';
  if (i % 900 === 77) return 'error';
  if (i % 611 === 13) return 'missing';
  return Math.sin(i) * 1000 / 3;
}

async function setupA() {
  A = await dataTenant(srv, { n: 3 });
  A.dev1 = { deviceId: A.deviceId, channels: A.channels };
  A.dev2 = await addDevice(A, 1);
  let r = await A.c.get(`/api/v1/devices/${A.deviceId}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  A.dev1.serial = r.body.serial;
  t0 = baseTime(24 * 4); // midnight UTC, 4 days ago
  const [c0, c1, c2] = A.dev1.channels;
  const [c3] = A.dev2.channels;
  const series = { [c0]: [], [c1]: [], [c2]: [], [c3]: [] };
  for (let i = 0; i < 2880; i++) {
    if (i >= 300 && i < 420) continue; // a two-hour gap in channel 1
    series[c0].push([t0 + i * MIN_US, valueOf(i)]);
  }
  for (let i = 0; i < 1440; i++) series[c1].push([t0 + i * 2 * MIN_US + 30e6, Math.round(i * 0.1 * 10) / 10 + 0.2]);
  for (let i = 0; i < 144; i++) series[c2].push([t0 + DAY + i * 10 * MIN_US + 250000, i % 37 === 5 ? 'missing' : i]);
  for (let i = 0; i < 576; i++) series[c3].push([t0 + i * 5 * MIN_US, i % 97 === 3 ? 'break' : 0 - i / 7]);
  for (const [id, s] of Object.entries(series)) expected.set(Number(id), s);
  // Day 1 folded into day blocks, day 2 still in the hot table.
  for (const [day, batch] of [[0, 'day1'], [1, 'day2']]) {
    for (const [client, ids] of [[A.ingest, A.dev1.channels], [A.dev2.ingest, A.dev2.channels]]) {
      const channels = [];
      for (const id of ids) {
        const part = series[id].filter(([t]) => t >= t0 + day * DAY && t < t0 + (day + 1) * DAY);
        if (part.length) channels.push({ id, t: part.map((x) => x[0]), v: part.map((x) => x[1]) });
      }
      r = await client.batch({ batch_id: batch, channels });
      assert.equal(r.status, 201, r.text);
    }
    if (day === 0) await compact();
  }
  // A computed channel (no device, in a group) with samples of its own: its
  // input channel has no data, so nothing recomputes it.
  r = await A.c.post('/api/v1/groups', { name: uniq('Line ') });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  A.groupId = r.body.id;
  const spare = (await A.c.post(`/api/v1/devices/${A.deviceId}/channels`,
    { key: 'CH9', name: 'Spare', unit: 'V' })).body.id;
  A.computed = Number(await sql(`INSERT INTO channels (account_id, device_id, group_id, ch_key,
    name, unit, expression, inputs) VALUES (${A.id}, NULL, ${A.groupId}, 'X1', '=avg', 'V',
    'CH1*2', ARRAY[${spare}]::bigint[]) RETURNING id`));
  const ct = Array.from({ length: 48 }, (_, i) => t0 + i * HOUR + 15 * MIN_US);
  const cv = ct.map((_, i) => i * 1.25 - 3);
  await sql(`INSERT INTO series_hot (account_id, t_min, t_max, n, payload) VALUES (${A.id},
    ${ct[0]}, ${ct[ct.length - 1]}, ${ct.length}, ${hotPayload(A.computed, ct, cv)})`);
  expected.set(A.computed, ct.map((t, i) => [t, cv[i]]));
  A.all = [c0, c1, c2, c3, A.computed];
  A.from = t0 - HOUR;
  A.to = t0 + 2 * DAY + HOUR;
}

/** The union of the times of "ids", sorted (explicit "missing" samples included). */
function unionTimes(ids) {
  const set = new Set();
  for (const id of ids) for (const [t] of expected.get(id)) set.add(t);
  return [...set].sort((a, b) => a - b);
}

/** Compare a HOK/HOK2 file with the ingested samples of "ids". */
function checkHok(bytes, ids, format, tz, id) {
  const f = hok.read(new Uint8Array(bytes));
  try {
    assert.equal(f.format, format);
    assert.equal(f.meta.timezone, tz);
    assert.equal(f.meta.title, `Metron data export no. ${id}`);
    assert.deepEqual(f.channels.map((c) => c.id), ids);
    f.channels.forEach((c, i) => {
      assert.equal(c.kind, ids[i] === A.computed ? 'computed' : 'measured');
      assert.equal(c.model, ids[i] === A.computed ? '' : 'LR8450');
    });
    const times = Array.from(f.times(), (ms) => Math.round(ms * 1000));
    assert.deepEqual(times, unionTimes(ids), 'rows = the union of the channels\' times');
    ids.forEach((id, c) => {
      const vals = f.values(c);
      const got = [];
      times.forEach((t, k) => {
        const kind = specialKind(vals[k]);
        if (kind === SV.MISSING) return;
        got.push([t, kind === SV.NONE ? vals[k] : SV_NAMES[kind]]);
      });
      const want = expected.get(id).filter(([, v]) => v !== 'missing');
      assert.equal(got.length, want.length, `channel ${id}: sample count`);
      assert.deepEqual(got, want, `channel ${id}`);
    });
  } finally {
    f.close();
  }
}

/** Compare one CSV file with the ingested samples of "ids" (its columns). */
function checkCsv(text, ids, titles, offset) {
  const rows = parseCsv(text);
  assert.deepEqual(rows[0], ['Time', ...titles]);
  const times = unionTimes(ids);
  assert.equal(rows.length - 1, times.length, 'one row per time');
  const byTime = ids.map((id) => new Map(expected.get(id)));
  rows.slice(1).forEach((row, k) => {
    const { t, offset: off } = parseIso(row[0]);
    assert.equal(t, times[k], `row ${k + 1}: time ${row[0]}`);
    if (offset) assert.equal(off, offset, `row ${k + 1}: offset`);
    assert.equal(row.length, ids.length + 1);
    ids.forEach((id, c) => {
      const v = byTime[c].has(t) ? cellOf(byTime[c].get(t)) : '';
      if (typeof v === 'number') {
        assert.equal(Number(row[c + 1]), v, `row ${k + 1} channel ${id}: ${row[c + 1]}`);
      } else {
        assert.equal(row[c + 1], v, `row ${k + 1} channel ${id}`);
      }
    });
  });
}

// ------------------------------------------------------------ README.txt

// What README.txt says in each language about the files' one fixed header
// word, the first column of every file, a file of computed channels, and a
// channel's id (the sentences are svc_export_text.c's).
const README = {
  'zh-CN': { col1: '第 1 列：Time', computed: '运算通道', id: (id) => `（通道 ID ${id}）`, summer: '夏令时' },
  ja: { col1: '1 列目：Time', computed: '演算チャネル', id: (id) => `（チャネル ID ${id}）`, summer: '夏時間' },
  en: { col1: 'Column 1: Time', computed: 'Computed channels', id: (id) => ` (channel ID ${id})`, summer: 'summer time' },
  es: { col1: 'Columna 1: Time', computed: 'Canales calculados', id: (id) => ` (ID de canal ${id})`, summer: 'horario de verano' },
  fr: { col1: 'Colonne 1 : Time', computed: 'Voies calculées', id: (id) => ` (ID de voie ${id})`, summer: 'heure d’été' },
  de: { col1: 'Spalte 1: Time', computed: 'Berechnete Kanäle', id: (id) => ` (Kanal-ID ${id})`, summer: 'Sommerzeit' },
  it: { col1: 'Colonna 1: Time', computed: 'Canali calcolati', id: (id) => ` (ID canale ${id})`, summer: 'ora legale' },
};

/** README.txt "text" of a ZIP whose entries are "files", in language "lang":
 *  CRLF lines, no code a person cannot read (no zone id, no ISO timestamp),
 *  the format's facts (the CSV header's first word as the files write it,
 *  the special values' words), every file and channel ("ids") listed. */
function checkReadme(text, lang, files, ids = A.all) {
  const w = README[lang];
  assert.doesNotMatch(text.replace(/\r\n/g, ''), /[\r\n]/, `${lang}: CRLF line ends only`);
  assert.deepEqual(personTextProblems(text), [], `${lang}:\n${text}`);
  assert.doesNotMatch(text, /[A-Z][a-z]+\/[A-Z][a-z_]+/, `${lang}: a time zone id`);
  for (const word of ['UTF-8', 'BOM', 'CRLF', 'RFC 4180', 'ISO 8601', 'YYYY-MM-DDThh:mm:ss+hh:mm',
    '+OVER', '-OVER', 'BREAK', 'ERROR', 'computed.csv']) {
    assert.ok(text.includes(word), `${lang}: ${word}`);
  }
  const csvs = Object.keys(files).filter((n) => n.endsWith('.csv'));
  for (const name of csvs) {
    const header = parseCsv(files[name].toString('utf8'))[0];
    assert.equal(header[0], 'Time');
    const at = text.indexOf(`\r\n${name}\r\n`);
    assert.ok(at > 0, `${lang}: ${name} listed`);
    const block = text.slice(at).split('\r\n\r\n')[0];
    assert.ok(block.includes(`  ${w.col1}\r\n`), `${lang}: ${name}'s first column`);
    assert.equal(block.split('\r\n').filter(Boolean).length, 2 + header.length, `${lang}: ${name}'s lines`);
    if (name === 'computed.csv') assert.ok(block.includes(`\r\n  ${w.computed}\r\n`));
  }
  for (const id of ids) assert.ok(text.includes(w.id(id)), `${lang}: channel ${id}`);
}

// ------------------------------------------------------------------ tests

test('HOK and HOK2 exports re-read by core equal what was ingested (blocks + hot rows)', async (ctx) => {
  if (!hok) return ctx.skip('the wasm build (build/wasm-build) is not there');
  for (const format of ['hok', 'hok2']) {
    const done = await exportOf(A.c, { channels: A.all, from: A.from, to: A.to, format });
    assert.equal(done.format, format);
    assert.deepEqual(done.channels, A.all);
    assert.equal(done.time_zone, 'UTC'); // the account's
    const stored = [...expected.values()].reduce((n, s) => n + s.length, 0);
    assert.equal(done.samples, stored);
    assert.match(done.download_url, new RegExp(`^/api/v1/exports/${done.id}/download\\?account=${A.id}&expires=\\d+&sig=[0-9a-f]{64}$`));
    const exp = Number(new URL(done.download_url, srv.url).searchParams.get('expires'));
    assert.ok(Math.abs(exp - (Date.now() / 1000 + 3600)) < 60, 'the URL expires in an hour');
    assert.equal(done.expires_at, new Date(exp * 1000).toISOString().replace('.000Z', 'Z'));
    const r = await fetchRaw(done.download_url);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'application/octet-stream');
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(r.headers.get('content-disposition'),
      `attachment; filename="metron-export-${done.id}.${format}"; filename*=UTF-8''metron-export-${done.id}.${format}`);
    assert.equal(Number(r.headers.get('content-length')), r.bytes.length);
    assert.equal(done.bytes, r.bytes.length);
    checkHok(r.bytes, A.all, format, 'UTC', done.id);
    // An interrupted download resumes from where it stopped.
    assert.equal(r.headers.get('accept-ranges'), 'bytes');
    const half = Math.floor(r.bytes.length / 2);
    const rest = await fetchRaw(done.download_url, { range: `bytes=${half}-`,
      'if-range': r.headers.get('etag') });
    assert.equal(rest.status, 206);
    assert.equal(rest.headers.get('content-range'), `bytes ${half}-${r.bytes.length - 1}/${r.bytes.length}`);
    assert.ok(Buffer.concat([r.bytes.subarray(0, half), rest.bytes]).equals(r.bytes));
  }
  // A subset, another time zone, a range that cuts the data.
  const ids = [A.dev2.channels[0], A.dev1.channels[1]];
  const from = t0 + 6 * HOUR + 1;
  const to = t0 + DAY + 2 * HOUR;
  // ... asked for by a person who reads German: the file's title in German.
  assert.equal((await A.c.patch('/api/v1/me', { language: 'de' })).status, 200);
  let done;
  try {
    done = await exportOf(A.c, { channels: ids, from, to, format: 'hok2', time_zone: 'Asia/Tokyo' });
  } finally {
    assert.equal((await A.c.patch('/api/v1/me', { language: null })).status, 200);
  }
  const f = hok.read(new Uint8Array((await fetchRaw(done.download_url)).bytes));
  try {
    assert.equal(f.meta.timezone, 'Asia/Tokyo');
    assert.equal(f.meta.title, `Metron-Datenexport Nr. ${done.id}`);
    const times = Array.from(f.times(), (ms) => Math.round(ms * 1000));
    const want = unionTimes(ids).filter((t) => t >= from && t < to);
    assert.deepEqual(times, want);
  } finally {
    f.close();
  }
});

test('ZIP(CSV) export: one wide CSV per device plus computed.csv, equal to what was ingested', async () => {
  const done = await exportOf(A.c, { channels: A.all, from: A.from, to: A.to, format: 'csv', time_zone: 'Asia/Tokyo' });
  assert.equal(done.time_zone, 'Asia/Tokyo');
  const r = await fetchRaw(done.download_url);
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('content-type'), 'application/zip');
  assert.equal(r.headers.get('content-disposition'),
    `attachment; filename="metron-export-${done.id}.zip"; filename*=UTF-8''metron-export-${done.id}.zip`);
  assert.equal(done.bytes, r.bytes.length);
  const files = unzip(r.bytes);
  const f1 = `LR8450_${A.dev1.serial}.csv`;
  const f2 = `LR8450_${A.dev2.serial}.csv`;
  assert.deepEqual(Object.keys(files), ['README.txt', f1, f2, 'computed.csv']);
  const readme = files['README.txt'].toString('utf8');
  checkReadme(readme, 'en', files);
  assert.match(readme, /^Time zone of the Time column: UTC\+09:00\r$/m);
  checkCsv(files[f1].toString('utf8'), A.dev1.channels,
    ['Channel 1 [V]', 'Channel 2 [V]', 'Channel 3 [V]'], '+09:00');
  checkCsv(files[f2].toString('utf8'), A.dev2.channels, ['Probe, "1" [°C]'], '+09:00');
  // A name that a spreadsheet would take for a formula gets an apostrophe.
  checkCsv(files['computed.csv'].toString('utf8'), [A.computed], ["'=avg [V]"], '+09:00');
  // The header's quoting, as bytes.
  assert.ok(files[f2].toString('utf8').startsWith('\ufeffTime,"Probe, ""1"" [°C]"\r\n'));
  // Default time zone: the account's (UTC here), written +00:00.
  const utc = await exportOf(A.c, { channels: [A.dev2.channels[0]], from: A.from, to: A.to, format: 'csv' });
  const z = unzip((await fetchRaw(utc.download_url)).bytes);
  checkCsv(z[f2].toString('utf8'), A.dev2.channels, ['Probe, "1" [°C]'], '+00:00');
});

/** The README.txt of a CSV export of "c" asked for with "body", and the ZIP's entries. */
async function readmeOf(c, body) {
  const done = await exportOf(c, { format: 'csv', ...body });
  const files = unzip((await fetchRaw(done.download_url)).bytes);
  return { done, files, text: files['README.txt'].toString('utf8') };
}

test('README.txt is in the language of the person who asked (else the account\'s), its zone as UTC offsets', async () => {
  const setLang = async (language) => {
    const r = await A.c.patch('/api/v1/me', { language });
    assert.equal(r.status, 200, JSON.stringify(r.body));
  };
  const body = { channels: A.all, from: A.from, to: A.to, time_zone: 'Asia/Tokyo' };
  const texts = {};
  try {
    for (const lang of Object.keys(README)) {
      await setLang(lang);
      const { files, text } = await readmeOf(A.c, body);
      checkReadme(text, lang, files);
      texts[lang] = text;
    }
  } finally {
    await setLang(null);
  }
  // The range's ends as every server text writes a time (the portal's
  // medium date and time) in Tokyo's local time, with the offset; the zone
  // of the Time column by its offset. Side by side in three languages.
  const local = (us) => {
    const d = new Date(us / 1000 + 9 * 3600e3);
    return { y: d.getUTCFullYear(), m: d.getUTCMonth() + 1, d: d.getUTCDate(), h: d.getUTCHours() };
  };
  const a = local(A.from);
  const b = local(A.to);
  const p2 = (n) => String(n).padStart(2, '0');
  const MON = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const lines = (t) => t.split('\r\n').slice(0, 6);
  assert.deepEqual(lines(texts.ja).slice(2, 4), [
    `期間：${a.y}/${p2(a.m)}/${p2(a.d)} ${a.h}:00:00 ～ ${b.y}/${p2(b.m)}/${p2(b.d)} ${b.h}:00:00（UTC+09:00、終了時刻は含みません）`,
    'Time 列のタイムゾーン：UTC+09:00']);
  assert.match(lines(texts.ja)[0], /^Metron データエクスポート（No\. \d+）$/);
  assert.match(lines(texts.ja)[4], /^作成日時：\d{4}\/\d{2}\/\d{2} \d{1,2}:\d{2}:\d{2}（UTC\+09:00）$/);
  assert.deepEqual(lines(texts.de).slice(2, 4), [
    `Zeitraum: ${p2(a.d)}.${p2(a.m)}.${a.y}, ${p2(a.h)}:00:00 bis ${p2(b.d)}.${p2(b.m)}.${b.y}, ${p2(b.h)}:00:00 (UTC+09:00), ohne den Endzeitpunkt`,
    'Zeitzone der Spalte Time: UTC+09:00']);
  assert.match(lines(texts.de)[0], /^Metron-Datenexport Nr\. \d+$/);
  assert.match(lines(texts.de)[4], /^Erstellt: \d{2}\.\d{2}\.\d{4}, \d{2}:\d{2}:\d{2} \(UTC\+09:00\)$/);
  const en12 = (h) => `${h % 12 || 12}:00:00 ${h < 12 ? 'AM' : 'PM'}`;
  assert.deepEqual(lines(texts.en).slice(2, 4), [
    `Period: ${MON[a.m - 1]} ${a.d}, ${a.y}, ${en12(a.h)} to ${MON[b.m - 1]} ${b.d}, ${b.y}, ${en12(b.h)} (UTC+09:00), not including the end`,
    'Time zone of the Time column: UTC+09:00']);
  assert.match(lines(texts.en)[0], /^Metron data export no\. \d+$/);
  // Each language's own sentences: no line before the list of files (the
  // heading, the range, the zone, the layout) is the same in two languages.
  const layout = (t) => new Set(t.split('\r\n\r\n').slice(0, 4).join('\r\n').split('\r\n').filter(Boolean));
  const langs = Object.keys(texts);
  for (const x of langs) {
    for (const y of langs) {
      if (x < y) {
        const same = [...layout(texts[x])].filter((l) => layout(texts[y]).has(l));
        assert.deepEqual(same, [], `${x} and ${y} share lines`);
      }
    }
  }
  // No language of the person's own: the account's.
  let r = await A.c.patch('/api/v1/account', { language: 'fr' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  try {
    const { files, text } = await readmeOf(A.c, body);
    checkReadme(text, 'fr', files);
    assert.match(text, /^Export de données Metron n° \d+\r\n/);
  } finally {
    r = await A.c.patch('/api/v1/account', { language: 'en' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
  }
});

test('CSV times follow daylight saving time of an IANA zone; fixed offsets too', async () => {
  const t = await dataTenant(srv, { n: 1 });
  const ch = t.channels[0];
  // Around the US changes of 2024: 2024-03-10 07:00Z (-05 -> -04) and
  // 2024-11-03 06:00Z (-04 -> -05, local 01:xx twice), every 20 minutes.
  const ts = [];
  for (const start of [Date.UTC(2024, 2, 10, 5), Date.UTC(2024, 10, 3, 4)]) {
    for (let k = 0; k < 12; k++) ts.push((start + k * 20 * 60000) * 1000);
  }
  let r = await t.ingest.batch({ batch_id: 'dst', channels: [{ id: ch, t: ts, v: ts.map((_, i) => i) }] });
  assert.equal(r.status, 201, r.text);
  const from = Date.UTC(2024, 2, 1) * 1000;
  const to = Date.UTC(2024, 11, 1) * 1000;
  const want = (x) => {
    const ms = x / 1000;
    if (ms < Date.UTC(2024, 2, 10, 7)) return '-05:00';
    if (ms < Date.UTC(2024, 10, 3, 6)) return '-04:00';
    return '-05:00';
  };
  for (const [tz, offsetOf] of [['America/New_York', want], ['+05:30', () => '+05:30'], ['-03:00', () => '-03:00']]) {
    const done = await exportOf(t.c, { channels: [ch], from, to, format: 'csv', time_zone: tz });
    const files = unzip((await fetchRaw(done.download_url)).bytes);
    const name = Object.keys(files).find((n) => n.endsWith('.csv'));
    const rows = parseCsv(files[name].toString('utf8')).slice(1);
    assert.equal(rows.length, ts.length);
    // README.txt names the zone by the offsets the Time column has (a
    // minus sign, U+2212, as every server text writes it).
    const readme = files['README.txt'].toString('utf8');
    checkReadme(readme, 'en', files, [ch]);
    assert.equal(readme.split('\r\n')[3], `Time zone of the Time column: ${{
      'America/New_York': 'UTC\u221205:00 / UTC\u221204:00 (summer time)',
      '+05:30': 'UTC+05:30', '-03:00': 'UTC\u221203:00' }[tz]}`);
    rows.forEach((row, i) => {
      const p = parseIso(row[0]);
      assert.equal(p.t, ts[i], row[0]);
      assert.equal(p.offset, offsetOf(ts[i]), `${tz}: ${row[0]}`);
      assert.equal(Number(row[1]), i);
    });
  }
  // The same local time twice on 2024-11-03 (01:20 EDT, then 01:20 EST).
  const done = await exportOf(t.c, { channels: [ch], from, to, format: 'csv', time_zone: 'America/New_York' });
  const files = unzip((await fetchRaw(done.download_url)).bytes);
  const text = files[Object.keys(files).find((n) => n.endsWith('.csv'))].toString('utf8');
  assert.match(text, /2024-11-03T01:20:00-04:00,/);
  assert.match(text, /2024-11-03T01:20:00-05:00,/);
  // README.txt's zone over the rows' stretch (or the range, without rows),
  // in the person's language: summer time where the offsets take turns
  // with the seasons, the offsets alone where a zone changed for good
  // (Moscow, 2014) or for a month (Casablanca's Ramadan, 2019), one offset
  // where the stretch has one; each end of the range with its own offset.
  r = await t.c.patch('/api/v1/me', { language: 'de' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const zoneOf = async (lang, tz, range) => {
    const { files, text: readme } = await readmeOf(t.c, { channels: [ch], ...range, time_zone: tz });
    checkReadme(readme, lang, files, [ch]);
    return readme.split('\r\n').slice(2, 4);
  };
  const range = (a, b) => ({ from: Date.parse(a) * 1000, to: Date.parse(b) * 1000 });
  try {
    assert.deepEqual(await zoneOf('de', 'Europe/Berlin', { from, to }), [
      'Zeitraum: 01.03.2024, 01:00:00 bis 01.12.2024, 01:00:00 (UTC+01:00), ohne den Endzeitpunkt',
      'Zeitzone der Spalte Time: UTC+01:00 / UTC+02:00 (Sommerzeit)']);
    assert.deepEqual(await zoneOf('de', 'Europe/Berlin', range('2024-07-01T00:00Z', '2024-08-01T00:00Z')), [
      'Zeitraum: 01.07.2024, 02:00:00 bis 01.08.2024, 02:00:00 (UTC+02:00), ohne den Endzeitpunkt',
      'Zeitzone der Spalte Time: UTC+02:00']);
    r = await t.c.patch('/api/v1/me', { language: 'en' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(await zoneOf('en', 'America/New_York', range('2024-03-01T00:00Z', '2024-07-01T00:00Z')), [
      'Period: Feb 29, 2024, 7:00:00 PM (UTC\u221205:00) to Jun 30, 2024, 8:00:00 PM (UTC\u221204:00), not including the end',
      'Time zone of the Time column: UTC\u221205:00 / UTC\u221204:00 (summer time)']);
    assert.deepEqual((await zoneOf('en', 'Europe/Moscow', range('2014-10-01T00:00Z', '2014-12-01T00:00Z')))[1],
      'Time zone of the Time column: UTC+04:00 / UTC+03:00 (it changes within the period)');
    assert.deepEqual((await zoneOf('en', 'Africa/Casablanca', range('2019-04-01T00:00Z', '2019-07-01T00:00Z')))[1],
      'Time zone of the Time column: UTC+01:00 / UTC+00:00 (it changes within the period)');
  } finally {
    r = await t.c.patch('/api/v1/me', { language: null });
    assert.equal(r.status, 200, JSON.stringify(r.body));
  }
  r = await t.c.get('/api/v1/exports');
  assert.equal(r.status, 200);
  assert.ok(r.body.exports.length >= 4);
  assert.ok(r.body.exports.every((e, i, a) => i === 0 || a[i - 1].id > e.id), 'newest first');
});

test('bad requests are refused; another account\'s or an unseen channel is 404', async () => {
  const ch = A.dev1.channels;
  const base = { channels: [ch[0]], from: A.from, to: A.to, format: 'csv' };
  const ids33 = Array.from({ length: 33 }, (_, i) => i + 1);
  const B = await dataTenant(srv, { n: 1 });
  const cases = [
    [{ ...base, channels: ids33 }, 400, 'too_many_channels', 'channels'],
    [{ ...base, channels: [] }, 400, 'invalid_value', 'channels'],
    [{ ...base, channels: [ch[0], ch[0]] }, 400, 'invalid_value', 'channels'],
    [{ ...base, channels: [0] }, 400, 'invalid_value', 'channels'],
    [{ ...base, channels: 'x' }, 400, 'wrong_type', 'channels'],
    [{ ...base, channels: undefined }, 400, 'missing', 'channels'],
    [{ ...base, to: A.from }, 400, 'invalid_value', 'to'],
    [{ ...base, to: A.from - 1 }, 400, 'invalid_value', 'to'],
    [{ ...base, to: A.from + 26 * 366 * DAY }, 400, 'invalid_value', 'to'],
    [{ ...base, from: 1.5 }, 400, 'invalid_value', 'from'],
    [{ ...base, from: '1' }, 400, 'wrong_type', 'from'],
    [{ ...base, format: 'xlsx' }, 400, 'invalid_value', 'format'],
    [{ ...base, format: undefined }, 400, 'missing', 'format'],
    [{ ...base, time_zone: 'Mars/Olympus' }, 400, 'invalid_value', 'time_zone'],
    [{ ...base, time_zone: '+25:00' }, 400, 'invalid_value', 'time_zone'],
    [{ ...base, time_zone: '../../etc' }, 400, 'invalid_value', 'time_zone'],
    [{ ...base, time_zone: 9 }, 400, 'wrong_type', 'time_zone'],
    [{ ...base, extra: 1 }, 400, 'unknown_field', 'extra'],
    [{ ...base, channels: [ch[0], B.channels[0]] }, 404, 'not_found', 'channels'],
    [{ ...base, channels: [987654321] }, 404, 'not_found', 'channels'],
  ];
  for (const [body, status, code, field] of cases) {
    const r = await A.c.post('/api/v1/exports', body);
    assert.equal(r.status, status, `${JSON.stringify(body).slice(0, 120)} -> ${JSON.stringify(r.body)}`);
    assert.equal(r.body.code, code, JSON.stringify(r.body));
    assert.equal(r.body.field, field, JSON.stringify(r.body));
  }
  // A member sees only the channels of groups granted to them.
  const user = uniq('m');
  await createUser(srv.url, { accountId: A.id, user, password: PW, role: 'member', fileAccess: 'view' });
  const m = await login(srv.url, { account: A.account, user, password: PW });
  let r = await m.post('/api/v1/exports', base);
  assert.equal(r.status, 404, JSON.stringify(r.body));
  // Not signed in.
  r = await request(srv.url, 'POST', '/api/v1/exports', { body: base });
  assert.equal(r.status, 401);
  // Nothing was recorded by the refusals.
  assert.equal(await sql(`SELECT count(*) FROM exports WHERE account_id = ${B.id}`), '0');
});

test('signed URLs: tampered, expired or reused for another export -> 403; other accounts see nothing', async () => {
  const B = await dataTenant(srv, { n: 1 });
  let r = await B.ingest.batch({ batch_id: 'b', channels: [{ id: B.channels[0], t: [t0, t0 + MIN_US], v: [1, 2] }] });
  assert.equal(r.status, 201, r.text);
  const a = await exportOf(A.c, { channels: [A.dev2.channels[0]], from: A.from, to: A.to, format: 'hok' });
  const b = await exportOf(B.c, { channels: B.channels, from: A.from, to: A.to, format: 'hok' });
  const ua = new URL(a.download_url, srv.url);
  const ub = new URL(b.download_url, srv.url);
  const q = (u) => Object.fromEntries(u.searchParams);
  const url = (id, { account, expires, sig }) =>
    `/api/v1/exports/${id}/download?account=${account}&expires=${expires}&sig=${sig}`;
  const flip = (s) => (s[0] === '0' ? '1' : '0') + s.slice(1);
  const forged = [
    url(a.id, { ...q(ua), sig: flip(q(ua).sig) }),
    url(a.id, { ...q(ua), expires: Number(q(ua).expires) + 1 }),
    url(a.id, { ...q(ua), account: B.id }),
    url(a.id, q(ub)), // B's signature on A's export
    url(b.id, q(ua)), // A's signature on B's export
    url(a.id, { ...q(ua), sig: q(ua).sig.toUpperCase().replace(/[0-9]/g, 'A') }),
    `/api/v1/exports/${a.id}/download`,
    `/api/v1/exports/${a.id}/download?account=${A.id}&expires=${q(ua).expires}`,
  ];
  for (const u of forged) {
    const res = await fetchRaw(u);
    assert.equal(res.status, 403, u);
    assert.match(JSON.parse(res.bytes.toString()).code, /^invalid_signature$/, u);
  }
  assert.equal((await fetchRaw(a.download_url)).status, 200);
  assert.equal((await fetchRaw(b.download_url)).status, 200);
  // Another account cannot see, list or delete the export.
  r = await B.c.get(`/api/v1/exports/${a.id}`);
  assert.equal(r.status, 404);
  r = await B.c.del(`/api/v1/exports/${a.id}`);
  assert.equal(r.status, 404);
  r = await B.c.get('/api/v1/exports');
  assert.deepEqual(r.body.exports.map((e) => e.id), [b.id]);
  // Nor another user of the same account.
  const user = uniq('adm');
  await createUser(srv.url, { accountId: A.id, user, password: PW, role: 'admin' });
  const other = await login(srv.url, { account: A.account, user, password: PW });
  r = await other.get(`/api/v1/exports/${a.id}`);
  assert.equal(r.status, 404);
  // An hour later the link has expired; the status gives a fresh one.
  await setClock(srv.url, 3601);
  try {
    const res = await fetchRaw(a.download_url);
    assert.equal(res.status, 403);
    assert.equal(JSON.parse(res.bytes.toString()).code, 'link_expired');
    r = await A.c.get(`/api/v1/exports/${a.id}`);
    assert.equal(r.status, 200);
    assert.notEqual(r.body.download_url, a.download_url);
    assert.equal((await fetchRaw(r.body.download_url)).status, 200);
  } finally {
    await setClock(srv.url, 0);
  }
  // Deleted: the status is gone, the (valid) link finds nothing.
  r = await A.c.del(`/api/v1/exports/${a.id}`);
  assert.equal(r.status, 200);
  assert.deepEqual(r.body, { id: a.id, deleted: true });
  assert.equal((await A.c.get(`/api/v1/exports/${a.id}`)).status, 404);
  assert.equal((await fetchRaw(a.download_url)).status, 404);
  assert.equal(await looseBlobs(A.id), 0, 'its bytes went with it');
});

test('at most 2 running exports per account: the third is 429', async () => {
  const t = await dataTenant(srv, { n: 1 });
  const now = Math.floor(Date.now() / 1000);
  const user = (await t.c.get('/api/v1/me')).body.id;
  await sql(`INSERT INTO exports (account_id, user_id, format, channels, t_from, t_to, time_zone,
    created_at, updated_at) SELECT ${t.id}, ${user}, 'hok', ARRAY[${t.channels[0]}]::bigint[], 0, 1,
    'UTC', to_timestamp(${now}), to_timestamp(${now}) FROM generate_series(1, 2)`);
  const body = { channels: t.channels, from: A.from, to: A.to, format: 'hok' };
  let r = await t.c.post('/api/v1/exports', body);
  assert.equal(r.status, 429, JSON.stringify(r.body));
  assert.equal(r.body.code, 'too_many_exports');
  assert.equal(r.headers['retry-after'], '30');
  await sql(`DELETE FROM exports WHERE account_id = ${t.id}`);
  r = await t.c.post('/api/v1/exports', body);
  assert.equal(r.status, 202, JSON.stringify(r.body));
  assert.equal((await waitDone(t.c, r.body.id)).body.status, 'done');
});

test('a large export (2 channels x 60 days at one minute) shows progress while it runs', async (ctx) => {
  const t = await dataTenant(srv, { n: 2 });
  const start = baseTime(24 * 70);
  const n = 60 * 1440;
  const per = 20000;
  for (let i = 0, k = 0; i < n; i += per, k++) {
    const ts = Array.from({ length: Math.min(per, n - i) }, (_, j) => start + (i + j) * MIN_US);
    const r = await t.ingest.batch({ batch_id: `big-${k}`, channels: t.channels.map((id, c) => ({
      id, t: ts, v: ts.map((_, j) => (i + j) * (c + 1) / 8) })) });
    assert.equal(r.status, 201, r.text);
  }
  await compact();
  const seen = [];
  for (const format of ['csv', 'hok2']) {
    const r = await t.c.post('/api/v1/exports', { channels: t.channels, from: start, to: start + n * MIN_US, format });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    const { body, progress } = await waitDone(t.c, r.body.id, { pollMs: 2 });
    assert.equal(body.status, 'done', JSON.stringify(body));
    assert.equal(body.samples, 2 * n);
    for (let i = 1; i < progress.length; i++) assert.ok(progress[i] >= progress[i - 1], `${progress}`);
    seen.push(...progress.filter((p) => p > 0 && p < 1));
    if (format === 'hok2' && hok) {
      const f = hok.read(new Uint8Array((await fetchRaw(body.download_url)).bytes));
      try {
        assert.equal(f.rows, n);
        const v = f.values(1);
        assert.equal(v[n - 1], (n - 1) * 2 / 8);
      } finally {
        f.close();
      }
    }
  }
  const distinct = [...new Set(seen)];
  ctx.diagnostic(`${distinct.length} distinct progress values seen between 0 and 1` +
    (distinct.length ? ` (${distinct[0]} .. ${distinct[distinct.length - 1]})` : ' (too fast)'));
  // Cancelled while running: the row and every file go.
  const r = await t.c.post('/api/v1/exports', { channels: t.channels, from: start, to: start + n * MIN_US, format: 'csv' });
  assert.equal(r.status, 202);
  assert.equal((await t.c.del(`/api/v1/exports/${r.body.id}`)).status, 200);
  assert.equal((await t.c.get(`/api/v1/exports/${r.body.id}`)).status, 404);
  const dir = path.join(srv.dataDir, 'exports', String(t.id));
  for (let i = 0; i < 200 && fs.existsSync(dir) &&
    fs.readdirSync(dir).some((f) => f.startsWith(`${r.body.id}.`)); i++) await sleep(25);
  assert.deepEqual(fs.readdirSync(dir).filter((f) => f.startsWith(`${r.body.id}.`)), []);
  // A second server on the same database stops while its export runs: it
  // exits cleanly and the export ends failed (the user may start it again).
  const srv2 = await startServer({ databaseUrl: pg.url(db),
    env: { METRON_COMPACT_MS: '3600000', METRON_EXPORT_CHUNK_SAMPLES: '100' } });
  try {
    const c2 = sessionClient(srv2.url, { cookie: t.c.cookie, csrf: t.c.csrf });
    const r2 = await c2.post('/api/v1/exports', { channels: t.channels, from: start, to: start + n * MIN_US, format: 'hok' });
    assert.equal(r2.status, 202, JSON.stringify(r2.body));
    await sleep(100);
    const exit = await srv2.stop();
    assert.equal(exit.code, 0, srv2.stderr());
    assert.doesNotMatch(srv2.stderr(), /runtime error|AddressSanitizer|LeakSanitizer/);
    const st = (await t.c.get(`/api/v1/exports/${r2.body.id}`)).body;
    if (st.status === 'failed') assert.match(st.error, /server stopped/);
    else assert.equal(st.status, 'done', JSON.stringify(st)); // finished first
    ctx.diagnostic(`stopped server: export ${st.status} at progress ${st.progress}`);
  } finally {
    await srv2.stop();
    fs.rmSync(srv2.dataDir, { recursive: true, force: true });
  }
});

test('clean-up: files and records go 24 h after the end; stale and orphaned ones too', async () => {
  const t = await dataTenant(srv, { n: 1 });
  let r = await t.ingest.batch({ batch_id: 'c', channels: [{ id: t.channels[0], t: [t0], v: [42] }] });
  assert.equal(r.status, 201, r.text);
  const done = await exportOf(t.c, { channels: t.channels, from: A.from, to: A.to, format: 'csv' });
  const dir = path.join(srv.dataDir, 'exports', String(t.id));
  // The file is in the database (any server process serves it), not here.
  assert.equal(await sql(`SELECT blob_id IS NOT NULL FROM exports WHERE id = ${done.id}`), 't');
  assert.ok(!fs.existsSync(path.join(dir, `${done.id}.zip`)));
  // Export files do not count against the storage quota (P2).
  const before = await sql(`SELECT data_bytes + drive_bytes FROM account_storage WHERE account_id = ${t.id}`);
  assert.ok(Number(before) < done.bytes || done.bytes < 1000);
  // A stray file without a record, one that is not ours, a stale running export.
  fs.writeFileSync(path.join(dir, '999999999.zip'), 'x');
  fs.writeFileSync(path.join(dir, '999999998.hok.part'), 'x');
  fs.writeFileSync(path.join(dir, 'notes.txt'), 'x');
  const user = (await t.c.get('/api/v1/me')).body.id;
  const stale = Number(await sql(`INSERT INTO exports (account_id, user_id, format, channels, t_from,
    t_to, time_zone, created_at, updated_at) VALUES (${t.id}, ${user}, 'hok',
    ARRAY[${t.channels[0]}]::bigint[], 0, 1, 'UTC', now(), now()) RETURNING id`));
  r = await request(srv.url, 'POST', '/api/v1/test/export-cleanup');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal((await fetchRaw(done.download_url)).status, 200, 'kept within 24 h');
  assert.ok(!fs.existsSync(path.join(dir, '999999999.zip')));
  assert.ok(!fs.existsSync(path.join(dir, '999999998.hok.part')));
  assert.ok(fs.existsSync(path.join(dir, 'notes.txt')));
  assert.equal((await t.c.get(`/api/v1/exports/${stale}`)).body.status, 'running');
  // 16 minutes later the stale export has failed; 24 h after the end, all go.
  await setClock(srv.url, 16 * 60);
  try {
    r = await request(srv.url, 'POST', '/api/v1/test/export-cleanup');
    assert.equal(r.status, 200);
    r = await t.c.get(`/api/v1/exports/${stale}`);
    assert.equal(r.body.status, 'failed');
    assert.match(r.body.error, /server stopped/);
    await setClock(srv.url, 24 * 3600 + 20 * 60);
    r = await request(srv.url, 'POST', '/api/v1/test/export-cleanup');
    assert.equal(r.status, 200);
    assert.ok(r.body.done >= 2, JSON.stringify(r.body));
  } finally {
    await setClock(srv.url, 0);
  }
  assert.equal(await sql(`SELECT count(*) FROM file_blobs WHERE account_id = ${t.id}`), '0');
  assert.equal(await sql(`SELECT count(*) FROM exports WHERE account_id = ${t.id}`), '0');
  assert.equal((await fetchRaw(done.download_url)).status, 404);
});

test('after the hot table grows (no ANALYZE yet), a refresh, statistics, raw pages and an export read the same samples', async () => {
  // The server's own reads (series_read(), series_read_hot(): migration
  // 052) once series_hot has grown past the size its plans were made at
  // (docs/benchmarks.md, serread): the same answers as before the growth.
  await setClock(srv.url, 0);
  const t = await dataTenant(srv, { n: 2 });
  const group = await inNewGroup(t);
  let r;
  const now = Date.now() * 1000;
  const end = now - (now % MIN_US) - MIN_US;
  const n = 23 * 60;
  const times = Array.from({ length: n }, (_, i) => end - (n - 1 - i) * MIN_US);
  r = await t.ingest.batch({ batch_id: uniq('b'), channels: [
    { id: t.channels[0], t: times, v: times.map((_, i) => i / 4) },
    { id: t.channels[1], t: times, v: times.map((_, i) => (i % 97 === 5 ? '+over' : Math.round(100 * Math.sin(i / 50)) / 100)) }] });
  assert.equal(r.status, 201, r.text);
  await compact();
  // Late samples, hot: they replace stored ones, one is new; at an equal
  // time the later arrival wins, although its row ends earlier.
  r = await t.ingest.batch({ batch_id: uniq('b'), channels: [
    { id: t.channels[0], t: [times[100], times[200], end + MIN_US], v: [-7.5, 1, 5] }] });
  assert.equal(r.status, 201, r.text);
  r = await t.ingest.batch({ batch_id: uniq('b'), channels: [
    { id: t.channels[0], t: [times[200], times[300]], v: [2, 42] }] });
  assert.equal(r.status, 201, r.text);
  r = await t.c.post(`/api/v1/groups/${group}/dashboards`, { name: uniq('Board'), panels: [
    { x: 0, y: 0, w: 6, h: 4, kind: 'graph_value', channels: t.channels, window: 'day' }] });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const board = r.body.id;
  const from = times[0];
  const to = end + 2 * MIN_US;
  const chs = t.channels.join(',');
  const reads = async () => {
    const get = async (u) => {
      const x = await t.c.get(u);
      assert.equal(x.status, 200, JSON.stringify(x.body).slice(0, 300));
      return x.body;
    };
    const dash = await get(`/api/v1/dashboards/${board}/data`);
    const done = await exportOf(t.c, { channels: t.channels, from, to, format: 'csv' });
    const files = unzip((await fetchRaw(done.download_url)).bytes);
    return {
      // The samples of the day window (its bounds follow the clock).
      dash: dash.channels.map((c) => ({ ...c, series: c.series.map(({ from: a, to: b, ...x }) => x) })),
      summary: await get(`/api/v1/data/summary?channels=${chs}&from=${from}&to=${to}`),
      raw: await get(`/api/v1/data/raw?channels=${chs}&from=${from}&to=${to}&limit=2000`),
      csv: Object.fromEntries(Object.entries(files).filter(([k]) => k.endsWith('.csv'))
        .map(([k, v]) => [k, v.toString('utf8')])),
    };
  };
  const before = await reads();
  assert.equal(before.raw.t.length, n + 1);
  assert.deepEqual([100, 200, 300, n].map((i) => before.raw.channels[0].v[i]), [-7.5, 2, 42, 5]);
  assert.equal(before.summary.channels[0].n, n + 1);
  // The refresh reads through series_read(), the raw route another way.
  const dv = seriesValues(before.dash.find((c) => c.id === t.channels[0]).series[0]);
  assert.deepEqual([100, 200, 300, n].map((i) => dv[i]), [-7.5, 2, 42, 5]);
  assert.equal(Object.keys(before.csv).length, 1);
  // The hot table grows by 60,000 rows inside the window, without ANALYZE:
  // rows of this account whose one sample is of no channel (id 0), so the
  // answers stay the same. Removed again before anything folds them.
  // Written without their count: the trigger counts them, in linear time
  // since 081.
  await sql('ALTER TABLE series_hot SET (autovacuum_enabled = off)');
  try {
    await sql(`INSERT INTO series_hot (account_id, t_min, t_max, n, payload)
      SELECT ${t.id}, x, x, 1, decode(repeat('00', 24), 'hex')
      FROM (SELECT ${from} + g * 1000000 AS x FROM generate_series(1, 60000::bigint) g) s`);
    const grown = await reads();
    assert.deepEqual(grown.summary, before.summary);
    assert.deepEqual(grown.raw, before.raw);
    assert.deepEqual(grown.csv, before.csv);
    assert.deepEqual(grown.dash, before.dash);
  } finally {
    await sql(`DELETE FROM series_hot WHERE account_id = ${t.id} AND n = 1
      AND payload = decode(repeat('00', 24), 'hex')`);
    await sql('ALTER TABLE series_hot RESET (autovacuum_enabled)');
  }
});
