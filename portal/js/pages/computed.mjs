// Computed channels (X1-X4; docs/computed.md): the current measurement
// group's computed channels — list, create, edit, copy, delete — with an
// editor whose expression is checked as it is typed and previewed over the
// last 24 hours before it is saved. Both run the WebAssembly core, the same
// code the server computes with: the expression is compiled on every change
// (an error names its place in the expression, in words), and the preview
// evaluates it over the inputs' stored samples (GET /data/raw), aligned as
// the server aligns them (a time where every input has a sample).
//
// Route: #/computed, #/computed?edit=<id> | ?new=1
import { registerPage, navigate, track } from '../router.mjs';
import { t, language, formatNumber, formatDateTime } from '../i18n.mjs';
import { api, errorMessage } from '../api.mjs';
import { session, isAdmin, on } from '../session.mjs';
import { h, fill } from '../ui/dom.mjs';
import { noGroupNotice } from '../ui/no_group.mjs';
import { pageHead, reportReply } from '../ui/crud.mjs';
import { table } from '../ui/table.mjs';
import { confirmDialog } from '../ui/dialog.mjs';
import { toast } from '../ui/toast.mjs';
import { createChart, ensureStyles } from '../chart/chart.mjs';
import { value as fmtValue } from '../chart/format.mjs';

const MAX_INPUTS = 10;
const PREVIEW_MS = 24 * 3600e3;
const PREVIEW_ROWS = 100000;
const SV_KINDS = ['', 'missing', '+over', '-over', 'break', 'error']; // core's special kinds (mt/types.h)

let corePromise = null;
/** The wasm core (loaded once, when the editor first needs it). */
async function core() {
  if (!corePromise) {
    const fs = await import('../chart/filesource.mjs');
    corePromise = fs.core();
  }
  return corePromise;
}

/** A special value as core's NaN-boxed double (+over/-over are ±∞). */
function encodeSpecial(kind) {
  if (kind === '+over') return Infinity;
  if (kind === '-over') return -Infinity;
  const k = Math.max(1, SV_KINDS.indexOf(kind));
  const dv = new DataView(new ArrayBuffer(8));
  dv.setUint32(4, 0x7ff80000, true);
  dv.setUint32(0, k === 0 ? 5 : k, true);
  return dv.getFloat64(0, true);
}

/** core's special kind of a double ('' for a number). */
function kindOf(v, specialKind) {
  return SV_KINDS[specialKind(v)] || '';
}

/**
 * Check an expression with core for "n" inputs. Returns {ok, uses} or
 * {ok: false, text, pos} (pos: a 0-based character offset, or null).
 */
export async function checkExpression(src, n) {
  const m = await core();
  if (!src.trim()) return { ok: false, text: t('computed.err.empty'), pos: null };
  let e;
  try {
    e = m.expr.compile(src);
  } catch (err) {
    const pos = Number.isInteger(err.pos) ? charPos(src, err.pos) : null;
    const key = { MT_ESYNTAX: 'computed.err.syntax', MT_ELIMIT: 'computed.err.limit', MT_ERANGE: 'computed.err.range' }[err.code]
      || 'computed.err.other';
    return { ok: false, text: t(key, { at: pos === null ? '' : formatNumber(pos + 1) }), pos };
  }
  const uses = e.inputs.slice();
  e.free();
  const beyond = uses.find((k) => k > n);
  if (beyond) {
    const at = src.toUpperCase().search(new RegExp(`CH${beyond}(?![0-9])`));
    return { ok: false, text: t('computed.err.no_input', { name: `CH${beyond}`, n: formatNumber(n) }), pos: at >= 0 ? at : null };
  }
  const unused = [];
  for (let k = 1; k <= n; k++) if (!uses.includes(k)) unused.push(`CH${k}`);
  if (unused.length) return { ok: false, text: t('computed.err.unused', { names: unused.join(', ') }), pos: null };
  return { ok: true, uses };
}

/** The character offset of UTF-8 byte offset "b" in "s" (core counts bytes). */
function charPos(s, b) {
  const enc = new TextEncoder();
  let bytes = 0;
  for (let i = 0; i < s.length; i++) {
    if (bytes >= b) return i;
    bytes += enc.encode(s[i]).length;
  }
  return s.length;
}

/**
 * The preview: the inputs' samples of the last 24 hours from /data/raw,
 * the times where every input has one, and core's evaluation there.
 * Returns {t: [ms], v: Float64Array, specialKind} or throws {body, status}.
 */
async function evaluate(src, inputs, to) {
  const m = await core();
  const from = to - PREVIEW_MS;
  const r = await api.get(`/data/raw?channels=${inputs.join(',')}&from=${Math.floor(from * 1000)}&to=${Math.ceil(to * 1000)}&limit=${PREVIEW_ROWS}`);
  if (r.status !== 200) throw Object.assign(new Error('raw'), { body: r.body, status: r.status });
  const byId = new Map(r.body.channels.map((c) => [String(c.id), c.v]));
  const cols = inputs.map((id) => byId.get(String(id)) || []);
  const times = [];
  const arrays = inputs.map(() => []);
  r.body.t.forEach((tu, i) => {
    if (cols.some((c) => c[i] === null || c[i] === undefined)) return; // not every input has a sample here
    times.push(tu / 1000);
    cols.forEach((c, k) => arrays[k].push(typeof c[i] === 'string' ? encodeSpecial(c[i]) : c[i]));
  });
  const { specialKind } = await import('../../vendor/wasm/metron.mjs');
  if (!times.length) return { t: [], v: new Float64Array(0), specialKind, from, to, truncated: r.body.next != null };
  const e = m.expr.compile(src);
  try {
    // core wants one array per CHn it uses, in order of n: CH1..CHn = inputs.
    return { t: times, v: e.eval(e.inputs.map((k) => arrays[k - 1])), specialKind, from, to, truncated: r.body.next != null };
  } finally {
    e.free();
  }
}

/** (t, v) samples as the chart's min/max buckets over [from, to). */
function bucketsOf(res, from, to, nb) {
  const s = { n: new Array(nb).fill(0), min: [], max: [], first: [], last: [], special: new Array(nb).fill(null) };
  const w = (to - from) / nb;
  res.t.forEach((tm, i) => {
    if (tm < from || tm >= to) return;
    const b = Math.min(nb - 1, Math.floor((tm - from) / w));
    const v = res.v[i];
    const kind = kindOf(v, res.specialKind);
    if (kind) {
      const prev = s.special[b];
      s.special[b] = { kind, count: (prev ? prev.count : 0) + 1 };
      return;
    }
    if (!s.n[b]) { s.min[b] = s.max[b] = s.first[b] = v; } else {
      s.min[b] = Math.min(s.min[b], v);
      s.max[b] = Math.max(s.max[b], v);
    }
    s.last[b] = v;
    s.n[b]++;
  });
  return { from, to, buckets: nb, series: [s] };
}

function canEdit() {
  if (isAdmin()) return true;
  const g = session.groups.find((x) => x.id === session.groupId);
  return !!(g && g.my_access === 'edit');
}

registerPage('computed', {
  title: 'nav.computed',
  async render(container, params) {
    ensureStyles();
    const gid = session.groupId;
    const head = pageHead(t('nav.computed'));
    if (!gid) {
      fill(container, head, noGroupNotice(t('monitor.no_group')));
      return on('group', () => navigate('computed'));
    }
    if (params.new || params.edit) return editor(container, gid, params.edit ? Number(params.edit) : null);
    const r = await api.get(`/groups/${gid}/computed`);
    if (r.status !== 200) { fill(container, head, h('p', { class: 'form-error', text: errorMessage(r.body, r.status) })); return null; }
    const list = Array.isArray(r.body) ? r.body : r.body.items || [];
    const edit = canEdit();
    const inputsText = (c) => (c.input_channels || []).map((x, i) => `CH${i + 1} = ${x ? x.name : t('computed.deleted_input')}`).join(' · ');
    const backfill = (c) => (c.backfill === 'complete' || !c.backfill ? t('computed.complete')
      : t('computed.backfilling', { done: formatNumber(c.backfill.done_days || 0), total: formatNumber(c.backfill.total_days || 0) }));
    fill(container, pageHead(t('nav.computed'), edit ? h('button', { type: 'button', class: 'primary', 'data-testid': 'computed-new',
      text: t('computed.new'), onclick: () => navigate('computed', { new: 1 }) }) : null),
    h('p', { class: 'intro', text: t('computed.intro') }),
    table([
      { label: t('common.name'), value: (c) => h('div', { class: 'cell-stack' }, h('strong', { text: c.name }),
        h('span', { class: 'muted small-text', text: c.unit ? t('computed.unit_is', { unit: c.unit }) : '' })) },
      { label: t('computed.expression'), value: (c) => h('div', { class: 'cell-stack' }, h('code', { text: c.expression }),
        h('span', { class: 'muted small-text', text: inputsText(c) })) },
      { label: t('computed.state'), value: backfill },
      { label: t('common.actions'), class: 'actions', value: (c) => h('div', { class: 'row-actions' },
        h('a', { class: 'button small', href: `#/viewer?channels=${c.id}`, text: t('monitor.open_viewer') }),
        edit ? h('button', { type: 'button', class: 'small', 'data-testid': 'computed-edit', text: t('common.edit'),
          onclick: () => navigate('computed', { edit: c.id }) }) : null,
        edit ? h('button', { type: 'button', class: 'small', 'data-testid': 'computed-copy', text: t('computed.copy'), onclick: async () => {
          if (reportReply(await api.post(`/computed/${c.id}/copy`, {}), t('common.created'))) navigate('computed', {});
        } }) : null,
        edit ? h('button', { type: 'button', class: 'small danger', 'data-testid': 'computed-delete', text: t('common.delete'), onclick: async () => {
          if (!(await confirmDialog(t('computed.delete_confirm', { name: c.name }), { confirm: t('common.delete') }))) return;
          if (reportReply(await api.del(`/computed/${c.id}`), t('common.deleted'))) navigate('computed', {});
        } }) : null) },
    ], list, { empty: t('computed.none') }));
    return on('group', () => navigate('computed'));
  },
});

/** The editor: name, unit, inputs CH1..CHn, the expression checked as typed, the preview, save. */
async function editor(container, gid, id) {
  const [mr, cr] = await Promise.all([api.get(`/groups/${gid}/monitor`),
    id ? api.get(`/computed/${id}`) : Promise.resolve(null)]);
  if (mr.status !== 200) { fill(container, h('p', { class: 'form-error', text: errorMessage(mr.body, mr.status) })); return null; }
  if (cr && cr.status !== 200) { fill(container, h('p', { class: 'form-error', text: errorMessage(cr.body, cr.status) })); return null; }
  const cur = cr ? cr.body : null;
  // The group's measured channels (computed channels are not inputs).
  const measured = [];
  for (const a of mr.body.apps || []) {
    for (const d of a.devices || []) {
      for (const c of d.channels || []) measured.push({ ...c, where: `${a.name} · ${d.name || d.model}` });
    }
  }
  const byId = new Map(measured.map((c) => [c.id, c]));
  let inputs = cur ? cur.inputs.slice() : [];
  let alive = true;
  let chart = null;
  let checkSeq = 0, previewSeq = 0, previewTimer = 0;
  let lastCheck = { ok: false };

  const name = h('input', { id: 'cx-name', maxlength: 100, required: true, value: cur ? cur.name : '', 'data-testid': 'computed-name' });
  const unit = h('input', { id: 'cx-unit', maxlength: 16, value: cur ? cur.unit : '', 'data-testid': 'computed-unit' });
  const expr = h('input', { id: 'cx-expr', maxlength: 1000, value: cur ? cur.expression : '', spellcheck: 'false',
    autocomplete: 'off', class: 'mono', 'data-testid': 'computed-expression' });
  const exprState = h('p', { class: 'expr-state', role: 'status', 'data-testid': 'computed-check' });
  const exprShow = h('p', { class: 'expr-show mono', 'aria-hidden': 'true', hidden: true });
  const inputsBox = h('ol', { class: 'cx-inputs', 'data-testid': 'computed-inputs' });
  const previewBox = h('div', { class: 'cx-preview' });
  const previewInfo = h('p', { class: 'muted', role: 'status', 'data-testid': 'computed-preview-info' });
  const err = h('p', { class: 'form-error', role: 'alert', hidden: true, 'data-testid': 'computed-error' });
  const save = h('button', { type: 'button', class: 'primary', 'data-testid': 'computed-save', text: t('common.save') });

  function renderInputs() {
    fill(inputsBox, inputs.map((cid, i) => {
      const sel = h('select', { 'aria-label': `CH${i + 1}`, 'data-testid': `computed-input-${i + 1}`,
        onchange: () => { inputs[i] = Number(sel.value); changed(); } },
      !byId.has(cid) ? h('option', { value: String(cid), text: t('computed.deleted_input') }) : null,
      measured.map((c) => h('option', { value: String(c.id), selected: c.id === cid,
        text: `${c.name}${c.unit ? ` [${c.unit}]` : ''} — ${c.where}` })));
      return h('li', { class: 'cx-input' }, h('code', { text: `CH${i + 1}` }), h('span', { text: '=' }), sel,
        h('button', { type: 'button', class: 'small', 'aria-label': t('computed.remove_input', { name: `CH${i + 1}` }), text: '×',
          onclick: () => { inputs.splice(i, 1); renderInputs(); changed(); } }));
    }),
    inputs.length < MAX_INPUTS && measured.length ? h('li', { class: 'cx-add' }, h('button', { type: 'button', class: 'small',
      'data-testid': 'computed-add-input', text: t('computed.add_input', { name: `CH${inputs.length + 1}` }),
      onclick: () => {
        const next = measured.find((c) => !inputs.includes(c.id)) || measured[0];
        inputs.push(next.id);
        renderInputs();
        changed();
      } })) : null);
  }

  async function check() {
    const my = ++checkSeq;
    const res = await checkExpression(expr.value, inputs.length);
    if (!alive || my !== checkSeq) return res;
    lastCheck = res;
    // Nothing typed yet is not a mistake: the example, without the error's red.
    exprState.className = `expr-state ${res.ok ? 'ok' : expr.value.trim() ? 'bad' : 'hint'}`;
    exprState.dataset.ok = String(res.ok);
    exprState.textContent = res.ok ? t('computed.valid', { names: res.uses.map((k) => `CH${k}`).join(', ') }) : res.text;
    // Show where the mistake is: the expression with the character marked.
    if (!res.ok && res.pos !== null && res.pos !== undefined) {
      const s = expr.value;
      fill(exprShow, s.slice(0, res.pos), h('mark', { text: s.slice(res.pos, res.pos + 1) || ' ' }), s.slice(res.pos + 1));
      exprShow.hidden = false;
    } else exprShow.hidden = true;
    return res;
  }

  async function preview() {
    const my = ++previewSeq;
    if (!lastCheck.ok || !inputs.length) {
      previewInfo.textContent = t('computed.preview_wait');
      if (chart) { chart.destroy(); chart = null; }
      fill(previewBox);
      return;
    }
    previewInfo.textContent = t('chart.loading');
    let res;
    try {
      res = await evaluate(expr.value, inputs, Date.now());
    } catch (e) {
      if (my === previewSeq && alive) previewInfo.textContent = e.body ? errorMessage(e.body, e.status) : t('computed.preview_failed');
      return;
    }
    if (!alive || my !== previewSeq) return;
    const nums = [];
    let specials = 0;
    for (const v of res.v) { if (kindOf(v, res.specialKind)) specials++; else nums.push(v); }
    const fmt = (v) => fmtValue(language(), v);
    previewInfo.textContent = res.t.length
      ? t('computed.preview_summary', { n: formatNumber(res.t.length), min: fmt(Math.min(...nums)), max: fmt(Math.max(...nums)),
        specials: formatNumber(specials), from: formatDateTime(res.from), to: formatDateTime(res.to) })
      : t('computed.preview_none');
    previewInfo.dataset.samples = String(res.t.length);
    if (!chart) {
      const host = h('div', { class: 'cx-chart', 'data-testid': 'computed-preview' });
      fill(previewBox, host);
      chart = createChart(host, { t, locale: language(), from: res.from, to: res.to,
        source: async (q) => bucketsOf(chart ? chart.__res : res, q.from, q.to, q.buckets) });
    }
    chart.__res = res;
    chart.setRange(res.from, res.to, { home: true, fetch: false });
    chart.setChannels([{ key: 'preview', name: name.value || t('computed.preview_name'), unit: unit.value }]);
  }

  async function changed() {
    err.hidden = true;
    await check();
    clearTimeout(previewTimer);
    // A mistake says at once why there is no preview (the box is never empty and silent);
    // a valid expression waits for the typing to pause.
    if (!lastCheck.ok) preview();
    else previewTimer = setTimeout(preview, 500);
  }

  // Tracked: the page's rendered mark waits for the check of what was typed (router.mjs).
  expr.addEventListener('input', () => track(changed()));
  unit.addEventListener('change', () => { if (lastCheck.ok) preview(); });
  save.addEventListener('click', async () => {
    err.hidden = true;
    const res = await check();
    if (!name.value.trim()) { err.textContent = t('computed.err.name'); err.hidden = false; name.focus(); return; }
    if (!res.ok) { err.textContent = res.text; err.hidden = false; expr.focus(); return; }
    const body = { name: name.value.trim(), unit: unit.value.trim(), expression: expr.value, inputs };
    save.disabled = true;
    const r = cur ? await api.patch(`/computed/${cur.id}`, body) : await api.post(`/groups/${gid}/computed`, body);
    save.disabled = false;
    if (r.status === 200 || r.status === 201) {
      toast(t(r.body.backfill && r.body.backfill !== 'complete' ? 'computed.saved_backfill' : 'common.saved'), 'ok', 8000);
      navigate('computed', {});
      return;
    }
    err.textContent = r.body && r.body.code === 'expression_error'
      ? t('computed.err.server', { at: formatNumber((r.body.position || 0) + 1) }) : errorMessage(r.body, r.status);
    err.hidden = false;
  });

  const field = (id, label, input, help) => h('div', { class: 'field' }, h('label', { for: id, text: label }), input,
    help ? h('p', { class: 'help', text: help }) : null);
  fill(container, pageHead(cur ? t('computed.edit_title', { name: cur.name }) : t('computed.new'),
    h('a', { class: 'button small', href: '#/computed', text: t('common.cancel') })),
  h('div', { class: 'grid-2 cx-grid' },
    h('section', { class: 'panel form', 'data-testid': 'computed-editor' },
      field('cx-name', t('common.name'), name),
      field('cx-unit', t('channels.unit'), unit),
      h('div', { class: 'field' }, h('span', { class: 'label', text: t('computed.inputs') }), inputsBox,
        h('p', { class: 'help', text: t('computed.inputs_help') })),
      field('cx-expr', t('computed.expression'), expr, t('computed.expression_help')),
      exprState, exprShow, err,
      h('div', { class: 'form-buttons' }, save)),
    h('section', { class: 'panel' }, h('h2', { text: t('computed.preview_title') }), previewInfo, previewBox)));
  if (!inputs.length && measured.length) inputs = [measured[0].id];
  renderInputs();
  if (!measured.length) {
    exprState.textContent = t('computed.no_measured');
    save.disabled = true;
  } else await changed();
  return () => {
    alive = false;
    clearTimeout(previewTimer);
    if (chart) chart.destroy();
  };
}
