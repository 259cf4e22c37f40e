// HIOKI instrument text exports (.CSV/.TXT) in JavaScript: a thin layer over
// mt/csv.h through wasm/mtw_csv.c. See docs/formats/hioki-csv.md.
//
//   const csv = bindCsv(m);
//   const r = csv.read(bytesOrString, { utcOffsetMinutes: 540 });
//   r.meta      {fileName, version, title, trigger (ms or null), style,
//                delimiter, decimalMark, timeFormat, hasBom}
//   r.channels  [{name, title, unit, mode, range, unitId, comment,
//                 scaling (true/false/null), ratio, offset, kind}]
//   r.times     Float64Array, ms since the epoch (UTC)
//   r.values    [Float64Array per channel]; special values are the NaN-boxed
//               doubles of core (decode with specialKind() from mtw.mjs)
// Errors throw MetronError with .code, .line, .col (1-based) and .pos.
import { alloc, check, copyIn, f64Out, withError } from './mtw.mjs';

const STYLES = ['bare', 'column', 'row'];
const TIME_FORMATS = ['seconds', 'clock', 'absolute'];
const KINDS = ['analog', 'integer', 'event'];
const encoder = new TextEncoder();

export function bindCsv(m) {
  function readHandle(h) {
    const str = (p) => m.UTF8ToString(p);
    const metaNum = (w) => m._mtw_csv_meta_num(h, w);
    const meta = {
      fileName: str(m._mtw_csv_meta_str(h, 0)),
      version: str(m._mtw_csv_meta_str(h, 1)),
      title: str(m._mtw_csv_meta_str(h, 2)),
      trigger: metaNum(0) ? metaNum(1) : null,
      style: STYLES[metaNum(2)],
      delimiter: String.fromCharCode(metaNum(3)),
      decimalMark: String.fromCharCode(metaNum(4)),
      timeFormat: TIME_FORMATS[metaNum(5)],
      hasBom: metaNum(6) === 1,
    };
    const nCh = m._mtw_csv_channel_count(h);
    const nRows = m._mtw_csv_row_count(h);
    const channels = [];
    const values = [];
    for (let i = 0; i < nCh; i++) {
      const s = (w) => str(m._mtw_csv_channel_str(h, i, w));
      const scaling = m._mtw_csv_channel_num(h, i, 0);
      channels.push({
        name: s(0), title: s(1), unit: s(2), mode: s(3), range: s(4), unitId: s(5), comment: s(6),
        scaling: scaling < 0 ? null : scaling === 1,
        ratio: m._mtw_csv_channel_num(h, i, 1),
        offset: m._mtw_csv_channel_num(h, i, 2),
        kind: KINDS[m._mtw_csv_channel_num(h, i, 3)],
      });
      values.push(nRows ? f64Out(m, m._mtw_csv_values(h, i), nRows) : new Float64Array(0));
    }
    let times = new Float64Array(0);
    if (nRows) {
      const tp = alloc(m, nRows * 8);
      try {
        m._mtw_csv_times_ms(h, tp);
        times = f64Out(m, tp, nRows);
      } finally {
        m._free(tp);
      }
    }
    return { meta, channels, times, values };
  }

  // Parse "input" (Uint8Array, ArrayBuffer or string). Options:
  // utcOffsetMinutes (the instrument clock's offset from UTC, default 0),
  // maxChannels (default and cap 1024).
  function read(input, options = {}) {
    let bytes;
    if (typeof input === 'string') bytes = encoder.encode(input);
    else if (input instanceof ArrayBuffer) bytes = new Uint8Array(input);
    else if (ArrayBuffer.isView(input)) bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
    else throw new TypeError('csv.read: input must be a Uint8Array, ArrayBuffer or string');
    const off = options.utcOffsetMinutes ?? 0;
    const maxCh = options.maxChannels ?? 0;
    if (!Number.isInteger(off) || !Number.isInteger(maxCh) || maxCh < 0) {
      throw new TypeError('csv.read: utcOffsetMinutes and maxChannels must be integers');
    }
    const buf = copyIn(m, bytes);
    const outPtr = alloc(m, 4);
    try {
      return withError(m, (err) => {
        m.HEAPU32[outPtr >> 2] = 0;
        check(m, m._mtw_csv_read(buf, bytes.length, off, maxCh, outPtr, err), err);
        const h = m.HEAPU32[outPtr >> 2];
        try {
          return readHandle(h);
        } finally {
          m._mtw_csv_free(h);
        }
      });
    } finally {
      m._free(outPtr);
      m._free(buf);
    }
  }

  return { read };
}
