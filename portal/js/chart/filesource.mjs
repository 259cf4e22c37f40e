// A local HOK / HOK2 / HIOKI CSV file as a chart data source, read and
// decimated by the WebAssembly core (D5, the offline viewer; the drive opens
// downloaded files the same way).
//
//   const f = await openFile(bytes, { name, utcOffsetMinutes });
//   f.format ('hok' | 'hok2' | 'hioki_csv'), f.meta, f.rows, f.blocks,
//   f.channels [{key, index, name, unit}], f.from, f.to (ms, [from, to)),
//   f.first, f.last (ms, the first and last sample's times)
//   f.source(q)   -> block for the chart (buckets.mjs), via hok.decimate
//                    (with block.refine() when it is a coarse first answer)
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
 * Copy a Blob (a File) into a fresh block of wasm memory as it streams in:
 * the file is held once, in wasm memory, never whole in JavaScript too (the
 * stream's small chunks are recycled, so the copy also touches little fresh
 * memory besides the block itself). Returns the block's address; the
 * caller owns it (hok.adopt() takes it).
 */
async function blobToWasm(m, blob) {
  const M = m.module;
  const ptr = M._malloc(Math.max(1, blob.size));
  if (!ptr) throw new MetronError(-1, 'MT_ENOMEM', 'out of memory', 0, 0, 0);
  try {
    let off = 0;
    const reader = blob.stream().getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (off + value.length > blob.size) throw new Error('the file grew while it was read');
      M.HEAPU8.set(value, ptr + off); // HEAPU8 read again: memory may have grown meanwhile
      off += value.length;
    }
    if (off !== blob.size) throw new Error('the file changed while it was read');
  } catch (e) {
    M._free(ptr);
    throw e;
  }
  return ptr;
}

/**
 * Open "input": a File or Blob (read piece by piece straight into wasm
 * memory) or a Uint8Array (copied once into wasm memory; drop it after the
 * call). Throws MetronError from core, or an Error with .code
 * 'unknown_format'.
 */
export async function openFile(input, { name = '', utcOffsetMinutes = 0 } = {}) {
  const m = await core();
  const isBlob = typeof Blob !== 'undefined' && input instanceof Blob;
  if (isBlob && !name && input.name) name = input.name;
  const head = isBlob ? new Uint8Array(await input.slice(0, 8).arrayBuffer()) : input;
  const kind = detect(head, name);
  if (!kind) {
    const e = new Error('not a HOK, HOK2 or HIOKI CSV file');
    e.code = 'unknown_format';
    throw e;
  }
  let f, format, csvMeta = null;
  const t0 = performance.now();
  let readMs = 0;
  if (kind === 'hok') {
    if (isBlob && m.hok.adopt) {
      const ptr = await blobToWasm(m, input);
      readMs = performance.now() - t0;
      f = m.hok.adopt(ptr, input.size);
    } else f = m.hok.read(isBlob ? new Uint8Array(await input.arrayBuffer()) : input);
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
    const bytes = isBlob ? new Uint8Array(await input.arrayBuffer()) : input;
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
  const grid = blockGrid(f, first, last);
  const channels = f.channels.map((c, i) => ({
    key: `f${i}`, index: i, id: c.id, name: c.name || `CH${i + 1}`, unit: c.unit, kind: c.kind,
  }));
  function decimate(q, list) {
    const t0 = performance.now();
    let decoded = 0;
    const series = list.map((ch) => {
      const d = f.decimate(ch.index, q.from, q.to, q.buckets);
      decoded += d.nDecoded;
      return fromCore(d, SV_NAMES);
    });
    out.stats = { ms: performance.now() - t0, decoded, buckets: q.buckets };
    return { from: q.from, to: q.to, buckets: q.buckets, series };
  }
  const out = {
    name, format, rows, blocks: f.blocks, channels,
    meta: csvMeta ? { ...f.meta, title: csvMeta.title, csv: csvMeta } : f.meta,
    from: first, to: last + Math.max(step, 0.001), first, last,
    stats: { ms: 0, decoded: 0 },
    opened: { readMs, openMs: performance.now() - t0 - readMs }, // reading into wasm memory, core's open
    /** The chart's data source: min/max buckets of each channel from core. */
    async source({ from, to, buckets, channels: list }) {
      const { q, refine } = snap(grid, from, to, buckets);
      const block = decimate(q, list);
      if (refine) block.refine = async () => decimate(refine, list);
      return block;
    },
    /**
     * Decode a few hundred blocks once, so that the browser compiles core's
     * decoders with its optimising tier (V8 starts wasm in a baseline
     * compiler and optimises functions once they have run a while): the
     * first zoom deep into the file is then as fast as later ones. Call it
     * when the page is idle after the first drawing.
     */
    warm() {
      if (format === 'hok' || rows < 2 || !channels.length) return;
      const n = Math.min(rows, 256 * Math.ceil(rows / Math.max(1, f.blocks)));
      const t1 = f.times(n - 1, 1)[0] + 0.001;
      f.decimate(0, first, t1, Math.max(8, 4 * Math.min(256, f.blocks)));
    },
    close() { f.close(); },
  };
  return out;
}

/**
 * The block grid of a regularly sampled HOK2 file: {firstUs, blockUs} when
 * every block but the last holds the same number of rows at a constant
 * whole-microsecond interval (what the streaming writer makes of evenly
 * sampled data), else null. Probed at a few blocks only; if the guess is
 * wrong nothing is lost but speed (see snap()).
 */
function blockGrid(f, first, last) {
  if (f.format !== 'hok2' || f.blocks < 2 || f.rows < 3) return null;
  const rowsPerBlock = Math.ceil(f.rows / f.blocks);
  const stepUs = Math.round(((last - first) * 1000) / (f.rows - 1));
  if (!(stepUs > 0) || Math.abs((last - first) * 1000 - stepUs * (f.rows - 1)) > 1) return null;
  const firstUs = Math.round(first * 1000);
  for (const k of [1, f.blocks >> 1, f.blocks - 1]) {
    const row = k * rowsPerBlock;
    if (row >= f.rows) return null;
    const t = Math.round(f.times(row, 1)[0] * 1000);
    if (t !== firstUs + row * stepUs) return null;
  }
  return { firstUs, blockUs: rowsPerBlock * stepUs };
}

/**
 * The query core answers fastest for "buckets" over [from, to): when a
 * bucket spans at least one block, buckets of a whole number of blocks
 * starting on a block boundary, so that no block straddles a boundary and
 * core merges index summaries without decoding anything (at most twice the
 * buckets asked for: never coarser than a pixel). When a block spans at
 * most two pixels, one bucket per block is the "coarse" answer (no decoding
 * either, at most two pixels per bucket) and the exact query is the
 * refinement drawn right after it. Otherwise the query as asked. Core's
 * answer is exact for whatever buckets it is given.
 */
function snap(grid, from, to, buckets) {
  const asked = { from, to, buckets };
  if (!grid) return { q: asked };
  const wantUs = ((to - from) * 1000) / buckets;
  const perBucket = Math.max(1, Math.floor(wantUs / grid.blockUs));
  if (perBucket * grid.blockUs > 2 * wantUs) return { q: asked };
  const widthUs = perBucket * grid.blockUs;
  const k = Math.floor((from * 1000 - grid.firstUs) / grid.blockUs);
  const fromUs = grid.firstUs + k * grid.blockUs;
  const n = Math.ceil((to * 1000 - fromUs) / widthUs);
  if (n < 1 || n > 2 * buckets + 2) return { q: asked };
  const q = { from: fromUs / 1000, to: (fromUs + n * widthUs) / 1000, buckets: n };
  return widthUs > wantUs ? { q, refine: asked } : { q };
}

export { MetronError };
