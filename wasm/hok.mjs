// HOK / HOK2 files in the browser and node: bindHok(m) over the core module.
//
//   const hok = bindHok(m);
//   const f = hok.read(uint8array);     // one copy of the file into wasm memory
//   const f = hok.adopt(ptr, len);      // or a file already in wasm memory (from
//                                       // m._malloc): the reader owns the block
//   f.format, f.meta, f.channels, f.rows, f.blocks
//   f.times(row0?, n?)  -> Float64Array of ms
//   f.values(ch, row0?, n?) -> Float64Array (special values NaN-boxed, see mtw.mjs)
//   f.seek(tMs) -> first row at or after tMs
//   f.decimate(ch, t0Ms, t1Ms, nBuckets) -> { min, max, first, last, tFirst, tLast,
//        tMin, tMax, count, nSpecial (Float64Array), special (Uint8Array), nDecoded }
//   f.close()                           // frees the wasm copy; f is dead afterwards
//   hok.write({meta, channels, times, values}, {format: 'hok'|'hok2', blockRows})
//        -> Uint8Array
// Failures throw MetronError (.code, .pos = byte offset in the file).
import { MetronError, withError, check, alloc, copyIn, copyString, f64Out, u8Out } from './mtw.mjs';

const META_KEYS = ['title', 'app', 'device', 'model', 'timezone'];
const KINDS = ['measured', 'computed'];

export function bindHok(m) {
  function read(bytes) {
    if (!(bytes instanceof Uint8Array)) throw new TypeError('read() wants a Uint8Array');
    return adopt(copyIn(m, bytes), bytes.length);
  }

  // Open the "len" bytes at "buf" (a block from m._malloc holding the file,
  // e.g. read into wasm memory piece by piece, so that a large file is never
  // held twice). The reader takes ownership of the block: close() frees it,
  // and so does a failure here.
  function adopt(buf, len) {
    let h = 0;
    try {
      h = withError(m, (err) => {
        const out = alloc(m, 4);
        try {
          check(m, m._mtw_hok_open(buf, len, out, err), err);
          return m.HEAPU32[out >> 2];
        } finally {
          m._free(out);
        }
      });
    } catch (e) {
      m._free(buf);
      throw e;
    }
    const meta = {};
    META_KEYS.forEach((k, i) => { meta[k] = m.UTF8ToString(m._mtw_hok_meta_str(h, i)); });
    meta.created = m._mtw_hok_meta_created_ms(h);
    const nCh = m._mtw_hok_channel_count(h);
    const channels = [];
    for (let c = 0; c < nCh; c++) {
      channels.push({
        id: m._mtw_hok_ch_id(h, c),
        name: m.UTF8ToString(m._mtw_hok_ch_str(h, c, 0)),
        unit: m.UTF8ToString(m._mtw_hok_ch_str(h, c, 1)),
        model: m.UTF8ToString(m._mtw_hok_ch_str(h, c, 2)),
        kind: KINDS[m._mtw_hok_ch_kind(h, c)],
      });
    }
    const rows = m._mtw_hok_rows(h);
    let open = true;
    const live = () => { if (!open) throw new MetronError(-2, 'MT_EINVAL', 'file is closed', 0, 0, 0); };
    const range = (row0, n) => {
      row0 = row0 ?? 0;
      n = n ?? Math.max(0, rows - row0);
      return [row0, n];
    };
    function column(fn, row0, n) {
      const out = alloc(m, 8 * n);
      try {
        withError(m, (err) => check(m, fn(out, err), err));
        return f64Out(m, out, n);
      } finally {
        m._free(out);
      }
    }
    return {
      format: m._mtw_hok_version(h) === 1 ? 'hok' : 'hok2',
      meta,
      channels,
      rows,
      blocks: m._mtw_hok_block_count(h),
      times(row0, n) {
        live();
        [row0, n] = range(row0, n);
        return column((out, err) => m._mtw_hok_times_ms(h, row0, n, out, err), row0, n);
      },
      values(ch, row0, n) {
        live();
        [row0, n] = range(row0, n);
        return column((out, err) => m._mtw_hok_values(h, ch, row0, n, out, err), row0, n);
      },
      seek(tMs) {
        live();
        const out = alloc(m, 8);
        try {
          withError(m, (err) => check(m, m._mtw_hok_seek_ms(h, tMs, out, err), err));
          return m.HEAPF64[out >> 3];
        } finally {
          m._free(out);
        }
      },
      decimate(ch, t0Ms, t1Ms, nBuckets) {
        live();
        const nb = nBuckets >>> 0;
        const out = alloc(m, 80 * nb), sp = alloc(m, nb), dec = alloc(m, 8);
        try {
          withError(m, (err) =>
            check(m, m._mtw_hok_decimate(h, ch, t0Ms, t1Ms, nb, out, sp, dec, err), err));
          const part = (i) => f64Out(m, out + 8 * nb * i, nb);
          return {
            min: part(0), max: part(1), first: part(2), last: part(3),
            tFirst: part(4), tLast: part(5), tMin: part(6), tMax: part(7),
            count: part(8), nSpecial: part(9), special: u8Out(m, sp, nb),
            nDecoded: m.HEAPF64[dec >> 3],
          };
        } finally {
          m._free(out);
          m._free(sp);
          m._free(dec);
        }
      },
      close() {
        if (!open) return;
        open = false;
        m._mtw_hok_close(h);
        m._free(buf);
      },
    };
  }

  function write(data, opts = {}) {
    const format = opts.format ?? 'hok2';
    if (format !== 'hok' && format !== 'hok2') throw new TypeError(`unknown format ${format}`);
    const meta = data.meta ?? {};
    const channels = data.channels ?? [];
    const times = Float64Array.from(data.times ?? []);
    const values = data.values ?? [];
    const n = times.length;
    if (values.length !== channels.length) {
      throw new MetronError(-2, 'MT_EINVAL', 'one values array per channel', 0, 0, 0);
    }
    const ptrs = [];
    const keep = (p) => { ptrs.push(p); return p; };
    try {
      const strs = [...META_KEYS.map((k) => meta[k] ?? '')];
      for (const c of channels) strs.push(c.name ?? '', c.unit ?? '', c.model ?? '');
      const strTable = keep(alloc(m, 4 * strs.length));
      const strPtrs = strs.map((s) => keep(copyString(m, String(s))));
      m.HEAPU32.set(strPtrs, strTable >> 2);
      const ids = keep(copyIn(m, Float64Array.from(channels, (c, i) => c.id ?? i + 1)));
      const kinds = keep(copyIn(m, Uint8Array.from(channels, (c) => (c.kind === 'computed' ? 1 : 0))));
      const tp = keep(copyIn(m, times));
      const colPtrs = values.map((v, i) => {
        const col = v instanceof Float64Array ? v : Float64Array.from(v);
        if (col.length !== n) {
          throw new MetronError(-2, 'MT_EINVAL', `channel ${i}: ${col.length} values for ${n} times`, i, 0, 0);
        }
        return keep(copyIn(m, col));
      });
      const cols = keep(alloc(m, 4 * Math.max(1, colPtrs.length)));
      m.HEAPU32.set(colPtrs, cols >> 2);
      const outs = keep(alloc(m, 8));
      return withError(m, (err) => {
        check(m, m._mtw_hok_write(format === 'hok' ? 1 : 2, opts.blockRows ?? 0, strTable,
          meta.created ?? 0, channels.length, ids, kinds, tp, cols, n, outs, outs + 4, err), err);
        const p = m.HEAPU32[outs >> 2], len = m.HEAPU32[(outs + 4) >> 2];
        try {
          return u8Out(m, p, len);
        } finally {
          m._mtw_hok_mem_free(p);
        }
      });
    } finally {
      for (const p of ptrs) m._free(p);
    }
  }

  return { read, adopt, write };
}
