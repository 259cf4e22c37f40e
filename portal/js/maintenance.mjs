// The maintenance banner (O1; docs/operations.md "Maintenance windows"):
// from its announcement until its end, a scheduled maintenance window is
// told at the top of every page, signed in or not, in the reader's language
// and time zone. GET /api/v1/maintenance is public and answers from the
// server's memory, also during the window (when the rest of the API answers
// 503 maintenance).
import { api } from './api.mjs';
import { t, formatDateTime, onLanguageChange, onTimeZoneChange } from './i18n.mjs';
import { pageBanner } from './ui/dom.mjs';

const POLL_MS = 60000;
let current = null;
let timer = null;

function banner() {
  return pageBanner('maintenance-banner', 'maintenance-banner', 'status');
}

function show() {
  const el = banner();
  const w = current;
  el.hidden = !w;
  if (!w) {
    el.textContent = '';
    delete el.dataset.state;
    return;
  }
  const inProgress = w.in_progress || Date.parse(w.starts_at) <= Date.now();
  el.dataset.state = inProgress ? 'in_progress' : 'announced';
  el.textContent = inProgress
    ? t('maintenance.in_progress', { end: formatDateTime(w.ends_at) })
    : t('maintenance.announced', { start: formatDateTime(w.starts_at), end: formatDateTime(w.ends_at) });
}

/** Ask the server now (and again every minute). */
export async function checkMaintenance() {
  clearTimeout(timer);
  try {
    const r = await api.get('/maintenance', { quiet401: true });
    if (r.status === 200 && r.body) current = r.body.window || null;
  } catch { /* the server is unreachable: keep what was shown */ }
  show();
  timer = setTimeout(checkMaintenance, POLL_MS);
}

export function startMaintenanceBanner() {
  onLanguageChange(show);
  onTimeZoneChange(show);
  checkMaintenance();
}
