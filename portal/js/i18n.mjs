// Languages (I1): catalogues portal/i18n/<area>/<lang>.json, one per area in
// AREAS, merged. t(key, {name}) fills "{name}" placeholders; a key missing in
// the language falls back to English, then to the key itself. Numbers and
// dates are formatted with Intl for the language, in the browser's time zone.
// The chosen language is remembered in localStorage (the code only).
export const LANGUAGES = [
  { code: 'zh-CN', name: '简体中文' },
  { code: 'ja', name: '日本語' },
  { code: 'en', name: 'English' },
  { code: 'es', name: 'Español' },
  { code: 'fr', name: 'Français' },
  { code: 'de', name: 'Deutsch' },
  { code: 'it', name: 'Italiano' },
];
export const AREAS = ['app', 'viewer'];
const STORE_KEY = 'metron.lang';
const CODES = LANGUAGES.map((l) => l.code);

let current = 'en';
let catalogue = {};
let english = {};
const cache = new Map();
const listeners = new Set();

async function loadArea(area, code) {
  try {
    const res = await fetch(new URL(`../i18n/${area}/${code}.json`, import.meta.url));
    if (!res.ok) return {};
    return await res.json();
  } catch {
    return {}; // an area not written yet, or offline
  }
}

async function load(code) {
  if (!cache.has(code)) {
    const parts = await Promise.all(AREAS.map((a) => loadArea(a, code)));
    cache.set(code, Object.assign({}, ...parts));
  }
  return cache.get(code);
}

/** The supported code closest to a browser language tag ('zh-Hans-CN' → 'zh-CN'). */
export function matchLanguage(tag) {
  if (!tag) return null;
  const lower = String(tag).toLowerCase();
  const exact = CODES.find((c) => c.toLowerCase() === lower);
  if (exact) return exact;
  const base = lower.split('-')[0];
  if (base === 'zh') return 'zh-CN';
  return CODES.find((c) => c === base) || null;
}

/** The remembered language, else the browser's, else English. */
export function preferredLanguage() {
  let stored = null;
  try { stored = localStorage.getItem(STORE_KEY); } catch { /* blocked */ }
  if (stored && CODES.includes(stored)) return stored;
  for (const tag of navigator.languages || [navigator.language]) {
    const m = matchLanguage(tag);
    if (m) return m;
  }
  return 'en';
}

/** Switch to "code" (unknown codes → English), remember it, tell listeners. */
export async function setLanguage(code, { remember = true } = {}) {
  const lang = CODES.includes(code) ? code : 'en';
  english = await load('en');
  catalogue = await load(lang);
  const changed = lang !== current;
  current = lang;
  document.documentElement.lang = lang;
  if (remember) {
    try { localStorage.setItem(STORE_KEY, lang); } catch { /* blocked */ }
  }
  translateTree(document);
  if (changed) for (const fn of [...listeners]) fn(lang);
  return lang;
}

/** Load the preferred language once at start-up. */
export async function initI18n() {
  current = null;
  return setLanguage(preferredLanguage(), { remember: false });
}

export function language() { return current || 'en'; }

/** fn(code) after every change; returns a function that unsubscribes. */
export function onLanguageChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export function has(key) {
  return Object.prototype.hasOwnProperty.call(catalogue, key) ||
    Object.prototype.hasOwnProperty.call(english, key);
}

/** The text of "key" with {name} placeholders filled from "params". */
export function t(key, params) {
  let s = catalogue[key];
  if (s === undefined) s = english[key];
  if (s === undefined) return key;
  if (params) {
    s = s.replace(/\{(\w+)\}/g, (m, k) => (params[k] === undefined || params[k] === null ? m : String(params[k])));
  }
  return s;
}

/** Set the text of elements marked data-i18n="key" (and data-i18n-aria-label, -title, -placeholder). */
export function translateTree(root) {
  if (!root || !root.querySelectorAll) return;
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const attr of ['aria-label', 'title', 'placeholder']) {
    const data = `data-i18n-${attr}`;
    for (const el of root.querySelectorAll(`[${data}]`)) el.setAttribute(attr, t(el.getAttribute(data)));
  }
}

export function formatNumber(x, opts) {
  if (x === null || x === undefined || Number.isNaN(x)) return '';
  return new Intl.NumberFormat(language(), opts).format(x);
}

/** A date and time (ms since the epoch, or an ISO string) in the browser's time zone. */
export function formatDateTime(ms, opts) {
  if (ms === null || ms === undefined || ms === '') return '';
  const d = typeof ms === 'string' ? new Date(ms) : new Date(ms);
  if (Number.isNaN(d.getTime())) return '';
  return new Intl.DateTimeFormat(language(), opts || { dateStyle: 'medium', timeStyle: 'short' }).format(d);
}

/** A date only ('2025-03-31' dates of licences are UTC, L1). */
export function formatDate(v) {
  if (!v) return '';
  if (/^\d{4}-\d{2}-\d{2}$/.test(v)) {
    return new Intl.DateTimeFormat(language(), { dateStyle: 'medium', timeZone: 'UTC' })
      .format(new Date(`${v}T00:00:00Z`));
  }
  return formatDateTime(v, { dateStyle: 'medium' });
}

/** "3 minutes ago" for a time in the past. */
export function formatAgo(ms) {
  const d = typeof ms === 'string' ? Date.parse(ms) : ms;
  if (!Number.isFinite(d)) return '';
  const s = Math.round((d - Date.now()) / 1000);
  const rtf = new Intl.RelativeTimeFormat(language(), { numeric: 'auto' });
  const a = Math.abs(s);
  if (a < 60) return rtf.format(s, 'second');
  if (a < 3600) return rtf.format(Math.round(s / 60), 'minute');
  if (a < 86400) return rtf.format(Math.round(s / 3600), 'hour');
  return rtf.format(Math.round(s / 86400), 'day');
}
