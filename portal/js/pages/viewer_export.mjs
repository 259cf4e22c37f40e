// Export mode (V1, V3): ZIP(CSV), HOK or HOK2 of up to 32 channels over the
// chosen period. POST /api/v1/exports starts the job; GET /exports/{id} is
// polled for its progress (a progress bar) until it is done and gives a
// signed download_url; DELETE cancels. Recent exports are listed below.
// docs/export.md.
import { t, formatNumber, formatDateTime, shownZone, zoneLabel } from '../i18n.mjs';
import { api, errorMessage, apiUrl } from '../api.mjs';
import { h, fill } from '../ui/dom.mjs';

const POLL_MS = 700;
export const FORMATS = ['csv', 'hok', 'hok2'];

/** The IANA time zone CSV times are written in: the one times are shown in (I2, V5). */
export const browserZone = () => shownZone();

function downloadLink(exp) {
  return h('a', { class: 'button primary', href: apiUrl(exp.download_url), download: '',
    'data-testid': 'export-download', text: t('viewer.export.download') });
}

/** Render export mode into "box". Returns a cleanup function. */
export function exportMode(box, { channels, from, to }) {
  let timer = 0;
  let current = null;
  let alive = true;
  const zone = browserZone();
  const fmt = h('select', { id: 'vw-export-format', 'data-testid': 'export-format' },
    FORMATS.map((f) => h('option', { value: f, text: t(`viewer.export.format.${f}`) })));
  const start = h('button', { type: 'button', class: 'primary', 'data-testid': 'export-start',
    text: t('viewer.export.start') });
  const bar = h('progress', { max: '1', value: '0', class: 'vw-progress', 'data-testid': 'export-progress' });
  const pct = h('span', { class: 'vw-pct', 'data-testid': 'export-percent' });
  const status = h('p', { class: 'vw-export-status', role: 'status', 'data-testid': 'export-status' });
  const cancel = h('button', { type: 'button', class: 'small', text: t('chart.cancel'), 'data-testid': 'export-cancel' });
  const result = h('div', { class: 'vw-export-result' });
  const job = h('div', { class: 'vw-export-job', hidden: true }, h('div', { class: 'vw-progress-row' }, bar, pct, cancel), status, result);
  const recent = h('div', { class: 'vw-export-recent' });

  fill(box,
    h('div', { class: 'vw-export-form' },
      h('div', { class: 'field' }, h('label', { for: 'vw-export-format', text: t('viewer.export.formatLabel') }), fmt),
      h('p', { class: 'help', text: t(channels.length === 1 ? 'viewer.export.summary_one' : 'viewer.export.summary', { n: formatNumber(channels.length),
        from: formatDateTime(from),
        to: formatDateTime(to) }) }),
      h('p', { class: 'help', text: t('viewer.export.zone', { zone: zoneLabel(zone) }) }),
      h('div', { class: 'form-buttons' }, start)),
    job, recent);

  function show(exp) {
    current = exp;
    job.hidden = false;
    const p = Math.max(0, Math.min(1, Number(exp.progress) || 0));
    bar.value = p;
    pct.textContent = formatNumber(p, { style: 'percent', maximumFractionDigits: 0 });
    box.dataset.exportStatus = exp.status;
    status.textContent = t(`viewer.export.status.${exp.status}`, {
      samples: formatNumber(exp.samples || 0), size: formatNumber((exp.bytes || 0) / 1e6, { maximumFractionDigits: 1 }),
    });
    cancel.hidden = exp.status === 'done' || exp.status === 'failed';
    start.disabled = !cancel.hidden;
    if (exp.status === 'done') fill(result, downloadLink(exp));
    else if (exp.status === 'failed') fill(result, h('p', { class: 'form-error', text: t('viewer.export.failed') }));
    else fill(result);
  }

  async function poll() {
    if (!alive || !current) return;
    const r = await api.get(`/exports/${current.id}`);
    if (!alive) return;
    if (r.status !== 200) {
      status.textContent = errorMessage(r.body, r.status);
      start.disabled = false;
      return;
    }
    show(r.body);
    if (r.body.status === 'queued' || r.body.status === 'running') timer = setTimeout(poll, POLL_MS);
    else loadRecent();
  }

  // Until the server has the job: a progress line at once, an indeterminate
  // bar (no value), no percentage and nothing to cancel yet.
  function preparing() {
    job.hidden = false;
    bar.removeAttribute('value');
    pct.textContent = '';
    cancel.hidden = true;
    box.dataset.exportStatus = 'preparing';
    status.textContent = t('viewer.export.status.preparing');
  }

  start.addEventListener('click', async () => {
    start.disabled = true;
    fill(result);
    preparing();
    const r = await api.post('/exports', {
      channels: channels.map((c) => c.id), from: Math.round(from * 1000), to: Math.round(to * 1000),
      format: fmt.value, time_zone: zone,
    });
    if (r.status !== 202 && r.status !== 200) {
      start.disabled = false;
      job.hidden = false;
      bar.value = 0;
      delete box.dataset.exportStatus;
      status.textContent = '';
      cancel.hidden = true;
      fill(result, h('p', { class: 'form-error', role: 'alert', text: errorMessage(r.body, r.status) }));
      return;
    }
    show(r.body);
    timer = setTimeout(poll, POLL_MS);
  });

  cancel.addEventListener('click', async () => {
    if (!current) return;
    clearTimeout(timer);
    await api.del(`/exports/${current.id}`);
    current = null;
    job.hidden = true;
    start.disabled = false;
    loadRecent();
  });

  async function loadRecent() {
    const r = await api.get('/exports');
    if (!alive || r.status !== 200) return;
    const list = (r.body.exports || []).slice(0, 10);
    if (!list.length) { fill(recent); return; }
    fill(recent, h('h3', { text: t('viewer.export.recent') }), h('div', { class: 'table-wrap' },
      h('table', { class: 'table' },
        h('thead', {}, h('tr', {}, ['viewer.export.col.created', 'viewer.export.col.format',
          'viewer.export.col.channels', 'viewer.export.col.status', 'viewer.export.col.file']
          .map((k) => h('th', { scope: 'col', text: t(k) })))),  // i18n-keys: viewer.export.col.*
        h('tbody', {}, list.map((e) => h('tr', {},
          h('td', { 'data-label': t('viewer.export.col.created'), text: formatDateTime(e.created_at) }),
          h('td', { 'data-label': t('viewer.export.col.format'), text: t(`viewer.export.format.${e.format}`) }),
          h('td', { class: 'num', 'data-label': t('viewer.export.col.channels'), text: formatNumber((e.channels || []).length) }),
          h('td', { 'data-label': t('viewer.export.col.status'), text: t(`viewer.export.state.${e.status}`) }),
          h('td', { 'data-label': t('viewer.export.col.file') }, e.download_url
            ? h('a', { href: apiUrl(e.download_url), download: '', text: t('viewer.export.download') }) : '—')))))));
  }
  loadRecent();
  return () => { alive = false; clearTimeout(timer); };
}
