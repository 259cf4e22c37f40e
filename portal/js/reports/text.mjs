// Reports told in words (docs/reports.md): periods, states of a run, its
// failure, files; and the calendar of a report's periods in the group's time
// zone (local dates, as the server counts them: a day, an ISO week from
// Monday, a month; "to" excluded).
import { t, formatNumber, formatDateTime, formatDate, formatTime, formatBytes, LANGUAGES, wallClock, zoneLabel, joinList } from '../i18n.mjs';
import { h } from '../ui/dom.mjs';
import { planName, quotaName } from '../api.mjs';
import { plan } from '../session.mjs';

export const PERIODS = ['day', 'week', 'month'];
export const FORMATS = ['pdf', 'xlsx', 'csv'];
export const CHARTS = ['per_channel', 'overlaid', 'none'];
export const MAX_CHANNELS = 32;
export const MAX_RECIPIENTS = 32;
export const MAX_RANGE_DAYS = 92;
export const ATTEMPTS = 5;

/** The language's own name ("日本語") for a report language code. */
export function languageName(code) {
  const l = LANGUAGES.find((x) => x.code === code);
  return l ? l.name : code;
}

/** "Daily · 3 channels · PDF, Excel (XLSX) · 日本語" */
export function reportLine(r) {
  const n = r.channels.length;
  return t('reports.summary_line', {
    period: t(`reports.period.${r.period}`),
    channels: n === 1 ? t('reports.channel_one') : t('reports.channels_n', { n: formatNumber(n) }),
    formats: joinList(r.formats.map((f) => t(`reports.format.${f}`))),
    language: languageName(r.language),
  });
}

/**
 * The plan's report templates per group (P17) as a sentence: how many are
 * used, or that all are, or that the plan has none.
 */
export function quotaSentence(quota) {
  const p = { used: formatNumber(quota.used), limit: formatNumber(quota.limit), plan: planName(plan()), quota: quotaName('P17') };
  if (!quota.limit) return t('error.plan_limit_unavailable', p);
  if (quota.used >= quota.limit) return t('reports.quota_full', p);
  return t('reports.quota', p);
}

// ------------------------------------------------------------- local dates
// A local date is 'YYYY-MM-DD'; arithmetic on UTC midnights of the same date.
const toMs = (d) => Date.parse(`${d}T00:00:00Z`);
const fromMs = (ms) => new Date(ms).toISOString().slice(0, 10);

export function addDays(d, n) { return fromMs(toMs(d) + n * 86400000); }
export function daysBetween(a, b) { return Math.round((toMs(b) - toMs(a)) / 86400000); }

/** Today's date in zone "z". */
export function today(z) {
  const w = wallClock(Date.now(), z);
  return `${w.year}-${String(w.month).padStart(2, '0')}-${String(w.day).padStart(2, '0')}`;
}

/** The period of kind "period" that holds local date "d": {first, end} (end excluded). */
export function periodOf(period, d) {
  if (period === 'day') return { first: d, end: addDays(d, 1) };
  if (period === 'week') {
    const dow = (new Date(toMs(d)).getUTCDay() + 6) % 7; // Monday 0
    const first = addDays(d, -dow);
    return { first, end: addDays(first, 7) };
  }
  const first = `${d.slice(0, 7)}-01`;
  const [y, m] = first.split('-').map(Number);
  const end = m === 12 ? `${y + 1}-01-01` : `${y}-${String(m + 1).padStart(2, '0')}-01`;
  return { first, end };
}

/** The last period of kind "period" that is over in zone "z". */
export function lastComplete(period, z) {
  const cur = periodOf(period, today(z));
  return periodOf(period, addDays(cur.first, -1));
}

/** A local date for people ("3 May 2024"). */
export function dateText(d) {
  return formatDate(toMs(d), 'UTC');
}

/** A run's period for people: one date, or the first and last dates of it, in its time zone. */
export function runPeriodText(run) {
  const a = formatDate(run.from_us / 1000, run.time_zone);
  const b = formatDate(run.to_us / 1000 - 1, run.time_zone);
  return a === b ? a : `${a} – ${b}`;
}

/** The group's time zone for people: "Japan Standard Time (UTC+09:00)". */
export function zoneText(z) { return zoneLabel(z); }

// ------------------------------------------------------------- runs

const PILL = { queued: 'accent', running: 'accent', retry: 'warn', done: 'ok', failed: 'bad' };

export function statePill(state) {
  return h('span', { class: ['pill', PILL[state]], 'data-testid': 'run-state', 'data-state': state,
    text: t(`reports.state.${state}`) });
}

/** Why a run failed, in the reader's language (never the server's English text). */
export function errorSentence(run) {
  const kind = ['storage', 'database', 'interrupted', 'server'].includes(run.error_kind) ? run.error_kind : 'server';
  return t(`reports.err_kind.${kind}`);
}

/** The state of a run as a sentence. */
export function stateSentence(run) {
  switch (run.state) {
    case 'queued':
      return t('reports.s.queued');
    case 'running':
      return t('reports.s.running', { time: formatTime(run.started_at, { seconds: true }), n: formatNumber(run.attempts) });
    case 'retry':
      return t('reports.s.retry', { n: formatNumber(run.attempts), error: errorSentence(run),
        time: formatTime(run.next_at) });
    case 'done':
      return t('reports.s.done', { time: formatDateTime(run.finished_at),
        seconds: formatNumber((run.render_ms || 0) / 1000, { maximumFractionDigits: 1 }) });
    case 'failed':
      return t('reports.s.failed', { n: formatNumber(run.attempts), error: errorSentence(run) });
    default:
      return '';
  }
}

const STEPS = ['figures', 'charts', 'pdf', 'samples', 'storing'];

/**
 * Where a run being made is ("Writing all values: day 12 of 31."), from the
 * step the server records as it goes (ReportRun.progress), or null.
 */
export function stepSentence(run) {
  const p = run.state === 'running' ? run.progress : null;
  if (!p || !STEPS.includes(p.step)) return null;
  return t(`reports.step.${p.step}`, { done: formatNumber(Math.min(p.done + 1, p.total || 1)), total: formatNumber(p.total || 0) });
}

/** The bar of a run waiting or being made: the step's share when it counts, else moving. */
export function progressBar(run) {
  const p = run.state === 'running' ? run.progress : null;
  const label = stepSentence(run) || t(`reports.state.${run.state}`);
  const counted = p && p.total > 0;
  return h('progress', { class: 'rp-progress', 'aria-label': label, 'data-testid': 'run-progress', 'data-step': p ? p.step : '',
    ...(counted ? { max: String(p.total), value: String(Math.min(p.done, p.total)) } : {}) });
}

export const busy = (run) => run && ['queued', 'running', 'retry'].includes(run.state);

/** A run's file for people: its kind and size ("PDF, 59 kB", "CSV, samples, 57 kB"). */
export function fileText(f) {
  const kind = f.format === 'csv' ? t(`reports.file_csv.${f.part === 'samples' ? 'samples' : 'summary'}`) : t(`reports.format.${f.format}`);
  return t('reports.file_size', { name: kind, size: formatBytes(f.size) });
}
