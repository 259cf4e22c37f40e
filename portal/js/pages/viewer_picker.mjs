// Choosing channels for the viewer (V2): the measurement groups' apps →
// devices → channels from the monitor data, the computed channels, and the
// recently viewed channels (D2); at most 32 in all.
import { t, formatNumber } from '../i18n.mjs';
import { api, errorMessage } from '../api.mjs';
import { session } from '../session.mjs';
import { h, fill } from '../ui/dom.mjs';
import { showDialog } from '../ui/dialog.mjs';

export const MAX_CHANNELS = 32;

/** A channel's label: "name [unit]". */
export const channelLabel = (c) => (c.unit ? `${c.name} [${c.unit}]` : c.name);

/** The 10 most recently viewed channels (D2): [{id, name, unit, key, device_id, viewed_at}]. */
export async function channelHistory() {
  const r = await api.get('/me/channel-history');
  return r.status === 200 && Array.isArray(r.body) ? r.body : [];
}

/**
 * Names, units and decimals of channel ids: from the current group's
 * monitor data, the history, then GET /channels/{id}; an id nobody can name
 * keeps "#id". Returns a Map id -> {id, name, unit, decimals}.
 */
export async function describeChannels(ids, known = new Map()) {
  const out = new Map();
  for (const id of ids) if (known.has(id)) out.set(id, known.get(id));
  let missing = ids.filter((id) => !out.has(id));
  if (missing.length && session.groupId) {
    const r = await api.get(`/groups/${session.groupId}/monitor`);
    if (r.status === 200) {
      for (const g of monitorChannels(r.body)) {
        for (const c of g.channels) if (missing.includes(c.id)) out.set(c.id, c);
      }
    }
  }
  missing = ids.filter((id) => !out.has(id));
  if (missing.length) {
    for (const c of await channelHistory()) {
      if (missing.includes(c.id)) out.set(c.id, { id: c.id, name: c.name || c.key, unit: c.unit || '' });
    }
  }
  missing = ids.filter((id) => !out.has(id));
  await Promise.all(missing.map(async (id) => {
    const r = await api.get(`/channels/${id}`);
    out.set(id, r.status === 200 && r.body
      ? { id, name: r.body.name || r.body.key || `#${id}`, unit: r.body.unit || '', decimals: r.body.decimals ?? null }
      : { id, name: `#${id}`, unit: '' });
  }));
  return out;
}

function monitorChannels(body) {
  const groups = [];
  for (const app of body.apps || []) {
    for (const dev of app.devices || []) {
      groups.push({
        title: `${app.name} · ${dev.name || `${dev.model} ${dev.serial}`}`,
        channels: (dev.channels || []).map((c) => ({ id: c.id, name: c.name || c.key, unit: c.unit || '', decimals: c.decimals ?? null,
          key: c.key, acquired: c.selected !== false })),
      });
    }
  }
  if ((body.computed || []).length) {
    groups.push({
      title: t('viewer.picker.computed'),
      channels: body.computed.map((c) => ({ id: c.id, name: c.name || c.key || `#${c.id}`, unit: c.unit || '',
        key: c.key || '', acquired: true })),
    });
  }
  return groups;
}

/**
 * The picker dialog. "selected": [{id, name, unit}] preselected; "max": how
 * many may be chosen. Resolves the chosen channels in order, or null.
 */
export function pickChannels({ selected = [], max = MAX_CHANNELS, title } = {}) {
  const chosen = new Map(selected.map((c) => [c.id, c]));
  const order = selected.map((c) => c.id);
  let boxes = [];
  return showDialog({
    title: title || t('viewer.picker.title'),
    wide: true,
    buttons: [
      { label: t('chart.cancel'), value: null },
      { label: t('viewer.picker.use'), value: 'ok', primary: true },
    ],
    onOpen(dlg) {
      const count = h('span', { class: 'muted', 'data-testid': 'picker-count' });
      const search = h('input', { type: 'search', placeholder: t('viewer.picker.search'),
        'aria-label': t('viewer.picker.search'), 'data-testid': 'picker-search' });
      const groupSel = h('select', { 'aria-label': t('viewer.picker.group'), 'data-testid': 'picker-group' },
        (session.groups || []).map((g) => h('option', { value: String(g.id), text: g.name,
          selected: g.id === session.groupId })));
      const recent = h('div', { class: 'vw-picker-section' });
      const list = h('div', { class: 'vw-picker-list', 'data-testid': 'picker-list' });
      const sync = () => {
        count.textContent = t('viewer.picker.count', { n: formatNumber(chosen.size), max });
        for (const b of boxes) b.disabled = !b.checked && chosen.size >= max;
      };
      const box = (c) => {
        const cb = h('input', { type: 'checkbox', value: String(c.id), checked: chosen.has(c.id),
          'data-channel': String(c.id) });
        cb.addEventListener('change', () => {
          // the same channel may be listed twice (recent + its device): keep both boxes in step
          for (const other of boxes) if (other.value === cb.value) other.checked = cb.checked;
          if (cb.checked) { chosen.set(c.id, c); if (!order.includes(c.id)) order.push(c.id); } else chosen.delete(c.id);
          sync();
        });
        boxes.push(cb);
        return h('label', { class: ['check', 'vw-pick', c.acquired === false && 'muted'],
          'data-name': `${c.name} ${c.key || ''}`.toLowerCase() },
        cb, h('span', { text: channelLabel(c) }), c.key && c.key !== c.name ? h('span', { class: 'muted small-text', text: c.key }) : null);
      };
      const filter = () => {
        const q = search.value.trim().toLowerCase();
        for (const l of dlg.querySelectorAll('.vw-pick')) l.hidden = q !== '' && !l.dataset.name.includes(q);
      };
      search.addEventListener('input', filter);

      async function loadGroup() {
        boxes = boxes.filter((b) => recent.contains(b));
        fill(list, h('p', { class: 'muted', text: t('chart.loading') }));
        const id = Number(groupSel.value);
        if (!id) { fill(list, h('p', { class: 'empty', text: t('viewer.picker.noGroups') })); return; }
        const r = await api.get(`/groups/${id}/monitor`);
        if (r.status !== 200) { fill(list, h('p', { class: 'form-error', text: errorMessage(r.body, r.status) })); return; }
        const groups = monitorChannels(r.body);
        fill(list, groups.length ? groups.map((g) => h('fieldset', { class: 'vw-picker-group' },
          h('legend', { text: g.title }), h('div', { class: 'checks' }, g.channels.map(box))))
          : h('p', { class: 'empty', text: t('viewer.picker.noChannels') }));
        filter();
        sync();
      }
      groupSel.addEventListener('change', loadGroup);
      channelHistory().then((hist) => {
        if (!hist.length) return;
        fill(recent, h('h3', { text: t('viewer.picker.recent') }), h('div', { class: 'checks' },
          hist.map((c) => box({ id: c.id, name: c.name || c.key, unit: c.unit || '', key: c.key }))));
        filter();
        sync();
      });
      dlg.querySelector('.dialog-body').append(
        h('div', { class: 'vw-picker-tools' }, groupSel, search, count), recent, list);
      loadGroup();
      sync();
    },
  }).then((v) => (v === 'ok' ? order.filter((id) => chosen.has(id)).map((id) => chosen.get(id)) : null));
}
