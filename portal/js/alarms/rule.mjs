// The alarm rule of the condition builder (R2-R5; docs/alarm.md): the
// builder's fields <-> core's rule object <-> core's rule text, checked by
// the WebAssembly core (the same parser and printer as the server), and the
// rule told as a sentence in the user's language.
//
//   const alarm = await alarmCore();                  // core's alarm binding
//   const { rule, text } = buildRule(alarm, fields);   // or throws RuleProblem
//   const fields = fieldsOf(alarm.parseRule(text));
//   describeRule(rule, names)                          // "Raised when ..."
import { t, formatNumber, joinSentences } from '../i18n.mjs';

export const OPS = ['>', '>=', '<=', '<', 'outside[]', 'outside()'];
export const UNITS = { s: 1000, m: 60000, h: 3600000 };
export const MAX_FILTER_MS = 7 * 86400000; // core: durations at most 7 days
const MAX_ABS = 1e300; // core: numbers with |x| <= 1e300

let corePromise = null;
/** core's alarm binding (the wasm module is loaded once, shared with the viewer). */
export async function alarmCore() {
  if (!corePromise) {
    corePromise = import('../chart/filesource.mjs').then((fs) => fs.core()).then((m) => m.alarm);
  }
  return corePromise;
}

/** A mistake of the builder's fields: a sentence and the field it is about. */
export class RuleProblem extends Error {
  constructor(message, field) {
    super(message);
    this.field = field;
  }
}

/** The builder's fields of a new rule. */
export function defaultFields(utcOffsetMin = 0) {
  return {
    conds: [{ slot: 1, op: '>', value: '', low: '', high: '' }],
    join: 'AND',
    raise: { n: '0', unit: 's' },
    clearSame: true,
    clear: { n: '0', unit: 's' },
    hyst: '',
    window: 'always', // 'always' | 'during' | 'offhours'
    start: '08:00',
    end: '18:00',
    utcOffsetMin,
  };
}

/** A duration in ms as {n, unit} with the largest exact unit. */
export function splitDuration(ms) {
  if (ms && ms % UNITS.h === 0) return { n: String(ms / UNITS.h), unit: 'h' };
  if (ms && ms % UNITS.m === 0) return { n: String(ms / UNITS.m), unit: 'm' };
  return { n: String(Math.round((ms || 0) / 1000)), unit: 's' };
}

const hhmm = (min) => `${String(Math.floor(min / 60)).padStart(2, '0')}:${String(min % 60).padStart(2, '0')}`;

/** The builder's fields of core's rule object. */
export function fieldsOf(rule) {
  const num = (x) => (x === undefined || x === null ? '' : String(x));
  const f = defaultFields(rule.utcOffsetMin || 0);
  f.conds = rule.conditions.map((c) => ({
    slot: c.channel, op: c.op,
    value: c.op.startsWith('outside') ? '' : num(c.value),
    low: c.op.startsWith('outside') ? num(c.low) : '',
    high: c.op.startsWith('outside') ? num(c.high) : '',
  }));
  f.join = rule.join || 'AND';
  f.raise = splitDuration(rule.raiseFilterMs);
  f.clearSame = rule.clearFilterMs === rule.raiseFilterMs;
  f.clear = splitDuration(rule.clearFilterMs);
  f.hyst = rule.hyst ? String(rule.hyst) : '';
  if (rule.window) {
    f.window = rule.window.offhours ? 'offhours' : 'during';
    f.start = hhmm(rule.window.startMin);
    f.end = hhmm(rule.window.endMin);
  }
  return f;
}

/** The slots (1, 2) the fields' conditions use. */
export function slotsOf(fields) {
  return [...new Set(fields.conds.map((c) => c.slot))].sort();
}

function number(s, field, { min = -MAX_ABS } = {}) {
  const txt = String(s ?? '').trim().replace(',', '.');
  if (txt === '') throw new RuleProblem(t('alarms.err.number_missing'), field);
  const x = Number(txt);
  if (!Number.isFinite(x)) throw new RuleProblem(t('alarms.err.number_bad'), field);
  if (Math.abs(x) > MAX_ABS) throw new RuleProblem(t('alarms.err.number_large'), field);
  if (x < min) throw new RuleProblem(t('alarms.err.number_negative'), field);
  return x;
}

function duration(d, field) {
  const txt = String(d.n ?? '').trim();
  if (txt === '') return 0;
  if (!/^\d+$/.test(txt)) throw new RuleProblem(t('alarms.err.duration'), field);
  const ms = Number(txt) * UNITS[d.unit];
  if (ms > MAX_FILTER_MS) throw new RuleProblem(t('alarms.err.duration_long'), field);
  return ms;
}

function minutes(s, field) {
  const m = /^(\d{1,2}):(\d{2})/.exec(s || '');
  if (!m || Number(m[1]) > 24 || Number(m[2]) > 59 || (Number(m[1]) === 24 && Number(m[2]) !== 0)) {
    throw new RuleProblem(t('alarms.err.time'), field);
  }
  return (Number(m[1]) * 60 + Number(m[2])) % 1440;
}

/**
 * core's rule object and canonical text of the builder's fields; throws a
 * RuleProblem (a sentence and the field) when they make no valid rule.
 */
export function buildRule(alarm, f) {
  const conditions = f.conds.slice(0, 2).map((c, i) => {
    const at = `cond${i + 1}`;
    if (c.op.startsWith('outside')) {
      const low = number(c.low, `${at}.low`);
      const high = number(c.high, `${at}.high`);
      if (!(low < high)) throw new RuleProblem(t('alarms.err.range_order'), `${at}.high`);
      return { channel: c.slot, op: c.op, low, high };
    }
    return { channel: c.slot, op: c.op, value: number(c.value, `${at}.value`) };
  });
  const raiseFilterMs = duration(f.raise, 'raise');
  const clearFilterMs = f.clearSame ? raiseFilterMs : duration(f.clear, 'clear');
  const hyst = String(f.hyst ?? '').trim() === '' ? 0 : number(f.hyst, 'hyst', { min: 0 });
  for (const c of conditions) {
    if (c.op.startsWith('outside') && !(2 * hyst < c.high - c.low)) {
      throw new RuleProblem(t('alarms.err.hyst_wide', { width: formatNumber(c.high - c.low) }), 'hyst');
    }
  }
  let window = null;
  if (f.window !== 'always') {
    window = { startMin: minutes(f.start, 'start'), endMin: minutes(f.end, 'end'), offhours: f.window === 'offhours' };
    if (window.offhours && window.startMin === window.endMin) {
      throw new RuleProblem(t('alarms.err.offhours_all_day'), 'end');
    }
  }
  const rule = {
    conditions, join: conditions.length === 2 ? f.join : null,
    raiseFilterMs, clearFilterMs, hyst, window, utcOffsetMin: window ? f.utcOffsetMin : 0,
  };
  let text;
  try {
    text = alarm.formatRule(rule);
  } catch {
    throw new RuleProblem(t('alarms.err.rule_invalid'), 'rule');
  }
  return { rule: alarm.parseRule(text), text };
}

/**
 * Parse rule text typed by the user: {rule, text} or {error: sentence, pos}
 * (pos: the character offset core named, or null).
 */
export function parseText(alarm, src) {
  if (!String(src).trim()) return { error: t('alarms.err.text_empty'), pos: null };
  try {
    const rule = alarm.parseRule(src);
    return { rule, text: String(rule) };
  } catch (e) {
    const pos = Number.isInteger(e.pos) ? charPos(src, e.pos) : null;
    const at = pos === null ? '' : formatNumber(pos + 1);
    const key = { MT_ESYNTAX: 'alarms.err.text_syntax', MT_ERANGE: 'alarms.err.text_range',
      MT_ELIMIT: 'alarms.err.text_limit' }[e.code] || 'alarms.err.rule_invalid';
    return { error: t(key, { at }), pos };
  }
}

/** The character offset of UTF-8 byte offset "b" in "s" (core counts bytes). */
export function charPos(s, b) {
  const enc = new TextEncoder();
  let bytes = 0;
  for (let i = 0; i < s.length; i++) {
    if (bytes >= b) return i;
    bytes += enc.encode(s[i]).length;
  }
  return s.length;
}

// ------------------------------------------------------------- sentences

/** "5 minutes", "1 hour", "30 seconds" in the language. */
export function durationText(ms) {
  const d = splitDuration(ms);
  const unit = { s: 'second', m: 'minute', h: 'hour' }[d.unit];
  return formatNumber(Number(d.n), { style: 'unit', unit, unitDisplay: 'long' });
}

/** "UTC+08:00" of an offset in minutes. */
export function offsetText(min) {
  const a = Math.abs(min);
  return `UTC${min < 0 ? '−' : '+'}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
}

const num = (x, unit) => `${formatNumber(x, { maximumFractionDigits: 12 })}${unit ? ` ${unit}` : ''}`;

/** One condition as words: "Temperature is above 30 °C". */
export function conditionText(c, ch) {
  const name = ch ? ch.name : `CH${c.channel}`;
  const unit = ch ? ch.unit : '';
  const key = { '>': 'above', '>=': 'at_or_above', '<=': 'at_or_below', '<': 'below',
    'outside[]': 'outside_incl', 'outside()': 'outside_excl' }[c.op];
  return c.op.startsWith('outside')
    ? t(`alarms.cond.${key}`, { channel: name, low: num(c.low, unit), high: num(c.high, unit) })
    : t(`alarms.cond.${key}`, { channel: name, value: num(c.value, unit) });
}

/**
 * The rule in sentences. "channels": [CH1, CH2] as {name, unit} (or null).
 */
export function describeRule(rule, channels = []) {
  const conds = rule.conditions.map((c) => conditionText(c, channels[c.channel - 1]));
  const cond = conds.length === 2
    ? t(rule.join === 'OR' ? 'alarms.desc.or' : 'alarms.desc.and', { a: conds[0], b: conds[1] }) : conds[0];
  const out = [rule.raiseFilterMs
    ? t('alarms.desc.raise_for', { condition: cond, duration: durationText(rule.raiseFilterMs) })
    : t('alarms.desc.raise_now', { condition: cond })];
  out.push(rule.clearFilterMs
    ? t('alarms.desc.clear_for', { duration: durationText(rule.clearFilterMs) })
    : t('alarms.desc.clear_now'));
  if (rule.hyst) {
    const unit = (channels[rule.conditions[0].channel - 1] || {}).unit || '';
    out.push(t('alarms.desc.hyst', { hyst: num(rule.hyst, unit) }));
  }
  if (rule.window) {
    const p = { start: hhmm(rule.window.startMin), end: hhmm(rule.window.endMin), zone: offsetText(rule.utcOffsetMin) };
    if (rule.window.startMin === rule.window.endMin) out.push(t('alarms.desc.all_day'));
    else if (rule.window.offhours) out.push(t('alarms.desc.offhours', p));
    else out.push(t(rule.window.startMin > rule.window.endMin ? 'alarms.desc.during_night' : 'alarms.desc.during', p));
  }
  return joinSentences(out);
}

/** A no-data rule in words. */
export function describeNoData(minutes, ch) {
  return t('alarms.desc.no_data', { channel: ch ? ch.name : 'CH1', duration: durationText(minutes * 60000) });
}
