// A sentence in the reader's language for a file that could not be opened
// (the offline viewer and the drive's file view): the wasm core's error
// codes (MT_ETRUNC, ...) are never shown, each has its own sentence in the
// "viewer" catalogue (offline.error.*).
const KEYS = {
  MT_ETRUNC: 'offline.error.truncated',
  MT_ECORRUPT: 'offline.error.damaged',
  MT_ECHECKSUM: 'offline.error.damaged',
  MT_EFORMAT: 'offline.error.format',
  MT_EVERSION: 'offline.error.version',
  MT_ESYNTAX: 'offline.error.syntax',
  MT_EORDER: 'offline.error.order',
  MT_ELIMIT: 'offline.error.limit',
  MT_ERANGE: 'offline.error.limit',
  MT_ENOMEM: 'offline.error.memory',
};

/**
 * t: the catalogue's t(key, params); number(n): n formatted for the
 * language. e: what opening the file threw.
 */
export function fileErrorText(e, t, number) {
  if (e && e.code === 'unknown_format') return t('offline.error.format');
  if (e && e.name === 'MetronError') {
    const key = KEYS[e.code] || 'offline.error.read';
    return t(key, { pos: number(e.pos || 0), line: number(e.line || 0) });
  }
  if (e && (e.name === 'RangeError' || /memory/i.test(String(e.message)))) return t('offline.error.memory');
  return t('offline.error.read');
}
