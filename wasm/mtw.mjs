// Shared plumbing for the per-module JS bindings: memory in and out of the
// wasm heap, and core errors turned into JavaScript Errors.
//
// Conventions of the JS API (every module follows them):
// - times are milliseconds since 1970-01-01T00:00Z as JS numbers / Float64Array
//   (core counts microseconds; the mtw_*.c wrappers convert);
// - values are Float64Array; special values travel as the NaN-boxed doubles of
//   core (see mt/types.h) and are decoded with specialKind(v) or given
//   as a separate Uint8Array of kinds where an API says so;
// - every failure throws a MetronError with .code (e.g. 'MT_ESYNTAX'),
//   .status (the negative number), .pos, .line, .col and the core message;
// - every _malloc is paired with _free in a finally block.

export class MetronError extends Error {
  constructor(status, code, message, pos, line, col) {
    super(message);
    this.name = 'MetronError';
    this.status = status;
    this.code = code;
    this.pos = pos;
    this.line = line;
    this.col = col;
  }
}

// Allocate an mt_error, run fn(errPtr), free it. fn returns whatever it likes.
export function withError(m, fn) {
  const size = m._mtw_error_size();
  const ptr = m._malloc(size);
  if (!ptr) throw new MetronError(-1, 'MT_ENOMEM', 'out of memory', 0, 0, 0);
  m.HEAPU8.fill(0, ptr, ptr + size);
  try {
    return fn(ptr);
  } finally {
    m._free(ptr);
  }
}

// Throw a MetronError for "status" (< 0) using the mt_error at errPtr.
export function check(m, status, errPtr) {
  if (status >= 0) return status;
  const f = (i) => errPtr + m._mtw_error_field(i);
  const code = m.UTF8ToString(m._mtw_errname(status));
  let msg = '', pos = 0, line = 0, col = 0;
  if (errPtr) {
    msg = m.UTF8ToString(f(4));
    pos = m.HEAPU32[f(1) >> 2];
    line = m.HEAPU32[f(2) >> 2];
    col = m.HEAPU32[f(3) >> 2];
  }
  if (!msg) msg = m.UTF8ToString(m._mtw_strerror(status));
  throw new MetronError(status, code, msg, pos, line, col);
}

// malloc "bytes" (at least 1) or throw MT_ENOMEM.
export function alloc(m, bytes) {
  const ptr = m._malloc(Math.max(1, bytes));
  if (!ptr) throw new MetronError(-1, 'MT_ENOMEM', 'out of memory', 0, 0, 0);
  return ptr;
}

// Copy a typed array into a fresh heap block; the caller frees it.
export function copyIn(m, arr) {
  const bytes = new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength);
  const ptr = alloc(m, bytes.length);
  m.HEAPU8.set(bytes, ptr);
  return ptr;
}

// A NUL-terminated UTF-8 copy of string "s"; the caller frees it.
export function copyString(m, s) {
  const n = m.lengthBytesUTF8(s) + 1;
  const ptr = alloc(m, n);
  m.stringToUTF8(s, ptr, n);
  return ptr;
}

// Copies of heap data as independent typed arrays (the heap may move when it
// grows, so views must never outlive the call that made them).
export const f64Out = (m, ptr, n) => new Float64Array(m.HEAPF64.buffer, ptr, n).slice();
export const u8Out = (m, ptr, n) => new Uint8Array(m.HEAPU8.buffer, ptr, n).slice();
export const u32Out = (m, ptr, n) => new Uint32Array(m.HEAPU32.buffer, ptr, n).slice();

// Special-value kinds, as in mt/types.h.
export const SV = Object.freeze({ NONE: 0, MISSING: 1, OVER_POS: 2, OVER_NEG: 3, BREAK: 4, ERROR: 5 });
export const SV_NAMES = Object.freeze(['', 'missing', '+over', '-over', 'break', 'error']);

// Kind of one double, decoded in JS from its bits (no wasm call needed).
const bits = new DataView(new ArrayBuffer(8));
export function specialKind(v) {
  if (Number.isFinite(v)) return SV.NONE;
  if (v === Infinity) return SV.OVER_POS;
  if (v === -Infinity) return SV.OVER_NEG;
  bits.setFloat64(0, v, true);
  const hi = bits.getUint32(4, true), lo = bits.getUint32(0, true);
  if (hi === 0x7ff80000 && (lo & ~0xff) === 0 && (lo & 0xff) >= 1 && (lo & 0xff) <= 5) return lo & 0xff;
  return SV.ERROR;
}
