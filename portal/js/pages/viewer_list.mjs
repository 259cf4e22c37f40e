// List mode (V1): the samples of up to 32 channels as a table, one row per
// time, paged with the data API's "next" (GET /api/v1/data/raw).
import { t, language, formatNumber } from '../i18n.mjs';
import { api, errorMessage } from '../api.mjs';
import { h, fill } from '../ui/dom.mjs';
import { dateTime, value as fmtValue } from '../chart/format.mjs';
import { channelLabel } from './viewer_picker.mjs';

export const PAGE_ROWS = 200;

function cell(v, decimals) {
  if (v === null || v === undefined) return h('td', { class: 'num vw-none' });
  if (typeof v === 'string') {
    return h('td', { class: 'num vw-special', 'data-special': v, text: t(`chart.special.${v}`) });
  }
  return h('td', { class: 'num', text: fmtValue(language(), v, decimals) });
}

/** Render list mode for "channels" over [from, to) (ms) into "box". Returns a cleanup function. */
export function listMode(box, { channels, from, to }) {
  const stack = []; // "from" (µs) of the pages before the current one
  let cur = Math.round(from * 1000);
  let gen = 0;
  const toUs = Math.round(to * 1000);
  const ids = channels.map((c) => c.id).join(',');
  const info = h('span', { class: 'muted', 'data-testid': 'list-info', 'aria-live': 'polite' });
  const prev = h('button', { type: 'button', class: 'small', text: t('viewer.list.previous'), 'data-testid': 'list-prev' });
  const next = h('button', { type: 'button', class: 'small', text: t('viewer.list.next'), 'data-testid': 'list-next' });
  const tableBox = h('div', { class: 'vw-list' });
  fill(box, h('div', { class: 'vw-list-tools' }, prev, next, info), tableBox);

  async function show(fromUs) {
    const my = ++gen;
    prev.disabled = next.disabled = true;
    info.textContent = t('chart.loading');
    const r = await api.get(`/data/raw?channels=${ids}&from=${fromUs}&to=${toUs}&limit=${PAGE_ROWS}`);
    if (my !== gen) return;
    if (r.status !== 200) {
      info.textContent = '';
      fill(tableBox, h('p', { class: 'form-error', role: 'alert', text: errorMessage(r.body, r.status) }));
      return;
    }
    cur = fromUs;
    const body = r.body;
    const byId = new Map(body.channels.map((c) => [String(c.id), c.v]));
    const cols = channels.map((c) => byId.get(String(c.id)) || []);
    const lc = language();
    const whole = body.t.every((tu) => tu % 1000000 === 0);
    const first = stack.length * PAGE_ROWS;
    info.textContent = body.t.length
      ? t('viewer.list.rows', { from: formatNumber(first + 1), to: formatNumber(first + body.t.length) })
      : t('viewer.list.none');
    fill(tableBox, body.t.length ? h('div', { class: 'table-wrap' }, h('table', { class: 'table vw-table', 'data-testid': 'list-table' },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col', text: t('viewer.list.time') }),
        channels.map((c) => h('th', { scope: 'col', class: 'num', text: channelLabel(c) })))),
      h('tbody', {}, body.t.map((tu, i) => h('tr', {},
        h('td', { class: 'vw-time', 'data-us': String(tu), text: dateTime(lc, tu / 1000, { ms: !whole }) }),
        cols.map((v, k) => cell(v[i], channels[k].decimals))))))) : h('p', { class: 'empty', text: t('viewer.list.none') }));
    prev.disabled = stack.length === 0;
    next.disabled = body.next === null || body.next === undefined;
    next.onclick = () => { stack.push(cur); show(body.next); };
  }
  prev.addEventListener('click', () => { if (stack.length) show(stack.pop()); });
  show(cur);
  return () => { gen++; };
}
