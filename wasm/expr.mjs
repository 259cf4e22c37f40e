// Computed channels (mt/expr.h) for JavaScript.
//
//   const { compile } = bindExpr(m);
//   const e = compile('SQR(SQ(CH1)+SQ(CH2))/CH3');
//   e.inputs                  // [1, 2, 3]: the n of each CHn, sorted
//   const out = e.eval([a, b, c]);  // one Float64Array per input, same length
//   e.free();
//
// Errors throw MetronError (.code 'MT_ESYNTAX', .pos = 0-based byte offset in
// the UTF-8 source, .line, .col). Outputs are numbers or core special values
// (decode with specialKind() from mtw.mjs).
import { MetronError, withError, check, alloc, copyString } from './mtw.mjs';

export function bindExpr(m) {
  function compile(src) {
    if (typeof src !== 'string') {
      throw new MetronError(-2, 'MT_EINVAL', 'expression must be a string', 0, 0, 0);
    }
    const srcPtr = copyString(m, src);
    const outPtr = alloc(m, 4);
    let handle = 0;
    try {
      withError(m, (err) => {
        m.HEAPU32[outPtr >> 2] = 0;
        check(m, m._mtw_expr_compile(srcPtr, m.lengthBytesUTF8(src), outPtr, err), err);
        handle = m.HEAPU32[outPtr >> 2];
      });
    } finally {
      m._free(outPtr);
      m._free(srcPtr);
    }
    const count = m._mtw_expr_input_count(handle);
    const inputs = [];
    for (let i = 0; i < count; i++) inputs.push(m._mtw_expr_input_channel(handle, i));

    return {
      source: src,
      inputs,
      // Evaluate over arrays (Float64Array or arrays of numbers), one per
      // input in the order of .inputs, all of the same length.
      eval(arrays) {
        if (!handle) throw new MetronError(-2, 'MT_EINVAL', 'expression was freed', 0, 0, 0);
        if (!Array.isArray(arrays) || arrays.length !== count) {
          throw new MetronError(-2, 'MT_EINVAL', `expected ${count} input arrays`, 0, 0, 0);
        }
        const cols = arrays.map((a) => (a instanceof Float64Array ? a : Float64Array.from(a)));
        const n = cols[0].length;
        cols.forEach((a, i) => {
          if (a.length !== n) {
            throw new MetronError(-2, 'MT_EINVAL', `input ${i} has ${a.length} samples, not ${n}`, i, 0, 0);
          }
        });
        // one block: [pointer table | input 0 | ... | input k-1 | output]
        const tableBytes = 8 * Math.ceil((4 * count) / 8);
        const block = alloc(m, tableBytes + 8 * n * (count + 1));
        try {
          const dataAt = (i) => block + tableBytes + 8 * n * i;
          for (let i = 0; i < count; i++) {
            m.HEAPU32[(block >> 2) + i] = dataAt(i);
            m.HEAPF64.set(cols[i], dataAt(i) >> 3);
          }
          const outPtr = dataAt(count);
          withError(m, (err) => check(m, m._mtw_expr_eval(handle, block, n, outPtr, err), err));
          return new Float64Array(m.HEAPF64.buffer, outPtr, n).slice();
        } finally {
          m._free(block);
        }
      },
      free() {
        if (handle) m._mtw_expr_free(handle);
        handle = 0;
      },
    };
  }
  return { compile };
}
