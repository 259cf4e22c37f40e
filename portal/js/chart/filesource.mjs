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
// Memory: the file's bytes go once into wasm memory (streamed into a block
// that core then adopts: never held whole in JavaScript as well); every zoom
// asks core to decimate from the HOK2 block index, which decodes only the
// blocks that straddle a bucket boundary, at the chart's pixel width. A big
// HOK2 file is charted from its index before its blocks have all been read
// (openHok2Early). A CSV file (or a small HOK v1 file, which has no index) is
// converted to HOK2 in memory first, so it zooms the same way.
import { loadMetron, SV_NAMES, MetronError } from '../../vendor/wasm/metron.mjs';
import { fromCore } from './buckets.mjs';

const HOK_MAGIC = [0x4d, 0x54, 0x48, 0x4f, 0x4b, 0x0d, 0x0a, 0x1a]; // "MTHOK\r\n\x1a"
// HOK v1 files up to this many cells (rows x (channels + 1)) become HOK2
// on opening; bigger ones are decimated by reading the visible rows.
const V1_CONVERT_CELLS = 32e6;
// A coarse first answer (one bucket per block) is drawn while the exact
// buckets are computed when a block spans at most this many pixels.
const COARSE_PX = 4;

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

const bytesOf = async (blob, a, b) => new Uint8Array(await blob.slice(a, b).arrayBuffer());

/**
 * Stream "blob" into wasm memory at "dest" (its owner keeps it alive while
 * stop() is false; a stopped copy writes nothing more). onProgress(bytes).
 */
async function streamInto(m, blob, dest, stop, onProgress) {
  const reader = blob.stream().getReader();
  let off = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (stop()) {
      reader.cancel().catch(() => {});
      return;
    }
    if (done) break;
    if (off + value.length > blob.size) throw new Error('the file grew while it was read');
    m.module.HEAPU8.set(value, dest + off); // HEAPU8 read again: memory may have grown meanwhile
    off += value.length;
    if (onProgress) onProgress(off);
  }
  if (off !== blob.size) throw new Error('the file changed while it was read');
}

/**
 * A HOK2 file opened from its index before its blocks are read. The
 * header, the first and the last block, the index and the trailer are
 * copied into a wasm block of the file's size first; core opens the file
 * (it checks the header, index and trailer checksums, all present) and can
 * already answer every block-aligned query from the index's summaries (the
 * whole file at the chart's width, without decoding). The blocks between
 * stream in afterwards ("loaded"); until then a query that must decode a
 * block not read yet meets core's block checksum (a block is verified when
 * first decoded, and a failure is not remembered) and waits for the rest.
 * Returns null when the file is not a HOK2 file worth it (the caller then
 * reads it whole).
 */
async function openHok2Early(m, blob, onProgress) {
  const size = blob.size;
  if (!m.hok.adopt || size < (4 << 20)) return null;
  const head = await bytesOf(blob, 0, 16);
  const dv = new DataView(head.buffer);
  if (dv.getUint16(8, true) !== 2) return null;
  const headLen = dv.getUint32(12, true);
  const trailer = await bytesOf(blob, size - 40, size);
  const tv = new DataView(trailer.buffer);
  if (new TextDecoder().decode(trailer.subarray(32)) !== 'MTHK2END') return null;
  const indexOff = Number(tv.getBigUint64(0, true));
  const nBlocks = Number(tv.getBigUint64(8, true));
  if (!(headLen <= indexOff && indexOff <= size - 40) || nBlocks < 3) return null;
  const index = await bytesOf(blob, indexOff, size);
  const entry = (size - 40 - indexOff) / nBlocks;
  if (!Number.isInteger(entry) || entry < 32) return null;
  const iv = new DataView(index.buffer);
  const firstEnd = headLen + iv.getUint32(8, true); // block 0 ends here
  const lastOff = Number(iv.getBigUint64((nBlocks - 1) * entry, true));
  if (!(firstEnd <= lastOff && lastOff <= indexOff)) return null;
  const M = m.module;
  const ptr = M._malloc(size);
  if (!ptr) throw new MetronError(-1, 'MT_ENOMEM', 'out of memory', 0, 0, 0);
  try {
    M.HEAPU8.set(await bytesOf(blob, 0, firstEnd), ptr);
    M.HEAPU8.set(await bytesOf(blob, lastOff, indexOff), ptr + lastOff);
    M.HEAPU8.set(index, ptr + indexOff);
  } catch (e) {
    M._free(ptr);
    throw e;
  }
  const f = m.hok.adopt(ptr, size); // owns ptr from here, also when it throws
  const tail = index;
  let closed = false;
  const close = f.close;
  f.close = () => { closed = true; close(); };
  if (onProgress) onProgress(firstEnd + size - lastOff, size);
  const loaded = streamInto(m, blob.slice(firstEnd, lastOff), ptr + firstEnd, () => closed,
    onProgress && ((n) => onProgress(firstEnd + n + size - lastOff, size)));
  return { f, loaded, tail };
}

/**
 * Open "input": a File or Blob (read piece by piece straight into wasm
 * memory) or a Uint8Array (copied once into wasm memory; drop it after the
 * call). Throws MetronError from core, or an Error with .code
 * 'unknown_format'.
 */
export async function openFile(input, { name = '', utcOffsetMinutes = 0, onProgress = null } = {}) {
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
  let loaded = Promise.resolve();
  let tail = null; // the HOK2 index and trailer, for blockGrid()
  if (kind === 'hok') {
    const early = isBlob ? await openHok2Early(m, input, onProgress) : null;
    if (early) {
      ({ f, loaded, tail } = early);
      readMs = performance.now() - t0;
    } else if (isBlob && m.hok.adopt) {
      const ptr = await blobToWasm(m, input);
      readMs = performance.now() - t0;
      f = m.hok.adopt(ptr, input.size);
      if (f.format === 'hok2' && input.size > 40) {
        const tr = new DataView((await input.slice(input.size - 40).arrayBuffer()));
        tail = new Uint8Array(await input.slice(Number(tr.getBigUint64(0, true))).arrayBuffer());
      }
    } else {
      const bytes = isBlob ? new Uint8Array(await input.arrayBuffer()) : input;
      f = m.hok.read(bytes);
      if (f.format === 'hok2') tail = tailOf(bytes);
    }
    format = f.format;
    if (format === 'hok' && f.rows > 0 && f.rows * (f.channels.length + 1) <= V1_CONVERT_CELLS) {
      const v1 = f;
      const hok2 = m.hok.write({
        meta: v1.meta, channels: v1.channels, times: v1.times(),
        values: v1.channels.map((c, i) => v1.values(i)),
      }, { format: 'hok2' });
      v1.close();
      f = m.hok.read(hok2);
      tail = tailOf(hok2);
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
    tail = tailOf(hok2);
    format = 'hioki_csv';
  }
  const rows = f.rows;
  const first = rows ? f.times(0, 1)[0] : 0;
  const last = rows ? f.times(rows - 1, 1)[0] : 0;
  // [from, to): one mean sample interval past the last sample, so that it
  // falls inside the range and is not drawn on the very edge.
  const step = rows > 1 ? (last - first) / (rows - 1) : 1000;
  const grid = blockGrid(tail);
  tail = null;
  const channels = f.channels.map((c, i) => ({
    key: `f${i}`, index: i, id: c.id, name: c.name || `CH${i + 1}`, unit: c.unit, kind: c.kind,
  }));
  let complete = false;
  const whenLoaded = loaded.then(() => {
    complete = true;
    out.opened.loadedMs = performance.now() - t0;
  });
  whenLoaded.catch(() => {});
  function decimateNow(q, list) {
    const t1 = performance.now();
    let decoded = 0;
    const series = list.map((ch) => {
      const d = f.decimate(ch.index, q.from, q.to, q.buckets);
      decoded += d.nDecoded;
      return fromCore(d, SV_NAMES);
    });
    out.stats = { ms: performance.now() - t1, decoded, buckets: q.buckets };
    return { from: q.from, to: q.to, buckets: q.buckets, series };
  }
  // While the blocks still stream in, a query that needs one not read yet
  // fails its checksum: it waits for the whole file and asks again.
  async function decimate(q, list) {
    try {
      return decimateNow(q, list);
    } catch (e) {
      if (complete || !e || e.code !== 'MT_ECHECKSUM') throw e;
      await whenLoaded;
      return decimateNow(q, list);
    }
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
      const block = await decimate(q, list);
      if (refine) block.refine = () => decimate(refine, list);
      return block;
    },
    /** Resolves once the whole file is in wasm memory (at once but for big HOK2 files). */
    loaded: whenLoaded,
    /**
     * Decode a few hundred blocks once, so that the browser compiles core's
     * decoders with its optimising tier (V8 starts wasm in a baseline
     * compiler and optimises functions once they have run a while): the
     * first zoom deep into the file is then as fast as later ones. Call it
     * when the page is idle after the first drawing.
     */
    async warm() {
      await whenLoaded;
      if (closed || format === 'hok' || rows < 2 || !channels.length) return;
      const n = Math.min(rows, 256 * Math.ceil(rows / Math.max(1, f.blocks)));
      const t1 = f.times(n - 1, 1)[0] + 0.001;
      f.decimate(0, first, t1, Math.max(8, 4 * Math.min(256, f.blocks)));
    },
    close() {
      closed = true;
      f.close();
    },
  };
  let closed = false;
  return out;
}

/**
 * The block grid of a HOK2 file from its index ("tail": the file's bytes
 * from the index offset to the end: the index entries and the trailer,
 * docs/formats/hok2.md): {firstUs, blockUs} when block k starts exactly at
 * firstUs + k * blockUs for every k (what the streaming writer makes of
 * evenly sampled data), else null. Only speed depends on it (see snap()):
 * core's answer is exact for any buckets.
 */
export function blockGrid(tail) {
  if (!tail || tail.length < 40) return null;
  const dv = new DataView(tail.buffer, tail.byteOffset, tail.byteLength);
  const tr = tail.length - 40;
  if (new TextDecoder().decode(tail.subarray(tr + 32)) !== 'MTHK2END') return null;
  const nBlocks = Number(dv.getBigUint64(tr + 8, true));
  if (nBlocks < 2 || tr % nBlocks !== 0) return null;
  const entry = tr / nBlocks;
  const tFirst = (k) => Number(dv.getBigInt64(k * entry + 16, true));
  const firstUs = tFirst(0);
  const blockUs = tFirst(1) - firstUs;
  if (!(blockUs > 0)) return null;
  for (let k = 2; k < nBlocks; k++) if (tFirst(k) !== firstUs + k * blockUs) return null;
  return { firstUs, blockUs };
}

/** The index and trailer of the HOK2 file in "bytes" (a Uint8Array of the whole file), or null. */
function tailOf(bytes) {
  if (bytes.length < 40) return null;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const off = Number(dv.getBigUint64(bytes.length - 40, true));
  return off < bytes.length - 40 ? bytes.subarray(off) : null;
}

/**
 * The query core answers fastest for "buckets" over [from, to): when a
 * bucket spans at least one block, buckets of a whole number of blocks
 * starting on a block boundary, so that no block straddles a boundary and
 * core merges index summaries without decoding anything (at most twice the
 * buckets asked for: never coarser than a pixel). When a block spans at
 * most COARSE_PX pixels, one bucket per block is the "coarse" answer (no
 * decoding either) and the exact query is the refinement drawn right after
 * it. Otherwise the query as asked. Core's
 * answer is exact for whatever buckets it is given.
 */
function snap(grid, from, to, buckets) {
  const asked = { from, to, buckets };
  if (!grid) return { q: asked };
  const wantUs = ((to - from) * 1000) / buckets;
  const perBucket = Math.max(1, Math.floor(wantUs / grid.blockUs));
  if (perBucket * grid.blockUs > COARSE_PX * wantUs) return { q: asked };
  const widthUs = perBucket * grid.blockUs;
  const k = Math.floor((from * 1000 - grid.firstUs) / grid.blockUs);
  const fromUs = grid.firstUs + k * grid.blockUs;
  const n = Math.ceil((to * 1000 - fromUs) / widthUs);
  if (n < 1 || n > 2 * buckets + 2) return { q: asked };
  const q = { from: fromUs / 1000, to: (fromUs + n * widthUs) / 1000, buckets: n };
  return widthUs > wantUs ? { q, refine: asked } : { q };
}

export { MetronError };
