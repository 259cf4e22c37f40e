// Y-axis settings (V4): automatic or a fixed min..max, for all channels at
// once and per channel ("same as all" by default).
//
//   settings = { all: {mode: 'auto'|'fixed', min, max},
//                channels: { [key]: {mode: 'all'|'auto'|'fixed', min, max} } }
//
// Channels in automatic mode share one scale per unit (their common range
// over the visible data); a fixed channel gets a scale of its own range.

export const defaultSettings = () => ({ all: { mode: 'auto' }, channels: {} });

/** The setting in force for channel "key": {mode: 'auto'|'fixed', min, max}. */
export function effective(settings, key) {
  const c = settings.channels[key];
  if (c && c.mode !== 'all') return c;
  return settings.all;
}

/** The uPlot scale key of a channel under "settings". */
export function scaleKey(settings, ch) {
  const e = effective(settings, ch.key);
  const unit = ch.unit || '';
  return e.mode === 'fixed' ? `f|${unit}|${e.min}|${e.max}` : `a|${unit}`;
}

const validRange = (s) => s.mode !== 'fixed' ||
  (Number.isFinite(s.min) && Number.isFinite(s.max) && s.min < s.max);

function el(tag, props = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'text') e.textContent = v;
    else if (k === 'class') e.className = v;
    else if (k.startsWith('data-') || k.startsWith('aria-') || k === 'for' || k === 'role') e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const k of kids) if (k) e.appendChild(k);
  return e;
}

function numberInput(value, label, testid) {
  return el('input', {
    type: 'number', step: 'any', value: Number.isFinite(value) ? String(value) : '',
    className: 'mc-num', 'aria-label': label, 'data-testid': testid,
  });
}

/**
 * Show the settings dialog over "host" for "channels" ([{key, name, unit}]).
 * Calls onApply(newSettings) when the user applies valid settings.
 */
export function openYSettings(host, { t, channels, settings, onApply }) {
  const dlg = el('dialog', { class: 'mc-dialog', 'data-testid': 'yaxis-dialog' });
  const form = el('form', { method: 'dialog', class: 'mc-yform' });
  form.appendChild(el('h2', { text: t('chart.yaxis.title') }));

  const modeSelect = (value, withAll, label, testid) => {
    const s = el('select', { 'aria-label': label, 'data-testid': testid });
    const opts = withAll ? ['all', 'auto', 'fixed'] : ['auto', 'fixed'];
    for (const o of opts) s.appendChild(el('option', { value: o, text: t(`chart.yaxis.mode.${o}`) }));
    s.value = value;
    return s;
  };

  // All channels at once.
  const allMode = modeSelect(settings.all.mode, false, t('chart.yaxis.allChannels'), 'yaxis-all-mode');
  const allMin = numberInput(settings.all.min, t('chart.yaxis.min'), 'yaxis-all-min');
  const allMax = numberInput(settings.all.max, t('chart.yaxis.max'), 'yaxis-all-max');
  const allRow = el('div', { class: 'mc-yrow mc-yall' },
    el('span', { class: 'mc-yname', text: t('chart.yaxis.allChannels') }), allMode,
    el('label', { class: 'mc-ylabel' }, el('span', { text: t('chart.yaxis.min') }), allMin),
    el('label', { class: 'mc-ylabel' }, el('span', { text: t('chart.yaxis.max') }), allMax));
  form.appendChild(allRow);

  // One row per channel.
  const list = el('div', { class: 'mc-ylist', role: 'group', 'aria-label': t('chart.yaxis.perChannel') });
  const rows = channels.map((ch, i) => {
    const cur = settings.channels[ch.key] || { mode: 'all' };
    const name = ch.unit ? `${ch.name} [${ch.unit}]` : ch.name;
    const mode = modeSelect(cur.mode, true, name, `yaxis-mode-${i}`);
    const min = numberInput(cur.min, t('chart.yaxis.min'), `yaxis-min-${i}`);
    const max = numberInput(cur.max, t('chart.yaxis.max'), `yaxis-max-${i}`);
    const swatch = el('span', { class: 'mc-swatch' });
    swatch.style.background = ch.colour;
    list.appendChild(el('div', { class: 'mc-yrow' },
      el('span', { class: 'mc-yname' }, swatch, el('span', { text: name })), mode,
      el('label', { class: 'mc-ylabel' }, el('span', { text: t('chart.yaxis.min') }), min),
      el('label', { class: 'mc-ylabel' }, el('span', { text: t('chart.yaxis.max') }), max)));
    return { key: ch.key, mode, min, max };
  });
  form.appendChild(list);

  const syncDisabled = () => {
    const fixedAll = allMode.value === 'fixed';
    allMin.disabled = allMax.disabled = !fixedAll;
    for (const r of rows) r.min.disabled = r.max.disabled = r.mode.value !== 'fixed';
  };
  form.addEventListener('change', syncDisabled);
  syncDisabled();

  const err = el('p', { class: 'mc-error', role: 'alert' });
  form.appendChild(err);
  const apply = el('button', { type: 'submit', class: 'mc-btn mc-primary', value: 'apply',
    text: t('chart.yaxis.apply'), 'data-testid': 'yaxis-apply' });
  const reset = el('button', { type: 'button', class: 'mc-btn', text: t('chart.yaxis.resetAll') });
  const cancel = el('button', { type: 'button', class: 'mc-btn', text: t('chart.cancel') });
  form.appendChild(el('div', { class: 'mc-actions' }, reset, cancel, apply));
  dlg.appendChild(form);

  const num = (input) => (input.value.trim() === '' ? NaN : Number(input.value));
  reset.addEventListener('click', () => {
    allMode.value = 'auto';
    for (const r of rows) r.mode.value = 'all';
    syncDisabled();
  });
  cancel.addEventListener('click', () => dlg.close());
  form.addEventListener('submit', (e) => {
    const next = { all: { mode: allMode.value }, channels: {} };
    if (next.all.mode === 'fixed') Object.assign(next.all, { min: num(allMin), max: num(allMax) });
    for (const r of rows) {
      if (r.mode.value === 'all') continue;
      const c = { mode: r.mode.value };
      if (c.mode === 'fixed') Object.assign(c, { min: num(r.min), max: num(r.max) });
      next.channels[r.key] = c;
    }
    const bad = [next.all, ...Object.values(next.channels)].some((s) => !validRange(s));
    if (bad) {
      e.preventDefault();
      err.textContent = t('chart.yaxis.invalid');
      return;
    }
    onApply(next);
  });
  dlg.addEventListener('close', () => dlg.remove());
  host.appendChild(dlg);
  dlg.showModal();
  return dlg;
}
