// Number and time labels of the chart, with Intl for the current language.
// Times are shown in the browser's time zone (V5): Intl.DateTimeFormat
// without a timeZone option uses it, and uPlot lays out its time ticks with
// local Date objects. setZone(z) shows them in the IANA zone "z" instead
// (the portal user's chosen zone, I2; the chart then gives uPlot a tzDate).

const cache = new Map();
let zone; // undefined: the browser's

/** Show times in IANA zone "z" (undefined/null: the browser's). */
export function setZone(z) { zone = z || undefined; }
/** The zone set with setZone(), or undefined. */
export function getZone() { return zone; }

function dtf(locale, opts) {
  const key = locale + (zone || '') + JSON.stringify(opts);
  let f = cache.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat(locale, { ...opts, timeZone: zone });
    cache.set(key, f);
  }
  return f;
}

function nf(locale, opts) {
  const key = 'n' + locale + JSON.stringify(opts);
  let f = cache.get(key);
  if (!f) {
    f = new Intl.NumberFormat(locale, opts);
    cache.set(key, f);
  }
  return f;
}

const SEC = 1000, MIN = 60 * SEC, HOUR = 60 * MIN, DAY = 24 * HOUR;

const HM = { hour: '2-digit', minute: '2-digit' };
const HMS = { hour: '2-digit', minute: '2-digit', second: '2-digit' };
const DATE = { month: 'short', day: 'numeric' };
const MONTH = { year: 'numeric', month: 'short' };

function sameDay(a, b) {
  if (!zone) {
    return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() &&
      a.getDate() === b.getDate();
  }
  const f = dtf('en-CA', { year: 'numeric', month: '2-digit', day: '2-digit' });
  return f.format(a) === f.format(b);
}

/**
 * Tick labels for the time axis: uPlot's axis `values` callback. `incr` is
 * the tick spacing in ms. Under a day, the date is added (second line) on
 * the first tick and whenever the day changes.
 */
export function timeTicks(locale, splits, incr) {
  let prev = null;
  return splits.map((t) => {
    if (t == null) return '';
    const d = new Date(t);
    let s;
    if (incr >= 28 * DAY) s = dtf(locale, MONTH).format(d);
    else if (incr >= DAY) s = dtf(locale, DATE).format(d);
    else {
      const opts = incr >= MIN ? HM
        : incr >= SEC ? HMS
          : { ...HMS, fractionalSecondDigits: incr >= 100 ? 1 : incr >= 10 ? 2 : 3 };
      s = dtf(locale, opts).format(d);
      if (prev === null || !sameDay(prev, d)) s += '\n' + dtf(locale, DATE).format(d);
    }
    prev = d;
    return s;
  });
}

/**
 * The portal's one form of dates and times, per language: the medium date
 * ("07.12.2026", "2026年12月7日", "Dec 7, 2026") and the time with or without
 * seconds. Every date the portal shows goes through it: the pages through
 * i18n.mjs (formatDate, formatDateTime, formatTime), the chart and the
 * offline viewer through dateTime() and rangeLabel() below. Only the time
 * axis' ticks are shorter ("7. Dez.", "00:15"), to fit under the chart.
 */
export function dateForm({ date = true, time = true, seconds = false } = {}) {
  const o = {};
  if (date) o.dateStyle = 'medium';
  if (time) o.timeStyle = seconds ? 'medium' : 'short';
  return o;
}

/** A full date and time (for range labels and the cursor), in dateForm(); ms: with milliseconds. */
export function dateTime(locale, t, { seconds = true, ms = false } = {}) {
  const d = new Date(t);
  const f = dtf(locale, dateForm({ seconds: seconds || ms }));
  if (!ms) return f.format(d);
  // dateStyle/timeStyle take no fractionalSecondDigits: the milliseconds go
  // after the seconds, with the language's separator ("00:17:05,123" in German).
  const frac = dtf(locale, { minute: '2-digit', second: '2-digit', fractionalSecondDigits: 3 }).formatToParts(d);
  const i = frac.findIndex((p) => p.type === 'fractionalSecond');
  const tail = i > 0 ? frac[i - 1].value + frac[i].value : '';
  return f.formatToParts(d).map((p) => (p.type === 'second' ? p.value + tail : p.value)).join('');
}

/** "from – to" for a range, in dateForm(), the date given once when both are on one day. */
export function rangeLabel(locale, from, to) {
  const a = new Date(from), b = new Date(to);
  const span = to - from;
  const seconds = span < 10 * MIN;
  // Not formatRange(): its range patterns leave the medium date in some
  // languages (Chinese "1970/1/1 00:00–01:00").
  const end = sameDay(a, b) ? dtf(locale, dateForm({ date: false, seconds })) : dtf(locale, dateForm({ seconds }));
  return `${dtf(locale, dateForm({ seconds })).format(a)} – ${end.format(b)}`;
}

/** Decimals to show for ticks spaced `incr` apart. */
export function decimalsFor(incr) {
  if (!(incr > 0) || !Number.isFinite(incr)) return 0;
  return Math.max(0, Math.min(12, -Math.floor(Math.log10(incr) + 1e-9)));
}

/** Tick labels of a value axis. */
export function valueTicks(locale, splits, incr) {
  const d = decimalsFor(incr);
  const f = nf(locale, { minimumFractionDigits: d, maximumFractionDigits: d });
  return splits.map((v) => (v == null ? '' : f.format(v)));
}

/**
 * Significant digits of a value shown without the channel's decimals: a
 * logger's display (5 digits, "23.456 °C", "-1.2345 V"), not the 7 that a
 * float32 sample holds, of which the last are the converter's noise.
 */
export const AUTO_DIGITS = 5;

/**
 * A measured value as a person reads it, the one rule of every place that
 * shows one (the monitor and the dashboards' panels through the monitor's
 * valueText(), the viewer's legend, cursor and list, the computed channels'
 * preview): with the channel's "decimals" (0..9, its resolution as the
 * administrator set it, channels.decimals) when it has them; else
 * AUTO_DIGITS significant digits, never rounding away whole digits
 * ("12,346", not "12,350"; "1,234,567"). The core has no formatting of
 * values for display (alarm_text.c prints a rule's numbers to read back
 * exactly, which is another purpose), so this is the only one.
 */
export function value(locale, v, decimals = null) {
  if (v == null || !Number.isFinite(v)) return '';
  if (Number.isInteger(decimals) && decimals >= 0 && decimals <= 20) {
    return nf(locale, { minimumFractionDigits: decimals, maximumFractionDigits: decimals }).format(v);
  }
  const whole = v === 0 ? 1 : Math.floor(Math.log10(Math.abs(v))) + 1;
  return nf(locale, { maximumSignificantDigits: Math.min(21, Math.max(AUTO_DIGITS, whole)) }).format(v);
}

/** A plain number (counts, sizes). */
export function number(locale, v, opts = {}) {
  return nf(locale, opts).format(v);
}
