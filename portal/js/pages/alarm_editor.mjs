// The alarm editor (R1-R8; docs/alarms.md): a condition builder — one or
// two conditions (the six comparisons of R2, the two range modes included)
// joined by AND/OR over one or two channels (R3), the raise and clear
// filters, hysteresis, the active hours (R4, across midnight and off-hours,
// in a UTC offset), or a no-data rule — and the notification settings
// (language of the messages, destinations, notify on clear, repeat, special
// values, uploaded files). The rule text is shown as core writes it (the
// WebAssembly core parses and prints it: the server's code) and can be typed
// instead; the rule is told in a sentence; the preview evaluates it over the
// last 7 days of stored data (alarms/preview.mjs).
import { navigate } from '../router.mjs';
import { t, has, language, LANGUAGES, formatNumber, shownZone, zoneOffset } from '../i18n.mjs';
import { api, errorMessage } from '../api.mjs';
import { h, fill } from '../ui/dom.mjs';
import { dateField } from '../ui/datefield.mjs';
import { wrapSelect } from '../ui/form.mjs';
import { pageHead } from '../ui/crud.mjs';
import { toast } from '../ui/toast.mjs';
import {
  alarmCore, buildRule, defaultFields, fieldsOf, parseText, describeRule, describeNoData,
  RuleProblem, OPS, offsetText, slotsOf,
} from '../alarms/rule.mjs';
import { createPreview } from '../alarms/preview.mjs';

const OP_KEYS = { '>': 'above', '>=': 'at_or_above', '<=': 'at_or_below', '<': 'below',
  'outside[]': 'outside_incl', 'outside()': 'outside_excl' };
const OFFSETS = [];
for (let m = -12 * 60; m <= 14 * 60; m += 15) OFFSETS.push(m);

/** The group's channels for rules: measured ones (with their app) and computed ones. */
async function groupChannels(gid) {
  const r = await api.get(`/groups/${gid}/monitor`);
  if (r.status !== 200) return { error: errorMessage(r.body, r.status) };
  const out = [];
  for (const a of r.body.apps || []) {
    for (const d of a.devices || []) {
      for (const c of d.channels || []) {
        out.push({ id: c.id, name: c.name, unit: c.unit || '', appId: a.id, computed: false,
          where: `${a.name} · ${d.name || d.model}` });
      }
    }
  }
  for (const c of r.body.computed || []) {
    out.push({ id: c.id, name: c.name, unit: c.unit || '', appId: null, computed: true, where: t('alarms.computed_channel') });
  }
  return { channels: out };
}

export async function alarmEditor(container, gid, id) {
  const [chs, dr, ar, alarm] = await Promise.all([groupChannels(gid), api.get('/destinations'),
    id ? api.get(`/alarms/${id}`) : Promise.resolve(null), alarmCore()]);
  if (chs.error) { fill(container, h('p', { class: 'form-error', text: chs.error })); return null; }
  if (ar && ar.status !== 200) { fill(container, h('p', { class: 'form-error', text: errorMessage(ar.body, ar.status) })); return null; }
  const cur = ar ? ar.body : null;
  const channels = chs.channels;
  const byId = new Map(channels.map((c) => [c.id, c]));
  // Channels of the rule no longer listed (deleted, moved) stay selectable by name.
  for (const ci of (cur && cur.channel_info) || []) {
    if (!byId.has(ci.id)) {
      const c = { id: ci.id, name: ci.name, unit: ci.unit || '', appId: null, computed: ci.computed, where: '' };
      channels.push(c);
      byId.set(c.id, c);
    }
  }
  const destinations = dr.status === 200 ? dr.body.items || [] : [];

  // ---- state
  let kind = cur ? cur.kind : 'condition';
  let ch1 = cur ? cur.channels[0] : (channels[0] ? channels[0].id : null);
  let ch2 = cur && cur.channels[1] ? cur.channels[1] : null;
  let fields = defaultFields(zoneOffset(shownZone(), Date.now()));
  if (cur && cur.kind === 'condition' && cur.rule) fields = fieldsOf(alarm.parseRule(cur.rule));
  let built = null; // {rule, text} of the fields, or null
  // A new alarm untouched: its empty threshold is not yet a mistake (no red).
  let pristine = !cur;
  let alive = true;
  let previewTimer = 0;

  // ---- controls
  const ids = (s) => `al-${s}`;
  const name = h('input', { id: ids('name'), maxlength: 100, required: true, value: cur ? cur.name : '', 'data-testid': 'alarm-name' });
  const severity = h('select', { id: ids('severity'), 'data-testid': 'alarm-severity' },
    ['alert', 'warning'].map((s) => h('option', { value: s, text: t(`alarms.severity.${s}`), selected: (cur ? cur.severity : 'alert') === s })));
  const enabled = h('input', { type: 'checkbox', id: ids('enabled'), checked: cur ? cur.enabled : true, 'data-testid': 'alarm-enabled' });
  const kindSeg = h('div', { class: 'segmented', role: 'group', 'aria-label': t('alarms.kind') });
  const ch1Sel = h('select', { id: ids('ch1'), 'data-testid': 'alarm-ch1' });
  const ch2Sel = h('select', { id: ids('ch2'), 'data-testid': 'alarm-ch2' });
  // A channel's name, unit and instrument in full, on two lines if need be
  // (a closed select cut "Temperature 1 [°C] — Gateway 1 · Boi" on a phone).
  const ch2Field = h('div', { class: 'field', 'data-field': 'ch2' }, h('label', { for: ids('ch2'), text: t('alarms.ch2') }), wrapSelect(ch2Sel),
    h('p', { class: 'help', text: t('alarms.ch2_help') }));
  const condBox = h('div', { class: 'al-conds', 'data-testid': 'alarm-conditions' });
  const noDataMin = h('input', { id: ids('nodata'), type: 'number', min: 1, max: 10080, step: 1, inputmode: 'numeric',
    value: cur && cur.no_data_minutes ? String(cur.no_data_minutes) : '15', 'data-testid': 'alarm-nodata-minutes' });
  const dur = (key, d) => {
    const n = h('input', { type: 'number', min: 0, step: 1, inputmode: 'numeric', value: d.n, 'aria-label': t(`alarms.${key}`), 'data-testid': `alarm-${key}-n` });
    const u = h('select', { 'aria-label': t('alarms.unit'), 'data-testid': `alarm-${key}-unit` },
      ['s', 'm', 'h'].map((x) => h('option', { value: x, text: t(`alarms.unit_${x}`), selected: d.unit === x })));
    return { n, u, box: h('div', { class: 'al-duration' }, n, u) };
  };
  const raiseDur = dur('raise', fields.raise);
  const clearDur = dur('clear', fields.clear);
  const clearSame = h('input', { type: 'checkbox', id: ids('clearsame'), checked: fields.clearSame, 'data-testid': 'alarm-clear-same' });
  const hyst = h('input', { id: ids('hyst'), type: 'number', min: 0, step: 'any', inputmode: 'decimal', value: fields.hyst, 'data-testid': 'alarm-hyst' });
  const windowSel = h('select', { id: ids('window'), 'data-testid': 'alarm-window' },
    ['always', 'during', 'offhours'].map((w) => h('option', { value: w, text: t(`alarms.window_${w}`), selected: fields.window === w })));
  const start = dateField({ kind: 'time', id: ids('start'), value: fields.start, testid: 'alarm-start' });
  const end = dateField({ kind: 'time', id: ids('end'), value: fields.end, testid: 'alarm-end' });
  const offsetSel = h('select', { id: ids('offset'), 'data-testid': 'alarm-offset' },
    OFFSETS.map((m) => h('option', { value: String(m), text: offsetText(m), selected: m === fields.utcOffsetMin })));
  if (!OFFSETS.includes(fields.utcOffsetMin)) {
    offsetSel.append(h('option', { value: String(fields.utcOffsetMin), text: offsetText(fields.utcOffsetMin), selected: true }));
  }
  const windowBox = h('div', { class: 'al-window' },
    h('div', { class: 'field', 'data-field': 'start' }, h('label', { for: ids('start'), text: t('alarms.start') }), start),
    h('div', { class: 'field', 'data-field': 'end' }, h('label', { for: ids('end'), text: t('alarms.end') }), end),
    h('div', { class: 'field' }, h('label', { for: ids('offset'), text: t('alarms.offset') }), offsetSel));
  const lang = h('select', { id: ids('lang'), 'data-testid': 'alarm-language' },
    LANGUAGES.map((l) => h('option', { value: l.code, text: l.name, lang: l.code, selected: (cur ? cur.language : language()) === l.code })));
  const chosen = new Set((cur ? cur.destinations : []).map(Number));
  const destBox = destinations.length
    ? h('div', { class: 'checks', role: 'group', 'aria-label': t('alarms.destinations'), 'data-testid': 'alarm-destinations' },
      destinations.map((d) => h('label', { class: 'check' }, h('input', { type: 'checkbox', value: String(d.id), checked: chosen.has(d.id) }),
        h('span', { text: `${d.name || d.address} (${t(`dest.kind.${d.kind}`)})` }))))
    : h('p', { class: 'muted small-text', text: t('alarms.no_destinations') });
  const notifyClear = h('input', { type: 'checkbox', id: ids('notifyclear'), checked: cur ? cur.notify_clear : true, 'data-testid': 'alarm-notify-clear' });
  const repeat = h('input', { id: ids('repeat'), type: 'number', min: 0, max: 10080, step: 1, inputmode: 'numeric',
    value: String(cur ? cur.repeat_minutes : 0), 'data-testid': 'alarm-repeat' });
  const special = h('input', { type: 'checkbox', id: ids('special'), checked: cur ? cur.special_notice : false, 'data-testid': 'alarm-special' });
  const files = h('input', { type: 'checkbox', id: ids('files'), checked: cur ? cur.check_files : true, 'data-testid': 'alarm-files' });

  const ruleText = h('code', { class: 'al-rule-text', 'data-testid': 'alarm-rule-text' });
  const ruleState = h('p', { class: 'expr-state', role: 'status', 'data-testid': 'alarm-rule-state' });
  const sentence = h('p', { class: 'al-sentence', 'data-testid': 'alarm-sentence' });
  const textArea = h('textarea', { id: ids('text'), rows: 3, maxlength: 1024, spellcheck: 'false', class: 'mono', 'data-testid': 'alarm-text-input' });
  const textState = h('p', { class: 'expr-state', role: 'status', hidden: true, 'data-testid': 'alarm-text-state' });
  const textShow = h('p', { class: 'expr-show mono', 'aria-hidden': 'true', hidden: true });
  const textBox = h('div', { class: 'al-textmode', hidden: true },
    h('label', { for: ids('text'), class: 'label', text: t('alarms.text_label') }), textArea, textState, textShow,
    h('p', { class: 'help', text: t('alarms.text_help') }),
    h('div', { class: 'form-buttons' },
      h('button', { type: 'button', class: 'small', text: t('common.cancel'), onclick: () => { textBox.hidden = true; } }),
      h('button', { type: 'button', class: 'small primary', 'data-testid': 'alarm-text-apply', text: t('alarms.text_apply'), onclick: applyText })));
  const textToggle = h('button', { type: 'button', class: 'small', 'data-testid': 'alarm-text-edit', text: t('alarms.text_edit'),
    onclick: () => { textArea.value = built ? built.text : ''; textBox.hidden = false; textState.hidden = true; textShow.hidden = true; textArea.focus(); } });
  const err = h('p', { class: 'form-error', role: 'alert', hidden: true, 'data-testid': 'alarm-error' });
  const save = h('button', { type: 'button', class: 'primary', 'data-testid': 'alarm-save', text: t('common.save') });
  const previewHost = h('div', { class: 'al-preview' });
  const preview = createPreview(previewHost);

  // ---- the builder's parts
  const conditionSection = h('div', { class: 'al-section' });
  const noDataSection = h('div', { class: 'al-section' });

  function drawKind() {
    fill(kindSeg, ['condition', 'no_data'].map((k) => h('button', { type: 'button', 'aria-pressed': String(kind === k),
      'data-testid': `alarm-kind-${k}`, text: t(`alarms.kind_${k}`), onclick: () => { kind = k; drawKind(); changed(); } })));
    conditionSection.hidden = kind !== 'condition';
    noDataSection.hidden = kind !== 'no_data';
  }

  const chLabel = (c) => `${c.name}${c.unit ? ` [${c.unit}]` : ''}${c.where ? ` — ${c.where}` : ''}`;
  function drawChannels() {
    fill(ch1Sel, channels.map((c) => h('option', { value: String(c.id), text: chLabel(c), selected: c.id === ch1 })));
    // CH2: a measured channel of CH1's app (the rule compares samples taken together).
    const c1 = byId.get(ch1);
    const same = channels.filter((c) => !c.computed && c1 && !c1.computed && c.appId === c1.appId);
    if (ch2 !== null && !same.some((c) => c.id === ch2)) ch2 = null;
    if (ch2 === null && same.length) ch2 = (same.find((c) => c.id !== ch1) || same[0]).id;
    fill(ch2Sel, same.map((c) => h('option', { value: String(c.id), text: chLabel(c), selected: c.id === ch2 })));
    ch1Sel.refreshFace?.();
    ch2Sel.refreshFace?.();
    ch2Field.hidden = !(kind === 'condition' && slotsOf(fields).includes(2));
  }

  const slotName = (slot) => {
    const c = byId.get(slot === 1 ? ch1 : ch2);
    return c ? `CH${slot}: ${c.name}` : `CH${slot}`;
  };
  function canUseSlot2() {
    const c1 = byId.get(ch1);
    return !!(c1 && !c1.computed && ch2 !== null);
  }

  function drawConditions() {
    const rows = [];
    fields.conds.forEach((c, i) => {
      if (i === 1) {
        rows.push(h('div', { class: 'al-join' }, h('select', { 'aria-label': t('alarms.join'), 'data-testid': 'alarm-join',
          onchange: (e) => { fields.join = e.target.value; changed(); } },
        ['AND', 'OR'].map((j) => h('option', { value: j, text: t(`alarms.join_${j.toLowerCase()}`), selected: fields.join === j })))));
      }
      const at = `cond${i + 1}`;
      const slot = h('select', { 'aria-label': t('alarms.cond_channel', { n: i + 1 }), 'data-testid': `alarm-${at}-slot`,
        onchange: (e) => { c.slot = Number(e.target.value); drawChannels(); drawConditions(); changed(); } },
      [1, 2].filter((s) => s === 1 || canUseSlot2() || c.slot === 2)
        .map((s) => h('option', { value: String(s), text: s === 2 && ch2 === null ? t('alarms.second_channel') : slotName(s), selected: c.slot === s })));
      const op = h('select', { 'aria-label': t('alarms.cond_op', { n: i + 1 }), 'data-testid': `alarm-${at}-op`,
        onchange: (e) => { c.op = e.target.value; drawConditions(); changed(); } },
      OPS.map((o) => h('option', { value: o, text: t(`alarms.op.${OP_KEYS[o]}`), selected: c.op === o })));
      const numIn = (key, label) => h('input', { type: 'number', step: 'any', inputmode: 'decimal', value: c[key],
        'aria-label': label, 'data-testid': `alarm-${at}-${key}`, 'data-field': `${at}.${key}`,
        oninput: (e) => { c[key] = e.target.value; changed(); } });
      const unit = (byId.get(c.slot === 1 ? ch1 : ch2) || {}).unit || '';
      const values = c.op.startsWith('outside')
        ? h('div', { class: 'al-values' }, numIn('low', t('alarms.low')), h('span', { text: '–' }), numIn('high', t('alarms.high')),
          unit ? h('span', { class: 'muted', text: unit }) : null)
        : h('div', { class: 'al-values' }, numIn('value', t('alarms.value')), unit ? h('span', { class: 'muted', text: unit }) : null);
      rows.push(h('div', { class: 'al-cond', 'data-testid': `alarm-${at}` }, slot, op, values,
        i === 1 ? h('button', { type: 'button', class: 'small', 'data-testid': 'alarm-cond2-remove', 'aria-label': t('alarms.remove_condition'),
          text: '×', onclick: () => { fields.conds.splice(1, 1); drawChannels(); drawConditions(); changed(); } }) : null));
    });
    if (fields.conds.length < 2) {
      rows.push(h('button', { type: 'button', class: 'small', 'data-testid': 'alarm-add-condition', text: t('alarms.add_condition'),
        onclick: () => { fields.conds.push({ slot: canUseSlot2() ? 2 : 1, op: '<', value: '', low: '', high: '' }); drawChannels(); drawConditions(); changed(); } }));
    }
    fill(condBox, rows);
  }

  function drawWindow() {
    windowBox.hidden = windowSel.value === 'always';
    clearDur.box.hidden = clearSame.checked;
  }

  // ---- reading the fields
  function readFields() {
    fields.raise = { n: raiseDur.n.value, unit: raiseDur.u.value };
    fields.clear = { n: clearDur.n.value, unit: clearDur.u.value };
    fields.clearSame = clearSame.checked;
    fields.hyst = hyst.value;
    fields.window = windowSel.value;
    fields.start = start.value;
    fields.end = end.value;
    fields.utcOffsetMin = Number(offsetSel.value);
  }

  /** The channels ([CH1] or [CH1, CH2]) of the rule as it stands. */
  function ruleChannels() {
    const list = [byId.get(ch1)];
    if (kind === 'condition' && slotsOf(fields).includes(2)) list.push(byId.get(ch2));
    return list;
  }

  function markField(field) {
    for (const el of container.querySelectorAll('.invalid')) el.classList.remove('invalid');
    if (!field) return;
    const el = container.querySelector(`[data-field="${field}"]`) || container.querySelector(`[data-field="${field.split('.')[0]}"]`);
    if (el) el.classList.add('invalid');
  }

  function check() {
    readFields();
    drawWindow();
    built = null;
    if (!ch1 || !byId.get(ch1)) {
      ruleState.className = 'expr-state bad';
      ruleState.textContent = t('alarms.err.no_channel');
      return false;
    }
    if (kind === 'no_data') {
      const m = Number(noDataMin.value);
      const ok = Number.isInteger(m) && m >= 1 && m <= 10080;
      ruleState.className = `expr-state ${ok ? 'ok' : 'bad'}`;
      ruleState.dataset.ok = String(ok);
      ruleState.textContent = ok ? t('alarms.valid') : t('alarms.err.no_data_minutes');
      ruleText.textContent = '';
      sentence.textContent = ok ? describeNoData(m, byId.get(ch1)) : '';
      markField(ok ? null : 'nodata');
      return ok;
    }
    const chs = ruleChannels();
    if (chs.some((c) => !c)) {
      ruleState.className = 'expr-state bad';
      ruleState.textContent = t('alarms.err.no_ch2');
      return false;
    }
    try {
      built = buildRule(alarm, fields);
    } catch (e) {
      if (!(e instanceof RuleProblem)) throw e;
      ruleState.className = `expr-state ${pristine ? 'hint' : 'bad'}`;
      ruleState.dataset.ok = 'false';
      ruleState.textContent = e.message;
      ruleText.textContent = '';
      sentence.textContent = '';
      markField(pristine ? null : e.field);
      return false;
    }
    markField(null);
    ruleState.className = 'expr-state ok';
    ruleState.dataset.ok = 'true';
    ruleState.textContent = t('alarms.valid');
    ruleText.textContent = built.text;
    sentence.textContent = describeRule(built.rule, [byId.get(ch1), byId.get(ch2)]);
    return true;
  }

  function changed() {
    err.hidden = true;
    const ok = check();
    clearTimeout(previewTimer);
    previewTimer = setTimeout(() => {
      if (!alive) return;
      if (!ok) { preview.update(null, t('alarms.preview.wait')); return; }
      if (kind === 'no_data') preview.update({ kind, minutes: Number(noDataMin.value), channels: [byId.get(ch1)] });
      else preview.update({ kind, rule: built.rule, channels: ruleChannels() });
    }, 300);
  }

  function applyText() {
    const res = parseText(alarm, textArea.value);
    if (res.error) {
      textState.hidden = false;
      textState.className = 'expr-state bad';
      textState.textContent = res.error;
      if (res.pos !== null) {
        const s = textArea.value;
        fill(textShow, s.slice(0, res.pos), h('mark', { text: s.slice(res.pos, res.pos + 1) || ' ' }), s.slice(res.pos + 1));
        textShow.hidden = false;
      } else textShow.hidden = true;
      return;
    }
    fields = fieldsOf(res.rule);
    if (slotsOf(fields).includes(2) && !canUseSlot2()) {
      textState.hidden = false;
      textState.className = 'expr-state bad';
      textState.textContent = t('alarms.err.no_ch2');
      textShow.hidden = true;
      return;
    }
    raiseDur.n.value = fields.raise.n; raiseDur.u.value = fields.raise.unit;
    clearDur.n.value = fields.clear.n; clearDur.u.value = fields.clear.unit;
    clearSame.checked = fields.clearSame;
    hyst.value = fields.hyst;
    windowSel.value = fields.window;
    start.value = fields.start;
    end.value = fields.end;
    if (![...offsetSel.options].some((o) => Number(o.value) === fields.utcOffsetMin)) {
      offsetSel.append(h('option', { value: String(fields.utcOffsetMin), text: offsetText(fields.utcOffsetMin) }));
    }
    offsetSel.value = String(fields.utcOffsetMin);
    textBox.hidden = true;
    drawChannels();
    drawConditions();
    changed();
  }

  // ---- wiring
  ch1Sel.addEventListener('change', () => { ch1 = Number(ch1Sel.value); drawChannels(); drawConditions(); changed(); });
  ch2Sel.addEventListener('change', () => { ch2 = Number(ch2Sel.value); drawConditions(); changed(); });
  for (const el of [raiseDur.n, raiseDur.u, clearDur.n, clearDur.u, clearSame, hyst, windowSel, start, end, offsetSel, noDataMin]) {
    el.addEventListener(el.tagName === 'SELECT' || el.type === 'checkbox' ? 'change' : 'input', changed);
  }

  for (const ev of ['input', 'change']) container.addEventListener(ev, () => { pristine = false; }, { capture: true });

  save.addEventListener('click', async () => {
    err.hidden = true;
    if (pristine) { pristine = false; check(); }
    if (!windowBox.hidden && (!start.check() || !end.check())) return;
    if (!name.value.trim()) { err.textContent = t('alarms.err.name'); err.hidden = false; name.focus(); return; }
    if (!check()) { err.textContent = ruleState.textContent; err.hidden = false; return; }
    const rep = Number(repeat.value);
    if (!Number.isInteger(rep) || rep < 0 || rep > 10080) { err.textContent = t('alarms.err.repeat'); err.hidden = false; repeat.focus(); return; }
    const body = {
      name: name.value.trim(), kind, channels: ruleChannels().map((c) => c.id),
      enabled: enabled.checked, severity: severity.value, language: lang.value,
      notify_clear: notifyClear.checked, repeat_minutes: rep, special_notice: special.checked, check_files: files.checked,
      destinations: destinations.length ? [...destBox.querySelectorAll('input:checked')].map((x) => Number(x.value)) : (cur ? cur.destinations : []),
    };
    if (kind === 'no_data') body.no_data_minutes = Number(noDataMin.value);
    else body.rule = built.text;
    save.disabled = true;
    const r = cur ? await api.patch(`/alarms/${cur.id}`, body) : await api.post(`/groups/${gid}/alarms`, body);
    save.disabled = false;
    if (r.status === 200 || r.status === 201) {
      toast(t('common.saved'), 'ok');
      navigate('alarms', {});
      return;
    }
    err.textContent = r.body && r.body.code === 'rule_error'
      ? t('alarms.err.server_rule', { at: formatNumber((r.body.position || 0) + 1) })
      : errorMessage(r.body, r.status, { fieldLabel: r.body && r.body.field ? fieldName(r.body.field) : undefined });
    err.hidden = false;
  });

  const field = (id, label, input, help, key) => h('div', { class: 'field', 'data-field': key || null }, h('label', { for: id, text: label }), input,
    help ? h('p', { class: 'help', text: help }) : null);
  const check1 = (input, label, help) => h('div', { class: 'field field-check' }, h('label', {}, input, h('span', { text: label })),
    help ? h('p', { class: 'help', text: help }) : null);

  fill(conditionSection,
    h('div', { class: 'field' }, h('span', { class: 'label', text: t('alarms.conditions') }), condBox,
      h('p', { class: 'help', text: t('alarms.conditions_help') })),
    ch2Field,
    h('div', { class: 'field', 'data-field': 'raise' }, h('span', { class: 'label', text: t('alarms.raise') }), raiseDur.box,
      h('p', { class: 'help', text: t('alarms.raise_help') })),
    h('div', { class: 'field', 'data-field': 'clear' }, h('span', { class: 'label', text: t('alarms.clear') }),
      h('label', { class: 'check' }, clearSame, h('span', { text: t('alarms.clear_same') })), clearDur.box,
      h('p', { class: 'help', text: t('alarms.clear_help') })),
    field(ids('hyst'), t('alarms.hyst'), hyst, t('alarms.hyst_help'), 'hyst'),
    field(ids('window'), t('alarms.window'), windowSel, t('alarms.window_help')),
    windowBox);
  fill(noDataSection, field(ids('nodata'), t('alarms.no_data_minutes'), noDataMin, t('alarms.no_data_help'), 'nodata'));

  fill(container, pageHead(cur ? t('alarms.edit_title', { name: cur.name }) : t('alarms.new'),
    h('a', { class: 'button small', href: '#/alarms', text: t('common.cancel') })),
  h('div', { class: 'al-grid' },
    h('section', { class: 'panel form', 'data-testid': 'alarm-editor' },
      h('h2', { text: t('alarms.section_what') }),
      field(ids('name'), t('common.name'), name),
      h('div', { class: 'grid-2 al-pair' }, field(ids('severity'), t('alarms.severity'), severity),
        h('div', { class: 'field field-check al-enabled' }, h('label', {}, enabled, h('span', { text: t('alarms.enabled') })))),
      h('div', { class: 'field' }, h('span', { class: 'label', text: t('alarms.kind') }), kindSeg),
      field(ids('ch1'), t('alarms.ch1'), wrapSelect(ch1Sel), null, 'ch1'),
      conditionSection, noDataSection,
      h('h2', { class: 'spaced', text: t('alarms.section_notify') }),
      field(ids('lang'), t('alarms.language'), lang, t('alarms.language_help')),
      h('div', { class: 'field' }, h('span', { class: 'label', text: t('alarms.destinations') }), destBox,
        h('p', { class: 'help', text: t('alarms.destinations_help') })),
      check1(notifyClear, t('alarms.notify_clear')),
      field(ids('repeat'), t('alarms.repeat'), repeat, t('alarms.repeat_help'), 'repeat'),
      check1(special, t('alarms.special'), t('alarms.special_help')),
      check1(files, t('alarms.files'), t('alarms.files_help')),
      err,
      h('div', { class: 'form-buttons' }, save)),
    h('div', { class: 'al-side' },
      h('section', { class: 'panel al-rule', 'data-testid': 'alarm-rule' },
        h('h2', { text: t('alarms.rule_title') }), sentence, ruleState,
        h('div', { class: 'al-rule-row' }, h('span', { class: 'label', text: t('alarms.rule_text') }), ruleText),
        h('div', { class: 'form-buttons' }, textToggle), textBox),
      h('section', { class: 'panel', 'data-testid': 'alarm-preview' },
        h('div', { class: 'panel-head' }, h('h2', { text: t('alarms.preview.title') }),
          h('button', { type: 'button', class: 'small', text: t('common.refresh'), onclick: () => preview.refresh() })),
        h('p', { class: 'help', text: t('alarms.preview.help') }),
        previewHost))));

  if (!channels.length) {
    fill(container.querySelector('[data-testid=alarm-editor]'), h('p', { class: 'notice', text: t('alarms.no_channels') }));
    return () => { alive = false; preview.destroy(); };
  }
  drawKind();
  drawChannels();
  drawConditions();
  changed();
  return () => {
    alive = false;
    clearTimeout(previewTimer);
    preview.destroy();
  };
}

/** A field of an API refusal in words. */
function fieldName(f) {
  const key = `alarms.field.${String(f).replace(/\[\d+\]/g, '')}`;
  return has(key) ? t(key) : undefined;
}
