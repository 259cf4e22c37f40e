// tests/portal/defects.mjs finds what it is meant to find, on pages made for
// it (no server): a word cut in two across lines, in a text or in a table
// card's CSS heading, but not one with a soft hyphen, not Chinese, not an
// address; the browser's own file button, but not one kept out of sight.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { openBrowser } from './browser.mjs';
import { defects } from './defects.mjs';

let browser;
let page;
before(async () => { ({ browser, page } = await openBrowser({ viewport: { width: 390, height: 844 } })); });
after(async () => { if (browser) await browser.close(); });

const show = (body) => page.setContent(`<!doctype html><html lang="de"><style>
  body { margin: 0; font: 16px sans-serif; }
  .narrow { width: 100px; overflow-wrap: anywhere; }
  td::before { content: attr(data-label); display: block; font-size: 12px; overflow-wrap: anywhere; }
  td { width: 70px; max-width: 70px; padding: 0; }
  .sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
</style><main id="main">${body}</main>`);

test('a word cut across two lines without a hyphen is found, in a text and in a card\'s CSS heading', async () => {
  await show('<p class="narrow">Fernbedienung</p>');
  assert.deepEqual(await defects(page), ['the word "Fernbedienung" is cut across two lines']);
  await show('<table><tr><td data-label="Fernbedienung">Ja</td></tr></table>');
  assert.deepEqual(await defects(page), ['the word "Fernbedienung" is cut across two lines']);
});

test('a soft hyphen, Chinese, an address and a word that fits are not a cut word', async () => {
  await show(`<p class="narrow">Fern\u00adbedienung</p>
    <table><tr><td data-label="Fern\u00adbedienung">Ja</td></tr></table>
    <p class="narrow">测量组测量组测量组测量组</p>
    <p class="narrow">https://example.test/api/v1</p>
    <p class="narrow">Ja Nein</p>`);
  assert.deepEqual(await defects(page), []);
});

test('the browser\'s own file button is found; one kept out of sight beside the page\'s own is not', async () => {
  await show('<label for="f">Bilddatei</label><input type="file" id="f">');
  const found = await defects(page);
  assert.equal(found.length, 1, JSON.stringify(found));
  assert.match(found[0], /^<input type="file" id="f"> shows the browser's own words$/);
  await show('<label for="f">Bilddatei</label><button type="button">Datei wählen …</button>'
    + '<input type="file" id="f" class="sr-only" tabindex="-1">');
  assert.deepEqual(await defects(page), []);
});
