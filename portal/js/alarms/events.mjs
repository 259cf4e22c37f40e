// Alarm events as a person reads them (R1, N1): a sentence per event (raise,
// clear, special value, no data, from a file, closed by a change of its
// rule), its state, severity, the rule as it was, the values and the
// acknowledgement (who, when, comment) with the button and dialog that
// acknowledge it (POST /alarm-events/{id}/ack).
import { t, formatNumber, formatDateTime, formatAgo } from '../i18n.mjs';
import { api, errorMessage } from '../api.mjs';
import { h, fill } from '../ui/dom.mjs';
import { showDialog } from '../ui/dialog.mjs';
import { toast } from '../ui/toast.mjs';

const SPECIAL = { missing: 'missing', '+over': 'over', '-over': 'under', break: 'break', error: 'error' };

/** A special value's name in words. */
export function specialName(s) {
  return t(`alarms.special_value.${SPECIAL[s] || 'error'}`);
}

/** "Temperature 31.5 °C · Pressure 2 bar" of an event's values. */
export function valuesText(ev) {
  return (ev.channels || []).map((c, k) => {
    const v = (ev.values || [])[k];
    if (v === undefined || v === null) return null;
    const shown = typeof v === 'number' ? `${formatNumber(v, { maximumSignificantDigits: 9 })}${c.unit ? ` ${c.unit}` : ''}` : specialName(v);
    return `${c.name} ${shown}`;
  }).filter(Boolean).join(' · ');
}

const when = (iso) => formatDateTime(iso, { seconds: true });

/** The event as a sentence. */
export function eventSentence(ev) {
  const p = { rule: ev.rule_name, time: when(ev.time), values: valuesText(ev) };
  const ch = ev.slot && ev.channels[ev.slot - 1] ? ev.channels[ev.slot - 1].name : (ev.channels[0] || {}).name || '';
  let s;
  if (ev.kind === 'raise') {
    if (ev.cause === 'silence') s = t('alarms.ev.raise_silence', p);
    else if (ev.cause === 'file') s = t('alarms.ev.raise_file', { ...p, file: ev.file ? ev.file.name : '' });
    else s = p.values ? t('alarms.ev.raise', p) : t('alarms.ev.raise_plain', p);
  } else if (ev.kind === 'clear') {
    if (ev.cause === 'rule_changed') s = t('alarms.ev.clear_changed', p);
    else if (ev.cause === 'rule_disabled') s = t('alarms.ev.clear_disabled', p);
    else if (ev.cause === 'rule_deleted') s = t('alarms.ev.clear_deleted', p);
    else if (ev.cause === 'silence') s = t('alarms.ev.clear_silence', p);
    else s = t('alarms.ev.clear', p);
  } else if (ev.kind === 'special') {
    s = t('alarms.ev.special', { ...p, channel: ch, special: specialName(ev.special) });
  } else {
    s = t('alarms.ev.special_end', { ...p, channel: ch });
  }
  return s;
}

/** The pills of an event: its kind/state and severity. */
export function eventPills(ev) {
  const pills = [];
  if (ev.kind === 'raise') {
    if (ev.state === 'raised') pills.push(h('span', { class: 'pill bad', 'data-testid': 'event-state', 'data-state': 'raised', text: t('alarms.state.raised') }));
    else if (ev.state === 'cleared') pills.push(h('span', { class: 'pill ok', 'data-testid': 'event-state', 'data-state': 'cleared', text: t('alarms.state.cleared') }));
    else pills.push(h('span', { class: 'pill', 'data-testid': 'event-state', 'data-state': 'history', text: t('alarms.state.history') }));
    pills.push(h('span', { class: `pill ${ev.severity === 'alert' ? 'bad' : 'warn'}`, text: t(`alarms.severity.${ev.severity}`) }));
  } else {
    pills.push(h('span', { class: 'pill', 'data-testid': 'event-state', 'data-state': ev.kind, text: t(`alarms.kind_event.${ev.kind}`) }));
  }
  if (ev.late) pills.push(h('span', { class: 'pill', title: t('alarms.late_help'), text: t('alarms.late') }));
  return pills;
}

/**
 * Ask for a comment and acknowledge event "ev"; resolves the event as the
 * server answers it, or null (cancelled or refused: said in a toast).
 */
export async function acknowledge(ev) {
  const comment = h('textarea', { id: 'ack-comment', rows: 3, maxlength: 1000, 'data-testid': 'ack-comment' });
  const errBox = h('p', { class: 'form-error', role: 'alert', hidden: true });
  let done = null;
  await showDialog({
    title: t('alarms.ack_title'),
    body: [h('p', { text: eventSentence(ev) }),
      h('div', { class: 'field' }, h('label', { for: 'ack-comment', text: t('alarms.ack_comment') }), comment,
        h('p', { class: 'help', text: t('alarms.ack_help') })), errBox],
    buttons: [
      { label: t('common.cancel'), value: false },
      { label: t('alarms.ack'), value: true, primary: true, run: async (close) => {
        const r = await api.post(`/alarm-events/${ev.id}/ack`, comment.value.trim() ? { comment: comment.value.trim() } : {});
        if (r.status === 200) { done = r.body; close(true); return; }
        errBox.textContent = errorMessage(r.body, r.status, { fieldLabel: t('alarms.ack_comment') });
        errBox.hidden = false;
      } },
    ],
    onOpen: () => comment.focus(),
  });
  if (done) toast(t('alarms.acked_toast'), 'ok');
  return done;
}

/** Who acknowledged, when, with what comment — or the button that does it. */
export function ackPart(ev, onAcked, { canAck = true } = {}) {
  const box = h('div', { class: 'ev-ack', 'data-testid': 'event-ack' });
  const draw = (e) => {
    if (e.acked) {
      fill(box, h('p', { class: 'ev-acked', 'data-testid': 'event-acked' },
        t('alarms.acked_by', { name: (e.acked_by && e.acked_by.name) || t('alarms.someone'), time: when(e.acked_at) })),
      e.ack_comment ? h('blockquote', { class: 'ev-comment', 'data-testid': 'event-comment', text: e.ack_comment }) : null);
    } else if (canAck && (e.kind === 'raise' || e.kind === 'special')) {
      fill(box, h('button', { type: 'button', class: 'small', 'data-testid': 'event-ack-button', text: t('alarms.ack'),
        onclick: async () => {
          const r = await acknowledge(e);
          if (r) { draw(r); if (onAcked) onAcked(r); }
        } }));
    } else fill(box);
  };
  draw(ev);
  return box;
}

// Data that came this long after its time (a backlog, an app that was
// offline) has its arrival said beside the event's time.
const LATE_ARRIVAL_MS = 60000;
const arrivedLate = (time, arrival) => !!(time && arrival && Date.parse(arrival) - Date.parse(time) >= LATE_ARRIVAL_MS);

/**
 * When a raise cleared: one time, the sample's (its clear's "time", which
 * the clear's own sentence says), with the arrival of that data when it
 * came later; "cleared_at" (the arrival) alone from a server without
 * "cleared_time".
 */
export function clearedText(ev) {
  if (!ev.cleared_at) return null;
  const time = ev.cleared_time || ev.cleared_at;
  return arrivedLate(time, ev.cleared_at)
    ? t('alarms.cleared_at_arrived', { time: when(time), arrival: when(ev.cleared_at) })
    : t('alarms.cleared_at', { time: when(time) });
}

/** The arrival of an event's data when it came well after its time; else null. */
export function arrivalText(ev) {
  return ev.cause === 'data' && arrivedLate(ev.time, ev.created_at) ? t('alarms.arrived_at', { arrival: when(ev.created_at) }) : null;
}

/** One event as a card: pills, sentence, rule, clear time, acknowledgement. */
export function eventCard(ev, { onAcked, canAck = true, link = true } = {}) {
  return h('li', { class: ['panel', 'ev-card', ev.kind === 'raise' && ev.state === 'raised' && 'ev-raised'], 'data-id': String(ev.id), 'data-testid': 'event' },
    h('div', { class: 'ev-head' }, h('div', { class: 'ev-pills' }, eventPills(ev)),
      h('span', { class: 'muted small-text', title: when(ev.time), text: formatAgo(ev.time) })),
    h('p', { class: 'ev-sentence', 'data-testid': 'event-sentence' }, link
      ? h('a', { href: `#/alarms/events/${ev.id}`, text: eventSentence(ev) }) : eventSentence(ev)),
    arrivalText(ev) ? h('p', { class: 'muted small-text', 'data-testid': 'event-arrival', text: arrivalText(ev) }) : null,
    h('p', { class: 'muted small-text ev-rule' }, t('alarms.rule_was'), ' ', h('code', { text: ev.rule })),
    ev.kind === 'raise' && ev.cleared_at
      ? h('p', { class: 'muted small-text', 'data-testid': 'event-cleared', text: clearedText(ev) }) : null,
    ackPart(ev, onAcked, { canAck }));
}
