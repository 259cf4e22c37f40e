// What a notification of the inbox (N1) is about, for the notifications
// page: a label for its kind (alarm raised or cleared, app disconnected or
// connected, storage, licence) and the link to what it is about (the alarm
// event, the monitor, the account). The title and body are sentences the
// server wrote in the user's language.
import { t, has } from '../i18n.mjs';
import { h } from '../ui/dom.mjs';
import { isAdmin } from '../session.mjs';

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
