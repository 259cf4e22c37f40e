// Editing a dashboard's panels (B1, B3): the panel dialog (kind, title,
// window, channels of the group, picture chosen from the account's or
// uploaded), and the settings of one value on a picture (text size,
// colour, decimals, unit, name shown). Refusals of the server come back as
// sentences of errorMessage(); nothing here shows a code.
import { t, formatNumber } from '../i18n.mjs';
import { api, errorMessage } from '../api.mjs';
import { h, fill } from '../ui/dom.mjs';
import { showDialog } from '../ui/dialog.mjs';
import { filePick } from '../ui/file_pick.mjs';
import { pictureUrl } from './panels.mjs';
import { WINDOWS, valuesHeight } from './grid.mjs';

export const KINDS = ['graph_value', 'graph', 'value', 'picture', 'image_values', 'alarm'];
const MAX_PANEL_CHANNELS = 8;
const MAX_VALUES = 32;
const PICTURE_MAX = 5 * 1024 * 1024;

/**
 * The group's channels for the pickers: [{id, label, unit, group}] from the
 * monitor (apps, devices, their channels; computed channels).
 */
export async function groupChannels(groupId) {
  const r = await api.get(`/groups/${groupId}/monitor`);
  if (r.status !== 200) return [];
  const out = [];
  for (const app of r.body.apps || []) {
    for (const d of app.devices || []) {
      for (const c of d.channels || []) {
        out.push({ id: c.id, label: `${c.name || c.key} (${c.key})`, unit: c.unit || '',
          group: `${app.name} · ${d.name || d.model}` });
      }
    }
  }
  for (const c of r.body.computed || []) {
    out.push({ id: c.id, label: `${c.name || c.key} (${c.key})`, unit: c.unit || '', group: t('dash.computed_channels') });
  }
  return out;
}

/** Checkboxes of channels grouped by device; "max" at most. */
function channelChecks(channels, chosen, max, onChange) {
  const set = new Set(chosen);
  const count = h('p', { class: 'help', 'data-testid': 'channel-count' });
  const boxes = [];
  const groups = new Map();
  for (const c of channels) {
    if (!groups.has(c.group)) groups.set(c.group, []);
    groups.get(c.group).push(c);
  }
  const update = () => {
    const n = boxes.filter((b) => b.checked).length;
    count.textContent = t('dash.channels_count', { n: formatNumber(n), max: formatNumber(max) });
    boxes.forEach((b) => { b.disabled = !b.checked && n >= max; });
    if (onChange) onChange();
  };
  const el = h('div', { class: 'dash-checks' }, [...groups].map(([g, list]) => h('fieldset', { class: 'dash-check-group' },
    h('legend', { text: g }),
    list.map((c) => {
      const box = h('input', { type: 'checkbox', value: String(c.id), checked: set.has(c.id) });
      box.addEventListener('change', update);
      boxes.push(box);
      return h('label', { class: 'check' }, box, h('span', { text: c.unit ? `${c.label} [${c.unit}]` : c.label }));
    }))));
  update();
  return {
    el: h('div', {}, count, channels.length ? el : h('p', { class: 'empty', text: t('dash.no_channels') })),
    chosen: () => boxes.filter((b) => b.checked).map((b) => Number(b.value)),
  };
}

/**
 * The account's pictures to choose from, and an upload (kept once per
 * account, counted against the storage quota). onPick(picture).
 */
function picturePicker(current, onPick) {
  const list = h('div', { class: 'dash-pics', role: 'listbox', 'aria-label': t('dash.pictures') });
  const status = h('p', { class: 'help', role: 'status' });
  const err = h('p', { class: 'form-error', role: 'alert', hidden: true });
  const pick = filePick({ accept: 'image/png,image/jpeg,image/gif,image/webp', 'data-testid': 'picture-file',
    'aria-label': t('dash.upload_picture') });
  const file = pick.input;
  let chosen = current;
  let items = [];

  function draw() {
    fill(list, items.length ? items.map((p) => h('button', {
      type: 'button', class: ['dash-pic', chosen === p.id && 'chosen'], role: 'option',
      'aria-selected': String(chosen === p.id), 'data-picture': String(p.id), title: p.name || '',
      onclick: () => { chosen = p.id; onPick(p); draw(); },
    }, h('img', { src: pictureUrl(p), alt: p.name || t('dash.kind.picture'), loading: 'lazy' }),
    h('span', { class: 'dash-pic-name', text: p.name || `${p.width} × ${p.height}` }))) : h('p', { class: 'empty', text: t('dash.no_pictures') }));
  }

  async function load() {
    const r = await api.get('/dashboard-pictures');
    if (r.status === 200) {
      items = r.body.items;
      const s = r.body.storage;
      status.textContent = t('dash.storage', { used: formatBytes(s.used), limit: formatBytes(s.limit) });
    }
    draw();
  }

  file.addEventListener('change', async () => {
    const f = file.files && file.files[0];
    err.hidden = true;
    if (!f) return;
    if (f.size > PICTURE_MAX) {
      err.textContent = t('dash.picture_too_large');
      err.hidden = false;
      return;
    }
    status.textContent = t('dash.uploading', { name: f.name });
    const r = await api.upload(`/dashboard-pictures?name=${encodeURIComponent(f.name)}`, f, {
      onProgress: (done, total) => { status.textContent = t('dash.uploading_pct', { name: f.name, pct: total ? Math.round((100 * done) / total) : 0 }); },
    });
    pick.reset();
    if (r.status !== 200 && r.status !== 201) {
      err.textContent = errorMessage(r.body, r.status);
      err.hidden = false;
      status.textContent = '';
      return;
    }
    chosen = r.body.id;
    onPick(r.body);
    await load();
    status.textContent = r.status === 200 ? t('dash.picture_known') : t('dash.picture_uploaded');
  });
  load();
  return h('div', { class: 'dash-picker' },
    h('div', { class: 'field' }, h('span', { class: 'label', text: t('dash.upload_picture') }), pick.box),
    err, status, list);
}

export function formatBytes(n) {
  if (!(n >= 0)) return '';
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  let x = n;
  while (x >= 1000 && i < units.length - 1) { x /= 1000; i++; }
  return `${formatNumber(x, { maximumFractionDigits: i ? 1 : 0 })} ${units[i]}`;
}

/**
 * The panel dialog. "panel" null: a new panel. Resolves to the panel's new
 * members (kind, title, window, channels, picture_id, values) or null.
 * "save(p)" sends it and returns the API reply: a refusal stays in the
 * dialog as a sentence.
 */
export async function panelDialog({ panel, groupId, save }) {
  const channels = await groupChannels(groupId);
  const p = panel ? { ...panel } : { kind: 'graph_value', title: '', window: 'day', channels: [] };
  let picture = p.picture_id || null;
  return showDialog({
    title: panel ? t('dash.edit_panel') : t('dash.add_panel'),
    wide: true,
    onOpen(dlg, close) {
      const kind = h('select', { id: 'dash-kind', 'data-testid': 'panel-kind', disabled: !!panel },
        KINDS.map((k) => h('option', { value: k, text: t(`dash.kind.${k}`), selected: k === p.kind })));
      const kindHelp = h('p', { class: 'help' });
      const title = h('input', { id: 'dash-title', maxlength: 100, value: p.title || '', 'data-testid': 'panel-title' });
      const windowSel = h('select', { id: 'dash-window', 'data-testid': 'panel-window' },
        WINDOWS.map((w) => h('option', { value: w, text: t(`dash.window.${w}`), selected: w === (p.window || 'day') })));
      const err = h('p', { class: 'form-error', role: 'alert', hidden: true, 'data-testid': 'panel-error' });
      const valueIds = (p.values || []).map((v) => v.channel_id);
      let checks = null;
      const checksBox = h('div', {});
      const pickBox = h('div', {});
      const rows = {
        window: h('div', { class: 'field' }, h('label', { for: 'dash-window', text: t('dash.window_label') }), windowSel),
        channels: h('div', { class: 'field' }, h('span', { class: 'dash-field-label', text: t('dash.channels') }), checksBox),
        picture: h('div', { class: 'field' }, h('span', { class: 'dash-field-label', text: t('dash.picture') }), pickBox),
      };
      const drawKind = () => {
        const k = kind.value;
        kindHelp.textContent = t(`dash.kind_help.${k}`);
        rows.window.hidden = !(k === 'graph_value' || k === 'graph');
        rows.channels.hidden = k === 'picture' || k === 'alarm';
        rows.picture.hidden = !(k === 'picture' || k === 'image_values');
        const max = k === 'image_values' ? MAX_VALUES : MAX_PANEL_CHANNELS;
        const chosen = checks ? checks.chosen() : (k === 'image_values' ? valueIds : (p.channels || []));
        checks = channelChecks(channels, chosen.slice(0, max), max);
        fill(checksBox, checks.el);
      };
      kind.addEventListener('change', drawKind);
      fill(pickBox, picturePicker(picture, (pic) => { picture = pic.id; }));
      drawKind();
      const form = h('form', { class: 'form', novalidate: true, 'data-testid': 'panel-form' },
        h('div', { class: 'field' }, h('label', { for: 'dash-kind', text: t('dash.kind_label') }), kind, kindHelp),
        h('div', { class: 'field' }, h('label', { for: 'dash-title', text: t('dash.title_label') }), title,
          h('p', { class: 'help', text: t('dash.title_help') })),
        rows.window, rows.channels, rows.picture, err,
        h('div', { class: 'form-buttons' },
          h('button', { type: 'button', onclick: () => close(null), text: t('common.cancel') }),
          h('button', { type: 'submit', class: 'primary', 'data-testid': 'panel-save', text: panel ? t('common.save') : t('dash.add') })));
      form.addEventListener('submit', async (e) => {
        e.preventDefault();
        err.hidden = true;
        const k = kind.value;
        const out = { kind: k, title: title.value.trim() };
        const chosen = checks.chosen();
        if (k === 'graph_value' || k === 'graph') out.window = windowSel.value;
        if (k === 'graph_value' || k === 'graph' || k === 'value') {
          if (!chosen.length) { err.textContent = t('dash.need_channels'); err.hidden = false; return; }
          out.channels = chosen;
          if (!panel && k === 'value') out.h = valuesHeight(chosen.length);
        }
        if (k === 'picture' || k === 'image_values') {
          if (!picture) { err.textContent = t('dash.need_picture'); err.hidden = false; return; }
          out.picture_id = picture;
        }
        if (k === 'image_values') {
          // Values kept where they were; new ones in a column from the top left.
          const old = new Map((p.values || []).map((v) => [v.channel_id, v]));
          let slot = 0;
          out.values = chosen.map((id) => old.get(id) || {
            channel_id: id, x: 0.04, y: Math.min(0.92, 0.04 + 0.1 * slot++), size: 24, colour: '#111111',
            decimals: null, unit: null, show_name: true,
          });
        }
        const r = await save(out);
        if (r && r.status >= 300) {
          err.textContent = errorMessage(r.body, r.status);
          err.hidden = false;
          return;
        }
        close(out);
      });
      dlg.querySelector('.dialog-body').append(form);
      title.focus();
    },
  });
}

/**
 * The settings of one value on a picture (B3). Resolves to the new value,
 * 'remove', or null.
 */
export function valueDialog(value, channel) {
  return showDialog({
    title: t('dash.value_title', { name: channel ? channel.name || channel.key : String(value.channel_id) }),
    onOpen(dlg, close) {
      const size = h('input', { id: 'dv-size', type: 'number', min: 8, max: 96, step: 1, value: String(value.size), 'data-testid': 'value-size' });
      const colour = h('input', { id: 'dv-colour', type: 'color', value: value.colour, 'data-testid': 'value-colour' });
      const decimals = h('select', { id: 'dv-decimals', 'data-testid': 'value-decimals' },
        h('option', { value: '', text: t('dash.decimals_channel'), selected: value.decimals === null }),
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((d) => h('option', { value: String(d), text: formatNumber(d), selected: value.decimals === d })));
      const unit = h('input', { id: 'dv-unit', maxlength: 16, value: value.unit === null ? '' : value.unit,
        placeholder: channel && channel.unit ? channel.unit : '', 'data-testid': 'value-unit' });
      const showName = h('input', { id: 'dv-name', type: 'checkbox', checked: !!value.show_name });
      const err = h('p', { class: 'form-error', role: 'alert', hidden: true });
      const form = h('form', { class: 'form', novalidate: true, 'data-testid': 'value-form' },
        h('div', { class: 'field' }, h('label', { for: 'dv-size', text: t('dash.value_size') }), size,
          h('p', { class: 'help', text: t('dash.value_size_help') })),
        h('div', { class: 'field' }, h('label', { for: 'dv-colour', text: t('dash.value_colour') }), colour),
        h('div', { class: 'field' }, h('label', { for: 'dv-decimals', text: t('dash.value_decimals') }), decimals),
        h('div', { class: 'field' }, h('label', { for: 'dv-unit', text: t('dash.value_unit') }), unit,
          h('p', { class: 'help', text: t('dash.value_unit_help') })),
        h('label', { class: 'check' }, showName, h('span', { text: t('dash.value_show_name') })),
        err,
        h('div', { class: 'form-buttons' },
          h('button', { type: 'button', class: 'danger', 'data-testid': 'value-remove', onclick: () => close('remove'), text: t('dash.value_remove') }),
          h('button', { type: 'button', onclick: () => close(null), text: t('common.cancel') }),
          h('button', { type: 'submit', class: 'primary', 'data-testid': 'value-save', text: t('common.save') })));
      form.addEventListener('submit', (e) => {
        e.preventDefault();
        const s = Number(size.value);
        if (!Number.isInteger(s) || s < 8 || s > 96) {
          err.textContent = t('dash.value_size_bad');
          err.hidden = false;
          return;
        }
        close({ ...value, size: s, colour: colour.value.toLowerCase(),
          decimals: decimals.value === '' ? null : Number(decimals.value),
          unit: unit.value.trim() === '' ? null : unit.value.trim(), show_name: showName.checked });
      });
      dlg.querySelector('.dialog-body').append(form);
    },
  });
}
