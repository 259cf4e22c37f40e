// Tables that turn into cards on a phone (each cell carries its column's
// label in data-label, shown by CSS under 640 px). With the option across,
// a row's card is headed by its first cell and shows the others side by
// side: a few short values a person compares (the plans, a limit's use).
import { h } from './dom.mjs';
import { t } from '../i18n.mjs';

/**
 * columns: [{ label, value(row) -> string | Node | null, class? }]; rows: any[].
 * A column of sentences takes class 'prose': on a phone its label is above
 * them and they read from the left edge, as the page's other text does
 * (the cards' short values sit right of their labels).
 * Options: empty (text when there are no rows), caption, rowClass(row),
 * across (on a phone the other cells side by side under the first).
 */
export function table(columns, rows, { empty, caption, rowClass, across } = {}) {
  if (!rows.length) return h('p', { class: 'empty', text: empty || t('common.empty') });
  return h('div', { class: 'table-wrap' }, h('table', { class: across ? 'table across' : 'table' },
    caption ? h('caption', { text: caption }) : null,
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col', class: c.class, text: c.label })))),
    h('tbody', {}, rows.map((r) => h('tr', { class: rowClass ? rowClass(r) : null },
      columns.map((c) => {
        const v = c.value(r);
        const none = v === null || v === undefined || v === '';
        // data-empty: a phone's card leaves out an empty actions cell (it has
        // no label there, so its dash stood alone under a report's run).
        return h('td', { class: c.class, 'data-label': c.label, 'data-empty': none ? '' : null },
          v instanceof Node ? v : (none ? '—' : String(v)));
      }))))));
}
