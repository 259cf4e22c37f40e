// A date, date-and-time or time field in the portal's language, not the
// browser's: <input type=date|datetime-local|time> show and read dates in
// the browser's own locale (a French person on an English browser saw
// 12/06/2026 for 6 December and was asked for "mm/dd/yyyy"). This field
// shows the order and separators Intl.DateTimeFormat gives the language
// (06/12/2026 in French, 2026/12/06 in Japanese, 06.12.2026 in German,
// 12/06/2026, 02:30 PM in English), reads what is typed in that order
// (any separators, full-width digits, an ISO date "2026-12-06", a 24-hour
// time or one with the language's AM/PM), and says in a sentence of the
// language why a text is not a date ("31/02/2026 n'existe pas : février
// 2026 a 28 jours."). Dates and date-times have a calendar to pick from,
// usable with the keyboard (arrows, Page Up/Down, Home/End, Enter, Esc).
//
//   const from = dateField({ kind: 'datetime', id: 'vw-from', label: t('viewer.period.from'),
//     value: '2026-12-06T14:30', testid: 'viewer-from' });
//   from.value      // '2026-12-06T14:30' as the native field gave it ('' when empty or not a date)
//   from.invalid    // true when the text typed is not a date (its sentence is shown on change)
//   from.check()    // shows the sentence of a bad text, focuses the field; false when bad
//   from.addEventListener('change', ...)  // the text field's input and change events bubble
//
// Values are those of the native fields, so pages send the API what they
// sent before: kind 'date' 'YYYY-MM-DD', 'datetime' 'YYYY-MM-DDTHH:MM',
// 'time' 'HH:MM'. The id and testid are the text field's (a <label for=id>
// names it); the element returned is its wrapper.
import { h, icon } from './dom.mjs';
import { t, language } from '../i18n.mjs';

const p2 = (n) => String(n).padStart(2, '0');
const p4 = (n) => String(n).padStart(4, '0');
const isLeap = (y) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
const daysIn = (y, m) => (m === 2 ? (isLeap(y) ? 29 : 28) : [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]);
/** A Date at y-m-d hh:mm UTC; months and days past their end roll over. */
function utc(y, m, d, hh = 0, mm = 0) {
  const dt = new Date(Date.UTC(y, m - 1, d, hh, mm));
  if (y >= 0 && y < 100) dt.setUTCFullYear(dt.getUTCFullYear() - 1900); // Date.UTC reads 0..99 as 1900..1999
  return dt;
}

const OPTS = {
  date: { year: 'numeric', month: '2-digit', day: '2-digit' },
  datetime: { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' },
  time: { hour: '2-digit', minute: '2-digit' },
};
const fmts = new Map();
function fmt(opts, lang = language()) {
  const key = `${lang}|${JSON.stringify(opts)}`;
  let f = fmts.get(key);
  if (!f) { f = new Intl.DateTimeFormat(lang, { ...opts, timeZone: 'UTC' }); fmts.set(key, f); }
  return f;
}

/** The text of ISO value "v" of "kind" in the portal's language ('' for '' or a bad value). */
export function dateText(kind, v) {
  const o = isoParts(kind, v);
  if (!o) return '';
  return fmt(OPTS[kind]).format(utc(o.y, o.m, o.d, o.hh, o.mm));
}

function isoParts(kind, v) {
  const s = String(v || '');
  let m;
  if (kind === 'time') {
    m = /^(\d{2}):(\d{2})/.exec(s);
    return m ? { y: 2000, m: 1, d: 1, hh: +m[1], mm: +m[2] } : null;
  }
  m = /^(\d{4,})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}))?/.exec(s);
  return m ? { y: +m[1], m: +m[2], d: +m[3], hh: +(m[4] || 0), mm: +(m[5] || 0) } : null;
}

/** The field's pattern for people: "jj/mm/aaaa" (fr), "年/月/日" (ja), "mm/dd/yyyy, --:-- --" (en). */
export function datePattern(kind) {
  const ph = { year: t('date.ph_year'), month: t('date.ph_month'), day: t('date.ph_day'), hour: '--', minute: '--', dayPeriod: '--' };
  return fmt(OPTS[kind]).formatToParts(utc(2026, 12, 6, 14, 30))
    .map((p) => (p.type === 'literal' ? p.value : ph[p.type] || '')).join('');
}

/** The order of year, month and day in the language's dates. */
function dateOrder() {
  return fmt(OPTS.date).formatToParts(utc(2026, 12, 6)).map((p) => p.type).filter((x) => ['year', 'month', 'day'].includes(x));
}

/** The language's morning and afternoon words (AM/PM, 午前/午後, a. m./p. m.), lower case. */
function dayPeriods() {
  const words = (hh) => fmt({ hour: 'numeric', hour12: true }).formatToParts(utc(2000, 1, 1, hh))
    .filter((p) => p.type === 'dayPeriod').map((p) => p.value.toLowerCase().replace(/\s+/g, ''));
  return { am: [...words(2), 'am', 'a.m.', 'a'], pm: [...words(14), 'pm', 'p.m.', 'p'] };
}

/**
 * Read "text" typed for a field of "kind": {value} (the native field's
 * value, '' when empty) or {error} (the sentence saying why it is not one).
 */
export function parseDate(kind, text) {
  const raw = String(text || '').replace(/[\uFF10-\uFF19]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xFEE0)).trim();
  if (!raw) return { value: '' };
  const found = [...raw.matchAll(/\d+/g)];
  const nums = found.map((x) => x[0]);
  const afterDate = found.length >= 3 ? found[2].index + found[2][0].length : 0;
  const bad = () => (kind === 'time' ? timeBad(raw)
    : { error: t('date.err_format', { text: raw, pattern: datePattern(kind), example: dateText(kind, '2026-12-06T14:30') }) });
  let y = 2000, m = 1, d = 1, rest = nums;
  if (kind !== 'time') {
    if (nums.length < 3) return bad();
    const order = nums[0].length >= 3 ? ['year', 'month', 'day'] : dateOrder();
    const got = {};
    order.forEach((k, i) => { got[k] = nums[i]; });
    if (got.year.length === 3 || got.year.length > 4 || got.month.length > 2 || got.day.length > 2) return bad();
    y = got.year.length <= 2 ? 2000 + Number(got.year) : Number(got.year);
    m = Number(got.month);
    d = Number(got.day);
    if (m < 1 || m > 12) return { error: t('date.err_month', { text: raw }) };
    if (d < 1 || d > daysIn(y, m)) {
      return { error: t('date.err_days', { text: raw, month: fmt({ month: 'long', year: 'numeric' }).format(utc(y, m, 1)), n: daysIn(y, m) }) };
    }
    rest = nums.slice(3);
  }
  const date = `${p4(y)}-${p2(m)}-${p2(d)}`;
  if (kind === 'date') return nums.length === 3 ? { value: date } : bad();
  let hh = 0, mm = 0;
  if (rest.length === 1 && rest[0].length >= 3 && rest[0].length <= 4) {
    hh = Number(rest[0].slice(0, -2)); mm = Number(rest[0].slice(-2));
  } else if (rest.length >= 1) {
    if (rest[0].length > 2 || (rest[1] && rest[1].length > 2) || rest.length > 3) return timeBad(raw);
    hh = Number(rest[0]); mm = Number(rest[1] || 0);
  } else if (kind === 'time') return bad();
  // AM/PM in the language's words (or the English ones) after the date.
  // Other words are let be (a French "14h30").
  const word = (kind === 'time' ? raw : raw.slice(afterDate)).toLowerCase().replace(/[\d\s:,]/g, '');
  const per = dayPeriods();
  const isPm = per.pm.includes(word);
  const isAm = !isPm && per.am.includes(word);
  if ((isAm || isPm) && (hh < 1 || hh > 12)) return timeBad(raw);
  if (isPm && hh < 12) hh += 12;
  if (isAm && hh === 12) hh = 0;
  if (hh > 23 || mm > 59) return timeBad(raw);
  const time = `${p2(hh)}:${p2(mm)}`;
  return { value: kind === 'time' ? time : `${date}T${time}` };
}

function timeBad(raw) {
  return { error: t('date.err_time', { text: raw, example: dateText('time', '14:30') }) };
}

/** The first day of the week in the language (1 Monday … 7 Sunday). */
function firstDay() {
  try {
    const loc = new Intl.Locale(language());
    const info = loc.getWeekInfo ? loc.getWeekInfo() : loc.weekInfo;
    if (info && info.firstDay) return info.firstDay;
  } catch { /* older browsers */ }
  return ['en', 'ja', 'zh-CN'].includes(language()) ? 7 : 1;
}

let seq = 0;

/** The field (see the top of this file). */
export function dateField({ kind = 'date', id, value = '', min, max, label, testid } = {}) {
  const n = ++seq;
  const inputId = id || `datefield-${n}`;
  const errId = `${inputId}-error`;
  const pattern = datePattern(kind);
  const input = h('input', {
    type: 'text', id: inputId, 'data-testid': testid, class: 'datefield-text', placeholder: pattern,
    autocomplete: 'off', spellcheck: 'false', inputmode: kind === 'time' ? 'numeric' : undefined,
    size: String(Math.max(pattern.length, dateText(kind, '2026-12-26T22:30').length) + 1),
    'aria-describedby': errId,
  });
  const err = h('p', { class: 'datefield-error', id: errId, 'aria-live': 'polite', hidden: true, 'data-testid': testid ? `${testid}-error` : undefined });
  const box = h('div', { class: 'datefield-box' }, input);
  const wrap = h('div', { class: `datefield datefield-${kind}` }, box, err);
  let btn = null;
  let pop = null;

  const read = () => parseDate(kind, input.value);
  const showError = (msg) => {
    err.textContent = msg || '';
    err.hidden = !msg;
    if (msg) input.setAttribute('aria-invalid', 'true');
    else input.removeAttribute('aria-invalid');
    wrap.classList.toggle('invalid', !!msg);
  };
  const setText = (v) => {
    input.value = dateText(kind, v);
    input.dataset.value = v && input.value ? v : '';
    showError('');
  };
  Object.defineProperty(wrap, 'value', {
    get() { const r = read(); return r.error ? '' : r.value; },
    set(v) { setText(v); },
  });
  Object.defineProperty(wrap, 'invalid', { get() { return !!read().error; } });
  Object.defineProperty(wrap, 'input', { value: input });
  wrap.check = () => {
    const r = read();
    showError(r.error);
    if (r.error) { input.focus(); return false; }
    return true;
  };
  wrap.focus = () => input.focus();

  input.addEventListener('input', () => {
    const r = read();
    input.dataset.value = r.error ? '' : r.value;
    if (!err.hidden && !r.error) showError('');
  });
  input.addEventListener('change', () => {
    const r = read();
    showError(r.error);
    // What was read, written the language's way ("6.12.26" → "06.12.2026").
    if (!r.error && r.value) input.value = dateText(kind, r.value);
  });
  input.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowDown' && e.altKey && btn) { e.preventDefault(); open(); }
  });

  if (kind !== 'time') {
    const pickLabel = label ? t('date.pick', { field: label }) : t('date.pick_any');
    btn = h('button', { type: 'button', class: 'datefield-btn', 'aria-label': pickLabel, title: pickLabel,
      'aria-haspopup': 'dialog', 'aria-expanded': 'false', 'data-testid': testid ? `${testid}-pick` : undefined }, icon('calendar'));
    btn.addEventListener('click', () => (pop ? close(true) : open()));
    box.append(btn);
  }

  function onOutside(e) { if (pop && !wrap.contains(e.target)) close(false); }

  function close(focusBtn) {
    if (!pop) return;
    pop.remove();
    pop = null;
    btn.setAttribute('aria-expanded', 'false');
    document.removeEventListener('pointerdown', onOutside, true);
    if (focusBtn) btn.focus();
  }

  function open() {
    const cur = isoParts(kind, wrap.value);
    const now = new Date();
    let focus = cur ? { y: cur.y, m: cur.m, d: cur.d } : { y: now.getFullYear(), m: now.getMonth() + 1, d: now.getDate() };
    const maxP = isoParts('date', max), minP = isoParts('date', min);
    const key = (o) => o.y * 10000 + o.m * 100 + o.d;
    const outOfRange = (o) => (maxP && key(o) > key(maxP)) || (minP && key(o) < key(minP));
    if (!cur && maxP && key(focus) > key(maxP)) focus = { ...maxP };
    const title = h('p', { class: 'datefield-title', id: `${inputId}-cal-title`, 'aria-live': 'polite' });
    const prev = h('button', { type: 'button', class: 'small', 'aria-label': t('date.prev_month'), title: t('date.prev_month'), text: '‹' });
    const next = h('button', { type: 'button', class: 'small', 'aria-label': t('date.next_month'), title: t('date.next_month'), text: '›' });
    const grid = h('table', { class: 'datefield-grid', 'aria-labelledby': title.id });
    pop = h('div', { class: 'datefield-pop', role: 'dialog', 'aria-label': btn.getAttribute('aria-label'),
      'data-testid': testid ? `${testid}-calendar` : undefined },
    h('div', { class: 'datefield-head' }, prev, title, next), grid);
    const first = firstDay() % 7; // 0 Sunday … 6 Saturday, as getUTCDay()
    const dayName = (dow, style) => fmt({ weekday: style }).format(utc(2023, 1, 1 + dow)); // 2023-01-01 is a Sunday
    const full = fmt({ dateStyle: 'full' });
    const draw = (focusDay) => {
      title.textContent = fmt({ month: 'long', year: 'numeric' }).format(utc(focus.y, focus.m, 1));
      const lead = (utc(focus.y, focus.m, 1).getUTCDay() - first + 7) % 7;
      const rows = [];
      let row = [];
      for (let i = 0; i < lead; i++) row.push(h('td'));
      for (let d = 1; d <= daysIn(focus.y, focus.m); d++) {
        const o = { y: focus.y, m: focus.m, d };
        const b = h('button', { type: 'button', class: 'datefield-day', text: String(d), tabindex: d === focus.d ? '0' : '-1',
          'aria-label': full.format(utc(o.y, o.m, o.d)), 'data-day': `${p4(o.y)}-${p2(o.m)}-${p2(d)}`,
          'aria-pressed': cur && key(cur) === key(o) ? 'true' : 'false',
          'aria-current': now.getFullYear() === o.y && now.getMonth() + 1 === o.m && now.getDate() === d ? 'date' : undefined,
          disabled: outOfRange(o) });
        row.push(h('td', {}, b));
        if (row.length === 7) { rows.push(h('tr', {}, row)); row = []; }
      }
      if (row.length) { while (row.length < 7) row.push(h('td')); rows.push(h('tr', {}, row)); }
      grid.replaceChildren(h('thead', {}, h('tr', {}, [0, 1, 2, 3, 4, 5, 6].map((i) => {
        const dow = (first + i) % 7;
        return h('th', { scope: 'col', abbr: dayName(dow, 'long') }, h('span', { 'aria-hidden': 'true', text: dayName(dow, 'narrow') }),
          h('span', { class: 'sr-only', text: dayName(dow, 'long') }));
      }))), h('tbody', {}, rows));
      if (focusDay) {
        const b = grid.querySelector(`button[data-day="${p4(focus.y)}-${p2(focus.m)}-${p2(focus.d)}"]`);
        if (b) b.focus();
      }
    };
    const move = (o, focusDay = true) => {
      const dt = utc(o.y, o.m, 1);
      const y = dt.getUTCFullYear(), m = dt.getUTCMonth() + 1;
      focus = { y, m, d: Math.min(Math.max(o.d, 1), daysIn(y, m)) };
      draw(focusDay);
    };
    const byDays = (k) => {
      const dt = utc(focus.y, focus.m, focus.d);
      dt.setUTCDate(dt.getUTCDate() + k);
      focus = { y: dt.getUTCFullYear(), m: dt.getUTCMonth() + 1, d: dt.getUTCDate() };
      draw(true);
    };
    prev.addEventListener('click', () => move({ ...focus, m: focus.m - 1 }, false));
    next.addEventListener('click', () => move({ ...focus, m: focus.m + 1 }, false));
    grid.addEventListener('click', (e) => {
      const b = e.target.closest('button[data-day]');
      if (!b || b.disabled) return;
      const time = kind === 'datetime' ? (wrap.value.slice(10) || 'T00:00') : '';
      setText(b.dataset.day + time);
      input.dispatchEvent(new Event('input', { bubbles: true }));
      input.dispatchEvent(new Event('change', { bubbles: true }));
      close(false);
      input.focus();
    });
    grid.addEventListener('keydown', (e) => {
      const dow = (utc(focus.y, focus.m, focus.d).getUTCDay() - first + 7) % 7;
      const k = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -7, ArrowDown: 7, Home: -dow, End: 6 - dow }[e.key];
      if (k !== undefined) { e.preventDefault(); byDays(k); return; }
      if (e.key === 'PageUp' || e.key === 'PageDown') {
        e.preventDefault();
        const step = (e.key === 'PageUp' ? -1 : 1) * (e.shiftKey ? 12 : 1);
        move({ ...focus, m: focus.m + step });
      }
    });
    pop.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') { e.preventDefault(); e.stopPropagation(); close(true); }
    });
    wrap.append(pop);
    draw(true);
    btn.setAttribute('aria-expanded', 'true');
    document.addEventListener('pointerdown', onOutside, true);
    // Inside the window: moved left when the field is near its right edge.
    const r = pop.getBoundingClientRect();
    const over = r.right - (document.documentElement.clientWidth - 8);
    if (over > 0) pop.style.left = `${-Math.min(over, r.left - 8)}px`;
  }

  wrap.addEventListener('focusout', (e) => {
    if (pop && e.relatedTarget && !wrap.contains(e.relatedTarget)) close(false);
  });

  setText(value);
  return wrap;
}
