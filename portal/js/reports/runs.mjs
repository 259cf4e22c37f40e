// The reports a setting made (its runs) and "make a report now" (T1;
// docs/reports.md): a past period chosen as the last complete one, the one
// that holds a chosen day, or a range of days; the run followed while it is
// waiting and being made; each run's state as a sentence (a failure in the
// reader's language, "try again"); its files with a link into the drive and
// a direct download.
import { navigate, hrefFor, track } from '../router.mjs';
import { t } from '../i18n.mjs';
import { api, errorMessage, apiUrl } from '../api.mjs';
import { h, fill } from '../ui/dom.mjs';
import { dateField } from '../ui/datefield.mjs';
import { table } from '../ui/table.mjs';
import { toast } from '../ui/toast.mjs';
import {
  busy, statePill, stateSentence, stepSentence, progressBar, runPeriodText, fileText, periodOf, lastComplete, today, addDays, daysBetween,
  dateText, zoneText, MAX_RANGE_DAYS,
} from './text.mjs';

const PAGE = 20;
const POLL_MS = 1000;

/** Go to a drive file: its own folder (it may have been moved), the file shown. */
export async function openInDrive(fileId, fallbackFolder) {
  const r = await api.get(`/drive/files/${fileId}`);
  const folder = r.status === 200 ? r.body.folder_id : fallbackFolder;
  navigate('drive', { folder: folder || undefined, file: fileId });
}

function filesCell(run, report) {
  if (!run.files.length) return null;
  return h('ul', { class: 'rp-files', 'data-testid': 'run-files' }, run.files.map((f) => {
    if (!f.file_id) return h('li', { class: 'muted', text: t('reports.file_gone', { name: f.name }) });
    const href = apiUrl(`/drive/files/${f.file_id}/content`);
    return h('li', { class: 'rp-file', 'data-format': f.format, 'data-part': f.part || '' },
      h('a', { href: hrefFor('drive', { folder: report.folder_id || undefined, file: f.file_id }), class: 'rp-file-name',
        'data-testid': 'run-file-link', title: `${f.name} · ${t('reports.in_drive')}`, text: fileText(f),
        onclick: (e) => { e.preventDefault(); openInDrive(f.file_id, report.folder_id); } }),
      h('span', { class: 'rp-file-tools' },
        h('a', { class: 'button small', href, download: f.name, 'data-testid': 'run-download', text: t('reports.download') })));
  }));
}

/**
 * The runs of "report" into "box", newest first, paged; followed while any
 * is waiting or being made. "edit": whether "try again" is offered.
 * Returns {reload(), stop()}.
 */
export function runsList(box, report, { edit }) {
  let runs = [];
  let next = null;
  let timer = null;
  let alive = true;
  const list = h('div', { 'data-testid': 'run-list' });
  const more = h('div', { class: 'page-tools' });
  fill(box, h('h2', { text: t('reports.runs') }), list, more);

  const retry = async (run) => {
    const r = await api.post(`/report-runs/${run.id}/retry`, {});
    if (r.status === 202) { toast(t('reports.retried'), 'ok'); await reload(); return; }
    toast(r.body && r.body.code === 'not_failed' ? t('reports.not_failed') : errorMessage(r.body, r.status), 'error', 8000);
    await reload();
  };
  const draw = () => {
    fill(list, table([
      { label: t('reports.col_period'), value: (r) => h('div', { class: 'cell-stack' }, h('strong', { text: runPeriodText(r) }),
        h('span', { class: 'muted small-text', text: t(`reports.kind.${r.kind}`) })) },
      { label: t('reports.col_state'), class: 'prose', value: (r) => h('div', { class: 'cell-stack rp-state', 'data-run': String(r.id) }, statePill(r.state),
        h('span', { class: 'small-text', 'data-testid': 'run-sentence', text: stateSentence(r) }),
        stepSentence(r) ? h('span', { class: 'small-text rp-step', 'data-testid': 'run-step', text: stepSentence(r) }) : null,
        busy(r) && r.state !== 'retry' ? progressBar(r) : null) },
      { label: t('reports.col_files'), value: (r) => filesCell(r, report) },
      { label: t('common.actions'), class: 'actions', value: (r) => (edit && r.state === 'failed'
        ? h('button', { type: 'button', class: 'small', 'data-testid': 'run-retry', text: t('reports.retry'), onclick: () => retry(r) }) : null) },
    ], runs, { empty: t('reports.runs_none'), rowClass: (r) => `rp-run rp-run-${r.state}` }));
    for (const tr of list.querySelectorAll('tr.rp-run')) {
      const cell = tr.querySelector('[data-run]');
      if (cell) tr.dataset.run = cell.dataset.run;
    }
    fill(more, next ? h('button', { type: 'button', 'data-testid': 'runs-older', text: t('reports.runs_older'),
      onclick: async () => {
        const r = await api.get(`/reports/${report.id}/runs?limit=${PAGE}&before=${next}`);
        if (r.status === 200) { runs = runs.concat(r.body.items); next = r.body.next_before; draw(); }
      } }) : null);
  };
  // Newest page again (and the older pages shown, run by run).
  async function reload() {
    const r = await api.get(`/reports/${report.id}/runs?limit=${Math.max(PAGE, runs.length)}`);
    if (!alive) return;
    if (r.status !== 200) { fill(list, h('p', { class: 'form-error', text: errorMessage(r.body, r.status) })); return; }
    runs = r.body.items;
    next = r.body.next_before;
    draw();
    follow();
  }
  function follow() {
    clearTimeout(timer);
    // While a run waits or is being made, its state is asked for again; a
    // retry far in the future only now and then.
    const soon = runs.some((r) => r.state === 'queued' || r.state === 'running');
    const later = runs.some((r) => r.state === 'retry');
    if (alive && (soon || later)) timer = setTimeout(reload, soon ? POLL_MS : 10000);
  }
  // The first list is tracked: the page's rendered mark waits for it
  // (router.mjs); the polls while a run is being made are not.
  track(reload());
  return { reload, stop: () => { alive = false; clearTimeout(timer); } };
}

/**
 * "Make a report now" for "report" into "box": the period, the sentence of
 * what it will cover, and the button. onMade(run) after the server queued it.
 */
export function makePanel(box, report, { onMade }) {
  const tz = report.time_zone;
  const last = lastComplete(report.period, tz);
  const mode = (v, key, checked) => h('label', { class: 'check' },
    h('input', { type: 'radio', name: 'rp-make-mode', value: v, checked, 'data-testid': `make-mode-${v}` }),
    h('span', { text: t(`${key}.${report.period}`) }));
  const day = dateField({ id: 'rp-make-day', value: last.first, max: today(tz), label: t('reports.make_day'), testid: 'make-day' });
  const from = dateField({ id: 'rp-make-from', value: addDays(today(tz), -7), max: today(tz), label: t('reports.make_from'), testid: 'make-from' });
  const until = dateField({ id: 'rp-make-until', value: addDays(today(tz), -1), max: today(tz), label: t('reports.make_until'), testid: 'make-until' });
  const modes = h('div', { class: 'rp-modes', role: 'radiogroup', 'aria-label': t('reports.f_period') },
    mode('last', 'reports.make_last', true), mode('date', 'reports.make_date', false),
    h('label', { class: 'check' }, h('input', { type: 'radio', name: 'rp-make-mode', value: 'range', 'data-testid': 'make-mode-range' }),
      h('span', { text: t('reports.make_range') })));
  const dayRow = h('div', { class: 'field', hidden: true }, h('label', { for: 'rp-make-day', text: t('reports.make_day') }), day);
  const rangeRow = h('div', { class: 'rp-range', hidden: true },
    h('div', { class: 'field' }, h('label', { for: 'rp-make-from', text: t('reports.make_from') }), from),
    h('div', { class: 'field' }, h('label', { for: 'rp-make-until', text: t('reports.make_until') }), until));
  const will = h('p', { class: 'help', 'data-testid': 'make-will', 'aria-live': 'polite' });
  const err = h('p', { class: 'form-error', role: 'alert', hidden: true, 'data-testid': 'make-error' });
  const go = h('button', { type: 'button', class: 'primary', 'data-testid': 'make-go', text: t('reports.make_button') });
  const cur = () => modes.querySelector('input:checked').value;
  // {body, first, end} of the chosen period, or {problem}.
  const chosen = () => {
    const now = today(tz);
    if (cur() === 'range') {
      if (!from.value || !until.value) return { problem: t('reports.make_bad_range') };
      const end = addDays(until.value, 1);
      const n = daysBetween(from.value, end);
      if (n < 1 || n > MAX_RANGE_DAYS) return { problem: t('reports.make_bad_range') };
      if (end > now) return { problem: t('reports.make_not_over', { end: dateText(end) }) };
      return { body: { from: from.value, to: end }, first: from.value, end };
    }
    const d = cur() === 'last' ? last.first : day.value;
    if (!d) return { problem: t('reports.make_pick') };
    const p = periodOf(report.period, d);
    if (p.end > now) return { problem: t('reports.make_not_over', { end: dateText(p.end) }) };
    return { body: { date: d }, ...p };
  };
  const sync = () => {
    dayRow.hidden = cur() !== 'date';
    rangeRow.hidden = cur() !== 'range';
    err.hidden = true;
    const c = chosen();
    will.classList.toggle('rp-bad', !!c.problem);
    will.textContent = c.problem || t('reports.make_will', { from: dateText(c.first), to: dateText(c.end), zone: zoneText(tz) });
    go.disabled = !!c.problem;
  };
  for (const el of [modes, day, from, until]) el.addEventListener('change', sync);
  for (const el of [day, from, until]) el.addEventListener('input', sync);
  go.addEventListener('click', async () => {
    const c = chosen();
    if (c.problem) return;
    go.disabled = true;
    err.hidden = true;
    const r = await api.post(`/reports/${report.id}/runs`, c.body);
    go.disabled = false;
    if (r.status === 202) {
      toast(t('reports.make_queued', { period: runPeriodText(r.body) }), 'ok');
      if (onMade) onMade(r.body);
      return;
    }
    err.textContent = errorMessage(r.body, r.status, { fieldLabel: t('reports.f_period') });
    err.hidden = false;
  });
  fill(box, h('h2', { text: t('reports.make_title') }), h('p', { class: 'help', text: t('reports.make_intro') }),
    modes, dayRow, rangeRow, will, err, h('div', { class: 'form-buttons' }, go));
  box.dataset.testid = 'make-panel';
  sync();
}

