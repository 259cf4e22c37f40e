// Tables that turn into cards on a phone (each cell carries its column's
// label in data-label, shown by CSS under 640 px).
import { h } from './dom.mjs';
import { t } from '../i18n.mjs';

/**
 * columns: [{ label, value(row) -> string | Node | null, class? }]; rows: any[].
 * Options: empty (text when there are no rows), caption.
 */
export function table(columns, rows, { empty, caption, rowClass } = {}) {
  if (!rows.length) return h('p', { class: 'empty', text: empty || t('common.empty') });
  return h('div', { class: 'table-wrap' }, h('table', { class: 'table' },
    caption ? h('caption', { text: caption }) : null,
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col', class: c.class, text: c.label })))),
    h('tbody', {}, rows.map((r) => h('tr', { class: rowClass ? rowClass(r) : null },
      columns.map((c) => {
        const v = c.value(r);
        return h('td', { class: c.class, 'data-label': c.label },
          v instanceof Node ? v : (v === null || v === undefined || v === '' ? '—' : String(v)));
      }))))));
}
