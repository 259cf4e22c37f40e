// The files under a folder, for the code-rule tests: every file whose name
// "keep" accepts (a RegExp or a function of the name), in name order, not
// going into a folder whose name "skipDir" accepts nor taking a file whose
// path "skipFile" accepts. A folder that does not exist has none.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export function filesUnder(dir, keep, { skipDir = () => false, skipFile = () => false } = {}) {
  const accepts = typeof keep === 'function' ? keep : (name) => keep.test(name);
  const out = [];
  const go = (d) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) {
        if (!skipDir(name)) go(p);
      } else if (accepts(name) && !skipFile(p)) {
        out.push(p);
      }
    }
  };
  if (existsSync(dir)) go(dir);
  return out;
}
