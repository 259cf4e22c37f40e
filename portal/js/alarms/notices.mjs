// What a notification of the inbox (N1) is about, for the notifications
// page: a label for its kind (alarm raised or cleared, app disconnected or
// connected, storage, licence) and the link to what it is about (the alarm
// event, the monitor, the account). The title and body are sentences the
// server wrote in the user's language; the app notices' sentence is written
// here from their data (noticeBody()).
import { t, has, formatDateTime, formatNumber } from '../i18n.mjs';
import { api } from '../api.mjs';
import { h } from '../ui/dom.mjs';
import { isAdmin } from '../session.mjs';
import { eventSentence } from './events.mjs';

const KIND = {
  'alarm.raise': ['raise', 'bad'], 'alarm.repeat': ['repeat', 'bad'], 'alarm.clear': ['clear', 'ok'],
  'alarm.special': ['special', 'warn'], 'alarm.file': ['file', 'warn'],
  'notice.app_disconnected': ['app_disconnected', 'warn'], 'notice.app_connected': ['app_connected', 'ok'],
  'notice.storage_low': ['storage_low', 'warn'], 'notice.licence': ['licence', 'warn'],
};

/** The label of a notification's kind as a pill (null for kinds without one). */
export function kindPill(n) {
  const k = KIND[n.kind];
  if (!k || !has(`notif.kind.${k[0]}`)) return null;
  return h('span', { class: `pill ${k[1]} notif-kind`, 'data-testid': 'notif-kind', 'data-kind': n.kind, text: t(`notif.kind.${k[0]}`) });
}

/** The title without the server's "[Alarm] " label when the pill says it in the language. */
export function titleOf(n) {
  return KIND[n.kind] ? String(n.title).replace(/^\[[^\]]{1,40}\]\s*/, '') : n.title;
}

/**
 * The body of notification "n" to show: for the server's app notices (S6)
 * the sentence in the portal's language with their time ("data.at", an
 * instant) in the shown time zone, as alarm notifications are told again
 * (the server's words carry the account's zone by its id); a notice stored
 * before its data had the time says what happened without it (the list
 * shows when it came). Other kinds: the server's words.
 */
export function noticeBody(n) {
  const d = n.data || {};
  if (n.kind !== 'notice.app_connected' && n.kind !== 'notice.app_disconnected') return n.body;
  const connected = n.kind === 'notice.app_connected';
  const app = d.app_name || titleOf(n);
  if (!d.at || Number.isNaN(Date.parse(d.at))) {
    return t(connected ? 'notif.app.connected_before' : 'notif.app.disconnected_before', { app });
  }
  const time = formatDateTime(d.at, { seconds: true });
  if (connected) return t('notif.app.connected', { app, time });
  if (d.cause === 'timeout' && Number(d.minutes) > 0) {
    return t('notif.app.disconnected', { app, time, minutes: formatNumber(Number(d.minutes)) });
  }
  return t('notif.app.disconnected_app', { app, time });
}

/**
 * Tell the alarm notifications of a page again from their events, in the
 * language and time zone the portal shows now (the server wrote them in the
 * user's language of that moment, with the account's zone). "list" holds
 * the page's .notif-item elements (data-id); a notification whose event
 * cannot be read keeps the server's words.
 */
export async function retellAlarms(list, items) {
  const ids = [...new Set(items.filter((n) => String(n.kind).startsWith('alarm.') && n.kind !== 'alarm.file' && n.data && n.data.event_id)
    .map((n) => n.data.event_id))];
  const events = new Map();
  await Promise.all(ids.map(async (id) => {
    const r = await api.get(`/alarm-events/${id}`);
    if (r.status === 200) events.set(id, r.body);
  }));
  for (const n of items) {
    const ev = n.data && events.get(n.data.event_id);
    if (!ev) continue;
    const body = list.querySelector(`.notif-item[data-id="${n.id}"] .notif-body`);
    if (!body) continue;
    body.textContent = n.kind === 'alarm.repeat' ? t('notif.still_raised', { sentence: eventSentence(ev) }) : eventSentence(ev);
    body.dataset.retold = 'true';
  }
}

/** Links to what the notification is about. */
export function notificationLinks(n) {
  const d = n.data || {};
  const links = [];
  if (String(n.kind).startsWith('alarm.') && d.event_id) {
    links.push(h('a', { href: `#/alarms/events/${d.event_id}`, 'data-testid': 'notif-open-event', text: t('notif.open_event') }));
  }
  if (String(n.kind).startsWith('notice.app_')) links.push(h('a', { href: '#/monitor', text: t('notif.open_monitor') }));
  if ((n.kind === 'notice.storage_low' || n.kind === 'notice.licence') && isAdmin()) {
    links.push(h('a', { href: '#/admin/account', text: t('notif.open_account') }));
  }
  return links.length ? h('p', { class: 'notif-links' }, links) : null;
}
