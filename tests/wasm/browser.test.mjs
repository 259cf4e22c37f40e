// The same WebAssembly module and JS API, loaded by a real browser (Debian's
// Chromium driven by playwright-core) from a static loopback server: the
// portal and the offline viewer depend on this.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

const dir = process.env.METRON_WASM_DIR;
const CHROMIUM = process.env.METRON_CHROMIUM || '/usr/bin/chromium';

function serve(root) {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    const file = path.join(root, path.normalize(url.pathname).replace(/^(\.\.[/\\])+/, ''));
    if (url.pathname === '/') {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<!doctype html><title>metron wasm</title>');
      return;
    }
    fs.readFile(file, (err, data) => {
      if (err) { res.writeHead(404); res.end(); return; }
      res.writeHead(200, { 'content-type': file.endsWith('.mjs') ? 'text/javascript' : 'application/octet-stream' });
      res.end(data);
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

test('the wasm module and its JS API work in Chromium', { skip: !fs.existsSync(CHROMIUM) && 'no chromium' }, async () => {
  const server = await serve(dir);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${server.address().port}/`);
    const result = await page.evaluate(async () => {
      const { loadMetron, MetronError } = await import('/metron.mjs');
      const metron = await loadMetron();
      const e = metron.expr.compile('SQR(SQ(CH1)+SQ(CH2))');
      const out = Array.from(e.eval([new Float64Array([3, 5]), new Float64Array([4, 12])]));
      e.free();
      let err = null;
      try { metron.expr.compile('CH1 + )'); } catch (x) { err = { isMetron: x instanceof MetronError, code: x.code, pos: x.pos }; }
      const file = metron.hok.write({
        meta: { title: 'browser' },
        channels: [{ id: 1, name: 'T', unit: 'degC' }],
        times: new Float64Array([0, 60000, 120000]),
        values: [new Float64Array([20.5, 21, 19.75])],
      }, { format: 'hok2' });
      const r = metron.hok.read(file);
      const back = Array.from(r.values(0));
      r.close();
      return { out, err, back, plans: Object.keys(metron.licence.planTable()).length > 0 };
    });
    assert.deepEqual(result.out, [5, 13]);
    assert.deepEqual(result.err, { isMetron: true, code: 'MT_ESYNTAX', pos: 6 });
    assert.deepEqual(result.back, [20.5, 21, 19.75]);
    assert.equal(result.plans, true);
  } finally {
    await browser.close();
    server.close();
  }
});
