// The alarms raised now, for the monitor page (R1, N1): one line per open
// raise of the group (GET /alarm-events/active), newest first, with its
// severity, what raised it, since when, and its acknowledgement.
//
//   const box = raisedAlarms();  container.append(box.el);
//   box.load(groupId);           // again on every refresh of the monitor
import { t, formatDateTime, formatAgo, formatNumber } from '../i18n.mjs';
import { api } from '../api.mjs';
import { h, fill } from '../ui/dom.mjs';
import { eventSentence, ackPart } from './events.mjs';

const SHOWN = 20;

export function raisedAlarms() {
  const el = h('section', { class: 'panel al-active', 'data-testid': 'raised-alarms', hidden: true, 'aria-live': 'polite' });
  let seq = 0;
  async function load(gid) {
    const my = ++seq;
    if (!gid) { el.hidden = true; return; }
    const r = await api.get(`/alarm-events/active?group_id=${gid}&limit=100`);
    if (my !== seq) return;
    if (r.status !== 200 || !r.body.items.length) { el.hidden = true; fill(el); el.dataset.count = '0'; return; }
    const items = r.body.items;
    el.hidden = false;
    el.dataset.count = String(items.length);
    fill(el, h('div', { class: 'panel-head' },
      h('h2', { text: t('alarms.active_title', { n: formatNumber(items.length) }) }),
      h('a', { class: 'button small', href: '#/alarms/events?state=raised', text: t('alarms.active_all') })),
    h('ul', { class: 'al-active-list' }, items.slice(0, SHOWN).map((ev) => h('li', {
      class: ['al-active-item', ev.severity === 'alert' ? 'sev-alert' : 'sev-warning'], 'data-testid': 'raised-alarm', 'data-id': String(ev.id) },
    h('span', { class: `pill ${ev.severity === 'alert' ? 'bad' : 'warn'}`, text: t(`alarms.severity.${ev.severity}`) }),
    h('div', { class: 'al-active-text' },
      h('a', { href: `#/alarms/events/${ev.id}`, text: eventSentence(ev) }),
      h('span', { class: 'muted small-text', title: formatDateTime(ev.time), text: t('alarms.raised_ago', { ago: formatAgo(ev.time) }) })),
    ackPart(ev, () => load(gid))))),
    items.length > SHOWN ? h('p', { class: 'muted small-text', text: t('alarms.active_more', { n: formatNumber(items.length - SHOWN) }) }) : null);
  }
  return { el, load };
}
