// The dialog of "Add to dashboard" on the monitor (M6; the button is
// monitor_add.mjs, which loads this module, the "dashboards" catalogue and
// style sheet and the group's dashboards before calling addDialog). The
// server puts the panel in the first free place of the grid
// (POST /dashboards/{id}/panels).
import { t, formatNumber } from '../i18n.mjs';
import { api, errorMessage } from '../api.mjs';
import { h } from '../ui/dom.mjs';
import { showDialog } from '../ui/dialog.mjs';
import { toast } from '../ui/toast.mjs';
import { hrefFor } from '../router.mjs';
import { WINDOWS, valuesHeight } from './grid.mjs';

const MAX = 8;

/** The dialog for group "gid" with its dashboards "list" (GET /groups/{id}/dashboards). */
export async function addDialog(gid, list, channels, deviceName) {
  const { items, quota, can_edit: canEdit } = list;
  if (!canEdit) { toast(t('dash.add_no_right'), 'error'); return; }
  const roomForNew = items.length < quota.limit;
  if (!items.length && !roomForNew) { toast(t('dash.add_no_plan'), 'error'); return; }
  await showDialog({
    title: t('dash.add_to_dashboard'),
    wide: true,
    onOpen(dlg, close) {
      const target = h('select', { id: 'ma-dash', 'data-testid': 'add-dashboard' },
        items.map((d) => h('option', { value: String(d.id), text: d.name })),
        roomForNew ? h('option', { value: 'new', text: t('dash.add_new_dashboard') }) : null);
      const newName = h('input', { id: 'ma-name', maxlength: 100, value: deviceName || t('dash.title'), 'data-testid': 'add-new-name' });
      const newRow = h('div', { class: 'field' }, h('label', { for: 'ma-name', text: t('dash.name') }), newName);
      const kind = h('select', { id: 'ma-kind', 'data-testid': 'add-kind' },
        ['graph_value', 'graph', 'value'].map((k) => h('option', { value: k, text: t(`dash.kind.${k}`) })));
      const win = h('select', { id: 'ma-window' }, WINDOWS.map((w) => h('option', { value: w, text: t(`dash.window.${w}`), selected: w === 'day' })));
      const winRow = h('div', { class: 'field' }, h('label', { for: 'ma-window', text: t('dash.window_label') }), win);
      const boxes = channels.map((c, i) => h('input', { type: 'checkbox', value: String(c.id), checked: i < MAX }));
      const count = h('p', { class: 'help' });
      const err = h('p', { class: 'form-error', role: 'alert', hidden: true });
      const sync = () => {
        newRow.hidden = target.value !== 'new';
        winRow.hidden = kind.value === 'value';
        const n = boxes.filter((b) => b.checked).length;
        boxes.forEach((b) => { b.disabled = !b.checked && n >= MAX; });
        count.textContent = t('dash.channels_count', { n: formatNumber(n), max: formatNumber(MAX) });
      };
      [target, kind].forEach((x) => x.addEventListener('change', sync));
      boxes.forEach((b) => b.addEventListener('change', sync));
      const form = h('form', { class: 'form', novalidate: true, 'data-testid': 'add-form' },
        h('div', { class: 'field' }, h('label', { for: 'ma-dash', text: t('dash.add_which') }), target),
        newRow,
        h('div', { class: 'field' }, h('label', { for: 'ma-kind', text: t('dash.kind_label') }), kind),
        winRow,
        h('fieldset', { class: 'dash-check-group' }, h('legend', { text: t('dash.channels') }), count,
          h('div', { class: 'checks' }, channels.map((c, i) => h('label', { class: 'check' }, boxes[i],
            h('span', { text: `${c.name || c.key}${c.unit ? ` [${c.unit}]` : ''}` }))))),
        err,
        h('div', { class: 'form-buttons' },
          h('button', { type: 'button', onclick: () => close(null), text: t('common.cancel') }),
          h('button', { type: 'submit', class: 'primary', 'data-testid': 'add-save', text: t('dash.add') })));
      sync();
      form.addEventListener('submit', async (e) => {
        e.preventDefault();
        err.hidden = true;
        const ids = boxes.filter((b) => b.checked).map((b) => Number(b.value));
        if (!ids.length) { err.textContent = t('dash.need_channels'); err.hidden = false; return; }
        let id = Number(target.value);
        let name = (items.find((d) => d.id === id) || {}).name;
        if (target.value === 'new') {
          name = newName.value.trim();
          const made = await api.post(`/groups/${gid}/dashboards`, { name });
          if (made.status !== 201) { err.textContent = errorMessage(made.body, made.status); err.hidden = false; return; }
          id = made.body.id;
        }
        const panel = { kind: kind.value, channels: ids };
        if (kind.value !== 'value') panel.window = win.value;
        else panel.h = valuesHeight(ids.length);
        const res = await api.post(`/dashboards/${id}/panels`, { panel });
        if (res.status !== 201) { err.textContent = errorMessage(res.body, res.status); err.hidden = false; return; }
        close(true);
        const note = toast(t('dash.added_to', { name }), 'ok', 8000);
        note.append(' ', h('a', { href: hrefFor(`dashboards/${id}`), class: 'toast-link', text: t('dash.open') }));
      });
      dlg.querySelector('.dialog-body').append(form);
    },
  });
}
