// Metron core in WebAssembly: the JavaScript API (filled in by module).
import createCore from './metron_core.mjs';

export async function loadMetron(options = {}) {
  const m = await createCore(options);
  return { module: m };
}
