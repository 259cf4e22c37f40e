// A local HOK / HOK2 / HIOKI CSV file as a chart data source, read and
// decimated by the WebAssembly core (D5, the offline viewer; the drive opens
// downloaded files the same way).
//
//   const f = await openFile(bytes, { name, utcOffsetMinutes });
//   f.format ('hok' | 'hok2' | 'hioki_csv'), f.meta, f.rows, f.blocks,
//   f.channels [{key, index, name, unit}], f.from, f.to (ms, [from, to)),
//   f.first, f.last (ms, the first and last sample's times)
//   f.source(q)   -> block for the chart (buckets.mjs), via hok.decimate
//   f.stats       {ms, decoded} of the last decimation
//   f.close()
//
// Memory: the file's bytes are copied once into wasm memory (hok.read) and
// the JavaScript copy is dropped; every zoom then asks core to decimate from
// the HOK2 block index, which decodes only the blocks that straddle a bucket
// boundary, at the chart's pixel width. A CSV file (or a small HOK v1 file,
// which has no index) is converted to HOK2 in memory first, so it zooms the
// same way.
import { loadMetron, SV_NAMES, MetronError } from '../../vendor/wasm/metron.mjs';
import { fromCore } from './buckets.mjs';

const HOK_MAGIC = [0x4d, 0x54, 0x48, 0x4f, 0x4b, 0x0d, 0x0a, 0x1a]; // "MTHOK\r\n\x1a"
// HOK v1 files up to this many cells (rows x (channels + 1)) become HOK2
// on opening; bigger ones are decimated by reading the visible rows.
const V1_CONVERT_CELLS = 32e6;

let corePromise = null;

/**
 * The core module, loaded once. Emscripten 3.1.6 first tries fetch() on the
 * inlined "data:" URL of the wasm and falls back to decoding the base64
 * itself when that fails; under the server's Content-Security-Policy
 * (connect-src 'self') that fetch is a reported violation, so it is refused
 * here before it starts (the module calls fetch synchronously while it is
 * being created) and the fallback runs directly.
 */
export function core() {
  if (!corePromise) {
    const realFetch = globalThis.fetch;
    globalThis.fetch = (u, o) => (String(u).startsWith('data:')
      ? Promise.reject(new TypeError('inline wasm is decoded without fetch'))
      : realFetch.call(globalThis, u, o));
    try {
      corePromise = loadMetron();
    } finally {
      globalThis.fetch = realFetch;
    }
    corePromise.catch(() => { corePromise = null; });
  }
  return corePromise;
}

/** 'hok' for the HOK magic, 'csv' for a .csv/.txt name, else null. */
export function detect(bytes, name = '') {
  if (bytes.length >= 8 && HOK_MAGIC.every((b, i) => bytes[i] === b)) return 'hok';
  if (/\.(csv|txt)$/i.test(name)) return 'csv';
  return null;
}

function csvChannelName(c, i) {
  const base = c.name || `CH${i + 1}`;
  return c.comment && c.comment !== base ? `${base} ${c.comment}` : base;
}

/**
 * Open "bytes" (Uint8Array; the caller should drop its reference after
 * the call, so that the only full copy is the one in wasm memory).
 * Throws MetronError from core, or an Error with .code 'unknown_format'.
 */
export async function openFile(bytes, { name = '', utcOffsetMinutes = 0 } = {}) {
  const m = await core();
  const kind = detect(bytes, name);
  if (!kind) {
    const e = new Error('not a HOK, HOK2 or HIOKI CSV file');
    e.code = 'unknown_format';
    throw e;
  }
  let f, format, csvMeta = null;
  if (kind === 'hok') {
    f = m.hok.read(bytes);
    format = f.format;
    if (format === 'hok' && f.rows > 0 && f.rows * (f.channels.length + 1) <= V1_CONVERT_CELLS) {
      const v1 = f;
      const hok2 = m.hok.write({
        meta: v1.meta, channels: v1.channels, times: v1.times(),
        values: v1.channels.map((c, i) => v1.values(i)),
      }, { format: 'hok2' });
      v1.close();
      f = m.hok.read(hok2);
    }
  } else {
    const r = m.csv.read(bytes, { utcOffsetMinutes });
    csvMeta = r.meta;
    const hok2 = m.hok.write({
      meta: { title: r.meta.title || '' },
      channels: r.channels.map((c, i) => ({ id: i + 1, name: csvChannelName(c, i), unit: c.unit || '' })),
      times: r.times, values: r.values,
    }, { format: 'hok2' });
    f = m.hok.read(hok2);
    format = 'hioki_csv';
  }
  const rows = f.rows;
  const first = rows ? f.times(0, 1)[0] : 0;
  const last = rows ? f.times(rows - 1, 1)[0] : 0;
  // [from, to): one mean sample interval past the last sample, so that it
  // falls inside the range and is not drawn on the very edge.
  const step = rows > 1 ? (last - first) / (rows - 1) : 1000;
  const channels = f.channels.map((c, i) => ({
    key: `f${i}`, index: i, id: c.id, name: c.name || `CH${i + 1}`, unit: c.unit, kind: c.kind,
  }));
  const out = {
    name, format, rows, blocks: f.blocks, channels,
    meta: csvMeta ? { ...f.meta, title: csvMeta.title, csv: csvMeta } : f.meta,
    from: first, to: last + Math.max(step, 0.001), first, last,
    stats: { ms: 0, decoded: 0 },
    /** The chart's data source: min/max buckets of each channel from core. */
    async source({ from, to, buckets, channels: list }) {
      const t0 = performance.now();
      let decoded = 0;
      const series = list.map((ch) => {
        const d = f.decimate(ch.index, from, to, buckets);
        decoded += d.nDecoded;
        return fromCore(d, SV_NAMES);
      });
      out.stats = { ms: performance.now() - t0, decoded };
      return { from, to, buckets, series };
    },
    close() { f.close(); },
  };
  return out;
}

export { MetronError };
