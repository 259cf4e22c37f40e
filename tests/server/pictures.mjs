// Real pictures for the dashboard tests: PNG files written with node's zlib
// (signature, IHDR, one IDAT, IEND, each chunk with its CRC), so that the
// server's header reader and the browser both see an ordinary picture.
import zlib from 'node:zlib';

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}

/**
 * A width x height RGB PNG; colour(x, y) -> [r, g, b] (default: a light
 * plan with a grid and a darker block, so that placed values show).
 */
export function makePng(width, height, colour) {
  const paint = colour || ((x, y) => {
    if (x % 40 === 0 || y % 40 === 0) return [180, 190, 200];
    if (x > width * 0.55 && x < width * 0.9 && y > height * 0.2 && y < height * 0.7) return [120, 160, 190];
    return [236, 240, 244];
  });
  const raw = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    const row = y * (width * 3 + 1);
    raw[row] = 0; // filter: none
    for (let x = 0; x < width; x++) {
      const [r, g, b] = paint(x, y);
      raw[row + 1 + 3 * x] = r;
      raw[row + 2 + 3 * x] = g;
      raw[row + 3 + 3 * x] = b;
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Decode a series' base64 little-endian float64 array. */
export function f64(b64) {
  const buf = Buffer.from(b64, 'base64');
  return new Float64Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
}

/** The times of a series: its runs [first, step, count, ...] or its base64 "t". */
export function seriesTimes(s) {
  if (s.t_runs) {
    const out = [];
    for (let i = 0; i < s.t_runs.length; i += 3) {
      const [t0, step, n] = s.t_runs.slice(i, i + 3);
      for (let k = 0; k < n; k++) out.push(t0 + k * step);
    }
    return out;
  }
  return Array.from(f64(s.t));
}

const NAN_KINDS = { 1: 'missing', 2: '+over', 3: '-over', 4: 'break', 5: 'error' };
/** Values of a series as numbers or special names (core's NaN boxes read from the bytes). */
export function seriesValues(s) {
  const buf = Buffer.from(s.v, 'base64');
  const out = [];
  for (let i = 0; i < buf.length; i += 8) {
    const v = buf.readDoubleLE(i);
    if (Number.isFinite(v)) { out.push(v); continue; }
    if (v === Infinity) { out.push('+over'); continue; }
    if (v === -Infinity) { out.push('-over'); continue; }
    const hi = buf.readUInt32LE(i + 4), lo = buf.readUInt32LE(i);
    out.push(hi === 0x7ff80000 && NAN_KINDS[lo] ? NAN_KINDS[lo] : 'error');
  }
  return out;
}
